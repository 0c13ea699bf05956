/*
 * model_store.c
 *	  Model storage in the extension's tables (see model_store.h).
 *
 * Atomic replacement: a training writes its parts under a new id drawn from
 * recpromo.model_id_seq, then, holding a SHARE ROW EXCLUSIVE lock on
 * recpromo.model (which serialises concurrent saves but never blocks
 * readers), repoints the row of that name and deletes the old id's parts.
 * Readers query the row and the parts with the statement's snapshot, so
 * they see the old model or the new one, never a mix; a failed or cancelled
 * training aborts its transaction and leaves the old model in place.
 * Parts are split into chunks of at most RECPROMO_CHUNK bytes so that a
 * model may exceed the 1 GB limit of a single bytea.
 *
 * Every access runs as the extension owner under a fixed search_path
 * (model_acl.c), after the caller's rights were checked with the caller's
 * user id; every query is fully qualified all the same.
 *
 * Integrity: each chunk row carries the CRC-32C of its data bytes (and of
 * nothing else) as an int4 bit pattern.  Loading verifies every chunk, that
 * the chunks of a part are numbered 0, 1, 2... without a gap, that part
 * names are well formed and unique and that sizes are within bounds, and
 * raises XX001 naming the model and the part otherwise; per-part structure
 * (offsets, indices, keys) is checked by the code that uses the part.
 *
 * Cost of a save (measured on EASE with 3,001 items, 72 MB of parts):
 * what dominates is the heap and TOAST writes and their WAL.  Three things
 * we add are avoided: chunks of 1 MB (not 64 MB) are copied through one
 * reused buffer that stays in cache, instead of a fresh 64 MB allocation
 * per chunk whose pages fault in one by one; the insert runs as a generic
 * plan, so the executor does not copy each chunk into a Const of a custom
 * plan; and the checksum is computed on the already-copied chunk.  On a
 * busy 2-core machine this took the store of that EASE model from 1.9-2.9 s
 * to 0.85-1.06 s, and of an ALS model with 256 factors (47 MB) from
 * 2.0-2.4 s to 0.8-0.9 s; what is left is toast_save_datum and its WAL.
 */
#include "postgres.h"

#include <math.h>
#include <sys/mman.h>

#include "access/detoast.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "citus.h"
#include "model_store.h"

/* chunk size written; 0.1.0 wrote 64 MB chunks, the most a load accepts */
#define RECPROMO_CHUNK ((Size) 1024 * 1024)
#define RECPROMO_MAX_CHUNK ((Size) 64 * 1024 * 1024)

void
RecpromoPartsInit(RecpromoParts *parts)
{
	parts->n = 0;
	parts->cap = 8;
	parts->parts = palloc(parts->cap * sizeof(RecpromoPart));
}

void
RecpromoPartsAdd(RecpromoParts *parts, const char *name, void *data, Size len)
{
	if (parts->n == parts->cap)
	{
		parts->cap *= 2;
		parts->parts = repalloc(parts->parts, parts->cap * sizeof(RecpromoPart));
	}
	parts->parts[parts->n].name = pstrdup(name);
	parts->parts[parts->n].data = data;
	parts->parts[parts->n].len = len;
	parts->n++;
}

void *
RecpromoPartsGet(const RecpromoParts *parts, const char *name, Size expected_len,
				 bool missing_ok, Size *len)
{
	for (int i = 0; i < parts->n; i++)
		if (strcmp(parts->parts[i].name, name) == 0)
		{
			if (expected_len > 0 && parts->parts[i].len != expected_len)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("model part \"%s\" has %zu bytes, expected %zu",
								name, parts->parts[i].len, expected_len),
						 errhint("Train the model again.")));
			if (len)
				*len = parts->parts[i].len;
			return parts->parts[i].data;
		}
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model part \"%s\" is missing", name),
				 errhint("Train the model again.")));
	if (len)
		*len = 0;
	return NULL;
}

static Datum
TextOrNull(const char *s, char *nulls, int i)
{
	if (s == NULL)
	{
		nulls[i] = 'n';
		return (Datum) 0;
	}
	return CStringGetTextDatum(s);
}

/*
 * Writes the chunks of every part under `id`, each carrying the version
 * token `version` (inside an owner scope).
 */
