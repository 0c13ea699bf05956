-- recpromo install script, assembled by make from src/sql/*.sql in name order.
\echo Use "CREATE EXTENSION recpromo" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Security posture, for the DBA who reviews this script
--
-- * Schema.  recpromo installs only into its own schema "recpromo"
--   (relocatable = false).  CREATE EXTENSION creates that schema, owned by the
--   installing role, when it does not exist.  The statement just below
--   refuses to go on when the schema existed already and is owned by a role
--   that is neither the installing role nor a superuser, grants CREATE to
--   another role, or holds any object: a role that could plant functions or
--   operators there could capture the names this script and the extension's
--   functions use (the CVE-2022-2625 pattern).
-- * Names.  Every statement that runs at install time (this guard, tables,
--   defaults, views, aggregates, operators, comments) and every query text a
--   function builds names functions, operators, types and relations
--   schema-qualified: @extschema@.x for the extension's own objects,
--   pg_catalog.x or OPERATOR(pg_catalog.=) for the system's.  SQL-standard
--   type keywords (integer, bigint, smallint, real, double precision,
--   numeric, boolean) always denote pg_catalog types.  Function bodies are
--   quoted strings, never SQL-standard bodies (BEGIN ATOMIC / RETURN), so no
--   name is bound at creation time; they call functions qualified, and the
--   operators of PL/pgSQL expressions (IF n > 0, p->'coef') are left plain
--   for readability: under the fixed search_path below only pg_catalog's
--   operators are visible to them.
-- * Runtime.  Every SQL and PL/pgSQL function has SET search_path =
--   pg_catalog, pg_temp: a caller's search_path cannot substitute a function,
--   operator or table in its body or in the queries it builds.  C functions
--   run their internal queries with qualified names.  No function is
--   SECURITY DEFINER unless its comment says why.
-- * Privileges.  Internal entry points (names starting with "_") are not
--   executable by PUBLIC, except pure helpers that read no table and that
--   SECURITY INVOKER functions called by ordinary roles need; their comments
--   say so.  Planner support functions take "internal" and cannot be called
--   from SQL.
-- ---------------------------------------------------------------------------

-- Install guard (see "Schema" above).  Only pg_catalog objects are named.
-- @install-only
DO $recpromo_guard$
DECLARE
    nsp pg_catalog.oid := pg_catalog.to_regnamespace('@extschema@');
    owner_name pg_catalog.name;
    owner_super boolean;
    creators pg_catalog.text;
    objects pg_catalog.text;
BEGIN
    -- A schema of a superuser other than the installing role is accepted:
    -- pg_restore run by another superuser recreates the schema with its
    -- original owner before CREATE EXTENSION, and a superuser could do
    -- anything anyway.  Any other owner could plant objects at any time.
    SELECT r.rolname, r.rolsuper INTO owner_name, owner_super
      FROM pg_catalog.pg_namespace n
      JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
     WHERE n.oid OPERATOR(pg_catalog.=) nsp;
    IF owner_name OPERATOR(pg_catalog.<>) CURRENT_USER AND NOT owner_super THEN
        RAISE EXCEPTION 'schema "%" already exists and is owned by role "%"',
                        '@extschema@', owner_name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'recpromo installs only into a schema that CREATE EXTENSION creates, '
                           'or an empty one owned by the installing role or a superuser: the owner '
                           'of the schema could plant functions and operators that its code would call.',
                  HINT = 'Check who created the schema and why, drop it, and run CREATE EXTENSION '
                         'recpromo again: it creates the schema itself.';
    END IF;

    SELECT pg_catalog.string_agg(DISTINCT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
                                               ELSE a.grantee::pg_catalog.regrole::pg_catalog.text END,
                                 ', ')
      INTO creators
      FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
     WHERE n.oid OPERATOR(pg_catalog.=) nsp
       AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
       AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner;
    IF creators IS NOT NULL THEN
        RAISE EXCEPTION 'schema "%" already exists and other roles may create objects in it',
                        '@extschema@'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('CREATE on the schema is granted to: %s.', creators),
                  HINT = 'Revoke CREATE on the schema from those roles, or drop the schema, and '
                         'run CREATE EXTENSION recpromo again.';
    END IF;

    SELECT pg_catalog.string_agg(o.what, ', ' ORDER BY o.what) INTO objects
      FROM (SELECT o.what
              FROM (SELECT 'relation ' OPERATOR(pg_catalog.||) c.relname::pg_catalog.text AS what
                      FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'function ' OPERATOR(pg_catalog.||) p.oid::pg_catalog.regprocedure::pg_catalog.text
                      FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'type ' OPERATOR(pg_catalog.||) t.typname::pg_catalog.text
                      FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'operator ' OPERATOR(pg_catalog.||) o.oid::pg_catalog.regoperator::pg_catalog.text
                      FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'collation ' OPERATOR(pg_catalog.||) c.collname::pg_catalog.text
                      FROM pg_catalog.pg_collation c WHERE c.collnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'conversion ' OPERATOR(pg_catalog.||) c.conname::pg_catalog.text
                      FROM pg_catalog.pg_conversion c WHERE c.connamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'operator class ' OPERATOR(pg_catalog.||) c.opcname::pg_catalog.text
                      FROM pg_catalog.pg_opclass c WHERE c.opcnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'operator family ' OPERATOR(pg_catalog.||) f.opfname::pg_catalog.text
                      FROM pg_catalog.pg_opfamily f WHERE f.opfnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'text search configuration ' OPERATOR(pg_catalog.||) c.cfgname::pg_catalog.text
                      FROM pg_catalog.pg_ts_config c WHERE c.cfgnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'text search dictionary ' OPERATOR(pg_catalog.||) d.dictname::pg_catalog.text
                      FROM pg_catalog.pg_ts_dict d WHERE d.dictnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'text search parser ' OPERATOR(pg_catalog.||) p.prsname::pg_catalog.text
                      FROM pg_catalog.pg_ts_parser p WHERE p.prsnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'text search template ' OPERATOR(pg_catalog.||) t.tmplname::pg_catalog.text
                      FROM pg_catalog.pg_ts_template t WHERE t.tmplnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'statistics object ' OPERATOR(pg_catalog.||) s.stxname::pg_catalog.text
                      FROM pg_catalog.pg_statistic_ext s WHERE s.stxnamespace OPERATOR(pg_catalog.=) nsp
                    UNION ALL
                    SELECT 'extension ' OPERATOR(pg_catalog.||) e.extname::pg_catalog.text
                      FROM pg_catalog.pg_extension e
                     WHERE e.extnamespace OPERATOR(pg_catalog.=) nsp
                       AND e.extname OPERATOR(pg_catalog.<>) 'recpromo') o
             ORDER BY o.what
             LIMIT 5) o;
    IF objects IS NOT NULL THEN
        RAISE EXCEPTION 'schema "%" already exists and is not empty', '@extschema@'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('It holds objects that recpromo did not create, such as: %s.',
                                             objects),
                  HINT = 'Move or drop those objects (or the schema), then run CREATE EXTENSION '
                         'recpromo again.';
    END IF;
END
$recpromo_guard$;

-- Which OpenBLAS kernel set this server runs (e.g. Prescott, SkylakeX).
CREATE FUNCTION @extschema@.blas_corename() RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_blas_corename'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.blas_corename() IS
'name of the OpenBLAS kernel set chosen for this CPU; set OPENBLAS_CORETYPE in the server environment to override';

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

-- ---------------------------------------------------------------------------
-- Model storage.  A model is one row of recpromo.model plus binary parts in
-- recpromo.model_part.  Every (re)training draws a fresh id from
-- recpromo.model_id_seq, writes the parts under it, then repoints the row by
-- name and deletes the old parts, all in one transaction: a concurrent reader
-- sees the old model or the new one, never a mix, and a failed training
-- leaves the old model in place.
-- Both tables are extension configuration tables, so pg_dump keeps them.
--
-- Owners and grants (since 0.2.0): owner is the role that trained the model,
-- readers the roles it is granted to (0, shown as "-", for PUBLIC).  Both are
-- regrole, not oid, so that pg_dump writes role names and a restore into
-- another cluster maps them to the roles of that name, never to whatever
-- role has the same oid there (as aclitem does).  No role but the
-- extension owner has any privilege on these tables: the extension's C
-- functions read and write them, checking owner and readers first
-- (src/pg/model_acl.c).  Each model_part row carries the CRC-32C of its data
-- bytes (as an int4 bit pattern), verified at every load.
--
-- Version tokens (since 0.2.0): every save draws a random 128-bit token
-- (model.version) and writes it into each of its model_part rows too.  Ids
-- repeat (a reinstall restarts model_id_seq, setval, a restore), tokens do
-- not: the serving cache (src/pg/model_cache.c) keys a loaded model by
-- (database, extension oid, id, version) and reloads on any difference, and
-- a load refuses parts whose token is not their row's.  A token names one
-- set of bytes: parts are written once, under a fresh id, in the
-- transaction that draws the token, and never rewritten, so that a dump
-- and restore carries the token with the very bytes it named.
-- New columns go at the end, in the same order as the 0.1.0 -> 0.2.0 update
-- adds them, so that both give the same catalog.
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
    trained_by    name NOT NULL DEFAULT CURRENT_USER,
    trained_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    owner         regrole NOT NULL,
    readers       regrole[] NOT NULL DEFAULT '{}',
    store_seconds float8,
    version       uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    similar_users_readers regrole[] NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX model_one_default ON @extschema@.model (is_default) WHERE is_default;

CREATE TABLE @extschema@.model_part (
    model_id bigint NOT NULL,
    part     text NOT NULL,
    seq      integer NOT NULL,
    data     bytea NOT NULL,
    checksum integer NOT NULL,
    version  uuid NOT NULL,
    PRIMARY KEY (model_id, part, seq)
);
ALTER TABLE @extschema@.model_part ALTER COLUMN data SET STORAGE EXTERNAL;

REVOKE ALL ON TABLE @extschema@.model, @extschema@.model_part FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.model_id_seq FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.model', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_part', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_id_seq', '');

COMMENT ON TABLE @extschema@.model IS 'trained recpromo models, one row per name (see the models view)';
COMMENT ON TABLE @extschema@.model_part IS 'binary parts (factors, keys, histories) of trained models, chunked';
COMMENT ON COLUMN @extschema@.model.owner IS 'role that trained the model';
COMMENT ON COLUMN @extschema@.model.readers IS 'roles the owner granted the model to (grant_model); 0 (-) is PUBLIC';
COMMENT ON COLUMN @extschema@.model.similar_users_readers IS 'roles the owner let call similar_users, which returns other customers'' keys (grant_model(..., similar_users => true)); 0 (-) is PUBLIC';
COMMENT ON COLUMN @extschema@.model.store_seconds IS 'seconds spent writing the model (included in train_seconds)';
COMMENT ON COLUMN @extschema@.model.version IS 'random token drawn at every save: identifies these bytes, unlike the id';
COMMENT ON COLUMN @extschema@.model_part.version IS 'version token of the model row these parts were written for';
COMMENT ON COLUMN @extschema@.model_part.checksum IS 'CRC-32C of data, as an int4 bit pattern';

-- ---------------------------------------------------------------------------
-- Training and model management
--
-- Models have owners and grants (src/pg/model_acl.c): train() makes the
-- calling role the owner; grant_model/revoke_model let the owner choose who
-- may serve it.  Every function that reads or writes the model tables is in
-- C and checks the caller's rights before it touches them as the extension
-- owner.  The models view shows only the models the current role may serve.
-- ---------------------------------------------------------------------------
CREATE VIEW @extschema@.models WITH (security_barrier) AS
SELECT m.name, m.method, m.is_default, m.params, m.source, m.user_col, m.item_col, m.rating_col,
       m.user_type, m.item_type, m.n_users, m.n_items, m.nnz, m.rows_read, m.rows_skipped, m.train_seconds, m.final_loss,
       m.metrics,
       (SELECT COALESCE(pg_catalog.sum(pg_catalog.octet_length(p.data)), 0) FROM @extschema@.model_part p
         WHERE p.model_id OPERATOR(pg_catalog.=) m.id)::pg_catalog.int8 AS size_bytes,
       m.trained_by, m.trained_at,
       m.owner,
       ARRAY(SELECT CASE WHEN g.r::pg_catalog.oid OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'public'
                         ELSE g.r::pg_catalog.text END
               FROM pg_catalog.unnest(m.readers) WITH ORDINALITY g(r, i) ORDER BY g.i) AS granted_to,
       m.store_seconds,
       ARRAY(SELECT CASE WHEN g.r::pg_catalog.oid OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'public'
                         ELSE g.r::pg_catalog.text END
               FROM pg_catalog.unnest(m.similar_users_readers) WITH ORDINALITY g(r, i) ORDER BY g.i)
         AS similar_users_granted_to
FROM @extschema@.model m
WHERE pg_catalog.pg_has_role(m.owner::pg_catalog.oid, 'USAGE')
   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(m.readers) g(r)
               WHERE g.r::pg_catalog.oid OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                  OR pg_catalog.pg_has_role(g.r::pg_catalog.oid, 'USAGE'));
COMMENT ON VIEW @extschema@.models IS
'the models the current role may serve (its own, its roles'', and those granted to it): method, '
'hyper-parameters, source, sizes, training and store time, final loss, owner and grants (to serve, and to list '
'similar users)';
GRANT SELECT ON @extschema@.models TO PUBLIC;

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
AS 'MODULE_PATHNAME', 'recpromo_train_model'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION @extschema@.train(text, regclass, name, name, name, text, integer, integer,
    float8, float8, integer, integer, jsonb) IS
'trains (or atomically replaces) a model from any table or view the caller can read; '
'methods: popularity, user_knn, als, als_explicit, ...; method-specific hyper-parameters go in params; '
'the caller owns the model, and only the owner can replace it';

CREATE FUNCTION @extschema@.drop_model(name text, if_exists boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'recpromo_drop_model'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.drop_model(text, boolean) IS
'removes a model and its stored parts (owner only); returns false for a missing model when if_exists';

CREATE FUNCTION @extschema@.set_default_model(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_set_default_model'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_default_model(text) IS
'makes the named model the one used when a serving function is called without model; needs '
'ownership of that model and of the current default';

CREATE FUNCTION @extschema@.grant_model(name text, role name, similar_users boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_grant_model'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.grant_model(text, name, boolean) IS
'lets a role (and its members), or every role with role => ''public'', serve a model (owner only); '
'a grant exposes the training interactions of every user the model knows; with similar_users => true '
'the role may also call similar_users, which returns other customers'' keys';

CREATE FUNCTION @extschema@.revoke_model(name text, role name, similar_users boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_revoke_model'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.revoke_model(text, name, boolean) IS
'withdraws a grant_model (owner only); with similar_users => true only the right to call similar_users';

-- Internal, for the update from 0.1.0 only: checksums the parts 0.1.0 stored.
CREATE FUNCTION @extschema@._seal_parts() RETURNS bigint
AS 'MODULE_PATHNAME', 'recpromo__seal_parts'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._seal_parts() IS
'internal: computes the checksum of every model part that has none (the update from 0.1.0)';
REVOKE ALL ON FUNCTION @extschema@._seal_parts() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Erasure (since 0.3.0): forget_user / forget_item take one customer or one
-- product out of every model the caller owns without a retrain
-- (src/pg/forget.c), and log it in recpromo.erasure_log without the key:
-- key_hash is HMAC-SHA256(recpromo.erasure_secret, kind || ':' || key).
-- Log ids are drawn while the erasure holds the save lock on recpromo.model,
-- so they commit in order: a training applies the erasures logged above the
-- highest id it saw before reading its source (doc/privacy.md, "Erasure").
-- Closed to PUBLIC like the model tables; kept by pg_dump.
-- ---------------------------------------------------------------------------
CREATE SEQUENCE @extschema@.erasure_log_id_seq;

CREATE TABLE @extschema@.erasure_log (
    id        bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.erasure_log_id_seq'::pg_catalog.regclass),
    erased_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    erased_by name NOT NULL,
    kind      text NOT NULL CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['user', 'item']::pg_catalog.text[])),
    models    text[] NOT NULL DEFAULT '{}',
    key_hash  bytea NOT NULL
);
ALTER SEQUENCE @extschema@.erasure_log_id_seq OWNED BY @extschema@.erasure_log.id;
CREATE INDEX erasure_log_key_hash ON @extschema@.erasure_log (key_hash);

REVOKE ALL ON TABLE @extschema@.erasure_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.erasure_log_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.erasure_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.erasure_log_id_seq', '');

COMMENT ON TABLE @extschema@.erasure_log IS
'one row per forget_user / forget_item call: when, by whom, which models; the key only as a keyed hash';
COMMENT ON COLUMN @extschema@.erasure_log.key_hash IS
'HMAC-SHA256(recpromo.erasure_secret, kind || '':'' || key text): check with recpromo.erasure_logged(key)';
COMMENT ON COLUMN @extschema@.erasure_log.models IS 'models that held the key and were erased from';

CREATE FUNCTION @extschema@.forget_user(
    user_id pg_catalog.anyelement,
    model pg_catalog.text DEFAULT NULL,
    refine_iterations integer DEFAULT 0)
RETURNS TABLE (model_name pg_catalog.text, method pg_catalog.text, rows_removed bigint,
               exact boolean, note pg_catalog.text)
AS 'MODULE_PATHNAME', 'recpromo_forget_user'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.forget_user(pg_catalog.anyelement, pg_catalog.text, integer) IS
'erases a customer from every model the caller owns (or the one named) without a retrain, logs a keyed hash of '
'the key; one row per model: interactions removed, whether the result equals a retrain, how';

CREATE FUNCTION @extschema@.forget_item(
    item_id pg_catalog.anyelement,
    model pg_catalog.text DEFAULT NULL)
RETURNS TABLE (model_name pg_catalog.text, method pg_catalog.text, rows_removed bigint,
               exact boolean, note pg_catalog.text)
AS 'MODULE_PATHNAME', 'recpromo_forget_item'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.forget_item(pg_catalog.anyelement, pg_catalog.text) IS
'erases a product (a delisted item) from every model the caller owns (or the one named) without a retrain';

CREATE FUNCTION @extschema@.erasure_logged(
    key pg_catalog.anyelement,
    kind pg_catalog.text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'recpromo_erasure_logged'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.erasure_logged(pg_catalog.anyelement, pg_catalog.text) IS
'auditors (superusers, the extension owner): whether the erasure log holds an erasure of this key (kind user, item or NULL for either)';

-- ---------------------------------------------------------------------------
-- Serving.  Keys passed and returned share the type of the first key
-- argument, so results join the caller's tables without casts.
-- ---------------------------------------------------------------------------
-- Planner support (src/pg/planner_support.c): the row count of one call,
-- from its arguments.  _rows_at_most_n: at most n rows when n is a constant
-- (a function with an input argument named n).  _rows_per_source_row: one
-- row per row of the relation given as a constant argument named source (a
-- regclass, or a typed NULL of the table's row type).  Otherwise the
-- function's ROWS applies.  Arguments of type internal: not callable from SQL.
CREATE FUNCTION @extschema@._rows_at_most_n(pg_catalog.internal) RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'recpromo_rows_at_most_n'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._rows_at_most_n(pg_catalog.internal) IS
'internal: planner support, estimates a call at n rows when its argument n is a constant';
REVOKE ALL ON FUNCTION @extschema@._rows_at_most_n(pg_catalog.internal) FROM PUBLIC;

CREATE FUNCTION @extschema@._rows_per_source_row(pg_catalog.internal) RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'recpromo_rows_per_source_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._rows_per_source_row(pg_catalog.internal) IS
'internal: planner support, estimates a call at the row count of its constant argument source';
REVOKE ALL ON FUNCTION @extschema@._rows_per_source_row(pg_catalog.internal) FROM PUBLIC;

CREATE FUNCTION @extschema@.recommend(
    user_id pg_catalog.anyelement,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL,
    exclude_seen boolean DEFAULT true,
    only_items pg_catalog."any" DEFAULT NULL,
    exclude_items pg_catalog."any" DEFAULT NULL,
    boosts pg_catalog.regclass DEFAULT NULL,
    boost_item_col pg_catalog.name DEFAULT 'item_id',
    boost_col pg_catalog.name DEFAULT 'weight',
    boost_mode pg_catalog.text DEFAULT 'multiply',
    categories pg_catalog.regclass DEFAULT NULL,
    category_item_col pg_catalog.name DEFAULT 'item_id',
    category_col pg_catalog.name DEFAULT 'category',
    max_per_category integer DEFAULT NULL,
    only_categories pg_catalog.text[] DEFAULT NULL,
    exclude_categories pg_catalog.text[] DEFAULT NULL,
    diversity double precision DEFAULT NULL,
    calibration double precision DEFAULT NULL,
    min_share double precision DEFAULT NULL,
    share_items pg_catalog."any" DEFAULT NULL,
    share_categories pg_catalog.text[] DEFAULT NULL)
RETURNS TABLE (item pg_catalog.anyelement, score double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.recommend(pg_catalog.anyelement, integer, pg_catalog.text, boolean,
    pg_catalog."any", pg_catalog."any", pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.text[], pg_catalog.text[], double precision, double precision, double precision,
    pg_catalog."any", pg_catalog.text[]) IS
'top-n items for a user, best first: skips what the user already interacted with, filters inside the selection, '
'optional boosts (score * weight or score + weight from a table) and category rules (only/never these categories, '
'at most max_per_category per category), re-ranking for diversity (MMR), calibration to the customer''s category mix '
'and a minimum share for a group of items, folds in users newer than the model, popularity for users with no history';

CREATE FUNCTION @extschema@.recommend_for_items(
    item_ids pg_catalog.anyarray,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL,
    exclude_input boolean DEFAULT true)
RETURNS TABLE (item pg_catalog.anyelement, score double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_for_items'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.recommend_for_items(pg_catalog.anyarray, integer, pg_catalog.text, boolean) IS
'"customers who bought these also bought": top-n items for a basket, scored as a new user who bought the basket';

CREATE FUNCTION @extschema@.similar_items(
    item_id pg_catalog.anyelement,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL)
RETURNS TABLE (item pg_catalog.anyelement, similarity double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_similar_items'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.similar_items(pg_catalog.anyelement, integer, pg_catalog.text) IS
'the n items most similar to an item under the model (empty for an item the model does not know)';

CREATE FUNCTION @extschema@.similar_users(
    user_id pg_catalog.anyelement,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL)
RETURNS TABLE (neighbour pg_catalog.anyelement, similarity double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_similar_users'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.similar_users(pg_catalog.anyelement, integer, pg_catalog.text) IS
'the n users most similar to a user under the model (a new user is folded in from the live table)';

CREATE FUNCTION @extschema@.predict(
    user_id pg_catalog.anyelement,
    item_id pg_catalog.anyelement,
    model pg_catalog.text DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_predict'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict(pg_catalog.anyelement, pg_catalog.anyelement, pg_catalog.text) IS
'the model''s score (or predicted rating) of an item for a user, folded in from the source for a new user; '
'for a user with no rows the model''s baseline (popularity, als_explicit: mean + item bias) or NULL; '
'NULL for an item the model does not know';

CREATE FUNCTION @extschema@.explain_recommendation(
    user_id pg_catalog.anyelement,
    item_id pg_catalog.anyelement,
    model pg_catalog.text DEFAULT NULL)
RETURNS TABLE (history_item pg_catalog.anyelement, contribution double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_explain_recommendation'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.explain_recommendation(pg_catalog.anyelement, pg_catalog.anyelement, pg_catalog.text) IS
'the items of the user''s history that drive the score of an item, with their contributions, largest first';
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
-- ---------------------------------------------------------------------------
-- Sessions (src/pg/method_session_knn.c, serve.c, session_eval.c): the
-- session_knn method (V-SKNN, Ludewig and Jannach 2018) trained from
-- (session, item, time) rows, recommendations for an ordered session whose
-- recent items count more, and the next-item evaluation of held-out
-- sessions.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.train_session(
    name text,
    source regclass,
    session_col name,
    item_col name,
    time_col name,
    neighbours integer DEFAULT 100,
    sample_size integer DEFAULT 500)
RETURNS SETOF @extschema@.models
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF train_session.time_col IS NULL THEN
        RAISE EXCEPTION 'time_col must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the column that orders the events of a session.';
    END IF;
    RETURN QUERY SELECT * FROM @extschema@.train(train_session.name, train_session.source,
        train_session.session_col, train_session.item_col, NULL, method => 'session_knn',
        params => pg_catalog.jsonb_build_object('time_col', train_session.time_col::pg_catalog.text,
                                                'neighbours', train_session.neighbours,
                                                'sample_size', train_session.sample_size));
END
$$;
COMMENT ON FUNCTION @extschema@.train_session(text, regclass, name, name, name, integer, integer) IS
'trains a session_knn model (V-SKNN: session k-nearest neighbours with recency weighting) from '
'(session or customer, item, time) rows; serve it with recommend_for_session';

CREATE FUNCTION @extschema@.recommend_for_session(
    items pg_catalog.anyarray,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL,
    exclude_input boolean DEFAULT true,
    only_items pg_catalog."any" DEFAULT NULL,
    exclude_items pg_catalog."any" DEFAULT NULL,
    boosts pg_catalog.regclass DEFAULT NULL,
    boost_item_col pg_catalog.name DEFAULT 'item_id',
    boost_col pg_catalog.name DEFAULT 'weight',
    boost_mode pg_catalog.text DEFAULT 'multiply',
    categories pg_catalog.regclass DEFAULT NULL,
    category_item_col pg_catalog.name DEFAULT 'item_id',
    category_col pg_catalog.name DEFAULT 'category',
    max_per_category integer DEFAULT NULL,
    only_categories pg_catalog.text[] DEFAULT NULL,
    exclude_categories pg_catalog.text[] DEFAULT NULL)
RETURNS TABLE (item pg_catalog.anyelement, score double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_for_session'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.recommend_for_session(pg_catalog.anyarray, integer, pg_catalog.text, boolean,
    pg_catalog."any", pg_catalog."any", pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.text[], pg_catalog.text[]) IS
'top-n items for an anonymous session (items in order, most recent last): item at position p of L weighs p / L; '
'filters, boosts and category rules as recommend(); an empty session gets the popularity list';

CREATE FUNCTION @extschema@.evaluate_sessions(
    model pg_catalog.text,
    source pg_catalog.regclass,
    session_col pg_catalog.name,
    item_col pg_catalog.name,
    time_col pg_catalog.name,
    k integer DEFAULT 20,
    exclude_input boolean DEFAULT false,
    order_blind boolean DEFAULT false)
RETURNS TABLE (model_name pg_catalog.text, sessions_evaluated bigint, sessions_skipped bigint,
               hit_rate double precision, mrr double precision)
AS 'MODULE_PATHNAME', 'recpromo_evaluate_sessions'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 1;
COMMENT ON FUNCTION @extschema@.evaluate_sessions(pg_catalog.text, pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, pg_catalog.name, integer, boolean, boolean) IS
'next-item prediction on held-out sessions: each session''s last item predicted from the items before it '
'(scored as recommend_for_session, or as recommend_for_items with order_blind); hit rate and MRR at k';
-- ---------------------------------------------------------------------------
-- Evaluation: deterministic splits, per-user ranking metrics and the scoring
-- of ranked lists against held-out data (doc/evaluation.md has the
-- formulas and conventions).
-- ---------------------------------------------------------------------------

-- Deterministic random split --------------------------------------------------
CREATE FUNCTION @extschema@.split_position(user_key pg_catalog."any", item_key pg_catalog."any", seed bigint DEFAULT 0)
RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_split_position'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.split_position(pg_catalog."any", pg_catalog."any", bigint) IS
'position of a (user, item) pair in [0, 1): SplitMix64-finalised FNV-1a hash of the keys'' text forms and the seed; the same on every machine';

CREATE FUNCTION @extschema@.in_test_set(user_key pg_catalog."any", item_key pg_catalog."any", fraction double precision,
                                         seed bigint DEFAULT 0)
RETURNS boolean
AS 'MODULE_PATHNAME', 'recpromo_in_test_set'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.in_test_set(pg_catalog."any", pg_catalog."any", double precision, bigint) IS
'true for the (user, item) pairs of a deterministic random test split: split_position(user, item, seed) < fraction; usable in views and indexes';

-- Per-user time-based split -----------------------------------------------------
CREATE FUNCTION @extschema@.time_split(
    source pg_catalog.anyelement,
    user_col pg_catalog.name,
    time_col pg_catalog.name,
    holdout integer DEFAULT NULL,
    after pg_catalog.timestamptz DEFAULT NULL)
RETURNS TABLE (rec pg_catalog.anyelement, is_test boolean)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
ROWS 1000 SUPPORT @extschema@._rows_per_source_row
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel pg_catalog.regclass;
    time_type pg_catalog.regtype;
    n integer := coalesce(holdout, 1);
    a pg_catalog.text := 'src';
    chk record;
BEGIN
    SELECT t.typrelid::pg_catalog.regclass INTO rel
      FROM pg_catalog.pg_type t
     WHERE t.oid OPERATOR(pg_catalog.=) pg_catalog.pg_typeof(source)
       AND t.typrelid OPERATOR(pg_catalog.<>) 0;
    IF rel IS NULL THEN
        RAISE EXCEPTION 'source must be a row of a table or view, not %', pg_catalog.pg_typeof(source)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Pass a typed NULL such as NULL::orders.';
    END IF;
    -- the columns must exist (checked inline: no SQL-callable helper, issue 18)
    FOR chk IN SELECT c.col, c.what, a.atttypid::pg_catalog.regtype AS t
                 FROM ROWS FROM (pg_catalog.unnest(ARRAY[user_col, time_col]),
                                 pg_catalog.unnest(ARRAY['user_col', 'time_col'])) WITH ORDINALITY c(col, what, o)
                 LEFT JOIN pg_catalog.pg_attribute a
                   ON a.attrelid OPERATOR(pg_catalog.=) rel AND a.attname OPERATOR(pg_catalog.=) c.col
                  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                ORDER BY c.o LOOP
        IF chk.col IS NULL THEN
            RAISE EXCEPTION '% must not be NULL', chk.what
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = pg_catalog.format('Name a column of %s.', rel);
        END IF;
        IF chk.t IS NULL THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', chk.col, rel
                USING ERRCODE = 'undefined_column',
                      HINT = pg_catalog.format('Check the %s argument.', chk.what);
        END IF;
        time_type := chk.t;
    END LOOP;
    -- the whole-row alias must not be the name of a column
    WHILE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute c
                   WHERE c.attrelid OPERATOR(pg_catalog.=) rel AND c.attname OPERATOR(pg_catalog.=) a
                     AND NOT c.attisdropped) LOOP
        a := a OPERATOR(pg_catalog.||) '_';
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
        IF time_type NOT IN ('pg_catalog.date'::pg_catalog.regtype, 'pg_catalog.timestamp'::pg_catalog.regtype,
                             'pg_catalog.timestamptz'::pg_catalog.regtype) THEN
            RAISE EXCEPTION 'time_col must be a date or timestamp to split by after, not %', time_type
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use holdout, which works with any ordered type.';
        END IF;
        RETURN QUERY EXECUTE pg_catalog.format(
            'SELECT %4$I, CASE WHEN %4$I.%1$I IS NULL OR %4$I.%2$I IS NULL THEN NULL
                               ELSE %4$I.%2$I::pg_catalog.timestamptz OPERATOR(pg_catalog.>) $1 END
               FROM %3$s %4$I', user_col, time_col, rel, a)
            USING after;
    ELSE
        -- d_desc: 1 for the user's latest time; d_desc + d_asc - 1 is the
        -- user's number of distinct times.  Rows without a time form their
        -- own partition so that they never shift the ranks.
        RETURN QUERY EXECUTE pg_catalog.format(
            'SELECT s.r, CASE WHEN s.u_null OR s.t_null THEN NULL
                              ELSE s.d_desc OPERATOR(pg_catalog.<=) $1
                               AND s.d_desc OPERATOR(pg_catalog.+) s.d_asc OPERATOR(pg_catalog.-) 1
                                   OPERATOR(pg_catalog.>) $1 END
               FROM (SELECT %4$I AS r, %4$I.%1$I IS NULL AS u_null, %4$I.%2$I IS NULL AS t_null,
                            pg_catalog.dense_rank() OVER (PARTITION BY %4$I.%1$I, %4$I.%2$I IS NULL ORDER BY %4$I.%2$I DESC) AS d_desc,
                            pg_catalog.dense_rank() OVER (PARTITION BY %4$I.%1$I, %4$I.%2$I IS NULL ORDER BY %4$I.%2$I) AS d_asc
                       FROM %3$s %4$I) s', user_col, time_col, rel, a)
            USING n;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.time_split(pg_catalog.anyelement, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.timestamptz) IS
'every row of a table or view (pass NULL::name) with is_test: the rows at each user''s last holdout distinct times (users keep at least one training time), or the rows after a date; NULL user or time gives NULL';

-- Per-user ranking metrics --------------------------------------------------------
CREATE FUNCTION @extschema@.ranking_metrics(
    ranks double precision[],
    relevant boolean[],
    n_relevant integer,
    k integer DEFAULT 10,
    OUT hits double precision,
    OUT "precision" double precision,
    OUT recall double precision,
    OUT f1 double precision,
    OUT ndcg double precision,
    OUT average_precision double precision,
    OUT hit double precision,
    OUT reciprocal_rank double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'recpromo_ranking_metrics'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ranking_metrics(double precision[], boolean[], integer, integer) IS
'one user''s ranked list scored at k: ranks ascending (equal ranks are ties, scored by expectation), relevance flags, and the size of the user''s relevant set';

-- Scoring any ranked lists against a test table ---------------------------------
CREATE FUNCTION @extschema@.evaluate_rankings(
    recommendations pg_catalog.regclass,
    test pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    rank_col pg_catalog.name DEFAULT 'rank',
    k integer DEFAULT 10,
    rating_col pg_catalog.name DEFAULT NULL,
    relevance_threshold double precision DEFAULT NULL,
    train pg_catalog.regclass DEFAULT NULL)
RETURNS TABLE (
    model_name pg_catalog.text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k double precision,
    recall_at_k double precision,
    f1_at_k double precision,
    ndcg_at_k double precision,
    map_at_k double precision,
    hit_rate_at_k double precision,
    mrr_at_k double precision,
    coverage double precision,
    popularity_recommended double precision,
    popularity_catalogue double precision,
    popularity_bias double precision,
    rmse double precision,
    mae double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED ROWS 1
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cut integer := k;
    rel_expr pg_catalog.text := 'true';
    cat_sql pg_catalog.text := 'NULL::pg_catalog.float8 AS cov, NULL::pg_catalog.float8 AS prec, NULL::pg_catalog.float8 AS pcat';
    dup record;
    bad boolean;
    cols pg_catalog.name[];
    whats pg_catalog.text[];
    rels pg_catalog.regclass[];
    cats pg_catalog."char"[];
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
    -- Column checks, inline (issue 18: no SQL-callable helper): each
    -- (relation, column) is looked up once, in this order; a missing one
    -- raises undefined_column, then the type rules apply.  cats[j] is the
    -- pg_type.typcategory of column j (of a domain's base type).
    SELECT pg_catalog.array_agg(c.col ORDER BY c.o), pg_catalog.array_agg(c.what ORDER BY c.o),
           pg_catalog.array_agg(c.rel ORDER BY c.o),
           pg_catalog.array_agg((SELECT b.typcategory FROM pg_catalog.pg_type d, pg_catalog.pg_type b
                                  WHERE d.oid OPERATOR(pg_catalog.=) a.atttypid
                                    AND b.oid OPERATOR(pg_catalog.=) CASE WHEN d.typtype OPERATOR(pg_catalog.=) 'd'
                                                                         THEN d.typbasetype ELSE d.oid END)
                                ORDER BY c.o)
      INTO cols, whats, rels, cats
      FROM ROWS FROM (pg_catalog.unnest(ARRAY[test, recommendations, test, recommendations, recommendations, test, train, train]),
                      pg_catalog.unnest(ARRAY[user_col, user_col, item_col, item_col, rank_col, rating_col, item_col, user_col]),
                      pg_catalog.unnest(ARRAY['user_col', 'user_col', 'item_col', 'item_col', 'rank_col', 'rating_col', 'item_col', 'user_col']))
           WITH ORDINALITY c(rel, col, what, o)
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid OPERATOR(pg_catalog.=) c.rel AND a.attname OPERATOR(pg_catalog.=) c.col
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    FOR j IN 1..8 LOOP
        CONTINUE WHEN (j = 6 AND rating_col IS NULL) OR (j >= 7 AND train IS NULL);
        IF cols[j] IS NULL THEN
            RAISE EXCEPTION '% must not be NULL', whats[j]
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = pg_catalog.format('Name a column of %s.', rels[j]);
        END IF;
        IF cats[j] IS NULL THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', cols[j], rels[j]
                USING ERRCODE = 'undefined_column',
                      HINT = pg_catalog.format('Check the %s argument.', whats[j]);
        END IF;
        IF j = 4 AND (cats[1] <> cats[2] OR cats[3] <> cats[4]) THEN
            RAISE EXCEPTION 'user and item columns of % and % have incompatible types', recommendations, test
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use keys of the same type in both tables, or a view that casts them.';
        END IF;
        IF j = 5 AND cats[5] <> 'N' THEN
            RAISE EXCEPTION 'rank column "%" must be numeric', rank_col
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Ranks are ascending numbers; equal ranks are ties.';
        END IF;
        IF j = 5 AND relevance_threshold IS NOT NULL THEN
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
        IF j = 6 AND cats[6] <> 'N' THEN
            RAISE EXCEPTION 'rating column "%" must be numeric', rating_col
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Ratings, quantities or counts are compared with relevance_threshold.';
        END IF;
        IF j = 7 AND cats[7] <> cats[4] THEN
            RAISE EXCEPTION 'item columns of % and % have incompatible types', recommendations, train
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use keys of the same type in both tables, or a view that casts them.';
        END IF;
    END LOOP;
    IF rating_col IS NOT NULL THEN
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %s t WHERE t.%I::pg_catalog.float8 IN (''NaN'', ''Infinity'', ''-Infinity''))',
                       test, rating_col) INTO bad;
        IF bad THEN
            RAISE EXCEPTION 'rating column "%" of % contains NaN or infinite values', rating_col, test
                USING ERRCODE = 'data_exception',
                      HINT = 'Filter those rows out with a view.';
        END IF;
        IF relevance_threshold IS NOT NULL THEN
            rel_expr := pg_catalog.format('coalesce(pg_catalog.sum(t.%I::pg_catalog.float8) >= $1, false)', rating_col);
        END IF;
    END IF;
    IF train IS NOT NULL THEN
        cat_sql := pg_catalog.format(
            $q$(SELECT pg_catalog.count(*) FILTER (WHERE e.x > 0)::pg_catalog.float8 / nullif((SELECT pg_catalog.count(*) FROM pop), 0)
                  FROM ex e JOIN pop p ON p.i = e.i) AS cov,
               (SELECT pg_catalog.sum(e.x * coalesce(p.p, 0)) / nullif(pg_catalog.sum(e.x), 0)
                  FROM ex e LEFT JOIN pop p ON p.i = e.i) AS prec,
               (SELECT pg_catalog.avg(p.p)::pg_catalog.float8 FROM pop p) AS pcat$q$);
    END IF;

    EXECUTE pg_catalog.format('SELECT r.%1$I::pg_catalog.text AS u, r.%2$I::pg_catalog.text AS i FROM %3$s r
                     WHERE r.%1$I IS NOT NULL AND r.%2$I IS NOT NULL AND r.%4$I IS NOT NULL
                     GROUP BY r.%1$I, r.%2$I HAVING pg_catalog.count(*) > 1 LIMIT 1',
                   user_col, item_col, recommendations, rank_col) INTO dup;
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %s r WHERE r.%I::pg_catalog.float8 IN (''NaN'', ''Infinity'', ''-Infinity''))',
                   recommendations, rank_col) INTO bad;
    IF bad THEN
        RAISE EXCEPTION 'rank column "%" of % contains NaN or infinite values', rank_col, recommendations
            USING ERRCODE = 'data_exception',
                  HINT = 'Ranks must be finite; filter those rows out with a view.';
    END IF;
    IF dup.u IS NOT NULL THEN
        RAISE EXCEPTION 'item % appears more than once in the ranking of user %', dup.i, dup.u
            USING ERRCODE = 'data_exception',
                  HINT = pg_catalog.format('Keep one row per user and item in %s.', recommendations);
    END IF;

    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH t AS (
            SELECT t.%1$I AS u, t.%2$I AS i, %4$s AS rel
              FROM %5$s t
             WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL
             GROUP BY 1, 2),
        tu AS (
            SELECT t.u, pg_catalog.count(*) FILTER (WHERE t.rel) AS n_rel FROM t GROUP BY t.u),
        rw AS (
            SELECT s.u, s.i, s.rk,
                   greatest(0, least(s.m, $2 - s.start + 1))::pg_catalog.float8 / s.m AS w
              FROM (SELECT r.%1$I AS u, r.%2$I AS i, r.%3$I::pg_catalog.float8 AS rk,
                           pg_catalog.rank() OVER (PARTITION BY r.%1$I ORDER BY r.%3$I::pg_catalog.float8) AS start,
                           pg_catalog.count(*) OVER (PARTITION BY r.%1$I, r.%3$I::pg_catalog.float8) AS m
                      FROM %6$s r
                     WHERE r.%2$I IS NOT NULL AND r.%3$I IS NOT NULL
                       AND r.%1$I IN (SELECT tu.u FROM tu WHERE tu.n_rel > 0)) s
             WHERE s.start <= $2),
        pu AS (
            SELECT rw.u, pg_catalog.min(tu.n_rel)::integer AS n_rel,
                   pg_catalog.array_agg(rw.rk) AS ranks, pg_catalog.array_agg(coalesce(t.rel, false)) AS rels
              FROM rw JOIN tu ON tu.u = rw.u
                      LEFT JOIN t ON t.u = rw.u AND t.i = rw.i
             GROUP BY rw.u),
        m AS (
            SELECT x.* FROM pu, LATERAL @extschema@.ranking_metrics(pu.ranks, pu.rels, pu.n_rel, $2) x),
        ex AS (
            SELECT rw.i, pg_catalog.sum(rw.w) AS x FROM rw GROUP BY rw.i),
        pop AS (%7$s),
        cat AS (SELECT %8$s),
        agg AS (
            SELECT pg_catalog.count(*) AS n, pg_catalog.avg(m."precision") AS p, pg_catalog.avg(m.recall) AS r, pg_catalog.avg(m.f1) AS f1,
                   pg_catalog.avg(m.ndcg) AS ndcg, pg_catalog.avg(m.average_precision) AS ap, pg_catalog.avg(m.hit) AS hit,
                   pg_catalog.avg(m.reciprocal_rank) AS rr
              FROM m),
        cnt AS (
            SELECT pg_catalog.count(*) FILTER (WHERE tu.n_rel = 0) AS no_test,
                   pg_catalog.count(*) FILTER (WHERE tu.n_rel > 0) AS with_test
              FROM tu)
        SELECT $3::pg_catalog.text, agg.n, cnt.no_test, cnt.with_test - agg.n,
               agg.p, agg.r, agg.f1, agg.ndcg, agg.ap, agg.hit, agg.rr,
               cat.cov, cat.prec, cat.pcat, cat.prec / nullif(cat.pcat, 0),
               NULL::pg_catalog.float8, NULL::pg_catalog.float8
          FROM agg, cnt, cat$q$,
        user_col, item_col, rank_col, rel_expr, test, recommendations,
        CASE WHEN train IS NULL THEN 'SELECT NULL::pg_catalog.float8 AS i, 0::bigint AS p'
             ELSE pg_catalog.format('SELECT x.%2$I AS i, pg_catalog.count(DISTINCT x.%1$I) AS p FROM %3$s x
                           WHERE x.%1$I IS NOT NULL AND x.%2$I IS NOT NULL GROUP BY 1',
                         user_col, item_col, train) END,
        cat_sql)
        USING relevance_threshold, cut, recommendations::pg_catalog.text;
END
$$;
COMMENT ON FUNCTION @extschema@.evaluate_rankings(pg_catalog.regclass, pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, pg_catalog.name, integer, pg_catalog.name, double precision, pg_catalog.regclass) IS
'scores any table of ranked lists (user, item, rank) against a test table at k: precision, recall, F1, NDCG, MAP, hit rate, MRR, and with train given coverage and popularity bias; one row, model_name being the schema-qualified name of the recommendations table';

-- Scoring a trained model against held-out interactions --------------------------
CREATE FUNCTION @extschema@.evaluate(
    model pg_catalog.text,
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    rating_col pg_catalog.name DEFAULT NULL,
    k integer DEFAULT 10,
    relevance_threshold double precision DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (
    model_name pg_catalog.text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k double precision,
    recall_at_k double precision,
    f1_at_k double precision,
    ndcg_at_k double precision,
    map_at_k double precision,
    hit_rate_at_k double precision,
    mrr_at_k double precision,
    coverage double precision,
    popularity_recommended double precision,
    popularity_catalogue double precision,
    popularity_bias double precision,
    rmse double precision,
    mae double precision)
AS 'MODULE_PATHNAME', 'recpromo_evaluate'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1;
COMMENT ON FUNCTION @extschema@.evaluate(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, integer, double precision, boolean) IS
'scores a trained model (NULL: the default) against a test table: each test user''s top k as recommend() serves it (training items excluded), ranking metrics, coverage, popularity bias, and RMSE/MAE for models trained on ratings; one row';

-- Fairness and exposure (issue 13; doc/evaluation.md, "Fairness and exposure", has the
-- formulas and references) -------------------------------------------------
CREATE FUNCTION @extschema@.exposure(
    model pg_catalog.text,
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    k integer DEFAULT 10,
    exclude_seen boolean DEFAULT true,
    item_groups pg_catalog.regclass DEFAULT NULL,
    group_item_col pg_catalog.name DEFAULT 'item_id',
    group_col pg_catalog.name DEFAULT 'item_group',
    head_share double precision DEFAULT 0.2)
RETURNS TABLE (measure pg_catalog.text, item_group pg_catalog.text, value double precision)
AS 'MODULE_PATHNAME', 'recpromo_exposure'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 8;
COMMENT ON FUNCTION @extschema@.exposure(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    integer, boolean, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, double precision) IS
'exposure of the top-k lists evaluate() scores: Gini coefficient of item exposure, long-tail share, APLT and ARP '
'(head: the head_share most popular training items), and with an item-group table each group''s share of the '
'recommended slots against its share of the relevant test items';

CREATE FUNCTION @extschema@.evaluate_by_group(
    model pg_catalog.text,
    test_source pg_catalog.regclass,
    user_groups pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    group_user_col pg_catalog.name DEFAULT 'user_id',
    group_col pg_catalog.name DEFAULT 'user_group',
    rating_col pg_catalog.name DEFAULT NULL,
    k integer DEFAULT 10,
    relevance_threshold double precision DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (
    user_group pg_catalog.text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k double precision,
    recall_at_k double precision,
    f1_at_k double precision,
    ndcg_at_k double precision,
    map_at_k double precision,
    hit_rate_at_k double precision,
    mrr_at_k double precision)
AS 'MODULE_PATHNAME', 'recpromo_evaluate_by_group'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.evaluate_by_group(pg_catalog.text, pg_catalog.regclass, pg_catalog.regclass,
    pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, integer,
    double precision, boolean) IS
'evaluate()''s accuracy metrics per user group (new vs returning customers, region...): one row per group in key '
'order, then one with user_group NULL for test users in no group';

CREATE FUNCTION @extschema@.exposure_rankings(
    recommendations pg_catalog.regclass,
    test pg_catalog.regclass,
    train pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    rank_col pg_catalog.name DEFAULT 'rank',
    k integer DEFAULT 10,
    item_groups pg_catalog.regclass DEFAULT NULL,
    group_item_col pg_catalog.name DEFAULT 'item_id',
    group_col pg_catalog.name DEFAULT 'item_group',
    head_share double precision DEFAULT 0.2)
RETURNS TABLE (measure pg_catalog.text, item_group pg_catalog.text, value double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED ROWS 8
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cut integer := k;
    cols pg_catalog.name[];
    whats pg_catalog.text[];
    rels pg_catalog.regclass[];
    found_ pg_catalog.bool[];
    grp_sql pg_catalog.text;
BEGIN
    IF recommendations IS NULL OR test IS NULL OR train IS NULL THEN
        RAISE EXCEPTION 'recommendations, test and train must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the table of ranked lists, the held-out interactions and the training interactions.';
    END IF;
    IF cut IS NULL OR cut < 1 THEN
        RAISE EXCEPTION 'k must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'k is the length of the ranked lists to score, such as 10.';
    END IF;
    IF head_share IS NULL OR NOT (head_share >= 0 AND head_share <= 1) THEN
        RAISE EXCEPTION 'head_share must be between 0 and 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The head is this share of the catalogue, most popular first, such as 0.2.';
    END IF;
    -- column checks inline (issue 18: no SQL-callable helper)
    SELECT pg_catalog.array_agg(c.col ORDER BY c.o), pg_catalog.array_agg(c.what ORDER BY c.o),
           pg_catalog.array_agg(c.rel ORDER BY c.o), pg_catalog.array_agg(a.attnum IS NOT NULL ORDER BY c.o)
      INTO cols, whats, rels, found_
      FROM ROWS FROM (pg_catalog.unnest(ARRAY[recommendations, recommendations, recommendations, test, test, train, train,
                                              item_groups, item_groups]),
                      pg_catalog.unnest(ARRAY[user_col, item_col, rank_col, user_col, item_col, user_col, item_col,
                                              group_item_col, group_col]),
                      pg_catalog.unnest(ARRAY['user_col', 'item_col', 'rank_col', 'user_col', 'item_col', 'user_col',
                                              'item_col', 'group_item_col', 'group_col']))
           WITH ORDINALITY c(rel, col, what, o)
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid OPERATOR(pg_catalog.=) c.rel AND a.attname OPERATOR(pg_catalog.=) c.col
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    FOR j IN 1..9 LOOP
        CONTINUE WHEN j >= 8 AND item_groups IS NULL;
        IF cols[j] IS NULL THEN
            RAISE EXCEPTION '% must not be NULL', whats[j]
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = pg_catalog.format('Name a column of %s.', rels[j]);
        END IF;
        IF NOT found_[j] THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', cols[j], rels[j]
                USING ERRCODE = 'undefined_column',
                      HINT = pg_catalog.format('Check the %s argument.', whats[j]);
        END IF;
    END LOOP;

    -- Lists as evaluate_rankings() scores them: users with a test item,
    -- slot weight w = the share of a tie group within the top k.  Keys are
    -- compared as text, so any key types meet.
    grp_sql := CASE WHEN item_groups IS NULL
        THEN 'SELECT NULL::pg_catalog.text AS g, NULL::pg_catalog.text AS i WHERE false'
        ELSE pg_catalog.format('SELECT DISTINCT x.%2$I::pg_catalog.text AS g, x.%1$I::pg_catalog.text AS i FROM %3$s x
                                 WHERE x.%1$I IS NOT NULL AND x.%2$I IS NOT NULL', group_item_col, group_col, item_groups) END;
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH tu AS (
            SELECT DISTINCT t.%1$I::pg_catalog.text AS u FROM %5$s t WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL),
        rel AS (
            SELECT DISTINCT t.%1$I::pg_catalog.text AS u, t.%2$I::pg_catalog.text AS i
              FROM %5$s t WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL),
        pop AS (
            SELECT x.%2$I::pg_catalog.text AS i, pg_catalog.count(DISTINCT x.%1$I)::pg_catalog.float8 AS p
              FROM %6$s x WHERE x.%1$I IS NOT NULL AND x.%2$I IS NOT NULL GROUP BY 1),
        rw AS (
            SELECT s.u, s.i, greatest(0, least(s.m, $1 - s.start + 1))::pg_catalog.float8 / s.m AS w
              FROM (SELECT r.%1$I::pg_catalog.text AS u, r.%2$I::pg_catalog.text AS i,
                           pg_catalog.rank() OVER (PARTITION BY r.%1$I ORDER BY r.%3$I::pg_catalog.float8) AS start,
                           pg_catalog.count(*) OVER (PARTITION BY r.%1$I, r.%3$I::pg_catalog.float8) AS m
                      FROM %4$s r
                     WHERE r.%2$I IS NOT NULL AND r.%3$I IS NOT NULL
                       AND r.%1$I::pg_catalog.text IN (SELECT tu.u FROM tu)) s
             WHERE s.start <= $1),
        -- catalogue: the training items plus any recommended item (popularity 0)
        cat AS (
            SELECT pop.i, pop.p FROM pop
            UNION ALL
            SELECT DISTINCT rw.i, 0 FROM rw WHERE rw.i NOT IN (SELECT pop.i FROM pop)),
        -- head: the ceil(head_share n) most popular, ties by key text
        ranked AS (
            SELECT cat.i, cat.p, pg_catalog.row_number() OVER (ORDER BY cat.p DESC, cat.i) AS o,
                   pg_catalog.count(*) OVER () AS n
              FROM cat),
        item AS (
            SELECT ranked.i, ranked.p, ranked.o > ceil($2 * ranked.n - 1e-9) AS tail,
                   coalesce((SELECT pg_catalog.sum(rw.w) FROM rw WHERE rw.i = ranked.i), 0) AS x, ranked.n
              FROM ranked),
        lists AS (
            SELECT rw.u, pg_catalog.sum(rw.w) AS len,
                   pg_catalog.sum(rw.w) FILTER (WHERE item.tail) AS tail,
                   pg_catalog.sum(rw.w * item.p) AS pop
              FROM rw JOIN item ON item.i = rw.i GROUP BY rw.u HAVING pg_catalog.sum(rw.w) > 0),
        grp AS (%7$s),
        tot AS (SELECT pg_catalog.sum(rw.w) AS slots FROM rw),
        res AS (
        -- Gini: sum_i (2 i - n - 1) x_(i) / (n sum x), x ascending
        SELECT 1 AS o1, NULL::pg_catalog.text AS g, 'gini'::pg_catalog.text AS m,
               (SELECT CASE WHEN (SELECT pg_catalog.count(*) FROM lists) > 0
                            THEN coalesce((SELECT pg_catalog.sum((2 * s.o - s.n - 1) * s.x)
                                             FROM (SELECT item.x, item.n, pg_catalog.row_number() OVER (ORDER BY item.x, item.i) AS o
                                                     FROM item) s)
                                          / nullif((SELECT pg_catalog.max(item.n) * pg_catalog.sum(item.x) FROM item), 0), 0) END)::pg_catalog.float8 AS v
        UNION ALL
        SELECT 2, NULL, 'long_tail_share', (SELECT pg_catalog.sum(coalesce(l.tail, 0)) / nullif(pg_catalog.sum(l.len), 0) FROM lists l)
        UNION ALL
        SELECT 3, NULL, 'aplt', (SELECT pg_catalog.avg(coalesce(l.tail, 0) / l.len) FROM lists l)
        UNION ALL
        SELECT 4, NULL, 'arp', (SELECT pg_catalog.avg(l.pop / l.len) FROM lists l)
        UNION ALL
        SELECT 5, g.g, 'exposure_share',
                   (SELECT pg_catalog.sum(rw.w) FROM rw WHERE rw.i IN (SELECT gi.i FROM grp gi WHERE gi.g = g.g)
                       AND rw.u IN (SELECT l.u FROM lists l))
                   / nullif((SELECT tot.slots FROM tot), 0)
              FROM (SELECT DISTINCT grp.g FROM grp) g
        UNION ALL
        SELECT 6, g.g, 'relevant_share',
                   (SELECT pg_catalog.count(*) FROM rel WHERE rel.i IN (SELECT gi.i FROM grp gi WHERE gi.g = g.g)
                       AND rel.i IN (SELECT item.i FROM item) AND rel.u IN (SELECT l.u FROM lists l))::pg_catalog.float8
                   / nullif((SELECT pg_catalog.count(*) FROM rel WHERE rel.i IN (SELECT item.i FROM item)
                               AND rel.u IN (SELECT l.u FROM lists l)), 0)
              FROM (SELECT DISTINCT grp.g FROM grp) g)
        SELECT res.m, res.g, res.v FROM res
         ORDER BY res.g COLLATE "C" NULLS FIRST, res.o1
        $q$, user_col, item_col, rank_col, recommendations, test, train, grp_sql)
        USING cut, head_share;
END
$$;
COMMENT ON FUNCTION @extschema@.exposure_rankings(pg_catalog.regclass, pg_catalog.regclass, pg_catalog.regclass,
    pg_catalog.name, pg_catalog.name, pg_catalog.name, integer, pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, double precision) IS
'exposure of any table of ranked lists (the test users'' lists, top k, ties shared): Gini coefficient, long-tail share, '
'APLT and ARP against the training popularity, and with an item-group table each group''s share of the slots '
'against its share of the relevant test items';

CREATE FUNCTION @extschema@.evaluate_rankings_by_group(
    recommendations pg_catalog.regclass,
    test pg_catalog.regclass,
    user_groups pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    rank_col pg_catalog.name DEFAULT 'rank',
    group_user_col pg_catalog.name DEFAULT 'user_id',
    group_col pg_catalog.name DEFAULT 'user_group',
    k integer DEFAULT 10)
RETURNS TABLE (
    user_group pg_catalog.text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k double precision,
    recall_at_k double precision,
    f1_at_k double precision,
    ndcg_at_k double precision,
    map_at_k double precision,
    hit_rate_at_k double precision,
    mrr_at_k double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED ROWS 10
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cut integer := k;
    cols pg_catalog.name[];
    whats pg_catalog.text[];
    rels pg_catalog.regclass[];
    found_ pg_catalog.bool[];
BEGIN
    IF recommendations IS NULL OR test IS NULL OR user_groups IS NULL THEN
        RAISE EXCEPTION 'recommendations, test and user_groups must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the table of ranked lists, the held-out interactions and the (user, group) table.';
    END IF;
    IF cut IS NULL OR cut < 1 THEN
        RAISE EXCEPTION 'k must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'k is the length of the ranked lists to score, such as 10.';
    END IF;
    -- column checks inline (issue 18: no SQL-callable helper)
    SELECT pg_catalog.array_agg(c.col ORDER BY c.o), pg_catalog.array_agg(c.what ORDER BY c.o),
           pg_catalog.array_agg(c.rel ORDER BY c.o), pg_catalog.array_agg(a.attnum IS NOT NULL ORDER BY c.o)
      INTO cols, whats, rels, found_
      FROM ROWS FROM (pg_catalog.unnest(ARRAY[recommendations, recommendations, recommendations, test, test,
                                              user_groups, user_groups]),
                      pg_catalog.unnest(ARRAY[user_col, item_col, rank_col, user_col, item_col, group_user_col, group_col]),
                      pg_catalog.unnest(ARRAY['user_col', 'item_col', 'rank_col', 'user_col', 'item_col',
                                              'group_user_col', 'group_col']))
           WITH ORDINALITY c(rel, col, what, o)
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid OPERATOR(pg_catalog.=) c.rel AND a.attname OPERATOR(pg_catalog.=) c.col
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    FOR j IN 1..7 LOOP
        IF cols[j] IS NULL THEN
            RAISE EXCEPTION '% must not be NULL', whats[j]
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = pg_catalog.format('Name a column of %s.', rels[j]);
        END IF;
        IF NOT found_[j] THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', cols[j], rels[j]
                USING ERRCODE = 'undefined_column',
                      HINT = pg_catalog.format('Check the %s argument.', whats[j]);
        END IF;
    END LOOP;

    -- evaluate_rankings()'s per-user metrics (every test item relevant),
    -- averaged per group; keys compared as text.
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH t AS (
            SELECT DISTINCT t.%1$I::pg_catalog.text AS u, t.%2$I::pg_catalog.text AS i
              FROM %5$s t WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL),
        tu AS (SELECT t.u, pg_catalog.count(*) AS n_rel FROM t GROUP BY t.u),
        rw AS (
            SELECT s.u, s.i, s.rk
              FROM (SELECT r.%1$I::pg_catalog.text AS u, r.%2$I::pg_catalog.text AS i, r.%3$I::pg_catalog.float8 AS rk,
                           pg_catalog.rank() OVER (PARTITION BY r.%1$I ORDER BY r.%3$I::pg_catalog.float8) AS start
                      FROM %4$s r
                     WHERE r.%2$I IS NOT NULL AND r.%3$I IS NOT NULL
                       AND r.%1$I::pg_catalog.text IN (SELECT tu.u FROM tu)) s
             WHERE s.start <= $1),
        pu AS (
            SELECT rw.u, pg_catalog.min(tu.n_rel)::integer AS n_rel,
                   pg_catalog.array_agg(rw.rk) AS ranks, pg_catalog.array_agg(t.u IS NOT NULL) AS rels
              FROM rw JOIN tu ON tu.u = rw.u
                      LEFT JOIN t ON t.u = rw.u AND t.i = rw.i
             GROUP BY rw.u),
        m AS (
            SELECT pu.u, x.* FROM pu, LATERAL @extschema@.ranking_metrics(pu.ranks, pu.rels, pu.n_rel, $1) x),
        ug AS (
            SELECT DISTINCT g.%6$I::pg_catalog.text AS u, g.%7$I::pg_catalog.text AS g
              FROM %8$s g WHERE g.%6$I IS NOT NULL AND g.%7$I IS NOT NULL),
        -- every group (those without test users too), then the test users in none
        memb AS (
            SELECT ug.g, tu.u FROM ug LEFT JOIN tu ON tu.u = ug.u
            UNION ALL
            SELECT NULL, tu.u FROM tu WHERE tu.u NOT IN (SELECT ug.u FROM ug))
        SELECT memb.g, pg_catalog.count(m.u), 0::bigint, pg_catalog.count(memb.u) - pg_catalog.count(m.u),
               pg_catalog.avg(m."precision"), pg_catalog.avg(m.recall), pg_catalog.avg(m.f1),
               pg_catalog.avg(m.ndcg), pg_catalog.avg(m.average_precision), pg_catalog.avg(m.hit),
               pg_catalog.avg(m.reciprocal_rank)
          FROM memb LEFT JOIN m ON m.u = memb.u
         GROUP BY memb.g
         ORDER BY memb.g COLLATE "C" NULLS LAST$q$,
        user_col, item_col, rank_col, recommendations, test, group_user_col, group_col, user_groups)
        USING cut;
END
$$;
COMMENT ON FUNCTION @extschema@.evaluate_rankings_by_group(pg_catalog.regclass, pg_catalog.regclass,
    pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name,
    integer) IS
'evaluate_rankings()'' accuracy metrics per user group: one row per group in text order, then one with '
'user_group NULL for test users in no group; every test item of a user is relevant';
-- ---------------------------------------------------------------------------
-- Tuning (src/pg/tune.c): tune() searches a method's hyper-parameters on a
-- validation slice of the source, trains the winner on all of it under the
-- model's name, and records every trial in recpromo.tuning_trial under the
-- new model id.  Like the model tables, tuning_trial is closed to PUBLIC:
-- the C code writes it as the extension owner after the ownership check of
-- train(), and the tuning_trials view shows the trials of exactly the
-- models the models view shows (the same grant test).  Trials of a model
-- that was replaced or dropped stay hidden (the view joins on the current
-- id) and are deleted by the next tune().
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.tuning_trial (
    model_id bigint NOT NULL,
    trial    integer NOT NULL,
    params   jsonb NOT NULL,
    metric   text NOT NULL,
    value    float8,
    seconds  float8 NOT NULL,
    fraction float8 NOT NULL,
    chosen   boolean NOT NULL,
    PRIMARY KEY (model_id, trial)
);
REVOKE ALL ON TABLE @extschema@.tuning_trial FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tuning_trial', '');
COMMENT ON TABLE @extschema@.tuning_trial IS
'every trial of the tune() call that produced a model: values tried, validation metric, seconds (see the tuning_trials view)';

CREATE VIEW @extschema@.tuning_trials WITH (security_barrier) AS
SELECT m.name AS model, m.method, t.trial, t.params, t.metric, t.value, t.fraction, t.seconds, t.chosen
FROM @extschema@.tuning_trial t
JOIN @extschema@.model m ON m.id OPERATOR(pg_catalog.=) t.model_id
WHERE pg_catalog.pg_has_role(m.owner::pg_catalog.oid, 'USAGE')
   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(m.readers) g(r)
               WHERE g.r::pg_catalog.oid OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                  OR pg_catalog.pg_has_role(g.r::pg_catalog.oid, 'USAGE'));
COMMENT ON VIEW @extschema@.tuning_trials IS
'the tune() trials of the models the current role may serve (the grant test of the models view): '
'values tried, validation metric, share of users, seconds, and the chosen one';
GRANT SELECT ON @extschema@.tuning_trials TO PUBLIC;

CREATE FUNCTION @extschema@.tune(
    name text,
    source regclass,
    user_col name,
    item_col name,
    rating_col name DEFAULT NULL,
    method text DEFAULT 'als',
    time_col name DEFAULT NULL,
    split text DEFAULT NULL,
    metric text DEFAULT 'ndcg@10',
    strategy text DEFAULT 'adaptive',
    trials integer DEFAULT 20,
    max_seconds float8 DEFAULT NULL,
    validation_fraction float8 DEFAULT 0.2,
    seed integer DEFAULT 0,
    params jsonb DEFAULT '{}')
RETURNS TABLE (trial integer, params jsonb, metric text, value float8, fraction float8,
               seconds float8, chosen boolean)
AS 'MODULE_PATHNAME', 'recpromo_tune'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.tune(text, regclass, name, name, name, text, name, text, text, text,
    integer, float8, float8, integer, jsonb) IS
'searches a method''s hyper-parameters (adaptive: random then refined around the best, random, grid or halving; seeded; under trials and/or max_seconds) '
'on a per-user validation split of the source (each user''s latest items by time_col, a time cut, or random), then trains the best values on '
'all of it under name like train(); returns and records every trial (tuning_trials view)';

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
        params => pg_catalog.jsonb_build_object(
            'attributes', (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
                             FROM pg_catalog.pg_class c
                             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                            WHERE c.oid OPERATOR(pg_catalog.=) train_content.attributes),
            'attribute_key', COALESCE(train_content.attribute_key, train_content.item_col),
            'attribute_columns', pg_catalog.to_jsonb(train_content.attribute_columns::pg_catalog.text[]),
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
    -- the view shows only the models the caller may serve
    SELECT * INTO m FROM @extschema@.models x WHERE x.name OPERATOR(pg_catalog.=) train_hybrid.first_model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', train_hybrid.first_model
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM recpromo.models lists the trained models.';
    END IF;
    IF m.source IS NULL OR pg_catalog.to_regclass(m.source) IS NULL THEN
        RAISE EXCEPTION 'the source of model "%" no longer exists', train_hybrid.first_model
            USING ERRCODE = 'undefined_table',
                  HINT = 'Use recpromo.train() with method => ''hybrid'' and a source.';
    END IF;
    RETURN QUERY SELECT * FROM @extschema@.train(train_hybrid.name, pg_catalog.to_regclass(m.source),
        m.user_col::pg_catalog.name, m.item_col::pg_catalog.name, m.rating_col::pg_catalog.name, method => 'hybrid',
        params => pg_catalog.jsonb_build_object(
            'models', pg_catalog.jsonb_build_array(train_hybrid.first_model, train_hybrid.second_model),
            'weight', train_hybrid.weight, 'min_history', train_hybrid.min_history));
END
$$;
COMMENT ON FUNCTION @extschema@.train_hybrid(text, text, text, float8, integer) IS
'trains a hybrid of two models on the first one''s source: score = a * e * first + (1 - a) * second, '
'each scaled by its largest score for the user, with a = weight * min(1, purchases / min_history) '
'and e = min(1, item buyers / min_history), so the second model (e.g. content) alone scores new '
'customers, and products with few buyers get less of the first model without getting more of the second';
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

-- ---------------------------------------------------------------------------
-- Bandits (since 0.2.0): policies that learn from rewards as they arrive.
--
-- A bandit is one row of recpromo.bandit (configuration, owner, readers),
-- its arms in recpromo.bandit_arm, and its state: per arm, the additive
-- sufficient statistics of the rewards (count, sum, sum of squares and, for
-- the contextual policies, G = sum x x' and b = sum r x) split over
-- `shards` rows of recpromo.bandit_state.  choose() adds the shards up;
-- reward() adds to the shard of its backend (pid modulo shards) under that
-- row's lock, so concurrent sessions rarely wait for each other and no
-- update is lost.  Every decision is logged in recpromo.bandit_decision
-- (context, features, propensity) and every reward in recpromo.bandit_reward
-- (one per decision): the state is a sum over that log, and
-- recount_bandit() checks it.  With window_size W the policy uses the last W
-- rewards only, summed from the log at each decision (exact, O(W)).
-- All of it is transactional (a rolled-back choose or reward leaves no
-- trace), WAL-logged, and dumped by pg_dump (configuration tables).
-- No role but the extension owner has privileges on the tables: the C
-- functions (src/pg/bandit.c) check owner and readers, then switch to the
-- extension owner around their fixed, qualified queries, as for models.
-- ---------------------------------------------------------------------------
CREATE SEQUENCE @extschema@.bandit_id_seq;
CREATE SEQUENCE @extschema@.bandit_decision_seq;
CREATE SEQUENCE @extschema@.bandit_reward_seq;

CREATE TABLE @extschema@.bandit (
    id          bigint PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    policy      text NOT NULL,
    reward      text NOT NULL,
    dimension   integer NOT NULL DEFAULT 0,
    features    text[],
    prior_a     float8 NOT NULL,
    prior_b     float8 NOT NULL,
    prior_mean  float8 NOT NULL,
    prior_var   float8 NOT NULL,
    epsilon     float8 NOT NULL,
    alpha       float8 NOT NULL,
    lambda      float8 NOT NULL,
    draws       integer NOT NULL,
    window_size integer,
    seed        bigint NOT NULL,
    shards      integer NOT NULL,
    owner       regrole NOT NULL,
    readers     regrole[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE @extschema@.bandit_arm (
    bandit_id bigint NOT NULL,
    arm_no    integer NOT NULL,
    arm       text NOT NULL,
    active    boolean NOT NULL DEFAULT true,
    PRIMARY KEY (bandit_id, arm_no),
    UNIQUE (bandit_id, arm)
);

CREATE TABLE @extschema@.bandit_state (
    bandit_id  bigint NOT NULL,
    arm_no     integer NOT NULL,
    shard      integer NOT NULL,
    pulls      bigint NOT NULL DEFAULT 0,
    rewards    bigint NOT NULL DEFAULT 0,
    reward_sum float8 NOT NULL DEFAULT 0,
    reward_sq  float8 NOT NULL DEFAULT 0,
    gram       float8[],
    xr         float8[],
    PRIMARY KEY (bandit_id, arm_no, shard)
);

CREATE TABLE @extschema@.bandit_decision (
    decision_id bigint PRIMARY KEY,
    bandit_id   bigint NOT NULL,
    arm_no      integer NOT NULL,
    propensity  float8 NOT NULL,
    context     jsonb,
    features    float8[],
    decided_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX bandit_decision_bandit ON @extschema@.bandit_decision (bandit_id, arm_no);

CREATE TABLE @extschema@.bandit_reward (
    decision_id bigint PRIMARY KEY,
    bandit_id   bigint NOT NULL,
    reward_seq  bigint NOT NULL,
    value       float8 NOT NULL,
    rewarded_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX bandit_reward_order ON @extschema@.bandit_reward (bandit_id, reward_seq);

REVOKE ALL ON TABLE @extschema@.bandit, @extschema@.bandit_arm, @extschema@.bandit_state,
    @extschema@.bandit_decision, @extschema@.bandit_reward FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.bandit_id_seq, @extschema@.bandit_decision_seq,
    @extschema@.bandit_reward_seq FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_arm', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_state', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_decision', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_reward', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_decision_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_reward_seq', '');

COMMENT ON TABLE @extschema@.bandit IS 'bandits: policy, options, owner and readers (create_bandit)';
COMMENT ON TABLE @extschema@.bandit_arm IS 'arms of the bandits; retired arms are no longer chosen';
COMMENT ON TABLE @extschema@.bandit_state IS 'additive reward statistics per bandit, arm and shard';
COMMENT ON TABLE @extschema@.bandit_decision IS 'every choose() decision with its context and propensity';
COMMENT ON TABLE @extschema@.bandit_reward IS 'every reward(), at most one per decision';

CREATE FUNCTION @extschema@.create_bandit(name text, arms text[], policy text DEFAULT 'thompson',
    reward text DEFAULT 'binary', epsilon float8 DEFAULT 0.1, alpha float8 DEFAULT 1.0,
    dimension integer DEFAULT NULL, features text[] DEFAULT NULL, lambda float8 DEFAULT 1.0,
    prior_a float8 DEFAULT 1.0, prior_b float8 DEFAULT 1.0, prior_mean float8 DEFAULT 0.0,
    prior_var float8 DEFAULT 1.0, window_size integer DEFAULT NULL, draws integer DEFAULT 100,
    seed bigint DEFAULT 0, shards integer DEFAULT 8)
RETURNS bigint
AS 'MODULE_PATHNAME', 'recpromo_create_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.create_bandit(text, text[], text, text, float8, float8, integer,
    text[], float8, float8, float8, float8, float8, integer, integer, bigint, integer) IS
'creates a bandit owned by the caller; policies thompson, ucb1, epsilon_greedy, linucb, lin_ts; '
'reward binary (0/1) or amount; contextual policies need dimension (or features); returns its id';

CREATE FUNCTION @extschema@.create_bandit(name text, arms_from regclass, arm_column name,
    policy text DEFAULT 'thompson',
    reward text DEFAULT 'binary', epsilon float8 DEFAULT 0.1, alpha float8 DEFAULT 1.0,
    dimension integer DEFAULT NULL, features text[] DEFAULT NULL, lambda float8 DEFAULT 1.0,
    prior_a float8 DEFAULT 1.0, prior_b float8 DEFAULT 1.0, prior_mean float8 DEFAULT 0.0,
    prior_var float8 DEFAULT 1.0, window_size integer DEFAULT NULL, draws integer DEFAULT 100,
    seed bigint DEFAULT 0, shards integer DEFAULT 8)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    arm_list text[];
BEGIN
    IF arms_from IS NULL OR arm_column IS NULL THEN
        RAISE EXCEPTION 'arms_from and arm_column must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- read as the caller: table privileges and row-level security apply
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(DISTINCT a.v ORDER BY a.v) FROM '
        '(SELECT t.%I::pg_catalog.text AS v FROM %s t) a WHERE a.v IS NOT NULL',
        arm_column, arms_from)
      INTO arm_list;
    IF arm_list IS NULL THEN
        RAISE EXCEPTION 'column "%" of "%" holds no arms', arm_column, arms_from
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A bandit needs at least one arm: the non-null values of the column.';
    END IF;
    RETURN @extschema@.create_bandit(name => name, arms => arm_list, policy => policy,
        reward => reward, epsilon => epsilon, alpha => alpha, dimension => dimension,
        features => features, lambda => lambda, prior_a => prior_a, prior_b => prior_b,
        prior_mean => prior_mean, prior_var => prior_var, window_size => window_size,
        draws => draws, seed => seed, shards => shards);
END
$$;
COMMENT ON FUNCTION @extschema@.create_bandit(text, regclass, name, text, text, float8, float8,
    integer, text[], float8, float8, float8, float8, float8, integer, integer, bigint, integer) IS
'creates a bandit whose arms are the distinct non-null values (as text) of a column of a table '
'the caller can read; same options as create_bandit(name, arms text[], ...)';

CREATE FUNCTION @extschema@.add_bandit_arms(bandit text, arms text[])
RETURNS integer
AS 'MODULE_PATHNAME', 'recpromo_add_bandit_arms'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.add_bandit_arms(text, text[]) IS
'adds arms to a live bandit, or brings retired ones back (owner only); returns how many arms '
'became active';

CREATE FUNCTION @extschema@.retire_bandit_arm(bandit text, arm text)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_retire_bandit_arm'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.retire_bandit_arm(text, text) IS
'stops choosing an arm (owner only); its statistics and log stay, and rewards for its past '
'decisions are still accepted';

CREATE FUNCTION @extschema@.drop_bandit(name text, if_exists boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'recpromo_drop_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.drop_bandit(text, boolean) IS
'removes a bandit with its state and its decision and reward log (owner only)';

CREATE FUNCTION @extschema@.grant_bandit(bandit text, role name)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_grant_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.grant_bandit(text, name) IS
'lets a role (and its members), or public, call choose, reward, bandit_stats, bandit_history, '
'bandit_action_probabilities and replay_bandit on a bandit (owner only); such a role may '
'reward any decision of the bandit, not only the ones it made';

CREATE FUNCTION @extschema@.revoke_bandit(bandit text, role name)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_revoke_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.revoke_bandit(text, name) IS
'withdraws a grant_bandit (owner only)';

CREATE FUNCTION @extschema@.choose(bandit text, context jsonb DEFAULT NULL, n integer DEFAULT 1)
RETURNS TABLE(arm text, decision_id bigint, propensity float8)
AS 'MODULE_PATHNAME', 'recpromo_choose'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION @extschema@.choose(text, jsonb, integer) IS
'chooses n distinct arms, logs each decision with the context and returns the arm, the '
'decision_id to reward and the probability with which it was chosen; a contextual bandit reads '
'its features from a JSON array or from an object keyed by the bandit''s feature names';

CREATE FUNCTION @extschema@.choose(bandit text, context float8[], n integer DEFAULT 1)
RETURNS TABLE(arm text, decision_id bigint, propensity float8)
AS 'MODULE_PATHNAME', 'recpromo_choose'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION @extschema@.choose(text, float8[], integer) IS
'choose() with the context as a feature vector';

CREATE FUNCTION @extschema@.reward(bandit text, decision_id bigint, value float8)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_reward'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.reward(text, bigint, float8) IS
'records the reward of a decision and updates the bandit''s state; one reward per decision '
'(a second one is refused), 0 or 1 for a binary bandit; the owner and every role granted the '
'bandit may reward any of its decisions';

CREATE FUNCTION @extschema@.bandit_stats(bandit text)
RETURNS TABLE(arm text, active boolean, pulls bigint, rewards bigint, reward_sum float8,
    mean float8, lower float8, upper float8, probability float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_stats'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_stats(text) IS
'per arm: decisions, rewards, reward sum, posterior (thompson) or empirical mean with a 95% '
'interval, and the current probability of being chosen (NULL for contextual bandits)';

CREATE FUNCTION @extschema@.bandit_history(bandit text, buckets integer DEFAULT 20)
RETURNS TABLE(bucket integer, bucket_start timestamptz, bucket_end timestamptz, arm text,
    decisions bigint, share float8, pulls bigint, rewards bigint, reward_sum float8,
    mean float8, lower float8, upper float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_history'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_history(text, integer) IS
'the decision and reward log of a bandit in equal time buckets from its first decision to its '
'last event; per bucket and arm: decisions and their share of the bucket, cumulative decisions, '
'rewards and reward sum, and the posterior mean with a 95% interval at the bucket''s end (Beta '
'quantiles for binary rewards, a normal interval for amounts)';

CREATE FUNCTION @extschema@.bandit_action_probabilities(bandit text, context jsonb DEFAULT NULL)
RETURNS TABLE(arm text, probability float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_action_probabilities'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_action_probabilities(text, jsonb) IS
'the probability with which choose() would pick each active arm now, for this context; '
'nothing is logged (Thompson policies: Monte-Carlo estimate with the bandit''s seed)';

CREATE FUNCTION @extschema@.bandit_action_probabilities(bandit text, context float8[])
RETURNS TABLE(arm text, probability float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_action_probabilities'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_action_probabilities(text, float8[]) IS
'bandit_action_probabilities() with the context as a feature vector';

CREATE FUNCTION @extschema@.bandit_linear_scores(bandit text, context float8[])
RETURNS TABLE(arm text, estimate float8, width float8, ucb float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_linear_scores'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_linear_scores(text, float8[]) IS
'for a linucb or lin_ts bandit and a context x, per arm: the ridge estimate x''theta '
'(theta = (lambda I + sum x x'')^-1 sum r x), the width sqrt(x''A^-1 x) and the LinUCB index '
'estimate + alpha * width';

CREATE FUNCTION @extschema@.recount_bandit(bandit text)
RETURNS TABLE(arm text, shard_pulls bigint, log_pulls bigint, shard_rewards bigint,
    log_rewards bigint, shard_sum float8, log_sum float8, consistent boolean)
AS 'MODULE_PATHNAME', 'recpromo_recount_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.recount_bandit(text) IS
'compares the sharded state of a bandit with a recount from its decision and reward log '
'(consistent: pulls, rewards, sums, sums of squares and matrices equal)';

CREATE FUNCTION @extschema@.replay_bandit(bandit text, source regclass, arm_column name,
    reward_column name, context_column name DEFAULT NULL, order_column name DEFAULT NULL,
    seed bigint DEFAULT 0)
RETURNS TABLE(policy_value float8, logging_value float8, matched bigint, events bigint)
AS 'MODULE_PATHNAME', 'recpromo_replay_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.replay_bandit(text, regclass, name, name, name, name, bigint) IS
'replay evaluation (Li et al. 2011) of the bandit''s policy, started empty, on logged '
'uniformly random decisions: the mean reward of the events where it chose the logged arm, '
'against the mean reward of the log';
-- ---------------------------------------------------------------------------
-- A/B analysis: ab_test (per-arm lift, confidence interval and p-value
-- against a control arm; two-proportion z test or Welch's t; CUPED; Holm;
-- a sequential mixture SPRT) and ab_srm (sample-ratio mismatch).
--
-- Security posture: as 70_promo.sql.  Invoker rights (the caller's table is
-- read with the caller's privileges and row-level security), SET
-- search_path = pg_catalog, pg_temp on every function, every name of the
-- generated SQL qualified (pg_catalog.avg, OPERATOR(pg_catalog.=)), column
-- names through format('%I'), the relation quoted from the catalog, and
-- every value (the control arm, the list of non-finite floats) a parameter
-- of EXECUTE ... USING.  One pass over the table per call.
-- Issue 18 (no internal function callable by users): ab_test and ab_srm
-- are C front doors (src/pg/ab_front.c) that check the columns and quote
-- the relation in C, then call their PL/pgSQL bodies _body_ab_test and
-- _body_ab_srm through fmgr; PUBLIC may not execute the bodies, which run
-- as the invoker all the same.
-- The distribution functions they need (PostgreSQL 15 has no erf() and no
-- t distribution) are public functions of their own, below (src/pg/ab.c).
--
-- Formulas (arm t against control c; n, mean m, sample variance s^2 of the
-- rows with a non-NULL outcome; q the two-sided quantile at level 1-alpha):
--  binary (two-proportion z test): the test uses the pooled proportion
--    p = (x_t + x_c) / (n_t + n_c), z = (m_t - m_c) / sqrt(p (1-p) (1/n_t + 1/n_c)),
--    which is the exact null variance under H0: p_t = p_c; the interval
--    uses the unpooled SE sqrt(m_t (1-m_t)/n_t + m_c (1-m_c)/n_c), which is
--    right away from H0 (Wald interval).  p-value 2 (1 - Phi(|z|)).
--  amount (Welch): SE^2 = s_t^2/n_t + s_c^2/n_c, t = (m_t - m_c) / SE,
--    df = SE^4 / ((s_t^2/n_t)^2/(n_t-1) + (s_c^2/n_c)^2/(n_c-1))
--    (Welch-Satterthwaite), interval (m_t - m_c) +- t_{1-alpha/2, df} SE.
--  relative lift r = m_t/m_c - 1, delta method:
--    SE_r^2 = v_t/m_c^2 + m_t^2 v_c/m_c^4 with v = SE^2 part of each arm,
--    interval r +- q SE_r with the same q as the absolute interval.
--  CUPED (Deng, Xu, Kohavi and Walker, WSDM 2013): theta = cov(Y, X) /
--    var(X) over the rows of all arms together, Y' = Y - theta (X - mean X),
--    then the same tests on Y' (a binary outcome becomes a z test with the
--    unpooled variances of Y').  variance_reduction = 1 - var(Y')/var(Y)
--    within the arm.
--  sequential (mixture SPRT, Johari, Pekelis and Walsh, "Always valid
--    inference", Operations Research 2022; normal mixture over the
--    difference theta with mixing variance tau^2): with d = m_t - m_c and
--    V = v_t + v_c (unpooled),
--      Lambda = sqrt(V / (V + tau^2)) exp(tau^2 d^2 / (2 V (V + tau^2))),
--      p = min(1, 1/Lambda),
--      confidence sequence d +- sqrt(V (V + tau^2) / tau^2
--                                     (2 ln(1/alpha) + ln((V + tau^2)/V))).
--    Lambda is a martingale under H0 (V treated as known), so by Ville's
--    inequality P(Lambda ever >= 1/alpha) <= alpha: the p-value may be
--    looked at after every batch of data.  tau defaults to 0.1 times the
--    root mean of the two arms' outcome variances.
-- ---------------------------------------------------------------------------

-- Distribution functions -----------------------------------------------------
-- Public, documented and argument-checked (src/pg/ab.c): ab_test and ab_srm
-- use them, and an analyst planning or re-checking a test needs the same
-- numbers (a critical value, a p-value) that PostgreSQL 15 does not have.
-- They are pure functions of their arguments: nothing is read or written.

CREATE FUNCTION @extschema@.normal_cdf(x pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_norm_cdf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normal_cdf(pg_catalog.float8) IS
'standard normal distribution function P(Z <= x); x = -Infinity and Infinity give 0 and 1';

CREATE FUNCTION @extschema@.normal_quantile(p pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_norm_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normal_quantile(pg_catalog.float8) IS
'standard normal quantile: the z with P(Z <= z) = p, for p in [0, 1] (0 and 1 give -Infinity and Infinity)';

CREATE FUNCTION @extschema@.student_t_two_sided_p(t pg_catalog.float8, df pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_t_sf2'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.student_t_two_sided_p(pg_catalog.float8, pg_catalog.float8) IS
'two-sided p-value of a t statistic: P(|T| >= |t|) for Student''s t with df > 0 degrees of freedom (df need not be an integer, as in Welch''s test)';

CREATE FUNCTION @extschema@.student_t_quantile(p pg_catalog.float8, df pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_t_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.student_t_quantile(pg_catalog.float8, pg_catalog.float8) IS
'quantile of Student''s t with df > 0 degrees of freedom: the t with P(T <= t) = p';

CREATE FUNCTION @extschema@.chi_square_sf(x pg_catalog.float8, df pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_chi2_sf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.chi_square_sf(pg_catalog.float8, pg_catalog.float8) IS
'upper tail P(X >= x) of the chi-square distribution with df > 0 degrees of freedom (the p-value of a chi-square statistic)';

-- ab_test --------------------------------------------------------------------

CREATE FUNCTION @extschema@._body_ab_test(source pg_catalog.regclass, arm_col pg_catalog.name, outcome_col pg_catalog.name,
    control pg_catalog.text, covariate pg_catalog.name, alpha pg_catalog.float8,
    outcome pg_catalog.text, correction pg_catalog.text,
    sequential boolean, tau pg_catalog.float8, rel pg_catalog.text, ay pg_catalog.text, ax pg_catalog.text)
RETURNS TABLE (arm pg_catalog.text, n bigint, excluded bigint, mean pg_catalog.float8, mean_cuped pg_catalog.float8,
    lift pg_catalog.float8, lift_low pg_catalog.float8, lift_high pg_catalog.float8,
    rel_lift pg_catalog.float8, rel_lift_low pg_catalog.float8, rel_lift_high pg_catalog.float8,
    statistic pg_catalog.float8, df pg_catalog.float8, p_value pg_catalog.float8, p_adjusted pg_catalog.float8,
    test pg_catalog.text, variance_reduction pg_catalog.float8, note pg_catalog.text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    aa text;
    q text;
    kind text;
    theta float8;
    mx float8;
    my float8;
    vy float8;
    m2x float8;
    cxy float8;
    ntot float8;
    bad_y bigint := 0;
    bad_x bigint := 0;
    -- per arm, control first, then the others in byte order of their text
    v_arm text[] := '{}';
    v_n bigint[] := '{}';
    v_ex bigint[] := '{}';
    v_m float8[] := '{}';      -- raw mean
    v_mc float8[];             -- mean used for the test (CUPED-adjusted or raw)
    v_var float8[] := '{}';    -- per-row variance used for the test
    v_mx float8[] := '{}';     -- covariate mean, variance, covariance with Y
    v_vx float8[] := '{}';
    v_cxy float8[] := '{}';
    v_vr float8[];
    v_p float8[] := '{}';
    all_binary boolean := true;
    k int;
    ci int;
    i int;
    j int;
    qz float8;
    d float8;
    vt float8;
    vc float8;
    se float8;
    sep float8;
    pp float8;
    w float8;
    t2 float8;
    lam float8;
    hw float8;
    rr float8;
    ser float8;
    o_stat float8[];
    o_df float8[];
    o_lo float8[];
    o_hi float8[];
    o_r float8[];
    o_rlo float8[];
    o_rhi float8[];
    o_test text[];
    o_note text[];
    o_padj float8[];
    m_tests int;
    ord int[];
    running float8;
    cur float8;
BEGIN
    IF control IS NULL THEN
        RAISE EXCEPTION 'control arm must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the value of the arm column that marks the control group.';
    END IF;
    IF alpha IS NULL OR NOT (alpha > 0 AND alpha < 1) THEN
        RAISE EXCEPTION 'alpha must be between 0 and 1 (exclusive), got %', alpha
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF outcome IS NOT NULL AND outcome NOT IN ('binary', 'amount') THEN
        RAISE EXCEPTION 'unknown outcome kind "%"', outcome
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''binary'', ''amount'' or NULL (detected from the data).';
    END IF;
    IF correction IS NULL OR correction NOT IN ('holm', 'bonferroni', 'none') THEN
        RAISE EXCEPTION 'unknown correction "%"', correction
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''holm'', ''bonferroni'' or ''none''.';
    END IF;
    IF sequential IS NULL THEN
        RAISE EXCEPTION 'sequential must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF tau IS NOT NULL AND NOT (tau > 0 AND tau < 'Infinity'::float8) THEN
        RAISE EXCEPTION 'tau must be positive and finite, got %', tau
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- rel, ay and ax come from the front door (src/pg/ab_front.c), which has
    -- checked the arm, outcome and covariate columns
    aa := pg_catalog.format('(%I)::pg_catalog.text', arm_col);

    -- One pass over the table: per-arm moments of Y and X and their
    -- co-moment, counts of excluded and of non-finite values.  Rows with a
    -- NULL arm are ignored; rows with a NULL outcome (or covariate) are
    -- counted in "excluded".  CUPED's pooled theta is combined from the
    -- per-arm moments below (no second pass).
    -- EXECUTE ... INTO (not a FOR loop, whose cursor would forbid a parallel plan).
    q := pg_catalog.format(
        'SELECT pg_catalog.array_agg(a ORDER BY o), pg_catalog.array_agg(n ORDER BY o),'
        '       pg_catalog.array_agg(ex ORDER BY o), pg_catalog.array_agg(my ORDER BY o),'
        '       pg_catalog.array_agg(vy ORDER BY o), pg_catalog.array_agg(mx ORDER BY o),'
        '       pg_catalog.array_agg(vx ORDER BY o), pg_catalog.array_agg(cxy ORDER BY o),'
        '       pg_catalog.sum(bad_y)::pg_catalog.int8, pg_catalog.sum(bad_x)::pg_catalog.int8,'
        '       pg_catalog.bool_and(bin IS NOT FALSE)'
        '  FROM (SELECT s.*, pg_catalog.row_number() OVER (ORDER BY a OPERATOR(pg_catalog.<>) $3, a COLLATE pg_catalog."C") AS o'
        '          FROM (SELECT a, pg_catalog.count(*) FILTER (WHERE ok) AS n,'
        '                       pg_catalog.count(*) FILTER (WHERE NOT ok) AS ex,'
        '                       pg_catalog.count(*) FILTER (WHERE y OPERATOR(pg_catalog.=) ANY ($2)) AS bad_y,'
        '                       pg_catalog.count(*) FILTER (WHERE x OPERATOR(pg_catalog.=) ANY ($2)) AS bad_x,'
        '                       pg_catalog.avg(y) FILTER (WHERE ok) AS my, pg_catalog.var_samp(y) FILTER (WHERE ok) AS vy,'
        '                       pg_catalog.avg(x) FILTER (WHERE ok) AS mx, pg_catalog.var_samp(x) FILTER (WHERE ok) AS vx,'
        '                       pg_catalog.covar_samp(y, x) FILTER (WHERE ok) AS cxy,'
        '                       pg_catalog.bool_and(y OPERATOR(pg_catalog.=) 0 OR y OPERATOR(pg_catalog.=) 1) FILTER (WHERE ok) AS bin'
        '                  FROM (SELECT a, y, x, y IS NOT NULL AND (x IS NOT NULL OR NOT $1) AS ok'
        '                          FROM (SELECT %s AS a, %s AS y, %s AS x FROM %s) d0'
        '                         WHERE a IS NOT NULL) d'
        '                 GROUP BY a) s) t',
        aa, ay, COALESCE(ax, 'NULL::pg_catalog.float8'), rel);
    EXECUTE q INTO v_arm, v_n, v_ex, v_m, v_var, v_mx, v_vx, v_cxy, bad_y, bad_x, all_binary
        USING ax IS NOT NULL, '{Infinity,-Infinity,NaN}'::float8[], control;
    v_arm := COALESCE(v_arm, '{}');
    bad_y := COALESCE(bad_y, 0);
    bad_x := COALESCE(bad_x, 0);
    all_binary := COALESCE(all_binary, true);
    -- Non-finite values are errors, not silently dropped rows.
    IF bad_y > 0 THEN
        RAISE EXCEPTION 'outcome column "%" has % non-finite value(s)', outcome_col, bad_y
            USING ERRCODE = 'data_exception',
                  HINT = 'Filter out or fix infinite and NaN outcomes (a view will do).';
    END IF;
    IF bad_x > 0 THEN
        RAISE EXCEPTION 'covariate "%" has % non-finite value(s)', covariate, bad_x
            USING ERRCODE = 'data_exception',
                  HINT = 'Filter out or fix infinite and NaN covariates (a view will do).';
    END IF;
    k := pg_catalog.cardinality(v_arm);
    IF k = 0 OR v_arm[1] IS DISTINCT FROM control THEN
        RAISE EXCEPTION 'control arm "%" does not occur in column "%"', control, arm_col
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = CASE WHEN k = 0 THEN 'The table has no row with a non-NULL arm.'
                                ELSE 'Arms found: ' || pg_catalog.array_to_string(v_arm, ', ') || '.' END,
                  HINT = 'Pass the control arm''s value as text, exactly as the arm column prints it.';
    END IF;
    IF k < 2 THEN
        RAISE EXCEPTION 'no arm besides the control arm "%"', control
            USING ERRCODE = 'data_exception',
                  HINT = 'An A/B test compares at least two arms.';
    END IF;
    FOR i IN 1 .. k LOOP
        IF v_n[i] < 2 THEN
            RAISE EXCEPTION 'arm "%" has % observation(s) with an outcome, at least 2 are needed', v_arm[i], v_n[i]
                USING ERRCODE = 'data_exception',
                      HINT = 'Wait for more data, or leave the arm out (a view will do).';
        END IF;
    END LOOP;

    -- CUPED (Deng et al. 2013).  Pooled over all arms, from the per-arm
    -- moments (Chan, Golub and LeVeque's combination of sums of squares):
    --   M2x = sum (n_i - 1) vx_i + n_i (mx_i - mx)^2,
    --   Cxy = sum (n_i - 1) cxy_i + n_i (mx_i - mx) (my_i - my),
    --   theta = Cxy / M2x.
    -- Per arm, Y' = Y - theta (X - mx) has mean my_i - theta (mx_i - mx)
    -- and variance vy_i - 2 theta cxy_i + theta^2 vx_i.
    v_mc := v_m;
    v_vr := pg_catalog.array_fill(NULL::float8, ARRAY[k]);
    IF ax IS NOT NULL THEN
        ntot := 0; mx := 0; my := 0; m2x := 0; cxy := 0;
        FOR i IN 1 .. k LOOP
            ntot := ntot + v_n[i];
        END LOOP;
        FOR i IN 1 .. k LOOP
            mx := mx + v_n[i] * v_mx[i] / ntot;
            my := my + v_n[i] * v_m[i] / ntot;
        END LOOP;
        FOR i IN 1 .. k LOOP
            m2x := m2x + (v_n[i] - 1) * v_vx[i] + v_n[i] * (v_mx[i] - mx) ^ 2;
            cxy := cxy + (v_n[i] - 1) * v_cxy[i] + v_n[i] * (v_mx[i] - mx) * (v_m[i] - my);
        END LOOP;
        IF NOT m2x > 0 THEN
            RAISE EXCEPTION 'covariate "%" does not vary', covariate
                USING ERRCODE = 'data_exception',
                      DETAIL = 'CUPED divides by the variance of the covariate over all arms.',
                      HINT = 'Use a pre-period metric that differs between units, or no covariate.';
        END IF;
        theta := cxy / m2x;
        FOR i IN 1 .. k LOOP
            v_mc[i] := v_m[i] - theta * (v_mx[i] - mx);
            vy := v_var[i];
            v_var[i] := GREATEST(0, vy - 2 * theta * v_cxy[i] + theta * theta * v_vx[i]);
            v_vr[i] := CASE WHEN vy > 0 THEN 1 - v_var[i] / vy END;
        END LOOP;
    END IF;

    IF outcome IS NULL THEN
        kind := CASE WHEN all_binary THEN 'binary' ELSE 'amount' END;
    ELSE
        kind := outcome;
        IF kind = 'binary' AND NOT all_binary THEN
            RAISE EXCEPTION 'outcome column "%" has values other than 0 and 1', outcome_col
                USING ERRCODE = 'data_exception',
                      HINT = 'Use outcome => ''amount'' for a continuous outcome.';
        END IF;
    END IF;
    -- Binary without CUPED: per-row variance m (1 - m) (divided by n, as the
    -- z test's SE), not the sample variance.
    IF kind = 'binary' AND ax IS NULL THEN
        FOR i IN 1 .. k LOOP
            v_var[i] := v_m[i] * (1 - v_m[i]);
        END LOOP;
    END IF;

    ci := 1;
    qz := @extschema@.normal_quantile(1 - alpha / 2);
    o_stat := pg_catalog.array_fill(NULL::float8, ARRAY[k]);
    o_df := o_stat; o_lo := o_stat; o_hi := o_stat; o_r := o_stat; o_rlo := o_stat; o_rhi := o_stat;
    o_padj := o_stat; v_p := o_stat;
    o_test := pg_catalog.array_fill(NULL::text, ARRAY[k]);
    o_note := o_test;
    FOR i IN 2 .. k LOOP
        d := v_mc[i] - v_mc[ci];
        vt := v_var[i] / v_n[i];
        vc := v_var[ci] / v_n[ci];
        se := sqrt(vt + vc);
        w := qz;
        IF sequential THEN
            o_test[i] := 'msprt';
            IF se = 0 THEN
                o_note[i] := 'zero variance in both arms: test undefined';
            ELSE
                t2 := COALESCE(tau, 0.1 * sqrt((v_var[i] + v_var[ci]) / 2));
                IF t2 = 0 THEN
                    o_note[i] := 'zero variance: tau undefined, pass tau';
                ELSE
                    t2 := t2 * t2;
                    o_stat[i] := d / se;
                    -- log Lambda = 1/2 ln(V / (V + tau^2)) + tau^2 d^2 / (2 V (V + tau^2))
                    lam := 0.5 * ln(se * se / (se * se + t2)) + t2 * d * d / (2 * se * se * (se * se + t2));
                    v_p[i] := LEAST(1, exp(-LEAST(lam, 700)));
                    hw := sqrt(se * se * (se * se + t2) / t2 * (2 * ln(1 / alpha) + ln((se * se + t2) / (se * se))));
                    o_lo[i] := d - hw;
                    o_hi[i] := d + hw;
                END IF;
            END IF;
        ELSIF kind = 'binary' AND ax IS NULL THEN
            o_test[i] := 'z';
            pp := (v_m[i] * v_n[i] + v_m[ci] * v_n[ci]) / (v_n[i] + v_n[ci]);
            sep := sqrt(pp * (1 - pp) * (1.0 / v_n[i] + 1.0 / v_n[ci]));
            IF sep = 0 THEN
                o_note[i] := 'all outcomes equal in both arms: test undefined';
            ELSE
                o_stat[i] := d / sep;
                v_p[i] := 2 * @extschema@.normal_cdf(-abs(o_stat[i]));
            END IF;
            IF se > 0 THEN
                o_lo[i] := d - qz * se;
                o_hi[i] := d + qz * se;
            END IF;
        ELSIF kind = 'binary' THEN
            o_test[i] := 'z';
            IF se = 0 THEN
                o_note[i] := 'zero variance in both arms: test undefined';
            ELSE
                o_stat[i] := d / se;
                v_p[i] := 2 * @extschema@.normal_cdf(-abs(o_stat[i]));
                o_lo[i] := d - qz * se;
                o_hi[i] := d + qz * se;
            END IF;
        ELSE
            o_test[i] := 'welch';
            IF se = 0 THEN
                o_note[i] := 'zero variance in both arms: test undefined';
            ELSE
                o_stat[i] := d / se;
                o_df[i] := (vt + vc) * (vt + vc) / (vt * vt / (v_n[i] - 1) + vc * vc / (v_n[ci] - 1));
                v_p[i] := @extschema@.student_t_two_sided_p(o_stat[i], o_df[i]);
                w := @extschema@.student_t_quantile(1 - alpha / 2, o_df[i]);
                o_lo[i] := d - w * se;
                o_hi[i] := d + w * se;
            END IF;
        END IF;
        -- relative lift, delta method
        IF v_mc[ci] = 0 THEN
            o_note[i] := COALESCE(o_note[i] || '; ', '') || 'control mean is 0: relative lift undefined';
        ELSE
            rr := v_mc[i] / v_mc[ci] - 1;
            o_r[i] := rr;
            ser := sqrt(vt / (v_mc[ci] * v_mc[ci]) + v_mc[i] * v_mc[i] * vc / (v_mc[ci] ^ 4));
            IF ser > 0 AND o_lo[i] IS NOT NULL THEN
                IF sequential THEN
                    t2 := COALESCE(tau, 0.1 * sqrt((v_var[i] + v_var[ci]) / 2)) / abs(v_mc[ci]);
                    t2 := t2 * t2;
                    hw := sqrt(ser * ser * (ser * ser + t2) / t2 * (2 * ln(1 / alpha) + ln((ser * ser + t2) / (ser * ser))));
                ELSE
                    hw := w * ser;
                END IF;
                o_rlo[i] := rr - hw;
                o_rhi[i] := rr + hw;
            END IF;
        END IF;
    END LOOP;

    -- Multiple comparisons over the non-control arms with a p-value.
    SELECT pg_catalog.array_agg(g.i ORDER BY v_p[g.i], g.i) INTO ord
      FROM pg_catalog.generate_series(2, k) g(i) WHERE v_p[g.i] IS NOT NULL;
    m_tests := COALESCE(pg_catalog.cardinality(ord), 0);
    running := 0;
    FOR j IN 1 .. m_tests LOOP
        i := ord[j];
        IF correction = 'holm' THEN
            cur := LEAST(1, (m_tests - j + 1) * v_p[i]);
            running := GREATEST(running, cur);
            o_padj[i] := running;
        ELSIF correction = 'bonferroni' THEN
            o_padj[i] := LEAST(1, m_tests * v_p[i]);
        ELSE
            o_padj[i] := v_p[i];
        END IF;
    END LOOP;

    FOR i IN 1 .. k LOOP
        arm := v_arm[i];
        n := v_n[i];
        excluded := v_ex[i];
        mean := v_m[i];
        mean_cuped := CASE WHEN ax IS NOT NULL THEN v_mc[i] END;
        IF i = ci THEN
            lift := NULL; lift_low := NULL; lift_high := NULL; rel_lift := NULL; rel_lift_low := NULL;
            rel_lift_high := NULL; statistic := NULL; df := NULL; p_value := NULL; p_adjusted := NULL;
            test := 'control';
            note := NULL;
        ELSE
            lift := v_mc[i] - v_mc[ci];
            lift_low := o_lo[i]; lift_high := o_hi[i];
            rel_lift := o_r[i]; rel_lift_low := o_rlo[i]; rel_lift_high := o_rhi[i];
            statistic := o_stat[i]; df := o_df[i]; p_value := v_p[i]; p_adjusted := o_padj[i];
            test := o_test[i];
            note := o_note[i];
        END IF;
        variance_reduction := v_vr[i];
        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION @extschema@._body_ab_test(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text,
    pg_catalog.name, pg_catalog.float8, pg_catalog.text, pg_catalog.text, boolean, pg_catalog.float8,
    pg_catalog.text, pg_catalog.text, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._body_ab_test(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text,
    pg_catalog.name, pg_catalog.float8, pg_catalog.text, pg_catalog.text, boolean, pg_catalog.float8,
    pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'internal, not executable by PUBLIC: the body of ab_test, called by its C front door with the checked relation and column expressions';

CREATE FUNCTION @extschema@.ab_test(source pg_catalog.regclass, arm_col pg_catalog.name, outcome_col pg_catalog.name,
    control pg_catalog.text, covariate pg_catalog.name DEFAULT NULL, alpha pg_catalog.float8 DEFAULT 0.05,
    outcome pg_catalog.text DEFAULT NULL, correction pg_catalog.text DEFAULT 'holm',
    sequential boolean DEFAULT false, tau pg_catalog.float8 DEFAULT NULL)
RETURNS TABLE (arm pg_catalog.text, n bigint, excluded bigint, mean pg_catalog.float8, mean_cuped pg_catalog.float8,
    lift pg_catalog.float8, lift_low pg_catalog.float8, lift_high pg_catalog.float8,
    rel_lift pg_catalog.float8, rel_lift_low pg_catalog.float8, rel_lift_high pg_catalog.float8,
    statistic pg_catalog.float8, df pg_catalog.float8, p_value pg_catalog.float8, p_adjusted pg_catalog.float8,
    test pg_catalog.text, variance_reduction pg_catalog.float8, note pg_catalog.text)
LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'recpromo_ab_test';
COMMENT ON FUNCTION @extschema@.ab_test(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text,
    pg_catalog.name, pg_catalog.float8, pg_catalog.text, pg_catalog.text, boolean, pg_catalog.float8) IS
'A/B test readout per arm against a control arm: mean, absolute and relative lift with confidence intervals, p-value and Holm-adjusted p-value (two-proportion z test or Welch''s t, optional CUPED covariate, optional always-valid mixture SPRT)';

-- ab_srm ---------------------------------------------------------------------

CREATE FUNCTION @extschema@._body_ab_srm(source pg_catalog.regclass, arm_col pg_catalog.name,
    planned pg_catalog.jsonb, weights pg_catalog.float8[], rel pg_catalog.text)
RETURNS TABLE (arm pg_catalog.text, observed bigint, expected pg_catalog.float8,
    observed_share pg_catalog.float8, planned_share pg_catalog.float8,
    statistic pg_catalog.float8, df integer, p_value pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    q text;
    v_arm text[] := '{}';
    v_obs bigint[] := '{}';
    v_w float8[];
    total bigint := 0;
    wsum float8 := 0;
    k int;
    chi float8 := 0;
    e float8;
    key text;
    val jsonb;
BEGIN
    IF planned IS NOT NULL AND weights IS NOT NULL THEN
        RAISE EXCEPTION 'pass either planned or weights, not both'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- rel comes from the front door (src/pg/ab_front.c), which has checked
    -- the arm column
    q := pg_catalog.format(
        'SELECT pg_catalog.array_agg(a ORDER BY a COLLATE pg_catalog."C"), pg_catalog.array_agg(c ORDER BY a COLLATE pg_catalog."C")'
        '  FROM (SELECT a, pg_catalog.count(*) AS c FROM (SELECT (%I)::pg_catalog.text AS a FROM %s) d'
        '         WHERE a IS NOT NULL GROUP BY a) s', arm_col, rel);
    EXECUTE q INTO v_arm, v_obs;
    v_arm := COALESCE(v_arm, '{}');
    v_obs := COALESCE(v_obs, '{}');
    FOR i IN 1 .. pg_catalog.cardinality(v_arm) LOOP
        total := total + v_obs[i];
    END LOOP;
    IF planned IS NOT NULL THEN
        IF pg_catalog.jsonb_typeof(planned) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'planned split must be a JSON object'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'For example {"control": 0.5, "A": 0.25, "B": 0.25}.';
        END IF;
        -- arms planned but never seen count with 0 observations
        FOR key IN SELECT x FROM pg_catalog.jsonb_object_keys(planned) x ORDER BY x COLLATE pg_catalog."C" LOOP
            IF NOT key = ANY (v_arm) THEN
                v_arm := v_arm || key;
                v_obs := v_obs || 0::bigint;
            END IF;
        END LOOP;
        v_w := '{}';
        FOR i IN 1 .. COALESCE(pg_catalog.cardinality(v_arm), 0) LOOP
            val := planned -> v_arm[i];
            IF val IS NULL THEN
                RAISE EXCEPTION 'arm "%" is not in the planned split', v_arm[i]
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Give every arm of the table a planned share.';
            END IF;
            IF pg_catalog.jsonb_typeof(val) IS DISTINCT FROM 'number' THEN
                RAISE EXCEPTION 'planned share of arm "%" must be a number', v_arm[i]
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            v_w := v_w || (val #>> '{}')::float8;
        END LOOP;
    ELSIF weights IS NOT NULL THEN
        IF pg_catalog.cardinality(weights) IS DISTINCT FROM pg_catalog.cardinality(v_arm) THEN
            RAISE EXCEPTION 'weights has % element(s), the table has % arm(s)',
                    pg_catalog.cardinality(weights), pg_catalog.cardinality(v_arm)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Arms found: ' || pg_catalog.array_to_string(v_arm, ', ') || '.',
                      HINT = 'Give one weight per arm, in the byte order of the arm values (as listed), or use planned => jsonb.';
        END IF;
        v_w := weights;
    ELSE
        v_w := pg_catalog.array_fill(1::float8, ARRAY[pg_catalog.cardinality(v_arm)]);
    END IF;
    k := COALESCE(pg_catalog.cardinality(v_arm), 0);
    IF k < 2 THEN
        RAISE EXCEPTION 'a sample-ratio check needs at least 2 arms, found %', k
            USING ERRCODE = 'data_exception';
    END IF;
    FOR i IN 1 .. k LOOP
        IF v_w[i] IS NULL OR NOT (v_w[i] > 0 AND v_w[i] < 'Infinity'::float8) THEN
            RAISE EXCEPTION 'planned share of arm "%" must be positive and finite, got %', v_arm[i], v_w[i]
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        wsum := wsum + v_w[i];
    END LOOP;
    IF total = 0 THEN
        RAISE EXCEPTION 'the table has no row with a non-NULL arm'
            USING ERRCODE = 'data_exception';
    END IF;
    FOR i IN 1 .. k LOOP
        e := total * v_w[i] / wsum;
        chi := chi + (v_obs[i] - e) ^ 2 / e;
    END LOOP;
    statistic := chi;
    df := k - 1;
    p_value := @extschema@.chi_square_sf(chi, k - 1);
    FOR i IN 1 .. k LOOP
        arm := v_arm[i];
        observed := v_obs[i];
        expected := total * v_w[i] / wsum;
        observed_share := v_obs[i]::float8 / total;
        planned_share := v_w[i] / wsum;
        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION @extschema@._body_ab_srm(pg_catalog.regclass, pg_catalog.name, pg_catalog.jsonb,
    pg_catalog.float8[], pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._body_ab_srm(pg_catalog.regclass, pg_catalog.name, pg_catalog.jsonb,
    pg_catalog.float8[], pg_catalog.text) IS
'internal, not executable by PUBLIC: the body of ab_srm, called by its C front door with the checked relation';

CREATE FUNCTION @extschema@.ab_srm(source pg_catalog.regclass, arm_col pg_catalog.name,
    planned pg_catalog.jsonb DEFAULT NULL, weights pg_catalog.float8[] DEFAULT NULL)
RETURNS TABLE (arm pg_catalog.text, observed bigint, expected pg_catalog.float8,
    observed_share pg_catalog.float8, planned_share pg_catalog.float8,
    statistic pg_catalog.float8, df integer, p_value pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'recpromo_ab_srm';
COMMENT ON FUNCTION @extschema@.ab_srm(pg_catalog.regclass, pg_catalog.name, pg_catalog.jsonb, pg_catalog.float8[]) IS
'sample-ratio mismatch check: chi-square test of the observed arm counts against the planned split (jsonb {arm: share} or weights in arm order; equal split when neither is given)';
-- ---------------------------------------------------------------------------
-- Off-policy evaluation: the value of a target policy (a table of action
-- probabilities, a stored propensity or uplift model, or a bandit)
-- estimated from rounds logged under another policy, with IPS, SNIPS,
-- the direct method and doubly robust (Dudik, Langford and Li 2011).
--
-- evaluate_policy() reads the caller's logged table (and target table)
-- with the caller's privileges (SECURITY INVOKER, fixed search_path,
-- identifiers through format('%I'), relations quoted from the catalog,
-- every value a query parameter, every operator of generated SQL
-- qualified) into arrays, and
-- evaluate_policy_arrays() (C, src/pg/ope.c, pure computation on its
-- arguments, so PUBLIC may execute it) checks them and runs the estimators
-- of src/core/rp_ope.c.  Definitions: doc/experiments.md, "Off-policy evaluation".
-- Issue 18: evaluate_policy is a C front door (src/pg/ab_front.c) that
-- checks the columns, quotes the relations and reads an uplift target
-- model through the caller's grant in C, then calls the PL/pgSQL body
-- _body_evaluate_policy through fmgr; PUBLIC may not execute the body,
-- which runs as the invoker all the same.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.evaluate_policy_arrays(context pg_catalog.float8[], arm integer[],
    reward pg_catalog.float8[], propensity pg_catalog.float8[], target pg_catalog.float8[],
    estimators pg_catalog.text[] DEFAULT '{ips,snips,dm,dr}', bootstrap integer DEFAULT 200,
    seed bigint DEFAULT 0, alpha pg_catalog.float8 DEFAULT 0.05, ridge_lambda pg_catalog.float8 DEFAULT 1.0)
RETURNS TABLE (estimator pg_catalog.text, estimate pg_catalog.float8, ci_low pg_catalog.float8,
               ci_high pg_catalog.float8, ess pg_catalog.float8, n bigint)
AS 'MODULE_PATHNAME', 'recpromo_evaluate_policy_arrays'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION @extschema@.evaluate_policy_arrays(pg_catalog.float8[], integer[], pg_catalog.float8[],
    pg_catalog.float8[], pg_catalog.float8[], pg_catalog.text[], integer, bigint, pg_catalog.float8, pg_catalog.float8) IS
'off-policy estimates (ips, snips, dm, dr) with percentile bootstrap intervals and the effective sample size, '
'from arrays: contexts (n x d or NULL), 1-based logged arms, rewards, propensities and target probabilities (n x k)';

-- STABLE on purpose: every query of the function then reads one snapshot, so
-- the checks (row counts, arms, keys) and the final read agree even while
-- other sessions append to the log.  The functions it calls (score_uplift,
-- score_propensity, bandit_action_probabilities) only read.
CREATE FUNCTION @extschema@._body_evaluate_policy(logged pg_catalog.regclass, context_col pg_catalog.name,
    arm_col pg_catalog.name, reward_col pg_catalog.name, propensity_col pg_catalog.name,
    target_probs pg_catalog.regclass, target_model pg_catalog.text,
    target_bandit pg_catalog.text, key_col pg_catalog.name,
    estimators pg_catalog.text[], bootstrap integer,
    seed bigint, alpha pg_catalog.float8, ridge_lambda pg_catalog.float8,
    features pg_catalog.text[], threshold pg_catalog.float8,
    treatment pg_catalog.text, control pg_catalog.text,
    rel pg_catalog.text, reward_type pg_catalog.regtype, propensity_type pg_catalog.regtype,
    ctype pg_catalog.regtype, tp_rel pg_catalog.text, model_params pg_catalog.jsonb)
RETURNS TABLE (estimator pg_catalog.text, estimate pg_catalog.float8, ci_low pg_catalog.float8,
               ci_high pg_catalog.float8, ess pg_catalog.float8, n bigint)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 4
AS $$
DECLARE
    rexpr text;
    pexpr text;
    cx text;              -- float8[] expression of a logged row's features, or NULL
    cj text;              -- a logged row's context as jsonb or float8[] (bandits)
    keys text[];
    arms text[];
    k int;
    n_rows bigint;
    n_null bigint;
    lkey text;            -- text expression over l joining a logged row to its target row
    src text;             -- subquery (k text, tp float8[], stray text): the target
                          -- probabilities per key, and an arm outside the log it plays
    eye float8[];
    r record;
    m text;
    p jsonb;
    thr float8;
    ti int;
    ci int;
    a_ctx float8[];
    a_arm int[];
    a_rew float8[];
    a_prop float8[];
    a_tp float8[];
    n_joined bigint;
    n_matched bigint;
    missing text;
    foreign_arm text;
BEGIN
    IF (target_probs IS NOT NULL)::int + (target_model IS NOT NULL)::int + (target_bandit IS NOT NULL)::int <> 1 THEN
        RAISE EXCEPTION 'exactly one target policy must be given'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass target_probs (a table of action probabilities), target_model (a propensity or uplift model) or target_bandit.';
    END IF;
    -- the front door (src/pg/ab_front.c) has checked the arm, reward and
    -- propensity columns and passes their types; the expressions here read
    -- the columns of l
    rexpr := pg_catalog.format(CASE WHEN reward_type = 'boolean'::regtype
                                    THEN '(l.%I)::pg_catalog.int4::pg_catalog.float8' ELSE '(l.%I)::pg_catalog.float8' END, reward_col);
    pexpr := pg_catalog.format(CASE WHEN propensity_type = 'boolean'::regtype
                                    THEN '(l.%I)::pg_catalog.int4::pg_catalog.float8' ELSE '(l.%I)::pg_catalog.float8' END, propensity_col);

    -- the arms: every arm value of the log, in byte order
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE %1$I IS NULL) FROM %2$s', arm_col, rel)
       INTO n_rows, n_null;
    IF n_null > 0 THEN
        RAISE EXCEPTION 'arm column "%" has % null values', arm_col, n_null
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Every logged row needs the arm that was played; filter the others out with a view.';
    END IF;
    IF n_rows = 0 THEN
        RAISE EXCEPTION 'no logged rows to evaluate' USING ERRCODE = 'invalid_parameter_value',
            HINT = pg_catalog.format('%s is empty.', logged);
    END IF;
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(a ORDER BY a COLLATE pg_catalog."C")'
        ' FROM (SELECT DISTINCT (%I)::pg_catalog.text AS a FROM %s) s', arm_col, rel) INTO arms;
    k := pg_catalog.cardinality(arms);
    eye := ARRAY(SELECT CASE WHEN i OPERATOR(pg_catalog.=) j THEN 1.0 ELSE 0.0 END::float8
                   FROM pg_catalog.generate_series(1, k) i, pg_catalog.generate_series(1, k) j ORDER BY i, j);

    -- the context: features for the reward model, jsonb for a bandit
    IF context_col IS NOT NULL THEN
        -- ctype: the type of the context column, from the front door
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %I IS NULL', rel, context_col) INTO n_null;
        IF n_null > 0 THEN
            RAISE EXCEPTION 'context column "%" has % null values', context_col, n_null
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = 'Pass context_col => NULL to evaluate without contexts, or filter the rows with a view.';
        END IF;
        IF ctype = 'jsonb'::regtype THEN
            EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE pg_catalog.jsonb_typeof(%I) OPERATOR(pg_catalog.<>) ''object''',
                                      rel, context_col) INTO n_null;
            IF n_null > 0 THEN
                RAISE EXCEPTION 'context column "%" has % values that are not json objects', context_col, n_null
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'A jsonb context is an object of named features, e.g. {"visits": 3, "recency": 0.5}.';
            END IF;
            keys := features;
            IF keys IS NULL THEN
                EXECUTE pg_catalog.format(
                    'SELECT pg_catalog.array_agg(f ORDER BY f COLLATE pg_catalog."C") FROM (SELECT DISTINCT e.key AS f FROM %s,'
                    ' pg_catalog.jsonb_each(%I) e WHERE pg_catalog.jsonb_typeof(e.value) OPERATOR(pg_catalog.=) ''number'') s',
                    rel, context_col) INTO keys;
            END IF;
            IF pg_catalog.cardinality(keys) > 0 THEN
                EXECUTE pg_catalog.format(
                    'SELECT f FROM pg_catalog.unnest($1) f WHERE EXISTS (SELECT FROM %s'
                    ' WHERE COALESCE(pg_catalog.jsonb_typeof(%I OPERATOR(pg_catalog.->) f), '''') OPERATOR(pg_catalog.<>) ''number'') LIMIT 1',
                    rel, context_col) INTO missing USING keys;
                IF missing IS NOT NULL THEN
                    RAISE EXCEPTION 'feature "%" is not a number in every context', missing
                        USING ERRCODE = 'invalid_parameter_value',
                              DETAIL = pg_catalog.format('The reward model uses the features %s.', keys),
                              HINT = 'Every context needs a numeric value of every feature; choose the features with features => ''{...}''.';
                END IF;
                cx := pg_catalog.format('ARRAY[%s]',
                        (SELECT pg_catalog.string_agg(pg_catalog.format('(l.%I OPERATOR(pg_catalog.->>) $1[%s])::pg_catalog.float8',
                                                                        context_col, i), ', ' ORDER BY i)
                           FROM pg_catalog.generate_series(1, pg_catalog.cardinality(keys)) i));
            END IF;
            cj := pg_catalog.format('l.%I', context_col);
        ELSIF ctype IN ('double precision[]'::regtype, 'real[]'::regtype, 'numeric[]'::regtype,
                        'integer[]'::regtype, 'bigint[]'::regtype, 'smallint[]'::regtype) THEN
            IF features IS NOT NULL THEN
                RAISE EXCEPTION 'features applies to jsonb contexts only' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.min(pg_catalog.cardinality(%1$I)) AS lo, pg_catalog.max(pg_catalog.cardinality(%1$I)) AS hi,'
                ' pg_catalog.max(pg_catalog.array_ndims(%1$I)) AS dims FROM %2$s', context_col, rel) INTO r;
            IF r.lo <> r.hi OR r.dims > 1 THEN
                RAISE EXCEPTION 'contexts must be one-dimensional arrays of one length'
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = pg_catalog.format('Column "%s" has arrays of %s to %s elements and %s dimensions.', context_col, r.lo, r.hi, r.dims);
            END IF;
            IF r.lo > 0 THEN
                cx := pg_catalog.format('(l.%I)::pg_catalog.float8[]', context_col);
            END IF;
            cj := pg_catalog.format('(l.%I)::pg_catalog.float8[]', context_col);
        ELSE
            RAISE EXCEPTION 'context column "%" has type %, expected jsonb or a numeric array', context_col, ctype
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Pass the numeric context features as jsonb (an object) or float8[].';
        END IF;
    ELSIF features IS NOT NULL THEN
        RAISE EXCEPTION 'features needs a context column' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF target_probs IS NOT NULL THEN
        -- (a) a table of action probabilities: columns <key_col>, <arm_col>, probability
        key_col := COALESCE(key_col, context_col);
        IF key_col IS NULL THEN
            RAISE EXCEPTION 'target_probs needs a key column'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass key_col: a column of both tables (a decision id or a context key); it defaults to the context column.';
        END IF;
        -- the front door has checked the key, arm and probability columns
        src := pg_catalog.format('(SELECT (%I)::pg_catalog.text AS k, (%I)::pg_catalog.text AS a,'
                                 ' (probability)::pg_catalog.float8 AS p FROM %s)',
                                 key_col, arm_col, tp_rel);
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.count(*) FILTER (WHERE k IS NULL OR a IS NULL OR p IS NULL) AS nulls,'
            ' (pg_catalog.array_agg(pg_catalog.format(''key %%s, arm %%s: %%s'', k, a, p))'
            '   FILTER (WHERE NOT (p OPERATOR(pg_catalog.>=) 0 AND p OPERATOR(pg_catalog.<=) 1)))[1] AS bad,'
            ' (pg_catalog.array_agg(a) FILTER (WHERE p OPERATOR(pg_catalog.>) 0'
            '   AND NOT a OPERATOR(pg_catalog.=) ANY ($1)))[1] AS stray'
            ' FROM %s t', src) INTO r USING arms;
        IF r.nulls > 0 THEN
            RAISE EXCEPTION 'target table % has % rows with a null key, arm or probability', target_probs, r.nulls
                USING ERRCODE = 'null_value_not_allowed';
        END IF;
        IF r.bad IS NOT NULL THEN
            RAISE EXCEPTION 'target probability must be in [0, 1]'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = pg_catalog.format('Target row %s.', r.bad);
        END IF;
        IF r.stray IS NOT NULL THEN
            RAISE EXCEPTION 'target policy plays arm "%", which the log never shows', r.stray
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Off-policy estimates need every arm the target plays to appear in the log.';
        END IF;
        EXECUTE pg_catalog.format(
            'SELECT k, s, c FROM (SELECT k, pg_catalog.sum(p) AS s, pg_catalog.count(*) AS c,'
            ' pg_catalog.count(DISTINCT a) AS u FROM %s t GROUP BY k) g'
            ' WHERE c OPERATOR(pg_catalog.<>) u OR pg_catalog.abs(s OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.>) 1e-6'
            ' ORDER BY k COLLATE pg_catalog."C" LIMIT 1', src) INTO r;
        IF r.k IS NOT NULL THEN
            RAISE EXCEPTION 'target probabilities of key "%" are not a distribution', r.k
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = pg_catalog.format('They sum to %s over %s rows.', r.s, r.c),
                      HINT = 'Each key needs one row per arm with probabilities summing to 1 (tolerance 1e-6); arms without a row have probability 0.';
        END IF;
        src := pg_catalog.format('(SELECT k, ARRAY[%s] AS tp, NULL::pg_catalog.text AS stray FROM %s t GROUP BY k)',
                 (SELECT pg_catalog.string_agg(pg_catalog.format(
                      'COALESCE(pg_catalog.sum(p) FILTER (WHERE a OPERATOR(pg_catalog.=) $2[%s]), 0)', i), ', ' ORDER BY i)
                    FROM pg_catalog.generate_series(1, k) i), src);
        lkey := pg_catalog.format('(l.%I)::pg_catalog.text', key_col);
    ELSIF target_model IS NOT NULL THEN
        -- (b) a deterministic policy from a stored model, scored per logged row
        IF key_col IS NULL THEN
            RAISE EXCEPTION 'target_model needs a key column'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass key_col: a column that identifies each logged row.';
        END IF;
        -- the front door has checked the key column
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %I IS NULL', rel, key_col) INTO n_null;
        IF n_null > 0 THEN
            RAISE EXCEPTION 'key column "%" has % null values', key_col, n_null USING ERRCODE = 'null_value_not_allowed';
        END IF;
        SELECT mm.method INTO m FROM @extschema@.models mm WHERE mm.name OPERATOR(pg_catalog.=) target_model;
        IF m = 'uplift' THEN
            p := model_params;   -- read by the front door through the caller's grant
            thr := COALESCE(threshold, 0);
            control := p->>'control';
            SELECT x INTO missing FROM (SELECT a->>'treatment' AS x FROM pg_catalog.jsonb_array_elements(p->'arms') a
                                        UNION ALL SELECT control) s
             WHERE NOT x OPERATOR(pg_catalog.=) ANY (arms) LIMIT 1;
            src := pg_catalog.format(
                '(SELECT DISTINCT ON (s.key) s.key AS k, CASE WHEN s.uplift OPERATOR(pg_catalog.>) $3'
                ' THEN $4[(pg_catalog.array_position($2, s.treatment) OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) %1$s OPERATOR(pg_catalog.+) 1'
                '       : pg_catalog.array_position($2, s.treatment) OPERATOR(pg_catalog.*) %1$s]'
                ' ELSE $4[(pg_catalog.array_position($2, $5) OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) %1$s OPERATOR(pg_catalog.+) 1'
                '       : pg_catalog.array_position($2, $5) OPERATOR(pg_catalog.*) %1$s] END AS tp,'
                ' NULL::pg_catalog.text AS stray'
                ' FROM @extschema@.score_uplift($6, $8, $9) s'
                ' ORDER BY s.key, s.uplift DESC, s.treatment COLLATE pg_catalog."C")', k);
        ELSE
            IF treatment IS NULL THEN
                RAISE EXCEPTION 'a propensity model target needs treatment'
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'The target policy plays treatment when the predicted probability exceeds threshold (default 0.5), else control.';
            END IF;
            thr := COALESCE(threshold, 0.5);
            SELECT x INTO missing FROM (VALUES (treatment), (control)) s(x)
             WHERE NOT x OPERATOR(pg_catalog.=) ANY (arms) LIMIT 1;
            src := pg_catalog.format(
                '(SELECT s.key AS k, CASE WHEN s.score OPERATOR(pg_catalog.>) $3'
                ' THEN $4[(pg_catalog.array_position($2, $7) OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) %1$s OPERATOR(pg_catalog.+) 1'
                '       : pg_catalog.array_position($2, $7) OPERATOR(pg_catalog.*) %1$s]'
                ' WHEN s.score OPERATOR(pg_catalog.<=) $3'
                ' THEN $4[(pg_catalog.array_position($2, $5) OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) %1$s OPERATOR(pg_catalog.+) 1'
                '       : pg_catalog.array_position($2, $5) OPERATOR(pg_catalog.*) %1$s] END AS tp,'
                ' NULL::pg_catalog.text AS stray'
                ' FROM @extschema@.score_propensity($6, $8, $9) s)', k);
        END IF;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'target policy plays arm "%", which the log never shows', missing
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Off-policy estimates need every arm of the model (and the control) to appear in the log.';
        END IF;
        lkey := pg_catalog.format('(l.%I)::pg_catalog.text', key_col);
    ELSE
        -- (c) a bandit: its action probabilities for each distinct context
        IF pg_catalog.to_regprocedure('@extschema@.bandit_action_probabilities(pg_catalog.text, pg_catalog.jsonb)') IS NULL THEN
            RAISE EXCEPTION 'function bandit_action_probabilities(text, jsonb) does not exist'
                USING ERRCODE = 'undefined_function',
                      HINT = 'Bandit targets need the bandits of recpromo 0.2.0 (ALTER EXTENSION recpromo UPDATE), or pass the target as target_probs.';
        END IF;
        cj := COALESCE(cj, 'NULL::pg_catalog.jsonb');
        src := pg_catalog.format(
            '(SELECT COALESCE(x.c::pg_catalog.text, '''') AS k, ARRAY[%s] AS tp,'
            ' pg_catalog.max(b.arm) FILTER (WHERE b.probability OPERATOR(pg_catalog.>) 0'
            '   AND NOT b.arm OPERATOR(pg_catalog.=) ANY ($2)) AS stray'
            ' FROM (SELECT DISTINCT %s AS c FROM %s l) x'
            ' CROSS JOIN LATERAL @extschema@.bandit_action_probabilities($6, x.c) b'
            ' GROUP BY x.c)',
            (SELECT pg_catalog.string_agg(pg_catalog.format(
                 'COALESCE(pg_catalog.sum(b.probability) FILTER (WHERE b.arm OPERATOR(pg_catalog.=) $2[%s]), 0)', i), ', ' ORDER BY i)
               FROM pg_catalog.generate_series(1, k) i), cj, rel);
        lkey := pg_catalog.format('COALESCE((%s)::pg_catalog.text, '''')', cj);
    END IF;

    -- one pass: the logged rows joined to their target probabilities
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*), pg_catalog.count(t.tp),'
        ' (pg_catalog.array_agg(%1$s) FILTER (WHERE t.tp IS NULL))[1],'
        ' %2$s,'
        ' pg_catalog.array_agg(pg_catalog.array_position($2, (l.%3$I)::pg_catalog.text)) FILTER (WHERE t.tp IS NOT NULL),'
        ' pg_catalog.array_agg(%4$s) FILTER (WHERE t.tp IS NOT NULL),'
        ' pg_catalog.array_agg(%5$s) FILTER (WHERE t.tp IS NOT NULL),'
        ' pg_catalog.array_agg(t.tp) FILTER (WHERE t.tp IS NOT NULL),'
        ' pg_catalog.max(t.stray)'
        ' FROM %6$s l LEFT JOIN %7$s t ON t.k OPERATOR(pg_catalog.=) %1$s',
        lkey, CASE WHEN cx IS NULL THEN 'NULL::pg_catalog.float8[]'
                   ELSE pg_catalog.format('pg_catalog.array_agg(%s) FILTER (WHERE t.tp IS NOT NULL)', cx) END, arm_col,
        rexpr, pexpr,
        rel, src)
       INTO n_joined, n_matched, missing, a_ctx, a_arm, a_rew, a_prop, a_tp, foreign_arm
       USING keys, arms, thr, eye, control, COALESCE(target_model, target_bandit), treatment, logged, key_col;
    IF foreign_arm IS NOT NULL THEN
        RAISE EXCEPTION 'target policy plays arm "%", which the log never shows', foreign_arm
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Off-policy estimates need every arm the bandit plays to appear in the log.';
    END IF;
    IF n_matched < n_joined THEN
        RAISE EXCEPTION 'target policy has no action probabilities for % logged rows', n_joined - n_matched
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The first is the row with key %s.', missing),
                  HINT = CASE WHEN target_model IS NOT NULL THEN 'A row with a NULL feature has no model score; filter it out with a view.'
                              ELSE 'Every logged row needs target probabilities: add rows for that key to the target table.' END;
    END IF;
    IF n_joined <> n_rows THEN
        RAISE EXCEPTION 'key column "%" does not identify the logged rows', key_col
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'With target_model the key column must be unique in the logged table; with target_probs each key needs one row per arm.';
    END IF;
    RETURN QUERY SELECT * FROM @extschema@.evaluate_policy_arrays(a_ctx, a_arm, a_rew, a_prop, a_tp,
        estimators, bootstrap, seed, alpha, ridge_lambda);
END
$$;
REVOKE ALL ON FUNCTION @extschema@._body_evaluate_policy(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.name, pg_catalog.text[], integer,
    bigint, pg_catalog.float8, pg_catalog.float8, pg_catalog.text[], pg_catalog.float8, pg_catalog.text, pg_catalog.text,
    pg_catalog.text, pg_catalog.regtype, pg_catalog.regtype, pg_catalog.regtype, pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._body_evaluate_policy(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.name, pg_catalog.text[], integer,
    bigint, pg_catalog.float8, pg_catalog.float8, pg_catalog.text[], pg_catalog.float8, pg_catalog.text, pg_catalog.text,
    pg_catalog.text, pg_catalog.regtype, pg_catalog.regtype, pg_catalog.regtype, pg_catalog.text, pg_catalog.jsonb) IS
'internal, not executable by PUBLIC: the body of evaluate_policy, called by its C front door with the checked relations, column types and model parameters';

CREATE FUNCTION @extschema@.evaluate_policy(logged pg_catalog.regclass, context_col pg_catalog.name,
    arm_col pg_catalog.name, reward_col pg_catalog.name, propensity_col pg_catalog.name,
    target_probs pg_catalog.regclass DEFAULT NULL, target_model pg_catalog.text DEFAULT NULL,
    target_bandit pg_catalog.text DEFAULT NULL, key_col pg_catalog.name DEFAULT NULL,
    estimators pg_catalog.text[] DEFAULT '{ips,snips,dm,dr}', bootstrap integer DEFAULT 200,
    seed bigint DEFAULT 0, alpha pg_catalog.float8 DEFAULT 0.05, ridge_lambda pg_catalog.float8 DEFAULT 1.0,
    features pg_catalog.text[] DEFAULT NULL, threshold pg_catalog.float8 DEFAULT NULL,
    treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control')
RETURNS TABLE (estimator pg_catalog.text, estimate pg_catalog.float8, ci_low pg_catalog.float8,
               ci_high pg_catalog.float8, ess pg_catalog.float8, n bigint)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 4
AS 'MODULE_PATHNAME', 'recpromo_evaluate_policy';
COMMENT ON FUNCTION @extschema@.evaluate_policy(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.name, pg_catalog.text[], integer,
    bigint, pg_catalog.float8, pg_catalog.float8, pg_catalog.text[], pg_catalog.float8, pg_catalog.text, pg_catalog.text) IS
'off-policy value of a target policy (target_probs table, target_model propensity/uplift model, or target_bandit) '
'from a logged table: ips, snips, dm and dr estimates with percentile bootstrap intervals and the effective sample size';
-- ---------------------------------------------------------------------------
-- Charts and the report: self-contained SVG (text) of the numbers of the
-- public functions, and one HTML page combining them (doc/charts.md).
-- The chart functions call the public function they plot through SPI as
-- their caller (src/pg/charts.c) and draw with the core SVG writer
-- (src/core/rp_svg.c); they take that function's arguments, passed on as
-- given, so they raise its errors.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.chart_metrics_at_k(
    models pg_catalog.text[],
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    metric pg_catalog.text DEFAULT 'ndcg',
    max_k integer DEFAULT 10,
    exclude_seen boolean DEFAULT true)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_metrics_at_k'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_metrics_at_k(pg_catalog.text[], pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, pg_catalog.text, integer, boolean) IS
'SVG line chart: a ranking metric (precision, recall, f1, ndcg, map, hit_rate, mrr) of evaluate() at k = 1..max_k, one line per model';

CREATE FUNCTION @extschema@.chart_model_comparison(
    models pg_catalog.text[],
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    k integer DEFAULT 10,
    exclude_seen boolean DEFAULT true)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_model_comparison'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_model_comparison(pg_catalog.text[], pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, integer, boolean) IS
'SVG grouped bar chart: precision, recall, NDCG, MAP, hit rate, MRR at k and coverage of evaluate() for several models on one held-out split';

CREATE FUNCTION @extschema@.chart_uplift_curve(
    source pg_catalog.regclass,
    score_col pg_catalog.name,
    treatment_col pg_catalog.name,
    outcome_col pg_catalog.name,
    treatment pg_catalog.text DEFAULT NULL,
    control pg_catalog.text DEFAULT 'control',
    curve pg_catalog.text DEFAULT 'qini',
    points integer DEFAULT 20,
    n_boot integer DEFAULT 200,
    seed bigint DEFAULT 42,
    confidence pg_catalog.float8 DEFAULT 0.9)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_uplift_curve'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_uplift_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.text, integer, integer, bigint, pg_catalog.float8) IS
'SVG chart of the Qini (curve => ''qini'') or cumulative uplift (''uplift'') curve of uplift_curve(), its random-targeting line and a seeded pointwise bootstrap band';

CREATE FUNCTION @extschema@.chart_uplift_by_decile(
    source pg_catalog.regclass,
    score_col pg_catalog.name,
    treatment_col pg_catalog.name,
    outcome_col pg_catalog.name,
    treatment pg_catalog.text DEFAULT NULL,
    control pg_catalog.text DEFAULT 'control',
    bins integer DEFAULT 10)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_uplift_by_decile'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_uplift_by_decile(pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.text, pg_catalog.text, integer) IS
'SVG bar chart of uplift_by_decile(): observed uplift per equal-count score bin, bin 1 = highest scores';

CREATE FUNCTION @extschema@.chart_profit_curve(
    candidates pg_catalog.regclass,
    customer_col pg_catalog.name,
    offer_col pg_catalog.name,
    value_col pg_catalog.name,
    cost_col pg_catalog.name,
    budgets pg_catalog.float8[],
    offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_profit_curve'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_profit_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.name, pg_catalog.float8[], pg_catalog.jsonb) IS
'SVG line chart of assign_offers_curve(): profit, its upper bound and the spend at each budget';

CREATE FUNCTION @extschema@.chart_rfm_segments(
    orders pg_catalog.regclass,
    customer_col pg_catalog.name,
    date_col pg_catalog.name,
    amount_col pg_catalog.name,
    as_of pg_catalog.timestamptz DEFAULT pg_catalog.now(),
    order_col pg_catalog.name DEFAULT NULL,
    returns_mode pg_catalog.text DEFAULT 'net')
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_rfm_segments'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_rfm_segments(pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.timestamptz, pg_catalog.name, pg_catalog.text) IS
'SVG bar chart of rfm() segments: each segment''s share of customers and share of value (summed monetary), in percent';

CREATE FUNCTION @extschema@.chart_kmeans_profiles(
    source pg_catalog.regclass,
    key_col pg_catalog.name,
    columns pg_catalog.name[],
    k integer,
    seed bigint DEFAULT 42,
    standardize boolean DEFAULT true,
    max_iter integer DEFAULT 100)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_kmeans_profiles'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_kmeans_profiles(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[],
    integer, bigint, boolean, integer) IS
'SVG bar chart of kmeans_clusters(): each cluster''s centre per column as an index, 100 = the mean of the column';

CREATE FUNCTION @extschema@.chart_bandit_arms(bandit pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_bandit_arms'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_bandit_arms(pg_catalog.text) IS
'SVG chart of bandit_stats(): each arm''s share of the decisions and its mean reward with the 95% interval';

CREATE FUNCTION @extschema@.chart_bandit_history(bandit pg_catalog.text, buckets integer DEFAULT 20)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_bandit_history'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_bandit_history(pg_catalog.text, integer) IS
'SVG chart of bandit_history() in two panels: each arm''s share of the decisions per time bucket, and its posterior mean reward with the 95% interval over time';

CREATE FUNCTION @extschema@.chart_exposure(
    models pg_catalog.text[],
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    k integer DEFAULT 10,
    exclude_seen boolean DEFAULT true,
    item_groups pg_catalog.regclass DEFAULT NULL,
    group_item_col pg_catalog.name DEFAULT 'item_id',
    group_col pg_catalog.name DEFAULT 'item_group',
    head_share double precision DEFAULT 0.2)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_exposure'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_exposure(pg_catalog.text[], pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    integer, boolean, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, double precision) IS
'SVG bar chart of exposure() for several models: per item group, each model''s share of the recommended slots against the group''s share of the relevant test items, with each model''s Gini, long-tail share, APLT and ARP stated';

CREATE FUNCTION @extschema@.chart_bars(
    labels pg_catalog.text[],
    bar_values pg_catalog.float8[],
    title pg_catalog.text DEFAULT NULL,
    y_label pg_catalog.text DEFAULT 'value',
    y_unit pg_catalog.text DEFAULT NULL,
    x_label pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_bars'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_bars(pg_catalog.text[], pg_catalog.float8[], pg_catalog.text,
    pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'SVG bar chart of any labelled values, such as the share of exposure per item group';

-- The report: one HTML page, inline CSS and SVG, no script, nothing fetched.
CREATE FUNCTION @extschema@.report(
    models pg_catalog.text[] DEFAULT NULL,
    test_source pg_catalog.regclass DEFAULT NULL,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    k integer DEFAULT 10,
    uplift_source pg_catalog.regclass DEFAULT NULL,
    score_col pg_catalog.name DEFAULT 'score',
    treatment_col pg_catalog.name DEFAULT 'treatment',
    outcome_col pg_catalog.name DEFAULT 'outcome',
    treatment pg_catalog.text DEFAULT NULL,
    candidates pg_catalog.regclass DEFAULT NULL,
    offer_col pg_catalog.name DEFAULT 'offer',
    value_col pg_catalog.name DEFAULT 'value',
    cost_col pg_catalog.name DEFAULT 'cost',
    budgets pg_catalog.float8[] DEFAULT NULL,
    orders pg_catalog.regclass DEFAULT NULL,
    customer_col pg_catalog.name DEFAULT 'customer_id',
    date_col pg_catalog.name DEFAULT 'ordered_at',
    amount_col pg_catalog.name DEFAULT 'amount',
    as_of pg_catalog.timestamptz DEFAULT pg_catalog.now(),
    segment_source pg_catalog.regclass DEFAULT NULL,
    segment_key pg_catalog.name DEFAULT 'customer',
    segment_columns pg_catalog.name[] DEFAULT NULL,
    clusters integer DEFAULT 4,
    bandit pg_catalog.text DEFAULT NULL,
    title pg_catalog.text DEFAULT 'recpromo report',
    item_groups pg_catalog.regclass DEFAULT NULL,
    group_item_col pg_catalog.name DEFAULT NULL,
    group_col pg_catalog.name DEFAULT 'item_group',
    bandit_buckets integer DEFAULT 20)
RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    body pg_catalog.text := '';
    sections integer := 0;
    sect constant pg_catalog.text := E'<section class="chart" id="%s">\n<h2>%s</h2>\n<p class="how">%s</p>\n%s</section>\n';
    t pg_catalog.text := pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
                             COALESCE(title, 'recpromo report'), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;');
BEGIN
    IF models IS NOT NULL AND test_source IS NULL THEN
        RAISE EXCEPTION 'test_source must not be null when models are given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass the held-out rows the models are scored on, such as test_source => ''shop_test''.';
    END IF;
    IF candidates IS NOT NULL AND budgets IS NULL THEN
        RAISE EXCEPTION 'budgets must not be null when candidates are given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass the budgets to plot, such as budgets => ARRAY[100, 200, 400].';
    END IF;
    IF item_groups IS NOT NULL AND models IS NULL THEN
        RAISE EXCEPTION 'models must not be null when item_groups are given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Exposure is measured on the models'' top-k lists: pass models and test_source too.';
    END IF;
    IF segment_source IS NOT NULL AND segment_columns IS NULL THEN
        RAISE EXCEPTION 'segment_columns must not be null when segment_source is given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the numeric columns to cluster on, such as ARRAY[''recency_days'', ''frequency''].';
    END IF;

    IF models IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'models',
            'Which recommender finds the held-out purchases',
            'Each model''s top-k lists are scored against purchases it did not see in training (evaluate()). '
            'Precision: the share of recommended items that were bought. Recall: the share of bought items that '
            'were recommended. NDCG also rewards putting them near the top. Coverage: the share of the catalogue '
            'recommended to someone. Compare models only on the same split; the taller bar wins.',
            @extschema@.chart_model_comparison(models, test_source, user_col, item_col, k));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'precision-at-k',
            'Precision as the list gets longer',
            'Precision at k for k = 1 to ' OPERATOR(pg_catalog.||) k::pg_catalog.text OPERATOR(pg_catalog.||)
            '. Longer lists usually lower precision (more slots to fill) and raise recall. A line that stays above the others '
            'is the better model at every list length; where lines cross, the choice depends on how many items you show.',
            @extschema@.chart_metrics_at_k(models, test_source, user_col, item_col, 'precision', k));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'recall-at-k',
            'Recall as the list gets longer',
            'Recall at k: the share of each customer''s held-out purchases found in the first k recommendations. '
            'It can only grow with k; a steep start means the model puts what customers buy at the top.',
            @extschema@.chart_metrics_at_k(models, test_source, user_col, item_col, 'recall', k));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'ndcg-at-k',
            'Ranking quality (NDCG) as the list gets longer',
            'NDCG at k weighs each hit by its position (a hit at rank 1 counts most) and scales the result so that '
            'a perfect list scores 1.',
            @extschema@.chart_metrics_at_k(models, test_source, user_col, item_col, 'ndcg', k));
        sections := sections OPERATOR(pg_catalog.+) 4;
        IF item_groups IS NOT NULL THEN
            body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'exposure',
                'Which kinds of products the models show',
                'For each item group: the share of the recommended slots (top ' OPERATOR(pg_catalog.||) k::pg_catalog.text
                OPERATOR(pg_catalog.||) ' lists) each model gives it, against the group''s share of what the customers '
                'actually bought next (exposure()). A slot bar far above the other bar means the model shows the group '
                'more than customers buy it. Under the title: Gini (0 = every product shown equally often, near 1 = '
                'a few products take every slot), the long-tail share of the slots, APLT (the average share of '
                'long-tail products per list) and ARP (the average popularity of the products shown).',
                @extschema@.chart_exposure(models, test_source, user_col, item_col, k, true, item_groups,
                    COALESCE(group_item_col, item_col), group_col));
            sections := sections OPERATOR(pg_catalog.+) 1;
        END IF;
    END IF;
    IF uplift_source IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'qini',
            'Whom to target: the Qini curve',
            'Customers are sorted by the uplift score, highest first. The curve shows the extra outcome (versus the '
            'control group) gained by treating the top share of them; the dashed line is what random targeting '
            'would gain. The shaded band is a bootstrap interval: where it stays above the dashed line, the score '
            'beats random targeting. Target up to where the curve stops rising.',
            @extschema@.chart_uplift_curve(uplift_source, score_col, treatment_col, outcome_col, treatment));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'uplift-curve',
            'Cumulative uplift',
            'The same ranking read as the average extra outcome per customer in the targeted group, scaled to the '
            'whole population; both curves end at the average treatment effect.',
            @extschema@.chart_uplift_curve(uplift_source, score_col, treatment_col, outcome_col, treatment, curve => 'uplift'));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'uplift-deciles',
            'Uplift by score decile',
            'Observed uplift (treated mean minus control mean) in each tenth of the customers, bin 1 holding the '
            'highest scores. A useful score has tall bars on the left and short or negative bars on the right: '
            'those customers would buy anyway, or are put off by the offer.',
            @extschema@.chart_uplift_by_decile(uplift_source, score_col, treatment_col, outcome_col, treatment));
        sections := sections OPERATOR(pg_catalog.+) 3;
    END IF;
    IF candidates IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'profit',
            'How much budget to spend',
            'Profit of the best offer assignment (assign_offers()) at each budget, with an upper bound no assignment '
            'can beat and the money actually spent. Where the profit line flattens, extra budget buys little; '
            'a small gap to the bound means the assignment is close to optimal.',
            @extschema@.chart_profit_curve(candidates, customer_col, offer_col, value_col, cost_col, budgets));
        sections := sections OPERATOR(pg_catalog.+) 1;
    END IF;
    IF orders IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'rfm',
            'Customer segments (RFM)',
            'Customers grouped by recency, frequency and monetary value (rfm()). For each segment: its share of '
            'customers and its share of the value they spent. Segments whose value bar is taller than their customer '
            'bar are worth more than their size; large segments with little value are candidates for reactivation.',
            @extschema@.chart_rfm_segments(orders, customer_col, date_col, amount_col, as_of));
        sections := sections OPERATOR(pg_catalog.+) 1;
    END IF;
    IF segment_source IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'clusters',
            'Cluster profiles (k-means)',
            'Each cluster''s centre (kmeans_clusters()) per column, as an index where 100 is the average row: '
            'a bar at 200 means twice the average. Read each cluster''s bars together to name it '
            '(for example: recent, frequent, high spend).',
            @extschema@.chart_kmeans_profiles(segment_source, segment_key, segment_columns, clusters));
        sections := sections OPERATOR(pg_catalog.+) 1;
    END IF;
    IF bandit IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'bandit',
            'Bandit: where the traffic goes',
            'For each arm of the bandit (bandit_stats()): its share of the decisions so far, and its mean reward with '
            'a 95% interval. A learning bandit sends most traffic to the arm whose interval lies highest; '
            'overlapping intervals mean it is still exploring.',
            @extschema@.chart_bandit_arms(bandit));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'bandit-history',
            'Bandit: how it learned',
            'The bandit''s decisions cut into equal spans of time (bandit_history()). Top: each arm''s share of the '
            'decisions in each span; a bandit that has learned gives most of the traffic to one arm. Bottom: each '
            'arm''s estimated reward at the end of each span with its 95% interval (Beta posterior for yes/no '
            'rewards, a normal interval for amounts). Intervals narrow as rewards arrive; once the best arm''s '
            'interval lies above the others, the bandit has found it.',
            @extschema@.chart_bandit_history(bandit, bandit_buckets));
        sections := sections OPERATOR(pg_catalog.+) 2;
    END IF;
    IF sections OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION 'report has nothing to show'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass models and test_source (with item_groups for exposure), uplift_source, candidates and budgets, orders, segment_source or bandit.';
    END IF;
    RETURN '<!DOCTYPE html>' OPERATOR(pg_catalog.||) E'\n'
        '<html lang="en"><head><meta charset="utf-8">' OPERATOR(pg_catalog.||) E'\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">' OPERATOR(pg_catalog.||) E'\n'
        '<title>' OPERATOR(pg_catalog.||) t OPERATOR(pg_catalog.||) '</title>' OPERATOR(pg_catalog.||) E'\n'
        '<style>' OPERATOR(pg_catalog.||) E'\n'
        'body { margin: 0; background: #f4f4f4; color: #1a1a1a; font: 16px/1.5 "DejaVu Sans", "Noto Sans CJK SC", Arial, Helvetica, sans-serif; }' OPERATOR(pg_catalog.||) E'\n'
        'main { max-width: 1040px; margin: 0 auto; padding: 24px 20px 48px; }' OPERATOR(pg_catalog.||) E'\n'
        'h1 { font-size: 28px; margin: 8px 0 4px; } h2 { font-size: 21px; margin: 0 0 6px; }' OPERATOR(pg_catalog.||) E'\n'
        'section.chart { background: #ffffff; border: 1px solid #d8d8d8; border-radius: 6px; padding: 16px 18px; margin: 20px 0; }' OPERATOR(pg_catalog.||) E'\n'
        'p.how { margin: 0 0 12px; max-width: 70em; } svg.rp-chart { display: block; width: 100%; height: auto; }' OPERATOR(pg_catalog.||) E'\n'
        'nav a { margin-right: 14px; color: #0060a0; }' OPERATOR(pg_catalog.||) E'\n'
        '</style></head><body><main>' OPERATOR(pg_catalog.||) E'\n'
        '<h1>' OPERATOR(pg_catalog.||) t OPERATOR(pg_catalog.||) '</h1>' OPERATOR(pg_catalog.||) E'\n'
        '<p class="meta">' OPERATOR(pg_catalog.||) sections::pg_catalog.text OPERATOR(pg_catalog.||)
        ' charts drawn by recpromo from its SQL functions; hover a point or bar to see its value.</p>' OPERATOR(pg_catalog.||) E'\n'
        OPERATOR(pg_catalog.||) body OPERATOR(pg_catalog.||) '</main></body></html>' OPERATOR(pg_catalog.||) E'\n';
END
$$;
COMMENT ON FUNCTION @extschema@.report(pg_catalog.text[], pg_catalog.regclass, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.regclass,
    pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.float8[],
    pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.timestamptz, pg_catalog.regclass,
    pg_catalog.name, pg_catalog.name[], integer, pg_catalog.text, pg_catalog.text, pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, integer) IS
'one self-contained HTML page (inline CSS and SVG, no script, nothing fetched) with the charts of the given models (and their exposure by item group), uplift campaign, offer candidates, orders, segmentation and bandit (its arms and its history), each with a short text on how to read it';
-- ---------------------------------------------------------------------------
-- Citus, the distributed PostgreSQL (doc/scaling.md).
--
-- citus_enable() turns the model tables into Citus reference tables, so
-- that every worker holds every model and serves it from its local copy.
-- The rest of the Citus layout is in C (src/pg/citus.c): model reads inside
-- pushed-down queries, training on the coordinator only, fold-in inside a
-- query on a shard.  Only a superuser (who owns the model tables through
-- the extension) may run it: it is not executable by PUBLIC.
-- It calls Citus's own functions, which live in pg_catalog; under the
-- fixed search_path nothing else can match their names.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.citus_enable()
RETURNS TABLE (step pg_catalog.text, detail pg_catalog.text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    citus_version text;
    n_workers int;
    missing text;
    t regclass;
BEGIN
    SELECT e.extversion INTO citus_version FROM pg_catalog.pg_extension e WHERE e.extname = 'citus';
    IF citus_version IS NULL THEN
        RAISE EXCEPTION 'citus is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Add citus to shared_preload_libraries, restart, and run CREATE EXTENSION citus first.';
    END IF;
    IF pg_catalog.split_part(citus_version, '.', 1)::int < 13 THEN
        RAISE EXCEPTION 'citus % is too old for recpromo', citus_version
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'recpromo is tested with Citus 13.2 (the last series for PostgreSQL 15).';
    END IF;
    step := 'citus'; detail := 'version ' || citus_version; RETURN NEXT;
    IF NOT pg_catalog.citus_is_coordinator() THEN
        RAISE EXCEPTION 'citus_enable() must run on the Citus coordinator'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Connect to the coordinator (the node that runs citus_add_node) and run it there.';
    END IF;
    SELECT pg_catalog.count(*) INTO n_workers FROM pg_catalog.pg_dist_node d
     WHERE d.noderole = 'primary' AND d.isactive AND d.groupid <> 0;
    step := 'nodes'; detail := n_workers || ' active primary worker(s)'; RETURN NEXT;
    -- every worker must have the same recpromo installed (CREATE EXTENSION on
    -- the coordinator propagates it to the nodes Citus knows)
    IF n_workers > 0 THEN
        SELECT pg_catalog.string_agg(r.nodename || ':' || r.nodeport || ' (' || coalesce(r.result, '') || ')', ', ')
          INTO missing
          FROM pg_catalog.run_command_on_workers(
                 $q$SELECT coalesce((SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'recpromo'), 'none')$q$) r
         WHERE NOT r.success
            OR r.result <> (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'recpromo');
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'recpromo is missing or of another version on worker(s) %', missing
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Install the same recpromo library on every node and run CREATE EXTENSION recpromo (or ALTER EXTENSION recpromo UPDATE) where it is missing.';
        END IF;
    END IF;
    FOREACH t IN ARRAY ARRAY['@extschema@.model'::regclass, '@extschema@.model_part'::regclass] LOOP
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = t) THEN
            step := 'reference table'; detail := t::text || ' already is a Citus table'; RETURN NEXT;
        ELSE
            PERFORM pg_catalog.create_reference_table(t);
            step := 'reference table'; detail := t::text || ' is now a reference table, copied to every node';
            RETURN NEXT;
        END IF;
    END LOOP;
    step := 'training'; detail := 'models are trained on the coordinator; training on a worker is refused';
    RETURN NEXT;
    step := 'serving'; detail := 'every node serves every model from its local copy';
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.citus_enable() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.citus_enable() IS
'on a Citus coordinator: makes the model tables reference tables (every node serves every model), after checking the Citus version and that every worker has the same recpromo; lists what it did';
