/*
 * promo_query.c
 *	  How the promotion entry points read the caller's tables: the SPI
 *	  plumbing shared by promo_assign.c, promo_uplift.c, promo_segments.c
 *	  and the other promo_*.c files.
 *
 * Invoker rights.  Every public promotion function is a C function without
 * SECURITY DEFINER, so each SPI query below runs as the role that called it:
 * its table and column privileges and its row-level security policies apply
 * exactly as to a query it typed itself.  Before issue 18 the same queries
 * ran from PL/pgSQL, which needed some thirty internal "_" SQL functions
 * that every role could call; they are now the static functions of these
 * files and nothing internal is reachable from SQL.
 *
 * Query texts.  A promotion function runs between PromoBegin and PromoEnd:
 * SPI connected under the forced search_path of spi_guard.c, so that the
 * regclass and regtype names printed in messages are the ones the PL/pgSQL
 * versions printed (qualified unless in pg_catalog).  Query texts name
 * relations only as "schema"."name" from the catalog (PromoRelSql), columns
 * only through quote_identifier, functions and operators schema-qualified
 * (pg_catalog.x, OPERATOR(pg_catalog.=), the extension's own schema read
 * from the catalog); every value is an SPI parameter.
 *
 * Column checks (PromoColType, PromoNumExpr, PromoMoneyExpr) keep the
 * messages, SQLSTATEs and hints of the PL/pgSQL helpers they replace, word
 * for word: the regression outputs did not change.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "promo.h"
#include "recpromo.h"
#include "spi_guard.h"

void
PromoBegin(PromoCall *pc, FunctionCallInfo fcinfo, bool read_only)
{
	pc->read_only = read_only;
	pc->schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	pc->token = RecpromoSpiConnect();
}

void
PromoEnd(PromoCall *pc)
{
	RecpromoSpiFinish(pc->token);
}

Oid
PromoSourceArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source table must not be null")));
	return PG_GETARG_OID(argno);
}

char *
PromoNameArg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(argno)));
}

char *
PromoTextArg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

char *
PromoRelSql(Oid rel)
{
	return RecpromoQualifiedRelation(rel);
}

char *
PromoRelText(Oid rel)
{
	return DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(rel)));
}

char *
PromoTypeText(Oid type)
{
	return DatumGetCString(DirectFunctionCall1(regtypeout, ObjectIdGetDatum(type)));
}

Oid
PromoColType(Oid rel, const char *col, const char *role)
{
	AttrNumber	att;

	if (col == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", role),
				 errhint("Name a column of %s.", PromoRelText(rel))));
	att = get_attnum(rel, col);
	if (att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of %s does not exist", col, PromoRelText(rel)),
				 errhint("The %s must name a column of the source table.", role)));
	return get_atttype(rel, att);
}

bool
PromoIsNumberType(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID || t == FLOAT4OID ||
		t == FLOAT8OID || t == NUMERICOID;
}

char *
PromoNumExpr(Oid rel, const char *col, const char *role)
{
	Oid			t = PromoColType(rel, col, role);

	if (t == BOOLOID)
		return psprintf("((%s)::pg_catalog.int4::pg_catalog.float8)", quote_identifier(col));
	if (PromoIsNumberType(t))
		return psprintf("((%s)::pg_catalog.float8)", quote_identifier(col));
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of %s has type %s, expected a number or boolean",
					col, PromoRelText(rel), PromoTypeText(t)),
			 errhint("The %s must be a number or boolean column.", role)));
	return NULL;				/* not reached */
}

char *
PromoMoneyExpr(Oid rel, const char *col, const char *role)
{
	Oid			t = PromoColType(rel, col, role);

	if (PromoIsNumberType(t))
		return psprintf("((%s)::pg_catalog.numeric)", quote_identifier(col));
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of %s has type %s, expected a number",
					col, PromoRelText(rel), PromoTypeText(t)),
			 errhint("The %s must be a number column (numeric, integer or float).", role)));
	return NULL;				/* not reached */
}

