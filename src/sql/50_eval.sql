-- ---------------------------------------------------------------------------
-- Evaluation: deterministic splits, per-user ranking metrics and the scoring
-- of ranked lists against held-out data (README "Evaluation" has the
-- formulas and conventions).
-- ---------------------------------------------------------------------------

-- Deterministic random split --------------------------------------------------
CREATE FUNCTION @extschema@.split_position(user_key "any", item_key "any", seed bigint DEFAULT 0)
RETURNS float8
AS 'MODULE_PATHNAME', 'recpromo_split_position'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.split_position("any", "any", bigint) IS
'position of a (user, item) pair in [0, 1): SplitMix64-finalised FNV-1a hash of the keys'' text forms and the seed; the same on every machine';

CREATE FUNCTION @extschema@.in_test_set(user_key "any", item_key "any", fraction float8, seed bigint DEFAULT 0)
RETURNS boolean
AS 'MODULE_PATHNAME', 'recpromo_in_test_set'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.in_test_set("any", "any", float8, bigint) IS
'true for the (user, item) pairs of a deterministic random test split: split_position(user, item, seed) < fraction; usable in views and indexes';

-- Internal: type of a column of a relation, with a clear error when absent.
CREATE FUNCTION @extschema@._eval_column_type(rel regclass, col name, what text)
RETURNS regtype
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regtype;
BEGIN
    IF col IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', what
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name a column of ' || rel::text || '.';
    END IF;
    SELECT a.atttypid::regtype INTO t
      FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF t IS NULL THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', col, rel::text
            USING ERRCODE = 'undefined_column',
                  HINT = 'Check the ' || what || ' argument.';
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION @extschema@._eval_column_type(regclass, name, text) IS
'internal: type of a column, raising undefined_column when it does not exist';

-- Internal: type category of a (possibly domain) type, 'N' numeric, 'S' string...
CREATE FUNCTION @extschema@._eval_type_category(t regtype)
RETURNS "char"
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.typcategory
      FROM pg_type b
     WHERE b.oid = (SELECT CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END
                      FROM pg_type d WHERE d.oid = t)
$$;
COMMENT ON FUNCTION @extschema@._eval_type_category(regtype) IS
'internal: pg_type.typcategory of a type or of a domain''s base type';

-- Per-user time-based split -----------------------------------------------------
CREATE FUNCTION @extschema@.time_split(
    source anyelement,
    user_col name,
    time_col name,
    holdout integer DEFAULT NULL,
    after timestamptz DEFAULT NULL)
RETURNS TABLE (rec anyelement, is_test boolean)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $$
DECLARE
    rel regclass;
    time_type regtype;
    n integer := coalesce(holdout, 1);
    a text := 'src';
