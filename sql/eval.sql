-- Ranking metrics (ranking_metrics, per user) and evaluate_rankings (any
-- table of ranked lists against a test table), against hand-computed values.
-- Notation: DCG discounts 1/log2(1 + position): 1, 0.630930, 0.5, 0.430677.
SET search_path = recpromo, public;

-- [rel, -, rel, -, -], |R| = 3, k = 3:
--   hits 2, P = 2/3, R = 2/3, F1 = 2*2/(3+3) = 2/3,
--   NDCG = (1 + 0.5) / (1 + 0.630930 + 0.5) = 0.703918,
--   AP = (1/1 + 2/3) / min(3, 3) = 0.555556, hit 1, RR 1
SELECT hits, round("precision"::numeric, 6) AS p, round(recall::numeric, 6) AS r,
       round(f1::numeric, 6) AS f1, round(ndcg::numeric, 6) AS ndcg,
       round(average_precision::numeric, 6) AS ap, hit, reciprocal_rank AS rr
  FROM ranking_metrics(ARRAY[1, 2, 3, 4, 5], ARRAY[true, false, true, false, false], 3, 3);
-- same list given out of order: ranks decide, not array order
SELECT round(ndcg::numeric, 6) AS ndcg, round(average_precision::numeric, 6) AS ap
  FROM ranking_metrics(ARRAY[5, 3, 1, 4, 2], ARRAY[false, true, true, false, false], 3, 3);
-- fewer test items than k: [-, rel, -, -], |R| = 1, k = 10:
--   P = 1/10 (precision divides by k), R = 1, F1 = 2/11 = 0.181818,
--   NDCG = 0.630930 / 1 (ideal over min(k, |R|) = 1 position), AP = (1/2)/1, RR 1/2
SELECT round("precision"::numeric, 6) AS p, recall AS r, round(f1::numeric, 6) AS f1,
       round(ndcg::numeric, 6) AS ndcg, average_precision AS ap, hit, reciprocal_rank AS rr
  FROM ranking_metrics(ARRAY[1, 2, 3, 4], ARRAY[false, true, false, false], 1, 10);
-- a list shorter than k with the relevant set larger than the list:
-- [rel, rel], |R| = 4, k = 5: P = 2/5, R = 1/2, F1 = 4/9 = 0.444444,
--   NDCG = (1 + 0.630930)/(1 + 0.630930 + 0.5 + 0.430677) = 0.636682,
--   AP = (1 + 1)/min(5, 4) = 0.5
SELECT round("precision"::numeric, 6) AS p, recall AS r, round(f1::numeric, 6) AS f1,
       round(ndcg::numeric, 6) AS ndcg, average_precision AS ap, hit, reciprocal_rank AS rr
  FROM ranking_metrics(ARRAY[1, 2], ARRAY[true, true], 4, 5);
-- ties are scored by their expectation over the orders of the tied items.
-- ranks [1, 1, 2], the second of the tie relevant, |R| = 1:
--   k = 1: the tie straddles the cut, half a relevant item is in: all 0.5
--   k = 2: hit 1; RR = (1 + 1/2)/2 = 0.75; NDCG = (1 + 0.630930)/2 = 0.815465;
--          AP = 0.5 * 1/1 + 0.5 * 1/2 = 0.75
SELECT 1 AS k, hits, "precision" AS p, recall AS r, f1, ndcg, average_precision AS ap, hit, reciprocal_rank AS rr
  FROM ranking_metrics(ARRAY[1, 1, 2], ARRAY[false, true, false], 1, 1)
UNION ALL
SELECT 2, hits, round("precision"::numeric, 6), recall, round(f1::numeric, 6), round(ndcg::numeric, 6),
       average_precision, hit, reciprocal_rank
  FROM ranking_metrics(ARRAY[1, 1, 2], ARRAY[false, true, false], 1, 2);
-- a tie of three with two relevant, at the top, k = 1, |R| = 2:
--   P = 2/3, hit = 1 - (1/3) = 0.666667, RR = 2/3, AP = (2/3)/1, NDCG = 2/3
SELECT round("precision"::numeric, 6) AS p, round(hit::numeric, 6) AS hit,
       round(reciprocal_rank::numeric, 6) AS rr, round(average_precision::numeric, 6) AS ap,
       round(ndcg::numeric, 6) AS ndcg
  FROM ranking_metrics(ARRAY[7, 7, 7], ARRAY[true, true, false], 2, 1);
-- nothing relevant in the list, and an empty list: all zero
SELECT hits, "precision", recall, f1, ndcg, average_precision, hit, reciprocal_rank
  FROM ranking_metrics(ARRAY[1, 2, 3], ARRAY[false, false, false], 2, 3);
SELECT hits, "precision", recall, f1, ndcg, average_precision, hit, reciprocal_rank
  FROM ranking_metrics('{}', '{}', 2, 3);
