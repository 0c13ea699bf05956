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
 * user id; every query is fully qualified all the same.  The serving
 * lookup of a model's row reads it with an index scan instead, without a
 * query (DirectLookup, below), where nothing it bypasses would apply; the
 * parts' TOAST chunks are read through a ring of shared buffers
 * (FetchToastValue).
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
#include "access/genam.h"
#include "access/heapam.h"
#include "access/heaptoast.h"
#include "access/relscan.h"
#include "access/toast_internals.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
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

/*
 * The columns a lookup reads, in the order of the SPI lookup's select list
 * (LookupCols).  The direct lookup finds each by name in the table's
 * descriptor and checks its type.
 */
enum
{
	LK_NAME, LK_ID, LK_METHOD, LK_PARAMS, LK_SOURCE, LK_USER_COL, LK_ITEM_COL,
	LK_RATING_COL, LK_USER_TYPE, LK_ITEM_TYPE, LK_N_USERS, LK_N_ITEMS, LK_NNZ,
	LK_TRAIN_SECONDS, LK_FINAL_LOSS, LK_STORE_SECONDS, LK_OWNER, LK_READERS,
	LK_VERSION, LK_EXT_OID, LK_LISTERS, LK_COUNT
};

/* Column names and types for the direct lookup (LK_EXT_OID is computed). */
static const struct
{
	const char *name;
	Oid			type;
}			lookup_cols[LK_COUNT] = {
	{"name", TEXTOID}, {"id", INT8OID}, {"method", TEXTOID}, {"params", JSONBOID},
	{"source", TEXTOID}, {"user_col", TEXTOID}, {"item_col", TEXTOID},
	{"rating_col", TEXTOID}, {"user_type", REGTYPEOID}, {"item_type", REGTYPEOID},
	{"n_users", INT4OID}, {"n_items", INT4OID}, {"nnz", INT8OID},
	{"train_seconds", FLOAT8OID}, {"final_loss", FLOAT8OID},
	{"store_seconds", FLOAT8OID}, {"owner", REGROLEOID},
	{"readers", REGROLEARRAYOID}, {"version", UUIDOID}, {NULL, OIDOID},
	{"similar_users_readers", REGROLEARRAYOID}
};

static char *
DatumText(Datum d, bool isnull)
{
	return isnull ? NULL : TextDatumGetCString(d);
}

/* The non-null role oids of a regrole[] datum (palloc'd), their count in *n. */
static Oid *
RoleArray(Datum d, bool isnull, int *n_out)
{
	Datum	   *elems = NULL;
	bool	   *nulls = NULL;
	int			n = 0;
	Oid		   *roles;
	int			nr = 0;

	if (!isnull)
		deconstruct_array(DatumGetArrayTypeP(d), REGROLEOID, sizeof(Oid), true,
						  TYPALIGN_INT, &elems, &nulls, &n);
	roles = palloc(Max(n, 1) * sizeof(Oid));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			roles[nr++] = DatumGetObjectId(elems[i]);
	*n_out = nr;
	return roles;
}

/*
 * Fills row from the looked-up columns (v/isnull indexed by LK_*); the
 * params column is text (SPI lookup) or jsonb (direct lookup).  The
 * rights are the caller's, not the extension owner's.  Allocates in
 * CurrentMemoryContext.
 */
