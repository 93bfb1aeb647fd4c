/* SPDX-License-Identifier: Apache-2.0 */
/* Integer range checks at the edges a double cannot hold exactly: 2^63 and
 * 2^64.  The checks use no type wider than double, so these results are
 * the same where long double is double (32-bit ARM, Raspberry Pi OS armhf)
 * as on x86-64. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "model-internal.h"
#include "testlib.h"

static struct fb_point_def reg(enum fb_data_type type, double scale)
{
	struct fb_point_def p;

	memset(&p, 0, sizeof(p));
	p.key = "p";
	p.table = FB_REG_HOLDING;
	p.type = type;
	p.order = FB_ORDER_ABCD;
	p.scale = scale;
	p.precision = -1;
	return p;
}

/* Returns the register count (4), or -1 with errno. */
static int encode(const struct fb_point_def *p, struct fb_value v, uint16_t regs[4])
{
	memset(regs, 0, 4 * sizeof(regs[0]));
	errno = 0;
	return fb_codec_encode(p, &v, regs, 4);
}

static void range_limits_are_exact_at_2_63_and_2_64(void)
{
	int64_t lo;
	uint64_t hi;

	CHECK(fb_point_int_range(FB_TYPE_INT64, &lo, &hi));
	CHECK(lo == INT64_MIN && hi == INT64_MAX);
	CHECK(fb_point_max_double(INT64_MAX) == 0x1p63 - 1024);
	CHECK(!fb_point_double_in_range(0x1p63, lo, hi));
	CHECK(fb_point_double_in_range(nextafter(0x1p63, 0), lo, hi));
	CHECK(fb_point_double_in_range(-0x1p63, lo, hi));
	CHECK(!fb_point_double_in_range(nextafter(-0x1p63, -INFINITY), lo, hi));
	CHECK(!fb_point_double_in_range(NAN, lo, hi));

	CHECK(fb_point_int_range(FB_TYPE_UINT64, &lo, &hi));
	CHECK(fb_point_max_double(UINT64_MAX) == 0x1p64 - 2048);
	CHECK(!fb_point_double_in_range(0x1p64, lo, hi));
	CHECK(fb_point_double_in_range(nextafter(0x1p64, 0), lo, hi));
	CHECK(fb_point_double_in_range(0, lo, hi));
	CHECK(!fb_point_double_in_range(-1, lo, hi));

	CHECK(fb_point_int_range(FB_TYPE_UINT16, &lo, &hi));
	CHECK(fb_point_max_double(hi) == 65535);
	CHECK(fb_point_double_in_range(65535, lo, hi));
	CHECK(!fb_point_double_in_range(65536, lo, hi));
	CHECK(!fb_point_double_in_range(65535.5, lo, hi));
}

static void encode_refuses_2_63_for_int64_and_2_64_for_uint64(void)
{
	struct fb_point_def i64 = reg(FB_TYPE_INT64, 1.0), u64 = reg(FB_TYPE_UINT64, 1.0);
	struct fb_point_def half = reg(FB_TYPE_INT64, 0.5);
	struct fb_value v;
	uint16_t r[4];

	/* 9223372036854775807 as a JSON number or a float command is 2^63. */
	CHECK_EQ_INT(encode(&i64, (struct fb_value){ .kind = FB_VALUE_FLOAT, .f = 0x1p63 }, r), -1);
	CHECK_EQ_INT(errno, ERANGE);
	CHECK_EQ_INT(encode(&i64, (struct fb_value){ .kind = FB_VALUE_FLOAT, .f = -0x1p63 }, r), 4);
	CHECK(r[0] == 0x8000 && r[1] == 0 && r[2] == 0 && r[3] == 0);
	CHECK_EQ_INT(encode(&i64, (struct fb_value){ .kind = FB_VALUE_FLOAT,
						    .f = nextafter(0x1p63, 0) }, r), 4);
	CHECK(fb_codec_decode(&i64, r, &v) == 0 && v.kind == FB_VALUE_INT &&
	      v.i == INT64_MAX - 1023);
	CHECK_EQ_INT(encode(&i64, (struct fb_value){ .kind = FB_VALUE_INT, .i = INT64_MAX }, r), 4);
	CHECK(r[0] == 0x7FFF && r[1] == 0xFFFF && r[2] == 0xFFFF && r[3] == 0xFFFF);
	CHECK_EQ_INT(encode(&i64, (struct fb_value){ .kind = FB_VALUE_UINT,
						    .u = (uint64_t)INT64_MAX + 1 }, r), -1);
	CHECK_EQ_INT(errno, ERANGE);
	/* Scaled: 2^62 / 0.5 is a raw 2^63. */
	CHECK_EQ_INT(encode(&half, (struct fb_value){ .kind = FB_VALUE_FLOAT, .f = 0x1p62 }, r), -1);
	CHECK_EQ_INT(errno, ERANGE);

	CHECK_EQ_INT(encode(&u64, (struct fb_value){ .kind = FB_VALUE_FLOAT, .f = 0x1p64 }, r), -1);
	CHECK_EQ_INT(errno, ERANGE);
	CHECK_EQ_INT(encode(&u64, (struct fb_value){ .kind = FB_VALUE_FLOAT,
						    .f = nextafter(0x1p64, 0) }, r), 4);
	CHECK(r[0] == 0xFFFF && r[1] == 0xFFFF && r[2] == 0xFFFF && r[3] == 0xF800);
	CHECK_EQ_INT(encode(&u64, (struct fb_value){ .kind = FB_VALUE_UINT, .u = UINT64_MAX }, r), 4);
	CHECK(r[0] == 0xFFFF && r[3] == 0xFFFF);
	CHECK_EQ_INT(encode(&u64, (struct fb_value){ .kind = FB_VALUE_INT, .i = -1 }, r), -1);
	CHECK_EQ_INT(errno, ERANGE);
}

int main(void)
{
	RUN_TEST(range_limits_are_exact_at_2_63_and_2_64);
	RUN_TEST(encode_refuses_2_63_for_int64_and_2_64_for_uint64);
	return fb_test_finish();
}
