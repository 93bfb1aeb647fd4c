/* SPDX-License-Identifier: Apache-2.0 */
/* Transport selection.  Socket mode is libmosquitto's own TCP connection;
 * websocket mode is the fb_ws bridge (src/export/ws, docs/websocket.md),
 * a plugin loaded only in that mode (ws_load.c): libmosquitto talks to the
 * bridge's private unix socket and the bridge carries the bytes over ws://
 * or wss://, doing the TLS itself. */
#include "transport.h"
#include "ws_plugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int socket_target(void *ctx, const char **host, int *port, char *err, size_t errlen)
{
	const struct fb_conn_conf *c = ctx; /* borrowed: outlives the transport */

	(void)err;
	(void)errlen;
	*host = c->broker;
	*port = c->port;
	return 0;
}

static size_t no_fds(void *ctx, struct pollfd *pfd, size_t max)
{
	(void)ctx;
	(void)pfd;
	(void)max;
	return 0;
}

static int64_t no_service(void *ctx, struct pollfd *pfd, size_t n, int64_t now_ms)
{
	(void)ctx;
	(void)pfd;
	(void)n;
	(void)now_ms;
	return 0;
}

static const char *no_error(void *ctx)
{
	(void)ctx;
	return NULL;
}

static void socket_close(void *ctx)
{
	(void)ctx;
}

/* websocket: the plugin's table and its bridge. */
struct ws_ctx {
	const struct fb_ws_plugin *p;
	void *bridge;
};

static int ws_target(void *ctx, const char **host, int *port, char *err, size_t errlen)
{
	struct ws_ctx *w = ctx;

	(void)err;
	(void)errlen;
	*host = w->p->socket_path(w->bridge);
	*port = 0; /* libmosquitto: port 0 means host is a unix socket path */
	return 0;
}

static size_t ws_add_fds(void *ctx, struct pollfd *pfd, size_t max)
{
	struct ws_ctx *w = ctx;

	if (max < 1)
		return 0;
	pfd[0] = (struct pollfd){ .fd = w->p->fd(w->bridge), .events = POLLIN };
	return 1;
}

/* Serviced on every pass, not only when its fd is readable: its timers
 * (TLS handshake, upgrade timeouts) are behind the returned deadline. */
static int64_t ws_service(void *ctx, struct pollfd *pfd, size_t n, int64_t now_ms)
{
	struct ws_ctx *w = ctx;

	(void)pfd;
	(void)n;
	return w->p->service(w->bridge, now_ms);
}

static const char *ws_last_error(void *ctx)
{
	struct ws_ctx *w = ctx;

	return w->p->last_error(w->bridge);
}

static long ws_tls_verify_error(void *ctx)
{
	struct ws_ctx *w = ctx;

	return w->p->tls_verify_error(w->bridge);
}

static void ws_close(void *ctx)
{
	struct ws_ctx *w = ctx;

	if (!w)
		return;
	w->p->close(w->bridge);
	free(w);
}

static int ws_open(struct ex_transport *t, const struct fb_conn_conf *conn,
		   char *err, size_t errlen)
{
	const struct fb_ws_plugin *p = ex_ws_plugin_load(err, errlen);
	struct fb_ws_plugin_conf pc;
	struct ws_ctx *w;

	if (!p)
		return -1;
	pc = (struct fb_ws_plugin_conf){
		.broker = conn->broker,
		.port = conn->port,
		.ws_path = conn->ws_path,
		.ssl = conn->ssl == FB_SSL_ON ? FB_WS_PLUGIN_SSL_ON
		     : conn->ssl == FB_SSL_TRUST_ALL ? FB_WS_PLUGIN_SSL_TRUST_ALL
		     : FB_WS_PLUGIN_SSL_OFF,
		.ca_file = conn->ssl_server_crt,
		.client_crt = conn->ssl_client_crt,
		.client_key = conn->ssl_client_key,
		.client_key_password = conn->ssl_client_key_password,
		.hostname_verification = conn->hostname_verification,
		.timeout_s = conn->timeout_s,
		/* systemd's RuntimeDirectory= sets this; the bridge falls
		 * back to $XDG_RUNTIME_DIR or /tmp, always inside a fresh
		 * 0700 directory. */
		.runtime_dir = getenv("RUNTIME_DIRECTORY"),
	};
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->p = p;
	w->bridge = p->open(&pc);
	if (!w->bridge) {
		if (errno == EPROTO)
			snprintf(err, errlen, "ssl_server_crt / ssl_client_crt / ssl_client_key / "
				 "ssl_client_key_password: the WebSocket TLS settings were refused "
				 "(unreadable file, bad certificate or wrong key password)");
		else
			snprintf(err, errlen, "cannot start the WebSocket bridge: %s",
				 strerror(errno));
		free(w);
		return -1;
	}
	*t = (struct ex_transport){
		.name = "websocket",
		.ctx = w,
		.tls_in_transport = true,
		.target = ws_target,
		.add_fds = ws_add_fds,
		.service = ws_service,
		.last_error = ws_last_error,
		.tls_verify_error = ws_tls_verify_error,
		.close = ws_close,
	};
	return 0;
}

int ex_transport_open(struct ex_transport *t, const struct fb_conn_conf *conn,
		      char *err, size_t errlen)
{
	if (conn->mode == FB_CONN_WEBSOCKET)
		return ws_open(t, conn, err, errlen);
	*t = (struct ex_transport){
		.name = "socket",
		/* The conf pointer itself is the context (see socket_target). */
		.ctx = (void *)conn,
		.target = socket_target,
		.add_fds = no_fds,
		.service = no_service,
		.last_error = no_error,
		.close = socket_close,
	};
	return 0;
}
