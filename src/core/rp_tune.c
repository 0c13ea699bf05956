/*
 * rp_tune.c
 *	  The validation split and the decisions of the hyper-parameter search
 *	  (rp_tune.h has the contract and the references).
 *
 * Nothing here trains or scores: the tuner proposes values, the caller
 * reports a metric, the tuner decides what comes next.  All randomness
 * comes from one xoshiro256** stream seeded by the caller (rp_rng.c) and
 * from SplitMix64 hashes of indices, so the same seed, data and reports give
 * the same trials on every machine.  Time enters only through the elapsed
 * seconds the caller passes to rp_tune_next, never read here.
 */
#include "rp_tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
Mix64(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* ---------- split ---------- */

typedef struct SplitEntry
{
	double		time;
	uint64_t	hash;
	int64_t		pos;
} SplitEntry;

/* latest first; equal times by hash, then position: a total order */
static int
SplitEntryCmp(const void *a, const void *b)
{
	const SplitEntry *x = a;
	const SplitEntry *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

size_t
rp_tune_split_workspace(const rp_csr *R)
{
	int64_t		longest = 1;

	for (int32_t r = 0; r < R->n_rows; r++)
		if (R->indptr[r + 1] - R->indptr[r] > longest)
			longest = R->indptr[r + 1] - R->indptr[r];
	return (size_t) longest * sizeof(SplitEntry);
}

rp_status
rp_tune_split(const rp_csr *R, const double *pair_time, double fraction, uint64_t seed,
			  unsigned char *is_valid, void *work, int64_t *n_valid)
{
	SplitEntry *e = work;
	int64_t		total = 0;

	if (!(fraction > 0.0 && fraction < 1.0))
		return RP_EINVAL;
	if (R->nnz > 0)
		memset(is_valid, 0, (size_t) R->nnz);
	for (int32_t r = 0; r < R->n_rows; r++)
	{
		int64_t		lo = R->indptr[r];
		int64_t		n = R->indptr[r + 1] - lo;
		int64_t		h;

		if (n < 2)
			continue;
		for (int64_t q = 0; q < n; q++)
		{
			int64_t		p = lo + q;
			double		t = pair_time ? pair_time[p] : 0.0;

			if (!rp_finite(t))
				return RP_EINVAL;
			e[q].time = t;
			e[q].hash = Mix64(seed ^ Mix64(((uint64_t) (uint32_t) r << 32) |
										   (uint32_t) R->indices[p]));
			e[q].pos = p;
		}
		qsort(e, (size_t) n, sizeof(SplitEntry), SplitEntryCmp);
		h = (int64_t) floor(fraction * (double) n + 0.5);
		if (h < 1)
			h = 1;
		if (h > n - 1)
			h = n - 1;
		for (int64_t q = 0; q < h; q++)
			is_valid[e[q].pos] = 1;
		total += h;
	}
	*n_valid = total;
	return RP_OK;
}

static int
DoubleCmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

size_t
rp_tune_split_global_workspace(const rp_csr *R)
{
	return (size_t) (R->nnz > 0 ? R->nnz : 1) * sizeof(double);
}

rp_status
rp_tune_split_global(const rp_csr *R, const double *pair_time, double fraction,
					 unsigned char *is_valid, void *work, int64_t *n_valid)
{
	double	   *t = work;
	int64_t		n = 0;
	int64_t		total = 0;
	double		cut;

	if (!(fraction > 0.0 && fraction < 1.0) || pair_time == NULL)
		return RP_EINVAL;
	for (int64_t p = 0; p < R->nnz; p++)
	{
		if (pair_time[p] != pair_time[p])
			return RP_EINVAL;
		is_valid[p] = 0;
		if (rp_finite(pair_time[p]) && pair_time[p] > -1e299)
			t[n++] = pair_time[p];
	}
	*n_valid = 0;
	if (n == 0)
		return RP_OK;
	qsort(t, (size_t) n, sizeof(double), DoubleCmp);
	{
		int64_t		q = (int64_t) floor((1.0 - fraction) * (double) n);

		if (q >= n)
			q = n - 1;
		cut = t[q];
	}
	for (int32_t r = 0; r < R->n_rows; r++)
	{
		int64_t		lo = R->indptr[r];
		int64_t		hi = R->indptr[r + 1];
		int64_t		held = 0;
		int64_t		earliest = -1;

		if (hi - lo < 2)
			continue;
		for (int64_t p = lo; p < hi; p++)
		{
			if (pair_time[p] > -1e299 && pair_time[p] >= cut)
			{
				is_valid[p] = 1;
				held++;
			}
			if (earliest < 0 || pair_time[p] < pair_time[earliest])
				earliest = p;
		}
		if (held == hi - lo)
		{
			is_valid[earliest] = 0;
			held--;
		}
		total += held;
	}
	*n_valid = total;
	return RP_OK;
}

void
rp_tune_filter(const rp_csr *R, const unsigned char *flag, unsigned char keep,
			   const unsigned char *user_keep, rp_csr *out)
{
	int64_t		w = 0;

	out->n_rows = R->n_rows;
	out->n_cols = R->n_cols;
	out->indptr[0] = 0;
	for (int32_t r = 0; r < R->n_rows; r++)
	{
		if (user_keep == NULL || user_keep[r])
			for (int64_t p = R->indptr[r]; p < R->indptr[r + 1]; p++)
				if (flag[p] == keep)
				{
					out->indices[w] = R->indices[p];
					out->values[w] = R->values[p];
					w++;
				}
		out->indptr[r + 1] = w;
	}
	out->nnz = w;
}

int
rp_tune_user_in(int32_t r, double fraction, uint64_t seed)
{
	if (fraction >= 1.0)
		return 1;
	return (double) (Mix64(seed ^ 0x5EEDULL ^ Mix64((uint64_t) (uint32_t) r)) >> 11) *
		(1.0 / 9007199254740992.0) < fraction;
}

/* ---------- search space ---------- */

int64_t
rp_tune_grid_size(const rp_tune_param *params, int n_params)
{
	int64_t		n = 1;

	for (int i = 0; i < n_params; i++)
	{
		n *= params[i].n_grid > 0 ? params[i].n_grid : 1;
		if (n > RP_TUNE_MAX_TRIALS)
			return RP_TUNE_MAX_TRIALS + 1;
	}
	return n;
}

double
rp_tune_grid_value(const rp_tune_param *p, int j)
{
	double		x;

	if (p->kind == RP_TUNE_CHOICE)
		return (double) j;
	if (p->n_grid <= 1)
		x = p->log_scale ? sqrt(p->lo * p->hi) : 0.5 * (p->lo + p->hi);
	else if (p->log_scale)
		x = exp(log(p->lo) + (log(p->hi) - log(p->lo)) * j / (p->n_grid - 1));
	else
		x = p->lo + (p->hi - p->lo) * j / (p->n_grid - 1);
	if (p->kind == RP_TUNE_INT)
		x = floor(x + 0.5);
	if (x < p->lo)
		x = p->lo;
	if (x > p->hi)
		x = p->hi;
	return x;
}

static double
RandomValue(const rp_tune_param *p, rp_rng *rng)
{
	double		u = rp_rng_uniform(rng);
	double		x;

	switch (p->kind)
	{
		case RP_TUNE_CHOICE:
			x = floor(u * p->n_grid);
			return x < p->n_grid ? x : p->n_grid - 1;
		case RP_TUNE_INT:
			/* every integer of [lo, hi] reachable: draw on [lo - 0.5, hi + 0.5) */
			if (p->log_scale)
				x = exp(log(p->lo - 0.5 > 0 ? p->lo - 0.5 : p->lo * 0.5) +
						u * (log(p->hi + 0.5) - log(p->lo - 0.5 > 0 ? p->lo - 0.5 : p->lo * 0.5)));
			else
				x = p->lo - 0.5 + u * (p->hi - p->lo + 1.0);
			x = floor(x + 0.5);
			break;
		default:
			x = p->log_scale ? exp(log(p->lo) + u * (log(p->hi) - log(p->lo))) :
				p->lo + u * (p->hi - p->lo);
			break;
	}
	if (x < p->lo)
		x = p->lo;
	if (x > p->hi)
		x = p->hi;
	return x;
}

/* Position of x in [0, 1] on the parameter's scale (log or linear). */
static double
ToUnit(const rp_tune_param *p, double x)
{
	if (!(p->hi > p->lo))
		return 0.5;
	/* a start point may lie outside the range (shrink 0 on a log scale) */
	if (!(x > p->lo))
		return 0.0;
	if (x >= p->hi)
		return 1.0;
	if (p->log_scale)
		return (log(x) - log(p->lo)) / (log(p->hi) - log(p->lo));
	return (x - p->lo) / (p->hi - p->lo);
}

/* The value at position u in [0, 1] (integers rounded), inside [lo, hi]. */
static double
FromUnit(const rp_tune_param *p, double u)
{
	double		x;

	x = p->log_scale ? exp(log(p->lo) + u * (log(p->hi) - log(p->lo))) :
		p->lo + u * (p->hi - p->lo);
	if (p->kind == RP_TUNE_INT)
		x = floor(x + 0.5);
	if (x < p->lo)
		x = p->lo;
	if (x > p->hi)
		x = p->hi;
	return x;
}

/*
 * Adaptive refinement: a Gaussian step of width sigma (in units of the
 * range, on the parameter's scale) from the incumbent value x, reflected
 * at the ends; a choice keeps x with probability 3/4.  The normal draw is
 * taken for every parameter, so the stream does not depend on the kinds.
 */
static double
PerturbValue(const rp_tune_param *p, double x, double sigma, rp_rng *rng)
{
	double		z = rp_rng_normal(rng);
	double		u = rp_rng_uniform(rng);
	double		pos;

	if (p->kind == RP_TUNE_CHOICE)
	{
		double		c;

		if (u >= 0.25)
			return x;
		c = floor(rp_rng_uniform(rng) * p->n_grid);
		return c < p->n_grid ? c : p->n_grid - 1;
	}
	pos = ToUnit(p, x) + sigma * z;
	/* reflect, twice at most (sigma <= 0.2), then clamp for safety */
	if (pos < 0.0)
		pos = -pos;
	if (pos > 1.0)
		pos = 2.0 - pos;
	if (pos < 0.0)
		pos = 0.0;
	return FromUnit(p, pos);
}

#define ADAPTIVE_SIGMA_START 0.2
#define ADAPTIVE_SIGMA_END 0.04

/* ---------- tuner ---------- */

size_t
rp_tune_workspace(int n_params, int max_trials)
{
	size_t		n = (size_t) (max_trials > 0 ? max_trials : 1);

	return n * (size_t) (n_params > 0 ? n_params : 1) * sizeof(double) +
		n * (2 * sizeof(double) + 2 * sizeof(int32_t)) +
		(size_t) (RP_TUNE_MAX_TRIALS + 1) * sizeof(int64_t) +
		n * 2 * sizeof(double);
}

/* Trials of `total` configurations in rung 0 under successive halving. */
static int
HalvingTrials(int n0, int *n_rungs)
{
	int			total = 0;
	int			r = 0;

	for (int n = n0; n >= 1; n /= RP_TUNE_ETA)
	{
		total += n;
		r++;
	}
	*n_rungs = r;
	return total;
}

rp_status
rp_tune_init(rp_tuner *t, const rp_tune_param *params, int n_params, rp_tune_strategy strategy,
			 int max_trials, double max_seconds, uint64_t seed, const double *start,
			 void *work, size_t work_size)
{
	char	   *w = work;
	size_t		nt;

	if (n_params < 0 || n_params > RP_TUNE_MAX_PARAMS || max_trials < 1 ||
		max_trials > RP_TUNE_MAX_TRIALS || work_size < rp_tune_workspace(n_params, max_trials) ||
		(max_seconds != max_seconds))
		return RP_EINVAL;
	for (int i = 0; i < n_params; i++)
	{
		const rp_tune_param *p = &params[i];

		if (p->n_grid < 1)
			return RP_EINVAL;
		if (p->kind != RP_TUNE_CHOICE &&
			(!rp_finite(p->lo) || !rp_finite(p->hi) || p->lo > p->hi ||
			 (p->log_scale && !(p->lo > 0.0))))
			return RP_EINVAL;
	}
	memset(t, 0, sizeof(*t));
	t->params = params;
	t->n_params = n_params;
	t->strategy = strategy;
	t->max_trials = max_trials;
	t->max_seconds = max_seconds;
	rp_rng_seed(&t->rng, seed);
	nt = (size_t) max_trials;
	t->values = (double *) w;
	w += nt * (size_t) (n_params > 0 ? n_params : 1) * sizeof(double);
	t->metric = (double *) w;
	w += nt * sizeof(double);
	t->fraction = (double *) w;
	w += nt * sizeof(double);
	t->rung = (int32_t *) w;
	w += nt * sizeof(int32_t);
	t->parent = (int32_t *) w;
	w += nt * sizeof(int32_t);
	/* 8-byte alignment holds: rung and parent together are 8 * nt bytes */
	t->grid_order = (int64_t *) (void *) w;
	w += (size_t) (RP_TUNE_MAX_TRIALS + 1) * sizeof(int64_t);
	t->rank_work = w;
	for (size_t i = 0; i < nt; i++)
	{
		t->metric[i] = NAN;
		t->fraction[i] = 1.0;
		t->rung[i] = 0;
		t->parent[i] = -1;
	}
	if (start != NULL)
	{
		t->has_start = 1;
		memcpy(t->start, start, (size_t) n_params * sizeof(double));
	}

	if (strategy == RP_TUNE_GRID)
	{
		t->grid_n = rp_tune_grid_size(params, n_params);
		if (t->grid_n > RP_TUNE_MAX_TRIALS)
			return RP_EINVAL;
		for (int64_t i = 0; i < t->grid_n; i++)
			t->grid_order[i] = i;
		/* Fisher-Yates: the visiting order of the grid */
		for (int64_t i = t->grid_n - 1; i > 0; i--)
		{
			int64_t		j = (int64_t) (rp_rng_uniform(&t->rng) * (double) (i + 1));
			int64_t		tmp;

			if (j > i)
				j = i;
			tmp = t->grid_order[i];
			t->grid_order[i] = t->grid_order[j];
			t->grid_order[j] = tmp;
		}
	}
	else if (strategy == RP_TUNE_HALVING)
	{
		int			n0 = 1,
					rungs = 1;

		/* the most rung-0 configurations whose whole schedule fits */
		while (n0 < max_trials)
		{
			int			r2;

			if (HalvingTrials(n0 + 1, &r2) > max_trials)
				break;
			n0++;
		}
		HalvingTrials(n0, &rungs);
		t->n0 = n0;
		t->n_rungs = rungs;
		t->cur_rung = 0;
		t->rung_start = 0;
		t->rung_size = n0;
	}
	else if (strategy == RP_TUNE_ADAPTIVE)
		t->n_explore = (max_trials + 1) / 2;
	else if (strategy != RP_TUNE_RANDOM)
		return RP_EINVAL;
	return RP_OK;
}

/* Share of users of rung r: eta^(r - (n_rungs - 1)). */
static double
RungFraction(const rp_tuner *t, int r)
{
	return pow((double) RP_TUNE_ETA, (double) (r - (t->n_rungs - 1)));
}

/* 16 bytes: the workspace keeps 2 doubles per trial for it */
typedef struct RankEntry
{
	double		metric;
	int			id;
} RankEntry;

/* best first; NaN last; ties to the earlier trial */
static int
RankEntryCmp(const void *a, const void *b)
{
	const RankEntry *x = a;
	const RankEntry *y = b;
	int			xn = x->metric != x->metric;
	int			yn = y->metric != y->metric;

	if (xn != yn)
		return xn - yn;
	if (!xn && x->metric != y->metric)
		return x->metric > y->metric ? -1 : 1;
	return x->id - y->id;
}

int
rp_tune_next(rp_tuner *t, double elapsed)
{
	int			id = t->n_trials;
	double	   *v;

	if (id >= t->max_trials)
		return -1;
	if (id > 0 && t->max_seconds > 0.0 && !(elapsed < t->max_seconds))
		return -1;
	v = t->values + (size_t) id * (size_t) t->n_params;

	switch (t->strategy)
	{
		case RP_TUNE_GRID:
			{
				int64_t		g;

				if (id >= t->grid_n)
					return -1;
				g = t->grid_order[id];
				for (int i = t->n_params - 1; i >= 0; i--)
				{
					int			ng = t->params[i].n_grid;

					v[i] = rp_tune_grid_value(&t->params[i], (int) (g % ng));
					g /= ng;
				}
				break;
			}
		case RP_TUNE_RANDOM:
			if (id == 0 && t->has_start)
				memcpy(v, t->start, (size_t) t->n_params * sizeof(double));
			else
				for (int i = 0; i < t->n_params; i++)
					v[i] = RandomValue(&t->params[i], &t->rng);
			break;
		case RP_TUNE_ADAPTIVE:
			{
				int			top[RP_TUNE_PARENTS];
				int			n_top = 0;
				int			inc = -1;

				/* the best RP_TUNE_PARENTS trials so far, best first (ties: earlier) */
				for (int i = 0; i < id; i++)
				{
					int			q;

					if (!rp_finite(t->metric[i]))
						continue;
					for (q = n_top; q > 0 && t->metric[i] > t->metric[top[q - 1]]; q--)
						if (q < RP_TUNE_PARENTS)
							top[q] = top[q - 1];
					if (q < RP_TUNE_PARENTS)
					{
						top[q] = i;
						if (n_top < RP_TUNE_PARENTS)
							n_top++;
					}
				}
				if (n_top > 0 && id >= t->n_explore)
				{
					/*
					 * the parent: one of them, uniformly, in the first half
					 * of the refinement; the best in the second
					 */
					double		u = rp_rng_uniform(&t->rng);
					int			pool = 2 * (id - t->n_explore) < t->max_trials - t->n_explore ?
						n_top : 1;
					int			pick = (int) (u * pool);

					inc = top[pick < pool ? pick : pool - 1];
				}
				if (id == 0 && t->has_start)
					memcpy(v, t->start, (size_t) t->n_params * sizeof(double));
				else if (id < t->n_explore || inc < 0)
					for (int i = 0; i < t->n_params; i++)
						v[i] = RandomValue(&t->params[i], &t->rng);
				else
				{
					int			span = t->max_trials - t->n_explore;
					double		f = span > 1 ? (double) (id - t->n_explore) / (span - 1) : 0.0;
					double		sigma = ADAPTIVE_SIGMA_START +
						(ADAPTIVE_SIGMA_END - ADAPTIVE_SIGMA_START) * f;
					const double *b = t->values + (size_t) inc * (size_t) t->n_params;

					for (int i = 0; i < t->n_params; i++)
						v[i] = PerturbValue(&t->params[i], b[i], sigma, &t->rng);
				}
				break;
			}
		case RP_TUNE_HALVING:
			if (id - t->rung_start >= t->rung_size)
			{
				/* the rung is complete: promote its best 1/eta */
				RankEntry  *ranked = t->rank_work;
				int			n = t->rung_size;
				int			keep = n / RP_TUNE_ETA;

				if (t->cur_rung + 1 >= t->n_rungs || keep < 1)
					return -1;
				for (int q = 0; q < n; q++)
				{
					ranked[q].metric = t->metric[t->rung_start + q];
					ranked[q].id = t->rung_start + q;
				}
				qsort(ranked, (size_t) n, sizeof(RankEntry), RankEntryCmp);
				for (int q = 0; q < keep; q++)
					t->parent[id + q] = ranked[q].id;
				t->cur_rung++;
				t->rung_start = id;
				t->rung_size = keep;
			}
			if (t->cur_rung == 0)
			{
				if (id == 0 && t->has_start)
					memcpy(v, t->start, (size_t) t->n_params * sizeof(double));
				else
					for (int i = 0; i < t->n_params; i++)
						v[i] = RandomValue(&t->params[i], &t->rng);
			}
			else
				memcpy(v, t->values + (size_t) t->parent[id] * (size_t) t->n_params,
					   (size_t) t->n_params * sizeof(double));
			t->rung[id] = t->cur_rung;
			t->fraction[id] = RungFraction(t, t->cur_rung);
			break;
	}
	t->n_trials++;
	return id;
}

void
rp_tune_report(rp_tuner *t, int id, double metric)
{
	if (id >= 0 && id < t->n_trials)
		t->metric[id] = rp_finite(metric) ? metric : NAN;
}

int
rp_tune_best(const rp_tuner *t)
{
	double		top_fraction = -1.0;
	int			best = -1;

	for (int i = 0; i < t->n_trials; i++)
		if (rp_finite(t->metric[i]) && t->fraction[i] > top_fraction)
			top_fraction = t->fraction[i];
	for (int i = 0; i < t->n_trials; i++)
		if (rp_finite(t->metric[i]) && t->fraction[i] == top_fraction &&
			(best < 0 || t->metric[i] > t->metric[best]))
			best = i;
	/* the start point (the defaults) stays unless beaten by the margin */
	if (best >= 0 && t->has_start)
		for (int i = 0; i < t->n_trials; i++)
		{
			const double *v = t->values + (size_t) i * (size_t) t->n_params;

			if (!rp_finite(t->metric[i]) || t->fraction[i] != top_fraction ||
				memcmp(v, t->start, (size_t) t->n_params * sizeof(double)) != 0)
				continue;
			if (!(t->metric[best] > t->metric[i] + RP_TUNE_START_MARGIN * fabs(t->metric[i])))
				best = i;
			break;
		}
	return best;
}
