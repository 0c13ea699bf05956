/*
 * rp_bandit.c
 *	  Bandit policies: choice probabilities, picks, updates and summaries
 *	  on additive per-arm sums (see rp_bandit.h for the formulas).
 *
 * Numerics.  Sums are doubles.  Ties between indexes are exact equalities
 * of doubles and share the probability evenly, so a policy with untried
 * arms (index +infinity) spreads over them.  For the linear policies the
 * matrix A = lambda I + G is factored with dpotrf (lower); theta and
 * x' A^-1 x come from triangular solves (dtrsv), never from an explicit
 * inverse.  Gamma variates for Beta draws use Marsaglia and Tsang (2000),
 * "A simple method for generating gamma variables", with the u^(1/a)
 * boost for shapes below 1.
 */
#include "rp_bandit.h"

#include <math.h>
#include <string.h>

#include "rp_blas.h"

void
rp_bandit_defaults(rp_bandit_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = RP_BANDIT_THOMPSON;
	cfg->binary = 1;
	cfg->prior_a = 1.0;
	cfg->prior_b = 1.0;
	cfg->prior_mean = 0.0;
	cfg->prior_var = 1.0;
	cfg->epsilon = 0.1;
	cfg->alpha = 1.0;
	cfg->lambda = 1.0;
	cfg->draws = 100;
}

static int
is_linear(const rp_bandit_cfg *cfg)
{
	return cfg->policy == RP_BANDIT_LINUCB || cfg->policy == RP_BANDIT_LIN_TS;
}

rp_status
rp_bandit_check(const rp_bandit_cfg *cfg, const char **why)
{
	*why = NULL;
	if (!(cfg->prior_a > 0 && rp_finite(cfg->prior_a) && cfg->prior_b > 0 && rp_finite(cfg->prior_b)))
		*why = "the Beta prior must have two positive finite parameters";
	else if (!(cfg->prior_var > 0 && rp_finite(cfg->prior_var) && rp_finite(cfg->prior_mean)))
		*why = "the prior variance must be positive and finite, the prior mean finite";
	else if (!(cfg->epsilon >= 0 && cfg->epsilon <= 1))
		*why = "epsilon must be between 0 and 1";
	else if (!(cfg->alpha >= 0 && rp_finite(cfg->alpha)))
		*why = "alpha must be a finite number >= 0";
	else if (!(cfg->lambda > 0 && rp_finite(cfg->lambda)))
		*why = "lambda must be a finite number > 0";
	else if (cfg->draws < 1 || cfg->draws > RP_BANDIT_MAX_DRAWS)
		*why = "draws must be between 1 and 100000";
	else if (is_linear(cfg) && (cfg->dim < 1 || cfg->dim > RP_BANDIT_MAX_DIM))
		*why = "a contextual policy needs a dimension between 1 and 256";
	else if (!is_linear(cfg) && cfg->dim != 0)
		*why = "only linucb and lin_ts take a dimension";
	return *why ? RP_EINVAL : RP_OK;
}

size_t
rp_bandit_workspace_size(const rp_bandit_cfg *cfg, int k)
{
	size_t		d = is_linear(cfg) ? (size_t) cfg->dim : 0;

	return 3 * (size_t) k + d * d + 2 * d + 1;
}

/* ---------- random variates ---------- */

/*
 * Normal draws for the Monte-Carlo loops: Box-Muller keeping both halves
 * (cos and sin), so one logarithm and one square root serve two draws.
 * The pair cache lives on the caller's stack: draws stay a pure function
 * of the rng state.
 */
typedef struct normal_pair
{
	double		next;
	int			have;
} normal_pair;

static double
normal_draw(rp_rng *rng, normal_pair *np)
{
	double		u1,
				u2,
				r;

	if (np->have)
	{
		np->have = 0;
		return np->next;
	}
	u1 = 1.0 - rp_rng_uniform(rng);
	u2 = rp_rng_uniform(rng);
	r = sqrt(-2.0 * log(u1));
	np->next = r * sin(2.0 * M_PI * u2);
	np->have = 1;
	return r * cos(2.0 * M_PI * u2);
}

