-- evaluate(): a trained model against held-out rows, checked by hand on a
-- popularity model (scores = training users per item, ties by key order).
SET search_path = recpromo, public;
-- training reports timings in NOTICEs; keep the output deterministic
SET client_min_messages = warning;

-- training: user 1 {1, 2}, user 2 {1, 3}, user 3 {1, 2, 4}, user 4 {5}
-- popularity: item 1: 3, item 2: 2, items 3, 4, 5: 1 (catalogue 5, mean 1.6)
CREATE TABLE evm_train (user_id int, item_id int, rating float8);
INSERT INTO evm_train VALUES (1, 1, 4), (1, 2, 3), (2, 1, 5), (2, 3, 2), (3, 1, 1), (3, 2, 2), (3, 4, 5), (4, 5, 3);
SELECT name, method, n_users, n_items FROM train('evm_pop', 'evm_train', 'user_id', 'item_id', method => 'popularity');
-- test: user 1 {3 (5), 6 (4, unknown item), 1 (2, seen in training)},
-- user 2 {2 (5)}, user 3 {5 (1)}, user 4 {5 (3), seen: nothing left},
-- user 9 {1 (5), unknown user}
CREATE TABLE evm_test (user_id int, item_id int, rating float8);
INSERT INTO evm_test VALUES (1, 3, 5), (1, 6, 4), (1, 1, 2), (2, 2, 5), (3, 5, 1), (4, 5, 3), (9, 1, 5),
  (NULL, 1, 5);
-- k = 2, training items excluded (as recommend() does):
--   user 1: top {3, 4} (ties at 1 by key), R = {3, 6}: P 1/2, R 1/2, F1 2/4,
--           NDCG 1/1.630930 = 0.613147, AP 1/2, hit 1, RR 1
--   user 2: top {2, 4}, R = {2}: P 1/2, R 1, F1 2/3, NDCG 1, AP 1, hit 1, RR 1
--   user 3: top {3, 5}, R = {5}: P 1/2, R 1, F1 2/3, NDCG 0.630930, AP 1/2, hit 1, RR 1/2
--   user 4 skipped (no test item left), user 9 skipped (unknown)
-- means: P 0.5, R 0.833333, F1 0.611111, NDCG 0.748026, MAP 0.666667, hit 1, MRR 0.833333
-- slots {3, 4, 2, 4, 3, 5}: coverage 4/5, popularity (1+1+2+1+1+1)/6 = 1.166667,
-- catalogue 1.6, bias 0.729167
SELECT model_name, users_evaluated, users_skipped_no_test, users_skipped_unknown,
       round(precision_at_k::numeric, 6) AS p, round(recall_at_k::numeric, 6) AS r,
       round(f1_at_k::numeric, 6) AS f1, round(ndcg_at_k::numeric, 6) AS ndcg,
       round(map_at_k::numeric, 6) AS map, hit_rate_at_k AS hit, round(mrr_at_k::numeric, 6) AS mrr,
       coverage, round(popularity_recommended::numeric, 6) AS pop_rec, popularity_catalogue AS pop_cat,
       round(popularity_bias::numeric, 6) AS bias, rmse, mae
  FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', k => 2);
-- the same lists through recommend() and evaluate_rankings(), with the test
-- rows the users already had removed, agree
CREATE TABLE evm_recs AS
  SELECT u.user_id, r.item AS item_id, r.rank
    FROM (SELECT DISTINCT user_id FROM evm_train) u, LATERAL recommend(u.user_id, 2, 'evm_pop') r;
CREATE VIEW evm_test_unseen AS
  SELECT t.* FROM evm_test t
   WHERE NOT EXISTS (SELECT 1 FROM evm_train x WHERE x.user_id = t.user_id AND x.item_id = t.item_id);
SELECT a.users_evaluated = b.users_evaluated AS same_users,
       abs(a.ndcg_at_k - b.ndcg_at_k) < 1e-12 AS same_ndcg,
       abs(a.map_at_k - b.map_at_k) < 1e-12 AS same_map,
       abs(a.mrr_at_k - b.mrr_at_k) < 1e-12 AS same_mrr,
       abs(a.f1_at_k - b.f1_at_k) < 1e-12 AS same_f1,
       a.coverage = b.coverage AS same_coverage
  FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', k => 2) a,
       evaluate_rankings('evm_recs', 'evm_test_unseen', k => 2, train => 'evm_train') b;
