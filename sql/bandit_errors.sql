SET search_path = recpromo, public;
-- Every bad input gets a clear error.  Decision ids appear in messages:
-- start them at a fixed value.
SELECT setval('recpromo.bandit_decision_seq', 5000) > 0 AS reset;
SELECT create_bandit('err', ARRAY['a', 'b'], policy => 'ucb1') > 0 AS created;
SELECT create_bandit('ctx', ARRAY['a', 'b'], policy => 'lin_ts', dimension => 2, reward => 'amount') > 0 AS created;
\set VERBOSITY default
-- creation
SELECT create_bandit('err', ARRAY['a']);
SELECT create_bandit(NULL, ARRAY['a']);
SELECT create_bandit('', ARRAY['a']);
SELECT create_bandit('x', ARRAY[]::text[]);
SELECT create_bandit('x', ARRAY['a', NULL]);
SELECT create_bandit('x', ARRAY['a', 'a']);
SELECT create_bandit('x', ARRAY['a'], policy => 'softmax');
SELECT create_bandit('x', ARRAY['a'], reward => 'count');
SELECT create_bandit('x', ARRAY['a'], policy => 'epsilon_greedy', epsilon => 1.5);
SELECT create_bandit('x', ARRAY['a'], policy => 'linucb');
SELECT create_bandit('x', ARRAY['a'], policy => 'linucb', dimension => 1000);
SELECT create_bandit('x', ARRAY['a'], policy => 'linucb', dimension => 3, features => ARRAY['u', 'v']);
SELECT create_bandit('x', ARRAY['a'], policy => 'ucb1', dimension => 3);
SELECT create_bandit('x', ARRAY['a'], features => ARRAY['u']);
SELECT create_bandit('x', ARRAY['a'], prior_a => 0);
SELECT create_bandit('x', ARRAY['a'], alpha => 'nan');
SELECT create_bandit('x', ARRAY['a'], window_size => 0);
SELECT create_bandit('x', ARRAY['a'], shards => 0);
SELECT create_bandit('x', ARRAY['a'], draws => 0);
SELECT create_bandit('x', 'pg_catalog.pg_class'::regclass, 'no_such_column');
CREATE TEMP TABLE empty_offers (code text);
SELECT create_bandit('x', 'empty_offers'::regclass, 'code');
-- unknown bandits and arms
SELECT * FROM choose('nope');
SELECT reward('nope', 1, 1);
SELECT * FROM bandit_stats('nope');
SELECT * FROM bandit_action_probabilities('nope');
SELECT drop_bandit('nope');
SELECT add_bandit_arms('nope', ARRAY['a']);
SELECT grant_bandit('nope', 'public');
SELECT retire_bandit_arm('err', 'zz');
SELECT add_bandit_arms('err', ARRAY[NULL]::text[]);
SELECT grant_bandit('err', 'no_such_role_x');
-- n
SELECT * FROM choose('err', n => 0);
SELECT * FROM choose('err', n => 3);
-- contexts
SELECT * FROM choose('ctx');
SELECT * FROM choose('ctx', ARRAY[1]::float8[]);
SELECT * FROM choose('ctx', ARRAY[1, 'infinity']::float8[]);
SELECT * FROM choose('ctx', ARRAY[1, NULL]::float8[]);
SELECT * FROM choose('ctx', ARRAY[[1, 2]]::float8[]);
SELECT * FROM choose('ctx', '[1, "two"]'::jsonb);
SELECT * FROM choose('ctx', '{"a": 1}'::jsonb);
SELECT * FROM choose('ctx', '3'::jsonb);
SELECT * FROM bandit_action_probabilities('ctx', ARRAY[1, 2, 3]::float8[]);
-- rewards
SELECT reward('err', NULL, 1);
SELECT reward('err', -5, 1);
SELECT reward('err', 1, NULL);
SELECT reward('err', 1, 'nan');
CREATE TEMP TABLE dd AS SELECT * FROM choose('err');
SELECT reward('err', decision_id, 0.5) FROM dd;
SELECT reward('ctx', decision_id, 1) FROM dd;
SELECT reward('err', decision_id, 1) FROM dd;
SELECT reward('err', decision_id, 1) FROM dd;
-- no active arm left
SELECT retire_bandit_arm('err', 'a');
SELECT retire_bandit_arm('err', 'b');
SELECT * FROM choose('err');
SELECT * FROM bandit_action_probabilities('err');
SELECT arm, active, probability FROM bandit_stats('err') ORDER BY arm;
-- replay
CREATE TABLE bandit_errors_log (arm text, r float8, ctx float8[]);
INSERT INTO bandit_errors_log VALUES ('a', 1, '{1,2}'), ('b', 'nan', '{1,2}');
SELECT * FROM replay_bandit('ctx', 'bandit_errors_log', 'arm', 'r');
SELECT * FROM replay_bandit('ctx', 'bandit_errors_log', 'arm', 'nope', 'ctx');
SELECT * FROM replay_bandit('ctx', 'bandit_errors_log', 'arm', 'r', 'ctx');
SELECT * FROM replay_bandit('ctx', NULL, 'arm', 'r', 'ctx');
SELECT drop_bandit('err');
SELECT drop_bandit('ctx');
DROP TABLE bandit_errors_log;
