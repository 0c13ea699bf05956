/*
 * source.c
 *	  Reading interactions from any table, view or materialised view the
 *	  caller can read (see source.h).
 *
 * The table arrives as a regclass and the columns as names; the query is
 * built only from quote_qualified_identifier / quote_identifier and
 * pg_catalog-qualified functions, operators and types, and runs through SPI
 * (spi_guard.c: under search_path = pg_catalog, pg_temp) as the calling
 * user, so privileges and row-level security apply exactly as to a SELECT
 * the user would write, and no object on the caller's search_path can
 * capture a name of the query.  Rows are fetched from
 * a read-only cursor in batches and fed to the row sink of source_rows.c
 * (compact key dictionaries, flat row arrays, then a CSR with duplicates
 * summed).  No dense user x item matrix is ever built.
 *
 * When a direct table scan returns exactly the rows the query would for
 * this caller (source_scan.c decides: plain table, SELECT held, no
 * row-level security), the rows come from it instead, without the
 * executor, the SPI tuple table or casts; both paths feed the same sink in
 * the same order and build byte-identical models.  A Citus table is never
 * scanned directly (its shell here is empty); with recpromo.source_path =
 * grouped, a distributed one is read grouped by (user, item) on the workers
 * when that too builds the same model (GroupOnWorkers).
 */
#include "postgres.h"

#include <math.h>
#include <sys/resource.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "access/relation.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "utils/relcache.h"

#include "citus.h"
#include "recpromo.h"
#include "source.h"
#include "source_int.h"
#include "spi_guard.h"

#define RECPROMO_FETCH_ROWS 10000

static Oid
ColumnType(Oid relid, const char *col, const char *role)
{
	AttrNumber	attnum;

	if (col == NULL || col[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s column name must not be empty", role)));
	attnum = get_attnum(relid, col);
	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col, get_rel_name(relid)),
				 errhint("Name the %s column of the source table.", role)));
	return get_atttype(relid, attnum);
}

void
RecpromoSourceInit(RecpromoSource *src, Oid relid, const char *user_col,
				   const char *item_col, const char *rating_col)
{
	char	   *rel;

	rel = get_rel_name(relid);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	src->relid = relid;
	src->relname = RecpromoQualifiedRelation(relid);
	src->user_col = pstrdup(user_col);
	src->item_col = pstrdup(item_col);
	src->rating_col = rating_col ? pstrdup(rating_col) : NULL;
	src->user_type = ColumnType(relid, user_col, "user");
	src->item_type = ColumnType(relid, item_col, "item");
	src->rating_type = InvalidOid;
	if (rating_col != NULL)
	{
		src->rating_type = ColumnType(relid, rating_col, "rating");
		if (TypeCategory(src->rating_type) != TYPCATEGORY_NUMERIC)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("rating column \"%s\" must be of a numeric type, not %s",
							rating_col, format_type_be(src->rating_type)),
					 errhint("Use a smallint, integer, bigint, real, double precision or numeric column, or cast it in a view.")));
	}
}

char *
RecpromoKeyCastSql(const char *col, Oid type)
{
	return psprintf("%s::pg_catalog.%s", quote_identifier(col),
					RecpromoKeyClassFor(type) == RECPROMO_KEY_INT ? "int8" : "text");
}

/*
 * "col = $1" for a key column, without casting the column, so that an index
 * on it serves the lookup: integer columns compare with an int8 parameter
 * through pg_catalog's cross-type btree operators, text and varchar columns
 * with text, other types with their own equality after a cast of the text
 * form to the column's type (RecpromoSqlEquals qualifies the operator).
 */
static char *
KeyEqualsParam(const char *col, Oid type)
{
	const char *qc = quote_identifier(col);

	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return RecpromoSqlEquals(qc, type, "$1", INT8OID);
		case TEXTOID:
		case VARCHAROID:
			return RecpromoSqlEquals(qc, type, "$1", TEXTOID);
		default:
			return RecpromoSqlEquals(qc, type,
									 psprintf("$1::pg_catalog.text::%s", RecpromoQualifiedType(type)),
									 type);
	}
}

