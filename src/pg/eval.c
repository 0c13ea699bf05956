/*
 * eval.c
 *	  evaluate(): a trained model scored against held-out interactions.
 *
 * The test table is read with the framework's reader (source.c: SPI with
 * the caller's privileges and row-level security, duplicate (user, item)
 * rows summed, NaN or infinite ratings refused), into a CSR of test users x
 * test items with its own key dictionaries, whose keys are then looked up in
 * the model's dictionaries once each.  Users are visited in the sorted order
 * of their keys, so sums, and the results, are reproducible.
 *
 * For each test user:
 *	- the relevant set R is the user's test items (with relevance_threshold,
 *	  those whose summed rating reaches it).  With exclude_seen, items the
 *	  user already has in the model's training data are dropped from R, since
 *	  recommend() never shows them; items unknown to the model stay in R (the
 *	  model cannot recommend them, which is part of its quality);
 *	- a user with an empty R is skipped ("no test items"), a user the model
 *	  does not know is skipped ("unknown");
 *	- otherwise the user's top k is computed as recommend() computes it: with
 *	  exclude_seen the training items are left out, and ties go to the lower
 *	  item index.  Factor models (ALS) are ranked all at once by the batch
 *	  scorer of recommend_all (rp_batch_topk: blocked matrix products, exact
 *	  double-precision top k, recpromo.max_threads workers); other methods
 *	  through their per-user score callback and rp_topk.  The list is scored
 *	  by rp_rank_metrics_user as a strict ranking: it is exactly what the
 *	  user would be shown.
 * Coverage and popularity bias use the recommended slots against the
 * model's catalogue and its item popularity (training users per item).
 * RMSE and MAE compare the model's score with the summed test rating of
 * every test pair whose user and item the model knows, when a rating column
 * is given and the model was trained on ratings.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "method.h"
#include "recpromo.h"
#include "rp_batch.h"
#include "rp_fair.h"
#include "rp_metrics.h"
#include "rp_topk.h"

#define EVALUATE_COLS 17
#define EVALUATE_MAX_K 100000

static int
Int32Cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* Index in `to` of the key at index idx of `from`, or -1. */
static int32
MapKey(const RecpromoKeys *from, int32 idx, const RecpromoKeys *to)
{
	if (from->kclass == RECPROMO_KEY_INT)
	{
		char		buf[32];

		if (to->kclass == RECPROMO_KEY_INT)
			return RecpromoKeysFindInt(to, from->ints[idx]);
		snprintf(buf, sizeof(buf), INT64_FORMAT, from->ints[idx]);
		return RecpromoKeysFindText(to, buf);
	}
	else
	{
		const char *s = from->text_buf + from->text_off[idx];

		if (to->kclass == RECPROMO_KEY_TEXT)
			return RecpromoKeysFindText(to, s);
		else
		{
			char	   *end;
			long long	v;

			errno = 0;
			v = strtoll(s, &end, 10);
			if (errno != 0 || end == s || *end != '\0')
				return -1;
			return RecpromoKeysFindInt(to, (int64) v);
		}
	}
}

