/* SPDX-License-Identifier: Apache-2.0 */
/* A Modbus TCP server's state as its own table shows it (fieldbridge-mbserver
 * writes one device "mbs-<name>" with its statistics every second): read
 * once per request, so a server added after the web started shows too. */
#include "web-internal.h"
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Silent this long: the server died without removing its table. */
#define MBS_SILENT_MS 5000

cJSON *web_mbs_status(const struct fb_config *cfg, const char *name)
{
	char id[64], path[512];
	struct fb_bus_conf bus = { .name = id };
	cJSON *o = cJSON_CreateObject();
	struct fb_table_reader *r;
	const struct fb_diag_point_desc *dp;
	int64_t age;
	size_t n;

	snprintf(id, sizeof(id), "%s%s", FB_MBS_STATUS_PREFIX, name);
	fb_config_table_name(cfg, &bus, path, sizeof(path));
	r = fb_table_attach(path);
	if (!r) {
		cJSON_AddBoolToObject(o, "running", false);
		cJSON_AddStringToObject(o, "reason", errno == ENOENT ? "not running"
						   : strerror(errno));
		return o;
	}
	age = fb_table_reader_heartbeat_age_ms(r, fb_mono_ms());
	cJSON_AddBoolToObject(o, "running", age >= 0 && age < MBS_SILENT_MS);
	if (age < 0 || age >= MBS_SILENT_MS)
		cJSON_AddStringToObject(o, "reason", age < 0 ? "starting" : "silent (not running)");
	cJSON_AddNumberToObject(o, "heartbeat_age_ms", (double)age);
	dp = fb_model_mbserver_diag_points(&n);
	for (size_t i = 0; i < n; i++) {
		long k = fb_table_reader_find(r, id, dp[i].key);
		struct fb_point_snapshot s;
		char buf[64];

		if (k < 0)
			continue;
		fb_table_reader_read(r, (uint32_t)k, &s);
		if (s.quality != FB_QUALITY_OK || fb_value_to_json(&s.value, buf, sizeof(buf)) < 0)
			continue;
		/* "_diag_clients" -> "clients" */
		cJSON_AddItemToObject(o, dp[i].key + 6, cJSON_Parse(buf));
	}
	fb_table_detach(r);
	return o;
}
