/*
 * test_tune.c
 *	  rp_tune: the validation split (disjoint from training, per user, by
 *	  time), and the search loop driven by a fake objective and a fake
 *	  clock: deterministic under a seed, within its trial and time budgets,
 *	  grid exhaustive, halving promoting the best, the start point first.
 */
#include "unit.h"
#include "rp_tune.h"

#include <stdlib.h>
#include <string.h>

/* 3 users: 5 items, 1 item, 4 items */
static int64_t indptr[] = {0, 5, 6, 10};
static int32_t indices[] = {0, 1, 2, 3, 4, 2, 0, 1, 5, 6};
static double vals[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static double times[] = {5, 1, 4, 2, 3, 9, 1, 2, 3, 4};

static rp_csr
small_R(void)
{
	rp_csr		R = {3, 7, 10, indptr, indices, vals};

	return R;
}

static void
test_split_time(void)
{
	rp_csr		R = small_R();
	unsigned char v[10];
	void	   *work = malloc(rp_tune_split_workspace(&R));
	int64_t		nv = 0;

	CHECK(rp_tune_split(&R, times, 0.4, 1, v, work, &nv) == RP_OK);
	/* user 0: 5 items, 2 held out: the latest (t=5 at p0, t=4 at p2) */
	CHECK(v[0] == 1 && v[2] == 1 && v[1] == 0 && v[3] == 0 && v[4] == 0);
	/* user 1: one item, stays in training */
	CHECK(v[5] == 0);
	/* user 2: 4 items, round(1.6) = 2 held out: t=4, t=3 */
	CHECK(v[9] == 1 && v[8] == 1 && v[6] == 0 && v[7] == 0);
	CHECK(nv == 4);
	CHECK(rp_tune_split(&R, times, 1.0, 1, v, work, &nv) == RP_EINVAL);
	free(work);
}

/* training and validation slices are disjoint, cover R, keep every user a training item */
static void
test_split_disjoint(void)
{
	enum
	{
	U = 50, I = 40};
	int64_t		ip[U + 1];
	int32_t    *ix = malloc(U * I * sizeof(int32_t));
	double	   *vx = malloc(U * I * sizeof(double));
	unsigned char *v = malloc(U * I);
	rp_csr		R,
				T,
				V;
	int64_t		nv;
	void	   *work;
	unsigned	s = 3;

	ip[0] = 0;
	for (int u = 0; u < U; u++)
	{
		int64_t		w = ip[u];

		for (int i = 0; i < I; i++)
		{
			s = s * 1664525u + 1013904223u;
			if ((s >> 20) % 4 == 0)
			{
				ix[w] = i;
				vx[w] = 1.0 + (s >> 8) % 5;
				w++;
			}
		}
		ip[u + 1] = w;
	}
	R.n_rows = U;
	R.n_cols = I;
	R.nnz = ip[U];
	R.indptr = ip;
	R.indices = ix;
	R.values = vx;
	work = malloc(rp_tune_split_workspace(&R));
	CHECK(rp_tune_split(&R, NULL, 0.25, 7, v, work, &nv) == RP_OK);
	T.indptr = malloc((U + 1) * sizeof(int64_t));
	T.indices = malloc(R.nnz * sizeof(int32_t));
	T.values = malloc(R.nnz * sizeof(double));
	V.indptr = malloc((U + 1) * sizeof(int64_t));
	V.indices = malloc(R.nnz * sizeof(int32_t));
	V.values = malloc(R.nnz * sizeof(double));
	rp_tune_filter(&R, v, 0, NULL, &T);
	rp_tune_filter(&R, v, 1, NULL, &V);
	CHECK(T.nnz + V.nnz == R.nnz);
	CHECK(V.nnz == nv);
	for (int u = 0; u < U; u++)
	{
		int64_t		n = R.indptr[u + 1] - R.indptr[u];

		if (n >= 1)
			CHECK(T.indptr[u + 1] > T.indptr[u]);
		for (int64_t p = V.indptr[u]; p < V.indptr[u + 1]; p++)
			for (int64_t q = T.indptr[u]; q < T.indptr[u + 1]; q++)
				CHECK(V.indices[p] != T.indices[q]);
	}
	/* the same seed gives the same split, another seed another one */
	{
		unsigned char *v2 = malloc(U * I);
		int			same = 1;

		CHECK(rp_tune_split(&R, NULL, 0.25, 7, v2, work, &nv) == RP_OK);
		CHECK(memcmp(v, v2, R.nnz) == 0);
		CHECK(rp_tune_split(&R, NULL, 0.25, 8, v2, work, &nv) == RP_OK);
		same = memcmp(v, v2, R.nnz) == 0;
		CHECK(!same);
		free(v2);
	}
	/* user subsample: dropped users come out empty */
	{
		unsigned char keep[U];
		int			kept = 0;

		for (int u = 0; u < U; u++)
			kept += keep[u] = (unsigned char) rp_tune_user_in(u, 1.0 / 3.0, 5);
		CHECK(kept > 5 && kept < 30);
		rp_tune_filter(&R, v, 0, keep, &T);
		for (int u = 0; u < U; u++)
			if (!keep[u])
				CHECK(T.indptr[u + 1] == T.indptr[u]);
	}
	free(T.indptr);
	free(T.indices);
	free(T.values);
	free(V.indptr);
	free(V.indices);
	free(V.values);
	free(work);
	free(ix);
	free(vx);
	free(v);
}

static const rp_tune_param space[] = {
	{"lambda", RP_TUNE_FLOAT, 1.0, 10000.0, 1, 5},
	{"k", RP_TUNE_INT, 5, 200, 1, 4},
	{"w", RP_TUNE_CHOICE, 0, 0, 0, 3},
};

/* a planted optimum at lambda = 100, k = 50, w = 1 */
static double
objective(const double *v)
{
	double		a = log10(v[0]) - 2.0;
	double		b = log(v[1] / 50.0);

	return 1.0 - a * a * 0.1 - b * b * 0.05 - (v[2] == 1.0 ? 0.0 : 0.2);
}

static void
run_search(rp_tune_strategy st, int trials, double max_seconds, uint64_t seed,
		   double *metrics, double *vals_out, int *n_out, double step_seconds)
{
	size_t		ws = rp_tune_workspace(3, trials);
	void	   *work = malloc(ws);
	rp_tuner	t;
	double		start[3] = {500, 20, 0};
	double		clock = 0.0;
	int			id;
	int			n = 0;

	CHECK(rp_tune_init(&t, space, 3, st, trials, max_seconds, seed, start, work, ws) == RP_OK);
	while ((id = rp_tune_next(&t, clock)) >= 0)
	{
		const double *v = t.values + (size_t) id * 3;

		/* values inside the space */
		CHECK(v[0] >= 1.0 && v[0] <= 10000.0);
		CHECK(v[1] >= 5 && v[1] <= 200 && v[1] == floor(v[1]));
		CHECK(v[2] == 0 || v[2] == 1 || v[2] == 2);
		CHECK(t.fraction[id] > 0.0 && t.fraction[id] <= 1.0);
		metrics[n] = objective(v) - (1.0 - t.fraction[id]) * 0.01;
		memcpy(vals_out + n * 3, v, 3 * sizeof(double));
		rp_tune_report(&t, id, metrics[n]);
		n++;
		clock += step_seconds;
	}
	*n_out = n;
	free(work);
}

static void
test_deterministic(void)
{
	double		m1[40],
				m2[40],
				m3[40],
				v1[120],
				v2[120],
				v3[120];
	int			n1,
				n2,
				n3;

	for (int st = RP_TUNE_GRID; st <= RP_TUNE_ADAPTIVE; st++)
	{
		run_search(st, 40, 0, 11, m1, v1, &n1, 1.0);
		run_search(st, 40, 0, 11, m2, v2, &n2, 1.0);
		run_search(st, 40, 0, 12, m3, v3, &n3, 1.0);
		CHECK(n1 == n2 && n1 > 0);
		CHECK(memcmp(v1, v2, n1 * 3 * sizeof(double)) == 0);
		CHECK(memcmp(v1, v3, (n1 < n3 ? n1 : n3) * 3 * sizeof(double)) != 0);
	}
}

static void
test_budget(void)
{
	double		m[40],
				v[120];
	int			n;

	/* trial count */
	run_search(RP_TUNE_RANDOM, 7, 0, 1, m, v, &n, 1.0);
	CHECK(n == 7);
	run_search(RP_TUNE_GRID, 40, 0, 1, m, v, &n, 1.0);
	CHECK(n == 40);
	run_search(RP_TUNE_HALVING, 40, 0, 1, m, v, &n, 1.0);
	CHECK(n <= 40 && n >= 30);
	/* time: 2.5 s of budget, trials of 1 s: trials start at 0, 1, 2 */
	run_search(RP_TUNE_RANDOM, 40, 2.5, 1, m, v, &n, 1.0);
	CHECK(n == 3);
	/* a budget smaller than one trial still runs one */
	run_search(RP_TUNE_HALVING, 40, 0.001, 1, m, v, &n, 1.0);
	CHECK(n == 1);
	run_search(RP_TUNE_GRID, 40, 5.0, 1, m, v, &n, 2.0);
	CHECK(n == 3);
	run_search(RP_TUNE_ADAPTIVE, 9, 0, 1, m, v, &n, 1.0);
	CHECK(n == 9);
	run_search(RP_TUNE_ADAPTIVE, 40, 2.5, 1, m, v, &n, 1.0);
	CHECK(n == 3);
}

/*
 * A narrow ridge, as ALS's ridge against its confidence weight on Online
 * Retail: the objective is 1 only near lambda = 20 * k / 50 (log10 within
 * a few hundredths), falling fast across it and slowly along it.
 */
static double
ridge_objective(const double *v)
{
	double		a = log10(v[0] / (20.0 * v[1] / 50.0));
	double		b = log(v[1] / 50.0);

	return 1.0 - 40.0 * a * a - 0.05 * b * b - (v[2] == 1.0 ? 0.0 : 0.05);
}

/*
 * adaptive: the first half of the budget is random (the start point
 * first), every later trial is a step from one of the three best trials
 * before it, and on a narrow ridge it ends closer to the optimum than
 * random search with the same budget, on average over 50 seeds.
 */
static void
test_adaptive(void)
{
	size_t		ws = rp_tune_workspace(3, 30);
	void	   *work = malloc(ws);
	rp_tuner	t;
	double		start[3] = {500, 20, 0};
	double		sum_a = 0.0,
				sum_r = 0.0;

	for (uint64_t seed = 1; seed <= 50; seed++)
	{
		double		best_a,
					best_r;
		int			id;

		CHECK(rp_tune_init(&t, space, 3, RP_TUNE_ADAPTIVE, 30, 0, seed, start, work, ws) == RP_OK);
		CHECK(t.n_explore == 15);
		while ((id = rp_tune_next(&t, 0)) >= 0)
		{
			const double *v = t.values + (size_t) id * 3;

			if (id == 0)
				CHECK(memcmp(v, start, sizeof(start)) == 0);
			if (id >= 15)
			{
				/*
				 * a step from one of the 3 best so far: lambda within a few
				 * widths of one of them on the log scale
				 */
				int			near = 0;
				int			better;

				for (int i = 0; i < id; i++)
				{
					better = 0;
					for (int j = 0; j < id; j++)
						better += t.metric[j] > t.metric[i] ||
							(t.metric[j] == t.metric[i] && j < i);
					if (better < 3 &&
						fabs(log(v[0] / t.values[i * 3])) <= 5 * 0.25 * log(10000.0) + 1e-9)
						near = 1;
				}
				CHECK(near);
			}
			CHECK(v[0] >= 1.0 && v[0] <= 10000.0);
			CHECK(v[1] >= 5 && v[1] <= 200 && v[1] == floor(v[1]));
			CHECK(v[2] == 0 || v[2] == 1 || v[2] == 2);
			CHECK(t.fraction[id] == 1.0);
			rp_tune_report(&t, id, ridge_objective(v));
		}
		CHECK(t.n_trials == 30);
		best_a = t.metric[rp_tune_best(&t)];
		CHECK(rp_tune_init(&t, space, 3, RP_TUNE_RANDOM, 30, 0, seed, start, work, ws) == RP_OK);
		while ((id = rp_tune_next(&t, 0)) >= 0)
			rp_tune_report(&t, id, ridge_objective(t.values + (size_t) id * 3));
		best_r = t.metric[rp_tune_best(&t)];
		sum_a += best_a;
		sum_r += best_r;
	}
	/* over 50 seeds: about 0.84 against 0.58 */
	CHECK(sum_a / 50 > sum_r / 50 + 0.15);
	/* failed trials (NaN) are never the incumbent; all failed: random draws */
	CHECK(rp_tune_init(&t, space, 3, RP_TUNE_ADAPTIVE, 6, 0, 2, NULL, work, ws) == RP_OK);
	for (int i = 0; i < 6; i++)
	{
		int			id = rp_tune_next(&t, 0);

		CHECK(id == i);
		rp_tune_report(&t, id, NAN);
	}
	CHECK(rp_tune_next(&t, 0) == -1);
	CHECK(rp_tune_best(&t) == -1);
	free(work);
}

static void
test_grid_exhaustive_and_best(void)
{
	size_t		ws = rp_tune_workspace(3, 100);
	void	   *work = malloc(ws);
	rp_tuner	t;
	int			id,
				n = 0,
				best;
	double		top = -1e300;
	int			seen[60] = {0};

	CHECK(rp_tune_grid_size(space, 3) == 60);
	CHECK(rp_tune_init(&t, space, 3, RP_TUNE_GRID, 100, 0, 3, NULL, work, ws) == RP_OK);
	while ((id = rp_tune_next(&t, 0)) >= 0)
	{
		const double *v = t.values + (size_t) id * 3;
		double		o = objective(v);
		int			gi = 0;

		/* the point's grid coordinates */
		for (int j = 0; j < 5; j++)
			if (rp_tune_grid_value(&space[0], j) == v[0])
				gi = j;
		for (int j = 0; j < 4; j++)
			if (rp_tune_grid_value(&space[1], j) == v[1])
				gi = gi * 4 + j;
		gi = gi * 3 + (int) v[2];
		seen[gi]++;
		if (o > top)
			top = o;
		rp_tune_report(&t, id, o);
		n++;
	}
	CHECK(n == 60);
	for (int g = 0; g < 60; g++)
		CHECK(seen[g] == 1);
	best = rp_tune_best(&t);
	CHECK(best >= 0 && t.metric[best] == top);
	CHECK(rp_tune_grid_value(&space[0], 0) == 1.0);
	CHECK_NEAR(rp_tune_grid_value(&space[0], 2), 100.0, 1e-12);
	CHECK(rp_tune_grid_value(&space[0], 4) == 10000.0);
	free(work);
}

static void
test_halving(void)
{
	size_t		ws = rp_tune_workspace(3, 13);
	void	   *work = malloc(ws);
	rp_tuner	t;
	int			id,
				n = 0,
				best;
	double		start[3] = {500, 20, 0};

	/* 13 trials: 9 at 1/9 of the users, 3 at 1/3, 1 at all */
	CHECK(rp_tune_init(&t, space, 3, RP_TUNE_HALVING, 13, 0, 5, start, work, ws) == RP_OK);
	while ((id = rp_tune_next(&t, 0)) >= 0)
	{
		const double *v = t.values + (size_t) id * 3;

		if (id == 0)
			CHECK(memcmp(v, start, sizeof(start)) == 0);
		rp_tune_report(&t, id, objective(v));
		n++;
	}
	CHECK(n == 13);
	CHECK_NEAR(t.fraction[0], 1.0 / 9.0, 1e-12);
	CHECK_NEAR(t.fraction[9], 1.0 / 3.0, 1e-12);
	CHECK(t.fraction[12] == 1.0);
	/* rung 1 holds the 3 best of rung 0, best first */
	{
		double		m0[9];

		memcpy(m0, t.metric, sizeof(m0));
		for (int i = 0; i < 9; i++)
			for (int j = i + 1; j < 9; j++)
				if (m0[j] > m0[i])
				{
					double		x = m0[i];

					m0[i] = m0[j];
					m0[j] = x;
				}
		CHECK(t.metric[9] == m0[0] && t.metric[10] == m0[1] && t.metric[11] == m0[2]);
		CHECK(t.metric[12] == m0[0]);
	}
	best = rp_tune_best(&t);
	CHECK(best == 12);
	/* a failed trial (NaN) is never promoted nor chosen */
	CHECK(rp_tune_init(&t, space, 3, RP_TUNE_HALVING, 4, 0, 5, NULL, work, ws) == RP_OK);
	for (int i = 0; i < 3; i++)
	{
		id = rp_tune_next(&t, 0);
		rp_tune_report(&t, id, i == 1 ? NAN : (double) i);
	}
	id = rp_tune_next(&t, 0);
	CHECK(id == 3 && t.parent[3] == 2);
	CHECK(rp_tune_next(&t, 0) == -1);
	free(work);
}

/*
 * The start point (the defaults) stays chosen unless a trial beats it by
 * more than RP_TUNE_START_MARGIN of its metric; without a start point the
 * plain best wins.
 */
static void
test_start_margin(void)
{
	size_t		ws = rp_tune_workspace(3, 4);
	void	   *work = malloc(ws);
	rp_tuner	t;
	double		start[3] = {500, 20, 0};
	const double gains[2] = {0.004, 0.006};

	for (int g = 0; g < 2; g++)
	{
		int			id;

		CHECK(rp_tune_init(&t, space, 3, RP_TUNE_RANDOM, 4, 0, 9, start, work, ws) == RP_OK);
		while ((id = rp_tune_next(&t, 0)) >= 0)
			rp_tune_report(&t, id, id == 0 ? 0.5 : id == 2 ? 0.5 * (1.0 + gains[g]) : 0.4);
		CHECK(rp_tune_best(&t) == (g == 0 ? 0 : 2));
		/* a negated rmse: -1.0 against -0.996 is within the margin */
		CHECK(rp_tune_init(&t, space, 3, RP_TUNE_ADAPTIVE, 4, 0, 9, start, work, ws) == RP_OK);
		while ((id = rp_tune_next(&t, 0)) >= 0)
			rp_tune_report(&t, id, id == 0 ? -1.0 : id == 3 ? -1.0 + gains[g] : -2.0);
		CHECK(rp_tune_best(&t) == (g == 0 ? 0 : 3));
		CHECK(rp_tune_init(&t, space, 3, RP_TUNE_RANDOM, 4, 0, 9, NULL, work, ws) == RP_OK);
		while ((id = rp_tune_next(&t, 0)) >= 0)
			rp_tune_report(&t, id, id == 0 ? 0.5 : id == 2 ? 0.5 * (1.0 + gains[g]) : 0.4);
		CHECK(rp_tune_best(&t) == 2);
	}
	free(work);
}

static void
test_bad_space(void)
{
	rp_tune_param bad[] = {{"x", RP_TUNE_FLOAT, 0.0, 1.0, 1, 3}};
	size_t		ws = rp_tune_workspace(1, 5);
	void	   *work = malloc(ws);
	rp_tuner	t;

	CHECK(rp_tune_init(&t, bad, 1, RP_TUNE_RANDOM, 5, 0, 1, NULL, work, ws) == RP_EINVAL);
	bad[0].log_scale = 0;
	bad[0].lo = 2.0;
	CHECK(rp_tune_init(&t, bad, 1, RP_TUNE_RANDOM, 5, 0, 1, NULL, work, ws) == RP_EINVAL);
	bad[0].lo = 0.0;
	CHECK(rp_tune_init(&t, bad, 1, RP_TUNE_RANDOM, 0, 0, 1, NULL, work, ws) == RP_EINVAL);
	CHECK(rp_tune_init(&t, bad, 1, RP_TUNE_RANDOM, 5, 0, 1, NULL, work, ws - 1) == RP_EINVAL);
	CHECK(rp_tune_init(&t, bad, 1, RP_TUNE_RANDOM, 5, 0, 1, NULL, work, ws) == RP_OK);
	free(work);
}

int
main(void)
{
	RUN(test_split_time);
	RUN(test_split_disjoint);
	RUN(test_deterministic);
	RUN(test_budget);
	RUN(test_grid_exhaustive_and_best);
	RUN(test_halving);
	RUN(test_adaptive);
	RUN(test_start_margin);
	RUN(test_bad_space);
	UNIT_DONE();
}
