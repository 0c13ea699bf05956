/*
 * model_acl.c
 *	  Owners and grants of models, and the only doors to the model tables.
 *
 * A model belongs to the role that trained it (recpromo.model.owner) and
 * lists the roles allowed to serve it (recpromo.model.readers, a regrole[]
 * in which 0 stands for PUBLIC, as in an aclitem's grantee).  The rules:
 *	- serving (every read of a model: recommend*, similar_*, predict,
 *	  explain, evaluate, recommend_all, hybrids' components, promotion
 *	  scoring) needs the privileges of the owner or of a reader, or a grant
 *	  to PUBLIC (superusers have every role's privileges);
 *	- retraining, dropping, granting, revoking and making a model the
 *	  default need the privileges of its owner; making a model the default
 *	  also needs those of the current default's owner, so that one role
 *	  cannot choose what every other role serves by default.
 * "Privileges of" is has_privs_of_role, as for tables: membership with
 * INHERIT, or superuser.
 *
 * The tables themselves grant nothing to anyone but the extension owner.
 * Every reader and writer is C code that checks the caller's rights with
 * the caller's user id, then switches to the extension owner only around
 * its own fixed, fully qualified SPI queries on the model tables
 * (RecpromoOwnerEnter/Leave, the pattern of REFRESH MATERIALIZED VIEW),
 * with search_path forced to pg_catalog, pg_temp.  A training reads its
 * source as the caller, outside any switch, so table privileges and
 * row-level security apply to what a model learns.
 *
 * This file also holds the SQL entry points that manage models:
 * grant_model, revoke_model, drop_model, set_default_model, and the
 * model store of the promotion functions, recpromo__promo_store,
 * recpromo__promo_params and recpromo__model_set_metrics (SQL functions up
 * to 0.2.0; since issue 18 called directly from C, promo_*.c, with no SQL
 * function), plus _seal_parts, which the 0.1.0 -> 0.2.0 update runs once to
 * checksum the parts stored by 0.1.0.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "portability/instr_time.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "citus.h"
#include "method.h"
#include "model_store.h"

/* ---------- switching to the extension owner ---------- */

Oid
RecpromoExtensionOwner(void)
{
	static LocalTransactionId cached_lxid = InvalidLocalTransactionId;
	static Oid	cached_owner = InvalidOid;
	Oid			extoid;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			owner = InvalidOid;

	/* the owner can only change through catalog updates: once per xact */
	if (cached_lxid == MyProc->lxid && OidIsValid(cached_owner))
		return cached_owner;

	extoid = get_extension_oid("recpromo", true);
	if (!OidIsValid(extoid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"recpromo\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION recpromo.")));
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"recpromo\" is not installed in this database")));

	/*
	 * The library was updated but not the SQL objects: the 0.1.0 model
	 * tables lack the columns this code reads and writes.
	 */
	{
		Oid			model = RecpromoInstallOid();

		if (!OidIsValid(model) || get_attnum(model, "owner") == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the recpromo extension in this database is older than its library"),
					 errhint("Run ALTER EXTENSION recpromo UPDATE.")));
	}
	cached_owner = owner;
	cached_lxid = MyProc->lxid;
	return owner;
}

void
RecpromoOwnerEnter(RecpromoOwnerScope *scope)
{
	Oid			owner = RecpromoExtensionOwner();

	GetUserIdAndSecContext(&scope->save_userid, &scope->save_sec_context);
	scope->caller = scope->save_userid;
	SetUserIdAndSecContext(owner, scope->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	scope->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/* model tables that are Citus reference tables are read locally (citus.c) */
	RecpromoCitusAllowModelReads();
}

void
RecpromoOwnerLeave(RecpromoOwnerScope *scope)
{
	AtEOXact_GUC(true, scope->save_nestlevel);
	SetUserIdAndSecContext(scope->save_userid, scope->save_sec_context);
}

/* ---------- the rules ---------- */

bool
RecpromoRoleMayServe(Oid role, Oid owner, const Oid *readers, int n_readers)
{
	if (has_privs_of_role(role, owner))
		return true;
	for (int i = 0; i < n_readers; i++)
		if (readers[i] == InvalidOid || has_privs_of_role(role, readers[i]))
			return true;
	return false;
}

static char *
RoleName(Oid role)
{
	char	   *n = GetUserNameFromId(role, true);

	return n ? n : psprintf("%u", role);
}

void
RecpromoCheckOwnerOf(const char *name, Oid owner, Oid role)
{
	if (!has_privs_of_role(role, owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for model \"%s\"", name),
				 errdetail("Model \"%s\" belongs to role \"%s\": only that role, its members and superusers can retrain, drop, grant, revoke or make it the default.",
						   name, RoleName(owner)),
				 errhint("Train a model under another name, or ask its owner to run recpromo.grant_model() if you need to serve it.")));
}

