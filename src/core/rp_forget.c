/*
 * rp_forget.c
 *	  Erasure without retraining (see rp_forget.h for the contracts).
 *
 * Everything here recomputes a model part as a retrain on the source
 * without the erased rows would compute it, from what the model stores:
 *	- the interaction matrix: rows and columns dropped, the rest renumbered
 *	  in order (dictionaries are sorted, so a retrain numbers them alike);
 *	- EASE: the stored double inverse P is downdated (Sherman-Morrison for
 *	  a user's row x: P' = P + (Px)(Px)^T / (1 - x^T P x), Hager 1989,
 *	  "Updating the inverse of a matrix") and items leaving the model are
 *	  removed by the Schur complement; B then follows from P' exactly as in
 *	  rp_ease_fit.  Agreement with a retrain is to rounding (the test asks
 *	  1e-8 relative on P), not bit-for-bit: the retrain's Cholesky inverse
 *	  rounds differently;
 *	- item kNN: a row's neighbours change only if one of its candidates'
 *	  vectors changed, i.e. if it shares a user with a touched item; those
 *	  rows are recomputed with the kernel training uses (rp_knn_query gives
 *	  bit-identical similarities and the same tie-breaking), the others are
 *	  copied with renumbered columns.  Bit-identical to a retrain.
 */
#include "rp_forget.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rp_blas.h"

/* offset of (i, j), i <= j, in the packed upper triangle of an n x n matrix */
static inline size_t
packed_at(int32_t n, int32_t i, int32_t j)
{
	return (size_t) i * (size_t) n - (size_t) i * (size_t) (i - 1) / 2 + (size_t) (j - i);
}

/* tiles of the blocked passes over packed storage: 64 x 64 doubles stay in cache */
#define EASE_TILE 64

void
rp_forget_csr_drop(const rp_csr *R, const int32_t *row_map, const int32_t *col_map,
				   int32_t n_rows_out, int32_t n_cols_out, rp_csr *out)
{
	int64_t		w = 0;

	out->indptr[0] = 0;
	for (int32_t r = 0; r < R->n_rows; r++)
	{
		if (row_map[r] < 0)
			continue;
		for (int64_t p = R->indptr[r]; p < R->indptr[r + 1]; p++)
		{
			int32_t		c = col_map[R->indices[p]];

			if (c < 0)
				continue;
			out->indices[w] = c;
			out->values[w] = R->values[p];
			w++;
		}
		out->indptr[row_map[r] + 1] = w;
	}
	out->n_rows = n_rows_out;
	out->n_cols = n_cols_out;
	out->nnz = w;
}

rp_status
rp_ease_downdate(double *P, int32_t n, const int32_t *idx, const double *val,
				 int32_t nx, double *work)
{
	double	   *y = work;
	double		q = 0.0;

	/* y = P x, accumulated column by column (P symmetric: rows of P) */
	memset(y, 0, (size_t) n * sizeof(double));
	for (int32_t h = 0; h < nx; h++)
	{
		const double *row = P + (size_t) idx[h] * n;

		if (idx[h] < 0 || idx[h] >= n)
			return RP_EINVAL;
		cblas_daxpy(n, val[h], row, 1, y, 1);
	}
	for (int32_t h = 0; h < nx; h++)
		q += val[h] * y[idx[h]];
	/* 1 - x^T P x = 1 / (1 + x^T P' x) lies in (0, 1] */
	if (!rp_finite(q) || !(1.0 - q > 1e-12))
		return RP_ENUMERIC;
	cblas_dger(CblasRowMajor, n, n, 1.0 / (1.0 - q), y, 1, y, 1, P, n);
	for (size_t p = 0; p < (size_t) n * n; p++)
		if (!rp_finite(P[p]))
			return RP_ENUMERIC;
	return RP_OK;
}

size_t
rp_ease_drop_workspace_size(int32_t n, int32_t nd)
{
	return ((size_t) nd * nd + 2 * (size_t) (n - nd) * nd + (size_t) n + 1) * sizeof(double);
}

