/*
 * source_int.h
 *	  Internals shared by the two ways of reading a source (source.c: SPI;
 *	  source_scan.c: a direct table scan): the row sink both feed.
 *
 * A sink takes one (user, item, rating) row at a time, maps each key to a
 * provisional dense id through a compact open-addressing hash (no
 * allocation per key: integer keys live in one int64 array, text keys back
 * to back in one byte arena), and appends (user id, item id, rating) to
 * three flat arrays, 16 bytes a row.  RecpromoSinkFinish sorts each
 * dictionary (the sorted order is the model's key order, see keys.h),
 * renumbers the rows in place and builds the CSR, summing duplicates.
 * Both paths feed rows in the scan order of the same relation, so they
 * build byte-identical interactions.
 */
#ifndef RECPROMO_SOURCE_INT_H
#define RECPROMO_SOURCE_INT_H

#include "postgres.h"

#include <math.h>

#include "source.h"

/* A growing key -> provisional id map (ids in order of first sight). */
typedef struct RecpromoKeyDict
{
	RecpromoKeyClass kclass;
	int32		n;				/* keys so far */
	int32		cap;			/* room in ints / off / hashes */
	int64	   *ints;			/* INT: key of each id */
	char	   *arena;			/* TEXT: NUL-terminated keys back to back */
	Size		arena_len;
	Size		arena_cap;
	int64	   *off;			/* TEXT: arena offset of each id */
	uint32	   *hashes;			/* hash of each id's key (rehashing) */
	uint32	   *slots;			/* id + 1, 0 = empty; power-of-two size */
	uint32		mask;
	int32	   *dmap;			/* INT: id + 1 of key k in [0, dcap), 0 = absent */
	int64		dcap;
} RecpromoKeyDict;

typedef struct RecpromoRowSink
{
	const RecpromoSource *src;
	bool		nonneg;
	RecpromoKeyDict users;
	RecpromoKeyDict items;
	int32	   *u;				/* provisional user id of each row */
	int32	   *i;
	double	   *v;
	int64		n;
	int64		cap;
	int64		skipped;		/* NULL user, item or rating */
	int64		folded;			/* rows summed into a pushed row before it arrived */
} RecpromoRowSink;

/*
 * Prepares a sink for about `expected` rows (a hint: the arrays grow) in
 * CurrentMemoryContext, which must stay current while rows are added.
 */
extern void RecpromoSinkInit(RecpromoRowSink *sink, const RecpromoSource *src,
							 bool nonneg, int64 expected);

/* Provisional id of an integer key / of a text key of len bytes. */
extern int32 RecpromoDictInt(RecpromoKeyDict *d, int64 key);
extern int32 RecpromoDictText(RecpromoKeyDict *d, const char *s, Size len);

/*
 * Raises the DATA_EXCEPTION of a non-finite rating, or (nonneg) of a
 * negative one, naming the row by its keys' text forms.  Call only when
 * RecpromoRatingBad says so.
 */
extern void RecpromoRatingError(const RecpromoRowSink *sink, double r,
								const char *user, const char *item) pg_attribute_noreturn();

static inline bool
RecpromoRatingBad(const RecpromoRowSink *sink, double r)
{
	return !isfinite(r) || (sink->nonneg && r < 0);
}

/* Makes room for more rows (the arrays grow by half). */
extern void RecpromoSinkGrow(RecpromoRowSink *sink);

/*
 * The reader's memory per row: 16 bytes while reading (two int32 ids and a
 * double), 12 more for the copy bucketed by item (the CSR, built next, is
 * also 12 and replaces the 16).
 */
#define RECPROMO_SINK_ROW_BYTES 16
#define RECPROMO_SINK_COPY_BYTES 12

/*
 * Peak bytes of reading `rows` rows with these key counts (key_bytes: the
 * sorted keys) on `threads` threads, from the first row to the finished
 * CSR; what RecpromoReadInteractions plans and RecpromoSinkFinish checks.
 */
extern double RecpromoSinkPeakBytes(double rows, double users, double items,
									double key_bytes, int threads);

typedef enum RecpromoSinkPlan
{
	RECPROMO_SINK_PLAN_ESTIMATE,	/* up front, rows = the planner's count */
	RECPROMO_SINK_PLAN_GROW,	/* growing the row arrays, rows = their room */
	RECPROMO_SINK_PLAN_EXACT	/* before the matrix, rows = rows read */
} RecpromoSinkPlan;

/*
 * ERROR 54000 (program_limit_exceeded) with both figures when need bytes exceed
 * recpromo.memory_limit; rows and plan say what the figure counts.
 */
extern void RecpromoSinkCheckMemory(const RecpromoSource *src, double need, double rows,
									RecpromoSinkPlan plan);

/* Appends a row of provisional ids (from RecpromoDict*) and its rating. */
static inline void
RecpromoSinkPush(RecpromoRowSink *sink, int32 u, int32 i, double v)
{
	if (unlikely(sink->n == sink->cap))
		RecpromoSinkGrow(sink);
	sink->u[sink->n] = u;
	sink->i[sink->n] = i;
	sink->v[sink->n] = v;
	sink->n++;
}

/*
 * Emits the NOTICE about skipped rows, builds the sorted dictionaries and
 * the CSR into out (in CurrentMemoryContext) and frees the sink's arrays.
 */
extern void RecpromoSinkFinish(RecpromoRowSink *sink, RecpromoInteractions *out);

/*
 * Reads the whole source into the sink through a direct table scan when
 * that returns exactly what the SPI query would, for this caller: a plain
 * table (no inheritance children, not another session's temporary table)
 * on which the caller holds SELECT on the columns read (checked as the
 * executor does, hooks included), with no row-level security applying,
 * and key and rating columns of types whose conversion is done here
 * (integers, text, varchar; integers, real, double precision, numeric).
 * Returns false without reading anything otherwise, and when
 * recpromo.source_path is 'spi'.  Reports the path taken at DEBUG1.
 */
extern bool RecpromoScanSource(const RecpromoSource *src, RecpromoRowSink *sink);

/* recpromo.source_path: 'auto' (fast path when allowed), 'spi' or 'grouped' */
extern int	recpromo_source_path;

#define RECPROMO_SOURCE_PATH_AUTO 0
#define RECPROMO_SOURCE_PATH_SPI 1
#define RECPROMO_SOURCE_PATH_GROUPED 2	/* auto, and Citus sources grouped on the workers */

/* Defines recpromo.source_path; called from _PG_init. */
extern void RecpromoSourceInitGucs(void);

#endif							/* RECPROMO_SOURCE_INT_H */
