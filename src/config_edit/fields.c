/* SPDX-License-Identifier: Apache-2.0 */
/* The editable fields of connections, buses, devices, users, Modbus
 * servers and the gateway section, as data:
 * fieldbridgectl checks values against them, `show` lists them, and the web
 * page's JSON Schema is generated from them.  Names, ranges and defaults
 * are those of docs/configuration.md; the loader stays the final judge. */
#include "config_edit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const int intervals_s[] = {
	0, 10, 15, 30, 60, 90, 120, 150, 180, 300, 600, 1200, 1800, 3600,
};
static const int bauds[] = {
	300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200,
	230400, 460800, 921600,
};
static const char *const modes[] = { "socket", "websocket", NULL };
static const char *const ssl_modes[] = { "off", "on", "trust_all", NULL };
static const char *const transports[] = { "tcp", "rtu", "rtu_over_tcp", "gpio", NULL };
static const char *const parities[] = { "N", "E", "O", NULL };
static const char *const rs485_modes[] = { "auto", "on", "off", NULL };
static const char *const rts_modes[] = { "none", "up", "down", NULL };
static const char *const roles[] = { "admin", "operator", "viewer", NULL };
static const char *const mbs_writes[] = { "off", "forward", NULL };
static const char *const mbs_stale[] = { "exception", "last", NULL };
/* The loader's gateway.log_level words (config.c). */
static const char *const log_levels[] = { "warning", "info", "debug", NULL };

#define F_STR(n, req, def, h) { n, FB_FIELD_STRING, req, 0, 0, NULL, 0, NULL, def, h }
#define F_INT(n, lo, hi, def, h) { n, FB_FIELD_INT, false, lo, hi, NULL, 0, NULL, def, h }
#define F_SET(n, s, def, h) { n, FB_FIELD_INT_SET, false, 0, 0, s, N(s), NULL, def, h }
#define F_BOOL(n, def, h) { n, FB_FIELD_BOOL, false, 0, 0, NULL, 0, NULL, def, h }
#define F_ENUM(n, req, c, def, h) { n, FB_FIELD_ENUM, req, 0, 0, NULL, 0, c, def, h }
#define F_TYPE(n, t, h) { n, t, false, 0, 0, NULL, 0, NULL, NULL, h }

/* In the order of the seed's configuration page. */
static const struct fb_field conn_fields[] = {
	F_STR("user", true, NULL, "gateway user whose rights limit what is exported and "
	      "which commands are accepted"),
	F_ENUM("connection_mode", false, modes, "socket",
	       "MQTT over TCP/TLS (socket) or over WebSocket"),
	F_STR("broker", true, NULL, "broker host name or IP address, no scheme, no port"),
	F_INT("port", 1, 65535, "1883", "broker port"),
	F_STR("auth_user", false, NULL, "MQTT user name; none = anonymous"),
	F_TYPE("auth_password", FB_FIELD_SECRET, "MQTT password (secret, stored in "
	       "secrets/); only with auth_user"),
	F_ENUM("ssl", false, ssl_modes, "off",
	       "off, on (TLS, verify the broker), trust_all (TLS, accept any certificate)"),
	F_TYPE("ssl_server_crt", FB_FIELD_CERT, "CA certificate (PEM) the broker's "
	       "certificate must be signed by; none = the system CA store"),
	F_TYPE("ssl_client_crt", FB_FIELD_CERT, "client certificate (PEM), together "
	       "with ssl_client_key"),
	F_TYPE("ssl_client_key", FB_FIELD_KEY, "client private key (PEM)"),
	F_TYPE("ssl_client_key_password", FB_FIELD_SECRET, "passphrase of an encrypted "
	       "client key (secret); only with ssl_client_key"),
	F_BOOL("hostname_verification", "on", "the broker certificate must be issued "
	       "for broker"),
	F_INT("qos", 0, 2, "0", "QoS of every publish and of the command subscription"),
	F_BOOL("retain", "on", "retain state, availability and status messages"),
	F_SET("timeout_s", intervals_s, "90", "connect timeout in seconds; 0 = wait forever"),
	F_SET("keep_alive_s", intervals_s, "60", "MQTT keep-alive in seconds; 0 = off"),
	F_INT("max_inflight", 1, 65000, "10000", "unacknowledged QoS 1/2 messages in flight"),
	F_STR("discovery_prefix", false, "homeassistant", "Home Assistant MQTT discovery "
	      "prefix: a topic without + or #, no leading or trailing /"),
	F_INT("command_max_age_s", 1, 86400, "30", "a command container whose ts is older "
	      "than this when it arrives is dropped (logged)"),
	F_STR("ws_path", false, "/mqtt", "URL path in websocket mode, starting with /"),
	F_STR("node_id", false, "<gateway id>_<connection name>",
	      "letters, digits, _ and -"),
};

