/*
 * test_cosine.c
 *	  Dense and sparse dot/norm/cosine against naive long-double reference
 *	  code, the zero-vector rule, clamping, NaN/Inf, huge and tiny
 *	  magnitudes, and merging of scaled accumulators.
 */
#include "unit.h"
#include "rp_cosine.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static unsigned rng_state = 2463534242u;

/* xorshift32, uniform in [-1, 1) */
static double
urand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (double) rng_state / 2147483648.0 - 1.0;
}

/* naive references, long double sums */
static double
ref_dot(const double *a, const double *b, int n)
{
	long double s = 0;

	for (int i = 0; i < n; i++)
		s += (long double) a[i] * b[i];
	return (double) s;
}

static double
ref_cos(const double *a, const double *b, int n)
{
	long double d = 0,
				x = 0,
				y = 0;

	for (int i = 0; i < n; i++)
	{
		d += (long double) a[i] * b[i];
		x += (long double) a[i] * a[i];
		y += (long double) b[i] * b[i];
	}
	if (x == 0 || y == 0)
		return 0.0;
	return (double) (d / sqrtl(x * y));
}

static void
test_seed_example(void)
{
	double		a[] = {5, 4, 3, 2, 1};
	double		b[] = {4, 3, 2, 1, 5};
	float		af[] = {5, 4, 3, 2, 1};
	float		bf[] = {4, 3, 2, 1, 5};
	double		c,
				d,
				n;

	CHECK(rp_cosine_f8(a, b, 5, &c) == RP_OK);
	CHECK_NEAR(c, 45.0 / 55.0, 1e-15);
	CHECK(rp_dot_f8(a, b, 5, &d) == RP_OK);
	CHECK(d == 45.0);
	CHECK(rp_norm_f8(a, 5, &n) == RP_OK);
	CHECK_NEAR(n, sqrt(55.0), 1e-15);
	CHECK(rp_cosine_f4(af, bf, 5, &c) == RP_OK);
	CHECK_NEAR(c, 45.0 / 55.0, 1e-15);
	CHECK(rp_dot_f4(af, bf, 5, &d) == RP_OK);
	CHECK(d == 45.0);
	CHECK(rp_norm_f4(af, 5, &n) == RP_OK);
	CHECK_NEAR(n, sqrt(55.0), 1e-15);
}

static void
test_zero_and_empty(void)
{
	double		z[] = {0, 0, 0};
	double		a[] = {1, 2, 3};
	float		zf[] = {0, 0, 0};
	float		af[] = {1, 2, 3};
	double		c = -7,
				n = -7,
				d = -7;

	CHECK(rp_cosine_f8(z, a, 3, &c) == RP_OK && c == 0.0);
	CHECK(rp_cosine_f8(a, z, 3, &c) == RP_OK && c == 0.0);
	CHECK(rp_cosine_f8(z, z, 3, &c) == RP_OK && c == 0.0);
	CHECK(rp_cosine_f4(zf, af, 3, &c) == RP_OK && c == 0.0);
	CHECK(rp_norm_f8(z, 3, &n) == RP_OK && n == 0.0);
	c = -7;
	CHECK(rp_cosine_f8(NULL, NULL, 0, &c) == RP_OK && c == 0.0);
	CHECK(rp_dot_f8(NULL, NULL, 0, &d) == RP_OK && d == 0.0);
	CHECK(rp_norm_f8(NULL, 0, &n) == RP_OK && n == 0.0);
	CHECK(rp_cosine_f4(NULL, NULL, 0, &c) == RP_OK && c == 0.0);
	CHECK(rp_cosine_f8(a, a, -1, &c) == RP_EINVAL);
	CHECK(rp_cosine_f8(NULL, a, 3, &c) == RP_EINVAL);
}

static void
test_single_and_sign(void)
{
	double		a[] = {-3};
	double		b[] = {2};
	double		c;

	CHECK(rp_cosine_f8(a, b, 1, &c) == RP_OK && c == -1.0);
	CHECK(rp_cosine_f8(a, a, 1, &c) == RP_OK && c == 1.0);
}

/* sqrt(sa * sb), not sqrt(sa) * sqrt(sb): 4 / sqrt(25) is exactly 0.8 */
static void
test_one_rounding_in_denominator(void)
{
	double		a[] = {1, 2};
	double		b[] = {2, 1};
	float		af[] = {1, 2};
	float		bf[] = {2, 1};
	int64_t		ia[] = {3, 9};
	double		c;

	CHECK(rp_cosine_f8(a, b, 2, &c) == RP_OK && c == 0.8);
	CHECK(rp_cosine_f4(af, bf, 2, &c) == RP_OK && c == 0.8);
	CHECK(rp_sparse_cosine(ia, a, 2, ia, b, 2, &c) == RP_OK && c == 0.8);
}

