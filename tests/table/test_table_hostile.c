/* SPDX-License-Identifier: Apache-2.0 */
/* What another local user, or a buggy or hostile process sharing a table,
 * can do to the readers and the driver: squat the name, plant a symlink or
 * a world-accessible file, leave a seqlock odd, forge the queue mutex owner,
 * the superseded flag or the heartbeat word.  At worst a point becomes
 * unknown; no daemon may crash, stall or spin.  The ownership cases need
 * root (chown to another uid); they are skipped with a message otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "table-internal.h"
#include "table_follower.h"
#include "clock.h"
#include "testlib.h"
#include "table_testdir.h"

#define NPOINTS 64
#define OTHER_UID 65534 /* nobody */

static char instance[256];

static void next_instance(const char *dir)
{
	static int n;

	snprintf(instance, sizeof(instance), "%s/hostile-%d-%d", dir, (int)getpid(), n++);
}

static struct fb_table *make_table(void)
{
	struct fb_device_desc dev = { .device = "dev" };
	struct fb_point_desc pts[NPOINTS];

	memset(pts, 0, sizeof(pts));
	for (int i = 0; i < NPOINTS; i++) {
		snprintf(pts[i].device, sizeof(pts[i].device), "dev");
		snprintf(pts[i].point, sizeof(pts[i].point), "p%d", i);
		pts[i].kind = FB_VALUE_INT;
	}
	return fb_table_create(instance, &dev, 1, pts, NPOINTS);
}

/* The whole table file mapped read-write, as any process allowed to open
 * it could.  Caller unmaps `*len` bytes. */
static unsigned char *map_as_attacker(size_t *len)
{
	struct stat st;
	unsigned char *p;
	int fd = open(instance, O_RDWR | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static bool root(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "   skipped: needs root to give a file to another uid\n");
	return false;
}

static void shm_segment_of_other_user_is_refused(void)
{
	struct fb_table *t;

	if (!root())
		return;
	next_instance(fbt_dir());
	t = make_table();
	CHECK(t != NULL);
	CHECK(chown(instance, OTHER_UID, OTHER_UID) == 0);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EPERM);
	fb_table_destroy(t); /* no longer ours under the name: left alone */
	unlink(instance);
}

static void segment_open_to_other_users_is_refused(void)
{
	struct fb_table *t;

	next_instance(fbt_dir());
	t = make_table();
	CHECK(t != NULL);
	CHECK(chmod(instance, 0666) == 0);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EPERM);
	fb_table_destroy(t);
}

static void symlink_under_the_table_name_is_refused(void)
{
	char target[300];
	struct fb_table *t;

	next_instance(fbt_dir());
	t = make_table();
	CHECK(t != NULL);
	snprintf(target, sizeof(target), "%s", instance);
	next_instance(fbt_dir());
	CHECK(symlink(target, instance) == 0);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EPERM);
	unlink(instance);
	fb_table_destroy(t);
}

static void runtime_dir_writable_by_others_is_refused(void)
{
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/open", fbt_dir());
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(chmod(dir, 0777) == 0);
	next_instance(dir);
	errno = 0;
	CHECK(make_table() == NULL);
	CHECK_EQ_INT(errno, EPERM);
	errno = 0;
	CHECK(fb_table_attach(instance) == NULL);
	CHECK_EQ_INT(errno, EPERM);
	rmdir(dir);
}

/* The service user (here uid 65534, in a child) starts its driver while a
 * file of another user (root) squats the name: the driver is not blocked,
 * and readers get the driver's table, never the squatter's. */
