/*
 * promo_assign.c
 *	  Offer assignment: the public functions assign_offers (one budget: the
 *	  chosen offers and the totals), assign_offers_curve (profit versus
 *	  budget) and assign_offers_from_model (candidates scored by a stored
 *	  uplift model).  Each reads the candidate columns whole, as arrays, in
 *	  one scan of the caller's table with the caller's privileges
 *	  (promo_query.c), customers and offers as text keys.  offer_limits, a
 *	  jsonb object of offer: count, is checked by a query over jsonb_each.
 *	  Until 0.3.0 this was PL/pgSQL over the internal SQL functions
 *	  _assign_read, _assign_solve, _assign_run and _assign_curve, which
 *	  every role could call (issue 18); the last two remain as C symbols
 *	  for the older install scripts.
 *
 * Determinism without an ORDER BY in SQL: the candidates are sorted here by
 * (customer, offer, value, cost), comparing keys as bytes, and numbered in
 * that order, so the greedy's tie-breaks (by candidate number) do not depend
 * on the order in which the table returned its rows.  Dense customer and
 * offer numbers come from the same sorts.  The algorithm and its bound are
 * in src/core/rp_assign.c.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include <math.h>
#include "utils/tuplestore.h"

#include "compat.h"
#include "promo.h"
#include "recpromo.h"
#include "rp_assign.h"

#define RUN_COLS 9
#define CURVE_COLS 5

typedef struct AssignInput
{
	int64		n;
	Datum	   *cust_key;		/* text, in sorted candidate order */
	Datum	   *offer_key;
	int32	   *customer;
	int32	   *offer;
	double	   *value;
	double	   *cost;
	int32		n_customers;
	int32		n_offers;
	Datum	   *offer_names;	/* n_offers distinct offers, sorted */
	int64	   *limits;
	int64	   *order;
	int64		n_order;
	void	   *work;
} AssignInput;

typedef struct SortCtx
{
	Datum	   *cu;
	Datum	   *of;
	double	   *v;
	double	   *k;
} SortCtx;

static int
TextCmp(Datum a, Datum b)
{
	text	   *x = (text *) DatumGetPointer(a);
	text	   *y = (text *) DatumGetPointer(b);
	int			lx = VARSIZE_ANY_EXHDR(x);
	int			ly = VARSIZE_ANY_EXHDR(y);
	int			c = memcmp(VARDATA_ANY(x), VARDATA_ANY(y), Min(lx, ly));

	if (c != 0)
		return c;
	return (lx > ly) - (lx < ly);
}

static int
CandCmp(const void *a, const void *b, void *arg)
{
	SortCtx    *s = arg;
	int64		i = *(const int64 *) a;
	int64		j = *(const int64 *) b;
	int			c;

	if ((c = TextCmp(s->cu[i], s->cu[j])) != 0)
		return c;
	if ((c = TextCmp(s->of[i], s->of[j])) != 0)
		return c;
	if (s->v[i] != s->v[j])
		return s->v[i] < s->v[j] ? -1 : 1;
	if (s->k[i] != s->k[j])
		return s->k[i] < s->k[j] ? -1 : 1;
	return (i > j) - (i < j);
}

static int
OfferCmp(const void *a, const void *b, void *arg)
{
	SortCtx    *s = arg;
	int64		i = *(const int64 *) a;
	int64		j = *(const int64 *) b;
	int			c = TextCmp(s->of[i], s->of[j]);

	return c != 0 ? c : (i > j) - (i < j);
}

static Datum *
TextElements(ArrayType *a, const char *what, int64 *n)
{
	Datum	   *d;
	bool	   *nulls;
	int			cnt;

	if (ARR_ELEMTYPE(a) != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be text[]", what)));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, &cnt);
	for (int i = 0; i < cnt; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("candidates have missing values"),
					 errdetail("The %s of candidate %d is NULL.", what, i + 1),
					 errhint("Filter the NULL rows with a view first.")));
	*n = cnt;
	return d;
}

/*
 * a[0..5] (NULL where isnull): customer text[], offer text[], value
 * float8[], cost float8[], limit_offers text[], limit_counts bigint[] (both
 * NULL for no limits).
 */
