/*
 * test_batch.c
 *	  rp_batch_topk against a naive reference: every item scored in double,
 *	  excluded and disallowed items dropped, sorted by (score desc, index
 *	  asc), cut at k.  Both kernels, several thread counts, item counts that
 *	  are not multiples of the tile sizes, exact ties that force the
 *	  double-precision fallback, user subsets, and bad arguments.
 */
#include "unit.h"
#include "rp_batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct prob
{
	rp_batch_input in;
	double	   *U;
	double	   *V;
	double	   *ub;
	double	   *ib;
	int64_t    *indptr;
	int32_t    *indices;
	unsigned char *allowed;
} prob;

static unsigned rng = 12345;

static double
urand(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (double) (rng >> 8) / (double) (1u << 24);
}

static void
make(prob *p, int32_t nu, int32_t ni, int32_t f, int bias, int excl, int allow, int ties)
{
	memset(p, 0, sizeof(*p));
	p->U = malloc(sizeof(double) * nu * f);
	p->V = malloc(sizeof(double) * ni * f);
	for (int64_t x = 0; x < (int64_t) nu * f; x++)
		p->U[x] = urand() * 2 - 1;
	for (int32_t i = 0; i < ni; i++)
		for (int32_t c = 0; c < f; c++)
			/* with ties, items come in groups of 20 identical vectors */
			p->V[(int64_t) i * f + c] = ties && i % 20 != 0 ?
				p->V[(int64_t) (i - i % 20) * f + c] : urand() * 2 - 1;
	if (bias)
	{
		p->ub = malloc(sizeof(double) * nu);
		p->ib = malloc(sizeof(double) * ni);
		for (int32_t u = 0; u < nu; u++)
			p->ub[u] = urand();
		for (int32_t i = 0; i < ni; i++)
			p->ib[i] = ties ? 0.25 : urand() - 0.5;
	}
	if (excl)
	{
		int64_t		n = 0;

		p->indptr = malloc(sizeof(int64_t) * (nu + 1));
		p->indices = malloc(sizeof(int32_t) * ((int64_t) nu * ni / 7 + 1));
		p->indptr[0] = 0;
		for (int32_t u = 0; u < nu; u++)
		{
			for (int32_t i = 0; i < ni; i++)
				if (urand() < 0.1 && n < (int64_t) nu * ni / 7)
					p->indices[n++] = i;
			p->indptr[u + 1] = n;
		}
	}
	if (allow)
	{
		p->allowed = malloc(ni);
		for (int32_t i = 0; i < ni; i++)
			p->allowed[i] = urand() < 0.8;
	}
	p->in.n_users = nu;
	p->in.n_items = ni;
	p->in.factors = f;
	p->in.U = p->U;
	p->in.V = p->V;
	p->in.user_bias = p->ub;
	p->in.item_bias = p->ib;
	p->in.global = bias ? 3.5 : 0.0;
	p->in.excl_indptr = p->indptr;
	p->in.excl_indices = p->indices;
	p->in.allowed = p->allowed;
}

static void
unmake(prob *p)
{
	free(p->U);
	free(p->V);
	free(p->ub);
	free(p->ib);
	free(p->indptr);
	free(p->indices);
	free(p->allowed);
}

static const double *g_sc;

static int
cmp(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	if (g_sc[x] != g_sc[y])
		return g_sc[x] > g_sc[y] ? -1 : 1;
	return (x > y) - (x < y);
}

/* Naive top-k of user u; returns the count. */
static int32_t
naive(const prob *p, int32_t u, int32_t k, int32_t *oi, double *os)
{
	const rp_batch_input *in = &p->in;
	int32_t		ni = in->n_items;
	double	   *sc = malloc(sizeof(double) * (ni + 1));
	int32_t    *ord = malloc(sizeof(int32_t) * (ni + 1));
	int32_t		n = 0;
	double		base = in->global + (in->user_bias ? in->user_bias[u] : 0.0);

	for (int32_t i = 0; i < ni; i++)
	{
		double		d = 0;
		int			ex = 0;

		for (int32_t f = 0; f < in->factors; f++)
			d += in->U[(int64_t) u * in->factors + f] * in->V[(int64_t) i * in->factors + f];
		if (in->item_bias)
			d += in->item_bias[i];
		sc[i] = base + d;
		if (in->excl_indptr)
			for (int64_t c = in->excl_indptr[u]; c < in->excl_indptr[u + 1]; c++)
				ex |= in->excl_indices[c] == i;
		if (!ex && (!in->allowed || in->allowed[i]))
			ord[n++] = i;
	}
	g_sc = sc;
	qsort(ord, n, sizeof(int32_t), cmp);
	if (n > k)
		n = k;
	for (int32_t r = 0; r < n; r++)
	{
		oi[r] = ord[r];
		os[r] = sc[ord[r]];
	}
	free(sc);
	free(ord);
	return n;
}

