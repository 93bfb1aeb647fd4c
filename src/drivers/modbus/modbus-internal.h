/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-modbus internals: one process serves one bus.
 *
 * Data flow: plan.c turns each device's definition into read blocks with
 * fb_plan_reads (per register table and poll class, honouring learned
 * splits from splits.c);
 * the loop in driver.c runs a deadline scheduler (sched.c) that picks the
 * most overdue block of any online device, or the probe of an offline one;
 * xact.c performs one transaction with pacing (t3.5 + guard time, timing.c),
 * retries and statistics; poll.c decodes blocks into the table (deadband,
 * heartbeat); command.c writes to a device, reads the point back and
 * publishes the confirmed value; stats.c keeps the diagnostic points. */
#ifndef FB_MODBUS_INTERNAL_H
#define FB_MODBUS_INTERNAL_H

#include <modbus/modbus.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "config_plan.h"
#include "model.h"
#include "table.h"

struct mb_stats {
	uint64_t requests, errors, timeouts, crc_errors;
	uint64_t stale_replies;            /* late answers drained (xact.c) */
	double latency_ms;                 /* of the last answered request */
};

/* Publishing state of one definition point (deadband, heartbeat, and the
 * write epoch that keeps a stale read from overwriting a written value). */
struct mb_point_state {
	struct fb_value published;
	uint8_t quality;                   /* enum fb_quality last written */
	bool has_published;
	int64_t published_mono_ms;         /* last journaled (or touched) */
	uint64_t written_epoch;            /* d->write_epoch of its last write */
};

struct mb_device {
	const struct fb_device_conf *conf;   /* borrowed from the config */
	const struct fb_definition *def;     /* the config's, or own_def */
	struct fb_definition *own_def;       /* owned: SunSpec devices' points,
					      * moved to where the device's
					      * models are (sunspec.c) */
	uint32_t table_device;               /* index in the table's devices */
	uint32_t first_point;                /* table index of def->points[0] */
	uint32_t first_diag;                 /* table index of the diag points */
	struct fb_plan_block *blocks;        /* owned */
	size_t nblocks;
	struct fb_plan_cut *cuts;            /* owned, learned splits */
	size_t ncuts;
	struct mb_point_state *pstate;       /* owned, def->npoints entries */
	int interval_ms;                     /* the normal poll interval */
	int failures;                        /* consecutive failed transactions */
	bool online;
	int backoff_ms;                      /* probe period while offline */
	int64_t next_probe_ms;
	uint64_t served;                     /* scheduler turn of its last read */
	uint32_t plan_gen;                   /* bumped by every (re)plan */
	int64_t sunspec_next_ms;             /* walk the SunSpec chain again */
	bool sunspec_rescan_online;          /* ... when it is back online */
	uint32_t sunspec_chain_hash;         /* of the chain last logged */
	struct mb_stats stats;
};

struct mb_driver {
	struct fb_config *cfg;               /* owned */
	struct fb_bus_conf *bus;             /* borrowed from cfg */
	struct fb_table *table;              /* owned */
	modbus_t *ctx;                       /* NULL while disconnected */
	bool rtu_framing;                    /* RTU or RTU-over-TCP */
	uint16_t tcp_tid;                    /* Modbus TCP reads (poll.c) */
	bool line_held;                      /* a scan holds the line lock itself */
	bool scanning;                       /* a queued scan runs: polling paused */
	dev_t link_rdev;                     /* RTU: what the path named at open */
	ino_t link_ino;
	int64_t next_connect_ms;
	int connect_backoff_ms;
	bool link_was_up;                    /* for logging once per change */
	struct mb_device *devices;           /* owned, only enabled devices */
	size_t ndevices;
	uint32_t npoints;                    /* table points */
	/* table index -> owner; point >= def->npoints is a diagnostic point */
	struct { uint32_t device, point; } *point_map; /* owned */
	int signal_fd, timer_fd;
	bool stop;
	/* pacing (timing.c) */
	int t35_us, char_us;                 /* 0 for Modbus TCP */
	int64_t bus_free_ns;                 /* monotonic: line silent enough */
	/* scheduling and statistics */
	uint64_t turn;                       /* scheduler turns so far */
	const struct mb_device *last_served; /* the last step's device */
	uint64_t write_epoch;                /* writes so far */
	int64_t commands_resume_ms;          /* command flood: pause until */
	bool command_fd_ready;               /* seen readable: drain it once */
	int64_t busy_us;                     /* in the current stats window */
	int64_t window_start_ms;
	double utilisation_pct;
	int64_t next_stats_ms;
	/* learned splits */
	char *splits_path;                   /* owned; NULL = not persisted */
	struct mb_cover *covers;             /* owned: covers on relays (cover.c) */
	size_t ncovers;
};

