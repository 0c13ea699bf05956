-- Model store changes from 0.1.0 to 0.2.0 (src/sql/20_models.sql,
-- 30_train.sql, 60_knn.sql): models get owners, grants, checksums and a
-- store time.  The columns are added in the order and shape a fresh install
-- creates them, at the end of each table.  Models trained under 0.1.0 are
-- kept and served: their owner is the role named in trained_by (the
-- extension owner when no such role exists), they are granted to nobody,
-- and their parts are checksummed here.

-- The internal SQL entry point of 0.1.0's train(): PUBLIC could execute it.
-- train() is now the C entry point itself.
DROP FUNCTION @extschema@._train(pg_catalog.text, pg_catalog.regclass, pg_catalog.name,
                                 pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.jsonb);

ALTER TABLE @extschema@.model ALTER COLUMN trained_at SET DEFAULT pg_catalog.now();
ALTER TABLE @extschema@.model ADD COLUMN owner pg_catalog.regrole;
UPDATE @extschema@.model m
   SET owner = COALESCE((SELECT r.oid FROM pg_catalog.pg_roles r
                          WHERE r.rolname OPERATOR(pg_catalog.=) m.trained_by),
                        (SELECT e.extowner FROM pg_catalog.pg_extension e
                          WHERE e.extname OPERATOR(pg_catalog.=) 'recpromo'))::pg_catalog.regrole;
ALTER TABLE @extschema@.model ALTER COLUMN owner SET NOT NULL;
ALTER TABLE @extschema@.model ADD COLUMN readers pg_catalog.regrole[] NOT NULL DEFAULT '{}';
ALTER TABLE @extschema@.model ADD COLUMN store_seconds pg_catalog.float8;
COMMENT ON COLUMN @extschema@.model.owner IS 'role that trained the model';

ALTER TABLE @extschema@.model_part ADD COLUMN checksum pg_catalog.int4;
CREATE FUNCTION @extschema@._seal_parts() RETURNS bigint
AS 'MODULE_PATHNAME', 'recpromo__seal_parts'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@._seal_parts() FROM PUBLIC;
SELECT @extschema@._seal_parts();
ALTER TABLE @extschema@.model_part ALTER COLUMN checksum SET NOT NULL;

-- 0.1.0's README told DBAs to grant these to trainers and servers; every
-- access now goes through the extension's functions, so every grant to
-- another role than the owner goes.
DO $recpromo_revoke$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT DISTINCT c.oid::pg_catalog.regclass AS rel,
               CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
                    ELSE pg_catalog.quote_ident(a.grantee::pg_catalog.regrole::pg_catalog.text) END AS who
          FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
         WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY['@extschema@.model'::pg_catalog.regclass,
                                                      '@extschema@.model_part'::pg_catalog.regclass,
                                                      '@extschema@.model_id_seq'::pg_catalog.regclass]::pg_catalog.oid[])
           AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %s', g.rel, g.who);
    END LOOP;
END
$recpromo_revoke$;
REVOKE ALL ON TABLE @extschema@.model, @extschema@.model_part FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.model_id_seq FROM PUBLIC;

-- Version tokens (see 20_models.sql): the volatile default draws a
-- distinct token for every existing model row; parts take their row's.
-- Parts of no model row (never written by 0.1.0, which saved in one
-- transaction) get a token of their own, which no row has.
ALTER TABLE @extschema@.model ADD COLUMN version pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid();
ALTER TABLE @extschema@.model_part ADD COLUMN version pg_catalog.uuid;
UPDATE @extschema@.model_part p
   SET version = COALESCE((SELECT m.version FROM @extschema@.model m
                            WHERE m.id OPERATOR(pg_catalog.=) p.model_id),
                          pg_catalog.gen_random_uuid());
ALTER TABLE @extschema@.model_part ALTER COLUMN version SET NOT NULL;
COMMENT ON COLUMN @extschema@.model.version IS 'random token drawn at every save: identifies these bytes, unlike the id';
COMMENT ON COLUMN @extschema@.model_part.version IS 'version token of the model row these parts were written for';
