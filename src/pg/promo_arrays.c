/*
 * promo_arrays.c
 *	  SQL arrays in and out of the promotion glue (see promo.h).
 *
 * Arrays arrive whole from the PL/pgSQL layer.  Every check an entry point
 * needs on its data happens here once: element type, NULL elements, NaN and
 * infinity, and dimensions; the core then only asserts.  Sizes are checked
 * against recpromo.memory_limit before copying.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "promo.h"
#include "recpromo.h"

static void
CheckElementType(ArrayType *a, Oid want, const char *what)
{
	if (ARR_ELEMTYPE(a) != want)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s has elements of type %s, expected %s",
						what, format_type_be(ARR_ELEMTYPE(a)),
						format_type_be(want))));
	if (array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s contains missing values", what),
				 errhint("Remove or impute the NULL values first.")));
}

static double *
CopyFinite(ArrayType *a, int64 count, const char *what)
{
	const double *src = (const double *) ARR_DATA_PTR(a);
	double	   *dst;

	RecpromoCheckMemory((double) count * sizeof(double), what);
	dst = palloc_extended(sizeof(double) * (count > 0 ? count : 1),
						  MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < count; i++)
	{
		if (!rp_finite(src[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s contains a non-finite value", what),
					 errdetail("Element %lld is %g.", (long long) i + 1, src[i]),
					 errhint("NaN and infinite values cannot be used; filter them out.")));
		dst[i] = src[i];
	}
	return dst;
}

double *
PromoFloatVector(ArrayType *a, const char *what, int64 *n)
{
	CheckElementType(a, FLOAT8OID, what);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	return CopyFinite(a, *n, what);
}

double *
PromoFloatMatrix(ArrayType *a, const char *what, int64 *rows, int *cols)
{
	CheckElementType(a, FLOAT8OID, what);
	if (ARR_NDIM(a) == 2)
	{
		*rows = ARR_DIMS(a)[0];
		*cols = ARR_DIMS(a)[1];
	}
	else if (ARR_NDIM(a) == 1)
	{
		*rows = ARR_DIMS(a)[0];
		*cols = 1;
	}
	else if (ARR_NDIM(a) == 0)
	{
		*rows = 0;
		*cols = 0;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a two-dimensional array", what)));
	return CopyFinite(a, *rows * (int64) *cols, what);
}

uint8 *
PromoBoolVector(ArrayType *a, const char *what, int64 *n)
{
	uint8	   *dst;
	const bool *src;

	CheckElementType(a, BOOLOID, what);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	src = (const bool *) ARR_DATA_PTR(a);
	dst = palloc_extended(*n > 0 ? *n : 1, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < *n; i++)
		dst[i] = src[i] ? 1 : 0;
	return dst;
}

void
PromoCheckLength(int64 n, int64 expected, const char *what)
{
	if (n != expected)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s has %lld elements, expected %lld",
						what, (long long) n, (long long) expected)));
}

ArrayType *
PromoMakeFloatArray(const double *v, int64 n)
{
	Datum	   *d = palloc(sizeof(Datum) * (n > 0 ? n : 1));

	for (int64 i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return construct_array(d, (int) n, FLOAT8OID, sizeof(float8),
						   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}
