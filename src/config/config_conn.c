/* SPDX-License-Identifier: Apache-2.0 */
/* One Home Assistant MQTT export connection, from the main file's
 * "connections" array or a connections.d/ file. */
#include "config-internal.h"
#include "jsonfile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_MQTT_PORT_DEFAULT 1883 /* IANA "mqtt"; 8883 is MQTT over TLS */

static const char *const conn_keys[] = {
	"name", "user", "connection_mode", "broker", "port", "auth_user",
	"auth_password", "auth_password_file", "ssl", "ssl_server_crt",
	"ssl_client_crt", "ssl_client_key", "ssl_client_key_password",
	"ssl_client_key_password_file", "hostname_verification", "qos", "retain",
	"timeout_s", "keep_alive_s", "max_inflight", "discovery_prefix", "ws_path",
	"node_id", "command_max_age_s", NULL,
};

static const char *const mode_names[] = { "socket", "websocket", NULL };

/* The allowed timeout and keep alive values, in seconds, as a
 * configuration page offers them in a list; 0 = wait forever / no keep
 * alive (docs/configuration.md). */
static const int intervals_s[] = {
	0, 10, 15, 30, 60, 90, 120, 150, 180, 300, 600, 1200, 1800, 3600,
};

bool fb_config_interval_valid(int seconds)
{
	for (size_t i = 0; i < sizeof(intervals_s) / sizeof(intervals_s[0]); i++)
		if (intervals_s[i] == seconds)
			return true;
	return false;
}

static void secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void cfg_conn_free_fields(struct fb_conn_conf *cc)
{
	free(cc->name);
	free(cc->source);
	free(cc->path);
	free(cc->user);
	free(cc->broker);
	free(cc->auth_user);
	secret_free(cc->auth_password);
	free(cc->ssl_server_crt);
	free(cc->ssl_client_crt);
	free(cc->ssl_client_key);
	secret_free(cc->ssl_client_key_password);
	free(cc->discovery_prefix);
	free(cc->ws_path);
	free(cc->node_id);
}

static void read_interval(struct cfg_ctx *ctx, const cJSON *obj, const char *key,
			  const char *where, int *out)
{
	long long v;
	char list[128];
	size_t used = 0;

	if (fb_json_int(obj, key, false, INT_MIN, INT_MAX, where, ctx->diag, &v) != 1)
		return;
	if (fb_config_interval_valid((int)v)) {
		*out = (int)v;
		return;
	}
	list[0] = '\0';
	for (size_t i = 0; i < sizeof(intervals_s) / sizeof(intervals_s[0]); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d",
					 i ? ", " : "", intervals_s[i]);
	fb_json_error(ctx->diag, where, key, "%s.%s: expected one of %s (seconds), got %lld",
		      where, key, list, v);
}

static int read_ssl(struct cfg_ctx *ctx, const cJSON *obj, const char *where,
		    enum fb_ssl_mode *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "ssl");

	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v) ? FB_SSL_ON : FB_SSL_OFF;
		return 1;
	}
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;

		if (!strcasecmp(s, "off")) {
			*out = FB_SSL_OFF;
			return 1;
		}
		if (!strcasecmp(s, "on")) {
			*out = FB_SSL_ON;
			return 1;
		}
		if (!strcasecmp(s, "trust_all") || !strcasecmp(s, "trust all")) {
			*out = FB_SSL_TRUST_ALL;
			return 1;
		}
		fb_json_error(ctx->diag, where, "ssl",
			      "%s.ssl: expected one of off, on, trust_all, got \"%s\"",
			      where, s);
		return -1;
	}
	fb_json_error(ctx->diag, where, "ssl", "%s.ssl: expected one of off, on, trust_all, got %s",
		      where, cJSON_IsNumber(v) ? "a number" : "a non-string value");
	return -1;
}

static bool topic_prefix_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && !strpbrk(s, "+#") && s[0] != '/' && s[n - 1] != '/';
}

static bool node_id_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char ch = *s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* Which of key / key_file the object uses, for messages about a secret. */
static const char *secret_key_used(const cJSON *obj, const char *key, const char *key_file)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return v && !cJSON_IsNull(v) ? key : key_file;
}

