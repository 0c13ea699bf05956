/*
 * test_bandit.c
 *	  Unit tests of the bandit policies (src/core/rp_bandit.c): exact
 *	  probabilities of the deterministic policies, Monte-Carlo propensities
 *	  against closed forms, LinUCB against an explicit inverse, and seeded
 *	  regret simulations (Bernoulli arms, linear rewards).
 */
#include "unit.h"

#include <string.h>

#include "rp_bandit.h"

static double work[4096];

static void
test_pick(void)
{
	double		p[4] = {0.25, 0.0, 0.5, 0.25};

	CHECK(rp_bandit_pick(p, 4, 0.0) == 0);
	CHECK(rp_bandit_pick(p, 4, 0.2499) == 0);
	CHECK(rp_bandit_pick(p, 4, 0.25) == 2);
	CHECK(rp_bandit_pick(p, 4, 0.7499) == 2);
	CHECK(rp_bandit_pick(p, 4, 0.75) == 3);
	CHECK(rp_bandit_pick(p, 4, 0.9999999999) == 3);
}

static void
test_epsilon_and_ucb(void)
{
	rp_bandit_cfg cfg;
	rp_bandit_arm arms[3] = {{10, 3, 3, 0, 0}, {10, 5, 5, 0, 0}, {4, 2, 2, 0, 0}};
	unsigned char el[3] = {1, 1, 1};
	double		p[3];

	rp_bandit_defaults(&cfg);
	cfg.policy = RP_BANDIT_EPSILON_GREEDY;
	cfg.epsilon = 0.3;
	CHECK(rp_bandit_probabilities(&cfg, 3, arms, el, NULL, NULL, p, work) == RP_OK);
	/* arms 1 and 2 tie at mean 0.5 */
	CHECK_NEAR(p[0], 0.1, 1e-15);
	CHECK_NEAR(p[1], 0.35 + 0.1, 1e-15);
	CHECK_NEAR(p[2], 0.35 + 0.1, 1e-15);
	el[1] = 0;
	CHECK(rp_bandit_probabilities(&cfg, 3, arms, el, NULL, NULL, p, work) == RP_OK);
	CHECK_NEAR(p[0], 0.15, 1e-15);
	CHECK(p[1] == 0.0);
	CHECK_NEAR(p[2], 0.85, 1e-15);
	el[1] = 1;

	cfg.policy = RP_BANDIT_UCB1;
	CHECK(rp_bandit_probabilities(&cfg, 3, arms, el, NULL, NULL, p, work) == RP_OK);
	/* arm 2 has the fewest pulls: 0.5 + sqrt(2 ln 24 / 4) is the largest */
	CHECK(p[2] == 1.0 && p[0] == 0.0 && p[1] == 0.0);
	arms[0].n = 0;
	CHECK(rp_bandit_probabilities(&cfg, 3, arms, el, NULL, NULL, p, work) == RP_OK);
	CHECK(p[0] == 1.0);
}

static void
test_thompson_mc(void)
{
	rp_bandit_cfg cfg;
	/* Beta(2,1) against Beta(1,1): P(X > Y) = 2/3 */
	rp_bandit_arm arms[2] = {{1, 1, 1, 0, 0}, {0, 0, 0, 0, 0}};
	unsigned char el[2] = {1, 1};
	double		p[2];
	rp_rng		rng;

	rp_bandit_defaults(&cfg);
	cfg.draws = 100000;
	rp_rng_seed(&rng, 7);
	CHECK(rp_bandit_probabilities(&cfg, 2, arms, el, NULL, &rng, p, work) == RP_OK);
	CHECK(fabs(p[0] - 2.0 / 3.0) < 0.006);	/* 4 standard errors */
	CHECK_NEAR(p[0] + p[1], 1.0, 1e-12);

	/* Gaussian: two arms, P(N(m1,v1) > N(m2,v2)) = Phi((m1-m2)/sqrt(v1+v2)) */
	cfg.binary = 0;
	arms[0] = (rp_bandit_arm) {3, 6, 14, 0, 0};
	arms[1] = (rp_bandit_arm) {1, 1, 1, 0, 0};
	CHECK(rp_bandit_probabilities(&cfg, 2, arms, el, NULL, &rng, p, work) == RP_OK);
	{
		/* mu = (6+0)/4 = 1.5, var = (14 - 12 + 1)/16; mu2 = 0.5, var2 = 1/4 */
		double		z = (1.5 - 0.5) / sqrt(3.0 / 16 + 0.25);
		double		want = 0.5 * erfc(-z / sqrt(2.0));

		CHECK(fabs(p[0] - want) < 0.006);
	}
	/* Beta draws: the mean of Beta(0.5, 2.5) is 1/6 */
	{
		double		s = 0;

		for (int i = 0; i < 100000; i++)
			s += rp_bandit_beta(&rng, 0.5, 2.5);
		CHECK(fabs(s / 100000 - 1.0 / 6.0) < 0.003);
	}
}

