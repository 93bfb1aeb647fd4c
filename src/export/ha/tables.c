/* SPDX-License-Identifier: Apache-2.0 */
/* The exporter's view of the drivers' shm tables.  A bus whose driver is
 * not running yet is attached later; a table superseded by a restarted
 * driver is re-attached; a driver whose heartbeat stops takes its devices
 * offline. */
#include "export-internal.h"
#include "diagnostics.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A driver writes its heartbeat every second; allow for a few slow polls. */
#define HEARTBEAT_STALE_MIN_MS 5000

int ex_tables_build(struct exporter *ex)
{
	size_t ndev = 0;

	ex->nbuses = ex->cfg->nbuses;
	ex->buses = calloc(ex->nbuses ? ex->nbuses : 1, sizeof(*ex->buses));
	for (size_t b = 0; b < ex->cfg->nbuses; b++)
		ndev += ex->cfg->buses[b].ndevices;
	ex->devices = calloc(ndev ? ndev : 1, sizeof(*ex->devices));
	if (!ex->buses || !ex->devices)
		return -1;
	for (size_t b = 0; b < ex->cfg->nbuses; b++) {
		struct ex_bus *bus = &ex->buses[b];
		int slowest = 0;

		bus->conf = &ex->cfg->buses[b];
		fb_config_table_name(ex->cfg, bus->conf, bus->table_name,
				     sizeof(bus->table_name));
		for (size_t i = 0; i < bus->conf->ndevices; i++) {
			const struct fb_device_conf *dc = &bus->conf->devices[i];
			struct ex_device *dev;
			int interval;

			if (!dc->def)
				continue; /* disabled by a bad definition */
			dev = &ex->devices[ex->ndevices++];
			dev->conf = dc;
			dev->def = dc->def;
			dev->bus = bus;
			dev->table_device = -1;
			dev->published_avail = -1;
			dev->point_index = malloc(dc->def->npoints * sizeof(long) + 1);
			dev->last_cmd_ts = calloc(dc->def->npoints + 1, sizeof(int64_t));
			dev->access = calloc(dc->def->npoints + 1, 1);
			if (!dev->point_index || !dev->last_cmd_ts || !dev->access)
				return -1;
			for (size_t p = 0; p < dc->def->npoints; p++)
				dev->point_index[p] = -1;
			if (snprintf(dev->state_topic, sizeof(dev->state_topic), "%s/%s/state",
				     ex->base, dc->id) >= (int)sizeof(dev->state_topic) ||
			    snprintf(dev->avail_topic, sizeof(dev->avail_topic),
				     "%s/%s/availability", ex->base, dc->id) >=
				    (int)sizeof(dev->avail_topic))
				return -1; /* ids are at most 31 characters: cannot happen */
			interval = dc->poll_interval_ms > 0 ? dc->poll_interval_ms
							    : bus->conf->poll_interval_ms;
			if (interval > slowest)
				slowest = interval;
		}
		bus->dirty = calloc(bus->conf->ndevices + 1, sizeof(*bus->dirty));
		if (!bus->dirty)
			return -1;
		bus->stale_after_ms = 3 * (int64_t)slowest;
		if (bus->stale_after_ms < HEARTBEAT_STALE_MIN_MS)
			bus->stale_after_ms = HEARTBEAT_STALE_MIN_MS;
	}
	return 0;
}

static void bus_detach(struct exporter *ex, struct ex_bus *bus)
{
	if (bus->reader)
		ex_commands_bus_lost(ex, bus);
	fb_table_detach(bus->reader);
	bus->reader = NULL;
	free(bus->by_point);
	bus->by_point = NULL;
	bus->npoints = 0;
	free(bus->by_device);
	bus->by_device = NULL;
	bus->ntable_devices = 0;
	bus->alive = false;
	for (size_t i = 0; i < ex->ndevices; i++) {
		struct ex_device *dev = &ex->devices[i];

		if (dev->bus != bus)
			continue;
		dev->table_device = -1;
		for (size_t p = 0; p < dev->def->npoints; p++)
			dev->point_index[p] = -1;
	}
}

void ex_tables_free(struct exporter *ex)
{
	for (size_t b = 0; b < ex->nbuses; b++) {
		bus_detach(ex, &ex->buses[b]);
		free(ex->buses[b].dirty);
	}
	for (size_t i = 0; i < ex->ndevices; i++) {
		free(ex->devices[i].point_index);
		free(ex->devices[i].last_cmd_ts);
		free(ex->devices[i].access);
		free(ex->devices[i].diag_index);
	}
	free(ex->devices);
	free(ex->buses);
}

/* A driver lays its table out in config order, so the next point is almost
 * always at *guess: check there before searching (attach stays linear in
 * the number of points instead of quadratic). */
static long find_point(const struct fb_table_reader *r, size_t npoints, size_t *guess,
		       const char *device, const char *key)
{
	long idx;

	if (*guess < npoints) {
		const struct fb_point_desc *d = fb_table_reader_point(r, (uint32_t)*guess);

		if (!strcmp(d->device, device) && !strcmp(d->point, key))
			return (long)(*guess)++;
	}
	idx = fb_table_reader_find(r, device, key);
	if (idx >= 0)
		*guess = (size_t)idx + 1;
	return idx;
}

/* Maps every exported point to its table slot.  The table comes from
 * another process: a point missing from it (driver running an older
 * config) simply stays unmapped and reads as unknown. */
