/* Loading and validating device definition files (docs/device-definitions.md).
 *
 * The loader never stops at the first problem: every field of every point
 * is read and checked, and each problem becomes one message naming the file,
 * the point (index and key) and the field, so one `--check` run lists them
 * all.  Any error makes fb_model_load return NULL. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Modbus application protocol v1.1b3, 6.1-6.4: one read returns at most
 * 125 registers or 2000 bits. */
#define MB_MAX_READ_REGISTERS 125
#define MB_MAX_READ_BITS 2000
#define DEFAULT_MAX_GAP 8
/* A string point decodes into fb_value.s, NUL included. */
#define MAX_STRING_REGISTERS ((FB_TABLE_STRING_MAX - 1) / 2)

static const char *const table_names[] = {
	"coil", "discrete_input", "input_register", "holding_register", NULL,
};
static const char *const type_names[] = {
	"bool", "int16", "uint16", "int32", "uint32", "int64", "uint64",
	"float32", "float64", "string", "bit", "bcd16", "bcd32", NULL,
};
static const char *const order_names[] = { "ABCD", "CDAB", "BADC", "DCBA", NULL };
static const char *const component_names[] = {
	"sensor", "binary_sensor", "switch", "number", "select", "button", "event", NULL,
};
/* JSON spelling; index + 1 is the enum value (FB_WRITE_NONE is not spelt). */
static const char *const write_fn_names[] = { "fc05", "fc06", "fc15", "fc16", NULL };
static const char *const poll_names[] = { "fast", "normal", "slow", "once", NULL };
static const char *const protocol_names[] = { "modbus", "gpio", NULL };
static const char *const parity_names[] = { "N", "E", "O", NULL };
static const char *const category_names[] = { "config", "diagnostic", NULL };
static const char *const state_class_names[] = {
	"measurement", "total", "total_increasing", "measurement_angle", NULL,
};

static const char *const top_keys[] = {
	"manufacturer", "model", "protocol", "serial", "max_registers_per_read",
	"max_bits_per_read", "max_gap", "forbidden_ranges", "points", NULL,
};
static const char *const serial_keys[] = {
	"baud", "parity", "data_bits", "stop_bits", NULL,
};
static const char *const point_keys[] = {
	"key", "name", "table", "address", "type", "bit", "length", "order",
	"scale", "offset", "precision", "unit", "component", "device_class",
	"state_class", "entity_category", "icon", "writable", "write_function",
	"coil_on", "coil_off", "press", "min", "max", "step", "options", "poll",
	"sentinel", "deadband", "heartbeat_s", NULL,
};

/* Serial speeds termios can set (cfsetspeed) that RS-485 devices use. */
static const long long bauds[] = {
	1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400,
};

static const char *name_or(const char *const *names, size_t n, unsigned i)
{
	return i < n ? names[i] : "?";
}

#define NAMES_LEN(a) (sizeof(a) / sizeof((a)[0]) - 1)

const char *fb_component_name(enum fb_component c)
{
	return name_or(component_names, NAMES_LEN(component_names), (unsigned)c);
}

const char *fb_data_type_name(enum fb_data_type t)
{
	return name_or(type_names, NAMES_LEN(type_names), (unsigned)t);
}

const char *fb_reg_table_name(enum fb_reg_table t)
{
	return name_or(table_names, NAMES_LEN(table_names), (unsigned)t);
}

const char *fb_byte_order_name(enum fb_byte_order o)
{
	return name_or(order_names, NAMES_LEN(order_names), (unsigned)o);
}

const char *fb_write_fn_name(enum fb_write_fn f)
{
	if (f == FB_WRITE_NONE)
		return "none";
	return name_or(write_fn_names, NAMES_LEN(write_fn_names), (unsigned)f - 1);
}

