/* SPDX-License-Identifier: Apache-2.0 */
/* The table follower against real shm segments: attach when the driver
 * appears, a first drain that reports everything, changes, heartbeat
 * liveness, and re-attaching after a restart (superseded) and after a
 * clean exit followed by a new driver (replaced). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "table-internal.h"
#include "table_follower.h"
#include "testlib.h"
#include "table_testdir.h"

#define NPOINTS 4
#define NDEVICES 2
#define STALE_MS 5000

static char instance[256];

struct seen {
	int attached, detached, failed, alive_calls, drained;
	enum fb_table_follower_why last_why;
	bool alive;
	uint32_t generation;
	int points[NPOINTS];
	int devices[NDEVICES];
};

static int on_attached(void *ctx, struct fb_table_reader *r)
{
	struct seen *s = ctx;

	s->attached++;
	s->generation = fb_table_reader_generation(r);
	return 0;
}

static void on_detaching(void *ctx, struct fb_table_reader *r, enum fb_table_follower_why why)
{
	struct seen *s = ctx;

	CHECK(r != NULL);
	s->detached++;
	s->last_why = why;
}

static void on_failed(void *ctx, int err)
{
	(void)err;
	((struct seen *)ctx)->failed++;
}

static void on_liveness(void *ctx, bool alive, int64_t age_ms)
{
	struct seen *s = ctx;

	(void)age_ms;
	s->alive_calls++;
	s->alive = alive;
}

static void on_point(void *ctx, uint32_t i)
{
	struct seen *s = ctx;

	if (i < NPOINTS)
		s->points[i]++;
}

static void on_device(void *ctx, uint32_t i)
{
	struct seen *s = ctx;

	if (i < NDEVICES)
		s->devices[i]++;
}

static void on_drained(void *ctx, struct fb_table_reader *r)
{
	CHECK(r != NULL);
	((struct seen *)ctx)->drained++;
}

static const struct fb_table_follower_handlers handlers = {
	.attached = on_attached, .detaching = on_detaching, .attach_failed = on_failed,
	.liveness = on_liveness, .point_changed = on_point, .device_changed = on_device,
	.drained = on_drained,
};

static struct fb_table *make_table(void)
{
	struct fb_device_desc devs[NDEVICES];
	struct fb_point_desc pts[NPOINTS];

	memset(devs, 0, sizeof(devs));
	memset(pts, 0, sizeof(pts));
	for (int i = 0; i < NDEVICES; i++)
		snprintf(devs[i].device, sizeof(devs[i].device), "dev%d", i);
	for (int i = 0; i < NPOINTS; i++) {
		snprintf(pts[i].device, sizeof(pts[i].device), "dev%d", i % NDEVICES);
		snprintf(pts[i].point, sizeof(pts[i].point), "p%d", i);
		pts[i].kind = FB_VALUE_INT;
	}
	return fb_table_create(instance, devs, NDEVICES, pts, NPOINTS);
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void clear_counts(struct seen *s)
{
	memset(s->points, 0, sizeof(s->points));
	memset(s->devices, 0, sizeof(s->devices));
}

static void waits_for_a_driver_then_reports_everything_once(void)
{
	int drained;
	struct seen s = { 0 };
	struct fb_table_follower *f = fb_table_follower_new(instance, STALE_MS, &handlers, &s);
	struct fb_table *t;
	int64_t now = fb_mono_ms();

	CHECK(f != NULL);
	fb_table_follower_maintain(f, now);
	CHECK_EQ_INT(s.attached, 0);
	CHECK_EQ_INT(s.failed, 0); /* no driver yet is not a failure */
	CHECK_EQ_INT(fb_table_follower_fd(f), -1);
	CHECK(fb_table_follower_reader(f) == NULL);
	CHECK_EQ_INT(fb_table_follower_drain(f, now), 0);

	t = make_table();
	CHECK(t != NULL);
	fb_table_heartbeat(t, now);
	fb_table_follower_maintain(f, now);
	CHECK_EQ_INT(s.attached, 1);
	CHECK(fb_table_follower_reader(f) != NULL);
	CHECK(fb_table_follower_alive(f));
	CHECK_EQ_INT(s.alive_calls, 1);
	CHECK(readable(fb_table_follower_fd(f), 0)); /* starts readable */
	CHECK_EQ_INT(fb_table_follower_drain(f, now), NPOINTS + NDEVICES);
	for (int i = 0; i < NPOINTS; i++)
		CHECK_EQ_INT(s.points[i], 1);
	for (int i = 0; i < NDEVICES; i++)
		CHECK_EQ_INT(s.devices[i], 1);
	CHECK_EQ_INT(s.drained, 1);

	/* One change: exactly that point. */
	clear_counts(&s);
	fb_table_point_write(t, 2, &(struct fb_value){ .kind = FB_VALUE_INT, .i = 7 },
			     FB_QUALITY_OK, fb_now_ms());
	fb_table_notify(t);
	CHECK(readable(fb_table_follower_fd(f), 2000));
	CHECK_EQ_INT(fb_table_follower_drain(f, now), 1);
	CHECK_EQ_INT(s.points[2], 1);
	CHECK_EQ_INT(s.points[0] + s.points[1] + s.points[3], 0);

	/* A device's availability. */
	clear_counts(&s);
	fb_table_device_set_online(t, 1, true);
	fb_table_notify(t);
	CHECK(readable(fb_table_follower_fd(f), 2000));
	fb_table_follower_drain(f, now);
	CHECK_EQ_INT(s.devices[1], 1);
	CHECK_EQ_INT(s.devices[0], 0);

	/* A quiet write (statistics) wakes nobody; the next maintain, due
	 * within FB_TABLE_FOLLOWER_QUIET_MS, reports it. */
	clear_counts(&s);
	drained = s.drained;
	fb_table_point_write_quiet(t, 3, &(struct fb_value){ .kind = FB_VALUE_INT, .i = 9 },
				   FB_QUALITY_OK, fb_now_ms());
	fb_table_notify(t);
	CHECK(!readable(fb_table_follower_fd(f), 200));
	CHECK(fb_table_follower_next_ms(f, now) <= now + FB_TABLE_FOLLOWER_QUIET_MS);
	fb_table_follower_maintain(f, now);
	CHECK_EQ_INT(s.points[3], 1);
	CHECK_EQ_INT(s.drained, drained + 1);
	CHECK_EQ_INT(s.attached, 1); /* the same table, kept */

	fb_table_follower_free(f);
	CHECK_EQ_INT(s.detached, 1);
	CHECK_EQ_INT(s.last_why, FB_FOLLOWER_CLOSED);
	fb_table_destroy(t);
}

