/* SPDX-License-Identifier: Apache-2.0 */
/* The "modbus_servers" array of the main file: fieldbridge-mbserver's
 * listeners (docs/mbserver.md).  The bus names and unit ids are checked
 * once every bus is loaded, buses.d/ included. */
#include "config.h"
#include "config-internal.h"
#include "jsonfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const server_keys[] = {
	"name", "listen", "port", "bus", "user", "writes", "stale", "max_clients",
	"idle_timeout_s", "unit_ids", NULL,
};
static const char *const writes_names[] = { "off", "forward", NULL };
static const char *const stale_names[] = { "exception", "last", NULL };

/* "bus": one name or an array of them. */
static void parse_buses(struct cfg_ctx *ctx, const cJSON *obj, struct fb_mbserver_conf *s,
			const char *where)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(obj, "bus"), *item;
	int i = 0;

	if (!b) {
		fb_json_error(ctx->diag, where, "bus", "%s.bus: expected a bus name or an array "
			      "of bus names (required)", where);
		return;
	}
	if (cJSON_IsString(b)) {
		s->buses = calloc(1, sizeof(char *));
		if (!s->buses) {
			ctx->oom = true;
			return;
		}
		s->buses[s->nbuses++] = cfg_strdup(ctx, b->valuestring);
		return;
	}
	if (!cJSON_IsArray(b) || cJSON_GetArraySize(b) == 0) {
		fb_json_error(ctx->diag, where, "bus", "%s.bus: expected a bus name or a non-empty "
			      "array of bus names", where);
		return;
	}
	s->buses = calloc((size_t)cJSON_GetArraySize(b), sizeof(char *));
	if (!s->buses) {
		ctx->oom = true;
		return;
	}
	cJSON_ArrayForEach(item, b) {
		if (!cJSON_IsString(item))
			fb_json_error(ctx->diag, where, "bus", "%s.bus[%d]: expected a bus name",
				      where, i);
		else
			s->buses[s->nbuses++] = cfg_strdup(ctx, item->valuestring);
		i++;
	}
}

static void parse_unit_ids(struct cfg_ctx *ctx, const cJSON *obj,
			   struct fb_mbserver_conf *s, const char *where)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "unit_ids"), *item;
	char at[CFG_WHERE_MAX + 16];
	long long v;

	if (!m || cJSON_IsNull(m))
		return;
	if (!cJSON_IsObject(m)) {
		fb_json_error(ctx->diag, where, "unit_ids", "%s.unit_ids: expected an object "
			      "{ \"<device id>\": <unit id 0..255> }", where);
		return;
	}
	s->unit_ids = calloc((size_t)cJSON_GetArraySize(m) + 1, sizeof(*s->unit_ids));
	if (!s->unit_ids) {
		ctx->oom = true;
		return;
	}
	snprintf(at, sizeof(at), "%s.unit_ids", where);
	cJSON_ArrayForEach(item, m) {
		if (fb_json_int(m, item->string, true, 0, 255, at, ctx->diag, &v) != 1)
			continue;
		s->unit_ids[s->nunit_ids].device = cfg_strdup(ctx, item->string);
		s->unit_ids[s->nunit_ids++].unit_id = (int)v;
	}
}

/* The statistics device and the bus it is alone on (config.h). */
static void status_init(struct cfg_ctx *ctx, struct fb_mbserver_conf *s, const char *name)
{
	char id[64], label[64];

	snprintf(id, sizeof(id), FB_MBS_STATUS_PREFIX "%s", name);
	snprintf(label, sizeof(label), "Modbus server %s", name);
	s->status.name = cfg_strdup(ctx, id);
	s->status.source = cfg_strdup(ctx, s->source ? s->source : "");
	s->status.path = cfg_strdup(ctx, s->path ? s->path : "");
	s->status.transport = FB_BUS_TCP;
	s->status.poll_interval_ms = 1000; /* it writes its figures every second */
	s->status.devices = &s->status_device;
	s->status.ndevices = 1;
	s->status_device.id = cfg_strdup(ctx, id);
	s->status_device.definition = cfg_strdup(ctx, "fieldbridge-mbserver");
	s->status_device.name = cfg_strdup(ctx, label);
	s->status_device.poll_interval_ms = 1000;
}

static void parse_server(struct cfg_ctx *ctx, const cJSON *obj, const char *where,
			 struct fb_mbserver_conf *s, const char *default_name)
{
	const char *str = NULL;
	long long v;
	int e;