-- bad input
SELECT * FROM ranking_metrics(ARRAY[1, 2], ARRAY[true, false], NULL, 3);
SELECT * FROM ranking_metrics(ARRAY[1, 2], ARRAY[true, false], 1, 0);
SELECT * FROM ranking_metrics(ARRAY[1, 2], ARRAY[true, false], 0, 3);
SELECT * FROM ranking_metrics(ARRAY[1, 2], ARRAY[true, true], 1, 3);
SELECT * FROM ranking_metrics(ARRAY[1, 2], ARRAY[true], 1, 3);
SELECT * FROM ranking_metrics(ARRAY[1, NULL], ARRAY[true, false], 1, 3);
SELECT * FROM ranking_metrics(ARRAY[1, 'NaN']::float8[], ARRAY[true, false], 1, 3);
SELECT * FROM ranking_metrics(ARRAY[1, '-Infinity']::float8[], ARRAY[true, false], 1, 3);
SELECT * FROM ranking_metrics(ARRAY[[1, 2]], ARRAY[true, false], 1, 3);

-- evaluate_rankings --------------------------------------------------------
-- test: user 1 {10 (5), 11 (3), 12 (4)}, user 2 {20 (5)}, user 3 {30 (2)},
-- user 4 {40 (5)} (no ranking: skipped as unknown).  Rankings, k = 3:
-- user 1: 10, 13, 12, 14   user 2: 21 and 20 tied first, 22   user 3: 30
-- user 5 is not in the test set (ignored).
CREATE TABLE ev_test (user_id int, item_id int, rating float8);
INSERT INTO ev_test VALUES (1, 10, 5), (1, 11, 3), (1, 12, 4), (2, 20, 5), (3, 30, 2), (4, 40, 5),
  (NULL, 10, 5), (1, NULL, 5);
CREATE TABLE ev_recs (user_id int, item_id int, rank int);
INSERT INTO ev_recs VALUES (1, 10, 1), (1, 13, 2), (1, 12, 3), (1, 14, 4),
  (2, 21, 1), (2, 20, 1), (2, 22, 3), (3, 30, 1), (5, 10, 1), (3, 31, NULL);
-- training interactions, for catalogue coverage and popularity:
-- popularity 10: 2 users, 13: 3, 21: 1, 22: 1, 50: 1 (catalogue of 5, mean 1.6)
CREATE TABLE ev_train (user_id int, item_id int);
INSERT INTO ev_train VALUES (2, 10), (3, 10), (1, 13), (2, 13), (3, 13), (1, 21), (4, 22), (9, 50), (9, 50);
-- All test items relevant, k = 3.  Per user (P, R, F1, NDCG, AP, hit, RR):
--   user 1: 2/3, 2/3, 2/3, 0.703918, 0.555556, 1, 1
--   user 2: 1/3, 1, 2/4, 0.815465, 0.75, 1, 0.75   (tie: half a hit at 1, half at 2)
--   user 3: 1/3, 1, 2/4, 1, 1, 1, 1
-- means: P 4/9 = 0.444444, R 8/9 = 0.888889, F1 5/9 = 0.555556,
--   NDCG 0.839794, MAP 0.768519, hit 1, MRR 0.916667
-- catalogue (top-3 slots: 10, 13, 12, 21, 20, 22, 30): coverage 4/5 = 0.8,
--   popularity per slot (2 + 3 + 0 + 1 + 0 + 1 + 0)/7 = 1, catalogue 1.6, bias 0.625
SELECT model_name, users_evaluated, users_skipped_no_test, users_skipped_unknown,
       round(precision_at_k::numeric, 6) AS p, round(recall_at_k::numeric, 6) AS r,
       round(f1_at_k::numeric, 6) AS f1, round(ndcg_at_k::numeric, 6) AS ndcg,
       round(map_at_k::numeric, 6) AS map, hit_rate_at_k AS hit, round(mrr_at_k::numeric, 6) AS mrr,
       coverage, popularity_recommended AS pop_rec, popularity_catalogue AS pop_cat,
       popularity_bias AS bias, rmse, mae
  FROM evaluate_rankings('ev_recs', 'ev_test', k => 3, train => 'ev_train');
-- Ratings of 4 and above relevant: user 1 {10, 12} (|R| = 2), user 2 {20},
-- user 3 none (skipped: no relevant test item), user 4 unknown.
--   user 1: P 2/3, R 1, F1 4/5, NDCG 1.5/1.630930 = 0.919721, AP (1 + 2/3)/2, hit 1, RR 1
--   user 2: as above.  Means: P 0.5, R 1, F1 0.65, NDCG 0.867593, MAP 0.791667, MRR 0.875
SELECT users_evaluated, users_skipped_no_test, users_skipped_unknown,
       round(precision_at_k::numeric, 6) AS p, round(recall_at_k::numeric, 6) AS r,
       round(f1_at_k::numeric, 6) AS f1, round(ndcg_at_k::numeric, 6) AS ndcg,
       round(map_at_k::numeric, 6) AS map, hit_rate_at_k AS hit, round(mrr_at_k::numeric, 6) AS mrr,
       coverage
  FROM evaluate_rankings('ev_recs', 'ev_test', 'user_id', 'item_id', 'rank', 3,
                         rating_col => 'rating', relevance_threshold => 4);
