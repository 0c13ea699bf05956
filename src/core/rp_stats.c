/*
 * rp_stats.c
 *	  Normal, Student t and chi-square distribution functions.
 *
 * Normal: Phi(x) = erfc(-x / sqrt 2) / 2 from the C library (erfc keeps full
 * relative precision in the far tails, where 1 - erf would cancel).  The
 * quantile starts from Acklam's rational approximation (relative error
 * about 1.15e-9) and takes one Halley step on erfc, which brings it to
 * machine precision.
 *
 * Student t and chi-square reduce to the regularized incomplete beta and
 * gamma functions:
 *	 P(|T| >= |t|) = I_x(df/2, 1/2),  x = df / (df + t^2)
 *	 P(X >= x)	   = Q(df/2, x/2)		for X ~ chi-square(df)
 * I_x(a, b) is evaluated with the continued fraction of Numerical Recipes
 * (Press, Teukolsky, Vetterling and Flannery, "Numerical Recipes", 3rd ed.,
 * 2007, section 6.4, betacf) by the modified Lentz method, on x or, through
 * I_x(a, b) = 1 - I_{1-x}(b, a), on 1 - x, whichever side converges fast;
 * Q(a, x) with the series of P(a, x) below x < a + 1 and Legendre's
 * continued fraction above (same book, section 6.2).  Both are written from
 * the formulas, not copied.  The prefactor x^a (1-x)^b / (a B(a, b)) is
 * taken in logs through lgamma.  The iteration stops when a step changes
 * the result by less than 1e-16 relatively; the iteration cap grows with
 * sqrt(max(a, b)) (the continued fraction needs O(sqrt(max(a, b))) terms),
 * and a t with df above 1e10 is treated as normal, a chi-square with df
 * above 1e10 through the Wilson-Hilferty cube root.
 *
 * The t quantile brackets the root around the normal quantile and bisects
 * on the smaller tail to the last bit (the CDF is monotone, so bisection cannot
 * fail); it is not on any hot path.
 *
 * rp_percentile_interval is the one copy of the percentile bootstrap's last
 * step (sort the replicates, interpolate two quantiles) that the uplift and
 * off-policy bootstraps share.
 */
#include "rp_stats.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define RP_STATS_EPS 1e-16
#define RP_STATS_TINY 1e-300

double
rp_norm_cdf(double x)
{
	if (isnan(x))
		return NAN;
	return 0.5 * erfc(-x / M_SQRT2);
}

