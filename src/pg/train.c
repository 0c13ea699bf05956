/*
 * train.c
 *	  train(), drop_model(), set_default_model() and the hyper-parameter
 *	  helpers methods use.
 *
 * Training is one transaction: check that the caller may replace a model
 * of that name (its owner), read the source with the caller's rights
 * (source.c), fit with the method's callback, and save keys, interactions,
 * item popularity and the method's parts under a new id (model_store.c).
 * Everything is allocated in one memory context deleted at the end, so an
 * error or a cancel frees it and, the transaction aborting, leaves any
 * previous model of that name untouched.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/fmgrprotos.h"

#include "citus.h"
#include "forget.h"
#include "method.h"
#include "recpromo.h"

#define RECPROMO_MAX_NAME 63

/* ---------- hyper-parameters ---------- */

JsonbValue *
RecpromoParamLookup(RecpromoTrainState *ts, const char *name)
{
	JsonbValue	k;
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(ts));

	ts->params_used = lappend(ts->params_used, pstrdup(name));
	MemoryContextSwitchTo(old);
	if (ts->params_in == NULL)
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) name;
	k.val.string.len = strlen(name);
	return findJsonbValueFromContainer(&ts->params_in->root, JB_FOBJECT, &k);
}

void
RecpromoParamRecord(RecpromoTrainState *ts, const char *name, const char *json)
{
	if (ts->params_out->len > 0)
		appendStringInfoString(ts->params_out, ", ");
	escape_json(ts->params_out, name);
	appendStringInfo(ts->params_out, ": %s", json);
}

static double
ParamNumber(RecpromoTrainState *ts, const char *name, JsonbValue *v, const char *what)
{
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyper-parameter \"%s\" must be %s", name, what)));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

int
RecpromoParamInt(RecpromoTrainState *ts, const char *name, int def, int min, int max)
{
	JsonbValue *v = RecpromoParamLookup(ts, name);
	int			r = def;

	if (v != NULL && v->type != jbvNull)
	{
		double		d = ParamNumber(ts, name, v, "an integer");

		if (d != floor(d) || d < min || d > max)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyper-parameter \"%s\" must be an integer between %d and %d", name, min, max),
					 errdetail("The value given was %g.", d)));
		r = (int) d;
	}
	RecpromoParamRecord(ts, name, psprintf("%d", r));
	return r;
}

double
RecpromoParamFloat(RecpromoTrainState *ts, const char *name, double def, double min, double max)
{
	JsonbValue *v = RecpromoParamLookup(ts, name);
	double		r = def;

	if (v != NULL && v->type != jbvNull)
	{
		r = ParamNumber(ts, name, v, "a number");
		if (!(r >= min && r <= max))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyper-parameter \"%s\" must be between %g and %g", name, min, max),
					 errdetail("The value given was %g.", r)));
	}
	RecpromoParamRecord(ts, name, psprintf("%.17g", r));
	return r;
}

bool
RecpromoParamBool(RecpromoTrainState *ts, const char *name, bool def)
{
	JsonbValue *v = RecpromoParamLookup(ts, name);
	bool		r = def;

	if (v != NULL && v->type != jbvNull)
	{
		if (v->type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyper-parameter \"%s\" must be true or false", name)));
		r = v->val.boolean;
	}
	RecpromoParamRecord(ts, name, r ? "true" : "false");
	return r;
}

const char *
RecpromoParamChoice(RecpromoTrainState *ts, const char *name, const char *def,
					const char *const *choices)
{
	JsonbValue *v = RecpromoParamLookup(ts, name);
	const char *r = def;
	StringInfoData q;

	if (v != NULL && v->type != jbvNull)
	{
		char	   *s;
		StringInfoData list;

		if (v->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyper-parameter \"%s\" must be a string", name)));
		s = pnstrdup(v->val.string.val, v->val.string.len);
		r = NULL;
		initStringInfo(&list);
		for (int i = 0; choices[i] != NULL; i++)
		{
			if (strcmp(s, choices[i]) == 0)
				r = choices[i];
			appendStringInfo(&list, "%s%s", i ? ", " : "", choices[i]);
		}
		if (r == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value \"%s\" for hyper-parameter \"%s\"", s, name),
					 errhint("Choose one of: %s.", list.data)));
	}
	initStringInfo(&q);
	escape_json(&q, r);
	RecpromoParamRecord(ts, name, q.data);
	return r;
}

