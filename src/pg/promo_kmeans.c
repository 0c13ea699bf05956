/*
 * promo_kmeans.c
 *	  SQL entry point of k-means segmentation: recpromo._kmeans_fit(x, k,
 *	  seed, max_iter) runs rp_kmeans_fit on a 2-D float8 array prepared by
 *	  the PL/pgSQL wrappers kmeans() and kmeans_clusters() (which read and
 *	  optionally standardise the caller's columns).
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

PG_FUNCTION_INFO_V1(recpromo__kmeans_fit);
Datum
recpromo__kmeans_fit(PG_FUNCTION_ARGS)
{
	int64		n;
	int			d;
	double	   *X, *centres, *work;
	int32		k, max_iter;
	int64		seed;
	int32	   *assign;
	int64	   *sizes;
	rp_kmeans_info info;
	rp_cancel	cancel = RecpromoCancelHook();
	TupleDesc	tupdesc;
	Datum		values[KMEANS_COLS];
	bool		nulls[KMEANS_COLS] = {false};
	Datum	   *ad, *cd, *sd;
	int			dims[2], lbs[2] = {1, 1};

	X = PromoFloatMatrix(PG_GETARG_ARRAYTYPE_P(0), "point matrix", &n, &d);
	k = PG_GETARG_INT32(1);
	seed = PG_GETARG_INT64(2);
	max_iter = PG_GETARG_INT32(3);
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
	centres = palloc(sizeof(double) * k * d);
	assign = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	sizes = palloc(sizeof(int64) * k);
	RecpromoCheckStatus(rp_kmeans_fit(n, d, X, k, (uint64) seed, max_iter,
									  centres, assign, sizes, work, &cancel,
									  &info), "k-means");
	CHECK_FOR_INTERRUPTS();

	ad = palloc_extended(sizeof(Datum) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
		ad[i] = Int32GetDatum(assign[i] + 1);	/* clusters are 1-based */
	cd = palloc(sizeof(Datum) * k * d);
	for (int64 i = 0; i < (int64) k * d; i++)
		cd[i] = Float8GetDatum(centres[i]);
	sd = palloc(sizeof(Datum) * k);
	for (int c = 0; c < k; c++)
		sd[c] = Int64GetDatum(sizes[c]);
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
	values[3] = Float8GetDatum(info.inertia);
	values[4] = Int32GetDatum(info.iterations);
	values[5] = BoolGetDatum(info.converged != 0);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
