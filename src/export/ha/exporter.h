/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FB_EXPORTER_H
#define FB_EXPORTER_H

#include <cjson/cJSON.h>

#include "config.h"
#include "daemon.h"
#include "users.h"

/* Runs the export connection args->instance until SIGINT/SIGTERM; returns
 * the exit code. */
int ex_run(const struct fb_daemon_args *args);

/* What connection `conn` of cfg publishes for device `device_id`, built by
 * the exporter's own code without a broker (library fb_export_ha_doc):
 * {"connection", "node_id", "topic", "payload" (the retained discovery
 * text, byte for byte), "state_topic", "availability_topics"}.  users: the
 * connection's users file (fb_config_load_users), NULL if there is none.
 * NULL if the connection does not export the device (no such device, a bad
 * definition, or its user may see none of its points) or out of memory.
 * Caller frees with cJSON_Delete; cfg, conn and users are borrowed. */
cJSON *ex_preview_device(const struct fb_config *cfg, const struct fb_conn_conf *conn,
			 const struct fb_users *users, const char *device_id);

#endif
