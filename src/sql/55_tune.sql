-- ---------------------------------------------------------------------------
-- Tuning (src/pg/tune.c): tune() searches a method's hyper-parameters on a
-- validation slice of the source, trains the winner on all of it under the
-- model's name, and records every trial in recpromo.tuning_trial under the
-- new model id.  Like the model tables, tuning_trial is closed to PUBLIC:
-- the C code writes it as the extension owner after the ownership check of
-- train(), and the tuning_trials view shows the trials of exactly the
-- models the models view shows (the same grant test).  Trials of a model
-- that was replaced or dropped stay hidden (the view joins on the current
-- id) and are deleted by the next tune().
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.tuning_trial (
    model_id bigint NOT NULL,
    trial    integer NOT NULL,
    params   jsonb NOT NULL,
    metric   text NOT NULL,
    value    float8,
    seconds  float8 NOT NULL,
    fraction float8 NOT NULL,
    chosen   boolean NOT NULL,
    PRIMARY KEY (model_id, trial)
);
REVOKE ALL ON TABLE @extschema@.tuning_trial FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tuning_trial', '');
COMMENT ON TABLE @extschema@.tuning_trial IS
'every trial of the tune() call that produced a model: values tried, validation metric, seconds (see the tuning_trials view)';

CREATE VIEW @extschema@.tuning_trials WITH (security_barrier) AS
SELECT m.name AS model, m.method, t.trial, t.params, t.metric, t.value, t.fraction, t.seconds, t.chosen
FROM @extschema@.tuning_trial t
JOIN @extschema@.model m ON m.id OPERATOR(pg_catalog.=) t.model_id
WHERE pg_catalog.pg_has_role(m.owner::pg_catalog.oid, 'USAGE')
   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(m.readers) g(r)
               WHERE g.r::pg_catalog.oid OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                  OR pg_catalog.pg_has_role(g.r::pg_catalog.oid, 'USAGE'));
COMMENT ON VIEW @extschema@.tuning_trials IS
'the tune() trials of the models the current role may serve (the grant test of the models view): '
'values tried, validation metric, share of users, seconds, and the chosen one';
GRANT SELECT ON @extschema@.tuning_trials TO PUBLIC;

CREATE FUNCTION @extschema@.tune(
    name text,
    source regclass,
    user_col name,
    item_col name,
    rating_col name DEFAULT NULL,
    method text DEFAULT 'als',
    time_col name DEFAULT NULL,
    split text DEFAULT NULL,
    metric text DEFAULT 'ndcg@10',
    strategy text DEFAULT 'adaptive',
    trials integer DEFAULT 20,
    max_seconds float8 DEFAULT NULL,
    validation_fraction float8 DEFAULT 0.2,
    seed integer DEFAULT 0,
    params jsonb DEFAULT '{}')
RETURNS TABLE (trial integer, params jsonb, metric text, value float8, fraction float8,
               seconds float8, chosen boolean)
AS 'MODULE_PATHNAME', 'recpromo_tune'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.tune(text, regclass, name, name, name, text, name, text, text, text,
    integer, float8, float8, integer, jsonb) IS
'searches a method''s hyper-parameters (adaptive: random then refined around the best, random, grid or halving; seeded; under trials and/or max_seconds) '
'on a per-user validation split of the source (each user''s latest items by time_col, a time cut, or random), then trains the best values on '
'all of it under name like train(); returns and records every trial (tuning_trials view)';
