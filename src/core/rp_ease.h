/*
 * rp_ease.h
 *	  EASE: the closed-form item-item model of Steck (2019, "Embarrassingly
 *	  Shallow Autoencoders for Sparse Data", WWW '19, arXiv:1905.03375).
 *
 * For interactions X (users x items) and regularisation lambda > 0:
 *
 *		G = X^T X + lambda I			(items x items, dense, symmetric PD)
 *		P = G^-1						(Cholesky: LAPACK dpotrf + dpotri)
 *		B_ij = -P_ij / P_jj, B_jj = 0	(the constrained least-squares solution of
 *										 min |X - XB|^2 + lambda |B|^2, diag(B) = 0)
 *		score(u, j) = sum over i of x_ui B_ij
 *
 * The one dense n_items x n_items matrix is the model: memory grows with the
 * square of the item count (rp_ease_memory_bytes), and training costs about
 * n^3 floating-point operations (n^3/3 for dpotrf, 2n^3/3 for dpotri) plus
 * sum over users of (their item count)^2 for the Gram matrix.  Values of X
 * are used as given (purchase counts, ratings); Steck's paper uses 0/1.
 */
#ifndef RP_EASE_H
#define RP_EASE_H

#include "rp_core.h"
#include "rp_csr.h"

/*
 * Bytes rp_ease_fit needs for n_items: the n x n double matrix B (G, its
 * factor and its inverse are computed in place there).  The glue adds its
 * own copies (a float copy for storage) and refuses over the memory limit.
 */
extern double rp_ease_memory_bytes(int32_t n_items);

/*
 * Fits EASE.
 *
 * X: users x items CSR (finite values).  lambda: > 0, finite.
 * B: n_items * n_items doubles allocated by the caller, row-major; on
 *   return B[i * n + j] is the weight of a history item i towards item j,
 *   with a zero diagonal.
 * work: n_items doubles of scratch, caller-owned.
 * cancel: polled every 1024 users while the Gram matrix is summed, and
 *   between the LAPACK calls (which cannot be interrupted).
 * Returns RP_EINVAL for a bad lambda, RP_ELIMIT when n_items exceeds
 *   LAPACK's int index range, RP_ENUMERIC for non-finite input or a matrix
 *   LAPACK finds not positive definite (info > 0), RP_ECANCELED.
 * Runs on the calling thread; OpenBLAS may use its own threads inside.
 */
extern rp_status rp_ease_fit(const rp_csr *X, double lambda, double *B,
							 double *work, const rp_cancel *cancel);

/*
 * The first half of rp_ease_fit: P = (X^T X + lambda I)^-1 into P (n x n
 * doubles, full and symmetric, row-major), the part forget_user downdates.
 * Same arguments and statuses as rp_ease_fit; rp_ease_fit is this followed
 * by B_ij = P_ij * (-1 / P_jj), B_jj = 0.
 */
extern rp_status rp_ease_inverse(const rp_csr *X, double lambda, double *P,
								 const rp_cancel *cancel);

/*
 * The inversion step of rp_ease_inverse, shared with SLIST (rp_slist.c):
 * B (n x n doubles, row-major) holds a symmetric positive definite matrix
 * in its upper triangle (j >= i; the lower one is ignored); on return B is
 * its full inverse.  RP_ELIMIT beyond LAPACK's int range, RP_ENUMERIC when
 * LAPACK finds the matrix not positive definite, RP_ECANCELED (polled
 * between the LAPACK calls).
 */
extern rp_status rp_ease_invert(double *B, int32_t n, const rp_cancel *cancel);

/*
 * Scores of every item for a history (hist_n items with values): scores[j] =
 * sum over h of hist_val[h] * B[hist_idx[h] * n + j], B in float (the form
 * the glue stores).  scores has n entries and is overwritten; indices out
 * of range are skipped.  O(history * n), contiguous rows of B.
 */
extern void rp_ease_score(const float *B, int32_t n, const int32_t *hist_idx,
						  const double *hist_val, int32_t hist_n, double *scores);

#endif							/* RP_EASE_H */
