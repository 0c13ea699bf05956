/*
 * method_content.c
 *	  The `content` method: recommendations from item attributes, so new
 *	  products are recommendable on their first day.
 *
 * Attributes come from a second table (params "attributes", a
 * schema-qualified table name; "attribute_key", its item key column, by
 * default the source's item column name; "attribute_columns", the columns
 * to use), read through SPI with the caller's rights.  Each value becomes
 * tokens, by column type:
 *	- text (and other non-numeric scalars through their text form): the
 *	  whole value, lowercased and trimmed ("category=garden"), plus, with
 *	  "words" (default true), each word of two or more letters or digits of
 *	  a value with several words ("description:heart") - product names and
 *	  descriptions are bags of words;
 *	- arrays: one token per element ("tags=vintage");
 *	- numbers: the quantile bucket of the value among the table's non-null
 *	  values, ntile("buckets", default 5) ("price#2"): price bands.
 * Items are documents and tokens terms: the item x token counts are TF-IDF
 * weighted (rp_knn_weight: w = tf * (ln((1 + N) / (1 + df)) + 1), N items)
 * and each item vector v_i scaled to unit length.
 *
 * Items of the attribute table that have no interactions are added to the
 * model's item dictionary (the framework stores the widened dictionary):
 * that is what makes them recommendable at once.  Items with interactions
 * but no attributes have a zero vector and score 0.
 *
 * Serving: a user's profile is p_u = sum over history items i of r_ui v_i;
 * score(u, j) = p_u . v_j / |p_u| (the cosine of profile and item, since
 * |v_j| = 1; 0 for a zero profile); similar_items(i) = v_i . v_j, only
 * items sharing a token; explain: contrib_i = r_ui (v_i . v_j) / |p_u|,
 * which sum to the score.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"

#include "method.h"
#include "model_validate.h"
#include "recpromo.h"
#include "spi_guard.h"
#include "rp_knn.h"

#define CONTENT_FETCH_ROWS 10000
#define CONTENT_TOKEN_LEN 128
#define CONTENT_MAX_COLUMNS 64

typedef struct ContentState
{
	rp_csr		V;				/* items x tokens, unit rows */
	rp_csr		VT;				/* tokens x items */
	int32		n_tokens;
} ContentState;

typedef struct TokenEntry
{
	char		token[CONTENT_TOKEN_LEN];	/* hash key */
	int32		id;
} TokenEntry;

/* What ContentTrain's read of (key, token) rows fills (TokenRow). */
typedef struct TokenRead
{
	RecpromoKeyBag *bag;		/* item keys, in row order */
	Oid			keytype;		/* of the attribute key column */
	HTAB	   *tokens;			/* token -> id */
	int32	   *n_tokens;
	int32	  **tok_ids;		/* token id of each row */
	int64	   *cap;
	int64	   *nrows;
} TokenRead;

/*
 * One (key, token) row: rows with a NULL are skipped; a long token is cut
 * at a character boundary; the token gets the next id when new.
 */
static void
TokenRow(HeapTuple tup, TupleDesc td, void *arg)
{
	TokenRead  *tr = arg;
	bool		nk;
	bool		nt;
	Datum		kd = SPI_getbinval(tup, td, 1, &nk);
	Datum		tv = SPI_getbinval(tup, td, 2, &nt);
	char		buf[CONTENT_TOKEN_LEN];
	char	   *s;
	TokenEntry *te;
	bool		found;

	if (nk || nt)
		return;
	s = TextDatumGetCString(tv);
	strlcpy(buf, s, sizeof(buf));
	buf[pg_mbcliplen(buf, strlen(buf), sizeof(buf) - 1)] = '\0';
	pfree(s);
	te = hash_search(tr->tokens, buf, HASH_ENTER, &found);
	if (!found)
		te->id = (*tr->n_tokens)++;
	if (*tr->nrows == *tr->cap)
	{
		*tr->cap *= 2;
		*tr->tok_ids = repalloc_huge(*tr->tok_ids, *tr->cap * sizeof(int32));
	}
	(*tr->tok_ids)[(*tr->nrows)++] = te->id;
	RecpromoKeyBagAdd(tr->bag, kd,
					  RecpromoKeyClassFor(tr->keytype) == RECPROMO_KEY_INT ? INT8OID : TEXTOID);
}

