/*
 * rp_knn.c
 *	  Top-k cosine neighbours as a sparse-sparse product (see rp_knn.h for
 *	  the definitions and the orientation of A).
 *
 * The algorithm is the row-by-row sparse product of Gustavson (1978, "Two
 * fast algorithms for sparse matrices: multiplication and permuted
 * transposition"), with the product row never stored.  The product is
 * symmetric, so the fit computes only its upper triangle:
 *
 *	  for each row i of A (blocks of rows spread over threads):
 *		  for each (d, a_id) in A[i,:]:				(the users of item i)
 *			  for each (j, a_jd) in AT[d,:], j > i:	(the tail of user d's items)
 *				  acc[j] += a_id * a_jd; cnt[j]++	(dense, per thread)
 *		  for each touched j: s = acc[j] / (|A_i| |A_j|) * shrink(cnt[j]);
 *			  offer s to row i's heap and to row j's; reset acc[j], cnt[j]
 *	  then, per row: merge the threads' heaps, sort by column, write
 *
 * Every thread keeps a k-entry min-heap per row (thread 0's are the output
 * slots), with a dense threshold array in front so that most offers cost
 * one compare.  The fold-in query (rp_knn_query) runs the plain row kernel,
 * knn_one, over every j.
 *
 * Memory is the two CSR matrices, the n_vec * k output, per extra thread
 * n_vec * k heap entries and, per thread, an accumulator, a counter, a
 * touched list, heap sizes and thresholds of n_vec entries: an item x item
 * matrix is never formed.  The touched list is appended branch-free
 * (touched[nt] = j; nt += cnt[j] == 0), which keeps the inner loop free of
 * unpredictable branches on power-law data.
 *
 * Determinism: dot(i, j) is summed over the common d in increasing d, in
 * both the half-product and the row kernel, and a_id * a_jd == a_jd * a_id
 * exactly, so each similarity has the same bits whichever side computes it;
 * ties in the top-k are broken by the smaller index, which makes the kept
 * set independent of the order of the offers.  Any thread count gives
 * bit-identical output, equal to the row-by-row kernel's (unit-tested).
 * Workers write only their own heaps and use only their own scratch.
 */
#include "rp_knn.h"

#include <math.h>
#include <string.h>

#include "rp_parallel.h"

/* rows per block handed to a thread; also the cancel-poll granularity */
#define KNN_BLOCK 16

/* rows per block of the merge pass (cheap rows) */
#define KNN_MERGE_BLOCK 256

/* how many AT rows ahead the kernel prefetches */
#define KNN_PREFETCH 4
#if defined(__GNUC__)
#define RP_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define RP_PREFETCH(p) ((void) 0)
#endif

typedef struct knn_entry
{
	double		sim;
	int32_t		idx;
} knn_entry;

/* per-thread scratch, carved out of the caller's workspace */
typedef struct knn_scratch
{
	double	   *acc;
	int32_t    *cnt;
	int32_t    *touched;		/* n_vec + 1: the branch-free append writes one past */
	knn_entry  *heap;
} knn_scratch;

/* a is a worse neighbour than b: lower similarity, or equal and larger index */
static inline int
knn_worse(const knn_entry *a, const knn_entry *b)
{
	return a->sim < b->sim || (a->sim == b->sim && a->idx > b->idx);
}

/* sift-down for a heap whose root is "first" by the given order */
static void
knn_sift(knn_entry *h, int32_t n, int32_t i, int by_column)
{
	for (;;)
	{
		int32_t		l = 2 * i + 1;
		int32_t		r = l + 1;
		int32_t		m = i;

		if (by_column)
		{
			/* max-heap by index: popping to the end sorts ascending */
			if (l < n && h[l].idx > h[m].idx)
				m = l;
			if (r < n && h[r].idx > h[m].idx)
				m = r;
		}
		else
		{
			/* min-heap by quality: the worst neighbour is the root */
			if (l < n && knn_worse(&h[l], &h[m]))
				m = l;
			if (r < n && knn_worse(&h[r], &h[m]))
				m = r;
		}
		if (m == i)
			return;
		{
			knn_entry	t = h[i];

			h[i] = h[m];
			h[m] = t;
		}
		i = m;
	}
}