-- ratings of 4 and above relevant: users 1 and 2 evaluated, users 3 and 4
-- have no relevant test item, user 9 is unknown
SELECT users_evaluated, users_skipped_no_test, users_skipped_unknown,
       round(precision_at_k::numeric, 6) AS p, round(ndcg_at_k::numeric, 6) AS ndcg
  FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', 'rating', 2, relevance_threshold => 4);
-- without excluding training items, user 1's list is {1, 2} and R = {3, 6, 1}:
--   P 1/2, R 1/3; user 2: {1, 2}, R {2}: RR 1/2; user 3 {1, 2}, R {5}: nothing;
--   user 4 {1, 2}, R {5}: nothing.  Means: P 0.25, hit 0.5, MRR (1 + 0.5)/4 = 0.375
SELECT users_evaluated, round(precision_at_k::numeric, 6) AS p, hit_rate_at_k AS hit,
       round(mrr_at_k::numeric, 6) AS mrr, coverage
  FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', k => 2, exclude_seen => false);
-- RMSE and MAE for a model trained on ratings.  The popularity score is the
-- number of training users; known test pairs (score, rating):
--   (1, 5), (3, 2), (2, 5), (1, 1), (1, 3): errors -4, 1, -3, 0, -2
--   RMSE sqrt(30/5) = 2.449490, MAE 10/5 = 2
SELECT name FROM train('evm_pop_r', 'evm_train', 'user_id', 'item_id', 'rating', method => 'popularity');
SELECT round(rmse::numeric, 6) AS rmse, mae
  FROM evaluate('evm_pop_r', 'evm_test', 'user_id', 'item_id', 'rating', 2);
-- the model trained without ratings has none
SELECT rmse, mae FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', 'rating', 2);
-- text keys in the test table find the model's integer keys
CREATE TABLE evm_test_text AS SELECT user_id::text AS customer, item_id::text AS sku FROM evm_test;
SELECT users_evaluated, users_skipped_unknown, round(ndcg_at_k::numeric, 6) AS ndcg
  FROM evaluate('evm_pop', 'evm_test_text', 'customer', 'sku', k => 2);
-- two models side by side in one query
SELECT model_name, users_evaluated, round(ndcg_at_k::numeric, 4) AS ndcg
  FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', k => 2)
UNION ALL
SELECT model_name, users_evaluated, round(ndcg_at_k::numeric, 4)
  FROM evaluate('evm_pop_r', 'evm_test', 'user_id', 'item_id', k => 2)
ORDER BY 1;
-- bad input
SELECT * FROM evaluate('no_such_model', 'evm_test', 'user_id', 'item_id');
SELECT * FROM evaluate('evm_pop', NULL, 'user_id', 'item_id');
SELECT * FROM evaluate('evm_pop', 'evm_test', NULL, 'item_id');
SELECT * FROM evaluate('evm_pop', 'evm_test', 'user_id', 'nothing');
SELECT * FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', k => 0);
SELECT * FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', k => NULL);
SELECT * FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', relevance_threshold => 4);
SELECT * FROM evaluate('evm_pop', 'evm_test', 'user_id', 'item_id', 'rating', relevance_threshold => 'Infinity');
SELECT * FROM evaluate('evm_pop', 'evm_test_text', 'customer', 'sku', 'sku', relevance_threshold => 1);
CREATE TABLE evm_test_nan AS SELECT * FROM evm_test;
INSERT INTO evm_test_nan VALUES (2, 4, 'NaN');
SELECT * FROM evaluate('evm_pop', 'evm_test_nan', 'user_id', 'item_id', 'rating');
CREATE TABLE evm_test_empty (user_id int, item_id int);
SELECT users_evaluated, users_skipped_no_test, precision_at_k, coverage
  FROM evaluate('evm_pop', 'evm_test_empty', 'user_id', 'item_id');
-- Every method is ranked as recommend() ranks it: evaluate() agrees with
-- recommend() + evaluate_rankings() for a factor model (batch scoring) and
-- a neighbourhood model (per-user scoring).
CREATE TABLE evm_big AS
  SELECT u AS user_id, i AS item_id, 1 + (u * 7 + i * 3) % 5 AS rating
    FROM generate_series(1, 60) u, generate_series(1, 40) i
   WHERE (u * 31 + i * 17) % 7 < 2;
