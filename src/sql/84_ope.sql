-- ---------------------------------------------------------------------------
-- Off-policy evaluation: the value of a target policy (a table of action
-- probabilities, a stored propensity or uplift model, or a bandit)
-- estimated from rounds logged under another policy, with IPS, SNIPS,
-- the direct method and doubly robust (Dudik, Langford and Li 2011).
--
-- evaluate_policy() reads the caller's logged table (and target table)
-- with the caller's privileges (SECURITY INVOKER, fixed search_path,
-- identifiers through format('%I'), relations quoted from the catalog,
-- every value a query parameter, every operator of generated SQL
-- qualified) into arrays, and
-- evaluate_policy_arrays() (C, src/pg/ope.c, pure computation on its
-- arguments, so PUBLIC may execute it) checks them and runs the estimators
-- of src/core/rp_ope.c.  Definitions: doc/experiments.md, "Off-policy evaluation".
-- Issue 18: evaluate_policy is a C front door (src/pg/ab_front.c) that
-- checks the columns, quotes the relations and reads an uplift target
-- model through the caller's grant in C, then calls the PL/pgSQL body
-- _body_evaluate_policy through fmgr; PUBLIC may not execute the body,
-- which runs as the invoker all the same.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.evaluate_policy_arrays(context pg_catalog.float8[], arm integer[],
    reward pg_catalog.float8[], propensity pg_catalog.float8[], target pg_catalog.float8[],
    estimators pg_catalog.text[] DEFAULT '{ips,snips,dm,dr}', bootstrap integer DEFAULT 200,
    seed bigint DEFAULT 0, alpha pg_catalog.float8 DEFAULT 0.05, ridge_lambda pg_catalog.float8 DEFAULT 1.0)
RETURNS TABLE (estimator pg_catalog.text, estimate pg_catalog.float8, ci_low pg_catalog.float8,
               ci_high pg_catalog.float8, ess pg_catalog.float8, n bigint)
AS 'MODULE_PATHNAME', 'recpromo_evaluate_policy_arrays'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION @extschema@.evaluate_policy_arrays(pg_catalog.float8[], integer[], pg_catalog.float8[],
    pg_catalog.float8[], pg_catalog.float8[], pg_catalog.text[], integer, bigint, pg_catalog.float8, pg_catalog.float8) IS
'off-policy estimates (ips, snips, dm, dr) with percentile bootstrap intervals and the effective sample size, '
'from arrays: contexts (n x d or NULL), 1-based logged arms, rewards, propensities and target probabilities (n x k)';

-- STABLE on purpose: every query of the function then reads one snapshot, so
-- the checks (row counts, arms, keys) and the final read agree even while
-- other sessions append to the log.  The functions it calls (score_uplift,
-- score_propensity, bandit_action_probabilities) only read.
CREATE FUNCTION @extschema@._body_evaluate_policy(logged pg_catalog.regclass, context_col pg_catalog.name,
    arm_col pg_catalog.name, reward_col pg_catalog.name, propensity_col pg_catalog.name,
    target_probs pg_catalog.regclass, target_model pg_catalog.text,
    target_bandit pg_catalog.text, key_col pg_catalog.name,
    estimators pg_catalog.text[], bootstrap integer,
    seed bigint, alpha pg_catalog.float8, ridge_lambda pg_catalog.float8,
    features pg_catalog.text[], threshold pg_catalog.float8,
    treatment pg_catalog.text, control pg_catalog.text,
    rel pg_catalog.text, reward_type pg_catalog.regtype, propensity_type pg_catalog.regtype,
    ctype pg_catalog.regtype, tp_rel pg_catalog.text, model_params pg_catalog.jsonb)
RETURNS TABLE (estimator pg_catalog.text, estimate pg_catalog.float8, ci_low pg_catalog.float8,
               ci_high pg_catalog.float8, ess pg_catalog.float8, n bigint)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 4
