/*
 * rp_metrics.h
 *	  Offline evaluation metrics of ranked recommendation lists: precision,
 *	  recall, F1, NDCG, average precision, hit and reciprocal rank at k, plus
 *	  catalogue coverage, popularity bias and rating errors (RMSE, MAE).
 *
 * One user's list is given as n entries in rank order with a sort key per
 * entry (ascending; equal keys are ties) and a relevance flag; n_relevant is
 * the size of the user's whole relevant set R (relevant items that were not
 * recommended count too).  Ties are scored by their expectation over every
 * order of the tied entries, each equally likely (McSherry and Najork 2008),
 * so a model gains nothing from the order in which equal scores happen to be
 * listed.  Conventions (doc/evaluation.md writes out the formulas):
 *	- positions beyond the list (a list shorter than k) hold no relevant item;
 *	- precision divides by k, recall by |R|, F1 = 2 hits / (k + |R|);
 *	- NDCG: binary gain, discount 1/log2(1 + position), ideal DCG over
 *	  min(k, |R|) positions (the scikit-learn ndcg_score convention);
 *	- average precision at k is normalised by min(k, |R|);
 *	- hit is the probability of at least one relevant entry in the top k,
 *	  reciprocal rank the expected 1/position of the first one (0 if none
 *	  within k).
 * Every function is pure and thread-safe; nothing allocates.
 *
 * Reference: F. McSherry, M. Najork, "Computing information retrieval
 * performance measures efficiently in the presence of tied scores",
 * ECIR 2008.  K. Järvelin, J. Kekäläinen, "Cumulated gain-based evaluation
 * of IR techniques", ACM TOIS 20(4), 2002.
 */
#ifndef RP_METRICS_H
#define RP_METRICS_H

#include "rp_core.h"

/* One user's ranking metrics at k (all in [0, 1] except hits). */
typedef struct rp_rank_metrics
{
	double		hits;			/* expected relevant entries in the top k */
	double		precision;
	double		recall;
	double		f1;
	double		ndcg;
	double		ap;				/* average precision at k */
	double		hit;			/* 1 if a relevant entry is in the top k */
	double		rr;				/* reciprocal rank of the first one */
} rp_rank_metrics;

/*
 * Scores one user's ranked list.
 *
 * k: cut-off, >= 1.  n: list length, >= 0 (entries past k are ignored, but
 *   a tie group straddling k is shared out).
 * keys: n ascending sort keys (equal = tied), finite; NULL means no ties
 *   (entry i is at position i + 1).
 * relevant: n flags (0 or 1); no more than n_relevant of them set.
 * n_relevant: |R| >= 1.
 * Returns RP_EINVAL on bad sizes, unsorted or non-finite keys, or more
 * relevant entries than n_relevant; out is then untouched.
 */
extern rp_status rp_rank_metrics_user(int32_t k, int64_t n, const double *keys,
									  const unsigned char *relevant,
									  int64_t n_relevant, rp_rank_metrics *out);

/*
 * Writes each entry's probability of lying in the top k (1 before the cut,
 * 0 after, s/m for a tie group of m entries with s positions within k).
 * Same list conventions as rp_rank_metrics_user; weights has n slots.
 * Used for coverage and popularity, which weigh recommended items by it.
 */
extern rp_status rp_rank_weights(int32_t k, int64_t n, const double *keys,
								 double *weights);

/* Running means of rp_rank_metrics over users (summed in call order). */
typedef struct rp_metrics_acc
{
	int64_t		users;
	rp_rank_metrics sum;
} rp_metrics_acc;

extern void rp_metrics_acc_init(rp_metrics_acc *acc);
extern void rp_metrics_acc_add(rp_metrics_acc *acc, const rp_rank_metrics *m);

/* Means over the users added; RP_EINVAL when none were. */
extern rp_status rp_metrics_acc_mean(const rp_metrics_acc *acc,
									 rp_rank_metrics *mean);

/* Catalogue-level figures of a set of recommendation lists. */
typedef struct rp_catalogue_metrics
{
	double		coverage;		/* share of catalogue items recommended */
	double		popularity_recommended; /* mean popularity per slot */
	double		popularity_catalogue;	/* mean popularity per item */
	double		popularity_bias;	/* the ratio of the two (NaN if 0/0) */
} rp_catalogue_metrics;

/*
 * Coverage and popularity bias.
 *
 * n_items: catalogue size >= 1.  exposure[i] >= 0: summed top-k weights of
 * item i over all lists (rp_rank_weights).  popularity[i] >= 0: e.g. the
 * number of training users of item i.  coverage counts items with positive
 * exposure; popularity_recommended is sum(exposure * popularity) /
 * sum(exposure) (0 when nothing was recommended); popularity_bias is
 * popularity_recommended / popularity_catalogue.
 * Returns RP_EINVAL on a bad size, RP_ENUMERIC on negative or non-finite
 * input.
 */
extern rp_status rp_catalogue_metrics_compute(int32_t n_items,
											  const double *exposure,
											  const double *popularity,
											  rp_catalogue_metrics *out);

/* Running sums for RMSE and MAE of predicted against true ratings. */
typedef struct rp_error_acc
{
	int64_t		n;
	double		sum_sq;
	double		sum_abs;
} rp_error_acc;

extern void rp_error_acc_init(rp_error_acc *acc);

/* Adds one (prediction, truth) pair; RP_ENUMERIC if either is not finite. */
extern rp_status rp_error_acc_add(rp_error_acc *acc, double prediction,
								  double truth);

/* sqrt(mean squared error) and mean absolute error; RP_EINVAL when n = 0. */
extern rp_status rp_error_acc_result(const rp_error_acc *acc, double *rmse,
									 double *mae);

/*
 * Deterministic split position of a (user, item) pair, in [0, 1).
 *
 * The keys' text forms (decimal for integers) are hashed with 64-bit FNV-1a
 * over user bytes, one 0x00 byte, item bytes; the seed is then folded in
 * (h ^= seed * 0x9E3779B97F4A7C15, seed as a two's-complement 64-bit
 * integer) and the result scrambled with the SplitMix64 finalizer (Steele,
 * Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA
 * 2014).  The position is (h >> 11) / 2^53.  Everything is defined on bytes
 * and unsigned 64-bit arithmetic, so every machine gives the same answer,
 * and an integer key hashes like its decimal text.
 */
extern double rp_split_position(const char *user, size_t user_len,
								 const char *item, size_t item_len,
								 int64_t seed);

#endif							/* RP_METRICS_H */
