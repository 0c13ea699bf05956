/*
 * source_scan.c
 *	  The fast path of source reading: a direct table scan, taken only when
 *	  it returns exactly the rows the SPI query of source.c would return to
 *	  this caller (see RecpromoScanSource in source_int.h).
 *
 * The SPI query is "SELECT user::int8|text, item::int8|text, rating::float8
 * FROM rel" run as the caller with the statement's snapshot.  A heap scan
 * with the same snapshot returns the same rows in the same order when:
 *	- the relation is a plain table (not a view, materialised view,
 *	  partitioned or foreign table) without inheritance children (a SELECT
 *	  on a parent reads its children too), and not another session's
 *	  temporary table;
 *	- no row-level security applies (check_enable_rls says RLS_NONE: with
 *	  policies, or when row security is merely bypassed by the environment,
 *	  the SPI path reads);
 *	- the caller may SELECT the columns read: checked with
 *	  ExecCheckRTPerms on a range-table entry built as the parser would
 *	  build it (table or column privileges, and the executor's permission
 *	  hook, e.g. sepgsql), without raising: when it fails, the SPI path runs
 *	  and reports the usual permission error;
 *	- the conversions are the casts' own: int2/int4/int8 keys to int64,
 *	  text/varchar keys as their bytes (varchar::text is binary), ratings
 *	  from integers and real by C conversion (as int8/float4 -> float8),
 *	  numeric through numeric_float8.  Other key types (text forms through
 *	  output functions, bpchar's trailing blanks) go through SPI.
 * The lock is AccessShareLock held to the end of the transaction, as a
 * SELECT takes.  Synchronised scans are allowed as in a sequential scan
 * node, so large tables may start mid-table on both paths alike.
 *
 * Everything else (NULLs skipped and counted, the errors for non-finite or
 * negative ratings with the same text, CHECK_FOR_INTERRUPTS every batch)
 * is as on the SPI path.  The path taken is reported at DEBUG1, and the
 * setting recpromo.source_path = spi turns the fast path off.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "citus.h"
#include "recpromo.h"
#include "source_int.h"

#define SCAN_BATCH_ROWS 1024

int			recpromo_source_path = RECPROMO_SOURCE_PATH_AUTO;

static const struct config_enum_entry source_path_options[] = {
	{"auto", RECPROMO_SOURCE_PATH_AUTO, false},
	{"spi", RECPROMO_SOURCE_PATH_SPI, false},
	{"grouped", RECPROMO_SOURCE_PATH_GROUPED, false},
	{NULL, 0, false}
};

void
RecpromoSourceInitGucs(void)
{
	DefineCustomEnumVariable("recpromo.source_path",
							 "How training reads its source table.",
							 "auto: a direct table scan when the caller may read the table and no "
							 "row-level security applies, SPI otherwise; spi: always SPI; grouped: as auto, "
							 "and a Citus distributed table with integer or no ratings is read grouped "
							 "by user and item on the workers.",
							 &recpromo_source_path,
							 RECPROMO_SOURCE_PATH_AUTO,
							 source_path_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
}

/* How a column's values become the SPI query's int8 / text / float8. */
typedef enum ScanConv
{
	CONV_NONE = 0,				/* no rating column: 1.0 */
	CONV_INT2,
	CONV_INT4,
	CONV_INT8,
	CONV_TEXT,					/* text, varchar: the bytes */
	CONV_FLOAT4,
	CONV_FLOAT8,
	CONV_NUMERIC,
	CONV_UNSUPPORTED
} ScanConv;

static ScanConv
KeyConv(Oid type)
{
	switch (type)
	{
		case INT2OID:
			return CONV_INT2;
		case INT4OID:
			return CONV_INT4;
		case INT8OID:
			return CONV_INT8;
		case TEXTOID:
		case VARCHAROID:
			return CONV_TEXT;
		default:
			return CONV_UNSUPPORTED;
	}
}

