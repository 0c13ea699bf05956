-- The sparse vector type svec: text and binary I/O, constructor, accessors,
-- cosine/dot/norm against the dense form, and the aggregate svec_agg.
SET search_path = recpromo, public;
SET extra_float_digits = 0;

-- Text I/O: sorted on input, zeros dropped, whitespace allowed.
SELECT '{1:5,7:3}'::svec AS plain,
       ' { 7 : 3 , 1 : 5 } '::svec AS spaced_unsorted,
       '{}'::svec AS empty,
       '{ }'::svec AS empty_spaced,
       '{1:0,2:-0,3:2}'::svec AS zeros_dropped,
       '{-9223372036854775808:1.5,9223372036854775807:-2e-3}'::svec AS extreme_indices,
       '{+4:+.5,5:-.25,6:1e3,7:1E-3}'::svec AS number_forms;
SELECT svec_values('{1:0.1}'::svec::text::svec) = ARRAY[0.1::float8] AS round_trip;
SET extra_float_digits = 3;
SELECT '{1:0.1,2:3.141592653589793}'::svec AS full_precision;
SET extra_float_digits = 0;

-- Accessors.
SELECT svec_indices('{7:3,1:5}') AS indices, svec_values('{7:3,1:5}') AS vals,
       svec_nnz('{7:3,1:5}') AS nnz, svec_nnz('{}') AS nnz_empty,
       svec_indices('{}') AS indices_empty, svec_values('{}') AS values_empty;

-- Constructor: any order, zeros dropped; int arrays coerce without casts.
SELECT svec(ARRAY[7,1], ARRAY[3,5]) AS from_ints,
       svec(ARRAY[3,2,1]::bigint[], ARRAY[0.5,0,-1.5]::float8[]) AS zero_dropped,
       svec('{}', '{}') AS empty,
       svec(ARRAY[10000000000], ARRAY[2.5]) AS big_index;

-- Binary I/O: svec_send layout (nnz, indices, values), and a COPY round trip.
SELECT encode(svec_send('{1:5,7:3}'), 'hex') AS wire;
CREATE TABLE svec_io (id int, v svec);
INSERT INTO svec_io VALUES (1, '{1:5,7:3}'), (2, '{}'), (3, '{-3:1e-300,4:1e300}'), (4, NULL);
DO $$
BEGIN
    EXECUTE format('COPY svec_io TO %L (FORMAT binary)', '/tmp/recpromo_svec_' || pg_backend_pid() || '.bin');
    CREATE TEMP TABLE svec_io2 (id int, v svec);
    EXECUTE format('COPY svec_io2 FROM %L (FORMAT binary)', '/tmp/recpromo_svec_' || pg_backend_pid() || '.bin');
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'rm -f /tmp/recpromo_svec_' || pg_backend_pid() || '.bin');
END $$;
SELECT a.id, a.v, b.v::text = a.v::text AS same
FROM svec_io a JOIN svec_io2 b USING (id) ORDER BY a.id;
DROP TABLE svec_io;

-- Cosine, dot, norm: hand example.  a = {1:5,7:3}, b = {1:1,3:2,7:4}:
-- dot = 5 + 12 = 17, |a| = sqrt(34), |b| = sqrt(21).
SELECT round(cosine_similarity('{1:5,7:3}'::svec, '{1:1,3:2,7:4}'::svec)::numeric, 14) AS cos,
       round((17 / sqrt(34::float8 * 21))::numeric, 14) AS hand,
       dot_product('{1:5,7:3}'::svec, '{1:1,3:2,7:4}'::svec) AS dot,
       vector_norm('{1:3,100:4}'::svec) AS norm;
-- Zero-vector rule, disjoint supports, self-similarity, opposite.
SELECT cosine_similarity('{}'::svec, '{1:1}'::svec) AS empty_left,
       cosine_similarity('{1:1}'::svec, '{}'::svec) AS empty_right,
       cosine_similarity('{}'::svec, '{}'::svec) AS empty_both,
       cosine_similarity('{1:1,2:2}'::svec, '{3:1}'::svec) AS disjoint,
       cosine_similarity('{5:2,9:-1}'::svec, '{5:4,9:-2}'::svec) AS parallel,
       cosine_similarity('{5:2,9:-1}'::svec, '{5:-4,9:2}'::svec) AS opposite,
       dot_product('{}'::svec, '{}'::svec) AS dot_empty,
       vector_norm('{}'::svec) AS norm_empty;
