/* SPDX-License-Identifier: Apache-2.0 */
/* The Home Assistant discovery documents (see discovery.c for the scheme),
 * built from the exporter's configuration and rights alone: no broker, no
 * table.  discovery.c publishes them; preview.c hands them to the web
 * page, so what the page shows is what the broker gets, byte for byte. */
#include "export-internal.h"
#include "diagnostics.h"
#include "fb_defaults.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORIGIN_URL "https://github.com/fieldbridge/fieldbridge"

/* Command containers built by Home Assistant itself, so a redelivered QoS 1
 * command is recognisable: the event id is HA's clock in microseconds plus
 * a random part. */
#define TEMPLATE_EVENT \
	"\"event_id\":\"ha-{{ (now().timestamp()*1000000)|int }}-{{ range(1000000)|random }}\"," \
	"\"ts\":{{ (now().timestamp()*1000)|int }}"

static void add_str(cJSON *o, const char *key, const char *val)
{
	if (val)
		cJSON_AddStringToObject(o, key, val);
}

static cJSON *origin_block(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", "fieldbridge");
	cJSON_AddStringToObject(o, "sw", FB_VERSION);
	cJSON_AddStringToObject(o, "url", ORIGIN_URL);
	return o;
}

static cJSON *availability_list(const struct exporter *ex, const char *device_topic)
{
	cJSON *list = cJSON_CreateArray();
	cJSON *a = cJSON_CreateObject();

	cJSON_AddStringToObject(a, "topic", ex->status_topic);
	cJSON_AddItemToArray(list, a);
	if (device_topic) {
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "topic", device_topic);
		cJSON_AddItemToArray(list, a);
	}
	return list;
}

/* An enum sensor with options: the state carries the raw value, the
 * template shows its label ("None" = unknown for a value not listed), and
 * "options" lists the labels, which Home Assistant requires of an enum. */
static void enum_options(cJSON *c, const struct fb_point_def *p)
{
	cJSON *opts = cJSON_AddArrayToObject(c, "options");
	char *t = ex_discovery_label_template(p->options, p->noptions, p->key);

	for (size_t i = 0; i < p->noptions; i++)
		cJSON_AddItemToArray(opts, cJSON_CreateString(p->options[i].label));
	if (t)
		cJSON_ReplaceItemInObject(c, "value_template", cJSON_CreateString(t));
	free(t);
}

/* A writable point our user may only read, as its read-only counterpart
 * (rights.c ex_rights_component): the state it carries, nothing to send.
 * A device class is kept only where the sensor schema has it (a number's
 * or setpoint's classes are the sensor's; switch, valve, cover classes
 * are not and would reject the whole component). */
static cJSON *readonly_component(const struct exporter *ex, const struct ex_device *dev,
				 const struct fb_point_def *p, enum fb_component as)
{
	cJSON *c = cJSON_CreateObject();
	char buf[512];

	cJSON_AddStringToObject(c, "p", fb_component_name(as));
	snprintf(buf, sizeof(buf), "%s_%s_%s", ex->conn->node_id, dev->conf->id, p->key);
	cJSON_AddStringToObject(c, "unique_id", buf);
	cJSON_AddStringToObject(c, "name", p->name);
	if (p->component == FB_COMP_NUMBER || p->component == FB_COMP_CLIMATE)
		add_str(c, "device_class", p->device_class);
	add_str(c, "entity_category", p->entity_category);
	add_str(c, "icon", p->icon);
	snprintf(buf, sizeof(buf), "{{ value_json.%s }}", p->key);
	cJSON_AddStringToObject(c, "value_template", buf);
	if (as != FB_COMP_SENSOR)
		return c;
	/* An enum or text sensor has no unit. */
	if (p->component != FB_COMP_SELECT && p->component != FB_COMP_TEXT)
		add_str(c, "unit_of_measurement", p->unit);
	if (p->component == FB_COMP_CLIMATE && !p->device_class)
		cJSON_AddStringToObject(c, "device_class", "temperature");
	if (p->component == FB_COMP_SELECT) {
		/* The state carries the label (state.c): an enum of the labels. */
		cJSON *opts = cJSON_AddArrayToObject(c, "options");

		cJSON_AddStringToObject(c, "device_class", "enum");
		for (size_t i = 0; i < p->noptions; i++)
			cJSON_AddItemToArray(opts, cJSON_CreateString(p->options[i].label));
	}
	if (p->precision >= 0 && p->component != FB_COMP_SELECT && p->component != FB_COMP_TEXT)
		cJSON_AddNumberToObject(c, "suggested_display_precision", p->precision);
	return c;
}

