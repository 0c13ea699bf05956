/*
 * model_cache.c
 *	  Per-backend cache of loaded models, checked for staleness on each use.
 *
 * Serving must cost the scoring, not a model load.  Each call looks up the
 * model's catalog row (one index scan on its name, in the statement's
 * snapshot: model_store.c's DirectLookup, or a saved SPI plan where that
 * does not apply) and compares its identity with the cached copy's:
 * (database oid, installation, model id, version token); the installation
 * is the oid of recpromo.model, new at every CREATE EXTENSION.  The id alone is
 * not enough: ids repeat after DROP/CREATE EXTENSION (the sequence starts
 * again), a setval or a restore.  The version token is 128 random bits
 * drawn at every save and written into the row and into every part row
 * (src/sql/20_models.sql), so two saves never share it; the load checks
 * that each part carries the token of the row just looked up.  A dump and
 * restore copies a token together with the bytes it was drawn for (parts
 * are never rewritten), so a backend whose cached copy has the same token
 * as a restored row holds those very bytes; the installation in the key
 * changes on a restore with --clean anyway.  Any difference reloads the
 * model, once.  All calls of one statement see the same snapshot, hence
 * the same row: a statement never mixes two versions.
 * Each loaded model owns a memory context under TopMemoryContext; a
 * replaced version's context is deleted when the new one is in place.  The
 * cache is per backend: a pooled connection pays the load once.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "method.h"
#include "model_validate.h"

typedef struct CacheEntry
{
	char		name[NAMEDATALEN * 2];
	Oid			db_oid;			/* MyDatabaseId when loaded */
	RecpromoModel *model;
	struct CacheEntry *next;
} CacheEntry;

static CacheEntry *cache_head = NULL;

static char *
CxtStrdup(MemoryContext cxt, const char *s)
{
	return s ? MemoryContextStrdup(cxt, s) : NULL;
}

/*
 * The parts every model has, checked before use (model_validate.h): the key
 * dictionaries, consistent with the catalog row; the training interactions
 * (users x items CSR, rows sorted, values finite; its entry count is the
 * row's nnz); item popularity, the exact column counts of that CSR.
 */
static void
LoadCommonParts(RecpromoModel *m, const RecpromoModelRow *row, const RecpromoParts *parts)
{
	const char *name = row->name;
	Size		len;
	void	   *buf;
	const char *reason = NULL;
	int64	   *work;

	if (row->n_users < 0 || row->n_items < 0 || row->nnz < 0)
		RecpromoModelCorrupt(name, NULL, "its catalog row has a negative size");
	buf = RecpromoPartsGet(parts, "users", 0, true, &len);
	if (buf == NULL)
		RecpromoModelCorrupt(name, "users", "is missing");
	RecpromoKeysLoad(&m->users, buf, len, row->user_type, name, "users");
	buf = RecpromoPartsGet(parts, "items", 0, true, &len);
	if (buf == NULL)
		RecpromoModelCorrupt(name, "items", "is missing");
	RecpromoKeysLoad(&m->items, buf, len, row->item_type, name, "items");
	if (m->users.n != row->n_users)
		RecpromoModelCorrupt(name, "users", "does not match the number of users of the catalog row");
	if (m->items.n != row->n_items)
		RecpromoModelCorrupt(name, "items", "does not match the number of items of the catalog row");

	RecpromoModelCsr(parts, name, "seen", m->users.n, m->items.n, true, &m->seen);
	if (m->seen.nnz != row->nnz)
		RecpromoModelCorrupt(name, "seen_indices", "does not match the interaction count of the catalog row");

	m->item_pop = RecpromoModelPartFinite(parts, name, "item_pop", m->items.n);
	work = palloc_extended(Max((Size) m->items.n, 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	RecpromoModelCheck(rp_validate_item_pop(&m->seen, m->item_pop, work, &reason),
					   name, "item_pop", reason);
	pfree(work);
}

/*
 * A model shell in cxt: identity, a copy of the catalog row and the parsed
 * hyper-parameters, nothing loaded yet.  Called with cxt current.
 */
RecpromoModel *
RecpromoModelShell(const RecpromoModelRow *row, const RecpromoMethod *method,
				   MemoryContext cxt)
{
	RecpromoModel *m = MemoryContextAllocZero(cxt, sizeof(RecpromoModel));

	m->cxt = cxt;
	m->id = row->id;
	m->method = method;
	m->row = *row;
	m->row.name = CxtStrdup(cxt, row->name);
	m->row.method = CxtStrdup(cxt, row->method);
	m->row.params = CxtStrdup(cxt, row->params);
	m->row.source = CxtStrdup(cxt, row->source);
	m->row.user_col = CxtStrdup(cxt, row->user_col);
	m->row.item_col = CxtStrdup(cxt, row->item_col);
	m->row.rating_col = CxtStrdup(cxt, row->rating_col);
	m->params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
												   CStringGetDatum(row->params ? row->params : "{}")));
	return m;
}

