-- Sessions: the session_knn method (V-SKNN), recommend_for_session with
-- recency weights, filters, boosts and category caps, evaluate_sessions on
-- a hand-computed example, and bad input.
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- four past sessions, events in time order
CREATE TABLE se_clicks (sess int, item int, t int);
INSERT INTO se_clicks VALUES (1, 1, 1), (1, 2, 2), (1, 3, 3),
                             (2, 1, 1), (2, 4, 2),
                             (3, 3, 1), (3, 5, 2),
                             (4, 2, 1), (4, 3, 2), (4, 6, 3);
SELECT name, method, params, n_users, n_items FROM train_session('se', 'se_clicks', 'sess', 'item', 't');

-- Session [1, 3]: L = 2, item 1 weighs 1/2, item 3 (the latest) 1.
-- Similarities: S1 {1,2,3} 1.5, S2 {1,4} 0.5, S3 {3,5} 1, S4 {2,3,6} 1.
-- Scores: 2 = S1 + S4 = 2.5; 5 = S3 = 1; 6 = S4 = 1; 4 = S2 = 0.5.
SELECT * FROM recommend_for_session(ARRAY[1, 3], 5, model => 'se');
-- the reverse order: 3 weighs 1/2, 1 weighs 1: S1 1.5, S2 1, S3 0.5, S4 0.5
SELECT * FROM recommend_for_session(ARRAY[3, 1], 5, model => 'se');
-- a repeated item keeps its latest position: [3, 1, 3] is L = 3, 1 -> 2/3, 3 -> 1
SELECT item, round(score::numeric, 6) AS score, rank FROM recommend_for_session(ARRAY[3, 1, 3], 5, model => 'se');
-- the input may be recommended again
SELECT * FROM recommend_for_session(ARRAY[1, 3], 3, model => 'se', exclude_input => false);
-- fewer neighbours: only S1 (the most similar) and S4 (tied with S3, more recent)
SELECT name FROM train_session('se2', 'se_clicks', 'sess', 'item', 't', neighbours => 2);
SELECT * FROM recommend_for_session(ARRAY[1, 3], 5, model => 'se2');

-- filters, boosts and category rules as in recommend()
CREATE TABLE se_boost (item_id int, weight float8);
INSERT INTO se_boost VALUES (5, 3.0), (6, 0.5);
CREATE TABLE se_cat (item_id int, category text);
INSERT INTO se_cat VALUES (2, 'a'), (4, 'a'), (5, 'b'), (6, 'b');
SELECT * FROM recommend_for_session(ARRAY[1, 3], 5, model => 'se', exclude_items => ARRAY[2]);
SELECT * FROM recommend_for_session(ARRAY[1, 3], 5, model => 'se', only_items => ARRAY[4, 6]);
SELECT * FROM recommend_for_session(ARRAY[1, 3], 5, model => 'se', boosts => 'se_boost', boost_item_col => 'item_id');
SELECT * FROM recommend_for_session(ARRAY[1, 3], 5, model => 'se', categories => 'se_cat', max_per_category => 1);
SELECT * FROM recommend_for_session(ARRAY[1, 3], 5, model => 'se', categories => 'se_cat', only_categories => '{b}');

-- any model serves sessions: recent items weigh more in an item_knn basket too
SELECT name FROM train('se_knn', 'se_clicks', 'sess', 'item', method => 'item_knn');
SELECT item, round(score::numeric, 6) AS score, rank FROM recommend_for_session(ARRAY[1, 3], 3, model => 'se_knn');
-- a known session through recommend(): its stored items, itself left out of its neighbours
SELECT * FROM recommend(1, 3, model => 'se');

-- evaluate_sessions.  Held-out sessions: 10 = [1, 2 | 3], 11 = [3 | 5], 12 = [4] (skipped).
-- 10: weights 1 -> 1/2, 2 -> 1; S1 1.5, S2 0.5, S4 1; scores 1: 2, 2: 2.5, 3: 2.5, 6: 1, 4: 0.5;
--     top 2 = 2, 3 (tie, lower index first): target 3 at rank 2, RR 1/2.
-- 11: 3 -> 1; S1, S3, S4 1 each; scores 3: 3, 2: 2, 1, 5, 6: 1; top 2 = 3, 2: miss.
-- hit rate 1/2, MRR 1/4.  With exclude_input, 10's top 2 = 3, 6: rank 1; 11's = 2, 1: miss.
-- Order-blind (weight 1 each), 10: S1 2, S2 1, S4 1; 1, 2, 3 all 3: top 2 = 1, 2: miss.
CREATE TABLE se_test (sess int, item int, t int);
INSERT INTO se_test VALUES (10, 1, 1), (10, 2, 2), (10, 3, 3), (11, 3, 1), (11, 5, 2), (12, 4, 1);
SELECT * FROM evaluate_sessions('se', 'se_test', 'sess', 'item', 't', k => 2);
SELECT * FROM evaluate_sessions('se', 'se_test', 'sess', 'item', 't', k => 2, exclude_input => true);
SELECT * FROM evaluate_sessions('se', 'se_test', 'sess', 'item', 't', k => 2, order_blind => true);
-- at k = 20 every candidate is listed
SELECT sessions_evaluated, hit_rate, round(mrr::numeric, 6) AS mrr
FROM evaluate_sessions('se', 'se_test', 'sess', 'item', 't');

-- bad input: documented results
SELECT * FROM recommend_for_session(ARRAY[]::int[], 3, model => 'se');      -- empty: popularity
SELECT * FROM recommend_for_session(ARRAY[99, NULL], 3, model => 'se');     -- unknown, NULL: skipped
SELECT * FROM recommend_for_session(ARRAY[1, 3], 0, model => 'se');         -- n = 0: no rows
-- and errors
SELECT * FROM recommend_for_session(NULL::int[], 3, model => 'se');
SELECT * FROM recommend_for_session(ARRAY[1, 3], -1, model => 'se');
SELECT * FROM recommend_for_session(ARRAY[[1, 3], [2, 4]], 3, model => 'se');
SELECT * FROM recommend_for_session(ARRAY[1, 3], 3, model => 'se', max_per_category => 0);
SELECT * FROM recommend_for_session(ARRAY[1, 3], 3, model => 'nope');
SELECT * FROM train_session('x', 'se_clicks', 'sess', 'item', NULL);
SELECT * FROM train_session('x', 'se_clicks', 'sess', 'item', 'nope');
SELECT * FROM train_session('x', 'se_clicks', 'sess', 'item', 't', neighbours => 0);
SELECT * FROM train('x', 'se_clicks', 'sess', 'item', method => 'session_knn');
CREATE TABLE se_textual (sess int, item int, t text);
INSERT INTO se_textual VALUES (1, 1, 'a');
SELECT * FROM train_session('x', 'se_textual', 'sess', 'item', 't');
SELECT * FROM evaluate_sessions('se', 'se_test', 'sess', 'item', 't', k => 0);
SELECT * FROM evaluate_sessions('se', NULL, 'sess', 'item', 't');
SELECT * FROM evaluate_sessions('se', 'se_test', 'sess', 'item', NULL);
SELECT * FROM evaluate_sessions('se', 'se_test', 'sess', 'item', 'nope');

-- clean up: later files may list every model
SELECT count(drop_model(name)) AS dropped FROM models WHERE name IN ('se', 'se2', 'se_knn');
