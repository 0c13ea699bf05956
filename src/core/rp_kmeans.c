/*
 * rp_kmeans.c
 *	  k-means with the k-means++ start (see rp_kmeans.h for the contract).
 *
 * Start: D. Arthur and S. Vassilvitskii, "k-means++: the advantages of
 * careful seeding", SODA 2007: the first centre is a uniformly drawn point,
 * each next one a point drawn with probability proportional to its squared
 * distance to the nearest centre chosen so far.  Then Lloyd's iterations
 * (S. Lloyd, "Least squares quantization in PCM", IEEE Trans. Inf. Theory
 * 28(2), 1982): assign every point to its nearest centre (lowest index on
 * ties), move each centre to the mean of its points, until no point moves.
 * A cluster left empty takes the point farthest from its centre, so k
 * clusters always come back.
 *
 * Determinism: the random draws come from a private SplitMix64 generator
 * (Steele, Lea & Flood, OOPSLA 2014) seeded by the caller, and every sum runs
 * in index order in double, so results do not depend on the machine's
 * threads or BLAS.
 */
#include "rp_kmeans.h"

#include <math.h>
#include <string.h>

/* SplitMix64: a tiny, well-mixed 64-bit generator (private to this file). */
static uint64_t
km_next(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform double in [0, 1) */
static double
km_uniform(uint64_t *state)
{
	return (double) (km_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

static double
sqdist(const double *a, const double *b, int d)
{
	double		s = 0.0;

	for (int j = 0; j < d; j++)
	{
		double		t = a[j] - b[j];

		s += t * t;
	}
	return s;
}

size_t
rp_kmeans_workspace(int64_t n, int d, int k)
{
	return (size_t) n + (size_t) k * (size_t) d;
}

/* k-means++ seeding; mind (n doubles) ends with each point's min distance. */
static void
seed_plusplus(int64_t n, int d, const double *X, int k, uint64_t *rng,
			  double *centres, double *mind)
{
	int64_t		first = (int64_t) (km_uniform(rng) * (double) n);

	if (first >= n)
		first = n - 1;
	memcpy(centres, X + first * d, sizeof(double) * d);
	for (int64_t i = 0; i < n; i++)
		mind[i] = sqdist(X + i * d, centres, d);
	for (int c = 1; c < k; c++)
	{
		double		total = 0.0;
		double		target;
		int64_t		pick = n - 1;

		for (int64_t i = 0; i < n; i++)
			total += mind[i];
		if (total > 0)
		{
			double		acc = 0.0;

			target = km_uniform(rng) * total;
			for (int64_t i = 0; i < n; i++)
			{
				acc += mind[i];
				if (acc > target && mind[i] > 0)
				{
					pick = i;
					break;
				}
			}
		}
		else
		{
			/* fewer distinct points than k: duplicates become centres */
			pick = c % n;
		}
		memcpy(centres + (size_t) c * d, X + pick * d, sizeof(double) * d);
		for (int64_t i = 0; i < n; i++)
		{
			double		t = sqdist(X + i * d, centres + (size_t) c * d, d);

			if (t < mind[i])
				mind[i] = t;
		}
	}
}

rp_status
rp_kmeans_fit(int64_t n, int d, const double *X, int k, uint64_t seed,
			  int max_iter, double *centres, int32_t *assign, int64_t *sizes,
			  double *work, const rp_cancel *cancel, rp_kmeans_info *info)
{
	double	   *dist = work;
	double	   *sums = work + n;
	uint64_t	rng = seed;

	if (n < 1 || d < 1 || k < 1 || k > n || max_iter < 1)
		return RP_EINVAL;
	seed_plusplus(n, d, X, k, &rng, centres, dist);
	for (int64_t i = 0; i < n; i++)
		assign[i] = -1;
	info->converged = 0;
	info->iterations = 0;

	for (int it = 0; it < max_iter; it++)
	{
		int64_t		moved = 0;

		if (rp_should_stop(cancel))
			return RP_ECANCELED;
		for (int64_t i = 0; i < n; i++)
		{
			int			best = 0;
			double		bd = sqdist(X + i * d, centres, d);

			for (int c = 1; c < k; c++)
			{
				double		t = sqdist(X + i * d, centres + (size_t) c * d, d);

				if (t < bd)
				{
					bd = t;
					best = c;
				}
			}
			if (assign[i] != best)
				moved++;
			assign[i] = best;
			dist[i] = bd;
		}
		info->iterations = it + 1;
		if (moved == 0)
		{
			info->converged = 1;
			break;
		}
		memset(sums, 0, sizeof(double) * (size_t) k * d);
		memset(sizes, 0, sizeof(int64_t) * k);
		for (int64_t i = 0; i < n; i++)
		{
			double	   *s = sums + (size_t) assign[i] * d;

			sizes[assign[i]]++;
			for (int j = 0; j < d; j++)
				s[j] += X[i * d + j];
		}
		for (int c = 0; c < k; c++)
		{
			if (sizes[c] > 0)
			{
				for (int j = 0; j < d; j++)
					centres[(size_t) c * d + j] = sums[(size_t) c * d + j] / (double) sizes[c];
			}
			else
			{
				/* empty cluster: restart it at the worst-served point */
				int64_t		far = 0;

				for (int64_t i = 1; i < n; i++)
					if (dist[i] > dist[far])
						far = i;
				memcpy(centres + (size_t) c * d, X + far * d, sizeof(double) * d);
				dist[far] = 0.0;
			}
		}
	}
	/* final sizes and inertia for the final assignment */
	memset(sizes, 0, sizeof(int64_t) * k);
	info->inertia = 0.0;
	for (int64_t i = 0; i < n; i++)
	{
		sizes[assign[i]]++;
		info->inertia += sqdist(X + i * d, centres + (size_t) assign[i] * d, d);
	}
	return RP_OK;
}
