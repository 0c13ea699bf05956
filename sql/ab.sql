-- A/B analysis: a small exact example of each test and every error path.
SET search_path = recpromo, public;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- Runs a query; returns 'ok (n rows)' or the SQLSTATE and message of its error.
CREATE FUNCTION public.ab_try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE q;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN 'ok (' || n || ' rows)';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- 100 visitors per arm; 20 buy in control, 30 in A, 20 in B (integer arm
-- ids, boolean outcome); two NULL outcomes are excluded and counted.
CREATE TABLE public.ab_conv (arm int, bought boolean, spend numeric, pre float8);
INSERT INTO public.ab_conv
SELECT a, i <= CASE a WHEN 0 THEN 20 WHEN 1 THEN 30 ELSE 20 END,
       (i % 10) + a * 0.5 + (i % 3), (i % 10) + (i % 7) * 0.1
  FROM generate_series(0, 2) a, generate_series(1, 100) i;
INSERT INTO public.ab_conv VALUES (0, NULL, NULL, 1), (1, NULL, NULL, 2);

-- pooled p = 0.25, z = 0.1 / sqrt(0.25 * 0.75 * 0.02) = 1.63299, p = 0.10247;
-- unpooled SE sqrt(0.3 * 0.7 / 100 + 0.2 * 0.8 / 100) = 0.060828,
-- interval 0.1 -+ 1.959964 * 0.060828 = [-0.01922, 0.21922];
-- relative lift 0.5, SE sqrt(0.0021 / 0.04 + 0.09 * 0.0016 / 0.0016) = 0.37749 (delta method),
-- interval 0.5 -+ 1.959964 * 0.37749 = [-0.23987, 1.23987]
-- Holm over two arms: min(1, 2 * 0.10247) = 0.20494, then max(0.20494, 1) = 1.
SELECT arm, n, excluded, round(mean::numeric, 4) AS mean, round(lift::numeric, 4) AS lift,
       round(lift_low::numeric, 5) AS low, round(lift_high::numeric, 5) AS high,
       round(rel_lift::numeric, 4) AS rel, round(rel_lift_low::numeric, 5) AS rel_low,
       round(statistic::numeric, 5) AS z, round(p_value::numeric, 5) AS p, round(p_adjusted::numeric, 5) AS p_holm, test, note
  FROM ab_test('public.ab_conv', 'arm', 'bought', control => '0');

-- amounts: Welch's t (numeric outcome)
SELECT arm, n, round(mean::numeric, 4) AS mean, round(lift::numeric, 4) AS lift,
       round(statistic::numeric, 4) AS t, round(df::numeric, 3) AS df, round(p_value::numeric, 5) AS p, test
  FROM ab_test('public.ab_conv', 'arm', 'spend', '0');
-- CUPED with the pre-period covariate: same lift, smaller variance
SELECT arm, round(mean_cuped::numeric, 4) AS mean_cuped, round(lift::numeric, 4) AS lift,
       round(p_value::numeric, 6) AS p, round(variance_reduction::numeric, 4) AS var_red, test
  FROM ab_test('public.ab_conv', 'arm', 'spend', '0', covariate => 'pre');
-- sequential: always-valid p-value and confidence sequence (wider than the interval)
SELECT arm, round(lift::numeric, 4) AS lift, round(lift_low::numeric, 4) AS low, round(lift_high::numeric, 4) AS high,
       round(p_value::numeric, 4) AS p, test
  FROM ab_test('public.ab_conv', 'arm', 'bought', '0', sequential => true, tau => 0.1);
-- outcome forced to 'amount' on a boolean column: Welch on 0/1
SELECT arm, test, round(p_value::numeric, 5) AS p
  FROM ab_test('public.ab_conv', 'arm', 'bought', '0', outcome => 'amount');

-- zero variance: both arms all 0 -> NULL p-value with a reason
CREATE TABLE public.ab_flat (arm text, y float8);
INSERT INTO public.ab_flat SELECT a, 0 FROM unnest(ARRAY['c', 't']) a, generate_series(1, 5);
SELECT arm, n, mean, lift, p_value, test, note FROM ab_test('public.ab_flat', 'arm', 'y', 'c');
SELECT arm, n, mean, lift, p_value, test, note FROM ab_test('public.ab_flat', 'arm', 'y', 'c', outcome => 'amount');
SELECT arm, lift, p_value, test, note FROM ab_test('public.ab_flat', 'arm', 'y', 'c', sequential => true);

-- sample-ratio mismatch
SELECT arm, observed, round(expected::numeric, 2) AS expected, round(statistic::numeric, 4) AS chi2, df,
       round(p_value::numeric, 4) AS p
  FROM ab_srm('public.ab_conv', 'arm', planned => '{"0": 0.5, "1": 0.25, "2": 0.25}');
