/* SPDX-License-Identifier: Apache-2.0 */
/* The "tests" block of a Modbus definition (docs/device-definitions.md,
 * "Test vectors"): raw words in wire order and the values the definition
 * must decode from them.  Everything that can be checked without decoding
 * is checked here, so a vector that names a missing point, a point of
 * another table or registers outside its words is a load error with the
 * file and JSON path, like every other definition problem.  Running them is
 * vectors.c's job. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A vector is not one request, but more words than the largest bit read
 * have never been needed to show a map. */
#define MAX_WORDS MB_MAX_READ_BITS

static const char *const vector_keys[] = {
	"name", "source", "table", "address", "words", "blocks", "tolerance", "expect",
	"invariants", "sunspec_chain", NULL,
};
static const char *const block_keys[] = { "address", "words", NULL };
static const char *const expect_keys[] = { "value", "tolerance", "unit", NULL };
static const char *const invariant_keys[] = {
	"name", "equals", "sum", "product", "tolerance", NULL,
};

/* The loader's context for one vector. */
struct vctx {
	const char *file;
	const struct fb_definition *def;
	struct fb_vector *v;
	const char *where;     /* "x.json: tests[2] (name)" */
	struct fb_diag *d;
};

static void free_vector(struct fb_vector *v)
{
	free(v->name);
	free(v->source);
	for (size_t i = 0; i < v->nblocks; i++)
		free(v->blocks[i].words);
	free(v->blocks);
	for (size_t i = 0; i < v->nexpect; i++) {
		free(v->expect[i].s);
		free(v->expect[i].unit);
	}
	free(v->expect);
	for (size_t i = 0; i < v->ninvariants; i++) {
		free(v->invariants[i].name);
		free(v->invariants[i].terms);
	}
	free(v->invariants);
	free(v->sunspec_found);
}

void fb_model_vectors_free(struct fb_definition *def)
{
	for (size_t i = 0; i < def->nvectors; i++)
		free_vector(&def->vectors[i]);
	free(def->vectors);
	def->vectors = NULL;
	def->nvectors = 0;
}

/* "tolerance": a number >= 0 (absolute, in the point's unit) or "N%". */
static int read_tolerance(const cJSON *obj, const char *where, struct fb_diag *d,
			  double *tol, bool *pct)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "tolerance");
	char *end;

	if (!t || cJSON_IsNull(t))
		return 0;
	if (cJSON_IsNumber(t) && t->valuedouble >= 0 && isfinite(t->valuedouble)) {
		*tol = t->valuedouble;
		*pct = false;
		return 1;
	}
	if (cJSON_IsString(t)) {
		double x = strtod(t->valuestring, &end);

		if (end != t->valuestring && !strcmp(end, "%") && x >= 0 && x <= 100) {
			*tol = x;
			*pct = true;
			return 1;
		}
	}
	fb_diag_error(d, "%s.tolerance: expected a number >= 0 or a percentage string "
		      "such as \"2%%\"", where);
	return -1;
}

static bool read_word(const cJSON *w, long long *out)
{
	if (cJSON_IsNumber(w)) {
		if (w->valuedouble != floor(w->valuedouble) || w->valuedouble < 0 ||
		    w->valuedouble > 65535)
			return false;
		*out = (long long)w->valuedouble;
		return true;
	}
	if (cJSON_IsBool(w)) {
		*out = cJSON_IsTrue(w);
		return true;
	}
	return cJSON_IsString(w) && fb_point_int_text(w->valuestring, out);
}

/* "address" and "words" of obj (the vector itself, or blocks[i]) into b;
 * `where` names obj. */
static void parse_block(struct vctx *c, const cJSON *obj, const char *where,
			struct fb_vector_block *b)
{
	const cJSON *ws = cJSON_GetObjectItemCaseSensitive(obj, "words");
	const cJSON *w;
	bool bits = c->v->table == FB_REG_COIL || c->v->table == FB_REG_DISCRETE_INPUT;
	long long a;
	size_t n, i = 0;

