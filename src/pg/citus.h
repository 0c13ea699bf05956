/*
 * citus.h
 *	  recpromo inside Citus: model reads on workers, training on the
 *	  coordinator only, fold-in inside pushed-down queries (citus.c).
 */
#ifndef RECPROMO_CITUS_H
#define RECPROMO_CITUS_H

#include "postgres.h"

#include "source.h"

/* Is the citus library loaded in this backend? */
extern bool RecpromoCitusLoaded(void);

/* In a model-table scope after NewGUCNestLevel(): allow nested reads. */
extern void RecpromoCitusAllowModelReads(void);

/* feature_not_supported on a Citus worker once the model tables are Citus tables. */
extern void RecpromoCitusCheckTrainingNode(void);

/* RecpromoReadUserHistory, or 0 rows with a NOTICE inside a query on a shard. */
extern int32 RecpromoCitusHistoryOrNothing(const RecpromoSource *src, const RecpromoKeys *items,
										   Datum key, Oid type, int32 **ix, double **vx);

/*
 * Citus's partition method of relid ('h' hash, 'r' range, 'a' append: a
 * distributed table; 'n': a reference or Citus local table), or '\0' when
 * relid is not a Citus table or Citus is not loaded.  SPI must not be
 * connected.
 */
extern char RecpromoCitusPartMethod(Oid relid);

#endif							/* RECPROMO_CITUS_H */
