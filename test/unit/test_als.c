/*
 * test_als.c
 *	  rp_als and rp_rng against naive reference code: every row's normal
 *	  equations are rebuilt densely over all items (implicit) or over the
 *	  observed ratings (explicit) and solved by Gaussian elimination; the
 *	  loss is summed cell by cell.  Also: CG reaches the Cholesky answer,
 *	  thread counts give bit-identical factors, fold-in and explanations
 *	  agree with the dense formulas, and bad inputs give their statuses.
 */
#include "unit.h"
#include "rp_als.h"
#include "rp_blas.h"
#include "rp_rng.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

/* ---- problem set-up ------------------------------------------------- */

typedef struct prob
{
	rp_csr		ui;
	rp_csr		iu;
	double	   *dense;			/* n_users x n_items, 0 where absent */
	unsigned char *mask;		/* 1 where stored */
} prob;

static void
prob_make(prob *pr, int nu, int ni, double density, int explicit_,
		  uint64_t seed)
{
	rp_rng		rng;
	int64_t		n = 0;
	int32_t    *rows = malloc(sizeof(int32_t) * nu * ni);
	int32_t    *cols = malloc(sizeof(int32_t) * nu * ni);
	double	   *vals = malloc(sizeof(double) * nu * ni);
	void	   *work = malloc(rp_csr_from_coo_workspace(nu));

	rp_rng_seed(&rng, seed);
	pr->dense = calloc((size_t) nu * ni, sizeof(double));
	pr->mask = calloc((size_t) nu * ni, 1);
	for (int u = 0; u < nu; u++)
		for (int i = 0; i < ni; i++)
		{
			/* power-law-ish popularity: low item numbers are popular */
			double		pr_ = density * 2.0 / (1.0 + 0.2 * i) + 0.02;

			if (rp_rng_uniform(&rng) < pr_ || (i == u % ni))
			{
				double		v = explicit_ ? 1.0 + floor(5.0 * rp_rng_uniform(&rng)) :
					1.0 + floor(3.0 * rp_rng_uniform(&rng));

				rows[n] = u;
				cols[n] = i;
				vals[n] = v;
				pr->dense[(size_t) u * ni + i] = v;
				pr->mask[(size_t) u * ni + i] = 1;
				n++;
			}
		}
	pr->ui.indptr = malloc(sizeof(int64_t) * (nu + 1));
	pr->ui.indices = malloc(sizeof(int32_t) * (n + 1));
	pr->ui.values = malloc(sizeof(double) * (n + 1));
	rp_csr_from_coo(nu, ni, n, rows, cols, vals, &pr->ui, work);
	pr->iu.indptr = malloc(sizeof(int64_t) * (ni + 1));
	pr->iu.indices = malloc(sizeof(int32_t) * (n + 1));
	pr->iu.values = malloc(sizeof(double) * (n + 1));
	rp_csr_transpose(&pr->ui, &pr->iu);
	free(rows);
	free(cols);
	free(vals);
	free(work);
}

static void
prob_free(prob *pr)
{
	free(pr->ui.indptr);
	free(pr->ui.indices);
	free(pr->ui.values);
	free(pr->iu.indptr);
	free(pr->iu.indices);
	free(pr->iu.values);
	free(pr->dense);
	free(pr->mask);
}

static rp_als_params
params(rp_als_method method, rp_als_solver solver, int k)
{
	rp_als_params p;

	memset(&p, 0, sizeof(p));
	p.method = method;
	p.solver = solver;
	p.factors = k;
	p.regularization = 0.1;
	p.alpha = 2.0;
	p.cg_steps = 3;
	p.threads = 1;
	p.compute_loss = 1;
	return p;
}

static void
model_alloc(rp_als_model *m, const rp_als_params *p, const prob *pr)
{
	int			dim = rp_als_dim(p);

	memset(m, 0, sizeof(*m));
	m->user_factors = malloc(sizeof(double) * pr->ui.n_rows * dim);
	m->item_factors = malloc(sizeof(double) * pr->ui.n_cols * dim);
}

static void
model_free(rp_als_model *m)
{
	free(m->user_factors);
	free(m->item_factors);
}

