/*
 * rp_topk.h
 *	  Top-k selection over a score vector, with exclusions applied inside the
 *	  selection.
 *
 * Serving asks for the k best items among the eligible ones.  Filtering
 * after a top-k cut returns fewer rows than asked (the classic complaint
 * about post-filtered vector search), so the eligibility test is part of
 * the selection: an item is eligible when its score is not -infinity (the
 * caller writes -INFINITY for excluded items) and, when `allowed` is given,
 * allowed[i] != 0.  Ties are broken by the lower index, so the order is
 * total and stable: the same scores always give the same list.
 */
#ifndef RP_TOPK_H
#define RP_TOPK_H

#include "rp_core.h"

/*
 * Selects the min(k, eligible) best of scores[0..n) into out_idx / out_score,
 * best first.  `allowed` may be NULL.  NaN scores are treated as
 * ineligible.  Returns the number selected.  O(n log k), no allocation.
 */
extern int32_t rp_topk(const double *scores, int32_t n, const unsigned char *allowed,
					   int32_t k, int32_t *out_idx, double *out_score);

/*
 * The same over a candidate subset: only indices cand[0..ncand) are
 * considered (duplicates must not occur).
 */
extern int32_t rp_topk_subset(const double *scores, const int32_t *cand, int32_t ncand,
							  int32_t k, int32_t *out_idx, double *out_score);

/*
 * The streaming form both of the above use: offer (s, i) to a heap of at
 * most k entries held in idx/sc (*m of them so far; start with *m = 0), then
 * rp_topk_finish sorts the m kept entries best first.  Same total order
 * (score descending, index ascending); no allocation, thread-safe.
 */
extern void rp_topk_offer(int32_t *idx, double *sc, int32_t k, int32_t *m,
						  double s, int32_t i);
extern void rp_topk_finish(int32_t *idx, double *sc, int32_t m);

#endif							/* RP_TOPK_H */
