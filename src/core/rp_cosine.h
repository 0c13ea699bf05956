/*
 * rp_cosine.h
 *	  Dot products, Euclidean norms and cosine similarity of dense and
 *	  sparse vectors.
 *
 * Conventions shared by every function here:
 *	- Sums run in double, whatever the input type.  float inputs are widened
 *	  element by element, so a float vector gives the same answer as the same
 *	  values stored as double.
 *	- Cosine is clamped to [-1, 1]: rounding can push dot / (|a| |b|) a few
 *	  ulps past 1 for parallel vectors, and callers feed it to acos() or
 *	  compare it with 1.
 *	- The zero-vector rule: the cosine of a zero vector (including an empty
 *	  one) with any vector is 0.  Mathematically it is undefined (0/0); we
 *	  follow scikit-learn's cosine_similarity, which returns 0, because in
 *	  recommendation data a zero vector is a user or item with no recorded
 *	  preference, and "no evidence of similarity" is the useful reading: such
 *	  a neighbour must neither win a top-k list nor poison a sum with NaN.
 *	- Huge and tiny magnitudes: the result is exact to rounding whenever it is
 *	  representable.  Squares of values beyond ~1e154 overflow and squares of
 *	  values below ~1e-154 underflow, so when a plain pass sees a non-finite
 *	  or subnormal-range sum the function recomputes with a running scale
 *	  (rp_cos_acc, the scaled sum of squares of LAPACK's dlassq; Hammarling,
 *	  "A note on modifications to the Givens plane rotation", 1977, and
 *	  Blue, "A portable Fortran program to find the Euclidean norm of a
 *	  vector", ACM TOMS 4(1), 1978).  A dot product or norm whose true value
 *	  exceeds DBL_MAX returns RP_ENUMERIC; a cosine never overflows.
 *	- Any NaN or infinite input returns RP_ENUMERIC; *out is then unset.
 *	- Every function is pure: no allocation, no global state, thread-safe.
 */
#ifndef RP_COSINE_H
#define RP_COSINE_H

#include "rp_core.h"

/*
 * Running scaled sums for a pair of vectors x and y, fed one coordinate at a
 * time.  Invariant: the plain sums are
 *	sum x^2 = sx^2 * qx,  sum y^2 = sy^2 * qy,  sum x*y = sx * sy * d,
 * with sx = max |x| seen (0 before any non-zero x), likewise sy.  Because every
 * scaled term is at most 1 in magnitude, the state neither overflows nor
 * loses the large terms to underflow.  Two states merge (rp_cos_acc_merge),
 * which is what a parallel aggregate's combine function needs.
 */
typedef struct rp_cos_acc
{
	double		sx;
	double		qx;
	double		sy;
	double		qy;
	double		d;
} rp_cos_acc;

/* Sets acc to the state of two empty vectors. */
extern void rp_cos_acc_init(rp_cos_acc *acc);

/*
 * Adds one coordinate pair (x, y).  x and y must be finite (the caller
 * checks; the core only asserts).
 */
extern void rp_cos_acc_add(rp_cos_acc *acc, double x, double y);

/* Folds b into a; the result equals feeding a's and b's pairs to one state. */
extern void rp_cos_acc_merge(rp_cos_acc *a, const rp_cos_acc *b);

/*
 * Results of a state.  rp_cos_acc_cosine never fails (0 for a zero vector,
 * clamped to [-1, 1]); dot and norms return RP_ENUMERIC when the true value
 * overflows a double, and RP_EINVAL when the state is not a valid one
 * (negative or non-finite fields, e.g. read back from a corrupt array).
 */
extern rp_status rp_cos_acc_check(const rp_cos_acc *acc);
extern double rp_cos_acc_cosine(const rp_cos_acc *acc);
extern rp_status rp_cos_acc_dot(const rp_cos_acc *acc, double *out);
extern rp_status rp_cos_acc_norm_x(const rp_cos_acc *acc, double *out);
extern rp_status rp_cos_acc_norm_y(const rp_cos_acc *acc, double *out);

/*
 * Dense vectors of n >= 0 elements (a and b may be NULL when n == 0).
 * Return RP_OK and the value in *out, RP_ENUMERIC on NaN/Inf input or on a
 * dot/norm that overflows, RP_EINVAL on n < 0 or NULL pointers.
 */
extern rp_status rp_dot_f8(const double *a, const double *b, int64_t n,
						   double *out);
extern rp_status rp_norm_f8(const double *a, int64_t n, double *out);
extern rp_status rp_cosine_f8(const double *a, const double *b, int64_t n,
							  double *out);

extern rp_status rp_dot_f4(const float *a, const float *b, int64_t n,
						   double *out);
extern rp_status rp_norm_f4(const float *a, int64_t n, double *out);
extern rp_status rp_cosine_f4(const float *a, const float *b, int64_t n,
							  double *out);

/*
 * Sparse vectors: ia[0..na) strictly increasing indices with values
 * va[0..na), likewise ib/vb.  One merge pass, O(na + nb).  Indices absent
 * from one side count as 0 there.  Returns RP_EINVAL when an index array is
 * not strictly increasing (checked during the merge, so at no extra cost),
 * RP_ENUMERIC as for dense vectors.  The norm of a sparse vector is
 * rp_norm_f8 over its values.
 */
extern rp_status rp_sparse_dot(const int64_t *ia, const double *va, int64_t na,
							   const int64_t *ib, const double *vb, int64_t nb,
							   double *out);
extern rp_status rp_sparse_cosine(const int64_t *ia, const double *va,
								  int64_t na, const int64_t *ib,
								  const double *vb, int64_t nb, double *out);

#endif							/* RP_COSINE_H */
