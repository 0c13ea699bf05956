/*
 * test_slist.c
 *	  SLIST (rp_slist.c): a transition worked by hand, steps of equal times,
 *	  the window of pos_decay, time weights, the diagonal bound (alpha = 1,
 *	  max_diagonal = 0 is EASE on 0/1 data), scoring, bad arguments and
 *	  cancel.
 */
#include "unit.h"
#include "rp_ease.h"
#include "rp_slist.h"

#include <stdlib.h>
#include <string.h>

/* sessions from (session, item, time) triples sorted by session then time */
static void
make_seq(const int *trip, int n_ev, int32_t n_sess, int32_t n_items, rp_csr *m)
{
	m->n_rows = n_sess;
	m->n_cols = n_items;
	m->nnz = n_ev;
	m->indptr = calloc(n_sess + 1, sizeof(int64_t));
	m->indices = malloc((n_ev + 1) * sizeof(int32_t));
	m->values = malloc((n_ev + 1) * sizeof(double));
	for (int e = 0; e < n_ev; e++)
	{
		m->indptr[trip[3 * e] + 1]++;
		m->indices[e] = trip[3 * e + 1];
		m->values[e] = trip[3 * e + 2];
	}
	for (int32_t s = 0; s < n_sess; s++)
		m->indptr[s + 1] += m->indptr[s];
}

static void
free_seq(rp_csr *m)
{
	free(m->indptr);
	free(m->indices);
	free(m->values);
}

static rp_status
fit(const rp_csr *seq, const rp_slist_params *p, double *B, const rp_cancel *c)
{
	int64_t		mx = 0;
	void	   *work;
	rp_status	st;

	for (int32_t s = 0; s < seq->n_rows; s++)
		if (seq->indptr[s + 1] - seq->indptr[s] > mx)
			mx = seq->indptr[s + 1] - seq->indptr[s];
	work = malloc(rp_slist_work_bytes(seq->n_cols, mx));
	st = rp_slist_fit(seq, p, B, work, c);
	free(work);
	return st;
}

static rp_slist_params
params(double alpha, double lambda, double pos_decay)
{
	rp_slist_params p;

	memset(&p, 0, sizeof(p));
	p.alpha = alpha;
	p.lambda = lambda;
	p.pos_decay = pos_decay;
	return p;
}

/*
 * One session: item 0 at time 1, item 1 at time 2; alpha 0, lambda 1,
 * pos_decay 1.  One partial session: S = (1, 0), T = (0, e^-1).
 * G = diag(2, 1), C = [[0, e^-1], [0, 0]], B = P C = [[0, e^-1 / 2], [0, 0]].
 */
static void
test_transition_by_hand(void)
{
	int			ev[] = {0, 0, 1, 0, 1, 2};
	rp_csr		seq;
	rp_slist_params p = params(0.0, 1.0, 1.0);
	double		B[4];

	make_seq(ev, 2, 1, 2, &seq);
	CHECK(fit(&seq, &p, B, NULL) == RP_OK);
	CHECK_NEAR(B[0], 0.0, 1e-15);
	CHECK_NEAR(B[1], exp(-1.0) / 2.0, 1e-15);
	CHECK_NEAR(B[2], 0.0, 1e-15);
	CHECK_NEAR(B[3], 0.0, 1e-15);

	/* the same time for both: one step, no partial session, B = 0 */
	seq.values[1] = 1.0;
	CHECK(fit(&seq, &p, B, NULL) == RP_OK);
	for (int q = 0; q < 4; q++)
		CHECK_NEAR(B[q], 0.0, 1e-15);
	free_seq(&seq);
}

/*
 * Items 0, 1, 2 at steps 0, 1, 2; pos_decay 0.1: the window is
 * floor(0.1 * ln 1e6) = 1 step, so step 0 never reaches step 2.
 * Partial sessions: t=0: S = (1,0,0), T = (0,e^-10,0); t=1: S = (0,1,0)
 * (step 0 is 1 step back: weight e^-10, inside the window), T = (0,0,e^-10).
 */