/* runs `iters` iterations; returns the last status, losses into loss[] */
static rp_status
fit(const rp_als_params *p, const prob *pr, rp_als_model *m, int iters,
	double *loss)
{
	size_t		ws = rp_als_workspace_size(p, pr->ui.n_rows, pr->ui.n_cols);
	void	   *work = malloc(ws);
	rp_status	st = RP_OK;

	for (int it = 0; it < iters && st == RP_OK; it++)
		st = rp_als_iterate(p, &pr->ui, &pr->iu, m, work, ws, NULL,
							loss ? &loss[it] : NULL);
	free(work);
	return st;
}

/* ---- naive reference ------------------------------------------------ */

/* solves A z = b (n x n, destroyed) by Gaussian elimination with pivoting */
static void
gauss(int n, double *A, double *b)
{
	for (int c = 0; c < n; c++)
	{
		int			piv = c;

		for (int r = c + 1; r < n; r++)
			if (fabs(A[r * n + c]) > fabs(A[piv * n + c]))
				piv = r;
		for (int j = 0; j < n; j++)
		{
			double		t = A[c * n + j];

			A[c * n + j] = A[piv * n + j];
			A[piv * n + j] = t;
		}
		{
			double		t = b[c];

			b[c] = b[piv];
			b[piv] = t;
		}
		for (int r = c + 1; r < n; r++)
		{
			double		f = A[r * n + c] / A[c * n + c];

			for (int j = c; j < n; j++)
				A[r * n + j] -= f * A[c * n + j];
			b[r] -= f * b[c];
		}
	}
	for (int c = n - 1; c >= 0; c--)
	{
		double		s = b[c];

		for (int j = c + 1; j < n; j++)
			s -= A[c * n + j] * b[j];
		b[c] = s / A[c * n + c];
	}
}

/* value of cell (u, i) seen from the side being solved */
static double
cell(const prob *pr, int side, int row, int other, unsigned char *stored)
{
	int			ni = pr->ui.n_cols;
	size_t		at = side == 0 ? (size_t) row * ni + other : (size_t) other * ni + row;

	*stored = pr->mask[at];
	return pr->dense[at];
}

/*
 * One naive half-step: side 0 solves users against items, side 1 items
 * against users.  S rows are solved, F fixed (both stride dim).
 */
static void
naive_half(const rp_als_params *p, const prob *pr, double mu, int side,
		   double *S, const double *F)
{
	int			k = p->factors;
	int			expl = p->method == RP_ALS_EXPLICIT;
	int			d = expl ? k + 1 : k;
	int			dim = rp_als_dim(p);
	int			nrows = side == 0 ? pr->ui.n_rows : pr->ui.n_cols;
	int			nother = side == 0 ? pr->ui.n_cols : pr->ui.n_rows;
	int			off = side == 0 ? k + 1 : k;
	int			bias = side == 0 ? k : k + 1;
	double	   *A = malloc(sizeof(double) * d * d);
	double	   *b = malloc(sizeof(double) * d);
	double	   *f = malloc(sizeof(double) * d);

	for (int r = 0; r < nrows; r++)
	{
		int			nobs = 0;

		memset(A, 0, sizeof(double) * d * d);
		memset(b, 0, sizeof(double) * d);
		for (int o = 0; o < nother; o++)
		{
			unsigned char st;
			double		v = cell(pr, side, r, o, &st);
			const double *fo = F + (size_t) o * dim;
			double		c,
						t;

			for (int j = 0; j < k; j++)
				f[j] = fo[j];
			if (expl)
			{
				if (!st)
					continue;
				nobs++;
				f[k] = 1.0;
				c = 1.0;
				t = v - mu - fo[off];
			}
			else
			{
				c = 1.0 + p->alpha * v;
				t = v > 0 ? 1.0 : 0.0;
			}
			for (int a = 0; a < d; a++)
			{
				b[a] += c * t * f[a];
				for (int e = 0; e < d; e++)
					A[a * d + e] += c * f[a] * f[e];
			}
		}
		for (int a = 0; a < d; a++)
			A[a * d + a] += expl ? p->regularization * nobs : p->regularization;
		if (expl && nobs == 0)
			memset(b, 0, sizeof(double) * d);
		else
			gauss(d, A, b);
		for (int j = 0; j < k; j++)
			S[(size_t) r * dim + j] = b[j];
		if (expl)
			S[(size_t) r * dim + bias] = b[k];
	}
	free(A);
	free(b);
	free(f);
}

