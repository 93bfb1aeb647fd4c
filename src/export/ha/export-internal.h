/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-export internals: one process per export connection (the
 * "Home Assistant MQTT Client").
 *
 * Data flow: tables.c attaches to every bus's shm table and turns journal
 * entries into dirty devices; state.c publishes a dirty device's state as
 * one JSON container; discovery.c describes every device to Home Assistant;
 * commands.c turns ".../set" messages into table commands; mqtt_link.c owns
 * the libmosquitto handle and the reconnect policy; exporter.c runs the one
 * poll() loop over all their fds. */
#ifndef FB_EXPORT_INTERNAL_H
#define FB_EXPORT_INTERNAL_H

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"
#include "table.h"
#include "transport.h"
#include "users.h"

#define EX_TOPIC_MAX 256
#define EX_DEDUP_WINDOW 256 /* command event ids remembered */
#define EX_PENDING_MAX 64    /* commands waiting for a driver or its result */
#define EX_ERR_MAX 512

struct ex_bus;

struct ex_device {
	const struct fb_device_conf *conf;   /* borrowed from the config */
	const struct fb_definition *def;     /* borrowed from the config */
	struct ex_bus *bus;
	long *point_index;   /* def point -> table index, -1 if absent; owned */
	long table_device;   /* -1 until attached */
	bool dirty;          /* state must be re-published (ex_mark_dirty) */
	bool in_dirty_list;  /* listed in bus->dirty */
	long *diag_index;    /* fb_model_diag_points() -> table index, -1 if
			      * absent; owned, set at attach (diagnostics.c) */
	int published_avail; /* -1 unknown, 0 offline, 1 online (as last sent) */
	int64_t *last_cmd_ts;/* per def point: ts of the last applied command; owned */
	uint8_t *access;     /* per def point: enum fb_access for our user; owned */
	bool exported;       /* at least one point visible to our user */
	char state_topic[EX_TOPIC_MAX];
	char avail_topic[EX_TOPIC_MAX];
};

struct ex_bus {
	const struct fb_bus_conf *conf;      /* borrowed */
	char table_name[128];
	struct fb_table_reader *reader;      /* NULL until the driver runs */
	struct ex_device **by_point;         /* table index -> device; owned */
	size_t npoints;
	struct ex_device **by_device;        /* table device index -> device; owned */
	size_t ntable_devices;
	bool alive;                          /* heartbeat fresh */
	int64_t stale_after_ms;
	/* Devices to re-publish, so a wake costs O(changed devices), not
	 * O(all devices).  Owned; capacity = the bus's exported devices. */
	struct ex_device **dirty;
	size_t ndirty;
};

struct ex_dedup {
	char ids[EX_DEDUP_WINDOW][FB_TABLE_EVENT_ID_MAX];
	size_t next;
};

/* A command that has not reached a driver yet (QUEUED: the driver is
 * restarting) or whose result has not come back (SENT). */
struct ex_pending {
	enum { EX_PENDING_FREE = 0, EX_PENDING_QUEUED, EX_PENDING_SENT } state;
	struct ex_device *dev;
	size_t point;            /* def point index */
	struct fb_command cmd;   /* value, event id, ts, origin */
	uint64_t ticket;         /* SENT: the queue's ticket */
	int64_t since_ms;        /* monotonic: queued or sent at */
};

struct exporter {
	struct fb_config *cfg;               /* owned */
	struct fb_conn_conf *conn;           /* borrowed from cfg */
	struct mosquitto *mosq;              /* owned */
	char base[EX_TOPIC_MAX];             /* "fieldbridge/<node_id>" */
	char status_topic[EX_TOPIC_MAX];     /* LWT, retained */
	char birth_topic[EX_TOPIC_MAX];      /* "<prefix>/status" */
	char gateway_topic[EX_TOPIC_MAX];    /* the gateway device's state */
	struct ex_bus *buses;                /* owned */
	size_t nbuses;
	struct ex_device *devices;           /* owned */
	size_t ndevices;
	struct ex_dedup dedup;
	struct ex_pending pending[EX_PENDING_MAX];
	struct fb_users *users;              /* owned; NULL = no users file */
	const struct fb_user *user;          /* borrowed from users */
	struct ex_transport transport;       /* where libmosquitto connects */
	bool tls_warned;                     /* insecure-setting warnings given */
	bool session_used;                   /* mosq has been connected before */
	char tls_problem[EX_ERR_MAX];        /* last TLS failure, for messages */
	char lib_error[EX_ERR_MAX];          /* libmosquitto's last error log line */
	char last_logged[EX_ERR_MAX];        /* connection errors are logged per change */
	int64_t cleanup_until_ms;            /* stale discovery scan window */

	/* connection state machine (mqtt_link.c) */
	bool connected;        /* CONNACK accepted */
	bool connecting;       /* socket open, waiting for CONNACK */
	int64_t connect_deadline_ms;  /* timeout_s, 0 = none */
	int64_t reconnect_at_ms;      /* 0 = not scheduled */
	int reconnect_backoff_ms;
	int64_t republish_at_ms;      /* after a Home Assistant birth */

