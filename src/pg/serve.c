/*
 * serve.c
 *	  SQL entry points that read a trained model: recommend,
 *	  recommend_for_items, similar_items, similar_users, predict and
 *	  explain_recommendation.
 *
 * Keys: every key argument and result shares the type of the first key
 * argument (polymorphic `anyelement`), so results join the caller's tables
 * without casts; a model's integer or text keys are converted to that type
 * (keys.c).  A user unknown to the model is folded in from their current
 * rows in the model's source table; with no rows at all they get the
 * popularity list, and predict() gives the model's baseline (methods with
 * has_baseline, and history-free ones) or NULL.  Similarities that are
 * cosines are clamped to [-1, 1].  Exclusions and filters are applied inside the top-n
 * selection (rp_topk.c), so a call returns exactly min(n, eligible items)
 * rows, best first, ties broken by the item's position in the sorted key
 * dictionary.  The re-rankers of recommend() (diversity, calibration, a
 * minimum share for a group, 0.3.0) run the greedy walk of rp_fair.c over
 * every eligible item, with the category cap, so they keep that count.
 * similar_users returns other customers' keys: on top of the serving
 * grant it needs the owner's privileges or a grant made with
 * grant_model(..., similar_users => true) (model_acl.c).
 *
 * Exact pruning (rp_mips.c): for a factor model, recommend() first tries
 * the items in decreasing norm order with Cauchy-Schwarz bounds, which
 * stops after a small share of the catalogue when item norms are heavy
 * tailed (implicit ALS factors: well under 1% of 200,000 items); the
 * screening pass over every item is the fallback when the bounds do not
 * prune (recpromo.exact_pruning).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include <math.h>

#include "citus.h"
#include "compat.h"
#include "method.h"
#include "model_store.h"
#include "recpromo.h"
#include "rerank.h"
#include "rp_batch.h"
#include "rp_fair.h"
#include "rp_session.h"
#include "rp_mips.h"
#include "rp_topk.h"

#define RECPROMO_MAX_N 1000000

/* recpromo.exact_pruning */
typedef enum
{
	PRUNING_AUTO,
	PRUNING_ON,
	PRUNING_OFF
} PruningMode;

static const struct config_enum_entry pruning_options[] = {
	{"auto", PRUNING_AUTO, false},
	{"on", PRUNING_ON, false},
	{"off", PRUNING_OFF, false},
	{NULL, 0, false}
};

static int	recpromo_exact_pruning = PRUNING_AUTO;

/*
 * auto: prune when a probe of the model's own users at load scored at most
 * RECPROMO_PRUNING_MAX_SHARE (method.h) of the items, and give a call up (falling back to the
 * screening pass) after PRUNING_GIVE_UP of the items; on: always prune,
 * never give up (still exact; tests use it on small models); off: never.
 */
#define PRUNING_GIVE_UP 8		/* n_items / 8 */
#define PRUNING_PROBE_USERS 16

void
ServeInit(void)
{
	DefineCustomEnumVariable("recpromo.exact_pruning",
							 "Sets whether recommend() prunes factor models by norm bounds.",
							 "auto prunes models whose item norms allow it, on always, off never; "
							 "results are exact and the same in every mode.",
							 &recpromo_exact_pruning,
							 PRUNING_AUTO, pruning_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

/* A user's history as the model sees it: known row or folded-in rows. */
typedef struct UserView
{
	int32		u;				/* index, or -1 for a folded-in user */
	int32		nhist;
	const int32 *hist;
	const double *vals;
} UserView;

static char *
ModelArg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static int32
CheckN(FunctionCallInfo fcinfo, int argno)
{
	int32		n;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("n must not be null")));
	n = PG_GETARG_INT32(argno);
	if (n < 0 || n > RECPROMO_MAX_N)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 0 and %d", RECPROMO_MAX_N),
				 errdetail("The value given was %d.", n)));
	return n;
}

static void
CheckKeyNotNull(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/* Resolves a user: a known row, or the live history (possibly empty). */
static void
ResolveUser(RecpromoModel *m, Datum key, Oid type, UserView *uv)
{
	uv->u = RecpromoKeysFind(&m->users, key, type);
	if (uv->u >= 0)
	{
		int64		b = m->seen.indptr[uv->u];

		uv->nhist = (int32) (m->seen.indptr[uv->u + 1] - b);
		uv->hist = m->seen.indices + b;
		uv->vals = m->seen.values + b;
	}
	else
	{
		RecpromoSource *src = RecpromoModelSource(m);
		int32	   *ix = NULL;
		double	   *vx = NULL;

		uv->nhist = src ? RecpromoCitusHistoryOrNothing(src, &m->items, key, type, &ix, &vx) : 0;
		uv->hist = ix;
		uv->vals = vx;
	}
}

/* Scores every item for the user; popularity when there is no history. */
static double *
ScoreUser(RecpromoModel *m, const UserView *uv)
{
	double	   *scores = palloc_extended(Max((Size) m->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);

	if (uv->u < 0 && uv->nhist == 0 && !m->method->history_free)
		memcpy(scores, m->item_pop, (Size) m->items.n * sizeof(double));
	else
		m->method->score(m, uv->u, uv->hist, uv->vals, uv->nhist, scores);
	return scores;
}

/* Item indices of the keys in an array (unknown keys and NULLs skipped). */
static int32
ArrayItems(RecpromoModel *m, ArrayType *arr, int32 **out)
{
	Oid			elt = ARR_ELEMTYPE(arr);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int32		k = 0;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("item arrays must be one-dimensional")));
	get_typlenbyvalalign(elt, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elt, typlen, typbyval, typalign, &elems, &nulls, &n);
	*out = palloc(Max(n, 1) * sizeof(int32));
	for (int i = 0; i < n; i++)
	{
		int32		ix;

		if (nulls[i])
			continue;
		ix = RecpromoKeysFind(&m->items, elems[i], elt);
		if (ix >= 0)
			(*out)[k++] = ix;
	}
	return k;
}

