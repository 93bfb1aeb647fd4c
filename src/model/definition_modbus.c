/* SPDX-License-Identifier: Apache-2.0 */
/* Points of protocol "modbus" definitions (docs/device-definitions.md,
 * "Points").  Every field is read and checked even after a problem, so one
 * `--check` run lists them all: first the fields one by one, then the rules
 * that relate several fields (addresses, writing, components, raw ranges),
 * then Home Assistant's rules (ha_classes.c). */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"
#include "fpmath.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string point decodes into fb_value.s, NUL included. */
#define MAX_STRING_REGISTERS ((FB_TABLE_STRING_MAX - 1) / 2)

/* Names and labels reach Home Assistant and the logs: no control bytes. */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static const char *const point_keys[] = {
	"key", "name", "table", "address", "type", "bit", "length", "order",
	"scale", "offset", "precision", "unit", "component", "device_class",
	"state_class", "entity_category", "icon", "writable", "write_function",
	"coil_on", "coil_off", "press", "min", "max", "step", "options", "poll",
	"sentinel", "deadband", "heartbeat_s", "raw_unit", "lint_ok", "byte", "on_value", "off_value",
	"scale_register", "sunspec_model", "sunspec_instance", "sunspec_float", "request",
	"light", "cover", "fan", "climate", "text", NULL,
};

static bool present(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return v && !cJSON_IsNull(v);
}

/* "deadband": a number (absolute, in the point's unit) or "N%" (of the
 * last published value). */
static void read_deadband(const cJSON *obj, const char *where, struct fb_diag *d,
			  struct fb_point_def *p)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "deadband");
	char *end;

	if (!v || cJSON_IsNull(v))
		return;
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && isfinite(v->valuedouble)) {
		p->deadband = v->valuedouble;
		return;
	}
	if (cJSON_IsString(v)) {
		double x = strtod(v->valuestring, &end);

		if (end != v->valuestring && !strcmp(end, "%") && x >= 0 && x <= 100) {
			p->deadband = x;
			p->deadband_pct = true;
			return;
		}
	}
	fb_diag_error(d, "%s.deadband: expected a number >= 0 or a percentage "
		      "string such as \"0.5%%\"", where);
}

/* An integer that may need all 64 bits either way (sentinels such as
 * 0xFFFFFFFFFFFFFFFF): number, or a decimal/0x string. */
static int read_raw64(const cJSON *obj, const char *key, const char *where,
		      struct fb_diag *d, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v)) {
		double x = v->valuedouble;

		if (x == floor(x) && x >= -9223372036854775808.0 && x < 9223372036854775808.0) {
			*out = (int64_t)x;
			return 1;
		}
		if (x == floor(x) && x >= 0 && x < 18446744073709551616.0) {
			*out = (int64_t)(uint64_t)x;
			return 1;
		}
		fb_diag_error(d, "%s.%s: expected an integer, got %g", where, key, x);
		return -1;
	}
	if (cJSON_IsString(v) && v->valuestring[0]) {
		const char *s = v->valuestring;
		char *end;

		errno = 0;
		long long n = strtoll(s, &end, 0);

		if (!errno && !*end) {
			*out = n;
			return 1;
		}
		if (errno == ERANGE && s[0] != '-') {
			errno = 0;
			unsigned long long u = strtoull(s, &end, 0);

			if (!errno && !*end) {
				*out = (int64_t)u;
				return 1;
			}
		}
		fb_diag_error(d, "%s.%s: expected an integer (decimal or 0x hex), got \"%s\"",
			      where, key, s);
		return -1;
	}
	fb_diag_error(d, "%s.%s: expected an integer, got %s", where, key,
		      cJSON_IsString(v) ? "an empty string" : "a non-integer value");
	return -1;
}