const char *fb_poll_class_name(enum fb_poll_class c)
{
	return name_or(poll_names, NAMES_LEN(poll_names), (unsigned)c);
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
	case FB_TYPE_FLOAT32:
	case FB_TYPE_FLOAT64:
		return FB_VALUE_FLOAT;
	case FB_TYPE_INT16:
	case FB_TYPE_INT32:
	case FB_TYPE_INT64:
		return fb_model_identity(p) ? FB_VALUE_INT : FB_VALUE_FLOAT;
	default: /* unsigned and BCD */
		return fb_model_identity(p) ? FB_VALUE_UINT : FB_VALUE_FLOAT;
	}
}

bool fb_model_int_range(enum fb_data_type t, long double *min, long double *max)
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
	default: return false;
	}
}

/* ---- loader ---- */

struct loader {
	const char *file;      /* as given to fb_model_load, borrowed */
	struct fb_diag *diag;  /* borrowed */
};

static char *dup_or_oom(struct loader *L, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		fb_diag_error(L->diag, "%s: out of memory", L->file);
	return d;
}

static bool present(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return v && !cJSON_IsNull(v);
}

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

static bool key_ok(const char *k)
{
	if (!*k || strlen(k) >= FB_TABLE_KEY_MAX)
		return false;
	for (const char *c = k; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return true;
}

static bool is_integer_text(const char *s, long long *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 0);
	return !errno && !*end;
}

static void parse_options(struct loader *L, const cJSON *jp, const char *where,
			  struct fb_point_def *p)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(jp, "options");
	const cJSON *it;
	size_t n = 0;

	if (!o || cJSON_IsNull(o))
		return;
	if (!cJSON_IsObject(o)) {
		fb_diag_error(L->diag, "%s.options: expected an object of raw value to label "
			      "({\"0\": \"Off\", \"1\": \"On\"}), got %s", where,
			      cJSON_IsArray(o) ? "an array" : "a non-object value");
		return;
	}
	cJSON_ArrayForEach(it, o)
		n++;
	if (n == 0) {
		fb_diag_error(L->diag, "%s.options: expected at least one option, got none", where);
		return;
	}
	p->options = calloc(n, sizeof(*p->options));
	if (!p->options) {
		fb_diag_error(L->diag, "%s: out of memory", L->file);
		return;
	}
	cJSON_ArrayForEach(it, o) {
		long long raw;
		bool ok = true;

		if (!is_integer_text(it->string, &raw)) {
			fb_diag_error(L->diag, "%s.options.\"%s\": expected an integer raw value "
				      "(decimal or 0x hex) as the key", where, it->string);
			ok = false;
		}
		if (!cJSON_IsString(it) || !it->valuestring[0]) {
			fb_diag_error(L->diag, "%s.options.\"%s\": expected a non-empty label string",
				      where, it->string);
			ok = false;
		}
		if (!ok)
			continue;
		for (size_t i = 0; i < p->noptions; i++) {
			if (p->options[i].raw == raw) {
				fb_diag_error(L->diag, "%s.options.\"%s\": raw value %lld appears twice",
					      where, it->string, raw);
				ok = false;
			} else if (!strcmp(p->options[i].label, it->valuestring)) {
				fb_diag_error(L->diag, "%s.options.\"%s\": label \"%s\" appears twice",
					      where, it->string, it->valuestring);
				ok = false;
			}
		}
		if (!ok)
			continue;
		p->options[p->noptions].raw = raw;
		p->options[p->noptions].label = dup_or_oom(L, it->valuestring);
		if (p->options[p->noptions].label)
			p->noptions++;
	}
}

/* Reads a JSON enum into an enum field; absent leaves *out at its default. */
static int read_enum(const cJSON *jp, const char *key, bool required,
		     const char *const *names, const char *where,
		     struct fb_diag *d, int *out)
{
	return fb_json_enum(jp, key, required, names, where, d, out);
}

static const char *type_str(const struct fb_point_def *p)
{
	return fb_data_type_name(p->type);
}

