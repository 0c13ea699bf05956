-- Promotion functions under attack: stored model parameters edited to
-- inject SQL into the role that scores with the model, and trojan
-- functions and operators planted in a schema of the caller's search_path.
-- Every attempt must end in a clean error (XX001 for a corrupted model) or
-- a correct answer, and never run the attacker's code.
SET search_path = recpromo, public;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- The canary: any call of ph_boom() advances a sequence, which no rollback undoes.
CREATE SEQUENCE ph_canary;
CREATE FUNCTION ph_boom() RETURNS float8 LANGUAGE sql AS $$ SELECT nextval('recpromo.ph_canary')::float8 * 0 $$;
CREATE FUNCTION ph_fired() RETURNS boolean LANGUAGE sql AS $$ SELECT is_called FROM recpromo.ph_canary $$;
-- Runs a query; returns 'ok (n rows)' or the SQLSTATE and message of its error
-- (with the detail of a data_corrupted error).
CREATE FUNCTION ph_try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    d text;
BEGIN
    EXECUTE q;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN 'ok (' || n || ' rows)';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || CASE WHEN SQLSTATE = 'XX001' THEN ' (' || d || ')' ELSE '' END;
END
$$;

CREATE TABLE ph_cust (id int, x float8, c text, arm text, y int, nan float8 DEFAULT 100);
INSERT INTO ph_cust (id, x, c, arm, y)
SELECT i, i % 7, (ARRAY['a', 'b', 'c'])[1 + i % 3], (ARRAY['control', 'A'])[1 + i % 2],
       ((i * 37) % 11 < 4 + i % 3)::int
  FROM generate_series(1, 60) i;
SELECT count(*) FROM train_propensity('ph_p', 'ph_cust', 'y', '{x}', '{c}');
SELECT count(*) FROM train_uplift('ph_u', 'ph_cust', 'arm', 'y', '{x}', '{c}');
CREATE TABLE ph_good AS SELECT params FROM model WHERE name IN ('ph_p', 'ph_u') ORDER BY name;

-- Each crafted params row is written as a superuser would, then scored.
CREATE TABLE ph_attack (n int, model text, what text, params jsonb);
INSERT INTO ph_attack
SELECT 1, 'ph_p', 'unknown feature kind', jsonb_set(p, '{features,0,kind}', '"sql"') FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 2, 'ph_p', 'centre as SQL text', jsonb_set(p, '{features,0,center}', '"0) + recpromo.ph_boom() + (0"') FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 3, 'ph_p', 'coefficient NaN (would read column "nan")', jsonb_set(p, '{coef,1}', '"NaN"') FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 4, 'ph_p', 'coefficient as SQL text', jsonb_set(p, '{coef,0}', '"1) + recpromo.ph_boom() + (1"') FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 5, 'ph_p', 'too few coefficients', jsonb_set(p, '{coef}', '[1]') FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 6, 'ph_p', 'bool flag as SQL text', jsonb_set(p, '{features,0,bool}', '"true)::int + recpromo.ph_boom()::int"') FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 7, 'ph_p', 'column name of 64 bytes', jsonb_set(p, '{features,0,column}', to_jsonb(repeat('x', 64))) FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 8, 'ph_p', 'features not an array', jsonb_set(p, '{features}', '"x"') FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 9, 'ph_p', 'zero scale', jsonb_set(p, '{features,0,scale}', '0') FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 10, 'ph_p', 'huge coefficient', jsonb_set(p, '{coef,0}', '1e400') FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 11, 'ph_p', 'params not an object', '[1]'::jsonb FROM (SELECT params AS p FROM model WHERE name = 'ph_p') m
UNION ALL
SELECT 12, 'ph_u', 'unknown uplift method', jsonb_set(p, '{method}', '"evil"') FROM (SELECT params AS p FROM model WHERE name = 'ph_u') m
UNION ALL
SELECT 13, 'ph_u', 'control coefficients as SQL text', jsonb_set(p, '{control_coef,0}', '"recpromo.ph_boom()"') FROM (SELECT params AS p FROM model WHERE name = 'ph_u') m
UNION ALL
SELECT 14, 'ph_u', 'arm without treatment label', p #- '{arms,0,treatment}' FROM (SELECT params AS p FROM model WHERE name = 'ph_u') m
UNION ALL
SELECT 15, 'ph_u', 'two arms with one label', jsonb_set(p, '{arms}', (p->'arms') || (p->'arms')) FROM (SELECT params AS p FROM model WHERE name = 'ph_u') m
UNION ALL
SELECT 16, 'ph_u', 'level as SQL text', jsonb_set(p, '{features,1,level}', '"a'') || recpromo.ph_boom()::text || (''"') FROM (SELECT params AS p FROM model WHERE name = 'ph_u') m
UNION ALL
SELECT 17, 'ph_u', 'column name as SQL text', jsonb_set(p, '{features,0,column}', '"x\") + recpromo.ph_boom() + (\"x"') FROM (SELECT params AS p FROM model WHERE name = 'ph_u') m
UNION ALL
SELECT 18, 'ph_u', 'treatment label as SQL text', jsonb_set(p, '{arms,0,treatment}', '"A''] || recpromo.ph_boom()::text || ARRAY[''"') FROM (SELECT params AS p FROM model WHERE name = 'ph_u') m
UNION ALL
SELECT 19, 'ph_u', 'arm coefficient as SQL text', jsonb_set(p, '{arms,0,coef,1}', '"recpromo.ph_boom()"') FROM (SELECT params AS p FROM model WHERE name = 'ph_u') m;

