/*
 * ope.c
 *	  SQL entry point of off-policy evaluation over whole columns:
 *	  recpromo.evaluate_policy_arrays(context, arm, reward, propensity,
 *	  target, ...).  evaluate_policy() (src/sql/84_ope.sql) reads the
 *	  caller's logged table and target policy into these arrays with the
 *	  caller's privileges; this file only checks them and runs the pure-C
 *	  estimators of src/core/rp_ope.h (definitions and formulas there and in
 *	  doc/experiments.md, "Off-policy evaluation").
 *
 * Every check on the data happens here, once, with the row number in the
 * detail: arm indexes in 1..k, propensities in (0, 1], finite values,
 * target rows that are probability distributions (each entry in [0, 1],
 * sum within RECPROMO_OPE_SUM_TOL of 1), and no target mass on an arm the
 * log never shows.  The rounds are then sorted into the core's canonical
 * order, so the result does not depend on the order of the arrays' elements
 * (only on the multiset of rounds).  The function is a pure computation on its arguments
 * (no table access), so PUBLIC may execute it.
 */
#include "postgres.h"

#include <math.h>

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
#include "rp_ope.h"

#define OPE_COLS 6
#define OPE_MAX_BOOT 100000
/* tolerance on the sum of a row of target probabilities */
#define RECPROMO_OPE_SUM_TOL 1e-6

static const char *const OpeNames[RP_OPE_NEST] = {"ips", "snips", "dm", "dr"};

/* The estimator names, checked, as indexes into OpeNames. */
static int *
ReadEstimators(ArrayType *a, int *count)
{
	Datum	   *elems;
	bool	   *nulls;
	int			m;
	int		   *idx;

	if (ARR_ELEMTYPE(a) != TEXTOID || ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("estimators must be a one-dimensional text array")));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &m);
	if (m == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("estimators must not be empty"),
				 errhint("Name one or more of ips, snips, dm and dr.")));
	idx = palloc(sizeof(int) * m);
	for (int j = 0; j < m; j++)
	{
		char	   *s;

		if (nulls[j])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("estimators must not contain null")));
		s = TextDatumGetCString(elems[j]);
		idx[j] = -1;
		for (int e = 0; e < RP_OPE_NEST; e++)
			if (strcmp(s, OpeNames[e]) == 0)
				idx[j] = e;
		if (idx[j] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown estimator \"%s\"", s),
					 errhint("The estimators are ips, snips, dm and dr.")));
	}
	*count = m;
	return idx;
}

/* The logged arms: a one-dimensional int4 array without NULLs. */
static int32 *
ReadArms(ArrayType *a, int64 *n)
{
	int32	   *dst;

	if (ARR_ELEMTYPE(a) != INT4OID || ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("arm must be a one-dimensional integer array")));
	if (array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arm contains missing values"),
				 errhint("Every logged row needs the arm that was played.")));
	*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	RecpromoCheckMemory((double) *n * sizeof(int32), "off-policy evaluation");
	dst = palloc_extended(sizeof(int32) * (*n > 0 ? *n : 1), MCXT_ALLOC_HUGE);
	memcpy(dst, ARR_DATA_PTR(a), sizeof(int32) * *n);
	return dst;
}

/*
 * Lays the rounds out in the core's canonical order (rp_ope_row_order), so
 * that estimates and bootstrap intervals do not depend on the order in
 * which evaluate_policy's scan happened to read the rows (a synchronized
 * or parallel scan starts anywhere).  Replaces the arrays of *in by sorted
 * copies.
 */