static void
ReadAssignInput(const Datum *a, const bool *isnull, AssignInput *in)
{
	int64		n2, n3, n4;
	Datum	   *cu, *of;
	double	   *v, *k;
	int64	   *idx;
	SortCtx		sc;
	size_t		ws;

	/* an empty candidate set arrives as NULL arrays from array_agg */
	if (isnull[0] || isnull[1] || isnull[2] || isnull[3])
	{
		cu = of = NULL;
		v = k = NULL;
		in->n = 0;
	}
	else
	{
		cu = TextElements(DatumGetArrayTypeP(a[0]), "customer", &in->n);
		of = TextElements(DatumGetArrayTypeP(a[1]), "offer", &n2);
		v = PromoFloatVector(DatumGetArrayTypeP(a[2]), "value", &n3);
		k = PromoFloatVector(DatumGetArrayTypeP(a[3]), "cost", &n4);
		PromoCheckLength(n2, in->n, "offer");
		PromoCheckLength(n3, in->n, "value");
		PromoCheckLength(n4, in->n, "cost");
	}
	if (in->n > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot assign over %lld candidates, the limit is %d",
						(long long) in->n, INT_MAX)));
	for (int64 i = 0; i < in->n; i++)
		if (k[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("offer costs must be >= 0"),
					 errdetail("A candidate of customer \"%s\" has cost %g.",
							   TextDatumGetCString(cu[i]), k[i])));
	RecpromoCheckMemory((double) in->n * 120, "offer assignment");

	/* sort candidates, then number customers and offers */
	idx = palloc_extended(sizeof(int64) * (in->n + 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < in->n; i++)
		idx[i] = i;
	sc.cu = cu;
	sc.of = of;
	sc.v = v;
	sc.k = k;
	qsort_arg(idx, in->n, sizeof(int64), CandCmp, &sc);
	CHECK_FOR_INTERRUPTS();
	in->cust_key = palloc_extended(sizeof(Datum) * (in->n + 1), MCXT_ALLOC_HUGE);
	in->offer_key = palloc_extended(sizeof(Datum) * (in->n + 1), MCXT_ALLOC_HUGE);
	in->customer = palloc_extended(sizeof(int32) * (in->n + 1), MCXT_ALLOC_HUGE);
	in->offer = palloc_extended(sizeof(int32) * (in->n + 1), MCXT_ALLOC_HUGE);
	in->value = palloc_extended(sizeof(double) * (in->n + 1), MCXT_ALLOC_HUGE);
	in->cost = palloc_extended(sizeof(double) * (in->n + 1), MCXT_ALLOC_HUGE);
	in->n_customers = 0;
	for (int64 r = 0; r < in->n; r++)
	{
		int64		i = idx[r];

		if (r > 0 && TextCmp(cu[i], cu[idx[r - 1]]) != 0)
			in->n_customers++;
		in->customer[r] = in->n_customers;
		in->cust_key[r] = cu[i];
		in->offer_key[r] = of[i];
		in->value[r] = v[i];
		in->cost[r] = k[i];
	}
	if (in->n > 0)
		in->n_customers++;
	/* offers: sort positions (now in candidate order) by offer key */
	for (int64 i = 0; i < in->n; i++)
		idx[i] = i;
	sc.of = in->offer_key;
	qsort_arg(idx, in->n, sizeof(int64), OfferCmp, &sc);
	in->n_offers = 0;
	in->offer_names = palloc(sizeof(Datum) * 1);
	{
		int			cap = 1;

		for (int64 r = 0; r < in->n; r++)
		{
			if (r == 0 || TextCmp(in->offer_key[idx[r]], in->offer_key[idx[r - 1]]) != 0)
			{
				if (in->n_offers == cap)
				{
					cap *= 2;
					in->offer_names = repalloc(in->offer_names, sizeof(Datum) * cap);
				}
				in->offer_names[in->n_offers++] = in->offer_key[idx[r]];
			}
			in->offer[idx[r]] = in->n_offers - 1;
		}
	}

	in->limits = NULL;
	if (!isnull[4] && !isnull[5])
	{
		int64		nl, nc;
		Datum	   *names = TextElements(DatumGetArrayTypeP(a[4]), "limit offer", &nl);
		Datum	   *cd;
		bool	   *cn;
		int			cnt;

		deconstruct_array(DatumGetArrayTypeP(a[5]), INT8OID, 8, FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &cd, &cn, &cnt);
		nc = cnt;
		PromoCheckLength(nc, nl, "limit counts");
		in->limits = palloc(sizeof(int64) * (in->n_offers + 1));
		for (int o = 0; o < in->n_offers; o++)
			in->limits[o] = -1;
		for (int64 j = 0; j < nl; j++)
		{
			int			found = -1;

			for (int o = 0; o < in->n_offers; o++)
				if (TextCmp(names[j], in->offer_names[o]) == 0)
					found = o;
			if (found < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("offer limit names unknown offer \"%s\"",
								TextDatumGetCString(names[j])),
						 errhint("Limits must name offers that occur in the candidates.")));
			if (cn[j] || DatumGetInt64(cd[j]) < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("offer limit of \"%s\" must be an integer >= 0",
								TextDatumGetCString(names[j]))));
			in->limits[found] = DatumGetInt64(cd[j]);
		}
	}
	pfree(idx);

	ws = rp_assign_workspace(in->n, in->n_customers, in->n_offers);
	in->work = palloc_extended(ws, MCXT_ALLOC_HUGE);
	in->order = palloc_extended(sizeof(int64) * (in->n > 0 ? in->n : 1), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_assign_order(in->n, in->value, in->cost, in->order,
										&in->n_order, in->work),
						"offer assignment");
}