double
rp_norm_quantile(double p)
{
	/* Acklam's coefficients (P. J. Acklam, "An algorithm for computing the
	 * inverse normal cumulative distribution function", 2003) */
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02,
		-3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01,
	-1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00,
	4.374664141464968e+00, 2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
	2.445134137142996e+00, 3.754408661907416e+00};
	double		q, r, x, e, u;

	if (isnan(p) || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;
	if (p < 0.02425)
	{
		q = sqrt(-2.0 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
	}
	else if (p > 1.0 - 0.02425)
	{
		q = sqrt(-2.0 * log1p(-p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
	}
	else
	{
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
			(((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
	}
	/* one Halley step on Phi(x) - p; the error is taken on the smaller tail */
	if (p < 0.5)
		e = rp_norm_cdf(x) - p;
	else
		e = (1.0 - p) - rp_norm_cdf(-x);
	u = e * sqrt(2.0 * M_PI) * exp(x * x / 2.0);
	/* below p ~ 1e-309 exp(x^2 / 2) overflows: keep Acklam's value there */
	if (isfinite(u))
		x = x - u / (1.0 + x * u / 2.0);
	return x;
}

/*
 * One step of the modified Lentz method on a continued fraction with
 * partial numerator an and partial denominator bn: replaces *c = C_{j-1} by
 * C_j = bn + an / C_{j-1} and *d = D_{j-1} by D_j = 1 / (bn + an D_{j-1})
 * (denominators kept away from 0 by RP_STATS_TINY) and returns C_j D_j, the
 * factor by which the step changes the value.  Shared by the continued
 * fractions of I_x(a, b) and Q(a, x).
 */
static inline double
lentz_step(double an, double bn, double *c, double *d)
{
	*d = bn + an * *d;
	if (fabs(*d) < RP_STATS_TINY)
		*d = RP_STATS_TINY;
	*c = bn + an / *c;
	if (fabs(*c) < RP_STATS_TINY)
		*c = RP_STATS_TINY;
	*d = 1.0 / *d;
	return *d * *c;
}

/* Continued fraction of I_x(a, b) (modified Lentz), without the prefactor. */
static double
betacf(double a, double b, double x)
{
	double		qab = a + b, qap = a + 1.0, qam = a - 1.0;
	double		c = 1.0, d = 1.0 - qab * x / qap, h, del, aa;
	int			maxit = 1000 + (int) (20.0 * sqrt(fmax(a, b)));

	if (fabs(d) < RP_STATS_TINY)
		d = RP_STATS_TINY;
	d = 1.0 / d;
	h = d;
	for (int m = 1; m <= maxit; m++)
	{
		int			m2 = 2 * m;

		/* even step */
		aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		h *= lentz_step(aa, 1.0, &c, &d);
		/* odd step */
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		del = lentz_step(aa, 1.0, &c, &d);
		h *= del;
		if (fabs(del - 1.0) < RP_STATS_EPS)
			return h;
	}
	return NAN;
}

/*
 * lgamma(a + b) - lgamma(a), b > 0.  For a >= 10 through Stirling's series
 * (four terms, error below 1e-16 there), written so that nothing of the size
 * of lgamma(a) is subtracted: with df in the millions (Welch's test on a
 * large experiment) the direct difference of two lgamma values near 1e7
 * would lose about 9 digits.
 */
#define STIRLING_CORR(x) (1.0 / (12.0 * (x)) - 1.0 / (360.0 * (x) * (x) * (x)) + \
	1.0 / (1260.0 * pow((x), 5)) - 1.0 / (1680.0 * pow((x), 7)))

static double
lgamma_diff(double a, double b)
{
	double		s = a + b;

	if (a < 10.0)
		return lgamma(s) - lgamma(a);
	return (a - 0.5) * log1p(b / a) + b * log(s) - b +
		STIRLING_CORR(s) - STIRLING_CORR(a);
}

/*
 * log(e^-x x^a / Gamma(a)), the prefactor of P(a, x) and Q(a, x).  For
 * a >= 100 through Stirling's series with x = a (1 + t):
 *	a (log1p(t) - t) + log(a / (2 pi)) / 2 - STIRLING_CORR(a),
 * whose error is about 1e-16 |x - a|: the direct -x + a log x - lgamma(a)
 * subtracts numbers of the size of a log a and lost 3 digits at df = 1e6
 * and all of them at df = 1e12.
 */
static double
gamma_log_prefactor(double a, double x)
{
	double		t;

	if (a < 100.0)
		return -x + a * log(x) - lgamma(a);
	t = (x - a) / a;
	return a * (log1p(t) - t) + 0.5 * log(a / (2.0 * M_PI)) - STIRLING_CORR(a);
}

/*
 * I_x(a, b) given both x and y = 1 - x, each with full relative precision
 * (the t tail knows both exactly, 1 - x would round).
 */
static double
betainc_xy(double a, double b, double x, double y)
{
	double		lx, ly, lbt;

	if (x <= 0.0)
		return 0.0;
	if (y <= 0.0)
		return 1.0;
	lx = x > 0.5 ? log1p(-y) : log(x);
	ly = y > 0.5 ? log1p(-x) : log(y);
	/* log of x^a y^b Gamma(a+b) / (Gamma(a) Gamma(b)) */
	if (a >= b)
		lbt = lgamma_diff(a, b) - lgamma(b);
	else
		lbt = lgamma_diff(b, a) - lgamma(a);
	lbt += a * lx + b * ly;
	if (x < (a + 1.0) / (a + b + 2.0))
		return exp(lbt) * betacf(a, b, x) / a;
	return 1.0 - exp(lbt) * betacf(b, a, y) / b;
}

double
rp_betainc(double a, double b, double x)
{
	if (isnan(a) || isnan(b) || isnan(x) || a <= 0.0 || b <= 0.0 || x < 0.0 || x > 1.0)
		return NAN;
	return betainc_xy(a, b, x, 1.0 - x);
}

double
rp_beta_quantile(double a, double b, double p)
{
	double		lo = 0.0,
				hi = 1.0;

	if (isnan(a) || isnan(b) || isnan(p) || a <= 0.0 || b <= 0.0 || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0)
		return 0.0;
	if (p == 1.0)
		return 1.0;
	/*
	 * The CDF is increasing on [0, 1]: halve the bracket until its ends are
	 * adjacent doubles (at most about 1100 steps near 0, 53 elsewhere).
	 */
	for (int i = 0; i < 2200; i++)
	{
		double		mid = lo + (hi - lo) / 2.0;

		if (mid <= lo || mid >= hi)
			break;
		if (rp_betainc(a, b, mid) < p)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

double
rp_gammaincc(double a, double x)
{
	double		lpre;
	int			maxit;

	if (isnan(a) || isnan(x) || a <= 0.0 || x < 0.0)
		return NAN;
	if (x == 0.0)
		return 1.0;
	if (isinf(x))
		return 0.0;
	lpre = gamma_log_prefactor(a, x);
	/* capped: a huge a (rp_chi2_sf takes df above 1e10 elsewhere) must not overflow int */
	maxit = 1000 + (int) fmin(20.0 * sqrt(a), 1e8);
	if (x < a + 1.0)
	{
		/* P(a, x) = e^-x x^a / Gamma(a) * sum x^n / (a (a+1) ... (a+n)) */
		double		ap = a, del = 1.0 / a, sum = del;

		for (int n = 1; n <= maxit; n++)
		{
			ap += 1.0;
			del *= x / ap;
			sum += del;
			if (fabs(del) < fabs(sum) * RP_STATS_EPS)
				return 1.0 - sum * exp(lpre);
		}
		return NAN;
	}
	else
	{
		/* Legendre's continued fraction for Q, modified Lentz */
		double		b = x + 1.0 - a, c = 1.0 / RP_STATS_TINY, d = 1.0 / b, h = d;

		for (int i = 1; i <= maxit; i++)
		{
			double		an = -i * (i - a), del;

			b += 2.0;
			del = lentz_step(an, b, &c, &d);
			h *= del;
			if (fabs(del - 1.0) < RP_STATS_EPS)
				return exp(lpre) * h;
		}
		return NAN;
	}
}

double
rp_t_sf2(double t, double df)
{
	if (isnan(t) || isnan(df) || df <= 0.0)
		return NAN;
	if (isinf(t))
		return 0.0;
	if (df > 1e10)
		return 2.0 * rp_norm_cdf(-fabs(t));
	if (fabs(t) > 1e150)
	{
		/*
		 * t^2 overflows (or x = df / t^2 underflows): the tail is the
		 * leading term x^a / (a B(a, 1/2)), a = df / 2, of I_x(a, 1/2), whose
		 * next terms are O(x) < 1e-280, taken in logs.  With a small df it is
		 * not small (df = 0.001, t = 1e200: 0.63), so 0 would be wrong.
		 */
		double		a = df / 2.0;
		double		lx = log(df) - 2.0 * log(fabs(t));

		return exp(a * lx - log(a) - (lgamma(0.5) - lgamma_diff(a, 0.5)));
	}
	/* x = df / (df + t^2) and y = 1 - x = t^2 / (df + t^2), each without cancellation */
	{
		double		t2 = t * t, x = df / (df + t2), y = t2 / (df + t2);

		/*
		 * One call for every t: betainc_xy already picks the side whose
		 * continued fraction converges.  1 - I_y(1/2, df/2) for t^2 < df
		 * took 1 - (1 - tail) there, and a tail below 1e-16 (t = 10 with
		 * df = 1000: 1.7e-22) came out as 0.
		 */
		return betainc_xy(df / 2.0, 0.5, x, y);
	}
}

double
rp_t_cdf(double t, double df)
{
	double		tail;

	if (isnan(t) || isnan(df) || df <= 0.0)
		return NAN;
	tail = 0.5 * rp_t_sf2(t, df);
	return t > 0.0 ? 1.0 - tail : tail;
}

double
rp_t_quantile(double p, double df)
{
	double		q, lo, hi;
	bool		upper;

	if (isnan(p) || isnan(df) || df <= 0.0 || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;
	if (p == 0.5)
		return 0.0;
	/* solve on the smaller tail q = P(T >= t), t > 0, which keeps its precision */
	upper = p > 0.5;
	q = upper ? 1.0 - p : p;
	lo = 0.0;
	hi = fmax(2.0 * -rp_norm_quantile(q), 1.0);
	while (0.5 * rp_t_sf2(hi, df) > q)
	{
		lo = hi;
		hi *= 2.0;
		if (isinf(hi))
			return upper ? INFINITY : -INFINITY;
	}
	for (int i = 0; i < 200; i++)
	{
		double		mid = 0.5 * (lo + hi);

		if (mid <= lo || mid >= hi)
			break;
		if (0.5 * rp_t_sf2(mid, df) > q)
			lo = mid;
		else
			hi = mid;
	}
	return upper ? 0.5 * (lo + hi) : -0.5 * (lo + hi);
}

double
rp_chi2_sf(double x, double df)
{
	if (isnan(x) || isnan(df) || df <= 0.0)
		return NAN;
	if (x <= 0.0)
		return 1.0;
	if (df > 1e10)
	{
		/*
		 * Wilson and Hilferty: (X / df)^(1/3) is normal with mean
		 * 1 - 2 / (9 df) and variance 2 / (9 df), error O(1/df); the
		 * series and continued fraction would need O(sqrt(df)) terms.
		 */
		double		v = 2.0 / (9.0 * df);

		if (isinf(df))
			return isinf(x) ? NAN : 1.0;
		return rp_norm_cdf(-(cbrt(x / df) - (1.0 - v)) / sqrt(v));
	}
	return rp_gammaincc(df / 2.0, x / 2.0);
}

static int
dbl_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Linearly interpolated quantile of sorted v[0..m-1] at probability q. */
static double
quantile(const double *v, int m, double q)
{
	double		h = q * (m - 1);
	int			lo = (int) floor(h);
	int			hi = lo + 1 < m ? lo + 1 : lo;

	return v[lo] + (h - lo) * (v[hi] - v[lo]);
}

void
rp_percentile_interval(double *v, int m, double p_lo, double p_hi, double *lo, double *hi)
{
	qsort(v, (size_t) m, sizeof(double), dbl_cmp);
	*lo = quantile(v, m, p_lo);
	*hi = quantile(v, m, p_hi);
}
