/* SPDX-License-Identifier: Apache-2.0 */
/* Diagnostic entities of Modbus devices: the statistics the driver keeps as
 * extra table points (fb_model_diag_points) published as Home Assistant
 * entities with entity_category "diagnostic".  Kept apart from discovery.c
 * and state.c, which call in with one line each. */
#ifndef FB_EXPORT_DIAGNOSTICS_H
#define FB_EXPORT_DIAGNOSTICS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "export-internal.h"

/* Adds the diagnostic components of a Modbus device to its discovery
 * "cmps" object (borrowed). */
void ex_diag_discovery_add(const struct exporter *ex, const struct ex_device *dev,
			   cJSON *cmps);
/* Maps the device's diagnostic table points to it in bus->by_point, so a
 * statistics update re-publishes the device's state like any change. */
void ex_diag_map_points(struct ex_bus *bus, struct ex_device *dev);
/* Adds "_diag_x": value to the state object doc (borrowed) for each
 * diagnostic point present in the device's table and visible to our user. */
void ex_diag_state_add(const struct ex_device *dev, cJSON *doc);
/* The same pairs handed to add(ctx, key, raw JSON value), in the same
 * order: the state message is built as text (state.c). */
void ex_diag_state_each(const struct ex_device *dev,
			void (*add)(void *ctx, const char *key, const char *raw), void *ctx);
/* True if `key` is a diagnostic component this node publishes for dev now
 * (stale cleanup must keep it). */
bool ex_diag_published(const struct ex_device *dev, const char *key);

#endif
