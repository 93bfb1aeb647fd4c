/* SPDX-License-Identifier: Apache-2.0 */
/* The optional "identify" block of a Modbus definition
 * (docs/device-definitions.md, "Identify"): registers a bus scan reads at a
 * unit it found, and what they must hold for the definition to be proposed.
 * The values are decoded with the point codec, so an identify register
 * reads exactly like a point of the same table, type and order. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const identify_keys[] = { "registers", NULL };
static const char *const reg_keys[] = {
	"table", "address", "type", "order", "values", "range", "equals_unit_id", NULL,
};
/* Register tables and integer types only: a scan compares whole numbers. */
static const char *const id_tables[] = { "input_register", "holding_register", NULL };
static const char *const id_types[] = { "int16", "uint16", "int32", "uint32", NULL };
static const enum fb_data_type id_type_enum[] = {
	FB_TYPE_INT16, FB_TYPE_UINT16, FB_TYPE_INT32, FB_TYPE_UINT32,
};

static bool int_item(const cJSON *v, long long *out)
{
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble != (double)(long long)v->valuedouble)
			return false;
		*out = (long long)v->valuedouble;
		return true;
	}
	return cJSON_IsString(v) && fb_point_int_text(v->valuestring, out);
}

static void parse_values(const cJSON *arr, const char *where, struct fb_identify_reg *r,
			 struct fb_diag *d)
{
	const cJSON *it;
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;

	if (!cJSON_IsArray(arr) || !n) {
		fb_json_error(d, where, "values", "%s.values: expected a non-empty array of "
			      "integers", where);
		return;
	}
	r->values = calloc(n, sizeof(*r->values));
	if (!r->values) {
		fb_json_error(d, where, "values", "%s: out of memory", where);
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		long long x;

		if (!int_item(it, &x))
			fb_json_error(d, where, "values", "%s.values[%zu]: expected an integer "
				      "(or a \"0x..\" string)", where, i);
		else
			r->values[r->nvalues++] = x;
		i++;
	}
}

static void parse_reg(const char *file, const cJSON *jr, size_t idx,
		      struct fb_identify_reg *r, struct fb_diag *d)
{
	char *where = NULL;
	const cJSON *values, *range;
	long long n;
	int e, kinds = 0;
	bool b = false;

	if (asprintf(&where, "%s: identify.registers[%zu]", file, idx) < 0) {
		fb_diag_error(d, "%s: out of memory", file);
		return;
	}
	if (!cJSON_IsObject(jr)) {
		fb_json_error(d, where, NULL, "%s: expected an object", where);
		free(where);
		return;
	}
	fb_json_unknown_keys(jr, reg_keys, where, d);
	r->p.scale = 1.0;
	r->p.precision = -1;
	r->p.type = FB_TYPE_UINT16;
	if (fb_json_enum(jr, "table", true, id_tables, where, d, &e) == 1)
		r->p.table = e ? FB_REG_HOLDING : FB_REG_INPUT;
	if (fb_json_int(jr, "address", true, 0, 65534, where, d, &n) == 1)
		r->p.address = (uint16_t)n;
	if (fb_json_enum(jr, "type", false, id_types, where, d, &e) == 1)
		r->p.type = id_type_enum[e];
	if (fb_json_enum(jr, "order", false, fb_point_order_names, where, d, &e) == 1)
		r->p.order = (enum fb_byte_order)e;
	values = cJSON_GetObjectItemCaseSensitive(jr, "values");
	range = cJSON_GetObjectItemCaseSensitive(jr, "range");
	if (values) {
		kinds++;
		parse_values(values, where, r, d);
	}
	if (range) {
		long long lo, hi;

		kinds++;
		if (!cJSON_IsArray(range) || cJSON_GetArraySize(range) != 2 ||
		    !int_item(cJSON_GetArrayItem(range, 0), &lo) ||
		    !int_item(cJSON_GetArrayItem(range, 1), &hi) || lo > hi) {
			fb_json_error(d, where, "range", "%s.range: expected [min, max] with "
				      "integers, min <= max", where);
		} else {
			r->has_range = true;
			r->min = lo;
			r->max = hi;
		}
	}
	if (fb_json_bool(jr, "equals_unit_id", false, where, d, &b) == 1 && b) {
		kinds++;
		r->equals_unit_id = true;
	}
	if (kinds != 1)
		fb_json_error(d, where, NULL, "%s: expected exactly one of \"values\", "
			      "\"range\" or \"equals_unit_id\": true, got %d", where, kinds);
	if (r->p.address + fb_point_width(&r->p) > 65536u)
		fb_json_error(d, where, "address", "%s.address: the register runs past 65535",
			      where);
	free(where);
}

void fb_model_identify_parse(const char *file, const cJSON *root,
			     struct fb_definition *def, struct fb_diag *d)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "identify");
	const cJSON *regs, *jr;
	char *where = NULL;
	size_t n, i = 0;

	if (!id || cJSON_IsNull(id))
		return;
	if (def->protocol && strcmp(def->protocol, "modbus")) {
		fb_diag_error(d, "%s: identify: only applies to protocol modbus", file);
		return;
	}
	if (!cJSON_IsObject(id)) {
		fb_diag_error(d, "%s: identify: expected an object with \"registers\"", file);
		return;
	}
	if (asprintf(&where, "%s: identify", file) < 0) {
		fb_diag_error(d, "%s: out of memory", file);
		return;
	}
	fb_json_unknown_keys(id, identify_keys, where, d);
	free(where);
	regs = cJSON_GetObjectItemCaseSensitive(id, "registers");
	if (!cJSON_IsArray(regs) || !(n = (size_t)cJSON_GetArraySize(regs))) {
		fb_diag_error(d, "%s: identify.registers: expected a non-empty array of "
			      "registers to read", file);
		return;
	}
	def->identify = calloc(n, sizeof(*def->identify));
	if (!def->identify) {
		fb_diag_error(d, "%s: out of memory", file);
		return;
	}
	cJSON_ArrayForEach(jr, regs) {
		parse_reg(file, jr, i, &def->identify[i], d);
		def->nidentify = ++i;
	}
}

void fb_model_identify_free(struct fb_definition *def)
{
	for (size_t i = 0; i < def->nidentify; i++)
		free(def->identify[i].values);
	free(def->identify);
	def->identify = NULL;
	def->nidentify = 0;
}

static bool value_matches(const struct fb_identify_reg *r, int64_t x, int unit_id)
{
	if (r->equals_unit_id)
		return x == unit_id;
	if (r->has_range)
		return x >= r->min && x <= r->max;
	for (size_t i = 0; i < r->nvalues; i++)
		if (r->values[i] == x)
			return true;
	return false;
}

int fb_identify_match(const struct fb_definition *def, int unit_id,
		      fb_identify_read_fn read, void *ctx)
{
	if (!def->nidentify)
		return 0;
	for (size_t i = 0; i < def->nidentify; i++) {
		const struct fb_identify_reg *r = &def->identify[i];
		uint16_t regs[2];
		struct fb_value v;
		int64_t x;

		if (read(ctx, r->p.table, r->p.address, fb_point_width(&r->p), regs) < 0)
			return -1;
		if (fb_codec_decode(&r->p, regs, &v) < 0)
			return 0;
		if (v.kind == FB_VALUE_INT)
			x = v.i;
		else if (v.kind == FB_VALUE_UINT)
			x = (int64_t)v.u;
		else if (v.kind == FB_VALUE_FLOAT)
			x = (int64_t)v.f;
		else
			return 0;
		if (!value_matches(r, x, unit_id))
			return 0;
	}
	return 1;
}
