/*
 * model_store.h
 *	  Saving trained models to, and reading them from, recpromo.model and
 *	  recpromo.model_part (see src/sql/20_models.sql).
 */
#ifndef RECPROMO_MODEL_STORE_H
#define RECPROMO_MODEL_STORE_H

#include "postgres.h"

/* A named binary part of a model (factors, keys, histories...). */
typedef struct RecpromoPart
{
	char	   *name;
	void	   *data;			/* MAXALIGNed */
	Size		len;
} RecpromoPart;

typedef struct RecpromoParts
{
	int			n;
	int			cap;
	RecpromoPart *parts;
} RecpromoParts;

extern void RecpromoPartsInit(RecpromoParts *parts);
/* Adds a part; the data is referenced, not copied. */
extern void RecpromoPartsAdd(RecpromoParts *parts, const char *name, void *data, Size len);
/*
 * Finds a part by name; with expected_len > 0 the length must match.
 * Raises an error for a missing part unless missing_ok.
 */
extern void *RecpromoPartsGet(const RecpromoParts *parts, const char *name,
							  Size expected_len, bool missing_ok, Size *len);

/* The catalog row of a model. */
typedef struct RecpromoModelRow
{
	char	   *name;
	int64		id;
	char	   *method;
	char	   *params;			/* jsonb as text */
	char	   *source;			/* qualified relation name, or NULL */
	char	   *user_col;
	char	   *item_col;
	char	   *rating_col;
	Oid			user_type;
	Oid			item_type;
	int32		n_users;
	int32		n_items;
	int64		nnz;
	int64		rows_read;		/* source rows used */
	int64		rows_skipped;	/* source rows with a NULL key or rating */
	double		train_seconds;
	double		final_loss;		/* NaN when the method has no loss */
} RecpromoModelRow;

/*
 * Writes the parts under a fresh id and points the row named row->name at
 * it, replacing (and deleting the parts of) any model of that name, in the
 * current transaction.  The first model saved becomes the default.  Returns
 * the new id.  SPI must not be connected.
 */
extern int64 RecpromoModelSave(RecpromoModelRow *row, const RecpromoParts *parts);

/*
 * Looks a model up by name (NULL: the default model) in the statement's
 * snapshot.  Returns false when there is none.  Strings are palloc'd in
 * CurrentMemoryContext.  SPI must not be connected.
 */
extern bool RecpromoModelLookup(const char *name, RecpromoModelRow *row);

/* Same, raising a clear error when the model does not exist. */
extern void RecpromoModelLookupOrError(const char *name, RecpromoModelRow *row);

/* Reads every part of model `id` into `cxt`. SPI must not be connected. */
extern void RecpromoModelLoadParts(int64 id, MemoryContext cxt, RecpromoParts *parts);

#endif							/* RECPROMO_MODEL_STORE_H */