static void
WriteParts(int64 id, Datum version, const RecpromoParts *parts)
{
	Oid			types[6] = {INT8OID, TEXTOID, INT4OID, BYTEAOID, INT4OID, UUIDOID};
	SPIPlanPtr	plan;
	bytea	   *b;
	Size		bufsize = 0;

	/*
	 * A generic plan: a custom plan would fold each chunk into a Const, one
	 * more copy of the data.
	 */
	plan = SPI_prepare_cursor("INSERT INTO recpromo.model_part (model_id, part, seq, data, checksum, version) "
							  "VALUES ($1, $2, $3, $4, $5, $6)",
							  6, types, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		RecpromoSpiError("prepare the model part insert");
	for (int p = 0; p < parts->n; p++)
		bufsize = Max(bufsize, Min(RECPROMO_CHUNK, parts->parts[p].len));
	b = palloc(VARHDRSZ + bufsize);

	for (int p = 0; p < parts->n; p++)
	{
		const RecpromoPart *part = &parts->parts[p];
		Datum		name = CStringGetTextDatum(part->name);
		Size		off = 0;
		int32		seq = 0;

		do
		{
			Size		chunk = Min(RECPROMO_CHUNK, part->len - off);
			Datum		values[6];

			SET_VARSIZE(b, VARHDRSZ + chunk);
			if (chunk > 0)
				memcpy(VARDATA(b), (char *) part->data + off, chunk);
			values[0] = Int64GetDatum(id);
			values[1] = name;
			values[2] = Int32GetDatum(seq);
			values[3] = PointerGetDatum(b);
			values[4] = Int32GetDatum((int32) RecpromoChecksum(VARDATA(b), chunk));
			values[5] = version;
			if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
				RecpromoSpiError(psprintf("write model part \"%s\"", part->name));
			off += chunk;
			seq++;
			CHECK_FOR_INTERRUPTS();
		} while (off < part->len);
	}
	pfree(b);
	SPI_freeplan(plan);
}

int64
RecpromoModelSave(RecpromoModelRow *row, const RecpromoParts *parts)
{
	RecpromoOwnerScope scope;
	instr_time	start;
	instr_time	dur;
	int64		id;
	bool		isnull;
	bool		had_old = false;
	int64		old_id = 0;
	Datum		version;
	bool		first_model;
	Datum		trained_at;

	INSTR_TIME_SET_CURRENT(start);
	SPI_connect();
	RecpromoOwnerEnter(&scope);

	/* serialise saves (readers are not blocked) */
	if (SPI_execute("LOCK TABLE recpromo.model IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		RecpromoSpiError("lock recpromo.model");
	/* on Citus, only the coordinator stores models (citus.c) */
	RecpromoCitusCheckTrainingNode();

	/* the previous model of this name, if any: only its owner replaces it */
	{
		Oid			t = TEXTOID;
		Datum		v = CStringGetTextDatum(row->name);

		if (SPI_execute_with_args("SELECT m.id, m.owner FROM recpromo.model m "
								  "WHERE m.name OPERATOR(pg_catalog.=) $1",
								  1, &t, &v, NULL, false, 1) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.model");
		if (SPI_processed == 1)
		{
			Oid			old_owner;

			had_old = true;
			old_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			old_owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			RecpromoCheckOwnerOf(row->name, old_owner, scope.caller);
		}
	}

	/*
	 * A fresh id, and a fresh random version token: ids repeat after a
	 * reinstall, a setval or a restore, 128 random bits do not.
	 */
	/*
	 * Also computed here rather than inside the upsert: whether this model
	 * becomes the default (the first one does), and the time stamp.  On
	 * Citus, where the model tables may be reference tables, an INSERT may
	 * hold no subquery and its ON CONFLICT clause no volatile or stable
	 * function; every value is a parameter instead.
	 */
	if (SPI_execute("SELECT pg_catalog.nextval('recpromo.model_id_seq'::pg_catalog.regclass), "
					"pg_catalog.gen_random_uuid(), "
					"NOT EXISTS (SELECT 1 FROM recpromo.model d WHERE d.is_default), "
					"pg_catalog.now()",
					false, 1) != SPI_OK_SELECT)
		RecpromoSpiError("draw a model id");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	memcpy(row->version,
		   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull))->data,
		   UUID_LEN);
	version = UUIDPGetDatum((pg_uuid_t *) row->version);
	first_model = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	trained_at = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);

	WriteParts(id, version, parts);

	INSTR_TIME_SET_CURRENT(dur);
	INSTR_TIME_SUBTRACT(dur, start);
	row->store_seconds = INSTR_TIME_GET_DOUBLE(dur);
	row->train_seconds += row->store_seconds;
	row->owner = scope.caller;

	/*
	 * Upsert the row.  The trainer becomes the owner; the grants survive a
	 * retraining by the same owner only, since they were given for data
	 * that owner could see.
	 */
	{
		Oid			types[23] = {TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
			TEXTOID, OIDOID, OIDOID, INT4OID, INT4OID, INT8OID, FLOAT8OID, FLOAT8OID, INT8OID, INT8OID,
		REGROLEOID, FLOAT8OID, TEXTOID, UUIDOID, BOOLOID, TIMESTAMPTZOID};
		Datum		values[23];
		char		nulls[24] = "                       ";

		values[0] = CStringGetTextDatum(row->name);
		values[1] = Int64GetDatum(id);
		values[2] = CStringGetTextDatum(row->method);
		values[3] = CStringGetTextDatum(row->params ? row->params : "{}");
		values[4] = TextOrNull(row->source, nulls, 4);
		values[5] = TextOrNull(row->user_col, nulls, 5);
		values[6] = TextOrNull(row->item_col, nulls, 6);
		values[7] = TextOrNull(row->rating_col, nulls, 7);
		values[8] = ObjectIdGetDatum(row->user_type);
		if (!OidIsValid(row->user_type))
			nulls[8] = 'n';
		values[9] = ObjectIdGetDatum(row->item_type);
		if (!OidIsValid(row->item_type))
			nulls[9] = 'n';
		values[10] = Int32GetDatum(row->n_users);
		values[11] = Int32GetDatum(row->n_items);
		values[12] = Int64GetDatum(row->nnz);
		values[13] = Float8GetDatum(row->train_seconds);
		values[14] = Float8GetDatum(row->final_loss);
		if (isnan(row->final_loss))
			nulls[14] = 'n';
		values[15] = Int64GetDatum(row->rows_read);
		values[16] = Int64GetDatum(row->rows_skipped);
		values[17] = ObjectIdGetDatum(row->owner);
		values[18] = Float8GetDatum(row->store_seconds);
		values[19] = CStringGetTextDatum(GetUserNameFromId(scope.caller, false));
		values[20] = version;
		values[21] = BoolGetDatum(first_model);
		values[22] = trained_at;
		if (SPI_execute_with_args(
								  "INSERT INTO recpromo.model AS m (name, id, method, params, source, user_col, item_col, rating_col, "
								  "  user_type, item_type, n_users, n_items, nnz, train_seconds, final_loss, rows_read, rows_skipped, "
								  "  is_default, trained_by, trained_at, owner, readers, store_seconds, version) "
								  "VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5, $6, $7, $8, $9::pg_catalog.regtype, $10::pg_catalog.regtype, "
								  "  $11, $12, $13, $14, $15, $16, $17, "
								  "  $22, $20::pg_catalog.name, $23, $18, '{}'::pg_catalog.regrole[], $19, $21) "
								  "ON CONFLICT (name) DO UPDATE SET id = EXCLUDED.id, method = EXCLUDED.method, "
								  "  params = EXCLUDED.params, source = EXCLUDED.source, user_col = EXCLUDED.user_col, "
								  "  item_col = EXCLUDED.item_col, rating_col = EXCLUDED.rating_col, "
								  "  user_type = EXCLUDED.user_type, item_type = EXCLUDED.item_type, "
								  "  n_users = EXCLUDED.n_users, n_items = EXCLUDED.n_items, nnz = EXCLUDED.nnz, "
								  "  train_seconds = EXCLUDED.train_seconds, final_loss = EXCLUDED.final_loss, "
								  "  rows_read = EXCLUDED.rows_read, rows_skipped = EXCLUDED.rows_skipped, "
								  "  metrics = '{}'::pg_catalog.jsonb, trained_by = EXCLUDED.trained_by, trained_at = EXCLUDED.trained_at, "
								  "  readers = CASE WHEN m.owner OPERATOR(pg_catalog.=) EXCLUDED.owner THEN m.readers "
								  "                 ELSE '{}'::pg_catalog.regrole[] END, "
								  "  owner = EXCLUDED.owner, store_seconds = EXCLUDED.store_seconds, "
								  "  version = EXCLUDED.version",
								  23, types, values, nulls, false, 0) != SPI_OK_INSERT)
			RecpromoSpiError("write recpromo.model");
	}

	if (had_old)
	{
		Oid			t = INT8OID;
		Datum		v = Int64GetDatum(old_id);

		if (SPI_execute_with_args("DELETE FROM recpromo.model_part p WHERE p.model_id OPERATOR(pg_catalog.=) $1",
								  1, &t, &v, NULL, false, 0) != SPI_OK_DELETE)
			RecpromoSpiError("delete the old model's parts");
	}

	/*
	 * The grants to list similar users (0.3.0) are a subset of readers
	 * (grant_model adds to both, revoke_model removes from both or from
	 * them only): keeping that subset after the upsert clears them with
	 * readers when another role retrains the model.
	 */
	if (RecpromoModelHasColumn("similar_users_readers"))
	{
		Oid			t = TEXTOID;
		Datum		v = CStringGetTextDatum(row->name);

		if (SPI_execute_with_args("UPDATE recpromo.model m SET similar_users_readers = "
								  "  ARRAY(SELECT r FROM pg_catalog.unnest(m.similar_users_readers) WITH ORDINALITY g(r, i) "
								  "         WHERE r OPERATOR(pg_catalog.=) ANY (m.readers) ORDER BY g.i) "
								  "WHERE m.name OPERATOR(pg_catalog.=) $1 "
								  "  AND NOT (m.similar_users_readers OPERATOR(pg_catalog.<@) m.readers)",
								  1, &t, &v, NULL, false, 0) != SPI_OK_UPDATE)
			RecpromoSpiError("update recpromo.model");
	}

	RecpromoOwnerLeave(&scope);
	SPI_finish();
	row->id = id;
	return id;
}

static char *
GetText(HeapTuple tup, TupleDesc td, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, td, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

bool
RecpromoModelLookup(const char *name, RecpromoModelRow *row)
{
	MemoryContext outer = CurrentMemoryContext;
	static SPIPlanPtr by_name_v[2] = {NULL, NULL};
	static SPIPlanPtr by_default_v[2] = {NULL, NULL};
	int			v3 = RecpromoModelHasColumn("similar_users_readers") ? 1 : 0;
	SPIPlanPtr *by_name_p = &by_name_v[v3];
	SPIPlanPtr *by_default_p = &by_default_v[v3];
	/*
	 * similar_users_readers (0.3.0): a library newer than the SQL objects
	 * reads an empty list, so only owners list users until the update.
	 */
	const char *cols = v3 ?
		"SELECT m.name, m.id, m.method, m.params::pg_catalog.text, m.source, m.user_col, "
		"m.item_col, m.rating_col, m.user_type::pg_catalog.oid, m.item_type::pg_catalog.oid, "
		"m.n_users, m.n_items, m.nnz, m.train_seconds, m.final_loss, m.store_seconds, m.owner, m.readers, "
		"m.version, (SELECT e.oid FROM pg_catalog.pg_extension e "
		"WHERE e.extname OPERATOR(pg_catalog.=) 'recpromo'::pg_catalog.name), m.similar_users_readers "
		"FROM recpromo.model m " :
		"SELECT m.name, m.id, m.method, m.params::pg_catalog.text, m.source, m.user_col, "
		"m.item_col, m.rating_col, m.user_type::pg_catalog.oid, m.item_type::pg_catalog.oid, "
		"m.n_users, m.n_items, m.nnz, m.train_seconds, m.final_loss, m.store_seconds, m.owner, m.readers, "
		"m.version, (SELECT e.oid FROM pg_catalog.pg_extension e "
		"WHERE e.extname OPERATOR(pg_catalog.=) 'recpromo'::pg_catalog.name), '{}'::pg_catalog.regrole[] "
		"FROM recpromo.model m ";
	bool		found = false;
	RecpromoOwnerScope scope;

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	if (name != NULL)
	{
		Oid			t = TEXTOID;
		Datum		v = CStringGetTextDatum(name);

		if (*by_name_p == NULL)
		{
			SPIPlanPtr	p = SPI_prepare(psprintf("%s WHERE m.name OPERATOR(pg_catalog.=) $1", cols), 1, &t);

			if (p == NULL)
				RecpromoSpiError("prepare the model lookup");
			SPI_keepplan(p);
			*by_name_p = p;
		}
		if (SPI_execute_plan(*by_name_p, &v, NULL, true, 1) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.model");
	}
	else
	{
		if (*by_default_p == NULL)
		{
			SPIPlanPtr	p = SPI_prepare(psprintf("%s WHERE m.is_default", cols), 0, NULL);

			if (p == NULL)
				RecpromoSpiError("prepare the model lookup");
			SPI_keepplan(p);
			*by_default_p = p;
		}
		if (SPI_execute_plan(*by_default_p, NULL, NULL, true, 1) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.model");
	}
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext spicxt = MemoryContextSwitchTo(outer);

		found = true;
		memset(row, 0, sizeof(*row));
		row->name = GetText(tup, td, 1);
		row->id = DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));
		row->method = GetText(tup, td, 3);
		row->params = GetText(tup, td, 4);
		row->source = GetText(tup, td, 5);
		row->user_col = GetText(tup, td, 6);
		row->item_col = GetText(tup, td, 7);
		row->rating_col = GetText(tup, td, 8);
		row->user_type = DatumGetObjectId(SPI_getbinval(tup, td, 9, &isnull));
		if (isnull)
			row->user_type = InvalidOid;
		row->item_type = DatumGetObjectId(SPI_getbinval(tup, td, 10, &isnull));
		if (isnull)
			row->item_type = InvalidOid;
		row->n_users = DatumGetInt32(SPI_getbinval(tup, td, 11, &isnull));
		row->n_items = DatumGetInt32(SPI_getbinval(tup, td, 12, &isnull));
		row->nnz = DatumGetInt64(SPI_getbinval(tup, td, 13, &isnull));
		row->train_seconds = DatumGetFloat8(SPI_getbinval(tup, td, 14, &isnull));
		if (isnull)
			row->train_seconds = 0;
		row->final_loss = DatumGetFloat8(SPI_getbinval(tup, td, 15, &isnull));
		if (isnull)
			row->final_loss = NAN;
		row->store_seconds = DatumGetFloat8(SPI_getbinval(tup, td, 16, &isnull));
		if (isnull)
			row->store_seconds = 0;
		row->owner = DatumGetObjectId(SPI_getbinval(tup, td, 17, &isnull));
		{
			Datum		d = SPI_getbinval(tup, td, 18, &isnull);
			Datum	   *elems = NULL;
			bool	   *nulls = NULL;
			int			n = 0;
			Oid		   *readers;
			int			nr = 0;

			if (!isnull)
				deconstruct_array(DatumGetArrayTypeP(d), REGROLEOID, sizeof(Oid), true,
								  TYPALIGN_INT, &elems, &nulls, &n);
			readers = palloc(Max(n, 1) * sizeof(Oid));
			for (int i = 0; i < n; i++)
				if (!nulls[i])
					readers[nr++] = DatumGetObjectId(elems[i]);
			/* the caller's rights, not the extension owner's */
			row->may_serve = RecpromoRoleMayServe(scope.caller, row->owner, readers, nr);
			pfree(readers);
		}
		{
			Datum		d = SPI_getbinval(tup, td, 21, &isnull);
			Datum	   *elems = NULL;
			bool	   *nulls = NULL;
			int			n = 0;
			Oid		   *listers;
			int			nl = 0;

			if (!isnull)
				deconstruct_array(DatumGetArrayTypeP(d), REGROLEOID, sizeof(Oid), true,
								  TYPALIGN_INT, &elems, &nulls, &n);
			listers = palloc(Max(n, 1) * sizeof(Oid));
			for (int i = 0; i < n; i++)
				if (!nulls[i])
					listers[nl++] = DatumGetObjectId(elems[i]);
			row->may_list_users = RecpromoRoleMayServe(scope.caller, row->owner, listers, nl);
			pfree(listers);
		}
		{
			Datum		d = SPI_getbinval(tup, td, 19, &isnull);

			/* NOT NULL; the nil uuid, which no save draws, matches no part */
			if (isnull)
				memset(row->version, 0, UUID_LEN);
			else
				memcpy(row->version, DatumGetUUIDP(d)->data, UUID_LEN);
		}
		row->ext_oid = DatumGetObjectId(SPI_getbinval(tup, td, 20, &isnull));
		if (isnull)
			row->ext_oid = InvalidOid;
		MemoryContextSwitchTo(spicxt);
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	return found;
}

void
RecpromoModelLookupOrError(const char *name, RecpromoModelRow *row)
{
	if (!RecpromoModelLookup(name, row))
	{
		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("no default model"),
					 errhint("Train a model with recpromo.train(), or name one with model => '...'.")));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("SELECT name FROM recpromo.models lists the trained models.")));
	}
	if (!row->may_serve)
		RecpromoDenyServe(row->name, row->owner);
}

