/* The broker connection: libmosquitto driven from our own poll() loop
 * (mosquitto_socket + loop_read/loop_write/loop_misc), never its thread.
 *
 * Transport seam: libmosquitto is the only MQTT implementation.  Socket
 * mode connects it to broker:port directly; the websocket mode will connect
 * it to a private local socket served by a WebSocket bridge in this same
 * process, so only ex_mqtt_connect's target changes. */
#include "export-internal.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECONNECT_BACKOFF_MIN_MS 1000
#define RECONNECT_BACKOFF_MAX_MS 60000

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct exporter *ex = obj;
	char topic[EX_TOPIC_MAX];

	(void)m;
	ex->connecting = false;
	ex->connect_deadline_ms = 0;
	if (rc != 0) {
		/* Refused: wrong credentials, not authorised, bad protocol. */
		fb_err("connection %s: broker %s:%d refused the connection: %s",
		       ex->conn->name, ex->conn->broker, ex->conn->port,
		       mosquitto_connack_string(rc));
		ex_mqtt_lost(ex, MOSQ_ERR_CONN_REFUSED, fb_mono_ms());
		return;
	}
	fb_info("connection %s: connected to %s:%d", ex->conn->name, ex->conn->broker,
		ex->conn->port);
	ex->connected = true;
	ex->reconnect_backoff_ms = 0;
	if (snprintf(topic, sizeof(topic), "%s/+/+/set", ex->base) < (int)sizeof(topic))
		mosquitto_subscribe(ex->mosq, NULL, topic, ex->conn->qos);
	mosquitto_subscribe(ex->mosq, NULL, ex->birth_topic, ex->conn->qos);
	ex_publish(ex, ex->status_topic, "online", ex->conn->retain);
	/* A reconnect may follow a broker restart that lost retained
	 * messages: publish everything again. */
	ex_discovery_publish_all(ex);
	for (size_t i = 0; i < ex->ndevices; i++) {
		ex_avail_publish(ex, &ex->devices[i], true);
		ex_state_publish(ex, &ex->devices[i]);
	}
	ex_gateway_state_publish(ex);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct exporter *ex = obj;

	(void)m;
	if (ex->stop)
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
	ex_command_message(ex, msg);
}

static int pw_callback(char *buf, int size, int rwflag, void *userdata)
{
	struct exporter *ex = userdata;
	const char *pw = ex->conn->ssl_client_key_password;

	(void)rwflag;
	if (!pw || size <= 0)
		return 0;
	snprintf(buf, (size_t)size, "%s", pw);
	return (int)strlen(buf);
}

static int mqtt_setup_tls(struct exporter *ex)
{
	const struct fb_conn_conf *c = ex->conn;
	const char *cafile = c->ssl_server_crt;
	const char *capath = NULL;
	int rc;

	if (c->ssl == FB_SSL_OFF)
		return 0;
	/* libmosquitto 2.0 refuses tls_set without a CA file or path, even
	 * when the system store or "trust all" is meant. */
	if (!cafile)
		capath = "/etc/ssl/certs";
	rc = mosquitto_tls_set(ex->mosq, cafile, capath, c->ssl_client_crt,
			       c->ssl_client_key,
			       c->ssl_client_key_password ? pw_callback : NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		fb_err("connection %s: ssl settings rejected (ssl_server_crt, ssl_client_crt, ssl_client_key): %s",
		       c->name, mosquitto_strerror(rc));
		return -1;
	}
	if (c->ssl == FB_SSL_TRUST_ALL) {
		fb_warn("connection %s: ssl \"trust all\": the broker's certificate is NOT verified",
			c->name);
		mosquitto_tls_opts_set(ex->mosq, 0 /* SSL_VERIFY_NONE */, NULL, NULL);
		mosquitto_tls_insecure_set(ex->mosq, true);
	} else if (!c->hostname_verification) {
		fb_warn("connection %s: hostname verification is off", c->name);
		mosquitto_tls_insecure_set(ex->mosq, true);
	}
	return 0;
}

int ex_mqtt_init(struct exporter *ex)
{
	const struct fb_conn_conf *c = ex->conn;

	mosquitto_lib_init();
	ex->mosq = mosquitto_new(c->node_id, true, ex);
	if (!ex->mosq) {
		fb_log_errno(FB_LOG_ERR, "connection %s: cannot create MQTT client", c->name);
		return -1;
	}
	mosquitto_int_option(ex->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_max_inflight_messages_set(ex->mosq, (unsigned)c->max_inflight);
	mosquitto_connect_callback_set(ex->mosq, on_connect);
	mosquitto_disconnect_callback_set(ex->mosq, on_disconnect);
	mosquitto_message_callback_set(ex->mosq, on_message);
	if (c->auth_user &&
	    mosquitto_username_pw_set(ex->mosq, c->auth_user, c->auth_password) != 0)
		return -1;
	if (mosquitto_will_set(ex->mosq, ex->status_topic, 7, "offline", c->qos,
			       c->retain) != 0)
		return -1;
	return mqtt_setup_tls(ex);
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
	int rc;

	ex->reconnect_at_ms = 0;
	/* Asynchronous: the TCP connect and CONNECT packet complete in the
	 * loop, so a silent broker cannot block us; timeout_s bounds it. */
	rc = mosquitto_connect_async(ex->mosq, c->broker, c->port, c->keep_alive_s);
	if (rc != MOSQ_ERR_SUCCESS) {
		ex_mqtt_lost(ex, rc, now_ms);
		return;
	}
	ex->connecting = true;
	ex->connect_deadline_ms = c->timeout_s ? now_ms + (int64_t)c->timeout_s * 1000 : 0;
}

void ex_mqtt_lost(struct exporter *ex, int rc, int64_t now_ms)
{
	const struct fb_conn_conf *c = ex->conn;
	bool was_connected = ex->connected;

	ex->connected = false;
	ex->connecting = false;
	ex->connect_deadline_ms = 0;
	if (ex->reconnect_at_ms)
		return; /* already handled */
	if (rc == MOSQ_ERR_ERRNO)
		fb_log(was_connected || !ex->reconnect_backoff_ms ? FB_LOG_WARNING : FB_LOG_DEBUG,
		       "connection %s: broker %s:%d: %s", c->name, c->broker, c->port,
		       strerror(errno));
	else if (rc != MOSQ_ERR_CONN_REFUSED)
		fb_log(was_connected || !ex->reconnect_backoff_ms ? FB_LOG_WARNING : FB_LOG_DEBUG,
		       "connection %s: broker %s:%d: %s", c->name, c->broker, c->port,
		       mosquitto_strerror(rc));
	mosquitto_disconnect(ex->mosq);
	ex->reconnect_backoff_ms = ex->reconnect_backoff_ms ? ex->reconnect_backoff_ms * 2
							    : RECONNECT_BACKOFF_MIN_MS;
	if (ex->reconnect_backoff_ms > RECONNECT_BACKOFF_MAX_MS)
		ex->reconnect_backoff_ms = RECONNECT_BACKOFF_MAX_MS;
	ex->reconnect_at_ms = now_ms + ex->reconnect_backoff_ms;
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
