/* SPDX-License-Identifier: Apache-2.0 */
/* The diagnostic points every Modbus device gets in the state table.  One
 * list shared by the driver (which creates and writes them) and the
 * exporters (which publish them as Home Assistant diagnostic entities), so
 * the two never disagree about keys, kinds or units. */
#include "model.h"

#include <string.h>

static const struct fb_diag_point_desc diag_points[FB_DIAG_COUNT] = {
	[FB_DIAG_REQUESTS] = { "_diag_requests", "Modbus requests", NULL,
			       "total_increasing", NULL, FB_VALUE_UINT, false },
	[FB_DIAG_ERRORS] = { "_diag_errors", "Modbus errors", NULL,
			     "total_increasing", NULL, FB_VALUE_UINT, false },
	[FB_DIAG_TIMEOUTS] = { "_diag_timeouts", "Modbus timeouts", NULL,
			       "total_increasing", NULL, FB_VALUE_UINT, false },
	[FB_DIAG_CRC_ERRORS] = { "_diag_crc_errors", "Modbus CRC errors", NULL,
				 "total_increasing", NULL, FB_VALUE_UINT, false },
	[FB_DIAG_LATENCY_MS] = { "_diag_latency_ms", "Modbus last latency", "ms",
				 "measurement", "duration", FB_VALUE_FLOAT, false },
	[FB_DIAG_BUS_UTILISATION] = { "_diag_bus_utilisation", "Bus utilisation", "%",
				      "measurement", NULL, FB_VALUE_FLOAT, false },
	[FB_DIAG_BUS_CONNECTED] = { "_diag_bus_connected", "Bus connected", NULL,
				    NULL, "connectivity", FB_VALUE_BOOL, true },
	/* On while a bus scan runs: polling is paused, values are not stale. */
	[FB_DIAG_BUS_SCANNING] = { "_diag_bus_scanning", "Bus scanning", NULL,
				   NULL, "running", FB_VALUE_BOOL, true },
};

const struct fb_diag_point_desc *fb_model_diag_points(size_t *n)
{
	if (n)
		*n = FB_DIAG_COUNT;
	return diag_points;
}

/* fieldbridge-mbserver's own figures, one device per server. */
static const struct fb_diag_point_desc mbs_diag_points[FB_MBS_DIAG_COUNT] = {
	[FB_MBS_DIAG_CLIENTS] = { "_diag_clients", "Clients connected", NULL,
				  "measurement", NULL, FB_VALUE_UINT, false },
	[FB_MBS_DIAG_REQUESTS_PER_S] = { "_diag_requests_per_s", "Requests served", "req/s",
					 "measurement", NULL, FB_VALUE_FLOAT, false },
	[FB_MBS_DIAG_ERRORS_PER_S] = { "_diag_errors_per_s", "Exception replies", "req/s",
				       "measurement", NULL, FB_VALUE_FLOAT, false },
};

/* No points of its own: every entity is a diagnostic one. */
static const struct fb_definition mbs_definition = {
	.id = "fieldbridge-mbserver",
	.path = "(built in)",
	.manufacturer = "fieldbridge",
	.model = "Modbus server",
	.protocol = FB_MODEL_PROTOCOL_MBSERVER,
};

const struct fb_diag_point_desc *fb_model_mbserver_diag_points(size_t *n)
{
	if (n)
		*n = FB_MBS_DIAG_COUNT;
	return mbs_diag_points;
}

const struct fb_definition *fb_model_mbserver_definition(void)
{
	return &mbs_definition;
}

const struct fb_diag_point_desc *fb_model_diag_points_of(const struct fb_definition *def,
							 size_t *n)
{
	const char *proto = def ? def->protocol : NULL;

	if (proto && !strcmp(proto, "modbus"))
		return fb_model_diag_points(n);
	if (proto && !strcmp(proto, FB_MODEL_PROTOCOL_MBSERVER))
		return fb_model_mbserver_diag_points(n);
	*n = 0;
	return NULL;
}

bool fb_model_is_diag_key(const char *key)
{
	return key && !strncmp(key, "_diag_", 6);
}
