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
-- aggregates cosine_agg(x, y) and svec_agg(index, value).  See README
-- "Similarity".  Conventions: double sums, cosine clamped to [-1, 1], and the
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
    version       uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid()
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
       m.store_seconds
FROM @extschema@.model m
WHERE pg_catalog.pg_has_role(m.owner::pg_catalog.oid, 'USAGE')
   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(m.readers) g(r)
               WHERE g.r::pg_catalog.oid OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                  OR pg_catalog.pg_has_role(g.r::pg_catalog.oid, 'USAGE'));
COMMENT ON VIEW @extschema@.models IS
'the models the current role may serve (its own, its roles'', and those granted to it): method, '
'hyper-parameters, source, sizes, training and store time, final loss, owner and grants';
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

CREATE FUNCTION @extschema@.grant_model(name text, role name)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_grant_model'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.grant_model(text, name) IS
'lets a role (and its members), or every role with role => ''public'', serve a model (owner only); '
'a grant exposes the training interactions of every user the model knows';

CREATE FUNCTION @extschema@.revoke_model(name text, role name)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_revoke_model'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.revoke_model(text, name) IS
'withdraws a grant_model (owner only)';

-- Internal, executable by PUBLIC because the SECURITY INVOKER promotion
-- functions of ordinary roles call them; each checks the caller's rights on
-- the model itself (owner to write, owner or grantee to read).
CREATE FUNCTION @extschema@._promo_store(model_name text, model_method text, model_params jsonb,
    model_source regclass, rows bigint, seconds float8, loss float8)
RETURNS bigint
AS 'MODULE_PATHNAME', 'recpromo__promo_store'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._promo_store(text, text, jsonb, regclass, bigint, float8, float8) IS
'internal: inserts or atomically replaces a promotion model row under a fresh id (owner rules of train)';

CREATE FUNCTION @extschema@._promo_params(model text, want text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'recpromo__promo_params'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._promo_params(text, text) IS
'internal: parameters of a stored model the caller may serve, checking that it has the expected method';

CREATE FUNCTION @extschema@._model_set_metrics(name text, metrics jsonb) RETURNS void
AS 'MODULE_PATHNAME', 'recpromo__model_set_metrics'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._model_set_metrics(text, jsonb) IS
'internal: records the training metrics of a model the caller owns';

-- Internal, for the update from 0.1.0 only: checksums the parts 0.1.0 stored.
CREATE FUNCTION @extschema@._seal_parts() RETURNS bigint
AS 'MODULE_PATHNAME', 'recpromo__seal_parts'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._seal_parts() IS
'internal: computes the checksum of every model part that has none (the update from 0.1.0)';
REVOKE ALL ON FUNCTION @extschema@._seal_parts() FROM PUBLIC;

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
    exclude_categories pg_catalog.text[] DEFAULT NULL)