CREATE FUNCTION ph_run(a ph_attack) RETURNS TABLE (call text, result text) LANGUAGE plpgsql AS $$
DECLARE
    good jsonb;
BEGIN
    SELECT params INTO good FROM recpromo.model WHERE name = a.model;
    UPDATE recpromo.model SET params = a.params WHERE name = a.model;
    IF a.model = 'ph_p' THEN
        RETURN QUERY VALUES
            ('score_propensity', recpromo.ph_try($q$SELECT * FROM recpromo.score_propensity('ph_p', 'recpromo.ph_cust', 'id')$q$)),
            ('predict_propensity', recpromo.ph_try($q$SELECT recpromo.predict_propensity('ph_p', '{"x": 1, "c": "b"}')$q$)),
            ('evaluate_propensity', recpromo.ph_try($q$SELECT * FROM recpromo.evaluate_propensity('ph_p', 'recpromo.ph_cust', 'y')$q$)),
            ('propensity_calibration', recpromo.ph_try($q$SELECT * FROM recpromo.propensity_calibration('ph_p', 'recpromo.ph_cust', 'y')$q$));
    ELSE
        RETURN QUERY VALUES
            ('score_uplift', recpromo.ph_try($q$SELECT * FROM recpromo.score_uplift('ph_u', 'recpromo.ph_cust', 'id')$q$)),
            ('predict_uplift', recpromo.ph_try($q$SELECT * FROM recpromo.predict_uplift('ph_u', '{"x": 1, "c": "b"}')$q$)),
            ('assign_offers_from_model', recpromo.ph_try($q$SELECT * FROM recpromo.assign_offers_from_model('ph_u', 'recpromo.ph_cust', 'id', '{"A": 0.01}', 1)$q$));
    END IF;
    UPDATE recpromo.model SET params = good WHERE name = a.model;
END
$$;
SELECT a.n, a.what, r.call, r.result FROM ph_attack a, ph_run(a) r ORDER BY a.n, r.call;
SELECT ph_fired() AS attacker_code_ran;

-- The corrupted-model error in full.
UPDATE model SET params = jsonb_set(params, '{coef,1}', '"NaN"') WHERE name = 'ph_p';
SELECT * FROM score_propensity('ph_p', 'ph_cust', 'id');
UPDATE model SET params = (SELECT params FROM ph_good WHERE params ? 'target') WHERE name = 'ph_p';
-- the restored models score again
SELECT count(*) FROM score_propensity('ph_p', 'ph_cust', 'id');
SELECT count(*) FROM score_uplift('ph_u', 'ph_cust', 'id');

