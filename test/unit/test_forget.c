/*
 * test_forget.c
 *	  Erasure core (rp_forget.c, rp_als_solve_items): every piece against a
 *	  recomputation from scratch on the data without the erased rows -
 *	  the Sherman-Morrison downdate and the Schur removal of the EASE
 *	  inverse against rp_ease_inverse, the partial kNN refit against
 *	  rp_knn_fit (bit for bit), the CSR drop, packing, and the ALS item
 *	  re-solve against a full half-step.
 */
#include "unit.h"
#include "rp_als.h"
#include "rp_ease.h"
#include "rp_forget.h"
#include "rp_knn.h"

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
free_csr(rp_csr *m)
{
	free(m->indptr);
	free(m->indices);
	free(m->values);
}

static void
alloc_csr(rp_csr *m, int32_t rows, int64_t nnz)
{
	m->indptr = calloc(rows + 1, sizeof(int64_t));
	m->indices = malloc((nnz + 1) * sizeof(int32_t));
	m->values = malloc((nnz + 1) * sizeof(double));
}

/* random users x items data with density p, values 1..3 */
static double *
random_data(int32_t U, int32_t n, double p)
{
	double	   *d = calloc((size_t) U * n, sizeof(double));

	for (int32_t i = 0; i < U * n; i++)
		if (rnd() < p)
			d[i] = 1.0 + (double) (int) (3 * rnd());
	return d;
}

/* maps keeping everything but drop_row / drop_col (-1: none) */
static int32_t
make_map(int32_t n, int32_t drop, int32_t *map)
{
	int32_t		k = 0;

	for (int32_t i = 0; i < n; i++)
		map[i] = i == drop ? -1 : k++;
	return k;
}

static void
test_csr_drop(void)
{
	double		d[] = {1, 0, 2, 0, 3, 4, 5, 0, 6};
	rp_csr		R;
	rp_csr		out;
	int32_t		rm[3];
	int32_t		cm[3];

	to_csr(d, 3, 3, &R);
	alloc_csr(&out, 2, R.nnz);
	make_map(3, 1, rm);
	make_map(3, 0, cm);
	rp_forget_csr_drop(&R, rm, cm, 2, 2, &out);
	CHECK(out.nnz == 2);
	CHECK(out.indptr[1] == 1 && out.indices[0] == 1 && out.values[0] == 2);
	CHECK(out.indptr[2] == 2 && out.indices[1] == 1 && out.values[1] == 6);
	free_csr(&R);
	free_csr(&out);
}

static void
test_pack(void)
{
	int32_t		n = 5;
	double		P[25];
	double		Q[25];

	for (int i = 0; i < n; i++)
		for (int j = i; j < n; j++)
			P[i * n + j] = P[j * n + i] = rnd();
	memcpy(Q, P, sizeof(P));
	rp_ease_pack(Q, n);
	{
		double		R[25];

		rp_ease_unpack(Q, n, R);
		for (int i = 0; i < 25; i++)
			CHECK(R[i] == P[i]);
	}
}