static void
FillRow(RecpromoModelRow *row, const Datum *v, const bool *isnull, bool params_jsonb,
		Oid caller)
{
	Oid		   *roles;
	int			n;

	memset(row, 0, sizeof(*row));
	row->name = DatumText(v[LK_NAME], isnull[LK_NAME]);
	row->id = isnull[LK_ID] ? 0 : DatumGetInt64(v[LK_ID]);
	row->method = DatumText(v[LK_METHOD], isnull[LK_METHOD]);
	if (isnull[LK_PARAMS])
		row->params = NULL;
	else if (params_jsonb)
		row->params = DatumGetCString(DirectFunctionCall1(jsonb_out, v[LK_PARAMS]));
	else
		row->params = TextDatumGetCString(v[LK_PARAMS]);
	row->source = DatumText(v[LK_SOURCE], isnull[LK_SOURCE]);
	row->user_col = DatumText(v[LK_USER_COL], isnull[LK_USER_COL]);
	row->item_col = DatumText(v[LK_ITEM_COL], isnull[LK_ITEM_COL]);
	row->rating_col = DatumText(v[LK_RATING_COL], isnull[LK_RATING_COL]);
	row->user_type = isnull[LK_USER_TYPE] ? InvalidOid : DatumGetObjectId(v[LK_USER_TYPE]);
	row->item_type = isnull[LK_ITEM_TYPE] ? InvalidOid : DatumGetObjectId(v[LK_ITEM_TYPE]);
	row->n_users = isnull[LK_N_USERS] ? 0 : DatumGetInt32(v[LK_N_USERS]);
	row->n_items = isnull[LK_N_ITEMS] ? 0 : DatumGetInt32(v[LK_N_ITEMS]);
	row->nnz = isnull[LK_NNZ] ? 0 : DatumGetInt64(v[LK_NNZ]);
	row->train_seconds = isnull[LK_TRAIN_SECONDS] ? 0 : DatumGetFloat8(v[LK_TRAIN_SECONDS]);
	row->final_loss = isnull[LK_FINAL_LOSS] ? NAN : DatumGetFloat8(v[LK_FINAL_LOSS]);
	row->store_seconds = isnull[LK_STORE_SECONDS] ? 0 : DatumGetFloat8(v[LK_STORE_SECONDS]);
	row->owner = isnull[LK_OWNER] ? InvalidOid : DatumGetObjectId(v[LK_OWNER]);
	roles = RoleArray(v[LK_READERS], isnull[LK_READERS], &n);
	row->may_serve = RecpromoRoleMayServe(caller, row->owner, roles, n);
	pfree(roles);
	roles = RoleArray(v[LK_LISTERS], isnull[LK_LISTERS], &n);
	row->may_list_users = RecpromoRoleMayServe(caller, row->owner, roles, n);
	pfree(roles);
	/* NOT NULL; the nil uuid, which no save draws, matches no part */
	if (isnull[LK_VERSION])
		memset(row->version, 0, UUID_LEN);
	else
		memcpy(row->version, DatumGetUUIDP(v[LK_VERSION])->data, UUID_LEN);
	row->ext_oid = isnull[LK_EXT_OID] ? InvalidOid : DatumGetObjectId(v[LK_EXT_OID]);
}

/*
 * The direct lookup: the row of `name` (NULL: the default model) read with
 * an index scan on recpromo.model's unique index on name (the default: a
 * scan of the table, a handful of rows), in the statement's snapshot, as
 * the SPI lookup reads it, without its parse, plan and executor start: a
 * new backend's first recommend() spent more in planning that lookup than
 * in anything else of its own.  Returns -1 when it cannot decide and the
 * SPI lookup must run instead: Citus loaded (its reference tables are read
 * through SPI, citus.c), no active snapshot, recpromo.model missing,
 * unexpected columns or types (an extension older or newer than the
 * library: the SPI lookup then says what it always said), row-level
 * security enabled on it, or an extension owner without SELECT on it
 * (what the SPI lookup runs as).  Otherwise 1 with row filled, or 0.
 * Nothing read is trusted more than before: the same columns are read
 * and FillRow derives the same fields and rights.
 */
