/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-export internals: one process per export connection (the
 * "Home Assistant MQTT Client").
 *
 * Floors, each file calling only files below it:
 *   exporter.c   setup, teardown and the one poll() loop
 *   session.c    what to publish when (link up, birth, SIGHUP, tables, tick)
 *   bus_view.c   input: the shm tables (changes, then command results)
 *   cleanup.c commands.c
 *                inputs: retained configs, ".../set" messages
 *   state.c discovery.c
 *                publishers: Home Assistant's wording of states and configs
 *   discovery_doc.c (diagnostics.c under it), preview.c
 *                pure: the discovery documents, built without a broker
 *                (preview.c: for the web page, exporter.h)
 *   mqtt_link.c (tls.c)
 *                the broker link, the only way bytes leave (mqtt_link.h)
 *   rights.c devices.c
 *                pure: what our user may see and do; device lookups, dirty
 *                marks, online state, event ids */
#ifndef FB_EXPORT_INTERNAL_H
#define FB_EXPORT_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"
#include "mqtt_link.h"
#include "table.h"
#include "transport.h"
#include "users.h"

#define EX_DEDUP_WINDOW 256 /* command event ids remembered */
#define EX_PENDING_MAX 64    /* commands waiting for a driver or its result */
/* The largest retained discovery config the stale scan reads: ours are
 * ~200 bytes per point, so this covers 20 000 points in one device. */
#define EX_DISCOVERY_MAX (4 * 1024 * 1024)

struct exporter;
struct ex_bus;
struct fb_table_follower;

struct ex_device {
	const struct fb_device_conf *conf;   /* borrowed from the config */
	const struct fb_definition *def;     /* borrowed from the config */
	struct ex_bus *bus;
	long *point_index;   /* def point -> table index, -1 if absent; owned */
	long table_device;   /* -1 until attached */
	bool dirty;          /* state must be re-published (ex_device_mark_dirty) */
	bool avail_dirty;    /* availability to check (ex_device_mark_avail) */
	bool in_dirty_list;  /* listed in bus->dirty */
	long *diag_index;    /* fb_model_diag_points() -> table index, -1 if
			      * absent; owned, set at attach (diagnostics.c) */
	int published_avail; /* -1 unknown, 0 offline, 1 online (as last sent) */
	int logged_avail;    /* the same, as last logged */
	int64_t *last_cmd_ts;/* per def point: ts of the last applied command; owned */
	uint8_t *access;     /* per def point: enum fb_access for our user; owned */
	uint32_t diag_visible; /* bit i: fb_model_diag_points()[i] readable by our user */
	bool exported;       /* at least one point visible to our user */
	/* "<base>/<id>/state" and ".../availability": one owned block sized
	 * to fit (EX_TOPIC_MAX arrays cost 512 bytes a device, most unused). */
	char *state_topic;
	char *avail_topic;   /* inside state_topic's block: not freed alone */
};

struct ex_bus {
	struct exporter *ex;                 /* borrowed: the owner */
	const struct fb_bus_conf *conf;      /* borrowed */
	char table_name[256];
	struct fb_table_follower *follower;  /* owned */
	/* The follower's current table, NULL until the driver runs; borrowed,
	 * set and cleared by the follower's handlers (bus_view.c). */
	struct fb_table_reader *reader;
	struct ex_device **by_point;         /* table index -> device; owned */
	size_t npoints;
	struct ex_device **by_device;        /* table device index -> device; owned */
	size_t ntable_devices;
	bool alive;                          /* heartbeat fresh */
	/* Set by bus_view.c for the session, which clears them: the driver's
	 * table went away (commands sent to it are in doubt), and devices'
	 * availability may have changed (the gateway state counts them). */
	bool lost;
	bool avail_changed;
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
	uint64_t arrival;        /* ex->pending_seq at arrival: send order */
	uint64_t ticket;         /* SENT: the queue's ticket */
	int64_t since_ms;        /* monotonic: queued or sent at */
};

struct exporter {
	struct fb_config *cfg;               /* owned */
	struct fb_conn_conf *conn;           /* borrowed from cfg */
	struct ex_link link;                 /* the broker link (mqtt_link.h) */
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
	uint64_t pending_seq;                /* arrivals so far (commands.c) */
	struct fb_users *users;              /* owned; NULL = no users file */
	const struct fb_user *user;          /* borrowed from users */
	struct ex_transport transport;       /* where libmosquitto connects */

