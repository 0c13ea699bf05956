/*
 * als_bench.c
 *	  Times rp_als_iterate on one data set and one configuration, and the
 *	  DGEMM rate of the same process, for bench/bench_als.sh.
 *
 *	  als_bench (--file TRIPLETS | --synthetic U,I,N) [--factors 64] [--reg 0.05]
 *				[--alpha 1] [--iters 5] [--solver cg|chol] [--threads 1]
 *				[--cg-steps 3] [--loss 0|1] [--gemm 1] [--write FILE]
 *
 * TRIPLETS is a binary file: int64 n, int32 n_users, int32 n_items, then
 * n int32 users, n int32 items, n float64 values (bench_als.sh writes it
 * from the Online Retail CSV).  --synthetic U,I,N generates U users x I
 * items x N distinct interactions (the set (b) is
 * 100000,20000,5000000): item popularity Zipf with exponent 1
 * (p(rank r) ~ 1/r), user activity log-normal (sigma 1, at most I/4 items
 * each), values 1 + floor(Exp(1)), all from rp_rng seed 1.
 * --write FILE writes the (generated) triplets in the TRIPLETS format and
 * exits, for the numpy peer.  Prints one line of key=value pairs.  The first iteration is a warm-up;
 * seconds per iteration is the mean of the others (min_sec: the fastest,
 * less disturbed by other work on a shared machine; cpu_per_iter: CPU
 * seconds of all threads, which other processes disturb much less).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "rp_als.h"
#include "rp_blas.h"
#include "rp_csr.h"
#include "rp_rng.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (all threads) */
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
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

typedef struct coo
{
	int64_t		n;
	int32_t		nu,
				ni;
	int32_t    *u,
			   *i;
	double	   *v;
} coo;

static void
read_file(const char *path, coo *c)
{
	FILE	   *f = fopen(path, "rb");

	if (f == NULL || fread(&c->n, 8, 1, f) != 1 || fread(&c->nu, 4, 1, f) != 1 ||
		fread(&c->ni, 4, 1, f) != 1)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	c->u = xmalloc(4 * c->n);
	c->i = xmalloc(4 * c->n);
	c->v = xmalloc(8 * c->n);
	if (fread(c->u, 4, c->n, f) != (size_t) c->n ||
		fread(c->i, 4, c->n, f) != (size_t) c->n ||
		fread(c->v, 8, c->n, f) != (size_t) c->n)
	{
		fprintf(stderr, "short file %s\n", path);
		exit(1);
	}
	fclose(f);
}

static void
synthetic(coo *c, int32_t nu, int32_t ni, int64_t total)
{
	rp_rng		rng;
	double	   *cdf = xmalloc(sizeof(double) * ni);
	double	   *w = xmalloc(sizeof(double) * nu);
	int32_t    *cnt = xmalloc(sizeof(int32_t) * nu);
	unsigned char *seen = calloc(ni, 1);
	int32_t    *list = xmalloc(sizeof(int32_t) * ni);
	double		ws = 0.0,
				acc = 0.0;
	int64_t		assigned = 0,
				n = 0;

	rp_rng_seed(&rng, 1);
	for (int32_t r = 0; r < ni; r++)
	{
		acc += 1.0 / (r + 1);
		cdf[r] = acc;
	}
	for (int32_t r = 0; r < ni; r++)
		cdf[r] /= acc;
	for (int32_t u = 0; u < nu; u++)
	{
		w[u] = exp(rp_rng_normal(&rng));
		ws += w[u];
	}
	for (int32_t u = 0; u < nu; u++)
	{
		cnt[u] = (int32_t) floor(total * w[u] / ws);
		if (cnt[u] < 1)
			cnt[u] = 1;
		if (cnt[u] > ni / 4)
			cnt[u] = ni / 4;
		assigned += cnt[u];
	}
	for (int32_t u = 0; assigned < total; u = (u + 1) % nu)
		if (cnt[u] < ni / 4)
		{
			cnt[u]++;
			assigned++;
		}
	for (int32_t u = 0; assigned > total; u = (u + 1) % nu)
		if (cnt[u] > 1)
		{
			cnt[u]--;
			assigned--;
		}
	c->n = total;
	c->nu = nu;
	c->ni = ni;
	c->u = xmalloc(4 * total);
	c->i = xmalloc(4 * total);
	c->v = xmalloc(8 * total);
	for (int32_t u = 0; u < nu; u++)
	{
		for (int32_t j = 0; j < cnt[u]; j++)
		{
			int32_t		item;

			/* distinct items per user: redraw a repeat */
			do
			{
				double		x = rp_rng_uniform(&rng);
				int32_t		lo = 0,
							hi = ni - 1;

				while (lo < hi)
				{
					int32_t		mid = (lo + hi) / 2;

					if (cdf[mid] < x)
						lo = mid + 1;
					else
						hi = mid;
				}
				item = lo;
			} while (seen[item]);
			seen[item] = 1;
			list[j] = item;
			c->u[n] = u;
			c->i[n] = item;
			c->v[n] = 1.0 + floor(-log(1.0 - rp_rng_uniform(&rng)));
			n++;
		}
		for (int32_t j = 0; j < cnt[u]; j++)
			seen[list[j]] = 0;
	}
	free(cdf);
	free(w);
	free(cnt);
	free(seen);
	free(list);
}