static void
test_window(void)
{
	int			ev[] = {0, 0, 0, 0, 1, 1, 0, 2, 2};
	rp_csr		seq;
	rp_slist_params p = params(0.0, 1.0, 0.1);
	double		B[9];
	double		e = exp(-10.0);

	make_seq(ev, 3, 1, 3, &seq);
	CHECK(fit(&seq, &p, B, NULL) == RP_OK);
	/*
	 * G = S'S + I: rows S_0 = (1,0,0), S_1 = (e,1,0) -> G = [[2+e^2, e, 0],
	 * [e, 2, 0], [0, 0, 1]]; C = S'T: S_0' T_0 puts e at (0,1); S_1' T_1
	 * puts e*e at (0,2) and e at (1,2).  B_02 = (P C)_02: with item 2
	 * uncoupled, check B's third row is 0 and B_20 = 0, and that (0,2)
	 * carries weight only through step 1.
	 */
	{
		double		g00 = 2.0 + e * e,
					g01 = e,
					g11 = 2.0;
		double		det = g00 * g11 - g01 * g01;
		double		p00 = g11 / det,
					p01 = -g01 / det,
					p11 = g00 / det;

		CHECK_NEAR(B[0 * 3 + 1], p00 * e, 1e-14);
		CHECK_NEAR(B[1 * 3 + 1], p01 * e, 1e-14);
		CHECK_NEAR(B[0 * 3 + 2], p00 * e * e + p01 * e, 1e-14);
		CHECK_NEAR(B[1 * 3 + 2], p01 * e * e + p11 * e, 1e-14);
		CHECK_NEAR(B[2 * 3 + 0], 0.0, 1e-15);
		CHECK_NEAR(B[2 * 3 + 2], 0.0, 1e-15);
	}
	free_seq(&seq);
}

/* alpha 1, max_diagonal 0 is EASE on 0/1 interactions */
static void
test_ease_limit(void)
{
	enum
	{
		S = 30, N = 8
	};
	int			ev[S * 4 * 3];
	int			n_ev = 0;
	double		dense[S * N];
	rp_csr		seq;
	rp_csr		X;
	double		B[N * N];
	double		E[N * N];
	double		work[N];
	rp_slist_params p = params(1.0, 2.0, 1.0);
	int64_t		nnz = 0;

	memset(dense, 0, sizeof(dense));
	for (int s = 0; s < S; s++)
		for (int k = 0; k < 4; k++)
		{
			int			i = (s * 3 + k * k + s / 7) % N;

			ev[3 * n_ev] = s;
			ev[3 * n_ev + 1] = i;
			ev[3 * n_ev + 2] = k / 2;	/* steps of two events */
			n_ev++;
			dense[s * N + i] = 1.0;
		}
	make_seq(ev, n_ev, S, N, &seq);
	p.bound_diagonal = true;
	p.max_diagonal = 0.0;
	CHECK(fit(&seq, &p, B, NULL) == RP_OK);

	X.n_rows = S;
	X.n_cols = N;
	X.indptr = calloc(S + 1, sizeof(int64_t));
	X.indices = malloc(S * N * sizeof(int32_t));
	X.values = malloc(S * N * sizeof(double));
	for (int s = 0; s < S; s++)
	{
		for (int i = 0; i < N; i++)
			if (dense[s * N + i] != 0.0)
			{
				X.indices[nnz] = i;
				X.values[nnz++] = 1.0;
			}
		X.indptr[s + 1] = nnz;
	}
	X.nnz = nnz;
	CHECK(rp_ease_fit(&X, 2.0, E, work, NULL) == RP_OK);
	for (int q = 0; q < N * N; q++)
		CHECK_NEAR(B[q], E[q], 1e-12);

	/* time weights: with every session at the same time, no change */
	p.time_decay = 5.0;
	for (int64_t e = 0; e < seq.nnz; e++)
		seq.values[e] = 7.0;
	CHECK(fit(&seq, &p, B, NULL) == RP_OK);
	for (int q = 0; q < N * N; q++)
		CHECK_NEAR(B[q], E[q], 1e-12);
	free(X.indptr);
	free(X.indices);
	free(X.values);
	free_seq(&seq);
}

