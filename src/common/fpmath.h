/* SPDX-License-Identifier: Apache-2.0 */
/* The few libm functions the value path needs (nearbyint, round, ceil, nextafter,
 * pow(10, n)), as bit-exact inline code.
 * Nothing else in the drivers needs libm (libcjson and libmodbus do not),
 * and libm is ~0.3 MB of a driver's RSS (its IFUNC resolvers touch pages
 * all over it at start).  All assume the default rounding mode
 * (round-to-nearest-even), which no fieldbridge program changes. */
#ifndef FB_FPMATH_H
#define FB_FPMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* nearbyint(3): round half to even.  Adding 2^52 pushes the fraction out
 * of a double's mantissa, so the FPU rounds it in the current mode. */
static inline double fb_fpmath_nearbyint(double x)
{
	double a = fabs(x);

	if (!(a < 0x1p52))
		return x; /* already integral, inf or NaN */
	a = (a + 0x1p52) - 0x1p52;
	return copysign(a, x);
}

/* round(3): half away from zero. */
static inline double fb_fpmath_round(double x)
{
	double a = fabs(x), t;

	if (!(a < 0x1p52))
		return x;
	t = (double)(int64_t)a; /* exact: a < 2^52 */
	if (a - t >= 0.5)       /* exact difference */
		t += 1.0;
	return copysign(t, x);
}

/* ceil(3), keeping the sign of a zero result (ceil(-0.5) is -0). */
static inline double fb_fpmath_ceil(double x)
{
	double t;

	if (!(fabs(x) < 0x1p52))
		return x;
	t = (double)(int64_t)x; /* exact, toward zero */
	if (t < x)
		t += 1.0;
	return copysign(t, x);
}

/* nextafter(3) / nextafterf(3), without errno. */
static inline double fb_fpmath_nextafter(double x, double y)
{
	uint64_t u;

	if (isnan(x) || isnan(y))
		return x + y;
	if (x == y)
		return y;
	if (x == 0)
		return copysign(0x1p-1074, y);
	memcpy(&u, &x, sizeof(u));
	if ((x < y) == (x > 0))
		u++;
	else
		u--;
	memcpy(&x, &u, sizeof(x));
	return x;
}

static inline float fb_fpmath_nextafterf(float x, float y)
{
	uint32_t u;

	if (isnan(x) || isnan(y))
		return x + y;
	if (x == y)
		return y;
	if (x == 0)
		return copysignf(0x1p-149f, y);
	memcpy(&u, &x, sizeof(u));
	if ((x < y) == (x > 0))
		u++;
	else
		u--;
	memcpy(&x, &u, sizeof(x));
	return x;
}

/* 10^n: exact for 0 <= n <= 22 (every such power is a double), one
 * rounding for -22 <= n < 0 (as pow's correctly rounded result);
 * beyond, repeated multiplication (a few ulp). */
static inline double fb_fpmath_pow10(int n)
{
	static const double p10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	double r = 1.0;

	if (n >= 0 && n <= 22)
		return p10[n];
	if (n < 0 && n >= -22)
		return 1.0 / p10[-n];
	for (int k = n < 0 ? -n : n; k > 0; k--)
		r *= 10.0;
	return n < 0 ? 1.0 / r : r;
}

#endif
