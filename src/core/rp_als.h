/*
 * rp_als.h
 *	  Alternating least squares matrix factorisation: implicit feedback
 *	  (Hu, Koren and Volinsky 2008) and explicit ratings with biases
 *	  (Zhou et al. 2008), solved per row by Cholesky or conjugate gradient
 *	  (Takacs, Pilaszy and Tikk 2011).  See rp_als.c for the algorithm.
 *
 * Contract shared by every function here:
 *	- Matrices are row-major doubles.  The interactions come twice, as the
 *	  users x items CSR `ui` and its transpose `iu` (rp_csr_transpose), so
 *	  that both half-steps read rows.
 *	- The caller owns every buffer.  Training scratch is one block of
 *	  rp_als_workspace_size() bytes (LAPACK-style query); worker threads
 *	  write only into it and into the factor rows they own, never allocate.
 *	- Results do not depend on the thread count: every row is solved from
 *	  fixed inputs by single-threaded code, and every sum over rows is
 *	  reduced on the calling thread in row order.  OpenBLAS must run
 *	  single-threaded (openblas_set_num_threads(1)); the core never nests its
 *	  threads inside BLAS threads.
 *	- Functions return RP_OK, RP_EINVAL (bad argument), RP_ELIMIT (sizes
 *	  beyond int32 or RP_ALS_MAX_FACTORS), RP_ENUMERIC (NaN/Inf input, or a
 *	  system that could not be solved / non-finite factors) or RP_ECANCELED.
 *
 * Model layout.  Implicit: user row u is x_u (k values), item row i is y_i;
 * the score is x_u . y_i.  Explicit: rows are dim = k + 2 wide,
 *	  user row  [x_u (k), b_u, 1]		item row  [y_i (k), 1, c_i]
 * so that x_u . y_i over all dim columns is x_u.y_i + b_u + c_i and the
 * predicted rating is global_mean + that dot product: serving code needs
 * only one dot product per (user, item), whatever the method.
 */
#ifndef RP_ALS_H
#define RP_ALS_H

#include "rp_core.h"
#include "rp_csr.h"

#define RP_ALS_MAX_FACTORS 1024

typedef enum rp_als_method
{
	RP_ALS_IMPLICIT = 0,		/* confidence-weighted, all cells observed */
	RP_ALS_EXPLICIT = 1			/* observed ratings only, with biases */
} rp_als_method;

typedef enum rp_als_solver
{
	RP_ALS_CG = 0,				/* cg_steps conjugate-gradient steps, warm start */
	RP_ALS_CHOLESKY = 1			/* exact solve, LAPACK dposv */
} rp_als_solver;

typedef struct rp_als_params
{
	rp_als_method method;
	rp_als_solver solver;
	int32_t		factors;		/* k, 1 .. RP_ALS_MAX_FACTORS */
	double		regularization;	/* lambda >= 0 (explicit: > 0) */
	double		alpha;			/* implicit confidence 1 + alpha * r, >= 0 */
	int32_t		cg_steps;		/* CG steps per row and half-step, >= 1 */
	int			threads;		/* worker threads, 1 .. RP_MAX_THREADS */
	int			compute_loss;	/* 0: skip the loss (reported as NaN) */
} rp_als_params;

typedef struct rp_als_model
{
	int32_t		n_users;
	int32_t		n_items;
	int32_t		factors;		/* k */
	int32_t		dim;			/* row width: k (implicit) or k + 2 */
	double		global_mean;	/* explicit: mean observed rating; else 0 */
	double	   *user_factors;	/* n_users x dim, caller-allocated */
	double	   *item_factors;	/* n_items x dim, caller-allocated */
} rp_als_model;

/* Row width of the factor matrices for these parameters (k or k + 2). */
extern int32_t rp_als_dim(const rp_als_params *p);

/*
 * Checks parameters, shapes and values before training.
 *	ui: users x items; iu: its transpose (same nnz, swapped shape).
 * Returns RP_EINVAL for a bad parameter or mismatched shapes, RP_ELIMIT for
 * factors over RP_ALS_MAX_FACTORS or sizes that overflow, RP_ENUMERIC for a
 * NaN or infinite value, and RP_EINVAL for a negative value with implicit
 * feedback (confidence must be at least 1).
 */
extern rp_status rp_als_check(const rp_als_params *p, const rp_csr *ui,
							  const rp_csr *iu);

/*
 * Bytes of scratch rp_als_iterate() needs for these sizes and p->threads;
 * 0 when the size does not fit in size_t.  The block is used from any
 * 64-byte boundary inside it (alignment is handled internally).
 */
extern size_t rp_als_workspace_size(const rp_als_params *p, int32_t n_users,
									int32_t n_items);

