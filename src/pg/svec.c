/*
 * svec.c
 *	  The sparse vector type recpromo.svec: I/O, constructor, accessors,
 *	  cosine/dot/norm, and the aggregate svec_agg(index, value).
 *
 * Representation (varlena, double-aligned, no typmod):
 *
 *	 int32 vl_len_ | int32 nnz | int64 indices[nnz] | float8 values[nnz]
 *
 * Invariants, established by every way in (text, binary, constructor,
 * aggregate) so the functions can rely on them:
 *	- indices strictly increasing (sorted, unique), any int64 value (keys
 *	  such as product ids can be used directly, no dense mapping needed);
 *	- values finite and non-zero: explicit zeros are dropped, so nnz is the
 *	  true number of non-zeros and '{1:0}' equals '{}'.
 * Text form: '{1:5,7:3}', '{}' for the zero vector; whitespace is allowed
 * around numbers and punctuation.  Input may list indices in any order (it
 * is sorted); a repeated index is an error (the aggregate, by contrast,
 * sums repeats, because rows of a table legitimately repeat).
 *
 * Cosine and dot product merge the two sorted index lists (rp_cosine.c), in
 * time linear in the non-zeros; cosine follows the zero-vector rule (0).
 *
 * svec_agg keeps the (index, value) pairs of its group in a growable array
 * in the aggregate context.  When the array fills up it is first compacted
 * (sorted, duplicates summed) and only grown if that freed less than half,
 * so memory follows the distinct indices of the group, not its rows.  The
 * state serialises to bytea (nnz, then pairs), and combining appends one
 * state to the other, so the aggregate runs in parallel plans.  Rows whose
 * index or value is NULL are skipped, like NULLs in sum(); a group with no
 * usable row gives NULL, also like sum().
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "recpromo.h"
#include "rp_cosine.h"

typedef struct SVec
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		nnz;
	int64		data[FLEXIBLE_ARRAY_MEMBER];	/* indices, then values */
} SVec;

#define SVEC_INDICES(v)		((int64 *) (v)->data)
#define SVEC_VALUES(v)		((double *) ((v)->data + (v)->nnz))
#define SVEC_SIZE(n)		(offsetof(SVec, data) + (Size) (n) * 16)
#define SVEC_MAX_NNZ		((int32) ((MaxAllocSize - offsetof(SVec, data)) / 16))

#define PG_GETARG_SVEC_P(n) DatumGetSVecP(PG_GETARG_DATUM(n))

/*
 * Detoasts an svec and checks that its size matches its count, so a damaged
 * value is reported instead of read past its end.
 */
static SVec *
DatumGetSVecP(Datum d)
{
	SVec	   *v = (SVec *) PG_DETOAST_DATUM(d);

	if (VARSIZE(v) < offsetof(SVec, data) || v->nnz < 0 ||
		VARSIZE(v) != SVEC_SIZE(v->nnz))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupted svec: size %u does not match %d non-zeros",
						(unsigned int) VARSIZE(v), v->nnz)));
	return v;
}

typedef struct IdxVal
{
	int64		idx;
	double		val;
} IdxVal;

static int
IdxValCmp(const void *a, const void *b)
{
	int64		x = ((const IdxVal *) a)->idx;
	int64		y = ((const IdxVal *) b)->idx;

	return (x > y) - (x < y);
}

/* Sorts pairs by index unless they already are (the common case). */
static void
SortPairs(IdxVal *p, int64 n)
{
	for (int64 i = 1; i < n; i++)
	{
		if (p[i].idx < p[i - 1].idx)
		{
			qsort(p, n, sizeof(IdxVal), IdxValCmp);
			return;
		}
	}
}

static void
CheckNnz(int64 n)
{
	if (n > SVEC_MAX_NNZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("svec cannot have more than %d non-zeros", SVEC_MAX_NNZ),
				 errdetail("The input has " INT64_FORMAT " entries.", n)));
}

