-- ALS storage precision: the user factor rows are stored as float32 (part
-- "als_user_f4", n_users x dim x 4 bytes; the item rows stay float64), and
-- the training backend serves exactly what a reload serves.
SET search_path = recpromo, public;
SET client_min_messages = warning;

CREATE TABLE als_st_buys AS
SELECT u AS user_id, i AS item_id, (1 + (u * 7 + i * 3) % 4)::float8 AS qty
FROM generate_series(1, 50) u, generate_series(1, 40) i
WHERE (u * 31 + i * 17) % 3 = 0;

SELECT name, n_users, n_items FROM train('als_st', 'als_st_buys', 'user_id', 'item_id', 'qty',
    method => 'als', factors => 6, iterations => 4, seed => 3);
SELECT name, n_users, n_items FROM train('als_st_x', 'als_st_buys', 'user_id', 'item_id', 'qty',
    method => 'als_explicit', factors => 5, iterations => 4, seed => 3);

-- the parts' sizes: 4 bytes per user value (explicit rows are factors + 2
-- wide), 8 per item value; no float64 user part
SELECT m.name, p.part, sum(length(p.data)) AS bytes,
       CASE p.part WHEN 'als_user_f4' THEN m.n_users * 4
                   WHEN 'als_item' THEN m.n_items * 8 END
         * ((m.params->>'factors')::int + CASE m.method WHEN 'als_explicit' THEN 2 ELSE 0 END) AS expected
FROM model m JOIN model_part p ON p.model_id = m.id
WHERE m.name IN ('als_st', 'als_st_x') AND p.part LIKE 'als\_%'
GROUP BY m.name, m.method, m.n_users, m.n_items, m.params, p.part
ORDER BY m.name, p.part;

-- served in the training backend, exact scores as text
CREATE TABLE als_st_served AS
SELECT 'rec' AS what, m AS model, u, r.item, r.rank, r.score::text AS score
FROM unnest(ARRAY['als_st', 'als_st_x']) m, generate_series(1, 50, 7) u,
     recommend(u, 5, model => m, exclude_seen => false) r
UNION ALL
SELECT 'sim', m, u, s.neighbour, s.rank, s.similarity::text
FROM unnest(ARRAY['als_st', 'als_st_x']) m, generate_series(1, 50, 7) u,
     similar_users(u, 3, model => m) s;
SELECT count(*) AS served FROM als_st_served;

-- a new backend: once attached to the shared image, once loaded from the parts
\c
SET search_path = recpromo, public;
SET client_min_messages = warning;
CREATE TEMP TABLE als_st_again AS
SELECT 'rec' AS what, m AS model, u, r.item, r.rank, r.score::text AS score
FROM unnest(ARRAY['als_st', 'als_st_x']) m, generate_series(1, 50, 7) u,
     recommend(u, 5, model => m, exclude_seen => false) r
UNION ALL
SELECT 'sim', m, u, s.neighbour, s.rank, s.similarity::text
FROM unnest(ARRAY['als_st', 'als_st_x']) m, generate_series(1, 50, 7) u,
     similar_users(u, 3, model => m) s;
SELECT count(*) AS rows, count(*) FILTER (WHERE a.score IS NOT DISTINCT FROM b.score) AS same_score
FROM als_st_served a FULL JOIN als_st_again b USING (what, model, u, item);
\c
SET search_path = recpromo, public;
SET client_min_messages = warning;
SET recpromo.shared_cache_size = 0;
CREATE TEMP TABLE als_st_again AS
SELECT 'rec' AS what, m AS model, u, r.item, r.rank, r.score::text AS score
FROM unnest(ARRAY['als_st', 'als_st_x']) m, generate_series(1, 50, 7) u,
     recommend(u, 5, model => m, exclude_seen => false) r
UNION ALL
SELECT 'sim', m, u, s.neighbour, s.rank, s.similarity::text
FROM unnest(ARRAY['als_st', 'als_st_x']) m, generate_series(1, 50, 7) u,
     similar_users(u, 3, model => m) s;
SELECT count(*) AS rows, count(*) FILTER (WHERE a.score IS NOT DISTINCT FROM b.score) AS same_score
FROM als_st_served a FULL JOIN als_st_again b USING (what, model, u, item);
RESET recpromo.shared_cache_size;

SELECT drop_model('als_st'), drop_model('als_st_x');
DROP TABLE als_st_buys, als_st_served;
