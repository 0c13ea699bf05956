/*
 * method_hybrid.c
 *	  The `hybrid` method: a weighted blend of two trained models, with the
 *	  second (typically `content`) taking over where history is thin.
 *
 * Parameters: "models", the names of two trained models [A, B] (A is
 * typically collaborative: item_knn, ease, als; B typically content);
 * "weight" w in [0, 1] (default 0.5), the share of A when history is
 * ample; "min_history" m >= 0 (default 5).  The hybrid is trained on a
 * source like any model (train_hybrid() takes A's); from it, it knows each
 * user's history size h_u (distinct items) and each item's audience c_j
 * (distinct users).  For user u and item j:
 *
 *	  a(u, j) = w * min(1, h_u / m) * min(1, c_j / m)		(a = w when m = 0)
 *	  score(u, j) = a(u, j) * sA(u, j) / maxA(u) + (1 - a(u, j)) * sB(u, j) / maxB(u)
 *
 * where sX are the component's scores and maxX(u) the largest |sX(u, .)|
 * over the items (1 when all are 0), so both parts lie in [-1, 1].  A new
 * customer (h_u = 0) or a new product (c_j = 0) is scored by B alone; a
 * customer with m or more purchases of an item bought by m or more
 * customers gets the plain w : (1 - w) blend.  Items or users a component
 * does not know get 0 from it.  similar_items blends the components'
 * similarities the same way with a(j) = w * min(1, c_j / m).  explain
 * blends the components' explanations with the same factors (0 from a
 * component that cannot explain), i.e. the history-dependent part.
 *
 * The components are looked up by name at serving time (through the
 * model cache, so a retrained component is picked up); item and user
 * indices are mapped between dictionaries by key, and the maps are cached
 * per component version.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "method.h"
#include "model_validate.h"
#include "recpromo.h"

#define HYBRID_PARTS 2

/* How one component's indices relate to the hybrid's (cached per version). */
typedef struct HybridMap
{
	int64		comp_id;		/* component version the maps belong to */
	int32	   *item_to_comp;	/* hybrid item -> component item, or -1 */
	int32	   *user_to_comp;	/* hybrid user -> component user, or -1 */
} HybridMap;

typedef struct HybridState
{
	char	   *names[HYBRID_PARTS];
	double		weight;
	double		min_history;
	double	   *user_hist;		/* h_u */
	HybridMap	maps[HYBRID_PARTS];
} HybridState;

/* ---------- training ---------- */

/*
 * Adds the components' items to the hybrid's dictionary, so that items only
 * one component knows (a content model's new products) can be recommended,
 * and renumbers the interactions' item indices (the map is monotone, so
 * rows stay sorted).
 */
static void
WidenItems(RecpromoTrainState *ts, List *names)
{
	RecpromoInteractions *d = &ts->data;
	RecpromoKeyBag bag;
	RecpromoKeys keys;
	int32	   *rowidx;
	ListCell   *lc;

	RecpromoKeyBagInit(&bag, d->items.type);
	for (int32 i = 0; i < d->items.n; i++)
		RecpromoKeyBagAdd(&bag, RecpromoKeysGet(&d->items, i, d->items.type), d->items.type);
	foreach(lc, names)
	{
		RecpromoModel *c = RecpromoModelGet((char *) lfirst(lc));

		for (int32 i = 0; i < c->items.n; i++)
			RecpromoKeyBagAdd(&bag, RecpromoKeysGet(&c->items, i, d->items.type), d->items.type);
	}
	rowidx = palloc_extended(Max((Size) bag.n, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	RecpromoKeysFinish(&bag, &keys, rowidx);
	for (int64 p = 0; p < d->R.nnz; p++)
		d->R.indices[p] = rowidx[d->R.indices[p]];
	d->R.n_cols = keys.n;
	d->items = keys;
	pfree(rowidx);
}

static void
HybridTrain(RecpromoTrainState *ts)
{
	JsonbValue	k;
	JsonbValue *v;
	List	   *names = NIL;
	MemoryContext old;
	StringInfoData q;
	int			count = 0;

	old = MemoryContextSwitchTo(GetMemoryChunkContext(ts));
	ts->params_used = lappend(ts->params_used, pstrdup("models"));
	MemoryContextSwitchTo(old);
	k.type = jbvString;
	k.val.string.val = "models";
	k.val.string.len = strlen("models");
	v = ts->params_in ? findJsonbValueFromContainer(&ts->params_in->root, JB_FOBJECT, &k) : NULL;
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"hybrid\" needs the hyper-parameter \"models\", an array of two model names"),
				 errhint("Use recpromo.train_hybrid(), or pass params => '{\"models\": [\"knn\", \"content\"]}'.")));
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	e;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			if (tok != WJB_ELEM)
				continue;
			if (e.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyper-parameter \"models\" must be an array of two model names")));
			names = lappend(names, pnstrdup(e.val.string.val, e.val.string.len));
			count++;
		}
	}
	if (count != HYBRID_PARTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyper-parameter \"models\" must be an array of two model names"),
				 errdetail("%d names were given.", count)));

	initStringInfo(&q);
	appendStringInfoChar(&q, '[');
	for (int p = 0; p < HYBRID_PARTS; p++)
	{
		char	   *n = list_nth(names, p);
		RecpromoModelRow row;

		if (strcmp(n, ts->name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hybrid model \"%s\" cannot be one of its own components", n)));
		RecpromoModelLookupOrError(n, &row);
		if (strcmp(row.method, "hybrid") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" is itself a hybrid", n),
					 errhint("Blend two models of other methods.")));
		if (RecpromoKeyClassFor(row.item_type) != ts->data.items.kclass ||
			RecpromoKeyClassFor(row.user_type) != ts->data.users.kclass)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("model \"%s\" has keys of other types than the hybrid's source", n),
					 errhint("Blend models trained on the same kind of user and item keys.")));
		if (p > 0)
			appendStringInfoString(&q, ", ");
		escape_json(&q, n);
	}
	appendStringInfoChar(&q, ']');
	WidenItems(ts, names);
	if (ts->params_out->len > 0)
		appendStringInfoString(ts->params_out, ", ");
	appendStringInfo(ts->params_out, "\"models\": %s", q.data);
	RecpromoParamFloat(ts, "weight", 0.5, 0.0, 1.0);
	RecpromoParamInt(ts, "min_history", 5, 0, 1000000);
}