static double
GetBudget(double b)
{
	if (!(b >= 0) || !rp_finite(b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("budget must be a finite number >= 0"),
				 errdetail("The budget given is %g.", b)));
	return b;
}

/*
 * Greedy assignment for one budget over the candidate arrays a[0..5] (see
 * ReadAssignInput); one row per customer served into rsinfo's tuplestore.
 */
static void
AssignRun(const Datum *a, const bool *isnull, double budget, ReturnSetInfo *rsinfo)
{
	AssignInput in;
	int64	   *chosen;
	rp_assign_result res;
	rp_cancel	cancel = RecpromoCancelHook();

	ReadAssignInput(a, isnull, &in);
	chosen = palloc_extended(sizeof(int64) * (in.n_customers + 1), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_assign_run(in.n, in.customer, in.offer, in.value,
									  in.cost, in.n_customers, in.n_offers,
									  in.limits, budget, in.order, in.n_order,
									  1, chosen, &res, in.work, &cancel),
						"offer assignment");
	CHECK_FOR_INTERRUPTS();
	for (int32 c = 0; c < in.n_customers; c++)
	{
		int64		i = chosen[c];
		Datum		values[RUN_COLS];
		bool		nulls[RUN_COLS] = {false};

		if (i < 0)
			continue;
		values[0] = in.cust_key[i];
		values[1] = in.offer_key[i];
		values[2] = Float8GetDatum(in.value[i]);
		values[3] = Float8GetDatum(in.cost[i]);
		values[4] = Float8GetDatum(in.value[i] - in.cost[i]);
		values[5] = Int64GetDatum(res.assigned);
		values[6] = Float8GetDatum(res.spent);
		values[7] = Float8GetDatum(res.profit);
		values[8] = Float8GetDatum(res.upper_bound);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Checks a list of budgets (no NULL, each finite and >= 0). */
static void
CheckBudgets(ArrayType *budgets, Datum **bd, int *nb)
{
	bool	   *bnull;

	deconstruct_array(budgets, FLOAT8OID, sizeof(float8),
					  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, bd, &bnull, nb);
	for (int b = 0; b < *nb; b++)
	{
		if (bnull[b])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("budgets must not contain NULL")));
		GetBudget(DatumGetFloat8((*bd)[b]));
	}
}

