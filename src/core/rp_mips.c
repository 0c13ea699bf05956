/*
 * rp_mips.c
 *	  Exact top-k inner products by norm order and Cauchy-Schwarz bounds
 *	  (see rp_mips.h).
 *
 * Algorithm.  By Cauchy-Schwarz, u . v <= ||u|| ||v||, so an item's score
 * is at most base + bias_i + ||u|| ||v_i||.  The index lists the items by
 * decreasing "size" sqrt(||v_i||^2 + bias_i^2) (ties by index), in blocks
 * of RP_MIPS_BLOCK, with the largest ||v|| and the largest bias of every
 * suffix of blocks.  A query walks the blocks in that order, keeps the k
 * best exact scores in the heap of rp_topk_offer, skips an item whose
 * bound is below the k-th score, and stops at the first block whose suffix
 * bound is below it: no item from there on can enter.  This is the
 * norm-ordered pruning of LEMP (Teflioudi, Gemulla and Mykytiuk, "LEMP:
 * fast retrieval of large entries in a matrix product", SIGMOD 2015) with
 * a single bucket order and the length test only.
 *
 * Why it pays on factor models: the item factors of implicit ALS have
 * heavy-tailed norms (an item's norm grows with its popularity; on the
 * benchmark's ALS factors of 200,000 items the largest norm is 40, the
 * median 0.04), and a user's best items are among the large ones, so a
 * query typically scores well under 1% of the catalogue.  Vectors whose
 * norms are all alike (Gaussian ones) are not pruned; rp_mips_probe tells
 * the caller so, and the query gives up after max_visit items anyway.
 *
 * Exactness.  A skipped item has a bound below the current k-th score, so
 * its score is strictly below it and it can never enter (ties included: an
 * item whose bound equals the k-th score is scored).  Items are scored with
 * the reference formula, base + (sum_f u_f v_f in order, + bias), so
 * scores are bit-identical to a full scan's.  The bound must hold for the
 * computed score, not only the real one: the computed dot product differs
 * from the real one by at most gamma_f sum |u_f v_f| <= f 2^-53 ||u|| ||v||
 * (Higham 2002, section 3.1), and the computed norms by a few ulps, so
 * the bound is taken as ||u|| ||v|| (1 + 1e-9) + 1e-300 (the relative term
 * covers rounding for up to millions of factors, the absolute one
 * underflow), and every rounding after that (adding the bias, then base)
 * is monotone, so comparing the rounded bound with the rounded score is
 * safe.
 *
 * Memory order.  A query reads the factor rows of the items it scores in
 * position order; through perm they are scattered over V (a cache miss or
 * more per row).  The index therefore keeps a copy of the rows of the
 * first positions, where nearly every query stays (RP_MIPS_PREFIX: 1/16
 * of the items, at least 4,096; 6.4 MB at 200,000 x 64), contiguous in
 * position order: the same doubles, so the same scores, read
 * sequentially.  On a busy 2-core machine this halved the time of a
 * query on the benchmark's ALS factors.
 *
 * Layout (pointer-free; offsets from the start of the buffer, 8-aligned):
 *	header | perm int32[n] | norm double[n] | bias double[n] (with a bias)
 *	| sufnorm double[nblk] | sufbias double[nblk] | rows double[npre][f]
 * perm[p] is the item at position p; norm and bias are by position; rows
 * holds V[perm[p]] for p < npre.
 */
#include "rp_mips.h"
#include "rp_topk.h"

#include <math.h>
#include <string.h>

#define RP_MIPS_MAGIC 0x52504d31u	/* never read across versions: a rebuild is cheap */
#define RP_MIPS_BLOCK 32
#define RP_MIPS_PREFIX_MIN 4096
#define RP_MIPS_PREFIX_DIV 16
#define BOUND_REL (1.0 + 1e-9)
#define BOUND_ABS 1e-300

