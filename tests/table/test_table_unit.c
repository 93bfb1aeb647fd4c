/* SPDX-License-Identifier: Apache-2.0 */
/* Single-process tests of the table API against real POSIX shm segments.
 * Instance names carry the pid so parallel ctest runs never collide; every
 * segment created is unlinked by fb_table_destroy or explicitly. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "table-internal.h"
#include "clock.h"
#include "testlib.h"
#include "table_testdir.h"

#define NPOINTS 8
#define NDEVICES 2

static char instance[256];

static void next_instance(void)
{
	static int n;

	snprintf(instance, sizeof(instance), "%s/test-unit-%d-%d", fbt_dir(), (int)getpid(), n++);
}

static struct fb_table *make_table(void)
{
	static const uint8_t kinds[NPOINTS] = {
		FB_VALUE_NONE, FB_VALUE_BOOL, FB_VALUE_INT, FB_VALUE_UINT,
		FB_VALUE_FLOAT, FB_VALUE_STRING, FB_VALUE_FLOAT, FB_VALUE_INT,
	};
	struct fb_device_desc devs[NDEVICES];
	struct fb_point_desc pts[NPOINTS];

	memset(devs, 0, sizeof(devs));
	memset(pts, 0, sizeof(pts));
	for (int i = 0; i < NDEVICES; i++)
		snprintf(devs[i].device, sizeof(devs[i].device), "dev%d", i);
	for (int i = 0; i < NPOINTS; i++) {
		snprintf(pts[i].device, sizeof(pts[i].device), "dev%d", i % NDEVICES);
		snprintf(pts[i].point, sizeof(pts[i].point), "p%d", i);
		pts[i].kind = kinds[i];
	}
	next_instance();
	return fb_table_create(instance, devs, NDEVICES, pts, NPOINTS);
}

static bool fd_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

struct seen {
	int points[NPOINTS];
	int devices[NDEVICES];
	int total;
};

static void on_point(void *ctx, uint32_t i)
{
	struct seen *s = ctx;

	if (i < NPOINTS)
		s->points[i]++;
	s->total++;
}

static void on_device(void *ctx, uint32_t i)
{
	struct seen *s = ctx;

	if (i < NDEVICES)
		s->devices[i]++;
	s->total++;
}

static size_t changes(struct fb_table_reader *r, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return fb_table_reader_changes(r, on_point, on_device, s);
}

static void round_trip_of_every_value_kind(void)
{
	struct fb_table *t = make_table();
	struct fb_table_reader *r;
	struct fb_point_snapshot snap;
	struct fb_value v;

	CHECK(t != NULL);
	r = fb_table_attach(instance);
	CHECK(r != NULL);
	if (!t || !r)
		goto out;
	CHECK_EQ_INT(fb_table_reader_point_count(r), NPOINTS);
	CHECK_EQ_INT(fb_table_reader_device_count(r), NDEVICES);
	CHECK(fb_table_reader_generation(r) >= 1);
	CHECK(!strcmp(fb_table_reader_point(r, 5)->point, "p5"));
	CHECK_EQ_INT(fb_table_reader_point(r, 5)->kind, FB_VALUE_STRING);
	CHECK(fb_table_reader_point(r, NPOINTS) == NULL);
	CHECK(!strcmp(fb_table_reader_device(r, 1)->device, "dev1"));
	CHECK_EQ_INT(fb_table_reader_find(r, "dev1", "p3"), 3);
	CHECK_EQ_INT(fb_table_reader_find(r, "dev0", "p3"), -1);
	CHECK_EQ_INT(fb_table_reader_find_device(r, "dev1"), 1);
	CHECK_EQ_INT(fb_table_reader_find_device(r, "nope"), -1);

	fb_table_reader_read(r, 2, &snap);
	CHECK_EQ_INT(snap.value.kind, FB_VALUE_NONE);
	CHECK_EQ_INT(snap.quality, FB_QUALITY_NEVER_READ);

	memset(&v, 0, sizeof(v));
	v.kind = FB_VALUE_BOOL;
	v.b = true;
	fb_table_point_write(t, 1, &v, FB_QUALITY_OK, 1000);
	v.kind = FB_VALUE_INT;
	v.i = -42;
	fb_table_point_write(t, 2, &v, FB_QUALITY_OK, 1001);
	v.kind = FB_VALUE_UINT;
	v.u = UINT64_MAX;
	fb_table_point_write(t, 3, &v, FB_QUALITY_OK, 1002);
	v.kind = FB_VALUE_FLOAT;
	v.f = 230.25;
	fb_table_point_write(t, 4, &v, FB_QUALITY_COMM_ERROR, 1003);
	memset(&v, 0, sizeof(v));
	v.kind = FB_VALUE_STRING;
	memset(v.s, 'x', sizeof(v.s)); /* unterminated: must come back cut */
	fb_table_point_write(t, 5, &v, FB_QUALITY_OK, 1004);
	v.kind = FB_VALUE_NONE;
	fb_table_point_write(t, 0, &v, FB_QUALITY_OK, 1005);

	fb_table_reader_read(r, 1, &snap);
	CHECK(snap.value.kind == FB_VALUE_BOOL && snap.value.b);
	CHECK_EQ_INT(snap.read_ts_ms, 1000);
	CHECK_EQ_INT(snap.change_ts_ms, 1000);
	fb_table_reader_read(r, 2, &snap);
	CHECK(snap.value.kind == FB_VALUE_INT && snap.value.i == -42);
	fb_table_reader_read(r, 3, &snap);
	CHECK(snap.value.kind == FB_VALUE_UINT && snap.value.u == UINT64_MAX);
	fb_table_reader_read(r, 4, &snap);
	CHECK(snap.value.kind == FB_VALUE_FLOAT && snap.value.f == 230.25);
	CHECK_EQ_INT(snap.quality, FB_QUALITY_COMM_ERROR);
	fb_table_reader_read(r, 5, &snap);
	CHECK_EQ_INT(snap.value.kind, FB_VALUE_STRING);
	CHECK_EQ_INT(strlen(snap.value.s), FB_TABLE_STRING_MAX - 1);
	fb_table_reader_read(r, 0, &snap);
	CHECK_EQ_INT(snap.value.kind, FB_VALUE_NONE);
	CHECK_EQ_INT(snap.quality, FB_QUALITY_OK);
	CHECK_EQ_INT(fb_table_test_point_seq(r, 1) & 1, 0);

	/* Out of range: no crash, empty snapshot. */
	fb_table_point_write(t, NPOINTS, &v, FB_QUALITY_OK, 1);
	fb_table_reader_read(r, NPOINTS, &snap);
	CHECK_EQ_INT(snap.value.kind, FB_VALUE_NONE);

	fb_table_device_set_online(t, 1, true);
	CHECK(fb_table_reader_device_online(r, 1));
	CHECK(!fb_table_reader_device_online(r, 0));
	CHECK(!fb_table_reader_superseded(r));
