/* SPDX-License-Identifier: Apache-2.0 */
/* (GPIO) Buses with "transport": "gpio": the chip they use, how often
 * counter state is written, and each device's "lines" binding
 * (docs/configuration.md, "GPIO buses"). */
#include "config_gpio.h"
#include "jsonfile.h"

#include <fcntl.h>
#include <linux/gpio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PERSIST_DEFAULT_S 60

static const char *const bias_names[] = { "as_is", "disabled", "pull_up", "pull_down", NULL };
static const char *const exit_names[] = { "keep", "off", "on", NULL };
static const char *const line_keys[] = {
	"line", "active_low", "bias", "debounce_ms", "initial", "on_exit", "pulse_ms",
	"impulses_per_unit", NULL,
};

/* "gpiochip0" or "/dev/gpiochip0" is the kernel's name of a chip, which
 * changes with the board and the probe order (gpiochip4 on a Pi 5, 0 on a
 * Pi 4); the driver finds chips by label.  Such a value is an error that
 * says the label when the chip is there to ask. */
static void check_chip_label(struct cfg_ctx *ctx, const char *s, const char *where)
{
	char path[64];
	const char *name = strncmp(s, "/dev/", 5) ? s : s + 5;
	struct gpiochip_info info;
	int fd;

	if (strncmp(name, "gpiochip", 8) || !name[8] ||
	    strspn(name + 8, "0123456789") != strlen(name + 8)) {
		if (s[0] == '/')
			fb_json_error(ctx->diag, where, "chip",
				      "%s.chip: expected a GPIO chip label (as gpiodetect shows "
				      "it in brackets, e.g. \"pinctrl-rp1\"), got the path \"%s\"",
				      where, s);
		return;
	}
	snprintf(path, sizeof(path), "/dev/%s", name);
	/* O_NONBLOCK: a chip never blocks, but the path is the user's. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	memset(&info, 0, sizeof(info));
	if (fd >= 0 && ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &info) == 0 && info.label[0]) {
		info.label[sizeof(info.label) - 1] = '\0';
		fb_json_error(ctx->diag, where, "chip",
			      "%s.chip: expected the chip's label, not its device name \"%s\" "
			      "(which can change between boots and boards): %s is labelled "
			      "\"%s\", write \"chip\": \"%s\"", where, s, path, info.label,
			      info.label);
	} else {
		fb_json_error(ctx->diag, where, "chip",
			      "%s.chip: expected the chip's label, not its device name \"%s\" "
			      "(which can change between boots and boards): run gpiodetect on "
			      "the gateway and use the name in brackets (e.g. \"pinctrl-rp1\")",
			      where, s);
	}
	if (fd >= 0)
		close(fd);
}

static void line_conf_init(struct fb_gpio_line_conf *l)
{
	memset(l, 0, sizeof(*l));
	l->offset = l->active_low = l->bias = l->debounce_ms = -1;
	l->initial = l->on_exit = l->pulse_ms = -1;
}

/* A line as a name (string) or an offset (integer). */
static bool read_line_ref(struct cfg_ctx *ctx, const cJSON *v, const char *where,
			  struct fb_gpio_line_conf *l)
{
	if (cJSON_IsString(v) && v->valuestring[0]) {
		l->line = cfg_strdup(ctx, v->valuestring);
		return true;
	}
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 65535 &&
	    v->valuedouble == floor(v->valuedouble)) {
		l->offset = (int)v->valuedouble;
		return true;
	}
	fb_json_error(ctx->diag, where, NULL,
		      "%s: expected a line name (\"GPIO26\") or a line offset "
		      "0..65535", where);
	return false;
}

static void read_opt_int(struct cfg_ctx *ctx, const cJSON *o, const char *key, long long min,
			 long long max, const char *where, int *out)
{
	long long v;

	if (fb_json_int(o, key, false, min, max, where, ctx->diag, &v) == 1)
		*out = (int)v;
}

static void parse_line(struct cfg_ctx *ctx, const cJSON *v, const char *where,
		       struct fb_gpio_line_conf *l)
{
	const cJSON *ref;
	bool b;
	int e;

