/*
 * promo_spec.c
 *	  The feature specification of the promotion models and the design
 *	  matrix it defines: built from a table at training, stored in a model's
 *	  params (jsonb), checked when it comes back, and turned into the SQL
 *	  expressions that score a table.
 *
 * A specification is a list of encoded features:
 *	 {"column": c, "kind": "numeric", "bool": b, "center": x, "scale": s}
 *	 {"column": c, "kind": "level", "level": l}
 * Numeric columns are centred and scaled (standardize) or kept as they are
 * (center 0, scale 1); a categorical column becomes one 0/1 feature per
 * level except the first in sort order, the reference.  Building one
 * (PromoFeatureSpec) checks the data: missing, non-finite and constant
 * features and more than 1000 levels are errors.
 *
 * Stored models are untrusted input.  A model's params may have been
 * written by another role or edited by hand, and the role that scores with
 * it may be a superuser.  PromoModel checks them against a fixed schema
 * before any use (feature kinds from a fixed list, column names of 1 to 63
 * bytes, every number a finite float8, arrays of the right lengths, distinct
 * arms) and refuses anything else with XX001 data_corrupted naming the
 * model.  Even a row that passed yields only quoted identifiers: centres,
 * scales, levels and coefficients enter the scoring SQL as parameters
 * (PromoSpecValues, PromoCoefArray), never as text.
 *
 * The numbers of a specification go through jsonb before use, at training
 * too (PromoSpecRoundTrip): the model then scores the training table with
 * exactly the values it stores.  A float8 becomes a jsonb number through its
 * text form (float8out), as to_jsonb does.
 *
 * Until 0.3.0 this was PL/pgSQL (_promo_feature_spec, _promo_spec_problem,
 * _promo_params_problem, _promo_design, ...), SQL functions that every role
 * could call (issue 18).  Messages, SQLSTATEs and hints are unchanged.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "promo.h"
#include "recpromo.h"

#define MAX_LEVELS 1000

/* ---------- building from a table ---------- */

static void
AddFeature(PromoSpec *spec, const PromoFeature *f)
{
	if (spec->n == spec->cap)
	{
		spec->cap = spec->cap ? spec->cap * 2 : 8;
		spec->f = spec->f ? repalloc(spec->f, sizeof(PromoFeature) * spec->cap)
			: palloc(sizeof(PromoFeature) * spec->cap);
	}
	spec->f[spec->n++] = *f;
}

