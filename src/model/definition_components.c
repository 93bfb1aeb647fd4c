/* SPDX-License-Identifier: Apache-2.0 */
/* The component blocks of Modbus points (docs/device-definitions.md,
 * "Covers, fans, climate, text and dimmers"): "light" (a dimmer's
 * brightness_scale), "cover", "fan", "climate" and "text".  Each maps Home
 * Assistant's payloads onto the point's one register, so a device needs
 * data, not C.  fb_model_components_parse reads a point's block while the
 * point is parsed; fb_model_components_check runs once every point is
 * there, because a climate names other points. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const light_keys[] = { "brightness_scale", NULL };
static const char *const cover_keys[] = {
	"position_open", "position_closed", "stop_value",
	"open", "close", "run_time_s", "open_time_s", "close_time_s", "reverse_pause_ms", NULL,
};
static const char *const fan_keys[] = {
	"off_value", "on_value", "speed_min", "speed_max", "presets", NULL,
};
static const char *const climate_keys[] = {
	"current_temperature", "mode", "fixed_mode", "precision", NULL,
};
static const char *const text_keys[] = { "pattern", "min_length", "mode", NULL };
static const char *const text_modes[] = { "text", "password", NULL };

/* Home Assistant's HVAC modes (climate.const HVACMode). */
const char *const fb_climate_mode_names[] = {
	"off", "heat", "cool", "heat_cool", "auto", "dry", "fan_only", NULL,
};

static const struct {
	enum fb_component c;
	const char *block;
	const char *const *keys;
} blocks[] = {
	{ FB_COMP_LIGHT, "light", light_keys },
	{ FB_COMP_COVER, "cover", cover_keys },
	{ FB_COMP_FAN, "fan", fan_keys },
	{ FB_COMP_CLIMATE, "climate", climate_keys },
	{ FB_COMP_TEXT, "text", text_keys },
};

/* An integer field of a block: a JSON integer within the type's range. */
static int block_int(const cJSON *b, const char *key, bool required, const char *where,
		     struct fb_diag *d, int64_t *out)
{
	long long n;
	int rc = fb_json_int(b, key, required, -2147483648LL, 4294967295LL, where, d, &n);

	if (rc == 1)
		*out = n;
	return rc;
}

static bool is_number_text(const char *s)
{
	long long n;
	char *end;

	if (fb_point_int_text(s, &n))
		return true;
	(void)strtod(s, &end);
	return end != s && !*end;
}

static void parse_presets(const char *file, const cJSON *b, const char *where,
			  struct fb_diag *d, struct fb_point_ext *x)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(b, "presets"), *it;
	size_t n = 0;

	if (!o || cJSON_IsNull(o))
		return;
	if (!cJSON_IsObject(o) || !cJSON_GetArraySize(o)) {
		fb_diag_error(d, "%s.presets: expected an object of raw value to preset name "
			      "({\"4\": \"boost\"})", where);
		return;
	}
	x->presets = calloc((size_t)cJSON_GetArraySize(o), sizeof(*x->presets));
	if (!x->presets) {
		fb_diag_error(d, "%s: out of memory", file);
		return;
	}
	cJSON_ArrayForEach(it, o) {
		long long raw;
		const char *l = cJSON_GetStringValue(it);
		bool ok = fb_point_int_text(it->string, &raw);

		if (!ok)
			fb_diag_error(d, "%s.presets.\"%s\": expected an integer raw value as "
				      "the key", where, it->string);
		/* One command topic takes ON/OFF, speed steps and presets. */
		if (!l || !l[0] || !strcasecmp(l, "ON") || !strcasecmp(l, "OFF") ||
		    !strcasecmp(l, "none") || is_number_text(l)) {
			fb_diag_error(d, "%s.presets.\"%s\": expected a preset name other than "
				      "ON, OFF, none or a number", where, it->string);
			ok = false;
		}
		for (size_t i = 0; ok && i < n; i++)
			if (x->presets[i].raw == raw || !strcmp(x->presets[i].label, l)) {
				fb_diag_error(d, "%s.presets.\"%s\": raw value or name appears twice",
					      where, it->string);
				ok = false;
			}
		if (!ok)
			continue;
		x->presets[n].raw = raw;
		if ((x->presets[n].label = fb_point_dup(file, l, d)))
			n++;
	}
	x->npresets = n;
}

