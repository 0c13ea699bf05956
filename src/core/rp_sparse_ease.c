/*
 * rp_sparse_ease.c
 *	  Sparse EASE: per-column ridge regressions over top-K co-occurring
 *	  neighbours (see rp_sparse_ease.h for the model and the contract).
 *
 * Two passes over the items, both built on one primitive: the
 * co-occurrence row G_a. = sum over the users u of item a of x_ua x_u.,
 * accumulated into a per-thread dense array and reset through the list of
 * touched entries (cost: the lengths of those users' rows).
 *	1. selection: for each item j, G_j. ranks the other items (largest
 *	   first, ties to the lower index, short lists filled by the lowest
 *	   indices not yet taken); the K kept are written ascending as row j of
 *	   the output.
 *	2. solving, by batches of columns: the union of the batch's neighbours
 *	   (and the columns themselves) is listed once, each of those items'
 *	   rows is computed once and scattered into the K x K systems (and the
 *	   right-hand sides) of every column of the batch that uses it; then
 *	   each system (G_NN + lambda I) b = G_Nj is solved by Cholesky.
 * Each system row is written by exactly one item, each system solved by
 * one thread, and every sum runs in a fixed order (the users of a, then
 * their items), so the result does not depend on the thread count.
 * Workers never allocate: accumulators and scratch are per thread, made
 * before the parallel loops.
 */
#include "rp_sparse_ease.h"
#include "rp_parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cand
{
	double		v;
	int32_t		i;
} cand;

typedef struct thr_scratch
{
	double	   *acc;			/* n_items, zero between uses */
	int32_t    *touched;		/* n_items */
	unsigned char *mark;		/* n_items, zero between uses */
	cand	   *c;				/* n_items */
} thr_scratch;

typedef struct sease_ctx
{
	const rp_csr *X;
	const rp_csr *XT;
	double		lambda;
	int32_t		k;
	int32_t		n;
	thr_scratch *thr;
	rp_csr	   *out;
	/* pass 2 */
	const int32_t *cols;		/* the columns of the batch */
	int32_t		nb;				/* their count */
	double	   *sys;			/* nb x (k + 1) x k: k system rows, then G_jN */
	int32_t    *uni;			/* items whose rows the batch needs */
	int64_t    *rev_ptr;		/* per union item: its (column, row) uses */
	int32_t    *rev_col;
	int32_t    *rev_row;
	int			failed;			/* a system was not positive definite */
	rp_csr		XM;				/* X restricted to the batch's union (pass 2) */
	unsigned char *inM;			/* n_items: in the union */
} sease_ctx;

/* G_a. into t->acc; the touched indices (ascending not guaranteed) into t->touched. */
static int32_t
cooc_row(const sease_ctx *c, const rp_csr *X, thr_scratch *t, int32_t a)
{
	int32_t		nt = 0;

	for (int64_t p = c->XT->indptr[a]; p < c->XT->indptr[a + 1]; p++)
	{
		int32_t		u = c->XT->indices[p];
		double		xa = c->XT->values[p];

		for (int64_t q = X->indptr[u]; q < X->indptr[u + 1]; q++)
		{
			int32_t		l = X->indices[q];

			if (!t->mark[l])
			{
				t->mark[l] = 1;
				t->touched[nt++] = l;
			}
			t->acc[l] += xa * X->values[q];
		}
	}
	return nt;
}

static void
cooc_reset(thr_scratch *t, int32_t nt)
{
	for (int32_t s = 0; s < nt; s++)
	{
		t->acc[t->touched[s]] = 0.0;
		t->mark[t->touched[s]] = 0;
	}
}

