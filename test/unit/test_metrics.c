/*
 * test_metrics.c
 *	  Ranking metrics against hand-computed values, and tie handling against
 *	  a naive reference that averages the plain (tie-free) metrics over every
 *	  order of the tied entries.
 */
#include "unit.h"
#include "rp_metrics.h"

#include <string.h>

#define TOL 1e-12

/* plain metrics of a strict list, straight from the textbook definitions */
static void
naive_strict(int k, int n, const unsigned char *rel, int nrel, rp_rank_metrics *m)
{
	double		hits = 0,
				dcg = 0,
				idcg = 0,
				ap = 0,
				rr = 0;
	int			ideal = nrel < k ? nrel : k;
	int			seen = 0;

	for (int p = 1; p <= n && p <= k; p++)
	{
		if (!rel[p - 1])
			continue;
		hits += 1;
		dcg += 1.0 / (log((double) p + 1) / log(2.0));
		ap += hits / p;
		if (!seen)
			rr = 1.0 / p, seen = 1;
	}
	for (int p = 1; p <= ideal; p++)
		idcg += 1.0 / (log((double) p + 1) / log(2.0));
	m->hits = hits;
	m->precision = hits / k;
	m->recall = hits / nrel;
	m->f1 = (hits > 0) ? 2 * m->precision * m->recall / (m->precision + m->recall) : 0;
	m->ndcg = dcg / idcg;
	m->ap = ap / ideal;
	m->hit = hits > 0;
	m->rr = rr;
}

/* averages naive_strict over all orders of the list consistent with keys */
static int	perm[16];
static int	used[16];
static double acc_sum[8];
static long acc_count;

static void
enumerate(int depth, int k, int n, const double *keys, const unsigned char *rel, int nrel)
{
	if (depth == n)
	{
		unsigned char r[16];
		rp_rank_metrics m;

		for (int i = 0; i < n; i++)
			r[i] = rel[perm[i]];
		naive_strict(k, n, r, nrel, &m);
		acc_sum[0] += m.hits;
		acc_sum[1] += m.precision;
		acc_sum[2] += m.recall;
		acc_sum[3] += m.f1;
		acc_sum[4] += m.ndcg;
		acc_sum[5] += m.ap;
		acc_sum[6] += m.hit;
		acc_sum[7] += m.rr;
		acc_count++;
		return;
	}
	for (int i = 0; i < n; i++)
	{
		/* position depth may only hold an entry of the tie group there */
		if (used[i] || keys[i] != keys[depth])
			continue;
		used[i] = 1;
		perm[depth] = i;
		enumerate(depth + 1, k, n, keys, rel, nrel);
		used[i] = 0;
	}
}

static void
check_against_naive(int k, int n, const double *keys, const unsigned char *rel, int nrel)
{
	rp_rank_metrics m;

	memset(acc_sum, 0, sizeof(acc_sum));
	memset(used, 0, sizeof(used));
	acc_count = 0;
	enumerate(0, k, n, keys, rel, nrel);
	CHECK(rp_rank_metrics_user(k, n, keys, rel, nrel, &m) == RP_OK);
	CHECK_NEAR(m.hits, acc_sum[0] / acc_count, TOL);
	CHECK_NEAR(m.precision, acc_sum[1] / acc_count, TOL);
	CHECK_NEAR(m.recall, acc_sum[2] / acc_count, TOL);
	CHECK_NEAR(m.f1, acc_sum[3] / acc_count, TOL);
	CHECK_NEAR(m.ndcg, acc_sum[4] / acc_count, TOL);
	CHECK_NEAR(m.ap, acc_sum[5] / acc_count, TOL);
	CHECK_NEAR(m.hit, acc_sum[6] / acc_count, TOL);
	CHECK_NEAR(m.rr, acc_sum[7] / acc_count, TOL);
}

