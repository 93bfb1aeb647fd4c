/* SPDX-License-Identifier: Apache-2.0 */
/* Value comparison and JSON formatting, plus the layout arithmetic
 * shared by the driver and reader sides. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "table-internal.h"
#include "fb_defaults.h"
#include "fpmath.h"

bool fb_value_equal(const struct fb_value *a, const struct fb_value *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case FB_VALUE_NONE:
		return true;
	case FB_VALUE_BOOL:
		return !!a->b == !!b->b;
	case FB_VALUE_INT:
		return a->i == b->i;
	case FB_VALUE_UINT:
		return a->u == b->u;
	case FB_VALUE_FLOAT:
		/* NaN == NaN here, or a sensor stuck at NaN would journal a
		 * change on every poll; 0.0 and -0.0 count as equal too. */
		return a->f == b->f || (isnan(a->f) && isnan(b->f));
	case FB_VALUE_STRING:
		return strncmp(a->s, b->s, sizeof(a->s)) == 0;
	default:
		return false;
	}
}

void fb_table_util_normalize(struct fb_value *dst, const struct fb_value *src)
{
	struct fb_value v;

	memset(&v, 0, sizeof(v));
	v.kind = src->kind;
	switch (src->kind) {
	case FB_VALUE_BOOL: {
		unsigned char raw;

		/* The byte may come from another process: reading anything but
		 * 0 or 1 as a bool is undefined (and may be kept as it is). */
		memcpy(&raw, &src->b, 1);
		v.b = raw != 0;
		break;
	}
	case FB_VALUE_INT:
		v.i = src->i;
		break;
	case FB_VALUE_UINT:
		v.u = src->u;
		break;
	case FB_VALUE_FLOAT:
		v.f = src->f;
		break;
	case FB_VALUE_STRING:
		memcpy(v.s, src->s, strnlen(src->s, sizeof(v.s) - 1));
		break;
	case FB_VALUE_NONE:
		break;
	default:
		v.kind = FB_VALUE_NONE;
		break;
	}
	*dst = v;
}

/* Appends to buf at *pos; -1/ENOSPC if it (plus the NUL) does not fit. */
static int put(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
	if (len - *pos <= n) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = '\0';
	return 0;
}

/* Length of the valid UTF-8 sequence at s (at most `avail` bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	size_t n;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2; cp = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3; cp = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4; cp = s[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* JSON string (RFC 8259 section 7); bytes that are not valid UTF-8, e.g. a
 * device's padding garbage, become U+FFFD so the document stays valid. */
static int json_string(const char *s, size_t maxlen, char *buf, size_t len, size_t *pos)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, maxlen);
	char esc[8];

	if (put(buf, len, pos, "\"", 1) < 0)
		return -1;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		const char *out = NULL;
		size_t outlen = 0, adv = 1;

		switch (c) {
		case '"': out = "\\\""; outlen = 2; break;
		case '\\': out = "\\\\"; outlen = 2; break;
		case '\b': out = "\\b"; outlen = 2; break;
		case '\f': out = "\\f"; outlen = 2; break;
		case '\n': out = "\\n"; outlen = 2; break;
		case '\r': out = "\\r"; outlen = 2; break;
		case '\t': out = "\\t"; outlen = 2; break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				out = esc;
				outlen = 6;
			} else {
				adv = utf8_seq_len(p + i, n - i);
				if (adv == 0) {
					out = "\\ufffd";
					outlen = 6;
					adv = 1;
				} else {
					out = (const char *)p + i;
					outlen = adv;
				}
			}
		}
		if (put(buf, len, pos, out, outlen) < 0)
			return -1;
		i += adv;
	}
	return put(buf, len, pos, "\"", 1);
}

/* What "%.15g" prints for d when d is the double of a decimal of at most
 * 15 significant digits with 1e-4 <= |d| < 1e15 (every value a float32
 * register decodes to, codec.c): that decimal (DBL_DIG: it is the only
 * one), found by scaling instead of printf's multi-precision formatting.
 * False: not such a value. */
static bool format_decimal_fast(double d, char *tmp, size_t len)
{
	static const double p10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
		1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
	};
	double a = fabs(d);

	if (!(a >= 1e-4 && a < 1e15) || len < 40)
		return false;
	for (int k = 0; k < (int)(sizeof(p10) / sizeof(p10[0])); k++) {
		double m = fb_fpmath_nearbyint(a * p10[k]);
		unsigned long long u;
		char digits[24], *o = tmp;
		int nd = 0, lead;

		if (m >= 1e15)
			return false; /* more than 15 digits */
		if (m / p10[k] != a)
			continue;
		/* The digits of m, then the point k from the right; trailing
		 * zeros of the fraction dropped as %g does. */
		for (u = (unsigned long long)m; u; u /= 10)
			digits[nd++] = (char)('0' + u % 10);
		while (k > 0 && nd > 0 && digits[0] == '0') {
			memmove(digits, digits + 1, (size_t)--nd);
			k--;
		}
		if (d < 0)
			*o++ = '-';
		lead = nd - k; /* digits before the point */
		if (lead <= 0) {
			*o++ = '0';
		} else {
			for (int i = 0; i < lead; i++)
				*o++ = digits[nd - 1 - i];
		}
		if (k > 0) {
			*o++ = '.';
			for (int i = lead; i < 0; i++)
				*o++ = '0';
			for (int i = lead > 0 ? lead : 0; i < nd; i++)
				*o++ = digits[nd - 1 - i];
		}
		*o = '\0';
		return true;
	}
	return false;
}