/* ---------- free-form hyper-parameters (strings and arrays) ---------- */

static char *
ContentParamString(RecpromoTrainState *ts, const char *name, const char *def)
{
	JsonbValue *v = RecpromoParamLookup(ts, name);
	char	   *r = def ? pstrdup(def) : NULL;
	StringInfoData q;

	if (v != NULL && v->type != jbvNull)
	{
		if (v->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyper-parameter \"%s\" must be a string", name)));
		r = pnstrdup(v->val.string.val, v->val.string.len);
	}
	if (r == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"content\" needs the hyper-parameter \"%s\"", name),
				 errhint("Use recpromo.train_content(), or pass params => '{\"attributes\": \"public.products\", \"attribute_columns\": [\"category\"]}'.")));
	initStringInfo(&q);
	escape_json(&q, r);
	RecpromoParamRecord(ts, name, q.data);
	return r;
}

/* A non-empty JSON array of strings, as a List of C strings. */
static List *
ContentParamNames(RecpromoTrainState *ts, const char *name)
{
	JsonbValue *v = RecpromoParamLookup(ts, name);
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	List	   *out = NIL;
	StringInfoData q;
	ListCell   *lc;

	if (v == NULL || v->type == jbvNull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"content\" needs the hyper-parameter \"%s\"", name),
				 errhint("Name the attribute columns, e.g. \"%s\": [\"category\", \"brand\"].", name)));
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyper-parameter \"%s\" must be an array of column names", name)));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (e.type != jbvString || e.val.string.len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyper-parameter \"%s\" must be an array of column names", name)));
		out = lappend(out, pnstrdup(e.val.string.val, e.val.string.len));
	}
	if (out == NIL || list_length(out) > CONTENT_MAX_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyper-parameter \"%s\" must name between 1 and %d columns",
						name, CONTENT_MAX_COLUMNS)));
	initStringInfo(&q);
	appendStringInfoChar(&q, '[');
	foreach(lc, out)
	{
		if (q.len > 1)
			appendStringInfoString(&q, ", ");
		escape_json(&q, (char *) lfirst(lc));
	}
	appendStringInfoChar(&q, ']');
	RecpromoParamRecord(ts, name, q.data);
	return out;
}

/* ---------- reading the attribute table ---------- */

static int
cmp_token(const void *a, const void *b)
{
	return strcmp((*(TokenEntry *const *) a)->token, (*(TokenEntry *const *) b)->token);
}

/*
 * The query yielding (key, token) rows, one branch per column.  Column names
 * go through quote_identifier, token prefixes as parameters $1..$n; every
 * function, operator and type is qualified with pg_catalog and the query
 * runs under spi_guard.c's forced search_path.
 */
