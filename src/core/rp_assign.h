/*
 * rp_assign.h
 *	  Offer assignment under a budget: at most one offer per customer,
 *	  per-offer count limits, maximising expected incremental profit.
 *
 * Candidates are (customer, offer, value, cost) rows: value is the expected
 * incremental value of sending that offer to that customer (uplift times
 * margin), cost its expected cost, and profit = value - cost.  Customers and
 * offers are dense indices 0..n_customers-1 and 0..n_offers-1.
 */
#ifndef RP_ASSIGN_H
#define RP_ASSIGN_H

#include "rp_core.h"

typedef struct rp_assign_result
{
	int64_t		assigned;		/* customers given an offer */
	double		spent;			/* total cost of the assignment */
	double		profit;			/* total profit of the assignment */
	double		upper_bound;	/* Lagrangian bound on the optimal profit */
} rp_assign_result;

/* Bytes of scratch space for rp_assign_order and rp_assign_run. */
extern size_t rp_assign_workspace(int64_t n_cand, int32_t n_customers,
								  int32_t n_offers);

/*
 * Ranks the candidates for the greedy: profitable ones (profit > 0) by
 * descending profit density profit / cost (cost 0 first), ties by larger
 * profit, then index.  order: n_cand out; *n_order receives how many are
 * profitable.  Values and costs must be finite with cost >= 0 (RP_EINVAL
 * otherwise).  work: rp_assign_workspace bytes.
 */
extern rp_status rp_assign_order(int64_t n_cand, const double *value,
								 const double *cost, int64_t *order,
								 int64_t *n_order, void *work);

/*
 * Greedy assignment for one budget (>= 0), in two passes:
 *  1. take candidates in `order` while the customer is free, the offer is
 *     under its limit and the budget allows;
 *  2. upgrades: for assigned customers, switch to a more profitable offer of
 *     theirs, best extra profit per extra cost first, when feasible.
 * limits: n_offers maximum counts, negative meaning unlimited, or NULL.
 * chosen: n_customers out, the candidate index given to each customer or -1.
 * with_bound: compute res->upper_bound (else it is set to NaN).
 * Deterministic.  The bound is min over lambda >= 0 of
 *     lambda B + sum_i max(0, max_k (profit_ik - lambda cost_ik)),
 * the Lagrangian dual of the budget constraint with the per-offer limits
 * dropped; it is an upper bound on the best feasible profit, so
 * upper_bound - profit bounds the greedy's gap.
 */
extern rp_status rp_assign_run(int64_t n_cand, const int32_t *customer,
							   const int32_t *offer, const double *value,
							   const double *cost, int32_t n_customers,
							   int32_t n_offers, const int64_t *limits,
							   double budget, const int64_t *order,
							   int64_t n_order, int with_bound,
							   int64_t *chosen, rp_assign_result *res,
							   void *work, const rp_cancel *cancel);

#endif							/* RP_ASSIGN_H */
