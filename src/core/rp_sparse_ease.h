/*
 * rp_sparse_ease.h
 *	  Sparse EASE: EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for
 *	  Sparse Data") solved per item column over that item's top-K
 *	  co-occurring neighbours, the neighbourhood restriction of SLIM (Ning
 *	  and Karypis 2011, "SLIM: Sparse Linear Methods for Top-N Recommender
 *	  Systems"; its fsSLIM variant picks the features of each column by
 *	  item similarity).
 *
 * Dense EASE's column j is the ridge regression of item j's column of X on
 * all the other columns: b_j = (G_{-j,-j} + lambda I)^-1 G_{-j,j} with
 * G = X^T X (the zero diagonal of B is "j left out").  Here the regressors
 * are restricted to N(j), the K items with the largest co-occurrence G_jl
 * (l != j; ties and the filling of a short list go to the lower index, so
 * zero co-occurrences fill a list only when fewer than K items co-occur):
 *
 *		(G_NN + lambda I) b = G_Nj,		B[N(j), j] = b, every other B_ij = 0
 *
 * With K = n_items - 1 this is dense EASE exactly.  B has n_items * K
 * non-zeros; memory is proportional to n_items * K (plus one batch of
 * K x K systems), never n_items^2.  Co-occurrence rows are computed
 * sparsely from X and X^T (cost: sum over users of row length^2, per pass);
 * the K x K systems are solved by Cholesky (K^3 / 3 each).
 */
#ifndef RP_SPARSE_EASE_H
#define RP_SPARSE_EASE_H

#include "rp_core.h"
#include "rp_csr.h"

#define RP_SEASE_MAX_K 2000

/*
 * Bytes rp_sease_fit allocates itself (per-thread accumulators, one batch
 * of systems), for the glue's memory check; plus 12 bytes per interaction
 * and 8 per user (X restricted to a batch's items), which the caller adds.
 */
extern double rp_sease_work_bytes(int32_t n_items, int32_t k, int32_t batch, int nthreads);

/*
 * Fits sparse EASE.
 *
 * X: users x items CSR, XT its transpose (items x users); finite values.
 * lambda > 0; k >= 1 (min(k, n_items - 1) neighbours are used: *k_used).
 * batch: columns whose K x K systems are held at once (>= 1); each batch
 *   recomputes the co-occurrence rows of its neighbours, so larger is faster.
 * out: caller-allocated CSR with n_items * k_used slots (indptr n_items + 1):
 *   row j of out is COLUMN j of B (the neighbours of j ascending with their
 *   weights), i.e. out = B^T.
 * Threads: nthreads (rp_parallel_for; workers do not allocate).  cancel is
 *   polled between blocks.  Returns RP_EINVAL, RP_ENOMEM, RP_ENUMERIC (a
 *   system that is not positive definite or a non-finite result),
 *   RP_ECANCELED.  Deterministic for any thread count.
 */
extern rp_status rp_sease_fit(const rp_csr *X, const rp_csr *XT, double lambda, int32_t k,
							  int32_t batch, int nthreads, rp_csr *out, int32_t *k_used,
							  const rp_cancel *cancel);

/*
 * Re-solves the columns cols[0..ncols) of an existing fit (out as above,
 * its neighbour lists kept) on new data X / XT (same item count): for
 * erasure, where only the columns whose systems involve a touched item
 * change.  The neighbour sets are not reselected.  Same statuses.
 */
extern rp_status rp_sease_resolve(const rp_csr *X, const rp_csr *XT, double lambda,
								  const int32_t *cols, int32_t ncols, int nthreads,
								  rp_csr *out, const rp_cancel *cancel);

#endif							/* RP_SPARSE_EASE_H */
