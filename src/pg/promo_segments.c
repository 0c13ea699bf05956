/*
 * promo_segments.c
 *	  Customer profiles: rfm (recency, frequency, monetary value, quintile
 *	  scores and named segments), category_affinity (share of spend per
 *	  category) and k-means segments (kmeans, kmeans_clusters).
 *
 * rfm and category_affinity are one query each over the caller's orders
 * table, run with the caller's privileges (promo_query.c).  Money is summed
 * in numeric: a float8 amount becomes the numeric of its 15 significant
 * digits (the float8 -> numeric cast), so 3 x 2.55 counts as 7.65 and a net
 * spend of zero is exactly zero.  rfm's check for missing dates and amounts
 * and for non-finite amounts is a column of its query, tested on each row it
 * returns (RfmGuard): an rfm that returns no row raises nothing, as before.
 *
 * kmeans reads the chosen numeric columns in key order, standardised
 * (centre and scale of the feature specification, promo_spec.c) unless
 * standardize is false, and clusters them with PromoKmeans; kmeans_clusters
 * reports the same fit with centres in the columns' own units.  k, seed and
 * max_iter must not be NULL (22004, issue 18).
 *
 * Until 0.3.0 these were PL/pgSQL over internal SQL functions (_promo_rel,
 * _promo_coltype, _promo_money, _promo_raise_missing, _kmeans_read, ...)
 * that every role could call (issue 18).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "promo.h"
#include "recpromo.h"

static void
RfmGuard(Datum value, bool isnull)
{
	int64		n = isnull ? 0 : DatumGetInt64(value);

	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("date or amount has " INT64_FORMAT " missing or non-finite values", n),
				 errhint("Filter the rows with a view first.")));
}

/*
 * rfm(orders regclass, customer_col name, date_col name, amount_col name,
 *	   as_of timestamptz DEFAULT now(), order_col name DEFAULT NULL,
 *	   returns_mode text DEFAULT 'net')
 */
