/*
 * test_csr.c
 *	  CSR building sums duplicates and sorts rows; transpose round-trips.
 */
#include "unit.h"
#include "rp_csr.h"

#include <stdlib.h>
#include <string.h>

static void
test_from_coo_sums_duplicates(void)
{
	int32_t		rows[] = {1, 0, 1, 1, 0, 2};
	int32_t		cols[] = {2, 1, 0, 2, 1, 3};
	double		vals[] = {1, 2, 3, 4, 5, 6};
	int64_t		indptr[4];
	int32_t		idx[6];
	double		val[6];
	int64_t		work[4];
	rp_csr		m = {0, 0, 0, indptr, idx, val};

	CHECK(rp_csr_from_coo(3, 4, 6, rows, cols, vals, &m, work) == RP_OK);
	CHECK(m.nnz == 4);
	CHECK(indptr[0] == 0 && indptr[1] == 1 && indptr[2] == 3 && indptr[3] == 4);
	CHECK(idx[0] == 1 && val[0] == 7.0);
	CHECK(idx[1] == 0 && val[1] == 3.0);
	CHECK(idx[2] == 2 && val[2] == 5.0);
	CHECK(idx[3] == 3 && val[3] == 6.0);
	CHECK(rp_csr_get(&m, 1, 2) == 5.0);
	/* rp_csr_find: the entry's position, -1 for a pair not held (and an empty row) */
	CHECK(rp_csr_find(&m, 0, 1) == 0);
	CHECK(rp_csr_find(&m, 1, 0) == 1 && rp_csr_find(&m, 1, 2) == 2);
	CHECK(rp_csr_find(&m, 2, 3) == 3);
	CHECK(rp_csr_find(&m, 1, 1) == -1 && rp_csr_find(&m, 0, 3) == -1 && rp_csr_find(&m, 2, 0) == -1);
	CHECK(rp_csr_get(&m, 1, 1) == 0.0);
	CHECK(rp_csr_get(&m, 0, 3) == 0.0);
}

static void
test_bad_index(void)
{
	int32_t		rows[] = {3};
	int32_t		cols[] = {0};
	double		vals[] = {1};
	int64_t		indptr[4];
	int32_t		idx[1];
	double		val[1];
	int64_t		work[4];
	rp_csr		m = {0, 0, 0, indptr, idx, val};

	CHECK(rp_csr_from_coo(3, 4, 1, rows, cols, vals, &m, work) == RP_EINVAL);
}

static void
test_long_rows_and_transpose(void)
{
	enum
	{
	N = 5000, R = 7, C = 300};
	int32_t    *rows = malloc(N * sizeof(int32_t));
	int32_t    *cols = malloc(N * sizeof(int32_t));
	double	   *vals = malloc(N * sizeof(double));
	double		dense[R][C];
	int64_t		ip[R + 1], ipt[C + 1], ip2[R + 1];
	int32_t    *idx = malloc(N * sizeof(int32_t)), *idxt = malloc(N * sizeof(int32_t)), *idx2 = malloc(N * sizeof(int32_t));
	double	   *val = malloc(N * sizeof(double)), *valt = malloc(N * sizeof(double)), *val2 = malloc(N * sizeof(double));
	int64_t		work[R + 1];
	rp_csr		m = {0, 0, 0, ip, idx, val};
	rp_csr		t = {0, 0, 0, ipt, idxt, valt};
	rp_csr		b = {0, 0, 0, ip2, idx2, val2};
	unsigned	s = 12345;

	memset(dense, 0, sizeof(dense));
	for (int i = 0; i < N; i++)
	{
		s = s * 1103515245u + 12345u;
		rows[i] = (int32_t) ((s >> 8) % R);
		s = s * 1103515245u + 12345u;
		cols[i] = (int32_t) ((s >> 8) % C);
		vals[i] = (double) (i % 13) - 6.0;
		dense[rows[i]][cols[i]] += vals[i];
	}
	CHECK(rp_csr_from_coo(R, C, N, rows, cols, vals, &m, work) == RP_OK);
	for (int r = 0; r < R; r++)
	{
		for (int64_t i = ip[r] + 1; i < ip[r + 1]; i++)
			CHECK(idx[i - 1] < idx[i]);
		for (int c = 0; c < C; c++)
			CHECK(rp_csr_get(&m, r, c) == dense[r][c]);
	}
	CHECK(rp_csr_transpose(&m, &t) == RP_OK);
	CHECK(t.n_rows == C && t.n_cols == R && t.nnz == m.nnz);
	for (int c = 0; c < C; c++)
		for (int r = 0; r < R; r++)
			CHECK(rp_csr_get(&t, c, r) == dense[r][c]);
	CHECK(rp_csr_transpose(&t, &b) == RP_OK);
	CHECK(memcmp(ip, ip2, sizeof(ip)) == 0);
	CHECK(memcmp(idx, idx2, (size_t) m.nnz * sizeof(int32_t)) == 0);
	free(rows); free(cols); free(vals); free(idx); free(idxt); free(idx2);
	free(val); free(valt); free(val2);
}