/* adds a candidate to the selection heap of capacity k holding *n entries */
static inline void
knn_offer(knn_entry *h, int32_t *n, int32_t k, double sim, int32_t idx)
{
	knn_entry	c = {sim, idx};

	if (*n < k)
	{
		/* sift up */
		int32_t		i = (*n)++;

		while (i > 0)
		{
			int32_t		parent = (i - 1) / 2;

			if (!knn_worse(&c, &h[parent]))
				break;
			h[i] = h[parent];
			i = parent;
		}
		h[i] = c;
	}
	else if (knn_worse(&h[0], &c))
	{
		h[0] = c;
		knn_sift(h, *n, 0, 0);
	}
}

/*
 * Heap-sorts h in place: by_column = 1 gives ascending indices; 0 takes a
 * selection heap (worst at the root) to best-first order.  No allocation.
 */
static void
knn_sort(knn_entry *h, int32_t n, int by_column)
{
	if (by_column)
		for (int32_t i = n / 2 - 1; i >= 0; i--)
			knn_sift(h, n, i, 1);
	for (int32_t end = n - 1; end > 0; end--)
	{
		knn_entry	t = h[0];

		h[0] = h[end];
		h[end] = t;
		knn_sift(h, end, 0, by_column);
	}
}

/*
 * The kernel shared by fit and query: similarities of the vector q (q_n
 * entries, norm q_norm) to every row of A, through AT, into the selection
 * heap.  Leaves acc and cnt zeroed.  Returns the number kept (<= k).
 */
static int32_t
knn_one(const rp_csr *AT, const double *norms, const int32_t *q_idx,
		const double *q_val, int64_t q_n, double q_norm, int32_t exclude,
		int32_t k, double shrink, knn_scratch *s)
{
	double	   *acc = s->acc;
	int32_t    *cnt = s->cnt;
	int32_t    *touched = s->touched;
	int64_t		nt = 0;
	int32_t		kept = 0;

	for (int64_t h = 0; h < q_n; h++)
	{
		const double w = q_val[h];
		const int32_t d = q_idx[h];
		const int64_t e = AT->indptr[d + 1];
		const int32_t *ix = AT->indices;
		const double *vx = AT->values;

		/*
		 * The rows of AT are short scattered streams (a user's items): ask
		 * for the start of a row a few steps ahead so its first lines are
		 * in cache when we get there.  Pure hint; no effect on results.
		 */
		if (h + KNN_PREFETCH < q_n)
		{
			int64_t		ahead = AT->indptr[q_idx[h + KNN_PREFETCH]];

			RP_PREFETCH(ix + ahead);
			RP_PREFETCH(vx + ahead);
			RP_PREFETCH(vx + ahead + 8);
		}

		for (int64_t p = AT->indptr[d]; p < e; p++)
		{
			int32_t		j = ix[p];

			touched[nt] = j;
			nt += (cnt[j] == 0);
			cnt[j]++;
			acc[j] += w * vx[p];
		}
	}

	for (int64_t t = 0; t < nt; t++)
	{
		int32_t		j = touched[t];
		double		den = q_norm * norms[j];
		double		sim;

		if (j != exclude && den > 0.0)
		{
			sim = acc[j] / den;
			/* rounding can push a parallel pair just past 1 */
			if (sim > 1.0)
				sim = 1.0;
			else if (sim < -1.0)
				sim = -1.0;
			if (shrink > 0.0)
				sim *= (double) cnt[j] / ((double) cnt[j] + shrink);
			if (sim > 0.0)
				knn_offer(s->heap, &kept, k, sim, j);
		}
		acc[j] = 0.0;
		cnt[j] = 0;
	}
	return kept;
}

size_t
rp_knn_weight_workspace_size(const rp_csr *A)
{
	return ((size_t) A->n_cols + 1) * sizeof(double);
}

