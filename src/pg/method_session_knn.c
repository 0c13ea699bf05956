/*
 * method_session_knn.c
 *	  The `session_knn` method: session-based k-nearest neighbours with
 *	  recency weighting (V-SKNN, Ludewig and Jannach 2018; see rp_session.h
 *	  for the algorithm).
 *
 * Trained from (session, item, time) rows: the "users" of the model are
 * sessions (or customers, whose purchases in time order form one long
 * session).  The framework stores the session x item interactions as for
 * every method; this method adds one part, "session_time", the latest time
 * of each session (read from the hyper-parameter time_col through SPI with
 * the caller's rights; sessions without a time get -1e300, the oldest),
 * which decides which candidate sessions the sample keeps.  Loading checks
 * that part (length, finite values) and builds the item -> sessions lists.
 *
 * Scoring: the history's values are the weights of the current session's
 * items.  recommend_for_session() passes the recency weights of the
 * ordered session (rp_session_weights: p / L, the latest item 1), which
 * makes this V-SKNN; recommend() for a session or customer the model knows
 * passes its stored interaction values (quantities), leaving the session
 * itself out of its neighbours; recommend_for_items() passes 1 for every
 * item (plain session-kNN).
 * Hyper-parameters: time_col (required), neighbours (100), sample_size
 * (500): the defaults of Ludewig and Jannach's V-SKNN configurations.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "method.h"
#include "model_validate.h"
#include "recpromo.h"
#include "rp_session.h"
#include "spi_guard.h"

#define SKNN_MAX_NEIGHBOURS 100000
#define SKNN_MAX_SAMPLE 10000000
#define SKNN_FETCH_ROWS 10000

typedef struct SessionKnnState
{
	rp_csr		inverted;		/* items x sessions */
	const double *session_time;
	int32		neighbours;
	int32		sample_size;
	void	   *work;			/* scoring workspace, reused (rp_sknn_score keeps it clean) */
} SessionKnnState;

char *
RecpromoTimeColParam(RecpromoTrainState *ts, const char *method, const char *hint)
{
	JsonbValue *v = RecpromoParamLookup(ts, "time_col");
	StringInfoData q;
	char	   *r;

	if (v == NULL || v->type == jbvNull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"%s\" needs the hyper-parameter \"time_col\"", method),
				 errhint("%s", hint)));
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyper-parameter \"time_col\" must be a string")));
	r = pnstrdup(v->val.string.val, v->val.string.len);
	initStringInfo(&q);
	escape_json(&q, r);
	RecpromoParamRecord(ts, "time_col", q.data);
	return r;
}

/*
 * SQL expression (float8) of a time column for ordering: seconds since the
 * epoch for date, timestamp and timestamptz (a timestamp's nominal value),
 * the number itself for numeric types; errors name the column.  Shared by
 * session_knn, evaluate_sessions and tune (source.h).
 */
char *
RecpromoTimeExpr(Oid relid, const char *time_col)
{
	AttrNumber	att = get_attnum(relid, time_col);
	Oid			type;

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", time_col,
						get_rel_name(relid)),
				 errhint("Name the time column of the source table in time_col.")));
	type = getBaseType(get_atttype(relid, att));
	if (type == DATEOID || type == TIMESTAMPOID)
		return psprintf("pg_catalog.date_part('epoch'::pg_catalog.text, %s::pg_catalog.timestamp)",
						quote_identifier(time_col));
	if (type == TIMESTAMPTZOID)
		return psprintf("pg_catalog.date_part('epoch'::pg_catalog.text, %s)",
						quote_identifier(time_col));
	if (TypeCategory(type) == TYPCATEGORY_NUMERIC)
		return psprintf("%s::pg_catalog.float8", quote_identifier(time_col));
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("time column \"%s\" must be a date, timestamp or number, not %s",
					time_col, format_type_be(type)),
			 errhint("Cast it in a view.")));
	return NULL;				/* keep the compiler quiet */
}

/* What ReadSessionTimes's rows fill (SessionTimeRow). */
typedef struct SessionTimes
{
	const RecpromoInteractions *data;	/* the sessions, items and pairs trained on */
	bool		int_users;
	bool		int_items;
	double	   *times;			/* per session */
} SessionTimes;

bool
RecpromoSessionEvent(HeapTuple tup, TupleDesc td, const RecpromoInteractions *data,
					 bool int_users, bool int_items, int32 *s, int32 *i, double *t)
{
	bool		nk,
				ni,
				nt;
	Datum		k = SPI_getbinval(tup, td, 1, &nk);
	Datum		it = SPI_getbinval(tup, td, 2, &ni);
	Datum		td_ = SPI_getbinval(tup, td, 3, &nt);

	if (nk || ni || nt || !isfinite(DatumGetFloat8(td_)))
		return false;
	*s = RecpromoKeysFind(&data->users, k, int_users ? INT8OID : TEXTOID);
	*i = RecpromoKeysFind(&data->items, it, int_items ? INT8OID : TEXTOID);
	if (*s < 0 || *i < 0 || rp_csr_find(&data->R, *s, *i) < 0)
		return false;
	*t = DatumGetFloat8(td_);
	return true;
}

