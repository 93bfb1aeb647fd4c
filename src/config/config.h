/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway configuration: one main file (default
 * /etc/fieldbridge/fieldbridge.json) plus optional per-bus files in
 * "buses.d/" and per-connection files in "connections.d/" next to it.
 * Format and every field: docs/configuration.md.
 *
 * Memory: fb_config_load returns a config the caller frees with
 * fb_config_free; all strings inside are owned by it.  Device definitions
 * are loaded on demand with fb_config_load_definitions. */
#ifndef FB_CONFIG_H
#define FB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "model.h"

enum fb_bus_transport {
	FB_BUS_TCP,
	FB_BUS_RTU,
	FB_BUS_RTU_OVER_TCP,
	FB_BUS_GPIO,   /* lines of one chip, served by fieldbridge-gpio */
};

/* ---- GPIO (config_gpio.c; docs/configuration.md, "GPIO buses") ----
 * A device's "lines" entry binds one point of its gpio definition to a line
 * of the bus's chip, and may override the definition's electrical fields.
 * -1 in an int field means "as the definition says". */
struct fb_gpio_line_conf {
	char *point;        /* point key in the definition */
	char *line;         /* line name, or NULL if given as an offset */
	int offset;         /* line offset, -1 if given by name */
	int active_low;     /* -1, 0, 1 */
	int bias;           /* -1 or enum fb_gpio_bias */
	int debounce_ms;    /* -1 or 0..10000 */
	int initial;        /* -1, 0, 1 */
	int on_exit;        /* -1 or enum fb_gpio_exit */
	int pulse_ms;       /* -1 or 1..60000 */
	double impulses_per_unit; /* 0 = as the definition says */
};
/* RS-485 line mode through the kernel (TIOCSRS485): auto = try it and carry
 * on if the port does not support it; on = same, but warn when unsupported. */
enum fb_rs485_mode { FB_RS485_AUTO, FB_RS485_ON, FB_RS485_OFF };
/* RTS toggled by the driver around each frame, for adapters without
 * automatic direction control. */
enum fb_rts_mode { FB_RTS_NONE, FB_RTS_UP, FB_RTS_DOWN };

struct fb_device_conf {
	char *id;             /* unique across the gateway: [a-z0-9_-] */
	char *definition;     /* definition id, e.g. "eastron-sdm120" */
	int unit_id;          /* 1..247 (0 allowed for TCP gateways: 0..255) */
	char *name;           /* shown in Home Assistant; default: model + id */
	char *area;           /* suggested_area, NULL if none */
	int poll_interval_ms; /* default: the bus's */
	/* Link timing, each defaulting to the bus's value (see fb_bus_conf). */
	int response_timeout_ms;
	int byte_timeout_ms;
	int retries;
	int guard_time_ms;
	struct fb_definition *def; /* set by fb_config_load_definitions; NULL if
				    * the definition failed (device disabled) */
	bool name_default;    /* "name" was not given: name is the id until
			       * fb_config_load_definitions makes it
			       * "<model> <id>" */
	/* "points": per-point name/device_class/icon/disabled; applied to the
	 * device's own copy of its definition (fb_model_with_overrides). */
	struct fb_point_override *overrides;
	size_t noverrides;
	struct fb_gpio_line_conf *gpio_lines; /* (GPIO) "lines", gpio buses only */
	size_t ngpio_lines;
};

struct fb_bus_conf {
	char *name;           /* instance name for --bus, [a-z0-9_-] */
	char *source;         /* file it came from, for messages */
	char *path;           /* JSON path in source: "buses[2]", "" for a
			       * buses.d file; for fb_diag_entry.path */
	enum fb_bus_transport transport;
	char *host;           /* TCP */
	int port;             /* TCP, default 502 */
	char *device;         /* RTU serial device path */
	int baud;             /* RTU, default 9600 */
	char parity;          /* 'N', 'E', 'O'; default 'N' */
	int data_bits, stop_bits;
	int response_timeout_ms; /* default 500 */
	int retries;             /* default 1 */
	int offline_after;       /* consecutive failures, default 3 */
	int poll_interval_ms;    /* default 1000 */
	int byte_timeout_ms;     /* gap allowed inside an answer; 0 = libmodbus'
				  * default (500 ms) */
	int guard_time_ms;       /* extra silence after t3.5, default 0 */
	int backoff_max_ms;      /* offline probe period cap, default 60000 */
	enum fb_rs485_mode rs485; /* RTU: default auto */
	enum fb_rts_mode rts;     /* RTU: driver-toggled RTS, default none */
	int rts_delay_us;         /* RTU: RTS settle time, 0 = libmodbus' */
	struct fb_device_conf *devices;
	size_t ndevices;
	char *gpio_chip;          /* (GPIO) chip label, e.g. "pinctrl-rp1" */
	int gpio_persist_interval_s; /* (GPIO) counter state writes, default 60 */
};

