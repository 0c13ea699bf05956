/*
 * method_als.c
 *	  The `als` (implicit feedback) and `als_explicit` (ratings) methods:
 *	  matrix factorisation by alternating least squares (src/core/rp_als.c).
 *
 * Training hands the interactions read by train.c to the pure-C core: the
 * users x items CSR, its transpose, factor matrices and one scratch block,
 * all palloc'd in the training context after the memory estimate has been
 * checked against recpromo.memory_limit.  Iterations run one SQL call at a
 * time through rp_als_iterate(), which starts and joins its worker threads
 * inside the call (recpromo.max_threads of them; the result does not depend
 * on the count) and polls the cancel hook between row blocks, so
 * statement_timeout and a cancel stop training within one row block.  A
 * NOTICE reports each iteration's loss and time (the loss is computed only
 * when the NOTICE is shown, and for the last iteration, whose loss the
 * model keeps).
 *
 * Stored parts: "als_user_f4" (the user factor rows, n_users x dim
 * float32), "als_item" (the item factor rows, n_items x dim float64; layout
 * in rp_als.h: for als_explicit the rows carry the biases and a constant 1
 * so that one dot product gives b_u + c_i + x.y) and "als_mean" (the global
 * mean, 0 for implicit).
 *
 * Why the user rows are single precision: they are most of the factors
 * (100k users x 64 factors are 51 MB in float64, the items of a 20k
 * catalogue 10 MB), and saving a model, like deleting the version a
 * retrain replaces, costs time in proportion to its bytes (TOAST writes,
 * WAL, evictions).  Stored as float32 they take half: the parts of a model
 * of 5M interactions shrink from 120 to 94 MB (the rest is mostly the
 * users' histories, "seen_*"), the time to write them by a quarter and
 * the delete of a replaced version by almost half
 * (bench/bench_als_store.py).  implicit (float32 factors by default) and
 * Spark MLlib (Array[Float]) store their factors so too.  The rows move by
 * at most 2^-24 relative (about 6e-8), orders of magnitude below what the
 * next ALS iteration or a CG step would change; serving already multiplies
 * in single precision where it screens (rp_batch.c).  Training rounds its
 * in-memory rows to the stored floats before the save
 * (RecpromoAlsUserFactorsF4), so that whatever runs after it in the
 * statement sees what is stored, and a model serves the same in the
 * backend that trained it and after a reload.  The item rows stay float64:
 * they are fewer, and a new user's fold-in solves against them.
 * Everything in memory stays float64 (the loaded model, the shared cache
 * image, serving): the floats are widened once at load.  Models saved by
 * 0.4.0 and earlier hold "als_user" (float64) instead and load from it
 * unchanged (RecpromoAlsUserFactors, als.h).  Serving:
 *	- score: mean + x_u . y_i for every item (one DGEMV); a user unknown to
 *	  the model is folded in from their live history (rp_als_fold_in: the
 *	  exact least-squares row against the fixed item factors);
 *	- explain: Hu, Koren and Volinsky (2008, section 5): each history item's
 *	  share of the folded-in score, s_ij * c_ui (rp_als_explain);
 *	- similar_items / similar_users: cosine of the factor vectors (biases
 *	  left out);
 *	- factors: the rows as they are, so batch scoring is mean + U V^T.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "portability/instr_time.h"

#include <math.h>

#include "als.h"
#include "method.h"
#include "model_validate.h"
#include "recpromo.h"
#include "rp_als.h"
#include "rp_blas.h"

typedef struct AlsState
{
	rp_als_params p;
	rp_als_model m;
	double	   *gram;			/* item Gram for fold-in (k x k) */
} AlsState;

static const char *const solver_choices[] = {"cg", "cholesky", NULL};

/*
 * Default hyper-parameters.  als_explicit's regularization was 0.05 in
 * 0.1.0, which overfits: 5-fold RMSE at the level of a bias-only model on
 * ratings (issue 11.12).  bench/experiment_als_explicit.py (doc/training.md,
 * "Choosing the defaults of als_explicit") finds the best value at
 * 0.12-0.15 on a MovieLens-like generated set (weak structure, where 0.05
 * is no better than the biases) and at 0.05-0.08 on a strongly structured
 * one; 0.1 is within 0.5 % and 3 % of the best RMSE on them, and in the
 * 0.1-0.12 range that outside testing found best on public ratings.  The
 * factor count matters little once the ridge is right: 64 stays.
 */