	/* A discovery burst queues megabytes in libmosquitto for a moment;
	 * once sent, the heap is handed back to the system (exporter.c). */
	bool trim_after_burst;
	uint64_t event_seq;
	char boot_id[17];      /* random per process start: event ids stay unique */
	int signal_fd, timer_fd;
	bool stop;
};

/* mqtt_link.c */
/* Logs a connection problem at err level once; repeats go to debug until
 * the message changes or a connection succeeds. */
void ex_conn_error(struct exporter *ex, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ex_mqtt_init(struct exporter *ex);
void ex_mqtt_free(struct exporter *ex);
void ex_mqtt_connect(struct exporter *ex, int64_t now_ms);
void ex_mqtt_lost(struct exporter *ex, int rc, int64_t now_ms);
/* Publishes; failures while disconnected are ignored (everything is
 * re-published on the next connect). */
void ex_publish(struct exporter *ex, const char *topic, const char *payload,
		bool retain);

/* tables.c */
int ex_tables_build(struct exporter *ex);
void ex_tables_free(struct exporter *ex);
/* Attaches buses whose driver appeared, re-attaches superseded ones, and
 * checks heartbeats.  Called on the 1 s tick. */
void ex_tables_maintain(struct exporter *ex, int64_t mono_ms);
void ex_tables_drain(struct exporter *ex, struct ex_bus *bus);
/* Queues dev's state for publishing by ex_state_publish_dirty. */
void ex_mark_dirty(struct ex_device *dev);
bool ex_device_online(const struct ex_device *dev);

/* state.c */
void ex_state_publish(struct exporter *ex, struct ex_device *dev);
void ex_state_publish_dirty(struct exporter *ex);
void ex_avail_publish(struct exporter *ex, struct ex_device *dev, bool force);
void ex_gateway_state_publish(struct exporter *ex);
/* Next event id "<node>-<boot>-<seq>" into buf. */
void ex_event_id(struct exporter *ex, char *buf, size_t len);

/* discovery.c */
void ex_discovery_publish_all(struct exporter *ex);
/* One device's config; `removed` (borrowed, may be NULL) is an object
 * {point key: platform} of components Home Assistant must delete. */
void ex_discovery_publish_device(struct exporter *ex, const struct ex_device *d,
				 const cJSON *removed);
/* Empties the retained config, state and availability of a device that
 * is no longer exported. */
void ex_discovery_remove_device(struct exporter *ex, const struct ex_device *d);
/* Topic of a device's discovery config into buf. */
void ex_discovery_topic(const struct exporter *ex, const char *object_id, char *buf,
			size_t len);

/* cleanup.c: stale discovery configs of this node, found at start-up */
void ex_cleanup_start(struct exporter *ex, int64_t now_ms);
void ex_cleanup_tick(struct exporter *ex, int64_t now_ms);
/* True if msg was a discovery config (handled here). */
bool ex_cleanup_message(struct exporter *ex, const struct mosquitto_message *msg);

/* rights.c */
/* Point visible (discovered, published) / commandable for our user. */
bool ex_point_visible(const struct ex_device *d, size_t point);
bool ex_point_commandable(const struct ex_device *d, size_t point);
/* Computes every device's access from ex->user (all rights without a
 * users file). */
void ex_rights_apply(struct exporter *ex);
/* SIGHUP: reloads the users file; unpublishes what the user lost and
 * publishes what it gained.  Keeps the old rights if the file is bad. */
void ex_rights_reload(struct exporter *ex);

/* tls.c */
int ex_tls_setup(struct exporter *ex);
/* Checks the TLS files before each connect: readable, parseable, key
 * unlocked by the password and matching the certificate.  Returns 0, or
 * -1 after ex_conn_error naming the parameter. */
int ex_tls_precheck(struct exporter *ex);
/* While connecting: a reference to libmosquitto's SSL object (or NULL)
 * taken before loop_read/loop_write, and released by ex_tls_explain,
 * which (if the step failed) records why the handshake failed. */
void *ex_tls_hold(struct exporter *ex);
void ex_tls_explain(struct exporter *ex, void *held, bool failed);
/* Puts the words for an X509_V_ERR_* verdict into ex->tls_problem. */
void ex_tls_describe_verify(struct exporter *ex, long vr);

/* commands.c */
void ex_command_message(struct exporter *ex, const struct mosquitto_message *msg);
void ex_command_results(struct exporter *ex, struct ex_bus *bus);
/* Sends commands queued while the bus's driver was away; expires old
 * ones (logged, state re-published so Home Assistant shows the truth). */
void ex_commands_flush(struct exporter *ex, int64_t mono_ms);
/* The bus's driver restarted: commands sent to the old table without a
 * result are re-queued if repeating them is harmless, failed otherwise. */
void ex_commands_bus_lost(struct exporter *ex, struct ex_bus *bus);

#endif
