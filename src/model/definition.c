/* SPDX-License-Identifier: Apache-2.0 */
/* Loading device definition files (docs/device-definitions.md): the
 * top-level fields, the serial defaults, forbidden ranges, duplicate keys,
 * the dispatch of each point to its protocol's parser
 * (definition_modbus.c, definition_gpio.c), then the test vectors
 * (definition_vectors.c), which refer to the points.
 *
 * The loader never stops at the first problem: every field of every point
 * is read and checked, and each problem becomes one message naming the file,
 * the point (index and key) and the field, so one `--check` run lists them
 * all.  Any error makes fb_model_load return NULL. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MAX_GAP 8

static const char *const protocol_names[] = { "modbus", "gpio", NULL };
static const char *const parity_names[] = { "N", "E", "O", NULL };

static const char *const top_keys[] = {
	"manufacturer", "model", "protocol", "serial", "max_registers_per_read",
	"max_bits_per_read", "max_gap", "forbidden_ranges", "points", "tests", "identify",
	"request_gap_ms", "min_interval_ms", "connect_delay_ms", /* pacing */
	"sunspec",
	NULL,
};
static const char *const serial_keys[] = {
	"baud", "parity", "data_bits", "stop_bits", NULL,
};

/* Serial speeds termios can set (cfsetspeed) that RS-485 devices use. */
static const long long bauds[] = {
	1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400,
};

struct loader {
	const char *file;      /* as given to fb_model_load, borrowed */
	struct fb_diag *diag;  /* borrowed */
};

/* The jsonfile readers write "<where>.<key>"; at the top level that would
 * read "x.json.model", so they write into a scratch list whose "x.json."
 * prefixes become "x.json: " here. */
static void top_move(struct loader *L, struct fb_diag *tmp)
{
	size_t n = strlen(L->file);

	for (size_t i = 0; i < tmp->count; i++) {
		char *m = tmp->entries[i].message;

		if (m && !strncmp(m, L->file, n) && m[n] == '.')
			fb_diag_add(L->diag, tmp->entries[i].severity, "%s: %s", L->file, m + n + 1);
		else if (m)
			fb_diag_add(L->diag, tmp->entries[i].severity, "%s", m);
	}
	fb_diag_free(tmp);
}

void fb_model_free(struct fb_definition *def)
{
	if (!def)
		return;
	for (size_t i = 0; i < def->npoints; i++)
		fb_point_clear(&def->points[i]);
	free(def->points);
	fb_model_vectors_free(def);
	fb_model_identify_free(def);
	free(def->forbidden);
	free(def->sunspec);
	free(def->id);
	free(def->path);
	free(def->manufacturer);
	free(def->model);
	free(def->protocol);
	free(def);
}

/* One end of a forbidden range: a number or a "0x.." string. */
static bool read_item_int(const cJSON *v, long long *out)
{
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble != floor(v->valuedouble) ||
		    v->valuedouble < -1e18 || v->valuedouble > 1e18)
			return false;
		*out = (long long)v->valuedouble;
		return true;
	}
	return cJSON_IsString(v) && fb_point_int_text(v->valuestring, out);
}

static void parse_forbidden(struct loader *L, const cJSON *root, struct fb_definition *def)
{
	const cJSON *fr = cJSON_GetObjectItemCaseSensitive(root, "forbidden_ranges");
	const cJSON *it;
	size_t i = 0, n;

	if (!fr || cJSON_IsNull(fr))
		return;
	if (!cJSON_IsArray(fr)) {
		fb_diag_error(L->diag, "%s: forbidden_ranges: expected an array of [first, last] "
			      "pairs, got a non-array value", L->file);
		return;
	}
	n = (size_t)cJSON_GetArraySize(fr);
	if (!n)
		return;
	def->forbidden = calloc(n, sizeof(*def->forbidden));
	if (!def->forbidden) {
		fb_diag_error(L->diag, "%s: out of memory", L->file);
		return;
	}
	cJSON_ArrayForEach(it, fr) {
		long long a, b;

		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 ||
		    !read_item_int(cJSON_GetArrayItem(it, 0), &a) ||
		    !read_item_int(cJSON_GetArrayItem(it, 1), &b)) {
			fb_diag_error(L->diag, "%s: forbidden_ranges[%zu]: expected [first, last] "
				      "with integer addresses", L->file, i);
		} else if (a < 0 || a > 65535 || b < 0 || b > 65535 || a > b) {
			fb_diag_error(L->diag, "%s: forbidden_ranges[%zu]: expected 0 <= first <= "
				      "last <= 65535, got [%lld, %lld]", L->file, i, a, b);
		} else {
			def->forbidden[def->nforbidden].first = (uint16_t)a;
			def->forbidden[def->nforbidden].last = (uint16_t)b;
			def->nforbidden++;
		}
		i++;
	}
}

