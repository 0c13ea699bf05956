/*
 * recpromo.c
 *	  Module magic, _PG_init and the GUCs of recpromo.
 *
 * OpenBLAS inside a backend.  A backend must own its parallelism and carry
 * no thread it did not ask for (STYLE.md section 7): the core runs its own
 * row-block workers (rp_parallel.c), each calling single-threaded BLAS, and
 * only while an SQL call is running.  Debian ships three OpenBLAS builds:
 *
 *	- pthreads: its library constructor starts a pool of (cores - 1) threads
 *	  when the library is loaded, before any code of ours runs;
 *	- serial: starts no thread, but Debian 12 builds it without USE_LOCKING,
 *	  so two threads calling it at once share its work buffers.  Measured
 *	  with bench/als_bench.c at 2 threads: the Cholesky solver stopped with
 *	  a numeric breakdown in 7 of 8 runs (never with the pthreads build),
 *	  and any call could as well return a wrong result silently;
 *	- OpenMP: brings libgomp and its own pool.
 *
 * So the module uses the pthreads build, by its path (see the Makefile: the
 * default libopenblas.so.0 is an alternatives link that could point to
 * another build), and pins it to one thread and shuts its pool down with
 * blas_thread_shutdown_(), the call OpenBLAS's own fork handler makes.
 * With one thread OpenBLAS never restarts the pool (exec_blas is only
 * reached for more than one thread), and its pthreads build is safe to call
 * from several threads at once.  The library is not linked but loaded on
 * first use (src/core/rp_blas.c): its load cost a new backend 5-9 ms of CPU
 * at its first recpromo call (16,000 relocations and the pool's start),
 * more than the rest of a first recommend(), which never calls BLAS on a
 * factor model.  So the pool lives only for the load, in a backend that
 * trains or folds in, with no PostgreSQL code running beside it; after that
 * the backend has one thread, except inside a call with
 * recpromo.max_threads > 1 (test/ref/test_threads.py), which loads the
 * library before it starts a worker (RecpromoThreads).  Speed does not
 * change: the kernels are those the module always ran (and the serial build
 * measured the same at one thread: fastest ALS iteration within 1 %, Haswell
 * kernels).  If another build is loaded anyway (openblas_get_parallel() is
 * not 1), the core is kept to one thread.  No thread is started here: the
 * postmaster may load the library before forking.
 */
#include "postgres.h"

#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "compat.h"
#include "forget.h"
#include "method.h"
#include "recpromo.h"
#include "rp_blas.h"
#include "rp_parallel.h"
#include "source_int.h"

PG_MODULE_MAGIC;

int			recpromo_max_threads = 1;
int			recpromo_memory_limit_kb = 2 * 1024 * 1024;	/* 2 GB */

void		_PG_init(void);

/*
 * Raised when OpenBLAS cannot be loaded on first use, on the backend's own
 * thread (rp_blas.c never calls this from a worker).
 */
static void
BlasLoadError(const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_FILE),
			 errmsg("could not load OpenBLAS"),
			 errdetail("%s", msg),
			 errhint("Install the OpenBLAS library recpromo was built against.")));
}

/* Loads OpenBLAS now (an error if it cannot be). */
void
RecpromoBlasEnsure(void)
{
	char		err[512];

	if (rp_blas_loaded())
		return;
	if (rp_blas_ensure(err, sizeof(err)) != 0)
		BlasLoadError(err);
}

void
_PG_init(void)
{
	rp_blas_set_error_hook(BlasLoadError);
#ifdef RP_OPENBLAS_PATH
	/* a missing library is still an error of the LOAD, as when it was linked */
	if (access(RP_OPENBLAS_PATH, R_OK) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("could not access OpenBLAS library \"%s\": %m", RP_OPENBLAS_PATH),
				 errhint("Install the OpenBLAS library recpromo was built against.")));
#endif

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

	RecpromoForgetInit();
	RecpromoImageInit();
	ServeInit();
	RecpromoSourceInitGucs();
	MarkGUCPrefixReserved("recpromo");
}

/*
 * The number of worker threads a call may use.  Above one, OpenBLAS is
 * loaded first, here on the backend's thread (an error, not a worker's
 * abort, if it cannot be), and only its thread-safe build gets workers.
 */
int
RecpromoThreads(void)
{
	if (recpromo_max_threads <= 1)
		return 1;
	RecpromoBlasEnsure();
	if (!rp_blas_reentrant())
		return 1;
	return recpromo_max_threads;
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
	RecpromoBlasEnsure();
	PG_RETURN_TEXT_P(cstring_to_text(rp_blas_corename()));
}
