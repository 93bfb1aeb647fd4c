/* SPDX-License-Identifier: Apache-2.0 */
/* Running a definition's test vectors: each expected point is decoded from
 * the vector's words by the same codec the driver uses (codec.c), so a
 * vector proves the map (address, type, order, scale) and the decoder
 * together.  `fieldbridgectl definition check` and the test suite both call
 * fb_model_run_vectors. */
#include "model.h"
#include "model-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rounding noise only: a scaled integer such as 2257 * 0.1 is
 * 225.70000000000002, which must still equal 225.7. */
#define ROUNDING 1e-9

/* The loader checked that every point a vector names lies in one block. */
static const uint16_t *point_words(const struct fb_vector *v, const struct fb_point_def *p)
{
	const struct fb_vector_block *b = fb_model_vector_block(v, p);

	return b->words + (p->address - b->address);
}

/* "input_register 0x001A: 0x41F8 0x0000", the words a point was decoded
 * from, for messages. */
static void words_text(const struct fb_vector *v, const struct fb_point_def *p,
		       char *buf, size_t len)
{
	const uint16_t *w = point_words(v, p);
	unsigned n = fb_point_width(p);
	size_t at;

	at = (size_t)snprintf(buf, len, "%s 0x%04X:", fb_reg_table_name(p->table), p->address);
	for (unsigned i = 0; i < n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, " 0x%04X", w[i]);
}

static void value_text(const struct fb_value *val, char *buf, size_t len)
{
	switch (val->kind) {
	case FB_VALUE_BOOL: snprintf(buf, len, "%s", val->b ? "true" : "false"); break;
	case FB_VALUE_INT: snprintf(buf, len, "%" PRId64, val->i); break;
	case FB_VALUE_UINT: snprintf(buf, len, "%" PRIu64, val->u); break;
	case FB_VALUE_FLOAT: snprintf(buf, len, "%.10g", val->f); break;
	case FB_VALUE_STRING: snprintf(buf, len, "\"%s\"", val->s); break;
	default: snprintf(buf, len, "unknown"); break;
	}
}

static bool as_number(const struct fb_value *val, double *out)
{
	switch (val->kind) {
	case FB_VALUE_INT: *out = (double)val->i; return true;
	case FB_VALUE_UINT: *out = (double)val->u; return true;
	case FB_VALUE_FLOAT: *out = val->f; return true;
	default: return false;
	}
}

static double allowed(double tol, bool pct, double expected)
{
	double t = pct ? fabs(expected) * tol / 100.0 : tol;
	double r = ROUNDING * fmax(1.0, fabs(expected));

	return t > r ? t : r;
}

static bool expect_met(const struct fb_vector_expect *e, const struct fb_value *val)
{
	double x;

	switch (e->kind) {
	case FB_EXPECT_UNKNOWN:
		return val->kind == FB_VALUE_NONE;
	case FB_EXPECT_BOOL:
		return val->kind == FB_VALUE_BOOL && val->b == e->b;
	case FB_EXPECT_STRING:
		return val->kind == FB_VALUE_STRING && !strcmp(val->s, e->s);
	case FB_EXPECT_NUMBER:
		return as_number(val, &x) &&
		       fabs(x - e->number) <= allowed(e->tolerance, e->tolerance_pct, e->number);
	}
	return false;
}

static void expected_text(const struct fb_vector_expect *e, char *buf, size_t len)
{
	switch (e->kind) {
	case FB_EXPECT_UNKNOWN: snprintf(buf, len, "unknown"); break;
	case FB_EXPECT_BOOL: snprintf(buf, len, "%s", e->b ? "true" : "false"); break;
	case FB_EXPECT_STRING: snprintf(buf, len, "\"%s\"", e->s); break;
	case FB_EXPECT_NUMBER:
		if (e->tolerance > 0)
			snprintf(buf, len, "%.10g ± %g%s", e->number, e->tolerance,
				 e->tolerance_pct ? "%" : "");
		else
			snprintf(buf, len, "%.10g", e->number);
		break;
	}
}

/* A point outside the vector's SunSpec chain reads as unknown, as the
 * driver leaves it. */
static int decode(const struct fb_definition *def, const struct fb_vector *v,
		  const struct fb_point_def *orig, struct fb_value *val)
{
	struct fb_point_def p;
	const struct fb_vector_block *b;

	if (!fb_model_vector_point(def, v, orig, &p)) {
		memset(val, 0, sizeof(*val));
		return 0;
	}
	b = fb_model_vector_block(v, &p);
	if (!b) {
		errno = ERANGE;
		return -1;
	}
	return fb_codec_decode_run(&p, b->words, b->address, b->nwords, val);
}

