-- Issue 18: the internal helpers of the promotion layer (70_promo.sql) are
-- gone from SQL.  The public promotion functions are C now (invoker rights,
-- src/pg/promo_*.c) and the helpers their static functions, so no role can
-- call a helper with arguments of its own.  The public functions change
-- language through CREATE OR REPLACE below; the helpers are dropped here,
-- but for _promo_rel, _promo_coltype, _promo_num and _promo_model, which
-- other areas still call and which become C through CREATE OR REPLACE.
DROP FUNCTION IF EXISTS @extschema@._assign_solve(pg_catalog.text[], pg_catalog.text[], pg_catalog.float8[], pg_catalog.float8[], pg_catalog.float8, pg_catalog.float8[], pg_catalog.jsonb);
DROP FUNCTION IF EXISTS @extschema@._assign_read(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name);
DROP FUNCTION IF EXISTS @extschema@._assign_run(pg_catalog.text[], pg_catalog.text[], pg_catalog.float8[], pg_catalog.float8[], pg_catalog.text[], bigint[], pg_catalog.float8);
DROP FUNCTION IF EXISTS @extschema@._assign_curve(pg_catalog.text[], pg_catalog.text[], pg_catalog.float8[], pg_catalog.float8[], pg_catalog.text[], bigint[], pg_catalog.float8[]);
DROP FUNCTION IF EXISTS @extschema@._uplift_read(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._uplift_metrics(pg_catalog.float8[], boolean[], pg_catalog.float8[], pg_catalog.float8, integer, bigint, pg_catalog.float8);
DROP FUNCTION IF EXISTS @extschema@._uplift_curve(pg_catalog.float8[], boolean[], pg_catalog.float8[], integer);
DROP FUNCTION IF EXISTS @extschema@._kmeans_read(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], boolean);
DROP FUNCTION IF EXISTS @extschema@._kmeans_fit(pg_catalog.float8[], integer, bigint, integer);
DROP FUNCTION IF EXISTS @extschema@._promo_raise_missing(pg_catalog.text, bigint);
DROP FUNCTION IF EXISTS @extschema@._propensity_metrics(pg_catalog.jsonb, pg_catalog.regclass, pg_catalog.name);
DROP FUNCTION IF EXISTS @extschema@._promo_binary_target(pg_catalog.regclass, pg_catalog.name, pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._uplift_expr(pg_catalog.jsonb, integer, integer);
DROP FUNCTION IF EXISTS @extschema@._uplift_arms(pg_catalog.regclass, pg_catalog.name, pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._promo_fit(pg_catalog.text, pg_catalog.float8[], pg_catalog.float8[], pg_catalog.float8[], pg_catalog.float8, integer, integer, pg_catalog.float8);
DROP FUNCTION IF EXISTS @extschema@._promo_feature_spec(pg_catalog.regclass, pg_catalog.name[], pg_catalog.name[], boolean);
DROP FUNCTION IF EXISTS @extschema@._promo_spec_problem(pg_catalog.jsonb);
DROP FUNCTION IF EXISTS @extschema@._promo_coef_problem(pg_catalog.jsonb, integer, pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._promo_params_problem(pg_catalog.jsonb, pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._promo_spec_values(pg_catalog.jsonb);
DROP FUNCTION IF EXISTS @extschema@._promo_coef(pg_catalog.jsonb);
DROP FUNCTION IF EXISTS @extschema@._promo_design(pg_catalog.jsonb, integer);
DROP FUNCTION IF EXISTS @extschema@._promo_linear_sql(pg_catalog.text[], pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._promo_linear_jsonb(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb);
DROP FUNCTION IF EXISTS @extschema@._promo_check_columns(pg_catalog.text, pg_catalog.jsonb, pg_catalog.regclass);
DROP FUNCTION IF EXISTS @extschema@._promo_check_name(pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._promo_money(pg_catalog.regclass, pg_catalog.name, pg_catalog.text);
-- the model store entry points of the promotion layer (30_train.sql)
DROP FUNCTION IF EXISTS @extschema@._promo_store(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.regclass, bigint, pg_catalog.float8, pg_catalog.float8);
DROP FUNCTION IF EXISTS @extschema@._promo_params(pg_catalog.text, pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._model_set_metrics(pg_catalog.text, pg_catalog.jsonb);
