-- ---------------------------------------------------------------------------
-- A/B analysis: ab_test (per-arm lift, confidence interval and p-value
-- against a control arm; two-proportion z test or Welch's t; CUPED; Holm;
-- a sequential mixture SPRT) and ab_srm (sample-ratio mismatch).
--
-- Security posture: as 70_promo.sql.  Invoker rights (the caller's table is
-- read with the caller's privileges and row-level security), SET
-- search_path = pg_catalog, pg_temp on every function, every name of the
-- generated SQL qualified (pg_catalog.avg, OPERATOR(pg_catalog.=)), column
-- names through format('%I'), the relation quoted from the catalog, and
-- every value (the control arm, the list of non-finite floats) a parameter
-- of EXECUTE ... USING.  One pass over the table per call.
-- Issue 18 (no internal function callable by users): ab_test and ab_srm
-- are C front doors (src/pg/ab_front.c) that check the columns and quote
-- the relation in C, then call their PL/pgSQL bodies _body_ab_test and
-- _body_ab_srm through fmgr; PUBLIC may not execute the bodies, which run
-- as the invoker all the same.
-- The distribution functions they need (PostgreSQL 15 has no erf() and no
-- t distribution) are public functions of their own, below (src/pg/ab.c).
--
-- Formulas (arm t against control c; n, mean m, sample variance s^2 of the
-- rows with a non-NULL outcome; q the two-sided quantile at level 1-alpha):
--  binary (two-proportion z test): the test uses the pooled proportion
--    p = (x_t + x_c) / (n_t + n_c), z = (m_t - m_c) / sqrt(p (1-p) (1/n_t + 1/n_c)),
--    which is the exact null variance under H0: p_t = p_c; the interval
--    uses the unpooled SE sqrt(m_t (1-m_t)/n_t + m_c (1-m_c)/n_c), which is
--    right away from H0 (Wald interval).  p-value 2 (1 - Phi(|z|)).
--  amount (Welch): SE^2 = s_t^2/n_t + s_c^2/n_c, t = (m_t - m_c) / SE,
--    df = SE^4 / ((s_t^2/n_t)^2/(n_t-1) + (s_c^2/n_c)^2/(n_c-1))
--    (Welch-Satterthwaite), interval (m_t - m_c) +- t_{1-alpha/2, df} SE.
--  relative lift r = m_t/m_c - 1, delta method:
--    SE_r^2 = v_t/m_c^2 + m_t^2 v_c/m_c^4 with v = SE^2 part of each arm,
--    interval r +- q SE_r with the same q as the absolute interval.
--  CUPED (Deng, Xu, Kohavi and Walker, WSDM 2013): theta = cov(Y, X) /
--    var(X) over the rows of all arms together, Y' = Y - theta (X - mean X),
--    then the same tests on Y' (a binary outcome becomes a z test with the
--    unpooled variances of Y').  variance_reduction = 1 - var(Y')/var(Y)
--    within the arm.
--  sequential (mixture SPRT, Johari, Pekelis and Walsh, "Always valid
--    inference", Operations Research 2022; normal mixture over the
--    difference theta with mixing variance tau^2): with d = m_t - m_c and
--    V = v_t + v_c (unpooled),
--      Lambda = sqrt(V / (V + tau^2)) exp(tau^2 d^2 / (2 V (V + tau^2))),
--      p = min(1, 1/Lambda),
--      confidence sequence d +- sqrt(V (V + tau^2) / tau^2
--                                     (2 ln(1/alpha) + ln((V + tau^2)/V))).
--    Lambda is a martingale under H0 (V treated as known), so by Ville's
--    inequality P(Lambda ever >= 1/alpha) <= alpha: the p-value may be
--    looked at after every batch of data.  tau defaults to 0.1 times the
--    root mean of the two arms' outcome variances.
-- ---------------------------------------------------------------------------

-- Distribution functions -----------------------------------------------------
-- Public, documented and argument-checked (src/pg/ab.c): ab_test and ab_srm
-- use them, and an analyst planning or re-checking a test needs the same
-- numbers (a critical value, a p-value) that PostgreSQL 15 does not have.
-- They are pure functions of their arguments: nothing is read or written.