static void driver_starts_over_a_squatted_name(void)
{
	char dir[300];
	struct fb_table_reader *r;
	pid_t pid;
	int status, fd, go[2];
	char c = 0;

	if (!root())
		return;
	snprintf(dir, sizeof(dir), "%s/svc", fbt_dir());
	CHECK(mkdir(dir, 0750) == 0);
	CHECK(chown(dir, OTHER_UID, OTHER_UID) == 0);
	CHECK(chmod(fbt_dir(), 0711) == 0); /* let the child reach dir */
	next_instance(dir);
	fd = open(instance, O_RDWR | O_CREAT | O_EXCL, 0666);
	CHECK(fd >= 0);
	CHECK(fd >= 0 && write(fd, "squatted", 8) == 8);
	if (fd >= 0)
		close(fd);
	CHECK(pipe(go) == 0);
	pid = fork();
	if (pid == 0) {
		struct fb_table *t;

		close(go[0]);
		if (setgid(OTHER_UID) < 0 || setuid(OTHER_UID) < 0)
			_exit(2);
		t = make_table();
		if (!t)
			_exit(3);
		fb_table_heartbeat(t, fb_mono_ms());
		if (write(go[1], "k", 1) != 1)
			_exit(4);
		pause(); /* until the parent kills us */
		_exit(0);
	}
	close(go[1]);
	CHECK(read(go[0], &c, 1) == 1 && c == 'k');
	r = fb_table_attach(instance);
	CHECK(r != NULL);
	if (r) {
		CHECK_EQ_INT(fb_table_reader_generation(r), 1);
		CHECK_EQ_INT(fb_table_reader_point_count(r), NPOINTS);
		CHECK(fb_table_reader_heartbeat_age_ms(r, fb_mono_ms()) >= 0);
	}
	fb_table_detach(r);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status));
	close(go[0]);
	chmod(fbt_dir(), 0700);
	unlink(instance);
	{
		char lock[320];

		snprintf(lock, sizeof(lock), "%s.lock", instance);
		unlink(lock);
	}
	rmdir(dir);
}

static void odd_seqlock_costs_one_bounded_wait_then_reads_stale_at_once(void)
{
	struct fb_value v = { .kind = FB_VALUE_INT, .i = 42 };
	struct fb_point_snapshot s;
	struct fb_table_reader *r;
	struct fb_shm_header *h;
	struct fb_shm_point *pts;
	struct fb_table *t;
	unsigned char *m;
	size_t len = 0;
	int64_t t0, first, again;
	int stale = 0;

	next_instance(fbt_dir());
	t = make_table();
	CHECK(t != NULL);
	if (!t)
		return;
	for (uint32_t i = 0; i < NPOINTS; i++)
		fb_table_point_write(t, i, &v, FB_QUALITY_OK, 1);
	r = fb_table_attach(instance);
	m = map_as_attacker(&len);
	CHECK(r != NULL && m != NULL);
	if (!r || !m)
		goto out;
	h = (void *)m;
	pts = (void *)(m + h->points_off);
	for (uint32_t i = 0; i < NPOINTS; i++)
		atomic_fetch_or(&pts[i].seq, 1u);

	t0 = fb_mono_ms();
	for (uint32_t i = 0; i < NPOINTS; i++) {
		fb_table_reader_read(r, i, &s);
		stale += s.quality == FB_QUALITY_STALE && s.value.kind == FB_VALUE_NONE;
	}
	first = fb_mono_ms() - t0;
	t0 = fb_mono_ms();
	for (int pass = 0; pass < 10; pass++)
		for (uint32_t i = 0; i < NPOINTS; i++) {
			fb_table_reader_read(r, i, &s);
			stale += s.quality == FB_QUALITY_STALE && s.value.kind == FB_VALUE_NONE;
		}
	again = fb_mono_ms() - t0;
	fprintf(stderr, "   %d stuck points: first pass %lld ms, 10 more %lld ms\n", NPOINTS,
		(long long)first, (long long)again);
	CHECK_EQ_INT(stale, 11 * NPOINTS);
	CHECK(first < 60);
	CHECK(again < 60);

	/* The driver's next write repairs the parity; the point reads again. */
	v.i = 7;
	fb_table_point_write(t, 3, &v, FB_QUALITY_OK, 2);
	CHECK_EQ_INT(fb_table_test_point_seq(r, 3) & 1, 0);
	fb_table_reader_read(r, 3, &s);
	CHECK_EQ_INT(s.quality, FB_QUALITY_OK);
	CHECK_EQ_INT(s.value.i, 7);
out:
	if (m)
		munmap(m, len);
	fb_table_detach(r);
	fb_table_destroy(t);
}

static int attaches;

static int count_attach(void *ctx, struct fb_table_reader *r)
{
	(void)ctx;
	(void)r;
	attaches++;
	return 0;
}