/* A filter argument declared "any": it must be an array of keys. */
static ArrayType *
FilterArg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Oid			t = get_fn_expr_argtype(fcinfo->flinfo, argno);

	if (!OidIsValid(t) || !OidIsValid(get_element_type(t)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be an array of item keys, not %s", name,
						OidIsValid(t) ? format_type_be(t) : "unknown"),
				 errhint("Pass an array such as ARRAY[1, 2] or ARRAY['85123A'].")));
	return PG_GETARG_ARRAYTYPE_P(argno);
}

/*
 * Clamps cosine similarities to [-1, 1] (the -INFINITY of excluded entries
 * kept): a cosine computed in floating point can come out as
 * 1.0000000000000002 for parallel vectors, and the cosine functions of
 * similarity.c clamp the same way (rp_cosine.c).
 */
static void
ClampCosines(double *sims, int32 n)
{
	for (int32 j = 0; j < n; j++)
	{
		if (sims[j] > 1.0)
			sims[j] = 1.0;
		else if (sims[j] < -1.0 && sims[j] != -INFINITY)
			sims[j] = -1.0;
	}
}

/*
 * Whether a method's similar_items values are cosines (or blends of values
 * in [-1, 1]); EASE's are regression weights, which may exceed 1.
 */
static bool
ItemSimsAreCosines(const RecpromoMethod *method)
{
	return strcmp(method->name, "ease") != 0 && strcmp(method->name, "sparse_ease") != 0;
}

