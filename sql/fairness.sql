-- Fairness and privacy of serving (issue 13): exposure measures against
-- hand-checked values and against exposure_rankings of the same lists,
-- per-group accuracy, the re-rankers of recommend() returning exactly
-- min(n, eligible) with every option combined, similar_users needing a
-- grant beyond serving, and explain_recommendation showing only the
-- customer's own history.
SET search_path = recpromo, public;
SET client_min_messages = warning;

CREATE TABLE fa_train (user_id int, item_id int);
INSERT INTO fa_train SELECT u, i FROM generate_series(1, 30) u, generate_series(1, 20) i
WHERE (u * 7 + i * 3) % 5 < 2 OR i <= 3;
CREATE TABLE fa_test (user_id int, item_id int);
INSERT INTO fa_test SELECT u, i FROM generate_series(1, 32) u, generate_series(1, 20) i
WHERE (u * 5 + i * 11) % 7 = 0
  AND NOT EXISTS (SELECT 1 FROM fa_train t WHERE t.user_id = u AND t.item_id = i);
CREATE TABLE fa_cat (item_id int, category text);
INSERT INTO fa_cat SELECT i, CASE WHEN i <= 7 THEN 'a' WHEN i <= 14 THEN 'b' ELSE 'c' END
FROM generate_series(1, 19) i;            -- item 20 has no category
CREATE TABLE fa_groups (item_id int, item_group text);
INSERT INTO fa_groups SELECT i, CASE WHEN i % 3 = 0 THEN 'own brand' ELSE 'others' END FROM generate_series(1, 20) i;
CREATE TABLE fa_users (user_id int, user_group text);
INSERT INTO fa_users SELECT u, CASE WHEN u <= 10 THEN 'new' ELSE 'returning' END FROM generate_series(1, 25) u;
SELECT name FROM train('fa_knn', 'fa_train', 'user_id', 'item_id', method => 'item_knn');
SELECT name FROM train('fa_pop', 'fa_train', 'user_id', 'item_id', method => 'popularity');
SELECT name FROM train('fa_als', 'fa_train', 'user_id', 'item_id', method => 'als', factors => 4, seed => 1);
SELECT name FROM train('fa_uknn', 'fa_train', 'user_id', 'item_id', method => 'user_knn');

-- Exposure: a popularity model shows every user nearly the same list, so
-- Gini is high and the long tail gets little.
SELECT measure, item_group, round(value::numeric, 6) AS value
  FROM exposure('fa_pop', 'fa_test', k => 5, item_groups => 'fa_groups');
SELECT measure, item_group, round(value::numeric, 6) AS value
  FROM exposure('fa_knn', 'fa_test', k => 5, item_groups => 'fa_groups');

-- The same lists through exposure_rankings give the same figures.
CREATE TABLE fa_recs AS
SELECT u.user_id, r.item AS item_id, r.rank
  FROM (SELECT DISTINCT user_id FROM fa_test WHERE user_id IN (SELECT user_id FROM fa_train)) u,
       recommend(u.user_id, 5, 'fa_knn') r;
SELECT a.measure, a.item_group, abs(a.value - b.value) < 1e-12 AS same
  FROM exposure('fa_knn', 'fa_test', k => 5, item_groups => 'fa_groups') a
  JOIN exposure_rankings('fa_recs', 'fa_test', 'fa_train', k => 5, item_groups => 'fa_groups') b
    ON a.measure = b.measure AND a.item_group IS NOT DISTINCT FROM b.item_group
 ORDER BY a.item_group NULLS FIRST, a.measure;

