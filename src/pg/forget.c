/*
 * forget.c
 *	  forget_user(), forget_item(), erasure_logged(), the erasure log, and
 *	  the rule that keeps a retrain from bringing an erased key back.
 *
 * What an erasure does.  For every model the caller owns (or the one named)
 * that holds the key, the stored parts are read, the key's row (a user) or
 * column (an item) is taken out of the interaction matrix "seen", the key
 * dictionaries lose the key (and, where a retrain would, the items or users
 * left with no interaction), item_pop is recounted, and the method's own
 * parts are updated (ForgetFromParts: exact for popularity, user_knn,
 * item_knn, ease, hybrid and factors; ALS re-solves the touched rows).  The
 * model is then saved as a retrain saves it (RecpromoModelSave: new id, new
 * version token, old parts deleted), so the old bytes are gone from the
 * table once the transaction commits, and every backend's serving cache
 * sees a new version and reloads.  Nothing is stored but what a model
 * stores anyway: explanations and results are computed at serving time.
 *
 * The log.  recpromo.erasure_log gets one row per call: when, by whom,
 * which models, and HMAC-SHA256(recpromo.erasure_secret, kind ':' key) -
 * never the key.  The key's canonical text is its decimal form for
 * integers and its text form otherwise, the form the model dictionaries
 * hold.  Without the secret, customer numbers (a few million candidates)
 * would be trivially recovered from an unkeyed hash; so an erasure with no
 * secret set is refused, and the secret is a superuser-only setting
 * (PGC_SUSET, GUC_SUPERUSER_ONLY: hidden from SHOW and pg_settings for
 * others).  erasure_logged(key) recomputes the hash for an auditor.
 *
 * Ordering with retrains.  An erasure takes the SHARE ROW EXCLUSIVE lock on
 * recpromo.model (the lock every save takes) before anything else and keeps
 * it to commit, and draws its log id after it, so log ids commit in
 * order.  A training notes the highest log id visible before it reads the
 * source (RecpromoErasureWatermark); before it saves, it takes the same lock
 * and reads, with a fresh snapshot, the log rows above that mark: erasures
 * that committed while it trained, whose rows its snapshot may still have
 * seen.  Only erasures by a role with the privileges of the trainer (who
 * becomes the model's owner) count: another role could not have erased
 * from this model, so it cannot through a race either.  The keys of the new model are hashed and every match is erased
 * from the parts in memory before the save (RecpromoErasureApplyLate).  An
 * erasure that commits later still waits for the training's save (the
 * lock) and then erases from the saved model.  Either way the key does not
 * come back; a key re-added after its erasure comes back with the next
 * training that starts after the erasure committed.
 *
 * Reads of the models happen after the lock with the latest snapshot, so
 * an erasure never saves an erased copy of a version older than a retrain
 * that committed while it waited (under REPEATABLE READ the save then
 * fails with a serialization error, as any concurrent update does).
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "catalog/namespace.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "als.h"
#include "forget.h"
#include "keys.h"
#include "knn.h"
#include "method.h"
#include "rp_sparse_ease.h"
#include "slist.h"
#include "sparse_ease.h"
#include "model_store.h"
#include "model_validate.h"
#include "recpromo.h"
#include "rp_als.h"
#include "rp_ease.h"
#include "rp_forget.h"
#include "rp_knn.h"

#define FORGET_COLS 5
#define FORGET_HASH_LEN PG_SHA256_DIGEST_LENGTH

/* recpromo.erasure_secret */
static char *recpromo_erasure_secret = NULL;

void
RecpromoForgetInit(void)
{
	DefineCustomStringVariable("recpromo.erasure_secret",
							   "Sets the secret key of the erasure log's keyed hashes.",
							   "forget_user and forget_item refuse to run while it is empty. "
							   "Only superusers can read or set it.",
							   &recpromo_erasure_secret,
							   "",
							   PGC_SUSET, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
}

static bool
SecretIsSet(void)
{
	return recpromo_erasure_secret != NULL && recpromo_erasure_secret[0] != '\0';
}

static void
RequireSecret(const char *what)
{
	if (!SecretIsSet())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s: recpromo.erasure_secret is not set", what),
				 errdetail("The erasure log stores a keyed hash of each erased key; without a secret the hash of a customer number could be reversed by trying every number."),
				 errhint("A superuser sets it once, e.g. ALTER SYSTEM SET recpromo.erasure_secret = '<long random string>'; SELECT pg_reload_conf();")));
}

/* HMAC-SHA256(secret, kind ":" key) into out (32 bytes). */
static void
KeyHash(const char *kind, const char *key, uint8 *out)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);

	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (pg_hmac_init(ctx, (const uint8 *) recpromo_erasure_secret, strlen(recpromo_erasure_secret)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) kind, strlen(kind)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) ":", 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) key, strlen(key)) < 0 ||
		pg_hmac_final(ctx, out, FORGET_HASH_LEN) < 0)
	{
		const char *e = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the erasure hash: %s", e)));
	}
	pg_hmac_free(ctx);
}

/* The canonical text of a key given as a Datum of any type. */
static char *
KeyText(Datum value, Oid type)
{
	Oid			out;
	bool		varlena;

	switch (type)
	{
		case INT2OID:
			return psprintf("%d", (int) DatumGetInt16(value));
		case INT4OID:
			return psprintf("%d", DatumGetInt32(value));
		case INT8OID:
			return psprintf(INT64_FORMAT, DatumGetInt64(value));
		default:
			getTypeOutputInfo(type, &out, &varlena);
			return OidOutputFunctionCall(out, value);
	}
}

/* ---------- erasing from a model's parts ---------- */

static bool
udrop_any(const bool *drop, int32 n)
{
	for (int32 i = 0; i < n; i++)
		if (drop[i])
			return true;
	return false;
}

typedef struct ForgetOutcome
{
	int64		removed;		/* interactions taken out */
	bool		exact;
	const char *how;			/* method column: what was done */
	char	   *note;
	int32		n_users;
	int32		n_items;
	int64		nnz;
	double		final_loss;		/* NaN: unchanged */
	char	   *params;			/* new hyper-parameters (jsonb text), or NULL */
} ForgetOutcome;

/* Replaces (or adds) part `name` in parts. */
static void
PartSet(RecpromoParts *parts, const char *name, void *data, Size len)
{
	for (int i = 0; i < parts->n; i++)
		if (strcmp(parts->parts[i].name, name) == 0)
		{
			parts->parts[i].data = data;
			parts->parts[i].len = len;
			return;
		}
	RecpromoPartsAdd(parts, pstrdup(name), data, len);
}

static void
PartDrop(RecpromoParts *parts, const char *name)
{
	for (int i = 0; i < parts->n; i++)
		if (strcmp(parts->parts[i].name, name) == 0)
		{
			parts->parts[i] = parts->parts[parts->n - 1];
			parts->n--;
			return;
		}
}

/* A stored hyper-parameter (jsonb params), def when absent. */
static double
ParamNum(Jsonb *params, const char *name, double def)
{
	RecpromoModel fake;

	memset(&fake, 0, sizeof(fake));
	fake.params = params;
	return RecpromoModelParamFloat(&fake, name, def);
}

static char *
ParamStr(Jsonb *params, const char *name, const char *def)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) name;
	k.val.string.len = strlen(name);
	v = findJsonbValueFromContainer(&params->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvString)
		return pstrdup(def);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* The keys of `keys` whose map entry is >= 0, as a new dictionary. */
