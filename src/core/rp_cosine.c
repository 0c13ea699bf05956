/*
 * rp_cosine.c
 *	  Dot products, norms and cosine similarity (see rp_cosine.h for the
 *	  conventions: double sums, clamp to [-1, 1], zero-vector rule, overflow
 *	  safety, RP_ENUMERIC on NaN/Inf).
 *
 * Two passes at most.  The fast pass is the textbook one: sum a*b, a*a and
 * b*b in double, four independent partial sums per quantity so the loop is
 * bound by loads rather than by the latency of one dependent add chain (the
 * compiler may not reassociate floating point sums itself).  Its result is
 * used when the sums are finite and not in the underflow range; that is, for
 * any vector whose elements lie between ~1e-125 and ~1e150 in magnitude, and
 * in practice always.  Otherwise (a NaN/Inf in the input, a sum that
 * overflowed, a zero or tiny vector) the slow pass checks every element and
 * recomputes with rp_cos_acc, the running-scale accumulator of LAPACK's
 * dlassq (Hammarling 1977; Blue, ACM TOMS 4(1), 1978; Anderson, "Algorithm
 * 978: Safe scaling in the Level 1 BLAS", ACM TOMS 44(1), 2017, discusses the
 * trade-offs).  The fast pass being finite also proves the input finite:
 * NaN or Inf anywhere makes a*a (or the dot product, see rp_dot_f8)
 * non-finite, and non-finite values never become finite again in a sum.
 *
 * Why the thresholds are safe: with sum a^2 >= RP_COS_LO = 1e-250, any
 * element small enough for its square to underflow (< 1.5e-154) contributes
 * less than 1e-308 to a sum of at least 1e-250, below one rounding error;
 * the denominator is sqrt(sa * sb), one rounding fewer than sqrt(sa) *
 * sqrt(sb) (so cos((1,2),(2,1)) is exactly 0.8), except when that product
 * would overflow or underflow, where the two square roots are taken apart.
 *
 * float inputs need no slow pass: a float squared is at most ~1.2e77 and at
 * least ~2e-90 in double, so sums of up to 2^60 of them neither overflow nor
 * lose precision to underflow.
 */
#include "rp_cosine.h"

#include <assert.h>
#include <float.h>
#include <math.h>

#define RP_COS_LO 1e-250

/* sqrt(sa * sb) when the product is representable, else sqrt(sa) * sqrt(sb) */
static double
norm_product(double sa, double sb)
{
	double		p = sa * sb;

	if (rp_finite(p) && p >= DBL_MIN)
		return sqrt(p);
	return sqrt(sa) * sqrt(sb);
}

static double
clamp_cosine(double c)
{
	if (c > 1.0)
		return 1.0;
	if (c < -1.0)
		return -1.0;
	return c;
}

/* ---------------------------------------------------------------------
 * The scaled accumulator
 * ---------------------------------------------------------------------
 */

void
rp_cos_acc_init(rp_cos_acc *acc)
{
	acc->sx = 0.0;
	acc->qx = 0.0;
	acc->sy = 0.0;
	acc->qy = 0.0;
	acc->d = 0.0;
}

void
rp_cos_acc_add(rp_cos_acc *acc, double x, double y)
{
	double		ax = fabs(x);
	double		ay = fabs(y);

	assert(rp_finite(x) && rp_finite(y));

	if (ax > acc->sx)
	{
		/* new scale: earlier terms shrink by r = old/new (r = 0 at start) */
		double		r = acc->sx / ax;

		acc->qx = acc->qx * r * r + 1.0;
		acc->d *= r;
		acc->sx = ax;
	}
	else if (ax > 0.0)
	{
		double		t = ax / acc->sx;

		acc->qx += t * t;
	}

	if (ay > acc->sy)
	{
		double		r = acc->sy / ay;

		acc->qy = acc->qy * r * r + 1.0;
		acc->d *= r;
		acc->sy = ay;
	}
	else if (ay > 0.0)
	{
		double		t = ay / acc->sy;

		acc->qy += t * t;
	}

	/* both scales are positive here, as x and y are non-zero */
	if (ax > 0.0 && ay > 0.0)
		acc->d += (x / acc->sx) * (y / acc->sy);
}