/* Every name the caller gave must have been read by the method. */
static void
CheckUnknownParams(RecpromoTrainState *ts)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (ts->params_in == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(ts->params_in))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyper-parameters must be a JSON object")));
	it = JsonbIteratorInit(&ts->params_in->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			char	   *k = pnstrdup(v.val.string.val, v.val.string.len);
			ListCell   *lc;
			bool		known = false;

			foreach(lc, ts->params_used)
				if (strcmp((char *) lfirst(lc), k) == 0)
					known = true;
			if (!known)
			{
				StringInfoData list;

				initStringInfo(&list);
				foreach(lc, ts->params_used)
					appendStringInfo(&list, "%s%s", list.len ? ", " : "", (char *) lfirst(lc));
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyper-parameter \"%s\" does not apply to method \"%s\"",
								k, ts->method->name),
						 list.len ? errhint("Method \"%s\" takes: %s.", ts->method->name, list.data) :
						 errhint("Method \"%s\" takes no hyper-parameters.", ts->method->name)));
			}
		}
	}
}

/* ---------- train ---------- */

/*
 * Fits ts->method on ts->data and checks that every hyper-parameter the
 * caller gave was read.  The one fitting step shared by training and the
 * trials of tune() (tune.c), which fits in memory without saving.
 */
void
RecpromoTrainFit(RecpromoTrainState *ts)
{
	ts->method->train(ts);
	CheckUnknownParams(ts);
}

/*
 * Trains model `name` from `relid` and saves it.  The source is read with
 * the caller's rights; only the save switches to the extension owner
 * (model_store.c).  `params` is the hyper-parameter object, or NULL.
 * Returns the new model id.  Also the last step of tune() (tune.c).
 */