out:
	fb_table_detach(r);
	fb_table_destroy(t);
}

static void journal_reports_exactly_the_changed_points(void)
{
	struct fb_table *t = make_table();
	struct fb_table_reader *r = t ? fb_table_attach(instance) : NULL;
	struct fb_point_snapshot snap;
	struct fb_value v = { .kind = FB_VALUE_INT };
	struct seen s;

	CHECK(r != NULL);
	if (!r)
		goto out;
	/* First call after attach: everything. */
	CHECK_EQ_INT(changes(r, &s), NPOINTS + NDEVICES);
	CHECK_EQ_INT(changes(r, &s), 0);

	v.i = 7;
	fb_table_point_write(t, 2, &v, FB_QUALITY_OK, 100);
	fb_table_point_write(t, 7, &v, FB_QUALITY_OK, 100);
	fb_table_notify(t);
	CHECK_EQ_INT(changes(r, &s), 2);
	CHECK(s.points[2] == 1 && s.points[7] == 1);

	/* Same value and quality: read_ts refreshes, no journal entry. */
	fb_table_point_write(t, 2, &v, FB_QUALITY_OK, 200);
	/* Quality change alone is a change. */
	fb_table_point_write(t, 7, &v, FB_QUALITY_COMM_ERROR, 200);
	fb_table_device_set_online(t, 0, true);
	fb_table_device_set_online(t, 0, true); /* unchanged: no entry */
	fb_table_point_touch(t, 3);
	fb_table_notify(t);
	CHECK_EQ_INT(changes(r, &s), 3);
	CHECK_EQ_INT(s.points[2], 0);
	CHECK_EQ_INT(s.points[7], 1);
	CHECK_EQ_INT(s.points[3], 1);
	CHECK_EQ_INT(s.devices[0], 1);
	CHECK_EQ_INT(s.devices[1], 0);
	fb_table_reader_read(r, 2, &snap);
	CHECK_EQ_INT(snap.read_ts_ms, 200);
	CHECK_EQ_INT(snap.change_ts_ms, 100);

	/* NaN written twice is one change. */
	v.kind = FB_VALUE_FLOAT;
	v.f = NAN;
	fb_table_point_write(t, 4, &v, FB_QUALITY_OK, 300);
	fb_table_point_write(t, 4, &v, FB_QUALITY_OK, 301);
	CHECK_EQ_INT(changes(r, &s), 1);
out:
	fb_table_detach(r);
	fb_table_destroy(t);
}

