/*
 * test_mips.c
 *	  rp_mips_topk against a full scan with the reference formula: the same
 *	  items and bit-identical scores, with ties, exclusions, allow-lists,
 *	  item biases, every k, heavy-tailed and Gaussian norms.
 */
#include "unit.h"
#include "rp_mips.h"
#include "rp_topk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng = 88172645463325252ull;

static double
urand(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (double) (g_rng >> 11) / 9007199254740992.0;
}

static double
gauss(void)
{
	double		a = urand() + 1e-12;
	double		b = urand();

	return sqrt(-2.0 * log(a)) * cos(6.283185307179586 * b);
}

/*
 * n x f factors.  heavy: rows scaled by a log-normal factor (ALS-like
 * norms); ties: duplicate rows and a few zero rows (equal scores).
 */
static double *
make_factors(int32_t n, int32_t f, int heavy, int ties)
{
	double	   *V = malloc((size_t) n * f * sizeof(double));

	for (int32_t i = 0; i < n; i++)
	{
		double		sc = heavy ? exp(2.0 * gauss()) : 1.0;

		for (int32_t j = 0; j < f; j++)
			V[(size_t) i * f + j] = sc * gauss() / 8.0;
	}
	if (ties)
	{
		for (int32_t i = 0; i + 7 < n; i += 7)
			memcpy(V + (size_t) (i + 3) * f, V + (size_t) i * f, f * sizeof(double));
		for (int32_t i = 5; i < n; i += 97)
			memset(V + (size_t) i * f, 0, f * sizeof(double));
	}
	return V;
}

/* the full scan: every eligible item scored with the reference formula */
static int32_t
full_scan(const double *V, const double *bias, int32_t n, int32_t f, const rp_mips_query *q,
		  int32_t k, int32_t *oi, double *os)
{
	double	   *s = malloc((size_t) (n > 0 ? n : 1) * sizeof(double));
	unsigned char *ex = calloc((size_t) (n > 0 ? n : 1), 1);
	int32_t		r;

	for (int32_t e = 0; e < q->nexcl; e++)
		ex[q->excl[e]] = 1;

	for (int32_t i = 0; i < n; i++)
	{
		double		d = 0.0;

		for (int32_t j = 0; j < f; j++)
			d += q->u[j] * V[(size_t) i * f + j];
		if (bias)
			d += bias[i];
		s[i] = ex[i] ? -INFINITY : q->base + d;
	}
	r = rp_topk(s, n, q->allowed, k, oi, os);
	free(s);
	free(ex);
	return r;
}

static int
same_lists(const int32_t *a, const double *as, const int32_t *b, const double *bs, int32_t n)
{
	for (int32_t r = 0; r < n; r++)
		if (a[r] != b[r] || memcmp(&as[r], &bs[r], sizeof(double)) != 0)
			return 0;
	return 1;
}