static void parse_options(const char *file, const cJSON *jp, const char *where,
			  struct fb_diag *d, struct fb_point_def *p)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(jp, "options");
	const cJSON *it;
	size_t n = 0;

	if (!o || cJSON_IsNull(o))
		return;
	if (!cJSON_IsObject(o)) {
		fb_diag_error(d, "%s.options: expected an object of raw value to label "
			      "({\"0\": \"Off\", \"1\": \"On\"}), got %s", where,
			      cJSON_IsArray(o) ? "an array" : "a non-object value");
		return;
	}
	cJSON_ArrayForEach(it, o)
		n++;
	if (n == 0) {
		fb_diag_error(d, "%s.options: expected at least one option, got none", where);
		return;
	}
	p->options = calloc(n, sizeof(*p->options));
	if (!p->options) {
		fb_diag_error(d, "%s: out of memory", file);
		return;
	}
	cJSON_ArrayForEach(it, o) {
		long long raw;
		bool ok = true;

		if (!fb_point_int_text(it->string, &raw)) {
			fb_diag_error(d, "%s.options.\"%s\": expected an integer raw value "
				      "(decimal or 0x hex) as the key", where, it->string);
			ok = false;
		}
		if (!cJSON_IsString(it) || !it->valuestring[0]) {
			fb_diag_error(d, "%s.options.\"%s\": expected a non-empty label string",
				      where, it->string);
			ok = false;
		}
		if (ok && has_control(it->valuestring)) {
			fb_diag_error(d, "%s.options.\"%s\": expected a label without control "
				      "characters", where, it->string);
			ok = false;
		}
		if (!ok)
			continue;
		for (size_t i = 0; i < p->noptions; i++) {
			if (p->options[i].raw == raw) {
				fb_diag_error(d, "%s.options.\"%s\": raw value %lld appears twice",
					      where, it->string, raw);
				ok = false;
			} else if (!strcmp(p->options[i].label, it->valuestring)) {
				fb_diag_error(d, "%s.options.\"%s\": label \"%s\" appears twice",
					      where, it->string, it->valuestring);
				ok = false;
			}
		}
		if (!ok)
			continue;
		p->options[p->noptions].raw = raw;
		p->options[p->noptions].label = fb_point_dup(file, it->valuestring, d);
		if (p->options[p->noptions].label)
			p->noptions++;
	}
}

static const char *type_str(const struct fb_point_def *p)
{
	return fb_data_type_name(p->type);
}

/* What the rules below look at, besides the point itself. */
struct rules {
	const char *where;     /* "x.json: points[3] (voltage)", borrowed */
	const cJSON *jp;       /* the point's JSON object, borrowed */
	struct fb_diag *d;
	bool bit_table, numeric;
	uint16_t width;
};

/* Table, type and byte order.  Returns false when the type does not fit the
 * table: every later rule would repeat that one. */
static bool check_table_type(const struct rules *r, const struct fb_point_def *p)
{
	if (r->bit_table && p->type != FB_TYPE_BOOL) {
		fb_diag_error(r->d, "%s.type: expected bool for table %s, got %s", r->where,
			      fb_reg_table_name(p->table), type_str(p));
		return false;
	}
	if (r->bit_table && present(r->jp, "order"))
		fb_diag_error(r->d, "%s.order: only applies to register tables, not %s",
			      r->where, fb_reg_table_name(p->table));
	if (p->type == FB_TYPE_STRING &&
	    (p->order == FB_ORDER_CDAB || p->order == FB_ORDER_DCBA))
		fb_diag_error(r->d, "%s.order: expected ABCD or BADC for a string, got %s",
			      r->where, fb_byte_order_name(p->order));
	return true;
}

static void check_addresses(const struct rules *r, const struct fb_point_def *p,
			    const struct fb_definition *def)
{
	struct fb_diag *d = r->d;
	uint16_t width = r->width;

	if ((uint32_t)p->address + width > 65536u)
		fb_diag_error(d, "%s.address: expected the point to end by 65535, got "
			      "%u..%u (%u %s from %u)", r->where, p->address,
			      (unsigned)p->address + width - 1, width,
			      r->bit_table ? "bits" : "registers", p->address);
	if (r->bit_table)
		return;
	unsigned last = (unsigned)p->address + width - 1;

	if (width > def->max_registers_per_read)
		fb_diag_error(d, "%s.type: expected at most max_registers_per_read "
			      "(%u) registers, got %u", r->where,
			      def->max_registers_per_read, width);
	if (p->has_scale_register) {
		/* Read with the value in one request: both must fit one read. */
		unsigned lo = p->scale_register < p->address ? p->scale_register : p->address;
		unsigned hi = p->scale_register > last ? p->scale_register : last;

		if (!r->numeric || !fb_model_type_is_int(p->type))
			fb_diag_error(d, "%s.scale_register: only applies to integer types, not %s",
				      r->where, type_str(p));
		else if (p->scale_register >= p->address && p->scale_register <= last)
			fb_diag_error(d, "%s.scale_register: expected another register than the "
				      "value's own (0x%04X..0x%04X), got 0x%04X", r->where,
				      p->address, last, p->scale_register);
		if (hi - lo + 1 > def->max_registers_per_read)
			fb_diag_error(d, "%s.scale_register: 0x%04X is %u registers from the value: "
				      "expected both within one read of max_registers_per_read (%u)",
				      r->where, p->scale_register, hi - lo + 1,
				      def->max_registers_per_read);
		for (size_t i = 0; i < def->nforbidden; i++)
			if (p->scale_register >= def->forbidden[i].first &&
			    p->scale_register <= def->forbidden[i].last)
				fb_diag_error(d, "%s.scale_register: 0x%04X is in forbidden_ranges[%zu]",
					      r->where, p->scale_register, i);
	}
	for (size_t i = 0; i < def->nforbidden; i++) {
		if (p->address <= def->forbidden[i].last && last >= def->forbidden[i].first)
			fb_diag_error(d, "%s.address: registers 0x%04X..0x%04X overlap "
				      "forbidden_ranges[%zu] (0x%04X..0x%04X)", r->where,
				      p->address, last, i, def->forbidden[i].first,
				      def->forbidden[i].last);
	}
}

