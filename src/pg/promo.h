/*
 * promo.h
 *	  What the promotion-analytics glue (promo_*.c) shares: SQL arrays in
 *	  and out of dense C arrays with their checks (promo_arrays.c), the SPI
 *	  plumbing that reads the caller's tables (promo_query.c), feature
 *	  specifications and stored-model checks (promo_spec.c), the fits
 *	  (promo_fit.c, promo_kmeans.c) and the campaign-arm check of the
 *	  uplift functions (promo_uplift.c).
 *
 * The public promotion functions are C with invoker rights: they read the
 * caller's tables through SPI with the caller's privileges and row-level
 * security and work on whole columns as arrays.  None of the functions
 * declared here is SQL-callable (issue 18), but for the four checks that
 * other areas' PL/pgSQL still calls (promo_query.c, promo_spec.c).
 */
#ifndef PROMO_H
#define PROMO_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"

/*
 * Returns the elements of a one-dimensional float8 array (or an empty
 * array) as a palloc'd double vector and sets *n.  `what` names the argument
 * in errors: NULL elements and NaN/Inf raise DATA_EXCEPTION.
 */
extern double *PromoFloatVector(ArrayType *a, const char *what, int64 *n);

/*
 * Returns a two-dimensional float8 array as a palloc'd row-major matrix,
 * setting *rows and *cols, with the same checks.  A one-dimensional array
 * is read as one column.
 */
extern double *PromoFloatMatrix(ArrayType *a, const char *what, int64 *rows,
								int *cols);

/* Returns a one-dimensional boolean array (no NULLs) as 0/1 bytes. */
extern uint8 *PromoBoolVector(ArrayType *a, const char *what, int64 *n);

/* Raises an error unless n == expected. */
extern void PromoCheckLength(int64 n, int64 expected, const char *what);

/* Builds a float8[] from n doubles. */
extern ArrayType *PromoMakeFloatArray(const double *v, int64 n);

/* One call of a public promotion function: SPI connected, path forced. */
typedef struct PromoCall
{
	int			token;			/* of RecpromoSpiConnect */
	bool		read_only;		/* STABLE functions: read-only SPI */
	const char *schema;			/* the extension's schema, quoted */
} PromoCall;

extern void PromoBegin(PromoCall *pc, FunctionCallInfo fcinfo, bool read_only);
extern void PromoEnd(PromoCall *pc);

/* Argument readers: NULL when the argument is NULL (PromoSourceArg errors). */
extern Oid	PromoSourceArg(FunctionCallInfo fcinfo, int argno);
extern char *PromoNameArg(FunctionCallInfo fcinfo, int argno);
extern char *PromoTextArg(FunctionCallInfo fcinfo, int argno);

/* "schema"."name" for query texts; the regclass text for messages. */
extern char *PromoRelSql(Oid rel);
extern char *PromoRelText(Oid rel);
extern char *PromoTypeText(Oid type);

/*
 * Type of column col of rel, or an error naming the column's role
 * ("customer column"): 22004 when col is NULL, 42703 when missing.
 */
extern Oid	PromoColType(Oid rel, const char *col, const char *role);
extern bool PromoIsNumberType(Oid type);
/* float8 expression of a number or boolean column (42804 otherwise). */
extern char *PromoNumExpr(Oid rel, const char *col, const char *role);
/* numeric expression of an amount column (42804 otherwise). */
extern char *PromoMoneyExpr(Oid rel, const char *col, const char *role);
/* 22023 "model name must not be empty" for NULL or ''. */
extern void PromoCheckModelName(const char *name);

/*
 * Runs a one-row query; sets out[0..ncols-1] (valid until PromoEnd; all
 * NULL when no row) and returns the number of rows (the queries are
 * aggregates: one row).
 */
extern int	PromoQueryRow(PromoCall *pc, const char *sql, int nargs, Oid *types,
						  Datum *vals, bool *nulls, int ncols, Datum *out,
						  bool *outnull);

/*
 * Runs a query and appends its rows to the materialized SRF result of
 * fcinfo (InitMaterializedSRF done); its column types must match.
 */
extern void PromoReturnQuery(PromoCall *pc, FunctionCallInfo fcinfo,
							 const char *sql, int nargs, Oid *types,
							 Datum *vals, bool *nulls);
/*
 * The same for a query with one more column than the result: its value in
 * each row goes to guard (which may raise an error) and is not returned.
 */
extern void PromoReturnQueryGuarded(PromoCall *pc, FunctionCallInfo fcinfo,
									const char *sql, int nargs, Oid *types,
									Datum *vals, bool *nulls,
									void (*guard) (Datum value, bool isnull));

/* The treatment arms of a campaign table (UpliftArms). */
typedef struct UpliftArmList
{
	int			n;				/* treatment arms, labels sorted */
	char	  **labels;
	int64	   *counts;			/* rows per arm */
	int64		n_control;		/* rows of the control group */
	Datum		labels_array;	/* the same as text[] and bigint[] */
	Datum		counts_array;
} UpliftArmList;

/*
 * Checks the treatment column and control group of a campaign table (NULL
 * labels, no control, no treated rows: errors) and lists its arms.
 */
extern void UpliftArms(PromoCall *pc, Oid rel, const char *treatment_col,
					   const char *control, UpliftArmList *arms);

/*
 * Calls a C function of this library directly (no pg_proc entry, no
 * EXECUTE check): how the promotion functions reach the model-store entry
 * points of model_acl.c, which check the caller's rights on the model.
 */