/* Runs the batch and compares every selected user with the reference. */
static int64_t
check(const prob *p, int32_t k, int threads, rp_batch_kernel kern)
{
	int32_t		n_sel = p->in.users ? p->in.n_sel : p->in.n_users;
	size_t		ws = rp_batch_workspace_size(&p->in, k, threads);
	void	   *work = malloc(ws);
	int32_t    *oi = malloc(sizeof(int32_t) * n_sel * k);
	double	   *os = malloc(sizeof(double) * n_sel * k);
	int32_t    *oc = malloc(sizeof(int32_t) * n_sel);
	int32_t    *ri = malloc(sizeof(int32_t) * k);
	double	   *rs = malloc(sizeof(double) * k);
	rp_batch_stats stats;
	rp_status	st;
	int			bad = 0;

	CHECK(ws > 0);
	st = rp_batch_topk(&p->in, k, threads, kern, work, ws, oi, os, oc, NULL, &stats);
	CHECK(st == RP_OK);
	CHECK(stats.users == n_sel);
	for (int32_t r = 0; r < n_sel && st == RP_OK; r++)
	{
		int32_t		u = p->in.users ? p->in.users[r] : r;
		int32_t		n = naive(p, u, k, ri, rs);

		if (oc[r] != n)
			bad++;
		else
			for (int32_t t = 0; t < n; t++)
				if (oi[(int64_t) r * k + t] != ri[t] || os[(int64_t) r * k + t] != rs[t])
				{
					bad++;
					break;
				}
	}
	if (bad)
		fprintf(stderr, "%d users differ (k=%d threads=%d kernel=%d)\n", bad, k, threads, kern);
	CHECK(bad == 0);
	free(work);
	free(oi);
	free(os);
	free(oc);
	free(ri);
	free(rs);
	return stats.fallback_users;
}

static void
test_random(void)
{
	prob		p;

	make(&p, 203, 2500, 9, 1, 1, 1, 0);
	check(&p, 10, 1, RP_BATCH_SGEMM);
	check(&p, 10, 3, RP_BATCH_SGEMM);
	check(&p, 1, 2, RP_BATCH_AUTO);
	check(&p, 40, 2, RP_BATCH_AUTO);
	if (rp_batch_have_avx512())
	{
		check(&p, 10, 1, RP_BATCH_AVX512);
		check(&p, 10, 3, RP_BATCH_AVX512);
		check(&p, 10, 2, RP_BATCH_AVX512_HALF);
		check(&p, 40, 1, RP_BATCH_AVX512_HALF);
	}
	unmake(&p);
}

static void
test_no_bias_no_filters(void)
{
	prob		p;

	make(&p, 100, 1100, 64, 0, 0, 0, 0);
	check(&p, 10, 2, RP_BATCH_SGEMM);
	if (rp_batch_have_avx512())
		check(&p, 10, 2, RP_BATCH_AVX512);
	unmake(&p);
}

static void
test_ties_fallback(void)
{
	prob		p;
	int64_t		fb;

	make(&p, 50, 700, 4, 1, 1, 0, 1);
	fb = check(&p, 7, 2, RP_BATCH_SGEMM);
	CHECK(fb > 0);				/* exact ties cannot be decided in float */
	fb = check(&p, 7, 1, RP_BATCH_AUTO);
	CHECK(fb > 0);
	if (rp_batch_have_avx512())
		check(&p, 7, 1, RP_BATCH_AVX512_HALF);
	unmake(&p);
}

static void
test_subset_and_small(void)
{
	prob		p;
	int32_t		sel[5] = {7, 3, 3, 0, 19};

	make(&p, 20, 6, 3, 0, 1, 0, 0);
	p.in.users = sel;
	p.in.n_sel = 5;
	check(&p, 10, 2, RP_BATCH_AUTO);	/* k above the eligible count */
	check(&p, 2, 1, RP_BATCH_SGEMM);
	unmake(&p);
}