static ScanConv
RatingConv(Oid type)
{
	switch (type)
	{
		case InvalidOid:
			return CONV_NONE;
		case INT2OID:
			return CONV_INT2;
		case INT4OID:
			return CONV_INT4;
		case INT8OID:
			return CONV_INT8;
		case FLOAT4OID:
			return CONV_FLOAT4;
		case FLOAT8OID:
			return CONV_FLOAT8;
		case NUMERICOID:
			return CONV_NUMERIC;
		default:
			return CONV_UNSUPPORTED;
	}
}

/* Attribute number of a column of the open relation if it has type `type`. */
static AttrNumber
ScanAttnum(Relation rel, const char *col, Oid type)
{
	TupleDesc	td = RelationGetDescr(rel);

	if (col == NULL)
		return InvalidAttrNumber;
	for (int a = 0; a < td->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(td, a);

		if (!att->attisdropped && strcmp(NameStr(att->attname), col) == 0)
			return att->atttypid == type ? att->attnum : InvalidAttrNumber;
	}
	return InvalidAttrNumber;
}

/*
 * Whether the current user may SELECT the columns, asked as the executor
 * asks for the SPI query (privileges and the permission hook), without
 * raising.
 */
static bool
CanSelectColumns(Relation rel, AttrNumber *atts, int natts)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	Bitmapset  *cols = NULL;

	for (int k = 0; k < natts; k++)
		cols = bms_add_member(cols, atts[k] - FirstLowInvalidHeapAttributeNumber);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = AccessShareLock;
	rte->inh = false;
#if PG_VERSION_NUM >= 160000
	{
		RTEPermissionInfo *perm = makeNode(RTEPermissionInfo);

		perm->relid = rte->relid;
		perm->inh = false;
		perm->requiredPerms = ACL_SELECT;
		perm->checkAsUser = InvalidOid;
		perm->selectedCols = cols;
		rte->perminfoindex = 1;
		return ExecCheckPermissions(list_make1(rte), list_make1(perm), false);
	}
#else
	rte->requiredPerms = ACL_SELECT;
	rte->checkAsUser = InvalidOid;
	rte->selectedCols = cols;
	return ExecCheckRTPerms(list_make1(rte), false);
#endif
}

/* An int2/int4/int8 Datum as int64. */
static inline int64
IntValue(Datum d, ScanConv c)
{
	return c == CONV_INT2 ? (int64) DatumGetInt16(d) :
		c == CONV_INT4 ? (int64) DatumGetInt32(d) : DatumGetInt64(d);
}

/* A rating Datum converted as its ::float8 cast converts it. */
static inline double
RatingValue(Datum d, ScanConv c)
{
	switch (c)
	{
		case CONV_NONE:
			return 1.0;
		case CONV_INT2:
		case CONV_INT4:
		case CONV_INT8:
			return (double) IntValue(d, c);
		case CONV_FLOAT4:
			return (double) DatumGetFloat4(d);
		case CONV_FLOAT8:
			return DatumGetFloat8(d);
		case CONV_NUMERIC:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
		default:
			Assert(false);
			return 0.0;
	}
}

