/*
 * rp_metrics.c
 *	  Ranking, catalogue and rating metrics (see rp_metrics.h).
 *
 * A list is walked once, tie group by tie group.  A group of m entries, r of
 * them relevant, starting at position a (1-based) has s = clamp(k - a + 1,
 * 0, m) positions within the cut-off.  Under a uniformly random order of the
 * group (McSherry and Najork 2008) each of its positions holds a relevant
 * entry with probability r / m, which gives the linear measures directly:
 *
 *	hits += r s / m;	DCG += (r / m) sum_{p = a}^{a + s - 1} 1 / log2(p + 1)
 *
 * Average precision needs E[rel(p) hits(<= p)] for the position p at offset
 * o inside the group; given rel(p), the o earlier positions of the group hold
 * on average o (r - 1) / (m - 1) of the other relevant entries, so with H
 * relevant entries in earlier groups
 *
 *	E[rel(p) hits(<= p)] = (r / m) (1 + H + o (r - 1) / (m - 1)).
 *
 * The first relevant position, in the first group holding one, is at offset
 * j with probability P_j = prod_{t < j} ((m - r - t) / (m - t)) * r / (m - j),
 * which gives the expected reciprocal rank; the probability of no relevant
 * entry among s positions of a straddling group is
 * prod_{t < s} (m - r - t) / (m - t), which gives the hit rate.  Without ties
 * (m = 1) every formula reduces to the usual definition.
 *
 * Sums run in a fixed order in double precision, so results are
 * reproducible; nothing here allocates or keeps state.
 */
#include "rp_metrics.h"

#include <math.h>
#include <string.h>

/* 1 / log2(1 + p) for a 1-based position p */
static inline double
discount(int64_t p)
{
	return 1.0 / log2((double) p + 1.0);
}

/*
 * Checks the list: sizes, finite ascending keys, 0/1 flags and at most
 * n_relevant relevant entries (when relevant is not NULL).
 */
static rp_status
check_list(int32_t k, int64_t n, const double *keys,
		   const unsigned char *relevant, int64_t n_relevant)
{
	int64_t		nrel = 0;

	if (k < 1 || n < 0 || (n > 0 && relevant == NULL && n_relevant >= 0))
		return RP_EINVAL;
	for (int64_t i = 0; i < n; i++)
	{
		if (keys != NULL)
		{
			if (!rp_finite(keys[i]))
				return RP_EINVAL;
			if (i > 0 && keys[i] < keys[i - 1])
				return RP_EINVAL;
		}
		if (relevant != NULL)
		{
			if (relevant[i] > 1)
				return RP_EINVAL;
			nrel += relevant[i];
		}
	}
	if (n_relevant >= 0 && (n_relevant < 1 || nrel > n_relevant))
		return RP_EINVAL;
	return RP_OK;
}

/* end (exclusive) of the tie group starting at i */
static inline int64_t
group_end(int64_t n, const double *keys, int64_t i)
{
	int64_t		j = i + 1;

	if (keys != NULL)
		while (j < n && keys[j] == keys[i])
			j++;
	return j;
}

rp_status
rp_rank_metrics_user(int32_t k, int64_t n, const double *keys,
					 const unsigned char *relevant, int64_t n_relevant,
					 rp_rank_metrics *out)
{
	rp_status	st;
	double		hits = 0.0,
				dcg = 0.0,
				idcg = 0.0,
				ap_sum = 0.0,
				hit = 0.0,
				rr = 0.0;
	double		before = 0.0;	/* relevant entries in earlier groups */
	int			seen_relevant_group = 0;
	int64_t		ideal;

	st = check_list(k, n, keys, relevant, n_relevant);
	if (st != RP_OK)
		return st;

	for (int64_t i = 0; i < n && i < k;)
	{
		int64_t		j = group_end(n, keys, i);
		double		m = (double) (j - i);
		int64_t		s = j - i;
		double		r = 0.0;
		double		q;

		if (s > k - i)
			s = k - i;
		for (int64_t t = i; t < j; t++)
			r += relevant[t];
		q = r / m;

		if (r > 0.0)
		{
			hits += r * (double) s / m;
			for (int64_t o = 0; o < s; o++)
			{
				int64_t		p = i + o + 1;
				double		within = m > 1.0 ? (double) o * (r - 1.0) / (m - 1.0) : 0.0;

				dcg += q * discount(p);
				ap_sum += q * (1.0 + before + within) / (double) p;
			}

			/* hit: certain if the whole group is inside the cut */
			if (hit < 1.0)
			{
				double		none = 1.0;

				for (int64_t t = 0; t < s; t++)
					none *= (m - r - (double) t) / (m - (double) t);
				if (none < 0.0)
					none = 0.0;
				hit = 1.0 - none;
			}

			/* reciprocal rank from the first group holding a relevant entry */
			if (!seen_relevant_group)
			{
				double		pfirst_none = 1.0;	/* first j offsets irrelevant */

				for (int64_t o = 0; o < s && (double) o <= m - r; o++)
				{
					rr += pfirst_none * r / (m - (double) o) / (double) (i + o + 1);
					pfirst_none *= (m - r - (double) o) / (m - (double) o);
				}
				seen_relevant_group = 1;
			}
		}
		before += r;
		i = j;
	}

	ideal = n_relevant < k ? n_relevant : k;
	for (int64_t p = 1; p <= ideal; p++)
		idcg += discount(p);

	out->hits = hits;
	out->precision = hits / (double) k;
	out->recall = hits / (double) n_relevant;
	out->f1 = 2.0 * hits / ((double) k + (double) n_relevant);
	out->ndcg = dcg / idcg;
	out->ap = ap_sum / (double) ideal;
	out->hit = hit;
	out->rr = rr;
	return RP_OK;
}