/* ---------- serving ---------- */

static void
HybridLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	HybridState *st = palloc0(sizeof(HybridState));
	Jsonb	   *params = m->params;
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = "models";
	k.val.string.len = strlen("models");
	v = findJsonbValueFromContainer(&params->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		RecpromoModelCorrupt(m->row.name, NULL, "its hyper-parameter \"models\" is not a list of two model names");
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	e;
		JsonbIteratorToken tok;
		int			p = 0;

		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
			if (tok == WJB_ELEM && e.type == jbvString && p < HYBRID_PARTS)
				st->names[p++] = pnstrdup(e.val.string.val, e.val.string.len);
		if (p != HYBRID_PARTS)
			RecpromoModelCorrupt(m->row.name, NULL, "its hyper-parameter \"models\" is not a list of two model names");
	}
	st->weight = RecpromoModelParamChecked(m, "weight", 0.5, 0.0, 1.0);
	st->min_history = RecpromoModelParamChecked(m, "min_history", 5, 0, 1000000);
	st->user_hist = palloc(Max((Size) m->users.n, 1) * sizeof(double));
	for (int32 u = 0; u < m->users.n; u++)
		st->user_hist[u] = (double) (m->seen.indptr[u + 1] - m->seen.indptr[u]);
	for (int p = 0; p < HYBRID_PARTS; p++)
		st->maps[p].comp_id = -1;
	m->state = st;
}

