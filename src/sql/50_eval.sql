-- ---------------------------------------------------------------------------
-- Evaluation: deterministic splits, per-user ranking metrics and the scoring
-- of ranked lists against held-out data (doc/evaluation.md has the
-- formulas and conventions).
-- ---------------------------------------------------------------------------

-- Deterministic random split --------------------------------------------------
CREATE FUNCTION @extschema@.split_position(user_key pg_catalog."any", item_key pg_catalog."any", seed bigint DEFAULT 0)
RETURNS double precision
AS 'MODULE_PATHNAME', 'recpromo_split_position'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.split_position(pg_catalog."any", pg_catalog."any", bigint) IS
'position of a (user, item) pair in [0, 1): SplitMix64-finalised FNV-1a hash of the keys'' text forms and the seed; the same on every machine';

CREATE FUNCTION @extschema@.in_test_set(user_key pg_catalog."any", item_key pg_catalog."any", fraction double precision,
                                         seed bigint DEFAULT 0)
RETURNS boolean
AS 'MODULE_PATHNAME', 'recpromo_in_test_set'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.in_test_set(pg_catalog."any", pg_catalog."any", double precision, bigint) IS
'true for the (user, item) pairs of a deterministic random test split: split_position(user, item, seed) < fraction; usable in views and indexes';

-- Per-user time-based split -----------------------------------------------------
CREATE FUNCTION @extschema@.time_split(
    source pg_catalog.anyelement,
    user_col pg_catalog.name,
    time_col pg_catalog.name,
    holdout integer DEFAULT NULL,
    after pg_catalog.timestamptz DEFAULT NULL)
RETURNS TABLE (rec pg_catalog.anyelement, is_test boolean)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
ROWS 1000 SUPPORT @extschema@._rows_per_source_row
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel pg_catalog.regclass;
    time_type pg_catalog.regtype;
    n integer := coalesce(holdout, 1);
    a pg_catalog.text := 'src';
    chk record;
