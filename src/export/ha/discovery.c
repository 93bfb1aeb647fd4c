/* SPDX-License-Identifier: Apache-2.0 */
/* Home Assistant MQTT discovery, one retained message per device on
 * "<prefix>/device/<node>_<device>/config" (device-based discovery, Home
 * Assistant >= 2024.11).  One message per device instead of one per entity
 * means a 10k-entity gateway sends ~1k messages, and a device's entities
 * appear or change together.  Shared options (state topic, availability,
 * qos, origin) are stated once per device and inherited by components. */
#include "export-internal.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void publish_doc(struct exporter *ex, const char *topic, cJSON *doc)
{
	char *text = doc ? ex_discovery_text(doc) : NULL;

	if (text) {
		/* Discovery configs are always retained, whatever `retain` says:
		 * Home Assistant must find them after its own restart. */
		ex_link_publish_retained(&ex->link, topic, text);
		free(text);
	}
	cJSON_Delete(doc);
}

static void gateway_discovery(struct exporter *ex)
{
	char topic[EX_TOPIC_MAX];

	ex_discovery_topic(ex, ex->conn->node_id, topic, sizeof(topic));
	publish_doc(ex, topic, ex_discovery_gateway_doc(ex));
}

void ex_discovery_publish_device(struct exporter *ex, const struct ex_device *d,
				 const cJSON *removed)
{
	char topic[EX_TOPIC_MAX], id[128];

	ex_discovery_object_id(ex, d, id, sizeof(id));
	ex_discovery_topic(ex, id, topic, sizeof(topic));
	publish_doc(ex, topic, ex_discovery_device_doc(ex, d, removed));
}

void ex_discovery_remove_device(struct exporter *ex, const struct ex_device *d)
{
	char topic[EX_TOPIC_MAX], id[128];

	if (!ex->link.connected)
		return;
	snprintf(id, sizeof(id), "%s_%s", ex->conn->node_id, d->conf->id);
	ex_discovery_topic(ex, id, topic, sizeof(topic));
	/* An empty retained message deletes the retained one (and Home
	 * Assistant deletes the device). */
	ex_link_clear_retained(&ex->link, topic);
	ex_link_clear_retained(&ex->link, d->state_topic);
	ex_link_clear_retained(&ex->link, d->avail_topic);
}

void ex_discovery_publish_all(struct exporter *ex)
{
	gateway_discovery(ex);
	ex->discovery_pending = true;
	ex->discovery_next = 0;
	ex_discovery_continue(ex);
}

void ex_discovery_continue(struct exporter *ex)
{
	size_t n = 0;

	/* Disconnected: the next connect starts the burst again. */
	if (!ex->discovery_pending || !ex->link.connected)
		return;
	for (; ex->discovery_next < ex->ndevices; ex->discovery_next++) {
		const struct ex_device *d = &ex->devices[ex->discovery_next];

		if (ex_link_want_write(&ex->link))
			return;
		if (d->exported)
			ex_discovery_publish_device(ex, d, NULL);
	}
	ex->discovery_pending = false;
	for (size_t i = 0; i < ex->ndevices; i++)
		n += ex->devices[i].exported;
	fb_info("connection %s: discovery published for %zu device%s", ex->conn->name,
		n, n == 1 ? "" : "s");
}
