-- recpromo.model loses its column defaults (see src/sql/20_models.sql): the
-- library names every column it writes, and a table with defaults costs the
-- first lookup of every new connection a read of pg_attrdef.
ALTER TABLE @extschema@.model
    ALTER COLUMN params DROP DEFAULT,
    ALTER COLUMN n_users DROP DEFAULT,
    ALTER COLUMN n_items DROP DEFAULT,
    ALTER COLUMN nnz DROP DEFAULT,
    ALTER COLUMN rows_read DROP DEFAULT,
    ALTER COLUMN rows_skipped DROP DEFAULT,
    ALTER COLUMN metrics DROP DEFAULT,
    ALTER COLUMN is_default DROP DEFAULT,
    ALTER COLUMN trained_by DROP DEFAULT,
    ALTER COLUMN trained_at DROP DEFAULT,
    ALTER COLUMN readers DROP DEFAULT,
    ALTER COLUMN version DROP DEFAULT,
    ALTER COLUMN similar_users_readers DROP DEFAULT;
