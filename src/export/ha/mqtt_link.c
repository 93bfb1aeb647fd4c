/* SPDX-License-Identifier: Apache-2.0 */
/* The broker connection: libmosquitto driven from our own poll() loop
 * (mosquitto_socket + loop_read/loop_write/loop_misc), never its thread.
 * Where it connects comes from the transport (transport.h): broker:port in
 * socket mode, the websocket bridge's private socket otherwise.
 *
 * Every connection problem is logged once with its parameter and cause
 * (ex_conn_error), then retried with exponential backoff, 1 s to 60 s. */
#include "export-internal.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECONNECT_BACKOFF_MIN_MS 1000
#define RECONNECT_BACKOFF_MAX_MS 60000

void ex_conn_error(struct exporter *ex, const char *fmt, ...)
{
	char msg[EX_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, ex->last_logged)) {
		fb_err("%s", msg);
		snprintf(ex->last_logged, sizeof(ex->last_logged), "%s", msg);
	} else {
		fb_debug("%s (again)", msg);
	}
}

/* libmosquitto explains TLS and file errors only in its log. */
static void on_log(struct mosquitto *m, void *obj, int level, const char *str)
{
	struct exporter *ex = obj;

	(void)m;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		snprintf(ex->lib_error, sizeof(ex->lib_error), "%s", str);
	fb_debug("libmosquitto: %s", str);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct exporter *ex = obj;
	char topic[EX_TOPIC_MAX];

	(void)m;
	ex->connecting = false;
	ex->connect_deadline_ms = 0;
	if (rc != 0) {
		/* Refused: wrong credentials, not authorised, bad protocol. */
		ex_conn_error(ex, "connection %s: broker %s:%d refused the connection: %s%s",
			      ex->conn->name, ex->conn->broker, ex->conn->port,
			      mosquitto_connack_string(rc),
			      rc == 4 || rc == 5 ? (ex->conn->auth_user ?
				" (refused credentials: check auth_user and auth_password)" :
				" (the broker wants credentials: set auth_user and auth_password)") : "");
		ex_mqtt_lost(ex, MOSQ_ERR_CONN_REFUSED, fb_mono_ms());
		return;
	}
	fb_info("connection %s: connected to %s:%d (%s%s)", ex->conn->name, ex->conn->broker,
		ex->conn->port, ex->transport.name,
		ex->conn->ssl == FB_SSL_OFF ? "" : ex->conn->ssl == FB_SSL_TRUST_ALL ?
		", TLS NOT verified" : ex->conn->hostname_verification ? ", TLS verified" :
		", TLS verified without hostname check");
	ex->connected = true;
	ex->session_used = true;
	ex->reconnect_backoff_ms = 0;
	ex->last_logged[0] = ex->tls_problem[0] = ex->lib_error[0] = '\0';
	if (snprintf(topic, sizeof(topic), "%s/+/+/set", ex->base) < (int)sizeof(topic))
		mosquitto_subscribe(ex->mosq, NULL, topic, ex->conn->qos);
	mosquitto_subscribe(ex->mosq, NULL, ex->birth_topic, ex->conn->qos);
	ex_cleanup_start(ex, fb_mono_ms());
	ex_publish(ex, ex->status_topic, "online", ex->conn->retain);
	/* A reconnect may follow a broker restart that lost retained
	 * messages: publish everything again. */
	ex_discovery_publish_all(ex);
	for (size_t i = 0; i < ex->ndevices; i++) {
		if (!ex->devices[i].exported)
			continue;
		ex_avail_publish(ex, &ex->devices[i], true);
		ex_state_publish(ex, &ex->devices[i]);
	}
	ex_gateway_state_publish(ex);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct exporter *ex = obj;

	(void)m;
	/* While connecting, the loop sees the failure too and first asks
	 * the TLS layer why (ex_tls_explain). */
	if (ex->stop || ex->connecting)
		return;
	ex_mqtt_lost(ex, rc ? rc : MOSQ_ERR_CONN_LOST, fb_mono_ms());
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct exporter *ex = obj;

	(void)m;
	if (!strcmp(msg->topic, ex->birth_topic)) {
		if (msg->payloadlen == 6 && !memcmp(msg->payload, "online", 6)) {
			/* Home Assistant restarted: re-announce after a short random
			 * delay so many gateways don't answer in the same instant. */
			ex->republish_at_ms = fb_mono_ms() + 200 + (int64_t)(random() % 800);
			fb_info("connection %s: Home Assistant came online", ex->conn->name);
		}
		return;
	}
	if (ex_cleanup_message(ex, msg))
		return;
	ex_command_message(ex, msg);
}

