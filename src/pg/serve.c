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
 * dictionary.
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

#include "compat.h"
#include "method.h"
#include "recpromo.h"
#include "rerank.h"
#include "rp_batch.h"
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
 * PRUNING_MAX_SHARE of the items, and give a call up (falling back to the
 * screening pass) after PRUNING_GIVE_UP of the items; on: always prune,
 * never give up (still exact; tests use it on small models); off: never.
 */
#define PRUNING_MAX_SHARE 0.05
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

		uv->nhist = src ? RecpromoReadUserHistory(src, &m->items, key, type, &ix, &vx) : 0;
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
	return strcmp(method->name, "ease") != 0;
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

static ServeCache *
GetServeCache(RecpromoModel *m)
{
	ServeCache *c = m->serving_cache;

	if (c == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(m->cxt);

		c = palloc0(sizeof(ServeCache));
		if (m->method->factors != NULL && m->method->factors(m, &c->fx) &&
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
				size_t		msz = rp_mips_index_size(in.n_items, in.factors, in.item_bias != NULL);
				void	   *mbuf = MemoryContextAllocHuge(m->cxt, Max(msz, 8));

				if (rp_mips_build(in.V, in.item_bias, in.n_items, in.factors, mbuf, msz) == RP_OK)
				{
					c->mips = mbuf;
					c->mips_share = rp_mips_probe(mbuf, in.V, in.item_bias, in.U, in.n_users,
												  PRUNING_PROBE_USERS, 10,
												  Max(in.n_items / PRUNING_GIVE_UP, 1));
				}
				else
					pfree(mbuf);
			}
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
		(recpromo_exact_pruning == PRUNING_ON || c->mips_share <= PRUNING_MAX_SHARE))
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
 * Business re-ranking inside the selection: boosts change the scores
 * (score * weight, or score + weight; items without a row keep theirs),
 * category filters make items ineligible, and the per-category cap walks
 * the eligible items best first, skipping an item whose category already
 * has `cap` items in the list (items without a category are not capped).
 * Returns min(n, eligible) rows in a stable order (ties by item index).
 */
static int32
Rerank(FunctionCallInfo fcinfo, RecpromoModel *m, double *scores, const int32 *only,
	   int32 nonly, bool add_boost, int32 cap, int32 n, int32 **idx, double **sc)
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
 * recommend(user_id anyelement, n, model, exclude_seen, only_items anyarray,
 *			 exclude_items anyarray, boosts regclass, boost_item_col name,
 *			 boost_col name, boost_mode text, categories regclass,
 *			 category_item_col name, category_col name, max_per_category int,
 *			 only_categories text[], exclude_categories text[])
 *	  RETURNS TABLE (item, score, rank)
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
	bool		add_boost = false;
	int32		cap = 0;

	CheckKeyNotNull(fcinfo, 0, "user_id");
	n = CheckN(fcinfo, 1);
	rerank = !PG_ARGISNULL(6) || !PG_ARGISNULL(10) || !PG_ARGISNULL(13) ||
		!PG_ARGISNULL(14) || !PG_ARGISNULL(15);
	if (!PG_ARGISNULL(6))
	{
		char	   *mode = PG_ARGISNULL(9) ? "multiply" : text_to_cstring(PG_GETARG_TEXT_PP(9));

		if (strcmp(mode, "add") == 0)
			add_boost = true;
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
		cap = PG_GETARG_INT32(13);
		if (cap < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_per_category must be at least 1"),
					 errdetail("The value given was %d.", cap)));
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
	k = Rerank(fcinfo, m, scores, only, nonly, add_boost, cap, n, &idx, &sc);
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