/*
 * Sets m's sizes and global mean, and fills the factors from `seed`:
 * every free entry (x, y and nothing else) is 0.01 * N(0, 1) drawn with
 * rp_rng (rp_rng.h) seeded with `seed`, users first then items, each
 * row-major; explicit biases start at 0 and the constant columns at 1.
 * m->user_factors / item_factors must already point at n_users x dim and
 * n_items x dim doubles.  Call rp_als_check() first.
 */
extern rp_status rp_als_init(const rp_als_params *p, const rp_csr *ui,
							 uint64_t seed, rp_als_model *m);

/*
 * Like rp_als_init() but keeps the factors the caller wrote (the reference
 * test starts C and numpy from the same matrices): sets sizes and the
 * global mean and rewrites only the explicit constant-1 columns.
 */
extern rp_status rp_als_init_given(const rp_als_params *p, const rp_csr *ui,
								   rp_als_model *m);

/*
 * One ALS iteration: solve every user row with the items fixed, then every
 * item row with the users fixed.  *loss receives the objective after the
 * iteration (rp_als.c, "Loss"), or NaN when p->compute_loss is 0.
 * work/work_size: at least rp_als_workspace_size() bytes.
 * cancel: polled between row blocks on the calling thread (may be NULL);
 * on RP_ECANCELED the factors are partly updated and should be dropped.
 */
extern rp_status rp_als_iterate(const rp_als_params *p, const rp_csr *ui,
								const rp_csr *iu, rp_als_model *m,
								void *work, size_t work_size,
								const rp_cancel *cancel, double *loss);

/*
 * Gram matrix of the item factors for fold-in and explanations:
 * gram (k x k, full) = Y^T Y over the first k columns of every item row.
 */
extern rp_status rp_als_item_gram(const rp_als_model *m, double *gram);

/* Bytes of scratch for one rp_als_fold_in() or rp_als_explain() call. */
extern size_t rp_als_foldin_workspace_size(const rp_als_params *p);

/*
 * Fold-in: the factor row of a user not seen at training, from their
 * history (items[j], values[j]), j < n, against the fixed item factors.
 * Solves the same normal equations as a training half-step, exactly
 * (Cholesky), since there is no previous estimate to warm-start CG from.
 *	gram: rp_als_item_gram() of m (used by the implicit method only).
 *	x: m->dim doubles out (explicit: [x, b_u, 1]).
 * Items must be in [0, n_items) and distinct; values finite (implicit: >= 0).
 * Thread-safe; no allocation.  About 0.1 ms for 20 items at k = 64.
 */
extern rp_status rp_als_fold_in(const rp_als_params *p, const rp_als_model *m,
								const double *gram, int32_t n,
								const int32_t *items, const double *values,
								double *x, void *work);

/*
 * Explanation of one score (Hu, Koren and Volinsky 2008, section 5): with
 * W_u = (Y^T C_u Y + lambda I)^-1 the user's regularised weight matrix,
 * the score of item j is sum over history items i of s_ij * c_ui * p_ui,
 * s_ij = y_j^T W_u y_i.  contrib[i] (n doubles out) gets each history
 * item's term; *score gets the folded-in score they add up to (for the
 * explicit method the terms use [y, 1] rows, weights lambda * n_u and targets
 * r - mu - c_i, and *score includes mu + c_j).  Same inputs as
 * rp_als_fold_in() plus the target item.
 */
extern rp_status rp_als_explain(const rp_als_params *p, const rp_als_model *m,
								const double *gram, int32_t n,
								const int32_t *items, const double *values,
								int32_t target, double *contrib, double *score,
								void *work);

/*
 * Erasure (forget_user / forget_item): re-solves the item rows items[0..n)
 * with the user factors fixed, exactly as the item half-step of
 * rp_als_iterate with the Cholesky solver (implicit: against the Gram
 * matrix of all user rows; explicit: against the items' own ratings with
 * mu = m->global_mean).  iu: items x users.  work:
 * rp_als_solve_items_workspace_size(p) bytes.  Sequential.
 */
extern size_t rp_als_solve_items_workspace_size(const rp_als_params *p);
extern rp_status rp_als_solve_items(const rp_als_params *p, rp_als_model *m,
									const rp_csr *iu, const int32_t *items,
									int32_t n, void *work);

/*
 * Storage precision of the user factor rows (the part "als_user_f4", see
 * src/pg/method_als.c).  rp_als_round_f32 writes out[i] = (float) x[i]
 * and rounds x[i] to that same value, so that the doubles in memory are
 * exactly the floats stored (rounding to nearest: relative change at most
 * 2^-24, about 6e-8).  RP_ENUMERIC when a value is NaN, infinite or beyond
 * float's range (the cast would be undefined); x and out are then partly
 * written, and the caller must not use them.  rp_als_widen_f32 is the
 * exact way back: out[i] = in[i].  n >= 0; NULL buffers only with n = 0.
 */
extern rp_status rp_als_round_f32(double *x, int64_t n, float *out);
extern void rp_als_widen_f32(const float *in, int64_t n, double *out);

#endif							/* RP_ALS_H */
