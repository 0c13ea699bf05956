-- A/B analysis: the distribution functions were internal (_ab_*) but
-- executable by PUBLIC; 0.3.0 publishes them under documented names
-- (created below by the replaceable part) and drops the internal ones.
DROP FUNCTION IF EXISTS @extschema@._ab_norm_cdf(pg_catalog.float8);
DROP FUNCTION IF EXISTS @extschema@._ab_norm_quantile(pg_catalog.float8);
DROP FUNCTION IF EXISTS @extschema@._ab_t_sf2(pg_catalog.float8, pg_catalog.float8);
DROP FUNCTION IF EXISTS @extschema@._ab_t_quantile(pg_catalog.float8, pg_catalog.float8);
DROP FUNCTION IF EXISTS @extschema@._ab_chi2_sf(pg_catalog.float8, pg_catalog.float8);