AS $$
DECLARE
    rexpr text;
    pexpr text;
    cx text;              -- float8[] expression of a logged row's features, or NULL
    cj text;              -- a logged row's context as jsonb or float8[] (bandits)
    keys text[];
    arms text[];
    k int;
    n_rows bigint;
    n_null bigint;
    lkey text;            -- text expression over l joining a logged row to its target row
    src text;             -- subquery (k text, tp float8[], stray text): the target
                          -- probabilities per key, and an arm outside the log it plays
    eye float8[];
    r record;
    m text;
    p jsonb;
    thr float8;
    ti int;
    ci int;
    a_ctx float8[];
    a_arm int[];
    a_rew float8[];
    a_prop float8[];
    a_tp float8[];
    n_joined bigint;
    n_matched bigint;
    missing text;
    foreign_arm text;
BEGIN
    IF (target_probs IS NOT NULL)::int + (target_model IS NOT NULL)::int + (target_bandit IS NOT NULL)::int <> 1 THEN
        RAISE EXCEPTION 'exactly one target policy must be given'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass target_probs (a table of action probabilities), target_model (a propensity or uplift model) or target_bandit.';
    END IF;
    -- the front door (src/pg/ab_front.c) has checked the arm, reward and
    -- propensity columns and passes their types; the expressions here read
    -- the columns of l
    rexpr := pg_catalog.format(CASE WHEN reward_type = 'boolean'::regtype
                                    THEN '(l.%I)::pg_catalog.int4::pg_catalog.float8' ELSE '(l.%I)::pg_catalog.float8' END, reward_col);
    pexpr := pg_catalog.format(CASE WHEN propensity_type = 'boolean'::regtype
                                    THEN '(l.%I)::pg_catalog.int4::pg_catalog.float8' ELSE '(l.%I)::pg_catalog.float8' END, propensity_col);

    -- the arms: every arm value of the log, in byte order
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE %1$I IS NULL) FROM %2$s', arm_col, rel)
       INTO n_rows, n_null;
    IF n_null > 0 THEN
        RAISE EXCEPTION 'arm column "%" has % null values', arm_col, n_null
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Every logged row needs the arm that was played; filter the others out with a view.';
    END IF;
    IF n_rows = 0 THEN
        RAISE EXCEPTION 'no logged rows to evaluate' USING ERRCODE = 'invalid_parameter_value',
            HINT = pg_catalog.format('%s is empty.', logged);
    END IF;
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(a ORDER BY a COLLATE pg_catalog."C")'
        ' FROM (SELECT DISTINCT (%I)::pg_catalog.text AS a FROM %s) s', arm_col, rel) INTO arms;
    k := pg_catalog.cardinality(arms);
    eye := ARRAY(SELECT CASE WHEN i OPERATOR(pg_catalog.=) j THEN 1.0 ELSE 0.0 END::float8
                   FROM pg_catalog.generate_series(1, k) i, pg_catalog.generate_series(1, k) j ORDER BY i, j);

    -- the context: features for the reward model, jsonb for a bandit
    IF context_col IS NOT NULL THEN
        -- ctype: the type of the context column, from the front door
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %I IS NULL', rel, context_col) INTO n_null;
        IF n_null > 0 THEN
            RAISE EXCEPTION 'context column "%" has % null values', context_col, n_null
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = 'Pass context_col => NULL to evaluate without contexts, or filter the rows with a view.';
        END IF;
        IF ctype = 'jsonb'::regtype THEN
            EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE pg_catalog.jsonb_typeof(%I) OPERATOR(pg_catalog.<>) ''object''',
                                      rel, context_col) INTO n_null;
            IF n_null > 0 THEN
                RAISE EXCEPTION 'context column "%" has % values that are not json objects', context_col, n_null
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'A jsonb context is an object of named features, e.g. {"visits": 3, "recency": 0.5}.';
            END IF;
            keys := features;
            IF keys IS NULL THEN
                EXECUTE pg_catalog.format(
                    'SELECT pg_catalog.array_agg(f ORDER BY f COLLATE pg_catalog."C") FROM (SELECT DISTINCT e.key AS f FROM %s,'
                    ' pg_catalog.jsonb_each(%I) e WHERE pg_catalog.jsonb_typeof(e.value) OPERATOR(pg_catalog.=) ''number'') s',
                    rel, context_col) INTO keys;
            END IF;
            IF pg_catalog.cardinality(keys) > 0 THEN
                EXECUTE pg_catalog.format(
                    'SELECT f FROM pg_catalog.unnest($1) f WHERE EXISTS (SELECT FROM %s'
                    ' WHERE COALESCE(pg_catalog.jsonb_typeof(%I OPERATOR(pg_catalog.->) f), '''') OPERATOR(pg_catalog.<>) ''number'') LIMIT 1',
                    rel, context_col) INTO missing USING keys;
                IF missing IS NOT NULL THEN
                    RAISE EXCEPTION 'feature "%" is not a number in every context', missing
                        USING ERRCODE = 'invalid_parameter_value',
                              DETAIL = pg_catalog.format('The reward model uses the features %s.', keys),
                              HINT = 'Every context needs a numeric value of every feature; choose the features with features => ''{...}''.';
                END IF;
                cx := pg_catalog.format('ARRAY[%s]',
                        (SELECT pg_catalog.string_agg(pg_catalog.format('(l.%I OPERATOR(pg_catalog.->>) $1[%s])::pg_catalog.float8',
                                                                        context_col, i), ', ' ORDER BY i)
                           FROM pg_catalog.generate_series(1, pg_catalog.cardinality(keys)) i));
            END IF;
            cj := pg_catalog.format('l.%I', context_col);
        ELSIF ctype IN ('double precision[]'::regtype, 'real[]'::regtype, 'numeric[]'::regtype,
                        'integer[]'::regtype, 'bigint[]'::regtype, 'smallint[]'::regtype) THEN
            IF features IS NOT NULL THEN
                RAISE EXCEPTION 'features applies to jsonb contexts only' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.min(pg_catalog.cardinality(%1$I)) AS lo, pg_catalog.max(pg_catalog.cardinality(%1$I)) AS hi,'
                ' pg_catalog.max(pg_catalog.array_ndims(%1$I)) AS dims FROM %2$s', context_col, rel) INTO r;
            IF r.lo <> r.hi OR r.dims > 1 THEN
                RAISE EXCEPTION 'contexts must be one-dimensional arrays of one length'
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = pg_catalog.format('Column "%s" has arrays of %s to %s elements and %s dimensions.', context_col, r.lo, r.hi, r.dims);
            END IF;
            IF r.lo > 0 THEN
                cx := pg_catalog.format('(l.%I)::pg_catalog.float8[]', context_col);
            END IF;
            cj := pg_catalog.format('(l.%I)::pg_catalog.float8[]', context_col);
        ELSE
            RAISE EXCEPTION 'context column "%" has type %, expected jsonb or a numeric array', context_col, ctype
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Pass the numeric context features as jsonb (an object) or float8[].';
        END IF;
    ELSIF features IS NOT NULL THEN
        RAISE EXCEPTION 'features needs a context column' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF target_probs IS NOT NULL THEN
        -- (a) a table of action probabilities: columns <key_col>, <arm_col>, probability
        key_col := COALESCE(key_col, context_col);
        IF key_col IS NULL THEN
            RAISE EXCEPTION 'target_probs needs a key column'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass key_col: a column of both tables (a decision id or a context key); it defaults to the context column.';
        END IF;
        -- the front door has checked the key, arm and probability columns
        src := pg_catalog.format('(SELECT (%I)::pg_catalog.text AS k, (%I)::pg_catalog.text AS a,'
                                 ' (probability)::pg_catalog.float8 AS p FROM %s)',
                                 key_col, arm_col, tp_rel);
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.count(*) FILTER (WHERE k IS NULL OR a IS NULL OR p IS NULL) AS nulls,'
            ' (pg_catalog.array_agg(pg_catalog.format(''key %%s, arm %%s: %%s'', k, a, p))'
            '   FILTER (WHERE NOT (p OPERATOR(pg_catalog.>=) 0 AND p OPERATOR(pg_catalog.<=) 1)))[1] AS bad,'
            ' (pg_catalog.array_agg(a) FILTER (WHERE p OPERATOR(pg_catalog.>) 0'
            '   AND NOT a OPERATOR(pg_catalog.=) ANY ($1)))[1] AS stray'
            ' FROM %s t', src) INTO r USING arms;
        IF r.nulls > 0 THEN
            RAISE EXCEPTION 'target table % has % rows with a null key, arm or probability', target_probs, r.nulls
                USING ERRCODE = 'null_value_not_allowed';
        END IF;
        IF r.bad IS NOT NULL THEN
            RAISE EXCEPTION 'target probability must be in [0, 1]'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = pg_catalog.format('Target row %s.', r.bad);
        END IF;
        IF r.stray IS NOT NULL THEN
            RAISE EXCEPTION 'target policy plays arm "%", which the log never shows', r.stray
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Off-policy estimates need every arm the target plays to appear in the log.';
        END IF;
        EXECUTE pg_catalog.format(
            'SELECT k, s, c FROM (SELECT k, pg_catalog.sum(p) AS s, pg_catalog.count(*) AS c,'
            ' pg_catalog.count(DISTINCT a) AS u FROM %s t GROUP BY k) g'
            ' WHERE c OPERATOR(pg_catalog.<>) u OR pg_catalog.abs(s OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.>) 1e-6'
            ' ORDER BY k COLLATE pg_catalog."C" LIMIT 1', src) INTO r;
        IF r.k IS NOT NULL THEN
            RAISE EXCEPTION 'target probabilities of key "%" are not a distribution', r.k
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = pg_catalog.format('They sum to %s over %s rows.', r.s, r.c),
                      HINT = 'Each key needs one row per arm with probabilities summing to 1 (tolerance 1e-6); arms without a row have probability 0.';
        END IF;
        src := pg_catalog.format('(SELECT k, ARRAY[%s] AS tp, NULL::pg_catalog.text AS stray FROM %s t GROUP BY k)',
                 (SELECT pg_catalog.string_agg(pg_catalog.format(
                      'COALESCE(pg_catalog.sum(p) FILTER (WHERE a OPERATOR(pg_catalog.=) $2[%s]), 0)', i), ', ' ORDER BY i)
                    FROM pg_catalog.generate_series(1, k) i), src);
        lkey := pg_catalog.format('(l.%I)::pg_catalog.text', key_col);
    ELSIF target_model IS NOT NULL THEN
        -- (b) a deterministic policy from a stored model, scored per logged row
        IF key_col IS NULL THEN
            RAISE EXCEPTION 'target_model needs a key column'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass key_col: a column that identifies each logged row.';
        END IF;
        -- the front door has checked the key column
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %I IS NULL', rel, key_col) INTO n_null;
        IF n_null > 0 THEN
            RAISE EXCEPTION 'key column "%" has % null values', key_col, n_null USING ERRCODE = 'null_value_not_allowed';
        END IF;
        SELECT mm.method INTO m FROM @extschema@.models mm WHERE mm.name OPERATOR(pg_catalog.=) target_model;
        IF m = 'uplift' THEN
            p := model_params;   -- read by the front door through the caller's grant
            thr := COALESCE(threshold, 0);
            control := p->>'control';
            SELECT x INTO missing FROM (SELECT a->>'treatment' AS x FROM pg_catalog.jsonb_array_elements(p->'arms') a
                                        UNION ALL SELECT control) s
             WHERE NOT x OPERATOR(pg_catalog.=) ANY (arms) LIMIT 1;
            src := pg_catalog.format(
                '(SELECT DISTINCT ON (s.key) s.key AS k, CASE WHEN s.uplift OPERATOR(pg_catalog.>) $3'
                ' THEN $4[(pg_catalog.array_position($2, s.treatment) OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) %1$s OPERATOR(pg_catalog.+) 1'
                '       : pg_catalog.array_position($2, s.treatment) OPERATOR(pg_catalog.*) %1$s]'
                ' ELSE $4[(pg_catalog.array_position($2, $5) OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) %1$s OPERATOR(pg_catalog.+) 1'
                '       : pg_catalog.array_position($2, $5) OPERATOR(pg_catalog.*) %1$s] END AS tp,'
                ' NULL::pg_catalog.text AS stray'
                ' FROM @extschema@.score_uplift($6, $8, $9) s'
                ' ORDER BY s.key, s.uplift DESC, s.treatment COLLATE pg_catalog."C")', k);
        ELSE
            IF treatment IS NULL THEN
                RAISE EXCEPTION 'a propensity model target needs treatment'
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'The target policy plays treatment when the predicted probability exceeds threshold (default 0.5), else control.';
            END IF;
            thr := COALESCE(threshold, 0.5);
            SELECT x INTO missing FROM (VALUES (treatment), (control)) s(x)
             WHERE NOT x OPERATOR(pg_catalog.=) ANY (arms) LIMIT 1;
            src := pg_catalog.format(
                '(SELECT s.key AS k, CASE WHEN s.score OPERATOR(pg_catalog.>) $3'
                ' THEN $4[(pg_catalog.array_position($2, $7) OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) %1$s OPERATOR(pg_catalog.+) 1'
                '       : pg_catalog.array_position($2, $7) OPERATOR(pg_catalog.*) %1$s]'
                ' WHEN s.score OPERATOR(pg_catalog.<=) $3'
                ' THEN $4[(pg_catalog.array_position($2, $5) OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) %1$s OPERATOR(pg_catalog.+) 1'
                '       : pg_catalog.array_position($2, $5) OPERATOR(pg_catalog.*) %1$s] END AS tp,'
                ' NULL::pg_catalog.text AS stray'
                ' FROM @extschema@.score_propensity($6, $8, $9) s)', k);
        END IF;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'target policy plays arm "%", which the log never shows', missing
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Off-policy estimates need every arm of the model (and the control) to appear in the log.';
        END IF;
        lkey := pg_catalog.format('(l.%I)::pg_catalog.text', key_col);
    ELSE
        -- (c) a bandit: its action probabilities for each distinct context
        IF pg_catalog.to_regprocedure('@extschema@.bandit_action_probabilities(pg_catalog.text, pg_catalog.jsonb)') IS NULL THEN
            RAISE EXCEPTION 'function bandit_action_probabilities(text, jsonb) does not exist'
                USING ERRCODE = 'undefined_function',
                      HINT = 'Bandit targets need the bandits of recpromo 0.2.0 (ALTER EXTENSION recpromo UPDATE), or pass the target as target_probs.';
        END IF;
        cj := COALESCE(cj, 'NULL::pg_catalog.jsonb');
        src := pg_catalog.format(
            '(SELECT COALESCE(x.c::pg_catalog.text, '''') AS k, ARRAY[%s] AS tp,'
            ' pg_catalog.max(b.arm) FILTER (WHERE b.probability OPERATOR(pg_catalog.>) 0'
            '   AND NOT b.arm OPERATOR(pg_catalog.=) ANY ($2)) AS stray'
            ' FROM (SELECT DISTINCT %s AS c FROM %s l) x'
            ' CROSS JOIN LATERAL @extschema@.bandit_action_probabilities($6, x.c) b'
            ' GROUP BY x.c)',
            (SELECT pg_catalog.string_agg(pg_catalog.format(
                 'COALESCE(pg_catalog.sum(b.probability) FILTER (WHERE b.arm OPERATOR(pg_catalog.=) $2[%s]), 0)', i), ', ' ORDER BY i)
               FROM pg_catalog.generate_series(1, k) i), cj, rel);
        lkey := pg_catalog.format('COALESCE((%s)::pg_catalog.text, '''')', cj);
    END IF;

    -- one pass: the logged rows joined to their target probabilities
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*), pg_catalog.count(t.tp),'
        ' (pg_catalog.array_agg(%1$s) FILTER (WHERE t.tp IS NULL))[1],'
        ' %2$s,'
        ' pg_catalog.array_agg(pg_catalog.array_position($2, (l.%3$I)::pg_catalog.text)) FILTER (WHERE t.tp IS NOT NULL),'
        ' pg_catalog.array_agg(%4$s) FILTER (WHERE t.tp IS NOT NULL),'
        ' pg_catalog.array_agg(%5$s) FILTER (WHERE t.tp IS NOT NULL),'
        ' pg_catalog.array_agg(t.tp) FILTER (WHERE t.tp IS NOT NULL),'
        ' pg_catalog.max(t.stray)'
        ' FROM %6$s l LEFT JOIN %7$s t ON t.k OPERATOR(pg_catalog.=) %1$s',
        lkey, CASE WHEN cx IS NULL THEN 'NULL::pg_catalog.float8[]'
                   ELSE pg_catalog.format('pg_catalog.array_agg(%s) FILTER (WHERE t.tp IS NOT NULL)', cx) END, arm_col,
        rexpr, pexpr,
        rel, src)
       INTO n_joined, n_matched, missing, a_ctx, a_arm, a_rew, a_prop, a_tp, foreign_arm
       USING keys, arms, thr, eye, control, COALESCE(target_model, target_bandit), treatment, logged, key_col;
    IF foreign_arm IS NOT NULL THEN
        RAISE EXCEPTION 'target policy plays arm "%", which the log never shows', foreign_arm
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Off-policy estimates need every arm the bandit plays to appear in the log.';
    END IF;
    IF n_matched < n_joined THEN
        RAISE EXCEPTION 'target policy has no action probabilities for % logged rows', n_joined - n_matched
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The first is the row with key %s.', missing),
                  HINT = CASE WHEN target_model IS NOT NULL THEN 'A row with a NULL feature has no model score; filter it out with a view.'
                              ELSE 'Every logged row needs target probabilities: add rows for that key to the target table.' END;
    END IF;
    IF n_joined <> n_rows THEN
        RAISE EXCEPTION 'key column "%" does not identify the logged rows', key_col
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'With target_model the key column must be unique in the logged table; with target_probs each key needs one row per arm.';
    END IF;
    RETURN QUERY SELECT * FROM @extschema@.evaluate_policy_arrays(a_ctx, a_arm, a_rew, a_prop, a_tp,
        estimators, bootstrap, seed, alpha, ridge_lambda);
