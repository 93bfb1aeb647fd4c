/* SPDX-License-Identifier: Apache-2.0 */
/* One Modbus bus and its devices, from the main file's "buses" array or a
 * buses.d/ file. */
#include "config-internal.h"
#include "config_gpio.h"
#include "jsonfile.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_BUS_PORT_DEFAULT 502 /* Modbus/TCP, MODBUS Messaging on TCP/IP 1.0b §4.1 */

static const char *const bus_keys[] = {
	"name", "transport", "host", "port", "device", "baud", "parity",
	"data_bits", "stop_bits", "response_timeout_ms", "retries",
	"offline_after", "poll_interval_ms", "devices", "byte_timeout_ms",
	"guard_time_ms", "backoff_max_ms", "rs485", "rts", "rts_delay_us",
	"chip", "persist_interval_s", /* (GPIO) config_gpio.c */ NULL,
};

static const char *const device_keys[] = {
	"id", "definition", "unit_id", "name", "area", "poll_interval_ms",
	"response_timeout_ms", "byte_timeout_ms", "retries", "guard_time_ms",
	"lines", /* (GPIO) config_gpio.c */ "points", NULL,
};
static const char *const rs485_names[] = { "auto", "on", "off", NULL };
static const char *const rts_names[] = { "none", "up", "down", NULL };

static const char *const transport_names[] = { "tcp", "rtu", "rtu_over_tcp", "gpio", NULL };
static const char *const parity_names[] = { "N", "E", "O", NULL };

/* The rates termios offers (Bnnn) that RS-485 adapters commonly run. */
static const int bauds[] = {
	300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200,
	230400, 460800, 921600,
};

/* Modbus over serial line V1.02 §2.2: 1..247 are unicast addresses.  A
 * TCP gateway may also be addressed as 0 or 248..255 (MODBUS Messaging on
 * TCP/IP 1.0b §4.4.2: "unit identifier"). */
#define CFG_UNIT_RTU_MIN 1
#define CFG_UNIT_RTU_MAX 247
#define CFG_UNIT_TCP_MAX 255

/* Poll intervals: below 10 ms a bus is saturated; above a day is a typo. */
#define CFG_POLL_MIN_MS 10
#define CFG_POLL_MAX_MS 86400000

/* The link-timing fields: set on the bus, each device may override them
 * within the same range.  A device reads them in this order. */
