-- Issue 18: the promotion layer has no internal SQL function any more.  Up to
-- 0.2.0 its public functions were PL/pgSQL over some thirty "_" helpers that
-- every role could call with arguments of its own (_assign_solve built
-- malformed SQL from them: 42601).  The public functions are C now, with
-- invoker rights: an ordinary role runs each one on its own table, and
-- row-level security applies to what they read.  Roles are cluster-wide:
-- the role here is pi_user, dropped at the end.
SET search_path = recpromo, public;
SET extra_float_digits = 0;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

-- 1. none of the 34 internal helpers of the promotion layer up to 0.2.0 is
--    left (the last four, _promo_rel, _promo_coltype, _promo_num and
--    _promo_model, went when ab_test, ab_srm and evaluate_policy became C
--    front doors: src/pg/ab_front.c), and no function of the extension whose
--    name starts with "_" is executable by PUBLIC
SELECT p.oid::regprocedure AS promotion_helper, l.lanname
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'recpromo'
  JOIN pg_language l ON l.oid = p.prolang
 WHERE p.proname ~ '^_(promo|kmeans|uplift|assign|propensity|model_set)'
 ORDER BY 1::text;
SELECT p.oid::regprocedure AS public_internal
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'recpromo'
 WHERE p.proname LIKE '\_%'
   AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1::text;
-- the public functions are C and run as their caller (no SECURITY DEFINER)
SELECT p.proname, l.lanname, p.prosecdef, p.provolatile, p.proparallel
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'recpromo'::regnamespace
   AND p.proname IN ('rfm', 'category_affinity', 'kmeans', 'kmeans_clusters', 'train_propensity',
                     'score_propensity', 'predict_propensity', 'evaluate_propensity',
                     'propensity_calibration', 'train_uplift', 'score_uplift', 'predict_uplift',
                     'uplift_evaluate', 'uplift_curve', 'uplift_by_decile', 'uplift_balance',
                     'assign_offers', 'assign_offers_curve', 'assign_offers_from_model', 'sigmoid',
                     'ab_test', 'ab_srm', 'evaluate_policy')
 ORDER BY 1;
-- the PL/pgSQL bodies behind the C front doors of ab_test, ab_srm and
-- evaluate_policy: invoker rights too, and not executable by PUBLIC
SELECT p.proname, l.lanname, p.prosecdef, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'recpromo'::regnamespace
   AND p.proname IN ('_body_ab_test', '_body_ab_srm', '_body_evaluate_policy')
 ORDER BY 1;

-- 2. an ordinary role, its own schema and tables, row-level security forced
--    on itself: the hidden rows would make every function fail (a target of
--    7, NULL features and arms, NaN amounts, NULL values), so each result
--    below comes from the visible rows only
CREATE ROLE pi_user;
GRANT USAGE ON SCHEMA recpromo TO pi_user;
CREATE SCHEMA pi_shop AUTHORIZATION pi_user;
SET ROLE pi_user;
CREATE TABLE pi_shop.cust (id int, region text, x1 float8, x2 float8, channel text, bought int,
                           arm text, y int, score float8);
INSERT INTO pi_shop.cust
SELECT g, 'north', (g % 17) / 4.0, (g * 7 % 13) / 3.0, (ARRAY['web', 'shop', 'phone'])[g % 3 + 1],
       ((g * 37) % 11 < 3 + (g % 17) / 4)::int,
       (ARRAY['control', 'A', 'B'])[g % 3 + 1], ((g * 13) % 7 < 2 + g % 3)::int,
       (g % 17) / 4.0 - (g * 7 % 13) / 3.0
  FROM generate_series(1, 240) g;
INSERT INTO pi_shop.cust
SELECT 1000 + g, 'hidden', NULL, NULL, NULL, 7, NULL, NULL, NULL FROM generate_series(1, 20) g;
CREATE TABLE pi_shop.orders (customer int, ordered_at date, amount numeric, category text, region text);
INSERT INTO pi_shop.orders
SELECT g % 40, date '2024-01-01' + (g * 11) % 150, (g % 9) * 2.5 + 1, (ARRAY['food', 'toys', 'books'])[g % 3 + 1], 'north'
  FROM generate_series(1, 400) g;
INSERT INTO pi_shop.orders SELECT 7, NULL, 'NaN', NULL, 'hidden' FROM generate_series(1, 5);
CREATE TABLE pi_shop.cand (customer text, offer text, value float8, cost float8, region text);
INSERT INTO pi_shop.cand
SELECT 'c' || g, o, (g % 7) + 2 * o_n, 1 + o_n, 'north'
  FROM generate_series(1, 50) g, unnest(ARRAY['gold', 'silver']) WITH ORDINALITY u(o, o_n);