void
RecpromoDenyServe(const char *name, Oid owner)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for model \"%s\"", name),
			 errdetail("Model \"%s\" belongs to role \"%s\" and was not granted to the current role.",
					   name, RoleName(owner)),
			 errhint("Its owner can allow it with SELECT recpromo.grant_model('%s', 'role_name').",
					 name)));
}

void
RecpromoSpiError(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg_internal("could not %s: %s", what, SPI_result_code_string(SPI_result))));
}

uint32
RecpromoChecksum(const void *data, Size len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return (uint32) crc;
}

/* ---------- row access under the owner switch ---------- */

typedef struct ModelAcl
{
	int64		id;
	Oid			owner;
	bool		is_default;
	int			n_readers;
	Oid		   *readers;
} ModelAcl;

static void
ReadersFromDatum(Datum d, bool isnull, ModelAcl *acl)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	acl->n_readers = 0;
	acl->readers = NULL;
	if (isnull)
		return;
	deconstruct_array(DatumGetArrayTypeP(d), REGROLEOID, sizeof(Oid), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	acl->readers = palloc(Max(n, 1) * sizeof(Oid));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			acl->readers[acl->n_readers++] = DatumGetObjectId(elems[i]);
}

/*
 * Serialises model writers (the lock every save takes) and reads the acl
 * of `name`.  Must run inside an owner scope with SPI connected.  The
 * result is allocated in `outer`.
 */
static bool
LockAndFetch(const char *name, ModelAcl *acl, MemoryContext outer)
{
	Oid			t = TEXTOID;
	Datum		v = CStringGetTextDatum(name);
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	td;
	MemoryContext old;

	if (SPI_execute("LOCK TABLE recpromo.model IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		RecpromoSpiError("lock recpromo.model");
	if (SPI_execute_with_args("SELECT m.id, m.owner, m.is_default, m.readers FROM recpromo.model m "
							  "WHERE m.name OPERATOR(pg_catalog.=) $1",
							  1, &t, &v, NULL, false, 1) != SPI_OK_SELECT)
		RecpromoSpiError("read recpromo.model");
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	td = SPI_tuptable->tupdesc;
	old = MemoryContextSwitchTo(outer);
	acl->id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
	acl->owner = DatumGetObjectId(SPI_getbinval(tup, td, 2, &isnull));
	acl->is_default = DatumGetBool(SPI_getbinval(tup, td, 3, &isnull));
	{
		Datum		d = SPI_getbinval(tup, td, 4, &isnull);

		ReadersFromDatum(d, isnull, acl);
	}
	MemoryContextSwitchTo(old);
	return true;
}

static void
NoSuchModel(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("model \"%s\" does not exist", name),
			 errhint("SELECT name FROM recpromo.models lists the trained models.")));
}

static char *
ModelNameArg(FunctionCallInfo fcinfo, int arg)
{
	char	   *name;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(arg));
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	return name;
}

/* ---------- similar_users: a grant beyond serving ---------- */

bool
RecpromoModelHasColumn(const char *col)
{
	Oid			model = RecpromoInstallOid();

	return OidIsValid(model) && get_attnum(model, col) != InvalidAttrNumber;
}

/*
 * similar_users() returns other customers' keys: who resembles whom is
 * personal data about both, which a role that serves recommendations to
 * one customer at a time does not need.  So it takes the owner's
 * privileges or a grant made with grant_model(..., similar_users => true)
 * (recpromo.model.similar_users_readers), on top of the serving grant.
 */
