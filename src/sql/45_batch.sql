-- ---------------------------------------------------------------------------
-- Batch serving: every user's top-n in one call, for materialized views.
-- The plain form returns bigint keys; the typed form takes typed NULLs that
-- choose the user and item key types (as jsonb_populate_record does), e.g.
-- recommend_all(NULL::text, NULL::text, 10) for text keys.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.recommend_all(
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (user_id bigint, item bigint, score double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_all'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100000;
COMMENT ON FUNCTION @extschema@.recommend_all(integer, pg_catalog.text, boolean) IS
'every user''s top-n (bigint keys), users in key order, each as recommend(user, n) returns it; '
'blocked matrix products for factor models; for CREATE MATERIALIZED VIEW';

CREATE FUNCTION @extschema@.recommend_all(
    user_type pg_catalog.anyelement,
    item_type pg_catalog.anycompatible,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (user_id pg_catalog.anyelement, item pg_catalog.anycompatible, score double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_all'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100000;
COMMENT ON FUNCTION @extschema@.recommend_all(pg_catalog.anyelement, pg_catalog.anycompatible, integer, pg_catalog.text, boolean) IS
'every user''s top-n with key types chosen by typed NULLs, e.g. recommend_all(NULL::text, NULL::text, 10)';

CREATE FUNCTION @extschema@._sgemm_gflops(m integer, n integer, k integer)
RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_sgemm_gflops'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._sgemm_gflops(integer, integer, integer) IS
'benchmark helper: GFLOP/s of one single-threaded OpenBLAS SGEMM of m x k by k x n in this backend';
-- A benchmark helper that burns CPU on request: superusers (bench/) only.
REVOKE ALL ON FUNCTION @extschema@._sgemm_gflops(integer, integer, integer) FROM PUBLIC;
