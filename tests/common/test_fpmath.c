/* SPDX-License-Identifier: Apache-2.0 */
/* common/fpmath.h against libm, bit for bit: the drivers use these in
 * place of libm, so any difference would change a published value.
 * Edge cases (halves, ±0, ±inf, NaN, the 2^52 boundary, subnormals) and
 * a fixed pseudo-random sweep of bit patterns and of small values. */
#include "fpmath.h"
#include "testlib.h"

#include <float.h>
#include <stdint.h>

static uint64_t sweep_next(uint64_t *s)
{
	/* xorshift64: a fixed sequence, so a failure repeats */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int same_bits(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static int same_bitsf(float a, float b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static const double edges[] = {
	0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994,
	-0.49999999999999994, 4503599627370495.5, -4503599627370495.5,
	0x1p52, -0x1p52, 0x1p52 + 1, 0x1p53, 1e300, -1e300, DBL_MIN, -DBL_MIN,
	0x1p-1074, -0x1p-1074, DBL_MAX, -DBL_MAX, INFINITY, -INFINITY, NAN,
	123.456, -7.5, 1e-5, 65535.5, 2147483647.5,
};

/* Counts inputs where fb_fpmath_* and libm differ; prints the first. */
static int compare_one(double x, double y, int *printed)
{
	int bad = 0;

	if (!same_bits(fb_fpmath_nearbyint(x), nearbyint(x)))
		bad++;
	if (!same_bits(fb_fpmath_round(x), round(x)))
		bad++;
	if (!same_bits(fb_fpmath_ceil(x), ceil(x)))
		bad++;
	if (!same_bits(fb_fpmath_nextafter(x, y), nextafter(x, y)))
		bad++;
	if (!same_bitsf(fb_fpmath_nextafterf((float)x, (float)y),
			nextafterf((float)x, (float)y)))
		bad++;
	if (bad && !(*printed)++)
		fprintf(stderr, "first difference at x=%a y=%a\n", x, y);
	return bad;
}

static void test_edges_match_libm(void)
{
	size_t n = sizeof(edges) / sizeof(edges[0]);
	int bad = 0, printed = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			bad += compare_one(edges[i], edges[j], &printed);
	CHECK_EQ_INT(bad, 0);
}

static void test_sweep_matches_libm(void)
{
	uint64_t s = 0x9E3779B97F4A7C15u, bits;
	int bad = 0, printed = 0;
	double x, y;

	for (int i = 0; i < 1000000; i++) {
		bits = sweep_next(&s);
		memcpy(&x, &bits, sizeof(x));
		bits = sweep_next(&s);
		memcpy(&y, &bits, sizeof(y));
		bad += compare_one(x, y, &printed);
		/* values a register holds: quarters around the rounding points */
		x = (double)(int32_t)(sweep_next(&s) & 0xFFFFFFFF) / 4.0;
		bad += compare_one(x, -x, &printed);
	}
	CHECK_EQ_INT(bad, 0);
}

static void test_pow10_matches_libm(void)
{
	int bad = 0;

	/* exact for 0..22, one rounding below: as glibc's correctly rounded pow */
	for (int n = -22; n <= 22; n++)
		if (!same_bits(fb_fpmath_pow10(n), pow(10.0, n))) {
			fprintf(stderr, "pow10(%d) differs\n", n);
			bad++;
		}
	CHECK_EQ_INT(bad, 0);
	/* beyond, a few ulp */
	CHECK(fabs(fb_fpmath_pow10(30) / pow(10.0, 30) - 1.0) < 1e-14);
	CHECK(fabs(fb_fpmath_pow10(-30) / pow(10.0, -30) - 1.0) < 1e-14);
}

int main(void)
{
	RUN_TEST(test_edges_match_libm);
	RUN_TEST(test_sweep_matches_libm);
	RUN_TEST(test_pow10_matches_libm);
	return fb_test_finish();
}