/* A driver's first heartbeat can follow our attach (it creates the table,
 * then runs its first cycle).  Its first wake-up says "alive" at once, and
 * the next maintain does not take our own table for a replacement. */
static void first_heartbeat_after_attach_is_reported_from_the_drain(void)
{
	struct seen s = { 0 };
	struct fb_table_follower *f = fb_table_follower_new(instance, STALE_MS, &handlers, &s);
	struct fb_table *t = make_table();
	int64_t now = fb_mono_ms();

	fb_table_follower_maintain(f, now);
	CHECK_EQ_INT(s.attached, 1);
	CHECK(!s.alive);
	fb_table_heartbeat(t, now + 5);
	fb_table_notify(t);
	CHECK(readable(fb_table_follower_fd(f), 1000));
	fb_table_follower_drain(f, now + 6);
	CHECK(s.alive);
	CHECK(fb_table_follower_alive(f));
	fb_table_follower_maintain(f, now + 1000);
	CHECK_EQ_INT(s.detached, 0);
	CHECK_EQ_INT(s.attached, 1);
	CHECK(s.alive);
	fb_table_follower_free(f);
	fb_table_destroy(t);
}

static void heartbeat_stops_and_resumes(void)
{
	struct seen s = { 0 };
	struct fb_table_follower *f = fb_table_follower_new(instance, STALE_MS, &handlers, &s);
	struct fb_table *t = make_table();
	int64_t now = fb_mono_ms();

	fb_table_heartbeat(t, now);
	fb_table_follower_maintain(f, now);
	CHECK(s.alive);
	fb_table_follower_maintain(f, now + STALE_MS + 1);
	CHECK(!s.alive);
	CHECK(!fb_table_follower_alive(f));
	CHECK_EQ_INT(s.alive_calls, 2);
	/* No new table took the name: still the same one. */
	CHECK_EQ_INT(s.detached, 0);
	fb_table_heartbeat(t, now + STALE_MS + 2);
	fb_table_follower_maintain(f, now + STALE_MS + 3);
	CHECK(s.alive);
	CHECK_EQ_INT(s.alive_calls, 3);
	/* Reported per change, not per call. */
	fb_table_follower_maintain(f, now + STALE_MS + 4);
	CHECK_EQ_INT(s.alive_calls, 3);
	fb_table_follower_free(f);
	fb_table_destroy(t);
}

