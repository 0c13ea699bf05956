-- recpromo install script, assembled by make from src/sql/*.sql in name order.
\echo Use "CREATE EXTENSION recpromo" to load this file. \quit

-- Which OpenBLAS kernel set this server runs (e.g. Prescott, SkylakeX).
CREATE FUNCTION @extschema@.blas_corename() RETURNS text
AS 'MODULE_PATHNAME', 'recpromo_blas_corename'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.blas_corename() IS
'name of the OpenBLAS kernel set chosen for this CPU; set OPENBLAS_CORETYPE in the server environment to override';

-- ---------------------------------------------------------------------------
-- Similarity: dense vectors as arrays, the sparse vector type svec, and the
-- aggregates cosine_agg(x, y) and svec_agg(index, value).  See README
-- "Similarity".  Conventions: double sums, cosine clamped to [-1, 1], and the
-- cosine of a zero (or empty) vector with anything is 0.
-- ---------------------------------------------------------------------------

-- Dense: one C function per name serves every element type.
CREATE FUNCTION @extschema@.cosine_similarity(a float8[], b float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_similarity(a float4[], b float4[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_similarity(a int4[], b int4[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_similarity(a int8[], b int8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_similarity(a numeric[], b numeric[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dot_product(a float8[], b float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dot_product(a float4[], b float4[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dot_product(a int4[], b int4[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dot_product(a int8[], b int8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dot_product(a numeric[], b numeric[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_norm(a float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(a float4[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(a int4[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(a int8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(a numeric[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.cosine_similarity(float8[], float8[]) IS
'cosine similarity of two equal-length vectors, in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.cosine_similarity(float4[], float4[]) IS
'cosine similarity of two equal-length vectors (double sums), in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.cosine_similarity(int4[], int4[]) IS
'cosine similarity of two equal-length integer vectors, in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.cosine_similarity(int8[], int8[]) IS
'cosine similarity of two equal-length bigint vectors (as double), in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.cosine_similarity(numeric[], numeric[]) IS
'cosine similarity of two equal-length numeric vectors (as double), in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.dot_product(float8[], float8[]) IS
'dot product of two equal-length vectors; error if it overflows double precision';
COMMENT ON FUNCTION @extschema@.dot_product(float4[], float4[]) IS
'dot product of two equal-length vectors, summed in double precision';
COMMENT ON FUNCTION @extschema@.dot_product(int4[], int4[]) IS
'dot product of two equal-length integer vectors, as double precision';
COMMENT ON FUNCTION @extschema@.dot_product(int8[], int8[]) IS
'dot product of two equal-length bigint vectors, as double precision';
COMMENT ON FUNCTION @extschema@.dot_product(numeric[], numeric[]) IS
'dot product of two equal-length numeric vectors, as double precision';
COMMENT ON FUNCTION @extschema@.vector_norm(float8[]) IS
'Euclidean (L2) norm of a vector, overflow-safe; 0 for an empty vector';
COMMENT ON FUNCTION @extschema@.vector_norm(float4[]) IS
'Euclidean (L2) norm of a vector, summed in double precision; 0 for an empty vector';
COMMENT ON FUNCTION @extschema@.vector_norm(int4[]) IS
'Euclidean (L2) norm of an integer vector; 0 for an empty vector';
COMMENT ON FUNCTION @extschema@.vector_norm(int8[]) IS
'Euclidean (L2) norm of a bigint vector; 0 for an empty vector';
COMMENT ON FUNCTION @extschema@.vector_norm(numeric[]) IS
'Euclidean (L2) norm of a numeric vector (as double); 0 for an empty vector';

-- cosine_agg(x, y): cosine of the vectors formed by paired values; a NULL on
-- one side is 0 (an unmatched row of a FULL JOIN).  State float8[5] holds the
-- scaled sums {sx, qx, sy, qy, d} of rp_cos_acc.
CREATE FUNCTION @extschema@.cosine_agg_transfn(state float8[], x float8, y float8)
RETURNS float8[]
AS 'MODULE_PATHNAME', 'recpromo_cosine_agg_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_agg_combinefn(state1 float8[], state2 float8[])
RETURNS float8[]
AS 'MODULE_PATHNAME', 'recpromo_cosine_agg_combinefn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_agg_finalfn(state float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_cosine_agg_finalfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.cosine_agg(x float8, y float8) (
    SFUNC = @extschema@.cosine_agg_transfn,
    STYPE = float8[],
    FINALFUNC = @extschema@.cosine_agg_finalfn,
    COMBINEFUNC = @extschema@.cosine_agg_combinefn,
    INITCOND = '{0,0,0,0,0}',
    PARALLEL = SAFE
);

COMMENT ON FUNCTION @extschema@.cosine_agg_transfn(float8[], float8, float8) IS
'transition function of cosine_agg (scaled sums; NULL input counts as 0)';
COMMENT ON FUNCTION @extschema@.cosine_agg_combinefn(float8[], float8[]) IS
'combine function of cosine_agg (merges two partial states)';
COMMENT ON FUNCTION @extschema@.cosine_agg_finalfn(float8[]) IS
'final function of cosine_agg (cosine of the accumulated vectors)';
COMMENT ON AGGREGATE @extschema@.cosine_agg(float8, float8) IS
'cosine similarity of the vectors of paired values x and y; NULL counts as 0; 0 for zero vectors or no rows; parallel-safe';

-- ---------------------------------------------------------------------------
-- svec: sparse vector, text form '{index:value,...}'.
-- ---------------------------------------------------------------------------
CREATE TYPE @extschema@.svec;

CREATE FUNCTION @extschema@.svec_in(cstring) RETURNS @extschema@.svec
AS 'MODULE_PATHNAME', 'recpromo_svec_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_out(@extschema@.svec) RETURNS cstring
AS 'MODULE_PATHNAME', 'recpromo_svec_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_recv(internal) RETURNS @extschema@.svec
AS 'MODULE_PATHNAME', 'recpromo_svec_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_send(@extschema@.svec) RETURNS bytea
AS 'MODULE_PATHNAME', 'recpromo_svec_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.svec (
    INPUT = @extschema@.svec_in,
    OUTPUT = @extschema@.svec_out,
    RECEIVE = @extschema@.svec_recv,
    SEND = @extschema@.svec_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.svec IS
'sparse vector: sorted unique bigint indices with non-zero finite float8 values, text form {index:value,...}';

COMMENT ON FUNCTION @extschema@.svec_in(cstring) IS 'text input of svec';
COMMENT ON FUNCTION @extschema@.svec_out(@extschema@.svec) IS 'text output of svec';
COMMENT ON FUNCTION @extschema@.svec_recv(internal) IS 'binary input of svec';
COMMENT ON FUNCTION @extschema@.svec_send(@extschema@.svec) IS 'binary output of svec';

CREATE FUNCTION @extschema@.svec(indices bigint[], vals float8[]) RETURNS @extschema@.svec
AS 'MODULE_PATHNAME', 'recpromo_svec'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.svec(bigint[], float8[]) IS
'sparse vector from parallel arrays of indices and values (any order, unique indices; zeros dropped)';

CREATE FUNCTION @extschema@.svec_indices(v @extschema@.svec) RETURNS bigint[]
AS 'MODULE_PATHNAME', 'recpromo_svec_indices'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.svec_indices(@extschema@.svec) IS
'indices of the non-zeros, increasing';

CREATE FUNCTION @extschema@.svec_values(v @extschema@.svec) RETURNS float8[]
AS 'MODULE_PATHNAME', 'recpromo_svec_values'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.svec_values(@extschema@.svec) IS
'values of the non-zeros, in index order';

CREATE FUNCTION @extschema@.svec_nnz(v @extschema@.svec) RETURNS integer
AS 'MODULE_PATHNAME', 'recpromo_svec_nnz'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.svec_nnz(@extschema@.svec) IS
'number of non-zeros';

CREATE FUNCTION @extschema@.cosine_similarity(a @extschema@.svec, b @extschema@.svec) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_svec_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cosine_similarity(@extschema@.svec, @extschema@.svec) IS
'cosine similarity of two sparse vectors (one merge, linear in the non-zeros); 0 when either is empty';

CREATE FUNCTION @extschema@.dot_product(a @extschema@.svec, b @extschema@.svec) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_svec_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dot_product(@extschema@.svec, @extschema@.svec) IS
'dot product of two sparse vectors over their common indices';

CREATE FUNCTION @extschema@.vector_norm(a @extschema@.svec) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_svec_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.vector_norm(@extschema@.svec) IS
'Euclidean (L2) norm of a sparse vector; 0 for the empty vector';

-- svec_agg(index, value): one sparse vector per group; repeated indices are
-- summed, rows with a NULL index or value skipped, NULL for no usable row.
CREATE FUNCTION @extschema@.svec_agg_transfn(state internal, idx bigint, val float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_agg_combinefn(state1 internal, state2 internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_agg_serialfn(state internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_agg_deserialfn(data bytea, dummy internal) RETURNS internal
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_agg_finalfn(state internal) RETURNS @extschema@.svec
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.svec_agg(idx bigint, val float8) (
    SFUNC = @extschema@.svec_agg_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.svec_agg_finalfn,
    COMBINEFUNC = @extschema@.svec_agg_combinefn,
    SERIALFUNC = @extschema@.svec_agg_serialfn,
    DESERIALFUNC = @extschema@.svec_agg_deserialfn,
    PARALLEL = SAFE
);

COMMENT ON FUNCTION @extschema@.svec_agg_transfn(internal, bigint, float8) IS
'transition function of svec_agg';
COMMENT ON FUNCTION @extschema@.svec_agg_combinefn(internal, internal) IS
'combine function of svec_agg';
COMMENT ON FUNCTION @extschema@.svec_agg_serialfn(internal) IS
'serialisation function of svec_agg';
COMMENT ON FUNCTION @extschema@.svec_agg_deserialfn(bytea, internal) IS
'deserialisation function of svec_agg';
COMMENT ON FUNCTION @extschema@.svec_agg_finalfn(internal) IS
'final function of svec_agg';
COMMENT ON AGGREGATE @extschema@.svec_agg(bigint, float8) IS
'sparse vector of (index, value) rows: repeated indices summed, zeros dropped, NULL index or value skipped, NULL when no row is usable';

-- ---------------------------------------------------------------------------
-- Model storage.  A model is one row of recpromo.model plus binary parts in
-- recpromo.model_part.  Every (re)training draws a fresh id from
-- recpromo.model_id_seq, writes the parts under it, then repoints the row by
-- name and deletes the old parts, all in one transaction: a concurrent reader
-- sees the old model or the new one, never a mix, and a failed training
-- leaves the old model in place.  The id is also the serving cache's version.
-- Both tables are extension configuration tables, so pg_dump keeps them.
-- ---------------------------------------------------------------------------
CREATE SEQUENCE @extschema@.model_id_seq;

CREATE TABLE @extschema@.model (
    name          text PRIMARY KEY,
    id            bigint NOT NULL UNIQUE,
    method        text NOT NULL,
    params        jsonb NOT NULL DEFAULT '{}',
    source        text,
    user_col      text,
    item_col      text,
    rating_col    text,
    user_type     regtype,
    item_type     regtype,
    n_users       integer NOT NULL DEFAULT 0,
    n_items       integer NOT NULL DEFAULT 0,
    nnz           bigint NOT NULL DEFAULT 0,
    rows_read     bigint NOT NULL DEFAULT 0,
    rows_skipped  bigint NOT NULL DEFAULT 0,
    train_seconds float8,
    final_loss    float8,
    metrics       jsonb NOT NULL DEFAULT '{}',
    is_default    boolean NOT NULL DEFAULT false,
    trained_by    name NOT NULL DEFAULT current_user,
    trained_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX model_one_default ON @extschema@.model (is_default) WHERE is_default;

CREATE TABLE @extschema@.model_part (
    model_id bigint NOT NULL,
    part     text NOT NULL,
    seq      integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (model_id, part, seq)
);
ALTER TABLE @extschema@.model_part ALTER COLUMN data SET STORAGE EXTERNAL;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.model', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_part', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_id_seq', '');

COMMENT ON TABLE @extschema@.model IS 'trained recpromo models, one row per name (see the models view)';
COMMENT ON TABLE @extschema@.model_part IS 'binary parts (factors, keys, histories) of trained models, chunked';

-- ---------------------------------------------------------------------------
-- Training and model management
-- ---------------------------------------------------------------------------
CREATE VIEW @extschema@.models AS
SELECT m.name, m.method, m.is_default, m.params, m.source, m.user_col, m.item_col, m.rating_col,
       m.user_type, m.item_type, m.n_users, m.n_items, m.nnz, m.rows_read, m.rows_skipped, m.train_seconds, m.final_loss,
       m.metrics,
       (SELECT coalesce(sum(octet_length(p.data)), 0) FROM @extschema@.model_part p
         WHERE p.model_id = m.id)::bigint AS size_bytes,
       m.trained_by, m.trained_at
FROM @extschema@.model m;
COMMENT ON VIEW @extschema@.models IS
'trained models: method, hyper-parameters, source, sizes, training time and final loss';

CREATE FUNCTION @extschema@._train(name text, source regclass, user_col name, item_col name,
                                   rating_col name, method text, params jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_train'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._train(text, regclass, name, name, name, text, jsonb) IS
'internal: use recpromo.train()';

CREATE FUNCTION @extschema@.train(
    name text,
    source regclass,
    user_col name,
    item_col name,
    rating_col name DEFAULT NULL,
    method text DEFAULT 'als',
    factors integer DEFAULT NULL,
    iterations integer DEFAULT NULL,
    regularization float8 DEFAULT NULL,
    alpha float8 DEFAULT NULL,
    neighbours integer DEFAULT NULL,
    seed integer DEFAULT NULL,
    params jsonb DEFAULT '{}')
RETURNS SETOF @extschema@.models
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT @extschema@._train(train.name, train.source, train.user_col, train.item_col,
        train.rating_col, train.method,
        jsonb_strip_nulls(jsonb_build_object(
            'factors', train.factors, 'iterations', train.iterations,
            'regularization', train.regularization, 'alpha', train.alpha,
            'neighbours', train.neighbours, 'seed', train.seed))
        || coalesce(train.params, '{}'));
    SELECT * FROM @extschema@.models m WHERE m.name = train.name;
$$;
COMMENT ON FUNCTION @extschema@.train(text, regclass, name, name, name, text, integer, integer,
    float8, float8, integer, integer, jsonb) IS
'trains (or atomically replaces) a model from any table or view the caller can read; '
'methods: popularity, user_knn, als, als_explicit, ...; method-specific hyper-parameters go in params';

CREATE FUNCTION @extschema@.drop_model(name text, if_exists boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    IF drop_model.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    LOCK TABLE @extschema@.model IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM @extschema@.model m WHERE m.name = drop_model.name RETURNING m.id INTO v_id;
    IF v_id IS NULL THEN
        IF if_exists THEN
            RETURN false;
        END IF;
        RAISE EXCEPTION 'model "%" does not exist', drop_model.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM recpromo.models lists the trained models.';
    END IF;
    DELETE FROM @extschema@.model_part p WHERE p.model_id = v_id;
    RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_model(text, boolean) IS
'removes a model and its stored parts; returns false for a missing model when if_exists';

CREATE FUNCTION @extschema@.set_default_model(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    LOCK TABLE @extschema@.model IN SHARE ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.model m WHERE m.name = set_default_model.name) THEN
        RAISE EXCEPTION 'model "%" does not exist', set_default_model.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM recpromo.models lists the trained models.';
    END IF;
    UPDATE @extschema@.model m SET is_default = false WHERE m.is_default AND m.name <> set_default_model.name;
    UPDATE @extschema@.model m SET is_default = true WHERE m.name = set_default_model.name;
END
$$;
COMMENT ON FUNCTION @extschema@.set_default_model(text) IS
'makes the named model the one used when a serving function is called without model';

-- ---------------------------------------------------------------------------
-- Serving.  Keys passed and returned share the type of the first key
-- argument, so results join the caller's tables without casts.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.recommend(
    user_id anyelement,
    n integer DEFAULT 10,
    model text DEFAULT NULL,
    exclude_seen boolean DEFAULT true,
    only_items "any" DEFAULT NULL,
    exclude_items "any" DEFAULT NULL,
    boosts regclass DEFAULT NULL,
    boost_item_col name DEFAULT 'item_id',
    boost_col name DEFAULT 'weight',
    boost_mode text DEFAULT 'multiply',
    categories regclass DEFAULT NULL,
    category_item_col name DEFAULT 'item_id',
    category_col name DEFAULT 'category',
    max_per_category integer DEFAULT NULL,
    only_categories text[] DEFAULT NULL,
    exclude_categories text[] DEFAULT NULL)
RETURNS TABLE (item anyelement, score float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.recommend(anyelement, integer, text, boolean, "any", "any",
    regclass, name, name, text, regclass, name, name, integer, text[], text[]) IS
'top-n items for a user, best first: skips what the user already interacted with, filters inside the selection, '
'optional boosts (score * weight or score + weight from a table) and category rules (only/never these categories, '
'at most max_per_category per category), folds in users newer than the model, popularity for users with no history';

CREATE FUNCTION @extschema@.recommend_for_items(
    item_ids anyarray,
    n integer DEFAULT 10,
    model text DEFAULT NULL,
    exclude_input boolean DEFAULT true)
RETURNS TABLE (item anyelement, score float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_for_items'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.recommend_for_items(anyarray, integer, text, boolean) IS
'"customers who bought these also bought": top-n items for a basket, scored as a new user who bought the basket';

CREATE FUNCTION @extschema@.similar_items(
    item_id anyelement,
    n integer DEFAULT 10,
    model text DEFAULT NULL)
RETURNS TABLE (item anyelement, similarity float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_similar_items'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.similar_items(anyelement, integer, text) IS
'the n items most similar to an item under the model (empty for an item the model does not know)';

CREATE FUNCTION @extschema@.similar_users(
    user_id anyelement,
    n integer DEFAULT 10,
    model text DEFAULT NULL)
RETURNS TABLE (neighbour anyelement, similarity float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_similar_users'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.similar_users(anyelement, integer, text) IS
'the n users most similar to a user under the model (a new user is folded in from the live table)';

CREATE FUNCTION @extschema@.predict(
    user_id anyelement,
    item_id anyelement,
    model text DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_predict'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict(anyelement, anyelement, text) IS
'the model''s score (or predicted rating) of an item for a user; NULL for an item the model does not know';

CREATE FUNCTION @extschema@.explain_recommendation(
    user_id anyelement,
    item_id anyelement,
    model text DEFAULT NULL)
RETURNS TABLE (history_item anyelement, contribution float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_explain_recommendation'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.explain_recommendation(anyelement, anyelement, text) IS
'the items of the user''s history that drive the score of an item, with their contributions, largest first';
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
-- ---------------------------------------------------------------------------
-- Evaluation: deterministic splits, per-user ranking metrics and the scoring
-- of ranked lists against held-out data (README "Evaluation" has the
-- formulas and conventions).
-- ---------------------------------------------------------------------------

-- Deterministic random split --------------------------------------------------
CREATE FUNCTION @extschema@.split_position(user_key "any", item_key "any", seed bigint DEFAULT 0)
RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_split_position'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.split_position("any", "any", bigint) IS
'position of a (user, item) pair in [0, 1): SplitMix64-finalised FNV-1a hash of the keys'' text forms and the seed; the same on every machine';

CREATE FUNCTION @extschema@.in_test_set(user_key "any", item_key "any", fraction float8, seed bigint DEFAULT 0)
RETURNS boolean
AS 'MODULE_PATHNAME', 'recpromo_in_test_set'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.in_test_set("any", "any", float8, bigint) IS
'true for the (user, item) pairs of a deterministic random test split: split_position(user, item, seed) < fraction; usable in views and indexes';

-- Internal: type of a column of a relation, with a clear error when absent.
CREATE FUNCTION @extschema@._eval_column_type(rel regclass, col name, what text)
RETURNS regtype
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regtype;
BEGIN
    IF col IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', what
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name a column of ' || rel::text || '.';
    END IF;
    SELECT a.atttypid::regtype INTO t
      FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF t IS NULL THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', col, rel::text
            USING ERRCODE = 'undefined_column',
                  HINT = 'Check the ' || what || ' argument.';
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION @extschema@._eval_column_type(regclass, name, text) IS
'internal: type of a column, raising undefined_column when it does not exist';

-- Internal: type category of a (possibly domain) type, 'N' numeric, 'S' string...
CREATE FUNCTION @extschema@._eval_type_category(t regtype)
RETURNS "char"
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.typcategory
      FROM pg_type b
     WHERE b.oid = (SELECT CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END
                      FROM pg_type d WHERE d.oid = t)
$$;
COMMENT ON FUNCTION @extschema@._eval_type_category(regtype) IS
'internal: pg_type.typcategory of a type or of a domain''s base type';

-- Per-user time-based split -----------------------------------------------------
CREATE FUNCTION @extschema@.time_split(
    source anyelement,
    user_col name,
    time_col name,
    holdout integer DEFAULT NULL,
    after timestamptz DEFAULT NULL)
RETURNS TABLE (rec anyelement, is_test boolean)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $$
DECLARE
    rel regclass;
    time_type regtype;
    n integer := coalesce(holdout, 1);
    a text := 'src';
BEGIN
    SELECT t.typrelid::regclass INTO rel
      FROM pg_catalog.pg_type t
     WHERE t.oid = pg_catalog.pg_typeof(source) AND t.typrelid <> 0;
    IF rel IS NULL THEN
        RAISE EXCEPTION 'source must be a row of a table or view, not %', pg_catalog.pg_typeof(source)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Pass a typed NULL such as NULL::orders.';
    END IF;
    PERFORM @extschema@._eval_column_type(rel, user_col, 'user_col');
    time_type := @extschema@._eval_column_type(rel, time_col, 'time_col');
    -- the whole-row alias must not be the name of a column
    WHILE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute c
                   WHERE c.attrelid = rel AND c.attname = a AND NOT c.attisdropped) LOOP
        a := a || '_';
    END LOOP;
    IF holdout IS NOT NULL AND after IS NOT NULL THEN
        RAISE EXCEPTION 'holdout and after cannot both be given'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Hold out each user''s last interactions (holdout) or everything after a date (after).';
    END IF;
    IF n < 1 THEN
        RAISE EXCEPTION 'holdout must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'holdout counts each user''s latest distinct times held out.';
    END IF;
    IF after IS NOT NULL THEN
        IF after IN ('infinity', '-infinity') THEN
            RAISE EXCEPTION 'after must be a finite time'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass the cut-off date, such as ''2011-09-01''.';
        END IF;
        IF time_type NOT IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) THEN
            RAISE EXCEPTION 'time_col must be a date or timestamp to split by after, not %', time_type
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use holdout, which works with any ordered type.';
        END IF;
        RETURN QUERY EXECUTE format(
            'SELECT %4$I, CASE WHEN %4$I.%1$I IS NULL OR %4$I.%2$I IS NULL THEN NULL
                               ELSE %4$I.%2$I::timestamptz > $1 END
               FROM %3$s %4$I', user_col, time_col, rel, a)
            USING after;
    ELSE
        -- d_desc: 1 for the user's latest time; d_desc + d_asc - 1 is the
        -- user's number of distinct times.  Rows without a time form their
        -- own partition so that they never shift the ranks.
        RETURN QUERY EXECUTE format(
            'SELECT s.r, CASE WHEN s.u_null OR s.t_null THEN NULL
                              ELSE s.d_desc <= $1 AND s.d_desc + s.d_asc - 1 > $1 END
               FROM (SELECT %4$I AS r, %4$I.%1$I IS NULL AS u_null, %4$I.%2$I IS NULL AS t_null,
                            dense_rank() OVER (PARTITION BY %4$I.%1$I, %4$I.%2$I IS NULL ORDER BY %4$I.%2$I DESC) AS d_desc,
                            dense_rank() OVER (PARTITION BY %4$I.%1$I, %4$I.%2$I IS NULL ORDER BY %4$I.%2$I) AS d_asc
                       FROM %3$s %4$I) s', user_col, time_col, rel, a)
            USING n;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.time_split(anyelement, name, name, integer, timestamptz) IS
'every row of a table or view (pass NULL::name) with is_test: the rows at each user''s last holdout distinct times (users keep at least one training time), or the rows after a date; NULL user or time gives NULL';

-- Per-user ranking metrics --------------------------------------------------------
CREATE FUNCTION @extschema@.ranking_metrics(
    ranks float8[],
    relevant boolean[],
    n_relevant integer,
    k integer DEFAULT 10,
    OUT hits float8,
    OUT "precision" float8,
    OUT recall float8,
    OUT f1 float8,
    OUT ndcg float8,
    OUT average_precision float8,
    OUT hit float8,
    OUT reciprocal_rank float8)
RETURNS record
AS 'MODULE_PATHNAME', 'recpromo_ranking_metrics'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ranking_metrics(float8[], boolean[], integer, integer) IS
'one user''s ranked list scored at k: ranks ascending (equal ranks are ties, scored by expectation), relevance flags, and the size of the user''s relevant set';

-- Scoring any ranked lists against a test table ---------------------------------
CREATE FUNCTION @extschema@.evaluate_rankings(
    recommendations regclass,
    test regclass,
    user_col name DEFAULT 'user_id',
    item_col name DEFAULT 'item_id',
    rank_col name DEFAULT 'rank',
    k integer DEFAULT 10,
    rating_col name DEFAULT NULL,
    relevance_threshold float8 DEFAULT NULL,
    train regclass DEFAULT NULL)
RETURNS TABLE (
    model_name text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k float8,
    recall_at_k float8,
    f1_at_k float8,
    ndcg_at_k float8,
    map_at_k float8,
    hit_rate_at_k float8,
    mrr_at_k float8,
    coverage float8,
    popularity_recommended float8,
    popularity_catalogue float8,
    popularity_bias float8,
    rmse float8,
    mae float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $$
#variable_conflict use_variable
DECLARE
    cut integer := k;
    rel_expr text := 'true';
    cat_sql text := 'NULL::float8 AS cov, NULL::float8 AS prec, NULL::float8 AS pcat';
    dup record;
    bad boolean;
BEGIN
    IF recommendations IS NULL OR test IS NULL THEN
        RAISE EXCEPTION 'recommendations and test must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the table of ranked lists and the table of held-out interactions.';
    END IF;
    IF cut IS NULL OR cut < 1 THEN
        RAISE EXCEPTION 'k must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'k is the length of the ranked lists to score, such as 10.';
    END IF;
    IF @extschema@._eval_type_category(@extschema@._eval_column_type(test, user_col, 'user_col'))
       <> @extschema@._eval_type_category(@extschema@._eval_column_type(recommendations, user_col, 'user_col'))
    OR @extschema@._eval_type_category(@extschema@._eval_column_type(test, item_col, 'item_col'))
       <> @extschema@._eval_type_category(@extschema@._eval_column_type(recommendations, item_col, 'item_col')) THEN
        RAISE EXCEPTION 'user and item columns of % and % have incompatible types', recommendations, test
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Use keys of the same type in both tables, or a view that casts them.';
    END IF;
    IF @extschema@._eval_type_category(@extschema@._eval_column_type(recommendations, rank_col, 'rank_col')) <> 'N' THEN
        RAISE EXCEPTION 'rank column "%" must be numeric', rank_col
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Ranks are ascending numbers; equal ranks are ties.';
    END IF;
    IF relevance_threshold IS NOT NULL THEN
        IF rating_col IS NULL THEN
            RAISE EXCEPTION 'relevance_threshold needs rating_col'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name the test column holding ratings or quantities.';
        END IF;
        IF relevance_threshold IN ('NaN', 'Infinity', '-Infinity') THEN
            RAISE EXCEPTION 'relevance_threshold must be finite'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass for instance 4 to count ratings of 4 and above as relevant.';
        END IF;
    END IF;
    IF rating_col IS NOT NULL THEN
        IF @extschema@._eval_type_category(@extschema@._eval_column_type(test, rating_col, 'rating_col')) <> 'N' THEN
            RAISE EXCEPTION 'rating column "%" must be numeric', rating_col
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Ratings, quantities or counts are compared with relevance_threshold.';
        END IF;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s t WHERE t.%I::float8 IN (''NaN'', ''Infinity'', ''-Infinity''))',
                       test, rating_col) INTO bad;
        IF bad THEN
            RAISE EXCEPTION 'rating column "%" of % contains NaN or infinite values', rating_col, test
                USING ERRCODE = 'data_exception',
                      HINT = 'Filter those rows out with a view.';
        END IF;
        IF relevance_threshold IS NOT NULL THEN
            rel_expr := format('coalesce(sum(t.%I::float8) >= $1, false)', rating_col);
        END IF;
    END IF;
    IF train IS NOT NULL THEN
        IF @extschema@._eval_type_category(@extschema@._eval_column_type(train, item_col, 'item_col'))
           <> @extschema@._eval_type_category(@extschema@._eval_column_type(recommendations, item_col, 'item_col')) THEN
            RAISE EXCEPTION 'item columns of % and % have incompatible types', recommendations, train
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use keys of the same type in both tables, or a view that casts them.';
        END IF;
        PERFORM @extschema@._eval_column_type(train, user_col, 'user_col');
        cat_sql := format(
            $q$(SELECT count(*) FILTER (WHERE e.x > 0)::float8 / nullif((SELECT count(*) FROM pop), 0)
                  FROM ex e JOIN pop p ON p.i = e.i) AS cov,
               (SELECT sum(e.x * coalesce(p.p, 0)) / nullif(sum(e.x), 0)
                  FROM ex e LEFT JOIN pop p ON p.i = e.i) AS prec,
               (SELECT avg(p.p)::float8 FROM pop p) AS pcat$q$);
    END IF;

    EXECUTE format('SELECT r.%1$I::text AS u, r.%2$I::text AS i FROM %3$s r
                     WHERE r.%1$I IS NOT NULL AND r.%2$I IS NOT NULL AND r.%4$I IS NOT NULL
                     GROUP BY r.%1$I, r.%2$I HAVING count(*) > 1 LIMIT 1',
                   user_col, item_col, recommendations, rank_col) INTO dup;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s r WHERE r.%I::float8 IN (''NaN'', ''Infinity'', ''-Infinity''))',
                   recommendations, rank_col) INTO bad;
    IF bad THEN
        RAISE EXCEPTION 'rank column "%" of % contains NaN or infinite values', rank_col, recommendations
            USING ERRCODE = 'data_exception',
                  HINT = 'Ranks must be finite; filter those rows out with a view.';
    END IF;
    IF dup.u IS NOT NULL THEN
        RAISE EXCEPTION 'item % appears more than once in the ranking of user %', dup.i, dup.u
            USING ERRCODE = 'data_exception',
                  HINT = 'Keep one row per user and item in ' || recommendations::text || '.';
    END IF;

    RETURN QUERY EXECUTE format($q$
        WITH t AS (
            SELECT t.%1$I AS u, t.%2$I AS i, %4$s AS rel
              FROM %5$s t
             WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL
             GROUP BY 1, 2),
        tu AS (
            SELECT t.u, count(*) FILTER (WHERE t.rel) AS n_rel FROM t GROUP BY t.u),
        rw AS (
            SELECT s.u, s.i, s.rk,
                   greatest(0, least(s.m, $2 - s.start + 1))::float8 / s.m AS w
              FROM (SELECT r.%1$I AS u, r.%2$I AS i, r.%3$I::float8 AS rk,
                           rank() OVER (PARTITION BY r.%1$I ORDER BY r.%3$I::float8) AS start,
                           count(*) OVER (PARTITION BY r.%1$I, r.%3$I::float8) AS m
                      FROM %6$s r
                     WHERE r.%2$I IS NOT NULL AND r.%3$I IS NOT NULL
                       AND r.%1$I IN (SELECT tu.u FROM tu WHERE tu.n_rel > 0)) s
             WHERE s.start <= $2),
        pu AS (
            SELECT rw.u, min(tu.n_rel)::integer AS n_rel,
                   array_agg(rw.rk) AS ranks, array_agg(coalesce(t.rel, false)) AS rels
              FROM rw JOIN tu ON tu.u = rw.u
                      LEFT JOIN t ON t.u = rw.u AND t.i = rw.i
             GROUP BY rw.u),
        m AS (
            SELECT x.* FROM pu, LATERAL @extschema@.ranking_metrics(pu.ranks, pu.rels, pu.n_rel, $2) x),
        ex AS (
            SELECT rw.i, sum(rw.w) AS x FROM rw GROUP BY rw.i),
        pop AS (%7$s),
        cat AS (SELECT %8$s),
        agg AS (
            SELECT count(*) AS n, avg(m."precision") AS p, avg(m.recall) AS r, avg(m.f1) AS f1,
                   avg(m.ndcg) AS ndcg, avg(m.average_precision) AS ap, avg(m.hit) AS hit,
                   avg(m.reciprocal_rank) AS rr
              FROM m),
        cnt AS (
            SELECT count(*) FILTER (WHERE tu.n_rel = 0) AS no_test,
                   count(*) FILTER (WHERE tu.n_rel > 0) AS with_test
              FROM tu)
        SELECT $3::text, agg.n, cnt.no_test, cnt.with_test - agg.n,
               agg.p, agg.r, agg.f1, agg.ndcg, agg.ap, agg.hit, agg.rr,
               cat.cov, cat.prec, cat.pcat, cat.prec / nullif(cat.pcat, 0),
               NULL::float8, NULL::float8
          FROM agg, cnt, cat$q$,
        user_col, item_col, rank_col, rel_expr, test, recommendations,
        CASE WHEN train IS NULL THEN 'SELECT NULL::float8 AS i, 0::bigint AS p'
             ELSE format('SELECT x.%2$I AS i, count(DISTINCT x.%1$I) AS p FROM %3$s x
                           WHERE x.%1$I IS NOT NULL AND x.%2$I IS NOT NULL GROUP BY 1',
                         user_col, item_col, train) END,
        cat_sql)
        USING relevance_threshold, cut, recommendations::text;
END
$$;
COMMENT ON FUNCTION @extschema@.evaluate_rankings(regclass, regclass, name, name, name, integer, name, float8, regclass) IS
'scores any table of ranked lists (user, item, rank) against a test table at k: precision, recall, F1, NDCG, MAP, hit rate, MRR, and with train given coverage and popularity bias; one row';

-- Scoring a trained model against held-out interactions --------------------------
CREATE FUNCTION @extschema@.evaluate(
    model text,
    test_source regclass,
    user_col name DEFAULT 'user_id',
    item_col name DEFAULT 'item_id',
    rating_col name DEFAULT NULL,
    k integer DEFAULT 10,
    relevance_threshold float8 DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (
    model_name text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k float8,
    recall_at_k float8,
    f1_at_k float8,
    ndcg_at_k float8,
    map_at_k float8,
    hit_rate_at_k float8,
    mrr_at_k float8,
    coverage float8,
    popularity_recommended float8,
    popularity_catalogue float8,
    popularity_bias float8,
    rmse float8,
    mae float8)
AS 'MODULE_PATHNAME', 'recpromo_evaluate'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1;
COMMENT ON FUNCTION @extschema@.evaluate(text, regclass, name, name, name, integer, float8, boolean) IS
'scores a trained model (NULL: the default) against a test table: each test user''s top k as recommend() serves it (training items excluded), ranking metrics, coverage, popularity bias, and RMSE/MAE for models trained on ratings; one row';

-- ---------------------------------------------------------------------------
-- Neighbourhoods, content and hybrids: convenience wrappers of train() for
-- the methods whose inputs are more than hyper-parameters.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.train_content(
    name text,
    source regclass,
    user_col name,
    item_col name,
    attributes regclass,
    attribute_columns name[],
    attribute_key name DEFAULT NULL,
    rating_col name DEFAULT NULL,
    buckets integer DEFAULT 5,
    words boolean DEFAULT true)
RETURNS SETOF @extschema@.models
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM @extschema@.train(train_content.name, train_content.source,
        train_content.user_col, train_content.item_col, train_content.rating_col,
        method => 'content',
        params => jsonb_build_object(
            'attributes', (SELECT format('%I.%I', n.nspname, c.relname)
                             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE c.oid = train_content.attributes),
            'attribute_key', coalesce(train_content.attribute_key, train_content.item_col),
            'attribute_columns', to_jsonb(train_content.attribute_columns::text[]),
            'buckets', train_content.buckets,
            'words', train_content.words));
$$;
COMMENT ON FUNCTION @extschema@.train_content(text, regclass, name, name, regclass, name[], name,
    name, integer, boolean) IS
'trains a content model: TF-IDF vectors of item attributes (text values and their words, array '
'elements, numeric quantile bands) matched against profiles built from what each user bought; '
'items that only appear in the attribute table are recommendable at once';

CREATE FUNCTION @extschema@.train_hybrid(
    name text,
    first_model text,
    second_model text,
    weight float8 DEFAULT 0.5,
    min_history integer DEFAULT 5)
RETURNS SETOF @extschema@.models
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
BEGIN
    IF train_hybrid.first_model IS NULL OR train_hybrid.second_model IS NULL THEN
        RAISE EXCEPTION 'first_model and second_model must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO m FROM @extschema@.model WHERE model.name = train_hybrid.first_model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', train_hybrid.first_model
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM recpromo.models lists the trained models.';
    END IF;
    IF m.source IS NULL OR to_regclass(m.source) IS NULL THEN
        RAISE EXCEPTION 'the source of model "%" no longer exists', train_hybrid.first_model
            USING ERRCODE = 'undefined_table',
                  HINT = 'Use recpromo.train() with method => ''hybrid'' and a source.';
    END IF;
    RETURN QUERY SELECT * FROM @extschema@.train(train_hybrid.name, to_regclass(m.source),
        m.user_col::name, m.item_col::name, m.rating_col::name, method => 'hybrid',
        params => jsonb_build_object(
            'models', jsonb_build_array(train_hybrid.first_model, train_hybrid.second_model),
            'weight', train_hybrid.weight, 'min_history', train_hybrid.min_history));
END
$$;
COMMENT ON FUNCTION @extschema@.train_hybrid(text, text, text, float8, integer) IS
'trains a hybrid of two models on the first one''s source: score = a * first + (1 - a) * second, '
'each scaled by its largest score for the user, with a = weight * min(1, purchases / min_history) '
'* min(1, item buyers / min_history), so the second model (e.g. content) takes over for new '
'customers and new products';
-- ---------------------------------------------------------------------------
-- Promotion analytics: customer profiles (RFM, category affinity, k-means
-- segments), propensity (logistic regression), uplift (two-model and class
-- transformation, Qini/AUUC with bootstrap intervals, balance check) and
-- offer assignment under a budget.
--
-- The PL/pgSQL functions below read the caller's tables with the caller's
-- privileges (no SECURITY DEFINER) and build SQL only from regclass text,
-- format('%I') identifiers and format('%L') literals; values read from
-- tables never become SQL text except float8 coefficients of a stored model,
-- written with their exact shortest text form.  The numeric work is done in
-- C (src/core/rp_logreg.c, rp_kmeans.c, rp_uplift.c, rp_assign.c) through
-- the internal functions whose names start with an underscore: they take
-- whole columns as arrays.  Definitions, conventions and errors are in the
-- README section "Customer profiles and promotions".
-- ---------------------------------------------------------------------------

-- Internal C entry points --------------------------------------------------

CREATE FUNCTION @extschema@._promo_fit(kind text, x float8[], y float8[], w float8[],
    lambda float8, free_col integer, max_iter integer, tol float8,
    OUT coef float8[], OUT iterations integer, OUT converged boolean, OUT loss float8)
AS 'MODULE_PATHNAME', 'recpromo__promo_fit'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._promo_fit(text, float8[], float8[], float8[], float8, integer, integer, float8) IS
'internal: fits a logistic (Newton/IRLS) or ridge model on a design matrix given as a 2-D array';

CREATE FUNCTION @extschema@._kmeans_fit(x float8[], k integer, seed bigint, max_iter integer,
    OUT assign integer[], OUT centres float8[], OUT sizes bigint[], OUT inertia float8,
    OUT iterations integer, OUT converged boolean)
AS 'MODULE_PATHNAME', 'recpromo__kmeans_fit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._kmeans_fit(float8[], integer, bigint, integer) IS
'internal: seeded k-means++ / Lloyd clustering of the rows of a 2-D array';

CREATE FUNCTION @extschema@._uplift_metrics(score float8[], treated boolean[], outcome float8[],
    k_percent float8, n_boot integer, seed bigint, confidence float8)
RETURNS TABLE (metric text, value float8, ci_low float8, ci_high float8)
AS 'MODULE_PATHNAME', 'recpromo__uplift_metrics'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION @extschema@._uplift_metrics(float8[], boolean[], float8[], float8, integer, bigint, float8) IS
'internal: Qini coefficient, AUUC, uplift@k and ATE with percentile bootstrap intervals';

CREATE FUNCTION @extschema@._uplift_curve(score float8[], treated boolean[], outcome float8[],
    points integer)
RETURNS TABLE (fraction float8, qini float8, uplift float8)
AS 'MODULE_PATHNAME', 'recpromo__uplift_curve'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._uplift_curve(float8[], boolean[], float8[], integer) IS
'internal: the Qini and uplift curves sampled at points equally spaced fractions';

CREATE FUNCTION @extschema@._assign_run(customer text[], offer text[], value float8[],
    cost float8[], limit_offers text[], limit_counts bigint[], budget float8)
RETURNS TABLE (customer text, offer text, value float8, cost float8, profit float8,
               total_customers bigint, total_spent float8, total_profit float8, upper_bound float8)
AS 'MODULE_PATHNAME', 'recpromo__assign_run'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._assign_run(text[], text[], float8[], float8[], text[], bigint[], float8) IS
'internal: greedy offer assignment for one budget over candidate columns';

CREATE FUNCTION @extschema@._assign_curve(customer text[], offer text[], value float8[],
    cost float8[], limit_offers text[], limit_counts bigint[], budgets float8[])
RETURNS TABLE (budget float8, customers bigint, spent float8, profit float8, upper_bound float8)
AS 'MODULE_PATHNAME', 'recpromo__assign_curve'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._assign_curve(text[], text[], float8[], float8[], text[], bigint[], float8[]) IS
'internal: greedy offer assignment for each budget of a list';

-- Small helpers -------------------------------------------------------------

-- Logistic function, computed without overflow (C: rp_sigmoid).
CREATE FUNCTION @extschema@.sigmoid(t float8) RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_sigmoid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sigmoid(float8) IS
'logistic function 1 / (1 + exp(-t)), computed without overflow';

-- Type of a column of a table, or an undefined_column error naming its role.
CREATE FUNCTION @extschema@._promo_coltype(source regclass, col name, role text)
RETURNS regtype
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    t regtype;
BEGIN
    IF source IS NULL THEN
        RAISE EXCEPTION 'source table must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF col IS NULL THEN
        RAISE EXCEPTION '% must not be null', role
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name a column of ' || source::text || '.';
    END IF;
    SELECT a.atttypid::regtype INTO t
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF t IS NULL THEN
        RAISE EXCEPTION 'column "%" of % does not exist', col, source::text
            USING ERRCODE = 'undefined_column',
                  HINT = format('The %s must name a column of the source table.', role);
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_coltype(regclass, name, text) IS
'internal: type of a column, or an undefined_column error';

-- SQL expression reading a numeric or boolean column as float8.
CREATE FUNCTION @extschema@._promo_num(source regclass, col name, role text)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    t regtype := @extschema@._promo_coltype(source, col, role);
BEGIN
    IF t = 'boolean'::regtype THEN
        RETURN format('((%I)::int::float8)', col);
    ELSIF t IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'real'::regtype,
                'double precision'::regtype, 'numeric'::regtype) THEN
        RETURN format('((%I)::float8)', col);
    END IF;
    RAISE EXCEPTION 'column "%" of % has type %, expected a number or boolean', col, source::text, t
        USING ERRCODE = 'datatype_mismatch',
              HINT = format('The %s must be a number or boolean column.', role);
END
$$;
COMMENT ON FUNCTION @extschema@._promo_num(regclass, name, text) IS
'internal: float8 expression of a numeric or boolean column, or a datatype_mismatch error';

-- Feature specification: numeric columns (centred and scaled when
-- standardize) and one-hot levels of categorical columns (the first level in
-- sort order is the reference and gets no column).  Missing, non-finite and
-- constant features raise errors.
CREATE FUNCTION @extschema@._promo_feature_spec(source regclass, features name[],
    categorical name[], standardize boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    spec jsonb := '[]';
    exprs text[] := '{}';
    stats float8[];
    q text := '';
    col name;
    i int := 0;
    nnull bigint;
    levels text[];
BEGIN
    IF coalesce(cardinality(features), 0) + coalesce(cardinality(categorical), 0) = 0 THEN
        RAISE EXCEPTION 'no features given'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass numeric columns in features and text columns in categorical.';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(coalesce(features, '{}') || coalesce(categorical, '{}')) c
               GROUP BY c HAVING count(*) > 1) THEN
        RAISE EXCEPTION 'a feature is listed twice'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH col IN ARRAY coalesce(features, '{}') LOOP
        exprs := exprs || @extschema@._promo_num(source, col, 'feature');
        q := q || format(', count(*) FILTER (WHERE %1$s IS NULL), avg(%1$s), stddev_pop(%1$s), min(%1$s), max(%1$s)',
                         exprs[cardinality(exprs)]);
    END LOOP;
    IF q <> '' THEN
        EXECUTE format('SELECT ARRAY[count(*)::float8%s] FROM %s', q, source) INTO stats;
        IF stats[1] = 0 THEN
            RAISE EXCEPTION 'source % has no rows', source::text
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOREACH col IN ARRAY features LOOP
            i := i + 1;
            IF stats[5 * i - 3] > 0 THEN
                RAISE EXCEPTION 'feature "%" has % missing values', col, stats[5 * i - 3]::bigint
                    USING ERRCODE = 'null_value_not_allowed',
                          HINT = 'Impute or filter the NULL values first (for instance with a view).';
            END IF;
            IF stats[5 * i - 1] IN ('NaN', 'Infinity', '-Infinity')
               OR stats[5 * i] IN ('NaN', 'Infinity', '-Infinity')
               OR stats[5 * i + 1] IN ('NaN', 'Infinity', '-Infinity') THEN
                RAISE EXCEPTION 'feature "%" has NaN or infinite values', col
                    USING ERRCODE = 'data_exception',
                          HINT = 'Filter out the non-finite values first.';
            END IF;
            IF stats[5 * i] = stats[5 * i + 1] THEN
                RAISE EXCEPTION 'feature "%" is constant', col
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = format('Every row has the value %s.', stats[5 * i]),
                          HINT = 'Drop the column from the features: it carries no information.';
            END IF;
            spec := spec || jsonb_build_object(
                'column', col, 'kind', 'numeric',
                'bool', (@extschema@._promo_coltype(source, col, 'feature') = 'boolean'::regtype),
                'center', CASE WHEN standardize THEN stats[5 * i - 2] ELSE 0 END,
                'scale', CASE WHEN standardize THEN stats[5 * i - 1] ELSE 1 END);
        END LOOP;
    END IF;
    FOREACH col IN ARRAY coalesce(categorical, '{}') LOOP
        PERFORM @extschema@._promo_coltype(source, col, 'categorical feature');
        EXECUTE format('SELECT count(*) FILTER (WHERE %1$I IS NULL), array_agg(DISTINCT (%1$I)::text) FILTER (WHERE %1$I IS NOT NULL) FROM %2$s',
                       col, source) INTO nnull, levels;
        IF nnull > 0 THEN
            RAISE EXCEPTION 'feature "%" has % missing values', col, nnull
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = 'Map NULL to a level of its own (coalesce) or filter the rows.';
        END IF;
        IF coalesce(cardinality(levels), 0) < 2 THEN
            RAISE EXCEPTION 'feature "%" is constant', col
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A categorical feature needs at least two levels.';
        END IF;
        IF cardinality(levels) > 1000 THEN
            RAISE EXCEPTION 'feature "%" has % levels, the limit is 1000', col, cardinality(levels)
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Group rare levels together first.';
        END IF;
        FOR i IN 2 .. cardinality(levels) LOOP
            spec := spec || jsonb_build_object('column', col, 'kind', 'level', 'level', levels[i]);
        END LOOP;
    END LOOP;
    RETURN spec;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_feature_spec(regclass, name[], name[], boolean) IS
'internal: feature encoding (centre/scale of numeric columns, one-hot levels) with input checks';

-- The SQL expression of one encoded feature.
CREATE FUNCTION @extschema@._promo_feature_sql(f jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN f->>'kind' = 'level'
            THEN format('(((%I)::text = %L)::int::float8)', f->>'column', f->>'level')
            ELSE format('((((%I)%s::float8) - (%s)::float8) / (%s)::float8)', f->>'column',
                        CASE WHEN (f->>'bool')::boolean THEN '::int' ELSE '' END,
                        (f->>'center')::float8, (f->>'scale')::float8) END;
COMMENT ON FUNCTION @extschema@._promo_feature_sql(jsonb) IS
'internal: SQL expression of an encoded feature';

-- ARRAY[1, feature_1, ...]: one design-matrix row.
CREATE FUNCTION @extschema@._promo_design_sql(spec jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN 'ARRAY[1::float8' || coalesce((SELECT string_agg(', ' || @extschema@._promo_feature_sql(f), '' ORDER BY i)
                                      FROM jsonb_array_elements(spec) WITH ORDINALITY e(f, i)), '') || ']';
COMMENT ON FUNCTION @extschema@._promo_design_sql(jsonb) IS
'internal: SQL expression of one design-matrix row (intercept first)';

-- coef[1] + sum coef[j+1] * feature_j, as SQL text.
CREATE FUNCTION @extschema@._promo_linear_sql(spec jsonb, coef jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN '(' || format('(%s)::float8', (coef->>0)::float8)
    || coalesce((SELECT string_agg(format(' + (%s)::float8 * %s', (coef->>(i::int))::float8,
                                          @extschema@._promo_feature_sql(f)), '' ORDER BY i)
                 FROM jsonb_array_elements(spec) WITH ORDINALITY e(f, i)), '') || ')';
COMMENT ON FUNCTION @extschema@._promo_linear_sql(jsonb, jsonb) IS
'internal: SQL expression of a linear predictor from stored coefficients';

-- The same linear predictor evaluated on one row given as jsonb; NULL when a
-- feature is missing from it or NULL.
CREATE FUNCTION @extschema@._promo_linear_jsonb(spec jsonb, coef jsonb, x jsonb) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT CASE WHEN bool_or(t IS NULL) THEN NULL
                    ELSE (coef->>0)::float8 + coalesce(sum((coef->>(i::int))::float8 * t), 0) END
          FROM (SELECT e.i,
                       CASE WHEN e.f->>'kind' = 'level'
                            THEN ((x->>(e.f->>'column')) = (e.f->>'level'))::int::float8
                            WHEN (e.f->>'bool')::boolean
                            THEN (((x->>(e.f->>'column'))::boolean::int::float8) - (e.f->>'center')::float8)
                                 / (e.f->>'scale')::float8
                            ELSE (((x->>(e.f->>'column'))::float8) - (e.f->>'center')::float8)
                                 / (e.f->>'scale')::float8 END AS t
                  FROM jsonb_array_elements(spec) WITH ORDINALITY e(f, i)) s);
COMMENT ON FUNCTION @extschema@._promo_linear_jsonb(jsonb, jsonb, jsonb) IS
'internal: linear predictor of a stored model on one row given as jsonb';

-- Feature labels: "(intercept)", numeric column names, "column=level".
CREATE FUNCTION @extschema@._promo_labels(spec jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY['(intercept)'] || coalesce((SELECT array_agg(CASE WHEN f->>'kind' = 'level'
                                                             THEN (f->>'column') || '=' || (f->>'level')
                                                             ELSE f->>'column' END ORDER BY i)
                                         FROM jsonb_array_elements(spec) WITH ORDINALITY e(f, i)), '{}');
COMMENT ON FUNCTION @extschema@._promo_labels(jsonb) IS
'internal: coefficient labels of a feature specification';

-- Parameters of a stored model of the given method, or an error.
CREATE FUNCTION @extschema@._promo_params(model text, want text) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    p jsonb;
    m text;
BEGIN
    IF model IS NULL THEN
        RAISE EXCEPTION 'model name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT x.params, x.method INTO p, m FROM @extschema@.model x WHERE x.name = model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model
            USING ERRCODE = 'undefined_object',
                  HINT = 'Train it first; stored models are listed in recpromo.model.';
    END IF;
    IF m <> want THEN
        RAISE EXCEPTION 'model "%" is a % model, not %', model, m, want
            USING ERRCODE = 'wrong_object_type';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_params(text, text) IS
'internal: parameters of a stored model, checking that it exists and has the expected method';

-- Stores a model row, replacing one of the same name in the same transaction.
CREATE FUNCTION @extschema@._promo_store(model_name text, model_method text, model_params jsonb,
    model_source regclass, rows bigint, seconds float8, loss float8)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    old_id bigint;
    new_id bigint := nextval('@extschema@.model_id_seq');
BEGIN
    -- the same lock as drop_model and set_default_model: one writer at a time
    LOCK TABLE @extschema@.model IN SHARE ROW EXCLUSIVE MODE;
    SELECT id INTO old_id FROM @extschema@.model WHERE name = model_name;
    INSERT INTO @extschema@.model AS m (name, id, method, params, source, nnz, rows_read, train_seconds, final_loss)
    VALUES (model_name, new_id, model_method, model_params, model_source::text, rows, rows, seconds, loss)
    ON CONFLICT (name) DO UPDATE
       SET id = EXCLUDED.id, method = EXCLUDED.method, params = EXCLUDED.params,
           source = EXCLUDED.source, user_col = NULL, item_col = NULL, rating_col = NULL,
           user_type = NULL, item_type = NULL, n_users = 0, n_items = 0, nnz = EXCLUDED.nnz,
           rows_read = EXCLUDED.rows_read, rows_skipped = 0,
           train_seconds = EXCLUDED.train_seconds, final_loss = EXCLUDED.final_loss,
           metrics = '{}', trained_by = current_user, trained_at = now();
    IF old_id IS NOT NULL THEN
        DELETE FROM @extschema@.model_part WHERE model_id = old_id;
    END IF;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_store(text, text, jsonb, regclass, bigint, float8, float8) IS
'internal: inserts or atomically replaces a promotion model row under a fresh id';

CREATE FUNCTION @extschema@._promo_check_name(name text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_check_name(text) IS 'internal: rejects an empty model name';

-- Profiles --------------------------------------------------------------------

CREATE FUNCTION @extschema@.rfm(orders regclass, customer_col name, date_col name, amount_col name,
    as_of timestamptz DEFAULT now(), order_col name DEFAULT NULL, returns_mode text DEFAULT 'net')
RETURNS TABLE (customer text, recency_days integer, frequency bigint, monetary float8,
               r_score integer, f_score integer, m_score integer, rfm_cell text, segment text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    dt regtype;
    amt_expr text;
    ord text;
BEGIN
    PERFORM @extschema@._promo_coltype(orders, customer_col, 'customer column');
    dt := @extschema@._promo_coltype(orders, date_col, 'date column');
    IF dt NOT IN ('date'::regtype, 'timestamp without time zone'::regtype, 'timestamp with time zone'::regtype) THEN
        RAISE EXCEPTION 'column "%" of % has type %, expected a date or timestamp', date_col, orders::text, dt
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    amt_expr := @extschema@._promo_num(orders, amount_col, 'amount column');
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF returns_mode IS NULL OR returns_mode NOT IN ('net', 'ignore') THEN
        RAISE EXCEPTION 'invalid returns_mode "%"', returns_mode
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''net'' (returns reduce monetary) or ''ignore'' (only purchases count).';
    END IF;
    IF order_col IS NULL THEN
        ord := 'NULL::text';
    ELSE
        PERFORM @extschema@._promo_coltype(orders, order_col, 'order column');
        ord := format('(%I)::text', order_col);
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH lines AS (
            SELECT (%1$I)::text AS cu, (%2$I)::timestamptz AS ts, %3$s AS amt, %4$s AS ord,
                   row_number() OVER () AS rn
              FROM %5$s WHERE %1$I IS NOT NULL),
        bad AS (SELECT count(*) AS n FROM lines
                 WHERE ts IS NULL OR amt IS NULL OR amt IN ('NaN', 'Infinity', '-Infinity')),
        ords AS (
            SELECT cu, min(ts) AS ts, sum(amt) AS amt
              FROM lines GROUP BY cu, coalesce(ord, rn::text)),
        per AS (
            SELECT cu,
                   floor(extract(epoch FROM ($1::timestamptz - max(ts) FILTER (WHERE amt > 0))) / 86400)::int AS rec,
                   count(*) FILTER (WHERE amt > 0) AS freq,
                   CASE WHEN $2 = 'net' THEN sum(amt) ELSE sum(amt) FILTER (WHERE amt > 0) END AS mon
              FROM ords GROUP BY cu HAVING count(*) FILTER (WHERE amt > 0) > 0),
        scored AS (
            SELECT per.*,
                   1 + floor(5.0 * (rank() OVER (ORDER BY rec DESC) - 1) / count(*) OVER ())::int AS r,
                   1 + floor(5.0 * (rank() OVER (ORDER BY freq) - 1) / count(*) OVER ())::int AS f,
                   1 + floor(5.0 * (rank() OVER (ORDER BY mon) - 1) / count(*) OVER ())::int AS m
              FROM per)
        SELECT cu, rec, freq, mon, r, f, m, r::text || f::text || m::text,
               CASE WHEN r >= 4 AND f >= 4 THEN 'champions'
                    WHEN r >= 3 AND f >= 3 THEN 'loyal'
                    WHEN r >= 4 AND f = 1 THEN 'new customers'
                    WHEN r >= 3 THEN 'promising'
                    WHEN r = 1 AND f >= 4 THEN 'cannot lose them'
                    WHEN f >= 3 THEN 'at risk'
                    WHEN r = 2 THEN 'hibernating'
                    ELSE 'lost' END
          FROM scored
         WHERE (SELECT CASE WHEN n > 0 THEN @extschema@._promo_raise_missing('date or amount', n) ELSE true END FROM bad)
    $q$, customer_col, date_col, amt_expr, ord, orders) USING as_of, returns_mode;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm(regclass, name, name, name, timestamptz, name, text) IS
'recency (days since the last purchase), frequency (purchase orders), monetary value, quintile scores 1-5 and named segments per customer';

CREATE FUNCTION @extschema@._promo_raise_missing(what text, n bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION '% has % missing or non-finite values', what, n
        USING ERRCODE = 'null_value_not_allowed',
              HINT = 'Filter the rows with a view first.';
END
$$;
COMMENT ON FUNCTION @extschema@._promo_raise_missing(text, bigint) IS
'internal: raises the missing-values error from inside a query';

CREATE FUNCTION @extschema@.category_affinity(orders regclass, customer_col name, category_col name,
    amount_col name DEFAULT NULL)
RETURNS TABLE (customer text, category text, amount float8, share float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    amt_expr text := '1::float8';
BEGIN
    PERFORM @extschema@._promo_coltype(orders, customer_col, 'customer column');
    PERFORM @extschema@._promo_coltype(orders, category_col, 'category column');
    IF amount_col IS NOT NULL THEN
        amt_expr := @extschema@._promo_num(orders, amount_col, 'amount column');
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH c AS (
            SELECT (%1$I)::text AS cu, (%2$I)::text AS cat, sum(%3$s) AS amt
              FROM %4$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL AND %3$s IS NOT NULL
             GROUP BY 1, 2)
        SELECT cu, cat, amt, amt / sum(amt) OVER (PARTITION BY cu)
          FROM c WHERE amt > 0
    $q$, customer_col, category_col, amt_expr, orders);
END
$$;
COMMENT ON FUNCTION @extschema@.category_affinity(regclass, name, name, name) IS
'each customer''s share of net spend (amount_col given) or of purchase rows (amount_col NULL) per category';

-- Reads, checks and optionally standardises the k-means columns.
CREATE FUNCTION @extschema@._kmeans_read(source regclass, key_col name, columns name[],
    standardize boolean, OUT keys text[], OUT x float8[], OUT center float8[], OUT scale float8[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
    spec jsonb;
BEGIN
    PERFORM @extschema@._promo_coltype(source, key_col, 'key column');
    IF coalesce(cardinality(columns), 0) = 0 THEN
        RAISE EXCEPTION 'no columns given' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    spec := @extschema@._promo_feature_spec(source, columns, '{}', coalesce(standardize, true));
    SELECT array_agg((f->>'center')::float8 ORDER BY i), array_agg((f->>'scale')::float8 ORDER BY i)
      INTO center, scale FROM jsonb_array_elements(spec) WITH ORDINALITY e(f, i);
    EXECUTE format('SELECT array_agg((%1$I)::text ORDER BY %1$I), array_agg(%2$s ORDER BY %1$I) FROM %3$s',
                   key_col, replace(@extschema@._promo_design_sql(spec), 'ARRAY[1::float8, ', 'ARRAY['), source)
       INTO keys, x;
END
$$;
COMMENT ON FUNCTION @extschema@._kmeans_read(regclass, name, name[], boolean) IS
'internal: reads the k-means points in key order';

CREATE FUNCTION @extschema@.kmeans(source regclass, key_col name, columns name[], k integer,
    seed bigint DEFAULT 42, standardize boolean DEFAULT true, max_iter integer DEFAULT 100)
RETURNS TABLE (key text, cluster integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    r record;
    fit record;
BEGIN
    r := @extschema@._kmeans_read(source, key_col, columns, standardize);
    fit := @extschema@._kmeans_fit(r.x, k, seed, max_iter);
    RETURN QUERY SELECT u.key, u.cluster FROM unnest(r.keys, fit.assign) AS u(key, cluster);
END
$$;
COMMENT ON FUNCTION @extschema@.kmeans(regclass, name, name[], integer, bigint, boolean, integer) IS
'k-means segmentation (k-means++ start, seeded) of the rows of a table over numeric columns: each key''s cluster 1..k';

CREATE FUNCTION @extschema@.kmeans_clusters(source regclass, key_col name, columns name[], k integer,
    seed bigint DEFAULT 42, standardize boolean DEFAULT true, max_iter integer DEFAULT 100)
RETURNS TABLE (cluster integer, size bigint, centre float8[], inertia float8, iterations integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    r record;
    fit record;
    d int := cardinality(columns);
BEGIN
    r := @extschema@._kmeans_read(source, key_col, columns, standardize);
    fit := @extschema@._kmeans_fit(r.x, k, seed, max_iter);
    RETURN QUERY
        SELECT c, fit.sizes[c],
               (SELECT array_agg(fit.centres[c][j] * r.scale[j] + r.center[j] ORDER BY j)
                  FROM generate_series(1, d) j),
               fit.inertia, fit.iterations
          FROM generate_series(1, k) c;
END
$$;
COMMENT ON FUNCTION @extschema@.kmeans_clusters(regclass, name, name[], integer, bigint, boolean, integer) IS
'the clusters of kmeans() with the same arguments: sizes, centres in the columns'' own units, inertia (in standardised units when standardize)';

-- Propensity ---------------------------------------------------------------------

-- Reads and checks a 0/1 or boolean target; returns its float8 expression.
CREATE FUNCTION @extschema@._promo_binary_target(source regclass, target_col name, role text)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    e text := @extschema@._promo_num(source, target_col, role);
    nnull bigint;
    nbad bigint;
    npos bigint;
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FILTER (WHERE %1$s IS NULL), count(*) FILTER (WHERE %1$s NOT IN (0, 1)), count(*) FILTER (WHERE %1$s = 1), count(*) FROM %2$s',
                   e, source) INTO nnull, nbad, npos, n;
    IF nnull > 0 THEN
        RAISE EXCEPTION '% "%" has % missing values', role, target_col, nnull
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Filter the rows with a view first.';
    END IF;
    IF nbad > 0 THEN
        RAISE EXCEPTION '% "%" must be 0 or 1', role, target_col
            USING ERRCODE = 'data_exception',
                  DETAIL = format('%s rows have other values.', nbad);
    END IF;
    IF npos = 0 OR npos = n THEN
        RAISE EXCEPTION '% "%" has only one class', role, target_col
            USING ERRCODE = 'data_exception',
                  DETAIL = format('All %s rows have the value %s.', n, CASE WHEN npos = 0 THEN 0 ELSE 1 END),
                  HINT = 'A logistic model needs rows of both classes.';
    END IF;
    RETURN e;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_binary_target(regclass, name, text) IS
'internal: checks a 0/1 target column and returns its float8 expression';

CREATE FUNCTION @extschema@.train_propensity(name text, source regclass, target_col name,
    features name[] DEFAULT '{}', categorical name[] DEFAULT '{}', lambda float8 DEFAULT 1.0,
    standardize boolean DEFAULT true, max_iter integer DEFAULT 100, tol float8 DEFAULT 1e-10)
RETURNS TABLE (feature text, coefficient float8)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    spec jsonb;
    y_expr text;
    x float8[];
    y float8[];
    fit record;
    n bigint;
BEGIN
    PERFORM @extschema@._promo_check_name(name);
    IF lambda IS NULL OR lambda < 0 OR lambda IN ('NaN', 'Infinity') THEN
        RAISE EXCEPTION 'lambda must be a finite number >= 0' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    y_expr := @extschema@._promo_binary_target(source, target_col, 'target column');
    spec := @extschema@._promo_feature_spec(source, features, categorical, coalesce(standardize, true));
    EXECUTE format('SELECT array_agg(%s), array_agg(%s), count(*) FROM %s',
                   @extschema@._promo_design_sql(spec), y_expr, source) INTO x, y, n;
    fit := @extschema@._promo_fit('logistic', x, y, NULL, lambda, 0, max_iter, tol);
    PERFORM @extschema@._promo_store(name, 'logistic',
        jsonb_build_object('features', spec, 'coef', to_jsonb(fit.coef), 'lambda', lambda,
                           'standardize', coalesce(standardize, true), 'target', target_col,
                           'iterations', fit.iterations, 'converged', fit.converged),
        source, n, extract(epoch FROM clock_timestamp() - t0)::float8, fit.loss);
    UPDATE @extschema@.model m SET metrics = (SELECT jsonb_object_agg('train_' || e.metric, e.value)
                                                FROM @extschema@.evaluate_propensity(train_propensity.name, train_propensity.source, train_propensity.target_col) e)
     WHERE m.name = train_propensity.name;
    RETURN QUERY SELECT l, c FROM unnest(@extschema@._promo_labels(spec), fit.coef) AS u(l, c);
END
$$;
COMMENT ON FUNCTION @extschema@.train_propensity(text, regclass, name, name[], name[], float8, boolean, integer, float8) IS
'trains an L2-penalised logistic regression (Newton/IRLS) of a 0/1 target on numeric and one-hot categorical features, stores it as a model, returns its coefficients';

CREATE FUNCTION @extschema@.score_propensity(model text, source regclass, key_col name)
RETURNS TABLE (key text, score float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    p jsonb := @extschema@._promo_params(model, 'logistic');
BEGIN
    PERFORM @extschema@._promo_coltype(source, key_col, 'key column');
    RETURN QUERY EXECUTE format('SELECT (%I)::text, @extschema@.sigmoid(%s) FROM %s',
                                key_col, @extschema@._promo_linear_sql(p->'features', p->'coef'), source);
END
$$;
COMMENT ON FUNCTION @extschema@.score_propensity(text, regclass, name) IS
'propensity (predicted probability) of every row of a table under a stored logistic model; NULL when a feature is NULL';

CREATE FUNCTION @extschema@.predict_propensity(model text, features jsonb) RETURNS float8
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    p jsonb := @extschema@._promo_params(model, 'logistic');
BEGIN
    RETURN @extschema@.sigmoid(@extschema@._promo_linear_jsonb(p->'features', p->'coef', features));
END
$$;
COMMENT ON FUNCTION @extschema@.predict_propensity(text, jsonb) IS
'propensity of one row given as jsonb (e.g. to_jsonb(t)) under a stored logistic model; NULL when a feature is missing';

CREATE FUNCTION @extschema@.evaluate_propensity(model text, source regclass, target_col name)
RETURNS TABLE (metric text, value float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    p jsonb := @extschema@._promo_params(model, 'logistic');
    y_expr text := @extschema@._promo_binary_target(source, target_col, 'target column');
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH s AS (SELECT @extschema@.sigmoid(%1$s) AS p, %2$s AS y FROM %3$s),
        ok AS (SELECT p, y FROM s WHERE p IS NOT NULL),
        r AS (SELECT p, y, rank() OVER (ORDER BY p) + (count(*) OVER (PARTITION BY p) - 1) / 2.0 AS ar FROM ok),
        t AS (SELECT count(*)::float8 AS n, sum(y) AS n1, sum(ar) FILTER (WHERE y = 1) AS rs,
                     -avg(y * ln(greatest(p, 1e-15)) + (1 - y) * ln(greatest(1 - p, 1e-15))) AS ll,
                     avg((p - y) ^ 2) AS brier FROM r)
        SELECT m, v FROM t, LATERAL (VALUES
            (1, 'rows', n), (2, 'positives', n1),
            (3, 'auc', (rs - n1 * (n1 + 1) / 2) / (n1 * (n - n1))),
            (4, 'log_loss', ll), (5, 'brier', brier)) x(o, m, v) ORDER BY o
    $q$, @extschema@._promo_linear_sql(p->'features', p->'coef'), y_expr, source);
END
$$;
COMMENT ON FUNCTION @extschema@.evaluate_propensity(text, regclass, name) IS
'AUC (Mann-Whitney, ties counted half), log-loss, Brier score of a stored logistic model on a table with the true 0/1 target';

CREATE FUNCTION @extschema@.propensity_calibration(model text, source regclass, target_col name,
    bins integer DEFAULT 10)
RETURNS TABLE (bin integer, rows bigint, mean_predicted float8, observed_rate float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    p jsonb := @extschema@._promo_params(model, 'logistic');
    y_expr text := @extschema@._promo_binary_target(source, target_col, 'target column');
BEGIN
    IF bins IS NULL OR bins < 1 OR bins > 1000 THEN
        RAISE EXCEPTION 'bins must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH s AS (SELECT @extschema@.sigmoid(%1$s) AS p, %2$s AS y FROM %3$s),
        b AS (SELECT p, y, ntile($1) OVER (ORDER BY p, y) AS bin FROM s WHERE p IS NOT NULL)
        SELECT bin, count(*), avg(p), avg(y) FROM b GROUP BY bin ORDER BY bin
    $q$, @extschema@._promo_linear_sql(p->'features', p->'coef'), y_expr, source) USING bins;
END
$$;
COMMENT ON FUNCTION @extschema@.propensity_calibration(text, regclass, name, integer) IS
'calibration table: rows cut into equal-count bins by predicted propensity (1 = lowest), mean prediction and observed rate per bin';

-- Uplift --------------------------------------------------------------------------

-- Arms of a campaign table: checks the control group and returns the
-- treatment labels (sorted) with their counts.
CREATE FUNCTION @extschema@._uplift_arms(source regclass, treatment_col name, control text,
    OUT labels text[], OUT counts bigint[], OUT n_control bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    nnull bigint;
BEGIN
    PERFORM @extschema@._promo_coltype(source, treatment_col, 'treatment column');
    IF control IS NULL THEN
        RAISE EXCEPTION 'control label must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE format('SELECT count(*) FILTER (WHERE %1$I IS NULL), count(*) FILTER (WHERE (%1$I)::text = $1) FROM %2$s',
                   treatment_col, source) INTO nnull, n_control USING control;
    IF nnull > 0 THEN
        RAISE EXCEPTION 'treatment column "%" has % missing values', treatment_col, nnull
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Every row must name its arm.';
    END IF;
    IF n_control = 0 THEN
        RAISE EXCEPTION 'no control group'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('No row of %s has %I = %L.', source, treatment_col, control),
                  HINT = 'Uplift needs a randomised control group; pass its label as control.';
    END IF;
    EXECUTE format('SELECT array_agg(t ORDER BY t), array_agg(c ORDER BY t) FROM (SELECT (%1$I)::text AS t, count(*) AS c FROM %2$s WHERE (%1$I)::text <> $1 GROUP BY 1) s',
                   treatment_col, source) INTO labels, counts USING control;
    IF labels IS NULL THEN
        RAISE EXCEPTION 'no treated rows'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Every row is in the control group.';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._uplift_arms(regclass, name, text) IS
'internal: checks a campaign''s control group and lists its treatment arms';

CREATE FUNCTION @extschema@.train_uplift(name text, source regclass, treatment_col name, outcome_col name,
    features name[] DEFAULT '{}', categorical name[] DEFAULT '{}', method text DEFAULT 'two_model',
    control text DEFAULT 'control', lambda float8 DEFAULT 1.0, standardize boolean DEFAULT true,
    max_iter integer DEFAULT 100, tol float8 DEFAULT 1e-10)
RETURNS TABLE (treatment text, customers bigint, control_customers bigint, ate float8)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    arms record;
    spec jsonb;
    y_expr text;
    design text;
    binary_outcome boolean;
    nbad bigint;
    nnull bigint;
    x float8[];
    y float8[];
    w float8[];
    fit record;
    control_coef jsonb;
    arm_list jsonb := '[]';
    lbl text;
    nt bigint;
    q float8;
    loss float8 := 0;
BEGIN
    PERFORM @extschema@._promo_check_name(name);
    IF method IS NULL OR method NOT IN ('two_model', 'class_transformation') THEN
        RAISE EXCEPTION 'invalid uplift method "%"', method
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''two_model'' or ''class_transformation''.';
    END IF;
    IF lambda IS NULL OR lambda < 0 OR lambda IN ('NaN', 'Infinity') THEN
        RAISE EXCEPTION 'lambda must be a finite number >= 0' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    arms := @extschema@._uplift_arms(source, treatment_col, control);
    y_expr := @extschema@._promo_num(source, outcome_col, 'outcome column');
    EXECUTE format('SELECT count(*) FILTER (WHERE %1$s IS NULL), count(*) FILTER (WHERE %1$s NOT IN (0, 1)) FROM %2$s',
                   y_expr, source) INTO nnull, nbad;
    IF nnull > 0 THEN
        RAISE EXCEPTION 'outcome column "%" has % missing values', outcome_col, nnull
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Use 0 for customers who did not convert.';
    END IF;
    binary_outcome := nbad = 0;
    spec := @extschema@._promo_feature_spec(source, features, categorical, coalesce(standardize, true));
    design := @extschema@._promo_design_sql(spec);

    IF method = 'two_model' THEN
        EXECUTE format('SELECT array_agg(%s), array_agg(%s) FROM %s WHERE (%I)::text = $1',
                       design, y_expr, source, treatment_col) INTO x, y USING control;
        IF binary_outcome AND (SELECT count(DISTINCT v) FROM unnest(y) v) < 2 THEN
            RAISE EXCEPTION 'outcome has only one class in arm "%"', control
                USING ERRCODE = 'data_exception', HINT = 'Each arm needs converted and non-converted customers.';
        END IF;
        fit := @extschema@._promo_fit(CASE WHEN binary_outcome THEN 'logistic' ELSE 'ridge' END,
                                      x, y, NULL, lambda, 0, max_iter, tol);
        control_coef := to_jsonb(fit.coef);
        loss := loss + fit.loss;
    END IF;
    FOR i IN 1 .. cardinality(arms.labels) LOOP
        lbl := arms.labels[i];
        nt := arms.counts[i];
        IF method = 'two_model' THEN
            EXECUTE format('SELECT array_agg(%s), array_agg(%s) FROM %s WHERE (%I)::text = $1',
                           design, y_expr, source, treatment_col) INTO x, y USING lbl;
            w := NULL;
        ELSIF binary_outcome THEN
            -- Jaskowski & Jaroszewicz: z = 1 for treated converters and control
            -- non-converters; arms weighted to equal total weight.
            EXECUTE format('SELECT array_agg(%1$s), array_agg(CASE WHEN (%2$I)::text = $1 THEN %3$s ELSE 1 - %3$s END),
                                   array_agg(CASE WHEN (%2$I)::text = $1 THEN $3 ELSE $4 END)
                              FROM %4$s WHERE (%2$I)::text IN ($1, $2)',
                           design, treatment_col, y_expr, source) INTO x, y, w
                USING lbl, control, (nt + arms.n_control) / (2.0 * nt), (nt + arms.n_control) / (2.0 * arms.n_control);
        ELSE
            -- transformed outcome z = y (t / p - (1 - t) / (1 - p)), E[z | x] = uplift(x)
            q := nt::float8 / (nt + arms.n_control);
            EXECUTE format('SELECT array_agg(%1$s), array_agg(%3$s * CASE WHEN (%2$I)::text = $1 THEN 1 / $3 ELSE -1 / (1 - $3) END)
                              FROM %4$s WHERE (%2$I)::text IN ($1, $2)',
                           design, treatment_col, y_expr, source) INTO x, y USING lbl, control, q;
            w := NULL;
        END IF;
        IF binary_outcome AND (SELECT count(DISTINCT v) FROM unnest(y) v) < 2 THEN
            RAISE EXCEPTION 'outcome has only one class in arm "%"', lbl
                USING ERRCODE = 'data_exception', HINT = 'Each arm needs converted and non-converted customers.';
        END IF;
        fit := @extschema@._promo_fit(CASE WHEN binary_outcome THEN 'logistic' ELSE 'ridge' END,
                                      x, y, w, lambda, 0, max_iter, tol);
        loss := loss + fit.loss;
        arm_list := arm_list || jsonb_build_object('treatment', lbl, 'coef', to_jsonb(fit.coef), 'customers', nt);
    END LOOP;

    PERFORM @extschema@._promo_store(name, 'uplift',
        jsonb_build_object('method', method, 'outcome', CASE WHEN binary_outcome THEN 'binary' ELSE 'continuous' END,
                           'features', spec, 'control', control, 'control_coef', control_coef,
                           'arms', arm_list, 'lambda', lambda, 'standardize', coalesce(standardize, true),
                           'treatment_col', treatment_col, 'outcome_col', outcome_col),
        source, ((SELECT sum(c) FROM unnest(arms.counts) c) + arms.n_control)::bigint,
        extract(epoch FROM clock_timestamp() - t0)::float8, loss);
    RETURN QUERY EXECUTE format('WITH s AS (SELECT (%1$I)::text AS arm, %2$s AS y FROM %3$s),
                                      c AS (SELECT avg(y) AS m FROM s WHERE arm = $1)
                                 SELECT arm, count(*), $2::bigint, avg(y) - (SELECT m FROM c)
                                   FROM s WHERE arm <> $1 GROUP BY arm ORDER BY arm',
                                treatment_col, y_expr, source)
        USING control, arms.n_control;
END
$$;
COMMENT ON FUNCTION @extschema@.train_uplift(text, regclass, name, name, name[], name[], text, text, float8, boolean, integer, float8) IS
'trains an uplift model (two_model T-learner or class_transformation) for every treatment arm against the control group and stores it';

-- SQL expression of the uplift of one arm.
CREATE FUNCTION @extschema@._uplift_expr(p jsonb, arm jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
    WHEN p->>'method' = 'two_model' AND p->>'outcome' = 'binary' THEN
        format('(@extschema@.sigmoid(%s) - @extschema@.sigmoid(%s))',
               @extschema@._promo_linear_sql(p->'features', arm->'coef'),
               @extschema@._promo_linear_sql(p->'features', p->'control_coef'))
    WHEN p->>'method' = 'two_model' THEN
        format('(%s - %s)', @extschema@._promo_linear_sql(p->'features', arm->'coef'),
               @extschema@._promo_linear_sql(p->'features', p->'control_coef'))
    WHEN p->>'outcome' = 'binary' THEN
        format('(2 * @extschema@.sigmoid(%s) - 1)', @extschema@._promo_linear_sql(p->'features', arm->'coef'))
    ELSE @extschema@._promo_linear_sql(p->'features', arm->'coef') END;
COMMENT ON FUNCTION @extschema@._uplift_expr(jsonb, jsonb) IS
'internal: SQL expression of the estimated uplift of one treatment arm';

CREATE FUNCTION @extschema@.score_uplift(model text, source regclass, key_col name)
RETURNS TABLE (key text, treatment text, uplift float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    p jsonb := @extschema@._promo_params(model, 'uplift');
BEGIN
    PERFORM @extschema@._promo_coltype(source, key_col, 'key column');
    -- unnest of two arrays, not a LATERAL VALUES list: a Values Scan would
    -- compile its expressions again for every row
    RETURN QUERY EXECUTE format('SELECT (%I)::text, v.t, v.u FROM %s CROSS JOIN LATERAL unnest(%L::text[], ARRAY[%s]) v(t, u)',
        key_col, source,
        (SELECT array_agg(a->>'treatment' ORDER BY i) FROM jsonb_array_elements(p->'arms') WITH ORDINALITY e(a, i)),
        (SELECT string_agg(@extschema@._uplift_expr(p, a), ', ' ORDER BY i)
           FROM jsonb_array_elements(p->'arms') WITH ORDINALITY e(a, i)));
END
$$;
COMMENT ON FUNCTION @extschema@.score_uplift(text, regclass, name) IS
'estimated uplift of every treatment for every row of a table under a stored uplift model';

CREATE FUNCTION @extschema@.predict_uplift(model text, features jsonb)
RETURNS TABLE (treatment text, uplift float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    p jsonb := @extschema@._promo_params(model, 'uplift');
    c float8 := @extschema@._promo_linear_jsonb(p->'features', p->'control_coef', features);
BEGIN
    RETURN QUERY
        SELECT a->>'treatment',
               CASE WHEN p->>'method' = 'two_model' AND p->>'outcome' = 'binary'
                    THEN @extschema@.sigmoid(l) - @extschema@.sigmoid(c)
                    WHEN p->>'method' = 'two_model' THEN l - c
                    WHEN p->>'outcome' = 'binary' THEN 2 * @extschema@.sigmoid(l) - 1
                    ELSE l END
          FROM jsonb_array_elements(p->'arms') WITH ORDINALITY e(a, i),
               LATERAL (SELECT @extschema@._promo_linear_jsonb(p->'features', a->'coef', features) AS l) s
         ORDER BY i;
END
$$;
COMMENT ON FUNCTION @extschema@.predict_uplift(text, jsonb) IS
'estimated uplift of every treatment for one row given as jsonb under a stored uplift model';

-- Reads score, treated flag and outcome of the rows of one comparison.
CREATE FUNCTION @extschema@._uplift_read(source regclass, score_col name, treatment_col name,
    outcome_col name, treatment text, control text,
    OUT score float8[], OUT treated boolean[], OUT outcome float8[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
    arms record := @extschema@._uplift_arms(source, treatment_col, control);
    s text := @extschema@._promo_num(source, score_col, 'score column');
    y text := @extschema@._promo_num(source, outcome_col, 'outcome column');
BEGIN
    IF treatment IS NOT NULL AND NOT treatment = ANY (arms.labels) THEN
        RAISE EXCEPTION 'treatment "%" does not occur in %', treatment, source::text
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('The arms are: %s.', array_to_string(arms.labels, ', '));
    END IF;
    EXECUTE format($q$
        SELECT array_agg(s ORDER BY s, t, y), array_agg(t ORDER BY s, t, y), array_agg(y ORDER BY s, t, y)
          FROM (SELECT %1$s AS s, (%2$I)::text <> $1 AS t, %3$s AS y FROM %4$s
                 WHERE $2::text IS NULL OR (%2$I)::text IN ($1, $2)) r
    $q$, s, treatment_col, y, source) INTO score, treated, outcome USING control, treatment;
END
$$;
COMMENT ON FUNCTION @extschema@._uplift_read(regclass, name, name, name, text, text) IS
'internal: reads one treatment-versus-control comparison in a deterministic order';

CREATE FUNCTION @extschema@.uplift_evaluate(source regclass, score_col name, treatment_col name,
    outcome_col name, treatment text DEFAULT NULL, control text DEFAULT 'control',
    k_percent float8 DEFAULT 10, n_boot integer DEFAULT 200, seed bigint DEFAULT 42,
    confidence float8 DEFAULT 0.95)
RETURNS TABLE (metric text, value float8, ci_low float8, ci_high float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    r record := @extschema@._uplift_read(source, score_col, treatment_col, outcome_col, treatment, control);
BEGIN
    RETURN QUERY SELECT * FROM @extschema@._uplift_metrics(r.score, r.treated, r.outcome,
                                                          k_percent, n_boot, seed, confidence);
END
$$;
COMMENT ON FUNCTION @extschema@.uplift_evaluate(regclass, name, name, name, text, text, float8, integer, bigint, float8) IS
'Qini coefficient, AUUC, uplift@k% and ATE of an uplift score on randomised data, with seeded percentile bootstrap intervals';

CREATE FUNCTION @extschema@.uplift_curve(source regclass, score_col name, treatment_col name,
    outcome_col name, treatment text DEFAULT NULL, control text DEFAULT 'control',
    points integer DEFAULT 10)
RETURNS TABLE (fraction float8, qini float8, uplift float8, random float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    r record := @extschema@._uplift_read(source, score_col, treatment_col, outcome_col, treatment, control);
BEGIN
    RETURN QUERY SELECT c.fraction, c.qini, c.uplift, c.fraction * last_value(c.qini) OVER w
                   FROM @extschema@._uplift_curve(r.score, r.treated, r.outcome, points) c
                 WINDOW w AS (ORDER BY c.fraction ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  ORDER BY c.fraction;
END
$$;
COMMENT ON FUNCTION @extschema@.uplift_curve(regclass, name, name, name, text, text, integer) IS
'Qini curve q(phi), uplift curve u(phi) and the random-targeting line phi * ATE at equally spaced fractions targeted';

CREATE FUNCTION @extschema@.uplift_by_decile(source regclass, score_col name, treatment_col name,
    outcome_col name, treatment text DEFAULT NULL, control text DEFAULT 'control',
    bins integer DEFAULT 10)
RETURNS TABLE (decile integer, treated bigint, control_rows bigint, mean_treated float8,
               mean_control float8, uplift float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    r record := @extschema@._uplift_read(source, score_col, treatment_col, outcome_col, treatment, control);
BEGIN
    IF bins IS NULL OR bins < 1 OR bins > 1000 THEN
        RAISE EXCEPTION 'bins must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
        WITH d AS (SELECT ntile(bins) OVER (ORDER BY u.s DESC, u.t, u.y) AS b, u.t, u.y
                     FROM unnest(r.score, r.treated, r.outcome) AS u(s, t, y))
        SELECT b, count(*) FILTER (WHERE t), count(*) FILTER (WHERE NOT t),
               avg(y) FILTER (WHERE t), avg(y) FILTER (WHERE NOT t),
               avg(y) FILTER (WHERE t) - avg(y) FILTER (WHERE NOT t)
          FROM d GROUP BY b ORDER BY b;
END
$$;
COMMENT ON FUNCTION @extschema@.uplift_by_decile(regclass, name, name, name, text, text, integer) IS
'observed uplift (treated mean - control mean) per equal-count bin of the score, bin 1 = highest scores';

CREATE FUNCTION @extschema@.uplift_balance(source regclass, treatment_col name, features name[],
    control text DEFAULT 'control')
RETURNS TABLE (treatment text, feature text, mean_treated float8, mean_control float8,
               smd float8, balanced boolean)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    arms record := @extschema@._uplift_arms(source, treatment_col, control);
    col name;
    e text;
BEGIN
    IF coalesce(cardinality(features), 0) = 0 THEN
        RAISE EXCEPTION 'no features given' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH col IN ARRAY features LOOP
        e := @extschema@._promo_num(source, col, 'feature');
        RETURN QUERY EXECUTE format($q$
            WITH s AS (SELECT (%1$I)::text AS arm, %2$s AS x FROM %3$s),
            c AS (SELECT avg(x) AS m, var_pop(x) AS v FROM s WHERE arm = $1),
            t AS (SELECT arm, avg(x) AS m, var_pop(x) AS v FROM s WHERE arm <> $1 GROUP BY arm)
            SELECT t.arm, $2::text, t.m, c.m,
                   CASE WHEN t.v + c.v > 0 THEN (t.m - c.m) / sqrt((t.v + c.v) / 2) ELSE 0 END,
                   CASE WHEN t.v + c.v > 0 THEN abs((t.m - c.m) / sqrt((t.v + c.v) / 2)) < 0.1 ELSE true END
              FROM t, c ORDER BY t.arm
        $q$, treatment_col, e, source) USING control, col::text;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.uplift_balance(regclass, name, name[], text) IS
'randomisation check: standardised mean difference of each feature between each treatment arm and control (balanced when |smd| < 0.1)';

-- Assignment --------------------------------------------------------------------------

-- Solves an assignment over the candidate rows of query q (cu, o, v, k),
-- read in one scan; with budgets given, returns the curve instead
-- (assignment columns NULL).
CREATE FUNCTION @extschema@._assign_solve(q text, budget float8, budgets float8[], offer_limits jsonb)
RETURNS TABLE (customer text, offer text, value float8, cost float8, profit float8,
               c_budget float8, c_customers bigint, c_spent float8, c_profit float8, c_bound float8)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    cu text[];
    o text[];
    v float8[];
    k float8[];
    lo text[];
    lc bigint[];
    bad text;
BEGIN
    IF budgets IS NULL AND (budget IS NULL OR budget < 0 OR budget IN ('NaN', 'Infinity')) THEN
        RAISE EXCEPTION 'budget must be a finite number >= 0'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The budget given is %s.', coalesce(budget::text, 'NULL'));
    END IF;
    IF offer_limits IS NOT NULL THEN
        IF jsonb_typeof(offer_limits) <> 'object' THEN
            RAISE EXCEPTION 'offer_limits must be a json object of offer: count'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT string_agg(e.ek, ', ') INTO bad FROM jsonb_each(offer_limits) AS e(ek, ev)
         WHERE jsonb_typeof(e.ev) <> 'number' OR (e.ev::text)::numeric < 0
            OR (e.ev::text)::numeric <> trunc((e.ev::text)::numeric);
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'invalid offer limits for %', bad
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Limits are integers >= 0.';
        END IF;
        SELECT array_agg(e.ek ORDER BY e.ek), array_agg((e.ev::text)::bigint ORDER BY e.ek) INTO lo, lc
          FROM jsonb_each(offer_limits) AS e(ek, ev);
    END IF;
    EXECUTE format('SELECT array_agg(cu), array_agg(o), array_agg(v), array_agg(k) FROM (%s) c(cu, o, v, k)', q)
       INTO cu, o, v, k;
    IF budgets IS NOT NULL THEN
        RETURN QUERY SELECT NULL::text, NULL::text, NULL::float8, NULL::float8, NULL::float8,
                            c.budget, c.customers, c.spent, c.profit, c.upper_bound
                       FROM @extschema@._assign_curve(cu, o, v, k, lo, lc, budgets) c;
        RETURN;
    END IF;
    RETURN QUERY SELECT r.customer, r.offer, r.value, r.cost, r.profit, budget, r.total_customers,
                        r.total_spent, r.total_profit, r.upper_bound
                   FROM @extschema@._assign_run(cu, o, v, k, lo, lc, budget) r;
END
$$;
COMMENT ON FUNCTION @extschema@._assign_solve(text, float8, float8[], jsonb) IS
'internal: runs the greedy assignment over a candidate query';

CREATE FUNCTION @extschema@._assign_query(candidates regclass, customer_col name, offer_col name,
    value_col name, cost_col name) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM @extschema@._promo_coltype(candidates, customer_col, 'customer column');
    PERFORM @extschema@._promo_coltype(candidates, offer_col, 'offer column');
    RETURN format('SELECT (%I)::text, (%I)::text, %s, %s FROM %s', customer_col, offer_col,
                  @extschema@._promo_num(candidates, value_col, 'value column'),
                  @extschema@._promo_num(candidates, cost_col, 'cost column'), candidates);
END
$$;
COMMENT ON FUNCTION @extschema@._assign_query(regclass, name, name, name, name) IS
'internal: candidate query over a table';

CREATE FUNCTION @extschema@.assign_offers(candidates regclass, customer_col name, offer_col name,
    value_col name, cost_col name, budget float8, offer_limits jsonb DEFAULT NULL)
RETURNS TABLE (customer text, offer text, value float8, cost float8, profit float8,
               total_customers bigint, total_spent float8, total_profit float8, upper_bound float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
BEGIN
    RETURN QUERY SELECT s.customer, s.offer, s.value, s.cost, s.profit,
                        s.c_customers, s.c_spent, s.c_profit, s.c_bound
                   FROM @extschema@._assign_solve(
                        @extschema@._assign_query(candidates, customer_col, offer_col, value_col, cost_col),
                        budget, NULL, offer_limits) s;
END
$$;
COMMENT ON FUNCTION @extschema@.assign_offers(regclass, name, name, name, name, float8, jsonb) IS
'at most one offer per customer maximising expected incremental profit (value - cost) under a total budget and per-offer limits (greedy on profit density with upgrades); totals and the Lagrangian upper bound repeated on each row';

CREATE FUNCTION @extschema@.assign_offers_curve(candidates regclass, customer_col name, offer_col name,
    value_col name, cost_col name, budgets float8[], offer_limits jsonb DEFAULT NULL)
RETURNS TABLE (budget float8, customers bigint, spent float8, profit float8, upper_bound float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
BEGIN
    IF budgets IS NULL THEN
        RAISE EXCEPTION 'budgets must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN QUERY SELECT s.c_budget, s.c_customers, s.c_spent, s.c_profit, s.c_bound
                   FROM @extschema@._assign_solve(
                        @extschema@._assign_query(candidates, customer_col, offer_col, value_col, cost_col),
                        NULL, budgets, offer_limits) s;
END
$$;
COMMENT ON FUNCTION @extschema@.assign_offers_curve(regclass, name, name, name, name, float8[], jsonb) IS
'profit-versus-budget curve of assign_offers: customers reached, spend, profit and the upper bound at each budget';

CREATE FUNCTION @extschema@.assign_offers_from_model(model text, customers regclass, key_col name,
    offer_costs jsonb, budget float8, value_per_unit float8 DEFAULT 1, offer_limits jsonb DEFAULT NULL)
RETURNS TABLE (customer text, offer text, value float8, cost float8, profit float8,
               total_customers bigint, total_spent float8, total_profit float8, upper_bound float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    p jsonb := @extschema@._promo_params(model, 'uplift');
    missing text;
BEGIN
    IF offer_costs IS NULL OR jsonb_typeof(offer_costs) <> 'object' THEN
        RAISE EXCEPTION 'offer_costs must be a json object of treatment: cost'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(a->>'treatment', ', ') INTO missing FROM jsonb_array_elements(p->'arms') a
     WHERE jsonb_typeof(offer_costs->(a->>'treatment')) IS DISTINCT FROM 'number';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'offer_costs has no numeric cost for %', missing
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF value_per_unit IS NULL OR value_per_unit IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'value_per_unit must be a finite number' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY SELECT s.customer, s.offer, s.value, s.cost, s.profit,
                        s.c_customers, s.c_spent, s.c_profit, s.c_bound
                   FROM @extschema@._assign_solve(
                        format('SELECT s.key, s.treatment, s.uplift * (%s)::float8, (%L::jsonb ->> s.treatment)::float8
                                  FROM @extschema@.score_uplift(%L, %L::regclass, %L) s WHERE s.uplift IS NOT NULL',
                               value_per_unit, offer_costs, model, customers::text, key_col),
                        budget, NULL, offer_limits) s;
END
$$;
COMMENT ON FUNCTION @extschema@.assign_offers_from_model(text, regclass, name, jsonb, float8, float8, jsonb) IS
'assign_offers on candidates made by a stored uplift model: value = uplift * value_per_unit, cost from offer_costs per treatment';