RETURNS TABLE (item pg_catalog.anyelement, score double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.recommend(pg_catalog.anyelement, integer, pg_catalog.text, boolean,
    pg_catalog."any", pg_catalog."any", pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.text[], pg_catalog.text[]) IS
'top-n items for a user, best first: skips what the user already interacted with, filters inside the selection, '
'optional boosts (score * weight or score + weight from a table) and category rules (only/never these categories, '
'at most max_per_category per category), folds in users newer than the model, popularity for users with no history';

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
-- Evaluation: deterministic splits, per-user ranking metrics and the scoring
-- of ranked lists against held-out data (README "Evaluation" has the
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

-- Internal helpers of time_split and evaluate_rankings.  They stay executable
-- by PUBLIC: those two are SECURITY INVOKER functions that any role calls, and
-- the helpers only read pg_attribute and pg_type, which every role can read.
--
-- Type of a column of a relation, with a clear error when absent.
CREATE FUNCTION @extschema@._eval_column_type(rel pg_catalog.regclass, col pg_catalog.name, what pg_catalog.text)
RETURNS pg_catalog.regtype
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t pg_catalog.regtype;
BEGIN
    IF col IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', what
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = pg_catalog.format('Name a column of %s.', rel);
    END IF;
    SELECT a.atttypid::pg_catalog.regtype INTO t
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attname OPERATOR(pg_catalog.=) col
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    IF t IS NULL THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', col, rel
            USING ERRCODE = 'undefined_column',
                  HINT = pg_catalog.format('Check the %s argument.', what);
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION @extschema@._eval_column_type(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: type of a column, raising undefined_column when it does not exist';

-- Type category of a (possibly domain) type, 'N' numeric, 'S' string...
CREATE FUNCTION @extschema@._eval_type_category(t pg_catalog.regtype)
RETURNS pg_catalog."char"
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.typcategory
      FROM pg_catalog.pg_type b
     WHERE b.oid OPERATOR(pg_catalog.=)
           (SELECT CASE WHEN d.typtype OPERATOR(pg_catalog.=) 'd' THEN d.typbasetype ELSE d.oid END
              FROM pg_catalog.pg_type d WHERE d.oid OPERATOR(pg_catalog.=) t)
$$;
COMMENT ON FUNCTION @extschema@._eval_type_category(pg_catalog.regtype) IS
'internal: pg_type.typcategory of a type or of a domain''s base type';

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
    PERFORM @extschema@._eval_column_type(rel, user_col, 'user_col');
    time_type := @extschema@._eval_column_type(rel, time_col, 'time_col');
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
        IF @extschema@._eval_type_category(@extschema@._eval_column_type(train, item_col, 'item_col'))
           <> @extschema@._eval_type_category(@extschema@._eval_column_type(recommendations, item_col, 'item_col')) THEN
            RAISE EXCEPTION 'item columns of % and % have incompatible types', recommendations, train
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use keys of the same type in both tables, or a view that casts them.';
        END IF;
        PERFORM @extschema@._eval_column_type(train, user_col, 'user_col');
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
--   read the caller's tables with the caller's privileges, so table and
--   column grants and row-level security apply as for any query the caller
--   could type.  Model rows are read through _promo_params and written
--   through _promo_store, which own the ownership and grant checks.
-- * Fixed search_path.  Every SQL and PL/pgSQL function runs with
--   SET search_path = pg_catalog, pg_temp, so no object that a role plants
--   in a schema of the caller's search_path (a public.format(text, name),
--   a public.= on text) is ever resolved; function and operator lookup
--   never consults pg_temp.  Function calls are also written schema-
--   qualified (pg_catalog.format, @extschema@.sigmoid).  The operators of
--   PL/pgSQL control flow rely on the fixed path; every operator of the SQL
--   text these functions generate is qualified, OPERATOR(pg_catalog.=).
--   No SQL-standard body (BEGIN ATOMIC / RETURN): those bind their names
--   when the script runs, under whatever path the installation had.
-- * Privileges.  The internal functions below (names starting with "_")
--   stay executable by PUBLIC: the invoker-rights functions that ordinary
--   roles call need them, and they too run as the caller, reading only what
--   the caller may read (the C ones read no table at all).
-- * Generated SQL.  The only identifiers pasted into SQL text are column
--   names, quoted with format('%I'), and relations, written as
--   "schema"."name" from the catalog (_promo_rel).  Every value (labels,
--   centres, scales, levels, coefficients, budgets) is passed as a
--   parameter with EXECUTE ... USING; none is ever SQL text.
-- * Stored models are untrusted input.  A model's params (jsonb) may have
--   been written by another role, or edited by hand, and are used by the
--   role that scores with it, possibly a superuser.  _promo_model checks
--   them against a fixed schema before use (feature kinds from a fixed
--   list, column names at most 63 bytes, every number finite, arrays of
--   the right lengths) and refuses anything else with XX001
--   data_corrupted naming the model.  Even a row that passed would only
--   yield quoted identifiers and parameters.
--
-- The numeric work is done in C (src/core/rp_logreg.c, rp_kmeans.c,
-- rp_uplift.c, rp_assign.c) through the internal functions whose names
-- start with an underscore: they take whole columns as arrays.  Money
-- (rfm's monetary value, category_affinity's spend) is summed in numeric,
-- so cents add up exactly and a net spend of zero is zero.  Definitions,
-- conventions and errors are in the README section "Customer profiles and
-- promotions".
-- ---------------------------------------------------------------------------

-- Internal C entry points --------------------------------------------------

CREATE FUNCTION @extschema@._promo_fit(kind pg_catalog.text, x pg_catalog.float8[], y pg_catalog.float8[], w pg_catalog.float8[],
    lambda pg_catalog.float8, free_col integer, max_iter integer, tol pg_catalog.float8,
    OUT coef pg_catalog.float8[], OUT iterations integer, OUT converged boolean, OUT loss pg_catalog.float8)
AS 'MODULE_PATHNAME', 'recpromo__promo_fit'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._promo_fit(pg_catalog.text, pg_catalog.float8[], pg_catalog.float8[], pg_catalog.float8[], pg_catalog.float8, integer, integer, pg_catalog.float8) IS
'internal: fits a logistic (Newton/IRLS) or ridge model on a design matrix given as a 2-D array';

CREATE FUNCTION @extschema@._kmeans_fit(x pg_catalog.float8[], k integer, seed bigint, max_iter integer,
    OUT assign integer[], OUT centres pg_catalog.float8[], OUT sizes bigint[], OUT inertia pg_catalog.float8,
    OUT iterations integer, OUT converged boolean)
AS 'MODULE_PATHNAME', 'recpromo__kmeans_fit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._kmeans_fit(pg_catalog.float8[], integer, bigint, integer) IS
'internal: seeded k-means++ / Lloyd clustering of the rows of a 2-D array';

CREATE FUNCTION @extschema@._uplift_metrics(score pg_catalog.float8[], treated boolean[], outcome pg_catalog.float8[],
    k_percent pg_catalog.float8, n_boot integer, seed bigint, confidence pg_catalog.float8)
RETURNS TABLE (metric pg_catalog.text, value pg_catalog.float8, ci_low pg_catalog.float8, ci_high pg_catalog.float8)
AS 'MODULE_PATHNAME', 'recpromo__uplift_metrics'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION @extschema@._uplift_metrics(pg_catalog.float8[], boolean[], pg_catalog.float8[], pg_catalog.float8, integer, bigint, pg_catalog.float8) IS
'internal: Qini coefficient, AUUC, uplift@k and ATE with percentile bootstrap intervals';

CREATE FUNCTION @extschema@._uplift_curve(score pg_catalog.float8[], treated boolean[], outcome pg_catalog.float8[],
    points integer)
RETURNS TABLE (fraction pg_catalog.float8, qini pg_catalog.float8, uplift pg_catalog.float8)
AS 'MODULE_PATHNAME', 'recpromo__uplift_curve'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 11;
COMMENT ON FUNCTION @extschema@._uplift_curve(pg_catalog.float8[], boolean[], pg_catalog.float8[], integer) IS
'internal: the Qini and uplift curves sampled at points equally spaced fractions';

CREATE FUNCTION @extschema@._assign_run(customer pg_catalog.text[], offer pg_catalog.text[], value pg_catalog.float8[],
    cost pg_catalog.float8[], limit_offers pg_catalog.text[], limit_counts bigint[], budget pg_catalog.float8)
RETURNS TABLE (customer pg_catalog.text, offer pg_catalog.text, value pg_catalog.float8, cost pg_catalog.float8, profit pg_catalog.float8,
               total_customers bigint, total_spent pg_catalog.float8, total_profit pg_catalog.float8, upper_bound pg_catalog.float8)
AS 'MODULE_PATHNAME', 'recpromo__assign_run'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10000;
COMMENT ON FUNCTION @extschema@._assign_run(pg_catalog.text[], pg_catalog.text[], pg_catalog.float8[], pg_catalog.float8[], pg_catalog.text[], bigint[], pg_catalog.float8) IS
'internal: greedy offer assignment for one budget over candidate columns';

CREATE FUNCTION @extschema@._assign_curve(customer pg_catalog.text[], offer pg_catalog.text[], value pg_catalog.float8[],
    cost pg_catalog.float8[], limit_offers pg_catalog.text[], limit_counts bigint[], budgets pg_catalog.float8[])
RETURNS TABLE (budget pg_catalog.float8, customers bigint, spent pg_catalog.float8, profit pg_catalog.float8, upper_bound pg_catalog.float8)
AS 'MODULE_PATHNAME', 'recpromo__assign_curve'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@._assign_curve(pg_catalog.text[], pg_catalog.text[], pg_catalog.float8[], pg_catalog.float8[], pg_catalog.text[], bigint[], pg_catalog.float8[]) IS
'internal: greedy offer assignment for each budget of a list';


-- Small helpers -------------------------------------------------------------

-- Logistic function, computed without overflow (C: rp_sigmoid).
CREATE FUNCTION @extschema@.sigmoid(t pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo_sigmoid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sigmoid(pg_catalog.float8) IS
'logistic function 1 / (1 + exp(-t)), computed without overflow';

-- A relation as SQL text: "schema"."name", both quoted, whatever the
-- caller's search_path.  Only this text ever names a relation in generated
-- SQL.
CREATE FUNCTION @extschema@._promo_rel(source pg_catalog.regclass) RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    q text;
BEGIN
    IF source IS NULL THEN
        RAISE EXCEPTION 'source table must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) INTO q
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = source;
    IF q IS NULL THEN
        RAISE EXCEPTION 'relation with OID % does not exist', source::oid
            USING ERRCODE = 'undefined_table';
    END IF;
    RETURN q;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_rel(pg_catalog.regclass) IS
'internal: schema-qualified, quoted name of a relation for generated SQL';

-- Type of a column of a table, or an undefined_column error naming its role.
CREATE FUNCTION @extschema@._promo_coltype(source pg_catalog.regclass, col pg_catalog.name, role pg_catalog.text)
RETURNS pg_catalog.regtype
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
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
                  HINT = pg_catalog.format('The %s must name a column of the source table.', role);
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_coltype(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: type of a column, or an undefined_column error';

-- SQL expression reading a numeric or boolean column as float8.
CREATE FUNCTION @extschema@._promo_num(source pg_catalog.regclass, col pg_catalog.name, role pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regtype := @extschema@._promo_coltype(source, col, role);
BEGIN
    IF t = 'boolean'::regtype THEN
        RETURN pg_catalog.format('((%I)::pg_catalog.int4::pg_catalog.float8)', col);
    ELSIF t IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'real'::regtype,
                'double precision'::regtype, 'numeric'::regtype) THEN
        RETURN pg_catalog.format('((%I)::pg_catalog.float8)', col);
    END IF;
    RAISE EXCEPTION 'column "%" of % has type %, expected a number or boolean', col, source::text, t
        USING ERRCODE = 'datatype_mismatch',
              HINT = pg_catalog.format('The %s must be a number or boolean column.', role);
END
$$;
COMMENT ON FUNCTION @extschema@._promo_num(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: float8 expression of a numeric or boolean column, or a datatype_mismatch error';

-- SQL expression reading an amount of money as numeric.  A float8 amount
-- becomes the numeric of its 15 significant digits (the float8 -> numeric
-- cast), so 7.6499999999999995 (3 x 2.55 in float8) counts as 7.65 and
-- sums of cents are exact.
CREATE FUNCTION @extschema@._promo_money(source pg_catalog.regclass, col pg_catalog.name, role pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regtype := @extschema@._promo_coltype(source, col, role);
BEGIN
    IF t IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'real'::regtype,
             'double precision'::regtype, 'numeric'::regtype) THEN
        RETURN pg_catalog.format('((%I)::pg_catalog.numeric)', col);
    END IF;
    RAISE EXCEPTION 'column "%" of % has type %, expected a number', col, source::text, t
        USING ERRCODE = 'datatype_mismatch',
              HINT = pg_catalog.format('The %s must be a number column (numeric, integer or float).', role);
END
$$;
COMMENT ON FUNCTION @extschema@._promo_money(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: numeric expression of an amount column, or a datatype_mismatch error';

-- Feature specification: numeric columns (centred and scaled when
-- standardize) and one-hot levels of categorical columns (the first level in
-- sort order is the reference and gets no column).  Missing, non-finite and
-- constant features raise errors.  The result is a jsonb array of
--   {"column": c, "kind": "numeric", "bool": b, "center": x, "scale": s}
--   {"column": c, "kind": "level", "level": l}
-- which _promo_spec_problem checks when it comes back from storage.
CREATE FUNCTION @extschema@._promo_feature_spec(source pg_catalog.regclass, features pg_catalog.name[],
    categorical pg_catalog.name[], standardize boolean)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel text := @extschema@._promo_rel(source);
    spec jsonb := '[]';
    exprs text[] := '{}';
    stats float8[];
    q text := '';
    col name;
    i int := 0;
    nnull bigint;
    levels text[];
BEGIN
    IF coalesce(pg_catalog.cardinality(features), 0) + coalesce(pg_catalog.cardinality(categorical), 0) = 0 THEN
        RAISE EXCEPTION 'no features given'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass numeric columns in features and text columns in categorical.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.unnest(coalesce(features, '{}') || coalesce(categorical, '{}')) c
               GROUP BY c HAVING pg_catalog.count(*) > 1) THEN
        RAISE EXCEPTION 'a feature is listed twice'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH col IN ARRAY coalesce(features, '{}') LOOP
        exprs := exprs || @extschema@._promo_num(source, col, 'feature');
        q := q || pg_catalog.format(
            ', pg_catalog.count(*) FILTER (WHERE %1$s IS NULL), pg_catalog.avg(%1$s),'
            ' pg_catalog.stddev_pop(%1$s), pg_catalog.min(%1$s), pg_catalog.max(%1$s)',
            exprs[pg_catalog.cardinality(exprs)]);
    END LOOP;
    IF q <> '' THEN
        EXECUTE pg_catalog.format('SELECT ARRAY[pg_catalog.count(*)::pg_catalog.float8%s] FROM %s', q, rel)
           INTO stats;
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
                          DETAIL = pg_catalog.format('Every row has the value %s.', stats[5 * i]),
                          HINT = 'Drop the column from the features: it carries no information.';
            END IF;
            spec := spec || pg_catalog.jsonb_build_object(
                'column', col, 'kind', 'numeric',
                'bool', (@extschema@._promo_coltype(source, col, 'feature') = 'boolean'::regtype),
                'center', CASE WHEN standardize THEN stats[5 * i - 2] ELSE 0 END,
                'scale', CASE WHEN standardize THEN stats[5 * i - 1] ELSE 1 END);
        END LOOP;
    END IF;
    FOREACH col IN ARRAY coalesce(categorical, '{}') LOOP
        PERFORM @extschema@._promo_coltype(source, col, 'categorical feature');
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.count(*) FILTER (WHERE %1$I IS NULL),'
            ' pg_catalog.array_agg(DISTINCT (%1$I)::pg_catalog.text) FILTER (WHERE %1$I IS NOT NULL) FROM %2$s',
            col, rel) INTO nnull, levels;
        IF nnull > 0 THEN
            RAISE EXCEPTION 'feature "%" has % missing values', col, nnull
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = 'Map NULL to a level of its own (coalesce) or filter the rows.';
        END IF;
        IF coalesce(pg_catalog.cardinality(levels), 0) < 2 THEN
            RAISE EXCEPTION 'feature "%" is constant', col
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A categorical feature needs at least two levels.';
        END IF;
        IF pg_catalog.cardinality(levels) > 1000 THEN
            RAISE EXCEPTION 'feature "%" has % levels, the limit is 1000', col, pg_catalog.cardinality(levels)
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Group rare levels together first.';
        END IF;
        FOR i IN 2 .. pg_catalog.cardinality(levels) LOOP
            spec := spec || pg_catalog.jsonb_build_object('column', col, 'kind', 'level', 'level', levels[i]);
        END LOOP;
    END LOOP;
    RETURN spec;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_feature_spec(pg_catalog.regclass, pg_catalog.name[], pg_catalog.name[], boolean) IS
'internal: feature encoding (centre/scale of numeric columns, one-hot levels) with input checks';

-- Stored models as untrusted input ----------------------------------------------

-- What is wrong with a feature specification, or NULL when it is well formed.
CREATE FUNCTION @extschema@._promo_spec_problem(spec pg_catalog.jsonb) RETURNS pg_catalog.text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f jsonb;
    i int := 0;
    c numeric;
    s numeric;
BEGIN
    IF pg_catalog.jsonb_typeof(spec) IS DISTINCT FROM 'array' THEN
        RETURN 'features is not an array';
    END IF;
    IF pg_catalog.jsonb_array_length(spec) = 0 OR pg_catalog.jsonb_array_length(spec) > 100000 THEN
        RETURN pg_catalog.format('features has %s entries', pg_catalog.jsonb_array_length(spec));
    END IF;
    FOR f IN SELECT x.v FROM pg_catalog.jsonb_array_elements(spec) AS x(v) LOOP
        i := i + 1;
        IF pg_catalog.jsonb_typeof(f) IS DISTINCT FROM 'object' THEN
            RETURN pg_catalog.format('feature %s is not an object', i);
        END IF;
        IF pg_catalog.jsonb_typeof(f->'column') IS DISTINCT FROM 'string'
           OR pg_catalog.octet_length(f->>'column') NOT BETWEEN 1 AND 63 THEN
            RETURN pg_catalog.format('feature %s has no valid column name', i);
        END IF;
        IF f->>'kind' = 'numeric' AND pg_catalog.jsonb_typeof(f->'kind') = 'string' THEN
            IF pg_catalog.jsonb_typeof(f->'bool') IS DISTINCT FROM 'boolean' THEN
                RETURN pg_catalog.format('feature %s has no boolean "bool"', i);
            END IF;
            IF pg_catalog.jsonb_typeof(f->'center') IS DISTINCT FROM 'number'
               OR pg_catalog.jsonb_typeof(f->'scale') IS DISTINCT FROM 'number' THEN
                RETURN pg_catalog.format('feature %s has an invalid centre or scale', i);
            END IF;
            c := (f->'center')::pg_catalog.numeric;
            s := (f->'scale')::pg_catalog.numeric;
            IF s = 0 THEN
                RETURN pg_catalog.format('feature %s has a zero scale', i);
            END IF;
            -- finite float8 bounds (as in _promo_coef_problem), inline: this runs on every call
            IF pg_catalog.abs(c) > 1e300 OR (c <> 0 AND pg_catalog.abs(c) < 1e-300)
               OR pg_catalog.abs(s) > 1e300 OR pg_catalog.abs(s) < 1e-300 THEN
                RETURN pg_catalog.format('feature %s has an invalid centre or scale', i);
            END IF;
        ELSIF f->>'kind' = 'level' AND pg_catalog.jsonb_typeof(f->'kind') = 'string' THEN
            IF pg_catalog.jsonb_typeof(f->'level') IS DISTINCT FROM 'string' THEN
                RETURN pg_catalog.format('feature %s has no text level', i);
            END IF;
        ELSE
            RETURN pg_catalog.format('feature %s has an unknown kind', i);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_spec_problem(pg_catalog.jsonb) IS
'internal: describes what is wrong with a stored feature specification, NULL when nothing is';

-- What is wrong with a coefficient vector of n entries, or NULL.
CREATE FUNCTION @extschema@._promo_coef_problem(coef pg_catalog.jsonb, n integer, what pg_catalog.text) RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN pg_catalog.jsonb_typeof(coef) IS DISTINCT FROM 'array'
            THEN pg_catalog.format('%s is not an array', what)
        WHEN pg_catalog.jsonb_array_length(coef) <> n
            THEN pg_catalog.format('%s has the wrong length (%s, the features need %s)',
                                   what, pg_catalog.jsonb_array_length(coef), n)
        WHEN EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(coef) c
                      WHERE CASE WHEN pg_catalog.jsonb_typeof(c) IS DISTINCT FROM 'number' THEN true
                                 ELSE pg_catalog.abs(c::pg_catalog.numeric) > 1e300
                                      OR (c::pg_catalog.numeric <> 0 AND pg_catalog.abs(c::pg_catalog.numeric) < 1e-300) END)
            THEN pg_catalog.format('%s has an entry that is not a finite number', what)
        END
$$;
COMMENT ON FUNCTION @extschema@._promo_coef_problem(pg_catalog.jsonb, integer, pg_catalog.text) IS
'internal: describes what is wrong with a stored coefficient vector, NULL when nothing is';

-- What is wrong with the parameters of a stored logistic or uplift model,
-- or NULL when they are well formed.
CREATE FUNCTION @extschema@._promo_params_problem(p pg_catalog.jsonb, method pg_catalog.text) RETURNS pg_catalog.text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad text;
    n int;
    a jsonb;
    i int := 0;
BEGIN
    IF pg_catalog.jsonb_typeof(p) IS DISTINCT FROM 'object' THEN
        RETURN 'params is not an object';
    END IF;
    bad := @extschema@._promo_spec_problem(p->'features');
    IF bad IS NOT NULL THEN
        RETURN bad;
    END IF;
    n := pg_catalog.jsonb_array_length(p->'features') + 1;
    IF method = 'logistic' THEN
        RETURN @extschema@._promo_coef_problem(p->'coef', n, 'coef');
    END IF;
    IF method <> 'uplift' THEN
        RETURN pg_catalog.format('method %s has no stored parameters', method);
    END IF;
    IF pg_catalog.jsonb_typeof(p->'method') IS DISTINCT FROM 'string'
       OR p->>'method' NOT IN ('two_model', 'class_transformation') THEN
        RETURN 'method is not two_model or class_transformation';
    END IF;
    IF pg_catalog.jsonb_typeof(p->'outcome') IS DISTINCT FROM 'string'
       OR p->>'outcome' NOT IN ('binary', 'continuous') THEN
        RETURN 'outcome is not binary or continuous';
    END IF;
    IF p->>'method' = 'two_model' THEN
        bad := @extschema@._promo_coef_problem(p->'control_coef', n, 'control_coef');
        IF bad IS NOT NULL THEN
            RETURN bad;
        END IF;
    END IF;
    IF pg_catalog.jsonb_typeof(p->'arms') IS DISTINCT FROM 'array'
       OR pg_catalog.jsonb_array_length(p->'arms') NOT BETWEEN 1 AND 10000 THEN
        RETURN 'arms is not an array of 1 to 10000 treatments';
    END IF;
    FOR a IN SELECT x.v FROM pg_catalog.jsonb_array_elements(p->'arms') AS x(v) LOOP
        i := i + 1;
        IF pg_catalog.jsonb_typeof(a->'treatment') IS DISTINCT FROM 'string' THEN
            RETURN pg_catalog.format('arm %s has no text treatment', i);
        END IF;
        bad := @extschema@._promo_coef_problem(a->'coef', n, pg_catalog.format('the coef of arm %s', i));
        IF bad IS NOT NULL THEN
            RETURN bad;
        END IF;
    END LOOP;
    IF (SELECT pg_catalog.count(DISTINCT e->>'treatment') FROM pg_catalog.jsonb_array_elements(p->'arms') e) < i THEN
        RETURN 'two arms have the same treatment';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_params_problem(pg_catalog.jsonb, pg_catalog.text) IS
'internal: describes what is wrong with stored model parameters, NULL when nothing is';

-- Parameters of a stored model of the given method, checked: the only way
-- the functions below read a model.
CREATE FUNCTION @extschema@._promo_model(model pg_catalog.text, want pg_catalog.text) RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p jsonb := @extschema@._promo_params(model, want);
    bad text := @extschema@._promo_params_problem(p, want);
BEGIN
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'model "%" is corrupted', model
            USING ERRCODE = 'data_corrupted',
                  DETAIL = pg_catalog.format('Its stored parameters are invalid: %s.', bad),
                  HINT = 'Retrain the model (train_propensity or train_uplift); stored parameters are not meant to be edited.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_model(pg_catalog.text, pg_catalog.text) IS
'internal: parameters of a stored model of a method, validated, or a data_corrupted error';

-- The centres, scales and levels of a (checked) specification as arrays, one
-- entry per feature (NULL where the kind has none): the parameters that go
-- with the expressions of _promo_design.
CREATE FUNCTION @extschema@._promo_spec_values(spec pg_catalog.jsonb,
    OUT center pg_catalog.float8[], OUT scale pg_catalog.float8[], OUT levels pg_catalog.text[])
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.array_agg(CASE WHEN f->>'kind' = 'numeric' THEN (f->'center')::pg_catalog.float8 END ORDER BY i),
           pg_catalog.array_agg(CASE WHEN f->>'kind' = 'numeric' THEN (f->'scale')::pg_catalog.float8 END ORDER BY i),
           pg_catalog.array_agg(CASE WHEN f->>'kind' = 'level' THEN f->>'level' END ORDER BY i)
      FROM pg_catalog.jsonb_array_elements(spec) WITH ORDINALITY e(f, i)
$$;
COMMENT ON FUNCTION @extschema@._promo_spec_values(pg_catalog.jsonb) IS
'internal: centres, scales and levels of a feature specification as parameter arrays';

-- A (checked) coefficient vector as float8[].
CREATE FUNCTION @extschema@._promo_coef(coef pg_catalog.jsonb) RETURNS pg_catalog.float8[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.array_agg(c::pg_catalog.float8 ORDER BY i)
      FROM pg_catalog.jsonb_array_elements(coef) WITH ORDINALITY e(c, i)
$$;
COMMENT ON FUNCTION @extschema@._promo_coef(pg_catalog.jsonb) IS
'internal: a stored coefficient vector as float8[]';

-- The SQL expression of each encoded feature, reading the centre, scale and
-- level of feature j from the parameters $p[j], $(p+1)[j], $(p+2)[j] (the
-- arrays of _promo_spec_values).  Column names are the only text taken from
-- the specification, always quoted as identifiers.
CREATE FUNCTION @extschema@._promo_design(spec pg_catalog.jsonb, p integer) RETURNS pg_catalog.text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f jsonb;
    j bigint;
    out text[] := '{}';
BEGIN
    FOR f, j IN SELECT e.f, e.j FROM pg_catalog.jsonb_array_elements(spec) WITH ORDINALITY e(f, j) ORDER BY e.j LOOP
        IF f->>'kind' = 'level' THEN
            out := out || pg_catalog.format(
                '(((%1$I)::pg_catalog.text OPERATOR(pg_catalog.=) $%2$s[%3$s])::pg_catalog.int4::pg_catalog.float8)',
                f->>'column', p + 2, j);
        ELSIF f->>'kind' = 'numeric' THEN
            out := out || pg_catalog.format(
                '(((%1$I)%2$s::pg_catalog.float8 OPERATOR(pg_catalog.-) $%3$s[%5$s]) OPERATOR(pg_catalog./) $%4$s[%5$s])',
                f->>'column', CASE WHEN (f->'bool')::pg_catalog.bool THEN '::pg_catalog.int4' ELSE '' END,
                p, p + 1, j);
        ELSE
            RAISE EXCEPTION 'invalid feature kind in a model specification'
                USING ERRCODE = 'data_corrupted';
        END IF;
    END LOOP;
    RETURN out;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_design(pg_catalog.jsonb, integer) IS
'internal: SQL expressions of the encoded features, values taken from parameters';

-- coef[1] + sum coef[j+1] * feature_j, as SQL text, the coefficients read
-- from the parameter array coef_ref (an internal constant such as '$1' or
-- '$1[2]', never text from a model).
CREATE FUNCTION @extschema@._promo_linear_sql(exprs pg_catalog.text[], coef_ref pg_catalog.text) RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '(' || coef_ref || '[1]'
           || coalesce(pg_catalog.string_agg(pg_catalog.format(' OPERATOR(pg_catalog.+) (%s[%s] OPERATOR(pg_catalog.*) %s)',
                                                               coef_ref, j + 1, x), '' ORDER BY j), '')
           || ')'
      FROM pg_catalog.unnest(exprs) WITH ORDINALITY u(x, j)
$$;
COMMENT ON FUNCTION @extschema@._promo_linear_sql(pg_catalog.text[], pg_catalog.text) IS
'internal: SQL expression of a linear predictor whose coefficients are a parameter array';

-- The same linear predictor evaluated on one row given as jsonb; NULL when a
-- feature is missing from it or NULL.
CREATE FUNCTION @extschema@._promo_linear_jsonb(spec pg_catalog.jsonb, coef pg_catalog.jsonb, x pg_catalog.jsonb) RETURNS pg_catalog.float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN pg_catalog.bool_or(t IS NULL) THEN NULL
                ELSE (coef->>0)::pg_catalog.float8 + coalesce(pg_catalog.sum((coef->>(i::pg_catalog.int4))::pg_catalog.float8 * t), 0) END
      FROM (SELECT e.i,
                   CASE WHEN e.f->>'kind' = 'level'
                        THEN ((x->>(e.f->>'column')) = (e.f->>'level'))::pg_catalog.int4::pg_catalog.float8
                        WHEN (e.f->>'bool')::pg_catalog.bool
                        THEN (((x->>(e.f->>'column'))::pg_catalog.bool::pg_catalog.int4::pg_catalog.float8)
                              - (e.f->>'center')::pg_catalog.float8) / (e.f->>'scale')::pg_catalog.float8
                        ELSE (((x->>(e.f->>'column'))::pg_catalog.float8) - (e.f->>'center')::pg_catalog.float8)
                             / (e.f->>'scale')::pg_catalog.float8 END AS t
              FROM pg_catalog.jsonb_array_elements(spec) WITH ORDINALITY e(f, i)) s
$$;
COMMENT ON FUNCTION @extschema@._promo_linear_jsonb(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
'internal: linear predictor of a stored model on one row given as jsonb';

-- Checks that a table has every column a model's features read; an
-- undefined_column error naming them, the table and the model otherwise.
CREATE FUNCTION @extschema@._promo_check_columns(model pg_catalog.text, spec pg_catalog.jsonb, source pg_catalog.regclass) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing text[];
    wanted text;
BEGIN
    SELECT pg_catalog.array_agg(DISTINCT c), pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(c), ', ')
      INTO missing, wanted
      FROM (SELECT f->>'column' AS c FROM pg_catalog.jsonb_array_elements(spec) f) s
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = source AND a.attname = s.c::name
                          AND a.attnum > 0 AND NOT a.attisdropped);
    IF missing IS NOT NULL THEN
        SELECT pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(f->>'column'), ', ') INTO wanted
          FROM pg_catalog.jsonb_array_elements(spec) f;
        RAISE EXCEPTION 'model "%" needs column% % that % does not have', model,
                        CASE WHEN pg_catalog.cardinality(missing) > 1 THEN 's' ELSE '' END,
                        (SELECT pg_catalog.string_agg(pg_catalog.format('"%s"', m), ', ' ORDER BY m)
                           FROM pg_catalog.unnest(missing) m), source::text
            USING ERRCODE = 'undefined_column',
                  DETAIL = pg_catalog.format('The model reads the feature columns %s.', wanted),
                  HINT = 'Score a table or view that has these columns under the same names (a view can rename them).';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_check_columns(pg_catalog.text, pg_catalog.jsonb, pg_catalog.regclass) IS
'internal: undefined_column error naming the feature columns of a model that a table lacks';

-- _promo_params(model, want) and _promo_store(...) are C functions defined in
-- 30_train.sql (they check the model's owner and grants).

CREATE FUNCTION @extschema@._promo_check_name(name pg_catalog.text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_check_name(pg_catalog.text) IS 'internal: rejects an empty model name';

-- Profiles --------------------------------------------------------------------

CREATE FUNCTION @extschema@._promo_raise_missing(what pg_catalog.text, n bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '% has % missing or non-finite values', what, n
        USING ERRCODE = 'null_value_not_allowed',
              HINT = 'Filter the rows with a view first.';
END
$$;
COMMENT ON FUNCTION @extschema@._promo_raise_missing(pg_catalog.text, bigint) IS
'internal: raises the missing-values error from inside a query';

-- Monetary values are numeric: amounts are summed exactly (see _promo_money).
CREATE FUNCTION @extschema@.rfm(orders pg_catalog.regclass, customer_col pg_catalog.name, date_col pg_catalog.name, amount_col pg_catalog.name,
    as_of pg_catalog.timestamptz DEFAULT pg_catalog.now(), order_col pg_catalog.name DEFAULT NULL, returns_mode pg_catalog.text DEFAULT 'net')
RETURNS TABLE (customer pg_catalog.text, recency_days integer, frequency bigint, monetary numeric,
               r_score integer, f_score integer, m_score integer, rfm_cell pg_catalog.text, segment pg_catalog.text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 10000
AS $$
DECLARE
    rel text := @extschema@._promo_rel(orders);
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
    amt_expr := @extschema@._promo_money(orders, amount_col, 'amount column');
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF returns_mode IS NULL OR returns_mode NOT IN ('net', 'ignore') THEN
        RAISE EXCEPTION 'invalid returns_mode "%"', returns_mode
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''net'' (returns reduce monetary) or ''ignore'' (only purchases count).';
    END IF;
    IF order_col IS NULL THEN
        ord := 'NULL::pg_catalog.text';
    ELSE
        PERFORM @extschema@._promo_coltype(orders, order_col, 'order column');
        ord := pg_catalog.format('(%I)::pg_catalog.text', order_col);
    END IF;
    -- $1 as_of, $2 returns_mode, $3 the non-finite numerics
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH lines AS (
            SELECT (%1$I)::pg_catalog.text AS cu, (%2$I)::pg_catalog.timestamptz AS ts, %3$s AS amt, %4$s AS ord,
                   pg_catalog.row_number() OVER () AS rn
              FROM %5$s WHERE (%1$I) IS NOT NULL),
        bad AS (SELECT pg_catalog.count(*) AS n FROM lines
                 WHERE ts IS NULL OR amt IS NULL OR amt OPERATOR(pg_catalog.=) ANY ($3)),
        ords AS (
            SELECT cu, pg_catalog.min(ts) AS ts, pg_catalog.sum(amt) AS amt
              FROM lines GROUP BY cu, coalesce(ord, rn::pg_catalog.text)),
        per AS (
            SELECT cu,
                   pg_catalog.floor(pg_catalog.extract('epoch',
                       $1 OPERATOR(pg_catalog.-) pg_catalog.max(ts) FILTER (WHERE amt OPERATOR(pg_catalog.>) 0))
                       OPERATOR(pg_catalog./) 86400)::pg_catalog.int4 AS rec,
                   pg_catalog.count(*) FILTER (WHERE amt OPERATOR(pg_catalog.>) 0) AS freq,
                   CASE WHEN $2 OPERATOR(pg_catalog.=) 'net' THEN pg_catalog.sum(amt)
                        ELSE pg_catalog.sum(amt) FILTER (WHERE amt OPERATOR(pg_catalog.>) 0) END AS mon
              FROM ords GROUP BY cu
            HAVING pg_catalog.count(*) FILTER (WHERE amt OPERATOR(pg_catalog.>) 0) OPERATOR(pg_catalog.>) 0),
        ranked AS (
            SELECT per.*,
                   pg_catalog.rank() OVER (ORDER BY rec DESC) AS rr,
                   pg_catalog.rank() OVER (ORDER BY freq) AS fr,
                   pg_catalog.rank() OVER (ORDER BY mon) AS mr,
                   pg_catalog.count(*) OVER () AS n
              FROM per),
        scored AS (
            -- score = 1 + floor(5 (rank - 1) / n), in integers
            SELECT cu, rec, freq, mon,
                   (1 OPERATOR(pg_catalog.+) ((5 OPERATOR(pg_catalog.*) (rr OPERATOR(pg_catalog.-) 1)) OPERATOR(pg_catalog./) n))::pg_catalog.int4 AS r,
                   (1 OPERATOR(pg_catalog.+) ((5 OPERATOR(pg_catalog.*) (fr OPERATOR(pg_catalog.-) 1)) OPERATOR(pg_catalog./) n))::pg_catalog.int4 AS f,
                   (1 OPERATOR(pg_catalog.+) ((5 OPERATOR(pg_catalog.*) (mr OPERATOR(pg_catalog.-) 1)) OPERATOR(pg_catalog./) n))::pg_catalog.int4 AS m
              FROM ranked)
        SELECT cu, rec, freq, mon, r, f, m,
               pg_catalog.concat(r, f, m),
               CASE WHEN r OPERATOR(pg_catalog.>=) 4 AND f OPERATOR(pg_catalog.>=) 4 THEN 'champions'
                    WHEN r OPERATOR(pg_catalog.>=) 3 AND f OPERATOR(pg_catalog.>=) 3 THEN 'loyal'
                    WHEN r OPERATOR(pg_catalog.>=) 4 AND f OPERATOR(pg_catalog.=) 1 THEN 'new customers'
                    WHEN r OPERATOR(pg_catalog.>=) 3 THEN 'promising'
                    WHEN r OPERATOR(pg_catalog.=) 1 AND f OPERATOR(pg_catalog.>=) 4 THEN 'cannot lose them'
                    WHEN f OPERATOR(pg_catalog.>=) 3 THEN 'at risk'
                    WHEN r OPERATOR(pg_catalog.=) 2 THEN 'hibernating'
                    ELSE 'lost' END
          FROM scored
         WHERE (SELECT CASE WHEN n OPERATOR(pg_catalog.>) 0
                            THEN @extschema@._promo_raise_missing('date or amount', n) ELSE true END FROM bad)
    $q$, customer_col, date_col, amt_expr, ord, rel)
    USING as_of, returns_mode, '{NaN,Infinity,-Infinity}'::numeric[];
END
$$;
COMMENT ON FUNCTION @extschema@.rfm(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.timestamptz, pg_catalog.name, pg_catalog.text) IS
'recency (days since the last purchase), frequency (purchase orders), monetary value (numeric, summed exactly), quintile scores 1-5 and named segments per customer';

CREATE FUNCTION @extschema@.category_affinity(orders pg_catalog.regclass, customer_col pg_catalog.name, category_col pg_catalog.name,
    amount_col pg_catalog.name DEFAULT NULL)
RETURNS TABLE (customer pg_catalog.text, category pg_catalog.text, amount numeric, share pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 50000
AS $$
DECLARE
    rel text := @extschema@._promo_rel(orders);
    amt_expr text := '1::pg_catalog.numeric';
BEGIN
    PERFORM @extschema@._promo_coltype(orders, customer_col, 'customer column');
    PERFORM @extschema@._promo_coltype(orders, category_col, 'category column');
    IF amount_col IS NOT NULL THEN
        amt_expr := @extschema@._promo_money(orders, amount_col, 'amount column');
    END IF;
    -- net spend summed in numeric: a category whose purchases and returns
    -- cancel is exactly 0 and left out
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH c AS (
            SELECT (%1$I)::pg_catalog.text AS cu, (%2$I)::pg_catalog.text AS cat, pg_catalog.sum(%3$s) AS amt
              FROM %4$s WHERE (%1$I) IS NOT NULL AND (%2$I) IS NOT NULL AND (%3$s) IS NOT NULL
             GROUP BY 1, 2)
        SELECT cu, cat, amt,
               (amt OPERATOR(pg_catalog./) pg_catalog.sum(amt) OVER (PARTITION BY cu))::pg_catalog.float8
          FROM c WHERE amt OPERATOR(pg_catalog.>) 0
    $q$, customer_col, category_col, amt_expr, rel);
END
$$;
COMMENT ON FUNCTION @extschema@.category_affinity(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name) IS
'each customer''s share of net spend (amount_col given, summed in numeric) or of purchase rows (amount_col NULL) per category';

-- Reads, checks and optionally standardises the k-means columns.
CREATE FUNCTION @extschema@._kmeans_read(source pg_catalog.regclass, key_col pg_catalog.name, columns pg_catalog.name[],
    standardize boolean, OUT keys pg_catalog.text[], OUT x pg_catalog.float8[], OUT center pg_catalog.float8[], OUT scale pg_catalog.float8[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    spec jsonb;
    v record;
BEGIN
    PERFORM @extschema@._promo_coltype(source, key_col, 'key column');
    IF coalesce(pg_catalog.cardinality(columns), 0) = 0 THEN
        RAISE EXCEPTION 'no columns given' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    spec := @extschema@._promo_feature_spec(source, columns, '{}', coalesce(standardize, true));
    v := @extschema@._promo_spec_values(spec);
    center := v.center;
    scale := v.scale;
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg((%1$I)::pg_catalog.text ORDER BY %1$I), pg_catalog.array_agg(ARRAY[%2$s] ORDER BY %1$I) FROM %3$s',
        key_col, pg_catalog.array_to_string(@extschema@._promo_design(spec, 1), ', '), @extschema@._promo_rel(source))
       INTO keys, x USING v.center, v.scale, v.levels;
END
$$;
COMMENT ON FUNCTION @extschema@._kmeans_read(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], boolean) IS
'internal: reads the k-means points in key order';

CREATE FUNCTION @extschema@.kmeans(source pg_catalog.regclass, key_col pg_catalog.name, columns pg_catalog.name[], k integer,
    seed bigint DEFAULT 42, standardize boolean DEFAULT true, max_iter integer DEFAULT 100)
RETURNS TABLE (key pg_catalog.text, cluster integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 10000 SUPPORT @extschema@._rows_per_source_row
AS $$
DECLARE
    r record;
    fit record;
BEGIN
    -- _kmeans_fit is STRICT: a NULL here would leave fit unassigned (55000)
    IF k IS NULL OR seed IS NULL OR max_iter IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN k IS NULL THEN 'k' WHEN seed IS NULL THEN 'seed' ELSE 'max_iter' END
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Give k, the number of clusters; omit seed and max_iter for their defaults (42 and 100).';
    END IF;
    r := @extschema@._kmeans_read(source, key_col, columns, standardize);
    fit := @extschema@._kmeans_fit(r.x, k, seed, max_iter);
    RETURN QUERY SELECT u.key, u.cluster FROM ROWS FROM (pg_catalog.unnest(r.keys), pg_catalog.unnest(fit.assign)) AS u(key, cluster);
END
$$;
COMMENT ON FUNCTION @extschema@.kmeans(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], integer, bigint, boolean, integer) IS
'k-means segmentation (k-means++ start, seeded) of the rows of a table over numeric columns: each key''s cluster 1..k';

CREATE FUNCTION @extschema@.kmeans_clusters(source pg_catalog.regclass, key_col pg_catalog.name, columns pg_catalog.name[], k integer,
    seed bigint DEFAULT 42, standardize boolean DEFAULT true, max_iter integer DEFAULT 100)
RETURNS TABLE (cluster integer, size bigint, centre pg_catalog.float8[], inertia pg_catalog.float8, iterations integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 10
AS $$
DECLARE
    r record;
    fit record;
    d int := pg_catalog.cardinality(columns);
BEGIN
    -- _kmeans_fit is STRICT: a NULL here would leave fit unassigned (55000)
    IF k IS NULL OR seed IS NULL OR max_iter IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN k IS NULL THEN 'k' WHEN seed IS NULL THEN 'seed' ELSE 'max_iter' END
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Give k, the number of clusters; omit seed and max_iter for their defaults (42 and 100).';
    END IF;
    r := @extschema@._kmeans_read(source, key_col, columns, standardize);
    fit := @extschema@._kmeans_fit(r.x, k, seed, max_iter);
    RETURN QUERY
        SELECT c, fit.sizes[c],
               (SELECT pg_catalog.array_agg(fit.centres[c][j] * r.scale[j] + r.center[j] ORDER BY j)
                  FROM pg_catalog.generate_series(1, d) j),
               fit.inertia, fit.iterations
          FROM pg_catalog.generate_series(1, k) c;
END
$$;
COMMENT ON FUNCTION @extschema@.kmeans_clusters(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], integer, bigint, boolean, integer) IS
'the clusters of kmeans() with the same arguments: sizes, centres in the columns'' own units, inertia (in standardised units when standardize)';

-- Propensity ---------------------------------------------------------------------

-- Reads and checks a 0/1 or boolean target; returns its float8 expression.
CREATE FUNCTION @extschema@._promo_binary_target(source pg_catalog.regclass, target_col pg_catalog.name, role pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e text := @extschema@._promo_num(source, target_col, role);
    nnull bigint;
    nbad bigint;
    npos bigint;
    n bigint;
BEGIN
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*) FILTER (WHERE %1$s IS NULL),'
        ' pg_catalog.count(*) FILTER (WHERE %1$s OPERATOR(pg_catalog.<>) 0 AND %1$s OPERATOR(pg_catalog.<>) 1),'
        ' pg_catalog.count(*) FILTER (WHERE %1$s OPERATOR(pg_catalog.=) 1), pg_catalog.count(*) FROM %2$s',
        e, @extschema@._promo_rel(source)) INTO nnull, nbad, npos, n;
    IF nnull > 0 THEN
        RAISE EXCEPTION '% "%" has % missing values', role, target_col, nnull
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Filter the rows with a view first.';
    END IF;
    IF nbad > 0 THEN
        RAISE EXCEPTION '% "%" must be 0 or 1', role, target_col
            USING ERRCODE = 'data_exception',
                  DETAIL = pg_catalog.format('%s rows have other values.', nbad);
    END IF;
    IF npos = 0 OR npos = n THEN
        RAISE EXCEPTION '% "%" has only one class', role, target_col
            USING ERRCODE = 'data_exception',
                  DETAIL = pg_catalog.format('All %s rows have the value %s.', n, CASE WHEN npos = 0 THEN 0 ELSE 1 END),
                  HINT = 'A logistic model needs rows of both classes.';
    END IF;
    RETURN e;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_binary_target(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: checks a 0/1 target column and returns its float8 expression';

-- Quality of logistic parameters p on a table with the true 0/1 target:
-- the query behind evaluate_propensity, also used at training before the
-- model is stored.
CREATE FUNCTION @extschema@._propensity_metrics(p pg_catalog.jsonb, source pg_catalog.regclass, target_col pg_catalog.name)
RETURNS TABLE (metric pg_catalog.text, value pg_catalog.float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
ROWS 5
AS $$
DECLARE
    y_expr text := @extschema@._promo_binary_target(source, target_col, 'target column');
    v record := @extschema@._promo_spec_values(p->'features');
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH s AS (SELECT @extschema@.sigmoid(%1$s) AS p, %2$s AS y FROM %3$s),
        ok AS (SELECT p, y FROM s WHERE p IS NOT NULL),
        r AS (SELECT p, y, pg_catalog.rank() OVER (ORDER BY p)
                           OPERATOR(pg_catalog.+) ((pg_catalog.count(*) OVER (PARTITION BY p) OPERATOR(pg_catalog.-) 1)
                                                   OPERATOR(pg_catalog./) 2.0) AS ar FROM ok),
        t AS (SELECT pg_catalog.count(*)::pg_catalog.float8 AS n, pg_catalog.sum(y) AS n1,
                     pg_catalog.sum(ar) FILTER (WHERE y OPERATOR(pg_catalog.=) 1) AS rs,
                     OPERATOR(pg_catalog.-) pg_catalog.avg(
                         (y OPERATOR(pg_catalog.*) pg_catalog.ln(GREATEST(p, 1e-15::pg_catalog.float8)))
                         OPERATOR(pg_catalog.+) ((1 OPERATOR(pg_catalog.-) y)
                                                 OPERATOR(pg_catalog.*) pg_catalog.ln(GREATEST(1 OPERATOR(pg_catalog.-) p, 1e-15::pg_catalog.float8)))) AS ll,
                     pg_catalog.avg((p OPERATOR(pg_catalog.-) y) OPERATOR(pg_catalog.^) 2) AS brier FROM r)
        SELECT m, v FROM t, LATERAL (VALUES
            (1, 'rows', n), (2, 'positives', n1),
            (3, 'auc', (rs::pg_catalog.float8 OPERATOR(pg_catalog.-) ((n1 OPERATOR(pg_catalog.*) (n1 OPERATOR(pg_catalog.+) 1)) OPERATOR(pg_catalog./) 2))
                       OPERATOR(pg_catalog./) (n1 OPERATOR(pg_catalog.*) (n OPERATOR(pg_catalog.-) n1))),
            (4, 'log_loss', ll), (5, 'brier', brier)) x(o, m, v) ORDER BY o
    $q$, @extschema@._promo_linear_sql(@extschema@._promo_design(p->'features', 2), '$1'), y_expr,
         @extschema@._promo_rel(source))
    USING @extschema@._promo_coef(p->'coef'), v.center, v.scale, v.levels;
END
$$;
COMMENT ON FUNCTION @extschema@._propensity_metrics(pg_catalog.jsonb, pg_catalog.regclass, pg_catalog.name) IS
'internal: AUC, log-loss and Brier score of logistic parameters on a table';

CREATE FUNCTION @extschema@.train_propensity(name pg_catalog.text, source pg_catalog.regclass, target_col pg_catalog.name,
    features pg_catalog.name[] DEFAULT '{}', categorical pg_catalog.name[] DEFAULT '{}', lambda pg_catalog.float8 DEFAULT 1.0,
    standardize boolean DEFAULT true, max_iter integer DEFAULT 100, tol pg_catalog.float8 DEFAULT 1e-10)
RETURNS TABLE (feature pg_catalog.text, coefficient pg_catalog.float8)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
ROWS 10
AS $$
DECLARE
    t0 timestamptz := pg_catalog.clock_timestamp();
    spec jsonb;
    v record;
    y_expr text;
    x float8[];
    y float8[];
    fit record;
    n bigint;
    p jsonb;
    m jsonb;
BEGIN
    PERFORM @extschema@._promo_check_name(name);
    IF lambda IS NULL OR lambda < 0 OR lambda IN ('NaN', 'Infinity') THEN
        RAISE EXCEPTION 'lambda must be a finite number >= 0' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    y_expr := @extschema@._promo_binary_target(source, target_col, 'target column');
    spec := @extschema@._promo_feature_spec(source, features, categorical, coalesce(standardize, true));
    v := @extschema@._promo_spec_values(spec);
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(ARRAY[1::pg_catalog.float8, %s]), pg_catalog.array_agg(%s), pg_catalog.count(*) FROM %s',
        pg_catalog.array_to_string(@extschema@._promo_design(spec, 1), ', '), y_expr, @extschema@._promo_rel(source))
       INTO x, y, n USING v.center, v.scale, v.levels;
    fit := @extschema@._promo_fit('logistic', x, y, NULL, lambda, 0, max_iter, tol);
    p := pg_catalog.jsonb_build_object('features', spec, 'coef', pg_catalog.to_jsonb(fit.coef), 'lambda', lambda,
                                       'standardize', coalesce(standardize, true), 'target', target_col,
                                       'iterations', fit.iterations, 'converged', fit.converged);
    -- metrics computed before the model is stored, from the same parameters
    SELECT pg_catalog.jsonb_object_agg('train_' || e.metric, e.value) INTO m
      FROM @extschema@._propensity_metrics(p, source, target_col) e;
    PERFORM @extschema@._promo_store(name, 'logistic', p, source, n,
                                     pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - t0)::float8, fit.loss);
    PERFORM @extschema@._model_set_metrics(train_propensity.name, m);
    -- coefficient labels: "(intercept)", numeric column names, "column=level"
    RETURN QUERY
        SELECT l, c
          FROM ROWS FROM (pg_catalog.unnest(ARRAY['(intercept)'] ||
                              coalesce((SELECT pg_catalog.array_agg(CASE WHEN e.f->>'kind' = 'level'
                                                                         THEN (e.f->>'column') || '=' || (e.f->>'level')
                                                                         ELSE e.f->>'column' END ORDER BY e.i)
                                          FROM pg_catalog.jsonb_array_elements(spec) WITH ORDINALITY e(f, i)), '{}')),
                          pg_catalog.unnest(fit.coef)) AS u(l, c);
END
$$;
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
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 100000 SUPPORT @extschema@._rows_per_source_row
AS $$
DECLARE
    p jsonb := @extschema@._promo_model(model, 'logistic');
    v record;
BEGIN
    PERFORM @extschema@._promo_coltype(source, key_col, 'key column');
    PERFORM @extschema@._promo_check_columns(model, p->'features', source);
    v := @extschema@._promo_spec_values(p->'features');
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT (%I)::pg_catalog.text, @extschema@.sigmoid(%s) FROM %s',
        key_col, @extschema@._promo_linear_sql(@extschema@._promo_design(p->'features', 2), '$1'),
        @extschema@._promo_rel(source))
    USING @extschema@._promo_coef(p->'coef'), v.center, v.scale, v.levels;
END
$$;
COMMENT ON FUNCTION @extschema@.score_propensity(pg_catalog.text, pg_catalog.regclass, pg_catalog.name) IS
'propensity (predicted probability) of every row of a table under a stored logistic model; NULL when a feature is NULL';

CREATE FUNCTION @extschema@.predict_propensity(model pg_catalog.text, features pg_catalog.jsonb) RETURNS pg_catalog.float8
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p jsonb := @extschema@._promo_model(model, 'logistic');
BEGIN
    RETURN @extschema@.sigmoid(@extschema@._promo_linear_jsonb(p->'features', p->'coef', features));
END
$$;
COMMENT ON FUNCTION @extschema@.predict_propensity(pg_catalog.text, pg_catalog.jsonb) IS
'propensity of one row given as jsonb (e.g. to_jsonb(t)) under a stored logistic model; NULL when a feature is missing';

CREATE FUNCTION @extschema@.evaluate_propensity(model pg_catalog.text, source pg_catalog.regclass, target_col pg_catalog.name)
RETURNS TABLE (metric pg_catalog.text, value pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 5
AS $$
DECLARE
    p jsonb := @extschema@._promo_model(model, 'logistic');
BEGIN
    PERFORM @extschema@._promo_check_columns(model, p->'features', source);
    RETURN QUERY SELECT e.metric, e.value FROM @extschema@._propensity_metrics(p, source, target_col) e;
END
$$;
COMMENT ON FUNCTION @extschema@.evaluate_propensity(pg_catalog.text, pg_catalog.regclass, pg_catalog.name) IS
'AUC (Mann-Whitney, ties counted half), log-loss, Brier score of a stored logistic model on a table with the true 0/1 target';

CREATE FUNCTION @extschema@.propensity_calibration(model pg_catalog.text, source pg_catalog.regclass, target_col pg_catalog.name,
    bins integer DEFAULT 10)
RETURNS TABLE (bin integer, rows bigint, mean_predicted pg_catalog.float8, observed_rate pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 10
AS $$
DECLARE
    p jsonb := @extschema@._promo_model(model, 'logistic');
    y_expr text;
    v record;
BEGIN
    PERFORM @extschema@._promo_check_columns(model, p->'features', source);
    y_expr := @extschema@._promo_binary_target(source, target_col, 'target column');
    IF bins IS NULL OR bins < 1 OR bins > 1000 THEN
        RAISE EXCEPTION 'bins must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v := @extschema@._promo_spec_values(p->'features');
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH s AS (SELECT @extschema@.sigmoid(%1$s) AS p, %2$s AS y FROM %3$s),
        b AS (SELECT p, y, pg_catalog.ntile($5) OVER (ORDER BY p, y) AS bin FROM s WHERE p IS NOT NULL)
        SELECT bin, pg_catalog.count(*), pg_catalog.avg(p), pg_catalog.avg(y) FROM b GROUP BY bin ORDER BY bin
    $q$, @extschema@._promo_linear_sql(@extschema@._promo_design(p->'features', 2), '$1'), y_expr,
         @extschema@._promo_rel(source))
    USING @extschema@._promo_coef(p->'coef'), v.center, v.scale, v.levels, bins;
END
$$;
COMMENT ON FUNCTION @extschema@.propensity_calibration(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, integer) IS
'calibration table: rows cut into equal-count bins by predicted propensity (1 = lowest), mean prediction and observed rate per bin';

-- Uplift --------------------------------------------------------------------------

-- Arms of a campaign table: checks the control group and returns the
-- treatment labels (sorted) with their counts.
CREATE FUNCTION @extschema@._uplift_arms(source pg_catalog.regclass, treatment_col pg_catalog.name, control pg_catalog.text,
    OUT labels pg_catalog.text[], OUT counts bigint[], OUT n_control bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel text := @extschema@._promo_rel(source);
    nnull bigint;
BEGIN
    PERFORM @extschema@._promo_coltype(source, treatment_col, 'treatment column');
    IF control IS NULL THEN
        RAISE EXCEPTION 'control label must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*) FILTER (WHERE (%1$I) IS NULL),'
        ' pg_catalog.count(*) FILTER (WHERE (%1$I)::pg_catalog.text OPERATOR(pg_catalog.=) $1) FROM %2$s',
        treatment_col, rel) INTO nnull, n_control USING control;
    IF nnull > 0 THEN
        RAISE EXCEPTION 'treatment column "%" has % missing values', treatment_col, nnull
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Every row must name its arm.';
    END IF;
    IF n_control = 0 THEN
        RAISE EXCEPTION 'no control group'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('No row of %s has %I = %L.', source, treatment_col, control),
                  HINT = 'Uplift needs a randomised control group; pass its label as control.';
    END IF;
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(t ORDER BY t), pg_catalog.array_agg(c ORDER BY t)'
        '  FROM (SELECT (%1$I)::pg_catalog.text AS t, pg_catalog.count(*) AS c FROM %2$s'
        '         WHERE (%1$I)::pg_catalog.text OPERATOR(pg_catalog.<>) $1 GROUP BY 1) s',
        treatment_col, rel) INTO labels, counts USING control;
    IF labels IS NULL THEN
        RAISE EXCEPTION 'no treated rows'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Every row is in the control group.';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._uplift_arms(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: checks a campaign''s control group and lists its treatment arms';

CREATE FUNCTION @extschema@.train_uplift(name pg_catalog.text, source pg_catalog.regclass, treatment_col pg_catalog.name, outcome_col pg_catalog.name,
    features pg_catalog.name[] DEFAULT '{}', categorical pg_catalog.name[] DEFAULT '{}', method pg_catalog.text DEFAULT 'two_model',
    control pg_catalog.text DEFAULT 'control', lambda pg_catalog.float8 DEFAULT 1.0, standardize boolean DEFAULT true,
    max_iter integer DEFAULT 100, tol pg_catalog.float8 DEFAULT 1e-10)
RETURNS TABLE (treatment pg_catalog.text, customers bigint, control_customers bigint, ate pg_catalog.float8)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
ROWS 5
AS $$
DECLARE
    t0 timestamptz := pg_catalog.clock_timestamp();
    rel text := @extschema@._promo_rel(source);
    arms record;
    spec jsonb;
    v record;
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
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*) FILTER (WHERE %1$s IS NULL),'
        ' pg_catalog.count(*) FILTER (WHERE %1$s OPERATOR(pg_catalog.<>) 0 AND %1$s OPERATOR(pg_catalog.<>) 1) FROM %2$s',
        y_expr, rel) INTO nnull, nbad;
    IF nnull > 0 THEN
        RAISE EXCEPTION 'outcome column "%" has % missing values', outcome_col, nnull
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Use 0 for customers who did not convert.';
    END IF;
    binary_outcome := nbad = 0;
    spec := @extschema@._promo_feature_spec(source, features, categorical, coalesce(standardize, true));
    v := @extschema@._promo_spec_values(spec);
    -- parameters $1-$3: centres, scales, levels; $4 on: per query
    design := 'ARRAY[1::pg_catalog.float8, ' || pg_catalog.array_to_string(@extschema@._promo_design(spec, 1), ', ') || ']';

    IF method = 'two_model' THEN
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.array_agg(%s), pg_catalog.array_agg(%s) FROM %s'
            ' WHERE (%I)::pg_catalog.text OPERATOR(pg_catalog.=) $4',
            design, y_expr, rel, treatment_col) INTO x, y USING v.center, v.scale, v.levels, control;
        IF binary_outcome AND (SELECT pg_catalog.count(DISTINCT u) FROM pg_catalog.unnest(y) u) < 2 THEN
            RAISE EXCEPTION 'outcome has only one class in arm "%"', control
                USING ERRCODE = 'data_exception', HINT = 'Each arm needs converted and non-converted customers.';
        END IF;
        fit := @extschema@._promo_fit(CASE WHEN binary_outcome THEN 'logistic' ELSE 'ridge' END,
                                      x, y, NULL, lambda, 0, max_iter, tol);
        control_coef := pg_catalog.to_jsonb(fit.coef);
        loss := loss + fit.loss;
    END IF;
    FOR i IN 1 .. pg_catalog.cardinality(arms.labels) LOOP
        lbl := arms.labels[i];
        nt := arms.counts[i];
        IF method = 'two_model' THEN
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.array_agg(%s), pg_catalog.array_agg(%s) FROM %s'
                ' WHERE (%I)::pg_catalog.text OPERATOR(pg_catalog.=) $4',
                design, y_expr, rel, treatment_col) INTO x, y USING v.center, v.scale, v.levels, lbl;
            w := NULL;
        ELSIF binary_outcome THEN
            -- Jaskowski & Jaroszewicz: z = 1 for treated converters and control
            -- non-converters; arms weighted to equal total weight.
            EXECUTE pg_catalog.format($q$
                SELECT pg_catalog.array_agg(%1$s),
                       pg_catalog.array_agg(CASE WHEN (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) $4 THEN %3$s
                                                 ELSE 1 OPERATOR(pg_catalog.-) %3$s END),
                       pg_catalog.array_agg(CASE WHEN (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) $4 THEN $6 ELSE $7 END)
                  FROM %4$s WHERE (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[$4, $5])
            $q$, design, treatment_col, y_expr, rel) INTO x, y, w
                USING v.center, v.scale, v.levels, lbl, control,
                      ((nt + arms.n_control) / (2.0 * nt))::float8,
                      ((nt + arms.n_control) / (2.0 * arms.n_control))::float8;
        ELSE
            -- transformed outcome z = y (t / p - (1 - t) / (1 - p)), E[z | x] = uplift(x)
            q := nt::float8 / (nt + arms.n_control);
            EXECUTE pg_catalog.format($q$
                SELECT pg_catalog.array_agg(%1$s),
                       pg_catalog.array_agg(%3$s OPERATOR(pg_catalog.*)
                                            CASE WHEN (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) $4 THEN $6
                                                 ELSE $7 END)
                  FROM %4$s WHERE (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[$4, $5])
            $q$, design, treatment_col, y_expr, rel) INTO x, y
                USING v.center, v.scale, v.levels, lbl, control, 1 / q, -1 / (1 - q);
            w := NULL;
        END IF;
        IF binary_outcome AND (SELECT pg_catalog.count(DISTINCT u) FROM pg_catalog.unnest(y) u) < 2 THEN
            RAISE EXCEPTION 'outcome has only one class in arm "%"', lbl
                USING ERRCODE = 'data_exception', HINT = 'Each arm needs converted and non-converted customers.';
        END IF;
        fit := @extschema@._promo_fit(CASE WHEN binary_outcome THEN 'logistic' ELSE 'ridge' END,
                                      x, y, w, lambda, 0, max_iter, tol);
        loss := loss + fit.loss;
        arm_list := arm_list || pg_catalog.jsonb_build_object('treatment', lbl, 'coef', pg_catalog.to_jsonb(fit.coef),
                                                              'customers', nt);
    END LOOP;

    PERFORM @extschema@._promo_store(name, 'uplift',
        pg_catalog.jsonb_build_object(
            'method', method, 'outcome', CASE WHEN binary_outcome THEN 'binary' ELSE 'continuous' END,
            'features', spec, 'control', control, 'control_coef', control_coef,
            'arms', arm_list, 'lambda', lambda, 'standardize', coalesce(standardize, true),
            'treatment_col', treatment_col, 'outcome_col', outcome_col),
        source, ((SELECT pg_catalog.sum(c) FROM pg_catalog.unnest(arms.counts) c) + arms.n_control)::bigint,
        pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - t0)::float8, loss);
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH s AS (SELECT (%1$I)::pg_catalog.text AS arm, %2$s AS y FROM %3$s),
             c AS (SELECT pg_catalog.avg(y) AS m FROM s WHERE arm OPERATOR(pg_catalog.=) $1)
        SELECT arm, pg_catalog.count(*), $2, pg_catalog.avg(y) OPERATOR(pg_catalog.-) (SELECT m FROM c)
          FROM s WHERE arm OPERATOR(pg_catalog.<>) $1 GROUP BY arm ORDER BY arm
    $q$, treatment_col, y_expr, rel)
    USING control, arms.n_control;