void
rp_cos_acc_merge(rp_cos_acc *a, const rp_cos_acc *b)
{
	double		sx = a->sx > b->sx ? a->sx : b->sx;
	double		sy = a->sy > b->sy ? a->sy : b->sy;

	/* ratios of old to new scale; a zero scale means an all-zero part */
	double		rax = a->sx > 0.0 ? a->sx / sx : 0.0;
	double		rbx = b->sx > 0.0 ? b->sx / sx : 0.0;
	double		ray = a->sy > 0.0 ? a->sy / sy : 0.0;
	double		rby = b->sy > 0.0 ? b->sy / sy : 0.0;

	a->qx = a->qx * rax * rax + b->qx * rbx * rbx;
	a->qy = a->qy * ray * ray + b->qy * rby * rby;
	a->d = a->d * rax * ray + b->d * rbx * rby;
	a->sx = sx;
	a->sy = sy;
}

rp_status
rp_cos_acc_check(const rp_cos_acc *acc)
{
	if (!rp_finite(acc->sx) || !rp_finite(acc->sy) || !rp_finite(acc->qx) ||
		!rp_finite(acc->qy) || !rp_finite(acc->d))
		return RP_EINVAL;
	if (acc->sx < 0.0 || acc->sy < 0.0 || acc->qx < 0.0 || acc->qy < 0.0)
		return RP_EINVAL;
	/* a zero scale must come with zero sums */
	if ((acc->sx == 0.0 && (acc->qx != 0.0 || acc->d != 0.0)) ||
		(acc->sy == 0.0 && (acc->qy != 0.0 || acc->d != 0.0)))
		return RP_EINVAL;
	return RP_OK;
}

double
rp_cos_acc_cosine(const rp_cos_acc *acc)
{
	/* zero-vector rule: no non-zero coordinate on one side gives 0 */
	if (acc->qx <= 0.0 || acc->qy <= 0.0)
		return 0.0;
	return clamp_cosine(acc->d / norm_product(acc->qx, acc->qy));
}

rp_status
rp_cos_acc_dot(const rp_cos_acc *acc, double *out)
{
	double		p = acc->sx * acc->sy;
	double		v;

	/* multiply the scales first unless that alone over- or underflows */
	if (rp_finite(p) && (p >= DBL_MIN || p == 0.0))
		v = acc->d * p;
	else
		v = (acc->d * acc->sx) * acc->sy;
	if (!rp_finite(v))
		return RP_ENUMERIC;
	*out = v;
	return RP_OK;
}

rp_status
rp_cos_acc_norm_x(const rp_cos_acc *acc, double *out)
{
	double		v = acc->sx * sqrt(acc->qx);

	if (!rp_finite(v))
		return RP_ENUMERIC;
	*out = v;
	return RP_OK;
}

rp_status
rp_cos_acc_norm_y(const rp_cos_acc *acc, double *out)
{
	double		v = acc->sy * sqrt(acc->qy);

	if (!rp_finite(v))
		return RP_ENUMERIC;
	*out = v;
	return RP_OK;
}

/* ---------------------------------------------------------------------
 * Dense double vectors
 * ---------------------------------------------------------------------
 */

/*
 * Slow pass: every element checked, sums scaled.  b may equal a (norms).
 * Returns RP_ENUMERIC on a non-finite element.
 */
static rp_status
scaled_f8(const double *a, const double *b, int64_t n, rp_cos_acc *acc)
{
	rp_cos_acc_init(acc);
	for (int64_t i = 0; i < n; i++)
	{
		if (!rp_finite(a[i]) || !rp_finite(b[i]))
			return RP_ENUMERIC;
		rp_cos_acc_add(acc, a[i], b[i]);
	}
	return RP_OK;
}

