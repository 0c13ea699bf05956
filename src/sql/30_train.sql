
-- ---------------------------------------------------------------------------
-- Training and model management
-- ---------------------------------------------------------------------------
CREATE VIEW @extschema@.models AS
SELECT m.name, m.method, m.is_default, m.params, m.source, m.user_col, m.item_col, m.rating_col,
       m.user_type, m.item_type, m.n_users, m.n_items, m.nnz, m.rows_read, m.rows_skipped, m.train_seconds, m.final_loss,
       m.metrics,
       (SELECT coalesce(sum(octet_length(p.data)), 0) FROM @extschema@.model_part p
         WHERE p.model_id = m.id)::bigint AS size_bytes,
       m.trained_by, m.trained_at
FROM @extschema@.model m;
COMMENT ON VIEW @extschema@.models IS
'trained models: method, hyper-parameters, source, sizes, training time and final loss';

CREATE FUNCTION @extschema@._train(name text, source regclass, user_col name, item_col name,
                                   rating_col name, method text, params jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_train'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._train(text, regclass, name, name, name, text, jsonb) IS
'internal: use recpromo.train()';

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
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT @extschema@._train(train.name, train.source, train.user_col, train.item_col,
        train.rating_col, train.method,
        jsonb_strip_nulls(jsonb_build_object(
            'factors', train.factors, 'iterations', train.iterations,
            'regularization', train.regularization, 'alpha', train.alpha,
            'neighbours', train.neighbours, 'seed', train.seed))
        || coalesce(train.params, '{}'));
    SELECT * FROM @extschema@.models m WHERE m.name = train.name;
$$;
COMMENT ON FUNCTION @extschema@.train(text, regclass, name, name, name, text, integer, integer,
    float8, float8, integer, integer, jsonb) IS
'trains (or atomically replaces) a model from any table or view the caller can read; '
'methods: popularity, user_knn, als, als_explicit, ...; method-specific hyper-parameters go in params';

CREATE FUNCTION @extschema@.drop_model(name text, if_exists boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    IF drop_model.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    LOCK TABLE @extschema@.model IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM @extschema@.model m WHERE m.name = drop_model.name RETURNING m.id INTO v_id;
    IF v_id IS NULL THEN
        IF if_exists THEN
            RETURN false;
        END IF;
        RAISE EXCEPTION 'model "%" does not exist', drop_model.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM recpromo.models lists the trained models.';
    END IF;
    DELETE FROM @extschema@.model_part p WHERE p.model_id = v_id;
    RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_model(text, boolean) IS
'removes a model and its stored parts; returns false for a missing model when if_exists';

CREATE FUNCTION @extschema@.set_default_model(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    LOCK TABLE @extschema@.model IN SHARE ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.model m WHERE m.name = set_default_model.name) THEN
        RAISE EXCEPTION 'model "%" does not exist', set_default_model.name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM recpromo.models lists the trained models.';
    END IF;
    UPDATE @extschema@.model m SET is_default = false WHERE m.is_default AND m.name <> set_default_model.name;
    UPDATE @extschema@.model m SET is_default = true WHERE m.name = set_default_model.name;
END
$$;
COMMENT ON FUNCTION @extschema@.set_default_model(text) IS
'makes the named model the one used when a serving function is called without model';
