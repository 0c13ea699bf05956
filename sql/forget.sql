SET search_path = recpromo, public;
SET client_min_messages = warning;
-- Erasure (issue 13): forget_user / forget_item, the log, the auditor.
CREATE TABLE fg_buys (cust bigint, item bigint, qty float8);
INSERT INTO fg_buys SELECT g % 29, (g * 7) % 23, 1 + g % 3 FROM generate_series(1, 600) g;
INSERT INTO fg_buys VALUES (4242, 3, 2), (4242, 5, 1), (4242, 777, 1);
SELECT name, n_users, n_items, nnz FROM train('fg_pop', 'fg_buys', 'cust', 'item', 'qty', 'popularity');
SELECT name, n_users, n_items, nnz FROM train('fg_knn', 'fg_buys', 'cust', 'item', 'qty', 'item_knn', neighbours => 5);
SELECT name, n_users, n_items, nnz FROM train('fg_ease', 'fg_buys', 'cust', 'item', 'qty', 'ease');

-- no secret: refused
SELECT * FROM forget_user(4242::bigint);
SET recpromo.erasure_secret = 'regress-secret';
-- bad input
SELECT * FROM forget_user(NULL::bigint);
SELECT * FROM forget_user('4242');
SELECT * FROM forget_user(4242::bigint, model => 'no_such_model');
SELECT * FROM forget_user(4242::bigint, refine_iterations => -1);
SELECT * FROM forget_item(NULL::bigint);
SELECT erasure_logged(4242::bigint, kind => 'customer');

-- erase customer 4242 everywhere: item 777 (only they bought it) goes too
SELECT model_name, method, rows_removed, exact FROM forget_user(4242::bigint) ORDER BY model_name;
SELECT name, n_users, n_items, nnz FROM models WHERE name LIKE 'fg\_%' ORDER BY name;
SELECT count(*) FROM similar_items(777::bigint, 5, model => 'fg_knn');
-- again: nothing left to remove
SELECT model_name, rows_removed, exact, note FROM forget_user(4242::bigint, model => 'fg_pop');
-- the auditor: logged, never the key itself
SELECT erasure_logged(4242::bigint), erasure_logged(4242::bigint, 'item'), erasure_logged(4243::bigint);
SELECT kind, models, length(key_hash) AS hash_bytes,
       position(convert_to('4242', 'UTF8') IN key_hash) AS key_in_hash
  FROM erasure_log ORDER BY id;

-- a delisted item
SELECT model_name, rows_removed, exact FROM forget_item(3::bigint, model => 'fg_knn');
SELECT name, n_items FROM models WHERE name = 'fg_knn';

-- only the owner erases
CREATE ROLE fg_other;
GRANT USAGE ON SCHEMA recpromo TO fg_other;
SELECT grant_model('fg_pop', 'fg_other');
SET ROLE fg_other;
\set VERBOSITY terse
SELECT * FROM forget_user(1::bigint, model => 'fg_pop');
\set VERBOSITY default
-- every model is someone else's: skipped (a NOTICE gives their count)
SELECT * FROM forget_user(1::bigint);
SELECT erasure_logged(1::bigint);
SELECT * FROM erasure_log;
SHOW recpromo.erasure_secret;
SET recpromo.erasure_secret = 'mine';
RESET ROLE;

SELECT drop_model('fg_pop'), drop_model('fg_knn'), drop_model('fg_ease');
DELETE FROM erasure_log;
REVOKE USAGE ON SCHEMA recpromo FROM fg_other;
DROP ROLE fg_other;
DROP TABLE fg_buys;
