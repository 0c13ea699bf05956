/*
 * eval_split.c
 *	  Deterministic random train/test split: split_position() and
 *	  in_test_set().
 *
 * A (user, item) pair lands in the test set when its split position, a hash
 * of the keys' text forms and a seed (rp_split_position, documented in
 * rp_metrics.h and doc/evaluation.md), is below the test fraction.  The answer
 * depends on nothing but the arguments, so the functions are IMMUTABLE: the
 * split can sit in a view, a generated column or an index, and gives the
 * same rows on every machine and every run.  Keys may be smallint, integer,
 * bigint (hashed as decimal text, so 42 and '42' agree) or text/varchar;
 * other types are refused because their text form may depend on settings
 * (DateStyle, TimeZone, extra_float_digits).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "recpromo.h"
#include "rp_metrics.h"

/*
 * Text form of argument argno into buf (for integers) or as a pointer into
 * the detoasted text; sets *len.  Raises for unsupported types.
 */
static const char *
KeyBytes(FunctionCallInfo fcinfo, int argno, char *buf, size_t bufsize,
		 size_t *len)
{
	Oid			typid = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, argno));
	Datum		d = PG_GETARG_DATUM(argno);
	int64		v;

	switch (typid)
	{
		case INT2OID:
			v = DatumGetInt16(d);
			break;
		case INT4OID:
			v = DatumGetInt32(d);
			break;
		case INT8OID:
			v = DatumGetInt64(d);
			break;
		case TEXTOID:
		case VARCHAROID:
			{
				text	   *t = DatumGetTextPP(d);

				*len = VARSIZE_ANY_EXHDR(t);
				return VARDATA_ANY(t);
			}
		case UNKNOWNOID:
			{
				const char *s = DatumGetCString(d);

				*len = strlen(s);
				return s;
			}
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("split keys must be smallint, integer, bigint or text, not %s",
							format_type_be(typid)),
					 errhint("Cast the key to text or bigint.")));
			return NULL;		/* keep the compiler quiet */
	}
	*len = (size_t) snprintf(buf, bufsize, INT64_FORMAT, v);
	return buf;
}

static double
SplitPosition(FunctionCallInfo fcinfo, int64 seed)
{
	char		ubuf[32],
				ibuf[32];
	size_t		ulen,
				ilen;
	const char *u = KeyBytes(fcinfo, 0, ubuf, sizeof(ubuf), &ulen);
	const char *i = KeyBytes(fcinfo, 1, ibuf, sizeof(ibuf), &ilen);

	return rp_split_position(u, ulen, i, ilen, seed);
}

/*
 * split_position(user "any", item "any", seed bigint) -> float8 in [0, 1)
 */
PG_FUNCTION_INFO_V1(recpromo_split_position);
Datum
recpromo_split_position(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(SplitPosition(fcinfo, PG_GETARG_INT64(2)));
}

/*
 * in_test_set(user "any", item "any", fraction float8, seed bigint) -> bool
 * True when split_position(user, item, seed) < fraction.
 */
PG_FUNCTION_INFO_V1(recpromo_in_test_set);
Datum
recpromo_in_test_set(PG_FUNCTION_ARGS)
{
	double		fraction = PG_GETARG_FLOAT8(2);

	if (isnan(fraction) || fraction < 0.0 || fraction > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fraction must be between 0 and 1"),
				 errhint("Use for instance 0.2 to hold out a fifth of the pairs.")));
	PG_RETURN_BOOL(SplitPosition(fcinfo, PG_GETARG_INT64(3)) < fraction);
}
