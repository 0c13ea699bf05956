-- Off-policy evaluation: evaluate_policy against a target table, a
-- propensity model and an uplift model; evaluate_policy_arrays; the errors.
SET search_path = recpromo, public;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- A log of 600 decisions: 3 coupons, chosen uniformly at random
-- (propensity 1/3), a deterministic pseudo-random reward in [0, 1].
CREATE TABLE ope_log AS
SELECT i AS id, i % 4 AS segment, x1, x2,
       jsonb_build_object('x1', x1, 'x2', x2, 'channel', 'web') AS ctx, ARRAY[x1, x2] AS ctxa,
       (ARRAY['c10', 'c20', 'free_ship'])[1 + (i * 7) % 3] AS arm,
       1.0 / 3 AS propensity,
       round((0.2 + 0.1 * ((i * 7) % 3) * x1 + 0.3 * x2 + ((i * 37) % 11) / 50.0)::numeric, 4) AS reward
  FROM (SELECT i, ((i * 13) % 17) / 17.0 AS x1, ((i * 29) % 23) / 23.0 AS x2 FROM generate_series(1, 600) i) s;
-- The target policy per segment: favours free shipping in segments 0 and 1.
CREATE TABLE ope_target AS
SELECT s AS segment, a AS arm,
       CASE WHEN s < 2 THEN (CASE a WHEN 'free_ship' THEN 0.8 ELSE 0.1 END) ELSE 1.0 / 3 END AS probability
  FROM generate_series(0, 3) s, unnest(ARRAY['c10', 'c20', 'free_ship']) a;

SELECT estimator, round(estimate::numeric, 4) AS estimate, round(ci_low::numeric, 4) AS ci_low,
       round(ci_high::numeric, 4) AS ci_high, round(ess::numeric, 1) AS ess, n
  FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity',
                       target_probs => 'ope_target', key_col => 'segment', bootstrap => 100, seed => 7);
-- the same with float8[] contexts: the same features, the same numbers
SELECT estimator, round(estimate::numeric, 4) AS estimate, round(ci_low::numeric, 4) AS ci_low,
       round(ci_high::numeric, 4) AS ci_high
  FROM evaluate_policy('ope_log', 'ctxa', 'arm', 'reward', 'propensity',
                       target_probs => 'ope_target', key_col => 'segment', bootstrap => 100, seed => 7);
-- without contexts the reward model is the per-arm mean; IPS and SNIPS do not change
SELECT estimator, round(estimate::numeric, 4) AS estimate, ci_low, ci_high
  FROM evaluate_policy('ope_log', NULL, 'arm', 'reward', 'propensity',
                       target_probs => 'ope_target', key_col => 'segment', bootstrap => 0,
                       estimators => '{dm,ips}');
-- the logging policy itself as target: weights 1, ESS = n, IPS = the mean reward
CREATE TABLE ope_uniform AS SELECT s AS segment, a AS arm, 1.0 / 3 AS probability
  FROM generate_series(0, 3) s, unnest(ARRAY['c10', 'c20', 'free_ship']) a;
SELECT estimator, round(estimate::numeric, 6) AS estimate, ess, n,
       round((SELECT avg(reward) FROM ope_log), 6) AS mean_reward
  FROM evaluate_policy('ope_log', NULL, 'arm', 'reward', 'propensity', target_probs => 'ope_uniform',
                       key_col => 'segment', bootstrap => 0, estimators => '{ips,snips}');

-- model targets: an uplift model (treat with the best arm when its uplift > 0,
-- else control) and a propensity model (treatment when p > threshold)
CREATE TABLE ope_campaign AS
SELECT i AS id, ((i * 13) % 17) / 17.0 AS x1, ((i * 29) % 23) / 23.0 AS x2,
       CASE WHEN i % 2 = 0 THEN 'coupon' ELSE 'control' END AS arm, 0.5 AS p,
       CASE WHEN ((i * 13) % 17) / 17.0 + CASE WHEN i % 2 = 0 THEN 0.3 ELSE 0 END > 0.6 + ((i * 7) % 5) / 10.0
            THEN 1 ELSE 0 END AS converted
  FROM generate_series(1, 800) i;
SELECT count(*) FROM train_uplift('ope_up', 'ope_campaign', 'arm', 'converted', '{x1, x2}');
SELECT count(*) FROM train_propensity('ope_pr', 'ope_campaign', 'converted', '{x1, x2}');
SELECT estimator, round(estimate::numeric, 4) AS estimate, round(ess::numeric, 1) AS ess, n
  FROM evaluate_policy('ope_campaign', NULL, 'arm', 'converted', 'p', target_model => 'ope_up',
                       key_col => 'id', bootstrap => 0);
SELECT estimator, round(estimate::numeric, 4) AS estimate, round(ess::numeric, 1) AS ess, n
  FROM evaluate_policy('ope_campaign', NULL, 'arm', 'converted', 'p', target_model => 'ope_pr',
                       key_col => 'id', treatment => 'coupon', threshold => 0.4, bootstrap => 0);