	if (fb_json_int(obj, "address", true, 0, 65535, where, c->d, &a) == 1)
		b->address = (uint16_t)a;
	if (!ws || cJSON_IsNull(ws)) {
		fb_diag_error(c->d, "%s.words: required field is missing", where);
		return;
	}
	n = cJSON_IsArray(ws) ? (size_t)cJSON_GetArraySize(ws) : 0;
	if (n == 0 || n > MAX_WORDS) {
		fb_diag_error(c->d, "%s.words: expected an array of 1..%d register values "
			      "in wire order", where, MAX_WORDS);
		return;
	}
	b->words = calloc(n, sizeof(*b->words));
	if (!b->words) {
		fb_diag_error(c->d, "%s: out of memory", c->file);
		return;
	}
	cJSON_ArrayForEach(w, ws) {
		long long x;

		if (!read_word(w, &x) || x < 0 || x > (bits ? 1 : 65535))
			fb_diag_error(c->d, "%s.words[%zu]: expected %s", where, i,
				      bits ? "0 or 1 (one bit per address on coil and "
					     "discrete_input vectors)"
					   : "0..65535, a number or a \"0x..\" string");
		else
			b->words[i] = (uint16_t)x;
		i++;
	}
	b->nwords = n;
	if ((size_t)b->address + n - 1 > 65535)
		fb_diag_error(c->d, "%s.words: %zu words from address 0x%04X pass 65535",
			      where, n, b->address);
}

/* Either "address" + "words" (one block) or "blocks": [{address, words}...]
 * for a snapshot made of several replies. */
static void parse_blocks(struct vctx *c, const cJSON *jv)
{
	const cJSON *bl = cJSON_GetObjectItemCaseSensitive(jv, "blocks");
	const cJSON *it;
	size_t n;

	if (!bl || cJSON_IsNull(bl)) {
		c->v->blocks = calloc(1, sizeof(*c->v->blocks));
		if (!c->v->blocks) {
			fb_diag_error(c->d, "%s: out of memory", c->file);
			return;
		}
		c->v->nblocks = 1;
		parse_block(c, jv, c->where, &c->v->blocks[0]);
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(jv, "address") ||
	    cJSON_GetObjectItemCaseSensitive(jv, "words"))
		fb_diag_error(c->d, "%s.blocks: expected either \"blocks\" or \"address\" "
			      "and \"words\", not both", c->where);
	n = cJSON_IsArray(bl) ? (size_t)cJSON_GetArraySize(bl) : 0;
	if (!n) {
		fb_diag_error(c->d, "%s.blocks: expected a non-empty array of {\"address\", "
			      "\"words\"}", c->where);
		return;
	}
	c->v->blocks = calloc(n, sizeof(*c->v->blocks));
	if (!c->v->blocks) {
		fb_diag_error(c->d, "%s: out of memory", c->file);
		return;
	}
	cJSON_ArrayForEach(it, bl) {
		char *w = NULL;

		if (asprintf(&w, "%s.blocks[%zu]", c->where, c->v->nblocks) < 0) {
			fb_diag_error(c->d, "%s: out of memory", c->file);
			return;
		}
		if (!cJSON_IsObject(it)) {
			fb_diag_error(c->d, "%s: expected an object", w);
		} else {
			fb_json_unknown_keys(it, block_keys, w, c->d);
			parse_block(c, it, w, &c->v->blocks[c->v->nblocks]);
		}
		c->v->nblocks++;
		free(w);
	}
	for (size_t i = 0; i < c->v->nblocks; i++) {
		const struct fb_vector_block *a = &c->v->blocks[i];

		for (size_t j = 0; j < i && a->nwords; j++) {
			const struct fb_vector_block *b = &c->v->blocks[j];

			if (b->nwords && a->address <= b->address + b->nwords - 1 &&
			    b->address <= a->address + a->nwords - 1)
				fb_diag_error(c->d, "%s.blocks[%zu]: overlaps blocks[%zu]",
					      c->where, i, j);
		}
	}
}

const struct fb_vector_block *fb_model_vector_block(const struct fb_vector *v,
						    const struct fb_point_def *p)
{
	uint16_t first, last;

	fb_point_extent(p, &first, &last);
	for (size_t i = 0; i < v->nblocks; i++) {
		const struct fb_vector_block *b = &v->blocks[i];

		if (b->nwords && first >= b->address && last <= b->address + b->nwords - 1)
			return b;
	}
	return NULL;
}

