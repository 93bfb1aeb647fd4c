/* SPDX-License-Identifier: Apache-2.0 */
/* The transport seam: where libmosquitto's MQTT byte stream goes.
 *
 * libmosquitto is the only MQTT implementation.  In socket mode it
 * connects straight to broker:port.  In websocket mode a bridge plugin
 * (src/export/ws, fieldbridge-ws.so, loaded by ws_load.c only in that
 * mode) listens on a private unix socket, libmosquitto connects
 * there (mosquitto_connect(m, "/dir/sock", 0, keepalive) works), and the
 * bridge forwards the bytes over ws:// or wss://.  The exporter's poll()
 * loop owns everything: a transport only adds fds and is serviced once per
 * pass, it never blocks and never runs a thread.
 *
 * Lifetime: ex_transport_open fills *t; t->close(t->ctx) releases it. */
#ifndef FB_EXPORT_TRANSPORT_H
#define FB_EXPORT_TRANSPORT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct fb_ws_plugin; /* ws_plugin.h */

#define EX_TRANSPORT_FDS_MAX 8

struct ex_transport {
	const char *name;        /* "socket", "websocket": for messages */
	void *ctx;               /* the transport's own state; NULL for socket */
	/* wss: the bridge does TLS, so libmosquitto must not (tls.c skips
	 * mosquitto_tls_set and the bridge reads the ssl_* settings). */
	bool tls_in_transport;
	/* Before every connect attempt: where libmosquitto connects.  *host
	 * is borrowed (valid until the next call); a unix socket path comes
	 * with *port 0.  Returns 0, or -1 with a reason in err. */
	int (*target)(void *ctx, const char **host, int *port, char *err, size_t errlen);
	/* Adds up to `max` fds to the poll set; returns how many. */
	size_t (*add_fds)(void *ctx, struct pollfd *pfd, size_t max);
	/* After poll(), with the slice add_fds filled (revents set).  Returns
	 * the transport's next deadline (fb_mono_ms units), 0 for none. */
	int64_t (*service)(void *ctx, struct pollfd *pfd, size_t n, int64_t now_ms);
	/* Why the last connection failed at the transport level (e.g. "HTTP
	 * 401 from /mqtt"), or NULL; borrowed. */
	const char *(*last_error)(void *ctx);
	/* With tls_in_transport: OpenSSL's X509_V_ERR_* verdict on the
	 * broker's certificate after a refused handshake, 0 if none. */
	long (*tls_verify_error)(void *ctx);
	void (*close)(void *ctx);  /* accepts a NULL ctx */
};

/* Fills *t for conn->mode.  Returns 0, or -1 with a message in err naming
 * the parameter (e.g. connection_mode websocket not built in). */
int ex_transport_open(struct ex_transport *t, const struct fb_conn_conf *conn,
		      char *err, size_t errlen);

/* The WebSocket plugin (ws_load.c), loaded on the first call and kept:
 * $FB_WS_PLUGIN, else the build tree's, else FB_DEFAULT_PLUGIN_DIR's.
 * NULL with a message in err saying which file failed and why (missing,
 * a library it needs missing, another interface version). */
const struct fb_ws_plugin *ex_ws_plugin_load(char *err, size_t errlen);

#endif
