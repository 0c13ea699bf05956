/*
 * test_knn.c
 *	  Top-k cosine neighbours against a naive dense reference: similarity
 *	  values, shrinkage, TF-IDF and BM25 weights, tie-breaking, identical
 *	  output for any thread count, fold-in queries, scoring and cancel.
 */
#include "unit.h"
#include "rp_knn.h"

#include <stdlib.h>
#include <string.h>

/* a deterministic pseudo-random stream (splitmix64) */
static uint64_t rng_state;
static double
rnd(void)
{
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (double) (z >> 11) / 9007199254740992.0;
}

typedef struct mat
{
	rp_csr		m;
	int64_t    *ip;
	int32_t    *ix;
	double	   *v;
} mat;

static void
mat_alloc(mat *a, int32_t rows, int64_t nnz)
{
	a->ip = calloc((size_t) rows + 1, sizeof(int64_t));
	a->ix = calloc((size_t) nnz + 1, sizeof(int32_t));
	a->v = calloc((size_t) nnz + 1, sizeof(double));
	a->m.indptr = a->ip;
	a->m.indices = a->ix;
	a->m.values = a->v;
}

static void
mat_free(mat *a)
{
	free(a->ip);
	free(a->ix);
	free(a->v);
}

/* CSR from a dense row-major matrix (zeros skipped) */
static void
mat_from_dense(mat *a, const double *d, int32_t rows, int32_t cols)
{
	int64_t		nnz = 0;

	for (int64_t i = 0; i < (int64_t) rows * cols; i++)
		nnz += d[i] != 0.0;
	mat_alloc(a, rows, nnz);
	nnz = 0;
	for (int32_t r = 0; r < rows; r++)
	{
		for (int32_t c = 0; c < cols; c++)
			if (d[(int64_t) r * cols + c] != 0.0)
			{
				a->ix[nnz] = c;
				a->v[nnz++] = d[(int64_t) r * cols + c];
			}
		a->ip[r + 1] = nnz;
	}
	a->m.n_rows = rows;
	a->m.n_cols = cols;
	a->m.nnz = nnz;
}

static void
mat_transpose(const mat *a, mat *t)
{
	mat_alloc(t, a->m.n_cols, a->m.nnz);
	rp_csr_transpose(&a->m, &t->m);
}

/* naive: similarity matrix of the rows of dense d (rows x cols) */
static void
naive_sims(const double *d, int32_t rows, int32_t cols, double shrink, double *S)
{
	for (int32_t i = 0; i < rows; i++)
		for (int32_t j = 0; j < rows; j++)
		{
			double		dot = 0, ni = 0, nj = 0;
			int			ov = 0;

			for (int32_t c = 0; c < cols; c++)
			{
				double		x = d[(int64_t) i * cols + c];
				double		y = d[(int64_t) j * cols + c];

				dot += x * y;
				ni += x * x;
				nj += y * y;
				ov += (x != 0 && y != 0);
			}
			S[(int64_t) i * rows + j] = (ni > 0 && nj > 0) ? dot / sqrt(ni * nj) : 0;
			if (shrink > 0)
				S[(int64_t) i * rows + j] *= ov / (ov + shrink);
		}
}

