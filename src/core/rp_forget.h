/*
 * rp_forget.h
 *	  Erasure without retraining: the pieces of forget_user / forget_item
 *	  (src/pg/forget.c) that are pure computation.
 *
 *	- rp_forget_csr_drop: the interaction matrix without some rows and
 *	  columns, the survivors renumbered (what a retrain on the source
 *	  without those rows would read: key dictionaries are sorted, so
 *	  dropping keys keeps the relative order of the others);
 *	- rp_ease_downdate / rp_ease_drop / rp_ease_b_from_p / packing: the
 *	  EASE inverse P = (X^T X + lambda I)^-1 after removing a user (a rank-1
 *	  Sherman-Morrison downdate, Woodbury with k = 1: G' = G - x x^T gives
 *	  P' = P + (P x)(P x)^T / (1 - x^T P x)) or an item (the inverse of G
 *	  without row and column set D is the Schur complement
 *	  P_AA - P_AD P_DD^-1 P_DA);
 *	- rp_knn_cooccur / rp_knn_refit_rows: an item-item neighbour matrix in
 *	  which only the rows whose candidates changed are recomputed.
 * Numerics: the Sherman-Morrison denominator is 1 - x^T P x = 1 / (1 + x^T
 * P' x) > 0 in exact arithmetic; a value <= 1e-12 (cancellation) or a
 * non-finite one is RP_ENUMERIC, and the glue falls back to a refit.
 */
#ifndef RP_FORGET_H
#define RP_FORGET_H

#include "rp_core.h"
#include "rp_csr.h"
#include "rp_knn.h"

/*
 * out = R without the rows with row_map[r] < 0 and the columns with
 * col_map[c] < 0; the others renumbered to row_map[r] / col_map[c], which
 * must be increasing over the kept ones (order preserved).  out->indptr
 * holds n_rows_out + 1 entries, indices/values R->nnz (upper bound) each,
 * caller-allocated.  Sets out's shape and nnz.  O(nnz).
 */
extern void rp_forget_csr_drop(const rp_csr *R, const int32_t *row_map,
							   const int32_t *col_map, int32_t n_rows_out,
							   int32_t n_cols_out, rp_csr *out);

/*
 * P (n x n, full, symmetric, row-major) := the inverse of G - x x^T given
 * P = G^-1, x sparse (nx entries at idx, values val).  work: n doubles.
 * RP_ENUMERIC when the denominator is not safely positive or the result is
 * not finite (P is then left partly updated).  O(n * nx + n^2).
 */
extern rp_status rp_ease_downdate(double *P, int32_t n, const int32_t *idx,
								  const double *val, int32_t nx, double *work);

/*
 * out ((n - nd) x (n - nd), full) := the inverse of G without the rows and
 * columns drop[0..nd) (sorted, distinct), given P = G^-1 (n x n, full).
 * work: rp_ease_drop_workspace_size(n, nd) bytes.  out may
 * not alias P.  RP_ENUMERIC if P_DD is not positive definite.  O(n^2 nd).
 */
extern rp_status rp_ease_drop(const double *P, int32_t n, const int32_t *drop,
							  int32_t nd, double *out, double *work);

/* Bytes of work rp_ease_drop needs. */
extern size_t rp_ease_drop_workspace_size(int32_t n, int32_t nd);

/*
 * B[i * n + j] = (float) (P_ij * (-1 / P_jj)), B_ii = 0: the EASE weights
 * from the inverse, computed exactly as rp_ease_fit does.  RP_ENUMERIC for
 * a diagonal entry that is not positive and finite.  work: n doubles.
 * _packed: the same from the packed upper triangle (rp_ease_pack's layout),
 * by 64 x 64 tiles; bit-identical to rp_ease_b_from_p of the full matrix.
 */
extern rp_status rp_ease_b_from_p(const double *P, int32_t n, float *B, double *work);
extern rp_status rp_ease_b_from_packed(const double *Pp, int32_t n, float *B, double *work);

/*
 * rp_ease_downdate on the packed upper triangle, in place (BLAS dspr): no
 * n x n buffer.  work: n doubles.  Same statuses; the same numbers up to
 * the summation order of P x.
 */
extern rp_status rp_ease_downdate_packed(double *Pp, int32_t n, const int32_t *idx,
										 const double *val, int32_t nx, double *work);

/* Packs the upper triangle of P (row-major, i <= j) in place; returns nothing. */
extern void rp_ease_pack(double *P, int32_t n);

/* Unpacks n (n + 1) / 2 packed doubles into the full symmetric out (n x n). */
extern void rp_ease_unpack(const double *packed, int32_t n, double *out);

/*
 * mark[i] = 1 for every column i of X (users x items: the items) that
 * shares a row (a user) with a column i' having touched[i'], and for the
 * touched columns themselves: the item rows whose neighbour lists an
 * erasure can change.  mark has X->n_cols bytes, zeroed by the caller.
 * O(nnz).
 */
extern void rp_knn_cooccur(const rp_csr *X, const uint8_t *touched, uint8_t *mark);

/*
 * Neighbour matrix out (n_new rows) from the old one S_old: new row i is
 * recomputed when mark[i] (rp_knn_query against A/AT/norms with the row as
 * query and exclude = i: the same numbers rp_knn_fit gives), else copied
 * from old row old_of_new[i] with its columns renumbered by col_map (old ->
 * new; entries mapped to -1 are skipped, which the caller rules out by
 * marking every row that could hold one).  out->indptr has n_new + 1
 * entries; indices/values `capacity` entries each (at least the copied
 * entries plus k per marked row).  work: rp_knn_refit_workspace_size bytes.
 * Rows come out sorted by column.  Polls cancel every 64 marked rows.
 */
extern rp_status rp_knn_refit_rows(const rp_csr *A, const rp_csr *AT,
								   const double *norms, const rp_knn_params *p,
								   const rp_csr *S_old, const int32_t *old_of_new,
								   const int32_t *col_map, const uint8_t *mark,
								   rp_csr *out, int64_t capacity, void *work,
								   const rp_cancel *cancel);

extern size_t rp_knn_refit_workspace_size(int32_t n_vec, int32_t k);

#endif							/* RP_FORGET_H */
