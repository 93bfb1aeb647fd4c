/* SPDX-License-Identifier: Apache-2.0 */
/* Discovery keys of the components whose Home Assistant schema is more
 * than one value_template: a dimmer light, cover, fan, climate and text
 * (the point's component block, model.h struct fb_point_ext).  Each reads
 * the device's one state topic with its own templates and sends every
 * command to the point's own "/set" topic, where commands.c applies the
 * same rights and range checks as for any point.  A climate's mode goes to
 * the mode point's topic, so that point's rights decide.  Rules: research
 * ha-discovery.md §12 (which keys need which). */
#include "export-internal.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Command containers made by Home Assistant (as discovery_doc.c's). */
#define EXT_EVENT \
	"\"event_id\":\"ha-{{ (now().timestamp()*1000000)|int }}-{{ range(1000000)|random }}\"," \
	"\"ts\":{{ (now().timestamp()*1000)|int }}"

char *ex_discovery_label_template(const struct fb_select_option *opt, size_t n,
				  const char *key)
{
	char *t = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&t, &len);

	if (!f)
		return NULL;
	fputs("{{ {", f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%lld: '", i ? ", " : "", (long long)opt[i].raw);
		for (const char *l = opt[i].label; *l; l++) {
			if (*l == '\'' || *l == '\\') /* a Jinja string literal */
				fputc('\\', f);
			fputc(*l, f);
		}
		fputc('\'', f);
	}
	fprintf(f, "}.get(value_json.%s) }}", key);
	if (fclose(f) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

static void add_fmt(cJSON *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_fmt(cJSON *c, const char *key, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(c, key, buf);
}

static void set_topic(const struct exporter *ex, const struct ex_device *d, const char *key,
		      char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%s/set", ex->base, d->conf->id, key);
}

static void dimmer(cJSON *c, const struct ex_device *d, const struct fb_point_def *p,
		   const char *cmd)
{
	const char *k = p->key;

	/* "None" makes the state unknown (light schema_basic PAYLOAD_NONE). */
	add_fmt(c, "state_value_template", "{%% if value_json.%s is none %%}None{%% elif "
		"value_json.%s > 0 %%}ON{%% else %%}OFF{%% endif %%}", k, k);
	cJSON_AddStringToObject(c, "brightness_state_topic", d->state_topic);
	add_fmt(c, "brightness_value_template", "{{ value_json.%s }}", k);
	cJSON_AddNumberToObject(c, "brightness_scale", (double)p->ext.brightness_scale);
	if (!cmd)
		return;
	cJSON_AddStringToObject(c, "brightness_command_topic", cmd);
	/* Turning on sends the level (the last one, or full), never a bare ON
	 * that would have to guess one. */
	cJSON_AddStringToObject(c, "on_command_type", "brightness");
}

static void cover(cJSON *c, const struct ex_device *d, const struct fb_point_def *p,
		  const char *cmd)
{
	const struct fb_point_ext *x = &p->ext;
	const char *k = p->key;

	/* The root state topic reaches the cover too: map it to a state, or
	 * HA would try the whole JSON document as one. */
	if (x->relay_open)
		/* On relays: moving while a relay reads on (read back from the
		 * device), else what the estimate says; get() because the user
		 * may not see the relay points. */
		add_fmt(c, "value_template", "{%% if value_json.get('%s') == 'ON' %%}opening"
			"{%% elif value_json.get('%s') == 'ON' %%}closing{%% elif value_json.%s is none %%}None"
			"{%% elif value_json.%s >= 100 %%}open{%% elif value_json.%s <= 0 %%}"
			"closed{%% else %%}stopped{%% endif %%}", x->relay_open, x->relay_close,
			k, k, k);
	else
		add_fmt(c, "value_template", "{%% if value_json.%s is none %%}None{%% elif "
			"value_json.%s == %lld %%}closed{%% else %%}open{%% endif %%}", k, k,
			(long long)x->position_closed);
	cJSON_AddStringToObject(c, "position_topic", d->state_topic);
	/* An empty position is ignored by HA; a scaled register may be 55.5. */
	add_fmt(c, "position_template", "{%% if value_json.%s is not none %%}{{ value_json.%s "
		"| round(0) | int }}{%% endif %%}", k, k);
	cJSON_AddNumberToObject(c, "position_open", (double)x->position_open);
	cJSON_AddNumberToObject(c, "position_closed", (double)x->position_closed);
	/* STOP (HA's default payload) stops a run on relays, or writes a
	 * position register's stop_value; without one there is no stop. */
	if (!x->relay_open && !x->has_stop)
		cJSON_AddNullToObject(c, "payload_stop");
	if (cmd)
		cJSON_AddStringToObject(c, "set_position_topic", cmd);
}

static void fan(cJSON *c, const struct ex_device *d, const struct fb_point_def *p,
		const char *cmd)
{
	const struct fb_point_ext *x = &p->ext;
	const char *k = p->key;

	add_fmt(c, "state_value_template", "{%% if value_json.%s is none %%}None{%% elif "
		"value_json.%s == %lld %%}OFF{%% else %%}ON{%% endif %%}", k, k,
		(long long)x->fan_off);
	cJSON_AddStringToObject(c, "percentage_state_topic", d->state_topic);
	/* HA turns the step into a percentage of speed_min..speed_max; a
	 * preset value is no step ("None" resets the percentage). */
	add_fmt(c, "percentage_value_template", "{%% set v = value_json.%s %%}{%% if v is "
		"number and %lld <= v <= %lld %%}{{ v }}{%% elif v == %lld %%}0{%% else "
		"%%}None{%% endif %%}", k, (long long)x->speed_min, (long long)x->speed_max,
		(long long)x->fan_off);
	cJSON_AddNumberToObject(c, "speed_range_min", (double)x->speed_min);
	cJSON_AddNumberToObject(c, "speed_range_max", (double)x->speed_max);
	if (cmd)
		cJSON_AddStringToObject(c, "percentage_command_topic", cmd);
	if (!x->npresets)
		return;
	cJSON *modes = cJSON_AddArrayToObject(c, "preset_modes");
	char *t = ex_discovery_label_template(x->presets, x->npresets, k);

	for (size_t i = 0; i < x->npresets; i++)
		cJSON_AddItemToArray(modes, cJSON_CreateString(x->presets[i].label));
	cJSON_AddStringToObject(c, "preset_mode_state_topic", d->state_topic);
	if (t)
		cJSON_AddStringToObject(c, "preset_mode_value_template", t);
	free(t);
	if (cmd)
		cJSON_AddStringToObject(c, "preset_mode_command_topic", cmd);
}

static void climate(const struct exporter *ex, cJSON *c, const struct ex_device *d,
		    const struct fb_point_def *p, const char *cmd)
{
	const struct fb_point_ext *x = &p->ext;
	const struct fb_point_def *cur = fb_model_point(d->def, x->current_temperature);
	const struct fb_point_def *mode = fb_model_point(d->def, x->mode);
	char buf[512];

	/* Climate has no value_template; the inherited state_topic is
	 * dropped by its schema. */
	cJSON_DeleteItemFromObject(c, "value_template");
	cJSON_AddStringToObject(c, "temperature_unit", !strcmp(p->unit, "°F") ? "F" : "C");
	cJSON_AddNumberToObject(c, "min_temp", p->min);
	cJSON_AddNumberToObject(c, "max_temp", p->max);
	cJSON_AddNumberToObject(c, "temp_step", p->step);
	cJSON_AddNumberToObject(c, "precision", x->temp_precision);
	cJSON_AddStringToObject(c, "temperature_state_topic", d->state_topic);
	add_fmt(c, "temperature_state_template", "{{ value_json.%s }}", p->key);
	if (cmd) {
		cJSON_AddStringToObject(c, "temperature_command_topic", cmd);
		cJSON_AddStringToObject(c, "temperature_command_template",
					"{\"value\":{{ value }}," EXT_EVENT "}");
	}
	/* A referenced point our user may not read is not in the state. */
	if (cur && ex_rights_visible(d, (size_t)(cur - d->def->points))) {
		cJSON_AddStringToObject(c, "current_temperature_topic", d->state_topic);
		add_fmt(c, "current_temperature_template", "{{ value_json.%s }}", cur->key);
	}
	cJSON *modes = cJSON_AddArrayToObject(c, "modes");

	cJSON_AddStringToObject(c, "mode_state_topic", d->state_topic);
	if (!mode || !ex_rights_visible(d, (size_t)(mode - d->def->points))) {
		/* A fixed mode: a constant template, or HA would show "off". */
		const char *m = x->fixed_mode ? x->fixed_mode : "heat";

		cJSON_AddItemToArray(modes, cJSON_CreateString(m));
		cJSON_AddStringToObject(c, "mode_state_template", m);
		return;
	}
	for (size_t i = 0; i < mode->noptions; i++)
		cJSON_AddItemToArray(modes, cJSON_CreateString(mode->options[i].label));
	/* The state carries a select's label (state.c). */
	add_fmt(c, "mode_state_template", "{{ value_json.%s }}", mode->key);
	if (ex_rights_commandable(d, (size_t)(mode - d->def->points))) {
		set_topic(ex, d, mode->key, buf, sizeof(buf));
		cJSON_AddStringToObject(c, "mode_command_topic", buf);
		cJSON_AddStringToObject(c, "mode_command_template",
					"{\"value\":\"{{ value }}\"," EXT_EVENT "}");
	}
}

static void text(cJSON *c, const struct fb_point_def *p, const char *cmd)
{
	cJSON_AddNumberToObject(c, "min", p->ext.min_length);
	cJSON_AddNumberToObject(c, "max", 2 * p->length);
	if (p->ext.pattern)
		cJSON_AddStringToObject(c, "pattern", p->ext.pattern);
	if (p->ext.password)
		cJSON_AddStringToObject(c, "mode", "password");
	/* Any text, even one starting with "{", arrives as a container. */
	if (cmd)
		cJSON_AddStringToObject(c, "command_template",
					"{\"value\":{{ value | tojson }}," EXT_EVENT "}");
}

bool ex_discovery_ext_component(const struct exporter *ex, const struct ex_device *d,
				const struct fb_point_def *p, cJSON *c)
{
	char cmd[512];
	bool can = ex_rights_commandable(d, (size_t)(p - d->def->points));

	if (p->component != FB_COMP_COVER && p->component != FB_COMP_FAN &&
	    p->component != FB_COMP_CLIMATE && p->component != FB_COMP_TEXT &&
	    !(p->component == FB_COMP_LIGHT && p->ext.brightness_scale))
		return false;
	set_topic(ex, d, p->key, cmd, sizeof(cmd));
	/* Climate has no command_topic of its own (the per-value topics). */
	if (can && p->component != FB_COMP_CLIMATE)
		cJSON_AddStringToObject(c, "command_topic", cmd);
	switch (p->component) {
	case FB_COMP_LIGHT:
		cJSON_DeleteItemFromObject(c, "state_value_template");
		dimmer(c, d, p, can ? cmd : NULL);
		break;
	case FB_COMP_COVER:
		cJSON_DeleteItemFromObject(c, "value_template");
		cover(c, d, p, can ? cmd : NULL);
		break;
	case FB_COMP_FAN:
		cJSON_DeleteItemFromObject(c, "value_template");
		fan(c, d, p, can ? cmd : NULL);
		break;
	case FB_COMP_CLIMATE:
		climate(ex, c, d, p, can ? cmd : NULL);
		break;
	default:
		text(c, p, can ? cmd : NULL);
		break;
	}
	return true;
}
