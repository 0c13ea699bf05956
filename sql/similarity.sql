-- Dense similarity: cosine_similarity, dot_product, vector_norm over arrays,
-- and the paired-value aggregate cosine_agg.  Expected values are computed
-- by hand or by plain SQL sums over unnest() (independent of the C code).
SET search_path = recpromo, public;
SET extra_float_digits = 0;

-- The seed example: 45 / 55, with integer arrays and no casts.
SELECT cosine_similarity(ARRAY[5,4,3,2,1], ARRAY[4,3,2,1,5]) AS cos,
       cosine_similarity(ARRAY[5,4,3,2,1], ARRAY[4,3,2,1,5]) = 45.0::float8 / 55 AS exact;

-- Every element type resolves without casts and gives the same answer.
SELECT round(cosine_similarity(ARRAY[5,4,3,2,1]::float8[], ARRAY[4,3,2,1,5]::float8[])::numeric, 15) AS f8,
       round(cosine_similarity(ARRAY[5,4,3,2,1]::float4[], ARRAY[4,3,2,1,5]::float4[])::numeric, 15) AS f4,
       round(cosine_similarity(ARRAY[5,4,3,2,1]::int8[], ARRAY[4,3,2,1,5]::int8[])::numeric, 15) AS i8,
       round(cosine_similarity(ARRAY[5.0,4,3,2,1], ARRAY[4.0,3,2,1,5])::numeric, 15) AS num;
SELECT round(cosine_similarity(ARRAY[0.5,1.0], ARRAY[1.0,0.5])::numeric, 12) AS numeric_literals;  -- 0.8
SELECT pg_typeof(ARRAY[0.5,1.0]) AS numeric_array_type;
-- Mixed element types pick the signature with an exact match on one side.
SELECT round(cosine_similarity(ARRAY[1,2], ARRAY[0.5,1.5])::numeric, 12) AS int_numeric,
       round(cosine_similarity(ARRAY[1,2], ARRAY[0.5,1.5]::float8[])::numeric, 12) AS int_float8,
       round(cosine_similarity(ARRAY[1,2]::int8[], ARRAY[3,4])::numeric, 12) AS int8_int4;

SELECT dot_product(ARRAY[1,2,3], ARRAY[4,5,6]) AS i4,
       dot_product(ARRAY[1,2,3]::int8[], ARRAY[4,5,6]::int8[]) AS i8,
       dot_product(ARRAY[1.5,2,3]::float4[], ARRAY[4,5,6]::float4[]) AS f4,
       dot_product(ARRAY[1.5,2,3]::float8[], ARRAY[4,5,6]::float8[]) AS f8,
       dot_product(ARRAY[0.5,0.25], ARRAY[2,4]) AS num;
SELECT vector_norm(ARRAY[3,4]) AS i4, vector_norm(ARRAY[3,4]::int8[]) AS i8,
       vector_norm(ARRAY[3,4]::float4[]) AS f4, vector_norm(ARRAY[-3,4]::float8[]) AS f8,
       vector_norm(ARRAY[0.3,0.4]) AS num;

-- Orthogonal, opposite, single elements, lower bound other than 1.
SELECT cosine_similarity(ARRAY[1,0], ARRAY[0,1]) AS orthogonal,
       cosine_similarity(ARRAY[1,2,3], ARRAY[-2,-4,-6]) AS opposite,
       cosine_similarity(ARRAY[7], ARRAY[3]) AS single_pos,
       cosine_similarity(ARRAY[-7], ARRAY[3]) AS single_neg,
       cosine_similarity('[0:2]={1,2,3}'::float8[], ARRAY[1,2,3]::float8[]) AS lower_bound_0;

-- Zero-vector rule: a zero or empty vector has cosine 0 with anything.
SELECT cosine_similarity(ARRAY[0,0,0], ARRAY[1,2,3]) AS zero_left,
       cosine_similarity(ARRAY[1,2,3]::float4[], ARRAY[0,0,0]::float4[]) AS zero_right,
       cosine_similarity(ARRAY[0,0]::float8[], ARRAY[0,0]::float8[]) AS zero_both,
       cosine_similarity('{}'::float8[], '{}'::float8[]) AS empty_f8,
       cosine_similarity('{}'::int4[], '{}'::int4[]) AS empty_i4,
       cosine_similarity('{}'::numeric[], '{}'::numeric[]) AS empty_num,
       dot_product('{}'::float4[], '{}'::float4[]) AS empty_dot,
       vector_norm('{}'::int8[]) AS empty_norm;