-- A table without a feature column: undefined_column naming the feature,
-- the table and the model, never the generated SQL.
CREATE TABLE ph_no_c AS SELECT id, x, arm, y FROM ph_cust;
CREATE TABLE ph_no_xc AS SELECT id, arm, y FROM ph_cust;
SELECT * FROM score_propensity('ph_p', 'ph_no_c', 'id');
SELECT * FROM score_uplift('ph_u', 'ph_no_xc', 'id');
SELECT * FROM assign_offers_from_model('ph_u', 'ph_no_c', 'id', '{"A": 1}', 10);
SELECT * FROM evaluate_propensity('ph_p', 'ph_no_c', 'y');
SELECT ph_try($$SELECT * FROM recpromo.score_propensity('ph_p', 'recpromo.ph_no_c', 'id')$$) AS score_propensity,
       ph_try($$SELECT * FROM recpromo.score_uplift('ph_u', 'recpromo.ph_no_xc', 'id')$$) AS score_uplift;

-- Trojans in public, the README's search_path and a path with public first.
-- (PL/pgSQL bodies: an SQL body could be inlined and folded away unrun)
CREATE FUNCTION public.format(text, name) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM recpromo.ph_boom(); RETURN pg_catalog.format($1, $2); END $$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM recpromo.ph_boom(); RETURN pg_catalog.format($1, $2); END $$;
CREATE FUNCTION public.ph_trojan_eq(text, text) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM recpromo.ph_boom(); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR public.= (leftarg = text, rightarg = text, function = public.ph_trojan_eq);
CREATE FUNCTION public.ph_trojan_sum(float8, float8) RETURNS float8 LANGUAGE plpgsql
AS $$ BEGIN PERFORM recpromo.ph_boom(); RETURN coalesce($1, 0) OPERATOR(pg_catalog.+) $2; END $$;
CREATE AGGREGATE public.sum(float8) (sfunc = public.ph_trojan_sum, stype = float8);
CREATE FUNCTION public.cardinality(name[]) RETURNS integer LANGUAGE plpgsql
AS $$ BEGIN PERFORM recpromo.ph_boom(); RETURN pg_catalog.cardinality($1); END $$;
CREATE FUNCTION public.sigmoid(numeric) RETURNS float8 LANGUAGE plpgsql
AS $$ BEGIN PERFORM recpromo.ph_boom(); RETURN 0.5; END $$;
-- the trojans work: a plain query under the hostile path runs one
SET search_path = public, pg_catalog, recpromo;
SELECT 'a'::text = 'a'::text AS plain_query;
SET search_path = recpromo, public;
SELECT ph_fired() AS trojan_ran, setval('ph_canary', 1, false) IS NOT NULL AS reset;

CREATE TABLE public.ph_calls (n int, q text);
INSERT INTO public.ph_calls VALUES
  (1, $$SELECT * FROM rfm('recpromo.ph_orders', 'customer', 'day', 'amount', '2024-07-01', order_col => 'invoice')$$),
  (2, $$SELECT * FROM category_affinity('recpromo.ph_orders', 'customer', 'category', 'amount')$$),
  (3, $$SELECT * FROM kmeans('recpromo.ph_cust', 'id', '{x, nan}', 2)$$),
  (4, $$SELECT * FROM kmeans_clusters('recpromo.ph_cust', 'id', '{x}', 2)$$),
  (5, $$SELECT * FROM train_propensity('ph_t', 'recpromo.ph_cust', 'y', '{x}', '{c}')$$),
  (6, $$SELECT * FROM score_propensity('ph_t', 'recpromo.ph_cust', 'id')$$),
  (7, $$SELECT * FROM evaluate_propensity('ph_t', 'recpromo.ph_cust', 'y')$$),
  (8, $$SELECT * FROM propensity_calibration('ph_t', 'recpromo.ph_cust', 'y')$$),
  (9, $$SELECT predict_propensity('ph_t', '{"x": 2, "c": "c"}')$$),
  (10, $$SELECT * FROM train_uplift('ph_t2', 'recpromo.ph_cust', 'arm', 'y', '{x}', '{c}')$$),
  (11, $$SELECT * FROM train_uplift('ph_t3', 'recpromo.ph_cust', 'arm', 'y', '{x}', method => 'class_transformation')$$),
  (12, $$SELECT * FROM score_uplift('ph_t2', 'recpromo.ph_cust', 'id')$$),
  (13, $$SELECT * FROM predict_uplift('ph_t2', '{"x": 2, "c": "c"}')$$),
  (14, $$SELECT * FROM uplift_balance('recpromo.ph_cust', 'arm', '{x}')$$),
  (15, $$SELECT * FROM uplift_evaluate('recpromo.ph_cust', 'x', 'arm', 'y', n_boot => 10)$$),
  (16, $$SELECT * FROM uplift_curve('recpromo.ph_cust', 'x', 'arm', 'y')$$),
  (17, $$SELECT * FROM uplift_by_decile('recpromo.ph_cust', 'x', 'arm', 'y')$$),
  (18, $$SELECT * FROM assign_offers('recpromo.ph_offers', 'customer', 'offer', 'value', 'cost', 5)$$),
  (19, $$SELECT * FROM assign_offers_curve('recpromo.ph_offers', 'customer', 'offer', 'value', 'cost', '{1, 5}')$$),
  (20, $$SELECT * FROM assign_offers_from_model('ph_t2', 'recpromo.ph_cust', 'id', '{"A": 0.01}', 1)$$);
