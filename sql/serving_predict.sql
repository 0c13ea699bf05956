-- predict() for users the model does not know, per method; similarities clamped to [-1, 1].
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- 4 customers, 3 products; the expected values below were computed independently (numpy,
-- from the formulas of the README), not with recpromo.
CREATE TABLE pdx_orders (customer int, sku int, qty float8);
INSERT INTO pdx_orders VALUES (1, 10, 1), (1, 20, 1), (2, 10, 1), (2, 30, 1),
                             (3, 20, 1), (3, 30, 1), (4, 10, 1), (4, 20, 1);
CREATE TABLE pdx_products (sku int, category text, tags text[]);
INSERT INTO pdx_products VALUES (10, 'toys', '{red}'), (20, 'toys', '{blue}'), (30, 'garden', '{red}');
CREATE TABLE pdx_uvec (id int, factors float8[]);
INSERT INTO pdx_uvec VALUES (1, '{1,0}'), (2, '{0,1}'), (3, '{1,1}'), (4, '{0.5,0}');
CREATE TABLE pdx_ivec (id int, factors float8[]);
INSERT INTO pdx_ivec VALUES (10, '{1,0}'), (20, '{0,1}'), (30, '{1,1}');
-- ratings: every customer gives product 10 one star, 20 three and 30 two (mean 2)
CREATE TABLE pdx_ratings AS
SELECT c AS customer, s AS sku, CASE s WHEN 10 THEN 1 WHEN 20 THEN 3 ELSE 2 END::float8 AS stars
FROM generate_series(1, 6) c, unnest('{10,20,30}'::int[]) s;

SELECT count(*) AS models FROM (
  SELECT name FROM train('pdx_als', 'pdx_orders', 'customer', 'sku', 'qty', method => 'als', factors => 2)
  UNION ALL SELECT name FROM train('pdx_stars', 'pdx_ratings', 'customer', 'sku', 'stars',
                                   method => 'als_explicit', factors => 2, regularization => 0.5)
  UNION ALL SELECT name FROM train('pdx_pop', 'pdx_orders', 'customer', 'sku', method => 'popularity')
  UNION ALL SELECT name FROM train('pdx_uknn', 'pdx_orders', 'customer', 'sku', method => 'user_knn')
  UNION ALL SELECT name FROM train('pdx_iknn', 'pdx_orders', 'customer', 'sku', method => 'item_knn')
  UNION ALL SELECT name FROM train('pdx_ease', 'pdx_orders', 'customer', 'sku', method => 'ease',
                                   params => '{"lambda": 1}')
  UNION ALL SELECT name FROM train_content('pdx_content', 'pdx_orders', 'customer', 'sku',
                                           'pdx_products', '{category,tags}')
  UNION ALL SELECT name FROM train('pdx_fx', 'pdx_orders', 'customer', 'sku', method => 'factors',
                                   params => '{"user_factors": "pdx_uvec", "item_factors": "pdx_ivec"}')) t;
SELECT name FROM train_hybrid('pdx_hybrid', 'pdx_iknn', 'pdx_content');

-- Customer 99 buys product 10 after training (folded in from the live table); customer 98 has
-- no rows at all.
INSERT INTO pdx_orders VALUES (99, 10, 1);
INSERT INTO pdx_ratings VALUES (99, 10, 1);

