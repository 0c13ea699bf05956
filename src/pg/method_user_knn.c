/*
 * method_user_knn.c
 *	  The `user_knn` method: user-based collaborative filtering computed at
 *	  query time from the stored interactions.
 *
 * This is the classic neighbourhood pipeline (Resnick et al. 1994; Herlocker
 * et al. 1999) done without a dense user x item matrix:
 *	- sim(u, v) = cos(r_u, r_v) = r_u . r_v / (|r_u| |r_v|), the dot products
 *	  of one user against all others accumulated through the item -> users
 *	  lists (cost: the interactions of the users who share an item with u);
 *	  with shrink > 0 each similarity is multiplied by n_uv / (n_uv + shrink),
 *	  n_uv the number of co-rated items (Koren 2008), which discounts
 *	  similarities resting on one or two shared items;
 *	- the N = neighbours most similar users (ties by lower index) form the
 *	  neighbourhood; score(u, i) = sum_v sim(u,v) r_vi / sum_v |sim(u,v)|, the
 *	  similarity-weighted mean of the neighbours' ratings with a missing
 *	  rating counted as 0;
 *	- similar_items uses the same cosine between item columns;
 *	- explain: since r_u . r_v = sum_j r_uj r_vj, the score splits exactly
 *	  over the user's history items j: contrib_j = sum_v w_v r_uj r_vj r_vi /
 *	  (|r_u| |r_v| S) with w_v the shrink factor and S = sum |sim|.
 * A new user's vector comes from the live table (fold-in), so a customer who
 * signed up after training gets neighbours from their first purchase.
 */
#include "postgres.h"

#include "miscadmin.h"

#include <math.h>

#include "method.h"
#include "recpromo.h"
#include "rp_topk.h"

typedef struct UserKnnState
{
	rp_csr		T;				/* items x users (the seen matrix transposed) */
	double	   *user_norm;
	double	   *item_norm;
	int32		neighbours;
	double		shrink;
} UserKnnState;

static void
UserKnnTrain(RecpromoTrainState *ts)
{
	RecpromoParamInt(ts, "neighbours", 20, 1, 100000);
	RecpromoParamFloat(ts, "shrink", 0.0, 0.0, 1e9);
	/* nothing to fit: neighbourhoods are computed at query time */
}

