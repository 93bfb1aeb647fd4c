/* SPDX-License-Identifier: Apache-2.0 */
/* Stale discovery cleanup.  At every connect we subscribe to
 * "<prefix>/device/+/config" for a few seconds: the broker replays the
 * retained configs (retain flag set), and the ones this node published
 * earlier (their device says via_device = our node id) are checked against
 * what we export now.  A device no longer configured or permitted gets an
 * empty retained config (Home Assistant deletes it) and its state and
 * availability cleared; a device that lost points gets its config again
 * with those components as {"p": platform}, which is how device-based
 * discovery removes a component.  Our own fresh publishes come back without
 * the retain flag and are ignored. */
#include "export-internal.h"
#include "diagnostics.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

#define CLEANUP_WINDOW_MS 5000

void ex_cleanup_start(struct exporter *ex, int64_t now_ms)
{
	char f[EX_TOPIC_MAX];

	ex_discovery_filter(ex, f, sizeof(f));
	if (ex_link_subscribe(&ex->link, f) == 0)
		ex->cleanup_until_ms = now_ms + CLEANUP_WINDOW_MS;
}

void ex_cleanup_stop(struct exporter *ex)
{
	ex->cleanup_until_ms = 0;
}

void ex_cleanup_tick(struct exporter *ex, int64_t now_ms)
{
	char f[EX_TOPIC_MAX];

	if (!ex->cleanup_until_ms || now_ms < ex->cleanup_until_ms)
		return;
	ex->cleanup_until_ms = 0;
	ex_discovery_filter(ex, f, sizeof(f));
	ex_link_unsubscribe(&ex->link, f);
}

static void clear_retained(struct exporter *ex, const char *topic)
{
	size_t blen = strlen(ex->base);

	/* Only ever clear topics under our own base. */
	if (topic && !strncmp(topic, ex->base, blen) && topic[blen] == '/')
		ex_link_clear_retained(&ex->link, topic);
}

static struct ex_device *device_for(struct exporter *ex, const char *object_id)
{
	size_t nlen = strlen(ex->conn->node_id);

	if (strncmp(object_id, ex->conn->node_id, nlen) || object_id[nlen] != '_')
		return NULL;
	return ex_devices_find(ex, object_id + nlen + 1, strlen(object_id + nlen + 1));
}

static void old_device(struct exporter *ex, const char *topic, const char *object_id,
		       const cJSON *doc)
{
	struct ex_device *d = device_for(ex, object_id);
	const cJSON *cmps = cJSON_GetObjectItemCaseSensitive(doc, "cmps"), *c;
	cJSON *removed;

	if (!d || !d->exported) {
		const cJSON *avail = cJSON_GetObjectItemCaseSensitive(doc, "availability"), *a;

		fb_info("connection %s: removing stale discovery %s (device no longer %s)",
			ex->conn->name, topic, d ? "permitted" : "configured");
		ex_link_clear_retained(&ex->link, topic);
		clear_retained(ex, cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(doc, "state_topic")));
		cJSON_ArrayForEach(a, avail) {
			const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "topic"));

			/* The node's own status topic stays. */
			if (t && strcmp(t, ex->status_topic))
				clear_retained(ex, t);
		}
		return;
	}
	removed = cJSON_CreateObject();
	cJSON_ArrayForEach(c, cmps) {
		bool still = false;

		/* {"p": x} alone is a removal we already sent. */
		if (cJSON_GetArraySize(c) <= 1)
			continue;
		/* Everything this node publishes for the device: its points and
		 * its diagnostic entities. */
		/* ... under the platform it has now (rights changed while we
		 * were down: a switch published read-only is a binary_sensor). */
		for (size_t p = 0; p < d->def->npoints; p++)
			if (!strcmp(d->def->points[p].key, c->string) && ex_rights_visible(d, p) &&
			    !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "p")) ?
				    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "p")) : "",
				    fb_component_name(ex_rights_component(d, p))))
				still = true;
		if (ex_diag_published(d, c->string))
			still = true;
		if (!still && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "p")))
			cJSON_AddStringToObject(removed, c->string,
						cJSON_GetObjectItemCaseSensitive(c, "p")->valuestring);
	}
	if (cJSON_GetArraySize(removed) > 0) {
		fb_info("connection %s: device %s: removing %d stale entit%s", ex->conn->name,
			d->conf->id, cJSON_GetArraySize(removed),
			cJSON_GetArraySize(removed) == 1 ? "y" : "ies");
		ex_discovery_publish_device(ex, d, removed);
		if (ex_discovery_platform_changed(d, removed))
			ex_discovery_publish_device(ex, d, NULL);
	}
	cJSON_Delete(removed);
}

bool ex_cleanup_message(struct exporter *ex, const struct mosquitto_message *msg)
{
	const char *prefix = ex->conn->discovery_prefix;
	size_t plen = strlen(prefix);
	char object_id[EX_TOPIC_MAX];
	const char *rest, *via;
	const cJSON *dev;
	cJSON *doc;

	if (strncmp(msg->topic, prefix, plen) || strncmp(msg->topic + plen, "/device/", 8))
		return false;
	rest = msg->topic + plen + 8;
	if (!strchr(rest, '/') || strcmp(strchr(rest, '/'), "/config"))
		return false;
	if (!msg->retain || msg->payloadlen <= 0 || !ex->cleanup_until_ms)
		return true;
	if ((size_t)msg->payloadlen > EX_DISCOVERY_MAX) {
		fb_warn("connection %s: retained config %s ignored: %d bytes, at most %d accepted",
			ex->conn->name, msg->topic, msg->payloadlen, EX_DISCOVERY_MAX);
		return true;
	}
	snprintf(object_id, sizeof(object_id), "%.*s", (int)(strchr(rest, '/') - rest), rest);
	doc = cJSON_ParseWithLength(msg->payload, (size_t)msg->payloadlen);
	dev = cJSON_GetObjectItemCaseSensitive(doc, "dev");
	via = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dev, "via_device"));
	/* Ours only: another node's devices name another via_device. */
	if (via && !strcmp(via, ex->conn->node_id))
		old_device(ex, msg->topic, object_id, doc);
	cJSON_Delete(doc);
	return true;
}
