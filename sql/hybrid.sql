-- hybrid: a blend of item_knn and content, content taking over for thin histories.
SET search_path = recpromo, public;
SET client_min_messages = warning;

CREATE TABLE hy_products (sku int, category text, tags text[]);
INSERT INTO hy_products VALUES
  (1, 'toys', '{red}'), (2, 'toys', '{blue}'), (3, 'garden', '{red}'),
  (4, 'garden', '{green}'), (5, 'toys', '{red}'), (6, 'garden', '{blue}');
-- product 5 and 6 are new: nobody bought them yet
CREATE TABLE hy_orders (customer int, sku int);
INSERT INTO hy_orders VALUES
  (100, 1), (100, 2), (100, 3),
  (101, 1), (101, 2),
  (102, 2), (102, 3), (102, 4),
  (103, 3), (103, 4),
  (104, 1);

SELECT n_items FROM train('hk', 'hy_orders', 'customer', 'sku', method => 'item_knn', neighbours => 10);
SELECT n_items FROM train_content('hc', 'hy_orders', 'customer', 'sku', 'hy_products', '{category,tags}');
-- the hybrid's items are the union of its components' (6: the new products included)
SELECT name, method, n_users, n_items, params FROM train_hybrid('h', 'hk', 'hc', weight => 0.8, min_history => 2);

-- Reference computed in SQL from the components' own scores:
-- a = 0.8 * min(1, h_u / 2), e = min(1, buyers_j / 2);  s = a * e * sA / max|sA| + (1 - a) * sB / max|sB|
CREATE FUNCTION hy_reference(u int) RETURNS TABLE (item int, score float8) LANGUAGE sql AS $$
  WITH a AS (SELECT item, score FROM recpromo.recommend(u, 100, 'hk', exclude_seen => false)),
       b AS (SELECT item, score FROM recpromo.recommend(u, 100, 'hc', exclude_seen => false)),
       ma AS (SELECT coalesce(nullif(max(abs(score)), 0), 1) AS m FROM a),
       mb AS (SELECT coalesce(nullif(max(abs(score)), 0), 1) AS m FROM b),
       pop AS (SELECT sku AS item, count(DISTINCT customer) AS c FROM hy_orders GROUP BY sku),
       h AS (SELECT count(DISTINCT sku) AS h FROM hy_orders WHERE customer = u),
       items AS (SELECT item FROM a UNION SELECT item FROM b)
  SELECT i.item,
         al * ev * coalesce(a.score, 0) / ma.m + (1 - al) * coalesce(b.score, 0) / mb.m
  FROM items i LEFT JOIN a USING (item) LEFT JOIN b USING (item) LEFT JOIN pop USING (item),
       ma, mb, h,
       LATERAL (SELECT 0.8 * least(1, h.h / 2.0) AS al, least(1, coalesce(pop.c, 0) / 2.0) AS ev) x
$$;
SELECT u, count(*) AS items,
       count(*) FILTER (WHERE abs(r.score - x.score) < 1e-9) AS agree
FROM (VALUES (100), (101), (104)) v(u),
     LATERAL (SELECT * FROM recommend(v.u, 100, 'h', exclude_seen => false)) r
     JOIN LATERAL hy_reference(v.u) x USING (item)
GROUP BY u ORDER BY u;

-- customer 104 bought only 1 (h = 1): a = 0.4; the new product 5 (same attributes as 1, no
-- buyers: e = 0) keeps (1 - a) * 1.0 = 0.6 of its content score, so it still makes the list,
-- after 2, which both components support
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(104, 3, 'h');
-- recommend_all serves every user exactly as recommend() does
SELECT count(*) AS rows, count(*) FILTER (WHERE b.item IS DISTINCT FROM a.item
       OR round(a.score::numeric, 9) IS DISTINCT FROM round(b.score::numeric, 9)) AS mismatches
FROM recommend_all(3, 'h') a
FULL JOIN (SELECT c::bigint AS user_id, r.* FROM (SELECT DISTINCT customer AS c FROM hy_orders) x,
           LATERAL recommend(c, 3, 'h') r) b USING (user_id, rank);
