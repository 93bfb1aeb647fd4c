/* SPDX-License-Identifier: Apache-2.0 */
/* The broker link: one libmosquitto client driven from the exporter's own
 * poll() loop (mosquitto_socket + loop_read/loop_write/loop_misc), never
 * its thread.  Where it connects comes from the transport (transport.h).
 *
 * The link knows MQTT, TLS and reconnecting, nothing of Home Assistant: it
 * reports up only through the handler table the layer above sets (the
 * pattern of transport.h), and it is the only way bytes leave
 * (ex_link_publish*, ex_link_clear_retained, ex_link_subscribe). */
#ifndef FB_EXPORT_MQTT_LINK_H
#define FB_EXPORT_MQTT_LINK_H

#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "transport.h"

#define EX_TOPIC_MAX 256
#define EX_ERR_MAX 512

/* Called from inside ex_link_read/ex_link_write/ex_link_connect; any of
 * them may be NULL. */
struct ex_link_handlers {
	/* CONNACK accepted: subscribe and publish what the session needs. */
	void (*on_up)(void *ctx);
	/* The connection failed or was lost (a reconnect is scheduled). */
	void (*on_down)(void *ctx);
	/* A message on a subscribed topic; borrowed for the call. */
	void (*on_message)(void *ctx, const struct mosquitto_message *msg);
};

struct ex_link {
	const struct fb_conn_conf *conn;     /* borrowed */
	const struct ex_transport *transport;/* borrowed */
	struct ex_link_handlers handlers;
	void *ctx;                           /* handed to every handler */
	struct mosquitto *mosq;              /* owned */
	char will_topic[EX_TOPIC_MAX];       /* LWT "offline", retained as conn->retain */

	bool tls_warned;                     /* insecure-setting warnings given */
	bool session_used;                   /* mosq has been connected before */
	char tls_problem[EX_ERR_MAX];        /* last TLS failure, for messages */
	char lib_error[EX_ERR_MAX];          /* libmosquitto's last error log line */
	char last_logged[EX_ERR_MAX];        /* connection errors are logged per change */

	/* connection state machine */
	bool connected;        /* CONNACK accepted */
	bool connecting;       /* socket open, waiting for CONNACK */
	bool stopping;         /* ex_link_close: no more reconnects */
	int64_t connect_deadline_ms;  /* timeout_s, 0 = none */
	int64_t reconnect_at_ms;      /* 0 = not scheduled */
	int reconnect_backoff_ms;
	/* fb_mono_ms of the last bytes each way, as libmosquitto keeps them
	 * for keepalive (every read and write goes through this file). */
	int64_t last_in_ms, last_out_ms;
	/* A keepalive check found nothing to send (libmosquitto had traffic
	 * we did not see, e.g. an ack it wrote itself): the next check is
	 * not before this, so it neither spins nor waits a whole period. */
	int64_t keepalive_recheck_ms;
	bool ping_sent;        /* libmosquitto logged "sending PINGREQ" */
};

/* Sets up *l (conn and transport borrowed, must outlive it) with a client
 * whose last will says "offline" on will_topic.  Returns 0, or -1 after
 * logging why.  ex_link_free releases it (also after a failed init). */
int ex_link_init(struct ex_link *l, const struct fb_conn_conf *conn,
		 const struct ex_transport *transport, const char *will_topic,
		 const struct ex_link_handlers *handlers, void *ctx);
void ex_link_free(struct ex_link *l);
/* Starts an asynchronous connect (a failure schedules a retry). */
void ex_link_connect(struct ex_link *l, int64_t now_ms);
/* Connect retries and the connect timeout; returns the link's next
 * deadline (fb_mono_ms units), 0 for none. */
int64_t ex_link_deadlines(struct ex_link *l, int64_t now_ms);
/* When libmosquitto's keepalive next has work (a PINGREQ due, or a
 * PINGRESP overdue), fb_mono_ms units; 0 when keep_alive_s is 0 or there
 * is no connection.  Hands that moment to ex_link_misc. */
int64_t ex_link_keepalive_ms(const struct ex_link *l);
void ex_link_misc(struct ex_link *l, int64_t now_ms);
/* The socket to poll (-1 while there is none) and whether to ask POLLOUT. */
int ex_link_socket(const struct ex_link *l);
bool ex_link_want_write(const struct ex_link *l);
/* After poll() on ex_link_socket: reads and/or writes.  Returns true if
 * the link is still usable. */
bool ex_link_service(struct ex_link *l, short revents, int64_t now_ms);
/* A clean stop: publishes `payload` (unless NULL) on the will topic itself
 * (the LWT only covers crashes), disconnects and flushes. */
void ex_link_close(struct ex_link *l, const char *payload);

/* Logs a connection problem at err level once; repeats go to debug until
 * the message changes or a connection succeeds. */
void ex_link_error(struct ex_link *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The only ways out.  All are dropped while not connected (the session
 * publishes everything again on the next link up); other failures are
 * logged at debug (the retry is the next change or link up).
 * ex_link_publish retains as the connection's `retain` says;
 * ex_link_publish_retained always retains (discovery configs);
 * ex_link_clear_retained sends the empty retained message that deletes a
 * retained one. */
void ex_link_publish(struct ex_link *l, const char *topic, const char *payload);
void ex_link_publish_retained(struct ex_link *l, const char *topic, const char *payload);
void ex_link_clear_retained(struct ex_link *l, const char *topic);
/* Returns 0, or -1 (logged at warning). */
int ex_link_subscribe(struct ex_link *l, const char *filter);
void ex_link_unsubscribe(struct ex_link *l, const char *filter);

/* tls.c: TLS of the link. */
int ex_tls_setup(struct ex_link *l);
/* Checks c's TLS files: readable, parseable, key unlocked by the password
 * and matching the certificate.  Returns -1 with a message naming the
 * parameter in err, or 0; err is then empty, or says what is wrong but
 * not fatal (an expired certificate: the handshake will tell). */
int ex_tls_precheck(const struct fb_conn_conf *c, char *err, size_t len);
/* While connecting: a reference to libmosquitto's SSL object (or NULL)
 * taken before loop_read/loop_write, and released by ex_tls_explain,
 * which (if the step failed) records why the handshake failed. */
void *ex_tls_hold(struct ex_link *l);
void ex_tls_explain(struct ex_link *l, void *held, bool failed);
/* Puts the words for an X509_V_ERR_* verdict into l->tls_problem. */
void ex_tls_describe_verify(struct ex_link *l, long vr);

#endif
