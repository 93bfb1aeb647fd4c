/* SPDX-License-Identifier: Apache-2.0 */
/* State and availability messages.  A device's state is one JSON container
 * holding every point's current value, plus the node id, a unique event id
 * and a timestamp, so a retained state message is always complete and a
 * consumer can drop duplicates. */
#include "export-internal.h"
#include "clock.h"
#include "diagnostics.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *ex_state_point_value(const struct fb_point_def *p, const struct fb_point_snapshot *s)
{
	const struct fb_value *v = &s->value;
	char text[64];

	/* A read that gave up may be torn: unknown, never a value (an energy
	 * total of 0 would look like a meter reset). */
	if (s->quality == FB_QUALITY_STALE || v->kind == FB_VALUE_NONE)
		return cJSON_CreateNull();
	if (v->kind == FB_VALUE_BOOL)
		return cJSON_CreateString(v->b ? "ON" : "OFF");
	if (v->kind == FB_VALUE_STRING) {
		char str[sizeof(v->s) + 1];

		memcpy(str, v->s, sizeof(v->s));
		str[sizeof(v->s)] = '\0';
		return cJSON_CreateString(str);
	}
	if (p->component == FB_COMP_SELECT &&
	    (v->kind == FB_VALUE_INT || v->kind == FB_VALUE_UINT)) {
		int64_t raw = v->kind == FB_VALUE_INT ? v->i : (int64_t)v->u;

		for (size_t i = 0; i < p->noptions; i++)
			if (p->options[i].raw == raw)
				return cJSON_CreateString(p->options[i].label);
	}
	/* Numbers as the table's own formatting (exact for 64-bit integers,
	 * which a double would round). */
	if (fb_value_to_json(v, text, sizeof(text)) < 0)
		return cJSON_CreateNull();
	return cJSON_CreateRaw(text);
}

static void add_head(struct exporter *ex, cJSON *doc)
{
	char event_id[FB_TABLE_EVENT_ID_MAX], ts[24];

	ex_devices_event_id(ex, event_id, sizeof(event_id));
	snprintf(ts, sizeof(ts), "%lld", (long long)fb_now_ms());
	cJSON_AddStringToObject(doc, "node", ex->conn->node_id);
	cJSON_AddStringToObject(doc, "event_id", event_id);
	cJSON_AddRawToObject(doc, "ts", ts);
}

/* Prints and publishes doc (owned: freed here). */
static void publish_doc(struct exporter *ex, const char *what, const char *topic, cJSON *doc)
{
	char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;

	cJSON_Delete(doc);
	if (!text) {
		fb_err("%s: state message not published: out of memory", what);
		return;
	}
	ex_link_publish(&ex->link, topic, text);
	free(text);
}

void ex_state_publish(struct exporter *ex, struct ex_device *dev)
{
	struct fb_table_reader *r = dev->bus->reader;
	cJSON *doc;
	char what[160];

	dev->dirty = false;
	if (!r || !ex->link.connected || !dev->exported)
		return;
	/* Built by the JSON library: every label and string is escaped, and
	 * the size follows the device (no fixed cap). */
	if (!(doc = cJSON_CreateObject()))
		goto nomem;
	add_head(ex, doc);
	for (size_t i = 0; i < dev->def->npoints; i++) {
		const struct fb_point_def *p = &dev->def->points[i];
		struct fb_point_snapshot s;
		cJSON *v;

		/* Only what our user may read; buttons have no state. */
		if (p->component == FB_COMP_BUTTON || !ex_rights_visible(dev, i))
			continue;
		if (dev->point_index[i] < 0) {
			v = cJSON_CreateNull();
		} else {
			fb_table_reader_read(r, (uint32_t)dev->point_index[i], &s);
			v = ex_state_point_value(p, &s);
		}
		if (!v || !cJSON_AddItemToObject(doc, p->key, v)) {
			cJSON_Delete(v);
			goto nomem;
		}
	}
	ex_diag_state_add(dev, doc); /* diagnostics.c */
	snprintf(what, sizeof(what), "device %s", dev->conf->id);
	publish_doc(ex, what, dev->state_topic, doc);
	return;
nomem:
	cJSON_Delete(doc);
	fb_err("device %s: state message not published: out of memory", dev->conf->id);
}

/* Publishes the queued devices: availability first, then state.
 * Back-pressure: while libmosquitto still holds unsent bytes (the socket
 * is full), stop and keep the rest queued; the session calls again once
 * the socket drained.  A device's state is read when it is published, so
 * a slow broker sees fewer, newer states instead of an ever-growing queue
 * of old ones.  The same holds for "everything again" after a connect. */
void ex_state_publish_dirty(struct exporter *ex)
{
	for (size_t b = 0; b < ex->nbuses; b++) {
		struct ex_bus *bus = &ex->buses[b];
		size_t i = 0;

		for (; i < bus->ndirty; i++) {
			struct ex_device *dev = bus->dirty[i];

			if (ex->link.connected && ex_link_want_write(&ex->link))
				break;
			dev->in_dirty_list = false;
			if (dev->avail_dirty)
				ex_state_publish_avail(ex, dev);
			if (dev->dirty)
				ex_state_publish(ex, dev);
		}
		memmove(bus->dirty, bus->dirty + i, (bus->ndirty - i) * sizeof(*bus->dirty));
		bus->ndirty -= i;
	}
}

void ex_state_publish_avail(struct exporter *ex, struct ex_device *dev)
{
	int online = ex_device_online(dev) ? 1 : 0;

	dev->avail_dirty = false;
	if (online == dev->published_avail)
		return;
	if (!ex->link.connected || !dev->exported)
		return;
	dev->published_avail = online;
	ex_link_publish(&ex->link, dev->avail_topic, online ? "online" : "offline");
	/* A forced re-publish (reconnect, birth) repeats the value: say only
	 * what changed. */
	if (online != dev->logged_avail)
		fb_info("device %s: %s", dev->conf->id, online ? "online" : "offline");
	dev->logged_avail = online;
}

void ex_state_publish_gateway(struct exporter *ex)
{
	size_t online = 0, total = 0;
	cJSON *doc;

	if (!ex->link.connected)
		return;
	for (size_t i = 0; i < ex->ndevices; i++) {
		if (!ex->devices[i].exported)
			continue;
		total++;
		online += ex_device_online(&ex->devices[i]);
	}
	if ((doc = cJSON_CreateObject())) {
		add_head(ex, doc);
		cJSON_AddStringToObject(doc, "connected", "ON");
		cJSON_AddNumberToObject(doc, "devices_online", (double)online);
		cJSON_AddNumberToObject(doc, "devices_total", (double)total);
	}
	publish_doc(ex, "gateway", ex->gateway_topic, doc);
}
