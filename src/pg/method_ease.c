/*
 * method_ease.c
 *	  The `ease` method: Steck's (2019) closed-form item-item model.
 *
 * Training sums the Gram matrix X^T X of the interactions, adds lambda to
 * its diagonal and inverts it with LAPACK's Cholesky routines (rp_ease.c);
 * B = -P / diag(P) with a zero diagonal.  The model is B, dense, stored in
 * float4 (the part "ease_b", n_items^2 * 4 bytes): scores are sums of a few
 * rows of B, for which single precision is ample.  Since 0.3.0 the model
 * stores the inverse P instead, in double, packed upper triangle
 * ("ease_p", n (n + 1) / 2 * 8 bytes, about the size of the float B), and
 * the load computes B from it (by tiles, O(n^2)) and frees P: forget_user
 * downdates P (forget.c), so that an erasure equals a retrain without a
 * refit.  Models saved by 0.2.0 keep their "ease_b" and are served as
 * they are.
 *
 * The dense item x item matrix is the limit of the method: training needs
 * n_items^2 * 12 bytes (the double matrix LAPACK works on plus the float
 * copy), checked against recpromo.memory_limit before anything is
 * allocated; 10,000 items need 1.2 GB, 20,000 items 4.8 GB.  Time grows as
 * n_items^3 (LAPACK, single-threaded).
 *
 * Serving: score(u, j) = sum over history items i of r_ui * B[i, j];
 * similar_items(i) = row i of B (the weight item i gives each other item);
 * explain(u, j): contrib_i = r_ui * B[i, j], which sum to the score.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "method.h"
#include "model_validate.h"
#include "recpromo.h"
#include "rp_ease.h"
#include "rp_forget.h"

typedef struct EaseState
{
	const float *B;				/* n_items x n_items, row-major */
} EaseState;

static void
EaseTrain(RecpromoTrainState *ts)
{
	double		lambda = RecpromoParamFloat(ts, "lambda", 500.0, 1e-6, 1e12);
	const rp_csr *R = &ts->data.R;
	int32		n = R->n_cols;
	double		bytes = rp_ease_memory_bytes(n) * 1.5 + (double) n * 8.0;
	double		limit = (double) recpromo_memory_limit_kb * 1024.0;
	double	   *P;
	rp_cancel	cancel = RecpromoCancelHook();
	Size		nn;

	if (bytes > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ease training on %d items would need %.0f MB of memory, recpromo.memory_limit is %.0f MB",
						n, bytes / (1024.0 * 1024.0), limit / (1024.0 * 1024.0)),
				 errdetail("EASE keeps a dense item x item matrix: 12 bytes per pair of items."),
				 errhint("Raise recpromo.memory_limit, train on fewer items (for instance the most popular ones), or use sparse_ease, whose memory grows with items x neighbours.")));

	nn = mul_size((Size) n, (Size) n);
	P = palloc_extended(Max(mul_size(nn, sizeof(double)), 1), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_ease_inverse(R, lambda, P, &cancel), "ease training");
	CHECK_FOR_INTERRUPTS();

	/*
	 * Stored: P itself, packed upper triangle (forget.c downdates it); B
	 * follows at load.  A diagonal that is not positive would make B
	 * infinite: refused here as rp_ease_fit refused it.
	 */
	for (int32 j = 0; j < n; j++)
		if (!(P[(Size) j * n + j] > 0.0) || !isfinite(P[(Size) j * n + j]))
			RecpromoCheckStatus(RP_ENUMERIC, "ease training");
	for (Size p = 0; p < nn; p++)
		if (!isfinite(P[p]))
			RecpromoCheckStatus(RP_ENUMERIC, "ease training");
	rp_ease_pack(P, n);
	RecpromoPartsAdd(&ts->parts, "ease_p", P, (Size) n * (n + 1) / 2 * sizeof(double));
}

static void
EaseLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	EaseState  *st = palloc(sizeof(EaseState));
	int64		nn = (int64) m->items.n * m->items.n;
	const char *reason = NULL;

	if (RecpromoPartsGet(parts, "ease_b", 0, true, NULL) != NULL)
	{
		/* a model saved by 0.2.0: B as stored */
		st->B = RecpromoModelPart(parts, m->row.name, "ease_b", sizeof(float), nn, NULL);
		RecpromoModelCheck(rp_validate_ease(st->B, m->items.n, &reason), m->row.name, "ease_b", reason);
	}
	else
	{
		int32		n = m->items.n;
		double	   *P = RecpromoModelPart(parts, m->row.name, "ease_p", sizeof(double),
										  (int64) n * (n + 1) / 2, NULL);
		float	   *B = palloc_extended(Max(mul_size((Size) nn, sizeof(float)), 1), MCXT_ALLOC_HUGE);
		double	   *work = palloc(Max((Size) n, 1) * sizeof(double));

		if (rp_ease_b_from_packed(P, n, B, work) != RP_OK)
			RecpromoModelCorrupt(m->row.name, "ease_p", "has a diagonal entry that is not positive and finite");
		RecpromoModelCheck(rp_validate_ease(B, n, &reason), m->row.name, "ease_p", reason);
		pfree(work);
		/*
		 * P is part of `parts` (its buffer belongs to the loader, which may
		 * have allocated it outside palloc: model_store.c), so it is not
		 * freed here; the load's memory goes with the loaded parts.
		 */
		st->B = B;
	}
	m->state = st;
}

/* Shared model cache (model_image.c): B as it is. */
static void
EaseImageSave(const RecpromoModel *m, RecpromoImageSink *sink)
{
	const EaseState *st = m->state;

	RecpromoImageAdd(sink, "ease_b", st->B, (Size) m->items.n * m->items.n * sizeof(float));
}

static bool
EaseImageAttach(RecpromoModel *m)
{
	EaseState  *st = palloc(sizeof(EaseState));

	st->B = RecpromoImageSection(m, "ease_b", sizeof(float), (int64) m->items.n * m->items.n);
	m->state = st;
	return st->B != NULL;
}

static void
EaseScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
		  int32 nhist, double *scores)
{
	const EaseState *st = m->state;

	rp_ease_score(st->B, m->items.n, hist, vals, nhist, scores);
}

static void
EaseSimilarItems(const RecpromoModel *m, int32 i, double *sims)
{
	const EaseState *st = m->state;
	const float *row = st->B + (Size) i * m->items.n;

	for (int32 j = 0; j < m->items.n; j++)
		sims[j] = row[j];
}

static void
EaseExplain(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			int32 nhist, int32 item, double *contrib)
{
	const EaseState *st = m->state;
	int32		n = m->items.n;

	for (int32 h = 0; h < nhist; h++)
		contrib[h] = vals[h] * (double) st->B[(Size) hist[h] * n + item];
}

const RecpromoMethod RecpromoMethodEase = {
	.name = "ease",
	.description = "EASE (Steck 2019): closed-form item-item weights from a regularised Gram inverse",
	.nonneg = false,
	.train = EaseTrain,
	.load = EaseLoad,
	.score = EaseScore,
	.similar_items = EaseSimilarItems,
	.explain = EaseExplain,
	.image_save = EaseImageSave,
	.image_attach = EaseImageAttach,
};
