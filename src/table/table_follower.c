/* SPDX-License-Identifier: Apache-2.0 */
/* Following a driver's table across restarts (see table_follower.h). */
#include "table_follower.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A superseded table still under the name (its successor died before
 * replacing it, or a hostile writer set the flag) is not attached again
 * before this long: re-attaching at once would spin. */
#define SUPERSEDED_RETRY_MS 1000

struct fb_table_follower {
	char instance[256];
	int64_t stale_after_ms;
	struct fb_table_follower_handlers h;
	void *ctx;
	struct fb_table_reader *reader; /* owned; NULL while detached */
	bool alive;
	int64_t retry_ms;               /* no attach before this (mono ms) */
	int last_err;                   /* errno of the last reported attach failure */
};

struct fb_table_follower *fb_table_follower_new(const char *instance, int64_t stale_after_ms,
						const struct fb_table_follower_handlers *handlers,
						void *ctx)
{
	struct fb_table_follower *f;

	if (strlen(instance) >= sizeof(f->instance)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	snprintf(f->instance, sizeof(f->instance), "%s", instance);
	f->stale_after_ms = stale_after_ms;
	if (handlers)
		f->h = *handlers;
	f->ctx = ctx;
	return f;
}

static void let_go(struct fb_table_follower *f, enum fb_table_follower_why why)
{
	if (!f->reader)
		return;
	if (f->h.detaching)
		f->h.detaching(f->ctx, f->reader, why);
	fb_table_detach(f->reader);
	f->reader = NULL;
	f->alive = false;
}

void fb_table_follower_free(struct fb_table_follower *f)
{
	if (!f)
		return;
	let_go(f, FB_FOLLOWER_CLOSED);
	free(f);
}

int fb_table_follower_fd(const struct fb_table_follower *f)
{
	return f->reader ? fb_table_reader_fd(f->reader) : -1;
}

struct fb_table_reader *fb_table_follower_reader(const struct fb_table_follower *f)
{
	return f->reader;
}

bool fb_table_follower_alive(const struct fb_table_follower *f)
{
	return f->reader && f->alive;
}

static bool fresh(const struct fb_table_follower *f, const struct fb_table_reader *r,
		  int64_t mono_ms, int64_t *age)
{
	*age = fb_table_reader_heartbeat_age_ms(r, mono_ms);
	return *age >= 0 && *age <= f->stale_after_ms;
}

/* While our driver is silent, a live table under the name means it was
 * replaced, unless it is ours: a driver attached before its first
 * heartbeat is not silent, only young. */
static bool replaced(const struct fb_table_follower *f, int64_t mono_ms)
{
	struct fb_table_reader *r = fb_table_attach(f->instance);
	int64_t age;
	bool live;

	if (!r)
		return false;
	live = !fb_table_reader_same_table(r, f->reader) && fresh(f, r, mono_ms, &age);
	fb_table_detach(r);
	return live;
}

static int attach(struct fb_table_follower *f, int64_t mono_ms)
{
	struct fb_table_reader *r;

	if (mono_ms < f->retry_ms)
		return -1;
	r = fb_table_attach(f->instance);
	if (!r) {
		/* Once per cause, not once per maintain (a squatted name
		 * stays refused until someone removes the file). */
		if (errno != ENOENT && errno != f->last_err && f->h.attach_failed)
			f->h.attach_failed(f->ctx, errno);
		f->last_err = errno == ENOENT ? 0 : errno;
		return -1;
	}
	f->last_err = 0;
	if (fb_table_reader_superseded(r)) {
		fb_table_detach(r);
		f->retry_ms = mono_ms + SUPERSEDED_RETRY_MS;
		return -1;
	}
	f->reader = r;
	f->alive = false;
	if (f->h.attached && f->h.attached(f->ctx, r) < 0) {
		int err = errno;

		f->reader = NULL;
		fb_table_detach(r);
		if (f->h.attach_failed)
			f->h.attach_failed(f->ctx, err);
		return -1;
	}
	return 0;
}

static void update_liveness(struct fb_table_follower *f, int64_t mono_ms)
{
	int64_t age;
	bool alive = fresh(f, f->reader, mono_ms, &age);

	if (alive != f->alive) {
		f->alive = alive;
		if (f->h.liveness)
			f->h.liveness(f->ctx, alive, age);
	}
}

void fb_table_follower_maintain(struct fb_table_follower *f, int64_t mono_ms)
{
	bool kept;

	if (f->reader && fb_table_reader_superseded(f->reader))
		let_go(f, FB_FOLLOWER_SUPERSEDED);
	else if (f->reader && !f->alive && replaced(f, mono_ms))
		let_go(f, FB_FOLLOWER_REPLACED);
	kept = f->reader != NULL;
	if (!f->reader && attach(f, mono_ms) < 0)
		return;
	update_liveness(f, mono_ms);
	/* Quiet writes (statistics) ride on this wake-up.  A table attached
	 * just now has its fd readable for the first drain instead. */
	if (kept && fb_table_reader_has_news(f->reader))
		fb_table_follower_drain(f, mono_ms);
}

int64_t fb_table_follower_next_ms(const struct fb_table_follower *f, int64_t mono_ms)
{
	int64_t age;

	if (!f->reader || !f->alive ||
	    (age = fb_table_reader_heartbeat_age_ms(f->reader, mono_ms)) < 0 ||
	    age > f->stale_after_ms)
		return mono_ms + SUPERSEDED_RETRY_MS;
	if (f->stale_after_ms - age + 1 > FB_TABLE_FOLLOWER_QUIET_MS)
		return mono_ms + FB_TABLE_FOLLOWER_QUIET_MS;
	return mono_ms + (f->stale_after_ms - age) + 1;
}

size_t fb_table_follower_drain(struct fb_table_follower *f, int64_t mono_ms)
{
	size_t n;

	if (!f->reader)
		return 0;
	n = fb_table_reader_changes(f->reader, f->h.point_changed, f->h.device_changed, f->ctx);
	if (f->h.drained)
		f->h.drained(f->ctx, f->reader);
	if (fb_table_reader_superseded(f->reader))
		fb_table_follower_maintain(f, mono_ms);
	else if (!f->alive)
		/* A wake-up from a driver we thought silent: its first cycle
		 * after our attach, or a driver back from a stall.  Say so now,
		 * not at the next maintain. */
		update_liveness(f, mono_ms);
	return n;
}
