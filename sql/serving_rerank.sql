-- recommend()'s business re-ranking inside the selection: boosts from a
-- table (multiply or add), category filters and a per-category cap, against
-- plain-SQL references; the fast path of factor models against the
-- reference; every bad input.
SET search_path = public, recpromo;
SET client_min_messages = warning;

CREATE TABLE sr_clicks (user_id int, item_id int);
INSERT INTO sr_clicks SELECT u, i FROM generate_series(1, 6) u, generate_series(1, 12) i
WHERE (u + i) % 4 = 0;
CREATE TABLE sr_uf (id int, factors float8[]);
INSERT INTO sr_uf SELECT u, ARRAY[1.0, u / 10.0] FROM generate_series(1, 6) u;
CREATE TABLE sr_itf (id int, factors float8[]);
-- item i scores 1 + (i mod 5) / 10 + u * i / 100 for user u: distinct, known order
INSERT INTO sr_itf SELECT i, ARRAY[1 + (i % 5) / 10.0, i / 10.0] FROM generate_series(1, 12) i;
SELECT name FROM train('rr', 'sr_clicks', 'user_id', 'item_id', method => 'factors',
    params => '{"user_factors": "sr_uf", "item_factors": "sr_itf"}');

CREATE TABLE sr_promo (item_id int, weight float8);
INSERT INTO sr_promo VALUES (1, 3.0), (2, 0.5), (5, NULL), (99, 10);
CREATE TABLE sr_cat (item_id int, category text);
INSERT INTO sr_cat SELECT i, CASE WHEN i <= 4 THEN 'shoes' WHEN i <= 8 THEN 'bags' ELSE 'hats' END
FROM generate_series(1, 11) i;   -- item 12 has no category

-- reference scores of user 1 (seen items 3, 7, 11 left out)
CREATE VIEW sr_ref1 AS
SELECT i.id AS item, (SELECT sum(a * b) FROM sr_uf u, unnest(u.factors, i.factors) x(a, b) WHERE u.id = 1) AS score
FROM sr_itf i WHERE i.id NOT IN (SELECT item_id FROM sr_clicks WHERE user_id = 1);

-- plain recommend (fast path) equals the reference order
SELECT r.item, round(r.score::numeric, 9) AS score, r.rank FROM recommend(1, 5, 'rr') r;
SELECT item, round(score::numeric, 9) AS score FROM sr_ref1 ORDER BY score DESC, item LIMIT 5;
-- filters on the fast path: exactly min(n, eligible) rows
SELECT item, rank FROM recommend(1, 5, 'rr', only_items => ARRAY[1, 2, 3, 99]);
SELECT item, rank FROM recommend(1, 3, 'rr', exclude_items => ARRAY[12, 10]);

-- boosts, multiply: score * weight for items with a weight
SELECT item, round(score::numeric, 9) AS score, rank
FROM recommend(1, 4, 'rr', boosts => 'sr_promo');
SELECT r.item, round((r.score * coalesce(p.weight, 1))::numeric, 9) AS score
FROM sr_ref1 r LEFT JOIN sr_promo p ON p.item_id = r.item
ORDER BY r.score * coalesce(p.weight, 1) DESC, r.item LIMIT 4;
-- boosts, add, with other column names
CREATE TABLE sr_margin (sku int, extra numeric);
INSERT INTO sr_margin VALUES (4, 0.25), (6, -1);
SELECT item, round(score::numeric, 9) AS score, rank
FROM recommend(1, 4, 'rr', boosts => 'sr_margin', boost_item_col => 'sku', boost_col => 'extra', boost_mode => 'add');
SELECT r.item, round((r.score + coalesce(m.extra, 0))::numeric, 9) AS score
FROM sr_ref1 r LEFT JOIN sr_margin m ON m.sku = r.item
ORDER BY r.score + coalesce(m.extra, 0) DESC, r.item LIMIT 4;

