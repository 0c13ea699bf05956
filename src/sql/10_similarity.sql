
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
