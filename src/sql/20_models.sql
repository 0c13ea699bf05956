
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
-- (database, installation, id, version) and reloads on any difference, and
-- a load refuses parts whose token is not their row's.  A token names one
-- set of bytes: parts are written once, under a fresh id, in the
-- transaction that draws the token, and never rewritten, so that a dump
-- and restore carries the token with the very bytes it named.
-- New columns go at the end, in the same order as the 0.1.0 -> 0.2.0 update
-- adds them, so that both give the same catalog.
-- No column has a default (since 0.5.0): rows are written by the library
-- only (model_store.c names every column), and a table with defaults makes
-- the first use of it in every new connection read pg_attrdef too, 0.4 ms
-- of a first recommend() (doc/operations.md).
-- ---------------------------------------------------------------------------
CREATE SEQUENCE @extschema@.model_id_seq;

CREATE TABLE @extschema@.model (
    name          text PRIMARY KEY,
    id            bigint NOT NULL UNIQUE,
    method        text NOT NULL,
    params        jsonb NOT NULL,
    source        text,
    user_col      text,
    item_col      text,
    rating_col    text,
    user_type     regtype,
    item_type     regtype,
    n_users       integer NOT NULL,
    n_items       integer NOT NULL,
    nnz           bigint NOT NULL,
    rows_read     bigint NOT NULL,
    rows_skipped  bigint NOT NULL,
    train_seconds float8,
    final_loss    float8,
    metrics       jsonb NOT NULL,
    is_default    boolean NOT NULL,
    trained_by    name NOT NULL,
    trained_at    timestamptz NOT NULL,
    owner         regrole NOT NULL,
    readers       regrole[] NOT NULL,
    store_seconds float8,
    version       uuid NOT NULL,
    similar_users_readers regrole[] NOT NULL
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
