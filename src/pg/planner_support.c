/*
 * planner_support.c
 *	  Planner support functions (pg_proc.prosupport) that give the planner
 *	  the row counts of recpromo's set-returning functions.
 *
 * Without them the planner takes a function's ROWS setting, one number for
 * every call.  That is wrong in both directions: recommend(u, 3) returns at
 * most 3 rows and score_uplift(model, 'customers', 'id') one per customer,
 * and a join of several such calls planned on a fixed guess can pick a plan
 * that runs for minutes instead of a second.  A support function answers
 * SupportRequestRows (PostgreSQL 12+, nodes/supportnodes.h) for one call
 * site, from its arguments as the planner sees them: after
 * eval_const_expressions, so named arguments are in position and omitted
 * ones carry their defaults (recommend(u) has the Const 10 in place of n).
 *
 * Two rules, each keyed on an argument NAME looked up in pg_proc, so one
 * support function serves any function that follows the naming convention:
 *
 *	- _rows_at_most_n: the argument "n" is a non-NULL integer constant: the
 *	  function returns at most n rows (recommend, recommend_for_items,
 *	  similar_items, similar_users).  The estimate is n, at least 1.
 *	- _rows_per_source_row: the argument "source" is a constant regclass, or
 *	  a constant (typically a typed NULL, as in time_split(NULL::orders, ...))
 *	  of a table's row type: the function returns about one row per row of
 *	  that relation.  The estimate is the relation's size as the planner
 *	  itself estimates it for a scan (estimate_rel_size, which also covers
 *	  tables never analysed), or pg_class.reltuples for other relation kinds.
 *
 * Whenever the rule does not apply (a parameter, a column of another table
 * in a LATERAL call, NULL, a view, a dropped relation), the function returns
 * NULL and the planner keeps the function's ROWS setting.  Nothing here can
 * raise an error for any argument value: support functions run inside the
 * planner for every query that mentions the function.
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/primnodes.h"
#include "nodes/supportnodes.h"
#include "optimizer/plancat.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

/*
 * The expression passed for the input argument called argname in a call of
 * function funcid (binary-compatible casts stripped), or NULL when the
 * function has no such argument.  args: the call's arguments, positional (as
 * the planner has them).
 */
static Node *
ArgNamed(Oid funcid, List *args, const char *argname)
{
	HeapTuple	proctup;
	Oid		   *types;
	char	  **names;
	char	   *modes;
	int			nargs;
	int			input = 0;
	Node	   *arg = NULL;

	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (!HeapTupleIsValid(proctup))
		return NULL;
	nargs = get_func_arg_info(proctup, &types, &names, &modes);
	ReleaseSysCache(proctup);

	/* count only the input arguments: OUT and TABLE columns are not in args */
	for (int i = 0; names != NULL && i < nargs; i++)
	{
		char		mode = modes ? modes[i] : PROARGMODE_IN;

		if (mode == PROARGMODE_OUT || mode == PROARGMODE_TABLE)
			continue;
		if (names[i] != NULL && strcmp(names[i], argname) == 0)
		{
			if (input < list_length(args))
				arg = (Node *) list_nth(args, input);
			break;
		}
		input++;
	}
	/* a binary-compatible cast (e.g. oid to regclass) keeps the value */
	while (arg != NULL && IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	return arg;
}

/* The call's arguments when req is a rows request about a function call. */
static List *
RowsRequestArgs(Node *rawreq, SupportRequestRows **req)
{
	if (!IsA(rawreq, SupportRequestRows))
		return NIL;
	*req = (SupportRequestRows *) rawreq;
	if ((*req)->node == NULL || !IsA((*req)->node, FuncExpr))
		return NIL;
	return ((FuncExpr *) (*req)->node)->args;
}

/*
 * _rows_at_most_n(internal) RETURNS internal: see the file comment.
 */
PG_FUNCTION_INFO_V1(recpromo_rows_at_most_n);
Datum
recpromo_rows_at_most_n(PG_FUNCTION_ARGS)
{
	SupportRequestRows *req = NULL;
	List	   *args = RowsRequestArgs((Node *) PG_GETARG_POINTER(0), &req);
	Node	   *arg;
	Const	   *n;

	if (args == NIL)
		PG_RETURN_POINTER(NULL);
	arg = ArgNamed(req->funcid, args, "n");
	if (arg == NULL || !IsA(arg, Const) || ((Const *) arg)->constisnull)
		PG_RETURN_POINTER(NULL);
	n = (Const *) arg;
	switch (n->consttype)
	{
		case INT4OID:
			req->rows = Max((double) DatumGetInt32(n->constvalue), 1.0);
			break;
		case INT8OID:
			req->rows = Max((double) DatumGetInt64(n->constvalue), 1.0);
			break;
		case INT2OID:
			req->rows = Max((double) DatumGetInt16(n->constvalue), 1.0);
			break;
		default:
			PG_RETURN_POINTER(NULL);
	}
	PG_RETURN_POINTER(req);
}

/*
 * Estimated number of rows of relation relid, or -1 when unknown (no such
 * relation, a view, a never-analysed relation of a kind without storage).
 */
static double
RelationRows(Oid relid)
{
	char		relkind = get_rel_relkind(relid);
	double		rows = -1;

	if (relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW)
	{
		Relation	rel = try_relation_open(relid, AccessShareLock);

		if (rel != NULL)
		{
			BlockNumber pages;
			double		tuples;
			double		allvisfrac;

			estimate_rel_size(rel, NULL, &pages, &tuples, &allvisfrac);
			rows = tuples;
			relation_close(rel, AccessShareLock);
		}
	}
	else if (relkind != '\0')
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

		if (HeapTupleIsValid(tup))
		{
			rows = ((Form_pg_class) GETSTRUCT(tup))->reltuples;
			ReleaseSysCache(tup);
		}
	}
	return rows;
}

/*
 * _rows_per_source_row(internal) RETURNS internal: see the file comment.
 */
PG_FUNCTION_INFO_V1(recpromo_rows_per_source_row);
Datum
recpromo_rows_per_source_row(PG_FUNCTION_ARGS)
{
	SupportRequestRows *req = NULL;
	List	   *args = RowsRequestArgs((Node *) PG_GETARG_POINTER(0), &req);
	Node	   *arg;
	Const	   *source;
	Oid			relid;
	double		rows;

	if (args == NIL)
		PG_RETURN_POINTER(NULL);
	arg = ArgNamed(req->funcid, args, "source");
	if (arg == NULL || !IsA(arg, Const))
		PG_RETURN_POINTER(NULL);
	source = (Const *) arg;
	if (source->consttype == REGCLASSOID || source->consttype == OIDOID)
	{
		if (source->constisnull)
			PG_RETURN_POINTER(NULL);
		relid = DatumGetObjectId(source->constvalue);
	}
	else
	{
		/* a value, typically a typed NULL, of a table's row type */
		relid = get_typ_typrelid(source->consttype);
	}

	if (!OidIsValid(relid))
		PG_RETURN_POINTER(NULL);
	rows = RelationRows(relid);
	if (rows < 0)
		PG_RETURN_POINTER(NULL);
	req->rows = Max(rows, 1.0);
	PG_RETURN_POINTER(req);
}