-- k = 1: the tie of user 2 straddles the cut, each tied item gets half a slot.
--   slots: 10 (1), 21 (0.5), 20 (0.5), 30 (1): coverage {10, 21}/5 = 0.4,
--   popularity per slot (2 + 0.5 * 1)/3 = 0.833333, bias 0.520833
--   user 1: P 1, R 1/3, F1 2/4; user 2: all 0.5; user 3: all 1
SELECT round(precision_at_k::numeric, 6) AS p, round(recall_at_k::numeric, 6) AS r,
       round(f1_at_k::numeric, 6) AS f1, round(ndcg_at_k::numeric, 6) AS ndcg,
       round(hit_rate_at_k::numeric, 6) AS hit, round(mrr_at_k::numeric, 6) AS mrr, coverage,
       round(popularity_recommended::numeric, 6) AS pop_rec, round(popularity_bias::numeric, 6) AS bias
  FROM evaluate_rankings('ev_recs', 'ev_test', k => 1, train => 'ev_train');
-- two recommenders side by side in one query
CREATE VIEW ev_recs_reversed AS SELECT user_id, item_id, -rank AS rank FROM ev_recs;
SELECT model_name, round(precision_at_k::numeric, 4) AS p, round(ndcg_at_k::numeric, 4) AS ndcg
  FROM evaluate_rankings('ev_recs', 'ev_test', k => 2)
UNION ALL
SELECT model_name, round(precision_at_k::numeric, 4), round(ndcg_at_k::numeric, 4)
  FROM evaluate_rankings('ev_recs_reversed', 'ev_test', k => 2)
ORDER BY 1;
-- text keys work the same way
CREATE TABLE ev_test_t AS SELECT user_id::text AS user_id, 'SKU' || item_id AS item_id FROM ev_test;
CREATE TABLE ev_recs_t AS SELECT user_id::text AS user_id, 'SKU' || item_id AS item_id, rank FROM ev_recs;
SELECT users_evaluated, round(ndcg_at_k::numeric, 6) AS ndcg FROM evaluate_rankings('ev_recs_t', 'ev_test_t', k => 3);
-- bad input
SELECT * FROM evaluate_rankings(NULL, 'ev_test');
SELECT * FROM evaluate_rankings('ev_recs', 'ev_test', k => 0);
SELECT * FROM evaluate_rankings('ev_recs', 'ev_test', k => NULL);
SELECT * FROM evaluate_rankings('ev_recs', 'ev_test', user_col => 'customer');
SELECT * FROM evaluate_rankings('ev_recs', 'ev_test', rank_col => NULL);
SELECT * FROM evaluate_rankings('no_such_table', 'ev_test');
SELECT * FROM evaluate_rankings('ev_recs_t', 'ev_test');
SELECT * FROM evaluate_rankings('ev_recs', 'ev_test', rank_col => 'user_id', train => 'ev_test_t');
CREATE TABLE ev_recs_textrank AS SELECT user_id, item_id, rank::text AS rank FROM ev_recs;
SELECT * FROM evaluate_rankings('ev_recs_textrank', 'ev_test');
SELECT * FROM evaluate_rankings('ev_recs', 'ev_test', relevance_threshold => 4);
SELECT * FROM evaluate_rankings('ev_recs', 'ev_test', rating_col => 'rating', relevance_threshold => 'NaN');
SELECT * FROM evaluate_rankings('ev_recs_t', 'ev_test_t', rating_col => 'item_id');
CREATE TABLE ev_test_nan AS SELECT * FROM ev_test;
INSERT INTO ev_test_nan VALUES (1, 15, 'NaN');
SELECT * FROM evaluate_rankings('ev_recs', 'ev_test_nan', rating_col => 'rating');
CREATE TABLE ev_recs_dup AS SELECT * FROM ev_recs;
INSERT INTO ev_recs_dup VALUES (1, 10, 7);
SELECT * FROM evaluate_rankings('ev_recs_dup', 'ev_test');
CREATE TABLE ev_recs_nanrank (user_id int, item_id int, rank float8);
INSERT INTO ev_recs_nanrank VALUES (1, 10, 1), (1, 11, 'NaN');
SELECT * FROM evaluate_rankings('ev_recs_nanrank', 'ev_test');
-- no test user has a ranking: nothing evaluated, metrics NULL
CREATE TABLE ev_test_other (user_id int, item_id int);
INSERT INTO ev_test_other VALUES (99, 10);
SELECT users_evaluated, users_skipped_unknown, precision_at_k, ndcg_at_k
  FROM evaluate_rankings('ev_recs', 'ev_test_other');
-- leave nothing behind for the other test files
SET client_min_messages = warning;
DROP TABLE ev_test, ev_recs, ev_train, ev_test_t, ev_recs_t, ev_recs_textrank, ev_test_nan,
  ev_recs_dup, ev_recs_nanrank, ev_test_other CASCADE;
