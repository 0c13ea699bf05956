SET search_path = recpromo, public;
-- Chart functions: their own argument errors (the arguments they pass on are
-- checked by the function they plot: see test/ref/test_charts.py), and the
-- shape of a chart.  Numbers are checked against the functions in
-- test/ref/test_charts.py.
CREATE TABLE ch_orders AS
  SELECT c AS customer_id, p AS product_id, 1 + (c + p) % 3 AS quantity
  FROM generate_series(1, 60) c, generate_series(1, 20) p
  WHERE abs(hashint4(c * 100 + p)) % 100 < CASE WHEN p % 4 = c % 4 THEN 60 ELSE 5 END;
CREATE TABLE ch_train AS SELECT * FROM ch_orders WHERE NOT in_test_set(customer_id, product_id, 0.25);
CREATE TABLE ch_test AS SELECT * FROM ch_orders WHERE in_test_set(customer_id, product_id, 0.25);
SET client_min_messages = warning;
SELECT name FROM train('ch_pop', 'ch_train', 'customer_id', 'product_id', method => 'popularity');
RESET client_min_messages;
CREATE TABLE ch_campaign AS
  SELECT c AS id, (c % 10) / 10.0 AS score, CASE WHEN c % 2 = 0 THEN 'coupon' ELSE 'control' END AS arm,
         (abs(hashint4(c)) % 10 < 3)::int AS bought
  FROM generate_series(1, 200) c;

-- a chart is one <svg> element with a title, axes and one mark per point
SELECT left(chart, 40) AS starts, right(chart, 7) = E'</svg>\n' AS ends,
       regexp_count(chart, '<g class="mark"') AS marks, regexp_count(chart, '<title>') AS titles,
       position('data-chart="metrics_at_k"' IN chart) > 0 AS kind
  FROM chart_metrics_at_k(ARRAY['ch_pop'], 'ch_test', 'customer_id', 'product_id', 'precision', 4) AS chart;
SELECT regexp_count(chart_uplift_by_decile('ch_campaign', 'score', 'arm', 'bought', bins => 4),
                    '<g class="mark"') AS decile_bars;
SELECT regexp_count(chart_bars(ARRAY['a & b', '<c>'], ARRAY[1, NULL]), '<g class="mark"') AS bars,
       position('a &amp; b' IN chart_bars(ARRAY['a & b', '<c>'], ARRAY[1, NULL])) > 0 AS escaped;

-- argument errors (without the CONTEXT lines, which name implementation details)
\set SHOW_CONTEXT never
SELECT chart_metrics_at_k(ARRAY['ch_pop'], 'ch_test', 'customer_id', 'product_id', 'auc');
SELECT chart_metrics_at_k(ARRAY['ch_pop'], 'ch_test', 'customer_id', 'product_id', max_k => 0);
SELECT chart_metrics_at_k(ARRAY['ch_pop'], 'ch_test', 'customer_id', 'product_id', max_k => 51);
SELECT chart_metrics_at_k(ARRAY['ch_pop'], 'ch_test', 'customer_id', 'product_id', metric => NULL);
SELECT chart_metrics_at_k(NULL, 'ch_test');
SELECT chart_metrics_at_k('{}', 'ch_test');
SELECT chart_metrics_at_k(ARRAY['ch_pop', NULL], 'ch_test');
SELECT chart_metrics_at_k(ARRAY[['ch_pop'], ['ch_pop']], 'ch_test');
SELECT chart_model_comparison(ARRAY['ch_pop'], 'ch_test', 'customer_id', 'product_id', k => NULL);
SELECT chart_uplift_curve('ch_campaign', 'score', 'arm', 'bought', curve => 'lift');
SELECT chart_uplift_curve('ch_campaign', 'score', 'arm', 'bought', points => 0);
SELECT chart_uplift_curve('ch_campaign', 'score', 'arm', 'bought', n_boot => -1);
SELECT chart_uplift_curve('ch_campaign', 'score', 'arm', 'bought', confidence => 1);
SELECT chart_uplift_curve('ch_campaign', 'score', 'arm', 'bought', seed => NULL);
SELECT chart_bars(ARRAY['a'], ARRAY[1, 2]);
SELECT chart_bars(NULL, ARRAY[1]);
SELECT report();
SELECT report(models => ARRAY['ch_pop']);
SELECT report(candidates => 'ch_campaign');
SELECT report(segment_source => 'ch_campaign');
SELECT report(item_groups => 'ch_campaign');
SELECT chart_exposure(ARRAY['ch_pop'], 'ch_test', 'customer_id', 'product_id', k => NULL);
SELECT chart_exposure(NULL, 'ch_test');
SELECT chart_bandit_history('ch_no_bandit');
SELECT chart_bandit_history('ch_no_bandit', NULL);
SELECT * FROM bandit_history('ch_no_bandit', 0);
SELECT * FROM bandit_history(NULL);
-- errors of the plotted function come through unchanged
SELECT chart_model_comparison(ARRAY['no_such_model'], 'ch_test', 'customer_id', 'product_id');
\set SHOW_CONTEXT errors

SELECT drop_model('ch_pop');
DROP TABLE ch_orders, ch_train, ch_test, ch_campaign;