-- Huge and tiny values.
SELECT round(cosine_similarity('{1:1e300,2:2e300}'::svec, '{1:3e-300,2:4e-300}'::svec)::numeric, 14) AS scaled,
       round((11 / (5 * sqrt(5::float8)))::numeric, 14) AS expected,
       vector_norm('{1:3e300,2:4e300}'::svec) AS huge_norm;
SELECT dot_product('{1:1e300}'::svec, '{1:1e300}'::svec);
SELECT vector_norm('{1:1.7e308,2:1.7e308}'::svec);

-- Against the dense form on generated vectors (indices 1..500, ~10-40% filled).
CREATE TEMP TABLE sv AS
SELECT n, i, ((hashint4(n * 7919 + i) % 1000) / 100.0)::float8 AS x
FROM generate_series(1, 30) n, generate_series(1, 500) i
WHERE (hashint4(n * 31 + i) % 10 + 10) % 10 < 1 + n % 4;
CREATE TEMP TABLE dense AS
SELECT n, array_agg(coalesce(x, 0) ORDER BY i) AS d
FROM generate_series(1, 30) n CROSS JOIN generate_series(1, 500) i
LEFT JOIN sv USING (n, i)
GROUP BY n;
CREATE TEMP TABLE sparse AS SELECT n, svec_agg(i, x) AS s FROM sv GROUP BY n;
SELECT count(*) AS pairs,
       max(abs(cosine_similarity(sa.s, sb.s) - cosine_similarity(da.d, db.d))) < 1e-13 AS cos_ok,
       max(abs(dot_product(sa.s, sb.s) - dot_product(da.d, db.d))) < 1e-9 AS dot_ok,
       max(abs(vector_norm(sa.s) - vector_norm(da.d))) < 1e-11 AS norm_ok,
       bool_and(svec_nnz(sa.s) = (SELECT count(*) FROM sv WHERE sv.n = sa.n AND sv.x <> 0)) AS nnz_ok
FROM sparse sa JOIN sparse sb ON sa.n <= sb.n
JOIN dense da ON da.n = sa.n JOIN dense db ON db.n = sb.n;

-- ---------------------------------------------------------------------
-- svec_agg(index, value)
-- ---------------------------------------------------------------------
-- Repeated indices are summed, rows with a NULL index or value skipped,
-- zero sums dropped.
SELECT svec_agg(idx, val) AS v
FROM (VALUES (3, 1.0::float8), (1, 2.0), (3, 4.0), (NULL, 9.0), (2, NULL), (5, 1.0), (5, -1.0)) t(idx, val);
-- No usable row, no row at all: NULL (as sum()).
SELECT svec_agg(idx, val) IS NULL AS all_null
FROM (VALUES (NULL::bigint, 1.0::float8), (1, NULL)) t(idx, val);
SELECT svec_agg(i, i) IS NULL AS no_rows FROM generate_series(1, 0) i;
-- Rows summing to zero everywhere give the empty vector, not NULL.
SELECT svec_agg(idx, val) AS cancelled FROM (VALUES (1, 2.0::float8), (1, -2.0)) t(idx, val);
-- Grouped, with ORDER BY of the groups.
SELECT g, svec_agg(i % 4, 1) AS v
FROM generate_series(1, 12) i, LATERAL (SELECT i % 2 AS g) s
GROUP BY g ORDER BY g;
-- Many duplicates (the state compacts) and many distinct indices (it grows),
-- against a GROUP BY reference.
WITH rows AS (
    SELECT (hashint4(i) % 50 + 50) % 50 AS idx, (i % 7)::float8 AS val FROM generate_series(1, 20000) i
    UNION ALL
    SELECT 1000 + i, 0.5 FROM generate_series(1, 5000) i
), ref AS (
    SELECT svec(array_agg(idx ORDER BY idx), array_agg(s ORDER BY idx)) AS v
    FROM (SELECT idx, sum(val) AS s FROM rows GROUP BY idx) g
)
SELECT (SELECT svec_agg(idx, val) FROM rows)::text = (SELECT v FROM ref)::text AS matches_reference,
       (SELECT svec_nnz(svec_agg(idx, val)) FROM rows) AS nnz;