static void parse_ssl(struct cfg_ctx *ctx, struct fb_conn_conf *cc, const cJSON *obj,
		      const char *source, const char *base_dir, const char *where)
{
	static const char *const file_keys[] = {
		"ssl_server_crt", "ssl_client_crt", "ssl_client_key",
	};
	char **files[] = { &cc->ssl_server_crt, &cc->ssl_client_crt, &cc->ssl_client_key };
	bool have_key_pw;

	read_ssl(ctx, obj, where, &cc->ssl);
	for (size_t i = 0; i < 3; i++) {
		if (cfg_json_path(ctx, obj, file_keys[i], base_dir, where, files[i]) != 1)
			continue;
		if (cc->ssl == FB_SSL_OFF)
			fb_json_warn(ctx->diag, where, file_keys[i],
				     "%s.%s: ignored because ssl is off", where,
				     file_keys[i]);
		else
			cfg_check_readable(ctx, where, file_keys[i], *files[i]);
	}
	if (cc->ssl_client_crt && !cc->ssl_client_key)
		fb_json_error(ctx->diag, where, "ssl_client_key",
			      "%s.ssl_client_key: expected a client key file "
			      "together with ssl_client_crt", where);
	if (cc->ssl_client_key && !cc->ssl_client_crt)
		fb_json_error(ctx->diag, where, "ssl_client_crt",
			      "%s.ssl_client_crt: expected a client certificate "
			      "file together with ssl_client_key", where);
	have_key_pw = cfg_json_secret(ctx, obj, "ssl_client_key_password", source, base_dir,
				      where, &cc->ssl_client_key_password) == 1;
	if (have_key_pw && !cc->ssl_client_key &&
	    !cJSON_GetObjectItemCaseSensitive(obj, "ssl_client_key"))
		fb_json_error(ctx->diag, where,
			      secret_key_used(obj, "ssl_client_key_password",
					      "ssl_client_key_password_file"),
			      "%s.%s: given without ssl_client_key: expected a "
			      "key password only for an encrypted client key", where,
			      secret_key_used(obj, "ssl_client_key_password",
					      "ssl_client_key_password_file"));
}

static struct fb_conn_conf *conn_append(struct cfg_ctx *ctx)
{
	struct fb_config *c = ctx->c;

	if (c->nconns == ctx->conn_cap) {
		size_t cap = ctx->conn_cap ? ctx->conn_cap * 2 : 4;
		struct fb_conn_conf *nc = realloc(c->conns, cap * sizeof(*nc));

		if (!nc) {
			ctx->oom = true;
			return NULL;
		}
		c->conns = nc;
		ctx->conn_cap = cap;
	}
	return &c->conns[c->nconns++];
}

