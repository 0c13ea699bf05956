-- smallint[] arguments (issue 11.6): they used to be ambiguous between the
-- integer, bigint, real, double precision and numeric signatures (42725).
SET search_path = recpromo, public;
SELECT cosine_similarity(ARRAY[1, 2, 3]::int2[], ARRAY[3, 2, 1]::int2[])::numeric(8, 6) AS cos,
       dot_product(ARRAY[1, 2, 3]::int2[], ARRAY[3, 2, 1]::int2[]) AS dot,
       vector_norm(ARRAY[3, 4]::int2[]) AS norm;
-- the same values as int4[]
SELECT cosine_similarity(ARRAY[1, 2, 3]::int2[], ARRAY[3, 2, 1]::int2[])
     = cosine_similarity(ARRAY[1, 2, 3]::int4[], ARRAY[3, 2, 1]::int4[]) AS same_as_int4;
-- extremes of the type, negative values, zero and empty vectors
SELECT dot_product(ARRAY[32767, -32768]::int2[], ARRAY[32767, -32768]::int2[]) AS dot_extremes,
       vector_norm(ARRAY[-32768]::int2[]) AS norm_min,
       cosine_similarity(ARRAY[0, 0]::int2[], ARRAY[1, 2]::int2[]) AS cos_zero,
       cosine_similarity('{}'::int2[], '{}'::int2[]) AS cos_empty;
-- a column of smallint[]
CREATE TEMP TABLE int2_vecs (id int, v smallint[]);
INSERT INTO int2_vecs VALUES (1, '{1,0,0}'), (2, '{1,1,0}'), (3, '{0,0,5}');
SELECT a.id, b.id, cosine_similarity(a.v, b.v)::numeric(6, 4)
  FROM int2_vecs a JOIN int2_vecs b ON a.id < b.id ORDER BY 1, 2;
-- mixed widths resolve to the wider signature
SELECT cosine_similarity(ARRAY[1, 2]::int2[], ARRAY[2, 4]::int4[]) AS int2_int4,
       dot_product(ARRAY[1, 2]::int2[], ARRAY[2, 4]::int8[]) AS int2_int8;
-- errors are those of the other types
SELECT cosine_similarity(ARRAY[1, 2]::int2[], ARRAY[1, 2, 3]::int2[]);
SELECT vector_norm(ARRAY[1, NULL]::int2[]);
SELECT dot_product(ARRAY[[1, 2], [3, 4]]::int2[], ARRAY[[1, 2], [3, 4]]::int2[]);