static int
DirectLookup(const char *name, RecpromoModelRow *row)
{
	Oid			nsp;
	Oid			relid;
	Relation	rel;
	TupleDesc	td;
	AttrNumber	attno[LK_COUNT];
	Oid			owner;
	Oid			idxoid = InvalidOid;
	Oid			ext_oid;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	int			found = 0;

	if (RecpromoCitusLoaded() || !ActiveSnapshotSet())
		return -1;
	owner = RecpromoExtensionOwner();	/* errors as the SPI path's scope would */
	ext_oid = get_extension_oid("recpromo", true);
	nsp = get_namespace_oid("recpromo", true);
	relid = OidIsValid(nsp) ? get_relname_relid("model", nsp) : InvalidOid;
	if (!OidIsValid(relid) || !OidIsValid(ext_oid))
		return -1;
	rel = table_open(relid, AccessShareLock);
	td = RelationGetDescr(rel);
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relrowsecurity ||
		pg_class_aclcheck(relid, owner, ACL_SELECT) != ACLCHECK_OK)
	{
		table_close(rel, AccessShareLock);
		return -1;
	}
	for (int c = 0; c < LK_COUNT; c++)
	{
		attno[c] = InvalidAttrNumber;
		if (lookup_cols[c].name == NULL)
			continue;
		for (int a = 0; a < td->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(td, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), lookup_cols[c].name) == 0)
			{
				if (att->atttypid == lookup_cols[c].type)
					attno[c] = att->attnum;
				break;
			}
		}
		if (attno[c] == InvalidAttrNumber)
		{
			table_close(rel, AccessShareLock);
			return -1;
		}
	}
	if (name != NULL)
	{
		List	   *indexes = RelationGetIndexList(rel);
		ListCell   *lc;

		/* the unique index on (name) alone, with no predicate: the primary key */
		foreach(lc, indexes)
		{
			Relation	ir = index_open(lfirst_oid(lc), AccessShareLock);

			if (ir->rd_index->indisunique && ir->rd_index->indisvalid &&
				ir->rd_index->indnkeyatts == 1 &&
				ir->rd_index->indkey.values[0] == attno[LK_NAME] &&
				heap_attisnull(ir->rd_indextuple, Anum_pg_index_indpred, NULL) &&
				heap_attisnull(ir->rd_indextuple, Anum_pg_index_indexprs, NULL) &&
				ir->rd_opcintype[0] == TEXTOID)
			{
				idxoid = RelationGetRelid(ir);
				ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
									   ir->rd_indcollation[0], F_TEXTEQ,
									   CStringGetTextDatum(name));
			}
			index_close(ir, AccessShareLock);
			if (OidIsValid(idxoid))
				break;
		}
		list_free(indexes);
		if (!OidIsValid(idxoid))
		{
			table_close(rel, AccessShareLock);
			return -1;
		}
		scan = systable_beginscan(rel, idxoid, true, GetActiveSnapshot(), 1, &key);
	}
	else
	{
		/* is_default: a boolean column (checked as the others) */
		AttrNumber	def = InvalidAttrNumber;

		for (int a = 0; a < td->natts; a++)
			if (!TupleDescAttr(td, a)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(td, a)->attname), "is_default") == 0 &&
				TupleDescAttr(td, a)->atttypid == BOOLOID)
				def = TupleDescAttr(td, a)->attnum;
		if (def == InvalidAttrNumber)
		{
			table_close(rel, AccessShareLock);
			return -1;
		}
		ScanKeyInit(&key, def, BTEqualStrategyNumber, F_BOOLEQ, BoolGetDatum(true));
		scan = systable_beginscan(rel, InvalidOid, false, GetActiveSnapshot(), 1, &key);
	}
	/* the SPI lookup takes the first row (a unique key: at most one) */
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		Datum		v[LK_COUNT];
		bool		isnull[LK_COUNT];

		for (int c = 0; c < LK_COUNT; c++)
		{
			if (c == LK_EXT_OID)
			{
				v[c] = ObjectIdGetDatum(ext_oid);
				isnull[c] = false;
			}
			else
				v[c] = heap_getattr(tup, attno[c], td, &isnull[c]);
		}
		FillRow(row, v, isnull, true, GetUserId());
		found = 1;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