END
$$;
COMMENT ON FUNCTION @extschema@.train_uplift(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name[], pg_catalog.name[], pg_catalog.text, pg_catalog.text, pg_catalog.float8, boolean, integer, pg_catalog.float8) IS
'trains an uplift model (two_model T-learner or class_transformation) for every treatment arm against the control group and stores it';

-- SQL expression of the uplift of arm i of (checked) uplift parameters p.
-- The coefficients are rows of the parameter $1 (float8[][]): row i for arm
-- i, the last row for the control model of two_model; $2-$4 are the
-- feature parameters.
CREATE FUNCTION @extschema@._uplift_expr(p pg_catalog.jsonb, i integer, control_row integer) RETURNS pg_catalog.text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    exprs text[] := @extschema@._promo_design(p->'features', 2);
    l text := @extschema@._promo_linear_sql(exprs, pg_catalog.format('$1[%s]', i));
BEGIN
    IF p->>'method' = 'two_model' AND p->>'outcome' = 'binary' THEN
        RETURN pg_catalog.format('(@extschema@.sigmoid(%s) OPERATOR(pg_catalog.-) @extschema@.sigmoid(%s))', l,
                                 @extschema@._promo_linear_sql(exprs, pg_catalog.format('$1[%s]', control_row)));
    ELSIF p->>'method' = 'two_model' THEN
        RETURN pg_catalog.format('(%s OPERATOR(pg_catalog.-) %s)', l,
                                 @extschema@._promo_linear_sql(exprs, pg_catalog.format('$1[%s]', control_row)));
    ELSIF p->>'outcome' = 'binary' THEN
        RETURN pg_catalog.format('((2::pg_catalog.float8 OPERATOR(pg_catalog.*) @extschema@.sigmoid(%s)) OPERATOR(pg_catalog.-) 1::pg_catalog.float8)', l);
    END IF;
    RETURN l;
