-- ---------------------------------------------------------------------------
-- Charts and the report: self-contained SVG (text) of the numbers of the
-- public functions, and one HTML page combining them (doc/charts.md).
-- The chart functions call the public function they plot through SPI as
-- their caller (src/pg/charts.c) and draw with the core SVG writer
-- (src/core/rp_svg.c); they take that function's arguments, passed on as
-- given, so they raise its errors.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.chart_metrics_at_k(
    models pg_catalog.text[],
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    metric pg_catalog.text DEFAULT 'ndcg',
    max_k integer DEFAULT 10,
    exclude_seen boolean DEFAULT true)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_metrics_at_k'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_metrics_at_k(pg_catalog.text[], pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, pg_catalog.text, integer, boolean) IS
'SVG line chart: a ranking metric (precision, recall, f1, ndcg, map, hit_rate, mrr) of evaluate() at k = 1..max_k, one line per model';

CREATE FUNCTION @extschema@.chart_model_comparison(
    models pg_catalog.text[],
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    k integer DEFAULT 10,
    exclude_seen boolean DEFAULT true)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_model_comparison'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_model_comparison(pg_catalog.text[], pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, integer, boolean) IS
'SVG grouped bar chart: precision, recall, NDCG, MAP, hit rate, MRR at k and coverage of evaluate() for several models on one held-out split';

CREATE FUNCTION @extschema@.chart_uplift_curve(
    source pg_catalog.regclass,
    score_col pg_catalog.name,
    treatment_col pg_catalog.name,
    outcome_col pg_catalog.name,
    treatment pg_catalog.text DEFAULT NULL,
    control pg_catalog.text DEFAULT 'control',
    curve pg_catalog.text DEFAULT 'qini',
    points integer DEFAULT 20,
    n_boot integer DEFAULT 200,
    seed bigint DEFAULT 42,
    confidence pg_catalog.float8 DEFAULT 0.9)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_uplift_curve'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_uplift_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.text, integer, integer, bigint, pg_catalog.float8) IS
'SVG chart of the Qini (curve => ''qini'') or cumulative uplift (''uplift'') curve of uplift_curve(), its random-targeting line and a seeded pointwise bootstrap band';

CREATE FUNCTION @extschema@.chart_uplift_by_decile(
    source pg_catalog.regclass,
    score_col pg_catalog.name,
    treatment_col pg_catalog.name,
    outcome_col pg_catalog.name,
    treatment pg_catalog.text DEFAULT NULL,
    control pg_catalog.text DEFAULT 'control',
    bins integer DEFAULT 10)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_uplift_by_decile'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_uplift_by_decile(pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.text, pg_catalog.text, integer) IS
'SVG bar chart of uplift_by_decile(): observed uplift per equal-count score bin, bin 1 = highest scores';

CREATE FUNCTION @extschema@.chart_profit_curve(
    candidates pg_catalog.regclass,
    customer_col pg_catalog.name,
    offer_col pg_catalog.name,
    value_col pg_catalog.name,
    cost_col pg_catalog.name,
    budgets pg_catalog.float8[],
    offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_profit_curve'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_profit_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.name, pg_catalog.float8[], pg_catalog.jsonb) IS
'SVG line chart of assign_offers_curve(): profit, its upper bound and the spend at each budget';

CREATE FUNCTION @extschema@.chart_rfm_segments(
    orders pg_catalog.regclass,
    customer_col pg_catalog.name,
    date_col pg_catalog.name,
    amount_col pg_catalog.name,
    as_of pg_catalog.timestamptz DEFAULT pg_catalog.now(),
    order_col pg_catalog.name DEFAULT NULL,
    returns_mode pg_catalog.text DEFAULT 'net')
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_rfm_segments'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_rfm_segments(pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.timestamptz, pg_catalog.name, pg_catalog.text) IS
'SVG bar chart of rfm() segments: each segment''s share of customers and share of value (summed monetary), in percent';

CREATE FUNCTION @extschema@.chart_kmeans_profiles(
    source pg_catalog.regclass,
    key_col pg_catalog.name,
    columns pg_catalog.name[],
    k integer,
    seed bigint DEFAULT 42,
    standardize boolean DEFAULT true,
    max_iter integer DEFAULT 100)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_kmeans_profiles'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_kmeans_profiles(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[],
    integer, bigint, boolean, integer) IS
'SVG bar chart of kmeans_clusters(): each cluster''s centre per column as an index, 100 = the mean of the column';

CREATE FUNCTION @extschema@.chart_bandit_arms(bandit pg_catalog.text)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_bandit_arms'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_bandit_arms(pg_catalog.text) IS
'SVG chart of bandit_stats(): each arm''s share of the decisions and its mean reward with the 95% interval';