-- Window use: the final function may run repeatedly on a growing state.
SELECT i, svec_agg(i % 3, 1) OVER (ORDER BY i) AS running
FROM generate_series(1, 5) i ORDER BY i;

-- Forced parallel plan: partial states serialised, combined, same result.
CREATE TABLE svec_rows AS
SELECT u, (hashint4(i) % 300 + 300) % 300 AS item, (i % 5 + 1)::float8 AS rating
FROM generate_series(1, 200000) i, LATERAL (SELECT i % 20 AS u) s;
ANALYZE svec_rows;
CREATE TEMP TABLE serial_result AS SELECT u, svec_agg(item, rating) AS v FROM svec_rows GROUP BY u;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF) SELECT svec_agg(item, rating) FROM svec_rows;
EXPLAIN (COSTS OFF) SELECT u, svec_agg(item, rating) FROM svec_rows GROUP BY u;
SELECT (SELECT svec_agg(item, rating) FROM svec_rows)::text
     = (SELECT svec_agg(item, rating) FROM (SELECT * FROM svec_rows OFFSET 0) s)::text AS whole_equal;
SELECT count(*) AS groups, bool_and(p.v::text = s.v::text) AS parallel_equals_serial
FROM (SELECT u, svec_agg(item, rating) AS v FROM svec_rows GROUP BY u) p
JOIN serial_result s USING (u);
RESET enable_hashagg;
RESET parallel_leader_participation;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
DROP TABLE svec_rows;

-- User-user cosine straight from rows: svec_agg per user, then cosine.
WITH r(u, item, rating) AS (VALUES (1, 10, 5.0::float8), (1, 20, 4.0), (1, 30, 3.0),
                                    (2, 10, 4.0), (2, 20, 3.0), (2, 40, 5.0),
                                    (3, 50, 1.0)),
     v AS (SELECT u, svec_agg(item, rating) AS s FROM r GROUP BY u)
SELECT a.u, b.u AS other, round(cosine_similarity(a.s, b.s)::numeric, 12) AS cos
FROM v a JOIN v b ON a.u < b.u ORDER BY a.u, b.u;

-- NULL arguments: STRICT functions return NULL.
SELECT svec(NULL, ARRAY[1.0]) IS NULL AS a, svec_nnz(NULL) IS NULL AS b,
       cosine_similarity(NULL::svec, '{1:1}'::svec) IS NULL AS c,
       vector_norm(NULL::svec) IS NULL AS d;

-- Bad text input.
SELECT '1:5'::svec;
SELECT '{1:5'::svec;
SELECT '{1:5,}'::svec;
SELECT '{1:}'::svec;
SELECT '{:5}'::svec;
SELECT '{1.5:5}'::svec;
SELECT '{1:5} x'::svec;
SELECT '{1:5 7:3}'::svec;
SELECT '{a:5}'::svec;
SELECT '{1:five}'::svec;
SELECT '{1:5,1:3}'::svec;
SELECT '{1:NaN}'::svec;
SELECT '{1:Infinity}'::svec;
SELECT '{1:-inf}'::svec;
SELECT '{1:1e999}'::svec;
SELECT '{99999999999999999999:1}'::svec;
-- Bad constructor input.
SELECT svec(ARRAY[1,NULL], ARRAY[1,2]);
SELECT svec(ARRAY[1,2], ARRAY[1,NULL]);
SELECT svec(ARRAY[1,2], ARRAY[1]);
SELECT svec(ARRAY[[1,2]], ARRAY[[1,2]]);
SELECT svec(ARRAY[1,2], ARRAY[1,'NaN']::float8[]);
SELECT svec(ARRAY[1,2], ARRAY['-Infinity',1]::float8[]);
SELECT svec(ARRAY[4,1,4], ARRAY[1,2,3]);
SELECT svec(ARRAY['a'], ARRAY[1]);
-- Bad aggregate input.
SELECT svec_agg(i, 'NaN') FROM generate_series(1, 3) i;
SELECT svec_agg(1, x) FROM (VALUES (1e308::float8), (1e308)) t(x);
SELECT svec_agg(1, x) FROM (VALUES ('Infinity'::float8)) t(x);
-- Its support functions take "internal", so SQL cannot call them directly.
SELECT svec_agg_finalfn(NULL);