/*
 * One (session, item, latest time) row: the session's time is the latest
 * of its pairs that the interactions hold (RecpromoSessionEvent).
 */
static void
SessionTimeRow(HeapTuple tup, TupleDesc td, void *arg)
{
	SessionTimes *st = arg;
	int32		s;
	int32		i;
	double		t;

	if (RecpromoSessionEvent(tup, td, st->data, st->int_users, st->int_items, &s, &i, &t) &&
		t > st->times[s])
		st->times[s] = t;
}

/*
 * The latest time of each session of ts->data, from time_col (date,
 * timestamp, timestamptz or a number), over the pairs ts->data holds, read
 * with the caller's rights.
 */
static double *
ReadSessionTimes(RecpromoTrainState *ts, const char *time_col)
{
	const RecpromoSource *src = &ts->src;
	int32		n = ts->data.users.n;
	double	   *times;
	char	   *texpr;
	char	   *sql;
	SessionTimes st;
	bool		int_keys = RecpromoKeyClassFor(src->user_type) == RECPROMO_KEY_INT;
	bool		int_items = RecpromoKeyClassFor(src->item_type) == RECPROMO_KEY_INT;

	texpr = RecpromoTimeExpr(src->relid, time_col);

	times = palloc_extended(Max((Size) n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	for (int32 s = 0; s < n; s++)
		times[s] = -1e300;
	sql = psprintf("SELECT %s, %s, pg_catalog.max(%s) FROM %s GROUP BY 1, 2",
				   RecpromoKeyCastSql(src->user_col, src->user_type),
				   RecpromoKeyCastSql(src->item_col, src->item_type), texpr, src->relname);
	st.data = &ts->data;
	st.int_users = int_keys;
	st.int_items = int_items;
	st.times = times;
	RecpromoSpiForEachRow(sql, 0, NULL, NULL, SKNN_FETCH_ROWS, CurrentMemoryContext, SessionTimeRow, &st);
	return times;
}

static void
SessionKnnTrain(RecpromoTrainState *ts)
{
	char	   *time_col = RecpromoTimeColParam(ts, "session_knn",
												   "Use recpromo.train_session(), or pass params => '{\"time_col\": \"viewed_at\"}'.");
	double	   *times;

	RecpromoParamInt(ts, "neighbours", 100, 1, SKNN_MAX_NEIGHBOURS);
	RecpromoParamInt(ts, "sample_size", 500, 1, SKNN_MAX_SAMPLE);
	times = ReadSessionTimes(ts, time_col);
	RecpromoPartsAdd(&ts->parts, "session_time", times, (Size) ts->data.users.n * sizeof(double));
}

static void
SessionKnnLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	SessionKnnState *st = palloc(sizeof(SessionKnnState));
	const rp_csr *R = &m->seen;
	Size		nnz = Max((Size) R->nnz, 1);

	st->neighbours = (int32) RecpromoModelParamChecked(m, "neighbours", 100, 1, SKNN_MAX_NEIGHBOURS);
	st->sample_size = (int32) RecpromoModelParamChecked(m, "sample_size", 500, 1, SKNN_MAX_SAMPLE);
	st->session_time = RecpromoModelPartFinite(parts, m->row.name, "session_time", m->users.n);
	st->inverted.indptr = palloc_extended(((Size) R->n_cols + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	st->inverted.indices = palloc_extended(nnz * sizeof(int32), MCXT_ALLOC_HUGE);
	st->inverted.values = palloc_extended(nnz * sizeof(double), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_csr_transpose(R, &st->inverted), "loading the model");
	st->work = palloc_extended(rp_sknn_workspace(m->users.n), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	m->state = st;
}

static void
SessionKnnScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
				int32 nhist, double *scores)
{
	const SessionKnnState *st = m->state;

	/* backends are single-threaded and the scorer allocates nothing: one workspace per model */
	RecpromoCheckStatus(rp_sknn_score(&m->seen, &st->inverted, st->session_time, hist, vals,
									  nhist, u, st->sample_size, st->neighbours, scores, st->work),
						"session_knn scoring");
}

const RecpromoMethod RecpromoMethodSessionKnn = {
	.name = "session_knn",
	.description = "V-SKNN (Ludewig and Jannach 2018): session k-nearest neighbours with recency weighting",
	.nonneg = true,
	.train = SessionKnnTrain,
	.load = SessionKnnLoad,
	.score = SessionKnnScore,
};
