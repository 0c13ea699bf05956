/*
 * recpromo.c
 *	  Module magic, _PG_init and the GUCs of recpromo.
 *
 * OpenBLAS inside a backend: Debian's pthreads OpenBLAS starts a pool of
 * (cores - 1) threads on its first call and would run every BLAS call on
 * that pool.  A backend must own its parallelism (STYLE.md section 7), so
 * _PG_init pins OpenBLAS to one thread; the core runs its own row-block
 * workers (rp_parallel.c), each calling single-threaded BLAS, and only while
 * an SQL call is running.  No thread is ever started here: the postmaster
 * may load the library before forking.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "compat.h"
#include "recpromo.h"
#include "rp_blas.h"
#include "rp_parallel.h"

PG_MODULE_MAGIC;

int			recpromo_max_threads = 1;
int			recpromo_memory_limit_kb = 2 * 1024 * 1024;	/* 2 GB */

void		_PG_init(void);

void
_PG_init(void)
{
	openblas_set_num_threads(1);

	DefineCustomIntVariable("recpromo.max_threads",
							"Sets the number of worker threads recpromo uses for training and batch scoring.",
							"Between 1 and 64; threads run only pure computation and exist only during a call. "
							"Results do not depend on this setting.",
							&recpromo_max_threads,
							1, 1, RP_MAX_THREADS,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("recpromo.memory_limit",
							"Sets the most memory one recpromo training or batch call may plan to use.",
							"Calls whose up-front estimate exceeds it are refused before allocating.",
							&recpromo_memory_limit_kb,
							2 * 1024 * 1024, 1024, INT_MAX,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("recpromo");
}

int
RecpromoThreads(void)
{
	return recpromo_max_threads < 1 ? 1 : recpromo_max_threads;
}

/*
 * Set by RecpromoShouldStop when it asks the core to stop; read by errors.c.
 * A sig_atomic_t like the flags it mirrors: the hook may run on a worker
 * thread and must not do more than read and write such flags.
 */
static volatile sig_atomic_t recpromo_stop_seen = 0;

/*
 * The core's should-stop hook: true only for a request that ends the
 * statement -- a query cancel (pg_cancel_backend, statement_timeout,
 * lock_timeout and recovery conflicts all set QueryCancelPending), a
 * termination (ProcDiePending) or a lost client.  Any other pending
 * interrupt (pg_log_backend_memory_contexts, a ProcSignalBarrier, the
 * client_connection_check_interval timer, parallel messages...) is harmless:
 * the work goes on and the glue's next CHECK_FOR_INTERRUPTS between
 * iterations or batches services it.  Stopping on INTERRUPTS_PENDING_CONDITION
 * instead turned every such interrupt into a failed training (issue 11).
 *
 * A cancel that is held off (HOLD_INTERRUPTS, HOLD_CANCEL_INTERRUPTS, a
 * critical section) is not acted on, as ProcessInterrupts would not act on
 * it either.  Thread safety: reads only volatile flags and counters that
 * signal handlers and the owning thread write, calls nothing.
 */
static int
RecpromoShouldStop(void *arg)
{
	if (CritSectionCount != 0 || InterruptHoldoffCount != 0)
		return 0;
	if (ProcDiePending || ClientConnectionLost ||
		(QueryCancelPending && QueryCancelHoldoffCount == 0))
	{
		recpromo_stop_seen = 1;
		return 1;
	}
	return 0;
}

rp_cancel
RecpromoCancelHook(void)
{
	rp_cancel	c;

	recpromo_stop_seen = 0;
	c.fn = RecpromoShouldStop;
	c.arg = NULL;
	return c;
}

bool
RecpromoStopSeen(void)
{
	return recpromo_stop_seen != 0;
}

PG_FUNCTION_INFO_V1(recpromo_blas_corename);
Datum
recpromo_blas_corename(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(rp_blas_corename()));
}
