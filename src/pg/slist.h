/*
 * slist.h
 *	  What forget.c shares with method_slist.c.
 */
#ifndef RECPROMO_SLIST_H
#define RECPROMO_SLIST_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "model_store.h"
#include "rp_csr.h"

/*
 * Erasure from an slist model: its stored sequences (n_users x n_items)
 * without the sessions and items whose map entry is -1 (umap, imap: old
 * index -> new, order-preserving; nu, ni: the new counts), and B refitted
 * on them with the stored hyper-parameters (after the memory check).
 * Results palloc'd in the current context.
 */
extern void RecpromoSlistForget(const char *model, Jsonb *params, const RecpromoParts *parts,
								int32 n_users, int32 n_items, const int32 *umap,
								const int32 *imap, int32 nu, int32 ni, rp_csr *seq_out,
								double **B_out);

#endif							/* RECPROMO_SLIST_H */