-- customer 101 (h = 2, a = 0.8): product 3 is co-bought with 1 and 2 (item_knn); 5, 1's twin
-- in content but bought by nobody, gets only 0.2 * 1.0 and ranks below the supported items
SELECT item, round(score::numeric, 4) AS score, rank FROM recommend(101, 4, 'h');
SELECT history_item, round(contribution::numeric, 4) AS contribution, rank
FROM explain_recommendation(101, 3, 'h');
-- the explanation splits the score: contributions add up to it
SELECT round((SELECT sum(contribution) FROM explain_recommendation(101, 3, 'h'))::numeric, 6)
     = round(predict(101, 3, 'h')::numeric, 6) AS adds_up;
-- a new customer folded in from the live table; then one with nothing: popularity
INSERT INTO hy_orders VALUES (105, 4);
SELECT u, count(*) FILTER (WHERE abs(r.score - x.score) < 1e-9) AS agree
FROM (VALUES (105)) v(u),
     LATERAL (SELECT * FROM recommend(v.u, 100, 'h', exclude_seen => false)) r
     JOIN LATERAL hy_reference(v.u) x USING (item)
GROUP BY u;
SELECT item, rank FROM recommend(999, 2, 'h');
-- item similarities blend too; new product 6 is related through content only
SELECT item, round(similarity::numeric, 4) AS sim, rank FROM similar_items(6, 3, 'h');

-- weight 1 and min_history 0: the first model alone (scaled), on the 4 products it knows
SELECT params FROM train_hybrid('h1', 'hk', 'hc', weight => 1, min_history => 0);
SELECT count(*) AS same
FROM recommend(100, 6, 'h1', exclude_seen => false) a
JOIN (SELECT item, score / max(abs(score)) OVER () AS score
      FROM recommend(100, 6, 'hk', exclude_seen => false)) b USING (item)
WHERE abs(a.score - b.score) < 1e-9;

-- a component retrained is picked up by the hybrid at its next use
SELECT n_items FROM train('hk', 'hy_orders', 'customer', 'sku', method => 'item_knn', neighbours => 1);
SELECT u, count(*) FILTER (WHERE abs(r.score - x.score) < 1e-9) AS agree
FROM (VALUES (100)) v(u),
     LATERAL (SELECT * FROM recommend(v.u, 100, 'h', exclude_seen => false)) r
     JOIN LATERAL hy_reference(v.u) x USING (item)
GROUP BY u;

-- bad input
SELECT * FROM train_hybrid('bad', 'hk', 'nope');
SELECT * FROM train_hybrid('bad', 'nope', 'hk');
SELECT * FROM train_hybrid('bad', 'hk', NULL);
SELECT * FROM train_hybrid('bad', 'hk', 'hc', weight => 1.5);
SELECT * FROM train_hybrid('bad', 'hk', 'hc', weight => 'NaN');
SELECT * FROM train_hybrid('bad', 'hk', 'hc', min_history => -1);
SELECT * FROM train_hybrid('bad', 'h', 'hc');
SELECT * FROM train('bad', 'hy_orders', 'customer', 'sku', method => 'hybrid');
SELECT * FROM train('bad', 'hy_orders', 'customer', 'sku', method => 'hybrid', params => '{"models": ["hk"]}');
SELECT * FROM train('bad', 'hy_orders', 'customer', 'sku', method => 'hybrid', params => '{"models": ["hk", 3]}');
SELECT * FROM train('bad', 'hy_orders', 'customer', 'sku', method => 'hybrid', params => '{"models": ["bad", "hk"]}');
CREATE TABLE hy_text (customer text, sku text);
INSERT INTO hy_text VALUES ('a', 'x');
SELECT * FROM train('bad', 'hy_text', 'customer', 'sku', method => 'hybrid', params => '{"models": ["hk", "hc"]}');
SELECT count(*) FROM models WHERE name = 'bad';
SELECT * FROM similar_items(NULL::int, 3, 'h');
SELECT * FROM recommend(100, -1, 'h');
SELECT * FROM similar_users(100, 3, 'h');
-- a dropped component: a clear error at serving time
SELECT drop_model('hc');
SELECT * FROM recommend(100, 3, 'h');

SELECT drop_model(name) FROM models ORDER BY name;
DROP FUNCTION hy_reference(int);
DROP TABLE hy_products, hy_orders, hy_text;
