/* SPDX-License-Identifier: Apache-2.0 */
/* Codec vectors, both directions, from known byte sequences. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "testlib.h"

static struct fb_point_def pt(enum fb_reg_table table, enum fb_data_type type,
			      enum fb_byte_order order)
{
	struct fb_point_def p;

	memset(&p, 0, sizeof(p));
	p.key = "p";
	p.table = table;
	p.type = type;
	p.order = order;
	p.scale = 1.0;
	p.precision = -1;
	return p;
}

static struct fb_point_def reg(enum fb_data_type type, enum fb_byte_order order)
{
	return pt(FB_REG_HOLDING, type, order);
}

static int regs_eq(const uint16_t *a, const uint16_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (a[i] != b[i]) {
			fprintf(stderr, "  reg[%u]: 0x%04X != expected 0x%04X\n", i, a[i], b[i]);
			return 0;
		}
	}
	return 1;
}

static struct fb_value vint(int64_t i)
{
	struct fb_value v;

	memset(&v, 0, sizeof(v));
	v.kind = FB_VALUE_INT;
	v.i = i;
	return v;
}

static struct fb_value vuint(uint64_t u)
{
	struct fb_value v;

	memset(&v, 0, sizeof(v));
	v.kind = FB_VALUE_UINT;
	v.u = u;
	return v;
}

static struct fb_value vfloat(double f)
{
	struct fb_value v;

	memset(&v, 0, sizeof(v));
	v.kind = FB_VALUE_FLOAT;
	v.f = f;
	return v;
}

static struct fb_value vbool(bool b)
{
	struct fb_value v;

	memset(&v, 0, sizeof(v));
	v.kind = FB_VALUE_BOOL;
	v.b = b;
	return v;
}

static struct fb_value vstr(const char *s)
{
	struct fb_value v;

	memset(&v, 0, sizeof(v));
	v.kind = FB_VALUE_STRING;
	snprintf(v.s, sizeof(v.s), "%s", s);
	return v;
}

/* Encodes v and compares with want, then decodes want and returns it. */
static struct fb_value both_ways(const struct fb_point_def *p, struct fb_value v,
				 const uint16_t *want, unsigned n)
{
	uint16_t regs[32];
	struct fb_value out;

	memset(regs, 0xAA, sizeof(regs));
	CHECK_EQ_INT(fb_codec_encode(p, &v, regs, 32), n);
	CHECK(regs_eq(regs, want, n));
	CHECK_EQ_INT(fb_codec_decode(p, want, &out), 0);
	return out;
}

static const enum fb_byte_order orders[] = {
	FB_ORDER_ABCD, FB_ORDER_CDAB, FB_ORDER_BADC, FB_ORDER_DCBA,
};

static void float32_230_5_in_every_order(void)
{
	/* 230.5 = 0x43668000 */
	static const uint16_t want[4][2] = {
		{ 0x4366, 0x8000 }, { 0x8000, 0x4366 }, { 0x6643, 0x0080 }, { 0x0080, 0x6643 },
	};
	for (int o = 0; o < 4; o++) {
		struct fb_point_def p = reg(FB_TYPE_FLOAT32, orders[o]);
		struct fb_value v = both_ways(&p, vfloat(230.5), want[o], 2);

		CHECK_EQ_INT(v.kind, FB_VALUE_FLOAT);
		CHECK_NEAR(v.f, 230.5, 0);
	}
}

static void float32_decodes_to_the_shortest_decimal(void)
{
	/* 230.6f = 0x4366999A; widened naively it is 230.60000610351562 */
	const uint16_t regs[2] = { 0x4366, 0x999A };
	struct fb_point_def p = reg(FB_TYPE_FLOAT32, FB_ORDER_ABCD);
	struct fb_value v;
	char json[64];

	CHECK_EQ_INT(fb_codec_decode(&p, regs, &v), 0);
	CHECK(v.f == 230.6);
	CHECK_EQ_INT(fb_value_to_json(&v, json, sizeof(json)), 0);
	CHECK(strcmp(json, "230.6") == 0);
}

