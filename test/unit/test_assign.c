/*
 * test_assign.c
 *	  Greedy offer assignment on a hand example and against brute-force
 *	  enumeration: feasible, within the Lagrangian bound, and the bound is
 *	  never below the true optimum.
 */
#include "unit.h"
#include "rp_assign.h"

#include <stdlib.h>
#include <string.h>

static void
test_hand(void)
{
	/* customers 0,1,2; offers 0 (cheap), 1 (rich) */
	int32_t		cust[5] = {0, 0, 1, 1, 2};
	int32_t		off[5] = {0, 1, 0, 1, 0};
	double		val[5] = {3, 10, 2, 4, 0.5};
	double		cost[5] = {1, 5, 1, 5, 1};
	int64_t		order[5], n_order, chosen[3];
	char		work[4096];
	rp_assign_result r;

	CHECK(rp_assign_order(5, val, cost, order, &n_order, work) == RP_OK);
	/* profitable: c0o0 (2, dens 2), c0o1 (5, dens 1), c1o0 (1, dens 1) */
	CHECK(n_order == 3);
	CHECK(order[0] == 0 && order[1] == 1 && order[2] == 2);
	/* budget 2: c0 gets o0, c1 gets o0: profit 3 */
	CHECK(rp_assign_run(5, cust, off, val, cost, 3, 2, NULL, 2, order, n_order, 1, chosen, &r, work, NULL) == RP_OK);
	CHECK(chosen[0] == 0 && chosen[1] == 2 && chosen[2] == -1);
	CHECK_NEAR(r.profit, 3, 1e-15);
	CHECK_NEAR(r.spent, 2, 1e-15);
	CHECK(r.upper_bound >= 3 - 1e-12);
	/* budget 6: upgrade c0 to o1 (extra 3 for extra 4): profit 6 */
	CHECK(rp_assign_run(5, cust, off, val, cost, 3, 2, NULL, 6, order, n_order, 1, chosen, &r, work, NULL) == RP_OK);
	CHECK(chosen[0] == 1 && chosen[1] == 2);
	CHECK_NEAR(r.profit, 6, 1e-15);
	CHECK_NEAR(r.upper_bound, 6, 1e-9);
	/* limit offer 0 to one customer at budget 2 */
	{
		int64_t		lim[2] = {1, -1};

		CHECK(rp_assign_run(5, cust, off, val, cost, 3, 2, lim, 2, order, n_order, 0, chosen, &r, work, NULL) == RP_OK);
		CHECK(chosen[0] == 0 && chosen[1] == -1);
		CHECK_NEAR(r.profit, 2, 1e-15);
	}
	/* budget 0: nothing */
	CHECK(rp_assign_run(5, cust, off, val, cost, 3, 2, NULL, 0, order, n_order, 1, chosen, &r, work, NULL) == RP_OK);
	CHECK(r.assigned == 0);
	CHECK(rp_assign_run(5, cust, off, val, cost, 3, 2, NULL, -1, order, n_order, 1, chosen, &r, work, NULL) == RP_EINVAL);
	cost[0] = -1;
	CHECK(rp_assign_order(5, val, cost, order, &n_order, work) == RP_EINVAL);
}

/* brute force over (offers+1)^customers choices */
static double
brute(int nc, int no, const double *val, const double *cost, double budget)
{
	int			total = 1;
	double		best = 0;

	for (int c = 0; c < nc; c++)
		total *= no + 1;
	for (int code = 0; code < total; code++)
	{
		int			x = code;
		double		p = 0, s = 0;

		for (int c = 0; c < nc; c++, x /= no + 1)
		{
			int			o = x % (no + 1);

			if (o == no)
				continue;
			p += val[c * no + o] - cost[c * no + o];
			s += cost[c * no + o];
		}
		if (s <= budget && p > best)
			best = p;
	}
	return best;
}

static void
test_random_vs_brute(void)
{
	enum
	{
	NC = 6, NO = 3};
	int32_t		cust[NC * NO], off[NC * NO];
	double		val[NC * NO], cost[NC * NO];
	int64_t		order[NC * NO], n_order, chosen[NC];
	char		work[8192];
	uint64_t	g = 3;
	double		worst = 1;

	for (int trial = 0; trial < 200; trial++)
	{
		double		budget, opt;
		rp_assign_result r;

		for (int c = 0; c < NC; c++)
			for (int o = 0; o < NO; o++)
			{
				int			i = c * NO + o;

				cust[i] = c;
				off[i] = o;
				g = g * 6364136223846793005ULL + 1442695040888963407ULL;
				cost[i] = 1 + (double) ((g >> 33) % 5);
				g = g * 6364136223846793005ULL + 1442695040888963407ULL;
				val[i] = (double) ((g >> 33) % 10);
			}
		budget = (double) (trial % 15);
		CHECK(rp_assign_order(NC * NO, val, cost, order, &n_order, work) == RP_OK);
		CHECK(rp_assign_run(NC * NO, cust, off, val, cost, NC, NO, NULL, budget, order, n_order, 1, chosen, &r, work, NULL) == RP_OK);
		opt = brute(NC, NO, val, cost, budget);
		CHECK(r.spent <= budget + 1e-12);
		CHECK(r.profit <= opt + 1e-9);
		CHECK(r.upper_bound >= opt - 1e-6);
		if (opt > 0 && r.profit / opt < worst)
			worst = r.profit / opt;
	}
	printf("greedy / optimum, worst of 200 random cases: %.3f\n", worst);
	CHECK(worst > 0.5);
}

int
main(void)
{
	RUN(test_hand);
	RUN(test_random_vs_brute);
	UNIT_DONE();
}
