-- ease: Steck's closed form against hand and numpy-checked values.
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- Two products always bought together by two customers, lambda = 1:
-- G = X'X + I = [[3, 2], [2, 3]], P = G^-1 = [[3, -2], [-2, 3]] / 5, B_01 = -P_01 / P_11 = 2/3.
CREATE TABLE ease_pair (customer int, item int);
INSERT INTO ease_pair VALUES (1, 10), (1, 20), (2, 10), (2, 20);
SELECT name, method, n_users, n_items, params
FROM train('e2', 'ease_pair', 'customer', 'item', method => 'ease', params => '{"lambda": 1}');
SELECT item, round(similarity::numeric, 6) AS weight, rank FROM similar_items(10, 5, 'e2');
-- a new customer who bought 20 gets 10 with score B_10 = 2/3
INSERT INTO ease_pair VALUES (3, 20);
SELECT item, round(score::numeric, 6) AS score, rank FROM recommend(3, 5, 'e2');

-- Four products, customers 11..14 (1 = a, 2 = b, 3 = c, 4 = d):
--   11: a b   12: a b   13: b c   14: c d,  lambda = 1
-- B from numpy (G = X'X + I, P = inv(G), B = -P / diag(P), diag 0), rounded:
--   row a:  0       0.6667 -0.25    0.0952
--   row b:  0.5556  0       0.375  -0.1429
--   row c: -0.2222  0.4     0       0.381
--   row d:  0.1111 -0.2     0.5     0
-- customer 13 (b, c) scores = row b + row c = (0.3333, 0.4, 0.375, 0.2381)
CREATE TABLE ease_orders (customer int, item int);
INSERT INTO ease_orders VALUES (11, 1), (11, 2), (12, 1), (12, 2), (13, 2), (13, 3), (14, 3), (14, 4);
SELECT n_items FROM train('e', 'ease_orders', 'customer', 'item', method => 'ease', params => '{"lambda": 1}');
SELECT item, round(similarity::numeric, 4) AS weight, rank FROM similar_items(2, 5, 'e');
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(13, 4, 'e', exclude_seen => false);
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(13, 4, 'e');
SELECT round(predict(14, 1, 'e')::numeric, 4) AS d_to_a;
-- recommend_all serves every user exactly as recommend() does
SELECT count(*) AS rows, count(*) FILTER (WHERE b.item IS DISTINCT FROM a.item
       OR round(a.score::numeric, 9) IS DISTINCT FROM round(b.score::numeric, 9)) AS mismatches
FROM recommend_all(3, 'e') a
FULL JOIN (SELECT c::bigint AS user_id, r.* FROM (SELECT DISTINCT customer AS c FROM ease_orders) x,
           LATERAL recommend(c, 3, 'e') r) b USING (user_id, rank);
-- the score of a for 13 splits into b's 0.5556 and c's -0.2222
SELECT history_item, round(contribution::numeric, 4) AS contribution, rank
FROM explain_recommendation(13, 1, 'e');
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend_for_items(ARRAY[1], 2, 'e');

-- the default lambda is 500 (recorded in params); a larger lambda shrinks every weight
SELECT params FROM train('e500', 'ease_orders', 'customer', 'item', method => 'ease');
SELECT round(similarity::numeric, 6) AS weight FROM similar_items(1, 1, 'e500');

-- a larger generated shop: retraining gives bit-identical scores (the entries of B against numpy
-- are checked in test/ref/test_knn.py)
CREATE TABLE ease_gen AS
SELECT (g % 200) AS customer, ((g * 7919) % 61) AS item
FROM generate_series(1, 3000) g;
SELECT n_users, n_items FROM train('eg', 'ease_gen', 'customer', 'item', method => 'ease',
                                   params => '{"lambda": 10}');
CREATE TEMP TABLE eg1 AS SELECT item, score FROM recommend(7, 10, 'eg');
SELECT n_items FROM train('eg', 'ease_gen', 'customer', 'item', method => 'ease', params => '{"lambda": 10}');
SELECT count(*) AS same FROM eg1 JOIN recommend(7, 10, 'eg') r USING (item) WHERE r.score = eg1.score;

-- bad input
SELECT * FROM train('bad', 'ease_orders', 'customer', 'item', method => 'ease', params => '{"lambda": 0}');
SELECT * FROM train('bad', 'ease_orders', 'customer', 'item', method => 'ease', params => '{"lambda": -5}');
SELECT * FROM train('bad', 'ease_orders', 'customer', 'item', method => 'ease', params => '{"lambda": "big"}');
SELECT * FROM train('bad', 'ease_orders', 'customer', 'item', method => 'ease', neighbours => 5);
CREATE TABLE ease_bad (customer int, item int, r float8);
INSERT INTO ease_bad VALUES (1, 1, 'NaN');
SELECT * FROM train('bad', 'ease_bad', 'customer', 'item', 'r', method => 'ease');
UPDATE ease_bad SET r = '-Infinity';
SELECT * FROM train('bad', 'ease_bad', 'customer', 'item', 'r', method => 'ease');
DELETE FROM ease_bad;
SELECT * FROM train('bad', 'ease_bad', 'customer', 'item', 'r', method => 'ease');
-- too many items for the memory limit: refused up front with the numbers
SET recpromo.memory_limit = '1MB';
CREATE TABLE ease_wide AS SELECT g % 10 AS customer, g AS item FROM generate_series(1, 400) g;
SELECT * FROM train('bad', 'ease_wide', 'customer', 'item', method => 'ease');
RESET recpromo.memory_limit;
SELECT count(*) FROM models WHERE name = 'bad';
SELECT * FROM similar_items(NULL::int, 5, 'e');
SELECT * FROM similar_items(1, -1, 'e');
SELECT count(*) FROM similar_items(99, 5, 'e');
SELECT * FROM similar_users(11, 5, 'e');
SELECT * FROM recommend(13, NULL, 'e');

SELECT drop_model(name) FROM models ORDER BY name;
DROP TABLE ease_pair, ease_orders, ease_gen, ease_bad, ease_wide;