typedef struct mips_header
{
	uint32_t	magic;
	int32_t		n_items;
	int32_t		factors;
	int32_t		has_bias;
	int32_t		block;
	int32_t		nblk;
	uint64_t	size;
	uint64_t	off_perm;
	uint64_t	off_norm;
	uint64_t	off_bias;		/* 0 without a bias */
	uint64_t	off_sufnorm;
	uint64_t	off_sufbias;
	int32_t		npre;			/* rows copied in position order */
	int32_t		pad;
	uint64_t	off_rows;
} mips_header;

static size_t
align8(size_t x)
{
	return (x + 7) & ~(size_t) 7;
}

/* Fills the offsets for n items of f factors; returns the total size. */
static size_t
layout(int32_t n, int32_t f, int has_bias, mips_header *h)
{
	size_t		off = align8(sizeof(mips_header));
	int32_t		nblk = (n + RP_MIPS_BLOCK - 1) / RP_MIPS_BLOCK;

	h->n_items = n;
	h->has_bias = has_bias ? 1 : 0;
	h->block = RP_MIPS_BLOCK;
	h->nblk = nblk;
	h->off_perm = off;
	off = align8(off + (size_t) n * sizeof(int32_t));
	h->off_norm = off;
	off += (size_t) n * sizeof(double);
	h->off_bias = has_bias ? off : 0;
	if (has_bias)
		off += (size_t) n * sizeof(double);
	h->off_sufnorm = off;
	off += (size_t) nblk * sizeof(double);
	h->off_sufbias = off;
	off += (size_t) nblk * sizeof(double);
	h->npre = n / RP_MIPS_PREFIX_DIV > RP_MIPS_PREFIX_MIN ? n / RP_MIPS_PREFIX_DIV :
		(n < RP_MIPS_PREFIX_MIN ? n : RP_MIPS_PREFIX_MIN);
	h->off_rows = off;
	off += (size_t) h->npre * f * sizeof(double);
	h->size = off;
	return off;
}

size_t
rp_mips_index_size(int32_t n_items, int32_t factors, int has_bias)
{
	mips_header h;

	if (n_items < 0 || factors < 1)
		return 0;
	return layout(n_items, factors, has_bias, &h);
}

/* sqrt of the sum of squares, in order (the same in build and query) */
static double
norm2(const double *a, int32_t f)
{
	double		s = 0.0;

	for (int32_t j = 0; j < f; j++)
		s += a[j] * a[j];
	return sqrt(s);
}

/* position a before position b: larger key, then lower index */
static inline int
before(const double *key, const int32_t *idx, int32_t a, int32_t b)
{
	return key[a] > key[b] || (key[a] == key[b] && idx[a] < idx[b]);
}

static void
swap2(double *key, int32_t *idx, int32_t a, int32_t b)
{
	double		tk = key[a];
	int32_t		ti = idx[a];

	key[a] = key[b];
	idx[a] = idx[b];
	key[b] = tk;
	idx[b] = ti;
}

/*
 * Heapsort of (key, idx) pairs into `before` order, in place: no
 * allocation, O(n log n), and the order is total, so the result does not
 * depend on the algorithm.  The fallback of sort_pairs.
 */
static void
heap_sort_pairs(double *key, int32_t *idx, int32_t n)
{
	/* a heap whose root is the last in `before` order */
	for (int32_t start = n / 2 - 1; start >= 0; start--)
	{
		int32_t		pos = start;

		for (;;)
		{
			int32_t		l = 2 * pos + 1;
			int32_t		w = pos;

			if (l < n && before(key, idx, w, l))
				w = l;
			if (l + 1 < n && before(key, idx, w, l + 1))
				w = l + 1;
			if (w == pos)
				break;
			swap2(key, idx, w, pos);
			pos = w;
		}
	}
	for (int32_t end = n - 1; end > 0; end--)
	{
		int32_t		pos = 0;

		swap2(key, idx, 0, end);
		for (;;)
		{
			int32_t		l = 2 * pos + 1;
			int32_t		w = pos;

			if (l < end && before(key, idx, w, l))
				w = l;
			if (l + 1 < end && before(key, idx, w, l + 1))
				w = l + 1;
			if (w == pos)
				break;
			swap2(key, idx, w, pos);
			pos = w;
		}
	}
}