/* Raises XX001 for model `model`, part `part`. */
static void
Corrupt(const char *model, const char *part, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model \"%s\" is corrupt: part \"%s\" %s", model, part, what),
			 errhint("Train the model again.")));
}

static bool
PartNameIsValid(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len >= NAMEDATALEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

/*
 * Asks for transparent huge pages on the 2 MB-aligned inside of a large
 * buffer about to be filled: one fault per 2 MB instead of one per 4 kB.
 * Filling a 100 MB part otherwise spends a quarter of the load in page
 * faults (more under a hypervisor).  Best effort; no-op without THP.
 */
static void
HugePages(void *p, Size len)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	lo = TYPEALIGN((uintptr_t) 2 * 1024 * 1024, (uintptr_t) p);
	uintptr_t	hi = TYPEALIGN_DOWN((uintptr_t) 2 * 1024 * 1024, (uintptr_t) p + len);

	if (len >= (Size) 8 * 1024 * 1024 && hi > lo)
		(void) madvise((void *) lo, hi - lo, MADV_HUGEPAGE);
#endif
}

/*
 * Copies the l data bytes of the bytea chunk d to dst.  The data column is
 * STORAGE EXTERNAL, so a chunk is normally an uncompressed out-of-line
 * value: it is then fetched from its TOAST table straight into dst, as
 * detoast_attr would into a fresh palloc'd copy, which saves that copy (a
 * fresh megabyte per chunk, then a memcpy: a fifth of the load's time at
 * 200,000 items).  The TOAST fetch writes only after the 4-byte header of
 * the varlena it is given, which here is the 4 bytes before dst: they are
 * saved and put back (the caller leaves room before the first chunk).
 * Anything else (inline, compressed) goes through the ordinary detoast.
 */
