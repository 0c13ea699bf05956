/*
 * rp_topk.c
 *	  Heap-based top-k selection (see rp_topk.h).
 *
 * A min-heap of the k best seen so far, whose root is the worst kept
 * entry; a candidate enters when it beats the root.  "Beats" is the total
 * order (score descending, index ascending), so results never depend on
 * scan order.  The heap is finally sorted best first in place.
 */
#include "rp_topk.h"

#include <math.h>

/* a is better than b */
static inline int
better(double sa, int32_t ia, double sb, int32_t ib)
{
	return sa > sb || (sa == sb && ia < ib);
}

static void
sift_down(int32_t *idx, double *sc, int32_t n, int32_t pos)
{
	for (;;)
	{
		int32_t		l = 2 * pos + 1;
		int32_t		r = l + 1;
		int32_t		w = pos;

		/* root holds the worst: pick the worse child */
		if (l < n && better(sc[w], idx[w], sc[l], idx[l]))
			w = l;
		if (r < n && better(sc[w], idx[w], sc[r], idx[r]))
			w = r;
		if (w == pos)
			return;
		{
			int32_t		ti = idx[w];
			double		ts = sc[w];

			idx[w] = idx[pos];
			sc[w] = sc[pos];
			idx[pos] = ti;
			sc[pos] = ts;
		}
		pos = w;
	}
}

static void
sift_up(int32_t *idx, double *sc, int32_t pos)
{
	while (pos > 0)
	{
		int32_t		p = (pos - 1) / 2;

		if (!better(sc[p], idx[p], sc[pos], idx[pos]))
			return;
		{
			int32_t		ti = idx[p];
			double		ts = sc[p];

			idx[p] = idx[pos];
			sc[p] = sc[pos];
			idx[pos] = ti;
			sc[pos] = ts;
		}
		pos = p;
	}
}

void
rp_topk_offer(int32_t *idx, double *sc, int32_t k, int32_t *m, double s, int32_t i)
{
	if (*m < k)
	{
		idx[*m] = i;
		sc[*m] = s;
		sift_up(idx, sc, *m);
		(*m)++;
	}
	else if (better(s, i, sc[0], idx[0]))
	{
		idx[0] = i;
		sc[0] = s;
		sift_down(idx, sc, k, 0);
	}
}

/* heap -> sorted best first */
void
rp_topk_finish(int32_t *idx, double *sc, int32_t m)
{
	for (int32_t end = m - 1; end > 0; end--)
	{
		int32_t		ti = idx[0];
		double		ts = sc[0];

		idx[0] = idx[end];
		sc[0] = sc[end];
		idx[end] = ti;
		sc[end] = ts;
		sift_down(idx, sc, end, 0);
	}
}

int32_t
rp_topk(const double *scores, int32_t n, const unsigned char *allowed,
		int32_t k, int32_t *out_idx, double *out_score)
{
	int32_t		m = 0;

	if (k <= 0)
		return 0;
	for (int32_t i = 0; i < n; i++)
	{
		double		s = scores[i];

		if (isnan(s) || s == -INFINITY || (allowed != NULL && !allowed[i]))
			continue;
		/* quick reject against the current worst */
		if (m == k && !better(s, i, out_score[0], out_idx[0]))
			continue;
		rp_topk_offer(out_idx, out_score, k, &m, s, i);
	}
	rp_topk_finish(out_idx, out_score, m);
	return m;
}

int32_t
rp_topk_subset(const double *scores, const int32_t *cand, int32_t ncand,
			   int32_t k, int32_t *out_idx, double *out_score)
{
	int32_t		m = 0;

	if (k <= 0)
		return 0;
	for (int32_t c = 0; c < ncand; c++)
	{
		int32_t		i = cand[c];
		double		s = scores[i];

		if (isnan(s) || s == -INFINITY)
			continue;
		rp_topk_offer(out_idx, out_score, k, &m, s, i);
	}
	rp_topk_finish(out_idx, out_score, m);
	return m;
}
