/*
 * als_driver.c
 *	  Runs the C ALS core on a problem written by test_als_reference.py.
 *
 *	  als_driver IN OUT
 *
 * IN (little-endian): int32 method, solver, factors, cg_steps, iterations,
 * threads, init_given, n_users, n_items; int64 n; float64 regularization,
 * alpha; uint64 seed; int32 users[n]; int32 items[n]; float64 values[n];
 * then, when init_given, float64 user factors (n_users x dim) and item
 * factors (n_items x dim), dim = factors (implicit) or factors + 2.
 * OUT: float64 loss[iterations], global mean, user factors, item factors.
 * The exit status is the rp_status of the first failing call (0 = ok).
 * Duplicated (user, item) pairs are summed, as in training.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_als.h"
#include "rp_blas.h"
#include "rp_csr.h"

static void
rd(void *p, size_t size, size_t n, FILE *f)
{
	if (n > 0 && fread(p, size, n, f) != n)
	{
		fprintf(stderr, "als_driver: short input\n");
		exit(100);
	}
}

static void *
xm(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
		exit(101);
	return p;
}

int
main(int argc, char **argv)
{
	int32_t		hdr[9];
	int64_t		n;
	double		reg_alpha[2];
	uint64_t	seed;
	rp_als_params p;
	rp_als_model m;
	rp_csr		ui,
				iu;
	int32_t    *us,
			   *is;
	double	   *vs;
	double	   *loss;
	void	   *work;
	size_t		ws;
	int			dim;
	rp_status	st;
	FILE	   *in,
			   *out;

	if (argc != 3 || (in = fopen(argv[1], "rb")) == NULL)
		return 100;
	rd(hdr, 4, 9, in);
	rd(&n, 8, 1, in);
	rd(reg_alpha, 8, 2, in);
	rd(&seed, 8, 1, in);
	memset(&p, 0, sizeof(p));
	p.method = (rp_als_method) hdr[0];
	p.solver = (rp_als_solver) hdr[1];
	p.factors = hdr[2];
	p.cg_steps = hdr[3];
	p.threads = hdr[5];
	p.regularization = reg_alpha[0];
	p.alpha = reg_alpha[1];
	p.compute_loss = 1;
	dim = rp_als_dim(&p);

	us = xm(4 * n);
	is = xm(4 * n);
	vs = xm(8 * n);
	rd(us, 4, n, in);
	rd(is, 4, n, in);
	rd(vs, 8, n, in);

	openblas_set_num_threads(1);
	ui.indptr = xm(8 * ((size_t) hdr[7] + 1));
	ui.indices = xm(4 * n);
	ui.values = xm(8 * n);
	iu.indptr = xm(8 * ((size_t) hdr[8] + 1));
	iu.indices = xm(4 * n);
	iu.values = xm(8 * n);
	{
		void	   *w = xm(rp_csr_from_coo_workspace(hdr[7]));

		st = rp_csr_from_coo(hdr[7], hdr[8], n, us, is, vs, &ui, w);
		free(w);
		if (st != RP_OK)
			return st;
	}
	rp_csr_transpose(&ui, &iu);
	if ((st = rp_als_check(&p, &ui, &iu)) != RP_OK)
		return st;

	m.user_factors = xm(sizeof(double) * hdr[7] * dim);
	m.item_factors = xm(sizeof(double) * hdr[8] * dim);
	if (hdr[6])
	{
		rd(m.user_factors, 8, (size_t) hdr[7] * dim, in);
		rd(m.item_factors, 8, (size_t) hdr[8] * dim, in);
		st = rp_als_init_given(&p, &ui, &m);
	}
	else
		st = rp_als_init(&p, &ui, seed, &m);
	fclose(in);
	if (st != RP_OK)
		return st;

	ws = rp_als_workspace_size(&p, hdr[7], hdr[8]);
	work = xm(ws);
	loss = xm(sizeof(double) * (hdr[4] + 1));
	for (int it = 0; it < hdr[4]; it++)
		if ((st = rp_als_iterate(&p, &ui, &iu, &m, work, ws, NULL,
								 &loss[it])) != RP_OK)
			return st;

	if ((out = fopen(argv[2], "wb")) == NULL)
		return 100;
	fwrite(loss, 8, hdr[4], out);
	fwrite(&m.global_mean, 8, 1, out);
	fwrite(m.user_factors, 8, (size_t) hdr[7] * dim, out);
	fwrite(m.item_factors, 8, (size_t) hdr[8] * dim, out);
	fclose(out);
	return 0;
}