-- Hand-checked: 2 users, k = 2, catalogue {1, 2, 3, 4} with popularity
-- 4, 3, 2, 1 (head = ceil(0.2 * 4) = 1 item: item 1).  Lists: u1 {1, 2},
-- u2 {1, 3}.  x = (2, 1, 1, 0): Gini = (-3*0 - 1*1 + 1*1 + 3*2) / (4 * 4)
-- = 0.375; long tail share 2/4; APLT (1/2 + 1/2)/2 = 0.5; ARP
-- ((4+3)/2 + (4+2)/2)/2 = 3.25.  Ties (u3 ranks items 3 and 4 equal at
-- position 2 of k = 2... not present here).
CREATE TABLE fa_h_train (user_id int, item_id int);
INSERT INTO fa_h_train VALUES (1,1),(2,1),(3,1),(4,1),(1,2),(2,2),(3,2),(1,3),(2,3),(1,4);
CREATE TABLE fa_h_test (user_id int, item_id int);
INSERT INTO fa_h_test VALUES (1, 2), (2, 4);
CREATE TABLE fa_h_recs (user_id int, item_id int, rank int);
INSERT INTO fa_h_recs VALUES (1, 1, 1), (1, 2, 2), (2, 1, 1), (2, 3, 2);
CREATE TABLE fa_h_groups (item_id int, item_group text);
INSERT INTO fa_h_groups VALUES (1, 'g1'), (2, 'g2'), (3, 'g2'), (4, 'g2');
SELECT measure, item_group, round(value::numeric, 6) AS value
  FROM exposure_rankings('fa_h_recs', 'fa_h_test', 'fa_h_train', k => 2, item_groups => 'fa_h_groups');

-- Accuracy per user group; the group rows average evaluate()'s per-user
-- metrics (users 26..30 are in no group: the NULL row).
SELECT user_group, users_evaluated, users_skipped_no_test, users_skipped_unknown,
       round(precision_at_k::numeric, 6) AS p, round(ndcg_at_k::numeric, 6) AS ndcg
  FROM evaluate_by_group('fa_knn', 'fa_test', 'fa_users', k => 5);
SELECT round((sum(users_evaluated * ndcg_at_k) / sum(users_evaluated))::numeric, 9) =
       (SELECT round(ndcg_at_k::numeric, 9) FROM evaluate('fa_knn', 'fa_test', k => 5)) AS weighted_mean_matches
  FROM evaluate_by_group('fa_knn', 'fa_test', 'fa_users', k => 5);

-- Bad input
SELECT * FROM exposure('fa_knn', 'fa_test', head_share => 1.5);
SELECT * FROM exposure('fa_knn', 'fa_test', head_share => NULL);
SELECT * FROM exposure('fa_knn', 'fa_test', item_groups => 'fa_groups', group_col => 'nope');
SELECT * FROM exposure_rankings('fa_recs', 'fa_test', NULL);
SELECT * FROM exposure_rankings('fa_recs', 'fa_test', 'fa_train', item_groups => 'fa_groups', group_col => 'nope');
SELECT * FROM evaluate_by_group('fa_knn', 'fa_test', NULL);

-- Re-ranking: exactly min(n, eligible) rows whatever the options.  With a
-- cap of 2 per category, 3 categories and one uncategorised item the
-- eligible count is at most 7.
SELECT m, n, count(r.*) AS rows, count(DISTINCT r.item) AS distinct_items
  FROM (VALUES ('fa_knn'), ('fa_als'), ('fa_pop'), ('fa_uknn')) v(m),
       (VALUES (3), (8), (50)) w(n),
       LATERAL recommend(1, w.n, v.m, exclude_items => ARRAY[1, 2], categories => 'fa_cat',
                         max_per_category => 2, diversity => 0.3, calibration => 0.3,
                         min_share => 0.5, share_categories => ARRAY['c']) r
 GROUP BY m, n ORDER BY m, n;
-- without a cap: min(n, every unseen item but the excluded)
SELECT m, n, count(r.*) AS rows,
       (SELECT count(*) FROM generate_series(1, 20) i
         WHERE i NOT IN (1, 2) AND i NOT IN (SELECT item_id FROM fa_train WHERE user_id = 1)) AS eligible
  FROM (VALUES ('fa_knn'), ('fa_als')) v(m), (VALUES (4), (30)) w(n),
       LATERAL recommend(1, w.n, v.m, exclude_items => ARRAY[1, 2], diversity => 0.8,
                         min_share => 0.3, share_items => ARRAY[19, 20, 999]) r
 GROUP BY m, n ORDER BY m, n;
