/*
 * rp_sparse_ease.c
 *	  Sparse EASE: per-column ridge regressions over top-K co-occurring
 *	  neighbours (see rp_sparse_ease.h for the model and the contract).
 *
 * Four phases, each a parallel loop (rp_parallel_for) whose iterations
 * write disjoint outputs:
 *	1. selection, per item j: the co-occurrence row G_j. = sum over the
 *	   users u of j of x_uj x_u., accumulated into a per-thread dense array
 *	   (cost: the lengths of those users' rows); the K largest kept through
 *	   a K-entry heap (ties to the lower index; short lists filled by the
 *	   lowest indices not yet taken, then by negatives), written ascending
 *	   as row j of the output.  A heap, not a sort of the whole row: rows
 *	   of popular items touch most of the catalogue, and sorting them was
 *	   most of the old training time.
 *	2. the needed pairs: column j needs G on N'(j) x N'(j), N'(j) = N(j)
 *	   plus j.  For each item a, T_a lists the b > a that share some N'(j)
 *	   with a, found through the reverse neighbour lists (the j whose
 *	   N'(j) holds a).  Only the count is kept here.
 *	3. the Gram entries, per item a with T_a non-empty: T_a is rebuilt,
 *	   G_a. accumulated once over the entries b > a of a's users' rows
 *	   (sorted rows: a binary search finds where b > a starts) and only at
 *	   marked b, and G_ab stored for b in T_a (ascending).  T_a itself is
 *	   kept as a bitmap with per-word ranks when it holds more than 1/16
 *	   of the items after a (smaller than int32 keys, and a lookup is one
 *	   popcount), else as sorted int32 keys.  So each co-occurrence entry
 *	   is computed once, by one thread, from a's users in a fixed order;
 *	   the old code recomputed the rows of every neighbour once per batch
 *	   of columns.
 *	4. solving, per column j: the K x K block (G_NN + lambda I) and G_Nj
 *	   are gathered from the stored rows (for each a in N'(j), the larger
 *	   members of N'(j) are looked up in T_a: by rank in a bitmap row, by
 *	   a galloping search in a key row, since they are ascending), and
 *	   solved by LAPACK dposv (Cholesky, double precision, single-threaded
 *	   OpenBLAS in a worker thread) in per-thread scratch.
 * The pairs of phase 2 are at most n * K (K + 1) / 2 but overlap heavily
 * (neighbours are mostly popular items); when they do not fit the
 * caller's budget, phases 2-4 run over chunks of columns, each chunk
 * recomputing only the rows it needs.  Every value depends only on the
 * data (never on the chunking or on which thread ran what), so the result
 * is bit-identical for any thread count and budget.  Workers never
 * allocate: scratch is per thread, made before the parallel loops.
 */
#include "rp_sparse_ease.h"
#include "rp_blas.h"
#include "rp_parallel.h"

#include <assert.h>
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
	cand	   *c;				/* n_items (phase 1) */
	double	   *A;				/* k x k system (phase 4) */
	double	   *y;				/* k right-hand side / solution */
	int32_t    *L;				/* k + 1: N'(j) ascending */
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
	/* phases 2-4 */
	const int32_t *cols;		/* the columns to solve */
	int32_t		ncols;
	int64_t    *rev_ptr;		/* n + 1: per item a, the x with a in N'(cols[x]) */
	int32_t    *rev_x;			/* ascending x within each item */
	int32_t		x0,				/* the chunk: cols[x0 .. x1) */
				x1;
	int64_t    *cnt;			/* n + 1: |T_a| (phase 2), then offsets */
	int64_t    *aoff;			/* n + 1: offsets of the rows' keys in aux */
	uint64_t   *aux;			/* per row: T_a (int32, ascending) or its bitmap */
	double	   *tval;			/* G_ab for b in T_a ascending, at cnt[a] */
	double	   *diag;			/* n: G_aa */
	int			failed;			/* a system was not positive definite */
} sease_ctx;

