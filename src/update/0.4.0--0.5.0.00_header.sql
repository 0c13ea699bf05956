-- recpromo update script 0.4.0 -> 0.5.0, assembled by make (see the Makefile,
-- "Update script"): this header, the other src/update/0.4.0--0.5.0.*.sql
-- fragments in name order, then the replaceable definitions of the 0.5.0
-- install script (CREATE OR REPLACE) derived by src/update/replaceable.pl.
\echo Use "ALTER EXTENSION recpromo UPDATE TO '0.5.0'" to load this file. \quit

-- Security posture (the same as the install script's header): every name is
-- schema-qualified (@extschema@ for ours, pg_catalog for the system's), every
-- SQL and PL/pgSQL function runs with SET search_path = pg_catalog, pg_temp,
-- and nothing internal is executable by PUBLIC.  PostgreSQL runs this script
-- with search_path = @extschema@, pg_temp and refuses CREATE OR REPLACE over
-- an object that is not a member of the extension, so nothing planted in the
-- schema is replaced or called.
--
-- Each area adds a fragment src/update/0.4.0--0.5.0.<area>.sql for what the
-- install script cannot give: new columns of existing tables (at the end of
-- the table), data migrations, and DROP of functions that 0.5.0 removes or
-- whose signature changed.
