/* SPDX-License-Identifier: Apache-2.0 */
/* Following one driver's state table across the driver's life: a reader
 * process (an exporter, `fieldbridgectl watch`, a web daemon) names the
 * table once, and the follower attaches when the driver appears,
 * re-attaches when a restarted driver supersedes the table or a new one
 * takes over the name, watches the heartbeat, and walks the journal into
 * "point i changed" / "device j changed" callbacks.
 *
 * Use from one poll() loop:
 *   - put fb_table_follower_fd() in the poll set (it changes after a
 *     re-attach, and is -1 while detached: rebuild the set each pass);
 *   - when it is readable, call fb_table_follower_drain();
 *   - call fb_table_follower_maintain() by fb_table_follower_next_ms()
 *     (about once a second while detached, else when the heartbeat would
 *     turn stale: a followed, living driver costs no periodic wake-up).
 * Point and device indices are those of the current table: map them again
 * in the `attached` handler.  Right after an attach the fd is readable and
 * the first drain reports every point and device, so a reader builds its
 * initial view on the same path as later changes.
 *
 * The follower never logs; it reports through its handlers.  Errors as in
 * table.h (NULL with errno set). */
#ifndef FB_TABLE_FOLLOWER_H
#define FB_TABLE_FOLLOWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"

/* Why a table is being let go. */
enum fb_table_follower_why {
	FB_FOLLOWER_SUPERSEDED = 1, /* a restarted driver created a new generation */
	FB_FOLLOWER_REPLACED,       /* our driver went silent and a live table now has
				     * the name (a driver exiting cleanly unlinks its
				     * table without superseding it) */
	FB_FOLLOWER_CLOSED,         /* fb_table_follower_free */
};

/* Every handler may be NULL; ctx is the one given to fb_table_follower_new.
 * Handlers must not free the follower. */
struct fb_table_follower_handlers {
	/* A table was attached (r borrowed, valid until `detaching`).  Return
	 * 0, or -1 with errno set to let it go again (reported through
	 * attach_failed, without a `detaching` call). */
	int (*attached)(void *ctx, struct fb_table_reader *r);
	/* The table is about to be released; r is still valid. */
	void (*detaching)(void *ctx, struct fb_table_reader *r, enum fb_table_follower_why why);
	/* An attach failed for another reason than "no driver yet" (ENOENT);
	 * err is the errno (EPERM: a file not the service user's is under
	 * the name).  Retried at every maintain; reported again only when
	 * the cause changes or after a success. */
	void (*attach_failed)(void *ctx, int err);
	/* The heartbeat became fresh (alive) or stale; age_ms is its age, -1
	 * if the driver never wrote one. */
	void (*liveness)(void *ctx, bool alive, int64_t age_ms);
	/* From fb_table_follower_drain, as fb_table_reader_changes. */
	fb_table_point_cb point_changed;
	fb_table_device_cb device_changed;
	/* From fb_table_follower_drain after the journal walk, while r is
	 * still the table the walk read (before a superseded one is let go):
	 * the moment to read command results (fb_table_reader_results), since
	 * the walk consumed the wake-up they came with. */
	void (*drained)(void *ctx, struct fb_table_reader *r);
};

struct fb_table_follower;

/* Follows the table of `instance` (copied; as for fb_table_attach).  A
 * heartbeat older than stale_after_ms counts as a stopped driver.  Nothing
 * is attached until the first fb_table_follower_maintain.  handlers is
 * copied.  Caller frees with fb_table_follower_free. */
struct fb_table_follower *fb_table_follower_new(const char *instance, int64_t stale_after_ms,
						const struct fb_table_follower_handlers *handlers,
						void *ctx);
/* Calls `detaching` (FB_FOLLOWER_CLOSED) if attached.  Accepts NULL. */
void fb_table_follower_free(struct fb_table_follower *f);

/* Readable when the table changed or was superseded; -1 while detached.
 * Owned by the follower, do not close. */
int fb_table_follower_fd(const struct fb_table_follower *f);
/* The current table, or NULL.  Borrowed, valid until the next maintain,
 * drain or free. */
struct fb_table_reader *fb_table_follower_reader(const struct fb_table_follower *f);
/* Attached and the heartbeat fresh (as of the last maintain). */
bool fb_table_follower_alive(const struct fb_table_follower *f);

/* Re-attaches a superseded or replaced table, attaches a table that
 * appeared, checks the heartbeat (mono_ms: fb_mono_ms units) and drains
 * changes that came without a wake-up (quiet writes). */
void fb_table_follower_maintain(struct fb_table_follower *f, int64_t mono_ms);
/* Quiet writes (fb_table_point_write_quiet) wait at most this long for a
 * maintain, which drains them. */
#define FB_TABLE_FOLLOWER_QUIET_MS 10000
/* When the next maintain is due (mono_ms units): a second from mono_ms
 * while detached or silent (attach retries, a replacing driver), else the
 * moment the heartbeat, as the table has it now, would turn stale, and
 * at the latest FB_TABLE_FOLLOWER_QUIET_MS from mono_ms. */
int64_t fb_table_follower_next_ms(const struct fb_table_follower *f, int64_t mono_ms);
/* Drains the fd and walks the journal into point_changed/device_changed,
 * calls `drained`, then, if the table was superseded, re-attaches (as
 * maintain).  Returns the number of change callbacks made. */
size_t fb_table_follower_drain(struct fb_table_follower *f, int64_t mono_ms);

#endif
