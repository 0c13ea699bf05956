-- item_knn and user_knn: hand-checked neighbours on a tiny shop.
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- Products a = 1, b = 2, c = 3, d = 4; customers 11..14.  Product vectors over customers:
--   a = (1,1,0,0)  b = (1,1,1,0)  c = (0,0,1,1)  d = (0,0,0,1)
-- cos(a,b) = 2/sqrt(6) = 0.8165, cos(b,c) = 1/sqrt(6) = 0.4082, cos(c,d) = 1/sqrt(2) = 0.7071,
-- every other pair 0.
CREATE TABLE knn_orders (customer int, sku int, qty numeric);
INSERT INTO knn_orders VALUES
  (11, 1, 1), (11, 2, 1), (12, 1, 1), (12, 2, 1),
  (13, 2, 1), (13, 3, 1), (14, 3, 1), (14, 4, 1);

SELECT name, method, n_users, n_items, nnz, params
FROM train('k', 'knn_orders', 'customer', 'sku', method => 'item_knn', neighbours => 2);

SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(1, 5, 'k');
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(2, 5, 'k');
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(3, 5, 'k');
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(4, 1, 'k');
-- unknown item: no rows
SELECT count(*) FROM similar_items(99, 5, 'k');

-- customer 13 (b, c): a gets 0.8165 from b, d gets 0.7071 from c; b and c are seen
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(13, 2, 'k');
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(13, 4, 'k', exclude_seen => false);
SELECT round(predict(13, 1, 'k')::numeric, 4) AS a, round(predict(11, 3, 'k')::numeric, 4) AS c;
-- recommend_all serves every user exactly as recommend() does
SELECT count(*) AS rows, count(*) FILTER (WHERE b.item IS DISTINCT FROM a.item
       OR round(a.score::numeric, 9) IS DISTINCT FROM round(b.score::numeric, 9)) AS mismatches
FROM recommend_all(3, 'k') a
FULL JOIN (SELECT c::bigint AS user_id, r.* FROM (SELECT DISTINCT customer AS c FROM knn_orders) x,
           LATERAL recommend(c, 3, 'k') r) b USING (user_id, rank);
-- why a for customer 13: only b points at a
SELECT history_item, round(contribution::numeric, 4) AS contribution, rank
FROM explain_recommendation(13, 1, 'k');
-- a new customer with two rows of b (summed: 2) and one of c: a scores 2 * 0.8165, d 0.7071
INSERT INTO knn_orders VALUES (19, 2, 1), (19, 2, 1), (19, 3, 1);
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(19, 5, 'k');
SELECT history_item, round(contribution::numeric, 4) AS contribution, rank
FROM explain_recommendation(19, 1, 'k');
DELETE FROM knn_orders WHERE customer = 19;
-- a basket: items no history item points to score 0 and come last, in key order
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend_for_items(ARRAY[4], 3, 'k');

-- shrinkage 1: s = cos * n / (n + 1) with n common customers: a-b 0.8165 * 2/3, b-c 0.4082 / 2, c-d 0.7071 / 2
SELECT params FROM train('k', 'knn_orders', 'customer', 'sku', method => 'item_knn', neighbours => 2,
                         params => '{"shrink": 1}');
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(2, 5, 'k');
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(3, 5, 'k');

-- every customer buys the same number of items and every item has equal entries, so TF-IDF and
-- BM25 scale each item vector uniformly: the cosines do not change (weighted values are checked
-- against numpy in test/ref/test_knn.py)
SELECT params->>'weighting' AS w FROM train('k', 'knn_orders', 'customer', 'sku', method => 'item_knn',
                         neighbours => 2, params => '{"weighting": "bm25"}');
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(2, 5, 'k');
SELECT params->>'weighting' AS w FROM train('k', 'knn_orders', 'customer', 'sku', method => 'item_knn',
                         neighbours => 2, params => '{"weighting": "tfidf"}');
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(3, 5, 'k');

-- neighbours = 1 keeps only the best
SELECT n_items FROM train('k1', 'knn_orders', 'customer', 'sku', method => 'item_knn', neighbours => 1);
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(2, 5, 'k1');

-- the same neighbours on two threads (results do not depend on the thread count)
SET recpromo.max_threads = 2;
SELECT n_items FROM train('k2', 'knn_orders', 'customer', 'sku', method => 'item_knn', neighbours => 2);
RESET recpromo.max_threads;
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(2, 5, 'k2');

-- above 65,536 entries the matrix build and item_knn's transpose run on max_threads threads:
-- every stored part is byte-identical to one thread's (non-integer duplicates, summed in order)
CREATE TABLE knn_many AS
  SELECT (g % 80021) % 2003 AS customer, (g % 80021) % 499 AS sku, (g % 13) * 0.37::float8 AS v
  FROM generate_series(1, 160000) g;
ANALYZE knn_many;
SET recpromo.max_threads = 1;
SELECT n_users, n_items, nnz FROM train('kt1', 'knn_many', 'customer', 'sku', 'v', method => 'item_knn');
SET recpromo.max_threads = 2;
SELECT n_users, n_items, nnz FROM train('kt2', 'knn_many', 'customer', 'sku', 'v', method => 'item_knn');
RESET recpromo.max_threads;
SELECT a.part, pg_catalog.md5(a.data) = pg_catalog.md5(b.data) AS same
  FROM recpromo.model_part a
  JOIN recpromo.model_part b USING (part, seq)
 WHERE a.model_id = (SELECT id FROM recpromo.model WHERE name = 'kt1')
   AND b.model_id = (SELECT id FROM recpromo.model WHERE name = 'kt2')
 ORDER BY a.part, a.seq;