static int bus_attach(struct exporter *ex, struct ex_bus *bus)
{
	size_t guess = 0;

	bus->reader = fb_table_attach(bus->table_name);
	if (!bus->reader)
		return -1;
	bus->npoints = fb_table_reader_point_count(bus->reader);
	bus->by_point = calloc(bus->npoints ? bus->npoints : 1, sizeof(*bus->by_point));
	bus->ntable_devices = fb_table_reader_device_count(bus->reader);
	bus->by_device = calloc(bus->ntable_devices ? bus->ntable_devices : 1,
				sizeof(*bus->by_device));
	if (!bus->by_point || !bus->by_device) {
		bus_detach(ex, bus);
		return -1;
	}
	for (size_t i = 0; i < ex->ndevices; i++) {
		struct ex_device *dev = &ex->devices[i];

		if (dev->bus != bus)
			continue;
		dev->table_device = fb_table_reader_find_device(bus->reader, dev->conf->id);
		if (dev->table_device >= 0 && (size_t)dev->table_device < bus->ntable_devices)
			bus->by_device[dev->table_device] = dev;
		for (size_t p = 0; p < dev->def->npoints; p++) {
			long idx = find_point(bus->reader, bus->npoints, &guess, dev->conf->id,
					      dev->def->points[p].key);

			dev->point_index[p] = idx;
			if (idx >= 0 && (size_t)idx < bus->npoints)
				bus->by_point[idx] = dev;
		}
		ex_diag_map_points(bus, dev); /* statistics refresh the state too */
		ex_mark_dirty(dev);
	}
	fb_info("bus %s: attached to state table generation %u (%zu points)",
		bus->conf->name, fb_table_reader_generation(bus->reader), bus->npoints);
	return 0;
}

bool ex_device_online(const struct ex_device *dev)
{
	const struct ex_bus *bus = dev->bus;

	return bus->reader && bus->alive && dev->table_device >= 0 &&
	       fb_table_reader_device_online(bus->reader, (uint32_t)dev->table_device);
}

static void bus_availability_changed(struct exporter *ex, struct ex_bus *bus)
{
	for (size_t i = 0; i < ex->ndevices; i++)
		if (ex->devices[i].bus == bus)
			ex_avail_publish(ex, &ex->devices[i], false);
	ex_gateway_state_publish(ex);
}

/* A driver that exits cleanly unlinks its segment without marking it
 * superseded, so its successor's table has to be looked for: while our
 * driver is silent, a live table under the name means it was replaced. */
static bool replaced(const struct ex_bus *bus, int64_t mono_ms)
{
	struct fb_table_reader *r = fb_table_attach(bus->table_name);
	int64_t age;

	if (!r)
		return false;
	age = fb_table_reader_heartbeat_age_ms(r, mono_ms);
	fb_table_detach(r);
	return age >= 0 && age <= bus->stale_after_ms;
}

void ex_tables_maintain(struct exporter *ex, int64_t mono_ms)
{
	for (size_t b = 0; b < ex->nbuses; b++) {
		struct ex_bus *bus = &ex->buses[b];
		bool alive;

		if (bus->reader && fb_table_reader_superseded(bus->reader)) {
			fb_info("bus %s: driver restarted, re-attaching", bus->conf->name);
			bus_detach(ex, bus);
		} else if (bus->reader && !bus->alive && replaced(bus, mono_ms)) {
			fb_info("bus %s: a new driver took over, re-attaching", bus->conf->name);
			bus_detach(ex, bus);
		}
		if (!bus->reader && bus_attach(ex, bus) < 0) {
			if (errno != ENOENT)
				fb_log_errno(FB_LOG_WARNING, "bus %s: cannot attach to /fieldbridge-%s",
					     bus->conf->name, bus->table_name);
			continue;
		}
		int64_t age = fb_table_reader_heartbeat_age_ms(bus->reader, mono_ms);

		alive = age >= 0 && age <= bus->stale_after_ms;
		if (alive != bus->alive) {
			bus->alive = alive;
			if (alive)
				fb_info("bus %s: driver is alive", bus->conf->name);
			else
				fb_warn("bus %s: driver heartbeat stopped (%lld ms old)",
					bus->conf->name, (long long)age);
			bus_availability_changed(ex, bus);
		}
	}
	ex_commands_flush(ex, mono_ms);
	ex_state_publish_dirty(ex);
}

/* The table API's callbacks take one context pointer. */
struct drain_ctx {
	struct exporter *ex;
	struct ex_bus *bus;
	bool availability_changed;
};

static void drain_point(void *ctx, uint32_t index)
{
	struct ex_bus *bus = ((struct drain_ctx *)ctx)->bus;

	if (index < bus->npoints && bus->by_point[index])
		ex_mark_dirty(bus->by_point[index]);
}

static void drain_device(void *ctx, uint32_t index)
{
	struct drain_ctx *d = ctx;
	struct ex_device *dev = index < d->bus->ntable_devices ? d->bus->by_device[index] : NULL;

	if (dev) {
		ex_avail_publish(d->ex, dev, false);
		d->availability_changed = true;
	}
}

void ex_mark_dirty(struct ex_device *dev)
{
	struct ex_bus *bus = dev->bus;

	dev->dirty = true;
	if (!dev->in_dirty_list) {
		dev->in_dirty_list = true;
		bus->dirty[bus->ndirty++] = dev;
	}
}

void ex_tables_drain(struct exporter *ex, struct ex_bus *bus)
{
	struct drain_ctx ctx = { ex, bus, false };

	if (!bus->reader)
		return;
	fb_table_reader_changes(bus->reader, drain_point, drain_device, &ctx);
	ex_command_results(ex, bus);
	if (fb_table_reader_superseded(bus->reader))
		ex_tables_maintain(ex, fb_mono_ms());
	ex_state_publish_dirty(ex);
	if (ctx.availability_changed)
		ex_gateway_state_publish(ex);
}
