/*
 * model_validate.h
 *	  Reading a stored model's parts with their structure checked: the glue
 *	  around the pure checks of src/core/rp_validate.c.
 *
 * Every load callback (model_cache.c for the common parts, the method
 * files for their own) takes its parts through these functions, never
 * through a bare RecpromoPartsGet, so no array is used before its length,
 * offsets, indices and values have been checked.  A failed check raises
 * ERRCODE_DATA_CORRUPTED (XX001):
 *	  model "m" is corrupt: part "seen_indices" has an index out of range
 * with the hint to train the model again.  The loading memory context is
 * then deleted by model_cache.c, so nothing half-built stays cached and the
 * next call checks, and fails, again.
 */
#ifndef RECPROMO_MODEL_VALIDATE_H
#define RECPROMO_MODEL_VALIDATE_H

#include "postgres.h"

#include "model_store.h"
#include "rp_csr.h"
#include "rp_validate.h"

/*
 * Raises the data-corruption error.  part NULL: the reason is about the
 * model's catalog row or its hyper-parameters and reads on its own.
 */
extern void RecpromoModelCorrupt(const char *model, const char *part, const char *reason) pg_attribute_noreturn();

/*
 * Runs the rp_validate_* call `check`, which sets `reason` on failure, and
 * raises the error when it fails.  A macro, not a function: `reason` must
 * be read after the call, and argument evaluation order is unspecified.
 */
#define RecpromoModelCheck(check, model, part, reason) \
	do { \
		if (!(check)) \
			RecpromoModelCorrupt((model), (part), (reason)); \
	} while (0)

/*
 * The data of part `part` as an array of `elem`-byte elements.  expected >= 0:
 * it must hold exactly that many (a part of 0 elements may be absent: NULL);
 * expected < 0: any whole number of elements.  *count (may be NULL) gets the
 * number held.  A missing part or a wrong length is a corruption error.
 */
extern void *RecpromoModelPart(const RecpromoParts *parts, const char *model, const char *part,
							   Size elem, int64 expected, int64 *count);

/* Same for an array of doubles that must all be finite. */
extern double *RecpromoModelPartFinite(const RecpromoParts *parts, const char *model,
									   const char *part, int64 expected);

/* Same for factor values: all within +-RP_VALIDATE_MAX_FACTOR. */
extern double *RecpromoModelPartFactors(const RecpromoParts *parts, const char *model,
										const char *part, int64 expected);

/*
 * The CSR stored as <prefix>_indptr (n_rows + 1 int64), <prefix>_indices
 * (int32) and <prefix>_values (finite doubles): offsets, lengths, indices in
 * [0, n_cols) and, with `sorted`, strictly increasing within each row.
 */
extern void RecpromoModelCsr(const RecpromoParts *parts, const char *model, const char *prefix,
							 int32 n_rows, int32 n_cols, bool sorted, rp_csr *out);

/*
 * A hyper-parameter of the stored params (def when absent) that must lie in
 * [min, max]; a value outside is a corruption of the catalog row.
 */
struct RecpromoModel;
extern double RecpromoModelParamChecked(const struct RecpromoModel *m, const char *name,
										double def, double min, double max);

#endif							/* RECPROMO_MODEL_VALIDATE_H */
