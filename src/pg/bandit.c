/*
 * bandit.c
 *	  SQL entry points of the bandits: create_bandit, add_bandit_arms,
 *	  retire_bandit_arm, drop_bandit, grant_bandit, revoke_bandit, choose,
 *	  reward, bandit_stats, bandit_history, bandit_action_probabilities,
 *	  recount_bandit and replay_bandit.  The policies themselves are src/core/rp_bandit.c.
 *
 * State.  A bandit's policy depends only on additive per-arm sums (see
 * rp_bandit.h).  They live in recpromo.bandit_state, `shards` rows per arm;
 * reward() adds to the row of shard (MyProcPid mod shards) - a row lock
 * held to the end of its transaction, so two sessions wait for each other
 * only when their pids fall in the same shard and they reward the same arm.
 * choose() adds the shards up (in arm, shard order) and also counts its
 * pull in its shard.  Nothing is cached across calls: every decision sees
 * the committed state of its snapshot, and a rolled-back choose or reward
 * leaves neither log nor sums behind.  With window_size W the sums are
 * recomputed from the last W rewards of the log (by reward_seq) at each
 * decision instead: exact, O(W) per decision.
 *
 * Every row is written under the extension owner (RecpromoOwnerEnter, as
 * for models), after the caller's rights were checked: the owner may do
 * everything, readers (grant_bandit) may choose, reward and read.  Query
 * texts are fixed and qualified; the ones run at every decision are
 * prepared once per backend (SPI_keepplan).
 *
 * A drop_bandit concurrent with a choose may leave that choose's rows under
 * the dropped id: ids come from a sequence and are never reused, so such
 * rows are unreachable.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "model_store.h"
#include "rp_bandit.h"
#include "rp_stats.h"
#include "spi_guard.h"

#define BANDIT_MAX_SHARDS 64

typedef struct Bandit
{
	int64		id;
	char	   *name;
	char	   *policy_name;
	rp_bandit_cfg cfg;
	int			n_features;
	char	  **features;
	int			window;			/* 0: no window */
	int64		seed;
	int			shards;
	Oid			owner;
	int			n_readers;
	Oid		   *readers;
	/* arms, index = arm_no - 1 */
	int			k;
	char	  **arm;
	bool	   *active;
	/* state */
	int64	   *pulls;
	rp_bandit_arm *sums;
} Bandit;

/* ---------- prepared statements ---------- */

enum
{
	Q_BANDIT,
	Q_ARMS,
	Q_STATE,
	Q_WINDOW,
	Q_NEXT_DECISION,
	Q_LOG_DECISION,
	Q_PULL,
	Q_DECISION,
	Q_LOG_REWARD,
	Q_REWARD_SCALAR,
	Q_STATE_ROW,
	Q_REWARD_LINEAR,
	N_PLANS
};

static SPIPlanPtr plans[N_PLANS];

static int
RunPlan(int which, const char *sql, int nargs, Oid *types, Datum *values,
		const char *nulls, bool read_only, long count)
{
	if (plans[which] == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			RecpromoSpiError("prepare a bandit query");
		plans[which] = p;
	}
	return SPI_execute_plan(plans[which], values, nulls, read_only, count);
}

/* ---------- arguments ---------- */

static char *
TextArg(FunctionCallInfo fcinfo, int arg, const char *what)
{
	char	   *s;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(arg));
	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	return s;
}

static double
Float8Arg(FunctionCallInfo fcinfo, int arg, double dflt)
{
	return PG_ARGISNULL(arg) ? dflt : PG_GETARG_FLOAT8(arg);
}

/* text[] without nulls or empty strings, as C strings */
static char **
ArmsArg(FunctionCallInfo fcinfo, int arg, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arms must not be null")));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(arg), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, n);
	if (*n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arms must not be empty"),
				 errhint("Pass the names of the arms, e.g. ARRAY['banner', 'coupon'].")));
	out = palloc(*n * sizeof(char *));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("arm names must not be null")));
		out[i] = TextDatumGetCString(elems[i]);
		if (out[i][0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("arm names must not be empty")));
	}
	return out;
}

static void
NoSuchBandit(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("bandit \"%s\" does not exist", name),
			 errhint("Create it with recpromo.create_bandit().")));
}

static char *
RoleName(Oid role)
{
	char	   *n = GetUserNameFromId(role, true);

	return n ? n : psprintf("%u", role);
}

static void
CheckOwner(const Bandit *b, Oid caller)
{
	if (!has_privs_of_role(caller, b->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for bandit \"%s\"", b->name),
				 errdetail("Bandit \"%s\" belongs to role \"%s\": only that role, its members and superusers can change, grant or drop it.",
						   b->name, RoleName(b->owner))));
}

static void
CheckReader(const Bandit *b, Oid caller)
{
	if (!RecpromoRoleMayServe(caller, b->owner, b->readers, b->n_readers))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for bandit \"%s\"", b->name),
				 errdetail("Bandit \"%s\" belongs to role \"%s\" and was not granted to the current role.",
						   b->name, RoleName(b->owner)),
				 errhint("Its owner can allow it with SELECT recpromo.grant_bandit('%s', 'role_name').",
						 b->name)));
}

static rp_bandit_policy
PolicyFromName(const char *p)
{
	if (strcmp(p, "thompson") == 0)
		return RP_BANDIT_THOMPSON;
	if (strcmp(p, "ucb1") == 0)
		return RP_BANDIT_UCB1;
	if (strcmp(p, "epsilon_greedy") == 0)
		return RP_BANDIT_EPSILON_GREEDY;
	if (strcmp(p, "linucb") == 0)
		return RP_BANDIT_LINUCB;
	if (strcmp(p, "lin_ts") == 0)
		return RP_BANDIT_LIN_TS;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown bandit policy \"%s\"", p),
			 errhint("Policies: thompson, ucb1, epsilon_greedy, linucb, lin_ts.")));
	return RP_BANDIT_THOMPSON;	/* keep the compiler quiet */
}

static bool
IsLinear(const Bandit *b)
{
	return b->cfg.policy == RP_BANDIT_LINUCB || b->cfg.policy == RP_BANDIT_LIN_TS;
}

/* ---------- loading (inside an owner scope, SPI connected) ---------- */

static double
GetF8(HeapTuple t, TupleDesc td, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(t, td, col, &isnull);

	return isnull ? 0.0 : DatumGetFloat8(d);
}