SELECT drop_model('kt1'), drop_model('kt2');
DROP TABLE knn_many;

-- a customer unknown at training time is folded in from the live table
INSERT INTO knn_orders VALUES (15, 1, 1);
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(15, 3, 'k2');
-- a customer with no history at all gets the most popular items
SELECT item, rank FROM recommend(77, 2, 'k2');

-- bad input
SELECT * FROM train('bad', 'knn_orders', 'customer', 'sku', method => 'item_knn', neighbours => 0);
SELECT * FROM train('bad', 'knn_orders', 'customer', 'sku', method => 'item_knn', params => '{"shrink": -1}');
SELECT * FROM train('bad', 'knn_orders', 'customer', 'sku', method => 'item_knn', params => '{"shrink": "x"}');
SELECT * FROM train('bad', 'knn_orders', 'customer', 'sku', method => 'item_knn', params => '{"weighting": "idf"}');
SELECT * FROM train('bad', 'knn_orders', 'customer', 'sku', method => 'item_knn', params => '{"bm25_b": 2}');
SELECT * FROM train('bad', 'knn_orders', 'customer', 'sku', method => 'item_knn', params => '{"bm25_k1": 0}');
SELECT * FROM train('bad', 'knn_orders', 'customer', 'sku', method => 'item_knn', params => '{"lambda": 1}');
SELECT * FROM train('bad', 'knn_orders', 'customer', 'nope', method => 'item_knn');
CREATE TABLE knn_bad (customer int, sku int, qty float8);
SELECT * FROM train('bad', 'knn_bad', 'customer', 'sku', 'qty', method => 'item_knn');
INSERT INTO knn_bad VALUES (11, 1, 'NaN');
SELECT * FROM train('bad', 'knn_bad', 'customer', 'sku', 'qty', method => 'item_knn');
UPDATE knn_bad SET qty = 'Infinity';
SELECT * FROM train('bad', 'knn_bad', 'customer', 'sku', 'qty', method => 'item_knn');
UPDATE knn_bad SET qty = -1;
SELECT * FROM train('bad', 'knn_bad', 'customer', 'sku', 'qty', method => 'item_knn');
SELECT count(*) FROM models WHERE name = 'bad';
SELECT * FROM similar_items(NULL::int, 5, 'k');
SELECT * FROM similar_items(1, -1, 'k');
SELECT * FROM similar_items(1, 5, 'no_such_model');
SELECT * FROM similar_users(11, 5, 'k');
SELECT * FROM explain_recommendation(NULL::int, 1, 'k');
-- tiny memory limit: refused with the numbers (reading needs about 1.4 MB, the neighbours 13)
SET recpromo.memory_limit = '2MB';
CREATE TABLE knn_big AS SELECT g % 5000 AS customer, g AS item FROM generate_series(1, 20000) g;
SELECT * FROM train('bad', 'knn_big', 'customer', 'item', method => 'item_knn', neighbours => 50);
RESET recpromo.memory_limit;

-- user_knn on the same shop: customers 11 and 12 are identical (cos 1); 15 bought a only
-- (cos 1/sqrt(2)); 13 shares b with 11 (cos 1/2)
SELECT n_users FROM train('u', 'knn_orders', 'customer', 'sku', method => 'user_knn', neighbours => 2);
SELECT neighbour, round(similarity::numeric, 4) AS sim, rank FROM similar_users(11, 3, 'u');

-- customer 13 (b, c): neighbours 11 and 12 (cos 1/2 each, via b), 14 (cos 1/2, via c), 15 (0);
-- with neighbours => 2 the two best by index are 11 and 12: a scores (.5 + .5) / (.5 + .5) = 1
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(13, 2, 'u');
SELECT history_item, round(contribution::numeric, 4) AS contribution, rank
FROM explain_recommendation(13, 1, 'u');
-- weighted user_knn (values checked against numpy in test/ref/test_knn_reference.py); the
-- explanation still adds up to the score
SELECT params->>'weighting' AS w FROM train('ub', 'knn_orders', 'customer', 'sku', method => 'user_knn',
    neighbours => 3, params => '{"weighting": "bm25", "shrink": 2}');
SELECT round((SELECT sum(contribution) FROM explain_recommendation(13, 1, 'ub'))::numeric, 12)
     = round(predict(13, 1, 'ub')::numeric, 12) AS adds_up;
-- a folded-in customer is weighted with the training idf
INSERT INTO knn_orders VALUES (16, 3, 1);
SELECT count(*) > 0 AS has_neighbours FROM similar_users(16, 3, 'ub') WHERE similarity > 0;
SELECT * FROM train('bad', 'knn_bad', 'customer', 'sku', 'qty', method => 'user_knn',
                    params => '{"weighting": "tfidf"}');

SELECT name FROM models ORDER BY name;
SELECT drop_model(name) FROM models ORDER BY name;
DROP TABLE knn_orders, knn_bad, knn_big;
