-- ---------------------------------------------------------------------------
-- Promotion analytics: customer profiles (RFM, category affinity, k-means
-- segments), propensity (logistic regression), uplift (two-model and class
-- transformation, Qini/AUUC with bootstrap intervals, balance check) and
-- offer assignment under a budget.
--
-- Security posture, for the DBA reading this script:
--
-- * Invoker rights.  No function here is SECURITY DEFINER.  The functions
--   are C (src/pg/promo_*.c) and read the caller's tables through SPI with
--   the caller's privileges, so table and column grants and row-level
--   security apply as for any query the caller could type.  Model rows are
--   read and written by the C model store (src/pg/model_acl.c), which
--   checks the model's owner and grants.
-- * No internal SQL function of its own.  Until 0.3.0 the promotion layer
--   was PL/pgSQL over some thirty internal "_" SQL functions that every role
--   could call with arguments of its own (issue 18).  Their work is now
--   static C code.  Four checks stay SQL-callable for other areas' PL/pgSQL
--   (see "Helpers shared with other areas" below).
-- * Generated SQL.  The queries the C code runs name relations as
--   "schema"."name" from the catalog and columns through quote_identifier;
--   every function and operator is schema-qualified (pg_catalog.x,
--   OPERATOR(pg_catalog.=)) and runs under search_path = pg_catalog,
--   pg_temp.  Every value (labels, centres, scales, levels, coefficients,
--   budgets) is an SPI parameter, never SQL text.
-- * Stored models are untrusted input.  A model's params (jsonb) may have
--   been written by another role, or edited by hand, and are used by the
--   role that scores with it, possibly a superuser.  They are checked
--   against a fixed schema before use (src/pg/promo_spec.c: feature kinds
--   from a fixed list, column names at most 63 bytes, every number finite,
--   arrays of the right lengths) and anything else is refused with XX001
--   data_corrupted naming the model.
--
-- The numeric work is done in src/core (rp_logreg.c, rp_kmeans.c,
-- rp_uplift.c, rp_assign.c) on whole columns read as arrays.  Money
-- (rfm's monetary value, category_affinity's spend) is summed in numeric,
-- so cents add up exactly and a net spend of zero is zero.  Definitions,
-- conventions and errors are in doc/promotions.md, "Customer profiles and
-- promotions".
-- ---------------------------------------------------------------------------

-- Small helpers -------------------------------------------------------------

-- Logistic function, computed without overflow (C: rp_sigmoid).
CREATE FUNCTION @extschema@.sigmoid(t pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo_sigmoid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sigmoid(pg_catalog.float8) IS
'logistic function 1 / (1 + exp(-t)), computed without overflow';

-- Profiles --------------------------------------------------------------------

-- Monetary values are numeric: amounts are summed exactly (promo_segments.c).
CREATE FUNCTION @extschema@.rfm(orders pg_catalog.regclass, customer_col pg_catalog.name, date_col pg_catalog.name, amount_col pg_catalog.name,
    as_of pg_catalog.timestamptz DEFAULT pg_catalog.now(), order_col pg_catalog.name DEFAULT NULL, returns_mode pg_catalog.text DEFAULT 'net')
RETURNS TABLE (customer pg_catalog.text, recency_days integer, frequency bigint, monetary numeric,
               r_score integer, f_score integer, m_score integer, rfm_cell pg_catalog.text, segment pg_catalog.text)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10000
AS 'MODULE_PATHNAME', 'recpromo_rfm';
COMMENT ON FUNCTION @extschema@.rfm(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.timestamptz, pg_catalog.name, pg_catalog.text) IS
'recency (days since the last purchase), frequency (purchase orders), monetary value (numeric, summed exactly), quintile scores 1-5 and named segments per customer';

CREATE FUNCTION @extschema@.category_affinity(orders pg_catalog.regclass, customer_col pg_catalog.name, category_col pg_catalog.name,
    amount_col pg_catalog.name DEFAULT NULL)
RETURNS TABLE (customer pg_catalog.text, category pg_catalog.text, amount numeric, share pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 50000
AS 'MODULE_PATHNAME', 'recpromo_category_affinity';
COMMENT ON FUNCTION @extschema@.category_affinity(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name) IS
'each customer''s share of net spend (amount_col given, summed in numeric) or of purchase rows (amount_col NULL) per category';

CREATE FUNCTION @extschema@.kmeans(source pg_catalog.regclass, key_col pg_catalog.name, columns pg_catalog.name[], k integer,
    seed bigint DEFAULT 42, standardize boolean DEFAULT true, max_iter integer DEFAULT 100)
RETURNS TABLE (key pg_catalog.text, cluster integer)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10000 SUPPORT @extschema@._rows_per_source_row
AS 'MODULE_PATHNAME', 'recpromo_kmeans';
COMMENT ON FUNCTION @extschema@.kmeans(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], integer, bigint, boolean, integer) IS
'k-means segmentation (k-means++ start, seeded) of the rows of a table over numeric columns: each key''s cluster 1..k';

CREATE FUNCTION @extschema@.kmeans_clusters(source pg_catalog.regclass, key_col pg_catalog.name, columns pg_catalog.name[], k integer,
    seed bigint DEFAULT 42, standardize boolean DEFAULT true, max_iter integer DEFAULT 100)
RETURNS TABLE (cluster integer, size bigint, centre pg_catalog.float8[], inertia pg_catalog.float8, iterations integer)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_kmeans_clusters';
COMMENT ON FUNCTION @extschema@.kmeans_clusters(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], integer, bigint, boolean, integer) IS
'the clusters of kmeans() with the same arguments: sizes, centres in the columns'' own units, inertia (in standardised units when standardize)';