/*
 * Introsort of (key, idx) pairs into `before` order: quicksort with a
 * median-of-three pivot, insertion sort below 16 elements, heapsort when
 * the recursion gets deeper than 2 log2 n (so O(n log n) always).  In
 * place; recursion only into the smaller part.  About 8x faster than the
 * heapsort alone on 200,000 items (cache-friendly passes).
 */
static void
sort_pairs_depth(double *key, int32_t *idx, int32_t n, int depth)
{
	while (n > 16)
	{
		int32_t		mid = n / 2;
		int32_t		i;
		int32_t		j;

		if (depth-- <= 0)
		{
			heap_sort_pairs(key, idx, n);
			return;
		}
		/* median of three into position 0, then Hoare partition */
		if (before(key, idx, mid, 0))
			swap2(key, idx, mid, 0);
		if (before(key, idx, n - 1, 0))
			swap2(key, idx, n - 1, 0);
		if (before(key, idx, n - 1, mid))
			swap2(key, idx, n - 1, mid);
		/* now key[0] <= key[mid] <= key[n-1] in `before` order */
		swap2(key, idx, 0, mid);
		i = 0;
		j = n;
		for (;;)
		{
			do
				i++;
			while (i < n && before(key, idx, i, 0));
			do
				j--;
			while (before(key, idx, 0, j));
			if (i >= j)
				break;
			swap2(key, idx, i, j);
		}
		swap2(key, idx, 0, j);
		/* [0, j) before the pivot, j the pivot, (j, n) after it */
		if (j < n - j - 1)
		{
			sort_pairs_depth(key, idx, j, depth);
			key += j + 1;
			idx += j + 1;
			n -= j + 1;
		}
		else
		{
			sort_pairs_depth(key + j + 1, idx + j + 1, n - j - 1, depth);
			n = j;
		}
	}
	for (int32_t a = 1; a < n; a++)
		for (int32_t b = a; b > 0 && before(key, idx, b, b - 1); b--)
			swap2(key, idx, b, b - 1);
}

static void
sort_pairs(double *key, int32_t *idx, int32_t n)
{
	int			depth = 0;

	for (int32_t m = n; m > 1; m >>= 1)
		depth += 2;
	sort_pairs_depth(key, idx, n, depth);
}

rp_status
rp_mips_build(const double *V, const double *item_bias, int32_t n_items,
			  int32_t factors, void *buf, size_t size)
{
	mips_header h;
	char	   *base = buf;
	int32_t    *perm;
	double	   *norm;
	double	   *bias;
	double	   *sufn;
	double	   *sufb;

	if (n_items < 0 || factors < 1 || buf == NULL || ((uintptr_t) buf & 7) != 0 ||
		(n_items > 0 && V == NULL))
		return RP_EINVAL;
	memset(&h, 0, sizeof(h));
	if (layout(n_items, factors, item_bias != NULL, &h) > size)
		return RP_EINVAL;
	h.magic = RP_MIPS_MAGIC;
	h.factors = factors;
	memset(buf, 0, h.size);
	memcpy(buf, &h, sizeof(h));
	perm = (int32_t *) (base + h.off_perm);
	norm = (double *) (base + h.off_norm);
	bias = h.has_bias ? (double *) (base + h.off_bias) : NULL;
	sufn = (double *) (base + h.off_sufnorm);
	sufb = (double *) (base + h.off_sufbias);

	/* sort by size; norm[] holds the key meanwhile */
	for (int32_t i = 0; i < n_items; i++)
	{
		double		v = norm2(V + (size_t) i * factors, factors);
		double		b = item_bias ? item_bias[i] : 0.0;

		perm[i] = i;
		norm[i] = item_bias ? sqrt(v * v + b * b) : v;
	}
	sort_pairs(norm, perm, n_items);
	for (int32_t p = 0; p < n_items; p++)
	{
		/* without a bias the key is the norm: no second pass over V */
		if (bias)
			norm[p] = norm2(V + (size_t) perm[p] * factors, factors);
		if (bias)
			bias[p] = item_bias[perm[p]];
		if (p < h.npre)
			memcpy(base + h.off_rows + (size_t) p * factors * sizeof(double),
				   V + (size_t) perm[p] * factors, factors * sizeof(double));
	}
	for (int32_t b = h.nblk - 1; b >= 0; b--)
	{
		int32_t		lo = b * RP_MIPS_BLOCK;
		int32_t		hi = lo + RP_MIPS_BLOCK < n_items ? lo + RP_MIPS_BLOCK : n_items;
		double		mn = b + 1 < h.nblk ? sufn[b + 1] : 0.0;
		double		mb = b + 1 < h.nblk ? sufb[b + 1] : -INFINITY;

		for (int32_t p = lo; p < hi; p++)
		{
			if (norm[p] > mn)
				mn = norm[p];
			if ((bias ? bias[p] : 0.0) > mb)
				mb = bias ? bias[p] : 0.0;
		}
		sufn[b] = mn;
		sufb[b] = mb;
	}
	return RP_OK;
}

