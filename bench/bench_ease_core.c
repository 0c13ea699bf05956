/*
 * bench_ease_core.c
 *	  Drives the pure-C EASE core on a (user, item, value) file for
 *	  bench_knn.py.
 *
 * Usage: bench_ease_core FILE LAMBDA
 * FILE: int32 n_users, int32 n_items, int64 n, then n int32 users, n int32
 * items and n float64 values (duplicates summed).
 * Prints key=value figures: fit seconds (Gram + Cholesky + inverse +
 * scaling), peak RSS in MB, a checksum of B, OpenBLAS's core name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "rp_blas.h"
#include "rp_ease.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	int32_t		nu, ni;
	int64_t		n;
	int32_t    *rows, *cols;
	double	   *vals, *B, *work, sum = 0.0, t0, t1;
	rp_csr		X;
	struct rusage ru;
	rp_status	st;

	if (argc != 3)
	{
		fprintf(stderr, "usage: %s FILE LAMBDA\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (f == NULL || fread(&nu, 4, 1, f) != 1 || fread(&ni, 4, 1, f) != 1 || fread(&n, 8, 1, f) != 1)
		return 2;
	rows = malloc(n * sizeof(int32_t));
	cols = malloc(n * sizeof(int32_t));
	vals = malloc(n * sizeof(double));
	if (fread(rows, 4, n, f) != (size_t) n || fread(cols, 4, n, f) != (size_t) n
		|| fread(vals, 8, n, f) != (size_t) n)
		return 2;
	fclose(f);
	X.indptr = malloc(((size_t) nu + 1) * sizeof(int64_t));
	X.indices = malloc(n * sizeof(int32_t));
	X.values = malloc(n * sizeof(double));
	work = malloc(rp_csr_from_coo_workspace(nu));
	if (rp_csr_from_coo(nu, ni, n, rows, cols, vals, &X, work) != RP_OK)
		return 3;
	free(work);
	free(rows);
	free(cols);
	free(vals);

	t0 = now();
	B = malloc((size_t) ni * ni * sizeof(double));
	work = malloc((size_t) ni * sizeof(double));
	st = rp_ease_fit(&X, atof(argv[2]), B, work, NULL);
	t1 = now();
	if (st != RP_OK)
		return 3;
	for (size_t p = 0; p < (size_t) ni * ni; p++)
		sum += B[p];
	getrusage(RUSAGE_SELF, &ru);
	printf("nnz=%lld items=%d fit_s=%.3f peak_mb=%.1f checksum=%.6f core=%s\n",
		   (long long) X.nnz, ni, t1 - t0, ru.ru_maxrss / 1024.0, sum, rp_blas_corename());
	return 0;
}
