/*
 * rp_logreg.h
 *	  L2-penalised logistic and linear (ridge) regression on a dense design
 *	  matrix, solved by Newton's method (IRLS) with a Cholesky factorisation.
 *
 * The design matrix X is n x p, row-major, and already holds any intercept
 * column (a column of ones); `free_col` names one column whose coefficient is
 * not penalised (the intercept), or -1.  Optional case weights w (NULL means
 * 1) let the class-transformation uplift method balance its arms.  Nothing is
 * allocated: the caller passes rp_logreg_workspace(n, p) doubles.
 */
#ifndef RP_LOGREG_H
#define RP_LOGREG_H

#include "rp_core.h"

typedef struct rp_logreg_info
{
	int			iterations;		/* Newton steps taken */
	int			converged;		/* 1 when the last step was below tol */
	double		loss;			/* penalised objective at the result */
} rp_logreg_info;

/* Doubles of scratch space rp_logreg_fit and rp_ridge_fit need. */
extern size_t rp_logreg_workspace(int64_t n, int p);

/*
 * Fits logistic regression minimising
 *     sum_i w_i [log(1 + exp(x_i.b)) - y_i x_i.b] + lambda/2 sum_{j != free_col} b_j^2.
 *
 * X: n x p row-major; y: n labels in {0, 1}; w: n positive weights or NULL.
 * lambda >= 0; max_iter >= 1; tol > 0 stops when max_j |step_j| <= tol.
 * beta: p doubles, the start on entry (zeros are fine), the fit on return.
 * work: rp_logreg_workspace(n, p) doubles.  cancel: polled once per step.
 * Returns RP_OK (check info->converged), RP_ENUMERIC when the Hessian is not
 * positive definite (collinear columns with lambda = 0) or a value is not
 * finite, RP_ECANCELED, RP_EINVAL on bad sizes.  Deterministic.
 */
extern rp_status rp_logreg_fit(int64_t n, int p, const double *X,
							   const double *y, const double *w,
							   double lambda, int free_col, int max_iter,
							   double tol, double *beta, double *work,
							   const rp_cancel *cancel, rp_logreg_info *info);

/*
 * Fits weighted ridge regression minimising
 *     sum_i w_i (y_i - x_i.b)^2 / 2 + lambda/2 sum_{j != free_col} b_j^2
 * in closed form (one Cholesky solve of the normal equations).  Arguments as
 * for rp_logreg_fit; y may be any finite values.
 */
extern rp_status rp_ridge_fit(int64_t n, int p, const double *X,
							  const double *y, const double *w,
							  double lambda, int free_col, double *beta,
							  double *work, rp_logreg_info *info);

/* Numerically stable logistic function 1 / (1 + exp(-t)). */
extern double rp_sigmoid(double t);

#endif							/* RP_LOGREG_H */