static void parse_serial(struct loader *L, const cJSON *root, struct fb_definition *def,
			 bool is_gpio)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "serial");
	char *where = NULL;
	long long n;
	int e;

	def->serial.parity = 'N';
	def->serial.data_bits = 8;
	def->serial.stop_bits = 1;
	if (!s || cJSON_IsNull(s))
		return;
	if (is_gpio) {
		fb_diag_error(L->diag, "%s: serial: only applies to protocol modbus", L->file);
		return;
	}
	if (!cJSON_IsObject(s)) {
		fb_diag_error(L->diag, "%s: serial: expected an object, got a non-object value",
			      L->file);
		return;
	}
	if (asprintf(&where, "%s: serial", L->file) < 0) {
		fb_diag_error(L->diag, "%s: out of memory", L->file);
		return;
	}
	fb_json_unknown_keys(s, serial_keys, where, L->diag);
	if (fb_json_int(s, "baud", false, 1, 4000000, where, L->diag, &n) == 1) {
		bool ok = false;

		for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
			ok = ok || bauds[i] == n;
		if (!ok)
			fb_diag_error(L->diag, "%s.baud: expected one of 1200, 2400, 4800, 9600, "
				      "14400, 19200, 38400, 57600, 115200, 230400, got %lld",
				      where, n);
		else
			def->serial.baud = (int)n;
	}
	if (fb_json_enum(s, "parity", false, parity_names, where, L->diag, &e) == 1)
		def->serial.parity = parity_names[e][0];
	if (fb_json_int(s, "data_bits", false, 7, 8, where, L->diag, &n) == 1)
		def->serial.data_bits = (int)n;
	if (fb_json_int(s, "stop_bits", false, 1, 2, where, L->diag, &n) == 1)
		def->serial.stop_bits = (int)n;
	free(where);
}

static char *file_stem(const char *path)
{
	const char *b = strrchr(path, '/');
	size_t len;

	b = b ? b + 1 : path;
	len = strlen(b);
	if (len > 5 && !strcmp(b + len - 5, ".json"))
		len -= 5;
	return strndup(b, len);
}