static void float64_in_every_order(void)
{
	/* 230.5 = 0x406CD00000000000 */
	static const uint16_t want[4][4] = {
		{ 0x406C, 0xD000, 0x0000, 0x0000 },
		{ 0x0000, 0x0000, 0xD000, 0x406C },
		{ 0x6C40, 0x00D0, 0x0000, 0x0000 },
		{ 0x0000, 0x0000, 0x00D0, 0x6C40 },
	};
	for (int o = 0; o < 4; o++) {
		struct fb_point_def p = reg(FB_TYPE_FLOAT64, orders[o]);
		struct fb_value v = both_ways(&p, vfloat(230.5), want[o], 4);

		CHECK_EQ_INT(v.kind, FB_VALUE_FLOAT);
		CHECK_NEAR(v.f, 230.5, 0);
	}
}

static void int32_and_uint32_in_every_order(void)
{
	static const uint16_t neg2[4][2] = {
		{ 0xFFFF, 0xFFFE }, { 0xFFFE, 0xFFFF }, { 0xFFFF, 0xFEFF }, { 0xFEFF, 0xFFFF },
	};
	static const uint16_t u[4][2] = {
		{ 0x1234, 0x5678 }, { 0x5678, 0x1234 }, { 0x3412, 0x7856 }, { 0x7856, 0x3412 },
	};
	for (int o = 0; o < 4; o++) {
		struct fb_point_def pi = reg(FB_TYPE_INT32, orders[o]);
		struct fb_point_def pu = reg(FB_TYPE_UINT32, orders[o]);
		struct fb_value v = both_ways(&pi, vint(-2), neg2[o], 2);

		CHECK_EQ_INT(v.kind, FB_VALUE_INT);
		CHECK_EQ_INT(v.i, -2);
		v = both_ways(&pu, vuint(0x12345678u), u[o], 2);
		CHECK_EQ_INT(v.kind, FB_VALUE_UINT);
		CHECK_EQ_INT(v.u, 0x12345678u);
	}
}

static void int64_and_uint64_in_every_order(void)
{
	static const uint16_t want[4][4] = {
		{ 0x0102, 0x0304, 0x0506, 0x0708 },
		{ 0x0708, 0x0506, 0x0304, 0x0102 },
		{ 0x0201, 0x0403, 0x0605, 0x0807 },
		{ 0x0807, 0x0605, 0x0403, 0x0201 },
	};
	static const uint16_t min64[4] = { 0x8000, 0, 0, 0 };
	static const uint16_t all1[4] = { 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF };

	for (int o = 0; o < 4; o++) {
		struct fb_point_def pi = reg(FB_TYPE_INT64, orders[o]);
		struct fb_point_def pu = reg(FB_TYPE_UINT64, orders[o]);
		struct fb_value v = both_ways(&pi, vint(0x0102030405060708LL), want[o], 4);

		CHECK_EQ_INT(v.kind, FB_VALUE_INT);
		CHECK(v.i == 0x0102030405060708LL);
		v = both_ways(&pu, vuint(0x0102030405060708ULL), want[o], 4);
		CHECK_EQ_INT(v.kind, FB_VALUE_UINT);
		CHECK(v.u == 0x0102030405060708ULL);
	}
	struct fb_point_def pi = reg(FB_TYPE_INT64, FB_ORDER_ABCD);
	struct fb_point_def pu = reg(FB_TYPE_UINT64, FB_ORDER_ABCD);
	struct fb_value v = both_ways(&pi, vint(INT64_MIN), min64, 4);

	CHECK(v.i == INT64_MIN);
	v = both_ways(&pi, vint(-1), all1, 4);
	CHECK(v.i == -1);
	v = both_ways(&pu, vuint(UINT64_MAX), all1, 4);
	CHECK(v.u == UINT64_MAX);
}

