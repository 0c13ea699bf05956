/*
 * rp_rng.c
 *	  xoshiro256** seeded by splitmix64 (see rp_rng.h for the exact recipe).
 */
#include "rp_rng.h"

#include <math.h>

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t	z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
rp_rng_seed(rp_rng *rng, uint64_t seed)
{
	uint64_t	s = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&s);
}

uint64_t
rp_rng_next(rp_rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
rp_rng_uniform(rp_rng *rng)
{
	return (double) (rp_rng_next(rng) >> 11) * 0x1.0p-53;
}

double
rp_rng_normal(rp_rng *rng)
{
	/* 1 - u is in (0, 1], so the logarithm is finite */
	double		u1 = 1.0 - rp_rng_uniform(rng);
	double		u2 = rp_rng_uniform(rng);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