/* True when item i is in the model's training row of user u. */
static bool
SeenByUser(const RecpromoModel *m, int32 u, int32 i)
{
	int64		lo = m->seen.indptr[u],
				hi = m->seen.indptr[u + 1] - 1;

	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;
		int32		c = m->seen.indices[mid];

		if (c == i)
			return true;
		if (c < i)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/*
 * The top k of each selected user (method.h).  Factor models with k within
 * the batch scorer's limit go through rp_batch_topk (blocked matrix
 * products, exact double top k, recpromo.max_threads workers), the others
 * through the method's per-user score callback and rp_topk.
 */
void
RecpromoRankUsers(const RecpromoModel *m, const int32 *sel, int32 n_sel, int32 k,
				  bool exclude_seen, int32 *top_idx, double *top_sc, int32 *top_n)
{
	RecpromoFactors F;
	int32		n_items = m->items.n;

	if (n_sel <= 0)
		return;
	if (m->method->factors != NULL && m->method->factors(m, &F) && k <= RP_BATCH_MAX_K)
	{
		rp_batch_input in;
		size_t		need;
		void	   *work;
		rp_cancel	cancel = RecpromoCancelHook();
		int			threads = RecpromoThreads();

		memset(&in, 0, sizeof(in));
		in.n_users = m->users.n;
		in.n_items = n_items;
		in.factors = F.factors;
		in.U = F.U;
		in.V = F.V;
		in.user_bias = F.user_bias;
		in.item_bias = F.item_bias;
		in.global = F.global;
		if (exclude_seen)
		{
			in.excl_indptr = m->seen.indptr;
			in.excl_indices = m->seen.indices;
		}
		in.users = sel;
		in.n_sel = n_sel;
		need = rp_batch_workspace_size(&in, k, threads);
		if (need == 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("evaluation workspace for %d items and k = %d is too large",
							n_items, k)));
		RecpromoCheckMemory((double) need, "evaluation");
		work = palloc_extended(need, MCXT_ALLOC_HUGE);
		RecpromoCheckStatus(rp_batch_topk(&in, k, threads, RP_BATCH_AUTO, work, need,
										  top_idx, top_sc, top_n, &cancel, NULL),
							"evaluation");
		pfree(work);
	}
	else
	{
		double	   *scores = palloc_extended(Max((Size) n_items, 1) * sizeof(double),
											 MCXT_ALLOC_HUGE);

		for (int32 r = 0; r < n_sel; r++)
		{
			int32		u = sel[r];
			const int32 *hist = m->seen.indices + m->seen.indptr[u];
			const double *hvals = m->seen.values + m->seen.indptr[u];
			int32		nhist = (int32) (m->seen.indptr[u + 1] - m->seen.indptr[u]);

			CHECK_FOR_INTERRUPTS();
			m->method->score(m, u, hist, hvals, nhist, scores);
			if (exclude_seen)
				for (int32 h = 0; h < nhist; h++)
					scores[hist[h]] = -INFINITY;
			top_n[r] = rp_topk(scores, n_items, NULL, k, top_idx + (int64) r * k,
							   top_sc + (int64) r * k);
		}
		pfree(scores);
	}
	CHECK_FOR_INTERRUPTS();
}

static char *
NameArg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what),
				 errhint("Name a column of the test table.")));
	return NameStr(*PG_GETARG_NAME(argno));
}

/*
 * The lists evaluate() scores, and what is needed to score them: the test
 * table read, each test user's relevant known items, the selection of users
 * ranked, their top k as recommend() serves them, and (with errors) the
 * rating errors.  Shared by evaluate(), exposure() and evaluate_by_group().
 */
typedef struct EvalLists
{
	RecpromoModel *m;
	RecpromoInteractions t;
	int32	   *umap;			/* test user -> model user, or -1 */
	int32	   *imap;			/* test item -> model item, or -1 */
	int64		skipped_no_test;
	int64		skipped_unknown;
	unsigned char *status;		/* per test user: 0 no test items, 1
								 * unknown to the model, 2 ranked */
	int32		n_sel;			/* users ranked */
	int32	   *sel;			/* their model indices */
	int32	   *sel_j;			/* their test indices (ascending) */
	int32	   *sel_nrel;		/* |R| (known or not) */
	int64	   *rel_off;		/* per test user: rel_all[rel_off[j]..] */
	int32	   *rel_all;		/* relevant known items (model indices) */
	int32		k;
	int32	   *top_idx;		/* n_sel x k */
	double	   *top_sc;
	int32	   *top_n;
	bool		want_errors;
	rp_error_acc err;
} EvalLists;

