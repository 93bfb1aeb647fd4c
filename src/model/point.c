/* SPDX-License-Identifier: Apache-2.0 */
/* What a point is: the JSON spellings of its enums, how many registers it
 * occupies, the value kind it decodes to, the raw range of its type, the
 * key rule, and lookup by key.  Also the few helpers both point parsers
 * (definition_modbus.c, definition_gpio.c) and the file loader share, so a
 * rule such as the key rule exists once.  Calls nothing else in the model. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"
#include "fpmath.h"

#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <strings.h>

const char *const fb_point_table_names[] = {
	"coil", "discrete_input", "input_register", "holding_register", NULL,
};
const char *const fb_point_type_names[] = {
	"bool", "int16", "uint16", "int32", "uint32", "int64", "uint64",
	"float32", "float64", "string", "bit", "bcd16", "bcd32", "int8", "uint8",
	"int8_sm", NULL,
};
const char *const fb_point_order_names[] = { "ABCD", "CDAB", "BADC", "DCBA", NULL };
const char *const fb_point_component_names[] = {
	"sensor", "binary_sensor", "switch", "number", "select", "button", "event", "light",
	"valve", "cover", "fan", "climate", "text", NULL,
};
const char *const fb_point_write_fn_names[] = { "fc05", "fc06", "fc15", "fc16", NULL };
const char *const fb_point_poll_names[] = { "fast", "normal", "slow", "once", NULL };
static const char *const category_names[] = { "config", "diagnostic", NULL };

static const char *name_or(const char *const *names, unsigned i)
{
	for (unsigned k = 0; names[k]; k++)
		if (k == i)
			return names[k];
	return "?";
}

const char *fb_component_name(enum fb_component c)
{
	return name_or(fb_point_component_names, (unsigned)c);
}

const char *fb_data_type_name(enum fb_data_type t)
{
	return name_or(fb_point_type_names, (unsigned)t);
}

const char *fb_reg_table_name(enum fb_reg_table t)
{
	return name_or(fb_point_table_names, (unsigned)t);
}

const char *fb_byte_order_name(enum fb_byte_order o)
{
	return name_or(fb_point_order_names, (unsigned)o);
}

const char *fb_write_fn_name(enum fb_write_fn f)
{
	if (f == FB_WRITE_NONE)
		return "none";
	return name_or(fb_point_write_fn_names, (unsigned)f - 1);
}

const char *fb_poll_class_name(enum fb_poll_class c)
{
	return name_or(fb_point_poll_names, (unsigned)c);
}

bool fb_point_is_bit_table(const struct fb_point_def *p)
{
	return p->table == FB_REG_COIL || p->table == FB_REG_DISCRETE_INPUT;
}

uint16_t fb_point_width(const struct fb_point_def *p)
{
	if (fb_point_is_bit_table(p))
		return 1;
	switch (p->type) {
	case FB_TYPE_INT32:
	case FB_TYPE_UINT32:
	case FB_TYPE_FLOAT32:
	case FB_TYPE_BCD32:
		return 2;
	case FB_TYPE_INT64:
	case FB_TYPE_UINT64:
	case FB_TYPE_FLOAT64:
		return 4;
	case FB_TYPE_STRING:
		return p->length;
	default:
		return 1;
	}
}

void fb_point_extent(const struct fb_point_def *p, uint16_t *first, uint16_t *last)
{
	uint32_t end = (uint32_t)p->address + fb_point_width(p) - 1;

	*first = p->address;
	*last = end > 0xFFFF ? 0xFFFF : (uint16_t)end;
	if (p->has_scale_register && !fb_point_is_bit_table(p)) {
		if (p->scale_register < *first)
			*first = p->scale_register;
		if (p->scale_register > *last)
			*last = p->scale_register;
	}
}

enum fb_value_kind fb_point_value_kind(const struct fb_point_def *p)
{
	if (fb_point_is_bit_table(p))
		return FB_VALUE_BOOL;
	switch (p->type) {
	case FB_TYPE_BOOL:
	case FB_TYPE_BIT:
		return FB_VALUE_BOOL;
	case FB_TYPE_STRING:
		return FB_VALUE_STRING;
	default:
		break;
	}
	if (p->has_switch_raw)
		return FB_VALUE_BOOL;
	if (p->has_scale_register)
		return FB_VALUE_FLOAT;
	switch (p->type) {
	case FB_TYPE_FLOAT32:
	case FB_TYPE_FLOAT64:
		return FB_VALUE_FLOAT;
	case FB_TYPE_INT16:
	case FB_TYPE_INT32:
	case FB_TYPE_INT64:
	case FB_TYPE_INT8:
	case FB_TYPE_INT8_SM:
		return fb_model_identity(p) ? FB_VALUE_INT : FB_VALUE_FLOAT;
	default: /* unsigned and BCD */
		return fb_model_identity(p) ? FB_VALUE_UINT : FB_VALUE_FLOAT;
	}
}

