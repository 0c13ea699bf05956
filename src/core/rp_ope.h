/*
 * rp_ope.h
 *	  Off-policy evaluation: the value of a target policy estimated from
 *	  data logged under another policy (Dudik, Langford and Li, "Doubly
 *	  Robust Policy Evaluation and Learning", ICML 2011; the estimators as
 *	  the Open Bandit Pipeline documents them).
 *
 * Data: n logged rounds i with a context x_i (d numbers, d may be 0), the
 * arm a_i the logging policy chose among k arms, the reward r_i and the
 * propensity p_i = mu(a_i | x_i) with which it was chosen, plus the target
 * policy's probabilities pi(a | x_i) of every arm (an n x k matrix).
 * With w_i = pi(a_i | x_i) / p_i:
 *	IPS    V = 1/n sum_i w_i r_i
 *	SNIPS  V = sum_i w_i r_i / sum_i w_i
 *	DM     V = 1/n sum_i sum_a pi(a | x_i) q(x_i, a)
 *	DR     V = DM + 1/n sum_i w_i (r_i - q(x_i, a_i))
 * q is a reward model: per arm a ridge regression of r on (1, x) over the
 * rounds where that arm was logged, penalty lambda on the slopes only (the
 * intercept is not penalised), solved by a Cholesky factorisation of the
 * (d+1) x (d+1) normal equations.  Because DM and DR are linear in the
 * per-arm coefficients b_a, one pass accumulates X_a'X_a, X_a'r,
 * m_a = sum_i pi(a|x_i) (1, x_i) and g_a = sum_{a_i = a} w_i (1, x_i), and
 *	DM = 1/n sum_a b_a . m_a,   DR = DM + 1/n (sum_i w_i r_i - sum_a b_a . g_a).
 * Effective sample size of the weights: ESS = (sum w)^2 / sum w^2.
 *
 * Intervals: the percentile bootstrap (Efron and Tibshirani 1993, ch. 13).
 * Replicate b draws n rounds with replacement from the generator of rp_rng
 * seeded with seed + b * 0x9E3779B97F4A7C15 (one stream per replicate) and
 * recomputes every estimator, the reward model included (refitting is what
 * makes DM's and DR's intervals honest about the model's own error).  An arm
 * absent from a replicate gets q = 0 in that replicate.  The interval is the
 * alpha/2 and 1 - alpha/2 quantiles of the replicates, linearly
 * interpolated (position h = p (B - 1) in the sorted values, as numpy's
 * default).
 *
 * The core never raises; inputs are checked by the caller (the glue checks
 * ranges and finiteness, the core asserts).  It allocates nothing: the caller
 * provides rp_ope_workspace() bytes.
 */
#ifndef RP_OPE_H
#define RP_OPE_H

#include <stddef.h>
#include <stdint.h>

#include "rp_core.h"

enum
{
	RP_OPE_IPS = 0,
	RP_OPE_SNIPS,
	RP_OPE_DM,
	RP_OPE_DR,
	RP_OPE_NEST
};

typedef struct rp_ope_data
{
	int64_t		n;				/* logged rounds, >= 1 */
	int			k;				/* arms, >= 1 */
	int			d;				/* context features, >= 0 */
	const double *x;			/* n x d row-major (NULL when d = 0) */
	const int32_t *arm;			/* n logged arms, in [0, k) */
	const double *reward;		/* n finite rewards */
	const double *prop;			/* n propensities in (0, 1] */
	const double *pi;			/* n x k row-major target probabilities */
	double		lambda;			/* ridge penalty on the slopes, > 0 */
} rp_ope_data;

typedef struct rp_ope_result
{
	double		est[RP_OPE_NEST];	/* point estimates (SNIPS NaN if sum w = 0) */
	double		lo[RP_OPE_NEST];	/* interval ends, NaN when n_boot = 0 */
	double		hi[RP_OPE_NEST];
	double		ess;			/* (sum w)^2 / sum w^2, 0 if every w = 0 */
	double		sum_w;			/* sum of the importance weights */
} rp_ope_result;

/* Bytes of workspace rp_ope_evaluate needs with nthreads threads. */
extern size_t rp_ope_workspace(int64_t n, int k, int d, int n_boot, int nthreads);

/*
 * Point estimates, ESS and (n_boot > 0) percentile bootstrap intervals at
 * level 1 - alpha.  Returns RP_ENUMERIC when the full-sample reward model
 * cannot be solved or gives a non-finite value, RP_ECANCELED when the
 * cancel hook (tested by the calling thread between replicates) asks to
 * stop.  Replicates run on up to nthreads threads (rp_parallel_for, one
 * replicate per block); each replicate depends only on its number, so the
 * result does not depend on nthreads.  work: rp_ope_workspace(n, k, d,
 * n_boot, nthreads) bytes, 8-byte aligned.
 */
extern rp_status rp_ope_evaluate(const rp_ope_data *in, int n_boot, uint64_t seed,
								 double alpha, int nthreads, rp_ope_result *out,
								 void *work, const rp_cancel *cancel);

/*
 * The canonical order of the rounds: perm (n entries) sorts them by
 * (arm, reward, propensity, context, target probabilities), lexicographic,
 * stable.  Rounds equal in all of these are interchangeable, so rounds laid
 * out in this order give results (sums, bootstrap draws) that do not depend
 * on the order in which the caller read them.  tmp: n more entries.
 */
extern void rp_ope_row_order(const rp_ope_data *in, int64_t *perm, int64_t *tmp);

/*
 * The reward model alone: per-arm ridge coefficients into beta (k x (d+1),
 * intercept first; zeros for an arm with no rounds).  work needs
 * rp_ope_workspace(n, k, d, 0, 1) bytes.
 */
extern rp_status rp_ope_fit_reward(const rp_ope_data *in, double *beta, void *work);

#endif							/* RP_OPE_H */
