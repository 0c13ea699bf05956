/*
 * promo.h
 *	  Helpers shared by the promotion-analytics glue (promo_*.c): turning
 *	  SQL arrays into the dense C arrays the core works on, with the input
 *	  checks every entry point needs (no NULL elements, finite values,
 *	  matching lengths).
 *
 * The public promotion functions are C (invoker rights): they read the
 * caller's tables through SPI with the caller's privileges (promo_query.c)
 * and work on whole columns as arrays.
 */
#ifndef PROMO_H
#define PROMO_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

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
 * NULL when no row) and returns the number of rows (0 or 1).
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

#endif							/* PROMO_H */
