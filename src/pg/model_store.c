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
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "model_store.h"

#define RECPROMO_CHUNK ((Size) 64 * 1024 * 1024)

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

int64
RecpromoModelSave(RecpromoModelRow *row, const RecpromoParts *parts)
{
	int64		id;
	bool		isnull;
	bool		had_old = false;
	int64		old_id = 0;

	SPI_connect();

	/* serialise saves (readers are not blocked) */
	if (SPI_execute("LOCK TABLE recpromo.model IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock recpromo.model");

	if (SPI_execute("SELECT nextval('recpromo.model_id_seq')", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not draw a model id");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/* parts, chunked */
	{
		Oid			types[4] = {INT8OID, TEXTOID, INT4OID, BYTEAOID};
		SPIPlanPtr	plan = SPI_prepare("INSERT INTO recpromo.model_part (model_id, part, seq, data) VALUES ($1, $2, $3, $4)",
									   4, types);

		for (int p = 0; p < parts->n; p++)
		{
			const RecpromoPart *part = &parts->parts[p];
			Size		off = 0;
			int32		seq = 0;

			do
			{
				Size		chunk = Min(RECPROMO_CHUNK, part->len - off);
				bytea	   *b = palloc(VARHDRSZ + chunk);
				Datum		values[4];

				SET_VARSIZE(b, VARHDRSZ + chunk);
				if (chunk > 0)
					memcpy(VARDATA(b), (char *) part->data + off, chunk);
				values[0] = Int64GetDatum(id);
				values[1] = CStringGetTextDatum(part->name);
				values[2] = Int32GetDatum(seq);
				values[3] = PointerGetDatum(b);
				if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
					elog(ERROR, "could not write model part \"%s\"", part->name);
				pfree(b);
				off += chunk;
				seq++;
			} while (off < part->len);
		}
	}

	/* the previous model of this name, if any */
	{
		Oid			t = TEXTOID;
		Datum		v = CStringGetTextDatum(row->name);

		if (SPI_execute_with_args("SELECT id FROM recpromo.model WHERE name = $1",
								  1, &t, &v, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read recpromo.model");
		if (SPI_processed == 1)
		{
			had_old = true;
			old_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
	}

	/* upsert the row */
	{
		Oid			types[17] = {TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
			TEXTOID, OIDOID, OIDOID, INT4OID, INT4OID, INT8OID, FLOAT8OID, FLOAT8OID, INT8OID, INT8OID};
		Datum		values[17];
		char		nulls[18] = "                 ";

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
		if (SPI_execute_with_args(
								  "INSERT INTO recpromo.model AS m (name, id, method, params, source, user_col, item_col, rating_col, "
								  "  user_type, item_type, n_users, n_items, nnz, train_seconds, final_loss, rows_read, rows_skipped, is_default) "
								  "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9::regtype, $10::regtype, $11, $12, $13, $14, $15, $16, $17, "
								  "  NOT EXISTS (SELECT 1 FROM recpromo.model WHERE is_default)) "
								  "ON CONFLICT (name) DO UPDATE SET id = EXCLUDED.id, method = EXCLUDED.method, "
								  "  params = EXCLUDED.params, source = EXCLUDED.source, user_col = EXCLUDED.user_col, "
								  "  item_col = EXCLUDED.item_col, rating_col = EXCLUDED.rating_col, "
								  "  user_type = EXCLUDED.user_type, item_type = EXCLUDED.item_type, "
								  "  n_users = EXCLUDED.n_users, n_items = EXCLUDED.n_items, nnz = EXCLUDED.nnz, "
								  "  train_seconds = EXCLUDED.train_seconds, final_loss = EXCLUDED.final_loss, "
								  "  rows_read = EXCLUDED.rows_read, rows_skipped = EXCLUDED.rows_skipped, "
								  "  metrics = '{}', trained_by = current_user, trained_at = now()",
								  17, types, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write recpromo.model");
	}

	if (had_old)
	{
		Oid			t = INT8OID;
		Datum		v = Int64GetDatum(old_id);

		if (SPI_execute_with_args("DELETE FROM recpromo.model_part WHERE model_id = $1",
								  1, &t, &v, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete the old model's parts");
	}

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
	static SPIPlanPtr by_name = NULL;
	static SPIPlanPtr by_default = NULL;
	const char *cols = "SELECT name, id, method, params::text, source, user_col, item_col, rating_col, "
		"user_type::oid, item_type::oid, n_users, n_items, nnz, train_seconds, final_loss "
		"FROM recpromo.model ";
	bool		found = false;

	SPI_connect();
	if (name != NULL)
	{
		Oid			t = TEXTOID;
		Datum		v = CStringGetTextDatum(name);

		if (by_name == NULL)
		{
			SPIPlanPtr	p = SPI_prepare(psprintf("%s WHERE name = $1", cols), 1, &t);

			if (p == NULL)
				elog(ERROR, "could not prepare the model lookup");
			SPI_keepplan(p);
			by_name = p;
		}
		if (SPI_execute_plan(by_name, &v, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read recpromo.model");
	}
	else
	{
		if (by_default == NULL)
		{
			SPIPlanPtr	p = SPI_prepare(psprintf("%s WHERE is_default", cols), 0, NULL);

			if (p == NULL)
				elog(ERROR, "could not prepare the model lookup");
			SPI_keepplan(p);
			by_default = p;
		}
		if (SPI_execute_plan(by_default, NULL, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read recpromo.model");
	}
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext spicxt = MemoryContextSwitchTo(outer);

		found = true;
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
		MemoryContextSwitchTo(spicxt);
	}
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
}

void
RecpromoModelLoadParts(int64 id, MemoryContext cxt, RecpromoParts *parts)
{
	Oid			t = INT8OID;
	Datum		v = Int64GetDatum(id);

	SPI_connect();
	if (SPI_execute_with_args("SELECT part, seq, data FROM recpromo.model_part WHERE model_id = $1 ORDER BY part, seq",
							  1, &t, &v, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read recpromo.model_part");
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

			/* chunks of one part are adjacent (ORDER BY part, seq) */
			while (e < SPI_processed)
			{
				char	   *n2 = GetText(SPI_tuptable->vals[e], td, 1);
				bool		same = strcmp(n2, name) == 0;

				pfree(n2);
				if (!same)
					break;
				total += toast_raw_datum_size(SPI_getbinval(SPI_tuptable->vals[e], td, 3, &isnull)) - VARHDRSZ;
				e++;
			}
			buf = MemoryContextAllocHuge(cxt, Max(total, 1));
			for (uint64 k = r; k < e; k++)
			{
				Datum		d = SPI_getbinval(SPI_tuptable->vals[k], td, 3, &isnull);
				bytea	   *b = DatumGetByteaPP(d);
				Size		l = VARSIZE_ANY_EXHDR(b);

				if (off + l > total)
					elog(ERROR, "model part \"%s\" changed size while loading", name);
				memcpy(buf + off, VARDATA_ANY(b), l);
				off += l;
				if ((Pointer) b != DatumGetPointer(d))
					pfree(b);
			}
			{
				MemoryContext spicxt = MemoryContextSwitchTo(cxt);

				RecpromoPartsAdd(parts, name, buf, off);
				MemoryContextSwitchTo(spicxt);
			}
			pfree(name);
			r = e;
		}
	}
	SPI_finish();
}
