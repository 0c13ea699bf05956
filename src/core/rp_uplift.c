/*
 * rp_uplift.c
 *	  Qini/uplift curves, their areas, uplift@k and bootstrap intervals
 *	  (definitions and contracts in rp_uplift.h).
 *
 * References: N. Radcliffe, "Using control groups to target on predicted
 * lift", Direct Marketing Analytics Journal, 2007 (Qini curve and
 * coefficient); P. Rzepakowski and S. Jaroszewicz, "Decision trees for
 * uplift modeling with single and multiple treatments", Knowledge and
 * Information Systems 32, 2012 (uplift curve); B. Efron and R. Tibshirani,
 * "An Introduction to the Bootstrap", 1993, ch. 13 (percentile intervals).
 *
 * One pass over the ranked customers accumulates n_t, n_c, Y_t, Y_c; at the
 * end of each tie group the curves get a point and the trapezoid between
 * the previous point and this one is added to the areas.  A bootstrap
 * resample keeps the ranking (the scores do not change), so it is the same
 * pass with multiplicities: no re-sort, O(n) per replicate.
 */
#include "rp_uplift.h"
#include "rp_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct up_key
{
	double		s;
	int64_t		i;
} up_key;

static int
up_key_cmp(const void *a, const void *b)
{
	const up_key *x = a;
	const up_key *y = b;

	if (x->s > y->s)
		return -1;
	if (x->s < y->s)
		return 1;
	return (x->i > y->i) - (x->i < y->i);
}

size_t
rp_uplift_order_workspace(int64_t n)
{
	return sizeof(up_key) * (size_t) (n > 0 ? n : 1);
}

rp_status
rp_uplift_order(int64_t n, const double *score, int64_t *order, void *work)
{
	up_key	   *k = work;

	if (n < 0)
		return RP_EINVAL;
	for (int64_t i = 0; i < n; i++)
	{
		if (!rp_finite(score[i]))
			return RP_ENUMERIC;
		k[i].s = score[i];
		k[i].i = i;
	}
	qsort(k, (size_t) n, sizeof(up_key), up_key_cmp);
	for (int64_t i = 0; i < n; i++)
		order[i] = k[i].i;
	return RP_OK;
}

rp_status
rp_uplift_evaluate(int64_t n, const int64_t *order, const double *score,
				   const uint8_t *treated, const double *y,
				   const uint32_t *mult, double k_frac, int npoints,
				   double *fraction, double *qini, double *uplift,
				   rp_uplift_metrics *out)
{
	double		N = 0, Nt = 0, Yt_all = 0, Yc_all = 0;
	double		nt = 0, nc = 0, yt = 0, yc = 0;
	double		prev_phi = 0, prev_q = 0, prev_u = 0, prev_cnt = 0;
	double		area_q = 0, area_u = 0;
	double		q1;
	int			kdone = 0;
	int			next_pt = 1;

	if (n < 1 || !(k_frac > 0 && k_frac <= 1) || npoints < 0)
		return RP_EINVAL;
	for (int64_t i = 0; i < n; i++)
	{
		double		m = mult ? mult[i] : 1.0;

		N += m;
		if (treated[i])
		{
			Nt += m;
			Yt_all += m * y[i];
		}
		else
			Yc_all += m * y[i];
	}
	if (Nt <= 0 || Nt >= N)
		return RP_EINVAL;
	q1 = Yt_all / Nt - Yc_all / (N - Nt);
	out->ate = q1;
	out->n_treated = Nt;
	out->n_control = N - Nt;
	out->uplift_at_k = 0;

	for (int64_t r = 0; r < n; r++)
	{
		int64_t		i = order[r];
		double		m = mult ? mult[i] : 1.0;
		double		phi, q, u;

		if (treated[i])
		{
			nt += m;
			yt += m * y[i];
		}
		else
		{
			nc += m;
			yc += m * y[i];
		}
		/* points only at the end of a tie group */
		if (r + 1 < n && score[order[r + 1]] == score[i])
			continue;
		if (nt + nc == prev_cnt)
			continue;			/* group of zero multiplicity */
		prev_cnt = nt + nc;
		phi = (nt + nc) / N;
		q = nc > 0 ? (yt - yc * nt / nc) / Nt : 0.0;
		u = (nt > 0 && nc > 0) ? (yt / nt - yc / nc) * (nt + nc) / N : 0.0;
		area_q += 0.5 * (phi - prev_phi) * ((prev_q - prev_phi * q1) + (q - phi * q1));
		area_u += 0.5 * (phi - prev_phi) * (prev_u + u);
		if (!kdone && phi >= k_frac - 1e-12)
		{
			out->uplift_at_k = (nt > 0 && nc > 0) ? yt / nt - yc / nc : 0.0;
			kdone = 1;
		}
		/* sample the curves at j / npoints crossed by this segment */
		while (npoints > 0 && next_pt <= npoints &&
			   (double) next_pt / npoints <= phi + 1e-12)
		{
			double		f = (double) next_pt / npoints;
			double		a = phi > prev_phi ? (f - prev_phi) / (phi - prev_phi) : 1.0;

			if (a > 1)
				a = 1;
			fraction[next_pt - 1] = f;
			qini[next_pt - 1] = prev_q + a * (q - prev_q);
			uplift[next_pt - 1] = prev_u + a * (u - prev_u);
			next_pt++;
		}
		prev_phi = phi;
		prev_q = q;
		prev_u = u;
	}
	out->qini = area_q;
	out->auuc = area_u;
	return RP_OK;
}

