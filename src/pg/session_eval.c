/*
 * session_eval.c
 *	  evaluate_sessions(): next-item prediction on held-out sessions.
 *
 * The protocol of session-based recommendation studies (Ludewig and
 * Jannach 2018 evaluate the next item; here the last one of each session):
 * the test rows (session, item, time) are read with the caller's rights in
 * the order (session, time, item); a session with at least two events is
 * split into its prefix (every event but the last) and its target (the
 * last event's item).  The prefix is scored exactly as
 * recommend_for_session() scores a session (recency weights p / L,
 * unknown items skipped, an empty prefix gets the popularity list), or,
 * with order_blind, as recommend_for_items() scores a basket (weight 1
 * each); with exclude_input the prefix's items cannot be recommended.  The
 * top k is selected as serving selects it (rp_topk: ties to the lower item
 * index), and scored with rp_rank_metrics_user against the one relevant
 * item: hit (the target is in the top k) and reciprocal rank (1 / its
 * rank, 0 beyond k).  A target the model does not know counts as a miss.
 * Sessions with fewer than two events are skipped and counted.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "method.h"
#include "recpromo.h"
#include "rp_metrics.h"
#include "rp_session.h"
#include "rp_topk.h"
#include "spi_guard.h"

#define EVALUATE_SESSIONS_COLS 5
#define EVALUATE_SESSIONS_MAX_K 100000
#define SESSION_FETCH_ROWS 10000

typedef struct SessionEvalState
{
	const RecpromoModel *m;
	int32		k;
	bool		exclude_input;
	bool		order_blind;
	/* the current session's events, in order (item index, -1 unknown) */
	int32	   *seq;
	int32		nseq;
	int32		cap;
	/* scratch */
	int32	   *hist;
	double	   *w;
	unsigned char *mark;
	double	   *scores;
	int32	   *top_idx;
	double	   *top_sc;
	unsigned char *flags;
	rp_metrics_acc acc;
	int64		skipped;
	/* the row loop: which session the previous row was of */
	bool		int_sessions;
	Oid			item_transfer;	/* int8 or text: how item keys come */
	bool		have_prev;
	int64		prev_int;
	char	   *prev_text;
} SessionEvalState;

/* Scores the session gathered in st->seq (prefix + target) and resets it. */
static void
FinishSession(SessionEvalState *st)
{
	const RecpromoModel *m = st->m;
	int32		target;
	int32		nh;
	int32		nt;
	rp_rank_metrics um;

	if (st->nseq < 2)
	{
		if (st->nseq > 0)
			st->skipped++;
		st->nseq = 0;
		return;
	}
	target = st->seq[st->nseq - 1];
	nh = rp_session_weights(st->seq, st->nseq - 1, m->items.n, st->hist, st->w, st->mark);
	if (st->order_blind)
		for (int32 h = 0; h < nh; h++)
			st->w[h] = 1.0;
	if (nh == 0 && !m->method->history_free)
		memcpy(st->scores, m->item_pop, (Size) m->items.n * sizeof(double));
	else
		m->method->score(m, -1, st->hist, st->w, nh, st->scores);
	if (st->exclude_input)
		for (int32 h = 0; h < nh; h++)
			st->scores[st->hist[h]] = -INFINITY;
	nt = rp_topk(st->scores, m->items.n, NULL, st->k, st->top_idx, st->top_sc);
	for (int32 q = 0; q < nt; q++)
		st->flags[q] = target >= 0 && st->top_idx[q] == target;
	RecpromoCheckStatus(rp_rank_metrics_user(st->k, nt, NULL, st->flags, 1, &um),
						"session evaluation");
	rp_metrics_acc_add(&st->acc, &um);
	st->nseq = 0;
}

/*
 * One (session, item) row, in session, time, item order: a new session
 * scores the one gathered before it; the item joins the current one.
 */
static void
SessionRow(HeapTuple tup, TupleDesc td, void *arg)
{
	SessionEvalState *st = arg;
	bool		nk,
				ni;
	Datum		kd = SPI_getbinval(tup, td, 1, &nk);
	Datum		id = SPI_getbinval(tup, td, 2, &ni);
	bool		same;

	if (st->int_sessions)
	{
		same = st->have_prev && DatumGetInt64(kd) == st->prev_int;
		st->prev_int = DatumGetInt64(kd);
	}
	else
	{
		char	   *t = TextDatumGetCString(kd);

		same = st->have_prev && strcmp(t, st->prev_text) == 0;
		if (st->prev_text)
			pfree(st->prev_text);
		st->prev_text = t;
	}
	if (!same)
	{
		FinishSession(st);
		CHECK_FOR_INTERRUPTS();
	}
	st->have_prev = true;
	if (st->nseq == st->cap)
	{
		st->cap *= 2;
		st->seq = repalloc_huge(st->seq, (Size) st->cap * sizeof(int32));
		st->hist = repalloc_huge(st->hist, (Size) st->cap * sizeof(int32));
		st->w = repalloc_huge(st->w, (Size) st->cap * sizeof(double));
	}
	st->seq[st->nseq++] = RecpromoKeysFind(&st->m->items, id, st->item_transfer);
}

