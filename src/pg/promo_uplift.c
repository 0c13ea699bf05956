/*
 * promo_uplift.c
 *	  Uplift evaluation on randomised campaign data: uplift_evaluate (Qini,
 *	  AUUC, uplift@k, ATE with bootstrap intervals), uplift_curve,
 *	  uplift_by_decile and uplift_balance, plus UpliftArms, the check of a
 *	  campaign's control group that train_uplift shares.
 *
 * A comparison (one treatment, or all, against the control label) is read
 * in one query into three arrays, scores, treated flags and outcomes,
 * sorted by (score, treated, outcome), so that the metrics do not depend on
 * the order of the scan; the caller's privileges and row-level security
 * apply (promo_query.c).  Definitions of every metric are in
 * src/core/rp_uplift.h and doc/promotions.md.  The old array entry points
 * _uplift_metrics and _uplift_curve remain as C symbols for the 0.1.0 and
 * 0.2.0 install scripts; no SQL function of this version uses them.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
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

/* Reads and checks the three columns a[0..2], then ranks by score. */
static void
ReadUpliftInput(const Datum *a, const bool *isnull, UpliftInput *in)
{
	int64		nt, ny;
	int64		n_treated = 0;
	void	   *work;

	for (int i = 0; i < 3; i++)
		if (isnull[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("scores, treated flags and outcomes must not be null")));
	in->score = PromoFloatVector(DatumGetArrayTypeP(a[0]), "score", &in->n);
	in->treated = PromoBoolVector(DatumGetArrayTypeP(a[1]), "treated", &nt);
	in->y = PromoFloatVector(DatumGetArrayTypeP(a[2]), "outcome", &ny);
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

/*
 * Qini coefficient, AUUC, uplift@k and ATE of the columns a[0..2] with
 * bootstrap intervals; a[3..6] (k_percent, n_boot, seed, confidence) as in
 * uplift_evaluate.  Rows go to rsinfo's tuplestore (InitMaterializedSRF
 * done).
 */
static void
UpliftMetrics(const Datum *a, const bool *isnull, ReturnSetInfo *rsinfo)
{
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

	for (int i = 3; i < 7; i++)
		if (isnull[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("k_percent, n_boot, seed and confidence must not be null")));
	k_frac = DatumGetFloat8(a[3]) / 100.0;
	n_boot = DatumGetInt32(a[4]);
	seed = DatumGetInt64(a[5]);
	level = DatumGetFloat8(a[6]);
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

	ReadUpliftInput(a, isnull, &in);
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
}

/* Old entry point (0.1.0 and 0.2.0 install scripts) over arrays. */
PG_FUNCTION_INFO_V1(recpromo__uplift_metrics);
Datum
recpromo__uplift_metrics(PG_FUNCTION_ARGS)
{
	Datum		a[7];
	bool		isnull[7];

	for (int i = 0; i < 7; i++)
	{
		isnull[i] = PG_ARGISNULL(i);
		a[i] = isnull[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	InitMaterializedSRF(fcinfo, 0);
	UpliftMetrics(a, isnull, (ReturnSetInfo *) fcinfo->resultinfo);
	return (Datum) 0;
}

/*
 * The Qini and uplift curves of the columns a[0..2] at a[3] points.  When
 * rsinfo's descriptor has a fourth column (uplift_curve), it gets fraction *
 * the Qini at the last point: the random-targeting line.
 */
static void
UpliftCurve(const Datum *a, const bool *isnull, ReturnSetInfo *rsinfo)
{
	UpliftInput in;
	int32		npoints;
	double	   *f, *q, *u;
	rp_uplift_metrics m;

	if (isnull[3])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("points must not be null")));
	npoints = DatumGetInt32(a[3]);
	if (npoints < 1 || npoints > MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("points must be between 1 and %d", MAX_POINTS)));
	ReadUpliftInput(a, isnull, &in);
	f = palloc(sizeof(double) * npoints);
	q = palloc(sizeof(double) * npoints);
	u = palloc(sizeof(double) * npoints);
	RecpromoCheckStatus(rp_uplift_evaluate(in.n, in.order, in.score, in.treated,
										   in.y, NULL, 1.0, npoints, f, q, u,
										   &m), "uplift evaluation");
	for (int j = 0; j < npoints; j++)
	{
		Datum		values[CURVE_COLS + 1];
		bool		nulls[CURVE_COLS + 1] = {false};

		values[0] = Float8GetDatum(f[j]);
		values[1] = Float8GetDatum(q[j]);
		values[2] = Float8GetDatum(u[j]);
		values[3] = Float8GetDatum(f[j] * q[npoints - 1]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Old entry point (0.1.0 and 0.2.0 install scripts) over arrays. */
PG_FUNCTION_INFO_V1(recpromo__uplift_curve);
Datum
recpromo__uplift_curve(PG_FUNCTION_ARGS)
{
	Datum		a[4];
	bool		isnull[4];

	for (int i = 0; i < 4; i++)
	{
		isnull[i] = PG_ARGISNULL(i);
		a[i] = isnull[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	InitMaterializedSRF(fcinfo, 0);
	UpliftCurve(a, isnull, (ReturnSetInfo *) fcinfo->resultinfo);
	return (Datum) 0;
}

/* Public functions ---------------------------------------------------------- */

void
UpliftArms(PromoCall *pc, Oid rel, const char *treatment_col, const char *control,
		   UpliftArmList *arms)
{
	char	   *relsql = PromoRelSql(rel);
	char	   *tq;
	Oid			types[1] = {TEXTOID};
	Datum		vals[1];
	Datum		out[2];
	bool		outnull[2];
	int64		nnull;

	PromoColType(rel, treatment_col, "treatment column");
	if (control == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("control label must not be null")));
	tq = pstrdup(quote_identifier(treatment_col));
	vals[0] = CStringGetTextDatum(control);
	PromoQueryRow(pc, psprintf("SELECT pg_catalog.count(*) FILTER (WHERE (%1$s) IS NULL),"
							   " pg_catalog.count(*) FILTER (WHERE (%1$s)::pg_catalog.text OPERATOR(pg_catalog.=) $1) FROM %2$s",
							   tq, relsql),
				  1, types, vals, NULL, 2, out, outnull);
	nnull = DatumGetInt64(out[0]);
	arms->n_control = DatumGetInt64(out[1]);
	if (nnull > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("treatment column \"%s\" has " INT64_FORMAT " missing values", treatment_col, nnull),
				 errhint("Every row must name its arm.")));
	if (arms->n_control == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no control group"),
				 errdetail("No row of %s has %s = %s.", PromoRelText(rel), tq,
						   quote_literal_cstr(control)),
				 errhint("Uplift needs a randomised control group; pass its label as control.")));
	PromoQueryRow(pc, psprintf("SELECT pg_catalog.array_agg(t ORDER BY t), pg_catalog.array_agg(c ORDER BY t)"
							   "  FROM (SELECT (%1$s)::pg_catalog.text AS t, pg_catalog.count(*) AS c FROM %2$s"
							   "         WHERE (%1$s)::pg_catalog.text OPERATOR(pg_catalog.<>) $1 GROUP BY 1) s",
							   tq, relsql),
				  1, types, vals, NULL, 2, out, outnull);
	if (outnull[0])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no treated rows"),
				 errhint("Every row is in the control group.")));
	arms->labels_array = out[0];
	arms->counts_array = out[1];
	{
		Datum	   *ld, *cd;
		bool	   *ln, *cn;
		int			nl, nc;

		deconstruct_array(DatumGetArrayTypeP(out[0]), TEXTOID, -1, false, TYPALIGN_INT,
						  &ld, &ln, &nl);
		deconstruct_array(DatumGetArrayTypeP(out[1]), INT8OID, 8, FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &cd, &cn, &nc);
		arms->n = nl;
		arms->labels = palloc(sizeof(char *) * nl);
		arms->counts = palloc(sizeof(int64) * nl);
		for (int i = 0; i < nl; i++)
		{
			arms->labels[i] = TextDatumGetCString(ld[i]);
			arms->counts[i] = DatumGetInt64(cd[i]);
		}
	}
}