/* checks a kNN result against the naive top-k of the similarity matrix S */
static void
check_topk(const rp_csr *out, const double *S, int32_t n, int32_t k)
{
	for (int32_t i = 0; i < n; i++)
	{
		int32_t		expect = 0;
		double		kth;
		double	   *row = malloc((size_t) n * sizeof(double));
		int32_t		cnt = 0;

		/* the k-th best positive similarity of row i (excluding i) */
		for (int32_t j = 0; j < n; j++)
			row[j] = (j == i) ? 0.0 : S[(int64_t) i * n + j];
		for (int32_t j = 0; j < n; j++)
			expect += row[j] > 1e-12;
		if (expect > k)
			expect = k;
		CHECK(out->indptr[i + 1] - out->indptr[i] == expect);
		kth = 2.0;
		for (int64_t p = out->indptr[i]; p < out->indptr[i + 1]; p++)
		{
			int32_t		j = out->indices[p];

			CHECK(j != i);
			CHECK_NEAR(out->values[p], row[j], 1e-12);
			if (p > out->indptr[i])
				CHECK(out->indices[p - 1] < j);
			if (out->values[p] < kth)
				kth = out->values[p];
		}
		/* nothing left out is better than the worst kept (beyond rounding) */
		for (int32_t j = 0; j < n; j++)
		{
			int			kept = rp_csr_get(out, i, j) != 0.0;

			if (!kept && j != i && row[j] > kth + 1e-12)
				cnt++;
		}
		CHECK(cnt == 0);
		free(row);
	}
}

static void
run_fit(const mat *A, const mat *AT, rp_knn_params *p, mat *out)
{
	void	   *work = aligned_alloc(64, (rp_knn_workspace_size(A->m.n_rows, p->k, p->nthreads) + 63) & ~(size_t) 63);

	mat_alloc(out, A->m.n_rows, (int64_t) A->m.n_rows * p->k);
	CHECK(rp_knn_fit(&A->m, &AT->m, p, &out->m, work, NULL) == RP_OK);
	free(work);
}

/*
 * Hand example: three items bought by four users.
 *	  user:	  u0 u1 u2 u3
 *	  item a:  1  1  0  0
 *	  item b:  1  1  1  0
 *	  item c:  0  0  1  1
 * cos(a,b) = 2/sqrt(2*3) = 0.8165, cos(b,c) = 1/sqrt(3*2) = 0.4082, cos(a,c) = 0.
 * With shrink 1: s(a,b) = 0.8165 * 2/3 = 0.5443, s(b,c) = 0.4082 / 2 = 0.2041.
 */
static void
test_hand_example(void)
{
	double		d[] = {1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1};
	mat			A, AT, out;
	rp_knn_params p = {2, 0.0, 1};

	mat_from_dense(&A, d, 3, 4);
	mat_transpose(&A, &AT);
	run_fit(&A, &AT, &p, &out);
	CHECK(out.m.nnz == 4);
	CHECK_NEAR(rp_csr_get(&out.m, 0, 1), 2.0 / sqrt(6.0), 1e-15);
	CHECK(rp_csr_get(&out.m, 0, 2) == 0.0);
	CHECK_NEAR(rp_csr_get(&out.m, 1, 0), 2.0 / sqrt(6.0), 1e-15);
	CHECK_NEAR(rp_csr_get(&out.m, 1, 2), 1.0 / sqrt(6.0), 1e-15);
	CHECK_NEAR(rp_csr_get(&out.m, 2, 1), 1.0 / sqrt(6.0), 1e-15);
	mat_free(&out);

	p.shrink = 1.0;
	p.k = 1;
	run_fit(&A, &AT, &p, &out);
	CHECK(out.m.nnz == 3);
	CHECK_NEAR(rp_csr_get(&out.m, 0, 1), 2.0 / sqrt(6.0) * 2.0 / 3.0, 1e-15);
	CHECK_NEAR(rp_csr_get(&out.m, 1, 0), 2.0 / sqrt(6.0) * 2.0 / 3.0, 1e-15);
	CHECK_NEAR(rp_csr_get(&out.m, 2, 1), 1.0 / sqrt(6.0) * 0.5, 1e-15);

	/* item scores: a user who bought a (twice) and c once */
	{
		int32_t		hi[] = {0, 2};
		double		hv[] = {2.0, 1.0};
		double		sc[3];

		rp_knn_score_items(&out.m, hi, hv, 2, sc);
		CHECK(sc[0] == 0.0);
		CHECK_NEAR(sc[1], 2.0 * (2.0 / sqrt(6.0) * 2.0 / 3.0) + 1.0 * (1.0 / sqrt(6.0) * 0.5), 1e-15);
		CHECK(sc[2] == 0.0);
	}
	mat_free(&out);
	mat_free(&A);
	mat_free(&AT);
}

