-- recpromo install script, assembled by make from src/sql/*.sql in name order.
\echo Use "CREATE EXTENSION recpromo" to load this file. \quit

-- Which OpenBLAS kernel set this server runs (e.g. Prescott, SkylakeX).
CREATE FUNCTION @extschema@.blas_corename() RETURNS text
AS 'MODULE_PATHNAME', 'recpromo_blas_corename'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.blas_corename() IS
'name of the OpenBLAS kernel set chosen for this CPU; set OPENBLAS_CORETYPE in the server environment to override';
