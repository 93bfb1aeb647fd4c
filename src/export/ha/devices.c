/* SPDX-License-Identifier: Apache-2.0 */
/* The exported devices: the topics and device list built from the
 * configuration, lookups, the marks that queue a device for publishing,
 * whether it is online, and event ids.  Pure bookkeeping: it reads the
 * tables but never publishes. */
#include "export-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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

int ex_topics_init(struct exporter *ex)
{
	if (snprintf(ex->base, sizeof(ex->base), "fieldbridge/%s", ex->conn->node_id) >=
		    (int)sizeof(ex->base) ||
	    snprintf(ex->status_topic, sizeof(ex->status_topic), "%s/status", ex->base) >=
		    (int)sizeof(ex->status_topic) ||
	    snprintf(ex->gateway_topic, sizeof(ex->gateway_topic), "%s/gateway/state",
		     ex->base) >= (int)sizeof(ex->gateway_topic) ||
	    snprintf(ex->birth_topic, sizeof(ex->birth_topic), "%s/status",
		     ex->conn->discovery_prefix) >= (int)sizeof(ex->birth_topic))
		return -1;
	return 0;
}

/* The config's buses, then each Modbus server's own table (its statistics
 * device, config.h), followed the same way. */
static const struct fb_bus_conf *bus_conf(const struct fb_config *cfg, size_t b)
{
	return b < cfg->nbuses ? &cfg->buses[b] : &cfg->mbservers[b - cfg->nbuses].status;
}

static int device_topics(struct ex_device *dev, const char *base, const char *id)
{
	static const char state[] = "/state", avail[] = "/availability";
	size_t stem = strlen(base) + 1 + strlen(id);
	char *p = malloc(2 * stem + sizeof(state) + sizeof(avail));

	if (!p)
		return -1;
	dev->state_topic = p;
	p += sprintf(p, "%s/%s%s", base, id, state) + 1;
	dev->avail_topic = p;
	sprintf(p, "%s/%s%s", base, id, avail);
	return 0;
}

int ex_devices_build(struct exporter *ex)
{
	size_t ndev = 0;

	ex->nbuses = ex->cfg->nbuses + ex->cfg->nmbservers;
	ex->buses = calloc(ex->nbuses ? ex->nbuses : 1, sizeof(*ex->buses));
	for (size_t b = 0; b < ex->nbuses; b++)
		ndev += bus_conf(ex->cfg, b)->ndevices;
	ex->devices = calloc(ndev ? ndev : 1, sizeof(*ex->devices));
	if (!ex->buses || !ex->devices)
		return -1;
	for (size_t b = 0; b < ex->nbuses; b++) {
		struct ex_bus *bus = &ex->buses[b];
		bool server = b >= ex->cfg->nbuses;

		bus->ex = ex;
		bus->conf = bus_conf(ex->cfg, b);
		for (size_t i = 0; i < bus->conf->ndevices; i++) {
			const struct fb_device_conf *dc = &bus->conf->devices[i];
			const struct fb_definition *def =
				server ? fb_model_mbserver_definition() : dc->def;
			struct ex_device *dev;

			if (!def)
				continue; /* disabled by a bad definition */
			dev = &ex->devices[ex->ndevices++];
			dev->conf = dc;
			dev->def = def;
			dev->bus = bus;
			dev->table_device = -1;
			dev->published_avail = -1;
			dev->logged_avail = -1;
			dev->point_index = malloc(def->npoints * sizeof(long) + 1);
			dev->last_cmd_ts = calloc(def->npoints + 1, sizeof(int64_t));
			dev->access = calloc(def->npoints + 1, 1);
			if (!dev->point_index || !dev->last_cmd_ts || !dev->access)
				return -1;
			for (size_t p = 0; p < def->npoints; p++)
				dev->point_index[p] = -1;
			if (device_topics(dev, ex->base, dc->id) < 0)
				return -1;
		}
	}
	return 0;
}

void ex_devices_free(struct exporter *ex)
{
	for (size_t i = 0; ex->devices && i < ex->ndevices; i++) {
		free(ex->devices[i].point_index);
		free(ex->devices[i].last_cmd_ts);
		free(ex->devices[i].access);
		free(ex->devices[i].diag_index);
		free(ex->devices[i].state_topic); /* and avail_topic */
	}
	free(ex->devices);
	free(ex->buses);
	ex->devices = NULL;
	ex->buses = NULL;
	ex->ndevices = ex->nbuses = 0;
}
