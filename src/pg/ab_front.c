/*
 * ab_front.c
 *	  C front doors of ab_test, ab_srm (82_ab.sql) and evaluate_policy
 *	  (84_ope.sql): the last public functions that needed internal SQL
 *	  helpers executable by PUBLIC.
 *
 * Issue 18 asks that no internal function be callable by users at all.  The
 * three functions are long PL/pgSQL bodies that called four C checks
 * through SQL (_promo_rel, _promo_coltype, _promo_num, _promo_model), and a
 * function called through SQL needs EXECUTE for the calling role.  Rather
 * than translating the bodies to C, each public function is now this
 * pattern, the "front door":
 *
 *   - the public function (same name, arguments, defaults and result) is a
 *     C function here, without SECURITY DEFINER;
 *   - it runs the checks the helpers ran, with the static C of
 *     promo_query.c and promo_spec.c (column types, the quoted relation, a
 *     model's parameters through the caller's grant: model_acl.c), under the
 *     forced search_path of spi_guard.c as the helpers ran under the body's
 *     SET search_path, so messages print the same names;
 *   - it calls the unchanged PL/pgSQL body, now an internal function
 *     (_body_ab_test, _body_ab_srm, _body_evaluate_policy) with REVOKE ALL
 *     ... FROM PUBLIC and extra arguments for what the helpers computed,
 *     directly through fmgr (FunctionCallInvoke).  No EXECUTE check happens
 *     on that path (as for any function a C function calls through fmgr),
 *     while a role calling the body through SQL gets 42501.  The body keeps
 *     its SET search_path (fmgr_info wraps it as for any call) and runs as
 *     the invoker: the caller's privileges and row-level security apply to
 *     every query it runs.  The caller's ReturnSetInfo is passed through:
 *     PL/pgSQL materialises its rows into it, as if called directly.
 *
 * The bodies call no revoked function through SQL.  The helper checks now
 * run before the body's own checks of scalar arguments, so only a call that
 * is wrong in two ways may report the other mistake first; each mistake
 * still has its message, SQLSTATE and hint word for word.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "promo.h"
#include "recpromo.h"
#include "spi_guard.h"

/* The body of one front door, looked up once per call site. */
typedef struct FrontBody
{
	Oid			oid;
	FmgrInfo	flinfo;
} FrontBody;

/*
 * Calls the internal body `name` (in the extension's schema, the schema of
 * the front door) with nargs arguments of types argtypes, passing the
 * caller's collation, context and ReturnSetInfo through; returns its result
 * and sets fcinfo->isnull.  The lookup is by schema-qualified name and exact
 * argument types (no search_path involved) and is cached in fn_extra.
 */
static Datum
FrontCallBody(FunctionCallInfo fcinfo, const char *name, int nargs,
			  const Oid *argtypes, const Datum *vals, const bool *nulls)
{
	FrontBody  *b = (FrontBody *) fcinfo->flinfo->fn_extra;
	FunctionCallInfo fc;
	Datum		r;

	if (b == NULL)
	{
		char	   *schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
		List	   *qname;

		if (schema == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_SCHEMA),
					 errmsg("schema of function with OID %u does not exist",
							fcinfo->flinfo->fn_oid)));
		qname = list_make2(makeString(schema), makeString(pstrdup(name)));
		b = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FrontBody));
		b->oid = LookupFuncName(qname, nargs, argtypes, false);
		fmgr_info_cxt(b->oid, &b->flinfo, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = b;
	}
	fc = palloc0(SizeForFunctionCallInfo(nargs));
	InitFunctionCallInfoData(*fc, &b->flinfo, nargs, fcinfo->fncollation,
							 fcinfo->context, fcinfo->resultinfo);
	for (int i = 0; i < nargs; i++)
	{
		fc->args[i].value = vals[i];
		fc->args[i].isnull = nulls[i];
	}
	r = FunctionCallInvoke(fc);
	fcinfo->isnull = fc->isnull;
	return r;
}

/* Copies the caller's first n arguments into vals/nulls/types. */
static void
FrontCopyArgs(FunctionCallInfo fcinfo, int n, const Oid *types, Oid *argtypes,
			  Datum *vals, bool *nulls)
{
	for (int i = 0; i < n; i++)
	{
		argtypes[i] = types[i];
		vals[i] = fcinfo->args[i].value;
		nulls[i] = fcinfo->args[i].isnull;
	}
}

