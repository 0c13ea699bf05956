/*
 * errors.c
 *	  The one place core statuses become PostgreSQL errors.
 *
 * The core returns rp_status codes and never raises; the glue validates
 * arguments before calling it, so RP_EINVAL here means an internal
 * inconsistency, reported as such.  Cancellation is turned back into the
 * pending interrupt (query cancel or statement_timeout) by
 * CHECK_FOR_INTERRUPTS(), so the user sees PostgreSQL's own message.
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
			CHECK_FOR_INTERRUPTS();
			/* the hook saw an interrupt that has since been serviced */
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("%s was canceled", what)));
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
			elog(ERROR, "invalid argument passed to the compute core during %s", what);
			break;
	}
	elog(ERROR, "unexpected status %d during %s", (int) st, what);
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