/* LinUCB index against an explicit Gauss-Jordan inverse */
static void
test_linucb(void)
{
	enum
	{
		D = 3
	};
	rp_bandit_cfg cfg;
	double		G[2][D * D] = {{0}},
				b[2][D] = {{0}};
	rp_bandit_arm arms[2] = {{0, 0, 0, G[0], b[0]}, {0, 0, 0, G[1], b[1]}};
	unsigned char el[2] = {1, 1};
	double		x[D] = {0.3, -1.0, 2.0};
	double		p[2];
	rp_rng		rng;
	double		idx[2];

	rp_bandit_defaults(&cfg);
	cfg.policy = RP_BANDIT_LINUCB;
	cfg.dim = D;
	cfg.alpha = 0.7;
	cfg.lambda = 0.5;
	rp_rng_seed(&rng, 3);
	for (int t = 0; t < 40; t++)
	{
		double		z[D];

		for (int j = 0; j < D; j++)
			z[j] = rp_rng_normal(&rng);
		rp_bandit_update(&cfg, &arms[t % 2], z, z[0] - 0.5 * z[2] + (t % 2));
	}
	for (int a = 0; a < 2; a++)
	{
		double		M[D][2 * D];
		double		th[D] = {0},
					q = 0,
					m = 0;

		for (int i = 0; i < D; i++)
			for (int j = 0; j < 2 * D; j++)
				M[i][j] = j < D ? G[a][i * D + j] + (i == j ? cfg.lambda : 0) : (j - D == i);
		for (int c = 0; c < D; c++)
		{
			double		piv = M[c][c];

			for (int j = 0; j < 2 * D; j++)
				M[c][j] /= piv;
			for (int r = 0; r < D; r++)
				if (r != c)
				{
					double		f = M[r][c];

					for (int j = 0; j < 2 * D; j++)
						M[r][j] -= f * M[c][j];
				}
		}
		for (int i = 0; i < D; i++)
			for (int j = 0; j < D; j++)
			{
				th[i] += M[i][D + j] * b[a][j];
				q += x[i] * M[i][D + j] * x[j];
			}
		for (int i = 0; i < D; i++)
			m += x[i] * th[i];
		idx[a] = m + cfg.alpha * sqrt(q);
	}
	CHECK(rp_bandit_probabilities(&cfg, 2, arms, el, x, NULL, p, work) == RP_OK);
	CHECK(p[idx[0] > idx[1] ? 0 : 1] == 1.0);
	/* non-finite context */
	x[1] = NAN;
	CHECK(rp_bandit_probabilities(&cfg, 2, arms, el, x, NULL, p, work) == RP_ENUMERIC);
}

