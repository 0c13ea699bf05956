-- Serving on user_knn and popularity models, checked against the same
-- computations written in plain SQL; key types; fold-in; filters; bad input.
SET search_path = public, recpromo;
SET client_min_messages = warning;

-- the seed example: users rating [5,4,3,2,1] and [4,3,2,1,5] have cosine 45/55
CREATE TABLE seed (user_id int, item_id int, rating int);
INSERT INTO seed SELECT 1, i, 6 - i FROM generate_series(1, 5) i;
INSERT INTO seed VALUES (2, 1, 4), (2, 2, 3), (2, 3, 2), (2, 4, 1), (2, 5, 5);
INSERT INTO seed VALUES (3, 6, 2);
SELECT name FROM train('seed', 'seed', 'user_id', 'item_id', 'rating', method => 'user_knn');
SELECT neighbour, round(similarity::numeric, 12) AS similarity, round(45.0 / 55, 12) AS expected
FROM similar_users(1, 5, model => 'seed');

-- a generated shop: 60 users x 30 items, ratings 1..5 on about a third of the pairs
CREATE TABLE r AS
  SELECT u AS user_id, i AS item_id, ((u * 7 + i * 13) % 5 + 1)::float8 AS rating
  FROM generate_series(1, 60) u, generate_series(1, 30) i
  WHERE abs(hashint4(u * 1000 + i)) % 3 = 0;
SELECT count(*) FROM r;
SELECT name, n_users, n_items, nnz FROM train('uk', 'r', 'user_id', 'item_id', 'rating',
    method => 'user_knn', neighbours => 5);

-- reference cosine similarities in plain SQL
CREATE TABLE ref_sim AS
WITH norms AS (SELECT user_id, sqrt(sum(rating * rating)) AS n FROM r GROUP BY user_id)
SELECT a.user_id AS u, b.user_id AS v, sum(a.rating * b.rating) / (na.n * nb.n) AS sim
FROM r a JOIN r b ON a.item_id = b.item_id AND a.user_id <> b.user_id
JOIN norms na ON na.user_id = a.user_id JOIN norms nb ON nb.user_id = b.user_id
GROUP BY a.user_id, b.user_id, na.n, nb.n;

-- similar_users agrees with the reference for every user (rank by rank)
WITH ours AS (
  SELECT u.user_id AS u, s.rank, round(s.similarity::numeric, 10) AS sim
  FROM (SELECT DISTINCT user_id FROM r) u, similar_users(u.user_id, 5, model => 'uk') s),
ref AS (
  SELECT u, rank, round(sim::numeric, 10) AS sim FROM (
    SELECT u, sim, row_number() OVER (PARTITION BY u ORDER BY sim DESC, v) AS rank FROM ref_sim) x
  WHERE rank <= 5)
SELECT count(*) AS compared, count(*) FILTER (WHERE ours.sim IS DISTINCT FROM ref.sim) AS mismatches
FROM ours FULL JOIN ref USING (u, rank);

-- recommend: similarity-weighted mean of the 5 nearest neighbours' ratings,
-- over items the user has not rated, compared on every user's top 5
WITH nb AS (
  SELECT u, v, sim FROM (
    SELECT u, v, sim, row_number() OVER (PARTITION BY u ORDER BY sim DESC, v) AS k FROM ref_sim) x
  WHERE k <= 5 AND sim > 0),
tot AS (SELECT u, sum(sim) AS s FROM nb GROUP BY u),
sc AS (
  SELECT nb.u, r.item_id, sum(nb.sim * r.rating) / tot.s AS score
  FROM nb JOIN r ON r.user_id = nb.v JOIN tot ON tot.u = nb.u
  WHERE NOT EXISTS (SELECT 1 FROM r seen WHERE seen.user_id = nb.u AND seen.item_id = r.item_id)
  GROUP BY nb.u, r.item_id, tot.s),
