/*
 * batch.c
 *	  recommend_all(): every user's top-n in one call, for
 *	  CREATE MATERIALIZED VIEW ... AS SELECT * FROM recpromo.recommend_all(10).
 *
 * Result key types.  A set-returning function's column types are fixed
 * when the query is planned, before the model is read, so they cannot
 * follow the model.  Two forms:
 *	- recommend_all(n, model, exclude_seen) returns bigint keys (the usual
 *	  integer customer and product ids; a text-keyed model whose keys do not
 *	  all parse as integers raises an error naming the typed form);
 *	- recommend_all(NULL::text, NULL::text, n, ...) takes typed NULLs that
 *	  select the user and item key types, in the style of
 *	  jsonb_populate_record(NULL::mytype, ...): results come back as
 *	  (user_id <user type>, item <item type>, score, rank).
 *
 * Work.  For a model whose method has factor matrices (method->factors),
 * the whole table comes from rp_batch_topk (src/core/rp_batch.c): blocked
 * float products with the exclusions and the partial top-n fused in,
 * multi-threaded over user blocks by recpromo.max_threads, exact double
 * results.  Other methods are scored user by user through method->score
 * with the same exclusion and rp_topk selection as recommend().  Either
 * way a user gets exactly what recommend(user, n, exclude_seen => ...)
 * returns for them, users in key order, rows in rank order.
 *
 * Threads exist only inside rp_batch_topk, which calls no PostgreSQL code;
 * the cancel hook stops it between user blocks and CHECK_FOR_INTERRUPTS
 * then raises the cancel.  A DEBUG1 message reports the kernel, the time
 * and the rate, and _sgemm_gflops() measures OpenBLAS's SGEMM rate in the
 * same process for comparison (benchmarks).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include <errno.h>
#include <math.h>

#include "compat.h"
#include "method.h"
#include "recpromo.h"
#include "rp_batch.h"
#include "rp_blas.h"
#include "rp_topk.h"

#define RECOMMEND_ALL_COLS 4

/* Emits one user's rows. */
static void
EmitUser(ReturnSetInfo *rsinfo, Datum ukey, const RecpromoKeys *items, Oid itype,
		 const int32 *idx, const double *sc, int32 k)
{
	for (int32 r = 0; r < k; r++)
	{
		Datum		values[RECOMMEND_ALL_COLS];
		bool		nulls[RECOMMEND_ALL_COLS] = {false, false, false, false};
		int			c = 0;

		values[c++] = ukey;
		values[c++] = RecpromoKeysGet(items, idx[r], itype);
		values[c++] = Float8GetDatum(sc[r]);
		values[c++] = Int32GetDatum(r + 1);
		Assert(c == RECOMMEND_ALL_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* The bigint form needs integer keys: say so before any work. */
static void
CheckIntegerKeys(const RecpromoModel *m)
{
	const RecpromoKeys *sets[2] = {&m->users, &m->items};

	for (int s = 0; s < 2; s++)
	{
		const RecpromoKeys *k = sets[s];

		if (k->kclass != RECPROMO_KEY_TEXT)
			continue;
		for (int32 i = 0; i < k->n; i++)
		{
			const char *t = k->text_buf + k->text_off[i];
			char	   *end;

			errno = 0;
			(void) strtoll(t, &end, 10);
			if (*t == '\0' || *end != '\0' || errno != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("model \"%s\" has %s key \"%s\", which is not an integer",
								m->row.name, s == 0 ? "user" : "item", t),
						 errhint("Choose the key types with typed nulls: recommend_all(NULL::text, NULL::text, n, ...).")));
		}
	}
}

/* Factor models: everything through rp_batch_topk. */
static void
AllByFactors(ReturnSetInfo *rsinfo, RecpromoModel *m, const RecpromoFactors *fx,
			 int32 n, bool exclude_seen, Oid utype, Oid itype)
{
	rp_batch_input in;
	int			threads = RecpromoThreads();
	size_t		ws;
	void	   *work;
	int32	   *oi;
	double	   *os;
	int32	   *oc;
	rp_cancel	cancel = RecpromoCancelHook();
	rp_batch_stats stats;
	rp_status	st;
	instr_time	t0;
	instr_time	t1;
	MemoryContext rowcxt;
	MemoryContext old;

	memset(&in, 0, sizeof(in));
	in.n_users = m->users.n;
	in.n_items = m->items.n;
	in.factors = fx->factors;
	in.U = fx->U;
	in.V = fx->V;
	in.user_bias = fx->user_bias;
	in.item_bias = fx->item_bias;
	in.global = fx->global;
	if (exclude_seen)
	{
		in.excl_indptr = m->seen.indptr;
		in.excl_indices = m->seen.indices;
	}
	ws = rp_batch_workspace_size(&in, n, threads);
	if (ws == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has an invalid number of factors (%d)",
						m->row.name, (int) fx->factors),
				 errhint("Train the model again.")));
	RecpromoCheckMemory((double) ws + (double) m->users.n * n * (sizeof(int32) + sizeof(double)),
						"recommend_all");
	work = MemoryContextAllocHuge(CurrentMemoryContext, ws);
	oi = MemoryContextAllocHuge(CurrentMemoryContext, Max((Size) m->users.n * n, 1) * sizeof(int32));
	os = MemoryContextAllocHuge(CurrentMemoryContext, Max((Size) m->users.n * n, 1) * sizeof(double));
	oc = MemoryContextAllocHuge(CurrentMemoryContext, Max((Size) m->users.n, 1) * sizeof(int32));

	INSTR_TIME_SET_CURRENT(t0);
	st = rp_batch_topk(&in, n, threads, RP_BATCH_AUTO, work, ws, oi, os, oc, &cancel, &stats);
	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	CHECK_FOR_INTERRUPTS();
	RecpromoCheckStatus(st, "recommend_all");
	ereport(DEBUG1,
			(errmsg("recommend_all: %lld users x %d items x %d factors, kernel %s, %d threads, "
					"%.3f s, %.1f GFLOP/s, %lld users rescored in double",
					(long long) stats.users, m->items.n, fx->factors, stats.kernel, threads,
					INSTR_TIME_GET_DOUBLE(t1),
					stats.flops / Max(INSTR_TIME_GET_DOUBLE(t1), 1e-9) / 1e9,
					(long long) stats.fallback_users)));
	pfree(work);

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "recommend_all rows", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(rowcxt);
	for (int32 u = 0; u < m->users.n; u++)
	{
		EmitUser(rsinfo, RecpromoKeysGet(&m->users, u, utype), &m->items, itype,
				 oi + (Size) u * n, os + (Size) u * n, oc[u]);
		if ((u & 1023) == 0)
		{
			MemoryContextReset(rowcxt);
			CHECK_FOR_INTERRUPTS();
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rowcxt);
}

/* Other methods: one scoring per user, as recommend() does. */
static void
AllByScoring(ReturnSetInfo *rsinfo, RecpromoModel *m, int32 n, bool exclude_seen,
			 Oid utype, Oid itype)
{
	double	   *scores = palloc_extended(Max((Size) m->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	int32	   *idx = palloc(Max(n, 1) * sizeof(int32));
	double	   *sc = palloc(Max(n, 1) * sizeof(double));
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "recommend_all rows",
												 ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(rowcxt);

	for (int32 u = 0; u < m->users.n; u++)
	{
		int64		b = m->seen.indptr[u];
		int32		nh = (int32) (m->seen.indptr[u + 1] - b);
		int32		k;

		m->method->score(m, u, m->seen.indices + b, m->seen.values + b, nh, scores);
		if (exclude_seen)
			for (int32 h = 0; h < nh; h++)
				scores[m->seen.indices[b + h]] = -INFINITY;
		k = rp_topk(scores, m->items.n, NULL, Min(n, m->items.n), idx, sc);
		EmitUser(rsinfo, RecpromoKeysGet(&m->users, u, utype), &m->items, itype, idx, sc, k);
		MemoryContextReset(rowcxt);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rowcxt);
}

/*
 * recommend_all(n, model, exclude_seen)
 *	  RETURNS TABLE (user_id bigint, item bigint, score float8, rank int)
 * recommend_all(user_type anyelement, item_type anycompatible, n, model,
 *				 exclude_seen)
 *	  RETURNS TABLE (user_id anyelement, item anycompatible, score, rank)
 */
PG_FUNCTION_INFO_V1(recpromo_recommend_all);
Datum
recpromo_recommend_all(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			a = PG_NARGS() == 5 ? 2 : 0;	/* first of n, model, exclude_seen */
	int32		n;
	char	   *model;
	bool		exclude_seen;
	Oid			utype;
	Oid			itype;
	RecpromoModel *m;
	RecpromoFactors fx;

	if (PG_ARGISNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("n must not be null")));
	n = PG_GETARG_INT32(a);
	if (n < 0 || n > RP_BATCH_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 0 and %d", RP_BATCH_MAX_K),
				 errdetail("The value given was %d.", n)));
	model = PG_ARGISNULL(a + 1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(a + 1));
	exclude_seen = PG_ARGISNULL(a + 2) ? true : PG_GETARG_BOOL(a + 2);

	InitMaterializedSRF(fcinfo, 0);
	utype = TupleDescAttr(rsinfo->setDesc, 0)->atttypid;
	itype = TupleDescAttr(rsinfo->setDesc, 1)->atttypid;
	m = RecpromoModelGet(model);
	if (PG_NARGS() == 3)
		CheckIntegerKeys(m);
	if (n == 0 || m->users.n == 0)
		return (Datum) 0;

	if (m->method->factors != NULL && m->method->factors(m, &fx))
		AllByFactors(rsinfo, m, &fx, n, exclude_seen, utype, itype);
	else
		AllByScoring(rsinfo, m, n, exclude_seen, utype, itype);
	return (Datum) 0;
}

/*
 * _sgemm_gflops(m, n, k) RETURNS float8: the rate of one single-threaded
 * OpenBLAS SGEMM C(m x n) = A(m x k) B(k x n)^T in this backend (best of
 * three), so a benchmark can compare recommend_all with the library's GEMM
 * measured in the same process and run.
 */
PG_FUNCTION_INFO_V1(recpromo_sgemm_gflops);
Datum
recpromo_sgemm_gflops(PG_FUNCTION_ARGS)
{
	int32		m = PG_GETARG_INT32(0);
	int32		n = PG_GETARG_INT32(1);
	int32		k = PG_GETARG_INT32(2);
	float	   *A;
	float	   *B;
	float	   *C;
	double		best = 0.0;

	if (m < 1 || n < 1 || k < 1 || m > 100000 || n > 100000 || k > 4096)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sizes must be between 1 and 100000 (k up to 4096)")));
	RecpromoCheckMemory(((double) m * k + (double) n * k + (double) m * n) * sizeof(float),
						"_sgemm_gflops");
	A = MemoryContextAllocHuge(CurrentMemoryContext, (Size) m * k * sizeof(float));
	B = MemoryContextAllocHuge(CurrentMemoryContext, (Size) n * k * sizeof(float));
	C = MemoryContextAllocHuge(CurrentMemoryContext, (Size) m * n * sizeof(float));
	for (Size i = 0; i < (Size) m * k; i++)
		A[i] = (float) ((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
	for (Size i = 0; i < (Size) n * k; i++)
		B[i] = (float) ((i * 40503u) % 1000) / 1000.0f - 0.5f;
	for (int rep = 0; rep < 3; rep++)
	{
		instr_time	t0;
		instr_time	t1;
		double		s;

		INSTR_TIME_SET_CURRENT(t0);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, B, k,
					0.0f, C, n);
		INSTR_TIME_SET_CURRENT(t1);
		INSTR_TIME_SUBTRACT(t1, t0);
		s = INSTR_TIME_GET_DOUBLE(t1);
		if (s > 0 && 2.0 * m * n * k / s / 1e9 > best)
			best = 2.0 * m * n * k / s / 1e9;
		CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_FLOAT8(best);
}