static void int16_negatives_and_single_register_swap(void)
{
	struct fb_point_def p = reg(FB_TYPE_INT16, FB_ORDER_ABCD);
	struct fb_point_def sw = reg(FB_TYPE_INT16, FB_ORDER_BADC);
	struct fb_point_def u = reg(FB_TYPE_UINT16, FB_ORDER_ABCD);
	static const uint16_t m1[] = { 0xFFFF }, mmin[] = { 0x8000 }, mmax[] = { 0x7FFF };
	static const uint16_t m2[] = { 0xFFFE }, one_swapped[] = { 0x0100 };
	struct fb_value v;

	v = both_ways(&p, vint(-1), m1, 1);
	CHECK_EQ_INT(v.kind, FB_VALUE_INT);
	CHECK_EQ_INT(v.i, -1);
	v = both_ways(&p, vint(-32768), mmin, 1);
	CHECK_EQ_INT(v.i, -32768);
	v = both_ways(&p, vint(32767), mmax, 1);
	CHECK_EQ_INT(v.i, 32767);
	v = both_ways(&p, vint(-2), m2, 1);
	CHECK_EQ_INT(v.i, -2);
	v = both_ways(&sw, vint(1), one_swapped, 1);
	CHECK_EQ_INT(v.i, 1);
	v = both_ways(&u, vuint(65535), m1, 1);
	CHECK_EQ_INT(v.kind, FB_VALUE_UINT);
	CHECK_EQ_INT(v.u, 65535);
}

static void bcd_decodes_digits_and_rejects_bad_nibbles(void)
{
	struct fb_point_def p16 = reg(FB_TYPE_BCD16, FB_ORDER_ABCD);
	struct fb_point_def p32 = reg(FB_TYPE_BCD32, FB_ORDER_ABCD);
	struct fb_point_def p32w = reg(FB_TYPE_BCD32, FB_ORDER_CDAB);
	static const uint16_t r1234[] = { 0x1234 }, rbad[] = { 0x12A4 };
	static const uint16_t r123456[] = { 0x0012, 0x3456 }, r123456w[] = { 0x3456, 0x0012 };
	struct fb_value v;
	uint16_t regs[2];

	v = both_ways(&p16, vuint(1234), r1234, 1);
	CHECK_EQ_INT(v.kind, FB_VALUE_UINT);
	CHECK_EQ_INT(v.u, 1234);
	v = both_ways(&p32, vuint(123456), r123456, 2);
	CHECK_EQ_INT(v.u, 123456);
	v = both_ways(&p32w, vuint(123456), r123456w, 2);
	CHECK_EQ_INT(v.u, 123456);
	errno = 0;
	CHECK_EQ_INT(fb_codec_decode(&p16, rbad, &v), -1);
	CHECK_EQ_INT(errno, EINVAL);
	errno = 0;
	CHECK_EQ_INT(fb_codec_encode(&p16, &(struct fb_value){ .kind = FB_VALUE_UINT, .u = 10000 },
				     regs, 2), -1);
	CHECK_EQ_INT(errno, ERANGE);
}

static void strings_in_both_byte_orders(void)
{
	struct fb_point_def p = reg(FB_TYPE_STRING, FB_ORDER_ABCD);
	struct fb_point_def sw = reg(FB_TYPE_STRING, FB_ORDER_BADC);
	static const uint16_t abcd[] = { 0x5344, 0x4D31, 0x3230, 0x0000 }; /* "SDM120" */
	static const uint16_t badc[] = { 0x4453, 0x314D, 0x3032, 0x0000 };
	static const uint16_t padded[] = { 0x4142, 0x2020 };               /* "AB  " */
	static const uint16_t odd[] = { 0x4142, 0x0743 };                  /* "AB\aC" */
	struct fb_value v;
	uint16_t regs[4];

	p.length = sw.length = 4;
	v = both_ways(&p, vstr("SDM120"), abcd, 4);
	CHECK_EQ_INT(v.kind, FB_VALUE_STRING);
	CHECK(!strcmp(v.s, "SDM120"));
	v = both_ways(&sw, vstr("SDM120"), badc, 4);
	CHECK(!strcmp(v.s, "SDM120"));

	p.length = 2;
	CHECK_EQ_INT(fb_codec_decode(&p, padded, &v), 0);
	CHECK(!strcmp(v.s, "AB"));
	CHECK_EQ_INT(fb_codec_decode(&p, odd, &v), 0);
	CHECK(!strcmp(v.s, "AB?C"));
	errno = 0;
	struct fb_value too_long = vstr("ABCDE");

	CHECK_EQ_INT(fb_codec_encode(&p, &too_long, regs, 4), -1);
	CHECK_EQ_INT(errno, ERANGE);
	errno = 0;
	struct fb_value num = vint(1);

	CHECK_EQ_INT(fb_codec_encode(&p, &num, regs, 4), -1);
	CHECK_EQ_INT(errno, EINVAL);
}

