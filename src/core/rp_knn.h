/*
 * rp_knn.h
 *	  Neighbourhood models: top-k cosine neighbours of sparse vectors, with
 *	  shrinkage and optional TF-IDF or BM25 weighting, and the scores they
 *	  give a user.
 *
 * Orientation.  Every function compares the rows of a CSR matrix A
 * (n_vec x n_dim): for item-item neighbours A is items x users (the
 * transpose of the interaction matrix), for user-user neighbours A is the
 * interaction matrix itself.  The "documents" of the weighting schemes are
 * the rows of A and the "terms" its columns.  The similarity step also needs
 * AT, the transpose of A (n_dim x n_vec), so that the dot products of row i
 * with every other row are one sparse-sparse product:
 *
 *		dot(i, j) = sum over d in A[i,:] of A[i,d] * AT[d,j]
 *
 * Definitions (documented in doc/training.md, "Neighbourhoods, content and hybrids"):
 *	  cosine		cos(i, j) = dot(i, j) / (|A_i| |A_j|), 0 when a norm is 0,
 *					clamped to [-1, 1]
 *	  shrinkage		s(i, j) = cos(i, j) * n_ij / (n_ij + shrink), n_ij = the
 *					number of dimensions both rows have (common users for
 *					items) - the support-based shrinkage of Koren (2008,
 *					"Factorization meets the neighborhood", section 2.2)
 *	  TF-IDF		w = r * (ln((1 + N) / (1 + df_d)) + 1), N = n_vec, df_d =
 *					number of rows with a non-zero in column d (the smooth
 *					idf of scikit-learn's TfidfTransformer)
 *	  BM25			w = r (k1 + 1) / (r + k1 (1 - b + b len_i / avglen)) *
 *					ln(1 + (N - df_d + 0.5) / (df_d + 0.5)), len_i = row sum,
 *					avglen = mean row sum; Robertson & Zaragoza (2009, "The
 *					probabilistic relevance framework: BM25 and beyond"), with
 *					Lucene's non-negative idf; defaults k1 = 1.2, b = 0.75
 *	  kept			the k most similar other rows (similarity > 0), ties
 *					broken by the smaller index
 *	  item score	score(u, j) = sum over i in H(u) of r_ui * s(i, j), summed
 *					over the history items i that keep j as a neighbour
 *	  user score	score(u, j) = sum over v in N(u) of s(u, v) * r_vj
 */
#ifndef RP_KNN_H
#define RP_KNN_H

#include "rp_core.h"
#include "rp_csr.h"

typedef enum rp_knn_weighting
{
	RP_KNN_WEIGHT_NONE = 0,
	RP_KNN_WEIGHT_TFIDF,
	RP_KNN_WEIGHT_BM25
} rp_knn_weighting;

#define RP_KNN_BM25_K1 1.2
#define RP_KNN_BM25_B 0.75
#define RP_KNN_MAX_K 100000

typedef struct rp_knn_params
{
	int32_t		k;				/* neighbours kept per row, 1..RP_KNN_MAX_K */
	double		shrink;			/* >= 0; 0 disables shrinkage */
	int			nthreads;		/* >= 1 */
} rp_knn_params;

/*
 * Bytes of scratch rp_knn_weight() needs for A (n_cols doubles of document
 * frequencies).
 */
extern size_t rp_knn_weight_workspace_size(const rp_csr *A);

/*
 * Writes the weighted values of A's entries (same positions as A->values)
 * into out (nnz doubles, may be A->values itself).  k1 > 0 and 0 <= b <= 1
 * are used by BM25 only.  Returns RP_EINVAL for a negative value under BM25
 * or TF-IDF (the formulas assume counts), RP_ENUMERIC for a non-finite one.
 * Sequential; O(nnz).
 */
extern rp_status rp_knn_weight(const rp_csr *A, rp_knn_weighting weighting,
							   double k1, double b, double *out, void *work);

/*
 * The per-column part of a weighting, for weighting vectors that are not
 * rows of A (a user folded in at serving time): idf (n_cols doubles) gets
 * the TF-IDF or BM25 idf of each column of A (1 for NONE), *avglen the mean
 * row sum.  Returns RP_EINVAL / RP_ENUMERIC like rp_knn_weight.
 */
extern rp_status rp_knn_idf(const rp_csr *A, rp_knn_weighting weighting,
							double *idf, double *avglen);

