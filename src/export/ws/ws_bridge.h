/* SPDX-License-Identifier: Apache-2.0 */
/* fb_ws: MQTT over WebSocket for libmosquitto 2.0, which has no WebSocket
 * transport of its own (design: docs/websocket.md).
 *
 * A bridge listens on a unix socket inside a private 0700 directory.
 * libmosquitto connects there (mosquitto_connect*(m, path, 0, keepalive):
 * port 0 means "path is a unix socket").  For each accepted connection the
 * bridge opens a WebSocket client connection (libwebsockets) to
 * ws[s]://broker:port/ws_path offering subprotocol "mqtt", and copies bytes
 * both ways, MQTT bytes in binary frames.  MQTT itself, keepalive included,
 * stays entirely in libmosquitto: the bridge sends no WebSocket pings.
 *
 * When the WebSocket side fails or closes, the bridge closes the unix side,
 * so libmosquitto sees an ordinary lost connection and the caller's normal
 * reconnect/backoff applies; fb_ws_bridge_last_error() then says why.
 *
 * Event loop: everything the bridge waits on (listening socket, accepted
 * connections, the broker connection, libwebsockets' timers) sits behind ONE
 * pollable fd plus one deadline, so the caller's single-threaded poll() loop
 * drives it; the bridge never blocks and starts no thread.
 *
 * Errors: -1/NULL with errno for syscall-like failures.  The part never
 * prints (it also silences libwebsockets' own stderr logging, which is
 * process-wide; see fb_ws_bridge_new). */
#ifndef FB_WS_BRIDGE_H
#define FB_WS_BRIDGE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct fb_ws_bridge;

/* What went wrong on the WebSocket side, for the caller's log level and
 * wording: CONNECT/CLOSED are retryable link losses (warning), TLS and HTTP
 * usually need a human (wrong CA, wrong path, credentials). */
enum fb_ws_error {
	FB_WS_ERR_NONE = 0,
	FB_WS_ERR_CONNECT,   /* TCP connect / DNS / timeout before the upgrade */
	FB_WS_ERR_TLS,       /* handshake or certificate verification failed */
	FB_WS_ERR_HTTP,      /* the broker answered the upgrade with a non-101
			      * status (fb_ws_bridge_http_status) */
	FB_WS_ERR_PROTOCOL,  /* bad upgrade answer, e.g. no "mqtt" subprotocol */
	FB_WS_ERR_CLOSED,    /* established, then closed by the broker / network */
};

const char *fb_ws_strerror(enum fb_ws_error e); /* static string */

/* Creates the bridge: a fresh directory "<runtime_dir>/fb-ws-XXXXXX" (mode
 * 0700, mkdtemp), a listening unix socket "mqtt.sock" (0600) in it, and the
 * libwebsockets context (its TLS settings from conn; certificate and key
 * files are read now, so a bad file fails here).
 *   conn: borrowed; must outlive the bridge.  conn->mode is not checked.
 *   runtime_dir: borrowed; NULL = $XDG_RUNTIME_DIR, else /tmp.
 * Returns NULL with errno set (ENAMETOOLONG if the socket path would not fit
 * sun_path, EPROTO if libwebsockets refused the TLS settings).
 * Process-wide side effect: libwebsockets logging is silenced (it would
 * otherwise print to stderr); fb_ws_log_set can route it instead. */
struct fb_ws_bridge *fb_ws_bridge_new(const struct fb_conn_conf *conn,
				      const char *runtime_dir);

/* Closes every connection, removes the socket and its directory.  Accepts
 * NULL. */
void fb_ws_bridge_free(struct fb_ws_bridge *b);

/* The unix socket path for libmosquitto: mosquitto_connect_async(m, path, 0,
 * keep_alive_s).  Borrowed: valid for the bridge's lifetime. */
const char *fb_ws_bridge_socket_path(const struct fb_ws_bridge *b);

/* The broker URL, e.g. "wss://broker.example:8081/mqtt", for messages.
 * Borrowed: valid for the bridge's lifetime. */
const char *fb_ws_bridge_url(const struct fb_ws_bridge *b);

/* The one fd to add to the caller's poll set, with POLLIN; it never
 * changes during the bridge's lifetime.  Must not be closed. */
int fb_ws_bridge_fd(const struct fb_ws_bridge *b);

/* The bridge's next deadline on the fb_mono_ms() clock (CLOCK_MONOTONIC,
 * ms), or 0 if it has none.  A deadline <= now means "service again now".
 * Ask after every fb_ws_bridge_service. */
int64_t fb_ws_bridge_deadline_ms(const struct fb_ws_bridge *b, int64_t now_ms);

/* Does all pending work without blocking: accepts, forwards, TLS,
 * libwebsockets timeouts.  Call after poll() when the fd is readable or the
 * deadline has passed (calling it more often is harmless). */
void fb_ws_bridge_service(struct fb_ws_bridge *b);

/* The last WebSocket-side failure as one line naming the URL, e.g.
 * "ws://127.0.0.1:9001/mqtt: HTTP 404 (upgrade refused)"; NULL when the
 * last connection attempt succeeded or none failed yet.  Borrowed: valid
 * until the next fb_ws_bridge_service.  Never contains secrets. */
const char *fb_ws_bridge_last_error(const struct fb_ws_bridge *b);
enum fb_ws_error fb_ws_bridge_last_error_kind(const struct fb_ws_bridge *b);
int fb_ws_bridge_http_status(const struct fb_ws_bridge *b); /* 0 if none */
/* After a TLS failure: OpenSSL's X509_V_ERR_* verdict on the broker's
 * certificate (e.g. X509_V_ERR_HOSTNAME_MISMATCH), or 0 if the handshake
 * failed for another reason. */
long fb_ws_bridge_tls_verify_error(const struct fb_ws_bridge *b);

/* Counters, for tests and diagnostics. */
struct fb_ws_bridge_stats {
	uint64_t accepted;        /* unix-side connections accepted */
	uint64_t ws_established;  /* successful WebSocket upgrades */
	uint64_t ws_failed;       /* connection errors before the upgrade */
	uint64_t bytes_to_broker;
	uint64_t bytes_from_broker;
	unsigned active;          /* open bridged connections (0 or 1 normally) */
};
void fb_ws_bridge_stats(const struct fb_ws_bridge *b, struct fb_ws_bridge_stats *out);

/* Routes libwebsockets' own log lines (process-wide): emit gets lws's
 * LLL_* level bit and the line; level_mask (LLL_* bits, values below)
 * 0 silences it.  emit NULL = libwebsockets' stderr writer. */
#define FB_WS_LOG_ERRORS 0x3     /* LLL_ERR | LLL_WARN */
#define FB_WS_LOG_VERBOSE 0x10f  /* + LLL_NOTICE | LLL_INFO | LLL_CLIENT */
void fb_ws_log_set(int level_mask, void (*emit)(int level, const char *line));

#endif