static void bits_bools_and_coils(void)
{
	struct fb_point_def bit = reg(FB_TYPE_BIT, FB_ORDER_ABCD);
	struct fb_point_def bitsw = reg(FB_TYPE_BIT, FB_ORDER_BADC);
	struct fb_point_def coil = pt(FB_REG_COIL, FB_TYPE_BOOL, FB_ORDER_ABCD);
	struct fb_point_def di = pt(FB_REG_DISCRETE_INPUT, FB_TYPE_BOOL, FB_ORDER_ABCD);
	struct fb_point_def rb = reg(FB_TYPE_BOOL, FB_ORDER_ABCD);
	static const uint16_t five[] = { 0x0005 }, five_sw[] = { 0x0500 };
	static const uint16_t on[] = { 1 }, off[] = { 0 }, two[] = { 2 };
	struct fb_value v;
	uint16_t regs[2];

	bit.bit = 0;
	CHECK_EQ_INT(fb_codec_decode(&bit, five, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_BOOL);
	CHECK(v.b);
	bit.bit = 1;
	fb_codec_decode(&bit, five, &v);
	CHECK(!v.b);
	bit.bit = 2;
	fb_codec_decode(&bit, five, &v);
	CHECK(v.b);
	bitsw.bit = 0;
	fb_codec_decode(&bitsw, five_sw, &v);
	CHECK(v.b);
	errno = 0;
	struct fb_value t = vbool(true);

	CHECK_EQ_INT(fb_codec_encode(&bit, &t, regs, 2), -1);
	CHECK_EQ_INT(errno, EINVAL);

	v = both_ways(&coil, vbool(true), on, 1);
	CHECK_EQ_INT(v.kind, FB_VALUE_BOOL);
	CHECK(v.b);
	v = both_ways(&coil, vbool(false), off, 1);
	CHECK(!v.b);
	v = both_ways(&coil, vint(1), on, 1);
	CHECK(v.b);
	fb_codec_decode(&di, on, &v);
	CHECK(v.b);
	fb_codec_decode(&rb, two, &v);
	CHECK_EQ_INT(v.kind, FB_VALUE_BOOL);
	CHECK(v.b);
	v = both_ways(&rb, vbool(true), on, 1);

	errno = 0;
	struct fb_value bad = vint(2);

	CHECK_EQ_INT(fb_codec_encode(&coil, &bad, regs, 2), -1);
	CHECK_EQ_INT(errno, ERANGE);
	errno = 0;
	struct fb_value s = vstr("on");

	CHECK_EQ_INT(fb_codec_encode(&coil, &s, regs, 2), -1);
	CHECK_EQ_INT(errno, EINVAL);
}

static void scale_and_offset(void)
{
	struct fb_point_def p = reg(FB_TYPE_UINT16, FB_ORDER_ABCD);
	struct fb_point_def q = reg(FB_TYPE_INT16, FB_ORDER_ABCD);
	struct fb_point_def f = reg(FB_TYPE_FLOAT32, FB_ORDER_ABCD);
	static const uint16_t r2305[] = { 2305 }, r2306[] = { 2306 }, rmax[] = { 65535 };
	static const uint16_t rm50[] = { 0xFFCE };            /* -50 */
	static const uint16_t f10[] = { 0x4120, 0x0000 };     /* 10.0f */
	struct fb_value v;
	uint16_t regs[2];

	p.scale = 0.1;
	CHECK_EQ_INT(fb_point_value_kind(&p), FB_VALUE_FLOAT);
	v = both_ways(&p, vfloat(230.5), r2305, 1);
	CHECK_EQ_INT(v.kind, FB_VALUE_FLOAT);
	CHECK_NEAR(v.f, 230.5, 1e-9);
	/* round to nearest: 230.56 / 0.1 = 2305.6 -> 2306 */
	CHECK_EQ_INT(fb_codec_encode(&p, &(struct fb_value){ .kind = FB_VALUE_FLOAT,
							     .f = 230.56 }, regs, 2), 1);
	CHECK(regs_eq(regs, r2306, 1));
	v = both_ways(&p, vfloat(6553.5), rmax, 1);
	CHECK_NEAR(v.f, 6553.5, 1e-9);
	errno = 0;
	CHECK_EQ_INT(fb_codec_encode(&p, &(struct fb_value){ .kind = FB_VALUE_FLOAT,
							     .f = 6553.6 }, regs, 2), -1);
	CHECK_EQ_INT(errno, ERANGE);

	q.scale = 0.1;
	q.offset = 10;
	v = both_ways(&q, vfloat(5.0), rm50, 1);
	CHECK_EQ_INT(v.kind, FB_VALUE_FLOAT);
	CHECK_NEAR(v.f, 5.0, 1e-9);
	/* an INT value goes through the same inverse scaling */
	CHECK_EQ_INT(fb_codec_encode(&q, &(struct fb_value){ .kind = FB_VALUE_INT, .i = 5 },
				     regs, 2), 1);
	CHECK(regs_eq(regs, rm50, 1));

	f.scale = 2;
	f.offset = 1;
	v = both_ways(&f, vfloat(21.0), f10, 2);
	CHECK_NEAR(v.f, 21.0, 0);

	/* unscaled integers keep their integer kind */
	struct fb_point_def plain = reg(FB_TYPE_INT32, FB_ORDER_ABCD);

	CHECK_EQ_INT(fb_point_value_kind(&plain), FB_VALUE_INT);
	plain.type = FB_TYPE_UINT32;
	CHECK_EQ_INT(fb_point_value_kind(&plain), FB_VALUE_UINT);
	plain.type = FB_TYPE_BCD16;
	CHECK_EQ_INT(fb_point_value_kind(&plain), FB_VALUE_UINT);
	plain.offset = 1;
	CHECK_EQ_INT(fb_point_value_kind(&plain), FB_VALUE_FLOAT);
	/* a float value for an unscaled integer rounds */
	plain = reg(FB_TYPE_UINT16, FB_ORDER_ABCD);
	CHECK_EQ_INT(fb_codec_encode(&plain, &(struct fb_value){ .kind = FB_VALUE_FLOAT,
								 .f = 1.5 }, regs, 2), 1);
	CHECK_EQ_INT(regs[0], 2);
}

static void sentinel_and_nan_become_none(void)
{
	struct fb_point_def u = reg(FB_TYPE_UINT16, FB_ORDER_ABCD);
	struct fb_point_def s = reg(FB_TYPE_INT16, FB_ORDER_ABCD);
	struct fb_point_def f = reg(FB_TYPE_FLOAT32, FB_ORDER_CDAB);
	struct fb_point_def b = reg(FB_TYPE_BCD16, FB_ORDER_ABCD);
	static const uint16_t ffff[] = { 0xFFFF, 0xFFFF }, x8000[] = { 0x8000 };
	static const uint16_t nan[] = { 0x0000, 0x7FC0 }, zero[] = { 0, 0 };
	struct fb_value v;

	u.has_sentinel = true;
	u.sentinel_raw = 0xFFFF;
	CHECK_EQ_INT(fb_codec_decode(&u, ffff, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);
	CHECK_EQ_INT(fb_codec_decode(&u, zero, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_UINT);

	s.has_sentinel = true;
	s.sentinel_raw = -32768;
	fb_codec_decode(&s, x8000, &v);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);
	s.sentinel_raw = 0x8000; /* written as hex: the same bits */
	fb_codec_decode(&s, x8000, &v);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);

	f.has_sentinel = true;
	f.sentinel_raw = 0xFFFFFFFF;
	fb_codec_decode(&f, ffff, &v);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);
	f.has_sentinel = false;
	fb_codec_decode(&f, nan, &v);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);

	/* the sentinel wins over an invalid BCD digit */
	b.has_sentinel = true;
	b.sentinel_raw = 0xFFFF;
	CHECK_EQ_INT(fb_codec_decode(&b, ffff, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);
}

