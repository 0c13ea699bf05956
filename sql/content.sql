-- content: TF-IDF item attribute vectors, user profiles, new items on day one.
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- Five products; 5 is new (no orders yet).  Tokens: category=toys (items 1, 2, 5),
-- category=garden (3, 4), tags=red (1, 3, 5), tags=blue (2), tags=green (4).
-- idf = ln((1 + 5) / (1 + df)) + 1: df 3 -> 1.4055, df 2 -> 1.6931, df 1 -> 2.0986.
-- Unit vectors:  1 = 5 = (toys .7071, red .7071)   2 = (toys .5564, blue .8309)
--                3 = (garden .7694, red .6387)     4 = (garden .6279, green .7783)
-- cos(1,5) = 1, cos(1,3) = .7071 * .6387 = .4516, cos(1,2) = .7071 * .5564 = .3935,
-- cos(3,4) = .7694 * .6279 = .4831, cos(1,4) = 0 (checked with numpy).
CREATE TABLE ct_products (sku int, category text, tags text[], price numeric, title text);
INSERT INTO ct_products VALUES
  (1, 'Toys', '{red}', 10, 'red toy car'),
  (2, 'toys ', '{blue}', 20, 'blue toy car'),
  (3, 'garden', '{red}', 30, 'red garden chair'),
  (4, 'garden', '{green}', 40, 'green garden hose'),
  (5, 'toys', '{red,NULL}', NULL, NULL);
CREATE TABLE ct_orders (customer int, sku int);
INSERT INTO ct_orders VALUES (100, 1), (101, 2), (101, 4), (102, 3);

SELECT name, method, n_users, n_items, nnz, params
FROM train_content('c', 'ct_orders', 'customer', 'sku', 'ct_products', '{category,tags}');

SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(1, 5, 'c');
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(3, 5, 'c');
-- the new product 5 comes first for customer 100, who bought its twin 1
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(100, 3, 'c');
-- customer 101 (2, 4): profile v2 + v4, |p| = sqrt(2); score(3) = .6279 * .7694 / sqrt(2) = .3416,
-- score(1) = score(5) = .5564 * .7071 / sqrt(2) = .2782
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(101, 3, 'c');
SELECT history_item, round(contribution::numeric, 4) AS contribution, rank
FROM explain_recommendation(101, 3, 'c');
SELECT round(predict(101, 5, 'c')::numeric, 4) AS new_item;
-- recommend_all serves every user exactly as recommend() does
SELECT count(*) AS rows, count(*) FILTER (WHERE b.item IS DISTINCT FROM a.item
       OR round(a.score::numeric, 9) IS DISTINCT FROM round(b.score::numeric, 9)) AS mismatches
FROM recommend_all(3, 'c') a
FULL JOIN (SELECT c::bigint AS user_id, r.* FROM (SELECT DISTINCT customer AS c FROM ct_orders) x,
           LATERAL recommend(c, 3, 'c') r) b USING (user_id, rank);
-- a customer newer than the model is folded in from the live table
INSERT INTO ct_orders VALUES (103, 4);
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(103, 2, 'c');
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend_for_items(ARRAY[5], 2, 'c');

-- words of multi-word text values and price bands (ntile 2: 10, 20 -> band 1; 30, 40 -> band 2)
SELECT params->'attribute_columns' AS cols, params->'n_tokens' AS n_tokens
FROM train_content('c2', 'ct_orders', 'customer', 'sku', 'ct_products', '{title,price}', buckets => 2);
-- 1 'red toy car', band 1 vs 2 'blue toy car', band 1: share title:toy, title:car, price#1.
-- Item 5 has neither a title nor a price, so this model has N = 4 items and 14 tokens;
-- numpy on the same tokens gives cos(1,2) = 0.5080, cos(1,3) = 0.1693 (title:red).
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(1, 5, 'c2');
-- without words only whole titles and bands are tokens: 1 and 2 share the band only
SELECT params->'n_tokens' AS n_tokens
FROM train_content('c3', 'ct_orders', 'customer', 'sku', 'ct_products', '{title,price}',
                   buckets => 2, words => false);
SELECT item, rank FROM similar_items(1, 5, 'c3');

-- the same through train() with params (a schema-qualified table name)
SELECT params->>'attributes' AS attributes FROM train('c4', 'ct_orders', 'customer', 'sku', method => 'content',
    params => '{"attributes": "recpromo.ct_products", "attribute_columns": ["category", "tags"]}');
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(3, 5, 'c4');

-- bad input
SELECT * FROM train('bad', 'ct_orders', 'customer', 'sku', method => 'content');
SELECT * FROM train('bad', 'ct_orders', 'customer', 'sku', method => 'content',
    params => '{"attributes": "recpromo.ct_products"}');
SELECT * FROM train('bad', 'ct_orders', 'customer', 'sku', method => 'content',
    params => '{"attributes": "recpromo.no_such_table", "attribute_columns": ["category"]}');
SELECT * FROM train('bad', 'ct_orders', 'customer', 'sku', method => 'content',
    params => '{"attributes": 5, "attribute_columns": ["category"]}');
SELECT * FROM train('bad', 'ct_orders', 'customer', 'sku', method => 'content',
    params => '{"attributes": "recpromo.ct_products", "attribute_columns": "category"}');
SELECT * FROM train('bad', 'ct_orders', 'customer', 'sku', method => 'content',
    params => '{"attributes": "recpromo.ct_products", "attribute_columns": []}');
SELECT * FROM train_content('bad', 'ct_orders', 'customer', 'sku', 'ct_products', '{colour}');
SELECT * FROM train_content('bad', 'ct_orders', 'customer', 'sku', 'ct_products', '{category}',
                            attribute_key => 'nope');
SELECT * FROM train_content('bad', 'ct_orders', 'customer', 'sku', 'ct_products', '{category}',
                            attribute_key => 'title');
SELECT * FROM train_content('bad', 'ct_orders', 'customer', 'sku', 'ct_products', '{category}',
                            buckets => 0);
SELECT * FROM train_content('bad', 'ct_orders', 'customer', 'sku', 'ct_products', NULL);
CREATE TABLE ct_empty (sku int, category text);
SELECT * FROM train_content('bad', 'ct_orders', 'customer', 'sku', 'ct_empty', '{category}');
SELECT count(*) FROM models WHERE name = 'bad';
SELECT * FROM similar_items(NULL::int, 5, 'c');
SELECT count(*) FROM similar_items(42, 5, 'c');
SELECT * FROM similar_users(100, 5, 'c');

SELECT drop_model(name) FROM models ORDER BY name;
DROP TABLE ct_products, ct_orders, ct_empty;