static void
EvaluateLists(RecpromoModel *m, Oid relid, const char *user_col, const char *item_col,
			  const char *rating_col, int32 k, bool use_threshold, double threshold,
			  bool exclude_seen, bool errors, EvalLists *L)
{
	RecpromoSource src;
	RecpromoInteractions *tp = &L->t;
	int32		n_items = m->items.n;
	double	   *scores;
	int32	   *umap,
			   *imap;
	RecpromoFactors F;

	memset(L, 0, sizeof(*L));
	L->m = m;
	L->k = k;
	RecpromoSourceInit(&src, relid, user_col, item_col, rating_col);
	RecpromoReadInteractions(&src, false, tp);

	umap = L->umap = palloc(Max((Size) tp->users.n, 1) * sizeof(int32));
	imap = L->imap = palloc(Max((Size) tp->items.n, 1) * sizeof(int32));
	for (int32 j = 0; j < tp->users.n; j++)
		umap[j] = MapKey(&tp->users, j, &m->users);
	for (int32 j = 0; j < tp->items.n; j++)
		imap[j] = MapKey(&tp->items, j, &m->items);

	scores = palloc_extended(Max((Size) n_items, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	L->want_errors = errors && rating_col != NULL && m->row.rating_col != NULL;
	rp_error_acc_init(&L->err);

	/*
	 * Pass 1: each test user's relevant set (known items go to rel_all at
	 * rel_off[j]) and the selection of users to rank.
	 */
	L->rel_off = palloc(((Size) tp->users.n + 1) * sizeof(int64));
	L->rel_all = palloc_extended(Max((Size) tp->R.nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	L->sel = palloc(Max((Size) tp->users.n, 1) * sizeof(int32));
	L->sel_j = palloc(Max((Size) tp->users.n, 1) * sizeof(int32));
	L->sel_nrel = palloc(Max((Size) tp->users.n, 1) * sizeof(int32));
	L->status = palloc(Max((Size) tp->users.n, 1));
	L->rel_off[0] = 0;
	for (int32 j = 0; j < tp->users.n; j++)
	{
		int32		u = umap[j];
		int32		n_rel = 0;
		int64		w = L->rel_off[j];

		if ((j & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 p = tp->R.indptr[j]; p < tp->R.indptr[j + 1]; p++)
		{
			int32		i = imap[tp->R.indices[p]];

			if (use_threshold && !(tp->R.values[p] >= threshold))
				continue;
			if (i >= 0 && u >= 0 && exclude_seen && SeenByUser(m, u, i))
				continue;
			n_rel++;
			if (i >= 0)
				L->rel_all[w++] = i;
		}
		L->rel_off[j + 1] = w;
		L->status[j] = n_rel == 0 ? 0 : u < 0 ? 1 : 2;
		if (n_rel == 0)
			L->skipped_no_test++;
		else if (u < 0)
			L->skipped_unknown++;
		else
		{
			L->sel[L->n_sel] = u;
			L->sel_j[L->n_sel] = j;
			L->sel_nrel[L->n_sel] = n_rel;
			L->n_sel++;
		}
	}

	RecpromoCheckMemory((double) L->n_sel * k * (sizeof(int32) + sizeof(double)) +
						(double) n_items * (2 * sizeof(double) + 2),
						"evaluation");
	L->top_idx = palloc_extended(Max((Size) L->n_sel * k, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	L->top_sc = palloc_extended(Max((Size) L->n_sel * k, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	L->top_n = palloc(Max((Size) L->n_sel, 1) * sizeof(int32));

	/* Pass 2: the top k of every selected user, and the rating errors. */
	if (m->method->factors != NULL && m->method->factors(m, &F) && k <= RP_BATCH_MAX_K &&
		L->n_sel > 0)
	{
		/* batch scoring by blocked matrix products, as recommend_all */
		RecpromoRankUsers(m, L->sel, L->n_sel, k, exclude_seen, L->top_idx, L->top_sc, L->top_n);
		CHECK_FOR_INTERRUPTS();
		if (L->want_errors)
			for (int32 j = 0; j < tp->users.n; j++)
			{
				int32		u = umap[j];

				if (u < 0)
					continue;
				for (int64 p = tp->R.indptr[j]; p < tp->R.indptr[j + 1]; p++)
				{
					int32		i = imap[tp->R.indices[p]];
					double		pred = F.global;

					if (i < 0)
						continue;
					if (F.user_bias)
						pred += F.user_bias[u];
					if (F.item_bias)
						pred += F.item_bias[i];
					for (int32 f = 0; f < F.factors; f++)
						pred += F.U[(int64) u * F.factors + f] * F.V[(int64) i * F.factors + f];
					RecpromoCheckStatus(rp_error_acc_add(&L->err, pred, tp->R.values[p]),
										"evaluation");
				}
			}
	}
	else
	{
		/* the method's per-user scoring entry, as recommend() */
		int32		r = 0;

		for (int32 j = 0; j < tp->users.n; j++)
		{
			int32		u = umap[j];
			bool		selected = r < L->n_sel && L->sel_j[r] == j;
			const int32 *hist;
			const double *hvals;
			int32		nhist;

			CHECK_FOR_INTERRUPTS();
			if (u < 0 || (!selected && !L->want_errors))
				continue;
			hist = m->seen.indices + m->seen.indptr[u];
			hvals = m->seen.values + m->seen.indptr[u];
			nhist = (int32) (m->seen.indptr[u + 1] - m->seen.indptr[u]);
			m->method->score(m, u, hist, hvals, nhist, scores);

			if (L->want_errors)
				for (int64 p = tp->R.indptr[j]; p < tp->R.indptr[j + 1]; p++)
				{
					int32		i = imap[tp->R.indices[p]];

					if (i >= 0)
						RecpromoCheckStatus(rp_error_acc_add(&L->err, scores[i], tp->R.values[p]),
											"evaluation");
				}
			if (!selected)
				continue;
			if (exclude_seen)
				for (int32 h = 0; h < nhist; h++)
					scores[hist[h]] = -INFINITY;
			L->top_n[r] = rp_topk(scores, n_items, NULL, k, L->top_idx + (int64) r * k,
								  L->top_sc + (int64) r * k);
			r++;
		}
	}
}

/* Checks the arguments evaluate(), exposure() and evaluate_by_group() share. */
static int32
CheckK(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno) || PG_GETARG_INT32(argno) < 1 || PG_GETARG_INT32(argno) > EVALUATE_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", EVALUATE_MAX_K),
				 errhint("k is the length of the recommendation lists to score, such as 10.")));
	return PG_GETARG_INT32(argno);
}

static Oid
TestSourceArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("test_source must not be null"),
				 errhint("Name the table or view of held-out interactions.")));
	return PG_GETARG_OID(argno);
}

static void
CheckThreshold(bool use_threshold, double threshold, const char *rating_col)
{
	if (use_threshold && rating_col == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relevance_threshold needs rating_col"),
				 errhint("Name the test column holding ratings or quantities.")));
	if (use_threshold && (isnan(threshold) || isinf(threshold)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relevance_threshold must be finite"),
				 errhint("Pass for instance 4 to count ratings of 4 and above as relevant.")));
}

/*
 * The seven mean ranking metrics of acc (precision, recall, F1, NDCG, MAP,
 * hit rate, MRR) into values/nulls from column c on, NULL when no user was
 * scored; returns the next column.
 */
static int
PutRankMeans(const rp_metrics_acc *acc, Datum *values, bool *nulls, int c)
{
	rp_rank_metrics mean;

	if (acc->users == 0)
	{
		for (int z = 0; z < 7; z++)
			nulls[c++] = true;
		return c;
	}
	RecpromoCheckStatus(rp_metrics_acc_mean(acc, &mean), "evaluation");
	values[c++] = Float8GetDatum(mean.precision);
	values[c++] = Float8GetDatum(mean.recall);
	values[c++] = Float8GetDatum(mean.f1);
	values[c++] = Float8GetDatum(mean.ndcg);
	values[c++] = Float8GetDatum(mean.ap);
	values[c++] = Float8GetDatum(mean.hit);
	values[c++] = Float8GetDatum(mean.rr);
	return c;
}

/*
 * evaluate(model text, test_source regclass, user_col name, item_col name,
 *			rating_col name, k integer, relevance_threshold float8,
 *			exclude_seen boolean) RETURNS TABLE (model_name, ...): one row
 */
PG_FUNCTION_INFO_V1(recpromo_evaluate);
Datum
recpromo_evaluate(PG_FUNCTION_ARGS)
{
	char	   *model_name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			relid;
	char	   *user_col,
			   *item_col,
			   *rating_col;
	int32		k;
	bool		use_threshold = !PG_ARGISNULL(6);
	double		threshold = use_threshold ? PG_GETARG_FLOAT8(6) : 0.0;
	bool		exclude_seen = PG_ARGISNULL(7) ? true : PG_GETARG_BOOL(7);
	RecpromoModel *m;
	MemoryContext cxt,
				old;
	EvalLists	L;
	int32		n_items;
	double	   *exposure;
	unsigned char *mark,
			   *flags;
	rp_metrics_acc acc;
	rp_catalogue_metrics cat;
	bool		have_cat = false;
	double		rmse = 0.0,
				mae = 0.0;
	TupleDesc	tupdesc;
	Datum		values[EVALUATE_COLS];
	bool		nulls[EVALUATE_COLS] = {0};
	int			c = 0;

	relid = TestSourceArg(fcinfo, 1);
	user_col = NameArg(fcinfo, 2, "user_col");
	item_col = NameArg(fcinfo, 3, "item_col");
	rating_col = PG_ARGISNULL(4) ? NULL : NameStr(*PG_GETARG_NAME(4));
	k = CheckK(fcinfo, 5);
	CheckThreshold(use_threshold, threshold, rating_col);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));

	m = RecpromoModelGet(model_name);
	n_items = m->items.n;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "recpromo evaluate",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	EvaluateLists(m, relid, user_col, item_col, rating_col, k, use_threshold, threshold,
				  exclude_seen, true, &L);
	exposure = palloc_extended(Max((Size) n_items, 1) * sizeof(double),
							   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	mark = palloc0(Max((Size) n_items, 1));
	flags = palloc(k);
	rp_metrics_acc_init(&acc);

	/* Pass 3: metrics of each selected user's list, in test-user order. */
	for (int32 r = 0; r < L.n_sel; r++)
	{
		int32		j = L.sel_j[r];
		const int32 *ti = L.top_idx + (int64) r * k;
		rp_rank_metrics um;

		if ((r & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 p = L.rel_off[j]; p < L.rel_off[j + 1]; p++)
			mark[L.rel_all[p]] = 1;
		for (int32 q = 0; q < L.top_n[r]; q++)
		{
			flags[q] = mark[ti[q]];
			exposure[ti[q]] += 1.0;
		}
		for (int64 p = L.rel_off[j]; p < L.rel_off[j + 1]; p++)
			mark[L.rel_all[p]] = 0;
		RecpromoCheckStatus(rp_rank_metrics_user(k, L.top_n[r], NULL, flags, L.sel_nrel[r], &um),
							"evaluation");
		rp_metrics_acc_add(&acc, &um);
	}

	if (n_items > 0)
	{
		RecpromoCheckStatus(rp_catalogue_metrics_compute(n_items, exposure, m->item_pop, &cat),
							"evaluation");
		have_cat = acc.users > 0;
	}
	if (L.want_errors && L.err.n > 0)
		RecpromoCheckStatus(rp_error_acc_result(&L.err, &rmse, &mae), "evaluation");

	MemoryContextSwitchTo(old);

	values[c++] = CStringGetTextDatum(m->row.name);
	values[c++] = Int64GetDatum(acc.users);
	values[c++] = Int64GetDatum(L.skipped_no_test);
	values[c++] = Int64GetDatum(L.skipped_unknown);
	c = PutRankMeans(&acc, values, nulls, c);
	if (have_cat)
	{
		values[c++] = Float8GetDatum(cat.coverage);
		values[c++] = Float8GetDatum(cat.popularity_recommended);
		values[c++] = Float8GetDatum(cat.popularity_catalogue);
		values[c] = Float8GetDatum(cat.popularity_bias);
		nulls[c++] = isnan(cat.popularity_bias);
	}
	else
		for (int z = 0; z < 4; z++)
			nulls[c++] = true;
	if (L.want_errors && L.err.n > 0)
	{
		values[c++] = Float8GetDatum(rmse);
		values[c++] = Float8GetDatum(mae);
	}
	else
	{
		nulls[c++] = true;
		nulls[c++] = true;
	}
	Assert(c == EVALUATE_COLS);

	{
		HeapTuple	tup = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
		Datum		result = HeapTupleGetDatum(tup);

		MemoryContextDelete(cxt);
		PG_RETURN_DATUM(result);
	}
}

/*
 * Reads a group table (group key, member key) through the source reader:
 * G->users are the groups (sorted keys), G->items the members, G->R the
 * groups x members incidence.  A member may be in several groups.
 */
static void
ReadGroups(Oid relid, const char *member_col, const char *group_col, RecpromoInteractions *G)
{
	RecpromoSource src;
	const char *cols[2] = {member_col, group_col};

	for (int c = 0; c < 2; c++)
		if (get_attnum(relid, cols[c]) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of group table \"%s\" does not exist",
							cols[c], get_rel_name(relid)),
					 errhint("Name the %s column of the group table.", c == 0 ? "member" : "group")));
	RecpromoSourceInit(&src, relid, group_col, member_col, NULL);
	RecpromoReadInteractions(&src, false, G);
}