void
RecpromoCheckListUsers(const char *name)
{
	RecpromoModelRow row;

	if (!RecpromoModelLookup(name, &row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	if (!row.may_list_users)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to list similar users of model \"%s\"", name),
				 errdetail("similar_users returns other customers' keys, which needs the owner's privileges or a grant beyond serving."),
				 errhint("Its owner can allow it with SELECT recpromo.grant_model('%s', 'role_name', similar_users => true).",
						 name)));
}

/* ---------- grant_model / revoke_model ---------- */

/* The grantee: a role name, or PUBLIC (any case) as 0. */
static Oid
GranteeArg(FunctionCallInfo fcinfo, int arg)
{
	char	   *role;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role must not be null"),
				 errhint("Name a role, or public for every role.")));
	role = NameStr(*PG_GETARG_NAME(arg));
	if (pg_strcasecmp(role, "public") == 0)
		return InvalidOid;
	return get_role_oid(role, false);
}

/*
 * grant: adds the grantee to readers, and with similar_users also to
 * similar_users_readers.  revoke: removes it from both, or with
 * similar_users from similar_users_readers only.  The third argument
 * exists from 0.3.0 on.
 */
static void
ChangeReaders(FunctionCallInfo fcinfo, bool grant)
{
	char	   *name = ModelNameArg(fcinfo, 0);
	Oid			grantee = GranteeArg(fcinfo, 1);
	bool		list_users = PG_NARGS() > 2 && !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	const char *sql;
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	ModelAcl	acl;
	Oid			types[2] = {TEXTOID, REGROLEOID};
	Datum		values[2];

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	if (!LockAndFetch(name, &acl, outer))
		NoSuchModel(name);
	RecpromoCheckOwnerOf(name, acl.owner, scope.caller);
	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(grantee);
	if (grant)
		sql = "UPDATE recpromo.model m SET readers = pg_catalog.array_append(m.readers, $2) "
			"WHERE m.name OPERATOR(pg_catalog.=) $1 "
			"AND NOT ($2 OPERATOR(pg_catalog.=) ANY (m.readers))";
	else if (!list_users)
		sql = "UPDATE recpromo.model m SET readers = pg_catalog.array_remove(m.readers, $2) "
			"WHERE m.name OPERATOR(pg_catalog.=) $1";
	else
		sql = NULL;
	if (sql != NULL &&
		SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		RecpromoSpiError("update recpromo.model");
	if (RecpromoModelHasColumn("similar_users_readers") && (list_users || !grant))
	{
		sql = grant ?
			"UPDATE recpromo.model m "
			"SET similar_users_readers = pg_catalog.array_append(m.similar_users_readers, $2) "
			"WHERE m.name OPERATOR(pg_catalog.=) $1 "
			"AND NOT ($2 OPERATOR(pg_catalog.=) ANY (m.similar_users_readers))" :
			"UPDATE recpromo.model m "
			"SET similar_users_readers = pg_catalog.array_remove(m.similar_users_readers, $2) "
			"WHERE m.name OPERATOR(pg_catalog.=) $1";
		if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
			RecpromoSpiError("update recpromo.model");
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
}

PG_FUNCTION_INFO_V1(recpromo_grant_model);
Datum
recpromo_grant_model(PG_FUNCTION_ARGS)
{
	ChangeReaders(fcinfo, true);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(recpromo_revoke_model);
Datum
recpromo_revoke_model(PG_FUNCTION_ARGS)
{
	ChangeReaders(fcinfo, false);
	PG_RETURN_VOID();
}

/* ---------- drop_model ---------- */

PG_FUNCTION_INFO_V1(recpromo_drop_model);
Datum
recpromo_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name = ModelNameArg(fcinfo, 0);
	bool		if_exists = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	ModelAcl	acl;
	bool		found;

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	found = LockAndFetch(name, &acl, outer);
	if (found)
	{
		Oid			t = INT8OID;
		Datum		v = Int64GetDatum(acl.id);

		RecpromoCheckOwnerOf(name, acl.owner, scope.caller);
		if (SPI_execute_with_args("DELETE FROM recpromo.model m WHERE m.id OPERATOR(pg_catalog.=) $1",
								  1, &t, &v, NULL, false, 0) != SPI_OK_DELETE ||
			SPI_execute_with_args("DELETE FROM recpromo.model_part p WHERE p.model_id OPERATOR(pg_catalog.=) $1",
								  1, &t, &v, NULL, false, 0) != SPI_OK_DELETE)
			RecpromoSpiError(psprintf("delete model \"%s\"", name));
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	/* what the model held leaves the shared cache with it */
	if (found)
		RecpromoImageRemoveModel(RecpromoInstallOid(), acl.id);
	if (!found && !if_exists)
		NoSuchModel(name);
	PG_RETURN_BOOL(found);
}

/* ---------- set_default_model ---------- */

PG_FUNCTION_INFO_V1(recpromo_set_default_model);
Datum
recpromo_set_default_model(PG_FUNCTION_ARGS)
{
	char	   *name = ModelNameArg(fcinfo, 0);
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	ModelAcl	acl;
	Oid			t = TEXTOID;
	Datum		v = CStringGetTextDatum(name);

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	if (!LockAndFetch(name, &acl, outer))
		NoSuchModel(name);
	RecpromoCheckOwnerOf(name, acl.owner, scope.caller);
	if (!acl.is_default)
	{
		/* the current default: its owner must agree to lose that place */
		if (SPI_execute("SELECT m.name, m.owner FROM recpromo.model m WHERE m.is_default",
						false, 1) != SPI_OK_SELECT)
			RecpromoSpiError("read recpromo.model");
		if (SPI_processed == 1)
		{
			bool		isnull;
			char	   *cur = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			Oid			cur_owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
																	SPI_tuptable->tupdesc, 2, &isnull));

			if (!has_privs_of_role(scope.caller, cur_owner))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied for model \"%s\"", cur),
						 errdetail("The default model \"%s\" belongs to role \"%s\": only that role, its members and superusers can replace it as the default.",
								   cur, RoleName(cur_owner)),
						 errhint("Pass model => '%s' to the serving functions instead.", name)));
		}
		if (SPI_execute("UPDATE recpromo.model m SET is_default = false WHERE m.is_default",
						false, 0) != SPI_OK_UPDATE ||
			SPI_execute_with_args("UPDATE recpromo.model m SET is_default = true "
								  "WHERE m.name OPERATOR(pg_catalog.=) $1",
								  1, &t, &v, NULL, false, 0) != SPI_OK_UPDATE)
			RecpromoSpiError("update recpromo.model");
	}
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ---------- promotion models ---------- */