rp_status
rp_rank_weights(int32_t k, int64_t n, const double *keys, double *weights)
{
	rp_status	st = check_list(k, n, keys, NULL, -1);

	if (st != RP_OK)
		return st;
	for (int64_t i = 0; i < n;)
	{
		int64_t		j = group_end(n, keys, i);
		int64_t		s = j - i;
		double		w;

		if (s > k - i)
			s = k - i;
		if (s < 0)
			s = 0;
		w = (double) s / (double) (j - i);
		for (int64_t t = i; t < j; t++)
			weights[t] = w;
		i = j;
	}
	return RP_OK;
}

void
rp_metrics_acc_init(rp_metrics_acc *acc)
{
	memset(acc, 0, sizeof(*acc));
}

void
rp_metrics_acc_add(rp_metrics_acc *acc, const rp_rank_metrics *m)
{
	acc->users++;
	acc->sum.hits += m->hits;
	acc->sum.precision += m->precision;
	acc->sum.recall += m->recall;
	acc->sum.f1 += m->f1;
	acc->sum.ndcg += m->ndcg;
	acc->sum.ap += m->ap;
	acc->sum.hit += m->hit;
	acc->sum.rr += m->rr;
}

rp_status
rp_metrics_acc_mean(const rp_metrics_acc *acc, rp_rank_metrics *mean)
{
	double		u;

	if (acc->users < 1)
		return RP_EINVAL;
	u = (double) acc->users;
	mean->hits = acc->sum.hits / u;
	mean->precision = acc->sum.precision / u;
	mean->recall = acc->sum.recall / u;
	mean->f1 = acc->sum.f1 / u;
	mean->ndcg = acc->sum.ndcg / u;
	mean->ap = acc->sum.ap / u;
	mean->hit = acc->sum.hit / u;
	mean->rr = acc->sum.rr / u;
	return RP_OK;
}

rp_status
rp_catalogue_metrics_compute(int32_t n_items, const double *exposure,
							 const double *popularity,
							 rp_catalogue_metrics *out)
{
	int64_t		covered = 0;
	double		slots = 0.0,
				pop_slots = 0.0,
				pop_items = 0.0;

	if (n_items < 1)
		return RP_EINVAL;
	for (int32_t i = 0; i < n_items; i++)
	{
		if (!rp_finite(exposure[i]) || !rp_finite(popularity[i]) ||
			exposure[i] < 0.0 || popularity[i] < 0.0)
			return RP_ENUMERIC;
		if (exposure[i] > 0.0)
			covered++;
		slots += exposure[i];
		pop_slots += exposure[i] * popularity[i];
		pop_items += popularity[i];
	}
	out->coverage = (double) covered / (double) n_items;
	out->popularity_recommended = slots > 0.0 ? pop_slots / slots : 0.0;
	out->popularity_catalogue = pop_items / (double) n_items;
	out->popularity_bias = out->popularity_catalogue > 0.0 ?
		out->popularity_recommended / out->popularity_catalogue : NAN;
	return RP_OK;
}

void
rp_error_acc_init(rp_error_acc *acc)
{
	memset(acc, 0, sizeof(*acc));
}

rp_status
rp_error_acc_add(rp_error_acc *acc, double prediction, double truth)
{
	double		e = prediction - truth;

	if (!rp_finite(prediction) || !rp_finite(truth) || !rp_finite(e))
		return RP_ENUMERIC;
	acc->n++;
	acc->sum_sq += e * e;
	acc->sum_abs += fabs(e);
	return RP_OK;
}

rp_status
rp_error_acc_result(const rp_error_acc *acc, double *rmse, double *mae)
{
	if (acc->n < 1)
		return RP_EINVAL;
	*rmse = sqrt(acc->sum_sq / (double) acc->n);
	*mae = acc->sum_abs / (double) acc->n;
	return RP_OK;
}

double
rp_split_position(const char *user, size_t user_len, const char *item,
				  size_t item_len, int64_t seed)
{
	const uint64_t prime = UINT64_C(0x100000001b3);
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < user_len; i++)
		h = (h ^ (unsigned char) user[i]) * prime;
	h = (h ^ 0x00) * prime;		/* separator: "1","23" differs from "12","3" */
	for (size_t i = 0; i < item_len; i++)
		h = (h ^ (unsigned char) item[i]) * prime;
	h ^= (uint64_t) seed * UINT64_C(0x9E3779B97F4A7C15);
	h ^= h >> 30;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64_C(0x94d049bb133111eb);
	h ^= h >> 31;
	return (double) (h >> 11) * (1.0 / 9007199254740992.0);
}
