/* SPDX-License-Identifier: Apache-2.0 */
/* Wire registers <-> values.
 *
 * Registers arrive as libmodbus returns them: host-order uint16_t, each
 * holding the two wire bytes high byte first.  A multi-register value is
 * first put into canonical big-endian word order (see enum fb_byte_order),
 * then read as the point's type. */
#include "model.h"
#include "model-internal.h"
#include "fpmath.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t bswap16(uint16_t w)
{
	return (uint16_t)((w << 8) | (w >> 8));
}

static bool word_order_reversed(enum fb_byte_order o)
{
	return o == FB_ORDER_CDAB || o == FB_ORDER_DCBA;
}

static bool bytes_swapped(enum fb_byte_order o)
{
	return o == FB_ORDER_BADC || o == FB_ORDER_DCBA;
}

/* The i-th most significant word of an n-register value. */
static uint16_t word_at(const uint16_t *regs, unsigned n, unsigned i, enum fb_byte_order o)
{
	uint16_t w = regs[word_order_reversed(o) ? n - 1 - i : i];

	return bytes_swapped(o) ? bswap16(w) : w;
}

static uint64_t regs_to_bits(const uint16_t *regs, unsigned n, enum fb_byte_order o)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 16) | word_at(regs, n, i, o);
	return v;
}

static void bits_to_regs(uint64_t v, unsigned n, enum fb_byte_order o, uint16_t *regs)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t w = (uint16_t)(v >> (16 * (n - 1 - i)));

		if (bytes_swapped(o))
			w = bswap16(w);
		regs[word_order_reversed(o) ? n - 1 - i : i] = w;
	}
}

static uint64_t width_mask(unsigned n)
{
	return n >= 4 ? UINT64_MAX : (UINT64_C(1) << (16 * n)) - 1;
}

/* Packed BCD, most significant digit first; -1 on a nibble above 9. */
static int bcd_decode(uint64_t bits, unsigned digits, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = (int)digits - 1; i >= 0; i--) {
		unsigned nib = (unsigned)(bits >> (4 * i)) & 0xF;

		if (nib > 9)
			return -1;
		v = v * 10 + nib;
	}
	*out = v;
	return 0;
}

static uint64_t bcd_encode(uint64_t v, unsigned digits)
{
	uint64_t bits = 0;

	for (unsigned i = 0; i < digits; i++) {
		bits |= (v % 10) << (4 * i);
		v /= 10;
	}
	return bits;
}

/* Strings: byte 2i is the high byte of register i (ABCD) or its low byte
 * (BADC).  Stops at NUL, drops trailing padding, and keeps the result
 * printable ASCII because it ends up in JSON and in Home Assistant. */
static void string_decode(const struct fb_point_def *p, const uint16_t *regs,
			  struct fb_value *v)
{
	size_t n = 0, len = (size_t)p->length * 2;

	if (len > FB_TABLE_STRING_MAX - 1)
		len = FB_TABLE_STRING_MAX - 1;
	for (size_t i = 0; i < len; i++) {
		uint16_t w = regs[i / 2];
		unsigned char c = (i % 2 == 0) != bytes_swapped(p->order)
				  ? (unsigned char)(w >> 8) : (unsigned char)(w & 0xFF);

		if (c == 0)
			break;
		v->s[n++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
	}
	while (n > 0 && v->s[n - 1] == ' ')
		n--;
	v->s[n] = '\0';
	v->kind = FB_VALUE_STRING;
}

/* A float32 register value widened to double prints as 230.60000610351562;
 * the meter meant 230.6.  Take the shortest decimal that reads back as the
 * same float (at most 9 digits) and store that as the double. */
static const double codec_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
};

/* The same result without printing, for 1e-4 <= |x| < 1e6 (a meter's
 * values): x * 10^k is exact in a double for k <= 12 (24 + 28 bits), so
 * nearbyint rounds it exactly as printf does, and m / 10^k is the double
 * strtod gives for that decimal.  False: use the printing loop. */
static bool float_shortest_fast(float x, double *out)
{
	double a = fabs((double)x);
	int e = -4;

	if (!(a >= 1e-4 && a < 1e6))
		return false;
	while (e < 5 && a >= (e >= -1 ? codec_pow10[e + 1] : 1.0 / codec_pow10[-e - 1]))
		e++;
	for (int prec = 6; prec <= 9; prec++) {
		int k = prec - 1 - e;
		double m, cand, lo, hi;
		float f;

		if (k < 0 || k > 12)
			return false;
		m = fb_fpmath_nearbyint((double)x * codec_pow10[k]);
		cand = m / codec_pow10[k];
		f = (float)cand;
		lo = f;
		hi = fb_fpmath_nextafterf(f, cand > lo ? INFINITY : -INFINITY);
		/* Exactly between two floats, strtof and (float) of the double
		 * may round apart: leave it to strtof. */
		if (cand != lo && 2 * cand == lo + hi)
			return false;
		if (f == x) {
			*out = cand;
			return true;
		}
	}
	return false;
}