int64
RecpromoTrainModel(char *name, Oid relid, char *user_col, char *item_col, char *rating_col,
		   char *method_name, Jsonb *params)
{
	MemoryContext cxt;
	MemoryContext old;
	RecpromoTrainState *ts;
	RecpromoModelRow row;
	instr_time	start;
	instr_time	dur;
	Size		len;
	void	   *buf;
	double	   *pop;
	int64		id;
	int64		erasure_mark;

	if (name[0] == '\0' || strlen(name) > RECPROMO_MAX_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must have between 1 and %d characters", RECPROMO_MAX_NAME)));
	/* on Citus, refuse on a worker before reading anything (citus.c) */
	RecpromoCitusCheckTrainingNode();

	/*
	 * A model is rows of recpromo.model and model_part: say so before the
	 * work, not after it at the first write ("cannot execute LOCK TABLE
	 * during recovery").  A hot standby serves the models it replays.
	 */
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot train model \"%s\" on a standby server", name),
				 errdetail("The server is in recovery: models are stored in tables, which are read-only here."),
				 errhint("Train on the primary; the standby serves the new model once it has replayed it.")));
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot train model \"%s\" in a read-only transaction", name),
				 errhint("Train in a read-write transaction.")));

	INSTR_TIME_SET_CURRENT(start);

	/* refuse to replace another role's model before any work (checked again at save) */
	if (RecpromoModelLookup(name, &row))
		RecpromoCheckOwnerOf(name, row.owner, GetUserId());

	cxt = AllocSetContextCreate(CurrentMemoryContext, "recpromo training", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	ts = palloc0(sizeof(RecpromoTrainState));
	ts->name = name;
	ts->method = RecpromoMethodFind(method_name, false);
	ts->params_in = params ? (Jsonb *) PG_DETOAST_DATUM_COPY(JsonbPGetDatum(params)) : NULL;
	if (ts->params_in != NULL && !JB_ROOT_IS_OBJECT(ts->params_in))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyper-parameters must be a JSON object")));
	ts->params_out = makeStringInfo();
	ts->final_loss = NAN;
	ts->threads = RecpromoThreads();
	RecpromoPartsInit(&ts->parts);

	/* erasures logged from here on are applied before the save (forget.c) */
	erasure_mark = RecpromoErasureWatermark();
	RecpromoSourceInit(&ts->src, relid, user_col, item_col, rating_col);
	RecpromoCheckFoldInIndex(&ts->src);
	RecpromoReadInteractions(&ts->src, ts->method->nonneg, &ts->data);
	if (ts->data.R.nnz == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("source \"%s\" has no usable rows", ts->src.relname),
				 errhint("Training needs at least one row with a user, an item and a rating that are not null.")));
	CHECK_FOR_INTERRUPTS();

	RecpromoTrainFit(ts);

	/* common parts */
	buf = RecpromoKeysSerialize(&ts->data.users, &len);
	RecpromoPartsAdd(&ts->parts, "users", buf, len);
	buf = RecpromoKeysSerialize(&ts->data.items, &len);
	RecpromoPartsAdd(&ts->parts, "items", buf, len);
	RecpromoPartsAdd(&ts->parts, "seen_indptr", ts->data.R.indptr,
					 ((Size) ts->data.R.n_rows + 1) * sizeof(int64));
	RecpromoPartsAdd(&ts->parts, "seen_indices", ts->data.R.indices,
					 (Size) ts->data.R.nnz * sizeof(int32));
	RecpromoPartsAdd(&ts->parts, "seen_values", ts->data.R.values,
					 (Size) ts->data.R.nnz * sizeof(double));
	pop = palloc_extended(Max((Size) ts->data.R.n_cols, 1) * sizeof(double), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 k = 0; k < ts->data.R.nnz; k++)
		pop[ts->data.R.indices[k]] += 1.0;
	RecpromoPartsAdd(&ts->parts, "item_pop", pop, (Size) ts->data.R.n_cols * sizeof(double));

	memset(&row, 0, sizeof(row));
	row.name = name;
	row.method = (char *) ts->method->name;
	row.params = psprintf("{%s}", ts->params_out->data);
	row.source = ts->src.relname;
	row.user_col = user_col;
	row.item_col = item_col;
	row.rating_col = rating_col;
	row.user_type = ts->src.user_type;
	row.item_type = ts->src.item_type;
	row.n_users = ts->data.users.n;
	row.n_items = ts->data.items.n;
	row.nnz = ts->data.R.nnz;
	row.rows_read = ts->data.rows_read;
	row.rows_skipped = ts->data.rows_skipped;
	row.final_loss = ts->final_loss;

	/* train_seconds is the whole call: the save adds its own time */
	INSTR_TIME_SET_CURRENT(dur);
	INSTR_TIME_SUBTRACT(dur, start);
	row.train_seconds = INSTR_TIME_GET_DOUBLE(dur);
	RecpromoErasureApplyLate(&row, &ts->parts, erasure_mark);
	id = RecpromoModelSave(&row, &ts->parts);

	if (ts->data.users.kclass == RECPROMO_KEY_INT && ts->data.items.kclass == RECPROMO_KEY_TEXT)
		ereport(NOTICE,
				(errmsg("model \"%s\" has integer user keys and text item keys", name),
				 errhint("Serving functions return keys in the type of the key you pass: call recommend('42'::text, 10) to get the items as text.")));
	ereport(NOTICE,
			(errmsg("trained model \"%s\" (%s): %d users, %d items, %lld interactions in %.3f s",
					name, ts->method->name, row.n_users, row.n_items,
					(long long) row.nnz, row.train_seconds)));

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return id;
}

/*
 * recpromo._train(name, source, user_col, item_col, rating_col, method,
 * params) of 0.1.0.  The 0.2.0 update drops that SQL function; the symbol
 * stays so that the 0.1.0 script still loads against this library.
 */
PG_FUNCTION_INFO_V1(recpromo_train);
Datum
recpromo_train(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name, source, user_col, item_col and method must not be null")));
	RecpromoTrainModel(text_to_cstring(PG_GETARG_TEXT_PP(0)),
			   PG_GETARG_OID(1),
			   pstrdup(NameStr(*PG_GETARG_NAME(2))),
			   pstrdup(NameStr(*PG_GETARG_NAME(3))),
			   PG_ARGISNULL(4) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(4))),
			   text_to_cstring(PG_GETARG_TEXT_PP(5)),
			   PG_ARGISNULL(6) ? NULL : PG_GETARG_JSONB_P(6));
	PG_RETURN_VOID();
}

