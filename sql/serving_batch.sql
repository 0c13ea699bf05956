-- recommend_all on a factor model (blocked products) and on other methods,
-- against plain-SQL references; key types; materialized views refreshed
-- concurrently after a retrain; the `factors` method (imported embeddings)
-- and every bad input.
SET search_path = public, recpromo;
SET client_min_messages = warning;

CREATE TABLE sb_orders (user_id int, item_id int);
INSERT INTO sb_orders
SELECT u, i FROM generate_series(1, 40) u, generate_series(1, 30) i
WHERE (u * 7 + i * 3) % 5 = 0;
CREATE TABLE sb_user_emb (id int, factors float8[]);
INSERT INTO sb_user_emb SELECT u, ARRAY[sin(u), cos(3 * u), (u % 7) / 7.0 - 0.4]
FROM generate_series(1, 40) u;
CREATE TABLE sb_item_emb (id bigint, factors float4[]);
INSERT INTO sb_item_emb SELECT i, ARRAY[cos(i), sin(2 * i), (i % 4) / 4.0 - 0.3]::float4[]
FROM generate_series(1, 30) i;

SELECT name, method, n_users, n_items, nnz, params
FROM train('emb', 'sb_orders', 'user_id', 'item_id', method => 'factors',
           params => '{"user_factors": "sb_user_emb", "item_factors": "sb_item_emb"}');

-- reference: every user's top 5 by the dot product, seen items left out
CREATE VIEW sb_ref_top AS
SELECT user_id, item, score, rank FROM (
  SELECT u.id AS user_id, i.id AS item,
         (SELECT sum(a * b) FROM unnest(u.factors, i.factors::float8[]) x(a, b)) AS score,
         row_number() OVER (PARTITION BY u.id ORDER BY
           (SELECT sum(a * b) FROM unnest(u.factors, i.factors::float8[]) x(a, b)) DESC, i.id) AS rank
  FROM sb_user_emb u CROSS JOIN sb_item_emb i
  WHERE NOT EXISTS (SELECT 1 FROM sb_orders o WHERE o.user_id = u.id AND o.item_id = i.id)) s
WHERE rank <= 5;

SELECT count(*) AS rows, count(DISTINCT user_id) AS users FROM recommend_all(5, 'emb');
-- identical to the reference (items, ranks, scores to 1e-9)
SELECT count(*) AS mismatches FROM recommend_all(5, 'emb') a
FULL JOIN sb_ref_top r USING (user_id, rank)
WHERE a.item IS DISTINCT FROM r.item OR round(a.score::numeric, 9) IS DISTINCT FROM round(r.score::numeric, 9);
-- identical to recommend() for every user
SELECT count(*) AS mismatches FROM recommend_all(5, 'emb') a
FULL JOIN (SELECT u.id::bigint AS user_id, r.* FROM sb_user_emb u,
           LATERAL recommend(u.id::bigint, 5, 'emb') r) b USING (user_id, rank)
WHERE a.item IS DISTINCT FROM b.item OR round(a.score::numeric, 9) IS DISTINCT FROM round(b.score::numeric, 9);
-- one user in full
SELECT user_id, item, round(score::numeric, 9) AS score, rank FROM recommend_all(3, 'emb') WHERE user_id = 7 ORDER BY rank;
SELECT item, round(score::numeric, 6) AS score, rank FROM sb_ref_top WHERE user_id = 7 AND rank <= 3 ORDER BY rank;
-- exclude_seen => false keeps bought items
SELECT count(*) AS bought_in_top FROM recommend_all(30, 'emb', exclude_seen => false) a
JOIN sb_orders o ON o.user_id = a.user_id AND o.item_id = a.item;
SELECT count(*) AS bought_in_top FROM recommend_all(30, 'emb') a
JOIN sb_orders o ON o.user_id = a.user_id AND o.item_id = a.item;
-- n above the eligible count: every eligible item once
SELECT count(*) = (SELECT 40 * 30 - count(*) FROM sb_orders) AS all_eligible FROM recommend_all(1000, 'emb');
-- n = 0: nothing
SELECT count(*) FROM recommend_all(0, 'emb');
-- threads do not change the result (recpromo.max_threads is superuser-only)
SET recpromo.max_threads = 2;
SELECT count(*) AS mismatches FROM recommend_all(5, 'emb') a
FULL JOIN sb_ref_top r USING (user_id, rank)
WHERE a.item IS DISTINCT FROM r.item;
RESET recpromo.max_threads;

-- typed form: key types chosen by typed NULLs
SELECT pg_typeof(user_id) AS user_type, pg_typeof(item) AS item_type, count(*)
FROM recommend_all(NULL::int, NULL::text, 2, 'emb') GROUP BY 1, 2;
CREATE TABLE sb_orders_txt AS SELECT 'C' || user_id AS cust, 'SKU-' || item_id AS sku FROM sb_orders;
CREATE TABLE sb_user_emb_txt AS SELECT 'C' || id AS id, factors FROM sb_user_emb;
CREATE TABLE sb_item_emb_txt AS SELECT 'SKU-' || id AS id, factors FROM sb_item_emb;
SELECT name, n_users, n_items FROM train('emb_txt', 'sb_orders_txt', 'cust', 'sku', method => 'factors',
    params => '{"user_factors": "sb_user_emb_txt", "item_factors": "sb_item_emb_txt"}');
SELECT count(*) AS mismatches FROM recommend_all(NULL::text, NULL::text, 5, 'emb_txt') a
FULL JOIN (SELECT 'C' || user_id AS user_id, 'SKU-' || item AS item, score, rank FROM sb_ref_top) r
USING (user_id, rank)
WHERE a.item IS DISTINCT FROM r.item OR round(a.score::numeric, 9) IS DISTINCT FROM round(r.score::numeric, 9);
SELECT user_id, item, round(score::numeric, 9) AS score, rank FROM recommend_all(NULL::text, NULL::varchar, 2, 'emb_txt') WHERE user_id = 'C7' ORDER BY rank;
-- text keys that are not integers cannot come back as bigint
SELECT * FROM recommend_all(2, 'emb_txt');

