/* SPDX-License-Identifier: Apache-2.0 */
/* Whether the listener in the files differs from the running one (web.listen,
 * port, tls, tls_cert, tls_key): such a change is applied by the web daemon
 * itself and rolled back unless confirmed from the new address. */
#include "web-internal.h"

#include <stdio.h>
#include <string.h>

static const char *tls_name(enum fb_web_tls t)
{
	return t == FB_WEB_TLS_ON ? "on" : t == FB_WEB_TLS_OFF ? "off" : "auto";
}

static void listen_text(const struct fb_web_conf *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	if (!c->nlisten)
		snprintf(buf, len, "every address");
	for (size_t i = 0; i < c->nlisten && used + 1 < len; i++) {
		snprintf(buf + used, len - used, "%s%s", i ? ", " : "", c->listen[i]);
		used += strlen(buf + used);
	}
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void add(cJSON *arr, const char *field, const char *before, const char *after)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "object", "web");
	cJSON_AddStringToObject(o, "field", field);
	if (before)
		cJSON_AddStringToObject(o, "before", before);
	if (after)
		cJSON_AddStringToObject(o, "after", after);
	cJSON_AddBoolToObject(o, "secret", false);
	cJSON_AddItemToArray(arr, o);
}

cJSON *web_listen_conf_diff(const struct fb_web_conf *run, const struct fb_web_conf *files)
{
	cJSON *arr = cJSON_CreateArray();
	char a[512], b[512];

	listen_text(run, a, sizeof(a));
	listen_text(files, b, sizeof(b));
	if (strcmp(a, b))
		add(arr, "listen", a, b);
	if (run->port != files->port) {
		snprintf(a, sizeof(a), "%d", run->port);
		snprintf(b, sizeof(b), "%d", files->port);
		add(arr, "port", a, b);
	}
	if (run->tls != files->tls)
		add(arr, "tls", tls_name(run->tls), tls_name(files->tls));
	if (!str_eq(run->tls_cert, files->tls_cert))
		add(arr, "tls_cert", run->tls_cert, files->tls_cert);
	if (!str_eq(run->tls_key, files->tls_key))
		add(arr, "tls_key", run->tls_key, files->tls_key);
	return arr;
}