/* Emits (key, score, rank) rows. */
static void
EmitRanked(FunctionCallInfo fcinfo, const RecpromoKeys *keys, Oid keytype,
		   const int32 *idx, const double *sc, int32 k)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (int32 r = 0; r < k; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = RecpromoKeysGet(keys, idx[r], keytype);
		values[1] = Float8GetDatum(sc[r]);
		values[2] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* The n best eligible entries of scores (length len), with optional allow-list. */
static int32
SelectTop(const double *scores, int32 len, const int32 *only, int32 nonly, bool use_only,
		  int32 n, int32 **idx, double **sc)
{
	int32		cap = Min(n, use_only ? nonly : len);

	*idx = palloc(Max(cap, 1) * sizeof(int32));
	*sc = palloc(Max(cap, 1) * sizeof(double));
	if (use_only)
	{
		/* drop duplicate candidates so each item appears once */
		int32	   *cand = palloc(Max(nonly, 1) * sizeof(int32));
		int32		nc = 0;

		for (int32 a = 0; a < nonly; a++)
		{
			bool		dup = false;

			for (int32 b = 0; b < nc && !dup; b++)
				dup = cand[b] == only[a];
			if (!dup)
				cand[nc++] = only[a];
		}
		return rp_topk_subset(scores, cand, nc, cap, *idx, *sc);
	}
	return rp_topk(scores, len, NULL, cap, *idx, *sc);
}

/*
 * The serving cache of a factor model (m->serving_cache, built on first
 * use, freed with the model): the item factors packed as float for
 * rp_batch_topk_prepared (IEEE half panels on AVX-512 CPUs), so a
 * recommend() call for a known user screens the catalogue with one pass
 * and rescores a few candidates in
 * double (exact results, as rp_batch.c explains) instead of a double
 * matrix-vector product over every item.
 */
typedef struct ServeCache
{
	bool		has_factors;
	RecpromoFactors fx;
	rp_batch_items items;
	void	   *mips;			/* rp_mips index (pointer-free), or NULL */
	double		mips_share;		/* probe: mean share of items scored */
} ServeCache;

void *
RecpromoBuildMips(const RecpromoFactors *fx, int32 n_users, int32 n_items, Size *size,
				  double *share)
{
	size_t		msz = rp_mips_index_size(n_items, fx->factors, fx->item_bias != NULL);
	void	   *mbuf;

	*size = 0;
	*share = 1.0;
	if (msz == 0)
		return NULL;
	mbuf = MemoryContextAllocHuge(CurrentMemoryContext, Max(msz, 8));
	if (rp_mips_build(fx->V, fx->item_bias, n_items, fx->factors, mbuf, msz) != RP_OK)
	{
		pfree(mbuf);
		return NULL;
	}
	*size = msz;
	*share = rp_mips_probe(mbuf, fx->V, fx->item_bias, fx->U, n_users,
						   PRUNING_PROBE_USERS, 10, Max(n_items / PRUNING_GIVE_UP, 1));
	return mbuf;
}

static ServeCache *
GetServeCache(RecpromoModel *m)
{
	ServeCache *c = m->serving_cache;

	if (c == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(m->cxt);

		c = palloc0(sizeof(ServeCache));
		if (m->method->factors != NULL && m->method->factors(m, &c->fx) &&
			c->fx.factors >= 1 && m->batch_items != NULL)
		{
			/* prepared once per server, in the shared image (model_image.c) */
			c->items = *m->batch_items;
			c->has_factors = true;
		}
		else if (m->method->factors != NULL && m->method->factors(m, &c->fx) &&
				 c->fx.factors >= 1)
		{
			rp_batch_input in;
			rp_batch_kernel kern;
			size_t		sz;
			void	   *buf;

			memset(&in, 0, sizeof(in));
			in.n_users = m->users.n;
			in.n_items = m->items.n;
			in.factors = c->fx.factors;
			in.U = c->fx.U;
			in.V = c->fx.V;
			in.item_bias = c->fx.item_bias;
			/* half-precision panels halve the bytes a call reads (exact still) */
			kern = rp_batch_have_avx512() ? RP_BATCH_AVX512_HALF : RP_BATCH_AUTO;
			sz = rp_batch_items_size(&in, kern);
			buf = MemoryContextAllocHuge(m->cxt, Max(sz, 1));
			c->has_factors = sz > 0 &&
				rp_batch_prepare(&in, kern, buf, sz, &c->items) == RP_OK;

			/*
			 * The norm-order index (12 bytes an item plus a copy of the
			 * largest 1/16 of the rows: 9 MB and about 30 ms of CPU at
			 * 200,000 x 64) and how well it prunes this model's own users.
			 * The index is pointer-free, so a shared model image can hold
			 * it as it is.
			 */
			if (c->has_factors)
			{
				Size		msz;

				c->mips = RecpromoBuildMips(&c->fx, in.n_users, in.n_items, &msz,
											&c->mips_share);
			}
		}
		if (c->has_factors && c->mips == NULL && m->mips != NULL)
		{
			/* built once per server, in the shared image, checked at attach */
			c->mips = (void *) m->mips;
			c->mips_share = m->mips_share;
		}
		MemoryContextSwitchTo(old);
		m->serving_cache = c;
	}
	return c;
}

/*
 * The fast top-n of a known user u of a factor model: exclusions (sorted,
 * de-duplicated item indices) and an optional allow-list inside the
 * selection.  Returns the count.
 */
static int32
FactorTopN(RecpromoModel *m, ServeCache *c, const double *urow, const double *ubias,
		   const int32 *excl, int32 nexcl,
		   const unsigned char *allowed, int32 n, int32 *idx, double *sc)
{
	rp_batch_input in;
	int64		indptr[2] = {0, nexcl};
	size_t		rsz;
	void	   *work;
	int32		count = 0;

	if (c->mips != NULL && recpromo_exact_pruning != PRUNING_OFF &&
		(recpromo_exact_pruning == PRUNING_ON || c->mips_share <= RECPROMO_PRUNING_MAX_SHARE))
	{
		rp_mips_query q;

		memset(&q, 0, sizeof(q));
		q.u = urow;
		/* the base of rp_batch.c's reference formula */
		q.base = c->fx.global + (ubias != NULL ? *ubias : 0.0);
		q.excl = excl;
		q.nexcl = nexcl;
		q.allowed = allowed;
		q.max_visit = recpromo_exact_pruning == PRUNING_ON ? 0 :
			Max(m->items.n / PRUNING_GIVE_UP, 1);
		count = rp_mips_topk(c->mips, c->fx.V, c->fx.item_bias, &q, n, idx, sc, NULL);
		if (count >= 0)
			return count;
		count = 0;				/* not pruned: the screening pass */
	}

	memset(&in, 0, sizeof(in));
	in.n_users = 1;
	in.n_items = m->items.n;
	in.factors = c->fx.factors;
	in.U = urow;
	in.V = c->fx.V;
	in.user_bias = ubias;
	in.item_bias = c->fx.item_bias;
	in.global = c->fx.global;
	in.excl_indptr = indptr;
	in.excl_indices = excl;
	in.allowed = allowed;
	rsz = rp_batch_run_size(&in, n, 1, c->items.avx512 ? RP_BATCH_AVX512 : RP_BATCH_SGEMM);
	work = palloc(rsz);
	RecpromoCheckStatus(rp_batch_topk_prepared(&in, &c->items, n, 1, work, rsz,
											   idx, sc, &count, NULL, NULL),
						"recommend");
	pfree(work);
	return count;
}

/* Sorts and de-duplicates item indices in place; returns the new count. */
static int32
SortUnique(int32 *a, int32 n)
{
	int32		w = 0;

	for (int32 i = 1; i < n; i++)
	{
		int32		v = a[i];
		int32		j = i - 1;

		while (j >= 0 && a[j] > v)
		{
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
	for (int32 i = 0; i < n; i++)
		if (w == 0 || a[w - 1] != a[i])
			a[w++] = a[i];
	return w;
}

/* Category ids of the names in a text[] argument (unknown names skipped). */
static bool *
CategorySet(ArrayType *arr, char **names, int32 ncat)
{
	Datum	   *el;
	bool	   *nulls;
	int			n;
	bool	   *set = palloc0(Max(ncat, 1) * sizeof(bool));

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &el, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *s;
		int32		lo = 0;
		int32		hi = ncat;

		if (nulls[i])
			continue;
		s = TextDatumGetCString(el[i]);
		while (lo < hi)
		{
			int32		mid = lo + (hi - lo) / 2;

			if (strcmp(names[mid], s) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < ncat && strcmp(names[lo], s) == 0)
			set[lo] = true;
	}
	return set;
}

/*
 * Item similarities for maximal marginal relevance (recommend(diversity)),
 * one row at a time:
 *	- methods with item similarities use them (similar_items): the cosine of
 *	  the factor vectors for als, als_explicit and factors models, the
 *	  neighbour similarities S(i, j) for item_knn (0 outside the stored
 *	  neighbour lists), the profile cosine for content, the blend for
 *	  hybrid, all clamped to [-1, 1]; EASE's regression weights B[i, j],
 *	  divided by the largest |B[i, j]| of the row so that they lie in
 *	  [-1, 1] too;
 *	- popularity and user_knn have none: the binary cosine of the items'
 *	  training columns, |U_i n U_j| / sqrt(|U_i| |U_j|) (U_i: the training
 *	  users of item i), from the interactions the model stores.
 */
typedef struct SimContext
{
	RecpromoModel *m;
	int64	   *colptr;			/* item -> users (built on first use) */
	int32	   *colusers;
} SimContext;

static void
ItemSimRow(void *arg, int32_t item, double *row)
{
	SimContext *sc = arg;
	RecpromoModel *m = sc->m;
	int32		ni = m->items.n;

	CHECK_FOR_INTERRUPTS();
	if (m->method->similar_items != NULL)
	{
		m->method->similar_items(m, item, row);
		if (ItemSimsAreCosines(m->method))
			ClampCosines(row, ni);
		else
		{
			double		mx = 0.0;

			for (int32 j = 0; j < ni; j++)
				if (j != item && isfinite(row[j]) && fabs(row[j]) > mx)
					mx = fabs(row[j]);
			for (int32 j = 0; j < ni; j++)
				row[j] = mx > 0.0 && isfinite(row[j]) ? row[j] / mx : 0.0;
		}
		for (int32 j = 0; j < ni; j++)
			if (!isfinite(row[j]))
				row[j] = 0.0;
		return;
	}
	if (sc->colptr == NULL)
	{
		const rp_csr *R = &m->seen;
		int64	   *fill;

		sc->colptr = palloc0(((Size) ni + 1) * sizeof(int64));
		sc->colusers = palloc_extended(Max((Size) R->nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
		for (int64 p = 0; p < R->nnz; p++)
			sc->colptr[R->indices[p] + 1]++;
		for (int32 j = 0; j < ni; j++)
			sc->colptr[j + 1] += sc->colptr[j];
		fill = palloc(Max((Size) ni, 1) * sizeof(int64));
		memcpy(fill, sc->colptr, (Size) ni * sizeof(int64));
		for (int32 u = 0; u < R->n_rows; u++)
			for (int64 p = R->indptr[u]; p < R->indptr[u + 1]; p++)
				sc->colusers[fill[R->indices[p]]++] = u;
		pfree(fill);
	}
	memset(row, 0, (Size) ni * sizeof(double));
	for (int64 p = sc->colptr[item]; p < sc->colptr[item + 1]; p++)
	{
		int32		u = sc->colusers[p];

		for (int64 q = m->seen.indptr[u]; q < m->seen.indptr[u + 1]; q++)
			row[m->seen.indices[q]] += 1.0;
	}
	for (int32 j = 0; j < ni; j++)
	{
		double		d = (double) (sc->colptr[item + 1] - sc->colptr[item]) *
			(double) (sc->colptr[j + 1] - sc->colptr[j]);

		row[j] = d > 0.0 ? row[j] / sqrt(d) : 0.0;
	}
}

/* A weight argument in [0, 1], or 0 when NULL or absent. */
static double
UnitArg(FunctionCallInfo fcinfo, int argno, const char *name, const char *hint)
{
	double		v;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return 0.0;
	v = PG_GETARG_FLOAT8(argno);
	if (!(v >= 0.0 && v <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and 1", name),
				 errdetail("The value given was %g.", v),
				 errhint("%s", hint)));
	return v;
}

/* Whether the call asks for the greedy re-ranking (arguments 16..20). */
static bool
WantsGreedy(FunctionCallInfo fcinfo)
{
	for (int a = 16; a <= 20 && a < PG_NARGS(); a++)
		if (!PG_ARGISNULL(a))
			return true;
	return false;
}

/*
 * The customer's category distribution p(c) for calibration: the share of
 * their categorised history items in each category (each item weighs 1).
 * All zero when no history item has a category.
 */
static double *
HistoryCategoryMix(const UserView *uv, const int32 *cat, int32 ncat)
{
	double	   *p = palloc0(Max(ncat, 1) * sizeof(double));
	double		total = 0.0;

	for (int32 h = 0; h < uv->nhist; h++)
		if (cat[uv->hist[h]] >= 0)
		{
			p[cat[uv->hist[h]]] += 1.0;
			total += 1.0;
		}
	for (int32 c = 0; c < ncat && total > 0.0; c++)
		p[c] /= total;
	return p;
}

/*
 * The greedy re-ranking of rp_fair.c over every eligible item: MMR
 * (diversity), calibration, the category cap and a minimum share for a
 * group, together.  cand/candsc: the eligible items in score order.
 */
static int32
GreedyRerank(FunctionCallInfo fcinfo, RecpromoModel *m, const UserView *uv,
			 const int32 *cand, const double *candsc, int32 ncand,
			 const int32 *cat, char **names, int32 ncat, int32 cap, int32 n,
			 int32 **idx, double **sc)
{
	rp_rerank_input in;
	SimContext	simc = {m, NULL, NULL};
	unsigned char *group = NULL;
	int32	   *pos;
	int32		count = 0;
	size_t		wsz;
	void	   *work;

	memset(&in, 0, sizeof(in));
	in.n_items = m->items.n;
	in.n_cand = ncand;
	in.cand = cand;
	in.score = candsc;
	in.cat = cat;
	in.ncat = ncat;
	in.cap = cap;
	in.diversity = UnitArg(fcinfo, 16, "diversity",
						   "diversity is the weight of dissimilarity in maximal marginal relevance, such as 0.3.");
	in.calibration = UnitArg(fcinfo, 17, "calibration",
							 "calibration is the weight of the customer's category mix, such as 0.5.");
	in.min_share = UnitArg(fcinfo, 18, "min_share",
						   "min_share is the least share of the list for the group, such as 0.2.");
	if (in.diversity + in.calibration > 1.0 + 1e-9)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("diversity and calibration must add up to at most 1"),
				 errdetail("diversity is %g, calibration is %g.", in.diversity, in.calibration),
				 errhint("The rest of the weight, 1 - diversity - calibration, goes to the score.")));
	if (in.calibration > 0.0 && cat == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("calibration needs a category table"),
				 errhint("Pass categories => 'my_table'::regclass (with category_item_col and category_col).")));
	if (PG_NARGS() > 20 && !PG_ARGISNULL(20) && cat == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("share_categories needs a category table"),
				 errhint("Pass categories => 'my_table'::regclass, or list the items in share_items.")));
	if ((PG_NARGS() > 19 && !PG_ARGISNULL(19)) || (PG_NARGS() > 20 && !PG_ARGISNULL(20)))
	{
		group = palloc0(Max((Size) m->items.n, 1));
		if (!PG_ARGISNULL(19))
		{
			int32	   *gi;
			int32		ng = ArrayItems(m, FilterArg(fcinfo, 19, "share_items"), &gi);

			for (int32 g = 0; g < ng; g++)
				group[gi[g]] = 1;
		}
		if (PG_NARGS() > 20 && !PG_ARGISNULL(20))
		{
			bool	   *set = CategorySet(PG_GETARG_ARRAYTYPE_P(20), names, ncat);

			for (int32 i = 0; i < m->items.n; i++)
				if (cat[i] >= 0 && set[cat[i]])
					group[i] = 1;
		}
	}
	if (in.min_share > 0.0 && group == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_share needs a group of items"),
				 errhint("Pass share_items => ARRAY[...] or share_categories => ARRAY[...].")));
	if (group != NULL && PG_ARGISNULL(18))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a group of items needs min_share"),
				 errhint("Pass min_share => 0.2 for at least a fifth of the list.")));
	in.group = group;
	if (in.calibration > 0.0)
		in.target = HistoryCategoryMix(uv, cat, ncat);
	if (in.diversity > 0.0)
	{
		in.sim = ItemSimRow;
		in.sim_arg = &simc;
	}
	wsz = rp_rerank_workspace_size(&in);
	work = palloc_extended(wsz, MCXT_ALLOC_HUGE);
	pos = palloc(Max(n, 1) * sizeof(int32));
	RecpromoCheckStatus(rp_rerank_greedy(&in, n, work, wsz, pos, &count), "recommend");
	*idx = palloc(Max(count, 1) * sizeof(int32));
	*sc = palloc(Max(count, 1) * sizeof(double));
	for (int32 r = 0; r < count; r++)
	{
		(*idx)[r] = cand[pos[r]];
		(*sc)[r] = candsc[pos[r]];
	}
	return count;
}