static void parse_top(struct loader *L, const cJSON *root, struct fb_definition *def)
{
	struct fb_diag tmp;
	const char *s;
	long long n;
	int e;
	bool is_gpio = false;
	const cJSON *pts;

	if (!cJSON_IsObject(root)) {
		fb_diag_error(L->diag, "%s: expected a JSON object at the top level", L->file);
		return;
	}
	fb_json_unknown_keys(root, top_keys, L->file, L->diag);

	fb_diag_init(&tmp);
	if (fb_json_string(root, "manufacturer", true, L->file, &tmp, &s) == 1)
		def->manufacturer = fb_point_dup(L->file, s, L->diag);
	if (fb_json_string(root, "model", true, L->file, &tmp, &s) == 1)
		def->model = fb_point_dup(L->file, s, L->diag);
	if (fb_json_enum(root, "protocol", true, protocol_names, L->file, &tmp, &e) == 1) {
		def->protocol = fb_point_dup(L->file, protocol_names[e], L->diag);
		is_gpio = e == 1;
	}
	def->max_registers_per_read = MB_MAX_READ_REGISTERS;
	def->max_bits_per_read = MB_MAX_READ_BITS;
	def->max_gap = DEFAULT_MAX_GAP;
	if (fb_json_int(root, "max_registers_per_read", false, 1, MB_MAX_READ_REGISTERS,
			L->file, &tmp, &n) == 1)
		def->max_registers_per_read = (uint16_t)n;
	if (fb_json_int(root, "max_bits_per_read", false, 1, MB_MAX_READ_BITS,
			L->file, &tmp, &n) == 1)
		def->max_bits_per_read = (uint16_t)n;
	if (fb_json_int(root, "max_gap", false, 0, MB_MAX_READ_REGISTERS - 1,
			L->file, &tmp, &n) == 1)
		def->max_gap = (uint16_t)n;
	/* Pacing some devices need (Heidelberg: 100 ms between requests;
	 * Huawei: a second after connecting). */
	if (fb_json_int(root, "request_gap_ms", false, 0, 10000, L->file, &tmp, &n) == 1)
		def->request_gap_ms = (uint32_t)n;
	if (fb_json_int(root, "min_interval_ms", false, 0, 3600000, L->file, &tmp, &n) == 1)
		def->min_interval_ms = (uint32_t)n;
	if (fb_json_int(root, "connect_delay_ms", false, 0, 10000, L->file, &tmp, &n) == 1)
		def->connect_delay_ms = (uint32_t)n;
	top_move(L, &tmp);
	if (def->max_gap >= def->max_registers_per_read) {
		fb_diag_error(L->diag, "%s: max_gap: expected less than max_registers_per_read "
			      "(%u), got %u", L->file, def->max_registers_per_read, def->max_gap);
	}

	parse_serial(L, root, def, is_gpio);
	parse_forbidden(L, root, def);
	fb_model_sunspec_parse(L->file, root, def, L->diag);

	pts = cJSON_GetObjectItemCaseSensitive(root, "points");
	if (!pts || cJSON_IsNull(pts)) {
		fb_diag_error(L->diag, "%s: points: required field is missing", L->file);
		return;
	}
	if (!cJSON_IsArray(pts) || cJSON_GetArraySize(pts) == 0) {
		fb_diag_error(L->diag, "%s: points: expected a non-empty array of points",
			      L->file);
		return;
	}
	size_t np = (size_t)cJSON_GetArraySize(pts);

	def->points = calloc(np, sizeof(*def->points));
	if (!def->points) {
		fb_diag_error(L->diag, "%s: out of memory", L->file);
		return;
	}
	const cJSON *jp;
	size_t i = 0;

	cJSON_ArrayForEach(jp, pts) {
		if (is_gpio)
			fb_model_gpio_parse_point(L->file, jp, i, &def->points[i], L->diag);
		else
			fb_model_modbus_parse_point(L->file, jp, i, def, &def->points[i],
						    L->diag);
		def->npoints = ++i;
	}
	for (i = 0; i < def->npoints; i++) {
		const char *k = def->points[i].key;

		if (!k)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (def->points[j].key && !strcmp(def->points[j].key, k)) {
				fb_diag_error(L->diag, "%s: points[%zu] (%s).key: duplicate key "
					      "\"%s\" (first used by points[%zu])", L->file, i,
					      k, k, j);
				break;
			}
		}
	}
	if (is_gpio)
		fb_model_gpio_check(def, L->diag);
	else {
		fb_model_sunspec_check(L->file, def, L->diag);
		fb_model_components_check(L->file, def, L->diag);
		fb_model_modbus_lint(L->file, def, L->diag);
	}
	fb_model_vectors_parse(L->file, root, def, L->diag);
	fb_model_identify_parse(L->file, root, def, L->diag);
}

struct fb_definition *fb_model_load(const char *path, struct fb_diag *diag)
{
	struct loader L = { .file = path, .diag = diag };
	size_t errors_before = diag->errors;
	struct fb_definition *def;
	cJSON *root;

	root = fb_json_load_file(path, diag);
	if (!root)
		return NULL;
	def = calloc(1, sizeof(*def));
	if (!def) {
		fb_diag_error(diag, "%s: out of memory", path);
		cJSON_Delete(root);
		return NULL;
	}
	def->id = file_stem(path);
	def->path = strdup(path);
	if (!def->id || !def->path)
		fb_diag_error(diag, "%s: out of memory", path);
	parse_top(&L, root, def);
	cJSON_Delete(root);
	if (diag->errors != errors_before) {
		fb_model_free(def);
		return NULL;
	}
	return def;
}

