/*
 * rp_als.c
 *	  Alternating least squares on OpenBLAS (see rp_als.h for the contract).
 *
 * Model.  Implicit feedback (Hu, Koren and Volinsky, "Collaborative
 * filtering for implicit feedback datasets", ICDM 2008): every cell (u, i)
 * of the users x items matrix is observed with preference p_ui = 1 if
 * r_ui > 0 else 0 and confidence c_ui = 1 + alpha * r_ui (so 1 for the
 * cells not stored).  Explicit ratings (Zhou, Wilkinson, Schreiber and Pan,
 * "Large-scale parallel collaborative filtering for the Netflix prize",
 * AAIM 2008): only stored cells count, the prediction is
 * mu + b_u + c_i + x_u . y_i with mu the global mean (fixed) and biases
 * fitted as one more unknown per row against a constant-1 feature (the
 * layout in rp_als.h), and the ridge on a row with n ratings is
 * lambda * n ("weighted-lambda regularisation"), biases included.
 *
 * Loss.  After each iteration (both half-steps) the objective is
 *	  implicit  J = sum_{u,i all} c_ui (p_ui - x_u.y_i)^2
 *					+ lambda (sum_u |x_u|^2 + sum_i |y_i|^2)
 *				loss = J / W,  W = n_users * n_items + alpha * sum r_ui
 *				(the weighted mean squared error plus the ridge per unit
 *				weight; W is the total confidence over all cells)
 *	  explicit  J = sum_{(u,i) stored} (r_ui - mu - b_u - c_i - x_u.y_i)^2
 *					+ lambda sum_u n_u (|x_u|^2 + b_u^2)
 *					+ lambda sum_i n_i (|y_i|^2 + c_i^2)
 *				loss = J / nnz
 * The implicit sum over all cells is never formed densely:
 *	  sum_{all} (x.y)^2 = trace((X^T X)(Y^T Y)), and the stored cells add
 *	  c (p - s)^2 - s^2 each (s = x_u.y_i).
 * Per-row terms go into an array and are added on the calling thread in
 * row order, so the loss, like the factors, does not depend on the thread
 * count.
 *
 * Half-step.  With the other side F fixed, each row solves its normal
 * equations; implicit: (F^T F + F^T (C_u - I) F + lambda I) x = F^T C_u p_u,
 * where F^T F is one DSYRK per half-step shared by all rows and only the
 * row's stored cells add to it (the trick that makes implicit ALS linear in
 * the non-zeros).  Two solvers:
 *	- Cholesky: the row's matrix is built as Gram + lambda I plus the
 *	  rank-one terms of its weighted rows, gathered RP_ALS_CHUNK at a time
 *	  and added four at a time by our own kernel (a DSYRK call per row
 *	  costs more than its arithmetic at k = 64), then LAPACK dposv
 *	  (info > 0, not positive definite, is reported as RP_ENUMERIC).
 *	- Conjugate gradient (Takacs, Pilaszy and Tikk, "Applications of the
 *	  conjugate gradient method for implicit feedback collaborative
 *	  filtering", RecSys 2011; the same scheme as the `implicit` library's
 *	  CG solver): cg_steps steps warm-started from the row's previous
 *	  factors, never forming the matrix: each step applies it as
 *	  Gram p + lambda p + sum_i w_i (f_i.p) f_i.  A row stops early when its
 *	  squared residual falls under 1e-20.  Each iteration thus costs
 *	  O(nnz * k * cg_steps + rows * k^2 * cg_steps) against Cholesky's
 *	  O(nnz * k^2 + rows * k^3).
 * Rows are solved in blocks by rp_parallel_for (nnz-balanced blocks,
 * largest first: als_schedule()); a worker writes only its own rows and its
 * own scratch slice, and records a failure in its own status slot.  Every
 * solved row is checked for NaN/Inf (breakdown).
 *
 * Speed.  At k = 64 a BLAS call per row costs more than its arithmetic, so
 * the per-row work is done by our own loops (rp_als_kern.inc): fused
 * dot/axpy passes over the row's factor rows, two interactions at a time,
 * with the factor rows of the next interactions prefetched (they are read
 * in the order of the row's indices, i.e. at random, and would otherwise
 * each cost a cache miss), compiled for SSE2, AVX2+FMA and AVX-512 and
 * chosen at run time.  The one big product per half-step (the Gram) and
 * the Cholesky solve stay with OpenBLAS/LAPACK.
 *
 * Initialisation: see rp_als_init() in rp_als.h (0.01 * standard normals
 * from rp_rng, biases 0).
 */
#include "rp_als.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rp_blas.h"
#include "rp_parallel.h"
#include "rp_rng.h"

/* weighted rows gathered per rank-update sweep in the Cholesky path */
#define RP_ALS_CHUNK 128
/* CG stops a row when r.r falls below this */
#define RP_ALS_CG_TINY 1e-20
#define RP_ALS_MAX_CG_STEPS 1000
/* how many interactions ahead the sparse kernels prefetch factor rows */
#define RP_ALS_PREFETCH 6

typedef double v4d __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));