#define ALS_DEFAULT_FACTORS 64
#define ALS_DEFAULT_REGULARIZATION 0.05
#define ALS_EXPLICIT_DEFAULT_REGULARIZATION 0.1

/* Reads and checks the hyper-parameters into p. */
static void
AlsParams(RecpromoTrainState *ts, rp_als_method method, rp_als_params *p,
		  int *iterations, uint64 *seed)
{
	const char *solver;

	memset(p, 0, sizeof(*p));
	p->method = method;
	p->factors = RecpromoParamInt(ts, "factors", ALS_DEFAULT_FACTORS, 1, RP_ALS_MAX_FACTORS);
	*iterations = RecpromoParamInt(ts, "iterations", 15, 1, 10000);
	p->regularization = RecpromoParamFloat(ts, "regularization",
										   method == RP_ALS_EXPLICIT ? ALS_EXPLICIT_DEFAULT_REGULARIZATION :
										   ALS_DEFAULT_REGULARIZATION, 0.0, 1e6);
	if (method == RP_ALS_EXPLICIT && !(p->regularization > 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("regularization must be greater than 0 for method \"als_explicit\""),
				 errhint("Users or items with fewer ratings than factors need the ridge; the default is 0.1.")));
	if (method == RP_ALS_IMPLICIT)
		p->alpha = RecpromoParamFloat(ts, "alpha", 1.0, 0.0, 1e9);
	solver = RecpromoParamChoice(ts, "solver", "cg", solver_choices);
	p->solver = strcmp(solver, "cholesky") == 0 ? RP_ALS_CHOLESKY : RP_ALS_CG;
	p->cg_steps = RecpromoParamInt(ts, "cg_steps", 3, 1, 1000);
	*seed = (uint64) (int64) RecpromoParamInt(ts, "seed", 42, PG_INT32_MIN, PG_INT32_MAX);
	p->threads = ts->threads;
	p->compute_loss = 1;
}

/* The user rows of a stored model, either form (contract in als.h). */
double *
RecpromoAlsUserFactors(const RecpromoParts *parts, const char *model, const rp_als_params *p,
					   int32 n_users)
{
	int64		expected = (int64) n_users * rp_als_dim(p);
	const char *part = RECPROMO_ALS_USER_F4;
	int64		n;
	float	   *f;
	double	   *x;
	const char *reason = NULL;

	/* neither part: "als_user_f4" is the one reported missing */
	if (RecpromoPartsGet(parts, RECPROMO_ALS_USER_F4, 0, true, NULL) == NULL &&
		RecpromoPartsGet(parts, RECPROMO_ALS_USER_F8, 0, true, NULL) != NULL)
	{
		part = RECPROMO_ALS_USER_F8;
		x = RecpromoModelPartFactors(parts, model, part, expected);
	}
	else
	{
		if (RecpromoPartsGet(parts, RECPROMO_ALS_USER_F8, 0, true, NULL) != NULL)
			RecpromoModelCorrupt(model, RECPROMO_ALS_USER_F8,
								 "is left over: the model also holds \"" RECPROMO_ALS_USER_F4 "\"");
		f = RecpromoModelPart(parts, model, part, sizeof(float), expected, &n);
		x = RecpromoAllocLarge(Max((Size) n, 1) * sizeof(double));
		rp_als_widen_f32(f, n, x);

		/*
		 * The same check as the float64 part's (RecpromoModelPartFactors),
		 * on the widened values: NaN and infinities fail it, and so does a
		 * float beyond the factor bound.  The float32 buffer stays with the
		 * parts (the caller's: a model's load frees it, forget replaces it).
		 * The doubles go into huge pages: at 100k users x 64 factors, 4 kB pages
		 * made the load 0.3 s slower (page faults) on the test machine.
		 */
		RecpromoModelCheck(rp_validate_range(x, n, -RP_VALIDATE_MAX_FACTOR,
											 RP_VALIDATE_MAX_FACTOR, &reason),
						   model, part, reason);
	}
	if (p->method == RP_ALS_EXPLICIT)
		RecpromoModelCheck(rp_validate_als_explicit_rows(x, n_users, p->factors, true, &reason),
						   model, part, reason);
	return x;
}

