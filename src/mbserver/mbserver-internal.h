/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-mbserver internals: one process per configured Modbus TCP
 * server ("modbus_servers", docs/mbserver.md).  It serves the state tables
 * of its buses to other Modbus masters (evcc, SCADA tools) so that the
 * RS-485 line keeps one master: reads are answered from the table with the
 * raw words the device last returned, and writes (if enabled) become
 * commands through the table's queue.
 *
 * Files, each calling only those listed before it:
 *   mbap.c    the MBAP/PDU request parser and reply framing (pure; fuzzed)
 *   map.c     which table point answers (unit, table, address), and the
 *             server user's rights on it
 *   answer.c  a read answered from the table, a write turned into commands
 *   clients.c the listener and the clients: bounded buffers, timeouts
 *   server.c  the poll() loop: signals, timer, listener, clients, tables,
 *             and the server's own table of statistics (config.h status)
 *   main.c    arguments */
#ifndef FB_MBSERVER_INTERNAL_H
#define FB_MBSERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "daemon.h"
#include "model.h"
#include "table.h"
#include "table_follower.h"
#include "users.h"

/* ---- mbap.c ----
 * Modbus Application Protocol v1.1b3 and Modbus Messaging on TCP/IP
 * Implementation Guide v1.0b §3.1.3: a 7-byte MBAP header (transaction id,
 * protocol id 0, length of unit id + PDU, unit id), then the PDU.  An ADU is
 * at most 260 bytes. */
#define MBS_ADU_MAX 260
#define MBS_MBAP_LEN 7

/* Exception codes (MODBUS Application Protocol v1.1b3 §7). */
enum mbs_exception {
	MBS_EX_NONE = 0,
	MBS_EX_ILLEGAL_FUNCTION = 0x01,
	MBS_EX_ILLEGAL_ADDRESS = 0x02,
	MBS_EX_ILLEGAL_VALUE = 0x03,
	MBS_EX_DEVICE_FAILURE = 0x04,
	MBS_EX_PATH_UNAVAILABLE = 0x0A,
	MBS_EX_TARGET_FAILED = 0x0B,
};

/* Function codes served. */
enum {
	MBS_FC_READ_COILS = 0x01,
	MBS_FC_READ_DISCRETE = 0x02,
	MBS_FC_READ_HOLDING = 0x03,
	MBS_FC_READ_INPUT = 0x04,
	MBS_FC_WRITE_COIL = 0x05,
	MBS_FC_WRITE_REGISTER = 0x06,
	MBS_FC_WRITE_COILS = 0x0F,
	MBS_FC_WRITE_REGISTERS = 0x10,
};

/* One request, as parsed.  Values are only those the function carries. */
struct mbs_request {
	uint16_t tid;
	uint8_t unit;
	uint8_t fc;
	uint16_t address, count;    /* count: 1 for FC05/06 */
	/* FC06/10: register values; FC05/0F: one 0/1 per coil */
	uint16_t values[2000];
	/* non-zero: the request is well framed but must be answered with this
	 * exception (unknown function, count out of range, bad FC05 value) */
	uint8_t exception;
};

enum mbs_parse {
	MBS_PARSE_BAD = -1,   /* not Modbus TCP: close the connection */
	MBS_PARSE_MORE = 0,   /* incomplete: wait for more bytes */
	MBS_PARSE_OK = 1,     /* one request in *req, *used bytes consumed */
};

/* Parses the first ADU of buf[0..len).  Never reads past len; pure. */
enum mbs_parse mbs_mbap_parse(const uint8_t *buf, size_t len, struct mbs_request *req,
			      size_t *used);
/* Frames an exception reply into out (>= 9 bytes); returns its length. */
size_t mbs_mbap_exception(const struct mbs_request *req, uint8_t code, uint8_t *out);
/* Frames a reply whose PDU (function code first) is pdu[0..n) into out
 * (>= MBS_MBAP_LEN + n); n <= 253.  Returns its length. */
size_t mbs_mbap_reply(const struct mbs_request *req, const uint8_t *pdu, size_t n,
		      uint8_t *out);
/* The register table a function code reads or writes; -1 for others. */
int mbs_mbap_table(uint8_t fc);

/* ---- map.c ---- */

/* A point of a served device: its place on the wire and in the table. */
struct mbs_span {
	uint32_t device;            /* index in mbs_map.devices */
	uint32_t point;             /* index in the device's definition */
	uint16_t start, width;
};

/* A served address: the span answering it (the first one covering it). */
struct mbs_cell {
	uint16_t address;
	uint32_t span;
};

struct mbs_device {
	const struct fb_device_conf *conf; /* borrowed from the config */
	size_t bus;                 /* index in mbs_map.buses */
	int unit_id;                /* served under (after "unit_ids") */
	uint8_t *access;            /* owned: enum fb_access per definition point */
	long *tindex;               /* owned: table index per point, -1 unknown */
	struct mbs_cell *cells[4];  /* owned, per enum fb_reg_table, by address */
	size_t ncells[4];
};

struct mbs_bus {
	const struct fb_bus_conf *conf;     /* borrowed */
	struct fb_table_follower *follower; /* owned */
	struct fb_table_reader *reader;     /* borrowed from the follower, or NULL */
	void *owner;                        /* the handlers' ctx (mbs_map_build) */
	size_t index;                       /* in mbs_map.buses */
};

struct mbs_map {
	struct mbs_device *devices; /* owned */
	size_t ndevices;
	struct mbs_span *spans;     /* owned */
	size_t nspans;
	struct mbs_bus *buses;      /* owned */
	size_t nbuses;
	int16_t by_unit[256];       /* unit id -> device index, -1 none */
};