/*
 * Weights one vector (n entries, values val, column indices idx) as a row of
 * A would be weighted, given rp_knn_idf's idf and avglen; writes out[0..n).
 * rp_knn_weight(A) equals this applied to each row of A.
 */
extern void rp_knn_weight_row(rp_knn_weighting weighting, double k1, double b,
							  const double *idf, double avglen, const int32_t *idx,
							  const double *val, int64_t n, double *out);

/*
 * Euclidean norms of A's rows into norms (n_rows doubles), summed in double
 * in row order.
 */
extern void rp_knn_row_norms(const rp_csr *A, double *norms);

/*
 * Bytes of scratch rp_knn_fit() needs: per thread, a dense accumulator, an
 * overlap counter, a touched list, a heap size and an admission threshold
 * of n_vec entries each and k merge entries; per thread after the first, a
 * k-entry selection heap for every row (n_vec * k * 12 bytes; the first
 * thread's heaps are the output).  Memory is O(nnz + threads * n_vec * k):
 * never an n_vec x n_vec matrix.
 */
extern size_t rp_knn_workspace_size(int32_t n_vec, int32_t k, int nthreads);

/*
 * Top-k neighbours of every row of A.
 *
 * A: n_vec x n_dim, AT its transpose (rows sorted, as rp_csr_transpose
 *   makes them); both already weighted if weighting is wanted.
 * out: indptr (n_vec + 1), indices and values (n_vec * k each) allocated by
 *   the caller; on return row i holds i's kept neighbours sorted by column
 *   index, out->nnz their total (the arrays are compacted).
 * work: rp_knn_workspace_size(n_vec, k, nthreads) bytes, caller-owned,
 *   8-byte aligned.
 * Runs rp_parallel_for over blocks of rows; each pair (i, j), i < j, is
 * computed once, by the thread running row i, and offered to both rows;
 * the threads' heaps are merged per row at the end.  A pair's similarity
 * is bit-identical to the row-by-row kernel's (rp_knn_query of row i with
 * exclude = i) and the kept set is the unique top k, so the output is
 * identical for any thread count.  Polls cancel between blocks
 * (RP_ECANCELED).  Cost: half the sum over columns d of (nnz of AT row
 * d)^2 multiply-adds, plus O(log k) per positive pair kept by a heap.
 */
extern rp_status rp_knn_fit(const rp_csr *A, const rp_csr *AT,
							const rp_knn_params *p, rp_csr *out, void *work,
							const rp_cancel *cancel);

/*
 * Bytes of scratch for rp_knn_query() against n_vec rows and k neighbours.
 */
extern size_t rp_knn_query_workspace_size(int32_t n_vec, int32_t k);

/*
 * Top-k rows of A most similar to a query vector q (q_n entries, indices
 * into A's columns strictly increasing, values already weighted): the
 * fold-in of a user or item that was not in A.  AT and norms (of A's rows,
 * rp_knn_row_norms) as for rp_knn_fit; exclude is a row not to return (-1
 * for none).  Writes up to k (index, similarity) pairs sorted by
 * similarity descending (ties: smaller index) and returns their count in
 * *n_out.  Sequential.
 */
extern rp_status rp_knn_query(const rp_csr *AT, const double *norms, int32_t n_vec,
							  const int32_t *q_idx, const double *q_val, int32_t q_n,
							  int32_t exclude, const rp_knn_params *p,
							  int32_t *out_idx, double *out_sim, int32_t *n_out,
							  void *work);

/*
 * Item-based scores: scores[j] = sum over h of hist_val[h] * S(hist_idx[h], j)
 * for every j (scores has S->n_cols entries and is overwritten).  S is an
 * rp_knn_fit result over items.  Sequential; O(history * k).
 */
extern void rp_knn_score_items(const rp_csr *S, const int32_t *hist_idx,
							   const double *hist_val, int32_t n_hist,
							   double *scores);

/*
 * User-based scores: scores[j] = sum over the neighbours v (nb_idx, nb_sim,
 * n_nb of them) of nb_sim * X(v, j), X the users x items interactions.
 * scores has X->n_cols entries and is overwritten.
 */
extern void rp_knn_score_users(const rp_csr *X, const int32_t *nb_idx,
							   const double *nb_sim, int32_t n_nb,
							   double *scores);

#endif							/* RP_KNN_H */
