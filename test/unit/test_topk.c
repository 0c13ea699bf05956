/*
 * test_topk.c
 *	  rp_topk against a naive full sort, with exclusions and ties.
 */
#include "unit.h"
#include "rp_topk.h"

#include <stdlib.h>

static double *g_scores;

static int
naive_cmp(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	if (g_scores[x] != g_scores[y])
		return g_scores[x] > g_scores[y] ? -1 : 1;
	return (x > y) - (x < y);
}

static void
test_against_sort(void)
{
	enum
	{
	N = 2000};
	double		sc[N];
	unsigned char allowed[N];
	int32_t		order[N];
	int32_t		idx[N];
	double		out[N];
	unsigned	s = 7;

	for (int i = 0; i < N; i++)
	{
		s = s * 1664525u + 1013904223u;
		sc[i] = (double) ((s >> 16) % 50);	/* many ties */
		allowed[i] = (s >> 5) % 3 != 0;
		if (i % 17 == 0)
			sc[i] = -INFINITY;
	}
	g_scores = sc;
	for (int k = 0; k <= N + 5; k += (k < 20 ? 1 : 397))
	{
		int32_t		m = 0;
		int32_t		got = rp_topk(sc, N, allowed, k, idx, out);

		for (int i = 0; i < N; i++)
			if (allowed[i] && sc[i] != -INFINITY)
				order[m++] = i;
		qsort(order, m, sizeof(int32_t), naive_cmp);
		CHECK(got == (k < m ? k : m));
		for (int i = 0; i < got; i++)
		{
			CHECK(idx[i] == order[i]);
			CHECK(out[i] == sc[order[i]]);
		}
	}
}

static void
test_subset(void)
{
	double		sc[6] = {1, 5, 3, 5, -INFINITY, 2};
	int32_t		cand[4] = {5, 3, 4, 1};
	int32_t		idx[4];
	double		out[4];

	CHECK(rp_topk_subset(sc, cand, 4, 10, idx, out) == 3);
	CHECK(idx[0] == 1 && idx[1] == 3 && idx[2] == 5);
	CHECK(rp_topk_subset(sc, cand, 4, 0, idx, out) == 0);
}

int
main(void)
{
	RUN(test_against_sort);
	RUN(test_subset);
	UNIT_DONE();
}