/* Fields that mean nothing for this type. */
static void check_numeric_fields(const struct rules *r, const struct fb_point_def *p)
{
	static const char *const numeric_only[] = {
		"scale", "offset", "precision", "sentinel", "scale_register", NULL,
	};

	if (r->numeric)
		return;
	for (int i = 0; numeric_only[i]; i++)
		if (present(r->jp, numeric_only[i]))
			fb_diag_error(r->d, "%s.%s: only applies to numeric types, not %s",
				      r->where, numeric_only[i],
				      r->bit_table ? fb_reg_table_name(p->table) : type_str(p));
}

static void check_writing(const struct rules *r, const struct fb_point_def *p)
{
	struct fb_diag *d = r->d;
	const char *where = r->where;

	if (p->writable && p->table != FB_REG_COIL && p->table != FB_REG_HOLDING)
		fb_diag_error(d, "%s.writable: expected a coil or holding_register point, "
			      "table %s is read-only", where, fb_reg_table_name(p->table));
	if (p->writable && p->type == FB_TYPE_BIT)
		fb_diag_error(d, "%s.writable: not supported for type bit (writing the "
			      "register would overwrite its other bits)", where);
	if (p->writable && fb_model_type_is_byte(p->type))
		fb_diag_error(d, "%s.writable: not supported for type %s (writing the "
			      "register would overwrite its other byte)", where, type_str(p));
	if (p->writable && p->has_scale_register)
		fb_diag_error(d, "%s.writable: not supported with scale_register (the "
			      "exponent may change between reading it and writing)", where);
	if (!p->writable && present(r->jp, "write_function"))
		fb_diag_error(d, "%s.write_function: set, but the point is not writable", where);
	if (p->writable) {
		if (p->table == FB_REG_COIL &&
		    p->write_fn != FB_WRITE_FC05 && p->write_fn != FB_WRITE_FC15)
			fb_diag_error(d, "%s.write_function: expected fc05 or fc15 for a coil, "
				      "got %s", where, fb_write_fn_name(p->write_fn));
		if (p->table == FB_REG_HOLDING) {
			if (p->write_fn != FB_WRITE_FC06 && p->write_fn != FB_WRITE_FC16)
				fb_diag_error(d, "%s.write_function: expected fc06 or fc16 for a "
					      "holding_register, got %s", where,
					      fb_write_fn_name(p->write_fn));
			else if (p->write_fn == FB_WRITE_FC06 && r->width > 1)
				fb_diag_error(d, "%s.write_function: expected fc16 for %s (%u "
					      "registers), got fc06 (writes one register)",
					      where, type_str(p), r->width);
		}
	}
	if ((present(r->jp, "coil_on") || present(r->jp, "coil_off")) &&
	    !(p->table == FB_REG_COIL && p->writable && p->write_fn == FB_WRITE_FC05))
		fb_diag_error(d, "%s.%s: only applies to writable coils written with fc05",
			      where, present(r->jp, "coil_on") ? "coil_on" : "coil_off");
	if (p->coil_on_raw == p->coil_off_raw)
		fb_diag_error(d, "%s.coil_on: expected a value different from coil_off, got "
			      "0x%04X for both", where, p->coil_on_raw);
}

/* Which types each component takes, and the fields that belong to one
 * component (options, press, min/max/step). */
