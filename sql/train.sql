-- Training, the models view, drop_model, set_default_model and every bad input.
SET search_path = public, recpromo;
SET client_min_messages = warning;
-- start from an empty catalogue (tests share one database)
SELECT count(*) >= 0 AS clean FROM (SELECT drop_model(name) FROM models) d;

CREATE TABLE ratings (user_id int, item_id int, rating float8);
INSERT INTO ratings VALUES
  (1, 1, 5), (1, 2, 4), (1, 3, 3), (1, 4, 2), (1, 5, 1),
  (2, 1, 4), (2, 2, 3), (2, 3, 2), (2, 4, 1), (2, 5, 5),
  (3, 2, 5), (3, 4, 4), (3, 6, 1),
  (4, 1, 1), (4, 6, 4), (4, 6, 1);          -- a repeated (user, item): summed to 5

SELECT name, method, is_default, params, user_type, item_type, n_users, n_items, nnz, final_loss
FROM train('pop', 'ratings', 'user_id', 'item_id', 'rating', method => 'popularity');
-- popularity = distinct users per item; ties by key order
SELECT * FROM recommend(99, 6, model => 'pop');
-- by => 'sum': summed ratings (item 6: 1 + 4 + 1 = 6)
SELECT name, params FROM train('pop_sum', 'ratings', 'user_id', 'item_id', 'rating',
    method => 'popularity', params => '{"by": "sum"}');
SELECT item, score FROM recommend(99, 3, model => 'pop_sum');

-- the first model trained is the default; set_default_model moves it
SELECT name, is_default FROM models ORDER BY name;
SELECT set_default_model('pop_sum');
SELECT name, is_default FROM models ORDER BY name;
SELECT item FROM recommend(99, 1);
SELECT set_default_model('nope');

-- implicit counts: without a rating column every row counts 1
SELECT name, nnz FROM train('pop_rows', 'ratings', 'user_id', 'item_id', method => 'popularity');

-- sizes are reported
SELECT name, size_bytes > 0 AS has_size, train_seconds >= 0 AS timed FROM models ORDER BY name;

-- NULL keys and ratings are skipped with a notice
INSERT INTO ratings VALUES (NULL, 1, 1), (5, NULL, 1), (5, 1, NULL);
SELECT name, nnz, rows_read, rows_skipped FROM train('pop', 'ratings', 'user_id', 'item_id', 'rating', method => 'popularity');
DELETE FROM ratings WHERE user_id IS NULL OR item_id IS NULL OR rating IS NULL;

-- bad inputs
SELECT * FROM train('x', 'no_such_table', 'user_id', 'item_id');
SELECT * FROM train('x', 'ratings', 'user_id', 'nope', method => 'popularity');
SELECT * FROM train('x', 'ratings', 'nope', 'item_id', method => 'popularity');
SELECT * FROM train('x', 'ratings', 'user_id', 'item_id', 'nope', method => 'popularity');
CREATE TABLE text_ratings (u int, i int, r text);
INSERT INTO text_ratings VALUES (1, 1, 'good');
SELECT * FROM train('x', 'text_ratings', 'u', 'i', 'r', method => 'popularity');
\set VERBOSITY terse
SELECT * FROM train('x', 'ratings', 'user_id', 'item_id', method => 'magic');  -- the hint lists the methods
\set VERBOSITY default
SELECT * FROM train('', 'ratings', 'user_id', 'item_id', method => 'popularity');
SELECT * FROM train(repeat('x', 64), 'ratings', 'user_id', 'item_id', method => 'popularity');
SELECT * FROM train(NULL, 'ratings', 'user_id', 'item_id', method => 'popularity');
SELECT * FROM train('x', 'ratings', 'user_id', 'item_id', method => 'popularity', factors => 8);
SELECT * FROM train('x', 'ratings', 'user_id', 'item_id', method => 'popularity', params => '{"by": "money"}');
SELECT * FROM train('x', 'ratings', 'user_id', 'item_id', method => 'popularity', params => '{"by": 3}');
SELECT * FROM train('x', 'ratings', 'user_id', 'item_id', method => 'popularity', params => '[1]');
SELECT * FROM train('x', 'ratings', 'user_id', 'item_id', method => 'user_knn', neighbours => 0);
SELECT * FROM train('x', 'ratings', 'user_id', 'item_id', method => 'user_knn', params => '{"shrink": -1}');
CREATE TABLE empty_ratings (user_id int, item_id int, rating float8);
SELECT * FROM train('x', 'empty_ratings', 'user_id', 'item_id', 'rating', method => 'popularity');

-- a failed retraining leaves the old model in place (atomic replacement)
SELECT nnz FROM models WHERE name = 'pop';
INSERT INTO ratings VALUES (7, 7, 'NaN');
SELECT * FROM train('pop', 'ratings', 'user_id', 'item_id', 'rating', method => 'popularity');
INSERT INTO ratings VALUES (8, 8, 'Infinity');
DELETE FROM ratings WHERE rating = 'NaN';
SELECT * FROM train('pop', 'ratings', 'user_id', 'item_id', 'rating', method => 'popularity');
DELETE FROM ratings WHERE rating = 'Infinity';
SELECT nnz FROM models WHERE name = 'pop';
SELECT item, score FROM recommend(99, 2, model => 'pop');

