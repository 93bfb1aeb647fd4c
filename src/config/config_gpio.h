/* SPDX-License-Identifier: Apache-2.0 */
/* (GPIO) The gpio fields of buses and devices: "chip" and
 * "persist_interval_s" on a bus with "transport": "gpio", "lines" on its
 * devices.  Private to the config part. */
#ifndef FB_CONFIG_GPIO_H
#define FB_CONFIG_GPIO_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "config-internal.h"

/* Reads the gpio fields of bus `b` (already parsed from obj, devices
 * included); on other transports reports them as not applicable. */
void cfg_gpio_parse_bus(struct cfg_ctx *ctx, struct fb_bus_conf *b, const cJSON *obj,
			const char *where);
/* Frees the gpio fields of the bus and its devices. */
void cfg_gpio_free_bus(struct fb_bus_conf *b);
/* With its definition loaded: every line-using point has a line, every
 * "lines" entry names such a point, and no line is used twice on the bus.
 * Returns false after adding errors. */
bool cfg_gpio_check_device(const struct fb_bus_conf *b, const struct fb_device_conf *d,
			   const struct fb_definition *def, struct fb_diag *diag);

#endif
