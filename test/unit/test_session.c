/*
 * test_session.c
 *	  rp_session: recency weights of an ordered session (repeats, unknown
 *	  items) and the V-SKNN scorer on a hand-computed example (sampling by
 *	  recency, neighbour cut, excluded session), plus the time-cut split of
 *	  rp_tune.
 */
#include "unit.h"
#include "rp_session.h"
#include "rp_tune.h"

#include <stdlib.h>
#include <string.h>

static void
test_weights(void)
{
	int32_t		seq[] = {4, -1, 2, 4, 7, 99};
	int32_t		idx[6];
	double		w[6];
	unsigned char work[10] = {0};
	int32_t		n;

	/* known: 4, 2, 4, 7 (L = 4); 4 keeps its latest position 3 */
	n = rp_session_weights(seq, 6, 10, idx, w, work);
	CHECK(n == 3);
	CHECK(idx[0] == 2 && idx[1] == 4 && idx[2] == 7);
	CHECK_NEAR(w[0], 2.0 / 4.0, 1e-15);
	CHECK_NEAR(w[1], 3.0 / 4.0, 1e-15);
	CHECK_NEAR(w[2], 1.0, 1e-15);
	for (int i = 0; i < 10; i++)
		CHECK(work[i] == 0);
	/* nothing known */
	CHECK(rp_session_weights(seq + 1, 1, 10, idx, w, work) == 0);
	CHECK(rp_session_weights(seq, 0, 10, idx, w, work) == 0);
}

/*
 * Sessions (items): S0 {0,1,2} t=1, S1 {0,3} t=2, S2 {2,4} t=3, S3 {1,2,5} t=4.
 * Current session [0, 2] (w: 0 -> 0.5, 2 -> 1).
 */
