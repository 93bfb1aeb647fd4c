/* SPDX-License-Identifier: Apache-2.0 */
/* The broker link (see mqtt_link.h).
 *
 * Every connection problem is logged once with its parameter and cause
 * (ex_link_error), then retried with exponential backoff, 1 s to 60 s. */
#include "mqtt_link.h"
#include "clock.h"
#include "log.h"
#include "table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RECONNECT_BACKOFF_MIN_MS 1000
#define RECONNECT_BACKOFF_MAX_MS 60000

static void link_lost(struct ex_link *l, int rc, int64_t now_ms);

void ex_link_error(struct ex_link *l, const char *fmt, ...)
{
	char msg[EX_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, l->last_logged)) {
		fb_err("%s", msg);
		snprintf(l->last_logged, sizeof(l->last_logged), "%s", msg);
	} else {
		fb_debug("%s (again)", msg);
	}
}

/* libmosquitto explains TLS and file errors only in its log. */
static void on_log(struct mosquitto *m, void *obj, int level, const char *str)
{
	struct ex_link *l = obj;

	(void)m;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		snprintf(l->lib_error, sizeof(l->lib_error), "%s", str);
	/* The only sign that mosquitto_loop_misc sent a keepalive. */
	if ((level & MOSQ_LOG_DEBUG) && strstr(str, " sending PINGREQ"))
		l->ping_sent = true;
	/* A handshake that fails inside mosquitto_connect_async frees its
	 * SSL object before we could hold it: ask for the verdict now. */
	if ((level & MOSQ_LOG_ERR) && !l->connected && !l->tls_problem[0])
		ex_tls_explain(l, ex_tls_hold(l), true);
	fb_debug("libmosquitto: %s", str);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct ex_link *l = obj;
	const struct fb_conn_conf *c = l->conn;

	(void)m;
	l->connecting = false;
	l->connect_deadline_ms = 0;
	if (rc != 0) {
		/* Refused: wrong credentials, not authorised, bad protocol. */
		ex_link_error(l, "connection %s: broker %s:%d refused the connection: %s%s",
			      c->name, c->broker, c->port, mosquitto_connack_string(rc),
			      rc == 4 || rc == 5 ? (c->auth_user ?
				" (refused credentials: check auth_user and auth_password)" :
				" (the broker wants credentials: set auth_user and auth_password)") : "");
		link_lost(l, MOSQ_ERR_CONN_REFUSED, fb_mono_ms());
		return;
	}
	fb_info("connection %s: connected to %s:%d (%s%s)", c->name, c->broker, c->port,
		l->transport->name,
		c->ssl == FB_SSL_OFF ? "" : c->ssl == FB_SSL_TRUST_ALL ?
		", TLS NOT verified" : c->hostname_verification ? ", TLS verified" :
		", TLS verified without hostname check");
	l->connected = true;
	l->session_used = true;
	l->reconnect_backoff_ms = 0;
	l->last_logged[0] = l->tls_problem[0] = l->lib_error[0] = '\0';
	if (l->handlers.on_up)
		l->handlers.on_up(l->ctx);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct ex_link *l = obj;

	(void)m;
	/* While connecting, the loop sees the failure too and first asks
	 * the TLS layer why (ex_tls_explain). */
	if (l->stopping || l->connecting)
		return;
	link_lost(l, rc ? rc : MOSQ_ERR_CONN_LOST, fb_mono_ms());
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct ex_link *l = obj;

	(void)m;
	if (l->handlers.on_message)
		l->handlers.on_message(l->ctx, msg);
}

/* A client option libmosquitto refused: the link still works, less well. */
static void option_ok(const struct ex_link *l, const char *what, int rc)
{
	if (rc != MOSQ_ERR_SUCCESS)
		fb_warn("connection %s: libmosquitto refused %s: %s", l->conn->name, what,
			mosquitto_strerror(rc));
}

/* A fresh client handle for every connection: libmosquitto re-sends QoS > 0
 * messages left in flight by the previous connection after the new
 * CONNACK -- old states that would overwrite the fresh ones we publish on
 * connect.  A new handle has no such queue.
 *
 * But one broker session for the connection's whole life: a fixed client
 * id (node_id) and clean_session false, so the broker keeps our
 * subscriptions and queues QoS 1/2 commands while we reconnect, instead of
 * dropping them (an 8 s outage lost 76 of 200 commands with clean
 * sessions).  Redelivered containers are recognised by their event id. */
