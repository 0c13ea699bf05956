/*
 * rp_ease.c
 *	  EASE training and scoring (see rp_ease.h for the model).
 *
 * Layout.  B is row-major; LAPACK is column-major.  The Gram matrix is summed
 * into the row-major upper triangle (j >= i), which is the column-major lower
 * triangle of the same buffer, so dpotrf/dpotri run with uplo = 'L' on it
 * without a copy.  dpotri leaves the inverse in the same triangle; it is
 * mirrored into the other one, then every column j is divided by -P_jj.
 *
 * The Gram matrix is summed user by user over pairs of the user's items
 * (cost: sum of squared row lengths), in double, in user order, so it is
 * reproducible.  Memory: the n x n buffer only.
 */
#include "rp_ease.h"

#include <limits.h>
#include <string.h>

#include "rp_blas.h"

double
rp_ease_memory_bytes(int32_t n_items)
{
	return (double) n_items * (double) n_items * sizeof(double);
}

rp_status
rp_ease_inverse(const rp_csr *X, double lambda, double *B,
				const rp_cancel *cancel)
{
	int32_t		n = X->n_cols;

	if (!(lambda > 0.0) || !rp_finite(lambda) || n < 0)
		return RP_EINVAL;
	if ((double) n * (double) n > (double) INT_MAX * 8.0)
		return RP_ELIMIT;
	if (n == 0)
		return RP_OK;
	for (int64_t p = 0; p < X->nnz; p++)
		if (!rp_finite(X->values[p]))
			return RP_ENUMERIC;

	/* G = X^T X, upper triangle of the row-major buffer */
	memset(B, 0, (size_t) n * (size_t) n * sizeof(double));
	for (int32_t u = 0; u < X->n_rows; u++)
	{
		int64_t		b = X->indptr[u];
		int64_t		e = X->indptr[u + 1];

		if ((u & 1023) == 0 && rp_should_stop(cancel))
			return RP_ECANCELED;
		for (int64_t p = b; p < e; p++)
		{
			double		vp = X->values[p];
			double	   *row = B + (size_t) X->indices[p] * n;

			/* row indices are sorted, so q >= p gives column >= row */
			for (int64_t q = p; q < e; q++)
				row[X->indices[q]] += vp * X->values[q];
		}
	}
	for (int32_t i = 0; i < n; i++)
		B[(size_t) i * n + i] += lambda;
	return rp_ease_invert(B, n, cancel);
}

rp_status
rp_ease_invert(double *B, int32_t n, const rp_cancel *cancel)
{
	int			ni = (int) n;
	int			info = 0;
	char		uplo = 'L';

	if (n < 0)
		return RP_EINVAL;
	if ((double) n * (double) n > (double) INT_MAX * 8.0)
		return RP_ELIMIT;
	if (n == 0)
		return RP_OK;
	if (rp_should_stop(cancel))
		return RP_ECANCELED;

	dpotrf_(&uplo, &ni, B, &ni, &info);
	if (info != 0)
		return info > 0 ? RP_ENUMERIC : RP_EINVAL;
	if (rp_should_stop(cancel))
		return RP_ECANCELED;
	dpotri_(&uplo, &ni, B, &ni, &info);
	if (info != 0)
		return info > 0 ? RP_ENUMERIC : RP_EINVAL;

	/* mirror the upper triangle (row-major) into the lower one */
	for (int32_t i = 0; i < n; i++)
		for (int32_t j = i + 1; j < n; j++)
			B[(size_t) j * n + i] = B[(size_t) i * n + j];
	return RP_OK;
}

rp_status
rp_ease_fit(const rp_csr *X, double lambda, double *B, double *work,
			const rp_cancel *cancel)
{
	int32_t		n = X->n_cols;
	rp_status	st = rp_ease_inverse(X, lambda, B, cancel);

	if (st != RP_OK || n == 0)
		return st;

	/* B_ij = -P_ij / P_jj: scale column j; the diagonal becomes 0 */
	for (int32_t j = 0; j < n; j++)
	{
		double		d = B[(size_t) j * n + j];

		if (!(d > 0.0) || !rp_finite(d))
			return RP_ENUMERIC;
		work[j] = -1.0 / d;
	}
	for (int32_t i = 0; i < n; i++)
	{
		double	   *row = B + (size_t) i * n;

		for (int32_t j = 0; j < n; j++)
			row[j] *= work[j];
		row[i] = 0.0;
	}
	for (size_t p = 0; p < (size_t) n * n; p++)
		if (!rp_finite(B[p]))
			return RP_ENUMERIC;
	return RP_OK;
}

void
rp_ease_score(const float *B, int32_t n, const int32_t *hist_idx,
			  const double *hist_val, int32_t hist_n, double *scores)
{
	memset(scores, 0, (size_t) n * sizeof(double));
	for (int32_t h = 0; h < hist_n; h++)
	{
		const float *row;
		double		w = hist_val[h];

		if (hist_idx[h] < 0 || hist_idx[h] >= n)
			continue;
		row = B + (size_t) hist_idx[h] * n;
		for (int32_t j = 0; j < n; j++)
			scores[j] += w * (double) row[j];
	}
}