static void reader_that_fell_behind_gets_a_full_scan(void)
{
	struct fb_table *t = make_table();
	struct fb_table_reader *r = t ? fb_table_attach(instance) : NULL;
	struct fb_value v = { .kind = FB_VALUE_INT };
	struct seen s;

	CHECK(r != NULL);
	if (!r)
		goto out;
	changes(r, &s);
	for (int i = 0; i < (int)FB_SHM_JOURNAL_SIZE + 10; i++) {
		v.i = i;
		fb_table_point_write(t, 2, &v, FB_QUALITY_OK, i);
	}
	fb_table_notify(t);
	CHECK_EQ_INT(changes(r, &s), NPOINTS + NDEVICES);
	for (int i = 0; i < NPOINTS; i++)
		CHECK_EQ_INT(s.points[i], 1);
	CHECK_EQ_INT(changes(r, &s), 0);

	/* Exactly the ring size still counts as behind (the oldest slot may
	 * be under rewrite); one less is walked entry by entry. */
	for (int i = 0; i < (int)FB_SHM_JOURNAL_SIZE - 1; i++)
		fb_table_point_touch(t, 1);
	CHECK_EQ_INT(changes(r, &s), FB_SHM_JOURNAL_SIZE - 1);
	CHECK_EQ_INT(s.points[1], FB_SHM_JOURNAL_SIZE - 1);
	for (int i = 0; i < (int)FB_SHM_JOURNAL_SIZE; i++)
		fb_table_point_touch(t, 1);
	CHECK_EQ_INT(changes(r, &s), NPOINTS + NDEVICES);
out:
	fb_table_detach(r);
	fb_table_destroy(t);
}

static void second_driver_is_refused_while_the_first_lives(void)
{
	struct fb_table *t1 = make_table(), *t2;
	struct fb_table_reader *r1 = t1 ? fb_table_attach(instance) : NULL;
	struct fb_point_desc pd = { .device = "d", .point = "x", .kind = FB_VALUE_INT };
	struct fb_device_desc dd = { .device = "d" };

	CHECK(r1 != NULL);
	if (!r1)
		goto out;
	errno = 0;
	t2 = fb_table_create(instance, &dd, 1, &pd, 1);
	CHECK(t2 == NULL);
	CHECK_EQ_INT(errno, EBUSY);
	CHECK_EQ_INT(fb_table_lock_pid(instance), getpid());
	/* The first is untouched. */
	CHECK(!fb_table_superseded(t1));
	CHECK(!fb_table_reader_superseded(r1));
	CHECK_EQ_INT(fb_table_reader_point_count(r1), NPOINTS);
	fb_table_destroy(t2);
out:
	fb_table_detach(r1);
	fb_table_destroy(t1);
}

