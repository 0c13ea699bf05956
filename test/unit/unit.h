/*
 * unit.h
 *	  A minimal harness for the pure-C core's unit tests.
 *
 * Each test/unit/test_*.c is one program: it defines test functions, calls
 * them through RUN() from main(), and ends with UNIT_DONE(), which prints
 * "<file>: N passed, N failed" and exits non-zero on any failure.  A test
 * "passes" when none of its CHECKs failed.  test/unit/run.sh builds every
 * program with AddressSanitizer and UndefinedBehaviorSanitizer and adds up
 * the counts.
 */
#ifndef UNIT_H
#define UNIT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int	unit_passed;
static int	unit_failed;
static int	unit_current_failed;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			unit_current_failed = 1; \
		} \
	} while (0)

/* |a - b| <= tol * max(1, |b|) */
#define CHECK_NEAR(a, b, tol) \
	do { \
		double _a = (double) (a), _b = (double) (b); \
		double _s = fabs(_b) > 1.0 ? fabs(_b) : 1.0; \
		if (!(fabs(_a - _b) <= (tol) * _s)) { \
			fprintf(stderr, "%s:%d: %s = %.17g, expected %.17g (tol %g)\n", \
					__FILE__, __LINE__, #a, _a, _b, (double) (tol)); \
			unit_current_failed = 1; \
		} \
	} while (0)

#define RUN(test) \
	do { \
		unit_current_failed = 0; \
		test(); \
		if (unit_current_failed) { unit_failed++; fprintf(stderr, "FAIL %s\n", #test); } \
		else unit_passed++; \
	} while (0)

#define UNIT_DONE() \
	do { \
		printf("%s: %d passed, %d failed\n", __FILE__, unit_passed, unit_failed); \
		return unit_failed ? 1 : 0; \
	} while (0)

#endif							/* UNIT_H */