static char *
ColArg(FunctionCallInfo fcinfo, int argno, const char *what, const char *hint)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what),
				 errhint("%s", hint)));
	return NameStr(*PG_GETARG_NAME(argno));
}

static void
PutMeasure(ReturnSetInfo *rsinfo, const char *measure, const char *group, double v, bool isnull)
{
	Datum		values[3];
	bool		nulls[3] = {false, group == NULL, isnull || isnan(v)};

	values[0] = CStringGetTextDatum(measure);
	values[1] = group ? CStringGetTextDatum(group) : (Datum) 0;
	values[2] = Float8GetDatum(v);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * exposure(model text, test_source regclass, user_col name, item_col name,
 *			k integer, exclude_seen boolean, item_groups regclass,
 *			group_item_col name, group_col name, head_share float8)
 *	  RETURNS TABLE (measure text, item_group text, value float8)
 *
 * Exposure of the lists evaluate() scores (rp_fair.h has the formulas):
 * gini, long_tail_share, aplt, arp over the catalogue of the model, the
 * head being the ceil(head_share n) items of most training users; with an
 * item-group table, per group (key order) exposure_share, the group's share
 * of all recommended slots, and relevant_share, its share of the test
 * users' relevant items the model knows (an item in several groups counts
 * in each).  NULL values when no user was ranked.
 */
