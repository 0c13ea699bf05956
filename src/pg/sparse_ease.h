/*
 * sparse_ease.h
 *	  What forget.c shares with method_sparse_ease.c.
 */
#ifndef RECPROMO_SPARSE_EASE_H
#define RECPROMO_SPARSE_EASE_H

#include "rp_csr.h"

/*
 * Fits B (items x items rows, palloc'd in the current context) on R with
 * lambda and k neighbours, after the memory check against
 * recpromo.memory_limit; errors name `what`.  Training and forget_user.
 */
extern void RecpromoSparseEaseFit(const rp_csr *R, double lambda, int32 k, int threads,
								  rp_csr *B, const char *what);

#endif							/* RECPROMO_SPARSE_EASE_H */