static void superseded_table_still_under_its_name_is_not_reattached_in_a_loop(void)
{
	struct fb_table_follower_handlers h = { .attached = count_attach };
	struct fb_table_follower *f;
	struct fb_shm_header *hdr;
	struct fb_table *t;
	unsigned char *m;
	size_t len = 0;
	int64_t now = fb_mono_ms();

	next_instance(fbt_dir());
	t = make_table();
	f = fb_table_follower_new(instance, 5000, &h, NULL);
	m = map_as_attacker(&len);
	CHECK(t && f && m);
	if (!t || !f || !m)
		goto out;
	fb_table_heartbeat(t, now);
	attaches = 0;
	fb_table_follower_maintain(f, now);
	CHECK_EQ_INT(attaches, 1);
	hdr = (void *)m;
	atomic_store(&hdr->superseded, 1);
	/* What the exporter's loop does: drain when readable, maintain once
	 * per tick; 500 ms worth of passes, 1 ms apart. */
	for (int i = 0; i < 500; i++) {
		fb_table_follower_drain(f, now + i);
		fb_table_follower_maintain(f, now + i);
	}
	fprintf(stderr, "   %d attaches in 500 passes\n", attaches);
	CHECK(attaches <= 2);
	CHECK(fb_table_follower_reader(f) == NULL);
out:
	if (m)
		munmap(m, len);
	fb_table_follower_free(f);
	fb_table_destroy(t);
}

static void forged_superseded_flag_does_not_stop_the_driver(void)
{
	struct fb_table_reader *r, *r2 = NULL;
	struct fb_shm_header *h;
	struct fb_table *t;
	unsigned char *m;
	size_t len = 0;

	next_instance(fbt_dir());
	t = make_table();
	r = t ? fb_table_attach(instance) : NULL;
	m = map_as_attacker(&len);
	CHECK(r && m);
	if (!r || !m)
		goto out;
	h = (void *)m;
	atomic_store(&h->superseded, 1);
	CHECK(!fb_table_superseded(t));
	CHECK(fb_table_reader_superseded(r));
	/* The heartbeat replaces the flagged table, as a restart would. */
	fb_table_heartbeat(t, fb_mono_ms());
	CHECK(!fb_table_superseded(t));
	r2 = fb_table_attach(instance);
	CHECK(r2 != NULL);
	if (r2) {
		CHECK_EQ_INT(fb_table_reader_generation(r2), 2);
		CHECK(!fb_table_reader_superseded(r2));
	}
out:
	if (m)
		munmap(m, len);
	fb_table_detach(r2);
	fb_table_detach(r);
	fb_table_destroy(t);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "blocked on the queue lock for 10 s\n";
	if (write(2, msg, sizeof(msg) - 1) < 0) { /* nothing more to do */ }
	_exit(1);
}

static void forged_queue_mutex_owner_blocks_neither_driver_nor_exporter(void)
{
	struct fb_command cmd = { .point_index = 1, .value = { .kind = FB_VALUE_INT, .i = 1 } };
	struct fb_table_reader *r;
	struct fb_shm_header *h;
	struct fb_table *t;
	unsigned char *m;
	size_t len = 0;
	int64_t t0;

	next_instance(fbt_dir());
	t = make_table();
	r = t ? fb_table_attach(instance) : NULL;
	m = map_as_attacker(&len);
	CHECK(r && m);
	if (!r || !m)
		goto out;
	h = (void *)m;
	/* glibc's mutex word holds the owner's TID: one that never existed
	 * is never released by the kernel's robust-list cleanup. */
	*(volatile int32_t *)(m + h->cmdq_off) = 0x3fff0000;
	signal(SIGALRM, on_alarm);
	alarm(10);
	t0 = fb_mono_ms();
	errno = 0;
	CHECK_EQ_INT(fb_table_command_push(r, &cmd), -1);
	CHECK_EQ_INT(errno, ETIMEDOUT);
	errno = 0;
	CHECK_EQ_INT(fb_table_command_pop(t, &cmd), -1);
	CHECK_EQ_INT(errno, ETIMEDOUT);
	/* Two timeouts of 100 ms; the rest is room for a loaded machine. */
	CHECK(fb_mono_ms() - t0 < 8 * FB_TABLE_LOCK_TIMEOUT_MS);
	alarm(0);
	/* The driver learns it once, for its log. */
	CHECK_EQ_INT(fb_table_command_lock_timeouts(t, fb_mono_ms()), 1);
	CHECK_EQ_INT(fb_table_command_lock_timeouts(t, fb_mono_ms()), 0);
out:
	if (m)
		munmap(m, len);
	fb_table_detach(r);
	fb_table_destroy(t);
}