/* DGEMM GFLOP/s, n x n x n, best of 3, OpenBLAS on one thread */
static double
gemm_rate(int n)
{
	double	   *a = xmalloc(sizeof(double) * n * n);
	double	   *b = xmalloc(sizeof(double) * n * n);
	double	   *c = xmalloc(sizeof(double) * n * n);
	double		best = 1e30;

	for (int i = 0; i < n * n; i++)
	{
		a[i] = (i % 7) * 0.1;
		b[i] = (i % 5) * 0.2;
	}
	for (int r = 0; r < 3; r++)
	{
		double		t = now();

		cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0,
					a, n, b, n, 0.0, c, n);
		t = now() - t;
		if (t < best)
			best = t;
	}
	free(a);
	free(b);
	free(c);
	return 2.0 * n * n * (double) n / best / 1e9;
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	const char *write_to = NULL;
	int			synth = 0;
	int			snu = 0,
				sni = 0;
	long long	snn = 0;
	rp_als_params p;
	int			iters = 5;
	int			do_gemm = 1;
	coo			c;
	rp_csr		ui,
				iu;
	rp_als_model m;
	void	   *work;
	size_t		ws;
	double		t0,
				tsum = 0.0,
				tmin = 1e30,
				csum = 0.0,
				c0,
				loss = NAN;
	struct rusage ru;
	double		flops = 0.0;
	double		csr_bytes,
				factor_bytes;
	double		foldin_us,
				explain_us;

	memset(&p, 0, sizeof(p));
	p.method = RP_ALS_IMPLICIT;
	p.solver = RP_ALS_CG;
	p.factors = 64;
	p.regularization = 0.05;
	p.alpha = 1.0;
	p.cg_steps = 3;
	p.threads = 1;
	p.compute_loss = 0;
	for (int a = 1; a < argc; a++)
	{
		const char *v = a + 1 < argc ? argv[a + 1] : "";

		if (strcmp(argv[a], "--file") == 0)
			file = v, a++;
		else if (strcmp(argv[a], "--synthetic") == 0)
		{
			if (sscanf(v, "%d,%d,%lld", &snu, &sni, &snn) != 3 || snu < 1 ||
				sni < 4 || snn < snu || snn > (long long) snu * (sni / 4))
			{
				fprintf(stderr, "--synthetic wants USERS,ITEMS,INTERACTIONS\n");
				return 2;
			}
			synth = 1;
			a++;
		}
		else if (strcmp(argv[a], "--factors") == 0)
			p.factors = atoi(v), a++;
		else if (strcmp(argv[a], "--reg") == 0)
			p.regularization = atof(v), a++;
		else if (strcmp(argv[a], "--alpha") == 0)
			p.alpha = atof(v), a++;
		else if (strcmp(argv[a], "--iters") == 0)
			iters = atoi(v), a++;
		else if (strcmp(argv[a], "--threads") == 0)
			p.threads = atoi(v), a++;
		else if (strcmp(argv[a], "--cg-steps") == 0)
			p.cg_steps = atoi(v), a++;
		else if (strcmp(argv[a], "--loss") == 0)
			p.compute_loss = atoi(v), a++;
		else if (strcmp(argv[a], "--write") == 0)
			write_to = v, a++;
		else if (strcmp(argv[a], "--gemm") == 0)
			do_gemm = atoi(v), a++;
		else if (strcmp(argv[a], "--solver") == 0)
		{
			p.solver = strcmp(v, "chol") == 0 ? RP_ALS_CHOLESKY : RP_ALS_CG;
			a++;
		}
		else
		{
			fprintf(stderr, "unknown argument %s\n", argv[a]);
			return 2;
		}
	}
	openblas_set_num_threads(1);
	if (synth)
		synthetic(&c, snu, sni, snn);
	else if (file)
		read_file(file, &c);
	else
	{
		fprintf(stderr, "need --file or --synthetic\n");
		return 2;
	}

	if (write_to)
	{
		FILE	   *f = fopen(write_to, "wb");

		if (f == NULL ||
			fwrite(&c.n, 8, 1, f) != 1 || fwrite(&c.nu, 4, 1, f) != 1 ||
			fwrite(&c.ni, 4, 1, f) != 1 ||
			fwrite(c.u, 4, c.n, f) != (size_t) c.n ||
			fwrite(c.i, 4, c.n, f) != (size_t) c.n ||
			fwrite(c.v, 8, c.n, f) != (size_t) c.n || fclose(f) != 0)
		{
			fprintf(stderr, "cannot write %s\n", write_to);
			return 1;
		}
		return 0;
	}
	ui.indptr = xmalloc(8 * ((size_t) c.nu + 1));
	ui.indices = xmalloc(4 * c.n);
	ui.values = xmalloc(8 * c.n);
	{
		void	   *w = xmalloc(rp_csr_from_coo_workspace(c.nu));

		rp_csr_from_coo(c.nu, c.ni, c.n, c.u, c.i, c.v, &ui, w);
		free(w);
	}
	free(c.u);
	free(c.i);
	free(c.v);
	iu.indptr = xmalloc(8 * ((size_t) c.ni + 1));
	iu.indices = xmalloc(4 * ui.nnz);
	iu.values = xmalloc(8 * ui.nnz);
	rp_csr_transpose(&ui, &iu);
	if (rp_als_check(&p, &ui, &iu) != RP_OK)
	{
		fprintf(stderr, "bad input\n");
		return 1;
	}
	m.user_factors = xmalloc(sizeof(double) * c.nu * p.factors);
	m.item_factors = xmalloc(sizeof(double) * c.ni * p.factors);
	rp_als_init(&p, &ui, 42, &m);
	ws = rp_als_workspace_size(&p, c.nu, c.ni);
	work = xmalloc(ws);
	memset(work, 0, ws);

	for (int it = 0; it < iters; it++)
	{
		rp_status	st;

		t0 = now();
		c0 = cpu_now();
		st = rp_als_iterate(&p, &ui, &iu, &m, work, ws, NULL, &loss);
		t0 = now() - t0;
		c0 = cpu_now() - c0;
		if (st != RP_OK)
		{
			fprintf(stderr, "iterate: %s\n", rp_status_text(st));
			return 1;
		}
		if (it > 0 || iters == 1)
		{
			tsum += t0;
			csum += c0;
			if (t0 < tmin)
				tmin = t0;
		}
	}
	getrusage(RUSAGE_SELF, &ru);

	/* serving: fold-in and explanation of a 20-item history, k as trained */
	{
		double	   *gram = xmalloc(sizeof(double) * p.factors * p.factors);
		void	   *fw = xmalloc(rp_als_foldin_workspace_size(&p));
		double	   *x = xmalloc(sizeof(double) * p.factors);
		int32_t		hist[20];
		double		hv[20],
					contrib[20],
					score;
		rp_rng		rng;
		int			reps = 2000;
		int			nh = c.ni < 20 ? c.ni : 20;

		rp_als_item_gram(&m, gram);
		rp_rng_seed(&rng, 9);
		t0 = now();
		for (int r = 0; r < reps; r++)
		{
			for (int j = 0; j < nh; j++)
			{
				hist[j] = (int32_t) ((j * (c.ni / nh)) + rp_rng_next(&rng) % (c.ni / nh));
				hv[j] = 1.0 + j % 3;
			}
			if (rp_als_fold_in(&p, &m, gram, nh, hist, hv, x, fw) != RP_OK)
				return 1;
		}
		foldin_us = (now() - t0) / reps * 1e6;
		t0 = now();
		for (int r = 0; r < reps; r++)
			if (rp_als_explain(&p, &m, gram, nh, hist, hv, r % c.ni, contrib,
							   &score, fw) != RP_OK)
				return 1;
		explain_us = (now() - t0) / reps * 1e6;
		free(gram);
		free(fw);
		free(x);
	}

	/*
	 * Cholesky flop count per iteration: per row SYRK + POTRF + POTRS, plus
	 * the Grams; chol_gflops is per thread (0 for CG runs)
	 */
	{
		double		k = p.factors;

		flops = 2.0 * ui.nnz * k * (k + 1) +
			(double) (c.nu + c.ni) * (k * k * k / 3.0 + 2.0 * k * k) +
			(double) (c.nu + c.ni) * k * (k + 1);
	}
	csr_bytes = 2.0 * (12.0 * ui.nnz) + 8.0 * (c.nu + c.ni + 2);
	factor_bytes = 8.0 * (c.nu + c.ni) * p.factors;
	printf("users=%d items=%d nnz=%lld factors=%d solver=%s threads=%d "
		   "sec_per_iter=%.4f min_sec=%.4f cpu_per_iter=%.4f loss=%.8g maxrss_mb=%.1f csr_mb=%.1f "
		   "factors_mb=%.1f work_mb=%.1f chol_gflops=%.2f foldin20_us=%.1f "
		   "explain20_us=%.1f",
		   c.nu, c.ni, (long long) ui.nnz, p.factors,
		   p.solver == RP_ALS_CG ? "cg" : "chol", p.threads,
		   tsum / (iters > 1 ? iters - 1 : 1), tmin,
		   csum / (iters > 1 ? iters - 1 : 1), loss, ru.ru_maxrss / 1024.0,
		   csr_bytes / 1048576.0, factor_bytes / 1048576.0, ws / 1048576.0,
		   p.solver == RP_ALS_CHOLESKY ?
		   flops / (tsum / (iters > 1 ? iters - 1 : 1)) / 1e9 / p.threads : 0.0,
		   foldin_us, explain_us);
	if (do_gemm)
		printf(" dgemm_gflops=%.2f", gemm_rate(1000));
	printf(" core=%s\n", rp_blas_corename());
	return 0;
}