int
rp_mips_index_valid(const void *buf, size_t size, int32_t n_items, int32_t factors,
					int has_bias)
{
	mips_header h;
	mips_header want;

	if (buf == NULL || size < sizeof(h) || ((uintptr_t) buf & 7) != 0)
		return 0;
	memcpy(&h, buf, sizeof(h));
	memset(&want, 0, sizeof(want));
	if (n_items < 0 || factors < 1 || layout(n_items, factors, has_bias, &want) != h.size ||
		h.size > size)
		return 0;
	return h.magic == RP_MIPS_MAGIC && h.n_items == n_items && h.factors == factors &&
		h.has_bias == want.has_bias && h.block == want.block && h.nblk == want.nblk &&
		h.off_perm == want.off_perm && h.off_norm == want.off_norm &&
		h.off_bias == want.off_bias && h.off_sufnorm == want.off_sufnorm &&
		h.off_sufbias == want.off_sufbias && h.npre == want.npre && h.off_rows == want.off_rows;
}

int
rp_mips_index_check(const void *buf, size_t size, int32_t n_items, int32_t factors,
					int has_bias, unsigned char *seen)
{
	mips_header h;
	const int32_t *perm;

	if (!rp_mips_index_valid(buf, size, n_items, factors, has_bias) ||
		(n_items > 0 && seen == NULL))
		return 0;
	memcpy(&h, buf, sizeof(h));
	perm = (const int32_t *) ((const char *) buf + h.off_perm);
	memset(seen, 0, ((size_t) n_items + 7) / 8);
	for (int32_t p = 0; p < n_items; p++)
	{
		int32_t		i = perm[p];

		if (i < 0 || i >= n_items || (seen[i >> 3] & (1u << (i & 7))) != 0)
			return 0;
		seen[i >> 3] |= (unsigned char) (1u << (i & 7));
	}
	return 1;
}

