/* SPDX-License-Identifier: Apache-2.0 */
/* The "web" section of the main file: fieldbridge-web's listener, TLS and
 * sessions (docs/web.md).  Only the main file holds it: there is one web
 * daemon per gateway. */
#include "config.h"
#include "config-internal.h"
#include "jsonfile.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const web_keys[] = {
	"listen", "port", "tls", "tls_cert", "tls_key", "trusted_proxies",
	"session_idle_s", NULL,
};
static const char *const tls_names[] = { "auto", "on", "off", NULL };

bool fb_web_addr_valid(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

bool fb_web_addr_loopback(const char *s)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, s, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* An array of IP address literals; names are refused because the listener
 * binds and the proxy check compares peers before any DNS is up. */
static char **parse_addrs(struct cfg_ctx *ctx, const cJSON *obj, const char *key,
			  const char *where, size_t *n)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *item;
	char **out;
	int i = 0;

	*n = 0;
	if (!arr || cJSON_IsNull(arr))
		return NULL;
	if (!cJSON_IsArray(arr)) {
		fb_json_error(ctx->diag, where, key, "%s.%s: expected an array of IP addresses",
			      where, key);
		return NULL;
	}
	out = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
	if (!out) {
		ctx->oom = true;
		return NULL;
	}
	cJSON_ArrayForEach(item, arr) {
		if (!cJSON_IsString(item) || !fb_web_addr_valid(item->valuestring))
			fb_json_error(ctx->diag, where, key, "%s.%s[%d]: expected an IPv4 or IPv6 address, "
				      "got %s%s%s", where, key, i,
				      cJSON_IsString(item) ? "\"" : "",
				      cJSON_IsString(item) ? item->valuestring : "a non-string",
				      cJSON_IsString(item) ? "\"" : "");
		else
			out[(*n)++] = cfg_strdup(ctx, item->valuestring);
		i++;
	}
	return out;
}

void cfg_parse_web(struct cfg_ctx *ctx, const cJSON *web, const char *path)
{
	struct fb_web_conf *w = &ctx->c->web;
	char where[CFG_WHERE_MAX];
	long long v;
	int tls;
	char *p;

	w->port = 8443;
	w->tls = FB_WEB_TLS_AUTO;
	w->session_idle_s = 1800;
	if (!web || cJSON_IsNull(web))
		return;
	snprintf(where, sizeof(where), "%s: web", path);
	if (!cJSON_IsObject(web)) {
		fb_json_error(ctx->diag, where, NULL, "%s: expected an object", where);
		return;
	}
	w->listen = parse_addrs(ctx, web, "listen", where, &w->nlisten);
	if (fb_json_int(web, "port", false, 1, 65535, where, ctx->diag, &v) == 1)
		w->port = (int)v;
	if (fb_json_enum(web, "tls", false, tls_names, where, ctx->diag, &tls) == 1)
		w->tls = (enum fb_web_tls)tls;
	p = NULL;
	if (cfg_json_path(ctx, web, "tls_cert", ctx->main_dir, where, &p) == 1)
		w->tls_cert = p;
	p = NULL;
	if (cfg_json_path(ctx, web, "tls_key", ctx->main_dir, where, &p) == 1)
		w->tls_key = p;
	w->trusted_proxies = parse_addrs(ctx, web, "trusted_proxies", where,
					 &w->ntrusted_proxies);
	if (fb_json_int(web, "session_idle_s", false, 5, 86400, where, ctx->diag, &v) == 1)
		w->session_idle_s = (int)v;
	fb_json_unknown_keys(web, web_keys, where, ctx->diag);

	if (!w->tls_cert != !w->tls_key)
		fb_json_error(ctx->diag, where, w->tls_cert ? "tls_cert" : "tls_key",
			      "%s.%s: expected together with %s", where,
			      w->tls_cert ? "tls_cert" : "tls_key",
			      w->tls_cert ? "tls_key" : "tls_cert");
	if (w->tls == FB_WEB_TLS_ON && !w->tls_cert)
		fb_json_error(ctx->diag, where, "tls", "%s.tls: \"on\" needs tls_cert and tls_key "
			      "(\"auto\" generates a self-signed certificate)", where);
	if (w->tls_cert)
		cfg_check_readable(ctx, where, "tls_cert", w->tls_cert);
	if (w->tls_key)
		cfg_check_readable(ctx, where, "tls_key", w->tls_key);
	if (w->tls == FB_WEB_TLS_OFF) {
		bool all_loopback = w->nlisten > 0;

		for (size_t i = 0; i < w->nlisten; i++)
			all_loopback = all_loopback && fb_web_addr_loopback(w->listen[i]);
		if (!all_loopback)
			fb_json_error(ctx->diag, where, "tls", "%s.tls: \"off\" is allowed only when every "
				      "listen address is loopback (127.0.0.1, ::1): passwords "
				      "and session cookies would cross the network in clear text",
				      where);
	}
}

void cfg_web_free(struct fb_web_conf *w)
{
	for (size_t i = 0; i < w->nlisten; i++)
		free(w->listen[i]);
	free(w->listen);
	for (size_t i = 0; i < w->ntrusted_proxies; i++)
		free(w->trusted_proxies[i]);
	free(w->trusted_proxies);
	free(w->tls_cert);
	free(w->tls_key);
	memset(w, 0, sizeof(*w));
}