rp_status
rp_ease_drop(const double *P, int32_t n, const int32_t *drop, int32_t nd,
			 double *out, double *work)
{
	int32_t		na = n - nd;
	double	   *D = work;				/* nd x nd: P_DD, then its inverse */
	double	   *C = D + (size_t) nd * nd;	/* na x nd: P_AD, then P_AD P_DD^-1 */
	double	   *CD = C + (size_t) na * nd;	/* na x nd: P_AD P_DD^-1 */
	double	   *keep_d = CD + (size_t) na * nd;	/* n: kept index list, as doubles */
	int32_t		a = 0;
	int			ni = nd;
	int			info = 0;
	char		uplo = 'L';

	if (nd <= 0 || nd > n)
		return RP_EINVAL;
	/* the kept indices, in order */
	{
		int32_t		d = 0;

		for (int32_t i = 0; i < n; i++)
		{
			if (d < nd && drop[d] == i)
			{
				d++;
				continue;
			}
			keep_d[a++] = (double) i;
		}
		if (d != nd || a != na)
			return RP_EINVAL;
	}
	for (int32_t s = 0; s < nd; s++)
		for (int32_t t = 0; t < nd; t++)
			D[(size_t) s * nd + t] = P[(size_t) drop[s] * n + drop[t]];
	for (int32_t i = 0; i < na; i++)
		for (int32_t t = 0; t < nd; t++)
			C[(size_t) i * nd + t] = P[(size_t) keep_d[i] * n + drop[t]];
	/* P_DD^-1 (symmetric positive definite, as a principal block of P) */
	dpotrf_(&uplo, &ni, D, &ni, &info);
	if (info != 0)
		return RP_ENUMERIC;
	dpotri_(&uplo, &ni, D, &ni, &info);
	if (info != 0)
		return RP_ENUMERIC;
	/* the column-major lower triangle is the row-major upper one: mirror it */
	for (int32_t s = 0; s < nd; s++)
		for (int32_t t = s + 1; t < nd; t++)
			D[(size_t) t * nd + s] = D[(size_t) s * nd + t];
	/* out = P_AA, then out -= C D C^T */
	for (int32_t i = 0; i < na; i++)
	{
		const double *src = P + (size_t) keep_d[i] * n;
		double	   *dst = out + (size_t) i * na;

		for (int32_t j = 0; j < na; j++)
			dst[j] = src[(int32_t) keep_d[j]];
	}
	if (na > 0)
	{
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, na, nd, nd,
					1.0, C, nd, D, nd, 0.0, CD, nd);
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, na, na, nd,
					-1.0, CD, nd, C, nd, 1.0, out, na);
	}
	/* exact symmetry, as the retrain's mirrored inverse has (by tiles) */
	for (int32_t ti = 0; ti < na; ti += EASE_TILE)
		for (int32_t tj = ti; tj < na; tj += EASE_TILE)
		{
			int32_t		ie = ti + EASE_TILE < na ? ti + EASE_TILE : na;
			int32_t		je = tj + EASE_TILE < na ? tj + EASE_TILE : na;

			for (int32_t i = ti; i < ie; i++)
				for (int32_t j = (tj > i + 1 ? tj : i + 1); j < je; j++)
				{
					double		m = 0.5 * (out[(size_t) i * na + j] + out[(size_t) j * na + i]);

					out[(size_t) i * na + j] = m;
					out[(size_t) j * na + i] = m;
				}
		}
	for (size_t p = 0; p < (size_t) na * na; p++)
		if (!rp_finite(out[p]))
			return RP_ENUMERIC;
	return RP_OK;
}

rp_status
rp_ease_b_from_p(const double *P, int32_t n, float *B, double *work)
{
	for (int32_t j = 0; j < n; j++)
	{
		double		d = P[(size_t) j * n + j];

		if (!(d > 0.0) || !rp_finite(d))
			return RP_ENUMERIC;
		work[j] = -1.0 / d;
	}
	for (int32_t i = 0; i < n; i++)
	{
		const double *row = P + (size_t) i * n;
		float	   *b = B + (size_t) i * n;

		for (int32_t j = 0; j < n; j++)
			b[j] = (float) (row[j] * work[j]);
		b[i] = 0.0f;
	}
	return RP_OK;
}