extern Datum PromoCallInternal(PGFunction fn, int nargs, const Datum *args,
							   const bool *nulls, bool *isnull);
extern Datum recpromo__promo_store(PG_FUNCTION_ARGS);
extern Datum recpromo__promo_params(PG_FUNCTION_ARGS);
extern Datum recpromo__model_set_metrics(PG_FUNCTION_ARGS);

/* The stored params of a model the caller may serve, of method want. */
extern Jsonb *PromoModelParams(text *model, const char *want);

/* ---------- promo_spec.c: feature specifications ---------- */

typedef enum PromoFeatureKind
{
	PROMO_FEATURE_NUMERIC,
	PROMO_FEATURE_LEVEL
} PromoFeatureKind;

typedef struct PromoFeature
{
	PromoFeatureKind kind;
	char	   *column;
	bool		is_bool;		/* numeric: a boolean column read as 0/1 */
	double		center;			/* numeric */
	double		scale;			/* numeric */
	char	   *level;			/* level */
} PromoFeature;

typedef struct PromoSpec
{
	int			n;
	int			cap;
	PromoFeature *f;
} PromoSpec;

/*
 * Builds and checks the specification of features (numeric columns) and
 * categorical (one-hot levels) from the rows of rel; either array may be
 * NULL.  The errors of train_propensity, train_uplift and kmeans.
 */
extern void PromoFeatureSpec(PromoCall *pc, Oid rel, ArrayType *features,
							 ArrayType *categorical, bool standardize,
							 PromoSpec *spec);
/* JSON text of a specification (an array) and of a float8 vector. */
extern char *PromoSpecJson(const PromoSpec *spec);
extern char *PromoFloatArrayJson(const double *v, int n);
extern Jsonb *PromoJsonbFromText(const char *json);
/* Replaces the numbers of spec by their stored (jsonb) values. */
extern void PromoSpecRoundTrip(PromoSpec *spec, Jsonb **json);
/* What is wrong with stored params of a method, or NULL. */
extern char *PromoParamsProblem(Jsonb *p, const char *method);
/*
 * The checked params of the model named by text argument argno: the
 * caller's read grant (42501), the method (42809), the schema (XX001).
 */
extern Jsonb *PromoModel(FunctionCallInfo fcinfo, int argno, const char *want);
/* jsonb access: key of an object container (NULL if none), container of a value. */
extern JsonbValue *PromoJsonKey(JsonbContainer *c, const char *key);
extern JsonbContainer *PromoJsonContainer(JsonbValue *v);
extern char *PromoJsonString(JsonbValue *v);
/* The specification of a checked features value. */
extern void PromoSpecFromJsonb(JsonbValue *features, PromoSpec *spec);
/* centre, scale (float8[]) and level (text[]) per feature, NULL where none. */
extern void PromoSpecValues(const PromoSpec *spec, Datum *center, Datum *scale,
							Datum *levels);
/*
 * SQL expression of each encoded feature, reading the centre, scale and
 * level of feature j from the parameters $p[j], $(p+1)[j], $(p+2)[j].
 */
extern char **PromoDesignExprs(const PromoSpec *spec, int p);
extern char *PromoJoinExprs(char **exprs, int n);
/* coef[1] + sum coef[j+1] * expr_j with coefficients from coef_ref ("$1"). */
extern char *PromoLinearSql(char **exprs, int n, const char *coef_ref);
/* A checked coefficient array: as doubles, as float8[]. */
extern double *PromoCoefValues(JsonbValue *coef, int *n);
extern Datum PromoCoefArray(JsonbValue *coef);
/* 42703 naming the feature columns of a model that rel lacks. */
extern void PromoCheckColumns(PromoCall *pc, const char *model,
							  JsonbValue *features, Oid rel);
/* "(column)" or "column=level": the label of a coefficient. */
extern char *PromoFeatureLabel(const PromoFeature *f);

/* ---------- promo_propensity.c ---------- */

/* float8 expression of a checked 0/1 target column (errors name role). */
extern char *PromoBinaryTarget(PromoCall *pc, Oid rel, const char *col,
							   const char *role);
/*
 * SQL of the linear predictor of a stored model on one jsonb row: features
 * spec $1, the row $3, coefficients (a jsonb array) coef_sql.
 */
extern char *PromoLinearJsonbSql(const char *coef_sql);

/* ---------- promo_fit.c, promo_kmeans.c: the numeric work ---------- */

typedef struct PromoFitResult
{
	double	   *coef;
	int			p;
	int			iterations;
	bool		converged;
	double		loss;
} PromoFitResult;

/*
 * Fits a logistic (Newton/IRLS) or ridge model on a design matrix (2-D
 * float8 array), outcomes y and optional weights w (NULL).
 */
extern void PromoFit(bool logistic, ArrayType *x, ArrayType *y, ArrayType *w,
					 double lambda, int free_col, int max_iter, double tol,
					 PromoFitResult *res);

typedef struct PromoKmeansResult
{
	int64		n;
	int			d;
	int			k;
	int32	   *assign;			/* 1-based clusters */
	double	   *centres;		/* k x d, row-major */
	int64	   *sizes;
	double		inertia;
	int			iterations;
	bool		converged;
} PromoKmeansResult;

/* Seeded k-means++ / Lloyd clustering of the rows of a 2-D float8 array. */
extern void PromoKmeans(ArrayType *x, int k, int64 seed, int max_iter,
						PromoKmeansResult *res);

#endif							/* PROMO_H */