rp_status
rp_knn_idf(const rp_csr *A, rp_knn_weighting weighting, double *idf, double *avglen)
{
	double		n = (double) A->n_rows;
	double		total = 0.0;

	for (int64_t p = 0; p < A->nnz; p++)
	{
		if (!rp_finite(A->values[p]))
			return RP_ENUMERIC;
		if (weighting != RP_KNN_WEIGHT_NONE && A->values[p] < 0.0)
			return RP_EINVAL;
		total += A->values[p];
	}
	*avglen = n > 0.0 ? total / n : 0.0;
	if (weighting == RP_KNN_WEIGHT_NONE)
	{
		for (int32_t d = 0; d < A->n_cols; d++)
			idf[d] = 1.0;
		return RP_OK;
	}
	/* document frequencies, then idf weights in place */
	memset(idf, 0, (size_t) A->n_cols * sizeof(double));
	for (int64_t p = 0; p < A->nnz; p++)
		if (A->values[p] != 0.0)
			idf[A->indices[p]] += 1.0;
	for (int32_t d = 0; d < A->n_cols; d++)
	{
		if (weighting == RP_KNN_WEIGHT_TFIDF)
			idf[d] = log((1.0 + n) / (1.0 + idf[d])) + 1.0;
		else
			idf[d] = log1p((n - idf[d] + 0.5) / (idf[d] + 0.5));
	}
	return RP_OK;
}

void
rp_knn_weight_row(rp_knn_weighting weighting, double k1, double b,
				  const double *idf, double avglen, const int32_t *idx,
				  const double *val, int64_t n, double *out)
{
	double		len = 0.0;
	double		norm_len;

	if (weighting == RP_KNN_WEIGHT_NONE)
	{
		if (out != val)
			memcpy(out, val, (size_t) n * sizeof(double));
		return;
	}
	if (weighting == RP_KNN_WEIGHT_BM25)
		for (int64_t p = 0; p < n; p++)
			len += val[p];
	norm_len = avglen > 0.0 ? k1 * (1.0 - b + b * len / avglen) : k1;
	for (int64_t p = 0; p < n; p++)
	{
		double		r = val[p];

		if (weighting == RP_KNN_WEIGHT_TFIDF)
			out[p] = r * idf[idx[p]];
		else
			out[p] = r == 0.0 ? 0.0 : r * (k1 + 1.0) / (r + norm_len) * idf[idx[p]];
	}
}

rp_status
rp_knn_weight(const rp_csr *A, rp_knn_weighting weighting, double k1, double b,
			  double *out, void *work)
{
	double	   *idf = (double *) work;
	double		avglen;
	rp_status	st;

	if (weighting == RP_KNN_WEIGHT_BM25 && !(k1 > 0.0 && b >= 0.0 && b <= 1.0))
		return RP_EINVAL;
	st = rp_knn_idf(A, weighting, idf, &avglen);
	if (st != RP_OK)
		return st;
	for (int32_t i = 0; i < A->n_rows; i++)
	{
		int64_t		p = A->indptr[i];

		rp_knn_weight_row(weighting, k1, b, idf, avglen, A->indices + p,
						  A->values + p, A->indptr[i + 1] - p, out + p);
	}
	return RP_OK;
}

void
rp_knn_row_norms(const rp_csr *A, double *norms)
{
	for (int32_t i = 0; i < A->n_rows; i++)
	{
		double		s = 0.0;

		for (int64_t p = A->indptr[i]; p < A->indptr[i + 1]; p++)
			s += A->values[p] * A->values[p];
		norms[i] = sqrt(s);
	}
}

/* bytes of one thread's scratch, rounded to a cache line */
static size_t
knn_thread_bytes(int32_t n_vec, int32_t k)
{
	size_t		b = (size_t) n_vec * sizeof(double)
		+ (size_t) k * sizeof(knn_entry)
		+ (2 * (size_t) n_vec + 1) * sizeof(int32_t);

	return (b + 63) & ~(size_t) 63;
}

static void
knn_carve(void *base, int32_t n_vec, int32_t k, knn_scratch *s)
{
	char	   *p = (char *) base;

	s->acc = (double *) p;
	p += (size_t) n_vec * sizeof(double);
	s->heap = (knn_entry *) p;
	p += (size_t) k * sizeof(knn_entry);
	s->cnt = (int32_t *) p;
	p += (size_t) n_vec * sizeof(int32_t);
	s->touched = (int32_t *) p;
}

