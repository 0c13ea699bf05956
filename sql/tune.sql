-- tune(): deterministic searches on small generated data (no timings are
-- shown: trial seconds never appear), the validation slice kept out of
-- fitting, errors, ownership and grants of the trials, and a statement
-- timeout during tuning that leaves the previous model in place.
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- 40 users x 12 items each out of 40: user u likes the items near 3u mod 40
CREATE TABLE tu_events AS
SELECT u, (u * 3 + j * j) % 40 AS item, 1 + (u + j) % 3 AS qty,
       timestamp '2024-01-01' + (j || ' days')::interval AS ts
FROM generate_series(1, 40) u, generate_series(1, 12) j;

-- 1. grid over EASE's lambda: 11 points, all tried; the best is chosen
SELECT trial, params, metric, round(value::numeric, 4) AS value, fraction, chosen
FROM tune('tu_ease', 'tu_events', 'u', 'item', method => 'ease', strategy => 'grid',
          trials => 20, time_col => 'ts')
ORDER BY trial;
-- the model carries the chosen value and says how it was tuned
SELECT name, method, params, metrics -> 'tuning' AS tuning FROM models WHERE name = 'tu_ease';
SELECT count(*) AS trials, count(*) FILTER (WHERE chosen) AS chosen
FROM tuning_trials WHERE model = 'tu_ease';

-- 2. the default search ('adaptive': random draws for half the trials,
-- then steps from the best so far), seeded: the same call gives the same
-- trials; the defaults are always the first trial and stay chosen unless
-- beaten by 0.5 %
SELECT trial, params, round(value::numeric, 4) AS value, chosen
FROM tune('tu_knn', 'tu_events', 'u', 'item', method => 'item_knn', trials => 5, seed => 7)
ORDER BY trial;
SELECT trial, params, round(value::numeric, 4) AS value, chosen
FROM tune('tu_knn', 'tu_events', 'u', 'item', method => 'item_knn', trials => 5, seed => 7)
ORDER BY trial;

-- 3. successive halving: 9 configurations on 1/9 of the users, the best 3
-- on 1/3, the best on all
SELECT fraction, count(*) AS trials, count(*) FILTER (WHERE chosen) AS chosen
FROM tune('tu_half', 'tu_events', 'u', 'item', method => 'item_knn', strategy => 'halving',
          trials => 13, metric => 'recall@5', seed => 3)
GROUP BY fraction ORDER BY fraction;

-- split 'cut': the pairs met after one time cut, for every user at once
-- (the unit test test_session.c checks which pairs)
SELECT trial, params, value > 0 AS scored, chosen
FROM tune('tu_cut', 'tu_events', 'u', 'item', method => 'popularity', time_col => 'ts', split => 'cut',
          strategy => 'grid')
ORDER BY trial;
SELECT metrics -> 'tuning' ->> 'split' AS split FROM models WHERE name = 'tu_cut';

-- 4. a fixed hyper-parameter leaves the search; als_explicit on rmse
SELECT trial, params, chosen
FROM tune('tu_fixed', 'tu_events', 'u', 'item', method => 'ease', params => '{"lambda": 50}');
SELECT trial, params ? 'regularization' AS searched_reg, params -> 'iterations' AS iterations,
       value > 0 AS rmse_positive
FROM tune('tu_explicit', 'tu_events', 'u', 'item', 'qty', method => 'als_explicit',
          metric => 'rmse', trials => 3, params => '{"iterations": 5}')
ORDER BY trial;

-- 5. the validation slice is never seen while fitting.  Each user's last
-- item (by time) is an item nobody else has: a model fitted on the
-- training slice has never met it and scores every such item 0, so the
-- top 1 is the lowest of them (user 1's) and hit@1 is 1/20 for every
-- trial.  A model that had seen the held-out pairs would rank each
-- user's own item first (hit@1 = 1).
CREATE TABLE tu_leak AS
SELECT u, j AS item, j AS t FROM generate_series(1, 20) u, generate_series(1, 5) j
UNION ALL
SELECT u, 100 + u, 6 FROM generate_series(1, 20) u;
SELECT DISTINCT value
FROM tune('tu_leak', 'tu_leak', 'u', 'item', method => 'item_knn', time_col => 't',
          metric => 'hit@1', validation_fraction => 0.15, trials => 4);
-- the session methods read each session's events from the source again (by
-- time_col, which tune() passes to every trial): only the pairs of the
-- training slice may count.  slist fitted on the held-out events would
-- learn "5 -> each user's own last item" and score hit@1 = 1.
SELECT 'slist' AS method, value
FROM tune('tu_leak_s', 'tu_leak', 'u', 'item', method => 'slist', time_col => 't',
          metric => 'hit@1', validation_fraction => 0.15, trials => 4)
UNION
SELECT 'session_knn', value
FROM tune('tu_leak_k', 'tu_leak', 'u', 'item', method => 'session_knn', time_col => 't',
          metric => 'hit@1', validation_fraction => 0.15, trials => 4)
