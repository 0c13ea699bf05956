/*
 * rp_batch.c
 *	  Blocked batch top-k for factor models (see rp_batch.h for the contract).
 *
 * Algorithm.  Users are cut into blocks of RP_MB rows, one block per
 * rp_parallel_for task, so a user's whole selection happens on one thread
 * and needs no synchronisation.  Each user keeps a small heap of float
 * candidates whose worst entry is the user's threshold.
 *	- SGEMM path: the items are visited in tiles of RP_NB; a score tile
 *	  (RP_MB x RP_NB floats, per-thread scratch) is filled by one
 *	  cblas_sgemm, each user's row of the tile gets the user's excluded
 *	  items overwritten with -infinity (a cursor walks the sorted exclusion
 *	  row alongside the ascending tiles) and is scanned 16 scores at a time
 *	  against the threshold, touching the heap only for a score above it.
 *	- AVX-512 path: the scores of 6 users x 64 items stay in registers and
 *	  are compared there with the 6 thresholds; only the few that beat a
 *	  threshold are looked at (their exclusion is then a binary search in
 *	  the user's row), so no tile is ever written.
 * After the first items, a score beats the threshold rarely (about
 * k ln(n/k) times per user in random order), so selection costs about one
 * compare per score against 2 * factors flops for computing it: it is fused
 * with the product and the users x items score matrix never exists.  This
 * is the GEMM-plus-partial-sort scheme of batch recommenders (e.g. the
 * `implicit` library's recommend_all), made exact as follows.
 *
 * Exactness.  Tiles are computed in float32, so a float score f may differ
 * from the double score d.  With inputs rounded from double and any order
 * of (fused) multiply-adds, |f - d| <= gamma_{n+2} * sum_i |u_i v_i|
 * <= (n + 2) 2^-24 ||u|| ||v|| (Higham, "Accuracy and Stability of
 * Numerical Algorithms", 2nd ed., 2002, section 3.1), where n counts the
 * factors plus one when an item bias rides along as an extra column.  We
 * bound it by eps_u = (n + 4) 2^-23 ||u|| max_i ||v_i|| (twice as large).
 * Each user keeps KC = k + k/4 + 8 float candidates, then rescores them in
 * double and sorts them.  Every item left out has f <= floor (the worst
 * kept float score), hence d < floor + 2 eps_u; when that bound, shifted
 * by the user's constant terms, is below the k-th double score, no item
 * left out can enter the top k and the answer is exactly the double top-k.
 * Otherwise (near ties, e.g. identical item vectors) that user is rescored
 * in double over all items: slower, still exact.  The same holds when
 * fewer than KC items are eligible: all of them were kept.
 *
 * Kernels.  RP_BATCH_SGEMM computes a tile with cblas_sgemm (OpenBLAS runs
 * single-threaded inside our workers, as recpromo.c sets it).  Debian's
 * OpenBLAS 0.3.21 takes recent Xeons for "Prescott" and runs SSE3 kernels
 * there, so RP_BATCH_AVX512 is our own register-blocked kernel, chosen at
 * run time when the CPU has AVX-512F (compiled with a target attribute, so
 * the module itself needs no -march flag).  V is packed once per call into
 * panels of 64 items stored factor-major, so the kernel's inner step loads
 * 4 vectors of 16 item values and broadcasts 6 user values into 24
 * accumulators (6 users x 64 items), the usual GEMM micro-kernel shape
 * (Goto and van de Geijn, "Anatomy of high-performance matrix
 * multiplication", ACM TOMS 34(3), 2008).  A panel is 64 x n floats (16 KB
 * at 64 factors) and stays in L1 while every user of the block passes.
 *
 * Half precision.  recommend() for one user is bound by memory traffic: it
 * reads every item factor once per call.  RP_BATCH_AVX512_HALF stores the
 * panels as IEEE half (converted to float in registers by vcvtph2ps), half
 * the bytes.  The screening stays exact: prepare records the largest
 * quantisation error q = max_i ||v_i - half(v_i)||, and since
 * |u . (v - half(v))| <= ||u|| q (Cauchy-Schwarz), the bound used for the
 * check grows by 2 ||u|| q (twice, as above).  Values outside half's range
 * keep float panels.
 *
 * Memory.  Everything lives in the caller's workspace: the packed float V,
 * then per thread the float user block, the tile, the cursors and the
 * candidate heaps.  Workers only write their own thread's scratch and their
 * own users' output rows.
 */
