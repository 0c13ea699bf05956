/*
 * charts.c
 *	  chart_*(): SVG charts of the numbers of recpromo's public functions.
 *
 * Each chart function is thin: it calls one public SQL function through SPI
 * (schema-qualified, under spi_guard's forced search_path) as its caller, so
 * with the caller's privileges, grants and row-level security, and so with
 * exactly the numbers and the errors the caller would get from that function
 * directly; it copies the rows into arrays, describes the chart
 * (rp_svg_chart) and lets the core writer (src/core/rp_svg.c) draw it.  Every
 * argument the underlying function takes is passed on unchanged, NULLs
 * included, so that function checks them.  The plotted values are the
 * function's own float8 values (data-y attributes, %.17g), except where the
 * chart says it shows a share or an index, computed here in double
 * precision in the order of the rows (doc/charts.md gives the formulas).
 *
 * Two charts draw more than one function row per mark: chart_bandit_history
 * stacks two panels in one image (rp_svg_render_stack), its x being the end
 * of each time bucket of bandit_history() in days, hours, minutes or
 * seconds since the first decision; chart_exposure states each model's
 * summary measures of exposure() (Gini, long-tail share, APLT, ARP) as facts
 * under the title (rp_svg_fact), next to the per-group bars.
 *
 * The one computation of its own is the bootstrap band of
 * chart_uplift_curve: the curve comes from uplift_curve(); the band around
 * it resamples the same rows (read like uplift_curve reads them: treated =
 * arm <> control, optionally only one treatment arm) n_boot times with a
 * seeded generator, evaluates each resample's curve with the core's
 * rp_uplift_evaluate at the same fractions, and takes pointwise percentile
 * intervals (rp_percentile_interval).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "recpromo.h"
#include "rp_rng.h"
#include "rp_stats.h"
#include "rp_svg.h"
#include "rp_uplift.h"
#include "spi_guard.h"

#define CHART_MAX_K 50
#define CHART_MAX_MODELS 16
#define CHART_MAX_POINTS 1000
#define CHART_MAX_BOOT 10000
#define CHART_MAX_BARS 200

/* ------------------------------------------------------------- plumbing */

static void *
SvgGrow(void *ptr, size_t size, void *arg)
{
	if (ptr == NULL)
		return MemoryContextAllocExtended(CurrentMemoryContext, size, MCXT_ALLOC_HUGE);
	return repalloc_huge(ptr, size);
}

/* Renders a chart description into a text Datum. */
static text *
RenderChart(const rp_svg_chart *c)
{
	rp_svg_buf	b = {0};
	rp_status	st;
	text	   *t;

	b.grow = SvgGrow;
	st = rp_svg_render(&b, c);
	if (st == RP_EINVAL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid chart description"),
				 errhint("The inputs must give every series one value per category.")));
	RecpromoCheckStatus(st, "chart rendering");
	t = cstring_to_text_with_len(b.data, (int) b.len);
	pfree(b.data);
	return t;
}

/* "schema". of the extension, from the function's own namespace. */
static char *
ExtSchema(FunctionCallInfo fcinfo)
{
	Oid			ns = get_func_namespace(fcinfo->flinfo->fn_oid);

	return psprintf("%s.", quote_identifier(get_namespace_name(ns)));
}

/*
 * A query's arguments: the function's own arguments from..from+n-1 passed
 * through as they came (values and NULLs), then extra ones.
 */
typedef struct QueryArgs
{
	int			n;
	Oid			types[16];
	Datum		values[16];
	char		nulls[16];
} QueryArgs;

static void
PassArgs(QueryArgs *q, FunctionCallInfo fcinfo, int from, int n)
{
	for (int i = from; i < from + n; i++)
	{
		Assert(q->n < 16);
		q->types[q->n] = get_fn_expr_argtype(fcinfo->flinfo, i);
		if (!OidIsValid(q->types[q->n]))
			q->types[q->n] = TEXTOID;
		q->values[q->n] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		q->nulls[q->n] = PG_ARGISNULL(i) ? 'n' : ' ';
		q->n++;
	}
}

static void
AddArg(QueryArgs *q, Oid type, Datum value, bool isnull)
{
	Assert(q->n < 16);
	q->types[q->n] = type;
	q->values[q->n] = isnull ? (Datum) 0 : value;
	q->nulls[q->n] = isnull ? 'n' : ' ';
	q->n++;
}

/* Runs a query inside an open SPI connection; returns the row count. */
static uint64
RunQuery(const char *sql, QueryArgs *q, bool read_only)
{
	int			rc = SPI_execute_with_args(sql, q->n, q->types, q->values,
										   q->nulls, read_only, 0);

	if (rc != SPI_OK_SELECT)
		RECPROMO_CANNOT_HAPPEN("chart query failed");
	return SPI_processed;
}

static double
GetFloat(uint64 row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? NAN : DatumGetFloat8(d);
}

/* text column copied into cxt ("(null)" for NULL) */
static char *
GetText(uint64 row, int col, MemoryContext cxt)
{
	char	   *s = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return MemoryContextStrdup(cxt, s != NULL ? s : "(null)");
}

static double *
AllocDoubles(MemoryContext cxt, int n)
{
	return MemoryContextAllocZero(cxt, sizeof(double) * (n > 0 ? n : 1));
}

/* ------------------------------------------------------ shared set-up */

/*
 * Heading and axes, the set-up every chart kind shares: the data-chart
 * kind, the title and subtitle, the axis labels with their units.  The y
 * axis includes 0: every chart of this file plots sizes, shares, rates or
 * gains, which read wrong on an axis that starts elsewhere.
 */
static void
SetAxes(rp_svg_chart *c, const char *kind, const char *title,
		const char *subtitle, const char *x_label, const char *x_unit,
		const char *y_label, const char *y_unit)
{
	c->kind = kind;
	c->title = title;
	c->subtitle = subtitle;
	c->x_label = x_label;
	c->x_unit = x_unit;
	c->y_label = y_label;
	c->y_unit = y_unit;
	c->y_from_zero = true;
}

