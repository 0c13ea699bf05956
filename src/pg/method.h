/*
 * method.h
 *	  The interface every training method implements, and the loaded-model
 *	  structure serving works on.
 *
 * A method (popularity, user_knn, als, ...) lives in src/pg/method_<name>.c
 * and exports one RecpromoMethod, listed in methods.c.  The framework
 * (train.c, model_cache.c, serve.c) does everything around it:
 *	- train.c reads the source into a users x items CSR with key
 *	  dictionaries (source.c), calls method->train, and saves the common
 *	  parts (keys, the training interactions, item popularity) together
 *	  with the parts the method added (model_store.c);
 *	- model_cache.c loads a model once per backend, rebuilds the common
 *	  state and calls method->load; it reloads when the model's id changes;
 *	- serve.c resolves keys, reads a new user's history from the live
 *	  source for fold-in, calls method->score (or similar_items,
 *	  similar_users, explain), applies exclusions and filters and selects
 *	  the top n (rp_topk.c).
 * Callbacks run in a backend and may raise errors; long loops must
 * CHECK_FOR_INTERRUPTS.  A NULL optional callback means "not supported by
 * this method": serve.c says so with a clear error.
 */
#ifndef RECPROMO_METHOD_H
#define RECPROMO_METHOD_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "keys.h"
#include "model_store.h"
#include "rp_csr.h"
#include "source.h"

struct RecpromoMethod;
struct rp_batch_items;

/* A model image being written (model_image.c); methods add sections to it. */
typedef struct RecpromoImageSink RecpromoImageSink;

/* A model loaded for serving; owned by the cache, read-only once built. */
typedef struct RecpromoModel
{
	int64		id;				/* changes on every retraining */
	const struct RecpromoMethod *method;
	MemoryContext cxt;			/* everything below lives here */
	RecpromoModelRow row;
	Jsonb	   *params;			/* hyper-parameters as trained */
	RecpromoKeys users;
	RecpromoKeys items;
	rp_csr		seen;			/* users x items at training time */
	double	   *item_pop;		/* users who interacted with each item */
	void	   *state;			/* the method's own state */
	void	   *serving_cache;	/* derived data serve code builds lazily (in cxt) */

	/*
	 * Shared model cache (model_image.c): the mapped image the arrays above
	 * point into (NULL for a model loaded into backend memory), and the
	 * prepared item panels of a factor model taken from it (NULL: serve.c
	 * prepares its own).
	 */
	const void *image;
	const struct rp_batch_items *batch_items;

	/*
	 * The image was written by a backend of this server's lifetime, which
	 * walked its structure before publishing it: attach checks only what is
	 * O(1) (model_image.c, "Safety").  Image attach code that walks arrays
	 * to check offsets or indices skips the walk when this is set.
	 */
	bool		image_checked;

	/*
	 * The exact pruning index (rp_mips.c) of a factor model taken from the
	 * image, checked at attach (NULL: serve.c builds its own), and the
	 * probe's mean share of items scored, measured when the image was made.
	 */
	const void *mips;
	double		mips_share;
} RecpromoModel;

/*
 * A factor model's matrices, for batch scoring by matrix products:
 * score(u, i) = global + user_bias[u] + item_bias[i] + U[u,:] . V[i,:]
 * (bias pointers NULL when the model has none).  Row-major, float64.
 */
typedef struct RecpromoFactors
{
	int32		factors;
	const double *U;			/* n_users x factors */
	const double *V;			/* n_items x factors */
	const double *user_bias;
	const double *item_bias;
	double		global;
} RecpromoFactors;

/* What a method's train callback works with. */
typedef struct RecpromoTrainState
{
	const char *name;
	const struct RecpromoMethod *method;
	RecpromoSource src;
	RecpromoInteractions data;	/* R: users x items, duplicates summed */
	Jsonb	   *params_in;		/* hyper-parameters given by the caller */
	List	   *params_used;	/* names read so far (for the unknown-name check) */
	StringInfo	params_out;		/* JSON object body of the effective values */
	RecpromoParts parts;		/* the method adds its parts here */
	double		final_loss;		/* NaN when the method has none */
	int			threads;
} RecpromoTrainState;

