-- Money is summed in numeric: rfm's monetary value and category_affinity's
-- amount are numeric, exact to the cent whatever the type of the amount
-- column, and a category whose purchases and returns cancel is left out.
SET search_path = recpromo, public;
SET extra_float_digits = 0;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never

-- Amounts as a loader computes them, in float8: quantity x unit price.
-- Customer 1 buys 1797.24 in 62 lines of 3 x 2.55 = 7.6499999999999995 and
-- 58 lines of 0.1 + 0.2 = 0.30000000000000004 (plus one of 1797.24 - 491.7 =
-- 1305.54); float8 sums of these are not 1797.24.
CREATE TABLE pm_lines (invoice text, customer int, ordered_at timestamptz, amount float8, category text);
INSERT INTO pm_lines
SELECT 'i' || k, 1, timestamptz '2024-06-01' + k * interval '1 hour', 3 * 2.55::float8, 'toys'
  FROM generate_series(1, 62) k;
INSERT INTO pm_lines
SELECT 'j' || k, 1, timestamptz '2024-06-10' + k * interval '1 hour', 0.1::float8 + 0.2::float8, 'books'
  FROM generate_series(1, 58) k;
INSERT INTO pm_lines VALUES ('k1', 1, '2024-06-20', 1305.54, 'food');
-- customer 2: toys bought for 0.1 + 0.2 and returned for 0.3: net exactly zero
INSERT INTO pm_lines VALUES ('m1', 2, '2024-06-02', 0.1, 'toys'), ('m1', 2, '2024-06-02', 0.2, 'toys'),
                            ('m2', 2, '2024-06-03', -0.3, 'toys'), ('m3', 2, '2024-06-04', 12.5, 'food');
-- the float8 sums are off by one ulp or so
SELECT customer, sum(amount) = 1797.24 AS float8_exact, sum(amount::numeric) AS numeric_sum
  FROM pm_lines WHERE customer = 1 GROUP BY 1;
SELECT sum(amount) > 0 AS float8_net_positive FROM pm_lines WHERE customer = 2 AND category = 'toys';

-- rfm: monetary is numeric and exact
SELECT customer, frequency, monetary, pg_typeof(monetary) AS type
  FROM rfm('pm_lines', 'customer', 'ordered_at', 'amount', '2024-07-01', order_col => 'invoice') ORDER BY 1;
SELECT customer, monetary
  FROM rfm('pm_lines', 'customer', 'ordered_at', 'amount', '2024-07-01', returns_mode => 'ignore') ORDER BY 1;

-- category_affinity: amounts numeric; customer 2's toys (net 0) are left out
SELECT customer, category, amount, pg_typeof(amount) AS type, round(share::numeric, 6) AS share
  FROM category_affinity('pm_lines', 'customer', 'category', 'amount') ORDER BY 1, 2;
-- row counts are numeric too
SELECT customer, category, amount FROM category_affinity('pm_lines', 'customer', 'category') ORDER BY 1, 2;

-- Equal spends are equal: two customers with the same 1797.24 made of
-- different float8 pieces tie and share the monetary score.
CREATE TABLE pm_tie AS SELECT customer + 10 AS customer, invoice, ordered_at, amount FROM pm_lines WHERE customer = 1
UNION ALL SELECT 20, 'z1', '2024-06-30', 1797.24;
SELECT customer, monetary, m_score
  FROM rfm('pm_tie', 'customer', 'ordered_at', 'amount', '2024-07-01', order_col => 'invoice') ORDER BY 1;

-- numeric, integer and real amount columns
CREATE TABLE pm_types AS
SELECT customer, ordered_at, category, amount::numeric(12, 2) AS a_numeric, (amount * 100)::bigint AS a_cents,
       amount::real AS a_real
  FROM pm_lines;
SELECT customer, monetary FROM rfm('pm_types', 'customer', 'ordered_at', 'a_numeric', '2024-07-01') ORDER BY 1;
SELECT customer, monetary FROM rfm('pm_types', 'customer', 'ordered_at', 'a_cents', '2024-07-01') ORDER BY 1;
SELECT customer, monetary FROM rfm('pm_types', 'customer', 'ordered_at', 'a_real', '2024-07-01') ORDER BY 1;
SELECT customer, category, amount FROM category_affinity('pm_types', 'customer', 'category', 'a_cents') ORDER BY 1, 2;
-- a boolean is not money
ALTER TABLE pm_types ADD COLUMN flag boolean DEFAULT true;
SELECT * FROM rfm('pm_types', 'customer', 'ordered_at', 'flag', '2024-07-01');
SELECT * FROM category_affinity('pm_types', 'customer', 'category', 'flag');
-- non-finite amounts are still refused by rfm
INSERT INTO pm_lines VALUES ('n1', 3, '2024-06-05', 'NaN', 'toys');
SELECT * FROM rfm('pm_lines', 'customer', 'ordered_at', 'amount', '2024-07-01');
UPDATE pm_lines SET amount = '-Infinity' WHERE invoice = 'n1';
SELECT * FROM rfm('pm_lines', 'customer', 'ordered_at', 'amount', '2024-07-01');
