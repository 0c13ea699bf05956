-- The SQL that recommend() runs through SPI to fold in a new customer (their
-- rows in the source) is immune to the caller's search_path: a trojan
-- operator in public does not run, and key columns of any type are compared
-- with their own equality (src/pg/spi_guard.c).
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- one source per key type; customer "new" / 99 buys items 3 and 4 after training
CREATE TABLE sg_varchar AS SELECT ('c' || c)::varchar(10) AS u, p AS i
  FROM generate_series(1, 12) c, generate_series(1, 8) p WHERE (c + p) % 3 = 0;
CREATE TABLE sg_bpchar AS SELECT u::char(6) AS u, i FROM sg_varchar;
CREATE TABLE sg_numeric AS SELECT substr(u, 2)::numeric AS u, i FROM sg_varchar;
CREATE DOMAIN sg_id AS int CHECK (VALUE > 0);
CREATE TABLE sg_domain AS SELECT substr(u, 2)::int::sg_id AS u, i FROM sg_varchar;
CREATE TABLE sg_uuid AS SELECT ('00000000-0000-0000-0000-' || lpad(substr(u, 2), 12, '0'))::uuid AS u,
  ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid AS i FROM sg_varchar;
CREATE TABLE sg_point AS SELECT point(substr(u, 2)::int, 0) AS u, point(i, 0) AS i FROM sg_varchar;  -- no equality operator
SELECT name FROM train('sg_varchar', 'sg_varchar', 'u', 'i', method => 'item_knn');
SELECT name FROM train('sg_bpchar', 'sg_bpchar', 'u', 'i', method => 'item_knn');
SELECT name FROM train('sg_numeric', 'sg_numeric', 'u', 'i', method => 'item_knn');
SELECT name FROM train('sg_domain', 'sg_domain', 'u', 'i', method => 'item_knn');
SELECT name FROM train('sg_uuid', 'sg_uuid', 'u', 'i', method => 'item_knn');
SELECT name FROM train('sg_point', 'sg_point', 'u', 'i', method => 'item_knn');
INSERT INTO sg_varchar VALUES ('new', 3), ('new', 4);
INSERT INTO sg_bpchar VALUES ('new', 3), ('new', 4);
INSERT INTO sg_numeric VALUES (99.5, 3), (99.5, 4);
INSERT INTO sg_domain VALUES (99, 3), (99, 4);
INSERT INTO sg_uuid VALUES ('00000000-0000-0000-0000-000000000099', '00000000-0000-0000-0000-000000000003'),
                           ('00000000-0000-0000-0000-000000000099', '00000000-0000-0000-0000-000000000004');
INSERT INTO sg_point VALUES (point(99, 0), point(3, 0)), (point(99, 0), point(4, 0));

-- the reference: the same model's scores for a known customer with the same history
CREATE TABLE sg_ref AS SELECT item::int AS item, round(score::numeric, 6) AS score, rank
  FROM recommend('new'::varchar, 4, 'sg_varchar');
SELECT * FROM sg_ref ORDER BY rank;

-- fold-in through each key type's own equality gives the same list
SELECT 'bpchar' AS keys, count(*) FILTER (WHERE r.item::int = f.item AND round(r.score::numeric, 6) = f.score) AS same
  FROM recommend('new'::char(6), 4, 'sg_bpchar') r JOIN sg_ref f USING (rank)
UNION ALL
SELECT 'numeric', count(*) FILTER (WHERE r.item::int = f.item AND round(r.score::numeric, 6) = f.score)
  FROM recommend(99.5::numeric, 4, 'sg_numeric') r JOIN sg_ref f USING (rank)
UNION ALL
SELECT 'domain', count(*) FILTER (WHERE r.item::int = f.item AND round(r.score::numeric, 6) = f.score)
  FROM recommend(99::sg_id, 4, 'sg_domain') r JOIN sg_ref f USING (rank)
UNION ALL
SELECT 'uuid', count(*) FILTER (WHERE right(r.item::text, 2)::int = f.item AND round(r.score::numeric, 6) = f.score)
  FROM recommend('00000000-0000-0000-0000-000000000099'::uuid, 4, 'sg_uuid') r JOIN sg_ref f USING (rank)
UNION ALL
SELECT 'point', count(*) FILTER (WHERE r.item[0]::int = f.item AND round(r.score::numeric, 6) = f.score)
  FROM recommend(point(99, 0), 4, 'sg_point') r JOIN sg_ref f USING (rank)
ORDER BY 1;

-- a trojan in public that matches varchar = text better than pg_catalog's
-- texteq does, under the README's search_path: it must not run
CREATE FUNCTION public.sg_trojan(varchar, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trojan operator ran as %', current_user;
END
$$;
CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = text, FUNCTION = public.sg_trojan);
SET search_path = public, recpromo;
SELECT item, round(score::numeric, 6) AS score, rank FROM recommend('new'::varchar, 4, 'sg_varchar') ORDER BY rank;
SELECT history_item, round(contribution::numeric, 6) AS contribution
  FROM explain_recommendation('new'::varchar, (SELECT item FROM sg_ref WHERE rank = 1)::varchar, 'sg_varchar')
 ORDER BY rank;
SET search_path = recpromo, public;
DROP OPERATOR public.= (varchar, text);
DROP FUNCTION public.sg_trojan(varchar, text);

SELECT drop_model(m) FROM unnest(ARRAY['sg_varchar', 'sg_bpchar', 'sg_numeric', 'sg_domain', 'sg_uuid', 'sg_point']) m;
DROP TABLE sg_varchar, sg_bpchar, sg_numeric, sg_domain, sg_uuid, sg_point, sg_ref;
DROP DOMAIN sg_id;