static void
SortRows(rp_ope_data *in)
{
	int64		n = in->n;
	int64	   *perm, *tmp;
	double	   *x = NULL, *r, *p, *pi;
	int32	   *arm;

	RecpromoCheckMemory((double) n * (2 * sizeof(int64) + sizeof(int32) +
									  sizeof(double) * (2 + in->d + in->k)),
						"off-policy evaluation");
	perm = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	tmp = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	rp_ope_row_order(in, perm, tmp);
	pfree(tmp);
	CHECK_FOR_INTERRUPTS();
	arm = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	r = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	p = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	pi = palloc_extended(sizeof(double) * n * in->k, MCXT_ALLOC_HUGE);
	if (in->d > 0)
		x = palloc_extended(sizeof(double) * n * in->d, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
	{
		int64		j = perm[i];

		arm[i] = in->arm[j];
		r[i] = in->reward[j];
		p[i] = in->prop[j];
		memcpy(pi + i * in->k, in->pi + j * in->k, sizeof(double) * in->k);
		if (x)
			memcpy(x + i * in->d, in->x + j * in->d, sizeof(double) * in->d);
	}
	in->arm = arm;
	in->reward = r;
	in->prop = p;
	in->pi = pi;
	in->x = x;
	pfree(perm);
}

PG_FUNCTION_INFO_V1(recpromo_evaluate_policy_arrays);
Datum
recpromo_evaluate_policy_arrays(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	rp_ope_data in;
	rp_ope_result res;
	int64		n, nr, np, nt, nx = 0;
	int			k, d = 0;
	int32	   *arm;
	double	   *reward, *prop, *pi, *x = NULL;
	int		   *est_idx;
	int			n_est;
	int32		n_boot;
	int64		seed;
	double		alpha, lambda;
	double	   *mass;
	size_t		ws;
	void	   *work;
	rp_status	st;
	rp_cancel	cancel;
	int			threads;

	for (int a = 1; a < 10; a++)
		if (PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("only the context may be null"),
					 errhint("Pass arm, reward, propensity, target, estimators, bootstrap, seed, alpha and ridge_lambda.")));
	n_boot = PG_GETARG_INT32(6);
	seed = PG_GETARG_INT64(7);
	alpha = PG_GETARG_FLOAT8(8);
	lambda = PG_GETARG_FLOAT8(9);
	if (n_boot != 0 && (n_boot < 10 || n_boot > OPE_MAX_BOOT))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bootstrap must be 0 or between 10 and %d", OPE_MAX_BOOT)));
	if (!(alpha > 0 && alpha < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alpha must be in (0, 1)")));
	if (!(lambda > 0) || !rp_finite(lambda))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ridge_lambda must be positive and finite")));
	est_idx = ReadEstimators(PG_GETARG_ARRAYTYPE_P(5), &n_est);

	arm = ReadArms(PG_GETARG_ARRAYTYPE_P(1), &n);
	reward = PromoFloatVector(PG_GETARG_ARRAYTYPE_P(2), "reward", &nr);
	prop = PromoFloatVector(PG_GETARG_ARRAYTYPE_P(3), "propensity", &np);
	pi = PromoFloatMatrix(PG_GETARG_ARRAYTYPE_P(4), "target", &nt, &k);
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no logged rows to evaluate")));
	PromoCheckLength(nr, n, "reward");
	PromoCheckLength(np, n, "propensity");
	PromoCheckLength(nt, n, "target");
	if (!PG_ARGISNULL(0))
	{
		x = PromoFloatMatrix(PG_GETARG_ARRAYTYPE_P(0), "context", &nx, &d);
		if (nx == 0)
			x = NULL, d = 0;
		else
			PromoCheckLength(nx, n, "context");
	}
	if (d > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("context has %d features, at most 1000 are supported", d)));

	mass = palloc0(sizeof(double) * k);
	for (int64 i = 0; i < n; i++)
	{
		double		sum = 0;

		if (arm[i] < 1 || arm[i] > k)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("arm index %d is out of range", arm[i]),
					 errdetail("Logged row %lld; the target has %d arms.", (long long) i + 1, k),
					 errhint("Arms are 1-based column numbers of the target matrix.")));
		arm[i]--;
		if (!(prop[i] > 0 && prop[i] <= 1))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("propensity must be in (0, 1]"),
					 errdetail("Logged row %lld has propensity %g.", (long long) i + 1, prop[i]),
					 errhint("The propensity is the probability with which the logging policy chose the logged arm; a row chosen with probability 0 cannot be in the log.")));
		for (int a = 0; a < k; a++)
		{
			double		p = pi[i * k + a];

			if (!(p >= 0 && p <= 1))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("target probability must be in [0, 1]"),
						 errdetail("Logged row %lld, arm %d has probability %g.", (long long) i + 1, a + 1, p)));
			sum += p;
			mass[a] += p;
		}
		if (fabs(sum - 1) > RECPROMO_OPE_SUM_TOL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target probabilities do not sum to 1"),
					 errdetail("They sum to %.9g for logged row %lld.", sum, (long long) i + 1),
					 errhint("The target policy must give each context a probability distribution over the arms (tolerance 1e-6).")));
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	{
		bool	   *seen = palloc0(sizeof(bool) * k);

		for (int64 i = 0; i < n; i++)
			seen[arm[i]] = true;
		for (int a = 0; a < k; a++)
			if (mass[a] > 0 && !seen[a])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("target policy plays arm %d, which the log never shows", a + 1),
						 errhint("Off-policy estimates need every arm the target plays to appear in the log.")));
	}

	in.n = n;
	in.k = k;
	in.d = d;
	in.x = x;
	in.arm = arm;
	in.reward = reward;
	in.prop = prop;
	in.pi = pi;
	in.lambda = lambda;
	SortRows(&in);
	threads = RecpromoThreads();
	if (threads > n_boot)
		threads = n_boot > 0 ? n_boot : 1;
	ws = rp_ope_workspace(n, k, d, n_boot, threads);
	RecpromoCheckMemory((double) ws, "off-policy evaluation");
	work = palloc_extended(ws, MCXT_ALLOC_HUGE);
	cancel = RecpromoCancelHook();
	st = rp_ope_evaluate(&in, n_boot, (uint64) seed, alpha, threads, &res, work, &cancel);
	CHECK_FOR_INTERRUPTS();
	if (st == RP_ENUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the reward model could not be fitted"),
				 errdetail("A per-arm ridge system was not positive definite in floating point or gave a non-finite estimate."),
				 errhint("Rescale extreme context values or raise ridge_lambda.")));
	RecpromoCheckStatus(st, "off-policy evaluation");

	InitMaterializedSRF(fcinfo, 0);
	for (int j = 0; j < n_est; j++)
	{
		int			e = est_idx[j];
		Datum		values[OPE_COLS];
		bool		nulls[OPE_COLS] = {false};

		values[0] = CStringGetTextDatum(OpeNames[e]);
		values[1] = Float8GetDatum(res.est[e]);
		nulls[1] = !rp_finite(res.est[e]);
		values[2] = Float8GetDatum(res.lo[e]);
		nulls[2] = !rp_finite(res.lo[e]);
		values[3] = Float8GetDatum(res.hi[e]);
		nulls[3] = !rp_finite(res.hi[e]);
		values[4] = Float8GetDatum(res.ess);
		values[5] = Int64GetDatum(n);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