/* A living driver's follower is due again only when the heartbeat would
 * turn stale (no periodic wake-up); detached or silent, a second on. */
static void next_maintain_is_when_the_heartbeat_turns_stale(void)
{
	struct seen s = { 0 };
	struct fb_table_follower *f = fb_table_follower_new(instance, STALE_MS, &handlers, &s);
	struct fb_table *t;
	int64_t now = fb_mono_ms();

	CHECK_EQ_INT(fb_table_follower_next_ms(f, now) - now, 1000); /* detached */
	t = make_table();
	fb_table_heartbeat(t, now);
	fb_table_follower_maintain(f, now + 100);
	CHECK(s.alive);
	CHECK_EQ_INT(fb_table_follower_next_ms(f, now + 100), now + STALE_MS + 1);
	fb_table_heartbeat(t, now + 300); /* the driver went on */
	CHECK_EQ_INT(fb_table_follower_next_ms(f, now + 400), now + 300 + STALE_MS + 1);
	fb_table_follower_maintain(f, now + 300 + STALE_MS + 1);
	CHECK(!s.alive);
	CHECK_EQ_INT(fb_table_follower_next_ms(f, now + 300 + STALE_MS + 1) -
			     (now + 300 + STALE_MS + 1), 1000);
	fb_table_follower_free(f);
	fb_table_destroy(t);
}

/* The exporter often attaches between the driver's create and its first
 * heartbeat: that first beat is the same driver, not a new one. */
static void first_heartbeat_after_attach_is_no_takeover(void)
{
	struct seen s = { 0 };
	struct fb_table_follower *f = fb_table_follower_new(instance, STALE_MS, &handlers, &s);
	struct fb_table *t = make_table();
	int64_t now = fb_mono_ms();

	fb_table_follower_maintain(f, now);
	CHECK_EQ_INT(s.attached, 1);
	CHECK(!s.alive);
	fb_table_heartbeat(t, now + 1);
	fb_table_follower_maintain(f, now + 2);
	CHECK(s.alive);
	CHECK_EQ_INT(s.detached, 0);
	CHECK_EQ_INT(s.attached, 1);
	fb_table_follower_free(f);
	fb_table_destroy(t);
}

static void restarted_driver_is_followed_from_the_drain(void)
{
	struct seen s = { 0 };
	struct fb_table_follower *f = fb_table_follower_new(instance, STALE_MS, &handlers, &s);
	struct fb_table *t1 = make_table(), *t2;
	int64_t now = fb_mono_ms();
	uint32_t gen1;

	fb_table_heartbeat(t1, now);
	fb_table_follower_maintain(f, now);
	fb_table_follower_drain(f, now);
	gen1 = s.generation;

	fb_table_test_crash(t1);
	t1 = NULL;
	t2 = make_table(); /* supersedes t1, waking its readers */
	CHECK(t2 != NULL);
	fb_table_heartbeat(t2, now);
	CHECK(readable(fb_table_follower_fd(f), 2000));
	clear_counts(&s);
	fb_table_follower_drain(f, now);
	CHECK_EQ_INT(s.detached, 1);
	CHECK_EQ_INT(s.last_why, FB_FOLLOWER_SUPERSEDED);
	CHECK_EQ_INT(s.attached, 2);
	CHECK_EQ_INT(s.generation, gen1 + 1);
	CHECK(fb_table_follower_alive(f));
	/* The new table's first drain is a full scan again. */
	CHECK(readable(fb_table_follower_fd(f), 0));
	CHECK_EQ_INT(fb_table_follower_drain(f, now), NPOINTS + NDEVICES);

	fb_table_follower_free(f);
	fb_table_destroy(t1);
	fb_table_destroy(t2);
}