PG_FUNCTION_INFO_V1(recpromo_rfm);
Datum
recpromo_rfm(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Oid			rel;
	char	   *cust = PromoNameArg(fcinfo, 1);
	char	   *date = PromoNameArg(fcinfo, 2);
	char	   *order = PromoNameArg(fcinfo, 5);
	char	   *mode = PromoTextArg(fcinfo, 6);
	char	   *amt, *ord;
	Oid			dt;
	Oid			types[2] = {TIMESTAMPTZOID, TEXTOID};
	Datum		vals[2];

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	rel = PromoSourceArg(fcinfo, 0);
	PromoColType(rel, cust, "customer column");
	dt = PromoColType(rel, date, "date column");
	if (dt != DATEOID && dt != TIMESTAMPOID && dt != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of %s has type %s, expected a date or timestamp",
						date, PromoRelText(rel), PromoTypeText(dt))));
	amt = PromoMoneyExpr(rel, PromoNameArg(fcinfo, 3), "amount column");
	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of must not be null")));
	if (mode == NULL || (strcmp(mode, "net") != 0 && strcmp(mode, "ignore") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid returns_mode \"%s\"", mode ? mode : "<NULL>"),
				 errhint("Use 'net' (returns reduce monetary) or 'ignore' (only purchases count).")));
	if (order == NULL)
		ord = "NULL::pg_catalog.text";
	else
	{
		PromoColType(rel, order, "order column");
		ord = psprintf("(%s)::pg_catalog.text", quote_identifier(order));
	}
	vals[0] = PG_GETARG_DATUM(4);
	vals[1] = CStringGetTextDatum(mode);
	PromoReturnQueryGuarded(&pc, fcinfo, psprintf(
		"WITH lines AS ("
		"    SELECT (%1$s)::pg_catalog.text AS cu, (%2$s)::pg_catalog.timestamptz AS ts, %3$s AS amt, %4$s AS ord,"
		"           pg_catalog.row_number() OVER () AS rn"
		"      FROM %5$s WHERE (%1$s) IS NOT NULL),"
		" bad AS (SELECT pg_catalog.count(*) AS n FROM lines"
		"          WHERE ts IS NULL OR amt IS NULL"
		"             OR amt OPERATOR(pg_catalog.=) ANY ('{NaN,Infinity,-Infinity}'::pg_catalog.numeric[])),"
		" ords AS ("
		"    SELECT cu, pg_catalog.min(ts) AS ts, pg_catalog.sum(amt) AS amt"
		"      FROM lines GROUP BY cu, coalesce(ord, rn::pg_catalog.text)),"
		" per AS ("
		"    SELECT cu,"
		"           pg_catalog.floor(pg_catalog.extract('epoch',"
		"               $1 OPERATOR(pg_catalog.-) pg_catalog.max(ts) FILTER (WHERE amt OPERATOR(pg_catalog.>) 0))"
		"               OPERATOR(pg_catalog./) 86400)::pg_catalog.int4 AS rec,"
		"           pg_catalog.count(*) FILTER (WHERE amt OPERATOR(pg_catalog.>) 0) AS freq,"
		"           CASE WHEN $2 OPERATOR(pg_catalog.=) 'net' THEN pg_catalog.sum(amt)"
		"                ELSE pg_catalog.sum(amt) FILTER (WHERE amt OPERATOR(pg_catalog.>) 0) END AS mon"
		"      FROM ords GROUP BY cu"
		"    HAVING pg_catalog.count(*) FILTER (WHERE amt OPERATOR(pg_catalog.>) 0) OPERATOR(pg_catalog.>) 0),"
		" ranked AS ("
		"    SELECT per.*,"
		"           pg_catalog.rank() OVER (ORDER BY rec DESC) AS rr,"
		"           pg_catalog.rank() OVER (ORDER BY freq) AS fr,"
		"           pg_catalog.rank() OVER (ORDER BY mon) AS mr,"
		"           pg_catalog.count(*) OVER () AS n"
		"      FROM per),"
		" scored AS ("
		"    SELECT cu, rec, freq, mon,"
		"           (1 OPERATOR(pg_catalog.+) ((5 OPERATOR(pg_catalog.*) (rr OPERATOR(pg_catalog.-) 1)) OPERATOR(pg_catalog./) n))::pg_catalog.int4 AS r,"
		"           (1 OPERATOR(pg_catalog.+) ((5 OPERATOR(pg_catalog.*) (fr OPERATOR(pg_catalog.-) 1)) OPERATOR(pg_catalog./) n))::pg_catalog.int4 AS f,"
		"           (1 OPERATOR(pg_catalog.+) ((5 OPERATOR(pg_catalog.*) (mr OPERATOR(pg_catalog.-) 1)) OPERATOR(pg_catalog./) n))::pg_catalog.int4 AS m"
		"      FROM ranked)"
		" SELECT cu, rec, freq, mon, r, f, m,"
		"        pg_catalog.concat(r, f, m),"
		"        CASE WHEN r OPERATOR(pg_catalog.>=) 4 AND f OPERATOR(pg_catalog.>=) 4 THEN 'champions'"
		"             WHEN r OPERATOR(pg_catalog.>=) 3 AND f OPERATOR(pg_catalog.>=) 3 THEN 'loyal'"
		"             WHEN r OPERATOR(pg_catalog.>=) 4 AND f OPERATOR(pg_catalog.=) 1 THEN 'new customers'"
		"             WHEN r OPERATOR(pg_catalog.>=) 3 THEN 'promising'"
		"             WHEN r OPERATOR(pg_catalog.=) 1 AND f OPERATOR(pg_catalog.>=) 4 THEN 'cannot lose them'"
		"             WHEN f OPERATOR(pg_catalog.>=) 3 THEN 'at risk'"
		"             WHEN r OPERATOR(pg_catalog.=) 2 THEN 'hibernating'"
		"             ELSE 'lost' END,"
		"        (SELECT n FROM bad)"
		"   FROM scored",
		quote_identifier(cust), quote_identifier(date), amt, ord, PromoRelSql(rel)),
							2, types, vals, NULL, RfmGuard);
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * category_affinity(orders regclass, customer_col name, category_col name,
 *					 amount_col name DEFAULT NULL)
 */
PG_FUNCTION_INFO_V1(recpromo_category_affinity);
Datum
recpromo_category_affinity(PG_FUNCTION_ARGS)
{
	PromoCall	pc;
	Oid			rel;
	char	   *cust = PromoNameArg(fcinfo, 1);
	char	   *cat = PromoNameArg(fcinfo, 2);
	char	   *amt = "1::pg_catalog.numeric";

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	rel = PromoSourceArg(fcinfo, 0);
	PromoColType(rel, cust, "customer column");
	PromoColType(rel, cat, "category column");
	if (!PG_ARGISNULL(3))
		amt = PromoMoneyExpr(rel, PromoNameArg(fcinfo, 3), "amount column");
	/* net spend summed in numeric: a category whose purchases and returns cancel is exactly 0 and left out */
	PromoReturnQuery(&pc, fcinfo, psprintf(
		"WITH c AS ("
		"    SELECT (%1$s)::pg_catalog.text AS cu, (%2$s)::pg_catalog.text AS cat, pg_catalog.sum(%3$s) AS amt"
		"      FROM %4$s WHERE (%1$s) IS NOT NULL AND (%2$s) IS NOT NULL AND (%3$s) IS NOT NULL"
		"     GROUP BY 1, 2)"
		" SELECT cu, cat, amt,"
		"        (amt OPERATOR(pg_catalog./) pg_catalog.sum(amt) OVER (PARTITION BY cu))::pg_catalog.float8"
		"   FROM c WHERE amt OPERATOR(pg_catalog.>) 0",
		quote_identifier(cust), quote_identifier(cat), amt, PromoRelSql(rel)),
					 0, NULL, NULL, NULL);
	PromoEnd(&pc);
	return (Datum) 0;
}