/* a bounded diagonal never exceeds the bound; a free one may */
static void
test_diagonal_bound(void)
{
	int			ev[] = {0, 0, 1, 0, 1, 2, 0, 0, 3, 1, 0, 1, 1, 0, 2, 1, 1, 3};
	rp_csr		seq;
	rp_slist_params p = params(0.5, 0.5, 1.0);
	double		B[4];

	make_seq(ev, 6, 2, 2, &seq);
	CHECK(fit(&seq, &p, B, NULL) == RP_OK);
	CHECK(B[0] > 0.1);
	p.bound_diagonal = true;
	p.max_diagonal = 0.1;
	CHECK(fit(&seq, &p, B, NULL) == RP_OK);
	CHECK(B[0] <= 0.1 + 1e-12);
	CHECK(B[3] <= 0.1 + 1e-12);
	free_seq(&seq);
}

static void
test_score(void)
{
	double		B[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	int32_t		hist[] = {0, 2, 5};
	double		w[] = {0.5, 1.0, 9.0};
	double		sc[3];

	rp_slist_score(B, 3, hist, w, 3, sc);
	CHECK_NEAR(sc[0], 0.5 + 7.0, 1e-15);
	CHECK_NEAR(sc[1], 1.0 + 8.0, 1e-15);
	CHECK_NEAR(sc[2], 1.5 + 9.0, 1e-15);
}

static int
stop_now(void *arg)
{
	return 1;
}

static void
test_bad_input(void)
{
	int			ev[] = {0, 0, 2, 0, 1, 1};
	rp_csr		seq;
	rp_slist_params p = params(0.5, 1.0, 1.0);
	double		B[4];
	rp_cancel	c = {stop_now, NULL};

	make_seq(ev, 2, 1, 2, &seq);
	/* times decreasing along the session */
	CHECK(rp_slist_check(&seq) == RP_EINVAL);
	CHECK(fit(&seq, &p, B, NULL) == RP_EINVAL);
	seq.values[0] = 0.0;
	CHECK(rp_slist_check(&seq) == RP_OK);
	seq.indices[1] = 2;
	CHECK(rp_slist_check(&seq) == RP_EINVAL);
	seq.indices[1] = 1;
	seq.values[1] = NAN;
	CHECK(rp_slist_check(&seq) == RP_EINVAL);
	seq.values[1] = 1.0;
	p.alpha = 1.5;
	CHECK(fit(&seq, &p, B, NULL) == RP_EINVAL);
	p = params(0.5, 0.0, 1.0);
	CHECK(fit(&seq, &p, B, NULL) == RP_EINVAL);
	p = params(0.5, 1.0, 0.0);
	CHECK(fit(&seq, &p, B, NULL) == RP_EINVAL);
	p = params(0.5, 1.0, 1.0);
	p.time_decay = -1.0;
	CHECK(fit(&seq, &p, B, NULL) == RP_EINVAL);
	p = params(0.5, 1.0, 1.0);
	CHECK(fit(&seq, &p, B, &c) == RP_ECANCELED);
	CHECK(fit(&seq, &p, B, NULL) == RP_OK);
	free_seq(&seq);
}

int
main(void)
{
	RUN(test_transition_by_hand);
	RUN(test_window);
	RUN(test_ease_limit);
	RUN(test_diagonal_bound);
	RUN(test_score);
	RUN(test_bad_input);
	UNIT_DONE();
}