/* list [rel, no, rel, no, no], |R| = 3, k = 3: worked by hand */
static void
test_hand_example(void)
{
	unsigned char rel[] = {1, 0, 1, 0, 0};
	rp_rank_metrics m;
	double		d1 = 1.0,
				d3 = 0.5,		/* 1/log2(4) */
				d2 = 1.0 / log2(3.0);

	CHECK(rp_rank_metrics_user(3, 5, NULL, rel, 3, &m) == RP_OK);
	CHECK_NEAR(m.hits, 2.0, TOL);
	CHECK_NEAR(m.precision, 2.0 / 3.0, TOL);
	CHECK_NEAR(m.recall, 2.0 / 3.0, TOL);
	CHECK_NEAR(m.f1, 2.0 / 3.0, TOL);
	CHECK_NEAR(m.ndcg, (d1 + d3) / (d1 + d2 + d3), TOL);
	CHECK_NEAR(m.ap, (1.0 + 2.0 / 3.0) / 3.0, TOL);
	CHECK_NEAR(m.hit, 1.0, TOL);
	CHECK_NEAR(m.rr, 1.0, TOL);
}

/* fewer relevant items than k: NDCG and AP normalise by min(k, |R|) */
static void
test_fewer_than_k(void)
{
	unsigned char rel[] = {0, 1, 0, 0};
	rp_rank_metrics m;

	CHECK(rp_rank_metrics_user(10, 4, NULL, rel, 1, &m) == RP_OK);
	CHECK_NEAR(m.precision, 0.1, TOL);
	CHECK_NEAR(m.recall, 1.0, TOL);
	CHECK_NEAR(m.f1, 2.0 / 11.0, TOL);
	CHECK_NEAR(m.ndcg, 1.0 / log2(3.0), TOL);
	CHECK_NEAR(m.ap, 0.5, TOL);
	CHECK_NEAR(m.rr, 0.5, TOL);
}

/* a tie of two entries, one relevant, straddling k = 1 */
static void
test_tie_straddling(void)
{
	double		keys[] = {1, 1, 2};
	unsigned char rel[] = {0, 1, 0};
	double		w[3];
	rp_rank_metrics m;

	CHECK(rp_rank_metrics_user(1, 3, keys, rel, 1, &m) == RP_OK);
	CHECK_NEAR(m.hits, 0.5, TOL);
	CHECK_NEAR(m.precision, 0.5, TOL);
	CHECK_NEAR(m.ndcg, 0.5, TOL);
	CHECK_NEAR(m.hit, 0.5, TOL);
	CHECK_NEAR(m.rr, 0.5, TOL);
	CHECK_NEAR(m.ap, 0.5, TOL);
	CHECK(rp_rank_weights(1, 3, keys, w) == RP_OK);
	CHECK_NEAR(w[0], 0.5, TOL);
	CHECK_NEAR(w[1], 0.5, TOL);
	CHECK_NEAR(w[2], 0.0, TOL);
	/* k = 2: the whole group is in; rr = (1 + 1/2) / 2 */
	CHECK(rp_rank_metrics_user(2, 3, keys, rel, 1, &m) == RP_OK);
	CHECK_NEAR(m.hit, 1.0, TOL);
	CHECK_NEAR(m.rr, 0.75, TOL);
}

static void
test_empty_and_errors(void)
{
	unsigned char rel[] = {1, 1};
	double		bad[] = {2, 1};
	double		nan_keys[] = {1, NAN};
	rp_rank_metrics m;

	CHECK(rp_rank_metrics_user(5, 0, NULL, NULL, 2, &m) == RP_OK);
	CHECK(m.precision == 0 && m.ndcg == 0 && m.ap == 0 && m.hit == 0 && m.rr == 0);
	CHECK(rp_rank_metrics_user(0, 2, NULL, rel, 2, &m) == RP_EINVAL);
	CHECK(rp_rank_metrics_user(5, 2, NULL, rel, 1, &m) == RP_EINVAL);
	CHECK(rp_rank_metrics_user(5, 2, NULL, rel, 0, &m) == RP_EINVAL);
	CHECK(rp_rank_metrics_user(5, 2, bad, rel, 2, &m) == RP_EINVAL);
	CHECK(rp_rank_metrics_user(5, 2, nan_keys, rel, 2, &m) == RP_EINVAL);
}

