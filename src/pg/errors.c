/*
 * errors.c
 *	  The one place core statuses become PostgreSQL errors.
 *
 * The core returns rp_status codes and never raises; the glue validates
 * arguments before calling it, so RP_EINVAL here means an internal
 * inconsistency; it is still reported with a parameter SQLSTATE, never
 * XX000, because a model read from a table can carry values the glue did not
 * foresee.  Cancellation is turned back into the pending interrupt (query
 * cancel, statement_timeout, termination) by CHECK_FOR_INTERRUPTS(), so the
 * user sees PostgreSQL's own message; the hook (recpromo.c) only stops for
 * those, never for a harmless interrupt.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "recpromo.h"

void
RecpromoCheckStatus(rp_status st, const char *what)
{
	switch (st)
	{
		case RP_OK:
			return;
		case RP_ECANCELED:
			/* raises "canceling statement due to ..." or terminates */
			CHECK_FOR_INTERRUPTS();

			/*
			 * Still here: the cancel was serviced without an error (or is held
			 * off).  The work was cut short all the same, so it cannot return
			 * a result.
			 */
			if (RecpromoStopSeen())
				ereport(ERROR,
						(errcode(ERRCODE_QUERY_CANCELED),
						 errmsg("%s was canceled", what)));
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg_internal("%s stopped without a cancel request", what)));
			break;
		case RP_ENOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory during %s", what)));
			break;
		case RP_ENUMERIC:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("numeric failure during %s", what),
					 errdetail("A non-finite value appeared or a system could not be solved."),
					 errhint("Check the input for extreme values or raise the regularization.")));
			break;
		case RP_ELIMIT:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("size limit exceeded during %s", what)));
			break;
		case RP_EINVAL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid argument during %s", what),
					 errdetail("The compute core refused a size or parameter that the checks before it let through."),
					 errhint("Check the arguments and the model; retraining the model rebuilds its stored parts.")));
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg_internal("unexpected status %d during %s", (int) st, what)));
}

void
RecpromoCheckMemory(double bytes, const char *what)
{
	double		limit = (double) recpromo_memory_limit_kb * 1024.0;

	if (bytes > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s would need %.0f MB of memory, recpromo.memory_limit is %.0f MB",
						what, bytes / (1024.0 * 1024.0), limit / (1024.0 * 1024.0)),
				 errhint("Raise recpromo.memory_limit, or reduce the data or the number of factors.")));
}
