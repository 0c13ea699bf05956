/*
 * method_user_knn.c
 *	  The `user_knn` method: user-based collaborative filtering computed at
 *	  query time from the stored interactions.
 *
 * This is the classic neighbourhood pipeline (Resnick et al. 1994; Herlocker
 * et al. 1999) done without a dense user x item matrix:
 *	- the interaction vectors are optionally TF-IDF or BM25 weighted, users
 *	  being the documents and items the terms (weighting, bm25_k1, bm25_b;
 *	  formulas in rp_knn.h); w_u denotes the weighted vector (r_u when
 *	  weighting is none), and a folded-in user's vector is weighted with the
 *	  idf and mean length of the training data;
 *	- sim(u, v) = cos(w_u, w_v) = w_u . w_v / (|w_u| |w_v|), the dot products
 *	  of one user against all others accumulated through the item -> users
 *	  lists by the core's sparse kernel (rp_knn_query; cost: the interactions
 *	  of the users who share an item with u), which keeps the top N;
 *	  with shrink > 0 each similarity is multiplied by n_uv / (n_uv + shrink),
 *	  n_uv the number of co-rated items (Koren 2008), which discounts
 *	  similarities resting on one or two shared items;
 *	- the N = neighbours most similar users (ties by lower index) form the
 *	  neighbourhood; score(u, i) = sum_v sim(u,v) r_vi / sum_v |sim(u,v)|, the
 *	  similarity-weighted mean of the neighbours' ratings with a missing
 *	  rating counted as 0;
 *	- similar_items uses the same (weighted) cosine between item columns;
 *	- explain: since w_u . w_v = sum_j w_uj w_vj, the score splits exactly
 *	  over the user's history items j: contrib_j = sum_v sim(u,v) (w_uj w_vj /
 *	  w_u . w_v) r_vi / S with S = sum |sim|.
 * A new user's vector comes from the live table (fold-in), so a customer who
 * signed up after training gets neighbours from their first purchase.
 */
#include "postgres.h"

#include "miscadmin.h"

#include <math.h>

#include "knn.h"
#include "method.h"
#include "model_validate.h"
#include "recpromo.h"
#include "rp_knn.h"

typedef struct UserKnnState
{
	rp_csr		W;				/* users x items, weighted */
	rp_csr		WT;				/* items x users, weighted */
	double	   *user_norm;		/* |w_u| */
	double	   *item_norm;		/* norms of W's columns */
	double	   *idf;			/* per item, for folding users in */
	double		avglen;
	rp_knn_weighting weighting;
	double		k1;
	double		b;
	int32		neighbours;
	double		shrink;
} UserKnnState;

static void
UserKnnTrain(RecpromoTrainState *ts)
{
	const char *w;

	/* 50 neighbours by default since 0.4.0 (20 before): doc/training.md, "Tuning" */
	RecpromoParamInt(ts, "neighbours", 50, 1, RP_KNN_MAX_K);
	RecpromoParamFloat(ts, "shrink", 0.0, 0.0, 1e9);
	w = RecpromoParamChoice(ts, "weighting", "none", RecpromoKnnWeightings);
	RecpromoParamFloat(ts, "bm25_k1", RP_KNN_BM25_K1, 1e-9, 1e6);
	RecpromoParamFloat(ts, "bm25_b", RP_KNN_BM25_B, 0.0, 1.0);
	/* the formulas assume counts */
	if (strcmp(w, "none") != 0)
		for (int64 p = 0; p < ts->data.R.nnz; p++)
			if (ts->data.R.values[p] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("weighting \"%s\" needs non-negative interaction values", w),
						 errhint("Use weighting \"none\" for ratings that can be negative.")));
	/* nothing to fit: neighbourhoods are computed at query time */
}