PG_FUNCTION_INFO_V1(recpromo_exposure);
Datum
recpromo_exposure(PG_FUNCTION_ARGS)
{
	char	   *model_name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			relid = TestSourceArg(fcinfo, 1);
	char	   *user_col = NameArg(fcinfo, 2, "user_col");
	char	   *item_col = NameArg(fcinfo, 3, "item_col");
	int32		k = CheckK(fcinfo, 4);
	bool		exclude_seen = PG_ARGISNULL(5) ? true : PG_GETARG_BOOL(5);
	double		head_share = PG_ARGISNULL(9) ? NAN : PG_GETARG_FLOAT8(9);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RecpromoModel *m;
	EvalLists	L;
	int32		ni;
	double	   *x,
			   *scratch;
	int32	   *order;
	unsigned char *head;
	double		gini = 0.0,
				slots = 0.0,
				tail_slots = 0.0,
				aplt = 0.0,
				arp = 0.0;
	int64		lists = 0;
	bool		none;

	if (!(head_share >= 0.0 && head_share <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("head_share must be between 0 and 1"),
				 errhint("The head is this share of the catalogue, most popular first, such as 0.2.")));
	InitMaterializedSRF(fcinfo, 0);
	m = RecpromoModelGet(model_name);
	ni = m->items.n;
	EvaluateLists(m, relid, user_col, item_col, NULL, k, false, 0.0, exclude_seen, false, &L);

	x = palloc0(Max((Size) ni, 1) * sizeof(double));
	scratch = palloc(Max((Size) ni, 1) * sizeof(double));
	order = palloc(Max((Size) ni, 1) * sizeof(int32));
	head = palloc0(Max((Size) ni, 1));
	if (ni > 0)
		RecpromoCheckStatus(rp_popularity_head(ni, m->item_pop, head_share, order, head),
							"exposure");
	for (int32 r = 0; r < L.n_sel; r++)
	{
		const int32 *ti = L.top_idx + (int64) r * k;
		double		t = 0.0,
					p = 0.0;

		if (L.top_n[r] == 0)
			continue;
		for (int32 q = 0; q < L.top_n[r]; q++)
		{
			x[ti[q]] += 1.0;
			t += head[ti[q]] ? 0.0 : 1.0;
			p += m->item_pop[ti[q]];
		}
		slots += L.top_n[r];
		tail_slots += t;
		aplt += t / L.top_n[r];
		arp += p / L.top_n[r];
		lists++;
	}
	none = lists == 0 || ni == 0;
	if (!none)
		RecpromoCheckStatus(rp_gini(ni, x, scratch, &gini), "exposure");
	PutMeasure(rsinfo, "gini", NULL, gini, none);
	PutMeasure(rsinfo, "long_tail_share", NULL, none ? 0 : tail_slots / slots, none);
	PutMeasure(rsinfo, "aplt", NULL, none ? 0 : aplt / lists, none);
	PutMeasure(rsinfo, "arp", NULL, none ? 0 : arp / lists, none);

	if (!PG_ARGISNULL(6))
	{
		RecpromoInteractions G;
		char	   *gi_col = ColArg(fcinfo, 7, "group_item_col", "Name the item column of the group table.");
		char	   *g_col = ColArg(fcinfo, 8, "group_col", "Name the group column of the group table.");
		double		rel_total = 0.0;
		double	   *relcount = palloc0(Max((Size) ni, 1) * sizeof(double));

		ReadGroups(PG_GETARG_OID(6), gi_col, g_col, &G);
		for (int32 r = 0; r < L.n_sel; r++)
		{
			int32		j = L.sel_j[r];

			for (int64 p = L.rel_off[j]; p < L.rel_off[j + 1]; p++)
			{
				relcount[L.rel_all[p]] += 1.0;
				rel_total += 1.0;
			}
		}
		for (int32 g = 0; g < G.users.n; g++)
		{
			char	   *gname = RecpromoKeysGetCString(&G.users, g);
			double		ex = 0.0,
						rl = 0.0;

			for (int64 p = G.R.indptr[g]; p < G.R.indptr[g + 1]; p++)
			{
				int32		i = MapKey(&G.items, G.R.indices[p], &m->items);

				if (i < 0)
					continue;
				ex += x[i];
				rl += relcount[i];
			}
			PutMeasure(rsinfo, "exposure_share", gname, none ? 0 : ex / slots, none);
			PutMeasure(rsinfo, "relevant_share", gname, rel_total > 0 ? rl / rel_total : 0,
					   rel_total == 0);
		}
	}
	return (Datum) 0;
}

