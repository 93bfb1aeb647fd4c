/* SPDX-License-Identifier: Apache-2.0 */
/* Points of protocol "gpio" definitions (docs/device-definitions.md, "GPIO
 * definitions").  A gpio point has a role instead of a register: the role
 * fixes the Home Assistant component and the table value kind, and decides
 * which of the electrical fields apply.  Like the Modbus loader, every
 * problem is reported with file, point and field, and loading goes on. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Contacts and push buttons settle within ~5-20 ms; S0 pulses last at least
 * 30 ms (EN 62053-31 / DIN 43864), so 10 ms filters bounce without eating
 * pulses at the fastest rate a meter may send (one per 60 ms). */
#define DEBOUNCE_INPUT_MS 20
#define DEBOUNCE_COUNTER_MS 10
#define DEBOUNCE_MAX_MS 10000
#define PULSE_DEFAULT_MS 500
#define PULSE_MAX_MS 60000
#define DOUBLE_DEFAULT_MS 400
#define LONG_DEFAULT_MS 800
#define RATE_TIMEOUT_DEFAULT_S 600

/* Names and labels reach Home Assistant and the logs: no control bytes. */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static const char *const role_names[] = {
	"none", "input", "output", "pulse_output", "counter", "rate", "event", "cover", NULL,
};
static const char *const bias_names[] = {
	"as_is", "disabled", "pull_up", "pull_down", NULL,
};
static const char *const exit_names[] = { "keep", "off", "on", NULL };
/* Home Assistant's event device classes (homeassistant/components/event). */
static const char *const event_classes[] = { "button", "doorbell", "motion", NULL };

/* Which roles a field applies to (bit = 1 << role). */
#define R(role) (1u << (role))
#define R_LINE (R(FB_GPIO_INPUT) | R(FB_GPIO_OUTPUT) | R(FB_GPIO_PULSE_OUTPUT) | \
		R(FB_GPIO_COUNTER))
#define R_IN (R(FB_GPIO_INPUT) | R(FB_GPIO_COUNTER))
#define R_OUT (R(FB_GPIO_OUTPUT) | R(FB_GPIO_PULSE_OUTPUT))
#define R_ALL 0xFFu

static const struct {
	const char *key;
	unsigned roles;
} fields[] = {
	{ "key", R_ALL }, { "name", R_ALL }, { "role", R_ALL },
	{ "device_class", R_ALL }, { "icon", R_ALL }, { "entity_category", R_ALL },
	{ "line", R_LINE }, { "active_low", R_LINE }, { "bias", R_LINE },
	{ "debounce_ms", R_IN },
	{ "initial", R(FB_GPIO_OUTPUT) }, { "restore", R(FB_GPIO_OUTPUT) },
	{ "on_exit", R(FB_GPIO_OUTPUT) },
	{ "pulse_ms", R(FB_GPIO_PULSE_OUTPUT) },
	{ "impulses_per_unit", R(FB_GPIO_COUNTER) },
	{ "unit", R(FB_GPIO_COUNTER) | R(FB_GPIO_RATE) },
	{ "state_class", R(FB_GPIO_COUNTER) | R(FB_GPIO_RATE) },
	{ "precision", R(FB_GPIO_COUNTER) | R(FB_GPIO_RATE) },
	{ "source", R(FB_GPIO_RATE) | R(FB_GPIO_EVENT) },
	{ "rate_scale", R(FB_GPIO_RATE) }, { "rate_period_s", R(FB_GPIO_RATE) },
	{ "rate_timeout_s", R(FB_GPIO_RATE) },
	{ "double_ms", R(FB_GPIO_EVENT) }, { "long_ms", R(FB_GPIO_EVENT) },
	{ "cover", R(FB_GPIO_COVER) },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

const char *fb_gpio_role_name(enum fb_gpio_role r)
{
	return (unsigned)r < sizeof(role_names) / sizeof(role_names[0]) - 1 ? role_names[r] : "?";
}

const char *fb_gpio_bias_name(enum fb_gpio_bias b)
{
	return (unsigned)b < sizeof(bias_names) / sizeof(bias_names[0]) - 1 ? bias_names[b] : "?";
}

bool fb_gpio_role_has_line(enum fb_gpio_role r)
{
	return (R_LINE & R(r)) != 0;
}

static void read_u32(const cJSON *jp, const char *key, long long min, long long max,
		     const char *where, struct fb_diag *d, uint32_t *out)
{
	long long n;

	if (fb_json_int(jp, key, false, min, max, where, d, &n) == 1)
		*out = (uint32_t)n;
}

/* "line": a line name (string) or an offset (integer). */
static void read_line(const char *file, const cJSON *jp, const char *where,
		      struct fb_point_def *p, struct fb_diag *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(jp, "line");

	if (!v || cJSON_IsNull(v))
		return;
	if (cJSON_IsString(v) && v->valuestring[0])
		p->gpio.line = fb_point_dup(file, v->valuestring, d);
	else if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 65535 &&
		 v->valuedouble == floor(v->valuedouble))
		p->gpio.line_offset = (int)v->valuedouble;
	else
		fb_diag_error(d, "%s.line: expected a line name (\"GPIO26\") or an offset "
			      "0..65535", where);
}