/* A categorical x axis: point i of every series is category i. */
static void
SetCategories(rp_svg_chart *c, int n, const char *const *cats)
{
	c->n_categories = n;
	c->categories = cats;
}

/* The series of the chart, which are also the legend's entries in order. */
static void
SetSeries(rp_svg_chart *c, int n, const rp_svg_series *s)
{
	c->n_series = n;
	c->series = s;
}

/*
 * One series: kind, legend name, n points at x (NULL on a categorical
 * chart) with values y, palette colour (-1: the series' position).
 */
static rp_svg_series
Series(rp_svg_kind kind, const char *name, int n, const double *x,
	   const double *y, int color)
{
	rp_svg_series s = {0};

	s.kind = kind;
	s.name = name;
	s.n = n;
	s.x = x;
	s.y = y;
	s.color = color;
	return s;
}

/* The same series with an interval [lo, hi] per point (bands, error bars). */
static rp_svg_series
WithInterval(rp_svg_series s, const double *lo, const double *hi)
{
	s.lo = lo;
	s.hi = hi;
	return s;
}

/* The same series drawn dashed: a reference line. */
static rp_svg_series
Dashed(rp_svg_series s)
{
	s.dashed = 1;
	return s;
}

/*
 * Columns first..first+ncols-1 of the n rows of SPI_tuptable as float8
 * arrays allocated in cxt (NaN for NULL); out[j] holds column first + j.
 */
static double **
FetchFloats(MemoryContext cxt, uint64 n, int first, int ncols)
{
	double	  **out = MemoryContextAllocZero(cxt, sizeof(double *) * ncols);

	for (int j = 0; j < ncols; j++)
	{
		out[j] = AllocDoubles(cxt, (int) n);
		for (uint64 r = 0; r < n; r++)
			out[j][r] = GetFloat(r, first + j);
	}
	return out;
}

/* Column col of the n rows of SPI_tuptable as strings in cxt (categories). */
static const char **
FetchTexts(MemoryContext cxt, uint64 n, int col)
{
	const char **out = MemoryContextAllocZero(cxt, sizeof(char *) * (n + 1));

	for (uint64 r = 0; r < n; r++)
		out[r] = GetText(r, col, cxt);
	return out;
}

/*
 * Runs sql, a query whose $1..$nargs are the function's own arguments
 * 0..nargs-1 passed on unchanged, inside an open SPI connection; returns
 * the row count.
 */
static uint64
RunPassing(FunctionCallInfo fcinfo, const char *sql, int nargs, bool read_only)
{
	QueryArgs	q = {0};

	PassArgs(&q, fcinfo, 0, nargs);
	return RunQuery(sql, &q, read_only);
}

static void
RequireArg(FunctionCallInfo fcinfo, int argno, const char *what, const char *hint)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what),
				 errhint("%s", hint)));
}

static void
CheckRange(int64 v, int64 lo, int64 hi, const char *what)
{
	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between " INT64_FORMAT " and " INT64_FORMAT, what, lo, hi),
				 errhint("Charts stay readable with few points; pass a smaller value.")));
}

/* The model names of a text[] argument: 1..CHART_MAX_MODELS, none NULL. */
static char **
ModelNames(FunctionCallInfo fcinfo, int argno, int *n)
{
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	RequireArg(fcinfo, argno, "models", "Pass an array of model names, such as ARRAY['shop_pop', 'shop_als'].");
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("models must be a one-dimensional array")));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	if (*n < 1 || *n > CHART_MAX_MODELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("models must name between 1 and %d models", CHART_MAX_MODELS),
				 errhint("Pass an array of model names, such as ARRAY['shop_pop', 'shop_als'].")));
	out = palloc(sizeof(char *) * *n);
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("models must not contain nulls"),
					 errhint("Name each model; NULL (the default model) cannot be told apart in a chart.")));
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

/* ------------------------------------------------- recommendation quality */

static const struct
{
	const char *name;			/* argument value and column prefix */
	const char *label;			/* axis label */
	const char *title;			/* in the heading */
}			rank_metrics[] = {
	{"precision", "precision", "Precision"},
	{"recall", "recall", "Recall"},
	{"f1", "F1", "F1"},
	{"ndcg", "NDCG", "NDCG"},
	{"map", "MAP", "MAP"},
	{"hit_rate", "hit rate", "Hit rate"},
	{"mrr", "MRR", "MRR"},
};

#define N_RANK_METRICS ((int) lengthof(rank_metrics))

