/* SPDX-License-Identifier: Apache-2.0 */
/* The exporter's view of the buses: one table follower per bus
 * (table_follower.h) whose handlers map the table's points and devices to
 * ours and turn changes into dirty marks.  A bus whose driver is not
 * running yet is attached later; a table superseded by a restarted driver
 * is re-attached; a driver whose heartbeat stops takes its devices
 * offline.  A Modbus server's own table (its statistics) is followed as
 * one more bus. */
#include "export-internal.h"
#include "clock.h"
#include "diagnostics.h"
#include "log.h"
#include "table_follower.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A driver writes its heartbeat every second; allow for a few slow polls. */
#define HEARTBEAT_STALE_MIN_MS 5000

/* The table is going away: our indices into it are void. */
static void on_detaching(void *ctx, struct fb_table_reader *r, enum fb_table_follower_why why)
{
	struct ex_bus *bus = ctx;
	struct exporter *ex = bus->ex;

	(void)r;
	/* Results the driver wrote before it went: a command reported done
	 * must not be sent again to the next driver. */
	ex_commands_results(ex, bus);
	if (why == FB_FOLLOWER_SUPERSEDED)
		fb_info("bus %s: driver restarted, re-attaching", bus->conf->name);
	else if (why == FB_FOLLOWER_REPLACED)
		fb_info("bus %s: a new driver took over, re-attaching", bus->conf->name);
	bus->lost = true; /* commands sent to it are in doubt (session.c) */
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

void ex_bus_view_free(struct exporter *ex)
{
	for (size_t b = 0; ex->buses && b < ex->nbuses; b++) {
		fb_table_follower_free(ex->buses[b].follower);
		free(ex->buses[b].dirty);
	}
	ex_devices_free(ex);
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
static int on_attached(void *ctx, struct fb_table_reader *r)
{
	struct ex_bus *bus = ctx;
	struct exporter *ex = bus->ex;
	size_t guess = 0;

	bus->npoints = fb_table_reader_point_count(r);
	bus->by_point = calloc(bus->npoints ? bus->npoints : 1, sizeof(*bus->by_point));
	bus->ntable_devices = fb_table_reader_device_count(r);
	bus->by_device = calloc(bus->ntable_devices ? bus->ntable_devices : 1,
				sizeof(*bus->by_device));
	bus->reader = r;
	if (!bus->by_point || !bus->by_device) {
		on_detaching(bus, r, FB_FOLLOWER_CLOSED);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < ex->ndevices; i++) {
		struct ex_device *dev = &ex->devices[i];

		if (dev->bus != bus)
			continue;
		dev->table_device = fb_table_reader_find_device(r, dev->conf->id);
		if (dev->table_device >= 0 && (size_t)dev->table_device < bus->ntable_devices)
			bus->by_device[dev->table_device] = dev;
		for (size_t p = 0; p < dev->def->npoints; p++) {
			long idx = find_point(r, bus->npoints, &guess, dev->conf->id,
					      dev->def->points[p].key);

			dev->point_index[p] = idx;
			if (idx >= 0 && (size_t)idx < bus->npoints)
				bus->by_point[idx] = dev;
		}
		ex_diag_map_points(bus, dev); /* statistics refresh the state too */
		ex_device_mark_dirty(dev);
	}
	fb_info("bus %s: attached to state table generation %u (%zu points)",
		bus->conf->name, fb_table_reader_generation(r), bus->npoints);
	return 0;
}

static void on_attach_failed(void *ctx, int err)
{
	struct ex_bus *bus = ctx;

	errno = err;
	fb_log_errno(FB_LOG_WARNING, "bus %s: cannot attach to state table %s",
		     bus->conf->name, bus->table_name);
}

static void on_liveness(void *ctx, bool alive, int64_t age_ms)
{
	struct ex_bus *bus = ctx;
	struct exporter *ex = bus->ex;

	bus->alive = alive;
	if (alive)
		fb_info("bus %s: driver is alive", bus->conf->name);
	else
		fb_warn("bus %s: driver heartbeat stopped (%lld ms old)", bus->conf->name,
			(long long)age_ms);
	for (size_t i = 0; i < ex->ndevices; i++)
		if (ex->devices[i].bus == bus)
			ex_device_mark_avail(&ex->devices[i]);
	bus->avail_changed = true;
}

static void on_point(void *ctx, uint32_t index)
{
	struct ex_bus *bus = ctx;

	if (index < bus->npoints && bus->by_point[index])
		ex_device_mark_dirty(bus->by_point[index]);
}

static void on_device(void *ctx, uint32_t index)
{
	struct ex_bus *bus = ctx;
	struct ex_device *dev = index < bus->ntable_devices ? bus->by_device[index] : NULL;

	if (dev) {
		ex_device_mark_avail(dev);
		bus->avail_changed = true;
	}
}

/* Results come with the same wake-up as changes. */
static void on_drained(void *ctx, struct fb_table_reader *r)
{
	struct ex_bus *bus = ctx;

	(void)r;
	ex_commands_results(bus->ex, bus);
}

static const struct fb_table_follower_handlers follow = {
	.attached = on_attached,
	.detaching = on_detaching,
	.attach_failed = on_attach_failed,
	.liveness = on_liveness,
	.point_changed = on_point,
	.device_changed = on_device,
	.drained = on_drained,
};

int ex_bus_view_build(struct exporter *ex)
{
	if (ex_devices_build(ex) < 0)
		return -1;
	for (size_t b = 0; b < ex->nbuses; b++) {
		struct ex_bus *bus = &ex->buses[b];
		int slowest = 0;

		fb_config_table_name(ex->cfg, bus->conf, bus->table_name,
				     sizeof(bus->table_name));
		for (size_t i = 0; i < ex->ndevices; i++) {
			const struct fb_device_conf *dc = ex->devices[i].conf;
			int interval = dc->poll_interval_ms > 0 ? dc->poll_interval_ms
								: bus->conf->poll_interval_ms;

			if (ex->devices[i].bus == bus && interval > slowest)
				slowest = interval;
		}
		bus->dirty = calloc(bus->conf->ndevices + 1, sizeof(*bus->dirty));
		if (!bus->dirty)
			return -1;
		bus->stale_after_ms = 3 * (int64_t)slowest;
		if (bus->stale_after_ms < HEARTBEAT_STALE_MIN_MS)
			bus->stale_after_ms = HEARTBEAT_STALE_MIN_MS;
		bus->follower = fb_table_follower_new(bus->table_name, bus->stale_after_ms,
						      &follow, bus);
		if (!bus->follower)
			return -1;
	}
	return 0;
}

void ex_bus_view_maintain(struct exporter *ex, int64_t mono_ms)
{
	for (size_t b = 0; b < ex->nbuses; b++)
		fb_table_follower_maintain(ex->buses[b].follower, mono_ms);
}

int64_t ex_bus_view_next_ms(const struct exporter *ex, int64_t mono_ms)
{
	int64_t t = 0;

	for (size_t b = 0; b < ex->nbuses; b++)
		t = fb_deadline_min(t, fb_table_follower_next_ms(ex->buses[b].follower, mono_ms));
	return t;
}

int ex_bus_view_fd(const struct ex_bus *bus)
{
	return fb_table_follower_fd(bus->follower);
}

void ex_bus_view_drain(struct ex_bus *bus, int64_t mono_ms)
{
	fb_table_follower_drain(bus->follower, mono_ms);
}