/* Marsaglia and Tsang, with their squeeze (no logarithm in ~98% of draws) */
static double
gamma_draw(rp_rng *rng, normal_pair *np, double a)
{
	double		boost = 1.0;
	double		d,
				c;

	if (a < 1.0)
	{
		/* Gamma(a) = Gamma(a + 1) * U^(1/a); 1 - U is in (0, 1] */
		boost = pow(1.0 - rp_rng_uniform(rng), 1.0 / a);
		a += 1.0;
	}
	d = a - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;)
	{
		double		x = normal_draw(rng, np);
		double		v = 1.0 + c * x;
		double		u;
		double		x2;

		if (v <= 0.0)
			continue;
		v = v * v * v;
		u = 1.0 - rp_rng_uniform(rng);
		x2 = x * x;
		if (u < 1.0 - 0.0331 * x2 * x2)
			return boost * d * v;
		if (log(u) < 0.5 * x2 + d - d * v + d * log(v))
			return boost * d * v;
	}
}

/*
 * log of a Gamma(a) draw; the same stream as gamma_draw, but a shape below 1
 * keeps its boost U^(1/a) as log(U) / a, which cannot underflow.
 */
static double
log_gamma_draw(rp_rng *rng, normal_pair *np, double a)
{
	double		log_boost = 0.0;

	if (a < 1.0)
	{
		log_boost = log(1.0 - rp_rng_uniform(rng)) / a;
		a += 1.0;
	}
	return log_boost + log(gamma_draw(rng, np, a));
}

/*
 * log(X / Y) for X ~ Gamma(a), Y ~ Gamma(b): the logit of a Beta(a, b) draw.
 * Thompson compares these instead of the draws when a prior shape is below
 * 1: such draws are mostly within a rounding of 0 or 1, where doubles tie
 * (or X / (X + Y) is 0 / 0), and a tie went to the first arm.
 */
static double
beta_logit_draw(rp_rng *rng, normal_pair *np, double a, double b)
{
	double		lx = log_gamma_draw(rng, np, a);
	double		ly = log_gamma_draw(rng, np, b);
	double		diff = lx - ly;

	return isnan(diff) ? 0.0 : diff;	/* both -infinity: shapes below ~1e-308 */
}

/*
 * Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).  For shapes
 * below 1 both gammas may underflow to 0 and X / (X + Y) would be NaN, so
 * the draw is then formed from its logit.
 */
static double
beta_draw(rp_rng *rng, normal_pair *np, double a, double b)
{
	double		x,
				y;

	if (a < 1.0 || b < 1.0)
		return 1.0 / (1.0 + exp(-beta_logit_draw(rng, np, a, b)));
	x = gamma_draw(rng, np, a);
	y = gamma_draw(rng, np, b);
	return x / (x + y);
}

double
rp_bandit_beta(rp_rng *rng, double a, double b)
{
	normal_pair np = {0, 0};

	return beta_draw(rng, &np, a, b);
}

/* ---------- helpers ---------- */

/* probabilities spread evenly over the eligible arms whose score is max */
static void
argmax_uniform(int k, const double *score, const unsigned char *eligible,
			   double weight, double *prob)
{
	double		best = -INFINITY;
	int			ties = 0;
	int			any = -1;

	for (int i = 0; i < k; i++)
		if (eligible[i])
		{
			if (any < 0)
				any = i;
			if (score[i] > best)
			{
				best = score[i];
				ties = 1;
			}
			else if (score[i] == best)
				ties++;
		}
	if (ties == 0)
	{
		/* every eligible score is -infinity or NaN-free -inf: all tie */
		for (int i = 0; i < k; i++)
			if (eligible[i])
				ties++;
		for (int i = 0; i < k; i++)
			if (eligible[i])
				prob[i] += weight / ties;
		return;
	}
	for (int i = 0; i < k; i++)
		if (eligible[i] && score[i] == best)
			prob[i] += weight / ties;
}

static double
gauss_mu(const rp_bandit_cfg *cfg, const rp_bandit_arm *a)
{
	return (a->s + cfg->prior_mean) / (a->n + 1.0);
}

static double
gauss_var(const rp_bandit_cfg *cfg, const rp_bandit_arm *a)
{
	double		dev = a->n > 0 ? a->ss - a->s * a->s / a->n : 0.0;

	if (dev < 0)
		dev = 0;				/* rounding of ss - s^2/n */
	return (dev + cfg->prior_var) / (a->n + 1.0) / (a->n + 1.0);
}

/*
 * Linear policies: for each eligible arm, mean[i] = x' theta and
 * width[i] = sqrt(x' A^-1 x), with A = lambda I + G factored in `fac`.
 */
