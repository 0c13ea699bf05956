/*
 * rp_validate.c
 *	  Structural checks of stored model parts (see rp_validate.h).
 *
 * Order of checks matters: a count read from the data (n in a dictionary
 * header, nnz at the end of an offsets array) is compared with the length
 * of the bytes that hold it before anything is read at a position derived
 * from it, and size arithmetic is done in uint64 after range checks so that
 * it cannot wrap.  Floats are tested with x - x == 0, true exactly for
 * finite x (NaN - NaN and Inf - Inf are NaN).  Each loop is linear in the
 * part's size; together they cost a fraction of reading the model.
 */
#include "rp_validate.h"

#include <math.h>
#include <string.h>

#define FAIL(msg) \
	do { \
		*reason = (msg); \
		return false; \
	} while (0)

bool
rp_validate_keys(const void *buf, size_t len, rp_keys_view *out, const char **reason)
{
	const char *b = buf;
	int32_t		kclass;
	int32_t		n;
	uint64_t	need;

	memset(out, 0, sizeof(*out));
	if (len < 8)
		FAIL("is too short for a key dictionary");
	memcpy(&kclass, b, sizeof(int32_t));
	memcpy(&n, b + 4, sizeof(int32_t));
	if (kclass != RP_KEYS_INT && kclass != RP_KEYS_TEXT)
		FAIL("has an unknown key class");
	if (n < 0)
		FAIL("has a negative key count");
	out->kclass = kclass;
	out->n = n;
	if (kclass == RP_KEYS_INT)
	{
		const int64_t *v = (const int64_t *) (b + 8);

		need = 8 + (uint64_t) n * 8;
		if ((uint64_t) len != need)
			FAIL("has a length that does not match its key count");
		for (int32_t i = 1; i < n; i++)
			if (!(v[i - 1] < v[i]))
				FAIL("has keys out of order or repeated");
		out->ints = v;
		return true;
	}
	else
	{
		const int64_t *off = (const int64_t *) (b + 8);
		const char *s;
		uint64_t	head = 8 + ((uint64_t) n + 1) * 8;

		if ((uint64_t) len < head)
			FAIL("has a length that does not match its key count");
		s = b + head;
		if (off[0] != 0)
			FAIL("has key offsets that do not start at 0");
		if (off[n] < 0 || (uint64_t) off[n] != (uint64_t) len - head)
			FAIL("has a length that does not match its key offsets");
		for (int32_t i = 0; i < n; i++)
		{
			int64_t		a = off[i];
			int64_t		e = off[i + 1];

			/* each string holds at least its terminator, inside the buffer */
			if (!(a < e) || e > off[n])
				FAIL("has key offsets out of order or out of range");
			if (s[e - 1] != '\0' || memchr(s + a, '\0', (size_t) (e - a - 1)) != NULL)
				FAIL("has a key that is not a terminated string");
			if (i > 0 && !(strcmp(s + off[i - 1], s + a) < 0))
				FAIL("has keys out of order or repeated");
		}
		out->text_off = off;
		out->text_buf = s;
		return true;
	}
}

bool
rp_validate_array_len(size_t len, size_t elem, int64_t *count, const char **reason)
{
	*count = 0;
	if (elem == 0 || len % elem != 0)
		FAIL("has a length that is not a whole number of elements");
	if ((uint64_t) (len / elem) > (uint64_t) INT64_MAX)
		FAIL("is too long");
	*count = (int64_t) (len / elem);
	return true;
}

bool
rp_validate_indptr(const int64_t *indptr, int32_t n_rows, int64_t nnz, const char **reason)
{
	if (n_rows < 0 || nnz < 0)
		FAIL("has a negative size");
	if (indptr[0] != 0)
		FAIL("has offsets that do not start at 0");
	for (int32_t r = 0; r < n_rows; r++)
		if (indptr[r + 1] < indptr[r])
			FAIL("has decreasing offsets");
	if (indptr[n_rows] != nnz)
		FAIL("has offsets that do not end at the entry count");
	return true;
}