/* The profit-versus-budget curve over the candidate arrays a[0..5]. */
static void
AssignCurve(const Datum *a, const bool *isnull, ArrayType *budgets, ReturnSetInfo *rsinfo)
{
	AssignInput in;
	Datum	   *bd;
	int			nb;
	int64	   *chosen;
	rp_cancel	cancel = RecpromoCancelHook();

	CheckBudgets(budgets, &bd, &nb);
	ReadAssignInput(a, isnull, &in);
	chosen = palloc_extended(sizeof(int64) * (in.n_customers + 1), MCXT_ALLOC_HUGE);
	for (int b = 0; b < nb; b++)
	{
		rp_assign_result res;
		Datum		values[CURVE_COLS];
		bool		nulls[CURVE_COLS] = {false};

		CHECK_FOR_INTERRUPTS();
		RecpromoCheckStatus(rp_assign_run(in.n, in.customer, in.offer, in.value,
										  in.cost, in.n_customers, in.n_offers,
										  in.limits, DatumGetFloat8(bd[b]),
										  in.order, in.n_order, 1, chosen,
										  &res, in.work, &cancel),
							"offer assignment");
		values[0] = bd[b];
		values[1] = Int64GetDatum(res.assigned);
		values[2] = Float8GetDatum(res.spent);
		values[3] = Float8GetDatum(res.profit);
		values[4] = Float8GetDatum(res.upper_bound);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * Old entry points (0.1.0 and 0.2.0 install scripts): _assign_run and
 * _assign_curve over arrays.  No SQL function of this version uses them;
 * they stay so that an older install script still loads this library.
 */
PG_FUNCTION_INFO_V1(recpromo__assign_run);
Datum
recpromo__assign_run(PG_FUNCTION_ARGS)
{
	double		budget;
	Datum		a[6];
	bool		isnull[6];

	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("budget must be a finite number >= 0"),
				 errdetail("The budget given is NULL.")));
	budget = GetBudget(PG_GETARG_FLOAT8(6));
	for (int i = 0; i < 6; i++)
	{
		isnull[i] = PG_ARGISNULL(i);
		a[i] = isnull[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	InitMaterializedSRF(fcinfo, 0);
	AssignRun(a, isnull, budget, (ReturnSetInfo *) fcinfo->resultinfo);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(recpromo__assign_curve);
Datum
recpromo__assign_curve(PG_FUNCTION_ARGS)
{
	Datum		a[6];
	bool		isnull[6];

	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("budgets must not be null")));
	for (int i = 0; i < 6; i++)
	{
		isnull[i] = PG_ARGISNULL(i);
		a[i] = isnull[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	InitMaterializedSRF(fcinfo, 0);
	AssignCurve(a, isnull, PG_GETARG_ARRAYTYPE_P(6), (ReturnSetInfo *) fcinfo->resultinfo);
	return (Datum) 0;
}

/* Public functions ---------------------------------------------------------- */

/*
 * Reads the candidates of a table as arrays in one scan (a[0..3]: customer,
 * offer, value, cost; all NULL when the table is empty), after checking the
 * four columns in the order assign_offers always checked them.
 */
static void
ReadCandidates(PromoCall *pc, FunctionCallInfo fcinfo, Datum *a, bool *isnull)
{
	Oid			rel = PromoSourceArg(fcinfo, 0);
	char	   *cust = PromoNameArg(fcinfo, 1);
	char	   *offer = PromoNameArg(fcinfo, 2);
	char	   *vexpr, *kexpr;
	char	   *sql;

	PromoColType(rel, cust, "customer column");
	PromoColType(rel, offer, "offer column");
	vexpr = PromoNumExpr(rel, PromoNameArg(fcinfo, 3), "value column");
	kexpr = PromoNumExpr(rel, PromoNameArg(fcinfo, 4), "cost column");
	sql = psprintf("SELECT pg_catalog.array_agg((%s)::pg_catalog.text), pg_catalog.array_agg((%s)::pg_catalog.text),"
				   " pg_catalog.array_agg(%s), pg_catalog.array_agg(%s) FROM %s",
				   quote_identifier(cust), quote_identifier(offer), vexpr, kexpr,
				   PromoRelSql(rel));
	PromoQueryRow(pc, sql, 0, NULL, NULL, NULL, 4, a, isnull);
}

/*
 * Checks offer_limits (a jsonb object of offer: count, or NULL) and sets
 * a[4], a[5] to its offers (sorted) and counts, NULL when none is given.
 */
static void
ReadOfferLimits(PromoCall *pc, FunctionCallInfo fcinfo, int argno, Datum *a, bool *isnull)
{
	Oid			types[1] = {JSONBOID};
	Datum		vals[1];
	Datum		out[2];
	bool		outnull[2];
	Jsonb	   *lim;

	isnull[4] = isnull[5] = true;
	a[4] = a[5] = (Datum) 0;
	if (PG_ARGISNULL(argno))
		return;
	lim = PG_GETARG_JSONB_P(argno);
	if (!JB_ROOT_IS_OBJECT(lim))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("offer_limits must be a json object of offer: count")));
	vals[0] = JsonbPGetDatum(lim);
	PromoQueryRow(pc,
				  "SELECT pg_catalog.string_agg(e.ek, ', ') FROM pg_catalog.jsonb_each($1) AS e(ek, ev)"
				  " WHERE pg_catalog.jsonb_typeof(e.ev) OPERATOR(pg_catalog.<>) 'number'"
				  " OR (e.ev)::pg_catalog.numeric OPERATOR(pg_catalog.<) 0"
				  " OR (e.ev)::pg_catalog.numeric OPERATOR(pg_catalog.<>) pg_catalog.trunc((e.ev)::pg_catalog.numeric)"
				  " OR (e.ev)::pg_catalog.numeric OPERATOR(pg_catalog.>) 9e18",
				  1, types, vals, NULL, 1, out, outnull);
	if (!outnull[0])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid offer limits for %s", TextDatumGetCString(out[0])),
				 errhint("Limits are integers >= 0.")));
	PromoQueryRow(pc,
				  "SELECT pg_catalog.array_agg(e.ek ORDER BY e.ek),"
				  " pg_catalog.array_agg((e.ev)::pg_catalog.numeric::pg_catalog.int8 ORDER BY e.ek)"
				  " FROM pg_catalog.jsonb_each($1) AS e(ek, ev)",
				  1, types, vals, NULL, 2, &a[4], &isnull[4]);
}