#include "rp_batch.h"
#include "rp_topk.h"

#include <math.h>
#include <string.h>

#include "rp_blas.h"
#include "rp_parallel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RP_HAVE_X86 1
#endif

#define RP_MB 96				/* users per block (a multiple of 6) */
#define RP_NB 1024				/* items per tile (a multiple of 64) */
#define RP_PANEL 64				/* items per packed panel */
#define RP_ALIGN 64

/* Per-call shared state. */
typedef struct batch_ctx
{
	const rp_batch_input *in;
	int32_t		k;
	int32_t		kc;				/* float candidates kept per user */
	int32_t		fa;				/* factors + 1 with an item bias */
	int32_t		n_pad;			/* items rounded up to RP_PANEL */
	int			avx512;
	const float *Vf;			/* packed (AVX-512) or row-major (SGEMM) */
	double		vmax;			/* largest ||v_i|| including the bias column */
	int			half;			/* panels hold IEEE half values */
	double		qerr;			/* largest ||v_i - half(v_i)|| (0 for float) */
	char	   *thread_base;
	size_t		thread_bytes;
	int32_t		rows;			/* users per block (<= RP_MB) */
	int64_t		fallback[RP_MAX_THREADS];
	int32_t    *out_idx;
	double	   *out_score;
	int32_t    *out_count;
} batch_ctx;

/* Per-thread scratch, carved out of the workspace. */
typedef struct batch_scratch
{
	float	   *Ub;				/* RP_MB x fa */
	float	   *tile;			/* RP_MB x RP_NB */
	int64_t    *cursor;			/* RP_MB exclusion cursors */
	float	   *hs;				/* RP_MB x kc heap scores */
	int32_t    *hi;				/* RP_MB x kc heap items */
	int32_t    *hn;				/* RP_MB heap sizes */
	double	   *cd;				/* kc rescored candidates */
	int32_t    *ci;				/* kc their items */
} batch_scratch;

static size_t
align_up(size_t x)
{
	return (x + RP_ALIGN - 1) & ~((size_t) RP_ALIGN - 1);
}

static int32_t
keep_count(int32_t k)
{
	return k + k / 4 + 8;
}

/*
 * Scratch of one thread for blocks of up to `rows` users (a single-user
 * call needs a few KB, not a full block's); the tile only for SGEMM.
 */
static size_t
thread_bytes(int32_t fa, int32_t kc, int32_t rows, int sgemm)
{
	return align_up((size_t) rows * fa * sizeof(float)) +
		(sgemm ? align_up((size_t) rows * RP_NB * sizeof(float)) : 0) +
		align_up((size_t) rows * sizeof(int64_t)) +
		align_up((size_t) rows * kc * sizeof(float)) +
		align_up((size_t) rows * kc * sizeof(int32_t)) +
		align_up((size_t) rows * sizeof(int32_t)) +
		align_up((size_t) kc * sizeof(double)) +
		align_up((size_t) kc * sizeof(int32_t));
}

static void
carve(char *p, int32_t fa, int32_t kc, int32_t rows, int sgemm, batch_scratch *s)
{
	s->Ub = (float *) p;
	p += align_up((size_t) rows * fa * sizeof(float));
	s->tile = (float *) p;
	if (sgemm)
		p += align_up((size_t) rows * RP_NB * sizeof(float));
	s->cursor = (int64_t *) p;
	p += align_up((size_t) rows * sizeof(int64_t));
	s->hs = (float *) p;
	p += align_up((size_t) rows * kc * sizeof(float));
	s->hi = (int32_t *) p;
	p += align_up((size_t) rows * kc * sizeof(int32_t));
	s->hn = (int32_t *) p;
	p += align_up((size_t) rows * sizeof(int32_t));
	s->cd = (double *) p;
	p += align_up((size_t) kc * sizeof(double));
	s->ci = (int32_t *) p;
}

int
rp_batch_have_avx512(void)
{
#ifdef RP_HAVE_X86
	return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
	return 0;
#endif
}

/* Rows per block for a selection of n_sel users. */
static int32_t
block_rows(int64_t n_sel)
{
	return n_sel < RP_MB ? (n_sel < 1 ? 1 : (int32_t) n_sel) : RP_MB;
}

static int
use_avx512(rp_batch_kernel kernel)
{
	return kernel == RP_BATCH_AVX512 || kernel == RP_BATCH_AVX512_HALF ||
		(kernel == RP_BATCH_AUTO && rp_batch_have_avx512());
}

