/*
 * rp_logreg.c
 *	  Penalised logistic regression by Newton's method, and ridge regression
 *	  (see rp_logreg.h for the contracts).
 *
 * Algorithm (iteratively reweighted least squares, e.g. Hastie, Tibshirani &
 * Friedman, "The Elements of Statistical Learning", 2nd ed., section 4.4.1):
 * at coefficients b, with mu_i = sigmoid(x_i.b) and s_i = w_i mu_i (1 - mu_i),
 *     gradient g = X' (w (mu - y)) + lambda P b
 *     Hessian  H = X' S X + lambda P        (P = identity without free_col)
 * and the step d solves H d = g by Cholesky (LAPACK dposv).  H is formed as
 * Z'Z with Z = S^(1/2) X by one BLAS dsyrk, so a step costs n p^2 flops.  The
 * objective is strictly convex when lambda > 0 (or X has full rank), so the
 * minimiser is unique; a step that raises the objective is halved (at most
 * 30 times), which guards against overshoot on nearly separable data.
 *
 * Numerics: log(1 + exp(t)) is computed as max(t, 0) + log1p(exp(-|t|)) and
 * sums are in double.  The row-major upper triangle that cblas_dsyrk writes is
 * LAPACK's column-major lower triangle, hence uplo = 'L' below.
 */
#include "rp_logreg.h"
#include "rp_blas.h"

#include <math.h>
#include <string.h>

size_t
rp_logreg_workspace(int64_t n, int p)
{
	return (size_t) n * (size_t) p + (size_t) p * (size_t) p + (size_t) n + 2 * (size_t) p;
}

double
rp_sigmoid(double t)
{
	if (t >= 0)
		return 1.0 / (1.0 + exp(-t));
	else
	{
		double		e = exp(t);

		return e / (1.0 + e);
	}
}

/* log(1 + exp(t)) without overflow */
static double
softplus(double t)
{
	return (t > 0 ? t : 0) + log1p(exp(-fabs(t)));
}

/* Penalised objective at beta; eta receives X beta. */
static double
logreg_loss(int64_t n, int p, const double *X, const double *y,
			const double *w, double lambda, int free_col, const double *beta,
			double *eta)
{
	double		loss = 0.0;
	double		pen = 0.0;

	cblas_dgemv(CblasRowMajor, CblasNoTrans, (int) n, p, 1.0, X, p, beta, 1,
				0.0, eta, 1);
	for (int64_t i = 0; i < n; i++)
	{
		double		l = softplus(eta[i]) - y[i] * eta[i];

		loss += (w ? w[i] : 1.0) * l;
	}
	for (int j = 0; j < p; j++)
		if (j != free_col)
			pen += beta[j] * beta[j];
	return loss + 0.5 * lambda * pen;
}

/* Solves H d = g in place (g becomes d); H is overwritten by its factor. */
static rp_status
chol_solve(int p, double *H, double *g)
{
	int			info = 0;
	int			one = 1;

	dposv_("L", &p, &one, H, &p, g, &p, &info);
	if (info != 0)
		return RP_ENUMERIC;
	for (int j = 0; j < p; j++)
		if (!rp_finite(g[j]))
			return RP_ENUMERIC;
	return RP_OK;
}

/* Z = diag(sqrt(s)) X, then H = Z'Z + lambda P (upper, row-major). */
static void
weighted_gram(int64_t n, int p, const double *X, const double *s,
			  double lambda, int free_col, double *Z, double *H)
{
	for (int64_t i = 0; i < n; i++)
	{
		double		r = sqrt(s[i]);
		const double *xi = X + i * p;
		double	   *zi = Z + i * p;

		for (int j = 0; j < p; j++)
			zi[j] = r * xi[j];
	}
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, (int) n, 1.0, Z, p,
				0.0, H, p);
	for (int j = 0; j < p; j++)
		if (j != free_col)
			H[j * p + j] += lambda;
}