static rp_status
linear_scores(const rp_bandit_cfg *cfg, int k, const rp_bandit_arm *arms,
			  const unsigned char *eligible, const double *x,
			  double *mean, double *width, double *fac, double *v)
{
	int			d = cfg->dim;

	for (int j = 0; j < d; j++)
		if (!rp_finite(x[j]))
			return RP_ENUMERIC;
	for (int i = 0; i < k; i++)
	{
		int			info = 0;
		double		q = 0,
					m = 0;

		if (!eligible[i])
			continue;
		for (int r = 0; r < d * d; r++)
			fac[r] = arms[i].G[r];
		for (int r = 0; r < d; r++)
			fac[r * d + r] += cfg->lambda;
		/* row-major lower == column-major upper: ask LAPACK for "U" */
		dpotrf_("U", &d, fac, &d, &info);
		if (info != 0)
			return RP_ENUMERIC;
		/* A = L L' with L row-major lower in fac; solve L v = x */
		memcpy(v, x, d * sizeof(double));
		cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, d, fac, d, v, 1);
		for (int j = 0; j < d; j++)
			q += v[j] * v[j];
		/* theta = A^-1 b: L w = b, L' theta = w; x' theta */
		memcpy(v, arms[i].b, d * sizeof(double));
		cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, d, fac, d, v, 1);
		cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, d, fac, d, v, 1);
		for (int j = 0; j < d; j++)
			m += x[j] * v[j];
		if (!rp_finite(m) || !rp_finite(q))
			return RP_ENUMERIC;
		mean[i] = m;
		width[i] = sqrt(q);
	}
	return RP_OK;
}

rp_status
rp_bandit_linear_scores(const rp_bandit_cfg *cfg, int k, const rp_bandit_arm *arms,
						const unsigned char *eligible, const double *x,
						double *mean, double *width, double *work)
{
	double	   *fac = work + 3 * k;

	if (!is_linear(cfg))
		return RP_EINVAL;
	return linear_scores(cfg, k, arms, eligible, x, mean, width, fac,
						 fac + (size_t) cfg->dim * cfg->dim);
}

/* ---------- probabilities ---------- */

rp_status
rp_bandit_probabilities(const rp_bandit_cfg *cfg, int k,
						const rp_bandit_arm *arms,
						const unsigned char *eligible,
						const double *x, rp_rng *rng,
						double *prob, double *work)
{
	double	   *score = work;
	double	   *p1 = work + k;
	double	   *p2 = work + 2 * k;
	int			n_eligible = 0;

	for (int i = 0; i < k; i++)
	{
		prob[i] = 0.0;
		n_eligible += eligible[i] != 0;
	}
	if (n_eligible == 0)
		return RP_EINVAL;

	switch (cfg->policy)
	{
		case RP_BANDIT_UNIFORM:
			for (int i = 0; i < k; i++)
				score[i] = 0.0;
			argmax_uniform(k, score, eligible, 1.0, prob);
			return RP_OK;

		case RP_BANDIT_EPSILON_GREEDY:
			for (int i = 0; i < k; i++)
				score[i] = arms[i].n > 0 ? arms[i].s / arms[i].n : INFINITY;
			argmax_uniform(k, score, eligible, 1.0 - cfg->epsilon, prob);
			for (int i = 0; i < k; i++)
				if (eligible[i])
					prob[i] += cfg->epsilon / n_eligible;
			return RP_OK;

		case RP_BANDIT_UCB1:
			{
				double		total = 0;

				for (int i = 0; i < k; i++)
					if (eligible[i])
						total += arms[i].n;
				for (int i = 0; i < k; i++)
					score[i] = arms[i].n > 0 ?
						arms[i].s / arms[i].n +
						cfg->alpha * sqrt(2.0 * log(total) / arms[i].n) : INFINITY;
				argmax_uniform(k, score, eligible, 1.0, prob);
				return RP_OK;
			}

		case RP_BANDIT_LINUCB:
			{
				double	   *fac = work + 3 * k;
				double	   *v = fac + (size_t) cfg->dim * cfg->dim;
				rp_status	st = linear_scores(cfg, k, arms, eligible, x, p1, p2, fac, v);

				if (st != RP_OK)
					return st;
				for (int i = 0; i < k; i++)
					score[i] = eligible[i] ? p1[i] + cfg->alpha * p2[i] : 0.0;
				argmax_uniform(k, score, eligible, 1.0, prob);
				return RP_OK;
			}

		case RP_BANDIT_THOMPSON:
		case RP_BANDIT_LIN_TS:
			{
				int			m = cfg->draws;
				normal_pair np = {0, 0};
				/* shapes below 1 (from the prior): compare logits, see beta_logit_draw */
				int			logit = cfg->prior_a < 1.0 || cfg->prior_b < 1.0;

				if (cfg->policy == RP_BANDIT_LIN_TS)
				{
					double	   *fac = work + 3 * k;
					double	   *v = fac + (size_t) cfg->dim * cfg->dim;
					rp_status	st = linear_scores(cfg, k, arms, eligible, x, p1, p2, fac, v);

					if (st != RP_OK)
						return st;
					for (int i = 0; i < k; i++)
						p2[i] *= cfg->alpha;
				}
				else if (cfg->binary)
					for (int i = 0; i < k; i++)
					{
						p1[i] = cfg->prior_a + arms[i].s;
						p2[i] = cfg->prior_b + arms[i].n - arms[i].s;
						if (!(p1[i] > 0 && p2[i] > 0 && rp_finite(p1[i] + p2[i])))
							return RP_ENUMERIC;
					}
				else
					for (int i = 0; i < k; i++)
					{
						p1[i] = gauss_mu(cfg, &arms[i]);
						p2[i] = sqrt(gauss_var(cfg, &arms[i]));
						if (!rp_finite(p1[i]) || !rp_finite(p2[i]))
							return RP_ENUMERIC;
					}
				for (int t = 0; t < m; t++)
				{
					double		best = -INFINITY;
					int			arg = -1;

					for (int i = 0; i < k; i++)
					{
						double		th;

						if (!eligible[i])
							continue;
						if (cfg->policy == RP_BANDIT_THOMPSON && cfg->binary)
							th = logit ? beta_logit_draw(rng, &np, p1[i], p2[i]) :
								beta_draw(rng, &np, p1[i], p2[i]);
						else
							th = p1[i] + p2[i] * normal_draw(rng, &np);
						if (arg < 0 || th > best)
						{
							best = th;
							arg = i;
						}
					}
					prob[arg] += 1.0;	/* counts, exact in a double */
				}
				for (int i = 0; i < k; i++)
					prob[i] /= m;
				return RP_OK;
			}
	}
	return RP_EINVAL;
}

