/*
 * test_parallel.c
 *	  rp_parallel_for covers every row exactly once, for any thread count,
 *	  and stops when the cancel hook asks.
 */
#include "unit.h"
#include "rp_parallel.h"

#include <stdatomic.h>
#include <string.h>

static int	hits[10007];

static void
mark(void *ctx, int thread, int64_t begin, int64_t end)
{
	for (int64_t i = begin; i < end; i++)
		hits[i]++;
}

static void
test_covers_each_row_once(void)
{
	for (int threads = 1; threads <= 4; threads++)
	{
		memset(hits, 0, sizeof(hits));
		CHECK(rp_parallel_for(threads, 10007, 97, mark, NULL, NULL) == RP_OK);
		for (int i = 0; i < 10007; i++)
			CHECK(hits[i] == 1);
	}
}

static int	calls;
static int
stop_after_three(void *arg)
{
	return ++calls > 3;
}

static void
test_cancel(void)
{
	rp_cancel	c = {stop_after_three, NULL};

	calls = 0;
	memset(hits, 0, sizeof(hits));
	CHECK(rp_parallel_for(1, 10000, 10, mark, NULL, &c) == RP_ECANCELED);
	CHECK(hits[0] == 1);
	CHECK(hits[9999] == 0);
}

static void
test_edges(void)
{
	CHECK(rp_parallel_for(2, 0, 10, mark, NULL, NULL) == RP_OK);
	CHECK(rp_parallel_for(2, -1, 10, mark, NULL, NULL) == RP_EINVAL);
	CHECK(rp_parallel_for(2, 5, 10, NULL, NULL, NULL) == RP_EINVAL);
	CHECK(rp_cpu_count() >= 1);
}

int
main(void)
{
	RUN(test_covers_each_row_once);
	RUN(test_cancel);
	RUN(test_edges);
	UNIT_DONE();
}