static double
naive_loss(const rp_als_params *p, const prob *pr, const rp_als_model *m)
{
	int			nu = pr->ui.n_rows;
	int			ni = pr->ui.n_cols;
	int			dim = m->dim;
	int			k = p->factors;
	double		J = 0.0;
	double		W = 0.0;

	for (int u = 0; u < nu; u++)
		for (int i = 0; i < ni; i++)
		{
			const double *x = m->user_factors + (size_t) u * dim;
			const double *y = m->item_factors + (size_t) i * dim;
			double		v = pr->dense[(size_t) u * ni + i];
			double		s = 0.0;

			for (int j = 0; j < dim; j++)
				s += x[j] * y[j];
			if (p->method == RP_ALS_IMPLICIT)
			{
				double		c = 1.0 + p->alpha * v;
				double		e = (v > 0 ? 1.0 : 0.0) - s;

				J += c * e * e;
				W += c;
			}
			else if (pr->mask[(size_t) u * ni + i])
			{
				double		e = v - m->global_mean - s;

				J += e * e;
				W += 1.0;
			}
		}
	for (int side = 0; side < 2; side++)
	{
		int			n = side == 0 ? nu : ni;
		const double *X = side == 0 ? m->user_factors : m->item_factors;
		const rp_csr *R = side == 0 ? &pr->ui : &pr->iu;

		for (int r = 0; r < n; r++)
		{
			const double *x = X + (size_t) r * dim;
			double		sq = 0.0;

			for (int j = 0; j < k; j++)
				sq += x[j] * x[j];
			if (p->method == RP_ALS_IMPLICIT)
				J += p->regularization * sq;
			else
			{
				double		b = x[side == 0 ? k : k + 1];

				J += p->regularization * (double) (R->indptr[r + 1] - R->indptr[r]) *
					(sq + b * b);
			}
		}
	}
	return J / W;
}

static double
max_diff(const double *a, const double *b, size_t n)
{
	double		m = 0.0;

	for (size_t i = 0; i < n; i++)
		if (fabs(a[i] - b[i]) > m)
			m = fabs(a[i] - b[i]);
	return m;
}

/* ---- tests ---------------------------------------------------------- */

static void
test_rng(void)
{
	rp_rng		r;
	double		s = 0.0,
				s2 = 0.0;

	/* values computed independently in Python from the rp_rng.h recipe */
	rp_rng_seed(&r, 42);
	CHECK(rp_rng_next(&r) == UINT64_C(0x15780b2e0c2ec716));
	CHECK(rp_rng_next(&r) == UINT64_C(0x6104d9866d113a7e));
	CHECK(rp_rng_next(&r) == UINT64_C(0xae17533239e499a1));
	CHECK(rp_rng_uniform(&r) == 0.9246929453253876);
	CHECK_NEAR(rp_rng_normal(&r), 0.3834617912676943, 1e-15);

	rp_rng_seed(&r, 7);
	for (int i = 0; i < 100000; i++)
	{
		double		z = rp_rng_normal(&r);

		s += z;
		s2 += z * z;
	}
	CHECK(fabs(s / 100000) < 0.02);
	CHECK(fabs(s2 / 100000 - 1.0) < 0.02);
}

/* Cholesky iterations equal the dense reference, factors and loss */
static void
check_against_naive(rp_als_method method)
{
	prob		pr;
	rp_als_params p = params(method, RP_ALS_CHOLESKY, 5);
	rp_als_model m;
	double	   *X,
			   *Y;
	int			nu = 37,
				ni = 23;
	int			dim;

	prob_make(&pr, nu, ni, 0.15, method == RP_ALS_EXPLICIT, 11);
	model_alloc(&m, &p, &pr);
	dim = rp_als_dim(&p);
	CHECK(rp_als_check(&p, &pr.ui, &pr.iu) == RP_OK);
	CHECK(rp_als_init(&p, &pr.ui, 5, &m) == RP_OK);
	X = malloc(sizeof(double) * nu * dim);
	Y = malloc(sizeof(double) * ni * dim);
	memcpy(X, m.user_factors, sizeof(double) * nu * dim);
	memcpy(Y, m.item_factors, sizeof(double) * ni * dim);

	for (int it = 0; it < 4; it++)
	{
		double		loss;
		rp_als_model ref = m;

		CHECK(fit(&p, &pr, &m, 1, &loss) == RP_OK);
		naive_half(&p, &pr, m.global_mean, 0, X, Y);
		naive_half(&p, &pr, m.global_mean, 1, Y, X);
		CHECK(max_diff(m.user_factors, X, (size_t) nu * dim) < 1e-9);
		CHECK(max_diff(m.item_factors, Y, (size_t) ni * dim) < 1e-9);
		ref.user_factors = X;
		ref.item_factors = Y;
		CHECK_NEAR(loss, naive_loss(&p, &pr, &ref), 1e-10);
	}
	free(X);
	free(Y);
	model_free(&m);
	prob_free(&pr);
}

