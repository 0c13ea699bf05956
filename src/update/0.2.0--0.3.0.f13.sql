-- f13 (issue 13 fairness and privacy of serving; issue 18 internal helpers).
--
-- The internal SQL helpers of time_split and evaluate_rankings were
-- executable by PUBLIC; 0.3.0 does their checks inline (issue 18).
DROP FUNCTION IF EXISTS @extschema@._eval_column_type(pg_catalog.regclass, pg_catalog.name, pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._eval_type_category(pg_catalog.regtype);

-- recommend() gains diversity, calibration, min_share, share_items and
-- share_categories (issue 13): the 16-argument signature goes, the new one
-- is created by the replaceable part of this script.
DROP FUNCTION IF EXISTS @extschema@.recommend(pg_catalog.anyelement, integer, pg_catalog.text, boolean,
    pg_catalog."any", pg_catalog."any", pg_catalog.regclass, pg_catalog.name, pg_catalog.name,
    pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, integer,
    pg_catalog.text[], pg_catalog.text[]);