/*
 * Business re-ranking inside the selection: boosts change the scores
 * (score * weight, or score + weight; items without a row keep theirs),
 * category filters make items ineligible, and the per-category cap walks
 * the eligible items best first, skipping an item whose category already
 * has `cap` items in the list (items without a category are not capped).
 * Returns min(n, eligible) rows in a stable order (ties by item index).
 */
static int32
Rerank(FunctionCallInfo fcinfo, RecpromoModel *m, const UserView *uv, double *scores,
	   const int32 *only, int32 nonly, bool add_boost, int32 cap, int32 n, int32 **idx,
	   double **sc)
{
	int32		ni = m->items.n;
	int32	   *cat = NULL;
	char	  **names = NULL;
	int32		ncat = 0;
	int32	   *all_idx;
	double	   *all_sc;
	int32		total;
	int32	   *per_cat;
	int32		k = 0;

	if (!PG_ARGISNULL(6))
	{
		double	   *w = palloc_extended(Max((Size) ni, 1) * sizeof(double), MCXT_ALLOC_HUGE);

		RecpromoReadItemWeights(PG_GETARG_OID(6), NameStr(*PG_GETARG_NAME(7)),
								NameStr(*PG_GETARG_NAME(8)), &m->items, w);
		for (int32 i = 0; i < ni; i++)
			if (!isnan(w[i]) && scores[i] != -INFINITY)
				scores[i] = add_boost ? scores[i] + w[i] : scores[i] * w[i];
	}
	if (!PG_ARGISNULL(10))
	{
		cat = palloc_extended(Max((Size) ni, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
		RecpromoReadItemCategories(PG_GETARG_OID(10), NameStr(*PG_GETARG_NAME(11)),
								   NameStr(*PG_GETARG_NAME(12)), &m->items, cat, &names, &ncat);
		if (!PG_ARGISNULL(14))
		{
			bool	   *keep = CategorySet(PG_GETARG_ARRAYTYPE_P(14), names, ncat);

			for (int32 i = 0; i < ni; i++)
				if (cat[i] < 0 || !keep[cat[i]])
					scores[i] = -INFINITY;
		}
		if (!PG_ARGISNULL(15))
		{
			bool	   *drop = CategorySet(PG_GETARG_ARRAYTYPE_P(15), names, ncat);

			for (int32 i = 0; i < ni; i++)
				if (cat[i] >= 0 && drop[cat[i]])
					scores[i] = -INFINITY;
		}
	}
	if (WantsGreedy(fcinfo))
	{
		total = SelectTop(scores, ni, only, nonly, !PG_ARGISNULL(4), ni, &all_idx, &all_sc);
		return GreedyRerank(fcinfo, m, uv, all_idx, all_sc, total, cat, names, ncat, cap, n,
							idx, sc);
	}
	if (cap == 0)
		return SelectTop(scores, ni, only, nonly, !PG_ARGISNULL(4), n, idx, sc);

	/* the cap: every eligible item in order, then a greedy walk */
	total = SelectTop(scores, ni, only, nonly, !PG_ARGISNULL(4), ni, &all_idx, &all_sc);
	per_cat = palloc0(Max(ncat, 1) * sizeof(int32));
	*idx = palloc(Max(n, 1) * sizeof(int32));
	*sc = palloc(Max(n, 1) * sizeof(double));
	for (int32 r = 0; r < total && k < n; r++)
	{
		int32		c = cat[all_idx[r]];

		if (c >= 0)
		{
			if (per_cat[c] >= cap)
				continue;
			per_cat[c]++;
		}
		(*idx)[k] = all_idx[r];
		(*sc)[k] = all_sc[r];
		k++;
	}
	return k;
}

/*
 * Checks the re-ranking arguments of recommend() and recommend_for_session()
 * (boosts at argument 6..9, categories at 10..15, the same positions in
 * both); sets *add_boost and *cap and returns whether any re-ranking is
 * asked for.
 */
static bool
RerankArgs(FunctionCallInfo fcinfo, bool *add_boost, int32 *cap)
{
	bool		rerank = !PG_ARGISNULL(6) || !PG_ARGISNULL(10) || !PG_ARGISNULL(13) ||
		!PG_ARGISNULL(14) || !PG_ARGISNULL(15);

	*add_boost = false;
	*cap = 0;
	if (!PG_ARGISNULL(6))
	{
		char	   *mode = PG_ARGISNULL(9) ? "multiply" : text_to_cstring(PG_GETARG_TEXT_PP(9));

		if (strcmp(mode, "add") == 0)
			*add_boost = true;
		else if (strcmp(mode, "multiply") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid boost_mode \"%s\"", mode),
					 errhint("Use 'multiply' (score * weight) or 'add' (score + weight).")));
		if (PG_ARGISNULL(7) || PG_ARGISNULL(8))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("boost_item_col and boost_col must not be null")));
	}
	if (!PG_ARGISNULL(13))
	{
		*cap = PG_GETARG_INT32(13);
		if (*cap < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_per_category must be at least 1"),
					 errdetail("The value given was %d.", *cap)));
	}
	if (PG_ARGISNULL(10) && (!PG_ARGISNULL(13) || !PG_ARGISNULL(14) || !PG_ARGISNULL(15)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("category rules need a category table"),
				 errhint("Pass categories => 'my_table'::regclass (with category_item_col and category_col).")));
	if (!PG_ARGISNULL(10) && (PG_ARGISNULL(11) || PG_ARGISNULL(12)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("category_item_col and category_col must not be null")));
	return rerank;
}