static void hostile_heartbeat_word_gives_a_sane_age(void)
{
	struct fb_table_reader *r;
	struct fb_shm_header *h;
	struct fb_table *t;
	unsigned char *m;
	size_t len = 0;
	int64_t now = fb_mono_ms();

	next_instance(fbt_dir());
	t = make_table();
	r = t ? fb_table_attach(instance) : NULL;
	m = map_as_attacker(&len);
	CHECK(r && m);
	if (!r || !m)
		goto out;
	h = (void *)m;
	atomic_store(&h->heartbeat_ms, INT64_MIN + 1);
	CHECK_EQ_INT(fb_table_reader_heartbeat_age_ms(r, now), INT64_MAX);
	atomic_store(&h->heartbeat_ms, INT64_MAX);
	CHECK_EQ_INT(fb_table_reader_heartbeat_age_ms(r, now), 0);
	atomic_store(&h->heartbeat_ms, now - 1500);
	CHECK_EQ_INT(fb_table_reader_heartbeat_age_ms(r, now), 1500);
out:
	if (m)
		munmap(m, len);
	fb_table_detach(r);
	fb_table_destroy(t);
}

/* Run in a child: without the guard the first access after the truncation
 * kills it with SIGBUS, which the parent reports. */
static int truncated_table_scenario(void)
{
	struct fb_value v = { .kind = FB_VALUE_INT, .i = 42 };
	struct fb_command cmd = { .point_index = 1, .value = { .kind = FB_VALUE_INT, .i = 1 } };
	struct fb_point_snapshot s;
	struct fb_table_reader *r, *r2;
	struct fb_table *t;
	int failed_before = fb_test_counts_.failed;

	t = make_table();
	CHECK(t != NULL);
	if (!t)
		return 1;
	for (uint32_t i = 0; i < NPOINTS; i++)
		fb_table_point_write(t, i, &v, FB_QUALITY_OK, 1);
	fb_table_heartbeat(t, fb_mono_ms());
	r = fb_table_attach(instance);
	CHECK(r != NULL);
	if (!r)
		return 1;
	CHECK(truncate(instance, 0) == 0);

	/* The exporter's side: every read, the journal, a command. */
	fb_table_reader_read(r, 5, &s);
	CHECK(s.quality != FB_QUALITY_OK);
	fb_table_reader_changes(r, NULL, NULL, NULL);
	fb_table_command_push(r, &cmd);
	CHECK(fb_table_reader_superseded(r));
	fb_table_reader_heartbeat_age_ms(r, fb_mono_ms());

	/* The driver's side: writes go on, and its heartbeat rebuilds the
	 * table under the name, with the current values. */
	v.i = 43;
	fb_table_point_write(t, 5, &v, FB_QUALITY_OK, 2);
	fb_table_notify(t);
	fb_table_command_pop(t, &cmd);
	fb_table_heartbeat(t, fb_mono_ms());
	CHECK(!fb_table_superseded(t));
	r2 = fb_table_attach(instance);
	CHECK(r2 != NULL);
	if (r2) {
		CHECK_EQ_INT(fb_table_reader_generation(r2), 2);
		fb_table_reader_read(r2, 5, &s);
		CHECK_EQ_INT(s.quality, FB_QUALITY_OK);
		CHECK_EQ_INT(s.value.i, 43);
		/* The rebuilt table works: a command round trip. */
		cmd.point_index = 2;
		CHECK_EQ_INT(fb_table_command_push(r2, &cmd), 0);
		CHECK_EQ_INT(fb_table_command_pop(t, &cmd), 1);
		CHECK_EQ_INT(cmd.point_index, 2);
	}
	fb_table_detach(r2);
	fb_table_detach(r);
	fb_table_destroy(t);
	return fb_test_counts_.failed != failed_before;
}

static void truncated_table_kills_neither_reader_nor_driver(void)
{
	int status;
	pid_t pid;

	next_instance(fbt_dir());
	pid = fork();
	if (pid == 0)
		_exit(truncated_table_scenario());
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		fprintf(stderr, "   child killed by signal %d\n", WTERMSIG(status));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	RUN_TEST(shm_segment_of_other_user_is_refused);
	RUN_TEST(segment_open_to_other_users_is_refused);
	RUN_TEST(symlink_under_the_table_name_is_refused);
	RUN_TEST(runtime_dir_writable_by_others_is_refused);
	RUN_TEST(driver_starts_over_a_squatted_name);
	RUN_TEST(odd_seqlock_costs_one_bounded_wait_then_reads_stale_at_once);
	RUN_TEST(superseded_table_still_under_its_name_is_not_reattached_in_a_loop);
	RUN_TEST(forged_superseded_flag_does_not_stop_the_driver);
	RUN_TEST(forged_queue_mutex_owner_blocks_neither_driver_nor_exporter);
	RUN_TEST(hostile_heartbeat_word_gives_a_sane_age);
	RUN_TEST(truncated_table_kills_neither_reader_nor_driver);
	return fb_test_finish();
}