	s->port = 5020;
	s->max_clients = 32;
	s->idle_timeout_s = 60;
	if (!cJSON_IsObject(obj)) {
		fb_json_error(ctx->diag, where, NULL, "%s: expected a Modbus server object", where);
		return;
	}
	if (default_name && cJSON_IsObject(obj) &&
	    !cJSON_GetObjectItemCaseSensitive(obj, "name"))
		str = default_name; /* a drop-in is named after its file */
	else if (cfg_json_name(obj, "name", true, "server", where, ctx->diag, &str) != 1)
		str = NULL;
	if (str) {
		for (size_t i = 0; i < ctx->c->nmbservers; i++)
			if (ctx->c->mbservers[i].name && !strcmp(ctx->c->mbservers[i].name, str))
				fb_json_error(ctx->diag, where, "name", "%s.name: expected a name no "
					      "other Modbus server has, got \"%s\" again", where, str);
		if (strlen(str) > FB_MBS_NAME_MAX)
			fb_json_error(ctx->diag, where, "name", "%s.name: expected at most %d "
				      "characters (its diagnostic device is \"" FB_MBS_STATUS_PREFIX
				      "<name>\"), got \"%s\"", where, FB_MBS_NAME_MAX, str);
		s->name = cfg_strdup(ctx, str);
		status_init(ctx, s, str);
	}
	str = NULL;
	if (fb_json_string(obj, "listen", false, where, ctx->diag, &str) == 1 &&
	    !fb_web_addr_valid(str))
		fb_json_error(ctx->diag, where, "listen", "%s.listen: expected an IPv4 or IPv6 "
			      "address, got \"%s\"", where, str);
	s->listen = cfg_strdup(ctx, str ? str : "127.0.0.1");
	if (fb_json_int(obj, "port", false, 1, 65535, where, ctx->diag, &v) == 1)
		s->port = (int)v;
	parse_buses(ctx, obj, s, where);
	str = NULL;
	if (fb_json_string(obj, "user", true, where, ctx->diag, &str) == 1) {
		if (!str[0])
			fb_json_error(ctx->diag, where, "user", "%s.user: expected the name of a "
				      "gateway user account, got an empty string", where);
		s->user = cfg_strdup(ctx, str);
	}
	if (fb_json_enum(obj, "writes", false, writes_names, where, ctx->diag, &e) == 1)
		s->writes = (enum fb_mbs_writes)e;
	if (fb_json_enum(obj, "stale", false, stale_names, where, ctx->diag, &e) == 1)
		s->stale = (enum fb_mbs_stale)e;
	if (fb_json_int(obj, "max_clients", false, 1, 1024, where, ctx->diag, &v) == 1)
		s->max_clients = (int)v;
	if (fb_json_int(obj, "idle_timeout_s", false, 1, 3600, where, ctx->diag, &v) == 1)
		s->idle_timeout_s = (int)v;
	parse_unit_ids(ctx, obj, s, where);
	fb_json_unknown_keys(obj, server_keys, where, ctx->diag);
}

void cfg_parse_mbservers(struct cfg_ctx *ctx, const cJSON *arr, const char *path)
{
	const cJSON *item;
	char where[CFG_WHERE_MAX];
	int i = 0;

	if (!arr || cJSON_IsNull(arr))
		return;
	if (!cJSON_IsArray(arr)) {
		fb_diag_add_at(ctx->diag, FB_SEV_ERROR, path, "", "modbus_servers",
			       "%s: modbus_servers: expected an array of Modbus server objects",
			       path);
		return;
	}
	ctx->c->mbservers = calloc((size_t)cJSON_GetArraySize(arr) + 1,
				   sizeof(*ctx->c->mbservers));
	if (!ctx->c->mbservers) {
		ctx->oom = true;
		return;
	}
	cJSON_ArrayForEach(item, arr) {
		char jpath[32], base[CFG_WHERE_MAX];

		snprintf(jpath, sizeof(jpath), "modbus_servers[%d]", i);
		snprintf(base, sizeof(base), "%s: %s", path, jpath);
		cfg_instance_where(where, sizeof(where), base, item, NULL);
		cfg_mbserver_parse(ctx, item, path, jpath, where, NULL);
		i++;
	}
}

void cfg_mbserver_parse(struct cfg_ctx *ctx, const cJSON *obj, const char *source,
			const char *jpath, const char *where, const char *default_name)
{
	struct fb_mbserver_conf *s, *grown;

	/* Room for one more (the array form allocated its length + 1). */
	grown = realloc(ctx->c->mbservers, (ctx->c->nmbservers + 2) * sizeof(*grown));
	if (!grown) {
		ctx->oom = true;
		return;
	}
	ctx->c->mbservers = grown;
	s = &grown[ctx->c->nmbservers];
	memset(s, 0, 2 * sizeof(*s));
	s->source = cfg_strdup(ctx, source);
	s->path = cfg_strdup(ctx, jpath);
	parse_server(ctx, obj, where, s, default_name);
	ctx->c->nmbservers++;
}

int fb_config_mbserver_unit(const struct fb_mbserver_conf *s, const struct fb_device_conf *dev)
{
	for (size_t i = 0; i < s->nunit_ids; i++)
		if (s->unit_ids[i].device && !strcmp(s->unit_ids[i].device, dev->id))
			return s->unit_ids[i].unit_id;
	return dev->unit_id;
}