/*
 * chart_metrics_at_k(models text[], test_source regclass, user_col name,
 *	   item_col name, metric text, max_k integer, exclude_seen boolean)
 * One line per model: the metric of evaluate(model, test_source, user_col,
 * item_col, k => k, exclude_seen => exclude_seen) at k = 1..max_k.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_metrics_at_k);
Datum
recpromo_chart_metrics_at_k(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			nm,
				max_k,
				mi = -1,
				token;
	char	  **models = ModelNames(fcinfo, 0, &nm);
	char	   *metric,
			   *sql,
			   *schema = ExtSchema(fcinfo);
	double	   *x;
	rp_svg_series *series;
	rp_svg_chart c = {0};

	RequireArg(fcinfo, 4, "metric", "Pass one of precision, recall, f1, ndcg, map, hit_rate, mrr.");
	RequireArg(fcinfo, 5, "max_k", "Pass the largest list length to plot, such as 10.");
	metric = text_to_cstring(PG_GETARG_TEXT_PP(4));
	for (int i = 0; i < N_RANK_METRICS; i++)
		if (strcmp(metric, rank_metrics[i].name) == 0)
			mi = i;
	if (mi < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown metric \"%s\"", metric),
				 errhint("Pass one of precision, recall, f1, ndcg, map, hit_rate, mrr.")));
	max_k = PG_GETARG_INT32(5);
	CheckRange(max_k, 1, CHART_MAX_K, "max_k");

	x = AllocDoubles(cxt, max_k);
	for (int k = 0; k < max_k; k++)
		x[k] = k + 1;
	series = palloc0(sizeof(rp_svg_series) * nm);
	sql = psprintf("SELECT e.%s_at_k FROM pg_catalog.generate_series(1, $5) AS g(k), "
				   "LATERAL %sevaluate($1, $2, $3, $4, k => g.k, exclude_seen => $6) AS e ORDER BY g.k",
				   rank_metrics[mi].name, schema);
	token = RecpromoSpiConnect();
	for (int m = 0; m < nm; m++)
	{
		QueryArgs	q = {0};
		uint64		n;

		AddArg(&q, TEXTOID, CStringGetTextDatum(models[m]), false);
		PassArgs(&q, fcinfo, 1, 3);
		AddArg(&q, INT4OID, Int32GetDatum(max_k), false);
		PassArgs(&q, fcinfo, 6, 1);
		n = RunQuery(sql, &q, true);
		series[m] = Series(RP_SVG_LINE, models[m], (int) n, x, FetchFloats(cxt, n, 1, 1)[0], -1);
		CHECK_FOR_INTERRUPTS();
	}
	RecpromoSpiFinish(token);

	SetAxes(&c, "metrics_at_k",
			psprintf("%s at k, %d model%s", rank_metrics[mi].title, nm, nm > 1 ? "s" : ""),
			"evaluate() on the held-out rows at each list length k; higher is better",
			"k, length of the recommended list", "items",
			psprintf("%s at k", rank_metrics[mi].label), "fraction, 0 to 1");
	SetSeries(&c, nm, series);
	c.x_integer = true;
	PG_RETURN_TEXT_P(RenderChart(&c));
}

/*
 * chart_model_comparison(models text[], test_source regclass, user_col name,
 *	   item_col name, k integer, exclude_seen boolean)
 * Grouped bars: precision, recall, NDCG, MAP, hit rate, MRR at k and
 * coverage from evaluate(), one bar per model in each group.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_model_comparison);
Datum
recpromo_chart_model_comparison(PG_FUNCTION_ARGS)
{
	static const char *const cats[] = {"precision", "recall", "NDCG", "MAP",
	"hit rate", "MRR", "coverage"};
	const int	ncat = lengthof(cats);
	MemoryContext cxt = CurrentMemoryContext;
	int			nm,
				token;
	char	  **models = ModelNames(fcinfo, 0, &nm);
	char	   *schema = ExtSchema(fcinfo);
	char	   *sql;
	rp_svg_series *series;
	rp_svg_chart c = {0};
	int32		k;

	RequireArg(fcinfo, 4, "k", "Pass the list length, such as 10.");
	k = PG_GETARG_INT32(4);
	series = palloc0(sizeof(rp_svg_series) * nm);
	sql = psprintf("SELECT e.precision_at_k, e.recall_at_k, e.ndcg_at_k, e.map_at_k, e.hit_rate_at_k, "
				   "e.mrr_at_k, e.coverage FROM %sevaluate($1, $2, $3, $4, k => $5, exclude_seen => $6) AS e",
				   schema);
	token = RecpromoSpiConnect();
	for (int m = 0; m < nm; m++)
	{
		QueryArgs	q = {0};
		double	   *y = AllocDoubles(cxt, ncat);

		AddArg(&q, TEXTOID, CStringGetTextDatum(models[m]), false);
		PassArgs(&q, fcinfo, 1, 5);
		if (RunQuery(sql, &q, true) != 1)
			RECPROMO_CANNOT_HAPPEN("evaluate returned no row");
		for (int j = 0; j < ncat; j++)
			y[j] = GetFloat(0, j + 1);
		series[m] = Series(RP_SVG_BARS, models[m], ncat, NULL, y, -1);
		CHECK_FOR_INTERRUPTS();
	}
	RecpromoSpiFinish(token);

	SetAxes(&c, "model_comparison", psprintf("Models compared at k = %d", k),
			"evaluate() on the held-out rows; higher is better, coverage is the share of the catalogue recommended",
			"metric", NULL, "value", "fraction, 0 to 1");
	SetCategories(&c, ncat, cats);
	SetSeries(&c, nm, series);
	PG_RETURN_TEXT_P(RenderChart(&c));
}

/* ------------------------------------------------------------ promotions */

/*
 * Reads the rows of an uplift evaluation as uplift_curve() reads them (its
 * arguments 0..5 of fcinfo: source, score, treatment and outcome columns,
 * treatment, control), ordered like it.  Called after uplift_curve()
 * succeeded, so the columns exist and have usable types.
 */
static int64
ReadUpliftRows(FunctionCallInfo fcinfo, MemoryContext cxt, double **score,
			   uint8_t **treated, double **y)
{
	Oid			rel = PG_GETARG_OID(0);
	const char *cols[3];
	char	   *expr[3];
	char	   *sql;
	QueryArgs	q = {0};
	uint64		n;

	for (int i = 0; i < 3; i++)
	{
		AttrNumber	att;
		Oid			t;
		int			argno = i == 0 ? 1 : (i == 1 ? 2 : 3);

		cols[i] = NameStr(*PG_GETARG_NAME(argno));
		att = get_attnum(rel, cols[i]);
		t = att == InvalidAttrNumber ? InvalidOid : get_atttype(rel, att);
		if (i == 1)
			expr[i] = psprintf("(%s)::pg_catalog.text OPERATOR(pg_catalog.<>) $1", quote_identifier(cols[i]));
		else if (t == BOOLOID)
			expr[i] = psprintf("(%s)::pg_catalog.int4::pg_catalog.float8", quote_identifier(cols[i]));
		else
			expr[i] = psprintf("(%s)::pg_catalog.float8", quote_identifier(cols[i]));
	}
	sql = psprintf("SELECT %s, %s, %s FROM %s WHERE ($2 IS NULL OR (%s)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[$1, $2])) "
				   "AND %s IS NOT NULL AND %s IS NOT NULL AND %s IS NOT NULL ORDER BY 1, 2, 3",
				   expr[0], expr[1], expr[2], RecpromoQualifiedRelation(rel), quote_identifier(cols[1]),
				   quote_identifier(cols[0]), quote_identifier(cols[1]), quote_identifier(cols[2]));
	PassArgs(&q, fcinfo, 5, 1);
	PassArgs(&q, fcinfo, 4, 1);
	q.types[0] = q.types[1] = TEXTOID;
	n = RunQuery(sql, &q, true);
	*score = MemoryContextAllocHuge(cxt, sizeof(double) * (n + 1));
	*y = MemoryContextAllocHuge(cxt, sizeof(double) * (n + 1));
	*treated = MemoryContextAllocHuge(cxt, n + 1);
	for (uint64 r = 0; r < n; r++)
	{
		bool		isnull;

		(*score)[r] = GetFloat(r, 1);
		(*treated)[r] = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull)) ? 1 : 0;
		(*y)[r] = GetFloat(r, 3);
	}
	return (int64) n;
}