	/* session.c */
	int64_t cleanup_until_ms;            /* stale discovery scan window */
	int64_t republish_at_ms;             /* after a Home Assistant birth */
	/* No fixed tick: each periodic job is a deadline of its own. */
	int64_t next_maintain_ms;            /* the tables (bus_view.c) */
	int64_t next_retry_ms;               /* queued commands, heap trim */
	/* "Everything again" builds a document per device and state; once
	 * sent, the freed heap is handed back to the system. */
	bool trim_after_burst;
	/* discovery.c: that burst's configs go out at the socket's pace, like
	 * states, instead of queueing all in libmosquitto at once (3.5 MB for
	 * 10k entities); states wait until the last one is out. */
	bool discovery_pending;
	size_t discovery_next;               /* index into devices */

	uint64_t event_seq;
	char boot_id[17];      /* random per process start: event ids stay unique */
	int signal_fd, timer_fd;
	bool stop;
};

/* devices.c */
/* ex->base and the connection-wide topics from ex->conn; -1 if too long. */
int ex_topics_init(struct exporter *ex);
/* ex->buses and ex->devices from ex->cfg (devices of bad definitions
 * left out), each with its topics; -1 if out of memory.  Freed with
 * ex_devices_free (also after a failure). */
int ex_devices_build(struct exporter *ex);
void ex_devices_free(struct exporter *ex);
/* The device with id[0..len) (not NUL-terminated), or NULL. */
struct ex_device *ex_devices_find(struct exporter *ex, const char *id, size_t len);
/* Index of the definition point `key` of dev, or -1. */
long ex_device_point(const struct ex_device *dev, const char *key);
/* Queues dev's state for ex_state_publish_dirty. */
void ex_device_mark_dirty(struct ex_device *dev);
/* Queues a check of dev's availability: published if it differs from the
 * last one sent. */
void ex_device_mark_avail(struct ex_device *dev);
/* Everything again (link up, Home Assistant birth): every device's state
 * and availability, drained by the same back-pressured path. */
void ex_devices_mark_all(struct exporter *ex);
bool ex_device_online(const struct ex_device *dev);
/* Next event id "<node>-<boot>-<seq>" into buf. */
void ex_devices_event_id(struct exporter *ex, char *buf, size_t len);

/* rights.c: pure policy, never publishes */
/* Point visible (discovered, published) / commandable for our user. */
bool ex_rights_visible(const struct ex_device *d, size_t point);
bool ex_rights_commandable(const struct ex_device *d, size_t point);
/* The component a visible point is published as: its own, or for a
 * writable point our user may only read its read-only counterpart
 * (FB_COMP_SENSOR or FB_COMP_BINARY_SENSOR). */
enum fb_component ex_rights_component(const struct ex_device *d, size_t point);
/* The diagnostic point fb_model_diag_points()[i] is visible for our user. */
bool ex_rights_diag_visible(const struct ex_device *d, size_t i);
/* Computes d's access from ex->user (all rights without a users file). */
void ex_rights_device_apply(struct exporter *ex, struct ex_device *d);
/* Computes every device's access and says how many are exported. */
void ex_rights_apply(struct exporter *ex);
/* After ex_rights_device_apply: the components {point key: platform} that
 * were visible with `old` access and `old_diag` diagnostics (was_exported)
 * and are not now, or are now under another platform (the key is then
 * still visible: see ex_discovery_device_doc).  Caller frees with
 * cJSON_Delete; NULL if out of memory. */
cJSON *ex_rights_lost(const struct ex_device *d, const uint8_t *old, uint32_t old_diag,
		      bool was_exported);

/* state.c */
/* One point's value as Home Assistant reads it: ON/OFF, the select label,
 * a number or string, null when unknown or when the read gave up (STALE).
 * Caller frees with cJSON_Delete; NULL if out of memory. */
cJSON *ex_state_point_value(const struct fb_point_def *p, const struct fb_point_snapshot *s);
void ex_state_publish(struct exporter *ex, struct ex_device *dev);
/* Publishes the queued availabilities and states (back-pressured). */
void ex_state_publish_dirty(struct exporter *ex);
void ex_state_publish_avail(struct exporter *ex, struct ex_device *dev);
void ex_state_publish_gateway(struct exporter *ex);

/* discovery_doc.c: the documents discovery.c publishes (caller frees
 * with cJSON_Delete; NULL if out of memory).  `removed` as below. */
cJSON *ex_discovery_device_doc(const struct exporter *ex, const struct ex_device *d,
			       const cJSON *removed);
/* A key of `removed` (ex_rights_lost) is still visible, under another
 * platform: the document with `removed` removed it, the device must be
 * published again (without) to add it under the new one. */
bool ex_discovery_platform_changed(const struct ex_device *d, const cJSON *removed);
cJSON *ex_discovery_gateway_doc(const struct exporter *ex);
/* discovery_ext.c: adds to c (a point's component, its name, unique_id
 * and value_template already set) the keys of a dimmer light, cover, fan,
 * climate or text.  Returns false, c untouched, for any other point. */