END
$$;
REVOKE ALL ON FUNCTION @extschema@._body_evaluate_policy(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.name, pg_catalog.text[], integer,
    bigint, pg_catalog.float8, pg_catalog.float8, pg_catalog.text[], pg_catalog.float8, pg_catalog.text, pg_catalog.text,
    pg_catalog.text, pg_catalog.regtype, pg_catalog.regtype, pg_catalog.regtype, pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._body_evaluate_policy(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.name, pg_catalog.text[], integer,
    bigint, pg_catalog.float8, pg_catalog.float8, pg_catalog.text[], pg_catalog.float8, pg_catalog.text, pg_catalog.text,
    pg_catalog.text, pg_catalog.regtype, pg_catalog.regtype, pg_catalog.regtype, pg_catalog.text, pg_catalog.jsonb) IS
'internal, not executable by PUBLIC: the body of evaluate_policy, called by its C front door with the checked relations, column types and model parameters';

CREATE FUNCTION @extschema@.evaluate_policy(logged pg_catalog.regclass, context_col pg_catalog.name,
    arm_col pg_catalog.name, reward_col pg_catalog.name, propensity_col pg_catalog.name,
    target_probs pg_catalog.regclass DEFAULT NULL, target_model pg_catalog.text DEFAULT NULL,
    target_bandit pg_catalog.text DEFAULT NULL, key_col pg_catalog.name DEFAULT NULL,
    estimators pg_catalog.text[] DEFAULT '{ips,snips,dm,dr}', bootstrap integer DEFAULT 200,
    seed bigint DEFAULT 0, alpha pg_catalog.float8 DEFAULT 0.05, ridge_lambda pg_catalog.float8 DEFAULT 1.0,
    features pg_catalog.text[] DEFAULT NULL, threshold pg_catalog.float8 DEFAULT NULL,
    treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control')
RETURNS TABLE (estimator pg_catalog.text, estimate pg_catalog.float8, ci_low pg_catalog.float8,
               ci_high pg_catalog.float8, ess pg_catalog.float8, n bigint)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 4
AS 'MODULE_PATHNAME', 'recpromo_evaluate_policy';
COMMENT ON FUNCTION @extschema@.evaluate_policy(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name,
    pg_catalog.name, pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.name, pg_catalog.text[], integer,
    bigint, pg_catalog.float8, pg_catalog.float8, pg_catalog.text[], pg_catalog.float8, pg_catalog.text, pg_catalog.text) IS
'off-policy value of a target policy (target_probs table, target_model propensity/uplift model, or target_bandit) '
'from a logged table: ips, snips, dm and dr estimates with percentile bootstrap intervals and the effective sample size';