BEGIN
    SELECT t.typrelid::pg_catalog.regclass INTO rel
      FROM pg_catalog.pg_type t
     WHERE t.oid OPERATOR(pg_catalog.=) pg_catalog.pg_typeof(source)
       AND t.typrelid OPERATOR(pg_catalog.<>) 0;
    IF rel IS NULL THEN
        RAISE EXCEPTION 'source must be a row of a table or view, not %', pg_catalog.pg_typeof(source)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Pass a typed NULL such as NULL::orders.';
    END IF;
    -- the columns must exist (checked inline: no SQL-callable helper, issue 18)
    FOR chk IN SELECT c.col, c.what, a.atttypid::pg_catalog.regtype AS t
                 FROM ROWS FROM (pg_catalog.unnest(ARRAY[user_col, time_col]),
                                 pg_catalog.unnest(ARRAY['user_col', 'time_col'])) WITH ORDINALITY c(col, what, o)
                 LEFT JOIN pg_catalog.pg_attribute a
                   ON a.attrelid OPERATOR(pg_catalog.=) rel AND a.attname OPERATOR(pg_catalog.=) c.col
                  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                ORDER BY c.o LOOP
        IF chk.col IS NULL THEN
            RAISE EXCEPTION '% must not be NULL', chk.what
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = pg_catalog.format('Name a column of %s.', rel);
        END IF;
        IF chk.t IS NULL THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', chk.col, rel
                USING ERRCODE = 'undefined_column',
                      HINT = pg_catalog.format('Check the %s argument.', chk.what);
        END IF;
        time_type := chk.t;
    END LOOP;
    -- the whole-row alias must not be the name of a column
    WHILE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute c
                   WHERE c.attrelid OPERATOR(pg_catalog.=) rel AND c.attname OPERATOR(pg_catalog.=) a
                     AND NOT c.attisdropped) LOOP
        a := a OPERATOR(pg_catalog.||) '_';
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
        IF time_type NOT IN ('pg_catalog.date'::pg_catalog.regtype, 'pg_catalog.timestamp'::pg_catalog.regtype,
                             'pg_catalog.timestamptz'::pg_catalog.regtype) THEN
            RAISE EXCEPTION 'time_col must be a date or timestamp to split by after, not %', time_type
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use holdout, which works with any ordered type.';
        END IF;
        RETURN QUERY EXECUTE pg_catalog.format(
            'SELECT %4$I, CASE WHEN %4$I.%1$I IS NULL OR %4$I.%2$I IS NULL THEN NULL
                               ELSE %4$I.%2$I::pg_catalog.timestamptz OPERATOR(pg_catalog.>) $1 END
               FROM %3$s %4$I', user_col, time_col, rel, a)
            USING after;
    ELSE
        -- d_desc: 1 for the user's latest time; d_desc + d_asc - 1 is the
        -- user's number of distinct times.  Rows without a time form their
        -- own partition so that they never shift the ranks.
        RETURN QUERY EXECUTE pg_catalog.format(
            'SELECT s.r, CASE WHEN s.u_null OR s.t_null THEN NULL
                              ELSE s.d_desc OPERATOR(pg_catalog.<=) $1
                               AND s.d_desc OPERATOR(pg_catalog.+) s.d_asc OPERATOR(pg_catalog.-) 1
                                   OPERATOR(pg_catalog.>) $1 END
               FROM (SELECT %4$I AS r, %4$I.%1$I IS NULL AS u_null, %4$I.%2$I IS NULL AS t_null,
                            pg_catalog.dense_rank() OVER (PARTITION BY %4$I.%1$I, %4$I.%2$I IS NULL ORDER BY %4$I.%2$I DESC) AS d_desc,
                            pg_catalog.dense_rank() OVER (PARTITION BY %4$I.%1$I, %4$I.%2$I IS NULL ORDER BY %4$I.%2$I) AS d_asc
                       FROM %3$s %4$I) s', user_col, time_col, rel, a)
            USING n;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.time_split(pg_catalog.anyelement, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.timestamptz) IS
'every row of a table or view (pass NULL::name) with is_test: the rows at each user''s last holdout distinct times (users keep at least one training time), or the rows after a date; NULL user or time gives NULL';

-- Per-user ranking metrics --------------------------------------------------------
CREATE FUNCTION @extschema@.ranking_metrics(
    ranks double precision[],
    relevant boolean[],
    n_relevant integer,
    k integer DEFAULT 10,
    OUT hits double precision,
    OUT "precision" double precision,
    OUT recall double precision,
    OUT f1 double precision,
    OUT ndcg double precision,
    OUT average_precision double precision,
    OUT hit double precision,
    OUT reciprocal_rank double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'recpromo_ranking_metrics'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ranking_metrics(double precision[], boolean[], integer, integer) IS
'one user''s ranked list scored at k: ranks ascending (equal ranks are ties, scored by expectation), relevance flags, and the size of the user''s relevant set';

-- Scoring any ranked lists against a test table ---------------------------------
CREATE FUNCTION @extschema@.evaluate_rankings(
    recommendations pg_catalog.regclass,
    test pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    rank_col pg_catalog.name DEFAULT 'rank',
    k integer DEFAULT 10,
    rating_col pg_catalog.name DEFAULT NULL,
    relevance_threshold double precision DEFAULT NULL,
    train pg_catalog.regclass DEFAULT NULL)
RETURNS TABLE (
    model_name pg_catalog.text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k double precision,
    recall_at_k double precision,
    f1_at_k double precision,
    ndcg_at_k double precision,
    map_at_k double precision,
    hit_rate_at_k double precision,
    mrr_at_k double precision,
    coverage double precision,
    popularity_recommended double precision,
    popularity_catalogue double precision,
    popularity_bias double precision,
    rmse double precision,
    mae double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED ROWS 1
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cut integer := k;
    rel_expr pg_catalog.text := 'true';
    cat_sql pg_catalog.text := 'NULL::pg_catalog.float8 AS cov, NULL::pg_catalog.float8 AS prec, NULL::pg_catalog.float8 AS pcat';
    dup record;
    bad boolean;
    cols pg_catalog.name[];
    whats pg_catalog.text[];
    rels pg_catalog.regclass[];
    cats pg_catalog."char"[];
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
    -- Column checks, inline (issue 18: no SQL-callable helper): each
    -- (relation, column) is looked up once, in this order; a missing one
    -- raises undefined_column, then the type rules apply.  cats[j] is the
    -- pg_type.typcategory of column j (of a domain's base type).
    SELECT pg_catalog.array_agg(c.col ORDER BY c.o), pg_catalog.array_agg(c.what ORDER BY c.o),
           pg_catalog.array_agg(c.rel ORDER BY c.o),
           pg_catalog.array_agg((SELECT b.typcategory FROM pg_catalog.pg_type d, pg_catalog.pg_type b
                                  WHERE d.oid OPERATOR(pg_catalog.=) a.atttypid
                                    AND b.oid OPERATOR(pg_catalog.=) CASE WHEN d.typtype OPERATOR(pg_catalog.=) 'd'
                                                                         THEN d.typbasetype ELSE d.oid END)
                                ORDER BY c.o)
      INTO cols, whats, rels, cats
      FROM ROWS FROM (pg_catalog.unnest(ARRAY[test, recommendations, test, recommendations, recommendations, test, train, train]),
                      pg_catalog.unnest(ARRAY[user_col, user_col, item_col, item_col, rank_col, rating_col, item_col, user_col]),
                      pg_catalog.unnest(ARRAY['user_col', 'user_col', 'item_col', 'item_col', 'rank_col', 'rating_col', 'item_col', 'user_col']))
           WITH ORDINALITY c(rel, col, what, o)
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid OPERATOR(pg_catalog.=) c.rel AND a.attname OPERATOR(pg_catalog.=) c.col
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    FOR j IN 1..8 LOOP
        CONTINUE WHEN (j = 6 AND rating_col IS NULL) OR (j >= 7 AND train IS NULL);
        IF cols[j] IS NULL THEN
            RAISE EXCEPTION '% must not be NULL', whats[j]
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = pg_catalog.format('Name a column of %s.', rels[j]);
        END IF;
        IF cats[j] IS NULL THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', cols[j], rels[j]
                USING ERRCODE = 'undefined_column',
                      HINT = pg_catalog.format('Check the %s argument.', whats[j]);
        END IF;
        IF j = 4 AND (cats[1] <> cats[2] OR cats[3] <> cats[4]) THEN
            RAISE EXCEPTION 'user and item columns of % and % have incompatible types', recommendations, test
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use keys of the same type in both tables, or a view that casts them.';
        END IF;
        IF j = 5 AND cats[5] <> 'N' THEN
            RAISE EXCEPTION 'rank column "%" must be numeric', rank_col
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Ranks are ascending numbers; equal ranks are ties.';
        END IF;
        IF j = 5 AND relevance_threshold IS NOT NULL THEN
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
        IF j = 6 AND cats[6] <> 'N' THEN
            RAISE EXCEPTION 'rating column "%" must be numeric', rating_col
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Ratings, quantities or counts are compared with relevance_threshold.';
        END IF;
        IF j = 7 AND cats[7] <> cats[4] THEN
            RAISE EXCEPTION 'item columns of % and % have incompatible types', recommendations, train
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Use keys of the same type in both tables, or a view that casts them.';
        END IF;
    END LOOP;
    IF rating_col IS NOT NULL THEN
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %s t WHERE t.%I::pg_catalog.float8 IN (''NaN'', ''Infinity'', ''-Infinity''))',
                       test, rating_col) INTO bad;
        IF bad THEN
            RAISE EXCEPTION 'rating column "%" of % contains NaN or infinite values', rating_col, test
                USING ERRCODE = 'data_exception',
                      HINT = 'Filter those rows out with a view.';
        END IF;
        IF relevance_threshold IS NOT NULL THEN
            rel_expr := pg_catalog.format('coalesce(pg_catalog.sum(t.%I::pg_catalog.float8) >= $1, false)', rating_col);
        END IF;
    END IF;
    IF train IS NOT NULL THEN
        cat_sql := pg_catalog.format(
            $q$(SELECT pg_catalog.count(*) FILTER (WHERE e.x > 0)::pg_catalog.float8 / nullif((SELECT pg_catalog.count(*) FROM pop), 0)
                  FROM ex e JOIN pop p ON p.i = e.i) AS cov,
               (SELECT pg_catalog.sum(e.x * coalesce(p.p, 0)) / nullif(pg_catalog.sum(e.x), 0)
                  FROM ex e LEFT JOIN pop p ON p.i = e.i) AS prec,
               (SELECT pg_catalog.avg(p.p)::pg_catalog.float8 FROM pop p) AS pcat$q$);
    END IF;

    EXECUTE pg_catalog.format('SELECT r.%1$I::pg_catalog.text AS u, r.%2$I::pg_catalog.text AS i FROM %3$s r
                     WHERE r.%1$I IS NOT NULL AND r.%2$I IS NOT NULL AND r.%4$I IS NOT NULL
                     GROUP BY r.%1$I, r.%2$I HAVING pg_catalog.count(*) > 1 LIMIT 1',
                   user_col, item_col, recommendations, rank_col) INTO dup;
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %s r WHERE r.%I::pg_catalog.float8 IN (''NaN'', ''Infinity'', ''-Infinity''))',
                   recommendations, rank_col) INTO bad;
    IF bad THEN
        RAISE EXCEPTION 'rank column "%" of % contains NaN or infinite values', rank_col, recommendations
            USING ERRCODE = 'data_exception',
                  HINT = 'Ranks must be finite; filter those rows out with a view.';
    END IF;
    IF dup.u IS NOT NULL THEN
        RAISE EXCEPTION 'item % appears more than once in the ranking of user %', dup.i, dup.u
            USING ERRCODE = 'data_exception',
                  HINT = pg_catalog.format('Keep one row per user and item in %s.', recommendations);
    END IF;

    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH t AS (
            SELECT t.%1$I AS u, t.%2$I AS i, %4$s AS rel
              FROM %5$s t
             WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL
             GROUP BY 1, 2),
        tu AS (
            SELECT t.u, pg_catalog.count(*) FILTER (WHERE t.rel) AS n_rel FROM t GROUP BY t.u),
        rw AS (
            SELECT s.u, s.i, s.rk,
                   greatest(0, least(s.m, $2 - s.start + 1))::pg_catalog.float8 / s.m AS w
              FROM (SELECT r.%1$I AS u, r.%2$I AS i, r.%3$I::pg_catalog.float8 AS rk,
                           pg_catalog.rank() OVER (PARTITION BY r.%1$I ORDER BY r.%3$I::pg_catalog.float8) AS start,
                           pg_catalog.count(*) OVER (PARTITION BY r.%1$I, r.%3$I::pg_catalog.float8) AS m
                      FROM %6$s r
                     WHERE r.%2$I IS NOT NULL AND r.%3$I IS NOT NULL
                       AND r.%1$I IN (SELECT tu.u FROM tu WHERE tu.n_rel > 0)) s
             WHERE s.start <= $2),
        pu AS (
            SELECT rw.u, pg_catalog.min(tu.n_rel)::integer AS n_rel,
                   pg_catalog.array_agg(rw.rk) AS ranks, pg_catalog.array_agg(coalesce(t.rel, false)) AS rels
              FROM rw JOIN tu ON tu.u = rw.u
                      LEFT JOIN t ON t.u = rw.u AND t.i = rw.i
             GROUP BY rw.u),
        m AS (
            SELECT x.* FROM pu, LATERAL @extschema@.ranking_metrics(pu.ranks, pu.rels, pu.n_rel, $2) x),
        ex AS (
            SELECT rw.i, pg_catalog.sum(rw.w) AS x FROM rw GROUP BY rw.i),
        pop AS (%7$s),
        cat AS (SELECT %8$s),
        agg AS (
            SELECT pg_catalog.count(*) AS n, pg_catalog.avg(m."precision") AS p, pg_catalog.avg(m.recall) AS r, pg_catalog.avg(m.f1) AS f1,
                   pg_catalog.avg(m.ndcg) AS ndcg, pg_catalog.avg(m.average_precision) AS ap, pg_catalog.avg(m.hit) AS hit,
                   pg_catalog.avg(m.reciprocal_rank) AS rr
              FROM m),
        cnt AS (
            SELECT pg_catalog.count(*) FILTER (WHERE tu.n_rel = 0) AS no_test,
                   pg_catalog.count(*) FILTER (WHERE tu.n_rel > 0) AS with_test
              FROM tu)
        SELECT $3::pg_catalog.text, agg.n, cnt.no_test, cnt.with_test - agg.n,
               agg.p, agg.r, agg.f1, agg.ndcg, agg.ap, agg.hit, agg.rr,
               cat.cov, cat.prec, cat.pcat, cat.prec / nullif(cat.pcat, 0),
               NULL::pg_catalog.float8, NULL::pg_catalog.float8
          FROM agg, cnt, cat$q$,
        user_col, item_col, rank_col, rel_expr, test, recommendations,
        CASE WHEN train IS NULL THEN 'SELECT NULL::pg_catalog.float8 AS i, 0::bigint AS p'
             ELSE pg_catalog.format('SELECT x.%2$I AS i, pg_catalog.count(DISTINCT x.%1$I) AS p FROM %3$s x
                           WHERE x.%1$I IS NOT NULL AND x.%2$I IS NOT NULL GROUP BY 1',
                         user_col, item_col, train) END,
        cat_sql)
        USING relevance_threshold, cut, recommendations::pg_catalog.text;