/*
 * Builds an svec from sorted, duplicate-free pairs, dropping zero values.
 * Values must already be finite.  Returns a palloc'd svec.
 */
static SVec *
SVecFromSortedPairs(const IdxVal *p, int64 n)
{
	int64		nnz = 0;
	SVec	   *v;
	int64	   *idx;
	double	   *val;
	int32		k = 0;

	for (int64 i = 0; i < n; i++)
		if (p[i].val != 0.0)
			nnz++;
	CheckNnz(nnz);
	v = palloc0(SVEC_SIZE(nnz));
	SET_VARSIZE(v, SVEC_SIZE(nnz));
	v->nnz = (int32) nnz;
	idx = SVEC_INDICES(v);
	val = SVEC_VALUES(v);
	for (int64 i = 0; i < n; i++)
	{
		if (p[i].val == 0.0)
			continue;
		idx[k] = p[i].idx;
		val[k] = p[i].val;
		k++;
	}
	return v;
}

static const char *
NonFiniteName(double x)
{
	return isnan(x) ? "NaN" : (x > 0 ? "Infinity" : "-Infinity");
}

/* ---------------------------------------------------------------------
 * Text and binary I/O
 * ---------------------------------------------------------------------
 */

static void
SyntaxError(const char *str, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type svec: \"%s\"", str),
			 errdetail("%s", detail),
			 errhint("Write sparse vectors as {index:value,...}, for instance '{1:5,7:3}', or '{}'.")));
}

static const char *
SkipSpace(const char *p)
{
	while (*p && isspace((unsigned char) *p))
		p++;
	return p;
}

