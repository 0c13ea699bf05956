/*
 * rp_blas.c
 *	  Loads OpenBLAS on first use (see rp_blas.h for why).
 *
 * The library is opened by its full path when the build knows it
 * (RP_OPENBLAS_PATH, set by the Makefile to Debian's pthreads build, the
 * build that is safe to call from several threads), by its soname
 * otherwise.  RTLD_NOW: a missing symbol is a load error here, not a
 * process exit at some later call; RTLD_LOCAL: OpenBLAS's symbols stay out
 * of the global scope, where they could bind another module's BLAS calls.
 *
 * The pthreads build's constructor starts a pool of (cores - 1) threads.
 * Right after the dlopen the loader pins OpenBLAS to one thread and shuts
 * the pool down with blas_thread_shutdown_() (the call OpenBLAS's own fork
 * handler makes, looked up so that a build without a pool still loads);
 * with one thread OpenBLAS never starts it again.  Parallelism is the
 * core's own row-block workers (rp_parallel.c), each calling BLAS single
 * threaded.  So the pool lives for the few microseconds of the load, with
 * no PostgreSQL code running beside it, and only in a backend that trains
 * or folds in (serving a factor model does not call BLAS).
 */
#include "rp_blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RP_OPENBLAS_PATH
#define RP_OPENBLAS_PATH "libopenblas.so.0"
#endif

rp_blas_api rp_blas_fns;
int			rp_blas_state = 0;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];
static int	blas_parallel = 0;
static void (*error_hook) (const char *msg) = NULL;
static pthread_t hook_thread;

static void *
Sym(void *h, const char *name)
{
	void	   *p = dlsym(h, name);

	if (p == NULL && load_error[0] == '\0')
		snprintf(load_error, sizeof(load_error), "%s has no symbol \"%s\"",
				 RP_OPENBLAS_PATH, name);
	return p;
}

static void
Load(void)
{
	void	   *h = dlopen(RP_OPENBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
	rp_blas_api a;
	void		(*set_threads) (int);
	int			(*shutdown) (void);
	int			(*get_parallel) (void);

	if (h == NULL)
	{
		const char *e = dlerror();

		snprintf(load_error, sizeof(load_error), "%s", e ? e : RP_OPENBLAS_PATH);
		return;
	}
	load_error[0] = '\0';
	a.daxpy = (__typeof__(a.daxpy)) Sym(h, "cblas_daxpy");
	a.ddot = (__typeof__(a.ddot)) Sym(h, "cblas_ddot");
	a.dgemm = (__typeof__(a.dgemm)) Sym(h, "cblas_dgemm");
	a.dgemv = (__typeof__(a.dgemv)) Sym(h, "cblas_dgemv");
	a.dger = (__typeof__(a.dger)) Sym(h, "cblas_dger");
	a.dnrm2 = (__typeof__(a.dnrm2)) Sym(h, "cblas_dnrm2");
	a.dspr = (__typeof__(a.dspr)) Sym(h, "cblas_dspr");
	a.dsyr = (__typeof__(a.dsyr)) Sym(h, "cblas_dsyr");
	a.dsyrk = (__typeof__(a.dsyrk)) Sym(h, "cblas_dsyrk");
	a.dtrsv = (__typeof__(a.dtrsv)) Sym(h, "cblas_dtrsv");
	a.sgemm = (__typeof__(a.sgemm)) Sym(h, "cblas_sgemm");
	a.dposv = (__typeof__(a.dposv)) Sym(h, "dposv_");
	a.dpotrf = (__typeof__(a.dpotrf)) Sym(h, "dpotrf_");
	a.dpotrs = (__typeof__(a.dpotrs)) Sym(h, "dpotrs_");
	a.dpotri = (__typeof__(a.dpotri)) Sym(h, "dpotri_");
	a.get_corename = (__typeof__(a.get_corename)) Sym(h, "openblas_get_corename");
	set_threads = (void (*) (int)) Sym(h, "openblas_set_num_threads");
	get_parallel = (int (*) (void)) Sym(h, "openblas_get_parallel");
	shutdown = (int (*) (void)) dlsym(h, "blas_thread_shutdown_");	/* optional */
	if (load_error[0] != '\0')
		return;					/* the handle stays open: harmless */

	set_threads(1);
	if (shutdown != NULL)
		shutdown();
	blas_parallel = get_parallel();
	rp_blas_fns = a;
	__atomic_store_n(&rp_blas_state, 1, __ATOMIC_RELEASE);
}

int
rp_blas_ensure(char *err, size_t errlen)
{
	pthread_once(&load_once, Load);
	if (__atomic_load_n(&rp_blas_state, __ATOMIC_ACQUIRE) == 1)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", load_error[0] ? load_error : RP_OPENBLAS_PATH);
	return -1;
}

const rp_blas_api *
rp_blas_load_or_fail(void)
{
	if (rp_blas_ensure(NULL, 0) == 0)
		return &rp_blas_fns;
	if (error_hook != NULL && pthread_equal(pthread_self(), hook_thread))
		error_hook(load_error);
	/* no way to report from here: stop rather than compute with nothing */
	fprintf(stderr, "recpromo: could not load OpenBLAS: %s\n", load_error);
	abort();
}

void
rp_blas_set_error_hook(void (*hook) (const char *msg))
{
	error_hook = hook;
	hook_thread = pthread_self();
}

int
rp_blas_loaded(void)
{
	return __atomic_load_n(&rp_blas_state, __ATOMIC_ACQUIRE) == 1;
}

int
rp_blas_reentrant(void)
{
	return rp_blas()->get_corename != NULL && blas_parallel == 1;
}
