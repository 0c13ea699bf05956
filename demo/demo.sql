-- recpromo demo: a small generated shop, end to end.  Run by demo/run.sh on a
-- throwaway database; every number below is computed here, nothing is canned.
\pset footer off
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION recpromo;
SET search_path = public, recpromo;

\echo
\echo '== OpenBLAS kernel set of this server'
SELECT blas_corename();

\echo
\echo '== 1. Similarity: users rating [5,4,3,2,1] and [4,3,2,1,5] (expected 45/55)'
SELECT cosine_similarity(ARRAY[5,4,3,2,1], ARRAY[4,3,2,1,5]) AS cosine, 45.0 / 55 AS expected;

\echo
\echo '== 2. A generated shop: 600 customers, 120 products in 6 categories, orders over 2024'
-- the attributes (category, a colour and a material tag, the words of the name, the price) feed
-- the content model; products 121-126 are new: in the catalogue, not bought by anyone yet
CREATE TABLE products AS
  SELECT p AS product_id,
         (ARRAY['tea', 'kitchen', 'garden', 'toys', 'lights', 'stationery'])[1 + (p - 1) % 6] AS category,
         ARRAY[(ARRAY['red', 'green', 'blue', 'black'])[1 + abs(hashint4(p * 3)) % 4],
               (ARRAY['wood', 'metal', 'paper', 'glass', 'cotton'])[1 + abs(hashint4(p * 5)) % 5]] AS tags,
         (ARRAY['tea', 'kitchen', 'garden', 'toys', 'lights', 'stationery'])[1 + (p - 1) % 6] || ' item ' || p AS name,
         round((2 + abs(hashint4(p)) % 40)::numeric + 0.99, 2) AS price
  FROM generate_series(1, 126) p;
-- each customer prefers one category (and a second one a little), and buys popular items more
CREATE TABLE orders AS
  SELECT c AS customer_id, p.product_id,
         1 + abs(hashint4(c * 7 + p.product_id)) % 3 AS quantity,
         timestamp '2024-01-01' + (abs(hashint4(c * 13 + p.product_id)) % 365) * interval '1 day' AS ordered_at,
         p.price
  FROM generate_series(1, 600) c
  JOIN products p ON p.product_id <= 120 AND
       abs(hashint4(c * 1000 + p.product_id)) % 1000 <
         CASE WHEN (p.product_id - 1) % 6 = c % 6 THEN 220
              WHEN (p.product_id - 1) % 6 = (c / 6) % 6 THEN 70
              ELSE 8 END * (1.0 + 30.0 / (10 + p.product_id));
SELECT count(*) AS order_lines, count(DISTINCT customer_id) AS customers,
       count(DISTINCT product_id) AS products FROM orders;

\echo
\echo '== 3. Hold out 20% of the (customer, product) pairs (deterministic split), train seven models'
CREATE TABLE orders_train AS SELECT * FROM orders WHERE NOT in_test_set(customer_id, product_id, 0.2, seed => 1);
CREATE TABLE orders_test  AS SELECT * FROM orders WHERE in_test_set(customer_id, product_id, 0.2, seed => 1);
SELECT name, method, n_users, n_items, nnz, round(train_seconds::numeric, 3) AS seconds
FROM train('popular', 'orders_train', 'customer_id', 'product_id', 'quantity', method => 'popularity');
SELECT name, method, n_users, n_items, nnz, round(train_seconds::numeric, 3) AS seconds
FROM train('als', 'orders_train', 'customer_id', 'product_id', 'quantity', method => 'als',
           factors => 16, iterations => 10, regularization => 0.05, alpha => 10, seed => 7);
SELECT name, method, n_users, n_items, nnz, round(train_seconds::numeric, 3) AS seconds
FROM train('neighbours', 'orders_train', 'customer_id', 'product_id', 'quantity', method => 'user_knn', neighbours => 30);
SELECT name, method, n_users, n_items, nnz, round(train_seconds::numeric, 3) AS seconds
FROM train('items', 'orders_train', 'customer_id', 'product_id', 'quantity', method => 'item_knn', neighbours => 20,
           params => '{"weighting": "bm25"}');
SELECT name, method, n_users, n_items, nnz, round(train_seconds::numeric, 3) AS seconds
FROM train('ease', 'orders_train', 'customer_id', 'product_id', 'quantity', method => 'ease',
           params => '{"lambda": 100}');