-- a method without factors is scored user by user, as recommend() does
SELECT name FROM train('pop', 'sb_orders', 'user_id', 'item_id', method => 'popularity');
SELECT count(*) AS mismatches FROM recommend_all(4, 'pop') a
FULL JOIN (SELECT u.id::bigint AS user_id, r.* FROM sb_user_emb u,
           LATERAL recommend(u.id::bigint, 4, 'pop') r) b USING (user_id, rank)
WHERE a.item IS DISTINCT FROM b.item OR a.score IS DISTINCT FROM b.score;

-- ALS models (factors with biases riding in the rows): recommend_all = recommend(),
-- and the fast path of recommend() = its general path (forced by an empty boost table)
CREATE TABLE sb_no_boost (item_id int, weight float8);
SELECT name FROM train('sb_als', 'sb_orders', 'user_id', 'item_id', method => 'als', factors => 4, seed => 1);
SELECT count(*) AS mismatches FROM recommend_all(5, 'sb_als') a
FULL JOIN (SELECT u.id::bigint AS user_id, r.* FROM sb_user_emb u,
           LATERAL recommend(u.id::bigint, 5, 'sb_als') r) b USING (user_id, rank)
WHERE a.item IS DISTINCT FROM b.item OR round(a.score::numeric, 9) IS DISTINCT FROM round(b.score::numeric, 9);
SELECT count(*) AS mismatches FROM sb_user_emb u,
  LATERAL (SELECT array_agg(item ORDER BY rank) AS a, array_agg(round(score::numeric, 9) ORDER BY rank) AS s
           FROM recommend(u.id, 5, 'sb_als')) f,
  LATERAL (SELECT array_agg(item ORDER BY rank) AS a, array_agg(round(score::numeric, 9) ORDER BY rank) AS s
           FROM recommend(u.id, 5, 'sb_als', boosts => 'sb_no_boost')) g
WHERE f.a IS DISTINCT FROM g.a OR f.s IS DISTINCT FROM g.s;
CREATE TABLE sb_ratings AS SELECT user_id, item_id, 1 + (user_id * item_id) % 5 AS rating FROM sb_orders;
SELECT name FROM train('sb_alsx', 'sb_ratings', 'user_id', 'item_id', 'rating', method => 'als_explicit',
                       factors => 3, seed => 1);
SELECT count(*) AS mismatches FROM recommend_all(5, 'sb_alsx') a
FULL JOIN (SELECT u.id::bigint AS user_id, r.* FROM sb_user_emb u,
           LATERAL recommend(u.id::bigint, 5, 'sb_alsx') r) b USING (user_id, rank)
WHERE a.item IS DISTINCT FROM b.item OR round(a.score::numeric, 9) IS DISTINCT FROM round(b.score::numeric, 9);
SELECT count(*) AS mismatches FROM sb_user_emb u,
  LATERAL (SELECT array_agg(item ORDER BY rank) AS a FROM recommend(u.id, 5, 'sb_alsx')) f,
  LATERAL (SELECT array_agg(item ORDER BY rank) AS a FROM recommend(u.id, 5, 'sb_alsx', boosts => 'sb_no_boost')) g
WHERE f.a IS DISTINCT FROM g.a;

-- materialized view, unique index, concurrent refresh after a retrain
CREATE MATERIALIZED VIEW sb_user_recs AS SELECT * FROM recommend_all(5, 'emb');
CREATE UNIQUE INDEX ON sb_user_recs (user_id, rank);
SELECT count(*) AS mismatches FROM sb_user_recs a FULL JOIN sb_ref_top r USING (user_id, rank)
WHERE a.item IS DISTINCT FROM r.item;
UPDATE sb_item_emb SET factors = ARRAY[sin(id), cos(2 * id), (id % 3) / 3.0 - 0.2]::float4[];
SELECT name FROM train('emb', 'sb_orders', 'user_id', 'item_id', method => 'factors',
           params => '{"user_factors": "sb_user_emb", "item_factors": "sb_item_emb"}');
SELECT count(*) > 0 AS stale FROM sb_user_recs a FULL JOIN sb_ref_top r USING (user_id, rank)
WHERE a.item IS DISTINCT FROM r.item;
REFRESH MATERIALIZED VIEW CONCURRENTLY sb_user_recs;
SELECT count(*) AS mismatches FROM sb_user_recs a FULL JOIN sb_ref_top r USING (user_id, rank)
WHERE a.item IS DISTINCT FROM r.item OR round(a.score::numeric, 9) IS DISTINCT FROM round(r.score::numeric, 9);

-- bad inputs
SELECT * FROM recommend_all(NULL);
SELECT * FROM recommend_all(-1);
SELECT * FROM recommend_all(10001);
SELECT * FROM recommend_all(5, 'no_such_model');
SELECT * FROM recommend_all(NULL::int, NULL::int, NULL, 'emb');
SELECT _sgemm_gflops(0, 10, 10);
SELECT _sgemm_gflops(64, 64, 8) > 0 AS measured;
-- leave no model behind
SELECT count(*) AS dropped FROM (SELECT drop_model(name) FROM models) d;
DROP MATERIALIZED VIEW sb_user_recs;
DROP VIEW sb_ref_top;
DROP TABLE sb_no_boost, sb_ratings, sb_orders, sb_user_emb, sb_item_emb, sb_orders_txt, sb_user_emb_txt, sb_item_emb_txt;