static const struct fb_field bus_fields[] = {
	F_ENUM("transport", true, transports, NULL,
	       "tcp, rtu (serial), rtu_over_tcp, gpio (a GPIO chip)"),
	F_STR("host", false, NULL, "tcp, rtu_over_tcp: host name or IP address"),
	F_INT("port", 1, 65535, "502", "tcp, rtu_over_tcp: TCP port"),
	F_STR("device", false, NULL, "rtu: serial device path, e.g. /dev/serial/by-id/..."),
	F_SET("baud", bauds, "9600", "serial speed"),
	F_ENUM("parity", false, parities, "N", "serial parity"),
	F_INT("data_bits", 5, 8, "8", "serial data bits"),
	F_INT("stop_bits", 1, 2, "1", "serial stop bits"),
	F_INT("response_timeout_ms", 1, 60000, "500", "how long to wait for an answer"),
	F_INT("byte_timeout_ms", 0, 60000, "0", "longest silence inside an answer; "
	      "0 = libmodbus' 500 ms"),
	F_INT("retries", 0, 10, "1", "retries of a read without (valid) answer"),
	F_INT("guard_time_ms", 0, 1000, "0", "extra silence after t3.5"),
	F_INT("offline_after", 1, 1000, "3", "consecutive failures before a device is "
	      "unavailable"),
	F_INT("backoff_max_ms", 100, 3600000, "10000", "cap of the offline probe period"),
	F_INT("poll_interval_ms", 10, 86400000, "1000", "default poll interval of the "
	      "bus's devices"),
	F_ENUM("rs485", false, rs485_modes, "auto", "rtu: kernel RS-485 mode"),
	F_ENUM("rts", false, rts_modes, "none", "rtu: driver-toggled RTS"),
	F_INT("rts_delay_us", 0, 100000, "0", "rtu: RTS settle time"),
	F_STR("chip", false, NULL, "gpio: the chip's label, e.g. pinctrl-rp1"),
	F_INT("persist_interval_s", 1, 86400, "60", "gpio: counter state write period"),
};

static const struct fb_field device_fields[] = {
	F_STR("definition", true, NULL, "definition id, e.g. eastron-sdm120"),
	F_INT("unit_id", 0, 255, "1", "Modbus unit address: 1..247 on rtu, 0..255 on tcp"),
	F_STR("name", false, "<model> <id>", "name shown in Home Assistant"),
	F_STR("area", false, NULL, "Home Assistant suggested area"),
	F_INT("poll_interval_ms", 10, 86400000, "the bus's", "poll interval"),
	F_INT("response_timeout_ms", 1, 60000, "the bus's", "answer timeout"),
	F_INT("byte_timeout_ms", 0, 60000, "the bus's", "silence allowed inside an answer"),
	F_INT("retries", 0, 10, "the bus's", "read retries"),
	F_INT("guard_time_ms", 0, 1000, "the bus's", "extra silence after t3.5"),
};