static void parse_fan(const char *file, const cJSON *b, const char *where,
		      struct fb_diag *d, struct fb_point_ext *x)
{
	bool on;

	x->speed_min = 1;
	block_int(b, "off_value", false, where, d, &x->fan_off);
	block_int(b, "speed_min", false, where, d, &x->speed_min);
	block_int(b, "speed_max", true, where, d, &x->speed_max);
	on = block_int(b, "on_value", false, where, d, &x->fan_on) == 1;
	if (!on)
		x->fan_on = x->speed_min; /* the lowest step: a safe way to start */
	parse_presets(file, b, where, d, x);
	if (x->speed_min < 1 || x->speed_max < x->speed_min)
		fb_diag_error(d, "%s.speed_max: expected speed_min (>= 1) <= speed_max, got "
			      "%lld..%lld", where, (long long)x->speed_min,
			      (long long)x->speed_max);
	if (x->fan_off >= x->speed_min && x->fan_off <= x->speed_max)
		fb_diag_error(d, "%s.off_value: expected a value outside the speed steps "
			      "%lld..%lld, got %lld", where, (long long)x->speed_min,
			      (long long)x->speed_max, (long long)x->fan_off);
	if (x->fan_on == x->fan_off)
		fb_diag_error(d, "%s.on_value: expected a value other than off_value", where);
	for (size_t i = 0; i < x->npresets; i++)
		if (x->presets[i].raw == x->fan_off ||
		    (x->presets[i].raw >= x->speed_min && x->presets[i].raw <= x->speed_max))
			fb_diag_error(d, "%s.presets.\"%lld\": expected a value that is neither "
				      "off_value nor a speed step (the state would be ambiguous)",
				      where, (long long)x->presets[i].raw);
}

/* A travel time in seconds: 0.1 .. 600 (ten minutes: a gate). */
static bool travel_ms(const cJSON *b, const char *key, const char *where, struct fb_diag *d,
		      uint32_t *ms)
{
	double sec;

	if (fb_json_number(b, key, false, where, d, &sec) != 1)
		return false;
	if (!(sec >= 0.1 && sec <= 600)) {
		fb_diag_error(d, "%s.%s: expected 0.1..600 seconds, got %g", where, key, sec);
		return false;
	}
	*ms = (uint32_t)(sec * 1000 + 0.5);
	return true;
}

static void parse_relay_cover(const char *file, const cJSON *b, const char *where,
			      struct fb_diag *d, struct fb_point_ext *x)
{
	static const char *const register_only[] = {
		"position_open", "position_closed", "stop_value", NULL,
	};
	const char *s;
	long long n;
	bool run, open, close;