/*
 * The fit's per-thread scratch.  Besides the accumulator, counter and touched
 * list of the kernel, every thread holds a selection heap for EVERY row (a
 * pair i < j is computed once, by whoever runs row i, and offered to both
 * rows' heaps), stored column-wise: hv / hi (n_vec * k similarities and
 * indices, row r at r * k), hn (entries per row) and thr (a row's admission
 * threshold: -inf until its heap is full, then the worst kept similarity, a
 * cache-friendly first test before the heap itself is touched).  Thread 0's
 * heaps are the output arrays themselves, so one thread needs no n_vec * k
 * scratch.  merge is k entries for the final per-row merge and sort.
 */
/*
 * A pair's running dot product and count of common users, side by side so
 * that the kernel's inner loop touches one cache line per candidate, not
 * two.
 */
typedef struct knn_acc
{
	double		dot;
	int32_t		cnt;
	int32_t		pad;
} knn_acc;

typedef struct knn_fit_scratch
{
	knn_acc    *acc;
	double	   *thr;
	double	   *hv;
	int32_t    *hi;
	int32_t    *hn;
	int32_t    *touched;		/* n_vec + 1 */
	knn_entry  *merge;
} knn_fit_scratch;

/* bytes of one thread's fit scratch, without its n_vec * k heaps */
static size_t
knn_fit_thread_bytes(int32_t n_vec, int32_t k)
{
	size_t		b = (size_t) n_vec * sizeof(knn_acc)
		+ (size_t) n_vec * sizeof(double)
		+ (2 * (size_t) n_vec + 1) * sizeof(int32_t)
		+ (size_t) k * sizeof(knn_entry);

	return (b + 63) & ~(size_t) 63;
}

/* bytes of one thread's n_vec * k heaps (threads 1.. only) */
static size_t
knn_fit_heap_bytes(int32_t n_vec, int32_t k)
{
	size_t		b = (size_t) n_vec * (size_t) k * (sizeof(double) + sizeof(int32_t));

	return (b + 63) & ~(size_t) 63;
}

size_t
rp_knn_workspace_size(int32_t n_vec, int32_t k, int nthreads)
{
	size_t		norms = (((size_t) n_vec * sizeof(double)) + 63) & ~(size_t) 63;

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;
	return norms + (size_t) nthreads * knn_fit_thread_bytes(n_vec, k)
		+ (size_t) (nthreads - 1) * knn_fit_heap_bytes(n_vec, k) + 64;
}

typedef struct knn_fit_ctx
{
	const rp_csr *A;
	const rp_csr *AT;
	const double *norms;
	const rp_knn_params *p;
	rp_csr	   *out;
	knn_fit_scratch th[RP_MAX_THREADS];
	int			nthreads;
} knn_fit_ctx;

/*
 * Offers (sim, idx) to row r's heap (column-wise min-heap by quality, worst
 * at r * k).  The order is knn_worse's, so the kept set is the unique top k
 * of everything offered, whatever the order of the offers.
 */