	line_conf_init(l);
	l->point = cfg_strdup(ctx, v->string);
	if (!cJSON_IsObject(v)) {
		read_line_ref(ctx, v, where, l);
		return;
	}
	fb_json_unknown_keys(v, line_keys, where, ctx->diag);
	ref = cJSON_GetObjectItemCaseSensitive(v, "line");
	if (ref) {
		char lwhere[CFG_WHERE_MAX];

		snprintf(lwhere, sizeof(lwhere), "%.1000s.line", where);
		read_line_ref(ctx, ref, lwhere, l);
	}
	if (fb_json_bool(v, "active_low", false, where, ctx->diag, &b) == 1)
		l->active_low = b;
	if (fb_json_enum(v, "bias", false, bias_names, where, ctx->diag, &e) == 1)
		l->bias = e;
	read_opt_int(ctx, v, "debounce_ms", 0, 10000, where, &l->debounce_ms);
	if (fb_json_bool(v, "initial", false, where, ctx->diag, &b) == 1)
		l->initial = b;
	if (fb_json_enum(v, "on_exit", false, exit_names, where, ctx->diag, &e) == 1)
		l->on_exit = e;
	read_opt_int(ctx, v, "pulse_ms", 1, 60000, where, &l->pulse_ms);
	if (fb_json_number(v, "impulses_per_unit", false, where, ctx->diag,
			   &l->impulses_per_unit) == 1 &&
	    !(l->impulses_per_unit > 0 && isfinite(l->impulses_per_unit))) {
		fb_json_error(ctx->diag, where, "impulses_per_unit",
			      "%s.impulses_per_unit: expected a number > 0, got %g",
			      where, l->impulses_per_unit);
		l->impulses_per_unit = 0;
	}
}

static void parse_lines(struct cfg_ctx *ctx, struct fb_device_conf *d, const cJSON *obj,
			const char *where)
{
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(obj, "lines");
	const cJSON *it;
	size_t n = 0;

	if (!lines || cJSON_IsNull(lines))
		return;
	if (!cJSON_IsObject(lines)) {
		fb_json_error(ctx->diag, where, "lines",
			      "%s.lines: expected an object of point key to line "
			      "({\"relay1\": \"GPIO26\", \"in1\": 5})", where);
		return;
	}
	cJSON_ArrayForEach(it, lines)
		n++;
	d->gpio_lines = calloc(n ? n : 1, sizeof(*d->gpio_lines));
	if (!d->gpio_lines) {
		ctx->oom = true;
		return;
	}
	cJSON_ArrayForEach(it, lines) {
		char lwhere[CFG_WHERE_MAX];

		snprintf(lwhere, sizeof(lwhere), "%.900s.lines.%.100s", where, it->string);
		parse_line(ctx, it, lwhere, &d->gpio_lines[d->ngpio_lines++]);
	}
}

/* "lines" on a device of a bus that is not gpio. */
static void gpio_only_lines(struct cfg_ctx *ctx, const char *where, size_t i)
{
	char dwhere[CFG_WHERE_MAX];

	snprintf(dwhere, sizeof(dwhere), "%.990s.devices[%zu]", where, i);
	fb_json_error(ctx->diag, dwhere, "lines",
		      "%s.devices[%zu].lines: only applies to transport gpio", where, i);
}

void cfg_gpio_parse_bus(struct cfg_ctx *ctx, struct fb_bus_conf *b, const cJSON *obj,
			const char *where)
{
	const cJSON *devs = cJSON_GetObjectItemCaseSensitive(obj, "devices");
	const cJSON *it;
	const char *s = NULL;
	size_t i = 0;
	long long n;

	b->gpio_persist_interval_s = PERSIST_DEFAULT_S;
	if (!cJSON_IsObject(obj))
		return;
	if (b->transport != FB_BUS_GPIO) {
		static const char *const gpio_only[] = { "chip", "persist_interval_s", NULL };

		for (int k = 0; gpio_only[k]; k++)
			if (cJSON_GetObjectItemCaseSensitive(obj, gpio_only[k]))
				fb_json_error(ctx->diag, where, gpio_only[k],
					      "%s.%s: only applies to transport gpio",
					      where, gpio_only[k]);
		if (!cJSON_IsArray(devs))
			return;
		cJSON_ArrayForEach(it, devs)
			if (cJSON_GetObjectItemCaseSensitive(it, "lines"))
				gpio_only_lines(ctx, where, i++);
		return;
	}
	if (fb_json_string(obj, "chip", true, where, ctx->diag, &s) == 1) {
		if (!s[0])
			fb_json_error(ctx->diag, where, "chip",
				      "%s.chip: expected a GPIO chip label (as "
				      "gpiodetect shows it, e.g. \"pinctrl-rp1\"), got \"\"", where);
		else
			check_chip_label(ctx, s, where);
		b->gpio_chip = cfg_strdup(ctx, s);
	}
	if (fb_json_int(obj, "persist_interval_s", false, 1, 86400, where, ctx->diag, &n) == 1)
		b->gpio_persist_interval_s = (int)n;
	if (!cJSON_IsArray(devs))
		return;
	cJSON_ArrayForEach(it, devs) {
		char dwhere[CFG_WHERE_MAX];

		if (i >= b->ndevices)
			break;
		snprintf(dwhere, sizeof(dwhere), "%.990s.devices[%zu]", where, i);
		if (cJSON_IsObject(it))
			parse_lines(ctx, &b->devices[i], it, dwhere);
		i++;
	}
}