static double float_to_shortest_double(float x)
{
	char buf[32];
	double fast;

	if (!isfinite(x))
		return (double)x;
	if (float_shortest_fast(x, &fast))
		return fast;
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, (double)x);
		if (strtof(buf, NULL) == x)
			break;
	}
	return strtod(buf, NULL);
}

/* A switch on an integer register: on_value / off_value, else unknown. */
static void switch_decode(const struct fb_point_def *p, struct fb_value *v)
{
	int64_t raw = v->kind == FB_VALUE_INT ? v->i : (int64_t)v->u;
	bool known = raw == p->switch_on_raw || raw == p->switch_off_raw;

	memset(v, 0, sizeof(*v));
	v->kind = known ? FB_VALUE_BOOL : FB_VALUE_NONE;
	v->b = raw == p->switch_on_raw;
}

/* The byte an 8-bit type reads, as its type. */
static void byte_decode(const struct fb_point_def *p, uint64_t bits, struct fb_value *v)
{
	unsigned b = (unsigned)bits & 0xFF;

	switch (p->type) {
	case FB_TYPE_UINT8:
		v->kind = FB_VALUE_UINT;
		v->u = b;
		break;
	case FB_TYPE_INT8:
		v->kind = FB_VALUE_INT;
		v->i = (int8_t)(uint8_t)b;
		break;
	default: /* FB_TYPE_INT8_SM: bit 7 is the sign, 0x80 is -0 */
		v->kind = FB_VALUE_INT;
		v->i = b & 0x80 ? -(int64_t)(b & 0x7F) : (int64_t)b;
		break;
	}
}

static int decode(const struct fb_point_def *p, const uint16_t *regs, struct fb_value *v);

int fb_codec_decode(const struct fb_point_def *p, const uint16_t *regs,
		    struct fb_value *v)
{
	if (!p || !regs || !v) {
		errno = EINVAL;
		return -1;
	}
	memset(v, 0, sizeof(*v));
	if (p->has_scale_register) {
		/* The exponent is in another register: fb_codec_decode_run. */
		errno = EINVAL;
		return -1;
	}
	return decode(p, regs, v);
}

int fb_codec_decode_run(const struct fb_point_def *p, const uint16_t *regs,
			uint16_t first, size_t count, struct fb_value *v)
{
	uint32_t end = (uint32_t)first + count;
	int16_t sf;
	int rc;

	if (!p || !regs || !v || p->address < first ||
	    (uint32_t)p->address + fb_point_width(p) > end ||
	    (p->has_scale_register && (p->scale_register < first || p->scale_register >= end))) {
		errno = EINVAL;
		return -1;
	}
	memset(v, 0, sizeof(*v));
	if (!p->has_scale_register)
		return decode(p, regs + (p->address - first), v);
	/* The raw value first (a shallow copy without scale), then
	 * raw * scale * 10^sf + offset. */
	struct fb_point_def raw = *p;

	raw.scale = 1.0;
	raw.offset = 0.0;
	rc = decode(&raw, regs + (p->address - first), v);
	if (rc < 0 || v->kind == FB_VALUE_NONE)
		return rc;
	sf = (int16_t)regs[p->scale_register - first];
	double x = v->kind == FB_VALUE_INT ? (double)v->i
		 : v->kind == FB_VALUE_UINT ? (double)v->u : v->f;

	memset(v, 0, sizeof(*v));
	/* SunSpec: 0x8000 is "not implemented"; real exponents are small. */
	if (sf < -20 || sf > 20) {
		v->kind = FB_VALUE_NONE;
		return 0;
	}
	v->kind = FB_VALUE_FLOAT;
	/* Dividing by 10^-sf rounds once: 2303 / 10 is 230.3, 2303 * 0.1 is not. */
	v->f = (sf < 0 ? x * p->scale / fb_fpmath_pow10(-sf) : x * p->scale * fb_fpmath_pow10(sf)) +
	       p->offset;
	return 0;
}

