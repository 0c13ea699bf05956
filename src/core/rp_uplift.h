/*
 * rp_uplift.h
 *	  Evaluation of uplift scores on randomised campaign data: the Qini and
 *	  uplift curves, the Qini coefficient, AUUC, uplift@k, and percentile
 *	  bootstrap confidence intervals for them.
 *
 * Data: n customers, each with a score s_i (higher = more uplift expected),
 * a treated flag t_i (1 treated, 0 control) and an outcome y_i (a 0/1
 * conversion or revenue).  Customers are ranked by descending score; tied
 * scores form one group that is taken whole, so the result does not depend
 * on the order of ties.  With N customers, N_t of them treated, and among the
 * top fraction phi: n_t, n_c customers and Y_t, Y_c summed outcomes,
 *     Qini curve    q(phi) = (Y_t - Y_c n_t / n_c) / N_t     (0 while n_c = 0)
 *     uplift curve  u(phi) = (Y_t / n_t - Y_c / n_c) (n_t + n_c) / N
 *                                               (0 while n_t or n_c is 0)
 *     Qini coefficient  Q = integral_0^1 (q(phi) - phi q(1)) dphi
 *     AUUC              A = integral_0^1 u(phi) dphi
 *     uplift@k          mean(y | treated, top k) - mean(y | control, top k)
 * Both curves end at the average treatment effect q(1) = u(1) = ATE; the
 * integrals are trapezoids over the tie-group boundaries.  doc/promotions.md
 * explains the choice of normalisation.
 */
#ifndef RP_UPLIFT_H
#define RP_UPLIFT_H

#include "rp_core.h"

typedef struct rp_uplift_metrics
{
	double		qini;			/* Qini coefficient Q */
	double		auuc;			/* area under the uplift curve A */
	double		uplift_at_k;	/* uplift in the top fraction k */
	double		ate;			/* overall treated mean - control mean */
	double		n_treated;		/* N_t (weighted count) */
	double		n_control;		/* N - N_t */
} rp_uplift_metrics;

#define RP_UPLIFT_NMETRICS 4	/* qini, auuc, uplift_at_k, ate */

/*
 * Orders customers by descending score, ties by ascending index.
 * order: n out; work: rp_uplift_order_workspace(n) bytes.
 * Returns RP_ENUMERIC if a score is not finite.
 */
extern size_t rp_uplift_order_workspace(int64_t n);
extern rp_status rp_uplift_order(int64_t n, const double *score,
								 int64_t *order, void *work);

/*
 * Computes the metrics for the ranking `order` (from rp_uplift_order).
 * mult: n multiplicities (a bootstrap resample) or NULL for all 1.
 * k_frac in (0, 1].  npoints >= 0: when > 0, the curves are also sampled at
 * phi = 1/npoints, ..., 1 into fraction/qini/uplift (npoints doubles each;
 * linear interpolation between group boundaries).
 * Returns RP_EINVAL when either arm is empty.
 */
extern rp_status rp_uplift_evaluate(int64_t n, const int64_t *order,
									const double *score,
									const uint8_t *treated, const double *y,
									const uint32_t *mult, double k_frac,
									int npoints, double *fraction,
									double *qini, double *uplift,
									rp_uplift_metrics *out);

/*
 * Percentile bootstrap: n_boot resamples of the n customers with
 * replacement (seeded; the same seed gives the same intervals), the metrics
 * on each, and the (1-level)/2 and (1+level)/2 quantiles of each metric.
 * lo/hi: RP_UPLIFT_NMETRICS doubles each, in the order qini, auuc,
 * uplift_at_k, ate.  Resamples in which an arm is empty are drawn again.
 * work: rp_uplift_bootstrap_workspace(n, n_boot) bytes.
 */
extern size_t rp_uplift_bootstrap_workspace(int64_t n, int n_boot);
extern rp_status rp_uplift_bootstrap(int64_t n, const int64_t *order,
									 const double *score,
									 const uint8_t *treated, const double *y,
									 double k_frac, int n_boot,
									 uint64_t seed, double level,
									 double *lo, double *hi, void *work,
									 const rp_cancel *cancel);

#endif							/* RP_UPLIFT_H */