static void
test_random_against_reference(void)
{
	enum
	{
	N = 1001};
	double	   *a = malloc(N * sizeof(double));
	double	   *b = malloc(N * sizeof(double));
	float	   *af = malloc(N * sizeof(float));
	float	   *bf = malloc(N * sizeof(float));

	for (int trial = 0; trial < 50; trial++)
	{
		int			n = 1 + trial * 20;
		double		c,
					d,
					nn;

		for (int i = 0; i < n; i++)
		{
			af[i] = (float) (urand() * 10);
			bf[i] = (float) (urand() * 10 + (trial % 3 == 0 ? af[i] : 0));
			a[i] = af[i];
			b[i] = bf[i];
		}
		CHECK(rp_cosine_f8(a, b, n, &c) == RP_OK);
		CHECK_NEAR(c, ref_cos(a, b, n), 1e-13);
		CHECK(c >= -1.0 && c <= 1.0);
		CHECK(rp_dot_f8(a, b, n, &d) == RP_OK);
		CHECK_NEAR(d, ref_dot(a, b, n), 1e-12);
		CHECK(rp_norm_f8(a, n, &nn) == RP_OK);
		CHECK_NEAR(nn, sqrt(ref_dot(a, a, n)), 1e-13);

		/* float input widened gives the same values */
		CHECK(rp_cosine_f4(af, bf, n, &c) == RP_OK);
		CHECK_NEAR(c, ref_cos(a, b, n), 1e-13);
		CHECK(rp_dot_f4(af, bf, n, &d) == RP_OK);
		CHECK_NEAR(d, ref_dot(a, b, n), 1e-12);
		CHECK(rp_norm_f4(af, n, &nn) == RP_OK);
		CHECK_NEAR(nn, sqrt(ref_dot(a, a, n)), 1e-13);

		/* self-similarity is 1 and never above */
		CHECK(rp_cosine_f8(a, a, n, &c) == RP_OK);
		CHECK(c <= 1.0);
		CHECK_NEAR(c, 1.0, 1e-15);
	}
	free(a);
	free(b);
	free(af);
	free(bf);
}

static void
test_non_finite(void)
{
	double		a[] = {1, 2, 3};
	double		nan_[] = {1, NAN, 3};
	double		inf_[] = {1, 2, INFINITY};
	double		ninf[] = {-INFINITY, 0, 0};
	double		zero[] = {0, 0, 0};
	float		af[] = {1, 2, 3};
	float		nanf_[] = {1, NAN, 3};
	float		inff[] = {INFINITY, 0, 0};
	double		x;

	CHECK(rp_cosine_f8(a, nan_, 3, &x) == RP_ENUMERIC);
	CHECK(rp_cosine_f8(inf_, a, 3, &x) == RP_ENUMERIC);
	CHECK(rp_cosine_f8(ninf, zero, 3, &x) == RP_ENUMERIC);
	CHECK(rp_dot_f8(a, nan_, 3, &x) == RP_ENUMERIC);
	CHECK(rp_dot_f8(ninf, zero, 3, &x) == RP_ENUMERIC);
	CHECK(rp_dot_f8(zero, inf_, 3, &x) == RP_ENUMERIC);
	CHECK(rp_norm_f8(nan_, 3, &x) == RP_ENUMERIC);
	CHECK(rp_norm_f8(ninf, 3, &x) == RP_ENUMERIC);
	CHECK(rp_cosine_f4(af, nanf_, 3, &x) == RP_ENUMERIC);
	CHECK(rp_cosine_f4(inff, af, 3, &x) == RP_ENUMERIC);
	CHECK(rp_dot_f4(af, inff, 3, &x) == RP_ENUMERIC);
	CHECK(rp_norm_f4(nanf_, 3, &x) == RP_ENUMERIC);
}