static void encode_range_errors(void)
{
	static const struct {
		enum fb_data_type type;
		struct fb_value v;
	} cases[] = {
		{ FB_TYPE_UINT16, { .kind = FB_VALUE_INT, .i = 65536 } },
		{ FB_TYPE_UINT16, { .kind = FB_VALUE_INT, .i = -1 } },
		{ FB_TYPE_INT16, { .kind = FB_VALUE_INT, .i = -32769 } },
		{ FB_TYPE_INT16, { .kind = FB_VALUE_UINT, .u = 32768 } },
		{ FB_TYPE_INT32, { .kind = FB_VALUE_INT, .i = 2147483648LL } },
		{ FB_TYPE_UINT32, { .kind = FB_VALUE_INT, .i = 4294967296LL } },
		{ FB_TYPE_INT64, { .kind = FB_VALUE_UINT, .u = UINT64_MAX } },
		{ FB_TYPE_UINT64, { .kind = FB_VALUE_INT, .i = -1 } },
		{ FB_TYPE_UINT64, { .kind = FB_VALUE_FLOAT, .f = 1.9e19 } },
		{ FB_TYPE_FLOAT32, { .kind = FB_VALUE_FLOAT, .f = 1e39 } },
		{ FB_TYPE_FLOAT64, { .kind = FB_VALUE_FLOAT, .f = INFINITY } },
		{ FB_TYPE_BCD32, { .kind = FB_VALUE_INT, .i = 100000000 } },
	};
	uint16_t regs[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_point_def p = reg(cases[i].type, FB_ORDER_ABCD);

		errno = 0;
		CHECK_EQ_INT(fb_codec_encode(&p, &cases[i].v, regs, 8), -1);
		CHECK_EQ_INT(errno, ERANGE);
	}

	struct fb_point_def p = reg(FB_TYPE_FLOAT32, FB_ORDER_ABCD);
	struct fb_value none = { .kind = FB_VALUE_NONE };
	struct fb_value ok = vfloat(1);

	errno = 0;
	CHECK_EQ_INT(fb_codec_encode(&p, &none, regs, 8), -1);
	CHECK_EQ_INT(errno, EINVAL);
	errno = 0;
	CHECK_EQ_INT(fb_codec_encode(&p, &ok, regs, 1), -1); /* no room */
	CHECK_EQ_INT(errno, EINVAL);
	errno = 0;
	CHECK_EQ_INT(fb_codec_encode(&p, &(struct fb_value){ .kind = FB_VALUE_FLOAT,
							     .f = NAN }, regs, 8), -1);
	CHECK_EQ_INT(errno, EINVAL);
}