-- only_items inside the selection
SELECT count(*) FROM recommend(1, 10, 'fa_als', only_items => ARRAY[4, 5, 6, 5], diversity => 0.5);
-- lambda = 0 is the plain order
SELECT array_agg(item ORDER BY rank) = (SELECT array_agg(item ORDER BY rank) FROM recommend(3, 6, 'fa_als')) AS same
  FROM recommend(3, 6, 'fa_als', diversity => 0);
-- the minimum share holds in every prefix (floor(0.4 p)) and at the end (ceil(0.4 * 6))
SELECT rank, sum((item IN (16, 17, 19))::int) OVER (ORDER BY rank) AS group_items,
       floor(0.4 * rank) AS at_least
  FROM recommend(3, 6, 'fa_als', min_share => 0.4, share_items => ARRAY[16, 17, 19]) ORDER BY rank;
-- calibration towards user 3's mix of categories a/b/c
SELECT r.rank, c.category FROM recommend(3, 6, 'fa_knn', categories => 'fa_cat', calibration => 0.9) r
  LEFT JOIN fa_cat c ON c.item_id = r.item ORDER BY r.rank;
SELECT c.category, count(*) FROM fa_train t JOIN fa_cat c USING (item_id) WHERE t.user_id = 3 GROUP BY 1 ORDER BY 1;
-- bad re-ranking options
SELECT * FROM recommend(1, 5, 'fa_als', diversity => 1.5);
SELECT * FROM recommend(1, 0, 'fa_als', min_share => -0.1);
SELECT * FROM recommend(1, 5, 'fa_als', diversity => 'NaN');
SELECT * FROM recommend(1, 5, 'fa_als', diversity => 0.6, calibration => 0.6, categories => 'fa_cat');
SELECT * FROM recommend(1, 5, 'fa_als', calibration => 0.5);
SELECT * FROM recommend(1, 5, 'fa_als', min_share => 0.5);
SELECT * FROM recommend(1, 5, 'fa_als', share_items => ARRAY[1]);
SELECT * FROM recommend(1, 5, 'fa_als', min_share => 0.5, share_categories => ARRAY['a']);
SELECT * FROM recommend(1, 5, 'fa_als', min_share => 0.5, share_items => 7);

-- Privacy of serving: similar_users needs more than a serving grant.
CREATE ROLE regress_fa_shop;
CREATE ROLE regress_fa_analyst;
GRANT USAGE ON SCHEMA recpromo TO regress_fa_shop, regress_fa_analyst;
GRANT SELECT ON fa_train TO regress_fa_shop, regress_fa_analyst;
SELECT grant_model('fa_uknn', 'regress_fa_shop');
SELECT grant_model('fa_uknn', 'regress_fa_analyst', similar_users => true);
SET ROLE regress_fa_shop;
SELECT count(*) FROM recommend(1, 3, 'fa_uknn');
SELECT count(*) FROM similar_users(1, 3, 'fa_uknn');
RESET ROLE;
SET ROLE regress_fa_analyst;
SELECT count(*) FROM similar_users(1, 3, 'fa_uknn');
RESET ROLE;
SELECT name, granted_to, similar_users_granted_to FROM models WHERE name = 'fa_uknn';
SELECT revoke_model('fa_uknn', 'regress_fa_analyst', similar_users => true);
SET ROLE regress_fa_analyst;
SELECT count(*) FROM recommend(1, 3, 'fa_uknn');
SELECT count(*) FROM similar_users(1, 3, 'fa_uknn');
RESET ROLE;
SELECT revoke_model('fa_uknn', 'regress_fa_analyst');
-- the grants go with the owner: a retrain by another role clears both
SET ROLE regress_fa_analyst;
SELECT name FROM train('fa_own', 'fa_train', 'user_id', 'item_id', method => 'user_knn');
SELECT grant_model('fa_own', 'regress_fa_shop', similar_users => true);
SELECT granted_to, similar_users_granted_to FROM models WHERE name = 'fa_own';
SELECT name FROM train('fa_own', 'fa_train', 'user_id', 'item_id', method => 'user_knn');
SELECT granted_to, similar_users_granted_to FROM models WHERE name = 'fa_own';
SELECT grant_model('fa_own', 'regress_fa_shop', similar_users => true);
RESET ROLE;
SELECT name FROM train('fa_own', 'fa_train', 'user_id', 'item_id', method => 'user_knn');
SELECT owner = current_user::regrole AS superuser_owns, granted_to, similar_users_granted_to FROM models WHERE name = 'fa_own';
SELECT drop_model('fa_own');
SELECT name, granted_to, similar_users_granted_to FROM models WHERE name = 'fa_uknn';