static void
test_huge_and_tiny(void)
{
	double		a[] = {1, 2};
	double		b[] = {3, 4};
	double		ha[2],
				hb[2],
				ta[2],
				tb[2],
				mix[2];
	double		c,
				d,
				n,
				expect = 11.0 / (sqrt(5.0) * 5.0);

	for (int i = 0; i < 2; i++)
	{
		ha[i] = a[i] * 1e200;
		hb[i] = b[i] * 1e300;
		ta[i] = a[i] * 1e-200;
		tb[i] = b[i] * 1e-310;	/* subnormal */
	}
	CHECK(rp_cosine_f8(ha, hb, 2, &c) == RP_OK);
	CHECK_NEAR(c, expect, 1e-15);
	CHECK(rp_cosine_f8(ta, tb, 2, &c) == RP_OK);
	CHECK_NEAR(c, expect, 1e-12);	/* subnormal inputs carry fewer digits */
	CHECK(rp_cosine_f8(ha, tb, 2, &c) == RP_OK);
	CHECK_NEAR(c, expect, 1e-12);
	CHECK(rp_norm_f8(ha, 2, &n) == RP_OK);
	CHECK_NEAR(n, sqrt(5.0) * 1e200, 1e-15);
	CHECK(rp_norm_f8(ta, 2, &n) == RP_OK);
	CHECK_NEAR(n / 1e-200, sqrt(5.0), 1e-15);
	/* dot of huge vectors overflows for real */
	CHECK(rp_dot_f8(ha, hb, 2, &d) == RP_ENUMERIC);
	/* but the norm of a vector near DBL_MAX is representable */
	mix[0] = DBL_MAX / 2;
	mix[1] = DBL_MAX / 2;
	CHECK(rp_norm_f8(mix, 2, &n) == RP_OK);
	CHECK_NEAR(n, DBL_MAX / sqrt(2.0), 1e-15);
	CHECK(rp_cosine_f8(mix, mix, 2, &c) == RP_OK);
	CHECK_NEAR(c, 1.0, 1e-15);
	mix[1] = -DBL_MAX / 2;
	CHECK(rp_cosine_f8(mix, hb, 2, &c) == RP_OK);
	CHECK_NEAR(c, -1.0 / (sqrt(2.0) * 5.0), 1e-15);
	/* huge times tiny: the plain product is fine, the dot is small */
	CHECK(rp_dot_f8(ha, ta, 2, &d) == RP_OK);
	CHECK_NEAR(d, 5.0, 1e-15);
}

static void
test_acc_merge(void)
{
	enum
	{
	N = 300};
	double		x[N],
				y[N];
	rp_cos_acc	whole,
				p1,
				p2,
				p3;
	double		v1,
				v2;

	for (int i = 0; i < N; i++)
	{
		x[i] = urand() * (i % 7 == 0 ? 1e150 : 1.0);
		y[i] = (i % 5 == 0) ? 0.0 : urand() * 3;
	}
	rp_cos_acc_init(&whole);
	rp_cos_acc_init(&p1);
	rp_cos_acc_init(&p2);
	rp_cos_acc_init(&p3);
	for (int i = 0; i < N; i++)
	{
		rp_cos_acc_add(&whole, x[i], y[i]);
		rp_cos_acc_add(i % 3 == 0 ? &p1 : (i % 3 == 1 ? &p2 : &p3), x[i], y[i]);
	}
	rp_cos_acc_merge(&p2, &p3);
	rp_cos_acc_merge(&p1, &p2);
	CHECK(rp_cos_acc_check(&p1) == RP_OK);
	CHECK_NEAR(rp_cos_acc_cosine(&p1), rp_cos_acc_cosine(&whole), 1e-13);
	CHECK_NEAR(rp_cos_acc_cosine(&whole), ref_cos(x, y, N), 1e-13);
	CHECK(rp_cos_acc_dot(&p1, &v1) == RP_OK && rp_cos_acc_dot(&whole, &v2) == RP_OK);
	CHECK_NEAR(v1 / 1e150, v2 / 1e150, 1e-12);
	CHECK(rp_cos_acc_norm_y(&p1, &v1) == RP_OK);
	CHECK_NEAR(v1, sqrt(ref_dot(y, y, N)), 1e-13);

	/* merging with an empty state changes nothing; empty with empty is 0 */
	rp_cos_acc_init(&p3);
	rp_cos_acc_merge(&p3, &whole);
	CHECK(rp_cos_acc_cosine(&p3) == rp_cos_acc_cosine(&whole));
	rp_cos_acc_init(&p2);
	rp_cos_acc_init(&p3);
	rp_cos_acc_merge(&p2, &p3);
	CHECK(rp_cos_acc_cosine(&p2) == 0.0);
	CHECK(rp_cos_acc_dot(&p2, &v1) == RP_OK && v1 == 0.0);

	/* invalid states are recognised */
	p2.qx = -1;
	CHECK(rp_cos_acc_check(&p2) == RP_EINVAL);
	rp_cos_acc_init(&p2);
	p2.d = NAN;
	CHECK(rp_cos_acc_check(&p2) == RP_EINVAL);
	rp_cos_acc_init(&p2);
	p2.qx = 1.0;				/* sum without a scale */
	CHECK(rp_cos_acc_check(&p2) == RP_EINVAL);
}