static void every_type_and_order_round_trips(void)
{
	static const enum fb_data_type types[] = {
		FB_TYPE_INT16, FB_TYPE_UINT16, FB_TYPE_INT32, FB_TYPE_UINT32,
		FB_TYPE_INT64, FB_TYPE_UINT64, FB_TYPE_FLOAT32, FB_TYPE_FLOAT64,
		FB_TYPE_BCD16, FB_TYPE_BCD32,
	};
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (int o = 0; o < 4; o++) {
			struct fb_point_def p = reg(types[t], orders[o]);
			struct fb_value in = vint(1234), out;
			uint16_t regs[4];
			int n = fb_codec_encode(&p, &in, regs, 4);

			CHECK_EQ_INT(n, fb_point_width(&p));
			CHECK_EQ_INT(fb_codec_decode(&p, regs, &out), 0);
			CHECK_EQ_INT(out.kind, fb_point_value_kind(&p));
			if (out.kind == FB_VALUE_INT)
				CHECK_EQ_INT(out.i, 1234);
			else if (out.kind == FB_VALUE_UINT)
				CHECK_EQ_INT(out.u, 1234);
			else
				CHECK_NEAR(out.f, 1234, 0);
		}
	}
}

static void point_width_counts_registers_per_type(void)
{
	struct fb_point_def p = reg(FB_TYPE_STRING, FB_ORDER_ABCD);

	p.length = 10;
	CHECK_EQ_INT(fb_point_width(&p), 10);
	p.type = FB_TYPE_FLOAT64;
	CHECK_EQ_INT(fb_point_width(&p), 4);
	p.type = FB_TYPE_BCD32;
	CHECK_EQ_INT(fb_point_width(&p), 2);
	p.type = FB_TYPE_BIT;
	CHECK_EQ_INT(fb_point_width(&p), 1);
	p = pt(FB_REG_COIL, FB_TYPE_BOOL, FB_ORDER_ABCD);
	CHECK_EQ_INT(fb_point_width(&p), 1);
	CHECK_EQ_INT(fb_point_value_kind(&p), FB_VALUE_BOOL);
}