static int client_new(struct ex_link *l)
{
	const struct fb_conn_conf *c = l->conn;

	if (l->mosq)
		mosquitto_destroy(l->mosq);
	l->session_used = false;
	l->mosq = mosquitto_new(c->node_id, false, l);
	if (!l->mosq) {
		fb_log_errno(FB_LOG_ERR, "connection %s: cannot create MQTT client", c->name);
		return -1;
	}
	option_ok(l, "protocol version 3.1.1",
		  mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311));
	option_ok(l, "max_inflight",
		  mosquitto_max_inflight_messages_set(l->mosq, (unsigned)c->max_inflight));
	/* Small state messages must leave now, not wait for Nagle's timer
	 * (measured: p99 table-to-broker latency 44 ms -> 7 ms). */
	option_ok(l, "TCP_NODELAY", mosquitto_int_option(l->mosq, MOSQ_OPT_TCP_NODELAY, 1));
	mosquitto_connect_callback_set(l->mosq, on_connect);
	mosquitto_disconnect_callback_set(l->mosq, on_disconnect);
	mosquitto_message_callback_set(l->mosq, on_message);
	mosquitto_log_callback_set(l->mosq, on_log);
	if (c->auth_user &&
	    mosquitto_username_pw_set(l->mosq, c->auth_user, c->auth_password) != 0)
		return -1;
	if (mosquitto_will_set(l->mosq, l->will_topic, 7, "offline", c->qos, c->retain) != 0)
		return -1;
	return ex_tls_setup(l);
}

int ex_link_init(struct ex_link *l, const struct fb_conn_conf *conn,
		 const struct ex_transport *transport, const char *will_topic,
		 const struct ex_link_handlers *handlers, void *ctx)
{
	memset(l, 0, sizeof(*l));
	l->conn = conn;
	l->transport = transport;
	l->handlers = *handlers;
	l->ctx = ctx;
	snprintf(l->will_topic, sizeof(l->will_topic), "%s", will_topic);
	mosquitto_lib_init();
	return client_new(l);
}

void ex_link_free(struct ex_link *l)
{
	if (!l->conn)
		return; /* never initialised */
	if (l->mosq)
		mosquitto_destroy(l->mosq);
	l->mosq = NULL;
	mosquitto_lib_cleanup();
	l->conn = NULL;
}

void ex_link_connect(struct ex_link *l, int64_t now_ms)
{
	const struct fb_conn_conf *c = l->conn;
	const struct ex_transport *t = l->transport;
	const char *host;
	char err[EX_ERR_MAX];
	int port, rc;

	l->reconnect_at_ms = 0;
	l->tls_problem[0] = l->lib_error[0] = '\0';
	if (l->session_used && client_new(l) < 0) {
		ex_link_error(l, "connection %s: cannot create a new MQTT client", c->name);
		link_lost(l, MOSQ_ERR_NOMEM, now_ms);
		return;
	}
	if (c->ssl != FB_SSL_OFF && !t->tls_in_transport) {
		rc = ex_tls_precheck(c, err, sizeof(err));
		if (err[0])
			ex_link_error(l, "%s", err);
		if (rc < 0) {
			link_lost(l, MOSQ_ERR_TLS, now_ms);
			return;
		}
	}
	if (t->target(t->ctx, &host, &port, err, sizeof(err)) < 0) {
		ex_link_error(l, "connection %s: %s transport: %s", c->name, t->name, err);
		link_lost(l, MOSQ_ERR_NO_CONN, now_ms);
		return;
	}
	/* Asynchronous: the TCP connect, TLS handshake and CONNECT packet
	 * complete in the loop, so a silent broker cannot block us;
	 * timeout_s bounds the whole attempt. */
	errno = 0;
	rc = mosquitto_connect_async(l->mosq, host, port, c->keep_alive_s);
	l->last_in_ms = l->last_out_ms = now_ms;
	if (rc != MOSQ_ERR_SUCCESS) {
		link_lost(l, rc, now_ms);
		return;
	}
	l->connecting = true;
	l->connect_deadline_ms = c->timeout_s ? now_ms + (int64_t)c->timeout_s * 1000 : 0;
}

int64_t ex_link_deadlines(struct ex_link *l, int64_t now_ms)
{
	const struct fb_conn_conf *c = l->conn;

	if (l->reconnect_at_ms && now_ms >= l->reconnect_at_ms)
		ex_link_connect(l, now_ms);
	if (l->connecting && l->connect_deadline_ms && now_ms >= l->connect_deadline_ms) {
		ex_link_error(l, "connection %s: broker %s:%d: no answer within timeout_s=%d "
			      "(unreachable broker or not an MQTT server)", c->name, c->broker,
			      c->port, c->timeout_s);
		link_lost(l, MOSQ_ERR_TIMEOUT, now_ms);
	}
	return fb_deadline_min(l->reconnect_at_ms, l->connect_deadline_ms);
}