static cJSON *point_component(const struct exporter *ex, const struct ex_device *dev,
			      const struct fb_point_def *p)
{
	enum fb_component as = ex_rights_component(dev, (size_t)(p - dev->def->points));
	cJSON *c;
	char buf[512];

	if (as != p->component)
		return readonly_component(ex, dev, p, as);
	c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "p", fb_component_name(p->component));
	snprintf(buf, sizeof(buf), "%s_%s_%s", ex->conn->node_id, dev->conf->id, p->key);
	cJSON_AddStringToObject(c, "unique_id", buf);
	cJSON_AddStringToObject(c, "name", p->name);
	add_str(c, "device_class", p->device_class);
	add_str(c, "entity_category", p->entity_category);
	add_str(c, "icon", p->icon);
	if (p->component != FB_COMP_BUTTON) {
		snprintf(buf, sizeof(buf), "{{ value_json.%s }}", p->key);
		/* A light (basic schema) reads its state with state_value_template. */
		cJSON_AddStringToObject(c, p->component == FB_COMP_LIGHT ?
					"state_value_template" : "value_template", buf);
	}
	if (p->component == FB_COMP_SENSOR || p->component == FB_COMP_NUMBER)
		add_str(c, "unit_of_measurement", p->unit);
	if (p->component == FB_COMP_SENSOR) {
		add_str(c, "state_class", p->state_class);
		if (p->precision >= 0)
			cJSON_AddNumberToObject(c, "suggested_display_precision", p->precision);
		if (p->noptions)
			enum_options(c, p);
	}
	/* Dimmer, cover, fan, climate, text (discovery_ext.c). */
	if (ex_discovery_ext_component(ex, dev, p, c))
		return c;
	if (p->component == FB_COMP_EVENT) { /* (GPIO) presses of an input */
		/* The state container repeats the last press until the driver
		 * clears it; an empty rendering is ignored by Home Assistant, so
		 * only a set value fires the event. */
		snprintf(buf, sizeof(buf), "{%% if value_json.%s %%}{\"event_type\":"
			 "\"{{ value_json.%s }}\"}{%% endif %%}", p->key, p->key);
		cJSON_ReplaceItemInObject(c, "value_template", cJSON_CreateString(buf));
		cJSON_AddItemToObject(c, "event_types", cJSON_CreateStringArray(
			(const char *[]){ "single", "double", "long" }, 3));
		return c;
	}
	/* Read-only components; a writable one our user may only read is
	 * one of these by now (readonly_component). */
	if (!ex_rights_commandable(dev, (size_t)(p - dev->def->points)) ||
	    p->component == FB_COMP_SENSOR || p->component == FB_COMP_BINARY_SENSOR)
		return c;

	snprintf(buf, sizeof(buf), "%s/%s/%s/set", ex->base, dev->conf->id, p->key);
	cJSON_AddStringToObject(c, "command_topic", buf);
	switch (p->component) {
	case FB_COMP_NUMBER:
		if (p->has_min)
			cJSON_AddNumberToObject(c, "min", p->min);
		if (p->has_max)
			cJSON_AddNumberToObject(c, "max", p->max);
		if (p->step > 0)
			cJSON_AddNumberToObject(c, "step", p->step);
		cJSON_AddStringToObject(c, "command_template",
					"{\"value\":{{ value }}," TEMPLATE_EVENT "}");
		break;
	case FB_COMP_SELECT: {
		cJSON *opts = cJSON_AddArrayToObject(c, "options");

		for (size_t i = 0; i < p->noptions; i++)
			cJSON_AddItemToArray(opts, cJSON_CreateString(p->options[i].label));
		cJSON_AddStringToObject(c, "command_template",
					"{\"value\":\"{{ value }}\"," TEMPLATE_EVENT "}");
		break;
	}
	case FB_COMP_VALVE:
		/* No position: the state and the commands are the switch's
		 * ON/OFF, named so HA neither needs "open" nor sends "OPEN". */
		cJSON_AddStringToObject(c, "payload_open", "ON");
		cJSON_AddStringToObject(c, "payload_close", "OFF");
		cJSON_AddStringToObject(c, "state_open", "ON");
		cJSON_AddStringToObject(c, "state_closed", "OFF");
		break;
	case FB_COMP_BUTTON:
		/* A press is not idempotent: always a container. */
		cJSON_AddStringToObject(c, "command_template",
					"{\"value\":\"PRESS\"," TEMPLATE_EVENT "}");
		break;
	default:
		break;
	}
	return c;
}