static void
test_implicit_matches_naive(void)
{
	check_against_naive(RP_ALS_IMPLICIT);
}

static void
test_explicit_matches_naive(void)
{
	check_against_naive(RP_ALS_EXPLICIT);
}

/* CG with enough steps solves each row; after convergence both agree */
static void
check_cg_vs_cholesky(rp_als_method method)
{
	prob		pr;
	rp_als_params pc = params(method, RP_ALS_CHOLESKY, 6);
	rp_als_params pg = params(method, RP_ALS_CG, 6);
	rp_als_model mc,
				mg;
	double		lc[30],
				lg[30];
	int			dim = rp_als_dim(&pc);

	prob_make(&pr, 60, 40, 0.1, method == RP_ALS_EXPLICIT, 3);
	model_alloc(&mc, &pc, &pr);
	model_alloc(&mg, &pg, &pr);
	rp_als_init(&pc, &pr.ui, 9, &mc);
	rp_als_init(&pg, &pr.ui, 9, &mg);

	/* one iteration with CG steps = unknowns + 2: an exact solve per row */
	pg.cg_steps = 9;
	CHECK(fit(&pc, &pr, &mc, 1, lc) == RP_OK);
	CHECK(fit(&pg, &pr, &mg, 1, lg) == RP_OK);
	CHECK(max_diff(mc.user_factors, mg.user_factors, (size_t) 60 * dim) < 1e-6);
	CHECK_NEAR(lg[0], lc[0], 1e-8);

	/* default 3 warm-started steps: close after many iterations ... */
	pg.cg_steps = 3;
	CHECK(fit(&pc, &pr, &mc, 59, NULL) == RP_OK);
	CHECK(fit(&pg, &pr, &mg, 59, NULL) == RP_OK);
	CHECK(fit(&pc, &pr, &mc, 1, lc + 1) == RP_OK);
	CHECK(fit(&pg, &pr, &mg, 1, lg + 1) == RP_OK);
	CHECK(fabs(lg[1] - lc[1]) <= 1e-3 * lc[1]);
	/* ... and the converged Cholesky factors are a fixed point of CG */
	for (int it = 0; it < 200; it++)
		CHECK(fit(&pc, &pr, &mc, 1, lc + 2) == RP_OK);
	memcpy(mg.user_factors, mc.user_factors, sizeof(double) * 60 * dim);
	memcpy(mg.item_factors, mc.item_factors, sizeof(double) * 40 * dim);
	CHECK(fit(&pc, &pr, &mc, 1, lc + 2) == RP_OK);
	CHECK(fit(&pg, &pr, &mg, 1, lg + 2) == RP_OK);
	CHECK(fabs(lg[2] - lc[2]) <= 1e-9 * lc[2]);
	/* compare scores: the loss is invariant under a rotation of both sides */
	{
		double		worst = 0.0;

		for (int u = 0; u < 60; u++)
			for (int i = 0; i < 40; i++)
			{
				double		a = 0.0,
							b = 0.0;

				for (int j = 0; j < dim; j++)
				{
					a += mc.user_factors[u * dim + j] * mc.item_factors[i * dim + j];
					b += mg.user_factors[u * dim + j] * mg.item_factors[i * dim + j];
				}
				if (fabs(a - b) > worst)
					worst = fabs(a - b);
			}
		CHECK(worst < 2e-5);
	}
	/* losses decrease (ALS is monotone with exact solves) */
	CHECK(fit(&pc, &pr, &mc, 20, lc + 3) == RP_OK);
	for (int it = 4; it < 23; it++)
		CHECK(lc[it] <= lc[it - 1] * (1 + 1e-12));
	model_free(&mc);
	model_free(&mg);
	prob_free(&pr);
}

