/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-ws.so's entry: the bridge (ws_bridge.c) behind the table of
 * ws_plugin.h.  Everything else in the object is hidden (CMake builds it
 * with hidden visibility), so it cannot clash with the exporter's symbols. */
#include "fb_defaults.h"
#include "ws_bridge.h"
#include "ws_plugin.h"

#include <errno.h>
#include <stdlib.h>

/* The bridge borrows a fb_conn_conf; the plugin's copy lives as long. */
struct handle {
	struct fb_conn_conf conn;
	struct fb_ws_bridge *b;
};

static void *plugin_open(const struct fb_ws_plugin_conf *c)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	/* The bridge only reads these: casting const away is safe. */
	h->conn.mode = FB_CONN_WEBSOCKET;
	h->conn.broker = (char *)c->broker;
	h->conn.port = c->port;
	h->conn.ws_path = (char *)c->ws_path;
	h->conn.ssl = c->ssl == FB_WS_PLUGIN_SSL_ON ? FB_SSL_ON
		    : c->ssl == FB_WS_PLUGIN_SSL_TRUST_ALL ? FB_SSL_TRUST_ALL : FB_SSL_OFF;
	h->conn.ssl_server_crt = (char *)c->ca_file;
	h->conn.ssl_client_crt = (char *)c->client_crt;
	h->conn.ssl_client_key = (char *)c->client_key;
	h->conn.ssl_client_key_password = (char *)c->client_key_password;
	h->conn.hostname_verification = c->hostname_verification;
	h->conn.timeout_s = c->timeout_s;
	h->b = fb_ws_bridge_new(&h->conn, c->runtime_dir);
	if (!h->b) {
		int e = errno;

		free(h);
		errno = e;
		return NULL;
	}
	return h;
}

static void plugin_close(void *p)
{
	struct handle *h = p;

	if (!h)
		return;
	fb_ws_bridge_free(h->b);
	free(h);
}

static const char *plugin_socket_path(void *p)
{
	return fb_ws_bridge_socket_path(((struct handle *)p)->b);
}

static int plugin_fd(void *p)
{
	return fb_ws_bridge_fd(((struct handle *)p)->b);
}

static int64_t plugin_service(void *p, int64_t now_ms)
{
	struct fb_ws_bridge *b = ((struct handle *)p)->b;

	fb_ws_bridge_service(b);
	return fb_ws_bridge_deadline_ms(b, now_ms);
}

static const char *plugin_last_error(void *p)
{
	return fb_ws_bridge_last_error(((struct handle *)p)->b);
}

static long plugin_tls_verify_error(void *p)
{
	return fb_ws_bridge_tls_verify_error(((struct handle *)p)->b);
}

static const struct fb_ws_plugin plugin = {
	.abi = FB_WS_PLUGIN_ABI,
	.size = sizeof(struct fb_ws_plugin),
	.version = FB_VERSION,
	.open = plugin_open,
	.close = plugin_close,
	.socket_path = plugin_socket_path,
	.fd = plugin_fd,
	.service = plugin_service,
	.last_error = plugin_last_error,
	.tls_verify_error = plugin_tls_verify_error,
};

__attribute__((visibility("default"))) fb_ws_plugin_entry_fn fb_ws_plugin_v1;

const struct fb_ws_plugin *fb_ws_plugin_v1(void)
{
	return &plugin;
}