/* Every bus exists and is a Modbus bus, every remapped device is on one
 * of them, and no two served devices share a unit id. */
static void check_server(struct cfg_ctx *ctx, const char *path, const struct fb_mbserver_conf *s)
{
	const struct fb_config *c = ctx->c;
	char where[CFG_WHERE_MAX];
	/* unit id -> the device served under it */
	const char *owner[256] = { 0 };

	snprintf(where, sizeof(where), "%s%s%s (%s)", s->source ? s->source : path,
		 s->path && s->path[0] ? ": " : "", s->path ? s->path : "",
		 s->name ? s->name : "?");
	/* Its statistics device and table must not meet a real one's. */
	for (size_t b = 0; s->status.name && b < c->nbuses; b++) {
		if (c->buses[b].name && !strcmp(c->buses[b].name, s->status.name))
			fb_json_error(ctx->diag, where, "name", "%s.name: expected a name whose "
				      "state table \"%s\" no bus has, got bus \"%s\"", where,
				      s->status.name, c->buses[b].name);
		for (size_t d = 0; d < c->buses[b].ndevices; d++)
			if (c->buses[b].devices[d].id &&
			    !strcmp(c->buses[b].devices[d].id, s->status.name))
				fb_json_error(ctx->diag, where, "name", "%s.name: expected a name "
					      "whose diagnostic device \"%s\" is no configured "
					      "device's id", where, s->status.name);
	}
	for (size_t i = 0; i < s->nbuses; i++) {
		const struct fb_bus_conf *b = s->buses[i] ? fb_config_bus(c, s->buses[i]) : NULL;

		if (!b) {
			fb_json_error(ctx->diag, where, "bus", "%s.bus: expected the name of a "
				      "configured bus, got \"%s\"", where,
				      s->buses[i] ? s->buses[i] : "");
			continue;
		}
		if (b->transport == FB_BUS_GPIO) {
			fb_json_error(ctx->diag, where, "bus", "%s.bus: expected a Modbus bus, "
				      "got the GPIO bus \"%s\"", where, b->name);
			continue;
		}
		for (size_t d = 0; d < b->ndevices; d++) {
			const struct fb_device_conf *dc = &b->devices[d];
			int u = fb_config_mbserver_unit(s, dc);

			if (!dc->id || u < 0 || u > 255)
				continue;
			if (owner[u])
				fb_json_error(ctx->diag, where, "unit_ids", "%s: devices %s and %s "
					      "would both be served as unit %d: expected a "
					      "\"unit_ids\" entry giving one of them another unit id",
					      where, owner[u], dc->id, u);
			else
				owner[u] = dc->id;
		}
	}
	for (size_t i = 0; i < s->nunit_ids; i++) {
		bool found = false;

		for (size_t j = 0; j < s->nbuses && !found; j++) {
			const struct fb_bus_conf *b = s->buses[j] ? fb_config_bus(c, s->buses[j])
								  : NULL;

			for (size_t d = 0; b && d < b->ndevices && !found; d++)
				found = b->devices[d].id && s->unit_ids[i].device &&
					!strcmp(b->devices[d].id, s->unit_ids[i].device);
		}
		if (!found)
			fb_json_error(ctx->diag, where, "unit_ids", "%s.unit_ids.%s: expected a "
				      "device on the server's buses", where,
				      s->unit_ids[i].device ? s->unit_ids[i].device : "?");
	}
}

void cfg_mbservers_check(struct cfg_ctx *ctx, const char *path)
{
	for (size_t i = 0; i < ctx->c->nmbservers; i++) {
		struct fb_mbserver_conf *s = &ctx->c->mbservers[i];

		/* The list may have moved while it grew. */
		s->status.devices = &s->status_device;
		check_server(ctx, path, s);
	}
}

struct fb_mbserver_conf *fb_config_mbserver(const struct fb_config *c, const char *name)
{
	for (size_t i = 0; i < c->nmbservers; i++)
		if (c->mbservers[i].name && !strcmp(c->mbservers[i].name, name))
			return &c->mbservers[i];
	return NULL;
}

void cfg_mbservers_free(struct fb_config *c)
{
	for (size_t i = 0; i < c->nmbservers; i++) {
		struct fb_mbserver_conf *s = &c->mbservers[i];

		free(s->name);
		free(s->source);
		free(s->path);
		free(s->listen);
		for (size_t j = 0; j < s->nbuses; j++)
			free(s->buses[j]);
		free(s->buses);
		free(s->user);
		for (size_t j = 0; j < s->nunit_ids; j++)
			free(s->unit_ids[j].device);
		free(s->unit_ids);
		free(s->status.name);
		free(s->status.source);
		free(s->status.path);
		free(s->status_device.id);
		free(s->status_device.definition);
		free(s->status_device.name);
	}
	free(c->mbservers);
	c->mbservers = NULL;
	c->nmbservers = 0;
}
