-- recommend() with exact norm-ordered pruning (recpromo.exact_pruning):
-- the same items and scores as the screening pass and as the general path
-- (a full double scan, forced here by a neutral boost: weight 1 for every
-- item), with ties, exclusions, filters, a folded-in user, every n.
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- heavy-tailed item norms (like ALS factors), duplicate rows and zero rows (ties)
CREATE TABLE xp_ivec (id int, factors float8[]);
INSERT INTO xp_ivec
SELECT i, CASE WHEN i % 29 = 0 THEN ARRAY[0, 0, 0, 0]::float8[]
               ELSE ARRAY[sin(j * 1.3) * s, cos(j * 0.7) * s, sin(j * 2.9) * s, cos(j * 1.1) * s] END
FROM generate_series(1, 400) i,
     LATERAL (SELECT CASE WHEN i % 7 = 3 THEN i - 3 ELSE i END AS j) d,
     LATERAL (SELECT exp(2.0 * sin(j * 5.7)) AS s) e;
CREATE TABLE xp_uvec (id int, factors float8[]);
INSERT INTO xp_uvec SELECT u, ARRAY[cos(u), sin(u), cos(3 * u), 0.5] FROM generate_series(1, 60) u;
CREATE TABLE xp_buys (customer int, product int);
INSERT INTO xp_buys SELECT u, 1 + (u * 37 + k * 101) % 400 FROM generate_series(1, 60) u, generate_series(1, 12) k;
INSERT INTO xp_buys SELECT 1000 + i % 7, i FROM generate_series(1, 400) i;
CREATE TABLE xp_one (item_id int, weight float8);
INSERT INTO xp_one SELECT i, 1.0 FROM generate_series(1, 400) i;
-- real boosts and categories (these take the general path in every mode)
CREATE TABLE xp_w (item_id int, weight float8);
INSERT INTO xp_w SELECT i, 0.5 + (i % 5) * 0.25 FROM generate_series(1, 400, 2) i;
CREATE TABLE xp_cat (item_id int, category text);
INSERT INTO xp_cat SELECT i, 'c' || (i % 6) FROM generate_series(1, 400) i WHERE i % 9 <> 0;
SELECT name, n_users, n_items FROM train('xp', 'xp_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "xp_uvec", "item_factors": "xp_ivec"}');
-- an implicit ALS model on the same rows
SELECT name, n_users, n_items FROM train('xpa', 'xp_buys', 'customer', 'product', method => 'als',
    params => '{"factors": 8, "iterations": 4}');
-- a customer newer than the models (folded in)
INSERT INTO xp_buys VALUES (5000, 3), (5000, 10), (5000, 17), (5000, 120);

