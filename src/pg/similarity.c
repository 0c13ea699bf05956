/*
 * similarity.c
 *	  SQL entry points for dense vectors stored as arrays:
 *	  cosine_similarity(a, b), dot_product(a, b) and vector_norm(a) over
 *	  float8[], float4[], int2[], int4[], int8[] and numeric[], and the
 *	  paired-value aggregate cosine_agg(x, y).
 *
 * One C function per SQL name serves every element type: it dispatches on
 * the array's element type (the SQL signatures guarantee that both arrays
 * share it).  float8[] and float4[] without NULLs are read in place through
 * ARR_DATA_PTR, which is the hot path; int2[], int4[], int8[] and numeric[]
 * are widened to a palloc'd double buffer first (int8 beyond 2^53 and numeric
 * round to the nearest double).  The arithmetic lives in the pure-C core
 * (rp_cosine.c), whose conventions apply: double sums, cosine clamped to
 * [-1, 1], and the zero-vector rule (a zero or empty vector has cosine 0
 * with anything, as in scikit-learn).
 *
 * Errors (all functions are STRICT, so NULL arrays give NULL):
 *	- multi-dimensional arrays and arrays of different lengths:
 *	  ERRCODE_ARRAY_SUBSCRIPT_ERROR (the shape, not the values, is wrong);
 *	- a NULL element: ERRCODE_NULL_VALUE_NOT_ALLOWED;
 *	- a NaN or infinite element: ERRCODE_DATA_EXCEPTION;
 *	- a dot product or norm beyond the double range:
 *	  ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, as float8 arithmetic does.
 * The array's lower bound is ignored: the vector is its elements in order.
 *
 * cosine_agg keeps the core's scaled accumulator (rp_cos_acc) in a float8[5]
 * state {sx, qx, sy, qy, d}, updated in place when called as an aggregate
 * (as float8_accum does), so the aggregate allocates nothing per row.  A
 * float8[] state needs no serial/deserial functions, and the combine
 * function is the accumulator's merge, so the aggregate is parallel-safe.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "recpromo.h"
#include "rp_cosine.h"

/* A dense vector argument, read in place or widened to double. */
typedef struct DenseArg
{
	int			n;
	const double *f8;			/* set unless the input is float4[] */
	const float *f4;			/* set for float4[] */
	const char *label;			/* "first array", "second array", "array" */
} DenseArg;

#define COSINE_AGG_STATE_LEN 5

/*
 * Raises the error for a NULL element of a (called only when the array
 * contains one); reports the first NULL's 1-based position.
 */
static void
ReportNullElement(ArrayType *a, int n, const char *label)
{
	bits8	   *bitmap = ARR_NULLBITMAP(a);
	int			pos = 0;

	for (int i = 0; i < n && bitmap != NULL; i++)
	{
		if ((bitmap[i / 8] & (1 << (i % 8))) == 0)
		{
			pos = i + 1;
			break;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("array must not contain nulls"),
			 errdetail("Element %d of the %s is NULL.", pos, label),
			 errhint("Replace NULLs by 0 first, for instance with coalesce() or array_replace().")));
}

/*
 * Reads array a as a dense vector into *out.  Checks the shape (one
 * dimension) and NULLs; values are checked by the core.  Memory: the widened
 * buffer, if any, is palloc'd in the current context.
 */
static void
GetDense(ArrayType *a, const char *label, DenseArg *out)
{
	Oid			elemtype = ARR_ELEMTYPE(a);
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("array must be one-dimensional"),
				 errdetail("The %s has %d dimensions.", label, ARR_NDIM(a)),
				 errhint("Pass one vector per argument; unnest or slice a matrix into rows first.")));
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (array_contains_nulls(a))
		ReportNullElement(a, n, label);

	out->n = n;
	out->f8 = NULL;
	out->f4 = NULL;
	out->label = label;

	switch (elemtype)
	{
		case FLOAT8OID:
			out->f8 = (const double *) ARR_DATA_PTR(a);
			break;
		case FLOAT4OID:
			out->f4 = (const float *) ARR_DATA_PTR(a);
			break;
		case INT2OID:
			{
				const int16 *src = (const int16 *) ARR_DATA_PTR(a);
				double	   *dst = palloc(mul_size(Max(n, 1), sizeof(double)));

				for (int i = 0; i < n; i++)
					dst[i] = (double) src[i];
				out->f8 = dst;
				break;
			}
		case INT4OID:
			{
				const int32 *src = (const int32 *) ARR_DATA_PTR(a);
				double	   *dst = palloc_extended(mul_size(Max(n, 1), sizeof(double)),
												MCXT_ALLOC_HUGE);

				for (int i = 0; i < n; i++)
					dst[i] = (double) src[i];
				out->f8 = dst;
				break;
			}
		case INT8OID:
			{
				const int64 *src = (const int64 *) ARR_DATA_PTR(a);
				double	   *dst = palloc_extended(mul_size(Max(n, 1), sizeof(double)),
												MCXT_ALLOC_HUGE);

				for (int i = 0; i < n; i++)
					dst[i] = (double) src[i];
				out->f8 = dst;
				break;
			}
		case NUMERICOID:
			{
				Datum	   *elems;
				int			count;
				double	   *dst = palloc_extended(mul_size(Max(n, 1), sizeof(double)),
												MCXT_ALLOC_HUGE);

				deconstruct_array(a, NUMERICOID, -1, false, TYPALIGN_INT,
								  &elems, NULL, &count);
				/* numeric NaN and +-Infinity become NaN/Inf: the core rejects them */
				for (int i = 0; i < count; i++)
				{
					/* conversion is slow: ~0.1 s per 10^6 elements */
					if ((i & 0xFFFF) == 0)
						CHECK_FOR_INTERRUPTS();
					dst[i] = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
																elems[i]));
				}
				out->f8 = dst;
				break;
			}
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s has unsupported element type %s", label,
							format_type_be(elemtype)),
					 errhint("Cast the arrays to float8[].")));
	}
}

