/*
 * test_kmeans.c
 *	  rp_kmeans_fit finds well-separated clusters, is reproducible for a
 *	  seed, and reports sizes and inertia matching a naive recount.
 */
#include "unit.h"
#include "rp_kmeans.h"

#include <string.h>

#define N 300
#define D 2
#define K 3

static double X[N * D];

static void
test_separated(void)
{
	double		centres[K * D], centres2[K * D];
	int32_t		assign[N], assign2[N];
	int64_t		sizes[K];
	double		work[N + K * D];
	rp_kmeans_info info;
	const double truth[K][D] = {{0, 0}, {10, 10}, {-10, 10}};
	uint64_t	s = 7;
	double		inertia = 0;
	int64_t		count[K] = {0};

	for (int i = 0; i < N; i++)
		for (int j = 0; j < D; j++)
		{
			s = s * 6364136223846793005ULL + 1;
			X[i * D + j] = truth[i % K][j] + ((double) (s >> 11) / 9007199254740992.0 - 0.5);
		}
	CHECK(rp_kmeans_workspace(N, D, K) == N + K * D);
	CHECK(rp_kmeans_fit(N, D, X, K, 42, 100, centres, assign, sizes, work, NULL, &info) == RP_OK);
	CHECK(info.converged);
	/* every true group maps to one cluster */
	for (int i = K; i < N; i++)
		CHECK(assign[i] == assign[i % K]);
	CHECK(assign[0] != assign[1] && assign[1] != assign[2] && assign[0] != assign[2]);
	for (int i = 0; i < N; i++)
	{
		double		dx = X[i * D] - centres[assign[i] * D];
		double		dy = X[i * D + 1] - centres[assign[i] * D + 1];

		inertia += dx * dx + dy * dy;
		count[assign[i]]++;
	}
	CHECK_NEAR(info.inertia, inertia, 1e-12);
	for (int c = 0; c < K; c++)
		CHECK(sizes[c] == count[c] && sizes[c] == N / K);
	/* same seed, same answer */
	CHECK(rp_kmeans_fit(N, D, X, K, 42, 100, centres2, assign2, sizes, work, NULL, &info) == RP_OK);
	CHECK(memcmp(assign, assign2, sizeof(assign)) == 0);
	CHECK(memcmp(centres, centres2, sizeof(centres)) == 0);
}

static void
test_edges(void)
{
	double		x[4] = {1, 1, 1, 1};
	double		c[4 * 1];
	int32_t		a[4];
	int64_t		sz[4];
	double		work[8];
	rp_kmeans_info info;

	/* all points equal, k = 2: still two clusters, one may be a duplicate */
	CHECK(rp_kmeans_fit(4, 1, x, 2, 1, 10, c, a, sz, work, NULL, &info) == RP_OK);
	CHECK(sz[0] + sz[1] == 4);
	CHECK_NEAR(info.inertia, 0, 1e-15);
	CHECK(rp_kmeans_fit(4, 1, x, 5, 1, 10, c, a, sz, work, NULL, &info) == RP_EINVAL);
	CHECK(rp_kmeans_fit(4, 1, x, 0, 1, 10, c, a, sz, work, NULL, &info) == RP_EINVAL);
}

int
main(void)
{
	RUN(test_separated);
	RUN(test_edges);
	UNIT_DONE();
}