rp_status
rp_logreg_fit(int64_t n, int p, const double *X, const double *y,
			  const double *w, double lambda, int free_col, int max_iter,
			  double tol, double *beta, double *work,
			  const rp_cancel *cancel, rp_logreg_info *info)
{
	double	   *Z = work;
	double	   *H = Z + (size_t) n * p;
	double	   *eta = H + (size_t) p * p;
	double	   *g = eta + n;
	double	   *old = g + p;
	double		loss;

	if (n < 1 || p < 1 || n > 2147483647 || !(lambda >= 0) || max_iter < 1 ||
		!(tol > 0) || free_col >= p)
		return RP_EINVAL;
	info->iterations = 0;
	info->converged = 0;
	loss = logreg_loss(n, p, X, y, w, lambda, free_col, beta, eta);
	if (!rp_finite(loss))
		return RP_ENUMERIC;

	for (int it = 0; it < max_iter; it++)
	{
		double		maxstep = 0.0;
		double		newloss;
		double		t = 1.0;
		rp_status	st;

		if (rp_should_stop(cancel))
			return RP_ECANCELED;
		/* eta holds X beta: turn it into s (weights) and residuals in place */
		for (int64_t i = 0; i < n; i++)
		{
			double		mu = rp_sigmoid(eta[i]);
			double		wi = w ? w[i] : 1.0;

			eta[i] = wi * (mu - y[i]);	/* residual, used for g */
			/* stash s_i in the first column slot of Z's row, read below */
			Z[i * p] = wi * mu * (1.0 - mu);
		}
		cblas_dgemv(CblasRowMajor, CblasTrans, (int) n, p, 1.0, X, p, eta, 1,
					0.0, g, 1);
		for (int j = 0; j < p; j++)
			if (j != free_col)
				g[j] += lambda * beta[j];
		/* move s out of Z into eta (residuals are no longer needed) */
		for (int64_t i = 0; i < n; i++)
			eta[i] = Z[i * p];
		weighted_gram(n, p, X, eta, lambda, free_col, Z, H);
		st = chol_solve(p, H, g);
		if (st != RP_OK)
			return st;

		memcpy(old, beta, sizeof(double) * p);
		for (;;)
		{
			for (int j = 0; j < p; j++)
				beta[j] = old[j] - t * g[j];
			newloss = logreg_loss(n, p, X, y, w, lambda, free_col, beta, eta);
			if (rp_finite(newloss) && newloss <= loss + 1e-12 * fabs(loss))
				break;
			t *= 0.5;
			if (t < 1e-9)
			{
				/* no descent possible: we are at the minimum to rounding */
				memcpy(beta, old, sizeof(double) * p);
				newloss = logreg_loss(n, p, X, y, w, lambda, free_col, beta, eta);
				info->iterations = it + 1;
				info->converged = 1;
				info->loss = newloss;
				return RP_OK;
			}
		}
		for (int j = 0; j < p; j++)
			if (fabs(t * g[j]) > maxstep)
				maxstep = fabs(t * g[j]);
		loss = newloss;
		info->iterations = it + 1;
		if (maxstep <= tol)
		{
			info->converged = 1;
			break;
		}
	}
	info->loss = loss;
	return RP_OK;
}

rp_status
rp_ridge_fit(int64_t n, int p, const double *X, const double *y,
			 const double *w, double lambda, int free_col, double *beta,
			 double *work, rp_logreg_info *info)
{
	double	   *Z = work;
	double	   *H = Z + (size_t) n * p;
	double	   *s = H + (size_t) p * p;
	double		loss = 0.0;
	double		pen = 0.0;
	rp_status	st;

	if (n < 1 || p < 1 || n > 2147483647 || !(lambda >= 0) || free_col >= p)
		return RP_EINVAL;
	for (int64_t i = 0; i < n; i++)
		s[i] = (w ? w[i] : 1.0) * y[i];
	cblas_dgemv(CblasRowMajor, CblasTrans, (int) n, p, 1.0, X, p, s, 1, 0.0,
				beta, 1);
	for (int64_t i = 0; i < n; i++)
		s[i] = w ? w[i] : 1.0;
	weighted_gram(n, p, X, s, lambda, free_col, Z, H);
	st = chol_solve(p, H, beta);
	if (st != RP_OK)
		return st;
	cblas_dgemv(CblasRowMajor, CblasNoTrans, (int) n, p, 1.0, X, p, beta, 1,
				0.0, s, 1);
	for (int64_t i = 0; i < n; i++)
		loss += (w ? w[i] : 1.0) * 0.5 * (y[i] - s[i]) * (y[i] - s[i]);
	for (int j = 0; j < p; j++)
		if (j != free_col)
			pen += beta[j] * beta[j];
	info->iterations = 1;
	info->converged = 1;
	info->loss = loss + 0.5 * lambda * pen;
	return RP_OK;
}