static void check_components(const struct rules *r, const struct fb_point_def *p)
{
	struct fb_diag *d = r->d;
	const char *where = r->where;
	const cJSON *jp = r->jp;
	bool is_enum = p->component == FB_COMP_SENSOR && p->device_class &&
		       !strcmp(p->device_class, "enum");

	switch (p->component) {
	case FB_COMP_SENSOR:
		break;
	case FB_COMP_BINARY_SENSOR:
		if (p->type != FB_TYPE_BOOL && p->type != FB_TYPE_BIT)
			fb_diag_error(d, "%s.component: expected type bool or bit for "
				      "binary_sensor, got %s", where, type_str(p));
		break;
	case FB_COMP_COVER:
	case FB_COMP_FAN:
	case FB_COMP_CLIMATE:
	case FB_COMP_TEXT:
		fb_model_components_rules(where, p, r->bit_table, d);
		break;
	case FB_COMP_LIGHT:
		if (p->ext.brightness_scale) { /* a dimmer */
			fb_model_components_rules(where, p, r->bit_table, d);
			break;
		}
		/* fall through */
	case FB_COMP_SWITCH:
	case FB_COMP_VALVE:
		if (p->type != FB_TYPE_BOOL && !(p->has_switch_raw && r->numeric &&
						 fb_model_type_is_int(p->type)))
			fb_diag_error(d, "%s.component: expected type bool for %s (or an "
				      "integer type with on_value and off_value), got %s",
				      where, fb_component_name(p->component), type_str(p));
		break;
	case FB_COMP_NUMBER:
		if (!r->numeric)
			fb_diag_error(d, "%s.component: expected a numeric type for number, "
				      "got %s", where, type_str(p));
		break;
	case FB_COMP_SELECT:
		if (r->bit_table || !fb_model_type_is_int(p->type) || !fb_model_identity(p))
			fb_diag_error(d, "%s.component: expected an unscaled integer type for "
				      "select, got %s%s", where, type_str(p),
				      fb_model_identity(p) ? "" : " with scale/offset");
		if (!p->noptions && !present(jp, "options"))
			fb_diag_error(d, "%s.options: required for component select", where);
		break;
	case FB_COMP_BUTTON:
		if (p->type != FB_TYPE_BOOL && !(fb_model_type_is_int(p->type) && !r->bit_table))
			fb_diag_error(d, "%s.component: expected bool or an integer type for "
				      "button, got %s", where, type_str(p));
		break;
	case FB_COMP_EVENT:
		fb_diag_error(d, "%s.component: event is only available in protocol gpio "
			      "definitions", where);
		break;
	}
	if (p->component >= FB_COMP_SWITCH && !p->writable)
		fb_diag_error(d, "%s.component: %s needs \"writable\": true", where,
			      fb_component_name(p->component));
	if (present(jp, "options") && p->component != FB_COMP_SELECT && !is_enum)
		fb_diag_error(d, "%s.options: only applies to select, or a sensor with "
			      "device_class enum", where);
	if (is_enum && !present(jp, "options") && p->type != FB_TYPE_STRING)
		fb_diag_error(d, "%s.options: required for device_class enum (or use type "
			      "string)", where);
	if (p->has_switch_raw && ((p->component != FB_COMP_SWITCH &&
				    p->component != FB_COMP_LIGHT &&
				    p->component != FB_COMP_VALVE) || r->bit_table))
		fb_diag_error(d, "%s.on_value: only applies to a switch on a holding "
			      "register (coils take coil_on/coil_off)", where);
	if (p->has_switch_raw && p->switch_on_raw == p->switch_off_raw)
		fb_diag_error(d, "%s.on_value: expected a value different from off_value, "
			      "got %lld for both", where, (long long)p->switch_on_raw);
	if (present(jp, "request") && p->component != FB_COMP_BUTTON)
		fb_diag_error(d, "%s.request: only applies to component button", where);
	if (present(jp, "request") && present(jp, "press"))
		fb_diag_error(d, "%s.press: a button sends either its request or a press "
			      "value, not both", where);
	if (present(jp, "press") && p->component != FB_COMP_BUTTON)
		fb_diag_error(d, "%s.press: only applies to component button", where);
	if (p->component == FB_COMP_BUTTON && (r->bit_table || p->type == FB_TYPE_BOOL) &&
	    p->press_raw != 0 && p->press_raw != 1)
		fb_diag_error(d, "%s.press: expected 0 or 1 for a bool point, got %lld",
			      where, (long long)p->press_raw);

	static const char *const number_only[] = { "min", "max", "step", NULL };

	for (int i = 0; number_only[i]; i++)
		if (present(jp, number_only[i]) && p->component != FB_COMP_NUMBER &&
		    p->component != FB_COMP_CLIMATE)
			fb_diag_error(d, "%s.%s: only applies to components number and climate",
				      where, number_only[i]);
	if (p->has_min && p->has_max && p->min >= p->max)
		fb_diag_error(d, "%s.min: expected less than max (%g), got %g", where,
			      p->max, p->min);
	if (p->step <= 0 || !isfinite(p->step))
		fb_diag_error(d, "%s.step: expected a number > 0, got %g", where, p->step);
}