/* Rounds U to float32 and returns the stored bytes (contract in als.h). */
float *
RecpromoAlsUserFactorsF4(double *U, int64 n, const char *what)
{
	float	   *f = RecpromoAllocLarge(Max((Size) n, 1) * sizeof(float));

	RecpromoCheckStatus(rp_als_round_f32(U, n, f), what);
	return f;
}

static void
AlsTrain(RecpromoTrainState *ts, rp_als_method method)
{
	const rp_csr *R = &ts->data.R;
	rp_als_params p;
	rp_als_model m;
	rp_csr		T;
	int			iterations;
	uint64		seed;
	int32		dim;
	size_t		ws;
	void	   *work;
	double		bytes;
	double		loss = NAN;
	rp_cancel	cancel = RecpromoCancelHook();

	AlsParams(ts, method, &p, &iterations, &seed);
	dim = rp_als_dim(&p);

	/*
	 * Everything training holds at once, checked before allocating, plus
	 * the float32 copy of the user rows made for the save (by then the
	 * transpose and the workspace are freed, but they need not be as large:
	 * counted on top, so the bound holds either way).
	 */
	ws = rp_als_workspace_size(&p, R->n_rows, R->n_cols);
	bytes = 2.0 * (12.0 * (double) R->nnz) + 8.0 * ((double) R->n_rows + R->n_cols + 2) +
		8.0 * dim * ((double) R->n_rows + R->n_cols) + (double) ws +
		4.0 * dim * (double) R->n_rows;
	if (ws == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ALS scratch space for %d users, %d items and %d factors is too large",
						R->n_rows, R->n_cols, p.factors)));
	RecpromoCheckMemory(bytes, "ALS training");

	/*
	 * The large arrays in huge pages (RecpromoAllocLarge, source.h): each is
	 * written in full, and 4 kB pages cost 26,000 more page faults at 5M
	 * interactions and 100k users x 64 factors.
	 */
	T.indptr = palloc_extended(((Size) R->n_cols + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	T.indices = RecpromoAllocLarge(Max((Size) R->nnz, 1) * sizeof(int32));
	T.values = RecpromoAllocLarge(Max((Size) R->nnz, 1) * sizeof(double));
	RecpromoCheckStatus(rp_csr_transpose(R, &T), "ALS training");
	RecpromoCheckStatus(rp_als_check(&p, R, &T), "ALS training");

	memset(&m, 0, sizeof(m));
	m.user_factors = RecpromoAllocLarge(Max((Size) R->n_rows * dim, 1) * sizeof(double));
	m.item_factors = RecpromoAllocLarge(Max((Size) R->n_cols * dim, 1) * sizeof(double));
	RecpromoCheckStatus(rp_als_init(&p, R, seed, &m), "ALS training");
	work = palloc_extended(ws, MCXT_ALLOC_HUGE);

	for (int it = 0; it < iterations; it++)
	{
		instr_time	start;
		instr_time	dur;
		rp_status	st;

		CHECK_FOR_INTERRUPTS();
		INSTR_TIME_SET_CURRENT(start);

		/*
		 * The loss is a pass over every interaction: computed for the
		 * iteration's NOTICE when someone will see it (client or log), and
		 * for the last iteration always (the model's final_loss).  The
		 * factors do not depend on it.
		 */
		p.compute_loss = it == iterations - 1 || message_level_is_interesting(NOTICE);
		loss = NAN;
		st = rp_als_iterate(&p, R, &T, &m, work, ws, &cancel, &loss);
		RecpromoCheckStatus(st, "ALS training");
		CHECK_FOR_INTERRUPTS();
		INSTR_TIME_SET_CURRENT(dur);
		INSTR_TIME_SUBTRACT(dur, start);
		ereport(NOTICE,
				(errmsg("%s iteration %d of %d: loss %.6g, %.3f s",
						ts->method->name, it + 1, iterations, loss,
						INSTR_TIME_GET_DOUBLE(dur))));
	}
	/*
	 * final_loss is the last iteration's, on the float64 user rows before
	 * they are rounded for storage below: rounding moves it by about 1e-7
	 * relative, and recomputing it would be one more pass over every
	 * interaction.
	 */
	ts->final_loss = loss;

	pfree(work);
	pfree(T.indptr);
	pfree(T.indices);
	pfree(T.values);
	RecpromoPartsAdd(&ts->parts, RECPROMO_ALS_USER_F4,
					 RecpromoAlsUserFactorsF4(m.user_factors, (int64) R->n_rows * dim,
											  "ALS training"),
					 (Size) R->n_rows * dim * sizeof(float));
	RecpromoPartsAdd(&ts->parts, "als_item", m.item_factors,
					 (Size) R->n_cols * dim * sizeof(double));
	{
		double	   *mean = palloc(sizeof(double));

		*mean = m.global_mean;
		RecpromoPartsAdd(&ts->parts, "als_mean", mean, sizeof(double));
	}
}

static void
AlsTrainImplicit(RecpromoTrainState *ts)
{
	AlsTrain(ts, RP_ALS_IMPLICIT);
}

static void
AlsTrainExplicit(RecpromoTrainState *ts)
{
	AlsTrain(ts, RP_ALS_EXPLICIT);
}

static void
AlsLoad(RecpromoModel *m, const RecpromoParts *parts, rp_als_method method)
{
	AlsState   *st = palloc0(sizeof(AlsState));
	int32		dim;
	double	   *mean;

	st->p.method = method;
	st->p.solver = RP_ALS_CHOLESKY;
	/* the stored hyper-parameters set the factor rows' width: checked first */
	st->p.factors = (int32) RecpromoModelParamChecked(m, "factors", 64, 1, RP_ALS_MAX_FACTORS);
	st->p.regularization = RecpromoModelParamChecked(m, "regularization", 0.05, 0.0, 1e6);
	st->p.alpha = method == RP_ALS_IMPLICIT ?
		RecpromoModelParamChecked(m, "alpha", 1.0, 0.0, 1e9) : 0.0;
	st->p.cg_steps = 3;
	st->p.threads = 1;
	dim = rp_als_dim(&st->p);
	st->m.n_users = m->users.n;
	st->m.n_items = m->items.n;
	st->m.factors = st->p.factors;
	st->m.dim = dim;
	st->m.user_factors = RecpromoAlsUserFactors(parts, m->row.name, &st->p, m->users.n);
	{
		/*
		 * The float32 rows are widened: their buffer (24 MB at 100k users x
		 * 64 factors) need not live as long as the model.
		 */
		void	   *f4 = RecpromoPartsGet(parts, RECPROMO_ALS_USER_F4, 0, true, NULL);

		if (f4 != NULL)
			pfree(f4);
	}
	st->m.item_factors = RecpromoModelPartFactors(parts, m->row.name, "als_item",
												  (int64) m->items.n * dim);
	if (method == RP_ALS_EXPLICIT)
	{
		const char *reason = NULL;

		RecpromoModelCheck(rp_validate_als_explicit_rows(st->m.item_factors, m->items.n,
														 st->p.factors, false, &reason),
						   m->row.name, "als_item", reason);
	}
	/* a NaN mean would make every score NaN: refused with the other parts */
	mean = RecpromoModelPartFactors(parts, m->row.name, "als_mean", 1);
	st->m.global_mean = *mean;
	st->gram = palloc((Size) st->p.factors * st->p.factors * sizeof(double));
	RecpromoCheckStatus(rp_als_item_gram(&st->m, st->gram), "loading the model");
	m->state = st;
}

static void
AlsLoadImplicit(RecpromoModel *m, const RecpromoParts *parts)
{
	AlsLoad(m, parts, RP_ALS_IMPLICIT);
}

static void
AlsLoadExplicit(RecpromoModel *m, const RecpromoParts *parts)
{
	AlsLoad(m, parts, RP_ALS_EXPLICIT);
}

/*
 * Shared model cache (model_image.c): the factor rows, the mean and the
 * item Gram go into the image as they are, so that attaching computes
 * nothing; the widths come from the stored hyper-parameters, as in AlsLoad.
 */
static void
AlsImageSave(const RecpromoModel *m, RecpromoImageSink *sink)
{
	const AlsState *st = m->state;

	RecpromoImageAdd(sink, "als_user", st->m.user_factors,
					 (Size) st->m.n_users * st->m.dim * sizeof(double));
	RecpromoImageAdd(sink, "als_item", st->m.item_factors,
					 (Size) st->m.n_items * st->m.dim * sizeof(double));
	RecpromoImageAdd(sink, "als_mean", &st->m.global_mean, sizeof(double));
	RecpromoImageAdd(sink, "als_gram", st->gram,
					 (Size) st->p.factors * st->p.factors * sizeof(double));
}

static bool
AlsImageAttach(RecpromoModel *m)
{
	AlsState   *st = palloc0(sizeof(AlsState));
	rp_als_method method = strcmp(m->method->name, "als_explicit") == 0 ?
		RP_ALS_EXPLICIT : RP_ALS_IMPLICIT;
	const double *mean;

	st->p.method = method;
	st->p.solver = RP_ALS_CHOLESKY;
	st->p.factors = (int32) RecpromoModelParamChecked(m, "factors", 64, 1, RP_ALS_MAX_FACTORS);
	st->p.regularization = RecpromoModelParamChecked(m, "regularization", 0.05, 0.0, 1e6);
	st->p.alpha = method == RP_ALS_IMPLICIT ?
		RecpromoModelParamChecked(m, "alpha", 1.0, 0.0, 1e9) : 0.0;
	st->p.cg_steps = 3;
	st->p.threads = 1;
	st->m.n_users = m->users.n;
	st->m.n_items = m->items.n;
	st->m.factors = st->p.factors;
	st->m.dim = rp_als_dim(&st->p);
	/* read-only mapping: serving never writes these arrays */
	st->m.user_factors = (double *) RecpromoImageSection(m, "als_user", sizeof(double),
														 (int64) m->users.n * st->m.dim);
	st->m.item_factors = (double *) RecpromoImageSection(m, "als_item", sizeof(double),
														 (int64) m->items.n * st->m.dim);
	mean = RecpromoImageSection(m, "als_mean", sizeof(double), 1);
	st->gram = (double *) RecpromoImageSection(m, "als_gram", sizeof(double),
											   (int64) st->p.factors * st->p.factors);
	if (st->m.user_factors == NULL || st->m.item_factors == NULL || mean == NULL ||
		st->gram == NULL)
		return false;
	st->m.global_mean = *mean;
	m->state = st;
	return true;
}

/* Checks a live history before folding it in (the table may have changed). */
static void
AlsCheckHistory(const AlsState *st, const double *vals, int32 nhist)
{
	for (int32 j = 0; j < nhist; j++)
	{
		if (!rp_finite(vals[j]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the user's history holds a NaN or infinite value"),
					 errhint("Fix the source table's rating column.")));
		if (st->p.method == RP_ALS_IMPLICIT && vals[j] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the user's history holds a negative value, which implicit feedback does not allow"),
					 errhint("Filter returns and cancellations out of the source, e.g. with a view.")));
	}
}