/* Fast pass: plain sums of a*b, a*a, b*b in four lanes each. */
static void
plain_f8(const double *a, const double *b, int64_t n,
		 double *dot, double *sa, double *sb)
{
	double		d0 = 0, d1 = 0, d2 = 0, d3 = 0;
	double		a0 = 0, a1 = 0, a2 = 0, a3 = 0;
	double		b0 = 0, b1 = 0, b2 = 0, b3 = 0;
	int64_t		i = 0;

	for (; i + 4 <= n; i += 4)
	{
		d0 += a[i] * b[i];
		d1 += a[i + 1] * b[i + 1];
		d2 += a[i + 2] * b[i + 2];
		d3 += a[i + 3] * b[i + 3];
		a0 += a[i] * a[i];
		a1 += a[i + 1] * a[i + 1];
		a2 += a[i + 2] * a[i + 2];
		a3 += a[i + 3] * a[i + 3];
		b0 += b[i] * b[i];
		b1 += b[i + 1] * b[i + 1];
		b2 += b[i + 2] * b[i + 2];
		b3 += b[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
	{
		d0 += a[i] * b[i];
		a0 += a[i] * a[i];
		b0 += b[i] * b[i];
	}
	*dot = (d0 + d1) + (d2 + d3);
	*sa = (a0 + a1) + (a2 + a3);
	*sb = (b0 + b1) + (b2 + b3);
}

/* Plain sum of squares, four lanes. */
static double
plain_ssq_f8(const double *a, int64_t n)
{
	double		s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int64_t		i = 0;

	for (; i + 4 <= n; i += 4)
	{
		s0 += a[i] * a[i];
		s1 += a[i + 1] * a[i + 1];
		s2 += a[i + 2] * a[i + 2];
		s3 += a[i + 3] * a[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * a[i];
	return (s0 + s1) + (s2 + s3);
}

/* Plain dot product, four lanes. */
static double
plain_dot_f8(const double *a, const double *b, int64_t n)
{
	double		s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int64_t		i = 0;

	for (; i + 4 <= n; i += 4)
	{
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

rp_status
rp_dot_f8(const double *a, const double *b, int64_t n, double *out)
{
	double		dot;
	rp_cos_acc	acc;
	rp_status	st;

	if (n < 0 || out == NULL || (n > 0 && (a == NULL || b == NULL)))
		return RP_EINVAL;
	dot = plain_dot_f8(a, b, n);

	/*
	 * A finite plain dot product is accurate: overflow would have shown as
	 * Inf, and terms lost to underflow are below 1e-308 each.  A non-finite
	 * input always makes it non-finite (Inf*0 is NaN, Inf*x is Inf).
	 */
	if (rp_finite(dot))
	{
		*out = dot;
		return RP_OK;
	}
	st = scaled_f8(a, b, n, &acc);
	if (st != RP_OK)
		return st;
	return rp_cos_acc_dot(&acc, out);
}

rp_status
rp_norm_f8(const double *a, int64_t n, double *out)
{
	double		ssq;
	rp_cos_acc	acc;
	rp_status	st;

	if (n < 0 || out == NULL || (n > 0 && a == NULL))
		return RP_EINVAL;
	ssq = plain_ssq_f8(a, n);
	if (rp_finite(ssq) && ssq >= RP_COS_LO)
	{
		*out = sqrt(ssq);
		return RP_OK;
	}
	st = scaled_f8(a, a, n, &acc);
	if (st != RP_OK)
		return st;
	return rp_cos_acc_norm_x(&acc, out);
}

rp_status
rp_cosine_f8(const double *a, const double *b, int64_t n, double *out)
{
	double		dot,
				sa,
				sb;
	rp_cos_acc	acc;
	rp_status	st;

	if (n < 0 || out == NULL || (n > 0 && (a == NULL || b == NULL)))
		return RP_EINVAL;
	plain_f8(a, b, n, &dot, &sa, &sb);
	if (rp_finite(sa) && rp_finite(sb) && rp_finite(dot) &&
		sa >= RP_COS_LO && sb >= RP_COS_LO)
	{
		*out = clamp_cosine(dot / norm_product(sa, sb));
		return RP_OK;
	}
	/* non-finite input, overflow, or a zero or tiny vector */
	st = scaled_f8(a, b, n, &acc);
	if (st != RP_OK)
		return st;
	*out = rp_cos_acc_cosine(&acc);
	return RP_OK;
}

/* ---------------------------------------------------------------------
 * Dense float vectors (double sums; no slow pass needed, see above)
 * ---------------------------------------------------------------------
 */

static void
plain_f4(const float *a, const float *b, int64_t n,
		 double *dot, double *sa, double *sb)
{
	double		d0 = 0, d1 = 0, a0 = 0, a1 = 0, b0 = 0, b1 = 0;
	int64_t		i = 0;

	for (; i + 2 <= n; i += 2)
	{
		double		x0 = a[i],
					x1 = a[i + 1],
					y0 = b[i],
					y1 = b[i + 1];

		d0 += x0 * y0;
		d1 += x1 * y1;
		a0 += x0 * x0;
		a1 += x1 * x1;
		b0 += y0 * y0;
		b1 += y1 * y1;
	}
	for (; i < n; i++)
	{
		double		x = a[i],
					y = b[i];

		d0 += x * y;
		a0 += x * x;
		b0 += y * y;
	}
	*dot = d0 + d1;
	*sa = a0 + a1;
	*sb = b0 + b1;
}

rp_status
rp_dot_f4(const float *a, const float *b, int64_t n, double *out)
{
	double		s0 = 0,
				s1 = 0,
				dot;
	int64_t		i = 0;

	if (n < 0 || out == NULL || (n > 0 && (a == NULL || b == NULL)))
		return RP_EINVAL;
	for (; i + 2 <= n; i += 2)
	{
		s0 += (double) a[i] * (double) b[i];
		s1 += (double) a[i + 1] * (double) b[i + 1];
	}
	for (; i < n; i++)
		s0 += (double) a[i] * (double) b[i];
	dot = s0 + s1;
	if (!rp_finite(dot))
		return RP_ENUMERIC;
	*out = dot;
	return RP_OK;
}

rp_status
rp_norm_f4(const float *a, int64_t n, double *out)
{
	double		ssq;
	rp_status	st;

	if (n < 0 || out == NULL || (n > 0 && a == NULL))
		return RP_EINVAL;
	/* float squares summed in double cannot overflow: the norm is the dot with itself */
	st = rp_dot_f4(a, a, n, &ssq);
	if (st != RP_OK)
		return st;
	*out = sqrt(ssq);
	return RP_OK;
}

rp_status
rp_cosine_f4(const float *a, const float *b, int64_t n, double *out)
{
	double		dot,
				sa,
				sb;

	if (n < 0 || out == NULL || (n > 0 && (a == NULL || b == NULL)))
		return RP_EINVAL;
	plain_f4(a, b, n, &dot, &sa, &sb);
	if (!rp_finite(sa) || !rp_finite(sb) || !rp_finite(dot))
		return RP_ENUMERIC;
	if (sa == 0.0 || sb == 0.0)
	{
		*out = 0.0;				/* zero-vector rule */
		return RP_OK;
	}
	*out = clamp_cosine(dot / norm_product(sa, sb));
	return RP_OK;
}

/* ---------------------------------------------------------------------
 * Sparse vectors (sorted index arrays, one merge pass)
 * ---------------------------------------------------------------------
 */

static int
strictly_increasing(const int64_t *idx, int64_t n)
{
	for (int64_t i = 1; i < n; i++)
		if (idx[i] <= idx[i - 1])
			return 0;
	return 1;
}

static rp_status
check_sparse(const int64_t *ia, const double *va, int64_t na,
			 const int64_t *ib, const double *vb, int64_t nb)
{
	if (na < 0 || nb < 0)
		return RP_EINVAL;
	if ((na > 0 && (ia == NULL || va == NULL)) ||
		(nb > 0 && (ib == NULL || vb == NULL)))
		return RP_EINVAL;
	if (!strictly_increasing(ia, na) || !strictly_increasing(ib, nb))
		return RP_EINVAL;
	return RP_OK;
}

/*
 * Plain merge: dot over common indices, and the full sums of squares when
 * sa/sb are non-NULL.
 */
static void
plain_sparse(const int64_t *ia, const double *va, int64_t na,
			 const int64_t *ib, const double *vb, int64_t nb,
			 double *dot, double *sa, double *sb)
{
	double		d = 0.0;
	int64_t		i = 0,
				j = 0;

	while (i < na && j < nb)
	{
		if (ia[i] < ib[j])
			i++;
		else if (ia[i] > ib[j])
			j++;
		else
		{
			d += va[i] * vb[j];
			i++;
			j++;
		}
	}
	*dot = d;
	if (sa != NULL)
		*sa = plain_ssq_f8(va, na);
	if (sb != NULL)
		*sb = plain_ssq_f8(vb, nb);
}

/* Slow merge: every value checked, scaled sums over the union of indices. */
static rp_status
scaled_sparse(const int64_t *ia, const double *va, int64_t na,
			  const int64_t *ib, const double *vb, int64_t nb,
			  rp_cos_acc *acc)
{
	int64_t		i = 0,
				j = 0;

	for (int64_t k = 0; k < na; k++)
		if (!rp_finite(va[k]))
			return RP_ENUMERIC;
	for (int64_t k = 0; k < nb; k++)
		if (!rp_finite(vb[k]))
			return RP_ENUMERIC;

	rp_cos_acc_init(acc);
	while (i < na || j < nb)
	{
		if (j >= nb || (i < na && ia[i] < ib[j]))
			rp_cos_acc_add(acc, va[i++], 0.0);
		else if (i >= na || ia[i] > ib[j])
			rp_cos_acc_add(acc, 0.0, vb[j++]);
		else
			rp_cos_acc_add(acc, va[i++], vb[j++]);
	}
	return RP_OK;
}

rp_status
rp_sparse_dot(const int64_t *ia, const double *va, int64_t na,
			  const int64_t *ib, const double *vb, int64_t nb, double *out)
{
	double		dot;
	rp_cos_acc	acc;
	rp_status	st;

	if (out == NULL)
		return RP_EINVAL;
	st = check_sparse(ia, va, na, ib, vb, nb);
	if (st != RP_OK)
		return st;

	/*
	 * Unlike the dense case, a non-finite value at an index the other side
	 * lacks never enters the dot product, so the values are checked too.
	 */
	plain_sparse(ia, va, na, ib, vb, nb, &dot, NULL, NULL);
	if (rp_finite(dot) && rp_finite(plain_ssq_f8(va, na)) &&
		rp_finite(plain_ssq_f8(vb, nb)))
	{
		*out = dot;
		return RP_OK;
	}
	st = scaled_sparse(ia, va, na, ib, vb, nb, &acc);
	if (st != RP_OK)
		return st;
	return rp_cos_acc_dot(&acc, out);
}

rp_status
rp_sparse_cosine(const int64_t *ia, const double *va, int64_t na,
				 const int64_t *ib, const double *vb, int64_t nb, double *out)
{
	double		dot,
				sa,
				sb;
	rp_cos_acc	acc;
	rp_status	st;

	if (out == NULL)
		return RP_EINVAL;
	st = check_sparse(ia, va, na, ib, vb, nb);
	if (st != RP_OK)
		return st;
	plain_sparse(ia, va, na, ib, vb, nb, &dot, &sa, &sb);
	if (rp_finite(sa) && rp_finite(sb) && rp_finite(dot) &&
		sa >= RP_COS_LO && sb >= RP_COS_LO)
	{
		*out = clamp_cosine(dot / norm_product(sa, sb));
		return RP_OK;
	}
	st = scaled_sparse(ia, va, na, ib, vb, nb, &acc);
	if (st != RP_OK)
		return st;
	*out = rp_cos_acc_cosine(&acc);
	return RP_OK;
}
