/*
 * test_sparse_ease.c
 *	  Sparse EASE against references: with K = n - 1 it is dense EASE
 *	  (rp_ease_fit); with a small K each column equals a naive ridge
 *	  regression over its neighbours (Gauss elimination); the same result on
 *	  1 and 3 threads, with all Gram entries held at once and in chunks of
 *	  one column (max_pairs 1); re-solving columns on the same data
 *	  changes nothing; bad arguments and cancel.
 */
#include "unit.h"
#include "rp_ease.h"
#include "rp_sparse_ease.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 11;
static double
rnd(void)
{
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (double) (z >> 11) / 9007199254740992.0;
}

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
transpose_dense(const double *d, int32_t rows, int32_t cols, double *t)
{
	for (int32_t r = 0; r < rows; r++)
		for (int32_t c = 0; c < cols; c++)
			t[c * rows + r] = d[r * cols + c];
}

static void
free_csr(rp_csr *m)
{
	free(m->indptr);
	free(m->indices);
	free(m->values);
}

static void
alloc_out(rp_csr *o, int32_t n, int32_t k)
{
	o->indptr = calloc(n + 1, sizeof(int64_t));
	o->indices = calloc((size_t) n * k + 1, sizeof(int32_t));
	o->values = calloc((size_t) n * k + 1, sizeof(double));
}

#define U 40
#define N 12

static double D[U * N];
static double DT[U * N];
static rp_csr X, XT;

static void
make_data(void)
{
	for (int32_t u = 0; u < U; u++)
		for (int32_t i = 0; i < N; i++)
			D[u * N + i] = rnd() < 0.3 / (1 + i * 0.2) ? (double) (1 + (int) (rnd() * 3)) : 0.0;
	transpose_dense(D, U, N, DT);
	to_csr(D, U, N, &X);
	to_csr(DT, N, U, &XT);
}

static void
test_dense_equivalence(void)
{
	double	   *B = malloc(sizeof(double) * N * N);
	double	   *work = malloc(sizeof(double) * N);
	rp_csr		o;
	int32_t		ku;

	alloc_out(&o, N, N - 1);
	CHECK(rp_ease_fit(&X, 50.0, B, work, NULL) == RP_OK);
	CHECK(rp_sease_fit(&X, &XT, 50.0, 100, 3, 2, &o, &ku, NULL) == RP_OK);
	CHECK(ku == N - 1);
	for (int32_t j = 0; j < N; j++)
		for (int64_t p = o.indptr[j]; p < o.indptr[j + 1]; p++)
			CHECK_NEAR(o.values[p], B[o.indices[p] * N + j], 1e-10);
	free(B);
	free(work);
	free_csr(&o);
}

/* naive: column j regressed on N(j) by Gauss elimination */
static void
test_small_k(void)
{
	rp_csr		o1, o3, ob;
	int32_t		ku;
	int32_t		k = 4;
	double		lambda = 3.0;

	alloc_out(&o1, N, k);
	alloc_out(&o3, N, k);
	alloc_out(&ob, N, k);
	/* all Gram entries at once on 1 thread; one column per chunk on 3 */
	CHECK(rp_sease_fit(&X, &XT, lambda, k, INT64_MAX, 1, &o1, &ku, NULL) == RP_OK);
	CHECK(rp_sease_fit(&X, &XT, lambda, k, 1, 3, &o3, &ku, NULL) == RP_OK);
	CHECK(ku == k);
	for (int64_t p = 0; p < (int64_t) N * k; p++)
	{
		CHECK(o1.indices[p] == o3.indices[p]);
		CHECK(o1.values[p] == o3.values[p]);
	}
	for (int32_t j = 0; j < N; j++)
	{
		double		G[N][N];
		double		A[4][5];
		int32_t		nb[4];
		int32_t		cnt = 0;

		for (int32_t a = 0; a < N; a++)
			for (int32_t b = 0; b < N; b++)
			{
				G[a][b] = 0;
				for (int32_t u = 0; u < U; u++)
					G[a][b] += D[u * N + a] * D[u * N + b];
			}
		/* the neighbours: largest G[j][l], ties to lower l, then fill */
		{
			int			used[N] = {0};

			used[j] = 1;
			for (int32_t t = 0; t < k; t++)
			{
				int32_t		best = -1;

				for (int32_t l = 0; l < N; l++)
					if (!used[l] && (best < 0 || G[j][l] > G[j][best]))
						best = l;
				used[best] = 1;
				nb[cnt++] = best;
			}
			cnt = 0;
			for (int32_t l = 0; l < N; l++)
				if (used[l] && l != j)
					nb[cnt++] = l;
		}
		for (int32_t t = 0; t < k; t++)
			CHECK(o1.indices[j * k + t] == nb[t]);
		for (int32_t a = 0; a < k; a++)
		{
			for (int32_t b = 0; b < k; b++)
				A[a][b] = G[nb[a]][nb[b]] + (a == b ? lambda : 0.0);
			A[a][k] = G[nb[a]][j];
		}
		for (int32_t c = 0; c < k; c++)
			for (int32_t r = 0; r < k; r++)
				if (r != c)
				{
					double		f = A[r][c] / A[c][c];

					for (int32_t q = 0; q <= k; q++)
						A[r][q] -= f * A[c][q];
				}
		for (int32_t t = 0; t < k; t++)
			CHECK_NEAR(o1.values[j * k + t], A[t][k] / A[t][t], 1e-10);
	}
	/* re-solving every column on the same data changes nothing */
	{
		int32_t		cols[N];

		memcpy(ob.indptr, o1.indptr, sizeof(int64_t) * (N + 1));
		memcpy(ob.indices, o1.indices, sizeof(int32_t) * N * k);
		ob.n_rows = ob.n_cols = N;
		ob.nnz = (int64_t) N * k;
		for (int32_t j = 0; j < N; j++)
			cols[j] = N - 1 - j;
		CHECK(rp_sease_resolve(&X, &XT, lambda, cols, N, 5, 2, &ob, NULL) == RP_OK);
		for (int64_t p = 0; p < (int64_t) N * k; p++)
			CHECK_NEAR(ob.values[p], o1.values[p], 1e-12);
	}
	free_csr(&o1);
	free_csr(&o3);
	free_csr(&ob);
}