/*
 * Reads one treatment-versus-control comparison of uplift_evaluate's
 * arguments 0..5 (source, score_col, treatment_col, outcome_col, treatment,
 * control) into a[0..2]: scores, treated flags and outcomes, sorted by
 * (score, treated, outcome) so that ties do not depend on the scan order.
 */
static void
UpliftRead(PromoCall *pc, FunctionCallInfo fcinfo, Datum *a, bool *isnull)
{
	Oid			rel = PromoSourceArg(fcinfo, 0);
	char	   *treatment_col = PromoNameArg(fcinfo, 2);
	char	   *treatment = PromoTextArg(fcinfo, 4);
	char	   *control = PromoTextArg(fcinfo, 5);
	UpliftArmList arms;
	char	   *sexpr, *yexpr;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		vals[2];
	bool		vnull[2];

	UpliftArms(pc, rel, treatment_col, control, &arms);
	sexpr = PromoNumExpr(rel, PromoNameArg(fcinfo, 1), "score column");
	yexpr = PromoNumExpr(rel, PromoNameArg(fcinfo, 3), "outcome column");
	if (treatment != NULL)
	{
		bool		found = false;
		StringInfoData names;

		initStringInfo(&names);
		for (int i = 0; i < arms.n; i++)
		{
			if (strcmp(arms.labels[i], treatment) == 0)
				found = true;
			appendStringInfo(&names, "%s%s", i > 0 ? ", " : "", arms.labels[i]);
		}
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("treatment \"%s\" does not occur in %s", treatment, PromoRelText(rel)),
					 errhint("The arms are: %s.", names.data)));
	}
	vals[0] = CStringGetTextDatum(control);
	vnull[0] = false;
	vals[1] = treatment ? CStringGetTextDatum(treatment) : (Datum) 0;
	vnull[1] = treatment == NULL;
	PromoQueryRow(pc, psprintf("SELECT pg_catalog.array_agg(s ORDER BY s, t, y), pg_catalog.array_agg(t ORDER BY s, t, y),"
							   "       pg_catalog.array_agg(y ORDER BY s, t, y)"
							   "  FROM (SELECT %1$s AS s, (%2$s)::pg_catalog.text OPERATOR(pg_catalog.<>) $1 AS t, %3$s AS y FROM %4$s"
							   "         WHERE $2 IS NULL OR (%2$s)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[$1, $2])) r",
							   sexpr, quote_identifier(treatment_col), yexpr, PromoRelSql(rel)),
				  2, types, vals, vnull, 3, a, isnull);
}