static void
KeysKeep(const RecpromoKeys *keys, const int32 *map, int32 n_out, RecpromoKeys *out)
{
	*out = *keys;
	out->n = n_out;
	if (keys->kclass == RECPROMO_KEY_INT)
	{
		out->ints = palloc_extended(Max((Size) n_out, 1) * sizeof(int64), MCXT_ALLOC_HUGE);
		for (int32 i = 0; i < keys->n; i++)
			if (map[i] >= 0)
				out->ints[map[i]] = keys->ints[i];
	}
	else
	{
		out->text_off = palloc_extended(((Size) n_out + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
		out->text_buf = palloc_extended(Max((Size) keys->text_off[keys->n], 1), MCXT_ALLOC_HUGE);
		out->text_off[0] = 0;
		for (int32 i = 0; i < keys->n; i++)
			if (map[i] >= 0)
			{
				int64		l = keys->text_off[i + 1] - keys->text_off[i];

				memcpy(out->text_buf + out->text_off[map[i]], keys->text_buf + keys->text_off[i], l);
				out->text_off[map[i] + 1] = out->text_off[map[i]] + l;
			}
	}
}

/* Rows of a row-major n x dim double matrix kept by map, renumbered. */
static double *
RowsKeep(const double *F, int32 n, int32 dim, const int32 *map, int32 n_out)
{
	double	   *out = palloc_extended(Max((Size) n_out * dim, 1) * sizeof(double), MCXT_ALLOC_HUGE);

	for (int32 i = 0; i < n; i++)
		if (map[i] >= 0)
			memcpy(out + (Size) map[i] * dim, F + (Size) i * dim, (Size) dim * sizeof(double));
	return out;
}

static void
CsrAlloc(rp_csr *A, int32 rows, int64 nnz)
{
	A->indptr = palloc_extended(((Size) rows + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
	A->indices = palloc_extended(Max((Size) nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	A->values = palloc_extended(Max((Size) nnz, 1) * sizeof(double), MCXT_ALLOC_HUGE);
}

static void
AddCsrParts(RecpromoParts *parts, const char *prefix, const rp_csr *S)
{
	PartSet(parts, psprintf("%s_indptr", prefix), S->indptr, ((Size) S->n_rows + 1) * sizeof(int64));
	PartSet(parts, psprintf("%s_indices", prefix), S->indices, (Size) S->nnz * sizeof(int32));
	PartSet(parts, psprintf("%s_values", prefix), S->values, (Size) S->nnz * sizeof(double));
}

/*
 * item_knn: the neighbour lists after the erasure (see rp_forget.c).  R and
 * Rn are the old and new users x items matrices, imap/iold the item maps,
 * touched the old indices of the items whose columns changed.
 */
static void
ForgetItemKnn(const char *model, Jsonb *params, RecpromoParts *parts, const rp_csr *R,
			  const rp_csr *Rn, const int32 *imap, const int32 *iold, const int32 *touched,
			  int32 ntouched, bool items_dropped, ForgetOutcome *out)
{
	int32		k = (int32) ParamNum(params, "neighbours", 20);
	double		shrink = ParamNum(params, "shrink", 0.0);
	char	   *wname = ParamStr(params, "weighting", "none");
	rp_knn_weighting w = RecpromoKnnWeighting(wname);
	double		k1 = ParamNum(params, "bm25_k1", RP_KNN_BM25_K1);
	double		b = ParamNum(params, "bm25_b", RP_KNN_BM25_B);
	rp_csr		S_old;
	rp_csr		A;
	rp_csr		AT;
	rp_csr		S;
	rp_knn_params p;
	bool		partial;

	if (k < 1 || k > RP_KNN_MAX_K)
		RecpromoModelCorrupt(model, NULL, "hyper-parameter \"neighbours\" is out of range");
	RecpromoKnnLoadParts(parts, model, "knn", R->n_cols, &S_old);

	/*
	 * Which rows can change: with no weighting, or TF-IDF while the item
	 * count stays (the idf of a user column depends on it), only those
	 * sharing a user with a touched item.  BM25's mean item length moves
	 * with any erasure: every row.
	 */
	partial = w == RP_KNN_WEIGHT_NONE || (w == RP_KNN_WEIGHT_TFIDF && !items_dropped);

	/* the new items x users matrix (AT: users x items, i.e. Rn itself) */
	CsrAlloc(&A, Rn->n_cols, Rn->nnz);
	RecpromoCheckStatus(rp_csr_transpose(Rn, &A), "forgetting");
	if (!partial)
	{
		RecpromoKnnFit(&A, w, k1, b, k, shrink, RecpromoThreads(), &S, "forgetting");
		out->how = "item_knn: all neighbour lists recomputed";
	}
	else
	{
		uint8	   *mark_old = palloc0(Max((Size) R->n_cols, 1));
		uint8	   *mark = palloc0(Max((Size) Rn->n_cols, 1));
		double	   *norms = palloc_extended(Max((Size) A.n_rows, 1) * sizeof(double), MCXT_ALLOC_HUGE);
		void	   *work;
		int64		cap = 0;
		int32		nmarked = 0;
		rp_cancel	cancel = RecpromoCancelHook();

		/* weights of the new matrix (idf unchanged for the kept columns) */
		work = palloc_extended(rp_knn_weight_workspace_size(&A), MCXT_ALLOC_HUGE);
		RecpromoCheckStatus(rp_knn_weight(&A, w, k1, b, A.values, work), "forgetting");
		pfree(work);
		if (w == RP_KNN_WEIGHT_NONE)
			AT = *Rn;			/* A's transpose is the interaction matrix itself */
		else
		{
			AT = *Rn;
			AT.values = palloc_extended(Max((Size) Rn->nnz, 1) * sizeof(double), MCXT_ALLOC_HUGE);
			AT.indices = palloc_extended(Max((Size) Rn->nnz, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
			AT.indptr = palloc_extended(((Size) Rn->n_rows + 1) * sizeof(int64), MCXT_ALLOC_HUGE);
			RecpromoCheckStatus(rp_csr_transpose(&A, &AT), "forgetting");
		}
		rp_knn_row_norms(&A, norms);

		/* rows to recompute: items sharing a customer with a touched item (old matrix) */
		{
			uint8	   *tmask = palloc0(Max((Size) R->n_cols, 1));

			for (int32 t = 0; t < ntouched; t++)
				tmask[touched[t]] = 1;
			rp_knn_cooccur(R, tmask, mark_old);
		}
		for (int32 i = 0; i < Rn->n_cols; i++)
		{
			mark[i] = mark_old[iold[i]];
			if (mark[i])
			{
				nmarked++;
				cap += k;
			}
			else
				cap += S_old.indptr[iold[i] + 1] - S_old.indptr[iold[i]];
		}
		CsrAlloc(&S, Rn->n_cols, cap);
		p.k = k;
		p.shrink = shrink;
		p.nthreads = 1;
		work = palloc_extended(rp_knn_refit_workspace_size(A.n_rows, k), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		RecpromoCheckStatus(rp_knn_refit_rows(&A, &AT, norms, &p, &S_old, iold, imap, mark,
											  &S, cap, work, &cancel), "forgetting");
		CHECK_FOR_INTERRUPTS();
		out->how = psprintf("item_knn: %d of %d neighbour lists recomputed", nmarked, Rn->n_cols);
	}
	AddCsrParts(parts, "knn", &S);
	out->exact = true;
}

/*
 * ease: P downdated for each dropped user (their old rows), then the
 * dropped items removed by the Schur complement; B follows from P.
 */
static void
ForgetEase(const char *model, Jsonb *params, RecpromoParts *parts, const rp_csr *R,
		   const rp_csr *Rn, const bool *udrop, const int32 *idrop_list, int32 n_idrop,
		   ForgetOutcome *out)
{
	int32		n = R->n_cols;
	int32		na = Rn->n_cols;
	Size		plen = 0;
	double	   *packed = RecpromoPartsGet(parts, "ease_p", 0, true, &plen);
	double	   *P = NULL;
	Size		packed_n = (Size) na * (na + 1) / 2;
	double	   *work;

	if (packed == NULL || n_idrop > 0)
		RecpromoCheckMemory(((double) n * n * 2.0 + (double) na * na) * 8.0, "forgetting from an EASE model");
	else
		RecpromoCheckMemory((double) n * 8.0, "forgetting from an EASE model");
	work = palloc_extended(Max((Size) n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	if (packed != NULL && plen != (Size) n * (n + 1) / 2 * sizeof(double))
		RecpromoModelCorrupt(model, "ease_p", "has the wrong size");
	if (packed != NULL)
		for (Size q = 0; q < plen / sizeof(double); q++)
			if (!isfinite(packed[q]))
				RecpromoModelCorrupt(model, "ease_p", "holds a NaN or infinite value");

	if (packed == NULL)
	{
		double		lambda = ParamNum(params, "lambda", 500.0);
		rp_cancel	cancel = RecpromoCancelHook();

		/* a model saved before 0.3.0 keeps only B: refit from the stored interactions */
		P = palloc_extended(Max(mul_size((Size) na, (Size) na), 1) * sizeof(double), MCXT_ALLOC_HUGE);
		RecpromoCheckStatus(rp_ease_inverse(Rn, lambda, P, &cancel), "forgetting from an EASE model");
		CHECK_FOR_INTERRUPTS();
		out->how = "ease: refit from the stored interactions (the model has no stored inverse)";
	}
	else if (n_idrop == 0)
	{
		/* the common case: downdate the packed inverse in place, no n x n copy */
		for (int32 u = 0; u < R->n_rows; u++)
			if (udrop[u])
			{
				int64		b = R->indptr[u];

				if (rp_ease_downdate_packed(packed, n, R->indices + b, R->values + b,
											(int32) (R->indptr[u + 1] - b), work) != RP_OK)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_EXCEPTION),
							 errmsg("could not downdate EASE model \"%s\": the update is numerically unstable", model),
							 errhint("Train the model again.")));
				CHECK_FOR_INTERRUPTS();
			}
		out->how = "ease: rank-1 downdate of the inverse (Sherman-Morrison)";
	}
	else
	{
		P = palloc_extended(Max(mul_size((Size) n, (Size) n), 1) * sizeof(double), MCXT_ALLOC_HUGE);
		rp_ease_unpack(packed, n, P);
		for (int32 u = 0; u < R->n_rows; u++)
			if (udrop[u])
			{
				int64		b = R->indptr[u];

				if (rp_ease_downdate(P, n, R->indices + b, R->values + b,
									 (int32) (R->indptr[u + 1] - b), work) != RP_OK)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_EXCEPTION),
							 errmsg("could not downdate EASE model \"%s\": the update is numerically unstable", model),
							 errhint("Train the model again.")));
				CHECK_FOR_INTERRUPTS();
			}
		{
			double	   *Pn = palloc_extended(Max(mul_size((Size) na, (Size) na), 1) * sizeof(double), MCXT_ALLOC_HUGE);
			void	   *w2 = palloc_extended(rp_ease_drop_workspace_size(n, n_idrop), MCXT_ALLOC_HUGE);

			if (rp_ease_drop(P, n, idrop_list, n_idrop, Pn, w2) != RP_OK)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("could not remove items from EASE model \"%s\": the update is numerically unstable", model),
						 errhint("Train the model again.")));
			pfree(P);
			pfree(w2);
			P = Pn;
		}
		out->how = udrop_any(udrop, R->n_rows) ?
			"ease: rank-1 downdate of the inverse (Sherman-Morrison), items removed by Schur complement" :
			"ease: items removed from the inverse by Schur complement";
	}
	if (P != NULL)
	{
		rp_ease_pack(P, na);
		packed = P;
	}
	/* B follows from P at load (method_ease.c); its diagonal must allow it */
	for (int32 j = 0; j < na; j++)
	{
		double		d = packed[(Size) j * na - (Size) j * (j - 1) / 2];

		if (!(d > 0.0) || !isfinite(d))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("could not downdate EASE model \"%s\": the update is numerically unstable", model),
					 errhint("Train the model again.")));
	}
	PartDrop(parts, "ease_b");	/* a 0.2.0 model's B: now derived from P */
	PartSet(parts, "ease_p", packed, packed_n * sizeof(double));
	out->exact = true;
}

/* als / als_explicit: drop the rows, re-solve the touched ones, refine. */
static void
ForgetAls(const char *model, const char *method, Jsonb *params, RecpromoParts *parts,
		  const rp_csr *R, const rp_csr *Rn, const int32 *umap, const int32 *imap,
		  const int32 *items_touched, int32 n_it, const int32 *users_touched, int32 n_ut,
		  int refine, ForgetOutcome *out)
{
	rp_als_params p;
	rp_als_model m;
	rp_csr		T;
	int32		dim;
	double	   *U;
	double	   *V;
	double	   *mean;
	void	   *work;

	memset(&p, 0, sizeof(p));
	p.method = strcmp(method, "als_explicit") == 0 ? RP_ALS_EXPLICIT : RP_ALS_IMPLICIT;
	p.factors = (int32) ParamNum(params, "factors", 64);
	p.regularization = ParamNum(params, "regularization", p.method == RP_ALS_EXPLICIT ? 0.1 : 0.05);
	p.alpha = p.method == RP_ALS_IMPLICIT ? ParamNum(params, "alpha", 1.0) : 0.0;
	p.solver = RP_ALS_CHOLESKY;
	p.cg_steps = (int32) ParamNum(params, "cg_steps", 3);
	p.threads = RecpromoThreads();
	p.compute_loss = 1;
	if (p.factors < 1 || p.factors > RP_ALS_MAX_FACTORS)
		RecpromoModelCorrupt(model, NULL, "hyper-parameter \"factors\" is out of range");
	dim = rp_als_dim(&p);
	U = RecpromoAlsUserFactors(parts, model, &p, R->n_rows);
	V = RecpromoModelPartFactors(parts, model, "als_item", (int64) R->n_cols * dim);
	mean = RecpromoModelPartFactors(parts, model, "als_mean", 1);

	memset(&m, 0, sizeof(m));
	m.n_users = Rn->n_rows;
	m.n_items = Rn->n_cols;
	m.factors = p.factors;
	m.dim = dim;
	m.user_factors = RowsKeep(U, R->n_rows, dim, umap, Rn->n_rows);
	m.item_factors = RowsKeep(V, R->n_cols, dim, imap, Rn->n_cols);
	m.global_mean = *mean;
	if (p.method == RP_ALS_EXPLICIT)
	{
		double		s = 0.0;

		/* the mean of the remaining ratings, as training computes it */
		for (int64 q = 0; q < Rn->nnz; q++)
			s += Rn->values[q];
		m.global_mean = Rn->nnz > 0 ? s / (double) Rn->nnz : 0.0;
	}

	CsrAlloc(&T, Rn->n_cols, Rn->nnz);
	RecpromoCheckStatus(rp_csr_transpose(Rn, &T), "forgetting");
	RecpromoCheckStatus(rp_als_check(&p, Rn, &T), "forgetting");

	/* touched items against the fixed users: one exact half-step */
	work = palloc_extended(rp_als_solve_items_workspace_size(&p), MCXT_ALLOC_HUGE);
	RecpromoCheckStatus(rp_als_solve_items(&p, &m, &T, items_touched, n_it, work), "forgetting");
	pfree(work);

	/* users who lost an item (forget_item) against the fixed items: fold-in */
	if (n_ut > 0)
	{
		double	   *gram = palloc((Size) p.factors * p.factors * sizeof(double));

		work = palloc(rp_als_foldin_workspace_size(&p));
		RecpromoCheckStatus(rp_als_item_gram(&m, gram), "forgetting");
		for (int32 t = 0; t < n_ut; t++)
		{
			int32		u = users_touched[t];
			int64		b = Rn->indptr[u];

			RecpromoCheckStatus(rp_als_fold_in(&p, &m, gram, (int32) (Rn->indptr[u + 1] - b),
											   Rn->indices + b, Rn->values + b,
											   m.user_factors + (Size) u * dim, work), "forgetting");
		}
	}

	if (refine > 0)
	{
		size_t		ws = rp_als_workspace_size(&p, m.n_users, m.n_items);
		rp_cancel	cancel = RecpromoCancelHook();
		double		loss = NAN;

		if (ws == 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("ALS scratch space for %d users, %d items and %d factors is too large",
							m.n_users, m.n_items, p.factors)));
		RecpromoCheckMemory((double) ws + 24.0 * (double) Rn->nnz, "refining an ALS model");
		p.solver = strcmp(ParamStr(params, "solver", "cg"), "cholesky") == 0 ? RP_ALS_CHOLESKY : RP_ALS_CG;
		work = palloc_extended(ws, MCXT_ALLOC_HUGE);
		for (int it = 0; it < refine; it++)
		{
			CHECK_FOR_INTERRUPTS();
			RecpromoCheckStatus(rp_als_iterate(&p, Rn, &T, &m, work, ws, &cancel, &loss), "refining an ALS model");
		}
		CHECK_FOR_INTERRUPTS();
		out->final_loss = loss;
	}
	/* stored as training stores them (als.h); a 0.4.0 model's float64 part goes */
	PartSet(parts, RECPROMO_ALS_USER_F4,
			RecpromoAlsUserFactorsF4(m.user_factors, (int64) m.n_users * dim, "forgetting"),
			(Size) m.n_users * dim * sizeof(float));
	PartDrop(parts, RECPROMO_ALS_USER_F8);
	PartSet(parts, "als_item", m.item_factors, (Size) m.n_items * dim * sizeof(double));
	{
		double	   *mm = palloc(sizeof(double));

		*mm = m.global_mean;
		PartSet(parts, "als_mean", mm, sizeof(double));
	}
	out->exact = false;
	if (refine > 0)
		out->how = psprintf("%s: rows removed, %d touched rows re-solved, %d more iterations",
							method, n_it + n_ut, refine);
	else
		out->how = psprintf("%s: rows removed, %d touched rows re-solved", method, n_it + n_ut);
	out->note = pstrdup("the other factors keep an indirect trace of the erased rows until the model is retrained (refine_iterations shrinks it)");
}

