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

static void add_head(struct exporter *ex, cJSON *doc)
{
	char event_id[FB_TABLE_EVENT_ID_MAX], ts[24];

	ex_devices_event_id(ex, event_id, sizeof(event_id));
	snprintf(ts, sizeof(ts), "%lld", (long long)fb_now_ms());
	cJSON_AddStringToObject(doc, "node", ex->conn->node_id);
	cJSON_AddStringToObject(doc, "event_id", event_id);
	cJSON_AddRawToObject(doc, "ts", ts);
}

/* The state message as text: cJSON's tree (an allocation per value, a
 * print, a delete) was a quarter of the exporter's CPU per state.  Same
 * keys in the same order, strings escaped as cJSON prints them. */
struct text {
	char *p;
	size_t len, cap;
	bool failed;
};

static void text_put(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		char *p;

		while (cap < t->len + n + 1)
			cap *= 2;
		if (!(p = realloc(t->p, cap))) {
			t->failed = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
	char esc[8];

	text_put(t, "\"", 1);
	for (const char *c = s; *c; c++) {
		unsigned char u = (unsigned char)*c;
		const char *run = c;

		while (u >= 0x20 && u != '"' && u != '\\')
			u = (unsigned char)*++c;
		text_put(t, run, (size_t)(c - run));
		if (!u)
			break;
		switch (u) {
		case '"': text_put(t, "\\\"", 2); break;
		case '\\': text_put(t, "\\\\", 2); break;
		case '\b': text_put(t, "\\b", 2); break;
		case '\f': text_put(t, "\\f", 2); break;
		case '\n': text_put(t, "\\n", 2); break;
		case '\r': text_put(t, "\\r", 2); break;
		case '\t': text_put(t, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", u);
			text_put(t, esc, 6);
		}
	}
	text_put(t, "\"", 1);
}

/* ,"key": (the first member without the comma) */
static void text_key(struct text *t, const char *key)
{
	text_put(t, t->len > 1 ? "," : "", t->len > 1);
	text_str(t, key);
	text_put(t, ":", 1);
}

static void text_raw(void *ctx, const char *key, const char *raw)
{
	text_key(ctx, key);
	text_put(ctx, raw, strlen(raw));
}

/* A point's value: unknown (null) for a read that gave up, which may be
 * torn (an energy total of 0 would look like a meter reset); ON/OFF; a
 * select's label; numbers as the table's own formatting (exact for 64-bit
 * integers, which a double would round). */
static void text_value(struct text *t, const struct fb_point_def *p,
		       const struct fb_point_snapshot *s)
{
	const struct fb_value *v = &s->value;
	char num[64];

	if (s->quality == FB_QUALITY_STALE || v->kind == FB_VALUE_NONE) {
		text_put(t, "null", 4);
		return;
	}
	if (v->kind == FB_VALUE_BOOL) {
		text_str(t, v->b ? "ON" : "OFF");
		return;
	}
	if (v->kind == FB_VALUE_STRING) {
		char str[sizeof(v->s) + 1];

		memcpy(str, v->s, sizeof(v->s));
		str[sizeof(v->s)] = '\0';
		text_str(t, str);
		return;
	}
	if (p->component == FB_COMP_SELECT &&
	    (v->kind == FB_VALUE_INT || v->kind == FB_VALUE_UINT)) {
		int64_t raw = v->kind == FB_VALUE_INT ? v->i : (int64_t)v->u;

		for (size_t i = 0; i < p->noptions; i++)
			if (p->options[i].raw == raw) {
				text_str(t, p->options[i].label);
				return;
			}
	}
	if (fb_value_to_json(v, num, sizeof(num)) < 0)
		text_put(t, "null", 4);
	else
		text_put(t, num, strlen(num));
}

cJSON *ex_state_point_value(const struct fb_point_def *p, const struct fb_point_snapshot *s)
{
	struct text t = { 0 };
	cJSON *v;

	text_value(&t, p, s);
	v = t.failed ? NULL : cJSON_CreateRaw(t.p);
	free(t.p);
	return v;
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
	struct text t = { 0 };
	char event_id[FB_TABLE_EVENT_ID_MAX], ts[24];

	dev->dirty = false;
	if (!r || !ex->link.connected || !dev->exported)
		return;
	/* Every label and string is escaped, and the size follows the device
	 * (no fixed cap). */
	ex_devices_event_id(ex, event_id, sizeof(event_id));
	snprintf(ts, sizeof(ts), "%lld", (long long)fb_now_ms());
	text_put(&t, "{", 1);
	text_key(&t, "node");
	text_str(&t, ex->conn->node_id);
	text_key(&t, "event_id");
	text_str(&t, event_id);
	text_raw(&t, "ts", ts);
	for (size_t i = 0; i < dev->def->npoints; i++) {
		const struct fb_point_def *p = &dev->def->points[i];
		struct fb_point_snapshot s;

		/* Only what our user may read; buttons have no state. */
		if (p->component == FB_COMP_BUTTON || !ex_rights_visible(dev, i))
			continue;
		text_key(&t, p->key);
		if (dev->point_index[i] < 0) {
			text_put(&t, "null", 4);
		} else {
			fb_table_reader_read(r, (uint32_t)dev->point_index[i], &s);
			text_value(&t, p, &s);
		}
	}
	ex_diag_state_each(dev, text_raw, &t); /* diagnostics.c */
	text_put(&t, "}", 1);
	if (t.failed)
		fb_err("device %s: state message not published: out of memory", dev->conf->id);
	else
		ex_link_publish(&ex->link, dev->state_topic, t.p);
	free(t.p);
}

/* Publishes the queued devices: availability first, then state.
 * Back-pressure: while libmosquitto still holds unsent bytes (the socket
 * is full), stop and keep the rest queued; the session calls again once
 * the socket drained.  A device's state is read when it is published, so
 * a slow broker sees fewer, newer states instead of an ever-growing queue
 * of old ones.  The same holds for "everything again" after a connect. */
void ex_state_publish_dirty(struct exporter *ex)
{
	/* A state Home Assistant cannot yet place would be lost. */
	if (ex->discovery_pending)
		return;
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
