/*
 * rp_ope.c
 *	  Off-policy estimators (IPS, SNIPS, DM, DR), their effective sample
 *	  size and percentile bootstrap intervals.  Definitions in rp_ope.h.
 *
 * Every estimator is a function of a few sums over the logged rounds, so a
 * point estimate and each bootstrap replicate are one pass each: the pass
 * adds up, with the replicate's multiplicity c_i of every round,
 *	N = sum c,  S_w = sum c w,  S_w2 = sum c w^2,  S_wr = sum c w r
 * and per arm a (x~ = (1, x), p = d + 1 entries)
 *	A_a = sum_{a_i = a} c x~ x~',  b_a = sum_{a_i = a} c r x~,
 *	m_a = sum_i c pi(a|x_i) x~,    g_a = sum_{a_i = a} c w x~.
 * The ridge coefficients beta_a = (A_a + lambda D)^-1 b_a (D = diag(0, 1,
 * ..., 1): the intercept is not penalised) come from a Cholesky solve of a
 * p x p system per arm, after which DM = sum_a beta_a . m_a / N and
 * DR = DM + (S_wr - sum_a beta_a . g_a) / N.  A_a + lambda D is positive
 * definite whenever the arm has a round and lambda > 0.
 *
 * Sums are in double, per replicate in the order of the rounds, so results
 * do not depend on anything but the inputs and the seed.  Multiplicities
 * come from n uniform draws of a round index (Lemire's multiply-shift:
 * floor(u64 * n / 2^64), whose bias is below n / 2^64).
 */
#include "rp_ope.h"
#include "rp_parallel.h"
#include "rp_rng.h"
#include "rp_stats.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per-arm accumulator block: A (p*p), b, m, g (p each), count. */
#define ARM_BLOCK(p) ((size_t) (p) * (p) + 3 * (size_t) (p) + 1)

typedef struct Sums
{
	double		N, sw, sw2, swr;
	double	   *arm;			/* k blocks of ARM_BLOCK(p) */
} Sums;

/* Doubles of one thread's scratch: the sums, a Cholesky factor, the coefficients. */
static size_t
thread_doubles(int k, int d)
{
	size_t		p = (size_t) d + 1;

	return (size_t) k * ARM_BLOCK(p) + p * p + (size_t) k * p;
}

size_t
rp_ope_workspace(int64_t n, int k, int d, int n_boot, int nthreads)
{
	size_t		per = sizeof(double) * thread_doubles(k, d);

	if (nthreads < 1)
		nthreads = 1;
	if (n_boot > 0)
		/* multiplicities, padded to keep the next thread's doubles aligned */
		per += sizeof(double) * (((size_t) n + 1) / 2);
	return sizeof(double) * (size_t) RP_OPE_NEST * (size_t) (n_boot > 0 ? n_boot : 0) +
		per * (size_t) nthreads;
}

/* One pass over the rounds with multiplicities cnt (NULL: all 1). */
static void
accumulate(const rp_ope_data *in, const int32_t *cnt, Sums *s)
{
	int			p = in->d + 1;
	size_t		blk = ARM_BLOCK(p);

	s->N = s->sw = s->sw2 = s->swr = 0;
	memset(s->arm, 0, sizeof(double) * blk * in->k);
	for (int64_t i = 0; i < in->n; i++)
	{
		double		c = cnt ? cnt[i] : 1.0;
		int			a = in->arm[i];
		const double *xi = in->x ? in->x + i * in->d : NULL;
		const double *pii = in->pi + i * in->k;
		double		w, r;
		double	   *A, *b, *g;

		if (c == 0)
			continue;
		w = pii[a] / in->prop[i];
		r = in->reward[i];
		s->N += c;
		s->sw += c * w;
		s->sw2 += c * w * w;
		s->swr += c * w * r;

		A = s->arm + blk * a;
		b = A + (size_t) p * p;
		g = b + 2 * (size_t) p;
		/* lower triangle of A, x~_0 = 1 */
		A[0] += c;
		b[0] += c * r;
		g[0] += c * w;
		for (int u = 1; u < p; u++)
		{
			double		xu = xi[u - 1];
			double	   *Au = A + (size_t) u * p;

			Au[0] += c * xu;
			for (int v = 1; v <= u; v++)
				Au[v] += c * xu * xi[v - 1];
			b[u] += c * r * xu;
			g[u] += c * w * xu;
		}
		A[(size_t) p * p + 3 * (size_t) p] += c;
		for (int j = 0; j < in->k; j++)
		{
			double		q = c * pii[j];
			double	   *m;

			if (q == 0)
				continue;
			m = s->arm + blk * j + (size_t) p * p + p;
			m[0] += q;
			for (int u = 1; u < p; u++)
				m[u] += q * xi[u - 1];
		}
	}
}

/*
 * Solves (A + lambda D) beta = b for every arm from the sums; beta is k x p.
 * chol is p*p scratch.  Returns RP_ENUMERIC when a system is not positive
 * definite in floating point.
 */
