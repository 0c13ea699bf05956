/*
 * recpromo.h
 *	  Shared declarations of the PostgreSQL glue: GUC variables and the
 *	  helpers every SQL entry point uses.
 */
#ifndef RECPROMO_H
#define RECPROMO_H

#include "postgres.h"

#include "rp_core.h"

/* GUCs (recpromo.c) */
extern int	recpromo_max_threads;
extern int	recpromo_memory_limit_kb;

/* Threads to use for a core call: recpromo.max_threads, at least 1. */
extern int	RecpromoThreads(void);
extern void RecpromoBlasEnsure(void);
extern void ServeInit(void);	/* serve.c: its settings */

/*
 * Cancel hook for the core (recpromo.c): stops only for a query cancel,
 * statement timeout, termination or lost client, never for other pending
 * interrupts.  Safe to call from worker threads.  Each call resets the
 * "stop seen" flag that RecpromoStopSeen() reports.
 */
extern rp_cancel RecpromoCancelHook(void);

/* True when the hook has asked the core to stop since RecpromoCancelHook(). */
extern bool RecpromoStopSeen(void);

/*
 * errors.c: raise the ereport matching a core status; `what` names the
 * operation ("ALS training").  Returns only for RP_OK.
 */
extern void RecpromoCheckStatus(rp_status st, const char *what);

/*
 * Refuse an allocation plan over recpromo.memory_limit with both numbers.
 * `bytes` is the estimate, `what` names the operation.
 */
extern void RecpromoCheckMemory(double bytes, const char *what);

/*
 * A state the code itself rules out (SPI misuse, a broken internal
 * invariant): XX000 by design, with an untranslated message.  Everything a
 * user can cause (bad arguments, bad data, corrupt models) raises its own
 * SQLSTATE instead; test/check_no_elog_error.sh keeps plain elog errors out of
 * src/pg so that every such site is a deliberate choice.
 */
#define RECPROMO_CANNOT_HAPPEN(...) \
	ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg_internal(__VA_ARGS__)))

#endif							/* RECPROMO_H */
