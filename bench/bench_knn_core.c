/*
 * bench_knn_core.c
 *	  Drives the pure-C kNN core directly on a (user, item) pair file, so
 *	  bench_knn.py can time it without a server next to its peers.
 *
 * Usage: bench_knn_core FILE K THREADS WEIGHTING(none|tfidf|bm25) SHRINK
 * FILE: int32 n_users, int32 n_items, int64 n, then n int32 users and n
 * int32 items (every interaction counts 1, duplicates summed).
 * Prints one line of key=value figures: build (CSR + transpose + weighting)
 * and fit seconds, the fit's CPU seconds (all threads), kept neighbours,
 * peak RSS in MB, a checksum of the similarities, a hash of the bits of
 * every kept (index, similarity) (equal hashes: identical output), and
 * OpenBLAS's core name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "rp_blas.h"
#include "rp_knn.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the process (every thread) */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *
xmalloc(size_t n)
{
	void	   *p = aligned_alloc(64, (n + 63) & ~(size_t) 63);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	int32_t		nu, ni;
	int64_t		n;
	int32_t    *rows, *cols;
	double	   *vals;
	rp_csr		X, A, AT, S;
	rp_knn_params p;
	rp_knn_weighting w;
	double		t0, t1, t2, c1, c2, sum = 0.0;
	uint64_t	bits = 1469598103934665603ULL;
	struct rusage ru;
	void	   *work;
	rp_status	st;

	if (argc != 6)
	{
		fprintf(stderr, "usage: %s FILE K THREADS none|tfidf|bm25 SHRINK\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (f == NULL || fread(&nu, 4, 1, f) != 1 || fread(&ni, 4, 1, f) != 1 || fread(&n, 8, 1, f) != 1)
	{
		fprintf(stderr, "cannot read %s\n", argv[1]);
		return 2;
	}
	rows = xmalloc(n * sizeof(int32_t));
	cols = xmalloc(n * sizeof(int32_t));
	if (fread(rows, 4, n, f) != (size_t) n || fread(cols, 4, n, f) != (size_t) n)
	{
		fprintf(stderr, "short file\n");
		return 2;
	}
	fclose(f);
	p.k = atoi(argv[2]);
	p.nthreads = atoi(argv[3]);
	w = strcmp(argv[4], "bm25") == 0 ? RP_KNN_WEIGHT_BM25 :
		strcmp(argv[4], "tfidf") == 0 ? RP_KNN_WEIGHT_TFIDF : RP_KNN_WEIGHT_NONE;
	p.shrink = atof(argv[5]);

	t0 = now();
	vals = xmalloc(n * sizeof(double));
	for (int64_t i = 0; i < n; i++)
		vals[i] = 1.0;
	X.indptr = xmalloc(((size_t) nu + 1) * sizeof(int64_t));
	X.indices = xmalloc(n * sizeof(int32_t));
	X.values = vals;
	work = xmalloc(rp_csr_from_coo_workspace(nu));
	/* values are summed in place: vals doubles as the CSR's value array */
	{
		double	   *in = xmalloc(n * sizeof(double));

		memcpy(in, vals, n * sizeof(double));
		st = rp_csr_from_coo(nu, ni, n, rows, cols, in, &X, work);
		free(in);
	}
	free(work);
	free(rows);
	free(cols);
	if (st != RP_OK)
		return 3;
	/* items x users, weighted, and its transpose */
	A.indptr = xmalloc(((size_t) ni + 1) * sizeof(int64_t));
	A.indices = xmalloc(X.nnz * sizeof(int32_t));
	A.values = xmalloc(X.nnz * sizeof(double));
	rp_csr_transpose(&X, &A);
	work = xmalloc(rp_knn_weight_workspace_size(&A));
	if (rp_knn_weight(&A, w, RP_KNN_BM25_K1, RP_KNN_BM25_B, A.values, work) != RP_OK)
		return 3;
	free(work);
	if (w != RP_KNN_WEIGHT_NONE)
		rp_csr_transpose(&A, &X);	/* X now holds the weighted transpose */
	AT = X;
	t1 = now();

	S.indptr = xmalloc(((size_t) ni + 1) * sizeof(int64_t));
	S.indices = xmalloc((size_t) ni * p.k * sizeof(int32_t));
	S.values = xmalloc((size_t) ni * p.k * sizeof(double));
	work = xmalloc(rp_knn_workspace_size(ni, p.k, p.nthreads));
	c1 = cpu_now();
	st = rp_knn_fit(&A, &AT, &p, &S, work, NULL);
	t2 = now();
	c2 = cpu_now();
	if (st != RP_OK)
		return 3;
	for (int64_t i = 0; i < S.nnz; i++)
	{
		uint64_t	v;

		sum += S.values[i];
		/* FNV-1a over the bits of every kept (index, similarity): identity check */
		memcpy(&v, &S.values[i], sizeof(v));
		bits = (bits ^ (uint64_t) (uint32_t) S.indices[i]) * 1099511628211ULL;
		bits = (bits ^ v) * 1099511628211ULL;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("nnz=%lld build_s=%.3f fit_s=%.3f fit_cpu_s=%.3f kept=%lld peak_mb=%.1f checksum=%.6f bits=%016llx core=%s\n",
		   (long long) X.nnz, t1 - t0, t2 - t1, c2 - c1, (long long) S.nnz,
		   ru.ru_maxrss / 1024.0, sum, (unsigned long long) bits, rp_blas_corename());
	return 0;
}