-- content: TF-IDF of the product attributes; the 6 new products join the model's items
SELECT name, method, n_users, n_items, nnz, round(train_seconds::numeric, 3) AS seconds
FROM train_content('content', 'orders_train', 'customer_id', 'product_id', rating_col => 'quantity',
                   attributes => 'products', attribute_columns => '{category,tags,name,price}');
-- hybrid: 70 % item_knn + 30 % content for customers and products with 3 or more purchases,
-- content alone for new ones
SELECT name, method, n_users, n_items, nnz, round(train_seconds::numeric, 3) AS seconds
FROM train_hybrid('hybrid', 'items', 'content', weight => 0.7, min_history => 3);
SELECT set_default_model('als');

\echo
\echo '== 4. recommend(7, 5) on the default model (ALS): customer 7 mostly buys kitchen items'
SELECT r.rank, p.name, p.category, round(r.score::numeric, 3) AS score
FROM recommend(7, 5) r JOIN products p ON p.product_id = r.item ORDER BY r.rank;

\echo
\echo '== 5. Only items under 20.00, never product 1 (filters inside the top-n: still 5 rows)'
SELECT r.rank, p.name, p.price, round(r.score::numeric, 3) AS score
FROM recommend(7, 5, only_items => (SELECT array_agg(product_id) FROM products WHERE price < 20),
               exclude_items => ARRAY[1]) r
JOIN products p ON p.product_id = r.item ORDER BY r.rank;

\echo
\echo '== 6. Basket: customers who bought products 3 and 9 also bought'
SELECT r.rank, p.name, round(r.score::numeric, 3) AS score
FROM recommend_for_items(ARRAY[3, 9], 5, model => 'items') r JOIN products p ON p.product_id = r.item ORDER BY r.rank;

\echo
\echo '== 7. Why product X for customer 7?  The history items behind the score'
SELECT e.rank, p.name AS because_of, round(e.contribution::numeric, 4) AS contribution
FROM (SELECT item FROM recommend(7, 1)) top, explain_recommendation(7, top.item) e
JOIN products p ON p.product_id = e.history_item
ORDER BY e.rank LIMIT 5;

\echo
\echo '== 8. A customer who signed up after training: folded in from their first purchases'
INSERT INTO orders_train VALUES (10001, 4, 1, now(), 9.99), (10001, 10, 2, now(), 9.99);
SELECT r.rank, p.name, p.category FROM recommend(10001, 3) r JOIN products p ON p.product_id = r.item ORDER BY r.rank;

\echo
\echo '== 9. New products 121-126 (in the catalogue, bought by nobody): content and the hybrid rank them'
\echo '==    from their attributes; customer 7, a kitchen customer, gets the new kitchen item first'
SELECT 'content' AS model, r.rank, p.name, p.tags, round(r.score::numeric, 3) AS score
FROM recommend(7, 3, model => 'content', only_items => ARRAY[121, 122, 123, 124, 125, 126]) r
JOIN products p ON p.product_id = r.item
UNION ALL
SELECT 'hybrid', r.rank, p.name, p.tags, round(r.score::numeric, 3)
FROM recommend(7, 3, model => 'hybrid', only_items => ARRAY[121, 122, 123, 124, 125, 126]) r
JOIN products p ON p.product_id = r.item
ORDER BY 1, 2;

\echo
\echo '== 10. Offline evaluation on the held-out pairs, all seven models in one query (k = 10)'
SELECT model_name, users_evaluated,
       round(precision_at_k::numeric, 4) AS "precision@10", round(recall_at_k::numeric, 4) AS "recall@10",
       round(ndcg_at_k::numeric, 4) AS "ndcg@10", round(map_at_k::numeric, 4) AS "map@10",
       round(hit_rate_at_k::numeric, 4) AS "hit@10", round(mrr_at_k::numeric, 4) AS mrr,
       round(coverage::numeric, 3) AS coverage, round(popularity_bias::numeric, 2) AS pop_bias