/* A fresh client for every session: libmosquitto re-sends QoS > 0
 * messages left in flight by the previous connection after the new
 * CONNACK -- old states that would overwrite the fresh ones we publish on
 * connect.  A new handle has no such queue. */
static int client_new(struct exporter *ex)
{
	const struct fb_conn_conf *c = ex->conn;

	if (ex->mosq)
		mosquitto_destroy(ex->mosq);
	ex->session_used = false;
	ex->mosq = mosquitto_new(c->node_id, true, ex);
	if (!ex->mosq) {
		fb_log_errno(FB_LOG_ERR, "connection %s: cannot create MQTT client", c->name);
		return -1;
	}
	mosquitto_int_option(ex->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_max_inflight_messages_set(ex->mosq, (unsigned)c->max_inflight);
	/* Small state messages must leave now, not wait for Nagle's timer
	 * (measured: p99 table-to-broker latency 44 ms -> 7 ms). */
	mosquitto_int_option(ex->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(ex->mosq, on_connect);
	mosquitto_disconnect_callback_set(ex->mosq, on_disconnect);
	mosquitto_message_callback_set(ex->mosq, on_message);
	mosquitto_log_callback_set(ex->mosq, on_log);
	if (c->auth_user &&
	    mosquitto_username_pw_set(ex->mosq, c->auth_user, c->auth_password) != 0)
		return -1;
	if (mosquitto_will_set(ex->mosq, ex->status_topic, 7, "offline", c->qos,
			       c->retain) != 0)
		return -1;
	return ex_tls_setup(ex);
}

int ex_mqtt_init(struct exporter *ex)
{
	mosquitto_lib_init();
	return client_new(ex);
}

void ex_mqtt_free(struct exporter *ex)
{
	if (ex->mosq)
		mosquitto_destroy(ex->mosq);
	ex->mosq = NULL;
	mosquitto_lib_cleanup();
}

void ex_mqtt_connect(struct exporter *ex, int64_t now_ms)
{
	const struct fb_conn_conf *c = ex->conn;
	const char *host;
	char err[256];
	int port, rc;

	ex->reconnect_at_ms = 0;
	ex->tls_problem[0] = ex->lib_error[0] = '\0';
	if (ex->session_used && client_new(ex) < 0) {
		ex_conn_error(ex, "connection %s: cannot create a new MQTT client", c->name);
		ex_mqtt_lost(ex, MOSQ_ERR_NOMEM, now_ms);
		return;
	}
	if (ex_tls_precheck(ex) < 0) {
		ex_mqtt_lost(ex, MOSQ_ERR_TLS, now_ms);
		return;
	}
	if (ex->transport.target(ex->transport.ctx, &host, &port, err, sizeof(err)) < 0) {
		ex_conn_error(ex, "connection %s: %s transport: %s", c->name, ex->transport.name, err);
		ex_mqtt_lost(ex, MOSQ_ERR_NO_CONN, now_ms);
		return;
	}
	/* Asynchronous: the TCP connect, TLS handshake and CONNECT packet
	 * complete in the loop, so a silent broker cannot block us;
	 * timeout_s bounds the whole attempt. */
	errno = 0;
	rc = mosquitto_connect_async(ex->mosq, host, port, c->keep_alive_s);
	if (rc != MOSQ_ERR_SUCCESS) {
		ex_mqtt_lost(ex, rc, now_ms);
		return;
	}
	ex->connecting = true;
	ex->connect_deadline_ms = c->timeout_s ? now_ms + (int64_t)c->timeout_s * 1000 : 0;
}

/* Names the cause of a failed or lost connection. */
static void describe_loss(struct exporter *ex, int rc, int err, bool was_connected)
{
	const struct fb_conn_conf *c = ex->conn;
	const char *terr = ex->transport.last_error(ex->transport.ctx);
	char where[300];

	snprintf(where, sizeof(where), "connection %s: broker %s:%d", c->name, c->broker, c->port);
	if (rc == MOSQ_ERR_CONN_REFUSED || rc == MOSQ_ERR_TIMEOUT)
		return; /* already said precisely */
	if (terr) {
		long vr = ex->transport.tls_verify_error ?
			  ex->transport.tls_verify_error(ex->transport.ctx) : 0;

		if (vr) {
			ex_tls_describe_verify(ex, vr);
			ex_conn_error(ex, "%s: %s transport: %s: %s", where, ex->transport.name,
				      terr, ex->tls_problem);
		} else {
			ex_conn_error(ex, "%s: %s transport: %s", where, ex->transport.name, terr);
		}
	} else if (ex->tls_problem[0]) {
		ex_conn_error(ex, "%s: TLS: %s", where, ex->tls_problem);
	} else if (rc == MOSQ_ERR_TLS) {
		if (ex->last_logged[0] && !ex->lib_error[0])
			return; /* ex_tls_precheck named the file */
		ex_conn_error(ex, "%s: TLS failed (ssl, ssl_server_crt, ssl_client_crt, "
			      "ssl_client_key): %s", where,
			      ex->lib_error[0] ? ex->lib_error : "handshake failed");
	} else if (rc == MOSQ_ERR_EAI) {
		ex_conn_error(ex, "%s: unreachable broker: cannot resolve the host name (broker)",
			      where);
	} else if (rc == MOSQ_ERR_ERRNO && err) {
		ex_conn_error(ex, "%s: %s%s", where,
			      was_connected ? "connection lost: " : "unreachable broker: ",
			      strerror(err));
	} else if (was_connected) {
		fb_warn("%s: connection lost: %s", where, mosquitto_strerror(rc));
	} else {
		ex_conn_error(ex, "%s: cannot connect: %s%s%s", where, mosquitto_strerror(rc),
			      ex->lib_error[0] ? ": " : "", ex->lib_error);
	}
}

void ex_mqtt_lost(struct exporter *ex, int rc, int64_t now_ms)
{
	bool was_connected = ex->connected;
	int err = errno;

	ex->connected = false;
	ex->connecting = false;
	ex->connect_deadline_ms = 0;
	ex->cleanup_until_ms = 0;
	if (ex->reconnect_at_ms)
		return; /* already handled */
	describe_loss(ex, rc, err, was_connected);
	mosquitto_disconnect(ex->mosq);
	ex->reconnect_backoff_ms = ex->reconnect_backoff_ms ? ex->reconnect_backoff_ms * 2
							    : RECONNECT_BACKOFF_MIN_MS;
	if (ex->reconnect_backoff_ms > RECONNECT_BACKOFF_MAX_MS)
		ex->reconnect_backoff_ms = RECONNECT_BACKOFF_MAX_MS;
	ex->reconnect_at_ms = now_ms + ex->reconnect_backoff_ms;
	fb_debug("connection %s: next attempt in %d ms", ex->conn->name, ex->reconnect_backoff_ms);
	for (size_t i = 0; i < ex->ndevices; i++)
		ex->devices[i].published_avail = -1;
}

void ex_publish(struct exporter *ex, const char *topic, const char *payload,
		bool retain)
{
	int rc;

	if (!ex->connected)
		return;
	rc = mosquitto_publish(ex->mosq, NULL, topic, (int)strlen(payload), payload,
			       ex->conn->qos, retain);
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
		fb_debug("publish %s: %s", topic, mosquitto_strerror(rc));
}
