/*
 * method_slist.c
 *	  The `slist` method: SLIST, the session-aware linear item-item model
 *	  of Choi et al. (WWW 2021); rp_slist.h has the model.
 *
 * Trained from (session or customer, item, time) rows, like session_knn:
 * train(..., method => 'slist', params => '{"time_col": "ts"}').  Besides
 * the parts every model stores (keys, the session x item interactions,
 * popularity), the method reads the events in time order through SPI
 * with the caller's rights (rows whose session, item, time or rating, when
 * a rating column is named, is NULL, or whose time is not finite, are left
 * out of the sequences; ratings themselves are not used) and stores:
 *	- "slist_seq_indptr/_indices/_values": each session's events (item,
 *	  time), sorted by time then item: what a refit needs (forget) and the
 *	  order a known session is scored in;
 *	- "slist_b": B, n_items^2 doubles, row-major.
 * Hyper-parameters: time_col (required), alpha (0.2), lambda (100),
 * pos_decay (1 step), time_decay (0: off; in the unit of time_col, seconds
 * for dates and timestamps), max_diagonal (absent: the diagonal is free).
 * The defaults are the values a search on a validation cut of UCI Online
 * Retail chose (doc/training.md, "Sessions").
 *
 * Memory: B and the right-hand side, 16 bytes per pair of items, checked
 * against recpromo.memory_limit before anything is allocated (SQLSTATE
 * 53200, pointing at the sparse models).
 *
 * Serving: score(j) = sum over the session's items i of w_i B_ij.
 * recommend_for_session() and evaluate_sessions() pass the recency weights
 * p / L; recommend() of a session the model knows scores its stored
 * sequence with the same weights (so it equals recommend_for_session() of
 * that sequence); a user folded in from the live source, and
 * recommend_for_items(), use the given values.  similar_items(i) = row i
 * of B; explain: contrib_i = w_i B_ij, which sum to the score.
 * forget_user refits on the sequences left (forget.c), which equals a
 * retrain up to the order of floating-point sums.  The shared model cache
 * holds B and the sequences as they are.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "method.h"
#include "model_validate.h"
#include "recpromo.h"
#include "rp_session.h"
#include "rp_slist.h"
#include "rp_validate.h"
#include "slist.h"
#include "spi_guard.h"

#define SLIST_FETCH_ROWS 10000
#define SLIST_DEF_ALPHA 0.2
#define SLIST_DEF_LAMBDA 100.0
#define SLIST_DEF_POS_DECAY 1.0
#define SLIST_MAX_POS_DECAY 1000.0

typedef struct SlistState
{
	const double *B;			/* n_items x n_items */
	rp_csr		seq;			/* sessions x events (item, time) */
	/* scratch of the known-session scoring (backends are single-threaded) */
	int32	   *hist;
	double	   *w;
	unsigned char *mark;
} SlistState;

typedef struct SlistEvent
{
	int32		s;
	int32		i;
	double		t;
} SlistEvent;