/*
 * evaluate_by_group(model text, test_source regclass, user_groups regclass,
 *					 user_col name, item_col name, group_user_col name,
 *					 group_col name, rating_col name, k integer,
 *					 relevance_threshold float8, exclude_seen boolean)
 *	  RETURNS TABLE (user_group text, users_evaluated, users_skipped_no_test,
 *					 users_skipped_unknown, precision_at_k ... mrr_at_k)
 *
 * evaluate()'s accuracy metrics per user group: the same lists and per-user
 * metrics, averaged over the users of each group (groups in key order; a
 * user in several groups counts in each), then one row with user_group
 * NULL for the test users in no group, when there are any.
 */
#define BY_GROUP_COLS 11
PG_FUNCTION_INFO_V1(recpromo_evaluate_by_group);
Datum
recpromo_evaluate_by_group(PG_FUNCTION_ARGS)
{
	char	   *model_name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			relid = TestSourceArg(fcinfo, 1);
	Oid			groups_relid;
	char	   *user_col = NameArg(fcinfo, 3, "user_col");
	char	   *item_col = NameArg(fcinfo, 4, "item_col");
	char	   *gu_col = ColArg(fcinfo, 5, "group_user_col", "Name the user column of the group table.");
	char	   *g_col = ColArg(fcinfo, 6, "group_col", "Name the group column of the group table.");
	char	   *rating_col = PG_ARGISNULL(7) ? NULL : NameStr(*PG_GETARG_NAME(7));
	int32		k = CheckK(fcinfo, 8);
	bool		use_threshold = !PG_ARGISNULL(9);
	double		threshold = use_threshold ? PG_GETARG_FLOAT8(9) : 0.0;
	bool		exclude_seen = PG_ARGISNULL(10) ? true : PG_GETARG_BOOL(10);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RecpromoModel *m;
	EvalLists	L;
	RecpromoInteractions G;
	int32		ng,
				nt;
	int32	   *gcount;			/* groups per test user */
	rp_rank_metrics *um;		/* per test user (selected ones) */
	int32	   *selpos;			/* test user -> position in sel, or -1 */
	unsigned char *mark,
			   *flags;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_groups must not be null"),
				 errhint("Name a table or view of (user, group) rows.")));
	groups_relid = PG_GETARG_OID(2);
	CheckThreshold(use_threshold, threshold, rating_col);
	InitMaterializedSRF(fcinfo, 0);
	m = RecpromoModelGet(model_name);
	EvaluateLists(m, relid, user_col, item_col, rating_col, k, use_threshold, threshold,
				  exclude_seen, false, &L);
	ReadGroups(groups_relid, gu_col, g_col, &G);
	ng = G.users.n;
	nt = L.t.users.n;

	/* each selected user's metrics, once */
	um = palloc(Max((Size) L.n_sel, 1) * sizeof(rp_rank_metrics));
	selpos = palloc(Max((Size) nt, 1) * sizeof(int32));
	for (int32 j = 0; j < nt; j++)
		selpos[j] = -1;
	mark = palloc0(Max((Size) m->items.n, 1));
	flags = palloc(k);
	for (int32 r = 0; r < L.n_sel; r++)
	{
		int32		j = L.sel_j[r];
		const int32 *ti = L.top_idx + (int64) r * k;

		if ((r & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		selpos[j] = r;
		for (int64 p = L.rel_off[j]; p < L.rel_off[j + 1]; p++)
			mark[L.rel_all[p]] = 1;
		for (int32 q = 0; q < L.top_n[r]; q++)
			flags[q] = mark[ti[q]];
		for (int64 p = L.rel_off[j]; p < L.rel_off[j + 1]; p++)
			mark[L.rel_all[p]] = 0;
		RecpromoCheckStatus(rp_rank_metrics_user(k, L.top_n[r], NULL, flags, L.sel_nrel[r], &um[r]),
							"evaluation");
	}

	gcount = palloc0(Max((Size) nt, 1) * sizeof(int32));
	for (int32 g = 0; g <= ng; g++)
	{
		rp_metrics_acc acc;
		int64		no_test = 0,
					unknown = 0;
		Datum		values[BY_GROUP_COLS];
		bool		nulls[BY_GROUP_COLS] = {0};
		int			c = 0;
		int32	   *members;
		int32		nmem = 0;

		rp_metrics_acc_init(&acc);
		members = palloc(Max((Size) nt, 1) * sizeof(int32));
		if (g < ng)
		{
			for (int64 p = G.R.indptr[g]; p < G.R.indptr[g + 1]; p++)
			{
				int32		j = MapKey(&G.items, G.R.indices[p], &L.t.users);

				if (j < 0)
					continue;
				members[nmem++] = j;
				gcount[j]++;
			}
			/* test-user order, as evaluate() sums */
			qsort(members, nmem, sizeof(int32), Int32Cmp);
		}
		else
		{
			for (int32 j = 0; j < nt; j++)
				if (gcount[j] == 0)
					members[nmem++] = j;
			if (nmem == 0)
				break;
		}
		for (int32 a = 0; a < nmem; a++)
		{
			int32		j = members[a];

			if (selpos[j] >= 0)
				rp_metrics_acc_add(&acc, &um[selpos[j]]);
			else if (L.status[j] == 0)
				no_test++;
			else
				unknown++;
		}
		if (g < ng)
			values[c++] = CStringGetTextDatum(RecpromoKeysGetCString(&G.users, g));
		else
			nulls[c++] = true;
		values[c++] = Int64GetDatum(acc.users);
		values[c++] = Int64GetDatum(no_test);
		values[c++] = Int64GetDatum(unknown);
		c = PutRankMeans(&acc, values, nulls, c);
		Assert(c == BY_GROUP_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
