/*
 * tune.c
 *	  tune(): hyper-parameter search on a validation slice of the source,
 *	  then the final model trained on all of it with the winning values, and
 *	  the tuning_trials record of every trial.
 *
 * One call, one transaction:
 *	0. (see doc/training.md, "Tuning", for the arguments);
 *	1. the caller's rights: replacing an existing model of that name needs
 *	   its owner's (checked first, and again by the final save);
 *	2. the source is read once (source.c, with the caller's rights), and
 *	   with time_col the first time of each (user, item) pair is read too;
 *	3. rp_tune_split (src/core/rp_tune.c) marks each user's validation
 *	   pairs: the latest ones by time_col (split 'latest', the default with
 *	   a time column), else a seeded random share (split 'random'); or
 *	   rp_tune_split_global the pairs after one time cut for all users
 *	   (split 'cut', leave-future-out, as a test set cut at a date).  The
 *	   training slice is a copy of the interactions without them: a trial's
 *	   model is fitted on it alone and never sees a validation pair (the
 *	   unit test checks the split, sql/tune.sql checks it end to end with a
 *	   model that could only score well by seeing them);
 *	4. the search (rp_tune.c: adaptive, random, grid or successive
 *	   halving) proposes
 *	   values; each trial fits the method in memory with the same code as
 *	   train() (RecpromoTrainFit: the method's train callback and the
 *	   unknown-parameter check), builds a model in memory as the model cache
 *	   would (common parts + method->load), ranks the validation users'
 *	   top k as evaluate() does (RecpromoRankUsers, eval.c) or, for rmse,
 *	   compares the method's scores with the held-out ratings.  Nothing of a
 *	   trial is stored: its memory context goes when it ends;
 *	5. the winning values (the best validation metric among the trials at
 *	   the largest share of users) are trained on all the data under `name`
 *	   through train()'s own path (RecpromoTrainModel: owner, grants and
 *	   versioning as for train), the trials are written to
 *	   recpromo.tuning_trial under the new model id, and the model's metrics
 *	   say how it was tuned.
 * A cancel, a statement timeout or an error anywhere aborts the
 * transaction: the previous model of that name stays, with its trials.
 *
 * Search spaces (the reasoning, and the measurements that set the ranges,
 * are in doc/training.md, section "Tuning"): each method's parameters that matter
 * most, on a log scale where their effect is multiplicative.
 *	- popularity: by in {users, sum};
 *	- item_knn, user_knn: neighbours 5..800 (log), shrink 0.1..1000 (log:
 *	  its effect n / (n + shrink) is multiplicative; 0.1 is close to none (a 9 % cut
 *	  for a pair met once), and the default 0 stays the first trial),
 *	  weighting in {none, tfidf, bm25};
 *	- ease: lambda 1..100000 (log; the ridge grows with the item counts, and
 *	  Steck's datasets peak between 200 and 3000);
 *	- als: factors 8..256 (log), regularization 0.1..200 (log), alpha
 *	  0.1..10 (log): the validation metric of implicit ALS is flat for
 *	  ridges below 1 (the default 0.05 included), rises to its best
 *	  between 5 and 50 on Online Retail and the benchmark's generated
 *	  data, then falls off a cliff where every factor shrinks to zero (a
 *	  cliff that moves up with alpha); alpha above 10 lost everywhere;
 *	- als_explicit: factors 4..128 (log), regularization 0.01..10 (log):
 *	  ratings want a light ridge around 0.1 with more factors.
 * Parameters the caller fixes in params are taken out of the search.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "method.h"
#include "recpromo.h"
#include "rp_metrics.h"
#include "rp_tune.h"
#include "spi_guard.h"

#define TUNE_COLS 7
#define TUNE_MAX_K 1000
#define TUNE_FETCH_ROWS 10000

/* A method's search space: parameters and, for choices, their names. */
typedef struct TuneSpace
{
	const char *method;
	int			n;
	rp_tune_param params[4];
	const char *const *choices[4];	/* per parameter, NULL unless a choice */
} TuneSpace;

static const char *const by_choices[] = {"users", "sum", NULL};
static const char *const weighting_choices[] = {"none", "tfidf", "bm25", NULL};