static void
CheckSameLength(const DenseArg *a, const DenseArg *b)
{
	if (a->n != b->n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("arrays must have the same length"),
				 errdetail("The arrays have %d and %d elements.",
						   a->n, b->n),
				 errhint("Both vectors must list the same coordinates in the same order.")));
}

/* Position (1-based) of the first non-finite element of v, or 0. */
static int
FirstNonFinite(const DenseArg *v, double *bad)
{
	for (int i = 0; i < v->n; i++)
	{
		double		x = v->f4 ? (double) v->f4[i] : v->f8[i];

		if (!rp_finite(x))
		{
			*bad = x;
			return i + 1;
		}
	}
	return 0;
}

/*
 * Turns a core status for dense arguments a (and b, may be NULL) into the
 * right error.  RP_ENUMERIC is either a non-finite element (named) or an
 * overflowing result.
 */
static void
CheckDenseStatus(rp_status st, const DenseArg *a, const DenseArg *b)
{
	double		bad = 0;
	int			pos;
	const DenseArg *which = a;

	if (st == RP_OK)
		return;
	if (st != RP_ENUMERIC)
		RecpromoCheckStatus(st, "vector arithmetic");

	pos = FirstNonFinite(a, &bad);
	if (pos == 0 && b != NULL)
	{
		which = b;
		pos = FirstNonFinite(b, &bad);
	}
	if (pos > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array elements must be finite"),
				 errdetail("Element %d of the %s is %s.", pos, which->label,
						   isnan(bad) ? "NaN" : (bad > 0 ? "Infinity" : "-Infinity")),
				 errhint("Remove or replace NaN and infinite values before computing similarities.")));
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("value out of range: overflow"),
			 errdetail("The result exceeds the range of double precision."),
			 errhint("Scale the vectors down, or use cosine_similarity(), which cannot overflow.")));
}

typedef rp_status (*PairF4) (const float *, const float *, int64_t, double *);
typedef rp_status (*PairF8) (const double *, const double *, int64_t, double *);

/* One dense two-array function: read, check, dispatch on the element width. */
static double
DensePair(FunctionCallInfo fcinfo, PairF4 f4, PairF8 f8, const char *what)
{
	DenseArg	a,
				b;
	double		result = 0.0;
	rp_status	st;

	GetDense(PG_GETARG_ARRAYTYPE_P(0), "first array", &a);
	GetDense(PG_GETARG_ARRAYTYPE_P(1), "second array", &b);
	CheckSameLength(&a, &b);
	if (a.f4 != NULL && b.f4 != NULL)
		st = f4(a.f4, b.f4, a.n, &result);
	else if (a.f8 != NULL && b.f8 != NULL)
		st = f8(a.f8, b.f8, a.n, &result);
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s needs two arrays of the same element type", what),
				 errhint("Cast both arrays to float8[].")));
	CheckDenseStatus(st, &a, &b);
	return result;
}

PG_FUNCTION_INFO_V1(recpromo_cosine_similarity);
Datum
recpromo_cosine_similarity(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(DensePair(fcinfo, rp_cosine_f4, rp_cosine_f8, "cosine_similarity"));
}

PG_FUNCTION_INFO_V1(recpromo_dot_product);
Datum
recpromo_dot_product(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(DensePair(fcinfo, rp_dot_f4, rp_dot_f8, "dot_product"));
}

PG_FUNCTION_INFO_V1(recpromo_vector_norm);
Datum
recpromo_vector_norm(PG_FUNCTION_ARGS)
{
	ArrayType  *aa = PG_GETARG_ARRAYTYPE_P(0);
	DenseArg	a;
	double		result = 0.0;
	rp_status	st;

	GetDense(aa, "array", &a);
	if (a.f4 != NULL)
		st = rp_norm_f4(a.f4, a.n, &result);
	else
		st = rp_norm_f8(a.f8, a.n, &result);
	CheckDenseStatus(st, &a, NULL);
	PG_RETURN_FLOAT8(result);
}