static void create_after_a_crashed_driver_supersedes_its_table(void)
{
	struct fb_table *t1 = make_table(), *t2 = NULL;
	struct fb_table_reader *r1 = t1 ? fb_table_attach(instance) : NULL, *r2 = NULL;
	struct fb_point_desc pd = { .device = "d", .point = "x", .kind = FB_VALUE_INT };
	struct fb_device_desc dd = { .device = "d" };
	uint32_t gen1;
	struct seen s;

	CHECK(r1 != NULL);
	if (!r1)
		goto out;
	gen1 = fb_table_reader_generation(r1);
	changes(r1, &s);
	CHECK(!fd_readable(fb_table_reader_fd(r1), 0));
	fb_table_test_crash(t1); /* its table stays, no lock holder */
	t1 = NULL;

	t2 = fb_table_create(instance, &dd, 1, &pd, 1);
	CHECK(t2 != NULL);
	CHECK(fb_table_reader_superseded(r1));
	CHECK(fd_readable(fb_table_reader_fd(r1), 2000));
	CHECK(t2 && !fb_table_superseded(t2));
	r2 = fb_table_attach(instance);
	CHECK(r2 != NULL);
	if (r2) {
		CHECK_EQ_INT(fb_table_reader_generation(r2), gen1 + 1);
		CHECK_EQ_INT(fb_table_reader_point_count(r2), 1);
		CHECK(!fb_table_reader_superseded(r2));
	}
	/* The old mapping stays readable until detach. */
	CHECK_EQ_INT(fb_table_reader_point_count(r1), NPOINTS);
out:
	fb_table_detach(r2);
	fb_table_detach(r1);
	fb_table_destroy(t2);
	fb_table_destroy(t1);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, ENOENT);
}

/* Writes `len` bytes of `data` as the whole segment for `instance`. */
static void write_segment(const void *data, size_t len)
{
	int fd;

	fd = open(instance, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(ftruncate(fd, (off_t)len) == 0);
	CHECK(pwrite(fd, data, len, 0) == (ssize_t)len);
	close(fd);
}

static void unlink_segment(void)
{
	unlink(instance);
}

static void attach_to_a_bad_segment_fails_cleanly(void)
{
	struct fb_shm_header h;
	struct fb_shm_layout l;
	unsigned char *junk;
	size_t len = 1 << 20;

	next_instance();
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, ENOENT);
	errno = 0;
	CHECK(fb_table_attach("bad/name") == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	errno = 0;
	CHECK(fb_table_create("", NULL, 0, NULL, 0) == NULL);
	CHECK_EQ_INT(errno, EINVAL);

	junk = malloc(len);
	CHECK(junk != NULL);
	if (!junk)
		return;
	srand((unsigned)getpid());
	for (size_t i = 0; i < len; i++)
		junk[i] = (unsigned char)(rand() | 1);
	write_segment(junk, len);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EPROTO);

	/* Too short to hold a header: looks like a create in progress. */
	write_segment(junk, 10);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EAGAIN);

	/* A valid-looking header whose counts do not fit the file. */
	memset(&h, 0, sizeof(h));
	atomic_store(&h.magic, FB_SHM_MAGIC);
	h.version = FB_SHM_VERSION;
	h.header_size = sizeof(h);
	h.point_count = 100000;
	h.device_count = 1;
	fb_table_util_layout(h.point_count, h.device_count, &l);
	h.total_size = l.total_size;
	h.cmdq_off = l.cmdq_off;
	h.ro_off = l.ro_off;
	h.journal_off = l.journal_off;
	h.results_off = l.results_off;
	h.devices_off = l.devices_off;
	h.pdesc_off = l.pdesc_off;
	h.points_off = l.points_off;
	memset(junk, 0, len);
	memcpy(junk, &h, sizeof(h));
	write_segment(junk, len);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EINVAL);

	/* Counts beyond the limits, and a bogus offset. */
	h.point_count = 0xffffffffu;
	memcpy(junk, &h, sizeof(h));
	write_segment(junk, len);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	h.point_count = 1;
	fb_table_util_layout(1, 1, &l);
	h.total_size = l.total_size;
	h.pdesc_off = l.pdesc_off;
	h.points_off = len * 4;
	memcpy(junk, &h, sizeof(h));
	write_segment(junk, len);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EINVAL);

	/* Wrong version. */
	h.points_off = l.points_off;
	h.version = 99;
	memcpy(junk, &h, sizeof(h));
	write_segment(junk, len);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EPROTO);

	/* A driver starting over the garbage replaces it. */
	{
		struct fb_table *t = fb_table_create(instance, NULL, 0, NULL, 0);
		struct fb_table_reader *r = fb_table_attach(instance);

		CHECK(t != NULL);
		CHECK(r != NULL);
		if (r)
			CHECK_EQ_INT(fb_table_reader_generation(r), 1);
		fb_table_detach(r);
		fb_table_destroy(t);
	}
	unlink_segment();
	free(junk);
}