/* Elements of a name[] (NULL array: none); NULL elements as NULL. */
static char **
NameElements(ArrayType *a, int *n)
{
	Datum	   *d;
	bool	   *nulls;
	char	  **out;

	*n = 0;
	if (a == NULL)
		return NULL;
	deconstruct_array(a, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR, &d, &nulls, n);
	out = palloc(sizeof(char *) * (*n + 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? NULL : pstrdup(NameStr(*DatumGetName(d[i])));
	return out;
}

static char *
Float8Text(double x)
{
	return DatumGetCString(DirectFunctionCall1(float8out, Float8GetDatum(x)));
}

void
PromoFeatureSpec(PromoCall *pc, Oid rel, ArrayType *features, ArrayType *categorical,
				 bool standardize, PromoSpec *spec)
{
	int			nf, nc;
	char	  **fcols = NameElements(features, &nf);
	char	  **ccols = NameElements(categorical, &nc);
	char	  **all;
	char	   *relsql = PromoRelSql(rel);

	memset(spec, 0, sizeof(*spec));
	if (nf + nc == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no features given"),
				 errhint("Pass numeric columns in features and text columns in categorical.")));
	all = palloc(sizeof(char *) * (nf + nc));
	for (int i = 0; i < nf; i++)
		all[i] = fcols[i];
	for (int i = 0; i < nc; i++)
		all[nf + i] = ccols[i];
	for (int i = 0; i < nf + nc; i++)
		for (int j = i + 1; j < nf + nc; j++)
			if ((all[i] == NULL && all[j] == NULL) ||
				(all[i] && all[j] && strcmp(all[i], all[j]) == 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a feature is listed twice")));
	if (nf > 0)
	{
		StringInfoData q;
		char	  **exprs = palloc(sizeof(char *) * nf);
		Datum		stats_d;
		bool		stats_null;
		Datum	   *sd;
		bool	   *sn;
		int			ns;
		double	   *st;

		initStringInfo(&q);
		appendStringInfoString(&q, "SELECT ARRAY[pg_catalog.count(*)::pg_catalog.float8");
		for (int i = 0; i < nf; i++)
		{
			exprs[i] = PromoNumExpr(rel, fcols[i], "feature");
			appendStringInfo(&q,
							 ", pg_catalog.count(*) FILTER (WHERE %1$s IS NULL), pg_catalog.avg(%1$s),"
							 " pg_catalog.stddev_pop(%1$s), pg_catalog.min(%1$s), pg_catalog.max(%1$s)",
							 exprs[i]);
		}
		appendStringInfo(&q, "] FROM %s", relsql);
		PromoQueryRow(pc, q.data, 0, NULL, NULL, NULL, 1, &stats_d, &stats_null);
		deconstruct_array(DatumGetArrayTypeP(stats_d), FLOAT8OID, 8, FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &sd, &sn, &ns);
		/* 1-based as in SQL: st[1] rows, then 5 per feature */
		st = palloc(sizeof(double) * (ns + 1));
		for (int i = 0; i < ns; i++)
			st[i + 1] = sn[i] ? get_float8_nan() : DatumGetFloat8(sd[i]);
		if (st[1] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source %s has no rows", PromoRelText(rel))));
		for (int k = 0; k < nf; k++)
		{
			int			i = k + 1;
			PromoFeature f;

			if (st[5 * i - 3] > 0)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("feature \"%s\" has " INT64_FORMAT " missing values",
								fcols[k], (int64) st[5 * i - 3]),
						 errhint("Impute or filter the NULL values first (for instance with a view).")));
			if (isnan(st[5 * i - 1]) || isinf(st[5 * i - 1]) ||
				isnan(st[5 * i]) || isinf(st[5 * i]) ||
				isnan(st[5 * i + 1]) || isinf(st[5 * i + 1]))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("feature \"%s\" has NaN or infinite values", fcols[k]),
						 errhint("Filter out the non-finite values first.")));
			if (st[5 * i] == st[5 * i + 1])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("feature \"%s\" is constant", fcols[k]),
						 errdetail("Every row has the value %s.", Float8Text(st[5 * i])),
						 errhint("Drop the column from the features: it carries no information.")));
			memset(&f, 0, sizeof(f));
			f.kind = PROMO_FEATURE_NUMERIC;
			f.column = fcols[k];
			f.is_bool = PromoColType(rel, fcols[k], "feature") == BOOLOID;
			f.center = standardize ? st[5 * i - 2] : 0;
			f.scale = standardize ? st[5 * i - 1] : 1;
			AddFeature(spec, &f);
		}
	}
	for (int k = 0; k < nc; k++)
	{
		const char *col = ccols[k];
		const char *cq;
		Datum		out[2];
		bool		outnull[2];
		int64		nnull;
		Datum	   *ld;
		bool	   *ln;
		int			nl = 0;

		PromoColType(rel, col, "categorical feature");
		cq = quote_identifier(col);
		PromoQueryRow(pc, psprintf("SELECT pg_catalog.count(*) FILTER (WHERE %1$s IS NULL),"
								   " pg_catalog.array_agg(DISTINCT (%1$s)::pg_catalog.text) FILTER (WHERE %1$s IS NOT NULL) FROM %2$s",
								   cq, relsql),
					  0, NULL, NULL, NULL, 2, out, outnull);
		nnull = DatumGetInt64(out[0]);
		if (nnull > 0)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("feature \"%s\" has " INT64_FORMAT " missing values", col, nnull),
					 errhint("Map NULL to a level of its own (coalesce) or filter the rows.")));
		if (!outnull[1])
			deconstruct_array(DatumGetArrayTypeP(out[1]), TEXTOID, -1, false, TYPALIGN_INT,
							  &ld, &ln, &nl);
		if (nl < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\" is constant", col),
					 errhint("A categorical feature needs at least two levels.")));
		if (nl > MAX_LEVELS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("feature \"%s\" has %d levels, the limit is %d", col, nl, MAX_LEVELS),
					 errhint("Group rare levels together first.")));
		for (int i = 1; i < nl; i++)
		{
			PromoFeature f;

			memset(&f, 0, sizeof(f));
			f.kind = PROMO_FEATURE_LEVEL;
			f.column = pstrdup(col);
			f.level = TextDatumGetCString(ld[i]);
			AddFeature(spec, &f);
		}
	}
}

