/*
 * rerank.c
 *	  Reading the caller's business tables for recommend()'s re-ranking:
 *	  per-item weights (margin, an active promotion, stock) and per-item
 *	  categories (for a per-category cap and category filters).
 *
 * Both are small lookups keyed by the model's item dictionary: a table is
 * given as regclass plus column names, checked (SELECT privilege, columns,
 * types) and read through SPI with the caller's privileges and row-level
 * security, in the statement's snapshot, so a change to the table shows in
 * the next call without retraining.  Names are quoted and qualified, values
 * never pasted into SQL, and the queries run under spi_guard.c's forced
 * search_path.  The cost is one scan of the table per call, so these tables
 * should hold what the shop wants to steer (a few thousand rows), not the
 * whole catalogue history.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "rerank.h"
#include "spi_guard.h"
#include "recpromo.h"

typedef struct CatPair
{
	int32		item;
	char	   *name;
} CatPair;

/* Checks the relation and a column; returns the column's type. */
static Oid
CheckColumn(Oid relid, const char *col, const char *what)
{
	AttrNumber	att;
	AclResult	acl;

	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s table with OID %u does not exist", what, relid)));
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, get_relkind_objtype(get_rel_relkind(relid)), get_rel_name(relid));
	att = get_attnum(relid, col);
	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of %s table \"%s\" does not exist",
						col, what, get_rel_name(relid))));
	return get_atttype(relid, att);
}

void
RecpromoReadItemWeights(Oid relid, const char *item_col, const char *weight_col,
						const RecpromoKeys *items, double *weight)
{
	Oid			ktype = CheckColumn(relid, item_col, "boost");
	Oid			wtype = CheckColumn(relid, weight_col, "boost");
	char	   *sql;
	int			spi;

	if (wtype != INT2OID && wtype != INT4OID && wtype != INT8OID && wtype != FLOAT4OID &&
		wtype != FLOAT8OID && wtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("boost column \"%s\" must be numeric, not %s", weight_col, format_type_be(wtype))));
	for (int32 i = 0; i < items->n; i++)
		weight[i] = NAN;
	sql = psprintf("SELECT %s, %s::pg_catalog.float8 FROM %s WHERE %s IS NOT NULL",
				   quote_identifier(item_col), quote_identifier(weight_col), RecpromoQualifiedRelation(relid),
				   quote_identifier(weight_col));
	spi = RecpromoSpiConnect();
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		RECPROMO_CANNOT_HAPPEN("could not read the boost table");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		bool		isnull;
		Datum		k = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);
		int32		ix;
		double		w;

		if (isnull)
			continue;
		ix = RecpromoKeysFind(items, k, ktype);
		if (ix < 0)
			continue;
		w = DatumGetFloat8(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		if (!isfinite(w))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("boost of item \"%s\" is NaN or infinite", RecpromoKeysGetCString(items, ix))));
		if (!isnan(weight[ix]))
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("item \"%s\" has more than one boost", RecpromoKeysGetCString(items, ix)),
					 errhint("Give each item at most one row, e.g. through a view with GROUP BY.")));
		weight[ix] = w;
		if ((r & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	RecpromoSpiFinish(spi);
}

static int
CatPairCmp(const void *a, const void *b)
{
	return strcmp(((const CatPair *) a)->name, ((const CatPair *) b)->name);
}

void
RecpromoReadItemCategories(Oid relid, const char *item_col, const char *cat_col,
						   const RecpromoKeys *items, int32 *cat, char ***names, int32 *ncat)
{
	Oid			ktype = CheckColumn(relid, item_col, "category");
	MemoryContext outer = CurrentMemoryContext;
	char	   *sql;
	CatPair    *pairs = NULL;
	int64		np = 0;
	int			spi;

	(void) CheckColumn(relid, cat_col, "category");
	for (int32 i = 0; i < items->n; i++)
		cat[i] = -1;
	sql = psprintf("SELECT %s, %s::pg_catalog.text FROM %s WHERE %s IS NOT NULL",
				   quote_identifier(item_col), quote_identifier(cat_col), RecpromoQualifiedRelation(relid),
				   quote_identifier(cat_col));
	spi = RecpromoSpiConnect();
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		RECPROMO_CANNOT_HAPPEN("could not read the category table");
	{
		MemoryContext spicxt = MemoryContextSwitchTo(outer);

		pairs = palloc(Max(SPI_processed, 1) * sizeof(CatPair));
		MemoryContextSwitchTo(spicxt);
	}
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		bool		isnull;
		Datum		k = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);
		int32		ix;
		MemoryContext spicxt;

		if (isnull)
			continue;
		ix = RecpromoKeysFind(items, k, ktype);
		if (ix < 0)
			continue;
		if (cat[ix] != -1)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("item \"%s\" has more than one category", RecpromoKeysGetCString(items, ix)),
					 errhint("Give each item one row, e.g. its main category.")));
		cat[ix] = 0;
		spicxt = MemoryContextSwitchTo(outer);
		pairs[np].item = ix;
		pairs[np].name = TextDatumGetCString(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		MemoryContextSwitchTo(spicxt);
		np++;
		if ((r & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	RecpromoSpiFinish(spi);

	/* dense ids in text order */
	qsort(pairs, np, sizeof(CatPair), CatPairCmp);
	*names = palloc(Max(np, 1) * sizeof(char *));
	*ncat = 0;
	for (int64 p = 0; p < np; p++)
	{
		if (*ncat == 0 || strcmp((*names)[*ncat - 1], pairs[p].name) != 0)
			(*names)[(*ncat)++] = pairs[p].name;
		cat[pairs[p].item] = *ncat - 1;
	}
}