bool fb_model_vector_point(const struct fb_definition *def, const struct fb_vector *v,
			   const struct fb_point_def *orig, struct fb_point_def *out)
{
	if (!v->sunspec_found) {
		*out = *orig;
		return true;
	}
	return fb_model_sunspec_place(def, v->sunspec_found, orig, out);
}

/* "sunspec_chain": [[model, address of its ID register, length L], ...]
 * in chain order: the words are of a device whose models sit there, so
 * each point is read where that device has it (float models too). */
static void parse_chain(struct vctx *c, const cJSON *jv)
{
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(jv, "sunspec_chain"), *it;
	struct fb_sunspec_found chain[32];
	size_t n = 0;

	if (!ch || cJSON_IsNull(ch))
		return;
	if (!c->def->nsunspec) {
		fb_diag_error(c->d, "%s.sunspec_chain: the definition has no sunspec block",
			      c->where);
		return;
	}
	if (!cJSON_IsArray(ch) || !cJSON_GetArraySize(ch) ||
	    cJSON_GetArraySize(ch) > (int)(sizeof(chain) / sizeof(chain[0]))) {
		fb_diag_error(c->d, "%s.sunspec_chain: expected 1..32 [model, address, length] "
			      "triples", c->where);
		return;
	}
	cJSON_ArrayForEach(it, ch) {
		double x[3];
		int k = 0;
		const cJSON *e;

		cJSON_ArrayForEach(e, it) {
			if (k < 3 && cJSON_IsNumber(e))
				x[k] = e->valuedouble;
			k++;
		}
		if (!cJSON_IsArray(it) || k != 3 || x[0] < 1 || x[0] > 65534 || x[1] < 0 ||
		    x[1] > 65533 || x[2] < 0 || x[2] > 65535 || x[0] != (int)x[0] ||
		    x[1] != (int)x[1] || x[2] != (int)x[2]) {
			fb_diag_error(c->d, "%s.sunspec_chain[%zu]: expected [model 1..65534, "
				      "address 0..65533, length 0..65535]", c->where, n);
			return;
		}
		chain[n].id = (uint16_t)x[0];
		chain[n].address = (uint16_t)x[1];
		chain[n].length = (uint16_t)x[2];
		n++;
	}
	c->v->sunspec_found = calloc(c->def->nsunspec, sizeof(*c->v->sunspec_found));
	if (!c->v->sunspec_found) {
		fb_diag_error(c->d, "%s: out of memory", c->where);
		return;
	}
	fb_model_sunspec_assign(c->def, chain, n, c->v->sunspec_found);
}

/* The point named `key` for use in this vector, or -1 after an error:
 * it must exist, be in the vector's table and lie within its words. */
static long find_point(struct vctx *c, const char *key, const char *path)
{
	const struct fb_point_def *orig = fb_model_point(c->def, key), *p;
	struct fb_point_def placed;
	unsigned first, last;

	if (!orig) {
		fb_diag_error(c->d, "%s.%s: no point with key \"%s\"", c->where, path, key);
		return -1;
	}
	/* Not in this vector's chain: it reads as unknown. */
	if (!fb_model_vector_point(c->def, c->v, orig, &placed))
		return (long)(orig - c->def->points);
	p = &placed;
	if (p->table != c->v->table) {
		fb_diag_error(c->d, "%s.%s: the point is a %s, the vector's words are %s",
			      c->where, path, fb_reg_table_name(p->table),
			      fb_reg_table_name(c->v->table));
		return -1;
	}
	uint16_t lo, hi;

	fb_point_extent(p, &lo, &hi);
	first = lo;
	last = hi;
	if (!fb_model_vector_block(c->v, p)) {
		if (c->v->nblocks == 1 && c->v->blocks[0].nwords)
			fb_diag_error(c->d, "%s.%s: addresses 0x%04X..0x%04X are not all inside "
				      "the vector's words (0x%04X..0x%04zX)", c->where, path,
				      first, last, c->v->blocks[0].address,
				      c->v->blocks[0].address + c->v->blocks[0].nwords - 1);
		else if (c->v->nblocks > 1)
			fb_diag_error(c->d, "%s.%s: addresses 0x%04X..0x%04X are not all inside "
				      "one of the vector's blocks", c->where, path, first, last);
		return -1;
	}
	return (long)(orig - c->def->points);
}