static char *
TokenQuery(Oid relid, const char *relname, const char *key, Oid keytype, List *cols,
		   int buckets, bool words, Datum *prefixes)
{
	StringInfoData q;
	ListCell   *lc;
	int			c = 0;
	const char *k = RecpromoKeyCastSql(key, keytype);

	initStringInfo(&q);
	appendStringInfo(&q, "SELECT k, t FROM (");
	foreach(lc, cols)
	{
		const char *col = lfirst(lc);
		const char *qc = quote_identifier(col);
		AttrNumber	att = get_attnum(relid, col);
		Oid			type;
		char		cat;

		if (att == InvalidAttrNumber || att < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist", col, get_rel_name(relid)),
					 errhint("Name the attribute columns of the attribute table.")));
		type = get_atttype(relid, att);
		cat = TypeCategory(type);
		prefixes[c] = CStringGetTextDatum(col);
		if (c > 0)
			appendStringInfoString(&q, " UNION ALL ");
		if (OidIsValid(get_element_type(type)))
			appendStringInfo(&q,
							 "SELECT %s AS k, $%d OPERATOR(pg_catalog.||) '=' OPERATOR(pg_catalog.||) "
							 "pg_catalog.lower(pg_catalog.btrim(e::pg_catalog.text)) AS t "
							 "FROM %s, pg_catalog.unnest(%s) e WHERE e IS NOT NULL",
							 k, c + 1, relname, qc);
		else if (cat == TYPCATEGORY_NUMERIC)
			appendStringInfo(&q,
							 "SELECT %s AS k, $%d OPERATOR(pg_catalog.||) '#' OPERATOR(pg_catalog.||) "
							 "pg_catalog.ntile(%d) OVER (ORDER BY %s) AS t "
							 "FROM %s WHERE %s IS NOT NULL "
							 "AND %s::pg_catalog.float8 OPERATOR(pg_catalog.<>) 'NaN'::pg_catalog.float8",
							 k, c + 1, buckets, qc, relname, qc, qc);
		else
		{
			appendStringInfo(&q,
							 "SELECT %s AS k, $%d OPERATOR(pg_catalog.||) '=' OPERATOR(pg_catalog.||) "
							 "pg_catalog.lower(pg_catalog.btrim(%s::pg_catalog.text)) AS t "
							 "FROM %s WHERE %s IS NOT NULL",
							 k, c + 1, qc, relname, qc);
			if (words)
				appendStringInfo(&q,
								 " UNION ALL SELECT %s AS k, $%d OPERATOR(pg_catalog.||) ':' "
								 "OPERATOR(pg_catalog.||) w AS t "
								 "FROM %s, pg_catalog.regexp_split_to_table("
								 "pg_catalog.lower(%s::pg_catalog.text), '[^[:alnum:]]+') w "
								 "WHERE %s::pg_catalog.text OPERATOR(pg_catalog.~) "
								 "'[[:alnum:]][^[:alnum:]]+[[:alnum:]]' "
								 "AND pg_catalog.length(w) OPERATOR(pg_catalog.>=) 2",
								 k, c + 1, relname, qc, qc);
		}
		c++;
	}
	appendStringInfo(&q, ") s WHERE k IS NOT NULL");
	return q.data;
}

