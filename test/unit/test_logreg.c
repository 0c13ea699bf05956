/*
 * test_logreg.c
 *	  rp_logreg_fit reaches the penalised optimum (its gradient, computed
 *	  naively, vanishes) and rp_ridge_fit solves the normal equations
 *	  (checked against naive Gaussian elimination).
 */
#include "unit.h"
#include "rp_logreg.h"

#include <string.h>

static uint64_t lcg = 12345;
static double
urand(void)
{
	lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double) (lcg >> 11) / 9007199254740992.0;
}

#define N 400
#define P 4

static double X[N * P], y[N], w[N];

static void
make_data(void)
{
	for (int i = 0; i < N; i++)
	{
		double		t;

		X[i * P] = 1.0;
		for (int j = 1; j < P; j++)
			X[i * P + j] = urand() * 2 - 1;
		t = 0.3 + 1.5 * X[i * P + 1] - 2.0 * X[i * P + 2] + 0.5 * X[i * P + 3];
		y[i] = urand() < 1.0 / (1.0 + exp(-t)) ? 1.0 : 0.0;
		w[i] = 0.5 + urand();
	}
}

/* naive gradient of the penalised logistic loss */
static void
naive_grad(const double *b, const double *wt, double lambda, double *g)
{
	for (int j = 0; j < P; j++)
		g[j] = j == 0 ? 0.0 : lambda * b[j];
	for (int i = 0; i < N; i++)
	{
		double		e = 0;

		for (int j = 0; j < P; j++)
			e += X[i * P + j] * b[j];
		for (int j = 0; j < P; j++)
			g[j] += (wt ? wt[i] : 1.0) * (1.0 / (1.0 + exp(-e)) - y[i]) * X[i * P + j];
	}
}

static void
test_logreg_optimum(void)
{
	double		work[N * P + P * P + N + 2 * P];
	double		b[P] = {0};
	double		g[P];
	rp_logreg_info info;

	CHECK(rp_logreg_workspace(N, P) == sizeof(work) / sizeof(double));
	for (int pass = 0; pass < 2; pass++)
	{
		const double *wt = pass ? w : NULL;

		memset(b, 0, sizeof(b));
		CHECK(rp_logreg_fit(N, P, X, y, wt, 2.0, 0, 50, 1e-12, b, work, NULL, &info) == RP_OK);
		CHECK(info.converged);
		CHECK(info.iterations < 15);
		naive_grad(b, wt, 2.0, g);
		for (int j = 0; j < P; j++)
			CHECK(fabs(g[j]) < 1e-8);
		/* the signal is recovered roughly */
		CHECK(b[1] > 0.5 && b[2] < -0.8);
	}
	/* lambda = 0 also converges on non-separable data */
	memset(b, 0, sizeof(b));
	CHECK(rp_logreg_fit(N, P, X, y, NULL, 0.0, 0, 50, 1e-12, b, work, NULL, &info) == RP_OK);
	naive_grad(b, NULL, 0.0, g);
	for (int j = 0; j < P; j++)
		CHECK(fabs(g[j]) < 1e-8);
}

static void
test_logreg_collinear(void)
{
	double		Xc[6 * 2] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	double		yc[6] = {0, 1, 0, 1, 1, 0};
	double		work[6 * 2 + 4 + 6 + 4];
	double		b[2] = {0, 0};
	rp_logreg_info info;

	/* two identical columns, no penalty: singular Hessian */
	CHECK(rp_logreg_fit(6, 2, Xc, yc, NULL, 0.0, -1, 20, 1e-10, b, work, NULL, &info) == RP_ENUMERIC);
	/* with a penalty on both it is fine and splits the weight */
	b[0] = b[1] = 0;
	CHECK(rp_logreg_fit(6, 2, Xc, yc, NULL, 1.0, -1, 20, 1e-10, b, work, NULL, &info) == RP_OK);
	CHECK_NEAR(b[0], b[1], 1e-12);
	CHECK(rp_logreg_fit(0, 2, Xc, yc, NULL, 1.0, -1, 20, 1e-10, b, work, NULL, &info) == RP_EINVAL);
	CHECK(rp_logreg_fit(6, 2, Xc, yc, NULL, -1.0, -1, 20, 1e-10, b, work, NULL, &info) == RP_EINVAL);
	CHECK_NEAR(rp_sigmoid(0), 0.5, 1e-15);
	CHECK(rp_sigmoid(-800) >= 0 && rp_sigmoid(800) == 1.0);
}

/* Solve A x = r (P x P) by naive Gaussian elimination with pivoting. */
static void
naive_solve(double A[P][P], double *r)
{
	for (int c = 0; c < P; c++)
	{
		int			piv = c;

		for (int i = c + 1; i < P; i++)
			if (fabs(A[i][c]) > fabs(A[piv][c]))
				piv = i;
		for (int j = 0; j < P; j++)
		{
			double		t = A[c][j];

			A[c][j] = A[piv][j];
			A[piv][j] = t;
		}
		{
			double		t = r[c];

			r[c] = r[piv];
			r[piv] = t;
		}
		for (int i = c + 1; i < P; i++)
		{
			double		f = A[i][c] / A[c][c];

			for (int j = c; j < P; j++)
				A[i][j] -= f * A[c][j];
			r[i] -= f * r[c];
		}
	}
	for (int c = P - 1; c >= 0; c--)
	{
		for (int j = c + 1; j < P; j++)
			r[c] -= A[c][j] * r[j];
		r[c] /= A[c][c];
	}
}

static void
test_ridge(void)
{
	double		work[N * P + P * P + N + 2 * P];
	double		b[P];
	double		A[P][P] = {{0}};
	double		r[P] = {0};
	double		yr[N];
	rp_logreg_info info;

	for (int i = 0; i < N; i++)
		yr[i] = 3 * X[i * P + 1] - X[i * P + 3] + urand();
	CHECK(rp_ridge_fit(N, P, X, yr, w, 5.0, 0, b, work, &info) == RP_OK);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < P; j++)
		{
			r[j] += w[i] * X[i * P + j] * yr[i];
			for (int k = 0; k < P; k++)
				A[j][k] += w[i] * X[i * P + j] * X[i * P + k];
		}
	for (int j = 1; j < P; j++)
		A[j][j] += 5.0;
	naive_solve(A, r);
	for (int j = 0; j < P; j++)
		CHECK_NEAR(b[j], r[j], 1e-10);
}

int
main(void)
{
	make_data();
	RUN(test_logreg_optimum);
	RUN(test_logreg_collinear);
	RUN(test_ridge);
	UNIT_DONE();
}