static const struct link_field {
	const char *key;
	int min, max;
	size_t bus_off, dev_off; /* of the int in fb_bus_conf / fb_device_conf */
} link_fields[] = {
#define LINK_FIELD(k, lo, hi) \
	{ #k, lo, hi, offsetof(struct fb_bus_conf, k), offsetof(struct fb_device_conf, k) }
	LINK_FIELD(poll_interval_ms, CFG_POLL_MIN_MS, CFG_POLL_MAX_MS),
	LINK_FIELD(response_timeout_ms, 1, 60000),
	LINK_FIELD(byte_timeout_ms, 0, 60000),
	LINK_FIELD(retries, 0, 10),
	LINK_FIELD(guard_time_ms, 0, 1000),
#undef LINK_FIELD
};
#define NLINK_FIELDS (sizeof(link_fields) / sizeof(link_fields[0]))

static int *link_int(void *conf, size_t off)
{
	return (int *)((char *)conf + off);
}

static void device_free_fields(struct fb_device_conf *d,
			       void (*def_free)(struct fb_definition *))
{
	free(d->id);
	free(d->definition);
	free(d->name);
	free(d->area);
	for (size_t i = 0; i < d->noverrides; i++) {
		free(d->overrides[i].key);
		free(d->overrides[i].name);
		free(d->overrides[i].device_class);
		free(d->overrides[i].icon);
	}
	free(d->overrides);
	if (d->def && def_free)
		def_free(d->def);
}

void cfg_bus_free_fields(struct fb_bus_conf *b, void (*def_free)(struct fb_definition *))
{
	/* The GPIO part reads b->devices: free it while they still exist. */
	cfg_gpio_free_bus(b);
	for (size_t i = 0; i < b->ndevices; i++)
		device_free_fields(&b->devices[i], def_free);
	free(b->devices);
	free(b->name);
	free(b->source);
	free(b->path);
	free(b->host);
	free(b->device);
}

static bool definition_id_valid(const char *s)
{
	size_t n = strlen(s);

	/* It becomes "<dir>/<id>.json": no '/', no leading '.'. */
	if (n < 1 || n > 63 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

static int read_int(struct cfg_ctx *ctx, const cJSON *obj, const char *key,
		    long long min, long long max, const char *where, int *out)
{
	long long v;
	int rc = fb_json_int(obj, key, false, min, max, where, ctx->diag, &v);

	if (rc == 1)
		*out = (int)v;
	return rc;
}

/* Reads the bus's value of link_fields' `key`. */
static void read_bus_link(struct cfg_ctx *ctx, const cJSON *obj, const char *key,
			  const char *where, struct fb_bus_conf *b)
{
	for (size_t i = 0; i < NLINK_FIELDS; i++)
		if (!strcmp(link_fields[i].key, key))
			read_int(ctx, obj, key, link_fields[i].min, link_fields[i].max, where,
				 link_int(b, link_fields[i].bus_off));
}

/* Device ids already used on the gateway: an open-addressing hash set over
 * the ids parsed so far, so 40,000 devices are checked in linear time
 * (each id compared against every earlier one took seconds). */
static uint64_t id_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The bus index of the device that already has `id`, or SIZE_MAX after
 * recording it as on bus `bus`. */
static size_t device_id_claim(struct cfg_ctx *ctx, const char *id, size_t bus)
{
	struct cfg_id_slot *slot;

	if (ctx->nids * 2 >= ctx->ids_cap) {
		size_t cap = ctx->ids_cap ? ctx->ids_cap * 2 : 64;
		struct cfg_id_slot *n = calloc(cap, sizeof(*n));

		if (!n) {
			ctx->oom = true;
			return SIZE_MAX;
		}
		for (size_t i = 0; i < ctx->ids_cap; i++) {
			if (!ctx->ids[i].id)
				continue;
			for (size_t k = id_hash(ctx->ids[i].id) & (cap - 1); ; k = (k + 1) & (cap - 1)) {
				if (!n[k].id) {
					n[k] = ctx->ids[i];
					break;
				}
			}
		}
		free(ctx->ids);
		ctx->ids = n;
		ctx->ids_cap = cap;
	}
	for (size_t k = id_hash(id) & (ctx->ids_cap - 1); ; k = (k + 1) & (ctx->ids_cap - 1)) {
		slot = &ctx->ids[k];
		if (!slot->id)
			break;
		if (!strcmp(slot->id, id))
			return slot->bus;
	}
	slot->id = id;
	slot->bus = bus;
	ctx->nids++;
	return SIZE_MAX;
}

/* "points": {"door": {"name": "Front door", "device_class": "door",
 * "icon": "mdi:door", "disabled": false}, ...}.  Whether each key is a
 * point of the definition is checked once the definition is loaded. */
static void parse_overrides(struct cfg_ctx *ctx, struct fb_device_conf *d, const cJSON *obj,
			    const char *where)
{
	static const char *const keys[] = { "name", "device_class", "icon", "disabled", NULL };
	const cJSON *pts = cJSON_GetObjectItemCaseSensitive(obj, "points"), *it;
	char pwhere[CFG_WHERE_MAX + 64];
	size_t n = 0;

	if (!pts || cJSON_IsNull(pts))
		return;
	if (!cJSON_IsObject(pts)) {
		fb_json_error(ctx->diag, where, "points", "%s.points: expected an object of "
			      "point key to overrides, e.g. {\"door\": {\"name\": \"Front "
			      "door\", \"device_class\": \"door\"}}", where);
		return;
	}
	cJSON_ArrayForEach(it, pts)
		n++;
	d->overrides = calloc(n ? n : 1, sizeof(*d->overrides));
	if (!d->overrides) {
		ctx->oom = true;
		return;
	}
	cJSON_ArrayForEach(it, pts) {
		struct fb_point_override *o = &d->overrides[d->noverrides];
		const char *s;

		snprintf(pwhere, sizeof(pwhere), "%s.points.%s", where, it->string);
		if (!cJSON_IsObject(it)) {
			fb_json_error(ctx->diag, where, "points", "%s: expected an object with "
				      "name, device_class, icon or disabled", pwhere);
			continue;
		}
		fb_json_unknown_keys(it, keys, pwhere, ctx->diag);
		o->key = cfg_strdup(ctx, it->string);
		if (fb_json_string(it, "name", false, pwhere, ctx->diag, &s) == 1) {
			if (!s[0])
				fb_json_error(ctx->diag, where, "points", "%s.name: expected a "
					      "non-empty name", pwhere);
			else
				o->name = cfg_strdup(ctx, s);
		}
		if (fb_json_string(it, "device_class", false, pwhere, ctx->diag, &s) == 1)
			o->device_class = cfg_strdup(ctx, s);
		if (fb_json_string(it, "icon", false, pwhere, ctx->diag, &s) == 1) {
			const char *colon = strchr(s, ':');

			if (!colon || colon == s || !colon[1])
				fb_json_error(ctx->diag, where, "points", "%s.icon: expected "
					      "\"prefix:name\" such as \"mdi:door\", got \"%s\"",
					      pwhere, s);
			else
				o->icon = cfg_strdup(ctx, s);
		}
		fb_json_bool(it, "disabled", false, pwhere, ctx->diag, &o->disabled);
		d->noverrides++;
	}
}

/* units[u] is 1 + the index of the first device of b with unit_id u, or 0
 * (NULL when out of memory: no duplicate check). */
static void parse_device(struct cfg_ctx *ctx, struct fb_bus_conf *b, bool bus_ok,
			 const cJSON *obj, const char *where_in, size_t *units)
{
	struct fb_device_conf *d = &b->devices[b->ndevices];
	char where[CFG_WHERE_MAX];
	const cJSON *idv = cJSON_GetObjectItemCaseSensitive(obj, "id");
	const char *s;
	size_t owner;
	int unit_rc;
	long long unit_max = b->transport == FB_BUS_RTU && bus_ok ? CFG_UNIT_RTU_MAX
								  : CFG_UNIT_TCP_MAX;
	long long unit_min = b->transport == FB_BUS_RTU && bus_ok ? CFG_UNIT_RTU_MIN : 0;

	memset(d, 0, sizeof(*d));
	d->unit_id = 1;
	for (size_t i = 0; i < NLINK_FIELDS; i++)
		*link_int(d, link_fields[i].dev_off) = *link_int(b, link_fields[i].bus_off);
	if (cJSON_IsString(idv)) {
		/* A message path cut at 1 KiB is still readable: ignore truncation. */
		if (snprintf(where, sizeof(where), "%s (%s)", where_in, idv->valuestring) < 0)
			where[0] = '\0';
	} else
		snprintf(where, sizeof(where), "%s", where_in);
	if (!cJSON_IsObject(obj)) {
		fb_json_error(ctx->diag, where, NULL, "%s: expected a device object", where);
		return;
	}

	s = NULL;
	if (cfg_json_name(obj, "id", true, "device", where, ctx->diag, &s) == 1) {
		d->id = cfg_strdup(ctx, s);
		owner = d->id ? device_id_claim(ctx, d->id, (size_t)(b - ctx->c->buses))
			      : SIZE_MAX;
		if (owner != SIZE_MAX) {
			const struct fb_bus_conf *ob = &ctx->c->buses[owner];

			fb_json_error(ctx->diag, where, "id",
				      "%s.id: duplicate device id \"%s\": expected "
				      "ids unique across the gateway (also on bus %s in %s)",
				      where, s, ob->name ? ob->name : "?", ob->source);
		}
	}
	s = NULL;
	if (fb_json_string(obj, "definition", true, where, ctx->diag, &s) == 1) {
		if (!definition_id_valid(s))
			fb_json_error(ctx->diag, where, "definition",
				      "%s.definition: expected a definition id "
				      "(a file name in definition_dirs without \".json\": "
				      "letters, digits, '.', '_' and '-'), got \"%s\"", where, s);
		d->definition = cfg_strdup(ctx, s);
	}
	unit_rc = read_int(ctx, obj, "unit_id", unit_min, unit_max, where, &d->unit_id);
	if (unit_rc >= 0 && (!bus_ok || b->transport != FB_BUS_GPIO) && units &&
	    d->unit_id >= 0 && d->unit_id <= CFG_UNIT_TCP_MAX) {
		/* One warning per device, naming the first one it collides
		 * with: n devices on one id must not make n^2 messages.  The
		 * default counts too: two devices without unit_id both talk to
		 * unit 1. */
		size_t *first = &units[d->unit_id];

		if (*first == 0) {
			*first = (size_t)(d - b->devices) + 1;
		} else {
			const struct fb_device_conf *o = &b->devices[*first - 1];

			if (unit_rc == 1)
				fb_json_warn(ctx->diag, where, "unit_id",
					     "%s.unit_id: %d is also the unit_id of "
					     "device %s on this bus", where, d->unit_id,
					     o->id ? o->id : "?");
			else
				fb_json_warn(ctx->diag, where, "unit_id",
					     "%s.unit_id: not set, so %d (the default), which "
					     "is also the unit_id of device %s on this bus: "
					     "set unit_id to the device's address", where,
					     d->unit_id, o->id ? o->id : "?");
		}
	}
	s = NULL;
	if (fb_json_string(obj, "name", false, where, ctx->diag, &s) == 1 && s[0]) {
		d->name = cfg_strdup(ctx, s);
	} else {
		/* Replaced by "<model> <id>" once the definition is loaded. */
		d->name = cfg_strdup(ctx, d->id);
		d->name_default = true;
	}
	s = NULL;
	if (fb_json_string(obj, "area", false, where, ctx->diag, &s) == 1 && s[0])
		d->area = cfg_strdup(ctx, s);
	for (size_t i = 0; i < NLINK_FIELDS; i++)
		read_int(ctx, obj, link_fields[i].key, link_fields[i].min, link_fields[i].max,
			 where, link_int(d, link_fields[i].dev_off));
	parse_overrides(ctx, d, obj, where);
	fb_json_unknown_keys(obj, device_keys, where, ctx->diag);
}

static void parse_devices(struct cfg_ctx *ctx, struct fb_bus_conf *b, bool bus_ok,
			  const cJSON *obj, const char *where)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "devices");
	const cJSON *item;
	char dwhere[CFG_WHERE_MAX];
	size_t *units;
	int n, i = 0;

	if (!arr || cJSON_IsNull(arr) || (cJSON_IsArray(arr) && !cJSON_GetArraySize(arr))) {
		fb_json_warn(ctx->diag, where, "devices",
			     "%s.devices: no devices: the bus will poll nothing", where);
		return;
	}
	if (!cJSON_IsArray(arr)) {
		fb_json_error(ctx->diag, where, "devices",
			      "%s.devices: expected an array of device objects", where);
		return;
	}
	n = cJSON_GetArraySize(arr);
	b->devices = calloc((size_t)n, sizeof(*b->devices));
	units = calloc(CFG_UNIT_TCP_MAX + 1, sizeof(*units));
	if (!b->devices || !units) {
		ctx->oom = true;
		free(units);
		return;
	}
	cJSON_ArrayForEach(item, arr) {
		if (snprintf(dwhere, sizeof(dwhere), "%s.devices[%d]", where, i++) < 0)
			dwhere[0] = '\0';
		parse_device(ctx, b, bus_ok, item, dwhere, units);
		b->ndevices++;
	}
	free(units);
}

static void check_baud(struct cfg_ctx *ctx, struct fb_bus_conf *b, const cJSON *obj,
		       const char *where)
{
	long long v;
	char list[256];
	size_t used = 0;

	if (fb_json_int(obj, "baud", false, 1, INT_MAX, where, ctx->diag, &v) != 1)
		return;
	for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++) {
		if (bauds[i] == v) {
			b->baud = (int)v;
			return;
		}
	}
	list[0] = '\0';
	for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d",
					 i ? ", " : "", bauds[i]);
	fb_json_error(ctx->diag, where, "baud",
		      "%s.baud: expected one of %s, got %lld", where, list, v);
}

