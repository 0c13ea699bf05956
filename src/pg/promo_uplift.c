/*
 * promo_uplift.c
 *	  SQL entry points of uplift evaluation: recpromo._uplift_metrics and
 *	  recpromo._uplift_curve, over whole columns (scores, treated flags,
 *	  outcomes) that the PL/pgSQL wrappers uplift_evaluate() and
 *	  uplift_curve() read from the caller's table.  Definitions of every
 *	  metric are in src/core/rp_uplift.h and the README.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "promo.h"
#include "recpromo.h"
#include "rp_uplift.h"

#define METRICS_COLS 4
#define CURVE_COLS 3
#define MAX_BOOT 100000
#define MAX_POINTS 100000

typedef struct UpliftInput
{
	int64		n;
	double	   *score;
	uint8	   *treated;
	double	   *y;
	int64	   *order;
} UpliftInput;

/* Reads and checks the three columns, then ranks by score. */
static void
ReadUpliftInput(FunctionCallInfo fcinfo, UpliftInput *in)
{
	int64		nt, ny;
	int64		n_treated = 0;
	void	   *work;

	for (int a = 0; a < 3; a++)
		if (PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("scores, treated flags and outcomes must not be null")));
	in->score = PromoFloatVector(PG_GETARG_ARRAYTYPE_P(0), "score", &in->n);
	in->treated = PromoBoolVector(PG_GETARG_ARRAYTYPE_P(1), "treated", &nt);
	in->y = PromoFloatVector(PG_GETARG_ARRAYTYPE_P(2), "outcome", &ny);
	PromoCheckLength(nt, in->n, "treated");
	PromoCheckLength(ny, in->n, "outcome");
	if (in->n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot evaluate uplift on fewer than 2 rows")));
	for (int64 i = 0; i < in->n; i++)
		n_treated += in->treated[i];
	if (n_treated == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no treated rows"),
				 errhint("Check the treatment column and the treatment label.")));
	if (n_treated == in->n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no control group"),
				 errhint("Uplift needs randomised control rows; check the control label.")));
	RecpromoCheckMemory((double) in->n * (sizeof(int64) + 16), "uplift evaluation");
	in->order = palloc_extended(sizeof(int64) * in->n, MCXT_ALLOC_HUGE);
	work = palloc_extended(rp_uplift_order_workspace(in->n), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_uplift_order(in->n, in->score, in->order, work),
						"uplift evaluation");
	pfree(work);
}

PG_FUNCTION_INFO_V1(recpromo__uplift_metrics);
Datum
recpromo__uplift_metrics(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	UpliftInput in;
	double		k_frac;
	int32		n_boot;
	int64		seed;
	double		level;
	rp_uplift_metrics m;
	double		lo[RP_UPLIFT_NMETRICS], hi[RP_UPLIFT_NMETRICS];
	double		val[RP_UPLIFT_NMETRICS];
	static const char *const names[RP_UPLIFT_NMETRICS] =
	{"qini_coefficient", "auuc", "uplift_at_k", "ate"};
	rp_cancel	cancel = RecpromoCancelHook();

	for (int a = 3; a < 7; a++)
		if (PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("k_percent, n_boot, seed and confidence must not be null")));
	k_frac = PG_GETARG_FLOAT8(3) / 100.0;
	n_boot = PG_GETARG_INT32(4);
	seed = PG_GETARG_INT64(5);
	level = PG_GETARG_FLOAT8(6);
	if (!(k_frac > 0 && k_frac <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k_percent must be in (0, 100]")));
	if (n_boot != 0 && (n_boot < 10 || n_boot > MAX_BOOT))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n_boot must be 0 or between 10 and %d", MAX_BOOT)));
	if (!(level > 0 && level < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("confidence must be in (0, 1)")));

	ReadUpliftInput(fcinfo, &in);
	RecpromoCheckStatus(rp_uplift_evaluate(in.n, in.order, in.score, in.treated,
										   in.y, NULL, k_frac, 0, NULL, NULL,
										   NULL, &m), "uplift evaluation");
	if (n_boot > 0)
	{
		size_t		ws = rp_uplift_bootstrap_workspace(in.n, n_boot);
		void	   *work;
		rp_status	st;

		RecpromoCheckMemory((double) ws, "uplift bootstrap");
		work = palloc_extended(ws, MCXT_ALLOC_HUGE);
		st = rp_uplift_bootstrap(in.n, in.order, in.score, in.treated, in.y,
								 k_frac, n_boot, (uint64) seed, level, lo, hi,
								 work, &cancel);
		CHECK_FOR_INTERRUPTS();
		RecpromoCheckStatus(st, "uplift bootstrap");
	}
	val[0] = m.qini;
	val[1] = m.auuc;
	val[2] = m.uplift_at_k;
	val[3] = m.ate;

	InitMaterializedSRF(fcinfo, 0);
	for (int j = 0; j < RP_UPLIFT_NMETRICS; j++)
	{
		Datum		values[METRICS_COLS];
		bool		nulls[METRICS_COLS] = {false};

		values[0] = CStringGetTextDatum(names[j]);
		values[1] = Float8GetDatum(val[j]);
		values[2] = Float8GetDatum(lo[j]);
		values[3] = Float8GetDatum(hi[j]);
		nulls[2] = nulls[3] = (n_boot == 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(recpromo__uplift_curve);
Datum
recpromo__uplift_curve(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	UpliftInput in;
	int32		npoints;
	double	   *f, *q, *u;
	rp_uplift_metrics m;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("points must not be null")));
	npoints = PG_GETARG_INT32(3);
	if (npoints < 1 || npoints > MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("points must be between 1 and %d", MAX_POINTS)));
	ReadUpliftInput(fcinfo, &in);
	f = palloc(sizeof(double) * npoints);
	q = palloc(sizeof(double) * npoints);
	u = palloc(sizeof(double) * npoints);
	RecpromoCheckStatus(rp_uplift_evaluate(in.n, in.order, in.score, in.treated,
										   in.y, NULL, 1.0, npoints, f, q, u,
										   &m), "uplift evaluation");
	InitMaterializedSRF(fcinfo, 0);
	for (int j = 0; j < npoints; j++)
	{
		Datum		values[CURVE_COLS];
		bool		nulls[CURVE_COLS] = {false};

		values[0] = Float8GetDatum(f[j]);
		values[1] = Float8GetDatum(q[j]);
		values[2] = Float8GetDatum(u[j]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
