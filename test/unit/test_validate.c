/*
 * test_validate.c
 *	  Unit tests of rp_validate.c, the structural checks of stored model
 *	  parts, under AddressSanitizer and UBSan.
 *
 * Three kinds of test:
 *	- valid structures (as keys.c and the methods write them) are accepted,
 *	  and each known defect is rejected with a reason;
 *	- random buffers of random lengths: the validators must never read out
 *	  of bounds (every buffer is malloc'd at its exact size, so ASan sees a
 *	  one-byte overread) and their verdict must agree with a naive reference
 *	  checker written here independently, byte by byte;
 *	- random mutations (byte flips, fills, truncation, extension) of valid
 *	  structures, judged the same way.
 * Seeds are fixed: the test is deterministic.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "rp_validate.h"
#include "unit.h"

/* ---------- a small deterministic generator (splitmix64) ---------- */

static uint64_t rng_state = 12345;

static uint64_t
rnd(void)
{
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint32_t
rnd_below(uint32_t n)
{
	return n ? (uint32_t) (rnd() % n) : 0;
}

/* An exact-size copy (so that ASan catches any read past the end). */
static void *
exact_copy(const void *src, size_t len)
{
	void	   *p = malloc(len ? len : 1);

	if (len)
		memcpy(p, src, len);
	return p;
}

/* ---------- builders of valid structures ---------- */

/* Serialised integer dictionary of n sorted distinct keys (keys.c layout). */
static unsigned char *
make_int_keys(int32_t n, size_t *len)
{
	unsigned char *b;
	int32_t		cls = RP_KEYS_INT;
	int64_t		v = -1000;

	*len = 8 + (size_t) n * 8;
	b = malloc(*len);
	memcpy(b, &cls, 4);
	memcpy(b + 4, &n, 4);
	for (int32_t i = 0; i < n; i++)
	{
		v += 1 + rnd_below(50);
		memcpy(b + 8 + (size_t) i * 8, &v, 8);
	}
	return b;
}

/* Serialised text dictionary: keys "k000", "k001", ... plus a varying tail. */
static unsigned char *
make_text_keys(int32_t n, size_t *len)
{
	char		strs[64][24];
	int64_t		off = 0;
	size_t		head = 8 + ((size_t) n + 1) * 8;
	size_t		total = 0;
	unsigned char *b;
	int32_t		cls = RP_KEYS_TEXT;

	for (int32_t i = 0; i < n; i++)
	{
		snprintf(strs[i], sizeof(strs[i]), "k%03d%.*s", (int) (i % 1000), (int) rnd_below(4), "zzzz");
		total += strlen(strs[i]) + 1;
	}
	*len = head + total;
	b = malloc(*len);
	memcpy(b, &cls, 4);
	memcpy(b + 4, &n, 4);
	for (int32_t i = 0; i < n; i++)
	{
		size_t		l = strlen(strs[i]) + 1;

		memcpy(b + 8 + (size_t) i * 8, &off, 8);
		memcpy(b + head + off, strs[i], l);
		off += (int64_t) l;
	}
	memcpy(b + 8 + (size_t) n * 8, &off, 8);
	return b;
}

/* ---------- reference checkers (naive, byte by byte) ---------- */

static int64_t
get64(const unsigned char *b, size_t at)
{
	int64_t		v;

	memcpy(&v, b + at, 8);
	return v;
}

static bool
ref_keys(const unsigned char *b, size_t len)
{
	int32_t		cls;
	int32_t		n;

	if (len < 8)
		return false;
	memcpy(&cls, b, 4);
	memcpy(&n, b + 4, 4);
	if (n < 0)
		return false;
	if (cls == RP_KEYS_INT)
	{
		if ((len - 8) % 8 != 0 || (len - 8) / 8 != (size_t) n)
			return false;
		for (int32_t i = 1; i < n; i++)
			if (get64(b, 8 + (size_t) (i - 1) * 8) >= get64(b, 8 + (size_t) i * 8))
				return false;
		return true;
	}
	if (cls != RP_KEYS_TEXT)
		return false;
	{
		size_t		head;
		size_t		nbytes;
		size_t		pos = 0;

		if ((len - 8) / 8 < (size_t) n + 1)
			return false;
		head = 8 + ((size_t) n + 1) * 8;
		nbytes = len - head;
		/* walk the strings one terminator at a time; offsets must agree */
		for (int32_t i = 0; i < n; i++)
		{
			size_t		start = pos;

			if (get64(b, 8 + (size_t) i * 8) != (int64_t) start)
				return false;
			while (pos < nbytes && b[head + pos] != 0)
				pos++;
			if (pos >= nbytes)
				return false;	/* no terminator */
			pos++;
			if (i > 0)
			{
				/* previous string strictly smaller, byte order */
				size_t		ps = (size_t) get64(b, 8 + (size_t) (i - 1) * 8);
				size_t		k = 0;
				int			c = 0;

				for (;; k++)
				{
					unsigned char x = b[head + ps + k];
					unsigned char y = b[head + start + k];

					if (x != y)
					{
						c = x < y ? -1 : 1;
						break;
					}
					if (x == 0)
						break;
				}
				if (c >= 0)
					return false;
			}
		}
		return get64(b, 8 + (size_t) n * 8) == (int64_t) pos && pos == nbytes;
	}
}

static bool
ref_csr(const int64_t *indptr, int32_t n_rows, int64_t nnz, const int32_t *indices,
		int32_t n_cols, bool sorted)
{
	if (n_rows < 0 || nnz < 0 || indptr[0] != 0 || indptr[n_rows] != nnz)
		return false;
	for (int32_t r = 0; r < n_rows; r++)
		if (indptr[r] > indptr[r + 1])
			return false;
	for (int32_t r = 0; r < n_rows; r++)
		for (int64_t p = indptr[r]; p < indptr[r + 1]; p++)
		{
			if (indices[p] < 0 || indices[p] >= n_cols)
				return false;
			if (sorted && p > indptr[r] && indices[p] <= indices[p - 1])
				return false;
		}
	return true;
}

/* The validator's verdict on a CSR, as the glue calls it. */
static bool
val_csr(const int64_t *indptr, int32_t n_rows, int64_t nnz, const int32_t *indices,
		int32_t n_cols, bool sorted, const char **reason)
{
	rp_csr		a;

	if (!rp_validate_indptr(indptr, n_rows, nnz, reason))
		return false;
	a.n_rows = n_rows;
	a.n_cols = n_cols;
	a.nnz = nnz;
	a.indptr = (int64_t *) indptr;
	a.indices = (int32_t *) indices;
	a.values = NULL;
	return rp_validate_indices(&a, sorted, reason);
}

/* ---------- tests ---------- */

static void
test_keys_valid(void)
{
	for (int32_t n = 0; n < 20; n++)
	{
		size_t		len;
		unsigned char *b = make_int_keys(n, &len);
		unsigned char *c = exact_copy(b, len);
		rp_keys_view v;
		const char *reason = NULL;

		CHECK(rp_validate_keys(c, len, &v, &reason));
		CHECK(v.kclass == RP_KEYS_INT && v.n == n);
		CHECK(ref_keys(c, len));
		free(b);
		free(c);

		b = make_text_keys(n, &len);
		c = exact_copy(b, len);
		CHECK(rp_validate_keys(c, len, &v, &reason));
		CHECK(v.kclass == RP_KEYS_TEXT && v.n == n);
		if (n > 0)
			CHECK(strcmp(v.text_buf + v.text_off[0], "k000") >= 0);
		CHECK(ref_keys(c, len));
		free(b);
		free(c);
	}
}

static void
test_keys_defects(void)
{
	size_t		len;
	unsigned char *b = make_text_keys(3, &len);
	unsigned char *c;
	rp_keys_view v;
	const char *reason = NULL;
	int64_t		big = INT64_MAX;
	int32_t		neg = -1;

	/* too short, unknown class, negative count */
	CHECK(!rp_validate_keys(b, 7, &v, &reason) && reason != NULL);
	c = exact_copy(b, len);
	c[0] = 9;
	CHECK(!rp_validate_keys(c, len, &v, &reason));
	memcpy(c, b, len);
	memcpy(c + 4, &neg, 4);
	CHECK(!rp_validate_keys(c, len, &v, &reason));
	/* a huge last offset */
	memcpy(c, b, len);
	memcpy(c + 8 + 3 * 8, &big, 8);
	CHECK(!rp_validate_keys(c, len, &v, &reason));
	/* an inner NUL, a missing terminator */
	memcpy(c, b, len);
	c[8 + 4 * 8 + 1] = 0;
	CHECK(!rp_validate_keys(c, len, &v, &reason));
	memcpy(c, b, len);
	c[len - 1] = 'x';
	CHECK(!rp_validate_keys(c, len, &v, &reason));
	/* two keys in the wrong order */
	memcpy(c, b, len);
	c[8 + 4 * 8 + 1] = '9';
	CHECK(!rp_validate_keys(c, len, &v, &reason));
	free(c);
	free(b);

	/* repeated integer key */
	b = make_int_keys(4, &len);
	memcpy(b + 16, b + 8, 8);
	CHECK(!rp_validate_keys(b, len, &v, &reason));
	free(b);
}

/* Random bytes of random lengths, some with a plausible header. */
static void
test_keys_random_bytes(void)
{
	int			accepted = 0;

	rng_state = 1;
	for (int it = 0; it < 200000; it++)
	{
		size_t		len = rnd_below(96);
		unsigned char *b = malloc(len ? len : 1);
		rp_keys_view v;
		const char *reason = NULL;
		bool		ok;

		for (size_t i = 0; i < len; i++)
			b[i] = (unsigned char) (rnd_below(4) == 0 ? 0 : rnd());
		if (len >= 8 && rnd_below(2))
		{
			/* a valid class and a small count make deeper paths reachable */
			int32_t		cls = rnd_below(2) ? RP_KEYS_INT : RP_KEYS_TEXT;
			int32_t		n = (int32_t) rnd_below(6);

			memcpy(b, &cls, 4);
			memcpy(b + 4, &n, 4);
			if (cls == RP_KEYS_TEXT && len >= 16)
				memset(b + 8, 0, 8);	/* first offset 0 */
		}
		ok = rp_validate_keys(b, len, &v, &reason);
		CHECK(ok == ref_keys(b, len));
		CHECK(ok || reason != NULL);
		accepted += ok;
		free(b);
	}
	CHECK(accepted > 0);
}

/* Mutations of valid dictionaries: flips, fills, truncation, extension. */
static void
test_keys_mutations(void)
{
	int			rejected = 0;

	rng_state = 2;
	for (int it = 0; it < 50000; it++)
	{
		size_t		len;
		int32_t		n = (int32_t) rnd_below(8);
		unsigned char *b = rnd_below(2) ? make_int_keys(n, &len) : make_text_keys(n, &len);
		size_t		mlen = len;
		unsigned char *m;
		rp_keys_view v;
		const char *reason = NULL;
		bool		ok;

		switch (rnd_below(5))
		{
			case 0:				/* flip one byte */
				m = exact_copy(b, len);
				m[rnd_below((uint32_t) len)] ^= (unsigned char) (1 + rnd_below(255));
				break;
			case 1:				/* fill */
				m = exact_copy(b, len);
				memset(m, (int) (rnd_below(3) == 0 ? 0 : rnd_below(2) ? 0x7f : 0xff), len);
				break;
			case 2:				/* truncate */
				mlen = rnd_below((uint32_t) len);
				m = exact_copy(b, mlen);
				break;
			case 3:				/* extend */
				mlen = len + 1 + rnd_below(16);
				m = malloc(mlen);
				memcpy(m, b, len);
				for (size_t i = len; i < mlen; i++)
					m[i] = (unsigned char) rnd();
				break;
			default:			/* several flips */
				m = exact_copy(b, len);
				for (int k = 0; k < 4; k++)
					m[rnd_below((uint32_t) len)] = (unsigned char) rnd();
				break;
		}
		ok = rp_validate_keys(m, mlen, &v, &reason);
		CHECK(ok == ref_keys(m, mlen));
		CHECK(ok == rp_validate_keys(m, mlen, &v, &reason));	/* same verdict again */
		rejected += !ok;
		free(m);
		free(b);
	}
	CHECK(rejected > 0);
}

static void
test_csr_valid_and_defects(void)
{
	int64_t		indptr[4] = {0, 2, 2, 5};
	int32_t		indices[5] = {0, 3, 1, 2, 4};
	const char *reason = NULL;

	CHECK(val_csr(indptr, 3, 5, indices, 5, true, &reason));
	CHECK(!val_csr(indptr, 3, 4, indices, 5, true, &reason));	/* last != nnz */
	indices[1] = 5;
	CHECK(!val_csr(indptr, 3, 5, indices, 5, false, &reason));	/* out of range */
	indices[1] = -1;
	CHECK(!val_csr(indptr, 3, 5, indices, 5, false, &reason));
	indices[1] = 0;
	CHECK(val_csr(indptr, 3, 5, indices, 5, false, &reason));	/* repeated: unsorted ok */
	CHECK(!val_csr(indptr, 3, 5, indices, 5, true, &reason));	/* but not sorted */
	indices[1] = 3;
	indptr[1] = 3;
	indptr[2] = 2;
	CHECK(!val_csr(indptr, 3, 5, indices, 5, false, &reason));	/* decreasing */
	indptr[0] = 1;
	CHECK(!val_csr(indptr, 3, 5, indices, 5, false, &reason));	/* not from 0 */
	{
		int64_t		empty[1] = {0};

		CHECK(val_csr(empty, 0, 0, NULL, 0, true, &reason));
	}
}

/* Random and mutated CSRs, in exact-size buffers, against the reference. */
static void
test_csr_random(void)
{
	int			accepted = 0;
	int			rejected = 0;

	rng_state = 3;
	for (int it = 0; it < 100000; it++)
	{
		int32_t		n_rows = (int32_t) rnd_below(8);
		int32_t		n_cols = (int32_t) rnd_below(8);
		int64_t		nnz;
		int64_t    *indptr = malloc(((size_t) n_rows + 1) * sizeof(int64_t));
		int32_t    *indices;
		bool		sorted = rnd_below(2);
		const char *reason = NULL;
		bool		ok;

		/* a valid CSR first */
		indptr[0] = 0;
		for (int32_t r = 0; r < n_rows; r++)
			indptr[r + 1] = indptr[r] + (n_cols ? rnd_below((uint32_t) n_cols + 1) : 0);
		nnz = indptr[n_rows];
		indices = malloc((size_t) (nnz ? nnz : 1) * sizeof(int32_t));
		for (int32_t r = 0; r < n_rows; r++)
		{
			int32_t		c = 0;

			for (int64_t p = indptr[r]; p < indptr[r + 1]; p++)
				indices[p] = c++;	/* the first columns, ascending */
		}
		CHECK(val_csr(indptr, n_rows, nnz, indices, n_cols, sorted, &reason));
		/* then mutate it (or not) */
		switch (rnd_below(6))
		{
			case 0:
				indptr[rnd_below((uint32_t) n_rows + 1)] = (int64_t) rnd();
				break;
			case 1:
				indptr[rnd_below((uint32_t) n_rows + 1)] += (int64_t) rnd_below(5) - 2;
				break;
			case 2:
				if (nnz)
					indices[rnd_below((uint32_t) nnz)] = (int32_t) rnd();
				break;
			case 3:
				if (nnz)
					indices[rnd_below((uint32_t) nnz)] = (int32_t) rnd_below((uint32_t) n_cols + 2) - 1;
				break;
			case 4:
				memset(indptr, rnd_below(2) ? 0xff : 0x7f, ((size_t) n_rows + 1) * sizeof(int64_t));
				break;
			default:
				break;
		}
		ok = val_csr(indptr, n_rows, nnz, indices, n_cols, sorted, &reason);
		CHECK(ok == ref_csr(indptr, n_rows, nnz, indices, n_cols, sorted));
		CHECK(ok || reason != NULL);
		accepted += ok;
		rejected += !ok;
		free(indptr);
		free(indices);
	}
	CHECK(accepted > 0 && rejected > 0);
}

static void
test_array_len(void)
{
	int64_t		n;
	const char *reason = NULL;

	CHECK(rp_validate_array_len(24, 8, &n, &reason) && n == 3);
	CHECK(rp_validate_array_len(0, 4, &n, &reason) && n == 0);
	CHECK(!rp_validate_array_len(25, 8, &n, &reason));
	CHECK(!rp_validate_array_len(8, 0, &n, &reason));
}

static void
test_floats(void)
{
	double		x[5] = {0.0, -1.5, 1e308, 4.9e-324, -0.0};
	float		f[3] = {0.0f, 3.0e38f, -1.0f};
	const char *reason = NULL;

	CHECK(rp_validate_finite(x, 5, &reason));
	CHECK(rp_validate_finite_f32(f, 3, &reason));
	x[2] = NAN;
	CHECK(!rp_validate_finite(x, 5, &reason));
	x[2] = INFINITY;
	CHECK(!rp_validate_finite(x, 5, &reason));
	x[2] = -INFINITY;
	CHECK(!rp_validate_finite(x, 5, &reason));
	f[1] = NAN;
	CHECK(!rp_validate_finite_f32(f, 3, &reason));
	x[2] = 0.5;
	CHECK(rp_validate_range(x, 5, -1.5, 1.0, &reason));
	CHECK(!rp_validate_range(x, 5, -1.0, 1.0, &reason));
	x[0] = NAN;
	CHECK(!rp_validate_range(x, 5, -2.0, 2.0, &reason));

	/* random bit patterns: the verdict is isfinite() of every element */
	rng_state = 4;
	for (int it = 0; it < 20000; it++)
	{
		double		d[4];
		bool		all = true;

		for (int k = 0; k < 4; k++)
		{
			uint64_t	bits = rnd();

			if (rnd_below(2))
				bits |= 0x7FF0000000000000ULL;	/* exponent all ones: Inf or NaN */
			memcpy(&d[k], &bits, 8);
			all = all && isfinite(d[k]);
		}
		CHECK(rp_validate_finite(d, 4, &reason) == all);
	}
}

static void
test_item_pop(void)
{
	int64_t		indptr[4] = {0, 2, 3, 5};
	int32_t		indices[5] = {0, 2, 2, 0, 1};
	double		values[5] = {1, 1, 1, 1, 1};
	double		pop[3] = {2, 1, 2};
	int64_t		work[3];
	rp_csr		R = {3, 3, 5, indptr, indices, values};
	const char *reason = NULL;

	CHECK(rp_validate_item_pop(&R, pop, work, &reason));
	pop[1] = 2;
	CHECK(!rp_validate_item_pop(&R, pop, work, &reason));
	pop[1] = NAN;
	CHECK(!rp_validate_item_pop(&R, pop, work, &reason));
}

static void
test_als_ease_unit_rows(void)
{
	/* explicit layout, 2 factors: user rows [x x b 1], item rows [y y 1 c] */
	double		U[8] = {0.1, 0.2, 0.5, 1.0, -0.3, 0.0, -0.1, 1.0};
	double		V[8] = {0.1, 0.2, 1.0, 0.4, 0.3, 0.3, 1.0, -0.2};
	float		B[9] = {0, 1, 2, 3, 0, 4, 5, 6, 0};
	int64_t		indptr[3] = {0, 2, 2};
	int32_t		indices[2] = {0, 1};
	double		values[2] = {0.6, 0.8};
	rp_csr		C = {2, 2, 2, indptr, indices, values};
	const char *reason = NULL;

	CHECK(rp_validate_als_explicit_rows(U, 2, 2, true, &reason));
	CHECK(rp_validate_als_explicit_rows(V, 2, 2, false, &reason));
	CHECK(!rp_validate_als_explicit_rows(U, 2, 2, false, &reason));
	U[7] = 0.999;
	CHECK(!rp_validate_als_explicit_rows(U, 2, 2, true, &reason));

	CHECK(rp_validate_ease(B, 3, &reason));
	B[4] = 1e-3f;
	CHECK(!rp_validate_ease(B, 3, &reason));
	B[4] = 0;
	B[5] = INFINITY;
	CHECK(!rp_validate_ease(B, 3, &reason));

	CHECK(rp_validate_unit_rows(&C, &reason));
	values[1] = 0.9;
	CHECK(!rp_validate_unit_rows(&C, &reason));
	values[0] = -0.6;
	values[1] = 0.8;
	CHECK(!rp_validate_unit_rows(&C, &reason));
	values[0] = 1e300;
	CHECK(!rp_validate_unit_rows(&C, &reason));
}

int
main(void)
{
	RUN(test_keys_valid);
	RUN(test_keys_defects);
	RUN(test_keys_random_bytes);
	RUN(test_keys_mutations);
	RUN(test_csr_valid_and_defects);
	RUN(test_csr_random);
	RUN(test_array_len);
	RUN(test_floats);
	RUN(test_item_pop);
	RUN(test_als_ease_unit_rows);
	UNIT_DONE();
}
