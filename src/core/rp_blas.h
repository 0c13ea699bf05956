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
 */
#ifndef RP_BLAS_H
#define RP_BLAS_H

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

/* Name of the kernel set OpenBLAS picked for this CPU ("Prescott", "SkylakeX"). */
static inline const char *
rp_blas_corename(void)
{
	return openblas_get_corename();
}

#endif							/* RP_BLAS_H */