INSERT INTO pi_shop.cand SELECT 'h' || g, 'gold', NULL, -1, 'hidden' FROM generate_series(1, 5) g;
ALTER TABLE pi_shop.cust ENABLE ROW LEVEL SECURITY;
ALTER TABLE pi_shop.cust FORCE ROW LEVEL SECURITY;
CREATE POLICY visible ON pi_shop.cust USING (region = 'north');
ALTER TABLE pi_shop.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE pi_shop.orders FORCE ROW LEVEL SECURITY;
CREATE POLICY visible ON pi_shop.orders USING (region = 'north');
ALTER TABLE pi_shop.cand ENABLE ROW LEVEL SECURITY;
ALTER TABLE pi_shop.cand FORCE ROW LEVEL SECURITY;
CREATE POLICY visible ON pi_shop.cand USING (region = 'north');
SELECT count(*) AS visible_customers FROM pi_shop.cust;

-- profiles
SELECT count(*) AS customers, sum(frequency) AS purchases, sum(monetary) AS monetary
  FROM rfm('pi_shop.orders', 'customer', 'ordered_at', 'amount', '2024-07-01');
SELECT category, count(*) AS customers, round(sum(amount), 2) AS amount
  FROM category_affinity('pi_shop.orders', 'customer', 'category', 'amount') GROUP BY 1 ORDER BY 1;
SELECT count(*) AS rows, count(DISTINCT cluster) AS clusters
  FROM kmeans('pi_shop.cust', 'id', '{x1, x2}', 3);
SELECT sum(size) AS points, count(*) AS clusters FROM kmeans_clusters('pi_shop.cust', 'id', '{x1, x2}', 3);

-- propensity
SELECT feature, round(coefficient::numeric, 3) AS coefficient
  FROM train_propensity('pi_prop', 'pi_shop.cust', 'bought', '{x1, x2}', '{channel}') ORDER BY feature;
SELECT count(*) AS scored, count(score) AS with_score FROM score_propensity('pi_prop', 'pi_shop.cust', 'id');
SELECT round(predict_propensity('pi_prop', '{"x1": 2, "x2": 1, "channel": "web"}')::numeric, 3) AS p;
SELECT metric, round(value::numeric, 3) AS value FROM evaluate_propensity('pi_prop', 'pi_shop.cust', 'bought');
SELECT sum(rows) AS rows, count(*) AS bins FROM propensity_calibration('pi_prop', 'pi_shop.cust', 'bought', 4);
SELECT name, method, pg_get_userbyid(owner) = current_user AS owned_by_caller, metrics->>'train_rows' AS train_rows
  FROM models WHERE name = 'pi_prop';

-- uplift
SELECT treatment, customers, control_customers, round(ate::numeric, 3) AS ate
  FROM train_uplift('pi_upl', 'pi_shop.cust', 'arm', 'y', '{x1, x2}');
SELECT treatment, count(*) AS rows FROM score_uplift('pi_upl', 'pi_shop.cust', 'id') GROUP BY 1 ORDER BY 1;
SELECT treatment, round(uplift::numeric, 3) AS uplift FROM predict_uplift('pi_upl', '{"x1": 2, "x2": 1}');
SELECT metric, round(value::numeric, 3) AS value
  FROM uplift_evaluate('pi_shop.cust', 'score', 'arm', 'y', 'A', n_boot => 0);
SELECT count(*) AS points FROM uplift_curve('pi_shop.cust', 'score', 'arm', 'y', points => 5);
SELECT sum(treated) AS treated, sum(control_rows) AS control_rows
  FROM uplift_by_decile('pi_shop.cust', 'score', 'arm', 'y', 'B', bins => 4);
SELECT treatment, feature, balanced FROM uplift_balance('pi_shop.cust', 'arm', '{x1}') ORDER BY 1, 2;

-- assignment
SELECT count(*) AS customers, max(total_spent) AS spent, max(total_profit) AS profit
  FROM assign_offers('pi_shop.cand', 'customer', 'offer', 'value', 'cost', 40, '{"gold": 10}');
SELECT budget, customers, spent FROM assign_offers_curve('pi_shop.cand', 'customer', 'offer', 'value', 'cost',
                                                         ARRAY[0, 20, 1000]::float8[]);
SELECT count(*) AS customers, count(DISTINCT offer) AS offers
  FROM assign_offers_from_model('pi_upl', 'pi_shop.cust', 'id', '{"A": 0.01, "B": 0.02}', 1, value_per_unit => 10);
SELECT sigmoid(0);