ORDER BY 1, 2;
SELECT name, method, params->>'time_col' AS time_col FROM models WHERE name LIKE 'tu_leak_%' ORDER BY name;
-- a session method needs the time column
SELECT * FROM tune('x', 'tu_leak', 'u', 'item', method => 'slist', trials => 2);

-- 6. bad input
SELECT * FROM tune(NULL, 'tu_events', 'u', 'item');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', metric => 'ndcg@0');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', metric => 'auc');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', metric => 'rmse');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', strategy => 'bayes');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', split => 'future');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', split => 'cut');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', trials => 0);
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', trials => NULL);
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', max_seconds => -1);
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', validation_fraction => 1);
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'content');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'nope');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', time_col => 'nope');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', params => '{"bogus": 1}');
SELECT * FROM tune('x', 'tu_events', 'u', 'item', method => 'ease', params => '[1]');
CREATE TABLE tu_single AS SELECT u, u AS item FROM generate_series(1, 5) u;
SELECT * FROM tune('x', 'tu_single', 'u', 'item', method => 'ease');
SELECT count(*) AS no_model_x FROM models WHERE name = 'x';

-- 7. a statement timeout during tuning leaves the previous model and its trials
CREATE TABLE tu_big AS
SELECT u, (u * 7 + j * 13) % 500 AS item FROM generate_series(1, 3000) u, generate_series(1, 20) j;
SET statement_timeout = '300ms';
SELECT count(*) FROM tune('tu_ease', 'tu_big', 'u', 'item', method => 'als', trials => 200);
RESET statement_timeout;
SELECT name, method, params, n_users FROM models WHERE name = 'tu_ease';
SELECT count(*) AS trials FROM tuning_trials WHERE model = 'tu_ease';

-- 8. ownership: another role cannot tune over the model, nor read its
-- trials until the owner grants the model
CREATE ROLE tu_other;
GRANT USAGE ON SCHEMA recpromo TO tu_other;
GRANT SELECT ON tu_events TO tu_other;
SET ROLE tu_other;
\set VERBOSITY terse
SELECT count(*) FROM tune('tu_ease', 'tu_events', 'u', 'item', method => 'ease', trials => 1);
\set VERBOSITY default
SELECT count(*) AS visible FROM tuning_trials;
SELECT count(*) FROM recpromo.tuning_trial;
RESET ROLE;
SELECT grant_model('tu_ease', 'tu_other');
SET ROLE tu_other;
SELECT model, count(*) AS visible FROM tuning_trials GROUP BY model;
-- its own tuning works, through the ordinary role's rights
SELECT count(*) AS trials FROM tune('tu_mine', 'tu_events', 'u', 'item', method => 'ease', trials => 2);
SELECT name, method, owner FROM models WHERE name = 'tu_mine';
RESET ROLE;
SELECT drop_model('tu_mine');
REVOKE ALL ON SCHEMA recpromo FROM tu_other;
REVOKE ALL ON tu_events FROM tu_other;
SELECT revoke_model('tu_ease', 'tu_other');
DROP ROLE tu_other;

-- 9. item_knn weighs with BM25 by default (what tuning chose on the
-- generated and real data, doc/training.md).  A model trained before keeps
-- the weighting it stored (every item_knn model records it; 0.3.0's
-- default was none) and is served from its stored neighbours, also after
-- a reconnect loads it afresh: the same list as before, not BM25's.
SELECT name, params ->> 'weighting' AS weighting
FROM train('tu_kdef', 'tu_events', 'u', 'item', method => 'item_knn');
SELECT name, params ->> 'weighting' AS weighting
FROM train('tu_kold', 'tu_events', 'u', 'item', method => 'item_knn', params => '{"weighting": "none"}');
CREATE TABLE tu_before AS
SELECT item, round(similarity::numeric, 9) AS sim, rank FROM similar_items(3, 5, 'tu_kold');
SELECT count(*) AS differ_from_bm25
FROM tu_before a FULL JOIN similar_items(3, 5, 'tu_kdef') b USING (rank)
WHERE a.item IS DISTINCT FROM b.item OR a.sim IS DISTINCT FROM round(b.similarity::numeric, 9);
\c
SET search_path = recpromo, public;
SET client_min_messages = warning;
SELECT count(*) AS rows, count(*) FILTER (WHERE a.item IS DISTINCT FROM b.item
       OR a.sim IS DISTINCT FROM round(b.similarity::numeric, 9)) AS changed
FROM tu_before a FULL JOIN similar_items(3, 5, 'tu_kold') b USING (rank);
SELECT params ->> 'weighting' AS weighting FROM models WHERE name = 'tu_kold';

-- clean up: later files may list every model
SELECT count(drop_model(name)) AS dropped FROM models WHERE name LIKE 'tu\_%';
SELECT count(*) AS trials_left FROM tuning_trials;
