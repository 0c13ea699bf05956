/*
 * rp_slist.h
 *	  SLIST: the session-aware linear item-item model of Choi, Kim, Lee,
 *	  Shim and Lee ("Session-aware Linear Item-Item Models for
 *	  Session-based Recommendation", WWW '21, arXiv:2103.16104).
 *
 * Sessions are sequences of events (item, time), in time order.  Events
 * with equal times form one step (the lines of an invoice); on click
 * streams every event is its own step.  Two linear models share one item
 * x item matrix B:
 *
 *	- the session-level model (SLIS): X, sessions x items, 1 where the
 *	  session holds the item, reproduced as X B (EASE's objective);
 *	- the transition model (SLIT): for every step t of a session but the
 *	  last, a partial session with a source row S_t (the items of steps
 *	  k <= t, weighing exp(-(t - k) / pos_decay)) and a target row T_t (the
 *	  items of steps k > t, weighing exp(-(k - t) / pos_decay)), T predicted
 *	  as S B; an item met at several steps keeps its largest weight, and
 *	  steps farther than D = floor(pos_decay * ln 10^6) (weights below
 *	  1e-6) are left out.
 *
 * Every row of a session s counts with the session's weight
 * w_s = exp(-(t_max - t_s) / time_decay) (t_s: its last event, t_max: the
 * latest of all; time_decay = 0: every w_s = 1), the squared error of the
 * row multiplied by w_s.  B minimises
 *
 *	alpha |W^1/2 (X - X B)|^2 + (1 - alpha) |W^1/2 (T - S B)|^2 + lambda |B|^2
 *
 * in closed form, with one n x n inverse as EASE:
 *
 *	P = (alpha X'WX + (1 - alpha) S'WS + lambda I)^-1
 *	B = P (alpha X'WX + (1 - alpha) S'WT)	 (= I - lambda P - (1 - alpha) P S'W(S - T))
 *
 * Unlike EASE the diagonal is free: B_jj > 0 recommends an item again (a
 * repeat purchase), which the paper allows.  With max_diagonal = xi the
 * diagonal is bounded, diag(B) <= xi, as in the paper's SLIS; the bound
 * enters through Lagrange multipliers, B = P (C - diag(mu)) with
 * mu_j = max(0, ((P C)_jj - xi) / P_jj) (C the right-hand side above);
 * alpha = 1 and xi = 0 is EASE on binary X.
 *
 * Scoring, as EASE: score(j) = sum over the session's items i of
 * w_i B_ij, the w_i the recency weights of the current session.
 *
 * Memory: B and the right-hand side C, n x n doubles each, and a block of
 * RP_SLIST_BLOCK rows (rp_slist_memory_bytes); time: the Gram sums (sum
 * over partial sessions of (source items) x (source + target items)),
 * then n^3 for the Cholesky inverse and n^3 for the product P C.
 */
#ifndef RP_SLIST_H
#define RP_SLIST_H

#include <stdbool.h>

#include "rp_core.h"
#include "rp_csr.h"

/* Rows of P C computed at once (the block buffer of the product). */
#define RP_SLIST_BLOCK 256

typedef struct rp_slist_params
{
	double		alpha;			/* [0, 1]: weight of the session-level model */
	double		lambda;			/* > 0 */
	double		pos_decay;		/* > 0, in steps */
	double		time_decay;		/* 0 (off) or > 0, in the unit of the times */
	bool		bound_diagonal; /* apply max_diagonal */
	double		max_diagonal;	/* xi, finite */
} rp_slist_params;

/*
 * Bytes rp_slist_fit needs: B (n x n doubles) plus rp_slist_work_bytes.
 */
extern double rp_slist_memory_bytes(int32_t n_items, int64_t max_events);

/*
 * Bytes of the workspace `work` of rp_slist_fit for n items and sessions
 * of at most max_events events: C (n x n doubles), the block of the
 * product, per-item scratch and the step offsets of one session.
 */
extern size_t rp_slist_work_bytes(int32_t n_items, int64_t max_events);

/*
 * Checks the sessions: seq is sessions x items, row s listing session s's
 * events (indices: items in [0, n_items); values: finite times, not
 * decreasing along the row).  RP_EINVAL when not.
 */
extern rp_status rp_slist_check(const rp_csr *seq);

/*
 * Fits SLIST.
 *
 * seq: the sessions as above (checked here).  p: the hyper-parameters
 *   (RP_EINVAL out of range).
 * B: n_items * n_items doubles, caller-owned, row-major; on return
 *   B[i * n + j] is the weight of a session item i towards item j.
 * work: rp_slist_work_bytes(n, longest row of seq) bytes, caller-owned.
 * cancel: polled every 64 sessions and between the blocks of the
 *   product.
 * Returns RP_EINVAL (bad input), RP_ELIMIT (n beyond LAPACK's int
 *   range), RP_ENUMERIC (a matrix that is not positive definite, or a
 *   non-finite result), RP_ECANCELED.  Deterministic: sums run in
 *   session order.  OpenBLAS may use its own threads inside.
 */
extern rp_status rp_slist_fit(const rp_csr *seq, const rp_slist_params *p, double *B,
							  void *work, const rp_cancel *cancel);

/*
 * scores[j] = sum over h of w[h] * B[hist[h] * n + j] (scores: n entries,
 * overwritten; indices out of range skipped).
 */
extern void rp_slist_score(const double *B, int32_t n, const int32_t *hist, const double *w,
						   int32_t nhist, double *scores);

#endif							/* RP_SLIST_H */
