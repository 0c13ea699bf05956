
-- Promotion analytics (src/sql/70_promo.sql): functions that 0.2.0 drops or
-- whose signature CREATE OR REPLACE cannot change.  Their 0.2.0 versions,
-- if any, are created again below from the install script.
--  * rfm: monetary is numeric (was float8); category_affinity: amount is
--    numeric (was float8).  Money is summed in numeric.
--  * The SQL text builders take parameter positions instead of stored
--    values: _promo_feature_sql and _promo_design_sql are gone (replaced by
--    _promo_design), _promo_linear_sql and _uplift_expr have new arguments.
--    Dropped dependants first: 0.1.0's SQL-standard bodies recorded
--    dependencies (_uplift_expr on _promo_linear_sql, _promo_design_sql on
--    _promo_feature_sql).
--  * _promo_labels is folded into its only caller, train_propensity.
--  * The assignment reads candidates as arrays: _assign_query is gone
--    (replaced by _assign_read) and _assign_solve takes arrays.
DROP FUNCTION @extschema@.rfm(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name,
                              pg_catalog.timestamptz, pg_catalog.name, pg_catalog.text);
DROP FUNCTION @extschema@.category_affinity(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name);
DROP FUNCTION @extschema@._uplift_expr(pg_catalog.jsonb, pg_catalog.jsonb);
DROP FUNCTION @extschema@._promo_design_sql(pg_catalog.jsonb);
DROP FUNCTION @extschema@._promo_linear_sql(pg_catalog.jsonb, pg_catalog.jsonb);
DROP FUNCTION @extschema@._promo_feature_sql(pg_catalog.jsonb);
DROP FUNCTION @extschema@._assign_solve(pg_catalog.text, pg_catalog.float8, pg_catalog.float8[], pg_catalog.jsonb);
DROP FUNCTION @extschema@._assign_query(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name,
                                        pg_catalog.name);
DROP FUNCTION @extschema@._promo_labels(pg_catalog.jsonb);
