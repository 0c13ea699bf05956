/*
 * rp_assign.c
 *	  Greedy offer assignment with an upgrade pass and a Lagrangian bound
 *	  (contracts in rp_assign.h).
 *
 * The problem is a multiple-choice knapsack (one item per customer class,
 * one knapsack: the budget) with extra cardinality limits per offer, which is
 * NP-hard; exact solvers do not scale to millions of candidates.  The greedy
 * follows the classic LP-relaxation heuristic for the multiple-choice
 * knapsack (Sinha & Zoltners, "The multiple-choice knapsack problem",
 * Operations Research 27(3), 1979): take items by profit per unit of cost,
 * then spend what is left on upgrades ordered by incremental profit per
 * incremental cost.  Its quality is reported rather than assumed: the
 * Lagrangian relaxation of the budget (Fisher, "The Lagrangian relaxation
 * method for solving integer programming problems", Management Science
 * 27(1), 1981) gives, for any lambda >= 0,
 *     UB(lambda) = lambda B + sum_i max(0, max_k (p_ik - lambda c_ik)),
 * a convex piecewise-linear function of lambda whose minimum, found here by
 * golden-section search, bounds the optimum from above.  With ample budget
 * both meet (every customer gets their most profitable offer).
 *
 * Sorting uses qsort on (key, index) records, so ties resolve by index and
 * the result is deterministic.  Costs must be >= 0; a candidate with cost 0
 * and positive profit ranks first (infinite density).
 */
#include "rp_assign.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct as_key
{
	double		density;
	double		profit;
	int64_t		i;
} as_key;

