/*
 * knn.h
 *	  Helpers shared by the neighbourhood methods (method_item_knn.c,
 *	  method_user_knn.c, method_content.c), and the serving of item x item
 *	  CSR models (item_knn, sparse_ease).
 */
#ifndef RECPROMO_KNN_H
#define RECPROMO_KNN_H

#include "postgres.h"

#include "method.h"
#include "model_store.h"
#include "rp_knn.h"

/* The accepted values of the `weighting` hyper-parameter, NULL-terminated. */
extern const char *const RecpromoKnnWeightings[];

/* Maps a weighting name (one of RecpromoKnnWeightings) to the core's enum. */
extern rp_knn_weighting RecpromoKnnWeighting(const char *name);

/*
 * Top-k neighbours of the rows of A (n x d, unweighted): weights A's values
 * in place (w, k1, b as rp_knn_weight), builds the transpose, checks the
 * memory plan against recpromo.memory_limit, runs the core on `threads`
 * threads with the cancel hook, and returns the neighbour CSR in S,
 * allocated in CurrentMemoryContext.  `what` names the operation in errors.
 */
extern void RecpromoKnnFit(rp_csr *A, rp_knn_weighting w, double k1, double b,
						   int32 k, double shrink, int threads, rp_csr *S,
						   const char *what);

/*
 * The same, given T, a matrix that may already be A's transpose (the
 * interaction matrix an item x user A was transposed from): when no
 * weighting changes A's values and T's rows are strictly increasing by
 * column (as rp_csr_transpose makes them), T is used as the transpose
 * instead of building one (same entries, same values, so the same result).
 * T may be NULL.
 */
extern void RecpromoKnnFitFrom(rp_csr *A, const rp_csr *T, rp_knn_weighting w,
							   double k1, double b, int32 k, double shrink,
							   int threads, rp_csr *S, const char *what);

/*
 * Rebuilds an n x n neighbour CSR from the parts <prefix>_indptr/_indices/
 * _values of model `model`, checked (model_validate.h: offsets, indices in
 * range and strictly increasing per row, finite values); a bad part raises
 * ERRCODE_DATA_CORRUPTED.
 */
extern void RecpromoKnnLoadParts(const RecpromoParts *parts, const char *model,
								 const char *prefix, int32 n, rp_csr *S);

/*
 * Serving of an item x item model whose state (m->state) starts with its
 * CSR W (rows sorted by column): item_knn's neighbours, sparse_ease's B.
 * Score: sum over the history of vals[h] * W[hist[h], :]; similar items:
 * row i (other items -inf); explain: vals[h] * W[hist[h], item], -inf where
 * the item is not in the history item's row.
 */
extern void RecpromoItemCsrScore(const RecpromoModel *m, int32 u, const int32 *hist,
								 const double *vals, int32 nhist, double *scores);
extern void RecpromoItemCsrSimilarItems(const RecpromoModel *m, int32 i, double *sims);
extern void RecpromoItemCsrExplain(const RecpromoModel *m, int32 u, const int32 *hist,
								   const double *vals, int32 nhist, int32 item, double *contrib);

#endif							/* RECPROMO_KNN_H */