/* Result of one transaction (xact.c). */
enum mb_xact {
	MB_XACT_OK,
	MB_XACT_EXCEPTION,  /* the device answered with an exception: alive */
	MB_XACT_NO_ANSWER,  /* timeout, CRC error, garbage: maybe dead */
	MB_XACT_LINK_DOWN,  /* the link broke or is not connected */
	MB_XACT_PREEMPTED,  /* a command arrived before the frame went out */
};

/* plan.c: computes dev->blocks from the definition (fb_plan_reads) and
 * dev->cuts, and bumps dev->plan_gen.  Every block is due at `now_ms`.
 * Returns 0 or -1 (ENOMEM). */
int mb_plan_device(struct mb_device *dev, int64_t now_ms);
void mb_plan_free(struct mb_device *dev);

/* splits.c: learned splits in "<state_dir>/modbus-<bus>.splits.json". */
void mb_splits_load(struct mb_driver *d);
int mb_splits_save(const struct mb_driver *d);
/* Records a cut chosen for a block that got exception 02/03; returns true
 * if it is new (then re-plan and save). */
bool mb_splits_learn(struct mb_device *dev, const struct fb_plan_block *blk,
		     uint16_t *cut_out);

/* sunspec.c: a device whose definition has a "sunspec" block gets its own
 * copy of the points (setup, at start); after each connect locate() finds
 * the device's models, moves the points there and re-plans. */
int mb_sunspec_setup(struct mb_device *dev);
void mb_sunspec_free(struct mb_device *dev);
void mb_sunspec_locate(struct mb_driver *d, struct mb_device *dev, int64_t now_ms);

/* timing.c: pacing (the arithmetic is fb_plan_char_us and fb_plan_t35_us). */
/* Waits until the line has been silent t3.5 + guard since the last frame.
 * If `interruptible`, returns 1 as soon as a command is queued (the caller
 * then runs it first), else 0; sleeps in ppoll(), never spins. */
int mb_pace_wait(struct mb_driver *d, bool interruptible);
/* Marks the end of a frame exchange: the next frame may start after
 * t3.5 + guard_ms from now. */
void mb_pace_mark(struct mb_driver *d, int guard_ms);
/* Keeps the line silent for at least ms from now (a connect delay). */
void mb_pace_delay(struct mb_driver *d, int ms);

/* link.c: (re)connects with exponential backoff. */
int mb_link_connect(struct mb_driver *d, int64_t now_ms);
void mb_link_close(struct mb_driver *d, const char *why);
/* Drops whatever is left in the receive path (a late answer after a
 * timeout must not be taken as the reply to the next request). */
void mb_link_flush(struct mb_driver *d);
/* After an answer that was not ours (another transaction id, unit, function
 * or a bad CRC): reads and drops everything until the line has been quiet
 * for quiet_ms, waiting up to first_wait_ms for the first byte (our own
 * answer may still be on its way).  Returns the frames dropped (Modbus TCP:
 * counted by their MBAP length; RTU: 1 if anything was dropped). */
int mb_link_drain(struct mb_driver *d, int first_wait_ms, int quiet_ms);
/* True if errno after a failed libmodbus call means the link itself is
 * broken (reconnect), rather than one device not answering. */
bool mb_link_errno_is_fatal(int err);
/* RTU: true if the configured path no longer names the open device
 * (adapter unplugged and replugged, pty recreated). */
bool mb_link_stale(const struct mb_driver *d);

/* xact.c: one transaction with the device's timeouts, pacing, retries
 * (`retries` < 0: the device's) and statistics.  fn does the libmodbus call
 * and returns < 0 with errno on failure.  *err_out gets the errno. */
