/*
 * promo_propensity.c
 *	  Propensity models: train_propensity (L2-penalised logistic regression
 *	  of a 0/1 target on numeric and one-hot categorical features, stored as
 *	  a model), score_propensity (a table), predict_propensity (one row as
 *	  jsonb), evaluate_propensity (AUC, log-loss, Brier score) and
 *	  propensity_calibration.
 *
 * Training reads the design matrix in one query (the expressions of
 * PromoDesignExprs, centres, scales and levels as parameters), fits it with
 * PromoFit, stores the model through the owner-checking store of
 * model_acl.c and records its training metrics.  The metrics are computed
 * from the parameters as stored (through jsonb), so evaluate_propensity on
 * the training table later gives the same figures.  Scoring runs one query
 * over the caller's table whose expressions come from the checked model
 * (PromoModel): only quoted column names are taken from it as text.
 *
 * AUC is the Mann-Whitney statistic with ties counted half (average ranks);
 * log-loss clamps p to [1e-15, 1 - 1e-15].  Every query runs with the
 * caller's privileges and row-level security (promo_query.c).  Until 0.3.0
 * this was PL/pgSQL over internal SQL functions (_promo_binary_target,
 * _propensity_metrics, _promo_model, ...) that every role could call
 * (issue 18).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "promo.h"
#include "recpromo.h"

/*
 * Checks a 0/1 or boolean target column of rel (no NULL, no other value,
 * both classes) and returns its float8 expression.  role names it in
 * messages ("target column").
 */
char *
PromoBinaryTarget(PromoCall *pc, Oid rel, const char *col, const char *role)
{
	char	   *e = PromoNumExpr(rel, col, role);
	Datum		out[4];
	bool		outnull[4];
	int64		nnull, nbad, npos, n;

	PromoQueryRow(pc, psprintf("SELECT pg_catalog.count(*) FILTER (WHERE %1$s IS NULL),"
							   " pg_catalog.count(*) FILTER (WHERE %1$s OPERATOR(pg_catalog.<>) 0 AND %1$s OPERATOR(pg_catalog.<>) 1),"
							   " pg_catalog.count(*) FILTER (WHERE %1$s OPERATOR(pg_catalog.=) 1), pg_catalog.count(*) FROM %2$s",
							   e, PromoRelSql(rel)),
				  0, NULL, NULL, NULL, 4, out, outnull);
	nnull = DatumGetInt64(out[0]);
	nbad = DatumGetInt64(out[1]);
	npos = DatumGetInt64(out[2]);
	n = DatumGetInt64(out[3]);
	if (nnull > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s \"%s\" has " INT64_FORMAT " missing values", role, col, nnull),
				 errhint("Filter the rows with a view first.")));
	if (nbad > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s \"%s\" must be 0 or 1", role, col),
				 errdetail(INT64_FORMAT " rows have other values.", nbad)));
	if (npos == 0 || npos == n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s \"%s\" has only one class", role, col),
				 errdetail("All " INT64_FORMAT " rows have the value %d.", n, npos == 0 ? 0 : 1),
				 errhint("A logistic model needs rows of both classes.")));
	return e;
}

/*
 * The query of the quality metrics of logistic parameters (features
 * spec, coefficients coef as $1) on rel with the true target y_expr:
 * rows (metric text, value float8) in a fixed order.  Parameters $1-$4.
 */
