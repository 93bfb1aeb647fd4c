/* SPDX-License-Identifier: Apache-2.0 */
/* The shared-memory state table: one file per driver instance (one per
 * bus) in the runtime directory, mapped by every process using it.  The
 * driver is the only writer of values; exporters attach read-only to values
 * and push commands through a queue in the same segment.
 *
 * A table is named by a path "<runtime dir>/<gateway>.<bus>" (a bare name
 * is taken in FB_DEFAULT_RUNTIME_DIR, /run/fieldbridge).  Trust comes from
 * the directory: no "other" user may write to it, and a table counts only
 * if it belongs to the directory's owner (the service user) and grants
 * "other" nothing.  A file failing that is a squatter's: readers refuse it
 * (EPERM) and a driver replaces it.
 *
 * Memory: the segment is created and sized by the driver (fb_table_create)
 * and unlinked when the driver exits cleanly.  Readers map it with
 * fb_table_attach and must re-attach when fb_table_superseded() says a new
 * driver generation took over the name.
 *
 * Errors: functions returning int give 0 on success and -1 with errno set;
 * functions returning pointers give NULL with errno set. */
#ifndef FB_TABLE_H
#define FB_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FB_TABLE_KEY_MAX 32     /* device id and point id, each incl. NUL */
#define FB_TABLE_STRING_MAX 48  /* string values, incl. NUL */
#define FB_TABLE_REASON_MAX 96  /* command failure reasons, incl. NUL */
#define FB_TABLE_ORIGIN_MAX 32  /* command origin (exporter name), incl. NUL */
#define FB_TABLE_EVENT_ID_MAX 48
/* Raw words kept per point: the widest point (a 23-register string, see
 * FB_TABLE_STRING_MAX) fits. */
#define FB_TABLE_RAW_MAX 24

enum fb_value_kind {
	FB_VALUE_NONE = 0, /* never read, or a sentinel made it unknown */
	FB_VALUE_BOOL,
	FB_VALUE_INT,      /* i */
	FB_VALUE_UINT,     /* u */
	FB_VALUE_FLOAT,    /* f */
	FB_VALUE_STRING,   /* s, NUL-terminated */
};

struct fb_value {
	uint8_t kind; /* enum fb_value_kind */
	uint8_t pad[7];
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double f;
		char s[FB_TABLE_STRING_MAX];
	};
};

enum fb_quality {
	FB_QUALITY_NEVER_READ = 0,
	FB_QUALITY_OK,
	FB_QUALITY_COMM_ERROR,
	FB_QUALITY_STALE,
};

/* A consistent copy of one point, as returned to readers. */
struct fb_point_snapshot {
	struct fb_value value;
	uint8_t quality;          /* enum fb_quality */
	int64_t read_ts_ms;       /* wall clock of the last read attempt result */
	int64_t change_ts_ms;     /* wall clock of the last value change */
	/* The words (one 0/1 per bit on bit tables) the device last answered
	 * for the point, in wire order, kept when later reads fail: the last
	 * good ones.  nraw 0: never answered (or a driver that keeps none). */
	uint8_t nraw;
	uint16_t raw[FB_TABLE_RAW_MAX];
};

/* Static description of a point, given at creation. */
struct fb_point_desc {
	char device[FB_TABLE_KEY_MAX];
	char point[FB_TABLE_KEY_MAX];
	uint8_t kind; /* enum fb_value_kind the driver will store */
};

struct fb_device_desc {
	char device[FB_TABLE_KEY_MAX];
};

/* ---- driver side (the single writer) ---- */

struct fb_table;

/* Creates the table `path` for `points` and `devices` (both borrowed,
 * copied).  First takes the bus lock "<path>.lock": while a live driver
 * holds it this fails with EBUSY (fb_table_lock_pid names it) and touches
 * nothing.  A table a dead driver left under the name is marked superseded
 * (waking its readers) and replaced; the generation is the old one + 1.
 * Any other file under the name is replaced too.  Creates the directory
 * (0750) if missing; EPERM if it belongs to another user or "other" may
 * write to it.  Caller frees with fb_table_destroy(). */
struct fb_table *fb_table_create(const char *path,
				 const struct fb_device_desc *devices, size_t ndevices,
				 const struct fb_point_desc *points, size_t npoints);
/* The pid written into the bus lock of `path` by its holder, or 0. */
long fb_table_lock_pid(const char *path);
/* Unlinks the name (only if it still names our segment), unmaps and
 * releases the lock.  Accepts NULL. */
void fb_table_destroy(struct fb_table *t);

/* Store a value/quality for point `index`.  Journals the change when the
 * value or quality differs; always refreshes read_ts.  Readers are woken by
 * fb_table_notify(), so a driver can write a whole block and wake once. */
