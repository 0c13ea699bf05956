-- Customer profiles: RFM with quintile scores and segments, category
-- affinity, k-means segmentation.
SET search_path = recpromo, public;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- Hand example, as of 2024-07-01 00:00 UTC.  Invoices with several lines;
-- negative lines are returns.
SET TimeZone = 'UTC';
CREATE TABLE pr_orders (invoice text, customer int, ordered_at timestamptz, amount numeric, category text);
INSERT INTO pr_orders VALUES
  ('i1', 1, '2024-06-30 12:00', 10, 'toys'), ('i1', 1, '2024-06-30 12:00', 5, 'books'),
  ('i2', 1, '2024-06-01', 20, 'toys'),
  ('i3', 2, '2024-03-01', 100, 'food'),
  ('c3', 2, '2024-03-05', -40, 'food'),          -- a return: net 60
  ('i4', 3, '2024-06-20', 7, 'books'), ('i5', 3, '2024-05-20', 7, 'books'), ('i6', 3, '2024-04-20', 7, 'toys'),
  ('c9', 4, '2024-06-29', -15, 'toys'),          -- only a return: not a customer
  ('i7', NULL, '2024-06-29', 99, 'toys');        -- anonymous: skipped
-- customer 1: last purchase 0.5 days ago -> 0 days, 2 invoices, 35
-- customer 2: 122 days, 1 invoice, net 100 - 40 = 60 ('ignore': 100)
-- customer 3: 11 days, 3 invoices, 21
SELECT * FROM rfm('pr_orders', 'customer', 'ordered_at', 'amount', '2024-07-01', order_col => 'invoice')
 ORDER BY customer;
SELECT customer, monetary FROM rfm('pr_orders', 'customer', 'ordered_at', 'amount', '2024-07-01',
                                   order_col => 'invoice', returns_mode => 'ignore') ORDER BY customer;
-- without an order column every row is an order (customer 1 has 3)
SELECT customer, frequency FROM rfm('pr_orders', 'customer', 'ordered_at', 'amount', '2024-07-01') ORDER BY customer;

-- Quintile scores: 1 + floor(5 (rank - 1) / n), ties share the lowest score.
CREATE TABLE pr_many AS
SELECT c AS customer, k AS invoice, date '2024-06-30' - c AS day, 10::numeric AS amount
  FROM generate_series(1, 10) c, generate_series(1, c) k;
SELECT customer, recency_days, frequency, monetary, r_score, f_score, m_score, segment
  FROM rfm('pr_many', 'customer', 'day', 'amount', '2024-07-01', order_col => 'invoice') ORDER BY customer::int;
SELECT segment, count(*) FROM rfm('pr_many', 'customer', 'day', 'amount', '2024-07-01', order_col => 'invoice')
 GROUP BY 1 ORDER BY 1;

-- Category affinity: shares of net spend, or of purchase rows.
SELECT customer, category, amount, round(share::numeric, 4) AS share
  FROM category_affinity('pr_orders', 'customer', 'category', 'amount') ORDER BY 1, 2;
SELECT customer, category, amount, round(share::numeric, 4) AS share
  FROM category_affinity('pr_orders', 'customer', 'category') ORDER BY 1, 2;

-- k-means: three well separated groups are found whatever the seed.
CREATE FUNCTION pr_u(i int, salt text) RETURNS float8 LANGUAGE sql IMMUTABLE
RETURN ('x' || substr(md5(i::text || salt), 1, 8))::bit(32)::bigint / 4294967296.0;
CREATE TABLE pr_points AS
SELECT i AS id, (ARRAY[0, 100, 0])[1 + i % 3] + pr_u(i, 'x') AS spend,
       (ARRAY[0, 0, 50])[1 + i % 3] + pr_u(i, 'y') AS visits
  FROM generate_series(1, 300) i;
SELECT size, round(centre[1]::numeric) AS spend, round(centre[2]::numeric) AS visits
  FROM kmeans_clusters('pr_points', 'id', '{spend, visits}', 3) ORDER BY 2, 3;
SELECT count(DISTINCT (id % 3, cluster)) AS pairs
  FROM (SELECT key::int AS id, cluster FROM kmeans('pr_points', 'id', '{spend, visits}', 3, seed => 7)) s;
-- the same seed gives the same clusters; unstandardised works too
SELECT count(*) FROM kmeans('pr_points', 'id', '{spend, visits}', 3, seed => 9) a
  JOIN kmeans('pr_points', 'id', '{spend, visits}', 3, seed => 9) b USING (key) WHERE a.cluster = b.cluster;
SELECT size, round(centre[1]::numeric) AS spend FROM kmeans_clusters('pr_points', 'id', '{spend, visits}', 3,
                                                                     standardize => false) ORDER BY 2, 1;

-- Bad inputs.
SELECT * FROM rfm('pr_orders', 'customer', 'nope', 'amount');
SELECT * FROM rfm('pr_orders', 'customer', 'amount', 'amount');
SELECT * FROM rfm('pr_orders', 'customer', 'ordered_at', 'category');
SELECT * FROM rfm('pr_orders', 'customer', 'ordered_at', 'amount', NULL);
SELECT * FROM rfm('pr_orders', 'customer', 'ordered_at', 'amount', returns_mode => 'keep');
INSERT INTO pr_orders VALUES ('i9', 5, NULL, 3, 'toys');
SELECT * FROM rfm('pr_orders', 'customer', 'ordered_at', 'amount');
SELECT * FROM category_affinity('pr_orders', 'customer', 'nope');
SELECT * FROM kmeans('pr_points', 'id', '{spend}', 0);
SELECT * FROM kmeans('pr_points', 'id', '{spend}', 301);
SELECT * FROM kmeans('pr_points', 'id', '{}', 2);
SELECT * FROM kmeans('pr_points', 'nope', '{spend}', 2);
SELECT * FROM kmeans('pr_orders', 'invoice', '{category}', 2);
SELECT * FROM kmeans('pr_points', 'id', '{spend}', 2, max_iter => 0);
CREATE TABLE pr_const AS SELECT i AS id, 1.0 AS c, NULL::float8 AS m FROM generate_series(1, 5) i;
SELECT * FROM kmeans('pr_const', 'id', '{c}', 2);
SELECT * FROM kmeans('pr_const', 'id', '{m}', 2);