CREATE TABLE ph_orders (invoice text, customer int, day date, amount numeric, category text);
INSERT INTO ph_orders SELECT 'i' || i, i % 9, date '2024-06-01' + i % 20, i % 13 + 1, (ARRAY['x', 'y'])[1 + i % 2]
  FROM generate_series(1, 90) i;
CREATE TABLE ph_offers (customer int, offer text, value float8, cost float8);
INSERT INTO ph_offers SELECT i, o, i % 5 + 1, 1 FROM generate_series(1, 10) i, unnest('{a, b}'::text[]) o;

-- under the README's path and under public first: same answers, no trojan
CREATE TABLE public.ph_results (path text, n int, result text);
SET search_path = public, recpromo;
INSERT INTO ph_results SELECT 'public, recpromo', n, ph_try(q) FROM ph_calls;
SET search_path = public, pg_catalog, recpromo;
INSERT INTO ph_results SELECT 'public, pg_catalog, recpromo', n, ph_try(q) FROM ph_calls;
SET search_path = recpromo, public;
SELECT ph_fired() AS attacker_code_ran;
SELECT n, result, count(DISTINCT path) AS paths FROM public.ph_results GROUP BY n, result ORDER BY n;

DROP FUNCTION public.format(text, name), public.format(text, text), public.cardinality(name[]),
              public.sigmoid(numeric);
DROP OPERATOR public.= (text, text);
DROP AGGREGATE public.sum(float8);
DROP FUNCTION public.ph_trojan_eq(text, text), public.ph_trojan_sum(float8, float8);
DROP TABLE public.ph_calls, public.ph_results;
DELETE FROM model WHERE name LIKE 'ph\_%';

-- Invoker rights: row-level security of the caller's table applies inside
-- rfm and category_affinity (customers 0-2 are 'eu', 3-5 'us').
CREATE ROLE regress_ph_eu;
CREATE TABLE public.ph_rls (invoice text, customer int, region text, day date, amount numeric, x float8, c text);
INSERT INTO public.ph_rls
SELECT 'i' || i, i % 6, CASE WHEN i % 6 < 3 THEN 'eu' ELSE 'us' END, date '2024-06-01' + i % 20, i % 13 + 1,
       i % 7, (ARRAY['a', 'b', 'c'])[1 + i % 3]
  FROM generate_series(1, 60) i;
ALTER TABLE public.ph_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY ph_eu ON public.ph_rls FOR SELECT TO regress_ph_eu USING (region = 'eu');
GRANT SELECT ON public.ph_rls TO regress_ph_eu;
GRANT USAGE ON SCHEMA recpromo TO regress_ph_eu;
SET ROLE regress_ph_eu;
SELECT customer, frequency, monetary FROM rfm('public.ph_rls', 'customer', 'day', 'amount', '2024-07-01') ORDER BY 1;
SELECT DISTINCT customer FROM category_affinity('public.ph_rls', 'customer', 'c', 'amount') ORDER BY 1;
RESET ROLE;
SELECT count(*) AS customers_seen_by_owner FROM rfm('public.ph_rls', 'customer', 'day', 'amount', '2024-07-01');
REVOKE USAGE ON SCHEMA recpromo FROM regress_ph_eu;
DROP TABLE public.ph_rls;
DROP ROLE regress_ph_eu;