/* True when item i is in the ascending list excl[0..n) (binary search). */
static inline int
in_list(const int32_t *excl, int32_t n, int32_t i)
{
	int32_t		lo = 0;
	int32_t		hi = n;

	while (lo < hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;

		if (excl[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && excl[lo] == i;
}

/*
 * base + (sum_f u_f v_f + bias): the reference formula of every serving
 * path (rp_batch.c's dscore); keep the order of operations.
 */
static inline double
exact_score(const double *u, const double *v, int32_t f, const double *bias_i,
			double base)
{
	double		d = 0.0;

	for (int32_t j = 0; j < f; j++)
		d += u[j] * v[j];
	if (bias_i != NULL)
		d += *bias_i;
	return base + d;
}

int32_t
rp_mips_topk(const void *index, const double *V, const double *item_bias,
			 const rp_mips_query *q, int32_t k, int32_t *out_idx, double *out_score,
			 rp_mips_stats *stats)
{
	mips_header h;
	const char *base = index;
	const int32_t *perm;
	const double *norm;
	const double *bias;
	const double *sufn;
	const double *sufb;
	const double *rows;
	int32_t		f;
	double		un;
	int32_t		m = 0;
	int64_t		scored = 0;
	int64_t		examined = 0;

	memcpy(&h, index, sizeof(h));
	f = h.factors;
	perm = (const int32_t *) (base + h.off_perm);
	norm = (const double *) (base + h.off_norm);
	bias = h.has_bias ? (const double *) (base + h.off_bias) : NULL;
	sufn = (const double *) (base + h.off_sufnorm);
	sufb = (const double *) (base + h.off_sufbias);
	rows = (const double *) (base + h.off_rows);
	if (k <= 0)
		return 0;
	un = norm2(q->u, f);

	for (int32_t b = 0; b < h.nblk; b++)
	{
		int32_t		lo = b * h.block;
		int32_t		hi = lo + h.block < h.n_items ? lo + h.block : h.n_items;

		/* the heap's root is the worst kept entry once it holds k */
		if (m == k && q->base + (sufb[b] + (un * sufn[b] * BOUND_REL + BOUND_ABS)) < out_score[0])
			break;
		for (int32_t p = lo; p < hi; p++)
		{
			int32_t		i;
			double		s;

			examined++;
			if (m == k &&
				q->base + ((bias ? bias[p] : 0.0) + (un * norm[p] * BOUND_REL + BOUND_ABS)) < out_score[0])
				continue;
			i = perm[p];
			if (q->allowed != NULL && !q->allowed[i])
				continue;
			if (q->nexcl > 0 && in_list(q->excl, q->nexcl, i))
				continue;
			if (q->max_visit > 0 && scored >= q->max_visit)
			{
				if (stats)
				{
					stats->scored = scored;
					stats->examined = examined;
				}
				return -1;
			}
			scored++;
			s = exact_score(q->u, p < h.npre ? rows + (size_t) p * f : V + (size_t) i * f, f,
							item_bias ? item_bias + i : NULL, q->base);
			rp_topk_offer(out_idx, out_score, k, &m, s, i);
		}
	}
	rp_topk_finish(out_idx, out_score, m);
	if (stats)
	{
		stats->scored = scored;
		stats->examined = examined;
	}
	return m;
}

/* Whether row u of U (factors wide) is all zeros. */
static int
zero_row(const double *U, int32_t u, int32_t factors)
{
	for (int32_t f = 0; f < factors; f++)
		if (U[(size_t) u * factors + f] != 0.0)
			return 0;
	return 1;
}

double
rp_mips_probe(const void *index, const double *V, const double *item_bias,
			  const double *U, int32_t n_users, int32_t nsample, int32_t k,
			  int64_t max_visit)
{
	mips_header h;
	int32_t		idx[64];
	double		sc[64];
	double		sum = 0.0;
	int32_t		done = 0;
	int32_t		last = -1;

	memcpy(&h, index, sizeof(h));
	if (k > 64)
		k = 64;
	if (nsample > n_users)
		nsample = n_users;
	if (h.n_items == 0 || nsample <= 0)
		return 0.0;
	for (int32_t s = 0; s < nsample; s++)
	{
		rp_mips_query q;
		rp_mips_stats st;
		int32_t		u = (int32_t) (((int64_t) s * n_users) / nsample);

		/*
		 * The next user at or after the even spot whose row is not all
		 * zeros: a zero row (a customer without factors) ties every item,
		 * so no bound can prune it, and it says nothing about the others.
		 */
		if (u <= last)
			u = last + 1;
		while (u < n_users && zero_row(U, u, h.factors))
			u++;
		if (u >= n_users)
			break;
		last = u;
		memset(&q, 0, sizeof(q));
		q.u = U + (size_t) u * h.factors;
		q.max_visit = max_visit;
		if (rp_mips_topk(index, V, item_bias, &q, k, idx, sc, &st) < 0)
			sum += 1.0;
		else
			sum += (double) st.scored / h.n_items;
		done++;
	}
	return done > 0 ? sum / done : 1.0;
}