static Oid
KeyTransferType(Oid type)
{
	return RecpromoKeyClassFor(type) == RECPROMO_KEY_INT ? INT8OID : TEXTOID;
}

/* Text form of a transfer-class key (int8 or text Datum) for messages. */
static char *
KeyText(Datum d, Oid transfer)
{
	if (transfer == INT8OID)
		return psprintf(INT64_FORMAT, DatumGetInt64(d));
	return TextDatumGetCString(d);
}

/* Provisional id of a transfer-class key (int8 or text Datum). */
static inline int32
SinkKey(RecpromoKeyDict *d, Datum value, Oid transfer)
{
	if (transfer == INT8OID)
		return RecpromoDictInt(d, DatumGetInt64(value));
	else
	{
		struct varlena *t = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));
		int32		id = RecpromoDictText(d, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

		if ((Pointer) t != DatumGetPointer(value))
			pfree(t);
		return id;
	}
}

/* What the SPI reads' rows go to (PlainRow, GroupedRow). */
typedef struct SpiRead
{
	RecpromoRowSink *sink;
	Oid			utype;			/* transfer types of the keys (KeyTransferType) */
	Oid			itype;
} SpiRead;

/* One (user, item, value) row: a NULL skips it, a bad value is an error. */
static void
PlainRow(HeapTuple tup, TupleDesc td, void *arg)
{
	SpiRead    *rd = arg;
	RecpromoRowSink *sink = rd->sink;
	bool		nu,
				ni,
				nr;
	Datum		u = SPI_getbinval(tup, td, 1, &nu);
	Datum		i = SPI_getbinval(tup, td, 2, &ni);
	Datum		v = SPI_getbinval(tup, td, 3, &nr);
	double		rv;

	if (nu || ni || nr)
	{
		sink->skipped++;
		return;
	}
	rv = DatumGetFloat8(v);
	if (RecpromoRatingBad(sink, rv))
		RecpromoRatingError(sink, rv, KeyText(u, rd->utype), KeyText(i, rd->itype));
	RecpromoSinkPush(sink, SinkKey(&sink->users, u, rd->utype),
					 SinkKey(&sink->items, i, rd->itype), rv);
}

/*
 * Reads the source through a read-only SPI cursor, batch by batch, into
 * the sink: the query a user would write, so privileges, row-level
 * security, views, inheritance and foreign tables all behave as for them.
 */
static void
ReadThroughSpi(const RecpromoSource *src, RecpromoRowSink *sink)
{
	SpiRead		rd = {sink, KeyTransferType(src->user_type), KeyTransferType(src->item_type)};
	char	   *sql;

	sql = psprintf("SELECT %s, %s, %s FROM %s",
				   RecpromoKeyCastSql(src->user_col, src->user_type),
				   RecpromoKeyCastSql(src->item_col, src->item_type),
				   src->rating_col ? psprintf("%s::pg_catalog.float8", quote_identifier(src->rating_col)) :
				   "1::pg_catalog.float8",
				   src->relname);
	RecpromoSpiForEachRow(sql, 0, NULL, NULL, RECPROMO_FETCH_ROWS, CurrentMemoryContext, PlainRow, &rd);
}

/*
 * Whether the training read may group by (user, item) in the query, so that
 * Citus sums each pair's rows on the worker that holds them and only the
 * distinct pairs travel: the source is a Citus distributed table (its shell
 * here holds no rows; every row crosses the network to this backend) and
 * the sums are exact whatever the order the rows are added in, so the model
 * is byte-identical to the one built from every row: no rating column (each
 * row counts 1) or an integer one of at most 32 bits (sums of such values
 * in double precision are exact below 2^53).  A real, double precision or
 * numeric rating is summed in the order rows arrive, which the workers'
 * grouping would change in the last bits: those sources are read row by
 * row.
 *
 * Only when recpromo.source_path = grouped: grouping costs the workers a
 * hash aggregate (spilling beyond their work_mem), which pays when pairs
 * repeat (bench/bench_citus.py --read: 1.5x faster at 4 rows a pair, 2M
 * rows) and doubles the read when they do not, and nothing here knows the
 * ratio before reading.
 */