static char *
MetricsSql(PromoCall *pc, PromoSpec *spec, const char *y_expr, Oid rel)
{
	return psprintf(
		"WITH s AS (SELECT %1$s.sigmoid(%2$s) AS p, %3$s AS y FROM %4$s),"
		" ok AS (SELECT p, y FROM s WHERE p IS NOT NULL),"
		" r AS (SELECT p, y, pg_catalog.rank() OVER (ORDER BY p)"
		"                    OPERATOR(pg_catalog.+) ((pg_catalog.count(*) OVER (PARTITION BY p) OPERATOR(pg_catalog.-) 1)"
		"                                            OPERATOR(pg_catalog./) 2.0) AS ar FROM ok),"
		" t AS (SELECT pg_catalog.count(*)::pg_catalog.float8 AS n, pg_catalog.sum(y) AS n1,"
		"              pg_catalog.sum(ar) FILTER (WHERE y OPERATOR(pg_catalog.=) 1) AS rs,"
		"              OPERATOR(pg_catalog.-) pg_catalog.avg("
		"                  (y OPERATOR(pg_catalog.*) pg_catalog.ln(GREATEST(p, 1e-15::pg_catalog.float8)))"
		"                  OPERATOR(pg_catalog.+) ((1 OPERATOR(pg_catalog.-) y)"
		"                                          OPERATOR(pg_catalog.*) pg_catalog.ln(GREATEST(1 OPERATOR(pg_catalog.-) p, 1e-15::pg_catalog.float8)))) AS ll,"
		"              pg_catalog.avg((p OPERATOR(pg_catalog.-) y) OPERATOR(pg_catalog.^) 2) AS brier FROM r)"
		" SELECT m, v FROM t, LATERAL (VALUES"
		"     (1, 'rows'::pg_catalog.text, n), (2, 'positives', n1),"
		"     (3, 'auc', (rs::pg_catalog.float8 OPERATOR(pg_catalog.-) ((n1 OPERATOR(pg_catalog.*) (n1 OPERATOR(pg_catalog.+) 1)) OPERATOR(pg_catalog./) 2))"
		"                OPERATOR(pg_catalog./) (n1 OPERATOR(pg_catalog.*) (n OPERATOR(pg_catalog.-) n1))),"
		"     (4, 'log_loss', ll), (5, 'brier', brier)) x(o, m, v) ORDER BY o",
		pc->schema, PromoLinearSql(PromoDesignExprs(spec, 2), spec->n, "$1"), y_expr,
		PromoRelSql(rel));
}

/* Parameters $1-$4 of the scoring queries: coefficients, centres, scales, levels. */
static void
ScoringParams(PromoSpec *spec, Datum coef, Oid *types, Datum *vals)
{
	types[0] = FLOAT8ARRAYOID;
	types[1] = FLOAT8ARRAYOID;
	types[2] = FLOAT8ARRAYOID;
	types[3] = TEXTARRAYOID;
	vals[0] = coef;
	PromoSpecValues(spec, &vals[1], &vals[2], &vals[3]);
}

/* A checked logistic model's specification and coefficient array. */
static void
LogisticModel(Jsonb *p, PromoSpec *spec, Datum *coef)
{
	PromoSpecFromJsonb(PromoJsonKey(&p->root, "features"), spec);
	*coef = PromoCoefArray(PromoJsonKey(&p->root, "coef"));
}

/*
 * train_propensity(name text, source regclass, target_col name,
 *					features name[] DEFAULT '{}', categorical name[] DEFAULT '{}',
 *					lambda float8 DEFAULT 1.0, standardize bool DEFAULT true,
 *					max_iter int DEFAULT 100, tol float8 DEFAULT 1e-10)
 *	 -> (feature text, coefficient float8)
 */