/*
 * chart_uplift_curve(source, score_col, treatment_col, outcome_col,
 *	   treatment, control, curve, points, n_boot, seed, confidence)
 * The Qini (or uplift) curve of uplift_curve(), its random-targeting line,
 * and a pointwise percentile bootstrap band.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_uplift_curve);
Datum
recpromo_chart_uplift_curve(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *schema = ExtSchema(fcinfo);
	char	   *curve;
	bool		qini;
	int32		points,
				n_boot;
	int64		seed;
	double		conf;
	QueryArgs	q = {0};
	uint64		n;
	int			token,
				ns;
	double	   *fx,
			   *fy,
			   *fr,
			   *lo,
			   *hi;
	rp_svg_series series[3];
	rp_svg_chart c = {0};

	RequireArg(fcinfo, 6, "curve", "Pass 'qini' or 'uplift'.");
	RequireArg(fcinfo, 7, "points", "Pass the number of points of the curve, such as 20.");
	RequireArg(fcinfo, 8, "n_boot", "Pass the number of bootstrap resamples, such as 200, or 0 for no band.");
	RequireArg(fcinfo, 9, "seed", "Pass any integer seed, such as 42.");
	RequireArg(fcinfo, 10, "confidence", "Pass the band's confidence level, such as 0.9.");
	curve = text_to_cstring(PG_GETARG_TEXT_PP(6));
	if (strcmp(curve, "qini") != 0 && strcmp(curve, "uplift") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown curve \"%s\"", curve),
				 errhint("Pass 'qini' or 'uplift'.")));
	qini = curve[0] == 'q';
	points = PG_GETARG_INT32(7);
	CheckRange(points, 1, CHART_MAX_POINTS, "points");
	n_boot = PG_GETARG_INT32(8);
	CheckRange(n_boot, 0, CHART_MAX_BOOT, "n_boot");
	seed = PG_GETARG_INT64(9);
	conf = PG_GETARG_FLOAT8(10);
	if (!(conf > 0.0 && conf < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("confidence must be between 0 and 1, exclusive"),
				 errhint("Pass a level such as 0.9 or 0.95.")));

	token = RecpromoSpiConnect();
	PassArgs(&q, fcinfo, 0, 6);
	AddArg(&q, INT4OID, Int32GetDatum(points), false);
	n = RunQuery(psprintf("SELECT c.fraction, c.%s, c.random FROM %suplift_curve($1, $2, $3, $4, $5, $6, $7) AS c "
						  "ORDER BY c.fraction", qini ? "qini" : "uplift", schema), &q, true);
	/* a leading (0, 0): every curve starts there */
	fx = AllocDoubles(cxt, (int) n + 1);
	fy = AllocDoubles(cxt, (int) n + 1);
	fr = AllocDoubles(cxt, (int) n + 1);
	for (uint64 r = 0; r < n; r++)
	{
		fx[r + 1] = GetFloat(r, 1);
		fy[r + 1] = GetFloat(r, 2);
		fr[r + 1] = GetFloat(r, 3);
	}
	lo = hi = NULL;
	if (n_boot > 0 && n == (uint64) points)
	{
		double	   *score,
				   *y;
		uint8_t    *treated;
		int64		rows = ReadUpliftRows(fcinfo, cxt, &score, &treated, &y);

		RecpromoSpiFinish(token);
		token = -1;
		if (rows > 0)
		{
			int64	   *order = palloc_extended(sizeof(int64) * rows, MCXT_ALLOC_HUGE);
			void	   *work = palloc_extended(rp_uplift_order_workspace(rows), MCXT_ALLOC_HUGE);
			uint32	   *mult = palloc_extended(sizeof(uint32) * rows, MCXT_ALLOC_HUGE);
			double	   *reps = palloc_extended(sizeof(double) * (Size) n_boot * points, MCXT_ALLOC_HUGE);
			double	   *bf = palloc(sizeof(double) * points),
					   *bq = palloc(sizeof(double) * points),
					   *bu = palloc(sizeof(double) * points),
					   *col = palloc(sizeof(double) * n_boot);
			rp_rng		rng;
			int			done = 0,
						tries = 0;

			RecpromoCheckStatus(rp_uplift_order(rows, score, order, work), "uplift ordering");
			rp_rng_seed(&rng, (uint64) seed);
			while (done < n_boot && tries < 10 * n_boot + 100)
			{
				rp_uplift_metrics m;
				rp_status	st;

				memset(mult, 0, sizeof(uint32) * rows);
				for (int64 i = 0; i < rows; i++)
					mult[(int64) (rp_rng_uniform(&rng) * rows)]++;
				st = rp_uplift_evaluate(rows, order, score, treated, y, mult, 1.0,
										points, bf, bq, bu, &m);
				tries++;
				if (st == RP_EINVAL)
					continue;	/* an arm drawn empty: draw again */
				RecpromoCheckStatus(st, "uplift bootstrap");
				for (int j = 0; j < points; j++)
					reps[(Size) j * n_boot + done] = qini ? bq[j] : bu[j];
				done++;
				CHECK_FOR_INTERRUPTS();
			}
			if (done == n_boot)
			{
				lo = AllocDoubles(cxt, points + 1);
				hi = AllocDoubles(cxt, points + 1);
				for (int j = 0; j < points; j++)
				{
					memcpy(col, reps + (Size) j * n_boot, sizeof(double) * n_boot);
					rp_percentile_interval(col, n_boot, (1 - conf) / 2, (1 + conf) / 2,
										   &lo[j + 1], &hi[j + 1]);
				}
			}
		}
	}
	if (token >= 0)
		RecpromoSpiFinish(token);

	ns = 0;
	if (lo != NULL)
		series[ns++] = WithInterval(Series(RP_SVG_BAND,
										   psprintf("%g%% bootstrap band (%d resamples)", conf * 100, n_boot),
										   (int) n + 1, fx, NULL, 0), lo, hi);
	series[ns++] = Series(RP_SVG_LINE, qini ? "Qini curve" : "uplift curve", (int) n + 1, fx, fy, 0);
	series[ns++] = Dashed(Series(RP_SVG_LINE, "random targeting", (int) n + 1, fx, fr, 6));
	SetAxes(&c, qini ? "qini_curve" : "uplift_curve",
			qini ? "Qini curve: incremental outcome by targeting depth"
			: "Cumulative uplift curve by targeting depth",
			"uplift_curve(): customers sorted by score, highest first; above the dashed line the score beats random targeting",
			"share of customers targeted, highest scores first", "fraction",
			qini ? "incremental outcome per treated customer" : "incremental outcome per customer",
			"outcome units");
	SetSeries(&c, ns, series);
	PG_RETURN_TEXT_P(RenderChart(&c));
}