/*
 * Erases users with udrop[u] and items with idrop[i] (either may be NULL)
 * from the parts of a model, in place (new parts replace old ones; the old
 * buffers are left to the caller's context).  See the file header.
 */
static void
ForgetFromParts(const char *model, const char *method, Jsonb *params, Oid user_type,
				Oid item_type, RecpromoParts *parts, bool *udrop_in, bool *idrop_in,
				int refine, ForgetOutcome *out)
{
	RecpromoKeys users;
	RecpromoKeys items;
	RecpromoKeys nusers;
	RecpromoKeys nitems;
	rp_csr		R;
	rp_csr		Rn;
	Size		len;
	void	   *buf;
	bool	   *udrop;
	bool	   *idrop;
	int32	   *umap;
	int32	   *imap;
	int32	   *iold;
	int32	   *icount;
	int32	   *ocount;
	int32		nu = 0;
	int32		ni = 0;
	int32	   *touched;
	int32		ntouched = 0;
	int32	   *utouched;
	int32		nut = 0;
	int32	   *idrop_list;
	int32		n_idrop = 0;
	bool		cascade_items;
	bool		cascade_users;
	bool		content = strcmp(method, "content") == 0;
	bool		factors = strcmp(method, "factors") == 0;
	double	   *pop;

	memset(out, 0, sizeof(*out));
	out->exact = true;
	out->final_loss = NAN;
	buf = RecpromoPartsGet(parts, "users", 0, false, &len);
	RecpromoKeysLoad(&users, buf, len, user_type, model, "users");
	buf = RecpromoPartsGet(parts, "items", 0, false, &len);
	RecpromoKeysLoad(&items, buf, len, item_type, model, "items");
	RecpromoModelCsr(parts, model, "seen", users.n, items.n, true, &R);

	udrop = palloc0(Max((Size) users.n, 1) * sizeof(bool));
	idrop = palloc0(Max((Size) items.n, 1) * sizeof(bool));
	if (udrop_in)
		memcpy(udrop, udrop_in, (Size) users.n * sizeof(bool));
	if (idrop_in)
		memcpy(idrop, idrop_in, (Size) items.n * sizeof(bool));

	/*
	 * A retrain's dictionaries hold the keys with interactions left (content
	 * widens the items with its attribute table; factors reads both from its
	 * factor tables): keys left with none go too.
	 */
	cascade_items = !content && !factors;
	cascade_users = !factors;
	icount = palloc0(Max((Size) items.n, 1) * sizeof(int32));
	ocount = palloc0(Max((Size) items.n, 1) * sizeof(int32));
	touched = palloc(Max((Size) items.n, 1) * sizeof(int32));
	utouched = palloc(Max((Size) users.n, 1) * sizeof(int32));
	for (int32 u = 0; u < users.n; u++)
	{
		int32		kept = 0;

		for (int64 q = R.indptr[u]; q < R.indptr[u + 1]; q++)
		{
			int32		i = R.indices[q];

			ocount[i]++;
			if (udrop[u] || idrop[i])
				out->removed++;
			else
			{
				icount[i]++;
				kept++;
			}
		}
		if (!udrop[u] && kept < R.indptr[u + 1] - R.indptr[u])
		{
			/* a user who lost an item (forget_item) */
			if (kept == 0 && cascade_users)
				udrop[u] = true;
			else
				utouched[nut++] = u;	/* old index for now */
		}
	}
	/* touched items: the columns that lost an entry (old indices) */
	{
		bool	   *t = palloc0(Max((Size) items.n, 1) * sizeof(bool));

		for (int32 u = 0; u < users.n; u++)
			if (udrop[u] && udrop_in && udrop_in[u])
				for (int64 q = R.indptr[u]; q < R.indptr[u + 1]; q++)
					t[R.indices[q]] = true;
		for (int32 i = 0; i < items.n; i++)
			if (idrop[i])
				t[i] = true;
		for (int32 i = 0; i < items.n; i++)
			if (t[i])
				touched[ntouched++] = i;
	}
	for (int32 i = 0; i < items.n; i++)
		if (!idrop[i] && icount[i] == 0 && cascade_items)
			idrop[i] = true;	/* no interaction left (it had one at training) */

	umap = palloc(Max((Size) users.n, 1) * sizeof(int32));
	imap = palloc(Max((Size) items.n, 1) * sizeof(int32));
	iold = palloc(Max((Size) items.n, 1) * sizeof(int32));
	idrop_list = palloc(Max((Size) items.n, 1) * sizeof(int32));
	for (int32 u = 0; u < users.n; u++)
		umap[u] = udrop[u] ? -1 : nu++;
	for (int32 i = 0; i < items.n; i++)
	{
		if (idrop[i])
		{
			imap[i] = -1;
			idrop_list[n_idrop++] = i;
		}
		else
		{
			iold[ni] = i;
			imap[i] = ni++;
		}
	}
	CsrAlloc(&Rn, nu, R.nnz);
	rp_forget_csr_drop(&R, umap, imap, nu, ni, &Rn);

	KeysKeep(&users, umap, nu, &nusers);
	KeysKeep(&items, imap, ni, &nitems);
	buf = RecpromoKeysSerialize(&nusers, &len);
	PartSet(parts, "users", buf, len);
	buf = RecpromoKeysSerialize(&nitems, &len);
	PartSet(parts, "items", buf, len);
	AddCsrParts(parts, "seen", &Rn);
	pop = palloc_extended(Max((Size) ni, 1) * sizeof(double), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 q = 0; q < Rn.nnz; q++)
		pop[Rn.indices[q]] += 1.0;
	PartSet(parts, "item_pop", pop, (Size) ni * sizeof(double));
	out->n_users = nu;
	out->n_items = ni;
	out->nnz = Rn.nnz;

	/* the users who lost an item, in new numbering (dropped ones left out) */
	{
		int32		w = 0;

		for (int32 t = 0; t < nut; t++)
			if (umap[utouched[t]] >= 0)
				utouched[w++] = umap[utouched[t]];
		nut = w;
	}

	if (strcmp(method, "popularity") == 0)
	{
		bool		sum = strcmp(ParamStr(params, "by", "users"), "sum") == 0;
		double	   *p2 = palloc_extended(Max((Size) ni, 1) * sizeof(double), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

		for (int64 q = 0; q < Rn.nnz; q++)
			p2[Rn.indices[q]] += sum ? Rn.values[q] : 1.0;
		PartSet(parts, "pop", p2, (Size) ni * sizeof(double));
		out->how = "popularity: counts recomputed";
	}
	else if (strcmp(method, "user_knn") == 0)
		out->how = "user_knn: interactions removed (neighbours are computed at query time)";
	else if (strcmp(method, "session_knn") == 0)
	{
		/* the sessions' last times, kept in the new numbering */
		double	   *st = RecpromoModelPartFinite(parts, model, "session_time", users.n);
		double	   *st2 = palloc(Max((Size) nu, 1) * sizeof(double));

		for (int32 u = 0; u < users.n; u++)
			if (umap[u] >= 0)
				st2[umap[u]] = st[u];
		PartSet(parts, "session_time", st2, (Size) nu * sizeof(double));
		out->how = "session_knn: sessions and their times removed (neighbour sessions are found at query time)";
	}
	else if (strcmp(method, "slist") == 0)
	{
		rp_csr		seq;
		double	   *B;

		RecpromoSlistForget(model, params, parts, users.n, items.n, umap, imap, nu, ni, &seq, &B);
		AddCsrParts(parts, "slist_seq", &seq);
		PartSet(parts, "slist_b", B, (Size) ni * ni * sizeof(double));
		out->how = "slist: refitted on the event sequences left";
	}
	else if (strcmp(method, "hybrid") == 0)
	{
		out->how = "hybrid: interactions removed";
		out->note = pstrdup("its component models are erased as models of their own");
	}
	else if (strcmp(method, "item_knn") == 0)
		ForgetItemKnn(model, params, parts, &R, &Rn, imap, iold, touched, ntouched,
					  n_idrop > 0, out);
	else if (strcmp(method, "sparse_ease") == 0)
	{
		/* a refit on what is left: the same result as a retrain */
		double		lambda = ParamNum(params, "lambda", 500.0);
		double		kd = ParamNum(params, "neighbours", 100);
		rp_csr		B;

		if (!(lambda >= 1e-6 && lambda <= 1e12) || !(kd >= 1 && kd <= RP_SEASE_MAX_K))
			RecpromoModelCorrupt(model, NULL, "hyper-parameter \"lambda\" or \"neighbours\" is out of range");
		RecpromoSparseEaseFit(&Rn, lambda, (int32) kd, RecpromoThreads(), &B, "forgetting");
		AddCsrParts(parts, "sease", &B);
		out->how = "sparse_ease: refitted on the interactions left";
	}
	else if (strcmp(method, "ease") == 0)
	{
		/* only the users asked for: those left empty by an item's removal had only it */
		bool	   *ureq = palloc0(Max((Size) users.n, 1) * sizeof(bool));

		if (udrop_in)
			memcpy(ureq, udrop_in, (Size) users.n * sizeof(bool));
		ForgetEase(model, params, parts, &R, &Rn, ureq, idrop_list, n_idrop, out);
	}
	else if (strcmp(method, "als") == 0 || strcmp(method, "als_explicit") == 0)
	{
		int32		w = 0;

		/* the touched items that stay, in new numbering */
		for (int32 t = 0; t < ntouched; t++)
			if (imap[touched[t]] >= 0)
				touched[w++] = imap[touched[t]];
		ForgetAls(model, method, params, parts, &R, &Rn, umap, imap, touched, w,
				  utouched, nut, refine, out);
	}
	else if (factors)
	{
		int32	   *dim = RecpromoModelPart(parts, model, "factors_dim", sizeof(int32), 1, NULL);
		int32		f = *dim;
		double	   *U;
		double	   *V;

		if (f < 1 || f > 100000)
			RecpromoModelCorrupt(model, "factors_dim", "is out of range");
		U = RecpromoModelPartFactors(parts, model, "factors_U", (int64) users.n * f);
		V = RecpromoModelPartFactors(parts, model, "factors_V", (int64) items.n * f);
		PartSet(parts, "factors_U", RowsKeep(U, users.n, f, umap, nu), (Size) nu * f * sizeof(double));
		PartSet(parts, "factors_V", RowsKeep(V, items.n, f, imap, ni), (Size) ni * f * sizeof(double));
		out->how = "factors: the key's factor row removed";
		out->note = pstrdup("delete the key's row from the factor tables too");
	}
	else if (content)
	{
		bool		emptied = false;

		for (int32 i = 0; i < items.n; i++)
			if (!idrop[i] && icount[i] == 0 && ocount[i] > 0)
				emptied = true;
		out->how = "content: interactions removed";
		if (emptied && n_idrop == 0)
		{
			out->exact = false;
			out->note = pstrdup("items left without interactions stay in the dictionary; a retrain keeps only those in the attribute table");
		}
		if (n_idrop > 0)
		{
			int32		nt = (int32) ParamNum(params, "n_tokens", 0);
			rp_csr		V;
			rp_csr		Vn;
			int32	   *rmap = palloc(Max((Size) items.n, 1) * sizeof(int32));

			RecpromoModelCsr(parts, model, "content", items.n, nt, true, &V);
			for (int32 i = 0; i < items.n; i++)
				rmap[i] = imap[i];
			{
				/* tokens no item has any more go, the others keep their order */
				int32	   *cmap = palloc0(Max((Size) nt, 1) * sizeof(int32));
				int32		ntn = 0;

				for (int32 i = 0; i < items.n; i++)
					if (rmap[i] >= 0)
						for (int64 q = V.indptr[i]; q < V.indptr[i + 1]; q++)
							cmap[V.indices[q]] = 1;
				for (int32 c = 0; c < nt; c++)
					cmap[c] = cmap[c] ? ntn++ : -1;
				CsrAlloc(&Vn, ni, V.nnz);
				rp_forget_csr_drop(&V, rmap, cmap, ni, ntn, &Vn);
				if (ntn != nt)
				{
					Datum		path = PointerGetDatum(construct_array((Datum[]) {CStringGetTextDatum("n_tokens")},
																	   1, TEXTOID, -1, false, TYPALIGN_INT));
					Datum		val = DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf("%d", ntn)));
					Datum		np = DirectFunctionCall4(jsonb_set, JsonbPGetDatum(params), path, val,
														 BoolGetDatum(true));

					out->params = JsonbToCString(NULL, &DatumGetJsonbP(np)->root, VARSIZE(DatumGetJsonbP(np)));
				}
			}
			AddCsrParts(parts, "content", &Vn);
			out->how = "content: the item's attribute vector removed";
			out->exact = false;
			out->note = pstrdup("the other items keep token weights computed with the erased item; a retrain recomputes them");
		}
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot erase from model \"%s\": method \"%s\" is not supported", model, method),
				 errhint("Delete the rows from the source and train the model again.")));
}