/* Whether an integer raw value fits min..max, exactly. */
static bool raw_in_range(long long raw, int64_t min, uint64_t max)
{
	return raw >= min && (raw < 0 || (uint64_t)raw <= max);
}

/* Raw values must be representable in the point's type.  No long double
 * (it is double on 32-bit ARM): integers compare exactly, and the value
 * range uses the largest double not above the raw maximum. */
static void check_raw_ranges(const struct rules *r, const struct fb_point_def *p)
{
	struct fb_diag *d = r->d;
	const char *where = r->where;
	int64_t lo;
	uint64_t hi;

	if (!r->bit_table && fb_point_int_range(p->type, &lo, &hi)) {
		double a = (double)lo * p->scale + p->offset;
		double b = fb_point_max_double(hi) * p->scale + p->offset;
		double vlo = a < b ? a : b, vhi = a < b ? b : a;

		if (p->has_min && !(p->min >= vlo && p->min <= vhi))
			fb_diag_error(d, "%s.min: expected %g..%g (what %s%s can hold), "
				      "got %g", where, vlo, vhi, type_str(p),
				      fb_model_identity(p) ? "" : " after scale/offset",
				      p->min);
		if (p->has_max && !(p->max >= vlo && p->max <= vhi))
			fb_diag_error(d, "%s.max: expected %g..%g (what %s%s can hold), "
				      "got %g", where, vlo, vhi, type_str(p),
				      fb_model_identity(p) ? "" : " after scale/offset",
				      p->max);
		for (size_t i = 0; i < p->noptions; i++)
			if (!raw_in_range(p->options[i].raw, lo, hi))
				fb_diag_error(d, "%s.options.\"%lld\": expected a raw value "
					      "%lld..%llu for %s", where,
					      (long long)p->options[i].raw, (long long)lo,
					      (unsigned long long)hi, type_str(p));
		if (p->has_switch_raw && (!raw_in_range(p->switch_on_raw, lo, hi) ||
					  !raw_in_range(p->switch_off_raw, lo, hi)))
			fb_diag_error(d, "%s.on_value: expected on_value and off_value in "
				      "%lld..%llu for %s", where, (long long)lo,
				      (unsigned long long)hi, type_str(p));
		if (p->component == FB_COMP_BUTTON && !raw_in_range(p->press_raw, lo, hi))
			fb_diag_error(d, "%s.press: expected %lld..%llu for %s, got %lld",
				      where, (long long)lo, (unsigned long long)hi, type_str(p),
				      (long long)p->press_raw);
	}
	if (p->has_sentinel && r->numeric && r->width < 4) {
		/* Either reading of the register bits: 0x8000 or -32768. */
		int bits = (int)r->width * 16;
		long long smin = -(1ll << (bits - 1)), smax = (1ll << bits) - 1;

		if (p->sentinel_raw < smin || p->sentinel_raw > smax)
			fb_diag_error(d, "%s.sentinel: expected %lld..%lld (%u "
				      "register%s of raw bits), got %lld", where, smin,
				      smax, r->width, r->width > 1 ? "s" : "",
				      (long long)p->sentinel_raw);
	}
}

/* The rules that relate fields, once every field of the point was read. */
static void check_point_rules(const char *where, const struct fb_point_def *p,
			      const struct fb_definition *def, const cJSON *jp,
			      struct fb_diag *d)
{
	struct rules r = {
		.where = where, .jp = jp, .d = d,
		.bit_table = fb_point_is_bit_table(p),
		.width = fb_point_width(p),
	};

	r.numeric = !r.bit_table && fb_model_type_is_numeric(p->type);
	if (!check_table_type(&r, p))
		return;
	if (!p->ext.relay_open)
		check_addresses(&r, p, def);
	check_numeric_fields(&r, p);
	check_writing(&r, p);
	check_components(&r, p);
	check_raw_ranges(&r, p);
	fb_model_check_ha(where, p, d);
}