/*
 * recommend(user_id anyelement, n, model, exclude_seen, only_items anyarray,
 *			 exclude_items anyarray, boosts regclass, boost_item_col name,
 *			 boost_col name, boost_mode text, categories regclass,
 *			 category_item_col name, category_col name, max_per_category int,
 *			 only_categories text[], exclude_categories text[],
 *			 diversity float8, calibration float8, min_share float8,
 *			 share_items "any", share_categories text[])
 *	  RETURNS TABLE (item, score, rank)
 * The last five (0.3.0) are read only when the SQL declaration has them.
 */
PG_FUNCTION_INFO_V1(recpromo_recommend);
Datum
recpromo_recommend(PG_FUNCTION_ARGS)
{
	Oid			keytype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	int32		n;
	RecpromoModel *m;
	UserView	uv;
	double	   *scores;
	int32	   *only = NULL;
	int32		nonly = 0;
	int32	   *idx;
	double	   *sc;
	int32		k;

	bool		rerank;
	bool		add_boost;
	int32		cap;

	CheckKeyNotNull(fcinfo, 0, "user_id");
	n = CheckN(fcinfo, 1);
	rerank = RerankArgs(fcinfo, &add_boost, &cap) || WantsGreedy(fcinfo);
	/* the re-ranking weights are checked even when n = 0 */
	(void) UnitArg(fcinfo, 16, "diversity",
				   "diversity is the weight of dissimilarity in maximal marginal relevance, such as 0.3.");
	(void) UnitArg(fcinfo, 17, "calibration",
				   "calibration is the weight of the customer's category mix, such as 0.5.");
	(void) UnitArg(fcinfo, 18, "min_share",
				   "min_share is the least share of the list for the group, such as 0.2.");
	InitMaterializedSRF(fcinfo, 0);
	m = RecpromoModelGet(ModelArg(fcinfo, 2));
	if (n == 0)
		return (Datum) 0;

	/*
	 * A factor model: the prepared screening, for a known user with the
	 * stored row, for a new one with the row folded in from the live table.
	 */
	if (n <= RP_BATCH_MAX_K && !rerank)
	{
		int32		u = RecpromoKeysFind(&m->users, PG_GETARG_DATUM(0), keytype);
		ServeCache *c = GetServeCache(m);

		if (c->has_factors && (u >= 0 || m->method->fold_in != NULL))
		{
			bool		seen = PG_ARGISNULL(3) || PG_GETARG_BOOL(3);
			const int32 *hist;
			int32		nhist;
			const double *urow;
			const double *ubias = NULL;
			int32	   *excl;
			int32		nexcl;
			unsigned char *allowed = NULL;

			if (u >= 0)
			{
				int64		b = m->seen.indptr[u];

				hist = m->seen.indices + b;
				nhist = (int32) (m->seen.indptr[u + 1] - b);
				urow = c->fx.U + (Size) u * c->fx.factors;
				ubias = c->fx.user_bias ? c->fx.user_bias + u : NULL;
			}
			else
			{
				ResolveUser(m, PG_GETARG_DATUM(0), keytype, &uv);
				if (uv.nhist == 0)
					goto general;	/* no history: the popularity list */
				hist = uv.hist;
				nhist = uv.nhist;
				urow = palloc(c->fx.factors * sizeof(double));
				m->method->fold_in(m, uv.hist, uv.vals, uv.nhist, (double *) urow);
			}
			nexcl = seen ? nhist : 0;
			excl = (int32 *) hist;
			if (!PG_ARGISNULL(5))
			{
				int32	   *ex;
				int32		nex = ArrayItems(m, FilterArg(fcinfo, 5, "exclude_items"), &ex);

				excl = palloc(Max(nexcl + nex, 1) * sizeof(int32));
				memcpy(excl, hist, nexcl * sizeof(int32));
				memcpy(excl + nexcl, ex, nex * sizeof(int32));
				nexcl = SortUnique(excl, nexcl + nex);
			}
			if (!PG_ARGISNULL(4))
			{
				nonly = ArrayItems(m, FilterArg(fcinfo, 4, "only_items"), &only);
				allowed = palloc0(Max(m->items.n, 1));
				for (int32 a = 0; a < nonly; a++)
					allowed[only[a]] = 1;
			}
			idx = palloc(n * sizeof(int32));
			sc = palloc(n * sizeof(double));
			k = FactorTopN(m, c, urow, ubias, excl, nexcl, allowed, n, idx, sc);
			EmitRanked(fcinfo, &m->items, keytype, idx, sc, k);
			return (Datum) 0;
		}
	}

general:
	ResolveUser(m, PG_GETARG_DATUM(0), keytype, &uv);
	scores = ScoreUser(m, &uv);

	if (PG_ARGISNULL(3) || PG_GETARG_BOOL(3))
		for (int32 h = 0; h < uv.nhist; h++)
			scores[uv.hist[h]] = -INFINITY;
	if (!PG_ARGISNULL(5))
	{
		int32	   *ex;
		int32		nex = ArrayItems(m, FilterArg(fcinfo, 5, "exclude_items"), &ex);

		for (int32 e = 0; e < nex; e++)
			scores[ex[e]] = -INFINITY;
	}
	if (!PG_ARGISNULL(4))
		nonly = ArrayItems(m, FilterArg(fcinfo, 4, "only_items"), &only);

	if (!rerank)
	{
		k = SelectTop(scores, m->items.n, only, nonly, !PG_ARGISNULL(4), n, &idx, &sc);
		EmitRanked(fcinfo, &m->items, keytype, idx, sc, k);
		return (Datum) 0;
	}
	k = Rerank(fcinfo, m, &uv, scores, only, nonly, add_boost, cap, n, &idx, &sc);
	EmitRanked(fcinfo, &m->items, keytype, idx, sc, k);
	return (Datum) 0;
}