#ifdef RP_HAVE_X86
__attribute__((target("f16c")))
static uint16_t
to_half(float x)
{
	return _cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT);
}

__attribute__((target("f16c")))
static float
from_half(uint16_t h)
{
	return _cvtsh_ss(h);
}
#endif

size_t
rp_batch_items_size(const rp_batch_input *in, rp_batch_kernel kernel)
{
	int32_t		fa;
	size_t		n_pad;

	if (in == NULL || in->n_items < 0 || in->factors < 1)
		return 0;
	fa = in->factors + (in->item_bias != NULL ? 1 : 0);
	n_pad = ((size_t) in->n_items + RP_PANEL - 1) / RP_PANEL * RP_PANEL;
	if (n_pad == 0)
		n_pad = RP_PANEL;
	(void) kernel;				/* both layouts take the same room */
	/* n_items < 2^31 and fa < 2^31: far below SIZE_MAX */
	return RP_ALIGN + align_up(n_pad * (size_t) fa * sizeof(float));
}

size_t
rp_batch_run_size(const rp_batch_input *in, int32_t k, int nthreads, rp_batch_kernel kernel)
{
	int32_t		fa;
	int64_t		n_sel;

	if (in == NULL || in->factors < 1 || k < 1 || k > RP_BATCH_MAX_K)
		return 0;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;
	fa = in->factors + (in->item_bias != NULL ? 1 : 0);
	n_sel = in->users != NULL ? in->n_sel : in->n_users;
	return RP_ALIGN + (size_t) nthreads *
		thread_bytes(fa, keep_count(k), block_rows(n_sel), !use_avx512(kernel));
}

size_t
rp_batch_workspace_size(const rp_batch_input *in, int32_t k, int nthreads)
{
	size_t		a = rp_batch_items_size(in, RP_BATCH_AUTO);
	size_t		b = rp_batch_run_size(in, k, nthreads, RP_BATCH_SGEMM);

	/* room for either kernel (the SGEMM scratch is the larger) */
	return a == 0 || b == 0 ? 0 : a + b;
}

/* ---------- heaps (root = worst kept; order: score desc, index asc) ---------- */

static inline int
fbetter(float sa, int32_t ia, float sb, int32_t ib)
{
	return sa > sb || (sa == sb && ia < ib);
}

static inline __attribute__((always_inline)) void
fheap_offer(float *hs, int32_t *hi, int32_t *m, int32_t cap, float s, int32_t i)
{
	int32_t		pos;

	if (*m < cap)
	{
		pos = (*m)++;
		while (pos > 0)
		{
			int32_t		p = (pos - 1) / 2;

			if (!fbetter(hs[p], hi[p], s, i))
				break;
			hs[pos] = hs[p];
			hi[pos] = hi[p];
			pos = p;
		}
		hs[pos] = s;
		hi[pos] = i;
		return;
	}
	if (!fbetter(s, i, hs[0], hi[0]))
		return;
	pos = 0;
	for (;;)
	{
		int32_t		l = 2 * pos + 1;
		int32_t		r = l + 1;
		int32_t		w = -1;

		/* move the worse child up while it is worse than the newcomer */
		if (l < cap)
			w = l;
		if (r < cap && fbetter(hs[l], hi[l], hs[r], hi[r]))
			w = r;
		if (w < 0 || !fbetter(s, i, hs[w], hi[w]))
			break;
		hs[pos] = hs[w];
		hi[pos] = hi[w];
		pos = w;
	}
	hs[pos] = s;
	hi[pos] = i;
}

/* ---------- double scoring: the reference formula ---------- */

/* base + (item_bias + U[u].V[i]): the score every path returns. */
static inline double
dscore(const rp_batch_input *in, double base, int32_t u, int32_t i)
{
	const double *a = in->U + (size_t) u * in->factors;
	const double *b = in->V + (size_t) i * in->factors;
	double		d = 0.0;

	for (int32_t f = 0; f < in->factors; f++)
		d += a[f] * b[f];
	if (in->item_bias != NULL)
		d += in->item_bias[i];
	return base + d;
}

static inline double
user_base(const rp_batch_input *in, int32_t u)
{
	return in->global + (in->user_bias != NULL ? in->user_bias[u] : 0.0);
}