BEGIN
    SELECT t.typrelid::regclass INTO rel
      FROM pg_catalog.pg_type t
     WHERE t.oid = pg_catalog.pg_typeof(source) AND t.typrelid <> 0;
    IF rel IS NULL THEN
        RAISE EXCEPTION 'source must be a row of a table or view, not %', pg_catalog.pg_typeof(source)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Pass a typed NULL such as NULL::orders.';
    END IF;
    PERFORM @extschema@._eval_column_type(rel, user_col, 'user_col');
    time_type := @extschema@._eval_column_type(rel, time_col, 'time_col');
    -- the whole-row alias must not be the name of a column
    WHILE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute c
                   WHERE c.attrelid = rel AND c.attname = a AND NOT c.attisdropped) LOOP
        a := a || '_';
    END LOOP;
    IF holdout IS NOT NULL AND after IS NOT NULL THEN
        RAISE EXCEPTION 'holdout and after cannot both be given'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Hold out each user''s last interactions (holdout) or everything after a date (after).';
    END IF;
    IF n < 1 THEN
        RAISE EXCEPTION 'holdout must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'holdout counts each user''s latest distinct times held out.';
    END IF;
    IF after IS NOT NULL THEN
        IF after IN ('infinity', '-infinity') THEN
            RAISE EXCEPTION 'after must be a finite time'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass the cut-off date, such as ''2011-09-01''.';
        END IF;
        IF time_type NOT IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) THEN
            RAISE EXCEPTION 'time_col must be a date or timestamp to split by after, not %', time_type
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use holdout, which works with any ordered type.';
        END IF;
        RETURN QUERY EXECUTE format(
            'SELECT %4$I, CASE WHEN %4$I.%1$I IS NULL OR %4$I.%2$I IS NULL THEN NULL
                               ELSE %4$I.%2$I::timestamptz > $1 END
               FROM %3$s %4$I', user_col, time_col, rel, a)
            USING after;
    ELSE
        -- d_desc: 1 for the user's latest time; d_desc + d_asc - 1 is the
        -- user's number of distinct times.  Rows without a time form their
        -- own partition so that they never shift the ranks.
        RETURN QUERY EXECUTE format(
            'SELECT s.r, CASE WHEN s.u_null OR s.t_null THEN NULL
                              ELSE s.d_desc <= $1 AND s.d_desc + s.d_asc - 1 > $1 END
               FROM (SELECT %4$I AS r, %4$I.%1$I IS NULL AS u_null, %4$I.%2$I IS NULL AS t_null,
                            dense_rank() OVER (PARTITION BY %4$I.%1$I, %4$I.%2$I IS NULL ORDER BY %4$I.%2$I DESC) AS d_desc,
                            dense_rank() OVER (PARTITION BY %4$I.%1$I, %4$I.%2$I IS NULL ORDER BY %4$I.%2$I) AS d_asc
                       FROM %3$s %4$I) s', user_col, time_col, rel, a)
            USING n;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.time_split(anyelement, name, name, integer, timestamptz) IS
'every row of a table or view (pass NULL::name) with is_test: the rows at each user''s last holdout distinct times (users keep at least one training time), or the rows after a date; NULL user or time gives NULL';

-- Per-user ranking metrics --------------------------------------------------------
CREATE FUNCTION @extschema@.ranking_metrics(
    ranks float8[],
    relevant boolean[],
    n_relevant integer,
    k integer DEFAULT 10,
    OUT hits float8,
    OUT "precision" float8,
    OUT recall float8,
    OUT f1 float8,
    OUT ndcg float8,
    OUT average_precision float8,
    OUT hit float8,
    OUT reciprocal_rank float8)
RETURNS record
AS 'MODULE_PATHNAME', 'recpromo_ranking_metrics'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ranking_metrics(float8[], boolean[], integer, integer) IS
'one user''s ranked list scored at k: ranks ascending (equal ranks are ties, scored by expectation), relevance flags, and the size of the user''s relevant set';

-- Scoring any ranked lists against a test table ---------------------------------
CREATE FUNCTION @extschema@.evaluate_rankings(
    recommendations regclass,
    test regclass,
    user_col name DEFAULT 'user_id',
    item_col name DEFAULT 'item_id',
    rank_col name DEFAULT 'rank',
    k integer DEFAULT 10,
    rating_col name DEFAULT NULL,
    relevance_threshold float8 DEFAULT NULL,
    train regclass DEFAULT NULL)
RETURNS TABLE (
    model_name text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k float8,
    recall_at_k float8,
    f1_at_k float8,
    ndcg_at_k float8,
    map_at_k float8,
    hit_rate_at_k float8,
    mrr_at_k float8,
    coverage float8,
    popularity_recommended float8,
    popularity_catalogue float8,
    popularity_bias float8,
    rmse float8,
    mae float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $$
#variable_conflict use_variable
DECLARE
    cut integer := k;
    rel_expr text := 'true';
    cat_sql text := 'NULL::float8 AS cov, NULL::float8 AS prec, NULL::float8 AS pcat';
    dup record;
    bad boolean;
BEGIN
    IF recommendations IS NULL OR test IS NULL THEN
        RAISE EXCEPTION 'recommendations and test must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the table of ranked lists and the table of held-out interactions.';
    END IF;
    IF cut IS NULL OR cut < 1 THEN
        RAISE EXCEPTION 'k must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'k is the length of the ranked lists to score, such as 10.';
    END IF;
    IF @extschema@._eval_type_category(@extschema@._eval_column_type(test, user_col, 'user_col'))
       <> @extschema@._eval_type_category(@extschema@._eval_column_type(recommendations, user_col, 'user_col'))
    OR @extschema@._eval_type_category(@extschema@._eval_column_type(test, item_col, 'item_col'))
       <> @extschema@._eval_type_category(@extschema@._eval_column_type(recommendations, item_col, 'item_col')) THEN
        RAISE EXCEPTION 'user and item columns of % and % have incompatible types', recommendations, test
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Use keys of the same type in both tables, or a view that casts them.';
    END IF;
    IF @extschema@._eval_type_category(@extschema@._eval_column_type(recommendations, rank_col, 'rank_col')) <> 'N' THEN
        RAISE EXCEPTION 'rank column "%" must be numeric', rank_col
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Ranks are ascending numbers; equal ranks are ties.';
    END IF;
    IF relevance_threshold IS NOT NULL THEN
        IF rating_col IS NULL THEN
            RAISE EXCEPTION 'relevance_threshold needs rating_col'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name the test column holding ratings or quantities.';
        END IF;
        IF relevance_threshold IN ('NaN', 'Infinity', '-Infinity') THEN
            RAISE EXCEPTION 'relevance_threshold must be finite'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass for instance 4 to count ratings of 4 and above as relevant.';
        END IF;
    END IF;
    IF rating_col IS NOT NULL THEN
        IF @extschema@._eval_type_category(@extschema@._eval_column_type(test, rating_col, 'rating_col')) <> 'N' THEN
            RAISE EXCEPTION 'rating column "%" must be numeric', rating_col
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Ratings, quantities or counts are compared with relevance_threshold.';
        END IF;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s t WHERE t.%I::float8 IN (''NaN'', ''Infinity'', ''-Infinity''))',
                       test, rating_col) INTO bad;
        IF bad THEN
            RAISE EXCEPTION 'rating column "%" of % contains NaN or infinite values', rating_col, test
                USING ERRCODE = 'data_exception',
                      HINT = 'Filter those rows out with a view.';
        END IF;
        IF relevance_threshold IS NOT NULL THEN
            rel_expr := format('coalesce(sum(t.%I::float8) >= $1, false)', rating_col);
        END IF;
    END IF;
    IF train IS NOT NULL THEN
        IF @extschema@._eval_type_category(@extschema@._eval_column_type(train, item_col, 'item_col'))
           <> @extschema@._eval_type_category(@extschema@._eval_column_type(recommendations, item_col, 'item_col')) THEN
            RAISE EXCEPTION 'item columns of % and % have incompatible types', recommendations, train
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use keys of the same type in both tables, or a view that casts them.';
        END IF;
        PERFORM @extschema@._eval_column_type(train, user_col, 'user_col');
        cat_sql := format(
            $q$(SELECT count(*) FILTER (WHERE e.x > 0)::float8 / nullif((SELECT count(*) FROM pop), 0)
                  FROM ex e JOIN pop p ON p.i = e.i) AS cov,
               (SELECT sum(e.x * coalesce(p.p, 0)) / nullif(sum(e.x), 0)
                  FROM ex e LEFT JOIN pop p ON p.i = e.i) AS prec,
               (SELECT avg(p.p)::float8 FROM pop p) AS pcat$q$);
    END IF;

    EXECUTE format('SELECT r.%1$I::text AS u, r.%2$I::text AS i FROM %3$s r
                     WHERE r.%1$I IS NOT NULL AND r.%2$I IS NOT NULL AND r.%4$I IS NOT NULL
                     GROUP BY r.%1$I, r.%2$I HAVING count(*) > 1 LIMIT 1',
                   user_col, item_col, recommendations, rank_col) INTO dup;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s r WHERE r.%I::float8 IN (''NaN'', ''Infinity'', ''-Infinity''))',
                   recommendations, rank_col) INTO bad;
    IF bad THEN
        RAISE EXCEPTION 'rank column "%" of % contains NaN or infinite values', rank_col, recommendations
            USING ERRCODE = 'data_exception',
                  HINT = 'Ranks must be finite; filter those rows out with a view.';
    END IF;
    IF dup.u IS NOT NULL THEN
        RAISE EXCEPTION 'item % appears more than once in the ranking of user %', dup.i, dup.u
            USING ERRCODE = 'data_exception',
                  HINT = 'Keep one row per user and item in ' || recommendations::text || '.';
    END IF;

    RETURN QUERY EXECUTE format($q$
        WITH t AS (
            SELECT t.%1$I AS u, t.%2$I AS i, %4$s AS rel
              FROM %5$s t
             WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL
             GROUP BY 1, 2),
        tu AS (
            SELECT t.u, count(*) FILTER (WHERE t.rel) AS n_rel FROM t GROUP BY t.u),
        rw AS (
            SELECT s.u, s.i, s.rk,
                   greatest(0, least(s.m, $2 - s.start + 1))::float8 / s.m AS w
              FROM (SELECT r.%1$I AS u, r.%2$I AS i, r.%3$I::float8 AS rk,
                           rank() OVER (PARTITION BY r.%1$I ORDER BY r.%3$I::float8) AS start,
                           count(*) OVER (PARTITION BY r.%1$I, r.%3$I::float8) AS m
                      FROM %6$s r
                     WHERE r.%2$I IS NOT NULL AND r.%3$I IS NOT NULL
                       AND r.%1$I IN (SELECT tu.u FROM tu WHERE tu.n_rel > 0)) s
             WHERE s.start <= $2),
        pu AS (
            SELECT rw.u, min(tu.n_rel)::integer AS n_rel,
                   array_agg(rw.rk) AS ranks, array_agg(coalesce(t.rel, false)) AS rels
              FROM rw JOIN tu ON tu.u = rw.u
                      LEFT JOIN t ON t.u = rw.u AND t.i = rw.i
             GROUP BY rw.u),
        m AS (
            SELECT x.* FROM pu, LATERAL @extschema@.ranking_metrics(pu.ranks, pu.rels, pu.n_rel, $2) x),
        ex AS (
            SELECT rw.i, sum(rw.w) AS x FROM rw GROUP BY rw.i),
        pop AS (%7$s),
        cat AS (SELECT %8$s),
        agg AS (
            SELECT count(*) AS n, avg(m."precision") AS p, avg(m.recall) AS r, avg(m.f1) AS f1,
                   avg(m.ndcg) AS ndcg, avg(m.average_precision) AS ap, avg(m.hit) AS hit,
                   avg(m.reciprocal_rank) AS rr
              FROM m),
        cnt AS (
            SELECT count(*) FILTER (WHERE tu.n_rel = 0) AS no_test,
                   count(*) FILTER (WHERE tu.n_rel > 0) AS with_test
              FROM tu)
        SELECT $3::text, agg.n, cnt.no_test, cnt.with_test - agg.n,
               agg.p, agg.r, agg.f1, agg.ndcg, agg.ap, agg.hit, agg.rr,
               cat.cov, cat.prec, cat.pcat, cat.prec / nullif(cat.pcat, 0),
               NULL::float8, NULL::float8
          FROM agg, cnt, cat$q$,
        user_col, item_col, rank_col, rel_expr, test, recommendations,
        CASE WHEN train IS NULL THEN 'SELECT NULL::float8 AS i, 0::bigint AS p'
             ELSE format('SELECT x.%2$I AS i, count(DISTINCT x.%1$I) AS p FROM %3$s x
                           WHERE x.%1$I IS NOT NULL AND x.%2$I IS NOT NULL GROUP BY 1',
                         user_col, item_col, train) END,
        cat_sql)
        USING relevance_threshold, cut, recommendations::text;