void
PromoCheckModelName(const char *name)
{
	if (name == NULL || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
}

/* SPI nulls string ("n" / " ") of nargs flags. */
static char *
SpiNulls(int nargs, const bool *nulls)
{
	char	   *s = palloc(nargs + 1);

	for (int i = 0; i < nargs; i++)
		s[i] = (nulls != NULL && nulls[i]) ? 'n' : ' ';
	s[nargs] = '\0';
	return s;
}

int
PromoQueryRow(PromoCall *pc, const char *sql, int nargs, Oid *types,
			  Datum *vals, bool *nulls, int ncols, Datum *out, bool *outnull)
{
	int			rc;

	/*
	 * No row limit: a limit would rule out a parallel plan (ExecutePlan), and
	 * these queries are aggregates of one row, as PL/pgSQL's EXECUTE INTO ran
	 * them.
	 */
	rc = SPI_execute_with_args(sql, nargs, types, vals, SpiNulls(nargs, nulls),
							   pc->read_only, 0);
	if (rc != SPI_OK_SELECT)
		RECPROMO_CANNOT_HAPPEN("promotion query failed: %s", SPI_result_code_string(rc));
	if (SPI_tuptable->tupdesc->natts != ncols)
		RECPROMO_CANNOT_HAPPEN("promotion query returned %d columns, expected %d",
							   SPI_tuptable->tupdesc->natts, ncols);
	if (SPI_processed == 0)
	{
		for (int c = 0; c < ncols; c++)
		{
			out[c] = (Datum) 0;
			outnull[c] = true;
		}
		return 0;
	}
	for (int c = 0; c < ncols; c++)
		out[c] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
							   c + 1, &outnull[c]);
	return (int) SPI_processed;
}

void
PromoReturnQuery(PromoCall *pc, FunctionCallInfo fcinfo, const char *sql,
				 int nargs, Oid *types, Datum *vals, bool *nulls)
{
	PromoReturnQueryGuarded(pc, fcinfo, sql, nargs, types, vals, nulls, NULL);
}

/*
 * The destination of PromoReturnQueryGuarded: checks the query's columns
 * against the function's result once, then appends each row to the
 * tuplestore, after handing the extra last column (if any) to the guard.
 */
typedef struct PromoDest
{
	DestReceiver pub;
	ReturnSetInfo *rsinfo;
	void		(*guard) (Datum value, bool isnull);
} PromoDest;

static void
PromoDestStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	PromoDest  *d = (PromoDest *) self;
	TupleDesc	want = d->rsinfo->setDesc;
	int			extra = d->guard ? 1 : 0;

	if (typeinfo->natts != want->natts + extra)
		RECPROMO_CANNOT_HAPPEN("promotion query returned %d columns, expected %d",
							   typeinfo->natts, want->natts + extra);
	for (int c = 0; c < want->natts; c++)
		if (TupleDescAttr(typeinfo, c)->atttypid != TupleDescAttr(want, c)->atttypid)
			RECPROMO_CANNOT_HAPPEN("promotion query column %d has type %u, expected %u",
								   c + 1, TupleDescAttr(typeinfo, c)->atttypid,
								   TupleDescAttr(want, c)->atttypid);
}

static bool
PromoDestReceive(TupleTableSlot *slot, DestReceiver *self)
{
	PromoDest  *d = (PromoDest *) self;
	TupleDesc	want = d->rsinfo->setDesc;

	slot_getallattrs(slot);
	if (d->guard)
		d->guard(slot->tts_values[want->natts], slot->tts_isnull[want->natts]);
	tuplestore_putvalues(d->rsinfo->setResult, want, slot->tts_values, slot->tts_isnull);
	return true;
}

static void
PromoDestShutdown(DestReceiver *self)
{
}

static void
PromoDestDestroy(DestReceiver *self)
{
}

