/*
 * promo_uplift_model.c
 *	  Uplift models: train_uplift (one model per treatment arm against the
 *	  control group), score_uplift (every arm for every row of a table) and
 *	  predict_uplift (every arm for one row given as jsonb).
 *
 * Methods.  two_model (the T-learner) fits the outcome in the control group
 * and in each arm; the uplift of an arm is the difference of the two
 * predictions (of the probabilities for a binary outcome).  For
 * class_transformation, a binary outcome becomes z = 1 for treated
 * converters and control non-converters, the two groups weighted to equal
 * total weight, and uplift = 2 P(z = 1 | x) - 1 (Jaskowski & Jaroszewicz
 * 2012); a continuous outcome becomes the transformed outcome
 * z = y (t / p - (1 - t) / (1 - p)), whose regression on x is the uplift.
 * Binary outcomes are fitted by logistic regression, others by ridge.
 *
 * Each fit reads its rows with one query (the design expressions of
 * promo_spec.c, values as parameters) under the caller's privileges and
 * row-level security.  Scoring builds one expression per arm whose
 * coefficients are rows of a float8[][] parameter; no number of a stored
 * model is ever SQL text.  Stored parameters are checked (PromoModel)
 * before use.  Until 0.3.0 this was PL/pgSQL over internal SQL functions
 * (_uplift_arms, _uplift_expr, _promo_model, ...) that every role could
 * call (issue 18).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "promo.h"
#include "recpromo.h"

/* Whether a float8[] has fewer than two distinct values. */
static bool
OneClass(Datum ya, bool isnull)
{
	Datum	   *d;
	bool	   *n;
	int			cnt;

	if (isnull)
		return true;
	deconstruct_array(DatumGetArrayTypeP(ya), FLOAT8OID, 8, FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &d, &n, &cnt);
	for (int i = 1; i < cnt; i++)
		if (n[i] != n[0] || (!n[i] && DatumGetFloat8(d[i]) != DatumGetFloat8(d[0])))
			return false;
	return true;
}

static void
CheckTwoClasses(bool binary, Datum ya, bool isnull, const char *arm)
{
	if (binary && OneClass(ya, isnull))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("outcome has only one class in arm \"%s\"", arm),
				 errhint("Each arm needs converted and non-converted customers.")));
}

static char *
F8(double x)
{
	return DatumGetCString(DirectFunctionCall1(float8out, Float8GetDatum(x)));
}

/*
 * train_uplift(name text, source regclass, treatment_col name,
 *				outcome_col name, features name[] DEFAULT '{}',
 *				categorical name[] DEFAULT '{}', method text DEFAULT 'two_model',
 *				control text DEFAULT 'control', lambda float8 DEFAULT 1.0,
 *				standardize bool DEFAULT true, max_iter int DEFAULT 100,
 *				tol float8 DEFAULT 1e-10)
 *	 -> (treatment text, customers bigint, control_customers bigint, ate float8)
 */