END
$$;
COMMENT ON FUNCTION @extschema@.evaluate_rankings(pg_catalog.regclass, pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, pg_catalog.name, integer, pg_catalog.name, double precision, pg_catalog.regclass) IS
'scores any table of ranked lists (user, item, rank) against a test table at k: precision, recall, F1, NDCG, MAP, hit rate, MRR, and with train given coverage and popularity bias; one row, model_name being the schema-qualified name of the recommendations table';

-- Scoring a trained model against held-out interactions --------------------------
CREATE FUNCTION @extschema@.evaluate(
    model pg_catalog.text,
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    rating_col pg_catalog.name DEFAULT NULL,
    k integer DEFAULT 10,
    relevance_threshold double precision DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (
    model_name pg_catalog.text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k double precision,
    recall_at_k double precision,
    f1_at_k double precision,
    ndcg_at_k double precision,
    map_at_k double precision,
    hit_rate_at_k double precision,
    mrr_at_k double precision,
    coverage double precision,
    popularity_recommended double precision,
    popularity_catalogue double precision,
    popularity_bias double precision,
    rmse double precision,
    mae double precision)
AS 'MODULE_PATHNAME', 'recpromo_evaluate'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1;
COMMENT ON FUNCTION @extschema@.evaluate(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, integer, double precision, boolean) IS
'scores a trained model (NULL: the default) against a test table: each test user''s top k as recommend() serves it (training items excluded), ranking metrics, coverage, popularity bias, and RMSE/MAE for models trained on ratings; one row';

-- Fairness and exposure (issue 13; doc/evaluation.md, "Fairness and exposure", has the
-- formulas and references) -------------------------------------------------
CREATE FUNCTION @extschema@.exposure(
    model pg_catalog.text,
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    k integer DEFAULT 10,
    exclude_seen boolean DEFAULT true,
    item_groups pg_catalog.regclass DEFAULT NULL,
    group_item_col pg_catalog.name DEFAULT 'item_id',
    group_col pg_catalog.name DEFAULT 'item_group',
    head_share double precision DEFAULT 0.2)
RETURNS TABLE (measure pg_catalog.text, item_group pg_catalog.text, value double precision)
AS 'MODULE_PATHNAME', 'recpromo_exposure'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 8;
COMMENT ON FUNCTION @extschema@.exposure(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    integer, boolean, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, double precision) IS
'exposure of the top-k lists evaluate() scores: Gini coefficient of item exposure, long-tail share, APLT and ARP '
'(head: the head_share most popular training items), and with an item-group table each group''s share of the '
'recommended slots against its share of the relevant test items';

CREATE FUNCTION @extschema@.evaluate_by_group(
    model pg_catalog.text,
    test_source pg_catalog.regclass,
    user_groups pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    group_user_col pg_catalog.name DEFAULT 'user_id',
    group_col pg_catalog.name DEFAULT 'user_group',
    rating_col pg_catalog.name DEFAULT NULL,
    k integer DEFAULT 10,
    relevance_threshold double precision DEFAULT NULL,
    exclude_seen boolean DEFAULT true)
RETURNS TABLE (
    user_group pg_catalog.text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k double precision,
    recall_at_k double precision,
    f1_at_k double precision,
    ndcg_at_k double precision,
    map_at_k double precision,
    hit_rate_at_k double precision,
    mrr_at_k double precision)
AS 'MODULE_PATHNAME', 'recpromo_evaluate_by_group'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10;
COMMENT ON FUNCTION @extschema@.evaluate_by_group(pg_catalog.text, pg_catalog.regclass, pg_catalog.regclass,
    pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, integer,
    double precision, boolean) IS
'evaluate()''s accuracy metrics per user group (new vs returning customers, region...): one row per group in key '
'order, then one with user_group NULL for test users in no group';

CREATE FUNCTION @extschema@.exposure_rankings(
    recommendations pg_catalog.regclass,
    test pg_catalog.regclass,
    train pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    rank_col pg_catalog.name DEFAULT 'rank',
    k integer DEFAULT 10,
    item_groups pg_catalog.regclass DEFAULT NULL,
    group_item_col pg_catalog.name DEFAULT 'item_id',
    group_col pg_catalog.name DEFAULT 'item_group',
    head_share double precision DEFAULT 0.2)
RETURNS TABLE (measure pg_catalog.text, item_group pg_catalog.text, value double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED ROWS 8
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cut integer := k;
    cols pg_catalog.name[];
    whats pg_catalog.text[];
    rels pg_catalog.regclass[];
    found_ pg_catalog.bool[];
    grp_sql pg_catalog.text;
BEGIN
    IF recommendations IS NULL OR test IS NULL OR train IS NULL THEN
        RAISE EXCEPTION 'recommendations, test and train must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the table of ranked lists, the held-out interactions and the training interactions.';
    END IF;
    IF cut IS NULL OR cut < 1 THEN
        RAISE EXCEPTION 'k must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'k is the length of the ranked lists to score, such as 10.';
    END IF;
    IF head_share IS NULL OR NOT (head_share >= 0 AND head_share <= 1) THEN
        RAISE EXCEPTION 'head_share must be between 0 and 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The head is this share of the catalogue, most popular first, such as 0.2.';
    END IF;
    -- column checks inline (issue 18: no SQL-callable helper)
    SELECT pg_catalog.array_agg(c.col ORDER BY c.o), pg_catalog.array_agg(c.what ORDER BY c.o),
           pg_catalog.array_agg(c.rel ORDER BY c.o), pg_catalog.array_agg(a.attnum IS NOT NULL ORDER BY c.o)
      INTO cols, whats, rels, found_
      FROM ROWS FROM (pg_catalog.unnest(ARRAY[recommendations, recommendations, recommendations, test, test, train, train,
                                              item_groups, item_groups]),
                      pg_catalog.unnest(ARRAY[user_col, item_col, rank_col, user_col, item_col, user_col, item_col,
                                              group_item_col, group_col]),
                      pg_catalog.unnest(ARRAY['user_col', 'item_col', 'rank_col', 'user_col', 'item_col', 'user_col',
                                              'item_col', 'group_item_col', 'group_col']))
           WITH ORDINALITY c(rel, col, what, o)
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid OPERATOR(pg_catalog.=) c.rel AND a.attname OPERATOR(pg_catalog.=) c.col
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    FOR j IN 1..9 LOOP
        CONTINUE WHEN j >= 8 AND item_groups IS NULL;
        IF cols[j] IS NULL THEN
            RAISE EXCEPTION '% must not be NULL', whats[j]
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = pg_catalog.format('Name a column of %s.', rels[j]);
        END IF;
        IF NOT found_[j] THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', cols[j], rels[j]
                USING ERRCODE = 'undefined_column',
                      HINT = pg_catalog.format('Check the %s argument.', whats[j]);
        END IF;
    END LOOP;

    -- Lists as evaluate_rankings() scores them: users with a test item,
    -- slot weight w = the share of a tie group within the top k.  Keys are
    -- compared as text, so any key types meet.
    grp_sql := CASE WHEN item_groups IS NULL
        THEN 'SELECT NULL::pg_catalog.text AS g, NULL::pg_catalog.text AS i WHERE false'
        ELSE pg_catalog.format('SELECT DISTINCT x.%2$I::pg_catalog.text AS g, x.%1$I::pg_catalog.text AS i FROM %3$s x
                                 WHERE x.%1$I IS NOT NULL AND x.%2$I IS NOT NULL', group_item_col, group_col, item_groups) END;
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH tu AS (
            SELECT DISTINCT t.%1$I::pg_catalog.text AS u FROM %5$s t WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL),
        rel AS (
            SELECT DISTINCT t.%1$I::pg_catalog.text AS u, t.%2$I::pg_catalog.text AS i
              FROM %5$s t WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL),
        pop AS (
            SELECT x.%2$I::pg_catalog.text AS i, pg_catalog.count(DISTINCT x.%1$I)::pg_catalog.float8 AS p
              FROM %6$s x WHERE x.%1$I IS NOT NULL AND x.%2$I IS NOT NULL GROUP BY 1),
        rw AS (
            SELECT s.u, s.i, greatest(0, least(s.m, $1 - s.start + 1))::pg_catalog.float8 / s.m AS w
              FROM (SELECT r.%1$I::pg_catalog.text AS u, r.%2$I::pg_catalog.text AS i,
                           pg_catalog.rank() OVER (PARTITION BY r.%1$I ORDER BY r.%3$I::pg_catalog.float8) AS start,
                           pg_catalog.count(*) OVER (PARTITION BY r.%1$I, r.%3$I::pg_catalog.float8) AS m
                      FROM %4$s r
                     WHERE r.%2$I IS NOT NULL AND r.%3$I IS NOT NULL
                       AND r.%1$I::pg_catalog.text IN (SELECT tu.u FROM tu)) s
             WHERE s.start <= $1),
        -- catalogue: the training items plus any recommended item (popularity 0)
        cat AS (
            SELECT pop.i, pop.p FROM pop
            UNION ALL
            SELECT DISTINCT rw.i, 0 FROM rw WHERE rw.i NOT IN (SELECT pop.i FROM pop)),
        -- head: the ceil(head_share n) most popular, ties by key text
        ranked AS (
            SELECT cat.i, cat.p, pg_catalog.row_number() OVER (ORDER BY cat.p DESC, cat.i) AS o,
                   pg_catalog.count(*) OVER () AS n
              FROM cat),
        item AS (
            SELECT ranked.i, ranked.p, ranked.o > ceil($2 * ranked.n - 1e-9) AS tail,
                   coalesce((SELECT pg_catalog.sum(rw.w) FROM rw WHERE rw.i = ranked.i), 0) AS x, ranked.n
              FROM ranked),
        lists AS (
            SELECT rw.u, pg_catalog.sum(rw.w) AS len,
                   pg_catalog.sum(rw.w) FILTER (WHERE item.tail) AS tail,
                   pg_catalog.sum(rw.w * item.p) AS pop
              FROM rw JOIN item ON item.i = rw.i GROUP BY rw.u HAVING pg_catalog.sum(rw.w) > 0),
        grp AS (%7$s),
        tot AS (SELECT pg_catalog.sum(rw.w) AS slots FROM rw),
        res AS (
        -- Gini: sum_i (2 i - n - 1) x_(i) / (n sum x), x ascending
        SELECT 1 AS o1, NULL::pg_catalog.text AS g, 'gini'::pg_catalog.text AS m,
               (SELECT CASE WHEN (SELECT pg_catalog.count(*) FROM lists) > 0
                            THEN coalesce((SELECT pg_catalog.sum((2 * s.o - s.n - 1) * s.x)
                                             FROM (SELECT item.x, item.n, pg_catalog.row_number() OVER (ORDER BY item.x, item.i) AS o
                                                     FROM item) s)
                                          / nullif((SELECT pg_catalog.max(item.n) * pg_catalog.sum(item.x) FROM item), 0), 0) END)::pg_catalog.float8 AS v
        UNION ALL
        SELECT 2, NULL, 'long_tail_share', (SELECT pg_catalog.sum(coalesce(l.tail, 0)) / nullif(pg_catalog.sum(l.len), 0) FROM lists l)
        UNION ALL
        SELECT 3, NULL, 'aplt', (SELECT pg_catalog.avg(coalesce(l.tail, 0) / l.len) FROM lists l)
        UNION ALL
        SELECT 4, NULL, 'arp', (SELECT pg_catalog.avg(l.pop / l.len) FROM lists l)
        UNION ALL
        SELECT 5, g.g, 'exposure_share',
                   (SELECT pg_catalog.sum(rw.w) FROM rw WHERE rw.i IN (SELECT gi.i FROM grp gi WHERE gi.g = g.g)
                       AND rw.u IN (SELECT l.u FROM lists l))
                   / nullif((SELECT tot.slots FROM tot), 0)
              FROM (SELECT DISTINCT grp.g FROM grp) g
        UNION ALL
        SELECT 6, g.g, 'relevant_share',
                   (SELECT pg_catalog.count(*) FROM rel WHERE rel.i IN (SELECT gi.i FROM grp gi WHERE gi.g = g.g)
                       AND rel.i IN (SELECT item.i FROM item) AND rel.u IN (SELECT l.u FROM lists l))::pg_catalog.float8
                   / nullif((SELECT pg_catalog.count(*) FROM rel WHERE rel.i IN (SELECT item.i FROM item)
                               AND rel.u IN (SELECT l.u FROM lists l)), 0)
              FROM (SELECT DISTINCT grp.g FROM grp) g)
        SELECT res.m, res.g, res.v FROM res
         ORDER BY res.g COLLATE "C" NULLS FIRST, res.o1
        $q$, user_col, item_col, rank_col, recommendations, test, train, grp_sql)
        USING cut, head_share;
END
$$;
COMMENT ON FUNCTION @extschema@.exposure_rankings(pg_catalog.regclass, pg_catalog.regclass, pg_catalog.regclass,
    pg_catalog.name, pg_catalog.name, pg_catalog.name, integer, pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, double precision) IS
'exposure of any table of ranked lists (the test users'' lists, top k, ties shared): Gini coefficient, long-tail share, '
'APLT and ARP against the training popularity, and with an item-group table each group''s share of the slots '
'against its share of the relevant test items';

CREATE FUNCTION @extschema@.evaluate_rankings_by_group(
    recommendations pg_catalog.regclass,
    test pg_catalog.regclass,
    user_groups pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    rank_col pg_catalog.name DEFAULT 'rank',
    group_user_col pg_catalog.name DEFAULT 'user_id',
    group_col pg_catalog.name DEFAULT 'user_group',
    k integer DEFAULT 10)
RETURNS TABLE (
    user_group pg_catalog.text,
    users_evaluated bigint,
    users_skipped_no_test bigint,
    users_skipped_unknown bigint,
    precision_at_k double precision,
    recall_at_k double precision,
    f1_at_k double precision,
    ndcg_at_k double precision,
    map_at_k double precision,
    hit_rate_at_k double precision,
    mrr_at_k double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED ROWS 10
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    cut integer := k;
    cols pg_catalog.name[];
    whats pg_catalog.text[];
    rels pg_catalog.regclass[];
    found_ pg_catalog.bool[];
BEGIN
    IF recommendations IS NULL OR test IS NULL OR user_groups IS NULL THEN
        RAISE EXCEPTION 'recommendations, test and user_groups must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the table of ranked lists, the held-out interactions and the (user, group) table.';
    END IF;
    IF cut IS NULL OR cut < 1 THEN
        RAISE EXCEPTION 'k must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'k is the length of the ranked lists to score, such as 10.';
    END IF;
    -- column checks inline (issue 18: no SQL-callable helper)
    SELECT pg_catalog.array_agg(c.col ORDER BY c.o), pg_catalog.array_agg(c.what ORDER BY c.o),
           pg_catalog.array_agg(c.rel ORDER BY c.o), pg_catalog.array_agg(a.attnum IS NOT NULL ORDER BY c.o)
      INTO cols, whats, rels, found_
      FROM ROWS FROM (pg_catalog.unnest(ARRAY[recommendations, recommendations, recommendations, test, test,
                                              user_groups, user_groups]),
                      pg_catalog.unnest(ARRAY[user_col, item_col, rank_col, user_col, item_col, group_user_col, group_col]),
                      pg_catalog.unnest(ARRAY['user_col', 'item_col', 'rank_col', 'user_col', 'item_col',
                                              'group_user_col', 'group_col']))
           WITH ORDINALITY c(rel, col, what, o)
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid OPERATOR(pg_catalog.=) c.rel AND a.attname OPERATOR(pg_catalog.=) c.col
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    FOR j IN 1..7 LOOP
        IF cols[j] IS NULL THEN
            RAISE EXCEPTION '% must not be NULL', whats[j]
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = pg_catalog.format('Name a column of %s.', rels[j]);
        END IF;
        IF NOT found_[j] THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', cols[j], rels[j]
                USING ERRCODE = 'undefined_column',
                      HINT = pg_catalog.format('Check the %s argument.', whats[j]);
        END IF;
    END LOOP;

    -- evaluate_rankings()'s per-user metrics (every test item relevant),
    -- averaged per group; keys compared as text.
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH t AS (
            SELECT DISTINCT t.%1$I::pg_catalog.text AS u, t.%2$I::pg_catalog.text AS i
              FROM %5$s t WHERE t.%1$I IS NOT NULL AND t.%2$I IS NOT NULL),
        tu AS (SELECT t.u, pg_catalog.count(*) AS n_rel FROM t GROUP BY t.u),
        rw AS (
            SELECT s.u, s.i, s.rk
              FROM (SELECT r.%1$I::pg_catalog.text AS u, r.%2$I::pg_catalog.text AS i, r.%3$I::pg_catalog.float8 AS rk,
                           pg_catalog.rank() OVER (PARTITION BY r.%1$I ORDER BY r.%3$I::pg_catalog.float8) AS start
                      FROM %4$s r
                     WHERE r.%2$I IS NOT NULL AND r.%3$I IS NOT NULL
                       AND r.%1$I::pg_catalog.text IN (SELECT tu.u FROM tu)) s
             WHERE s.start <= $1),
        pu AS (
            SELECT rw.u, pg_catalog.min(tu.n_rel)::integer AS n_rel,
                   pg_catalog.array_agg(rw.rk) AS ranks, pg_catalog.array_agg(t.u IS NOT NULL) AS rels
              FROM rw JOIN tu ON tu.u = rw.u
                      LEFT JOIN t ON t.u = rw.u AND t.i = rw.i
             GROUP BY rw.u),
        m AS (
            SELECT pu.u, x.* FROM pu, LATERAL @extschema@.ranking_metrics(pu.ranks, pu.rels, pu.n_rel, $1) x),
        ug AS (
            SELECT DISTINCT g.%6$I::pg_catalog.text AS u, g.%7$I::pg_catalog.text AS g
              FROM %8$s g WHERE g.%6$I IS NOT NULL AND g.%7$I IS NOT NULL),
        -- every group (those without test users too), then the test users in none
        memb AS (
            SELECT ug.g, tu.u FROM ug LEFT JOIN tu ON tu.u = ug.u
            UNION ALL
            SELECT NULL, tu.u FROM tu WHERE tu.u NOT IN (SELECT ug.u FROM ug))
        SELECT memb.g, pg_catalog.count(m.u), 0::bigint, pg_catalog.count(memb.u) - pg_catalog.count(m.u),
               pg_catalog.avg(m."precision"), pg_catalog.avg(m.recall), pg_catalog.avg(m.f1),
               pg_catalog.avg(m.ndcg), pg_catalog.avg(m.average_precision), pg_catalog.avg(m.hit),
               pg_catalog.avg(m.reciprocal_rank)
          FROM memb LEFT JOIN m ON m.u = memb.u
         GROUP BY memb.g
         ORDER BY memb.g COLLATE "C" NULLS LAST$q$,
        user_col, item_col, rank_col, recommendations, test, group_user_col, group_col, user_groups)
        USING cut;
END
$$;
COMMENT ON FUNCTION @extschema@.evaluate_rankings_by_group(pg_catalog.regclass, pg_catalog.regclass,
    pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name,
    integer) IS
'evaluate_rankings()'' accuracy metrics per user group: one row per group in text order, then one with '
'user_group NULL for test users in no group; every test item of a user is relevant';
