/*
 * spi_guard.h
 *	  The one way recpromo runs SQL through SPI: under a forced
 *	  search_path, with query texts built from qualified names only.
 */
#ifndef RECPROMO_SPI_GUARD_H
#define RECPROMO_SPI_GUARD_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"

/* The search_path every SPI query of recpromo runs under. */
#define RECPROMO_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/*
 * Connects SPI and sets search_path to RECPROMO_SAFE_SEARCH_PATH for the
 * duration of the connection.  Returns a token for RecpromoSpiFinish.
 * An error in between needs no cleanup: (sub)transaction abort restores
 * the setting and SPI.
 */
extern int	RecpromoSpiConnect(void);

/* Restores the search_path saved by RecpromoSpiConnect and finishes SPI. */
extern void RecpromoSpiFinish(int token);

/*
 * Called once per row of RecpromoSpiForEachRow, in the caller's memory
 * context (what it allocates survives the SPI connection); tup and td
 * belong to SPI and are gone after the call.  fn must not run SPI itself.
 */
typedef void (*RecpromoRowFn) (HeapTuple tup, TupleDesc td, void *arg);

/*
 * The one cursor loop: connects SPI under the forced search_path, prepares
 * sql (nargs parameters of types argtypes, values args; NULL values are not
 * supported), opens a read-only cursor and fetches fetch_rows rows at a
 * time, calling fn(tuple, tupdesc, arg) for every row with `cxt` current,
 * freeing each batch and checking for interrupts between batches; then
 * closes the cursor and finishes SPI.  The rows are read with the current
 * user's privileges and row-level security.  Errors (from the query or fn)
 * propagate; (sub)transaction abort cleans up SPI and the setting.
 */
extern void RecpromoSpiForEachRow(const char *sql, int nargs, Oid *argtypes, Datum *args,
								  int fetch_rows, MemoryContext cxt,
								  RecpromoRowFn fn, void *arg);

/*
 * The same forced search_path without SPI, for code that connects SPI
 * itself or runs other name lookups that must not see the caller's path.
 * Returns the GUC nest level to pass to RecpromoRestoreSearchPath.
 */
extern int	RecpromoForceSearchPath(void);
extern void RecpromoRestoreSearchPath(int nestlevel);

/*
 * "schema"."relation" of a relation, from the catalog (never from caller
 * text).  Errors with undefined_table when the OID names no relation.
 */
extern char *RecpromoQualifiedRelation(Oid relid);

/*
 * A type name that resolves to `type` whatever the search_path: a SQL
 * keyword (bigint, double precision) or "schema"."type".
 */
extern char *RecpromoQualifiedType(Oid type);

/*
 * "lhs OPERATOR(schema.=) rhs": the equality of values of types ltype and
 * rtype, written so that only that schema's operators can match.  Built-in
 * pairs (integers of any width, text and varchar) use pg_catalog's own
 * (cross-type) operators, so an index on the column serves the lookup; any
 * other type uses the equality of its default btree or hash operator class,
 * qualified with that operator's schema (rhs must then be of type ltype).
 * Types without an equality compare their text forms.
 */
extern char *RecpromoSqlEquals(const char *lhs, Oid ltype, const char *rhs, Oid rtype);

#endif							/* RECPROMO_SPI_GUARD_H */