void
PromoReturnQueryGuarded(PromoCall *pc, FunctionCallInfo fcinfo, const char *sql,
						int nargs, Oid *types, Datum *vals, bool *nulls,
						void (*guard) (Datum value, bool isnull))
{
	PromoDest	dest;
	SPIExecuteOptions options;
	ParamListInfo params = NULL;
	int			rc;

	memset(&dest, 0, sizeof(dest));
	dest.pub.receiveSlot = PromoDestReceive;
	dest.pub.rStartup = PromoDestStartup;
	dest.pub.rShutdown = PromoDestShutdown;
	dest.pub.rDestroy = PromoDestDestroy;
	dest.pub.mydest = DestNone;
	dest.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	dest.guard = guard;
	if (nargs > 0)
	{
		params = makeParamList(nargs);
		for (int i = 0; i < nargs; i++)
		{
			params->params[i].value = vals[i];
			params->params[i].isnull = nulls != NULL && nulls[i];
			params->params[i].pflags = PARAM_FLAG_CONST;
			params->params[i].ptype = types[i];
		}
	}
	/* as PL/pgSQL's RETURN QUERY EXECUTE: a one-shot plan, parallel allowed */
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = pc->read_only;
	options.dest = &dest.pub;
	rc = SPI_execute_extended(sql, &options);
	/* SPI_OK_UTILITY: what SPI reports for a query sent to a receiver */
	if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
		RECPROMO_CANNOT_HAPPEN("promotion query failed: %s", SPI_result_code_string(rc));
}

Datum
PromoCallInternal(PGFunction fn, int nargs, const Datum *args,
				  const bool *nulls, bool *isnull)
{
	LOCAL_FCINFO(fcinfo, 8);
	Datum		r;

	Assert(nargs <= 8);
	InitFunctionCallInfoData(*fcinfo, NULL, nargs, InvalidOid, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fcinfo->args[i].value = args[i];
		fcinfo->args[i].isnull = nulls[i];
	}
	r = fn(fcinfo);
	if (isnull)
		*isnull = fcinfo->isnull;
	return r;
}

Jsonb *
PromoModelParams(text *model, const char *want)
{
	Datum		args[2];
	bool		nulls[2];

	args[0] = PointerGetDatum(model);
	nulls[0] = model == NULL;
	args[1] = CStringGetTextDatum(want);
	nulls[1] = false;
	return DatumGetJsonbP(PromoCallInternal(recpromo__promo_params, 2, args, nulls, NULL));
}

/* ---------- helpers shared with other areas ---------- */

/*
 * The entry points below were the SQL functions _promo_rel, _promo_coltype
 * and _promo_num, which the PL/pgSQL of ab_test, ab_srm and evaluate_policy
 * called.  Since 0.3.0 no SQL function uses them (those three are C front
 * doors, ab_front.c, calling PromoRelSql, PromoColType and PromoNumExpr
 * directly; the update script drops the SQL functions).  The symbols stay
 * so that the install scripts of earlier versions still load.
 */

/* _promo_rel(source regclass) -> text: "schema"."name" of a relation. */
PG_FUNCTION_INFO_V1(recpromo__promo_rel);
Datum
recpromo__promo_rel(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(PromoRelSql(PromoSourceArg(fcinfo, 0))));
}

/* _promo_coltype(source regclass, col name, role text) -> regtype */
PG_FUNCTION_INFO_V1(recpromo__promo_coltype);
Datum
recpromo__promo_coltype(PG_FUNCTION_ARGS)
{
	int			nest = RecpromoForceSearchPath();
	Oid			t = PromoColType(PromoSourceArg(fcinfo, 0), PromoNameArg(fcinfo, 1),
								 PG_ARGISNULL(2) ? "column" : PromoTextArg(fcinfo, 2));

	RecpromoRestoreSearchPath(nest);
	PG_RETURN_OID(t);
}

/* _promo_num(source regclass, col name, role text) -> text */
PG_FUNCTION_INFO_V1(recpromo__promo_num);
Datum
recpromo__promo_num(PG_FUNCTION_ARGS)
{
	int			nest = RecpromoForceSearchPath();
	char	   *e = PromoNumExpr(PromoSourceArg(fcinfo, 0), PromoNameArg(fcinfo, 1),
								 PG_ARGISNULL(2) ? "column" : PromoTextArg(fcinfo, 2));

	RecpromoRestoreSearchPath(nest);
	PG_RETURN_TEXT_P(cstring_to_text(e));
}