/* ---------------------------------------------------------------------
 * cosine_agg(x, y)
 * ---------------------------------------------------------------------
 */

/*
 * Reads and validates a cosine_agg state array; returns its data pointer,
 * which may be written in place when the caller owns the array.
 */
static double *
CosineAggState(ArrayType *state)
{
	rp_cos_acc	acc;
	double	   *v;

	if (ARR_NDIM(state) != 1 || ARR_ELEMTYPE(state) != FLOAT8OID ||
		ARR_HASNULL(state) ||
		ARR_DIMS(state)[0] != COSINE_AGG_STATE_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cosine_agg state"),
				 errdetail("The state must be a float8 array of %d non-NULL elements.",
						   COSINE_AGG_STATE_LEN)));
	v = (double *) ARR_DATA_PTR(state);
	acc.sx = v[0];
	acc.qx = v[1];
	acc.sy = v[2];
	acc.qy = v[3];
	acc.d = v[4];
	if (rp_cos_acc_check(&acc) != RP_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cosine_agg state"),
				 errdetail("Scales and sums must be finite, non-negative and consistent.")));
	return v;
}

static void
LoadAcc(const double *v, rp_cos_acc *acc)
{
	acc->sx = v[0];
	acc->qx = v[1];
	acc->sy = v[2];
	acc->qy = v[3];
	acc->d = v[4];
}

static void
StoreAcc(const rp_cos_acc *acc, double *v)
{
	v[0] = acc->sx;
	v[1] = acc->qx;
	v[2] = acc->sy;
	v[3] = acc->qy;
	v[4] = acc->d;
}

/* Returns a state array holding acc: v itself when writable, else a new one. */
static ArrayType *
ReturnState(FunctionCallInfo fcinfo, ArrayType *state, double *v,
			const rp_cos_acc *acc)
{
	Datum		d[COSINE_AGG_STATE_LEN];
	double		tmp[COSINE_AGG_STATE_LEN];

	/* as float8_accum: in an aggregate the state is ours to overwrite */
	if (AggCheckCallContext(fcinfo, NULL))
	{
		StoreAcc(acc, v);
		return state;
	}
	StoreAcc(acc, tmp);
	for (int i = 0; i < COSINE_AGG_STATE_LEN; i++)
		d[i] = Float8GetDatumFast(tmp[i]);
	return construct_array(d, COSINE_AGG_STATE_LEN, FLOAT8OID, sizeof(float8),
						   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

static void
CheckAggInput(double x, const char *name)
{
	if (!rp_finite(x))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cosine_agg input must be finite"),
				 errdetail("%s is %s.", name,
						   isnan(x) ? "NaN" : (x > 0 ? "Infinity" : "-Infinity")),
				 errhint("Filter out or replace NaN and infinite values.")));
}

/*
 * Transition: state, x, y.  Not strict: a NULL x or y counts as 0, which is
 * what an unmatched row of a FULL JOIN means (the coordinate is absent from
 * that vector).  The state itself is never NULL (initcond).
 */
PG_FUNCTION_INFO_V1(recpromo_cosine_agg_transfn);
Datum
recpromo_cosine_agg_transfn(PG_FUNCTION_ARGS)
{
	ArrayType  *state;
	double	   *v;
	double		x = PG_ARGISNULL(1) ? 0.0 : PG_GETARG_FLOAT8(1);
	double		y = PG_ARGISNULL(2) ? 0.0 : PG_GETARG_FLOAT8(2);
	rp_cos_acc	acc;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cosine_agg state must not be NULL")));
	state = PG_GETARG_ARRAYTYPE_P(0);
	v = CosineAggState(state);
	CheckAggInput(x, "x");
	CheckAggInput(y, "y");
	LoadAcc(v, &acc);
	rp_cos_acc_add(&acc, x, y);
	PG_RETURN_ARRAYTYPE_P(ReturnState(fcinfo, state, v, &acc));
}

PG_FUNCTION_INFO_V1(recpromo_cosine_agg_combinefn);
Datum
recpromo_cosine_agg_combinefn(PG_FUNCTION_ARGS)
{
	ArrayType  *s1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *s2 = PG_GETARG_ARRAYTYPE_P(1);
	double	   *v1 = CosineAggState(s1);
	double	   *v2 = CosineAggState(s2);
	rp_cos_acc	a,
				b;

	LoadAcc(v1, &a);
	LoadAcc(v2, &b);
	rp_cos_acc_merge(&a, &b);
	PG_RETURN_ARRAYTYPE_P(ReturnState(fcinfo, s1, v1, &a));
}

PG_FUNCTION_INFO_V1(recpromo_cosine_agg_finalfn);
Datum
recpromo_cosine_agg_finalfn(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	double	   *v = CosineAggState(state);
	rp_cos_acc	acc;

	LoadAcc(v, &acc);
	PG_RETURN_FLOAT8(rp_cos_acc_cosine(&acc));
}