void fb_table_point_write(struct fb_table *t, uint32_t index,
			  const struct fb_value *v, enum fb_quality q, int64_t now_ms);
/* The same, also storing the raw words the value was decoded from (raw
 * borrowed, nraw <= FB_TABLE_RAW_MAX, more are cut).  fb_table_point_write
 * keeps the point's earlier raw words.  Raw words alone changing journals
 * nothing: readers of raw words read them on demand. */
void fb_table_point_write_raw(struct fb_table *t, uint32_t index,
			      const struct fb_value *v, enum fb_quality q, int64_t now_ms,
			      const uint16_t *raw, size_t nraw);
/* The same as fb_table_point_write, but the change does not make the next
 * fb_table_notify wake readers: for periodic low-value updates
 * (statistics), which readers pick up at their next wake-up of any kind
 * (fb_table_follower_maintain comes at least every
 * FB_TABLE_FOLLOWER_QUIET_MS).  An idle bus then wakes its exporter only
 * for the heartbeat watch. */
void fb_table_point_write_quiet(struct fb_table *t, uint32_t index,
				const struct fb_value *v, enum fb_quality q, int64_t now_ms);
/* Force a journal entry for `index` even if nothing changed (e.g. after a
 * command's read-back, so the confirmed state is re-published). */
void fb_table_point_touch(struct fb_table *t, uint32_t index);
void fb_table_device_set_online(struct fb_table *t, uint32_t device_index, bool online);
/* Wakes sleeping readers if anything was journaled since the last call. */
void fb_table_notify(struct fb_table *t);
/* Proof of life for readers; call at least once per second.  Also checks
 * that nobody truncated the table file, and if so builds a new table
 * (generation + 1, current values) under the name. */
void fb_table_heartbeat(struct fb_table *t, int64_t mono_ms);
/* True once another fb_table_create took over this instance's name (the
 * flag is set and the name leads elsewhere; with the bus lock held that
 * takes someone removing the lock file).  The command fd also becomes
 * readable then.  The driver should exit.  A flag forged on a table still
 * under its name is repaired by the next fb_table_heartbeat instead. */
bool fb_table_superseded(const struct fb_table *t);

/* ---- commands (many producers, the driver consumes) ---- */

struct fb_command {
	uint32_t point_index;
	struct fb_value value;
	char event_id[FB_TABLE_EVENT_ID_MAX];
	int64_t ts_ms;                     /* when the command was issued */
	char origin[FB_TABLE_ORIGIN_MAX];  /* which exporter sent it */
	uint64_t ticket;                   /* assigned by the queue */
};

enum fb_command_status {
	FB_COMMAND_DONE = 1,
	FB_COMMAND_FAILED,
	FB_COMMAND_SUPERSEDED, /* a later command for the same point won */
	FB_COMMAND_PROGRESS,   /* not final: more results for the ticket follow */
};
/* point_index of a bus-wide command: the driver scans its line (value: a
 * string of options, "ids=1-247 first"; docs/bus-scan.md).  Its results
 * are FB_COMMAND_PROGRESS entries, then one DONE or FAILED. */
#define FB_COMMAND_BUS_SCAN 0xFFFFFF00u

struct fb_command_result {
	uint64_t ticket;
	uint32_t point_index;
	uint8_t status; /* enum fb_command_status */
	char event_id[FB_TABLE_EVENT_ID_MAX];
	char origin[FB_TABLE_ORIGIN_MAX];
	char reason[FB_TABLE_REASON_MAX];
};

/* Driver: takes the next command; returns 1 if one was taken, 0 if the queue
 * is empty, -1 on error: ETIMEDOUT if the queue lock stayed held for
 * FB_TABLE_LOCK_TIMEOUT_MS (a hung or hostile process; later calls try
 * again). */
#define FB_TABLE_LOCK_TIMEOUT_MS 100
int fb_table_command_pop(struct fb_table *t, struct fb_command *out);
/* Driver: how many fb_table_command_pop calls timed out on the queue lock
 * since the last report; reports at most once per 10 s (0 otherwise), so a
 * caller can log it from its loop without flooding. */
unsigned fb_table_command_lock_timeouts(struct fb_table *t, int64_t mono_ms);
/* Driver: publishes a result for readers (wakes them on fb_table_notify). */
void fb_table_command_result(struct fb_table *t, const struct fb_command_result *r);
/* Driver: fd that becomes readable when a command was pushed.  Read it
 * with fb_table_command_fd_drain(). Owned by the table, do not close. */
int fb_table_command_fd(struct fb_table *t);
void fb_table_command_fd_drain(struct fb_table *t);

/* ---- reader side ---- */

struct fb_table_reader;