/*
 * chart_uplift_by_decile(source, score_col, treatment_col, outcome_col,
 *	   treatment, control, bins)
 * Bars of uplift_by_decile()'s observed uplift per score bin.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_uplift_by_decile);
Datum
recpromo_chart_uplift_by_decile(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	uint64		n;
	int			token;
	double	  **col;
	const char **cats;
	rp_svg_series s;
	rp_svg_chart c = {0};

	token = RecpromoSpiConnect();
	n = RunPassing(fcinfo, psprintf("SELECT d.decile::pg_catalog.text, d.uplift FROM %suplift_by_decile($1, $2, $3, $4, $5, $6, $7) AS d "
									"ORDER BY d.decile", ExtSchema(fcinfo)), 7, true);
	cats = FetchTexts(cxt, n, 1);
	col = FetchFloats(cxt, n, 2, 1);
	RecpromoSpiFinish(token);

	s = Series(RP_SVG_BARS, "uplift: treated mean - control mean", (int) n, NULL, col[0], 2);
	SetAxes(&c, "uplift_by_decile", "Observed uplift by score bin",
			"uplift_by_decile(): bin 1 holds the highest scores; a good score puts the tall bars on the left",
			"score bin, 1 = highest scores", NULL, "uplift", "outcome units per customer");
	SetCategories(&c, (int) n, cats);
	SetSeries(&c, 1, &s);
	PG_RETURN_TEXT_P(RenderChart(&c));
}

/*
 * chart_profit_curve(candidates, customer_col, offer_col, value_col,
 *	   cost_col, budgets, offer_limits)
 * assign_offers_curve(): profit, its upper bound and the spend against the
 * budget.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_profit_curve);
Datum
recpromo_chart_profit_curve(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	uint64		n;
	int			token;
	double	  **col;			/* budget, profit, upper bound, spent */
	rp_svg_series s[3];
	rp_svg_chart c = {0};

	token = RecpromoSpiConnect();
	n = RunPassing(fcinfo, psprintf("SELECT a.budget, a.profit, a.upper_bound, a.spent FROM %sassign_offers_curve($1, $2, $3, $4, $5, $6, $7) AS a",
									ExtSchema(fcinfo)), 7, true);
	col = FetchFloats(cxt, n, 1, 4);
	RecpromoSpiFinish(token);

	s[0] = Series(RP_SVG_LINE, "profit of the assignment", (int) n, col[0], col[1], 2);
	s[1] = Dashed(Series(RP_SVG_LINE, "upper bound on profit", (int) n, col[0], col[2], 6));
	s[2] = Series(RP_SVG_LINE, "budget spent", (int) n, col[0], col[3], 1);
	SetAxes(&c, "profit_curve", "Profit versus budget",
			"assign_offers_curve(): where the profit line flattens, more budget buys little",
			"budget", "money", "profit, bound and spend", "money");
	SetSeries(&c, 3, s);
	PG_RETURN_TEXT_P(RenderChart(&c));
}

/* --------------------------------------------------------------- segments */