/* the downdate of a user's row, and the removal of an item, against a refit */
static void
test_ease_downdate_and_drop(void)
{
	int32_t		U = 60;
	int32_t		n = 25;
	double		lambda = 3.0;
	double	   *d = random_data(U, n, 0.3);
	rp_csr		X;
	rp_csr		X2;
	double	   *P = malloc((size_t) n * n * sizeof(double));
	double	   *P2 = malloc((size_t) n * n * sizeof(double));
	double	   *work = malloc((size_t) n * sizeof(double));
	int32_t		u = 7;

	/* item 4 only bought by user u: it leaves the model with them */
	for (int32_t r = 0; r < U; r++)
		d[r * n + 4] = r == u ? 2.0 : 0.0;
	d[u * n + 0] = 1.0;
	to_csr(d, U, n, &X);
	CHECK(rp_ease_inverse(&X, lambda, P, NULL) == RP_OK);
	{
		int64_t		b = X.indptr[u];

		CHECK(rp_ease_downdate(P, n, X.indices + b, X.values + b,
							   (int32_t) (X.indptr[u + 1] - b), work) == RP_OK);
	}
	/* then drop item 4 (Schur) */
	{
		int32_t		drop[1] = {4};
		double	   *Pn = malloc((size_t) (n - 1) * (n - 1) * sizeof(double));
		void	   *w2 = malloc(rp_ease_drop_workspace_size(n, 1));
		double	   *d2 = calloc((size_t) (U - 1) * (n - 1), sizeof(double));
		double	   *ref = malloc((size_t) (n - 1) * (n - 1) * sizeof(double));
		double		maxdiff = 0;

		CHECK(rp_ease_drop(P, n, drop, 1, Pn, w2) == RP_OK);
		/* the reference: refit without user u and item 4 */
		for (int32_t r = 0, rr = 0; r < U; r++)
		{
			if (r == u)
				continue;
			for (int32_t c = 0, cc = 0; c < n; c++)
				if (c != 4)
					d2[rr * (n - 1) + cc++] = d[r * n + c];
			rr++;
		}
		to_csr(d2, U - 1, n - 1, &X2);
		CHECK(rp_ease_inverse(&X2, lambda, ref, NULL) == RP_OK);
		for (int i = 0; i < (n - 1) * (n - 1); i++)
		{
			double		e = fabs(Pn[i] - ref[i]) / fmax(1e-300, fabs(ref[(i / (n - 1)) * n - (i / (n - 1))]));

			if (fabs(Pn[i] - ref[i]) > maxdiff)
				maxdiff = fabs(Pn[i] - ref[i]);
			(void) e;
		}
		CHECK(maxdiff < 1e-12);
		/* B from P against rp_ease_fit */
		{
			float	   *B = malloc((size_t) (n - 1) * (n - 1) * sizeof(float));
			double	   *Bd = malloc((size_t) (n - 1) * (n - 1) * sizeof(double));
			double	   *wk = malloc((size_t) n * sizeof(double));
			float	   *B2 = malloc((size_t) (n - 1) * (n - 1) * sizeof(float));
			double	   *pk = malloc((size_t) (n - 1) * (n - 1) * sizeof(double));

			CHECK(rp_ease_b_from_p(ref, n - 1, B, wk) == RP_OK);
			CHECK(rp_ease_fit(&X2, lambda, Bd, wk, NULL) == RP_OK);
			for (int i = 0; i < (n - 1) * (n - 1); i++)
				CHECK(B[i] == (float) Bd[i]);
			/* the packed path gives the same bits */
			memcpy(pk, ref, (size_t) (n - 1) * (n - 1) * sizeof(double));
			rp_ease_pack(pk, n - 1);
			CHECK(rp_ease_b_from_packed(pk, n - 1, B2, wk) == RP_OK);
			CHECK(memcmp(B, B2, (size_t) (n - 1) * (n - 1) * sizeof(float)) == 0);
			free(B2);
			free(pk);
			free(B);
			free(Bd);
			free(wk);
		}
		free(Pn);
		free(w2);
		free(d2);
		free(ref);
		free_csr(&X2);
	}
	free(P);
	free(P2);
	free(work);
	free(d);
	free_csr(&X);
}

/* the packed downdate agrees with the full one; B by tiles over n > 64 */
static void
test_ease_downdate_packed(void)
{
	int32_t		U = 300;
	int32_t		n = 150;
	double	   *d = random_data(U, n, 0.05);
	rp_csr		X;
	double	   *P = malloc((size_t) n * n * sizeof(double));
	double	   *Pp = malloc((size_t) n * n * sizeof(double));
	double	   *full = malloc((size_t) n * n * sizeof(double));
	double	   *work = malloc((size_t) n * sizeof(double));
	float	   *B1 = malloc((size_t) n * n * sizeof(float));
	float	   *B2 = malloc((size_t) n * n * sizeof(float));
	double		maxdiff = 0;
	int32_t		u = 11;

	to_csr(d, U, n, &X);
	CHECK(rp_ease_inverse(&X, 5.0, P, NULL) == RP_OK);
	memcpy(Pp, P, (size_t) n * n * sizeof(double));
	rp_ease_pack(Pp, n);
	{
		int64_t		b = X.indptr[u];
		int32_t		c = (int32_t) (X.indptr[u + 1] - b);

		CHECK(c > 0);
		CHECK(rp_ease_downdate(P, n, X.indices + b, X.values + b, c, work) == RP_OK);
		CHECK(rp_ease_downdate_packed(Pp, n, X.indices + b, X.values + b, c, work) == RP_OK);
	}
	rp_ease_unpack(Pp, n, full);
	for (int i = 0; i < n * n; i++)
		maxdiff = fmax(maxdiff, fabs(full[i] - P[i]));
	CHECK(maxdiff < 1e-14);
	CHECK(rp_ease_b_from_p(full, n, B1, work) == RP_OK);
	CHECK(rp_ease_b_from_packed(Pp, n, B2, work) == RP_OK);
	CHECK(memcmp(B1, B2, (size_t) n * n * sizeof(float)) == 0);
	free(P);
	free(Pp);
	free(full);
	free(work);
	free(B1);
	free(B2);
	free(d);
	free_csr(&X);
}

