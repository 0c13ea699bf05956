/*
 * rp_csr.c
 *	  Building and transposing CSR matrices (see rp_csr.h).
 *
 * rp_csr_from_coo is a counting sort by row (O(n + rows)), then an
 * insertion-or-merge pass per row that sorts columns and sums duplicates.
 * Rows of interaction data are short (a customer buys tens of products), so
 * sorting each row in place is cheaper than a global sort by (row, col).
 *
 * rp_coo_bucket_by_col + rp_csr_from_col_buckets do the same with two
 * stable counting sorts (by column, then by row: a least-significant-digit
 * radix sort on (row, col)), O(n + rows + cols) with no comparison and no
 * allocation; source reading uses them, with the triplets freed between
 * the passes.
 */
#include "rp_csr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t
rp_csr_from_coo_workspace(int32_t n_rows)
{
	return ((size_t) n_rows + 1) * sizeof(int64_t);
}

typedef struct colval
{
	int32_t		col;
	double		val;
} colval;

static int
colval_cmp(const void *a, const void *b)
{
	int32_t		x = ((const colval *) a)->col;
	int32_t		y = ((const colval *) b)->col;

	return (x > y) - (x < y);
}

void
rp_sort_pairs(int32_t *cols, double *vals, int64_t len)
{
	colval	   *tmp = NULL;

	/* long rows: pack into pairs and use qsort (ties are summed by callers) */
	if (len > 32)
		tmp = malloc((size_t) len * sizeof(colval));
	if (tmp != NULL)
	{
		for (int64_t i = 0; i < len; i++)
		{
			tmp[i].col = cols[i];
			tmp[i].val = vals[i];
		}
		qsort(tmp, (size_t) len, sizeof(colval), colval_cmp);
		for (int64_t i = 0; i < len; i++)
		{
			cols[i] = tmp[i].col;
			vals[i] = tmp[i].val;
		}
		free(tmp);
		return;
	}
	/* short rows (or no memory for the pairs): insertion sort in place */
	for (int64_t i = 1; i < len; i++)
	{
		int32_t		c = cols[i];
		double		v = vals[i];
		int64_t		j = i - 1;

		while (j >= 0 && cols[j] > c)
		{
			cols[j + 1] = cols[j];
			vals[j + 1] = vals[j];
			j--;
		}
		cols[j + 1] = c;
		vals[j + 1] = v;
	}
}

rp_status
rp_csr_from_coo(int32_t n_rows, int32_t n_cols, int64_t n,
				const int32_t *rows, const int32_t *cols, const double *vals,
				rp_csr *out, void *work)
{
	int64_t    *fill = (int64_t *) work;
	int64_t    *indptr = out->indptr;
	int64_t		w;

	if (n_rows < 0 || n_cols < 0 || n < 0)
		return RP_EINVAL;
	for (int64_t i = 0; i < n; i++)
		if (rows[i] < 0 || rows[i] >= n_rows || cols[i] < 0 || cols[i] >= n_cols)
			return RP_EINVAL;

	/* counting sort by row */
	memset(indptr, 0, ((size_t) n_rows + 1) * sizeof(int64_t));
	for (int64_t i = 0; i < n; i++)
		indptr[rows[i] + 1]++;
	for (int32_t r = 0; r < n_rows; r++)
		indptr[r + 1] += indptr[r];
	memcpy(fill, indptr, ((size_t) n_rows + 1) * sizeof(int64_t));
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		pos = fill[rows[i]]++;

		out->indices[pos] = cols[i];
		out->values[pos] = vals[i];
	}

	/* sort each row, sum duplicates, compact */
	w = 0;
	for (int32_t r = 0; r < n_rows; r++)
	{
		int64_t		b = indptr[r];
		int64_t		e = indptr[r + 1];

		rp_sort_pairs(out->indices + b, out->values + b, e - b);
		indptr[r] = w;
		for (int64_t i = b; i < e; i++)
		{
			if (w > indptr[r] && out->indices[w - 1] == out->indices[i])
				out->values[w - 1] += out->values[i];
			else
			{
				out->indices[w] = out->indices[i];
				out->values[w] = out->values[i];
				w++;
			}
		}
	}
	indptr[n_rows] = w;
	out->n_rows = n_rows;
	out->n_cols = n_cols;
	out->nnz = w;
	return RP_OK;
}

