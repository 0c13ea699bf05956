
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
