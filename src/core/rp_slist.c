/*
 * rp_slist.c
 *	  SLIST training and scoring (rp_slist.h has the model and the paper).
 *
 * Layout.  The Gram matrix G = alpha X'WX + (1 - alpha) S'WS + lambda I is
 * summed into the row-major upper triangle of B, as rp_ease.c does, and
 * inverted there by rp_ease_invert (LAPACK Cholesky); the right-hand side
 * C = alpha X'WX + (1 - alpha) S'WT, not symmetric, is summed in full into
 * the workspace.  Neither S nor T is ever built: each partial session's
 * source and target rows live in two per-item scratch vectors (with the
 * lists of the items they hold, cleared entry by entry afterwards), and
 * their outer products go straight into G and C.
 *
 * The product B = P C is computed by blocks of RP_SLIST_BLOCK rows: block
 * r of B needs only block r of P, so each block overwrites the rows of P
 * it was computed from and the memory stays at two n x n matrices.  The
 * diagonal bound (max_diagonal) needs (P C)_jj before that: it is the dot
 * product of row j of P with column j of C, computed first, and the
 * multipliers are subtracted from C's diagonal.
 *
 * Sums run in session order, then step order, so a fit is reproducible.
 */
#include "rp_slist.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "rp_blas.h"
#include "rp_ease.h"

/* ln(10^6): steps whose decay weight falls below 1e-6 are left out */
#define RP_SLIST_LN_CUTOFF 13.815510557964274

static size_t
AlignUp(size_t x)
{
	return (x + 15) & ~(size_t) 15;
}

size_t
rp_slist_work_bytes(int32_t n_items, int64_t max_events)
{
	size_t		n = n_items > 0 ? (size_t) n_items : 0;
	size_t		ev = max_events > 0 ? (size_t) max_events : 0;
	size_t		bs = n < RP_SLIST_BLOCK ? n : RP_SLIST_BLOCK;

	return AlignUp(n * n * sizeof(double))	/* C */
		+ AlignUp(bs * n * sizeof(double))	/* block of the product */
		+ AlignUp(n * sizeof(double)) * 2	/* source and target weights */
		+ AlignUp(n * sizeof(int32_t)) * 2	/* their item lists */
		+ AlignUp((ev + 1) * sizeof(int64_t)) + 16;	/* step offsets */
}

double
rp_slist_memory_bytes(int32_t n_items, int64_t max_events)
{
	return (double) n_items * (double) n_items * sizeof(double)
		+ (double) rp_slist_work_bytes(n_items, max_events);
}

rp_status
rp_slist_check(const rp_csr *seq)
{
	if (seq->n_rows < 0 || seq->n_cols < 0 || seq->indptr[0] != 0 ||
		seq->indptr[seq->n_rows] != seq->nnz)
		return RP_EINVAL;
	for (int32_t s = 0; s < seq->n_rows; s++)
	{
		if (seq->indptr[s + 1] < seq->indptr[s])
			return RP_EINVAL;
		for (int64_t q = seq->indptr[s]; q < seq->indptr[s + 1]; q++)
		{
			if (seq->indices[q] < 0 || seq->indices[q] >= seq->n_cols ||
				!rp_finite(seq->values[q]))
				return RP_EINVAL;
			if (q > seq->indptr[s] && seq->values[q] < seq->values[q - 1])
				return RP_EINVAL;
		}
	}
	return RP_OK;
}

static int
ParamsValid(const rp_slist_params *p)
{
	return p->alpha >= 0.0 && p->alpha <= 1.0 &&
		p->lambda > 0.0 && rp_finite(p->lambda) &&
		p->pos_decay > 0.0 && rp_finite(p->pos_decay) &&
		p->time_decay >= 0.0 && rp_finite(p->time_decay) &&
		(!p->bound_diagonal || rp_finite(p->max_diagonal));
}

/* G[min(i,j), max(i,j)] += v: the upper triangle of the row-major buffer */
static inline void
AddSym(double *G, size_t n, int32_t i, int32_t j, double v)
{
	if (i <= j)
		G[(size_t) i * n + j] += v;
	else
		G[(size_t) j * n + i] += v;
}