/* unaligned vector loads and stores (memcpy keeps aliasing legal) */
#define LDV(p) ({ VT _v; memcpy(&_v, (p), sizeof(_v)); _v; })
#define STV(p, v) do { VT _v = (v); memcpy((p), &_v, sizeof(_v)); } while (0)
#define VZERO ((VT) {0})
#define HSUM4(s) (((s)[0] + (s)[1]) + ((s)[2] + (s)[3]))
#define HSUM8(s) ((((s)[0] + (s)[1]) + ((s)[2] + (s)[3])) + \
				  (((s)[4] + (s)[5]) + ((s)[6] + (s)[7])))

typedef struct als_kernels
{
	double		(*dot) (const double *a, const double *b, int n);
	void		(*axpy) (double t, const double *a, double *y, int n);
	void		(*imp_resid) (int k, int ld, const double *F, const int32_t *idx,
							  const double *val, int64_t n, double alpha,
							  const double *G, double lambda, const double *x,
							  double *r);
	void		(*imp_apply) (int k, int ld, const double *F, const int32_t *idx,
							  const double *val, int64_t n, double alpha,
							  const double *G, double lambda, const double *p,
							  double *Ap);
	void		(*exp_resid) (int k, int ld, const double *F, const int32_t *idx,
							  const double *val, int64_t n, double mu, int off,
							  double lambda_n, const double *z, double *r);
	void		(*exp_apply) (int k, int ld, const double *F, const int32_t *idx,
							  const double *val, int64_t n, double lambda_n,
							  const double *p, double *Ap);
	double		(*row_loss) (int implicit, int k, int ld, const double *F,
							 const int32_t *idx, const double *val, int64_t n,
							 double alpha, double mu, const double *y);
	void		(*syrk_upd) (int d, const double *const *rows, const double *w,
							 int cnt, double *A);
} als_kernels;

/*
 * The kernels pass vectors only between always-inline functions, so GCC's
 * note that such arguments changed ABI (-Wpsabi) does not concern us.
 */
#pragma GCC diagnostic ignored "-Wpsabi"

#define KSUFFIX base
#define KATTR
#define VT v4d
#define VW 4
#define VHSUM HSUM4
#include "rp_als_kern.inc"
#undef KSUFFIX
#undef KATTR

#define KSUFFIX avx2
#define KATTR __attribute__((target("avx2,fma")))
#include "rp_als_kern.inc"
#undef KSUFFIX
#undef KATTR
#undef VT
#undef VW
#undef VHSUM

#define KSUFFIX avx512
#define KATTR __attribute__((target("avx512f,avx2,fma")))
#define VT v8d
#define VW 8
#define VHSUM HSUM8
#include "rp_als_kern.inc"
#undef KSUFFIX
#undef KATTR
#undef VT
#undef VW
#undef VHSUM

/*
 * The kernel set for this CPU.  __builtin_cpu_supports reads data that
 * glibc/libgcc initialise before main, so this is safe from any thread and
 * the answer never changes.  RP_ALS_KERNELS=base|avx2 caps the choice (tests
 * and benchmarks compare the sets).
 */