SELECT arm, observed, planned_share, round(statistic::numeric, 4) AS chi2, round(p_value::numeric, 4) AS p
  FROM ab_srm('public.ab_conv', 'arm', weights => '{1, 1, 2}');
SELECT arm, observed, expected, statistic, p_value FROM ab_srm('public.ab_conv', 'arm');
-- an arm planned but never seen counts with 0
SELECT arm, observed, round(expected::numeric, 2) AS expected, df
  FROM ab_srm('public.ab_conv', 'arm', planned => '{"0": 1, "1": 1, "2": 1, "3": 1}');

-- errors
CREATE TABLE public.ab_bad (arm text, y float8, n numeric, label text, x float8);
INSERT INTO public.ab_bad VALUES ('c', 1, 1, 'a', 1), ('c', 2, 2, 'b', 1), ('t', 'Infinity', 'NaN', 'c', 1),
                                 ('t', 3, 3, 'd', 1), ('u', 5, 5, 'e', 2);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'nope', 'bought', '0')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'arm', 'nope', '0')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'arm', 'bought', '0', covariate => 'nope')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_bad', 'arm', 'label', 'c')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'arm', 'bought', '7')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'arm', 'bought', NULL)$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_bad', 'arm', 'y', 'c')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_bad', 'arm', 'n', 'c')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_nope', 'arm', 'y', 'c')$$);
DELETE FROM public.ab_bad WHERE y = 'Infinity';
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_bad', 'arm', 'y', 'c')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_bad', 'arm', 'y', 'c', covariate => 'x')$$);
DELETE FROM public.ab_bad WHERE arm = 'u';
UPDATE public.ab_bad SET x = 'NaN' WHERE y = 3;
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_bad', 'arm', 'y', 'c', covariate => 'x')$$);
UPDATE public.ab_bad SET x = 1;
INSERT INTO public.ab_bad VALUES ('t', 4, 4, 'f', 1);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_bad', 'arm', 'y', 'c', covariate => 'x')$$);
DELETE FROM public.ab_bad WHERE arm = 't';
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_bad', 'arm', 'y', 'c')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'arm', 'spend', '0', outcome => 'binary')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'arm', 'spend', '0', outcome => 'count')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'arm', 'spend', '0', alpha => 1)$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'arm', 'spend', '0', correction => 'fdr')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', 'arm', 'spend', '0', sequential => true, tau => 0)$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_srm('public.ab_conv', 'arm', planned => '{"0": 1, "1": 1}')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_srm('public.ab_conv', 'arm', planned => '[1, 2]')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_srm('public.ab_conv', 'arm', planned => '{"0": 1, "1": "x", "2": 1}')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_srm('public.ab_conv', 'arm', weights => '{1, 2}')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_srm('public.ab_conv', 'arm', weights => '{1, -2, 1}')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_srm('public.ab_conv', 'arm', planned => '{"0": 1}', weights => '{1}')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_srm('public.ab_conv', 'nope')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test('public.ab_conv', NULL, 'bought', '0')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_test(NULL, 'arm', 'bought', '0')$$);
SELECT ab_try($$SELECT * FROM recpromo.ab_srm('public.ab_flat', 'y')$$);
-- the distribution functions check their arguments
SELECT ab_try($$SELECT recpromo.normal_quantile(1.5)$$);
SELECT ab_try($$SELECT recpromo.student_t_two_sided_p(1, 0)$$);
SELECT ab_try($$SELECT recpromo.chi_square_sf('NaN', 2)$$);
SELECT round(recpromo.normal_cdf(1.96)::numeric, 6), round(recpromo.student_t_quantile(0.975, 10)::numeric, 6),
       round(recpromo.chi_square_sf(3.84, 1)::numeric, 6), round(recpromo.student_t_two_sided_p(2.228139, 10)::numeric, 6);
-- extreme arguments: a value, never NaN or "did not converge"
SELECT round(recpromo.normal_quantile(5e-324)::numeric, 4) AS q_subnormal,
       round(recpromo.chi_square_sf(1e12, 1e12)::numeric, 6) AS sf_df1e12,
       round(recpromo.chi_square_sf(1e17, 1e17)::numeric, 6) AS sf_df1e17,
       recpromo.chi_square_sf(1, 'Infinity') AS sf_df_inf,
       round((recpromo.student_t_two_sided_p(10, 1000) * 1e22)::numeric, 6) AS t_tail_e22,
       round(recpromo.student_t_two_sided_p(1e200, 0.001)::numeric, 6) AS t_huge, recpromo.student_t_quantile(0.975, 0.001) AS q_tiny_df;

DROP TABLE public.ab_conv, public.ab_flat, public.ab_bad;
DROP FUNCTION public.ab_try(text);