/* cumulative expected regret of a policy on Bernoulli arms */
static double
bernoulli_regret(rp_bandit_policy policy, const double *mu, int k, int rounds, uint64_t seed,
				 int checkpoint, double *at_checkpoint)
{
	rp_bandit_cfg cfg;
	rp_bandit_arm arms[8];
	unsigned char el[8];
	double		p[8],
				best = 0,
				regret = 0;
	rp_rng		rng;

	rp_bandit_defaults(&cfg);
	cfg.policy = policy;
	cfg.draws = 1;				/* one posterior draw: exact Thompson sampling */
	memset(arms, 0, sizeof(arms));
	for (int i = 0; i < k; i++)
	{
		el[i] = 1;
		best = fmax(best, mu[i]);
	}
	rp_rng_seed(&rng, seed);
	for (int t = 1; t <= rounds; t++)
	{
		int			a;

		rp_bandit_probabilities(&cfg, k, arms, el, NULL, &rng, p, work);
		a = rp_bandit_pick(p, k, rp_rng_uniform(&rng));
		regret += best - mu[a];
		rp_bandit_update(&cfg, &arms[a], NULL, rp_rng_uniform(&rng) < mu[a] ? 1.0 : 0.0);
		if (t == checkpoint)
			*at_checkpoint = regret;
	}
	return regret;
}

static void
test_bernoulli_regret(void)
{
	double		mu[4] = {0.05, 0.1, 0.15, 0.5};
	double		r[4] = {0},
				c[4] = {0};
	rp_bandit_policy pol[4] = {RP_BANDIT_THOMPSON, RP_BANDIT_UCB1, RP_BANDIT_EPSILON_GREEDY,
	RP_BANDIT_UNIFORM};

	for (int s = 0; s < 3; s++)
		for (int i = 0; i < 4; i++)
		{
			double		ck = 0;

			r[i] += bernoulli_regret(pol[i], mu, 4, 10000, 100 + s, 1000, &ck) / 3;
			c[i] += ck / 3;
		}
	printf("regret at 1000 / 10000 rounds: thompson %.1f / %.1f, ucb1 %.1f / %.1f, "
		   "epsilon_greedy %.1f / %.1f, uniform %.1f / %.1f\n",
		   c[0], r[0], c[1], r[1], c[2], r[2], c[3], r[3]);
	/* log-shaped bounds: C ln t at t = 1000 and t = 10000 */
	CHECK(c[0] < 6 * log(1000.0) && r[0] < 6 * log(10000.0));
	CHECK(c[1] < 20 * log(1000.0) && r[1] < 20 * log(10000.0));
	CHECK(r[0] < 0.5 * r[2] && r[1] < 0.75 * r[2]);
	CHECK(r[2] < 0.25 * r[3]);
}

/* a linear-reward environment: r = x' theta_a + noise, x ~ N(0, I) */
static double
linear_regret(rp_bandit_policy policy, int rounds, uint64_t seed)
{
	enum
	{
		D = 5, K = 4
	};
	rp_bandit_cfg cfg;
	static double G[K][D * D],
				b[K][D];
	rp_bandit_arm arms[K];
	unsigned char el[K];
	double		theta[K][D],
				x[D],
				p[K],
				regret = 0;
	rp_rng		env,
				rng;

	rp_bandit_defaults(&cfg);
	cfg.policy = policy;
	cfg.binary = 0;
	cfg.draws = 1;
	if (policy == RP_BANDIT_LINUCB || policy == RP_BANDIT_LIN_TS)
		cfg.dim = D;
	cfg.alpha = policy == RP_BANDIT_LIN_TS ? 0.3 : 1.0;
	memset(G, 0, sizeof(G));
	memset(b, 0, sizeof(b));
	rp_rng_seed(&env, 42);
	for (int a = 0; a < K; a++)
	{
		arms[a] = (rp_bandit_arm) {0, 0, 0, G[a], b[a]};
		el[a] = 1;
		for (int j = 0; j < D; j++)
			theta[a][j] = rp_rng_normal(&env);
	}
	rp_rng_seed(&env, seed);
	rp_rng_seed(&rng, seed + 1);
	for (int t = 0; t < rounds; t++)
	{
		double		mean[K],
					best = -INFINITY;
		int			a;

		for (int j = 0; j < D; j++)
			x[j] = rp_rng_normal(&env);
		for (int i = 0; i < K; i++)
		{
			mean[i] = 0;
			for (int j = 0; j < D; j++)
				mean[i] += x[j] * theta[i][j];
			best = fmax(best, mean[i]);
		}
		rp_bandit_probabilities(&cfg, K, arms, el, x, &rng, p, work);
		a = rp_bandit_pick(p, K, rp_rng_uniform(&rng));
		regret += best - mean[a];
		rp_bandit_update(&cfg, &arms[a], x, mean[a] + 0.5 * rp_rng_normal(&env));
	}
	return regret;
}