static void run_expect(const struct fb_definition *def, const struct fb_vector *v,
		       size_t vi, const struct fb_vector_expect *e, struct fb_diag *d,
		       struct fb_vector_report *rep)
{
	const struct fb_point_def *p = &def->points[e->point];
	char got[FB_TABLE_STRING_MAX + 8], want[FB_TABLE_STRING_MAX + 40], words[96];
	struct fb_value val;

	struct fb_point_def placed;

	rep->checks++;
	if (fb_model_vector_point(def, v, p, &placed) && fb_model_vector_block(v, &placed))
		words_text(v, &placed, words, sizeof(words));
	else
		snprintf(words, sizeof(words), "(not in the vector's SunSpec chain)");
	if (decode(def, v, p, &val) < 0) {
		rep->failed++;
		fb_diag_error(d, "%s: tests[%zu] (%s).expect.%s: cannot decode (%s) from %s",
			      def->path, vi, v->name, p->key, strerror(errno), words);
		return;
	}
	if (expect_met(e, &val))
		return;
	rep->failed++;
	value_text(&val, got, sizeof(got));
	expected_text(e, want, sizeof(want));
	fb_diag_error(d, "%s: tests[%zu] (%s).expect.%s: got %s, expected %s (%s)",
		      def->path, vi, v->name, p->key, got, want, words);
}

static void run_invariant(const struct fb_definition *def, const struct fb_vector *v,
			  size_t vi, size_t ii, struct fb_diag *d,
			  struct fb_vector_report *rep)
{
	const struct fb_invariant *inv = &v->invariants[ii];
	const bool sum = inv->op == FB_INVARIANT_SUM;
	struct fb_value val;
	double lhs = 0.0, rhs = sum ? 0.0 : 1.0, x, tol;
	char what[200];
	size_t at;

	rep->checks++;
	at = (size_t)snprintf(what, sizeof(what), "%s = ", def->points[inv->equals].key);
	for (size_t t = 0; t < inv->nterms && at < sizeof(what); t++)
		at += (size_t)snprintf(what + at, sizeof(what) - at, "%s%s", t ? (sum ? " + " : " * ") : "",
				       def->points[inv->terms[t]].key);
	for (size_t t = 0; t <= inv->nterms; t++) {
		const struct fb_point_def *p = &def->points[t < inv->nterms ? inv->terms[t]
								       : inv->equals];

		if (decode(def, v, p, &val) < 0 || !as_number(&val, &x)) {
			rep->failed++;
			fb_diag_error(d, "%s: tests[%zu] (%s).invariants[%zu] (%s): %s has no "
				      "numeric value", def->path, vi, v->name, ii,
				      inv->name ? inv->name : what, p->key);
			return;
		}
		if (t == inv->nterms)
			lhs = x;
		else
			rhs = sum ? rhs + x : rhs * x;
	}
	tol = allowed(inv->tolerance, inv->tolerance_pct, lhs);
	if (fabs(lhs - rhs) <= tol)
		return;
	rep->failed++;
	fb_diag_error(d, "%s: tests[%zu] (%s).invariants[%zu] (%s): %s is %.10g, the %s "
		      "is %.10g (difference %.6g, allowed %.6g)", def->path, vi, v->name, ii,
		      inv->name ? inv->name : what, def->points[inv->equals].key, lhs,
		      sum ? "sum" : "product", rhs, fabs(lhs - rhs), tol);
}

size_t fb_model_run_vectors(const struct fb_definition *def, struct fb_diag *diag,
			    struct fb_vector_report *rep)
{
	struct fb_vector_report local = { 0 };

	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	if (!def)
		return 0;
	for (size_t vi = 0; vi < def->nvectors; vi++) {
		const struct fb_vector *v = &def->vectors[vi];

		rep->vectors++;
		rep->captured += v->captured;
		for (size_t i = 0; i < v->nexpect; i++)
			run_expect(def, v, vi, &v->expect[i], diag, rep);
		for (size_t i = 0; i < v->ninvariants; i++)
			run_invariant(def, v, vi, i, diag, rep);
	}
	return rep->failed;
}

bool fb_model_point_has_vector(const struct fb_definition *def, size_t index)
{
	if (!def)
		return false;
	for (size_t vi = 0; vi < def->nvectors; vi++)
		for (size_t i = 0; i < def->vectors[vi].nexpect; i++)
			if (def->vectors[vi].expect[i].point == index)
				return true;
	return false;
}
