-- ---------------------------------------------------------------------------
-- Batch serving: every user's top-n in one call, for materialized views.
-- The plain form returns bigint keys; the typed form takes typed NULLs that
-- choose the user and item key types (as jsonb_populate_record does), e.g.
-- recommend_all(NULL::text, NULL::text, 10) for text keys.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.recommend_all(
    n integer DEFAULT 10,
    model text DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (user_id bigint, item bigint, score float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_all'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100000;
COMMENT ON FUNCTION @extschema@.recommend_all(integer, text, boolean) IS
'every user''s top-n (bigint keys), users in key order, each as recommend(user, n) returns it; '
'blocked matrix products for factor models; for CREATE MATERIALIZED VIEW';

CREATE FUNCTION @extschema@.recommend_all(
    user_type anyelement,
    item_type anycompatible,
    n integer DEFAULT 10,
    model text DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (user_id anyelement, item anycompatible, score float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_all'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100000;
COMMENT ON FUNCTION @extschema@.recommend_all(anyelement, anycompatible, integer, text, boolean) IS
'every user''s top-n with key types chosen by typed NULLs, e.g. recommend_all(NULL::text, NULL::text, 10)';

CREATE FUNCTION @extschema@._sgemm_gflops(m integer, n integer, k integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_sgemm_gflops'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._sgemm_gflops(integer, integer, integer) IS
'benchmark helper: GFLOP/s of one single-threaded OpenBLAS SGEMM of m x k by k x n in this backend';