/* Up to CLOSEST_MAX definition ids in dirs nearest to `id` (a small edit,
 * or one that starts the other: "eastron-sdm63" for "eastron-sdm630"),
 * written to out as "; closest: a, b". */
#define CLOSEST_MAX 3

static bool closer(size_t d, const char *name, size_t other_d, const char *other)
{
	return d < other_d || (d == other_d && strcmp(name, other) < 0);
}

static void closest_definitions(const char *id, const char *const *dirs, size_t ndirs,
				FILE *out)
{
	char best[CLOSEST_MAX][64];
	size_t best_d[CLOSEST_MAX], nbest = 0, idlen = strlen(id);
	size_t allowed = idlen <= 6 ? 2 : idlen / 3 + 1;

	for (size_t i = 0; i < ndirs; i++) {
		DIR *dir = opendir(dirs[i]);
		struct dirent *e;

		if (!dir)
			continue;
		while ((e = readdir(dir))) {
			size_t n = strlen(e->d_name), d, k;
			char stem[64];

			if (e->d_name[0] == '.' || n <= 5 || n - 5 >= sizeof(stem) ||
			    strcmp(e->d_name + n - 5, ".json"))
				continue;
			memcpy(stem, e->d_name, n - 5);
			stem[n - 5] = '\0';
			d = fb_json_name_distance(id, stem);
			if (d > allowed && (idlen < 4 || strncmp(stem, id, idlen)) &&
			    (n - 5 < 4 || strncmp(id, stem, n - 5)))
				continue;
			for (k = 0; k < nbest; k++)
				if (!strcmp(best[k], stem))
					break;
			if (k < nbest)
				continue; /* the same id in two directories */
			/* Ties by name: readdir's order must not show. */
			if (nbest == CLOSEST_MAX && !closer(d, stem, best_d[nbest - 1],
							    best[nbest - 1]))
				continue;
			if (nbest < CLOSEST_MAX)
				nbest++;
			for (k = nbest - 1; k > 0 && closer(d, stem, best_d[k - 1], best[k - 1]); k--) {
				best_d[k] = best_d[k - 1];
				memcpy(best[k], best[k - 1], sizeof(best[k]));
			}
			best_d[k] = d;
			memcpy(best[k], stem, sizeof(stem));
		}
		closedir(dir);
	}
	for (size_t k = 0; k < nbest; k++)
		fprintf(out, "%s%s", k ? ", " : "; closest: ", best[k]);
}

struct fb_definition *fb_model_find(const char *id, const char *const *dirs,
				    size_t ndirs, struct fb_diag *diag)
{
	char *searched = NULL;
	size_t len = 0;
	FILE *list;

	if (!id || !*id || strchr(id, '/') || id[0] == '.') {
		fb_diag_error(diag, "definition \"%s\": expected a file stem such as "
			      "\"eastron-sdm120\" (no '/', not starting with '.')", id ? id : "");
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < ndirs; i++) {
		char *path = NULL;
		struct fb_definition *def;

		if (asprintf(&path, "%s/%s.json", dirs[i], id) < 0) {
			fb_diag_error(diag, "definition \"%s\": out of memory", id);
			return NULL;
		}
		if (access(path, F_OK) == 0) {
			def = fb_model_load(path, diag);
			free(path);
			if (!def)
				errno = EINVAL;
			return def;
		}
		free(path);
	}
	list = open_memstream(&searched, &len);
	if (list) {
		for (size_t i = 0; i < ndirs; i++)
			fprintf(list, "%s%s", i ? ", " : "", dirs[i]);
		if (!ndirs)
			fputs("no directories given", list);
		closest_definitions(id, dirs, ndirs, list);
		fclose(list);
	}
	fb_diag_error(diag, "definition \"%s\": no %s.json in %s", id, id,
		      searched ? searched : "the definition directories");
	errno = ENOENT;
	free(searched);
	return NULL;
}