/* Renogy 0x0103: controller temperature in the high byte, battery in the
 * low byte, each sign-magnitude (bit 7 the sign): 0x8A19 is -10 / +25 °C. */
static void byte_types_and_sign_magnitude(void)
{
	struct fb_point_def p = reg(FB_TYPE_INT8_SM, FB_ORDER_ABCD);
	uint16_t r = 0x8A19, out[1];
	struct fb_value v;
	struct fb_value one = vint(1);

	p.byte_high = true;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_INT);
	CHECK_EQ_INT(v.i, -10);
	p.byte_high = false;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_EQ_INT(v.i, 25);
	r = 0x0080; /* -0 */
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_EQ_INT(v.i, 0);
	r = 0x00FF;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_EQ_INT(v.i, -127);
	/* Two's complement and unsigned read the same byte differently. */
	p.type = FB_TYPE_INT8;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_EQ_INT(v.i, -1);
	p.type = FB_TYPE_UINT8;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_UINT);
	CHECK_EQ_INT(v.u, 255);
	/* Byte order swaps the bytes first; a sentinel compares the byte. */
	p.order = FB_ORDER_BADC;
	r = 0x12FF;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_EQ_INT(v.u, 0x12);
	p.order = FB_ORDER_ABCD;
	p.has_sentinel = true;
	p.sentinel_raw = 0xFF;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);
	/* Scaled like any integer; never written (the other byte). */
	p.has_sentinel = false;
	p.scale = 0.5;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_NEAR(v.f, 127.5, 1e-12);
	errno = 0;
	CHECK_EQ_INT(fb_codec_encode(&p, &one, out, 1), -1);
	CHECK_EQ_INT(errno, EINVAL);
	CHECK_EQ_INT(fb_point_width(&p), 1);
}

/* Sungrow's switches: 0xAA on, 0x55 off, anything else unknown. */
static void switch_with_raw_on_off_values(void)
{
	struct fb_point_def p = reg(FB_TYPE_UINT16, FB_ORDER_ABCD);
	uint16_t r, out[1];
	struct fb_value v;

	p.component = FB_COMP_SWITCH;
	p.has_switch_raw = true;
	p.switch_on_raw = 0xAA;
	p.switch_off_raw = 0x55;
	CHECK_EQ_INT(fb_point_value_kind(&p), FB_VALUE_BOOL);
	r = 0xAA;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK(v.kind == FB_VALUE_BOOL && v.b);
	r = 0x55;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK(v.kind == FB_VALUE_BOOL && !v.b);
	r = 1;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);
	CHECK_EQ_INT(fb_codec_encode(&p, &(struct fb_value){ .kind = FB_VALUE_BOOL, .b = true },
				     out, 1), 1);
	CHECK_EQ_INT(out[0], 0xAA);
	CHECK_EQ_INT(fb_codec_encode(&p, &(struct fb_value){ .kind = FB_VALUE_BOOL, .b = false },
				     out, 1), 1);
	CHECK_EQ_INT(out[0], 0x55);
	/* Signed raw values on a signed type, e.g. -1 = off. */
	p.type = FB_TYPE_INT16;
	p.switch_on_raw = 1;
	p.switch_off_raw = -1;
	r = 0xFFFF;
	CHECK_EQ_INT(fb_codec_decode(&p, &r, &v), 0);
	CHECK(v.kind == FB_VALUE_BOOL && !v.b);
	CHECK_EQ_INT(fb_codec_encode(&p, &(struct fb_value){ .kind = FB_VALUE_BOOL, .b = false },
				     out, 1), 1);
	CHECK_EQ_INT(out[0], 0xFFFF);
}

/* SunSpec model 103: W at 40083 with W_SF at 40084 (int16), read together.
 * The exponent changes at run time, 0x8000 means not implemented. */
