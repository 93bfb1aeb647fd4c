/* SPDX-License-Identifier: Apache-2.0 */
/* Pure unit tests of the table helpers: value equality and JSON text. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "table.h"
#include "testlib.h"

static struct fb_value vf(double f)
{
	struct fb_value v = { .kind = FB_VALUE_FLOAT };
	v.f = f;
	return v;
}

static struct fb_value vs(const char *s)
{
	struct fb_value v = { .kind = FB_VALUE_STRING };
	snprintf(v.s, sizeof(v.s), "%s", s);
	return v;
}

static const char *json(struct fb_value v)
{
	static char buf[256];

	if (fb_value_to_json(&v, buf, sizeof(buf)) < 0)
		return "(error)";
	return buf;
}

static void equal_compares_by_kind_and_content(void)
{
	struct fb_value a = { .kind = FB_VALUE_INT }, b = { .kind = FB_VALUE_UINT };
	struct fb_value s1 = vs("abc"), s2 = vs("abc");

	a.i = 5;
	b.u = 5;
	CHECK(!fb_value_equal(&a, &b));
	b.kind = FB_VALUE_INT;
	b.i = 5;
	CHECK(fb_value_equal(&a, &b));
	b.i = 6;
	CHECK(!fb_value_equal(&a, &b));
	/* garbage after the NUL does not matter */
	s2.s[10] = 'x';
	CHECK(fb_value_equal(&s1, &s2));
	s2.s[1] = 'X';
	CHECK(!fb_value_equal(&s1, &s2));
}

static void equal_treats_nan_as_unchanged(void)
{
	struct fb_value a = vf(NAN), b = vf(NAN), c = vf(1.0), z = vf(0.0), nz = vf(-0.0);

	CHECK(fb_value_equal(&a, &b));
	CHECK(!fb_value_equal(&a, &c));
	CHECK(fb_value_equal(&z, &nz));
}

static void json_formats_every_kind(void)
{
	struct fb_value v = { .kind = FB_VALUE_NONE };

	CHECK(!strcmp(json(v), "null"));
	v.kind = FB_VALUE_BOOL;
	v.b = true;
	CHECK(!strcmp(json(v), "true"));
	v.b = false;
	CHECK(!strcmp(json(v), "false"));
	v.kind = FB_VALUE_INT;
	v.i = -9223372036854775807LL - 1;
	CHECK(!strcmp(json(v), "-9223372036854775808"));
	v.kind = FB_VALUE_UINT;
	v.u = 18446744073709551615ULL;
	CHECK(!strcmp(json(v), "18446744073709551615"));
	CHECK(!strcmp(json(vf(230.1)), "230.1"));
	CHECK(!strcmp(json(vf(0.1 + 0.2)), "0.30000000000000004"));
	CHECK(!strcmp(json(vf(1e300)), "1e+300"));
	CHECK(strtod(json(vf(1.0 / 3)), NULL) == 1.0 / 3);
	CHECK(!strcmp(json(vf(NAN)), "null"));
	CHECK(!strcmp(json(vf(INFINITY)), "null"));
	CHECK(!strcmp(json(vf(-INFINITY)), "null"));
	v.kind = 99;
	CHECK(!strcmp(json(v), "null"));
}

static void json_escapes_strings(void)
{
	CHECK(!strcmp(json(vs("plain")), "\"plain\""));
	CHECK(!strcmp(json(vs("a\"b\\c")), "\"a\\\"b\\\\c\""));
	CHECK(!strcmp(json(vs("l1\nl2\t\x01")), "\"l1\\nl2\\t\\u0001\""));
	CHECK(!strcmp(json(vs("\xc3\xa9t\xc3\xa9")), "\"\xc3\xa9t\xc3\xa9\""));
	CHECK(!strcmp(json(vs("bad\xff")), "\"bad\\ufffd\""));
	/* truncated sequence and a UTF-8-encoded surrogate */
	CHECK(!strcmp(json(vs("x\xe2\x82")), "\"x\\ufffd\\ufffd\""));
	CHECK(!strcmp(json(vs("\xed\xa0\x80")), "\"\\ufffd\\ufffd\\ufffd\""));
}

static void json_fails_with_enospc_when_too_small(void)
{
	struct fb_value v = vs("hello");
	char buf[16];

	errno = 0;
	CHECK_EQ_INT(fb_value_to_json(&v, buf, 7), -1);
	CHECK_EQ_INT(errno, ENOSPC);
	CHECK(!strcmp(buf, "")); /* never a truncated document */
	CHECK_EQ_INT(fb_value_to_json(&v, buf, 8), 0);
	CHECK(!strcmp(buf, "\"hello\""));
	v.kind = FB_VALUE_BOOL;
	v.b = false;
	CHECK_EQ_INT(fb_value_to_json(&v, buf, 5), -1);
	CHECK_EQ_INT(fb_value_to_json(&v, buf, 6), 0);
}

static void clocks_advance(void)
{
	int64_t m = fb_mono_ms(), n = fb_now_ms();

	CHECK(m > 0);
	CHECK(n > 1600000000000LL); /* after 2020 */
	CHECK(fb_mono_ms() >= m);
}

int main(void)
{
	RUN_TEST(equal_compares_by_kind_and_content);
	RUN_TEST(equal_treats_nan_as_unchanged);
	RUN_TEST(json_formats_every_kind);
	RUN_TEST(json_escapes_strings);
	RUN_TEST(json_fails_with_enospc_when_too_small);
	RUN_TEST(clocks_advance);
	return fb_test_finish();
}
