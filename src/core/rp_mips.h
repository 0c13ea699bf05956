/*
 * rp_mips.h
 *	  Exact top-k maximum inner product search that does not touch every
 *	  item: items ordered by norm, Cauchy-Schwarz bounds, early stop.
 *
 * The problem is recommend() for one user of a factor model:
 * score(i) = base + (item_bias[i] + u . V[i,:]) for every item i, keep the
 * k best eligible items (score descending, ties by the lower item index,
 * the order of rp_topk), leaving out a sorted exclusion list and items not
 * in an optional allow-list.  The answer is the double top-k, bit for bit
 * what a full scan with the same formula returns (rp_batch.c's dscore).
 *
 * The index is one pointer-free buffer (a header of offsets, then arrays),
 * built once per model: it can be copied, written to a file or mapped into
 * shared memory as it is.  It holds a copy of the rows of the largest
 * items only: queries take the model's V and item bias, which must be the
 * ones the index was built from.
 *
 * Usage:
 *	size_t sz = rp_mips_index_size(n_items, factors, item_bias != NULL);
 *	void *ix = malloc(sz);
 *	rp_mips_build(V, item_bias, n_items, factors, ix, sz);
 *	n = rp_mips_topk(ix, V, item_bias, &query, k, out_idx, out_score, &stats);
 *	if (n < 0) ... the search gave up after query.max_visit items:
 *				   use a full scan (the bounds did not prune this user)
 */
#ifndef RP_MIPS_H
#define RP_MIPS_H

#include "rp_core.h"

typedef struct rp_mips_query
{
	const double *u;			/* the user's factor row (factors values) */
	double		base;			/* global + user bias, added to every score */
	const int32_t *excl;		/* excluded item indices, ascending, or NULL */
	int32_t		nexcl;
	const unsigned char *allowed;	/* n_items flags (0: never), or NULL */
	int64_t		max_visit;		/* give up after scoring this many items
								 * (<= 0: never give up) */
} rp_mips_query;

typedef struct rp_mips_stats
{
	int64_t		scored;			/* items whose exact score was computed */
	int64_t		examined;		/* items whose bound was looked at */
} rp_mips_stats;

/* Bytes of the index of n_items x factors (0 for invalid sizes). */
extern size_t rp_mips_index_size(int32_t n_items, int32_t factors, int has_bias);

/*
 * Builds the index of V (n_items x factors, row-major, finite) and the
 * optional item bias into buf (any alignment of 8 bytes; at least
 * rp_mips_index_size() bytes).  O(n factors + n log n).  Returns RP_OK or
 * RP_EINVAL (bad sizes, small buffer, misaligned buffer).
 */
extern rp_status rp_mips_build(const double *V, const double *item_bias, int32_t n_items,
							   int32_t factors, void *buf, size_t size);

/* True when buf holds a well-formed index of n_items x factors (bias or not). */
extern int	rp_mips_index_valid(const void *buf, size_t size, int32_t n_items,
								int32_t factors, int has_bias);

/*
 * The full check of an index that comes from outside this process (a
 * shared model image, src/pg/model_image.c): rp_mips_index_valid, and
 * perm a permutation of [0, n_items), so that no query can read outside V,
 * the item bias or the caller's allow-list, whatever the other bytes hold
 * (a damaged norm can only change which items are scored, never where
 * memory is read).  `seen` is the caller's scratch of (n_items + 7) / 8
 * bytes (any contents).  O(n_items).
 */
extern int	rp_mips_index_check(const void *buf, size_t size, int32_t n_items,
								int32_t factors, int has_bias, unsigned char *seen);

/*
 * The exact top-k of one query (see the file comment): min(k, eligible)
 * entries into out_idx / out_score (k entries each), best first.  Returns
 * that count, or -1 when more than q->max_visit items had to be scored
 * (outputs then unspecified).  No allocation; thread-safe; stats may be
 * NULL.
 */
extern int32_t rp_mips_topk(const void *index, const double *V, const double *item_bias,
							const rp_mips_query *q, int32_t k,
							int32_t *out_idx, double *out_score, rp_mips_stats *stats);

/*
 * How well the bounds prune this model: runs the query of up to `nsample`
 * rows of U (n_users x factors, evenly spaced, no exclusions; rows of all
 * zeros, which no bound can prune, are passed over for the next row) for
 * the top k, each allowed to score at most max_visit items, and returns
 * the mean fraction of items scored (1.0 for a query that gave up, and
 * when every row is zero).  The glue keeps
 * the index only when the fraction is small (e.g. Gaussian vectors, whose
 * norms are all alike, are not pruned and keep the screening pass).
 */
extern double rp_mips_probe(const void *index, const double *V, const double *item_bias,
							const double *U, int32_t n_users, int32_t nsample, int32_t k,
							int64_t max_visit);

#endif							/* RP_MIPS_H */