END
$$;
COMMENT ON FUNCTION @extschema@.evaluate_rankings(regclass, regclass, name, name, name, integer, name, float8, regclass) IS
'scores any table of ranked lists (user, item, rank) against a test table at k: precision, recall, F1, NDCG, MAP, hit rate, MRR, and with train given coverage and popularity bias; one row';

-- Scoring a trained model against held-out interactions --------------------------
CREATE FUNCTION @extschema@.evaluate(
    model text,
    test_source regclass,
    user_col name DEFAULT 'user_id',
    item_col name DEFAULT 'item_id',
    rating_col name DEFAULT NULL,
    k integer DEFAULT 10,
    relevance_threshold float8 DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (
    model_name text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k float8,
    recall_at_k float8,
    f1_at_k float8,
    ndcg_at_k float8,
    map_at_k float8,
    hit_rate_at_k float8,
    mrr_at_k float8,
    coverage float8,
    popularity_recommended float8,
    popularity_catalogue float8,
    popularity_bias float8,
    rmse float8,
    mae float8)
AS 'MODULE_PATHNAME', 'recpromo_evaluate'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1;
COMMENT ON FUNCTION @extschema@.evaluate(text, regclass, name, name, name, integer, float8, boolean) IS
'scores a trained model (NULL: the default) against a test table: each test user''s top k as recommend() serves it (training items excluded), ranking metrics, coverage, popularity bias, and RMSE/MAE for models trained on ratings; one row';