/*
 * The two-pass build (bucket by column, then scatter by row) equals
 * rp_csr_from_coo on integer values (exact sums whatever the order), with
 * long rows and duplicates; duplicates are summed in input order; bad
 * indices are refused.
 */
static void
test_two_pass_equals_from_coo(void)
{
	enum
	{
		R = 37, C = 211, N = 6000
	};
	int32_t    *rows = malloc(N * sizeof(int32_t)), *cols = malloc(N * sizeof(int32_t));
	double	   *vals = malloc(N * sizeof(double));
	int32_t    *rb = malloc(N * sizeof(int32_t));
	double	   *vb = malloc(N * sizeof(double));
	int64_t		colptr[C + 1];
	int64_t		ip[R + 1], ip2[R + 1], work[R + 1];
	int32_t    *idx = malloc(N * sizeof(int32_t)), *idx2 = malloc(N * sizeof(int32_t));
	double	   *val = malloc(N * sizeof(double)), *val2 = malloc(N * sizeof(double));
	rp_csr		a = {0, 0, 0, ip, idx, val};
	rp_csr		b = {0, 0, 0, ip2, idx2, val2};
	unsigned	s = 777;

	for (int i = 0; i < N; i++)
	{
		s = s * 1103515245u + 12345u;
		rows[i] = (int32_t) ((s >> 8) % R);
		s = s * 1103515245u + 12345u;
		cols[i] = (int32_t) ((s >> 8) % C);
		vals[i] = (double) (i % 7) + 1.0;
	}
	CHECK(rp_csr_from_coo(R, C, N, rows, cols, vals, &a, work) == RP_OK);
	CHECK(rp_coo_bucket_by_col(R, C, N, rows, cols, vals, colptr, rb, vb) == RP_OK);
	CHECK(colptr[0] == 0 && colptr[C] == N);
	CHECK(rp_csr_from_col_buckets(R, C, colptr, rb, vb, &b, work) == RP_OK);
	CHECK(b.n_rows == R && b.n_cols == C && b.nnz == a.nnz);
	CHECK(memcmp(ip, ip2, sizeof(ip)) == 0);
	CHECK(memcmp(idx, idx2, (size_t) a.nnz * sizeof(int32_t)) == 0);
	CHECK(memcmp(val, val2, (size_t) a.nnz * sizeof(double)) == 0);

	/* duplicates summed in input order: (1e16 + 1) + 1 != 1e16 + (1 + 1) */
	{
		int32_t		r3[] = {0, 0, 0};
		int32_t		c3[] = {2, 2, 2};
		double		v3[] = {1e16, 1.0, 1.0};
		int64_t		cp[4], p3[2], w3[2];
		int32_t		rb3[3], i3[3];
		double		vb3[3], x3[3];
		rp_csr		m = {0, 0, 0, p3, i3, x3};

		CHECK(rp_coo_bucket_by_col(1, 3, 3, r3, c3, v3, cp, rb3, vb3) == RP_OK);
		CHECK(rp_csr_from_col_buckets(1, 3, cp, rb3, vb3, &m, w3) == RP_OK);
		CHECK(m.nnz == 1 && i3[0] == 2 && x3[0] == (1e16 + 1.0) + 1.0);
		r3[1] = 1;
		CHECK(rp_coo_bucket_by_col(1, 3, 3, r3, c3, v3, cp, rb3, vb3) == RP_EINVAL);
		r3[1] = 0;
		c3[2] = 3;
		CHECK(rp_coo_bucket_by_col(1, 3, 3, r3, c3, v3, cp, rb3, vb3) == RP_EINVAL);
	}
	free(rows); free(cols); free(vals); free(rb); free(vb);
	free(idx); free(idx2); free(val); free(val2);
}

/*
 * The threaded counting sorts (bucket by column, scatter by row with
 * duplicates, transpose) give the serial functions' bytes for 2, 3 and 4
 * threads, on inputs above their serial cut-off, with power-law keys,
 * empty rows and columns, and non-integer duplicates (summed in the same
 * order); out-of-range indices are refused.
 */
