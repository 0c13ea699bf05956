/*
 * rp_fair.c
 *	  Exposure measures and the greedy re-ranker (see rp_fair.h for the
 *	  formulas and references).
 *
 * The re-ranker keeps, per catalogue item, the largest similarity to any
 * item already in the list (maxsim), updated with one similarity row per
 * chosen item, so a list of n items costs n rows plus n passes over the
 * candidates.  The KL term of a candidate depends only on its category, so
 * each step computes it once per category (and once for "no category"),
 * over the categories the customer's distribution puts mass on.  Sums run
 * in a fixed order in double precision; ties between objectives go to the
 * candidate earlier in score order, so results are reproducible.
 */
#include "rp_fair.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CALIBRATION_ALPHA 0.01	/* Steck 2018: q~ = (1 - a) q + a p */
#define SHARE_EPS 1e-9			/* s * p computed in floating point */

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

rp_status
rp_gini(int32_t n, const double *x, double *sorted, double *out)
{
	double		sum = 0.0,
				acc = 0.0;

	if (n < 1)
		return RP_EINVAL;
	for (int32_t i = 0; i < n; i++)
	{
		if (!rp_finite(x[i]) || x[i] < 0.0)
			return RP_ENUMERIC;
		sorted[i] = x[i];
	}
	qsort(sorted, (size_t) n, sizeof(double), cmp_double);
	for (int32_t i = 0; i < n; i++)
	{
		sum += sorted[i];
		acc += (double) (2 * (int64_t) (i + 1) - n - 1) * sorted[i];
	}
	*out = sum > 0.0 ? acc / ((double) n * sum) : 0.0;
	return RP_OK;
}

/* popularity descending, then index ascending */
static inline int
before(const double *pop, int32_t a, int32_t b)
{
	return pop[a] > pop[b] || (pop[a] == pop[b] && a < b);
}

static void
sift_down(int32_t *h, int32_t start, int32_t end, const double *pop)
{
	int32_t		root = start;

	for (;;)
	{
		int32_t		child = 2 * root + 1;
		int32_t		swap = root;

		if (child > end)
			return;
		/* a max-heap under "after": the last element in order on top */
		if (before(pop, h[swap], h[child]))
			swap = child;
		if (child + 1 <= end && before(pop, h[swap], h[child + 1]))
			swap = child + 1;
		if (swap == root)
			return;
		{
			int32_t		t = h[root];

			h[root] = h[swap];
			h[swap] = t;
		}
		root = swap;
	}
}

rp_status
rp_popularity_head(int32_t n, const double *popularity, double head_share,
				   int32_t *order, unsigned char *head)
{
	int64_t		nhead;

	if (n < 1 || !(head_share >= 0.0 && head_share <= 1.0))
		return RP_EINVAL;
	for (int32_t i = 0; i < n; i++)
	{
		order[i] = i;
		head[i] = 0;
	}
	/* heapsort of the indices into popularity order (no allocation) */
	for (int32_t s = n / 2 - 1; s >= 0; s--)
		sift_down(order, s, n - 1, popularity);
	for (int32_t e = n - 1; e > 0; e--)
	{
		int32_t		t = order[0];

		order[0] = order[e];
		order[e] = t;
		sift_down(order, 0, e - 1, popularity);
	}
	nhead = (int64_t) ceil(head_share * (double) n - SHARE_EPS);
	if (nhead < 0)
		nhead = 0;
	for (int64_t r = 0; r < nhead && r < n; r++)
		head[order[r]] = 1;
	return RP_OK;
}

/* workspace layout */
typedef struct rerank_work
{
	double	   *maxsim;			/* n_items */
	double	   *row;			/* n_items */
	double	   *kl;				/* ncat + 1: KL if a candidate of cat c
								 * (index ncat: none) is added */
	int32_t    *per_cat;		/* ncat */
	unsigned char *taken;		/* n_cand */
} rerank_work;

#define ALIGN8(x) (((x) + 7) & ~(size_t) 7)

size_t
rp_rerank_workspace_size(const rp_rerank_input *in)
{
	size_t		ni = in->n_items > 0 ? (size_t) in->n_items : 1;
	size_t		nc = in->ncat > 0 ? (size_t) in->ncat : 0;

	return ALIGN8(2 * ni * sizeof(double)) + ALIGN8((nc + 1) * sizeof(double)) +
		ALIGN8((nc + 1) * sizeof(int32_t)) + ALIGN8((size_t) in->n_cand + 1);
}

/* KL(p || (1 - a) q + a p) with q = counts / total (0 when total = 0) */
static double
calibration_kl(const double *p, const int32_t *counts, int32_t ncat, double total)
{
	double		kl = 0.0;

	for (int32_t c = 0; c < ncat; c++)
	{
		double		q,
					qt;

		if (!(p[c] > 0.0))
			continue;
		q = total > 0.0 ? (double) counts[c] / total : 0.0;
		qt = (1.0 - CALIBRATION_ALPHA) * q + CALIBRATION_ALPHA * p[c];
		kl += p[c] * log(p[c] / qt);
	}
	return kl;
}

