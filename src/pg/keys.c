/*
 * keys.c
 *	  Key dictionaries (see keys.h).
 *
 * Integer-class keys are compared as int64; text-class keys as bytes
 * (strcmp), which is the same on every server whatever its collation, so a
 * model's indices are reproducible.  Conversions between the caller's key
 * type and the dictionary's class go through int64 or the text form.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "keys.h"
#include "model_validate.h"
#include "rp_validate.h"

RecpromoKeyClass
RecpromoKeyClassFor(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return RECPROMO_KEY_INT;
		default:
			return RECPROMO_KEY_TEXT;
	}
}

/* Text form of any datum through its output function. */
static char *
DatumToCString(Datum value, Oid type)
{
	Oid			outfn;
	bool		isvarlena;

	switch (type)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return TextDatumGetCString(value);
		default:
			getTypeOutputInfo(type, &outfn, &isvarlena);
			return OidOutputFunctionCall(outfn, value);
	}
}

/* Integer value of an integer-typed datum. */
static int64
DatumToInt64(Datum value, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(value);
		case INT4OID:
			return DatumGetInt32(value);
		case INT8OID:
			return DatumGetInt64(value);
	}
	elog(ERROR, "type %u is not an integer type", type);
	return 0;
}

/* Parses s as a whole int64; returns false when it is not one. */
static bool
ParseInt64(const char *s, int64 *out)
{
	char	   *end;
	long long	v;

	if (*s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (int64) v;
	return true;
}

void
RecpromoKeyBagInit(RecpromoKeyBag *bag, Oid type)
{
	bag->kclass = RecpromoKeyClassFor(type);
	bag->type = type;
	bag->n = 0;
	bag->cap = 1024;
	bag->ints = NULL;
	bag->strs = NULL;
	if (bag->kclass == RECPROMO_KEY_INT)
		bag->ints = palloc(bag->cap * sizeof(int64));
	else
		bag->strs = palloc(bag->cap * sizeof(char *));
}

void
RecpromoKeyBagAdd(RecpromoKeyBag *bag, Datum value, Oid type)
{
	if (bag->n == bag->cap)
	{
		bag->cap *= 2;
		if (bag->kclass == RECPROMO_KEY_INT)
			bag->ints = repalloc_huge(bag->ints, bag->cap * sizeof(int64));
		else
			bag->strs = repalloc_huge(bag->strs, bag->cap * sizeof(char *));
	}
	if (bag->kclass == RECPROMO_KEY_INT)
		bag->ints[bag->n++] = DatumToInt64(value, type);
	else
		bag->strs[bag->n++] = DatumToCString(value, type);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

void
RecpromoKeysFinish(RecpromoKeyBag *bag, RecpromoKeys *keys, int32 *rowidx)
{
	int64		nd = 0;

	keys->kclass = bag->kclass;
	keys->type = bag->type;
	keys->ints = NULL;
	keys->text_buf = NULL;
	keys->text_off = NULL;

	if (bag->kclass == RECPROMO_KEY_INT)
	{
		int64	   *sorted = palloc_extended(Max(bag->n, 1) * sizeof(int64), MCXT_ALLOC_HUGE);

		memcpy(sorted, bag->ints, bag->n * sizeof(int64));
		qsort(sorted, bag->n, sizeof(int64), cmp_int64);
		for (int64 i = 0; i < bag->n; i++)
			if (nd == 0 || sorted[nd - 1] != sorted[i])
				sorted[nd++] = sorted[i];
		if (nd > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct keys: %lld", (long long) nd)));
		keys->n = (int32) nd;
		keys->ints = sorted;
		for (int64 i = 0; i < bag->n; i++)
			rowidx[i] = RecpromoKeysFindInt(keys, bag->ints[i]);
	}
	else
	{
		char	  **sorted = palloc_extended(Max(bag->n, 1) * sizeof(char *), MCXT_ALLOC_HUGE);
		Size		total = 0;
		char	   *p;

		memcpy(sorted, bag->strs, bag->n * sizeof(char *));
		qsort(sorted, bag->n, sizeof(char *), cmp_cstr);
		for (int64 i = 0; i < bag->n; i++)
			if (nd == 0 || strcmp(sorted[nd - 1], sorted[i]) != 0)
				sorted[nd++] = sorted[i];
		if (nd > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct keys: %lld", (long long) nd)));
		for (int64 i = 0; i < nd; i++)
			total += strlen(sorted[i]) + 1;
		keys->n = (int32) nd;
		keys->text_buf = palloc_extended(Max(total, 1), MCXT_ALLOC_HUGE);
		keys->text_off = palloc_extended((nd + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
		p = keys->text_buf;
		for (int64 i = 0; i < nd; i++)
		{
			Size		l = strlen(sorted[i]) + 1;

			keys->text_off[i] = p - keys->text_buf;
			memcpy(p, sorted[i], l);
			p += l;
		}
		keys->text_off[nd] = p - keys->text_buf;
		pfree(sorted);
		for (int64 i = 0; i < bag->n; i++)
			rowidx[i] = RecpromoKeysFindText(keys, bag->strs[i]);
	}
}

int32
RecpromoKeysFindInt(const RecpromoKeys *keys, int64 v)
{
	int64		lo = 0;
	int64		hi = keys->n;

	if (keys->kclass != RECPROMO_KEY_INT)
	{
		char		buf[32];

		snprintf(buf, sizeof(buf), INT64_FORMAT, v);
		return RecpromoKeysFindText(keys, buf);
	}
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (keys->ints[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < keys->n && keys->ints[lo] == v) ? (int32) lo : -1;
}

int32
RecpromoKeysFindText(const RecpromoKeys *keys, const char *s)
{
	int64		lo = 0;
	int64		hi = keys->n;

	if (keys->kclass != RECPROMO_KEY_TEXT)
	{
		int64		v;

		if (!ParseInt64(s, &v))
			return -1;
		return RecpromoKeysFindInt(keys, v);
	}
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (strcmp(keys->text_buf + keys->text_off[mid], s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < keys->n && strcmp(keys->text_buf + keys->text_off[lo], s) == 0) ? (int32) lo : -1;
}

int32
RecpromoKeysFind(const RecpromoKeys *keys, Datum value, Oid type)
{
	if (RecpromoKeyClassFor(type) == RECPROMO_KEY_INT)
		return RecpromoKeysFindInt(keys, DatumToInt64(value, type));
	else
	{
		char	   *s = DatumToCString(value, type);
		int32		r = RecpromoKeysFindText(keys, s);

		pfree(s);
		return r;
	}
}

char *
RecpromoKeysGetCString(const RecpromoKeys *keys, int32 idx)
{
	Assert(idx >= 0 && idx < keys->n);
	if (keys->kclass == RECPROMO_KEY_INT)
		return psprintf(INT64_FORMAT, keys->ints[idx]);
	return pstrdup(keys->text_buf + keys->text_off[idx]);
}

Datum
RecpromoKeysGet(const RecpromoKeys *keys, int32 idx, Oid type)
{
	Assert(idx >= 0 && idx < keys->n);
	if (RecpromoKeyClassFor(type) == RECPROMO_KEY_INT)
	{
		int64		v;

		if (keys->kclass == RECPROMO_KEY_INT)
			v = keys->ints[idx];
		else if (!ParseInt64(keys->text_buf + keys->text_off[idx], &v))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("key \"%s\" of the model is not an integer",
							keys->text_buf + keys->text_off[idx]),
					 errhint("The results come back in the type of the key argument: pass it as text to get text keys, e.g. recommend('42'::text, 10).")));
		switch (type)
		{
			case INT2OID:
				if (v < PG_INT16_MIN || v > PG_INT16_MAX)
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("key " INT64_FORMAT " is out of range for type smallint", v)));
				return Int16GetDatum((int16) v);
			case INT4OID:
				if (v < PG_INT32_MIN || v > PG_INT32_MAX)
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("key " INT64_FORMAT " is out of range for type integer", v),
							 errhint("Pass the key argument as bigint.")));
				return Int32GetDatum((int32) v);
			default:
				return Int64GetDatum(v);
		}
	}
	else
	{
		char	   *s = RecpromoKeysGetCString(keys, idx);

		if (type == TEXTOID || type == VARCHAROID)
			return PointerGetDatum(cstring_to_text(s));
		else
		{
			Oid			infn;
			Oid			ioparam;

			getTypeInputInfo(type, &infn, &ioparam);
			return OidInputFunctionCall(infn, s, ioparam, -1);
		}
	}
}

/*
 * Flat form: int32 class, int32 n, then INT: n int64; TEXT: (n + 1) int64
 * offsets and the string bytes.
 */
void *
RecpromoKeysSerialize(const RecpromoKeys *keys, Size *len)
{
	Size		sz = 8;
	char	   *buf;

	if (keys->kclass == RECPROMO_KEY_INT)
		sz += (Size) keys->n * sizeof(int64);
	else
		sz += ((Size) keys->n + 1) * sizeof(int64) + keys->text_off[keys->n];
	buf = palloc_extended(sz, MCXT_ALLOC_HUGE);
	((int32 *) buf)[0] = (int32) keys->kclass;
	((int32 *) buf)[1] = keys->n;
	if (keys->kclass == RECPROMO_KEY_INT)
		memcpy(buf + 8, keys->ints, (Size) keys->n * sizeof(int64));
	else
	{
		memcpy(buf + 8, keys->text_off, ((Size) keys->n + 1) * sizeof(int64));
		memcpy(buf + 8 + ((Size) keys->n + 1) * sizeof(int64), keys->text_buf,
			   keys->text_off[keys->n]);
	}
	*len = sz;
	return buf;
}

void
RecpromoKeysLoad(RecpromoKeys *keys, const void *buf, Size len, Oid type,
				 const char *model, const char *part)
{
	rp_keys_view v;
	const char *reason = NULL;

	RecpromoModelCheck(rp_validate_keys(buf, len, &v, &reason), model, part, reason);
	if (OidIsValid(type) && (int32) RecpromoKeyClassFor(type) != v.kclass)
		RecpromoModelCorrupt(model, part, "has a key class that does not match the key type");
	/* text keys come back to the client: they must be valid in the server encoding */
	if (v.kclass == RP_KEYS_TEXT)
		for (int32 i = 0; i < v.n; i++)
		{
			int64		l = v.text_off[i + 1] - v.text_off[i] - 1;

			if (l > PG_INT32_MAX ||
				!pg_verifymbstr(v.text_buf + v.text_off[i], (int) l, true))
				RecpromoModelCorrupt(model, part, "has a key that is not valid in the server encoding");
		}
	keys->kclass = (RecpromoKeyClass) v.kclass;
	keys->n = v.n;
	keys->type = type;
	keys->ints = (int64 *) v.ints;
	keys->text_off = (int64 *) v.text_off;
	keys->text_buf = (char *) v.text_buf;
}

void
RecpromoKeysDeserialize(RecpromoKeys *keys, const void *buf, Size len, Oid type)
{
	RecpromoKeysLoad(keys, buf, len, type, "?", "keys");
}