static const struct fb_field user_fields[] = {
	F_ENUM("role", false, roles, "viewer", "admin edits the configuration, operator "
	       "sends commands within its rights, viewer sees values within its rights"),
	F_TYPE("rights", FB_FIELD_RIGHTS, "PATTERN:ACCESS[,PATTERN:ACCESS...], ACCESS "
	       "none, read or write; PATTERN a device or device/point with * ? []"),
	F_TYPE("password", FB_FIELD_SECRET, "web login password, stored as a yescrypt "
	       "hash"),
};

static const struct fb_field server_fields[] = {
	{ "bus", FB_FIELD_NAMES, true, 0, 0, NULL, 0, NULL, NULL,
	  "the Modbus bus whose devices are served; several separated by commas" },
	F_STR("user", true, NULL, "gateway user whose rights limit what is served and "
	      "which writes are forwarded"),
	F_STR("listen", false, "127.0.0.1", "IPv4 or IPv6 address to listen on"),
	F_INT("port", 1, 65535, "5020", "TCP port; 502 needs CAP_NET_BIND_SERVICE"),
	F_ENUM("writes", false, mbs_writes, "off", "off (exception 01) or forward writes "
	       "to the driver as commands"),
	F_ENUM("stale", false, mbs_stale, "exception", "a point whose last read failed: "
	       "exception 0B, or the last words read"),
	F_INT("max_clients", 1, 1024, "32", "connections served at once"),
	F_INT("idle_timeout_s", 1, 3600, "60", "close a client silent this long"),
	F_TYPE("unit_ids", FB_FIELD_UNIT_MAP, "DEVICE:ID[,DEVICE:ID...]: the unit id a "
	       "device answers on (0..255); others keep their bus unit id"),
};

/* The gateway settings a tool sets, in the order of docs/configuration.md.
 * id, the directories and users_file stay hand-written: they rename the
 * state tables and Home Assistant's entities, or move where the tools
 * themselves read and write. */
static const struct fb_field gateway_fields[] = {
	F_STR("name", false, "fieldbridge", "the gateway's name, shown in Home Assistant"),
	F_ENUM("log_level", false, log_levels, "info", "how much every daemon logs: "
	       "warning keeps an installation quiet; a daemon's -q or --log-level wins"),
};

const struct fb_field *fb_edit_fields(enum fb_edit_kind kind, size_t *n)
{
	switch (kind) {
	case FB_EDIT_CONN:
		*n = N(conn_fields);
		return conn_fields;
	case FB_EDIT_BUS:
		*n = N(bus_fields);
		return bus_fields;
	case FB_EDIT_DEVICE:
		*n = N(device_fields);
		return device_fields;
	case FB_EDIT_USER:
		*n = N(user_fields);
		return user_fields;
	case FB_EDIT_SERVER:
		*n = N(server_fields);
		return server_fields;
	case FB_EDIT_GATEWAY:
		*n = N(gateway_fields);
		return gateway_fields;
	}
	*n = 0;
	return NULL;
}