enum fb_conn_mode { FB_CONN_SOCKET, FB_CONN_WEBSOCKET };
enum fb_ssl_mode { FB_SSL_OFF, FB_SSL_ON, FB_SSL_TRUST_ALL };

/* One "Home Assistant MQTT Client" export connection: its broker
 * parameters, a name and the secrets' optional *_file variants. */
struct fb_conn_conf {
	char *name;               /* instance name for --connection */
	char *source;
	char *path;               /* as fb_bus_conf.path */
	char *user;               /* account limiting devices and commands */
	enum fb_conn_mode mode;   /* default socket */
	char *broker;             /* host or DNS name, no scheme, no port */
	int port;                 /* 1..65535, default 1883 */
	char *auth_user;          /* NULL = anonymous */
	char *auth_password;      /* secret: never log */
	enum fb_ssl_mode ssl;     /* default off */
	char *ssl_server_crt;     /* CA file; NULL = system store */
	char *ssl_client_crt;
	char *ssl_client_key;
	char *ssl_client_key_password; /* secret: never log */
	bool hostname_verification;    /* default on */
	int qos;                  /* 0..2, default 0 */
	bool retain;              /* default on */
	int timeout_s;            /* default 90; 0 = wait forever */
	int keep_alive_s;         /* default 60; 0 = off */
	int max_inflight;         /* 1..65000, default 10000 */
	int command_max_age_s;    /* 1..86400, default 30: older commands dropped */
	char *discovery_prefix;   /* default "homeassistant" */
	char *ws_path;            /* websocket URL path, default "/mqtt" */
	char *node_id;            /* default "<gateway id>_<name>" */
};

/* The "web" section (config_web.c; docs/web.md): fieldbridge-web only. */
enum fb_web_tls { FB_WEB_TLS_AUTO, FB_WEB_TLS_ON, FB_WEB_TLS_OFF };
struct fb_web_conf {
	char **listen;            /* IP literals; none = every address */
	size_t nlisten;
	int port;                 /* default 8443 */
	enum fb_web_tls tls;      /* default auto: self-signed in state_dir */
	char *tls_cert, *tls_key; /* PEM files, both or neither */
	char **trusted_proxies;   /* peers whose X-Forwarded-* are honoured */
	size_t ntrusted_proxies;
	int session_idle_s;       /* 5..86400, default 1800 */
};

/* One "modbus_servers" entry (config_mbserver.c; docs/mbserver.md): a
 * Modbus TCP server answering from the state tables of its buses. */
enum fb_mbs_writes { FB_MBS_WRITES_OFF, FB_MBS_WRITES_FORWARD };
enum fb_mbs_stale { FB_MBS_STALE_EXCEPTION, FB_MBS_STALE_LAST };
struct fb_mbs_unit_map {
	char *device;             /* device id on one of the buses */
	int unit_id;              /* served under this unit id, 0..255 */
};
struct fb_mbserver_conf {
	char *name;               /* instance name for --server */
	char *source;             /* file it came from, for messages */
	char *path;               /* JSON path in source, "" for a
				   * modbus_servers.d file */
	char *listen;             /* IP literal, default "127.0.0.1" */
	int port;                 /* default 5020 */
	char **buses;             /* bus names, at least one */
	size_t nbuses;
	char *user;               /* account limiting what it serves and accepts */
	enum fb_mbs_writes writes; /* default off */
	enum fb_mbs_stale stale;  /* default exception (0B) */
	int max_clients;          /* 1..1024, default 32 */
	int idle_timeout_s;       /* close a client silent this long; default 60 */
	struct fb_mbs_unit_map *unit_ids; /* "unit_ids": { device: unit } */
	size_t nunit_ids;
	/* The server's own state table: its statistics as one device
	 * "mbs-<name>" (FB_MBS_STATUS_PREFIX) with diagnostic points
	 * (fb_model_mbserver_diag_points), on a bus of that name that no
	 * driver runs; exporters follow it like a bus.  Built by the parser,
	 * owned here; status_device.def stays NULL (the model has it). */
	struct fb_bus_conf status;
	struct fb_device_conf status_device;
};
#define FB_MBS_STATUS_PREFIX "mbs-"
/* A server name leaves room for the prefix in a device id. */
#define FB_MBS_NAME_MAX 27

