/*
 * rp_batch.h
 *	  Batch top-k for factor models: every selected user's k best items by
 *	  blocked matrix products, with exclusions inside the selection.
 *
 * The problem: score(u, i) = global + user_bias[u] + item_bias[i]
 * + U[u,:] . V[i,:] for every user u of a selection and every item i, and
 * keep, per user, the k best eligible items (best first; ties broken by the
 * lower item index, the order rp_topk uses), leaving out the items of the
 * user's exclusion row (e.g. what they bought) and, optionally, items not
 * in an allow-list.  This is recommend_all(); evaluation (precision@k over
 * every test user) is the same call over a user subset.
 *
 * Results are exact: they are the double-precision top-k, as rp_topk()
 * would select it from the double scores.  The bulk of the work is done in
 * float32 (twice the SIMD width and half the memory traffic of double),
 * which only screens candidates; see rp_batch.c for the error bound that
 * makes the screening safe and the fallback when it cannot decide.
 *
 * Usage (LAPACK style: the caller owns all memory, workers never allocate):
 *
 *	size_t need = rp_batch_workspace_size(&in, k, nthreads);
 *	void *work = malloc(need);			(palloc in the glue)
 *	st = rp_batch_topk(&in, k, nthreads, RP_BATCH_AUTO, work, need,
 *					   out_idx, out_score, out_count, &cancel, &stats);
 *
 * Outputs are indexed by selection row r (0 <= r < n_sel): user
 * users[r] (or r itself when users is NULL) gets out_count[r] <= k entries in
 * out_idx[r*k ...] / out_score[r*k ...]; slots past out_count[r] are
 * unspecified.  Thread-safe: no global state besides the one-time CPU
 * feature probe.
 */
#ifndef RP_BATCH_H
#define RP_BATCH_H

#include "rp_core.h"

typedef struct rp_batch_input
{
	int32_t		n_users;		/* rows of U */
	int32_t		n_items;		/* rows of V */
	int32_t		factors;		/* columns of U and V, >= 1 */
	const double *U;			/* n_users x factors, row-major */
	const double *V;			/* n_items x factors, row-major */
	const double *user_bias;	/* n_users, or NULL */
	const double *item_bias;	/* n_items, or NULL */
	double		global;			/* added to every score */

	/*
	 * Exclusions: row u of a CSR (indptr n_users + 1, indices ascending,
	 * values unused) lists items never returned to user u.  NULL: none.
	 */
	const int64_t *excl_indptr;
	const int32_t *excl_indices;
	const unsigned char *allowed;	/* n_items flags (0: never), or NULL */

	/* The users to score (indices into U, any order), or NULL for all. */
	const int32_t *users;
	int32_t		n_sel;			/* length of users (ignored when NULL) */
} rp_batch_input;

/* How score tiles are computed; results do not depend on it. */
typedef enum rp_batch_kernel
{
	RP_BATCH_AUTO = 0,			/* AVX-512 kernel when the CPU has it, else SGEMM */
	RP_BATCH_SGEMM,				/* cblas_sgemm (OpenBLAS's kernels) */
	RP_BATCH_AVX512,			/* our own kernel; RP_EINVAL without AVX-512F */
	RP_BATCH_AVX512_HALF		/* the same over item factors stored as IEEE half
								 * (half the memory traffic; still exact, see
								 * rp_batch.c); float when a value is out of
								 * half's range */
} rp_batch_kernel;

typedef struct rp_batch_stats
{
	int64_t		users;			/* users scored */
	int64_t		fallback_users; /* users rescored in double (near ties) */
	double		flops;			/* 2 * users * items * factors */
	const char *kernel;			/* "avx512", "avx512-half" or "sgemm" */
} rp_batch_stats;

/* Largest k rp_batch_topk accepts. */
#define RP_BATCH_MAX_K 10000

/* True when this CPU can run the RP_BATCH_AVX512 kernel. */
extern int	rp_batch_have_avx512(void);

/*
 * Bytes of workspace rp_batch_topk needs (0 for invalid sizes).  Depends
 * on n_items, factors, the item bias, the selection size, k and nthreads.
 */
extern size_t rp_batch_workspace_size(const rp_batch_input *in, int32_t k, int nthreads);

/*
 * Computes every selected user's top-k (see the file comment).
 *	in: the problem; U and V must be finite.
 *	k: 1..RP_BATCH_MAX_K.  nthreads: worker threads (rp_parallel_for).
 *	work/work_size: at least rp_batch_workspace_size() bytes, any alignment.
 *	out_idx, out_score: n_sel * k entries; out_count: n_sel entries.
 *	cancel: polled between user blocks on the calling thread (may be NULL).
 *	stats: may be NULL.
 * Returns RP_OK, RP_EINVAL (bad sizes, small workspace, unavailable kernel)
 * or RP_ECANCELED (outputs then incomplete).
 */
extern rp_status rp_batch_topk(const rp_batch_input *in, int32_t k, int nthreads,
							   rp_batch_kernel kernel, void *work, size_t work_size,
							   int32_t *out_idx, double *out_score, int32_t *out_count,
							   const rp_cancel *cancel, rp_batch_stats *stats);

/*
 * Prepared items, for callers that score many small selections against one
 * model (recommend() for one user per call): rp_batch_prepare packs V (and
 * the item bias) as float once into a caller buffer of
 * rp_batch_items_size() bytes, and rp_batch_topk_prepared then needs only
 * rp_batch_run_size() bytes of scratch, a few KB for one user.  The items
 * struct points into the buffer and must not outlive it; it is read-only
 * during runs, so threads may share it.  `in` must describe the same V,
 * item bias and factors at prepare and run time.  A single-user,
 * single-thread run starts no thread.
 */
typedef struct rp_batch_items
{
	int32_t		n_items;
	int32_t		factors;
	int32_t		fa;				/* factors, + 1 with an item bias */
	int32_t		n_pad;
	int			avx512;			/* layout: AVX-512 panels or row-major */
	int			half;			/* panels of IEEE half values */
	const float *Vf;			/* (uint16_t values when half) */
	double		vmax;			/* largest item row norm (error bound) */
	double		qerr;			/* largest ||v_i - half(v_i)|| (0 for float) */
} rp_batch_items;

extern size_t rp_batch_items_size(const rp_batch_input *in, rp_batch_kernel kernel);
extern rp_status rp_batch_prepare(const rp_batch_input *in, rp_batch_kernel kernel,
								  void *buf, size_t size, rp_batch_items *out);
extern size_t rp_batch_run_size(const rp_batch_input *in, int32_t k, int nthreads,
								rp_batch_kernel kernel);
extern rp_status rp_batch_topk_prepared(const rp_batch_input *in, const rp_batch_items *items,
										int32_t k, int nthreads, void *work, size_t work_size,
										int32_t *out_idx, double *out_score, int32_t *out_count,
										const rp_cancel *cancel, rp_batch_stats *stats);

#endif							/* RP_BATCH_H */
