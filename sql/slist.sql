-- The slist method (SLIST): a transition worked by hand, steps of equal
-- times, the diagonal bound, serving through every scoring path, and bad
-- input.
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- One session: item 10 at time 1, then item 20 at time 2 (two steps).
-- alpha 0 (transitions only), lambda 1, pos_decay 1: one partial session,
-- S = (1, 0), T = (0, e^-1); G = S'S + I = diag(2, 1), C = S'T;
-- B = G^-1 C: B[10, 20] = e^-1 / 2 = 0.18394, every other entry 0.
CREATE TABLE sl_ev (sess int, item int, t int);
INSERT INTO sl_ev VALUES (1, 10, 1), (1, 20, 2);
SELECT name, method, n_users, n_items FROM train('sl', 'sl_ev', 'sess', 'item', method => 'slist',
    params => '{"time_col": "t", "alpha": 0, "lambda": 1, "pos_decay": 1}');
SELECT item, round(score::numeric, 5) AS score, rank FROM recommend_for_session(ARRAY[10], 2, model => 'sl', exclude_input => false);
SELECT item, round(score::numeric, 5) AS score, rank FROM recommend_for_session(ARRAY[20], 2, model => 'sl', exclude_input => false);
SELECT round(exp(-1.0) / 2, 5) AS by_hand;
-- the same session known to the model: its stored sequence, weights 1/2 (10) and 1 (20)
SELECT item, round(score::numeric, 5) AS score FROM recommend(1, 2, model => 'sl', exclude_seen => false);
SELECT history_item, round(contribution::numeric, 5) AS contribution FROM explain_recommendation(1, 20, model => 'sl');
SELECT item, round(similarity::numeric, 5) AS similarity FROM similar_items(10, 2, model => 'sl');

-- both events at one time: one step, no transition, B = 0 (alpha 0)
UPDATE sl_ev SET t = 1;
SELECT 1 FROM train('sl', 'sl_ev', 'sess', 'item', method => 'slist',
    params => '{"time_col": "t", "alpha": 0, "lambda": 1}');
SELECT item, score FROM recommend_for_session(ARRAY[10], 2, model => 'sl', exclude_input => false);

-- alpha 1 with max_diagonal 0 is EASE on 0/1 data: G = X'X + I = [[2, 1], [1, 2]],
-- P = [[2, -1], [-1, 2]] / 3, B[10, 20] = -P[10, 20] / P[20, 20] = 1/2
SELECT 1 FROM train('sl', 'sl_ev', 'sess', 'item', method => 'slist',
    params => '{"time_col": "t", "alpha": 1, "lambda": 1, "max_diagonal": 0}');
SELECT item, round(score::numeric, 5) AS score FROM recommend_for_session(ARRAY[10], 2, model => 'sl', exclude_input => false);
-- without the bound the diagonal is free: B = P X'X = I - P, B[10, 10] = 1/3
SELECT 1 FROM train('sl', 'sl_ev', 'sess', 'item', method => 'slist',
    params => '{"time_col": "t", "alpha": 1, "lambda": 1}');
SELECT item, round(score::numeric, 5) AS score FROM recommend_for_session(ARRAY[10], 2, model => 'sl', exclude_input => false);

-- bad input
SELECT * FROM train('x', 'sl_ev', 'sess', 'item', method => 'slist');
SELECT * FROM train('x', 'sl_ev', 'sess', 'item', method => 'slist', params => '{"time_col": 7}');
SELECT * FROM train('x', 'sl_ev', 'sess', 'item', method => 'slist', params => '{"time_col": "nope"}');
SELECT * FROM train('x', 'sl_ev', 'sess', 'item', method => 'slist', params => '{"time_col": "t", "alpha": -0.5}');
SELECT * FROM train('x', 'sl_ev', 'sess', 'item', method => 'slist', params => '{"time_col": "t", "pos_decay": 0}');
SELECT * FROM train('x', 'sl_ev', 'sess', 'item', method => 'slist', params => '{"time_col": "t", "colour": 1}');
SELECT * FROM recommend_for_session(NULL::int[], 3, model => 'sl');
SELECT * FROM recommend_for_session(ARRAY[10], -1, model => 'sl');
SELECT count(*) FROM recommend_for_session(ARRAY[10], 0, model => 'sl');
-- an empty session, or unknown items and NULLs only: the popularity list
SELECT item, rank FROM recommend_for_session(ARRAY[]::int[], 3, model => 'sl');
SELECT item, rank FROM recommend_for_session(ARRAY[99, NULL], 3, model => 'sl');
-- over recpromo.memory_limit: refused before allocating
CREATE TABLE sl_wide AS SELECT s AS sess, (s * 7 + p) % 600 AS item, p AS t
FROM generate_series(1, 300) s, generate_series(0, 9) p;
SET recpromo.memory_limit = '4MB';
SELECT * FROM train('x', 'sl_wide', 'sess', 'item', method => 'slist', params => '{"time_col": "t"}');
RESET recpromo.memory_limit;
SELECT count(*) FROM models WHERE name = 'x';
-- leave no model behind (other tests count them)
SELECT count(drop_model(name)) AS dropped FROM models;