cJSON *ex_discovery_gateway_doc(const struct exporter *ex)
{
	cJSON *doc = cJSON_CreateObject(), *dev, *cmps, *c;
	char buf[256];

	dev = cJSON_AddObjectToObject(doc, "dev");
	cJSON_AddItemToObject(dev, "ids", cJSON_CreateStringArray(
		(const char *[]){ ex->conn->node_id }, 1));
	cJSON_AddStringToObject(dev, "name", ex->cfg->gateway_name);
	cJSON_AddStringToObject(dev, "mf", "fieldbridge");
	cJSON_AddStringToObject(dev, "mdl", "fieldbridge gateway");
	cJSON_AddStringToObject(dev, "sw", FB_VERSION);
	cJSON_AddItemToObject(doc, "o", origin_block());
	cJSON_AddStringToObject(doc, "state_topic", ex->gateway_topic);
	cJSON_AddItemToObject(doc, "availability", availability_list(ex, NULL));
	cJSON_AddNumberToObject(doc, "qos", ex->conn->qos);
	cmps = cJSON_AddObjectToObject(doc, "cmps");

	c = cJSON_AddObjectToObject(cmps, "connected");
	cJSON_AddStringToObject(c, "p", "binary_sensor");
	snprintf(buf, sizeof(buf), "%s_connected", ex->conn->node_id);
	cJSON_AddStringToObject(c, "unique_id", buf);
	cJSON_AddStringToObject(c, "name", "Connected");
	cJSON_AddStringToObject(c, "device_class", "connectivity");
	cJSON_AddStringToObject(c, "entity_category", "diagnostic");
	cJSON_AddStringToObject(c, "value_template", "{{ value_json.connected }}");

	c = cJSON_AddObjectToObject(cmps, "devices_online");
	cJSON_AddStringToObject(c, "p", "sensor");
	snprintf(buf, sizeof(buf), "%s_devices_online", ex->conn->node_id);
	cJSON_AddStringToObject(c, "unique_id", buf);
	cJSON_AddStringToObject(c, "name", "Devices online");
	cJSON_AddStringToObject(c, "entity_category", "diagnostic");
	cJSON_AddStringToObject(c, "state_class", "measurement");
	cJSON_AddStringToObject(c, "value_template", "{{ value_json.devices_online }}");

	return doc;
}

void ex_discovery_topic(const struct exporter *ex, const char *object_id, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s/device/%s/config", ex->conn->discovery_prefix, object_id);
}

void ex_discovery_filter(const struct exporter *ex, char *buf, size_t len)
{
	ex_discovery_topic(ex, "+", buf, len);
}

void ex_discovery_object_id(const struct exporter *ex, const struct ex_device *d, char *buf,
			    size_t len)
{
	snprintf(buf, len, "%s_%s", ex->conn->node_id, d->conf->id);
}

cJSON *ex_discovery_device_doc(const struct exporter *ex, const struct ex_device *d,
			       const cJSON *removed)
{
	const cJSON *r;
	cJSON *doc = cJSON_CreateObject(), *dev, *cmps;
	char id[128];

	ex_discovery_object_id(ex, d, id, sizeof(id));
	dev = cJSON_AddObjectToObject(doc, "dev");
	cJSON_AddItemToObject(dev, "ids", cJSON_CreateStringArray((const char *[]){ id }, 1));
	cJSON_AddStringToObject(dev, "name", d->conf->name);
	add_str(dev, "mf", d->def->manufacturer);
	add_str(dev, "mdl", d->def->model);
	cJSON_AddStringToObject(dev, "via_device", ex->conn->node_id);
	add_str(dev, "sa", d->conf->area);
	cJSON_AddItemToObject(doc, "o", origin_block());
	cJSON_AddStringToObject(doc, "state_topic", d->state_topic);
	cJSON_AddItemToObject(doc, "availability", availability_list(ex, d->avail_topic));
	cJSON_AddStringToObject(doc, "availability_mode", "all");
	cJSON_AddNumberToObject(doc, "qos", ex->conn->qos);
	cmps = cJSON_AddObjectToObject(doc, "cmps");
	for (size_t i = 0; i < d->def->npoints; i++)
		if (ex_rights_visible(d, i))
			cJSON_AddItemToObject(cmps, d->def->points[i].key,
					      point_component(ex, d, &d->def->points[i]));
	ex_diag_discovery_add(ex, d, cmps); /* Modbus statistics (diagnostics.c) */
	/* Device-based discovery deletes a component sent as {"p": platform}. */
	cJSON_ArrayForEach(r, removed) {
		const cJSON *now = cJSON_GetObjectItemCaseSensitive(cmps, r->string);
		const char *was = cJSON_GetStringValue(r), *is = NULL;
		cJSON *c;

		/* Never twice the same key: a consumer keeping the last one
		 * would see only the removal.  A key now under another
		 * platform is the removal in this document; the caller
		 * publishes the device again for the new one
		 * (ex_discovery_platform_changed). */
		if (now)
			is = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(now, "p"));
		if (now && (!was || !is || !strcmp(is, was)))
			continue;
		if (now)
			cJSON_DeleteItemFromObjectCaseSensitive(cmps, r->string);
		if ((c = cJSON_AddObjectToObject(cmps, r->string)))
			cJSON_AddStringToObject(c, "p", was);
	}
	return doc;
}

bool ex_discovery_platform_changed(const struct ex_device *d, const cJSON *removed)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, removed)
		for (size_t i = 0; i < d->def->npoints; i++)
			if (!strcmp(d->def->points[i].key, r->string) && ex_rights_visible(d, i))
				return true;
	return false;
}

char *ex_discovery_text(const cJSON *doc)
{
	return cJSON_PrintUnformatted(doc);
}