END
$$;
COMMENT ON FUNCTION @extschema@._uplift_expr(pg_catalog.jsonb, integer, integer) IS
'internal: SQL expression of the estimated uplift of one treatment arm, coefficients taken from parameters';

CREATE FUNCTION @extschema@.score_uplift(model pg_catalog.text, source pg_catalog.regclass, key_col pg_catalog.name)
RETURNS TABLE (key pg_catalog.text, treatment pg_catalog.text, uplift pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 100000
AS $$
DECLARE
    p jsonb := @extschema@._promo_model(model, 'uplift');
    n int := pg_catalog.jsonb_array_length(p->'arms');
    v record;
    coefs float8[];
BEGIN
    PERFORM @extschema@._promo_coltype(source, key_col, 'key column');
    PERFORM @extschema@._promo_check_columns(model, p->'features', source);
    v := @extschema@._promo_spec_values(p->'features');
    -- one row of coefficients per arm, then the control model's
    SELECT pg_catalog.array_agg(@extschema@._promo_coef(a->'coef') ORDER BY i) INTO coefs
      FROM pg_catalog.jsonb_array_elements(p->'arms') WITH ORDINALITY e(a, i);
    IF p->>'method' = 'two_model' THEN
        coefs := coefs || @extschema@._promo_coef(p->'control_coef');
    END IF;
    -- unnest of two arrays, not a LATERAL VALUES list: a Values Scan would
    -- compile its expressions again for every row
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT (%I)::pg_catalog.text, v.t, v.u FROM %s'
        ' CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest($5), pg_catalog.unnest(ARRAY[%s]::pg_catalog.float8[])) v(t, u)',
        key_col, @extschema@._promo_rel(source),
        (SELECT pg_catalog.string_agg(@extschema@._uplift_expr(p, i, n + 1), ', ' ORDER BY i)
           FROM pg_catalog.generate_series(1, n) i))
    USING coefs, v.center, v.scale, v.levels,
          (SELECT pg_catalog.array_agg(a->>'treatment' ORDER BY i)
             FROM pg_catalog.jsonb_array_elements(p->'arms') WITH ORDINALITY e(a, i));
