/*
 * rp_parallel.c
 *	  Row-block parallel-for over pthreads (see rp_parallel.h for the contract).
 *
 * Blocks are handed out through one atomic counter, so fast threads take
 * more blocks (load balance for power-law row lengths).  The calling thread
 * is worker 0: between its blocks it asks the cancel hook whether to stop
 * and, if so, raises a flag that every worker reads before taking a block.
 * Threads are started and joined inside the call: nothing outlives it, which
 * is the rule for threads inside a PostgreSQL backend (STYLE.md section 7).
 */
#include "rp_parallel.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct pf_shared
{
	rp_range_fn fn;
	void	   *ctx;
	int64_t		n;
	int64_t		block;
	atomic_llong next;			/* next block start */
	atomic_int	stop;
} pf_shared;

typedef struct pf_worker
{
	pf_shared  *sh;
	int			thread;
} pf_worker;

/* Takes blocks until none is left or stop is raised. */
static void
pf_drain(pf_shared *sh, int thread, const rp_cancel *cancel)
{
	for (;;)
	{
		int64_t		begin;
		int64_t		end;

		if (atomic_load_explicit(&sh->stop, memory_order_relaxed))
			return;
		if (cancel != NULL && rp_should_stop(cancel))
		{
			atomic_store(&sh->stop, 1);
			return;
		}
		begin = atomic_fetch_add(&sh->next, sh->block);
		if (begin >= sh->n)
			return;
		end = begin + sh->block < sh->n ? begin + sh->block : sh->n;
		sh->fn(sh->ctx, thread, begin, end);
	}
}

static void *
pf_main(void *arg)
{
	pf_worker  *w = (pf_worker *) arg;

	pf_drain(w->sh, w->thread, NULL);
	return NULL;
}

rp_status
rp_parallel_for(int nthreads, int64_t n, int64_t block,
				rp_range_fn fn, void *ctx, const rp_cancel *cancel)
{
	pf_shared	sh;
	pthread_t	tid[RP_MAX_THREADS];
	pf_worker	wk[RP_MAX_THREADS];
	int			started = 0;

	if (n < 0 || fn == NULL)
		return RP_EINVAL;
	if (n == 0)
		return rp_should_stop(cancel) ? RP_ECANCELED : RP_OK;
	if (block < 1)
		block = 1;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > RP_MAX_THREADS)
		nthreads = RP_MAX_THREADS;
	/* no more threads than blocks */
	if ((n + block - 1) / block < nthreads)
		nthreads = (int) ((n + block - 1) / block);

	sh.fn = fn;
	sh.ctx = ctx;
	sh.n = n;
	sh.block = block;
	atomic_init(&sh.next, 0);
	atomic_init(&sh.stop, 0);

	if (nthreads > 1)
	{
		sigset_t	all;
		sigset_t	old;

		/* workers inherit a mask that blocks every signal */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (int t = 1; t < nthreads; t++)
		{
			wk[t].sh = &sh;
			wk[t].thread = t;
			if (pthread_create(&tid[t], NULL, pf_main, &wk[t]) != 0)
				break;
			started++;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}

	pf_drain(&sh, 0, cancel);

	for (int t = 1; t <= started; t++)
		pthread_join(tid[t], NULL);

	if (atomic_load(&sh.stop))
		return RP_ECANCELED;
	return RP_OK;
}

int
rp_cpu_count(void)
{
	long		c = sysconf(_SC_NPROCESSORS_ONLN);

	return c < 1 ? 1 : (int) c;
}