/* G_a. into t->acc; the touched indices (ascending not guaranteed) into t->touched. */
static int32_t
cooc_row(const sease_ctx *c, thr_scratch *t, int32_t a)
{
	const rp_csr *X = c->X;
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

/* a ranks before b: larger value, then lower index */
static inline int
cand_before(const cand *a, const cand *b)
{
	return a->v > b->v || (a->v == b->v && a->i < b->i);
}

static int
cand_cmp(const void *pa, const void *pb)
{
	const cand *a = pa;
	const cand *b = pb;

	return cand_before(a, b) ? -1 : (cand_before(b, a) ? 1 : 0);
}

/*
 * Heap of the best `size` candidates seen, the worst at h[0]: a candidate
 * enters only if it ranks before h[0] (one comparison for most entries).
 */
static void
heap_sift(cand *h, int32_t size, int32_t i)
{
	for (;;)
	{
		int32_t		l = 2 * i + 1,
					w = i;

		if (l < size && cand_before(&h[w], &h[l]))
			w = l;
		if (l + 1 < size && cand_before(&h[w], &h[l + 1]))
			w = l + 1;
		if (w == i)
			return;
		{
			cand		tmp = h[i];

			h[i] = h[w];
			h[w] = tmp;
		}
		i = w;
	}
}

static void
heap_offer(cand *h, int32_t *size, int32_t cap, cand x)
{
	if (*size < cap)
	{
		int32_t		i = (*size)++;

		h[i] = x;
		/* sift up: the worst rises to the root */
		while (i > 0)
		{
			int32_t		p = (i - 1) / 2;

			if (!cand_before(&h[p], &h[i]))
				break;
			{
				cand		tmp = h[i];

				h[i] = h[p];
				h[p] = tmp;
			}
			i = p;
		}
	}
	else if (cand_before(&x, &h[0]))
	{
		h[0] = x;
		heap_sift(h, *size, 0);
	}
}

static int
int_cmp(const void *pa, const void *pb)
{
	int32_t		a = *(const int32_t *) pa;
	int32_t		b = *(const int32_t *) pb;

	return (a > b) - (a < b);
}

/* phase 1: the neighbours of items [begin, end) */
static void
select_range(void *arg, int thread, int64_t begin, int64_t end)
{
	sease_ctx  *c = arg;
	thr_scratch *t = &c->thr[thread];

	for (int64_t jj = begin; jj < end; jj++)
	{
		int32_t		j = (int32_t) jj;
		int32_t		nt = cooc_row(c, t, j);
		int32_t		npos = 0,
					nneg = 0,
					got;
		int32_t    *dst = c->out->indices + (int64_t) j * c->k;

		/* positives first (largest first), then zeros by index, then negatives */
		for (int32_t s = 0; s < nt; s++)
		{
			int32_t		l = t->touched[s];

			if (l != j && t->acc[l] > 0.0)
				heap_offer(t->c, &npos, c->k, (cand) {t->acc[l], l});
		}
		got = npos;
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

/* first index in the ascending v[lo, hi) whose value is >= key */
static int64_t
lower_bound32(const int32_t *v, int64_t lo, int64_t hi, int32_t key)
{
	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (v[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * T_a for the chunk, marked in t->mark and listed (unordered) in
 * t->touched: the b > a in N'(j) for the chunk's columns j whose N'(j)
 * holds a.  Returns |T_a|; the marks stay set.
 */
static int32_t
build_pairs(const sease_ctx *c, thr_scratch *t, int32_t a)
{
	int32_t		k = c->k;
	int32_t		nt = 0;
	int64_t		r = lower_bound32(c->rev_x, c->rev_ptr[a], c->rev_ptr[a + 1], c->x0);

	for (; r < c->rev_ptr[a + 1] && c->rev_x[r] < c->x1; r++)
	{
		int32_t		j = c->cols[c->rev_x[r]];
		const int32_t *nb = c->out->indices + (int64_t) j * k;

		if (j > a && !t->mark[j])
		{
			t->mark[j] = 1;
			t->touched[nt++] = j;
		}
		/* N(j) is ascending: its members above a start after a */
		for (int64_t s = lower_bound32(nb, 0, k, a + 1); s < k; s++)
		{
			int32_t		b = nb[s];

			if (!t->mark[b])
			{
				t->mark[b] = 1;
				t->touched[nt++] = b;
			}
		}
	}
	return nt;
}

/*
 * How row a's keys are stored: rows holding more than 1/16 of the items
 * after a keep a bitmap of [a + 1, n) in 64-bit words, each followed by
 * the rank of its first bit (one uint64 each: 16 bytes per 64 items,
 * fewer bytes than 4 per key at that density, and found in constant
 * time); sparser rows keep their keys ascending (int32, searched).
 */
static inline int
row_is_bitmap(int64_t nt, int32_t n, int32_t a)
{
	return nt * 16 > (int64_t) n - a - 1;
}

/* uint64 units of row a's keys */
static inline int64_t
row_aux_words(int64_t nt, int32_t n, int32_t a)
{
	if (nt == 0)
		return 0;
	if (row_is_bitmap(nt, n, a))
		return 2 * (((int64_t) n - a - 1 + 63) / 64);
	return (nt + 1) / 2;
}

/* phase 2: |T_a| for items [begin, end) */
static void
count_range(void *arg, int thread, int64_t begin, int64_t end)
{
	sease_ctx  *c = arg;
	thr_scratch *t = &c->thr[thread];

	for (int64_t a = begin; a < end; a++)
	{
		int32_t		nt = build_pairs(c, t, (int32_t) a);

		for (int32_t s = 0; s < nt; s++)
			t->mark[t->touched[s]] = 0;
		c->cnt[a] = nt;
	}
}

/* phase 3: T_a ascending and G_ab (b in T_a) for items [begin, end) */
static void
gram_range(void *arg, int thread, int64_t begin, int64_t end)
{
	sease_ctx  *c = arg;
	thr_scratch *t = &c->thr[thread];
	const rp_csr *X = c->X;

	for (int64_t aa = begin; aa < end; aa++)
	{
		int32_t		a = (int32_t) aa;
		int64_t		off = c->cnt[a];
		int32_t		nt;
		uint64_t   *ax = c->aux + c->aoff[a];
		double	   *tv = c->tval + off;

		if (c->cnt[a + 1] == off)
			continue;
		nt = build_pairs(c, t, a);
		assert(nt == c->cnt[a + 1] - off);
		/* G_ab at the marked b > a, in a fixed order: a's users, their items */
		for (int64_t p = c->XT->indptr[a]; p < c->XT->indptr[a + 1]; p++)
		{
			int32_t		u = c->XT->indices[p];
			double		xa = c->XT->values[p];
			int64_t		q = lower_bound32(X->indices, X->indptr[u], X->indptr[u + 1], a + 1);

			for (; q < X->indptr[u + 1]; q++)
			{
				int32_t		l = X->indices[q];

				if (t->mark[l])
					t->acc[l] += xa * X->values[q];
			}
		}
		if (row_is_bitmap(nt, c->n, a))
		{
			/* bitmap words and ranks, values in key order */
			int32_t		s = 0;
			int64_t		span = (int64_t) c->n - a - 1;

			for (int64_t w = 0; w * 64 < span; w++)
			{
				uint64_t	bits = 0;
				int64_t		lim = span - w * 64 < 64 ? span - w * 64 : 64;

				ax[2 * w + 1] = (uint64_t) s;
				for (int64_t o = 0; o < lim; o++)
				{
					int32_t		b = (int32_t) (a + 1 + w * 64 + o);

					if (t->mark[b])
					{
						bits |= (uint64_t) 1 << o;
						tv[s++] = t->acc[b];
						t->acc[b] = 0.0;
						t->mark[b] = 0;
					}
				}
				ax[2 * w] = bits;
			}
			assert(s == nt);
		}
		else
		{
			int32_t    *ti = (int32_t *) ax;

			memcpy(ti, t->touched, (size_t) nt * sizeof(int32_t));
			qsort(ti, nt, sizeof(int32_t), int_cmp);
			for (int32_t s = 0; s < nt; s++)
			{
				tv[s] = t->acc[ti[s]];
				t->acc[ti[s]] = 0.0;
				t->mark[ti[s]] = 0;
			}
		}
	}
}

/* position of b in the ascending v[lo, hi), searched forward from lo (it is there) */
static inline int64_t
gallop(const int32_t *v, int64_t lo, int64_t hi, int32_t b)
{
	int64_t		step = 1;

	/* doubling steps from lo, then a binary search in the last step */
	while (lo + step < hi && v[lo + step] < b)
	{
		lo += step;
		step *= 2;
	}
	return lower_bound32(v, lo, lo + step < hi ? lo + step + 1 : hi, b);
}

/* phase 4: gather and solve the systems of columns cols[begin, end) */
static void
solve_range(void *arg, int thread, int64_t begin, int64_t end)
{
	sease_ctx  *c = arg;
	thr_scratch *t = &c->thr[thread];
	int32_t		k = c->k;
	double	   *A = t->A;
	double	   *y = t->y;
	int32_t    *L = t->L;

	for (int64_t x = begin; x < end; x++)
	{
		int32_t		j = c->cols[c->x0 + x];
		const int32_t *nb = c->out->indices + (int64_t) j * k;
		double	   *w = c->out->values + (int64_t) j * k;
		int32_t		jp = (int32_t) lower_bound32(nb, 0, k, j);
		int			one = 1,
					info = 0;

		/* L = N'(j) ascending; position jp is j itself, the others map to p - (p > jp) */
		memcpy(L, nb, (size_t) jp * sizeof(int32_t));
		L[jp] = j;
		memcpy(L + jp + 1, nb + jp, (size_t) (k - jp) * sizeof(int32_t));
		for (int32_t p = 0; p <= k; p++)
		{
			int32_t		a = L[p];
			int32_t		pi = p - (p > jp);
			int64_t		nt = c->cnt[a + 1] - c->cnt[a];
			const double *tv = c->tval + c->cnt[a];
			const uint64_t *ax = c->aux + c->aoff[a];
			int			bm = row_is_bitmap(nt, c->n, a);
			int64_t		pos = 0;

			if (p != jp)
				A[(int64_t) pi * k + pi] = c->diag[a] + c->lambda;
			for (int32_t q = p + 1; q <= k; q++)
			{
				int32_t		qi = q - (q > jp);
				double		g;

				if (bm)
				{
					int64_t		o = (int64_t) L[q] - a - 1;
					uint64_t	bits = ax[2 * (o >> 6)];

					assert(bits & ((uint64_t) 1 << (o & 63)));
					g = tv[ax[2 * (o >> 6) + 1]
						   + __builtin_popcountll(bits & (((uint64_t) 1 << (o & 63)) - 1))];
				}
				else
				{
					const int32_t *ti = (const int32_t *) ax;

					pos = gallop(ti, pos, nt, L[q]);
					assert(pos < nt && ti[pos] == L[q]);
					g = tv[pos++];
				}
				if (p == jp)
					y[qi] = g;
				else if (q == jp)
					y[pi] = g;
				else
					A[(int64_t) pi * k + qi] = g;	/* column pi, row qi > pi: lower */
			}
		}
		/* symmetric positive definite when lambda > 0: Cholesky on the lower triangle */
		dposv_("L", &k, &one, A, &k, y, &k, &info);
		if (info != 0)
			c->failed = 1;
		for (int32_t s = 0; s < k; s++)
		{
			w[s] = y[s];
			if (!isfinite(w[s]))
				c->failed = 1;
		}
	}
}

double
rp_sease_work_bytes(int32_t n_items, int32_t k, int32_t ncols, int nthreads)
{
	double		per_thread = (double) n_items * (8.0 + 4.0 + 1.0 + 16.0)
		+ (double) k * k * 8.0 + (double) (k + 1) * 12.0;

	return per_thread * (nthreads < 1 ? 1 : nthreads)
		+ ((double) n_items + 1) * 8.0 * 2.0	/* reverse pointers, counts */
		+ (double) ncols * (k + 1) * 4.0	/* reverse lists */
		+ (double) n_items * 8.0;	/* diagonal */
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
		free(thr[t].A);
		free(thr[t].y);
		free(thr[t].L);
	}
	free(thr);
}

static thr_scratch *
alloc_thr(int32_t n, int32_t k, int nthreads)
{
	thr_scratch *thr = calloc(nthreads, sizeof(thr_scratch));
	size_t		nn = n > 0 ? (size_t) n : 1;
	size_t		kk = k > 0 ? (size_t) k : 1;

	if (thr == NULL)
		return NULL;
	for (int t = 0; t < nthreads; t++)
	{
		thr[t].acc = calloc(nn, sizeof(double));
		thr[t].touched = malloc(nn * sizeof(int32_t));
		thr[t].mark = calloc(nn, 1);
		thr[t].c = malloc(nn * sizeof(cand));
		thr[t].A = malloc(kk * kk * sizeof(double));
		thr[t].y = malloc(kk * sizeof(double));
		thr[t].L = malloc((kk + 1) * sizeof(int32_t));
		if (!thr[t].acc || !thr[t].touched || !thr[t].mark || !thr[t].c
			|| !thr[t].A || !thr[t].y || !thr[t].L)
		{
			free_thr(thr, nthreads);
			return NULL;
		}
	}
	return thr;
}

/* pairs of the chunk cols[x0, x1): phase 2, then cnt turned into offsets */
static rp_status
count_chunk(sease_ctx *c, int32_t x0, int32_t x1, int nthreads, int64_t *total,
			const rp_cancel *cancel)
{
	rp_status	st;
	int64_t		sum = 0,
				asum = 0;

	c->x0 = x0;
	c->x1 = x1;
	st = rp_parallel_for(nthreads, c->n, 256, count_range, c, cancel);
	if (st != RP_OK)
		return st;
	for (int32_t a = 0; a < c->n; a++)
	{
		int64_t		v = c->cnt[a];

		c->cnt[a] = sum;
		c->aoff[a] = asum;
		sum += v;
		asum += row_aux_words(v, c->n, a);
	}
	c->cnt[c->n] = sum;
	c->aoff[c->n] = asum;
	/* in Gram entries of 12 bytes (8 for the value, keys as stored) */
	*total = (sum * 8 + asum * 8 + RP_SEASE_PAIR_BYTES - 1) / RP_SEASE_PAIR_BYTES;
	return RP_OK;
}

/*
 * Phases 2-4 over cols[0..ncols): c->out holds the neighbour lists (k
 * each, ascending); their weights are written.  c->thr is set up.  At
 * most max_pairs Gram entries are held at once (a chunk of one column
 * may exceed it).
 */
static rp_status
solve_cols(sease_ctx *c, const int32_t *cols, int32_t ncols, int64_t max_pairs,
		   int nthreads, const rp_cancel *cancel)
{
	int32_t		n = c->n,
				k = c->k;
	rp_status	st = RP_OK;
	int64_t		held_vals = 0,
				held_aux = 0;

	c->cols = cols;
	c->ncols = ncols;
	c->rev_ptr = calloc((size_t) n + 1, sizeof(int64_t));
	c->rev_x = malloc(((size_t) ncols * (k + 1) + 1) * sizeof(int32_t));
	c->cnt = malloc(((size_t) n + 1) * sizeof(int64_t));
	c->aoff = malloc(((size_t) n + 1) * sizeof(int64_t));
	c->diag = calloc(n > 0 ? (size_t) n : 1, sizeof(double));
	if (!c->rev_ptr || !c->rev_x || !c->cnt || !c->aoff || !c->diag)
		st = RP_ENOMEM;
	if (st == RP_OK)
	{
		/* reverse lists: the x with a in N'(cols[x]), x ascending */
		for (int32_t x = 0; x < ncols; x++)
		{
			const int32_t *nb = c->out->indices + (int64_t) cols[x] * k;

			c->rev_ptr[cols[x] + 1]++;
			for (int32_t s = 0; s < k; s++)
				c->rev_ptr[nb[s] + 1]++;
		}
		for (int32_t a = 0; a < n; a++)
			c->rev_ptr[a + 1] += c->rev_ptr[a];
		memcpy(c->cnt, c->rev_ptr, ((size_t) n + 1) * sizeof(int64_t));
		for (int32_t x = 0; x < ncols; x++)
		{
			const int32_t *nb = c->out->indices + (int64_t) cols[x] * k;

			c->rev_x[c->cnt[cols[x]]++] = x;
			for (int32_t s = 0; s < k; s++)
				c->rev_x[c->cnt[nb[s]]++] = x;
		}
		for (int32_t a = 0; a < n; a++)
			for (int64_t p = c->XT->indptr[a]; p < c->XT->indptr[a + 1]; p++)
				c->diag[a] += c->XT->values[p] * c->XT->values[p];
	}

	for (int32_t x0 = 0, span = ncols; st == RP_OK && x0 < ncols;)
	{
		int32_t		x1;
		int64_t		total;

		if (span > ncols - x0)
			span = ncols - x0;
		x1 = x0 + span;
		st = count_chunk(c, x0, x1, nthreads, &total, cancel);
		if (st != RP_OK)
			break;
		if (total > max_pairs && span > 1)
		{
			/* too many pairs: a proportionally smaller chunk, counted again */
			double		f = 0.9 * (double) max_pairs / (double) total;
			int32_t		smaller = (int32_t) (span * f);

			span = smaller < span / 2 ? smaller : span / 2;
			if (span < 1)
				span = 1;
			continue;
		}
		if (c->cnt[n] > held_vals || c->aoff[n] > held_aux)
		{
			free(c->aux);
			free(c->tval);
			held_vals = c->cnt[n] > held_vals ? c->cnt[n] : held_vals;
			held_aux = c->aoff[n] > held_aux ? c->aoff[n] : held_aux;
			c->aux = malloc((size_t) (held_aux > 0 ? held_aux : 1) * sizeof(uint64_t));
			c->tval = malloc((size_t) (held_vals > 0 ? held_vals : 1) * sizeof(double));
			if (!c->aux || !c->tval)
			{
				st = RP_ENOMEM;
				break;
			}
		}
		st = rp_parallel_for(nthreads, n, 64, gram_range, c, cancel);
		if (st != RP_OK)
			break;
		st = rp_parallel_for(nthreads, x1 - x0, 16, solve_range, c, cancel);
		if (st != RP_OK)
			break;
		if (c->failed)
			st = RP_ENUMERIC;
		x0 = x1;
	}
	free(c->rev_ptr);
	free(c->rev_x);
	free(c->cnt);
	free(c->diag);
	free(c->aoff);
	free(c->aux);
	free(c->tval);
	c->aux = NULL;
	c->tval = NULL;
	return st;
}

rp_status
rp_sease_fit(const rp_csr *X, const rp_csr *XT, double lambda, int32_t k,
			 int64_t max_pairs, int nthreads, rp_csr *out, int32_t *k_used,
			 const rp_cancel *cancel)
{
	sease_ctx	c;
	int32_t		n = X->n_cols;
	int32_t    *cols;
	rp_status	st;

	if (!(lambda > 0.0) || !isfinite(lambda) || k < 1 || k > RP_SEASE_MAX_K || max_pairs < 1
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
	c.thr = alloc_thr(n, k, nthreads);
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
		st = solve_cols(&c, cols, n, max_pairs, nthreads, cancel);
	}
	free(cols);
	free_thr(c.thr, nthreads);
	return st;
}

rp_status
rp_sease_resolve(const rp_csr *X, const rp_csr *XT, double lambda,
				 const int32_t *cols, int32_t ncols, int64_t max_pairs, int nthreads,
				 rp_csr *out, const rp_cancel *cancel)
{
	sease_ctx	c;
	int32_t		n = X->n_cols;
	int32_t		k;
	rp_status	st;

	if (!(lambda > 0.0) || !isfinite(lambda) || max_pairs < 1 || out->n_rows != n
		|| XT->n_rows != n || XT->n_cols != X->n_rows)
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
	c.thr = alloc_thr(n, k, nthreads);
	if (c.thr == NULL)
		return RP_ENOMEM;
	st = solve_cols(&c, cols, ncols, max_pairs, nthreads, cancel);
	free_thr(c.thr, nthreads);
	return st;
}