-- Propensity ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.train_propensity(name pg_catalog.text, source pg_catalog.regclass, target_col pg_catalog.name,
    features pg_catalog.name[] DEFAULT '{}', categorical pg_catalog.name[] DEFAULT '{}', lambda pg_catalog.float8 DEFAULT 1.0,
    standardize boolean DEFAULT true, max_iter integer DEFAULT 100, tol pg_catalog.float8 DEFAULT 1e-10)
RETURNS TABLE (feature pg_catalog.text, coefficient pg_catalog.float8)
LANGUAGE C VOLATILE
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_train_propensity';
COMMENT ON FUNCTION @extschema@.train_propensity(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], pg_catalog.name[], pg_catalog.float8, boolean, integer, pg_catalog.float8) IS
'trains an L2-penalised logistic regression (Newton/IRLS) of a 0/1 target on numeric and one-hot categorical features, stores it as a model, returns its coefficients';

-- Row estimates of the scoring functions.  score_propensity returns one row
-- per source row: the planner support _rows_per_source_row (40_serve.sql)
-- estimates it at the size of the source table when that is a constant,
-- ROWS 100000 (a shop's customer table) otherwise.  score_uplift returns
-- one row per source row and arm, which the support function cannot know:
-- ROWS 100000.  At the default estimate (1000, about 5 after a filter) a
-- join of four score_uplift calls was planned as nested loops.
CREATE FUNCTION @extschema@.score_propensity(model pg_catalog.text, source pg_catalog.regclass, key_col pg_catalog.name)
RETURNS TABLE (key pg_catalog.text, score pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 100000 SUPPORT @extschema@._rows_per_source_row
AS 'MODULE_PATHNAME', 'recpromo_score_propensity';
COMMENT ON FUNCTION @extschema@.score_propensity(pg_catalog.text, pg_catalog.regclass, pg_catalog.name) IS
'propensity (predicted probability) of every row of a table under a stored logistic model; NULL when a feature is NULL';

CREATE FUNCTION @extschema@.predict_propensity(model pg_catalog.text, features pg_catalog.jsonb) RETURNS pg_catalog.float8
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'recpromo_predict_propensity';
COMMENT ON FUNCTION @extschema@.predict_propensity(pg_catalog.text, pg_catalog.jsonb) IS
'propensity of one row given as jsonb (e.g. to_jsonb(t)) under a stored logistic model; NULL when a feature is missing';

CREATE FUNCTION @extschema@.evaluate_propensity(model pg_catalog.text, source pg_catalog.regclass, target_col pg_catalog.name)
RETURNS TABLE (metric pg_catalog.text, value pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 5
AS 'MODULE_PATHNAME', 'recpromo_evaluate_propensity';
COMMENT ON FUNCTION @extschema@.evaluate_propensity(pg_catalog.text, pg_catalog.regclass, pg_catalog.name) IS
'AUC (Mann-Whitney, ties counted half), log-loss, Brier score of a stored logistic model on a table with the true 0/1 target';

CREATE FUNCTION @extschema@.propensity_calibration(model pg_catalog.text, source pg_catalog.regclass, target_col pg_catalog.name,
    bins integer DEFAULT 10)
RETURNS TABLE (bin integer, rows bigint, mean_predicted pg_catalog.float8, observed_rate pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_propensity_calibration';
COMMENT ON FUNCTION @extschema@.propensity_calibration(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, integer) IS
'calibration table: rows cut into equal-count bins by predicted propensity (1 = lowest), mean prediction and observed rate per bin';

-- Uplift --------------------------------------------------------------------------

CREATE FUNCTION @extschema@.train_uplift(name pg_catalog.text, source pg_catalog.regclass, treatment_col pg_catalog.name, outcome_col pg_catalog.name,
    features pg_catalog.name[] DEFAULT '{}', categorical pg_catalog.name[] DEFAULT '{}', method pg_catalog.text DEFAULT 'two_model',
    control pg_catalog.text DEFAULT 'control', lambda pg_catalog.float8 DEFAULT 1.0, standardize boolean DEFAULT true,
    max_iter integer DEFAULT 100, tol pg_catalog.float8 DEFAULT 1e-10)
RETURNS TABLE (treatment pg_catalog.text, customers bigint, control_customers bigint, ate pg_catalog.float8)
LANGUAGE C VOLATILE
ROWS 5
AS 'MODULE_PATHNAME', 'recpromo_train_uplift';
COMMENT ON FUNCTION @extschema@.train_uplift(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name[], pg_catalog.name[], pg_catalog.text, pg_catalog.text, pg_catalog.float8, boolean, integer, pg_catalog.float8) IS
'trains an uplift model (two_model T-learner or class_transformation) for every treatment arm against the control group and stores it';

CREATE FUNCTION @extschema@.score_uplift(model pg_catalog.text, source pg_catalog.regclass, key_col pg_catalog.name)
RETURNS TABLE (key pg_catalog.text, treatment pg_catalog.text, uplift pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 100000
AS 'MODULE_PATHNAME', 'recpromo_score_uplift';
COMMENT ON FUNCTION @extschema@.score_uplift(pg_catalog.text, pg_catalog.regclass, pg_catalog.name) IS
'estimated uplift of every treatment for every row of a table under a stored uplift model';

CREATE FUNCTION @extschema@.predict_uplift(model pg_catalog.text, features pg_catalog.jsonb)
RETURNS TABLE (treatment pg_catalog.text, uplift pg_catalog.float8)
LANGUAGE C STABLE PARALLEL SAFE
ROWS 5
AS 'MODULE_PATHNAME', 'recpromo_predict_uplift';
COMMENT ON FUNCTION @extschema@.predict_uplift(pg_catalog.text, pg_catalog.jsonb) IS
'estimated uplift of every treatment for one row given as jsonb under a stored uplift model';

CREATE FUNCTION @extschema@.uplift_evaluate(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control',
    k_percent pg_catalog.float8 DEFAULT 10, n_boot integer DEFAULT 200, seed bigint DEFAULT 42,
    confidence pg_catalog.float8 DEFAULT 0.95)
RETURNS TABLE (metric pg_catalog.text, value pg_catalog.float8, ci_low pg_catalog.float8, ci_high pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 4
AS 'MODULE_PATHNAME', 'recpromo_uplift_evaluate';
COMMENT ON FUNCTION @extschema@.uplift_evaluate(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.float8, integer, bigint, pg_catalog.float8) IS
'Qini coefficient, AUUC, uplift@k% and ATE of an uplift score on randomised data, with seeded percentile bootstrap intervals';

CREATE FUNCTION @extschema@.uplift_curve(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control',
    points integer DEFAULT 10)
RETURNS TABLE (fraction pg_catalog.float8, qini pg_catalog.float8, uplift pg_catalog.float8, random pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 11
AS 'MODULE_PATHNAME', 'recpromo_uplift_curve';
COMMENT ON FUNCTION @extschema@.uplift_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, integer) IS
'Qini curve q(phi), uplift curve u(phi) and the random-targeting line phi * ATE at equally spaced fractions targeted';

CREATE FUNCTION @extschema@.uplift_by_decile(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control',
    bins integer DEFAULT 10)
RETURNS TABLE (decile integer, treated bigint, control_rows bigint, mean_treated pg_catalog.float8,
               mean_control pg_catalog.float8, uplift pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_uplift_by_decile';
COMMENT ON FUNCTION @extschema@.uplift_by_decile(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, integer) IS
'observed uplift (treated mean - control mean) per equal-count bin of the score, bin 1 = highest scores';

CREATE FUNCTION @extschema@.uplift_balance(source pg_catalog.regclass, treatment_col pg_catalog.name, features pg_catalog.name[],
    control pg_catalog.text DEFAULT 'control')
RETURNS TABLE (treatment pg_catalog.text, feature pg_catalog.text, mean_treated pg_catalog.float8, mean_control pg_catalog.float8,
               smd pg_catalog.float8, balanced boolean)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 20
AS 'MODULE_PATHNAME', 'recpromo_uplift_balance';
COMMENT ON FUNCTION @extschema@.uplift_balance(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], pg_catalog.text) IS
'randomisation check: standardised mean difference of each feature between each treatment arm and control (balanced when |smd| < 0.1)';

-- Assignment --------------------------------------------------------------------------

CREATE FUNCTION @extschema@.assign_offers(candidates pg_catalog.regclass, customer_col pg_catalog.name, offer_col pg_catalog.name,
    value_col pg_catalog.name, cost_col pg_catalog.name, budget pg_catalog.float8, offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (customer pg_catalog.text, offer pg_catalog.text, value pg_catalog.float8, cost pg_catalog.float8, profit pg_catalog.float8,
               total_customers bigint, total_spent pg_catalog.float8, total_profit pg_catalog.float8, upper_bound pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10000
AS 'MODULE_PATHNAME', 'recpromo_assign_offers';
COMMENT ON FUNCTION @extschema@.assign_offers(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.float8, pg_catalog.jsonb) IS
'at most one offer per customer maximising expected incremental profit (value - cost) under a total budget and per-offer limits (greedy on profit density with upgrades); totals and the Lagrangian upper bound repeated on each row';

CREATE FUNCTION @extschema@.assign_offers_curve(candidates pg_catalog.regclass, customer_col pg_catalog.name, offer_col pg_catalog.name,
    value_col pg_catalog.name, cost_col pg_catalog.name, budgets pg_catalog.float8[], offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (budget pg_catalog.float8, customers bigint, spent pg_catalog.float8, profit pg_catalog.float8, upper_bound pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_assign_offers_curve';
COMMENT ON FUNCTION @extschema@.assign_offers_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.float8[], pg_catalog.jsonb) IS
'profit-versus-budget curve of assign_offers: customers reached, spend, profit and the upper bound at each budget';

CREATE FUNCTION @extschema@.assign_offers_from_model(model pg_catalog.text, customers pg_catalog.regclass, key_col pg_catalog.name,
    offer_costs pg_catalog.jsonb, budget pg_catalog.float8, value_per_unit pg_catalog.float8 DEFAULT 1, offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (customer pg_catalog.text, offer pg_catalog.text, value pg_catalog.float8, cost pg_catalog.float8, profit pg_catalog.float8,
               total_customers bigint, total_spent pg_catalog.float8, total_profit pg_catalog.float8, upper_bound pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10000
AS 'MODULE_PATHNAME', 'recpromo_assign_offers_from_model';
COMMENT ON FUNCTION @extschema@.assign_offers_from_model(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.jsonb, pg_catalog.float8, pg_catalog.float8, pg_catalog.jsonb) IS
'assign_offers on candidates made by a stored uplift model: value = uplift * value_per_unit, cost from offer_costs per treatment';
