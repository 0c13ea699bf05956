/*
 * source.h
 *	  Reading interactions (user, item, rating) from the caller's table.
 */
#ifndef RECPROMO_SOURCE_H
#define RECPROMO_SOURCE_H

#include "postgres.h"

#include "keys.h"
#include "rp_csr.h"

/* A validated reference to a source table and its columns. */
typedef struct RecpromoSource
{
	Oid			relid;
	char	   *relname;		/* quoted, schema-qualified */
	char	   *user_col;		/* raw names, as given */
	char	   *item_col;
	char	   *rating_col;		/* NULL: every row counts 1 */
	Oid			user_type;
	Oid			item_type;
	Oid			rating_type;	/* InvalidOid without a rating column */
} RecpromoSource;

/* Interactions read from a source: users x items, duplicates summed. */
typedef struct RecpromoInteractions
{
	RecpromoKeys users;
	RecpromoKeys items;
	rp_csr		R;
	int64		rows_read;
	int64		rows_skipped;	/* NULL user, item or rating */
} RecpromoInteractions;

/*
 * Checks that the columns exist with usable types (keys: any type;
 * rating: a numeric type) and fills src.  Errors name the column.
 */
extern void RecpromoSourceInit(RecpromoSource *src, Oid relid, const char *user_col,
							   const char *item_col, const char *rating_col);

/*
 * Reads every row with the caller's privileges and row-level security
 * (through SPI, or a direct table scan where that returns the same rows:
 * source_scan.c), skipping (and counting) rows with a NULL key or rating.  NaN or
 * infinite ratings raise DATA_EXCEPTION; with `nonneg`, so do negative ones.
 * The memory estimate is checked against recpromo.memory_limit first.
 * Allocates in CurrentMemoryContext.  SPI must not be connected.
 */
extern void RecpromoReadInteractions(const RecpromoSource *src, bool nonneg,
									 RecpromoInteractions *out);

/*
 * Reads one user's current interactions from the source (the live table,
 * not the model): items known to `items` and their summed ratings, sorted
 * by item index.  Returns the count; *idx and *vals are palloc'd in
 * CurrentMemoryContext.  SPI must not be connected.
 */
extern int32 RecpromoReadUserHistory(const RecpromoSource *src, const RecpromoKeys *items,
									 Datum user, Oid user_type,
									 int32 **idx, double **vals);

/*
 * Emits a NOTICE with the CREATE INDEX statement to run when fold-in (one
 * user's rows read from the source at each serving call, see
 * RecpromoReadUserHistory) cannot use an index: the source is a table,
 * materialised view or partitioned table without a valid, non-partial
 * btree or hash index whose first column is the user column.  For a view
 * or foreign table nothing can be checked and the NOTICE says so.
 */
/*
 * palloc_extended(len, MCXT_ALLOC_HUGE) with the interior advised for
 * transparent huge pages (madvise mode): for large arrays written once in
 * scattered order, where 4 kB pages cost a fault and a TLB miss each.
 */
extern void *RecpromoAllocLarge(Size len);

/* The advice RecpromoAllocLarge gives, for a large buffer allocated otherwise. */
extern void RecpromoAdviseHuge(void *p, Size len);

extern void RecpromoCheckFoldInIndex(const RecpromoSource *src);

/*
 * A float8 SQL expression ordering the values of a time column (date,
 * timestamp, timestamptz or number; errors otherwise): method_session_knn.c.
 */
extern char *RecpromoTimeExpr(Oid relid, const char *time_col);

/*
 * "col::pg_catalog.int8" or "col::pg_catalog.text" (col quoted): how every
 * SPI read transfers a key column of type `type`, its key class deciding.
 * Qualified, for the forced search_path of spi_guard.c.  source.c.
 */
extern char *RecpromoKeyCastSql(const char *col, Oid type);

#endif							/* RECPROMO_SOURCE_H */