typedef struct RecpromoMethod
{
	const char *name;
	const char *description;
	bool		nonneg;			/* interactions must be non-negative */
	bool		history_free;	/* scores do not depend on the user (popularity) */

	/*
	 * score() of an empty history (u < 0, nhist 0) is the model's baseline
	 * prediction for a user it knows nothing about (als_explicit: mu + c_i),
	 * so predict() returns it; without this flag predict() returns NULL for
	 * such a user.
	 */
	bool		has_baseline;

	/* Required: fits the model from ts->data, adds parts to ts->parts. */
	void		(*train) (RecpromoTrainState *ts);

	/*
	 * Required: builds m->state from the stored parts (in m->cxt).  It may
	 * pfree the buffer of a part it does not keep (each part is one
	 * allocation): nothing reads the parts after the load.
	 */
	void		(*load) (RecpromoModel *m, const RecpromoParts *parts);

	/*
	 * Required: scores[0..n_items) for one user.  u >= 0 is a user known to
	 * the model (hist is then its training row); u < 0 is a user folded in
	 * from hist (item indices ascending, summed values), possibly empty.
	 */
	void		(*score) (const RecpromoModel *m, int32 u, const int32 *hist,
						  const double *vals, int32 nhist, double *scores);

	/* Optional: sims[0..n_items) of every item to item i (i itself ignored). */
	void		(*similar_items) (const RecpromoModel *m, int32 i, double *sims);

	/* Optional: sims[0..n_users) of every user to user u / the history. */
	void		(*similar_users) (const RecpromoModel *m, int32 u, const int32 *hist,
								  const double *vals, int32 nhist, double *sims);

	/*
	 * Optional: contrib[0..nhist) = how much each history entry adds to the
	 * score of `item` for this user (their sum is the score, or the part of
	 * it that depends on the history; see the method's documentation).
	 */
	void		(*explain) (const RecpromoModel *m, int32 u, const int32 *hist,
							const double *vals, int32 nhist, int32 item, double *contrib);

	/*
	 * Optional: the model's factor matrices (see RecpromoFactors), so batch
	 * scoring (recommend_all, evaluate) can use blocked matrix products;
	 * returns false when the model has none.  Users known to the model are
	 * scored exactly as `score` would score them.
	 */
	bool		(*factors) (const RecpromoModel *m, RecpromoFactors *out);

	/*
	 * Optional, for methods with factors: the factor row (the `factors`
	 * values of RecpromoFactors) of a user folded in from hist, such that
	 * score(i) = global + item_bias[i] + out . V[i,:] is what `score` gives
	 * for that history; serving then screens the catalogue with the row
	 * instead of scoring every item in double.
	 */
	void		(*fold_in) (const RecpromoModel *m, const int32 *hist, const double *vals,
							int32 nhist, double *out);

	/*
	 * Optional, both or neither: the shared model cache (model_image.c).
	 * image_save adds the sections m->state needs (RecpromoImageAdd: the
	 * arrays as they are, derived arrays included, so that attaching costs
	 * no computation); image_attach rebuilds m->state (palloc'd in m->cxt)
	 * from them with RecpromoImageSection, checking whatever an index or a
	 * count depends on, and returns false when a section is missing or
	 * inconsistent (the model is then loaded from its tables).  A method
	 * without them is always loaded into each backend.
	 */
	void		(*image_save) (const RecpromoModel *m, RecpromoImageSink *sink);
	bool		(*image_attach) (RecpromoModel *m);
} RecpromoMethod;

/* methods.c */
extern const RecpromoMethod *RecpromoMethodFind(const char *name, bool missing_ok);
extern char *RecpromoMethodNames(void);

/*
 * Hyper-parameters (train.c).  Each reads the named value from the
 * caller's parameters, checks its range (an error names the parameter and
 * the range), records the effective value in the stored params, and marks
 * the name as known.  Names the method never asks for are rejected after
 * training.
 */
extern int	RecpromoParamInt(RecpromoTrainState *ts, const char *name, int def, int min, int max);
extern double RecpromoParamFloat(RecpromoTrainState *ts, const char *name, double def,
								 double min, double max);
extern bool RecpromoParamBool(RecpromoTrainState *ts, const char *name, bool def);
/* One of a NULL-terminated list of choices. */
extern const char *RecpromoParamChoice(RecpromoTrainState *ts, const char *name, const char *def,
									   const char *const *choices);

/*
 * The raw value of a hyper-parameter (NULL when not given), marking the
 * name as known; and recording an effective value (JSON text) in the stored
 * params.  For methods with parameters of their own shapes (strings, arrays).
 */
extern JsonbValue *RecpromoParamLookup(RecpromoTrainState *ts, const char *name);
extern void RecpromoParamRecord(RecpromoTrainState *ts, const char *name, const char *json);

/*
 * The required string hyper-parameter "time_col" of a session method
 * (session_knn, slist), recorded in the model's params; errors name the
 * method and give hint.  method_session_knn.c.
 */
extern char *RecpromoTimeColParam(RecpromoTrainState *ts, const char *method, const char *hint);