/*
 * chart_rfm_segments(orders, customer_col, date_col, amount_col, as_of,
 *	   order_col, returns_mode)
 * Per rfm() segment: its share of customers and its share of value
 * (summed monetary), in percent, segments by value.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_rfm_segments);
Datum
recpromo_chart_rfm_segments(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	uint64		n;
	int			token;
	double	  **col,
			   *cust,
			   *val,
				tc = 0,
				tv = 0;
	const char **cats;
	rp_svg_series s[2];
	rp_svg_chart c = {0};

	token = RecpromoSpiConnect();
	n = RunPassing(fcinfo, psprintf("SELECT r.segment, pg_catalog.count(*)::pg_catalog.float8, "
									"pg_catalog.sum(r.monetary)::pg_catalog.float8 "
									"FROM %srfm($1, $2, $3, $4, $5, $6, $7) AS r GROUP BY r.segment "
									"ORDER BY 3 DESC NULLS LAST, 1", ExtSchema(fcinfo)), 7, true);
	if (n > CHART_MAX_BARS)
		n = CHART_MAX_BARS;
	cats = FetchTexts(cxt, n, 1);
	col = FetchFloats(cxt, n, 2, 2);
	cust = col[0];
	val = col[1];
	RecpromoSpiFinish(token);
	for (uint64 r = 0; r < n; r++)
	{
		tc += cust[r];
		if (rp_finite(val[r]))
			tv += val[r];
	}
	for (uint64 r = 0; r < n; r++)
	{
		cust[r] = 100.0 * cust[r] / tc;
		val[r] = tv != 0 ? 100.0 * val[r] / tv : NAN;
	}

	s[0] = Series(RP_SVG_BARS, "share of customers", (int) n, NULL, cust, 4);
	s[1] = Series(RP_SVG_BARS, "share of value (monetary)", (int) n, NULL, val, 5);
	SetAxes(&c, "rfm_segments", "RFM segments: size and value",
			"rfm(): a segment whose value bar is taller than its customer bar is worth more than its size",
			"segment", NULL, "share", "% of all customers / of all value");
	SetCategories(&c, (int) n, cats);
	SetSeries(&c, 2, s);
	PG_RETURN_TEXT_P(RenderChart(&c));
}

/*
 * chart_kmeans_profiles(source, key_col, columns, k, seed, standardize,
 *	   max_iter)
 * Per kmeans_clusters() cluster and column: the centre as an index, 100 =
 * the mean of the column over all rows (the size-weighted mean of the
 * centres), so columns of different units share one axis.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_kmeans_profiles);
Datum
recpromo_chart_kmeans_profiles(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	uint64		n;
	int			token,
				d = 0;
	double	  **centre,
			   *size,
			   *mean,
				total = 0;
	const char **cats;
	rp_svg_series *s;
	rp_svg_chart c = {0};

	token = RecpromoSpiConnect();
	n = RunPassing(fcinfo, psprintf("SELECT k.cluster, k.size::pg_catalog.float8, k.centre FROM %skmeans_clusters($1, $2, $3, $4, $5, $6, $7) AS k "
									"ORDER BY k.cluster", ExtSchema(fcinfo)), 7, true);
	centre = MemoryContextAllocZero(cxt, sizeof(double *) * (n + 1));
	size = FetchFloats(cxt, n, 2, 1)[0];
	for (uint64 r = 0; r < n; r++)
	{
		bool		isnull;
		Datum		a = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &isnull);
		Datum	   *el;
		bool	   *nl;
		int			ne = 0;

		if (!isnull)
			deconstruct_array(DatumGetArrayTypeP(a), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &el, &nl, &ne);
		if (r == 0)
			d = ne;
		centre[r] = AllocDoubles(cxt, d);
		for (int j = 0; j < d && j < ne; j++)
			centre[r][j] = nl[j] ? NAN : DatumGetFloat8(el[j]);
	}
	RecpromoSpiFinish(token);

	/* categories: the column names as given */
	cats = MemoryContextAllocZero(cxt, sizeof(char *) * (d + 1));
	{
		ArrayType  *cols = PG_GETARG_ARRAYTYPE_P(2);
		Datum	   *el;
		bool	   *nl;
		int			ne;

		deconstruct_array(cols, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR, &el, &nl, &ne);
		for (int j = 0; j < d; j++)
			cats[j] = j < ne && !nl[j] ? pstrdup(NameStr(*DatumGetName(el[j]))) : "?";
	}
	mean = AllocDoubles(cxt, d);
	for (uint64 r = 0; r < n; r++)
		total += size[r];
	for (int j = 0; j < d; j++)
	{
		double		sum = 0;

		for (uint64 r = 0; r < n; r++)
			sum += size[r] * centre[r][j];
		mean[j] = sum / total;
	}
	s = palloc0(sizeof(rp_svg_series) * (n + 1));
	for (uint64 r = 0; r < n; r++)
	{
		double	   *y = AllocDoubles(cxt, d);

		for (int j = 0; j < d; j++)
			y[j] = mean[j] != 0 ? 100.0 * centre[r][j] / mean[j] : NAN;
		s[r] = Series(RP_SVG_BARS, psprintf("cluster %d (%.0f rows)", (int) r + 1, size[r]), d, NULL, y, -1);
	}
	SetAxes(&c, "kmeans_profiles", "Cluster profiles",
			"kmeans_clusters(): each cluster's centre per column as an index, 100 = the average row",
			"column", NULL, "centre as index of the mean", "100 = average");
	SetCategories(&c, d, cats);
	SetSeries(&c, (int) n, s);
	PG_RETURN_TEXT_P(RenderChart(&c));
}

/* ---------------------------------------------------------------- bandits */

/*
 * chart_bandit_arms(bandit text)
 * bandit_stats(): each arm's share of the decisions (bars) and its mean
 * reward with the 95% interval (points with error bars).
 */
PG_FUNCTION_INFO_V1(recpromo_chart_bandit_arms);
Datum
recpromo_chart_bandit_arms(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	uint64		n;
	int			token;
	double	  **col,			/* pulls (made shares), mean, lower, upper */
			   *share,
				total = 0;
	const char **cats;
	rp_svg_series s[2];
	rp_svg_chart c = {0};

	token = RecpromoSpiConnect();
	n = RunPassing(fcinfo, psprintf("SELECT b.arm, b.pulls::pg_catalog.float8, b.mean, b.lower, b.upper FROM %sbandit_stats($1::pg_catalog.text) AS b",
									ExtSchema(fcinfo)), 1, false);
	if (n > CHART_MAX_BARS)
		n = CHART_MAX_BARS;
	cats = FetchTexts(cxt, n, 1);
	col = FetchFloats(cxt, n, 2, 4);
	share = col[0];
	RecpromoSpiFinish(token);
	for (uint64 r = 0; r < n; r++)
		total += share[r];
	for (uint64 r = 0; r < n; r++)
		share[r] = total > 0 ? share[r] / total : NAN;

	s[0] = Series(RP_SVG_BARS, "share of decisions", (int) n, NULL, share, 4);
	s[1] = WithInterval(Series(RP_SVG_POINTS, "mean reward, 95% interval", (int) n, NULL, col[1], 5),
						col[2], col[3]);
	SetAxes(&c, "bandit_arms", "Bandit arms: traffic and reward",
			"bandit_stats(): the bandit sends more traffic to arms whose reward interval lies higher",
			"arm", NULL, "share of decisions / mean reward", "fraction");
	SetCategories(&c, (int) n, cats);
	SetSeries(&c, 2, s);
	PG_RETURN_TEXT_P(RenderChart(&c));
}