static void
ContentTrain(RecpromoTrainState *ts)
{
	char	   *attr_name = ContentParamString(ts, "attributes", NULL);
	char	   *key = ContentParamString(ts, "attribute_key", ts->src.item_col);
	List	   *cols = ContentParamNames(ts, "attribute_columns");
	int			buckets = RecpromoParamInt(ts, "buckets", 5, 1, 1000);
	bool		words = RecpromoParamBool(ts, "words", true);
	Oid			relid;
	char	   *relname;
	AttrNumber	katt;
	Oid			keytype;
	char	   *sql;
	Datum	   *prefixes;
	Oid		   *argtypes;
	int			ncols = list_length(cols);
	MemoryContext outer = CurrentMemoryContext;
	RecpromoKeyBag bag;
	int64		nrows = 0;
	int64		cap = 1024;
	int32	   *tok_ids;
	HTAB	   *tokens;
	HASHCTL		hctl;
	int32		n_tokens = 0;
	RecpromoInteractions *d = &ts->data;
	int32		n_old = d->items.n;
	int32	   *rowidx;
	RecpromoKeys newkeys;
	int32	   *remap;
	rp_csr		V;
	void	   *work;
	double	   *ones;
	int32	   *rows;
	int			spi;

	/*
	 * The attribute table, resolved by name (schema-qualify it) under the
	 * same search_path as train() runs with, even when _train is called
	 * directly.
	 */
	spi = RecpromoForceSearchPath();
	relid = DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(attr_name)));
	RecpromoRestoreSearchPath(spi);
	relname = RecpromoQualifiedRelation(relid);
	katt = get_attnum(relid, key);
	if (katt == InvalidAttrNumber || katt < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", key, get_rel_name(relid)),
				 errhint("Set \"attribute_key\" to the item key column of the attribute table.")));
	keytype = get_atttype(relid, katt);
	if (RecpromoKeyClassFor(keytype) != d->items.kclass)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("attribute key column \"%s\" is of type %s, but the item keys are of type %s",
						key, format_type_be(keytype), format_type_be(d->items.type)),
				 errhint("Use key columns of the same kind (integers or text), or cast one in a view.")));

	prefixes = palloc(ncols * sizeof(Datum));
	argtypes = palloc(ncols * sizeof(Oid));
	for (int c = 0; c < ncols; c++)
		argtypes[c] = TEXTOID;
	sql = TokenQuery(relid, relname, key, keytype, cols, buckets, words, prefixes);

	/* read (key, token) rows; keys into a bag, tokens into a hash */
	RecpromoKeyBagInit(&bag, d->items.type);
	for (int32 i = 0; i < n_old; i++)
		RecpromoKeyBagAdd(&bag, RecpromoKeysGet(&d->items, i, d->items.type), d->items.type);
	tok_ids = palloc(cap * sizeof(int32));
	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = CONTENT_TOKEN_LEN;
	hctl.entrysize = sizeof(TokenEntry);
	hctl.hcxt = outer;
	tokens = hash_create("recpromo content tokens", 1024, &hctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	{
		TokenRead	tr = {&bag, keytype, tokens, &n_tokens, &tok_ids, &cap, &nrows};

		RecpromoSpiForEachRow(sql, ncols, argtypes, prefixes, CONTENT_FETCH_ROWS, outer,
							  TokenRow, &tr);
	}

	if (n_tokens == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("attribute table \"%s\" gave no attribute values", relname),
				 errhint("Check \"attribute_columns\" and that the caller can read the rows.")));

	/* token ids in sorted token order, so the model does not depend on row order */
	{
		TokenEntry **all = palloc(n_tokens * sizeof(TokenEntry *));
		HASH_SEQ_STATUS hs;
		TokenEntry *te;
		int32		t = 0;

		remap = palloc(n_tokens * sizeof(int32));
		hash_seq_init(&hs, tokens);
		while ((te = hash_seq_search(&hs)) != NULL)
			all[t++] = te;
		qsort(all, n_tokens, sizeof(TokenEntry *), cmp_token);
		for (t = 0; t < n_tokens; t++)
			remap[all[t]->id] = t;
		for (int64 r = 0; r < nrows; r++)
			tok_ids[r] = remap[tok_ids[r]];
		pfree(all);
		pfree(remap);
	}

	/* widen the item dictionary with items known only from their attributes */
	rowidx = palloc_extended(Max((Size) bag.n, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	RecpromoKeysFinish(&bag, &newkeys, rowidx);
	for (int64 p = 0; p < d->R.nnz; p++)
		d->R.indices[p] = rowidx[d->R.indices[p]];	/* monotone: rows stay sorted */
	d->R.n_cols = newkeys.n;
	d->items = newkeys;

	/* items x tokens counts, TF-IDF, unit rows */
	rows = palloc_extended(Max((Size) nrows, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	ones = palloc_extended(Max((Size) nrows, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	for (int64 r = 0; r < nrows; r++)
	{
		rows[r] = rowidx[n_old + r];
		ones[r] = 1.0;
	}
	RecpromoCheckMemory((double) nrows * 40.0 + (double) newkeys.n * 16.0, "content training");
	V.indptr = palloc_extended(((Size) newkeys.n + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	V.indices = palloc_extended(Max((Size) nrows, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	V.values = palloc_extended(Max((Size) nrows, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	work = palloc_extended(rp_csr_from_coo_workspace(newkeys.n), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_csr_from_coo(newkeys.n, n_tokens, nrows, rows, tok_ids, ones, &V, work),
						"content training");
	pfree(work);
	work = palloc_extended(rp_knn_weight_workspace_size(&V), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_knn_weight(&V, RP_KNN_WEIGHT_TFIDF, 0, 0, V.values, work),
						"content training");
	pfree(work);
	for (int32 i = 0; i < V.n_rows; i++)
	{
		double		s = 0.0;

		for (int64 p = V.indptr[i]; p < V.indptr[i + 1]; p++)
			s += V.values[p] * V.values[p];
		s = sqrt(s);
		for (int64 p = V.indptr[i]; p < V.indptr[i + 1]; p++)
			V.values[p] /= s;
	}
	RecpromoParamRecord(ts, "n_tokens", psprintf("%d", n_tokens));
	RecpromoPartsAdd(&ts->parts, "content_indptr", V.indptr, ((Size) V.n_rows + 1) * sizeof(int64));
	RecpromoPartsAdd(&ts->parts, "content_indices", V.indices, (Size) V.nnz * sizeof(int32));
	RecpromoPartsAdd(&ts->parts, "content_values", V.values, (Size) V.nnz * sizeof(double));
}

static void
ContentLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	ContentState *st = palloc(sizeof(ContentState));
	rp_csr	   *V = &st->V;
	int32		n = m->items.n;
	const char *reason = NULL;
	int32		nt = (int32) RecpromoModelParamChecked(m, "n_tokens", 0, 0, PG_INT32_MAX - 1);

	/*
	 * Rows sorted by token (RowDot merges two rows).  Every token comes from
	 * at least one item, so there are no more tokens than entries: that
	 * bounds the dense profile serving allocates.
	 */
	RecpromoModelCsr(parts, m->row.name, "content", n, nt, true, V);
	if (nt > V->nnz)
		RecpromoModelCorrupt(m->row.name, "content_indices",
							 "has fewer entries than the model has tokens");
	/* unit rows: profiles and dot products stay far from overflow */
	RecpromoModelCheck(rp_validate_unit_rows(V, &reason), m->row.name, "content_values", reason);
	st->n_tokens = nt;
	st->VT.indptr = palloc_extended(((Size) nt + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	st->VT.indices = palloc_extended(Max((Size) V->nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	st->VT.values = palloc_extended(Max((Size) V->nnz, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_csr_transpose(V, &st->VT), "loading the model");
	m->state = st;
}

/* p = sum_h vals[h] v_hist[h] (dense over tokens); returns |p| */
static double
Profile(const ContentState *st, const int32 *hist, const double *vals, int32 nhist, double *p)
{
	double		s = 0.0;

	memset(p, 0, Max((Size) st->n_tokens, 1) * sizeof(double));
	for (int32 h = 0; h < nhist; h++)
		for (int64 q = st->V.indptr[hist[h]]; q < st->V.indptr[hist[h] + 1]; q++)
			p[st->V.indices[q]] += vals[h] * st->V.values[q];
	for (int32 t = 0; t < st->n_tokens; t++)
		s += p[t] * p[t];
	return sqrt(s);
}

static void
ContentScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			 int32 nhist, double *scores)
{
	const ContentState *st = m->state;
	double	   *p = palloc_extended(Max((Size) st->n_tokens, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	double		norm = Profile(st, hist, vals, nhist, p);

	for (int32 j = 0; j < m->items.n; j++)
	{
		double		s = 0.0;

		if (norm > 0.0)
			for (int64 q = st->V.indptr[j]; q < st->V.indptr[j + 1]; q++)
				s += p[st->V.indices[q]] * st->V.values[q];
		scores[j] = norm > 0.0 ? s / norm : 0.0;
	}
	pfree(p);
}

static void
ContentSimilarItems(const RecpromoModel *m, int32 i, double *sims)
{
	const ContentState *st = m->state;
	int64		b = st->V.indptr[i];

	memset(sims, 0, (Size) m->items.n * sizeof(double));
	rp_csr_spmv_sparse(&st->VT, st->V.indices + b, st->V.values + b,
					   (int32) (st->V.indptr[i + 1] - b), sims);
	/* only items that share a token */
	for (int32 j = 0; j < m->items.n; j++)
		if (!(sims[j] > 0.0))
			sims[j] = -INFINITY;
}

/* v_a . v_b by merging two sorted rows */
static double
RowDot(const rp_csr *V, int32 a, int32 b)
{
	int64		p = V->indptr[a];
	int64		q = V->indptr[b];
	double		s = 0.0;

	while (p < V->indptr[a + 1] && q < V->indptr[b + 1])
	{
		if (V->indices[p] < V->indices[q])
			p++;
		else if (V->indices[p] > V->indices[q])
			q++;
		else
			s += V->values[p++] * V->values[q++];
	}
	return s;
}

static void
ContentExplain(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			   int32 nhist, int32 item, double *contrib)
{
	const ContentState *st = m->state;
	double	   *p = palloc_extended(Max((Size) st->n_tokens, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	double		norm = Profile(st, hist, vals, nhist, p);

	for (int32 h = 0; h < nhist; h++)
	{
		double		c = norm > 0.0 ? vals[h] * RowDot(&st->V, hist[h], item) / norm : 0.0;

		/* history items sharing no attribute with the item are left out */
		contrib[h] = c != 0.0 ? c : -INFINITY;
	}
	pfree(p);
}

const RecpromoMethod RecpromoMethodContent = {
	.name = "content",
	.description = "item attributes (TF-IDF of category, tag, word and price-band tokens) matched to the user's profile",
	.nonneg = true,
	.train = ContentTrain,
	.load = ContentLoad,
	.score = ContentScore,
	.similar_items = ContentSimilarItems,
	.explain = ContentExplain,
};
