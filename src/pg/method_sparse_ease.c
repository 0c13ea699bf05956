/*
 * method_sparse_ease.c
 *	  The `sparse_ease` method: EASE for catalogues too large for a dense
 *	  item x item matrix.
 *
 * Dense EASE (method_ease.c; Steck 2019) solves, for every item j, the
 * ridge regression of j's column of the interactions on all the other
 * columns, through one n x n inverse: items^2 memory, items^3 time.  This
 * method solves each column over the `neighbours` items that co-occur most
 * with j only (SLIM's neighbourhood restriction, Ning and Karypis 2011):
 * a K x K system (G_NN + lambda I) b = G_Nj per item, with G = X^T X
 * computed sparsely (rp_sparse_ease.c, threads through rp_parallel).  The
 * model is B, sparse with n_items * K non-zeros, stored as the CSR of its
 * rows ("sease_indptr", "sease_indices", "sease_values": row i lists the
 * items j that use i as a regressor, ascending, with the weight B_ij; no
 * diagonal).  With neighbours >= n_items - 1 it equals dense EASE.
 *
 * Memory is checked against recpromo.memory_limit before anything is
 * allocated: the transposed interactions, the neighbour lists and B in
 * both orientations (items * K * 12 bytes each), the per-thread
 * accumulators (items * 29 bytes) and the Gram entries the K x K systems
 * need (12 bytes each, computed once and held under what the limit
 * leaves; see rp_sparse_ease.c).
 *
 * Serving, as ease: score(u, j) = sum over history items i of
 * r_ui * B_ij (a sparse row sum); similar_items(i) = row i of B (only the
 * items that use i are eligible); explain(u, j): contrib_i = r_ui * B_ij,
 * listed for the history items that are regressors of j; they sum to the
 * score.  forget_user refits B on the interactions left (forget.c): the
 * result equals a retrain.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "knn.h"
#include "method.h"
#include "model_validate.h"
#include "recpromo.h"
#include "rp_knn.h"
#include "rp_sparse_ease.h"
#include "sparse_ease.h"

typedef struct SparseEaseState
{
	rp_csr		B;				/* items x items, rows sorted by column; first:
								 * RecpromoItemCsr* serve it (knn.h) */
} SparseEaseState;

/*
 * Bytes of a fit besides the Gram entries: X^T, the transposed result
 * and the core's own scratch (rp_sease_work_bytes).  The stored
 * orientation of B is made after X^T and the scratch are freed.
 */
static double
RecpromoSparseEaseBytes(int32 n, int64 nnz, int32 k, int threads)
{
	return (double) nnz * 12.0 + ((double) n + 1) * 8.0	/* X^T */
		+ (double) n * k * 12.0 + ((double) n + 1) * 8.0	/* B^T */
		+ rp_sease_work_bytes(n, k, n, threads);
}

/*
 * The transposed fit (row j = column j of B) into the stored orientation;
 * palloc'd in the current context.
 */
