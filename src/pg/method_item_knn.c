/*
 * method_item_knn.c
 *	  The `item_knn` method: "customers who bought X also bought Y".
 *
 * Training computes, in the pure-C core (rp_knn.c), the `neighbours` most
 * similar items of every item: cosine between item columns of the
 * interaction matrix, optionally TF-IDF or BM25 weighted (items are the
 * documents, users the terms) and shrunk by the number of common users
 * (s = cos * n_ij / (n_ij + shrink)).  The result, a sparse item x item
 * matrix S with at most `neighbours` entries per row, is the model
 * ("knn_indptr", "knn_indices", "knn_values").  Serving:
 *	- score(u, j) = sum over history items i of r_ui * S(i, j): the items
 *	  that keep j among their neighbours vote for it with the user's value;
 *	  items no history item points to score 0;
 *	- similar_items(i) = row i of S (at most `neighbours` rows come back);
 *	- explain(u, j): contrib_i = r_ui * S(i, j) for the history items i
 *	  that keep j as a neighbour; they sum to the score.
 * A folded-in user (not in the model) is scored the same way from the live
 * history, so no retraining is needed for new customers.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "miscadmin.h"
#include "portability/instr_time.h"

#include "method.h"
#include "model_validate.h"
#include "recpromo.h"
#include "knn.h"
#include "source.h"
#include "rp_knn.h"

typedef struct ItemKnnState
{
	rp_csr		S;				/* items x items, kept neighbours, sorted by column;
								 * first: RecpromoItemCsr* serve it (knn.h) */
} ItemKnnState;

/*
 * Wall-clock and process CPU marks of the training phases, reported at DEBUG2 for
 * bench/bench_read.py (never in test output: they are timings).
 */
typedef struct KnnPhases
{
	instr_time	last;
	double		last_cpu;
	StringInfoData msg;
} KnnPhases;

/* CPU seconds of the whole process (every thread) so far */
static double
KnnProcessCpu(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) != 0)
		return 0.0;
	return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

static void
KnnPhaseStart(KnnPhases *ph)
{
	INSTR_TIME_SET_CURRENT(ph->last);
	ph->last_cpu = KnnProcessCpu();
	initStringInfo(&ph->msg);
}

static void
KnnPhaseMark(KnnPhases *ph, const char *name)
{
	instr_time	now;
	instr_time	d;
	double		cpu;

	if (ph == NULL)
		return;
	INSTR_TIME_SET_CURRENT(now);
	cpu = KnnProcessCpu();
	d = now;
	INSTR_TIME_SUBTRACT(d, ph->last);
	appendStringInfo(&ph->msg, "%s%s %.3f s (cpu %.3f s)", ph->msg.len ? ", " : "", name,
					 INSTR_TIME_GET_DOUBLE(d), cpu - ph->last_cpu);
	ph->last = now;
	ph->last_cpu = cpu;
}

const char *const RecpromoKnnWeightings[] = {"none", "tfidf", "bm25", NULL};

rp_knn_weighting
RecpromoKnnWeighting(const char *name)
{
	if (strcmp(name, "tfidf") == 0)
		return RP_KNN_WEIGHT_TFIDF;
	if (strcmp(name, "bm25") == 0)
		return RP_KNN_WEIGHT_BM25;
	return RP_KNN_WEIGHT_NONE;
}

void
RecpromoKnnFit(rp_csr *A, rp_knn_weighting w, double k1, double b, int32 k,
			   double shrink, int threads, rp_csr *S, const char *what)
{
	RecpromoKnnFitFrom(A, NULL, w, k1, b, k, shrink, threads, S, what);
}

/* T has A's shape transposed and strictly increasing columns in every row */
static bool
KnnIsSortedTranspose(const rp_csr *A, const rp_csr *T)
{
	if (T == NULL || T->n_rows != A->n_cols || T->n_cols != A->n_rows || T->nnz != A->nnz)
		return false;
	for (int32 r = 0; r < T->n_rows; r++)
		for (int64 p = T->indptr[r] + 1; p < T->indptr[r + 1]; p++)
			if (T->indices[p] <= T->indices[p - 1])
				return false;
	return true;
}

static void KnnFitPhased(rp_csr *A, const rp_csr *T, rp_knn_weighting w, double k1,
						 double b, int32 k, double shrink, int threads, rp_csr *S,
						 const char *what, KnnPhases *ph);

