-- ---------------------------------------------------------------------------
-- Promotion analytics: customer profiles (RFM, category affinity, k-means
-- segments), propensity (logistic regression), uplift (two-model and class
-- transformation, Qini/AUUC with bootstrap intervals, balance check) and
-- offer assignment under a budget.
--
-- Security posture, for the DBA reading this script:
--
-- * Invoker rights.  No function here is SECURITY DEFINER.  The functions
--   read the caller's tables with the caller's privileges, so table and
--   column grants and row-level security apply as for any query the caller
--   could type.  Model rows are read through _promo_params and written
--   through _promo_store, which own the ownership and grant checks.
-- * Fixed search_path.  Every SQL and PL/pgSQL function runs with
--   SET search_path = pg_catalog, pg_temp, so no object that a role plants
--   in a schema of the caller's search_path (a public.format(text, name),
--   a public.= on text) is ever resolved; function and operator lookup
--   never consults pg_temp.  Function calls are also written schema-
--   qualified (pg_catalog.format, @extschema@.sigmoid).  The operators of
--   PL/pgSQL control flow rely on the fixed path; every operator of the SQL
--   text these functions generate is qualified, OPERATOR(pg_catalog.=).
--   No SQL-standard body (BEGIN ATOMIC / RETURN): those bind their names
--   when the script runs, under whatever path the installation had.
-- * Privileges.  The internal functions below (names starting with "_")
--   stay executable by PUBLIC: the invoker-rights functions that ordinary
--   roles call need them, and they too run as the caller, reading only what
--   the caller may read (the C ones read no table at all).
-- * Generated SQL.  The only identifiers pasted into SQL text are column
--   names, quoted with format('%I'), and relations, written as
--   "schema"."name" from the catalog (_promo_rel).  Every value (labels,
--   centres, scales, levels, coefficients, budgets) is passed as a
--   parameter with EXECUTE ... USING; none is ever SQL text.
-- * Stored models are untrusted input.  A model's params (jsonb) may have
--   been written by another role, or edited by hand, and are used by the
--   role that scores with it, possibly a superuser.  _promo_model checks
--   them against a fixed schema before use (feature kinds from a fixed
--   list, column names at most 63 bytes, every number finite, arrays of
--   the right lengths) and refuses anything else with XX001
--   data_corrupted naming the model.  Even a row that passed would only
--   yield quoted identifiers and parameters.
--
-- The numeric work is done in C (src/core/rp_logreg.c, rp_kmeans.c,
-- rp_uplift.c, rp_assign.c) through the internal functions whose names
-- start with an underscore: they take whole columns as arrays.  Money
-- (rfm's monetary value, category_affinity's spend) is summed in numeric,
-- so cents add up exactly and a net spend of zero is zero.  Definitions,
-- conventions and errors are in the README section "Customer profiles and
-- promotions".
-- ---------------------------------------------------------------------------

-- Internal C entry points --------------------------------------------------

CREATE FUNCTION @extschema@._promo_fit(kind pg_catalog.text, x pg_catalog.float8[], y pg_catalog.float8[], w pg_catalog.float8[],
    lambda pg_catalog.float8, free_col integer, max_iter integer, tol pg_catalog.float8,
    OUT coef pg_catalog.float8[], OUT iterations integer, OUT converged boolean, OUT loss pg_catalog.float8)
AS 'MODULE_PATHNAME', 'recpromo__promo_fit'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._promo_fit(pg_catalog.text, pg_catalog.float8[], pg_catalog.float8[], pg_catalog.float8[], pg_catalog.float8, integer, integer, pg_catalog.float8) IS
'internal: fits a logistic (Newton/IRLS) or ridge model on a design matrix given as a 2-D array';


-- Small helpers -------------------------------------------------------------