ref AS (
  SELECT u, rank, round(score::numeric, 10) AS score FROM (
    SELECT u, score, row_number() OVER (PARTITION BY u ORDER BY score DESC, item_id) AS rank FROM sc) x
  WHERE rank <= 5),
ours AS (
  SELECT u.user_id AS u, x.rank, round(x.score::numeric, 10) AS score
  FROM (SELECT DISTINCT user_id FROM r) u, recommend(u.user_id, 5, model => 'uk') x)
SELECT count(*) AS compared, count(*) FILTER (WHERE ours.score IS DISTINCT FROM ref.score) AS mismatches
FROM ours JOIN ref USING (u, rank);

-- every user gets exactly min(n, unrated items) rows, ranks 1..n, no rated item
SELECT count(*) AS bad_users FROM (
  SELECT u.user_id, count(x.*) AS got,
         least(12, 30 - (SELECT count(*) FROM r WHERE r.user_id = u.user_id)) AS want,
         count(*) FILTER (WHERE EXISTS (SELECT 1 FROM r WHERE r.user_id = u.user_id AND r.item_id = x.item)) AS seen
  FROM (SELECT DISTINCT user_id FROM r) u, recommend(u.user_id, 12, model => 'uk') x
  GROUP BY u.user_id) t
WHERE got <> want OR seen > 0;

-- the contributions of explain_recommendation add up to the score
SELECT round((SELECT sum(contribution) FROM explain_recommendation(7, x.item, model => 'uk'))::numeric, 10)
       = round(x.score::numeric, 10) AS explains_score
FROM recommend(7, 3, model => 'uk') x ORDER BY x.rank;
SELECT round(predict(7, x.item, model => 'uk')::numeric, 10) = round(x.score::numeric, 10) AS predict_agrees
FROM recommend(7, 1, model => 'uk') x;

-- similar_items: cosine between item columns, against plain SQL for item 3
WITH norms AS (SELECT item_id, sqrt(sum(rating * rating)) AS n FROM r GROUP BY item_id),
ref AS (
  SELECT b.item_id, sum(a.rating * b.rating) / (na.n * nb.n) AS sim
  FROM r a JOIN r b ON a.user_id = b.user_id AND b.item_id <> 3
  JOIN norms na ON na.item_id = a.item_id JOIN norms nb ON nb.item_id = b.item_id
  WHERE a.item_id = 3 GROUP BY b.item_id, na.n, nb.n)
SELECT s.rank, s.item = ref.item_id AS same_item, round(s.similarity::numeric, 10) = round(ref.sim::numeric, 10) AS same_sim
FROM similar_items(3, 4, model => 'uk') s
JOIN (SELECT item_id, sim, row_number() OVER (ORDER BY sim DESC, item_id) AS rank FROM ref) ref USING (rank)
ORDER BY s.rank;

-- exclude_seen => false returns rated items too
SELECT count(*) AS with_seen FROM recommend(7, 30, model => 'uk', exclude_seen => false);
-- filters apply inside the selection: exactly the allowed, unrated items
SELECT item FROM recommend(7, 10, model => 'uk', only_items => ARRAY[1, 2, 3, 4, 5, 6, 999])
ORDER BY item;
SELECT count(*) AS rows, bool_and(item NOT IN (SELECT item FROM recommend(7, 2, model => 'uk'))) AS excluded
FROM recommend(7, 5, model => 'uk', exclude_items => (SELECT array_agg(item) FROM recommend(7, 2, model => 'uk')));

