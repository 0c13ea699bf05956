/*
 * method_factors.c
 *	  The `factors` method: serve embeddings trained elsewhere.
 *
 * A shop that trains its factor model outside the database (implicit,
 * LightFM, a two-tower network, an earlier recpromo export) imports it from
 * two tables of (key, float8[] or float4[] vector) and serves it like any
 * recpromo model: recommend, recommend_all, similar_items/users, predict,
 * explain_recommendation, with exclusions, filters and fold-in.
 *
 *	SELECT * FROM recpromo.train('emb', 'orders', 'customer_id', 'sku',
 *		method => 'factors',
 *		params => '{"user_factors": "user_emb", "item_factors": "item_emb"}');
 *
 * The interaction source still defines the model's users and items (what is
 * excluded as already bought, and the live table new users are folded in
 * from).  Each factor table has a key column (`key_col`, default "id") and
 * a vector column (`vector_col`, default "factors"); every vector must have
 * the same length, no NULL element and finite values.  A table name without
 * a schema is looked up in the source table's schema (train() runs with a
 * fixed search_path).  A key listed twice is
 * an error; factor rows whose key the source does not know are ignored, and
 * source users or items without a row get a zero vector (both counted in a
 * NOTICE).  The factor tables are read once, at training, with the caller's
 * privileges (SELECT is checked) and row-level security.
 *
 * Scores are score(u, i) = x_u . y_i.  A user the model has not seen is
 * folded in by one implicit-ALS half step against the fixed item vectors
 * (Hu, Koren and Volinsky, "Collaborative Filtering for Implicit Feedback
 * Datasets", ICDM 2008, eq. 4): with confidence c_j = 1 + alpha r_uj,
 *	x_u = (Y^T Y + sum_j (c_j - 1) y_j y_j^T + lambda I)^-1 sum_j c_j y_j,
 * where Y^T Y is computed once at load, so a fold-in costs
 * O(h f^2 + f^3) for h history items.  explain uses the same paper's
 * section 5: with W = (Y^T C Y + lambda I)^-1, the score of item i splits
 * over the history as sum_j (y_i^T W y_j) c_j.  For a user the model knows,
 * that decomposition explains the fold-in estimate of the user's vector
 * (equal to the stored vector when it came from the same ALS).  Similarities
 * are cosines between the vectors (0 for a zero vector).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "method.h"
#include "model_validate.h"
#include "recpromo.h"
#include "spi_guard.h"
#include "rp_blas.h"

#define RECPROMO_MAX_FACTORS 4096

typedef struct FactorsState
{
	int32		f;
	const double *U;			/* n_users x f */
	const double *V;			/* n_items x f */
	double	   *VtV;			/* f x f */
	double	   *unorm;
	double	   *vnorm;
	double		lambda;
	double		alpha;
} FactorsState;

/* A string hyper-parameter (recorded like the framework's own). */
static const char *
ParamString(RecpromoTrainState *ts, const char *name, const char *def)
{
	JsonbValue *v = RecpromoParamLookup(ts, name);
	const char *r = def;
	StringInfoData json;

	if (v != NULL && v->type != jbvNull)
	{
		if (v->type != jbvString || v->val.string.len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyper-parameter \"%s\" must be a non-empty string", name)));
		r = pnstrdup(v->val.string.val, v->val.string.len);
	}
	if (r == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"factors\" needs the hyper-parameter \"%s\"", name),
				 errhint("Pass params => '{\"user_factors\": \"user_table\", \"item_factors\": \"item_table\"}'.")));
	initStringInfo(&json);
	escape_json(&json, r);
	RecpromoParamRecord(ts, name, json.data);
	return r;
}

/* What ReadFactorTable's rows fill (FactorRow). */
typedef struct FactorRead
{
	const char *what;			/* "user factors" or "item factors", for messages */
	const char *relname;
	const RecpromoKeys *keys;	/* the source's dictionary */
	Oid			ktype;			/* of the key column */
	int32	   *f;				/* vector length, set by the first vector when 0 */
	double	  **out;			/* n x *f, allocated at the first vector */
	bool	   *have;			/* keys seen */
	int64		unknown;		/* rows of keys the dictionary does not know */
} FactorRead;

/*
 * One (key, vector) row of a factor table: checked (no NULLs, each key
 * once, one length, finite values within the loader's bound) and copied
 * into its key's row.
 */