PG_FUNCTION_INFO_V1(recpromo_svec_in);
Datum
recpromo_svec_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	const char *p = SkipSpace(str);
	IdxVal	   *pairs;
	int64		n = 0,
				cap = 16;
	SVec	   *result;

	if (*p != '{')
		SyntaxError(str, "Sparse vectors start with \"{\".");
	p = SkipSpace(p + 1);
	pairs = palloc(cap * sizeof(IdxVal));

	if (*p == '}')
		p++;
	else
	{
		for (;;)
		{
			char	   *end;
			long long	idx;
			double		val;

			/* index: optional sign and decimal digits only */
			if (!(isdigit((unsigned char) *p) ||
				  ((*p == '-' || *p == '+') && isdigit((unsigned char) p[1]))))
				SyntaxError(str, "Expected an integer index.");
			errno = 0;
			idx = strtoll(p, &end, 10);
			if (errno == ERANGE)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("svec index is out of range for type bigint: \"%s\"", str)));
			p = SkipSpace(end);
			if (*p != ':')
				SyntaxError(str, "Expected \":\" after an index.");
			p = SkipSpace(p + 1);

			/* value: a decimal number; strtod's words (nan, inf) are refused */
			if (!(isdigit((unsigned char) *p) || *p == '.' ||
				  ((*p == '-' || *p == '+') &&
				   (isdigit((unsigned char) p[1]) || p[1] == '.'))))
			{
				if (pg_strncasecmp(p, "nan", 3) == 0 ||
					pg_strncasecmp(p, "inf", 3) == 0 ||
					pg_strncasecmp(p + (*p == '-' || *p == '+'), "inf", 3) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_EXCEPTION),
							 errmsg("svec values must be finite"),
							 errdetail("The input \"%s\" contains NaN or infinity.", str)));
				SyntaxError(str, "Expected a number after \":\".");
			}
			errno = 0;
			val = strtod(p, &end);
			if (end == p)
				SyntaxError(str, "Expected a number after \":\".");
			/* like float8in: overflow and total underflow are out of range */
			if (errno == ERANGE && (val == 0.0 || !rp_finite(val)))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("svec value is out of range for type double precision: \"%s\"", str)));
			if (!rp_finite(val))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("svec values must be finite"),
						 errdetail("The input \"%s\" contains NaN or infinity.", str)));
			if (n == cap)
			{
				CheckNnz(cap * 2);
				cap *= 2;
				pairs = repalloc(pairs, cap * sizeof(IdxVal));
			}
			pairs[n].idx = (int64) idx;
			pairs[n].val = val;
			n++;

			p = SkipSpace(end);
			if (*p == ',')
			{
				p = SkipSpace(p + 1);
				continue;
			}
			if (*p == '}')
			{
				p++;
				break;
			}
			SyntaxError(str, "Expected \",\" or \"}\" after a value.");
		}
	}
	p = SkipSpace(p);
	if (*p != '\0')
		SyntaxError(str, "Junk after closing \"}\".");

	SortPairs(pairs, n);
	for (int64 i = 1; i < n; i++)
		if (pairs[i].idx == pairs[i - 1].idx)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type svec: \"%s\"", str),
					 errdetail("Index " INT64_FORMAT " appears more than once.",
							   pairs[i].idx),
					 errhint("List each index once; svec_agg() sums repeated indices.")));
	result = SVecFromSortedPairs(pairs, n);
	pfree(pairs);
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(recpromo_svec_out);
Datum
recpromo_svec_out(PG_FUNCTION_ARGS)
{
	SVec	   *v = PG_GETARG_SVEC_P(0);
	int64	   *idx = SVEC_INDICES(v);
	double	   *val = SVEC_VALUES(v);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int32 i = 0; i < v->nnz; i++)
	{
		/* float8out_internal honours extra_float_digits (round-trip safe) */
		char	   *s = float8out_internal(val[i]);

		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfo(&buf, INT64_FORMAT ":%s", idx[i], s);
		pfree(s);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/* Binary form: int32 nnz, then nnz int64 indices, then nnz float8 values. */
PG_FUNCTION_INFO_V1(recpromo_svec_send);
Datum
recpromo_svec_send(PG_FUNCTION_ARGS)
{
	SVec	   *v = PG_GETARG_SVEC_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, v->nnz);
	for (int32 i = 0; i < v->nnz; i++)
		pq_sendint64(&buf, SVEC_INDICES(v)[i]);
	for (int32 i = 0; i < v->nnz; i++)
		pq_sendfloat8(&buf, SVEC_VALUES(v)[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(recpromo_svec_recv);
Datum
recpromo_svec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		nnz = pq_getmsgint(buf, 4);
	IdxVal	   *pairs;
	SVec	   *result;

	/* each entry takes 16 bytes of the message: bound nnz before palloc */
	if (nnz < 0 || (int64) nnz * 16 > (int64) (buf->len - buf->cursor))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid svec: %d non-zeros announced, message too short", nnz)));
	CheckNnz(nnz);
	pairs = palloc(sizeof(IdxVal) * Max(nnz, 1));
	for (int32 i = 0; i < nnz; i++)
	{
		pairs[i].idx = pq_getmsgint64(buf);
		if (i > 0 && pairs[i].idx <= pairs[i - 1].idx)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid svec: indices must be strictly increasing")));
	}
	for (int32 i = 0; i < nnz; i++)
	{
		pairs[i].val = pq_getmsgfloat8(buf);
		if (!rp_finite(pairs[i].val))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("svec values must be finite"),
					 errdetail("Value %d is %s.", i + 1, NonFiniteName(pairs[i].val))));
	}
	result = SVecFromSortedPairs(pairs, nnz);
	pfree(pairs);
	PG_RETURN_POINTER(result);
}

/* ---------------------------------------------------------------------
 * Constructor and accessors
 * ---------------------------------------------------------------------
 */

/* Checks a 1-D array without NULLs; returns its length. */
static int
CheckPlainArray(ArrayType *a, const char *name)
{
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("array must be one-dimensional"),
				 errdetail("\"%s\" has %d dimensions.", name, ARR_NDIM(a))));
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls"),
				 errdetail("\"%s\" contains a NULL element.", name),
				 errhint("Leave the entry out: absent indices are zeros.")));
	return n;
}

