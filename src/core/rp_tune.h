/*
 * rp_tune.h
 *	  Hyper-parameter search: the validation split and the search loop's
 *	  decisions (which values to try next, when the budget is spent, which
 *	  trial won), without any training or scoring.
 *
 * The glue (src/pg/tune.c) owns the expensive parts: it fits a model on the
 * training slice for each trial the tuner proposes and reports the
 * validation metric back.  Everything here is pure, allocation-free and
 * deterministic under a seed, so that the unit tests can drive the loop with
 * a fake objective and a fake clock.
 *
 * Split (rp_tune_split): per user, a fraction of the user's distinct items
 * goes to validation: the items the user met last when times are given
 * (ties and the no-time case ordered by a seeded hash of (user, item)), at
 * least one and never all of them; users with a single item stay wholly in
 * training.  The training slice is everything else, so a model fitted on it
 * has never seen a validation pair.
 *
 * Strategies:
 *	- grid: the Cartesian product of each parameter's grid points, visited
 *	  in a seeded random order (so a trial budget smaller than the grid
 *	  samples it evenly rather than sweeping the first parameter only);
 *	- random: each parameter drawn independently, log-uniformly on a log
 *	  scale, uniformly otherwise (Bergstra and Bengio, "Random search for
 *	  hyper-parameter optimization", JMLR 13, 2012);
 *	- adaptive: random search for the first half of the trial budget (the
 *	  exploration), then each trial a perturbation of one of the three best
 *	  trials so far, drawn uniformly, in the first half of the refinement,
 *	  of the best in the second (the refinement): numeric parameters
 *	  move by a Gaussian step on their (log) scale, normalised to the
 *	  range, whose width shrinks linearly from a quarter to a twenty-fifth
 *	  of the range over the refinement; a choice is redrawn with
 *	  probability 1/4.  A (3+1) evolution strategy with a fixed step
 *	  schedule (Rechenberg 1973; Beyer and Schwefel, "Evolution
 *	  strategies", Natural Computing 1, 2002) after Bergstra and Bengio's
 *	  random start.  Three parents rather than one keep a second basin
 *	  alive when the defaults are a strong local optimum (ALS on Online
 *	  Retail: the defaults' weak ridge against a strong one 2.5 decades
 *	  away, which a near miss of the exploration leads to);
 *	- halving: successive halving (Jamieson and Talwalkar, AISTATS 2016;
 *	  the inner loop of Hyperband, Li et al., JMLR 18, 2018): n random
 *	  configurations fitted on a fraction of the users, the best 1/eta of
 *	  them refitted on eta times more, up to all users.  The resource is the
 *	  share of users (training and validation alike), which cuts the cost of
 *	  every method but EASE's inversion.
 * An optional start point (the method's defaults) is always the first
 * trial of random, adaptive and halving, so the tuned choice is never worse on the
 * validation slice than the defaults.
 * Budget: at most max_trials trials; with max_seconds > 0 no trial starts
 * once that much time has passed (the running one finishes).  At least one
 * trial always runs.
 */
#ifndef RP_TUNE_H
#define RP_TUNE_H

#include "rp_core.h"
#include "rp_csr.h"
#include "rp_rng.h"

#define RP_TUNE_MAX_PARAMS 8
#define RP_TUNE_MAX_TRIALS 10000
#define RP_TUNE_ETA 3
#define RP_TUNE_PARENTS 3
/*
 * A trial must beat the start point (the defaults) by this share of its
 * validation metric to replace it: smaller gains are within the noise of
 * a validation slice (a different ALS seed moves NDCG@10 by 0.3 % on
 * Online Retail), and would swap well-tested defaults for values that are
 * no better after the validation period.
 */
#define RP_TUNE_START_MARGIN 0.005

typedef enum rp_tune_kind
{
	RP_TUNE_INT,				/* integer in [lo, hi] */
	RP_TUNE_FLOAT,				/* real in [lo, hi] */
	RP_TUNE_CHOICE				/* index in [0, n_grid) */
} rp_tune_kind;

typedef struct rp_tune_param
{
	const char *name;
	rp_tune_kind kind;
	double		lo;
	double		hi;
	int			log_scale;		/* sample and grid on log(value); lo > 0 */
	int			n_grid;			/* grid points (choices: the count) */
} rp_tune_param;

typedef enum rp_tune_strategy
{
	RP_TUNE_GRID,
	RP_TUNE_RANDOM,
	RP_TUNE_HALVING,
	RP_TUNE_ADAPTIVE
} rp_tune_strategy;