/* Builds the map of server s over cfg's buses (definitions loaded) with
 * the rights of `user` (NULL with users NULL: no users file, every right;
 * NULL with a users file: no rights).  Followers are created, not yet
 * attached.  Returns 0, or -1 (ENOMEM). */
int mbs_map_build(struct mbs_map *m, const struct fb_config *cfg,
		  const struct fb_mbserver_conf *s, const struct fb_users *users,
		  const struct fb_user *user, const struct fb_table_follower_handlers *h,
		  void *ctx);
void mbs_map_free(struct mbs_map *m);
/* Re-resolves the table indices of bus b's devices against r (NULL:
 * detached, every index -1). */
void mbs_map_resolve(struct mbs_map *m, size_t b, const struct fb_table_reader *r);
/* The span answering `address` of `table` on device d, or NULL. */
const struct mbs_span *mbs_map_find(const struct mbs_map *m, const struct mbs_device *d,
				    int table, uint16_t address);
/* The device served under unit id u, or NULL. */
struct mbs_device *mbs_map_unit(struct mbs_map *m, uint8_t u);

/* ---- answer.c ---- */

#define MBS_WRITE_POINTS_MAX 64     /* points one forwarded write may cover */
#define MBS_WRITE_TIMEOUT_MS 10000  /* no result by then: exception 04 */

/* A forwarded write waiting for the driver's results. */
struct mbs_pending {
	size_t bus;
	uint64_t tickets[MBS_WRITE_POINTS_MAX];
	size_t ntickets, ndone;
	bool failed;
	int64_t deadline_ms;        /* monotonic */
};

struct mbs_answer_ctx {
	struct mbs_map *map;              /* borrowed */
	const struct fb_mbserver_conf *conf; /* borrowed */
	const char *origin;               /* borrowed: commands' origin */
	uint64_t next_event;              /* for event ids */
};

/* Answers req: returns the reply length in out (>= MBS_ADU_MAX), or 0 if
 * the request became commands in *pending (reply later with
 * mbs_answer_write_done). */
size_t mbs_answer(struct mbs_answer_ctx *a, const struct mbs_request *req, uint8_t *out,
		  struct mbs_pending *pending, int64_t mono_ms);
/* The reply to a forwarded write once pending is complete or timed out. */
size_t mbs_answer_write_done(const struct mbs_request *req, const struct mbs_pending *p,
			     uint8_t *out);

/* ---- clients.c ---- */

#define MBS_IN_MAX (2 * MBS_ADU_MAX)  /* a client's unparsed input */
#define MBS_OUT_MAX (8 * MBS_ADU_MAX) /* a client's unsent replies */
#define MBS_FRAME_TIMEOUT_MS 5000     /* a started request must complete */
#define MBS_SEND_TIMEOUT_MS 10000     /* replies must drain */

struct mbs_client {
	int fd;                     /* owned; -1 = free slot */
	uint8_t in[MBS_IN_MAX];
	size_t inlen;
	uint8_t out[MBS_OUT_MAX];
	size_t outlen;
	int64_t active_ms;          /* monotonic: last complete request */
	int64_t partial_ms;         /* monotonic: first byte of an incomplete request, 0 none */
	int64_t send_ms;            /* monotonic: unsent output since, 0 none */
	bool waiting;               /* a forwarded write is pending */
	struct mbs_request wreq;    /* that write's request */
	struct mbs_pending pending;
	char peer[64];
};

struct mbs_clients {
	int listen_fd;              /* owned */
	struct mbs_client *c;       /* owned, max entries */
	size_t max, count;
	uint64_t requests;          /* answered so far */
	uint64_t refused;           /* connections over max_clients */
	uint64_t errors;            /* exception replies and bad frames */
	const char *name;           /* borrowed: server name, for logs */
	int64_t idle_ms;            /* idle_timeout_s */
	struct mbs_request req;     /* scratch */
};

/* Binds and listens.  Returns 0, or -1 after logging why. */
int mbs_clients_open(struct mbs_clients *cs, const struct fb_mbserver_conf *s);
void mbs_clients_close(struct mbs_clients *cs);
/* Accepts every pending connection (refusing those over max). */
void mbs_clients_accept(struct mbs_clients *cs, int64_t mono_ms);
/* Handles poll events of client i: reads, answers, writes, closes. */
void mbs_clients_io(struct mbs_clients *cs, size_t i, short revents,
		    struct mbs_answer_ctx *a, int64_t mono_ms);
/* Closes clients past their timeouts and answers timed-out writes;
 * returns the earliest deadline left (INT64_MAX: none). */
int64_t mbs_clients_expire(struct mbs_clients *cs, struct mbs_answer_ctx *a, int64_t mono_ms);
/* A command result for bus b: completes the writes waiting for it. */
void mbs_clients_result(struct mbs_clients *cs, size_t b, const struct fb_command_result *res,
			struct mbs_answer_ctx *a, int64_t mono_ms);
/* Bus b's table was let go: its waiting writes get exception 04 now. */
void mbs_clients_bus_lost(struct mbs_clients *cs, size_t b, struct mbs_answer_ctx *a,
			  int64_t mono_ms);
/* Events client i waits for (0: none). */
short mbs_clients_events(const struct mbs_clients *cs, size_t i);

/* ---- server.c ---- */
/* Runs server args->instance until SIGTERM; returns the exit code. */
int mbs_server_run(const struct fb_daemon_args *args);

#endif
