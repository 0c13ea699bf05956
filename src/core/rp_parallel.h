/*
 * rp_parallel.h
 *	  Row-block parallel-for: the only user of pthreads in recpromo.
 *
 * Contract:
 *	- rp_parallel_for() runs fn(ctx, thread, begin, end) over [0, n) cut into
 *	  blocks of `block` rows.  Thread numbers are 0..nthreads-1; thread 0 is
 *	  the calling thread, which also polls the cancel hook between its blocks.
 *	- Which thread runs which block is not deterministic, so fn must make each
 *	  block's result depend only on the block (write per-row or per-block
 *	  outputs; reduce them afterwards in block order for reproducible sums).
 *	- Workers run with every signal blocked and must not call PostgreSQL or
 *	  allocate; per-thread scratch space is indexed by `thread`.
 *	- Returns RP_ECANCELED when the hook asked to stop (the remaining blocks
 *	  are skipped, blocks already started finish), RP_OK otherwise.  If a
 *	  thread cannot be created the work runs on fewer threads.
 */
#ifndef RP_PARALLEL_H
#define RP_PARALLEL_H

#include "rp_core.h"

typedef void (*rp_range_fn) (void *ctx, int thread, int64_t begin, int64_t end);

#define RP_MAX_THREADS 64

extern rp_status rp_parallel_for(int nthreads, int64_t n, int64_t block,
								 rp_range_fn fn, void *ctx,
								 const rp_cancel *cancel);

/* Number of online CPUs (at least 1). */
extern int	rp_cpu_count(void);

#endif							/* RP_PARALLEL_H */
