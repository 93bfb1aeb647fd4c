/* SPDX-License-Identifier: Apache-2.0 */
/* State and availability messages.  A device's state is one JSON container
 * holding every point's current value, plus the node id, a unique event id
 * and a timestamp, so a retained state message is always complete and a
 * consumer can drop duplicates. */
#include "export-internal.h"
#include "clock.h"
#include "diagnostics.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Appends with snprintf semantics; *used may exceed len on truncation,
 * which the caller detects once at the end. */
static void buf_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void buf_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*used < len ? buf + *used : NULL, *used < len ? len - *used : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
}

/* Home-Assistant-ready JSON for one point: ON/OFF for booleans, the label
 * for selects, null when unknown (templates render it as "None", which HA
 * shows as unknown). */
static void point_json(const struct fb_point_def *p, const struct fb_value *v,
		       char *out, size_t len)
{
	if (v->kind == FB_VALUE_NONE) {
		snprintf(out, len, "null");
		return;
	}
	if (v->kind == FB_VALUE_BOOL) {
		snprintf(out, len, "\"%s\"", v->b ? "ON" : "OFF");
		return;
	}
	if (p->component == FB_COMP_SELECT &&
	    (v->kind == FB_VALUE_INT || v->kind == FB_VALUE_UINT)) {
		int64_t raw = v->kind == FB_VALUE_INT ? v->i : (int64_t)v->u;

		for (size_t i = 0; i < p->noptions; i++) {
			if (p->options[i].raw == raw) {
				/* labels are validated as plain text at load time */
				snprintf(out, len, "\"%s\"", p->options[i].label);
				return;
			}
		}
	}
	if (fb_value_to_json(v, out, len) < 0)
		snprintf(out, len, "null");
}

void ex_state_publish(struct exporter *ex, struct ex_device *dev)
{
	char payload[16384], event_id[FB_TABLE_EVENT_ID_MAX], value[128];
	size_t used = 0;
	struct fb_table_reader *r = dev->bus->reader;

	dev->dirty = false;
	if (!r || !ex->link.connected || !dev->exported)
		return;
	ex_devices_event_id(ex, event_id, sizeof(event_id));
	buf_add(payload, sizeof(payload), &used,
		"{\"node\":\"%s\",\"event_id\":\"%s\",\"ts\":%lld", ex->conn->node_id,
		event_id, (long long)fb_now_ms());
	for (size_t i = 0; i < dev->def->npoints; i++) {
		const struct fb_point_def *p = &dev->def->points[i];
		struct fb_point_snapshot s;

		/* Only what our user may read; buttons have no state. */
		if (p->component == FB_COMP_BUTTON || !ex_rights_visible(dev, i))
			continue;
		if (dev->point_index[i] < 0) {
			snprintf(value, sizeof(value), "null");
		} else {
			fb_table_reader_read(r, (uint32_t)dev->point_index[i], &s);
			point_json(p, &s.value, value, sizeof(value));
		}
		buf_add(payload, sizeof(payload), &used, ",\"%s\":%s", p->key, value);
	}
	ex_diag_state_add(dev, payload, sizeof(payload), &used); /* diagnostics.c */
	buf_add(payload, sizeof(payload), &used, "}");
	if (used >= sizeof(payload)) {
		fb_err("device %s: state message too large (%zu bytes)", dev->conf->id, used);
		return;
	}
	ex_link_publish(&ex->link, dev->state_topic, payload);
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
	char payload[256], event_id[FB_TABLE_EVENT_ID_MAX];
	size_t online = 0, total = 0;

	if (!ex->link.connected)
		return;
	for (size_t i = 0; i < ex->ndevices; i++) {
		if (!ex->devices[i].exported)
			continue;
		total++;
		online += ex_device_online(&ex->devices[i]);
	}
	ex_devices_event_id(ex, event_id, sizeof(event_id));
	snprintf(payload, sizeof(payload),
		 "{\"node\":\"%s\",\"event_id\":\"%s\",\"ts\":%lld,\"connected\":\"ON\","
		 "\"devices_online\":%zu,\"devices_total\":%zu}",
		 ex->conn->node_id, event_id, (long long)fb_now_ms(), online, total);
	ex_link_publish(&ex->link, ex->gateway_topic, payload);
}