static int64_t s_ptr[] = {0, 3, 5, 7, 10};
static int32_t s_idx[] = {0, 1, 2, 0, 3, 2, 4, 1, 2, 5};
static double s_val[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static double s_time[] = {1, 2, 3, 4};

static void
score(int32_t exclude, int32_t sample, int32_t k, double *out)
{
	rp_csr		S = {4, 6, 10, s_ptr, s_idx, s_val};
	rp_csr		T;
	int64_t		tp[7];
	int32_t		ti[10];
	double		tv[10];
	int32_t		hist[] = {0, 2};
	double		w[] = {0.5, 1.0};
	void	   *work = calloc(1, rp_sknn_workspace(4));

	T.indptr = tp;
	T.indices = ti;
	T.values = tv;
	CHECK(rp_csr_transpose(&S, &T) == RP_OK);
	CHECK(rp_sknn_score(&S, &T, s_time, hist, w, 2, exclude, sample, k, out, work) == RP_OK);
	/* the workspace's similarities are all zero again */
	for (int s = 0; s < 4; s++)
		CHECK(((double *) work)[s] == 0.0);
	free(work);
}

static void
test_sknn(void)
{
	double		sc[6];

	/* sims: S0 1.5, S1 0.5, S2 1, S3 1 */
	score(-1, 100, 100, sc);
	CHECK_NEAR(sc[0], 2.0, 1e-15);	/* S0 + S1 */
	CHECK_NEAR(sc[1], 2.5, 1e-15);	/* S0 + S3 */
	CHECK_NEAR(sc[2], 3.5, 1e-15);	/* S0 + S2 + S3 */
	CHECK_NEAR(sc[3], 0.5, 1e-15);
	CHECK_NEAR(sc[4], 1.0, 1e-15);
	CHECK_NEAR(sc[5], 1.0, 1e-15);
	/* two neighbours: S0 (1.5), then S3 (1, more recent than S2) */
	score(-1, 100, 2, sc);
	CHECK_NEAR(sc[0], 1.5, 1e-15);
	CHECK_NEAR(sc[1], 2.5, 1e-15);
	CHECK(sc[3] == 0.0 && sc[4] == 0.0);
	CHECK_NEAR(sc[5], 1.0, 1e-15);
	/* sample of the 2 most recent candidates: S3, S2 */
	score(-1, 2, 100, sc);
	CHECK(sc[0] == 0.0 && sc[3] == 0.0);
	CHECK_NEAR(sc[2], 2.0, 1e-15);
	CHECK_NEAR(sc[4], 1.0, 1e-15);
	CHECK_NEAR(sc[5], 1.0, 1e-15);
	/* S0 excluded (the current session itself) */
	score(0, 100, 100, sc);
	CHECK_NEAR(sc[0], 0.5, 1e-15);
	CHECK_NEAR(sc[1], 1.0, 1e-15);
	CHECK_NEAR(sc[2], 2.0, 1e-15);
}

/* one workspace for many calls, a refused call included, gives the same scores */
static void
test_sknn_reuse(void)
{
	rp_csr		S = {4, 6, 10, s_ptr, s_idx, s_val};
	rp_csr		T;
	int64_t		tp[7];
	int32_t		ti[10];
	double		tv[10];
	int32_t		hist[] = {0, 2};
	int32_t		bad[] = {0, 9};
	double		w[] = {0.5, 1.0};
	double		a[6],
				b[6];
	void	   *work = calloc(1, rp_sknn_workspace(4));

	T.indptr = tp;
	T.indices = ti;
	T.values = tv;
	CHECK(rp_csr_transpose(&S, &T) == RP_OK);
	CHECK(rp_sknn_score(&S, &T, s_time, hist, w, 2, -1, 100, 100, a, work) == RP_OK);
	CHECK(rp_sknn_score(&S, &T, s_time, bad, w, 2, -1, 100, 100, b, work) == RP_EINVAL);
	CHECK(rp_sknn_score(&S, &T, s_time, hist, w, 1, -1, 100, 100, b, work) == RP_OK);
	CHECK(rp_sknn_score(&S, &T, s_time, hist, w, 2, -1, 100, 100, b, work) == RP_OK);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	CHECK(rp_sknn_score(&S, &T, s_time, hist, w, 2, -1, 0, 100, b, work) == RP_EINVAL);
	free(work);
}

static void
test_split_cut(void)
{
	/* 3 users: times 1..5 / 9 / 2, 8, 9, 10 */
	int64_t		ip[] = {0, 5, 6, 10};
	int32_t		ix[] = {0, 1, 2, 3, 4, 2, 0, 1, 5, 6};
	double		vx[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	double		t[] = {1, 2, 3, 4, 5, 9, 2, 8, 9, 10};
	rp_csr		R = {3, 7, 10, ip, ix, vx};
	unsigned char v[10];
	int64_t		nv;
	void	   *work = malloc(rp_tune_split_global_workspace(&R));

	/* cut: quantile 0.7 of 10 times = sorted[7] = 9 */
	CHECK(rp_tune_split_global(&R, t, 0.3, v, work, &nv) == RP_OK);
	CHECK(v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0 && v[4] == 0);
	CHECK(v[5] == 0);			/* a single item stays */
	CHECK(v[6] == 0 && v[7] == 0 && v[8] == 1 && v[9] == 1);
	CHECK(nv == 2);
	/* everything after the cut: the earliest item stays in training */
	/* user 2 wholly at or after the cut (9.5): its earliest entry (ties: lower position) stays */
	t[6] = 9.5;
	t[7] = 9.5;
	t[8] = 9.5;
	CHECK(rp_tune_split_global(&R, t, 0.3, v, work, &nv) == RP_OK);
	CHECK(v[6] == 0 && v[7] == 1 && v[8] == 1 && v[9] == 1);
	CHECK(nv == 3);
	CHECK(rp_tune_split_global(&R, NULL, 0.3, v, work, &nv) == RP_EINVAL);
	free(work);
}

int
main(void)
{
	RUN(test_weights);
	RUN(test_sknn);
	RUN(test_sknn_reuse);
	RUN(test_split_cut);
	UNIT_DONE();
}