/* ---------- jsonb ---------- */

static void
AppendJsonString(StringInfo buf, const char *s)
{
	escape_json(buf, s);
}

char *
PromoSpecJson(const PromoSpec *spec)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < spec->n; i++)
	{
		const PromoFeature *f = &spec->f[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"column\": ");
		AppendJsonString(&buf, f->column);
		if (f->kind == PROMO_FEATURE_NUMERIC)
			appendStringInfo(&buf, ", \"kind\": \"numeric\", \"bool\": %s, \"center\": %s, \"scale\": %s}",
							 f->is_bool ? "true" : "false", Float8Text(f->center),
							 Float8Text(f->scale));
		else
		{
			appendStringInfoString(&buf, ", \"kind\": \"level\", \"level\": ");
			AppendJsonString(&buf, f->level);
			appendStringInfoChar(&buf, '}');
		}
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

char *
PromoFloatArrayJson(const double *v, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", Float8Text(v[i]));
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

Jsonb *
PromoJsonbFromText(const char *json)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

JsonbValue *
PromoJsonKey(JsonbContainer *c, const char *key)
{
	if (c == NULL || !JsonContainerIsObject(c))
		return NULL;
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

JsonbContainer *
PromoJsonContainer(JsonbValue *v)
{
	return (v != NULL && v->type == jbvBinary) ? v->val.binary.data : NULL;
}

/* jsonb_typeof of a value (NULL for a missing one). */
static const char *
TypeOf(JsonbValue *v)
{
	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "array" : "object";
		default:
			return "unknown";
	}
}

static bool
IsType(JsonbValue *v, const char *t)
{
	const char *have = TypeOf(v);

	return have != NULL && strcmp(have, t) == 0;
}

/* v->>'' of a string value, NUL-terminated (NULL when not a string). */
char *
PromoJsonString(JsonbValue *v)
{
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static int
NumCmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

static Numeric
NumConst(const char *s)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/*
 * Whether a jsonb number is out of the finite float8 range of the stored
 * models: |x| > 1e300, or 0 < |x| < 1e-300 (zero_ok) or |x| < 1e-300.
 */
static bool
NumOutOfRange(Numeric x, bool zero_ok)
{
	Numeric		ax = DatumGetNumeric(DirectFunctionCall1(numeric_abs, NumericGetDatum(x)));

	if (NumCmp(ax, NumConst("1e300")) > 0)
		return true;
	if (zero_ok && NumCmp(ax, NumConst("0")) == 0)
		return false;
	return NumCmp(ax, NumConst("1e-300")) < 0;
}

static char *
SpecProblem(JsonbValue *spec)
{
	JsonbContainer *c = PromoJsonContainer(spec);
	int			n;

	if (!IsType(spec, "array"))
		return "features is not an array";
	n = JsonContainerSize(c);
	if (n == 0 || n > 100000)
		return psprintf("features has %d entries", n);
	for (int k = 0; k < n; k++)
	{
		int			i = k + 1;
		JsonbValue *f = getIthJsonbValueFromContainer(c, k);
		JsonbContainer *fc = PromoJsonContainer(f);
		JsonbValue *col, *kind;
		char	   *kd;

		if (!IsType(f, "object"))
			return psprintf("feature %d is not an object", i);
		col = PromoJsonKey(fc, "column");
		if (!IsType(col, "string") || col->val.string.len < 1 || col->val.string.len > 63)
			return psprintf("feature %d has no valid column name", i);
		kind = PromoJsonKey(fc, "kind");
		kd = PromoJsonString(kind);
		if (kd != NULL && strcmp(kd, "numeric") == 0)
		{
			JsonbValue *cv = PromoJsonKey(fc, "center");
			JsonbValue *sv = PromoJsonKey(fc, "scale");

			if (!IsType(PromoJsonKey(fc, "bool"), "boolean"))
				return psprintf("feature %d has no boolean \"bool\"", i);
			if (!IsType(cv, "number") || !IsType(sv, "number"))
				return psprintf("feature %d has an invalid centre or scale", i);
			if (NumCmp(sv->val.numeric, NumConst("0")) == 0)
				return psprintf("feature %d has a zero scale", i);
			if (NumOutOfRange(cv->val.numeric, true) || NumOutOfRange(sv->val.numeric, false))
				return psprintf("feature %d has an invalid centre or scale", i);
		}
		else if (kd != NULL && strcmp(kd, "level") == 0)
		{
			if (!IsType(PromoJsonKey(fc, "level"), "string"))
				return psprintf("feature %d has no text level", i);
		}
		else
			return psprintf("feature %d has an unknown kind", i);
	}
	return NULL;
}

static char *
CoefProblem(JsonbValue *coef, int n, const char *what)
{
	JsonbContainer *c = PromoJsonContainer(coef);
	int			len;

	if (!IsType(coef, "array"))
		return psprintf("%s is not an array", what);
	len = JsonContainerSize(c);
	if (len != n)
		return psprintf("%s has the wrong length (%d, the features need %d)", what, len, n);
	for (int k = 0; k < len; k++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(c, k);

		if (!IsType(v, "number") || NumOutOfRange(v->val.numeric, true))
			return psprintf("%s has an entry that is not a finite number", what);
	}
	return NULL;
}

char *
PromoParamsProblem(Jsonb *p, const char *method)
{
	JsonbContainer *root = &p->root;
	char	   *bad;
	int			n;
	char	   *m, *o;
	JsonbValue *arms;
	JsonbContainer *ac;
	int			na;

	if (!JB_ROOT_IS_OBJECT(p))
		return "params is not an object";
	bad = SpecProblem(PromoJsonKey(root, "features"));
	if (bad != NULL)
		return bad;
	n = JsonContainerSize(PromoJsonContainer(PromoJsonKey(root, "features"))) + 1;
	if (strcmp(method, "logistic") == 0)
		return CoefProblem(PromoJsonKey(root, "coef"), n, "coef");
	if (strcmp(method, "uplift") != 0)
		return psprintf("method %s has no stored parameters", method);
	m = PromoJsonString(PromoJsonKey(root, "method"));
	if (m == NULL || (strcmp(m, "two_model") != 0 && strcmp(m, "class_transformation") != 0))
		return "method is not two_model or class_transformation";
	o = PromoJsonString(PromoJsonKey(root, "outcome"));
	if (o == NULL || (strcmp(o, "binary") != 0 && strcmp(o, "continuous") != 0))
		return "outcome is not binary or continuous";
	if (strcmp(m, "two_model") == 0)
	{
		bad = CoefProblem(PromoJsonKey(root, "control_coef"), n, "control_coef");
		if (bad != NULL)
			return bad;
	}
	arms = PromoJsonKey(root, "arms");
	ac = PromoJsonContainer(arms);
	if (!IsType(arms, "array") || JsonContainerSize(ac) < 1 || JsonContainerSize(ac) > 10000)
		return "arms is not an array of 1 to 10000 treatments";
	na = JsonContainerSize(ac);
	{
		char	  **names = palloc(sizeof(char *) * na);

		for (int k = 0; k < na; k++)
		{
			JsonbValue *a = getIthJsonbValueFromContainer(ac, k);
			JsonbContainer *c = PromoJsonContainer(a);

			names[k] = PromoJsonString(PromoJsonKey(c, "treatment"));
			if (names[k] == NULL)
				return psprintf("arm %d has no text treatment", k + 1);
			bad = CoefProblem(PromoJsonKey(c, "coef"), n, psprintf("the coef of arm %d", k + 1));
			if (bad != NULL)
				return bad;
		}
		for (int i = 0; i < na; i++)
			for (int j = i + 1; j < na; j++)
				if (strcmp(names[i], names[j]) == 0)
					return "two arms have the same treatment";
	}
	return NULL;
}

/*
 * The stored parameters of a model the caller may serve, through the
 * owner/grant checks of model_acl.c, then checked here.
 */
Jsonb *
PromoModel(FunctionCallInfo fcinfo, int argno, const char *want)
{
	Jsonb	   *p = PromoModelParams(PG_ARGISNULL(argno) ? NULL : PG_GETARG_TEXT_PP(argno), want);
	char	   *bad = PromoParamsProblem(p, want);

	if (bad != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" is corrupted", text_to_cstring(PG_GETARG_TEXT_PP(argno))),
				 errdetail("Its stored parameters are invalid: %s.", bad),
				 errhint("Retrain the model (train_propensity or train_uplift); stored parameters are not meant to be edited.")));
	return p;
}

/* ---------- from a (checked) specification ---------- */

static double
NumericToFloat8(Numeric x)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(x)));
}

