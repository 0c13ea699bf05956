SET search_path = recpromo, public;
-- Every function of the extension (public and internal) carries a COMMENT, so
-- that \df+ and \dx+ recpromo explain it.  A new function without one shows
-- up here by name.
CREATE TEMP VIEW uncommented AS
SELECT p.oid::pg_catalog.regprocedure::pg_catalog.text AS function
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                             AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'recpromo'
 WHERE COALESCE(pg_catalog.obj_description(p.oid, 'pg_proc'), '') = '';
SELECT function FROM uncommented ORDER BY 1;
-- the check sees a missing comment
BEGIN;
COMMENT ON FUNCTION recpromo.chart_bars(text[], float8[], text, text, text, text) IS NULL;
COMMENT ON FUNCTION recpromo.report(text[], regclass, name, name, integer, regclass, name, name, name, text,
    regclass, name, name, name, float8[], regclass, name, name, name, timestamptz, regclass, name, name[],
    integer, text, text, regclass, name, name, integer) IS '';
SELECT pg_catalog.split_part(function, '(', 1) AS name FROM uncommented ORDER BY 1;
ROLLBACK;
SELECT count(*) AS uncommented FROM uncommented;
-- and the extension itself
SELECT pg_catalog.obj_description(e.oid, 'pg_extension') <> '' AS extension_commented
  FROM pg_catalog.pg_extension e WHERE e.extname = 'recpromo';