-- Expected values:
--  popularity  the item's number of buyers, whoever asks: 3 / 2
--  als_explicit  no rows: mu + c_i; here c_i = (r_i - mu) / (1 + lambda) exactly (every customer
--              rates alike, so the factors and user biases are 0): 2 - 1/1.5, 2 + 1/1.5, 2.
--              customer 99 (1 star for 10): b_u = (1 - 2 - c_10) / (1 + lambda) = -2/9,
--              predict(99, 20) = 2 + 2/3 - 2/9 = 2.4444
--  item_knn    sum_i r_ui cos(i, j): cos(10, 20) = 2/3, cos(10, 30) = 1/sqrt(6)
--  user_knn    customers 1, 2, 4 each have cosine 1/sqrt(2) with {10}: 20 -> 2/3, 30 -> 1/3
--  ease        lambda 1: B = -P_ij / P_jj, P = (X'X + I)^-1: 10 -> 20 5/11, 10 -> 30 1/6
--  content     TF-IDF, unit vectors: v_10 . v_20 = v_10 . v_30 = 0.428046
--  hybrid      a_u = 0.5 * 1/5, e_j = buyers / 5:
--              0.1 * e_j * s_knn / max s_knn + 0.9 * s_content / max s_content
--  factors     x = (Y'Y + (c - 1) y_10 y_10' + 0.1 I)^-1 c y_10, c = 2: 20 -> -0.362976, 30 -> 0.399274
--  users with no rows: NULL for every method but popularity and als_explicit
CREATE TABLE pdx_expected (model text, customer int, sku int, expected numeric);
INSERT INTO pdx_expected VALUES
  ('pdx_pop', 98, 20, 3), ('pdx_pop', 98, 30, 2), ('pdx_pop', 99, 30, 2),
  ('pdx_stars', 98, 10, 1.3333), ('pdx_stars', 98, 20, 2.6667), ('pdx_stars', 98, 30, 2.0000),
  ('pdx_stars', 99, 20, 2.4444),
  ('pdx_iknn', 98, 20, NULL), ('pdx_iknn', 99, 20, 0.6667), ('pdx_iknn', 99, 30, 0.4082),
  ('pdx_uknn', 98, 20, NULL), ('pdx_uknn', 99, 20, 0.6667), ('pdx_uknn', 99, 30, 0.3333),
  ('pdx_ease', 98, 20, NULL), ('pdx_ease', 99, 20, 0.4545), ('pdx_ease', 99, 30, 0.1667),
  ('pdx_content', 98, 20, NULL), ('pdx_content', 99, 20, 0.4280), ('pdx_content', 99, 30, 0.4280),
  ('pdx_hybrid', 98, 20, NULL), ('pdx_hybrid', 99, 20, 0.4452), ('pdx_hybrid', 99, 30, 0.4097),
  ('pdx_fx', 98, 20, NULL), ('pdx_fx', 99, 20, -0.3630), ('pdx_fx', 99, 30, 0.3993),
  ('pdx_als', 98, 20, NULL);
SELECT e.model, e.customer, e.sku, round(predict(e.customer, e.sku, e.model)::numeric, 4) AS predicted,
       e.expected,
       round(predict(e.customer, e.sku, e.model)::numeric, 4) IS NOT DISTINCT FROM e.expected AS ok
FROM pdx_expected e ORDER BY e.model, e.customer, e.sku;

-- every method in the registry is covered
SELECT count(DISTINCT method) AS methods FROM models WHERE name LIKE 'pdx\_%';

-- implicit ALS has no closed form here: the folded-in prediction is what recommend() ranks by,
-- and its explanation adds up to it
SELECT abs(predict(99, 20, 'pdx_als') - r.score) < 1e-9 AS same_as_recommend,
       abs(predict(99, 20, 'pdx_als') - (SELECT sum(contribution) FROM explain_recommendation(99, 20, 'pdx_als'))) < 1e-9 AS explained
FROM recommend(99, 3, 'pdx_als') r WHERE r.item = 20;
-- a known customer is still scored by the model (not the baseline)
SELECT round(predict(1, 30, 'pdx_stars')::numeric, 4) AS known, round(predict(1, 30, 'pdx_pop')::numeric, 4) AS pop;
-- unknown item: NULL
SELECT predict(99, 12345, 'pdx_iknn') IS NULL AS unknown_item;

-- Similarities are cosines and stay within [-1, 1]: with the exact solver, customers with the
-- same purchases get parallel factor vectors, whose cosine can round to 1.0000000000000002.
CREATE TABLE pdx_twins AS
SELECT u, i FROM generate_series(1, 40) u, generate_series(1, 12) i WHERE (u * i) % 5 < 2 OR u % 7 = i % 7;
SELECT name FROM train('pdx_twins', 'pdx_twins', 'u', 'i', method => 'als', factors => 2, seed => 1,
                       params => '{"solver": "cholesky"}');
SELECT max(s.similarity) <= 1 AS users_in_range, count(*) FILTER (WHERE s.similarity = 1) > 0 AS some_parallel
FROM generate_series(1, 40) u, similar_users(u, 3, 'pdx_twins') s;
SELECT max(s.similarity) <= 1 AS items_in_range
FROM generate_series(1, 12) i, similar_items(i, 3, 'pdx_twins') s;

-- leave no models behind for the tests that follow
SELECT drop_model('pdx_hybrid');
SELECT count(*) AS dropped FROM (SELECT drop_model(name) FROM models WHERE name LIKE 'pdx\_%') d;