/* libmosquitto sends PINGREQ once keep_alive_s passed since the last
 * packet out or in, on whole seconds of CLOCK_MONOTONIC (fb_mono_ms's
 * clock): due at the start of that second, never later. */
int64_t ex_link_keepalive_ms(const struct ex_link *l)
{
	int64_t last = l->last_in_ms < l->last_out_ms ? l->last_in_ms : l->last_out_ms;
	int64_t due;

	if (l->conn->keep_alive_s <= 0 || !(l->connected || l->connecting))
		return 0;
	due = (last / 1000 + l->conn->keep_alive_s) * 1000;
	return due > l->keepalive_recheck_ms ? due : l->keepalive_recheck_ms;
}

void ex_link_misc(struct ex_link *l, int64_t now_ms)
{
	if (!(l->connected || l->connecting))
		return;
	l->ping_sent = false;
	mosquitto_loop_misc(l->mosq); /* keepalive PINGREQ */
	if (l->ping_sent || l->connecting) {
		/* As libmosquitto after a PINGREQ: the broker gets
		 * keep_alive_s to answer before the next check (no PINGRESP
		 * then: connection lost). */
		l->last_in_ms = l->last_out_ms = now_ms;
		l->keepalive_recheck_ms = 0;
	} else {
		/* Not due by libmosquitto's clock: once assuming it pinged
		 * made the next PINGREQ a whole period late. */
		l->keepalive_recheck_ms = now_ms + 1000;
	}
}

int ex_link_socket(const struct ex_link *l)
{
	return (l->connected || l->connecting) ? mosquitto_socket(l->mosq) : -1;
}

bool ex_link_want_write(const struct ex_link *l)
{
	return l->mosq && mosquitto_want_write(l->mosq);
}

/* The TCP connect failed: the pending error or, once taken, a socket that
 * is not connected and never received a byte (a TLS alert from a broker
 * that did answer is left to the handshake's explanation). */