/* The method of a catalog row, or a clear error when this version has none. */
const RecpromoMethod *
RecpromoModelMethod(const RecpromoModelRow *row)
{
	const RecpromoMethod *method = RecpromoMethodFind(row->method, true);

	if (method == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" uses method \"%s\", which this version of recpromo cannot serve",
						row->name, row->method)));
	return method;
}

static RecpromoModel *
LoadModel(const RecpromoModelRow *row)
{
	MemoryContext cxt;
	MemoryContext old;
	RecpromoModel *m;
	RecpromoParts parts;
	const RecpromoMethod *method;

	method = RecpromoModelMethod(row);
	cxt = AllocSetContextCreate(TopMemoryContext, "recpromo model", ALLOCSET_DEFAULT_SIZES);
	old = CurrentMemoryContext;
	PG_TRY();
	{
		RecpromoModelLoadParts(row->id, row->version, cxt, &parts);
		MemoryContextSwitchTo(cxt);
		m = RecpromoModelShell(row, method, cxt);
		LoadCommonParts(m, row, &parts);
		method->load(m, &parts);
		MemoryContextSwitchTo(old);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return m;
}

RecpromoModel *
RecpromoModelGet(const char *name)
{
	RecpromoModelRow row;
	CacheEntry *e;
	RecpromoModel *m;

	if (name != NULL && name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	RecpromoModelLookupOrError(name, &row);
	for (e = cache_head; e != NULL; e = e->next)
		if (strcmp(e->name, row.name) == 0)
			break;
	if (e != NULL && e->db_oid == MyDatabaseId &&
		e->model->row.install_oid == row.install_oid &&
		e->model->id == row.id &&
		memcmp(e->model->row.version, row.version, sizeof(row.version)) == 0)
		return e->model;

	/* the shared cache first; a load from the tables publishes an image */
	m = RecpromoImageAttach(&row);
	if (m == NULL)
	{
		instr_time	t0,
					t1;

		INSTR_TIME_SET_CURRENT(t0);
		m = LoadModel(&row);
		INSTR_TIME_SET_CURRENT(t1);
		INSTR_TIME_SUBTRACT(t1, t0);
		ereport(DEBUG1,
				(errmsg_internal("recpromo: load of model \"%s\" from its tables in %.3f ms",
								 row.name, INSTR_TIME_GET_MILLISEC(t1))));
		m = RecpromoImagePublish(m);
	}
	if (e == NULL)
	{
		e = MemoryContextAllocZero(TopMemoryContext, sizeof(CacheEntry));
		strlcpy(e->name, row.name, sizeof(e->name));
		e->next = cache_head;
		cache_head = e;
	}
	else
		MemoryContextDelete(e->model->cxt);
	e->model = m;
	e->db_oid = MyDatabaseId;
	return m;
}

RecpromoSource *
RecpromoModelSource(RecpromoModel *m)
{
	List	   *names;
	Oid			relid;
	RecpromoSource *src;

	if (m->row.source == NULL)
		return NULL;
	names = stringToQualifiedNameList(m->row.source);
	relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
	if (!OidIsValid(relid))
		return NULL;
	src = palloc(sizeof(RecpromoSource));
	RecpromoSourceInit(src, relid, m->row.user_col, m->row.item_col, m->row.rating_col);
	return src;
}

double
RecpromoModelParamFloat(const RecpromoModel *m, const char *name, double def)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) name;
	k.val.string.len = strlen(name);
	v = findJsonbValueFromContainer(&m->params->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvNumeric)
		return def;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}