static const TuneSpace spaces[] = {
	{"popularity", 1, {{"by", RP_TUNE_CHOICE, 0, 1, 0, 2}}, {by_choices}},
	{"item_knn", 3,
		{{"neighbours", RP_TUNE_INT, 5, 800, 1, 6},
		{"shrink", RP_TUNE_FLOAT, 0.1, 1000, 1, 3},
		{"weighting", RP_TUNE_CHOICE, 0, 2, 0, 3}},
	{NULL, NULL, weighting_choices}},
	{"user_knn", 3,
		{{"neighbours", RP_TUNE_INT, 5, 800, 1, 6},
		{"shrink", RP_TUNE_FLOAT, 0.1, 1000, 1, 3},
		{"weighting", RP_TUNE_CHOICE, 0, 2, 0, 3}},
	{NULL, NULL, weighting_choices}},
	{"ease", 1, {{"lambda", RP_TUNE_FLOAT, 1, 100000, 1, 11}}, {NULL}},
	{"sparse_ease", 2,
		{{"lambda", RP_TUNE_FLOAT, 1, 100000, 1, 11},
		{"neighbours", RP_TUNE_INT, 20, 500, 1, 4}},
	{NULL, NULL}},
	{"als", 3,
		{{"factors", RP_TUNE_INT, 8, 256, 1, 6},
		{"regularization", RP_TUNE_FLOAT, 0.1, 200, 1, 5},
		{"alpha", RP_TUNE_FLOAT, 0.1, 10, 1, 4}},
	{NULL, NULL, NULL}},
	{"als_explicit", 2,
		{{"factors", RP_TUNE_INT, 4, 128, 1, 6},
		{"regularization", RP_TUNE_FLOAT, 0.01, 10, 1, 7}},
	{NULL, NULL}},
	{"slist", 3,
		{{"alpha", RP_TUNE_FLOAT, 0, 1, 0, 5},
		{"lambda", RP_TUNE_FLOAT, 1, 10000, 1, 5},
		{"pos_decay", RP_TUNE_FLOAT, 0.5, 8, 1, 5}},
	{NULL, NULL, NULL}},
	{"session_knn", 2,
		{{"neighbours", RP_TUNE_INT, 10, 1000, 1, 5},
		{"sample_size", RP_TUNE_INT, 100, 5000, 1, 4}},
	{NULL, NULL}},
};

/*
 * The defaults of train() for each space, in the same order (the start
 * point); they must follow the methods' own defaults (since 0.4.0
 * item_knn's weighting is bm25, index 2 of weighting_choices, and user_knn
 * keeps 50 neighbours).
 */
static const double space_defaults[][4] = {
	{0},
	{20, 0, 2},
	{50, 0, 0},
	{500},
	{500, 100},
	{64, 0.05, 1.0},
	{64, 0.1},
	{0.2, 100, 1},
	{100, 500},
};

typedef enum TuneMetric
{
	TM_NDCG,
	TM_PRECISION,
	TM_RECALL,
	TM_MAP,
	TM_HIT,
	TM_MRR,
	TM_RMSE
} TuneMetric;

/* Everything the trials share. */
typedef struct TuneCtx
{
	const RecpromoMethod *method;
	RecpromoSource src;
	RecpromoInteractions data;	/* all of it */
	rp_csr		train;			/* training slice */
	rp_csr		valid;			/* validation slice */
	unsigned char *is_valid;	/* per entry of data.R */
	TuneMetric	metric;
	int32		k;
	uint64		seed;
	char	   *name;
} TuneCtx;

static const TuneSpace *
FindSpace(const char *method, const double **defaults)
{
	for (size_t s = 0; s < lengthof(spaces); s++)
		if (strcmp(spaces[s].method, method) == 0)
		{
			*defaults = space_defaults[s];
			return &spaces[s];
		}
	return NULL;
}

static TuneMetric
ParseMetric(const char *s, int32 *k)
{
	static const struct
	{
		const char *name;
		TuneMetric	m;
	}			names[] = {
		{"ndcg", TM_NDCG}, {"precision", TM_PRECISION}, {"recall", TM_RECALL},
		{"map", TM_MAP}, {"hit", TM_HIT}, {"mrr", TM_MRR}
	};
	const char *at = strchr(s, '@');

	if (strcmp(s, "rmse") == 0)
	{
		*k = 0;
		return TM_RMSE;
	}
	if (at != NULL)
	{
		char	   *end;
		long		v;

		errno = 0;
		v = strtol(at + 1, &end, 10);
		for (size_t i = 0; i < lengthof(names); i++)
			if (strlen(names[i].name) == (size_t) (at - s) &&
				strncmp(s, names[i].name, at - s) == 0 && *end == '\0' && errno == 0 &&
				end != at + 1 && v >= 1 && v <= TUNE_MAX_K)
			{
				*k = (int32) v;
				return names[i].m;
			}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid metric \"%s\"", s),
			 errhint("Use ndcg@k, precision@k, recall@k, map@k, hit@k or mrr@k with k between 1 and %d, or rmse.",
					 TUNE_MAX_K)));
	return TM_NDCG;				/* keep the compiler quiet */
}