static inline void
knn_fit_offer(knn_fit_scratch *s, int32_t k, int32_t r, double sim, int32_t idx)
{
	double	   *v;
	int32_t    *x;
	int32_t		n;
	int32_t		i;

	if (sim < s->thr[r])
		return;
	v = s->hv + (int64_t) r * k;
	x = s->hi + (int64_t) r * k;
	n = s->hn[r];
	if (n < k)
	{
		/* sift up */
		i = n;
		while (i > 0)
		{
			int32_t		parent = (i - 1) / 2;

			if (!(sim < v[parent] || (sim == v[parent] && idx > x[parent])))
				break;
			v[i] = v[parent];
			x[i] = x[parent];
			i = parent;
		}
		v[i] = sim;
		x[i] = idx;
		s->hn[r] = n + 1;
		if (n + 1 == k)
			s->thr[r] = v[0];
		return;
	}
	/* full: replace the root only if it is worse than the candidate */
	if (!(v[0] < sim || (v[0] == sim && x[0] > idx)))
		return;
	i = 0;
	for (;;)
	{
		int32_t		l = 2 * i + 1;
		int32_t		rr = l + 1;
		int32_t		m = -1;
		double		mv = sim;
		int32_t		mx = idx;

		/* the worst of the candidate and the two children goes up */
		if (l < n && (v[l] < mv || (v[l] == mv && x[l] > mx)))
		{
			m = l;
			mv = v[l];
			mx = x[l];
		}
		if (rr < n && (v[rr] < mv || (v[rr] == mv && x[rr] > mx)))
		{
			m = rr;
			mv = v[rr];
			mx = x[rr];
		}
		if (m < 0)
			break;
		v[i] = mv;
		x[i] = mx;
		i = m;
	}
	v[i] = sim;
	x[i] = idx;
	s->thr[r] = v[0];
}

/*
 * Phase 1, rows [begin, end): the dot products of row i with the rows j > i
 * (the tail of each sorted AT row, walked backwards until j <= i), then
 * each positive similarity offered to both heaps.  dot(i, j) sums the
 * products a_id * a_jd over the common d in increasing d, exactly as the
 * row-by-row kernel does for row i and for row j (products commute
 * exactly), so computing a pair once changes no bit of the result.
 */
static void
knn_fit_range(void *arg, int thread, int64_t begin, int64_t end)
{
	knn_fit_ctx *c = (knn_fit_ctx *) arg;
	knn_fit_scratch *s = &c->th[thread];
	const rp_csr *AT = c->AT;
	const int64_t *atp = AT->indptr;
	const int32_t *ix = AT->indices;
	const double *vx = AT->values;
	const double *norms = c->norms;
	knn_acc    *acc = s->acc;
	int32_t    *touched = s->touched;
	int32_t		k = c->p->k;
	double		shrink = c->p->shrink;

	for (int64_t i = begin; i < end; i++)
	{
		int64_t		b = c->A->indptr[i];
		int64_t		q_n = c->A->indptr[i + 1] - b;
		const int32_t *q_idx = c->A->indices + b;
		const double *q_val = c->A->values + b;
		double		q_norm = norms[i];
		int64_t		nt = 0;

		for (int64_t h = 0; h < q_n; h++)
		{
			const double w = q_val[h];
			const int32_t d = q_idx[h];
			const int64_t lo = atp[d];

			/*
			 * See knn_one: the next rows' ends, where the walk starts.  Their
			 * indptr slots are themselves scattered, so they are asked for
			 * twice as far ahead and are in cache when read here.
			 */
			if (h + 2 * KNN_PREFETCH < q_n)
				RP_PREFETCH(atp + q_idx[h + 2 * KNN_PREFETCH] + 1);
			if (h + KNN_PREFETCH < q_n)
			{
				int64_t		ahead = atp[q_idx[h + KNN_PREFETCH] + 1] - 1;

				RP_PREFETCH(ix + ahead);
				RP_PREFETCH(vx + ahead);
				RP_PREFETCH(vx + ahead - 8);
			}
			for (int64_t p = atp[d + 1] - 1; p >= lo; p--)
			{
				int32_t		j = ix[p];

				if (j <= i)
					break;
				touched[nt] = j;
				nt += (acc[j].cnt == 0);
				acc[j].cnt++;
				acc[j].dot += w * vx[p];
			}
		}

		for (int64_t t = 0; t < nt; t++)
		{
			int32_t		j = touched[t];
			double		den = q_norm * norms[j];
			double		sim;

			if (den > 0.0)
			{
				sim = acc[j].dot / den;
				/* rounding can push a parallel pair just past 1 */
				if (sim > 1.0)
					sim = 1.0;
				else if (sim < -1.0)
					sim = -1.0;
				if (shrink > 0.0)
					sim *= (double) acc[j].cnt / ((double) acc[j].cnt + shrink);
				if (sim > 0.0)
				{
					knn_fit_offer(s, k, (int32_t) i, sim, j);
					knn_fit_offer(s, k, j, sim, (int32_t) i);
				}
			}
			acc[j].dot = 0.0;
			acc[j].cnt = 0;
		}
	}
}

