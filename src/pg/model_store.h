/*
 * model_store.h
 *	  Saving trained models to, and reading them from, recpromo.model and
 *	  recpromo.model_part (see src/sql/20_models.sql), and the ownership and
 *	  grant rules that guard them (model_acl.c).
 *
 * No ordinary role has any privilege on the model tables: every access
 * goes through this file's functions, which run their SPI queries as the
 * extension owner under a fixed search_path (RecpromoOwnerEnter/Leave) and
 * check the caller's rights against the model's owner and readers first.
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
	double		store_seconds;	/* time spent writing the model */
	Oid			owner;			/* role that trained it */
	bool		may_serve;		/* lookups: may the caller serve it? */
	bool		may_list_users; /* lookups: may the caller call
								 * similar_users (owner or
								 * similar_users_readers)? */
	uint8		version[16];	/* random token drawn at every save (uuid) */
	Oid			ext_oid;		/* lookups: the extension's oid, same snapshot */
} RecpromoModelRow;

/*
 * Writes the parts under a fresh id and points the row named row->name at
 * it, replacing (and deleting the parts of) any model of that name, in the
 * current transaction.  The first model saved becomes the default.  The
 * caller becomes the owner; replacing a model needs the privileges of its
 * owner (42501 otherwise), and keeps its grants only when the owner stays
 * the same.  Sets row->store_seconds and adds it to row->train_seconds
 * (which the caller sets to the time spent before the save).  Returns the
 * new id.  SPI may be connected or not.
 */
extern int64 RecpromoModelSave(RecpromoModelRow *row, const RecpromoParts *parts);

/*
 * Looks a model up by name (NULL: the default model) in the statement's
 * snapshot.  Returns false when there is none.  Strings are palloc'd in
 * CurrentMemoryContext.  row->may_serve says whether the current user may
 * serve it; no error is raised for that here.
 */
extern bool RecpromoModelLookup(const char *name, RecpromoModelRow *row);

/*
 * Same, raising a clear error when the model does not exist, and 42501
 * when the current user may not serve it (every serving path and every
 * use of a model as an input goes through here).
 */
extern void RecpromoModelLookupOrError(const char *name, RecpromoModelRow *row);

/*
 * Reads every part of model `id` into `cxt`, verifying each chunk's
 * CRC-32C, the chunk sequence and that each chunk carries `version`, the
 * token of the row just looked up (XX001 naming the model and the part on
 * a mismatch).  Access rights are the caller's business (LookupOrError).
 */
extern void RecpromoModelLoadParts(int64 id, const uint8 *version, MemoryContext cxt,
								   RecpromoParts *parts);

/* ---------- model_acl.c ---------- */

/* Saved state of a switch to the extension owner. */
typedef struct RecpromoOwnerScope
{
	Oid			caller;			/* GetUserId() before the switch */
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} RecpromoOwnerScope;

/*
 * Runs what follows as the extension owner (SECURITY_LOCAL_USERID_CHANGE |
 * SECURITY_RESTRICTED_OPERATION) with search_path = pg_catalog, pg_temp,
 * until RecpromoOwnerLeave.  Only fixed, fully qualified SPI queries on the
 * model tables may run in between.  On error, transaction (or
 * subtransaction) abort restores the user and the GUCs, as for REFRESH
 * MATERIALIZED VIEW; Leave is only for the success path.
 */
extern void RecpromoOwnerEnter(RecpromoOwnerScope *scope);
extern void RecpromoOwnerLeave(RecpromoOwnerScope *scope);

/* The role that owns the extension (and its tables). */
extern Oid	RecpromoExtensionOwner(void);

/* May `role` serve a model of this owner and these readers (0: PUBLIC)? */
extern bool RecpromoRoleMayServe(Oid role, Oid owner, const Oid *readers, int n_readers);

/* 42501 unless `role` has the privileges of the model's owner. */
extern void RecpromoCheckOwnerOf(const char *name, Oid owner, Oid role);

/* 42501 naming the model, with the hint to ask for a grant. */
extern void RecpromoDenyServe(const char *name, Oid owner) pg_attribute_noreturn();

/*
 * Raises 42501 unless the current role may list other customers through
 * similar_users() on model `name` (the owner's privileges, or a
 * grant_model(..., similar_users => true)); `name` must exist.
 */
extern void RecpromoCheckListUsers(const char *name);

/* Whether recpromo.model has the column (0.3.0 and later SQL objects). */
extern bool RecpromoModelHasColumn(const char *col);

/*
 * Raises "could not <what>" for an SPI call on the model tables that
 * returned an unexpected code: unreachable (SPI raises its own errors), so
 * internal_error with errmsg_internal.
 */
extern void RecpromoSpiError(const char *what) pg_attribute_noreturn();

/* CRC-32C of a chunk's data bytes: the model_part.checksum column. */
extern uint32 RecpromoChecksum(const void *data, Size len);

#endif							/* RECPROMO_MODEL_STORE_H */