static void heartbeat_age_is_measured_from_the_last_beat(void)
{
	struct fb_table *t = make_table();
	struct fb_table_reader *r = t ? fb_table_attach(instance) : NULL;

	CHECK(r != NULL);
	if (!r)
		goto out;
	CHECK_EQ_INT(fb_table_reader_heartbeat_age_ms(r, 5000), -1);
	fb_table_heartbeat(t, 1000);
	CHECK_EQ_INT(fb_table_reader_heartbeat_age_ms(r, 1500), 500);
	CHECK_EQ_INT(fb_table_reader_heartbeat_age_ms(r, 900), 0);
	fb_table_heartbeat(t, fb_mono_ms());
	CHECK(fb_table_reader_heartbeat_age_ms(r, fb_mono_ms()) < 1000);
out:
	fb_table_detach(r);
	fb_table_destroy(t);
}

struct results_seen {
	int n;
	uint64_t tickets[8];
	char reasons[8][FB_TABLE_REASON_MAX];
};

static void on_result(void *ctx, const struct fb_command_result *res)
{
	struct results_seen *s = ctx;

	if (s->n < 8) {
		s->tickets[s->n] = res->ticket;
		snprintf(s->reasons[s->n], sizeof(s->reasons[0]), "%s", res->reason);
	}
	s->n++;
}

static void commands_round_trip_with_results_filtered_by_origin(void)
{
	struct fb_table *t = make_table();
	struct fb_table_reader *ra = t ? fb_table_attach(instance) : NULL;
	struct fb_table_reader *rb = t ? fb_table_attach(instance) : NULL;
	struct fb_command c, got;
	struct fb_command_result res;
	struct results_seen sa = { 0 }, sb = { 0 };
	uint64_t ta, tb;
	struct seen s;

	CHECK(ra != NULL && rb != NULL);
	if (!ra || !rb)
		goto out;
	changes(ra, &s);
	CHECK(!fd_readable(fb_table_command_fd(t), 0));
	CHECK_EQ_INT(fb_table_command_pop(t, &got), 0);

	memset(&c, 0, sizeof(c));
	c.point_index = 1;
	c.value.kind = FB_VALUE_BOOL;
	c.value.b = true;
	snprintf(c.event_id, sizeof(c.event_id), "evt-a");
	snprintf(c.origin, sizeof(c.origin), "ha");
	c.ts_ms = 12345;
	CHECK_EQ_INT(fb_table_command_push(ra, &c), 0);
	ta = c.ticket;
	c.point_index = 4;
	c.value.kind = FB_VALUE_FLOAT;
	c.value.f = 21.5;
	snprintf(c.event_id, sizeof(c.event_id), "evt-b");
	snprintf(c.origin, sizeof(c.origin), "web");
	CHECK_EQ_INT(fb_table_command_push(rb, &c), 0);
	tb = c.ticket;
	CHECK(ta > 0 && tb > ta);
	CHECK(fd_readable(fb_table_command_fd(t), 2000));
	fb_table_command_fd_drain(t);
	CHECK(!fd_readable(fb_table_command_fd(t), 0));

	c.point_index = NPOINTS;
	errno = 0;
	CHECK_EQ_INT(fb_table_command_push(ra, &c), -1);
	CHECK_EQ_INT(errno, EINVAL);

	CHECK_EQ_INT(fb_table_command_pop(t, &got), 1);
	CHECK_EQ_INT(got.ticket, ta);
	CHECK_EQ_INT(got.point_index, 1);
	CHECK(got.value.kind == FB_VALUE_BOOL && got.value.b);
	CHECK(!strcmp(got.event_id, "evt-a") && !strcmp(got.origin, "ha"));
	CHECK_EQ_INT(got.ts_ms, 12345);
	memset(&res, 0, sizeof(res));
	res.ticket = got.ticket;
	res.point_index = got.point_index;
	res.status = FB_COMMAND_DONE;
	snprintf(res.origin, sizeof(res.origin), "%s", got.origin);
	snprintf(res.event_id, sizeof(res.event_id), "%s", got.event_id);
	fb_table_command_result(t, &res);

	CHECK_EQ_INT(fb_table_command_pop(t, &got), 1);
	CHECK_EQ_INT(got.ticket, tb);
	CHECK(got.value.kind == FB_VALUE_FLOAT && got.value.f == 21.5);
	CHECK_EQ_INT(fb_table_command_pop(t, &got), 0);
	res.ticket = got.ticket;
	res.status = FB_COMMAND_FAILED;
	snprintf(res.origin, sizeof(res.origin), "web");
	snprintf(res.reason, sizeof(res.reason), "illegal data address");
	fb_table_command_result(t, &res);

	/* Results journal nothing, yet the notify must wake readers. */
	fb_table_notify(t);
	CHECK(fd_readable(fb_table_reader_fd(ra), 2000));
	CHECK_EQ_INT(changes(ra, &s), 0);

	CHECK_EQ_INT(fb_table_reader_results(ra, "ha", on_result, &sa), 1);
	CHECK_EQ_INT(sa.tickets[0], ta);
	CHECK_EQ_INT(fb_table_reader_results(ra, "ha", on_result, &sa), 0);
	CHECK_EQ_INT(fb_table_reader_results(rb, "web", on_result, &sb), 1);
	CHECK_EQ_INT(sb.tickets[0], tb);
	CHECK(!strcmp(sb.reasons[0], "illegal data address"));
out:
	fb_table_detach(ra);
	fb_table_detach(rb);
	fb_table_destroy(t);
}