/* pseudo-random lists with ties, each checked against the enumeration */
static void
test_random_ties(void)
{
	uint64_t	s = 12345;

	for (int trial = 0; trial < 400; trial++)
	{
		int			n,
					k,
					nrel = 0;
		double		keys[8];
		unsigned char rel[8];

#define NEXT() (s = s * 6364136223846793005ULL + 1442695040888963407ULL, (int) (s >> 33))
		n = NEXT() % 8;
		k = 1 + NEXT() % 9;
		keys[0] = 0;
		for (int i = 0; i < n; i++)
		{
			if (i > 0)
				keys[i] = keys[i - 1] + (NEXT() % 2);
			rel[i] = NEXT() % 2;
			nrel += rel[i];
		}
		nrel += NEXT() % 3;
		if (nrel == 0)
			nrel = 1;
		check_against_naive(k, n, keys, rel, nrel);
#undef NEXT
	}
}

static void
test_accumulators(void)
{
	rp_metrics_acc acc;
	rp_rank_metrics a = {1, 0.1, 0.5, 0.2, 0.3, 0.4, 1, 1},
				b = {0, 0, 0, 0, 0, 0, 0, 0},
				mean;
	rp_error_acc e;
	double		rmse,
				mae;
	double		exposure[] = {2, 0, 1, 0};
	double		pop[] = {10, 1, 4, 1};
	rp_catalogue_metrics c;

	rp_metrics_acc_init(&acc);
	CHECK(rp_metrics_acc_mean(&acc, &mean) == RP_EINVAL);
	rp_metrics_acc_add(&acc, &a);
	rp_metrics_acc_add(&acc, &b);
	CHECK(rp_metrics_acc_mean(&acc, &mean) == RP_OK);
	CHECK_NEAR(mean.precision, 0.05, TOL);
	CHECK_NEAR(mean.rr, 0.5, TOL);

	rp_error_acc_init(&e);
	CHECK(rp_error_acc_result(&e, &rmse, &mae) == RP_EINVAL);
	CHECK(rp_error_acc_add(&e, 3, 4) == RP_OK);
	CHECK(rp_error_acc_add(&e, 5, 2) == RP_OK);
	CHECK(rp_error_acc_add(&e, NAN, 2) == RP_ENUMERIC);
	CHECK(rp_error_acc_result(&e, &rmse, &mae) == RP_OK);
	CHECK_NEAR(rmse, sqrt(5.0), TOL);
	CHECK_NEAR(mae, 2.0, TOL);

	CHECK(rp_catalogue_metrics_compute(4, exposure, pop, &c) == RP_OK);
	CHECK_NEAR(c.coverage, 0.5, TOL);
	CHECK_NEAR(c.popularity_recommended, 24.0 / 3.0, TOL);
	CHECK_NEAR(c.popularity_catalogue, 4.0, TOL);
	CHECK_NEAR(c.popularity_bias, 2.0, TOL);
	exposure[1] = -1;
	CHECK(rp_catalogue_metrics_compute(4, exposure, pop, &c) == RP_ENUMERIC);
	CHECK(rp_catalogue_metrics_compute(0, exposure, pop, &c) == RP_EINVAL);
}

/* values from an independent Python implementation of the documented hash */
static void
test_split_position(void)
{
	int			below = 0;

	CHECK(rp_split_position("1", 1, "2", 1, 0) == 0.15228039500711454);
	CHECK(rp_split_position("42", 2, "SKU-7", 5, 0) == 0.46846792307539387);
	CHECK(rp_split_position("42", 2, "SKU-7", 5, 7) == 0.6389392583553064);
	CHECK(rp_split_position("abc", 3, "", 0, -3) == 0.7159445749456573);
	/* the separator keeps ("1", "23") apart from ("12", "3") */
	CHECK(rp_split_position("1", 1, "23", 2, 0) != rp_split_position("12", 2, "3", 1, 0));
	for (int u = 0; u < 200; u++)
		for (int i = 0; i < 100; i++)
		{
			char		a[16],
						b[16];
			int			la = snprintf(a, sizeof(a), "%d", u),
						lb = snprintf(b, sizeof(b), "%d", i);
			double		p = rp_split_position(a, la, b, lb, 1);

			CHECK(p >= 0.0 && p < 1.0);
			below += p < 0.2;
		}
	/* 20,000 pairs at 20 %: 4000 expected, sd about 57 */
	CHECK(below > 3800 && below < 4200);
}

int
main(void)
{
	RUN(test_hand_example);
	RUN(test_fewer_than_k);
	RUN(test_tie_straddling);
	RUN(test_empty_and_errors);
	RUN(test_random_ties);
	RUN(test_accumulators);
	RUN(test_split_position);
	UNIT_DONE();
}