/*
 * recommend_for_items(item_ids anyarray, n, model, exclude_input)
 *	  RETURNS TABLE (item anyelement, score, rank)
 * The basket is folded in as a new user who interacted once with each item.
 */
PG_FUNCTION_INFO_V1(recpromo_recommend_for_items);
Datum
recpromo_recommend_for_items(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	Oid			keytype;
	int32		n;
	RecpromoModel *m;
	UserView	uv;
	int32	   *basket;
	int32		nb;
	double	   *vals;
	double	   *scores;
	int32	   *idx;
	double	   *sc;
	int32		k;

	CheckKeyNotNull(fcinfo, 0, "item_ids");
	n = CheckN(fcinfo, 1);
	arr = PG_GETARG_ARRAYTYPE_P(0);
	keytype = ARR_ELEMTYPE(arr);
	InitMaterializedSRF(fcinfo, 0);
	m = RecpromoModelGet(ModelArg(fcinfo, 2));
	nb = ArrayItems(m, arr, &basket);

	/* sort and de-duplicate: the history contract wants ascending indices */
	for (int32 a = 1; a < nb; a++)
	{
		int32		v = basket[a];
		int32		b = a - 1;

		while (b >= 0 && basket[b] > v)
		{
			basket[b + 1] = basket[b];
			b--;
		}
		basket[b + 1] = v;
	}
	{
		int32		w = 0;

		for (int32 a = 0; a < nb; a++)
			if (w == 0 || basket[w - 1] != basket[a])
				basket[w++] = basket[a];
		nb = w;
	}
	vals = palloc(Max(nb, 1) * sizeof(double));
	for (int32 a = 0; a < nb; a++)
		vals[a] = 1.0;
	uv.u = -1;
	uv.nhist = nb;
	uv.hist = basket;
	uv.vals = vals;
	scores = ScoreUser(m, &uv);
	if (PG_ARGISNULL(3) || PG_GETARG_BOOL(3))
		for (int32 a = 0; a < nb; a++)
			scores[basket[a]] = -INFINITY;
	k = SelectTop(scores, m->items.n, NULL, 0, false, n, &idx, &sc);
	EmitRanked(fcinfo, &m->items, keytype, idx, sc, k);
	return (Datum) 0;
}

