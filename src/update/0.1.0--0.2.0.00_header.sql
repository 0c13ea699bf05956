-- recpromo update script 0.1.0 -> 0.2.0, assembled by make (see the Makefile,
-- "Update script"): this header, the other src/update/0.1.0--0.2.0.*.sql
-- fragments in name order, then the replaceable definitions of the 0.2.0
-- install script (CREATE OR REPLACE) derived by src/update/replaceable.pl.
\echo Use "ALTER EXTENSION recpromo UPDATE TO '0.2.0'" to load this file. \quit

-- Security posture (the same as the install script's header): every name is
-- schema-qualified (@extschema@ for ours, pg_catalog for the system's), every
-- SQL and PL/pgSQL function runs with SET search_path = pg_catalog, pg_temp,
-- and internal entry points are not executable by PUBLIC.  PostgreSQL runs
-- this script with search_path = @extschema@, pg_temp and refuses CREATE OR
-- REPLACE over an object that is not a member of the extension, so nothing
-- planted in the schema is replaced or called.

-- Functions whose signature 0.2.0 changes in a way CREATE OR REPLACE cannot
-- apply (a renamed parameter, a dropped default, a new return type) are
-- dropped here and created again below.  None in the similarity, serving,
-- batch and evaluation parts.