static rp_status
solve_arms(const rp_ope_data *in, const Sums *s, double *beta, double *chol)
{
	int			p = in->d + 1;
	size_t		blk = ARM_BLOCK(p);

	for (int a = 0; a < in->k; a++)
	{
		const double *A = s->arm + blk * a;
		const double *b = A + (size_t) p * p;
		double	   *x = beta + (size_t) a * p;

		if (A[(size_t) p * p + 3 * (size_t) p] == 0)
		{
			memset(x, 0, sizeof(double) * p);
			continue;
		}
		/* Cholesky L L' of the lower triangle */
		for (int u = 0; u < p; u++)
		{
			for (int v = 0; v <= u; v++)
			{
				double		t = A[(size_t) u * p + v];

				if (u == v && u > 0)
					t += in->lambda;
				for (int j = 0; j < v; j++)
					t -= chol[(size_t) u * p + j] * chol[(size_t) v * p + j];
				if (u == v)
				{
					if (!(t > 0) || !rp_finite(t))
						return RP_ENUMERIC;
					chol[(size_t) u * p + u] = sqrt(t);
				}
				else
					chol[(size_t) u * p + v] = t / chol[(size_t) v * p + v];
			}
		}
		/* forward L y = b, then back L' x = y */
		for (int u = 0; u < p; u++)
		{
			double		t = b[u];

			for (int j = 0; j < u; j++)
				t -= chol[(size_t) u * p + j] * x[j];
			x[u] = t / chol[(size_t) u * p + u];
		}
		for (int u = p - 1; u >= 0; u--)
		{
			double		t = x[u];

			for (int j = u + 1; j < p; j++)
				t -= chol[(size_t) j * p + u] * x[j];
			x[u] = t / chol[(size_t) u * p + u];
		}
	}
	return RP_OK;
}

/* The four estimates from the sums and coefficients. */
static void
estimates(const rp_ope_data *in, const Sums *s, const double *beta, double *est)
{
	int			p = in->d + 1;
	size_t		blk = ARM_BLOCK(p);
	double		dm = 0, bg = 0;

	for (int a = 0; a < in->k; a++)
	{
		const double *m = s->arm + blk * a + (size_t) p * p + p;
		const double *g = m + p;
		const double *x = beta + (size_t) a * p;

		for (int u = 0; u < p; u++)
		{
			dm += x[u] * m[u];
			bg += x[u] * g[u];
		}
	}
	est[RP_OPE_IPS] = s->swr / s->N;
	est[RP_OPE_SNIPS] = s->sw > 0 ? s->swr / s->sw : NAN;
	est[RP_OPE_DM] = dm / s->N;
	est[RP_OPE_DR] = (dm + s->swr - bg) / s->N;
}

/* Scratch of thread t: sums, Cholesky factor, coefficients, multiplicities. */
typedef struct Scratch
{
	Sums		s;
	double	   *chol;
	double	   *beta;
	int32_t    *cnt;
} Scratch;

static Scratch
carve(const rp_ope_data *in, int n_boot, void *work, int t)
{
	size_t		p = (size_t) in->d + 1;
	size_t		per = thread_doubles(in->k, in->d) + (n_boot > 0 ? ((size_t) in->n + 1) / 2 : 0);
	double	   *w = (double *) work + (size_t) RP_OPE_NEST * (size_t) (n_boot > 0 ? n_boot : 0) +
		per * (size_t) t;
	Scratch		sc;

	sc.s.arm = w;
	sc.chol = sc.s.arm + (size_t) in->k * ARM_BLOCK(p);
	sc.beta = sc.chol + p * p;
	sc.cnt = n_boot > 0 ? (int32_t *) (sc.beta + (size_t) in->k * p) : NULL;
	return sc;
}

typedef struct BootCtx
{
	const rp_ope_data *in;
	int			n_boot;
	uint64_t	seed;
	void	   *work;
	double	   *boot;			/* RP_OPE_NEST x n_boot */
} BootCtx;

/* Replicates [begin, end) on thread t; each depends only on its number. */
static void
boot_range(void *arg, int t, int64_t begin, int64_t end)
{
	BootCtx    *bc = arg;
	const rp_ope_data *in = bc->in;
	Scratch		sc = carve(in, bc->n_boot, bc->work, t);

	for (int64_t rep = begin; rep < end; rep++)
	{
		rp_rng		rng;
		double		est[RP_OPE_NEST];

		rp_rng_seed(&rng, bc->seed + (uint64_t) rep * UINT64_C(0x9E3779B97F4A7C15));
		memset(sc.cnt, 0, sizeof(int32_t) * (size_t) in->n);
		for (int64_t j = 0; j < in->n; j++)
			sc.cnt[(uint64_t) (((unsigned __int128) rp_rng_next(&rng) * (uint64_t) in->n) >> 64)]++;
		accumulate(in, sc.cnt, &sc.s);
		if (solve_arms(in, &sc.s, sc.beta, sc.chol) != RP_OK)
		{
			for (int e = 0; e < RP_OPE_NEST; e++)
				est[e] = NAN;
		}
		else
			estimates(in, &sc.s, sc.beta, est);
		for (int e = 0; e < RP_OPE_NEST; e++)
			bc->boot[(size_t) e * bc->n_boot + rep] = est[e];
	}
}

