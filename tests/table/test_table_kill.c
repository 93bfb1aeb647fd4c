/* SPDX-License-Identifier: Apache-2.0 */
/* kill -9 robustness: a driver killed mid-update, and command producers
 * killed while holding the queue mutex or in the middle of pushing.
 * Children are forked while the parent runs no threads (no table attached),
 * talk back through pipes, and are killed by pid. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "table-internal.h"
#include "clock.h"
#include "testlib.h"
#include "table_testdir.h"

#define NPOINTS 16

static char instance[256];

static const struct fb_device_desc dev = { .device = "dev" };

static struct fb_table *create_table(void)
{
	struct fb_point_desc pts[NPOINTS];

	memset(pts, 0, sizeof(pts));
	for (int i = 0; i < NPOINTS; i++) {
		snprintf(pts[i].device, sizeof(pts[i].device), "dev");
		snprintf(pts[i].point, sizeof(pts[i].point), "p%d", i);
		pts[i].kind = FB_VALUE_STRING;
	}
	return fb_table_create(instance, &dev, 1, pts, NPOINTS);
}

static bool fd_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void kill_and_reap(pid_t pid)
{
	int status;

	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Every point's value is "v<n>" with its read_ts equal to n. */
static void write_all(struct fb_table *t, uint64_t n)
{
	struct fb_value v = { .kind = FB_VALUE_STRING };

	snprintf(v.s, sizeof(v.s), "v%llu", (unsigned long long)n);
	for (uint32_t p = 0; p < NPOINTS; p++)
		fb_table_point_write(t, p, &v, FB_QUALITY_OK, (int64_t)n);
	fb_table_notify(t);
}

/* Child: creates the table, says ready, then either loops writing at full
 * speed or (stuck_point >= 0) leaves that point mid-update and waits. */
static void driver_child(int ready_fd, int stuck_point)
{
	struct fb_table *t = create_table();

	if (!t)
		_exit(2);
	write_all(t, 1);
	if (stuck_point >= 0)
		fb_table_test_point_begin(t, (uint32_t)stuck_point);
	if (write(ready_fd, "r", 1) != 1)
		_exit(2);
	for (uint64_t n = 2;; n++) {
		if (stuck_point >= 0)
			pause();
		else
			write_all(t, n);
	}
}