/* one configuration against the full scan over several users and k */
static void
check_config(int32_t n, int32_t f, int heavy, int ties, int with_bias, int with_excl,
			 int with_allowed)
{
	double	   *V = make_factors(n, f, heavy, ties);
	double	   *U = make_factors(12, f, 0, 0);
	double	   *bias = NULL;
	size_t		sz = rp_mips_index_size(n, f, with_bias);
	void	   *ix = malloc(sz);
	unsigned char *allowed = NULL;
	int32_t		ks[] = {1, 3, 10, 57, n, n + 5};
	int32_t    *oi = malloc((size_t) (n + 6) * sizeof(int32_t));
	double	   *os = malloc((size_t) (n + 6) * sizeof(double));
	int32_t    *ri = malloc((size_t) (n + 6) * sizeof(int32_t));
	double	   *rs = malloc((size_t) (n + 6) * sizeof(double));
	int32_t    *excl = malloc((size_t) (n + 1) * sizeof(int32_t));

	if (with_bias)
	{
		bias = malloc((size_t) n * sizeof(double));
		for (int32_t i = 0; i < n; i++)
			bias[i] = (i % 11 == 0) ? 0.25 : 0.1 * gauss();
	}
	if (with_allowed)
	{
		allowed = malloc((size_t) n);
		for (int32_t i = 0; i < n; i++)
			allowed[i] = urand() < 0.6;
	}
	CHECK(rp_mips_build(V, bias, n, f, ix, sz) == RP_OK);
	CHECK(rp_mips_index_valid(ix, sz, n, f, with_bias));
	for (int32_t u = 0; u < 12; u++)
	{
		rp_mips_query q;
		int32_t		nex = 0;

		memset(&q, 0, sizeof(q));
		q.u = U + (size_t) u * f;
		q.base = u % 3 == 0 ? 0.0 : 0.5 * gauss();
		if (with_excl)
		{
			/* the first items of the reference list, and some others */
			int32_t		r0 = full_scan(V, bias, n, f, &q, 8, ri, rs);

			for (int32_t r = 0; r < r0; r += 2)
				excl[nex++] = ri[r];
			for (int32_t i = u; i < n; i += 37)
				excl[nex++] = i;
			/* ascending, unique */
			for (int32_t a = 1; a < nex; a++)
				for (int32_t b = a; b > 0 && excl[b - 1] > excl[b]; b--)
				{
					int32_t		t = excl[b];

					excl[b] = excl[b - 1];
					excl[b - 1] = t;
				}
			{
				int32_t		w = 0;

				for (int32_t a = 0; a < nex; a++)
					if (w == 0 || excl[w - 1] != excl[a])
						excl[w++] = excl[a];
				nex = w;
			}
		}
		q.excl = excl;
		q.nexcl = nex;
		q.allowed = allowed;
		for (size_t kk = 0; kk < sizeof(ks) / sizeof(ks[0]); kk++)
		{
			int32_t		k = ks[kk];
			int32_t		want = full_scan(V, bias, n, f, &q, k, ri, rs);
			int32_t		got = rp_mips_topk(ix, V, bias, &q, k, oi, os, NULL);

			CHECK(got == want);
			if (got == want)
				CHECK(same_lists(oi, os, ri, rs, got));
		}
	}
	free(V);
	free(U);
	free(bias);
	free(ix);
	free(allowed);
	free(oi);
	free(os);
	free(ri);
	free(rs);
	free(excl);
}

static void
test_exact_heavy(void)
{
	check_config(3000, 16, 1, 0, 0, 0, 0);
	check_config(3000, 16, 1, 0, 0, 1, 0);
	check_config(3000, 16, 1, 0, 0, 1, 1);
}

static void
test_exact_ties(void)
{
	check_config(2000, 8, 1, 1, 0, 1, 0);
	check_config(2000, 8, 0, 1, 0, 0, 1);
	check_config(777, 5, 1, 1, 1, 1, 1);
}

static void
test_exact_bias(void)
{
	check_config(2500, 12, 1, 0, 1, 0, 0);
	check_config(2500, 12, 0, 0, 1, 1, 0);
}

static void
test_exact_gaussian(void)
{
	check_config(1500, 32, 0, 0, 0, 1, 1);
}

/* past the copied rows (the first 4,096 positions): rows read through perm */
static void
test_exact_past_prefix(void)
{
	check_config(9000, 4, 0, 1, 0, 1, 0);
	check_config(9000, 4, 1, 1, 1, 0, 1);
}

static void
test_small(void)
{
	/* 0, 1 and 33 items (a partial last block), one factor */
	check_config(1, 1, 1, 0, 0, 0, 0);
	check_config(33, 1, 1, 1, 1, 1, 1);
	{
		size_t		sz = rp_mips_index_size(0, 1, 0);
		void	   *ix = malloc(sz);
		double		u = 1.0;
		rp_mips_query q;
		int32_t		oi[2];
		double		os[2];

		memset(&q, 0, sizeof(q));
		q.u = &u;
		CHECK(rp_mips_build(NULL, NULL, 0, 1, ix, sz) == RP_OK);
		CHECK(rp_mips_topk(ix, NULL, NULL, &q, 2, oi, os, NULL) == 0);
		free(ix);
	}
}