/* svec(indices bigint[], vals float8[]) */
PG_FUNCTION_INFO_V1(recpromo_svec);
Datum
recpromo_svec(PG_FUNCTION_ARGS)
{
	ArrayType  *ia = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *va = PG_GETARG_ARRAYTYPE_P(1);
	int			n = CheckPlainArray(ia, "indices");
	int			nv = CheckPlainArray(va, "vals");
	const int64 *idx = (const int64 *) ARR_DATA_PTR(ia);
	const double *val = (const double *) ARR_DATA_PTR(va);
	IdxVal	   *pairs;
	SVec	   *result;

	if (ARR_ELEMTYPE(ia) != INT8OID || ARR_ELEMTYPE(va) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("svec needs a bigint[] of indices and a float8[] of values, not %s and %s",
						format_type_be(ARR_ELEMTYPE(ia)), format_type_be(ARR_ELEMTYPE(va))),
				 errhint("Cast the arguments: svec(indices::bigint[], vals::float8[]).")));
	if (n != nv)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("arrays must have the same length"),
				 errdetail("The arrays have %d and %d elements.", n, nv),
				 errhint("Give one value per index.")));
	CheckNnz(n);
	pairs = palloc(sizeof(IdxVal) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (!rp_finite(val[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("svec values must be finite"),
					 errdetail("Element %d of \"vals\" is %s.", i + 1,
							   NonFiniteName(val[i])),
					 errhint("Remove or replace NaN and infinite values.")));
		pairs[i].idx = idx[i];
		pairs[i].val = val[i];
	}
	SortPairs(pairs, n);
	for (int i = 1; i < n; i++)
		if (pairs[i].idx == pairs[i - 1].idx)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("svec indices must be unique"),
					 errdetail("Index " INT64_FORMAT " appears more than once.",
							   pairs[i].idx),
					 errhint("Sum repeated indices first, or build the vector with svec_agg(), which sums them.")));
	result = SVecFromSortedPairs(pairs, n);
	pfree(pairs);
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(recpromo_svec_indices);
Datum
recpromo_svec_indices(PG_FUNCTION_ARGS)
{
	SVec	   *v = PG_GETARG_SVEC_P(0);
	Datum	   *d = palloc(sizeof(Datum) * Max(v->nnz, 1));

	for (int32 i = 0; i < v->nnz; i++)
		d[i] = Int64GetDatum(SVEC_INDICES(v)[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, v->nnz, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(recpromo_svec_values);
Datum
recpromo_svec_values(PG_FUNCTION_ARGS)
{
	SVec	   *v = PG_GETARG_SVEC_P(0);
	Datum	   *d = palloc(sizeof(Datum) * Max(v->nnz, 1));

	for (int32 i = 0; i < v->nnz; i++)
		d[i] = Float8GetDatum(SVEC_VALUES(v)[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, v->nnz, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(recpromo_svec_nnz);
Datum
recpromo_svec_nnz(PG_FUNCTION_ARGS)
{
	SVec	   *v = PG_GETARG_SVEC_P(0);

	PG_RETURN_INT32(v->nnz);
}

/* ---------------------------------------------------------------------
 * Arithmetic
 * ---------------------------------------------------------------------
 */

/*
 * Maps a core status for svec arithmetic to an error.  Values are finite by
 * the type's invariant, so RP_ENUMERIC means the result overflowed, and
 * RP_EINVAL means a stored value broke the sorted-index invariant.
 */
static void
CheckSVecStatus(rp_status st)
{
	if (st == RP_OK)
		return;
	if (st == RP_ENUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow"),
				 errdetail("The result exceeds the range of double precision."),
				 errhint("Scale the vectors down, or use cosine_similarity(), which cannot overflow.")));
	if (st == RP_EINVAL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupted svec: indices are not strictly increasing")));
	RecpromoCheckStatus(st, "svec arithmetic");
}

PG_FUNCTION_INFO_V1(recpromo_svec_cosine_similarity);
Datum
recpromo_svec_cosine_similarity(PG_FUNCTION_ARGS)
{
	SVec	   *a = PG_GETARG_SVEC_P(0);
	SVec	   *b = PG_GETARG_SVEC_P(1);
	double		result = 0.0;

	CheckSVecStatus(rp_sparse_cosine(SVEC_INDICES(a), SVEC_VALUES(a), a->nnz,
									 SVEC_INDICES(b), SVEC_VALUES(b), b->nnz,
									 &result));
	PG_RETURN_FLOAT8(result);
}

PG_FUNCTION_INFO_V1(recpromo_svec_dot_product);
Datum
recpromo_svec_dot_product(PG_FUNCTION_ARGS)
{
	SVec	   *a = PG_GETARG_SVEC_P(0);
	SVec	   *b = PG_GETARG_SVEC_P(1);
	double		result = 0.0;

	CheckSVecStatus(rp_sparse_dot(SVEC_INDICES(a), SVEC_VALUES(a), a->nnz,
								  SVEC_INDICES(b), SVEC_VALUES(b), b->nnz,
								  &result));
	PG_RETURN_FLOAT8(result);
}

PG_FUNCTION_INFO_V1(recpromo_svec_vector_norm);
Datum
recpromo_svec_vector_norm(PG_FUNCTION_ARGS)
{
	SVec	   *a = PG_GETARG_SVEC_P(0);
	double		result = 0.0;

	CheckSVecStatus(rp_norm_f8(SVEC_VALUES(a), a->nnz, &result));
	PG_RETURN_FLOAT8(result);
}

/* ---------------------------------------------------------------------
 * svec_agg(index bigint, value float8)
 * ---------------------------------------------------------------------
 */

typedef struct SVecAggState
{
	int64		n;				/* pairs held */
	int64		cap;			/* pairs allocated */
	int64		n_sorted;		/* pairs[0 .. n_sorted) are compacted */
	IdxVal	   *pairs;
} SVecAggState;

static SVecAggState *
NewAggState(MemoryContext ctx, int64 cap)
{
	SVecAggState *s = MemoryContextAlloc(ctx, sizeof(SVecAggState));

	s->n = 0;
	s->n_sorted = 0;
	s->cap = Max(cap, 8);
	s->pairs = MemoryContextAllocHuge(ctx, s->cap * sizeof(IdxVal));
	return s;
}

/*
 * Sorts the pairs and sums repeated indices, in place.  Sums may overflow
 * to infinity; the final function reports that.
 */
static void
CompactAggState(SVecAggState *s)
{
	int64		k = 0;

	if (s->n_sorted == s->n)
		return;
	SortPairs(s->pairs, s->n);
	for (int64 i = 0; i < s->n; i++)
	{
		if (k > 0 && s->pairs[k - 1].idx == s->pairs[i].idx)
			s->pairs[k - 1].val += s->pairs[i].val;
		else
			s->pairs[k++] = s->pairs[i];
	}
	s->n = k;
	s->n_sorted = k;
}

/* Makes room for `more` pairs: compact first, grow only if still short. */
static void
ReserveAggState(SVecAggState *s, int64 more)
{
	int64		need;

	if (s->n + more <= s->cap)
		return;
	CompactAggState(s);
	need = s->n + more;
	if (need <= s->cap && s->n <= s->cap / 2)
		return;
	need = Max(need, s->cap * 2);
	if ((Size) need > MaxAllocHugeSize / sizeof(IdxVal))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("svec_agg state is too large")));
	s->pairs = repalloc_huge(s->pairs, need * sizeof(IdxVal));
	s->cap = need;
}

static MemoryContext
AggContextOrError(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext ctx;

	if (!AggCheckCallContext(fcinfo, &ctx))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called as part of svec_agg", fn)));
	return ctx;
}

PG_FUNCTION_INFO_V1(recpromo_svec_agg_transfn);
Datum
recpromo_svec_agg_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = AggContextOrError(fcinfo, "svec_agg_transfn");
	SVecAggState *s = PG_ARGISNULL(0) ? NULL : (SVecAggState *) PG_GETARG_POINTER(0);
	double		val;

	/* a row without index or value contributes nothing (as NULL in sum) */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	val = PG_GETARG_FLOAT8(2);
	if (!rp_finite(val))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("svec_agg values must be finite"),
				 errdetail("The value for index " INT64_FORMAT " is %s.",
						   PG_GETARG_INT64(1), NonFiniteName(val)),
				 errhint("Filter out or replace NaN and infinite values.")));
	if (s == NULL)
		s = NewAggState(ctx, 8);
	ReserveAggState(s, 1);
	s->pairs[s->n].idx = PG_GETARG_INT64(1);
	s->pairs[s->n].val = val;
	s->n++;
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(recpromo_svec_agg_combinefn);
Datum
recpromo_svec_agg_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = AggContextOrError(fcinfo, "svec_agg_combinefn");
	SVecAggState *s1 = PG_ARGISNULL(0) ? NULL : (SVecAggState *) PG_GETARG_POINTER(0);
	SVecAggState *s2 = PG_ARGISNULL(1) ? NULL : (SVecAggState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	if (s1 == NULL)
		s1 = NewAggState(ctx, s2->n);
	ReserveAggState(s1, s2->n);
	memcpy(s1->pairs + s1->n, s2->pairs, s2->n * sizeof(IdxVal));
	s1->n += s2->n;
	PG_RETURN_POINTER(s1);
}

/* bytea: int64 n, then n (int64 index, float8 value) pairs, network order */
PG_FUNCTION_INFO_V1(recpromo_svec_agg_serialfn);
Datum
recpromo_svec_agg_serialfn(PG_FUNCTION_ARGS)
{
	SVecAggState *s;
	StringInfoData buf;

	AggContextOrError(fcinfo, "svec_agg_serialfn");
	s = (SVecAggState *) PG_GETARG_POINTER(0);
	CompactAggState(s);
	pq_begintypsend(&buf);
	pq_sendint64(&buf, s->n);
	for (int64 i = 0; i < s->n; i++)
	{
		pq_sendint64(&buf, s->pairs[i].idx);
		pq_sendfloat8(&buf, s->pairs[i].val);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(recpromo_svec_agg_deserialfn);
Datum
recpromo_svec_agg_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = AggContextOrError(fcinfo, "svec_agg_deserialfn");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	SVecAggState *s;
	int64		n;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	n = pq_getmsgint64(&buf);
	if (n < 0 || n > (buf.len - buf.cursor) / 16)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid svec_agg state")));
	s = NewAggState(ctx, n);
	for (int64 i = 0; i < n; i++)
	{
		s->pairs[i].idx = pq_getmsgint64(&buf);
		s->pairs[i].val = pq_getmsgfloat8(&buf);
	}
	pq_getmsgend(&buf);
	s->n = n;
	s->n_sorted = n;
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(recpromo_svec_agg_finalfn);
Datum
recpromo_svec_agg_finalfn(PG_FUNCTION_ARGS)
{
	SVecAggState *s;

	AggContextOrError(fcinfo, "svec_agg_finalfn");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (SVecAggState *) PG_GETARG_POINTER(0);

	/*
	 * Compacting in place changes the layout, not the multiset of sums, so
	 * the state stays valid for further rows (window aggregates).
	 */
	CompactAggState(s);
	for (int64 i = 0; i < s->n; i++)
		if (!rp_finite(s->pairs[i].val))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value out of range: overflow"),
					 errdetail("The sum of the values for index " INT64_FORMAT " exceeds the range of double precision.",
							   s->pairs[i].idx)));
	PG_RETURN_POINTER(SVecFromSortedPairs(s->pairs, s->n));
}