-- Huge and tiny magnitudes: cosine never overflows; the norm is exact when
-- representable; a dot product beyond the double range is an error.
SELECT round(cosine_similarity(ARRAY[1e200,2e200]::float8[], ARRAY[3e300,4e300]::float8[])::numeric, 14) AS huge,
       round((11 / (5 * sqrt(5::float8)))::numeric, 14) AS expected,
       round(cosine_similarity(ARRAY[1e-200,2e-200]::float8[], ARRAY[3e-300,4e-300]::float8[])::numeric, 14) AS tiny,
       round(cosine_similarity(ARRAY[1e300,-1e300]::float8[], ARRAY[1e300,-1e300]::float8[])::numeric, 14) AS huge_self,
       vector_norm(ARRAY[3e300,4e300]::float8[]) AS huge_norm,
       vector_norm(ARRAY[3e-300,4e-300]::float8[]) AS tiny_norm,
       dot_product(ARRAY[1e200,1e-200]::float8[], ARRAY[1e-200,1e200]::float8[]) AS mixed_dot;
SELECT round(cosine_similarity(ARRAY[1e300,1e300]::numeric[], ARRAY[1e300,0]::numeric[])::numeric, 14) AS huge_numeric;
SELECT dot_product(ARRAY[1e200,1e200]::float8[], ARRAY[1e200,1e200]::float8[]);
SELECT vector_norm(ARRAY[1.7e308,1.7e308]::float8[]);
SELECT dot_product(ARRAY[3e38,3e38]::float4[], ARRAY[3e38,3e38]::float4[]) AS float4_widened;

-- Against plain SQL sums over generated vectors (deterministic hash values),
-- for lengths 1..1000, each element type; cosine stays in [-1, 1].
CREATE TEMP TABLE vecs AS
SELECT n,
       array_agg(((hashint4(n * 7919 + i) % 1000) / 100.0)::float8 ORDER BY i) AS a,
       array_agg(((hashint4(n * 104729 + i) % 1000) / 100.0)::float8 ORDER BY i) AS b
FROM generate_series(1, 40) n, generate_series(1, n * 25) i
GROUP BY n;
WITH ref AS (
    SELECT n, sum(x * y) AS dot, sqrt(sum(x * x)) AS na, sqrt(sum(y * y)) AS nb
    FROM vecs, unnest(a, b) AS u(x, y)
    GROUP BY n
)
SELECT count(*) AS vectors,
       max(abs(cosine_similarity(v.a, v.b) - r.dot / (r.na * r.nb))) < 1e-12 AS cos_f8_ok,
       max(abs(cosine_similarity(v.a::float4[], v.b::float4[]) - r.dot / (r.na * r.nb))) < 1e-6 AS cos_f4_ok,
       max(abs(cosine_similarity(v.a::numeric[], v.b::numeric[]) - r.dot / (r.na * r.nb))) < 1e-12 AS cos_num_ok,
       max(abs(cosine_similarity((SELECT array_agg(round(x * 100)::int4) FROM unnest(v.a) x),
                                 (SELECT array_agg(round(y * 100)::int4) FROM unnest(v.b) y))
               - r.dot / (r.na * r.nb))) < 1e-12 AS cos_i4_ok,
       max(abs(dot_product(v.a, v.b) - r.dot) / (r.na * r.nb)) < 1e-12 AS dot_ok,
       max(abs(vector_norm(v.a) - r.na) / r.na) < 1e-12 AS norm_ok,
       bool_and(cosine_similarity(v.a, v.a) <= 1 AND cosine_similarity(v.a, v.b) BETWEEN -1 AND 1) AS clamped,
       bool_and(cosine_similarity(v.a, (SELECT array_agg(-x) FROM unnest(v.a) x)) >= -1) AS clamped_neg
FROM vecs v JOIN ref r USING (n);