	for (size_t i = 0; register_only[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(b, register_only[i]))
			fb_diag_error(d, "%s.%s: only applies to a position register (a cover "
				      "on relays has positions 0..100)", where, register_only[i]);
	if (fb_json_string(b, "open", true, where, d, &s) == 1)
		x->relay_open = fb_point_dup(file, s, d);
	if (fb_json_string(b, "close", true, where, d, &s) == 1)
		x->relay_close = fb_point_dup(file, s, d);
	run = travel_ms(b, "run_time_s", where, d, &x->open_ms);
	open = travel_ms(b, "open_time_s", where, d, &x->open_ms);
	close = travel_ms(b, "close_time_s", where, d, &x->close_ms);
	if (run && (open || close))
		fb_diag_error(d, "%s.run_time_s: expected either run_time_s or open_time_s "
			      "and close_time_s, not both", where);
	else if (run)
		x->close_ms = x->open_ms;
	else if (open != close)
		fb_diag_error(d, "%s.%s: required with %s (or one run_time_s for both)",
			      where, open ? "close_time_s" : "open_time_s",
			      open ? "open_time_s" : "close_time_s");
	else if (!open && !cJSON_GetObjectItemCaseSensitive(b, "run_time_s") &&
		 !cJSON_GetObjectItemCaseSensitive(b, "open_time_s") &&
		 !cJSON_GetObjectItemCaseSensitive(b, "close_time_s"))
		fb_diag_error(d, "%s.run_time_s: required for a cover on relays (seconds "
			      "from one end to the other; or open_time_s and close_time_s)",
			      where);
	x->reverse_pause_ms = 500; /* a motor must stop before it turns */
	if (fb_json_int(b, "reverse_pause_ms", false, 0, 10000, where, d, &n) == 1)
		x->reverse_pause_ms = (uint32_t)n;
	x->position_open = 100;
	x->position_closed = 0;
}

static void parse_cover(const char *file, const cJSON *b, const char *where,
			struct fb_diag *d, struct fb_point_ext *x)
{
	static const char *const relay_only[] = {
		"run_time_s", "open_time_s", "close_time_s", "reverse_pause_ms", NULL,
	};

	if (cJSON_GetObjectItemCaseSensitive(b, "open") ||
	    cJSON_GetObjectItemCaseSensitive(b, "close")) {
		parse_relay_cover(file, b, where, d, x);
		return;
	}
	for (size_t i = 0; relay_only[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(b, relay_only[i]))
			fb_diag_error(d, "%s.%s: only applies to a cover on relays (with "
				      "\"open\" and \"close\" naming its relay points)", where,
				      relay_only[i]);
	block_int(b, "position_open", false, where, d, &x->position_open);
	block_int(b, "position_closed", false, where, d, &x->position_closed);
	if (x->position_open == x->position_closed)
		fb_diag_error(d, "%s.position_open: expected a value other than "
			      "position_closed, got %lld for both", where,
			      (long long)x->position_open);
	if (block_int(b, "stop_value", false, where, d, &x->stop_value) != 1)
		return;
	x->has_stop = true;
	/* A stop inside the positions would move the cover there. */
	if ((x->stop_value >= x->position_closed && x->stop_value <= x->position_open) ||
	    (x->stop_value >= x->position_open && x->stop_value <= x->position_closed))
		fb_diag_error(d, "%s.stop_value: expected a value outside position_closed.."
			      "position_open (%lld..%lld), got %lld", where,
			      (long long)x->position_closed, (long long)x->position_open,
			      (long long)x->stop_value);
}

static void parse_climate(const char *file, const cJSON *b, const char *where,
			  const struct fb_point_def *p, struct fb_diag *d,
			  struct fb_point_ext *x)
{
	const char *s;
	int e;