static int64
GetI8(HeapTuple t, TupleDesc td, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(t, td, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* copies a float8[] of exactly n finite-or-not values into out; false if null */
static bool
GetF8Array(HeapTuple t, TupleDesc td, int col, double *out, int n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(t, td, col, &isnull);
	ArrayType  *a;

	if (isnull)
		return false;
	a = DatumGetArrayTypeP(d);
	if (ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("bandit state has a matrix of the wrong size"),
				 errhint("Compare it with recpromo.recount_bandit().")));
	memcpy(out, ARR_DATA_PTR(a), n * sizeof(double));
	return true;
}

static Datum
F8ArrayDatum(const double *v, int n)
{
	Datum	   *e = palloc(Max(n, 1) * sizeof(Datum));

	for (int i = 0; i < n; i++)
		e[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(e, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/*
 * Reads the bandit `name` (lock: "" or " FOR UPDATE") and its arms into
 * *b, allocated in `cxt`.  Returns false when there is no such bandit.
 */
static bool
LoadBandit(const char *name, Bandit *b, MemoryContext cxt, bool for_update)
{
	Oid			t = TEXTOID;
	Datum		v = CStringGetTextDatum(name);
	HeapTuple	tup;
	TupleDesc	td;
	MemoryContext old;
	bool		isnull;
	int			rc;
	const char *q = "SELECT b.id, b.policy, b.reward, b.dimension, b.features, b.prior_a, b.prior_b, "
		"b.prior_mean, b.prior_var, b.epsilon, b.alpha, b.lambda, b.draws, b.window_size, b.seed, "
		"b.shards, b.owner, b.readers FROM recpromo.bandit b WHERE b.name OPERATOR(pg_catalog.=) $1";

	if (for_update)
		rc = SPI_execute_with_args(psprintf("%s FOR UPDATE", q), 1, &t, &v, NULL, false, 1);
	else
		rc = RunPlan(Q_BANDIT, q, 1, &t, &v, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.bandit");
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	td = SPI_tuptable->tupdesc;
	old = MemoryContextSwitchTo(cxt);
	memset(b, 0, sizeof(*b));
	b->name = pstrdup(name);
	b->id = GetI8(tup, td, 1);
	b->policy_name = SPI_getvalue(tup, td, 2);
	rp_bandit_defaults(&b->cfg);
	b->cfg.policy = PolicyFromName(b->policy_name);
	{
		char	   *r = SPI_getvalue(tup, td, 3);

		b->cfg.binary = strcmp(r, "binary") == 0;
	}
	b->cfg.dim = DatumGetInt32(SPI_getbinval(tup, td, 4, &isnull));
	{
		Datum		d = SPI_getbinval(tup, td, 5, &isnull);

		if (!isnull)
		{
			Datum	   *e;
			bool	   *nn;

			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
							  &e, &nn, &b->n_features);
			b->features = palloc(Max(b->n_features, 1) * sizeof(char *));
			for (int i = 0; i < b->n_features; i++)
				b->features[i] = TextDatumGetCString(e[i]);
		}
	}
	b->cfg.prior_a = GetF8(tup, td, 6);
	b->cfg.prior_b = GetF8(tup, td, 7);
	b->cfg.prior_mean = GetF8(tup, td, 8);
	b->cfg.prior_var = GetF8(tup, td, 9);
	b->cfg.epsilon = GetF8(tup, td, 10);
	b->cfg.alpha = GetF8(tup, td, 11);
	b->cfg.lambda = GetF8(tup, td, 12);
	b->cfg.draws = DatumGetInt32(SPI_getbinval(tup, td, 13, &isnull));
	{
		Datum		d = SPI_getbinval(tup, td, 14, &isnull);

		b->window = isnull ? 0 : DatumGetInt32(d);
	}
	b->seed = GetI8(tup, td, 15);
	b->shards = DatumGetInt32(SPI_getbinval(tup, td, 16, &isnull));
	b->owner = DatumGetObjectId(SPI_getbinval(tup, td, 17, &isnull));
	{
		Datum		d = SPI_getbinval(tup, td, 18, &isnull);

		if (!isnull)
		{
			Datum	   *e;
			bool	   *nn;
			int			n;

			deconstruct_array(DatumGetArrayTypeP(d), REGROLEOID, sizeof(Oid), true, TYPALIGN_INT,
							  &e, &nn, &n);
			b->readers = palloc(Max(n, 1) * sizeof(Oid));
			for (int i = 0; i < n; i++)
				if (!nn[i])
					b->readers[b->n_readers++] = DatumGetObjectId(e[i]);
		}
	}
	MemoryContextSwitchTo(old);

	/* arms */
	v = Int64GetDatum(b->id);
	t = INT8OID;
	if (RunPlan(Q_ARMS, "SELECT a.arm_no, a.arm, a.active FROM recpromo.bandit_arm a "
				"WHERE a.bandit_id OPERATOR(pg_catalog.=) $1 ORDER BY a.arm_no",
				1, &t, &v, NULL, false, 0) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.bandit_arm");
	old = MemoryContextSwitchTo(cxt);
	b->k = (int) SPI_processed;
	b->arm = palloc0(Max(b->k, 1) * sizeof(char *));
	b->active = palloc0(Max(b->k, 1) * sizeof(bool));
	for (int i = 0; i < b->k; i++)
	{
		HeapTuple	r = SPI_tuptable->vals[i];
		int			no = DatumGetInt32(SPI_getbinval(r, SPI_tuptable->tupdesc, 1, &isnull));

		if (no != i + 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("arms of bandit \"%s\" are not numbered 1 to %d", name, b->k)));
		b->arm[i] = SPI_getvalue(r, SPI_tuptable->tupdesc, 2);
		b->active[i] = DatumGetBool(SPI_getbinval(r, SPI_tuptable->tupdesc, 3, &isnull));
	}
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * Opens the bracket most bandit functions share: connects to SPI, enters the
 * extension owner's scope and loads bandit `name` into *b (arrays in cxt).
 * to_change locks the bandit row (FOR UPDATE) and requires the caller to own
 * it; otherwise the caller must be allowed to read it.  Raises "does not
 * exist" or "permission denied"; on return the caller is inside the scope and
 * connected to SPI, and leaves both with CloseBandit().
 */
static void
OpenBandit(const char *name, Bandit *b, RecpromoOwnerScope *scope, MemoryContext cxt,
		   bool to_change)
{
	SPI_connect();
	RecpromoOwnerEnter(scope);
	if (!LoadBandit(name, b, cxt, to_change))
		NoSuchBandit(name);
	if (to_change)
		CheckOwner(b, scope->caller);
	else
		CheckReader(b, scope->caller);
}

/* Closes OpenBandit's bracket: leaves the owner's scope, then SPI. */
static void
CloseBandit(RecpromoOwnerScope *scope)
{
	RecpromoOwnerLeave(scope);
	SPI_finish();
}

/* Allocates zeroed sums for the arms of b in cxt. */
static void
AllocSums(Bandit *b, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	int			d = IsLinear(b) ? b->cfg.dim : 0;

	b->pulls = palloc0(Max(b->k, 1) * sizeof(int64));
	b->sums = palloc0(Max(b->k, 1) * sizeof(rp_bandit_arm));
	for (int i = 0; i < b->k; i++)
		if (d > 0)
		{
			b->sums[i].G = palloc0(sizeof(double) * d * d);
			b->sums[i].b = palloc0(sizeof(double) * d);
		}
	MemoryContextSwitchTo(old);
}

/*
 * Reads the state of b: pulls from the shards, and the reward sums from the
 * shards or, with a window, from the last `window` rewards of the log.
 * read_only: read in the calling statement's snapshot (SPI read-only), as
 * a later read-only query of the log will, instead of a fresh one.
 */
static void
LoadState(Bandit *b, MemoryContext cxt, bool read_only)
{
	Oid			t[2] = {INT8OID, INT4OID};
	Datum		v[2];
	int			d = IsLinear(b) ? b->cfg.dim : 0;
	double	   *tmp = palloc(sizeof(double) * Max(d * d, 1));

	AllocSums(b, cxt);
	v[0] = Int64GetDatum(b->id);
	if (RunPlan(Q_STATE, "SELECT s.arm_no, s.pulls, s.rewards, s.reward_sum, s.reward_sq, s.gram, s.xr "
				"FROM recpromo.bandit_state s WHERE s.bandit_id OPERATOR(pg_catalog.=) $1 "
				"ORDER BY s.arm_no, s.shard", 1, t, v, NULL, read_only, 0) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.bandit_state");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		int			i = DatumGetInt32(SPI_getbinval(tup, td, 1, &isnull)) - 1;
		rp_bandit_arm *a;

		if (i < 0 || i >= b->k)
			continue;
		a = &b->sums[i];
		b->pulls[i] += GetI8(tup, td, 2);
		if (b->window > 0)
			continue;
		a->n += (double) GetI8(tup, td, 3);
		a->s += GetF8(tup, td, 4);
		a->ss += GetF8(tup, td, 5);
		if (d > 0)
		{
			if (GetF8Array(tup, td, 6, tmp, d * d))
				for (int j = 0; j < d * d; j++)
					a->G[j] += tmp[j];
			if (GetF8Array(tup, td, 7, tmp, d))
				for (int j = 0; j < d; j++)
					a->b[j] += tmp[j];
		}
	}
	if (b->window > 0)
	{
		v[1] = Int32GetDatum(b->window);
		if (RunPlan(Q_WINDOW, "SELECT d.arm_no, w.value, d.features FROM "
					"(SELECT r.decision_id, r.value, r.reward_seq FROM recpromo.bandit_reward r "
					"WHERE r.bandit_id OPERATOR(pg_catalog.=) $1 "
					"ORDER BY r.reward_seq DESC LIMIT $2) w "
					"JOIN recpromo.bandit_decision d ON d.decision_id OPERATOR(pg_catalog.=) w.decision_id "
					"ORDER BY w.reward_seq", 2, t, v, NULL, read_only, 0) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.bandit_reward");
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	td = SPI_tuptable->tupdesc;
			bool		isnull;
			int			i = DatumGetInt32(SPI_getbinval(tup, td, 1, &isnull)) - 1;
			double		val = GetF8(tup, td, 2);

			CHECK_FOR_INTERRUPTS();
			if (i < 0 || i >= b->k)
				continue;
			if (d > 0 && !GetF8Array(tup, td, 3, tmp, d))
				continue;
			rp_bandit_update(&b->cfg, &b->sums[i], tmp, val);
		}
	}
	pfree(tmp);
}

/* ---------- contexts ---------- */

static void
BadDimension(const Bandit *b, int got)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("context has %d features, bandit \"%s\" expects %d", got, b->name, b->cfg.dim),
			 errhint("Pass %d numbers as a float8[] or a JSON array%s.", b->cfg.dim,
					 b->n_features > 0 ? ", or a JSON object with the bandit's feature names" : "")));
}

static double
CheckFeature(const Bandit *b, double v, int j)
{
	if (!rp_finite(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature %d of the context is not finite", j + 1),
				 errhint("Contexts must hold finite numbers: replace NaN and infinity before choosing.")));
	return v;
}

static double
JsonNumber(const Bandit *b, JsonbValue *jv, const char *what)
{
	if (jv == NULL || jv->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("context feature %s is missing or not a number", what),
				 errhint("A contextual bandit needs a number for every feature.")));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(jv->val.numeric)));
}

