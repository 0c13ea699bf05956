/*
 * promo_kmeans.c
 *	  k-means clustering for the segments of promo_segments.c: PromoKmeans
 *	  runs rp_kmeans_fit (seeded k-means++ start, Lloyd iterations) on a 2-D
 *	  float8 array of points read, and optionally standardised, by kmeans()
 *	  and kmeans_clusters().  The old SQL entry point _kmeans_fit stays as a
 *	  C symbol for the 0.1.0 and 0.2.0 install scripts.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "promo.h"
#include "recpromo.h"
#include "rp_kmeans.h"

#define KMEANS_COLS 6
#define KMEANS_MAX_K 1000

void
PromoKmeans(ArrayType *xa, int k, int64 seed, int max_iter, PromoKmeansResult *r)
{
	int64		n;
	int			d;
	double	   *X, *work;
	rp_kmeans_info info;
	rp_cancel	cancel = RecpromoCancelHook();

	if (xa == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot cluster an empty set of points")));
	X = PromoFloatMatrix(xa, "point matrix", &n, &d);
	if (n < 1 || d < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot cluster an empty set of points")));
	if (k < 1 || k > KMEANS_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", KMEANS_MAX_K)));
	if (k > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k (%d) is larger than the number of rows (%lld)",
						k, (long long) n)));
	if (max_iter < 1 || max_iter > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_iter must be between 1 and 100000")));

	RecpromoCheckMemory((double) rp_kmeans_workspace(n, d, k) * sizeof(double) +
						(double) n * (sizeof(int32) + sizeof(Datum)), "k-means");
	work = palloc_extended(sizeof(double) * rp_kmeans_workspace(n, d, k), MCXT_ALLOC_HUGE);
	r->centres = palloc(sizeof(double) * k * d);
	r->assign = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	r->sizes = palloc(sizeof(int64) * k);
	RecpromoCheckStatus(rp_kmeans_fit(n, d, X, k, (uint64) seed, max_iter,
									  r->centres, r->assign, r->sizes, work, &cancel,
									  &info), "k-means");
	CHECK_FOR_INTERRUPTS();
	for (int64 i = 0; i < n; i++)
		r->assign[i] += 1;		/* clusters are 1-based */
	pfree(work);
	r->n = n;
	r->d = d;
	r->k = k;
	r->inertia = info.inertia;
	r->iterations = info.iterations;
	r->converged = info.converged != 0;
}

/*
 * Old entry point _kmeans_fit(x, k, seed, max_iter) of the 0.1.0 and 0.2.0
 * install scripts; no SQL function of this version uses it.
 */
PG_FUNCTION_INFO_V1(recpromo__kmeans_fit);
Datum
recpromo__kmeans_fit(PG_FUNCTION_ARGS)
{
	PromoKmeansResult r;
	TupleDesc	tupdesc;
	Datum		values[KMEANS_COLS];
	bool		nulls[KMEANS_COLS] = {false};
	Datum	   *ad, *cd, *sd;
	int			dims[2], lbs[2] = {1, 1};
	int64		n;
	int			k, d;

	PromoKmeans(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_INT32(1), PG_GETARG_INT64(2),
				PG_GETARG_INT32(3), &r);
	n = r.n;
	k = r.k;
	d = r.d;
	ad = palloc_extended(sizeof(Datum) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
		ad[i] = Int32GetDatum(r.assign[i]);
	cd = palloc(sizeof(Datum) * k * d);
	for (int64 i = 0; i < (int64) k * d; i++)
		cd[i] = Float8GetDatum(r.centres[i]);
	sd = palloc(sizeof(Datum) * k);
	for (int c = 0; c < k; c++)
		sd[c] = Int64GetDatum(r.sizes[c]);
	dims[0] = k;
	dims[1] = d;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = PointerGetDatum(construct_array(ad, (int) n, INT4OID, 4, true, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_md_array(cd, NULL, 2, dims, lbs, FLOAT8OID,
												   sizeof(float8), FLOAT8PASSBYVAL,
												   TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_array(sd, k, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = Float8GetDatum(r.inertia);
	values[4] = Int32GetDatum(r.iterations);
	values[5] = BoolGetDatum(r.converged);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