/* ---------- the catalog side ---------- */

typedef struct ModelRef
{
	char	   *name;
	Oid			owner;
} ModelRef;

/* Takes the save lock; lists the models to erase from (latest snapshot). */
static List *
LockAndListModels(const char *only, Oid caller, int *skipped)
{
	RecpromoOwnerScope scope;
	List	   *list = NIL;
	MemoryContext outer = CurrentMemoryContext;

	*skipped = 0;
	SPI_connect();
	RecpromoOwnerEnter(&scope);
	if (SPI_execute("LOCK TABLE recpromo.model IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		RecpromoSpiError("lock recpromo.model");
	PushActiveSnapshot(GetLatestSnapshot());
	{
		Oid			t = TEXTOID;
		Datum		v = only ? CStringGetTextDatum(only) : (Datum) 0;
		char		n = only ? ' ' : 'n';

		if (SPI_execute_with_args("SELECT m.name, m.owner::pg_catalog.oid FROM recpromo.model m "
								  "WHERE $1 IS NULL OR m.name OPERATOR(pg_catalog.=) $1 ORDER BY m.name",
								  1, &t, &v, &n, true, 0) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.model");
	}
	PopActiveSnapshot();
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[r];
		MemoryContext spicxt = MemoryContextSwitchTo(outer);
		ModelRef   *m = palloc(sizeof(ModelRef));

		m->name = TextDatumGetCString(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		m->owner = DatumGetObjectId(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		list = lappend(list, m);
		MemoryContextSwitchTo(spicxt);
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();

	if (only != NULL)
	{
		ModelRef   *m;

		if (list == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", only),
					 errhint("SELECT name FROM recpromo.models lists the trained models.")));
		m = linitial(list);
		RecpromoCheckOwnerOf(m->name, m->owner, caller);
		return list;
	}
	{
		List	   *own = NIL;
		ListCell   *lc;

		foreach(lc, list)
		{
			ModelRef   *m = lfirst(lc);

			if (has_privs_of_role(caller, m->owner))
				own = lappend(own, m);
			else
				(*skipped)++;
		}
		return own;
	}
}

/* Inserts the log row (as the extension owner); returns its id. */
static void
LogErasure(const char *kind, const uint8 *hash, List *models)
{
	RecpromoOwnerScope scope;
	Datum	   *elems = palloc(Max(list_length(models), 1) * sizeof(Datum));
	int			n = 0;
	ListCell   *lc;
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTARRAYOID, BYTEAOID};
	Datum		values[4];
	bytea	   *h = palloc(VARHDRSZ + FORGET_HASH_LEN);

	foreach(lc, models)
		elems[n++] = CStringGetTextDatum((char *) lfirst(lc));
	SET_VARSIZE(h, VARHDRSZ + FORGET_HASH_LEN);
	memcpy(VARDATA(h), hash, FORGET_HASH_LEN);
	SPI_connect();
	RecpromoOwnerEnter(&scope);
	values[0] = CStringGetTextDatum(GetUserNameFromId(scope.caller, false));
	values[1] = CStringGetTextDatum(kind);
	values[2] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(h);
	if (SPI_execute_with_args("INSERT INTO recpromo.erasure_log (erased_by, kind, models, key_hash) "
							  "VALUES ($1::pg_catalog.name, $2, $3, $4)",
							  4, types, values, NULL, false, 0) != SPI_OK_INSERT)
		RecpromoSpiError("write recpromo.erasure_log");
	RecpromoOwnerLeave(&scope);
	SPI_finish();
}

/*
 * Reads one part of model `id` (the key dictionary), with the checks of a
 * full load: chunk order, version token, CRC-32C (XX001 otherwise).  Lets
 * an erasure skip a model that does not hold the key without reading the
 * rest of it.  Result palloc'd in CurrentMemoryContext; *len its size.
 */
static void *
LoadOnePart(int64 id, const uint8 *version, const char *model, const char *part, Size *len)
{
	RecpromoOwnerScope scope;
	MemoryContext outer = CurrentMemoryContext;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char	   *buf;
	Size		total = 0;

	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(part);
	SPI_connect();
	RecpromoOwnerEnter(&scope);
	if (SPI_execute_with_args("SELECT p.seq, p.data, p.checksum, p.version FROM recpromo.model_part p "
							  "WHERE p.model_id OPERATOR(pg_catalog.=) $1 AND p.part OPERATOR(pg_catalog.=) $2 "
							  "ORDER BY p.seq", 2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.model_part");
	if (SPI_processed == 0)
		RecpromoModelCorrupt(model, part, "is missing");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);

		if (isnull)
			RecpromoModelCorrupt(model, part, "has a null chunk");
		total += toast_raw_datum_size(d) - VARHDRSZ;
	}
	buf = MemoryContextAllocHuge(outer, Max(total, 1));
	total = 0;
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		n1;
		bool		n2;
		bool		n3;
		int32		seq = DatumGetInt32(SPI_getbinval(tup, td, 1, &n1));
		bytea	   *b = DatumGetByteaPP(SPI_getbinval(tup, td, 2, &n1));
		int32		sum = DatumGetInt32(SPI_getbinval(tup, td, 3, &n2));
		Datum		tok = SPI_getbinval(tup, td, 4, &n3);
		Size		l = VARSIZE_ANY_EXHDR(b);

		if (seq != (int64) r)
			RecpromoModelCorrupt(model, part, "has missing or misnumbered chunks");
		if (n2 || n3 || memcmp(DatumGetUUIDP(tok)->data, version, UUID_LEN) != 0)
			RecpromoModelCorrupt(model, part, "belongs to another version of the model");
		if ((int32) RecpromoChecksum(VARDATA_ANY(b), l) != sum)
			RecpromoModelCorrupt(model, part, "fails its checksum");
		memcpy(buf + total, VARDATA_ANY(b), l);
		total += l;
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	*len = total;
	return buf;
}

/* Saves the erased parts as the new version of the model `row`. */
static void
SaveErased(RecpromoModelRow *row, RecpromoParts *parts, const ForgetOutcome *o)
{
	row->n_users = o->n_users;
	row->n_items = o->n_items;
	row->nnz = o->nnz;
	if (!isnan(o->final_loss))
		row->final_loss = o->final_loss;
	if (o->params != NULL)
		row->params = o->params;
	/* the training time stays; the save adds its own */
	row->train_seconds = Max(row->train_seconds - row->store_seconds, 0.0);
	{
		int64		old_id = row->id;
		Oid			install = row->install_oid;

		RecpromoModelSave(row, parts);
		/* the shared cache's image of the old version holds the key too */
		RecpromoImageRemoveModel(install, old_id);
	}
}

static void
ForgetKey(FunctionCallInfo fcinfo, bool is_user)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *kind = is_user ? "user" : "item";
	Oid			type;
	Datum		key;
	char	   *model = NULL;
	int			refine = 0;
	uint8		hash[FORGET_HASH_LEN];
	List	   *models;
	List	   *erased = NIL;
	int			skipped;
	ListCell   *lc;
	MemoryContext cxt;
	MemoryContext old;
	Oid			caller = GetUserId();

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s_id must not be null", kind),
				 errhint("Pass the key of the %s to erase.", is_user ? "customer" : "item")));
	type = get_fn_expr_argtype(fcinfo->flinfo, 0);
	if (!OidIsValid(type) || type == UNKNOWNOID)
		ereport(ERROR,
				(errcode(ERRCODE_INDETERMINATE_DATATYPE),
				 errmsg("could not determine the type of %s_id", kind),
				 errhint("Cast the key, e.g. '42'::bigint or 'C-17'::text.")));
	key = PG_GETARG_DATUM(0);
	if (!PG_ARGISNULL(1))
		model = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (is_user && !PG_ARGISNULL(2))
	{
		refine = PG_GETARG_INT32(2);
		if (refine < 0 || refine > 1000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("refine_iterations must be between 0 and 1000"),
					 errdetail("The value given was %d.", refine)));
	}
	RequireSecret(is_user ? "forget a user" : "forget an item");
	KeyHash(kind, KeyText(key, type), hash);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	models = LockAndListModels(model, caller, &skipped);
	if (skipped > 0)
		ereport(NOTICE,
				(errmsg("skipped %d model%s the current role does not own", skipped, skipped == 1 ? "" : "s"),
				 errhint("Only a model's owner can erase from it; ask the owners of the others.")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "recpromo forget", ALLOCSET_DEFAULT_SIZES);
	foreach(lc, models)
	{
		ModelRef   *ref = lfirst(lc);
		RecpromoModelRow row;
		RecpromoParts parts;
		Datum		values[FORGET_COLS];
		bool		nulls[FORGET_COLS] = {false, false, false, false, false};
		bool		found;
		int32		idx = -1;
		ForgetOutcome o;

		old = MemoryContextSwitchTo(cxt);
		PushActiveSnapshot(GetLatestSnapshot());
		found = RecpromoModelLookup(ref->name, &row);
		if (found)
		{
			/* the dictionary first: a model without the key is not read further */
			RecpromoKeys keys;
			Size		len;
			void	   *buf = LoadOnePart(row.id, row.version, row.name, is_user ? "users" : "items", &len);

			RecpromoKeysLoad(&keys, buf, len, is_user ? row.user_type : row.item_type,
							 row.name, is_user ? "users" : "items");
			idx = RecpromoKeysFind(&keys, key, type);
			if (idx >= 0)
				RecpromoModelLoadParts(row.id, row.version, cxt, &parts);
		}
		PopActiveSnapshot();
		if (!found)
		{
			MemoryContextSwitchTo(old);
			MemoryContextReset(cxt);
			continue;
		}
		if (idx >= 0)
		{
			RecpromoKeys keys;
			Size		len;
			void	   *buf = RecpromoPartsGet(&parts, is_user ? "users" : "items", 0, false, &len);
			bool	   *drop;
			Jsonb	   *params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																	CStringGetDatum(row.params ? row.params : "{}")));

			/* the dictionary as loaded with the other parts (the same version) */
			RecpromoKeysLoad(&keys, buf, len, is_user ? row.user_type : row.item_type,
							 row.name, is_user ? "users" : "items");
			idx = RecpromoKeysFind(&keys, key, type);
			if (idx < 0)
				RecpromoModelCorrupt(row.name, is_user ? "users" : "items", "changed while loading");
			drop = palloc0((Size) keys.n * sizeof(bool));
			drop[idx] = true;
			ForgetFromParts(row.name, row.method, params, row.user_type, row.item_type,
							&parts, is_user ? drop : NULL, is_user ? NULL : drop, refine, &o);
			SaveErased(&row, &parts, &o);
		}
		MemoryContextSwitchTo(old);
		values[0] = CStringGetTextDatum(ref->name);
		values[1] = CStringGetTextDatum(row.method);
		if (idx < 0)
		{
			values[2] = Int64GetDatum(0);
			values[3] = BoolGetDatum(true);
			values[4] = CStringGetTextDatum(psprintf("the %s is not in this model", kind));
		}
		else
		{
			erased = lappend(erased, pstrdup(ref->name));
			values[2] = Int64GetDatum(o.removed);
			values[3] = BoolGetDatum(o.exact);
			if (o.note)
				values[4] = CStringGetTextDatum(psprintf("%s; %s", o.how, o.note));
			else
				values[4] = CStringGetTextDatum(o.how);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(cxt);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(cxt);
	LogErasure(kind, hash, erased);
}