/* The user's factor row: the trained one, or folded in from hist (palloc'd). */
static const double *
AlsUserRow(const RecpromoModel *m, int32 u, const int32 *hist,
		   const double *vals, int32 nhist)
{
	const AlsState *st = m->state;
	double	   *x;
	void	   *work;

	if (u >= 0)
		return st->m.user_factors + (Size) u * st->m.dim;
	AlsCheckHistory(st, vals, nhist);
	x = palloc(st->m.dim * sizeof(double));
	work = palloc(rp_als_foldin_workspace_size(&st->p));
	RecpromoCheckStatus(rp_als_fold_in(&st->p, &st->m, st->gram, nhist, hist, vals, x, work),
						"folding in a new user");
	pfree(work);
	return x;
}

static void
AlsScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
		 int32 nhist, double *scores)
{
	const AlsState *st = m->state;
	const double *x = AlsUserRow(m, u, hist, vals, nhist);

	if (st->m.n_items == 0)
		return;
	cblas_dgemv(CblasRowMajor, CblasNoTrans, st->m.n_items, st->m.dim, 1.0,
				st->m.item_factors, st->m.dim, x, 1, 0.0, scores, 1);
	if (st->m.global_mean != 0.0)
		for (int32 i = 0; i < st->m.n_items; i++)
			scores[i] += st->m.global_mean;
}