/* One point while its fields are read. */
struct reading {
	const char *file;      /* for the out-of-memory message, borrowed */
	const char *where;     /* "x.json: points[3] (voltage)", borrowed */
	const cJSON *jp;       /* the point's JSON object, borrowed */
	struct fb_diag *d;
	bool have_table, have_type; /* read without error (or defaulted) */
};

/* Where the value is and how its registers become a number. */
static void read_layout(struct reading *r, struct fb_point_def *p)
{
	const char *where = r->where;
	const cJSON *jp = r->jp;
	struct fb_diag *d = r->d;
	long long n;
	int e, rc;

	/* A button with a raw request reads nothing and writes no register;
	 * nor does a cover on relays (its value is an estimate). */
	const cJSON *cb = cJSON_GetObjectItemCaseSensitive(jp, "cover");
	bool relays = cJSON_IsObject(cb) && (present(cb, "open") || present(cb, "close"));
	bool raw = present(jp, "request") || relays;

	if (relays) {
		static const char *const reg[] = {
			"table", "address", "type", "bit", "byte", "length", "order", "scale",
			"offset", "scale_register", NULL,
		};

		for (size_t i = 0; reg[i]; i++)
			if (present(jp, reg[i]))
				fb_diag_error(d, "%s.%s: a cover on relays has no register of "
					      "its own (its relays are points of their own)",
					      where, reg[i]);
		p->table = FB_REG_HOLDING;
		p->type = FB_TYPE_FLOAT32;
		r->have_table = r->have_type = true;
		return;
	}

	if (fb_json_enum(jp, "table", !raw, fb_point_table_names, where, d, &e) == 1) {
		p->table = (enum fb_reg_table)e;
		r->have_table = true;
	} else if (raw && !present(jp, "table")) {
		p->table = FB_REG_HOLDING;
		r->have_table = true;
	}
	if (fb_json_int(jp, "address", !raw, 0, 65535, where, d, &n) == 1)
		p->address = (uint16_t)n;

	rc = fb_json_enum(jp, "type", false, fb_point_type_names, where, d, &e);
	if (rc == 0 && raw && r->have_table && !fb_point_is_bit_table(p)) {
		p->type = FB_TYPE_UINT16;
		r->have_type = true;
	} else if (rc == 1) {
		p->type = (enum fb_data_type)e;
		r->have_type = true;
	} else if (rc == 0 && r->have_table) {
		if (fb_point_is_bit_table(p)) {
			p->type = FB_TYPE_BOOL;
			r->have_type = true;
		} else {
			fb_diag_error(d, "%s.type: required for table %s (one of int16, uint16, "
				      "float32, ...)", where, fb_reg_table_name(p->table));
		}
	}

	if (r->have_type && p->type == FB_TYPE_BIT) {
		if (fb_json_int(jp, "bit", true, 0, 15, where, d, &n) == 1)
			p->bit = (uint8_t)n;
	} else if (present(jp, "bit")) {
		fb_diag_error(d, "%s.bit: only applies to type bit", where);
	}
	if (r->have_type && fb_model_type_is_byte(p->type)) {
		static const char *const bytes[] = { "low", "high", NULL };

		if (fb_json_enum(jp, "byte", true, bytes, where, d, &e) == 1)
			p->byte_high = e == 1;
	} else if (present(jp, "byte")) {
		fb_diag_error(d, "%s.byte: only applies to types int8, uint8 and int8_sm", where);
	}
	if (fb_json_int(jp, "sunspec_model", false, 1, 65534, where, d, &n) == 1)
		p->sunspec_model = (uint16_t)n;
	if (fb_json_int(jp, "sunspec_instance", false, 1, 9, where, d, &n) == 1)
		p->sunspec_instance = (uint8_t)n;
	if (fb_json_int(jp, "sunspec_float", false, 2, 65533, where, d, &n) == 1) {
		p->has_sunspec_float = true;
		p->sunspec_float = (uint16_t)n;
	}
	if (fb_json_int(jp, "scale_register", false, 0, 65535, where, d, &n) == 1) {
		p->has_scale_register = true;
		p->scale_register = (uint16_t)n;
	}
	if (r->have_type && p->type == FB_TYPE_STRING) {
		if (fb_json_int(jp, "length", true, 1, MAX_STRING_REGISTERS, where, d, &n) == 1)
			p->length = (uint16_t)n;
		else
			p->length = 1;
	} else if (present(jp, "length")) {
		fb_diag_error(d, "%s.length: only applies to type string", where);
	}

	if (fb_json_enum(jp, "order", false, fb_point_order_names, where, d, &e) == 1)
		p->order = (enum fb_byte_order)e;
	if (fb_json_number(jp, "scale", false, where, d, &p->scale) == 1 &&
	    (p->scale == 0 || !isfinite(p->scale))) {
		fb_diag_error(d, "%s.scale: expected a non-zero number, got %g", where, p->scale);
		p->scale = 1.0;
	}
	if (fb_json_number(jp, "offset", false, where, d, &p->offset) == 1 &&
	    !isfinite(p->offset))
		p->offset = 0.0;
	if (fb_json_int(jp, "precision", false, 0, 15, where, d, &n) == 1)
		p->precision = (int)n;
}