-- Logistic function, computed without overflow (C: rp_sigmoid).
CREATE FUNCTION @extschema@.sigmoid(t pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo_sigmoid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sigmoid(pg_catalog.float8) IS
'logistic function 1 / (1 + exp(-t)), computed without overflow';

-- A relation as SQL text: "schema"."name", both quoted, whatever the
-- caller's search_path.  Only this text ever names a relation in generated
-- SQL.
CREATE FUNCTION @extschema@._promo_rel(source pg_catalog.regclass) RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    q text;
BEGIN
    IF source IS NULL THEN
        RAISE EXCEPTION 'source table must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) INTO q
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = source;
    IF q IS NULL THEN
        RAISE EXCEPTION 'relation with OID % does not exist', source::oid
            USING ERRCODE = 'undefined_table';
    END IF;
    RETURN q;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_rel(pg_catalog.regclass) IS
'internal: schema-qualified, quoted name of a relation for generated SQL';

-- Type of a column of a table, or an undefined_column error naming its role.
CREATE FUNCTION @extschema@._promo_coltype(source pg_catalog.regclass, col pg_catalog.name, role pg_catalog.text)
RETURNS pg_catalog.regtype
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regtype;
BEGIN
    IF source IS NULL THEN
        RAISE EXCEPTION 'source table must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF col IS NULL THEN
        RAISE EXCEPTION '% must not be null', role
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name a column of ' || source::text || '.';
    END IF;
    SELECT a.atttypid::regtype INTO t
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF t IS NULL THEN
        RAISE EXCEPTION 'column "%" of % does not exist', col, source::text
            USING ERRCODE = 'undefined_column',
                  HINT = pg_catalog.format('The %s must name a column of the source table.', role);
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_coltype(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: type of a column, or an undefined_column error';

-- SQL expression reading a numeric or boolean column as float8.
CREATE FUNCTION @extschema@._promo_num(source pg_catalog.regclass, col pg_catalog.name, role pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regtype := @extschema@._promo_coltype(source, col, role);
BEGIN
    IF t = 'boolean'::regtype THEN
        RETURN pg_catalog.format('((%I)::pg_catalog.int4::pg_catalog.float8)', col);
    ELSIF t IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'real'::regtype,
                'double precision'::regtype, 'numeric'::regtype) THEN
        RETURN pg_catalog.format('((%I)::pg_catalog.float8)', col);
    END IF;
    RAISE EXCEPTION 'column "%" of % has type %, expected a number or boolean', col, source::text, t
        USING ERRCODE = 'datatype_mismatch',
              HINT = pg_catalog.format('The %s must be a number or boolean column.', role);
END
$$;
COMMENT ON FUNCTION @extschema@._promo_num(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: float8 expression of a numeric or boolean column, or a datatype_mismatch error';

-- SQL expression reading an amount of money as numeric.  A float8 amount
-- becomes the numeric of its 15 significant digits (the float8 -> numeric
-- cast), so 7.6499999999999995 (3 x 2.55 in float8) counts as 7.65 and
-- sums of cents are exact.
CREATE FUNCTION @extschema@._promo_money(source pg_catalog.regclass, col pg_catalog.name, role pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regtype := @extschema@._promo_coltype(source, col, role);
BEGIN
    IF t IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'real'::regtype,
             'double precision'::regtype, 'numeric'::regtype) THEN
        RETURN pg_catalog.format('((%I)::pg_catalog.numeric)', col);
    END IF;
    RAISE EXCEPTION 'column "%" of % has type %, expected a number', col, source::text, t
        USING ERRCODE = 'datatype_mismatch',
              HINT = pg_catalog.format('The %s must be a number column (numeric, integer or float).', role);
END
$$;
COMMENT ON FUNCTION @extschema@._promo_money(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: numeric expression of an amount column, or a datatype_mismatch error';

-- Feature specification: numeric columns (centred and scaled when
-- standardize) and one-hot levels of categorical columns (the first level in
-- sort order is the reference and gets no column).  Missing, non-finite and
-- constant features raise errors.  The result is a jsonb array of
--   {"column": c, "kind": "numeric", "bool": b, "center": x, "scale": s}
--   {"column": c, "kind": "level", "level": l}
-- which _promo_spec_problem checks when it comes back from storage.
CREATE FUNCTION @extschema@._promo_feature_spec(source pg_catalog.regclass, features pg_catalog.name[],
    categorical pg_catalog.name[], standardize boolean)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel text := @extschema@._promo_rel(source);
    spec jsonb := '[]';
    exprs text[] := '{}';
    stats float8[];
    q text := '';
    col name;
    i int := 0;
    nnull bigint;
    levels text[];
BEGIN
    IF coalesce(pg_catalog.cardinality(features), 0) + coalesce(pg_catalog.cardinality(categorical), 0) = 0 THEN
        RAISE EXCEPTION 'no features given'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass numeric columns in features and text columns in categorical.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.unnest(coalesce(features, '{}') || coalesce(categorical, '{}')) c
               GROUP BY c HAVING pg_catalog.count(*) > 1) THEN
        RAISE EXCEPTION 'a feature is listed twice'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH col IN ARRAY coalesce(features, '{}') LOOP
        exprs := exprs || @extschema@._promo_num(source, col, 'feature');
        q := q || pg_catalog.format(
            ', pg_catalog.count(*) FILTER (WHERE %1$s IS NULL), pg_catalog.avg(%1$s),'
            ' pg_catalog.stddev_pop(%1$s), pg_catalog.min(%1$s), pg_catalog.max(%1$s)',
            exprs[pg_catalog.cardinality(exprs)]);
    END LOOP;
    IF q <> '' THEN
        EXECUTE pg_catalog.format('SELECT ARRAY[pg_catalog.count(*)::pg_catalog.float8%s] FROM %s', q, rel)
           INTO stats;
        IF stats[1] = 0 THEN
            RAISE EXCEPTION 'source % has no rows', source::text
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOREACH col IN ARRAY features LOOP
            i := i + 1;
            IF stats[5 * i - 3] > 0 THEN
                RAISE EXCEPTION 'feature "%" has % missing values', col, stats[5 * i - 3]::bigint
                    USING ERRCODE = 'null_value_not_allowed',
                          HINT = 'Impute or filter the NULL values first (for instance with a view).';
            END IF;
            IF stats[5 * i - 1] IN ('NaN', 'Infinity', '-Infinity')
               OR stats[5 * i] IN ('NaN', 'Infinity', '-Infinity')
               OR stats[5 * i + 1] IN ('NaN', 'Infinity', '-Infinity') THEN
                RAISE EXCEPTION 'feature "%" has NaN or infinite values', col
                    USING ERRCODE = 'data_exception',
                          HINT = 'Filter out the non-finite values first.';
            END IF;
            IF stats[5 * i] = stats[5 * i + 1] THEN
                RAISE EXCEPTION 'feature "%" is constant', col
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = pg_catalog.format('Every row has the value %s.', stats[5 * i]),
                          HINT = 'Drop the column from the features: it carries no information.';
            END IF;
            spec := spec || pg_catalog.jsonb_build_object(
                'column', col, 'kind', 'numeric',
                'bool', (@extschema@._promo_coltype(source, col, 'feature') = 'boolean'::regtype),
                'center', CASE WHEN standardize THEN stats[5 * i - 2] ELSE 0 END,
                'scale', CASE WHEN standardize THEN stats[5 * i - 1] ELSE 1 END);
        END LOOP;
    END IF;
    FOREACH col IN ARRAY coalesce(categorical, '{}') LOOP
        PERFORM @extschema@._promo_coltype(source, col, 'categorical feature');
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.count(*) FILTER (WHERE %1$I IS NULL),'
            ' pg_catalog.array_agg(DISTINCT (%1$I)::pg_catalog.text) FILTER (WHERE %1$I IS NOT NULL) FROM %2$s',
            col, rel) INTO nnull, levels;
        IF nnull > 0 THEN
            RAISE EXCEPTION 'feature "%" has % missing values', col, nnull
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = 'Map NULL to a level of its own (coalesce) or filter the rows.';
        END IF;
        IF coalesce(pg_catalog.cardinality(levels), 0) < 2 THEN
            RAISE EXCEPTION 'feature "%" is constant', col
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A categorical feature needs at least two levels.';
        END IF;
        IF pg_catalog.cardinality(levels) > 1000 THEN
            RAISE EXCEPTION 'feature "%" has % levels, the limit is 1000', col, pg_catalog.cardinality(levels)
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Group rare levels together first.';
        END IF;
        FOR i IN 2 .. pg_catalog.cardinality(levels) LOOP
            spec := spec || pg_catalog.jsonb_build_object('column', col, 'kind', 'level', 'level', levels[i]);
        END LOOP;
    END LOOP;
    RETURN spec;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_feature_spec(pg_catalog.regclass, pg_catalog.name[], pg_catalog.name[], boolean) IS
'internal: feature encoding (centre/scale of numeric columns, one-hot levels) with input checks';

-- Stored models as untrusted input ----------------------------------------------

-- What is wrong with a feature specification, or NULL when it is well formed.
CREATE FUNCTION @extschema@._promo_spec_problem(spec pg_catalog.jsonb) RETURNS pg_catalog.text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f jsonb;
    i int := 0;
    c numeric;
    s numeric;
BEGIN
    IF pg_catalog.jsonb_typeof(spec) IS DISTINCT FROM 'array' THEN
        RETURN 'features is not an array';
    END IF;
    IF pg_catalog.jsonb_array_length(spec) = 0 OR pg_catalog.jsonb_array_length(spec) > 100000 THEN
        RETURN pg_catalog.format('features has %s entries', pg_catalog.jsonb_array_length(spec));
    END IF;
    FOR f IN SELECT x.v FROM pg_catalog.jsonb_array_elements(spec) AS x(v) LOOP
        i := i + 1;
        IF pg_catalog.jsonb_typeof(f) IS DISTINCT FROM 'object' THEN
            RETURN pg_catalog.format('feature %s is not an object', i);
        END IF;
        IF pg_catalog.jsonb_typeof(f->'column') IS DISTINCT FROM 'string'
           OR pg_catalog.octet_length(f->>'column') NOT BETWEEN 1 AND 63 THEN
            RETURN pg_catalog.format('feature %s has no valid column name', i);
        END IF;
        IF f->>'kind' = 'numeric' AND pg_catalog.jsonb_typeof(f->'kind') = 'string' THEN
            IF pg_catalog.jsonb_typeof(f->'bool') IS DISTINCT FROM 'boolean' THEN
                RETURN pg_catalog.format('feature %s has no boolean "bool"', i);
            END IF;
            IF pg_catalog.jsonb_typeof(f->'center') IS DISTINCT FROM 'number'
               OR pg_catalog.jsonb_typeof(f->'scale') IS DISTINCT FROM 'number' THEN
                RETURN pg_catalog.format('feature %s has an invalid centre or scale', i);
            END IF;
            c := (f->'center')::pg_catalog.numeric;
            s := (f->'scale')::pg_catalog.numeric;
            IF s = 0 THEN
                RETURN pg_catalog.format('feature %s has a zero scale', i);
            END IF;
            -- finite float8 bounds (as in _promo_coef_problem), inline: this runs on every call
            IF pg_catalog.abs(c) > 1e300 OR (c <> 0 AND pg_catalog.abs(c) < 1e-300)
               OR pg_catalog.abs(s) > 1e300 OR pg_catalog.abs(s) < 1e-300 THEN
                RETURN pg_catalog.format('feature %s has an invalid centre or scale', i);
            END IF;
        ELSIF f->>'kind' = 'level' AND pg_catalog.jsonb_typeof(f->'kind') = 'string' THEN
            IF pg_catalog.jsonb_typeof(f->'level') IS DISTINCT FROM 'string' THEN
                RETURN pg_catalog.format('feature %s has no text level', i);
            END IF;
        ELSE
            RETURN pg_catalog.format('feature %s has an unknown kind', i);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_spec_problem(pg_catalog.jsonb) IS
'internal: describes what is wrong with a stored feature specification, NULL when nothing is';

-- What is wrong with a coefficient vector of n entries, or NULL.
CREATE FUNCTION @extschema@._promo_coef_problem(coef pg_catalog.jsonb, n integer, what pg_catalog.text) RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN pg_catalog.jsonb_typeof(coef) IS DISTINCT FROM 'array'
            THEN pg_catalog.format('%s is not an array', what)
        WHEN pg_catalog.jsonb_array_length(coef) <> n
            THEN pg_catalog.format('%s has the wrong length (%s, the features need %s)',
                                   what, pg_catalog.jsonb_array_length(coef), n)
        WHEN EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(coef) c
                      WHERE CASE WHEN pg_catalog.jsonb_typeof(c) IS DISTINCT FROM 'number' THEN true
                                 ELSE pg_catalog.abs(c::pg_catalog.numeric) > 1e300
                                      OR (c::pg_catalog.numeric <> 0 AND pg_catalog.abs(c::pg_catalog.numeric) < 1e-300) END)
            THEN pg_catalog.format('%s has an entry that is not a finite number', what)
        END
$$;
COMMENT ON FUNCTION @extschema@._promo_coef_problem(pg_catalog.jsonb, integer, pg_catalog.text) IS
'internal: describes what is wrong with a stored coefficient vector, NULL when nothing is';

-- What is wrong with the parameters of a stored logistic or uplift model,
-- or NULL when they are well formed.
CREATE FUNCTION @extschema@._promo_params_problem(p pg_catalog.jsonb, method pg_catalog.text) RETURNS pg_catalog.text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad text;
    n int;
    a jsonb;
    i int := 0;
BEGIN
    IF pg_catalog.jsonb_typeof(p) IS DISTINCT FROM 'object' THEN
        RETURN 'params is not an object';
    END IF;
    bad := @extschema@._promo_spec_problem(p->'features');
    IF bad IS NOT NULL THEN
        RETURN bad;
    END IF;
    n := pg_catalog.jsonb_array_length(p->'features') + 1;
    IF method = 'logistic' THEN
        RETURN @extschema@._promo_coef_problem(p->'coef', n, 'coef');
    END IF;
    IF method <> 'uplift' THEN
        RETURN pg_catalog.format('method %s has no stored parameters', method);
    END IF;
    IF pg_catalog.jsonb_typeof(p->'method') IS DISTINCT FROM 'string'
       OR p->>'method' NOT IN ('two_model', 'class_transformation') THEN
        RETURN 'method is not two_model or class_transformation';
    END IF;
    IF pg_catalog.jsonb_typeof(p->'outcome') IS DISTINCT FROM 'string'
       OR p->>'outcome' NOT IN ('binary', 'continuous') THEN
        RETURN 'outcome is not binary or continuous';
    END IF;
    IF p->>'method' = 'two_model' THEN
        bad := @extschema@._promo_coef_problem(p->'control_coef', n, 'control_coef');
        IF bad IS NOT NULL THEN
            RETURN bad;
        END IF;
    END IF;
    IF pg_catalog.jsonb_typeof(p->'arms') IS DISTINCT FROM 'array'
       OR pg_catalog.jsonb_array_length(p->'arms') NOT BETWEEN 1 AND 10000 THEN
        RETURN 'arms is not an array of 1 to 10000 treatments';
    END IF;
    FOR a IN SELECT x.v FROM pg_catalog.jsonb_array_elements(p->'arms') AS x(v) LOOP
        i := i + 1;
        IF pg_catalog.jsonb_typeof(a->'treatment') IS DISTINCT FROM 'string' THEN
            RETURN pg_catalog.format('arm %s has no text treatment', i);
        END IF;
        bad := @extschema@._promo_coef_problem(a->'coef', n, pg_catalog.format('the coef of arm %s', i));
        IF bad IS NOT NULL THEN
            RETURN bad;
        END IF;
    END LOOP;
    IF (SELECT pg_catalog.count(DISTINCT e->>'treatment') FROM pg_catalog.jsonb_array_elements(p->'arms') e) < i THEN
        RETURN 'two arms have the same treatment';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_params_problem(pg_catalog.jsonb, pg_catalog.text) IS
'internal: describes what is wrong with stored model parameters, NULL when nothing is';

-- Parameters of a stored model of the given method, checked: the only way
-- the functions below read a model.
CREATE FUNCTION @extschema@._promo_model(model pg_catalog.text, want pg_catalog.text) RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p jsonb := @extschema@._promo_params(model, want);
    bad text := @extschema@._promo_params_problem(p, want);
BEGIN
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'model "%" is corrupted', model
            USING ERRCODE = 'data_corrupted',
                  DETAIL = pg_catalog.format('Its stored parameters are invalid: %s.', bad),
                  HINT = 'Retrain the model (train_propensity or train_uplift); stored parameters are not meant to be edited.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_model(pg_catalog.text, pg_catalog.text) IS
'internal: parameters of a stored model of a method, validated, or a data_corrupted error';

-- The centres, scales and levels of a (checked) specification as arrays, one
-- entry per feature (NULL where the kind has none): the parameters that go
-- with the expressions of _promo_design.
CREATE FUNCTION @extschema@._promo_spec_values(spec pg_catalog.jsonb,
    OUT center pg_catalog.float8[], OUT scale pg_catalog.float8[], OUT levels pg_catalog.text[])
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.array_agg(CASE WHEN f->>'kind' = 'numeric' THEN (f->'center')::pg_catalog.float8 END ORDER BY i),
           pg_catalog.array_agg(CASE WHEN f->>'kind' = 'numeric' THEN (f->'scale')::pg_catalog.float8 END ORDER BY i),
           pg_catalog.array_agg(CASE WHEN f->>'kind' = 'level' THEN f->>'level' END ORDER BY i)
      FROM pg_catalog.jsonb_array_elements(spec) WITH ORDINALITY e(f, i)
$$;
COMMENT ON FUNCTION @extschema@._promo_spec_values(pg_catalog.jsonb) IS
'internal: centres, scales and levels of a feature specification as parameter arrays';

-- A (checked) coefficient vector as float8[].
CREATE FUNCTION @extschema@._promo_coef(coef pg_catalog.jsonb) RETURNS pg_catalog.float8[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.array_agg(c::pg_catalog.float8 ORDER BY i)
      FROM pg_catalog.jsonb_array_elements(coef) WITH ORDINALITY e(c, i)
$$;
COMMENT ON FUNCTION @extschema@._promo_coef(pg_catalog.jsonb) IS
'internal: a stored coefficient vector as float8[]';

-- The SQL expression of each encoded feature, reading the centre, scale and
-- level of feature j from the parameters $p[j], $(p+1)[j], $(p+2)[j] (the
-- arrays of _promo_spec_values).  Column names are the only text taken from
-- the specification, always quoted as identifiers.
CREATE FUNCTION @extschema@._promo_design(spec pg_catalog.jsonb, p integer) RETURNS pg_catalog.text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f jsonb;
    j bigint;
    out text[] := '{}';
BEGIN
    FOR f, j IN SELECT e.f, e.j FROM pg_catalog.jsonb_array_elements(spec) WITH ORDINALITY e(f, j) ORDER BY e.j LOOP
        IF f->>'kind' = 'level' THEN
            out := out || pg_catalog.format(
                '(((%1$I)::pg_catalog.text OPERATOR(pg_catalog.=) $%2$s[%3$s])::pg_catalog.int4::pg_catalog.float8)',
                f->>'column', p + 2, j);
        ELSIF f->>'kind' = 'numeric' THEN
            out := out || pg_catalog.format(
                '(((%1$I)%2$s::pg_catalog.float8 OPERATOR(pg_catalog.-) $%3$s[%5$s]) OPERATOR(pg_catalog./) $%4$s[%5$s])',
                f->>'column', CASE WHEN (f->'bool')::pg_catalog.bool THEN '::pg_catalog.int4' ELSE '' END,
                p, p + 1, j);
        ELSE
            RAISE EXCEPTION 'invalid feature kind in a model specification'
                USING ERRCODE = 'data_corrupted';
        END IF;
    END LOOP;
    RETURN out;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_design(pg_catalog.jsonb, integer) IS
'internal: SQL expressions of the encoded features, values taken from parameters';

-- coef[1] + sum coef[j+1] * feature_j, as SQL text, the coefficients read
-- from the parameter array coef_ref (an internal constant such as '$1' or
-- '$1[2]', never text from a model).
CREATE FUNCTION @extschema@._promo_linear_sql(exprs pg_catalog.text[], coef_ref pg_catalog.text) RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '(' || coef_ref || '[1]'
           || coalesce(pg_catalog.string_agg(pg_catalog.format(' OPERATOR(pg_catalog.+) (%s[%s] OPERATOR(pg_catalog.*) %s)',
                                                               coef_ref, j + 1, x), '' ORDER BY j), '')
           || ')'
      FROM pg_catalog.unnest(exprs) WITH ORDINALITY u(x, j)
$$;
COMMENT ON FUNCTION @extschema@._promo_linear_sql(pg_catalog.text[], pg_catalog.text) IS
'internal: SQL expression of a linear predictor whose coefficients are a parameter array';

-- The same linear predictor evaluated on one row given as jsonb; NULL when a
-- feature is missing from it or NULL.
CREATE FUNCTION @extschema@._promo_linear_jsonb(spec pg_catalog.jsonb, coef pg_catalog.jsonb, x pg_catalog.jsonb) RETURNS pg_catalog.float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN pg_catalog.bool_or(t IS NULL) THEN NULL
                ELSE (coef->>0)::pg_catalog.float8 + coalesce(pg_catalog.sum((coef->>(i::pg_catalog.int4))::pg_catalog.float8 * t), 0) END
      FROM (SELECT e.i,
                   CASE WHEN e.f->>'kind' = 'level'
                        THEN ((x->>(e.f->>'column')) = (e.f->>'level'))::pg_catalog.int4::pg_catalog.float8
                        WHEN (e.f->>'bool')::pg_catalog.bool
                        THEN (((x->>(e.f->>'column'))::pg_catalog.bool::pg_catalog.int4::pg_catalog.float8)
                              - (e.f->>'center')::pg_catalog.float8) / (e.f->>'scale')::pg_catalog.float8
                        ELSE (((x->>(e.f->>'column'))::pg_catalog.float8) - (e.f->>'center')::pg_catalog.float8)
                             / (e.f->>'scale')::pg_catalog.float8 END AS t
              FROM pg_catalog.jsonb_array_elements(spec) WITH ORDINALITY e(f, i)) s
$$;
COMMENT ON FUNCTION @extschema@._promo_linear_jsonb(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
'internal: linear predictor of a stored model on one row given as jsonb';

-- Checks that a table has every column a model's features read; an
-- undefined_column error naming them, the table and the model otherwise.
CREATE FUNCTION @extschema@._promo_check_columns(model pg_catalog.text, spec pg_catalog.jsonb, source pg_catalog.regclass) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing text[];
    wanted text;
BEGIN
    SELECT pg_catalog.array_agg(DISTINCT c), pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(c), ', ')
      INTO missing, wanted
      FROM (SELECT f->>'column' AS c FROM pg_catalog.jsonb_array_elements(spec) f) s
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = source AND a.attname = s.c::name
                          AND a.attnum > 0 AND NOT a.attisdropped);
    IF missing IS NOT NULL THEN
        SELECT pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(f->>'column'), ', ') INTO wanted
          FROM pg_catalog.jsonb_array_elements(spec) f;
        RAISE EXCEPTION 'model "%" needs column% % that % does not have', model,
                        CASE WHEN pg_catalog.cardinality(missing) > 1 THEN 's' ELSE '' END,
                        (SELECT pg_catalog.string_agg(pg_catalog.format('"%s"', m), ', ' ORDER BY m)
                           FROM pg_catalog.unnest(missing) m), source::text
            USING ERRCODE = 'undefined_column',
                  DETAIL = pg_catalog.format('The model reads the feature columns %s.', wanted),
                  HINT = 'Score a table or view that has these columns under the same names (a view can rename them).';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_check_columns(pg_catalog.text, pg_catalog.jsonb, pg_catalog.regclass) IS