void cfg_conn_parse(struct cfg_ctx *ctx, const cJSON *obj, const char *source,
		    const char *base_dir, const char *where_in, const char *default_name)
{
	struct fb_config *c = ctx->c;
	struct fb_conn_conf *cc = conn_append(ctx);
	char where[CFG_WHERE_MAX];
	const char *s, *problem;
	long long v;
	int m;
	bool broker_ok = false, port_ok = true;

	if (!cc)
		return;
	memset(cc, 0, sizeof(*cc));
	cc->source = cfg_strdup(ctx, source);
	cc->path = fb_json_where_path(where_in);
	ctx->oom |= !cc->path;
	cc->mode = FB_CONN_SOCKET;
	cc->port = CFG_MQTT_PORT_DEFAULT;
	cc->ssl = FB_SSL_OFF;
	cc->hostname_verification = true;
	cc->qos = 0;
	cc->retain = true;
	cc->timeout_s = 90;
	cc->keep_alive_s = 60;
	cc->max_inflight = 10000;
	cc->command_max_age_s = 30;

	cfg_instance_where(where, sizeof(where), where_in, obj, default_name);
	if (!cJSON_IsObject(obj)) {
		fb_json_error(ctx->diag, where, NULL, "%s: expected a connection object", where);
		return;
	}

	s = cfg_instance_name(ctx, obj, default_name, "connection", where);
	if (s)
		cc->name = cfg_strdup(ctx, s);

	s = NULL;
	if (fb_json_string(obj, "user", true, where, ctx->diag, &s) == 1) {
		if (!s[0])
			fb_json_error(ctx->diag, where, "user",
				      "%s.user: expected the name of a gateway user "
				      "account, got an empty string", where);
		cc->user = cfg_strdup(ctx, s);
	}
	if (fb_json_enum(obj, "connection_mode", false, mode_names, where, ctx->diag, &m) == 1)
		cc->mode = (enum fb_conn_mode)m;

	s = NULL;
	if (fb_json_string(obj, "broker", true, where, ctx->diag, &s) == 1) {
		problem = cfg_host_problem(s);
		if (problem)
			fb_json_error(ctx->diag, where, "broker",
				      "%s.broker: expected %s, got \"%s\"", where,
				      problem, s);
		else
			broker_ok = true;
		cc->broker = cfg_strdup(ctx, s);
	}
	if (fb_json_int(obj, "port", false, 1, 65535, where, ctx->diag, &v) == 1)
		cc->port = (int)v;
	else if (cJSON_GetObjectItemCaseSensitive(obj, "port"))
		port_ok = false;
	if (broker_ok && port_ok) {
		for (size_t i = 0; i + 1 < c->nconns; i++) {
			const struct fb_conn_conf *o = &c->conns[i];

			if (o->broker && !strcasecmp(o->broker, cc->broker) && o->port == cc->port)
				fb_json_error(ctx->diag, where, "broker",
					      "%s.broker: expected at most one export "
					      "connection per broker, but %s port %d is also used "
					      "by connection %s in %s", where, cc->broker, cc->port,
					      o->name ? o->name : "?", o->source);
		}
	}

	s = NULL;
	if (fb_json_string(obj, "auth_user", false, where, ctx->diag, &s) == 1 && s[0])
		cc->auth_user = cfg_strdup(ctx, s);
	if (cfg_json_secret(ctx, obj, "auth_password", source, base_dir, where,
			    &cc->auth_password) == 1 && !cc->auth_user)
		/* MQTT 3.1.1 §3.1.2.9: no password without a user name. */
		fb_json_error(ctx->diag, where,
			      secret_key_used(obj, "auth_password", "auth_password_file"),
			      "%s.%s: given without auth_user: expected a "
			      "password only together with a user name", where,
			      secret_key_used(obj, "auth_password", "auth_password_file"));

	parse_ssl(ctx, cc, obj, source, base_dir, where);
	fb_json_bool(obj, "hostname_verification", false, where, ctx->diag,
		     &cc->hostname_verification);
	if (fb_json_int(obj, "qos", false, 0, 2, where, ctx->diag, &v) == 1)
		cc->qos = (int)v;
	fb_json_bool(obj, "retain", false, where, ctx->diag, &cc->retain);
	read_interval(ctx, obj, "timeout_s", where, &cc->timeout_s);
	read_interval(ctx, obj, "keep_alive_s", where, &cc->keep_alive_s);
	if (fb_json_int(obj, "max_inflight", false, 1, 65000, where, ctx->diag, &v) == 1)
		cc->max_inflight = (int)v;
	if (fb_json_int(obj, "command_max_age_s", false, 1, 86400, where, ctx->diag, &v) == 1)
		cc->command_max_age_s = (int)v;

	s = "homeassistant";
	if (fb_json_string(obj, "discovery_prefix", false, where, ctx->diag, &s) == 1 &&
	    !topic_prefix_valid(s))
		fb_json_error(ctx->diag, where, "discovery_prefix",
			      "%s.discovery_prefix: expected a non-empty MQTT topic "
			      "without wildcards '+' or '#' and without a leading or "
			      "trailing '/' (e.g. \"homeassistant\"), got \"%s\"", where, s);
	cc->discovery_prefix = cfg_strdup(ctx, s);

	s = "/mqtt";
	if (fb_json_string(obj, "ws_path", false, where, ctx->diag, &s) == 1 &&
	    (s[0] != '/' || strpbrk(s, " \t\r\n?#")))
		fb_json_error(ctx->diag, where, "ws_path",
			      "%s.ws_path: expected a URL path starting with '/' "
			      "(e.g. \"/mqtt\"), got \"%s\"", where, s);
	cc->ws_path = cfg_strdup(ctx, s);

	s = NULL;
	if (fb_json_string(obj, "node_id", false, where, ctx->diag, &s) == 1) {
		if (!node_id_valid(s))
			fb_json_error(ctx->diag, where, "node_id",
				      "%s.node_id: expected letters, digits, '_' and "
				      "'-' only, got \"%s\"", where, s);
		cc->node_id = cfg_strdup(ctx, s);
	} else if (c->gateway_id && cc->name) {
		if (asprintf(&cc->node_id, "%s_%s", c->gateway_id, cc->name) < 0) {
			cc->node_id = NULL;
			ctx->oom = true;
		}
	}

	fb_json_unknown_keys(obj, conn_keys, where, ctx->diag);
}