struct fb_config {
	char *path;               /* main file */
	char *gateway_id;         /* default "fieldbridge"; names state tables */
	char *gateway_name;       /* default "fieldbridge" */
	char *state_dir;          /* default FB_DEFAULT_STATE_DIR */
	char *runtime_dir;        /* state tables; default FB_DEFAULT_RUNTIME_DIR */
	char *users_file;         /* NULL = no access control file */
	int log_level;            /* "log_level": an FB_LOG_* level; 0 = not set (info) */
	char **definition_dirs;   /* searched in order */
	size_t ndefinition_dirs;
	struct fb_bus_conf *buses;
	size_t nbuses;
	struct fb_conn_conf *conns;
	size_t nconns;
	struct fb_web_conf web;
	struct fb_mbserver_conf *mbservers;
	size_t nmbservers;
	/* Frees the definitions in defs; set by fb_config_load_definitions,
	 * so code that never loads definitions does not link the model. */
	void (*def_free)(struct fb_definition *def);
	/* Every definition loaded by fb_config_load_definitions, once per id:
	 * devices of the same model share one (their def is borrowed from
	 * here).  Owned; freed with def_free. */
	struct fb_definition **defs;
	size_t ndefs;
};

/* Loads the main file and its buses.d/ and connections.d/ files; adds every
 * problem to diag.  Returns NULL if any error was found (nothing is
 * half-started on a bad config).  Definitions are not loaded yet. */
struct fb_config *fb_config_load(const char *path, struct fb_diag *diag);
void fb_config_free(struct fb_config *c); /* accepts NULL */

/* Loads the definition of every device of `bus` (or of every bus if NULL).
 * A device whose definition fails gets def == NULL and an error in diag;
 * the others still work.  Returns the number of devices disabled. */
size_t fb_config_load_definitions(struct fb_config *c, struct fb_bus_conf *bus,
				  struct fb_diag *diag);

struct fb_bus_conf *fb_config_bus(const struct fb_config *c, const char *name);
struct fb_conn_conf *fb_config_conn(const struct fb_config *c, const char *name);
struct fb_mbserver_conf *fb_config_mbserver(const struct fb_config *c, const char *name);
/* The unit id device `dev` of a bus is served under by server `s`. */
int fb_config_mbserver_unit(const struct fb_mbserver_conf *s, const struct fb_device_conf *dev);

/* The state table path of a bus, "<runtime_dir>/<gateway_id>.<bus>", into
 * buf (256 bytes always suffice). */
void fb_config_table_name(const struct fb_config *c, const struct fb_bus_conf *bus,
			  char *buf, size_t len);

/* The users file for `conn` (borrowed): loaded, validated, and checked to
 * define conn->user.  Returns the users (caller frees with fb_users_free),
 * or NULL: after an error in diag, or after a warning when the gateway has
 * no users_file (then every user has full rights). */
struct fb_users;
struct fb_users *fb_config_load_users(const struct fb_config *c,
				     const struct fb_conn_conf *conn, struct fb_diag *diag);

/* What fb_config_check runs beyond loading the config and the definitions
 * in use.  A daemon asks for its own checks; a program that shows the whole
 * gateway asks for all of them. */
struct fb_config_checks {
	bool airtime; /* Modbus serial buses: the planned reads fit the line */
	bool users;   /* the users file defines each connection's user */
	/* Parses the TLS files of the connections in scope
	 * (fb_config_tls_check of config_tls.h); NULL: not checked. */
	void (*tls)(const struct fb_conn_conf *cc, struct fb_diag *diag);
	/* If set and nothing is wrong: receives "summary: ..." lines (buses,
	 * devices, points, reads per cycle, airtime per serial bus) for the
	 * instance checked; caller frees.  Left untouched after an error. */
	char **summary;
};

/* --check without printing: loads the config at `path` and the definitions
 * of every device in use, then runs `checks` (NULL: none), adding every
 * problem to diag.  `instance` names a bus when `kind` is "bus" (only its
 * devices and budget are checked; the users check is skipped), a connection
 * when `kind` is "connection" (a connection exports every bus, so every
 * definition and budget is checked), or is NULL for everything.  An unknown
 * instance is an error in diag.  Whatever the checks asked for, a
 * definition's documented serial settings are compared with its bus.  After an error in
 * the configuration itself the users file is still checked. */
void fb_config_check(const char *path, const char *kind, const char *instance,
		     const struct fb_config_checks *checks, struct fb_diag *diag);

/* (GPIO) The effective settings of gpio point `p` of device `d`: the
 * definition's, overridden by the device's "lines" entry for it.  Returns
 * the entry (borrowed) or NULL if the device binds no line to the point. */
const struct fb_gpio_line_conf *fb_config_gpio_line(const struct fb_device_conf *d,
						    const char *point);
void fb_config_gpio_effective(const struct fb_device_conf *d,
			      const struct fb_point_def *p, struct fb_gpio_point *out);

/* An IPv4 or IPv6 literal; and whether it is a loopback address. */
bool fb_web_addr_valid(const char *s);
bool fb_web_addr_loopback(const char *s);

/* Allowed values of timeout_s and keep_alive_s. */
bool fb_config_interval_valid(int seconds);

#endif