-- only / never these categories
SELECT item, rank FROM recommend(1, 10, 'rr', categories => 'sr_cat', only_categories => ARRAY['bags', 'nope']);
SELECT item, rank FROM recommend(1, 10, 'rr', categories => 'sr_cat', exclude_categories => ARRAY['hats', 'shoes']);
-- at most one item per category (item 12 has none: never capped)
SELECT r.item, c.category, r.rank FROM recommend(1, 10, 'rr', categories => 'sr_cat', max_per_category => 1) r
LEFT JOIN sr_cat c ON c.item_id = r.item ORDER BY r.rank;
-- reference: greedy walk in score order
SELECT item, category FROM (
  SELECT r.item, c.category, r.score,
         row_number() OVER (PARTITION BY coalesce(c.category, 'item ' || r.item) ORDER BY r.score DESC, r.item) AS nth
  FROM sr_ref1 r LEFT JOIN sr_cat c ON c.item_id = r.item) s
WHERE nth <= 1 ORDER BY score DESC, item;
-- cap 2 with a boost and an item filter, together
SELECT item, rank FROM recommend(1, 4, 'rr', boosts => 'sr_promo', categories => 'sr_cat', max_per_category => 2,
                                 exclude_items => ARRAY[4]);
-- a folded-in user (not in the model) gets the same rules
INSERT INTO sr_clicks VALUES (50, 1), (50, 2);
SELECT count(*) AS n, bool_and(item NOT IN (1, 2)) AS skips_bought
FROM recommend(50, 3, 'rr', categories => 'sr_cat', max_per_category => 1);
-- the popularity method too
SELECT name FROM train('pop', 'sr_clicks', 'user_id', 'item_id', method => 'popularity');
SELECT item, score, rank FROM recommend(1, 3, 'pop', boosts => 'sr_promo', boost_mode => 'add');

-- bad inputs
SELECT * FROM recommend(1, 3, 'rr', boosts => 'sr_promo', boost_mode => 'power');
SELECT * FROM recommend(1, 3, 'rr', boosts => 'sr_promo', boost_col => 'nope');
SELECT * FROM recommend(1, 3, 'rr', boosts => 'sr_cat', boost_col => 'category');
SELECT * FROM recommend(1, 3, 'rr', boosts => 'sr_promo', boost_col => NULL);
SELECT * FROM recommend(1, 3, 'rr', max_per_category => 2);
SELECT * FROM recommend(1, 3, 'rr', only_categories => ARRAY['bags']);
SELECT * FROM recommend(1, 3, 'rr', categories => 'sr_cat', max_per_category => 0);
SELECT * FROM recommend(1, 3, 'rr', categories => 'sr_cat', category_col => 'nope');
SELECT * FROM recommend(1, 3, 'rr', categories => 'no_such_table');
INSERT INTO sr_promo VALUES (1, 2.0);
SELECT * FROM recommend(1, 3, 'rr', boosts => 'sr_promo');
DELETE FROM sr_promo WHERE item_id = 1 AND weight = 2.0;
INSERT INTO sr_promo VALUES (3, 'NaN');
SELECT * FROM recommend(1, 3, 'rr', boosts => 'sr_promo');
DELETE FROM sr_promo WHERE item_id = 3;
INSERT INTO sr_cat VALUES (1, 'socks');
SELECT * FROM recommend(1, 3, 'rr', categories => 'sr_cat');
DELETE FROM sr_cat WHERE category = 'socks';
CREATE ROLE rerank_nobody;
GRANT USAGE ON SCHEMA recpromo TO rerank_nobody;
GRANT SELECT ON ALL TABLES IN SCHEMA recpromo TO rerank_nobody;
SELECT grant_model('rr', 'rerank_nobody');
SET ROLE rerank_nobody;
SELECT * FROM recommend(1, 3, 'rr', boosts => 'sr_promo');
RESET ROLE;
SELECT revoke_model('rr', 'rerank_nobody');
REVOKE ALL ON ALL TABLES IN SCHEMA recpromo FROM rerank_nobody;
REVOKE USAGE ON SCHEMA recpromo FROM rerank_nobody;
DROP ROLE rerank_nobody;


-- leave no model behind
SELECT count(*) AS dropped FROM (SELECT drop_model(name) FROM models) d;
DROP VIEW sr_ref1;
DROP TABLE sr_clicks, sr_uf, sr_itf, sr_promo, sr_cat, sr_margin;
