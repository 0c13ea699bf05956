/*
 * test_ease.c
 *	  EASE against a naive reference: Gram matrix, Gauss-Jordan inverse and
 *	  B = -P / diag(P) computed densely; scoring; bad arguments and cancel.
 */
#include "unit.h"
#include "rp_ease.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 3;
static double
rnd(void)
{
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (double) (z >> 11) / 9007199254740992.0;
}

/* dense users x items -> CSR (arrays malloc'd) */
static void
to_csr(const double *d, int32_t rows, int32_t cols, rp_csr *m)
{
	int64_t		nnz = 0;

	m->indptr = calloc(rows + 1, sizeof(int64_t));
	m->indices = malloc((size_t) rows * cols * sizeof(int32_t) + 4);
	m->values = malloc((size_t) rows * cols * sizeof(double) + 8);
	for (int32_t r = 0; r < rows; r++)
	{
		for (int32_t c = 0; c < cols; c++)
			if (d[r * cols + c] != 0.0)
			{
				m->indices[nnz] = c;
				m->values[nnz++] = d[r * cols + c];
			}
		m->indptr[r + 1] = nnz;
	}
	m->n_rows = rows;
	m->n_cols = cols;
	m->nnz = nnz;
}

static void
free_csr(rp_csr *m)
{
	free(m->indptr);
	free(m->indices);
	free(m->values);
}

/* naive EASE: Gram, Gauss-Jordan inverse with partial pivoting, scaling */
static void
naive_ease(const double *d, int32_t U, int32_t n, double lambda, double *Bn)
{
	double	   *G = calloc((size_t) n * n, sizeof(double));
	double	   *P = calloc((size_t) n * n, sizeof(double));

	for (int32_t i = 0; i < n; i++)
		for (int32_t j = 0; j < n; j++)
		{
			for (int32_t u = 0; u < U; u++)
				G[i * n + j] += d[u * n + i] * d[u * n + j];
			if (i == j)
				G[i * n + j] += lambda;
			P[i * n + j] = i == j;
		}
	for (int32_t c = 0; c < n; c++)
	{
		int32_t		piv = c;

		for (int32_t r = c + 1; r < n; r++)
			if (fabs(G[r * n + c]) > fabs(G[piv * n + c]))
				piv = r;
		for (int32_t k = 0; k < n; k++)
		{
			double		t = G[c * n + k];

			G[c * n + k] = G[piv * n + k];
			G[piv * n + k] = t;
			t = P[c * n + k];
			P[c * n + k] = P[piv * n + k];
			P[piv * n + k] = t;
		}
		{
			double		inv = 1.0 / G[c * n + c];

			for (int32_t k = 0; k < n; k++)
			{
				G[c * n + k] *= inv;
				P[c * n + k] *= inv;
			}
		}
		for (int32_t r = 0; r < n; r++)
			if (r != c)
			{
				double		f = G[r * n + c];

				for (int32_t k = 0; k < n; k++)
				{
					G[r * n + k] -= f * G[c * n + k];
					P[r * n + k] -= f * P[c * n + k];
				}
			}
	}
	for (int32_t i = 0; i < n; i++)
		for (int32_t j = 0; j < n; j++)
			Bn[i * n + j] = i == j ? 0.0 : -P[i * n + j] / P[j * n + j];
	free(G);
	free(P);
}

static void
test_vs_naive(void)
{
	enum
	{
	U = 40, N = 13};
	double	   *d = calloc(U * N, sizeof(double));
	double	   *B = malloc(N * N * sizeof(double));
	double	   *Bn = malloc(N * N * sizeof(double));
	double		work[N];
	rp_csr		X;

	for (int i = 0; i < U * N; i++)
		if (rnd() < 0.3)
			d[i] = 1.0 + floor(rnd() * 3);
	to_csr(d, U, N, &X);
	for (int l = 0; l < 3; l++)
	{
		double		lambda = l == 0 ? 0.5 : (l == 1 ? 10.0 : 500.0);

		CHECK(rp_ease_fit(&X, lambda, B, work, NULL) == RP_OK);
		naive_ease(d, U, N, lambda, Bn);
		for (int i = 0; i < N * N; i++)
			CHECK_NEAR(B[i], Bn[i], 1e-10);
		for (int i = 0; i < N; i++)
			CHECK(B[i * N + i] == 0.0);
	}

	/* scores: a user's row times B, against the dense product */
	{
		float	   *Bf = malloc(N * N * sizeof(float));
		int32_t		hi[] = {1, 4, 12};
		double		hv[] = {2.0, 1.0, 3.0};
		double		sc[N];

		for (int i = 0; i < N * N; i++)
			Bf[i] = (float) B[i];
		rp_ease_score(Bf, N, hi, hv, 3, sc);
		for (int j = 0; j < N; j++)
			CHECK_NEAR(sc[j], 2.0 * Bf[1 * N + j] + 1.0 * Bf[4 * N + j] + 3.0 * Bf[12 * N + j], 1e-12);
		free(Bf);
	}
	free_csr(&X);
	free(d);
	free(B);
	free(Bn);
}

/*
 * Hand example: two items always bought together by 2 users, lambda 1:
 * G = [[3, 2], [2, 3]], P = [[3, -2], [-2, 3]] / 5, B_01 = -P_01 / P_11 = 2/3.
 */
static void
test_hand(void)
{
	double		d[] = {1, 1, 1, 1};
	double		B[4];
	double		work[2];
	rp_csr		X;

	to_csr(d, 2, 2, &X);
	CHECK(rp_ease_fit(&X, 1.0, B, work, NULL) == RP_OK);
	CHECK_NEAR(B[1], 2.0 / 3.0, 1e-14);
	CHECK_NEAR(B[2], 2.0 / 3.0, 1e-14);
	CHECK(B[0] == 0.0 && B[3] == 0.0);
	CHECK_NEAR(rp_ease_memory_bytes(2), 32.0, 0);
	free_csr(&X);
}

static int
stop_now(void *arg)
{
	return 1;
}

static void
test_bad(void)
{
	double		d[] = {1, 0, 1, 1};
	double		B[4];
	double		work[2];
	rp_csr		X;
	rp_cancel	c = {stop_now, NULL};

	to_csr(d, 2, 2, &X);
	CHECK(rp_ease_fit(&X, 0.0, B, work, NULL) == RP_EINVAL);
	CHECK(rp_ease_fit(&X, -1.0, B, work, NULL) == RP_EINVAL);
	CHECK(rp_ease_fit(&X, NAN, B, work, NULL) == RP_EINVAL);
	CHECK(rp_ease_fit(&X, INFINITY, B, work, NULL) == RP_EINVAL);
	CHECK(rp_ease_fit(&X, 1.0, B, work, &c) == RP_ECANCELED);
	X.values[0] = NAN;
	CHECK(rp_ease_fit(&X, 1.0, B, work, NULL) == RP_ENUMERIC);
	free_csr(&X);
}

int
main(void)
{
	RUN(test_vs_naive);
	RUN(test_hand);
	RUN(test_bad);
	UNIT_DONE();
}
