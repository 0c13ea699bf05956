/*
 * eval_metrics.c
 *	  ranking_metrics(): one user's ranked list scored at k.
 *
 * The SQL entry point behind evaluate_rankings() (which aggregates it over
 * users) and a tool of its own for per-user or per-segment breakdowns.  It
 * takes the list as two parallel arrays, ranks (any order; equal ranks are
 * ties) and relevance flags, plus the size of the user's relevant set, sorts
 * the pairs by rank and hands them to rp_rank_metrics_user(), whose header
 * states the conventions (ties scored by their expectation, NDCG and MAP
 * normalised by min(k, |R|)).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "recpromo.h"
#include "rp_metrics.h"

#define RANKING_METRICS_COLS 8

typedef struct RankedEntry
{
	double		rank;
	unsigned char relevant;
} RankedEntry;

static int
RankedEntryCmp(const void *a, const void *b)
{
	double		x = ((const RankedEntry *) a)->rank;
	double		y = ((const RankedEntry *) b)->rank;

	return (x > y) - (x < y);
}

/* Deconstructs a one-dimensional array without NULLs; raises otherwise. */
static int
ArrayElements(ArrayType *a, Oid elemtype, const char *argname, Datum **elems)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", argname)));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(a, elemtype, typlen, typbyval, typalign, elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL elements", argname),
					 errhint("Leave out the rows with NULL ranks or relevance.")));
	return n;
}

/*
 * ranking_metrics(ranks float8[], relevant boolean[], n_relevant integer,
 *				   k integer)
 *	 -> (hits, precision, recall, f1, ndcg, average_precision, hit,
 *		 reciprocal_rank)
 */
PG_FUNCTION_INFO_V1(recpromo_ranking_metrics);
Datum
recpromo_ranking_metrics(PG_FUNCTION_ARGS)
{
	ArrayType  *ranks_a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *rel_a = PG_GETARG_ARRAYTYPE_P(1);
	int32		n_relevant = PG_GETARG_INT32(2);
	int32		k = PG_GETARG_INT32(3);
	Datum	   *ranks,
			   *rels;
	int			n,
				nr,
				nrel = 0;
	RankedEntry *entries;
	double	   *keys;
	unsigned char *flags;
	rp_rank_metrics m;
	TupleDesc	tupdesc;
	Datum		values[RANKING_METRICS_COLS];
	bool		nulls[RANKING_METRICS_COLS] = {0};
	int			c = 0;

	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1"),
				 errhint("k is the length of the ranked list to score, such as 10.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));

	n = ArrayElements(ranks_a, FLOAT8OID, "ranks", &ranks);
	nr = ArrayElements(rel_a, BOOLOID, "relevant", &rels);
	if (n != nr)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ranks and relevant must have the same length"),
				 errdetail("ranks has %d elements, relevant has %d.", n, nr)));

	/* n float8 ranks fit in 1 GB, n entries of 16 bytes may not */
	entries = palloc_extended(sizeof(RankedEntry) * ((Size) n + 1), MCXT_ALLOC_HUGE);
	for (int i = 0; i < n; i++)
	{
		double		r = DatumGetFloat8(ranks[i]);

		if (isnan(r) || isinf(r))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("ranks must be finite"),
					 errhint("Replace NaN or infinite ranks, or leave those rows out.")));
		entries[i].rank = r;
		entries[i].relevant = DatumGetBool(rels[i]) ? 1 : 0;
		nrel += entries[i].relevant;
	}
	if (n_relevant < 1 || n_relevant < nrel)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n_relevant must be at least 1 and at least the number of relevant entries"),
				 errdetail("n_relevant is %d, the list marks %d entries relevant.",
						   n_relevant, nrel),
				 errhint("n_relevant counts all of the user's relevant items; users with none have no recall and are left out.")));

	qsort(entries, n, sizeof(RankedEntry), RankedEntryCmp);
	keys = palloc_extended(sizeof(double) * ((Size) n + 1), MCXT_ALLOC_HUGE);
	flags = palloc(n + 1);
	for (int i = 0; i < n; i++)
	{
		keys[i] = entries[i].rank;
		flags[i] = entries[i].relevant;
	}
	RecpromoCheckStatus(rp_rank_metrics_user(k, n, keys, flags, n_relevant, &m),
						"ranking metrics");

	values[c++] = Float8GetDatum(m.hits);
	values[c++] = Float8GetDatum(m.precision);
	values[c++] = Float8GetDatum(m.recall);
	values[c++] = Float8GetDatum(m.f1);
	values[c++] = Float8GetDatum(m.ndcg);
	values[c++] = Float8GetDatum(m.ap);
	values[c++] = Float8GetDatum(m.hit);
	values[c++] = Float8GetDatum(m.rr);
	Assert(c == RANKING_METRICS_COLS);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