static void
test_cg_vs_cholesky_implicit(void)
{
	check_cg_vs_cholesky(RP_ALS_IMPLICIT);
}

static void
test_cg_vs_cholesky_explicit(void)
{
	check_cg_vs_cholesky(RP_ALS_EXPLICIT);
}

/* bit-identical factors and loss for 1..4 threads, every method/solver */
static void
test_threads_identical(void)
{
	prob		pr_i,
				pr_e;

	prob_make(&pr_i, 700, 300, 0.03, 0, 21);
	prob_make(&pr_e, 700, 300, 0.03, 1, 22);
	for (int method = 0; method < 2; method++)
		for (int solver = 0; solver < 2; solver++)
			for (int ki = 0; ki < 2; ki++)
			{
				prob	   *pr = method ? &pr_e : &pr_i;
				rp_als_params p = params(method, solver, ki ? 64 : 7);
				rp_als_model m1;
				double		l1[2];
				int			dim = rp_als_dim(&p);

				model_alloc(&m1, &p, pr);
				rp_als_init(&p, &pr->ui, 1, &m1);
				CHECK(fit(&p, pr, &m1, 2, l1) == RP_OK);
				for (int t = 2; t <= 4; t++)
				{
					rp_als_model mt;
					double		lt[2];

					p.threads = t;
					model_alloc(&mt, &p, pr);
					rp_als_init(&p, &pr->ui, 1, &mt);
					CHECK(fit(&p, pr, &mt, 2, lt) == RP_OK);
					CHECK(memcmp(m1.user_factors, mt.user_factors,
								 sizeof(double) * pr->ui.n_rows * dim) == 0);
					CHECK(memcmp(m1.item_factors, mt.item_factors,
								 sizeof(double) * pr->ui.n_cols * dim) == 0);
					CHECK(memcmp(l1, lt, sizeof(l1)) == 0);
					model_free(&mt);
				}
				model_free(&m1);
			}
	prob_free(&pr_i);
	prob_free(&pr_e);
}

/* the baseline, AVX2 and AVX-512 kernels compute the same thing */
static void
test_kernel_sets_agree(void)
{
	prob		pr;
	rp_als_params p = params(RP_ALS_IMPLICIT, RP_ALS_CG, 64);
	const char *sets[3] = {"base", "avx2", NULL};	/* NULL: the CPU's best */
	rp_als_model m[3];
	double		l[3][3];

	prob_make(&pr, 300, 200, 0.05, 0, 5);
	for (int s = 0; s < 3; s++)
	{
		model_alloc(&m[s], &p, &pr);
		rp_als_init(&p, &pr.ui, 2, &m[s]);
		if (sets[s])
			setenv("RP_ALS_KERNELS", sets[s], 1);
		else
			unsetenv("RP_ALS_KERNELS");
		CHECK(fit(&p, &pr, &m[s], 3, l[s]) == RP_OK);
	}
	unsetenv("RP_ALS_KERNELS");
	for (int s = 1; s < 3; s++)
	{
		CHECK(max_diff(m[0].user_factors, m[s].user_factors, (size_t) 300 * 64) < 1e-9);
		CHECK_NEAR(l[0][2], l[s][2], 1e-12);
	}
	for (int s = 0; s < 3; s++)
		model_free(&m[s]);
	prob_free(&pr);
}

