/*
 * rerank.h
 *	  Business re-ranking for recommend(): per-item boosts and per-category
 *	  rules read from the caller's tables (rerank.c).
 */
#ifndef RECPROMO_RERANK_H
#define RECPROMO_RERANK_H

#include "postgres.h"

#include "keys.h"

/*
 * Reads (item, weight) rows of `relid` into weight[0..items->n), NaN for
 * items without a row.  NULL weights are skipped; NaN or infinite weights,
 * and an item listed twice, raise errors.  Rows of items the model does not
 * know are ignored.  Reads through SPI with the caller's privileges.
 */
extern void RecpromoReadItemWeights(Oid relid, const char *item_col, const char *weight_col,
									const RecpromoKeys *items, double *weight);

/*
 * Reads (item, category) rows of `relid`: cat[i] is a dense category id
 * (0..*ncat-1) or -1 for an item without a row; *names gets the category
 * texts by id.  NULL categories are skipped, an item listed twice raises an
 * error.  Categories are compared as text.
 */
extern void RecpromoReadItemCategories(Oid relid, const char *item_col, const char *cat_col,
									   const RecpromoKeys *items, int32 *cat,
									   char ***names, int32 *ncat);

#endif							/* RECPROMO_RERANK_H */
