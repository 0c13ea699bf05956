/*
 * spi_guard.c
 *	  Running SQL through SPI so that a hostile search_path cannot capture it.
 *
 * recpromo's C functions run SQL as their caller, often a superuser, under
 * whatever search_path the session has.  A role that can create objects in
 * a schema on that path (public, typically) could plant a function,
 * operator, aggregate or type there whose name and argument types match a
 * call in our query better than pg_catalog's own (public.=(varchar, text),
 * public.nextval(text), a domain named "float8" with a CHECK calling its
 * code), and it would run with the caller's privileges: the CVE-2018-1058
 * and CVE-2020-14350 family.
 *
 * Two defences, both always applied:
 *	- Query texts name nothing through the search path: relations are
 *	  "schema"."name" from the catalog (RecpromoQualifiedRelation), types
 *	  are keywords or qualified (RecpromoQualifiedType), functions are
 *	  written pg_catalog.f(...) and operators OPERATOR(pg_catalog.=)
 *	  (RecpromoSqlEquals picks the equality for any pair of key types).
 *	- The queries run under search_path = pg_catalog, pg_temp, pg_temp last
 *	  so that temporary objects are never found first (the setting of
 *	  PostgreSQL 17's maintenance operations; SET clauses of our SQL
 *	  functions use the same).  It is set with a GUC nest level, as a
 *	  function's SET clause is (fmgr_security_definer), so an error needs no
 *	  cleanup: transaction or subtransaction abort pops the level.
 *
 * The forced path also applies to code the caller's relations run while we
 * read them (a view calling an unqualified SQL function): training has
 * always read the source under this path, because train() and its wrappers
 * carry SET search_path = pg_catalog, pg_temp; serving now reads it (fold-in
 * of new customers, boosts, categories) under the same one.  A view that
 * relies on the session's search_path must qualify its names or carry its
 * own SET clause, as PostgreSQL requires for index expressions.
 *
 * Reading many rows is one loop for every caller, RecpromoSpiForEachRow: a
 * read-only cursor fetched in batches, each row handed to a callback in the
 * caller's memory context, interrupts checked between batches.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "spi_guard.h"
#include "recpromo.h"

int
RecpromoForceSearchPath(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", RECPROMO_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

void
RecpromoRestoreSearchPath(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
}

int
RecpromoSpiConnect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		RECPROMO_CANNOT_HAPPEN("SPI_connect failed");	/* cannot happen: it throws */
	return RecpromoForceSearchPath();
}

void
RecpromoSpiFinish(int token)
{
	RecpromoRestoreSearchPath(token);
	SPI_finish();
}

void
RecpromoSpiForEachRow(const char *sql, int nargs, Oid *argtypes, Datum *args,
					  int fetch_rows, MemoryContext cxt, RecpromoRowFn fn, void *arg)
{
	int			spi = RecpromoSpiConnect();
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);
	Portal		portal;

	if (plan == NULL)
		RECPROMO_CANNOT_HAPPEN("SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, args, NULL, true);
	for (;;)
	{
		MemoryContext spicxt;
		TupleDesc	td;

		SPI_cursor_fetch(portal, true, fetch_rows);
		if (SPI_processed == 0)
			break;
		td = SPI_tuptable->tupdesc;
		spicxt = MemoryContextSwitchTo(cxt);
		for (uint64 r = 0; r < SPI_processed; r++)
			fn(SPI_tuptable->vals[r], td, arg);
		MemoryContextSwitchTo(spicxt);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	RecpromoSpiFinish(spi);
}

char *
RecpromoQualifiedRelation(Oid relid)
{
	char	   *rel = get_rel_name(relid);
	char	   *nsp;

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	nsp = get_namespace_name(get_rel_namespace(relid));
	if (nsp == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return quote_qualified_identifier(nsp, rel);
}

char *
RecpromoQualifiedType(Oid type)
{
	/*
	 * format_type's force-qualified form is a keyword (bigint, double
	 * precision) or "schema"."type", except for bpchar, printed bare.
	 */
	if (type == BPCHAROID)
		return pstrdup("pg_catalog.bpchar");
	if (type == BPCHARARRAYOID)
		return pstrdup("pg_catalog.bpchar[]");
	return format_type_be_qualified(type);
}

/* The schema of an operator, or NULL when it is gone. */
static char *
OperatorSchema(Oid opno)
{
	HeapTuple	tp = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Oid			nsp;

	if (!HeapTupleIsValid(tp))
		return NULL;
	nsp = ((Form_pg_operator) GETSTRUCT(tp))->oprnamespace;
	ReleaseSysCache(tp);
	return get_namespace_name(nsp);
}

static bool
IsStringType(Oid type)
{
	return type == TEXTOID || type == VARCHAROID;
}

char *
RecpromoSqlEquals(const char *lhs, Oid ltype, const char *rhs, Oid rtype)
{
	List	   *name = list_make2(makeString("pg_catalog"), makeString("="));
	TypeCacheEntry *tce;
	char	   *nsp;

	/*
	 * pg_catalog's exact operator (int48eq, texteq...); varchar against text
	 * has none but resolves to texteq by binary coercion, inside pg_catalog.
	 */
	if (OidIsValid(OpernameGetOprid(name, ltype, rtype)) ||
		(IsStringType(ltype) && IsStringType(rtype)))
		return psprintf("%s OPERATOR(pg_catalog.=) %s", lhs, rhs);

	/* the type's own equality (uuid, numeric, an extension's type...) */
	tce = lookup_type_cache(ltype, TYPECACHE_EQ_OPR);
	if (ltype == rtype && OidIsValid(tce->eq_opr) &&
		(nsp = OperatorSchema(tce->eq_opr)) != NULL)
		return psprintf("%s OPERATOR(%s.%s) %s", lhs, quote_identifier(nsp),
						get_opname(tce->eq_opr), rhs);

	/* no equality: compare the text forms */
	return psprintf("(%s)::pg_catalog.text OPERATOR(pg_catalog.=) (%s)::pg_catalog.text", lhs, rhs);
}
