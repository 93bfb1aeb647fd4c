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

#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"
#include "table.h"

#define EX_TOPIC_MAX 256
#define EX_DEDUP_WINDOW 256 /* command event ids remembered */

struct ex_bus;

struct ex_device {
	const struct fb_device_conf *conf;   /* borrowed from the config */
	const struct fb_definition *def;     /* borrowed from the config */
	struct ex_bus *bus;
	long *point_index;   /* def point -> table index, -1 if absent; owned */
	long table_device;   /* -1 until attached */
	bool dirty;          /* state must be re-published */
	int published_avail; /* -1 unknown, 0 offline, 1 online (as last sent) */
	int64_t *last_cmd_ts;/* per def point: ts of the last applied command; owned */
	char state_topic[EX_TOPIC_MAX];
	char avail_topic[EX_TOPIC_MAX];
};

struct ex_bus {
	const struct fb_bus_conf *conf;      /* borrowed */
	char table_name[128];
	struct fb_table_reader *reader;      /* NULL until the driver runs */
	struct ex_device **by_point;         /* table index -> device; owned */
	size_t npoints;
	bool alive;                          /* heartbeat fresh */
	int64_t stale_after_ms;
};

struct ex_dedup {
	char ids[EX_DEDUP_WINDOW][FB_TABLE_EVENT_ID_MAX];
	size_t next;
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

	/* connection state machine (mqtt_link.c) */
	bool connected;        /* CONNACK accepted */
	bool connecting;       /* socket open, waiting for CONNACK */
	int64_t connect_deadline_ms;  /* timeout_s, 0 = none */
	int64_t reconnect_at_ms;      /* 0 = not scheduled */
	int reconnect_backoff_ms;
	int64_t republish_at_ms;      /* after a Home Assistant birth */

	uint64_t event_seq;
	char boot_id[17];      /* random per process start: event ids stay unique */
	int signal_fd, timer_fd;
	bool stop;
};

/* mqtt_link.c */
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

/* commands.c */
void ex_command_message(struct exporter *ex, const struct mosquitto_message *msg);
void ex_command_results(struct exporter *ex, struct ex_bus *bus);

#endif