/* How Home Assistant shows the value. */
static void read_presentation(struct reading *r, struct fb_point_def *p)
{
	const char *where = r->where, *s;
	const cJSON *jp = r->jp;
	struct fb_diag *d = r->d;

	if (fb_json_string(jp, "unit", false, where, d, &s) == 1) {
		if (!s[0])
			fb_diag_error(d, "%s.unit: expected a unit or no field, got \"\"", where);
		else
			p->unit = fb_point_dup(r->file, s, d);
	}
	if (fb_json_string(jp, "raw_unit", false, where, d, &s) == 1)
		p->raw_unit = fb_point_dup(r->file, s, d);
	if (fb_json_string(jp, "device_class", false, where, d, &s) == 1)
		p->device_class = fb_point_dup(r->file, s, d);
	fb_point_read_state_class(r->file, jp, true, where, d, &p->state_class);
	fb_point_read_category(r->file, jp, where, d, &p->entity_category);
	if (fb_json_string(jp, "icon", false, where, d, &s) == 1) {
		const char *colon = strchr(s, ':');

		if (!colon || colon == s || !colon[1])
			fb_diag_error(d, "%s.icon: expected \"prefix:name\" such as "
				      "\"mdi:flash\", got \"%s\"", where, s);
		else
			p->icon = fb_point_dup(r->file, s, d);
	}
}

/* "request": "42" or "10 00 02": the PDU in hex, function code first. */
static void read_request(const cJSON *jp, const char *where, struct fb_diag *d,
			 struct fb_point_def *p)
{
	const char *s, *c;
	size_t n = 0;

	if (fb_json_string(jp, "request", false, where, d, &s) != 1)
		return;
	for (c = s; *c;) {
		char hex[3] = { c[0], c[0] ? c[1] : 0, 0 };

		if (*c == ' ') {
			c++;
			continue;
		}
		if (n == FB_POINT_REQUEST_MAX || !isxdigit((unsigned char)hex[0]) ||
		    !isxdigit((unsigned char)hex[1])) {
			fb_diag_error(d, "%s.request: expected hex bytes (function code first, "
				      "at most %d bytes) such as \"42\" or \"10 00 02\", got \"%s\"",
				      where, FB_POINT_REQUEST_MAX, s);
			p->request_len = 0;
			return;
		}
		p->request[n++] = (uint8_t)strtoul(hex, NULL, 16);
		c += 2;
	}
	p->request_len = (uint8_t)n;
	if (!n || p->request[0] == 0 || p->request[0] >= 0x80) {
		fb_diag_error(d, "%s.request: expected a function code 0x01..0x7F as the first "
			      "byte, got \"%s\"", where, s);
		p->request_len = 0;
	}
}