/*
 * uplift_evaluate(source regclass, score_col name, treatment_col name,
 *				   outcome_col name, treatment text DEFAULT NULL,
 *				   control text DEFAULT 'control', k_percent float8 DEFAULT 10,
 *				   n_boot int DEFAULT 200, seed bigint DEFAULT 42,
 *				   confidence float8 DEFAULT 0.95)
 */
PG_FUNCTION_INFO_V1(recpromo_uplift_evaluate);
Datum
recpromo_uplift_evaluate(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Datum		a[7];
	bool		isnull[7];

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	UpliftRead(&pc, fcinfo, a, isnull);
	for (int i = 3; i < 7; i++)
	{
		isnull[i] = PG_ARGISNULL(i + 3);
		a[i] = isnull[i] ? (Datum) 0 : PG_GETARG_DATUM(i + 3);
	}
	UpliftMetrics(a, isnull, (ReturnSetInfo *) fcinfo->resultinfo);
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * uplift_curve(source regclass, score_col name, treatment_col name,
 *				outcome_col name, treatment text DEFAULT NULL,
 *				control text DEFAULT 'control', points int DEFAULT 10)
 */
PG_FUNCTION_INFO_V1(recpromo_uplift_curve);
Datum
recpromo_uplift_curve(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Datum		a[4];
	bool		isnull[4];

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	UpliftRead(&pc, fcinfo, a, isnull);
	isnull[3] = PG_ARGISNULL(6);
	a[3] = isnull[3] ? (Datum) 0 : PG_GETARG_DATUM(6);
	UpliftCurve(a, isnull, (ReturnSetInfo *) fcinfo->resultinfo);
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * uplift_by_decile(source regclass, score_col name, treatment_col name,
 *					outcome_col name, treatment text DEFAULT NULL,
 *					control text DEFAULT 'control', bins int DEFAULT 10)
 */
PG_FUNCTION_INFO_V1(recpromo_uplift_by_decile);
Datum
recpromo_uplift_by_decile(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Datum		a[4];
	bool		isnull[4];
	Oid			types[4] = {FLOAT8ARRAYOID, BOOLARRAYOID, FLOAT8ARRAYOID, INT4OID};

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	UpliftRead(&pc, fcinfo, a, isnull);
	if (PG_ARGISNULL(6) || PG_GETARG_INT32(6) < 1 || PG_GETARG_INT32(6) > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be between 1 and 1000")));
	a[3] = PG_GETARG_DATUM(6);
	isnull[3] = false;
	PromoReturnQuery(&pc, fcinfo,
					 "WITH d AS (SELECT pg_catalog.ntile($4) OVER (ORDER BY u.s DESC, u.t, u.y) AS b, u.t, u.y"
					 "             FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(s, t, y))"
					 " SELECT d.b, pg_catalog.count(*) FILTER (WHERE d.t), pg_catalog.count(*) FILTER (WHERE NOT d.t),"
					 "        pg_catalog.avg(d.y) FILTER (WHERE d.t), pg_catalog.avg(d.y) FILTER (WHERE NOT d.t),"
					 "        pg_catalog.avg(d.y) FILTER (WHERE d.t) OPERATOR(pg_catalog.-) pg_catalog.avg(d.y) FILTER (WHERE NOT d.t)"
					 "   FROM d GROUP BY d.b ORDER BY d.b",
					 4, types, a, isnull);
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * uplift_balance(source regclass, treatment_col name, features name[],
 *				  control text DEFAULT 'control')
 */
PG_FUNCTION_INFO_V1(recpromo_uplift_balance);
Datum
recpromo_uplift_balance(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Oid			rel;
	char	   *treatment_col = PromoNameArg(fcinfo, 1);
	UpliftArmList arms;
	Datum	   *cols;
	bool	   *cnull;
	int			ncols = 0;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		vals[2];

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	rel = PromoSourceArg(fcinfo, 0);
	UpliftArms(&pc, rel, treatment_col, PromoTextArg(fcinfo, 3), &arms);
	if (!PG_ARGISNULL(2))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), NAMEOID, NAMEDATALEN, false,
						  TYPALIGN_CHAR, &cols, &cnull, &ncols);
	if (ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no features given")));
	vals[0] = PG_GETARG_DATUM(3);
	for (int i = 0; i < ncols; i++)
	{
		const char *col = cnull[i] ? NULL : NameStr(*DatumGetName(cols[i]));
		char	   *e = PromoNumExpr(rel, col, "feature");

		vals[1] = CStringGetTextDatum(col);
		PromoReturnQuery(&pc, fcinfo,
						 psprintf("WITH s AS (SELECT (%1$s)::pg_catalog.text AS arm, %2$s AS x FROM %3$s),"
								  " c AS (SELECT pg_catalog.avg(x) AS m, pg_catalog.var_pop(x) AS v FROM s WHERE arm OPERATOR(pg_catalog.=) $1),"
								  " t AS (SELECT arm, pg_catalog.avg(x) AS m, pg_catalog.var_pop(x) AS v FROM s"
								  "        WHERE arm OPERATOR(pg_catalog.<>) $1 GROUP BY arm),"
								  " d AS (SELECT t.arm, t.m AS mt, c.m AS mc,"
								  "              CASE WHEN (t.v OPERATOR(pg_catalog.+) c.v) OPERATOR(pg_catalog.>) 0"
								  "                   THEN (t.m OPERATOR(pg_catalog.-) c.m)"
								  "                        OPERATOR(pg_catalog./) pg_catalog.sqrt((t.v OPERATOR(pg_catalog.+) c.v) OPERATOR(pg_catalog./) 2)"
								  "                   ELSE 0 END AS smd"
								  "         FROM t, c)"
								  " SELECT arm, $2, mt, mc, smd, pg_catalog.abs(smd) OPERATOR(pg_catalog.<) 0.1::pg_catalog.float8"
								  "   FROM d ORDER BY arm",
								  quote_identifier(treatment_col), e, PromoRelSql(rel)),
						 2, types, vals, NULL);
	}
	PromoEnd(&pc);
	return (Datum) 0;
}