static void
RecpromoSparseEaseRows(const rp_csr *BT, rp_csr *B)
{
	B->indptr = palloc_extended(((Size) BT->n_cols + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	B->indices = palloc_extended(Max((Size) BT->nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	B->values = palloc_extended(Max((Size) BT->nnz, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_csr_transpose(BT, B), "sparse_ease fit");
}

void
RecpromoSparseEaseFit(const rp_csr *R, double lambda, int32 k, int threads, rp_csr *B,
					  const char *what)
{
	int32		n = R->n_cols;
	int32		kk = Min(k, Max(n - 1, 0));
	double		limit = (double) recpromo_memory_limit_kb * 1024.0;
	double		fixed = RecpromoSparseEaseBytes(n, R->nnz, kk, threads);
	double		one_col = (double) kk * (kk + 1) / 2.0 * RP_SEASE_PAIR_BYTES;
	double		pairs;
	rp_cancel	cancel = RecpromoCancelHook();
	rp_csr		XT;
	rp_csr		BT;
	int32		k_used;

	/*
	 * The Gram entries the systems need are held in chunks of columns under
	 * what the limit leaves (at least one column's worth, which the check
	 * includes): with room for all of them each is computed once, with less
	 * the chunks recompute the rows they share (slower, same result).
	 */
	RecpromoCheckMemory(fixed + one_col, what);
	pairs = floor((limit - fixed) / RP_SEASE_PAIR_BYTES);
	if (pairs < one_col / RP_SEASE_PAIR_BYTES)
		pairs = one_col / RP_SEASE_PAIR_BYTES;
	if (pairs < 1.0)
		pairs = 1.0;

	XT.indptr = palloc_extended(((Size) n + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	XT.indices = palloc_extended(Max((Size) R->nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	XT.values = palloc_extended(Max((Size) R->nnz, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_csr_transpose(R, &XT), what);
	CHECK_FOR_INTERRUPTS();

	BT.indptr = palloc_extended(((Size) n + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	BT.indices = palloc_extended(Max(mul_size((Size) n, (Size) kk), 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	BT.values = palloc_extended(Max(mul_size((Size) n, (Size) kk), 1) * sizeof(double), MCXT_ALLOC_HUGE);
	/* workers are joined inside rp_sease_fit: nothing runs after it returns */
	RecpromoCheckStatus(rp_sease_fit(R, &XT, lambda, k, (int64) pairs, threads, &BT, &k_used, &cancel), what);
	CHECK_FOR_INTERRUPTS();
	pfree(XT.indptr);
	pfree(XT.indices);
	pfree(XT.values);

	RecpromoSparseEaseRows(&BT, B);
	pfree(BT.indptr);
	pfree(BT.indices);
	pfree(BT.values);
}

static void
SparseEaseTrain(RecpromoTrainState *ts)
{
	double		lambda = RecpromoParamFloat(ts, "lambda", 500.0, 1e-6, 1e12);
	int32		k = RecpromoParamInt(ts, "neighbours", 100, 1, RP_SEASE_MAX_K);
	rp_csr		B;

	RecpromoSparseEaseFit(&ts->data.R, lambda, k, ts->threads, &B, "sparse_ease training");
	RecpromoPartsAdd(&ts->parts, "sease_indptr", B.indptr, ((Size) B.n_rows + 1) * sizeof(int64));
	RecpromoPartsAdd(&ts->parts, "sease_indices", B.indices, (Size) B.nnz * sizeof(int32));
	RecpromoPartsAdd(&ts->parts, "sease_values", B.values, (Size) B.nnz * sizeof(double));
}

/* B's checks beyond the CSR's own: finite weights, no diagonal. */
static void
SparseEaseCheck(const char *model, const rp_csr *B)
{
	const char *reason = NULL;

	RecpromoModelCheck(rp_validate_finite(B->values, B->nnz, &reason), model,
					   "sease_values", reason);
	for (int32 i = 0; i < B->n_rows; i++)
		for (int64 p = B->indptr[i]; p < B->indptr[i + 1]; p++)
			if (B->indices[p] == i)
				RecpromoModelCorrupt(model, "sease_indices", "has a diagonal entry");
}

static void
SparseEaseLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	SparseEaseState *st = palloc(sizeof(SparseEaseState));

	/* rows sorted by column: explain binary-searches them (rp_csr_get) */
	RecpromoModelCsr(parts, m->row.name, "sease", m->items.n, m->items.n, true, &st->B);
	SparseEaseCheck(m->row.name, &st->B);
	m->state = st;
}

/* Shared model cache (model_image.c): B's CSR, checked at attach. */
static void
SparseEaseImageSave(const RecpromoModel *m, RecpromoImageSink *sink)
{
	const SparseEaseState *st = m->state;

	RecpromoImageAddCsr(sink, "sease", &st->B);
}

static bool
SparseEaseImageAttach(RecpromoModel *m)
{
	SparseEaseState *st = palloc(sizeof(SparseEaseState));

	m->state = st;
	return RecpromoImageCsr(m, "sease", m->items.n, m->items.n, true, true, &st->B);
}

const RecpromoMethod RecpromoMethodSparseEase = {
	.name = "sparse_ease",
	.description = "sparse EASE: each item's EASE regression over its top co-occurring neighbours (SLIM-style), items x K memory",
	.nonneg = false,
	.train = SparseEaseTrain,
	.load = SparseEaseLoad,
	.score = RecpromoItemCsrScore,
	.similar_items = RecpromoItemCsrSimilarItems,
	.explain = RecpromoItemCsrExplain,
	.image_save = SparseEaseImageSave,
	.image_attach = SparseEaseImageAttach,
};
