/*
 * test_stats.c
 *	  Unit tests of rp_stats: normal, t and chi-square functions against
 *	  values computed with scipy.stats / scipy.special 1.10 (printed with
 *	  repr, so to full double precision), and the empirical quantiles of
 *	  rp_percentile_interval against numpy.quantile (its default "linear").
 */
#include "unit.h"
#include "rp_stats.h"

static void
test_norm(void)
{
	CHECK_NEAR(rp_norm_cdf(-1.96), 0.024997895148220435, 1e-14);
	CHECK_NEAR(rp_norm_cdf(0.0), 0.5, 1e-15);
	CHECK_NEAR(rp_norm_cdf(0.3), 0.6179114221889526, 1e-14);
	CHECK_NEAR(rp_norm_cdf(3.0), 0.9986501019683699, 1e-14);
	/* far tail: relative precision */
	CHECK_NEAR(rp_norm_cdf(-8.5) / 9.47953482220325e-18, 1.0, 1e-12);
	CHECK(isnan(rp_norm_cdf(NAN)));
}

static void
test_norm_quantile(void)
{
	CHECK_NEAR(rp_norm_quantile(1e-12), -7.034483825301131, 1e-12);
	CHECK_NEAR(rp_norm_quantile(0.01), -2.3263478740408408, 1e-13);
	CHECK_NEAR(rp_norm_quantile(0.025), -1.9599639845400545, 1e-13);
	CHECK_NEAR(rp_norm_quantile(0.5), 0.0, 1e-15);
	CHECK_NEAR(rp_norm_quantile(0.8), 0.8416212335729143, 1e-13);
	CHECK_NEAR(rp_norm_quantile(0.975), 1.959963984540054, 1e-13);
	CHECK_NEAR(rp_norm_quantile(0.999999), 4.753424308817087, 1e-11);
	CHECK(isinf(rp_norm_quantile(0.0)) && rp_norm_quantile(0.0) < 0);
	CHECK(isinf(rp_norm_quantile(1.0)) && rp_norm_quantile(1.0) > 0);
	CHECK(isnan(rp_norm_quantile(1.5)));
	/* subnormal p: the Halley step's exp(x^2 / 2) overflows there (Acklam: 1.15e-9 relative) */
	CHECK_NEAR(rp_norm_quantile(1e-310), -37.663060331949524, 1e-7);
	CHECK_NEAR(rp_norm_quantile(5e-324), -38.467405617144344, 1e-7);
	/* round trip */
	for (double p = 0.001; p < 1.0; p += 0.0123)
		CHECK_NEAR(rp_norm_cdf(rp_norm_quantile(p)), p, 1e-14);
}

static void
test_betainc(void)
{
	CHECK_NEAR(rp_betainc(2.5, 3.5, 0.3), 0.2967529892956661, 1e-13);
	CHECK_NEAR(rp_betainc(500, 700, 0.42), 0.593766445482248, 1e-10);
	CHECK(rp_betainc(2, 3, 0.0) == 0.0);
	CHECK(rp_betainc(2, 3, 1.0) == 1.0);
	CHECK(isnan(rp_betainc(-1, 3, 0.5)));
}

/* rp_beta_quantile against closed forms and scipy.stats.beta.ppf */
static void
test_beta_quantile(void)
{
	for (double p = 0.01; p < 1.0; p += 0.07)
	{
		CHECK_NEAR(rp_beta_quantile(1, 1, p), p, 1e-14);
		CHECK_NEAR(rp_beta_quantile(2, 1, p), sqrt(p), 1e-14);
		CHECK_NEAR(rp_beta_quantile(1, 2, p), 1 - sqrt(1 - p), 1e-14);
		CHECK_NEAR(rp_betainc(3.5, 7, rp_beta_quantile(3.5, 7, p)), p, 1e-13);
	}
	CHECK_NEAR(rp_beta_quantile(5, 3, 0.025), 0.2904208637373427, 1e-12);
	CHECK_NEAR(rp_beta_quantile(5, 3, 0.975), 0.9010117215574921, 1e-12);
	CHECK_NEAR(rp_beta_quantile(0.5, 40, 0.025), 1.2352749991738796e-05, 1e-15);
	CHECK_NEAR(rp_beta_quantile(101, 201, 0.975), 0.3885533264406723, 1e-12);
	CHECK(rp_beta_quantile(2, 3, 0.0) == 0.0);
	CHECK(rp_beta_quantile(2, 3, 1.0) == 1.0);
	CHECK(isnan(rp_beta_quantile(0, 3, 0.5)));
	CHECK(isnan(rp_beta_quantile(2, 3, 1.5)));
	CHECK(isnan(rp_beta_quantile(2, 3, NAN)));
}