static bool
GroupOnWorkers(const RecpromoSource *src)
{
	char		method;

	if (recpromo_source_path != RECPROMO_SOURCE_PATH_GROUPED)
		return false;
	if (src->rating_col != NULL && src->rating_type != INT2OID && src->rating_type != INT4OID)
		return false;
	method = RecpromoCitusPartMethod(src->relid);
	return method == 'h' || method == 'r' || method == 'a';
}

/*
 * ReadThroughSpi for GroupOnWorkers sources: one row per (user, item) with
 * the sum of its ratings, the count of its rows and of its non-NULL
 * ratings and the least rating, so the sink gets what it would have summed
 * itself, and counts what it would have read and skipped: a group with a
 * NULL user or item skips all its rows, NULL ratings are skipped one by
 * one, and a negative least rating raises the error a negative row would
 * (naming the pair).  Still one query as the caller, through the cursor.
 */
/*
 * One (user, item, sum, rows, rated rows, least value) group: rows with a
 * NULL key are skipped (all of them), unrated rows too; the least value
 * is checked, the sum pushed, the folded duplicates counted.
 */
static void
GroupedRow(HeapTuple tup, TupleDesc td, void *arg)
{
	SpiRead    *rd = arg;
	RecpromoRowSink *sink = rd->sink;
	bool		nu,
				ni,
				ns,
				nn,
				nr,
				nm;
	Datum		u = SPI_getbinval(tup, td, 1, &nu);
	Datum		i = SPI_getbinval(tup, td, 2, &ni);
	Datum		s = SPI_getbinval(tup, td, 3, &ns);
	int64		rows = DatumGetInt64(SPI_getbinval(tup, td, 4, &nn));
	int64		rated = DatumGetInt64(SPI_getbinval(tup, td, 5, &nr));
	Datum		least = SPI_getbinval(tup, td, 6, &nm);

	if (nu || ni || nn || nr)
	{
		sink->skipped += nn ? 0 : rows;
		return;
	}
	sink->skipped += rows - rated;
	if (rated == 0 || ns || nm)
		return;
	if (RecpromoRatingBad(sink, DatumGetFloat8(least)))
		RecpromoRatingError(sink, DatumGetFloat8(least), KeyText(u, rd->utype), KeyText(i, rd->itype));
	RecpromoSinkPush(sink, SinkKey(&sink->users, u, rd->utype),
					 SinkKey(&sink->items, i, rd->itype), DatumGetFloat8(s));
	sink->folded += rated - 1;
}

static void
ReadGroupedThroughSpi(const RecpromoSource *src, RecpromoRowSink *sink)
{
	SpiRead		rd = {sink, KeyTransferType(src->user_type), KeyTransferType(src->item_type)};
	const char *r = src->rating_col ? psprintf("%s::pg_catalog.float8", quote_identifier(src->rating_col)) : NULL;
	char	   *sql;

	sql = psprintf("SELECT %s, %s, %s, pg_catalog.count(*), %s, %s FROM %s GROUP BY 1, 2",
				   RecpromoKeyCastSql(src->user_col, src->user_type),
				   RecpromoKeyCastSql(src->item_col, src->item_type),
				   r ? psprintf("pg_catalog.sum(%s)", r) : "pg_catalog.count(*)::pg_catalog.float8",
				   r ? psprintf("pg_catalog.count(%s)", r) : "pg_catalog.count(*)",
				   r ? psprintf("pg_catalog.min(%s)", r) : "1::pg_catalog.float8",
				   src->relname);
	ereport(DEBUG1,
			(errmsg("recpromo reads %s grouped by user and item on the Citus workers", src->relname)));
	RecpromoSpiForEachRow(sql, 0, NULL, NULL, RECPROMO_FETCH_ROWS, CurrentMemoryContext, GroupedRow, &rd);
}

/* User + system CPU seconds between two getrusage samples. */
static double
CpuSeconds(const struct rusage *a, const struct rusage *b)
{
	return (double) (b->ru_utime.tv_sec - a->ru_utime.tv_sec) +
		(double) (b->ru_stime.tv_sec - a->ru_stime.tv_sec) +
		1e-6 * (double) (b->ru_utime.tv_usec - a->ru_utime.tv_usec) +
		1e-6 * (double) (b->ru_stime.tv_usec - a->ru_stime.tv_usec);
}