/* Component, table and type follow from the role, so the generic code
 * (value kinds, the exporter's command parsing) treats gpio points like
 * Modbus points of the same shape. */
static void apply_role(struct fb_point_def *p)
{
	p->type = FB_TYPE_BOOL;
	switch (p->gpio.role) {
	case FB_GPIO_INPUT:
		p->table = FB_REG_DISCRETE_INPUT;
		p->component = FB_COMP_BINARY_SENSOR;
		p->gpio.debounce_ms = DEBOUNCE_INPUT_MS;
		break;
	case FB_GPIO_OUTPUT:
		p->table = FB_REG_COIL;
		p->component = FB_COMP_SWITCH;
		p->writable = true;
		p->write_fn = FB_WRITE_FC05;
		p->gpio.restore = true;
		break;
	case FB_GPIO_PULSE_OUTPUT:
		p->table = FB_REG_COIL;
		p->component = FB_COMP_BUTTON;
		p->writable = true;
		p->write_fn = FB_WRITE_FC05;
		p->gpio.pulse_ms = PULSE_DEFAULT_MS;
		break;
	case FB_GPIO_COUNTER:
	case FB_GPIO_RATE:
		p->table = FB_REG_INPUT;
		p->type = FB_TYPE_FLOAT64;
		p->component = FB_COMP_SENSOR;
		p->gpio.debounce_ms = DEBOUNCE_COUNTER_MS;
		p->gpio.rate_period_s = 3600;
		p->gpio.rate_scale = 1.0;
		p->gpio.rate_timeout_s = RATE_TIMEOUT_DEFAULT_S;
		break;
	case FB_GPIO_COVER:
		/* The estimated position, like a Modbus relay cover's. */
		p->table = FB_REG_HOLDING;
		p->type = FB_TYPE_FLOAT32;
		p->component = FB_COMP_COVER;
		p->writable = true;
		break;
	case FB_GPIO_EVENT:
		p->table = FB_REG_INPUT;
		p->type = FB_TYPE_STRING;
		p->length = (FB_TABLE_STRING_MAX - 1) / 2;
		p->component = FB_COMP_EVENT;
		p->gpio.double_ms = DOUBLE_DEFAULT_MS;
		p->gpio.long_ms = LONG_DEFAULT_MS;
		break;
	default:
		break;
	}
}

void fb_model_gpio_parse_point(const char *file, const cJSON *jp, size_t idx,
			       struct fb_point_def *p, struct fb_diag *d)
{
	char where[512];
	const char *s = NULL;
	const cJSON *it;
	long long n;
	int e;