'internal: undefined_column error naming the feature columns of a model that a table lacks';

-- _promo_params(model, want) and _promo_store(...) are C functions defined in
-- 30_train.sql (they check the model's owner and grants).

CREATE FUNCTION @extschema@._promo_check_name(name pg_catalog.text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._promo_check_name(pg_catalog.text) IS 'internal: rejects an empty model name';

-- Profiles --------------------------------------------------------------------

-- Monetary values are numeric: amounts are summed exactly (see _promo_money).
CREATE FUNCTION @extschema@.rfm(orders pg_catalog.regclass, customer_col pg_catalog.name, date_col pg_catalog.name, amount_col pg_catalog.name,
    as_of pg_catalog.timestamptz DEFAULT pg_catalog.now(), order_col pg_catalog.name DEFAULT NULL, returns_mode pg_catalog.text DEFAULT 'net')
RETURNS TABLE (customer pg_catalog.text, recency_days integer, frequency bigint, monetary numeric,
               r_score integer, f_score integer, m_score integer, rfm_cell pg_catalog.text, segment pg_catalog.text)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10000
AS 'MODULE_PATHNAME', 'recpromo_rfm';
COMMENT ON FUNCTION @extschema@.rfm(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.timestamptz, pg_catalog.name, pg_catalog.text) IS
'recency (days since the last purchase), frequency (purchase orders), monetary value (numeric, summed exactly), quintile scores 1-5 and named segments per customer';

CREATE FUNCTION @extschema@.category_affinity(orders pg_catalog.regclass, customer_col pg_catalog.name, category_col pg_catalog.name,
    amount_col pg_catalog.name DEFAULT NULL)
RETURNS TABLE (customer pg_catalog.text, category pg_catalog.text, amount numeric, share pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 50000
AS 'MODULE_PATHNAME', 'recpromo_category_affinity';
COMMENT ON FUNCTION @extschema@.category_affinity(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name) IS
'each customer''s share of net spend (amount_col given, summed in numeric) or of purchase rows (amount_col NULL) per category';

CREATE FUNCTION @extschema@.kmeans(source pg_catalog.regclass, key_col pg_catalog.name, columns pg_catalog.name[], k integer,
    seed bigint DEFAULT 42, standardize boolean DEFAULT true, max_iter integer DEFAULT 100)
RETURNS TABLE (key pg_catalog.text, cluster integer)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10000 SUPPORT @extschema@._rows_per_source_row
AS 'MODULE_PATHNAME', 'recpromo_kmeans';
COMMENT ON FUNCTION @extschema@.kmeans(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], integer, bigint, boolean, integer) IS
'k-means segmentation (k-means++ start, seeded) of the rows of a table over numeric columns: each key''s cluster 1..k';

CREATE FUNCTION @extschema@.kmeans_clusters(source pg_catalog.regclass, key_col pg_catalog.name, columns pg_catalog.name[], k integer,
    seed bigint DEFAULT 42, standardize boolean DEFAULT true, max_iter integer DEFAULT 100)
RETURNS TABLE (cluster integer, size bigint, centre pg_catalog.float8[], inertia pg_catalog.float8, iterations integer)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_kmeans_clusters';
COMMENT ON FUNCTION @extschema@.kmeans_clusters(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], integer, bigint, boolean, integer) IS
'the clusters of kmeans() with the same arguments: sizes, centres in the columns'' own units, inertia (in standardised units when standardize)';

-- Propensity ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.train_propensity(name pg_catalog.text, source pg_catalog.regclass, target_col pg_catalog.name,
    features pg_catalog.name[] DEFAULT '{}', categorical pg_catalog.name[] DEFAULT '{}', lambda pg_catalog.float8 DEFAULT 1.0,
    standardize boolean DEFAULT true, max_iter integer DEFAULT 100, tol pg_catalog.float8 DEFAULT 1e-10)
RETURNS TABLE (feature pg_catalog.text, coefficient pg_catalog.float8)
LANGUAGE C VOLATILE
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_train_propensity';
COMMENT ON FUNCTION @extschema@.train_propensity(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], pg_catalog.name[], pg_catalog.float8, boolean, integer, pg_catalog.float8) IS
'trains an L2-penalised logistic regression (Newton/IRLS) of a 0/1 target on numeric and one-hot categorical features, stores it as a model, returns its coefficients';