void
RecpromoReadInteractions(const RecpromoSource *src, bool nonneg, RecpromoInteractions *out)
{
	RecpromoRowSink sink;
	float4		reltuples;
	instr_time	start;
	instr_time	mid;
	instr_time	end;
	struct rusage ru0;
	struct rusage ru1;
	struct rusage ru2;

	/* up-front estimate from the planner's row count */
	reltuples = 0;
	{
		HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(src->relid));

		if (HeapTupleIsValid(tp))
		{
			reltuples = ((Form_pg_class) GETSTRUCT(tp))->reltuples;
			ReleaseSysCache(tp);
		}
	}
	/*
	 * Up front: the rows alone, from the planner's count (the keys are not
	 * known yet; RecpromoSinkFinish checks the exact peak before the
	 * matrix is built, and growing the row arrays checks them too).
	 */
	if (reltuples > 0)
		RecpromoSinkCheckMemory(src, RecpromoSinkPeakBytes((double) reltuples, 0, 0, 0,
														   RecpromoThreads()),
								(double) reltuples, RECPROMO_SINK_PLAN_ESTIMATE);

	getrusage(RUSAGE_SELF, &ru0);
	INSTR_TIME_SET_CURRENT(start);
	RecpromoSinkInit(&sink, src, nonneg,
					 reltuples > 0 ? (int64) ((double) reltuples * 1.05) + 1024 : 0);
	if (GroupOnWorkers(src))
		ReadGroupedThroughSpi(src, &sink);
	else if (!RecpromoScanSource(src, &sink))
		ReadThroughSpi(src, &sink);
	INSTR_TIME_SET_CURRENT(mid);
	getrusage(RUSAGE_SELF, &ru1);
	RecpromoSinkFinish(&sink, out);
	INSTR_TIME_SET_CURRENT(end);
	getrusage(RUSAGE_SELF, &ru2);
	INSTR_TIME_SUBTRACT(end, mid);
	INSTR_TIME_SUBTRACT(mid, start);
	/* for bench/bench_read.py; never in test output (timings) */
	ereport(DEBUG2,
			(errmsg_internal("recpromo read %lld rows in %.3f s (cpu %.3f s), built the matrix in %.3f s (cpu %.3f s)",
							 (long long) out->rows_read, INSTR_TIME_GET_DOUBLE(mid),
							 CpuSeconds(&ru0, &ru1), INSTR_TIME_GET_DOUBLE(end),
							 CpuSeconds(&ru1, &ru2))));
}