/* Checks that only apply once every field of the point was read. */
static void check_point_rules(struct loader *L, const char *where,
			      struct fb_point_def *p, const struct fb_definition *def,
			      const cJSON *jp, bool is_gpio)
{
	struct fb_diag *d = L->diag;
	bool bit_table = fb_point_is_bit_table(p);
	bool numeric = !bit_table && fb_model_type_is_numeric(p->type);
	uint16_t width = fb_point_width(p);

	if (is_gpio && !bit_table)
		fb_diag_error(d, "%s.table: expected coil or discrete_input for a gpio "
			      "definition, got %s", where, fb_reg_table_name(p->table));
	if (bit_table && p->type != FB_TYPE_BOOL) {
		fb_diag_error(d, "%s.type: expected bool for table %s, got %s", where,
			      fb_reg_table_name(p->table), type_str(p));
		return; /* every later rule would repeat this one */
	}
	if (bit_table && present(jp, "order"))
		fb_diag_error(d, "%s.order: only applies to register tables, not %s",
			      where, fb_reg_table_name(p->table));
	if (p->type == FB_TYPE_STRING &&
	    (p->order == FB_ORDER_CDAB || p->order == FB_ORDER_DCBA))
		fb_diag_error(d, "%s.order: expected ABCD or BADC for a string, got %s",
			      where, fb_byte_order_name(p->order));

	/* Addresses. */
	if ((uint32_t)p->address + width > 65536u)
		fb_diag_error(d, "%s.address: expected the point to end by 65535, got "
			      "%u..%u (%u %s from %u)", where, p->address,
			      (unsigned)p->address + width - 1, width,
			      bit_table ? "bits" : "registers", p->address);
	if (!bit_table) {
		unsigned last = (unsigned)p->address + width - 1;

		if (width > def->max_registers_per_read)
			fb_diag_error(d, "%s.type: expected at most max_registers_per_read "
				      "(%u) registers, got %u", where,
				      def->max_registers_per_read, width);
		for (size_t i = 0; i < def->nforbidden; i++) {
			if (p->address <= def->forbidden[i].last && last >= def->forbidden[i].first)
				fb_diag_error(d, "%s.address: registers 0x%04X..0x%04X overlap "
					      "forbidden_ranges[%zu] (0x%04X..0x%04X)", where,
					      p->address, last, i, def->forbidden[i].first,
					      def->forbidden[i].last);
		}
	}

	/* Fields that mean nothing for this type. */
	if (!numeric) {
		static const char *const numeric_only[] = {
			"scale", "offset", "precision", "sentinel", NULL,
		};
		for (int i = 0; numeric_only[i]; i++)
			if (present(jp, numeric_only[i]))
				fb_diag_error(d, "%s.%s: only applies to numeric types, not %s",
					      where, numeric_only[i],
					      bit_table ? fb_reg_table_name(p->table) : type_str(p));
	}

	/* Writing. */
	if (p->writable && p->table != FB_REG_COIL && p->table != FB_REG_HOLDING)
		fb_diag_error(d, "%s.writable: expected a coil or holding_register point, "
			      "table %s is read-only", where, fb_reg_table_name(p->table));
	if (p->writable && p->type == FB_TYPE_BIT)
		fb_diag_error(d, "%s.writable: not supported for type bit (writing the "
			      "register would overwrite its other bits)", where);
	if (!p->writable && present(jp, "write_function"))
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
			else if (p->write_fn == FB_WRITE_FC06 && width > 1)
				fb_diag_error(d, "%s.write_function: expected fc16 for %s (%u "
					      "registers), got fc06 (writes one register)",
					      where, type_str(p), width);
		}
	}
	if ((present(jp, "coil_on") || present(jp, "coil_off")) &&
	    !(p->table == FB_REG_COIL && p->writable && p->write_fn == FB_WRITE_FC05))
		fb_diag_error(d, "%s.%s: only applies to writable coils written with fc05",
			      where, present(jp, "coil_on") ? "coil_on" : "coil_off");
	if (p->coil_on_raw == p->coil_off_raw)
		fb_diag_error(d, "%s.coil_on: expected a value different from coil_off, got "
			      "0x%04X for both", where, p->coil_on_raw);

	/* Components. */
	switch (p->component) {
	case FB_COMP_SENSOR:
		break;
	case FB_COMP_BINARY_SENSOR:
		if (p->type != FB_TYPE_BOOL && p->type != FB_TYPE_BIT)
			fb_diag_error(d, "%s.component: expected type bool or bit for "
				      "binary_sensor, got %s", where, type_str(p));
		break;
	case FB_COMP_SWITCH:
		if (p->type != FB_TYPE_BOOL)
			fb_diag_error(d, "%s.component: expected type bool for switch, got %s",
				      where, type_str(p));
		break;
	case FB_COMP_NUMBER:
		if (!numeric)
			fb_diag_error(d, "%s.component: expected a numeric type for number, "
				      "got %s", where, type_str(p));
		break;
	case FB_COMP_SELECT:
		if (bit_table || !fb_model_type_is_int(p->type) || !fb_model_identity(p))
			fb_diag_error(d, "%s.component: expected an unscaled integer type for "
				      "select, got %s%s", where, type_str(p),
				      fb_model_identity(p) ? "" : " with scale/offset");
		if (!p->noptions && !present(jp, "options"))
			fb_diag_error(d, "%s.options: required for component select", where);
		break;
	case FB_COMP_BUTTON:
		if (p->type != FB_TYPE_BOOL && !(fb_model_type_is_int(p->type) && !bit_table))
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
	if (present(jp, "options") && p->component != FB_COMP_SELECT &&
	    !(p->component == FB_COMP_SENSOR && p->device_class &&
	      !strcmp(p->device_class, "enum")))
		fb_diag_error(d, "%s.options: only applies to select, or a sensor with "
			      "device_class enum", where);
	if (p->component == FB_COMP_SENSOR && p->device_class &&
	    !strcmp(p->device_class, "enum") && !present(jp, "options") &&
	    p->type != FB_TYPE_STRING)
		fb_diag_error(d, "%s.options: required for device_class enum (or use type "
			      "string)", where);
	if (present(jp, "press") && p->component != FB_COMP_BUTTON)
		fb_diag_error(d, "%s.press: only applies to component button", where);
	if (p->component == FB_COMP_BUTTON && (bit_table || p->type == FB_TYPE_BOOL) &&
	    p->press_raw != 0 && p->press_raw != 1)
		fb_diag_error(d, "%s.press: expected 0 or 1 for a bool point, got %lld",
			      where, (long long)p->press_raw);
	{
		static const char *const number_only[] = { "min", "max", "step", NULL };
		for (int i = 0; number_only[i]; i++)
			if (present(jp, number_only[i]) && p->component != FB_COMP_NUMBER)
				fb_diag_error(d, "%s.%s: only applies to component number",
					      where, number_only[i]);
	}
	if (p->has_min && p->has_max && p->min >= p->max)
		fb_diag_error(d, "%s.min: expected less than max (%g), got %g", where,
			      p->max, p->min);
	if (p->step <= 0 || !isfinite(p->step))
		fb_diag_error(d, "%s.step: expected a number > 0, got %g", where, p->step);

	/* Raw values must be representable in the point's type. */
	{
		long double lo, hi;

		if (!bit_table && fb_model_int_range(p->type, &lo, &hi)) {
			long double a = lo * (long double)p->scale + p->offset;
			long double b = hi * (long double)p->scale + p->offset;
			long double vlo = a < b ? a : b, vhi = a < b ? b : a;

			if (p->has_min && (p->min < vlo || p->min > vhi))
				fb_diag_error(d, "%s.min: expected %Lg..%Lg (what %s%s can hold), "
					      "got %g", where, vlo, vhi, type_str(p),
					      fb_model_identity(p) ? "" : " after scale/offset",
					      p->min);
			if (p->has_max && (p->max < vlo || p->max > vhi))
				fb_diag_error(d, "%s.max: expected %Lg..%Lg (what %s%s can hold), "
					      "got %g", where, vlo, vhi, type_str(p),
					      fb_model_identity(p) ? "" : " after scale/offset",
					      p->max);
			for (size_t i = 0; i < p->noptions; i++)
				if (p->options[i].raw < lo || p->options[i].raw > hi)
					fb_diag_error(d, "%s.options.\"%lld\": expected a raw value "
						      "%Lg..%Lg for %s", where,
						      (long long)p->options[i].raw, lo, hi,
						      type_str(p));
			if (p->component == FB_COMP_BUTTON &&
			    (p->press_raw < lo || p->press_raw > hi))
				fb_diag_error(d, "%s.press: expected %Lg..%Lg for %s, got %lld",
					      where, lo, hi, type_str(p), (long long)p->press_raw);
		}
		if (p->has_sentinel && numeric && width < 4) {
			/* Either reading of the register bits: 0x8000 or -32768. */
			long double bits = width * 16;
			long double smin = -powl(2, bits - 1), smax = powl(2, bits) - 1;

			if (p->sentinel_raw < smin || p->sentinel_raw > smax)
				fb_diag_error(d, "%s.sentinel: expected %.0Lf..%.0Lf (%u "
					      "register%s of raw bits), got %lld", where, smin,
					      smax, width, width > 1 ? "s" : "",
					      (long long)p->sentinel_raw);
		}
	}
	fb_ha_check_point(where, p, d);
}