/*
 * The full check of an index from outside (a shared model image): a copy
 * at another address checks and answers bit for bit like the original;
 * perm out of range, a duplicate in perm, a damaged header, the wrong
 * shape or a short buffer are rejected.
 */
static void
test_index_check(void)
{
	int32_t		n = 5000;
	int32_t		f = 16;
	double	   *V = make_factors(n, f, 1, 1);
	double	   *bias = malloc(n * sizeof(double));
	double	   *U = make_factors(8, f, 0, 0);
	size_t		sz = rp_mips_index_size(n, f, 1);
	void	   *ix = malloc(sz);
	double	   *copy = malloc(sz + 64);
	unsigned char *seen = malloc((n + 7) / 8);
	int32_t    *perm;
	int32_t		oi[10],
				ci[10];
	double		os[10],
				cs[10];
	rp_mips_query q;
	int32_t		save;

	for (int32_t i = 0; i < n; i++)
		bias[i] = gauss() / 4.0;
	CHECK(rp_mips_build(V, bias, n, f, ix, sz) == RP_OK);
	CHECK(rp_mips_index_check(ix, sz, n, f, 1, seen));
	memcpy(copy + 8, ix, sz);	/* another 8-aligned address */
	CHECK(rp_mips_index_check(copy + 8, sz, n, f, 1, seen));
	memset(&q, 0, sizeof(q));
	for (int32_t u = 0; u < 8; u++)
	{
		q.u = U + (size_t) u * f;
		q.base = 0.25;
		CHECK(rp_mips_topk(ix, V, bias, &q, 10, oi, os, NULL) == 10);
		CHECK(rp_mips_topk(copy + 8, V, bias, &q, 10, ci, cs, NULL) == 10);
		CHECK(memcmp(oi, ci, sizeof(oi)) == 0 && memcmp(os, cs, sizeof(os)) == 0);
	}
	/* where perm sits: the permutation of the largest-norm items, found by content */
	perm = NULL;
	{
		int32_t		head[4];
		double		best[4];
		int32_t    *w = (int32_t *) (copy + 8);

		for (int32_t t = 0; t < 4; t++)
		{
			head[t] = -1;
			best[t] = -1.0;
		}
		for (int32_t i = 0; i < n; i++)
		{
			double		s2 = bias[i] * bias[i];
			double		key;
			int32_t		t = 4;

			for (int32_t j = 0; j < f; j++)
				s2 += V[(size_t) i * f + j] * V[(size_t) i * f + j];
			key = s2;
			while (t > 0 && key > best[t - 1])
				t--;
			if (t < 4)
			{
				memmove(best + t + 1, best + t, (3 - t) * sizeof(double));
				memmove(head + t + 1, head + t, (3 - t) * sizeof(int32_t));
				best[t] = key;
				head[t] = i;
			}
		}
		for (size_t k = 0; k + 4 <= sz / sizeof(int32_t) && perm == NULL; k++)
			if (memcmp(w + k, head, sizeof(head)) == 0)
				perm = w + k;
	}
	CHECK(perm != NULL);
	if (perm != NULL)
	{
		save = perm[1];
		perm[1] = -1;
		CHECK(!rp_mips_index_check(copy + 8, sz, n, f, 1, seen));
		perm[1] = perm[0];		/* a duplicate */
		CHECK(!rp_mips_index_check(copy + 8, sz, n, f, 1, seen));
		perm[1] = save;
		CHECK(rp_mips_index_check(copy + 8, sz, n, f, 1, seen));
	}
	CHECK(!rp_mips_index_check(copy + 8, sz, n, f, 0, seen));
	CHECK(!rp_mips_index_check(copy + 8, sz, n - 1, f, 1, seen));
	CHECK(!rp_mips_index_check(copy + 8, sz - 8, n, f, 1, seen));
	CHECK(!rp_mips_index_check(copy + 8, sz, n, f, 1, NULL));
	((unsigned char *) (copy + 8))[0] ^= 1;
	CHECK(!rp_mips_index_check(copy + 8, sz, n, f, 1, seen));
	free(V);
	free(bias);
	free(U);
	free(ix);
	free(copy);
	free(seen);
}