CREATE VIEW evm_big_train AS SELECT * FROM evm_big WHERE NOT in_test_set(user_id, item_id, 0.3);
CREATE VIEW evm_big_test AS SELECT * FROM evm_big WHERE in_test_set(user_id, item_id, 0.3);
SELECT count(*) FROM train('evm_als', 'evm_big_train', 'user_id', 'item_id', method => 'als', factors => 4, iterations => 5, seed => 1);
SELECT count(*) FROM train('evm_knn', 'evm_big_train', 'user_id', 'item_id', method => 'item_knn');
CREATE TABLE evm_big_recs AS
  SELECT 'evm_als' AS model, u.user_id, r.item AS item_id, r.rank
    FROM (SELECT DISTINCT user_id FROM evm_big_train) u, LATERAL recommend(u.user_id, 5, 'evm_als') r
  UNION ALL
  SELECT 'evm_knn', u.user_id, r.item, r.rank
    FROM (SELECT DISTINCT user_id FROM evm_big_train) u, LATERAL recommend(u.user_id, 5, 'evm_knn') r;
CREATE VIEW evm_big_recs_als AS SELECT user_id, item_id, rank FROM evm_big_recs WHERE model = 'evm_als';
CREATE VIEW evm_big_recs_knn AS SELECT user_id, item_id, rank FROM evm_big_recs WHERE model = 'evm_knn';
SELECT a.model_name, a.users_evaluated > 0 AS some_users,
       a.users_evaluated = b.users_evaluated AS same_users,
       abs(a.precision_at_k - b.precision_at_k) < 1e-12 AS same_p,
       abs(a.ndcg_at_k - b.ndcg_at_k) < 1e-12 AS same_ndcg,
       abs(a.map_at_k - b.map_at_k) < 1e-12 AS same_map,
       abs(a.mrr_at_k - b.mrr_at_k) < 1e-12 AS same_mrr,
       abs(a.coverage - b.coverage) < 1e-12 AS same_coverage,
       abs(a.popularity_bias - b.popularity_bias) < 1e-12 AS same_bias
  FROM evaluate('evm_als', 'evm_big_test', 'user_id', 'item_id', k => 5) a,
       evaluate_rankings('evm_big_recs_als', 'evm_big_test', k => 5, train => 'evm_big_train') b
UNION ALL
SELECT a.model_name, a.users_evaluated > 0, a.users_evaluated = b.users_evaluated,
       abs(a.precision_at_k - b.precision_at_k) < 1e-12, abs(a.ndcg_at_k - b.ndcg_at_k) < 1e-12,
       abs(a.map_at_k - b.map_at_k) < 1e-12, abs(a.mrr_at_k - b.mrr_at_k) < 1e-12,
       abs(a.coverage - b.coverage) < 1e-12, abs(a.popularity_bias - b.popularity_bias) < 1e-12
  FROM evaluate('evm_knn', 'evm_big_test', 'user_id', 'item_id', k => 5) a,
       evaluate_rankings('evm_big_recs_knn', 'evm_big_test', k => 5, train => 'evm_big_train') b
ORDER BY 1;
-- RMSE and MAE of an explicit-feedback model against the same pairs computed with predict()
SELECT count(*) FROM train('evm_alsx', 'evm_big_train', 'user_id', 'item_id', 'rating',
                           method => 'als_explicit', factors => 3, iterations => 5, seed => 1);
SELECT abs(e.rmse - p.rmse) < 1e-9 AS same_rmse, abs(e.mae - p.mae) < 1e-9 AS same_mae
  FROM evaluate('evm_alsx', 'evm_big_test', 'user_id', 'item_id', 'rating') e,
       (SELECT sqrt(avg((predict(t.user_id, t.item_id, 'evm_alsx') - t.rating) ^ 2)) AS rmse,
               avg(abs(predict(t.user_id, t.item_id, 'evm_alsx') - t.rating)) AS mae
          FROM evm_big_test t) p;
-- leave the catalogue empty for the next test
SELECT count(*) AS dropped FROM (SELECT drop_model(name) FROM models) d;
DROP TABLE evm_train, evm_test, evm_recs, evm_test_text, evm_test_nan, evm_test_empty, evm_big,
  evm_big_recs CASCADE;