static void full_queue_fails_with_eagain(void)
{
	struct fb_table *t = make_table();
	struct fb_table_reader *r = t ? fb_table_attach(instance) : NULL;
	struct fb_command c, got;
	uint64_t last = 0;

	CHECK(r != NULL);
	if (!r)
		goto out;
	memset(&c, 0, sizeof(c));
	c.point_index = 2;
	c.value.kind = FB_VALUE_INT;
	for (unsigned i = 0; i < FB_SHM_CMDQ_SIZE; i++) {
		c.value.i = i;
		CHECK_EQ_INT(fb_table_command_push(r, &c), 0);
		CHECK(c.ticket > last);
		last = c.ticket;
	}
	errno = 0;
	CHECK_EQ_INT(fb_table_command_push(r, &c), -1);
	CHECK_EQ_INT(errno, EAGAIN);
	CHECK_EQ_INT(fb_table_command_pop(t, &got), 1);
	CHECK_EQ_INT(got.value.i, 0);
	CHECK_EQ_INT(fb_table_command_push(r, &c), 0);
	for (unsigned i = 1; i < FB_SHM_CMDQ_SIZE; i++) {
		CHECK_EQ_INT(fb_table_command_pop(t, &got), 1);
		if (got.value.i != (int64_t)i) {
			CHECK_EQ_INT(got.value.i, i);
			break;
		}
	}
	CHECK_EQ_INT(fb_table_command_pop(t, &got), 1);
	CHECK_EQ_INT(fb_table_command_pop(t, &got), 0);
out:
	fb_table_detach(r);
	fb_table_destroy(t);
}

/* Readers are counted while attached, and only then does a notify touch
 * the file (the driver's one syscall per notify); every reader wakes. */