/*
 * Collects the items of steps [from, to] (walking from `first` towards
 * `last`, one of them equal to the anchor step t) with weight
 * exp(-|k - t| / decay) into w / list, the first sighting of an item (the
 * nearest step) keeping its weight.  Returns the new list length.
 */
static int32_t
Collect(const rp_csr *seq, const int64_t *step, int64_t t, int64_t first, int64_t last,
		double decay, double *w, int32_t *list, int32_t nlist)
{
	int64_t		dir = last >= first ? 1 : -1;

	for (int64_t k = first;; k += dir)
	{
		double		wk = exp(-(double) (k > t ? k - t : t - k) / decay);

		for (int64_t q = step[k]; q < step[k + 1]; q++)
		{
			int32_t		i = seq->indices[q];

			if (w[i] == 0.0)
			{
				w[i] = wk;
				list[nlist++] = i;
			}
		}
		if (k == last)
			break;
	}
	return nlist;
}

rp_status
rp_slist_fit(const rp_csr *seq, const rp_slist_params *p, double *B, void *work,
			 const rp_cancel *cancel)
{
	int32_t		n = seq->n_cols;
	size_t		nn;
	size_t		bs;
	int64_t		max_events = 0;
	int64_t		D;
	double		tmax = -INFINITY;
	double	   *C;
	double	   *blk;
	double	   *sw;
	double	   *tw;
	int32_t    *sl;
	int32_t    *tl;
	int64_t    *step;
	char	   *wp = work;
	rp_status	st;

	if (!ParamsValid(p) || rp_slist_check(seq) != RP_OK)
		return RP_EINVAL;
	if ((double) n * (double) n > (double) INT_MAX * 8.0)
		return RP_ELIMIT;
	if (n == 0)
		return RP_OK;
	nn = (size_t) n * (size_t) n;
	bs = n < RP_SLIST_BLOCK ? (size_t) n : RP_SLIST_BLOCK;
	for (int32_t s = 0; s < seq->n_rows; s++)
	{
		int64_t		len = seq->indptr[s + 1] - seq->indptr[s];

		if (len > max_events)
			max_events = len;
		if (len > 0 && seq->values[seq->indptr[s + 1] - 1] > tmax)
			tmax = seq->values[seq->indptr[s + 1] - 1];
	}
	D = (int64_t) floor(p->pos_decay * RP_SLIST_LN_CUTOFF);

	C = (double *) wp;
	wp += AlignUp(nn * sizeof(double));
	blk = (double *) wp;
	wp += AlignUp(bs * n * sizeof(double));
	sw = (double *) wp;
	wp += AlignUp((size_t) n * sizeof(double));
	tw = (double *) wp;
	wp += AlignUp((size_t) n * sizeof(double));
	sl = (int32_t *) wp;
	wp += AlignUp((size_t) n * sizeof(int32_t));
	tl = (int32_t *) wp;
	wp += AlignUp((size_t) n * sizeof(int32_t));
	step = (int64_t *) wp;

	memset(B, 0, nn * sizeof(double));
	memset(C, 0, nn * sizeof(double));
	memset(sw, 0, (size_t) n * sizeof(double));
	memset(tw, 0, (size_t) n * sizeof(double));

	for (int32_t s = 0; s < seq->n_rows; s++)
	{
		int64_t		b = seq->indptr[s];
		int64_t		e = seq->indptr[s + 1];
		double		ws;
		int64_t		nsteps = 0;
		int32_t		ns;

		if ((s & 63) == 0 && rp_should_stop(cancel))
			return RP_ECANCELED;
		if (e == b)
			continue;
		ws = p->time_decay > 0.0 ? exp(-(tmax - seq->values[e - 1]) / p->time_decay) : 1.0;

		/* steps: runs of equal times */
		for (int64_t q = b; q < e; q++)
			if (q == b || seq->values[q] != seq->values[q - 1])
				step[nsteps++] = q;
		step[nsteps] = e;

		/* the session-level part: the session's distinct items, weight 1 */
		if (p->alpha > 0.0)
		{
			double		c = p->alpha * ws;

			ns = Collect(seq, step, 0, 0, nsteps - 1, INFINITY, sw, sl, 0);
			for (int32_t a = 0; a < ns; a++)
			{
				int32_t		i = sl[a];
				double	   *crow = C + (size_t) i * n;

				for (int32_t z = a; z < ns; z++)
					AddSym(B, (size_t) n, i, sl[z], c);
				for (int32_t z = 0; z < ns; z++)
					crow[sl[z]] += c;
			}
			for (int32_t a = 0; a < ns; a++)
				sw[sl[a]] = 0.0;
		}

		/* the transition part: one partial session per step but the last */
		if (p->alpha < 1.0)
		{
			double		c = (1.0 - p->alpha) * ws;

			for (int64_t t = 0; t + 1 < nsteps; t++)
			{
				int64_t		lo = t - D < 0 ? 0 : t - D;
				int64_t		hi = t + D > nsteps - 1 ? nsteps - 1 : t + D;
				int32_t		nt;

				ns = Collect(seq, step, t, t, lo, p->pos_decay, sw, sl, 0);
				nt = hi > t ? Collect(seq, step, t, t + 1, hi, p->pos_decay, tw, tl, 0) : 0;
				for (int32_t a = 0; a < ns; a++)
				{
					int32_t		i = sl[a];
					double		vi = c * sw[i];
					double	   *crow = C + (size_t) i * n;

					for (int32_t z = a; z < ns; z++)
						AddSym(B, (size_t) n, i, sl[z], vi * sw[sl[z]]);
					for (int32_t z = 0; z < nt; z++)
						crow[tl[z]] += vi * tw[tl[z]];
				}
				for (int32_t a = 0; a < ns; a++)
					sw[sl[a]] = 0.0;
				for (int32_t z = 0; z < nt; z++)
					tw[tl[z]] = 0.0;
			}
		}
	}
	for (int32_t i = 0; i < n; i++)
		B[(size_t) i * n + i] += p->lambda;

	/* P = G^-1, in B */
	st = rp_ease_invert(B, n, cancel);
	if (st != RP_OK)
		return st;

	/* the diagonal bound: mu_j from (P C)_jj, taken off C's diagonal */
	if (p->bound_diagonal)
		for (int32_t j = 0; j < n; j++)
		{
			const double *prow = B + (size_t) j * n;
			double		pjj = prow[j];
			double		d = 0.0;

			if (!(pjj > 0.0) || !rp_finite(pjj))
				return RP_ENUMERIC;
			for (int32_t k = 0; k < n; k++)
				d += prow[k] * C[(size_t) k * n + j];
			if (d > p->max_diagonal)
				C[(size_t) j * n + j] -= (d - p->max_diagonal) / pjj;
		}

	/* B = P C by row blocks, each overwriting the rows of P it used */
	for (size_t r0 = 0; r0 < (size_t) n; r0 += bs)
	{
		size_t		rows = (size_t) n - r0 < bs ? (size_t) n - r0 : bs;

		if (rp_should_stop(cancel))
			return RP_ECANCELED;
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) rows, (int) n, (int) n,
					1.0, B + r0 * n, (int) n, C, (int) n, 0.0, blk, (int) n);
		memcpy(B + r0 * n, blk, rows * n * sizeof(double));
	}
	for (size_t q = 0; q < nn; q++)
		if (!rp_finite(B[q]))
			return RP_ENUMERIC;
	return RP_OK;
}

void
rp_slist_score(const double *B, int32_t n, const int32_t *hist, const double *w,
			   int32_t nhist, double *scores)
{
	memset(scores, 0, (size_t) n * sizeof(double));
	for (int32_t h = 0; h < nhist; h++)
	{
		const double *row;
		double		wh = w[h];

		if (hist[h] < 0 || hist[h] >= n)
			continue;
		row = B + (size_t) hist[h] * n;
		for (int32_t j = 0; j < n; j++)
			scores[j] += wh * row[j];
	}
}