static void
test_linear_regret(void)
{
	double		lin = linear_regret(RP_BANDIT_LINUCB, 3000, 9);
	double		lts = linear_regret(RP_BANDIT_LIN_TS, 3000, 9);
	double		ts = linear_regret(RP_BANDIT_THOMPSON, 3000, 9);
	double		ucb = linear_regret(RP_BANDIT_UCB1, 3000, 9);
	double		eps = linear_regret(RP_BANDIT_EPSILON_GREEDY, 3000, 9);

	printf("linear regret over 3000 rounds: linucb %.1f, lin_ts %.1f, thompson %.1f, ucb1 %.1f, epsilon_greedy %.1f\n",
		   lin, lts, ts, ucb, eps);
	CHECK(lin < 0.25 * ts && lin < 0.25 * ucb && lin < 0.25 * eps);
	CHECK(lts < 0.25 * ts && lts < 0.25 * ucb && lts < 0.25 * eps);
}

static void
test_check(void)
{
	rp_bandit_cfg cfg;
	const char *why;

	rp_bandit_defaults(&cfg);
	CHECK(rp_bandit_check(&cfg, &why) == RP_OK);
	cfg.epsilon = 1.5;
	CHECK(rp_bandit_check(&cfg, &why) == RP_EINVAL && why != NULL);
	rp_bandit_defaults(&cfg);
	cfg.policy = RP_BANDIT_LINUCB;
	CHECK(rp_bandit_check(&cfg, &why) == RP_EINVAL);
	cfg.dim = 4;
	CHECK(rp_bandit_check(&cfg, &why) == RP_OK);
}

/*
 * Tiny Beta shapes: the gammas underflow to 0 and X / (X + Y) was NaN, which
 * never wins an argmax, so Beta(0.001, 0.001) arms that should be alike
 * were not (the first arm won whenever the others drew NaN).
 */
static void
test_beta_tiny_shapes(void)
{
	rp_rng		rng;
	rp_bandit_cfg cfg;
	rp_bandit_arm arms[4] = {{0}};
	unsigned char el[4] = {1, 1, 1, 1};
	double		p[4];
	int			nonfinite = 0,
				outside = 0;
	double		s = 0;

	rp_rng_seed(&rng, 11);
	for (int i = 0; i < 100000; i++)
	{
		double		v = rp_bandit_beta(&rng, 0.001, 0.001);

		nonfinite += !rp_finite(v);
		outside += rp_finite(v) && (v < 0.0 || v > 1.0);
		if (rp_finite(v))
			s += v;
	}
	CHECK(nonfinite == 0);
	CHECK(outside == 0);
	CHECK(fabs(s / 100000 - 0.5) < 0.01);
	/* Beta(1e-300, 2): almost surely 0, never NaN */
	for (int i = 0; i < 1000; i++)
	{
		double		v = rp_bandit_beta(&rng, 1e-300, 2.0);

		CHECK(rp_finite(v) && v >= 0.0 && v <= 1.0);
	}
	/* symmetric arms get symmetric probabilities */
	rp_bandit_defaults(&cfg);
	cfg.prior_a = cfg.prior_b = 0.001;
	cfg.draws = 40000;
	CHECK(rp_bandit_probabilities(&cfg, 4, arms, el, NULL, &rng, p, work) == RP_OK);
	for (int i = 0; i < 4; i++)
		CHECK(fabs(p[i] - 0.25) < 0.015);
}

int
main(void)
{
	RUN(test_pick);
	RUN(test_epsilon_and_ucb);
	RUN(test_thompson_mc);
	RUN(test_linucb);
	RUN(test_bernoulli_regret);
	RUN(test_linear_regret);
	RUN(test_check);
	RUN(test_beta_tiny_shapes);
	UNIT_DONE();
}