/* What ReadPairTimes's rows fill (PairTimeRow). */
typedef struct PairTimes
{
	TuneCtx    *tc;
	double	   *times;			/* per stored interaction, in R's order */
} PairTimes;

/* One (user, item, first time) row: pairs R does not hold are skipped. */
static void
PairTimeRow(HeapTuple tup, TupleDesc td, void *arg)
{
	PairTimes  *pt = arg;
	TuneCtx    *tc = pt->tc;
	bool		nu,
				ni,
				nt;
	Datum		u = SPI_getbinval(tup, td, 1, &nu);
	Datum		i = SPI_getbinval(tup, td, 2, &ni);
	Datum		t = SPI_getbinval(tup, td, 3, &nt);
	int32		ui,
				ii;
	int64		p;

	if (nu || ni || nt)
		return;
	ui = RecpromoKeysFind(&tc->data.users, u,
						  tc->data.users.kclass == RECPROMO_KEY_INT ? INT8OID : TEXTOID);
	ii = RecpromoKeysFind(&tc->data.items, i,
						  tc->data.items.kclass == RECPROMO_KEY_INT ? INT8OID : TEXTOID);
	if (ui < 0 || ii < 0 || (p = rp_csr_find(&tc->data.R, ui, ii)) < 0)
		return;
	if (isfinite(DatumGetFloat8(t)))
		pt->times[p] = DatumGetFloat8(t);
}

/*
 * The first time of each (user, item) pair of the interactions, read from
 * time_col with the caller's rights; pairs without a time get -1e300 (the
 * oldest: never held out before a dated pair).
 */
