/*
 * keys.h
 *	  Dictionaries that map the shop's user and item keys to dense indices.
 *
 * Keys come in two classes: integers (smallint, integer, bigint: held as
 * int64) and text (text, varchar, and any other type through its text
 * form).  A dictionary holds the distinct keys in sorted order (numeric
 * order for integers, byte order for text), and a key's dense index is its
 * position: lookups are a binary search, the dictionary serialises as the
 * plain sorted array, and a model's indices do not depend on the physical
 * order of the rows it was trained from.
 */
#ifndef RECPROMO_KEYS_H
#define RECPROMO_KEYS_H

#include "postgres.h"

typedef enum RecpromoKeyClass
{
	RECPROMO_KEY_INT = 1,
	RECPROMO_KEY_TEXT = 2
} RecpromoKeyClass;

typedef struct RecpromoKeys
{
	RecpromoKeyClass kclass;
	Oid			type;			/* the source column's type */
	int32		n;
	int64	   *ints;			/* INT: n sorted distinct values */
	char	   *text_buf;		/* TEXT: NUL-terminated strings back to back */
	int64	   *text_off;		/* TEXT: n + 1 offsets into text_buf, sorted by bytes */
} RecpromoKeys;

/* Key class used for a column of the given type. */
extern RecpromoKeyClass RecpromoKeyClassFor(Oid type);

/*
 * A growing bag of raw keys read from a table, one per row, turned into a
 * dictionary plus each row's index by RecpromoKeysFinish().
 */
typedef struct RecpromoKeyBag
{
	RecpromoKeyClass kclass;
	Oid			type;
	int64		n;
	int64		cap;
	int64	   *ints;
	char	  **strs;			/* TEXT: palloc'd copies */
} RecpromoKeyBag;

extern void RecpromoKeyBagInit(RecpromoKeyBag *bag, Oid type);
extern void RecpromoKeyBagAdd(RecpromoKeyBag *bag, Datum value, Oid type);

/*
 * Builds the sorted dictionary of the bag's distinct keys and writes each
 * added key's dense index into rowidx (bag->n entries, caller-allocated).
 * Fails with PROGRAM_LIMIT_EXCEEDED above 2^31 - 1 distinct keys.
 */
extern void RecpromoKeysFinish(RecpromoKeyBag *bag, RecpromoKeys *keys, int32 *rowidx);

/* Dense index of a key given as a Datum of any type, or -1 when absent. */
extern int32 RecpromoKeysFind(const RecpromoKeys *keys, Datum value, Oid type);

/* Dense index of an int64 or C-string key, or -1. */
extern int32 RecpromoKeysFindInt(const RecpromoKeys *keys, int64 v);
extern int32 RecpromoKeysFindText(const RecpromoKeys *keys, const char *s);

/*
 * The key at index idx as a Datum of type `type` (the caller's key type, so
 * results join without casts).  Integer keys convert to any integer or text
 * type; text keys convert to text types, or to integers when they parse.
 * An impossible conversion raises a clear error.
 */
extern Datum RecpromoKeysGet(const RecpromoKeys *keys, int32 idx, Oid type);

/* The key at idx as text (for messages and explanations). */
extern char *RecpromoKeysGetCString(const RecpromoKeys *keys, int32 idx);

/* Serialisation into a flat buffer (palloc'd) and back (pointers into buf). */
extern void *RecpromoKeysSerialize(const RecpromoKeys *keys, Size *len);

/*
 * Rebuilds a stored dictionary (pointers into buf, 8-byte aligned) after
 * checking it (rp_validate_keys: lengths, offsets, terminators, strict
 * order), its class against the column type `type` (when valid) and, for
 * text keys, the server encoding.  A bad dictionary raises
 * ERRCODE_DATA_CORRUPTED naming `model` and `part`.
 */
extern void RecpromoKeysLoad(RecpromoKeys *keys, const void *buf, Size len, Oid type,
							 const char *model, const char *part);
/* The same without a model name (errors say model "?"). */
extern void RecpromoKeysDeserialize(RecpromoKeys *keys, const void *buf, Size len,
									Oid type);

#endif							/* RECPROMO_KEYS_H */