static void scale_register_from_the_same_read(void)
{
	struct fb_point_def p = reg(FB_TYPE_INT16, FB_ORDER_ABCD);
	uint16_t run[3] = { 0x1234, 0x08FF, 0xFFFF }; /* 40082: ?, W = 2303, W_SF = -1 */
	struct fb_value v;
	uint16_t first, last;

	p.address = 40083;
	p.has_scale_register = true;
	p.scale_register = 40084;
	fb_point_extent(&p, &first, &last);
	CHECK_EQ_INT(first, 40083);
	CHECK_EQ_INT(last, 40084);
	CHECK_EQ_INT(fb_point_value_kind(&p), FB_VALUE_FLOAT);
	CHECK_EQ_INT(fb_codec_decode_run(&p, run, 40082, 3, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_FLOAT);
	CHECK(v.f == 230.3); /* divided by 10 once, not multiplied by 0.1 */
	run[2] = 2;
	CHECK_EQ_INT(fb_codec_decode_run(&p, run, 40082, 3, &v), 0);
	CHECK(v.f == 230300.0);
	run[2] = 0x8000; /* W_SF not implemented */
	CHECK_EQ_INT(fb_codec_decode_run(&p, run, 40082, 3, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);
	/* The value's own sentinel first: SunSpec int16 0x8000. */
	run[2] = 0;
	run[1] = 0x8000;
	p.has_sentinel = true;
	p.sentinel_raw = 0x8000;
	CHECK_EQ_INT(fb_codec_decode_run(&p, run, 40082, 3, &v), 0);
	CHECK_EQ_INT(v.kind, FB_VALUE_NONE);
	/* A static scale and offset still apply: (raw * scale) * 10^sf + offset. */
	p.has_sentinel = false;
	run[1] = 100;
	run[2] = (uint16_t)-2;
	p.scale = 2;
	p.offset = 1;
	CHECK_EQ_INT(fb_codec_decode_run(&p, run, 40082, 3, &v), 0);
	CHECK_NEAR(v.f, 3.0, 1e-12);
	/* The exponent sits before the value (SunSpec meters' A_SF after A..). */
	p.scale_register = 40082;
	run[0] = 1;
	CHECK_EQ_INT(fb_codec_decode_run(&p, run, 40082, 3, &v), 0);
	CHECK_NEAR(v.f, 2001.0, 1e-9);
	fb_point_extent(&p, &first, &last);
	CHECK_EQ_INT(first, 40082);
	/* Outside the run, or through the plain decoder: refused. */
	errno = 0;
	CHECK_EQ_INT(fb_codec_decode_run(&p, run + 1, 40083, 2, &v), -1);
	CHECK_EQ_INT(errno, EINVAL);
	CHECK_EQ_INT(fb_codec_decode(&p, run + 1, &v), -1);
	/* Unsigned and 32-bit values (acc32 WH with WH_SF). */
	struct fb_point_def wh = reg(FB_TYPE_UINT32, FB_ORDER_ABCD);
	uint16_t acc[3] = { 0x0001, 0xE240, 0x0001 };

	wh.address = 10;
	wh.has_scale_register = true;
	wh.scale_register = 12;
	wh.scale = 0.001; /* Wh -> kWh */
	CHECK_EQ_INT(fb_codec_decode_run(&wh, acc, 10, 3, &v), 0);
	CHECK_NEAR(v.f, 1234.56, 1e-9);
}

int main(void)
{
	RUN_TEST(float32_230_5_in_every_order);
	RUN_TEST(float32_decodes_to_the_shortest_decimal);
	RUN_TEST(float64_in_every_order);
	RUN_TEST(int32_and_uint32_in_every_order);
	RUN_TEST(int64_and_uint64_in_every_order);
	RUN_TEST(int16_negatives_and_single_register_swap);
	RUN_TEST(bcd_decodes_digits_and_rejects_bad_nibbles);
	RUN_TEST(strings_in_both_byte_orders);
	RUN_TEST(bits_bools_and_coils);
	RUN_TEST(scale_and_offset);
	RUN_TEST(sentinel_and_nan_become_none);
	RUN_TEST(encode_range_errors);
	RUN_TEST(every_type_and_order_round_trips);
	RUN_TEST(point_width_counts_registers_per_type);
	RUN_TEST(byte_types_and_sign_magnitude);
	RUN_TEST(switch_with_raw_on_off_values);
	RUN_TEST(scale_register_from_the_same_read);
	return fb_test_finish();
}