	p->scale = 1.0;
	p->precision = -1;
	p->step = 1.0;
	p->coil_on_raw = 1;
	p->press_raw = 1;
	p->gpio.line_offset = -1;
	snprintf(where, sizeof(where), "%s: points[%zu]", file, idx);
	if (!cJSON_IsObject(jp)) {
		fb_diag_error(d, "%s: expected an object", where);
		return;
	}
	s = fb_point_read_key(file, jp, where, d, &p->key);
	if (s)
		snprintf(where, sizeof(where), "%s: points[%zu] (%.40s)", file, idx, s);
	if (fb_json_string(jp, "name", true, where, d, &s) == 1) {
		if (!s[0])
			fb_diag_error(d, "%s.name: expected a non-empty string", where);
		else if (has_control(s))
			fb_diag_error(d, "%s.name: expected text without control characters",
				      where);
		p->name = fb_point_dup(file, s, d);
	}
	if (fb_json_enum(jp, "role", true, role_names + 1, where, d, &e) == 1)
		p->gpio.role = (enum fb_gpio_role)(e + 1);
	apply_role(p);

	/* Fields that do not apply to the role, and unknown ones. */
	cJSON_ArrayForEach(it, jp) {
		size_t i;

		for (i = 0; i < NFIELDS; i++)
			if (!strcmp(fields[i].key, it->string))
				break;
		if (i == NFIELDS)
			fb_diag_error(d, "%s.%s: unknown field for a gpio point", where, it->string);
		else if (p->gpio.role && !(fields[i].roles & R(p->gpio.role)))
			fb_diag_error(d, "%s.%s: does not apply to role %s", where, it->string,
				      fb_gpio_role_name(p->gpio.role));
	}

	read_line(file, jp, where, p, d);
	fb_json_bool(jp, "active_low", false, where, d, &p->gpio.active_low);
	if (fb_json_enum(jp, "bias", false, bias_names, where, d, &e) == 1)
		p->gpio.bias = (enum fb_gpio_bias)e;
	read_u32(jp, "debounce_ms", 0, DEBOUNCE_MAX_MS, where, d, &p->gpio.debounce_ms);
	fb_json_bool(jp, "initial", false, where, d, &p->gpio.initial);
	fb_json_bool(jp, "restore", false, where, d, &p->gpio.restore);
	if (fb_json_enum(jp, "on_exit", false, exit_names, where, d, &e) == 1)
		p->gpio.on_exit = (enum fb_gpio_exit)e;
	read_u32(jp, "pulse_ms", 1, PULSE_MAX_MS, where, d, &p->gpio.pulse_ms);
	if (fb_json_number(jp, "impulses_per_unit", p->gpio.role == FB_GPIO_COUNTER, where, d,
			   &p->gpio.impulses_per_unit) == 1 &&
	    !(p->gpio.impulses_per_unit > 0 && isfinite(p->gpio.impulses_per_unit)))
		fb_diag_error(d, "%s.impulses_per_unit: expected a number > 0 (e.g. 1000 "
			      "for 1000 imp/kWh), got %g", where, p->gpio.impulses_per_unit);
	if (fb_json_string(jp, "source", p->gpio.role == FB_GPIO_RATE ||
			   p->gpio.role == FB_GPIO_EVENT, where, d, &s) == 1)
		p->gpio.source = fb_point_dup(file, s, d);
	if (fb_json_number(jp, "rate_scale", false, where, d, &p->gpio.rate_scale) == 1 &&
	    !(p->gpio.rate_scale > 0 && isfinite(p->gpio.rate_scale)))
		fb_diag_error(d, "%s.rate_scale: expected a number > 0, got %g", where,
			      p->gpio.rate_scale);
	read_u32(jp, "rate_period_s", 1, 86400, where, d, &p->gpio.rate_period_s);
	read_u32(jp, "rate_timeout_s", 1, 86400, where, d, &p->gpio.rate_timeout_s);
	read_u32(jp, "double_ms", 0, 5000, where, d, &p->gpio.double_ms);
	read_u32(jp, "long_ms", 50, 60000, where, d, &p->gpio.long_ms);
	if (p->gpio.role == FB_GPIO_COVER) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(jp, "cover");

