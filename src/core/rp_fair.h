/*
 * rp_fair.h
 *	  Exposure measures of recommendation lists and the greedy re-ranker of
 *	  recommend(): maximal marginal relevance, calibration to a customer's
 *	  category mix and a minimum exposure share for a group of items, all
 *	  inside one filter-complete selection.
 *
 * Exposure (evaluate(), exposure(), exposure_rankings(); doc/evaluation.md,
 * "Fairness and exposure", writes the formulas out):
 *	- Gini coefficient of the item exposure vector x (x_i = number of lists
 *	  showing item i in their top k, ties shared), over every catalogue
 *	  item, x sorted ascending, i = 1..n:
 *		G = sum_i (2 i - n - 1) x_(i) / (n sum_i x_i),
 *	  0 when every item is shown equally often, (n - 1) / n when one item
 *	  takes every slot (the Lorenz-curve Gini used for recommender
 *	  concentration by Fleder and Hosanagar, "Blockbuster culture's next
 *	  rise or fall", Management Science 55(5), 2009);
 *	- long tail: the items outside the head, the head being the
 *	  ceil(0.2 n) most popular items of the training data (ties by item
 *	  order); long_tail_share = exposure of tail items / all exposure;
 *	  APLT = mean over lists of |tail items in the list| / |list|, ARP =
 *	  mean over lists of the mean popularity of its items (Abdollahpouri,
 *	  Burke and Mobasher, "Managing popularity bias in recommender systems
 *	  with personalized re-ranking", FLAIRS 2019).
 *
 * Re-ranking (rp_rerank_greedy): the candidates are every eligible item in
 * score order.  Scores are first mapped to [0, 1] over the candidates,
 * rel_j = (s_j - min s) / (max s - min s) (1 when all are equal), then each
 * step appends the admissible candidate with the largest
 *
 *	obj_j = (1 - ld - lc) rel_j - ld max_{i in L} sim(i, j) - lc KL_j
 *
 * (ld = diversity, lc = calibration, ld + lc <= 1; the max over an empty
 * list is 0; ties go to the better-scored candidate):
 *	- the similarity term is maximal marginal relevance (Carbonell and
 *	  Goldstein, "The use of MMR, diversity-based reranking for reordering
 *	  documents and producing summaries", SIGIR 1998);
 *	- KL_j = KL(p || q~) for the list L + {j}: p the customer's category
 *	  distribution (their history), q the list's (each categorised list item
 *	  weighs 1), q~ = (1 - a) q + a p with a = 0.01, and
 *	  KL(p || q~) = sum_{c: p(c) > 0} p(c) log(p(c) / q~(c))
 *	  (Steck, "Calibrated recommendations", RecSys 2018, eq. 2-4, with
 *	  uniform weights for history and list positions);
 *	- admissible: not yet chosen and its category below the cap;
 *	- minimum share s of a group G: the list length K = min(n, items the
 *	  cap lets through) is known in advance (it does not depend on the
 *	  order); before filling position r + 1 (r items chosen, g of them in
 *	  G) the choice is restricted to admissible G items when
 *	  g < floor(s (r + 1)) or ceil(s K) - g >= K - r, and some admissible G
 *	  item is left.  Every prefix then holds at least floor(s p) G items and
 *	  the list at least ceil(s K) when G has that many.
 * Whatever the options, the walk only stops when no admissible candidate is
 * left or the list has n items, so the call returns exactly
 * min(n, admissible items), as recommend() without re-ranking.
 *
 * Nothing here allocates: the caller passes a workspace of
 * rp_rerank_workspace_size() bytes.
 */
#ifndef RP_FAIR_H
#define RP_FAIR_H

#include "rp_core.h"

/*
 * Gini coefficient of x[0..n) (x_i >= 0, finite).  sorted: n doubles of
 * scratch.  0 when the sum is 0.  RP_EINVAL for n < 1, RP_ENUMERIC for a
 * negative or non-finite value.
 */
extern rp_status rp_gini(int32_t n, const double *x, double *sorted, double *out);

/*
 * Marks the head: the ceil(head_share n) items of largest popularity (ties
 * to the lower index), head[i] = 1, others 0.  order: n int32 of scratch.
 * RP_EINVAL for n < 1 or a share outside [0, 1].
 */
extern rp_status rp_popularity_head(int32_t n, const double *popularity,
									double head_share, int32_t *order,
									unsigned char *head);

/* Writes one row of item similarities: row[j] = sim(item, j), j < n_items. */
typedef void (*rp_sim_row_fn) (void *arg, int32_t item, double *row);

typedef struct rp_rerank_input
{
	int32_t		n_items;		/* catalogue size */
	int32_t		n_cand;			/* eligible candidates, best score first */
	const int32_t *cand;		/* their item indices */
	const double *score;		/* their scores (finite) */
	const int32_t *cat;			/* category of each item, -1 none; NULL */
	int32_t		ncat;
	int32_t		cap;			/* at most cap items per category; 0 none */
	double		diversity;		/* ld in [0, 1] */
	double		calibration;	/* lc in [0, 1], ld + lc <= 1 */
	rp_sim_row_fn sim;			/* needed when diversity > 0 */
	void	   *sim_arg;
	const double *target;		/* p(c), ncat entries summing to 1; NULL:
								 * calibration is skipped */
	double		min_share;		/* s in [0, 1]; 0 none */
	const unsigned char *group; /* G flags per item; NULL none */
} rp_rerank_input;

/* Bytes of workspace rp_rerank_greedy needs. */
extern size_t rp_rerank_workspace_size(const rp_rerank_input *in);

/*
 * The greedy re-ranking above: writes up to n positions into the candidate
 * array (pos[r] indexes cand), returns the count in *count.  RP_EINVAL on
 * bad weights, shares, sizes or a missing similarity callback.
 */
extern rp_status rp_rerank_greedy(const rp_rerank_input *in, int32_t n,
								  void *work, size_t work_size,
								  int32_t *pos, int32_t *count);

#endif							/* RP_FAIR_H */
