-- The serving cache keys a loaded model by (database, extension oid, model
-- id, version token): a model id that comes back after a reinstall of the
-- extension or a setval on recpromo.model_id_seq must not serve the bytes
-- of the model that had that id before (issue 18).
SET search_path = recpromo, public;
-- The reinstall runs in a database of its own: other tests leave objects in
-- schema recpromo of the regression database, which CREATE EXTENSION
-- refuses to adopt.  The regression database keeps its extension.
SELECT current_database() AS regdb \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS recpromo_model_identity;
CREATE DATABASE recpromo_model_identity;
\c recpromo_model_identity
CREATE EXTENSION recpromo;
SET search_path = recpromo, public;
SET client_min_messages = warning;

-- two catalogues with disjoint items: A sells 1-5, B sells 101-105
CREATE TABLE public.ident_a AS
SELECT u AS user_id, i AS item_id FROM generate_series(1, 4) u, generate_series(1, 5) i WHERE (u + i) % 3 <> 0;
CREATE TABLE public.ident_b AS
SELECT user_id, item_id + 100 AS item_id FROM public.ident_a;

-- 1. reinstall in one session: the new model gets the id the old one had
SELECT n_items FROM recpromo.train('m', 'ident_a', 'user_id', 'item_id', method => 'popularity');
SELECT id FROM recpromo.model WHERE name = 'm';
SELECT item FROM recpromo.recommend(4, 3, model => 'm', exclude_seen => false) ORDER BY item;
DROP EXTENSION recpromo;
CREATE EXTENSION recpromo;
SELECT n_items FROM recpromo.train('m', 'ident_b', 'user_id', 'item_id', method => 'popularity');
SELECT id FROM recpromo.model WHERE name = 'm';
-- B's items, not A's
SELECT item FROM recpromo.recommend(4, 3, model => 'm', exclude_seen => false) ORDER BY item;
-- 2. setval: a model id dropped and drawn again, in the same session
SELECT n_items FROM recpromo.train('n', 'ident_b', 'user_id', 'item_id', method => 'popularity');
SELECT item FROM recpromo.recommend(4, 3, model => 'n', exclude_seen => false) ORDER BY item;
SELECT id AS nid FROM recpromo.model WHERE name = 'n' \gset
SELECT recpromo.drop_model('n');
SELECT pg_catalog.setval('recpromo.model_id_seq', :nid, false);
SELECT n_items FROM recpromo.train('n', 'ident_a', 'user_id', 'item_id', method => 'popularity');
SELECT id = :nid AS same_id FROM recpromo.model WHERE name = 'n';
-- A's items, not B's
SELECT item FROM recpromo.recommend(4, 3, model => 'n', exclude_seen => false) ORDER BY item;
SELECT recpromo.drop_model('n');

-- the token changes at every save, and the parts carry the token of their row
SELECT version AS v1 FROM recpromo.model WHERE name = 'm' \gset
SELECT 1 FROM recpromo.train('m', 'ident_a', 'user_id', 'item_id', method => 'popularity');
SELECT version <> :'v1'::uuid AS new_token FROM recpromo.model WHERE name = 'm';
SELECT bool_and(p.version = m.version) AS parts_match
FROM recpromo.model m JOIN recpromo.model_part p ON p.model_id = m.id WHERE m.name = 'm';

-- parts whose token is not their row's are refused, not served
BEGIN;
UPDATE recpromo.model SET version = gen_random_uuid(), id = id + 1000 WHERE name = 'm';
UPDATE recpromo.model_part SET model_id = model_id + 1000;
SELECT item FROM recpromo.recommend(4, 3, model => 'm', exclude_seen => false);
ROLLBACK;
SELECT item FROM recpromo.recommend(4, 3, model => 'm', exclude_seen => false) ORDER BY item;

SELECT recpromo.drop_model('m');
DROP TABLE public.ident_a, public.ident_b;
\c :regdb
DROP DATABASE recpromo_model_identity;
SELECT extversion IS NOT NULL AS installed FROM pg_extension WHERE extname = 'recpromo';