void
PromoSpecFromJsonb(JsonbValue *features, PromoSpec *spec)
{
	JsonbContainer *c = PromoJsonContainer(features);
	int			n = JsonContainerSize(c);

	memset(spec, 0, sizeof(*spec));
	for (int k = 0; k < n; k++)
	{
		JsonbContainer *fc = PromoJsonContainer(getIthJsonbValueFromContainer(c, k));
		PromoFeature f;
		char	   *kind = PromoJsonString(PromoJsonKey(fc, "kind"));

		memset(&f, 0, sizeof(f));
		f.column = PromoJsonString(PromoJsonKey(fc, "column"));
		if (kind != NULL && strcmp(kind, "numeric") == 0)
		{
			f.kind = PROMO_FEATURE_NUMERIC;
			f.is_bool = PromoJsonKey(fc, "bool")->val.boolean;
			f.center = NumericToFloat8(PromoJsonKey(fc, "center")->val.numeric);
			f.scale = NumericToFloat8(PromoJsonKey(fc, "scale")->val.numeric);
		}
		else
		{
			f.kind = PROMO_FEATURE_LEVEL;
			f.level = PromoJsonString(PromoJsonKey(fc, "level"));
		}
		AddFeature(spec, &f);
	}
}

void
PromoSpecRoundTrip(PromoSpec *spec, Jsonb **json)
{
	Jsonb	   *j = PromoJsonbFromText(psprintf("{\"features\": %s}", PromoSpecJson(spec)));

	PromoSpecFromJsonb(PromoJsonKey(&j->root, "features"), spec);
	if (json)
		*json = j;
}

