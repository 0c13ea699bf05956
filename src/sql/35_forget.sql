
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
