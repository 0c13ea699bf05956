/*
 * ab.c
 *	  SQL entry points of the distribution functions that the A/B analysis
 *	  (src/sql/82_ab.sql) uses and that users may call too:
 *	  recpromo.normal_cdf, normal_quantile, student_t_two_sided_p,
 *	  student_t_quantile and chi_square_sf.  PostgreSQL 15 has neither erf()
 *	  nor a t distribution; the math is in src/core/rp_stats.c.  (0.2.0
 *	  called them _ab_norm_cdf ... _ab_chi2_sf, internal but executable by
 *	  PUBLIC; 0.3.0 has no internal SQL functions a user can call, so they
 *	  became public API.  The C symbols keep their names: the frozen 0.2.0
 *	  install script refers to them.)
 *
 * Each function checks its arguments (finite, probabilities in [0, 1],
 * positive degrees of freedom) and raises a user error otherwise, so a NaN
 * never leaves the core unexplained.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#include "rp_stats.h"

static void
CheckFinite(double x, const char *what)
{
	if (isnan(x) || isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s must be finite", what),
				 errhint("Filter out NaN and infinite values before the call.")));
}

static void
CheckProbability(double p)
{
	if (isnan(p) || p < 0.0 || p > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("probability must be between 0 and 1"),
				 errhint("A quantile takes a probability p with 0 <= p <= 1, e.g. 0.975 for a two-sided 95%% interval.")));
}

static void
CheckDf(double df)
{
	if (isnan(df) || df <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("degrees of freedom must be positive"),
				 errhint("df is a count such as n - 1 (t) or k - 1 (chi-square); it may be fractional (Welch).")));
}

static double
CheckResult(double r)
{
	if (isnan(r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("distribution function did not converge")));
	return r;
}

/* normal_cdf(x float8): standard normal CDF. */
PG_FUNCTION_INFO_V1(recpromo__ab_norm_cdf);
Datum
recpromo__ab_norm_cdf(PG_FUNCTION_ARGS)
{
	double		x = PG_GETARG_FLOAT8(0);

	if (isnan(x))
		CheckFinite(x, "x");
	PG_RETURN_FLOAT8(rp_norm_cdf(x));
}

/* normal_quantile(p float8): standard normal quantile. */
PG_FUNCTION_INFO_V1(recpromo__ab_norm_quantile);
Datum
recpromo__ab_norm_quantile(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(0);

	CheckProbability(p);
	PG_RETURN_FLOAT8(rp_norm_quantile(p));
}

/* student_t_two_sided_p(t float8, df float8): two-sided tail P(|T| >= |t|). */
PG_FUNCTION_INFO_V1(recpromo__ab_t_sf2);
Datum
recpromo__ab_t_sf2(PG_FUNCTION_ARGS)
{
	double		t = PG_GETARG_FLOAT8(0);
	double		df = PG_GETARG_FLOAT8(1);

	if (isnan(t))
		CheckFinite(t, "t");
	CheckDf(df);
	PG_RETURN_FLOAT8(CheckResult(rp_t_sf2(t, df)));
}

/* student_t_quantile(p float8, df float8): Student t quantile. */
PG_FUNCTION_INFO_V1(recpromo__ab_t_quantile);
Datum
recpromo__ab_t_quantile(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(0);
	double		df = PG_GETARG_FLOAT8(1);

	CheckProbability(p);
	CheckDf(df);
	PG_RETURN_FLOAT8(CheckResult(rp_t_quantile(p, df)));
}

/* chi_square_sf(x float8, df float8): chi-square survival function. */
PG_FUNCTION_INFO_V1(recpromo__ab_chi2_sf);
Datum
recpromo__ab_chi2_sf(PG_FUNCTION_ARGS)
{
	double		x = PG_GETARG_FLOAT8(0);
	double		df = PG_GETARG_FLOAT8(1);

	CheckFinite(x, "x");
	CheckDf(df);
	PG_RETURN_FLOAT8(CheckResult(rp_chi2_sf(x, df)));
}