-- Row estimates of the scoring functions.  score_propensity returns one row
-- per source row: the planner support _rows_per_source_row (40_serve.sql)
-- estimates it at the size of the source table when that is a constant,
-- ROWS 100000 (a shop's customer table) otherwise.  score_uplift returns
-- one row per source row and arm, which the support function cannot know:
-- ROWS 100000.  At the default estimate (1000, about 5 after a filter) a
-- join of four score_uplift calls was planned as nested loops.
CREATE FUNCTION @extschema@.score_propensity(model pg_catalog.text, source pg_catalog.regclass, key_col pg_catalog.name)
RETURNS TABLE (key pg_catalog.text, score pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 100000 SUPPORT @extschema@._rows_per_source_row
AS 'MODULE_PATHNAME', 'recpromo_score_propensity';
COMMENT ON FUNCTION @extschema@.score_propensity(pg_catalog.text, pg_catalog.regclass, pg_catalog.name) IS
'propensity (predicted probability) of every row of a table under a stored logistic model; NULL when a feature is NULL';

CREATE FUNCTION @extschema@.predict_propensity(model pg_catalog.text, features pg_catalog.jsonb) RETURNS pg_catalog.float8
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'recpromo_predict_propensity';
COMMENT ON FUNCTION @extschema@.predict_propensity(pg_catalog.text, pg_catalog.jsonb) IS
'propensity of one row given as jsonb (e.g. to_jsonb(t)) under a stored logistic model; NULL when a feature is missing';

CREATE FUNCTION @extschema@.evaluate_propensity(model pg_catalog.text, source pg_catalog.regclass, target_col pg_catalog.name)
RETURNS TABLE (metric pg_catalog.text, value pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 5
AS 'MODULE_PATHNAME', 'recpromo_evaluate_propensity';
COMMENT ON FUNCTION @extschema@.evaluate_propensity(pg_catalog.text, pg_catalog.regclass, pg_catalog.name) IS
'AUC (Mann-Whitney, ties counted half), log-loss, Brier score of a stored logistic model on a table with the true 0/1 target';

CREATE FUNCTION @extschema@.propensity_calibration(model pg_catalog.text, source pg_catalog.regclass, target_col pg_catalog.name,
    bins integer DEFAULT 10)
RETURNS TABLE (bin integer, rows bigint, mean_predicted pg_catalog.float8, observed_rate pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_propensity_calibration';
COMMENT ON FUNCTION @extschema@.propensity_calibration(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, integer) IS
'calibration table: rows cut into equal-count bins by predicted propensity (1 = lowest), mean prediction and observed rate per bin';

-- Uplift --------------------------------------------------------------------------

-- Arms of a campaign table: checks the control group and returns the
-- treatment labels (sorted) with their counts.
CREATE FUNCTION @extschema@._uplift_arms(source pg_catalog.regclass, treatment_col pg_catalog.name, control pg_catalog.text,
    OUT labels pg_catalog.text[], OUT counts bigint[], OUT n_control bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel text := @extschema@._promo_rel(source);
    nnull bigint;
BEGIN
    PERFORM @extschema@._promo_coltype(source, treatment_col, 'treatment column');
    IF control IS NULL THEN
        RAISE EXCEPTION 'control label must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*) FILTER (WHERE (%1$I) IS NULL),'
        ' pg_catalog.count(*) FILTER (WHERE (%1$I)::pg_catalog.text OPERATOR(pg_catalog.=) $1) FROM %2$s',
        treatment_col, rel) INTO nnull, n_control USING control;
    IF nnull > 0 THEN
        RAISE EXCEPTION 'treatment column "%" has % missing values', treatment_col, nnull
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Every row must name its arm.';
    END IF;
    IF n_control = 0 THEN
        RAISE EXCEPTION 'no control group'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('No row of %s has %I = %L.', source, treatment_col, control),
                  HINT = 'Uplift needs a randomised control group; pass its label as control.';
    END IF;
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(t ORDER BY t), pg_catalog.array_agg(c ORDER BY t)'
        '  FROM (SELECT (%1$I)::pg_catalog.text AS t, pg_catalog.count(*) AS c FROM %2$s'
        '         WHERE (%1$I)::pg_catalog.text OPERATOR(pg_catalog.<>) $1 GROUP BY 1) s',
        treatment_col, rel) INTO labels, counts USING control;
    IF labels IS NULL THEN
        RAISE EXCEPTION 'no treated rows'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Every row is in the control group.';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._uplift_arms(pg_catalog.regclass, pg_catalog.name, pg_catalog.text) IS
'internal: checks a campaign''s control group and lists its treatment arms';

CREATE FUNCTION @extschema@.train_uplift(name pg_catalog.text, source pg_catalog.regclass, treatment_col pg_catalog.name, outcome_col pg_catalog.name,
    features pg_catalog.name[] DEFAULT '{}', categorical pg_catalog.name[] DEFAULT '{}', method pg_catalog.text DEFAULT 'two_model',
    control pg_catalog.text DEFAULT 'control', lambda pg_catalog.float8 DEFAULT 1.0, standardize boolean DEFAULT true,
    max_iter integer DEFAULT 100, tol pg_catalog.float8 DEFAULT 1e-10)
RETURNS TABLE (treatment pg_catalog.text, customers bigint, control_customers bigint, ate pg_catalog.float8)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
ROWS 5
AS $$
DECLARE
    t0 timestamptz := pg_catalog.clock_timestamp();
    rel text := @extschema@._promo_rel(source);
    arms record;
    spec jsonb;
    v record;
    y_expr text;
    design text;
    binary_outcome boolean;
    nbad bigint;
    nnull bigint;
    x float8[];
    y float8[];
    w float8[];
    fit record;
    control_coef jsonb;
    arm_list jsonb := '[]';
    lbl text;
    nt bigint;
    q float8;
    loss float8 := 0;
BEGIN
    PERFORM @extschema@._promo_check_name(name);
    IF method IS NULL OR method NOT IN ('two_model', 'class_transformation') THEN
        RAISE EXCEPTION 'invalid uplift method "%"', method
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''two_model'' or ''class_transformation''.';
    END IF;
    IF lambda IS NULL OR lambda < 0 OR lambda IN ('NaN', 'Infinity') THEN
        RAISE EXCEPTION 'lambda must be a finite number >= 0' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    arms := @extschema@._uplift_arms(source, treatment_col, control);
    y_expr := @extschema@._promo_num(source, outcome_col, 'outcome column');
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*) FILTER (WHERE %1$s IS NULL),'
        ' pg_catalog.count(*) FILTER (WHERE %1$s OPERATOR(pg_catalog.<>) 0 AND %1$s OPERATOR(pg_catalog.<>) 1) FROM %2$s',
        y_expr, rel) INTO nnull, nbad;
    IF nnull > 0 THEN
        RAISE EXCEPTION 'outcome column "%" has % missing values', outcome_col, nnull
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Use 0 for customers who did not convert.';
    END IF;
    binary_outcome := nbad = 0;
    spec := @extschema@._promo_feature_spec(source, features, categorical, coalesce(standardize, true));
    v := @extschema@._promo_spec_values(spec);
    -- parameters $1-$3: centres, scales, levels; $4 on: per query
    design := 'ARRAY[1::pg_catalog.float8, ' || pg_catalog.array_to_string(@extschema@._promo_design(spec, 1), ', ') || ']';

    IF method = 'two_model' THEN
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.array_agg(%s), pg_catalog.array_agg(%s) FROM %s'
            ' WHERE (%I)::pg_catalog.text OPERATOR(pg_catalog.=) $4',
            design, y_expr, rel, treatment_col) INTO x, y USING v.center, v.scale, v.levels, control;
        IF binary_outcome AND (SELECT pg_catalog.count(DISTINCT u) FROM pg_catalog.unnest(y) u) < 2 THEN
            RAISE EXCEPTION 'outcome has only one class in arm "%"', control
                USING ERRCODE = 'data_exception', HINT = 'Each arm needs converted and non-converted customers.';
        END IF;
        fit := @extschema@._promo_fit(CASE WHEN binary_outcome THEN 'logistic' ELSE 'ridge' END,
                                      x, y, NULL, lambda, 0, max_iter, tol);
        control_coef := pg_catalog.to_jsonb(fit.coef);
        loss := loss + fit.loss;
    END IF;
    FOR i IN 1 .. pg_catalog.cardinality(arms.labels) LOOP
        lbl := arms.labels[i];
        nt := arms.counts[i];
        IF method = 'two_model' THEN
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.array_agg(%s), pg_catalog.array_agg(%s) FROM %s'
                ' WHERE (%I)::pg_catalog.text OPERATOR(pg_catalog.=) $4',
                design, y_expr, rel, treatment_col) INTO x, y USING v.center, v.scale, v.levels, lbl;
            w := NULL;
        ELSIF binary_outcome THEN
            -- Jaskowski & Jaroszewicz: z = 1 for treated converters and control
            -- non-converters; arms weighted to equal total weight.
            EXECUTE pg_catalog.format($q$
                SELECT pg_catalog.array_agg(%1$s),
                       pg_catalog.array_agg(CASE WHEN (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) $4 THEN %3$s
                                                 ELSE 1 OPERATOR(pg_catalog.-) %3$s END),
                       pg_catalog.array_agg(CASE WHEN (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) $4 THEN $6 ELSE $7 END)
                  FROM %4$s WHERE (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[$4, $5])
            $q$, design, treatment_col, y_expr, rel) INTO x, y, w
                USING v.center, v.scale, v.levels, lbl, control,
                      ((nt + arms.n_control) / (2.0 * nt))::float8,
                      ((nt + arms.n_control) / (2.0 * arms.n_control))::float8;
        ELSE
            -- transformed outcome z = y (t / p - (1 - t) / (1 - p)), E[z | x] = uplift(x)
            q := nt::float8 / (nt + arms.n_control);
            EXECUTE pg_catalog.format($q$
                SELECT pg_catalog.array_agg(%1$s),
                       pg_catalog.array_agg(%3$s OPERATOR(pg_catalog.*)
                                            CASE WHEN (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) $4 THEN $6
                                                 ELSE $7 END)
                  FROM %4$s WHERE (%2$I)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[$4, $5])
            $q$, design, treatment_col, y_expr, rel) INTO x, y
                USING v.center, v.scale, v.levels, lbl, control, 1 / q, -1 / (1 - q);
            w := NULL;
        END IF;
        IF binary_outcome AND (SELECT pg_catalog.count(DISTINCT u) FROM pg_catalog.unnest(y) u) < 2 THEN
            RAISE EXCEPTION 'outcome has only one class in arm "%"', lbl
                USING ERRCODE = 'data_exception', HINT = 'Each arm needs converted and non-converted customers.';
        END IF;
        fit := @extschema@._promo_fit(CASE WHEN binary_outcome THEN 'logistic' ELSE 'ridge' END,
                                      x, y, w, lambda, 0, max_iter, tol);
        loss := loss + fit.loss;
        arm_list := arm_list || pg_catalog.jsonb_build_object('treatment', lbl, 'coef', pg_catalog.to_jsonb(fit.coef),
                                                              'customers', nt);
    END LOOP;

    PERFORM @extschema@._promo_store(name, 'uplift',
        pg_catalog.jsonb_build_object(
            'method', method, 'outcome', CASE WHEN binary_outcome THEN 'binary' ELSE 'continuous' END,
            'features', spec, 'control', control, 'control_coef', control_coef,
            'arms', arm_list, 'lambda', lambda, 'standardize', coalesce(standardize, true),
            'treatment_col', treatment_col, 'outcome_col', outcome_col),
        source, ((SELECT pg_catalog.sum(c) FROM pg_catalog.unnest(arms.counts) c) + arms.n_control)::bigint,
        pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - t0)::float8, loss);
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH s AS (SELECT (%1$I)::pg_catalog.text AS arm, %2$s AS y FROM %3$s),
             c AS (SELECT pg_catalog.avg(y) AS m FROM s WHERE arm OPERATOR(pg_catalog.=) $1)
        SELECT arm, pg_catalog.count(*), $2, pg_catalog.avg(y) OPERATOR(pg_catalog.-) (SELECT m FROM c)
          FROM s WHERE arm OPERATOR(pg_catalog.<>) $1 GROUP BY arm ORDER BY arm
    $q$, treatment_col, y_expr, rel)
    USING control, arms.n_control;