/* dense image of a sparse vector over indices [0, dim) */
static void
densify(const int64_t *idx, const double *val, int n, double *dense, int dim)
{
	memset(dense, 0, dim * sizeof(double));
	for (int i = 0; i < n; i++)
		dense[idx[i]] = val[i];
}

static void
test_sparse_against_dense(void)
{
	enum
	{
	DIM = 400};
	int64_t		ia[DIM],
				ib[DIM];
	double		va[DIM],
				vb[DIM],
				da[DIM],
				db[DIM];

	for (int trial = 0; trial < 60; trial++)
	{
		int			na = 0,
					nb = 0;
		double		c,
					d;
		double		pa = (trial % 4) / 4.0 + 0.05,
					pb = ((trial / 4) % 4) / 4.0 + 0.05;

		for (int i = 0; i < DIM; i++)
		{
			if ((urand() + 1) / 2 < pa)
			{
				ia[na] = i;
				va[na++] = urand() * 5;
			}
			if ((urand() + 1) / 2 < pb)
			{
				ib[nb] = i;
				vb[nb++] = urand() * 5;
			}
		}
		if (trial == 0)
			na = 0;				/* empty side */
		densify(ia, va, na, da, DIM);
		densify(ib, vb, nb, db, DIM);
		CHECK(rp_sparse_cosine(ia, va, na, ib, vb, nb, &c) == RP_OK);
		CHECK_NEAR(c, ref_cos(da, db, DIM), 1e-13);
		CHECK(rp_sparse_dot(ia, va, na, ib, vb, nb, &d) == RP_OK);
		CHECK_NEAR(d, ref_dot(da, db, DIM), 1e-12);
	}
}

static void
test_sparse_edge_cases(void)
{
	int64_t		ia[] = {-5, 3, 1000000000000LL};
	double		va[] = {2, 1e300, 1e300};
	int64_t		ib[] = {3, 1000000000000LL};
	double		vb[] = {1e-300, 1e-300};
	int64_t		unsorted[] = {3, 1};
	int64_t		dup[] = {1, 1};
	double		v2[] = {1, 1};
	double		bad[] = {1, NAN};
	double		c,
				d;

	CHECK(rp_sparse_cosine(ia, va, 3, ib, vb, 2, &c) == RP_OK);
	CHECK_NEAR(c, 1.0, 1e-15);
	CHECK(rp_sparse_dot(ia, va, 3, ib, vb, 2, &d) == RP_OK);
	CHECK_NEAR(d, 2.0, 1e-15);
	CHECK(rp_sparse_cosine(ia, va, 3, unsorted, v2, 2, &c) == RP_EINVAL);
	CHECK(rp_sparse_cosine(dup, v2, 2, ib, vb, 2, &c) == RP_EINVAL);
	/* a NaN at an index the other side lacks is still an error */
	CHECK(rp_sparse_dot(ib, bad, 2, ia, va, 1, &d) == RP_ENUMERIC);
	CHECK(rp_sparse_cosine(ib, bad, 2, ia, va, 1, &c) == RP_ENUMERIC);
	/* disjoint supports are orthogonal; empty is 0 */
	CHECK(rp_sparse_cosine(ia, va, 1, ib, vb, 2, &c) == RP_OK && c == 0.0);
	CHECK(rp_sparse_cosine(NULL, NULL, 0, ib, vb, 2, &c) == RP_OK && c == 0.0);
	CHECK(rp_sparse_dot(NULL, NULL, 0, NULL, NULL, 0, &d) == RP_OK && d == 0.0);
	/* huge dot overflows */
	CHECK(rp_sparse_dot(ia + 1, va + 1, 2, ia + 1, va + 1, 2, &d) == RP_ENUMERIC);
}

int
main(void)
{
	RUN(test_seed_example);
	RUN(test_zero_and_empty);
	RUN(test_single_and_sign);
	RUN(test_one_rounding_in_denominator);
	RUN(test_random_against_reference);
	RUN(test_non_finite);
	RUN(test_huge_and_tiny);
	RUN(test_acc_merge);
	RUN(test_sparse_against_dense);
	RUN(test_sparse_edge_cases);
	UNIT_DONE();
}