/*
 * Phase 2, rows [begin, end): merges the threads' heaps of row i into one
 * top k (thread 0's heap, already a valid heap, plus the others' entries),
 * sorts it by column and writes it to row i's k slots (thread 0's heap
 * lives there).
 */
static void
knn_merge_range(void *arg, int thread, int64_t begin, int64_t end)
{
	knn_fit_ctx *c = (knn_fit_ctx *) arg;
	knn_entry  *h = c->th[thread].merge;
	int32_t		k = c->p->k;

	for (int64_t i = begin; i < end; i++)
	{
		const knn_fit_scratch *s0 = &c->th[0];
		int32_t		kept = s0->hn[i];

		for (int32_t t = 0; t < kept; t++)
		{
			h[t].sim = s0->hv[i * k + t];
			h[t].idx = s0->hi[i * k + t];
		}
		for (int q = 1; q < c->nthreads; q++)
		{
			const knn_fit_scratch *s = &c->th[q];

			for (int32_t t = 0; t < s->hn[i]; t++)
				knn_offer(h, &kept, k, s->hv[i * k + t], s->hi[i * k + t]);
		}
		knn_sort(h, kept, 1);
		for (int32_t t = 0; t < kept; t++)
		{
			c->out->indices[i * k + t] = h[t].idx;
			c->out->values[i * k + t] = h[t].sim;
		}
		/* the count goes in the next indptr slot; compacted afterwards */
		c->out->indptr[i + 1] = kept;
	}
}

rp_status
rp_knn_fit(const rp_csr *A, const rp_csr *AT, const rp_knn_params *p,
		   rp_csr *out, void *work, const rp_cancel *cancel)
{
	knn_fit_ctx *c;
	knn_fit_ctx ctx;
	double	   *norms = (double *) work;
	size_t		norms_bytes;
	char	   *base;
	int			nthreads;
	int32_t		n = A->n_rows;
	int32_t		k = p->k;
	int64_t		w;
	rp_status	st;

	if (k < 1 || k > RP_KNN_MAX_K || !(p->shrink >= 0.0) || !rp_finite(p->shrink)
		|| AT->n_rows != A->n_cols || AT->n_cols != A->n_rows || AT->nnz != A->nnz)
		return RP_EINVAL;
	nthreads = p->nthreads < 1 ? 1 : (p->nthreads > RP_MAX_THREADS ? RP_MAX_THREADS : p->nthreads);

	rp_knn_row_norms(A, norms);
	for (int32_t i = 0; i < n; i++)
		if (!rp_finite(norms[i]))
			return RP_ENUMERIC;
	norms_bytes = (((size_t) n * sizeof(double)) + 63) & ~(size_t) 63;

	/* carve the threads' scratch: accumulators and counters start zeroed */
	c = &ctx;
	c->A = A;
	c->AT = AT;
	c->norms = norms;
	c->p = p;
	c->out = out;
	c->nthreads = nthreads;
	base = (char *) work + norms_bytes;
	for (int t = 0; t < nthreads; t++)
	{
		knn_fit_scratch *s = &c->th[t];
		char	   *q = base;

		memset(base, 0, knn_fit_thread_bytes(n, k));
		s->acc = (knn_acc *) q;
		q += (size_t) n * sizeof(knn_acc);
		s->thr = (double *) q;
		q += (size_t) n * sizeof(double);
		s->merge = (knn_entry *) q;
		q += (size_t) k * sizeof(knn_entry);
		s->hn = (int32_t *) q;
		q += (size_t) n * sizeof(int32_t);
		s->touched = (int32_t *) q;
		base += knn_fit_thread_bytes(n, k);
		for (int32_t i = 0; i < n; i++)
			s->thr[i] = -INFINITY;
	}
	c->th[0].hv = out->values;
	c->th[0].hi = out->indices;
	for (int t = 1; t < nthreads; t++)
	{
		c->th[t].hv = (double *) base;
		c->th[t].hi = (int32_t *) (base + (size_t) n * (size_t) k * sizeof(double));
		base += knn_fit_heap_bytes(n, k);
	}

	out->indptr[0] = 0;
	st = rp_parallel_for(nthreads, n, KNN_BLOCK, knn_fit_range, c, cancel);
	if (st != RP_OK)
		return st;
	st = rp_parallel_for(nthreads, n, KNN_MERGE_BLOCK, knn_merge_range, c, cancel);
	if (st != RP_OK)
		return st;

	/* compact the fixed k-slot rows into CSR (destinations never overtake sources) */
	w = 0;
	for (int32_t i = 0; i < n; i++)
	{
		int64_t		cnt = out->indptr[i + 1];

		if (w != (int64_t) i * k)
		{
			memmove(out->indices + w, out->indices + (int64_t) i * k, (size_t) cnt * sizeof(int32_t));
			memmove(out->values + w, out->values + (int64_t) i * k, (size_t) cnt * sizeof(double));
		}
		w += cnt;
		out->indptr[i + 1] = w;
	}
	out->n_rows = n;
	out->n_cols = n;
	out->nnz = w;
	return RP_OK;
}

