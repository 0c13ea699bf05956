/*
 * compat.h
 *	  Every PostgreSQL version #if of recpromo lives here.
 *
 * recpromo targets PostgreSQL 15; the shims below keep the glue readable if
 * it is built against 13-14 or 16+.
 */
#ifndef RECPROMO_COMPAT_H
#define RECPROMO_COMPAT_H

#include "postgres.h"
#include "funcapi.h"

#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(p) EmitWarningsOnPlaceholders(p)
#endif

/* InitMaterializedSRF was SetSingleFuncCall in 15.0 */
#if PG_VERSION_NUM >= 150000 && PG_VERSION_NUM < 150001
#define InitMaterializedSRF(fcinfo, flags) SetSingleFuncCall(fcinfo, flags)
#endif

#endif							/* RECPROMO_COMPAT_H */