/* fold-in solves the dense normal equations; explain adds up to the score */
static void
check_fold_in_explain(rp_als_method method)
{
	prob		pr;
	rp_als_params p = params(method, RP_ALS_CG, 6);
	rp_als_model m;
	int			dim = rp_als_dim(&p);
	int			ni = 30;
	double	   *gram = malloc(sizeof(double) * 36);
	void	   *work = malloc(rp_als_foldin_workspace_size(&p));
	int32_t		items[4] = {2, 5, 11, 17};
	double		vals[4] = {1, 3, 2, 5};
	double	   *x = malloc(sizeof(double) * dim);
	double	   *ref = calloc((size_t) dim, sizeof(double));
	double		contrib[4];
	double		score;
	double		s;

	prob_make(&pr, 50, ni, 0.1, method == RP_ALS_EXPLICIT, 8);
	model_alloc(&m, &p, &pr);
	rp_als_init(&p, &pr.ui, 4, &m);
	CHECK(fit(&p, &pr, &m, 5, NULL) == RP_OK);
	CHECK(rp_als_item_gram(&m, gram) == RP_OK);
	CHECK(rp_als_fold_in(&p, &m, gram, 4, items, vals, x, work) == RP_OK);

	/* reference: a one-user problem solved by naive_half */
	{
		prob		one;

		memset(&one, 0, sizeof(one));
		one.ui.n_rows = 1;
		one.ui.n_cols = ni;
		one.dense = calloc(ni, sizeof(double));
		one.mask = calloc(ni, 1);
		for (int j = 0; j < 4; j++)
		{
			one.dense[items[j]] = vals[j];
			one.mask[items[j]] = 1;
		}
		naive_half(&p, &one, m.global_mean, 0, ref, m.item_factors);
		free(one.dense);
		free(one.mask);
	}
	for (int j = 0; j < dim; j++)
	{
		if (method == RP_ALS_EXPLICIT && j == p.factors + 1)
			CHECK(x[j] == 1.0);
		else
			CHECK_NEAR(x[j], ref[j], 1e-9);
	}

	/* explanation of item 7: terms add up to the folded-in score */
	CHECK(rp_als_explain(&p, &m, gram, 4, items, vals, 7, contrib, &score,
						 work) == RP_OK);
	s = 0.0;
	for (int j = 0; j < dim; j++)
		s += x[j] * m.item_factors[7 * dim + j];
	if (method == RP_ALS_EXPLICIT)
		s += m.global_mean;
	CHECK_NEAR(score, s, 1e-9);
	s = method == RP_ALS_EXPLICIT ? m.global_mean + m.item_factors[7 * dim + p.factors + 1] : 0.0;
	for (int j = 0; j < 4; j++)
		s += contrib[j];
	CHECK_NEAR(score, s, 1e-12);

	/* bad inputs */
	items[1] = ni;
	CHECK(rp_als_fold_in(&p, &m, gram, 4, items, vals, x, work) == RP_EINVAL);
	items[1] = 5;
	vals[2] = NAN;
	CHECK(rp_als_fold_in(&p, &m, gram, 4, items, vals, x, work) == RP_ENUMERIC);
	vals[2] = -1;
	if (method == RP_ALS_IMPLICIT)
		CHECK(rp_als_fold_in(&p, &m, gram, 4, items, vals, x, work) == RP_EINVAL);
	vals[2] = 2;
	CHECK(rp_als_explain(&p, &m, gram, 4, items, vals, -1, contrib, &score,
						 work) == RP_EINVAL);
	/* an empty history is allowed */
	CHECK(rp_als_fold_in(&p, &m, gram, 0, items, vals, x, work) == RP_OK);

	free(gram);
	free(work);
	free(x);
	free(ref);
	model_free(&m);
	prob_free(&pr);
}

static void
test_fold_in_implicit(void)
{
	check_fold_in_explain(RP_ALS_IMPLICIT);
}

static void
test_fold_in_explicit(void)
{
	check_fold_in_explain(RP_ALS_EXPLICIT);
}

