/*
 * test_fair.c
 *	  Exposure measures and the greedy re-ranker of rp_fair.c against hand
 *	  computed values: Gini of small vectors, the popularity head with ties,
 *	  the plain order without options, MMR on a 4-item similarity matrix,
 *	  calibration towards a category mix, the cap's list length and the
 *	  minimum share in every prefix, and bad arguments.
 */
#include "unit.h"
#include "rp_fair.h"

#include <string.h>

#define TOL 1e-12

static void
test_gini(void)
{
	double		x1[4] = {2, 1, 1, 0};
	double		x2[3] = {5, 5, 5};
	double		x3[4] = {0, 0, 0, 8};
	double		z[4] = {0, 0, 0, 0};
	double		neg[2] = {1, -1};
	double		s[4];
	double		g = -1;

	CHECK(rp_gini(4, x1, s, &g) == RP_OK);
	CHECK_NEAR(g, 0.375, TOL);	/* (-3*0 - 1 + 1 + 3*2) / (4 * 4) */
	CHECK(rp_gini(3, x2, s, &g) == RP_OK);
	CHECK_NEAR(g, 0.0, TOL);
	CHECK(rp_gini(4, x3, s, &g) == RP_OK);
	CHECK_NEAR(g, 0.75, TOL);	/* (n - 1) / n */
	CHECK(rp_gini(4, z, s, &g) == RP_OK);
	CHECK_NEAR(g, 0.0, TOL);
	CHECK(rp_gini(2, neg, s, &g) == RP_ENUMERIC);
	CHECK(rp_gini(0, x1, s, &g) == RP_EINVAL);
}

static void
test_head(void)
{
	double		pop[6] = {3, 9, 3, 1, 9, 0};
	int32_t		order[6];
	unsigned char head[6];

	/* ceil(0.2 * 6) = 2: items 1 and 4 (9 each) */
	CHECK(rp_popularity_head(6, pop, 0.2, order, head) == RP_OK);
	CHECK(head[1] && head[4] && !head[0] && !head[2] && !head[3] && !head[5]);
	/* ceil(0.5 * 6) = 3: the tie between items 0 and 2 goes to item 0 */
	CHECK(rp_popularity_head(6, pop, 0.5, order, head) == RP_OK);
	CHECK(head[0] && !head[2]);
	CHECK(rp_popularity_head(6, pop, 0.0, order, head) == RP_OK);
	CHECK(!head[0] && !head[1] && !head[4]);
	CHECK(rp_popularity_head(6, pop, 1.5, order, head) == RP_EINVAL);
}

/* similarities of 4 items: 0 and 1 near-duplicates, 2 and 3 apart */
static const double SIM[4][4] = {
	{1.0, 0.9, 0.1, 0.0},
	{0.9, 1.0, 0.2, 0.0},
	{0.1, 0.2, 1.0, 0.3},
	{0.0, 0.0, 0.3, 1.0},
};

static void
sim_row(void *arg, int32_t item, double *row)
{
	(void) arg;
	memcpy(row, SIM[item], 4 * sizeof(double));
}

static int32_t
run(rp_rerank_input *in, int32_t n, int32_t *pos)
{
	char		work[4096];
	int32_t		count = -1;

	CHECK(rp_rerank_workspace_size(in) <= sizeof(work));
	CHECK(rp_rerank_greedy(in, n, work, sizeof(work), pos, &count) == RP_OK);
	return count;
}

static void
base(rp_rerank_input *in, const int32_t *cand, const double *score)
{
	memset(in, 0, sizeof(*in));
	in->n_items = 4;
	in->n_cand = 4;
	in->cand = cand;
	in->score = score;
}

