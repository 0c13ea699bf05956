/*
 * forget.h
 *	  Erasure (forget.c): the GUC, and the two hooks training calls so that
 *	  a retrain does not bring back a key erased while it ran.
 */
#ifndef RECPROMO_FORGET_H
#define RECPROMO_FORGET_H

#include "postgres.h"

#include "model_store.h"

/* Defines recpromo.erasure_secret; called from _PG_init. */
extern void RecpromoForgetInit(void);

/*
 * The highest erasure log id visible now: a training calls it before it
 * reads its source.
 */
extern int64 RecpromoErasureWatermark(void);

/*
 * Before a training saves: takes the save lock, reads (latest snapshot)
 * the erasures logged above `watermark`, and erases every matching key
 * from the parts about to be saved, updating row's counts.
 */
extern void RecpromoErasureApplyLate(RecpromoModelRow *row, RecpromoParts *parts,
									 int64 watermark);

#endif							/* RECPROMO_FORGET_H */
