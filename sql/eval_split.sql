-- Evaluation splits: in_test_set / split_position (deterministic hash) and
-- time_split (per-user time-based hold-out).
SET search_path = recpromo, public;

-- The documented hash.  These values come from an independent Python
-- implementation (test/ref/test_metrics.py checks many more).
SELECT split_position(1, 2) = 0.15228039500711454 AS int_pair,
       split_position('42'::text, 'SKU-7'::text) = 0.46846792307539387 AS text_pair,
       split_position(42, 'SKU-7'::text, 7) = 0.6389392583553064 AS mixed_seed_7,
       split_position('abc'::text, ''::text, -3) = 0.7159445749456573 AS negative_seed;
-- integer keys hash like their decimal text; bigint, smallint, varchar too
SELECT split_position(42, 7) = split_position('42'::text, '7'::text) AS int_is_text,
       split_position(42::bigint, 7::smallint) = split_position('42'::varchar, '7') AS widths;
-- the threshold: split_position(1, 2) is 0.1523
SELECT in_test_set(1, 2, 0.15) AS at_015, in_test_set(1, 2, 0.16) AS at_016,
       in_test_set(1, 2, 0.0) AS never, in_test_set(1, 2, 1.0) AS always;
-- about the asked fraction, and a different seed draws a different split
SELECT count(*) FILTER (WHERE in_test_set(u, i, 0.2)) BETWEEN 19000 AND 21000 AS about_20pct,
       count(*) FILTER (WHERE in_test_set(u, i, 0.2) <> in_test_set(u, i, 0.2, 1)) > 0 AS seed_matters
  FROM generate_series(1, 1000) u, generate_series(1, 100) i;
-- IMMUTABLE: usable in an index and a view
CREATE TABLE split_rows AS SELECT u AS user_id, 'SKU-' || i AS sku FROM generate_series(1, 50) u, generate_series(1, 20) i;
CREATE INDEX split_rows_test ON split_rows ((in_test_set(user_id, sku, 0.25)));
CREATE VIEW split_test AS SELECT * FROM split_rows WHERE in_test_set(user_id, sku, 0.25, 3);
SELECT count(*) > 0 AND count(*) < 1000 AS some_held_out FROM split_test;
-- bad input
SELECT in_test_set(1, 2, NULL) AS null_fraction;
SELECT in_test_set(1, 2, 1.5);
SELECT in_test_set(1, 2, -0.1);
SELECT in_test_set(1, 2, 'NaN');
SELECT in_test_set(now(), 2, 0.5);
SELECT split_position(1, 2.5);

-- time_split: c1 has three distinct times (two rows at the last), c2 one,
-- c3 one time and a row without time; one row has no customer.
CREATE TABLE ts (customer text, sku text, bought_at timestamp, qty int);
INSERT INTO ts VALUES
  ('c1', 'A', '2024-01-01', 1), ('c1', 'B', '2024-01-02', 2),
  ('c1', 'C', '2024-01-03', 1), ('c1', 'D', '2024-01-03', 5),
  ('c2', 'A', '2024-01-01', 1),
  ('c3', 'A', '2024-01-02', 1), ('c3', 'B', NULL, 1),
  (NULL, 'E', '2024-01-03', 1);
-- the last distinct time of each user is held out (a basket stays together);
-- users with a single time stay in training
SELECT (s.rec).*, s.is_test
  FROM time_split(NULL::ts, 'customer', 'bought_at') s
 ORDER BY (s.rec).customer, (s.rec).sku;
SELECT (s.rec).customer, (s.rec).sku
  FROM time_split(NULL::ts, 'customer', 'bought_at', holdout => 2) s
 WHERE s.is_test ORDER BY 1, 2;
SELECT count(*) FILTER (WHERE is_test) AS test_rows
  FROM time_split(NULL::ts, 'customer', 'bought_at', holdout => 3);
-- everything after a date
SELECT (s.rec).customer, (s.rec).sku, s.is_test
  FROM time_split(NULL::ts, 'customer', 'bought_at', after => '2024-01-02') s
 ORDER BY 1, 2;
-- materialise the two sides, as a shop would
CREATE TABLE ts_train AS SELECT (s.rec).* FROM time_split(NULL::ts, 'customer', 'bought_at') s WHERE NOT s.is_test;
CREATE VIEW ts_test AS SELECT (s.rec).* FROM time_split(NULL::ts, 'customer', 'bought_at') s WHERE s.is_test;
SELECT (SELECT count(*) FROM ts_train) AS train_rows, (SELECT count(*) FROM ts_test) AS test_rows;
-- a view works as the source too (its row type comes back)
CREATE VIEW ts_view AS SELECT customer, sku, bought_at FROM ts WHERE customer <> 'c2';
SELECT (s.rec).customer, (s.rec).sku, s.is_test
  FROM time_split(NULL::ts_view, 'customer', 'bought_at') s WHERE s.is_test ORDER BY 1, 2;
-- a column named like the whole-row alias does not confuse it
CREATE TABLE ts_odd (src int, "time" int);
INSERT INTO ts_odd VALUES (1, 1), (1, 2), (2, 5);
SELECT (s.rec).*, s.is_test FROM time_split(NULL::ts_odd, 'src', 'time') s ORDER BY 1, 2;
-- bad input
SELECT * FROM time_split(1, 'customer', 'bought_at');
SELECT * FROM time_split(NULL::ts, 'nobody', 'bought_at');
SELECT * FROM time_split(NULL::ts, 'customer', NULL);
SELECT * FROM time_split(NULL::ts, 'customer', 'bought_at', holdout => 0);
SELECT * FROM time_split(NULL::ts, 'customer', 'bought_at', holdout => 1, after => '2024-01-01');
SELECT * FROM time_split(NULL::ts, 'customer', 'qty', after => '2024-01-01');
SELECT * FROM time_split(NULL::ts, 'customer', 'bought_at', after => 'infinity');
-- leave nothing behind for the other test files
SET client_min_messages = warning;
DROP TABLE split_rows, ts, ts_train, ts_odd CASCADE;