bool fb_point_int_range(enum fb_data_type t, int64_t *min, uint64_t *max)
{
	switch (t) {
	case FB_TYPE_INT16: *min = INT16_MIN; *max = INT16_MAX; return true;
	case FB_TYPE_UINT16: *min = 0; *max = UINT16_MAX; return true;
	case FB_TYPE_INT32: *min = INT32_MIN; *max = INT32_MAX; return true;
	case FB_TYPE_UINT32: *min = 0; *max = UINT32_MAX; return true;
	case FB_TYPE_INT64: *min = INT64_MIN; *max = INT64_MAX; return true;
	case FB_TYPE_UINT64: *min = 0; *max = UINT64_MAX; return true;
	case FB_TYPE_BCD16: *min = 0; *max = 9999; return true;
	case FB_TYPE_BCD32: *min = 0; *max = 99999999; return true;
	case FB_TYPE_INT8: *min = INT8_MIN; *max = INT8_MAX; return true;
	case FB_TYPE_UINT8: *min = 0; *max = UINT8_MAX; return true;
	case FB_TYPE_INT8_SM: *min = -127; *max = 127; return true;
	default: return false;
	}
}

double fb_point_max_double(uint64_t max)
{
	/* (double)max rounds to nearest: up, for 2^63 - 1 and 2^64 - 1. */
	double d = (double)max;

	if (d >= 0x1p64 || (uint64_t)d > max)
		d = fb_fpmath_nextafter(d, 0);
	return d;
}

bool fb_point_double_in_range(double x, int64_t min, uint64_t max)
{
	/* min is 0 or -2^k: exact as a double. */
	return x >= (double)min && x <= fb_point_max_double(max);
}

const struct fb_point_def *fb_model_point(const struct fb_definition *def,
					  const char *key)
{
	if (!def || !key)
		return NULL;
	for (size_t i = 0; i < def->npoints; i++)
		if (def->points[i].key && !strcmp(def->points[i].key, key))
			return &def->points[i];
	return NULL;
}

void fb_point_clear(struct fb_point_def *p)
{
	free(p->key);
	free(p->name);
	free(p->unit);
	free(p->raw_unit);
	free(p->device_class);
	free(p->state_class);
	free(p->entity_category);
	free(p->icon);
	for (size_t i = 0; i < p->noptions; i++)
		free(p->options[i].label);
	free(p->options);
	free(p->gpio.line);
	free(p->gpio.source);
	for (size_t i = 0; i < p->ext.npresets; i++)
		free(p->ext.presets[i].label);
	free(p->ext.presets);
	free(p->ext.current_temperature);
	free(p->ext.mode);
	free(p->ext.fixed_mode);
	free(p->ext.pattern);
	free(p->ext.relay_open);
	free(p->ext.relay_close);
}

/* ---- helpers shared by the loader and both point parsers ---- */

char *fb_point_dup(const char *file, const char *s, struct fb_diag *d)
{
	char *c;

	if (!s)
		return NULL;
	c = strdup(s);
	if (!c)
		fb_diag_error(d, "%s: out of memory", file);
	return c;
}

bool fb_point_int_text(const char *s, long long *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 0);
	return !errno && !*end;
}

/* The table keeps keys in FB_TABLE_KEY_MAX bytes.  A leading '_' is
 * reserved: "_..." JSON keys are comments, and "_diag_*" are the Modbus
 * driver's diagnostic points, which share the device's key space. */
bool fb_point_key_ok(const char *k)
{
	if (!*k || strlen(k) >= FB_TABLE_KEY_MAX || k[0] == '_')
		return false;
	for (const char *c = k; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return true;
}

const char *fb_point_read_key(const char *file, const cJSON *jp, const char *where,
			      struct fb_diag *d, char **out)
{
	const char *s;

	if (fb_json_string(jp, "key", true, where, d, &s) != 1)
		return NULL;
	if (!fb_point_key_ok(s))
		fb_diag_error(d, "%s.key: expected 1..%d characters of a-z, 0-9 and _ "
			      "(not starting with _), got \"%s\"", where,
			      FB_TABLE_KEY_MAX - 1, s);
	*out = fb_point_dup(file, s, d);
	return s;
}

int fb_point_read_state_class(const char *file, const cJSON *jp, bool angle,
			      const char *where, struct fb_diag *d, char **out)
{
	const char *const names[] = {
		"measurement", "total", "total_increasing",
		angle ? "measurement_angle" : NULL, NULL,
	};
	int e, rc = fb_json_enum(jp, "state_class", false, names, where, d, &e);

	if (rc == 1)
		*out = fb_point_dup(file, names[e], d);
	return rc;
}

int fb_point_read_category(const char *file, const cJSON *jp, const char *where,
			   struct fb_diag *d, char **out)
{
	int e, rc = fb_json_enum(jp, "entity_category", false, category_names, where, d, &e);

	if (rc == 1)
		*out = fb_point_dup(file, category_names[e], d);
	return rc;
}
