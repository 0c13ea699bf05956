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
 * non-zeros.  Co-occurrences are computed sparsely from X and X^T: one
 * pass for the neighbour lists (cost: sum over users of row length^2),
 * one for the Gram entries the systems need (about half that), each entry
 * once; the K x K systems are solved by Cholesky (K^3 / 3 each).  Memory:
 * n_items * K for B, per-thread accumulators (n_items each), and the
 * needed Gram entries (about 12 bytes each: at most n_items * K (K + 1) / 2, far
 * fewer in practice because neighbour lists share their popular items),
 * held in chunks of columns under a caller-given cap.
 */
#ifndef RP_SPARSE_EASE_H
#define RP_SPARSE_EASE_H

#include "rp_core.h"
#include "rp_csr.h"

#define RP_SEASE_MAX_K 2000

/*
 * Bytes rp_sease_fit (ncols = n_items) or rp_sease_resolve allocates
 * itself besides the Gram entries (per-thread accumulators and systems,
 * reverse neighbour lists, the diagonal), for the glue's memory check.
 * The Gram entries add at most 12 bytes each (8 for the value, at most 4
 * for the key: a row's keys are int32 or, when denser, a bitmap), held at
 * most max_pairs * 12 bytes at once (or one column's K (K + 1) / 2
 * entries if that is more).
 */
#define RP_SEASE_PAIR_BYTES 12
extern double rp_sease_work_bytes(int32_t n_items, int32_t k, int32_t ncols, int nthreads);

/*
 * Fits sparse EASE.
 *
 * X: users x items CSR, XT its transpose (items x users); finite values.
 * lambda > 0; k >= 1 (min(k, n_items - 1) neighbours are used: *k_used).
 * max_pairs: Gram storage held at once, in 12-byte entries (>= 1); when
 *   the systems of all columns need more, they are solved in chunks of
 *   columns, each chunk recomputing the co-occurrence rows it needs
 *   (slower, same result).
 * out: caller-allocated CSR with n_items * k_used slots (indptr n_items + 1):
 *   row j of out is COLUMN j of B (the neighbours of j ascending with their
 *   weights), i.e. out = B^T.
 * Threads: nthreads (rp_parallel_for; workers do not allocate; they call
 *   LAPACK, so OpenBLAS must be single-threaded).  cancel is polled
 *   between blocks.  Returns RP_EINVAL, RP_ENOMEM, RP_ENUMERIC (a
 *   system that is not positive definite or a non-finite result),
 *   RP_ECANCELED.  Deterministic for any thread count.
 */
extern rp_status rp_sease_fit(const rp_csr *X, const rp_csr *XT, double lambda, int32_t k,
							  int64_t max_pairs, int nthreads, rp_csr *out, int32_t *k_used,
							  const rp_cancel *cancel);

/*
 * Re-solves the columns cols[0..ncols) of an existing fit (out as above,
 * its neighbour lists kept) on new data X / XT (same item count): for
 * erasure, where only the columns whose systems involve a touched item
 * change.  The neighbour sets are not reselected.  max_pairs as above.
 * Same statuses; the weights equal a fit's bit for bit.
 */
extern rp_status rp_sease_resolve(const rp_csr *X, const rp_csr *XT, double lambda,
								  const int32_t *cols, int32_t ncols, int64_t max_pairs,
								  int nthreads,
								  rp_csr *out, const rp_cancel *cancel);

#endif							/* RP_SPARSE_EASE_H */