/* serving budget: fold-in of 20 items at k = 64 well under 1 ms */
static void
test_fold_in_speed(void)
{
	rp_als_params p = params(RP_ALS_IMPLICIT, RP_ALS_CG, 64);
	rp_als_model m;
	rp_rng		rng;
	double	   *gram = malloc(sizeof(double) * 64 * 64);
	void	   *work = malloc(rp_als_foldin_workspace_size(&p));
	double		x[64];
	int32_t		items[20];
	double		vals[20];
	struct timespec t0,
				t1;
	double		us;

	memset(&m, 0, sizeof(m));
	m.n_items = 5000;
	m.factors = 64;
	m.dim = 64;
	m.item_factors = malloc(sizeof(double) * 5000 * 64);
	rp_rng_seed(&rng, 3);
	for (int i = 0; i < 5000 * 64; i++)
		m.item_factors[i] = 0.1 * rp_rng_normal(&rng);
	CHECK(rp_als_item_gram(&m, gram) == RP_OK);
	for (int j = 0; j < 20; j++)
	{
		items[j] = j * 250 + 7;
		vals[j] = 1 + j % 4;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < 200; r++)
		CHECK(rp_als_fold_in(&p, &m, gram, 20, items, vals, x, work) == RP_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / 200;
	/* generous: sanitizers and a shared machine slow it several times */
	CHECK(us < 1000.0);
	free(gram);
	free(work);
	free(m.item_factors);
}

static void
test_bad_inputs(void)
{
	prob		pr;
	rp_als_params p = params(RP_ALS_IMPLICIT, RP_ALS_CG, 4);
	rp_als_params q;
	rp_als_model m;
	size_t		ws;
	void	   *work;
	double		loss;

	prob_make(&pr, 20, 10, 0.2, 0, 1);
	model_alloc(&m, &p, &pr);
	rp_als_init(&p, &pr.ui, 1, &m);

	q = p; q.factors = 0;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_EINVAL);
	q = p; q.factors = RP_ALS_MAX_FACTORS + 1;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_ELIMIT);
	q = p; q.regularization = -1;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_EINVAL);
	q = p; q.regularization = NAN;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_EINVAL);
	q = p; q.alpha = INFINITY;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_EINVAL);
	q = p; q.cg_steps = 0;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_EINVAL);
	q = p; q.threads = 0;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_EINVAL);
	q = p; q.method = RP_ALS_EXPLICIT; q.regularization = 0;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_EINVAL);
	q = p; q.solver = 7;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_EINVAL);
	CHECK(rp_als_workspace_size(&q, 10, 10) == 0);
	/* transposed the wrong way round */
	CHECK(rp_als_check(&p, &pr.iu, &pr.iu) == RP_EINVAL);

	/* NaN, Inf, negative values */
	pr.ui.values[3] = NAN;
	CHECK(rp_als_check(&p, &pr.ui, &pr.iu) == RP_ENUMERIC);
	pr.ui.values[3] = -INFINITY;
	CHECK(rp_als_check(&p, &pr.ui, &pr.iu) == RP_ENUMERIC);
	pr.ui.values[3] = -2.0;
	CHECK(rp_als_check(&p, &pr.ui, &pr.iu) == RP_EINVAL);
	q = p; q.method = RP_ALS_EXPLICIT;
	CHECK(rp_als_check(&q, &pr.ui, &pr.iu) == RP_OK);
	pr.ui.values[3] = 1.0;

	/* workspace too small, model of another shape */
	ws = rp_als_workspace_size(&p, 20, 10);
	work = malloc(ws);
	CHECK(rp_als_iterate(&p, &pr.ui, &pr.iu, &m, work, ws - 64, NULL, &loss) == RP_EINVAL);
	CHECK(loss != loss);
	q = p; q.factors = 5;
	CHECK(rp_als_iterate(&q, &pr.ui, &pr.iu, &m, work, ws, NULL, &loss) == RP_EINVAL);
	CHECK(rp_als_iterate(&p, &pr.ui, &pr.iu, &m, work, ws, NULL, &loss) == RP_OK);
	CHECK(loss > 0);
	free(work);
	model_free(&m);
	prob_free(&pr);
}

/* an unsolvable or overflowing system is reported, not returned as factors */
static void
test_breakdown(void)
{
	prob		pr;
	rp_als_params p = params(RP_ALS_IMPLICIT, RP_ALS_CHOLESKY, 6);
	rp_als_model m;

	/* 3 items but 6 factors and no ridge: every user's matrix is singular */
	prob_make(&pr, 10, 3, 0.3, 0, 2);
	p.regularization = 0.0;
	model_alloc(&m, &p, &pr);
	rp_als_init(&p, &pr.ui, 1, &m);
	CHECK(fit(&p, &pr, &m, 1, NULL) == RP_ENUMERIC);
	model_free(&m);

	/* huge confidences overflow */
	p.regularization = 0.1;
	p.alpha = 1e308;
	pr.ui.values[0] = pr.iu.values[0] = 1e308;
	model_alloc(&m, &p, &pr);
	rp_als_init(&p, &pr.ui, 1, &m);
	CHECK(fit(&p, &pr, &m, 1, NULL) == RP_ENUMERIC);
	model_free(&m);
	prob_free(&pr);
}

static int	stop_calls;
static int
stop_now(void *arg)
{
	return ++stop_calls > 1;
}