rp_status
rp_rerank_greedy(const rp_rerank_input *in, int32_t n, void *work, size_t work_size,
				 int32_t *pos, int32_t *count)
{
	rerank_work w;
	char	   *p = work;
	double		ld = in->diversity,
				lc = in->calibration,
				smin = INFINITY,
				smax = -INFINITY;
	int64_t		reachable = 0;
	int32_t		K,
				quota = 0,
				got = 0,
				listed_cat = 0;
	int			use_cal = lc > 0.0 && in->target != NULL && in->cat != NULL;
	int			use_share = in->min_share > 0.0 && in->group != NULL;
	int32_t		ncat = in->cat != NULL ? in->ncat : 0;

	*count = 0;
	if (n < 0 || in->n_cand < 0 || in->n_items < 0 || in->cap < 0 ||
		!(ld >= 0.0 && ld <= 1.0) || !(lc >= 0.0 && lc <= 1.0) ||
		ld + lc > 1.0 + SHARE_EPS || !(in->min_share >= 0.0 && in->min_share <= 1.0) ||
		(ld > 0.0 && in->sim == NULL) || work_size < rp_rerank_workspace_size(in))
		return RP_EINVAL;
	w.maxsim = (double *) p;
	w.row = w.maxsim + (in->n_items > 0 ? in->n_items : 1);
	p += ALIGN8(2 * (size_t) (in->n_items > 0 ? in->n_items : 1) * sizeof(double));
	w.kl = (double *) p;
	p += ALIGN8(((size_t) ncat + 1) * sizeof(double));
	w.per_cat = (int32_t *) p;
	p += ALIGN8(((size_t) ncat + 1) * sizeof(int32_t));
	w.taken = (unsigned char *) p;

	for (int32_t i = 0; i < in->n_items; i++)
		w.maxsim[i] = 0.0;
	for (int32_t c = 0; c <= ncat; c++)
		w.per_cat[c] = 0;
	for (int32_t j = 0; j < in->n_cand; j++)
	{
		int32_t		c = in->cat != NULL ? in->cat[in->cand[j]] : -1;

		w.taken[j] = 0;
		if (!rp_finite(in->score[j]))
			return RP_EINVAL;
		if (in->score[j] < smin)
			smin = in->score[j];
		if (in->score[j] > smax)
			smax = in->score[j];
		/* the list length does not depend on the order: count it */
		if (c < 0 || in->cap == 0)
			reachable++;
		else if (w.per_cat[c]++ < in->cap)
			reachable++;
	}
	for (int32_t c = 0; c <= ncat; c++)
		w.per_cat[c] = 0;
	K = (int32_t) (reachable < n ? reachable : n);
	if (use_share)
		quota = (int32_t) ceil(in->min_share * (double) K - SHARE_EPS);

	for (int32_t r = 0; r < K; r++)
	{
		int			forced = 0;
		int32_t		best = -1;
		double		best_obj = -INFINITY;

		if (use_cal)
		{
			for (int32_t c = 0; c < ncat; c++)
			{
				w.per_cat[c]++;
				w.kl[c] = calibration_kl(in->target, w.per_cat, ncat, (double) listed_cat + 1.0);
				w.per_cat[c]--;
			}
			w.kl[ncat] = calibration_kl(in->target, w.per_cat, ncat, (double) listed_cat);
		}
		if (use_share &&
			(got < (int32_t) floor(in->min_share * (double) (r + 1) + SHARE_EPS) ||
			 quota - got >= K - r))
		{
			/* restrict to the group when it has an admissible item left */
			for (int32_t j = 0; j < in->n_cand && !forced; j++)
			{
				int32_t		it = in->cand[j];
				int32_t		c = in->cat != NULL ? in->cat[it] : -1;

				if (!w.taken[j] && in->group[it] &&
					(c < 0 || in->cap == 0 || w.per_cat[c] < in->cap))
					forced = 1;
			}
		}
		for (int32_t j = 0; j < in->n_cand; j++)
		{
			int32_t		it = in->cand[j];
			int32_t		c = in->cat != NULL ? in->cat[it] : -1;
			double		rel,
						obj;

			if (w.taken[j] || (c >= 0 && in->cap > 0 && w.per_cat[c] >= in->cap))
				continue;
			if (forced && !in->group[it])
				continue;
			rel = smax > smin ? (in->score[j] - smin) / (smax - smin) : 1.0;
			obj = (1.0 - ld - lc) * rel;
			if (ld > 0.0)
				obj -= ld * w.maxsim[it];
			if (use_cal)
				obj -= lc * w.kl[c >= 0 ? c : ncat];
			if (best < 0 || obj > best_obj)
			{
				best = j;
				best_obj = obj;
			}
		}
		if (best < 0)
			break;				/* cannot happen: K counts admissible items */
		{
			int32_t		it = in->cand[best];
			int32_t		c = in->cat != NULL ? in->cat[it] : -1;

			w.taken[best] = 1;
			pos[(*count)++] = best;
			if (c >= 0)
			{
				w.per_cat[c]++;
				listed_cat++;
			}
			if (use_share && in->group[it])
				got++;
			if (ld > 0.0 && r + 1 < K)
			{
				in->sim(in->sim_arg, it, w.row);
				for (int32_t i = 0; i < in->n_items; i++)
					if (w.row[i] > w.maxsim[i] || *count == 1)
						w.maxsim[i] = w.row[i];
			}
		}
	}
	return RP_OK;
}