rp_status
rp_ease_b_from_packed(const double *Pp, int32_t n, float *B, double *work)
{
	for (int32_t j = 0; j < n; j++)
	{
		double		d = Pp[packed_at(n, j, j)];

		if (!(d > 0.0) || !rp_finite(d))
			return RP_ENUMERIC;
		work[j] = -1.0 / d;
	}
	/* upper tiles are read along packed rows; their mirror is written tile by tile */
	for (int32_t ti = 0; ti < n; ti += EASE_TILE)
		for (int32_t tj = ti; tj < n; tj += EASE_TILE)
		{
			int32_t		ie = ti + EASE_TILE < n ? ti + EASE_TILE : n;
			int32_t		je = tj + EASE_TILE < n ? tj + EASE_TILE : n;

			for (int32_t i = ti; i < ie; i++)
			{
				int32_t		j0 = tj > i ? tj : i;
				const double *row = Pp + packed_at(n, i, j0);

				for (int32_t j = j0; j < je; j++)
				{
					double		v = row[j - j0];

					B[(size_t) i * n + j] = (float) (v * work[j]);
					B[(size_t) j * n + i] = (float) (v * work[i]);
				}
			}
		}
	for (int32_t i = 0; i < n; i++)
		B[(size_t) i * n + i] = 0.0f;
	return RP_OK;
}

rp_status
rp_ease_downdate_packed(double *Pp, int32_t n, const int32_t *idx, const double *val,
						int32_t nx, double *work)
{
	double	   *y = work;
	double		q = 0.0;
	size_t		np = (size_t) n * (n + 1) / 2;

	/* y = P x: column t of P is P(i, t) = packed(i, t) for i <= t, packed(t, i) after */
	memset(y, 0, (size_t) n * sizeof(double));
	for (int32_t h = 0; h < nx; h++)
	{
		int32_t		t = idx[h];
		double		v = val[h];

		if (t < 0 || t >= n)
			return RP_EINVAL;
		for (int32_t i = 0; i < t; i++)
			y[i] += v * Pp[packed_at(n, i, t)];
		cblas_daxpy(n - t, v, Pp + packed_at(n, t, t), 1, y + t, 1);
	}
	for (int32_t h = 0; h < nx; h++)
		q += val[h] * y[idx[h]];
	if (!rp_finite(q) || !(1.0 - q > 1e-12))
		return RP_ENUMERIC;
	/* row-major upper packed is column-major lower packed: BLAS's own layout flag handles it */
	cblas_dspr(CblasRowMajor, CblasUpper, n, 1.0 / (1.0 - q), y, 1, Pp);
	for (size_t p = 0; p < np; p++)
		if (!rp_finite(Pp[p]))
			return RP_ENUMERIC;
	return RP_OK;
}

void
rp_ease_pack(double *P, int32_t n)
{
	size_t		w = 0;

	/* packed position <= full position: a forward copy never overwrites unread data */
	for (int32_t i = 0; i < n; i++)
		for (int32_t j = i; j < n; j++)
			P[w++] = P[(size_t) i * n + j];
}

void
rp_ease_unpack(const double *packed, int32_t n, double *out)
{
	for (int32_t i = 0; i < n; i++)
		memcpy(out + (size_t) i * n + i, packed + packed_at(n, i, i), (size_t) (n - i) * sizeof(double));
	/* the lower triangle by tiles, so that the transposed reads stay in cache */
	for (int32_t ti = 0; ti < n; ti += EASE_TILE)
		for (int32_t tj = 0; tj <= ti; tj += EASE_TILE)
		{
			int32_t		ie = ti + EASE_TILE < n ? ti + EASE_TILE : n;
			int32_t		je = tj + EASE_TILE < n ? tj + EASE_TILE : n;

			for (int32_t i = ti; i < ie; i++)
				for (int32_t j = tj; j < je && j < i; j++)
					out[(size_t) i * n + j] = out[(size_t) j * n + i];
		}
}

