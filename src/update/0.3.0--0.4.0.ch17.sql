-- ch17 (issue 17, charts): report() gains item_groups, group_item_col,
-- group_col and bandit_buckets (exposure by item group and the bandit's
-- history); the 26-argument signature goes, the new one is created by the
-- replaceable part of this script.
DROP FUNCTION @extschema@.report(pg_catalog.text[], pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    integer, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text,
    pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.float8[],
    pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.timestamptz,
    pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], integer, pg_catalog.text, pg_catalog.text);