static void
FactorRow(HeapTuple tup, TupleDesc td, void *arg)
{
	FactorRead *rd = arg;
	const char *what = rd->what;
	const char *relname = rd->relname;
	const RecpromoKeys *keys = rd->keys;
	int32	   *f = rd->f;
	double	  **out = rd->out;
	bool		isnull;
	Datum		kd = SPI_getbinval(tup, td, 1, &isnull);
	Datum		vd;
	int32		ix;
	ArrayType  *arr;
	int			nel;
	double	   *el;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s table \"%s\" has a null key", what, relname)));
	ix = RecpromoKeysFind(keys, kd, rd->ktype);
	if (ix < 0)
	{
		rd->unknown++;
		return;
	}
	if (rd->have[ix])
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("%s table \"%s\" lists key \"%s\" more than once",
						what, relname, RecpromoKeysGetCString(keys, ix))));
	vd = SPI_getbinval(tup, td, 2, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s table \"%s\" has a null vector for key \"%s\"",
						what, relname, RecpromoKeysGetCString(keys, ix))));
	arr = DatumGetArrayTypeP(vd);
	nel = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (ARR_NDIM(arr) > 1 || ARR_HASNULL(arr) || nel < 1 || nel > RECPROMO_MAX_FACTORS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid vector for key \"%s\" in %s table \"%s\"",
						RecpromoKeysGetCString(keys, ix), what, relname),
				 errdetail("Vectors must be one-dimensional, without null elements, with 1 to %d values.",
						   RECPROMO_MAX_FACTORS)));
	if (*f == 0)
		*f = nel;
	if (nel != *f)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector for key \"%s\" in %s table \"%s\" has %d values, expected %d",
						RecpromoKeysGetCString(keys, ix), what, relname, nel, *f)));
	if (*out == NULL)
	{
		RecpromoCheckMemory((double) keys->n * *f * sizeof(double), "importing factors");
		*out = palloc_extended(Max((Size) keys->n * *f, 1) * sizeof(double),
							   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	}
	el = (double *) ARR_DATA_PTR(arr);
	for (int c = 0; c < nel; c++)
	{
		if (!isfinite(el[c]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("vector for key \"%s\" in %s table \"%s\" has a NaN or infinite value",
							RecpromoKeysGetCString(keys, ix), what, relname)));
		/* the bound the loader checks (rp_validate.h): products stay finite */
		if (fabs(el[c]) > RP_VALIDATE_MAX_FACTOR)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("vector for key \"%s\" in %s table \"%s\" has a value out of range",
							RecpromoKeysGetCString(keys, ix), what, relname),
					 errdetail("Vector values must lie between -1e15 and 1e15.")));
		(*out)[(Size) ix * *f + c] = el[c];
	}
	rd->have[ix] = true;
	if ((Pointer) arr != DatumGetPointer(vd))
		pfree(arr);				/* a detoasted copy: rows must not pile up */
}

/*
 * Reads one factor table into out[n x *f] (rows of keys the dictionary does
 * not know are skipped).  *f is set by the first vector when 0.
 */