/* random sparse data against the naive reference, for several k and shrink */
static void
test_random_vs_naive(void)
{
	enum
	{
	R = 60, C = 45};
	double	   *d = calloc(R * C, sizeof(double));
	double	   *S = malloc(R * R * sizeof(double));
	mat			A, AT, out;

	rng_state = 7;
	for (int i = 0; i < R * C; i++)
		if (rnd() < 0.12)
			d[i] = 1.0 + floor(rnd() * 3.0);
	/* a duplicate row makes exact ties; an empty row has no neighbours */
	memcpy(d + 5 * C, d + 9 * C, C * sizeof(double));
	memset(d + 11 * C, 0, C * sizeof(double));
	mat_from_dense(&A, d, R, C);
	mat_transpose(&A, &AT);

	for (int k = 1; k <= 70; k += 23)
		for (int s = 0; s < 2; s++)
		{
			rp_knn_params p = {k, s ? 3.5 : 0.0, 1};

			naive_sims(d, R, C, p.shrink, S);
			run_fit(&A, &AT, &p, &out);
			check_topk(&out.m, S, R, k);
			CHECK(out.m.indptr[12] == out.m.indptr[11]);
			mat_free(&out);
		}
	free(d);
	free(S);
	mat_free(&A);
	mat_free(&AT);
}

/* ties: equal similarities keep the smaller index */
static void
test_ties(void)
{
	/* rows 1, 2, 3 are identical, so all are equally similar to row 0 */
	double		d[] = {1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0};
	mat			A, AT, out;
	rp_knn_params p = {2, 0.0, 1};
	void	   *qw;
	int32_t		qi[2];
	double		qs[2];
	int32_t		nq;
	int32_t		qidx[] = {0, 1};
	double		qval[] = {1, 1};
	double		norms[4];

	mat_from_dense(&A, d, 4, 3);
	mat_transpose(&A, &AT);
	run_fit(&A, &AT, &p, &out);
	CHECK(out.m.indptr[1] == 2 && out.m.indices[0] == 1 && out.m.indices[1] == 2);

	/* the fold-in query of row 0's vector gives the same, best first */
	rp_knn_row_norms(&A.m, norms);
	qw = malloc(rp_knn_query_workspace_size(4, 2));
	CHECK(rp_knn_query(&AT.m, norms, 4, qidx, qval, 2, 0, &p, qi, qs, &nq, qw) == RP_OK);
	CHECK(nq == 2 && qi[0] == 1 && qi[1] == 2);
	CHECK_NEAR(qs[0], 1.0 / sqrt(2.0), 1e-15);
	/* without exclusion, the row itself comes first with similarity 1 */
	CHECK(rp_knn_query(&AT.m, norms, 4, qidx, qval, 2, -1, &p, qi, qs, &nq, qw) == RP_OK);
	CHECK(nq == 2 && qi[0] == 0 && qi[1] == 1);
	CHECK_NEAR(qs[0], 1.0, 1e-15);
	free(qw);
	mat_free(&out);
	mat_free(&A);
	mat_free(&AT);
}

