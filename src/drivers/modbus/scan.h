/* SPDX-License-Identifier: Apache-2.0 */
/* The bus scan (docs/bus-scan.md): which unit ids answer on a line, at
 * which framing, how fast, and which definitions match them.  scan.c is
 * the engine on a connected mb_driver link (the driver's own pacing and
 * libmodbus context); scan_cli.c runs it standalone
 * (fieldbridge-modbus --scan), scan_command.c inside a running driver on a
 * queued command; scan_report.c writes the results; line_lock.c is the
 * serial line's lock that keeps the two apart. */
#ifndef FB_MODBUS_SCAN_H
#define FB_MODBUS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "modbus-internal.h"

#define MB_SCAN_MAX_FRAMINGS 64
#define MB_SCAN_SAMPLES 8           /* probes per found unit for latency */

struct mb_scan_framing {
	int baud;
	char parity;                     /* 'N' (sent with 2 stop bits), 'E', 'O' */
	int stop_bits;
};

struct mb_scan_params {
	bool ids[256];                   /* unit ids to probe (never 0 on RTU) */
	struct mb_scan_framing framings[MB_SCAN_MAX_FRAMINGS];
	size_t nframings;                /* 0: the link as it is (no reopen) */
	bool first;                      /* stop at the first device found */
	bool fc04;                       /* also FC04 at ids silent to FC03 */
	bool fc11;                       /* FC11 "report server id" at found ids */
	int turnaround_ms;               /* device reply budget, default 50 */
	int deadline_s;                  /* whole scan, default 300 */
	int address;                     /* register probed, default 0 */
	const struct fb_definition *const *defs; /* identify candidates */
	size_t ndefs;
};

struct mb_scan_device {
	int unit;
	struct mb_scan_framing framing;  /* baud 0 on Modbus TCP */
	int fc;                          /* the probe that answered: 3 or 4 */
	int exception;                   /* 0: answered with a value */
	unsigned value;
	double p50_ms, p99_ms;
	int samples;                     /* answered probes behind p50/p99 */
	int suggested_timeout_ms;
	bool late;                       /* answered only after the scan timeout */
	double late_ms;
	bool duplicate;
	char duplicate_why[96];
	char candidates[256];            /* definition ids, comma-separated */
	char server_id[80];              /* FC11 answer, printable; "" if none */
};

struct mb_scan_result {
	struct mb_scan_device *devices;  /* owned, mb_scan_result_free */
	size_t ndevices;
	struct mb_scan_framing framings[MB_SCAN_MAX_FRAMINGS]; /* that answered */
	size_t nframings;
	unsigned probes, late_replies, crc_errors, gateway_absent;
	bool ignores_unit_id;            /* TCP: every id answered alike */
	bool deadline_hit, cancelled;
	double elapsed_s;
	char error[160];                 /* non-empty: the scan stopped on it */
};

struct mb_scan_progress {
	const char *phase;               /* "framing", "sweep", "identify" */
	const struct mb_scan_framing *framing;
	size_t done, total;              /* probes in this scan */
	double eta_s;                    /* estimated time left */
	const struct mb_scan_device *found; /* non-NULL: just found */
};
/* Called after every probe; return false to cancel the scan. */
typedef bool (*mb_scan_progress_fn)(void *ctx, const struct mb_scan_progress *p);

/* Parameters with the defaults of docs/bus-scan.md for this transport. */
void mb_scan_params_default(struct mb_scan_params *p, bool rtu);
/* "1-247", "3,17,100-110" into p->ids; -1 (with *why) on bad text. */
int mb_scan_parse_ids(const char *text, bool allow_zero, struct mb_scan_params *p,
		      const char **why);
/* Baud and parity lists ("9600,19200", "E,N,O") into p->framings. */
int mb_scan_parse_framings(const char *bauds, const char *parities,
			   struct mb_scan_params *p, const char **why);

/* A queued scan command's options (the command's string value, from
 * another process): "ids=3,17 first fc04 fc11 turnaround=80 deadline=60".
 * -1 with *why on anything else. */
int mb_scan_parse_options(const char *text, bool tcp, struct mb_scan_params *p,
			  const char **why);

/* Runs the scan on d's link (d->bus names the transport; with framings,
 * d->bus's baud/parity/stop bits are changed and the link reopened for
 * each).  Read-only: FC03/04 of one register at unit ids >= 1.  Returns 0
 * (out filled, possibly with out->error set), -1 on ENOMEM. */
int mb_scan_run(struct mb_driver *d, const struct mb_scan_params *p,
		mb_scan_progress_fn cb, void *ctx, struct mb_scan_result *out);
void mb_scan_result_free(struct mb_scan_result *r);

/* scan_report.c: one JSON document; a human table. */
void mb_scan_report_json(FILE *f, const struct fb_bus_conf *bus,
			 const struct mb_scan_result *r);
void mb_scan_report_text(FILE *f, const struct mb_scan_result *r);
/* One device in FB_TABLE_REASON_MAX characters (for the results ring):
 * "unit=3 19200/E/1 fc=3 v=1234 p50=8 p99=10 to=70 [late] [dup]", with
 * x=02 for an exception, "garbled" for CRC errors only.  Its definition
 * candidates go in lines of their own (they may not fit). */
void mb_scan_report_line(char *buf, size_t len, const struct mb_scan_device *dev);

/* scan_defs.c: every definition with an identify block in dirs (the
 * others are not candidates); unreadable files are skipped. */
size_t mb_scan_defs_load(const char *const *dirs, size_t ndirs, struct fb_definition ***out);
void mb_scan_defs_free(struct fb_definition **defs, size_t n);

/* scan_cli.c: fieldbridge-modbus --scan ...; returns the exit code. */
int mb_scan_main(int argc, char **argv);

/* scan_command.c: a queued scan command inside the running driver. */
void mb_scan_command(struct mb_driver *d, const struct fb_command *cmd);

/* line_lock.c */
/* flock(LOCK_EX|LOCK_NB) on the open port; -1 with errno EBUSY if held. */
int mb_line_lock_take(int fd);
/* Who holds the lock on path: "fieldbridge-modbus@meters.service (pid 12,
 * fieldbridge-modb)" or "pid 12 (socat)". */
void mb_line_lock_holder(const char *path, char *out, size_t len);

#endif
