/*
 * rp_core.h
 *	  Common ground of the pure-C compute core: status codes, the cancel hook
 *	  and small numeric helpers.
 *
 * The core (everything under src/core) includes no PostgreSQL header and never
 * raises: every fallible function returns an rp_status, in the way BLAS
 * reports `info`.  Only src/pg/errors.c turns a status into an ereport, so the
 * core can be unit-tested alone, run under sanitizers and called from worker
 * threads.  The core does not allocate in worker threads: functions that need
 * scratch space publish a *_workspace_size() and take the buffer from the
 * caller, who owns it (a PostgreSQL memory context in the glue).
 */
#ifndef RP_CORE_H
#define RP_CORE_H

#include <stddef.h>
#include <stdint.h>

typedef enum rp_status
{
	RP_OK = 0,
	RP_EINVAL,					/* invalid argument (bad size, k, lambda...) */
	RP_ENOMEM,					/* allocation or thread creation failed */
	RP_ENUMERIC,				/* NaN/Inf in input, or numeric breakdown */
	RP_ECANCELED,				/* the should-stop hook asked to stop */
	RP_ELIMIT					/* a size limit (int32 index, memory) exceeded */
} rp_status;

/* Short, lowercase text for a status (never NULL). */
extern const char *rp_status_text(rp_status st);

/*
 * The cancel hook.  Long-running core loops call rp_should_stop() between
 * blocks of work, on the calling (main) thread only; the glue's hook tests
 * for a query cancel or termination.  A NULL hook never stops.
 */
typedef int (*rp_should_stop_fn) (void *arg);

typedef struct rp_cancel
{
	rp_should_stop_fn fn;
	void	   *arg;
} rp_cancel;

static inline int
rp_should_stop(const rp_cancel *c)
{
	return c != NULL && c->fn != NULL && c->fn(c->arg);
}

/* Returns 1 when x is neither NaN nor infinite. */
static inline int
rp_finite(double x)
{
	return x - x == 0.0;
}

#endif							/* RP_CORE_H */