/* sims[j] = cosine of the first k columns of row q with every row of F */
static void
AlsCosines(const double *F, int32 n, int32 k, int32 dim, const double *q, double *sims)
{
	double		qn = sqrt(cblas_ddot(k, q, 1, q, 1));

	if (n == 0)
		return;
	cblas_dgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0, F, dim, q, 1, 0.0, sims, 1);
	for (int32 j = 0; j < n; j++)
	{
		double		d = qn * sqrt(cblas_ddot(k, F + (Size) j * dim, 1, F + (Size) j * dim, 1));

		/* a zero vector has similarity 0 with everything */
		sims[j] = d > 0 ? sims[j] / d : 0.0;
	}
}

static void
AlsSimilarItems(const RecpromoModel *m, int32 i, double *sims)
{
	const AlsState *st = m->state;

	AlsCosines(st->m.item_factors, st->m.n_items, st->m.factors, st->m.dim,
			   st->m.item_factors + (Size) i * st->m.dim, sims);
	sims[i] = -INFINITY;
}

static void
AlsSimilarUsers(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
				int32 nhist, double *sims)
{
	const AlsState *st = m->state;
	const double *x = AlsUserRow(m, u, hist, vals, nhist);

	AlsCosines(st->m.user_factors, st->m.n_users, st->m.factors, st->m.dim, x, sims);
	if (u >= 0)
		sims[u] = -INFINITY;
}

