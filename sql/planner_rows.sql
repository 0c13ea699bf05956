-- Row estimates of set-returning functions (issue 11.11).  The serving
-- functions with an argument n are estimated at n rows when n is a constant
-- (planner support function _rows_at_most_n; 10, the default of n, when it
-- is omitted), time_split at the size of its source table
-- (_rows_per_source_row), the others at their ROWS.  Only the estimates are
-- printed: EXPLAIN needs no trained model, and costs vary between machines.
SET search_path = recpromo, public;
CREATE FUNCTION pg_temp.plan_rows_walk(node json, depth int) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    child json;
BEGIN
    RETURN NEXT repeat('  ', depth) || (node->>'Node Type')
        || coalesce(' ' || (node->>'Function Name'), '')
        || coalesce(' ' || (node->>'Alias'), '')
        || ': rows=' || (node->>'Plan Rows');
    FOR child IN SELECT * FROM json_array_elements(coalesce(node->'Plans', '[]')) LOOP
        RETURN QUERY SELECT * FROM pg_temp.plan_rows_walk(child, depth + 1);
    END LOOP;
END $$;
CREATE FUNCTION pg_temp.plan_rows(q text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON, COSTS ON) ' || q INTO plan;
    RETURN QUERY SELECT * FROM pg_temp.plan_rows_walk(plan->0->'Plan', 0);
END $$;

-- constant n, positional, named and omitted
SELECT pg_temp.plan_rows('SELECT * FROM recommend(1::bigint, 3)');
SELECT pg_temp.plan_rows('SELECT * FROM recommend(1::bigint)');
SELECT pg_temp.plan_rows($$SELECT * FROM recommend(1::bigint, model => 'm', n => 25, exclude_seen => false)$$);
SELECT pg_temp.plan_rows($$SELECT * FROM recommend_for_items(ARRAY[1, 2]::bigint[], 6)$$);
SELECT pg_temp.plan_rows('SELECT * FROM similar_items(5::bigint, 7)');
SELECT pg_temp.plan_rows('SELECT * FROM similar_users(5::bigint, 4)');
-- n below 1 is estimated at 1 row; NULL n keeps ROWS
SELECT pg_temp.plan_rows('SELECT * FROM recommend(1::bigint, 0)');
SELECT pg_temp.plan_rows('SELECT * FROM recommend(1::bigint, NULL)');
-- no n: ROWS
SELECT pg_temp.plan_rows('SELECT * FROM explain_recommendation(1::bigint, 2::bigint)');
SELECT pg_temp.plan_rows('SELECT * FROM recommend_all(5)');
SELECT pg_temp.plan_rows($$SELECT * FROM evaluate_rankings('pg_class', 'pg_class')$$);

-- a join of two calls: 5 x 8 candidate pairs, not 10 x 10 or 1000 x 1000
SELECT pg_temp.plan_rows($$
  SELECT * FROM recommend(1::bigint, 5) a JOIN similar_items(3::bigint, 8) b ON a.item = b.item$$);
SELECT pg_temp.plan_rows($$
  SELECT * FROM recommend(1::bigint, 5) a, recommend(2::bigint, 2) b, similar_users(1::bigint, 3) c$$);

-- LATERAL: the estimate of each call survives, the join multiplies
CREATE TABLE pr_customers (customer_id bigint PRIMARY KEY, k int);
INSERT INTO pr_customers SELECT g, 1 + g % 4 FROM generate_series(1, 200) g;
ANALYZE pr_customers;
SELECT pg_temp.plan_rows($$
  SELECT c.customer_id, r.item FROM pr_customers c, LATERAL recommend(c.customer_id, 4) r$$);
SELECT pg_temp.plan_rows($$
  SELECT c.customer_id, r.item FROM pr_customers c, LATERAL recommend(c.customer_id, 4) r
   WHERE c.customer_id <= 20$$);
-- n taken from the outer row is not a constant: ROWS
SELECT pg_temp.plan_rows($$
  SELECT c.customer_id, r.item FROM pr_customers c, LATERAL recommend(c.customer_id, c.k) r$$);
-- in the select list
SELECT pg_temp.plan_rows($$SELECT similar_items(c.customer_id, 2) FROM pr_customers c$$);

-- a prepared statement: the custom plan sees n, the generic plan keeps ROWS
PREPARE pr_rec(int) AS SELECT * FROM recommend(1::bigint, $1);
SET plan_cache_mode = force_custom_plan;
SELECT pg_temp.plan_rows('EXECUTE pr_rec(3)');
SET plan_cache_mode = force_generic_plan;
SELECT pg_temp.plan_rows('EXECUTE pr_rec(3)');
RESET plan_cache_mode;
DEALLOCATE pr_rec;

-- time_split: one row per row of its source
CREATE TABLE pr_orders (customer_id bigint, ordered_on date);
INSERT INTO pr_orders SELECT g % 50, date '2024-01-01' + g % 90 FROM generate_series(1, 700) g;
ANALYZE pr_orders;
SELECT pg_temp.plan_rows($$SELECT * FROM time_split(NULL::pr_orders, 'customer_id', 'ordered_on')$$);
SELECT pg_temp.plan_rows($$
  SELECT * FROM time_split(NULL::pr_orders, 'customer_id', 'ordered_on') s
  JOIN pr_customers c ON c.customer_id = (s.rec).customer_id$$);
-- a view has no size: ROWS
CREATE VIEW pr_orders_v AS SELECT * FROM pr_orders;
SELECT pg_temp.plan_rows($$SELECT * FROM time_split(NULL::pr_orders_v, 'customer_id', 'ordered_on')$$);

-- the settings of the serving and evaluation functions; the support
-- functions take internal (not callable from SQL) and are not granted to PUBLIC
SELECT p.proname, p.prorows, s.proname AS support
  FROM pg_proc p LEFT JOIN pg_proc s ON s.oid = p.prosupport
 WHERE p.pronamespace = 'recpromo'::regnamespace AND p.proretset
   AND p.proname IN ('recommend', 'recommend_for_items', 'similar_items', 'similar_users',
                     'explain_recommendation', 'recommend_all', 'time_split', 'evaluate_rankings',
                     'evaluate')
 ORDER BY 1, 2;
SELECT has_function_privilege('public', 'recpromo._rows_at_most_n(internal)', 'EXECUTE') AS public_may_call;
DROP VIEW pr_orders_v;
DROP TABLE pr_orders, pr_customers;