-- arrays: 4 rounds, 2 arms, one feature; by hand IPS = (0.5/0.5*1 + 0.5/0.5*0
-- + 1/0.5*1 + 0)/4 = 0.75 with the target (.5,.5), (.5,.5), (0,1), (1,0)
SELECT estimator, round(estimate::numeric, 6) AS estimate, round(ess::numeric, 6) AS ess, n
  FROM evaluate_policy_arrays('{{0},{1},{2},{3}}', '{1,2,2,2}', '{1,0,1,0}', '{0.5,0.5,0.5,0.5}',
                              '{{0.5,0.5},{0.5,0.5},{0,1},{1,0}}', bootstrap => 0);

-- errors
CREATE FUNCTION ope_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE TABLE ope_bad AS SELECT * FROM ope_log;
UPDATE ope_bad SET propensity = 0 WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
UPDATE ope_bad SET propensity = 1.5 WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
UPDATE ope_bad SET propensity = 'NaN' WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
UPDATE ope_bad SET propensity = 1.0 / 3, reward = 'Infinity' WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
UPDATE ope_bad SET reward = 0, ctxa = '{1,NaN}' WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', 'ctxa', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
UPDATE ope_bad SET ctxa = '{1,2,3}' WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', 'ctxa', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
UPDATE ope_bad SET ctx = '{"x1": "high", "x2": 1}' WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
UPDATE ope_bad SET ctx = '[1, 2]' WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
UPDATE ope_bad SET ctx = NULL WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
UPDATE ope_bad SET arm = NULL WHERE id = 5;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_bad', NULL, 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
-- target tables: unknown arm, not a distribution, a duplicate row, a key without rows
CREATE TABLE ope_bad_target AS SELECT * FROM ope_target;
UPDATE ope_bad_target SET arm = 'gift' WHERE segment = 1 AND arm = 'c10';
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_bad_target', key_col => 'segment')$$);
UPDATE ope_bad_target SET arm = 'c10', probability = 0.2 WHERE segment = 1 AND arm = 'gift';
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_bad_target', key_col => 'segment')$$);
UPDATE ope_bad_target SET probability = 0.1 WHERE segment = 1 AND arm = 'c10';
INSERT INTO ope_bad_target VALUES (2, 'c10', 0);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_bad_target', key_col => 'segment')$$);
DELETE FROM ope_bad_target WHERE segment = 2;
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_bad_target', key_col => 'segment')$$);
UPDATE ope_bad_target SET probability = -0.1 WHERE segment = 3 AND arm = 'c10';
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_bad_target', key_col => 'segment')$$);
-- arguments
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', target_model => 'ope_up')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment', estimators => '{ips,best}')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment', bootstrap => 5)$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment', alpha => 1)$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment', ridge_lambda => 0)$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'ctx', 'nope', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_log', 'arm', 'arm', 'reward', 'propensity', target_probs => 'ope_target', key_col => 'segment')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_campaign', NULL, 'arm', 'converted', 'p', target_model => 'ope_up')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_campaign', NULL, 'arm', 'converted', 'p', target_model => 'ope_pr', key_col => 'id')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_campaign', NULL, 'arm', 'converted', 'p', target_model => 'ope_pr', key_col => 'id', treatment => 'gift')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy('ope_campaign', NULL, 'arm', 'converted', 'p', target_model => 'ope_pr', key_col => 'x1', treatment => 'coupon')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy_arrays(NULL, '{1,2}', '{1,0}', '{0.5,0.5}', '{{0.5,0.5}}')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy_arrays(NULL, '{1,3}', '{1,0}', '{0.5,0.5}', '{{0.5,0.5},{0.5,0.5}}')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy_arrays(NULL, '{1,1}', '{1,0}', '{0.5,0.5}', '{{0.5,0.5},{0.5,0.5}}')$$);
SELECT ope_try($$SELECT * FROM evaluate_policy_arrays(NULL, '{}', '{}', '{}', '{}')$$);
-- a full error with its hint
SELECT * FROM evaluate_policy('ope_log', 'ctx', 'arm', 'reward', 'propensity', target_probs => 'ope_bad_target', key_col => 'segment');

-- a propensity of 1e-300 gives a weight of 1e300: sum w^2 overflows, the ESS must not be NaN
SELECT estimator, round(ess::numeric, 6) AS ess, n
FROM evaluate_policy_arrays(NULL, '{1,2}', '{1,0}', '{1e-300,0.5}', '{{1,0},{1,0}}', '{ips}', 0, 1, 0.05, 1);

DROP TABLE ope_log, ope_target, ope_uniform, ope_campaign, ope_bad, ope_bad_target;
DROP FUNCTION ope_try(text);
DELETE FROM recpromo.model WHERE name IN ('ope_up', 'ope_pr');