static void
FetchChunk(Datum d, char *dst, Size l)
{
	struct varlena *attr = (struct varlena *) DatumGetPointer(d);

	if (VARATT_IS_EXTERNAL_ONDISK(attr))
	{
		struct varatt_external tp;

		VARATT_EXTERNAL_GET_POINTER(tp, attr);
		if (!VARATT_EXTERNAL_IS_COMPRESSED(tp) &&
			(Size) VARATT_EXTERNAL_GET_EXTSIZE(tp) == l && l > 0)
		{
			Relation	toastrel = table_open(tp.va_toastrelid, AccessShareLock);
			struct varlena *res = (struct varlena *) (dst - VARHDRSZ);
			char		save[VARHDRSZ];

			memcpy(save, res, VARHDRSZ);
			SET_VARSIZE(res, l + VARHDRSZ);
			table_relation_fetch_toast_slice(toastrel, tp.va_valueid, (int32) l, 0, (int32) l, res);
			memcpy(res, save, VARHDRSZ);
			table_close(toastrel, AccessShareLock);
			return;
		}
	}
	{
		bytea	   *b = DatumGetByteaPP(d);

		if (VARSIZE_ANY_EXHDR(b) != l)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("a model part chunk changed size while loading")));
		memcpy(dst, VARDATA_ANY(b), l);
		if ((Pointer) b != DatumGetPointer(d))
			pfree(b);
	}
}

