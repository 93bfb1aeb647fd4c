/* SPDX-License-Identifier: Apache-2.0 */
/* No two shipped identify blocks match the same device, so a bus scan
 * never proposes two definitions for one unit.  For each shipped
 * definition with an identify block, every device it expects is built
 * (each combination of its expected values: a value, a range's ends and
 * middle, the unit's own address), once with every other register absent
 * (an exception) and once with every other register reading 0 (many
 * cheap devices answer any address); the definition itself must match it
 * (else the image is wrong and the test proves nothing) and no other
 * shipped definition may.  The detector is shown to work on a copy of
 * each block, which must collide. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "testlib.h"

#ifndef FB_SOURCE_DIR
#error "FB_SOURCE_DIR must name the source tree"
#endif

#define MAX_WORDS 16
#define MAX_COMBOS 4096

/* A simulated unit: the registers an identify block reads, and what the
 * others do. */
struct unit {
	struct { enum fb_reg_table table; uint16_t address, word; } w[MAX_WORDS];
	size_t n;
	bool others_zero;
};

static int unit_read(void *ctx, enum fb_reg_table table, uint16_t address, uint16_t count,
		     uint16_t *regs)
{
	const struct unit *u = ctx;

	for (uint16_t i = 0; i < count; i++) {
		size_t k = 0;

		while (k < u->n && !(u->w[k].table == table && u->w[k].address == address + i))
			k++;
		if (k < u->n)
			regs[i] = u->w[k].word;
		else if (u->others_zero)
			regs[i] = 0;
		else
			return -1;
	}
	return 0;
}

/* The candidates of one register: its values, a range's min, middle and
 * max, or the unit id. */
static size_t candidates(const struct fb_identify_reg *r, int unit_id, int64_t *out)
{
	if (r->equals_unit_id) {
		out[0] = unit_id;
		return 1;
	}
	if (r->has_range) {
		out[0] = r->min;
		out[1] = r->min + (r->max - r->min) / 2;
		out[2] = r->max;
		return 3;
	}
	for (size_t i = 0; i < r->nvalues; i++)
		out[i] = r->values[i];
	return r->nvalues;
}

static bool put(struct unit *u, const struct fb_identify_reg *r, int64_t x)
{
	struct fb_value v = { 0 };
	uint16_t regs[2];
	int n;

	if (r->p.type == FB_TYPE_INT16 || r->p.type == FB_TYPE_INT32) {
		v.kind = FB_VALUE_INT;
		v.i = x;
	} else {
		v.kind = FB_VALUE_UINT;
		v.u = (uint64_t)x;
	}
	n = fb_codec_encode(&r->p, &v, regs, 2);
	CHECK(n > 0);
	for (int i = 0; i < n && u->n < MAX_WORDS; i++) {
		u->w[u->n].table = r->p.table;
		u->w[u->n].address = (uint16_t)(r->p.address + i);
		u->w[u->n].word = regs[i];
		u->n++;
	}
	return n > 0;
}

/* Number of definitions among defs[0..n) other than `self` that match a
 * device built for defs[self]; prints each collision. */
static size_t collisions(struct fb_definition **defs, size_t n, size_t self)
{
	const struct fb_definition *a = defs[self];
	static int64_t cand[32][256];
	size_t ncand[32], combos = 1, found = 0;
	static const int units[] = { 1, 7, 247 };

	CHECK(a->nidentify <= 32);
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		combos = 1;
		for (size_t i = 0; i < a->nidentify && i < 32; i++) {
			CHECK(a->identify[i].nvalues <= 256);
			ncand[i] = candidates(&a->identify[i], units[u], cand[i]);
			if (combos < MAX_COMBOS)
				combos *= ncand[i];
		}
		if (combos > MAX_COMBOS)
			combos = MAX_COMBOS;
		for (size_t c = 0; c < combos; c++) {
			for (int zero = 0; zero < 2; zero++) {
				struct unit dev = { .others_zero = zero };
				size_t rest = c;

				for (size_t i = 0; i < a->nidentify && i < 32; i++) {
					put(&dev, &a->identify[i], cand[i][rest % ncand[i]]);
					rest /= ncand[i];
				}
				/* The image must be what a expects. */
				CHECK_EQ_INT(fb_identify_match(a, units[u], unit_read, &dev), 1);
				for (size_t o = 0; o < n; o++) {
					if (o == self || !defs[o]->nidentify)
						continue;
					if (fb_identify_match(defs[o], units[u], unit_read, &dev) == 1) {
						if (!found)
							fprintf(stderr, "  a %s at unit %d (others %s) "
								"also matches %s\n", a->id, units[u],
								zero ? "0" : "absent", defs[o]->id);
						found++;
					}
				}
			}
		}
	}
	return found;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	const char *dir = FB_SOURCE_DIR "/devices";
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **names = NULL, path[1024];
	struct fb_definition **defs = NULL;
	size_t n = 0, with = 0;

	CHECK(dh != NULL);
	if (!dh)
		return fb_test_finish();
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);

		if (len > 5 && !strcmp(de->d_name + len - 5, ".json")) {
			names = realloc(names, (n + 1) * sizeof(*names));
			names[n++] = strdup(de->d_name);
		}
	}
	closedir(dh);
	qsort(names, n, sizeof(*names), by_name);
	defs = calloc(n + 1, sizeof(*defs));
	for (size_t i = 0; i < n; i++) {
		struct fb_diag d;

		fb_diag_init(&d);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		defs[i] = fb_model_load(path, &d);
		CHECK(defs[i] != NULL);
		fb_diag_free(&d);
		if (!defs[i])
			return fb_test_finish();
		with += defs[i]->nidentify > 0;
		free(names[i]);
	}
	free(names);
	/* Shipped identify blocks: at least those this test was written for. */
	CHECK(with >= 5);
	for (size_t i = 0; i < n; i++) {
		if (!defs[i]->nidentify)
			continue;
		size_t c = collisions(defs, n, i);

		if (c)
			fprintf(stderr, "%s: its identify block is ambiguous (%zu matches)\n",
				defs[i]->id, c);
		CHECK_EQ_INT(c, 0);
		/* The detector finds a block that matches the same device. */
		defs[n] = defs[i];
		CHECK(collisions(defs, n + 1, i) > 0);
		defs[n] = NULL;
		printf("%-32s %zu identify register%s, unique\n", defs[i]->id, defs[i]->nidentify,
		       defs[i]->nidentify == 1 ? "" : "s");
	}
	for (size_t i = 0; i < n; i++)
		fb_model_free(defs[i]);
	free(defs);
	return fb_test_finish();
}
