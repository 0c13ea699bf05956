
-- ---------------------------------------------------------------------------
-- Serving.  Keys passed and returned share the type of the first key
-- argument, so results join the caller's tables without casts.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.recommend(
    user_id anyelement,
    n integer DEFAULT 10,
    model text DEFAULT NULL,
    exclude_seen boolean DEFAULT true,
    only_items "any" DEFAULT NULL,
    exclude_items "any" DEFAULT NULL,
    boosts regclass DEFAULT NULL,
    boost_item_col name DEFAULT 'item_id',
    boost_col name DEFAULT 'weight',
    boost_mode text DEFAULT 'multiply',
    categories regclass DEFAULT NULL,
    category_item_col name DEFAULT 'item_id',
    category_col name DEFAULT 'category',
    max_per_category integer DEFAULT NULL,
    only_categories text[] DEFAULT NULL,
    exclude_categories text[] DEFAULT NULL)
RETURNS TABLE (item anyelement, score float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.recommend(anyelement, integer, text, boolean, "any", "any",
    regclass, name, name, text, regclass, name, name, integer, text[], text[]) IS
'top-n items for a user, best first: skips what the user already interacted with, filters inside the selection, '
'optional boosts (score * weight or score + weight from a table) and category rules (only/never these categories, '
'at most max_per_category per category), folds in users newer than the model, popularity for users with no history';

CREATE FUNCTION @extschema@.recommend_for_items(
    item_ids anyarray,
    n integer DEFAULT 10,
    model text DEFAULT NULL,
    exclude_input boolean DEFAULT true)
RETURNS TABLE (item anyelement, score float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_for_items'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.recommend_for_items(anyarray, integer, text, boolean) IS
'"customers who bought these also bought": top-n items for a basket, scored as a new user who bought the basket';

CREATE FUNCTION @extschema@.similar_items(
    item_id anyelement,
    n integer DEFAULT 10,
    model text DEFAULT NULL)
RETURNS TABLE (item anyelement, similarity float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_similar_items'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.similar_items(anyelement, integer, text) IS
'the n items most similar to an item under the model (empty for an item the model does not know)';

CREATE FUNCTION @extschema@.similar_users(
    user_id anyelement,
    n integer DEFAULT 10,
    model text DEFAULT NULL)
RETURNS TABLE (neighbour anyelement, similarity float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_similar_users'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.similar_users(anyelement, integer, text) IS
'the n users most similar to a user under the model (a new user is folded in from the live table)';

CREATE FUNCTION @extschema@.predict(
    user_id anyelement,
    item_id anyelement,
    model text DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_predict'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict(anyelement, anyelement, text) IS
'the model''s score (or predicted rating) of an item for a user, folded in from the source for a new user; '
'for a user with no rows the model''s baseline (popularity, als_explicit: mean + item bias) or NULL; '
'NULL for an item the model does not know';

CREATE FUNCTION @extschema@.explain_recommendation(
    user_id anyelement,
    item_id anyelement,
    model text DEFAULT NULL)
RETURNS TABLE (history_item anyelement, contribution float8, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_explain_recommendation'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.explain_recommendation(anyelement, anyelement, text) IS
'the items of the user''s history that drive the score of an item, with their contributions, largest first';