PG_FUNCTION_INFO_V1(recpromo_train_propensity);
Datum
recpromo_train_propensity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz t0 = GetCurrentTimestamp();
	PromoCall	pc;
	char	   *name = PromoTextArg(fcinfo, 0);
	Oid			rel;
	char	   *target = PromoNameArg(fcinfo, 2);
	double		lambda;
	bool		standardize = PG_ARGISNULL(6) ? true : PG_GETARG_BOOL(6);
	char	   *y_expr;
	PromoSpec	spec;
	Oid			types[4];
	Datum		vals[4];
	Datum		out[3];
	bool		outnull[3];
	PromoFitResult fit;
	Jsonb	   *p;
	PromoSpec	stored;
	Datum		coef;
	Datum		metrics;
	bool		metrics_null;

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, false);
	PromoCheckModelName(name);
	lambda = PG_ARGISNULL(5) ? get_float8_nan() : PG_GETARG_FLOAT8(5);
	if (!(lambda >= 0) || isinf(lambda))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lambda must be a finite number >= 0")));
	rel = PromoSourceArg(fcinfo, 1);
	y_expr = PromoBinaryTarget(&pc, rel, target, "target column");
	PromoFeatureSpec(&pc, rel, PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3),
					 PG_ARGISNULL(4) ? NULL : PG_GETARG_ARRAYTYPE_P(4), standardize, &spec);
	PromoSpecRoundTrip(&spec, NULL);
	PromoSpecValues(&spec, &vals[0], &vals[1], &vals[2]);
	types[0] = FLOAT8ARRAYOID;
	types[1] = FLOAT8ARRAYOID;
	types[2] = TEXTARRAYOID;
	PromoQueryRow(&pc, psprintf("SELECT pg_catalog.array_agg(ARRAY[1::pg_catalog.float8, %s]),"
								" pg_catalog.array_agg(%s), pg_catalog.count(*) FROM %s",
								PromoJoinExprs(PromoDesignExprs(&spec, 1), spec.n), y_expr,
								PromoRelSql(rel)),
				  3, types, vals, NULL, 3, out, outnull);
	if (PG_ARGISNULL(7) || PG_ARGISNULL(8))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", PG_ARGISNULL(7) ? "max_iter" : "tol"),
				 errhint("Omit it for its default (max_iter 100, tol 1e-10).")));
	PromoFit(true, outnull[0] ? NULL : DatumGetArrayTypeP(out[0]),
			 outnull[1] ? NULL : DatumGetArrayTypeP(out[1]), NULL, lambda, 0,
			 PG_GETARG_INT32(7), PG_GETARG_FLOAT8(8), &fit);
	{
		StringInfoData js;

		initStringInfo(&js);
		appendStringInfo(&js, "{\"features\": %s, \"coef\": %s, \"lambda\": %s, \"standardize\": %s,"
						 " \"target\": ",
						 PromoSpecJson(&spec), PromoFloatArrayJson(fit.coef, fit.p),
						 DatumGetCString(DirectFunctionCall1(float8out, Float8GetDatum(lambda))),
						 standardize ? "true" : "false");
		escape_json(&js, target);
		appendStringInfo(&js, ", \"iterations\": %d, \"converged\": %s}",
						 fit.iterations, fit.converged ? "true" : "false");
		p = PromoJsonbFromText(js.data);
	}
	/* metrics computed before the model is stored, from the same parameters */
	LogisticModel(p, &stored, &coef);
	{
		Oid			mt[4];
		Datum		mv[4];

		ScoringParams(&stored, coef, mt, mv);
		PromoQueryRow(&pc, psprintf("SELECT pg_catalog.jsonb_object_agg('train_' OPERATOR(pg_catalog.||) e.m, e.v) FROM (%s) e(m, v)",
									MetricsSql(&pc, &stored, y_expr, rel)),
					  4, mt, mv, NULL, 1, &metrics, &metrics_null);
	}
	{
		Datum		a[7];
		bool		an[7] = {false, false, false, false, false, false, false};

		a[0] = PG_GETARG_DATUM(0);
		a[1] = CStringGetTextDatum("logistic");
		a[2] = JsonbPGetDatum(p);
		a[3] = ObjectIdGetDatum(rel);
		a[4] = out[2];
		a[5] = Float8GetDatum((double) (GetCurrentTimestamp() - t0) / 1000000.0);
		a[6] = Float8GetDatum(fit.loss);
		PromoCallInternal(recpromo__promo_store, 7, a, an, NULL);
		a[1] = metrics;
		an[1] = metrics_null;
		PromoCallInternal(recpromo__model_set_metrics, 2, a, an, NULL);
	}
	/* coefficient labels: "(intercept)", numeric column names, "column=level" */
	for (int j = 0; j < fit.p; j++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(j == 0 ? "(intercept)" : PromoFeatureLabel(&spec.f[j - 1]));
		values[1] = Float8GetDatum(fit.coef[j]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * score_propensity(model text, source regclass, key_col name)
 *	 -> (key text, score float8)
 */
PG_FUNCTION_INFO_V1(recpromo_score_propensity);
Datum
recpromo_score_propensity(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Jsonb	   *p;
	PromoSpec	spec;
	Datum		coef;
	Oid			rel;
	char	   *key = PromoNameArg(fcinfo, 2);
	Oid			types[4];
	Datum		vals[4];

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	p = PromoModel(fcinfo, 0, "logistic");
	rel = PromoSourceArg(fcinfo, 1);
	PromoColType(rel, key, "key column");
	PromoCheckColumns(&pc, text_to_cstring(PG_GETARG_TEXT_PP(0)),
					  PromoJsonKey(&p->root, "features"), rel);
	LogisticModel(p, &spec, &coef);
	ScoringParams(&spec, coef, types, vals);
	PromoReturnQuery(&pc, fcinfo,
					 psprintf("SELECT (%s)::pg_catalog.text, %s.sigmoid(%s) FROM %s",
							  quote_identifier(key), pc.schema,
							  PromoLinearSql(PromoDesignExprs(&spec, 2), spec.n, "$1"),
							  PromoRelSql(rel)),
					 4, types, vals, NULL);
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * The linear predictor of a stored model (features spec $1, coefficients
 * coef_sql) on one row given as jsonb ($3): NULL when a feature is missing
 * from it or NULL.  Casts as in SQL: a value that is not a number (or a
 * boolean for a boolean column) raises the cast's own error.
 */
char *
PromoLinearJsonbSql(const char *coef_sql)
{
	return psprintf(
		"(SELECT CASE WHEN pg_catalog.bool_or(t IS NULL) THEN NULL"
		"             ELSE (%1$s OPERATOR(pg_catalog.->>) 0)::pg_catalog.float8"
		"                  OPERATOR(pg_catalog.+) coalesce(pg_catalog.sum((%1$s OPERATOR(pg_catalog.->>) (i::pg_catalog.int4))::pg_catalog.float8 OPERATOR(pg_catalog.*) t), 0) END"
		"   FROM (SELECT e.i,"
		"                CASE WHEN e.f OPERATOR(pg_catalog.->>) 'kind' OPERATOR(pg_catalog.=) 'level'"
		"                     THEN (($3 OPERATOR(pg_catalog.->>) (e.f OPERATOR(pg_catalog.->>) 'column')) OPERATOR(pg_catalog.=) (e.f OPERATOR(pg_catalog.->>) 'level'))::pg_catalog.int4::pg_catalog.float8"
		"                     WHEN (e.f OPERATOR(pg_catalog.->>) 'bool')::pg_catalog.bool"
		"                     THEN ((($3 OPERATOR(pg_catalog.->>) (e.f OPERATOR(pg_catalog.->>) 'column'))::pg_catalog.bool::pg_catalog.int4::pg_catalog.float8)"
		"                           OPERATOR(pg_catalog.-) (e.f OPERATOR(pg_catalog.->>) 'center')::pg_catalog.float8) OPERATOR(pg_catalog./) (e.f OPERATOR(pg_catalog.->>) 'scale')::pg_catalog.float8"
		"                     ELSE ((($3 OPERATOR(pg_catalog.->>) (e.f OPERATOR(pg_catalog.->>) 'column'))::pg_catalog.float8) OPERATOR(pg_catalog.-) (e.f OPERATOR(pg_catalog.->>) 'center')::pg_catalog.float8)"
		"                          OPERATOR(pg_catalog./) (e.f OPERATOR(pg_catalog.->>) 'scale')::pg_catalog.float8 END AS t"
		"           FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY e(f, i)) s)",
		coef_sql);
}

/*
 * predict_propensity(model text, features jsonb) -> float8
 */
PG_FUNCTION_INFO_V1(recpromo_predict_propensity);
Datum
recpromo_predict_propensity(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Jsonb	   *p;
	Oid			types[3] = {JSONBOID, JSONBOID, JSONBOID};
	Datum		vals[3];
	bool		vnull[3] = {false, false, false};
	Datum		out;
	bool		outnull;
	double		result = 0;

	PromoBegin(&pc, fcinfo, true);
	p = PromoModel(fcinfo, 0, "logistic");
	if (PG_ARGISNULL(1))
	{
		PromoEnd(&pc);
		PG_RETURN_NULL();
	}
	vals[0] = JsonbPGetDatum(JsonbValueToJsonb(PromoJsonKey(&p->root, "features")));
	vals[1] = JsonbPGetDatum(JsonbValueToJsonb(PromoJsonKey(&p->root, "coef")));
	vals[2] = PG_GETARG_DATUM(1);
	PromoQueryRow(&pc, psprintf("SELECT %s.sigmoid(%s)", pc.schema, PromoLinearJsonbSql("$2")),
				  3, types, vals, vnull, 1, &out, &outnull);
	if (!outnull)
		result = DatumGetFloat8(out);
	PromoEnd(&pc);
	if (outnull)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(result);
}

/*
 * evaluate_propensity(model text, source regclass, target_col name)
 *	 -> (metric text, value float8)
 */
PG_FUNCTION_INFO_V1(recpromo_evaluate_propensity);
Datum
recpromo_evaluate_propensity(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Jsonb	   *p;
	PromoSpec	spec;
	Datum		coef;
	Oid			rel;
	char	   *y_expr;
	Oid			types[4];
	Datum		vals[4];

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	p = PromoModel(fcinfo, 0, "logistic");
	rel = PromoSourceArg(fcinfo, 1);
	PromoCheckColumns(&pc, text_to_cstring(PG_GETARG_TEXT_PP(0)),
					  PromoJsonKey(&p->root, "features"), rel);
	y_expr = PromoBinaryTarget(&pc, rel, PromoNameArg(fcinfo, 2), "target column");
	LogisticModel(p, &spec, &coef);
	ScoringParams(&spec, coef, types, vals);
	PromoReturnQuery(&pc, fcinfo, MetricsSql(&pc, &spec, y_expr, rel), 4, types, vals, NULL);
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * propensity_calibration(model text, source regclass, target_col name,
 *						  bins int DEFAULT 10)
 *	 -> (bin int, rows bigint, mean_predicted float8, observed_rate float8)
 */
PG_FUNCTION_INFO_V1(recpromo_propensity_calibration);
Datum
recpromo_propensity_calibration(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Jsonb	   *p;
	PromoSpec	spec;
	Datum		coef;
	Oid			rel;
	char	   *y_expr;
	Oid			types[5];
	Datum		vals[5];

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	p = PromoModel(fcinfo, 0, "logistic");
	rel = PromoSourceArg(fcinfo, 1);
	PromoCheckColumns(&pc, text_to_cstring(PG_GETARG_TEXT_PP(0)),
					  PromoJsonKey(&p->root, "features"), rel);
	y_expr = PromoBinaryTarget(&pc, rel, PromoNameArg(fcinfo, 2), "target column");
	if (PG_ARGISNULL(3) || PG_GETARG_INT32(3) < 1 || PG_GETARG_INT32(3) > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be between 1 and 1000")));
	LogisticModel(p, &spec, &coef);
	ScoringParams(&spec, coef, types, vals);
	types[4] = INT4OID;
	vals[4] = PG_GETARG_DATUM(3);
	PromoReturnQuery(&pc, fcinfo,
					 psprintf("WITH s AS (SELECT %1$s.sigmoid(%2$s) AS p, %3$s AS y FROM %4$s),"
							  " b AS (SELECT p, y, pg_catalog.ntile($5) OVER (ORDER BY p, y) AS bin FROM s WHERE p IS NOT NULL)"
							  " SELECT bin, pg_catalog.count(*), pg_catalog.avg(p), pg_catalog.avg(y) FROM b GROUP BY bin ORDER BY bin",
							  pc.schema, PromoLinearSql(PromoDesignExprs(&spec, 2), spec.n, "$1"),
							  y_expr, PromoRelSql(rel)),
					 5, types, vals, NULL);
	PromoEnd(&pc);
	return (Datum) 0;
}
