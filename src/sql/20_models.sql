
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