/* TF-IDF and BM25 weights match their formulas entry by entry */
static void
test_weighting(void)
{
	double		d[] = {3, 0, 1, 0,
		1, 1, 0, 0,
	0, 2, 1, 5};
	mat			A;
	double		w[7];
	double		df[] = {2, 2, 2, 1};
	double		len[] = {4, 2, 8};
	double		avg = 14.0 / 3.0;
	void	   *work;

	mat_from_dense(&A, d, 3, 4);
	work = malloc(rp_knn_weight_workspace_size(&A.m));
	CHECK(rp_knn_weight(&A.m, RP_KNN_WEIGHT_TFIDF, 0, 0, w, work) == RP_OK);
	for (int32_t r = 0; r < 3; r++)
		for (int64_t p = A.ip[r]; p < A.ip[r + 1]; p++)
			CHECK_NEAR(w[p], A.v[p] * (log(4.0 / (1.0 + df[A.ix[p]])) + 1.0), 1e-15);

	CHECK(rp_knn_weight(&A.m, RP_KNN_WEIGHT_BM25, 1.2, 0.75, w, work) == RP_OK);
	for (int32_t r = 0; r < 3; r++)
		for (int64_t p = A.ip[r]; p < A.ip[r + 1]; p++)
		{
			double		x = A.v[p];
			double		nd = df[A.ix[p]];
			double		idf = log(1.0 + (3.0 - nd + 0.5) / (nd + 0.5));
			double		expect = x * 2.2 / (x + 1.2 * (0.25 + 0.75 * len[r] / avg)) * idf;

			CHECK_NEAR(w[p], expect, 1e-15);
		}

	/* a vector weighted alone as a row of A: the same values */
	{
		double		idf[4];
		double		avglen;
		double		one[3];

		CHECK(rp_knn_idf(&A.m, RP_KNN_WEIGHT_BM25, idf, &avglen) == RP_OK);
		CHECK_NEAR(avglen, avg, 1e-15);
		rp_knn_weight_row(RP_KNN_WEIGHT_BM25, 1.2, 0.75, idf, avglen, A.ix + A.ip[2],
						  A.v + A.ip[2], A.ip[3] - A.ip[2], one);
		for (int64_t p = A.ip[2]; p < A.ip[3]; p++)
			CHECK(one[p - A.ip[2]] == w[p]);
	}
	CHECK(rp_knn_weight(&A.m, RP_KNN_WEIGHT_NONE, 0, 0, w, work) == RP_OK);
	CHECK(memcmp(w, A.v, sizeof(w)) == 0);
	CHECK(rp_knn_weight(&A.m, RP_KNN_WEIGHT_BM25, 0.0, 0.75, w, work) == RP_EINVAL);
	A.v[2] = -1.0;
	CHECK(rp_knn_weight(&A.m, RP_KNN_WEIGHT_BM25, 1.2, 0.75, w, work) == RP_EINVAL);
	A.v[2] = NAN;
	CHECK(rp_knn_weight(&A.m, RP_KNN_WEIGHT_NONE, 1.2, 0.75, w, work) == RP_ENUMERIC);
	free(work);
	mat_free(&A);
}

