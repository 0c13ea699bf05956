/*
 * promo.h
 *	  Helpers shared by the promotion-analytics glue (promo_*.c): turning
 *	  SQL arrays into the dense C arrays the core works on, with the input
 *	  checks every entry point needs (no NULL elements, finite values,
 *	  matching lengths).
 *
 * The PL/pgSQL layer in src/sql/70_promo.sql reads the caller's tables
 * (with the caller's privileges) and hands whole columns to these internal
 * functions as arrays, so the C side never builds SQL text.
 */
#ifndef PROMO_H
#define PROMO_H

#include "postgres.h"

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

#endif							/* PROMO_H */
