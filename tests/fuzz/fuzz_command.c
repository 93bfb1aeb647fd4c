/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a command payload from Home Assistant, as the exporter
 * handles one (commands.c): unpack the plain text or {"value", "event_id",
 * "ts"} container, parse the value for the point, then encode it for the
 * driver and decode the registers back.  The points are every writable
 * point of the shipped definitions and of the exporter tests' panel.
 *
 * Input: bytes 0-1 choose the point, the rest is the payload (at most the
 * 1023 bytes the exporter accepts, cut at a NUL as its string handling
 * does).  Properties checked: a select's value is one of its options, a
 * number is finite and within min/max, and the number decoded from the
 * encoded registers is the sent one up to the rounding to a raw step. */
#include "fuzz_util.h"
#include "export-internal.h"
#include "model.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYLOAD_MAX 1024 /* the exporter's payload buffer */
#define MAX_WORDS 256

struct target_point {
	const struct fb_definition *def;
	const struct fb_point_def *p;
};

/* Loaded once and kept for the life of the process, as libFuzzer keeps its
 * own state: a definition with a writable point is never freed. */
static struct {
	struct target_point *points;
	size_t npoints;
} shipped;

static int json_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 5 && !strcmp(e->d_name + n - 5, ".json");
}

static void load_dir(const char *dir)
{
	struct dirent **list;
	int n;

	n = scandir(dir, &list, json_file, alphasort);
	if (n <= 0)
		abort();
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct fb_definition *def;
		struct fb_diag diag;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		free(list[i]);
		fb_diag_init(&diag);
		def = fb_model_load(path, &diag);
		fb_diag_free(&diag);
		if (!def)
			abort(); /* a shipped or test definition must load */
		size_t kept = shipped.npoints;

		for (size_t j = 0; j < def->npoints; j++) {
			struct target_point *np;

			if (!def->points[j].writable)
				continue;
			np = realloc(shipped.points, (shipped.npoints + 1) * sizeof(*np));
			if (!np)
				abort();
			shipped.points = np;
			shipped.points[shipped.npoints++] =
				(struct target_point){ def, &def->points[j] };
		}
		if (kept == shipped.npoints)
			fb_model_free(def);
	}
	free(list);
}

/* FB_FUZZ_LIST_POINTS=1 prints the points by index (for writing seeds). */
static void load_shipped(void)
{
	if (shipped.points)
		return;
	load_dir(FB_SOURCE_DIR "/devices");
	/* The test panel has the selects and buttons no shipped device has. */
	load_dir(FB_SOURCE_DIR "/tests/export/devices");
	if (!shipped.npoints)
		abort();
	if (getenv("FB_FUZZ_LIST_POINTS"))
		for (size_t i = 0; i < shipped.npoints; i++)
			printf("%zu %s %s %s\n", i, shipped.points[i].def->id,
			       shipped.points[i].p->key,
			       fb_component_name(shipped.points[i].p->component));
}

static double as_double(const struct fb_value *v)
{
	switch (v->kind) {
	case FB_VALUE_INT:
		return (double)v->i;
	case FB_VALUE_UINT:
		return (double)v->u;
	case FB_VALUE_FLOAT:
		return v->f;
	default:
		return NAN;
	}
}

static void check_number(const struct fb_point_def *p, const struct fb_value *sent)
{
	uint16_t regs[MAX_WORDS];
	struct fb_value back;
	double want = sent->f, got, tol;
	int n;

	if (sent->kind != FB_VALUE_FLOAT || !isfinite(want) ||
	    (p->has_min && want < p->min) || (p->has_max && want > p->max)) {
		fprintf(stderr, "%s: number %g accepted outside its range\n", p->key, want);
		abort();
	}
	n = fb_codec_encode(p, sent, regs, MAX_WORDS);
	if (n > MAX_WORDS)
		abort();
	if (n <= 0 || fb_codec_decode(p, regs, &back) < 0 || back.kind == FB_VALUE_NONE)
		return; /* refused (range of the raw type) or a sentinel */
	got = as_double(&back);
	/* A raw integer step is |scale|; float32 keeps 24 bits. */
	tol = fabs(p->scale) * 0.5 + fabs(want) * (p->type == FB_TYPE_FLOAT32 ? 1e-6 : 1e-12) +
	      fabs(p->offset) * 1e-12 + 1e-9;
	if (!(fabs(got - want) <= tol)) {
		fprintf(stderr, "%s: sent %.17g, decoded %.17g from the encoded registers\n",
			p->key, want, got);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char payload[PAYLOAD_MAX], numbuf[64], event_id[FB_TABLE_EVENT_ID_MAX];
	const struct fb_point_def *p;
	struct fb_value v;
	const char *text, *why;
	cJSON *doc;
	int64_t ts;
	size_t len;

	load_shipped();
	if (size < 3 || size - 2 >= sizeof(payload))
		return 0; /* the exporter drops empty and oversized payloads */
	p = shipped.points[(size_t)(data[0] << 8 | data[1]) % shipped.npoints].p;
	len = size - 2;
	memcpy(payload, data + 2, len);
	payload[len] = '\0';
	text = ex_commands_unpack(payload, len, &doc, numbuf, sizeof(numbuf), event_id,
				  sizeof(event_id), &ts, &why);
	if (!text && !why)
		abort(); /* every refusal names its reason */
	if (text && fb_point_parse_command(p, text, &v) == 0) {
		if (p->component == FB_COMP_SELECT) {
			size_t i = 0;

			while (i < p->noptions && p->options[i].raw != v.i)
				i++;
			if (i == p->noptions)
				abort();
		} else if (p->component == FB_COMP_NUMBER) {
			check_number(p, &v);
		} else {
			uint16_t regs[MAX_WORDS];

			if (fb_codec_encode(p, &v, regs, MAX_WORDS) > MAX_WORDS)
				abort();
		}
	}
	cJSON_Delete(doc);
	return 0;
}