/* several items dropped at once (forget_item of one, plus bad arguments) */
static void
test_ease_drop_many(void)
{
	int32_t		U = 40;
	int32_t		n = 12;
	double	   *d = random_data(U, n, 0.4);
	rp_csr		X;
	rp_csr		X2;
	double	   *P = malloc((size_t) n * n * sizeof(double));
	int32_t		drop[3] = {0, 5, 11};
	int32_t		na = n - 3;
	double	   *Pn = malloc((size_t) na * na * sizeof(double));
	double	   *ref = malloc((size_t) na * na * sizeof(double));
	void	   *w = malloc(rp_ease_drop_workspace_size(n, 3));
	double	   *d2 = calloc((size_t) U * na, sizeof(double));
	double		maxdiff = 0;

	to_csr(d, U, n, &X);
	CHECK(rp_ease_inverse(&X, 2.0, P, NULL) == RP_OK);
	CHECK(rp_ease_drop(P, n, drop, 3, Pn, w) == RP_OK);
	for (int32_t r = 0; r < U; r++)
		for (int32_t c = 0, cc = 0; c < n; c++)
			if (c != 0 && c != 5 && c != 11)
				d2[r * na + cc++] = d[r * n + c];
	to_csr(d2, U, na, &X2);
	CHECK(rp_ease_inverse(&X2, 2.0, ref, NULL) == RP_OK);
	for (int i = 0; i < na * na; i++)
		maxdiff = fmax(maxdiff, fabs(Pn[i] - ref[i]));
	CHECK(maxdiff < 1e-12);
	{
		int32_t		bad[2] = {3, 3};

		CHECK(rp_ease_drop(P, n, bad, 2, Pn, w) == RP_EINVAL);
	}
	free(P);
	free(Pn);
	free(ref);
	free(w);
	free(d);
	free(d2);
	free_csr(&X);
	free_csr(&X2);
}

/* a denominator that cancels is refused */
static void
test_ease_downdate_unstable(void)
{
	double		P[1] = {1.0};
	int32_t		idx[1] = {0};
	double		val[1] = {1.0};
	double		work[1];

	/* G = 1 = x x^T: G - x x^T is singular */
	CHECK(rp_ease_downdate(P, 1, idx, val, 1, work) == RP_ENUMERIC);
}

/* item kNN: remove a user, recompute the co-occurring rows only */
static void
knn_fit_full(const rp_csr *R, int32_t k, double shrink, rp_csr *S)
{
	rp_csr		A;
	rp_csr		AT;
	rp_knn_params p = {k, shrink, 1};
	void	   *work = calloc(1, rp_knn_workspace_size(R->n_cols, k, 1));

	alloc_csr(&A, R->n_cols, R->nnz);
	rp_csr_transpose(R, &A);
	alloc_csr(&AT, R->n_rows, R->nnz);
	rp_csr_transpose(&A, &AT);
	alloc_csr(S, R->n_cols, (int64_t) R->n_cols * k);
	CHECK(rp_knn_fit(&A, &AT, &p, S, work, NULL) == RP_OK);
	free(work);
	free_csr(&A);
	free_csr(&AT);
}

static void
test_knn_refit(void)
{
	int32_t		U = 80;
	int32_t		n = 40;
	int32_t		k = 6;
	double	   *d = random_data(U, n, 0.08);
	rp_csr		R;
	rp_csr		Rn;
	rp_csr		S_old;
	rp_csr		S_ref;
	rp_csr		S;
	rp_csr		A;
	rp_csr		AT;
	int32_t		u = 3;
	int32_t		umap[80];
	int32_t		imap[40];
	int32_t		iold[40];
	uint8_t		mark_old[40] = {0};
	uint8_t		mark[40] = {0};
	int32_t		touched[40];
	int32_t		nt = 0;
	double		norms[40];
	int32_t		nu;
	rp_knn_params p = {k, 2.0, 1};
	void	   *work;
	int64_t		cap = 0;
	int32_t		nmark = 0;

	to_csr(d, U, n, &R);
	knn_fit_full(&R, k, 2.0, &S_old);
	nu = make_map(U, u, umap);
	make_map(n, -1, imap);
	for (int32_t i = 0; i < n; i++)
		iold[i] = i;
	for (int64_t q = R.indptr[u]; q < R.indptr[u + 1]; q++)
		touched[nt++] = R.indices[q];
	alloc_csr(&Rn, nu, R.nnz);
	rp_forget_csr_drop(&R, umap, imap, nu, n, &Rn);
	knn_fit_full(&Rn, k, 2.0, &S_ref);

	{
		uint8_t		tm[40] = {0};

		for (int32_t t = 0; t < nt; t++)
			tm[touched[t]] = 1;
		rp_knn_cooccur(&R, tm, mark_old);
	}
	alloc_csr(&A, n, Rn.nnz);
	rp_csr_transpose(&Rn, &A);
	alloc_csr(&AT, nu, Rn.nnz);
	rp_csr_transpose(&A, &AT);
	rp_knn_row_norms(&A, norms);
	for (int32_t i = 0; i < n; i++)
	{
		mark[i] = mark_old[i];
		nmark += mark[i];
		cap += mark[i] ? k : S_old.indptr[i + 1] - S_old.indptr[i];
	}
	CHECK(nmark > 0 && nmark < n);
	alloc_csr(&S, n, cap);
	work = calloc(1, rp_knn_refit_workspace_size(n, k));
	CHECK(rp_knn_refit_rows(&A, &AT, norms, &p, &S_old, iold, imap, mark, &S, cap, work, NULL) == RP_OK);
	CHECK(S.nnz == S_ref.nnz);
	for (int32_t i = 0; i <= n; i++)
		CHECK(S.indptr[i] == S_ref.indptr[i]);
	for (int64_t q = 0; q < S.nnz && q < S_ref.nnz; q++)
	{
		CHECK(S.indices[q] == S_ref.indices[q]);
		CHECK(S.values[q] == S_ref.values[q]);
	}
	/* the capacity is honoured */
	CHECK(rp_knn_refit_rows(&A, &AT, norms, &p, &S_old, iold, imap, mark, &S, 1, work, NULL) == RP_EINVAL);
	free(work);
	free(d);
	free_csr(&R);
	free_csr(&Rn);
	free_csr(&S_old);
	free_csr(&S_ref);
	free_csr(&S);
	free_csr(&A);
	free_csr(&AT);
}

