/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the JSON-with-comments reader every file loader uses
 * (comment blanking, parse with line:col errors), then each field reader
 * on every member of the top-level object, as the loaders call them. */
#include "fuzz_util.h"
#include "jsonfile.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (64 * 1024)

static void read_fields(const cJSON *obj, struct fb_diag *diag)
{
	static const char *const names[] = { "on", "off", "auto", "socket", NULL };
	static const char *const known[] = { "id", "name", "points", "buses", NULL };
	const cJSON *m;

	cJSON_ArrayForEach(m, obj) {
		const char *s;
		long long n;
		double d;
		bool b;
		int e;

		if (!m->string)
			continue;
		fb_json_string(obj, m->string, true, "fuzz.json: top", diag, &s);
		fb_json_int(obj, m->string, true, -100000, 100000, "fuzz.json: top", diag, &n);
		fb_json_int(obj, m->string, false, LLONG_MIN, LLONG_MAX, "fuzz.json: top", diag,
			    &n);
		fb_json_number(obj, m->string, true, "fuzz.json: top", diag, &d);
		fb_json_bool(obj, m->string, true, "fuzz.json: top", diag, &b);
		fb_json_enum(obj, m->string, true, names, "fuzz.json: top", diag, &e);
		if (cJSON_IsObject(m))
			fb_json_unknown_keys(m, known, "fuzz.json: top.x", diag);
	}
	fb_json_unknown_keys(obj, known, "fuzz.json: top", diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_diag diag;
	char *text, *where;
	cJSON *doc;
	size_t off;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	text = fuzz_strndup(data, size);
	if (!text)
		return 0;
	fb_diag_init(&diag);
	doc = fb_json_parse_text("fuzz.json", text, &diag);
	if (cJSON_IsObject(doc))
		read_fields(doc, &diag);
	cJSON_Delete(doc);
	/* The loaders' "where" strings are built from names in the file. */
	where = fb_json_where_path(text);
	free(where);
	fb_json_strip_comments(text, &off);
	fb_diag_free(&diag);
	free(text);
	return 0;
}
