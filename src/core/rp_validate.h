/*
 * rp_validate.h
 *	  Structural checks of stored model parts, run once when a model is
 *	  loaded and before any of its arrays is used.
 *
 * A model's parts are bytes read back from a table: anyone who can write
 * that table, a disk fault or a bug in an older version can leave them
 * inconsistent, and serving code indexes with them without bounds checks
 * (that is what makes it fast).  So every part is checked here first:
 * lengths against the counts they imply, CSR offsets (start at 0,
 * non-decreasing, end at nnz), indices (in range, strictly increasing
 * within a row where code binary-searches or merges rows), key dictionaries
 * (offsets, terminators, strict sort order) and floats (finite).
 *
 * Every function is pure: it reads its arguments, never writes them, never
 * allocates and never trusts a count before checking it against a length,
 * so random bytes can be passed to any of them (test/unit/test_validate.c
 * does so under AddressSanitizer).  Each returns true when the data is
 * valid; otherwise false with *reason set to a static lowercase phrase that
 * completes "part \"x\" ..." in an error message ("has an index out of
 * range").  The glue (src/pg/model_cache.c and the method files) turns a
 * false into ERRCODE_DATA_CORRUPTED naming the model and the part.
 */
#ifndef RP_VALIDATE_H
#define RP_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_csr.h"

/*
 * The largest magnitude a stored factor value (ALS rows, imported vectors)
 * may have.  Serving multiplies factors in single precision (rp_batch.c)
 * and folds users in through a Gram matrix of squared values: below 1e15,
 * a product is below 1e30 and a dot product of up to 4096 of them far from
 * float's 3.4e38, so no score turns infinite or NaN.  Real embeddings are
 * many orders of magnitude smaller.
 */
#define RP_VALIDATE_MAX_FACTOR 1e15

/* Key dictionary classes, as stored (keys.h: RECPROMO_KEY_INT/TEXT). */
#define RP_KEYS_INT 1
#define RP_KEYS_TEXT 2

/*
 * A key dictionary parsed from its flat form (see keys.c): int32 class,
 * int32 n, then INT: n int64 values; TEXT: n + 1 int64 offsets into the
 * string bytes that follow, each string NUL-terminated.  Pointers point
 * into the parsed buffer.
 */
typedef struct rp_keys_view
{
	int32_t		kclass;
	int32_t		n;
	const int64_t *ints;		/* INT */
	const int64_t *text_off;	/* TEXT: n + 1 */
	const char *text_buf;		/* TEXT: text_off[n] bytes */
} rp_keys_view;

/*
 * Parses and checks a serialised dictionary of len bytes at buf (8-byte
 * aligned): a known class, n >= 0, the length matching n exactly; integer
 * keys strictly increasing; text offsets starting at 0, each string
 * non-empty in storage, NUL-terminated at its end and without an inner
 * NUL, strings strictly increasing in byte order (lookups binary-search).
 */
extern bool rp_validate_keys(const void *buf, size_t len, rp_keys_view *out,
							 const char **reason);

/*
 * The length of a part holding an array of elem-byte elements: true with
 * *count = len / elem when len is a multiple of elem.
 */
extern bool rp_validate_array_len(size_t len, size_t elem, int64_t *count,
								  const char **reason);

/*
 * CSR offsets of n_rows rows over nnz entries: indptr[0] = 0,
 * non-decreasing, indptr[n_rows] = nnz.  n_rows >= 0, nnz >= 0.
 */
extern bool rp_validate_indptr(const int64_t *indptr, int32_t n_rows, int64_t nnz,
							   const char **reason);

/*
 * Column indices of a CSR whose offsets passed rp_validate_indptr: every
 * index in [0, n_cols), and with `sorted`, strictly increasing within each
 * row (rp_csr.h's invariant: binary search and merges rely on it).
 */
extern bool rp_validate_indices(const rp_csr *a, bool sorted, const char **reason);

/* n doubles (floats), all finite. */
extern bool rp_validate_finite(const double *x, int64_t n, const char **reason);
extern bool rp_validate_finite_f32(const float *x, int64_t n, const char **reason);

/*
 * Item popularity as the framework stores it: pop[i] is the number of rows
 * of R with an entry in column i, exactly.  R must have passed
 * rp_validate_indptr and rp_validate_indices; work: n_cols int64 scratch.
 */
extern bool rp_validate_item_pop(const rp_csr *R, const double *pop, int64_t *work,
								 const char **reason);

/*
 * ALS factor rows (n x dim, row-major, finite already checked) of the
 * explicit layout (rp_als.h): user rows end in [b_u, 1], item rows in
 * [1, c_i], so the constant column must hold exactly 1.  `user_rows`
 * selects which of the two.
 */
extern bool rp_validate_als_explicit_rows(const double *F, int32_t n, int32_t factors,
										  bool user_rows, const char **reason);

/* A dense n x n EASE matrix (row-major): finite, with a zero diagonal. */
extern bool rp_validate_ease(const float *B, int32_t n, const char **reason);

/* n doubles, all in [lo, hi] (NaN fails). */
extern bool rp_validate_range(const double *x, int64_t n, double lo, double hi,
							  const char **reason);

/*
 * A CSR (offsets checked) whose non-empty rows are unit vectors of positive
 * weights (the content method's TF-IDF rows): every value in (0, 1], and
 * the sum of squares within 1e-6 of 1.
 */
extern bool rp_validate_unit_rows(const rp_csr *a, const char **reason);

#endif							/* RP_VALIDATE_H */