FROM (SELECT * FROM evaluate('popular', 'orders_test', 'customer_id', 'product_id')
      UNION ALL SELECT * FROM evaluate('neighbours', 'orders_test', 'customer_id', 'product_id')
      UNION ALL SELECT * FROM evaluate('items', 'orders_test', 'customer_id', 'product_id')
      UNION ALL SELECT * FROM evaluate('als', 'orders_test', 'customer_id', 'product_id')
      UNION ALL SELECT * FROM evaluate('ease', 'orders_test', 'customer_id', 'product_id')
      UNION ALL SELECT * FROM evaluate('content', 'orders_test', 'customer_id', 'product_id')
      UNION ALL SELECT * FROM evaluate('hybrid', 'orders_test', 'customer_id', 'product_id')) e
ORDER BY "ndcg@10" DESC;

\echo
\echo '== 11. Promotions: RFM segments of the shop''s customers on 2025-01-01'
CREATE VIEW order_values AS
  SELECT customer_id, ordered_at, quantity * price AS amount FROM orders;
SELECT segment, count(*) AS customers, round(avg(recency_days)::numeric) AS avg_recency_days,
       round(avg(frequency)::numeric, 1) AS avg_orders, round(avg(monetary)::numeric, 2) AS avg_spend
FROM rfm('order_values', 'customer_id', 'ordered_at', 'amount', '2025-01-01')
GROUP BY segment ORDER BY customers DESC;

\echo
\echo '== 12. One offer per customer under a budget of 500.00 (two offers, expected incremental value)'
CREATE TABLE offer_candidates AS
  SELECT c AS customer_id, o.offer,
         round((o.lift * (1 + abs(hashint4(c * 31 + o.k)) % 10))::numeric, 2)::float8 AS value,
         o.cost
  FROM generate_series(1, 600) c,
       (VALUES (1, 'free_shipping', 1.2, 3.0::float8), (2, 'ten_percent', 2.0, 6.0::float8)) o(k, offer, lift, cost);
SELECT offer, count(*) AS customers, round(sum(cost)::numeric, 2) AS spent,
       round(sum(profit)::numeric, 2) AS expected_profit, round(max(upper_bound)::numeric, 2) AS upper_bound
FROM assign_offers('offer_candidates', 'customer_id', 'offer', 'value', 'cost', budget => 500)
GROUP BY offer ORDER BY offer;

\echo
\echo '== 13. The models'
SELECT name, method, is_default, n_users, n_items, nnz, size_bytes, round(train_seconds::numeric, 3) AS seconds
FROM models ORDER BY name;

\echo
\echo '== 14. Three checkout coupons: a Thompson bandit learns from nightly orders; a random holdout'
\echo '==     gives the A/B readout and an off-policy estimate of the bandit (true rates 5%, 9%, 6%)'
SELECT create_bandit('checkout_coupon', ARRAY['pct10', 'pct20', 'free_ship'], policy => 'thompson', seed => 7) > 0 AS created \gset
-- 20 days of 200 visitors; every 4th visitor is a holdout that gets a uniformly random coupon
-- (hash of the visitor), the others get the bandit's pick. Whether a visitor orders is fixed by a
-- hash too, at rates the shop does not know: 5% with pct10, 9% with pct20, 6% with free_ship.
CREATE TABLE coupon_visits (visitor int PRIMARY KEY, day int, holdout boolean, coupon text,
                            decision_id bigint, propensity float8, ordered int);
DO $$
DECLARE c record; v int;
BEGIN
  FOR d IN 1..20 LOOP
    FOR v IN (d - 1) * 200 + 1 .. d * 200 LOOP
      IF v % 4 = 0 THEN
        INSERT INTO coupon_visits VALUES (v, d, true,
          (ARRAY['pct10', 'pct20', 'free_ship'])[1 + abs(hashint4(v)) % 3], NULL, 1.0 / 3);
      ELSE
        SELECT * INTO c FROM recpromo.choose('checkout_coupon');
        INSERT INTO coupon_visits VALUES (v, d, false, c.arm, c.decision_id, c.propensity);
      END IF;
    END LOOP;
    -- at night the day's orders are in: each decision gets its reward, 1 if the visitor ordered, else 0
    UPDATE coupon_visits SET ordered = (abs(hashint4(visitor * 7 + 1)) % 100 <
           CASE coupon WHEN 'pct10' THEN 5 WHEN 'pct20' THEN 9 ELSE 6 END)::int
     WHERE day = d;
    PERFORM recpromo.reward('checkout_coupon', decision_id, ordered)
       FROM coupon_visits WHERE day = d AND NOT holdout ORDER BY decision_id;
  END LOOP;