CREATE FUNCTION @extschema@.normal_cdf(x pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_norm_cdf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normal_cdf(pg_catalog.float8) IS
'standard normal distribution function P(Z <= x); x = -Infinity and Infinity give 0 and 1';

CREATE FUNCTION @extschema@.normal_quantile(p pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_norm_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normal_quantile(pg_catalog.float8) IS
'standard normal quantile: the z with P(Z <= z) = p, for p in [0, 1] (0 and 1 give -Infinity and Infinity)';

CREATE FUNCTION @extschema@.student_t_two_sided_p(t pg_catalog.float8, df pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_t_sf2'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.student_t_two_sided_p(pg_catalog.float8, pg_catalog.float8) IS
'two-sided p-value of a t statistic: P(|T| >= |t|) for Student''s t with df > 0 degrees of freedom (df need not be an integer, as in Welch''s test)';

CREATE FUNCTION @extschema@.student_t_quantile(p pg_catalog.float8, df pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_t_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.student_t_quantile(pg_catalog.float8, pg_catalog.float8) IS
'quantile of Student''s t with df > 0 degrees of freedom: the t with P(T <= t) = p';

CREATE FUNCTION @extschema@.chi_square_sf(x pg_catalog.float8, df pg_catalog.float8) RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'recpromo__ab_chi2_sf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.chi_square_sf(pg_catalog.float8, pg_catalog.float8) IS
'upper tail P(X >= x) of the chi-square distribution with df > 0 degrees of freedom (the p-value of a chi-square statistic)';

-- ab_test --------------------------------------------------------------------

CREATE FUNCTION @extschema@._body_ab_test(source pg_catalog.regclass, arm_col pg_catalog.name, outcome_col pg_catalog.name,
    control pg_catalog.text, covariate pg_catalog.name, alpha pg_catalog.float8,
    outcome pg_catalog.text, correction pg_catalog.text,
    sequential boolean, tau pg_catalog.float8, rel pg_catalog.text, ay pg_catalog.text, ax pg_catalog.text)
RETURNS TABLE (arm pg_catalog.text, n bigint, excluded bigint, mean pg_catalog.float8, mean_cuped pg_catalog.float8,
    lift pg_catalog.float8, lift_low pg_catalog.float8, lift_high pg_catalog.float8,
    rel_lift pg_catalog.float8, rel_lift_low pg_catalog.float8, rel_lift_high pg_catalog.float8,
    statistic pg_catalog.float8, df pg_catalog.float8, p_value pg_catalog.float8, p_adjusted pg_catalog.float8,
    test pg_catalog.text, variance_reduction pg_catalog.float8, note pg_catalog.text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    aa text;
    q text;
    kind text;
    theta float8;
    mx float8;
    my float8;
    vy float8;
    m2x float8;
    cxy float8;
    ntot float8;
    bad_y bigint := 0;
    bad_x bigint := 0;
    -- per arm, control first, then the others in byte order of their text
    v_arm text[] := '{}';
    v_n bigint[] := '{}';
    v_ex bigint[] := '{}';
    v_m float8[] := '{}';      -- raw mean
    v_mc float8[];             -- mean used for the test (CUPED-adjusted or raw)
    v_var float8[] := '{}';    -- per-row variance used for the test
    v_mx float8[] := '{}';     -- covariate mean, variance, covariance with Y
    v_vx float8[] := '{}';
    v_cxy float8[] := '{}';
    v_vr float8[];
    v_p float8[] := '{}';
    all_binary boolean := true;
    k int;
    ci int;
    i int;
    j int;
    qz float8;
    d float8;
    vt float8;
    vc float8;
    se float8;
    sep float8;
    pp float8;
    w float8;
    t2 float8;
    lam float8;
    hw float8;
    rr float8;
    ser float8;
    o_stat float8[];
    o_df float8[];
    o_lo float8[];
    o_hi float8[];
    o_r float8[];
    o_rlo float8[];
    o_rhi float8[];
    o_test text[];
    o_note text[];
    o_padj float8[];
    m_tests int;
    ord int[];
    running float8;
    cur float8;
BEGIN
    IF control IS NULL THEN
        RAISE EXCEPTION 'control arm must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Name the value of the arm column that marks the control group.';
    END IF;
    IF alpha IS NULL OR NOT (alpha > 0 AND alpha < 1) THEN
        RAISE EXCEPTION 'alpha must be between 0 and 1 (exclusive), got %', alpha
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF outcome IS NOT NULL AND outcome NOT IN ('binary', 'amount') THEN
        RAISE EXCEPTION 'unknown outcome kind "%"', outcome
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''binary'', ''amount'' or NULL (detected from the data).';
    END IF;
    IF correction IS NULL OR correction NOT IN ('holm', 'bonferroni', 'none') THEN
        RAISE EXCEPTION 'unknown correction "%"', correction
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''holm'', ''bonferroni'' or ''none''.';
    END IF;
    IF sequential IS NULL THEN
        RAISE EXCEPTION 'sequential must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF tau IS NOT NULL AND NOT (tau > 0 AND tau < 'Infinity'::float8) THEN
        RAISE EXCEPTION 'tau must be positive and finite, got %', tau
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- rel, ay and ax come from the front door (src/pg/ab_front.c), which has
    -- checked the arm, outcome and covariate columns
    aa := pg_catalog.format('(%I)::pg_catalog.text', arm_col);

    -- One pass over the table: per-arm moments of Y and X and their
    -- co-moment, counts of excluded and of non-finite values.  Rows with a
    -- NULL arm are ignored; rows with a NULL outcome (or covariate) are
    -- counted in "excluded".  CUPED's pooled theta is combined from the
    -- per-arm moments below (no second pass).
    -- EXECUTE ... INTO (not a FOR loop, whose cursor would forbid a parallel plan).
    q := pg_catalog.format(
        'SELECT pg_catalog.array_agg(a ORDER BY o), pg_catalog.array_agg(n ORDER BY o),'
        '       pg_catalog.array_agg(ex ORDER BY o), pg_catalog.array_agg(my ORDER BY o),'
        '       pg_catalog.array_agg(vy ORDER BY o), pg_catalog.array_agg(mx ORDER BY o),'
        '       pg_catalog.array_agg(vx ORDER BY o), pg_catalog.array_agg(cxy ORDER BY o),'
        '       pg_catalog.sum(bad_y)::pg_catalog.int8, pg_catalog.sum(bad_x)::pg_catalog.int8,'
        '       pg_catalog.bool_and(bin IS NOT FALSE)'
        '  FROM (SELECT s.*, pg_catalog.row_number() OVER (ORDER BY a OPERATOR(pg_catalog.<>) $3, a COLLATE pg_catalog."C") AS o'
        '          FROM (SELECT a, pg_catalog.count(*) FILTER (WHERE ok) AS n,'
        '                       pg_catalog.count(*) FILTER (WHERE NOT ok) AS ex,'
        '                       pg_catalog.count(*) FILTER (WHERE y OPERATOR(pg_catalog.=) ANY ($2)) AS bad_y,'
        '                       pg_catalog.count(*) FILTER (WHERE x OPERATOR(pg_catalog.=) ANY ($2)) AS bad_x,'
        '                       pg_catalog.avg(y) FILTER (WHERE ok) AS my, pg_catalog.var_samp(y) FILTER (WHERE ok) AS vy,'
        '                       pg_catalog.avg(x) FILTER (WHERE ok) AS mx, pg_catalog.var_samp(x) FILTER (WHERE ok) AS vx,'
        '                       pg_catalog.covar_samp(y, x) FILTER (WHERE ok) AS cxy,'
        '                       pg_catalog.bool_and(y OPERATOR(pg_catalog.=) 0 OR y OPERATOR(pg_catalog.=) 1) FILTER (WHERE ok) AS bin'
        '                  FROM (SELECT a, y, x, y IS NOT NULL AND (x IS NOT NULL OR NOT $1) AS ok'
        '                          FROM (SELECT %s AS a, %s AS y, %s AS x FROM %s) d0'
        '                         WHERE a IS NOT NULL) d'
        '                 GROUP BY a) s) t',
        aa, ay, COALESCE(ax, 'NULL::pg_catalog.float8'), rel);
    EXECUTE q INTO v_arm, v_n, v_ex, v_m, v_var, v_mx, v_vx, v_cxy, bad_y, bad_x, all_binary
        USING ax IS NOT NULL, '{Infinity,-Infinity,NaN}'::float8[], control;
    v_arm := COALESCE(v_arm, '{}');
    bad_y := COALESCE(bad_y, 0);
    bad_x := COALESCE(bad_x, 0);
    all_binary := COALESCE(all_binary, true);
    -- Non-finite values are errors, not silently dropped rows.
    IF bad_y > 0 THEN
        RAISE EXCEPTION 'outcome column "%" has % non-finite value(s)', outcome_col, bad_y
            USING ERRCODE = 'data_exception',
                  HINT = 'Filter out or fix infinite and NaN outcomes (a view will do).';
    END IF;
    IF bad_x > 0 THEN
        RAISE EXCEPTION 'covariate "%" has % non-finite value(s)', covariate, bad_x
            USING ERRCODE = 'data_exception',
                  HINT = 'Filter out or fix infinite and NaN covariates (a view will do).';
    END IF;
    k := pg_catalog.cardinality(v_arm);
    IF k = 0 OR v_arm[1] IS DISTINCT FROM control THEN
        RAISE EXCEPTION 'control arm "%" does not occur in column "%"', control, arm_col
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = CASE WHEN k = 0 THEN 'The table has no row with a non-NULL arm.'
                                ELSE 'Arms found: ' || pg_catalog.array_to_string(v_arm, ', ') || '.' END,
                  HINT = 'Pass the control arm''s value as text, exactly as the arm column prints it.';
    END IF;
    IF k < 2 THEN
        RAISE EXCEPTION 'no arm besides the control arm "%"', control
            USING ERRCODE = 'data_exception',
                  HINT = 'An A/B test compares at least two arms.';
    END IF;
    FOR i IN 1 .. k LOOP
        IF v_n[i] < 2 THEN
            RAISE EXCEPTION 'arm "%" has % observation(s) with an outcome, at least 2 are needed', v_arm[i], v_n[i]
                USING ERRCODE = 'data_exception',
                      HINT = 'Wait for more data, or leave the arm out (a view will do).';
        END IF;
    END LOOP;

    -- CUPED (Deng et al. 2013).  Pooled over all arms, from the per-arm
    -- moments (Chan, Golub and LeVeque's combination of sums of squares):
    --   M2x = sum (n_i - 1) vx_i + n_i (mx_i - mx)^2,
    --   Cxy = sum (n_i - 1) cxy_i + n_i (mx_i - mx) (my_i - my),
    --   theta = Cxy / M2x.
    -- Per arm, Y' = Y - theta (X - mx) has mean my_i - theta (mx_i - mx)
    -- and variance vy_i - 2 theta cxy_i + theta^2 vx_i.
    v_mc := v_m;
    v_vr := pg_catalog.array_fill(NULL::float8, ARRAY[k]);
    IF ax IS NOT NULL THEN
        ntot := 0; mx := 0; my := 0; m2x := 0; cxy := 0;
        FOR i IN 1 .. k LOOP
            ntot := ntot + v_n[i];
        END LOOP;
        FOR i IN 1 .. k LOOP
            mx := mx + v_n[i] * v_mx[i] / ntot;
            my := my + v_n[i] * v_m[i] / ntot;
        END LOOP;
        FOR i IN 1 .. k LOOP
            m2x := m2x + (v_n[i] - 1) * v_vx[i] + v_n[i] * (v_mx[i] - mx) ^ 2;
            cxy := cxy + (v_n[i] - 1) * v_cxy[i] + v_n[i] * (v_mx[i] - mx) * (v_m[i] - my);
        END LOOP;
        IF NOT m2x > 0 THEN
            RAISE EXCEPTION 'covariate "%" does not vary', covariate
                USING ERRCODE = 'data_exception',
                      DETAIL = 'CUPED divides by the variance of the covariate over all arms.',
                      HINT = 'Use a pre-period metric that differs between units, or no covariate.';
        END IF;
        theta := cxy / m2x;
        FOR i IN 1 .. k LOOP
            v_mc[i] := v_m[i] - theta * (v_mx[i] - mx);
            vy := v_var[i];
            v_var[i] := GREATEST(0, vy - 2 * theta * v_cxy[i] + theta * theta * v_vx[i]);
            v_vr[i] := CASE WHEN vy > 0 THEN 1 - v_var[i] / vy END;
        END LOOP;
    END IF;

    IF outcome IS NULL THEN
        kind := CASE WHEN all_binary THEN 'binary' ELSE 'amount' END;
    ELSE
        kind := outcome;
        IF kind = 'binary' AND NOT all_binary THEN
            RAISE EXCEPTION 'outcome column "%" has values other than 0 and 1', outcome_col
                USING ERRCODE = 'data_exception',
                      HINT = 'Use outcome => ''amount'' for a continuous outcome.';
        END IF;
    END IF;
    -- Binary without CUPED: per-row variance m (1 - m) (divided by n, as the
    -- z test's SE), not the sample variance.
    IF kind = 'binary' AND ax IS NULL THEN
        FOR i IN 1 .. k LOOP
            v_var[i] := v_m[i] * (1 - v_m[i]);
        END LOOP;
    END IF;

    ci := 1;
    qz := @extschema@.normal_quantile(1 - alpha / 2);
    o_stat := pg_catalog.array_fill(NULL::float8, ARRAY[k]);
    o_df := o_stat; o_lo := o_stat; o_hi := o_stat; o_r := o_stat; o_rlo := o_stat; o_rhi := o_stat;
    o_padj := o_stat; v_p := o_stat;
    o_test := pg_catalog.array_fill(NULL::text, ARRAY[k]);
    o_note := o_test;
    FOR i IN 2 .. k LOOP
        d := v_mc[i] - v_mc[ci];
        vt := v_var[i] / v_n[i];
        vc := v_var[ci] / v_n[ci];
        se := sqrt(vt + vc);
        w := qz;
        IF sequential THEN
            o_test[i] := 'msprt';
            IF se = 0 THEN
                o_note[i] := 'zero variance in both arms: test undefined';
            ELSE
                t2 := COALESCE(tau, 0.1 * sqrt((v_var[i] + v_var[ci]) / 2));
                IF t2 = 0 THEN
                    o_note[i] := 'zero variance: tau undefined, pass tau';
                ELSE
                    t2 := t2 * t2;
                    o_stat[i] := d / se;
                    -- log Lambda = 1/2 ln(V / (V + tau^2)) + tau^2 d^2 / (2 V (V + tau^2))
                    lam := 0.5 * ln(se * se / (se * se + t2)) + t2 * d * d / (2 * se * se * (se * se + t2));
                    v_p[i] := LEAST(1, exp(-LEAST(lam, 700)));
                    hw := sqrt(se * se * (se * se + t2) / t2 * (2 * ln(1 / alpha) + ln((se * se + t2) / (se * se))));
                    o_lo[i] := d - hw;
                    o_hi[i] := d + hw;
                END IF;
            END IF;
        ELSIF kind = 'binary' AND ax IS NULL THEN
            o_test[i] := 'z';
            pp := (v_m[i] * v_n[i] + v_m[ci] * v_n[ci]) / (v_n[i] + v_n[ci]);
            sep := sqrt(pp * (1 - pp) * (1.0 / v_n[i] + 1.0 / v_n[ci]));
            IF sep = 0 THEN
                o_note[i] := 'all outcomes equal in both arms: test undefined';
            ELSE
                o_stat[i] := d / sep;
                v_p[i] := 2 * @extschema@.normal_cdf(-abs(o_stat[i]));
            END IF;
            IF se > 0 THEN
                o_lo[i] := d - qz * se;
                o_hi[i] := d + qz * se;
            END IF;
        ELSIF kind = 'binary' THEN
            o_test[i] := 'z';
            IF se = 0 THEN
                o_note[i] := 'zero variance in both arms: test undefined';
            ELSE
                o_stat[i] := d / se;
                v_p[i] := 2 * @extschema@.normal_cdf(-abs(o_stat[i]));
                o_lo[i] := d - qz * se;
                o_hi[i] := d + qz * se;
            END IF;
        ELSE
            o_test[i] := 'welch';
            IF se = 0 THEN
                o_note[i] := 'zero variance in both arms: test undefined';
            ELSE
                o_stat[i] := d / se;
                o_df[i] := (vt + vc) * (vt + vc) / (vt * vt / (v_n[i] - 1) + vc * vc / (v_n[ci] - 1));
                v_p[i] := @extschema@.student_t_two_sided_p(o_stat[i], o_df[i]);
                w := @extschema@.student_t_quantile(1 - alpha / 2, o_df[i]);
                o_lo[i] := d - w * se;
                o_hi[i] := d + w * se;
            END IF;
        END IF;
        -- relative lift, delta method
        IF v_mc[ci] = 0 THEN
            o_note[i] := COALESCE(o_note[i] || '; ', '') || 'control mean is 0: relative lift undefined';
        ELSE
            rr := v_mc[i] / v_mc[ci] - 1;
            o_r[i] := rr;
            ser := sqrt(vt / (v_mc[ci] * v_mc[ci]) + v_mc[i] * v_mc[i] * vc / (v_mc[ci] ^ 4));
            IF ser > 0 AND o_lo[i] IS NOT NULL THEN
                IF sequential THEN
                    t2 := COALESCE(tau, 0.1 * sqrt((v_var[i] + v_var[ci]) / 2)) / abs(v_mc[ci]);
                    t2 := t2 * t2;
                    hw := sqrt(ser * ser * (ser * ser + t2) / t2 * (2 * ln(1 / alpha) + ln((ser * ser + t2) / (ser * ser))));
                ELSE
                    hw := w * ser;
                END IF;
                o_rlo[i] := rr - hw;
                o_rhi[i] := rr + hw;
            END IF;
        END IF;
    END LOOP;

    -- Multiple comparisons over the non-control arms with a p-value.
    SELECT pg_catalog.array_agg(g.i ORDER BY v_p[g.i], g.i) INTO ord
      FROM pg_catalog.generate_series(2, k) g(i) WHERE v_p[g.i] IS NOT NULL;
    m_tests := COALESCE(pg_catalog.cardinality(ord), 0);
    running := 0;
    FOR j IN 1 .. m_tests LOOP
        i := ord[j];
        IF correction = 'holm' THEN
            cur := LEAST(1, (m_tests - j + 1) * v_p[i]);
            running := GREATEST(running, cur);
            o_padj[i] := running;
        ELSIF correction = 'bonferroni' THEN
            o_padj[i] := LEAST(1, m_tests * v_p[i]);
        ELSE
            o_padj[i] := v_p[i];
        END IF;
    END LOOP;

    FOR i IN 1 .. k LOOP
        arm := v_arm[i];
        n := v_n[i];
        excluded := v_ex[i];
        mean := v_m[i];
        mean_cuped := CASE WHEN ax IS NOT NULL THEN v_mc[i] END;
        IF i = ci THEN
            lift := NULL; lift_low := NULL; lift_high := NULL; rel_lift := NULL; rel_lift_low := NULL;
            rel_lift_high := NULL; statistic := NULL; df := NULL; p_value := NULL; p_adjusted := NULL;
            test := 'control';
            note := NULL;
        ELSE
            lift := v_mc[i] - v_mc[ci];
            lift_low := o_lo[i]; lift_high := o_hi[i];
            rel_lift := o_r[i]; rel_lift_low := o_rlo[i]; rel_lift_high := o_rhi[i];
            statistic := o_stat[i]; df := o_df[i]; p_value := v_p[i]; p_adjusted := o_padj[i];
            test := o_test[i];
            note := o_note[i];
        END IF;
        variance_reduction := v_vr[i];
        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION @extschema@._body_ab_test(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text,
    pg_catalog.name, pg_catalog.float8, pg_catalog.text, pg_catalog.text, boolean, pg_catalog.float8,
    pg_catalog.text, pg_catalog.text, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._body_ab_test(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text,
    pg_catalog.name, pg_catalog.float8, pg_catalog.text, pg_catalog.text, boolean, pg_catalog.float8,
    pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'internal, not executable by PUBLIC: the body of ab_test, called by its C front door with the checked relation and column expressions';

CREATE FUNCTION @extschema@.ab_test(source pg_catalog.regclass, arm_col pg_catalog.name, outcome_col pg_catalog.name,
    control pg_catalog.text, covariate pg_catalog.name DEFAULT NULL, alpha pg_catalog.float8 DEFAULT 0.05,
    outcome pg_catalog.text DEFAULT NULL, correction pg_catalog.text DEFAULT 'holm',
    sequential boolean DEFAULT false, tau pg_catalog.float8 DEFAULT NULL)
RETURNS TABLE (arm pg_catalog.text, n bigint, excluded bigint, mean pg_catalog.float8, mean_cuped pg_catalog.float8,
    lift pg_catalog.float8, lift_low pg_catalog.float8, lift_high pg_catalog.float8,
    rel_lift pg_catalog.float8, rel_lift_low pg_catalog.float8, rel_lift_high pg_catalog.float8,
    statistic pg_catalog.float8, df pg_catalog.float8, p_value pg_catalog.float8, p_adjusted pg_catalog.float8,
    test pg_catalog.text, variance_reduction pg_catalog.float8, note pg_catalog.text)
LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'recpromo_ab_test';
COMMENT ON FUNCTION @extschema@.ab_test(pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text,
    pg_catalog.name, pg_catalog.float8, pg_catalog.text, pg_catalog.text, boolean, pg_catalog.float8) IS
'A/B test readout per arm against a control arm: mean, absolute and relative lift with confidence intervals, p-value and Holm-adjusted p-value (two-proportion z test or Welch''s t, optional CUPED covariate, optional always-valid mixture SPRT)';

-- ab_srm ---------------------------------------------------------------------

CREATE FUNCTION @extschema@._body_ab_srm(source pg_catalog.regclass, arm_col pg_catalog.name,
    planned pg_catalog.jsonb, weights pg_catalog.float8[], rel pg_catalog.text)
RETURNS TABLE (arm pg_catalog.text, observed bigint, expected pg_catalog.float8,
    observed_share pg_catalog.float8, planned_share pg_catalog.float8,
    statistic pg_catalog.float8, df integer, p_value pg_catalog.float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    q text;
    v_arm text[] := '{}';
    v_obs bigint[] := '{}';
    v_w float8[];
    total bigint := 0;
    wsum float8 := 0;
    k int;
    chi float8 := 0;
    e float8;
    key text;
    val jsonb;
BEGIN
    IF planned IS NOT NULL AND weights IS NOT NULL THEN
        RAISE EXCEPTION 'pass either planned or weights, not both'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- rel comes from the front door (src/pg/ab_front.c), which has checked
    -- the arm column
    q := pg_catalog.format(
        'SELECT pg_catalog.array_agg(a ORDER BY a COLLATE pg_catalog."C"), pg_catalog.array_agg(c ORDER BY a COLLATE pg_catalog."C")'
        '  FROM (SELECT a, pg_catalog.count(*) AS c FROM (SELECT (%I)::pg_catalog.text AS a FROM %s) d'
        '         WHERE a IS NOT NULL GROUP BY a) s', arm_col, rel);
    EXECUTE q INTO v_arm, v_obs;
    v_arm := COALESCE(v_arm, '{}');
    v_obs := COALESCE(v_obs, '{}');
    FOR i IN 1 .. pg_catalog.cardinality(v_arm) LOOP
        total := total + v_obs[i];
    END LOOP;
    IF planned IS NOT NULL THEN
        IF pg_catalog.jsonb_typeof(planned) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'planned split must be a JSON object'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'For example {"control": 0.5, "A": 0.25, "B": 0.25}.';
        END IF;
        -- arms planned but never seen count with 0 observations
        FOR key IN SELECT x FROM pg_catalog.jsonb_object_keys(planned) x ORDER BY x COLLATE pg_catalog."C" LOOP
            IF NOT key = ANY (v_arm) THEN
                v_arm := v_arm || key;
                v_obs := v_obs || 0::bigint;
            END IF;
        END LOOP;
        v_w := '{}';
        FOR i IN 1 .. COALESCE(pg_catalog.cardinality(v_arm), 0) LOOP
            val := planned -> v_arm[i];
            IF val IS NULL THEN
                RAISE EXCEPTION 'arm "%" is not in the planned split', v_arm[i]
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Give every arm of the table a planned share.';
            END IF;
            IF pg_catalog.jsonb_typeof(val) IS DISTINCT FROM 'number' THEN
                RAISE EXCEPTION 'planned share of arm "%" must be a number', v_arm[i]
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            v_w := v_w || (val #>> '{}')::float8;
        END LOOP;
    ELSIF weights IS NOT NULL THEN
        IF pg_catalog.cardinality(weights) IS DISTINCT FROM pg_catalog.cardinality(v_arm) THEN
            RAISE EXCEPTION 'weights has % element(s), the table has % arm(s)',
                    pg_catalog.cardinality(weights), pg_catalog.cardinality(v_arm)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Arms found: ' || pg_catalog.array_to_string(v_arm, ', ') || '.',
                      HINT = 'Give one weight per arm, in the byte order of the arm values (as listed), or use planned => jsonb.';
        END IF;
        v_w := weights;
    ELSE
        v_w := pg_catalog.array_fill(1::float8, ARRAY[pg_catalog.cardinality(v_arm)]);
    END IF;
    k := COALESCE(pg_catalog.cardinality(v_arm), 0);
    IF k < 2 THEN
        RAISE EXCEPTION 'a sample-ratio check needs at least 2 arms, found %', k
            USING ERRCODE = 'data_exception';
    END IF;
    FOR i IN 1 .. k LOOP
        IF v_w[i] IS NULL OR NOT (v_w[i] > 0 AND v_w[i] < 'Infinity'::float8) THEN
            RAISE EXCEPTION 'planned share of arm "%" must be positive and finite, got %', v_arm[i], v_w[i]
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        wsum := wsum + v_w[i];
    END LOOP;
    IF total = 0 THEN
        RAISE EXCEPTION 'the table has no row with a non-NULL arm'
            USING ERRCODE = 'data_exception';
    END IF;
    FOR i IN 1 .. k LOOP
        e := total * v_w[i] / wsum;
        chi := chi + (v_obs[i] - e) ^ 2 / e;
    END LOOP;
    statistic := chi;
    df := k - 1;
    p_value := @extschema@.chi_square_sf(chi, k - 1);
    FOR i IN 1 .. k LOOP
        arm := v_arm[i];
        observed := v_obs[i];
        expected := total * v_w[i] / wsum;
        observed_share := v_obs[i]::float8 / total;
        planned_share := v_w[i] / wsum;
        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION @extschema@._body_ab_srm(pg_catalog.regclass, pg_catalog.name, pg_catalog.jsonb,
    pg_catalog.float8[], pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._body_ab_srm(pg_catalog.regclass, pg_catalog.name, pg_catalog.jsonb,
    pg_catalog.float8[], pg_catalog.text) IS
'internal, not executable by PUBLIC: the body of ab_srm, called by its C front door with the checked relation';

CREATE FUNCTION @extschema@.ab_srm(source pg_catalog.regclass, arm_col pg_catalog.name,
    planned pg_catalog.jsonb DEFAULT NULL, weights pg_catalog.float8[] DEFAULT NULL)
RETURNS TABLE (arm pg_catalog.text, observed bigint, expected pg_catalog.float8,
    observed_share pg_catalog.float8, planned_share pg_catalog.float8,
    statistic pg_catalog.float8, df integer, p_value pg_catalog.float8)
LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'recpromo_ab_srm';
COMMENT ON FUNCTION @extschema@.ab_srm(pg_catalog.regclass, pg_catalog.name, pg_catalog.jsonb, pg_catalog.float8[]) IS
'sample-ratio mismatch check: chi-square test of the observed arm counts against the planned split (jsonb {arm: share} or weights in arm order; equal split when neither is given)';