int32
RecpromoReadUserHistory(const RecpromoSource *src, const RecpromoKeys *items,
						Datum user, Oid user_type, int32 **idx, double **vals)
{
	MemoryContext outer = CurrentMemoryContext;
	char	   *sql;
	Oid			argtype = KeyTransferType(src->user_type);
	Datum		arg;
	int32		n = 0;
	int32	   *ix;
	double	   *vx;
	int			spi;

	/* the user key in the column's transfer class */
	if (argtype == INT8OID)
	{
		if (RecpromoKeyClassFor(user_type) == RECPROMO_KEY_INT)
			arg = Int64GetDatum(user_type == INT2OID ? DatumGetInt16(user) :
								user_type == INT4OID ? DatumGetInt32(user) : DatumGetInt64(user));
		else
		{
			Oid			outfn;
			bool		isv;
			char	   *s;
			char	   *end;
			long long	v;

			getTypeOutputInfo(user_type, &outfn, &isv);
			s = OidOutputFunctionCall(outfn, user);
			errno = 0;
			v = strtoll(s, &end, 10);
			if (*s == '\0' || *end != '\0' || errno != 0)
			{
				*idx = NULL;
				*vals = NULL;
				return 0;		/* cannot match any integer key */
			}
			arg = Int64GetDatum((int64) v);
		}
	}
	else
	{
		Oid			outfn;
		bool		isv;

		getTypeOutputInfo(user_type, &outfn, &isv);
		arg = PointerGetDatum(cstring_to_text(OidOutputFunctionCall(outfn, user)));
	}

	sql = psprintf("SELECT %s, pg_catalog.sum(%s)::pg_catalog.float8 FROM %s "
				   "WHERE %s AND %s IS NOT NULL GROUP BY 1",
				   RecpromoKeyCastSql(src->item_col, src->item_type),
				   src->rating_col ? quote_identifier(src->rating_col) : "1",
				   src->relname,
				   KeyEqualsParam(src->user_col, src->user_type),
				   src->rating_col ? quote_identifier(src->rating_col) : "1");
	spi = RecpromoSpiConnect();
	if (SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, true, 0) != SPI_OK_SELECT)
		RECPROMO_CANNOT_HAPPEN("could not read the user's history");
	{
		MemoryContext spicxt = MemoryContextSwitchTo(outer);
		TupleDesc	td = SPI_tuptable->tupdesc;

		ix = palloc(Max(SPI_processed, 1) * sizeof(int32));
		vx = palloc(Max(SPI_processed, 1) * sizeof(double));
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		ni,
						nv;
			Datum		it = SPI_getbinval(SPI_tuptable->vals[r], td, 1, &ni);
			Datum		v = SPI_getbinval(SPI_tuptable->vals[r], td, 2, &nv);
			int32		k;

			if (ni || nv)
				continue;
			k = RecpromoKeysFind(items, it, KeyTransferType(src->item_type));
			if (k < 0 || !isfinite(DatumGetFloat8(v)))
				continue;
			ix[n] = k;
			vx[n] = DatumGetFloat8(v);
			n++;
		}
		MemoryContextSwitchTo(spicxt);
	}
	RecpromoSpiFinish(spi);

	rp_sort_pairs(ix, vx, n);
	*idx = ix;
	*vals = vx;
	return n;
}

/*
 * Whether an index serves fold-in's lookup "user_col = $1" on the relation
 * (a table, materialised view or partitioned table): a valid, non-partial
 * btree or hash index whose first column is the user column.
 */
static bool
HasUserIndex(Oid relid, AttrNumber attnum)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		HeapTuple	ctup;
		Form_pg_index ix;

		if (!HeapTupleIsValid(itup))
			continue;
		ix = (Form_pg_index) GETSTRUCT(itup);
		if (ix->indisvalid && ix->indnatts >= 1 && ix->indkey.values[0] == attnum &&
			heap_attisnull(itup, Anum_pg_index_indpred, NULL))
		{
			ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexoid));
			if (HeapTupleIsValid(ctup))
			{
				Oid			am = ((Form_pg_class) GETSTRUCT(ctup))->relam;

				found = am == BTREE_AM_OID || am == HASH_AM_OID;
				ReleaseSysCache(ctup);
			}
		}
		ReleaseSysCache(itup);
		if (found)
			break;
	}
	list_free(indexes);
	relation_close(rel, AccessShareLock);
	return found;
}

void
RecpromoCheckFoldInIndex(const RecpromoSource *src)
{
	char		relkind = get_rel_relkind(src->relid);
	AttrNumber	attnum = get_attnum(src->relid, src->user_col);

	if (relkind == RELKIND_VIEW || relkind == RELKIND_FOREIGN_TABLE)
	{
		/* a view's plan depends on its query: nothing here can be checked */
		ereport(NOTICE,
				(errmsg("cannot check whether fold-in from %s %s can use an index",
						relkind == RELKIND_VIEW ? "view" : "foreign table", src->relname),
				 errdetail("Serving reads the rows of a customer the model does not know from the source at each call (fold-in)."),
				 errhint("Make sure the lookup by \"%s\" can use an index of the tables behind it.",
						 src->user_col)));
		return;
	}
	if (attnum <= 0 || HasUserIndex(src->relid, attnum))
		return;
	ereport(NOTICE,
			(errmsg("source %s has no index on \"%s\" for fold-in", src->relname, src->user_col),
			 errdetail("Serving reads the rows of a customer the model does not know from the source at each call (fold-in); without an index whose first column is \"%s\", that is a sequential scan of the whole source.",
					   src->user_col),
			 errhint("Create one with: CREATE INDEX ON %s (%s);",
					 src->relname, quote_identifier(src->user_col))));
}