-- a retraining replaces the model and its parts; no orphaned parts remain
INSERT INTO ratings VALUES (6, 6, 1);
SELECT nnz FROM train('pop', 'ratings', 'user_id', 'item_id', 'rating', method => 'popularity');
SELECT count(*) AS orphan_parts FROM recpromo.model_part p
WHERE NOT EXISTS (SELECT 1 FROM recpromo.model m WHERE m.id = p.model_id);

-- views and text keys (SKUs) work as sources
CREATE VIEW sku_orders AS
  SELECT 'C' || user_id AS customer, 'SKU-' || item_id AS sku, rating AS qty FROM ratings;
SELECT name, user_type, item_type, n_users, n_items FROM train('sku', 'sku_orders', 'customer', 'sku', 'qty', method => 'popularity');
SELECT * FROM recommend('C1'::text, 3, model => 'sku');

-- the source is read with the caller's privileges and row-level security
-- (a trainer needs no privilege on the model tables: see model_owners)
CREATE ROLE recpromo_clerk;
GRANT USAGE ON SCHEMA recpromo TO recpromo_clerk;
CREATE TABLE shop_orders (shop int, user_id int, item_id int);
INSERT INTO shop_orders SELECT s, u, i FROM generate_series(1, 2) s, generate_series(1, 3) u, generate_series(1, 4) i WHERE (u + i + s) % 2 = 0;
ALTER TABLE shop_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_shop_1 ON shop_orders USING (shop = 1);
SET ROLE recpromo_clerk;
SELECT * FROM train('clerk', 'shop_orders', 'user_id', 'item_id', method => 'popularity');
RESET ROLE;
GRANT SELECT ON shop_orders TO recpromo_clerk;
SET ROLE recpromo_clerk;
SELECT name, nnz, rows_read FROM train('clerk', 'shop_orders', 'user_id', 'item_id', method => 'popularity');
RESET ROLE;
SELECT count(*) AS all_rows, count(*) FILTER (WHERE shop = 1) AS visible_rows FROM shop_orders;
SELECT drop_model('clerk');
REVOKE ALL ON SCHEMA recpromo FROM recpromo_clerk;
DROP TABLE shop_orders;
DROP ROLE recpromo_clerk;

-- cancel: statement_timeout stops a long read
CREATE VIEW huge AS SELECT g AS user_id, g % 1000 AS item_id FROM generate_series(1, 100000000) g;
SET statement_timeout = '200ms';
SELECT * FROM train('huge', 'huge', 'user_id', 'item_id', method => 'popularity');
RESET statement_timeout;
SELECT count(*) FROM models WHERE name = 'huge';

-- memory limit: refused up front with both numbers
CREATE TABLE big_ratings AS SELECT g AS user_id, g % 100 AS item_id FROM generate_series(1, 20000) g;
ANALYZE big_ratings;
SET recpromo.memory_limit = '1MB';
SELECT * FROM train('big', 'big_ratings', 'user_id', 'item_id', method => 'popularity');
-- the reader's plan follows its real need (28 bytes a row, the keys, the row pointers;
-- 1174 kB here on one thread): 1 kB below is refused (54000), the need itself is allowed
SET recpromo.max_threads = 1;
\set VERBOSITY sqlstate
SET recpromo.memory_limit = '1173kB';
SELECT name FROM train('big', 'big_ratings', 'user_id', 'item_id', method => 'popularity');
\set VERBOSITY default
SET recpromo.memory_limit = '1174kB';
SELECT name, n_users, n_items, nnz FROM train('big', 'big_ratings', 'user_id', 'item_id', method => 'popularity');
SELECT drop_model('big');
-- 200,000 rows fit in 8 MB (the old plan of 96 bytes a row refused them);
-- 5 MB is refused up front, from the planner's row count
CREATE TABLE big_ratings2 AS SELECT g % 5000 AS user_id, g % 997 AS item_id FROM generate_series(1, 200000) g;
ANALYZE big_ratings2;
SET recpromo.memory_limit = '8MB';
SELECT name, n_users, n_items, nnz FROM train('big2', 'big_ratings2', 'user_id', 'item_id', method => 'popularity');
SET recpromo.memory_limit = '5MB';
SELECT name FROM train('big2', 'big_ratings2', 'user_id', 'item_id', method => 'popularity');
SELECT drop_model('big2');
DROP TABLE big_ratings2;
RESET recpromo.memory_limit;
RESET recpromo.max_threads;

-- drop_model
SELECT drop_model('pop_rows');
SELECT drop_model('pop_rows');
SELECT drop_model('pop_rows', if_exists => true);
SELECT drop_model(NULL);
SELECT name FROM models ORDER BY name;

-- leave the catalogue empty for the next test
SELECT count(*) AS dropped FROM (SELECT drop_model(name) FROM models) d;
DROP VIEW huge, sku_orders;
DROP TABLE ratings, text_ratings, empty_ratings, big_ratings;