-- 10^6 elements: a_i = i, b_i = 1 has a closed form.
SELECT round(cosine_similarity(array_agg(i::float8), array_fill(1::float8, ARRAY[1000000]))::numeric, 12) AS cos_1e6,
       round(((1000000::float8 * 1000001 / 2)
              / (sqrt(1000000::float8 * 1000001 * 2000001 / 6) * sqrt(1000000::float8)))::numeric, 12) AS expected,
       dot_product(array_agg(i), array_fill(1, ARRAY[1000000])) AS dot_1e6,
       round(vector_norm(array_agg(i::float4))::numeric, 3) AS norm_1e6
FROM generate_series(1, 1000000) i;

-- NULL arrays: STRICT, the result is NULL.
SELECT cosine_similarity(NULL::float8[], ARRAY[1]::float8[]) IS NULL AS a,
       dot_product(ARRAY[1], NULL::int4[]) IS NULL AS b,
       vector_norm(NULL::numeric[]) IS NULL AS c;

-- Bad input, each with its error.
\set VERBOSITY default
SELECT cosine_similarity(ARRAY[1,NULL,3], ARRAY[1,2,3]);
SELECT cosine_similarity(ARRAY[1,2,3]::float8[], ARRAY[1,2,NULL]::float8[]);
SELECT dot_product(ARRAY[NULL,1]::float4[], ARRAY[1,2]::float4[]);
SELECT vector_norm(ARRAY[1.5,NULL]);
SELECT cosine_similarity(ARRAY[1,'NaN']::float8[], ARRAY[1,2]::float8[]);
SELECT cosine_similarity(ARRAY[1,2]::float8[], ARRAY[1,'Infinity']::float8[]);
SELECT dot_product(ARRAY['-Infinity',0]::float8[], ARRAY[0,0]::float8[]);
SELECT vector_norm(ARRAY[1,'NaN']::float4[]);
SELECT cosine_similarity(ARRAY[1,'Infinity']::float4[], ARRAY[1,2]::float4[]);
SELECT cosine_similarity(ARRAY[1,'NaN']::numeric[], ARRAY[1,2]::numeric[]);
SELECT vector_norm(ARRAY['Infinity']::numeric[]);
-- numeric beyond the double range: PostgreSQL's own conversion error (22003).
DO $$
BEGIN
    PERFORM vector_norm(ARRAY[1e309]::numeric[]);
EXCEPTION WHEN numeric_value_out_of_range THEN
    RAISE NOTICE 'numeric_value_out_of_range: %', left(SQLERRM, 12);
END $$;
SELECT cosine_similarity(ARRAY[1,2,3], ARRAY[1,2]);
SELECT dot_product(ARRAY[1]::float8[], '{}'::float8[]);
SELECT cosine_similarity(ARRAY[[1,2],[3,4]], ARRAY[1,2,3,4]);
SELECT dot_product(ARRAY[1,2,3,4]::float4[], ARRAY[[1,2],[3,4]]::float4[]);
SELECT vector_norm(ARRAY[[1.0,2.0]]);
-- Untyped literals match several signatures: cast one argument.
SELECT cosine_similarity('{1,2}', '{3,4}');
SELECT round(cosine_similarity('{1,2}'::float8[], '{3,4}')::numeric, 12) AS with_cast;
-- Wrong types.
SELECT cosine_similarity(ARRAY['a','b'], ARRAY['c','d']);
SELECT vector_norm(42);

-- ---------------------------------------------------------------------
-- cosine_agg(x, y)
-- ---------------------------------------------------------------------
CREATE TABLE ratings_a (item int PRIMARY KEY, rating float8);
CREATE TABLE ratings_b (item int PRIMARY KEY, rating float8);
INSERT INTO ratings_a SELECT i, (hashint4(i) % 5 + 5) % 5 + 1 FROM generate_series(1, 3000) i WHERE i % 3 <> 0;
INSERT INTO ratings_b SELECT i, (hashint4(i * 31) % 5 + 5) % 5 + 1 FROM generate_series(1, 3000) i WHERE i % 4 <> 0;

-- Hand example: items 1..3; a = (1, 2, 0), b = (2, 0, 3) once NULLs count as 0.
SELECT round(cosine_agg(a.r, b.r)::numeric, 14) AS agg,
       round(cosine_similarity(ARRAY[1,2,0], ARRAY[2,0,3])::numeric, 14) AS array_form,
       round((2 / (sqrt(5::float8) * sqrt(13::float8)))::numeric, 14) AS hand