static int
as_key_cmp(const void *a, const void *b)
{
	const as_key *x = a;
	const as_key *y = b;

	if (x->density != y->density)
		return x->density > y->density ? -1 : 1;
	if (x->profit != y->profit)
		return x->profit > y->profit ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

size_t
rp_assign_workspace(int64_t n_cand, int32_t n_customers, int32_t n_offers)
{
	return sizeof(as_key) * (size_t) (n_cand > 0 ? n_cand : 1) +
		sizeof(int64_t) * (size_t) n_offers +
		sizeof(double) * (size_t) n_customers;
}

static double
density_of(double profit, double cost)
{
	return cost > 0 ? profit / cost : INFINITY;
}

rp_status
rp_assign_order(int64_t n_cand, const double *value, const double *cost,
				int64_t *order, int64_t *n_order, void *work)
{
	as_key	   *k = work;
	int64_t		m = 0;

	for (int64_t i = 0; i < n_cand; i++)
	{
		double		p;

		if (!rp_finite(value[i]) || !rp_finite(cost[i]) || cost[i] < 0)
			return RP_EINVAL;
		p = value[i] - cost[i];
		if (p <= 0)
			continue;
		k[m].density = density_of(p, cost[i]);
		k[m].profit = p;
		k[m].i = i;
		m++;
	}
	qsort(k, (size_t) m, sizeof(as_key), as_key_cmp);
	for (int64_t j = 0; j < m; j++)
		order[j] = k[j].i;
	*n_order = m;
	return RP_OK;
}

/* Lagrangian function UB(lambda); best[] (n_customers) is scratch. */
static double
dual_value(int64_t n_cand, const int32_t *customer, const double *value,
		   const double *cost, int32_t n_customers, double budget,
		   double lambda, double *best)
{
	double		s = lambda * budget;

	for (int32_t c = 0; c < n_customers; c++)
		best[c] = 0.0;
	for (int64_t i = 0; i < n_cand; i++)
	{
		double		t = value[i] - cost[i] - lambda * cost[i];

		if (t > best[customer[i]])
			best[customer[i]] = t;
	}
	for (int32_t c = 0; c < n_customers; c++)
		s += best[c];
	return s;
}

static double
lagrangian_bound(int64_t n_cand, const int32_t *customer, const double *value,
				 const double *cost, int32_t n_customers, double budget,
				 double *best)
{
	const double gr = 0.6180339887498949;
	double		hi = 0.0;
	double		a, b, x1, x2, f1, f2, fbest;

	/* beyond the largest density every term is 0 except free offers */
	for (int64_t i = 0; i < n_cand; i++)
		if (cost[i] > 0 && (value[i] - cost[i]) / cost[i] > hi)
			hi = (value[i] - cost[i]) / cost[i];
	a = 0.0;
	b = hi;
	fbest = dual_value(n_cand, customer, value, cost, n_customers, budget, 0.0, best);
	f1 = dual_value(n_cand, customer, value, cost, n_customers, budget, b, best);
	if (f1 < fbest)
		fbest = f1;
	x1 = b - gr * (b - a);
	x2 = a + gr * (b - a);
	f1 = dual_value(n_cand, customer, value, cost, n_customers, budget, x1, best);
	f2 = dual_value(n_cand, customer, value, cost, n_customers, budget, x2, best);
	for (int it = 0; it < 80 && b - a > 1e-12 * (1 + hi); it++)
	{
		if (f1 <= f2)
		{
			b = x2;
			x2 = x1;
			f2 = f1;
			x1 = b - gr * (b - a);
			f1 = dual_value(n_cand, customer, value, cost, n_customers, budget, x1, best);
		}
		else
		{
			a = x1;
			x1 = x2;
			f1 = f2;
			x2 = a + gr * (b - a);
			f2 = dual_value(n_cand, customer, value, cost, n_customers, budget, x2, best);
		}
	}
	if (f1 < fbest)
		fbest = f1;
	if (f2 < fbest)
		fbest = f2;
	return fbest;
}

rp_status
rp_assign_run(int64_t n_cand, const int32_t *customer, const int32_t *offer,
			  const double *value, const double *cost, int32_t n_customers,
			  int32_t n_offers, const int64_t *limits, double budget,
			  const int64_t *order, int64_t n_order, int with_bound,
			  int64_t *chosen, rp_assign_result *res, void *work,
			  const rp_cancel *cancel)
{
	as_key	   *up = work;
	int64_t    *count = (int64_t *) (up + (n_cand > 0 ? n_cand : 1));
	double	   *best = (double *) (count + n_offers);
	double		spent = 0.0;
	int64_t		m = 0;

	if (n_cand < 0 || n_customers < 0 || n_offers < 0 || !(budget >= 0))
		return RP_EINVAL;
	for (int32_t c = 0; c < n_customers; c++)
		chosen[c] = -1;
	memset(count, 0, sizeof(int64_t) * n_offers);

	/* pass 1: by density */
	for (int64_t r = 0; r < n_order; r++)
	{
		int64_t		i = order[r];
		int32_t		o = offer[i];

		if ((r & 65535) == 0 && rp_should_stop(cancel))
			return RP_ECANCELED;
		if (chosen[customer[i]] >= 0)
			continue;
		if (limits && limits[o] >= 0 && count[o] >= limits[o])
			continue;
		if (spent + cost[i] > budget)
			continue;
		chosen[customer[i]] = i;
		count[o]++;
		spent += cost[i];
	}

	/* pass 2: upgrades by incremental density */
	for (int64_t i = 0; i < n_cand; i++)
	{
		int64_t		cur = chosen[customer[i]];
		double		dp, dc;

		if (cur < 0 || cur == i)
			continue;
		dp = (value[i] - cost[i]) - (value[cur] - cost[cur]);
		if (dp <= 0)
			continue;
		dc = cost[i] - cost[cur];
		up[m].density = density_of(dp, dc);
		up[m].profit = dp;
		up[m].i = i;
		m++;
	}
	qsort(up, (size_t) m, sizeof(as_key), as_key_cmp);
	for (int64_t r = 0; r < m; r++)
	{
		int64_t		i = up[r].i;
		int64_t		cur = chosen[customer[i]];
		int32_t		o = offer[i];
		double		dp = (value[i] - cost[i]) - (value[cur] - cost[cur]);
		double		dc = cost[i] - cost[cur];

		if ((r & 65535) == 0 && rp_should_stop(cancel))
			return RP_ECANCELED;
		/* the customer may have been upgraded already: recheck */
		if (dp <= 0 || spent + dc > budget)
			continue;
		if (o != offer[cur] && limits && limits[o] >= 0 && count[o] >= limits[o])
			continue;
		count[offer[cur]]--;
		count[o]++;
		chosen[customer[i]] = i;
		spent += dc;
	}

	res->assigned = 0;
	res->profit = 0.0;
	res->spent = 0.0;
	for (int32_t c = 0; c < n_customers; c++)
	{
		int64_t		i = chosen[c];

		if (i < 0)
			continue;
		res->assigned++;
		res->profit += value[i] - cost[i];
		res->spent += cost[i];
	}
	res->upper_bound = with_bound ?
		lagrangian_bound(n_cand, customer, value, cost, n_customers, budget, best) : NAN;
	return RP_OK;
}