static void
test_t(void)
{
	CHECK_NEAR(rp_t_sf2(2.1, 3.5), 0.11352582522079811, 1e-13);
	CHECK_NEAR(rp_t_sf2(0.01, 10), 0.9922179749909714, 1e-13);
	CHECK_NEAR(rp_t_sf2(-1.7, 57.3), 0.09455361582086445, 1e-13);
	CHECK_NEAR(rp_t_sf2(40, 2), 0.0006244146721847406, 1e-13);
	CHECK_NEAR(rp_t_sf2(3, 1e6), 0.0026998625414217953, 1e-11);
	CHECK_NEAR(rp_t_sf2(1.2, 1), 0.44228412324739086, 1e-13);
	CHECK_NEAR(rp_t_cdf(-1.7, 57.3), 0.09455361582086445 / 2, 1e-13);
	CHECK_NEAR(rp_t_cdf(1.7, 57.3), 1 - 0.09455361582086445 / 2, 1e-13);
	/*
	 * scipy's t.ppf is itself only good to about 1e-10 here (its quantile at
	 * 0.975 with df 1 has a two-sided tail of 0.0499999999989913): compare
	 * with it to 1e-9 and check the round trip to 1e-14.
	 */
	CHECK_NEAR(rp_t_quantile(0.975, 1), 12.706204736432095, 1e-9);
	CHECK_NEAR(rp_t_quantile(0.975, 4.2), 2.7250727225923765, 1e-9);
	CHECK_NEAR(rp_t_quantile(0.995, 30), 2.7499956535670305, 1e-9);
	CHECK_NEAR(rp_t_quantile(0.025, 120.5), -1.979846734610312, 1e-9);
	CHECK_NEAR(rp_t_sf2(rp_t_quantile(0.975, 1), 1), 0.05, 1e-14);
	CHECK_NEAR(rp_t_sf2(rp_t_quantile(0.025, 120.5), 120.5), 0.05, 1e-14);
	CHECK_NEAR(rp_t_cdf(rp_t_quantile(0.3, 7.7), 7.7), 0.3, 1e-14);
	CHECK_NEAR(rp_t_quantile(0.9, 1e7), 1.281551650203083, 1e-9);
	CHECK(isnan(rp_t_sf2(1, 0)));
	CHECK(rp_t_sf2(INFINITY, 3) == 0.0);
	/* t^2 overflows: the tail of a small df is not 0 (mpmath betainc) */
	CHECK_NEAR(rp_t_sf2(1e200, 0.001), 0.62834642497223013, 1e-12);
	CHECK_NEAR(rp_t_sf2(-1e200, 1) / 6.3661977236758136e-201, 1.0, 1e-12);
	CHECK(rp_t_sf2(1e160, 30) == 0.0);
	CHECK(isinf(rp_t_quantile(0.975, 0.001)));
	/* tails below 1e-16 with t^2 < df: relative precision, not 0 */
	CHECK_NEAR(rp_t_sf2(10, 1000) / 1.6670702958600065e-22, 1.0, 1e-10);
	CHECK_NEAR(rp_t_sf2(10, 1e6) / 1.5278610768178116e-23, 1.0, 1e-8);
	CHECK_NEAR(rp_t_sf2(8, 50) / 1.6632966028321343e-10, 1.0, 1e-10);
	CHECK_NEAR(rp_t_sf2(12, 1e4) / 5.979779607811232e-33, 1.0, 1e-9);
}

static void
test_chi2(void)
{
	CHECK_NEAR(rp_chi2_sf(3.2, 1), 0.07363827012030258, 1e-13);
	CHECK_NEAR(rp_chi2_sf(0.5, 4), 0.9735009788392561, 1e-13);
	CHECK_NEAR(rp_chi2_sf(30, 2) / 3.0590232050182594e-07, 1.0, 1e-12);
	CHECK_NEAR(rp_chi2_sf(250, 200), 0.009379131668826098, 1e-11);
	CHECK_NEAR(rp_chi2_sf(1e-3, 3), 0.9999915920809419, 1e-13);
	CHECK(rp_chi2_sf(0, 3) == 1.0);
	CHECK(isnan(rp_chi2_sf(1, -1)));
	/* large df: the prefactor must not subtract two lgamma values near 1e7 */
	CHECK_NEAR(rp_chi2_sf(99, 100), 0.5094721987983741, 1e-13);
	CHECK_NEAR(rp_chi2_sf(150, 120), 0.03307348091130466, 1e-12);
	CHECK_NEAR(rp_chi2_sf(1e6, 1e6), 0.4998119368033945, 1e-12);
	CHECK_NEAR(rp_chi2_sf(2003000, 2e6), 0.06686110423589772, 1e-11);
	CHECK_NEAR(rp_chi2_sf(1e10 + 1e5, 1e10), 0.2397493287722199, 1e-9);
	CHECK_NEAR(rp_chi2_sf(1e12, 1e12), 0.4999998119368055, 1e-9);
	CHECK_NEAR(rp_chi2_sf(1e17, 1e17), 0.49999999940529194, 1e-9);
	CHECK(rp_chi2_sf(1, 1e300) == 1.0);
	CHECK(rp_chi2_sf(1, INFINITY) == 1.0);
}

static void
test_percentile_interval(void)
{
	double		v[5] = {4.0, -1.0, 2.5, 10.0, 0.0};
	double		one[1] = {7.0};
	double		lo,
				hi;

	/* numpy.quantile([4, -1, 2.5, 10, 0], [0.025, 0.975]) */
	rp_percentile_interval(v, 5, 0.025, 0.975, &lo, &hi);
	CHECK_NEAR(lo, -0.9, 1e-15);
	CHECK_NEAR(hi, 9.4, 1e-14);
	/* sorted in place */
	CHECK(v[0] == -1.0 && v[1] == 0.0 && v[2] == 2.5 && v[3] == 4.0 && v[4] == 10.0);
	/* the ends and the median are order statistics */
	rp_percentile_interval(v, 5, 0.0, 1.0, &lo, &hi);
	CHECK(lo == -1.0 && hi == 10.0);
	rp_percentile_interval(v, 5, 0.5, 0.5, &lo, &hi);
	CHECK(lo == 2.5 && hi == 2.5);
	rp_percentile_interval(one, 1, 0.05, 0.95, &lo, &hi);
	CHECK(lo == 7.0 && hi == 7.0);
}

int
main(void)
{
	RUN(test_norm);
	RUN(test_norm_quantile);
	RUN(test_betainc);
	RUN(test_beta_quantile);
	RUN(test_t);
	RUN(test_chi2);
	RUN(test_percentile_interval);
	UNIT_DONE();
}