/* "%lld" / "%llu" without printf (the exporter formats every diagnostic
 * counter of every state message). */
static void format_int(unsigned long long u, bool neg, char *tmp)
{
	char digits[24];
	int n = 0;

	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10));
	if (neg)
		*tmp++ = '-';
	while (n)
		*tmp++ = digits[--n];
	*tmp = '\0';
}

/* Shortest of %.15g..%.17g that reads back as the same double. */
static void format_double(double d, char *tmp, size_t len)
{
	if (d == 0 || format_decimal_fast(d, tmp, len)) {
		if (d == 0)
			snprintf(tmp, len, "%s", signbit(d) ? "-0" : "0");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, len, "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* A daemon that called setlocale() may get "1,5"; JSON needs '.'. */
	for (char *c = tmp; *c; c++)
		if (*c == ',')
			*c = '.';
}

static int value_to_json(const struct fb_value *v, char *buf, size_t len)
{
	char tmp[40];
	const char *s = tmp;
	size_t pos = 0;

	if (!buf || len == 0) {
		errno = ENOSPC;
		return -1;
	}
	buf[0] = '\0';
	switch (v->kind) {
	case FB_VALUE_BOOL:
		s = v->b ? "true" : "false";
		break;
	case FB_VALUE_INT:
		/* The magnitude in unsigned: -INT64_MIN overflows a signed one. */
		format_int(v->i < 0 ? 0ULL - (unsigned long long)v->i : (unsigned long long)v->i,
			   v->i < 0, tmp);
		break;
	case FB_VALUE_UINT:
		format_int((unsigned long long)v->u, false, tmp);
		break;
	case FB_VALUE_FLOAT:
		if (isfinite(v->f))
			format_double(v->f, tmp, sizeof(tmp));
		else
			s = "null"; /* JSON has no NaN/Inf */
		break;
	case FB_VALUE_STRING:
		return json_string(v->s, sizeof(v->s), buf, len, &pos);
	default:
		s = "null";
		break;
	}
	return put(buf, len, &pos, s, strlen(s));
}

int fb_value_to_json(const struct fb_value *v, char *buf, size_t len)
{
	int ret = value_to_json(v, buf, len);

	if (ret < 0 && buf && len)
		buf[0] = '\0'; /* never leave a truncated document behind */
	return ret;
}

int fb_table_util_path(const char *path, char dir[FB_TABLE_PATH_MAX],
		       char base[FB_TABLE_BASE_MAX])
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	const char *name = slash ? slash + 1 : path;
	size_t dlen;

	if (!path || (slash && path[0] != '/') || !*name || *name == '.' ||
	    strlen(name) >= FB_TABLE_BASE_MAX || strlen(path) >= FB_TABLE_PATH_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (slash) {
		dlen = slash == path ? 1 : (size_t)(slash - path);
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
	} else {
		snprintf(dir, FB_TABLE_PATH_MAX, "%s", FB_DEFAULT_RUNTIME_DIR);
	}
	snprintf(base, FB_TABLE_BASE_MAX, "%s", name);
	return 0;
}

int fb_table_util_open_dir(const char *dir, uid_t *owner)
{
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	/* Anyone who may create files here could squat a table's name. */
	if (st.st_mode & S_IWOTH) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	*owner = st.st_uid;
	return fd;
}

int fb_table_util_check_file(int fd, uid_t owner, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return -1;
	if (!S_ISREG(st->st_mode) || st->st_uid != owner || (st->st_mode & S_IRWXO)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int fb_table_util_layout(uint32_t npoints, uint32_t ndevices, struct fb_shm_layout *out)
{
	uint64_t off;

	if (npoints > FB_SHM_POINTS_MAX || ndevices > FB_SHM_DEVICES_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* The limits keep every product below far from 2^64. */
	off = align_up(sizeof(struct fb_shm_header), 64);
	out->cmdq_off = off;
	off += sizeof(struct fb_shm_cmdq);
	out->ro_off = off = align_up(off, FB_SHM_RO_ALIGN);
	out->journal_off = off;
	off = align_up(off + sizeof(struct fb_shm_journal), 64);
	out->results_off = off;
	off = align_up(off + sizeof(struct fb_shm_results), 64);
	out->devices_off = off;
	off = align_up(off + (uint64_t)ndevices * sizeof(struct fb_shm_device), 64);
	out->pdesc_off = off;
	off = align_up(off + (uint64_t)npoints * sizeof(struct fb_shm_point_desc), 64);
	out->points_off = off;
	off += (uint64_t)npoints * sizeof(struct fb_shm_point);
	out->total_size = align_up(off, 4096);
	return 0;
}