void
PromoSpecValues(const PromoSpec *spec, Datum *center, Datum *scale, Datum *levels)
{
	int			n = spec->n;
	Datum	   *c = palloc(sizeof(Datum) * (n + 1));
	Datum	   *s = palloc(sizeof(Datum) * (n + 1));
	Datum	   *l = palloc(sizeof(Datum) * (n + 1));
	bool	   *cn = palloc(sizeof(bool) * (n + 1));
	bool	   *ln = palloc(sizeof(bool) * (n + 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		bool		num = spec->f[i].kind == PROMO_FEATURE_NUMERIC;

		c[i] = Float8GetDatum(num ? spec->f[i].center : 0);
		s[i] = Float8GetDatum(num ? spec->f[i].scale : 0);
		cn[i] = !num;
		l[i] = num ? (Datum) 0 : CStringGetTextDatum(spec->f[i].level);
		ln[i] = num;
	}
	*center = PointerGetDatum(construct_md_array(c, cn, 1, dims, lbs, FLOAT8OID, 8,
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	*scale = PointerGetDatum(construct_md_array(s, cn, 1, dims, lbs, FLOAT8OID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	*levels = PointerGetDatum(construct_md_array(l, ln, 1, dims, lbs, TEXTOID, -1,
												 false, TYPALIGN_INT));
}

char **
PromoDesignExprs(const PromoSpec *spec, int p)
{
	char	  **out = palloc(sizeof(char *) * (spec->n + 1));

	for (int k = 0; k < spec->n; k++)
	{
		const PromoFeature *f = &spec->f[k];
		int			j = k + 1;

		if (f->kind == PROMO_FEATURE_LEVEL)
			out[k] = psprintf("(((%s)::pg_catalog.text OPERATOR(pg_catalog.=) $%d[%d])::pg_catalog.int4::pg_catalog.float8)",
							  quote_identifier(f->column), p + 2, j);
		else
			out[k] = psprintf("(((%s)%s::pg_catalog.float8 OPERATOR(pg_catalog.-) $%d[%d]) OPERATOR(pg_catalog./) $%d[%d])",
							  quote_identifier(f->column), f->is_bool ? "::pg_catalog.int4" : "",
							  p, j, p + 1, j);
	}
	return out;
}

char *
PromoJoinExprs(char **exprs, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", exprs[i]);
	return buf.data;
}

char *
PromoLinearSql(char **exprs, int n, const char *coef_ref)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "(%s[1]", coef_ref);
	for (int j = 1; j <= n; j++)
		appendStringInfo(&buf, " OPERATOR(pg_catalog.+) (%s[%d] OPERATOR(pg_catalog.*) %s)",
						 coef_ref, j + 1, exprs[j - 1]);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

double *
PromoCoefValues(JsonbValue *coef, int *n)
{
	JsonbContainer *c = PromoJsonContainer(coef);
	double	   *v;

	*n = JsonContainerSize(c);
	v = palloc(sizeof(double) * (*n + 1));
	for (int k = 0; k < *n; k++)
		v[k] = NumericToFloat8(getIthJsonbValueFromContainer(c, k)->val.numeric);
	return v;
}

Datum
PromoCoefArray(JsonbValue *coef)
{
	int			n;
	double	   *v = PromoCoefValues(coef, &n);

	return PointerGetDatum(PromoMakeFloatArray(v, n));
}

void
PromoCheckColumns(PromoCall *pc, const char *model, JsonbValue *features, Oid rel)
{
	Oid			types[2] = {JSONBOID, OIDOID};
	Datum		vals[2];
	Datum		out[3];
	bool		outnull[3];
	JsonbValue	fv = *features;

	vals[0] = JsonbPGetDatum(JsonbValueToJsonb(&fv));
	vals[1] = ObjectIdGetDatum(rel);
	PromoQueryRow(pc,
				  "SELECT pg_catalog.count(DISTINCT s.c),"
				  "       (SELECT pg_catalog.string_agg(pg_catalog.format('\"%s\"', m), ', ' ORDER BY m)"
				  "          FROM (SELECT DISTINCT s2.c AS m FROM (SELECT pg_catalog.jsonb_extract_path_text(f, 'column') AS c"
				  "                  FROM pg_catalog.jsonb_array_elements($1) f) s2"
				  "                 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
				  "                                    WHERE a.attrelid OPERATOR(pg_catalog.=) $2"
				  "                                      AND a.attname OPERATOR(pg_catalog.=) s2.c::pg_catalog.name"
				  "                                      AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)) mm),"
				  "       (SELECT pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(pg_catalog.jsonb_extract_path_text(f, 'column')), ', ')"
				  "          FROM pg_catalog.jsonb_array_elements($1) f)"
				  "  FROM (SELECT pg_catalog.jsonb_extract_path_text(f, 'column') AS c FROM pg_catalog.jsonb_array_elements($1) f) s"
				  " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
				  "                    WHERE a.attrelid OPERATOR(pg_catalog.=) $2"
				  "                      AND a.attname OPERATOR(pg_catalog.=) s.c::pg_catalog.name"
				  "                      AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)",
				  2, types, vals, NULL, 3, out, outnull);
	if (DatumGetInt64(out[0]) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("model \"%s\" needs column%s %s that %s does not have", model,
						DatumGetInt64(out[0]) > 1 ? "s" : "",
						TextDatumGetCString(out[1]), PromoRelText(rel)),
				 errdetail("The model reads the feature columns %s.", TextDatumGetCString(out[2])),
				 errhint("Score a table or view that has these columns under the same names (a view can rename them).")));
}

char *
PromoFeatureLabel(const PromoFeature *f)
{
	if (f->kind == PROMO_FEATURE_LEVEL)
		return psprintf("%s=%s", f->column, f->level);
	return pstrdup(f->column);
}

/*
 * _promo_model(model text, want text) -> jsonb: PromoModel for the
 * PL/pgSQL of evaluate_policy up to 0.2.0.  No SQL function uses it since
 * 0.3.0 (evaluate_policy's C front door, ab_front.c, calls PromoModel);
 * the symbol stays for the install scripts of earlier versions.
 */
PG_FUNCTION_INFO_V1(recpromo__promo_model);
Datum
recpromo__promo_model(PG_FUNCTION_ARGS)
{
	char	   *want;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model method must not be null")));
	want = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(want, "logistic") != 0 && strcmp(want, "uplift") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method %s has no stored parameters", want)));
	PG_RETURN_JSONB_P(PromoModel(fcinfo, 0, want));
}