static void a_notify_touches_the_file_only_while_readers_watch(void)
{
	struct fb_table *t = make_table();
	struct fb_value v = { .kind = FB_VALUE_INT, .i = 1 };
	struct fb_table_reader *r1, *r2;
	struct timespec pause = { 0, 30 * 1000 * 1000 };
	struct stat st0, st1;
	struct seen s;

	CHECK(t != NULL);
	if (!t)
		return;
	/* (the first store dirties the page: on a disk file system that
	 * fault updates the times itself) */
	fb_table_point_write(t, 1, &v, FB_QUALITY_OK, 1);
	fb_table_notify(t);
	CHECK(stat(instance, &st0) == 0);
	nanosleep(&pause, NULL); /* past the file system's time granularity */
	v.i = 3;
	fb_table_point_write(t, 1, &v, FB_QUALITY_OK, 1);
	fb_table_notify(t);
	CHECK(stat(instance, &st1) == 0);
	CHECK(st1.st_ctim.tv_sec == st0.st_ctim.tv_sec &&
	      st1.st_ctim.tv_nsec == st0.st_ctim.tv_nsec);

	r1 = fb_table_attach(instance);
	r2 = fb_table_attach(instance);
	CHECK(r1 && r2);
	if (!r1 || !r2)
		goto out;
	CHECK_EQ_INT(atomic_load(&t->hdr->waiters), 2);
	changes(r1, &s);
	changes(r2, &s);
	v.i = 2;
	fb_table_point_write(t, 1, &v, FB_QUALITY_OK, 2);
	fb_table_notify(t);
	CHECK(fd_readable(fb_table_reader_fd(r1), 2000));
	CHECK(fd_readable(fb_table_reader_fd(r2), 2000));
	CHECK(stat(instance, &st1) == 0);
	CHECK(st1.st_ctim.tv_sec != st0.st_ctim.tv_sec ||
	      st1.st_ctim.tv_nsec != st0.st_ctim.tv_nsec);
	fb_table_detach(r2);
	r2 = NULL;
	CHECK_EQ_INT(atomic_load(&t->hdr->waiters), 1);
	fb_table_detach(r1);
	r1 = NULL;
	CHECK_EQ_INT(atomic_load(&t->hdr->waiters), 0);
out:
	fb_table_detach(r1);
	fb_table_detach(r2);
	fb_table_destroy(t);
}

/* A quiet write journals without waking anyone; the reader still finds
 * it, and a loud write after it wakes for both. */
static void a_quiet_write_waits_for_the_next_wake_up(void)
{
	struct fb_table *t = make_table();
	struct fb_table_reader *r = t ? fb_table_attach(instance) : NULL;
	struct fb_value v = { .kind = FB_VALUE_INT, .i = 7 };
	struct seen s;

	CHECK(r != NULL);
	if (!r)
		goto out;
	changes(r, &s);
	CHECK(!fb_table_reader_has_news(r));
	fb_table_point_write_quiet(t, 2, &v, FB_QUALITY_OK, 1);
	fb_table_notify(t);
	CHECK(!fd_readable(fb_table_reader_fd(r), 200));
	CHECK(fb_table_reader_has_news(r));
	CHECK_EQ_INT(changes(r, &s), 1);
	CHECK(!fb_table_reader_has_news(r));
	v.i = 8;
	fb_table_point_write_quiet(t, 2, &v, FB_QUALITY_OK, 2);
	fb_table_point_write(t, 3, &v, FB_QUALITY_OK, 2);
	fb_table_notify(t);
	CHECK(fd_readable(fb_table_reader_fd(r), 2000));
	CHECK_EQ_INT(changes(r, &s), 2);
out:
	fb_table_detach(r);
	fb_table_destroy(t);
}

static void reader_fd_is_readable_only_after_a_change(void)
{
	struct fb_table *t = make_table();
	struct fb_table_reader *r = t ? fb_table_attach(instance) : NULL;
	struct fb_value v = { .kind = FB_VALUE_INT };
	struct seen s;

	CHECK(r != NULL);
	if (!r)
		goto out;
	/* Readable at attach so the initial full scan happens. */
	CHECK(fd_readable(fb_table_reader_fd(r), 0));
	changes(r, &s);
	CHECK(!fd_readable(fb_table_reader_fd(r), 0));

	fb_table_notify(t); /* nothing journaled */
	CHECK(!fd_readable(fb_table_reader_fd(r), 200));
	fb_table_point_write(t, 3, &v, FB_QUALITY_OK, 1);
	fb_table_notify(t);
	CHECK(fd_readable(fb_table_reader_fd(r), 2000));
	CHECK_EQ_INT(changes(r, &s), 1);
	CHECK(!fd_readable(fb_table_reader_fd(r), 0));
	/* Same value again: nothing to wake for. */
	fb_table_point_write(t, 3, &v, FB_QUALITY_OK, 2);
	fb_table_notify(t);
	CHECK(!fd_readable(fb_table_reader_fd(r), 200));
	/* A burst coalesces into one readable event. */
	for (int i = 0; i < 100; i++) {
		v.i = i + 1;
		fb_table_point_write(t, 3, &v, FB_QUALITY_OK, 3);
		fb_table_notify(t);
	}
	CHECK(fd_readable(fb_table_reader_fd(r), 2000));
	changes(r, &s);
	CHECK_EQ_INT(s.points[3], 100);
out:
	fb_table_detach(r);
	fb_table_destroy(t);
}