static char *
NameArgOrError(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what),
				 errhint("Name a column of the table of held-out sessions.")));
	return NameStr(*PG_GETARG_NAME(arg));
}

/*
 * evaluate_sessions(model text, source regclass, session_col name,
 *					 item_col name, time_col name, k integer,
 *					 exclude_input boolean, order_blind boolean)
 *	 RETURNS TABLE (model_name, sessions_evaluated, sessions_skipped,
 *					hit_rate, mrr)
 */
PG_FUNCTION_INFO_V1(recpromo_evaluate_sessions);
Datum
recpromo_evaluate_sessions(PG_FUNCTION_ARGS)
{
	char	   *model_name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			relid;
	char	   *session_col,
			   *item_col,
			   *time_col;
	RecpromoSource src;
	RecpromoModel *m;
	SessionEvalState st;
	MemoryContext cxt,
				old;
	char	   *sql;
	bool		int_sessions;
	TupleDesc	tupdesc;
	Datum		values[EVALUATE_SESSIONS_COLS];
	bool		nulls[EVALUATE_SESSIONS_COLS] = {0};
	Oid			item_transfer;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be null"),
				 errhint("Name the table or view of held-out sessions.")));
	relid = PG_GETARG_OID(1);
	session_col = NameArgOrError(fcinfo, 2, "session_col");
	item_col = NameArgOrError(fcinfo, 3, "item_col");
	time_col = NameArgOrError(fcinfo, 4, "time_col");
	if (PG_ARGISNULL(5) || PG_GETARG_INT32(5) < 1 || PG_GETARG_INT32(5) > EVALUATE_SESSIONS_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", EVALUATE_SESSIONS_MAX_K),
				 errhint("k is the length of the lists to score, such as 20.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));

	m = RecpromoModelGet(model_name);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "recpromo evaluate_sessions",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	memset(&st, 0, sizeof(st));
	st.m = m;
	st.k = PG_GETARG_INT32(5);
	st.exclude_input = PG_ARGISNULL(6) ? false : PG_GETARG_BOOL(6);
	st.order_blind = PG_ARGISNULL(7) ? false : PG_GETARG_BOOL(7);
	st.cap = 64;
	st.seq = palloc(st.cap * sizeof(int32));
	st.hist = palloc(st.cap * sizeof(int32));
	st.w = palloc(st.cap * sizeof(double));
	st.mark = palloc0(Max((Size) m->items.n, 1));
	st.scores = palloc_extended(Max((Size) m->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	st.top_idx = palloc_extended((Size) st.k * sizeof(int32), MCXT_ALLOC_HUGE);
	st.top_sc = palloc_extended((Size) st.k * sizeof(double), MCXT_ALLOC_HUGE);
	st.flags = palloc_extended((Size) st.k, MCXT_ALLOC_HUGE);
	rp_metrics_acc_init(&st.acc);

	/* the rows, in session, time, item order, with the caller's rights */
	RecpromoSourceInit(&src, relid, session_col, item_col, NULL);
	int_sessions = RecpromoKeyClassFor(src.user_type) == RECPROMO_KEY_INT;
	item_transfer = RecpromoKeyClassFor(src.item_type) == RECPROMO_KEY_INT ? INT8OID : TEXTOID;
	sql = psprintf("SELECT s.k, s.i FROM (SELECT %s AS k, %s AS i, "
				   "%s AS t FROM %s) s "
				   "WHERE s.k IS NOT NULL AND s.i IS NOT NULL AND s.t IS NOT NULL "
				   "ORDER BY s.k, s.t, s.i",
				   RecpromoKeyCastSql(session_col, src.user_type),
				   RecpromoKeyCastSql(item_col, src.item_type),
				   RecpromoTimeExpr(relid, time_col), src.relname);
	st.int_sessions = int_sessions;
	st.item_transfer = item_transfer;
	RecpromoSpiForEachRow(sql, 0, NULL, NULL, SESSION_FETCH_ROWS, cxt, SessionRow, &st);
	FinishSession(&st);

	MemoryContextSwitchTo(old);
	values[0] = CStringGetTextDatum(m->row.name);
	values[1] = Int64GetDatum(st.acc.users);
	values[2] = Int64GetDatum(st.skipped);
	if (st.acc.users > 0)
	{
		rp_rank_metrics mean;

		RecpromoCheckStatus(rp_metrics_acc_mean(&st.acc, &mean), "session evaluation");
		values[3] = Float8GetDatum(mean.hit);
		values[4] = Float8GetDatum(mean.rr);
	}
	else
		nulls[3] = nulls[4] = true;
	{
		HeapTuple	tup = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
		Datum		result = HeapTupleGetDatum(tup);

		MemoryContextDelete(cxt);
		PG_RETURN_DATUM(result);
	}
}