/* larger power-law data: every thread count gives identical bytes */
static void
test_threads_identical(void)
{
	enum
	{
	U = 900, I = 400, N = 20000};
	int32_t    *rows = malloc(N * sizeof(int32_t));
	int32_t    *cols = malloc(N * sizeof(int32_t));
	double	   *vals = malloc(N * sizeof(double));
	mat			X, A, ref, out;
	void	   *cw = malloc(rp_csr_from_coo_workspace(U));

	rng_state = 99;
	for (int i = 0; i < N; i++)
	{
		rows[i] = (int32_t) (U * pow(rnd(), 2.0));
		cols[i] = (int32_t) (I * pow(rnd(), 3.0));
		vals[i] = 1.0 + floor(rnd() * 4);
	}
	mat_alloc(&X, U, N);
	CHECK(rp_csr_from_coo(U, I, N, rows, cols, vals, &X.m, cw) == RP_OK);
	mat_transpose(&X, &A);		/* items x users */

	for (int w = 0; w < 3; w++)
	{
		mat			Aw, ATw;
		void	   *ww = malloc(rp_knn_weight_workspace_size(&A.m));

		mat_alloc(&Aw, A.m.n_rows, A.m.nnz);
		memcpy(Aw.ip, A.ip, (A.m.n_rows + 1) * sizeof(int64_t));
		memcpy(Aw.ix, A.ix, A.m.nnz * sizeof(int32_t));
		Aw.m.n_rows = A.m.n_rows;
		Aw.m.n_cols = A.m.n_cols;
		Aw.m.nnz = A.m.nnz;
		CHECK(rp_knn_weight(&A.m, (rp_knn_weighting) w, 1.2, 0.75, Aw.v, ww) == RP_OK);
		mat_transpose(&Aw, &ATw);
		for (int t = 1; t <= 4; t++)
		{
			rp_knn_params p = {20, w == 0 ? 0.0 : 10.0, t};

			run_fit(&Aw, &ATw, &p, t == 1 ? &ref : &out);
			if (t > 1)
			{
				CHECK(out.m.nnz == ref.m.nnz);
				CHECK(memcmp(out.ip, ref.ip, (I + 1) * sizeof(int64_t)) == 0);
				CHECK(memcmp(out.ix, ref.ix, ref.m.nnz * sizeof(int32_t)) == 0);
				CHECK(memcmp(out.v, ref.v, ref.m.nnz * sizeof(double)) == 0);
				mat_free(&out);
			}
		}
		/* and the single-thread result agrees with the naive reference */
		{
			double	   *d = calloc((size_t) I * U, sizeof(double));
			double	   *S = malloc((size_t) I * I * sizeof(double));

			for (int32_t r = 0; r < I; r++)
				for (int64_t p = Aw.ip[r]; p < Aw.ip[r + 1]; p++)
					d[(int64_t) r * U + Aw.ix[p]] = Aw.v[p];
			naive_sims(d, I, U, w == 0 ? 0.0 : 10.0, S);
			check_topk(&ref.m, S, I, 20);
			free(d);
			free(S);
		}
		mat_free(&ref);
		mat_free(&Aw);
		mat_free(&ATw);
		free(ww);
	}
	mat_free(&A);
	mat_free(&X);
	free(rows);
	free(cols);
	free(vals);
	free(cw);
}

/* user-based scores are the similarity-weighted sum of neighbours' rows */
static void
test_score_users(void)
{
	double		d[] = {1, 0, 2, 0, 3, 1};
	mat			X;
	int32_t		nb[] = {2, 0};
	double		sim[] = {0.5, 0.25};
	double		sc[2];

	mat_from_dense(&X, d, 3, 2);
	rp_knn_score_users(&X.m, nb, sim, 2, sc);
	CHECK_NEAR(sc[0], 0.5 * 3 + 0.25 * 1, 1e-15);
	CHECK_NEAR(sc[1], 0.5 * 1, 1e-15);
	mat_free(&X);
}

static int	calls;
static int
stop_now(void *arg)
{
	return ++calls > 1;
}

static void
test_cancel_and_bad_args(void)
{
	double	   *d = calloc(300 * 10, sizeof(double));
	mat			A, AT, out;
	rp_knn_params p = {5, 0.0, 1};
	rp_cancel	c = {stop_now, NULL};
	void	   *work;

	for (int i = 0; i < 300; i++)
		d[i * 10 + i % 10] = 1.0;
	mat_from_dense(&A, d, 300, 10);
	mat_transpose(&A, &AT);
	work = aligned_alloc(64, (rp_knn_workspace_size(300, 5, 1) + 63) & ~(size_t) 63);
	mat_alloc(&out, 300, 300 * 5);
	calls = 0;
	CHECK(rp_knn_fit(&A.m, &AT.m, &p, &out.m, work, &c) == RP_ECANCELED);
	p.k = 0;
	CHECK(rp_knn_fit(&A.m, &AT.m, &p, &out.m, work, NULL) == RP_EINVAL);
	p.k = 5;
	p.shrink = -1;
	CHECK(rp_knn_fit(&A.m, &AT.m, &p, &out.m, work, NULL) == RP_EINVAL);
	p.shrink = NAN;
	CHECK(rp_knn_fit(&A.m, &AT.m, &p, &out.m, work, NULL) == RP_EINVAL);
	/* A and AT that do not match */
	p.shrink = 0;
	CHECK(rp_knn_fit(&AT.m, &AT.m, &p, &out.m, work, NULL) == RP_EINVAL);
	free(work);
	free(d);
	mat_free(&out);
	mat_free(&A);
	mat_free(&AT);
}