static bool refused(const struct ex_link *l)
{
	int sock = mosquitto_socket(l->mosq), err = 0;
	socklen_t elen = sizeof(err);
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char b;

	if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err)
		return err == ECONNREFUSED;
	return getpeername(sock, (struct sockaddr *)&peer, &plen) < 0 && errno == ENOTCONN &&
	       recv(sock, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

bool ex_link_service(struct ex_link *l, short revents, int64_t now_ms)
{
	int rc = MOSQ_ERR_SUCCESS;
	/* During the handshake: keep the SSL object alive past a failure, to
	 * say why it failed. */
	void *held = l->connecting ? ex_tls_hold(l) : NULL;

	/* A refused TCP connect under TLS: libmosquitto 2.0.11's first
	 * handshake write already took the error, and it reads the
	 * handshake's SSL_ERROR_SYSCALL as "try again" -- a busy loop until
	 * timeout_s.  A hung-up socket that never got connected says it. */
	if (l->connecting && (revents & (POLLHUP | POLLERR)) && refused(l)) {
		if (held)
			ex_tls_explain(l, held, false);
		errno = ECONNREFUSED;
		link_lost(l, MOSQ_ERR_ERRNO, now_ms);
		return false;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		rc = mosquitto_loop_read(l->mosq, 1);
		l->last_in_ms = now_ms;
	}
	if (rc == MOSQ_ERR_SUCCESS && (revents & POLLOUT)) {
		rc = mosquitto_loop_write(l->mosq, 1);
		l->last_out_ms = now_ms;
	}
	ex_tls_explain(l, held, rc != MOSQ_ERR_SUCCESS);
	if (rc != MOSQ_ERR_SUCCESS) {
		link_lost(l, rc, now_ms);
		return false;
	}
	return true;
}

void ex_link_close(struct ex_link *l, const char *payload)
{
	l->stopping = true;
	if (!l->connected)
		return;
	if (payload)
		ex_link_publish(l, l->will_topic, payload);
	if (mosquitto_disconnect(l->mosq) != MOSQ_ERR_SUCCESS)
		return; /* the socket is gone already: nothing to flush */
	for (int i = 0; i < 10 && mosquitto_want_write(l->mosq); i++)
		mosquitto_loop_write(l->mosq, 1);
}

/* Names the cause of a failed or lost connection. */
static void describe_loss(struct ex_link *l, int rc, int err, bool was_connected)
{
	const struct fb_conn_conf *c = l->conn;
	const struct ex_transport *t = l->transport;
	const char *terr = t->last_error(t->ctx);
	char where[300];

	snprintf(where, sizeof(where), "connection %s: broker %s:%d", c->name, c->broker, c->port);
	if (rc == MOSQ_ERR_CONN_REFUSED || rc == MOSQ_ERR_TIMEOUT)
		return; /* already said precisely */
	if (terr) {
		long vr = t->tls_verify_error ? t->tls_verify_error(t->ctx) : 0;

		if (vr) {
			ex_tls_describe_verify(l, vr);
			ex_link_error(l, "%s: %s transport: %s: %s", where, t->name, terr,
				      l->tls_problem);
		} else {
			ex_link_error(l, "%s: %s transport: %s", where, t->name, terr);
		}
	} else if (l->tls_problem[0]) {
		ex_link_error(l, "%s: TLS: %s", where, l->tls_problem);
	} else if (rc == MOSQ_ERR_TLS) {
		if (l->last_logged[0] && !l->lib_error[0])
			return; /* ex_tls_precheck named the file */
		ex_link_error(l, "%s: TLS failed (ssl, ssl_server_crt, ssl_client_crt, "
			      "ssl_client_key): %s", where,
			      l->lib_error[0] ? l->lib_error : "handshake failed");
	} else if (rc == MOSQ_ERR_EAI) {
		ex_link_error(l, "%s: unreachable broker: cannot resolve the host name (broker)",
			      where);
	} else if (rc == MOSQ_ERR_ERRNO && err) {
		ex_link_error(l, "%s: %s%s", where,
			      was_connected ? "connection lost: " : "unreachable broker: ",
			      strerror(err));
	} else if (was_connected) {
		fb_warn("%s: connection lost: %s", where, mosquitto_strerror(rc));
	} else {
		ex_link_error(l, "%s: cannot connect: %s%s%s", where, mosquitto_strerror(rc),
			      l->lib_error[0] ? ": " : "", l->lib_error);
	}
}

static void link_lost(struct ex_link *l, int rc, int64_t now_ms)
{
	bool was_connected = l->connected;
	int err = errno;

	l->connected = false;
	l->connecting = false;
	l->connect_deadline_ms = 0;
	if (l->reconnect_at_ms)
		return; /* already handled */
	describe_loss(l, rc, err, was_connected);
	/* Closes the socket; NO_CONN when it is closed already. */
	(void)mosquitto_disconnect(l->mosq);
	l->reconnect_backoff_ms = l->reconnect_backoff_ms ? l->reconnect_backoff_ms * 2
							  : RECONNECT_BACKOFF_MIN_MS;
	if (l->reconnect_backoff_ms > RECONNECT_BACKOFF_MAX_MS)
		l->reconnect_backoff_ms = RECONNECT_BACKOFF_MAX_MS;
	l->reconnect_at_ms = now_ms + l->reconnect_backoff_ms;
	fb_debug("connection %s: next attempt in %d ms", l->conn->name, l->reconnect_backoff_ms);
	if (l->handlers.on_down)
		l->handlers.on_down(l->ctx);
}

static void link_send(struct ex_link *l, const char *topic, const char *payload, int len,
		 bool retain)
{
	int rc;

	if (!l->connected)
		return;
	rc = mosquitto_publish(l->mosq, NULL, topic, len, payload, l->conn->qos, retain);
	l->last_out_ms = fb_mono_ms();
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
		fb_debug("publish %s: %s", topic, mosquitto_strerror(rc));
}

void ex_link_publish(struct ex_link *l, const char *topic, const char *payload)
{
	link_send(l, topic, payload, (int)strlen(payload), l->conn->retain);
}

void ex_link_publish_retained(struct ex_link *l, const char *topic, const char *payload)
{
	link_send(l, topic, payload, (int)strlen(payload), true);
}

void ex_link_clear_retained(struct ex_link *l, const char *topic)
{
	link_send(l, topic, NULL, 0, true);
}

int ex_link_subscribe(struct ex_link *l, const char *filter)
{
	int rc;

	if (!l->connected)
		return -1;
	rc = mosquitto_subscribe(l->mosq, NULL, filter, l->conn->qos);
	l->last_out_ms = fb_mono_ms();
	if (rc != MOSQ_ERR_SUCCESS) {
		fb_warn("connection %s: cannot subscribe to %s: %s", l->conn->name, filter,
			mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

void ex_link_unsubscribe(struct ex_link *l, const char *filter)
{
	int rc;

	if (!l->connected)
		return;
	rc = mosquitto_unsubscribe(l->mosq, NULL, filter);
	l->last_out_ms = fb_mono_ms();
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
		fb_debug("unsubscribe %s: %s", filter, mosquitto_strerror(rc));
}
