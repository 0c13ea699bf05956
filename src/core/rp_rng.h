/*
 * rp_rng.h
 *	  A small seeded pseudo-random generator for reproducible models.
 *
 * The generator is xoshiro256** (Blackman and Vigna, "Scrambled linear
 * pseudorandom number generators", ACM TOMS 47(4), 2021), seeded by running
 * splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014) four times from the 64-bit seed, as the authors
 * recommend.  It is not cryptographic; it is fast, has a 2^256 - 1 period and
 * is exactly reproducible in any language with 64-bit unsigned arithmetic.
 *
 * Reproducing it (e.g. in Python, masking every result to 64 bits):
 *	splitmix64: z = (s += 0x9E3779B97F4A7C15);
 *				z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 *				z = (z ^ (z >> 27)) * 0x94D049BB133111EB;  return z ^ (z >> 31)
 *	state s[0..3] = four successive splitmix64 outputs from s = seed
 *	next:		r = rotl(s1 * 5, 7) * 9;  t = s1 << 17;
 *				s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45)
 *	uniform:	(next >> 11) * 2^-53, in [0, 1)
 *	normal:		Box-Muller on two uniforms u1, u2 (u1 replaced by 1 - u1 so
 *				it is in (0, 1]): sqrt(-2 ln u1) * cos(2 pi u2); the sine
 *				half is discarded so every normal draw consumes exactly two
 *				uniforms.
 * The state is a plain struct owned by the caller: one per thread or per
 * stream, no hidden globals, so the functions are thread-safe.
 */
#ifndef RP_RNG_H
#define RP_RNG_H

#include <stdint.h>

typedef struct rp_rng
{
	uint64_t	s[4];
} rp_rng;

/* Seeds the state from any 64-bit value (0 included). */
extern void rp_rng_seed(rp_rng *rng, uint64_t seed);

/* Next 64 random bits. */
extern uint64_t rp_rng_next(rp_rng *rng);

/* Uniform double in [0, 1) with 53 random bits. */
extern double rp_rng_uniform(rp_rng *rng);

/* Standard normal draw (mean 0, variance 1), two uniforms per draw. */
extern double rp_rng_normal(rp_rng *rng);

#endif							/* RP_RNG_H */
