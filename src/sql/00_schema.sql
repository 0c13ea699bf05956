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