-- fold-in: a user who arrived after training is scored from their live rows
INSERT INTO r VALUES (1000, 1, 5), (1000, 2, 4), (1000, 3, 1);
-- (the same rows, trained in: fold-in gives exactly what training would have given)
SELECT name FROM train('uk2', 'r', 'user_id', 'item_id', 'rating', method => 'user_knn', neighbours => 5);
SELECT x.rank, x.item = y.item AS same_item, round(x.score::numeric, 10) = round(y.score::numeric, 10) AS same_score
FROM recommend(1000, 5, model => 'uk') x JOIN recommend(1000, 5, model => 'uk2') y USING (rank) ORDER BY rank;
SELECT count(*) AS folded_rows, bool_and(item NOT IN (1, 2, 3)) AS skips_history
FROM recommend(1000, 5, model => 'uk');
SELECT neighbour FROM similar_users(1000, 1, model => 'uk');
-- a user with no rows at all gets the popularity list
SELECT x.item = p.item AS popular
FROM recommend(123456, 3, model => 'uk') x
JOIN (SELECT item_id AS item, row_number() OVER (ORDER BY count(*) DESC, item_id) AS rank
      FROM r WHERE user_id <> 1000 GROUP BY item_id) p USING (rank) ORDER BY rank;
SELECT * FROM similar_users(123456, 3, model => 'uk');
SELECT * FROM similar_items(123456, 3, model => 'uk');
SELECT predict(1, 123456, model => 'uk');

-- keys come back in the type of the key argument
SELECT pg_typeof(item) FROM recommend(7::bigint, 1, model => 'uk');
SELECT pg_typeof(item), item FROM recommend('7'::text, 1, model => 'uk');
SELECT pg_typeof(item) FROM recommend(7::smallint, 1, model => 'uk');

-- text keys (SKUs) and mixed key types
CREATE TABLE orders AS
  SELECT 'cust-' || user_id AS customer, 'SKU' || lpad(item_id::text, 3, '0') AS sku, rating AS qty FROM r;
SELECT name, user_type, item_type FROM train('skus', 'orders', 'customer', 'sku', 'qty', method => 'user_knn', neighbours => 5);
SELECT x.rank, x.item, y.item AS int_item
FROM recommend('cust-7'::text, 3, model => 'skus') x
JOIN recommend(7, 3, model => 'uk') y USING (rank) ORDER BY x.rank;
SELECT * FROM recommend(7, 3, model => 'skus');   -- integer key for text users: unknown, so popularity (items are text)
CREATE TABLE mixed AS SELECT user_id, 'SKU' || item_id AS sku, rating FROM r;
SELECT name FROM train('mixed', 'mixed', 'user_id', 'sku', 'rating', method => 'popularity');
SELECT * FROM recommend(7, 1, model => 'mixed');
SELECT * FROM recommend('7'::text, 1, model => 'mixed');
SELECT * FROM recommend('7', 1, model => 'mixed');  -- an untyped literal has no type to follow

-- bad input
SELECT * FROM recommend(NULL::int, 3, model => 'uk');
SELECT * FROM recommend(7, NULL, model => 'uk');
SELECT * FROM recommend(7, -1, model => 'uk');
SELECT * FROM recommend(7, 0, model => 'uk');
SELECT count(*) FROM recommend(7, 1000000, model => 'uk');
SELECT * FROM recommend(7, 1000001, model => 'uk');
SELECT * FROM recommend(7, 3, model => 'no_such_model');
SELECT * FROM recommend(7, 3, model => '');
SELECT * FROM recommend(7, 3, model => 'uk', only_items => 5);
SELECT * FROM recommend(7, 3, model => 'uk', only_items => ARRAY[[1, 2], [3, 4]]);
SELECT * FROM similar_items(1, 3, model => 'mixed');
SELECT * FROM explain_recommendation(7, 1, model => 'mixed');
SELECT * FROM recommend_for_items(NULL::int[], 3, model => 'uk');
SELECT count(*) FROM recommend_for_items(ARRAY[]::int[], 3, model => 'uk');
SELECT predict(7, NULL::int, model => 'uk');

-- leave the catalogue empty for the next test
SELECT count(*) AS dropped FROM (SELECT drop_model(name) FROM models) d;
DROP TABLE seed, r, ref_sim, orders, mixed;