/*
 * recommend_for_session(items anyarray, n, model, exclude_input,
 *						 only_items, exclude_items, boosts ..., categories ...)
 *	  RETURNS TABLE (item anyelement, score, rank)
 * The session (most recent item last) is scored as a new user whose items
 * weigh by recency (rp_session_weights: p / L, the latest 1; unknown items
 * and NULLs skipped); an empty session, or one of unknown items only, gets
 * the popularity list.  Filters, boosts and category rules as recommend().
 */
PG_FUNCTION_INFO_V1(recpromo_recommend_for_session);
Datum
recpromo_recommend_for_session(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	Oid			keytype;
	int32		n;
	RecpromoModel *m;
	UserView	uv;
	int32	   *seq;
	int32		nseq;
	int32	   *hist;
	double	   *w;
	unsigned char *mark;
	double	   *scores;
	int32	   *only = NULL;
	int32		nonly = 0;
	int32	   *idx;
	double	   *sc;
	int32		k;
	bool		rerank;
	bool		add_boost;
	int32		cap;

	CheckKeyNotNull(fcinfo, 0, "items");
	n = CheckN(fcinfo, 1);
	rerank = RerankArgs(fcinfo, &add_boost, &cap);
	arr = PG_GETARG_ARRAYTYPE_P(0);
	keytype = ARR_ELEMTYPE(arr);
	InitMaterializedSRF(fcinfo, 0);
	m = RecpromoModelGet(ModelArg(fcinfo, 2));
	if (n == 0)
		return (Datum) 0;
	nseq = ArrayItems(m, arr, &seq);
	hist = palloc(Max(nseq, 1) * sizeof(int32));
	w = palloc(Max(nseq, 1) * sizeof(double));
	mark = palloc0(Max((Size) m->items.n, 1));
	uv.u = -1;
	uv.nhist = rp_session_weights(seq, nseq, m->items.n, hist, w, mark);
	uv.hist = hist;
	uv.vals = w;
	scores = ScoreUser(m, &uv);
	if (PG_ARGISNULL(3) || PG_GETARG_BOOL(3))
		for (int32 h = 0; h < uv.nhist; h++)
			scores[hist[h]] = -INFINITY;
	if (!PG_ARGISNULL(5))
	{
		int32	   *ex;
		int32		nex = ArrayItems(m, FilterArg(fcinfo, 5, "exclude_items"), &ex);

		for (int32 e = 0; e < nex; e++)
			scores[ex[e]] = -INFINITY;
	}
	if (!PG_ARGISNULL(4))
		nonly = ArrayItems(m, FilterArg(fcinfo, 4, "only_items"), &only);
	if (!rerank)
		k = SelectTop(scores, m->items.n, only, nonly, !PG_ARGISNULL(4), n, &idx, &sc);
	else
		k = Rerank(fcinfo, m, &uv, scores, only, nonly, add_boost, cap, n, &idx, &sc);
	EmitRanked(fcinfo, &m->items, keytype, idx, sc, k);
	return (Datum) 0;
}

