/* SPDX-License-Identifier: Apache-2.0 */
/* The exported devices: lookups, the marks that queue a device for
 * publishing, whether it is online, and event ids.  Pure bookkeeping: it
 * reads the tables but never publishes. */
#include "export-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct ex_device *ex_devices_find(struct exporter *ex, const char *id, size_t len)
{
	for (size_t i = 0; i < ex->ndevices; i++) {
		const char *d = ex->devices[i].conf->id;

		if (strlen(d) == len && !memcmp(d, id, len))
			return &ex->devices[i];
	}
	return NULL;
}

long ex_device_point(const struct ex_device *dev, const char *key)
{
	for (size_t i = 0; i < dev->def->npoints; i++)
		if (!strcmp(dev->def->points[i].key, key))
			return (long)i;
	return -1;
}

/* Each device is listed once, so bus->dirty (one slot per device of the
 * bus) cannot overflow. */
static void list(struct ex_device *dev)
{
	struct ex_bus *bus = dev->bus;

	if (!dev->in_dirty_list) {
		dev->in_dirty_list = true;
		bus->dirty[bus->ndirty++] = dev;
	}
}

void ex_device_mark_dirty(struct ex_device *dev)
{
	dev->dirty = true;
	list(dev);
}

void ex_device_mark_avail(struct ex_device *dev)
{
	dev->avail_dirty = true;
	list(dev);
}

void ex_devices_mark_all(struct exporter *ex)
{
	for (size_t i = 0; i < ex->ndevices; i++) {
		struct ex_device *dev = &ex->devices[i];

		/* The broker may have lost the retained one: send it even if
		 * unchanged. */
		dev->published_avail = -1;
		ex_device_mark_avail(dev);
		ex_device_mark_dirty(dev);
	}
}

bool ex_device_online(const struct ex_device *dev)
{
	const struct ex_bus *bus = dev->bus;

	return bus->reader && bus->alive && dev->table_device >= 0 &&
	       fb_table_reader_device_online(bus->reader, (uint32_t)dev->table_device);
}

void ex_devices_event_id(struct exporter *ex, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s-%" PRIu64, ex->conn->node_id, ex->boot_id,
		 ++ex->event_seq);
}