-- every list in one table: mode, model, case, user, rank, item, score
CREATE TEMP TABLE xp_out (mode text, model text, c text, u int, rank int, item int, score float8);
CREATE FUNCTION pg_temp.xp_collect(mode text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE mdl text;
BEGIN
  FOREACH mdl IN ARRAY ARRAY['xp', 'xpa'] LOOP
    INSERT INTO xp_out SELECT mode, mdl, 'n10', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u, recpromo.recommend(u, 10, mdl) r;
    INSERT INTO xp_out SELECT mode, mdl, 'n1', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u, recpromo.recommend(u, 1, mdl) r;
    INSERT INTO xp_out SELECT mode, mdl, 'n57', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u, recpromo.recommend(u, 57, mdl) r;
    INSERT INTO xp_out SELECT mode, mdl, 'all', u, r.rank, r.item, r.score
      FROM generate_series(1, 60, 7) u, recpromo.recommend(u, 500, mdl) r;
    INSERT INTO xp_out SELECT mode, mdl, 'seen', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u, recpromo.recommend(u, 10, mdl, exclude_seen => false) r;
    INSERT INTO xp_out SELECT mode, mdl, 'excl', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u,
           recpromo.recommend(u, 10, mdl, exclude_items => ARRAY(SELECT g FROM generate_series(1, 400, 3) g)) r;
    INSERT INTO xp_out SELECT mode, mdl, 'only', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u,
           recpromo.recommend(u, 20, mdl, only_items => ARRAY(SELECT g FROM generate_series(5, 400, 31) g)) r;
    INSERT INTO xp_out SELECT mode, mdl, 'foldin', 5000, r.rank, r.item, r.score
      FROM recpromo.recommend(5000, 25, mdl) r;
    INSERT INTO xp_out SELECT mode, mdl, 'boost', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u, recpromo.recommend(u, 10, mdl, boosts => 'xp_w') r;
    -- at most 2 per category, 30 asked: c1..c5 give 10 rows, the uncategorised the rest
    INSERT INTO xp_out SELECT mode, mdl, 'cap', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u,
           recpromo.recommend(u, 30, mdl, categories => 'xp_cat', max_per_category => 2,
                              exclude_categories => ARRAY['c0']) r;
  END LOOP;
END $$;
CREATE FUNCTION pg_temp.xp_collect_general() RETURNS void LANGUAGE plpgsql AS $$
DECLARE mdl text;
BEGIN
  FOREACH mdl IN ARRAY ARRAY['xp', 'xpa'] LOOP
    INSERT INTO xp_out SELECT 'general', mdl, 'n10', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u, recpromo.recommend(u, 10, mdl, boosts => 'xp_one') r;
    INSERT INTO xp_out SELECT 'general', mdl, 'n1', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u, recpromo.recommend(u, 1, mdl, boosts => 'xp_one') r;
    INSERT INTO xp_out SELECT 'general', mdl, 'n57', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u, recpromo.recommend(u, 57, mdl, boosts => 'xp_one') r;
    INSERT INTO xp_out SELECT 'general', mdl, 'all', u, r.rank, r.item, r.score
      FROM generate_series(1, 60, 7) u, recpromo.recommend(u, 500, mdl, boosts => 'xp_one') r;
    INSERT INTO xp_out SELECT 'general', mdl, 'seen', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u, recpromo.recommend(u, 10, mdl, exclude_seen => false, boosts => 'xp_one') r;
    INSERT INTO xp_out SELECT 'general', mdl, 'excl', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u,
           recpromo.recommend(u, 10, mdl, boosts => 'xp_one',
                              exclude_items => ARRAY(SELECT g FROM generate_series(1, 400, 3) g)) r;
    INSERT INTO xp_out SELECT 'general', mdl, 'only', u, r.rank, r.item, r.score
      FROM generate_series(1, 60) u,
           recpromo.recommend(u, 20, mdl, boosts => 'xp_one',
                              only_items => ARRAY(SELECT g FROM generate_series(5, 400, 31) g)) r;
    INSERT INTO xp_out SELECT 'general', mdl, 'foldin', 5000, r.rank, r.item, r.score
      FROM recpromo.recommend(5000, 25, mdl, boosts => 'xp_one') r;
  END LOOP;
END $$;

SET recpromo.exact_pruning = on;
SELECT pg_temp.xp_collect('on');
SET recpromo.exact_pruning = off;
SELECT pg_temp.xp_collect('off');
SET recpromo.exact_pruning = auto;
SELECT pg_temp.xp_collect('auto');
SELECT pg_temp.xp_collect_general();
RESET recpromo.exact_pruning;

-- rows per model and case (the same in every mode: min(n, eligible))
SELECT model, c, mode, count(*) AS rows FROM xp_out GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- pruned lists equal the screening pass's bit for bit
SELECT a.mode, count(*) AS differ
FROM xp_out a FULL JOIN (SELECT * FROM xp_out WHERE mode = 'off') b
  ON a.model = b.model AND a.c = b.c AND a.u = b.u AND a.rank = b.rank
WHERE a.mode IN ('on', 'auto') AND (a.item IS DISTINCT FROM b.item OR a.score IS DISTINCT FROM b.score)
GROUP BY 1 ORDER BY 1;
SELECT count(*) AS missing_rows FROM xp_out b WHERE b.mode = 'off' AND NOT EXISTS
  (SELECT 1 FROM xp_out a WHERE a.mode = 'on' AND a.model = b.model AND a.c = b.c AND a.u = b.u AND a.rank = b.rank);
-- the category cap returns exactly min(n, eligible): 2 for each of c1..c5
-- plus the uncategorised items, best first
SELECT count(*) AS cap_lists_not_30 FROM (SELECT u FROM xp_out WHERE mode = 'on' AND c = 'cap'
  GROUP BY model, u HAVING count(*) <> 30) x;
SELECT count(*) AS cap_violations FROM (SELECT o.model, o.u, k.category FROM xp_out o JOIN xp_cat k ON k.item_id = o.item
  WHERE o.mode = 'on' AND o.c = 'cap' GROUP BY 1, 2, 3 HAVING count(*) > 2 OR k.category = 'c0') x;
-- and the full double scan's (scores to 12 significant digits)
SELECT count(*) AS differ_from_full_scan
FROM xp_out a JOIN xp_out g
  ON a.model = g.model AND a.c = g.c AND a.u = g.u AND a.rank = g.rank AND g.mode = 'general'
WHERE a.mode = 'on' AND (a.item <> g.item
   OR round(a.score::numeric, 12 - ceil(log(greatest(abs(g.score), 1e-300)::numeric))::int)
   <> round(g.score::numeric, 12 - ceil(log(greatest(abs(g.score), 1e-300)::numeric))::int));
-- ties: equal scores within a list come in item order
SELECT count(*) AS tie_order_violations FROM xp_out a JOIN xp_out b
  ON a.mode = b.mode AND a.model = b.model AND a.c = b.c AND a.u = b.u AND b.rank = a.rank + 1
WHERE a.mode = 'on' AND a.score = b.score AND a.item > b.item;
SELECT count(*) > 0 AS has_ties FROM xp_out a JOIN xp_out b
  ON a.mode = b.mode AND a.model = b.model AND a.c = b.c AND a.u = b.u AND b.rank = a.rank + 1
WHERE a.mode = 'on' AND a.score = b.score;
-- the setting's values
SET recpromo.exact_pruning = sometimes;
SHOW recpromo.exact_pruning;
RESET recpromo.exact_pruning;
-- leave no model behind (other tests count them)
SELECT drop_model('xp') AND drop_model('xpa') AS dropped;