static void
test_threaded_sorts_identical(void)
{
	enum
	{
		R = 3001, C = 517, N = 200000
	};
	int32_t    *rows = malloc(N * sizeof(int32_t)), *cols = malloc(N * sizeof(int32_t));
	double	   *vals = malloc(N * sizeof(double));
	int32_t    *rb = malloc(N * sizeof(int32_t)), *rb2 = malloc(N * sizeof(int32_t));
	double	   *vb = malloc(N * sizeof(double)), *vb2 = malloc(N * sizeof(double));
	int64_t    *cp = malloc((C + 1) * sizeof(int64_t)), *cp2 = malloc((C + 1) * sizeof(int64_t));
	int64_t    *ip = malloc((R + 1) * sizeof(int64_t)), *ip2 = malloc((R + 1) * sizeof(int64_t));
	int32_t    *idx = malloc(N * sizeof(int32_t)), *idx2 = malloc(N * sizeof(int32_t));
	double	   *val = malloc(N * sizeof(double)), *val2 = malloc(N * sizeof(double));
	int64_t    *tp = malloc((C + 1) * sizeof(int64_t)), *tp2 = malloc((C + 1) * sizeof(int64_t));
	int32_t    *tidx = malloc(N * sizeof(int32_t)), *tidx2 = malloc(N * sizeof(int32_t));
	double	   *tval = malloc(N * sizeof(double)), *tval2 = malloc(N * sizeof(double));
	void	   *work = malloc(rp_csr_mt_workspace(R > C ? R : C, 4));
	rp_csr		a = {0, 0, 0, ip, idx, val};
	rp_csr		b = {0, 0, 0, ip2, idx2, val2};
	rp_csr		t = {0, 0, 0, tp, tidx, tval};
	rp_csr		t2 = {0, 0, 0, tp2, tidx2, tval2};
	unsigned	s = 4242;

	for (int i = 0; i < N; i++)
	{
		double		x;

		s = s * 1103515245u + 12345u;
		x = (double) ((s >> 8) % 100000) / 100000.0;
		/* power law over rows 0..R-2 (the last row stays empty), columns skip 7 */
		rows[i] = (int32_t) ((R - 1) * x * x * x);
		s = s * 1103515245u + 12345u;
		cols[i] = (int32_t) ((s >> 8) % C);
		if (cols[i] == 7)
			cols[i] = 8;
		vals[i] = 0.1 * (double) (i % 13) + 1e-3 * (double) i;
	}
	CHECK(rp_coo_bucket_by_col(R, C, N, rows, cols, vals, cp, rb, vb) == RP_OK);
	CHECK(rp_csr_from_col_buckets(R, C, cp, rb, vb, &a, work) == RP_OK);
	CHECK(a.nnz < N);			/* there are duplicates */
	CHECK(rp_csr_transpose(&a, &t) == RP_OK);
	for (int th = 2; th <= 4; th++)
	{
		CHECK(rp_coo_bucket_by_col_mt(R, C, N, rows, cols, vals, cp2, rb2, vb2, th, work) == RP_OK);
		CHECK(memcmp(cp, cp2, (C + 1) * sizeof(int64_t)) == 0);
		CHECK(memcmp(rb, rb2, N * sizeof(int32_t)) == 0);
		CHECK(memcmp(vb, vb2, N * sizeof(double)) == 0);
		CHECK(rp_csr_from_col_buckets_mt(R, C, cp2, rb2, vb2, &b, th, work) == RP_OK);
		CHECK(b.n_rows == R && b.n_cols == C && b.nnz == a.nnz);
		CHECK(memcmp(ip, ip2, (R + 1) * sizeof(int64_t)) == 0);
		CHECK(memcmp(idx, idx2, (size_t) a.nnz * sizeof(int32_t)) == 0);
		CHECK(memcmp(val, val2, (size_t) a.nnz * sizeof(double)) == 0);
		CHECK(rp_csr_transpose_mt(&b, &t2, th, work) == RP_OK);
		CHECK(t2.n_rows == C && t2.n_cols == R && t2.nnz == t.nnz);
		CHECK(memcmp(tp, tp2, (C + 1) * sizeof(int64_t)) == 0);
		CHECK(memcmp(tidx, tidx2, (size_t) t.nnz * sizeof(int32_t)) == 0);
		CHECK(memcmp(tval, tval2, (size_t) t.nnz * sizeof(double)) == 0);
	}
	rows[N - 5] = R;
	CHECK(rp_coo_bucket_by_col_mt(R, C, N, rows, cols, vals, cp2, rb2, vb2, 2, work) == RP_EINVAL);
	rows[N - 5] = 0;
	cols[3] = -1;
	CHECK(rp_coo_bucket_by_col_mt(R, C, N, rows, cols, vals, cp2, rb2, vb2, 3, work) == RP_EINVAL);
	free(rows); free(cols); free(vals); free(rb); free(rb2); free(vb); free(vb2);
	free(cp); free(cp2); free(ip); free(ip2); free(idx); free(idx2); free(val); free(val2);
	free(tp); free(tp2); free(tidx); free(tidx2); free(tval); free(tval2); free(work);
}

int
main(void)
{
	RUN(test_from_coo_sums_duplicates);
	RUN(test_bad_index);
	RUN(test_long_rows_and_transpose);
	RUN(test_two_pass_equals_from_coo);
	RUN(test_threaded_sorts_identical);
	UNIT_DONE();
}