static void parse_expect_value(struct vctx *c, const cJSON *val, const char *path,
			       const struct fb_point_def *p, struct fb_vector_expect *e)
{
	enum fb_value_kind k = fb_point_value_kind(p);

	if (!val || cJSON_IsNull(val)) {
		e->kind = FB_EXPECT_UNKNOWN;
		return;
	}
	if (cJSON_IsBool(val) && k == FB_VALUE_BOOL) {
		e->kind = FB_EXPECT_BOOL;
		e->b = cJSON_IsTrue(val);
		return;
	}
	if (cJSON_IsNumber(val) && (k == FB_VALUE_INT || k == FB_VALUE_UINT ||
				    k == FB_VALUE_FLOAT) && isfinite(val->valuedouble)) {
		e->kind = FB_EXPECT_NUMBER;
		e->number = val->valuedouble;
		return;
	}
	if (cJSON_IsString(val) && k == FB_VALUE_STRING) {
		e->kind = FB_EXPECT_STRING;
		e->s = fb_point_dup(c->file, val->valuestring, c->d);
		return;
	}
	if (cJSON_IsString(val) && p->noptions) {
		for (size_t i = 0; i < p->noptions; i++) {
			if (!strcmp(p->options[i].label, val->valuestring)) {
				e->kind = FB_EXPECT_NUMBER;
				e->number = (double)p->options[i].raw;
				return;
			}
		}
		fb_diag_error(c->d, "%s.%s: \"%s\" is not one of the point's options",
			      c->where, path, val->valuestring);
		return;
	}
	fb_diag_error(c->d, "%s.%s: expected %s for a %s point, or null (unknown)",
		      c->where, path,
		      k == FB_VALUE_BOOL ? "true or false" :
		      k == FB_VALUE_STRING ? "a string" :
		      p->noptions ? "a number or an option label" : "a number",
		      fb_data_type_name(p->type));
}

static void parse_expect(struct vctx *c, const cJSON *jv, double tol, bool pct)
{
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(jv, "expect");
	const cJSON *it;
	size_t n = 0;

	if (!ex || cJSON_IsNull(ex)) {
		fb_diag_error(c->d, "%s.expect: required field is missing", c->where);
		return;
	}
	if (!cJSON_IsObject(ex)) {
		fb_diag_error(c->d, "%s.expect: expected an object of point key -> value",
			      c->where);
		return;
	}
	cJSON_ArrayForEach(it, ex)
		n += it->string[0] != '_';
	if (!n) {
		fb_diag_error(c->d, "%s.expect: expected at least one point key -> value",
			      c->where);
		return;
	}
	c->v->expect = calloc(n, sizeof(*c->v->expect));
	if (!c->v->expect) {
		fb_diag_error(c->d, "%s: out of memory", c->file);
		return;
	}
	cJSON_ArrayForEach(it, ex) {
		struct fb_vector_expect *e = &c->v->expect[c->v->nexpect];
		const cJSON *val = it;
		char path[96], *w = NULL;
		long idx;

		if (it->string[0] == '_')
			continue;
		snprintf(path, sizeof(path), "expect.%s", it->string);
		idx = find_point(c, it->string, path);
		if (idx < 0)
			continue;
		e->point = (size_t)idx;
		e->tolerance = tol;
		e->tolerance_pct = pct;
		if (cJSON_IsObject(it)) {
			const char *unit;

			if (asprintf(&w, "%s.%s", c->where, path) < 0) {
				fb_diag_error(c->d, "%s: out of memory", c->file);
				continue;
			}
			fb_json_unknown_keys(it, expect_keys, w, c->d);
			read_tolerance(it, w, c->d, &e->tolerance, &e->tolerance_pct);
			if (fb_json_string(it, "unit", false, w, c->d, &unit) == 1) {
				const char *pu = c->def->points[idx].unit;

				if (!pu || strcmp(pu, unit))
					fb_diag_error(c->d, "%s.unit: the vector expects %s, the "
						      "point's unit is %s", w, unit,
						      pu ? pu : "not set");
				e->unit = fb_point_dup(c->file, unit, c->d);
			}
			val = cJSON_GetObjectItemCaseSensitive(it, "value");
			if (!val)
				fb_diag_error(c->d, "%s.value: required field is missing", w);
			free(w);
			if (!val) {
				/* The slot is reused by the next entry. */
				free(e->unit);
				e->unit = NULL;
				continue;
			}
			snprintf(path, sizeof(path), "expect.%s.value", it->string);
		}
		parse_expect_value(c, val, path, &c->def->points[idx], e);
		c->v->nexpect++;
	}
}