/* ALS: re-solving every item equals the item half-step of an iteration */
static void
test_als_solve_items(void)
{
	for (int method = 0; method < 2; method++)
	{
		int32_t		U = 30;
		int32_t		n = 20;
		double	   *d = random_data(U, n, 0.25);
		rp_csr		R;
		rp_csr		T;
		rp_als_params p;
		rp_als_model m;
		rp_als_model m2;
		int32_t		dim;
		size_t		ws;
		void	   *work;
		int32_t		all[20];
		double		loss;

		memset(&p, 0, sizeof(p));
		p.method = method == 0 ? RP_ALS_IMPLICIT : RP_ALS_EXPLICIT;
		p.solver = RP_ALS_CHOLESKY;
		p.factors = 4;
		p.regularization = 0.1;
		p.alpha = 2.0;
		p.cg_steps = 3;
		p.threads = 1;
		dim = rp_als_dim(&p);
		to_csr(d, U, n, &R);
		alloc_csr(&T, n, R.nnz);
		rp_csr_transpose(&R, &T);
		memset(&m, 0, sizeof(m));
		m.user_factors = malloc((size_t) U * dim * sizeof(double));
		m.item_factors = malloc((size_t) n * dim * sizeof(double));
		CHECK(rp_als_init(&p, &R, 5, &m) == RP_OK);
		ws = rp_als_workspace_size(&p, U, n);
		work = malloc(ws);
		CHECK(rp_als_iterate(&p, &R, &T, &m, work, ws, NULL, &loss) == RP_OK);
		/* one more iteration on a copy; its item half-step uses the new users */
		m2 = m;
		m2.user_factors = malloc((size_t) U * dim * sizeof(double));
		m2.item_factors = malloc((size_t) n * dim * sizeof(double));
		memcpy(m2.user_factors, m.user_factors, (size_t) U * dim * sizeof(double));
		memcpy(m2.item_factors, m.item_factors, (size_t) n * dim * sizeof(double));
		CHECK(rp_als_iterate(&p, &R, &T, &m2, work, ws, NULL, &loss) == RP_OK);
		/* solve the items of m against m2's users: must give m2's items */
		memcpy(m.user_factors, m2.user_factors, (size_t) U * dim * sizeof(double));
		for (int32_t i = 0; i < n; i++)
			all[i] = i;
		free(work);
		work = malloc(rp_als_solve_items_workspace_size(&p));
		CHECK(rp_als_solve_items(&p, &m, &T, all, n, work) == RP_OK);
		for (int32_t q = 0; q < n * dim; q++)
			CHECK_NEAR(m.item_factors[q], m2.item_factors[q], 1e-9);
		all[0] = n;
		CHECK(rp_als_solve_items(&p, &m, &T, all, 1, work) == RP_EINVAL);
		free(work);
		free(m.user_factors);
		free(m.item_factors);
		free(m2.user_factors);
		free(m2.item_factors);
		free(d);
		free_csr(&R);
		free_csr(&T);
	}
}

int
main(void)
{
	RUN(test_csr_drop);
	RUN(test_pack);
	RUN(test_ease_downdate_and_drop);
	RUN(test_ease_downdate_packed);
	RUN(test_ease_drop_many);
	RUN(test_ease_downdate_unstable);
	RUN(test_knn_refit);
	RUN(test_als_solve_items);
	UNIT_DONE();
}