bool
RecpromoModelLookup(const char *name, RecpromoModelRow *row)
{
	MemoryContext outer = CurrentMemoryContext;
	static SPIPlanPtr by_name_v[2] = {NULL, NULL};
	static SPIPlanPtr by_default_v[2] = {NULL, NULL};
	int			v3;
	SPIPlanPtr *by_name_p;
	SPIPlanPtr *by_default_p;
	const char *cols;
	bool		found = false;
	RecpromoOwnerScope scope;

	{
		int			r = DirectLookup(name, row);

		if (r >= 0)
			return r == 1;
	}

	/*
	 * similar_users_readers (0.3.0): a library newer than the SQL objects
	 * reads an empty list, so only owners list users until the update.
	 */
	v3 = RecpromoModelHasColumn("similar_users_readers") ? 1 : 0;
	by_name_p = &by_name_v[v3];
	by_default_p = &by_default_v[v3];
	cols = v3 ?
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
		Datum		v[LK_COUNT];
		bool		isnull[LK_COUNT];
		MemoryContext spicxt;

		for (int c = 0; c < LK_COUNT; c++)
			v[c] = SPI_getbinval(tup, td, c + 1, &isnull[c]);
		spicxt = MemoryContextSwitchTo(outer);
		found = true;
		FillRow(row, v, isnull, false, scope.caller);
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
 * Reads the l bytes of the uncompressed out-of-line value `valueid` of
 * toastrel into dst, as heap_fetch_toast_slice would (same index scan,
 * same toast snapshot, same checks of every chunk's number and size), but
 * through `strategy`, a small ring of shared buffers.  The plain fetch
 * reads each of the value's pages into a buffer of its own: loading a
 * 100 MB model went through 12,800 buffers, each a first touch of shared
 * memory in this backend (a page fault; 0.4 s of the load's 0.9 s of CPU
 * at 200,000 items x 64 factors on a virtual machine) and each evicting
 * some other table's page.  The ring reuses 32 buffers (256 kB), as a
 * sequential scan of a large table does.  Errors are XX001, as Corrupt().
 */
static void
FetchToastValue(Relation toastrel, Oid valueid, Size l, char *dst,
				BufferAccessStrategy strategy, const char *model, const char *part)
{
	Relation   *toastidxs;
	int			num_indexes;
	int			valid;
	ScanKeyData key;
	SnapshotData snap;
	IndexScanDesc scan;
	ItemPointer tid;
	TupleDesc	td = RelationGetDescr(toastrel);
	int32		totalchunks = (int32) ((l - 1) / TOAST_MAX_CHUNK_SIZE) + 1;
	int32		expected = 0;
	Buffer		buf = InvalidBuffer;

	valid = toast_open_indexes(toastrel, AccessShareLock, &toastidxs, &num_indexes);
	ScanKeyInit(&key, (AttrNumber) 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(valueid));
	init_toast_snapshot(&snap);
	scan = index_beginscan(toastrel, toastidxs[valid], &snap, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		BlockNumber blk = ItemPointerGetBlockNumber(tid);
		HeapTupleData tup;
		bool		all_dead;
		bool		found;
		bool		isnull;
		int32		seq;
		Pointer		chunk;
		Size		size;
		Size		want;
		char	   *data;

		/* consecutive chunks share pages: keep the pin */
		if (!BufferIsValid(buf) || BufferGetBlockNumber(buf) != blk)
		{
			if (BufferIsValid(buf))
				ReleaseBuffer(buf);
			buf = ReadBufferExtended(toastrel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		}
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		found = heap_hot_search_buffer(tid, toastrel, buf, &snap, &tup, &all_dead, true);
		if (!found)
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			continue;
		}
		seq = DatumGetInt32(heap_getattr(&tup, 2, td, &isnull));
		if (isnull || seq != expected || seq >= totalchunks)
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			Corrupt(model, part, "has a damaged stored chunk");
		}
		chunk = DatumGetPointer(heap_getattr(&tup, 3, td, &isnull));
		if (isnull || (VARATT_IS_EXTENDED(chunk) && !VARATT_IS_SHORT(chunk)))
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			Corrupt(model, part, "has a damaged stored chunk");
		}
		if (VARATT_IS_SHORT(chunk))
		{
			size = VARSIZE_SHORT(chunk) - VARHDRSZ_SHORT;
			data = VARDATA_SHORT(chunk);
		}
		else
		{
			size = VARSIZE(chunk) - VARHDRSZ;
			data = VARDATA(chunk);
		}
		want = seq < totalchunks - 1 ? TOAST_MAX_CHUNK_SIZE :
			l - (Size) (totalchunks - 1) * TOAST_MAX_CHUNK_SIZE;
		if (size != want)
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			Corrupt(model, part, "has a damaged stored chunk");
		}
		memcpy(dst + (Size) seq * TOAST_MAX_CHUNK_SIZE, data, size);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		expected++;
	}
	if (BufferIsValid(buf))
		ReleaseBuffer(buf);
	index_endscan(scan);
	toast_close_indexes(toastidxs, num_indexes, AccessShareLock);
	if (expected != totalchunks)
		Corrupt(model, part, "has a damaged stored chunk");
}

/*
 * Copies the l data bytes of the bytea chunk d to dst.  The data column is
 * STORAGE EXTERNAL, so a chunk is normally an uncompressed out-of-line
 * value: it is then read from its TOAST table straight into dst
 * (FetchToastValue, through the ring `strategy`), where detoast_attr would
 * read it into a fresh palloc'd copy, which saves that copy (a fresh
 * megabyte per chunk, then a memcpy: a fifth of the load's time at 200,000
 * items).  Anything else (inline, compressed: rows written before the
 * column was STORAGE EXTERNAL, or by hand) goes through the ordinary
 * detoast.
 */
static void
FetchChunk(Datum d, char *dst, Size l, BufferAccessStrategy strategy,
		   const char *model, const char *part)
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

			FetchToastValue(toastrel, tp.va_valueid, l, dst, strategy, model, part);
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
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);

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
			/* data MAXALIGNed (the allocation is) */
			buf = (char *) MemoryContextAllocHuge(cxt, Max(total, 1));
			HugePages(buf, total);
			for (uint64 k = r; k < e; k++)
			{
				Datum		d = SPI_getbinval(SPI_tuptable->vals[k], td, 3, &isnull);
				int32		sum = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[k], td, 4, &isnull));
				Size		l = toast_raw_datum_size(d) - VARHDRSZ;

				if (off + l > total)
					Corrupt(model, name, "changed size while loading");
				FetchChunk(d, buf + off, l, strategy, model, name);
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
	FreeAccessStrategy(strategy);
}