static double *
ReadPairTimes(TuneCtx *tc, const char *time_col)
{
	const RecpromoSource *src = &tc->src;
	const rp_csr *R = &tc->data.R;
	char	   *texpr;
	char	   *sql;
	double	   *times;
	PairTimes	pt;

	texpr = RecpromoTimeExpr(src->relid, time_col);

	times = palloc_extended(Max((Size) R->nnz, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	for (int64 p = 0; p < R->nnz; p++)
		times[p] = -1e300;
	sql = psprintf("SELECT %s, %s, pg_catalog.min(%s) FROM %s GROUP BY 1, 2",
				   RecpromoKeyCastSql(src->user_col, src->user_type),
				   RecpromoKeyCastSql(src->item_col, src->item_type), texpr, src->relname);
	pt.tc = tc;
	pt.times = times;
	RecpromoSpiForEachRow(sql, 0, NULL, NULL, TUNE_FETCH_ROWS, CurrentMemoryContext, PairTimeRow, &pt);
	return times;
}

static void
AllocCsr(rp_csr *out, int32 n_rows, int64 nnz)
{
	out->indptr = palloc_extended(((Size) n_rows + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	out->indices = palloc_extended(Max((Size) nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	out->values = palloc_extended(Max((Size) nnz, 1) * sizeof(double), MCXT_ALLOC_HUGE);
}

/* JSON object text of a trial's values merged under the fixed params. */
static char *
TrialParams(const TuneSpace *sp, const int *use, const double *v, Jsonb *fixed)
{
	StringInfoData s;
	Datum		j;

	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	for (int i = 0; i < sp->n; i++)
	{
		const rp_tune_param *p = &sp->params[i];

		if (!use[i])
			continue;
		if (s.len > 1)
			appendStringInfoString(&s, ", ");
		escape_json(&s, p->name);
		appendStringInfoString(&s, ": ");
		if (p->kind == RP_TUNE_CHOICE)
			escape_json(&s, sp->choices[i][(int) v[i]]);
		else if (p->kind == RP_TUNE_INT)
			appendStringInfo(&s, "%d", (int) v[i]);
		else
			/* three significant digits: readable, and what is trained is what is shown */
			appendStringInfo(&s, "%.3g", v[i]);
	}
	appendStringInfoChar(&s, '}');
	j = DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data));
	if (fixed != NULL)
		j = DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(fixed), j);
	return DatumGetCString(DirectFunctionCall1(jsonb_out, j));
}

/*
 * Fits one trial on the training slice (users outside the share `fraction`
 * dropped) and returns its validation objective (higher is better: rmse is
 * negated).  Runs in its own memory context, deleted before returning.
 */
static double
RunTrial(TuneCtx *tc, const char *params_json, double fraction)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "recpromo tune trial",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	RecpromoTrainState *ts;
	RecpromoModel *m;
	unsigned char *keep = NULL;
	int32		n_users = tc->data.users.n;
	int32		n_items = tc->data.items.n;
	double		result;

	ts = palloc0(sizeof(RecpromoTrainState));
	ts->name = tc->name;
	ts->method = tc->method;
	ts->params_in = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(params_json)));
	ts->params_out = makeStringInfo();
	ts->final_loss = NAN;
	ts->threads = RecpromoThreads();
	RecpromoPartsInit(&ts->parts);
	ts->src = tc->src;
	ts->data = tc->data;
	if (fraction < 1.0)
	{
		keep = palloc(Max((Size) n_users, 1));
		for (int32 u = 0; u < n_users; u++)
			keep[u] = (unsigned char) rp_tune_user_in(u, fraction, tc->seed);
		AllocCsr(&ts->data.R, n_users, tc->train.nnz);
		rp_tune_filter(&tc->data.R, tc->is_valid, 0, keep, &ts->data.R);
	}
	else
		ts->data.R = tc->train;

	RecpromoTrainFit(ts);
	CHECK_FOR_INTERRUPTS();

	/* the model as the cache would build it, from the parts just made */
	m = palloc0(sizeof(RecpromoModel));
	m->cxt = cxt;
	m->method = tc->method;
	m->row.name = tc->name;
	m->row.method = (char *) tc->method->name;
	m->row.params = psprintf("{%s}", ts->params_out->data);
	m->row.source = tc->src.relname;
	m->row.user_col = tc->src.user_col;
	m->row.item_col = tc->src.item_col;
	m->row.rating_col = tc->src.rating_col;
	m->row.user_type = tc->src.user_type;
	m->row.item_type = tc->src.item_type;
	m->row.n_users = n_users;
	m->row.n_items = n_items;
	m->row.nnz = ts->data.R.nnz;
	m->row.final_loss = ts->final_loss;
	m->params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(m->row.params)));
	m->users = tc->data.users;
	m->items = tc->data.items;
	m->seen = ts->data.R;
	m->item_pop = palloc0(Max((Size) n_items, 1) * sizeof(double));
	for (int64 p = 0; p < m->seen.nnz; p++)
		m->item_pop[m->seen.indices[p]] += 1.0;
	tc->method->load(m, &ts->parts);

	if (tc->metric == TM_RMSE)
	{
		rp_error_acc err;
		double		rmse,
					mae;
		double	   *scores = palloc_extended(Max((Size) n_items, 1) * sizeof(double), MCXT_ALLOC_HUGE);

		rp_error_acc_init(&err);
		for (int32 u = 0; u < n_users; u++)
		{
			int64		a = m->seen.indptr[u];
			int32		nh = (int32) (m->seen.indptr[u + 1] - a);

			if (tc->valid.indptr[u + 1] == tc->valid.indptr[u] || (keep && !keep[u]))
				continue;
			CHECK_FOR_INTERRUPTS();
			tc->method->score(m, u, m->seen.indices + a, m->seen.values + a, nh, scores);
			for (int64 p = tc->valid.indptr[u]; p < tc->valid.indptr[u + 1]; p++)
				RecpromoCheckStatus(rp_error_acc_add(&err, scores[tc->valid.indices[p]],
													 tc->valid.values[p]), "tuning");
		}
		if (err.n == 0)
			result = NAN;
		else
		{
			RecpromoCheckStatus(rp_error_acc_result(&err, &rmse, &mae), "tuning");
			result = -rmse;
		}
	}
	else
	{
		int32	   *sel = palloc(Max((Size) n_users, 1) * sizeof(int32));
		int32		n_sel = 0;
		int32		k = tc->k;
		int32	   *top_idx;
		double	   *top_sc;
		int32	   *top_n;
		unsigned char *mark = palloc0(Max((Size) n_items, 1));
		unsigned char *flags = palloc(k);
		rp_metrics_acc acc;
		rp_rank_metrics mean;

		for (int32 u = 0; u < n_users; u++)
			if (tc->valid.indptr[u + 1] > tc->valid.indptr[u] && (keep == NULL || keep[u]))
				sel[n_sel++] = u;
		top_idx = palloc_extended(Max((Size) n_sel * k, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
		top_sc = palloc_extended(Max((Size) n_sel * k, 1) * sizeof(double), MCXT_ALLOC_HUGE);
		top_n = palloc(Max((Size) n_sel, 1) * sizeof(int32));
		RecpromoRankUsers(m, sel, n_sel, k, true, top_idx, top_sc, top_n);
		rp_metrics_acc_init(&acc);
		for (int32 r = 0; r < n_sel; r++)
		{
			int32		u = sel[r];
			rp_rank_metrics um;

			for (int64 p = tc->valid.indptr[u]; p < tc->valid.indptr[u + 1]; p++)
				mark[tc->valid.indices[p]] = 1;
			for (int32 q = 0; q < top_n[r]; q++)
				flags[q] = mark[top_idx[(int64) r * k + q]];
			for (int64 p = tc->valid.indptr[u]; p < tc->valid.indptr[u + 1]; p++)
				mark[tc->valid.indices[p]] = 0;
			RecpromoCheckStatus(rp_rank_metrics_user(k, top_n[r], NULL, flags,
													 tc->valid.indptr[u + 1] - tc->valid.indptr[u],
													 &um), "tuning");
			rp_metrics_acc_add(&acc, &um);
		}
		if (acc.users == 0)
			result = NAN;
		else
		{
			RecpromoCheckStatus(rp_metrics_acc_mean(&acc, &mean), "tuning");
			switch (tc->metric)
			{
				case TM_PRECISION:
					result = mean.precision;
					break;
				case TM_RECALL:
					result = mean.recall;
					break;
				case TM_MAP:
					result = mean.ap;
					break;
				case TM_HIT:
					result = mean.hit;
					break;
				case TM_MRR:
					result = mean.rr;
					break;
				default:
					result = mean.ndcg;
					break;
			}
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return result;
}

/* Writes the trials under model id (as the extension owner) and the model's tuning summary. */
static void
StoreTrials(int64 model_id, int n, char **params, const double *value, const double *seconds,
			const double *fraction, int best, const char *metric, const char *strategy,
			const char *split)
{
	RecpromoOwnerScope scope;
	Oid			types[8] = {INT8OID, INT4OID, JSONBOID, TEXTOID, FLOAT8OID, FLOAT8OID,
	FLOAT8OID, INT4OID};
	SPIPlanPtr	plan;
	Oid			utypes[2] = {INT8OID, JSONBOID};
	Datum		uvals[2];
	StringInfoData summary;

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	/* trials of models that no longer exist (dropped or replaced) go */
	if (SPI_execute("DELETE FROM recpromo.tuning_trial t WHERE NOT EXISTS "
					"(SELECT 1 FROM recpromo.model m WHERE m.id OPERATOR(pg_catalog.=) t.model_id)",
					false, 0) != SPI_OK_DELETE)
		RecpromoSpiError("delete from recpromo.tuning_trial");
	plan = SPI_prepare("INSERT INTO recpromo.tuning_trial "
					   "(model_id, trial, params, metric, value, seconds, fraction, chosen) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7, $2 OPERATOR(pg_catalog.=) $8)",
					   8, types);
	if (plan == NULL)
		RecpromoSpiError("prepare the insert into recpromo.tuning_trial");
	for (int i = 0; i < n; i++)
	{
		Datum		v[8];
		char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

		v[0] = Int64GetDatum(model_id);
		v[1] = Int32GetDatum(i + 1);
		v[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(params[i]));
		v[3] = CStringGetTextDatum(metric);
		v[4] = Float8GetDatum(value[i]);
		if (isnan(value[i]))
			nulls[4] = 'n';
		v[5] = Float8GetDatum(seconds[i]);
		v[6] = Float8GetDatum(fraction[i]);
		v[7] = Int32GetDatum(best + 1);
		if (SPI_execute_plan(plan, v, nulls, false, 0) != SPI_OK_INSERT)
			RecpromoSpiError("insert into recpromo.tuning_trial");
	}
	initStringInfo(&summary);
	appendStringInfoString(&summary, "{\"tuning\": {\"metric\": ");
	escape_json(&summary, metric);
	appendStringInfo(&summary, ", \"validation\": %.17g, \"trials\": %d, \"strategy\": ",
					 value[best], n);
	escape_json(&summary, strategy);
	appendStringInfoString(&summary, ", \"split\": ");
	escape_json(&summary, split);
	appendStringInfoString(&summary, "}}");
	uvals[0] = Int64GetDatum(model_id);
	uvals[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(summary.data));
	if (SPI_execute_with_args("UPDATE recpromo.model m SET metrics = $2 "
							  "WHERE m.id OPERATOR(pg_catalog.=) $1",
							  2, utypes, uvals, NULL, false, 0) != SPI_OK_UPDATE)
		RecpromoSpiError("update recpromo.model");
	RecpromoOwnerLeave(&scope);
	SPI_finish();
}

static char *
TextArg(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

/*
 * tune(name text, source regclass, user_col name, item_col name,
 *		rating_col name, method text, time_col name, split text, metric text,
 *		strategy text, trials integer, max_seconds float8,
 *		validation_fraction float8, seed integer, params jsonb)
 *	 RETURNS TABLE (trial integer, params jsonb, metric text, value float8,
 *					fraction float8, seconds float8, chosen boolean)
 */
PG_FUNCTION_INFO_V1(recpromo_tune);
Datum
recpromo_tune(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	char	   *method_name;
	char	   *metric_name;
	char	   *strategy_name;
	char	   *time_col;
	char	   *split_name;
	int32		max_trials;
	double		max_seconds;
	double		vfrac;
	int32		seed;
	Jsonb	   *fixed = NULL;
	const TuneSpace *sp;
	const double *defaults;
	rp_tune_param params[RP_TUNE_MAX_PARAMS];
	double		start[RP_TUNE_MAX_PARAMS];
	int			use[4];
	int			np = 0;
	rp_tune_strategy strategy;
	TuneCtx		tc;
	RecpromoModelRow row;
	rp_tuner	tuner;
	void	   *work;
	size_t		ws;
	int64		n_valid;
	double	   *pair_time = NULL;
	instr_time	t0;
	char	  **tparams;
	double	   *tvalue,
			   *tseconds;
	int			id,
				best,
				n_done = 0;
	int64		model_id;
	int			guc_nest;
	MemoryContext cxt,
				old;

	name = TextArg(fcinfo, 0, "name");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, user_col and item_col must not be null")));
	method_name = TextArg(fcinfo, 5, "method");
	time_col = PG_ARGISNULL(6) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(6)));
	split_name = PG_ARGISNULL(7) ? (time_col ? "latest" : "random") :
		text_to_cstring(PG_GETARG_TEXT_PP(7));
	if (strcmp(split_name, "random") != 0 && strcmp(split_name, "latest") != 0 &&
		strcmp(split_name, "cut") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid split \"%s\"", split_name),
				 errhint("Choose one of: latest (each user's latest items), cut (everything after a time cut), random.")));
	if (time_col == NULL && strcmp(split_name, "random") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("split \"%s\" needs time_col", split_name),
				 errhint("Name the time column, or use split => 'random'.")));
	metric_name = TextArg(fcinfo, 8, "metric");
	strategy_name = TextArg(fcinfo, 9, "strategy");
	if (PG_ARGISNULL(10) && PG_ARGISNULL(11))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trials and max_seconds cannot both be null"),
				 errhint("Give the search a trial count, a time budget in seconds, or both.")));
	max_trials = PG_ARGISNULL(10) ? 200 : PG_GETARG_INT32(10);
	if (max_trials < 1 || max_trials > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trials must be between 1 and 200"),
				 errhint("A few dozen trials usually find the best region; use max_seconds to bound the time.")));
	max_seconds = PG_ARGISNULL(11) ? 0.0 : PG_GETARG_FLOAT8(11);
	if (!PG_ARGISNULL(11) && !(max_seconds > 0.0 && max_seconds < 1e9))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_seconds must be positive"),
				 errhint("Pass NULL for no time limit.")));
	vfrac = PG_ARGISNULL(12) ? 0.2 : PG_GETARG_FLOAT8(12);
	if (!(vfrac >= 0.01 && vfrac <= 0.9))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("validation_fraction must be between 0.01 and 0.9"),
				 errhint("It is the share of each user's items held out for validation, such as 0.2.")));
	seed = PG_ARGISNULL(13) ? 0 : PG_GETARG_INT32(13);
	if (!PG_ARGISNULL(14))
	{
		fixed = PG_GETARG_JSONB_P(14);
		if (!JB_ROOT_IS_OBJECT(fixed))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyper-parameters must be a JSON object")));
	}

	if (strcmp(strategy_name, "grid") == 0)
		strategy = RP_TUNE_GRID;
	else if (strcmp(strategy_name, "random") == 0)
		strategy = RP_TUNE_RANDOM;
	else if (strcmp(strategy_name, "halving") == 0)
		strategy = RP_TUNE_HALVING;
	else if (strcmp(strategy_name, "adaptive") == 0)
		strategy = RP_TUNE_ADAPTIVE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid strategy \"%s\"", strategy_name),
				 errhint("Choose one of: adaptive, random, grid, halving.")));

	memset(&tc, 0, sizeof(tc));
	tc.method = RecpromoMethodFind(method_name, false);
	sp = FindSpace(tc.method->name, &defaults);
	if (sp == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("method \"%s\" cannot be tuned", tc.method->name),
				 errhint("tune() searches popularity, item_knn, user_knn, ease, sparse_ease, als, als_explicit, slist and session_knn.")));
	tc.metric = ParseMetric(metric_name, &tc.k);
	if (tc.metric == TM_RMSE && (PG_ARGISNULL(4) || strcmp(tc.method->name, "als_explicit") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metric \"rmse\" needs method \"als_explicit\" and a rating column"),
				 errhint("Rank metrics such as ndcg@10 suit the other methods.")));
	tc.seed = (uint64) (int64) seed;
	tc.name = name;

	/*
	 * The session methods order each session's events by a time column:
	 * tune()'s own time_col, fixed for every trial (the caller's params may
	 * name another).
	 */
	if (strcmp(tc.method->name, "slist") == 0 || strcmp(tc.method->name, "session_knn") == 0)
	{
		JsonbValue	kv;
		StringInfoData j;

		kv.type = jbvString;
		kv.val.string.val = "time_col";
		kv.val.string.len = strlen("time_col");
		if (fixed == NULL || findJsonbValueFromContainer(&fixed->root, JB_FOBJECT, &kv) == NULL)
		{
			if (time_col == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("method \"%s\" needs time_col", tc.method->name),
						 errhint("Name the column that orders each session's events, such as time_col => 'viewed_at'.")));
			initStringInfo(&j);
			appendStringInfoString(&j, "{\"time_col\": ");
			escape_json(&j, time_col);
			appendStringInfoChar(&j, '}');
			{
				Jsonb	   *tj = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(j.data)));

				fixed = fixed == NULL ? tj :
					DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(fixed),
													   JsonbPGetDatum(tj)));
			}
		}
	}

	/* the parameters the caller fixed leave the search */
	for (int i = 0; i < sp->n; i++)
	{
		JsonbValue	kv;

		kv.type = jbvString;
		kv.val.string.val = (char *) sp->params[i].name;
		kv.val.string.len = strlen(sp->params[i].name);
		use[i] = fixed == NULL ||
			findJsonbValueFromContainer(&fixed->root, JB_FOBJECT, &kv) == NULL;
		if (use[i])
		{
			params[np] = sp->params[i];
			start[np] = defaults[i];
			np++;
		}
	}

	/* refuse to replace another role's model before any work */
	if (RecpromoModelLookup(name, &row))
		RecpromoCheckOwnerOf(name, row.owner, GetUserId());

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	INSTR_TIME_SET_CURRENT(t0);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "recpromo tune", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	RecpromoSourceInit(&tc.src, PG_GETARG_OID(1), NameStr(*PG_GETARG_NAME(2)),
					   NameStr(*PG_GETARG_NAME(3)),
					   PG_ARGISNULL(4) ? NULL : NameStr(*PG_GETARG_NAME(4)));
	RecpromoReadInteractions(&tc.src, tc.method->nonneg, &tc.data);
	if (tc.data.R.nnz == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("source \"%s\" has no usable rows", tc.src.relname),
				 errhint("Tuning needs at least one row with a user, an item and a rating that are not null.")));
	if (time_col != NULL && strcmp(split_name, "random") != 0)
		pair_time = ReadPairTimes(&tc, time_col);

	/* the split: validation entries marked, then the two slices */
	RecpromoCheckMemory((double) tc.data.R.nnz * 26.0, "tuning");
	tc.is_valid = palloc_extended(Max((Size) tc.data.R.nnz, 1), MCXT_ALLOC_HUGE);
	if (strcmp(split_name, "cut") == 0)
	{
		work = palloc_extended(rp_tune_split_global_workspace(&tc.data.R), MCXT_ALLOC_HUGE);
		RecpromoCheckStatus(rp_tune_split_global(&tc.data.R, pair_time, vfrac, tc.is_valid,
												 work, &n_valid), "tuning");
	}
	else
	{
		work = palloc_extended(rp_tune_split_workspace(&tc.data.R), MCXT_ALLOC_HUGE);
		RecpromoCheckStatus(rp_tune_split(&tc.data.R, pair_time, vfrac, tc.seed, tc.is_valid,
										  work, &n_valid), "tuning");
	}
	pfree(work);
	if (n_valid == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("source \"%s\" has no user with two or more items to validate on",
						tc.src.relname),
				 errhint("Tuning holds out part of each user's items; users with a single item stay in training.")));
	AllocCsr(&tc.train, tc.data.users.n, tc.data.R.nnz - n_valid);
	rp_tune_filter(&tc.data.R, tc.is_valid, 0, NULL, &tc.train);
	AllocCsr(&tc.valid, tc.data.users.n, n_valid);
	rp_tune_filter(&tc.data.R, tc.is_valid, 1, NULL, &tc.valid);

	/* the search */
	ws = rp_tune_workspace(np, max_trials);
	work = palloc_extended(ws, MCXT_ALLOC_HUGE);
	if (np == 0 && (strategy == RP_TUNE_HALVING || strategy == RP_TUNE_ADAPTIVE))
		strategy = RP_TUNE_RANDOM;
	RecpromoCheckStatus(rp_tune_init(&tuner, params, np, strategy,
									 np == 0 ? 1 : max_trials, max_seconds,
									 tc.seed, start, work, ws), "tuning");
	/*
	 * The trials' own notices (ALS prints one per iteration) would bury the
	 * result: below WARNING they are kept from the client until the final
	 * training, which reports as train() does.
	 */
	guc_nest = NewGUCNestLevel();
	if (client_min_messages < WARNING)
		(void) set_config_option("client_min_messages", "warning", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	tparams = palloc(max_trials * sizeof(char *));
	tvalue = palloc(max_trials * sizeof(double));
	tseconds = palloc(max_trials * sizeof(double));
	for (;;)
	{
		instr_time	now,
					ts0;
		double		v[RP_TUNE_MAX_PARAMS] = {0};
		int			q = 0;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, t0);
		id = rp_tune_next(&tuner, INSTR_TIME_GET_DOUBLE(now));
		if (id < 0)
			break;
		/* the space's values in the order of sp->params */
		for (int i = 0; i < sp->n; i++)
			if (use[i])
				v[i] = tuner.values[(size_t) id * np + q++];
		tparams[id] = TrialParams(sp, use, v, fixed);
		INSTR_TIME_SET_CURRENT(ts0);
		tvalue[id] = RunTrial(&tc, tparams[id], tuner.fraction[id]);
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, ts0);
		tseconds[id] = INSTR_TIME_GET_DOUBLE(now);
		rp_tune_report(&tuner, id, tvalue[id]);
		n_done = id + 1;
		CHECK_FOR_INTERRUPTS();
	}
	AtEOXact_GUC(true, guc_nest);
	best = rp_tune_best(&tuner);
	if (best < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no trial could be scored on the validation slice"),
				 errhint("The validation users must be known to the model; check that users have several items.")));
	/* rmse was negated for the search: report it as is */
	if (tc.metric == TM_RMSE)
		for (int i = 0; i < n_done; i++)
			tvalue[i] = -tvalue[i];

	/* the final model: all the data, train()'s own path */
	MemoryContextSwitchTo(old);
	model_id = RecpromoTrainModel(name, PG_GETARG_OID(1), pstrdup(NameStr(*PG_GETARG_NAME(2))),
								  pstrdup(NameStr(*PG_GETARG_NAME(3))),
								  PG_ARGISNULL(4) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(4))),
								  pstrdup(tc.method->name),
								  DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																	 CStringGetDatum(tparams[best]))));
	StoreTrials(model_id, n_done, tparams, tvalue, tseconds, tuner.fraction, best,
				metric_name, strategy_name, split_name);

	for (int i = 0; i < n_done; i++)
	{
		Datum		values[TUNE_COLS];
		bool		nulls[TUNE_COLS] = {0};

		values[0] = Int32GetDatum(i + 1);
		values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(tparams[i]));
		values[2] = CStringGetTextDatum(metric_name);
		values[3] = Float8GetDatum(tvalue[i]);
		nulls[3] = isnan(tvalue[i]);
		values[4] = Float8GetDatum(tuner.fraction[i]);
		values[5] = Float8GetDatum(tseconds[i]);
		values[6] = BoolGetDatum(i == best);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