/* Full double top-k of one user into out (the slow exact path). */
static int32_t
full_double_topk(const batch_ctx *cx, int32_t u, int32_t *oi, double *os)
{
	const rp_batch_input *in = cx->in;
	double		base = user_base(in, u);
	int64_t		c = 0;
	int64_t		e = 0;
	int32_t		m = 0;

	if (in->excl_indptr != NULL)
	{
		c = in->excl_indptr[u];
		e = in->excl_indptr[u + 1];
	}
	for (int32_t i = 0; i < in->n_items; i++)
	{
		while (c < e && in->excl_indices[c] < i)
			c++;
		if (c < e && in->excl_indices[c] == i)
			continue;
		if (in->allowed != NULL && !in->allowed[i])
			continue;
		rp_topk_offer(oi, os, cx->k, &m, dscore(in, base, u, i), i);
	}
	rp_topk_finish(oi, os, m);
	return m;
}

/* ---------- tile kernels ---------- */

static void
tile_sgemm(const batch_ctx *cx, const float *Ub, int32_t mb, int32_t j0, int32_t nb,
		   float *tile)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mb, nb, cx->fa, 1.0f,
				Ub, cx->fa, cx->Vf + (size_t) j0 * cx->fa, cx->fa, 0.0f, tile, RP_NB);
}


/* ---------- the per-block work ---------- */

/* Offers one user's tile row [j0, j0 + nb) to the user's float heap. */
static void
scan_row(const batch_ctx *cx, float *t, int32_t j0, int32_t nb,
		 float *hs, int32_t *hi, int32_t *hn)
{
	const unsigned char *allowed = cx->in->allowed;
	int32_t		kc = cx->kc;
	int32_t		m = *hn;
	float		thr = m == kc ? hs[0] : -INFINITY;

	/*
	 * Items arrive in ascending index order, so a newcomer that ties the
	 * worst kept entry loses (higher index): a strict > test is exact.
	 */
	for (int32_t c0 = 0; c0 < nb; c0 += 16)
	{
		int32_t		lim = nb - c0 < 16 ? nb - c0 : 16;
		int			hit = 0;

		for (int32_t i = 0; i < lim; i++)
			hit |= t[c0 + i] > thr;
		if (!hit)
			continue;
		for (int32_t i = 0; i < lim; i++)
		{
			float		s = t[c0 + i];
			int32_t		j = j0 + c0 + i;

			if (!(s > thr) || (allowed != NULL && !allowed[j]))
				continue;
			fheap_offer(hs, hi, &m, kc, s, j);
			thr = m == kc ? hs[0] : -INFINITY;
		}
	}
	*hn = m;
}

#ifdef RP_HAVE_X86
/* True when item j is in user u's exclusion row (binary search). */
static inline int
excluded(const rp_batch_input *in, int32_t u, int32_t j)
{
	int64_t		lo;
	int64_t		hi;

	if (in->excl_indptr == NULL)
		return 0;
	lo = in->excl_indptr[u];
	hi = in->excl_indptr[u + 1];
	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (in->excl_indices[mid] < j)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < in->excl_indptr[u + 1] && in->excl_indices[lo] == j;
}

/*
 * Offers the scores of one user and one panel whose bits are set in `hits`
 * (those that beat the user's threshold when the panel was computed);
 * exclusions and the allow-list are checked only for those few.
 */
static void
offer_panel(const batch_ctx *cx, const float *sc, uint64_t hits, int32_t j0, int32_t u,
			float *hs, int32_t *hi, int32_t *hn, float *thr)
{
	const rp_batch_input *in = cx->in;
	int32_t		kc = cx->kc;
	int32_t		m = *hn;
	float		t = *thr;

	while (hits != 0)
	{
		int32_t		i = __builtin_ctzll(hits);
		int32_t		j = j0 + i;

		hits &= hits - 1;
		/* the padding past n_items never enters */
		if (j >= in->n_items || !(sc[i] > t) ||
			(in->allowed != NULL && !in->allowed[j]) || excluded(in, u, j))
			continue;
		fheap_offer(hs, hi, &m, kc, sc[i], j);
		t = m == kc ? hs[0] : -INFINITY;
	}
	*hn = m;
	*thr = t;
}

/*
 * The AVX-512 path: for each panel of 64 items, 6 users at a time, the
 * scores stay in 24 registers and are compared there with each user's
 * threshold; only a panel with a score above it is stored (to a 64-float
 * buffer) and offered.  No score tile is written.
 */