/*
 * _promo_store(model_name text, model_method text, model_params jsonb,
 *				model_source regclass, rows bigint, seconds float8, loss float8)
 * Inserts or atomically replaces a promotion model's row (no parts) under
 * a fresh id, with the ownership rules of train().  Returns the id.
 */
PG_FUNCTION_INFO_V1(recpromo__promo_store);
Datum
recpromo__promo_store(PG_FUNCTION_ARGS)
{
	RecpromoModelRow row;
	RecpromoParts parts;

	memset(&row, 0, sizeof(row));
	row.name = ModelNameArg(fcinfo, 0);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model method must not be null")));
	row.method = text_to_cstring(PG_GETARG_TEXT_PP(1));
	row.params = PG_ARGISNULL(2) ? NULL :
		DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(2)));
	if (!PG_ARGISNULL(3))
	{
		Oid			relid = PG_GETARG_OID(3);
		char	   *rel = get_rel_name(relid);
		char	   *nsp = get_namespace_name(get_rel_namespace(relid));

		row.source = (rel && nsp) ? quote_qualified_identifier(nsp, rel) : NULL;
	}
	row.nnz = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4);
	row.rows_read = row.nnz;
	row.train_seconds = PG_ARGISNULL(5) ? 0 : PG_GETARG_FLOAT8(5);
	row.final_loss = PG_ARGISNULL(6) ? get_float8_nan() : PG_GETARG_FLOAT8(6);
	RecpromoPartsInit(&parts);
	PG_RETURN_INT64(RecpromoModelSave(&row, &parts));
}

/*
 * _promo_params(model text, want text) -> jsonb: the stored parameters of a
 * model the caller may serve, checking that its method is `want`.
 */