static void
ReadFactorTable(const char *what, Oid source_relid, const char *relname, const char *key_col,
				const char *vec_col, const RecpromoKeys *keys, int32 *f, double **out)
{
	List	   *names;
	Oid			relid;
	AttrNumber	katt;
	AttrNumber	vatt;
	Oid			vtype;
	Oid			ktype;
	AclResult	acl;
	char	   *sql;
	bool	   *have;
	int64		unknown;
	int64		missing = 0;
	FactorRead	rd;

	names = stringToQualifiedNameList(relname);
	/* train() runs with a fixed search_path: use the source's schema */
	if (list_length(names) == 1)
		names = lcons(makeString(get_namespace_name(get_rel_namespace(source_relid))), names);
	relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s table \"%s\" does not exist", what, relname),
				 errhint("A name without a schema is looked up in the schema of the source table.")));
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, get_relkind_objtype(get_rel_relkind(relid)), get_rel_name(relid));
	katt = get_attnum(relid, key_col);
	vatt = get_attnum(relid, vec_col);
	if (katt == InvalidAttrNumber || vatt == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of %s table \"%s\" does not exist",
						katt == InvalidAttrNumber ? key_col : vec_col, what, relname),
				 errhint("Name the columns with the hyper-parameters \"key_col\" and \"vector_col\".")));
	ktype = get_atttype(relid, katt);
	vtype = get_atttype(relid, vatt);
	if (vtype != FLOAT8ARRAYOID && vtype != FLOAT4ARRAYOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of %s table \"%s\" must be float8[] or float4[], not %s",
						vec_col, what, relname, format_type_be(vtype))));

	have = palloc0(Max((Size) keys->n, 1) * sizeof(bool));
	*out = NULL;
	sql = psprintf("SELECT %s, %s::pg_catalog.float8[] FROM %s",
				   quote_identifier(key_col), quote_identifier(vec_col),
				   RecpromoQualifiedRelation(relid));
	rd.what = what;
	rd.relname = relname;
	rd.keys = keys;
	rd.ktype = ktype;
	rd.f = f;
	rd.out = out;
	rd.have = have;
	rd.unknown = 0;
	RecpromoSpiForEachRow(sql, 0, NULL, NULL, 10000, CurrentMemoryContext, FactorRow, &rd);
	unknown = rd.unknown;
	if (*out == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s table \"%s\" has no vector for any key of the source", what, relname)));
	for (int32 i = 0; i < keys->n; i++)
		if (!have[i])
			missing++;
	if (unknown > 0 || missing > 0)
		ereport(NOTICE,
				(errmsg("%s table \"%s\": %lld rows with keys the source does not have were ignored, "
						"%lld keys of the source have no vector and get zeros",
						what, relname, (long long) unknown, (long long) missing)));
}

static void
FactorsTrain(RecpromoTrainState *ts)
{
	const char *ut = ParamString(ts, "user_factors", NULL);
	const char *it = ParamString(ts, "item_factors", NULL);
	const char *kc = ParamString(ts, "key_col", "id");
	const char *vc = ParamString(ts, "vector_col", "factors");
	int32		f = 0;
	int32		fu;
	double	   *U;
	double	   *V;

	RecpromoParamFloat(ts, "regularization", 0.1, 0.0, 1e9);
	RecpromoParamFloat(ts, "alpha", 1.0, 0.0, 1e9);
	ReadFactorTable("item factors", ts->src.relid, it, kc, vc, &ts->data.items, &f, &V);
	fu = f;
	ReadFactorTable("user factors", ts->src.relid, ut, kc, vc, &ts->data.users, &fu, &U);
	RecpromoPartsAdd(&ts->parts, "factors_dim", palloc0(sizeof(int32)), sizeof(int32));
	*(int32 *) ts->parts.parts[ts->parts.n - 1].data = f;
	RecpromoPartsAdd(&ts->parts, "factors_U", U, (Size) ts->data.users.n * f * sizeof(double));
	RecpromoPartsAdd(&ts->parts, "factors_V", V, (Size) ts->data.items.n * f * sizeof(double));
}

static void
RowNorms(const double *A, int32 n, int32 f, double *out)
{
	for (int32 r = 0; r < n; r++)
	{
		double		s = 0.0;

		for (int32 c = 0; c < f; c++)
			s += A[(Size) r * f + c] * A[(Size) r * f + c];
		out[r] = sqrt(s);
	}
}