void
rp_knn_cooccur(const rp_csr *X, const uint8_t *touched, uint8_t *mark)
{
	for (int32_t d = 0; d < X->n_rows; d++)
	{
		int		hit = 0;

		for (int64_t p = X->indptr[d]; p < X->indptr[d + 1] && !hit; p++)
			hit = touched[X->indices[p]];
		if (hit)
			for (int64_t p = X->indptr[d]; p < X->indptr[d + 1]; p++)
				mark[X->indices[p]] = 1;
	}
	for (int32_t i = 0; i < X->n_cols; i++)
		if (touched[i])
			mark[i] = 1;
}

size_t
rp_knn_refit_workspace_size(int32_t n_vec, int32_t k)
{
	return rp_knn_query_workspace_size(n_vec, k) + (size_t) k * (sizeof(int32_t) + sizeof(double) + 16) + 64;
}

typedef struct refit_pair
{
	int32_t		idx;
	double		sim;
} refit_pair;

static int
refit_cmp(const void *a, const void *b)
{
	int32_t		x = ((const refit_pair *) a)->idx;
	int32_t		y = ((const refit_pair *) b)->idx;

	return (x > y) - (x < y);
}

rp_status
rp_knn_refit_rows(const rp_csr *A, const rp_csr *AT, const double *norms,
				  const rp_knn_params *p, const rp_csr *S_old,
				  const int32_t *old_of_new, const int32_t *col_map,
				  const uint8_t *mark, rp_csr *out, int64_t capacity, void *work,
				  const rp_cancel *cancel)
{
	int32_t		n = A->n_rows;
	int32_t		k = p->k;
	size_t		qbytes = (rp_knn_query_workspace_size(n, k) + 7) & ~(size_t) 7;
	int32_t    *ridx = (int32_t *) ((char *) work + qbytes);
	double	   *rsim = (double *) ((char *) ridx + (((size_t) k * sizeof(int32_t) + 7) & ~(size_t) 7));
	refit_pair *pairs = (refit_pair *) ((char *) rsim + (size_t) k * sizeof(double));
	int64_t		w = 0;
	int64_t		marked = 0;

	out->indptr[0] = 0;
	for (int32_t i = 0; i < n; i++)
	{
		if (mark[i])
		{
			int64_t		b = A->indptr[i];
			int32_t		got = 0;
			rp_status	st;

			if ((++marked & 63) == 0 && rp_should_stop(cancel))
				return RP_ECANCELED;
			st = rp_knn_query(AT, norms, n, A->indices + b, A->values + b,
							  (int32_t) (A->indptr[i + 1] - b), i, p,
							  ridx, rsim, &got, work);
			if (st != RP_OK || w + got > capacity)
				return st != RP_OK ? st : RP_EINVAL;
			for (int32_t t = 0; t < got; t++)
			{
				pairs[t].idx = ridx[t];
				pairs[t].sim = rsim[t];
			}
			qsort(pairs, got, sizeof(refit_pair), refit_cmp);
			for (int32_t t = 0; t < got; t++)
			{
				out->indices[w] = pairs[t].idx;
				out->values[w] = pairs[t].sim;
				w++;
			}
		}
		else
		{
			int32_t		o = old_of_new[i];

			for (int64_t q = S_old->indptr[o]; q < S_old->indptr[o + 1]; q++)
			{
				int32_t		c = col_map[S_old->indices[q]];

				if (c < 0)
					continue;
				if (w >= capacity)
					return RP_EINVAL;
				out->indices[w] = c;
				out->values[w] = S_old->values[q];
				w++;
			}
		}
		out->indptr[i + 1] = w;
	}
	out->n_rows = n;
	out->n_cols = n;
	out->nnz = w;
	return RP_OK;
}