/*
 * The feature vector of a context argument (jsonb or float8[]) for a
 * contextual bandit, palloc'd; NULL for other bandits (their context is
 * only logged).  *features_out: the float8[] to log (NULL for none).
 */
static double *
ContextFeatures(FunctionCallInfo fcinfo, int arg, const Bandit *b, MemoryContext cxt)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, arg);
	int			d = b->cfg.dim;
	double	   *x;

	if (!IsLinear(b))
		return NULL;
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("bandit \"%s\" is contextual (%s) and needs a context", b->name, b->policy_name),
				 errhint("Pass context => a float8[] or JSON array of %d numbers.", d)));
	x = MemoryContextAlloc(cxt, sizeof(double) * d);
	if (type == JSONBOID)
	{
		Jsonb	   *jb = PG_GETARG_JSONB_P(arg);

		if (JsonContainerIsArray(&jb->root) && !JsonContainerIsScalar(&jb->root))
		{
			int			n = JsonContainerSize(&jb->root);

			if (n != d)
				BadDimension(b, n);
			for (int j = 0; j < d; j++)
			{
				char		pos[16];

				snprintf(pos, sizeof(pos), "%d", j + 1);
				x[j] = CheckFeature(b, JsonNumber(b, getIthJsonbValueFromContainer(&jb->root, j), pos), j);
			}
		}
		else if (JsonContainerIsObject(&jb->root) && b->n_features > 0)
		{
			for (int j = 0; j < d; j++)
			{
				const char *f = b->features[j];

				x[j] = CheckFeature(b, JsonNumber(b, getKeyJsonValueFromContainer(&jb->root, f, strlen(f), NULL),
												  quote_identifier(f)), j);
			}
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("context of bandit \"%s\" must be a JSON array of %d numbers%s", b->name, d,
							b->n_features > 0 ? " or an object with its feature names" : "")));
	}
	else
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(arg);
		int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));

		if (ARR_NDIM(a) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("context must be a one-dimensional array")));
		if (ARR_HASNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("context must not contain nulls")));
		if (n != d)
			BadDimension(b, n);
		for (int j = 0; j < d; j++)
			x[j] = CheckFeature(b, ((double *) ARR_DATA_PTR(a))[j], j);
	}
	return x;
}

/* ---------- decisions ---------- */

/*
 * The random stream of a decision: from the bandit's seed and the decision
 * id (of the first arm, for n > 1), so concurrent decisions draw
 * independently and a decision can be reproduced from the log.
 */
static uint64
DecisionSeed(int64 seed, int64 decision)
{
	return (uint64) seed ^ ((uint64) decision * UINT64_C(0x9E3779B97F4A7C15));
}

static void
Probabilities(const Bandit *b, const unsigned char *eligible, const double *x, rp_rng *rng,
			  double *prob)
{
	double	   *work = palloc(sizeof(double) * rp_bandit_workspace_size(&b->cfg, b->k));
	rp_status	st = rp_bandit_probabilities(&b->cfg, b->k, b->sums, eligible, x, rng, prob, work);

	if (st == RP_ENUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("bandit \"%s\" has a state that is not finite or not positive definite", b->name),
				 errhint("Check the rewards and features logged, e.g. with recpromo.recount_bandit().")));
	if (st != RP_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bandit \"%s\" has no active arm", b->name),
				 errhint("Add arms with recpromo.add_bandit_arms().")));
	pfree(work);
}

static unsigned char *
ActiveMask(const Bandit *b, int *n_active)
{
	unsigned char *el = palloc0(Max(b->k, 1));

	*n_active = 0;
	for (int i = 0; i < b->k; i++)
		if (b->active[i])
		{
			el[i] = 1;
			(*n_active)++;
		}
	return el;
}

/*
 * A state row that an update or lock did not find (SPI connected, owner
 * scope): usually the bandit was dropped by a transaction that committed
 * while this one waited for the row, else the state is damaged.
 */
static void
MissingStateRow(const Bandit *b, int arm_no, int shard)
{
	Oid			t = INT8OID;
	Datum		v = Int64GetDatum(b->id);

	if (SPI_execute_with_args("SELECT 1 FROM recpromo.bandit b WHERE b.id OPERATOR(pg_catalog.=) $1",
							  1, &t, &v, NULL, false, 1) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.bandit");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("bandit \"%s\" was dropped by a concurrent transaction", b->name),
				 errhint("Nothing of this call was kept.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("bandit \"%s\" lacks the state row of arm %d, shard %d", b->name, arm_no, shard)));
}

