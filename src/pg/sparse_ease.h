/*
 * sparse_ease.h
 *	  What forget.c shares with method_sparse_ease.c.
 */
#ifndef RECPROMO_SPARSE_EASE_H
#define RECPROMO_SPARSE_EASE_H

#include "rp_csr.h"

/* Bytes a fit of n items, nnz interactions, k neighbours, batch columns needs. */
extern double RecpromoSparseEaseBytes(int32 n, int64 nnz, int32 k, int32 batch, int threads);

/* B^T (a fit's output, row j = column j of B) to B, palloc'd. */
extern void RecpromoSparseEaseRows(const rp_csr *BT, rp_csr *B);

#endif							/* RECPROMO_SPARSE_EASE_H */