static int decode(const struct fb_point_def *p, const uint16_t *regs, struct fb_value *v)
{
	unsigned n;
	uint64_t bits, u;
	double f;

	if (fb_point_is_bit_table(p)) {
		v->kind = FB_VALUE_BOOL;
		v->b = regs[0] != 0;
		return 0;
	}
	switch (p->type) {
	case FB_TYPE_BOOL:
		v->kind = FB_VALUE_BOOL;
		v->b = regs[0] != 0;
		return 0;
	case FB_TYPE_BIT:
		v->kind = FB_VALUE_BOOL;
		v->b = (word_at(regs, 1, 0, p->order) >> p->bit) & 1;
		return 0;
	case FB_TYPE_STRING:
		string_decode(p, regs, v);
		return 0;
	default:
		break;
	}

	n = fb_point_width(p);
	bits = regs_to_bits(regs, n, p->order);
	if (fb_model_type_is_byte(p->type))
		bits = p->byte_high ? bits >> 8 : bits & 0xFF;
	if (p->has_sentinel && bits == ((uint64_t)p->sentinel_raw &
					(fb_model_type_is_byte(p->type) ? 0xFF : width_mask(n)))) {
		v->kind = FB_VALUE_NONE;
		return 0;
	}

	switch (p->type) {
	case FB_TYPE_INT8:
	case FB_TYPE_UINT8:
	case FB_TYPE_INT8_SM:
		byte_decode(p, bits, v);
		break;
	case FB_TYPE_INT16:
		v->kind = FB_VALUE_INT;
		v->i = (int16_t)(uint16_t)bits;
		break;
	case FB_TYPE_INT32:
		v->kind = FB_VALUE_INT;
		v->i = (int32_t)(uint32_t)bits;
		break;
	case FB_TYPE_INT64:
		v->kind = FB_VALUE_INT;
		v->i = (int64_t)bits;
		break;
	case FB_TYPE_UINT16:
	case FB_TYPE_UINT32:
	case FB_TYPE_UINT64:
		v->kind = FB_VALUE_UINT;
		v->u = bits;
		break;
	case FB_TYPE_BCD16:
	case FB_TYPE_BCD32:
		if (bcd_decode(bits, n * 4, &u) < 0) {
			errno = EINVAL;
			return -1;
		}
		v->kind = FB_VALUE_UINT;
		v->u = u;
		break;
	case FB_TYPE_FLOAT32: {
		uint32_t b32 = (uint32_t)bits;
		float x;

		memcpy(&x, &b32, sizeof(x));
		v->kind = FB_VALUE_FLOAT;
		v->f = float_to_shortest_double(x);
		break;
	}
	case FB_TYPE_FLOAT64:
		memcpy(&f, &bits, sizeof(f));
		v->kind = FB_VALUE_FLOAT;
		v->f = f;
		break;
	default:
		errno = EINVAL;
		return -1;
	}

	if (p->has_switch_raw) {
		switch_decode(p, v);
		return 0;
	}
	if (v->kind == FB_VALUE_FLOAT) {
		/* NaN/inf cannot be published (not JSON); meters send them while
		 * a value is not available. */
		if (!isfinite(v->f)) {
			memset(v, 0, sizeof(*v));
			v->kind = FB_VALUE_NONE;
			return 0;
		}
		v->f = v->f * p->scale + p->offset;
	} else if (!fb_model_identity(p)) {
		f = v->kind == FB_VALUE_INT ? (double)v->i : (double)v->u;
		memset(v, 0, sizeof(*v));
		v->kind = FB_VALUE_FLOAT;
		v->f = f * p->scale + p->offset;
	}
	return 0;
}

/* ---- encode ---- */

static int value_as_bool(const struct fb_value *v, bool *out)
{
	switch (v->kind) {
	case FB_VALUE_BOOL:
		*out = v->b;
		return 0;
	case FB_VALUE_INT:
		if (v->i != 0 && v->i != 1)
			break;
		*out = v->i == 1;
		return 0;
	case FB_VALUE_UINT:
		if (v->u > 1)
			break;
		*out = v->u == 1;
		return 0;
	case FB_VALUE_FLOAT:
		if (v->f != 0.0 && v->f != 1.0)
			break;
		*out = v->f == 1.0;
		return 0;
	default:
		errno = EINVAL;
		return -1;
	}
	errno = ERANGE;
	return -1;
}

static int value_as_double(const struct fb_value *v, double *out)
{
	switch (v->kind) {
	case FB_VALUE_BOOL: *out = v->b ? 1.0 : 0.0; return 0;
	case FB_VALUE_INT: *out = (double)v->i; return 0;
	case FB_VALUE_UINT: *out = (double)v->u; return 0;
	case FB_VALUE_FLOAT:
		if (isnan(v->f))
			break;
		*out = v->f;
		return 0;
	default:
		break;
	}
	errno = EINVAL;
	return -1;
}

/* Raw integer for an integer/BCD type, as register bits.  Exact for
 * unscaled integers of any width; scaled values round to nearest (half away
 * from zero) before the range check.  No long double: it is double on
 * 32-bit ARM, where it made 2^63 pass as an int64. */