/* pruning: heavy-tailed norms score few items, alike norms give up */
static void
test_pruning_and_giving_up(void)
{
	int32_t		n = 20000;
	int32_t		f = 32;
	double	   *Vh = make_factors(n, f, 1, 0);
	double	   *Vg = make_factors(n, f, 0, 0);
	double	   *U = make_factors(40, f, 0, 0);
	size_t		sz = rp_mips_index_size(n, f, 0);
	void	   *ih = malloc(sz);
	void	   *ig = malloc(sz);
	rp_mips_query q;
	rp_mips_stats st;
	int32_t		oi[10];
	double		os[10];
	double		ph;
	double		pg;

	CHECK(rp_mips_build(Vh, NULL, n, f, ih, sz) == RP_OK);
	CHECK(rp_mips_build(Vg, NULL, n, f, ig, sz) == RP_OK);
	ph = rp_mips_probe(ih, Vh, NULL, U, 40, 16, 10, n / 8);
	pg = rp_mips_probe(ig, Vg, NULL, U, 40, 16, 10, n / 8);
	CHECK(ph < 0.1);
	CHECK(pg == 1.0);
	{
		/*
		 * Customers without factors (rows of zeros: every item ties, no
		 * bound prunes them) are passed over, not counted as give-ups: with
		 * 70% of the rows zero the probe still sees heavy-tailed norms
		 * prune (before, 0.7 of the probe gave up and the model lost
		 * pruning).  All rows zero: nothing to learn, 1.0.
		 */
		double	   *Uz = calloc((size_t) 400 * f, sizeof(double));

		for (int32_t u = 0; u < 400; u += 10)
			for (int32_t k = 0; k < 3; k++)
				memcpy(Uz + (size_t) (u + k) * f, U + (size_t) ((u / 10) % 40) * f, f * sizeof(double));
		CHECK(rp_mips_probe(ih, Vh, NULL, Uz, 400, 16, 10, n / 8) < 0.1);
		memset(Uz, 0, (size_t) 400 * f * sizeof(double));
		CHECK(rp_mips_probe(ih, Vh, NULL, Uz, 400, 16, 10, n / 8) == 1.0);
		free(Uz);
	}
	memset(&q, 0, sizeof(q));
	q.u = U;
	q.max_visit = 100;
	CHECK(rp_mips_topk(ig, Vg, NULL, &q, 10, oi, os, &st) == -1);
	CHECK(st.scored == 100);
	q.max_visit = 0;
	CHECK(rp_mips_topk(ig, Vg, NULL, &q, 10, oi, os, &st) == 10);
	CHECK(st.scored > n / 2);	/* alike norms: little pruned */
	/* validity: wrong shape, bias flag, corrupted header */
	CHECK(!rp_mips_index_valid(ih, sz, n + 1, f, 0));
	CHECK(!rp_mips_index_valid(ih, sz, n, f + 1, 0));
	CHECK(!rp_mips_index_valid(ih, sz, n, f, 1));
	CHECK(!rp_mips_index_valid(ih, sz - 8, n, f, 0));
	((unsigned char *) ih)[0] ^= 1;
	CHECK(!rp_mips_index_valid(ih, sz, n, f, 0));
	/* bad build arguments */
	CHECK(rp_mips_build(Vh, NULL, n, f, ig, sz - 1) == RP_EINVAL);
	CHECK(rp_mips_build(Vh, NULL, n, 0, ig, sz) == RP_EINVAL);
	CHECK(rp_mips_build(Vh, NULL, -1, f, ig, sz) == RP_EINVAL);
	free(Vh);
	free(Vg);
	free(U);
	free(ih);
	free(ig);
}

int
main(void)
{
	RUN(test_exact_heavy);
	RUN(test_exact_ties);
	RUN(test_exact_bias);
	RUN(test_exact_gaussian);
	RUN(test_exact_past_prefix);
	RUN(test_small);
	RUN(test_pruning_and_giving_up);
	RUN(test_index_check);
	UNIT_DONE();
}