void
RecpromoModelLoadParts(int64 id, const uint8 *version, MemoryContext cxt, RecpromoParts *parts)
{
	Oid			t = INT8OID;
	Datum		v = Int64GetDatum(id);
	RecpromoOwnerScope scope;
	char	   *model;

	SPI_connect();
	RecpromoOwnerEnter(&scope);

	/* the name, for messages */
	if (SPI_execute_with_args("SELECT m.name FROM recpromo.model m WHERE m.id OPERATOR(pg_catalog.=) $1",
							  1, &t, &v, NULL, true, 1) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.model");
	model = SPI_processed == 1 ? GetText(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
	if (model == NULL)
		model = psprintf("%lld", (long long) id);

	if (SPI_execute_with_args("SELECT p.part, p.seq, p.data, p.checksum, p.version FROM recpromo.model_part p "
							  "WHERE p.model_id OPERATOR(pg_catalog.=) $1 ORDER BY p.part, p.seq",
							  1, &t, &v, NULL, true, 0) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.model_part");
	{
		MemoryContext spicxt = MemoryContextSwitchTo(cxt);

		RecpromoPartsInit(parts);
		MemoryContextSwitchTo(spicxt);
	}
	{
		TupleDesc	td = SPI_tuptable->tupdesc;
		uint64		r = 0;

		while (r < SPI_processed)
		{
			char	   *name = GetText(SPI_tuptable->vals[r], td, 1);
			uint64		e = r;
			Size		total = 0;
			char	   *buf;
			Size		off = 0;
			bool		isnull;

			if (name == NULL)
				Corrupt(model, "?", "has no name");
			if (!PartNameIsValid(name))
				Corrupt(model, name, "has an invalid name");
			for (int q = 0; q < parts->n; q++)
				if (strcmp(parts->parts[q].name, name) == 0)
					Corrupt(model, name, "appears twice");

			/* chunks of one part are adjacent (ORDER BY part, seq) */
			while (e < SPI_processed)
			{
				HeapTuple	tup = SPI_tuptable->vals[e];
				char	   *n2 = GetText(tup, td, 1);
				bool		same = n2 != NULL && strcmp(n2, name) == 0;
				Datum		seq;
				Datum		d;
				Datum		tok;
				Size		l;

				if (n2)
					pfree(n2);
				if (!same)
					break;
				seq = SPI_getbinval(tup, td, 2, &isnull);
				if (isnull || DatumGetInt32(seq) != (int64) (e - r))
					Corrupt(model, name, "has missing or misnumbered chunks");
				d = SPI_getbinval(tup, td, 3, &isnull);
				if (isnull)
					Corrupt(model, name, "has a null chunk");
				(void) SPI_getbinval(tup, td, 4, &isnull);
				if (isnull)
					Corrupt(model, name, "has no checksum");
				/* the parts of the row just looked up, not of an older model of that id */
				tok = SPI_getbinval(tup, td, 5, &isnull);
				if (isnull || memcmp(DatumGetUUIDP(tok)->data, version, UUID_LEN) != 0)
					Corrupt(model, name, "belongs to another version of the model");
				l = toast_raw_datum_size(d) - VARHDRSZ;
				if (l > RECPROMO_MAX_CHUNK || total + l > MaxAllocHugeSize - 1)
					Corrupt(model, name, "is too large");
				total += l;
				e++;
			}
			/* room for FetchChunk's header before the first chunk; data MAXALIGNed */
			buf = (char *) MemoryContextAllocHuge(cxt, Max(total, 1) + MAXIMUM_ALIGNOF) +
				MAXIMUM_ALIGNOF;
			HugePages(buf, total);
			for (uint64 k = r; k < e; k++)
			{
				Datum		d = SPI_getbinval(SPI_tuptable->vals[k], td, 3, &isnull);
				int32		sum = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[k], td, 4, &isnull));
				Size		l = toast_raw_datum_size(d) - VARHDRSZ;

				if (off + l > total)
					Corrupt(model, name, "changed size while loading");
				FetchChunk(d, buf + off, l);
				if ((int32) RecpromoChecksum(buf + off, l) != sum)
					Corrupt(model, name, "fails its checksum");
				off += l;
			}
			{
				MemoryContext spicxt = MemoryContextSwitchTo(cxt);

				RecpromoPartsAdd(parts, name, buf, off);
				MemoryContextSwitchTo(spicxt);
			}
			pfree(name);
			r = e;
			CHECK_FOR_INTERRUPTS();
		}
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
}