/* ---------- k-means ---------- */

typedef struct KmeansRun
{
	PromoSpec	spec;
	Datum		keys;			/* text[] in key order */
	bool		keys_null;
	Datum		center;
	Datum		scale;
	PromoKmeansResult fit;
} KmeansRun;

/*
 * Arguments of kmeans and kmeans_clusters: source, key_col, columns, k,
 * seed, standardize, max_iter.  Reads the points in key order and fits.
 */
static void
KmeansFromArgs(PromoCall *pc, FunctionCallInfo fcinfo, KmeansRun *run)
{
	Oid			rel;
	char	   *key = PromoNameArg(fcinfo, 1);
	Datum		vals[3];
	Oid			types[3] = {FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID};
	Datum		out[2];
	bool		outnull[2];

	/* k, seed and max_iter have no usable default when NULL */
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null",
						PG_ARGISNULL(3) ? "k" : PG_ARGISNULL(4) ? "seed" : "max_iter"),
				 errhint("Give k, the number of clusters; omit seed and max_iter for their defaults (42 and 100).")));
	rel = PromoSourceArg(fcinfo, 0);
	PromoColType(rel, key, "key column");
	if (PG_ARGISNULL(2) || ArrayGetNItems(ARR_NDIM(PG_GETARG_ARRAYTYPE_P(2)),
										  ARR_DIMS(PG_GETARG_ARRAYTYPE_P(2))) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no columns given")));
	PromoFeatureSpec(pc, rel, PG_GETARG_ARRAYTYPE_P(2), NULL,
					 PG_ARGISNULL(5) ? true : PG_GETARG_BOOL(5), &run->spec);
	PromoSpecRoundTrip(&run->spec, NULL);
	PromoSpecValues(&run->spec, &vals[0], &vals[1], &vals[2]);
	run->center = vals[0];
	run->scale = vals[1];
	PromoQueryRow(pc, psprintf("SELECT pg_catalog.array_agg((%1$s)::pg_catalog.text ORDER BY %1$s),"
							   " pg_catalog.array_agg(ARRAY[%2$s] ORDER BY %1$s) FROM %3$s",
							   quote_identifier(key),
							   PromoJoinExprs(PromoDesignExprs(&run->spec, 1), run->spec.n),
							   PromoRelSql(rel)),
				  3, types, vals, NULL, 2, out, outnull);
	run->keys = out[0];
	run->keys_null = outnull[0];
	PromoKmeans(outnull[1] ? NULL : DatumGetArrayTypeP(out[1]), PG_GETARG_INT32(3),
				PG_GETARG_INT64(4), PG_GETARG_INT32(6), &run->fit);
}

/*
 * kmeans(source regclass, key_col name, columns name[], k int,
 *		  seed bigint DEFAULT 42, standardize bool DEFAULT true,
 *		  max_iter int DEFAULT 100) -> (key text, cluster int)
 */
PG_FUNCTION_INFO_V1(recpromo_kmeans);
Datum
recpromo_kmeans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PromoCall	pc;
	KmeansRun	run;
	Datum	   *kd;
	bool	   *kn;
	int			nk;

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	KmeansFromArgs(&pc, fcinfo, &run);
	deconstruct_array(DatumGetArrayTypeP(run.keys), TEXTOID, -1, false, TYPALIGN_INT,
					  &kd, &kn, &nk);
	for (int i = 0; i < nk; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {kn[i], false};

		values[0] = kd[i];
		values[1] = Int32GetDatum(run.fit.assign[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PromoEnd(&pc);
	return (Datum) 0;
}

/*
 * kmeans_clusters(the arguments of kmeans) -> (cluster int, size bigint,
 *		  centre float8[], inertia float8, iterations int)
 */
PG_FUNCTION_INFO_V1(recpromo_kmeans_clusters);
Datum
recpromo_kmeans_clusters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PromoCall	pc;
	KmeansRun	run;
	int			d;

	InitMaterializedSRF(fcinfo, 0);
	PromoBegin(&pc, fcinfo, true);
	KmeansFromArgs(&pc, fcinfo, &run);
	d = run.fit.d;
	for (int c = 0; c < run.fit.k; c++)
	{
		Datum		values[5];
		bool		nulls[5] = {false};
		double	   *centre = palloc(sizeof(double) * d);

		for (int j = 0; j < d; j++)
			centre[j] = run.fit.centres[(int64) c * d + j] * run.spec.f[j].scale +
				run.spec.f[j].center;
		values[0] = Int32GetDatum(c + 1);
		values[1] = Int64GetDatum(run.fit.sizes[c]);
		values[2] = PointerGetDatum(PromoMakeFloatArray(centre, d));
		values[3] = Float8GetDatum(run.fit.inertia);
		values[4] = Int32GetDatum(run.fit.iterations);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PromoEnd(&pc);
	return (Datum) 0;
}