/* The component, and how a command reaches the device. */
static void read_control(struct reading *r, struct fb_point_def *p)
{
	const char *where = r->where;
	const cJSON *jp = r->jp;
	struct fb_diag *d = r->d;
	long long n;
	int e;

	fb_json_bool(jp, "writable", false, where, d, &p->writable);

	if (fb_json_enum(jp, "component", false, fb_point_component_names, where, d, &e) == 1) {
		p->component = (enum fb_component)e;
	} else if (r->have_table) {
		if (p->table == FB_REG_COIL && p->writable)
			p->component = FB_COMP_SWITCH;
		else if (fb_point_is_bit_table(p))
			p->component = FB_COMP_BINARY_SENSOR;
		else
			p->component = FB_COMP_SENSOR;
	}

	if (fb_json_enum(jp, "write_function", false, fb_point_write_fn_names, where, d, &e) == 1)
		p->write_fn = (enum fb_write_fn)(e + 1);
	else if (p->writable && r->have_table)
		p->write_fn = p->table == FB_REG_COIL ? FB_WRITE_FC05
			    : fb_point_width(p) > 1 ? FB_WRITE_FC16 : FB_WRITE_FC06;

	if (fb_json_int(jp, "coil_on", false, 0, 65535, where, d, &n) == 1)
		p->coil_on_raw = (uint16_t)n;
	if (fb_json_int(jp, "coil_off", false, 0, 65535, where, d, &n) == 1)
		p->coil_off_raw = (uint16_t)n;
	read_raw64(jp, "press", where, d, &p->press_raw);
	read_request(jp, where, d, p);
	bool on = read_raw64(jp, "on_value", where, d, &p->switch_on_raw) == 1;
	bool off = read_raw64(jp, "off_value", where, d, &p->switch_off_raw) == 1;

	if (on != off)
		fb_diag_error(d, "%s.%s: expected on_value and off_value together", where,
			      on ? "off_value" : "on_value");
	p->has_switch_raw = on && off;

	if (fb_json_number(jp, "min", false, where, d, &p->min) == 1)
		p->has_min = true;
	if (fb_json_number(jp, "max", false, where, d, &p->max) == 1)
		p->has_max = true;
	if (fb_json_number(jp, "step", false, where, d, &p->step) != 1) {
		/* Home Assistant's number default is 1; a scaled register moves in
		 * steps of its scale, a float in steps of its display precision. */
		if (r->have_type && fb_model_type_is_int(p->type))
			p->step = fabs(p->scale);
		else if (r->have_type && fb_model_type_is_float(p->type) && p->precision >= 0)
			p->step = fb_fpmath_pow10(-p->precision);
		else
			p->step = 1.0;
	}

	parse_options(r->file, jp, where, d, p);
	fb_model_components_parse(r->file, jp, where, p, d);
}

/* When the value is read and when it is published. */
static void read_publishing(struct reading *r, struct fb_point_def *p)
{
	long long n;
	int e;

	if (fb_json_enum(r->jp, "poll", false, fb_point_poll_names, r->where, r->d, &e) == 1)
		p->poll = (enum fb_poll_class)e;
	if (read_raw64(r->jp, "sentinel", r->where, r->d, &p->sentinel_raw) == 1)
		p->has_sentinel = true;
	read_deadband(r->jp, r->where, r->d, p);
	fb_model_lint_read_waivers(r->jp, r->where, r->d, &p->lint_ok);
	if (fb_json_int(r->jp, "heartbeat_s", false, 1, 86400, r->where, r->d, &n) == 1)
		p->heartbeat_s = (int)n;
}

void fb_model_modbus_parse_point(const char *file, const cJSON *jp, size_t idx,
				 const struct fb_definition *def,
				 struct fb_point_def *p, struct fb_diag *d)
{
	struct reading r = { .file = file, .jp = jp, .d = d };
	char *base = NULL, *where = NULL;
	const char *s;

	/* Defaults. */
	p->order = FB_ORDER_ABCD;
	p->scale = 1.0;
	p->offset = 0.0;
	p->precision = -1;
	p->coil_on_raw = 0xFF00;
	p->coil_off_raw = 0x0000;
	p->press_raw = 1;
	p->poll = FB_POLL_NORMAL;
	p->step = 0; /* set once the type is known */

	if (asprintf(&base, "%s: points[%zu]", file, idx) < 0) {
		fb_diag_error(d, "%s: out of memory", file);
		return;
	}
	if (!cJSON_IsObject(jp)) {
		fb_diag_error(d, "%s: expected an object, got %s", base,
			      cJSON_IsArray(jp) ? "an array" : "a non-object value");
		free(base);
		return;
	}

	s = fb_point_read_key(file, jp, base, d, &p->key);
	if (s && asprintf(&where, "%s (%.40s)", base, s) < 0)
		where = NULL;
	if (!where && !(where = strdup(base))) {
		fb_diag_error(d, "%s: out of memory", file);
		free(base);
		return;
	}
	free(base);
	r.where = where;

	fb_json_unknown_keys(jp, point_keys, where, d);
	if (fb_json_string(jp, "name", true, where, d, &s) == 1) {
		if (!s[0])
			fb_diag_error(d, "%s.name: expected a non-empty string, got \"\"", where);
		else if (has_control(s))
			fb_diag_error(d, "%s.name: expected text without control characters",
				      where);
		p->name = fb_point_dup(file, s, d);
	}
	read_layout(&r, p);
	read_presentation(&r, p);
	read_control(&r, p);
	read_publishing(&r, p);

	/* Cross-field rules need the fields they relate; if one of those was
	 * missing or malformed it has been reported already. */
	if (r.have_table && r.have_type)
		check_point_rules(where, p, def, jp, d);
	free(where);
}