void
RecpromoKnnFitFrom(rp_csr *A, const rp_csr *T, rp_knn_weighting w, double k1,
				   double b, int32 k, double shrink, int threads, rp_csr *S,
				   const char *what)
{
	KnnFitPhased(A, T, w, k1, b, k, shrink, threads, S, what, NULL);
}

/* RecpromoKnnFitFrom, marking its phases in ph (NULL: none) */
static void
KnnFitPhased(rp_csr *A, const rp_csr *T, rp_knn_weighting w, double k1,
			 double b, int32 k, double shrink, int threads, rp_csr *S,
			 const char *what, KnnPhases *ph)
{
	rp_csr		AT;
	bool		own_at;
	rp_knn_params p;
	void	   *work;
	rp_cancel	cancel = RecpromoCancelHook();
	double		bytes;
	Size		slots;

	/* A and its transpose, the k-slot output and the per-thread scratch */
	slots = mul_size((Size) Max(A->n_rows, 1), (Size) k);
	bytes = (double) A->nnz * 12.0 + (double) slots * 12.0
		+ (double) rp_knn_workspace_size(A->n_rows, k, threads)
		+ (double) A->n_rows * 8.0 + (double) A->n_cols * 8.0;
	RecpromoCheckMemory(bytes, what);

	work = palloc_extended(rp_knn_weight_workspace_size(A), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_knn_weight(A, w, k1, b, A->values, work), what);
	pfree(work);
	KnnPhaseMark(ph, "weighting");

	/* unweighted, the matrix A came from is its transpose: skip rebuilding it */
	own_at = !(w == RP_KNN_WEIGHT_NONE && KnnIsSortedTranspose(A, T));
	if (own_at)
	{
		AT.indptr = palloc_extended(((Size) A->n_cols + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
		AT.indices = RecpromoAllocLarge(Max((Size) A->nnz, 1) * sizeof(int32));
		AT.values = RecpromoAllocLarge(Max((Size) A->nnz, 1) * sizeof(double));
		work = palloc_extended(rp_csr_mt_workspace(A->n_cols, threads), MCXT_ALLOC_HUGE);
		RecpromoCheckStatus(rp_csr_transpose_mt(A, &AT, threads, work), what);
		pfree(work);
	}
	else
		AT = *T;
	CHECK_FOR_INTERRUPTS();
	KnnPhaseMark(ph, own_at ? "second transpose" : "sorted check");

	S->indptr = palloc_extended(((Size) A->n_rows + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	S->indices = palloc_extended(mul_size(slots, sizeof(int32)), MCXT_ALLOC_HUGE);
	S->values = palloc_extended(mul_size(slots, sizeof(double)), MCXT_ALLOC_HUGE);
	work = palloc_extended(rp_knn_workspace_size(A->n_rows, k, threads), MCXT_ALLOC_HUGE);
	p.k = k;
	p.shrink = shrink;
	p.nthreads = threads;
	/* workers are joined inside rp_knn_fit: nothing runs after it returns */
	KnnPhaseMark(ph, "allocation");
	RecpromoCheckStatus(rp_knn_fit(A, &AT, &p, S, work, &cancel), what);
	CHECK_FOR_INTERRUPTS();
	KnnPhaseMark(ph, "neighbours");
	pfree(work);
	if (own_at)
	{
		pfree(AT.indptr);
		pfree(AT.indices);
		pfree(AT.values);
	}
}

static void
ItemKnnTrain(RecpromoTrainState *ts)
{
	int32		k = RecpromoParamInt(ts, "neighbours", 20, 1, RP_KNN_MAX_K);
	double		shrink = RecpromoParamFloat(ts, "shrink", 0.0, 0.0, 1e9);
	/* bm25 by default since 0.4.0: what tune() chooses (doc/training.md, "Tuning") */
	const char *wname = RecpromoParamChoice(ts, "weighting", "bm25", RecpromoKnnWeightings);
	double		k1 = RecpromoParamFloat(ts, "bm25_k1", RP_KNN_BM25_K1, 1e-9, 1e6);
	double		b = RecpromoParamFloat(ts, "bm25_b", RP_KNN_BM25_B, 0.0, 1.0);
	const rp_csr *R = &ts->data.R;
	rp_csr		A;
	rp_csr		S;
	void	   *work;
	KnnPhases	ph;

	KnnPhaseStart(&ph);
	/* items x users: the compared vectors are the items */
	A.indptr = palloc_extended(((Size) R->n_cols + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	A.indices = RecpromoAllocLarge(Max((Size) R->nnz, 1) * sizeof(int32));
	A.values = RecpromoAllocLarge(Max((Size) R->nnz, 1) * sizeof(double));
	work = palloc_extended(rp_csr_mt_workspace(R->n_cols, ts->threads), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_csr_transpose_mt(R, &A, ts->threads, work), "item_knn training");
	pfree(work);
	KnnPhaseMark(&ph, "transpose");

	KnnFitPhased(&A, R, RecpromoKnnWeighting(wname), k1, b, k, shrink, ts->threads,
				 &S, "item_knn training", &ph);
	pfree(A.indptr);
	pfree(A.indices);
	pfree(A.values);
	KnnPhaseMark(&ph, "free");

	RecpromoPartsAdd(&ts->parts, "knn_indptr", S.indptr, ((Size) S.n_rows + 1) * sizeof(int64));
	RecpromoPartsAdd(&ts->parts, "knn_indices", S.indices, (Size) S.nnz * sizeof(int32));
	RecpromoPartsAdd(&ts->parts, "knn_values", S.values, (Size) S.nnz * sizeof(double));
	ereport(DEBUG2,
			(errmsg_internal("recpromo item_knn phases (%d threads): %s", ts->threads, ph.msg.data)));
}

void
RecpromoKnnLoadParts(const RecpromoParts *parts, const char *model, const char *prefix,
					 int32 n, rp_csr *S)
{
	const char *reason = NULL;

	/* rows sorted by column: explain binary-searches them (rp_csr_get) */
	RecpromoModelCsr(parts, model, prefix, n, n, true, S);
	/* shrunk cosines (a little slack for rounding) */
	RecpromoModelCheck(rp_validate_range(S->values, S->nnz, -1.0 - 1e-9, 1.0 + 1e-9, &reason),
					   model, psprintf("%s_values", prefix), reason);
}

static void
ItemKnnLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	ItemKnnState *st = palloc(sizeof(ItemKnnState));

	RecpromoKnnLoadParts(parts, m->row.name, "knn", m->items.n, &st->S);
	m->state = st;
}

/* Shared model cache (model_image.c): the neighbour CSR, checked at attach. */
static void
ItemKnnImageSave(const RecpromoModel *m, RecpromoImageSink *sink)
{
	const ItemKnnState *st = m->state;

	RecpromoImageAddCsr(sink, "knn", &st->S);
}

static bool
ItemKnnImageAttach(RecpromoModel *m)
{
	ItemKnnState *st = palloc(sizeof(ItemKnnState));

	m->state = st;
	return RecpromoImageCsr(m, "knn", m->items.n, m->items.n, true, true, &st->S);
}

void
RecpromoItemCsrScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
					 int32 nhist, double *scores)
{
	rp_knn_score_items((const rp_csr *) m->state, hist, vals, nhist, scores);
}

void
RecpromoItemCsrSimilarItems(const RecpromoModel *m, int32 i, double *sims)
{
	const rp_csr *W = (const rp_csr *) m->state;

	/* only the row's items (kept neighbours, regressors) are eligible */
	for (int32 j = 0; j < m->items.n; j++)
		sims[j] = -INFINITY;
	for (int64 p = W->indptr[i]; p < W->indptr[i + 1]; p++)
		sims[W->indices[p]] = W->values[p];
}

void
RecpromoItemCsrExplain(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
					   int32 nhist, int32 item, double *contrib)
{
	const rp_csr *W = (const rp_csr *) m->state;

	/* only the history items whose row holds `item` are listed */
	for (int32 h = 0; h < nhist; h++)
	{
		double		w = rp_csr_get(W, hist[h], item);

		contrib[h] = w != 0.0 ? vals[h] * w : -INFINITY;
	}
}

const RecpromoMethod RecpromoMethodItemKnn = {
	.name = "item_knn",
	.description = "item-based neighbourhoods (cosine with shrinkage, optional TF-IDF or BM25 weighting), precomputed",
	.nonneg = true,
	.train = ItemKnnTrain,
	.load = ItemKnnLoad,
	.score = RecpromoItemCsrScore,
	.similar_items = RecpromoItemCsrSimilarItems,
	.explain = RecpromoItemCsrExplain,
	.image_save = ItemKnnImageSave,
	.image_attach = ItemKnnImageAttach,
};