size_t
rp_knn_query_workspace_size(int32_t n_vec, int32_t k)
{
	return knn_thread_bytes(n_vec, k);
}

rp_status
rp_knn_query(const rp_csr *AT, const double *norms, int32_t n_vec,
			 const int32_t *q_idx, const double *q_val, int32_t q_n,
			 int32_t exclude, const rp_knn_params *p,
			 int32_t *out_idx, double *out_sim, int32_t *n_out, void *work)
{
	knn_scratch s;
	double		qn = 0.0;
	int32_t		kept;

	*n_out = 0;
	if (p->k < 1 || p->k > RP_KNN_MAX_K || !(p->shrink >= 0.0) || AT->n_cols != n_vec)
		return RP_EINVAL;
	for (int32_t h = 0; h < q_n; h++)
	{
		if (!rp_finite(q_val[h]))
			return RP_ENUMERIC;
		if (q_idx[h] < 0 || q_idx[h] >= AT->n_rows || (h > 0 && q_idx[h] <= q_idx[h - 1]))
			return RP_EINVAL;
		qn += q_val[h] * q_val[h];
	}
	qn = sqrt(qn);
	knn_carve(work, n_vec, p->k, &s);
	memset(s.acc, 0, (size_t) n_vec * sizeof(double));
	memset(s.cnt, 0, (size_t) n_vec * sizeof(int32_t));
	kept = knn_one(AT, norms, q_idx, q_val, q_n, qn, exclude, p->k, p->shrink, &s);
	knn_sort(s.heap, kept, 0);
	for (int32_t t = 0; t < kept; t++)
	{
		out_idx[t] = s.heap[t].idx;
		out_sim[t] = s.heap[t].sim;
	}
	*n_out = kept;
	return RP_OK;
}

void
rp_knn_score_items(const rp_csr *S, const int32_t *hist_idx,
				   const double *hist_val, int32_t n_hist, double *scores)
{
	memset(scores, 0, (size_t) S->n_cols * sizeof(double));
	for (int32_t h = 0; h < n_hist; h++)
	{
		int32_t		i = hist_idx[h];

		if (i < 0 || i >= S->n_rows)
			continue;
		for (int64_t p = S->indptr[i]; p < S->indptr[i + 1]; p++)
			scores[S->indices[p]] += hist_val[h] * S->values[p];
	}
}

void
rp_knn_score_users(const rp_csr *X, const int32_t *nb_idx,
				   const double *nb_sim, int32_t n_nb, double *scores)
{
	memset(scores, 0, (size_t) X->n_cols * sizeof(double));
	for (int32_t t = 0; t < n_nb; t++)
	{
		int32_t		v = nb_idx[t];

		if (v < 0 || v >= X->n_rows)
			continue;
		for (int64_t p = X->indptr[v]; p < X->indptr[v + 1]; p++)
			scores[X->indices[p]] += nb_sim[t] * X->values[p];
	}
}