/*
 * Deforms one (session, item, time) row of a session method's read (keys
 * cast to int8 when int_users / int_items, else text; the time a float8):
 * true with *s, *i and *t set when nothing is NULL, the time is finite,
 * both keys are in data and data's interactions hold the pair (the rows
 * the model trains on: inside tune() the training slice, so that no
 * held-out event reaches a fit).  method_session_knn.c.
 */
extern bool RecpromoSessionEvent(HeapTuple tup, TupleDesc td, const RecpromoInteractions *data,
								 bool int_users, bool int_items, int32 *s, int32 *i, double *t);

/*
 * train.c: fitting (method->train plus the unknown-name check) and the whole
 * training path (read, fit, save; returns the new model id).
 */
extern void RecpromoTrainFit(RecpromoTrainState *ts);
extern int64 RecpromoTrainModel(char *name, Oid relid, char *user_col, char *item_col,
								char *rating_col, char *method_name, Jsonb *params);

/*
 * eval.c: the top k of each user sel[0..n_sel) of a loaded model, as
 * recommend() ranks them (exclude_seen: the user's training row, m->seen,
 * left out; ties to the lower item index): factor models by the batch
 * scorer, others through method->score.  top_idx / top_sc hold n_sel * k
 * entries, top_n[r] the length of user r's list.
 */
extern void RecpromoRankUsers(const RecpromoModel *m, const int32 *sel, int32 n_sel, int32 k,
							  bool exclude_seen, int32 *top_idx, double *top_sc, int32 *top_n);

/* Reading stored params of a loaded model (no checking, defaults apply). */
extern double RecpromoModelParamFloat(const RecpromoModel *m, const char *name, double def);

/* model_cache.c: the loaded model of that name (NULL: default), cached. */
extern RecpromoModel *RecpromoModelGet(const char *name);

/*
 * model_image.c, the shared model cache.  RecpromoImageAdd records a
 * section (data referenced until the image is written; name shorter than
 * 32 bytes).  RecpromoImageSection returns the section of m's image named
 * `name` when it holds exactly count elements of elem bytes, else NULL.
 */
extern void RecpromoImageAdd(RecpromoImageSink *sink, const char *name, const void *data,
							 Size len);
extern const void *RecpromoImageSection(const RecpromoModel *m, const char *name, Size elem,
										int64 count);

/*
 * A CSR matrix as sections <prefix>_indptr, _indices, _values (values
 * optional); and back, with the offsets and indices checked (rp_validate:
 * in range, and strictly increasing within a row with `sorted`) unless the
 * image's writer walked them (m->image_checked); false when a section is
 * missing, has the wrong size or fails the check.
 */
extern void RecpromoImageAddCsr(RecpromoImageSink *sink, const char *prefix, const rp_csr *a);
extern bool RecpromoImageCsr(const RecpromoModel *m, const char *prefix, int32 n_rows,
							 int32 n_cols, bool sorted, bool with_values, rp_csr *out);

/*
 * For model_cache.c: the model of this catalog row attached from its
 * image, or NULL when the cache is off, the method has no image support or
 * no valid image exists (an invalid one is removed); and, after a load into
 * backend memory, writing its image and returning the model attached from
 * it (m's context deleted) or m itself when no image could be written.
 */
extern RecpromoModel *RecpromoImageAttach(const RecpromoModelRow *row);

/*
 * serve.c: the exact pruning index of factors fx (n_users x n_items), built
 * into a palloc'd buffer of *size bytes, and the probe's mean share of
 * items scored (*share); NULL when it cannot be built.  One definition for
 * the per-backend serving cache and the shared image.
 */
extern void *RecpromoBuildMips(const RecpromoFactors *fx, int32 n_users,
							   int32 n_items, Size *size, double *share);

/*
 * recpromo.exact_pruning = auto prunes a model whose probe scored at most
 * this share of the items (serve.c); the others screen every item.
 */
#define RECPROMO_PRUNING_MAX_SHARE 0.05
extern RecpromoModel *RecpromoImagePublish(RecpromoModel *m);
extern void RecpromoImageInit(void);
/* Removes every image of one model id (all versions): erasure, drop_model. */
extern void RecpromoImageRemoveModel(Oid install_oid, int64 id);

/* model_cache.c: an empty model of this row in cxt (cxt current); the row's method. */
extern RecpromoModel *RecpromoModelShell(const RecpromoModelRow *row,
										 const RecpromoMethod *method, MemoryContext cxt);
extern const RecpromoMethod *RecpromoModelMethod(const RecpromoModelRow *row);

/* The live source of a model, or NULL when it no longer exists. */
extern RecpromoSource *RecpromoModelSource(RecpromoModel *m);

#endif							/* RECPROMO_METHOD_H */