/* similar_items(item_id anyelement, n, model) RETURNS TABLE (item, similarity, rank) */
PG_FUNCTION_INFO_V1(recpromo_similar_items);
Datum
recpromo_similar_items(PG_FUNCTION_ARGS)
{
	Oid			keytype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	int32		n;
	RecpromoModel *m;
	int32		i;
	double	   *sims;
	int32	   *idx;
	double	   *sc;
	int32		k;

	CheckKeyNotNull(fcinfo, 0, "item_id");
	n = CheckN(fcinfo, 1);
	InitMaterializedSRF(fcinfo, 0);
	m = RecpromoModelGet(ModelArg(fcinfo, 2));
	if (m->method->similar_items == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("method \"%s\" of model \"%s\" has no item similarities",
						m->method->name, m->row.name),
				 errhint("Use a model trained with a neighbourhood or factor method.")));
	i = RecpromoKeysFind(&m->items, PG_GETARG_DATUM(0), keytype);
	if (i < 0)
		return (Datum) 0;		/* unknown item: no neighbours (documented) */
	sims = palloc_extended(Max((Size) m->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	m->method->similar_items(m, i, sims);
	if (ItemSimsAreCosines(m->method))
		ClampCosines(sims, m->items.n);
	sims[i] = -INFINITY;
	k = SelectTop(sims, m->items.n, NULL, 0, false, n, &idx, &sc);
	EmitRanked(fcinfo, &m->items, keytype, idx, sc, k);
	return (Datum) 0;
}

/* similar_users(user_id anyelement, n, model) RETURNS TABLE (neighbour, similarity, rank) */
PG_FUNCTION_INFO_V1(recpromo_similar_users);
Datum
recpromo_similar_users(PG_FUNCTION_ARGS)
{
	Oid			keytype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	int32		n;
	RecpromoModel *m;
	UserView	uv;
	double	   *sims;
	int32	   *idx;
	double	   *sc;
	int32		k;

	CheckKeyNotNull(fcinfo, 0, "user_id");
	n = CheckN(fcinfo, 1);
	InitMaterializedSRF(fcinfo, 0);
	m = RecpromoModelGet(ModelArg(fcinfo, 2));
	RecpromoCheckListUsers(m->row.name);
	if (m->method->similar_users == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("method \"%s\" of model \"%s\" has no user similarities",
						m->method->name, m->row.name),
				 errhint("Use a model trained with a neighbourhood or factor method.")));
	ResolveUser(m, PG_GETARG_DATUM(0), keytype, &uv);
	if (uv.u < 0 && uv.nhist == 0)
		return (Datum) 0;		/* nothing known about the user */
	sims = palloc_extended(Max((Size) m->users.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	m->method->similar_users(m, uv.u, uv.hist, uv.vals, uv.nhist, sims);
	/* every method's user similarities are cosines */
	ClampCosines(sims, m->users.n);
	if (uv.u >= 0)
		sims[uv.u] = -INFINITY;
	k = SelectTop(sims, m->users.n, NULL, 0, false, n, &idx, &sc);
	EmitRanked(fcinfo, &m->users, keytype, idx, sc, k);
	return (Datum) 0;
}

/* predict(user_id anyelement, item_id anyelement, model) RETURNS float8 */
PG_FUNCTION_INFO_V1(recpromo_predict);
Datum
recpromo_predict(PG_FUNCTION_ARGS)
{
	Oid			keytype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	RecpromoModel *m;
	UserView	uv;
	int32		i;
	double	   *scores;

	CheckKeyNotNull(fcinfo, 0, "user_id");
	CheckKeyNotNull(fcinfo, 1, "item_id");
	m = RecpromoModelGet(ModelArg(fcinfo, 2));
	i = RecpromoKeysFind(&m->items, PG_GETARG_DATUM(1), get_fn_expr_argtype(fcinfo->flinfo, 1));
	if (i < 0)
		PG_RETURN_NULL();		/* the model knows nothing of this item */
	ResolveUser(m, PG_GETARG_DATUM(0), keytype, &uv);
	if (uv.u < 0 && uv.nhist == 0 && !m->method->history_free)
	{
		/*
		 * Nothing known about the user: the model's baseline when it has one
		 * (the score of an empty history, e.g. mu + c_i for als_explicit),
		 * else NULL.  Not the popularity count recommend() ranks by: that is
		 * a list order, not a prediction on the model's scale.
		 */
		if (!m->method->has_baseline)
			PG_RETURN_NULL();
		scores = palloc_extended(Max((Size) m->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
		m->method->score(m, -1, NULL, NULL, 0, scores);
	}
	else
		scores = ScoreUser(m, &uv);
	PG_RETURN_FLOAT8(scores[i]);
}

/*
 * explain_recommendation(user_id anyelement, item_id anyelement, model)
 *	  RETURNS TABLE (history_item anyelement, contribution float8, rank int)
 */
PG_FUNCTION_INFO_V1(recpromo_explain_recommendation);
Datum
recpromo_explain_recommendation(PG_FUNCTION_ARGS)
{
	Oid			keytype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	RecpromoModel *m;
	UserView	uv;
	int32		i;
	double	   *contrib;
	int32	   *order;
	double	   *sc;
	int32		k;
	int32	   *hist_idx;

	CheckKeyNotNull(fcinfo, 0, "user_id");
	CheckKeyNotNull(fcinfo, 1, "item_id");
	InitMaterializedSRF(fcinfo, 0);
	m = RecpromoModelGet(ModelArg(fcinfo, 2));
	if (m->method->explain == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("method \"%s\" of model \"%s\" cannot explain its scores",
						m->method->name, m->row.name),
				 errhint("Popularity scores do not depend on the user's history.")));
	i = RecpromoKeysFind(&m->items, PG_GETARG_DATUM(1), get_fn_expr_argtype(fcinfo->flinfo, 1));
	if (i < 0)
		return (Datum) 0;
	ResolveUser(m, PG_GETARG_DATUM(0), keytype, &uv);
	if (uv.nhist == 0)
		return (Datum) 0;
	contrib = palloc(uv.nhist * sizeof(double));
	m->method->explain(m, uv.u, uv.hist, uv.vals, uv.nhist, i, contrib);
	/* rank history entries by contribution (positions, then map to items) */
	order = palloc(uv.nhist * sizeof(int32));
	sc = palloc(uv.nhist * sizeof(double));
	k = rp_topk(contrib, uv.nhist, NULL, uv.nhist, order, sc);
	hist_idx = palloc(Max(k, 1) * sizeof(int32));
	for (int32 r = 0; r < k; r++)
		hist_idx[r] = uv.hist[order[r]];
	EmitRanked(fcinfo, &m->items, keytype, hist_idx, sc, k);
	return (Datum) 0;
}
