
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
        params => jsonb_build_object(
            'attributes', (SELECT format('%I.%I', n.nspname, c.relname)
                             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE c.oid = train_content.attributes),
            'attribute_key', coalesce(train_content.attribute_key, train_content.item_col),
            'attribute_columns', to_jsonb(train_content.attribute_columns::text[]),
            'buckets', train_content.buckets,
            'words', train_content.words));
$$;
COMMENT ON FUNCTION @extschema@.train_content(text, regclass, name, name, regclass, name[], name,
    name, integer, boolean) IS
'trains a content model: TF-IDF vectors of item attributes (text values and their words, array '
'elements, numeric quantile bands) matched against profiles built from what each user bought; '
'items that only appear in the attribute table are recommendable at once';