END
$$;
COMMENT ON FUNCTION @extschema@.train_uplift(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name[], pg_catalog.name[], pg_catalog.text, pg_catalog.text, pg_catalog.float8, boolean, integer, pg_catalog.float8) IS
'trains an uplift model (two_model T-learner or class_transformation) for every treatment arm against the control group and stores it';

-- SQL expression of the uplift of arm i of (checked) uplift parameters p.
-- The coefficients are rows of the parameter $1 (float8[][]): row i for arm
-- i, the last row for the control model of two_model; $2-$4 are the
-- feature parameters.
CREATE FUNCTION @extschema@._uplift_expr(p pg_catalog.jsonb, i integer, control_row integer) RETURNS pg_catalog.text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    exprs text[] := @extschema@._promo_design(p->'features', 2);
    l text := @extschema@._promo_linear_sql(exprs, pg_catalog.format('$1[%s]', i));
BEGIN
    IF p->>'method' = 'two_model' AND p->>'outcome' = 'binary' THEN
        RETURN pg_catalog.format('(@extschema@.sigmoid(%s) OPERATOR(pg_catalog.-) @extschema@.sigmoid(%s))', l,
                                 @extschema@._promo_linear_sql(exprs, pg_catalog.format('$1[%s]', control_row)));
    ELSIF p->>'method' = 'two_model' THEN
        RETURN pg_catalog.format('(%s OPERATOR(pg_catalog.-) %s)', l,
                                 @extschema@._promo_linear_sql(exprs, pg_catalog.format('$1[%s]', control_row)));
    ELSIF p->>'outcome' = 'binary' THEN
        RETURN pg_catalog.format('((2::pg_catalog.float8 OPERATOR(pg_catalog.*) @extschema@.sigmoid(%s)) OPERATOR(pg_catalog.-) 1::pg_catalog.float8)', l);
    END IF;
    RETURN l;