static void
UserKnnLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	UserKnnState *st = palloc(sizeof(UserKnnState));
	const rp_csr *R = &m->seen;
	Size		nnz = Max((Size) R->nnz, 1);

	/* the interactions were checked by model_cache.c; the hyper-parameters here */
	st->neighbours = (int32) RecpromoModelParamChecked(m, "neighbours", 20, 1, RP_KNN_MAX_K);
	st->shrink = RecpromoModelParamChecked(m, "shrink", 0.0, 0.0, 1e9);
	st->k1 = RecpromoModelParamChecked(m, "bm25_k1", RP_KNN_BM25_K1, 1e-9, 1e6);
	st->b = RecpromoModelParamChecked(m, "bm25_b", RP_KNN_BM25_B, 0.0, 1.0);
	st->weighting = RP_KNN_WEIGHT_NONE;
	{
		JsonbValue	k;
		JsonbValue *v;

		k.type = jbvString;
		k.val.string.val = "weighting";
		k.val.string.len = strlen("weighting");
		v = findJsonbValueFromContainer(&m->params->root, JB_FOBJECT, &k);
		if (v != NULL && v->type == jbvString)
			st->weighting = RecpromoKnnWeighting(pnstrdup(v->val.string.val, v->val.string.len));
	}

	st->W = *R;
	st->W.values = palloc_extended(nnz * sizeof(double), MCXT_ALLOC_HUGE);
	st->idf = palloc_extended(Max((Size) R->n_cols, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_knn_idf(R, st->weighting, st->idf, &st->avglen), "loading the model");
	for (int32 u = 0; u < R->n_rows; u++)
	{
		int64		p = R->indptr[u];

		rp_knn_weight_row(st->weighting, st->k1, st->b, st->idf, st->avglen, R->indices + p,
						  R->values + p, R->indptr[u + 1] - p, st->W.values + p);
	}
	st->WT.indptr = palloc_extended(((Size) R->n_cols + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	st->WT.indices = palloc_extended(nnz * sizeof(int32), MCXT_ALLOC_HUGE);
	st->WT.values = palloc_extended(nnz * sizeof(double), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_csr_transpose(&st->W, &st->WT), "loading the model");
	st->user_norm = palloc_extended(Max((Size) R->n_rows, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	st->item_norm = palloc_extended(Max((Size) R->n_cols, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	rp_knn_row_norms(&st->W, st->user_norm);
	rp_knn_row_norms(&st->WT, st->item_norm);
	m->state = st;
}

/* The query vector: u's weighted row, or the history weighted like one. */
static const double *
QueryVector(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals, int32 nhist)
{
	const UserKnnState *st = m->state;
	double	   *q;

	if (u >= 0)
		return st->W.values + st->W.indptr[u];
	q = palloc(Max(nhist, 1) * sizeof(double));
	rp_knn_weight_row(st->weighting, st->k1, st->b, st->idf, st->avglen, hist, vals, nhist, q);
	return q;
}

/*
 * The k most similar users (shrunk cosine > 0, best first, ties by lower
 * index) of the history; the user u itself (u >= 0) is never its own
 * neighbour.  Returns the count.
 */
static int32
Neighbours(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
		   int32 nhist, int32 k, int32 *nb, double *nbs)
{
	const UserKnnState *st = m->state;
	rp_knn_params p;
	void	   *work;
	int32		n = 0;
	const double *q = QueryVector(m, u, hist, vals, nhist);

	for (int32 h = 0; h < nhist; h++)
	{
		if (hist[h] < 0 || hist[h] >= m->items.n)
			RECPROMO_CANNOT_HAPPEN("invalid history passed to user_knn");
		if (!isfinite(q[h]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the user's history holds a NaN or infinite value"),
					 errhint("Fix the source table's rating column.")));
	}
	p.k = k;
	p.shrink = st->shrink;
	p.nthreads = 1;
	work = palloc_extended(rp_knn_query_workspace_size(m->users.n, k), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_knn_query(&st->WT, st->user_norm, m->users.n, hist, q, nhist, u, &p,
									 nb, nbs, &n, work), "user_knn scoring");
	pfree(work);
	return n;
}

static void
UserKnnScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			 int32 nhist, double *scores)
{
	const UserKnnState *st = m->state;
	int32	   *nb = palloc(st->neighbours * sizeof(int32));
	double	   *nbs = palloc(st->neighbours * sizeof(double));
	int32		k = Neighbours(m, u, hist, vals, nhist, st->neighbours, nb, nbs);
	double		total = 0.0;

	rp_knn_score_users(&m->seen, nb, nbs, k, scores);
	for (int32 a = 0; a < k; a++)
		total += fabs(nbs[a]);
	if (total > 0)
		for (int32 i = 0; i < m->items.n; i++)
			scores[i] /= total;
	pfree(nb);
	pfree(nbs);
}

static void
UserKnnSimilarUsers(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
					int32 nhist, double *sims)
{
	int32		k = Min(Max(m->users.n, 1), RP_KNN_MAX_K);
	int32	   *nb = palloc(k * sizeof(int32));
	double	   *nbs = palloc(k * sizeof(double));
	int32		n = Neighbours(m, u, hist, vals, nhist, k, nb, nbs);

	/*
	 * users sharing nothing with the history (or beyond the kept maximum)
	 * have similarity 0; the user itself is never listed
	 */
	for (int32 v = 0; v < m->users.n; v++)
		sims[v] = 0.0;
	if (u >= 0)
		sims[u] = -INFINITY;
	for (int32 a = 0; a < n; a++)
		sims[nb[a]] = nbs[a];
	pfree(nb);
	pfree(nbs);
}

static void
UserKnnSimilarItems(const RecpromoModel *m, int32 i, double *sims)
{
	const UserKnnState *st = m->state;
	int64		b = st->WT.indptr[i];
	int32		n = (int32) (st->WT.indptr[i + 1] - b);

	/* the item's weighted column as a sparse vector over users, against all items */
	memset(sims, 0, (Size) m->items.n * sizeof(double));
	rp_csr_spmv_sparse(&st->W, st->WT.indices + b, st->WT.values + b, n, sims);
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
	int32	   *nb = palloc(st->neighbours * sizeof(int32));
	double	   *nbs = palloc(st->neighbours * sizeof(double));
	int32		k = Neighbours(m, u, hist, vals, nhist, st->neighbours, nb, nbs);
	const double *q = QueryVector(m, u, hist, vals, nhist);
	double		total = 0.0;

	for (int32 a = 0; a < k; a++)
		total += fabs(nbs[a]);
	memset(contrib, 0, (Size) nhist * sizeof(double));
	for (int32 a = 0; a < k && total > 0; a++)
	{
		int32		v = nb[a];
		double		r_vi = rp_csr_get(&m->seen, v, item);
		double		dot = 0.0;

		if (r_vi == 0.0)
			continue;
		/* sim(u, v) is proportional to w_u . w_v: split it over the shared items */
		for (int32 j = 0; j < nhist; j++)
			dot += q[j] * rp_csr_get(&st->W, v, hist[j]);
		if (dot == 0.0)
			continue;
		for (int32 j = 0; j < nhist; j++)
		{
			double		w_vj = rp_csr_get(&st->W, v, hist[j]);

			contrib[j] += nbs[a] * (q[j] * w_vj / dot) * r_vi / total;
		}
	}
	pfree(nb);
	pfree(nbs);
}

const RecpromoMethod RecpromoMethodUserKnn = {
	.name = "user_knn",
	.description = "user-based neighbourhoods (cosine with shrinkage, optional TF-IDF or BM25 weighting), computed at query time",
	.nonneg = false,
	.train = UserKnnTrain,
	.load = UserKnnLoad,
	.score = UserKnnScore,
	.similar_items = UserKnnSimilarItems,
	.similar_users = UserKnnSimilarUsers,
	.explain = UserKnnExplain,
};