END $$;
SELECT arm, pulls, rewards, round(mean::numeric, 3) AS mean, round(lower::numeric, 3) AS lower,
       round(upper::numeric, 3) AS upper, round(probability::numeric, 2) AS probability
  FROM recpromo.bandit_stats('checkout_coupon') ORDER BY arm;
CREATE VIEW coupon_holdout AS SELECT * FROM coupon_visits WHERE holdout;
\echo '-- sample-ratio check of the holdout (planned 1:1:1), then the A/B readout against pct10'
SELECT arm, observed, round(p_value::numeric, 3) AS srm_p FROM ab_srm('coupon_holdout', 'coupon');
SELECT coupon, n, round(mean::numeric, 4) AS rate, round(lift::numeric, 4) AS lift,
       round(lift_low::numeric, 4) AS low, round(lift_high::numeric, 4) AS high,
       round(p_adjusted::numeric, 4) AS p_holm
  FROM ab_test('coupon_holdout', 'coupon', 'ordered', control => 'pct10') AS t(coupon);
\echo '-- what the bandit''s current policy would earn per visitor, from the holdout log'
SELECT estimator, round(estimate::numeric, 4) AS estimate, round(ci_low::numeric, 4) AS ci_low,
       round(ci_high::numeric, 4) AS ci_high, round(ess::numeric) AS ess,
       (SELECT round(avg(ordered), 4) FROM coupon_visits WHERE holdout) AS holdout_rate,
       (SELECT round(avg(ordered), 4) FROM coupon_visits WHERE NOT holdout) AS bandit_rate
  FROM evaluate_policy('coupon_holdout', NULL, 'coupon', 'ordered', 'propensity',
                       target_bandit => 'checkout_coupon');

\echo
\echo '== 15. A mailing: a coupon sent to a random half of the customers; does an uplift score find'
\echo '==     those whom the coupon moves? (the effect grows with how much a customer bought)'
CREATE TABLE mailing AS
  SELECT c.customer_id, c.spend AS score,
         CASE WHEN abs(hashint4(c.customer_id * 17)) % 2 = 0 THEN 'coupon' ELSE 'control' END AS treatment,
         (abs(hashint4(c.customer_id * 19)) % 1000 <
            60 + CASE WHEN abs(hashint4(c.customer_id * 17)) % 2 = 0 THEN 30 * c.tenth ELSE 0 END)::int AS bought
  FROM (SELECT customer_id, sum(amount)::float8 AS spend, ntile(10) OVER (ORDER BY sum(amount), customer_id) AS tenth
          FROM order_values GROUP BY customer_id) c;
SELECT metric, round(value::numeric, 4) AS value, round(ci_low::numeric, 4) AS ci_low,
       round(ci_high::numeric, 4) AS ci_high
FROM uplift_evaluate('mailing', 'score', 'treatment', 'bought');

\echo
\echo '== 16. The report: every chart in one HTML page (demo/run.sh prints where it is)'
CREATE TABLE customer_profiles AS
  SELECT customer, recency_days, frequency, monetary
  FROM rfm('order_values', 'customer_id', 'ordered_at', 'amount', '2025-01-01');
\if :{?report}
\else
\set report report.html
\endif
\set QUIET on
\pset format unaligned
\pset tuples_only on
\o :report
SELECT report(models => ARRAY['popular', 'als', 'items', 'ease', 'hybrid'], test_source => 'orders_test',
              user_col => 'customer_id', item_col => 'product_id', k => 10,
              uplift_source => 'mailing', treatment_col => 'treatment', outcome_col => 'bought',
              candidates => 'offer_candidates', budgets => ARRAY[100, 200, 300, 500, 800, 1200, 1800, 2500],
              orders => 'order_values', as_of => '2025-01-01',
              segment_source => 'customer_profiles', segment_columns => ARRAY['recency_days', 'frequency', 'monetary'],
              clusters => 4, bandit => 'checkout_coupon', item_groups => 'products', group_item_col => 'product_id',
              group_col => 'category', title => 'recpromo demo shop: models, promotions, customers');
\o
\pset format aligned
\pset tuples_only off
\set QUIET off