/*
 * forget_user(user_id anyelement, model text DEFAULT NULL,
 *			   refine_iterations integer DEFAULT 0)
 * RETURNS TABLE (model_name text, method text, rows_removed bigint,
 *				  exact boolean, note text)
 */
PG_FUNCTION_INFO_V1(recpromo_forget_user);
Datum
recpromo_forget_user(PG_FUNCTION_ARGS)
{
	ForgetKey(fcinfo, true);
	return (Datum) 0;
}

/* forget_item(item_id anyelement, model text DEFAULT NULL): the same for an item. */
PG_FUNCTION_INFO_V1(recpromo_forget_item);
Datum
recpromo_forget_item(PG_FUNCTION_ARGS)
{
	ForgetKey(fcinfo, false);
	return (Datum) 0;
}

/*
 * erasure_logged(key anyelement, kind text DEFAULT NULL) RETURNS boolean:
 * whether the log holds an erasure of that key (of that kind: 'user' or
 * 'item'; NULL: either).  Superusers and the extension owner only.
 */
PG_FUNCTION_INFO_V1(recpromo_erasure_logged);
Datum
recpromo_erasure_logged(PG_FUNCTION_ARGS)
{
	Oid			type;
	char	   *keytext;
	char	   *kind = NULL;
	bool		found = false;
	RecpromoOwnerScope scope;
	Oid			caller = GetUserId();

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("key must not be null")));
	if (!PG_ARGISNULL(1))
	{
		kind = text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (strcmp(kind, "user") != 0 && strcmp(kind, "item") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid kind \"%s\"", kind),
					 errhint("Use 'user', 'item' or NULL for either.")));
	}
	if (!superuser() && !has_privs_of_role(caller, RecpromoExtensionOwner()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for the erasure log"),
				 errhint("Only superusers and the owner of the recpromo extension can audit erasures.")));
	RequireSecret("check the erasure log");
	type = get_fn_expr_argtype(fcinfo->flinfo, 0);
	if (!OidIsValid(type) || type == UNKNOWNOID)
		ereport(ERROR,
				(errcode(ERRCODE_INDETERMINATE_DATATYPE),
				 errmsg("could not determine the type of key"),
				 errhint("Cast the key, e.g. '42'::bigint or 'C-17'::text.")));
	keytext = KeyText(PG_GETARG_DATUM(0), type);

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	for (int k = 0; k < 2 && !found; k++)
	{
		const char *kd = k == 0 ? "user" : "item";
		uint8		hash[FORGET_HASH_LEN];
		bytea	   *h = palloc(VARHDRSZ + FORGET_HASH_LEN);
		Oid			types[2] = {BYTEAOID, TEXTOID};
		Datum		values[2];

		if (kind != NULL && strcmp(kind, kd) != 0)
			continue;
		KeyHash(kd, keytext, hash);
		SET_VARSIZE(h, VARHDRSZ + FORGET_HASH_LEN);
		memcpy(VARDATA(h), hash, FORGET_HASH_LEN);
		values[0] = PointerGetDatum(h);
		values[1] = CStringGetTextDatum(kd);
		if (SPI_execute_with_args("SELECT 1 FROM recpromo.erasure_log l "
								  "WHERE l.key_hash OPERATOR(pg_catalog.=) $1 AND l.kind OPERATOR(pg_catalog.=) $2",
								  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.erasure_log");
		found = SPI_processed > 0;
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	PG_RETURN_BOOL(found);
}

/* ---------- retrains ---------- */

int64
RecpromoErasureWatermark(void)
{
	RecpromoOwnerScope scope;
	int64		mark = 0;
	bool		isnull;
	Oid			nsp = get_namespace_oid("recpromo", true);

	/*
	 * A database whose extension is still 0.2.0 (the library was installed,
	 * ALTER EXTENSION UPDATE not yet run) has no erasure log, hence no
	 * erasure to apply: -1 tells RecpromoErasureApplyLate so.
	 */
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("erasure_log", nsp)))
		return -1;
	SPI_connect();
	RecpromoOwnerEnter(&scope);
	if (SPI_execute("SELECT pg_catalog.max(l.id) FROM recpromo.erasure_log l", true, 1) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.erasure_log");
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			mark = DatumGetInt64(d);
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	return mark;
}

/* Marks the keys of `keys` whose hash is one of hashes[0..n). */
static int
MarkHashed(const RecpromoKeys *keys, const char *kind, uint8 (*hashes)[FORGET_HASH_LEN], int n,
		   bool *drop)
{
	int			hits = 0;

	for (int32 i = 0; i < keys->n; i++)
	{
		uint8		h[FORGET_HASH_LEN];
		char	   *s = RecpromoKeysGetCString(keys, i);

		KeyHash(kind, s, h);
		pfree(s);
		for (int j = 0; j < n; j++)
			if (memcmp(h, hashes[j], FORGET_HASH_LEN) == 0)
			{
				drop[i] = true;
				hits++;
				break;
			}
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return hits;
}

void
RecpromoErasureApplyLate(RecpromoModelRow *row, RecpromoParts *parts, int64 watermark)
{
	RecpromoOwnerScope scope;
	int			n_user = 0;
	int			n_item = 0;
	uint8		(*uh)[FORGET_HASH_LEN] = NULL;
	uint8		(*ih)[FORGET_HASH_LEN] = NULL;
	MemoryContext outer = CurrentMemoryContext;

	if (watermark < 0)
		return;					/* no erasure log in this database (see the watermark) */
	SPI_connect();
	RecpromoOwnerEnter(&scope);
	/* the lock the save takes anyway: erasures now wait for this training */
	if (SPI_execute("LOCK TABLE recpromo.model IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		RecpromoSpiError("lock recpromo.model");
	PushActiveSnapshot(GetLatestSnapshot());
	{
		Oid			t = INT8OID;
		Datum		v = Int64GetDatum(watermark);

		if (SPI_execute_with_args("SELECT l.kind, l.key_hash, l.erased_by::pg_catalog.text FROM recpromo.erasure_log l "
								  "WHERE l.id OPERATOR(pg_catalog.>) $1 ORDER BY l.id",
								  1, &t, &v, NULL, true, 0) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.erasure_log");
	}
	PopActiveSnapshot();
	if (SPI_processed > 0)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(outer);

		uh = palloc(SPI_processed * FORGET_HASH_LEN);
		ih = palloc(SPI_processed * FORGET_HASH_LEN);
		MemoryContextSwitchTo(spicxt);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			char	   *kind = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
			bytea	   *h = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));

			char	   *by = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &isnull));
			Oid			by_role = get_role_oid(by, true);

			if (VARSIZE_ANY_EXHDR(h) != FORGET_HASH_LEN)
				continue;
			/* only erasures by a role that could have erased from this model itself */
			if (!OidIsValid(by_role) || !has_privs_of_role(by_role, scope.caller))
				continue;
			if (strcmp(kind, "user") == 0)
				memcpy(uh[n_user++], VARDATA_ANY(h), FORGET_HASH_LEN);
			else
				memcpy(ih[n_item++], VARDATA_ANY(h), FORGET_HASH_LEN);
		}
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	if (n_user + n_item == 0)
		return;
	RequireSecret("apply the erasures logged during this training");
	{
		RecpromoKeys users;
		RecpromoKeys items;
		Size		len;
		void	   *buf;
		bool	   *udrop;
		bool	   *idrop;
		int			hits = 0;
		ForgetOutcome o;
		Jsonb	   *params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
															   CStringGetDatum(row->params ? row->params : "{}")));

		buf = RecpromoPartsGet(parts, "users", 0, false, &len);
		RecpromoKeysLoad(&users, buf, len, row->user_type, row->name, "users");
		buf = RecpromoPartsGet(parts, "items", 0, false, &len);
		RecpromoKeysLoad(&items, buf, len, row->item_type, row->name, "items");
		udrop = palloc0(Max((Size) users.n, 1) * sizeof(bool));
		idrop = palloc0(Max((Size) items.n, 1) * sizeof(bool));
		if (n_user > 0)
			hits += MarkHashed(&users, "user", uh, n_user, udrop);
		if (n_item > 0)
			hits += MarkHashed(&items, "item", ih, n_item, idrop);
		if (hits == 0)
			return;
		ForgetFromParts(row->name, row->method, params, row->user_type, row->item_type,
						parts, udrop, idrop, 0, &o);
		if (o.params != NULL)
			row->params = o.params;
		row->n_users = o.n_users;
		row->n_items = o.n_items;
		row->nnz = o.nnz;
		ereport(NOTICE,
				(errmsg("removed %d key%s erased while model \"%s\" was training",
						hits, hits == 1 ? "" : "s", row->name),
				 errdetail("The training read its source before the erasure committed; erasures logged during a training are applied before it saves.")));
	}
}