static void
FrontSetText(int i, const char *s, Oid *argtypes, Datum *vals, bool *nulls)
{
	argtypes[i] = TEXTOID;
	vals[i] = s ? CStringGetTextDatum(s) : (Datum) 0;
	nulls[i] = s == NULL;
}

static void
FrontSetType(int i, Oid type, Oid *argtypes, Datum *vals, bool *nulls)
{
	argtypes[i] = REGTYPEOID;
	vals[i] = ObjectIdGetDatum(type);
	nulls[i] = !OidIsValid(type);
}

/*
 * ab_test(source regclass, arm_col name, outcome_col name, control text,
 *         covariate name, alpha float8, outcome text, correction text,
 *         sequential boolean, tau float8) -> the rows of _body_ab_test,
 * which also gets the quoted relation and the float8 expressions of the
 * outcome and covariate columns (_promo_rel and _promo_num before).
 */
PG_FUNCTION_INFO_V1(recpromo_ab_test);
Datum
recpromo_ab_test(PG_FUNCTION_ARGS)
{
	static const Oid types[10] = {REGCLASSOID, NAMEOID, NAMEOID, TEXTOID, NAMEOID,
	FLOAT8OID, TEXTOID, TEXTOID, BOOLOID, FLOAT8OID};
	Oid			argtypes[13];
	Datum		vals[13];
	bool		nulls[13];
	Oid			src;
	char	   *rel;
	char	   *ay;
	char	   *ax = NULL;
	int			nest;

	FrontCopyArgs(fcinfo, 10, types, argtypes, vals, nulls);
	nest = RecpromoForceSearchPath();
	src = PromoSourceArg(fcinfo, 0);
	rel = PromoRelSql(src);
	(void) PromoColType(src, PromoNameArg(fcinfo, 1), "arm column");
	ay = PromoNumExpr(src, PromoNameArg(fcinfo, 2), "outcome column");
	if (!PG_ARGISNULL(4))
		ax = PromoNumExpr(src, PromoNameArg(fcinfo, 4), "covariate");
	RecpromoRestoreSearchPath(nest);
	FrontSetText(10, rel, argtypes, vals, nulls);
	FrontSetText(11, ay, argtypes, vals, nulls);
	FrontSetText(12, ax, argtypes, vals, nulls);
	return FrontCallBody(fcinfo, "_body_ab_test", 13, argtypes, vals, nulls);
}

/*
 * ab_srm(source regclass, arm_col name, planned jsonb, weights float8[])
 * -> the rows of _body_ab_srm, which also gets the quoted relation.
 */
PG_FUNCTION_INFO_V1(recpromo_ab_srm);
Datum
recpromo_ab_srm(PG_FUNCTION_ARGS)
{
	static const Oid types[4] = {REGCLASSOID, NAMEOID, JSONBOID, FLOAT8ARRAYOID};
	Oid			argtypes[5];
	Datum		vals[5];
	bool		nulls[5];
	Oid			src;
	char	   *rel;
	int			nest;

	FrontCopyArgs(fcinfo, 4, types, argtypes, vals, nulls);
	nest = RecpromoForceSearchPath();
	src = PromoSourceArg(fcinfo, 0);
	rel = PromoRelSql(src);
	(void) PromoColType(src, PromoNameArg(fcinfo, 1), "arm column");
	RecpromoRestoreSearchPath(nest);
	FrontSetText(4, rel, argtypes, vals, nulls);
	return FrontCallBody(fcinfo, "_body_ab_srm", 5, argtypes, vals, nulls);
}

/* The method of model `name` as the caller sees it in models, or NULL. */
static char *
FrontModelMethod(FunctionCallInfo fcinfo, text *name)
{
	PromoCall	pc;
	StringInfoData sql;
	Oid			t = TEXTOID;
	Datum		v = PointerGetDatum(name);
	Datum		out;
	bool		outnull;
	char	   *method = NULL;

	PromoBegin(&pc, fcinfo, true);
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT mm.method::pg_catalog.text FROM %s.models mm"
					 " WHERE mm.name OPERATOR(pg_catalog.=) $1", pc.schema);
	if (PromoQueryRow(&pc, sql.data, 1, &t, &v, NULL, 1, &out, &outnull) > 0 && !outnull)
		method = TextDatumGetCString(out);	/* palloc'd in the caller's context */
	PromoEnd(&pc);
	return method;
}