rp_status
rp_coo_bucket_by_col(int32_t n_rows, int32_t n_cols, int64_t n,
					 const int32_t *rows, const int32_t *cols, const double *vals,
					 int64_t *colptr, int32_t *rows_by_col, double *vals_by_col)
{
	if (n_rows < 0 || n_cols < 0 || n < 0)
		return RP_EINVAL;
	for (int64_t i = 0; i < n; i++)
		if (rows[i] < 0 || rows[i] >= n_rows || cols[i] < 0 || cols[i] >= n_cols)
			return RP_EINVAL;
	memset(colptr, 0, ((size_t) n_cols + 1) * sizeof(int64_t));
	for (int64_t i = 0; i < n; i++)
		colptr[cols[i] + 1]++;
	for (int32_t c = 0; c < n_cols; c++)
		colptr[c + 1] += colptr[c];
	/* colptr[c] walks bucket c; shifted back below */
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		pos = colptr[cols[i]]++;

		rows_by_col[pos] = rows[i];
		vals_by_col[pos] = vals[i];
	}
	for (int32_t c = n_cols; c > 0; c--)
		colptr[c] = colptr[c - 1];
	colptr[0] = 0;
	return RP_OK;
}

rp_status
rp_csr_from_col_buckets(int32_t n_rows, int32_t n_cols, const int64_t *colptr,
						const int32_t *rows_by_col, const double *vals_by_col,
						rp_csr *out, void *work)
{
	int64_t    *fill = (int64_t *) work;
	int64_t    *indptr = out->indptr;
	int64_t		n;
	int64_t		w;

	if (n_rows < 0 || n_cols < 0)
		return RP_EINVAL;
	n = colptr[n_cols];
	memset(indptr, 0, ((size_t) n_rows + 1) * sizeof(int64_t));
	for (int64_t i = 0; i < n; i++)
		indptr[rows_by_col[i] + 1]++;
	for (int32_t r = 0; r < n_rows; r++)
		indptr[r + 1] += indptr[r];
	memcpy(fill, indptr, ((size_t) n_rows + 1) * sizeof(int64_t));
	/* columns visited in order: every row receives its columns sorted */
	for (int32_t c = 0; c < n_cols; c++)
		for (int64_t i = colptr[c]; i < colptr[c + 1]; i++)
		{
			int64_t		pos = fill[rows_by_col[i]]++;

			out->indices[pos] = c;
			out->values[pos] = vals_by_col[i];
		}
	/* sum adjacent duplicates, compact */
	w = 0;
	for (int32_t r = 0; r < n_rows; r++)
	{
		int64_t		b = indptr[r];
		int64_t		e = indptr[r + 1];

		indptr[r] = w;
		for (int64_t i = b; i < e; i++)
		{
			if (w > indptr[r] && out->indices[w - 1] == out->indices[i])
				out->values[w - 1] += out->values[i];
			else
			{
				out->indices[w] = out->indices[i];
				out->values[w] = out->values[i];
				w++;
			}
		}
	}
	indptr[n_rows] = w;
	out->n_rows = n_rows;
	out->n_cols = n_cols;
	out->nnz = w;
	return RP_OK;
}

rp_status
rp_csr_transpose(const rp_csr *a, rp_csr *out)
{
	int64_t    *ptr = out->indptr;

	memset(ptr, 0, ((size_t) a->n_cols + 1) * sizeof(int64_t));
	for (int64_t i = 0; i < a->nnz; i++)
		ptr[a->indices[i] + 1]++;
	for (int32_t c = 0; c < a->n_cols; c++)
		ptr[c + 1] += ptr[c];
	/* rows visited in order, so each output row stays sorted */
	for (int32_t r = 0; r < a->n_rows; r++)
		for (int64_t i = a->indptr[r]; i < a->indptr[r + 1]; i++)
		{
			int32_t		c = a->indices[i];
			int64_t		pos = ptr[c]++;

			out->indices[pos] = r;
			out->values[pos] = a->values[i];
		}
	/* ptr[c] now holds the end of row c: shift back */
	for (int32_t c = a->n_cols; c > 0; c--)
		ptr[c] = ptr[c - 1];
	ptr[0] = 0;
	out->n_rows = a->n_cols;
	out->n_cols = a->n_rows;
	out->nnz = a->nnz;
	return RP_OK;
}

double
rp_csr_get(const rp_csr *a, int32_t r, int32_t c)
{
	int64_t		lo = a->indptr[r];
	int64_t		hi = a->indptr[r + 1];

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (a->indices[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < a->indptr[r + 1] && a->indices[lo] == c) ? a->values[lo] : 0.0;
}

void
rp_csr_spmv_sparse(const rp_csr *At, const int32_t *idx, const double *vals,
				   int32_t n, double *out)
{
	for (int32_t k = 0; k < n; k++)
	{
		int32_t		j = idx[k];
		double		q = vals[k];

		for (int64_t p = At->indptr[j]; p < At->indptr[j + 1]; p++)
			out[At->indices[p]] += q * At->values[p];
	}
}

void
rp_csr_row_norms(const rp_csr *a, double *out)
{
	for (int32_t r = 0; r < a->n_rows; r++)
	{
		double		s = 0.0;

		for (int64_t p = a->indptr[r]; p < a->indptr[r + 1]; p++)
			s += a->values[p] * a->values[p];
		out[r] = sqrt(s);
	}
}
