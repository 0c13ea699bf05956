/*
 * promo_fit.c
 *	  Fitting the linear models of the promotion analytics: penalised
 *	  logistic regression (propensity, uplift arms, class transformation)
 *	  and ridge regression (revenue outcomes), and recpromo.sigmoid.
 *
 * PromoFit takes the design matrix as a 2-D float8 array, read in one query
 * by the trainers (promo_propensity.c, promo_uplift_model.c), checks it
 * (finite values, 0/1 outcomes of a logistic model, positive weights) and
 * runs rp_logreg_fit / rp_ridge_fit.  The old SQL entry point _promo_fit
 * stays as a C symbol for the 0.1.0 and 0.2.0 install scripts.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "promo.h"
#include "recpromo.h"
#include "rp_logreg.h"

#define FIT_COLS 4

void
PromoFit(bool logistic, ArrayType *xa, ArrayType *ya, ArrayType *wa,
		 double lambda, int free_col, int max_iter, double tol,
		 PromoFitResult *res)
{
	int64		n, ny, nw = 0;
	int			p;
	double	   *X, *y, *w = NULL, *beta, *work;
	rp_logreg_info info;
	rp_cancel	cancel = RecpromoCancelHook();
	rp_status	st;

	if (!(lambda >= 0) || !rp_finite(lambda))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lambda must be a finite number >= 0")));
	if (max_iter < 1 || max_iter > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_iter must be between 1 and 10000")));
	if (!(tol > 0) || !rp_finite(tol))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tol must be a finite number > 0")));
	if (xa == NULL || ya == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot fit a model on no rows"),
				 errhint("Check that the source table has rows without missing values.")));

	X = PromoFloatMatrix(xa, "feature matrix", &n, &p);
	if (n < 1 || p < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot fit a model on no rows"),
				 errhint("Check that the source table has rows without missing values.")));
	if (n > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot fit on %lld rows, the limit is %d",
						(long long) n, INT_MAX)));
	if (free_col < -1 || free_col >= p)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("free_col must be between -1 and %d", p - 1)));
	y = PromoFloatVector(ya, "outcome", &ny);
	PromoCheckLength(ny, n, "outcome");
	if (wa != NULL)
	{
		w = PromoFloatVector(wa, "weights", &nw);
		PromoCheckLength(nw, n, "weights");
		for (int64 i = 0; i < n; i++)
			if (!(w[i] > 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("weights must be positive")));
	}
	if (logistic)
	{
		int64		ones = 0;

		for (int64 i = 0; i < n; i++)
		{
			if (y[i] != 0.0 && y[i] != 1.0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("outcome of a logistic model must be 0 or 1"),
						 errdetail("Row %lld has %g.", (long long) i + 1, y[i])));
			ones += y[i] == 1.0;
		}
		if (ones == 0 || ones == n)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("outcome has only one class"),
					 errdetail("All %lld rows have outcome %d.", (long long) n, ones ? 1 : 0),
					 errhint("A logistic model needs both converted and non-converted rows.")));
	}

	RecpromoCheckMemory(((double) rp_logreg_workspace(n, p) + (double) n * p) * sizeof(double),
						"logistic regression");
	work = palloc_extended(sizeof(double) * rp_logreg_workspace(n, p), MCXT_ALLOC_HUGE);
	beta = palloc0(sizeof(double) * p);
	if (logistic)
		st = rp_logreg_fit(n, p, X, y, w, lambda, free_col, max_iter, tol,
						   beta, work, &cancel, &info);
	else
		st = rp_ridge_fit(n, p, X, y, w, lambda, free_col, beta, work, &info);
	CHECK_FOR_INTERRUPTS();
	RecpromoCheckStatus(st, logistic ? "logistic regression" : "ridge regression");
	if (!info.converged)
		ereport(WARNING,
				(errmsg("logistic regression did not converge in %d iterations", max_iter),
				 errhint("The classes may be separable: raise lambda or max_iter.")));
	pfree(work);
	pfree(X);
	res->coef = beta;
	res->p = p;
	res->iterations = info.iterations;
	res->converged = info.converged != 0;
	res->loss = info.loss;
}

/*
 * Old entry point _promo_fit(kind, x, y, w, lambda, free_col, max_iter,
 * tol) of the 0.1.0 and 0.2.0 install scripts; no SQL function of this
 * version uses it.
 */
PG_FUNCTION_INFO_V1(recpromo__promo_fit);
Datum
recpromo__promo_fit(PG_FUNCTION_ARGS)
{
	char	   *kind;
	bool		logistic;
	PromoFitResult r;
	TupleDesc	tupdesc;
	Datum		values[FIT_COLS];
	bool		nulls[FIT_COLS] = {false};

	for (int a = 0; a < 8; a++)
		if (a != 3 && PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of _promo_fit must not be null", a + 1)));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(kind, "logistic") == 0)
		logistic = true;
	else if (strcmp(kind, "ridge") == 0)
		logistic = false;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model kind \"%s\"", kind),
				 errhint("Use \"logistic\" or \"ridge\".")));
	PromoFit(logistic, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_ARRAYTYPE_P(2),
			 PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3),
			 PG_GETARG_FLOAT8(4), PG_GETARG_INT32(5), PG_GETARG_INT32(6),
			 PG_GETARG_FLOAT8(7), &r);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = PointerGetDatum(PromoMakeFloatArray(r.coef, r.p));
	values[1] = Int32GetDatum(r.iterations);
	values[2] = BoolGetDatum(r.converged);
	values[3] = Float8GetDatum(r.loss);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * recpromo.sigmoid(t): the logistic function used by every stored linear
 * model's scoring expression; C so that it costs a function call, not a
 * SQL-function evaluation, per row.  NaN in, NaN out.
 */
PG_FUNCTION_INFO_V1(recpromo_sigmoid);
Datum
recpromo_sigmoid(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(rp_sigmoid(PG_GETARG_FLOAT8(0)));
}