PG_FUNCTION_INFO_V1(recpromo__promo_params);
Datum
recpromo__promo_params(PG_FUNCTION_ARGS)
{
	char	   *name = ModelNameArg(fcinfo, 0);
	char	   *want = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	RecpromoModelRow row;

	if (!RecpromoModelLookup(name, &row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Train it first; stored models are listed in recpromo.models.")));
	if (!row.may_serve)
		RecpromoDenyServe(name, row.owner);
	if (want != NULL && strcmp(row.method, want) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a %s model, not %s", name, row.method, want)));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in,
										CStringGetDatum(row.params ? row.params : "{}")));
}

/*
 * _model_set_metrics(name text, metrics jsonb): records training metrics of
 * a model the caller owns (train_propensity does this after storing).
 */
PG_FUNCTION_INFO_V1(recpromo__model_set_metrics);
Datum
recpromo__model_set_metrics(PG_FUNCTION_ARGS)
{
	char	   *name = ModelNameArg(fcinfo, 0);
	MemoryContext outer = CurrentMemoryContext;
	RecpromoOwnerScope scope;
	ModelAcl	acl;
	Oid			types[2] = {INT8OID, JSONBOID};
	Datum		values[2];
	char		nulls[2] = {' ', PG_ARGISNULL(1) ? 'n' : ' '};

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	if (!LockAndFetch(name, &acl, outer))
		NoSuchModel(name);
	RecpromoCheckOwnerOf(name, acl.owner, scope.caller);
	values[0] = Int64GetDatum(acl.id);
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	if (SPI_execute_with_args("UPDATE recpromo.model m "
							  "SET metrics = COALESCE($2, '{}'::pg_catalog.jsonb) "
							  "WHERE m.id OPERATOR(pg_catalog.=) $1",
							  2, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		RecpromoSpiError("update recpromo.model");
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ---------- upgrade from 0.1.0 ---------- */

/*
 * _seal_parts() -> bigint: computes the checksum of every model_part row
 * that has none (the parts 0.1.0 stored).  Run by the update script as the
 * extension owner; not executable by PUBLIC.  Returns the rows sealed.
 */
PG_FUNCTION_INFO_V1(recpromo__seal_parts);
Datum
recpromo__seal_parts(PG_FUNCTION_ARGS)
{
	RecpromoOwnerScope scope;
	Portal		portal;
	SPIPlanPtr	upd;
	Oid			types[4] = {INT8OID, TEXTOID, INT4OID, INT4OID};
	int64		sealed = 0;

	SPI_connect();
	RecpromoOwnerEnter(&scope);
	if (!superuser_arg(scope.caller) && !has_privs_of_role(scope.caller, RecpromoExtensionOwner()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function _seal_parts")));
	upd = SPI_prepare("UPDATE recpromo.model_part p SET checksum = $4 "
					  "WHERE p.model_id OPERATOR(pg_catalog.=) $1 AND p.part OPERATOR(pg_catalog.=) $2 "
					  "AND p.seq OPERATOR(pg_catalog.=) $3", 4, types);
	if (upd == NULL)
		RecpromoSpiError("prepare the checksum update");
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT p.model_id, p.part, p.seq, p.data FROM recpromo.model_part p "
									   "WHERE p.checksum IS NULL",
									   0, NULL, NULL, NULL, false, 0);
	for (;;)
	{
		SPITupleTable *tt;
		uint64		n;

		SPI_cursor_fetch(portal, true, 16);
		n = SPI_processed;
		tt = SPI_tuptable;
		if (n == 0)
			break;
		for (uint64 r = 0; r < n; r++)
		{
			bool		isnull;
			Datum		values[4];
			Datum		d;
			bytea	   *b;

			values[0] = SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull);
			values[1] = SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &isnull);
			values[2] = SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &isnull);
			d = SPI_getbinval(tt->vals[r], tt->tupdesc, 4, &isnull);
			b = DatumGetByteaPP(d);
			values[3] = Int32GetDatum((int32) RecpromoChecksum(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)));
			if (SPI_execute_plan(upd, values, NULL, false, 0) != SPI_OK_UPDATE)
				RecpromoSpiError("update recpromo.model_part");
			if ((Pointer) b != DatumGetPointer(d))
				pfree(b);
			sealed++;
		}
		SPI_freetuptable(tt);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	RecpromoOwnerLeave(&scope);
	SPI_finish();
	PG_RETURN_INT64(sealed);
}
