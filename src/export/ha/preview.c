/* SPDX-License-Identifier: Apache-2.0 */
/* What a connection would publish for one device, for the web page's
 * device view: the exporter's own topics, rights and discovery builder on
 * an exporter that never connects (exporter.h). */
#include "export-internal.h"
#include "exporter.h"

#include <stdlib.h>
#include <string.h>

cJSON *ex_preview_device(const struct fb_config *cfg, const struct fb_conn_conf *conn,
			 const struct fb_users *users, const char *device_id)
{
	struct exporter ex;
	const struct ex_device *d;
	cJSON *out = NULL, *doc, *av;
	char topic[EX_TOPIC_MAX], id[128];
	char *text;

	memset(&ex, 0, sizeof(ex));
	/* Only read here; the struct holds them non-const for ex_run. */
	ex.cfg = (struct fb_config *)cfg;
	ex.conn = (struct fb_conn_conf *)conn;
	ex.users = (struct fb_users *)users;
	ex.user = fb_users_find(users, conn->user);
	if (ex_topics_init(&ex) < 0 || ex_devices_build(&ex) < 0)
		goto out;
	d = ex_devices_find(&ex, device_id, strlen(device_id));
	if (!d)
		goto out;
	ex_rights_device_apply(&ex, (struct ex_device *)d);
	if (!d->exported)
		goto out;
	ex_discovery_object_id(&ex, d, id, sizeof(id));
	ex_discovery_topic(&ex, id, topic, sizeof(topic));
	doc = ex_discovery_device_doc(&ex, d, NULL);
	text = doc ? ex_discovery_text(doc) : NULL;
	cJSON_Delete(doc);
	if (!text)
		goto out;
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "connection", conn->name);
	cJSON_AddStringToObject(out, "node_id", conn->node_id);
	cJSON_AddStringToObject(out, "topic", topic);
	cJSON_AddStringToObject(out, "payload", text);
	cJSON_AddStringToObject(out, "state_topic", d->state_topic);
	av = cJSON_AddArrayToObject(out, "availability_topics");
	cJSON_AddItemToArray(av, cJSON_CreateString(ex.status_topic));
	cJSON_AddItemToArray(av, cJSON_CreateString(d->avail_topic));
	free(text);
out:
	ex_devices_free(&ex);
	return out;
}