END
$$;
COMMENT ON FUNCTION @extschema@._uplift_expr(pg_catalog.jsonb, integer, integer) IS
'internal: SQL expression of the estimated uplift of one treatment arm, coefficients taken from parameters';

CREATE FUNCTION @extschema@.score_uplift(model pg_catalog.text, source pg_catalog.regclass, key_col pg_catalog.name)
RETURNS TABLE (key pg_catalog.text, treatment pg_catalog.text, uplift pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
ROWS 100000
AS $$
DECLARE
    p jsonb := @extschema@._promo_model(model, 'uplift');
    n int := pg_catalog.jsonb_array_length(p->'arms');
    v record;
    coefs float8[];
BEGIN
    PERFORM @extschema@._promo_coltype(source, key_col, 'key column');
    PERFORM @extschema@._promo_check_columns(model, p->'features', source);
    v := @extschema@._promo_spec_values(p->'features');
    -- one row of coefficients per arm, then the control model's
    SELECT pg_catalog.array_agg(@extschema@._promo_coef(a->'coef') ORDER BY i) INTO coefs
      FROM pg_catalog.jsonb_array_elements(p->'arms') WITH ORDINALITY e(a, i);
    IF p->>'method' = 'two_model' THEN
        coefs := coefs || @extschema@._promo_coef(p->'control_coef');
    END IF;
    -- unnest of two arrays, not a LATERAL VALUES list: a Values Scan would
    -- compile its expressions again for every row
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT (%I)::pg_catalog.text, v.t, v.u FROM %s'
        ' CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest($5), pg_catalog.unnest(ARRAY[%s]::pg_catalog.float8[])) v(t, u)',
        key_col, @extschema@._promo_rel(source),
        (SELECT pg_catalog.string_agg(@extschema@._uplift_expr(p, i, n + 1), ', ' ORDER BY i)
           FROM pg_catalog.generate_series(1, n) i))
    USING coefs, v.center, v.scale, v.levels,
          (SELECT pg_catalog.array_agg(a->>'treatment' ORDER BY i)
             FROM pg_catalog.jsonb_array_elements(p->'arms') WITH ORDINALITY e(a, i));