static void parse_point(struct loader *L, const cJSON *jp, size_t idx,
			struct fb_point_def *p, const struct fb_definition *def,
			bool is_gpio)
{
	struct fb_diag *d = L->diag;
	char *base = NULL, *where = NULL;
	const char *s = NULL;
	long long n;
	int e, rc;
	bool have_table = false, have_type = false, have_component = false;

	/* Defaults. */
	p->order = FB_ORDER_ABCD;
	p->scale = 1.0;
	p->offset = 0.0;
	p->precision = -1;
	p->coil_on_raw = 0xFF00;
	p->coil_off_raw = 0x0000;
	p->press_raw = 1;
	p->poll = FB_POLL_NORMAL;
	p->step = 0; /* set below once the type is known */

	if (asprintf(&base, "%s: points[%zu]", L->file, idx) < 0) {
		fb_diag_error(d, "%s: out of memory", L->file);
		return;
	}
	if (!cJSON_IsObject(jp)) {
		fb_diag_error(d, "%s: expected an object, got %s", base,
			      cJSON_IsArray(jp) ? "an array" : "a non-object value");
		free(base);
		return;
	}

	rc = fb_json_string(jp, "key", true, base, d, &s);
	if (rc == 1) {
		if (!key_ok(s))
			fb_diag_error(d, "%s.key: expected 1..%d characters of a-z, 0-9 and _, "
				      "got \"%s\"", base, FB_TABLE_KEY_MAX - 1, s);
		else if (fb_model_is_diag_key(s))
			fb_diag_error(d, "%s.key: expected a key not starting with \"_diag_\" "
				      "(reserved for the driver's diagnostic points), got \"%s\"",
				      base, s);
		p->key = dup_or_oom(L, s);
		if (asprintf(&where, "%s (%.40s)", base, s) < 0)
			where = NULL;
	}
	if (!where && !(where = strdup(base))) {
		fb_diag_error(d, "%s: out of memory", L->file);
		free(base);
		return;
	}
	free(base);

	fb_json_unknown_keys(jp, point_keys, where, d);

	if (fb_json_string(jp, "name", true, where, d, &s) == 1) {
		if (!s[0])
			fb_diag_error(d, "%s.name: expected a non-empty string, got \"\"", where);
		p->name = dup_or_oom(L, s);
	}
	if (read_enum(jp, "table", true, table_names, where, d, &e) == 1) {
		p->table = (enum fb_reg_table)e;
		have_table = true;
	}
	if (fb_json_int(jp, "address", true, 0, 65535, where, d, &n) == 1)
		p->address = (uint16_t)n;

	rc = read_enum(jp, "type", false, type_names, where, d, &e);
	if (rc == 1) {
		p->type = (enum fb_data_type)e;
		have_type = true;
	} else if (rc == 0 && have_table) {
		if (fb_point_is_bit_table(p)) {
			p->type = FB_TYPE_BOOL;
			have_type = true;
		} else {
			fb_diag_error(d, "%s.type: required for table %s (one of int16, uint16, "
				      "float32, ...)", where, fb_reg_table_name(p->table));
		}
	}

	if (have_type && p->type == FB_TYPE_BIT) {
		if (fb_json_int(jp, "bit", true, 0, 15, where, d, &n) == 1)
			p->bit = (uint8_t)n;
	} else if (present(jp, "bit")) {
		fb_diag_error(d, "%s.bit: only applies to type bit", where);
	}
	if (have_type && p->type == FB_TYPE_STRING) {
		if (fb_json_int(jp, "length", true, 1, MAX_STRING_REGISTERS, where, d, &n) == 1)
			p->length = (uint16_t)n;
		else
			p->length = 1;
	} else if (present(jp, "length")) {
		fb_diag_error(d, "%s.length: only applies to type string", where);
	}

	if (read_enum(jp, "order", false, order_names, where, d, &e) == 1)
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

	if (fb_json_string(jp, "unit", false, where, d, &s) == 1) {
		if (!s[0])
			fb_diag_error(d, "%s.unit: expected a unit or no field, got \"\"", where);
		else
			p->unit = dup_or_oom(L, s);
	}
	if (fb_json_string(jp, "device_class", false, where, d, &s) == 1)
		p->device_class = dup_or_oom(L, s);
	if (read_enum(jp, "state_class", false, state_class_names, where, d, &e) == 1)
		p->state_class = dup_or_oom(L, state_class_names[e]);
	if (read_enum(jp, "entity_category", false, category_names, where, d, &e) == 1)
		p->entity_category = dup_or_oom(L, category_names[e]);
	if (fb_json_string(jp, "icon", false, where, d, &s) == 1) {
		const char *colon = strchr(s, ':');

		if (!colon || colon == s || !colon[1])
			fb_diag_error(d, "%s.icon: expected \"prefix:name\" such as "
				      "\"mdi:flash\", got \"%s\"", where, s);
		else
			p->icon = dup_or_oom(L, s);
	}

	fb_json_bool(jp, "writable", false, where, d, &p->writable);

	if (read_enum(jp, "component", false, component_names, where, d, &e) == 1) {
		p->component = (enum fb_component)e;
		have_component = true;
	}
	if (!have_component && have_table) {
		if (p->table == FB_REG_COIL && p->writable)
			p->component = FB_COMP_SWITCH;
		else if (fb_point_is_bit_table(p))
			p->component = FB_COMP_BINARY_SENSOR;
		else
			p->component = FB_COMP_SENSOR;
	}

	if (read_enum(jp, "write_function", false, write_fn_names, where, d, &e) == 1)
		p->write_fn = (enum fb_write_fn)(e + 1);
	else if (p->writable && have_table)
		p->write_fn = p->table == FB_REG_COIL ? FB_WRITE_FC05
			    : fb_point_width(p) > 1 ? FB_WRITE_FC16 : FB_WRITE_FC06;

	if (fb_json_int(jp, "coil_on", false, 0, 65535, where, d, &n) == 1)
		p->coil_on_raw = (uint16_t)n;
	if (fb_json_int(jp, "coil_off", false, 0, 65535, where, d, &n) == 1)
		p->coil_off_raw = (uint16_t)n;
	read_raw64(jp, "press", where, d, &p->press_raw);

	if (fb_json_number(jp, "min", false, where, d, &p->min) == 1)
		p->has_min = true;
	if (fb_json_number(jp, "max", false, where, d, &p->max) == 1)
		p->has_max = true;
	if (fb_json_number(jp, "step", false, where, d, &p->step) != 1) {
		/* Home Assistant's number default is 1; a scaled register moves in
		 * steps of its scale, a float in steps of its display precision. */
		if (have_type && fb_model_type_is_int(p->type))
			p->step = fabs(p->scale);
		else if (have_type && fb_model_type_is_float(p->type) && p->precision >= 0)
			p->step = pow(10, -p->precision);
		else
			p->step = 1.0;
	}

	parse_options(L, jp, where, p);

	if (read_enum(jp, "poll", false, poll_names, where, d, &e) == 1)
		p->poll = (enum fb_poll_class)e;
	if (read_raw64(jp, "sentinel", where, d, &p->sentinel_raw) == 1)
		p->has_sentinel = true;
	read_deadband(jp, where, d, p);
	if (fb_json_int(jp, "heartbeat_s", false, 1, 86400, where, d, &n) == 1)
		p->heartbeat_s = (int)n;

	/* Cross-field rules need the fields they relate; if one of those was
	 * missing or malformed it has been reported already. */
	if (have_table && have_type)
		check_point_rules(L, where, p, def, jp, is_gpio);
	free(where);
}