static void
FactorsLoad(RecpromoModel *m, const RecpromoParts *parts)
{
	FactorsState *st = palloc0(sizeof(FactorsState));
	int32	   *dim = RecpromoModelPart(parts, m->row.name, "factors_dim", sizeof(int32), 1, NULL);

	st->f = *dim;
	if (st->f < 1 || st->f > RECPROMO_MAX_FACTORS)
		RecpromoModelCorrupt(m->row.name, "factors_dim", "has an invalid number of factors");
	st->U = RecpromoModelPartFactors(parts, m->row.name, "factors_U", (int64) m->users.n * st->f);
	st->V = RecpromoModelPartFactors(parts, m->row.name, "factors_V", (int64) m->items.n * st->f);
	st->lambda = RecpromoModelParamChecked(m, "regularization", 0.1, 0.0, 1e9);
	st->alpha = RecpromoModelParamChecked(m, "alpha", 1.0, 0.0, 1e9);
	st->VtV = palloc0((Size) st->f * st->f * sizeof(double));
	if (m->items.n > 0)
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, st->f, m->items.n, 1.0,
					st->V, st->f, 0.0, st->VtV, st->f);
	/* mirror the upper triangle so VtV is a full symmetric matrix */
	for (int32 a = 0; a < st->f; a++)
		for (int32 b = 0; b < a; b++)
			st->VtV[(Size) a * st->f + b] = st->VtV[(Size) b * st->f + a];
	st->unorm = palloc_extended(Max((Size) m->users.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	st->vnorm = palloc_extended(Max((Size) m->items.n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	RowNorms(st->U, m->users.n, st->f, st->unorm);
	RowNorms(st->V, m->items.n, st->f, st->vnorm);
	m->state = st;
}

/*
 * Shared model cache (model_image.c): the vectors, VtV and the norms go
 * into the image as they are, so that attaching computes nothing.
 */
static void
FactorsImageSave(const RecpromoModel *m, RecpromoImageSink *sink)
{
	const FactorsState *st = m->state;

	RecpromoImageAdd(sink, "factors_dim", &st->f, sizeof(int32));
	RecpromoImageAdd(sink, "factors_U", st->U, (Size) m->users.n * st->f * sizeof(double));
	RecpromoImageAdd(sink, "factors_V", st->V, (Size) m->items.n * st->f * sizeof(double));
	RecpromoImageAdd(sink, "factors_VtV", st->VtV, (Size) st->f * st->f * sizeof(double));
	RecpromoImageAdd(sink, "factors_unorm", st->unorm, (Size) m->users.n * sizeof(double));
	RecpromoImageAdd(sink, "factors_vnorm", st->vnorm, (Size) m->items.n * sizeof(double));
}

static bool
FactorsImageAttach(RecpromoModel *m)
{
	FactorsState *st = palloc0(sizeof(FactorsState));
	const int32 *dim = RecpromoImageSection(m, "factors_dim", sizeof(int32), 1);

	if (dim == NULL || *dim < 1 || *dim > RECPROMO_MAX_FACTORS)
		return false;
	st->f = *dim;
	st->U = RecpromoImageSection(m, "factors_U", sizeof(double), (int64) m->users.n * st->f);
	st->V = RecpromoImageSection(m, "factors_V", sizeof(double), (int64) m->items.n * st->f);
	/* read-only mapping: serving never writes these arrays */
	st->VtV = (double *) RecpromoImageSection(m, "factors_VtV", sizeof(double),
											  (int64) st->f * st->f);
	st->unorm = (double *) RecpromoImageSection(m, "factors_unorm", sizeof(double), m->users.n);
	st->vnorm = (double *) RecpromoImageSection(m, "factors_vnorm", sizeof(double), m->items.n);
	if (st->U == NULL || st->V == NULL || st->VtV == NULL || st->unorm == NULL ||
		st->vnorm == NULL)
		return false;
	st->lambda = RecpromoModelParamChecked(m, "regularization", 0.1, 0.0, 1e9);
	st->alpha = RecpromoModelParamChecked(m, "alpha", 1.0, 0.0, 1e9);
	m->state = st;
	return true;
}

/*
 * The Cholesky factor of A = Y^T Y + sum (c_j - 1) y_j y_j^T + lambda I
 * (in a, f x f, upper) and b = sum c_j y_j; returns false when A is not
 * positive definite (lambda 0 with too few items).
 */
static bool
FoldInSystem(const FactorsState *st, const int32 *hist, const double *vals, int32 nhist,
			 double *a, double *b)
{
	int32		f = st->f;
	int			n = f;
	int			info = 0;

	memcpy(a, st->VtV, (Size) f * f * sizeof(double));
	for (int32 c = 0; c < f; c++)
	{
		a[(Size) c * f + c] += st->lambda;
		b[c] = 0.0;
	}
	for (int32 h = 0; h < nhist; h++)
	{
		const double *y = st->V + (Size) hist[h] * f;
		double		conf = 1.0 + st->alpha * vals[h];

		cblas_dsyr(CblasRowMajor, CblasUpper, f, conf - 1.0, y, 1, a, f);
		cblas_daxpy(f, conf, y, 1, b, 1);
	}
	/* row-major upper is column-major lower */
	dpotrf_("L", &n, a, &n, &info);
	return info == 0;
}

/* The user's vector: stored, or folded in from the history (into buf). */
static const double *
UserVector(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
		   int32 nhist, double *buf)
{
	const FactorsState *st = m->state;
	int32		f = st->f;
	double	   *a;
	int			n = f;
	int			one = 1;
	int			info = 0;

	if (u >= 0)
		return st->U + (Size) u * f;
	if (nhist == 0)
	{
		memset(buf, 0, (Size) f * sizeof(double));
		return buf;
	}
	a = palloc((Size) f * f * sizeof(double));
	if (!FoldInSystem(st, hist, vals, nhist, a, buf))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot fold in the user: the system is singular"),
				 errhint("Retrain with \"regularization\" above 0.")));
	dpotrs_("L", &n, &one, a, &n, buf, &n, &info);
	pfree(a);
	return buf;
}

static void
FactorsScore(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			 int32 nhist, double *scores)
{
	const FactorsState *st = m->state;
	double	   *buf = palloc(st->f * sizeof(double));
	const double *x = UserVector(m, u, hist, vals, nhist, buf);

	if (m->items.n > 0)
		cblas_dgemv(CblasRowMajor, CblasNoTrans, m->items.n, st->f, 1.0, st->V, st->f,
					x, 1, 0.0, scores, 1);
	pfree(buf);
}

/* sims[r] = cos(q, A[r]) given the row norms; 0 for zero vectors. */
static void
Cosines(const double *A, const double *norms, int32 n, int32 f, const double *q, double *sims)
{
	double		qn = cblas_dnrm2(f, q, 1);

	if (n == 0)
		return;
	cblas_dgemv(CblasRowMajor, CblasNoTrans, n, f, 1.0, A, f, q, 1, 0.0, sims, 1);
	for (int32 r = 0; r < n; r++)
	{
		double		d = qn * norms[r];

		sims[r] = d > 0.0 ? Max(-1.0, Min(1.0, sims[r] / d)) : 0.0;
	}
}

static void
FactorsSimilarItems(const RecpromoModel *m, int32 i, double *sims)
{
	const FactorsState *st = m->state;

	Cosines(st->V, st->vnorm, m->items.n, st->f, st->V + (Size) i * st->f, sims);
}

static void
FactorsSimilarUsers(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
					int32 nhist, double *sims)
{
	const FactorsState *st = m->state;
	double	   *buf = palloc(st->f * sizeof(double));

	Cosines(st->U, st->unorm, m->users.n, st->f,
			UserVector(m, u, hist, vals, nhist, buf), sims);
	pfree(buf);
}

static void
FactorsExplain(const RecpromoModel *m, int32 u, const int32 *hist, const double *vals,
			   int32 nhist, int32 item, double *contrib)
{
	const FactorsState *st = m->state;
	int32		f = st->f;
	double	   *a = palloc((Size) f * f * sizeof(double));
	double	   *b = palloc(f * sizeof(double));
	double	   *w = palloc(f * sizeof(double));
	int			n = f;
	int			one = 1;
	int			info = 0;

	if (!FoldInSystem(st, hist, vals, nhist, a, b))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot explain the score: the system is singular"),
				 errhint("Retrain with \"regularization\" above 0.")));
	/* w = W y_i; contribution of history item j: (w . y_j) c_j */
	memcpy(w, st->V + (Size) item * f, f * sizeof(double));
	dpotrs_("L", &n, &one, a, &n, w, &n, &info);
	for (int32 h = 0; h < nhist; h++)
		contrib[h] = cblas_ddot(f, w, 1, st->V + (Size) hist[h] * f, 1) *
			(1.0 + st->alpha * vals[h]);
}

static void
FactorsFoldIn(const RecpromoModel *m, const int32 *hist, const double *vals, int32 nhist,
			  double *out)
{
	const FactorsState *st = m->state;
	const double *x = UserVector(m, -1, hist, vals, nhist, out);

	if (x != out)
		memcpy(out, x, st->f * sizeof(double));
}

static bool
FactorsFactors(const RecpromoModel *m, RecpromoFactors *out)
{
	const FactorsState *st = m->state;

	out->factors = st->f;
	out->U = st->U;
	out->V = st->V;
	out->user_bias = NULL;
	out->item_bias = NULL;
	out->global = 0.0;
	return true;
}

const RecpromoMethod RecpromoMethodFactors = {
	.name = "factors",
	.description = "user and item vectors imported from two tables (embeddings trained elsewhere)",
	.nonneg = false,
	.train = FactorsTrain,
	.load = FactorsLoad,
	.score = FactorsScore,
	.similar_items = FactorsSimilarItems,
	.similar_users = FactorsSimilarUsers,
	.explain = FactorsExplain,
	.factors = FactorsFactors,
	.fold_in = FactorsFoldIn,
	.image_save = FactorsImageSave,
	.image_attach = FactorsImageAttach,
};
