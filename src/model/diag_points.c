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

bool fb_model_is_diag_key(const char *key)
{
	return key && !strncmp(key, "_diag_", 6);
}