		/* Only the relay kind: a gpio point has no position register. */
		if (!cJSON_IsObject(b) || (!cJSON_GetObjectItemCaseSensitive(b, "open") &&
					   !cJSON_GetObjectItemCaseSensitive(b, "close")))
			fb_diag_error(d, "%s.cover: required for role cover: {\"open\": OUTPUT, "
				      "\"close\": OUTPUT, \"run_time_s\": N}", where);
		else
			fb_model_components_parse(file, jp, where, p, d);
	}

	if (fb_json_string(jp, "unit", false, where, d, &s) == 1 && s[0])
		p->unit = fb_point_dup(file, s, d);
	if (fb_json_string(jp, "device_class", false, where, d, &s) == 1)
		p->device_class = fb_point_dup(file, s, d);
	/* Counts and rates are never angles: no measurement_angle. */
	if (fb_point_read_state_class(file, jp, false, where, d, &p->state_class) != 1) {
		if (p->gpio.role == FB_GPIO_COUNTER)
			p->state_class = fb_point_dup(file, "total_increasing", d);
		else if (p->gpio.role == FB_GPIO_RATE)
			p->state_class = fb_point_dup(file, "measurement", d);
	}
	fb_point_read_category(file, jp, where, d, &p->entity_category);
	if (fb_json_string(jp, "icon", false, where, d, &s) == 1)
		p->icon = fb_point_dup(file, s, d);
	if (fb_json_int(jp, "precision", false, 0, 15, where, d, &n) == 1)
		p->precision = (int)n;

	if (!p->gpio.role)
		return;
	if (p->component == FB_COMP_EVENT) {
		bool ok = !p->device_class;

		for (size_t i = 0; !ok && event_classes[i]; i++)
			ok = !strcmp(event_classes[i], p->device_class);
		if (!ok)
			fb_diag_error(d, "%s.device_class: expected an event device class "
				      "(button, doorbell, motion), got \"%s\"", where,
				      p->device_class);
		if (p->gpio.double_ms >= p->gpio.long_ms)
			fb_diag_error(d, "%s.double_ms: expected less than long_ms (%u), got %u",
				      where, p->gpio.long_ms, p->gpio.double_ms);
	} else {
		fb_model_check_ha(where, p, d);
	}
}

/* A cover's relays are outputs that only it switches: never commanded
 * on their own, off at start whatever was saved, off at exit. */
static void own_relay(struct fb_definition *def, size_t i, const char *field,
		      const char *key, struct fb_diag *d)
{
	struct fb_point_def *q = NULL;

	for (size_t k = 0; key && k < def->npoints; k++)
		if (def->points[k].key && !strcmp(def->points[k].key, key))
			q = &def->points[k];
	if (!q)
		return; /* fb_model_components_check names it */
	if (q->gpio.role != FB_GPIO_OUTPUT) {
		fb_diag_error(d, "%s: points[%zu] (%s).cover.%s: expected an output point, "
			      "\"%s\" has role %s", def->path, i, def->points[i].key, field,
			      key, fb_gpio_role_name(q->gpio.role));
		return;
	}
	q->writable = false;
	q->write_fn = FB_WRITE_NONE;
	q->component = FB_COMP_BINARY_SENSOR;
	q->gpio.initial = false;
	q->gpio.restore = false;
	q->gpio.on_exit = FB_GPIO_EXIT_OFF;
}

void fb_model_gpio_check(struct fb_definition *def, struct fb_diag *d)
{
	for (size_t i = 0; i < def->npoints; i++)
		if (def->points[i].gpio.role == FB_GPIO_COVER) {
			own_relay(def, i, "open", def->points[i].ext.relay_open, d);
			own_relay(def, i, "close", def->points[i].ext.relay_close, d);
		}
	fb_model_components_check(def->path, def, d);
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];
		const struct fb_point_def *src;
		enum fb_gpio_role want;

		if (!p->gpio.source)
			continue;
		want = p->gpio.role == FB_GPIO_RATE ? FB_GPIO_COUNTER : FB_GPIO_INPUT;
		src = fb_model_point(def, p->gpio.source);
		if (!src || src->gpio.role != want)
			fb_diag_error(d, "%s: points[%zu] (%s).source: expected the key of a %s "
				      "point of this definition, got \"%s\"%s", def->path, i,
				      p->key ? p->key : "?", fb_gpio_role_name(want),
				      p->gpio.source, src ? " (wrong role)" : " (no such point)");
	}
}