	if (fb_json_string(b, "current_temperature", false, where, d, &s) == 1)
		x->current_temperature = fb_point_dup(file, s, d);
	if (fb_json_string(b, "mode", false, where, d, &s) == 1)
		x->mode = fb_point_dup(file, s, d);
	if (fb_json_enum(b, "fixed_mode", false, fb_climate_mode_names, where, d, &e) == 1)
		x->fixed_mode = fb_point_dup(file, fb_climate_mode_names[e], d);
	if (x->mode && x->fixed_mode)
		fb_diag_error(d, "%s.fixed_mode: only without a mode point (mode \"%s\")",
			      where, x->mode);
	if (!x->mode && !x->fixed_mode)
		x->fixed_mode = fb_point_dup(file, "heat", d);
	/* Home Assistant's precisions; default: what the step can show. */
	x->temp_precision = p->step >= 1 ? 1.0 : p->step >= 0.5 ? 0.5 : 0.1;
	if (fb_json_number(b, "precision", false, where, d, &x->temp_precision) == 1 &&
	    x->temp_precision != 0.1 && x->temp_precision != 0.5 && x->temp_precision != 1.0)
		fb_diag_error(d, "%s.precision: expected 0.1, 0.5 or 1 (Home Assistant's "
			      "climate precisions), got %g", where, x->temp_precision);
}

static void parse_text(const char *file, const cJSON *b, const char *where,
		       const struct fb_point_def *p, struct fb_diag *d, struct fb_point_ext *x)
{
	const char *s;
	long long n;
	int e;

	if (fb_json_string(b, "pattern", false, where, d, &s) == 1) {
		regex_t re;
		int rc = regcomp(&re, s, REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char msg[128];

			regerror(rc, &re, msg, sizeof(msg));
			fb_diag_error(d, "%s.pattern: expected a POSIX extended regular "
				      "expression, got \"%s\" (%s)", where, s, msg);
		} else {
			x->pattern = fb_point_dup(file, s, d);
			regfree(&re);
		}
	}
	if (fb_json_int(b, "min_length", false, 0, 255, where, d, &n) == 1)
		x->min_length = (uint16_t)n;
	if (x->min_length > 2u * p->length)
		fb_diag_error(d, "%s.min_length: expected at most %u (the %u registers hold "
			      "%u characters), got %u", where, 2u * p->length, p->length,
			      2u * p->length, x->min_length);
	if (fb_json_enum(b, "mode", false, text_modes, where, d, &e) == 1)
		x->password = e == 1;
}

void fb_model_components_parse(const char *file, const cJSON *jp, const char *where,
			       struct fb_point_def *p, struct fb_diag *d)
{
	struct fb_point_ext *x = &p->ext;

	x->position_open = 100;
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(jp, blocks[i].block);
		char *w;