int
rp_bandit_pick(const double *prob, int k, double u)
{
	double		acc = 0.0;
	int			last = -1;

	for (int i = 0; i < k; i++)
	{
		if (prob[i] <= 0.0)
			continue;
		last = i;
		acc += prob[i];
		if (u < acc)
			return i;
	}
	/* rounding: the sum fell just short of u */
	return last;
}

void
rp_bandit_update(const rp_bandit_cfg *cfg, rp_bandit_arm *arm, const double *x, double r)
{
	arm->n += 1.0;
	arm->s += r;
	arm->ss += r * r;
	if (is_linear(cfg))
	{
		int			d = cfg->dim;

		for (int i = 0; i < d; i++)
		{
			for (int j = 0; j < d; j++)
				arm->G[i * d + j] += x[i] * x[j];
			arm->b[i] += r * x[i];
		}
	}
}

void
rp_bandit_summary(const rp_bandit_cfg *cfg, const rp_bandit_arm *arm,
				  double *mean, double *lo, double *hi)
{
	double		m,
				sd;

	if (cfg->policy == RP_BANDIT_THOMPSON && cfg->binary)
	{
		double		a = cfg->prior_a + arm->s;
		double		b = cfg->prior_b + arm->n - arm->s;

		m = a / (a + b);
		sd = sqrt(a * b / ((a + b) * (a + b) * (a + b + 1.0)));
		*mean = m;
		*lo = fmax(0.0, m - 1.96 * sd);
		*hi = fmin(1.0, m + 1.96 * sd);
		return;
	}
	if (cfg->policy == RP_BANDIT_THOMPSON)
	{
		m = gauss_mu(cfg, arm);
		sd = sqrt(gauss_var(cfg, arm));
	}
	else if (arm->n > 0)
	{
		double		dev = arm->n > 1 ? (arm->ss - arm->s * arm->s / arm->n) / (arm->n - 1.0) : 0.0;

		m = arm->s / arm->n;
		sd = sqrt(fmax(dev, 0.0) / arm->n);
	}
	else
	{
		*mean = *lo = *hi = NAN;
		return;
	}
	*mean = m;
	*lo = m - 1.96 * sd;
	*hi = m + 1.96 * sd;
}