/* Lexicographic order of rows i and j over (arm, reward, propensity, x, pi). */
static int
row_cmp(const rp_ope_data *in, int64_t i, int64_t j)
{
#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)
	CMP(in->arm[i], in->arm[j]);
	CMP(in->reward[i], in->reward[j]);
	CMP(in->prop[i], in->prop[j]);
	for (int u = 0; u < in->d; u++)
		CMP(in->x[i * in->d + u], in->x[j * in->d + u]);
	for (int a = 0; a < in->k; a++)
		CMP(in->pi[i * in->k + a], in->pi[j * in->k + a]);
#undef CMP
	return 0;
}

void
rp_ope_row_order(const rp_ope_data *in, int64_t *perm, int64_t *tmp)
{
	int64_t		n = in->n;

	for (int64_t i = 0; i < n; i++)
		perm[i] = i;
	/* bottom-up merge sort: stable, O(n log n), no recursion */
	for (int64_t width = 1; width < n; width *= 2)
	{
		for (int64_t lo = 0; lo < n; lo += 2 * width)
		{
			int64_t		mid = lo + width < n ? lo + width : n;
			int64_t		hi = lo + 2 * width < n ? lo + 2 * width : n;
			int64_t		a = lo, b = mid, o = lo;

			while (a < mid && b < hi)
				tmp[o++] = row_cmp(in, perm[b], perm[a]) < 0 ? perm[b++] : perm[a++];
			while (a < mid)
				tmp[o++] = perm[a++];
			while (b < hi)
				tmp[o++] = perm[b++];
		}
		memcpy(perm, tmp, sizeof(int64_t) * (size_t) n);
	}
}

rp_status
rp_ope_fit_reward(const rp_ope_data *in, double *beta, void *work)
{
	Scratch		sc = carve(in, 0, work, 0);

	accumulate(in, NULL, &sc.s);
	return solve_arms(in, &sc.s, beta, sc.chol);
}

rp_status
rp_ope_evaluate(const rp_ope_data *in, int n_boot, uint64_t seed, double alpha,
				int nthreads, rp_ope_result *out, void *work,
				const rp_cancel *cancel)
{
	Scratch		sc;
	BootCtx		bc;
	rp_status	st;

	assert(in->n >= 1 && in->k >= 1 && in->d >= 0 && in->lambda > 0);
	if (nthreads < 1)
		nthreads = 1;
	sc = carve(in, n_boot, work, 0);
	accumulate(in, NULL, &sc.s);
	/* the point estimate is one pass over every row: look for a cancel around it */
	if (rp_should_stop(cancel))
		return RP_ECANCELED;
	st = solve_arms(in, &sc.s, sc.beta, sc.chol);
	if (st != RP_OK)
		return st;
	if (rp_should_stop(cancel))
		return RP_ECANCELED;
	estimates(in, &sc.s, sc.beta, out->est);
	out->sum_w = sc.s.sw;
	out->ess = sc.s.sw2 > 0 ? sc.s.sw * sc.s.sw / sc.s.sw2 : 0;
	if (!rp_finite(out->ess))
	{
		/*
		 * sum w^2 (or (sum w)^2) overflowed: weights near 1e300 from a
		 * tiny propensity.  The same ratio on w / max w, which is finite.
		 */
		double		wmax = 0, s1 = 0, s2 = 0;

		for (int64_t i = 0; i < in->n; i++)
			wmax = fmax(wmax, in->pi[i * in->k + in->arm[i]] / in->prop[i]);
		for (int64_t i = 0; i < in->n; i++)
		{
			double		v = in->pi[i * in->k + in->arm[i]] / in->prop[i] / wmax;

			s1 += v;
			s2 += v * v;
		}
		out->ess = s2 > 0 ? s1 * s1 / s2 : 0;
	}
	for (int e = 0; e < RP_OPE_NEST; e++)
	{
		if (e != RP_OPE_SNIPS && !rp_finite(out->est[e]))
			return RP_ENUMERIC;
		out->lo[e] = out->hi[e] = NAN;
	}
	if (n_boot <= 0)
		return RP_OK;

	bc.in = in;
	bc.n_boot = n_boot;
	bc.seed = seed;
	bc.work = work;
	bc.boot = (double *) work;
	st = rp_parallel_for(nthreads, n_boot, 1, boot_range, &bc, cancel);
	if (st != RP_OK)
		return st;
	for (int e = 0; e < RP_OPE_NEST; e++)
	{
		double	   *v = bc.boot + (size_t) e * n_boot;
		int			m = 0;

		/* replicates without a value (SNIPS with sum w = 0) are left out */
		for (int rep = 0; rep < n_boot; rep++)
			if (rp_finite(v[rep]))
				v[m++] = v[rep];
		if (m == 0)
			continue;
		rp_percentile_interval(v, m, alpha / 2, 1 - alpha / 2, &out->lo[e], &out->hi[e]);
	}
	return RP_OK;
}