/* Rss (kB) of this process's read-only mapping of the table file (the
 * reader's; the writer maps it all read-write), -1 if none. */
static long reader_mapping_rss_kb(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char line[512];
	long rss = -1;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char perms[8] = "", *name = strrchr(line, '/');
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3) {
			in = !strcmp(perms, "r--s") && name &&
			     !strncmp(name + 1, base, strlen(base)) && name[1 + strlen(base)] == '\n';
			continue;
		}
		if (in && !strncmp(line, "Rss:", 4))
			rss = strtol(line + 4, NULL, 10);
	}
	if (f)
		fclose(f);
	return rss;
}

/* The reader copies the point descriptors at attach and does not keep
 * their pages mapped: 72 B a point of RSS otherwise (720 kB here). */
static void reader_keeps_no_descriptor_pages_mapped(void)
{
	enum { N = 10000 };
	struct fb_device_desc dev;
	struct fb_point_desc *pts = calloc(N, sizeof(*pts));
	struct fb_table *t = NULL;
	struct fb_table_reader *r = NULL;
	struct fb_value v = { .kind = FB_VALUE_INT, .i = 42 };
	struct fb_point_snapshot got;
	long rss;

	CHECK(pts != NULL);
	if (!pts)
		return;
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.device, sizeof(dev.device), "dev0");
	for (int i = 0; i < N; i++) {
		snprintf(pts[i].device, sizeof(pts[i].device), "dev0");
		snprintf(pts[i].point, sizeof(pts[i].point), "p%d", i);
		pts[i].kind = FB_VALUE_INT;
	}
	next_instance();
	t = fb_table_create(instance, &dev, 1, pts, N);
	r = t ? fb_table_attach(instance) : NULL;
	CHECK(r != NULL);
	if (!r)
		goto out;
	rss = reader_mapping_rss_kb(instance);
	CHECK(rss >= 0);
	CHECK(rss < (long)(N * sizeof(struct fb_shm_point_desc) / 1024 / 2));
	/* the copies are intact, and the table reads as before */
	CHECK(!strcmp(fb_table_reader_point(r, N - 1)->point, "p9999"));
	CHECK(!strcmp(fb_table_reader_point(r, 0)->device, "dev0"));
	CHECK_EQ_INT(fb_table_reader_find(r, "dev0", "p5000"), 5000);
	fb_table_point_write(t, N - 1, &v, FB_QUALITY_OK, 1);
	fb_table_reader_read(r, N - 1, &got);
	CHECK(got.value.kind == FB_VALUE_INT && got.value.i == 42);
out:
	fb_table_detach(r);
	fb_table_destroy(t);
	free(pts);
}

int main(void)
{
	RUN_TEST(round_trip_of_every_value_kind);
	RUN_TEST(journal_reports_exactly_the_changed_points);
	RUN_TEST(reader_that_fell_behind_gets_a_full_scan);
	RUN_TEST(second_driver_is_refused_while_the_first_lives);
	RUN_TEST(create_after_a_crashed_driver_supersedes_its_table);
	RUN_TEST(attach_to_a_bad_segment_fails_cleanly);
	RUN_TEST(heartbeat_age_is_measured_from_the_last_beat);
	RUN_TEST(commands_round_trip_with_results_filtered_by_origin);
	RUN_TEST(full_queue_fails_with_eagain);
	RUN_TEST(reader_fd_is_readable_only_after_a_change);
	RUN_TEST(reader_keeps_no_descriptor_pages_mapped);
	RUN_TEST(a_notify_touches_the_file_only_while_readers_watch);
	RUN_TEST(a_quiet_write_waits_for_the_next_wake_up);
	return fb_test_finish();
}