/* A point an invariant uses: in this vector, and numeric. */
static long invariant_point(struct vctx *c, const cJSON *k, const char *path)
{
	long idx;

	if (!cJSON_IsString(k)) {
		fb_diag_error(c->d, "%s.%s: expected a point key", c->where, path);
		return -1;
	}
	idx = find_point(c, k->valuestring, path);
	if (idx >= 0 && !fb_model_type_is_numeric(c->def->points[idx].type)) {
		fb_diag_error(c->d, "%s.%s: \"%s\" is not numeric (%s)", c->where, path,
			      k->valuestring, fb_data_type_name(c->def->points[idx].type));
		return -1;
	}
	return idx;
}

static void parse_invariant(struct vctx *c, const cJSON *ji, size_t i,
			    struct fb_invariant *inv)
{
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(ji, "sum");
	const cJSON *prod = cJSON_GetObjectItemCaseSensitive(ji, "product");
	const cJSON *terms, *t;
	char path[64], *w = NULL;
	const char *s;
	long idx;
	size_t n, j = 0;

	if (asprintf(&w, "%s.invariants[%zu]", c->where, i) < 0) {
		fb_diag_error(c->d, "%s: out of memory", c->file);
		return;
	}
	if (!cJSON_IsObject(ji)) {
		fb_diag_error(c->d, "%s: expected an object", w);
		goto out;
	}
	fb_json_unknown_keys(ji, invariant_keys, w, c->d);
	if (fb_json_string(ji, "name", false, w, c->d, &s) == 1)
		inv->name = fb_point_dup(c->file, s, c->d);
	read_tolerance(ji, w, c->d, &inv->tolerance, &inv->tolerance_pct);
	snprintf(path, sizeof(path), "invariants[%zu].equals", i);
	idx = invariant_point(c, cJSON_GetObjectItemCaseSensitive(ji, "equals"), path);
	if (idx >= 0)
		inv->equals = (size_t)idx;
	if (!sum == !prod) {
		fb_diag_error(c->d, "%s: expected exactly one of \"sum\" or \"product\"", w);
		goto out;
	}
	inv->op = sum ? FB_INVARIANT_SUM : FB_INVARIANT_PRODUCT;
	terms = sum ? sum : prod;
	n = cJSON_IsArray(terms) ? (size_t)cJSON_GetArraySize(terms) : 0;
	if (n < 2) {
		fb_diag_error(c->d, "%s.%s: expected an array of at least two point keys", w,
			      sum ? "sum" : "product");
		goto out;
	}
	inv->terms = calloc(n, sizeof(*inv->terms));
	if (!inv->terms) {
		fb_diag_error(c->d, "%s: out of memory", c->file);
		goto out;
	}
	cJSON_ArrayForEach(t, terms) {
		snprintf(path, sizeof(path), "invariants[%zu].%s[%zu]", i,
			 sum ? "sum" : "product", j);
		idx = invariant_point(c, t, path);
		if (idx >= 0)
			inv->terms[inv->nterms++] = (size_t)idx;
		j++;
	}
out:
	free(w);
}

