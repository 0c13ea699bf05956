-- ALS training and serving: methods "als" (implicit) and "als_explicit".
SET search_path = recpromo, public;
-- per-iteration progress NOTICEs carry timings: keep them out of the output
SET client_min_messages = warning;

-- Two taste groups: customers C1-C30 buy from SKU1-SKU15, C31-C60 from
-- SKU16-SKU30, each about 80% of their group's items (a fixed hash decides).
-- Keys are text on both sides (serving returns keys in the user key's type).
CREATE TABLE als_buys AS
SELECT 'C' || u AS customer_id, 'SKU' || i AS stock_code, (1 + (u * 7 + i * 3) % 4)::int AS quantity
FROM generate_series(1, 60) u, generate_series(1, 30) i
WHERE ((u <= 30) = (i <= 15)) AND (u * 31 + i * 17) % 5 <> 0;
-- a duplicate row: summed with the first one
INSERT INTO als_buys VALUES ('C1', 'SKU2', 5);

SELECT name, method, n_users, n_items, nnz, round(final_loss::numeric, 6) AS final_loss,
       params->>'solver' AS solver, params->>'factors' AS factors
FROM train('als_buys_cg', 'als_buys', 'customer_id', 'stock_code', 'quantity',
           method => 'als', factors => 4, iterations => 10, regularization => 0.1,
           alpha => 2.0, seed => 7);

-- the same seed gives the same model, whatever the thread count
SET recpromo.max_threads = 2;
SELECT round(final_loss::numeric, 12) = (SELECT round(final_loss::numeric, 12) FROM models WHERE name = 'als_buys_cg') AS same_loss
FROM train('als_buys_cg2', 'als_buys', 'customer_id', 'stock_code', 'quantity',
           method => 'als', factors => 4, iterations => 10, regularization => 0.1,
           alpha => 2.0, seed => 7);
RESET recpromo.max_threads;
SELECT bool_and(a.score = b.score) AS same_scores
FROM recommend('C3'::text, 30, model => 'als_buys_cg', exclude_seen => false) a
JOIN recommend('C3'::text, 30, model => 'als_buys_cg2', exclude_seen => false) b USING (item);

-- Recommendations come from the customer's own group, excluding what they
-- bought: the three group items each customer did not buy (the hash
-- (u * 31 + i * 17) % 5 = 0, computed here independently) are the top 3.
SELECT array_agg('SKU' || i ORDER BY i) AS not_bought_by_c3 FROM generate_series(1, 15) i WHERE (3 * 31 + i * 17) % 5 = 0;
SELECT item, rank FROM recommend('C3'::text, 3, model => 'als_buys_cg') ORDER BY item;
SELECT array_agg('SKU' || i ORDER BY i) AS not_bought_by_c40 FROM generate_series(16, 30) i WHERE (40 * 31 + i * 17) % 5 = 0;
SELECT item, rank FROM recommend('C40'::text, 3, model => 'als_buys_cg') ORDER BY item;

-- The exact Cholesky solver finds the same structure
SELECT name, round(final_loss::numeric, 6) AS final_loss, params->>'solver' AS solver
FROM train('als_buys_chol', 'als_buys', 'customer_id', 'stock_code', 'quantity',
           method => 'als', factors => 4, iterations => 10, regularization => 0.1,
           alpha => 2.0, seed => 7, params => '{"solver": "cholesky"}');
SELECT item, rank FROM recommend('C3'::text, 3, model => 'als_buys_chol') ORDER BY item;

-- predict is the score recommend ranks by
SELECT round(predict('C3'::text, 'SKU6'::text, 'als_buys_cg')::numeric, 10) =
       round((SELECT score FROM recommend('C3'::text, 30, model => 'als_buys_cg') WHERE item = 'SKU6')::numeric, 10) AS predict_matches;
SELECT predict('C3'::text, 'NOSUCH'::text, 'als_buys_cg') IS NULL AS unknown_item_is_null;

-- A customer who arrived after training is folded in from the live table:
-- bought SKU1-SKU4, gets the rest of group 1.
INSERT INTO als_buys VALUES ('C999', 'SKU1', 1), ('C999', 'SKU2', 2), ('C999', 'SKU3', 1), ('C999', 'SKU4', 3);
SELECT bool_and(substr(item, 4)::int BETWEEN 5 AND 15) AS group_one, count(*)
FROM recommend('C999'::text, 5, model => 'als_buys_cg');
-- the explanation's contributions add up to the folded-in score (HKV 2008 s. 5)
SELECT count(*) AS history_items,
       round(sum(contribution)::numeric, 8) = round(predict('C999'::text, 'SKU7'::text, 'als_buys_cg')::numeric, 8) AS adds_up
FROM explain_recommendation('C999'::text, 'SKU7'::text, 'als_buys_cg');
SELECT history_item, round(contribution::numeric, 4) AS contribution, rank
FROM explain_recommendation('C999'::text, 'SKU7'::text, 'als_buys_cg') ORDER BY rank;
-- similar items (cosine of factors): SKU25 and SKU30 have exactly the buyers
-- of SKU20 (same group, same i % 5 in the hash)
SELECT item, round(similarity::numeric, 3) AS similarity, rank
FROM similar_items('SKU20'::text, 2, 'als_buys_cg') ORDER BY rank;

-- Explicit ratings with global, user and item biases.  The ratings are
-- additive, r = 1 + (u % 3) + 0.5 * (i % 4), and a fifth of the cells is
-- missing ((u * 7 + i * 13) % 5 = 0), so a held-out cell is predicted from
-- the biases: user 1 item 1 is worth 2.5, user 2 item 2 4.0, user 3 item 3 2.5.
CREATE TABLE als_ratings AS
SELECT u AS user_id, i AS item_id, (1 + (u % 3) + 0.5 * (i % 4))::float8 AS rating
FROM generate_series(1, 40) u, generate_series(1, 20) i
WHERE (u * 7 + i * 13) % 5 <> 0;
SELECT name, method, n_users, n_items, nnz, final_loss < 0.02 AS fits
FROM train('als_rated', 'als_ratings', 'user_id', 'item_id', 'rating', method => 'als_explicit',
           factors => 2, iterations => 20, regularization => 0.01, seed => 1);
SELECT u, i, 1 + (u % 3) + 0.5 * (i % 4) AS truth, round(predict(u, i, 'als_rated')::numeric, 2) AS predicted,
       abs(predict(u, i, 'als_rated') - (1 + (u % 3) + 0.5 * (i % 4))) < 0.05 AS close
FROM generate_series(1, 3) u, generate_series(1, 4) i
WHERE (u * 7 + i * 13) % 5 = 0 ORDER BY u;
-- batch scoring (blocked products over the factor rows) agrees with recommend
SELECT count(*) AS mismatches FROM recommend_all(3, 'als_rated') a
FULL JOIN (SELECT u::bigint AS user_id, r.* FROM generate_series(1, 40) u,
           LATERAL recommend(u::bigint, 3, 'als_rated') r) b USING (user_id, rank)
WHERE a.item IS DISTINCT FROM b.item OR round(a.score::numeric, 9) IS DISTINCT FROM round(b.score::numeric, 9);
-- a new rater, folded in from the live table, rates like users with u % 3 = 2
INSERT INTO als_ratings VALUES (500, 1, 3.5), (500, 2, 4.0), (500, 4, 3.0), (500, 5, 3.5), (500, 6, 4.0);
SELECT round(predict(500, 3, 'als_rated')::numeric, 2) AS r_500_3, 4.5 AS truth;
-- explicit explanations add up to the score minus mean and item bias
SELECT count(*) AS history_items FROM explain_recommendation(500, 3, 'als_rated');

-- models lists them; drop_model removes them
SELECT name, method, n_users, n_items FROM models WHERE name LIKE 'als%' ORDER BY name;

-- Bad input
-- negative quantities (returns) are not implicit feedback
CREATE TABLE als_bad AS SELECT * FROM als_buys;
INSERT INTO als_bad VALUES ('C1', 'SKU1', -2);
SELECT name FROM train('x', 'als_bad', 'customer_id', 'stock_code', 'quantity', method => 'als');
-- NaN and infinite ratings
CREATE TABLE als_nan (user_id int, item_id int, rating float8);
INSERT INTO als_nan VALUES (1, 1, 1), (1, 2, 'NaN');
SELECT name FROM train('x', 'als_nan', 'user_id', 'item_id', 'rating', method => 'als_explicit');
UPDATE als_nan SET rating = 'Infinity' WHERE item_id = 2;
SELECT name FROM train('x', 'als_nan', 'user_id', 'item_id', 'rating', method => 'als');
-- hyper-parameters out of range
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', factors => 0);
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', factors => 5000);
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', iterations => 0);
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', regularization => -1);
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', regularization => 'NaN');
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', alpha => -1);
SELECT name FROM train('x', 'als_ratings', 'user_id', 'item_id', 'rating', method => 'als_explicit', regularization => 0);
SELECT name FROM train('x', 'als_ratings', 'user_id', 'item_id', 'rating', method => 'als_explicit', alpha => 2);
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', params => '{"solver": "lu"}');
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', params => '{"cg_steps": 0}');
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', neighbours => 5);
-- the memory estimate is checked before allocating
SET recpromo.memory_limit = '1MB';
SELECT name FROM train('x', 'als_buys', 'customer_id', 'stock_code', 'quantity', method => 'als', factors => 1000);
RESET recpromo.memory_limit;
-- nothing was stored by the failed calls
SELECT count(*) FROM models WHERE name = 'x';

-- statement_timeout stops a long training (100,000 interactions, 10,000
-- iterations would take minutes); the model of that name stays as it was
CREATE TABLE als_big AS
SELECT u AS user_id, (u * 7 + j * 13) % 200 AS item_id, 1 AS qty
FROM generate_series(1, 5000) u, generate_series(1, 20) j;
SET statement_timeout = '500ms';
SELECT name FROM train('als_buys_cg', 'als_big', 'user_id', 'item_id', 'qty',
                       method => 'als', iterations => 10000);
RESET statement_timeout;
SELECT name, n_users, n_items, nnz FROM models WHERE name = 'als_buys_cg';

SELECT drop_model('als_buys_cg'), drop_model('als_buys_cg2'), drop_model('als_buys_chol'), drop_model('als_rated');
DROP TABLE als_buys, als_ratings, als_bad, als_nan, als_big;
