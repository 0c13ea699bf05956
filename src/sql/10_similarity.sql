
-- ---------------------------------------------------------------------------
-- Similarity: dense vectors as arrays, the sparse vector type svec, and the
-- aggregates cosine_agg(x, y) and svec_agg(index, value).  See
-- doc/similarity.md.  Conventions: double sums, cosine clamped to [-1, 1], and the
-- cosine of a zero (or empty) vector with anything is 0.
-- ---------------------------------------------------------------------------

-- Dense: one C function per name serves every element type.  Each integer
-- width has its own signature (smallint, integer, bigint): with only some of
-- them, a smallint[] argument could be widened to several and the call would
-- be ambiguous (42725).
CREATE FUNCTION @extschema@.cosine_similarity(a double precision[], b double precision[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_similarity(a real[], b real[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_similarity(a smallint[], b smallint[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_similarity(a integer[], b integer[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_similarity(a bigint[], b bigint[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_similarity(a numeric[], b numeric[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dot_product(a double precision[], b double precision[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dot_product(a real[], b real[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dot_product(a smallint[], b smallint[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dot_product(a integer[], b integer[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dot_product(a bigint[], b bigint[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.dot_product(a numeric[], b numeric[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_norm(a double precision[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(a real[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(a smallint[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(a integer[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(a bigint[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(a numeric[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.cosine_similarity(double precision[], double precision[]) IS
'cosine similarity of two equal-length vectors, in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.cosine_similarity(real[], real[]) IS
'cosine similarity of two equal-length vectors (double sums), in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.cosine_similarity(smallint[], smallint[]) IS
'cosine similarity of two equal-length smallint vectors, in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.cosine_similarity(integer[], integer[]) IS
'cosine similarity of two equal-length integer vectors, in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.cosine_similarity(bigint[], bigint[]) IS
'cosine similarity of two equal-length bigint vectors (as double), in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.cosine_similarity(numeric[], numeric[]) IS
'cosine similarity of two equal-length numeric vectors (as double), in [-1, 1]; 0 when either is a zero or empty vector';
COMMENT ON FUNCTION @extschema@.dot_product(double precision[], double precision[]) IS
'dot product of two equal-length vectors; error if it overflows double precision';
COMMENT ON FUNCTION @extschema@.dot_product(real[], real[]) IS
'dot product of two equal-length vectors, summed in double precision';
COMMENT ON FUNCTION @extschema@.dot_product(smallint[], smallint[]) IS
'dot product of two equal-length smallint vectors, as double precision';
COMMENT ON FUNCTION @extschema@.dot_product(integer[], integer[]) IS
'dot product of two equal-length integer vectors, as double precision';
COMMENT ON FUNCTION @extschema@.dot_product(bigint[], bigint[]) IS
'dot product of two equal-length bigint vectors, as double precision';
COMMENT ON FUNCTION @extschema@.dot_product(numeric[], numeric[]) IS
'dot product of two equal-length numeric vectors, as double precision';
COMMENT ON FUNCTION @extschema@.vector_norm(double precision[]) IS
'Euclidean (L2) norm of a vector, overflow-safe; 0 for an empty vector';
COMMENT ON FUNCTION @extschema@.vector_norm(real[]) IS
'Euclidean (L2) norm of a vector, summed in double precision; 0 for an empty vector';
COMMENT ON FUNCTION @extschema@.vector_norm(smallint[]) IS
'Euclidean (L2) norm of a smallint vector; 0 for an empty vector';
COMMENT ON FUNCTION @extschema@.vector_norm(integer[]) IS
'Euclidean (L2) norm of an integer vector; 0 for an empty vector';
COMMENT ON FUNCTION @extschema@.vector_norm(bigint[]) IS
'Euclidean (L2) norm of a bigint vector; 0 for an empty vector';
COMMENT ON FUNCTION @extschema@.vector_norm(numeric[]) IS
'Euclidean (L2) norm of a numeric vector (as double); 0 for an empty vector';

-- cosine_agg(x, y): cosine of the vectors formed by paired values; a NULL on
-- one side is 0 (an unmatched row of a FULL JOIN).  State float8[5] holds the
-- scaled sums {sx, qx, sy, qy, d} of rp_cos_acc.
CREATE FUNCTION @extschema@.cosine_agg_transfn(state double precision[], x double precision, y double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'recpromo_cosine_agg_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_agg_combinefn(state1 double precision[], state2 double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'recpromo_cosine_agg_combinefn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_agg_finalfn(state double precision[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_cosine_agg_finalfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.cosine_agg(x double precision, y double precision) (
    SFUNC = @extschema@.cosine_agg_transfn,
    STYPE = double precision[],
    FINALFUNC = @extschema@.cosine_agg_finalfn,
    COMBINEFUNC = @extschema@.cosine_agg_combinefn,
    INITCOND = '{0,0,0,0,0}',
    PARALLEL = SAFE
);

COMMENT ON FUNCTION @extschema@.cosine_agg_transfn(double precision[], double precision, double precision) IS
'transition function of cosine_agg (scaled sums; NULL input counts as 0)';
COMMENT ON FUNCTION @extschema@.cosine_agg_combinefn(double precision[], double precision[]) IS
'combine function of cosine_agg (merges two partial states)';
COMMENT ON FUNCTION @extschema@.cosine_agg_finalfn(double precision[]) IS
'final function of cosine_agg (cosine of the accumulated vectors)';
COMMENT ON AGGREGATE @extschema@.cosine_agg(double precision, double precision) IS
'cosine similarity of the vectors of paired values x and y; NULL counts as 0; 0 for zero vectors or no rows; parallel-safe';

-- ---------------------------------------------------------------------------
-- svec: sparse vector, text form '{index:value,...}'.
-- ---------------------------------------------------------------------------
CREATE TYPE @extschema@.svec;

CREATE FUNCTION @extschema@.svec_in(pg_catalog.cstring) RETURNS @extschema@.svec
AS 'MODULE_PATHNAME', 'recpromo_svec_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_out(@extschema@.svec) RETURNS pg_catalog.cstring
AS 'MODULE_PATHNAME', 'recpromo_svec_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_recv(pg_catalog.internal) RETURNS @extschema@.svec
AS 'MODULE_PATHNAME', 'recpromo_svec_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_send(@extschema@.svec) RETURNS pg_catalog.bytea
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

COMMENT ON FUNCTION @extschema@.svec_in(pg_catalog.cstring) IS 'text input of svec';
COMMENT ON FUNCTION @extschema@.svec_out(@extschema@.svec) IS 'text output of svec';
COMMENT ON FUNCTION @extschema@.svec_recv(pg_catalog.internal) IS 'binary input of svec';
COMMENT ON FUNCTION @extschema@.svec_send(@extschema@.svec) IS 'binary output of svec';

CREATE FUNCTION @extschema@.svec(indices bigint[], vals double precision[]) RETURNS @extschema@.svec
AS 'MODULE_PATHNAME', 'recpromo_svec'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.svec(bigint[], double precision[]) IS
'sparse vector from parallel arrays of indices and values (any order, unique indices; zeros dropped)';

CREATE FUNCTION @extschema@.svec_indices(v @extschema@.svec) RETURNS bigint[]
AS 'MODULE_PATHNAME', 'recpromo_svec_indices'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.svec_indices(@extschema@.svec) IS
'indices of the non-zeros, increasing';

CREATE FUNCTION @extschema@.svec_values(v @extschema@.svec) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'recpromo_svec_values'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.svec_values(@extschema@.svec) IS
'values of the non-zeros, in index order';

CREATE FUNCTION @extschema@.svec_nnz(v @extschema@.svec) RETURNS integer
AS 'MODULE_PATHNAME', 'recpromo_svec_nnz'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.svec_nnz(@extschema@.svec) IS
'number of non-zeros';

CREATE FUNCTION @extschema@.cosine_similarity(a @extschema@.svec, b @extschema@.svec) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_svec_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cosine_similarity(@extschema@.svec, @extschema@.svec) IS
'cosine similarity of two sparse vectors (one merge, linear in the non-zeros); 0 when either is empty';

CREATE FUNCTION @extschema@.dot_product(a @extschema@.svec, b @extschema@.svec) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_svec_dot_product'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.dot_product(@extschema@.svec, @extschema@.svec) IS
'dot product of two sparse vectors over their common indices';

CREATE FUNCTION @extschema@.vector_norm(a @extschema@.svec) RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_svec_vector_norm'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.vector_norm(@extschema@.svec) IS
'Euclidean (L2) norm of a sparse vector; 0 for the empty vector';

-- svec_agg(index, value): one sparse vector per group; repeated indices are
-- summed, rows with a NULL index or value skipped, NULL for no usable row.
CREATE FUNCTION @extschema@.svec_agg_transfn(state pg_catalog.internal, idx bigint, val double precision)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_agg_combinefn(state1 pg_catalog.internal, state2 pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_agg_serialfn(state pg_catalog.internal) RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_agg_deserialfn(data pg_catalog.bytea, dummy pg_catalog.internal) RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.svec_agg_finalfn(state pg_catalog.internal) RETURNS @extschema@.svec
AS 'MODULE_PATHNAME', 'recpromo_svec_agg_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.svec_agg(idx bigint, val double precision) (
    SFUNC = @extschema@.svec_agg_transfn,
    STYPE = pg_catalog.internal,
    FINALFUNC = @extschema@.svec_agg_finalfn,
    COMBINEFUNC = @extschema@.svec_agg_combinefn,
    SERIALFUNC = @extschema@.svec_agg_serialfn,
    DESERIALFUNC = @extschema@.svec_agg_deserialfn,
    PARALLEL = SAFE
);

COMMENT ON FUNCTION @extschema@.svec_agg_transfn(pg_catalog.internal, bigint, double precision) IS
'transition function of svec_agg';
COMMENT ON FUNCTION @extschema@.svec_agg_combinefn(pg_catalog.internal, pg_catalog.internal) IS
'combine function of svec_agg';
COMMENT ON FUNCTION @extschema@.svec_agg_serialfn(pg_catalog.internal) IS
'serialisation function of svec_agg';
COMMENT ON FUNCTION @extschema@.svec_agg_deserialfn(pg_catalog.bytea, pg_catalog.internal) IS
'deserialisation function of svec_agg';
COMMENT ON FUNCTION @extschema@.svec_agg_finalfn(pg_catalog.internal) IS
'final function of svec_agg';
COMMENT ON AGGREGATE @extschema@.svec_agg(bigint, double precision) IS
'sparse vector of (index, value) rows: repeated indices summed, zeros dropped, NULL index or value skipped, NULL when no row is usable';