PG_FUNCTION_INFO_V1(recpromo_choose);
Datum
recpromo_choose(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "bandit");
	int			n = PG_ARGISNULL(2) ? 1 : PG_GETARG_INT32(2);
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	unsigned char *el;
	int			n_active;
	double	   *x;
	double	   *prob;
	Datum		context = (Datum) 0;
	bool		context_null = true;
	Datum		features = (Datum) 0;
	rp_rng		rng;
	int		   *picked;
	int64	   *ids;
	double	   *props;

	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be at least 1"),
				 errhint("n is the number of distinct arms to choose.")));
	InitMaterializedSRF(fcinfo, 0);
	if (!PG_ARGISNULL(1) && get_fn_expr_argtype(fcinfo->flinfo, 1) == JSONBOID)
	{
		context = PG_GETARG_DATUM(1);
		context_null = false;
	}

	OpenBandit(name, &b, &scope, outer, false);
	el = ActiveMask(&b, &n_active);
	if (n_active == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bandit \"%s\" has no active arm", name),
				 errhint("Add arms with recpromo.add_bandit_arms().")));
	if (n > n_active)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n = %d exceeds the %d active arms of bandit \"%s\"", n, n_active, name),
				 errhint("choose() returns distinct arms: ask for at most %d.", n_active)));
	x = ContextFeatures(fcinfo, 1, &b, outer);
	if (x != NULL)
		features = F8ArrayDatum(x, b.cfg.dim);
	else if (!PG_ARGISNULL(1) && get_fn_expr_argtype(fcinfo->flinfo, 1) != JSONBOID)
		features = PG_GETARG_DATUM(1);	/* logged as given */
	LoadState(&b, outer, false);
	prob = palloc(sizeof(double) * b.k);
	/* what outlives SPI_finish lives in the caller's context */
	picked = MemoryContextAlloc(outer, sizeof(int) * n);
	ids = MemoryContextAlloc(outer, sizeof(int64) * n);
	props = MemoryContextAlloc(outer, sizeof(double) * n);
	for (int j = 0; j < n; j++)
	{
		Oid			types[6] = {INT8OID, INT8OID, INT4OID, FLOAT8OID, JSONBOID, FLOAT8ARRAYOID};
		Datum		values[6];
		char		nulls[6] = {' ', ' ', ' ', ' ', context_null ? 'n' : ' ', features ? ' ' : 'n'};
		int			a;
		bool		isnull;

		if (RunPlan(Q_NEXT_DECISION, "SELECT pg_catalog.nextval('recpromo.bandit_decision_seq'::pg_catalog.regclass)",
					0, NULL, NULL, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			RecpromoSpiError("draw a decision id");
		ids[j] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (j == 0)
			rp_rng_seed(&rng, DecisionSeed(b.seed, ids[0]));
		Probabilities(&b, el, x, &rng, prob);
		a = rp_bandit_pick(prob, b.k, rp_rng_uniform(&rng));
		picked[j] = a;
		props[j] = prob[a];
		el[a] = 0;

		values[0] = Int64GetDatum(ids[j]);
		values[1] = Int64GetDatum(b.id);
		values[2] = Int32GetDatum(a + 1);
		values[3] = Float8GetDatum(prob[a]);
		values[4] = context;
		values[5] = features;
		if (RunPlan(Q_LOG_DECISION, "INSERT INTO recpromo.bandit_decision "
					"(decision_id, bandit_id, arm_no, propensity, context, features) "
					"VALUES ($1, $2, $3, $4, $5, $6)", 6, types, values, nulls, false, 0) != SPI_OK_INSERT)
			RecpromoSpiError("log a bandit decision");
	}

	/*
	 * Count the pulls, in arm order: two sessions of one shard that choose
	 * several arms lock their rows in the same order, so they cannot deadlock.
	 */
	for (int i = 0; i < b.k; i++)
	{
		Oid			pt[3] = {INT8OID, INT4OID, INT4OID};
		Datum		values[3];
		bool		chosen = false;

		for (int j = 0; j < n; j++)
			chosen |= picked[j] == i;
		if (!chosen)
			continue;
		values[0] = Int64GetDatum(b.id);
		values[1] = Int32GetDatum(i + 1);
		values[2] = Int32GetDatum(MyProcPid % b.shards);
		if (RunPlan(Q_PULL, "UPDATE recpromo.bandit_state s SET pulls = s.pulls OPERATOR(pg_catalog.+) 1 "
					"WHERE s.bandit_id OPERATOR(pg_catalog.=) $1 AND s.arm_no OPERATOR(pg_catalog.=) $2 "
					"AND s.shard OPERATOR(pg_catalog.=) $3", 3, pt, values, NULL, false, 0) != SPI_OK_UPDATE ||
			SPI_processed != 1)
			MissingStateRow(&b, i + 1, MyProcPid % b.shards);
	}
	CloseBandit(&scope);

	for (int j = 0; j < n; j++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(b.arm[picked[j]]);
		values[1] = Int64GetDatum(ids[j]);
		values[2] = Float8GetDatum(props[j]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * Refuses a reward whose square (or, for a contextual bandit, whose products
 * with the decision's features) would make the bandit's sums infinite: the
 * state would then be unusable for every later decision.
 */
static void
TooLarge(const char *name, int64 decision)
{
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("reward value is too large"),
				 errdetail("The bandit keeps the sum of squared rewards, and this square is not finite."),
				 errhint("Rescale the rewards: their squares must be finite (absolute values below about 1e154).")));
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("reward of decision %lld would make the sums of bandit \"%s\" infinite",
					(long long) decision, name),
			 errdetail("The bandit keeps sums of x x' and of reward * x over the context features x."),
			 errhint("Rescale the context features and rewards to moderate magnitudes.")));
}

PG_FUNCTION_INFO_V1(recpromo_reward);
Datum
recpromo_reward(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "bandit");
	int64		decision;
	double		value;
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	Oid			t1 = INT8OID;
	Datum		v1;
	bool		isnull;
	int			arm;
	int			d;
	double	   *x = NULL;
	int			shard = MyProcPid;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("decision_id must not be null"),
				 errhint("Pass the decision_id that choose() returned.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("reward value must not be null"),
				 errhint("Record a failure as 0.")));
	decision = PG_GETARG_INT64(1);
	value = PG_GETARG_FLOAT8(2);
	if (!rp_finite(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("reward value must be finite"),
				 errhint("Rewards are 0/1 for a binary bandit, finite amounts otherwise.")));

	/* its square goes into the sums: an infinite one would wreck the bandit for good */
	if (!rp_finite(value * value))
		TooLarge(NULL, decision);

	OpenBandit(name, &b, &scope, outer, false);
	if (b.cfg.binary && value != 0.0 && value != 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reward of binary bandit \"%s\" must be 0 or 1, not %g", name, value),
				 errhint("Create the bandit with reward => 'amount' for other values.")));
	d = IsLinear(&b) ? b.cfg.dim : 0;
	shard = MyProcPid % b.shards;
	v1 = Int64GetDatum(decision);
	if (RunPlan(Q_DECISION, "SELECT d.bandit_id, d.arm_no, d.features FROM recpromo.bandit_decision d "
				"WHERE d.decision_id OPERATOR(pg_catalog.=) $1", 1, &t1, &v1, NULL, false, 1) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.bandit_decision");
	if (SPI_processed == 0 ||
		GetI8(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) != b.id)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("decision %lld of bandit \"%s\" does not exist", (long long) decision, name),
				 errhint("Reward the decision_id that choose() returned, in a transaction that sees its commit.")));
	arm = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (d > 0)
	{
		x = palloc(sizeof(double) * d);
		if (!GetF8Array(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, x, d))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("decision %lld has no features", (long long) decision)));
	}
	{
		Oid			types[3] = {INT8OID, INT8OID, FLOAT8OID};
		Datum		values[3] = {Int64GetDatum(decision), Int64GetDatum(b.id), Float8GetDatum(value)};

		if (RunPlan(Q_LOG_REWARD, "INSERT INTO recpromo.bandit_reward (decision_id, bandit_id, reward_seq, value) "
					"VALUES ($1, $2, pg_catalog.nextval('recpromo.bandit_reward_seq'::pg_catalog.regclass), $3) "
					"ON CONFLICT (decision_id) DO NOTHING", 3, types, values, NULL, false, 0) != SPI_OK_INSERT)
			RecpromoSpiError("log a bandit reward");
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("decision %lld of bandit \"%s\" already has a reward", (long long) decision, name),
					 errdetail("A decision takes one reward; a second one is refused, not added."),
					 errhint("Report the total of a decision in one reward() call.")));
	}
	if (d == 0)
	{
		Oid			types[5] = {INT8OID, INT4OID, INT4OID, FLOAT8OID, FLOAT8OID};
		Datum		values[5] = {Int64GetDatum(b.id), Int32GetDatum(arm), Int32GetDatum(shard),
		Float8GetDatum(value), Float8GetDatum(value * value)};

		if (RunPlan(Q_REWARD_SCALAR, "UPDATE recpromo.bandit_state s SET "
					"rewards = s.rewards OPERATOR(pg_catalog.+) 1, "
					"reward_sum = s.reward_sum OPERATOR(pg_catalog.+) $4, "
					"reward_sq = s.reward_sq OPERATOR(pg_catalog.+) $5 "
					"WHERE s.bandit_id OPERATOR(pg_catalog.=) $1 AND s.arm_no OPERATOR(pg_catalog.=) $2 "
					"AND s.shard OPERATOR(pg_catalog.=) $3", 5, types, values, NULL, false, 0) != SPI_OK_UPDATE)
			RecpromoSpiError("update recpromo.bandit_state");
		if (SPI_processed != 1)
			MissingStateRow(&b, arm, shard);
	}
	else
	{
		Oid			types[7] = {INT8OID, INT4OID, INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8ARRAYOID, FLOAT8ARRAYOID};
		Datum		values[7] = {Int64GetDatum(b.id), Int32GetDatum(arm), Int32GetDatum(shard),
		Float8GetDatum(value), Float8GetDatum(value * value), 0, 0};
		rp_bandit_arm s;

		if (RunPlan(Q_STATE_ROW, "SELECT s.gram, s.xr FROM recpromo.bandit_state s "
					"WHERE s.bandit_id OPERATOR(pg_catalog.=) $1 AND s.arm_no OPERATOR(pg_catalog.=) $2 "
					"AND s.shard OPERATOR(pg_catalog.=) $3 FOR UPDATE", 3, types, values, NULL, false, 1)
			!= SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.bandit_state");
		if (SPI_processed != 1)
			MissingStateRow(&b, arm, shard);
		memset(&s, 0, sizeof(s));
		s.G = palloc0(sizeof(double) * d * d);
		s.b = palloc0(sizeof(double) * d);
		GetF8Array(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, s.G, d * d);
		GetF8Array(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, s.b, d);
		rp_bandit_update(&b.cfg, &s, x, value);
		for (int j = 0; j < d * d; j++)
			if (!rp_finite(s.G[j]) || (j < d && !rp_finite(s.b[j])))
				TooLarge(name, decision);
		values[5] = F8ArrayDatum(s.G, d * d);
		values[6] = F8ArrayDatum(s.b, d);
		if (RunPlan(Q_REWARD_LINEAR, "UPDATE recpromo.bandit_state s SET "
					"rewards = s.rewards OPERATOR(pg_catalog.+) 1, "
					"reward_sum = s.reward_sum OPERATOR(pg_catalog.+) $4, "
					"reward_sq = s.reward_sq OPERATOR(pg_catalog.+) $5, gram = $6, xr = $7 "
					"WHERE s.bandit_id OPERATOR(pg_catalog.=) $1 AND s.arm_no OPERATOR(pg_catalog.=) $2 "
					"AND s.shard OPERATOR(pg_catalog.=) $3", 7, types, values, NULL, false, 0) != SPI_OK_UPDATE)
			RecpromoSpiError("update recpromo.bandit_state");
	}
	CloseBandit(&scope);
	PG_RETURN_VOID();
}

/* ---------- reading ---------- */