static void parse_invariants(struct vctx *c, const cJSON *jv)
{
	const cJSON *ji = cJSON_GetObjectItemCaseSensitive(jv, "invariants");
	const cJSON *it;
	size_t n, i = 0;

	if (!ji || cJSON_IsNull(ji))
		return;
	n = cJSON_IsArray(ji) ? (size_t)cJSON_GetArraySize(ji) : 0;
	if (!n) {
		fb_diag_error(c->d, "%s.invariants: expected a non-empty array", c->where);
		return;
	}
	c->v->invariants = calloc(n, sizeof(*c->v->invariants));
	if (!c->v->invariants) {
		fb_diag_error(c->d, "%s: out of memory", c->file);
		return;
	}
	cJSON_ArrayForEach(it, ji)
		parse_invariant(c, it, i++, &c->v->invariants[c->v->ninvariants++]);
}

/* "captured: <where>" or "constructed: <why>", with some text after. */
static bool source_ok(const char *s, bool *captured)
{
	size_t n;

	if (!strncmp(s, "captured:", 9))
		n = 9, *captured = true;
	else if (!strncmp(s, "constructed:", 12))
		n = 12, *captured = false;
	else
		return false;
	for (s += n; *s; s++)
		if (*s != ' ' && *s != '\t')
			return true;
	return false;
}

static void parse_vector(const char *file, const cJSON *jv, size_t i,
			 struct fb_definition *def, struct fb_diag *d)
{
	struct fb_vector *v = &def->vectors[i];
	struct vctx c = { .file = file, .def = def, .v = v, .d = d };
	char *where = NULL, *named = NULL;
	const char *s;
	int e;
	double tol = 0;
	bool pct = false;

	if (asprintf(&where, "%s: tests[%zu]", file, i) < 0) {
		fb_diag_error(d, "%s: out of memory", file);
		return;
	}
	if (!cJSON_IsObject(jv)) {
		fb_diag_error(d, "%s: expected an object", where);
		free(where);
		return;
	}
	if (fb_json_string(jv, "name", true, where, d, &s) == 1) {
		if (!*s)
			fb_diag_error(d, "%s.name: expected a non-empty string", where);
		for (size_t j = 0; j < i; j++)
			if (def->vectors[j].name && !strcmp(def->vectors[j].name, s))
				fb_diag_error(d, "%s.name: duplicate name \"%s\" (first used by "
					      "tests[%zu])", where, s, j);
		v->name = fb_point_dup(file, s, d);
		if (asprintf(&named, "%s (%s)", where, s) >= 0) {
			free(where);
			where = named;
		}
	}
	c.where = where;
	fb_json_unknown_keys(jv, vector_keys, where, d);
	if (fb_json_string(jv, "source", true, where, d, &s) == 1) {
		if (!source_ok(s, &v->captured))
			fb_diag_error(d, "%s.source: expected \"captured: <where it was seen>\" "
				      "or \"constructed: <from what>\", got \"%s\"", where, s);
		v->source = fb_point_dup(file, s, d);
	}
	if (fb_json_enum(jv, "table", true, fb_point_table_names, where, d, &e) == 1)
		v->table = (enum fb_reg_table)e;
	parse_blocks(&c, jv);
	parse_chain(&c, jv);
	read_tolerance(jv, where, d, &tol, &pct);
	parse_expect(&c, jv, tol, pct);
	parse_invariants(&c, jv);
	free(where);
}

void fb_model_vectors_parse(const char *file, const cJSON *root,
			    struct fb_definition *def, struct fb_diag *d)
{
	const cJSON *tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
	const cJSON *jv;
	size_t n, i = 0;

	if (!tests || cJSON_IsNull(tests))
		return;
	if (def->protocol && strcmp(def->protocol, "modbus")) {
		fb_diag_error(d, "%s: tests: only applies to protocol modbus", file);
		return;
	}
	n = cJSON_IsArray(tests) ? (size_t)cJSON_GetArraySize(tests) : 0;
	if (!n) {
		fb_diag_error(d, "%s: tests: expected a non-empty array of test vectors", file);
		return;
	}
	def->vectors = calloc(n, sizeof(*def->vectors));
	if (!def->vectors) {
		fb_diag_error(d, "%s: out of memory", file);
		return;
	}
	cJSON_ArrayForEach(jv, tests) {
		def->nvectors = i + 1;
		parse_vector(file, jv, i++, def, d);
	}
}