/*
 * A larger 0/1 set (many tied co-occurrences): the neighbour lists equal a
 * full sort (largest first, ties to the lower index), the weights a naive
 * solve, and one chunk on 1 thread equals small chunks on 2 threads bit
 * for bit.
 */
#define U2 300
#define N2 160
static void
test_chunks_ties(void)
{
	static double D2[U2 * N2],
				D2T[U2 * N2],
				G[N2][N2];
	rp_csr		X2,
				X2T,
				o1,
				o2;
	int32_t		k = 12,
				ku;

	for (int32_t u = 0; u < U2; u++)
		for (int32_t i = 0; i < N2; i++)
			D2[u * N2 + i] = rnd() < 0.25 / (1 + (i % 40) * 0.1) ? 1.0 : 0.0;
	transpose_dense(D2, U2, N2, D2T);
	to_csr(D2, U2, N2, &X2);
	to_csr(D2T, N2, U2, &X2T);
	for (int32_t a = 0; a < N2; a++)
		for (int32_t b = 0; b < N2; b++)
		{
			G[a][b] = 0;
			for (int32_t u = 0; u < U2; u++)
				G[a][b] += D2[u * N2 + a] * D2[u * N2 + b];
		}
	alloc_out(&o1, N2, k);
	alloc_out(&o2, N2, k);
	CHECK(rp_sease_fit(&X2, &X2T, 7.0, k, INT64_MAX, 1, &o1, &ku, NULL) == RP_OK);
	CHECK(rp_sease_fit(&X2, &X2T, 7.0, k, 200, 2, &o2, &ku, NULL) == RP_OK);
	for (int64_t p = 0; p < (int64_t) N2 * k; p++)
	{
		CHECK(o1.indices[p] == o2.indices[p]);
		CHECK(o1.values[p] == o2.values[p]);
	}
	for (int32_t j = 0; j < N2; j++)
	{
		int			used[N2] = {0};
		int32_t		nb[12],
					cnt = 0;
		double		A[12][13];

		used[j] = 1;
		for (int32_t t = 0; t < k; t++)
		{
			int32_t		best = -1;

			for (int32_t l = 0; l < N2; l++)
				if (!used[l] && (best < 0 || G[j][l] > G[j][best]))
					best = l;
			used[best] = 1;
		}
		for (int32_t l = 0; l < N2; l++)
			if (used[l] && l != j)
				nb[cnt++] = l;
		for (int32_t t = 0; t < k; t++)
			CHECK(o1.indices[j * k + t] == nb[t]);
		for (int32_t a = 0; a < k; a++)
		{
			for (int32_t b = 0; b < k; b++)
				A[a][b] = G[nb[a]][nb[b]] + (a == b ? 7.0 : 0.0);
			A[a][k] = G[nb[a]][j];
		}
		for (int32_t c = 0; c < k; c++)
			for (int32_t r = 0; r < k; r++)
				if (r != c)
				{
					double		f = A[r][c] / A[c][c];

					for (int32_t q = 0; q <= k; q++)
						A[r][q] -= f * A[c][q];
				}
		for (int32_t t = 0; t < k; t++)
			CHECK_NEAR(o1.values[j * k + t], A[t][k] / A[t][t], 1e-10);
	}
	free_csr(&o1);
	free_csr(&o2);
	free_csr(&X2);
	free_csr(&X2T);
}

static int
stop_now(void *arg)
{
	return 1;
}

static void
test_bad_args(void)
{
	rp_csr		o;
	int32_t		ku;
	rp_cancel	c = {stop_now, NULL};

	alloc_out(&o, N, N);
	CHECK(rp_sease_fit(&X, &XT, 0.0, 4, 8, 1, &o, &ku, NULL) == RP_EINVAL);
	CHECK(rp_sease_fit(&X, &XT, NAN, 4, 8, 1, &o, &ku, NULL) == RP_EINVAL);
	CHECK(rp_sease_fit(&X, &XT, 1.0, 0, 8, 1, &o, &ku, NULL) == RP_EINVAL);
	CHECK(rp_sease_fit(&X, &XT, 1.0, 4, 0, 1, &o, &ku, NULL) == RP_EINVAL);
	CHECK(rp_sease_fit(&XT, &XT, 1.0, 4, 8, 1, &o, &ku, NULL) == RP_EINVAL);
	CHECK(rp_sease_fit(&X, &XT, 1.0, 4, 8, 2, &o, &ku, &c) == RP_ECANCELED);
	X.values[0] = INFINITY;
	CHECK(rp_sease_fit(&X, &XT, 1.0, 4, 8, 1, &o, &ku, NULL) == RP_ENUMERIC);
	X.values[0] = 1.0;
	free_csr(&o);
}

int
main(void)
{
	make_data();
	RUN(test_dense_equivalence);
	RUN(test_small_k);
	RUN(test_chunks_ties);
	RUN(test_bad_args);
	free_csr(&X);
	free_csr(&XT);
	UNIT_DONE();
}
