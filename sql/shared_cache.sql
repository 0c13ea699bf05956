SET search_path = recpromo, public;
SET client_min_messages = warning;
-- The shared model cache (doc/operations.md, "The shared model cache").
-- The settings exist once the library is loaded (the first recpromo call).
SELECT recpromo.blas_corename() IS NOT NULL AS loaded;
SHOW recpromo.shared_cache_size;
SHOW recpromo.shared_cache_verify;
-- off, structure, full; the booleans of 0.4.0 still mean off and full
SET recpromo.shared_cache_verify = structure;
SHOW recpromo.shared_cache_verify;
SET recpromo.shared_cache_verify = on;
SHOW recpromo.shared_cache_verify;
SET recpromo.shared_cache_verify = false;
SHOW recpromo.shared_cache_verify;
SET recpromo.shared_cache_verify = sometimes;
RESET recpromo.shared_cache_verify;
SET recpromo.shared_cache_size = -1;
SET recpromo.shared_cache_size = '64MB';
SHOW recpromo.shared_cache_size;
SET recpromo.shared_cache_size = 0;
SHOW recpromo.shared_cache_size;
RESET recpromo.shared_cache_size;

-- the same model served from backend memory (cache off) and from an image
CREATE TABLE sc_reg_clicks (user_id int, item_id int);
INSERT INTO sc_reg_clicks
  SELECT u, i FROM generate_series(1, 40) u, generate_series(1, 30) i WHERE (u * 7 + i * 3) % 5 = 0;
SELECT name FROM recpromo.train('sc_reg_off', 'sc_reg_clicks', 'user_id', 'item_id', method => 'als',
    params => '{"factors": 4, "iterations": 3, "seed": 1}');
SELECT name FROM recpromo.train('sc_reg_on', 'sc_reg_clicks', 'user_id', 'item_id', method => 'als',
    params => '{"factors": 4, "iterations": 3, "seed": 1}');
SET recpromo.shared_cache_size = 0;
CREATE TEMP TABLE sc_off AS
  SELECT u, r.item, r.rank, round(r.score::numeric, 9) AS score
    FROM generate_series(1, 40) u, recpromo.recommend(u, 5, model => 'sc_reg_off') r;
RESET recpromo.shared_cache_size;
CREATE TEMP TABLE sc_on AS
  SELECT u, r.item, r.rank, round(r.score::numeric, 9) AS score
    FROM generate_series(1, 40) u, recpromo.recommend(u, 5, model => 'sc_reg_on') r;
SELECT count(*) AS rows, count(*) FILTER (WHERE o.item IS NOT DISTINCT FROM n.item AND o.score = n.score) AS equal
  FROM sc_off o FULL JOIN sc_on n USING (u, rank);
-- the image of sc_reg_on exists (superuser: pg_ls_dir), not the one of sc_reg_off
SELECT m.name, EXISTS (SELECT FROM pg_ls_dir('pg_recpromo_cache', true, false) f
                        WHERE f LIKE '%\_' || m.id || '\_' || replace(m.version::text, '-', '') || '.img') AS has_image
  FROM recpromo.model m WHERE m.name IN ('sc_reg_off', 'sc_reg_on') ORDER BY m.name;

-- resource settings are for superusers
CREATE ROLE sc_reg_role;
SET ROLE sc_reg_role;
SET recpromo.shared_cache_size = 0;
SET recpromo.shared_cache_verify = on;
RESET ROLE;
DROP ROLE sc_reg_role;
SELECT recpromo.drop_model('sc_reg_off');
SELECT recpromo.drop_model('sc_reg_on');
DROP TABLE sc_reg_clicks;