bool ex_discovery_ext_component(const struct exporter *ex, const struct ex_device *d,
				const struct fb_point_def *p, cJSON *c);
/* "{{ {raw: 'label', ...}.get(value_json.<key>) }}"; caller frees; NULL
 * when out of memory. */
char *ex_discovery_label_template(const struct fb_select_option *opt, size_t n,
				  const char *key);
/* The retained text of doc: the one serialisation the broker sees
 * (caller frees with free()). */
char *ex_discovery_text(const cJSON *doc);
/* "<node_id>_<device id>": the device's discovery object id. */
void ex_discovery_object_id(const struct exporter *ex, const struct ex_device *d, char *buf,
			    size_t len);

/* discovery.c */
/* Starts publishing every exported device's config (after a connect or a
 * birth); ex_discovery_continue sends them. */
void ex_discovery_publish_all(struct exporter *ex);
/* Publishes the configs still to go while the socket takes them. */
void ex_discovery_continue(struct exporter *ex);
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
/* The filter matching every device's discovery config into buf. */
void ex_discovery_filter(const struct exporter *ex, char *buf, size_t len);

/* cleanup.c: stale discovery configs of this node, found at link up */
void ex_cleanup_start(struct exporter *ex, int64_t now_ms);
void ex_cleanup_stop(struct exporter *ex);
void ex_cleanup_tick(struct exporter *ex, int64_t now_ms);
/* True if msg was a discovery config (handled here). */
bool ex_cleanup_message(struct exporter *ex, const struct mosquitto_message *msg);

/* commands.c */
void ex_commands_message(struct exporter *ex, const struct mosquitto_message *msg);
void ex_commands_results(struct exporter *ex, struct ex_bus *bus);
/* Sends commands queued while the bus's driver was away; expires old
 * ones (logged, state re-published so Home Assistant shows the truth). */
void ex_commands_flush(struct exporter *ex, int64_t mono_ms);
/* After the rights changed: commands still waiting for a driver that our
 * user may no longer send are failed (logged). */
void ex_commands_recheck(struct exporter *ex);
/* The bus's driver restarted: commands sent to the old table without a
 * result are re-queued if repeating them is harmless, failed otherwise. */
void ex_commands_bus_lost(struct exporter *ex, struct ex_bus *bus);
/* Unpacks payload[0..len) (NUL-terminated at len): a plain payload
 * leaves event_id empty and ts 0; a container {"value", "event_id", "ts"}
 * is parsed strictly (no trailing bytes, no other or repeated fields,
 * event_id a string of 1..idlen-1 chars, ts a number; one that is not a
 * positive integer of ms is -1).  A payload with a NUL byte is refused.
 * Returns the value text (borrowed from *doc, numbuf or payload;
 * fb_point_parse_command reads it) or NULL with *why (static text) set;
 * caller frees *doc with cJSON_Delete. */
const char *ex_commands_unpack(const char *payload, size_t len, cJSON **doc, char *numbuf,
			       size_t numlen, char *event_id, size_t idlen, int64_t *ts,
			       const char **why);

/* bus_view.c: the exporter's view of the buses' tables */
int ex_bus_view_build(struct exporter *ex);
void ex_bus_view_free(struct exporter *ex);
/* Attaches buses whose driver appeared, re-attaches superseded or
 * replaced ones, and checks heartbeats; leaves bus->lost and
 * bus->avail_changed for the session. */
void ex_bus_view_maintain(struct exporter *ex, int64_t mono_ms);
/* When ex_bus_view_maintain is next due (fb_table_follower_next_ms of
 * every bus). */
int64_t ex_bus_view_next_ms(const struct exporter *ex, int64_t mono_ms);
/* The fd to poll for the bus (-1 while detached). */
int ex_bus_view_fd(const struct ex_bus *bus);
/* Walks the bus's journal into dirty marks, reads command results, and
 * re-attaches if the table was superseded. */
void ex_bus_view_drain(struct ex_bus *bus, int64_t mono_ms);

/* session.c: what to publish when */
/* Sets up the link with the session's handlers.  Returns 0, or -1 (logged);
 * ex_link_free(&ex->link) releases it. */
int ex_session_open(struct exporter *ex);
/* Runs the due timers (link retries, birth re-publish, cleanup window, the
 * 1 s tick); returns the next deadline (fb_mono_ms units). */
int64_t ex_session_deadlines(struct exporter *ex, int64_t now_ms);
/* The signal fd is readable: stop, or SIGHUP reloads the rights. */
void ex_session_signal(struct exporter *ex);
/* A bus's table fd is readable. */
void ex_session_table_readable(struct exporter *ex, struct ex_bus *bus);
/* The link's socket drained its queued bytes: publish what waited. */
void ex_session_link_drained(struct exporter *ex);

#endif
