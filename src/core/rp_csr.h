/*
 * rp_csr.h
 *	  Compressed sparse row matrices of interactions (users x items).
 *
 * The one sparse format of the core.  Row r's entries are
 * indices[indptr[r] .. indptr[r+1]) with values in the same positions;
 * within a row, column indices are strictly increasing (duplicates summed).
 * Row and column indices are int32 (PostgreSQL keys are mapped to dense
 * indices by the glue), positions are int64 so a matrix may hold more than
 * 2^31 non-zeros.  Storage is owned by whoever allocated it: the core never
 * frees caller memory.
 */
#ifndef RP_CSR_H
#define RP_CSR_H

#include "rp_core.h"

typedef struct rp_csr
{
	int32_t		n_rows;
	int32_t		n_cols;
	int64_t		nnz;
	int64_t    *indptr;			/* n_rows + 1 */
	int32_t    *indices;		/* nnz */
	double	   *values;			/* nnz */
} rp_csr;

/*
 * Builds a CSR from coordinate triplets, summing duplicate (row, col) pairs.
 *
 * rows/cols/vals: n triplets, 0 <= rows[i] < n_rows, 0 <= cols[i] < n_cols
 * out: indptr (n_rows + 1), indices and values (n each, at least) allocated
 *   by the caller; on return out->nnz <= n is the number of distinct pairs.
 * work: scratch of rp_csr_from_coo_workspace(n_rows) bytes.
 * Stable: the result depends only on the multiset of triplets.
 */
extern size_t rp_csr_from_coo_workspace(int32_t n_rows);
extern rp_status rp_csr_from_coo(int32_t n_rows, int32_t n_cols, int64_t n,
								 const int32_t *rows, const int32_t *cols,
								 const double *vals, rp_csr *out, void *work);

/*
 * The same CSR in two stable counting sorts and no comparison sort, split
 * so that the caller can free the triplets between the passes (the peak is
 * then 12 bytes a triplet for the bucketed copy plus the larger of the
 * triplets and the result).
 *
 * rp_coo_bucket_by_col: stable counting sort of the n triplets by column.
 *   colptr (n_cols + 1) receives the bucket bounds; rows_by_col and
 *   vals_by_col (n each) the rows and values in column order (input order
 *   within a column).  Indices must be in range (RP_EINVAL otherwise).
 * rp_csr_from_col_buckets: scatters the buckets by row (stable), so each
 *   row's columns come out increasing and duplicates adjacent in input
 *   order; sums duplicates in that order and compacts.  out as for
 *   rp_csr_from_coo; work: rp_csr_from_coo_workspace(n_rows) bytes.
 * Together they equal rp_csr_from_coo up to the order duplicates are
 * summed in (here: input order, so the result depends on the triplets'
 * order only through the rounding of duplicate sums).
 */
extern rp_status rp_coo_bucket_by_col(int32_t n_rows, int32_t n_cols, int64_t n,
									  const int32_t *rows, const int32_t *cols,
									  const double *vals, int64_t *colptr,
									  int32_t *rows_by_col, double *vals_by_col);
extern rp_status rp_csr_from_col_buckets(int32_t n_rows, int32_t n_cols,
										 const int64_t *colptr, const int32_t *rows_by_col,
										 const double *vals_by_col, rp_csr *out, void *work);

/*
 * The position in a->indices of entry (row, col), or -1 when a does not
 * hold it.  Needs the row's column indices in increasing order (every
 * matrix the builders here make); row must be in [0, n_rows).  Binary
 * search: O(log row length).
 */
extern int64_t rp_csr_find(const rp_csr *a, int32_t row, int32_t col);

/*
 * Transposes a (cols x rows); out arrays allocated by the caller with
 * n_cols + 1 and nnz entries.  Rows of the result stay sorted.
 */
extern rp_status rp_csr_transpose(const rp_csr *a, rp_csr *out);

/*
 * The three counting sorts above on nthreads threads (rp_parallel_for),
 * bit-identical to the one-thread functions for any thread count: each
 * thread counts and scatters one contiguous part of the input, and part t's
 * entries of a key follow parts 0..t-1's.  work: rp_csr_mt_workspace(n_keys,
 * nthreads) bytes, where n_keys is the output's number of rows (a->n_cols
 * for the transpose, n_cols for the bucketing, n_rows for the scatter; the
 * last also takes the workspace of rp_csr_from_col_buckets, which is
 * smaller).  One thread, or small inputs, run the serial function.  Pure
 * computation: the threads call nothing but the core.
 */
extern size_t rp_csr_mt_workspace(int64_t n_keys, int nthreads);
extern rp_status rp_csr_transpose_mt(const rp_csr *a, rp_csr *out, int nthreads, void *work);
extern rp_status rp_coo_bucket_by_col_mt(int32_t n_rows, int32_t n_cols, int64_t n,
										 const int32_t *rows, const int32_t *cols,
										 const double *vals, int64_t *colptr,
										 int32_t *rows_by_col, double *vals_by_col,
										 int nthreads, void *work);
extern rp_status rp_csr_from_col_buckets_mt(int32_t n_rows, int32_t n_cols,
											const int64_t *colptr,
											const int32_t *rows_by_col,
											const double *vals_by_col, rp_csr *out,
											int nthreads, void *work);

/* Looks up a(r, c); returns 0.0 when absent.  Binary search in row r. */
extern double rp_csr_get(const rp_csr *a, int32_t r, int32_t c);

/*
 * out[r] += sum_j A[r, j] * q_j for a sparse q given as (idx, vals, n),
 * computed through At = A transposed (the rows of At are A's columns), so
 * the cost is the number of non-zeros in the columns q touches.  out has
 * A's row count and is not cleared.
 */
extern void rp_csr_spmv_sparse(const rp_csr *At, const int32_t *idx, const double *vals,
							   int32_t n, double *out);

/*
 * Sorts (index, value) pairs by index, in place.  Called on the main
 * thread (it may allocate a scratch array for long inputs).
 */
extern void rp_sort_pairs(int32_t *idx, double *vals, int64_t len);

/* Euclidean norm of each row: out[r] = sqrt(sum_j A[r, j]^2). */
extern void rp_csr_row_norms(const rp_csr *a, double *out);

#endif							/* RP_CSR_H */