/* Prepared items, one user per run (the recommend() path) = the batch. */
static void
test_prepared_single_user(void)
{
	prob		p;
	rp_batch_kernel kerns[3] = {RP_BATCH_SGEMM, RP_BATCH_AUTO, RP_BATCH_AVX512_HALF};
	int			nk = rp_batch_have_avx512() ? 3 : 2;

	make(&p, 30, 1500, 16, 1, 1, 1, 0);
	for (int kk = 0; kk < nk; kk++)
	{
		size_t		isz = rp_batch_items_size(&p.in, kerns[kk]);
		void	   *ibuf = malloc(isz);
		rp_batch_items items;
		int			bad = 0;

		CHECK(rp_batch_prepare(&p.in, kerns[kk], ibuf, isz, &items) == RP_OK);
		CHECK(rp_batch_prepare(&p.in, kerns[kk], ibuf, isz - 1, &items) == RP_EINVAL);
		for (int32_t u = 0; u < p.in.n_users; u++)
		{
			rp_batch_input one = p.in;
			int32_t		sel = u;
			size_t		rsz;
			void	   *work;
			int32_t		oi[10];
			double		os[10];
			int32_t		oc;
			int32_t		ri[10];
			double		rs[10];
			int32_t		n;

			one.users = &sel;
			one.n_sel = 1;
			rsz = rp_batch_run_size(&one, 10, 1, kerns[kk]);
			CHECK(rsz > 0 && rsz < 64 * 1024);	/* a few KB, not a block's tile */
			work = malloc(rsz);
			CHECK(rp_batch_topk_prepared(&one, &items, 10, 1, work, rsz, oi, os, &oc, NULL, NULL) == RP_OK);
			n = naive(&p, u, 10, ri, rs);
			if (oc != n)
				bad++;
			for (int32_t t = 0; t < n && t < oc; t++)
				if (oi[t] != ri[t] || os[t] != rs[t])
					bad++;
			free(work);
		}
		CHECK(bad == 0);
		free(ibuf);
	}
	unmake(&p);
}

static int
stop_now(void *arg)
{
	return 1;
}

static void
test_bad_args(void)
{
	prob		p;
	size_t		ws;
	void	   *work;
	int32_t		oi[200];
	double		os[200];
	int32_t		oc[20];
	rp_cancel	c = {stop_now, NULL};
	int32_t		bad_sel[1] = {20};

	make(&p, 20, 30, 3, 0, 0, 0, 0);
	CHECK(rp_batch_workspace_size(&p.in, 0, 1) == 0);
	CHECK(rp_batch_workspace_size(&p.in, RP_BATCH_MAX_K + 1, 1) == 0);
	ws = rp_batch_workspace_size(&p.in, 10, 1);
	work = malloc(ws);
	CHECK(rp_batch_topk(&p.in, 10, 1, RP_BATCH_AUTO, work, ws - 1, oi, os, oc, NULL, NULL) == RP_EINVAL);
	CHECK(rp_batch_topk(&p.in, 0, 1, RP_BATCH_AUTO, work, ws, oi, os, oc, NULL, NULL) == RP_EINVAL);
	CHECK(rp_batch_topk(&p.in, 10, 1, RP_BATCH_AUTO, work, ws, oi, os, oc, &c, NULL) == RP_ECANCELED);
	p.in.users = bad_sel;
	p.in.n_sel = 1;
	CHECK(rp_batch_topk(&p.in, 10, 1, RP_BATCH_AUTO, work, ws, oi, os, oc, NULL, NULL) == RP_EINVAL);
	if (!rp_batch_have_avx512())
		CHECK(rp_batch_topk(&p.in, 10, 1, RP_BATCH_AVX512, work, ws, oi, os, oc, NULL, NULL) == RP_EINVAL);
	free(work);
	unmake(&p);
}

int
main(void)
{
	RUN(test_random);
	RUN(test_no_bias_no_filters);
	RUN(test_ties_fallback);
	RUN(test_subset_and_small);
	RUN(test_prepared_single_user);
	RUN(test_bad_args);
	UNIT_DONE();
}