-- A/B analysis and off-policy evaluation, on the same table (issue 18: they
-- called _promo_rel, _promo_coltype, _promo_num and _promo_model, so those
-- had to be executable by PUBLIC; now their C front doors run the checks and
-- call the bodies, which the role may not call itself).  The hidden rows
-- have a NULL arm and outcome: seen, they would make each call fail.
SELECT arm, n, excluded, round(mean::numeric, 3) AS mean, round(lift::numeric, 3) AS lift, test
  FROM ab_test('pi_shop.cust', 'arm', 'y', 'control', covariate => 'x1') ORDER BY arm;
SELECT arm, observed, round(p_value::numeric, 3) AS p_value
  FROM ab_srm('pi_shop.cust', 'arm', weights => ARRAY[1, 1, 1]::float8[]) ORDER BY arm;
CREATE TABLE pi_shop.ope_log AS SELECT id, arm, y, x1, x2, 1 / 3.0::float8 AS p, region FROM pi_shop.cust;
INSERT INTO pi_shop.ope_log VALUES (2000, NULL, NULL, NULL, NULL, NULL, 'hidden');
ALTER TABLE pi_shop.ope_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE pi_shop.ope_log FORCE ROW LEVEL SECURITY;
CREATE POLICY visible ON pi_shop.ope_log USING (region = 'north');
CREATE TABLE pi_shop.ope_target AS SELECT id, 'A'::text AS arm, 1.0::float8 AS probability, region FROM pi_shop.ope_log;
INSERT INTO pi_shop.ope_target VALUES (2000, 'Z', 7, 'hidden');
ALTER TABLE pi_shop.ope_target ENABLE ROW LEVEL SECURITY;
ALTER TABLE pi_shop.ope_target FORCE ROW LEVEL SECURITY;
CREATE POLICY visible ON pi_shop.ope_target USING (region = 'north');
SELECT estimator, round(estimate::numeric, 3) AS estimate, n
  FROM evaluate_policy('pi_shop.ope_log', NULL, 'arm', 'y', 'p', target_probs => 'pi_shop.ope_target',
                       key_col => 'id', bootstrap => 0, estimators => '{ips,snips}') ORDER BY 1;
SELECT estimator, round(estimate::numeric, 3) AS estimate, n
  FROM evaluate_policy('pi_shop.ope_log', NULL, 'arm', 'y', 'p', target_model => 'pi_upl',
                       key_col => 'id', bootstrap => 0, estimators => '{ips,snips}') ORDER BY 1;

-- a NULL max_iter or tol: 22004 naming the argument (it was "argument 7 of
-- _promo_fit must not be null", an internal name)
SELECT * FROM train_propensity('pi_null', 'pi_shop.cust', 'bought', '{x1}', max_iter => NULL);
SELECT * FROM train_uplift('pi_null', 'pi_shop.cust', 'arm', 'y', '{x1}', tol => NULL);

-- 3. the helpers are gone: calling one is "does not exist" (42883), not a
--    malformed query (42601) or a model read
\set VERBOSITY sqlstate
SELECT * FROM recpromo._assign_solve(ARRAY['a'], ARRAY['x'], ARRAY[1]::float8[], ARRAY[1]::float8[],
                                     1, NULL, '{"x); --": 1}');
SELECT recpromo._promo_params('pi_prop', 'logistic');
SELECT recpromo._promo_store('pi_forged', 'logistic', '{}', 'pi_shop.cust', 1, 0, 0);
SELECT * FROM recpromo._uplift_read('pi_shop.cust', 'score', 'arm', 'y', NULL, 'control');
SELECT recpromo._promo_rel('pi_shop.cust');
SELECT recpromo._promo_model('pi_upl', 'uplift');
-- the bodies behind the front doors exist but the role may not call them
-- (42501), not even with forged arguments of its own
SELECT * FROM recpromo._body_ab_srm('pi_shop.cust', 'arm', NULL, NULL, 'pi_shop.cust');
SELECT * FROM recpromo._body_ab_test('pi_shop.cust', 'arm', 'y', 'control', NULL, 0.05, NULL, 'holm',
                                     false, NULL, 'pi_shop.cust', 'y::float8', NULL);
SELECT * FROM recpromo._body_evaluate_policy('pi_shop.ope_log', NULL, 'arm', 'y', 'p', NULL, 'pi_upl', NULL,
    'id', '{ips}', 0, 0, 0.05, 1.0, NULL, NULL, NULL, 'control', 'pi_shop.ope_log', 'integer', 'float8',
    NULL, NULL, '{}');
\set VERBOSITY default

-- clean up
SELECT drop_model('pi_prop'), drop_model('pi_upl');
DROP SCHEMA pi_shop CASCADE;
RESET ROLE;
REVOKE ALL ON SCHEMA recpromo FROM pi_user;
DROP ROLE pi_user;