const struct fb_field *fb_edit_field(enum fb_edit_kind kind, const char *name)
{
	size_t n;
	const struct fb_field *f = fb_edit_fields(kind, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

const char *fb_edit_kind_name(enum fb_edit_kind kind)
{
	static const char *const names[] = { "connection", "bus", "device", "user", "server",
					     "gateway" };

	return kind <= FB_EDIT_KIND_LAST ? names[kind] : "?";
}

const char *fb_field_type_name(enum fb_field_type t)
{
	static const char *const names[] = {
		"string", "integer", "integer", "boolean", "enum", "secret",
		"certificate", "key", "rights", "names", "unit map",
	};

	return t <= FB_FIELD_UNIT_MAP ? names[t] : "?";
}

void fb_field_allowed(const struct fb_field *f, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	switch (f->type) {
	case FB_FIELD_INT:
		snprintf(buf, len, "%lld..%lld", f->min, f->max);
		break;
	case FB_FIELD_INT_SET:
		for (size_t i = 0; i < f->nset && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s%d",
						 i ? ", " : "", f->set[i]);
		break;
	case FB_FIELD_ENUM:
		for (size_t i = 0; f->choices[i] && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 i ? ", " : "", f->choices[i]);
		break;
	case FB_FIELD_BOOL:
		snprintf(buf, len, "on, off");
		break;
	default:
		break;
	}
}

static bool parse_ll(const char *text, long long *out)
{
	char *end;

	if (!*text)
		return false;
	errno = 0;
	*out = strtoll(text, &end, 0);
	return !errno && !*end;
}

/* The next comma-separated item of *s, blanks around it trimmed; NULL at
 * the end.  Writes into the caller's copy. */
static char *next_item(char **s)
{
	char *start, *end;

	if (!*s)
		return NULL;
	start = *s;
	end = strchr(start, ',');
	*s = end ? end + 1 : NULL;
	if (end)
		*end = '\0';
	while (*start == ' ' || *start == '\t')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return start;
}

/* "a" -> "a"; "a, b" -> ["a", "b"]: the loader takes either. */
static cJSON *parse_names(const struct fb_field *f, const char *text, char *err, size_t errlen)
{
	char *copy = strdup(text), *rest = copy, *item;
	cJSON *arr = cJSON_CreateArray(), *one;

	while (copy && arr && (item = next_item(&rest))) {
		if (!*item) {
			snprintf(err, errlen, "%s: expected NAME[,NAME...] without empty "
				 "names, got \"%s\"", f->name, text);
			cJSON_Delete(arr);
			free(copy);
			return NULL;
		}
		cJSON_AddItemToArray(arr, cJSON_CreateString(item));
	}
	free(copy);
	if (cJSON_GetArraySize(arr) == 1) {
		one = cJSON_DetachItemFromArray(arr, 0);
		cJSON_Delete(arr);
		return one;
	}
	return arr;
}

/* "m1:5, m2:6" -> { "m1": 5, "m2": 6 }; a device named twice keeps its last. */
static cJSON *parse_unit_map(const struct fb_field *f, const char *text, char *err,
			     size_t errlen)
{
	char *copy = strdup(text), *rest = copy, *item, *colon;
	cJSON *o = cJSON_CreateObject();
	long long v;

	while (copy && o && (item = next_item(&rest))) {
		colon = strrchr(item, ':');
		if (!colon || colon == item || !parse_ll(colon + 1, &v) || v < 0 || v > 255) {
			snprintf(err, errlen, "%s: expected DEVICE:ID with ID 0..255, got \"%s\"",
				 f->name, item);
			cJSON_Delete(o);
			free(copy);
			return NULL;
		}
		*colon = '\0';
		cJSON_DeleteItemFromObjectCaseSensitive(o, item);
		cJSON_AddNumberToObject(o, item, (double)v);
	}
	free(copy);
	return o;
}

cJSON *fb_field_parse(const struct fb_field *f, const char *text, char *err, size_t errlen)
{
	char allowed[256];
	long long v;

	fb_field_allowed(f, allowed, sizeof(allowed));
	switch (f->type) {
	case FB_FIELD_STRING:
		if (!*text) {
			snprintf(err, errlen, "%s: expected a non-empty value", f->name);
			return NULL;
		}
		return cJSON_CreateString(text);
	case FB_FIELD_INT:
		if (parse_ll(text, &v) && v >= f->min && v <= f->max)
			return cJSON_CreateNumber((double)v);
		snprintf(err, errlen, "%s: expected %s, got \"%s\"", f->name, allowed, text);
		return NULL;
	case FB_FIELD_INT_SET:
		if (parse_ll(text, &v))
			for (size_t i = 0; i < f->nset; i++)
				if (f->set[i] == v)
					return cJSON_CreateNumber((double)v);
		snprintf(err, errlen, "%s: expected one of %s, got \"%s\"", f->name, allowed,
			 text);
		return NULL;
	case FB_FIELD_BOOL:
		if (!strcasecmp(text, "on") || !strcasecmp(text, "true") ||
		    !strcasecmp(text, "yes"))
			return cJSON_CreateTrue();
		if (!strcasecmp(text, "off") || !strcasecmp(text, "false") ||
		    !strcasecmp(text, "no"))
			return cJSON_CreateFalse();
		snprintf(err, errlen, "%s: expected on or off, got \"%s\"", f->name, text);
		return NULL;
	case FB_FIELD_ENUM:
		for (size_t i = 0; f->choices[i]; i++)
			if (!strcmp(f->choices[i], text))
				return cJSON_CreateString(text);
		snprintf(err, errlen, "%s: expected one of %s, got \"%s\"", f->name, allowed,
			 text);
		return NULL;
	case FB_FIELD_NAMES:
		return parse_names(f, text, err, errlen);
	case FB_FIELD_UNIT_MAP:
		return parse_unit_map(f, text, err, errlen);
	default:
		snprintf(err, errlen, "%s: not a plain value", f->name);
		return NULL;
	}
}

cJSON *fb_edit_schema(enum fb_edit_kind kind)
{
	size_t n;
	const struct fb_field *f = fb_edit_fields(kind, &n);
	cJSON *schema = cJSON_CreateObject();
	cJSON *props = cJSON_AddObjectToObject(schema, "properties");
	cJSON *req = cJSON_AddArrayToObject(schema, "required");

	cJSON_AddStringToObject(schema, "title", fb_edit_kind_name(kind));
	cJSON_AddStringToObject(schema, "type", "object");
	for (size_t i = 0; i < n; i++) {
		cJSON *p = cJSON_AddObjectToObject(props, f[i].name);
		cJSON *e;

		cJSON_AddStringToObject(p, "description", f[i].help);
		switch (f[i].type) {
		case FB_FIELD_INT:
			cJSON_AddStringToObject(p, "type", "integer");
			cJSON_AddNumberToObject(p, "minimum", (double)f[i].min);
			cJSON_AddNumberToObject(p, "maximum", (double)f[i].max);
			break;
		case FB_FIELD_INT_SET:
			cJSON_AddStringToObject(p, "type", "integer");
			cJSON_AddItemToObject(p, "enum", cJSON_CreateIntArray(f[i].set,
									      (int)f[i].nset));
			break;
		case FB_FIELD_BOOL:
			cJSON_AddStringToObject(p, "type", "boolean");
			break;
		case FB_FIELD_ENUM:
			cJSON_AddStringToObject(p, "type", "string");
			e = cJSON_AddArrayToObject(p, "enum");
			for (size_t k = 0; f[i].choices[k]; k++)
				cJSON_AddItemToArray(e, cJSON_CreateString(f[i].choices[k]));
			break;
		case FB_FIELD_SECRET:
			cJSON_AddStringToObject(p, "type", "string");
			cJSON_AddBoolToObject(p, "writeOnly", 1);
			break;
		default:
			cJSON_AddStringToObject(p, "type", "string");
			break;
		}
		cJSON_AddStringToObject(p, "x-fieldbridge-type", fb_field_type_name(f[i].type));
		if (f[i].default_text)
			cJSON_AddStringToObject(p, "x-default", f[i].default_text);
		if (f[i].required)
			cJSON_AddItemToArray(req, cJSON_CreateString(f[i].name));
	}
	return schema;
}

cJSON *fb_edit_schema_all(void)
{
	cJSON *doc = cJSON_CreateObject();

	for (int k = FB_EDIT_CONN; k <= FB_EDIT_KIND_LAST; k++)
		cJSON_AddItemToObject(doc, fb_edit_kind_name((enum fb_edit_kind)k),
				      fb_edit_schema((enum fb_edit_kind)k));
	return doc;
}
