/*
 * citus.c
 *	  What recpromo does differently when it runs inside Citus, the
 *	  distributed PostgreSQL.
 *
 * The supported layout (doc/scaling.md): the model tables
 * recpromo.model and recpromo.model_part are Citus reference tables
 * (recpromo.citus_enable(), src/sql/90_citus.sql), so every node holds the
 * same models and serves them from its local copy; models are trained on
 * the coordinator only, which draws the ids.  Three rules follow, and this
 * file owns them:
 *
 *  1. Reads of the model tables inside a query that Citus pushed down to a
 *     worker (SELECT ... CROSS JOIN LATERAL recommend(c.id, 10) over a
 *     distributed customers table) are "nested distributed execution",
 *     which Citus refuses unless citus.allow_nested_distributed_execution
 *     is on, because a nested query on a *distributed* table could read a
 *     shard that moves.  A reference table never moves and has a placement
 *     on every node, so recpromo turns the setting on for its own model
 *     reads only (RecpromoCitusAllowModelReads, called while the owner
 *     switch of model_acl.c is active): users need not turn it on, and the
 *     caller's own queries keep Citus's protection.
 *  2. Training on a worker is refused (RecpromoCitusCheckTrainingNode): the
 *     id sequence is per node and the reference tables are written through
 *     the coordinator.
 *  3. Fold-in of a customer unknown to the model reads the customer's rows
 *     from the training source, a distributed table: inside a pushed-down
 *     query that is a truly nested distributed query.  recpromo does not
 *     guess which shard is local; it serves that customer from popularity
 *     (what it serves a customer without history anyway) and says so in a
 *     NOTICE (RecpromoCitusHistoryOrNothing).  On the coordinator, and in
 *     single-customer calls routed by create_distributed_function, fold-in
 *     works as on one server.
 *
 * Nothing here runs when the citus library is not loaded: the test is the
 * existence of one of its settings, a hash lookup.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "citus.h"
#include "model_store.h"
#include "spi_guard.h"

#define CITUS_NESTED_GUC "citus.allow_nested_distributed_execution"
#define CITUS_NESTED_ERROR "cannot execute a distributed query from a query on a shard"

/* Is the citus library loaded in this backend? */
bool
RecpromoCitusLoaded(void)
{
	return GetConfigOption(CITUS_NESTED_GUC, true, false) != NULL;
}

/*
 * Rule 1.  Call after NewGUCNestLevel() in a scope that reads or writes
 * only the model tables; the scope's AtEOXact_GUC (or the abort) restores
 * the setting.
 */
void
RecpromoCitusAllowModelReads(void)
{
	if (!RecpromoCitusLoaded())
		return;
	(void) set_config_option(CITUS_NESTED_GUC, "on", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Rule 2.  Errors with feature_not_supported when this node is a Citus
 * worker and recpromo.model is a Citus table.  Called when a training
 * starts (train.c) and again when it stores (model_store.c).
 */
void
RecpromoCitusCheckTrainingNode(void)
{
	bool		isnull;
	bool		refuse;
	int			spi;

	if (!RecpromoCitusLoaded() || !OidIsValid(get_extension_oid("citus", true)))
		return;
	spi = RecpromoSpiConnect();
	if (SPI_execute("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p "
					"WHERE p.logicalrelid OPERATOR(pg_catalog.=) 'recpromo.model'::pg_catalog.regclass) "
					"AND NOT pg_catalog.citus_is_coordinator()", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		RecpromoSpiError("read the Citus node role");
	refuse = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	RecpromoSpiFinish(spi);
	if (refuse && !isnull)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("models are trained on the Citus coordinator, not on a worker"),
				 errdetail("recpromo.model is a Citus reference table; its ids come from the coordinator."),
				 errhint("Run the training on the coordinator; every worker then serves the model.")));
}

/*
 * Whether (and how) a source is a Citus table: its shell on this node holds
 * no rows, so the direct scan of source_scan.c must not read it, and the
 * training read of source.c may push its grouping down to the workers.
 */
char
RecpromoCitusPartMethod(Oid relid)
{
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	char		method = '\0';
	int			spi;

	if (!RecpromoCitusLoaded() || !OidIsValid(get_extension_oid("citus", true)))
		return '\0';
	spi = RecpromoSpiConnect();
	if (SPI_execute_with_args("SELECT p.partmethod FROM pg_catalog.pg_dist_partition p "
							  "WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		RecpromoSpiError("read Citus's table metadata");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			method = DatumGetChar(d);
	}
	RecpromoSpiFinish(spi);
	return method;
}

/*
 * Rule 3.  RecpromoReadUserHistory, except that inside a query pushed down
 * to a Citus worker, where the read would be a nested distributed query,
 * it returns 0 rows (popularity) with a NOTICE.  Any other error is
 * re-thrown.  Without citus it is a plain call.
 */
int32
RecpromoCitusHistoryOrNothing(const RecpromoSource *src, const RecpromoKeys *items,
							  Datum key, Oid type, int32 **ix, double **vx)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	int32		n = 0;

	if (!RecpromoCitusLoaded())
		return RecpromoReadUserHistory(src, items, key, type, ix, vx);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		n = RecpromoReadUserHistory(src, items, key, type, ix, vx);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->message == NULL || strncmp(edata->message, CITUS_NESTED_ERROR,
											  strlen(CITUS_NESTED_ERROR)) != 0)
			ReThrowError(edata);
		ereport(NOTICE,
				(errmsg("a customer unknown to the model is served from popularity inside a query on a Citus shard"),
				 errdetail("Reading the customer's rows from the distributed source would be a nested distributed query."),
				 errhint("Call recommend() for that customer on the coordinator, or retrain the model.")));
		*ix = NULL;
		*vx = NULL;
		n = 0;
	}
	PG_END_TRY();
	return n;
}