typedef int (*mb_xact_fn)(modbus_t *ctx, void *arg);
/* raw_request.c: sends a button's raw PDU to `unit` and receives the
 * answer libmodbus cannot parse; 1 when the device answered with the same
 * function code, -1 with errno (ETIMEDOUT, EMBBADCRC, Modbus exception). */
int mb_raw_request(modbus_t *ctx, bool rtu, int unit, const uint8_t *pdu, size_t n);

enum mb_xact mb_xact_run(struct mb_driver *d, struct mb_device *dev, mb_xact_fn fn,
			 void *arg, int retries, bool interruptible, int *err_out);
/* The same for a read: one that met a stale answer is sent once more after
 * the link was drained, beyond `retries` (repeating a read is harmless; a
 * write is never repeated for this). */
enum mb_xact mb_xact_read(struct mb_driver *d, struct mb_device *dev, mb_xact_fn fn,
			  void *arg, int retries, bool interruptible, int *err_out);

/* poll.c: reads one block and writes the table. */
enum mb_xact mb_poll_block(struct mb_driver *d, struct mb_device *dev,
			   struct fb_plan_block *blk, int64_t now_ms, bool probe);
/* Writes a command's result (ticket, event id and origin copied from cmd)
 * into the table's results ring. */
void mb_command_result(struct mb_driver *d, const struct fb_command *cmd,
		       enum fb_command_status status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void mb_command_vresult(struct mb_driver *d, const struct fb_command *cmd,
			enum fb_command_status status, const char *fmt, va_list ap);
/* Reads one point (command read-back) into v; regs (room for
 * MB_MAX_READ_REGISTERS, or NULL) receives the point's own words. */
enum mb_xact mb_read_point(struct mb_driver *d, struct mb_device *dev,
			   const struct fb_point_def *p, struct fb_value *v, uint16_t *regs,
			   int *err);
/* Stores a decoded value for definition point pi (deadband, heartbeat)
 * with the words it came from (borrowed, fb_point_width of them; NULL
 * keeps the last good ones). */
void mb_store_point(struct mb_driver *d, struct mb_device *dev, uint32_t pi,
		    const struct fb_value *v, enum fb_quality q, bool force,
		    const uint16_t *raw);
/* Marks a device's availability and its points' quality. */
void mb_device_set_online(struct mb_driver *d, struct mb_device *dev, bool online,
			  const char *why);

/* sched.c: runs at most one due transaction; returns the device it served,
 * NULL if nothing was due. */
struct mb_device *mb_sched_step(struct mb_driver *d, int64_t now_ms);
/* Whether the next due transaction (at now_ms) is dev's again. */
bool mb_sched_next_is(struct mb_driver *d, const struct mb_device *dev, int64_t now_ms);
/* The earliest monotonic deadline of any block or probe. */
int64_t mb_sched_next_deadline(const struct mb_driver *d);
/* After (re)connecting: every device is due now. */
void mb_sched_reset(struct mb_driver *d, int64_t now_ms);

/* command.c: executes queued commands, latest wins per point.  Returns true
 * if more may be queued (it stops after a few batches so result readers
 * keep up with the results ring): call again soon. */
bool mb_commands_run(struct mb_driver *d);

/* cover.c: covers on two relays.  setup after the devices exist (-1:
 * ENOMEM); tick every loop pass with the link up (run ends, relays
 * switched off at start and after a reconnect, progress); deadline
 * lowers `deadline` to the next run end or progress update. */
struct mb_cover;
int mb_covers_setup(struct mb_driver *d);
void mb_covers_free(struct mb_driver *d);
void mb_covers_tick(struct mb_driver *d, int64_t now_ms);
void mb_covers_link_down(struct mb_driver *d);
int64_t mb_covers_deadline(const struct mb_driver *d, int64_t deadline);
/* A command to a cover on relays (point pi of dev), with its result. */
void mb_cover_command(struct mb_driver *d, struct mb_device *dev, uint32_t pi,
		      const struct fb_command *cmd);

/* stats.c: diagnostic points. */
void mb_stats_account(struct mb_driver *d, struct mb_device *dev, int err,
		      int64_t elapsed_us, bool answered);
void mb_stats_publish(struct mb_driver *d, int64_t now_ms, bool force);

#endif