PG_FUNCTION_INFO_V1(recpromo_train_uplift);
Datum
recpromo_train_uplift(PG_FUNCTION_ARGS)
{
	TimestampTz t0 = GetCurrentTimestamp();
	PromoCall	pc;
	Oid			rel;
	char	   *relsql;
	char	   *name = PromoTextArg(fcinfo, 0);
	char	   *treatment_col = PromoNameArg(fcinfo, 2);
	char	   *outcome_col = PromoNameArg(fcinfo, 3);
	char	   *method = PromoTextArg(fcinfo, 6);
	char	   *control = PromoTextArg(fcinfo, 7);
	bool		standardize = PG_ARGISNULL(9) ? true : PG_GETARG_BOOL(9);
	double		lambda;
	bool		two_model;
	bool		binary;
	UpliftArmList arms;
	char	   *y_expr;
	char	   *tq;
	PromoSpec	spec;
	char	   *design;
	Oid			types[7] = {FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, TEXTOID,
	TEXTOID, FLOAT8OID, FLOAT8OID};
	Datum		vals[7];
	Datum		out[3];
	bool		outnull[3];
	PromoFitResult fit;
	char	   *control_coef = "null";
	StringInfoData arm_list;
	double		loss = 0;
	int32		max_iter;
	double		tol;

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, false);
	rel = PromoSourceArg(fcinfo, 1);
	relsql = PromoRelSql(rel);
	PromoCheckModelName(name);
	if (method == NULL || (strcmp(method, "two_model") != 0 &&
						   strcmp(method, "class_transformation") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid uplift method \"%s\"", method ? method : "<NULL>"),
				 errhint("Use 'two_model' or 'class_transformation'.")));
	two_model = strcmp(method, "two_model") == 0;
	lambda = PG_ARGISNULL(8) ? get_float8_nan() : PG_GETARG_FLOAT8(8);
	if (!(lambda >= 0) || isinf(lambda))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lambda must be a finite number >= 0")));
	UpliftArms(&pc, rel, treatment_col, control, &arms);
	y_expr = PromoNumExpr(rel, outcome_col, "outcome column");
	PromoQueryRow(&pc, psprintf("SELECT pg_catalog.count(*) FILTER (WHERE %1$s IS NULL),"
								" pg_catalog.count(*) FILTER (WHERE %1$s OPERATOR(pg_catalog.<>) 0 AND %1$s OPERATOR(pg_catalog.<>) 1) FROM %2$s",
								y_expr, relsql),
				  0, NULL, NULL, NULL, 2, out, outnull);
	if (DatumGetInt64(out[0]) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("outcome column \"%s\" has " INT64_FORMAT " missing values",
						outcome_col, DatumGetInt64(out[0])),
				 errhint("Use 0 for customers who did not convert.")));
	binary = DatumGetInt64(out[1]) == 0;
	PromoFeatureSpec(&pc, rel, PG_ARGISNULL(4) ? NULL : PG_GETARG_ARRAYTYPE_P(4),
					 PG_ARGISNULL(5) ? NULL : PG_GETARG_ARRAYTYPE_P(5), standardize, &spec);
	PromoSpecRoundTrip(&spec, NULL);
	PromoSpecValues(&spec, &vals[0], &vals[1], &vals[2]);
	/* parameters $1-$3: centres, scales, levels; $4 on: per query */
	design = psprintf("ARRAY[1::pg_catalog.float8, %s]",
					  PromoJoinExprs(PromoDesignExprs(&spec, 1), spec.n));
	tq = pstrdup(quote_identifier(treatment_col));
	if (PG_ARGISNULL(10) || PG_ARGISNULL(11))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", PG_ARGISNULL(10) ? "max_iter" : "tol"),
				 errhint("Omit it for its default (max_iter 100, tol 1e-10).")));
	max_iter = PG_GETARG_INT32(10);
	tol = PG_GETARG_FLOAT8(11);

	if (two_model)
	{
		vals[3] = CStringGetTextDatum(control);
		PromoQueryRow(&pc, psprintf("SELECT pg_catalog.array_agg(%s), pg_catalog.array_agg(%s) FROM %s"
									" WHERE (%s)::pg_catalog.text OPERATOR(pg_catalog.=) $4",
									design, y_expr, relsql, tq),
					  4, types, vals, NULL, 2, out, outnull);
		CheckTwoClasses(binary, out[1], outnull[1], control);
		PromoFit(binary, outnull[0] ? NULL : DatumGetArrayTypeP(out[0]),
				 outnull[1] ? NULL : DatumGetArrayTypeP(out[1]), NULL, lambda, 0,
				 max_iter, tol, &fit);
		control_coef = PromoFloatArrayJson(fit.coef, fit.p);
		loss += fit.loss;
	}
	initStringInfo(&arm_list);
	for (int i = 0; i < arms.n; i++)
	{
		const char *lbl = arms.labels[i];
		int64		nt = arms.counts[i];
		ArrayType  *w = NULL;

		vals[3] = CStringGetTextDatum(lbl);
		if (two_model)
		{
			PromoQueryRow(&pc, psprintf("SELECT pg_catalog.array_agg(%s), pg_catalog.array_agg(%s) FROM %s"
										" WHERE (%s)::pg_catalog.text OPERATOR(pg_catalog.=) $4",
										design, y_expr, relsql, tq),
						  4, types, vals, NULL, 2, out, outnull);
		}
		else if (binary)
		{
			Oid			wt[2] = {INT8OID, INT8OID};
			Datum		wv[2];
			Datum		wo[2];
			bool		wn[2];

			/* the weights as numeric quotients, as SQL computes them */
			wv[0] = Int64GetDatum(nt);
			wv[1] = Int64GetDatum(arms.n_control);
			PromoQueryRow(&pc, "SELECT (($1 OPERATOR(pg_catalog.+) $2) OPERATOR(pg_catalog./) (2.0 OPERATOR(pg_catalog.*) $1))::pg_catalog.float8,"
						  " (($1 OPERATOR(pg_catalog.+) $2) OPERATOR(pg_catalog./) (2.0 OPERATOR(pg_catalog.*) $2))::pg_catalog.float8",
						  2, wt, wv, NULL, 2, wo, wn);
			vals[4] = CStringGetTextDatum(control);
			vals[5] = wo[0];
			vals[6] = wo[1];
			/* Jaskowski & Jaroszewicz: z = 1 for treated converters and control non-converters */
			PromoQueryRow(&pc, psprintf("SELECT pg_catalog.array_agg(%1$s),"
										"       pg_catalog.array_agg(CASE WHEN (%2$s)::pg_catalog.text OPERATOR(pg_catalog.=) $4 THEN %3$s"
										"                                 ELSE 1 OPERATOR(pg_catalog.-) %3$s END),"
										"       pg_catalog.array_agg(CASE WHEN (%2$s)::pg_catalog.text OPERATOR(pg_catalog.=) $4 THEN $6 ELSE $7 END)"
										"  FROM %4$s WHERE (%2$s)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[$4, $5])",
										design, tq, y_expr, relsql),
						  7, types, vals, NULL, 3, out, outnull);
			w = outnull[2] ? NULL : DatumGetArrayTypeP(out[2]);
		}
		else
		{
			/* transformed outcome z = y (t / p - (1 - t) / (1 - p)), E[z | x] = uplift(x) */
			double		q = (double) nt / (double) (nt + arms.n_control);

			vals[4] = CStringGetTextDatum(control);
			vals[5] = Float8GetDatum(1 / q);
			vals[6] = Float8GetDatum(-1 / (1 - q));
			PromoQueryRow(&pc, psprintf("SELECT pg_catalog.array_agg(%1$s),"
										"       pg_catalog.array_agg(%3$s OPERATOR(pg_catalog.*)"
										"                            CASE WHEN (%2$s)::pg_catalog.text OPERATOR(pg_catalog.=) $4 THEN $6"
										"                                 ELSE $7 END)"
										"  FROM %4$s WHERE (%2$s)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[$4, $5])",
										design, tq, y_expr, relsql),
						  7, types, vals, NULL, 2, out, outnull);
		}
		CheckTwoClasses(binary, out[1], outnull[1], lbl);
		PromoFit(binary, outnull[0] ? NULL : DatumGetArrayTypeP(out[0]),
				 outnull[1] ? NULL : DatumGetArrayTypeP(out[1]), w, lambda, 0,
				 max_iter, tol, &fit);
		loss += fit.loss;
		appendStringInfoString(&arm_list, i > 0 ? ", {\"treatment\": " : "{\"treatment\": ");
		escape_json(&arm_list, lbl);
		appendStringInfo(&arm_list, ", \"coef\": %s, \"customers\": " INT64_FORMAT "}",
						 PromoFloatArrayJson(fit.coef, fit.p), nt);
	}

	{
		StringInfoData js;
		Datum		a[7];
		bool		an[7] = {false, false, false, false, false, false, false};
		int64		total = arms.n_control;

		for (int i = 0; i < arms.n; i++)
			total += arms.counts[i];
		initStringInfo(&js);
		appendStringInfo(&js, "{\"method\": \"%s\", \"outcome\": \"%s\", \"features\": %s, \"control\": ",
						 method, binary ? "binary" : "continuous", PromoSpecJson(&spec));
		escape_json(&js, control);
		appendStringInfo(&js, ", \"control_coef\": %s, \"arms\": [%s], \"lambda\": %s, \"standardize\": %s,"
						 " \"treatment_col\": ",
						 control_coef, arm_list.data, F8(lambda), standardize ? "true" : "false");
		escape_json(&js, treatment_col);
		appendStringInfoString(&js, ", \"outcome_col\": ");
		escape_json(&js, outcome_col);
		appendStringInfoChar(&js, '}');
		a[0] = PG_GETARG_DATUM(0);
		a[1] = CStringGetTextDatum("uplift");
		a[2] = JsonbPGetDatum(PromoJsonbFromText(js.data));
		a[3] = ObjectIdGetDatum(rel);
		a[4] = Int64GetDatum(total);
		a[5] = Float8GetDatum((double) (GetCurrentTimestamp() - t0) / 1000000.0);
		a[6] = Float8GetDatum(loss);
		PromoCallInternal(recpromo__promo_store, 7, a, an, NULL);
	}
	{
		Oid			rt[2] = {TEXTOID, INT8OID};
		Datum		rv[2];

		rv[0] = CStringGetTextDatum(control);
		rv[1] = Int64GetDatum(arms.n_control);
		PromoReturnQuery(&pc, fcinfo,
						 psprintf("WITH s AS (SELECT (%1$s)::pg_catalog.text AS arm, %2$s AS y FROM %3$s),"
								  "      c AS (SELECT pg_catalog.avg(y) AS m FROM s WHERE arm OPERATOR(pg_catalog.=) $1)"
								  " SELECT arm, pg_catalog.count(*), $2, pg_catalog.avg(y) OPERATOR(pg_catalog.-) (SELECT m FROM c)"
								  "   FROM s WHERE arm OPERATOR(pg_catalog.<>) $1 GROUP BY arm ORDER BY arm",
								  tq, y_expr, relsql),
						 2, rt, rv, NULL);
	}
	PromoEnd(&pc);
	return (Datum) 0;
}