static void free_point(struct fb_point_def *p)
{
	free(p->key);
	free(p->name);
	free(p->unit);
	free(p->device_class);
	free(p->state_class);
	free(p->entity_category);
	free(p->icon);
	for (size_t i = 0; i < p->noptions; i++)
		free(p->options[i].label);
	free(p->options);
	fb_model_gpio_free_point(p);
}

void fb_model_free(struct fb_definition *def)
{
	if (!def)
		return;
	for (size_t i = 0; i < def->npoints; i++)
		free_point(&def->points[i]);
	free(def->points);
	free(def->forbidden);
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
	return cJSON_IsString(v) && is_integer_text(v->valuestring, out);
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
		def->manufacturer = dup_or_oom(L, s);
	if (fb_json_string(root, "model", true, L->file, &tmp, &s) == 1)
		def->model = dup_or_oom(L, s);
	if (fb_json_enum(root, "protocol", true, protocol_names, L->file, &tmp, &e) == 1) {
		def->protocol = dup_or_oom(L, protocol_names[e]);
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
	top_move(L, &tmp);
	if (def->max_gap >= def->max_registers_per_read) {
		fb_diag_error(L->diag, "%s: max_gap: expected less than max_registers_per_read "
			      "(%u), got %u", L->file, def->max_registers_per_read, def->max_gap);
	}

	parse_serial(L, root, def, is_gpio);
	parse_forbidden(L, root, def);

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
		if (is_gpio) /* GPIO points: definition_gpio.c */
			fb_model_gpio_parse_point(L->file, jp, i, &def->points[i], L->diag);
		else
			parse_point(L, jp, i, &def->points[i], def, is_gpio);
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

struct fb_definition *fb_model_find(const char *id, const char *const *dirs,
				    size_t ndirs, struct fb_diag *diag)
{
	char *searched = NULL;
	size_t len = 0;
	FILE *list;

	if (!id || !*id || strchr(id, '/') || id[0] == '.') {
		fb_diag_error(diag, "definition \"%s\": expected a file stem such as "
			      "\"eastron-sdm120\" (no '/', not starting with '.')", id ? id : "");
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
		fclose(list);
	}
	fb_diag_error(diag, "definition \"%s\": no %s.json in %s", id, id,
		      searched ? searched : "the definition directories");
	free(searched);
	return NULL;
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