/*
 * Two branch-free passes over the indices rather than a loop per row (rows
 * of a few entries made that one a branch and a loop exit per entry): the
 * range, and the descents.  A descent (ix[p-1] >= ix[p]) is allowed only
 * where a row starts; the first entries of the non-empty rows are distinct
 * positions, so the descents there are counted once each, and the index
 * list is in order within every row exactly when that count equals the
 * count of all descents.
 */
bool
rp_validate_indices(const rp_csr *a, bool sorted, const char **reason)
{
	const int32_t *ix = a->indices;
	int64_t		nnz = a->indptr[a->n_rows];
	uint32_t	n = (uint32_t) a->n_cols;
	uint32_t	bad = 0;

	for (int64_t p = 0; p < nnz; p++)
		bad |= (uint32_t) ix[p] >= n;
	if (a->n_cols < 0 || bad != 0)
		FAIL("has an index out of range");
	if (sorted)
	{
		int64_t		all = 0;
		int64_t		at_starts = 0;

		for (int64_t p = 1; p < nnz; p++)
			all += ix[p - 1] >= ix[p];
		for (int32_t r = 1; r < a->n_rows; r++)
		{
			int64_t		b = a->indptr[r];

			if (b > 0 && b < a->indptr[r + 1])
				at_starts += ix[b - 1] >= ix[b];
		}
		if (all != at_starts)
			FAIL("has indices out of order or repeated within a row");
	}
	return true;
}

bool
rp_validate_finite(const double *x, int64_t n, const char **reason)
{
	for (int64_t i = 0; i < n; i++)
		if (!(x[i] - x[i] == 0.0))
			FAIL("holds a NaN or infinite value");
	return true;
}

bool
rp_validate_finite_f32(const float *x, int64_t n, const char **reason)
{
	for (int64_t i = 0; i < n; i++)
		if (!(x[i] - x[i] == 0.0f))
			FAIL("holds a NaN or infinite value");
	return true;
}

bool
rp_validate_item_pop(const rp_csr *R, const double *pop, int64_t *work, const char **reason)
{
	for (int32_t i = 0; i < R->n_cols; i++)
		work[i] = 0;
	for (int64_t p = 0; p < R->nnz; p++)
		work[R->indices[p]]++;
	for (int32_t i = 0; i < R->n_cols; i++)
		if (pop[i] != (double) work[i])
			FAIL("does not match the interactions");
	return true;
}

bool
rp_validate_als_explicit_rows(const double *F, int32_t n, int32_t factors, bool user_rows,
							  const char **reason)
{
	int32_t		dim = factors + 2;
	int32_t		col = user_rows ? factors + 1 : factors;

	if (factors < 1)
		FAIL("has an invalid number of factors");
	for (int32_t r = 0; r < n; r++)
		if (F[(size_t) r * dim + col] != 1.0)
			FAIL("has a bias layout that is not the one of als_explicit");
	return true;
}

bool
rp_validate_ease(const float *B, int32_t n, const char **reason)
{
	if (n < 0)
		FAIL("has a negative size");
	if (!rp_validate_finite_f32(B, (int64_t) n * n, reason))
		return false;
	for (int32_t i = 0; i < n; i++)
		if (B[(size_t) i * n + i] != 0.0f)
			FAIL("has a non-zero diagonal");
	return true;
}

bool
rp_validate_range(const double *x, int64_t n, double lo, double hi, const char **reason)
{
	for (int64_t i = 0; i < n; i++)
		if (!(x[i] >= lo && x[i] <= hi))
			FAIL("holds a value out of range");
	return true;
}

bool
rp_validate_unit_rows(const rp_csr *a, const char **reason)
{
	for (int32_t r = 0; r < a->n_rows; r++)
	{
		double		s = 0.0;

		if (a->indptr[r] == a->indptr[r + 1])
			continue;
		for (int64_t p = a->indptr[r]; p < a->indptr[r + 1]; p++)
		{
			/* positive weights of at most 1 first: then the sum cannot overflow */
			if (!(a->values[p] > 0.0 && a->values[p] <= 1.0))
				FAIL("holds a value out of range");
			s += a->values[p] * a->values[p];
		}
		if (!(fabs(s - 1.0) <= 1e-6))
			FAIL("holds a vector that is not of unit length");
	}
	return true;
}