static pid_t start_driver(int stuck_point)
{
	int p[2];
	char b;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		driver_child(p[1], stuck_point);
	}
	close(p[1]);
	if (read(p[0], &b, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

/* Reads every point; returns how many came back STALE.  Each read must
 * finish in bounded time even with a seqlock left odd. */
static int read_all_bounded(struct fb_table_reader *r)
{
	int stale = 0;

	for (uint32_t p = 0; p < NPOINTS; p++) {
		struct fb_point_snapshot s;
		bool odd = fb_table_test_point_seq(r, p) & 1;
		int64_t t0 = fb_mono_ms();
		unsigned long long n;

		fb_table_reader_read(r, p, &s);
		CHECK(fb_mono_ms() - t0 < 2000);
		if (s.quality == FB_QUALITY_STALE) {
			stale++;
			continue;
		}
		CHECK(!odd);
		/* A consistent read: the value matches its timestamp. */
		CHECK(s.value.kind == FB_VALUE_STRING && sscanf(s.value.s, "v%llu", &n) == 1 &&
		      (int64_t)n == s.read_ts_ms);
	}
	return stale;
}

static void superseding_replaces_a_dead_driver(struct fb_table_reader *old)
{
	struct fb_table *t;
	struct fb_table_reader *r;
	struct fb_point_snapshot s;
	uint32_t gen = fb_table_reader_generation(old);

	t = create_table();
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(fb_table_reader_superseded(old));
	CHECK(fd_readable(fb_table_reader_fd(old), 2000));
	r = fb_table_attach(instance);
	CHECK(r != NULL);
	if (r) {
		CHECK_EQ_INT(fb_table_reader_generation(r), gen + 1);
		CHECK(!fb_table_reader_superseded(r));
		fb_table_reader_read(r, 3, &s);
		CHECK_EQ_INT(s.quality, FB_QUALITY_NEVER_READ);
		write_all(t, 77);
		CHECK(fd_readable(fb_table_reader_fd(r), 2000));
		CHECK_EQ_INT(read_all_bounded(r), 0);
		fb_table_detach(r);
	}
	fb_table_destroy(t);
}

static void reads_survive_a_driver_killed_mid_update(void)
{
	struct fb_table_reader *r;
	pid_t pid = start_driver(5);

	CHECK(pid > 0);
	if (pid <= 0)
		return;
	kill_and_reap(pid);
	r = fb_table_attach(instance);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(fb_table_test_point_seq(r, 5) & 1);
	/* Only the point under update is stale; the others read fine. */
	CHECK_EQ_INT(read_all_bounded(r), 1);
	CHECK(!fb_table_reader_superseded(r));
	superseding_replaces_a_dead_driver(r);
	fb_table_detach(r);
}

static void reads_survive_a_driver_killed_at_random(void)
{
	int odd_rounds = 0, stale_total = 0;

	/* The writer spends most of its time inside updates, but a kill
	 * landing mid-update is still luck: try a few rounds. */
	for (int round = 0; round < 20; round++) {
		struct fb_table_reader *r;
		pid_t pid = start_driver(-1);
		int stale;

		CHECK(pid > 0);
		if (pid <= 0)
			return;
		r = fb_table_attach(instance);
		CHECK(r != NULL);
		sleep_ms(5 + rand() % 40);
		kill_and_reap(pid);
		if (!r)
			return;
		for (uint32_t p = 0; p < NPOINTS; p++)
			odd_rounds += fb_table_test_point_seq(r, p) & 1;
		stale = read_all_bounded(r);
		stale_total += stale;
		superseding_replaces_a_dead_driver(r);
		fb_table_detach(r);
	}
	printf("random kills: %d point(s) left mid-update, %d stale read(s)\n",
	       odd_rounds, stale_total);
	CHECK_EQ_INT(stale_total, odd_rounds);
}

static void fill_command(struct fb_command *c, int64_t n)
{
	memset(c, 0, sizeof(*c));
	c->point_index = (uint32_t)(n % NPOINTS);
	c->value.kind = FB_VALUE_INT;
	c->value.i = n;
	snprintf(c->event_id, sizeof(c->event_id), "event-%lld", (long long)n);
	snprintf(c->origin, sizeof(c->origin), "producer");
	c->ts_ms = n;
}

static bool command_consistent(const struct fb_command *c)
{
	char want[FB_TABLE_EVENT_ID_MAX];

	snprintf(want, sizeof(want), "event-%lld", (long long)c->value.i);
	return c->value.kind == FB_VALUE_INT && c->ts_ms == c->value.i &&
	       c->point_index == (uint32_t)(c->value.i % NPOINTS) &&
	       !strcmp(c->event_id, want) && !strcmp(c->origin, "producer") && c->ticket > 0;
}

enum producer_mode { HALF_WRITTEN, PUSH_THEN_LOCK, PUSH_FOREVER };

/* Child: attaches and does `mode`, reporting through ready_fd. */
static void producer_child(int ready_fd, enum producer_mode mode)
{
	struct fb_table_reader *r = fb_table_attach(instance);
	struct fb_command c;

	if (!r)
		_exit(2);
	switch (mode) {
	case HALF_WRITTEN:
		fill_command(&c, 1000);
		if (fb_table_test_push_partial(r, &c, sizeof(c) / 2) < 0)
			_exit(2);
		break;
	case PUSH_THEN_LOCK:
		fill_command(&c, 2000);
		if (fb_table_command_push(r, &c) < 0 || fb_table_test_queue_lock(r) < 0)
			_exit(2);
		break;
	case PUSH_FOREVER:
		if (write(ready_fd, "r", 1) != 1)
			_exit(2);
		for (int64_t n = 1;; n++) {
			fill_command(&c, n);
			while (fb_table_command_push(r, &c) < 0)
				if (errno != EAGAIN)
					_exit(3);
		}
	}
	if (write(ready_fd, "r", 1) != 1)
		_exit(2);
	for (;;)
		pause();
}

static pid_t start_producer(enum producer_mode mode)
{
	int p[2];
	char b;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		producer_child(p[1], mode);
	}
	close(p[1]);
	if (read(p[0], &b, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

static void queue_recovers_from_a_producer_killed_holding_it(void)
{
	struct fb_table *t;
	struct fb_table_reader *r;
	struct fb_command c, got;
	pid_t pid;

	/* The table exists before the fork; its command bridge thread is
	 * not needed by the child, which only attaches. */
	t = create_table();
	CHECK(t != NULL);
	if (!t)
		return;

	/* Killed after writing half a slot, lock held: pop recovers the
	 * lock and finds nothing. */
	pid = start_producer(HALF_WRITTEN);
	CHECK(pid > 0);
	if (pid > 0)
		kill_and_reap(pid);
	CHECK_EQ_INT(fb_table_command_pop(t, &got), 0);

	/* Killed holding the lock after a complete push: the push survives
	 * and the next producer gets the lock. */
	pid = start_producer(PUSH_THEN_LOCK);
	CHECK(pid > 0);
	if (pid > 0)
		kill_and_reap(pid);
	r = fb_table_attach(instance);
	CHECK(r != NULL);
	if (r) {
		fill_command(&c, 3000);
		CHECK_EQ_INT(fb_table_command_push(r, &c), 0);
		fb_table_detach(r);
	}
	CHECK_EQ_INT(fb_table_command_pop(t, &got), 1);
	CHECK(command_consistent(&got));
	CHECK_EQ_INT(got.value.i, 2000);
	CHECK_EQ_INT(fb_table_command_pop(t, &got), 1);
	CHECK(command_consistent(&got));
	CHECK_EQ_INT(got.value.i, 3000);
	CHECK_EQ_INT(fb_table_command_pop(t, &got), 0);
	fb_table_destroy(t);
}

static void producers_killed_mid_push_never_publish_half_a_command(void)
{
	struct fb_table *t = create_table();
	uint64_t popped = 0, bad = 0, last_ticket = 0;
	int64_t last = 0;

	CHECK(t != NULL);
	if (!t)
		return;
	for (int round = 0; round < 10; round++) {
		struct fb_command got;
		pid_t pid = start_producer(PUSH_FOREVER);
		int64_t until = fb_mono_ms() + 5 + rand() % 30;
		int res;

		CHECK(pid > 0);
		if (pid <= 0)
			break;
		/* Consume concurrently, then kill at a random moment. */
		while (fb_mono_ms() < until) {
			res = fb_table_command_pop(t, &got);
			if (res < 0)
				CHECK_EQ_INT(res, 0);
			if (res == 1) {
				popped++;
				if (!command_consistent(&got) || got.ticket <= last_ticket ||
				    got.value.i <= last) {
					bad++;
				}
				last_ticket = got.ticket;
				last = got.value.i;
			}
		}
		kill_and_reap(pid);
		while ((res = fb_table_command_pop(t, &got)) == 1) {
			popped++;
			if (!command_consistent(&got) || got.ticket <= last_ticket)
				bad++;
			last_ticket = got.ticket;
		}
		CHECK_EQ_INT(res, 0);
		last = 0;
	}
	printf("killed producers: %llu commands popped, %llu inconsistent\n",
	       (unsigned long long)popped, (unsigned long long)bad);
	CHECK(popped > 0);
	CHECK_EQ_INT(bad, 0);
	fb_table_destroy(t);
}

int main(void)
{
	snprintf(instance, sizeof(instance), "%s/test-kill-%d", fbt_dir(), (int)getpid());
	srand((unsigned)getpid());
	RUN_TEST(reads_survive_a_driver_killed_mid_update);
	RUN_TEST(reads_survive_a_driver_killed_at_random);
	RUN_TEST(queue_recovers_from_a_producer_killed_holding_it);
	RUN_TEST(producers_killed_mid_push_never_publish_half_a_command);
	/* Dead drivers never unlink: the last create/destroy pair did. */
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, ENOENT);
	return fb_test_finish();
}
