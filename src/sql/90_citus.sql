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