/* Maps the table `path` (see fb_table_create) read-only for values,
 * read-write for the command queue, and watches the file (inotify): the
 * driver's fb_table_notify makes fb_table_reader_fd() readable, with no
 * thread of ours in between.  Caller frees with fb_table_detach(). Fails
 * with ENOENT if no driver created the table yet, EPERM for a file that is
 * not the service user's (see above), EPROTO/EINVAL for a file that is not
 * a valid table.  A reader handle (like the driver's fb_table) is used from
 * one thread. */
struct fb_table_reader *fb_table_attach(const char *path);
void fb_table_detach(struct fb_table_reader *r); /* accepts NULL */

/* Readable when the table changed (or was superseded).  Owned by the
 * reader, do not close. */
int fb_table_reader_fd(const struct fb_table_reader *r);

uint32_t fb_table_reader_generation(const struct fb_table_reader *r);
size_t fb_table_reader_point_count(const struct fb_table_reader *r);
size_t fb_table_reader_device_count(const struct fb_table_reader *r);
/* Borrowed, valid until fb_table_detach. */
const struct fb_point_desc *fb_table_reader_point(const struct fb_table_reader *r, uint32_t i);
const struct fb_device_desc *fb_table_reader_device(const struct fb_table_reader *r, uint32_t i);
/* Index of device/point, or -1. */
long fb_table_reader_find(const struct fb_table_reader *r, const char *device, const char *point);
long fb_table_reader_find_device(const struct fb_table_reader *r, const char *device);

/* Seqlock read of one point.  A driver killed mid-update (or a hostile
 * writer) can leave a point's seqlock odd forever; after a bounded retry
 * (at most ~20 ms) the read gives up: quality FB_QUALITY_STALE, value
 * FB_VALUE_NONE, timestamps 0 (the point is unknown).  Later reads of a
 * point still stuck the same way return STALE at once, and a burst of stuck
 * points waits once, not once per point.  Re-attach once superseded. */
void fb_table_reader_read(const struct fb_table_reader *r, uint32_t index,
			  struct fb_point_snapshot *out);
bool fb_table_reader_device_online(const struct fb_table_reader *r, uint32_t device_index);

/* Drains the reader fd and walks the journal since the last call.  Calls
 * point_cb for every point that changed (possibly more than once) and
 * device_cb for every device whose availability changed.  If the reader fell
 * behind the journal, every point and device is reported (full scan).  The
 * first call after fb_table_attach is a full scan, and the fd starts
 * readable, so the initial state is published from the same path.
 * Returns the number of callbacks made. */
typedef void (*fb_table_point_cb)(void *ctx, uint32_t point_index);
typedef void (*fb_table_device_cb)(void *ctx, uint32_t device_index);
size_t fb_table_reader_changes(struct fb_table_reader *r, fb_table_point_cb point_cb,
			       fb_table_device_cb device_cb, void *ctx);

/* True if the journal or the results ring moved since the last
 * fb_table_reader_changes (a quiet write, or a change whose wake-up is
 * still on its way). */
bool fb_table_reader_has_news(const struct fb_table_reader *r);

/* Age of the driver's heartbeat in ms (CLOCK_MONOTONIC), or -1 if none yet;
 * a heartbeat from the future counts as fresh (0), a negative one as
 * INT64_MAX old. */
int64_t fb_table_reader_heartbeat_age_ms(const struct fb_table_reader *r, int64_t mono_ms);
/* True if a and b map the same table file (not merely the same name). */
bool fb_table_reader_same_table(const struct fb_table_reader *a,
				const struct fb_table_reader *b);
/* True once a newer driver generation replaced this segment, or the file
 * was truncated under us (the driver rebuilds it): detach and attach
 * again.  A truncated table never kills a reader or the driver with
 * SIGBUS; its lost pages read as zeros (points never read). */
bool fb_table_reader_superseded(const struct fb_table_reader *r);

/* Pushes a command (ticket assigned on success).  Fails with EAGAIN when the
 * queue is full, ETIMEDOUT when its lock stayed held for
 * FB_TABLE_LOCK_TIMEOUT_MS.  Safe against producers killed while holding the
 * queue. */
int fb_table_command_push(struct fb_table_reader *r, struct fb_command *cmd);
/* Calls cb for every result published since the last call whose origin
 * equals `origin`. */
typedef void (*fb_table_result_cb)(void *ctx, const struct fb_command_result *res);
size_t fb_table_reader_results(struct fb_table_reader *r, const char *origin,
			       fb_table_result_cb cb, void *ctx);

/* ---- helpers ---- */
bool fb_value_equal(const struct fb_value *a, const struct fb_value *b);
/* Formats a value as JSON text (number, true/false, quoted string, null).
 * Returns 0, or -1 with errno ENOSPC if buf is too small.  Non-finite
 * floats and FB_VALUE_NONE give null; invalid UTF-8 in strings gives U+FFFD. */
int fb_value_to_json(const struct fb_value *v, char *buf, size_t len);

#endif
