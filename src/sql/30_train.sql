
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