static const als_kernels *
als_select_kernels(void)
{
	const char *force = getenv("RP_ALS_KERNELS");
	int			cap = 2;

	if (force != NULL && strcmp(force, "base") == 0)
		cap = 0;
	else if (force != NULL && strcmp(force, "avx2") == 0)
		cap = 1;
	__builtin_cpu_init();
	if (cap >= 2 && __builtin_cpu_supports("avx512f") &&
		__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return &kernels_avx512;
	if (cap >= 1 && __builtin_cpu_supports("avx2") &&
		__builtin_cpu_supports("fma"))
		return &kernels_avx2;
	return &kernels_base;
}

/* ---------------------------------------------------------------------- */
/* sizes and checks */

int32_t
rp_als_dim(const rp_als_params *p)
{
	return p->method == RP_ALS_EXPLICIT ? p->factors + 2 : p->factors;
}

/* unknowns per row: k, or k + 1 with the bias */
static int32_t
als_unknowns(const rp_als_params *p)
{
	return p->method == RP_ALS_EXPLICIT ? p->factors + 1 : p->factors;
}

static rp_status
als_check_params(const rp_als_params *p)
{
	if (p == NULL)
		return RP_EINVAL;
	if (p->method != RP_ALS_IMPLICIT && p->method != RP_ALS_EXPLICIT)
		return RP_EINVAL;
	if (p->solver != RP_ALS_CG && p->solver != RP_ALS_CHOLESKY)
		return RP_EINVAL;
	if (p->factors < 1)
		return RP_EINVAL;
	if (p->factors > RP_ALS_MAX_FACTORS)
		return RP_ELIMIT;
	if (!rp_finite(p->regularization) || p->regularization < 0.0)
		return RP_EINVAL;
	/* explicit rows with fewer ratings than unknowns need the ridge */
	if (p->method == RP_ALS_EXPLICIT && !(p->regularization > 0.0))
		return RP_EINVAL;
	if (p->method == RP_ALS_IMPLICIT &&
		(!rp_finite(p->alpha) || p->alpha < 0.0))
		return RP_EINVAL;
	if (p->solver == RP_ALS_CG &&
		(p->cg_steps < 1 || p->cg_steps > RP_ALS_MAX_CG_STEPS))
		return RP_EINVAL;
	if (p->threads < 1 || p->threads > RP_MAX_THREADS)
		return RP_EINVAL;
	return RP_OK;
}

rp_status
rp_als_check(const rp_als_params *p, const rp_csr *ui, const rp_csr *iu)
{
	rp_status	st = als_check_params(p);

	if (st != RP_OK)
		return st;
	if (ui == NULL || iu == NULL)
		return RP_EINVAL;
	if (ui->n_rows < 0 || ui->n_cols < 0 ||
		iu->n_rows != ui->n_cols || iu->n_cols != ui->n_rows ||
		iu->nnz != ui->nnz || ui->indptr[ui->n_rows] != ui->nnz ||
		iu->indptr[iu->n_rows] != iu->nnz)
		return RP_EINVAL;
	/* every factor row index times dim must fit in size_t and in int64 */
	if ((double) ui->n_rows * rp_als_dim(p) > (double) INT64_MAX / 8 ||
		(double) ui->n_cols * rp_als_dim(p) > (double) INT64_MAX / 8)
		return RP_ELIMIT;
	for (int64_t i = 0; i < ui->nnz; i++)
	{
		double		v = ui->values[i];

		if (!rp_finite(v))
			return RP_ENUMERIC;
		if (p->method == RP_ALS_IMPLICIT && v < 0.0)
			return RP_EINVAL;
	}
	/* the transpose holds the same values; a cheap guard against mix-ups */
	for (int64_t i = 0; i < iu->nnz; i++)
		if (!rp_finite(iu->values[i]))
			return RP_ENUMERIC;
	return RP_OK;
}

/* doubles rounded up to a 64-byte multiple */
static size_t
al8(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

/* scratch of als_build(), in doubles: row copies, row pointers, weights */
static size_t
als_build_doubles(size_t d)
{
	return al8((size_t) RP_ALS_CHUNK * d) + 2 * al8(RP_ALS_CHUNK);
}

/* per-thread scratch, in doubles */
static size_t
als_thread_doubles(const rp_als_params *p)
{
	size_t		d = (size_t) als_unknowns(p);

	return al8(d * d) + 4 * al8(d) + als_build_doubles(d);
}

size_t
rp_als_workspace_size(const rp_als_params *p, int32_t n_users,
					  int32_t n_items)
{
	double		need;
	size_t		k;
	size_t		rows;

	if (als_check_params(p) != RP_OK || n_users < 0 || n_items < 0)
		return 0;
	k = (size_t) p->factors;
	rows = (size_t) (n_users > n_items ? n_users : n_items);
	need = 8.0 * (2.0 * al8(k * k) + al8(rows) + al8(RP_MAX_THREADS) +
				  3.0 * al8(rows + 1) +
				  (double) p->threads * als_thread_doubles(p)) + 64.0;
	if (need > (double) SIZE_MAX / 2)
		return 0;
	return (size_t) need;
}

/* ---------------------------------------------------------------------- */
/* initialisation */

static double
als_global_mean(const rp_csr *ui)
{
	double		s = 0.0;

	for (int64_t i = 0; i < ui->nnz; i++)
		s += ui->values[i];
	return ui->nnz > 0 ? s / (double) ui->nnz : 0.0;
}

/* sizes, mean and the explicit constant columns */
static void
als_set_shape(const rp_als_params *p, const rp_csr *ui, rp_als_model *m)
{
	int32_t		k = p->factors;

	m->n_users = ui->n_rows;
	m->n_items = ui->n_cols;
	m->factors = k;
	m->dim = rp_als_dim(p);
	m->global_mean = p->method == RP_ALS_EXPLICIT ? als_global_mean(ui) : 0.0;
	if (p->method == RP_ALS_EXPLICIT)
	{
		for (int32_t u = 0; u < m->n_users; u++)
			m->user_factors[(size_t) u * m->dim + k + 1] = 1.0;
		for (int32_t i = 0; i < m->n_items; i++)
			m->item_factors[(size_t) i * m->dim + k] = 1.0;
	}
}

rp_status
rp_als_init(const rp_als_params *p, const rp_csr *ui, uint64_t seed,
			rp_als_model *m)
{
	rp_rng		rng;
	int32_t		k;
	int32_t		dim;
	rp_status	st = als_check_params(p);

	if (st != RP_OK)
		return st;
	if (ui == NULL || m == NULL || m->user_factors == NULL ||
		m->item_factors == NULL)
		return RP_EINVAL;
	k = p->factors;
	dim = rp_als_dim(p);
	rp_rng_seed(&rng, seed);
	for (int32_t u = 0; u < ui->n_rows; u++)
	{
		double	   *x = m->user_factors + (size_t) u * dim;

		for (int32_t j = 0; j < k; j++)
			x[j] = 0.01 * rp_rng_normal(&rng);
		for (int32_t j = k; j < dim; j++)
			x[j] = 0.0;
	}
	for (int32_t i = 0; i < ui->n_cols; i++)
	{
		double	   *y = m->item_factors + (size_t) i * dim;

		for (int32_t j = 0; j < k; j++)
			y[j] = 0.01 * rp_rng_normal(&rng);
		for (int32_t j = k; j < dim; j++)
			y[j] = 0.0;
	}
	als_set_shape(p, ui, m);
	return RP_OK;
}

rp_status
rp_als_init_given(const rp_als_params *p, const rp_csr *ui, rp_als_model *m)
{
	rp_status	st = als_check_params(p);

	if (st != RP_OK)
		return st;
	if (ui == NULL || m == NULL || m->user_factors == NULL ||
		m->item_factors == NULL)
		return RP_EINVAL;
	als_set_shape(p, ui, m);
	return RP_OK;
}

/* ---------------------------------------------------------------------- */
/* Gram matrices */

/* G (k x k, full) = sum over the n rows of F (stride ld) of f[:k] f[:k]^T */
static void
als_gram(const double *F, int32_t n, int32_t k, int32_t ld, double *G)
{
	if (n == 0)
	{
		memset(G, 0, sizeof(double) * (size_t) k * k);
		return;
	}
	/* row-major n x k with stride ld is column-major k x n with lda = ld */
	cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, k, n, 1.0, F, ld,
				0.0, G, k);
	for (int32_t j = 0; j < k; j++)
		for (int32_t i = 0; i < j; i++)
			G[(size_t) i * k + j] = G[(size_t) j * k + i];
}

rp_status
rp_als_item_gram(const rp_als_model *m, double *gram)
{
	if (m == NULL || gram == NULL || m->item_factors == NULL ||
		m->factors < 1 || m->dim < m->factors)
		return RP_EINVAL;
	als_gram(m->item_factors, m->n_items, m->factors, m->dim, gram);
	return RP_OK;
}

/* ---------------------------------------------------------------------- */
/* one row's normal equations, built explicitly (Cholesky path, fold-in) */

typedef struct als_side
{
	rp_als_method method;
	int32_t		k;
	int32_t		ld;				/* stride of F */
	const double *F;			/* fixed factors */
	const double *gram;			/* implicit: F^T F over k columns */
	double		lambda;
	double		alpha;
	double		mu;
	int			off;			/* explicit: column of F holding the offset */
} als_side;

/*
 * Builds A (d x d, upper triangle valid in column-major) and b (d) of one
 * row from its n cells; buf holds als_build_doubles(d) doubles.  Implicit
 * rows use the factor rows in place with weights alpha * r; explicit rows
 * are copied with their constant 1 appended, weight 1.
 */
static void
als_build(const als_side *s, const als_kernels *kern, int64_t n,
		  const int32_t *idx, const double *val, double *A, double *b,
		  double *buf)
{
	int32_t		k = s->k;
	int32_t		d = s->method == RP_ALS_EXPLICIT ? k + 1 : k;
	const double **rows = (const double **) (buf + al8((size_t) RP_ALS_CHUNK * d));
	double	   *w = (double *) rows + al8(RP_ALS_CHUNK);
	int			m = 0;

	if (s->method == RP_ALS_IMPLICIT)
		memcpy(A, s->gram, sizeof(double) * (size_t) k * k);
	else
		memset(A, 0, sizeof(double) * (size_t) d * d);
	for (int32_t j = 0; j < d; j++)
		A[(size_t) j * d + j] += s->method == RP_ALS_IMPLICIT ?
			s->lambda : s->lambda * (double) n;
	memset(b, 0, sizeof(double) * (size_t) d);

	for (int64_t i = 0; i < n; i++)
	{
		const double *f = s->F + (size_t) idx[i] * s->ld;

		if (s->method == RP_ALS_IMPLICIT)
		{
			rows[m] = f;
			w[m] = s->alpha * val[i];
			if (val[i] > 0)
				kern->axpy(1.0 + w[m], f, b, k);
		}
		else
		{
			double	   *row = buf + (size_t) m * d;

			memcpy(row, f, sizeof(double) * (size_t) k);
			row[k] = 1.0;
			rows[m] = row;
			w[m] = 1.0;
			kern->axpy(val[i] - s->mu - f[s->off], row, b, d);
		}
		if (++m == RP_ALS_CHUNK || i == n - 1)
		{
			kern->syrk_upd(d, rows, w, m, A);
			m = 0;
		}
	}
}

/* Solves A z = b in place (b becomes z); maps LAPACK's info to a status. */
static rp_status
als_posv(int d, double *A, double *b)
{
	int			nrhs = 1;
	int			info = 0;

	dposv_("U", &d, &nrhs, A, &d, b, &d, &info);
	if (info > 0)
		return RP_ENUMERIC;		/* not positive definite */
	if (info < 0)
		return RP_EINVAL;
	return RP_OK;
}

/* ---------------------------------------------------------------------- */
/* half-steps */

typedef struct als_half
{
	const rp_als_params *p;
	const als_kernels *kern;
	const rp_csr *R;			/* rows being solved */
	double	   *S;				/* their factors, stride ld */
	als_side	side;			/* the fixed side */
	int			bias_col;		/* explicit: column of S holding the bias */
	int			loss;			/* 0 none, 1 explicit ridge, 2 item loss */
	double	   *rowloss;
	double	   *scratch;
	size_t		scratch_doubles;
	rp_status  *status;			/* one per thread */
	int64_t    *blocks;			/* the schedule, see als_schedule() */
} als_half;

static int
als_finite_row(const double *x, int n)
{
	double		s = 0.0;

	for (int j = 0; j < n; j++)
		s += x[j] * 0.0;
	return s == 0.0;
}

/* conjugate gradient on one row; z (d) holds the warm start and the result */
static void
als_cg(const als_half *h, int64_t n, const int32_t *idx, const double *val,
	   double *z, double *r, double *pv, double *Ap)
{
	const als_kernels *kern = h->kern;
	const als_side *s = &h->side;
	int			k = s->k;
	int			d = s->method == RP_ALS_EXPLICIT ? k + 1 : k;
	double		lambda_n = s->lambda * (double) n;
	double		rsold;

	if (s->method == RP_ALS_IMPLICIT)
		kern->imp_resid(k, s->ld, s->F, idx, val, n, s->alpha, s->gram,
						s->lambda, z, r);
	else
		kern->exp_resid(k, s->ld, s->F, idx, val, n, s->mu, s->off, lambda_n,
						z, r);
	memcpy(pv, r, sizeof(double) * d);
	rsold = kern->dot(r, r, d);
	for (int step = 0; step < h->p->cg_steps; step++)
	{
		double		pap;
		double		a;
		double		rsnew;

		if (rsold < RP_ALS_CG_TINY)
			break;
		if (s->method == RP_ALS_IMPLICIT)
			kern->imp_apply(k, s->ld, s->F, idx, val, n, s->alpha, s->gram,
							s->lambda, pv, Ap);
		else
			kern->exp_apply(k, s->ld, s->F, idx, val, n, lambda_n, pv, Ap);
		pap = kern->dot(pv, Ap, d);
		/* only a singular system (lambda = 0) gets here: keep z as is */
		if (!(pap > 0.0))
			break;
		a = rsold / pap;
		kern->axpy(a, pv, z, d);
		kern->axpy(-a, Ap, r, d);
		rsnew = kern->dot(r, r, d);
		for (int j = 0; j < d; j++)
			pv[j] = r[j] + (rsnew / rsold) * pv[j];
		rsold = rsnew;
	}
}

static void
als_half_rows(const als_half *h, int thread, int64_t begin, int64_t end)
{
	const als_side *s = &h->side;
	int			k = s->k;
	int			ld = s->ld;
	int			d = s->method == RP_ALS_EXPLICIT ? k + 1 : k;
	double	   *A = h->scratch + (size_t) thread * h->scratch_doubles;
	double	   *z = A + al8((size_t) d * d);
	double	   *r = z + al8(d);
	double	   *pv = r + al8(d);
	double	   *Ap = pv + al8(d);
	double	   *buf = Ap + al8(d);

	for (int64_t row = begin; row < end; row++)
	{
		int64_t		b = h->R->indptr[row];
		int64_t		n = h->R->indptr[row + 1] - b;
		const int32_t *idx = h->R->indices + b;
		const double *val = h->R->values + b;
		double	   *x = h->S + (size_t) row * ld;
		rp_status	st = RP_OK;

		if (s->method == RP_ALS_EXPLICIT && n == 0)
		{
			/* nothing observed: the ridge alone gives zero factors and bias */
			memset(z, 0, sizeof(double) * d);
		}
		else if (h->p->solver == RP_ALS_CHOLESKY)
		{
			als_build(s, h->kern, n, idx, val, A, z, buf);
			st = als_posv(d, A, z);
		}
		else
		{
			memcpy(z, x, sizeof(double) * k);
			if (s->method == RP_ALS_EXPLICIT)
				z[k] = x[h->bias_col];
			als_cg(h, n, idx, val, z, r, pv, Ap);
		}
		if (st == RP_OK && !als_finite_row(z, d))
			st = RP_ENUMERIC;
		if (st != RP_OK)
		{
			h->status[thread] = st;
			if (h->rowloss)
				h->rowloss[row] = NAN;
			continue;
		}
		memcpy(x, z, sizeof(double) * k);
		if (s->method == RP_ALS_EXPLICIT)
			x[h->bias_col] = z[k];

		if (h->loss == 1)
			h->rowloss[row] = s->lambda * (double) n * h->kern->dot(z, z, d);
		else if (h->loss == 2)
		{
			double		l = h->kern->row_loss(s->method == RP_ALS_IMPLICIT,
											  k, ld, s->F, idx, val, n,
											  s->alpha, s->mu, x);

			if (s->method == RP_ALS_EXPLICIT)
				l += s->lambda * (double) n * h->kern->dot(z, z, d);
			h->rowloss[row] = l;
		}
	}
}

/* runs blocks [begin, end) of the schedule */
static void
als_half_block(void *ctx, int thread, int64_t begin, int64_t end)
{
	const als_half *h = (const als_half *) ctx;

	for (int64_t b = begin; b < end; b++)
		als_half_rows(h, thread, h->blocks[3 * b], h->blocks[3 * b + 1]);
}

/* larger work first, then by start row (a total order: qsort need not be stable) */
static int
als_block_cmp(const void *a, const void *b)
{
	const int64_t *x = (const int64_t *) a;
	const int64_t *y = (const int64_t *) b;

	if (x[2] != y[2])
		return x[2] > y[2] ? -1 : 1;
	return (x[0] > y[0]) - (x[0] < y[0]);
}

/*
 * Cuts the rows into blocks of about nnz / (threads * 64) interactions (and
 * at most 256 rows) and, with several threads, orders them largest first,
 * so that with power-law popularity one thread is not left with the few
 * huge item rows while the others idle (longest-processing-time-first).
 * The schedule changes only which thread solves a row, never how: results
 * stay independent of the thread count.  Block b is the triple
 * (start, end, work) at blocks[3b]; blocks holds 3 * (n + 1) slots.
 */
static int64_t
als_schedule(const rp_csr *R, int threads, int64_t *blocks)
{
	int64_t		n = R->n_rows;
	int64_t		target = R->nnz / ((int64_t) threads * 64);
	int64_t		nb = 0;
	int64_t		start = 0;

	if (target < 1)
		target = 1;
	for (int64_t r = 0; r < n; r++)
	{
		int64_t		cells = R->indptr[r + 1] - R->indptr[start];

		if (cells >= target || r + 1 - start >= 256 || r + 1 == n)
		{
			blocks[3 * nb] = start;
			blocks[3 * nb + 1] = r + 1;
			blocks[3 * nb + 2] = cells + (r + 1 - start);
			nb++;
			start = r + 1;
		}
	}
	if (threads > 1)
		qsort(blocks, (size_t) nb, 3 * sizeof(int64_t), als_block_cmp);
	return nb;
}

static rp_status
als_run_half(als_half *h, const rp_cancel *cancel)
{
	int			threads = h->p->threads;
	int64_t		nb;
	rp_status	st;

	for (int t = 0; t < threads; t++)
		h->status[t] = RP_OK;
	nb = als_schedule(h->R, threads, h->blocks);
	st = rp_parallel_for(threads, nb, 1, als_half_block, h, cancel);
	if (st != RP_OK)
		return st;
	for (int t = 0; t < threads; t++)
		if (h->status[t] != RP_OK)
			return h->status[t];
	return RP_OK;
}

/* sum in row order: the same for any thread count */
static double
als_sum(const double *a, int64_t n)
{
	double		s = 0.0;

	for (int64_t i = 0; i < n; i++)
		s += a[i];
	return s;
}

rp_status
rp_als_iterate(const rp_als_params *p, const rp_csr *ui, const rp_csr *iu,
			   rp_als_model *m, void *work, size_t work_size,
			   const rp_cancel *cancel, double *loss)
{
	size_t		need;
	double	   *base;
	double	   *gram;
	double	   *gram2;
	double	   *rowloss;
	rp_status  *status;
	int64_t    *blocks;
	double	   *scratch;
	int32_t		k;
	int			implicit;
	als_half	h;
	double		ureg = 0.0;
	rp_status	st;

	if (loss != NULL)
		*loss = NAN;
	st = als_check_params(p);
	if (st != RP_OK)
		return st;
	if (ui == NULL || iu == NULL || m == NULL || work == NULL ||
		m->n_users != ui->n_rows || m->n_items != ui->n_cols ||
		iu->n_rows != ui->n_cols || m->factors != p->factors ||
		m->dim != rp_als_dim(p))
		return RP_EINVAL;
	need = rp_als_workspace_size(p, m->n_users, m->n_items);
	if (need == 0)
		return RP_ELIMIT;
	if (work_size < need)
		return RP_EINVAL;

	k = p->factors;
	implicit = p->method == RP_ALS_IMPLICIT;
	base = (double *) (((uintptr_t) work + 63) & ~(uintptr_t) 63);
	gram = base;
	gram2 = gram + al8((size_t) k * k);
	rowloss = gram2 + al8((size_t) k * k);
	status = (rp_status *) (rowloss +
							al8((size_t) (m->n_users > m->n_items ?
										  m->n_users : m->n_items)));
	blocks = (int64_t *) ((double *) status + al8(RP_MAX_THREADS));
	scratch = (double *) (blocks + 3 * al8((size_t) (m->n_users > m->n_items ?
												 m->n_users : m->n_items) + 1));

	memset(&h, 0, sizeof(h));
	h.p = p;
	h.kern = als_select_kernels();
	h.status = status;
	h.blocks = blocks;
	h.scratch = scratch;
	h.scratch_doubles = als_thread_doubles(p);
	h.side.method = p->method;
	h.side.k = k;
	h.side.ld = m->dim;
	h.side.gram = gram;
	h.side.lambda = p->regularization;
	h.side.alpha = p->alpha;
	h.side.mu = m->global_mean;

	/* users, items fixed */
	if (implicit)
		als_gram(m->item_factors, m->n_items, k, m->dim, gram);
	h.R = ui;
	h.S = m->user_factors;
	h.side.F = m->item_factors;
	h.side.off = k + 1;			/* item row [y, 1, c_i]: c_i is the offset */
	h.bias_col = k;				/* user row [x, b_u, 1] */
	h.loss = (!implicit && p->compute_loss) ? 1 : 0;
	h.rowloss = h.loss ? rowloss : NULL;
	st = als_run_half(&h, cancel);
	if (st != RP_OK)
		return st;
	if (h.loss)
		ureg = als_sum(rowloss, m->n_users);

	/* items, users fixed */
	if (implicit)
		als_gram(m->user_factors, m->n_users, k, m->dim, gram);
	h.R = iu;
	h.S = m->item_factors;
	h.side.F = m->user_factors;
	h.side.off = k;				/* user row [x, b_u, 1]: b_u is the offset */
	h.bias_col = k + 1;			/* item row [y, 1, c_i] */
	h.loss = p->compute_loss ? 2 : 0;
	h.rowloss = h.loss ? rowloss : NULL;
	st = als_run_half(&h, cancel);
	if (st != RP_OK)
		return st;

	if (p->compute_loss && loss != NULL)
	{
		double		cells = als_sum(rowloss, m->n_items);
		double		J;

		if (implicit)
		{
			/* gram = X^T X, gram2 = Y^T Y of the new item factors */
			double		tr = 0.0;
			double		trx = 0.0;
			double		try_ = 0.0;
			double		wsum = 0.0;

			als_gram(m->item_factors, m->n_items, k, m->dim, gram2);
			for (size_t j = 0; j < (size_t) k * k; j++)
				tr += gram[j] * gram2[j];
			for (int32_t j = 0; j < k; j++)
			{
				trx += gram[(size_t) j * k + j];
				try_ += gram2[(size_t) j * k + j];
			}
			for (int64_t i = 0; i < ui->nnz; i++)
				wsum += ui->values[i];
			J = tr + cells + p->regularization * (trx + try_);
			wsum = (double) m->n_users * (double) m->n_items +
				p->alpha * wsum;
			*loss = wsum > 0 ? J / wsum : 0.0;
		}
		else
		{
			J = ureg + cells;
			*loss = ui->nnz > 0 ? J / (double) ui->nnz : 0.0;
		}
		if (!rp_finite(*loss))
			return RP_ENUMERIC;
	}
	return RP_OK;
}

/* ---------------------------------------------------------------------- */
/* serving: fold-in and explanations */

size_t
rp_als_foldin_workspace_size(const rp_als_params *p)
{
	size_t		d;

	if (als_check_params(p) != RP_OK)
		return 0;
	d = (size_t) als_unknowns(p);
	return sizeof(double) * (al8(d * d) + 2 * al8(d) + als_build_doubles(d)) + 64;
}

static rp_status
als_foldin_check(const rp_als_params *p, const rp_als_model *m,
				 const double *gram, int32_t n, const int32_t *items,
				 const double *values)
{
	rp_status	st = als_check_params(p);

	if (st != RP_OK)
		return st;
	if (m == NULL || m->item_factors == NULL || m->factors != p->factors ||
		m->dim != rp_als_dim(p) || n < 0 || (n > 0 && (items == NULL || values == NULL)))
		return RP_EINVAL;
	if (p->method == RP_ALS_IMPLICIT && gram == NULL)
		return RP_EINVAL;
	for (int32_t j = 0; j < n; j++)
	{
		if (items[j] < 0 || items[j] >= m->n_items)
			return RP_EINVAL;
		if (!rp_finite(values[j]))
			return RP_ENUMERIC;
		if (p->method == RP_ALS_IMPLICIT && values[j] < 0.0)
			return RP_EINVAL;
	}
	return RP_OK;
}

static void
als_foldin_side(const rp_als_params *p, const rp_als_model *m,
				const double *gram, als_side *s)
{
	memset(s, 0, sizeof(*s));
	s->method = p->method;
	s->k = p->factors;
	s->ld = m->dim;
	s->F = m->item_factors;
	s->gram = gram;
	s->lambda = p->regularization;
	s->alpha = p->alpha;
	s->mu = m->global_mean;
	s->off = p->factors + 1;
}

rp_status
rp_als_fold_in(const rp_als_params *p, const rp_als_model *m,
			   const double *gram, int32_t n, const int32_t *items,
			   const double *values, double *x, void *work)
{
	als_side	s;
	double	   *A;
	double	   *b;
	int32_t		k;
	int32_t		d;
	rp_status	st = als_foldin_check(p, m, gram, n, items, values);

	if (st != RP_OK)
		return st;
	if (x == NULL || work == NULL)
		return RP_EINVAL;
	k = p->factors;
	d = als_unknowns(p);
	als_foldin_side(p, m, gram, &s);
	A = (double *) (((uintptr_t) work + 63) & ~(uintptr_t) 63);
	b = A + al8((size_t) d * d);
	if (p->method == RP_ALS_EXPLICIT && n == 0)
		memset(b, 0, sizeof(double) * d);
	else
	{
		als_build(&s, als_select_kernels(), n, items, values, A, b,
				  b + 2 * al8(d));
		st = als_posv(d, A, b);
		if (st != RP_OK)
			return st;
	}
	if (!als_finite_row(b, d))
		return RP_ENUMERIC;
	memcpy(x, b, sizeof(double) * k);
	if (p->method == RP_ALS_EXPLICIT)
	{
		x[k] = b[k];
		x[k + 1] = 1.0;
	}
	return RP_OK;
}

rp_status
rp_als_explain(const rp_als_params *p, const rp_als_model *m,
			   const double *gram, int32_t n, const int32_t *items,
			   const double *values, int32_t target, double *contrib,
			   double *score, void *work)
{
	als_side	s;
	const als_kernels *kern;
	double	   *A;
	double	   *w;
	const double *yj;
	int32_t		k;
	int32_t		d;
	int			nrhs = 1;
	int			info = 0;
	double		total = 0.0;
	rp_status	st = als_foldin_check(p, m, gram, n, items, values);

	if (st != RP_OK)
		return st;
	if (target < 0 || target >= m->n_items || score == NULL ||
		work == NULL || (n > 0 && contrib == NULL))
		return RP_EINVAL;
	k = p->factors;
	d = als_unknowns(p);
	kern = als_select_kernels();
	als_foldin_side(p, m, gram, &s);
	A = (double *) (((uintptr_t) work + 63) & ~(uintptr_t) 63);
	w = A + al8((size_t) d * d);
	yj = m->item_factors + (size_t) target * m->dim;

	if (p->method == RP_ALS_EXPLICIT && n == 0)
	{
		*score = m->global_mean + yj[k + 1];
		return RP_OK;
	}
	/* factor A_u, then w = A_u^-1 [y_j (, 1)] */
	als_build(&s, kern, n, items, values, A, w, w + 2 * al8(d));
	dpotrf_("U", &d, A, &d, &info);
	if (info > 0)
		return RP_ENUMERIC;
	if (info < 0)
		return RP_EINVAL;
	memcpy(w, yj, sizeof(double) * k);
	if (p->method == RP_ALS_EXPLICIT)
		w[k] = 1.0;
	dpotrs_("U", &d, &nrhs, A, &d, w, &d, &info);
	if (info != 0)
		return RP_EINVAL;

	for (int32_t j = 0; j < n; j++)
	{
		const double *f = m->item_factors + (size_t) items[j] * m->dim;
		double		sij = kern->dot(f, w, k);
		double		weight;

		if (p->method == RP_ALS_IMPLICIT)
			weight = values[j] > 0 ? 1.0 + p->alpha * values[j] : 0.0;
		else
		{
			sij += w[k];
			weight = values[j] - m->global_mean - f[k + 1];
		}
		contrib[j] = sij * weight;
		total += contrib[j];
	}
	if (p->method == RP_ALS_EXPLICIT)
		total += m->global_mean + yj[k + 1];
	if (!rp_finite(total))
		return RP_ENUMERIC;
	*score = total;
	return RP_OK;
}

/* ---------------------------------------------------------------------- */
/* erasure: re-solving chosen item rows (rp_als.h) */

size_t
rp_als_solve_items_workspace_size(const rp_als_params *p)
{
	size_t		k = (size_t) p->factors;

	return (al8(k * k) + als_thread_doubles(p)) * sizeof(double) + 64;
}

rp_status
rp_als_solve_items(const rp_als_params *p, rp_als_model *m, const rp_csr *iu,
				   const int32_t *items, int32_t n, void *work)
{
	als_side	s;
	const als_kernels *kern = als_select_kernels();
	int32_t		k = p->factors;
	int			d = als_unknowns(p);
	double	   *base = (double *) (((uintptr_t) work + 63) & ~(uintptr_t) 63);
	double	   *gram = base;
	double	   *A = gram + al8((size_t) k * k);
	double	   *z = A + al8((size_t) d * d);
	double	   *buf = z + 4 * al8(d);
	rp_status	st = als_check_params(p);

	if (st != RP_OK)
		return st;
	if (iu->n_rows != m->n_items || iu->n_cols != m->n_users || m->factors != k ||
		m->dim != rp_als_dim(p))
		return RP_EINVAL;
	memset(&s, 0, sizeof(s));
	s.method = p->method;
	s.k = k;
	s.ld = m->dim;
	s.F = m->user_factors;
	s.gram = gram;
	s.lambda = p->regularization;
	s.alpha = p->alpha;
	s.mu = m->global_mean;
	s.off = k;					/* user row [x, b_u, 1]: b_u is the offset */
	if (p->method == RP_ALS_IMPLICIT)
		als_gram(m->user_factors, m->n_users, k, m->dim, gram);
	for (int32_t t = 0; t < n; t++)
	{
		int32_t		i = items[t];
		int64_t		b;
		int64_t		cnt;
		double	   *x;

		if (i < 0 || i >= m->n_items)
			return RP_EINVAL;
		b = iu->indptr[i];
		cnt = iu->indptr[i + 1] - b;
		x = m->item_factors + (size_t) i * m->dim;
		if (p->method == RP_ALS_EXPLICIT && cnt == 0)
			memset(z, 0, sizeof(double) * d);
		else
		{
			als_build(&s, kern, cnt, iu->indices + b, iu->values + b, A, z, buf);
			st = als_posv(d, A, z);
			if (st != RP_OK)
				return st;
		}
		if (!als_finite_row(z, d))
			return RP_ENUMERIC;
		memcpy(x, z, sizeof(double) * k);
		if (p->method == RP_ALS_EXPLICIT)
			x[k + 1] = z[k];	/* item row [y, 1, c_i] */
	}
	return RP_OK;
}

/*
 * The storage precision of the user rows (rp_als.h).  The range test comes
 * before the cast: converting a double outside float's range is undefined
 * behaviour in C, and NaN fails the test too.
 */
rp_status
rp_als_round_f32(double *x, int64_t n, float *out)
{
	for (int64_t i = 0; i < n; i++)
	{
		if (!(fabs(x[i]) <= FLT_MAX))
			return RP_ENUMERIC;
		out[i] = (float) x[i];
		x[i] = (double) out[i];
	}
	return RP_OK;
}

void
rp_als_widen_f32(const float *in, int64_t n, double *out)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = (double) in[i];
}
