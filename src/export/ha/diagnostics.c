/* SPDX-License-Identifier: Apache-2.0 */
/* Diagnostic entities of Modbus devices and Modbus servers (see
 * diagnostics.h).  The GPIO driver keeps no such statistics.  Each one is
 * shown only if the users file lets our user read its key (rights.c), like
 * any point. */
#include "diagnostics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Modbus devices have the driver's statistics, a Modbus server's device
 * its own (fb_model_diag_points_of); GPIO devices none. */
static bool has_diag(const struct ex_device *dev)
{
	size_t n;

	return dev->def && fb_model_diag_points_of(dev->def, &n) && n;
}

void ex_diag_discovery_add(const struct exporter *ex, const struct ex_device *dev,
			   cJSON *cmps)
{
	size_t n;
	const struct fb_diag_point_desc *dp = fb_model_diag_points_of(dev->def, &n);
	char buf[256];

	if (!has_diag(dev))
		return;
	for (size_t i = 0; i < n; i++) {
		cJSON *c;

		if (!ex_rights_diag_visible(dev, i))
			continue;
		if (!(c = cJSON_AddObjectToObject(cmps, dp[i].key)))
			return;
		cJSON_AddStringToObject(c, "p", dp[i].binary ? "binary_sensor" : "sensor");
		snprintf(buf, sizeof(buf), "%s_%s%s", ex->conn->node_id, dev->conf->id, dp[i].key);
		cJSON_AddStringToObject(c, "unique_id", buf);
		cJSON_AddStringToObject(c, "name", dp[i].name);
		cJSON_AddStringToObject(c, "entity_category", "diagnostic");
		if (dp[i].device_class)
			cJSON_AddStringToObject(c, "device_class", dp[i].device_class);
		if (dp[i].unit)
			cJSON_AddStringToObject(c, "unit_of_measurement", dp[i].unit);
		if (dp[i].state_class)
			cJSON_AddStringToObject(c, "state_class", dp[i].state_class);
		if (dp[i].binary)
			snprintf(buf, sizeof(buf), "{{ 'ON' if value_json.%s else 'OFF' }}",
				 dp[i].key);
		else
			snprintf(buf, sizeof(buf), "{{ value_json.%s }}", dp[i].key);
		cJSON_AddStringToObject(c, "value_template", buf);
	}
}

/* The driver puts a device's statistics right after its own points: look
 * there first, so attaching stays linear in the table size. */
static long find_near(const struct fb_table_reader *r, size_t npoints, size_t from,
		      const char *device, const char *key)
{
	for (size_t i = from; i < npoints && i < from + 64; i++) {
		const struct fb_point_desc *d = fb_table_reader_point(r, (uint32_t)i);

		if (!strcmp(d->point, key) && !strcmp(d->device, device))
			return (long)i;
	}
	return fb_table_reader_find(r, device, key);
}

void ex_diag_map_points(struct ex_bus *bus, struct ex_device *dev)
{
	size_t n, from = 0;
	const struct fb_diag_point_desc *dp = fb_model_diag_points_of(dev->def, &n);

	if (!bus->reader || !has_diag(dev))
		return;
	if (!dev->diag_index && !(dev->diag_index = calloc(n, sizeof(long))))
		return;
	for (size_t p = 0; p < dev->def->npoints; p++)
		if (dev->point_index[p] >= (long)from)
			from = (size_t)dev->point_index[p] + 1;
	for (size_t i = 0; i < n; i++) {
		long idx = find_near(bus->reader, bus->npoints, from, dev->conf->id, dp[i].key);

		dev->diag_index[i] = idx;
		if (idx >= 0 && (size_t)idx < bus->npoints)
			bus->by_point[idx] = dev;
	}
}

bool ex_diag_published(const struct ex_device *dev, const char *key)
{
	size_t n;
	const struct fb_diag_point_desc *dp = fb_model_diag_points_of(dev->def, &n);

	if (!has_diag(dev))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(dp[i].key, key))
			return ex_rights_diag_visible(dev, i);
	return false;
}

static void add_raw(void *ctx, const char *key, const char *raw)
{
	cJSON_AddRawToObject(ctx, key, raw);
}

void ex_diag_state_add(const struct ex_device *dev, cJSON *doc)
{
	ex_diag_state_each(dev, add_raw, doc);
}

void ex_diag_state_each(const struct ex_device *dev,
			void (*add)(void *ctx, const char *key, const char *raw), void *ctx)
{
	size_t n;
	const struct fb_diag_point_desc *dp = fb_model_diag_points_of(dev->def, &n);
	struct fb_table_reader *r = dev->bus ? dev->bus->reader : NULL;
	char value[64];

	if (!r || !has_diag(dev) || !dev->diag_index)
		return;
	for (size_t i = 0; i < n; i++) {
		long idx = dev->diag_index[i]; /* found once, at attach */
		struct fb_point_snapshot s;

		if (idx < 0 || !ex_rights_diag_visible(dev, i))
			continue;
		fb_table_reader_read(r, (uint32_t)idx, &s);
		/* A read that gave up may be torn: unknown, never a value. */
		if (s.quality == FB_QUALITY_STALE ||
		    fb_value_to_json(&s.value, value, sizeof(value)) < 0)
			snprintf(value, sizeof(value), "null");
		add(ctx, dp[i].key, value);
	}
}
