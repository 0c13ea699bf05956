/*
 * rp_stats.h
 *	  Distribution functions for the A/B analysis: the standard normal, the
 *	  Student t and the chi-square distribution (CDFs, tails, quantiles), and
 *	  the empirical quantiles of a percentile bootstrap interval.
 *
 * PostgreSQL 15 has neither erf() nor a t distribution, so the A/B functions
 * (src/sql/82_ab.sql) reach these through thin SQL wrappers (src/pg/ab.c).
 * The distribution functions are pure, thread-safe and allocation-free; they
 * return NaN for arguments outside their domain (the glue checks arguments
 * first).  rp_percentile_interval serves the bootstraps of the core
 * (rp_uplift.c, rp_ope.c).
 */
#ifndef RP_STATS_H
#define RP_STATS_H

/* Standard normal CDF Phi(x). */
extern double rp_norm_cdf(double x);

/* Standard normal quantile: x with Phi(x) = p, p in (0, 1); -inf / +inf at 0 / 1. */
extern double rp_norm_quantile(double p);

/* Regularized incomplete beta I_x(a, b), a > 0, b > 0, x in [0, 1]. */
extern double rp_betainc(double a, double b, double x);

/*
 * Beta(a, b) quantile: x in [0, 1] with rp_betainc(a, b, x) = p, p in
 * [0, 1], a > 0, b > 0 (bisection on the CDF to the last bit; NaN outside
 * the domain).  Used for the posterior intervals of bandit_history.
 */
extern double rp_beta_quantile(double a, double b, double p);

/* Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a), a > 0, x >= 0. */
extern double rp_gammaincc(double a, double x);

/* Student t CDF with df > 0 degrees of freedom (df may be fractional). */
extern double rp_t_cdf(double t, double df);

/* Two-sided tail P(|T| >= |t|), computed without cancellation. */
extern double rp_t_sf2(double t, double df);

/* Student t quantile: t with rp_t_cdf(t, df) = p, p in (0, 1). */
extern double rp_t_quantile(double p, double df);

/* Chi-square survival function P(X >= x) with df > 0. */
extern double rp_chi2_sf(double x, double df);

/*
 * Sorts v[0..m-1] (m >= 1, no NaN) ascending in place and sets *lo and *hi
 * to its quantiles at probabilities p_lo and p_hi in [0, 1], linearly
 * interpolated between order statistics (quantile p of the sorted v is
 * v[h] + (h - floor h) (v[h+1] - v[h]) at h = p (m - 1), the "type 7" rule).
 * With bootstrap replicates in v that is the percentile interval (Efron and
 * Tibshirani 1993, ch. 13).  Thread-safe: touches only v, *lo and *hi.
 */
extern void rp_percentile_interval(double *v, int m, double p_lo, double p_hi,
								   double *lo, double *hi);

#endif							/* RP_STATS_H */