static void
test_cancel(void)
{
	prob		pr;
	rp_als_params p = params(RP_ALS_IMPLICIT, RP_ALS_CG, 4);
	rp_als_model m;
	rp_cancel	c = {stop_now, NULL};
	size_t		ws;
	void	   *work;
	double		loss;

	prob_make(&pr, 2000, 50, 0.05, 0, 1);
	model_alloc(&m, &p, &pr);
	rp_als_init(&p, &pr.ui, 1, &m);
	ws = rp_als_workspace_size(&p, 2000, 50);
	work = malloc(ws);
	stop_calls = 0;
	CHECK(rp_als_iterate(&p, &pr.ui, &pr.iu, &m, work, ws, &c, &loss) == RP_ECANCELED);
	free(work);
	model_free(&m);
	prob_free(&pr);
}

/* empty rows and columns: users without history get zero-ish factors */
static void
test_empty_rows(void)
{
	for (int method = 0; method < 2; method++)
	{
		prob		pr;
		rp_als_params p = params(method, RP_ALS_CHOLESKY, 3);
		rp_als_model m;
		double		loss[2];

		prob_make(&pr, 8, 12, 0.0, method, 1);	/* only the diagonal cells */
		model_alloc(&m, &p, &pr);
		rp_als_init(&p, &pr.ui, 1, &m);
		CHECK(fit(&p, &pr, &m, 2, loss) == RP_OK);
		CHECK(rp_finite(loss[1]));
		/* items 8..11 have no ratings */
		for (int j = 0; j < rp_als_dim(&p); j++)
		{
			if (method == RP_ALS_EXPLICIT && j == 3)
				CHECK(m.item_factors[10 * 5 + j] == 1.0);
			else
				CHECK(m.item_factors[10 * rp_als_dim(&p) + j] == 0.0);
		}
		model_free(&m);
		prob_free(&pr);
	}
}

/*
 * Storage precision of the user rows: the doubles are rounded to exactly
 * the floats written, within float's relative half-ulp; widening gives the
 * same doubles back; a value that no float holds is refused.
 */
static void
test_round_f32(void)
{
	double		x[6] = {0.1, -1.0 / 3.0, 1e-30, 123456.789, 0.0, -2.5e30};
	double		orig[6];
	double		back[6];
	float		f[6];
	double		bad[3] = {1.0, NAN, 2.0};
	double		big[2] = {1e39, 1.0};
	double		inf[1] = {-INFINITY};

	memcpy(orig, x, sizeof(x));
	CHECK(rp_als_round_f32(x, 6, f) == RP_OK);
	for (int i = 0; i < 6; i++)
	{
		CHECK(x[i] == (double) f[i]);
		CHECK(fabs(x[i] - orig[i]) <= fabs(orig[i]) * 0x1p-24);
	}
	CHECK(x[0] != orig[0]);		/* 0.1 is not a float: it did move */
	CHECK(x[4] == 0.0 && x[2] != 0.0);
	rp_als_widen_f32(f, 6, back);
	CHECK(memcmp(back, x, sizeof(x)) == 0);
	/* rounding twice changes nothing */
	CHECK(rp_als_round_f32(x, 6, f) == RP_OK);
	CHECK(memcmp(back, x, sizeof(x)) == 0);
	CHECK(rp_als_round_f32(bad, 3, f) == RP_ENUMERIC);
	CHECK(rp_als_round_f32(big, 2, f) == RP_ENUMERIC);
	CHECK(rp_als_round_f32(inf, 1, f) == RP_ENUMERIC);
	CHECK(rp_als_round_f32(NULL, 0, NULL) == RP_OK);
	rp_als_widen_f32(NULL, 0, NULL);
}

int
main(void)
{
	openblas_set_num_threads(1);
	RUN(test_rng);
	RUN(test_implicit_matches_naive);
	RUN(test_explicit_matches_naive);
	RUN(test_cg_vs_cholesky_implicit);
	RUN(test_cg_vs_cholesky_explicit);
	RUN(test_threads_identical);
	RUN(test_kernel_sets_agree);
	RUN(test_fold_in_implicit);
	RUN(test_fold_in_explicit);
	RUN(test_fold_in_speed);
	RUN(test_bad_inputs);
	RUN(test_breakdown);
	RUN(test_cancel);
	RUN(test_empty_rows);
	RUN(test_round_f32);
	UNIT_DONE();
}