/*
 * Marks validation entries of R: is_valid[p] = 1 for the held-out entries
 * (positions of R's arrays), 0 for training.  pair_time: nnz times or NULL
 * (random order).  fraction in (0, 1).  work: rp_tune_split_workspace(R)
 * bytes.  Returns the number of validation entries in *n_valid.
 */
extern size_t rp_tune_split_workspace(const rp_csr *R);
extern rp_status rp_tune_split(const rp_csr *R, const double *pair_time, double fraction,
							   uint64_t seed, unsigned char *is_valid, void *work,
							   int64_t *n_valid);

/*
 * The leave-future-out variant: the validation entries are those whose
 * time is at or after the global cut, the (1 - fraction) quantile of all
 * finite pair times, so the validation slice is the most recent stretch of
 * time for every user at once (as a test set cut at a date).  A user left
 * without a training entry keeps its earliest one (ties: the lower
 * position) in training; users with a single entry stay in training.
 * work: rp_tune_split_global_workspace(R) bytes.
 */
extern size_t rp_tune_split_global_workspace(const rp_csr *R);
extern rp_status rp_tune_split_global(const rp_csr *R, const double *pair_time, double fraction,
									  unsigned char *is_valid, void *work, int64_t *n_valid);

/*
 * Copies the entries of R whose flag equals `keep` into out (same shape;
 * out arrays allocated by the caller: n_rows + 1 and nnz entries).  With
 * user_keep non-NULL, rows r with user_keep[r] == 0 come out empty.
 */
extern void rp_tune_filter(const rp_csr *R, const unsigned char *flag, unsigned char keep,
						   const unsigned char *user_keep, rp_csr *out);

/* Whether user r is in the share `fraction` of users (seeded hash). */
extern int	rp_tune_user_in(int32_t r, double fraction, uint64_t seed);

/* Number of grid points (product of n_grid), capped at RP_TUNE_MAX_TRIALS + 1. */
extern int64_t rp_tune_grid_size(const rp_tune_param *params, int n_params);

/* Value of grid point j (0 <= j < n_grid) of a parameter. */
extern double rp_tune_grid_value(const rp_tune_param *p, int j);

/* The tuner: the caller owns it and its arrays (see rp_tune_workspace). */
typedef struct rp_tuner
{
	const rp_tune_param *params;
	int			n_params;
	rp_tune_strategy strategy;
	int			max_trials;
	double		max_seconds;	/* <= 0: no time limit */
	rp_rng		rng;
	/* trial records, max_trials each (values: max_trials x n_params) */
	double	   *values;
	double	   *metric;			/* NaN until reported */
	double	   *fraction;
	int32_t    *rung;
	int32_t    *parent;			/* halving: the trial this one promotes, or -1 */
	int			n_trials;		/* proposed so far */
	/* grid: permutation of the grid points */
	int64_t		grid_n;
	int64_t    *grid_order;
	/* halving */
	int			n0;				/* configurations in rung 0 */
	int			n_rungs;
	int			cur_rung;
	int			rung_start;		/* first trial of the current rung */
	int			rung_size;
	void	   *rank_work;		/* halving: max_trials entries for ranking a rung */
	/* adaptive: trials of the random exploration before the refinement */
	int			n_explore;
	int			has_start;
	double		start[RP_TUNE_MAX_PARAMS];
} rp_tuner;

/* Bytes of workspace the tuner needs for these sizes. */
extern size_t rp_tune_workspace(int n_params, int max_trials);

/*
 * Sets up the tuner.  start: the default values (n_params) or NULL.
 * RP_EINVAL on a bad parameter description (empty range, log scale with
 * lo <= 0, no grid points, too many parameters) or max_trials < 1.
 */
extern rp_status rp_tune_init(rp_tuner *t, const rp_tune_param *params, int n_params,
							  rp_tune_strategy strategy, int max_trials, double max_seconds,
							  uint64_t seed, const double *start, void *work, size_t work_size);

/*
 * The next trial to run, or -1 when the search is over (trials or time
 * spent, grid exhausted, halving finished).  elapsed: seconds since the
 * search started.  The trial's values are at t->values + id * n_params and
 * its share of users at t->fraction[id].  Every earlier trial must have been
 * reported.
 */
extern int	rp_tune_next(rp_tuner *t, double elapsed);

/* Records the objective of trial id (higher is better; NaN: failed). */
extern void rp_tune_report(rp_tuner *t, int id, double metric);

/*
 * The winning trial: the best finite metric among the trials at the
 * largest share of users any finished trial reached (ties: the earlier
 * trial), unless the start point was tried at that share and the best
 * beats it by no more than RP_TUNE_START_MARGIN of its metric: then the
 * start point's trial.  -1 when no trial has a finite metric.
 */
extern int	rp_tune_best(const rp_tuner *t);

#endif							/* RP_TUNE_H */
