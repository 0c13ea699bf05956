-- Row estimates of the promotion set-returning functions.  A plan built
-- on the default estimate (1000 rows, about 5 after a filter) joined four
-- score_uplift calls over 60,000 customers with nested loops for ten
-- minutes.  The functions declare ROWS estimates near real sizes; this test
-- prints the estimates the planner uses (never costs or times).
SET search_path = recpromo, public;
\set SHOW_CONTEXT never

CREATE TABLE prw_cust (id int, x float8, arm text, y int);
INSERT INTO prw_cust SELECT i, i % 7, (ARRAY['control', 'A', 'B'])[1 + i % 3], (i % 5 < 2 + i % 3)::int
  FROM generate_series(1, 300) i;
SELECT count(*) FROM train_uplift('prw_u', 'prw_cust', 'arm', 'y', '{x}');
ANALYZE prw_cust;

-- Estimated rows of the function scans (by alias) and of the whole plan.
CREATE FUNCTION prw_rows(q text) RETURNS TABLE (node text, estimated_rows float8) LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan;
    RETURN QUERY
        SELECT 'plan', (plan->0->'Plan'->>'Plan Rows')::float8
        UNION ALL
        (SELECT n->>'Alias', (n->>'Plan Rows')::float8
           FROM jsonb_path_query(plan, 'strict $.**') n
          WHERE jsonb_typeof(n) = 'object' AND n->>'Node Type' = 'Function Scan'
          ORDER BY 1);
END
$$;

-- the 4-way join: each call is estimated at 100,000 rows, 500 after the filter
SELECT * FROM prw_rows($$
    SELECT a.key, a.uplift, b.uplift, c.uplift, d.uplift
      FROM score_uplift('prw_u', 'prw_cust', 'id') a
      JOIN score_uplift('prw_u', 'prw_cust', 'id') b ON b.key = a.key AND b.treatment = a.treatment
      JOIN score_uplift('prw_u', 'prw_cust', 'id') c ON c.key = a.key AND c.treatment = a.treatment
      JOIN score_uplift('prw_u', 'prw_cust', 'id') d ON d.key = a.key AND d.treatment = a.treatment
     WHERE a.treatment = 'A' AND b.treatment = 'A' AND c.treatment = 'A' AND d.treatment = 'A'$$);

-- score_propensity and kmeans return one row per source row: estimated at
-- the size of a constant source table (300 rows), else at their ROWS
SELECT count(*) FROM train_propensity('prw_p', 'prw_cust', 'y', '{x}');
SELECT * FROM prw_rows($$SELECT * FROM score_propensity('prw_p', 'prw_cust', 'id')$$);
SELECT * FROM prw_rows($$SELECT * FROM kmeans('prw_cust', 'id', '{x}', 3)$$);
SELECT * FROM prw_rows($$SELECT s.* FROM (SELECT 'prw_cust'::regclass FROM prw_cust LIMIT 1) v(t),
                                         score_propensity('prw_p', v.t, 'id') s$$);

-- the declared estimates of every set-returning promotion function
SELECT p.proname, p.prorows
  FROM pg_proc p JOIN pg_extension e ON e.extnamespace = p.pronamespace AND e.extname = 'recpromo'
 WHERE p.proretset AND p.proname IN ('rfm', 'category_affinity', 'kmeans', 'kmeans_clusters', 'train_propensity',
                                     'score_propensity', 'evaluate_propensity', 'propensity_calibration',
                                     'train_uplift', 'score_uplift', 'predict_uplift', 'uplift_evaluate',
                                     'uplift_curve', 'uplift_by_decile', 'uplift_balance', 'assign_offers',
                                     'assign_offers_curve', 'assign_offers_from_model')
 ORDER BY 1;

-- the join still answers
SELECT count(*) AS rows, bool_and(a.uplift = d.uplift) AS same
  FROM score_uplift('prw_u', 'prw_cust', 'id') a
  JOIN score_uplift('prw_u', 'prw_cust', 'id') b ON b.key = a.key AND b.treatment = a.treatment
  JOIN score_uplift('prw_u', 'prw_cust', 'id') c ON c.key = a.key AND c.treatment = a.treatment
  JOIN score_uplift('prw_u', 'prw_cust', 'id') d ON d.key = a.key AND d.treatment = a.treatment;
DELETE FROM model WHERE name LIKE 'prw\_%';