/*
 * The fit computes each pair once and offers it to both rows; the fold-in
 * query runs the row-by-row kernel (every pair from both sides).  Row i of
 * the fit must equal, bit for bit, the query of A's row i excluding i,
 * sorted by column: for any thread count, k, shrink, with ties (repeated
 * rows, small integer values) and skewed row lengths.
 */
static void
test_fit_equals_rowwise(void)
{
	int32_t		rows = 260, cols = 90;
	double	   *d = calloc((size_t) rows * cols, sizeof(double));
	int32_t		ks[] = {1, 3, 20, 300};
	double		shrinks[] = {0.0, 2.5};
	mat			A, AT;
	double	   *norms = malloc((size_t) rows * sizeof(double));
	int32_t    *qi = malloc((size_t) 300 * sizeof(int32_t));
	double	   *qs = malloc((size_t) 300 * sizeof(double));

	rng_state = 1234;
	for (int32_t i = 0; i < rows; i++)
	{
		/* popular columns first: row lengths and column counts are skewed */
		double		dens = 0.5 / (1.0 + (i % 37));

		if (i >= 8 && i % 13 == 0)
		{
			/* a copy of an earlier row: exact ties */
			memcpy(d + (int64_t) i * cols, d + (int64_t) (i - 8) * cols, (size_t) cols * sizeof(double));
			continue;
		}
		for (int32_t c = 0; c < cols; c++)
			if (rnd() < dens * 3.0 / (1.0 + c * 0.05))
				d[(int64_t) i * cols + c] = (double) (1 + (int) (rnd() * 3));
	}
	mat_from_dense(&A, d, rows, cols);
	mat_transpose(&A, &AT);
	rp_knn_row_norms(&A.m, norms);
	for (int ki = 0; ki < 4; ki++)
		for (int si = 0; si < 2; si++)
			for (int th = 1; th <= 4; th++)
			{
				rp_knn_params p = {ks[ki], shrinks[si], th};
				mat			out;
				void	   *qw = aligned_alloc(64, (rp_knn_query_workspace_size(rows, p.k) + 63) & ~(size_t) 63);
				int			bad = 0;

				run_fit(&A, &AT, &p, &out);
				for (int32_t i = 0; i < rows; i++)
				{
					int64_t		b = A.ip[i];
					int32_t		n_out;
					int64_t		o = out.ip[i];

					CHECK(rp_knn_query(&AT.m, norms, rows, A.ix + b, A.v + b,
									   (int32_t) (A.ip[i + 1] - b), i, &p, qi, qs,
									   &n_out, qw) == RP_OK);
					if (out.ip[i + 1] - o != n_out)
					{
						bad++;
						continue;
					}
					/* the query is best first: find each kept column in it */
					for (int32_t t = 0; t < n_out; t++)
					{
						int			found = 0;

						for (int32_t q = 0; q < n_out; q++)
							if (qi[q] == out.ix[o + t])
								found = memcmp(&qs[q], &out.v[o + t], sizeof(double)) == 0;
						bad += !found;
					}
				}
				CHECK(bad == 0);
				free(qw);
				mat_free(&out);
			}
	mat_free(&A);
	mat_free(&AT);
	free(d);
	free(norms);
	free(qi);
	free(qs);
}

int
main(void)
{
	RUN(test_hand_example);
	RUN(test_random_vs_naive);
	RUN(test_ties);
	RUN(test_weighting);
	RUN(test_threads_identical);
	RUN(test_fit_equals_rowwise);
	RUN(test_score_users);
	RUN(test_cancel_and_bad_args);
	UNIT_DONE();
}
