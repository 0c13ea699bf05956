/*
 * rp_blas.h
 *	  The one place the core reaches OpenBLAS and LAPACK.
 *
 * CBLAS comes from OpenBLAS's own cblas.h (pthreads build).  LAPACK is called
 * through its Fortran interface, which Debian's libopenblas exports, so no
 * LAPACKE package is needed.  Fortran routines take every argument by pointer
 * and report errors in `info`; callers validate arguments first because a bad
 * argument makes OpenBLAS's xerbla print and, in some builds, exit() - which a
 * database server would treat as a crash.
 *
 * Loaded on first use (rp_blas.c).  The module does not link OpenBLAS: a
 * dlopen of libopenblas costs about 16,000 symbol relocations and the start
 * of its thread pool, 5-9 ms of CPU that every new backend paid at its first
 * recpromo call although serving a factor model never calls BLAS.  Each
 * routine below is reached through a table that rp_blas.c fills from a
 * dlopen (RTLD_LOCAL: nothing of OpenBLAS enters the process's global
 * symbol scope) the first time any of them is called; the check is one
 * load and a predicted branch per call.  Code keeps writing cblas_dgemm(...)
 * and dpotrf_(...): the macros below redirect those names.  Threads: the
 * load runs under pthread_once, so a first call from several threads at
 * once is safe; the glue loads the library on its own thread before it
 * starts any worker (rp_blas_ensure), so that a missing library is an
 * error, not an abort in a worker.
 */
#ifndef RP_BLAS_H
#define RP_BLAS_H

#include <stddef.h>

#include <cblas.h>

/* Cholesky factorisation and solve of a symmetric positive definite system. */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a,
				   const int *lda, double *b, const int *ldb, int *info);
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
					int *info);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs,
					const double *a, const int *lda, double *b, const int *ldb,
					int *info);
extern void dpotri_(const char *uplo, const int *n, double *a, const int *lda,
					int *info);

/* The routines the core and the glue call, as loaded. */
typedef struct rp_blas_api
{
	__typeof__(cblas_daxpy) *daxpy;
	__typeof__(cblas_ddot) *ddot;
	__typeof__(cblas_dgemm) *dgemm;
	__typeof__(cblas_dgemv) *dgemv;
	__typeof__(cblas_dger) *dger;
	__typeof__(cblas_dnrm2) *dnrm2;
	__typeof__(cblas_dspr) *dspr;
	__typeof__(cblas_dsyr) *dsyr;
	__typeof__(cblas_dsyrk) *dsyrk;
	__typeof__(cblas_dtrsv) *dtrsv;
	__typeof__(cblas_sgemm) *sgemm;
	__typeof__(dposv_) *dposv;
	__typeof__(dpotrf_) *dpotrf;
	__typeof__(dpotrs_) *dpotrs;
	__typeof__(dpotri_) *dpotri;
	__typeof__(openblas_get_corename) *get_corename;
} rp_blas_api;

extern rp_blas_api rp_blas_fns;
extern int	rp_blas_state;		/* 1 once loaded; read with acquire */

/*
 * Loads the library if needed and returns the table; on failure calls the
 * error hook (rp_blas_set_error_hook) on the thread that set it, and aborts
 * the process anywhere else (unreachable when the glue called
 * rp_blas_ensure before starting workers).
 */
extern const rp_blas_api *rp_blas_load_or_fail(void);

static inline const rp_blas_api *
rp_blas(void)
{
	if (__builtin_expect(__atomic_load_n(&rp_blas_state, __ATOMIC_ACQUIRE) == 1, 1))
		return &rp_blas_fns;
	return rp_blas_load_or_fail();
}

/*
 * Loads the library if needed: 0 on success, else -1 with a message
 * (the library's path and dlerror's text) in err.  Thread safe.
 */
extern int	rp_blas_ensure(char *err, size_t errlen);

/*
 * The function rp_blas_load_or_fail calls with the message when the load
 * fails on the calling thread (the glue's: it raises an error and does not
 * return).  Sets the calling thread as the one it may be called on.
 */
extern void rp_blas_set_error_hook(void (*hook) (const char *msg));

/* True once the library is loaded (nothing is loaded by asking). */
extern int	rp_blas_loaded(void);

/*
 * Whether the loaded build is safe to call from several threads at once
 * (openblas_get_parallel() == 1, its pthreads build).  Loads the library.
 */
extern int	rp_blas_reentrant(void);

/* Name of the kernel set OpenBLAS picked for this CPU ("Prescott", "SkylakeX"). */
static inline const char *
rp_blas_corename(void)
{
	return rp_blas()->get_corename();
}

#define cblas_daxpy (rp_blas()->daxpy)
#define cblas_ddot (rp_blas()->ddot)
#define cblas_dgemm (rp_blas()->dgemm)
#define cblas_dgemv (rp_blas()->dgemv)
#define cblas_dger (rp_blas()->dger)
#define cblas_dnrm2 (rp_blas()->dnrm2)
#define cblas_dspr (rp_blas()->dspr)
#define cblas_dsyr (rp_blas()->dsyr)
#define cblas_dsyrk (rp_blas()->dsyrk)
#define cblas_dtrsv (rp_blas()->dtrsv)
#define cblas_sgemm (rp_blas()->sgemm)
#define dposv_ (rp_blas()->dposv)
#define dpotrf_ (rp_blas()->dpotrf)
#define dpotrs_ (rp_blas()->dpotrs)
#define dpotri_ (rp_blas()->dpotri)

#endif							/* RP_BLAS_H */