static int
EventCmp(const void *a, const void *b)
{
	const SlistEvent *x = a;
	const SlistEvent *y = b;

	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* What ReadSequences's rows fill (EventRow). */
typedef struct EventRead
{
	RecpromoTrainState *ts;
	bool		int_users;
	bool		int_items;
	SlistEvent *ev;
	Size		nev;
	Size		cap;
} EventRead;

/* One (session, item, time) row, kept when RecpromoSessionEvent takes it. */
static void
EventRow(HeapTuple tup, TupleDesc td, void *arg)
{
	EventRead  *er = arg;
	int32		s;
	int32		i;
	double		t;

	if (!RecpromoSessionEvent(tup, td, &er->ts->data, er->int_users, er->int_items, &s, &i, &t))
		return;
	if (er->nev == er->cap)
	{
		er->cap = mul_size(er->cap, 2);
		er->ev = repalloc_huge(er->ev, mul_size(er->cap, sizeof(SlistEvent)));
	}
	er->ev[er->nev].s = s;
	er->ev[er->nev].i = i;
	er->ev[er->nev].t = t;
	er->nev++;
}

/*
 * The sessions' events from the source, as a sessions x items CSR sorted
 * by (time, item) within each row (palloc'd in the current context).
 */
static void
ReadSequences(RecpromoTrainState *ts, const char *time_col, rp_csr *seq)
{
	const RecpromoSource *src = &ts->src;
	bool		int_users = RecpromoKeyClassFor(src->user_type) == RECPROMO_KEY_INT;
	bool		int_items = RecpromoKeyClassFor(src->item_type) == RECPROMO_KEY_INT;
	char	   *texpr = RecpromoTimeExpr(src->relid, time_col);
	char	   *sql;
	SlistEvent *ev;
	Size		nev;
	int32		nu = ts->data.users.n;
	EventRead	er = {0};

	er.cap = 1024;
	/* the rows training counted: a rating column's NULLs are left out there too */
	sql = psprintf("SELECT %s, %s, %s FROM %s%s%s%s",
				   RecpromoKeyCastSql(src->user_col, src->user_type),
				   RecpromoKeyCastSql(src->item_col, src->item_type),
				   texpr, src->relname,
				   src->rating_col ? " WHERE " : "",
				   src->rating_col ? quote_identifier(src->rating_col) : "",
				   src->rating_col ? " IS NOT NULL" : "");
	er.ts = ts;
	er.int_users = int_users;
	er.int_items = int_items;
	er.ev = palloc_extended(er.cap * sizeof(SlistEvent), MCXT_ALLOC_HUGE);
	RecpromoSpiForEachRow(sql, 0, NULL, NULL, SLIST_FETCH_ROWS, CurrentMemoryContext, EventRow, &er);
	ev = er.ev;
	nev = er.nev;

	qsort(ev, nev, sizeof(SlistEvent), EventCmp);
	seq->n_rows = nu;
	seq->n_cols = ts->data.items.n;
	seq->nnz = (int64) nev;
	seq->indptr = palloc_extended(((Size) nu + 1) * sizeof(int64), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	seq->indices = palloc_extended(Max(nev, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	seq->values = palloc_extended(Max(nev, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	for (Size q = 0; q < nev; q++)
	{
		seq->indptr[ev[q].s + 1]++;
		seq->indices[q] = ev[q].i;
		seq->values[q] = ev[q].t;
	}
	for (int32 s = 0; s < nu; s++)
		seq->indptr[s + 1] += seq->indptr[s];
	pfree(ev);
}

/* The hyper-parameters as stored (forget: a refit with the same values). */
static void
StoredParams(Jsonb *params, const char *model, rp_slist_params *p)
{
	RecpromoModel fake;
	JsonbValue	k;
	JsonbValue *v;

	memset(&fake, 0, sizeof(fake));
	fake.params = params;
	p->alpha = RecpromoModelParamFloat(&fake, "alpha", SLIST_DEF_ALPHA);
	p->lambda = RecpromoModelParamFloat(&fake, "lambda", SLIST_DEF_LAMBDA);
	p->pos_decay = RecpromoModelParamFloat(&fake, "pos_decay", SLIST_DEF_POS_DECAY);
	p->time_decay = RecpromoModelParamFloat(&fake, "time_decay", 0.0);
	k.type = jbvString;
	k.val.string.val = "max_diagonal";
	k.val.string.len = strlen("max_diagonal");
	v = findJsonbValueFromContainer(&params->root, JB_FOBJECT, &k);
	p->bound_diagonal = v != NULL && v->type == jbvNumeric;
	p->max_diagonal = p->bound_diagonal ?
		RecpromoModelParamFloat(&fake, "max_diagonal", 0.0) : 0.0;
	if (!(p->alpha >= 0.0 && p->alpha <= 1.0) || !(p->lambda >= 1e-6 && p->lambda <= 1e12) ||
		!(p->pos_decay >= 0.01 && p->pos_decay <= SLIST_MAX_POS_DECAY) ||
		!(p->time_decay >= 0.0 && p->time_decay <= 1e15) ||
		!(fabs(p->max_diagonal) <= 1e6))
		RecpromoModelCorrupt(model, NULL, "a hyper-parameter of slist is out of range");
}

/*
 * Fits B on the sequences (palloc'd n x n doubles), after the memory
 * check; errors name `what`.
 */
static double *
SlistFit(const rp_csr *seq, const rp_slist_params *p, const char *what)
{
	int32		n = seq->n_cols;
	int64		max_events = 0;
	double		bytes;
	double		limit = (double) recpromo_memory_limit_kb * 1024.0;
	rp_cancel	cancel = RecpromoCancelHook();
	double	   *B;
	void	   *work;

	for (int32 s = 0; s < seq->n_rows; s++)
		max_events = Max(max_events, seq->indptr[s + 1] - seq->indptr[s]);
	bytes = rp_slist_memory_bytes(n, max_events);
	if (bytes > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s on %d items would need %.0f MB of memory, recpromo.memory_limit is %.0f MB",
						what, n, bytes / (1024.0 * 1024.0), limit / (1024.0 * 1024.0)),
				 errdetail("SLIST keeps two dense item x item matrices: 16 bytes per pair of items."),
				 errhint("Raise recpromo.memory_limit, train on fewer items (for instance the most popular ones), or use a sparse model: session_knn, or sparse_ease, whose memory grows with items x neighbours.")));
	B = palloc_extended(Max(mul_size(mul_size((Size) n, (Size) n), sizeof(double)), 1),
						MCXT_ALLOC_HUGE);
	work = palloc_extended(rp_slist_work_bytes(n, max_events), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_slist_fit(seq, p, B, work, &cancel), what);
	CHECK_FOR_INTERRUPTS();
	pfree(work);
	return B;
}

static void
SlistTrain(RecpromoTrainState *ts)
{
	char	   *time_col = RecpromoTimeColParam(ts, "slist",
												   "Pass params => '{\"time_col\": \"viewed_at\"}': the column that orders the events of a session.");
	rp_slist_params p;
	JsonbValue *xi;
	rp_csr		seq;
	double	   *B;
	int32		n = ts->data.items.n;

	p.alpha = RecpromoParamFloat(ts, "alpha", SLIST_DEF_ALPHA, 0.0, 1.0);
	p.lambda = RecpromoParamFloat(ts, "lambda", SLIST_DEF_LAMBDA, 1e-6, 1e12);
	p.pos_decay = RecpromoParamFloat(ts, "pos_decay", SLIST_DEF_POS_DECAY, 0.01, SLIST_MAX_POS_DECAY);
	p.time_decay = RecpromoParamFloat(ts, "time_decay", 0.0, 0.0, 1e15);
	xi = RecpromoParamLookup(ts, "max_diagonal");
	p.bound_diagonal = xi != NULL && xi->type != jbvNull;
	p.max_diagonal = 0.0;
	if (p.bound_diagonal)
		p.max_diagonal = RecpromoParamFloat(ts, "max_diagonal", 0.0, -1e6, 1e6);

	ReadSequences(ts, time_col, &seq);
	B = SlistFit(&seq, &p, "slist training");
	RecpromoPartsAdd(&ts->parts, "slist_seq_indptr", seq.indptr,
					 ((Size) seq.n_rows + 1) * sizeof(int64));
	RecpromoPartsAdd(&ts->parts, "slist_seq_indices", seq.indices, (Size) seq.nnz * sizeof(int32));
	RecpromoPartsAdd(&ts->parts, "slist_seq_values", seq.values, (Size) seq.nnz * sizeof(double));
	RecpromoPartsAdd(&ts->parts, "slist_b", B, (Size) n * n * sizeof(double));
}

static void
SlistScratch(RecpromoModel *m, SlistState *st)
{
	Size		n = Max((Size) m->items.n, 1);

	st->hist = palloc_extended(n * sizeof(int32), MCXT_ALLOC_HUGE);
	st->w = palloc_extended(n * sizeof(double), MCXT_ALLOC_HUGE);
	st->mark = palloc_extended(n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

static void
SlistLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	SlistState *st = palloc(sizeof(SlistState));
	int32		n = m->items.n;
	const char *reason = NULL;

	st->B = RecpromoModelPart(parts, m->row.name, "slist_b", sizeof(double), (int64) n * n, NULL);
	RecpromoModelCheck(rp_validate_finite(st->B, (int64) n * n, &reason), m->row.name,
					   "slist_b", reason);
	RecpromoModelCsr(parts, m->row.name, "slist_seq", m->users.n, n, false, &st->seq);
	if (rp_slist_check(&st->seq) != RP_OK)
		RecpromoModelCorrupt(m->row.name, "slist_seq_values", "has events out of time order");
	SlistScratch(m, st);
	m->state = st;
}

/* Shared model cache (model_image.c): B and the sequences as they are. */
static void
SlistImageSave(const RecpromoModel *m, RecpromoImageSink *sink)
{
	const SlistState *st = m->state;

	RecpromoImageAdd(sink, "slist_b", st->B, (Size) m->items.n * m->items.n * sizeof(double));
	RecpromoImageAddCsr(sink, "slist_seq", &st->seq);
}

static bool
SlistImageAttach(RecpromoModel *m)
{
	SlistState *st = palloc(sizeof(SlistState));

	m->state = st;
	st->B = RecpromoImageSection(m, "slist_b", sizeof(double), (int64) m->items.n * m->items.n);
	if (st->B == NULL ||
		!RecpromoImageCsr(m, "slist_seq", m->users.n, m->items.n, false, true, &st->seq) ||
		rp_slist_check(&st->seq) != RP_OK)
		return false;
	SlistScratch(m, st);
	return true;
}

/*
 * The recency weights of known session u's stored sequence into st->hist /
 * st->w (items ascending); returns their count (0: no stored events).
 */
static int32
KnownSessionWeights(const RecpromoModel *m, int32 u)
{
	const SlistState *st = m->state;
	int64		b = st->seq.indptr[u];
	int64		len = st->seq.indptr[u + 1] - b;

	if (len <= 0 || len > PG_INT32_MAX)
		return 0;
	return rp_session_weights(st->seq.indices + b, (int32) len, m->items.n, st->hist, st->w,
							  st->mark);
}

static void
SlistScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
		   int32 nhist, double *scores)
{
	const SlistState *st = m->state;
	int32		nw = u >= 0 ? KnownSessionWeights(m, u) : 0;

	if (nw > 0)
		rp_slist_score(st->B, m->items.n, st->hist, st->w, nw, scores);
	else
		rp_slist_score(st->B, m->items.n, hist, vals, nhist, scores);
}

static void
SlistSimilarItems(const RecpromoModel *m, int32 i, double *sims)
{
	const SlistState *st = m->state;
	const double *row = st->B + (Size) i * m->items.n;

	memcpy(sims, row, (Size) m->items.n * sizeof(double));
}

static void
SlistExplain(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			 int32 nhist, int32 item, double *contrib)
{
	const SlistState *st = m->state;
	int32		n = m->items.n;
	int32		nw = u >= 0 ? KnownSessionWeights(m, u) : 0;
	int32		q = 0;

	for (int32 h = 0; h < nhist; h++)
	{
		double		w = vals[h];

		if (nw > 0)
		{
			/* both lists ascending: the stored weight of hist[h], 0 when absent */
			while (q < nw && st->hist[q] < hist[h])
				q++;
			w = q < nw && st->hist[q] == hist[h] ? st->w[q] : 0.0;
		}
		contrib[h] = w * st->B[(Size) hist[h] * n + item];
	}
}

/*
 * forget.c: the sequences without the dropped sessions and items
 * (umap / imap: old index -> new, or -1; order-preserving), refitted.
 */
void
RecpromoSlistForget(const char *model, Jsonb *params, const RecpromoParts *parts,
					int32 n_users, int32 n_items, const int32 *umap, const int32 *imap,
					int32 nu, int32 ni, rp_csr *seq_out, double **B_out)
{
	rp_csr		seq;
	rp_csr		sn;
	rp_slist_params p;
	int64		w = 0;

	StoredParams(params, model, &p);
	RecpromoModelCsr(parts, model, "slist_seq", n_users, n_items, false, &seq);
	sn.n_rows = nu;
	sn.n_cols = ni;
	sn.indptr = palloc_extended(((Size) nu + 1) * sizeof(int64), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	sn.indices = palloc_extended(Max((Size) seq.nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	sn.values = palloc_extended(Max((Size) seq.nnz, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	for (int32 s = 0; s < n_users; s++)
	{
		if (umap[s] < 0)
			continue;
		for (int64 q = seq.indptr[s]; q < seq.indptr[s + 1]; q++)
			if (imap[seq.indices[q]] >= 0)
			{
				sn.indices[w] = imap[seq.indices[q]];
				sn.values[w] = seq.values[q];
				w++;
			}
		sn.indptr[umap[s] + 1] = w;
	}
	/* sessions are kept in order: fill the offsets of any skipped index */
	for (int32 s = 0; s < nu; s++)
		if (sn.indptr[s + 1] < sn.indptr[s])
			sn.indptr[s + 1] = sn.indptr[s];
	sn.nnz = w;
	if (rp_slist_check(&sn) != RP_OK)
		RecpromoModelCorrupt(model, "slist_seq_values", "has events out of time order");
	*B_out = SlistFit(&sn, &p, "forgetting from an slist model");
	*seq_out = sn;
}

const RecpromoMethod RecpromoMethodSlist = {
	.name = "slist",
	.description = "SLIST (Choi et al. 2021): session-aware linear item-item model, item similarity and transitions in closed form",
	.nonneg = true,
	.train = SlistTrain,
	.load = SlistLoad,
	.score = SlistScore,
	.similar_items = SlistSimilarItems,
	.explain = SlistExplain,
	.image_save = SlistImageSave,
	.image_attach = SlistImageAttach,
};