END
$$;
COMMENT ON FUNCTION @extschema@.score_uplift(pg_catalog.text, pg_catalog.regclass, pg_catalog.name) IS
'estimated uplift of every treatment for every row of a table under a stored uplift model';

CREATE FUNCTION @extschema@.predict_uplift(model pg_catalog.text, features pg_catalog.jsonb)
RETURNS TABLE (treatment pg_catalog.text, uplift pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
ROWS 5
AS $$
DECLARE
    p jsonb := @extschema@._promo_model(model, 'uplift');
    c float8 := @extschema@._promo_linear_jsonb(p->'features', p->'control_coef', features);
BEGIN
    RETURN QUERY
        SELECT a->>'treatment',
               CASE WHEN p->>'method' = 'two_model' AND p->>'outcome' = 'binary'
                    THEN @extschema@.sigmoid(l) - @extschema@.sigmoid(c)
                    WHEN p->>'method' = 'two_model' THEN l - c
                    WHEN p->>'outcome' = 'binary' THEN 2 * @extschema@.sigmoid(l) - 1
                    ELSE l END
          FROM pg_catalog.jsonb_array_elements(p->'arms') WITH ORDINALITY e(a, i),
               LATERAL (SELECT @extschema@._promo_linear_jsonb(p->'features', a->'coef', features) AS l) s
         ORDER BY i;
END
$$;
COMMENT ON FUNCTION @extschema@.predict_uplift(pg_catalog.text, pg_catalog.jsonb) IS
'estimated uplift of every treatment for one row given as jsonb under a stored uplift model';

CREATE FUNCTION @extschema@.uplift_evaluate(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control',
    k_percent pg_catalog.float8 DEFAULT 10, n_boot integer DEFAULT 200, seed bigint DEFAULT 42,
    confidence pg_catalog.float8 DEFAULT 0.95)
RETURNS TABLE (metric pg_catalog.text, value pg_catalog.float8, ci_low pg_catalog.float8, ci_high pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 4
AS 'MODULE_PATHNAME', 'recpromo_uplift_evaluate';
COMMENT ON FUNCTION @extschema@.uplift_evaluate(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.float8, integer, bigint, pg_catalog.float8) IS
'Qini coefficient, AUUC, uplift@k% and ATE of an uplift score on randomised data, with seeded percentile bootstrap intervals';

CREATE FUNCTION @extschema@.uplift_curve(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control',
    points integer DEFAULT 10)
RETURNS TABLE (fraction pg_catalog.float8, qini pg_catalog.float8, uplift pg_catalog.float8, random pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 11
AS 'MODULE_PATHNAME', 'recpromo_uplift_curve';
COMMENT ON FUNCTION @extschema@.uplift_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, integer) IS
'Qini curve q(phi), uplift curve u(phi) and the random-targeting line phi * ATE at equally spaced fractions targeted';

CREATE FUNCTION @extschema@.uplift_by_decile(source pg_catalog.regclass, score_col pg_catalog.name, treatment_col pg_catalog.name,
    outcome_col pg_catalog.name, treatment pg_catalog.text DEFAULT NULL, control pg_catalog.text DEFAULT 'control',
    bins integer DEFAULT 10)
RETURNS TABLE (decile integer, treated bigint, control_rows bigint, mean_treated pg_catalog.float8,
               mean_control pg_catalog.float8, uplift pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_uplift_by_decile';
COMMENT ON FUNCTION @extschema@.uplift_by_decile(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, integer) IS
'observed uplift (treated mean - control mean) per equal-count bin of the score, bin 1 = highest scores';

CREATE FUNCTION @extschema@.uplift_balance(source pg_catalog.regclass, treatment_col pg_catalog.name, features pg_catalog.name[],
    control pg_catalog.text DEFAULT 'control')
RETURNS TABLE (treatment pg_catalog.text, feature pg_catalog.text, mean_treated pg_catalog.float8, mean_control pg_catalog.float8,
               smd pg_catalog.float8, balanced boolean)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 20
AS 'MODULE_PATHNAME', 'recpromo_uplift_balance';
COMMENT ON FUNCTION @extschema@.uplift_balance(pg_catalog.regclass, pg_catalog.name, pg_catalog.name[], pg_catalog.text) IS
'randomisation check: standardised mean difference of each feature between each treatment arm and control (balanced when |smd| < 0.1)';

-- Assignment --------------------------------------------------------------------------

CREATE FUNCTION @extschema@.assign_offers(candidates pg_catalog.regclass, customer_col pg_catalog.name, offer_col pg_catalog.name,
    value_col pg_catalog.name, cost_col pg_catalog.name, budget pg_catalog.float8, offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (customer pg_catalog.text, offer pg_catalog.text, value pg_catalog.float8, cost pg_catalog.float8, profit pg_catalog.float8,
               total_customers bigint, total_spent pg_catalog.float8, total_profit pg_catalog.float8, upper_bound pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10000
AS 'MODULE_PATHNAME', 'recpromo_assign_offers';
COMMENT ON FUNCTION @extschema@.assign_offers(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.float8, pg_catalog.jsonb) IS
'at most one offer per customer maximising expected incremental profit (value - cost) under a total budget and per-offer limits (greedy on profit density with upgrades); totals and the Lagrangian upper bound repeated on each row';

CREATE FUNCTION @extschema@.assign_offers_curve(candidates pg_catalog.regclass, customer_col pg_catalog.name, offer_col pg_catalog.name,
    value_col pg_catalog.name, cost_col pg_catalog.name, budgets pg_catalog.float8[], offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (budget pg_catalog.float8, customers bigint, spent pg_catalog.float8, profit pg_catalog.float8, upper_bound pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10
AS 'MODULE_PATHNAME', 'recpromo_assign_offers_curve';
COMMENT ON FUNCTION @extschema@.assign_offers_curve(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.name, pg_catalog.float8[], pg_catalog.jsonb) IS
'profit-versus-budget curve of assign_offers: customers reached, spend, profit and the upper bound at each budget';

CREATE FUNCTION @extschema@.assign_offers_from_model(model pg_catalog.text, customers pg_catalog.regclass, key_col pg_catalog.name,
    offer_costs pg_catalog.jsonb, budget pg_catalog.float8, value_per_unit pg_catalog.float8 DEFAULT 1, offer_limits pg_catalog.jsonb DEFAULT NULL)
RETURNS TABLE (customer pg_catalog.text, offer pg_catalog.text, value pg_catalog.float8, cost pg_catalog.float8, profit pg_catalog.float8,
               total_customers bigint, total_spent pg_catalog.float8, total_profit pg_catalog.float8, upper_bound pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
ROWS 10000
AS 'MODULE_PATHNAME', 'recpromo_assign_offers_from_model';
COMMENT ON FUNCTION @extschema@.assign_offers_from_model(pg_catalog.text, pg_catalog.regclass, pg_catalog.name, pg_catalog.jsonb, pg_catalog.float8, pg_catalog.float8, pg_catalog.jsonb) IS
'assign_offers on candidates made by a stored uplift model: value = uplift * value_per_unit, cost from offer_costs per treatment';
