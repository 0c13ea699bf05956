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
#include "rp_parallel.h"

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

/*
 * Copies entries [b, e) of a row whose equal columns are adjacent to
 * position w (w <= b; the same arrays), summing each run of equal
 * columns in order; returns the position after the last entry written.
 */
static int64_t
sum_adjacent(int32_t *ix, double *vx, int64_t b, int64_t e, int64_t w)
{
	int64_t		start = w;

	for (int64_t i = b; i < e; i++)
	{
		if (w > start && ix[w - 1] == ix[i])
			vx[w - 1] += vx[i];
		else
		{
			ix[w] = ix[i];
			vx[w] = vx[i];
			w++;
		}
	}
	return w;
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
		w = sum_adjacent(out->indices, out->values, b, e, w);
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
		w = sum_adjacent(out->indices, out->values, b, e, w);
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

/*
 * Threaded counting sorts.  Each of T threads takes one contiguous part of
 * the input (rows of a CSR, triplets, buckets), counts its keys into its own
 * count array, then, after a serial prefix that gives part t of key c the
 * positions right after parts 0..t-1 of key c, scatters its part.  A key's
 * entries therefore land in exactly the order one thread walking the input
 * from the start would put them: the output is bit-identical to the serial
 * functions for any T (unit-tested).  Parts are balanced by entries.
 */
typedef struct csr_mt
{
	int			parts;
	int64_t		n_keys;			/* per-part count arrays hold n_keys + 1 */
	int64_t    *cnt;			/* parts x (n_keys + 1) */
	int64_t		bound[RP_MAX_THREADS + 1];	/* part p: [bound[p], bound[p+1]) */
	/* the operation's data */
	rp_csr	   *out;
	const int32_t *rows;
	const int32_t *cols;
	const double *vals;
	/*
	 * Entries grouped by outer unit (a column of the bucket build, a row of
	 * the transpose): unit c holds [colptr[c], colptr[c+1]), each entry a
	 * key (its output row) and a value.  rows_count / rows_scatter build
	 * the key-major CSR from them.
	 */
	const int64_t *colptr;
	const int32_t *rows_by_col;
	const double *vals_by_col;
	int32_t    *o_idx;
	double	   *o_val;
	int64_t    *kept;
	int32_t		n_rows;
	int32_t		n_cols;
	int			bad;
} csr_mt;

size_t
rp_csr_mt_workspace(int64_t n_keys, int nthreads)
{
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;
	return ((size_t) nthreads + 1) * ((size_t) n_keys + 1) * sizeof(int64_t);
}

/* parts bounds over n_outer outer units with prefix ptr (NULL: uniform) */
static void
csr_mt_split(csr_mt *m, int64_t n_outer, const int64_t *ptr)
{
	m->bound[0] = 0;
	for (int p = 1; p < m->parts; p++)
	{
		if (ptr == NULL)
			m->bound[p] = n_outer * p / m->parts;
		else
		{
			/* first outer unit whose start reaches p / parts of the entries */
			int64_t		target = ptr[n_outer] / m->parts * p;
			int64_t		lo = m->bound[p - 1];
			int64_t		hi = n_outer;

			while (lo < hi)
			{
				int64_t		mid = lo + (hi - lo) / 2;

				if (ptr[mid] < target)
					lo = mid + 1;
				else
					hi = mid;
			}
			m->bound[p] = lo;
		}
	}
	m->bound[m->parts] = n_outer;
}

/* turns the parts' counts into their start positions; fills ptr (n_keys + 1) */
static void
csr_mt_offsets(csr_mt *m, int64_t *ptr)
{
	int64_t		run = 0;
	int64_t		stride = m->n_keys + 1;

	for (int64_t c = 0; c < m->n_keys; c++)
	{
		ptr[c] = run;
		for (int p = 0; p < m->parts; p++)
		{
			int64_t		n = m->cnt[p * stride + c];

			m->cnt[p * stride + c] = run;
			run += n;
		}
	}
	ptr[m->n_keys] = run;
}

static void rows_count(void *arg, int thread, int64_t begin, int64_t end);
static void rows_scatter(void *arg, int thread, int64_t begin, int64_t end);

rp_status
rp_csr_transpose_mt(const rp_csr *a, rp_csr *out, int nthreads, void *work)
{
	csr_mt		m;

	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;
	if (nthreads <= 1 || a->nnz < 65536 || a->n_rows < nthreads)
		return rp_csr_transpose(a, out);
	memset(&m, 0, sizeof(m));
	m.parts = nthreads;
	m.n_keys = a->n_cols;
	m.cnt = (int64_t *) work;
	/* a's rows are the outer units, its column indices the keys */
	m.colptr = a->indptr;
	m.rows_by_col = a->indices;
	m.vals_by_col = a->values;
	m.out = out;
	csr_mt_split(&m, a->n_rows, a->indptr);
	rp_parallel_for(nthreads, nthreads, 1, rows_count, &m, NULL);
	csr_mt_offsets(&m, out->indptr);
	rp_parallel_for(nthreads, nthreads, 1, rows_scatter, &m, NULL);
	out->n_rows = a->n_cols;
	out->n_cols = a->n_rows;
	out->nnz = a->nnz;
	return RP_OK;
}

static void
bucket_count(void *arg, int thread, int64_t begin, int64_t end)
{
	csr_mt	   *m = (csr_mt *) arg;

	for (int64_t p = begin; p < end; p++)
	{
		int64_t    *cnt = m->cnt + p * (m->n_keys + 1);
		int			bad = 0;

		memset(cnt, 0, ((size_t) m->n_keys + 1) * sizeof(int64_t));
		for (int64_t i = m->bound[p]; i < m->bound[p + 1]; i++)
		{
			int32_t		r = m->rows[i];
			int32_t		c = m->cols[i];

			if (r < 0 || r >= m->n_rows || c < 0 || c >= m->n_cols)
			{
				bad = 1;
				continue;
			}
			cnt[c]++;
		}
		if (bad)
			m->cnt[p * (m->n_keys + 1) + m->n_keys] = 1;	/* the spare slot */
	}
}

static void
bucket_scatter(void *arg, int thread, int64_t begin, int64_t end)
{
	csr_mt	   *m = (csr_mt *) arg;

	for (int64_t p = begin; p < end; p++)
	{
		int64_t    *pos = m->cnt + p * (m->n_keys + 1);

		for (int64_t i = m->bound[p]; i < m->bound[p + 1]; i++)
		{
			int64_t		q = pos[m->cols[i]]++;

			m->o_idx[q] = m->rows[i];
			m->o_val[q] = m->vals[i];
		}
	}
}

rp_status
rp_coo_bucket_by_col_mt(int32_t n_rows, int32_t n_cols, int64_t n,
						const int32_t *rows, const int32_t *cols, const double *vals,
						int64_t *colptr, int32_t *rows_by_col, double *vals_by_col,
						int nthreads, void *work)
{
	csr_mt		m;

	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;
	if (nthreads <= 1 || n < 65536 || n_rows < 0 || n_cols < 0)
		return rp_coo_bucket_by_col(n_rows, n_cols, n, rows, cols, vals, colptr,
									rows_by_col, vals_by_col);
	memset(&m, 0, sizeof(m));
	m.parts = nthreads;
	m.n_keys = n_cols;
	m.cnt = (int64_t *) work;
	m.rows = rows;
	m.cols = cols;
	m.vals = vals;
	m.n_rows = n_rows;
	m.n_cols = n_cols;
	m.o_idx = rows_by_col;
	m.o_val = vals_by_col;
	csr_mt_split(&m, n, NULL);
	rp_parallel_for(nthreads, nthreads, 1, bucket_count, &m, NULL);
	for (int p = 0; p < m.parts; p++)
		if (m.cnt[p * (m.n_keys + 1) + m.n_keys] != 0)
			return RP_EINVAL;
	csr_mt_offsets(&m, colptr);
	rp_parallel_for(nthreads, nthreads, 1, bucket_scatter, &m, NULL);
	return RP_OK;
}

static void
rows_count(void *arg, int thread, int64_t begin, int64_t end)
{
	csr_mt	   *m = (csr_mt *) arg;

	for (int64_t p = begin; p < end; p++)
	{
		int64_t    *cnt = m->cnt + p * (m->n_keys + 1);

		memset(cnt, 0, ((size_t) m->n_keys + 1) * sizeof(int64_t));
		for (int64_t i = m->colptr[m->bound[p]]; i < m->colptr[m->bound[p + 1]]; i++)
			cnt[m->rows_by_col[i]]++;
	}
}

static void
rows_scatter(void *arg, int thread, int64_t begin, int64_t end)
{
	csr_mt	   *m = (csr_mt *) arg;

	for (int64_t p = begin; p < end; p++)
	{
		int64_t    *pos = m->cnt + p * (m->n_keys + 1);

		/* units visited in order: every output row receives its entries sorted by unit */
		for (int64_t c = m->bound[p]; c < m->bound[p + 1]; c++)
			for (int64_t i = m->colptr[c]; i < m->colptr[c + 1]; i++)
			{
				int64_t		q = pos[m->rows_by_col[i]]++;

				m->out->indices[q] = (int32_t) c;
				m->out->values[q] = m->vals_by_col[i];
			}
	}
}

/* sums adjacent duplicates of each row in place, at the row's start */
static void
rows_dedup(void *arg, int thread, int64_t begin, int64_t end)
{
	csr_mt	   *m = (csr_mt *) arg;

	for (int64_t r = begin; r < end; r++)
	{
		int64_t		b = m->out->indptr[r];
		int64_t		e = m->out->indptr[r + 1];

		m->kept[r] = sum_adjacent(m->out->indices, m->out->values, b, e, b) - b;
	}
}

rp_status
rp_csr_from_col_buckets_mt(int32_t n_rows, int32_t n_cols, const int64_t *colptr,
						   const int32_t *rows_by_col, const double *vals_by_col,
						   rp_csr *out, int nthreads, void *work)
{
	csr_mt		m;
	int64_t    *indptr = out->indptr;
	int64_t		w;

	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;
	if (nthreads <= 1 || n_rows < 0 || n_cols < nthreads || colptr[n_cols] < 65536)
		return rp_csr_from_col_buckets(n_rows, n_cols, colptr, rows_by_col, vals_by_col,
									   out, work);
	memset(&m, 0, sizeof(m));
	m.parts = nthreads;
	m.n_keys = n_rows;
	m.cnt = (int64_t *) work;
	m.kept = m.cnt + (size_t) nthreads * ((size_t) n_rows + 1);
	m.colptr = colptr;
	m.rows_by_col = rows_by_col;
	m.vals_by_col = vals_by_col;
	m.out = out;
	csr_mt_split(&m, n_cols, colptr);
	rp_parallel_for(nthreads, nthreads, 1, rows_count, &m, NULL);
	csr_mt_offsets(&m, indptr);
	rp_parallel_for(nthreads, nthreads, 1, rows_scatter, &m, NULL);
	/* duplicates summed per row in parallel, then the rows compacted in order */
	rp_parallel_for(nthreads, n_rows, 1024, rows_dedup, &m, NULL);
	w = 0;
	for (int32_t r = 0; r < n_rows; r++)
	{
		int64_t		b = indptr[r];
		int64_t		k = m.kept[r];

		if (w != b)
		{
			memmove(out->indices + w, out->indices + b, (size_t) k * sizeof(int32_t));
			memmove(out->values + w, out->values + b, (size_t) k * sizeof(double));
		}
		indptr[r] = w;
		w += k;
	}
	indptr[n_rows] = w;
	out->n_rows = n_rows;
	out->n_cols = n_cols;
	out->nnz = w;
	return RP_OK;
}

int64_t
rp_csr_find(const rp_csr *a, int32_t row, int32_t col)
{
	int64_t		lo = a->indptr[row];
	int64_t		hi = a->indptr[row + 1] - 1;

	while (lo <= hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (a->indices[mid] == col)
			return mid;
		if (a->indices[mid] < col)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}