#define RP_LOADV(row, off) \
	(half ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) ((const uint16_t *) (row) + (off)))) \
	 : _mm512_loadu_ps((const float *) (row) + (off)))

__attribute__((target("avx512f"), always_inline))
static inline void
block_avx512_body(const batch_ctx *cx, batch_scratch *s, const int32_t *users, int32_t mb,
				  float *thr, const int half)
{
	int32_t		fa = cx->fa;
	int32_t		kc = cx->kc;
	int32_t		np = cx->n_pad / RP_PANEL;
	size_t		esz = half ? sizeof(uint16_t) : sizeof(float);
	float		buf[RP_PANEL] __attribute__((aligned(64)));

	for (int32_t p = 0; p < np; p++)
	{
		const char *P = (const char *) cx->Vf + (size_t) p * RP_PANEL * fa * esz;
		int32_t		j0 = p * RP_PANEL;
		int32_t		r = 0;

		for (; r + 6 <= mb; r += 6)
		{
			const float *a = s->Ub + (size_t) r * fa;
			__m512		c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
			__m512		c10 = c00, c11 = c00, c12 = c00, c13 = c00;
			__m512		c20 = c00, c21 = c00, c22 = c00, c23 = c00;
			__m512		c30 = c00, c31 = c00, c32 = c00, c33 = c00;
			__m512		c40 = c00, c41 = c00, c42 = c00, c43 = c00;
			__m512		c50 = c00, c51 = c00, c52 = c00, c53 = c00;

			for (int32_t f = 0; f < fa; f++)
			{
				const char *row = P + (size_t) f * RP_PANEL * esz;
				__m512		b0 = RP_LOADV(row, 0);
				__m512		b1 = RP_LOADV(row, 16);
				__m512		b2 = RP_LOADV(row, 32);
				__m512		b3 = RP_LOADV(row, 48);
				__m512		x;

#define RP_ROW(R) \
				x = _mm512_set1_ps(a[(size_t) (R) * fa + f]); \
				c##R##0 = _mm512_fmadd_ps(x, b0, c##R##0); \
				c##R##1 = _mm512_fmadd_ps(x, b1, c##R##1); \
				c##R##2 = _mm512_fmadd_ps(x, b2, c##R##2); \
				c##R##3 = _mm512_fmadd_ps(x, b3, c##R##3)
				RP_ROW(0);
				RP_ROW(1);
				RP_ROW(2);
				RP_ROW(3);
				RP_ROW(4);
				RP_ROW(5);
#undef RP_ROW
			}
#define RP_CHECK(R) \
			do { \
				__m512		vt = _mm512_set1_ps(thr[r + R]); \
				uint64_t	hits = (uint64_t) _mm512_cmp_ps_mask(c##R##0, vt, _CMP_GT_OQ) | \
					((uint64_t) _mm512_cmp_ps_mask(c##R##1, vt, _CMP_GT_OQ) << 16) | \
					((uint64_t) _mm512_cmp_ps_mask(c##R##2, vt, _CMP_GT_OQ) << 32) | \
					((uint64_t) _mm512_cmp_ps_mask(c##R##3, vt, _CMP_GT_OQ) << 48); \
				if (hits != 0) \
				{ \
					_mm512_store_ps(buf, c##R##0); \
					_mm512_store_ps(buf + 16, c##R##1); \
					_mm512_store_ps(buf + 32, c##R##2); \
					_mm512_store_ps(buf + 48, c##R##3); \
					offer_panel(cx, buf, hits, j0, users[r + R], s->hs + (size_t) (r + R) * kc, \
								s->hi + (size_t) (r + R) * kc, &s->hn[r + R], &thr[r + R]); \
				} \
			} while (0)
			RP_CHECK(0);
			RP_CHECK(1);
			RP_CHECK(2);
			RP_CHECK(3);
			RP_CHECK(4);
			RP_CHECK(5);
#undef RP_CHECK
		}
		for (; r < mb; r++)
		{
			const float *a = s->Ub + (size_t) r * fa;
			__m512		c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
			__m512		vt = _mm512_set1_ps(thr[r]);
			uint64_t	hits;

			for (int32_t f = 0; f < fa; f++)
			{
				const char *row = P + (size_t) f * RP_PANEL * esz;
				__m512		x = _mm512_set1_ps(a[f]);

				c0 = _mm512_fmadd_ps(x, RP_LOADV(row, 0), c0);
				c1 = _mm512_fmadd_ps(x, RP_LOADV(row, 16), c1);
				c2 = _mm512_fmadd_ps(x, RP_LOADV(row, 32), c2);
				c3 = _mm512_fmadd_ps(x, RP_LOADV(row, 48), c3);
			}
			hits = (uint64_t) _mm512_cmp_ps_mask(c0, vt, _CMP_GT_OQ) |
				((uint64_t) _mm512_cmp_ps_mask(c1, vt, _CMP_GT_OQ) << 16) |
				((uint64_t) _mm512_cmp_ps_mask(c2, vt, _CMP_GT_OQ) << 32) |
				((uint64_t) _mm512_cmp_ps_mask(c3, vt, _CMP_GT_OQ) << 48);

			if (hits != 0)
			{
				_mm512_store_ps(buf, c0);
				_mm512_store_ps(buf + 16, c1);
				_mm512_store_ps(buf + 32, c2);
				_mm512_store_ps(buf + 48, c3);
				offer_panel(cx, buf, hits, j0, users[r], s->hs + (size_t) r * kc,
							s->hi + (size_t) r * kc, &s->hn[r], &thr[r]);
			}
		}
	}
}

/* The two instances: float panels, and IEEE half panels (half the bytes). */
__attribute__((target("avx512f")))
static void
block_avx512(const batch_ctx *cx, batch_scratch *s, const int32_t *users, int32_t mb,
			 float *thr)
{
	block_avx512_body(cx, s, users, mb, thr, 0);
}

__attribute__((target("avx512f")))
static void
block_avx512_half(const batch_ctx *cx, batch_scratch *s, const int32_t *users, int32_t mb,
				  float *thr)
{
	block_avx512_body(cx, s, users, mb, thr, 1);
}
#undef RP_LOADV
#endif

static void
batch_block(void *arg, int thread, int64_t begin, int64_t end)
{
	batch_ctx  *cx = (batch_ctx *) arg;
	const rp_batch_input *in = cx->in;
	batch_scratch s;
	int32_t		mb = (int32_t) (end - begin);
	int32_t		fa = cx->fa;
	int32_t		kc = cx->kc;
	int32_t		users[RP_MB] = {0};

	carve(cx->thread_base + (size_t) thread * cx->thread_bytes, fa, kc, cx->rows, !cx->avx512, &s);

	/* the block's users, as float rows (plus 1 for the bias column) */
	for (int32_t r = 0; r < mb; r++)
	{
		int32_t		u = in->users != NULL ? in->users[begin + r] : (int32_t) (begin + r);
		const double *src = in->U + (size_t) u * in->factors;
		float	   *dst = s.Ub + (size_t) r * fa;

		users[r] = u;
		for (int32_t f = 0; f < in->factors; f++)
			dst[f] = (float) src[f];
		if (fa > in->factors)
			dst[in->factors] = 1.0f;
		s.cursor[r] = in->excl_indptr != NULL ? in->excl_indptr[u] : 0;
		s.hn[r] = 0;
	}

#ifdef RP_HAVE_X86
	if (cx->avx512)
	{
		float		thr[RP_MB];

		for (int32_t r = 0; r < mb; r++)
			thr[r] = -INFINITY;
		if (cx->half)
			block_avx512_half(cx, &s, users, mb, thr);
		else
			block_avx512(cx, &s, users, mb, thr);
	}
	else
#endif
		for (int32_t j0 = 0; j0 < in->n_items; j0 += RP_NB)
		{
			int32_t		nb = in->n_items - j0 < RP_NB ? in->n_items - j0 : RP_NB;

			tile_sgemm(cx, s.Ub, mb, j0, nb, s.tile);
			for (int32_t r = 0; r < mb; r++)
			{
				float	   *t = s.tile + (size_t) r * RP_NB;

				if (in->excl_indptr != NULL)
				{
					int64_t		c = s.cursor[r];
					int64_t		e = in->excl_indptr[users[r] + 1];

					while (c < e && in->excl_indices[c] < j0 + nb)
					{
						int32_t		j = in->excl_indices[c];

						if (j >= j0)
							t[j - j0] = -INFINITY;
						c++;
					}
					s.cursor[r] = c;
				}
				scan_row(cx, t, j0, nb, s.hs + (size_t) r * kc,
						 s.hi + (size_t) r * kc, &s.hn[r]);
			}
		}

	/* rescore the candidates in double; check the screening was safe */
	for (int32_t r = 0; r < mb; r++)
	{
		int32_t		u = users[r];
		int64_t		row = begin + r;
		int32_t    *oi = cx->out_idx + (size_t) row * cx->k;
		double	   *os = cx->out_score + (size_t) row * cx->k;
		float	   *hs = s.hs + (size_t) r * kc;
		int32_t    *hi = s.hi + (size_t) r * kc;
		int32_t		m = s.hn[r];
		double		base = user_base(in, u);
		int32_t		take;
		int			exact = 1;

		{
			int32_t		kept = 0;

			/* rescore the float candidates in double, sorted best first */
			for (int32_t c = 0; c < m; c++)
				rp_topk_offer(s.ci, s.cd, m, &kept, dscore(in, base, u, hi[c]), hi[c]);
			rp_topk_finish(s.ci, s.cd, kept);
		}
		take = m < cx->k ? m : cx->k;
		if (m == kc)
		{
			/* items left out scored at most hs[0] in float */
			const double *a = in->U + (size_t) u * in->factors;
			double		un = fa > in->factors ? 1.0 : 0.0;
			double		eps;

			for (int32_t f = 0; f < in->factors; f++)
				un += a[f] * a[f];
			eps = (double) (fa + 4) * ldexp(1.0, -23) * sqrt(un) * cx->vmax +
				2.0 * sqrt(un) * cx->qerr;
			exact = base + ((double) hs[0] + 2.0 * eps) < s.cd[take - 1];
		}
		if (exact)
		{
			memcpy(oi, s.ci, (size_t) take * sizeof(int32_t));
			memcpy(os, s.cd, (size_t) take * sizeof(double));
			cx->out_count[row] = take;
		}
		else
		{
			cx->out_count[row] = full_double_topk(cx, u, oi, os);
			cx->fallback[thread]++;
		}
	}
}

/* Packs V (and the item bias column) as float, for the chosen kernel. */
rp_status
rp_batch_prepare(const rp_batch_input *in, rp_batch_kernel kernel, void *buf, size_t size,
				 rp_batch_items *out)
{
	size_t		need = rp_batch_items_size(in, kernel);
	int32_t		fa;
	double		vmax = 0.0;
	float	   *Vf;

	if (need == 0 || buf == NULL || size < need || out == NULL ||
		(in->n_items > 0 && in->V == NULL))
		return RP_EINVAL;
	if ((kernel == RP_BATCH_AVX512 || kernel == RP_BATCH_AVX512_HALF) && !rp_batch_have_avx512())
		return RP_EINVAL;
	fa = in->factors + (in->item_bias != NULL ? 1 : 0);
	out->n_items = in->n_items;
	out->factors = in->factors;
	out->fa = fa;
	out->n_pad = (in->n_items + RP_PANEL - 1) / RP_PANEL * RP_PANEL;
	if (out->n_pad == 0)
		out->n_pad = RP_PANEL;
	out->avx512 = use_avx512(kernel);
	out->half = 0;
	out->qerr = 0.0;
	Vf = (float *) align_up((size_t) buf);
	memset(Vf, 0, (size_t) out->n_pad * fa * sizeof(float));
#ifdef RP_HAVE_X86
	if (kernel == RP_BATCH_AVX512_HALF)
	{
		/* half only when every value is inside its range (65504) */
		int			fits = 1;

		for (size_t x = 0; x < (size_t) in->n_items * in->factors && fits; x++)
			fits = fabs(in->V[x]) < 60000.0;
		for (int32_t i = 0; in->item_bias != NULL && i < in->n_items && fits; i++)
			fits = fabs(in->item_bias[i]) < 60000.0;
		out->half = fits;
	}
#endif
	for (int32_t i = 0; i < in->n_items; i++)
	{
		const double *v = in->V + (size_t) i * in->factors;
		double		nn = 0.0;
		double		qq = 0.0;

		for (int32_t f = 0; f < fa; f++)
		{
			double		x = f < in->factors ? v[f] : in->item_bias[i];
			size_t		pos;

			nn += x * x;
			if (out->avx512)
				pos = ((size_t) (i / RP_PANEL) * fa + f) * RP_PANEL + i % RP_PANEL;
			else
				pos = (size_t) i * fa + f;
#ifdef RP_HAVE_X86
			if (out->half)
			{
				uint16_t	h = to_half((float) x);
				double		back = from_half(h);

				((uint16_t *) Vf)[pos] = h;
				qq += (x - back) * (x - back);
				continue;
			}
#endif
			Vf[pos] = (float) x;
		}
		if (nn > vmax)
			vmax = nn;
		if (qq > out->qerr)
			out->qerr = qq;
	}
	out->vmax = sqrt(vmax);
	out->qerr = sqrt(out->qerr);
	out->Vf = Vf;
	return RP_OK;
}

rp_status
rp_batch_topk_prepared(const rp_batch_input *in, const rp_batch_items *items, int32_t k,
					   int nthreads, void *work, size_t work_size,
					   int32_t *out_idx, double *out_score, int32_t *out_count,
					   const rp_cancel *cancel, rp_batch_stats *stats)
{
	batch_ctx	cx;
	rp_batch_kernel kern = items != NULL && items->avx512 ? RP_BATCH_AVX512 : RP_BATCH_SGEMM;
	size_t		need = rp_batch_run_size(in, k, nthreads, kern);
	int64_t		n_sel;
	rp_status	st;

	if (need == 0 || items == NULL || work == NULL || work_size < need || in->n_users < 0 ||
		(in->n_users > 0 && in->U == NULL) || (in->n_items > 0 && in->V == NULL) ||
		items->n_items != in->n_items || items->factors != in->factors ||
		items->fa != in->factors + (in->item_bias != NULL ? 1 : 0))
		return RP_EINVAL;
	n_sel = in->users != NULL ? in->n_sel : in->n_users;
	if (n_sel < 0 || (n_sel > 0 && (out_idx == NULL || out_score == NULL || out_count == NULL)))
		return RP_EINVAL;
	if (in->users != NULL)
		for (int64_t r = 0; r < n_sel; r++)
			if (in->users[r] < 0 || in->users[r] >= in->n_users)
				return RP_EINVAL;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;

	memset(&cx, 0, sizeof(cx));
	cx.in = in;
	cx.k = k;
	cx.kc = keep_count(k);
	cx.fa = items->fa;
	cx.n_pad = items->n_pad;
	cx.avx512 = items->avx512;
	cx.Vf = items->Vf;
	cx.vmax = items->vmax;
	cx.half = items->half;
	cx.qerr = items->qerr;
	cx.out_idx = out_idx;
	cx.out_score = out_score;
	cx.out_count = out_count;
	cx.rows = block_rows(n_sel);
	cx.thread_base = (char *) align_up((size_t) work);
	cx.thread_bytes = thread_bytes(cx.fa, cx.kc, cx.rows, !cx.avx512);

	if (in->n_items == 0)
	{
		for (int64_t r = 0; r < n_sel; r++)
			out_count[r] = 0;
		st = rp_should_stop(cancel) ? RP_ECANCELED : RP_OK;
	}
	else if (nthreads == 1 && n_sel <= cx.rows)
	{
		/* one block: no thread machinery (the single-user serving path) */
		st = rp_should_stop(cancel) ? RP_ECANCELED : RP_OK;
		if (st == RP_OK && n_sel > 0)
			batch_block(&cx, 0, 0, n_sel);
	}
	else
		st = rp_parallel_for(nthreads, n_sel, cx.rows, batch_block, &cx, cancel);

	if (stats != NULL)
	{
		stats->users = n_sel;
		stats->fallback_users = 0;
		for (int t = 0; t < RP_MAX_THREADS; t++)
			stats->fallback_users += cx.fallback[t];
		stats->flops = 2.0 * (double) n_sel * in->n_items * in->factors;
		stats->kernel = cx.half ? "avx512-half" : cx.avx512 ? "avx512" : "sgemm";
	}
	return st;
}

rp_status
rp_batch_topk(const rp_batch_input *in, int32_t k, int nthreads,
			  rp_batch_kernel kernel, void *work, size_t work_size,
			  int32_t *out_idx, double *out_score, int32_t *out_count,
			  const rp_cancel *cancel, rp_batch_stats *stats)
{
	size_t		need = rp_batch_workspace_size(in, k, nthreads);
	size_t		isz = rp_batch_items_size(in, kernel);
	rp_batch_items items;
	rp_status	st;

	if (need == 0 || work == NULL || work_size < need)
		return RP_EINVAL;
	st = rp_batch_prepare(in, kernel, work, isz, &items);
	if (st != RP_OK)
		return st;
	return rp_batch_topk_prepared(in, &items, k, nthreads, (char *) work + isz, work_size - isz,
								  out_idx, out_score, out_count, cancel, stats);
}