/* SplitMix64 (Steele, Lea & Flood 2014), private to this file */
static uint64_t
up_next(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

size_t
rp_uplift_bootstrap_workspace(int64_t n, int n_boot)
{
	return sizeof(uint32_t) * (size_t) n +
		sizeof(double) * (size_t) RP_UPLIFT_NMETRICS * (size_t) n_boot;
}

rp_status
rp_uplift_bootstrap(int64_t n, const int64_t *order, const double *score,
					const uint8_t *treated, const double *y, double k_frac,
					int n_boot, uint64_t seed, double level, double *lo,
					double *hi, void *work, const rp_cancel *cancel)
{
	uint32_t   *mult = work;
	double	   *samples = (double *) (mult + n);
	uint64_t	rng = seed;

	if (n < 2 || n_boot < 2 || !(level > 0 && level < 1))
		return RP_EINVAL;
	for (int b = 0; b < n_boot; b++)
	{
		rp_uplift_metrics m;
		rp_status	st;
		int			tries = 0;

		if (rp_should_stop(cancel))
			return RP_ECANCELED;
		do
		{
			memset(mult, 0, sizeof(uint32_t) * (size_t) n);
			for (int64_t j = 0; j < n; j++)
			{
				/* multiply-shift maps 64 random bits to [0, n) */
				uint64_t	r = up_next(&rng);
				int64_t		pick = (int64_t) (((unsigned __int128) r * (uint64_t) n) >> 64);

				mult[pick]++;
			}
			st = rp_uplift_evaluate(n, order, score, treated, y, mult, k_frac,
									0, NULL, NULL, NULL, &m);
		} while (st == RP_EINVAL && ++tries < 100);
		if (st != RP_OK)
			return st;
		samples[0 * n_boot + b] = m.qini;
		samples[1 * n_boot + b] = m.auuc;
		samples[2 * n_boot + b] = m.uplift_at_k;
		samples[3 * n_boot + b] = m.ate;
	}
	for (int j = 0; j < RP_UPLIFT_NMETRICS; j++)
	{
		double	   *v = samples + (size_t) j * n_boot;

		rp_percentile_interval(v, n_boot, (1 - level) / 2, (1 + level) / 2, &lo[j], &hi[j]);
	}
	return RP_OK;
}
