-- ---------------------------------------------------------------------------
-- Sessions (src/pg/method_session_knn.c, serve.c, session_eval.c): the
-- session_knn method (V-SKNN, Ludewig and Jannach 2018) trained from
-- (session, item, time) rows, recommendations for an ordered session whose
-- recent items count more, and the next-item evaluation of held-out
-- sessions.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.train_session(
    name text,
    source regclass,
    session_col name,
    item_col name,
    time_col name,
    neighbours integer DEFAULT 100,
    sample_size integer DEFAULT 500)
RETURNS SETOF @extschema@.models
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF train_session.time_col IS NULL THEN
        RAISE EXCEPTION 'time_col must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the column that orders the events of a session.';
    END IF;
    RETURN QUERY SELECT * FROM @extschema@.train(train_session.name, train_session.source,
        train_session.session_col, train_session.item_col, NULL, method => 'session_knn',
        params => pg_catalog.jsonb_build_object('time_col', train_session.time_col::pg_catalog.text,
                                                'neighbours', train_session.neighbours,
                                                'sample_size', train_session.sample_size));
END
$$;
COMMENT ON FUNCTION @extschema@.train_session(text, regclass, name, name, name, integer, integer) IS
'trains a session_knn model (V-SKNN: session k-nearest neighbours with recency weighting) from '
'(session or customer, item, time) rows; serve it with recommend_for_session';

CREATE FUNCTION @extschema@.recommend_for_session(
    items pg_catalog.anyarray,
    n integer DEFAULT 10,
    model pg_catalog.text DEFAULT NULL,
    exclude_input boolean DEFAULT true,
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
    exclude_categories pg_catalog.text[] DEFAULT NULL)
RETURNS TABLE (item pg_catalog.anyelement, score double precision, rank integer)
AS 'MODULE_PATHNAME', 'recpromo_recommend_for_session'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 10 SUPPORT @extschema@._rows_at_most_n;
COMMENT ON FUNCTION @extschema@.recommend_for_session(pg_catalog.anyarray, integer, pg_catalog.text, boolean,
    pg_catalog."any", pg_catalog."any", pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.text[], pg_catalog.text[]) IS
'top-n items for an anonymous session (items in order, most recent last): item at position p of L weighs p / L; '
'filters, boosts and category rules as recommend(); an empty session gets the popularity list';

CREATE FUNCTION @extschema@.evaluate_sessions(
    model pg_catalog.text,
    source pg_catalog.regclass,
    session_col pg_catalog.name,
    item_col pg_catalog.name,
    time_col pg_catalog.name,
    k integer DEFAULT 20,
    exclude_input boolean DEFAULT false,
    order_blind boolean DEFAULT false)
RETURNS TABLE (model_name pg_catalog.text, sessions_evaluated bigint, sessions_skipped bigint,
               hit_rate double precision, mrr double precision)
AS 'MODULE_PATHNAME', 'recpromo_evaluate_sessions'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT
ROWS 1;
COMMENT ON FUNCTION @extschema@.evaluate_sessions(pg_catalog.text, pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, pg_catalog.name, integer, boolean, boolean) IS
'next-item prediction on held-out sessions: each session''s last item predicted from the items before it '
'(scored as recommend_for_session, or as recommend_for_items with order_blind); hit rate and MRR at k';