/*
 * chart_bandit_history(bandit text, buckets integer)
 * Two panels over bandit_history()'s time buckets: each arm's share of the
 * bucket's decisions (lines), and each arm's posterior mean reward with its
 * 95% interval (line and band).  x is the end of each bucket in hours (or
 * the unit that suits the span) since the first decision.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_bandit_history);
Datum
recpromo_chart_bandit_history(PG_FUNCTION_ARGS)
{
	static const struct
	{
		int64		usecs;
		const char *name;
	}			units[] = {
		{USECS_PER_DAY, "days"}, {USECS_PER_HOUR, "hours"},
		{USECS_PER_MINUTE, "minutes"}, {USECS_PER_SEC, "seconds"}
	};
	MemoryContext cxt = CurrentMemoryContext;
	uint64		n;
	int			token,
				k = 0,
				nb = 0,
				u = lengthof(units) - 1;
	double	  **col,			/* share, mean, lower, upper */
			   *x;
	TimestampTz t0 = 0,
			   *end;
	const char **arms;
	rp_svg_series *share,
			   *post;
	rp_svg_chart p[2];
	text	   *out;

	RequireArg(fcinfo, 1, "buckets", "Pass the number of time buckets, such as 20.");
	token = RecpromoSpiConnect();
	n = RunPassing(fcinfo, psprintf("SELECT h.bucket, h.arm, h.share, h.mean, h.lower, h.upper, h.bucket_start, h.bucket_end "
									"FROM %sbandit_history($1::pg_catalog.text, $2::pg_catalog.int4) WITH ORDINALITY AS h "
									"ORDER BY h.ordinality", ExtSchema(fcinfo)), 2, false);
	arms = FetchTexts(cxt, n, 2);
	col = FetchFloats(cxt, n, 3, 4);
	end = MemoryContextAllocZero(cxt, sizeof(TimestampTz) * (n + 1));
	for (uint64 r = 0; r < n; r++)
	{
		bool		isnull;

		end[r] = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 8, &isnull));
		if (r == 0)
			t0 = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 7, &isnull));
		if (DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)) == 1)
			k++;
	}
	RecpromoSpiFinish(token);

	/* rows come bucket by bucket, the arms in order within each */
	if (k > 0)
		nb = (int) (n / k);
	if (nb > 0)
		for (u = 0; u < (int) lengthof(units) - 1; u++)
			if (end[(Size) (nb - 1) * k] - t0 >= 2 * units[u].usecs)
				break;
	x = AllocDoubles(cxt, nb);
	for (int i = 0; i < nb; i++)
		x[i] = (double) (end[(Size) i * k] - t0) / (double) units[u].usecs;
	share = palloc0(sizeof(rp_svg_series) * (k + 1));
	post = palloc0(sizeof(rp_svg_series) * (2 * k + 1));
	for (int a = 0; a < k; a++)
	{
		double	   *y[4];

		for (int j = 0; j < 4; j++)
		{
			y[j] = AllocDoubles(cxt, nb);
			for (int i = 0; i < nb; i++)
				y[j][i] = col[j][(Size) i * k + a];
		}
		share[a] = Series(RP_SVG_LINE, psprintf("%s: share of decisions", arms[a]), nb, x, y[0], a);
		post[2 * a] = WithInterval(Series(RP_SVG_BAND, psprintf("%s: 95%% interval", arms[a]), nb, x, NULL, a),
								   y[2], y[3]);
		post[2 * a].no_legend = 1;
		post[2 * a + 1] = Series(RP_SVG_LINE, psprintf("%s: posterior mean", arms[a]), nb, x, y[1], a);
	}
	memset(p, 0, sizeof(p));
	SetAxes(&p[0], "bandit_history_shares", "Share of decisions per arm over time",
			"bandit_history(): the arms that win more of each time bucket's traffic are the ones the bandit believes in",
			"end of time bucket", psprintf("%s since %s", units[u].name, nb > 0 ? timestamptz_to_str(t0) : "the first decision"),
			"share of the bucket's decisions", "fraction");
	SetSeries(&p[0], k, share);
	SetAxes(&p[1], "bandit_history_posterior", "Posterior mean reward per arm, with 95% interval",
			"bandit_history(): bands that narrow and separate over time mean the bandit has learned which arm pays",
			"end of time bucket", p[0].x_unit, "posterior mean reward", "reward per decision");
	SetSeries(&p[1], 2 * k, post);
	{
		rp_svg_buf	b = {0};
		rp_status	st;

		b.grow = SvgGrow;
		st = rp_svg_render_stack(&b, "bandit_history", "Bandit over time: traffic and posterior reward", 2, p);
		if (st == RP_EINVAL)
			RECPROMO_CANNOT_HAPPEN("invalid bandit history chart");
		RecpromoCheckStatus(st, "chart rendering");
		out = cstring_to_text_with_len(b.data, (int) b.len);
	}
	PG_RETURN_TEXT_P(out);
}

/* --------------------------------------------------------------- exposure */

static const struct
{
	const char *measure;		/* exposure()'s name */
	const char *label;			/* in the chart */
}			exposure_measures[] = {
	{"gini", "Gini"},
	{"long_tail_share", "long-tail share"},
	{"aplt", "APLT"},
	{"arp", "ARP"},
};