CREATE FUNCTION @extschema@.chart_bandit_history(bandit pg_catalog.text, buckets integer DEFAULT 20)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_bandit_history'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_bandit_history(pg_catalog.text, integer) IS
'SVG chart of bandit_history() in two panels: each arm''s share of the decisions per time bucket, and its posterior mean reward with the 95% interval over time';

CREATE FUNCTION @extschema@.chart_exposure(
    models pg_catalog.text[],
    test_source pg_catalog.regclass,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    k integer DEFAULT 10,
    exclude_seen boolean DEFAULT true,
    item_groups pg_catalog.regclass DEFAULT NULL,
    group_item_col pg_catalog.name DEFAULT 'item_id',
    group_col pg_catalog.name DEFAULT 'item_group',
    head_share double precision DEFAULT 0.2)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_exposure'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_exposure(pg_catalog.text[], pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    integer, boolean, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, double precision) IS
'SVG bar chart of exposure() for several models: per item group, each model''s share of the recommended slots against the group''s share of the relevant test items, with each model''s Gini, long-tail share, APLT and ARP stated';

CREATE FUNCTION @extschema@.chart_bars(
    labels pg_catalog.text[],
    bar_values pg_catalog.float8[],
    title pg_catalog.text DEFAULT NULL,
    y_label pg_catalog.text DEFAULT 'value',
    y_unit pg_catalog.text DEFAULT NULL,
    x_label pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'recpromo_chart_bars'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.chart_bars(pg_catalog.text[], pg_catalog.float8[], pg_catalog.text,
    pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'SVG bar chart of any labelled values, such as the share of exposure per item group';

-- The report: one HTML page, inline CSS and SVG, no script, nothing fetched.
CREATE FUNCTION @extschema@.report(
    models pg_catalog.text[] DEFAULT NULL,
    test_source pg_catalog.regclass DEFAULT NULL,
    user_col pg_catalog.name DEFAULT 'user_id',
    item_col pg_catalog.name DEFAULT 'item_id',
    k integer DEFAULT 10,
    uplift_source pg_catalog.regclass DEFAULT NULL,
    score_col pg_catalog.name DEFAULT 'score',
    treatment_col pg_catalog.name DEFAULT 'treatment',
    outcome_col pg_catalog.name DEFAULT 'outcome',
    treatment pg_catalog.text DEFAULT NULL,
    candidates pg_catalog.regclass DEFAULT NULL,
    offer_col pg_catalog.name DEFAULT 'offer',
    value_col pg_catalog.name DEFAULT 'value',
    cost_col pg_catalog.name DEFAULT 'cost',
    budgets pg_catalog.float8[] DEFAULT NULL,
    orders pg_catalog.regclass DEFAULT NULL,
    customer_col pg_catalog.name DEFAULT 'customer_id',
    date_col pg_catalog.name DEFAULT 'ordered_at',
    amount_col pg_catalog.name DEFAULT 'amount',
    as_of pg_catalog.timestamptz DEFAULT pg_catalog.now(),
    segment_source pg_catalog.regclass DEFAULT NULL,
    segment_key pg_catalog.name DEFAULT 'customer',
    segment_columns pg_catalog.name[] DEFAULT NULL,
    clusters integer DEFAULT 4,
    bandit pg_catalog.text DEFAULT NULL,
    title pg_catalog.text DEFAULT 'recpromo report',
    item_groups pg_catalog.regclass DEFAULT NULL,
    group_item_col pg_catalog.name DEFAULT NULL,
    group_col pg_catalog.name DEFAULT 'item_group',
    bandit_buckets integer DEFAULT 20)
RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    body pg_catalog.text := '';
    sections integer := 0;
    sect constant pg_catalog.text := E'<section class="chart" id="%s">\n<h2>%s</h2>\n<p class="how">%s</p>\n%s</section>\n';
    t pg_catalog.text := pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
                             COALESCE(title, 'recpromo report'), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;');
BEGIN
    IF models IS NOT NULL AND test_source IS NULL THEN
        RAISE EXCEPTION 'test_source must not be null when models are given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass the held-out rows the models are scored on, such as test_source => ''shop_test''.';
    END IF;
    IF candidates IS NOT NULL AND budgets IS NULL THEN
        RAISE EXCEPTION 'budgets must not be null when candidates are given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass the budgets to plot, such as budgets => ARRAY[100, 200, 400].';
    END IF;
    IF item_groups IS NOT NULL AND models IS NULL THEN
        RAISE EXCEPTION 'models must not be null when item_groups are given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Exposure is measured on the models'' top-k lists: pass models and test_source too.';
    END IF;
    IF segment_source IS NOT NULL AND segment_columns IS NULL THEN
        RAISE EXCEPTION 'segment_columns must not be null when segment_source is given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the numeric columns to cluster on, such as ARRAY[''recency_days'', ''frequency''].';
    END IF;

    IF models IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'models',
            'Which recommender finds the held-out purchases',
            'Each model''s top-k lists are scored against purchases it did not see in training (evaluate()). '
            'Precision: the share of recommended items that were bought. Recall: the share of bought items that '
            'were recommended. NDCG also rewards putting them near the top. Coverage: the share of the catalogue '
            'recommended to someone. Compare models only on the same split; the taller bar wins.',
            @extschema@.chart_model_comparison(models, test_source, user_col, item_col, k));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'precision-at-k',
            'Precision as the list gets longer',
            'Precision at k for k = 1 to ' OPERATOR(pg_catalog.||) k::pg_catalog.text OPERATOR(pg_catalog.||)
            '. Longer lists usually lower precision (more slots to fill) and raise recall. A line that stays above the others '
            'is the better model at every list length; where lines cross, the choice depends on how many items you show.',
            @extschema@.chart_metrics_at_k(models, test_source, user_col, item_col, 'precision', k));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'recall-at-k',
            'Recall as the list gets longer',
            'Recall at k: the share of each customer''s held-out purchases found in the first k recommendations. '
            'It can only grow with k; a steep start means the model puts what customers buy at the top.',
            @extschema@.chart_metrics_at_k(models, test_source, user_col, item_col, 'recall', k));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'ndcg-at-k',
            'Ranking quality (NDCG) as the list gets longer',
            'NDCG at k weighs each hit by its position (a hit at rank 1 counts most) and scales the result so that '
            'a perfect list scores 1.',
            @extschema@.chart_metrics_at_k(models, test_source, user_col, item_col, 'ndcg', k));
        sections := sections OPERATOR(pg_catalog.+) 4;
        IF item_groups IS NOT NULL THEN
            body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'exposure',
                'Which kinds of products the models show',
                'For each item group: the share of the recommended slots (top ' OPERATOR(pg_catalog.||) k::pg_catalog.text
                OPERATOR(pg_catalog.||) ' lists) each model gives it, against the group''s share of what the customers '
                'actually bought next (exposure()). A slot bar far above the other bar means the model shows the group '
                'more than customers buy it. Under the title: Gini (0 = every product shown equally often, near 1 = '
                'a few products take every slot), the long-tail share of the slots, APLT (the average share of '
                'long-tail products per list) and ARP (the average popularity of the products shown).',
                @extschema@.chart_exposure(models, test_source, user_col, item_col, k, true, item_groups,
                    COALESCE(group_item_col, item_col), group_col));
            sections := sections OPERATOR(pg_catalog.+) 1;
        END IF;
    END IF;
    IF uplift_source IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'qini',
            'Whom to target: the Qini curve',
            'Customers are sorted by the uplift score, highest first. The curve shows the extra outcome (versus the '
            'control group) gained by treating the top share of them; the dashed line is what random targeting '
            'would gain. The shaded band is a bootstrap interval: where it stays above the dashed line, the score '
            'beats random targeting. Target up to where the curve stops rising.',
            @extschema@.chart_uplift_curve(uplift_source, score_col, treatment_col, outcome_col, treatment));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'uplift-curve',
            'Cumulative uplift',
            'The same ranking read as the average extra outcome per customer in the targeted group, scaled to the '
            'whole population; both curves end at the average treatment effect.',
            @extschema@.chart_uplift_curve(uplift_source, score_col, treatment_col, outcome_col, treatment, curve => 'uplift'));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'uplift-deciles',
            'Uplift by score decile',
            'Observed uplift (treated mean minus control mean) in each tenth of the customers, bin 1 holding the '
            'highest scores. A useful score has tall bars on the left and short or negative bars on the right: '
            'those customers would buy anyway, or are put off by the offer.',
            @extschema@.chart_uplift_by_decile(uplift_source, score_col, treatment_col, outcome_col, treatment));
        sections := sections OPERATOR(pg_catalog.+) 3;
    END IF;
    IF candidates IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'profit',
            'How much budget to spend',
            'Profit of the best offer assignment (assign_offers()) at each budget, with an upper bound no assignment '
            'can beat and the money actually spent. Where the profit line flattens, extra budget buys little; '
            'a small gap to the bound means the assignment is close to optimal.',
            @extschema@.chart_profit_curve(candidates, customer_col, offer_col, value_col, cost_col, budgets));
        sections := sections OPERATOR(pg_catalog.+) 1;
    END IF;
    IF orders IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'rfm',
            'Customer segments (RFM)',
            'Customers grouped by recency, frequency and monetary value (rfm()). For each segment: its share of '
            'customers and its share of the value they spent. Segments whose value bar is taller than their customer '
            'bar are worth more than their size; large segments with little value are candidates for reactivation.',
            @extschema@.chart_rfm_segments(orders, customer_col, date_col, amount_col, as_of));
        sections := sections OPERATOR(pg_catalog.+) 1;
    END IF;
    IF segment_source IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'clusters',
            'Cluster profiles (k-means)',
            'Each cluster''s centre (kmeans_clusters()) per column, as an index where 100 is the average row: '
            'a bar at 200 means twice the average. Read each cluster''s bars together to name it '
            '(for example: recent, frequent, high spend).',
            @extschema@.chart_kmeans_profiles(segment_source, segment_key, segment_columns, clusters));
        sections := sections OPERATOR(pg_catalog.+) 1;
    END IF;
    IF bandit IS NOT NULL THEN
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'bandit',
            'Bandit: where the traffic goes',
            'For each arm of the bandit (bandit_stats()): its share of the decisions so far, and its mean reward with '
            'a 95% interval. A learning bandit sends most traffic to the arm whose interval lies highest; '
            'overlapping intervals mean it is still exploring.',
            @extschema@.chart_bandit_arms(bandit));
        body := body OPERATOR(pg_catalog.||) pg_catalog.format(sect, 'bandit-history',
            'Bandit: how it learned',
            'The bandit''s decisions cut into equal spans of time (bandit_history()). Top: each arm''s share of the '
            'decisions in each span; a bandit that has learned gives most of the traffic to one arm. Bottom: each '
            'arm''s estimated reward at the end of each span with its 95% interval (Beta posterior for yes/no '
            'rewards, a normal interval for amounts). Intervals narrow as rewards arrive; once the best arm''s '
            'interval lies above the others, the bandit has found it.',
            @extschema@.chart_bandit_history(bandit, bandit_buckets));
        sections := sections OPERATOR(pg_catalog.+) 2;
    END IF;
    IF sections OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION 'report has nothing to show'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass models and test_source (with item_groups for exposure), uplift_source, candidates and budgets, orders, segment_source or bandit.';
    END IF;
    RETURN '<!DOCTYPE html>' OPERATOR(pg_catalog.||) E'\n'
        '<html lang="en"><head><meta charset="utf-8">' OPERATOR(pg_catalog.||) E'\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">' OPERATOR(pg_catalog.||) E'\n'
        '<title>' OPERATOR(pg_catalog.||) t OPERATOR(pg_catalog.||) '</title>' OPERATOR(pg_catalog.||) E'\n'
        '<style>' OPERATOR(pg_catalog.||) E'\n'
        'body { margin: 0; background: #f4f4f4; color: #1a1a1a; font: 16px/1.5 "DejaVu Sans", "Noto Sans CJK SC", Arial, Helvetica, sans-serif; }' OPERATOR(pg_catalog.||) E'\n'
        'main { max-width: 1040px; margin: 0 auto; padding: 24px 20px 48px; }' OPERATOR(pg_catalog.||) E'\n'
        'h1 { font-size: 28px; margin: 8px 0 4px; } h2 { font-size: 21px; margin: 0 0 6px; }' OPERATOR(pg_catalog.||) E'\n'
        'section.chart { background: #ffffff; border: 1px solid #d8d8d8; border-radius: 6px; padding: 16px 18px; margin: 20px 0; }' OPERATOR(pg_catalog.||) E'\n'
        'p.how { margin: 0 0 12px; max-width: 70em; } svg.rp-chart { display: block; width: 100%; height: auto; }' OPERATOR(pg_catalog.||) E'\n'
        'nav a { margin-right: 14px; color: #0060a0; }' OPERATOR(pg_catalog.||) E'\n'
        '</style></head><body><main>' OPERATOR(pg_catalog.||) E'\n'
        '<h1>' OPERATOR(pg_catalog.||) t OPERATOR(pg_catalog.||) '</h1>' OPERATOR(pg_catalog.||) E'\n'
        '<p class="meta">' OPERATOR(pg_catalog.||) sections::pg_catalog.text OPERATOR(pg_catalog.||)
        ' charts drawn by recpromo from its SQL functions; hover a point or bar to see its value.</p>' OPERATOR(pg_catalog.||) E'\n'
        OPERATOR(pg_catalog.||) body OPERATOR(pg_catalog.||) '</main></body></html>' OPERATOR(pg_catalog.||) E'\n';
END
$$;
COMMENT ON FUNCTION @extschema@.report(pg_catalog.text[], pg_catalog.regclass, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.regclass,
    pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.float8[],
    pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.timestamptz, pg_catalog.regclass,
    pg_catalog.name, pg_catalog.name[], integer, pg_catalog.text, pg_catalog.text, pg_catalog.regclass, pg_catalog.name,
    pg_catalog.name, integer) IS
'one self-contained HTML page (inline CSS and SVG, no script, nothing fetched) with the charts of the given models (and their exposure by item group), uplift campaign, offer candidates, orders, segmentation and bandit (its arms and its history), each with a short text on how to read it';