PG_FUNCTION_INFO_V1(recpromo_bandit_stats);
Datum
recpromo_bandit_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "bandit");
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	double	   *prob = NULL;

	InitMaterializedSRF(fcinfo, 0);
	OpenBandit(name, &b, &scope, outer, false);
	LoadState(&b, outer, false);
	CloseBandit(&scope);

	if (!IsLinear(&b))
	{
		int			n_active;
		unsigned char *el = ActiveMask(&b, &n_active);

		if (n_active > 0)
		{
			rp_rng		rng;

			rp_rng_seed(&rng, (uint64) b.seed);
			prob = palloc(sizeof(double) * Max(b.k, 1));
			Probabilities(&b, el, NULL, &rng, prob);
		}
	}
	for (int i = 0; i < b.k; i++)
	{
		Datum		values[9];
		bool		nulls[9] = {0};
		double		m,
					lo,
					hi;

		rp_bandit_summary(&b.cfg, &b.sums[i], &m, &lo, &hi);
		values[0] = CStringGetTextDatum(b.arm[i]);
		values[1] = BoolGetDatum(b.active[i]);
		values[2] = Int64GetDatum(b.pulls[i]);
		values[3] = Int64GetDatum((int64) b.sums[i].n);
		values[4] = Float8GetDatum(b.sums[i].s);
		values[5] = Float8GetDatum(m);
		values[6] = Float8GetDatum(lo);
		values[7] = Float8GetDatum(hi);
		nulls[5] = nulls[6] = nulls[7] = isnan(m);
		if (prob)
			values[8] = Float8GetDatum(prob[i]);
		else
			nulls[8] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------- history ---------- */

#define BANDIT_MAX_BUCKETS 1000
#define BANDIT_FETCH_ROWS 10000

/*
 * The bucket of time t among buckets+1 edges (edge[0] = first decision,
 * edge[buckets] = last event): the last i < buckets with edge[i] <= t, so
 * that bucket i covers [edge[i], edge[i+1]) and the last one also its end.
 */
static int
HistoryBucket(const TimestampTz *edge, int buckets, TimestampTz t)
{
	int			lo = 0,
				hi = buckets - 1;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo + 1) / 2;

		if (edge[mid] <= t)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* What HistoryScan's rows add to (HistoryRow). */
typedef struct HistoryAcc
{
	const Bandit *b;
	const TimestampTz *edge;
	int			buckets;
	bool		rewards;
	int64	   *dec;
	double	   *rn;
	double	   *rs;
	double	   *rss;
} HistoryAcc;

/* One (arm, time, count or value) row, added to its bucket and arm. */
static void
HistoryRow(HeapTuple tup, TupleDesc td, void *arg)
{
	HistoryAcc *h = arg;
	bool		isnull;
	int			arm = DatumGetInt32(SPI_getbinval(tup, td, 1, &isnull)) - 1;
	TimestampTz at = DatumGetTimestampTz(SPI_getbinval(tup, td, 2, &isnull));
	int			cell;

	if (arm < 0 || arm >= h->b->k)
		return;
	cell = HistoryBucket(h->edge, h->buckets, at) * h->b->k + arm;
	if (h->rewards)
	{
		double		val = GetF8(tup, td, 3);

		h->rn[cell] += 1.0;
		h->rs[cell] += val;
		h->rss[cell] += val * val;
	}
	else
		h->dec[cell] += GetI8(tup, td, 3);
}

/*
 * Streams the rows of a read-only query with $1 = the bandit's id
 * (RecpromoSpiForEachRow); per row, adds it to the bucket and arm it falls
 * in: decisions (count in column 3) or rewards (value in column 3).
 */
static void
HistoryScan(const Bandit *b, const char *sql, const TimestampTz *edge, int buckets,
			bool rewards, int64 *dec, double *rn, double *rs, double *rss)
{
	Oid			t = INT8OID;
	Datum		v = Int64GetDatum(b->id);
	HistoryAcc	h = {b, edge, buckets, rewards, dec, rn, rs, rss};

	RecpromoSpiForEachRow(sql, 1, &t, &v, BANDIT_FETCH_ROWS, CurrentMemoryContext, HistoryRow, &h);
}

/*
 * bandit_history(bandit text, buckets integer)
 * The bandit's log cut into `buckets` equal spans of time, from its first
 * decision to its last decision or reward; per span and arm (in arm order):
 * the decisions made in the span and their share of the span's decisions
 * (NULL when it has none), the decisions and rewards up to the span's end,
 * the reward sum, and the posterior at the span's end with a 95% interval.
 * A reward counts at its rewarded_at, for the arm of its decision.  Binary
 * bandits: Beta(prior_a + s, prior_b + n - s), its mean and the exact
 * 2.5% and 97.5% quantiles; amounts: rp_bandit_summary, a normal interval
 * (mean +- 1.96 sd of the Gaussian posterior for thompson, of the sample
 * mean otherwise).  All rewards count, also for a bandit with a window.
 * Read as bandit_stats reads: the owner and the bandit's readers.
 */
PG_FUNCTION_INFO_V1(recpromo_bandit_history);
Datum
recpromo_bandit_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "bandit");
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	int			buckets;
	TimestampTz *edge;
	int64	   *dec,
			   *total;
	double	   *rn,
			   *rs,
			   *rss;
	bool		any = false;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("buckets must not be null"),
				 errhint("Pass the number of time buckets, such as 20.")));
	buckets = PG_GETARG_INT32(1);
	if (buckets < 1 || buckets > BANDIT_MAX_BUCKETS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("buckets must be between 1 and %d", BANDIT_MAX_BUCKETS),
				 errhint("Pass the number of time buckets, such as 20.")));
	InitMaterializedSRF(fcinfo, 0);
	OpenBandit(name, &b, &scope, outer, false);
	edge = MemoryContextAllocZero(outer, sizeof(TimestampTz) * (buckets + 1));
	dec = MemoryContextAllocZero(outer, sizeof(int64) * buckets * Max(b.k, 1));
	total = MemoryContextAllocZero(outer, sizeof(int64) * buckets);
	rn = MemoryContextAllocZero(outer, sizeof(double) * buckets * Max(b.k, 1));
	rs = MemoryContextAllocZero(outer, sizeof(double) * buckets * Max(b.k, 1));
	rss = MemoryContextAllocZero(outer, sizeof(double) * buckets * Max(b.k, 1));
	{
		Oid			t = INT8OID;
		Datum		v = Int64GetDatum(b.id);
		bool		isnull[3];
		TimestampTz at[3];

		/* read-only: every query of this call sees the statement's snapshot */
		if (SPI_execute_with_args("SELECT (SELECT pg_catalog.min(d.decided_at) FROM recpromo.bandit_decision d "
								  "WHERE d.bandit_id OPERATOR(pg_catalog.=) $1), "
								  "(SELECT pg_catalog.max(d.decided_at) FROM recpromo.bandit_decision d "
								  "WHERE d.bandit_id OPERATOR(pg_catalog.=) $1), "
								  "(SELECT pg_catalog.max(r.rewarded_at) FROM recpromo.bandit_reward r "
								  "WHERE r.bandit_id OPERATOR(pg_catalog.=) $1)",
								  1, &t, &v, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			RecpromoSpiError("read recpromo.bandit_decision");
		for (int i = 0; i < 3; i++)
			at[i] = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
													  i + 1, &isnull[i]));
		if (!isnull[0])
		{
			TimestampTz t0 = at[0],
						t1 = at[1];
			int64		span;

			any = true;
			if (!isnull[2] && at[2] > t1)
				t1 = at[2];
			span = t1 - t0;
			/* edge i = t0 + span * i / buckets, exactly, without overflow */
			for (int i = 0; i <= buckets; i++)
				edge[i] = t0 + (span / buckets) * i + ((span % buckets) * i) / buckets;
		}
	}
	if (any)
	{
		HistoryScan(&b, "SELECT d.arm_no, d.decided_at, pg_catalog.count(*) FROM recpromo.bandit_decision d "
					"WHERE d.bandit_id OPERATOR(pg_catalog.=) $1 GROUP BY d.arm_no, d.decided_at",
					edge, buckets, false, dec, NULL, NULL, NULL);
		/* reward_seq order: the sums are the same at every call */
		HistoryScan(&b, "SELECT d.arm_no, r.rewarded_at, r.value FROM recpromo.bandit_reward r "
					"JOIN recpromo.bandit_decision d ON d.decision_id OPERATOR(pg_catalog.=) r.decision_id "
					"WHERE r.bandit_id OPERATOR(pg_catalog.=) $1 ORDER BY r.reward_seq",
					edge, buckets, true, NULL, rn, rs, rss);
	}
	CloseBandit(&scope);
	if (!any)
		return (Datum) 0;

	for (int i = 0; i < buckets; i++)
		for (int a = 0; a < b.k; a++)
			total[i] += dec[i * b.k + a];
	for (int a = 0; a < b.k; a++)
	{
		int64		pulls = 0;
		rp_bandit_arm sum = {0};

		for (int i = 0; i < buckets; i++)
		{
			int			cell = i * b.k + a;

			pulls += dec[cell];
			sum.n += rn[cell];
			sum.s += rs[cell];
			sum.ss += rss[cell];
			/* cumulative from here on: the row of (i, a) is built from these */
			dec[cell] = pulls;
			rn[cell] = sum.n;
			rs[cell] = sum.s;
			rss[cell] = sum.ss;
		}
	}
	for (int i = 0; i < buckets; i++)
		for (int a = 0; a < b.k; a++)
		{
			int			cell = i * b.k + a;
			int64		in_bucket = dec[cell] - (i > 0 ? dec[cell - b.k] : 0);
			Datum		values[12];
			bool		nulls[12] = {0};
			double		m,
						lo,
						hi;

			if (b.cfg.binary)
			{
				double		pa = b.cfg.prior_a + rs[cell];
				double		pb = b.cfg.prior_b + rn[cell] - rs[cell];

				m = pa / (pa + pb);
				lo = rp_beta_quantile(pa, pb, 0.025);
				hi = rp_beta_quantile(pa, pb, 0.975);
			}
			else
			{
				rp_bandit_arm sum = {0};

				sum.n = rn[cell];
				sum.s = rs[cell];
				sum.ss = rss[cell];
				rp_bandit_summary(&b.cfg, &sum, &m, &lo, &hi);
			}
			values[0] = Int32GetDatum(i + 1);
			values[1] = TimestampTzGetDatum(edge[i]);
			values[2] = TimestampTzGetDatum(edge[i + 1]);
			values[3] = CStringGetTextDatum(b.arm[a]);
			values[4] = Int64GetDatum(in_bucket);
			values[5] = Float8GetDatum(total[i] > 0 ? (double) in_bucket / (double) total[i] : 0.0);
			nulls[5] = total[i] == 0;
			values[6] = Int64GetDatum(dec[cell]);
			values[7] = Int64GetDatum((int64) rn[cell]);
			values[8] = Float8GetDatum(rs[cell]);
			values[9] = Float8GetDatum(m);
			values[10] = Float8GetDatum(lo);
			values[11] = Float8GetDatum(hi);
			nulls[9] = isnan(m);
			nulls[10] = isnan(lo);
			nulls[11] = isnan(hi);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(recpromo_bandit_action_probabilities);
Datum
recpromo_bandit_action_probabilities(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "bandit");
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	unsigned char *el;
	int			n_active;
	double	   *x;
	double	   *prob;
	rp_rng		rng;

	InitMaterializedSRF(fcinfo, 0);
	OpenBandit(name, &b, &scope, outer, false);
	x = ContextFeatures(fcinfo, 1, &b, outer);
	LoadState(&b, outer, false);
	CloseBandit(&scope);

	el = ActiveMask(&b, &n_active);
	prob = palloc(sizeof(double) * Max(b.k, 1));
	rp_rng_seed(&rng, (uint64) b.seed);
	Probabilities(&b, el, x, &rng, prob);
	for (int i = 0; i < b.k; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {0};

		if (!b.active[i])
			continue;
		values[0] = CStringGetTextDatum(b.arm[i]);
		values[1] = Float8GetDatum(prob[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(recpromo_bandit_linear_scores);
Datum
recpromo_bandit_linear_scores(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "bandit");
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	unsigned char *el;
	int			n_active;
	double	   *x,
			   *mean,
			   *width,
			   *work;

	InitMaterializedSRF(fcinfo, 0);
	OpenBandit(name, &b, &scope, outer, false);
	if (!IsLinear(&b))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("bandit \"%s\" is not contextual", name),
				 errhint("Scores exist for the linucb and lin_ts policies; see bandit_stats() for the others.")));
	x = ContextFeatures(fcinfo, 1, &b, outer);
	LoadState(&b, outer, false);
	CloseBandit(&scope);

	el = ActiveMask(&b, &n_active);
	for (int i = 0; i < b.k; i++)
		el[i] = 1;				/* retired arms have scores too */
	mean = palloc(sizeof(double) * b.k);
	width = palloc(sizeof(double) * b.k);
	work = palloc(sizeof(double) * rp_bandit_workspace_size(&b.cfg, b.k));
	if (rp_bandit_linear_scores(&b.cfg, b.k, b.sums, el, x, mean, width, work) != RP_OK)
		Probabilities(&b, el, x, NULL, mean);	/* raises the numeric error */
	for (int i = 0; i < b.k; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {0};

		values[0] = CStringGetTextDatum(b.arm[i]);
		values[1] = Float8GetDatum(mean[i]);
		values[2] = Float8GetDatum(width[i]);
		values[3] = Float8GetDatum(mean[i] + b.cfg.alpha * width[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* |a - b| within 1e-12 relative: sums added in another order */
static bool
SameSum(double a, double b)
{
	return fabs(a - b) <= 1e-12 * Max(1.0, fabs(b));
}

PG_FUNCTION_INFO_V1(recpromo_recount_bandit);
Datum
recpromo_recount_bandit(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "bandit");
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b,
				log;
	int			d;
	Oid			t = INT8OID;
	Datum		v;
	double	   *x;
	int			window;

	InitMaterializedSRF(fcinfo, 0);
	OpenBandit(name, &b, &scope, outer, false);
	/* the shards, all time (not the window) */
	window = b.window;
	b.window = 0;
	/* the same snapshot as the log query below: a commit in between is in both or neither */
	LoadState(&b, outer, true);
	b.window = window;
	log = b;
	AllocSums(&log, outer);
	d = IsLinear(&b) ? b.cfg.dim : 0;
	x = palloc(sizeof(double) * Max(d, 1));
	v = Int64GetDatum(b.id);
	if (SPI_execute_with_args("SELECT d.arm_no, r.value, d.features, r.decision_id IS NOT NULL "
							  "FROM recpromo.bandit_decision d LEFT JOIN recpromo.bandit_reward r "
							  "ON r.decision_id OPERATOR(pg_catalog.=) d.decision_id "
							  "WHERE d.bandit_id OPERATOR(pg_catalog.=) $1 ORDER BY r.reward_seq",
							  1, &t, &v, NULL, true, 0) != SPI_OK_SELECT)
		RecpromoSpiError("read the bandit log");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		int			i = DatumGetInt32(SPI_getbinval(tup, td, 1, &isnull)) - 1;

		CHECK_FOR_INTERRUPTS();
		if (i < 0 || i >= b.k)
			continue;
		log.pulls[i]++;
		if (!DatumGetBool(SPI_getbinval(tup, td, 4, &isnull)))
			continue;
		if (d > 0)
			GetF8Array(tup, td, 3, x, d);
		rp_bandit_update(&b.cfg, &log.sums[i], x, GetF8(tup, td, 2));
	}
	CloseBandit(&scope);

	for (int i = 0; i < b.k; i++)
	{
		Datum		values[8];
		bool		nulls[8] = {0};
		bool		ok;

		ok = b.pulls[i] == log.pulls[i] && b.sums[i].n == log.sums[i].n &&
			SameSum(b.sums[i].s, log.sums[i].s) && SameSum(b.sums[i].ss, log.sums[i].ss);
		for (int j = 0; ok && j < d * d; j++)
			ok = SameSum(b.sums[i].G[j], log.sums[i].G[j]);
		for (int j = 0; ok && j < d; j++)
			ok = SameSum(b.sums[i].b[j], log.sums[i].b[j]);
		values[0] = CStringGetTextDatum(b.arm[i]);
		values[1] = Int64GetDatum(b.pulls[i]);
		values[2] = Int64GetDatum(log.pulls[i]);
		values[3] = Int64GetDatum((int64) b.sums[i].n);
		values[4] = Int64GetDatum((int64) log.sums[i].n);
		values[5] = Float8GetDatum(b.sums[i].s);
		values[6] = Float8GetDatum(log.sums[i].s);
		values[7] = BoolGetDatum(ok);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------- management ---------- */

/* inserts arm `arm_no` and its zeroed shards */
static void
InsertArm(const Bandit *b, int arm_no, const char *arm)
{
	Oid			types[4] = {INT8OID, INT4OID, TEXTOID, INT4OID};
	Datum		values[4] = {Int64GetDatum(b->id), Int32GetDatum(arm_no), CStringGetTextDatum(arm),
	Int32GetDatum(IsLinear(b) ? b->cfg.dim : 0)};

	if (SPI_execute_with_args("INSERT INTO recpromo.bandit_arm (bandit_id, arm_no, arm) VALUES ($1, $2, $3)",
							  3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		RecpromoSpiError("insert into recpromo.bandit_arm");
	values[2] = Int32GetDatum(b->shards);
	types[2] = INT4OID;
	if (SPI_execute_with_args("INSERT INTO recpromo.bandit_state (bandit_id, arm_no, shard, gram, xr) "
							  "SELECT $1, $2, g.g, "
							  "CASE WHEN $4 OPERATOR(pg_catalog.>) 0 THEN pg_catalog.array_fill(0::float8, "
							  "ARRAY[$4 OPERATOR(pg_catalog.*) $4]) END, "
							  "CASE WHEN $4 OPERATOR(pg_catalog.>) 0 THEN pg_catalog.array_fill(0::float8, ARRAY[$4]) END "
							  "FROM pg_catalog.generate_series(0, $3 OPERATOR(pg_catalog.-) 1) g(g)",
							  4, types, values, NULL, false, 0) != SPI_OK_INSERT)
		RecpromoSpiError("insert into recpromo.bandit_state");
}

PG_FUNCTION_INFO_V1(recpromo_create_bandit);
Datum
recpromo_create_bandit(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "bandit name");
	int			k;
	char	  **arms = ArmsArg(fcinfo, 1, &k);
	char	   *policy = PG_ARGISNULL(2) ? "thompson" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *reward = PG_ARGISNULL(3) ? "binary" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	Bandit		b;
	const char *why;
	RecpromoOwnerScope scope;
	Datum		features = PG_ARGISNULL(7) ? (Datum) 0 : PG_GETARG_DATUM(7);
	int			window = PG_ARGISNULL(13) ? 0 : PG_GETARG_INT32(13);

	memset(&b, 0, sizeof(b));
	b.name = name;
	b.policy_name = policy;
	rp_bandit_defaults(&b.cfg);
	b.cfg.policy = PolicyFromName(policy);
	if (strcmp(reward, "binary") != 0 && strcmp(reward, "amount") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown reward kind \"%s\"", reward),
				 errhint("Use reward => 'binary' for 0/1 outcomes or 'amount' for numbers.")));
	b.cfg.binary = strcmp(reward, "binary") == 0;
	b.cfg.epsilon = Float8Arg(fcinfo, 4, 0.1);
	b.cfg.alpha = Float8Arg(fcinfo, 5, 1.0);
	b.cfg.dim = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT32(6);
	if (features)
	{
		ArrayType  *fa = DatumGetArrayTypeP(features);
		int			nf = ArrayGetNItems(ARR_NDIM(fa), ARR_DIMS(fa));

		if (ARR_HASNULL(fa) || ARR_NDIM(fa) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("features must be a one-dimensional array of names without nulls")));
		if (b.cfg.dim != 0 && b.cfg.dim != nf)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("dimension %d does not match the %d features named", b.cfg.dim, nf),
					 errhint("Leave dimension out when features are named.")));
		b.cfg.dim = nf;
	}
	if (features && !IsLinear(&b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("policy %s takes no features", policy),
				 errhint("Only the contextual policies linucb and lin_ts use features.")));
	b.cfg.lambda = Float8Arg(fcinfo, 8, 1.0);
	b.cfg.prior_a = Float8Arg(fcinfo, 9, 1.0);
	b.cfg.prior_b = Float8Arg(fcinfo, 10, 1.0);
	b.cfg.prior_mean = Float8Arg(fcinfo, 11, 0.0);
	b.cfg.prior_var = Float8Arg(fcinfo, 12, 1.0);
	b.cfg.draws = PG_ARGISNULL(14) ? 100 : PG_GETARG_INT32(14);
	b.seed = PG_ARGISNULL(15) ? 0 : PG_GETARG_INT64(15);
	b.shards = PG_ARGISNULL(16) ? 8 : PG_GETARG_INT32(16);
	if (rp_bandit_check(&b.cfg, &why) != RP_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid bandit options: %s", why),
				 errhint("See the options of recpromo.create_bandit() in doc/experiments.md, section \"Bandits\".")));
	if (!PG_ARGISNULL(13) && window < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window_size must be at least 1"),
				 errhint("Leave it null to use every reward.")));
	if (b.shards < 1 || b.shards > BANDIT_MAX_SHARDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shards must be between 1 and %d", BANDIT_MAX_SHARDS),
				 errhint("About the number of sessions that choose and reward at once is enough.")));
	for (int i = 0; i < k; i++)
	{
		CHECK_FOR_INTERRUPTS(); /* quadratic in the number of arms */
		for (int j = 0; j < i; j++)
			if (strcmp(arms[i], arms[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("arm \"%s\" is listed twice", arms[i]),
						 errhint("Arm names are unique within a bandit.")));
	}

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	{
		Oid			t = TEXTOID;
		Datum		v = CStringGetTextDatum(name);

		if (SPI_execute_with_args("SELECT 1 FROM recpromo.bandit b WHERE b.name OPERATOR(pg_catalog.=) $1",
								  1, &t, &v, NULL, false, 1) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.bandit");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("bandit \"%s\" already exists", name),
					 errhint("Drop it with recpromo.drop_bandit() or choose another name.")));
	}
	{
		Oid			types[18] = {TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTARRAYOID, FLOAT8OID, FLOAT8OID,
			FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, INT4OID, INT4OID, INT8OID, INT4OID,
		REGROLEOID, INT4OID};
		Datum		values[18];
		char		nulls[18];
		bool		isnull;

		memset(nulls, ' ', sizeof(nulls));
		values[0] = CStringGetTextDatum(name);
		values[1] = CStringGetTextDatum(policy);
		values[2] = CStringGetTextDatum(reward);
		values[3] = Int32GetDatum(IsLinear(&b) ? b.cfg.dim : 0);
		values[4] = features;
		nulls[4] = features ? ' ' : 'n';
		values[5] = Float8GetDatum(b.cfg.prior_a);
		values[6] = Float8GetDatum(b.cfg.prior_b);
		values[7] = Float8GetDatum(b.cfg.prior_mean);
		values[8] = Float8GetDatum(b.cfg.prior_var);
		values[9] = Float8GetDatum(b.cfg.epsilon);
		values[10] = Float8GetDatum(b.cfg.alpha);
		values[11] = Float8GetDatum(b.cfg.lambda);
		values[12] = Int32GetDatum(b.cfg.draws);
		values[13] = Int32GetDatum(window);
		nulls[13] = window > 0 ? ' ' : 'n';
		values[14] = Int64GetDatum(b.seed);
		values[15] = Int32GetDatum(b.shards);
		values[16] = ObjectIdGetDatum(scope.caller);
		values[17] = 0;
		if (SPI_execute_with_args("INSERT INTO recpromo.bandit (id, name, policy, reward, dimension, features, "
								  "prior_a, prior_b, prior_mean, prior_var, epsilon, alpha, lambda, draws, "
								  "window_size, seed, shards, owner) VALUES "
								  "(pg_catalog.nextval('recpromo.bandit_id_seq'::pg_catalog.regclass), "
								  "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
								  "RETURNING id", 17, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
			RecpromoSpiError("insert into recpromo.bandit");
		b.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (int i = 0; i < k; i++)
		InsertArm(&b, i + 1, arms[i]);
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	PG_RETURN_INT64(b.id);
}

PG_FUNCTION_INFO_V1(recpromo_add_bandit_arms);
Datum
recpromo_add_bandit_arms(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "bandit");
	int			n;
	char	  **arms = ArmsArg(fcinfo, 1, &n);
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	int			added = 0;

	/* FOR UPDATE: concurrent add_bandit_arms number their arms one after the other */
	OpenBandit(name, &b, &scope, outer, true);
	for (int i = 0; i < n; i++)
	{
		int			found = -1;

		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < b.k; j++)
			if (strcmp(b.arm[j], arms[i]) == 0)
				found = j;
		if (found >= 0 && b.active[found])
			continue;
		if (found >= 0)
		{
			Oid			types[2] = {INT8OID, INT4OID};
			Datum		values[2] = {Int64GetDatum(b.id), Int32GetDatum(found + 1)};

			if (SPI_execute_with_args("UPDATE recpromo.bandit_arm a SET active = true "
									  "WHERE a.bandit_id OPERATOR(pg_catalog.=) $1 "
									  "AND a.arm_no OPERATOR(pg_catalog.=) $2",
									  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
				RecpromoSpiError("update recpromo.bandit_arm");
			b.active[found] = true;
		}
		else
		{
			MemoryContext old = MemoryContextSwitchTo(outer);

			InsertArm(&b, b.k + 1, arms[i]);
			b.arm = repalloc(b.arm, sizeof(char *) * (b.k + 1));
			b.active = repalloc(b.active, sizeof(bool) * (b.k + 1));
			b.arm[b.k] = pstrdup(arms[i]);
			b.active[b.k] = true;
			b.k++;
			MemoryContextSwitchTo(old);
		}
		added++;
	}
	CloseBandit(&scope);
	PG_RETURN_INT32(added);
}

PG_FUNCTION_INFO_V1(recpromo_retire_bandit_arm);
Datum
recpromo_retire_bandit_arm(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "bandit");
	char	   *arm = TextArg(fcinfo, 1, "arm");
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];

	OpenBandit(name, &b, &scope, outer, true);
	values[0] = Int64GetDatum(b.id);
	values[1] = CStringGetTextDatum(arm);
	if (SPI_execute_with_args("UPDATE recpromo.bandit_arm a SET active = false "
							  "WHERE a.bandit_id OPERATOR(pg_catalog.=) $1 AND a.arm OPERATOR(pg_catalog.=) $2",
							  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		RecpromoSpiError("update recpromo.bandit_arm");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("arm \"%s\" of bandit \"%s\" does not exist", arm, name),
				 errhint("SELECT arm FROM recpromo.bandit_stats('%s') lists its arms.", name)));
	CloseBandit(&scope);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(recpromo_drop_bandit);
Datum
recpromo_drop_bandit(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "bandit name");
	bool		if_exists = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	bool		found;

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	found = LoadBandit(name, &b, outer, true);
	if (found)
	{
		static const char *const tables[] = {"bandit_reward", "bandit_decision", "bandit_state",
		"bandit_arm"};
		Oid			t = INT8OID;
		Datum		v = Int64GetDatum(b.id);

		CheckOwner(&b, scope.caller);
		for (int i = 0; i < lengthof(tables); i++)
			if (SPI_execute_with_args(psprintf("DELETE FROM recpromo.%s x WHERE x.bandit_id OPERATOR(pg_catalog.=) $1",
											   tables[i]), 1, &t, &v, NULL, false, 0) != SPI_OK_DELETE)
				RecpromoSpiError("delete a bandit");
		if (SPI_execute_with_args("DELETE FROM recpromo.bandit x WHERE x.id OPERATOR(pg_catalog.=) $1",
								  1, &t, &v, NULL, false, 0) != SPI_OK_DELETE)
			RecpromoSpiError("delete a bandit");
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	if (!found && !if_exists)
		NoSuchBandit(name);
	PG_RETURN_BOOL(found);
}

static void
ChangeReaders(FunctionCallInfo fcinfo, bool grant)
{
	char	   *name = TextArg(fcinfo, 0, "bandit");
	char	   *role;
	Oid			grantee;
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	Oid			types[2] = {INT8OID, REGROLEOID};
	Datum		values[2];

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role must not be null"),
				 errhint("Name a role, or public for every role.")));
	role = NameStr(*PG_GETARG_NAME(1));
	grantee = pg_strcasecmp(role, "public") == 0 ? InvalidOid : get_role_oid(role, false);
	OpenBandit(name, &b, &scope, outer, true);
	values[0] = Int64GetDatum(b.id);
	values[1] = ObjectIdGetDatum(grantee);
	if (SPI_execute_with_args(grant ?
							  "UPDATE recpromo.bandit b SET readers = pg_catalog.array_append(b.readers, $2) "
							  "WHERE b.id OPERATOR(pg_catalog.=) $1 "
							  "AND NOT ($2 OPERATOR(pg_catalog.=) ANY (b.readers))" :
							  "UPDATE recpromo.bandit b SET readers = pg_catalog.array_remove(b.readers, $2) "
							  "WHERE b.id OPERATOR(pg_catalog.=) $1",
							  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		RecpromoSpiError("update recpromo.bandit");
	CloseBandit(&scope);
}

PG_FUNCTION_INFO_V1(recpromo_grant_bandit);
Datum
recpromo_grant_bandit(PG_FUNCTION_ARGS)
{
	ChangeReaders(fcinfo, true);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(recpromo_revoke_bandit);
Datum
recpromo_revoke_bandit(PG_FUNCTION_ARGS)
{
	ChangeReaders(fcinfo, false);
	PG_RETURN_VOID();
}

/* ---------- replay ---------- */

PG_FUNCTION_INFO_V1(recpromo_replay_bandit);
Datum
recpromo_replay_bandit(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "bandit");
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	Bandit		b;
	Oid			src;
	char	   *arm_col,
			   *reward_col,
			   *ctx_col = NULL,
			   *order_col = NULL;
	int64		seed;
	int			d;
	unsigned char *el;
	int			n_active;
	double	   *prob,
			   *x,
			   *work;
	rp_rng		rng;
	int64		matched = 0,
				events = 0;
	double		matched_sum = 0,
				all_sum = 0;
	int			spi;
	Portal		portal;
	char	   *q;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, arm_column and reward_column must not be null")));
	src = PG_GETARG_OID(1);
	arm_col = NameStr(*PG_GETARG_NAME(2));
	reward_col = NameStr(*PG_GETARG_NAME(3));
	if (!PG_ARGISNULL(4))
		ctx_col = NameStr(*PG_GETARG_NAME(4));
	if (!PG_ARGISNULL(5))
		order_col = NameStr(*PG_GETARG_NAME(5));
	seed = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6);
	InitMaterializedSRF(fcinfo, 0);

	OpenBandit(name, &b, &scope, outer, false);
	RecpromoOwnerLeave(&scope);

	d = IsLinear(&b) ? b.cfg.dim : 0;
	if (d > 0 && ctx_col == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("bandit \"%s\" is contextual and needs context_column", name),
				 errhint("Name a float8[] column of %d features.", d)));
	/* the policy starts empty: a fresh copy of the configuration */
	b.window = 0;
	AllocSums(&b, outer);
	b.cfg.draws = 1;			/* one posterior draw per event is Thompson sampling */
	el = ActiveMask(&b, &n_active);
	if (n_active == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bandit \"%s\" has no active arm", name),
				 errhint("Add arms with recpromo.add_bandit_arms().")));
	prob = palloc(sizeof(double) * b.k);
	x = palloc(sizeof(double) * Max(d, 1));
	work = palloc(sizeof(double) * rp_bandit_workspace_size(&b.cfg, b.k));
	rp_rng_seed(&rng, (uint64) seed);

	/* the source is read as the caller (search_path still forced by SPI guard) */
	spi = RecpromoForceSearchPath();
	q = psprintf("SELECT (t.%s)::pg_catalog.text, (t.%s)::pg_catalog.float8, %s FROM %s t%s%s",
				 quote_identifier(arm_col), quote_identifier(reward_col),
				 d > 0 ? psprintf("(t.%s)::pg_catalog.float8[]", quote_identifier(ctx_col)) : "NULL",
				 RecpromoQualifiedRelation(src),
				 order_col ? " ORDER BY t." : "",
				 order_col ? quote_identifier(order_col) : "");
	portal = SPI_cursor_open_with_args(NULL, q, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPITupleTable *tt;
		uint64		nrows;

		SPI_cursor_fetch(portal, true, 1000);
		nrows = SPI_processed;
		tt = SPI_tuptable;
		if (nrows == 0)
			break;
		for (uint64 r = 0; r < nrows; r++)
		{
			bool		isnull;
			char	   *arm = SPI_getvalue(tt->vals[r], tt->tupdesc, 1);
			Datum		rv = SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &isnull);
			double		val;
			int			logged = -1;
			int			a;
			rp_status	st;

			CHECK_FOR_INTERRUPTS();	/* a linear policy costs k d^3 / 3 per event */
			if (arm == NULL || isnull)
			{
				if (arm)
					pfree(arm);
				continue;		/* no arm or no reward: not an event */
			}
			val = DatumGetFloat8(rv);
			if (!rp_finite(val))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("column \"%s\" holds a reward that is not finite", reward_col)));
			if (d > 0)
			{
				ArrayType  *ca;

				(void) SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &isnull);
				if (isnull)
				{
					pfree(arm);
					continue;
				}
				ca = DatumGetArrayTypeP(SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &isnull));
				if (ARR_NDIM(ca) != 1 || ARR_HASNULL(ca) || ArrayGetNItems(1, ARR_DIMS(ca)) != d)
					BadDimension(&b, ArrayGetNItems(ARR_NDIM(ca), ARR_DIMS(ca)));
				for (int j = 0; j < d; j++)
					x[j] = CheckFeature(&b, ((double *) ARR_DATA_PTR(ca))[j], j);
				/* a detoasted copy per event would add up over a long log */
				if ((Pointer) ca != DatumGetPointer(SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &isnull)))
					pfree(ca);
			}
			events++;
			all_sum += val;
			for (int i = 0; i < b.k; i++)
				if (el[i] && strcmp(b.arm[i], arm) == 0)
					logged = i;
			pfree(arm);			/* one string per event: freed, not kept to the end */
			if (logged < 0)
				continue;		/* an arm the bandit does not have: never matched */
			st = rp_bandit_probabilities(&b.cfg, b.k, b.sums, el, x, &rng, prob, work);
			if (st != RP_OK)
				Probabilities(&b, el, x, &rng, prob);	/* raises the error */
			a = rp_bandit_pick(prob, b.k, rp_rng_uniform(&rng));
			if (a != logged)
				continue;
			matched++;
			matched_sum += val;
			rp_bandit_update(&b.cfg, &b.sums[a], x, val);
		}
		SPI_freetuptable(tt);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	RecpromoRestoreSearchPath(spi);
	SPI_finish();
	{
		Datum		values[4];
		bool		nulls[4] = {matched == 0, events == 0, false, false};

		values[0] = Float8GetDatum(matched ? matched_sum / matched : 0);
		values[1] = Float8GetDatum(events ? all_sum / events : 0);
		values[2] = Int64GetDatum(matched);
		values[3] = Int64GetDatum(events);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