/* A checked uplift model. */
typedef struct UpliftModel
{
	PromoSpec	spec;
	bool		two_model;
	bool		binary;
	int			n_arms;
	Datum		treatments;		/* text[] */
	Datum		coefs;			/* float8[][]: arms, then the control model */
	JsonbValue *arms;
	JsonbValue *control_coef;
	JsonbValue *features;
} UpliftModel;

static void
ReadUpliftModel(Jsonb *p, UpliftModel *m)
{
	JsonbContainer *root = &p->root;
	JsonbContainer *ac;
	Datum	   *tr;
	Datum	   *cd;
	int			nf;
	int			rows;
	int			dims[2], lbs[2] = {1, 1};

	m->features = PromoJsonKey(root, "features");
	PromoSpecFromJsonb(m->features, &m->spec);
	m->two_model = strcmp(PromoJsonString(PromoJsonKey(root, "method")), "two_model") == 0;
	m->binary = strcmp(PromoJsonString(PromoJsonKey(root, "outcome")), "binary") == 0;
	m->arms = PromoJsonKey(root, "arms");
	m->control_coef = PromoJsonKey(root, "control_coef");
	ac = PromoJsonContainer(m->arms);
	m->n_arms = JsonContainerSize(ac);
	nf = m->spec.n + 1;
	rows = m->n_arms + (m->two_model ? 1 : 0);
	tr = palloc(sizeof(Datum) * m->n_arms);
	cd = palloc(sizeof(Datum) * rows * nf);
	for (int i = 0; i < rows; i++)
	{
		JsonbValue *coef;
		double	   *v;
		int			n;

		if (i < m->n_arms)
		{
			JsonbContainer *a = PromoJsonContainer(getIthJsonbValueFromContainer(ac, i));

			tr[i] = CStringGetTextDatum(PromoJsonString(PromoJsonKey(a, "treatment")));
			coef = PromoJsonKey(a, "coef");
		}
		else
			coef = m->control_coef;
		v = PromoCoefValues(coef, &n);
		for (int j = 0; j < nf; j++)
			cd[i * nf + j] = Float8GetDatum(v[j]);
	}
	m->treatments = PointerGetDatum(construct_array(tr, m->n_arms, TEXTOID, -1, false, TYPALIGN_INT));
	dims[0] = rows;
	dims[1] = nf;
	m->coefs = PointerGetDatum(construct_md_array(cd, NULL, 2, dims, lbs, FLOAT8OID, 8,
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* SQL of the uplift of arm i (1-based); coefficients in rows of $1. */
static char *
UpliftExpr(PromoCall *pc, UpliftModel *m, char **exprs, int i)
{
	char	   *l = PromoLinearSql(exprs, m->spec.n, psprintf("$1[%d]", i));

	if (m->two_model)
	{
		char	   *lc = PromoLinearSql(exprs, m->spec.n, psprintf("$1[%d]", m->n_arms + 1));

		if (m->binary)
			return psprintf("(%s.sigmoid(%s) OPERATOR(pg_catalog.-) %s.sigmoid(%s))",
							pc->schema, l, pc->schema, lc);
		return psprintf("(%s OPERATOR(pg_catalog.-) %s)", l, lc);
	}
	if (m->binary)
		return psprintf("((2::pg_catalog.float8 OPERATOR(pg_catalog.*) %s.sigmoid(%s)) OPERATOR(pg_catalog.-) 1::pg_catalog.float8)",
						pc->schema, l);
	return l;
}

/*
 * score_uplift(model text, source regclass, key_col name)
 *	 -> (key text, treatment text, uplift float8)
 */
PG_FUNCTION_INFO_V1(recpromo_score_uplift);
Datum
recpromo_score_uplift(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Jsonb	   *p;
	UpliftModel m;
	Oid			rel;
	char	   *key = PromoNameArg(fcinfo, 2);
	char	  **exprs;
	StringInfoData list;
	Oid			types[5] = {FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		vals[5];

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	p = PromoModel(fcinfo, 0, "uplift");
	rel = PromoSourceArg(fcinfo, 1);
	PromoColType(rel, key, "key column");
	PromoCheckColumns(&pc, text_to_cstring(PG_GETARG_TEXT_PP(0)),
					  PromoJsonKey(&p->root, "features"), rel);
	ReadUpliftModel(p, &m);
	exprs = PromoDesignExprs(&m.spec, 2);
	initStringInfo(&list);
	for (int i = 1; i <= m.n_arms; i++)
		appendStringInfo(&list, "%s%s", i > 1 ? ", " : "", UpliftExpr(&pc, &m, exprs, i));
	vals[0] = m.coefs;
	PromoSpecValues(&m.spec, &vals[1], &vals[2], &vals[3]);
	vals[4] = m.treatments;
	/*
	 * unnest of two arrays, not a LATERAL VALUES list: a Values Scan would
	 * compile its expressions again for every row
	 */
	PromoReturnQuery(&pc, fcinfo,
					 psprintf("SELECT (%s)::pg_catalog.text, v.t, v.u FROM %s"
							  " CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest($5), pg_catalog.unnest(ARRAY[%s]::pg_catalog.float8[])) v(t, u)",
							  quote_identifier(key), PromoRelSql(rel), list.data),
					 5, types, vals, NULL);
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * predict_uplift(model text, features jsonb) -> (treatment text, uplift float8)
 */
PG_FUNCTION_INFO_V1(recpromo_predict_uplift);
Datum
recpromo_predict_uplift(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Jsonb	   *p;
	UpliftModel m;
	Oid			types[4] = {JSONBOID, JSONBOID, JSONBOID, JSONBOID};
	Datum		vals[4];
	bool		vnull[4] = {false, false, false, false};
	char	   *l, *c, *u;

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	p = PromoModel(fcinfo, 0, "uplift");
	ReadUpliftModel(p, &m);
	vals[0] = JsonbPGetDatum(JsonbValueToJsonb(m.features));
	vnull[1] = m.control_coef == NULL || m.control_coef->type == jbvNull;
	vals[1] = vnull[1] ? (Datum) 0 : JsonbPGetDatum(JsonbValueToJsonb(m.control_coef));
	vnull[2] = PG_ARGISNULL(1);
	vals[2] = vnull[2] ? (Datum) 0 : PG_GETARG_DATUM(1);
	vals[3] = JsonbPGetDatum(JsonbValueToJsonb(m.arms));
	l = "s.l";
	c = "cc.c";
	if (m.two_model && m.binary)
		u = psprintf("(%1$s.sigmoid(%2$s) OPERATOR(pg_catalog.-) %1$s.sigmoid(%3$s))", pc.schema, l, c);
	else if (m.two_model)
		u = psprintf("(%s OPERATOR(pg_catalog.-) %s)", l, c);
	else if (m.binary)
		u = psprintf("((2 OPERATOR(pg_catalog.*) %s.sigmoid(%s)) OPERATOR(pg_catalog.-) 1)", pc.schema, l);
	else
		u = l;
	PromoReturnQuery(&pc, fcinfo,
					 psprintf("SELECT arm.a OPERATOR(pg_catalog.->>) 'treatment', %s"
							  "  FROM pg_catalog.jsonb_array_elements($4) WITH ORDINALITY arm(a, ai),"
							  "       LATERAL (SELECT %s AS l) s,"
							  "       (SELECT %s AS c) cc"
							  " ORDER BY arm.ai",
							  u, PromoLinearJsonbSql("(arm.a OPERATOR(pg_catalog.->) 'coef')"),
							  PromoLinearJsonbSql("$2")),
					 4, types, vals, vnull);
	PromoEnd(&pc);
	return (Datum) 0;
}