		if (!b || cJSON_IsNull(b))
			continue;
		if (p->component != blocks[i].c) {
			fb_diag_error(d, "%s.%s: only applies to component %s", where,
				      blocks[i].block, blocks[i].block);
			continue;
		}
		if (!cJSON_IsObject(b)) {
			fb_diag_error(d, "%s.%s: expected an object", where, blocks[i].block);
			continue;
		}
		if (asprintf(&w, "%s.%s", where, blocks[i].block) < 0) {
			fb_diag_error(d, "%s: out of memory", file);
			return;
		}
		fb_json_unknown_keys(b, blocks[i].keys, w, d);
		switch (blocks[i].c) {
		case FB_COMP_LIGHT:
			if (block_int(b, "brightness_scale", true, w, d, &x->brightness_scale) == 1 &&
			    (x->brightness_scale < 1 || x->brightness_scale > 65535))
				fb_diag_error(d, "%s.brightness_scale: expected 1..65535, got %lld",
					      w, (long long)x->brightness_scale);
			break;
		case FB_COMP_COVER:
			parse_cover(file, b, w, d, x);
			break;
		case FB_COMP_FAN:
			parse_fan(file, b, w, d, x);
			break;
		case FB_COMP_CLIMATE:
			parse_climate(file, b, w, p, d, x);
			break;
		case FB_COMP_TEXT:
			parse_text(file, b, w, p, d, x);
			break;
		default:
			break;
		}
		free(w);
	}
	if (p->component == FB_COMP_FAN && !cJSON_GetObjectItemCaseSensitive(jp, "fan"))
		fb_diag_error(d, "%s.fan: required for component fan (at least "
			      "{\"speed_max\": N})", where);
	if (p->component == FB_COMP_CLIMATE && !x->fixed_mode && !x->mode)
		x->fixed_mode = fb_point_dup(file, "heat", d);
}

/* Value range of p's register after scale/offset. */
static bool value_range(const struct fb_point_def *p, double *lo, double *hi)
{
	int64_t rlo;
	uint64_t rhi;

	if (!fb_point_int_range(p->type, &rlo, &rhi))
		return false;
	double a = (double)rlo * p->scale + p->offset;
	double b = fb_point_max_double(rhi) * p->scale + p->offset;

	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
	return true;
}

static void check_in_type(const char *where, const struct fb_point_def *p, const char *field,
			  int64_t v, struct fb_diag *d)
{
	double lo, hi;

	if (value_range(p, &lo, &hi) && ((double)v < lo || (double)v > hi))
		fb_diag_error(d, "%s.%s: expected %g..%g (what %s can hold), got %lld", where,
			      field, lo, hi, fb_data_type_name(p->type), (long long)v);
}

void fb_model_components_rules(const char *where, const struct fb_point_def *p,
			       bool bit_table, struct fb_diag *d)
{
	const struct fb_point_ext *x = &p->ext;
	bool reg_int = !bit_table && fb_model_type_is_int(p->type);
	bool numeric = !bit_table && fb_model_type_is_numeric(p->type);
	switch (p->component) {
	case FB_COMP_LIGHT:
		if (!x->brightness_scale)
			return; /* on/off: the switch's rules (definition_modbus.c) */
		if (!reg_int || !fb_model_identity(p) || p->has_switch_raw)
			fb_diag_error(d, "%s.light: a dimmer needs an unscaled integer "
				      "register without on_value/off_value, got %s", where,
				      bit_table ? fb_reg_table_name(p->table)
						: fb_data_type_name(p->type));
		else
			check_in_type(where, p, "light.brightness_scale", x->brightness_scale, d);
		break;
	case FB_COMP_COVER:
		if (!numeric)
			fb_diag_error(d, "%s.component: expected a numeric type for cover (a "
				      "position register), got %s", where,
				      bit_table ? fb_reg_table_name(p->table)
						: fb_data_type_name(p->type));
		else {
			check_in_type(where, p, "cover.position_open", x->position_open, d);
			check_in_type(where, p, "cover.position_closed", x->position_closed, d);
			if (x->has_stop)
				check_in_type(where, p, "cover.stop_value", x->stop_value, d);
		}
		break;
	case FB_COMP_FAN:
		if (!reg_int || !fb_model_identity(p))
			fb_diag_error(d, "%s.component: expected an unscaled integer type for "
				      "fan (a speed-step register), got %s", where,
				      bit_table ? fb_reg_table_name(p->table)
						: fb_data_type_name(p->type));
		else {
			check_in_type(where, p, "fan.speed_max", x->speed_max, d);
			check_in_type(where, p, "fan.off_value", x->fan_off, d);
		}
		break;
	case FB_COMP_CLIMATE:
		if (!numeric)
			fb_diag_error(d, "%s.component: expected a numeric type for climate (the "
				      "setpoint register), got %s", where,
				      bit_table ? fb_reg_table_name(p->table)
						: fb_data_type_name(p->type));
		if (!p->has_min || !p->has_max)
			fb_diag_error(d, "%s.%s: required for component climate (Home "
				      "Assistant's min_temp/max_temp)", where,
				      p->has_min ? "max" : "min");
		break;
	case FB_COMP_TEXT:
		if (bit_table || p->type != FB_TYPE_STRING)
			fb_diag_error(d, "%s.component: expected type string for text, got %s",
				      where, bit_table ? fb_reg_table_name(p->table)
						       : fb_data_type_name(p->type));
		break;
	default:
		break;
	}
}

/* A climate's references: points of the same definition, of the right
 * kind. */
static void check_climate(const char *file, size_t i, const struct fb_definition *def,
			  struct fb_diag *d)
{
	const struct fb_point_def *p = &def->points[i], *q;
	const struct fb_point_ext *x = &p->ext;