void cfg_gpio_free_bus(struct fb_bus_conf *b)
{
	for (size_t i = 0; i < b->ndevices; i++) {
		struct fb_device_conf *d = &b->devices[i];

		for (size_t j = 0; j < d->ngpio_lines; j++) {
			free(d->gpio_lines[j].point);
			free(d->gpio_lines[j].line);
		}
		free(d->gpio_lines);
		d->gpio_lines = NULL;
		d->ngpio_lines = 0;
	}
	free(b->gpio_chip);
	b->gpio_chip = NULL;
}

const struct fb_gpio_line_conf *fb_config_gpio_line(const struct fb_device_conf *d,
						    const char *point)
{
	for (size_t i = 0; i < d->ngpio_lines; i++)
		if (d->gpio_lines[i].point && !strcmp(d->gpio_lines[i].point, point))
			return &d->gpio_lines[i];
	return NULL;
}

void fb_config_gpio_effective(const struct fb_device_conf *d, const struct fb_point_def *p,
			      struct fb_gpio_point *out)
{
	const struct fb_gpio_line_conf *l = fb_config_gpio_line(d, p->key);

	*out = p->gpio;
	if (!l)
		return;
	if (l->line || l->offset >= 0) {
		out->line = l->line;
		out->line_offset = l->offset;
	}
	if (l->active_low >= 0)
		out->active_low = l->active_low;
	if (l->bias >= 0)
		out->bias = (enum fb_gpio_bias)l->bias;
	if (l->debounce_ms >= 0)
		out->debounce_ms = (uint32_t)l->debounce_ms;
	if (l->initial >= 0)
		out->initial = l->initial;
	if (l->on_exit >= 0)
		out->on_exit = (enum fb_gpio_exit)l->on_exit;
	if (l->pulse_ms >= 0)
		out->pulse_ms = (uint32_t)l->pulse_ms;
	if (l->impulses_per_unit > 0)
		out->impulses_per_unit = l->impulses_per_unit;
}

/* Same line if both are names and equal, or both offsets and equal; a name
 * and an offset can only be compared against the chip (the driver does). */
static bool same_line(const struct fb_gpio_point *a, const struct fb_gpio_point *b)
{
	if (a->line && b->line)
		return !strcmp(a->line, b->line);
	return !a->line && !b->line && a->line_offset >= 0 && a->line_offset == b->line_offset;
}

bool cfg_gpio_check_device(const struct fb_bus_conf *b, const struct fb_device_conf *d,
			   const struct fb_definition *def, struct fb_diag *diag)
{
	size_t before = diag->errors;
	char lpath[300];

	cfg_device_path(b, d, lpath, sizeof(lpath) - 6);
	strcat(lpath, ".lines");

	for (size_t i = 0; i < d->ngpio_lines; i++) {
		const struct fb_point_def *p = fb_model_point(def, d->gpio_lines[i].point);

		if (!p || !fb_gpio_role_has_line(p->gpio.role))
			fb_diag_add_at(diag, FB_SEV_ERROR, b->source, lpath, d->gpio_lines[i].point,
				       "bus %s: device %s: lines.%s: expected the key of an "
				       "input, output, pulse_output or counter point of definition "
				       "\"%s\", got %s", b->name, d->id, d->gpio_lines[i].point,
				       d->definition,
				       p ? "a point without a line" : "no such point");
	}
	for (size_t i = 0; i < def->npoints; i++) {
		struct fb_gpio_point gi;

		if (!fb_gpio_role_has_line(def->points[i].gpio.role))
			continue;
		fb_config_gpio_effective(d, &def->points[i], &gi);
		if (!gi.line && gi.line_offset < 0) {
			fb_diag_add_at(diag, FB_SEV_ERROR, b->source, lpath, def->points[i].key,
				       "bus %s: device %s: lines.%s: expected a line for "
				       "point %s (the definition names none)", b->name, d->id,
				       def->points[i].key, def->points[i].key);
			continue;
		}
		/* Devices before this one (their definitions are loaded) and this
		 * device's earlier points. */
		for (size_t k = 0; k < b->ndevices; k++) {
			const struct fb_device_conf *o = &b->devices[k];
			const struct fb_definition *odef = o == d ? def : o->def;

			if (!odef)
				continue;
			for (size_t j = 0; j < odef->npoints && !(o == d && j >= i); j++) {
				struct fb_gpio_point go;

				if (!fb_gpio_role_has_line(odef->points[j].gpio.role))
					continue;
				fb_config_gpio_effective(o, &odef->points[j], &go);
				if (same_line(&gi, &go))
					fb_diag_add_at(diag, FB_SEV_ERROR, b->source, lpath,
						       def->points[i].key,
						       "bus %s: device %s: point %s: line %s is "
						       "also used by device %s point %s", b->name,
						       d->id, def->points[i].key,
						       gi.line ? gi.line : "(offset)", o->id,
						       odef->points[j].key);
			}
			if (o == d)
				break;
		}
	}
	return diag->errors == before;
}
