-- Models have owners and grants: who may train, replace, drop, grant, serve
-- and choose the default; the model tables are closed to ordinary roles; a
-- model does not leak rows that row-level security hides; stored parts carry
-- checksums.  Roles are cluster-wide: every role here starts with mo_ and is
-- dropped at the end.  Errors that name the superuser are printed terse
-- (the bootstrap superuser's name depends on the installation).
SET search_path = recpromo, public;
SET client_min_messages = warning;

CREATE TABLE mo_orders (region text, customer int, product int);
INSERT INTO mo_orders
SELECT CASE WHEN c <= 4 THEN 'EU' ELSE 'US' END, c, p
FROM generate_series(1, 8) c, generate_series(1, 6) p
WHERE (c + p) % 3 <> 0;
-- row-level security: mo_eu sees the EU rows only
ALTER TABLE mo_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY mo_eu_rows ON mo_orders USING (region = 'EU' OR current_user <> 'mo_eu');

CREATE ROLE mo_alice;
CREATE ROLE mo_bob;
CREATE ROLE mo_eu;
CREATE ROLE mo_team;
GRANT mo_team TO mo_bob;
GRANT USAGE ON SCHEMA recpromo TO mo_alice, mo_bob, mo_eu, mo_team;
GRANT SELECT ON mo_orders TO mo_alice, mo_bob, mo_eu, mo_team;

-- 1. the model tables are closed to ordinary roles, even to a trainer
SET ROLE mo_alice;
SELECT count(*) FROM recpromo.model;
SELECT count(*) FROM recpromo.model_part;
INSERT INTO recpromo.model_part VALUES (1, 'users', 0, '\x00', 0);
UPDATE recpromo.model SET owner = 0;
SELECT nextval('recpromo.model_id_seq');
SELECT recpromo._seal_parts();
RESET ROLE;
SELECT has_function_privilege('public', 'recpromo._seal_parts()', 'EXECUTE') AS public_may_seal,
       has_table_privilege('mo_alice', 'recpromo.model', 'SELECT') AS alice_reads_model,
       has_table_privilege('mo_alice', 'recpromo.models', 'SELECT') AS alice_reads_models_view;

-- 2. the trainer owns the model; the view shows owner and grants
SET ROLE mo_alice;
SELECT name, nnz, owner, granted_to FROM train('mo_a', 'mo_orders', 'customer', 'product', method => 'item_knn');
SELECT item, rank FROM recommend(1, 2, model => 'mo_a') ORDER BY rank;

-- 3. another role cannot see, serve, replace, drop or grant it
SET ROLE mo_bob;
SELECT name FROM models ORDER BY name;
SELECT * FROM recommend(1, 2, model => 'mo_a');
SELECT * FROM recommend_for_items(ARRAY[1], 2, model => 'mo_a');
SELECT * FROM similar_items(1, 2, model => 'mo_a');
SELECT predict(1, 2, model => 'mo_a');
SELECT * FROM explain_recommendation(1, 2, model => 'mo_a');
SELECT count(*) FROM recommend_all(2, model => 'mo_a');
SELECT count(*) FROM evaluate('mo_a', 'mo_orders', 'customer', 'product');
SELECT * FROM train('mo_a', 'mo_orders', 'customer', 'product', method => 'popularity');
SELECT drop_model('mo_a');
SELECT drop_model('mo_a', if_exists => true);
SELECT grant_model('mo_a', 'mo_bob');
SELECT revoke_model('mo_a', 'mo_alice');
SELECT set_default_model('mo_a');
SELECT * FROM train_hybrid('mo_h', 'mo_a', 'mo_a');

-- 4. the owner grants it: mo_bob serves it, but still cannot replace or drop it
SET ROLE mo_alice;
SELECT grant_model('mo_a', 'mo_bob');
SELECT grant_model('mo_a', 'mo_bob');           -- twice is once
SELECT grant_model('mo_a', 'mo_nobody');
SELECT grant_model('mo_a', NULL);
SELECT name, owner, granted_to FROM models WHERE name = 'mo_a';
SET ROLE mo_bob;
SELECT name, owner, granted_to FROM models ORDER BY name;
SELECT item, rank FROM recommend(1, 2, model => 'mo_a') ORDER BY rank;
SELECT drop_model('mo_a');
SELECT * FROM train('mo_a', 'mo_orders', 'customer', 'product', method => 'popularity');
-- revoked: refused again
SET ROLE mo_alice;
SELECT revoke_model('mo_a', 'mo_bob');
SET ROLE mo_bob;
SELECT * FROM recommend(1, 2, model => 'mo_a');
-- granted to PUBLIC
SET ROLE mo_alice;
SELECT grant_model('mo_a', 'PUBLIC');
SELECT granted_to FROM models WHERE name = 'mo_a';
SET ROLE mo_bob;
SELECT count(*) FROM recommend(1, 2, model => 'mo_a');
SET ROLE mo_alice;
SELECT revoke_model('mo_a', 'public');
SET ROLE mo_bob;
SELECT count(*) FROM recommend(1, 2, model => 'mo_a');

-- 5. the owner retrains (grants kept) and drops
SET ROLE mo_alice;
SELECT grant_model('mo_a', 'mo_bob');
SELECT name, method, owner, granted_to FROM train('mo_a', 'mo_orders', 'customer', 'product', method => 'popularity');
SELECT drop_model('mo_a');
SELECT name FROM models;

-- 6. a group role: its members use its models
SET ROLE mo_team;
SELECT name, owner FROM train('mo_t', 'mo_orders', 'customer', 'product', method => 'popularity');
SET ROLE mo_bob;
SELECT count(*) FROM recommend(1, 2, model => 'mo_t');
SELECT name, owner FROM models ORDER BY name;
SET ROLE mo_alice;
SELECT * FROM recommend(1, 2, model => 'mo_t');

-- 7. the default model cannot be hijacked
RESET ROLE;
SELECT name FROM train('mo_root', 'mo_orders', 'customer', 'product', method => 'popularity');
SELECT set_default_model('mo_root');
SET ROLE mo_alice;
SELECT name, is_default FROM train('mo_a2', 'mo_orders', 'customer', 'product', method => 'popularity');
\set VERBOSITY terse
SELECT set_default_model('mo_a2');              -- the default belongs to the superuser
SELECT * FROM recommend(1, 2);                  -- nor may mo_alice serve it
\set VERBOSITY default
SET ROLE mo_bob;
SELECT set_default_model('mo_a2');              -- not the owner of mo_a2
RESET ROLE;
SELECT set_default_model('mo_a2');              -- a superuser may
SELECT name, is_default FROM model WHERE name IN ('mo_root', 'mo_a2') ORDER BY name;
SET ROLE mo_alice;
SELECT count(*) FROM recommend(1, 2);
SELECT set_default_model('mo_a2');              -- already the default: nothing to do
RESET ROLE;
SELECT set_default_model('mo_root');
SELECT drop_model('mo_root');

-- 8. a superuser can manage any model; retraining makes it the owner and clears the grants
SET ROLE mo_alice;
SELECT grant_model('mo_a2', 'mo_bob');
RESET ROLE;
SELECT name, granted_to, owner = current_user::regrole AS superuser_owns
FROM train('mo_a2', 'mo_orders', 'customer', 'product', method => 'popularity');
SET ROLE mo_alice;
\set VERBOSITY terse
SELECT * FROM recommend(1, 2, model => 'mo_a2');
\set VERBOSITY default
RESET ROLE;
SELECT drop_model('mo_a2');

-- 9. row-level security: a model trained on every row is not served to a
-- role that sees only the EU rows, unless its owner grants it
SELECT name, n_users, nnz FROM train('mo_all', 'mo_orders', 'customer', 'product', method => 'item_knn');
SET ROLE mo_eu;
SELECT count(*) AS visible_rows, max(customer) AS last_customer FROM mo_orders;
\set VERBOSITY terse
SELECT * FROM explain_recommendation(7, 3, model => 'mo_all');   -- customer 7 is in the US
SELECT * FROM similar_items(1, 3, model => 'mo_all');
SELECT predict(7, 3, model => 'mo_all');
SELECT count(*) FROM recommend_all(3, model => 'mo_all');
\set VERBOSITY default
-- its own model knows the EU rows only
SELECT name, n_users, nnz FROM train('mo_eu_model', 'mo_orders', 'customer', 'product', method => 'item_knn');
SELECT count(*) AS us_customers_explained FROM explain_recommendation(7, 3, model => 'mo_eu_model');
RESET ROLE;
-- the owner's grant exposes what the model holds, hidden rows included
SELECT grant_model('mo_all', 'mo_eu');
SET ROLE mo_eu;
SELECT count(*) > 0 AS us_history_exposed FROM explain_recommendation(7, 3, model => 'mo_all');
RESET ROLE;
SELECT drop_model('mo_all');

-- 10. checksums: a changed byte gives XX001 naming the model and the part
SELECT name FROM train('mo_c', 'mo_orders', 'customer', 'product', method => 'item_knn');
SELECT part, count(*) AS chunks, bool_and(checksum IS NOT NULL) AS sealed
FROM model_part WHERE model_id = (SELECT id FROM model WHERE name = 'mo_c')
GROUP BY part ORDER BY part;
UPDATE model_part SET data = set_byte(data, 0, get_byte(data, 0) # 1)
WHERE model_id = (SELECT id FROM model WHERE name = 'mo_c') AND part = 'seen_indices';
DO $$
BEGIN
    PERFORM * FROM recpromo.recommend(1, 2, model => 'mo_c');
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'SQLSTATE %: %', SQLSTATE, SQLERRM;
END
$$;
SELECT * FROM similar_items(1, 2, model => 'mo_c');
-- a missing chunk number
SELECT name FROM train('mo_c', 'mo_orders', 'customer', 'product', method => 'item_knn');
UPDATE model_part SET seq = 1
WHERE model_id = (SELECT id FROM model WHERE name = 'mo_c') AND part = 'knn_indptr';
SELECT * FROM similar_items(1, 2, model => 'mo_c');
SELECT drop_model('mo_c');

-- clean up
RESET ROLE;
SELECT drop_model(name) FROM model WHERE name LIKE 'mo\_%' ORDER BY name;
DROP TABLE mo_orders;
REVOKE ALL ON SCHEMA recpromo FROM mo_alice, mo_bob, mo_eu, mo_team;
DROP ROLE mo_alice;
DROP ROLE mo_bob;
DROP ROLE mo_eu;
DROP ROLE mo_team;