	if (x->current_temperature) {
		q = fb_model_point(def, x->current_temperature);
		if (!q)
			fb_diag_error(d, "%s: points[%zu] (%s).climate.current_temperature: no "
				      "point \"%s\" in this definition", file, i, p->key,
				      x->current_temperature);
		else if (q->component != FB_COMP_SENSOR || !q->unit || !p->unit ||
			 strcmp(q->unit, p->unit))
			fb_diag_error(d, "%s: points[%zu] (%s).climate.current_temperature: "
				      "expected a sensor in %s, \"%s\" is a %s in %s", file, i,
				      p->key, p->unit ? p->unit : "the setpoint's unit", q->key,
				      fb_component_name(q->component), q->unit ? q->unit : "no unit");
	}
	if (!x->mode)
		return;
	q = fb_model_point(def, x->mode);
	if (!q) {
		fb_diag_error(d, "%s: points[%zu] (%s).climate.mode: no point \"%s\" in this "
			      "definition", file, i, p->key, x->mode);
		return;
	}
	if (q->component != FB_COMP_SELECT) {
		fb_diag_error(d, "%s: points[%zu] (%s).climate.mode: expected a select point, "
			      "\"%s\" is a %s", file, i, p->key, q->key,
			      fb_component_name(q->component));
		return;
	}
	for (size_t k = 0; k < q->noptions; k++) {
		bool ok = false;

		for (size_t m = 0; fb_climate_mode_names[m]; m++)
			ok |= !strcmp(q->options[k].label, fb_climate_mode_names[m]);
		if (!ok)
			fb_diag_error(d, "%s: points[%zu] (%s).climate.mode: option \"%s\" of "
				      "\"%s\" is not a Home Assistant HVAC mode (off, heat, cool, "
				      "heat_cool, auto, dry, fan_only)", file, i, p->key,
				      q->options[k].label, q->key);
	}
}

/* A relay a cover switches: a coil or a holding register bit of the same
 * definition, read-only to everyone else (a command to it could switch
 * both relays on), and no other cover's. */
static void check_relay(const char *file, size_t i, const struct fb_definition *def,
			const char *field, const char *key, struct fb_diag *d)
{
	const struct fb_point_def *p = &def->points[i], *q = fb_model_point(def, key);

	if (!q) {
		fb_diag_error(d, "%s: points[%zu] (%s).cover.%s: no point \"%s\" in this "
			      "definition", file, i, p->key, field, key);
		return;
	}
	if (q == p || q->ext.relay_open) {
		fb_diag_error(d, "%s: points[%zu] (%s).cover.%s: expected a relay point, "
			      "\"%s\" is a cover", file, i, p->key, field, key);
		return;
	}
	if (!(q->table == FB_REG_COIL ||
	      (q->table == FB_REG_HOLDING && q->type == FB_TYPE_BIT)))
		fb_diag_error(d, "%s: points[%zu] (%s).cover.%s: expected a coil or a bit of a "
			      "holding register, \"%s\" is %s %s", file, i, p->key, field, key,
			      fb_reg_table_name(q->table), fb_data_type_name(q->type));
	if (q->writable)
		fb_diag_error(d, "%s: points[%zu] (%s).cover.%s: expected \"%s\" without "
			      "\"writable\": only the cover switches it, so that both relays "
			      "are never on (make it a binary_sensor)", file, i, p->key, field,
			      key);
	for (size_t k = 0; k < i; k++) {
		const struct fb_point_ext *o = &def->points[k].ext;

		if (o->relay_open && ((o->relay_open && !strcmp(o->relay_open, key)) ||
				      (o->relay_close && !strcmp(o->relay_close, key))))
			fb_diag_error(d, "%s: points[%zu] (%s).cover.%s: \"%s\" is already a "
				      "relay of cover \"%s\"", file, i, p->key, field, key,
				      def->points[k].key);
	}
}

void fb_model_components_check(const char *file, const struct fb_definition *def,
			       struct fb_diag *d)
{
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_ext *x = &def->points[i].ext;

		if (def->points[i].component == FB_COMP_CLIMATE)
			check_climate(file, i, def, d);
		if (def->points[i].component != FB_COMP_COVER || !x->relay_open ||
		    !x->relay_close)
			continue;
		if (!strcmp(x->relay_open, x->relay_close)) {
			fb_diag_error(d, "%s: points[%zu] (%s).cover.close: expected another "
				      "point than open (\"%s\")", file, i, def->points[i].key,
				      x->relay_open);
			continue;
		}
		check_relay(file, i, def, "open", x->relay_open, d);
		check_relay(file, i, def, "close", x->relay_close, d);
	}
}
