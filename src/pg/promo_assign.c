/*
 * promo_assign.c
 *	  SQL entry points of offer assignment: recpromo._assign_run (one
 *	  budget: the chosen candidates and totals) and recpromo._assign_curve
 *	  (profit versus budget), over candidate columns that the PL/pgSQL
 *	  wrappers assign_offers*() read from the caller's table and map to
 *	  dense customer and offer numbers.  The algorithm and its bound are in
 *	  src/core/rp_assign.c.
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

#define RUN_COLS 5
#define CURVE_COLS 5

typedef struct AssignInput
{
	int64		n;
	int32	   *customer;
	int32	   *offer;
	double	   *value;
	double	   *cost;
	int32		n_customers;
	int32		n_offers;
	int64	   *limits;
	int64	   *order;
	int64		n_order;
	void	   *work;
} AssignInput;

/* Arguments 0..4: customer int4[], offer int4[], value, cost, limits int8[] */
static void
ReadAssignInput(FunctionCallInfo fcinfo, AssignInput *in)
{
	int64		n2, n3, n4;
	size_t		ws;

	for (int a = 0; a < 4; a++)
		if (PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("candidate arrays must not be null")));
	in->customer = PromoIntVector(PG_GETARG_ARRAYTYPE_P(0), "customer", &in->n);
	in->offer = PromoIntVector(PG_GETARG_ARRAYTYPE_P(1), "offer", &n2);
	in->value = PromoFloatVector(PG_GETARG_ARRAYTYPE_P(2), "value", &n3);
	in->cost = PromoFloatVector(PG_GETARG_ARRAYTYPE_P(3), "cost", &n4);
	PromoCheckLength(n2, in->n, "offer");
	PromoCheckLength(n3, in->n, "value");
	PromoCheckLength(n4, in->n, "cost");
	in->n_customers = 0;
	in->n_offers = 0;
	for (int64 i = 0; i < in->n; i++)
	{
		if (in->customer[i] < 1 || in->offer[i] < 1)
			elog(ERROR, "customer and offer numbers must be positive");
		if (in->cost[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("offer costs must be >= 0"),
					 errdetail("Candidate %lld has cost %g.", (long long) i + 1, in->cost[i])));
		in->customer[i]--;		/* to 0-based */
		in->offer[i]--;
		if (in->customer[i] >= in->n_customers)
			in->n_customers = in->customer[i] + 1;
		if (in->offer[i] >= in->n_offers)
			in->n_offers = in->offer[i] + 1;
	}
	in->limits = NULL;
	if (!PG_ARGISNULL(4))
	{
		ArrayType  *la = PG_GETARG_ARRAYTYPE_P(4);
		Datum	   *ld;
		bool	   *lnull;
		int			nl;

		if (ARR_ELEMTYPE(la) != INT8OID)
			elog(ERROR, "limits must be bigint[]");
		deconstruct_array(la, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &ld, &lnull, &nl);
		in->limits = palloc(sizeof(int64) * (in->n_offers > nl ? in->n_offers : nl) + 1);
		for (int o = 0; o < in->n_offers; o++)
			in->limits[o] = (o < nl && !lnull[o]) ? DatumGetInt64(ld[o]) : -1;
	}
	ws = rp_assign_workspace(in->n, in->n_customers, in->n_offers);
	RecpromoCheckMemory((double) ws + (double) in->n * 40, "offer assignment");
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
	AssignInput in;
	double		budget;
	int64	   *chosen;
	rp_assign_result res;
	rp_cancel	cancel = RecpromoCancelHook();
	Datum	   *cd;
	int64		m = 0;
	TupleDesc	tupdesc;
	Datum		values[RUN_COLS];
	bool		nulls[RUN_COLS] = {false};

	if (PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("budget must not be null")));
	budget = GetBudget(PG_GETARG_FLOAT8(5));
	ReadAssignInput(fcinfo, &in);
	chosen = palloc_extended(sizeof(int64) * (in.n_customers + 1), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_assign_run(in.n, in.customer, in.offer, in.value,
									  in.cost, in.n_customers, in.n_offers,
									  in.limits, budget, in.order, in.n_order,
									  1, chosen, &res, in.work, &cancel),
						"offer assignment");
	CHECK_FOR_INTERRUPTS();
	cd = palloc_extended(sizeof(Datum) * (res.assigned + 1), MCXT_ALLOC_HUGE);
	for (int32 c = 0; c < in.n_customers; c++)
		if (chosen[c] >= 0)
			cd[m++] = Int32GetDatum((int32) chosen[c] + 1);	/* 1-based */
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = PointerGetDatum(construct_array(cd, (int) m, INT4OID, 4, true, TYPALIGN_INT));
	values[1] = Int64GetDatum(res.assigned);
	values[2] = Float8GetDatum(res.spent);
	values[3] = Float8GetDatum(res.profit);
	values[4] = Float8GetDatum(res.upper_bound);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
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

	if (PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("budgets must not be null")));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(5), FLOAT8OID, sizeof(float8),
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