void cfg_bus_parse(struct cfg_ctx *ctx, const cJSON *obj, const char *source,
		   const char *base_dir, const char *where_in, const char *default_name)
{
	struct fb_config *c = ctx->c;
	struct fb_bus_conf *b;
	char where[CFG_WHERE_MAX];
	const char *s, *problem;
	int t, p;
	bool has_transport;

	(void)base_dir; /* a bus has no paths yet; kept for symmetry with conns */
	if (c->nbuses == ctx->bus_cap) {
		size_t cap = ctx->bus_cap ? ctx->bus_cap * 2 : 4;
		struct fb_bus_conf *nb = realloc(c->buses, cap * sizeof(*nb));

		if (!nb) {
			ctx->oom = true;
			return;
		}
		c->buses = nb;
		ctx->bus_cap = cap;
	}
	b = &c->buses[c->nbuses++];
	memset(b, 0, sizeof(*b));
	b->source = cfg_strdup(ctx, source);
	b->path = fb_json_where_path(where_in);
	ctx->oom |= !b->path;
	b->port = CFG_BUS_PORT_DEFAULT;
	b->baud = 9600;
	b->parity = 'N';
	b->data_bits = 8;
	b->stop_bits = 1;
	b->response_timeout_ms = 500;
	b->retries = 1;
	b->offline_after = 3;
	b->poll_interval_ms = 1000;
	b->backoff_max_ms = 10000;
	b->rs485 = FB_RS485_AUTO;
	b->rts = FB_RTS_NONE;

	cfg_instance_where(where, sizeof(where), where_in, obj, default_name);
	if (!cJSON_IsObject(obj)) {
		fb_json_error(ctx->diag, where, NULL, "%s: expected a bus object", where);
		return;
	}

	s = cfg_instance_name(ctx, obj, default_name, "bus", where);
	if (s)
		b->name = cfg_strdup(ctx, s);

	has_transport = fb_json_enum(obj, "transport", true, transport_names, where,
				     ctx->diag, &t) == 1;
	if (has_transport)
		b->transport = (enum fb_bus_transport)t;

	s = NULL;
	if (fb_json_string(obj, "host", false, where, ctx->diag, &s) == 1) {
		problem = cfg_host_problem(s);
		if (problem)
			fb_json_error(ctx->diag, where, "host",
				      "%s.host: expected %s, got \"%s\"", where,
				      problem, s);
		b->host = cfg_strdup(ctx, s);
	}
	read_int(ctx, obj, "port", 1, 65535, where, &b->port);
	s = NULL;
	if (fb_json_string(obj, "device", false, where, ctx->diag, &s) == 1) {
		if (!s[0])
			fb_json_error(ctx->diag, where, "device",
				      "%s.device: expected a serial device path "
				      "(e.g. /dev/serial/by-id/...), got an empty string", where);
		b->device = cfg_strdup(ctx, s);
	}
	check_baud(ctx, b, obj, where);
	if (fb_json_enum(obj, "parity", false, parity_names, where, ctx->diag, &p) == 1)
		b->parity = parity_names[p][0];
	read_int(ctx, obj, "data_bits", 5, 8, where, &b->data_bits);
	read_int(ctx, obj, "stop_bits", 1, 2, where, &b->stop_bits);
	read_bus_link(ctx, obj, "response_timeout_ms", where, b);
	read_bus_link(ctx, obj, "retries", where, b);
	read_int(ctx, obj, "offline_after", 1, 1000, where, &b->offline_after);
	read_bus_link(ctx, obj, "poll_interval_ms", where, b);
	read_bus_link(ctx, obj, "byte_timeout_ms", where, b);
	read_bus_link(ctx, obj, "guard_time_ms", where, b);
	read_int(ctx, obj, "backoff_max_ms", 100, 3600000, where, &b->backoff_max_ms);
	read_int(ctx, obj, "rts_delay_us", 0, 100000, where, &b->rts_delay_us);
	if (fb_json_enum(obj, "rs485", false, rs485_names, where, ctx->diag, &p) == 1)
		b->rs485 = (enum fb_rs485_mode)p;
	if (fb_json_enum(obj, "rts", false, rts_names, where, ctx->diag, &p) == 1)
		b->rts = (enum fb_rts_mode)p;

	if (has_transport && b->transport != FB_BUS_RTU && b->transport != FB_BUS_GPIO &&
	    !b->host)
		fb_json_error(ctx->diag, where, "host",
			      "%s.host: expected a host name or IP address "
			      "(required for transport %s)", where, transport_names[t]);
	if (has_transport && b->transport == FB_BUS_RTU && !b->device)
		fb_json_error(ctx->diag, where, "device",
			      "%s.device: expected a serial device path "
			      "(required for transport rtu)", where);
	if (has_transport && b->transport == FB_BUS_RTU && b->host)
		fb_json_warn(ctx->diag, where, "host", "%s.host: ignored for transport rtu", where);
	if (has_transport && b->transport != FB_BUS_RTU &&
	    (b->rs485 != FB_RS485_AUTO || b->rts != FB_RTS_NONE))
		fb_json_warn(ctx->diag, where, NULL,
			     "%s: rs485/rts: ignored for transport %s (they "
			     "configure a local serial port)", where, transport_names[t]);
	if (has_transport && b->transport != FB_BUS_RTU && b->device)
		fb_json_warn(ctx->diag, where, "device",
			     "%s.device: ignored for transport %s", where,
			     transport_names[t]);

	parse_devices(ctx, b, has_transport, obj, where);
	cfg_gpio_parse_bus(ctx, b, obj, where);
	fb_json_unknown_keys(obj, bus_keys, where, ctx->diag);
}