/*
 * evaluate_policy(logged regclass, context_col name, arm_col name,
 *     reward_col name, propensity_col name, target_probs regclass,
 *     target_model text, target_bandit text, key_col name, estimators text[],
 *     bootstrap integer, seed bigint, alpha float8, ridge_lambda float8,
 *     features text[], threshold float8, treatment text, control text)
 * -> the rows of _body_evaluate_policy, which also gets the quoted logged
 * relation, the types of the reward, propensity and context columns, the
 * quoted target table and an uplift target model's parameters.  The column
 * checks are those the body ran, in its order, for the branch it takes; with
 * not exactly one target the body raises its error and needs none of them.
 */
PG_FUNCTION_INFO_V1(recpromo_evaluate_policy);
Datum
recpromo_evaluate_policy(PG_FUNCTION_ARGS)
{
	static const Oid types[18] = {REGCLASSOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID,
		REGCLASSOID, TEXTOID, TEXTOID, NAMEOID, TEXTARRAYOID, INT4OID, INT8OID,
	FLOAT8OID, FLOAT8OID, TEXTARRAYOID, FLOAT8OID, TEXTOID, TEXTOID};
	Oid			argtypes[24];
	Datum		vals[24];
	bool		nulls[24];
	Oid			src;
	char	   *rel;
	Oid			rtype = InvalidOid;
	Oid			ptype = InvalidOid;
	Oid			ctype = InvalidOid;
	char	   *tp_rel = NULL;
	Jsonb	   *params = NULL;
	int			ntargets;
	int			nest;

	FrontCopyArgs(fcinfo, 18, types, argtypes, vals, nulls);
	nest = RecpromoForceSearchPath();
	src = PromoSourceArg(fcinfo, 0);
	rel = PromoRelSql(src);
	ntargets = !PG_ARGISNULL(5) + !PG_ARGISNULL(6) + !PG_ARGISNULL(7);
	if (ntargets == 1)
	{
		(void) PromoColType(src, PromoNameArg(fcinfo, 2), "arm column");
		(void) PromoNumExpr(src, PromoNameArg(fcinfo, 3), "reward column");
		(void) PromoNumExpr(src, PromoNameArg(fcinfo, 4), "propensity column");
		rtype = PromoColType(src, PromoNameArg(fcinfo, 3), "reward column");
		ptype = PromoColType(src, PromoNameArg(fcinfo, 4), "propensity column");
		if (!PG_ARGISNULL(1))
			ctype = PromoColType(src, PromoNameArg(fcinfo, 1), "context column");
		if (!PG_ARGISNULL(5))
		{
			Oid			tp = PG_GETARG_OID(5);
			char	   *key = PG_ARGISNULL(8) ? PromoNameArg(fcinfo, 1) : PromoNameArg(fcinfo, 8);

			/* without a key the body raises "target_probs needs a key column" */
			if (key != NULL)
			{
				(void) PromoColType(src, key, "key column");
				(void) PromoColType(tp, key, "key column");
				(void) PromoColType(tp, PromoNameArg(fcinfo, 2), "arm column");
				(void) PromoNumExpr(tp, "probability", "probability column of the target table");
				tp_rel = PromoRelSql(tp);
			}
		}
		else if (!PG_ARGISNULL(6) && !PG_ARGISNULL(8))
		{
			char	   *method;

			(void) PromoColType(src, PromoNameArg(fcinfo, 8), "key column");
			method = FrontModelMethod(fcinfo, PG_GETARG_TEXT_PP(6));
			if (method != NULL && strcmp(method, "uplift") == 0)
				params = PromoModel(fcinfo, 6, "uplift");
		}
	}
	RecpromoRestoreSearchPath(nest);
	FrontSetText(18, rel, argtypes, vals, nulls);
	FrontSetType(19, rtype, argtypes, vals, nulls);
	FrontSetType(20, ptype, argtypes, vals, nulls);
	FrontSetType(21, ctype, argtypes, vals, nulls);
	FrontSetText(22, tp_rel, argtypes, vals, nulls);
	argtypes[23] = JSONBOID;
	vals[23] = PointerGetDatum(params);
	nulls[23] = params == NULL;
	return FrontCallBody(fcinfo, "_body_evaluate_policy", 24, argtypes, vals, nulls);
}
