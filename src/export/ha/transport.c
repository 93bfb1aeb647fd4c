/* SPDX-License-Identifier: Apache-2.0 */
/* Transport selection.  Socket mode is libmosquitto's own TCP connection;
 * websocket mode is the fb_ws bridge (src/export/ws, docs/websocket.md):
 * libmosquitto talks to the bridge's private unix socket and the bridge
 * carries the bytes over ws:// or wss://, doing the TLS itself. */
#include "transport.h"
#include "ws_bridge.h"

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

static int ws_target(void *ctx, const char **host, int *port, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*host = fb_ws_bridge_socket_path(ctx);
	*port = 0; /* libmosquitto: port 0 means host is a unix socket path */
	return 0;
}

static size_t ws_add_fds(void *ctx, struct pollfd *pfd, size_t max)
{
	if (max < 1)
		return 0;
	pfd[0] = (struct pollfd){ .fd = fb_ws_bridge_fd(ctx), .events = POLLIN };
	return 1;
}

/* Serviced on every pass, not only when its fd is readable: its timers
 * (TLS handshake, upgrade timeouts) are behind the returned deadline. */
static int64_t ws_service(void *ctx, struct pollfd *pfd, size_t n, int64_t now_ms)
{
	(void)pfd;
	(void)n;
	fb_ws_bridge_service(ctx);
	return fb_ws_bridge_deadline_ms(ctx, now_ms);
}

static const char *ws_last_error(void *ctx)
{
	return fb_ws_bridge_last_error(ctx);
}

static long ws_tls_verify_error(void *ctx)
{
	return fb_ws_bridge_tls_verify_error(ctx);
}

static void ws_close(void *ctx)
{
	fb_ws_bridge_free(ctx);
}

static int ws_open(struct ex_transport *t, const struct fb_conn_conf *conn,
		   char *err, size_t errlen)
{
	/* systemd's RuntimeDirectory= sets this; the bridge falls back to
	 * $XDG_RUNTIME_DIR or /tmp, always inside a fresh 0700 directory. */
	struct fb_ws_bridge *b = fb_ws_bridge_new(conn, getenv("RUNTIME_DIRECTORY"));

	if (!b) {
		if (errno == EPROTO)
			snprintf(err, errlen, "ssl_server_crt / ssl_client_crt / ssl_client_key / "
				 "ssl_client_key_password: the WebSocket TLS settings were refused "
				 "(unreadable file, bad certificate or wrong key password)");
		else
			snprintf(err, errlen, "cannot start the WebSocket bridge: %s",
				 strerror(errno));
		return -1;
	}
	*t = (struct ex_transport){
		.name = "websocket",
		.ctx = b,
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