/*
 * chart_exposure(models text[], test_source, user_col, item_col, k,
 *	   exclude_seen, item_groups, group_item_col, group_col, head_share)
 * exposure() of each model: per item group, bars of the model's share of
 * the recommended slots against the group's share of the relevant test
 * items (the first model's; another model's too where it differs), and
 * each model's Gini, long-tail share, APLT and ARP stated under the title.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_exposure);
Datum
recpromo_chart_exposure(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			nm,
				token,
				ncat = 0,
				ns = 0,
				nf = 0;
	char	  **models = ModelNames(fcinfo, 0, &nm);
	char	   *sql;
	const char **cats = palloc0(sizeof(char *) * (CHART_MAX_BARS + 1));
	double	  **expo = palloc0(sizeof(double *) * nm),
			  **rel = palloc0(sizeof(double *) * nm);
	rp_svg_series *s = palloc0(sizeof(rp_svg_series) * (2 * nm + 1));
	rp_svg_fact *facts = palloc0(sizeof(rp_svg_fact) * (nm * lengthof(exposure_measures) + 1));
	rp_svg_chart c = {0};

	RequireArg(fcinfo, 4, "k", "Pass the list length, such as 10.");
	sql = psprintf("SELECT e.measure, e.item_group, e.value FROM %sexposure($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
				   "WITH ORDINALITY AS e ORDER BY e.ordinality", ExtSchema(fcinfo));
	token = RecpromoSpiConnect();
	for (int m = 0; m < nm; m++)
	{
		QueryArgs	q = {0};
		uint64		n;

		AddArg(&q, TEXTOID, CStringGetTextDatum(models[m]), false);
		PassArgs(&q, fcinfo, 1, 9);
		n = RunQuery(sql, &q, true);
		expo[m] = AllocDoubles(cxt, CHART_MAX_BARS);
		rel[m] = AllocDoubles(cxt, CHART_MAX_BARS);
		for (int j = 0; j < CHART_MAX_BARS; j++)
			expo[m][j] = rel[m][j] = NAN;
		for (uint64 r = 0; r < n; r++)
		{
			char	   *measure = GetText(r, 1, cxt);
			bool		isnull;
			int			g;

			(void) SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);
			if (isnull)
			{
				for (int j = 0; j < (int) lengthof(exposure_measures); j++)
					if (strcmp(measure, exposure_measures[j].measure) == 0)
						facts[nf++] = (rp_svg_fact)
						{
							.group = models[m],.key = exposure_measures[j].measure,
								.label = exposure_measures[j].label,.value = GetFloat(r, 3)
						};
				continue;
			}
			{
				char	   *group = GetText(r, 2, cxt);

				for (g = 0; g < ncat; g++)
					if (strcmp(cats[g], group) == 0)
						break;
				if (g == ncat)
				{
					if (ncat == CHART_MAX_BARS)
						continue;
					cats[ncat++] = group;
				}
			}
			if (strcmp(measure, "exposure_share") == 0)
				expo[m][g] = GetFloat(r, 3);
			else if (strcmp(measure, "relevant_share") == 0)
				rel[m][g] = GetFloat(r, 3);
		}
		CHECK_FOR_INTERRUPTS();
	}
	RecpromoSpiFinish(token);

	s[ns++] = Series(RP_SVG_BARS, "share of relevant test items", ncat, NULL, rel[0], 0);
	for (int m = 1; m < nm; m++)
	{
		bool		same = true;

		for (int g = 0; g < ncat; g++)
			same = same && (rel[m][g] == rel[0][g] || (isnan(rel[m][g]) && isnan(rel[0][g])));
		if (!same)
			s[ns++] = Series(RP_SVG_BARS, psprintf("%s: share of relevant test items", models[m]),
							 ncat, NULL, rel[m], 6);
	}
	for (int m = 0; m < nm; m++)
		s[ns++] = Series(RP_SVG_BARS, psprintf("%s: share of recommended slots", models[m]),
						 ncat, NULL, expo[m], m + 1);
	SetAxes(&c, "exposure", psprintf("Exposure by item group, top %d", PG_GETARG_INT32(4)),
			"exposure(): a group whose slot bar is far above its relevant-items bar is shown more than customers buy it",
			"item group", NULL, "share", "fraction of all slots / of all relevant items");
	SetCategories(&c, ncat, cats);
	SetSeries(&c, ns, s);
	c.n_facts = nf;
	c.facts = facts;
	PG_RETURN_TEXT_P(RenderChart(&c));
}

/* ---------------------------------------------------------------- generic */

/*
 * chart_bars(labels text[], value float8[], title, y_label, y_unit)
 * Bars of any (label, value) pairs, e.g. exposure share by item group.
 */
PG_FUNCTION_INFO_V1(recpromo_chart_bars);
Datum
recpromo_chart_bars(PG_FUNCTION_ARGS)
{
	ArrayType  *la,
			   *va;
	Datum	   *le,
			   *ve;
	bool	   *ln,
			   *vn;
	int			nl,
				nv;
	const char **cats;
	double	   *y;
	rp_svg_series s;
	rp_svg_chart c = {0};

	RequireArg(fcinfo, 0, "labels", "Pass the bar labels as a text array.");
	RequireArg(fcinfo, 1, "bar_values", "Pass the bar values as a float8 array.");
	la = PG_GETARG_ARRAYTYPE_P(0);
	va = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(la) > 1 || ARR_NDIM(va) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("labels and bar_values must be one-dimensional arrays")));
	deconstruct_array(la, TEXTOID, -1, false, TYPALIGN_INT, &le, &ln, &nl);
	deconstruct_array(va, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ve, &vn, &nv);
	if (nl != nv)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("labels and bar_values must have the same length"),
				 errdetail("labels has %d elements, bar_values %d.", nl, nv)));
	CheckRange(nl, 0, CHART_MAX_BARS, "the number of bars");
	cats = palloc0(sizeof(char *) * (nl + 1));
	y = AllocDoubles(CurrentMemoryContext, nl);
	for (int i = 0; i < nl; i++)
	{
		cats[i] = ln[i] ? "(null)" : TextDatumGetCString(le[i]);
		y[i] = vn[i] ? NAN : DatumGetFloat8(ve[i]);
	}
	s = Series(RP_SVG_BARS, PG_ARGISNULL(3) ? "value" : text_to_cstring(PG_GETARG_TEXT_PP(3)),
			   nl, NULL, y, 0);
	SetAxes(&c, "bars", PG_ARGISNULL(2) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(2)), NULL,
			PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5)), NULL,
			s.name, PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4)));
	SetCategories(&c, nl, cats);
	SetSeries(&c, 1, &s);
	PG_RETURN_TEXT_P(RenderChart(&c));
}