END
$$;
COMMENT ON FUNCTION @extschema@.score_uplift(pg_catalog.text, pg_catalog.regclass, pg_catalog.name) IS
'estimated uplift of every treatment for every row of a table under a stored uplift model';

CREATE FUNCTION @extschema@.predict_uplift(model pg_catalog.text, features pg_catalog.jsonb)
RETURNS TABLE (treatment pg_catalog.text, uplift pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
ROWS 5
AS $$
DECLARE
    p jsonb := @extschema@._promo_model(model, 'uplift');
    c float8 := @extschema@._promo_linear_jsonb(p->'features', p->'control_coef', features);
BEGIN
    RETURN QUERY
        SELECT a->>'treatment',
               CASE WHEN p->>'method' = 'two_model' AND p->>'outcome' = 'binary'
                    THEN @extschema@.sigmoid(l) - @extschema@.sigmoid(c)
                    WHEN p->>'method' = 'two_model' THEN l - c
                    WHEN p->>'outcome' = 'binary' THEN 2 * @extschema@.sigmoid(l) - 1
                    ELSE l END
          FROM pg_catalog.jsonb_array_elements(p->'arms') WITH ORDINALITY e(a, i),
               LATERAL (SELECT @extschema@._promo_linear_jsonb(p->'features', a->'coef', features) AS l) s
         ORDER BY i;
END
$$;
COMMENT ON FUNCTION @extschema@.predict_uplift(pg_catalog.text, pg_catalog.jsonb) IS
'estimated uplift of every treatment for one row given as jsonb under a stored uplift model';

-- Reads score, treated flag and outcome of the rows of one comparison.
CREATE FUNCTION @extschema@._uplift_read(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text, control pg_catalog.text,
    OUT score pg_catalog.float8[], OUT treated boolean[], OUT outcome pg_catalog.float8[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    arms record := @extschema@._uplift_arms(source, treatment_col, control);
    s text := @extschema@._promo_num(source, score_col, 'score column');
    y text := @extschema@._promo_num(source, outcome_col, 'outcome column');
BEGIN
    IF treatment IS NOT NULL AND NOT treatment = ANY (arms.labels) THEN
        RAISE EXCEPTION 'treatment "%" does not occur in %', treatment, source::text
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = pg_catalog.format('The arms are: %s.', pg_catalog.array_to_string(arms.labels, ', '));
    END IF;
    EXECUTE pg_catalog.format($q$
        SELECT pg_catalog.array_agg(s ORDER BY s, t, y), pg_catalog.array_agg(t ORDER BY s, t, y),
               pg_catalog.array_agg(y ORDER BY s, t, y)
          FROM (SELECT %1$s AS s, (%2$I)::pg_catalog.text OPERATOR(pg_catalog.<>) $1 AS t, %3$s AS y FROM %4$s
                 WHERE $2 IS NULL OR (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[$1, $2])) r
    $q$, s, treatment_col, y, @extschema@._promo_rel(source)) INTO score, treated, outcome USING control, treatment;
END
$$;
COMMENT ON FUNCTION @extschema@._uplift_read(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text) IS
'internal: reads one treatment-versus-control comparison in a deterministic order';

CREATE FUNCTION @extschema@.uplift_evaluate(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control',
    k_percent pg_catalog.float8 DEFAULT 10, n_boot integer DEFAULT 200, seed bigint DEFAULT 42,
    confidence pg_catalog.float8 DEFAULT 0.95)
RETURNS TABLE (metric pg_catalog.text, value pg_catalog.float8, ci_low pg_catalog.float8, ci_high pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 4
AS $$
DECLARE
    r record := @extschema@._uplift_read(source, score_col, treatment_col, outcome_col, treatment, control);
BEGIN
    RETURN QUERY SELECT * FROM @extschema@._uplift_metrics(r.score, r.treated, r.outcome,
                                                          k_percent, n_boot, seed, confidence);
END
$$;
COMMENT ON FUNCTION @extschema@.uplift_evaluate(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.float8, integer, bigint, pg_catalog.float8) IS
'Qini coefficient, AUUC, uplift@k% and ATE of an uplift score on randomised data, with seeded percentile bootstrap intervals';

CREATE FUNCTION @extschema@.uplift_curve(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control',
    points integer DEFAULT 10)
RETURNS TABLE (fraction pg_catalog.float8, qini pg_catalog.float8, uplift pg_catalog.float8, random pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 11
AS $$
DECLARE
    r record := @extschema@._uplift_read(source, score_col, treatment_col, outcome_col, treatment, control);
BEGIN
    RETURN QUERY SELECT c.fraction, c.qini, c.uplift, c.fraction * pg_catalog.last_value(c.qini) OVER w
                   FROM @extschema@._uplift_curve(r.score, r.treated, r.outcome, points) c
                 WINDOW w AS (ORDER BY c.fraction ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  ORDER BY c.fraction;
END
$$;
COMMENT ON FUNCTION @extschema@.uplift_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, integer) IS
'Qini curve q(phi), uplift curve u(phi) and the random-targeting line phi * ATE at equally spaced fractions targeted';

CREATE FUNCTION @extschema@.uplift_by_decile(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control',
    bins integer DEFAULT 10)
RETURNS TABLE (decile integer, treated bigint, control_rows bigint, mean_treated pg_catalog.float8,
               mean_control pg_catalog.float8, uplift pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 10
AS $$
DECLARE
    r record := @extschema@._uplift_read(source, score_col, treatment_col, outcome_col, treatment, control);
BEGIN
    IF bins IS NULL OR bins < 1 OR bins > 1000 THEN
        RAISE EXCEPTION 'bins must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
        WITH d AS (SELECT pg_catalog.ntile(bins) OVER (ORDER BY u.s DESC, u.t, u.y) AS b, u.t, u.y
                     FROM ROWS FROM (pg_catalog.unnest(r.score), pg_catalog.unnest(r.treated), pg_catalog.unnest(r.outcome)) AS u(s, t, y))
        SELECT d.b, pg_catalog.count(*) FILTER (WHERE d.t), pg_catalog.count(*) FILTER (WHERE NOT d.t),
               pg_catalog.avg(d.y) FILTER (WHERE d.t), pg_catalog.avg(d.y) FILTER (WHERE NOT d.t),
               pg_catalog.avg(d.y) FILTER (WHERE d.t) - pg_catalog.avg(d.y) FILTER (WHERE NOT d.t)
          FROM d GROUP BY d.b ORDER BY d.b;
END
$$;
COMMENT ON FUNCTION @extschema@.uplift_by_decile(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, integer) IS
'observed uplift (treated mean - control mean) per equal-count bin of the score, bin 1 = highest scores';

CREATE FUNCTION @extschema@.uplift_balance(source pg_catalog.regclass, treatment_col pg_catalog.name, features pg_catalog.name[],
    control pg_catalog.text DEFAULT 'control')
RETURNS TABLE (treatment pg_catalog.text, feature pg_catalog.text, mean_treated pg_catalog.float8, mean_control pg_catalog.float8,
               smd pg_catalog.float8, balanced boolean)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 20
AS $$
DECLARE
    arms record := @extschema@._uplift_arms(source, treatment_col, control);
    rel text := @extschema@._promo_rel(source);
    col name;
    e text;
BEGIN
    IF coalesce(pg_catalog.cardinality(features), 0) = 0 THEN
        RAISE EXCEPTION 'no features given' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH col IN ARRAY features LOOP
        e := @extschema@._promo_num(source, col, 'feature');
        RETURN QUERY EXECUTE pg_catalog.format($q$
            WITH s AS (SELECT (%1$I)::pg_catalog.text AS arm, %2$s AS x FROM %3$s),
            c AS (SELECT pg_catalog.avg(x) AS m, pg_catalog.var_pop(x) AS v FROM s WHERE arm OPERATOR(pg_catalog.=) $1),
            t AS (SELECT arm, pg_catalog.avg(x) AS m, pg_catalog.var_pop(x) AS v FROM s
                   WHERE arm OPERATOR(pg_catalog.<>) $1 GROUP BY arm),
            d AS (SELECT t.arm, t.m AS mt, c.m AS mc,
                         CASE WHEN (t.v OPERATOR(pg_catalog.+) c.v) OPERATOR(pg_catalog.>) 0
                              THEN (t.m OPERATOR(pg_catalog.-) c.m)
                                   OPERATOR(pg_catalog./) pg_catalog.sqrt((t.v OPERATOR(pg_catalog.+) c.v) OPERATOR(pg_catalog./) 2)
                              ELSE 0 END AS smd
                    FROM t, c)
            SELECT arm, $2, mt, mc, smd, pg_catalog.abs(smd) OPERATOR(pg_catalog.<) 0.1::pg_catalog.float8
              FROM d ORDER BY arm
        $q$, treatment_col, e, rel) USING control, col::text;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.uplift_balance(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], pg_catalog.text) IS
'randomisation check: standardised mean difference of each feature between each treatment arm and control (balanced when |smd| < 0.1)';

-- Assignment --------------------------------------------------------------------------

-- Solves an assignment over candidate rows given as arrays (customer,
-- offer, value, cost); with budgets given, returns the curve instead
-- (assignment columns NULL).
CREATE FUNCTION @extschema@._assign_solve(cu pg_catalog.text[], o pg_catalog.text[], v pg_catalog.float8[], k pg_catalog.float8[],
    budget pg_catalog.float8, budgets pg_catalog.float8[], offer_limits pg_catalog.jsonb)
RETURNS TABLE (customer pg_catalog.text, offer pg_catalog.text, value pg_catalog.float8, cost pg_catalog.float8, profit pg_catalog.float8,
               c_budget pg_catalog.float8, c_customers bigint, c_spent pg_catalog.float8, c_profit pg_catalog.float8, c_bound pg_catalog.float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
ROWS 10000
AS $$
DECLARE
    lo text[];
    lc bigint[];
    bad text;
BEGIN
    IF budgets IS NULL AND (budget IS NULL OR budget < 0 OR budget IN ('NaN', 'Infinity')) THEN
        RAISE EXCEPTION 'budget must be a finite number >= 0'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The budget given is %s.', coalesce(budget::text, 'NULL'));
    END IF;
    IF offer_limits IS NOT NULL THEN
        IF pg_catalog.jsonb_typeof(offer_limits) <> 'object' THEN
            RAISE EXCEPTION 'offer_limits must be a json object of offer: count'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT pg_catalog.string_agg(e.ek, ', ') INTO bad FROM pg_catalog.jsonb_each(offer_limits) AS e(ek, ev)
         WHERE pg_catalog.jsonb_typeof(e.ev) <> 'number' OR e.ev::numeric < 0
            OR e.ev::numeric <> pg_catalog.trunc(e.ev::numeric) OR e.ev::numeric > 9e18;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'invalid offer limits for %', bad
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Limits are integers >= 0.';
        END IF;
        SELECT pg_catalog.array_agg(e.ek ORDER BY e.ek), pg_catalog.array_agg(e.ev::numeric::bigint ORDER BY e.ek)
          INTO lo, lc
          FROM pg_catalog.jsonb_each(offer_limits) AS e(ek, ev);
    END IF;
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
COMMENT ON FUNCTION @extschema@._assign_solve(pg_catalog.text[], pg_catalog.text[], pg_catalog.float8[], pg_catalog.float8[], pg_catalog.float8, pg_catalog.float8[], pg_catalog.jsonb) IS
'internal: runs the greedy assignment over candidate arrays';

-- Reads the candidates of a table as arrays, in one scan.
CREATE FUNCTION @extschema@._assign_read(candidates pg_catalog.regclass, customer_col pg_catalog.name, offer_col pg_catalog.name,
    value_col pg_catalog.name, cost_col pg_catalog.name, OUT cu pg_catalog.text[], OUT o pg_catalog.text[], OUT v pg_catalog.float8[], OUT k pg_catalog.float8[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@._promo_coltype(candidates, customer_col, 'customer column');
    PERFORM @extschema@._promo_coltype(candidates, offer_col, 'offer column');
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg((%I)::pg_catalog.text), pg_catalog.array_agg((%I)::pg_catalog.text),'
        ' pg_catalog.array_agg(%s), pg_catalog.array_agg(%s) FROM %s',
        customer_col, offer_col,
        @extschema@._promo_num(candidates, value_col, 'value column'),
        @extschema@._promo_num(candidates, cost_col, 'cost column'), @extschema@._promo_rel(candidates))
       INTO cu, o, v, k;
END
$$;
COMMENT ON FUNCTION @extschema@._assign_read(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name) IS
'internal: the candidates of a table as arrays';

CREATE FUNCTION @extschema@.assign_offers(candidates pg_catalog.regclass, customer_col pg_catalog.name, offer_col pg_catalog.name,
    value_col pg_catalog.name, cost_col pg_catalog.name, budget pg_catalog.float8, offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (customer pg_catalog.text, offer pg_catalog.text, value pg_catalog.float8, cost pg_catalog.float8, profit pg_catalog.float8,
               total_customers bigint, total_spent pg_catalog.float8, total_profit pg_catalog.float8, upper_bound pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 10000
AS $$
DECLARE
    c record := @extschema@._assign_read(candidates, customer_col, offer_col, value_col, cost_col);
BEGIN
    RETURN QUERY SELECT s.customer, s.offer, s.value, s.cost, s.profit,
                        s.c_customers, s.c_spent, s.c_profit, s.c_bound
                   FROM @extschema@._assign_solve(c.cu, c.o, c.v, c.k, budget, NULL, offer_limits) s;
END
$$;
COMMENT ON FUNCTION @extschema@.assign_offers(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.float8, pg_catalog.jsonb) IS
'at most one offer per customer maximising expected incremental profit (value - cost) under a total budget and per-offer limits (greedy on profit density with upgrades); totals and the Lagrangian upper bound repeated on each row';

CREATE FUNCTION @extschema@.assign_offers_curve(candidates pg_catalog.regclass, customer_col pg_catalog.name, offer_col pg_catalog.name,
    value_col pg_catalog.name, cost_col pg_catalog.name, budgets pg_catalog.float8[], offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (budget pg_catalog.float8, customers bigint, spent pg_catalog.float8, profit pg_catalog.float8, upper_bound pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 10
AS $$
DECLARE
    c record;
BEGIN
    IF budgets IS NULL THEN
        RAISE EXCEPTION 'budgets must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    c := @extschema@._assign_read(candidates, customer_col, offer_col, value_col, cost_col);
    RETURN QUERY SELECT s.c_budget, s.c_customers, s.c_spent, s.c_profit, s.c_bound
                   FROM @extschema@._assign_solve(c.cu, c.o, c.v, c.k, NULL, budgets, offer_limits) s;
END
$$;
COMMENT ON FUNCTION @extschema@.assign_offers_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.float8[], pg_catalog.jsonb) IS
'profit-versus-budget curve of assign_offers: customers reached, spend, profit and the upper bound at each budget';

CREATE FUNCTION @extschema@.assign_offers_from_model(model pg_catalog.text, customers pg_catalog.regclass, key_col pg_catalog.name,
    offer_costs pg_catalog.jsonb, budget pg_catalog.float8, value_per_unit pg_catalog.float8 DEFAULT 1, offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (customer pg_catalog.text, offer pg_catalog.text, value pg_catalog.float8, cost pg_catalog.float8, profit pg_catalog.float8,
               total_customers bigint, total_spent pg_catalog.float8, total_profit pg_catalog.float8, upper_bound pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 10000
AS $$
DECLARE
    p jsonb := @extschema@._promo_model(model, 'uplift');
    missing text;
    cu text[];
    o text[];
    v float8[];
    k float8[];
BEGIN
    IF offer_costs IS NULL OR pg_catalog.jsonb_typeof(offer_costs) <> 'object' THEN
        RAISE EXCEPTION 'offer_costs must be a json object of treatment: cost'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT pg_catalog.string_agg(a->>'treatment', ', ') INTO missing
      FROM pg_catalog.jsonb_array_elements(p->'arms') a
     WHERE NOT CASE WHEN pg_catalog.jsonb_typeof(offer_costs->(a->>'treatment')) IS DISTINCT FROM 'number' THEN false
                    ELSE pg_catalog.abs((offer_costs->(a->>'treatment'))::pg_catalog.numeric) <= 1e300
                         AND ((offer_costs->(a->>'treatment'))::pg_catalog.numeric = 0
                              OR pg_catalog.abs((offer_costs->(a->>'treatment'))::pg_catalog.numeric) >= 1e-300) END;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'offer_costs has no numeric cost for %', missing
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF value_per_unit IS NULL OR value_per_unit IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'value_per_unit must be a finite number' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- static SQL: the model's scores, in score_uplift's order
    SELECT pg_catalog.array_agg(s.key), pg_catalog.array_agg(s.treatment),
           pg_catalog.array_agg(s.uplift * value_per_unit),
           pg_catalog.array_agg((offer_costs->s.treatment)::float8)
      INTO cu, o, v, k
      FROM @extschema@.score_uplift(model, customers, key_col) s
     WHERE s.uplift IS NOT NULL;
    RETURN QUERY SELECT s.customer, s.offer, s.value, s.cost, s.profit,
                        s.c_customers, s.c_spent, s.c_profit, s.c_bound
                   FROM @extschema@._assign_solve(cu, o, v, k, budget, NULL, offer_limits) s;
END
$$;
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
'lets a role (and its members), or public, call choose, reward, bandit_stats, '
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
-- names through format('%I'), the relation through _promo_rel, and every
-- value (the control arm, the list of non-finite floats) a parameter of
-- EXECUTE ... USING.  One pass over the table per call.
-- The only internal functions added are the pure distribution functions of
-- src/pg/ab.c (PostgreSQL 15 has no erf() and no t distribution).
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

-- Internal C entry points: pure distribution functions ----------------------

CREATE FUNCTION @extschema@._ab_norm_cdf(x pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_norm_cdf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._ab_norm_cdf(pg_catalog.float8) IS
'internal: standard normal CDF';

CREATE FUNCTION @extschema@._ab_norm_quantile(p pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_norm_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._ab_norm_quantile(pg_catalog.float8) IS
'internal: standard normal quantile';

CREATE FUNCTION @extschema@._ab_t_sf2(t pg_catalog.float8, df pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_t_sf2'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._ab_t_sf2(pg_catalog.float8, pg_catalog.float8) IS
'internal: two-sided Student t tail P(|T| >= |t|)';

CREATE FUNCTION @extschema@._ab_t_quantile(p pg_catalog.float8, df pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_t_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._ab_t_quantile(pg_catalog.float8, pg_catalog.float8) IS
'internal: Student t quantile';

CREATE FUNCTION @extschema@._ab_chi2_sf(x pg_catalog.float8, df pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_chi2_sf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._ab_chi2_sf(pg_catalog.float8, pg_catalog.float8) IS
'internal: chi-square survival function P(X >= x)';

-- ab_test --------------------------------------------------------------------

CREATE FUNCTION @extschema@.ab_test(source pg_catalog.regclass, arm_col pg_catalog.name, outcome_col pg_catalog.name,
    control pg_catalog.text, covariate pg_catalog.name DEFAULT NULL, alpha pg_catalog.float8 DEFAULT 0.05,
    outcome pg_catalog.text DEFAULT NULL, correction pg_catalog.text DEFAULT 'holm',
    sequential boolean DEFAULT false, tau pg_catalog.float8 DEFAULT NULL)
RETURNS TABLE (arm pg_catalog.text, n bigint, excluded bigint, mean pg_catalog.float8, mean_cuped pg_catalog.float8,
    lift pg_catalog.float8, lift_low pg_catalog.float8, lift_high pg_catalog.float8,
    rel_lift pg_catalog.float8, rel_lift_low pg_catalog.float8, rel_lift_high pg_catalog.float8,
    statistic pg_catalog.float8, df pg_catalog.float8, p_value pg_catalog.float8, p_adjusted pg_catalog.float8,
    test pg_catalog.text, variance_reduction pg_catalog.float8, note pg_catalog.text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel text;
    ay text;
    ax text;
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
    rel := @extschema@._promo_rel(source);
    PERFORM @extschema@._promo_coltype(source, arm_col, 'arm column');
    aa := pg_catalog.format('(%I)::pg_catalog.text', arm_col);
    ay := @extschema@._promo_num(source, outcome_col, 'outcome column');
    IF covariate IS NOT NULL THEN
        ax := @extschema@._promo_num(source, covariate, 'covariate');
    END IF;

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
    qz := @extschema@._ab_norm_quantile(1 - alpha / 2);
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
                v_p[i] := 2 * @extschema@._ab_norm_cdf(-abs(o_stat[i]));
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
                v_p[i] := 2 * @extschema@._ab_norm_cdf(-abs(o_stat[i]));
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
                v_p[i] := @extschema@._ab_t_sf2(o_stat[i], o_df[i]);
                w := @extschema@._ab_t_quantile(1 - alpha / 2, o_df[i]);
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
COMMENT ON FUNCTION @extschema@.ab_test(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text,
    pg_catalog.name, pg_catalog.float8, pg_catalog.text, pg_catalog.text, boolean, pg_catalog.float8) IS
'A/B test readout per arm against a control arm: mean, absolute and relative lift with confidence intervals, p-value and Holm-adjusted p-value (two-proportion z test or Welch''s t, optional CUPED covariate, optional always-valid mixture SPRT)';

-- ab_srm ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.ab_srm(source pg_catalog.regclass, arm_col pg_catalog.name,
    planned pg_catalog.jsonb DEFAULT NULL, weights pg_catalog.float8[] DEFAULT NULL)
RETURNS TABLE (arm pg_catalog.text, observed bigint, expected pg_catalog.float8,
    observed_share pg_catalog.float8, planned_share pg_catalog.float8,
    statistic pg_catalog.float8, df integer, p_value pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel text;
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
    rel := @extschema@._promo_rel(source);
    PERFORM @extschema@._promo_coltype(source, arm_col, 'arm column');
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
    p_value := @extschema@._ab_chi2_sf(chi, k - 1);
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
-- identifiers through format('%I') and _promo_rel, every value a query
-- parameter, every operator of generated SQL qualified) into arrays, and
-- evaluate_policy_arrays() (C, src/pg/ope.c, pure computation on its
-- arguments, so PUBLIC may execute it) checks them and runs the estimators
-- of src/core/rp_ope.c.  Definitions: README, "Off-policy evaluation".
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
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 4
AS $$
DECLARE
    rel text := @extschema@._promo_rel(logged);
    ctype regtype;
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
    PERFORM @extschema@._promo_coltype(logged, arm_col, 'arm column');
    -- _promo_num checks the types; the expressions here read the columns of l
    PERFORM @extschema@._promo_num(logged, reward_col, 'reward column');
    PERFORM @extschema@._promo_num(logged, propensity_col, 'propensity column');
    rexpr := pg_catalog.format(CASE WHEN @extschema@._promo_coltype(logged, reward_col, 'reward column') = 'boolean'::regtype
                                    THEN '(l.%I)::pg_catalog.int4::pg_catalog.float8' ELSE '(l.%I)::pg_catalog.float8' END, reward_col);
    pexpr := pg_catalog.format(CASE WHEN @extschema@._promo_coltype(logged, propensity_col, 'propensity column') = 'boolean'::regtype
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
        ctype := @extschema@._promo_coltype(logged, context_col, 'context column');
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
        PERFORM @extschema@._promo_coltype(logged, key_col, 'key column');
        PERFORM @extschema@._promo_coltype(target_probs, key_col, 'key column');
        PERFORM @extschema@._promo_coltype(target_probs, arm_col, 'arm column');
        PERFORM @extschema@._promo_num(target_probs, 'probability', 'probability column of the target table');
        src := pg_catalog.format('(SELECT (%I)::pg_catalog.text AS k, (%I)::pg_catalog.text AS a,'
                                 ' (probability)::pg_catalog.float8 AS p FROM %s)',
                                 key_col, arm_col, @extschema@._promo_rel(target_probs));
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
        PERFORM @extschema@._promo_coltype(logged, key_col, 'key column');
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %I IS NULL', rel, key_col) INTO n_null;
        IF n_null > 0 THEN
            RAISE EXCEPTION 'key column "%" has % null values', key_col, n_null USING ERRCODE = 'null_value_not_allowed';
        END IF;
        SELECT mm.method INTO m FROM @extschema@.models mm WHERE mm.name OPERATOR(pg_catalog.=) target_model;
        IF m = 'uplift' THEN
            p := @extschema@._promo_model(target_model, 'uplift');
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
COMMENT ON FUNCTION @extschema@.evaluate_policy(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.name, pg_catalog.text[], integer,
    bigint, pg_catalog.float8, pg_catalog.float8, pg_catalog.text[], pg_catalog.float8, pg_catalog.text, pg_catalog.text) IS
'off-policy value of a target policy (target_probs table, target_model propensity/uplift model, or target_bandit) '
'from a logged table: ips, snips, dm and dr estimates with percentile bootstrap intervals and the effective sample size';