static void
test_plain_and_mmr(void)
{
	int32_t		cand[4] = {0, 1, 2, 3};
	double		score[4] = {1.0, 0.9, 0.5, 0.0};
	int32_t		pos[4];
	rp_rerank_input in;

	base(&in, cand, score);
	CHECK(run(&in, 4, pos) == 4);
	CHECK(pos[0] == 0 && pos[1] == 1 && pos[2] == 2 && pos[3] == 3);

	/*
	 * lambda 0.5, rel = (1, 0.9, 0.5, 0): first 0; then 1: 0.45 - 0.45 = 0,
	 * 2: 0.25 - 0.05 = 0.2, 3: 0 - 0 = 0 -> 2; then maxsim = (.., 1: 0.9,
	 * 3: 0.3): 1: 0.45 - 0.45 = 0, 3: -0.15 -> 1; then 3.
	 */
	in.diversity = 0.5;
	in.sim = sim_row;
	CHECK(run(&in, 4, pos) == 4);
	CHECK(pos[0] == 0 && pos[1] == 2 && pos[2] == 1 && pos[3] == 3);
	/* n below the candidates */
	CHECK(run(&in, 2, pos) == 2);
	CHECK(pos[0] == 0 && pos[1] == 2);
	/* a callback is required */
	in.sim = NULL;
	{
		char		work[4096];
		int32_t		count;

		CHECK(rp_rerank_greedy(&in, 4, work, sizeof(work), pos, &count) == RP_EINVAL);
	}
}

static void
test_calibration(void)
{
	/* items 0, 1 in category 0, items 2, 3 in category 1; p = (0.5, 0.5) */
	int32_t		cand[4] = {0, 1, 2, 3};
	double		score[4] = {1.0, 0.9, 0.8, 0.0};
	int32_t		cat[4] = {0, 0, 1, 1};
	double		p[2] = {0.5, 0.5};
	int32_t		pos[4];
	rp_rerank_input in;

	base(&in, cand, score);
	in.cat = cat;
	in.ncat = 2;
	in.target = p;
	in.calibration = 0.9;
	/* after 0 (cat 0), a cat-1 item halves the KL: 2 before 1 */
	CHECK(run(&in, 4, pos) == 4);
	CHECK(pos[0] == 0 && pos[1] == 2);
	/* calibration 0: score order */
	in.calibration = 0.0;
	CHECK(run(&in, 4, pos) == 4);
	CHECK(pos[1] == 1);
	/* weights above 1 together */
	in.calibration = 0.7;
	in.diversity = 0.7;
	in.sim = sim_row;
	{
		char		work[4096];
		int32_t		count;

		CHECK(rp_rerank_greedy(&in, 4, work, sizeof(work), pos, &count) == RP_EINVAL);
	}
}

static void
test_cap_and_share(void)
{
	int32_t		cand[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	double		score[8] = {8, 7, 6, 5, 4, 3, 2, 1};
	int32_t		cat[8] = {0, 0, 0, 0, 1, 1, -1, 1};
	unsigned char group[8] = {0, 0, 0, 0, 0, 0, 1, 1};
	int32_t		pos[8];
	rp_rerank_input in;
	int32_t		k,
				got = 0;

	memset(&in, 0, sizeof(in));
	in.n_items = 8;
	in.n_cand = 8;
	in.cand = cand;
	in.score = score;
	in.cat = cat;
	in.ncat = 2;
	in.cap = 1;
	/* cap 1: one of category 0, one of category 1, the uncategorised item */
	k = run(&in, 8, pos);
	CHECK(k == 3);
	CHECK(pos[0] == 0 && pos[1] == 4 && pos[2] == 6);

	/* no cap, share 0.5 of 4: prefixes floor(0.5 p) = 0, 1, 1, 2 */
	in.cap = 0;
	in.min_share = 0.5;
	in.group = group;
	k = run(&in, 4, pos);
	CHECK(k == 4);
	for (int32_t r = 0; r < k; r++)
	{
		got += group[cand[pos[r]]];
		CHECK(got >= (int32_t) floor(0.5 * (r + 1) + 1e-9));
	}
	CHECK(got == 2);
	CHECK(pos[0] == 0 && pos[1] == 6 && pos[2] == 1 && pos[3] == 7);

	/* a group too small: the list is still full */
	group[6] = 0;
	k = run(&in, 6, pos);
	CHECK(k == 6);
	CHECK(in.min_share == 0.5);
	in.min_share = 1.5;
	{
		char		work[4096];
		int32_t		count;

		CHECK(rp_rerank_greedy(&in, 4, work, sizeof(work), pos, &count) == RP_EINVAL);
	}
}

int
main(void)
{
	RUN(test_gini);
	RUN(test_head);
	RUN(test_plain_and_mmr);
	RUN(test_calibration);
	RUN(test_cap_and_share);
	UNIT_DONE();
}
