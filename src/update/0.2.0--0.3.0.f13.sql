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

-- similar_users needs a grant beyond serving (issue 13): the roles the
-- owner allowed, at the end of recpromo.model as in the install script.
ALTER TABLE @extschema@.model ADD COLUMN similar_users_readers regrole[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN @extschema@.model.similar_users_readers IS 'roles the owner let call similar_users, which returns other customers'' keys (grant_model(..., similar_users => true)); 0 (-) is PUBLIC';

-- grant_model and revoke_model gain similar_users.
DROP FUNCTION IF EXISTS @extschema@.grant_model(text, name);
DROP FUNCTION IF EXISTS @extschema@.revoke_model(text, name);
