/*
 * rp_core.c
 *	  Status texts of the compute core (see rp_core.h).
 */
#include "rp_core.h"

const char *
rp_status_text(rp_status st)
{
	switch (st)
	{
		case RP_OK:
			return "success";
		case RP_EINVAL:
			return "invalid argument";
		case RP_ENOMEM:
			return "out of memory";
		case RP_ENUMERIC:
			return "non-finite value or numeric breakdown";
		case RP_ECANCELED:
			return "canceled";
		case RP_ELIMIT:
			return "size limit exceeded";
	}
	return "unknown status";
}