static int encode_int(const struct fb_point_def *p, const struct fb_value *v,
		      unsigned n, uint64_t *bits)
{
	int64_t lo;
	uint64_t hi;
	double r;
	bool neg;
	uint64_t mag;

	fb_point_int_range(p->type, &lo, &hi);
	if (fb_model_identity(p) && (v->kind == FB_VALUE_INT || v->kind == FB_VALUE_UINT ||
				     v->kind == FB_VALUE_BOOL)) {
		if (v->kind == FB_VALUE_INT) {
			neg = v->i < 0;
			mag = neg ? (uint64_t)0 - (uint64_t)v->i : (uint64_t)v->i;
		} else {
			neg = false;
			mag = v->kind == FB_VALUE_UINT ? v->u : (uint64_t)v->b;
		}
		/* Exact: a magnitude against the type's limits. */
		if (neg ? mag > (uint64_t)0 - (uint64_t)lo : mag > hi) {
			errno = ERANGE;
			return -1;
		}
	} else {
		double x;

		if (value_as_double(v, &x) < 0)
			return -1;
		if (!isfinite(x)) {
			errno = ERANGE;
			return -1;
		}
		r = fb_fpmath_round((x - p->offset) / p->scale);
		/* The check makes the conversions below defined: |r| < 2^64. */
		if (!fb_point_double_in_range(r, lo, hi)) {
			errno = ERANGE;
			return -1;
		}
		neg = r < 0;
		mag = (uint64_t)(neg ? -r : r);
	}
	if (p->type == FB_TYPE_BCD16 || p->type == FB_TYPE_BCD32) {
		*bits = bcd_encode(mag, n * 4);
		return 0;
	}
	*bits = (neg ? (uint64_t)0 - mag : mag) & width_mask(n);
	return 0;
}

static int encode_string(const struct fb_point_def *p, const struct fb_value *v,
			 uint16_t *regs)
{
	size_t len, cap = (size_t)p->length * 2;

	if (v->kind != FB_VALUE_STRING) {
		errno = EINVAL;
		return -1;
	}
	len = strnlen(v->s, sizeof(v->s));
	if (len > cap || len == sizeof(v->s)) {
		errno = ERANGE;
		return -1;
	}
	for (size_t i = 0; i < p->length; i++) {
		unsigned char a = 2 * i < len ? (unsigned char)v->s[2 * i] : 0;
		unsigned char b = 2 * i + 1 < len ? (unsigned char)v->s[2 * i + 1] : 0;

		regs[i] = bytes_swapped(p->order) ? (uint16_t)(b << 8 | a)
						  : (uint16_t)(a << 8 | b);
	}
	return p->length;
}

int fb_codec_encode(const struct fb_point_def *p, const struct fb_value *v,
		    uint16_t *regs, size_t max_regs)
{
	unsigned n;
	uint64_t bits;
	bool b;

	if (!p || !v || !regs) {
		errno = EINVAL;
		return -1;
	}
	n = fb_point_width(p);
	if (max_regs < n) {
		errno = EINVAL;
		return -1;
	}
	if (fb_point_is_bit_table(p) || p->type == FB_TYPE_BOOL) {
		if (value_as_bool(v, &b) < 0)
			return -1;
		regs[0] = b ? 1 : 0;
		return 1;
	}
	if (p->has_switch_raw) {
		if (value_as_bool(v, &b) < 0)
			return -1;
		bits = (uint64_t)(b ? p->switch_on_raw : p->switch_off_raw) & width_mask(n);
		bits_to_regs(bits, n, p->order, regs);
		return (int)n;
	}
	if (fb_model_type_is_byte(p->type) || p->has_scale_register) {
		/* A byte shares its register; an exponent lives in another one:
		 * definitions reject writing either. */
		errno = EINVAL;
		return -1;
	}
	switch (p->type) {
	case FB_TYPE_BIT:
		/* Needs a read-modify-write of the register; definitions reject
		 * writable bits. */
		errno = EINVAL;
		return -1;
	case FB_TYPE_STRING:
		return encode_string(p, v, regs);
	case FB_TYPE_FLOAT32:
	case FB_TYPE_FLOAT64: {
		double x, raw;

		if (value_as_double(v, &x) < 0)
			return -1;
		raw = (x - p->offset) / p->scale;
		if (!isfinite(raw) || (p->type == FB_TYPE_FLOAT32 && fabs(raw) > FLT_MAX)) {
			errno = ERANGE;
			return -1;
		}
		if (p->type == FB_TYPE_FLOAT32) {
			float fv = (float)raw;
			uint32_t b32;

			memcpy(&b32, &fv, sizeof(b32));
			bits = b32;
		} else {
			memcpy(&bits, &raw, sizeof(bits));
		}
		break;
	}
	default:
		if (!fb_model_type_is_int(p->type)) {
			errno = EINVAL;
			return -1;
		}
		if (encode_int(p, v, n, &bits) < 0)
			return -1;
		break;
	}
	bits_to_regs(bits, n, p->order, regs);
	return (int)n;
}