/* The budget argument, checked: finite and >= 0. */
static double
BudgetArg(FunctionCallInfo fcinfo, int argno)
{
	double		b;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("budget must be a finite number >= 0"),
				 errdetail("The budget given is NULL.")));
	b = PG_GETARG_FLOAT8(argno);
	if (!(b >= 0) || isinf(b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("budget must be a finite number >= 0"),
				 errdetail("The budget given is %s.",
						   DatumGetCString(DirectFunctionCall1(float8out, Float8GetDatum(b))))));
	return b;
}

/*
 * assign_offers(candidates regclass, customer_col name, offer_col name,
 *				 value_col name, cost_col name, budget float8,
 *				 offer_limits jsonb DEFAULT NULL)
 */
PG_FUNCTION_INFO_V1(recpromo_assign_offers);
Datum
recpromo_assign_offers(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Datum		a[6];
	bool		isnull[6];
	double		budget;

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	ReadCandidates(&pc, fcinfo, a, isnull);
	budget = BudgetArg(fcinfo, 5);
	ReadOfferLimits(&pc, fcinfo, 6, a, isnull);
	AssignRun(a, isnull, budget, (ReturnSetInfo *) fcinfo->resultinfo);
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * assign_offers_curve(candidates regclass, customer_col name, offer_col
 *					   name, value_col name, cost_col name, budgets float8[],
 *					   offer_limits jsonb DEFAULT NULL)
 */
PG_FUNCTION_INFO_V1(recpromo_assign_offers_curve);
Datum
recpromo_assign_offers_curve(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Datum		a[6];
	bool		isnull[6];

	if (PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("budgets must not be null")));
	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	ReadCandidates(&pc, fcinfo, a, isnull);
	ReadOfferLimits(&pc, fcinfo, 6, a, isnull);
	AssignCurve(a, isnull, PG_GETARG_ARRAYTYPE_P(5), (ReturnSetInfo *) fcinfo->resultinfo);
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * assign_offers_from_model(model text, customers regclass, key_col name,
 *							offer_costs jsonb, budget float8,
 *							value_per_unit float8 DEFAULT 1,
 *							offer_limits jsonb DEFAULT NULL)
 *
 * The model is read through the public functions predict_uplift (its arms,
 * after the read-grant and integrity checks) and score_uplift (the
 * candidates), so this function checks nothing they do not.
 */
PG_FUNCTION_INFO_V1(recpromo_assign_offers_from_model);
Datum
recpromo_assign_offers_from_model(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Datum		a[6];
	bool		isnull[6];
	Oid			types[5];
	Datum		vals[5];
	bool		vnull[5];
	Datum		arms;
	bool		arms_null;
	Datum		out;
	bool		outnull;
	double		vpu;
	double		budget;

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	types[0] = TEXTOID;
	vals[0] = PG_GETARG_DATUM(0);
	vnull[0] = PG_ARGISNULL(0);
	PromoQueryRow(&pc,
				  psprintf("SELECT pg_catalog.array_agg(p.treatment ORDER BY p.o)"
						   " FROM %s.predict_uplift($1, '{}'::pg_catalog.jsonb) WITH ORDINALITY AS p(treatment, uplift, o)",
						   pc.schema),
				  1, types, vals, vnull, 1, &arms, &arms_null);
	if (PG_ARGISNULL(3) || !JB_ROOT_IS_OBJECT(PG_GETARG_JSONB_P(3)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("offer_costs must be a json object of treatment: cost")));
	types[1] = JSONBOID;
	vals[0] = arms;
	vnull[0] = arms_null;
	types[0] = TEXTARRAYOID;
	vals[1] = PG_GETARG_DATUM(3);
	vnull[1] = false;
	PromoQueryRow(&pc,
				  "SELECT pg_catalog.string_agg(u.t, ', ' ORDER BY u.i)"
				  "  FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(t, i),"
				  "       LATERAL (SELECT pg_catalog.jsonb_extract_path($2, u.t) AS c) x"
				  " WHERE NOT CASE WHEN pg_catalog.jsonb_typeof(x.c) IS DISTINCT FROM 'number' THEN false"
				  "                ELSE pg_catalog.abs((x.c)::pg_catalog.numeric) OPERATOR(pg_catalog.<=) 1e300"
				  "                     AND ((x.c)::pg_catalog.numeric OPERATOR(pg_catalog.=) 0"
				  "                          OR pg_catalog.abs((x.c)::pg_catalog.numeric) OPERATOR(pg_catalog.>=) 1e-300) END",
				  2, types, vals, vnull, 1, &out, &outnull);
	if (!outnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("offer_costs has no numeric cost for %s", TextDatumGetCString(out))));
	if (PG_ARGISNULL(5) || isnan(PG_GETARG_FLOAT8(5)) || isinf(PG_GETARG_FLOAT8(5)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value_per_unit must be a finite number")));
	vpu = PG_GETARG_FLOAT8(5);
	/* the model's scores, in score_uplift's order */
	types[0] = TEXTOID;
	vals[0] = PG_GETARG_DATUM(0);
	vnull[0] = PG_ARGISNULL(0);
	types[1] = REGCLASSOID;
	vals[1] = PG_GETARG_DATUM(1);
	vnull[1] = PG_ARGISNULL(1);
	types[2] = NAMEOID;
	vals[2] = PG_GETARG_DATUM(2);
	vnull[2] = PG_ARGISNULL(2);
	types[3] = FLOAT8OID;
	vals[3] = Float8GetDatum(vpu);
	vnull[3] = false;
	types[4] = JSONBOID;
	vals[4] = PG_GETARG_DATUM(3);
	vnull[4] = false;
	PromoQueryRow(&pc,
				  psprintf("SELECT pg_catalog.array_agg(s.key), pg_catalog.array_agg(s.treatment),"
						   " pg_catalog.array_agg(s.uplift OPERATOR(pg_catalog.*) $4),"
						   " pg_catalog.array_agg((pg_catalog.jsonb_extract_path($5, s.treatment))::pg_catalog.float8)"
						   " FROM %s.score_uplift($1, $2, $3) s WHERE s.uplift IS NOT NULL",
						   pc.schema),
				  5, types, vals, vnull, 4, a, isnull);
	budget = BudgetArg(fcinfo, 4);
	ReadOfferLimits(&pc, fcinfo, 6, a, isnull);
	AssignRun(a, isnull, budget, (ReturnSetInfo *) fcinfo->resultinfo);
	PromoEnd(&pc);
	return (Datum) 0;
}
