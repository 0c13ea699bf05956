-- kmeans and kmeans_clusters with a NULL k, seed or max_iter: 22004 naming
-- the argument, with a hint (issue 18; before, 55000 "record fit is not
-- assigned yet" from the STRICT _kmeans_fit).
SET search_path = recpromo, public;
CREATE TABLE public.kn_points AS
SELECT i AS id, (i % 7)::float8 AS spend, (i % 3)::float8 AS visits FROM generate_series(1, 30) i;
\set SHOW_CONTEXT never
SELECT * FROM kmeans('public.kn_points', 'id', '{spend, visits}', NULL);
SELECT * FROM kmeans('public.kn_points', 'id', '{spend, visits}', 3, seed => NULL);
SELECT * FROM kmeans('public.kn_points', 'id', '{spend, visits}', 3, max_iter => NULL);
SELECT * FROM kmeans_clusters('public.kn_points', 'id', '{spend, visits}', NULL);
SELECT * FROM kmeans_clusters('public.kn_points', 'id', '{spend, visits}', 3, seed => NULL);
SELECT * FROM kmeans_clusters('public.kn_points', 'id', '{spend, visits}', 3, max_iter => NULL);
\set VERBOSITY sqlstate
SELECT * FROM kmeans('public.kn_points', 'id', '{spend, visits}', NULL, NULL, NULL, NULL);
SELECT * FROM kmeans_clusters('public.kn_points', 'id', '{spend, visits}', NULL, NULL, NULL, NULL);
\set VERBOSITY default
-- omitted seed and max_iter take their defaults (42 and 100)
SELECT (SELECT array_agg(cluster ORDER BY key::int) FROM kmeans('public.kn_points', 'id', '{spend, visits}', 3))
     = (SELECT array_agg(cluster ORDER BY key::int) FROM kmeans('public.kn_points', 'id', '{spend, visits}', 3, 42, true, 100)) AS defaults;
DROP TABLE public.kn_points;
