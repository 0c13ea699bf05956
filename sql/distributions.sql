-- The public distribution functions behind ab_test and ab_srm (0.2.0 had
-- them as internal _ab_* functions that PUBLIC could execute).
SET search_path = recpromo, public;
SELECT round(normal_cdf(0)::numeric, 6) AS half, normal_cdf('-Infinity') AS zero, normal_cdf('Infinity') AS one;
SELECT round(normal_quantile(0.975)::numeric, 6) AS z, normal_quantile(0) AS lo, normal_quantile(1) AS hi;
SELECT round(student_t_two_sided_p(2.5, 12)::numeric, 6) AS p, round(student_t_two_sided_p(-2.5, 12)::numeric, 6) AS p_sym,
       round(student_t_two_sided_p(2.5, 12.5)::numeric, 6) AS p_welch;
SELECT round(student_t_quantile(0.975, 12)::numeric, 6) AS t, round(student_t_quantile(0.5, 3)::numeric, 6) AS median;
SELECT round(chi_square_sf(3.84, 1)::numeric, 6) AS p1, round(chi_square_sf(0, 4)::numeric, 6) AS p0;
-- NULL in, NULL out (STRICT)
SELECT normal_cdf(NULL) IS NULL AS a, student_t_quantile(0.5, NULL) IS NULL AS b;
-- bad input: clear errors
\set VERBOSITY default
SELECT normal_cdf('NaN');
SELECT normal_quantile(1.5);
SELECT student_t_quantile(0.9, 0);
SELECT student_t_two_sided_p(2, -1);
SELECT chi_square_sf('Infinity', 2);
-- the internal names are gone
SELECT count(*) AS internal_left FROM pg_proc WHERE pronamespace = 'recpromo'::regnamespace AND proname LIKE '\_ab\_%';