static void
AlsExplain(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
		   int32 nhist, int32 item, double *contrib)
{
	const AlsState *st = m->state;
	void	   *work = palloc(rp_als_foldin_workspace_size(&st->p));
	double		score;

	AlsCheckHistory(st, vals, nhist);
	RecpromoCheckStatus(rp_als_explain(&st->p, &st->m, st->gram, nhist, hist, vals,
									   item, contrib, &score, work),
						"explaining a score");
	pfree(work);
}

static bool
AlsFactors(const RecpromoModel *m, RecpromoFactors *out)
{
	const AlsState *st = m->state;

	/* the bias columns ride along in the rows: mean + U.V is the score */
	out->factors = st->m.dim;
	out->U = st->m.user_factors;
	out->V = st->m.item_factors;
	out->user_bias = NULL;
	out->item_bias = NULL;
	out->global = st->m.global_mean;
	return true;
}

/* The folded-in row of a new user, for serving's screened top-n. */
static void
AlsFoldIn(const RecpromoModel *m, const int32 *hist, const double *vals, int32 nhist,
		  double *out)
{
	const AlsState *st = m->state;
	const double *x = AlsUserRow(m, -1, hist, vals, nhist);

	memcpy(out, x, st->m.dim * sizeof(double));
}

const RecpromoMethod RecpromoMethodAls = {
	.name = "als",
	.description = "implicit-feedback matrix factorisation (Hu, Koren and Volinsky 2008)",
	.nonneg = true,
	.train = AlsTrainImplicit,
	.load = AlsLoadImplicit,
	.score = AlsScore,
	.similar_items = AlsSimilarItems,
	.similar_users = AlsSimilarUsers,
	.explain = AlsExplain,
	.factors = AlsFactors,
	.fold_in = AlsFoldIn,
	.image_save = AlsImageSave,
	.image_attach = AlsImageAttach,
};

const RecpromoMethod RecpromoMethodAlsExplicit = {
	.name = "als_explicit",
	.description = "rating matrix factorisation with biases (Zhou et al. 2008)",
	.nonneg = false,
	.has_baseline = true,
	.train = AlsTrainExplicit,
	.load = AlsLoadExplicit,
	.score = AlsScore,
	.similar_items = AlsSimilarItems,
	.similar_users = AlsSimilarUsers,
	.explain = AlsExplain,
	.factors = AlsFactors,
	.fold_in = AlsFoldIn,
	.image_save = AlsImageSave,
	.image_attach = AlsImageAttach,
};