/* Maps keys of dictionary `from` to indices in `to` (-1 when absent). */
static void
MapKeys(const RecpromoKeys *from, const RecpromoKeys *to, int32 *out)
{
	for (int32 i = 0; i < from->n; i++)
	{
		if (from->kclass == RECPROMO_KEY_INT)
			out[i] = RecpromoKeysFindInt(to, from->ints[i]);
		else
			out[i] = RecpromoKeysFindText(to, from->text_buf + from->text_off[i]);
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/* Component p, with its index maps up to date. */
static RecpromoModel *
Component(const RecpromoModel *m, int p)
{
	HybridState *st = m->state;
	RecpromoModel *c = RecpromoModelGet(st->names[p]);
	HybridMap  *map = &st->maps[p];

	if (c == m || strcmp(c->method->name, "hybrid") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("component \"%s\" of hybrid model \"%s\" is a hybrid model", st->names[p], m->row.name),
				 errhint("Retrain the hybrid with two models of other methods.")));
	if (map->comp_id != c->id)
	{
		MemoryContext old = MemoryContextSwitchTo(m->cxt);

		if (map->item_to_comp == NULL)
		{
			map->item_to_comp = palloc(Max((Size) m->items.n, 1) * sizeof(int32));
			map->user_to_comp = palloc(Max((Size) m->users.n, 1) * sizeof(int32));
		}
		MemoryContextSwitchTo(old);
		map->comp_id = -1;		/* stays invalid if an error interrupts */
		MapKeys(&m->items, &c->items, map->item_to_comp);
		MapKeys(&m->users, &c->users, map->user_to_comp);
		map->comp_id = c->id;
	}
	return c;
}

/*
 * The history in component c's index space: its own training row when it
 * knows the user, else the hybrid's history mapped (unknown items dropped;
 * the maps are monotone, so the order stays ascending).
 */
static int32
ComponentUser(const RecpromoModel *m, int p, const RecpromoModel *c, int32 u,
			  const int32 *hist, const double *vals, int32 nhist,
			  const int32 **chist, const double **cvals)
{
	HybridState *st = m->state;
	int32		cu = u >= 0 ? st->maps[p].user_to_comp[u] : -1;

	if (cu >= 0)
	{
		int64		b = c->seen.indptr[cu];

		*chist = c->seen.indices + b;
		*cvals = c->seen.values + b;
		return (int32) (c->seen.indptr[cu + 1] - b);
	}
	else
	{
		int32	   *ix = palloc(Max(nhist, 1) * sizeof(int32));
		double	   *vx = palloc(Max(nhist, 1) * sizeof(double));
		int32		k = 0;

		for (int32 h = 0; h < nhist; h++)
		{
			int32		ci = st->maps[p].item_to_comp[hist[h]];

			if (ci >= 0)
			{
				ix[k] = ci;
				vx[k++] = vals[h];
			}
		}
		*chist = ix;
		*cvals = vx;
		return k;
	}
}

/* scores of component p for the user, in the hybrid's item space, divided by their max |.| */
static void
ComponentScores(const RecpromoModel *m, int p, int32 u, const int32 *hist,
				const double *vals, int32 nhist, double *out)
{
	HybridState *st = m->state;
	RecpromoModel *c = Component(m, p);
	const int32 *chist;
	const double *cvals;
	int32		cu = u >= 0 ? st->maps[p].user_to_comp[u] : -1;
	int32		cn = ComponentUser(m, p, c, u, hist, vals, nhist, &chist, &cvals);
	double	   *cs = palloc_extended(Max((Size) c->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	double		mx = 0.0;

	if (cu < 0 && cn == 0)
		memset(cs, 0, (Size) c->items.n * sizeof(double));
	else
		c->method->score(c, cu, chist, cvals, cn, cs);
	for (int32 j = 0; j < m->items.n; j++)
	{
		int32		cj = st->maps[p].item_to_comp[j];

		out[j] = cj >= 0 && isfinite(cs[cj]) ? cs[cj] : 0.0;
		if (fabs(out[j]) > mx)
			mx = fabs(out[j]);
	}
	if (mx > 0.0)
		for (int32 j = 0; j < m->items.n; j++)
			out[j] /= mx;
	pfree(cs);
}

/* The share of the first component for a user history size and an item. */
static inline double
Alpha(const HybridState *st, const RecpromoModel *m, double h_u, int32 j)
{
	double		a = st->weight;

	if (st->min_history > 0)
	{
		a *= Min(1.0, h_u / st->min_history);
		a *= Min(1.0, m->item_pop[j] / st->min_history);
	}
	return a;
}

static double
HistorySize(const RecpromoModel *m, int32 u, int32 nhist)
{
	const HybridState *st = m->state;

	return u >= 0 ? st->user_hist[u] : (double) nhist;
}

static void
HybridScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			int32 nhist, double *scores)
{
	const HybridState *st = m->state;
	double	   *b = palloc_extended(Max((Size) m->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	double		h_u = HistorySize(m, u, nhist);

	ComponentScores(m, 0, u, hist, vals, nhist, scores);
	ComponentScores(m, 1, u, hist, vals, nhist, b);
	for (int32 j = 0; j < m->items.n; j++)
	{
		double		a = Alpha(st, m, h_u, j);

		scores[j] = a * scores[j] + (1.0 - a) * b[j];
	}
	pfree(b);
}

/* similarities of component p to item i, mapped and divided by their max |.| */
static void
ComponentSims(const RecpromoModel *m, int p, int32 i, double *out)
{
	HybridState *st = m->state;
	RecpromoModel *c = Component(m, p);
	int32		ci = st->maps[p].item_to_comp[i];
	double	   *cs;
	double		mx = 0.0;

	if (ci < 0 || c->method->similar_items == NULL)
	{
		memset(out, 0, (Size) m->items.n * sizeof(double));
		return;
	}
	cs = palloc_extended(Max((Size) c->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	c->method->similar_items(c, ci, cs);
	for (int32 j = 0; j < m->items.n; j++)
	{
		int32		cj = st->maps[p].item_to_comp[j];

		out[j] = cj >= 0 && cj != ci && isfinite(cs[cj]) ? cs[cj] : 0.0;
		if (fabs(out[j]) > mx)
			mx = fabs(out[j]);
	}
	if (mx > 0.0)
		for (int32 j = 0; j < m->items.n; j++)
			out[j] /= mx;
	pfree(cs);
}

static void
HybridSimilarItems(const RecpromoModel *m, int32 i, double *sims)
{
	const HybridState *st = m->state;
	double	   *b = palloc_extended(Max((Size) m->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);

	ComponentSims(m, 0, i, sims);
	ComponentSims(m, 1, i, b);
	for (int32 j = 0; j < m->items.n; j++)
	{
		double		a = Alpha(st, m, st->min_history, j);
		double		s = a * sims[j] + (1.0 - a) * b[j];

		/* only items related under at least one component */
		sims[j] = (sims[j] != 0.0 || b[j] != 0.0) ? s : -INFINITY;
	}
	pfree(b);
}

/* component p's explanation of item for the history, scaled like its scores */
static void
ComponentExplain(const RecpromoModel *m, int p, int32 u, const int32 *hist,
				 const double *vals, int32 nhist, int32 item, double *out)
{
	HybridState *st = m->state;
	RecpromoModel *c = Component(m, p);
	int32		cu = u >= 0 ? st->maps[p].user_to_comp[u] : -1;
	int32		ci = st->maps[p].item_to_comp[item];
	double		mx = 0.0;

	memset(out, 0, Max(nhist, 1) * sizeof(double));
	if (ci < 0 || c->method->explain == NULL)
		return;
	/* the scale: the max |score| the component gives this user (as in ComponentScores) */
	{
		double	   *raw = palloc_extended(Max((Size) c->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
		const int32 *chist;
		const double *cvals;
		int32		cn = ComponentUser(m, p, c, u, hist, vals, nhist, &chist, &cvals);

		if (cu < 0 && cn == 0)
		{
			pfree(raw);
			return;
		}
		c->method->score(c, cu, chist, cvals, cn, raw);
		for (int32 j = 0; j < m->items.n; j++)
		{
			int32		cj = st->maps[p].item_to_comp[j];

			if (cj >= 0 && isfinite(raw[cj]) && fabs(raw[cj]) > mx)
				mx = fabs(raw[cj]);
		}
		pfree(raw);
	}
	/* explain over the hybrid's history, one entry at a time mapped to the component */
	{
		int32	   *ix = palloc(Max(nhist, 1) * sizeof(int32));
		double	   *vx = palloc(Max(nhist, 1) * sizeof(double));
		int32	   *pos = palloc(Max(nhist, 1) * sizeof(int32));
		double	   *cc = palloc(Max(nhist, 1) * sizeof(double));
		int32		k = 0;

		for (int32 h = 0; h < nhist; h++)
		{
			int32		cj = st->maps[p].item_to_comp[hist[h]];

			if (cj >= 0)
			{
				ix[k] = cj;
				vx[k] = vals[h];
				pos[k++] = h;
			}
		}
		if (k > 0)
		{
			c->method->explain(c, cu, ix, vx, k, ci, cc);
			for (int32 t = 0; t < k; t++)
				out[pos[t]] = isfinite(cc[t]) && mx > 0.0 ? cc[t] / mx : 0.0;
		}
	}
}

static void
HybridExplain(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			  int32 nhist, int32 item, double *contrib)
{
	const HybridState *st = m->state;
	double	   *b = palloc(Max(nhist, 1) * sizeof(double));
	double		a = Alpha(st, m, HistorySize(m, u, nhist), item);

	ComponentExplain(m, 0, u, hist, vals, nhist, item, contrib);
	ComponentExplain(m, 1, u, hist, vals, nhist, item, b);
	for (int32 h = 0; h < nhist; h++)
	{
		double		c = a * contrib[h] + (1.0 - a) * b[h];

		contrib[h] = c != 0.0 ? c : -INFINITY;
	}
	pfree(b);
}

const RecpromoMethod RecpromoMethodHybrid = {
	.name = "hybrid",
	.description = "weighted blend of two trained models, the second taking over for users and items with little history",
	.nonneg = false,
	.train = HybridTrain,
	.load = HybridLoad,
	.score = HybridScore,
	.similar_items = HybridSimilarItems,
	.explain = HybridExplain,
};