static void
UserKnnLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	UserKnnState *st = palloc(sizeof(UserKnnState));
	const rp_csr *R = &m->seen;

	st->T.indptr = palloc_extended(((Size) R->n_cols + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	st->T.indices = palloc_extended(Max((Size) R->nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	st->T.values = palloc_extended(Max((Size) R->nnz, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_csr_transpose(R, &st->T), "loading the model");
	st->user_norm = palloc_extended(Max((Size) R->n_rows, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	st->item_norm = palloc_extended(Max((Size) R->n_cols, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	rp_csr_row_norms(R, st->user_norm);
	rp_csr_row_norms(&st->T, st->item_norm);
	st->neighbours = (int32) RecpromoModelParamFloat(m, "neighbours", 20);
	st->shrink = RecpromoModelParamFloat(m, "shrink", 0.0);
	m->state = st;
}

/*
 * sims[v] = shrunk cosine of the history vector with every user v; the
 * user u itself (u >= 0) gets -INFINITY so it is never its own neighbour.
 */
static void
UserSims(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
		 int32 nhist, double *sims)
{
	const UserKnnState *st = m->state;
	double		qn = 0.0;

	memset(sims, 0, (Size) m->users.n * sizeof(double));
	for (int32 k = 0; k < nhist; k++)
		qn += vals[k] * vals[k];
	qn = sqrt(qn);
	rp_csr_spmv_sparse(&st->T, hist, vals, nhist, sims);
	if (st->shrink > 0)
	{
		/* co-rated counts: the same traversal with unit values */
		double	   *cnt = palloc0((Size) m->users.n * sizeof(double));
		double	   *ones = palloc(Max(nhist, 1) * sizeof(double));

		for (int32 k = 0; k < nhist; k++)
			ones[k] = 1.0;
		for (int32 k = 0; k < nhist; k++)
			for (int64 p = st->T.indptr[hist[k]]; p < st->T.indptr[hist[k] + 1]; p++)
				cnt[st->T.indices[p]] += 1.0;
		for (int32 v = 0; v < m->users.n; v++)
			if (cnt[v] > 0)
				sims[v] *= cnt[v] / (cnt[v] + st->shrink);
		pfree(cnt);
		pfree(ones);
	}
	for (int32 v = 0; v < m->users.n; v++)
	{
		double		d = qn * st->user_norm[v];

		/* a zero vector has similarity 0 with everything */
		sims[v] = d > 0 ? sims[v] / d : 0.0;
	}
	if (u >= 0)
		sims[u] = -INFINITY;
}

/* The neighbourhood: top `neighbours` users with positive similarity. */
static int32
Neighbours(const RecpromoModel *m, const double *sims, int32 *nb, double *nbs)
{
	const UserKnnState *st = m->state;
	int32		k = rp_topk(sims, m->users.n, NULL, st->neighbours, nb, nbs);

	while (k > 0 && nbs[k - 1] <= 0)
		k--;
	return k;
}

static void
UserKnnScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			 int32 nhist, double *scores)
{
	const UserKnnState *st = m->state;
	double	   *sims = palloc_extended((Size) Max(m->users.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	int32	   *nb = palloc(st->neighbours * sizeof(int32));
	double	   *nbs = palloc(st->neighbours * sizeof(double));
	int32		k;
	double		total = 0.0;

	UserSims(m, u, hist, vals, nhist, sims);
	k = Neighbours(m, sims, nb, nbs);
	memset(scores, 0, (Size) m->items.n * sizeof(double));
	for (int32 a = 0; a < k; a++)
	{
		int32		v = nb[a];

		total += fabs(nbs[a]);
		for (int64 p = m->seen.indptr[v]; p < m->seen.indptr[v + 1]; p++)
			scores[m->seen.indices[p]] += nbs[a] * m->seen.values[p];
	}
	if (total > 0)
		for (int32 i = 0; i < m->items.n; i++)
			scores[i] /= total;
	pfree(sims);
	pfree(nb);
	pfree(nbs);
}

static void
UserKnnSimilarUsers(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
					int32 nhist, double *sims)
{
	UserSims(m, u, hist, vals, nhist, sims);
}

static void
UserKnnSimilarItems(const RecpromoModel *m, int32 i, double *sims)
{
	const UserKnnState *st = m->state;
	int64		b = st->T.indptr[i];
	int32		n = (int32) (st->T.indptr[i + 1] - b);

	/* the item's column as a sparse vector over users, against all items */
	memset(sims, 0, (Size) m->items.n * sizeof(double));
	rp_csr_spmv_sparse(&m->seen, st->T.indices + b, st->T.values + b, n, sims);
	for (int32 j = 0; j < m->items.n; j++)
	{
		double		d = st->item_norm[i] * st->item_norm[j];

		sims[j] = d > 0 ? sims[j] / d : 0.0;
	}
	sims[i] = -INFINITY;
}

static void
UserKnnExplain(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			   int32 nhist, int32 item, double *contrib)
{
	const UserKnnState *st = m->state;
	double	   *sims = palloc_extended((Size) Max(m->users.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	int32	   *nb = palloc(st->neighbours * sizeof(int32));
	double	   *nbs = palloc(st->neighbours * sizeof(double));
	int32		k;
	double		total = 0.0;
	double		qn = 0.0;

	UserSims(m, u, hist, vals, nhist, sims);
	k = Neighbours(m, sims, nb, nbs);
	for (int32 a = 0; a < k; a++)
		total += fabs(nbs[a]);
	for (int32 j = 0; j < nhist; j++)
		qn += vals[j] * vals[j];
	qn = sqrt(qn);
	memset(contrib, 0, (Size) nhist * sizeof(double));
	for (int32 a = 0; a < k && total > 0; a++)
	{
		int32		v = nb[a];
		double		r_vi = rp_csr_get(&m->seen, v, item);
		double		dot = 0.0;

		if (r_vi == 0.0)
			continue;
		/* sims[v] = w * dot / (qn |r_v|): the shrink factor w is sims / cosine */
		for (int32 j = 0; j < nhist; j++)
			dot += vals[j] * rp_csr_get(&m->seen, v, hist[j]);
		if (dot == 0.0)
			continue;
		for (int32 j = 0; j < nhist; j++)
		{
			double		r_vj = rp_csr_get(&m->seen, v, hist[j]);

			/* share of the similarity carried by item j, times v's rating of item */
			contrib[j] += nbs[a] * (vals[j] * r_vj / dot) * r_vi / total;
		}
	}
	pfree(sims);
	pfree(nb);
	pfree(nbs);
}

const RecpromoMethod RecpromoMethodUserKnn = {
	.name = "user_knn",
	.description = "user-based neighbourhoods (cosine), computed at query time",
	.nonneg = false,
	.train = UserKnnTrain,
	.load = UserKnnLoad,
	.score = UserKnnScore,
	.similar_items = UserKnnSimilarItems,
	.similar_users = UserKnnSimilarUsers,
	.explain = UserKnnExplain,
};