/* Appends "key": number (a JSON string for NaN and infinities) to `buf`. */
static void
AppendNumberParam(StringInfo buf, const char *key, FunctionCallInfo fcinfo, int arg, bool is_float)
{
	if (PG_ARGISNULL(arg))
		return;
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (!is_float)
		appendStringInfo(buf, "%d", PG_GETARG_INT32(arg));
	else
	{
		double		d = PG_GETARG_FLOAT8(arg);

		if (isfinite(d))
			appendStringInfo(buf, "%.17g", d);
		else
			escape_json(buf, DatumGetCString(DirectFunctionCall1(float8out, Float8GetDatum(d))));
	}
}

/*
 * train(name text, source regclass, user_col name, item_col name,
 *		 rating_col name, method text, factors int, iterations int,
 *		 regularization float8, alpha float8, neighbours int, seed int,
 *		 params jsonb) RETURNS SETOF recpromo.models
 *
 * The SQL entry point since 0.2.0 (before, a SQL wrapper of the internal
 * _train, which PUBLIC could call).  The named hyper-parameters that are
 * not NULL are merged under `params` (whose keys win); returns the new
 * model's row of recpromo.models.
 */
PG_FUNCTION_INFO_V1(recpromo_train_model);
Datum
recpromo_train_model(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	StringInfoData named;
	Datum		params;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name, source, user_col, item_col and method must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!PG_ARGISNULL(12) && !JB_ROOT_IS_OBJECT(PG_GETARG_JSONB_P(12)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyper-parameters must be a JSON object")));

	initStringInfo(&named);
	appendStringInfoChar(&named, '{');
	AppendNumberParam(&named, "factors", fcinfo, 6, false);
	AppendNumberParam(&named, "iterations", fcinfo, 7, false);
	AppendNumberParam(&named, "regularization", fcinfo, 8, true);
	AppendNumberParam(&named, "alpha", fcinfo, 9, true);
	AppendNumberParam(&named, "neighbours", fcinfo, 10, false);
	AppendNumberParam(&named, "seed", fcinfo, 11, false);
	appendStringInfoChar(&named, '}');
	params = DirectFunctionCall1(jsonb_in, CStringGetDatum(named.data));
	if (!PG_ARGISNULL(12))
		params = DirectFunctionCall2(jsonb_concat, params, PG_GETARG_DATUM(12));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);

	RecpromoTrainModel(name, PG_GETARG_OID(1),
			   pstrdup(NameStr(*PG_GETARG_NAME(2))),
			   pstrdup(NameStr(*PG_GETARG_NAME(3))),
			   PG_ARGISNULL(4) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(4))),
			   text_to_cstring(PG_GETARG_TEXT_PP(5)),
			   DatumGetJsonbP(params));

	/*
	 * The new row of the models view.  Read as the extension owner, like
	 * every access to the model tables (model_acl.c): the trainer owns this
	 * row, so the view shows it either way, but on Citus, where the model
	 * tables are reference tables, the view's underlying shard is checked
	 * against the current role, and an ordinary trainer would be refused.
	 */
	{
		Oid			t = TEXTOID;
		Datum		v = CStringGetTextDatum(name);
		TupleDesc	desc = rsinfo->setDesc;
		Datum	   *values = palloc(desc->natts * sizeof(Datum));
		bool	   *nulls = palloc(desc->natts * sizeof(bool));
		RecpromoOwnerScope scope;

		SPI_connect();
		RecpromoOwnerEnter(&scope);
		/* not read-only: the snapshot must see the row just written */
		if (SPI_execute_with_args("SELECT * FROM recpromo.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
								  1, &t, &v, NULL, false, 0) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.models");
		if (SPI_tuptable->tupdesc->natts != desc->natts)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("recpromo.models does not match the result type of train()")));
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			heap_deform_tuple(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, values, nulls);
			tuplestore_putvalues(rsinfo->setResult, desc, values, nulls);
		}
		RecpromoOwnerLeave(&scope);
		SPI_finish();
	}
	return (Datum) 0;
}
