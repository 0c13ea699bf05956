
-- ---------------------------------------------------------------------------
-- Serving.  Keys passed and returned share the type of the first key
-- argument, so results join the caller's tables without casts.
-- ---------------------------------------------------------------------------
-- Planner support (src/pg/planner_support.c): the row count of one call,
-- from its arguments.  _rows_at_most_n: at most n rows when n is a constant
-- (a function with an input argument named n).  _rows_per_source_row: one
-- row per row of the relation given as a constant argument named source (a
-- regclass, or a typed NULL of the table's row type).  Otherwise the
-- function's ROWS applies.  Arguments of type internal: not callable from SQL.
CREATE FUNCTION @extschema@._rows_at_most_n(pg_catalog.internal) RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'recpromo_rows_at_most_n'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._rows_at_most_n(pg_catalog.internal) IS
'internal: planner support, estimates a call at n rows when its argument n is a constant';
REVOKE ALL ON FUNCTION @extschema@._rows_at_most_n(pg_catalog.internal) FROM PUBLIC;

CREATE FUNCTION @extschema@._rows_per_source_row(pg_catalog.internal) RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'recpromo_rows_per_source_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._rows_per_source_row(pg_catalog.internal) IS
'internal: planner support, estimates a call at the row count of its constant argument source';
REVOKE ALL ON FUNCTION @extschema@._rows_per_source_row(pg_catalog.internal) FROM PUBLIC;

CREATE FUNCTION @extschema@.recommend(
    user_id pg_catalog.anyelement,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL,
    exclude_seen boolean DEFAULT true,
    only_items pg_catalog."any" DEFAULT NULL,
    exclude_items pg_catalog."any" DEFAULT NULL,
    boosts pg_catalog.regclass DEFAULT NULL,
    boost_item_col pg_catalog.name DEFAULT 'item_id',
    boost_col pg_catalog.name DEFAULT 'weight',
    boost_mode pg_catalog.text DEFAULT 'multiply',
    categories pg_catalog.regclass DEFAULT NULL,
    category_item_col pg_catalog.name DEFAULT 'item_id',
    category_col pg_catalog.name DEFAULT 'category',
    max_per_category integer DEFAULT NULL,
    only_categories pg_catalog.text[] DEFAULT NULL,
    exclude_categories pg_catalog.text[] DEFAULT NULL,
    diversity double precision DEFAULT NULL,
    calibration double precision DEFAULT NULL,
    min_share double precision DEFAULT NULL,
    share_items pg_catalog."any" DEFAULT NULL,
    share_categories pg_catalog.text[] DEFAULT NULL)
RETURNS TABLE (item pg_catalog.anyelement, score double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.recommend(pg_catalog.anyelement, integer, pg_catalog.text, boolean,
    pg_catalog."any", pg_catalog."any", pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.text[], pg_catalog.text[], double precision, double precision, double precision,
    pg_catalog."any", pg_catalog.text[]) IS
'top-n items for a user, best first: skips what the user already interacted with, filters inside the selection, '
'optional boosts (score * weight or score + weight from a table) and category rules (only/never these categories, '
'at most max_per_category per category), re-ranking for diversity (MMR), calibration to the customer''s category mix '
'and a minimum share for a group of items, folds in users newer than the model, popularity for users with no history';

CREATE FUNCTION @extschema@.recommend_for_items(
    item_ids pg_catalog.anyarray,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL,
    exclude_input boolean DEFAULT true)
RETURNS TABLE (item pg_catalog.anyelement, score double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_for_items'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.recommend_for_items(pg_catalog.anyarray, integer, pg_catalog.text, boolean) IS
'"customers who bought these also bought": top-n items for a basket, scored as a new user who bought the basket';

CREATE FUNCTION @extschema@.similar_items(
    item_id pg_catalog.anyelement,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL)
RETURNS TABLE (item pg_catalog.anyelement, similarity double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_similar_items'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.similar_items(pg_catalog.anyelement, integer, pg_catalog.text) IS
'the n items most similar to an item under the model (empty for an item the model does not know)';

CREATE FUNCTION @extschema@.similar_users(
    user_id pg_catalog.anyelement,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL)
RETURNS TABLE (neighbour pg_catalog.anyelement, similarity double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_similar_users'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.similar_users(pg_catalog.anyelement, integer, pg_catalog.text) IS
'the n users most similar to a user under the model (a new user is folded in from the live table)';

CREATE FUNCTION @extschema@.predict(
    user_id pg_catalog.anyelement,
    item_id pg_catalog.anyelement,
    model pg_catalog.text DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_predict'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict(pg_catalog.anyelement, pg_catalog.anyelement, pg_catalog.text) IS
'the model''s score (or predicted rating) of an item for a user, folded in from the source for a new user; '
'for a user with no rows the model''s baseline (popularity, als_explicit: mean + item bias) or NULL; '
'NULL for an item the model does not know';

CREATE FUNCTION @extschema@.explain_recommendation(
    user_id pg_catalog.anyelement,
    item_id pg_catalog.anyelement,
    model pg_catalog.text DEFAULT NULL)
RETURNS TABLE (history_item pg_catalog.anyelement, contribution double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_explain_recommendation'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.explain_recommendation(pg_catalog.anyelement, pg_catalog.anyelement, pg_catalog.text) IS
'the items of the user''s history that drive the score of an item, with their contributions, largest first';
