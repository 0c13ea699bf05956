/*
 * rp_bandit.h
 *	  Multi-armed and contextual bandit policies on additive sufficient
 *	  statistics (pure C, no PostgreSQL).
 *
 * Every policy is a function of per-arm sums that only ever grow by
 * addition: rewarded pulls n, reward sum s, sum of squares ss and, for the
 * linear policies, G = sum x x' and b = sum r x.  Sums can be split into
 * shards, updated concurrently and added back together at decision time,
 * and they can be recounted from a log exactly: that is what lets the glue
 * (src/pg/bandit.c) keep them in table rows without a hot row.
 *
 * A decision is made in two steps: rp_bandit_probabilities() computes the
 * probability of each eligible arm being chosen, then rp_bandit_pick()
 * draws one arm from those probabilities.  The arm chosen is therefore
 * distributed exactly as the propensity reported with it.
 *	- epsilon_greedy: (1 - eps) / |ties| on the best mean, + eps / K;
 *	- ucb1, linucb: 1 / |ties| on the best index (deterministic policies);
 *	- thompson (Beta-Bernoulli or Gaussian), lin_ts: the probability that
 *	  the arm is the argmax of one posterior draw, estimated by `draws`
 *	  seeded Monte-Carlo draws (default 100): the frequency f_i with which
 *	  arm i is the argmax.  The arm is then drawn with probabilities f, so
 *	  f_i is the exact probability with which this decision chose arm i
 *	  (the Monte-Carlo draws do not depend on the outcome, so inverse
 *	  propensity weights 1 / f_i are exact), and f_i estimates the
 *	  Thompson probability p_i without bias, with standard error
 *	  sqrt(p_i (1 - p_i) / draws): at most 0.05 for 100 draws, 0.016 for
 *	  1000.  An arm with f_i = 0 is not chosen.  With draws = 1 this is
 *	  exactly Thompson sampling.
 * Posteriors and indexes (s = reward sum, n = rewarded pulls):
 *	thompson binary:  Beta(prior_a + s, prior_b + n - s)
 *	thompson amount:  N(mu, var / (n + 1)), one prior pseudo-observation
 *		of value prior_mean and variance prior_var:
 *		mu = (s + prior_mean) / (n + 1),
 *		var = (ss - s^2 / n + prior_var) / (n + 1)  (ss - s^2/n is 0 at n = 0)
 *	ucb1:             s / n + alpha * sqrt(2 ln N / n), N = sum of n;
 *		an arm with n = 0 has index +infinity (tried first)
 *	epsilon_greedy:   mean s / n, +infinity at n = 0
 *	linucb (Li et al. 2010, disjoint):  A = lambda I + G, theta = A^-1 b,
 *		index x' theta + alpha sqrt(x' A^-1 x)
 *	lin_ts (Agrawal and Goyal 2013): theta~ ~ N(theta, alpha^2 A^-1);
 *		the score x' theta~ is N(x' theta, alpha^2 x' A^-1 x)
 * A is factored by LAPACK dpotrf at each decision (d^3 / 3 flops per arm);
 * the stored G stays an exact sum.
 */
#ifndef RP_BANDIT_H
#define RP_BANDIT_H

#include <stddef.h>

#include "rp_core.h"
#include "rp_rng.h"

typedef enum rp_bandit_policy
{
	RP_BANDIT_THOMPSON = 0,
	RP_BANDIT_UCB1,
	RP_BANDIT_EPSILON_GREEDY,
	RP_BANDIT_LINUCB,
	RP_BANDIT_LIN_TS,
	RP_BANDIT_UNIFORM			/* for simulations: every arm alike */
} rp_bandit_policy;

#define RP_BANDIT_MAX_DIM 256
#define RP_BANDIT_MAX_DRAWS 100000

typedef struct rp_bandit_cfg
{
	rp_bandit_policy policy;
	int			binary;			/* 1: rewards are 0/1 (Beta); 0: amounts */
	int			dim;			/* feature dimension (linear policies), else 0 */
	double		prior_a;		/* Beta prior (binary thompson) */
	double		prior_b;
	double		prior_mean;		/* Gaussian thompson prior pseudo-observation */
	double		prior_var;
	double		epsilon;		/* epsilon_greedy */
	double		alpha;			/* ucb1 / linucb width, lin_ts scale */
	double		lambda;			/* ridge of the linear policies */
	int			draws;			/* Monte-Carlo draws for Thompson propensities */
} rp_bandit_cfg;

/* Sums of one arm.  G (dim x dim, row-major) and b (dim) for linear policies. */
typedef struct rp_bandit_arm
{
	double		n;
	double		s;
	double		ss;
	double	   *G;
	double	   *b;
} rp_bandit_arm;

/* Fills cfg with the defaults (thompson, binary, Beta(1,1), eps 0.1...). */
extern void rp_bandit_defaults(rp_bandit_cfg *cfg);

/* Checks a configuration; RP_EINVAL with a short reason in *why. */
extern rp_status rp_bandit_check(const rp_bandit_cfg *cfg, const char **why);

/* Doubles of workspace rp_bandit_probabilities needs for k arms. */
extern size_t rp_bandit_workspace_size(const rp_bandit_cfg *cfg, int k);

/*
 * Choice probabilities of k arms.  eligible[i] = 0 excludes arm i (its
 * probability is 0); at least one arm must be eligible.  x: the context
 * (cfg->dim values, finite) for linear policies, else ignored.  rng: used
 * by Thompson policies only.  work: rp_bandit_workspace_size doubles.
 * prob[k] receives probabilities summing to 1.  RP_ENUMERIC when a matrix
 * is not positive definite or a value is not finite.
 */
extern rp_status rp_bandit_probabilities(const rp_bandit_cfg *cfg, int k,
										 const rp_bandit_arm *arms,
										 const unsigned char *eligible,
										 const double *x, rp_rng *rng,
										 double *prob, double *work);

/*
 * Linear policies: for each eligible arm, mean[i] = x' theta and
 * width[i] = sqrt(x' A^-1 x) with A = lambda I + G, theta = A^-1 b.
 * work: rp_bandit_workspace_size doubles.  RP_ENUMERIC for a non-finite
 * x or a matrix that is not positive definite.
 */
extern rp_status rp_bandit_linear_scores(const rp_bandit_cfg *cfg, int k,
										 const rp_bandit_arm *arms,
										 const unsigned char *eligible,
										 const double *x, double *mean,
										 double *width, double *work);

/* Index of the arm drawn with probabilities prob[k] by uniform u in [0,1). */
extern int	rp_bandit_pick(const double *prob, int k, double u);

/* Adds one reward r (context x for linear policies) to an arm's sums. */
extern void rp_bandit_update(const rp_bandit_cfg *cfg, rp_bandit_arm *arm,
							 const double *x, double r);

/*
 * Posterior (or empirical) mean of an arm and a 95% interval: Beta and
 * Gaussian posteriors use mean +- 1.96 sd (Beta clipped to [0, 1]); other
 * policies the empirical mean +- 1.96 sqrt(sample variance / n).  NaN when
 * nothing is known (n = 0 without a prior).
 */
extern void rp_bandit_summary(const rp_bandit_cfg *cfg, const rp_bandit_arm *arm,
							  double *mean, double *lo, double *hi);

/* A Beta(a, b) draw (Marsaglia and Tsang gammas), a, b > 0. */
extern double rp_bandit_beta(rp_rng *rng, double a, double b);

#endif							/* RP_BANDIT_H */
