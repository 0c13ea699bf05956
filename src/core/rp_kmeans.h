/*
 * rp_kmeans.h
 *	  Seeded k-means clustering (Lloyd's iterations from a k-means++ start)
 *	  of n points in d dimensions.
 */
#ifndef RP_KMEANS_H
#define RP_KMEANS_H

#include "rp_core.h"

typedef struct rp_kmeans_info
{
	int			iterations;		/* Lloyd passes run */
	int			converged;		/* 1 when no point changed cluster */
	double		inertia;		/* sum of squared distances to centres */
} rp_kmeans_info;

/* Doubles of scratch space rp_kmeans_fit needs. */
extern size_t rp_kmeans_workspace(int64_t n, int d, int k);

/*
 * Clusters the rows of X (n x d, row-major, finite) into k groups.
 *
 * k: 1 <= k <= n.  seed: any value; the same seed and data give the same
 * result.  max_iter >= 1 bounds the Lloyd passes.
 * centres: k x d out; assign: n out (0..k-1); sizes: k out.
 * work: rp_kmeans_workspace(n, d, k) doubles.  cancel: polled every pass.
 * Returns RP_OK, RP_EINVAL, RP_ECANCELED.
 */
extern rp_status rp_kmeans_fit(int64_t n, int d, const double *X, int k,
							   uint64_t seed, int max_iter, double *centres,
							   int32_t *assign, int64_t *sizes, double *work,
							   const rp_cancel *cancel, rp_kmeans_info *info);

#endif							/* RP_KMEANS_H */