/* Provisional id of a key Datum (detoasted copies go to the batch context). */
static inline int32
ScanKey(RecpromoKeyDict *d, Datum v, ScanConv c)
{
	if (c == CONV_TEXT)
	{
		struct varlena *t = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(v));

		return RecpromoDictText(d, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	return RecpromoDictInt(d, IntValue(v, c));
}

/* The key's text form, as the SPI query's int8 or text value prints. */
static char *
ScanKeyText(Datum v, ScanConv c)
{
	if (c == CONV_TEXT)
		return TextDatumGetCString(v);
	return psprintf(INT64_FORMAT, IntValue(v, c));
}

/*
 * Why the direct scan may not read the open relation for this caller, or
 * NULL when it may; fills atts (user, item, rating or 0) and convs.
 */
static const char *
ScanRefusal(const RecpromoSource *src, Relation rel, AttrNumber *atts, ScanConv *convs)
{
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		return "the source is not a plain table";
	if (RELATION_IS_OTHER_TEMP(rel))
		return "the source is another session's temporary table";
	if (RecpromoCitusPartMethod(RelationGetRelid(rel)) != '\0')
		return "the source is a Citus table, whose rows are in its shards";
	if (rel->rd_rel->relhassubclass)
		return "the source may have inheritance children";
	if (check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_NONE)
		return "row-level security is enabled on the source";
	convs[0] = KeyConv(src->user_type);
	convs[1] = KeyConv(src->item_type);
	convs[2] = src->rating_col ? RatingConv(src->rating_type) : CONV_NONE;
	if (convs[0] == CONV_UNSUPPORTED || convs[1] == CONV_UNSUPPORTED ||
		convs[2] == CONV_UNSUPPORTED)
		return "a column type is converted through its text form";
	atts[0] = ScanAttnum(rel, src->user_col, src->user_type);
	atts[1] = ScanAttnum(rel, src->item_col, src->item_type);
	atts[2] = src->rating_col ? ScanAttnum(rel, src->rating_col, src->rating_type) : 0;
	if (atts[0] <= 0 || atts[1] <= 0 || (src->rating_col && atts[2] <= 0))
		return "the source's columns changed";
	if (!CanSelectColumns(rel, atts, src->rating_col ? 3 : 2))
		return "the caller may not read every column directly";
	if (!ActiveSnapshotSet())
		return "no snapshot is active";
	return NULL;
}

bool
RecpromoScanSource(const RecpromoSource *src, RecpromoRowSink *sink)
{
	Relation	rel;
	AttrNumber	atts[3] = {0, 0, 0};
	ScanConv	convs[3];
	const char *refusal;
	TableScanDesc scan;
	TupleTableSlot *slot;
	MemoryContext rowcxt;
	MemoryContext outer;
	int			maxatt;
	int			batch = 0;

	if (recpromo_source_path == RECPROMO_SOURCE_PATH_SPI)
	{
		ereport(DEBUG1,
				(errmsg("recpromo reads %s through SPI", src->relname),
				 errdetail("recpromo.source_path is spi.")));
		return false;
	}
	/* the lock a SELECT takes, kept to the end of the transaction */
	rel = relation_open(src->relid, AccessShareLock);
	refusal = ScanRefusal(src, rel, atts, convs);
	if (refusal != NULL)
	{
		relation_close(rel, NoLock);
		ereport(DEBUG1,
				(errmsg("recpromo reads %s through SPI", src->relname),
				 errdetail("A direct scan is not used: %s.", refusal)));
		return false;
	}
	ereport(DEBUG1,
			(errmsg("recpromo reads %s through a direct table scan", src->relname)));

	maxatt = Max(Max(atts[0], atts[1]), atts[2]);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "recpromo source scan",
								   ALLOCSET_DEFAULT_SIZES);
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	outer = MemoryContextSwitchTo(rowcxt);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *values;
		bool	   *isnull;
		double		rv;

		slot_getsomeattrs(slot, maxatt);
		values = slot->tts_values;
		isnull = slot->tts_isnull;
		if (isnull[atts[0] - 1] || isnull[atts[1] - 1] || (atts[2] > 0 && isnull[atts[2] - 1]))
			sink->skipped++;
		else
		{
			rv = RatingValue(atts[2] > 0 ? values[atts[2] - 1] : (Datum) 0, convs[2]);
			if (RecpromoRatingBad(sink, rv))
				RecpromoRatingError(sink, rv, ScanKeyText(values[atts[0] - 1], convs[0]),
									ScanKeyText(values[atts[1] - 1], convs[1]));
			RecpromoSinkPush(sink, ScanKey(&sink->users, values[atts[0] - 1], convs[0]),
							 ScanKey(&sink->items, values[atts[1] - 1], convs[1]), rv);
		}
		if (++batch == SCAN_BATCH_ROWS)
		{
			batch = 0;
			MemoryContextReset(rowcxt);
			CHECK_FOR_INTERRUPTS();
		}
	}
	MemoryContextSwitchTo(outer);
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(rowcxt);
	relation_close(rel, NoLock);
	return true;
}
