-- train in a read-only transaction fails up front with SQLSTATE 25006 and a
-- clear message (on a hot standby the message names the standby: see
-- test/tap/t/001_standby.pl); serving still works read-only.
SET search_path = recpromo, public;
SET client_min_messages = warning;
CREATE TABLE ro_buys (customer int, product int);
INSERT INTO ro_buys SELECT u, 1 + (u * 3 + k) % 9 FROM generate_series(1, 20) u, generate_series(1, 3) k;
SELECT name FROM train('ro', 'ro_buys', 'customer', 'product', method => 'popularity');
BEGIN READ ONLY;
SELECT name FROM train('ro2', 'ro_buys', 'customer', 'product', method => 'popularity');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN READ ONLY;
SELECT count(*) AS served FROM recommend(1, 3, 'ro');
COMMIT;
SELECT count(*) AS ro2_models FROM models WHERE name = 'ro2';
SELECT drop_model('ro') AS dropped;