FROM (VALUES (1, 1.0::float8), (2, 2.0)) a(item, r)
FULL JOIN (VALUES (1, 2.0::float8), (3, 3.0)) b(item, r) USING (item);

-- The FULL JOIN form equals the array form over the union of items.
WITH j AS (
    SELECT item, coalesce(a.rating, 0) AS x, coalesce(b.rating, 0) AS y
    FROM ratings_a a FULL JOIN ratings_b b USING (item)
)
SELECT abs((SELECT cosine_agg(a.rating, b.rating) FROM ratings_a a FULL JOIN ratings_b b USING (item))
           - (SELECT cosine_similarity(array_agg(x ORDER BY item), array_agg(y ORDER BY item)) FROM j)) < 1e-14 AS agg_equals_array,
       round((SELECT cosine_agg(a.rating, b.rating) FROM ratings_a a FULL JOIN ratings_b b USING (item))::numeric, 12) AS value;

-- No rows: two empty vectors, cosine 0.  Only NULLs: zero vectors, 0.
SELECT cosine_agg(x, y) AS no_rows FROM ratings_a, LATERAL (SELECT 1.0::float8, 2.0::float8) v(x, y) WHERE false;
SELECT cosine_agg(NULL, NULL) AS only_nulls FROM generate_series(1, 3);
SELECT cosine_agg(x, y) AS one_side_zero FROM (VALUES (1.0::float8, NULL::float8), (2, NULL)) v(x, y);
-- Huge values neither overflow nor lose precision.
SELECT round(cosine_agg(x * 1e300, y * 1e-300)::numeric, 14) AS scaled,
       round(cosine_similarity(ARRAY[1,2,0], ARRAY[2,0,3])::numeric, 14) AS expected
FROM (VALUES (1.0::float8, 2.0::float8), (2, 0), (0, 3)) v(x, y);
-- Grouped: one cosine per group.
SELECT g, round(cosine_agg(x, y)::numeric, 12) AS cos
FROM (VALUES (1, 1.0::float8, 1.0::float8), (1, 2, 2), (2, 1, 0), (2, 0, 1), (3, 1, -1)) v(g, x, y)
GROUP BY g ORDER BY g;

-- Forced parallel plan: partial aggregates combined, same value.
CREATE TABLE pairs AS
SELECT item, coalesce(a.rating, 0) AS x, coalesce(b.rating, 0) AS y
FROM ratings_a a FULL JOIN ratings_b b USING (item);
INSERT INTO pairs SELECT item + 3000 * k, x * k, y FROM pairs, generate_series(1, 20) k;
ANALYZE pairs;
SELECT round(cosine_agg(x, y)::numeric, 12) AS serial FROM pairs \gset
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT cosine_agg(x, y) FROM pairs;
SELECT round(cosine_agg(x, y)::numeric, 12) = :serial AS parallel_equals_serial FROM pairs;
RESET parallel_leader_participation;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;

-- Bad input to cosine_agg.
SELECT cosine_agg(x, y) FROM (VALUES (1.0::float8, 'NaN'::float8)) v(x, y);
SELECT cosine_agg(x, y) FROM (VALUES ('Infinity'::float8, 1.0::float8)) v(x, y);
SELECT cosine_agg(x, y) FROM (VALUES ('-Infinity'::float8, NULL::float8)) v(x, y);
-- Its support functions check their state when called directly.
SELECT cosine_agg_finalfn('{0,0,0,0,0}') AS empty_state;
SELECT cosine_agg_transfn('{0,0,0,0,0}', 3, 4) AS state;
SELECT cosine_agg_finalfn(cosine_agg_combinefn(cosine_agg_transfn('{0,0,0,0,0}', 3, 4),
                                               cosine_agg_transfn('{0,0,0,0,0}', 4, 3))) AS combined;
SELECT cosine_agg_finalfn('{1,2,3}');
SELECT cosine_agg_finalfn('{1,-2,1,1,0}');
SELECT cosine_agg_finalfn('{0,1,1,1,0}');
SELECT cosine_agg_transfn(NULL, 1, 2);

DROP TABLE pairs, ratings_a, ratings_b;
