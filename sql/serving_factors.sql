-- The `factors` method: serving embeddings trained elsewhere; predict,
-- similarities, fold-in of a new user, explanations; every bad input.
SET search_path = public, recpromo;
SET client_min_messages = warning;

CREATE TABLE sf_buys (customer int, product int, qty float8);
INSERT INTO sf_buys SELECT u, i, 1 + (u + i) % 3 FROM generate_series(1, 12) u, generate_series(1, 10) i
WHERE (u + 2 * i) % 4 = 0;
CREATE TABLE sf_uvec (id int, factors float8[]);
INSERT INTO sf_uvec SELECT u, ARRAY[cos(u), sin(u), 0.5] FROM generate_series(1, 12) u;
CREATE TABLE sf_ivec (id int, factors float8[]);
INSERT INTO sf_ivec SELECT i, ARRAY[sin(i), cos(i), (i % 3) - 1.0] FROM generate_series(1, 10) i;

SELECT name, method, n_users, n_items, params
FROM train('f', 'sf_buys', 'customer', 'product', 'qty', method => 'factors', regularization => 0.5,
           params => '{"user_factors": "sf_uvec", "item_factors": "sf_ivec", "alpha": 2}');

-- predict is the dot product
SELECT round(predict(4, 3, 'f')::numeric, 9) AS predicted,
       round((SELECT sum(a * b) FROM sf_uvec u, sf_ivec i, unnest(u.factors, i.factors) x(a, b)
              WHERE u.id = 4 AND i.id = 3)::numeric, 9) AS reference;
-- similar_items is the cosine of item vectors
SELECT s.item, round(s.similarity::numeric, 9) AS similarity,
       round(((SELECT sum(a * b) FROM unnest(i.factors, j.factors) x(a, b)) /
         sqrt((SELECT sum(a * a) FROM unnest(i.factors) a) * (SELECT sum(b * b) FROM unnest(j.factors) b)))::numeric, 9) AS reference
FROM similar_items(2, 3, 'f') s, sf_ivec i, sf_ivec j WHERE i.id = 2 AND j.id = s.item ORDER BY s.rank;
SELECT s.neighbour, round(s.similarity::numeric, 9) AS similarity,
       round(((SELECT sum(a * b) FROM unnest(u.factors, v.factors) x(a, b)) /
         sqrt((SELECT sum(a * a) FROM unnest(u.factors) a) * (SELECT sum(b * b) FROM unnest(v.factors) b)))::numeric, 9) AS reference
FROM similar_users(2, 2, 'f') s, sf_uvec u, sf_uvec v WHERE u.id = 2 AND v.id = s.neighbour ORDER BY s.rank;

-- a customer newer than the model is folded in from the live table
INSERT INTO sf_buys VALUES (100, 1, 2), (100, 5, 1), (100, 7, 3);
SELECT count(*) AS n, bool_and(item NOT IN (1, 5, 7)) AS skips_bought FROM recommend(100, 5, 'f');
-- the folded-in list is the folded-in scores' order (predict scores one item at a time)
SELECT (SELECT array_agg(item ORDER BY rank) FROM recommend(100, 5, 'f')) =
       (SELECT array_agg(id ORDER BY p DESC, id) FROM (
          SELECT id, predict(100, id, 'f') AS p FROM sf_ivec WHERE id NOT IN (1, 5, 7)
          ORDER BY p DESC, id LIMIT 5) s) AS same_order;
SELECT item, rank FROM recommend(100, 3, 'f', only_items => ARRAY[2, 3, 4, 5], exclude_items => ARRAY[4]);
-- Hu et al. section 5: the contributions add up to the folded-in score
SELECT round((SELECT sum(contribution) FROM explain_recommendation(100, 3, 'f'))::numeric, 9)
     = round(predict(100, 3, 'f')::numeric, 9) AS contributions_add_up;
SELECT history_item, rank FROM explain_recommendation(100, 3, 'f');
-- a customer with no history gets the popularity list
SELECT item, score FROM recommend(999, 3, 'f');

-- rows for unknown keys are ignored, missing keys get zero vectors (the
-- NOTICEs that count them are checked by test/ref/test_factors_notices.py:
-- the training NOTICE beside them carries a time)
INSERT INTO sf_ivec VALUES (77, ARRAY[1, 1, 1]);
DELETE FROM sf_uvec WHERE id = 12;
SELECT name FROM train('f2', 'sf_buys', 'customer', 'product', method => 'factors',
           params => '{"user_factors": "sf_uvec", "item_factors": "sf_ivec"}');
SELECT count(*) AS zero_scores FROM recommend(12, 10, 'f2') WHERE score = 0;

-- other column names
CREATE TABLE sf_ivec2 (sku int, emb float8[]);
INSERT INTO sf_ivec2 SELECT id, factors FROM sf_ivec;
CREATE TABLE sf_uvec2 (sku int, emb float8[]);
INSERT INTO sf_uvec2 SELECT id, factors FROM sf_uvec;
SELECT name FROM train('f3', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec2", "item_factors": "sf_ivec2", "key_col": "sku", "vector_col": "emb"}');

-- bad inputs
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "nope"}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": 3}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_ivec2"}');
CREATE TABLE sf_badtype (id int, factors text);
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_badtype"}');
CREATE TABLE sf_dup (id int, factors float8[]);
INSERT INTO sf_dup VALUES (1, '{1,2,3}'), (1, '{1,2,3}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_dup"}');
CREATE TABLE sf_nanvec (id int, factors float8[]);
INSERT INTO sf_nanvec VALUES (1, '{1,NaN,3}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_nanvec"}');
CREATE TABLE sf_ragged (id int, factors float8[]);
INSERT INTO sf_ragged VALUES (1, '{1,2,3}'), (2, '{1,2}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_ragged"}');
CREATE TABLE sf_nullel (id int, factors float8[]);
INSERT INTO sf_nullel VALUES (1, '{1,NULL,3}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_nullel"}');
CREATE TABLE sf_shortu (id int, factors float8[]);
INSERT INTO sf_shortu VALUES (1, '{1,2}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_shortu", "item_factors": "sf_ivec"}');
CREATE TABLE sf_nomatch (id int, factors float8[]);
INSERT INTO sf_nomatch VALUES (1000, '{1,2,3}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_nomatch"}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_ivec", "colour": "red"}');
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors', regularization => -1,
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_ivec"}');
-- the factor tables are read with the caller's privileges
CREATE ROLE serving_nobody;
GRANT USAGE ON SCHEMA recpromo TO serving_nobody;
GRANT SELECT ON sf_buys, sf_ivec, recpromo.models TO serving_nobody;
SET ROLE serving_nobody;
SELECT * FROM train('x', 'sf_buys', 'customer', 'product', method => 'factors',
    params => '{"user_factors": "sf_uvec", "item_factors": "sf_ivec"}');
RESET ROLE;
REVOKE ALL ON sf_buys, sf_ivec, recpromo.models FROM serving_nobody;
REVOKE USAGE ON SCHEMA recpromo FROM serving_nobody;
DROP ROLE serving_nobody;
-- leave no model behind
SELECT count(*) AS dropped FROM (SELECT drop_model(name) FROM models) d;
DROP TABLE sf_buys, sf_uvec, sf_ivec, sf_uvec2, sf_ivec2, sf_badtype, sf_dup, sf_nanvec, sf_ragged, sf_nullel, sf_shortu, sf_nomatch;
