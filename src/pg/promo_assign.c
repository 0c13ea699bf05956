/*
 * promo_assign.c
 *	  SQL entry points of offer assignment: recpromo._assign_run (one
 *	  budget: the chosen offers and the totals) and recpromo._assign_curve
 *	  (profit versus budget).  They take the candidate columns whole, as
 *	  arrays read by the PL/pgSQL wrappers assign_offers*() in one scan of
 *	  the caller's table, with customers and offers as text keys.
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
 * Arguments 0..5: customer text[], offer text[], value float8[],
 * cost float8[], limit_offers text[], limit_counts bigint[] (both NULL for
 * no limits).
 */
static void
ReadAssignInput(FunctionCallInfo fcinfo, AssignInput *in)
{
	int64		n2, n3, n4;
	Datum	   *cu, *of;
	double	   *v, *k;
	int64	   *idx;
	SortCtx		sc;
	size_t		ws;

	/* an empty candidate set arrives as NULL arrays from array_agg */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		cu = of = NULL;
		v = k = NULL;
		in->n = 0;
	}
	else
	{
		cu = TextElements(PG_GETARG_ARRAYTYPE_P(0), "customer", &in->n);
		of = TextElements(PG_GETARG_ARRAYTYPE_P(1), "offer", &n2);
		v = PromoFloatVector(PG_GETARG_ARRAYTYPE_P(2), "value", &n3);
		k = PromoFloatVector(PG_GETARG_ARRAYTYPE_P(3), "cost", &n4);
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
	if (!PG_ARGISNULL(4) && !PG_ARGISNULL(5))
	{
		int64		nl, nc;
		Datum	   *names = TextElements(PG_GETARG_ARRAYTYPE_P(4), "limit offer", &nl);
		Datum	   *cd;
		bool	   *cn;
		int			cnt;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(5), INT8OID, 8, FLOAT8PASSBYVAL,
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

PG_FUNCTION_INFO_V1(recpromo__assign_run);
Datum
recpromo__assign_run(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AssignInput in;
	double		budget;
	int64	   *chosen;
	rp_assign_result res;
	rp_cancel	cancel = RecpromoCancelHook();

	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("budget must be a finite number >= 0"),
				 errdetail("The budget given is NULL.")));
	budget = GetBudget(PG_GETARG_FLOAT8(6));
	ReadAssignInput(fcinfo, &in);
	chosen = palloc_extended(sizeof(int64) * (in.n_customers + 1), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_assign_run(in.n, in.customer, in.offer, in.value,
									  in.cost, in.n_customers, in.n_offers,
									  in.limits, budget, in.order, in.n_order,
									  1, chosen, &res, in.work, &cancel),
						"offer assignment");
	CHECK_FOR_INTERRUPTS();
	InitMaterializedSRF(fcinfo, 0);
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
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(recpromo__assign_curve);
Datum
recpromo__assign_curve(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AssignInput in;
	Datum	   *bd;
	bool	   *bnull;
	int			nb;
	int64	   *chosen;
	rp_cancel	cancel = RecpromoCancelHook();

	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("budgets must not be null")));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(6), FLOAT8OID, sizeof(float8),
					  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &bd, &bnull, &nb);
	for (int b = 0; b < nb; b++)
	{
		if (bnull[b])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("budgets must not contain NULL")));
		GetBudget(DatumGetFloat8(bd[b]));
	}
	ReadAssignInput(fcinfo, &in);
	chosen = palloc_extended(sizeof(int64) * (in.n_customers + 1), MCXT_ALLOC_HUGE);
	InitMaterializedSRF(fcinfo, 0);
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
	return (Datum) 0;
}