static void clean_exit_then_new_driver_is_followed_from_maintain(void)
{
	struct seen s = { 0 };
	struct fb_table_follower *f = fb_table_follower_new(instance, STALE_MS, &handlers, &s);
	struct fb_table *t1 = make_table(), *t2;
	int64_t now = fb_mono_ms();

	fb_table_heartbeat(t1, now);
	fb_table_follower_maintain(f, now);
	CHECK_EQ_INT(s.attached, 1);
	/* The driver exits cleanly: the name is unlinked, nothing superseded;
	 * we keep the mapping and see the heartbeat go stale. */
	fb_table_destroy(t1);
	fb_table_follower_maintain(f, now + STALE_MS + 1);
	CHECK(!s.alive);
	CHECK_EQ_INT(s.detached, 0);
	/* A new driver appears under the name. */
	t2 = make_table();
	CHECK(t2 != NULL);
	fb_table_heartbeat(t2, now + STALE_MS + 2);
	fb_table_follower_maintain(f, now + STALE_MS + 3);
	CHECK_EQ_INT(s.detached, 1);
	CHECK_EQ_INT(s.last_why, FB_FOLLOWER_REPLACED);
	CHECK_EQ_INT(s.attached, 2);
	CHECK(s.alive);
	fb_table_follower_free(f);
	fb_table_destroy(t2);
}

static int refuse(void *ctx, struct fb_table_reader *r)
{
	(void)r;
	((struct seen *)ctx)->attached++;
	errno = ENOMEM;
	return -1;
}

static void attached_handler_can_refuse(void)
{
	struct seen s = { 0 };
	struct fb_table_follower_handlers h = handlers;
	struct fb_table_follower *f;
	struct fb_table *t = make_table();

	h.attached = refuse;
	f = fb_table_follower_new(instance, STALE_MS, &h, &s);
	fb_table_follower_maintain(f, fb_mono_ms());
	CHECK_EQ_INT(s.attached, 1);
	CHECK_EQ_INT(s.failed, 1);
	CHECK_EQ_INT(s.detached, 0);
	CHECK(fb_table_follower_reader(f) == NULL);
	CHECK_EQ_INT(fb_table_follower_fd(f), -1);
	fb_table_follower_free(f);
	CHECK_EQ_INT(s.detached, 0);
	fb_table_destroy(t);
}

static void refused_table_is_reported_once_not_every_maintain(void)
{
	struct seen s = { 0 };
	struct fb_table_follower *f = fb_table_follower_new(instance, STALE_MS, &handlers, &s);
	int64_t now = fb_mono_ms();
	int fd = open(instance, O_RDWR | O_CREAT | O_EXCL, 0666);

	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(chmod(instance, 0666) == 0); /* open to others: refused */
	for (int i = 0; i < 5; i++)
		fb_table_follower_maintain(f, now + i * 1000);
	CHECK_EQ_INT(s.failed, 1);
	CHECK_EQ_INT(s.attached, 0);
	fb_table_follower_free(f);
	unlink(instance);
}

int main(void)
{
	snprintf(instance, sizeof(instance), "%s/test-follower-%d", fbt_dir(), (int)getpid());
	fb_table_follower_free(NULL);
	RUN_TEST(waits_for_a_driver_then_reports_everything_once);
	RUN_TEST(first_heartbeat_after_attach_is_reported_from_the_drain);
	RUN_TEST(heartbeat_stops_and_resumes);
	RUN_TEST(next_maintain_is_when_the_heartbeat_turns_stale);
	RUN_TEST(first_heartbeat_after_attach_is_no_takeover);
	RUN_TEST(restarted_driver_is_followed_from_the_drain);
	RUN_TEST(clean_exit_then_new_driver_is_followed_from_maintain);
	RUN_TEST(attached_handler_can_refuse);
	RUN_TEST(refused_table_is_reported_once_not_every_maintain);
	return fb_test_finish();
}