static int
cand_cmp(const void *pa, const void *pb)
{
	const cand *a = pa;
	const cand *b = pb;

	if (a->v != b->v)
		return a->v > b->v ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

static int
int_cmp(const void *pa, const void *pb)
{
	int32_t		a = *(const int32_t *) pa;
	int32_t		b = *(const int32_t *) pb;

	return (a > b) - (a < b);
}

/* pass 1: the neighbours of items [begin, end) */
static void
select_range(void *arg, int thread, int64_t begin, int64_t end)
{
	sease_ctx  *c = arg;
	thr_scratch *t = &c->thr[thread];

	for (int64_t jj = begin; jj < end; jj++)
	{
		int32_t		j = (int32_t) jj;
		int32_t		nt = cooc_row(c, c->X, t, j);
		int32_t		npos = 0,
					nneg = 0,
					got;
		int32_t    *dst = c->out->indices + (int64_t) j * c->k;

		/* positives first (largest first), then zeros by index, then negatives */
		for (int32_t s = 0; s < nt; s++)
		{
			int32_t		l = t->touched[s];

			if (l != j && t->acc[l] > 0.0)
				t->c[npos++] = (cand) {t->acc[l], l};
		}
		qsort(t->c, npos, sizeof(cand), cand_cmp);
		got = npos < c->k ? npos : c->k;
		for (int32_t s = 0; s < got; s++)
			dst[s] = t->c[s].i;
		if (got < c->k)
		{
			for (int32_t l = 0; l < c->n && got < c->k; l++)
				if (l != j && t->acc[l] == 0.0)
					dst[got++] = l;
			if (got < c->k)
			{
				for (int32_t s = 0; s < nt; s++)
				{
					int32_t		l = t->touched[s];

					if (l != j && t->acc[l] < 0.0)
						t->c[nneg++] = (cand) {t->acc[l], l};
				}
				qsort(t->c, nneg, sizeof(cand), cand_cmp);
				for (int32_t s = 0; s < nneg && got < c->k; s++)
					dst[got++] = t->c[s].i;
			}
		}
		cooc_reset(t, nt);
		qsort(dst, c->k, sizeof(int32_t), int_cmp);
	}
}

/* pass 2a: rows of the union items [begin, end) scattered into the systems */
static void
fill_range(void *arg, int thread, int64_t begin, int64_t end)
{
	sease_ctx  *c = arg;
	thr_scratch *t = &c->thr[thread];
	int32_t		k = c->k;

	for (int64_t x = begin; x < end; x++)
	{
		int32_t		a = c->uni[x];
		int32_t		nt = cooc_row(c, &c->XM, t, a);

		for (int64_t r = c->rev_ptr[x]; r < c->rev_ptr[x + 1]; r++)
		{
			int32_t		b = c->rev_col[r];
			int32_t		j = c->cols[b];
			const int32_t *nbj = c->out->indices + c->out->indptr[j];
			double	   *row = c->sys + ((int64_t) b * (k + 1) + c->rev_row[r]) * k;

			for (int32_t s = 0; s < k; s++)
				row[s] = t->acc[nbj[s]];
		}
		cooc_reset(t, nt);
	}
}

/* pass 2b: solve the systems of the batch entries [begin, end) */
static void
solve_range(void *arg, int thread, int64_t begin, int64_t end)
{
	sease_ctx  *c = arg;
	int32_t		k = c->k;

	for (int64_t b = begin; b < end; b++)
	{
		double	   *A = c->sys + (int64_t) b * (k + 1) * k;
		double	   *y = A + (int64_t) k * k;
		int32_t		j = c->cols[b];
		double	   *w = c->out->values + c->out->indptr[j];

		/* Cholesky, lower triangle in place: A = L L^T */
		for (int32_t p = 0; p < k; p++)
			A[(int64_t) p * k + p] += c->lambda;
		for (int32_t p = 0; p < k; p++)
		{
			double		d = A[(int64_t) p * k + p];

			for (int32_t q = 0; q < p; q++)
				d -= A[(int64_t) p * k + q] * A[(int64_t) p * k + q];
			if (!(d > 0.0) || !isfinite(d))
			{
				c->failed = 1;
				d = 1.0;
			}
			d = sqrt(d);
			A[(int64_t) p * k + p] = d;
			for (int32_t r = p + 1; r < k; r++)
			{
				double		s = A[(int64_t) r * k + p];

				for (int32_t q = 0; q < p; q++)
					s -= A[(int64_t) r * k + q] * A[(int64_t) p * k + q];
				A[(int64_t) r * k + p] = s / d;
			}
		}
		/* L z = y, then L^T w = z */
		for (int32_t p = 0; p < k; p++)
		{
			double		s = y[p];

			for (int32_t q = 0; q < p; q++)
				s -= A[(int64_t) p * k + q] * y[q];
			y[p] = s / A[(int64_t) p * k + p];
		}
		for (int32_t p = k - 1; p >= 0; p--)
		{
			double		s = y[p];

			for (int32_t q = p + 1; q < k; q++)
				s -= A[(int64_t) q * k + p] * w[q];
			w[p] = s / A[(int64_t) p * k + p];
			if (!isfinite(w[p]))
				c->failed = 1;
		}
	}
}

double
rp_sease_work_bytes(int32_t n_items, int32_t k, int32_t batch, int nthreads)
{
	double		per_thread = (double) n_items * (8.0 + 4.0 + 1.0 + 16.0);

	return per_thread * (nthreads < 1 ? 1 : nthreads)
		+ (double) batch * (k + 1) * k * 8.0	/* systems */
		+ (double) batch * (k + 1) * 12.0	/* uses */
		+ (double) n_items * 13.0;	/* union, pointers, marks */
}

static void
free_thr(thr_scratch *thr, int nthreads)
{
	if (thr == NULL)
		return;
	for (int t = 0; t < nthreads; t++)
	{
		free(thr[t].acc);
		free(thr[t].touched);
		free(thr[t].mark);
		free(thr[t].c);
	}
	free(thr);
}

static thr_scratch *
alloc_thr(int32_t n, int nthreads)
{
	thr_scratch *thr = calloc(nthreads, sizeof(thr_scratch));

	if (thr == NULL)
		return NULL;
	for (int t = 0; t < nthreads; t++)
	{
		thr[t].acc = calloc(n > 0 ? n : 1, sizeof(double));
		thr[t].touched = malloc((n > 0 ? n : 1) * sizeof(int32_t));
		thr[t].mark = calloc(n > 0 ? n : 1, 1);
		thr[t].c = malloc((n > 0 ? n : 1) * sizeof(cand));
		if (!thr[t].acc || !thr[t].touched || !thr[t].mark || !thr[t].c)
		{
			free_thr(thr, nthreads);
			return NULL;
		}
	}
	return thr;
}

/*
 * Pass 2 over cols[0..ncols): c->out holds the neighbour lists (k each,
 * ascending); the weights are written.  c->thr is set up.
 */
static rp_status
solve_cols(sease_ctx *c, const int32_t *cols, int32_t ncols, int32_t batch,
		   int nthreads, const rp_cancel *cancel)
{
	int32_t		n = c->n,
				k = c->k;
	int32_t    *cnt = calloc(n > 0 ? n : 1, sizeof(int32_t));	/* uses per item, then its union slot + 1 */
	int64_t		nuse_max = (int64_t) batch * (k + 1);
	rp_status	st = RP_OK;

	c->sys = malloc((size_t) batch * (k + 1) * k * sizeof(double));
	c->uni = malloc((size_t) (n > 0 ? n : 1) * sizeof(int32_t));
	c->rev_ptr = malloc(((size_t) n + 1) * sizeof(int64_t));
	c->rev_col = malloc((size_t) nuse_max * sizeof(int32_t));
	c->rev_row = malloc((size_t) nuse_max * sizeof(int32_t));
	c->XM.indptr = malloc(((size_t) c->X->n_rows + 1) * sizeof(int64_t));
	c->XM.indices = malloc(((size_t) c->X->nnz + 1) * sizeof(int32_t));
	c->XM.values = malloc(((size_t) c->X->nnz + 1) * sizeof(double));
	c->inM = calloc(n > 0 ? n : 1, 1);
	if (!cnt || !c->sys || !c->uni || !c->rev_ptr || !c->rev_col || !c->rev_row
		|| !c->XM.indptr || !c->XM.indices || !c->XM.values || !c->inM)
		st = RP_ENOMEM;

	for (int32_t b0 = 0; st == RP_OK && b0 < ncols; b0 += batch)
	{
		int32_t		nb = ncols - b0 < batch ? ncols - b0 : batch;
		int32_t		nu = 0;

		if (rp_should_stop(cancel))
		{
			st = RP_ECANCELED;
			break;
		}
		c->cols = cols + b0;
		c->nb = nb;
		/* count the uses of each item: k system rows and the column's own row */
		for (int32_t b = 0; b < nb; b++)
		{
			int32_t		j = c->cols[b];

			for (int32_t s = 0; s <= k; s++)
			{
				int32_t		a = s < k ? c->out->indices[c->out->indptr[j] + s] : j;

				if (cnt[a]++ == 0)
					c->uni[nu++] = a;
			}
		}
		/* union ascending (deterministic order of work; results do not depend on it) */
		qsort(c->uni, nu, sizeof(int32_t), int_cmp);
		c->rev_ptr[0] = 0;
		for (int32_t x = 0; x < nu; x++)
		{
			c->rev_ptr[x + 1] = c->rev_ptr[x] + cnt[c->uni[x]];
			cnt[c->uni[x]] = -(x + 1);	/* slot, negative: filled below */
		}
		{
			int64_t    *fillp = (int64_t *) c->rev_ptr;

			/* use rev_ptr as running positions, then restore */
			for (int32_t b = 0; b < nb; b++)
			{
				int32_t		j = c->cols[b];

				for (int32_t s = 0; s <= k; s++)
				{
					int32_t		a = s < k ? c->out->indices[c->out->indptr[j] + s] : j;
					int32_t		x = -cnt[a] - 1;
					int64_t		pos = fillp[x]++;

					c->rev_col[pos] = b;
					/* system row: a's position among j's neighbours, or k for j itself */
					c->rev_row[pos] = s;
				}
			}
			for (int32_t x = nu; x > 0; x--)
				fillp[x] = fillp[x - 1];
			fillp[0] = 0;
		}
		for (int32_t x = 0; x < nu; x++)
			cnt[c->uni[x]] = 0;

		/*
		 * The users' rows restricted to the union: the rows computed below
		 * are read at union items only, and the other entries would cost
		 * as much to accumulate.
		 */
		for (int32_t x = 0; x < nu; x++)
			c->inM[c->uni[x]] = 1;
		{
			int64_t		z = 0;

			c->XM.n_rows = c->X->n_rows;
			c->XM.n_cols = n;
			for (int32_t u = 0; u < c->X->n_rows; u++)
			{
				c->XM.indptr[u] = z;
				for (int64_t q = c->X->indptr[u]; q < c->X->indptr[u + 1]; q++)
					if (c->inM[c->X->indices[q]])
					{
						c->XM.indices[z] = c->X->indices[q];
						c->XM.values[z++] = c->X->values[q];
					}
			}
			c->XM.indptr[c->X->n_rows] = z;
			c->XM.nnz = z;
		}
		for (int32_t x = 0; x < nu; x++)
			c->inM[c->uni[x]] = 0;

		st = rp_parallel_for(nthreads, nu, 16, fill_range, c, cancel);
		if (st != RP_OK)
			break;
		st = rp_parallel_for(nthreads, nb, 4, solve_range, c, cancel);
		if (st != RP_OK)
			break;
		if (c->failed)
			st = RP_ENUMERIC;
	}
	free(cnt);
	free(c->sys);
	free(c->uni);
	free(c->rev_ptr);
	free(c->rev_col);
	free(c->rev_row);
	free(c->XM.indptr);
	free(c->XM.indices);
	free(c->XM.values);
	free(c->inM);
	c->sys = NULL;
	return st;
}

rp_status
rp_sease_fit(const rp_csr *X, const rp_csr *XT, double lambda, int32_t k,
			 int32_t batch, int nthreads, rp_csr *out, int32_t *k_used,
			 const rp_cancel *cancel)
{
	sease_ctx	c;
	int32_t		n = X->n_cols;
	int32_t    *cols;
	rp_status	st;

	if (!(lambda > 0.0) || !isfinite(lambda) || k < 1 || k > RP_SEASE_MAX_K || batch < 1
		|| XT->n_rows != n || XT->n_cols != X->n_rows || XT->nnz != X->nnz)
		return RP_EINVAL;
	for (int64_t p = 0; p < X->nnz; p++)
		if (!rp_finite(X->values[p]))
			return RP_ENUMERIC;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;
	if (k > n - 1)
		k = n - 1 > 0 ? n - 1 : 0;
	*k_used = k;
	out->n_rows = n;
	out->n_cols = n;
	out->nnz = (int64_t) n * k;
	for (int32_t j = 0; j <= n; j++)
		out->indptr[j] = (int64_t) j * k;
	if (k == 0)
		return RP_OK;

	memset(&c, 0, sizeof(c));
	c.X = X;
	c.XT = XT;
	c.lambda = lambda;
	c.k = k;
	c.n = n;
	c.out = out;
	c.thr = alloc_thr(n, nthreads);
	cols = malloc((size_t) n * sizeof(int32_t));
	if (c.thr == NULL || cols == NULL)
	{
		free_thr(c.thr, nthreads);
		free(cols);
		return RP_ENOMEM;
	}
	st = rp_parallel_for(nthreads, n, 64, select_range, &c, cancel);
	if (st == RP_OK)
	{
		for (int32_t j = 0; j < n; j++)
			cols[j] = j;
		st = solve_cols(&c, cols, n, batch, nthreads, cancel);
	}
	free(cols);
	free_thr(c.thr, nthreads);
	return st;
}

rp_status
rp_sease_resolve(const rp_csr *X, const rp_csr *XT, double lambda,
				 const int32_t *cols, int32_t ncols, int nthreads,
				 rp_csr *out, const rp_cancel *cancel)
{
	sease_ctx	c;
	int32_t		n = X->n_cols;
	int32_t		k;
	rp_status	st;

	if (!(lambda > 0.0) || !isfinite(lambda) || out->n_rows != n || XT->n_rows != n
		|| XT->n_cols != X->n_rows)
		return RP_EINVAL;
	if (ncols == 0 || n == 0)
		return RP_OK;
	k = (int32_t) (out->indptr[1] - out->indptr[0]);
	for (int32_t j = 0; j <= n; j++)
		if (out->indptr[j] != (int64_t) j * k)
			return RP_EINVAL;
	if (k == 0)
		return RP_OK;
	for (int32_t x = 0; x < ncols; x++)
		if (cols[x] < 0 || cols[x] >= n)
			return RP_EINVAL;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;
	memset(&c, 0, sizeof(c));
	c.X = X;
	c.XT = XT;
	c.lambda = lambda;
	c.k = k;
	c.n = n;
	c.out = out;
	c.thr = alloc_thr(n, nthreads);
	if (c.thr == NULL)
		return RP_ENOMEM;
	st = solve_cols(&c, cols, ncols, 256, nthreads, cancel);
	free_thr(c.thr, nthreads);
	return st;
}
