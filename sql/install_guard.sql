-- CREATE EXTENSION refuses a pre-existing schema "recpromo" that the
-- installing role did not create (issue 10, the CVE-2022-2625 pattern): owned
-- by another role, open to CREATE by another role, or not empty.  Runs in a
-- database of its own; the canary is a trojan that would make the attacker
-- superuser if the script called it.
SET search_path = recpromo, public;
\set SHOW_CONTEXT never
SELECT current_database() AS regress_db \gset
CREATE ROLE regress_rp_attacker;
CREATE DATABASE regress_rp_guard;
ALTER DATABASE regress_rp_guard OWNER TO regress_rp_attacker;
\c regress_rp_guard
-- 1. the database owner (not a superuser) plants the schema and trojans
SET ROLE regress_rp_attacker;
CREATE SCHEMA recpromo;
CREATE FUNCTION recpromo.format(text, VARIADIC text[]) RETURNS text
LANGUAGE sql AS $$ ALTER ROLE regress_rp_attacker SUPERUSER; SELECT 'x'::text $$;
CREATE FUNCTION recpromo.format(text, name) RETURNS text
LANGUAGE sql AS $$ ALTER ROLE regress_rp_attacker SUPERUSER; SELECT 'x'::text $$;
RESET ROLE;
CREATE EXTENSION recpromo;
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'regress_rp_attacker';
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'recpromo';
DROP SCHEMA recpromo CASCADE;
-- 2. a schema of the installing role that another role may create objects in
CREATE SCHEMA recpromo;
GRANT CREATE ON SCHEMA recpromo TO regress_rp_attacker;
CREATE EXTENSION recpromo;
\echo sqlstate :LAST_ERROR_SQLSTATE
REVOKE CREATE ON SCHEMA recpromo FROM regress_rp_attacker;
GRANT CREATE ON SCHEMA recpromo TO PUBLIC;
CREATE EXTENSION recpromo;
REVOKE CREATE ON SCHEMA recpromo FROM PUBLIC;
-- 3. a schema of the installing role that is not empty
CREATE TABLE recpromo.leftover (x int);
CREATE FUNCTION recpromo.format(text, name) RETURNS text LANGUAGE sql AS $$ SELECT 'x'::text $$;
CREATE EXTENSION recpromo;
\echo sqlstate :LAST_ERROR_SQLSTATE
DROP TABLE recpromo.leftover;
DROP FUNCTION recpromo.format(text, name);
-- 4. an empty schema of another superuser is fine (pg_restore run by a
-- superuser recreates the schema with its original owner before CREATE EXTENSION)
DROP SCHEMA recpromo;
CREATE ROLE regress_rp_other_super SUPERUSER;
CREATE SCHEMA recpromo AUTHORIZATION regress_rp_other_super;
CREATE EXTENSION recpromo;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'recpromo') AS default_version_installed
  FROM pg_extension WHERE extname = 'recpromo';
DROP EXTENSION recpromo;
DROP SCHEMA recpromo;
DROP ROLE regress_rp_other_super;
CREATE SCHEMA recpromo;
-- 5. an empty schema of the installing role is fine
CREATE EXTENSION recpromo;
SELECT e.extversion = a.default_version AS default_version_installed, n.nspname, n.nspowner::regrole = current_user::regrole AS owned_by_installer
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'recpromo';
-- 6. DROP EXTENSION leaves the (now empty) schema; installing again works
DROP EXTENSION recpromo;
SELECT count(*) AS objects_left FROM pg_class WHERE relnamespace = 'recpromo'::regnamespace;
CREATE EXTENSION recpromo;
SELECT recpromo.cosine_similarity(ARRAY[1, 0]::float8[], ARRAY[1, 1]::float8[])::numeric(6, 4) AS works;
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'regress_rp_attacker';
\c :regress_db
DROP DATABASE regress_rp_guard;
DROP ROLE regress_rp_attacker;
