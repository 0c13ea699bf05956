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
#include "utils/memutils.h"

#include "method.h"
#include "recpromo.h"
#include "rp_batch.h"
#include "rp_metrics.h"
#include "rp_topk.h"

#define EVALUATE_COLS 17
#define EVALUATE_MAX_K 100000

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
	RecpromoSource src;
	RecpromoInteractions t;
	int32	   *umap,
			   *imap;
	int32		n_items;
	double	   *scores,
			   *exposure;
	unsigned char *mark,
			   *flags;
	int32	   *top_idx,
			   *top_n,
			   *rel_all,
			   *sel,
			   *sel_j,
			   *sel_nrel;
	int64	   *rel_off;
	int32		n_sel = 0;
	double	   *top_sc;
	RecpromoFactors F;
	bool		want_errors;
	rp_metrics_acc acc;
	rp_error_acc err;
	int64		skipped_no_test = 0,
				skipped_unknown = 0;
	rp_rank_metrics mean;
	rp_catalogue_metrics cat;
	bool		have_cat = false;
	double		rmse = 0.0,
				mae = 0.0;
	TupleDesc	tupdesc;
	Datum		values[EVALUATE_COLS];
	bool		nulls[EVALUATE_COLS] = {0};
	int			c = 0;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("test_source must not be null"),
				 errhint("Name the table or view of held-out interactions.")));
	relid = PG_GETARG_OID(1);
	user_col = NameArg(fcinfo, 2, "user_col");
	item_col = NameArg(fcinfo, 3, "item_col");
	rating_col = PG_ARGISNULL(4) ? NULL : NameStr(*PG_GETARG_NAME(4));
	if (PG_ARGISNULL(5) || PG_GETARG_INT32(5) < 1 || PG_GETARG_INT32(5) > EVALUATE_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", EVALUATE_MAX_K),
				 errhint("k is the length of the recommendation lists to score, such as 10.")));
	k = PG_GETARG_INT32(5);
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
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));

	m = RecpromoModelGet(model_name);
	n_items = m->items.n;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "recpromo evaluate",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	RecpromoSourceInit(&src, relid, user_col, item_col, rating_col);
	RecpromoReadInteractions(&src, false, &t);

	umap = palloc(Max((Size) t.users.n, 1) * sizeof(int32));
	imap = palloc(Max((Size) t.items.n, 1) * sizeof(int32));
	for (int32 j = 0; j < t.users.n; j++)
		umap[j] = MapKey(&t.users, j, &m->users);
	for (int32 j = 0; j < t.items.n; j++)
		imap[j] = MapKey(&t.items, j, &m->items);

	scores = palloc_extended(Max((Size) n_items, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	exposure = palloc_extended(Max((Size) n_items, 1) * sizeof(double),
							   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	mark = palloc0(Max((Size) n_items, 1));
	flags = palloc(k);
	want_errors = rating_col != NULL && m->row.rating_col != NULL;

	rp_metrics_acc_init(&acc);
	rp_error_acc_init(&err);

	/*
	 * Pass 1: each test user's relevant set (known items go to rel_all at
	 * rel_off[j]) and the selection of users to rank.
	 */
	rel_off = palloc(((Size) t.users.n + 1) * sizeof(int64));
	rel_all = palloc_extended(Max((Size) t.R.nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	sel = palloc(Max((Size) t.users.n, 1) * sizeof(int32));
	sel_j = palloc(Max((Size) t.users.n, 1) * sizeof(int32));
	sel_nrel = palloc(Max((Size) t.users.n, 1) * sizeof(int32));
	rel_off[0] = 0;
	for (int32 j = 0; j < t.users.n; j++)
	{
		int32		u = umap[j];
		int32		n_rel = 0;
		int64		w = rel_off[j];

		if ((j & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 p = t.R.indptr[j]; p < t.R.indptr[j + 1]; p++)
		{
			int32		i = imap[t.R.indices[p]];

			if (use_threshold && !(t.R.values[p] >= threshold))
				continue;
			if (i >= 0 && u >= 0 && exclude_seen && SeenByUser(m, u, i))
				continue;
			n_rel++;
			if (i >= 0)
				rel_all[w++] = i;
		}
		rel_off[j + 1] = w;
		if (n_rel == 0)
			skipped_no_test++;
		else if (u < 0)
			skipped_unknown++;
		else
		{
			sel[n_sel] = u;
			sel_j[n_sel] = j;
			sel_nrel[n_sel] = n_rel;
			n_sel++;
		}
	}

	RecpromoCheckMemory((double) n_sel * k * (sizeof(int32) + sizeof(double)) +
						(double) n_items * (2 * sizeof(double) + 2),
						"evaluation");
	top_idx = palloc_extended(Max((Size) n_sel * k, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	top_sc = palloc_extended(Max((Size) n_sel * k, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	top_n = palloc(Max((Size) n_sel, 1) * sizeof(int32));

	/* Pass 2: the top k of every selected user, and the rating errors. */
	if (m->method->factors != NULL && m->method->factors(m, &F) && k <= RP_BATCH_MAX_K &&
		n_sel > 0)
	{
		/* batch scoring by blocked matrix products, as recommend_all */
		RecpromoRankUsers(m, sel, n_sel, k, exclude_seen, top_idx, top_sc, top_n);
		CHECK_FOR_INTERRUPTS();
		if (want_errors)
			for (int32 j = 0; j < t.users.n; j++)
			{
				int32		u = umap[j];

				if (u < 0)
					continue;
				for (int64 p = t.R.indptr[j]; p < t.R.indptr[j + 1]; p++)
				{
					int32		i = imap[t.R.indices[p]];
					double		pred = F.global;

					if (i < 0)
						continue;
					if (F.user_bias)
						pred += F.user_bias[u];
					if (F.item_bias)
						pred += F.item_bias[i];
					for (int32 f = 0; f < F.factors; f++)
						pred += F.U[(int64) u * F.factors + f] * F.V[(int64) i * F.factors + f];
					RecpromoCheckStatus(rp_error_acc_add(&err, pred, t.R.values[p]),
										"evaluation");
				}
			}
	}
	else
	{
		/* the method's per-user scoring entry, as recommend() */
		int32		r = 0;

		for (int32 j = 0; j < t.users.n; j++)
		{
			int32		u = umap[j];
			bool		selected = r < n_sel && sel_j[r] == j;
			const int32 *hist;
			const double *hvals;
			int32		nhist;

			CHECK_FOR_INTERRUPTS();
			if (u < 0 || (!selected && !want_errors))
				continue;
			hist = m->seen.indices + m->seen.indptr[u];
			hvals = m->seen.values + m->seen.indptr[u];
			nhist = (int32) (m->seen.indptr[u + 1] - m->seen.indptr[u]);
			m->method->score(m, u, hist, hvals, nhist, scores);

			if (want_errors)
				for (int64 p = t.R.indptr[j]; p < t.R.indptr[j + 1]; p++)
				{
					int32		i = imap[t.R.indices[p]];

					if (i >= 0)
						RecpromoCheckStatus(rp_error_acc_add(&err, scores[i], t.R.values[p]),
											"evaluation");
				}
			if (!selected)
				continue;
			if (exclude_seen)
				for (int32 h = 0; h < nhist; h++)
					scores[hist[h]] = -INFINITY;
			top_n[r] = rp_topk(scores, n_items, NULL, k, top_idx + (int64) r * k,
							   top_sc + (int64) r * k);
			r++;
		}
	}

	/* Pass 3: metrics of each selected user's list, in test-user order. */
	for (int32 r = 0; r < n_sel; r++)
	{
		int32		j = sel_j[r];
		const int32 *ti = top_idx + (int64) r * k;
		rp_rank_metrics um;

		if ((r & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 p = rel_off[j]; p < rel_off[j + 1]; p++)
			mark[rel_all[p]] = 1;
		for (int32 q = 0; q < top_n[r]; q++)
		{
			flags[q] = mark[ti[q]];
			exposure[ti[q]] += 1.0;
		}
		for (int64 p = rel_off[j]; p < rel_off[j + 1]; p++)
			mark[rel_all[p]] = 0;
		RecpromoCheckStatus(rp_rank_metrics_user(k, top_n[r], NULL, flags, sel_nrel[r], &um),
							"evaluation");
		rp_metrics_acc_add(&acc, &um);
	}

	if (n_items > 0)
	{
		RecpromoCheckStatus(rp_catalogue_metrics_compute(n_items, exposure, m->item_pop, &cat),
							"evaluation");
		have_cat = acc.users > 0;
	}
	if (want_errors && err.n > 0)
		RecpromoCheckStatus(rp_error_acc_result(&err, &rmse, &mae), "evaluation");

	MemoryContextSwitchTo(old);

	values[c++] = CStringGetTextDatum(m->row.name);
	values[c++] = Int64GetDatum(acc.users);
	values[c++] = Int64GetDatum(skipped_no_test);
	values[c++] = Int64GetDatum(skipped_unknown);
	if (acc.users > 0)
	{
		RecpromoCheckStatus(rp_metrics_acc_mean(&acc, &mean), "evaluation");
		values[c++] = Float8GetDatum(mean.precision);
		values[c++] = Float8GetDatum(mean.recall);
		values[c++] = Float8GetDatum(mean.f1);
		values[c++] = Float8GetDatum(mean.ndcg);
		values[c++] = Float8GetDatum(mean.ap);
		values[c++] = Float8GetDatum(mean.hit);
		values[c++] = Float8GetDatum(mean.rr);
	}
	else
		for (int z = 0; z < 7; z++)
			nulls[c++] = true;
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
	if (want_errors && err.n > 0)
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