-- explain_recommendation shows only the customer's own history: for every
-- user and a few items, each row is one of the user's training items, for
-- every method that explains (user_knn's neighbours stay hidden).
SELECT m, count(*) AS rows,
       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM fa_train t
                                           WHERE t.user_id = u AND t.item_id = e.history_item)) AS foreign_rows
  FROM (VALUES ('fa_knn'), ('fa_als'), ('fa_uknn')) v(m), generate_series(1, 30) u,
       (VALUES (15), (16), (17)) it(i),
       LATERAL explain_recommendation(u, it.i, v.m) e
 GROUP BY m ORDER BY m;
-- a new customer (folded in from the live table) sees only their own rows
INSERT INTO fa_train VALUES (900, 4), (900, 5);
SELECT history_item FROM explain_recommendation(900, 16, 'fa_uknn') ORDER BY history_item;
DELETE FROM fa_train WHERE user_id = 900;
DROP OWNED BY regress_fa_shop, regress_fa_analyst;
DROP ROLE regress_fa_shop;
DROP ROLE regress_fa_analyst;

-- Accuracy per user group for any ranked lists: the same per-user metrics
-- as evaluate_by_group on the model's own lists (users known to it).
SELECT a.user_group, a.users_evaluated = b.users_evaluated AS same_users,
       round(a.ndcg_at_k::numeric, 9) = round(b.ndcg_at_k::numeric, 9) AS same_ndcg,
       round(a.map_at_k::numeric, 9) = round(b.map_at_k::numeric, 9) AS same_map,
       b.users_skipped_unknown
  FROM evaluate_by_group('fa_knn', 'fa_test', 'fa_users', k => 5) a
  JOIN evaluate_rankings_by_group('fa_recs', 'fa_test', 'fa_users', k => 5) b
    ON a.user_group IS NOT DISTINCT FROM b.user_group
 ORDER BY a.user_group NULLS LAST;
SELECT * FROM evaluate_rankings_by_group('fa_recs', 'fa_test', 'fa_users', group_col => 'nope');
-- no test rows at all: every group is listed, with no user
CREATE TABLE fa_empty (user_id int, item_id int);
SELECT user_group, users_evaluated, users_skipped_unknown FROM evaluate_by_group('fa_knn', 'fa_empty', 'fa_users');
SELECT user_group, users_evaluated, users_skipped_unknown FROM evaluate_rankings_by_group('fa_recs', 'fa_empty', 'fa_users');
SELECT measure, value FROM exposure('fa_knn', 'fa_empty') ORDER BY measure;
DROP TABLE fa_empty;

-- leave no model behind for the files that run after this one
SELECT drop_model(m) FROM unnest(ARRAY['fa_knn', 'fa_pop', 'fa_als', 'fa_uknn']) m;
DROP TABLE fa_train, fa_test, fa_cat, fa_groups, fa_users, fa_recs, fa_h_train, fa_h_test, fa_h_recs, fa_h_groups;
