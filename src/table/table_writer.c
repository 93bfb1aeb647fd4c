/* SPDX-License-Identifier: Apache-2.0 */
/* Driver side: locking the bus, creating, superseding, rebuilding and
 * writing the table.  The driver is the only writer of values, the journal
 * and the results ring, so none of that needs a lock; readers get
 * consistency from the seqlocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table-internal.h"

/* Opens the table file a previous driver left under our name, if it is
 * ours (a crashed driver's); returns its fd or -1.  A squatter's file is
 * not touched: the rename below replaces it all the same. */
static int open_old(int dirfd, const char *base, uid_t owner, uint32_t *gen)
{
	struct fb_shm_header h;
	struct stat st;
	int fd = openat(dirfd, base, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	*gen = 0;
	if (fd < 0)
		return -1;
	if (fb_table_util_check_file(fd, owner, &st) < 0 || (uint64_t)st.st_size < sizeof(h) ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != FB_SHM_MAGIC ||
	    h.version != FB_SHM_VERSION || h.header_size != sizeof(h)) {
		close(fd);
		return -1;
	}
	*gen = h.generation;
	return fd;
}

/* Marks the old table superseded and wakes everyone sleeping on it: its
 * readers then find the new table under the name. */
static void supersede_old(int fd)
{
	struct fb_shm_header *h;

	h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return;
	/* It may have been cut short since we checked its size. */
	if (fb_table_guard_add(h, sizeof(*h)) == 0) {
		atomic_store(&h->superseded, 1);
		atomic_fetch_add(&h->notify, 1);
		fb_table_wake_readers(fd);
		atomic_fetch_add(&h->cmd_notify, 1);
		fb_futex_wake_all(&h->cmd_notify);
		fb_table_guard_remove(h);
	}
	munmap(h, sizeof(*h));
}

/* Takes the bus lock "<base>.lock" (flock, released by the kernel when the
 * holder dies, so a crashed driver never blocks its successor) and writes
 * our pid into it.  -1/EBUSY while a live driver holds it.  The file is
 * owner-only: nobody else can hold a lock on it to block the driver. */
static int take_lock(int dirfd, const char *base, uid_t owner)
{
	char name[FB_TABLE_BASE_MAX + 8], pid[24];
	struct stat st, now;
	int fd, n;

	snprintf(name, sizeof(name), "%s.lock", base);
	for (int attempt = 0; attempt < 4; attempt++) {
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			    0600);
		if (fd >= 0 && fb_table_util_check_file(fd, owner, &st) == 0 &&
		    !(st.st_mode & S_IRWXG)) {
			if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
				int err = errno == EWOULDBLOCK ? EBUSY : errno;

				close(fd);
				errno = err;
				return -1;
			}
			/* Still the file under the name?  A racing driver may
			 * have replaced a foreign one meanwhile. */
			if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
			    now.st_dev == st.st_dev && now.st_ino == st.st_ino)
				break;
			close(fd);
			continue;
		}
		if (fd >= 0)
			close(fd);
		else if (errno != EACCES && errno != ELOOP && errno != EPERM)
			return -1;
		/* Not ours (or a symlink): the directory is, so replace it. */
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return -1;
		fd = -1;
	}
	if (fd < 0) {
		errno = EBUSY;
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

long fb_table_lock_pid(const char *path)
{
	char dir[FB_TABLE_PATH_MAX], base[FB_TABLE_BASE_MAX], name[FB_TABLE_BASE_MAX + 8];
	char buf[24];
	ssize_t n;
	long pid;
	int dirfd, fd;
	uid_t owner;

	if (fb_table_util_path(path, dir, base) < 0 ||
	    (dirfd = fb_table_util_open_dir(dir, &owner)) < 0)
		return 0;
	snprintf(name, sizeof(name), "%s.lock", base);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dirfd);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 ? pid : 0;
}

static int init_queue_mutex(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int err;

	if ((err = pthread_mutexattr_init(&a)))
		goto out;
	/* Producers are separate processes that may die holding the lock. */
	if (!(err = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) &&
	    !(err = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)))
		err = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
out:
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static void init_segment(struct fb_table *t, const struct fb_shm_layout *l)
{
	struct fb_shm_header *h = t->hdr;
	struct fb_shm_point_desc *pd = (void *)(t->base_map + l->pdesc_off);

	/* ftruncate zero-filled the segment: counters, heads and values start
	 * at 0 (FB_VALUE_NONE, FB_QUALITY_NEVER_READ, heartbeat none). */
	h->version = FB_SHM_VERSION;
	h->header_size = sizeof(*h);
	h->generation = t->generation;
	h->driver_pid = (int32_t)getpid();
	h->point_count = t->npoints;
	h->device_count = t->ndevices;
	h->total_size = l->total_size;
	h->cmdq_off = l->cmdq_off;
	h->ro_off = l->ro_off;
	h->journal_off = l->journal_off;
	h->results_off = l->results_off;
	h->devices_off = l->devices_off;
	h->pdesc_off = l->pdesc_off;
	h->points_off = l->points_off;
	t->cmdq->next_ticket = 1;
	for (uint32_t i = 0; i < t->ndevices; i++)
		memcpy(t->devices[i].device, t->ddesc[i].device,
		       strnlen(t->ddesc[i].device, FB_TABLE_KEY_MAX - 1));
	for (uint32_t i = 0; i < t->npoints; i++) {
		memcpy(pd[i].device, t->pdesc[i].device,
		       strnlen(t->pdesc[i].device, FB_TABLE_KEY_MAX - 1));
		memcpy(pd[i].point, t->pdesc[i].point,
		       strnlen(t->pdesc[i].point, FB_TABLE_KEY_MAX - 1));
		pd[i].kind = t->pdesc[i].kind;
	}
}

static void use_mapping(struct fb_table *t, unsigned char *map, const struct fb_shm_layout *l)
{
	t->base_map = map;
	t->hdr = (void *)map;
	t->cmdq = (void *)(map + l->cmdq_off);
	t->journal = (void *)(map + l->journal_off);
	t->results = (void *)(map + l->results_off);
	t->devices = (void *)(map + l->devices_off);
	t->points = (void *)(map + l->points_off);
}

/* Builds a complete table of t's layout and generation under the hidden
 * name ".<base>.new" and makes it t's mapping (t->fd, t->base_map, ...):
 * the caller renames it into place.  On failure nothing is left behind
 * and t is unchanged. */
static int build_segment(struct fb_table *t)
{
	char tmp[FB_TABLE_BASE_MAX + 8];
	struct fb_shm_layout l;
	unsigned char *map;
	struct stat st;
	int fd, err;

	if (fb_table_util_layout(t->npoints, t->ndevices, &l) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), ".%s.new", t->base);
	if (unlinkat(t->dirfd, tmp, 0) < 0 && errno != ENOENT)
		return -1;
	fd = openat(t->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
	if (fd < 0)
		return -1;
	/* openat applied our umask; the mode is part of the design. */
	if (fchmod(fd, 0660) < 0 || ftruncate(fd, (off_t)l.total_size) < 0 || fstat(fd, &st) < 0)
		goto fail;
	map = mmap(NULL, l.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto fail;
	if (fb_table_guard_add(map, l.total_size) < 0 ||
	    init_queue_mutex(&((struct fb_shm_cmdq *)(map + l.cmdq_off))->lock.m) < 0) {
		err = errno;
		fb_table_guard_remove(map);
		munmap(map, l.total_size);
		errno = err;
		goto fail;
	}
	t->fd = fd;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->size = l.total_size;
	use_mapping(t, map, &l);
	init_segment(t, &l);
	atomic_store_explicit(&t->hdr->magic, FB_SHM_MAGIC, memory_order_release);
	return 0;

fail:
	err = errno;
	close(fd);
	unlinkat(t->dirfd, tmp, 0);
	errno = err;
	return -1;
}

static int publish_segment(struct fb_table *t)
{
	char tmp[FB_TABLE_BASE_MAX + 8];

	snprintf(tmp, sizeof(tmp), ".%s.new", t->base);
	return renameat(t->dirfd, tmp, t->dirfd, t->base);
}

static void unlink_tmp(struct fb_table *t)
{
	char tmp[FB_TABLE_BASE_MAX + 8];

	snprintf(tmp, sizeof(tmp), ".%s.new", t->base);
	unlinkat(t->dirfd, tmp, 0);
}

static void unmap(unsigned char *map, size_t size, int fd)
{
	fb_table_guard_remove(map);
	munmap(map, size);
	close(fd);
}

struct fb_table *fb_table_create(const char *path,
				 const struct fb_device_desc *devices, size_t ndevices,
				 const struct fb_point_desc *points, size_t npoints)
{
	char dir[FB_TABLE_PATH_MAX];
	struct fb_shm_layout l;
	struct fb_table *t;
	uint32_t gen = 0;
	int old = -1, err;
	uid_t owner;

	if ((npoints && !points) || (ndevices && !devices) ||
	    npoints > FB_SHM_POINTS_MAX || ndevices > FB_SHM_DEVICES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (fb_table_util_layout((uint32_t)npoints, (uint32_t)ndevices, &l) < 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cmd_bridge.efd = -1;
	t->dirfd = t->lockfd = t->fd = -1;
	t->npoints = (uint32_t)npoints;
	t->ndevices = (uint32_t)ndevices;
	t->ddesc = calloc(ndevices ? ndevices : 1, sizeof(*t->ddesc));
	t->pdesc = calloc(npoints ? npoints : 1, sizeof(*t->pdesc));
	if (!t->ddesc || !t->pdesc)
		goto fail;
	if (ndevices)
		memcpy(t->ddesc, devices, ndevices * sizeof(*devices));
	if (npoints)
		memcpy(t->pdesc, points, npoints * sizeof(*points));
	if (fb_table_util_path(path, dir, t->base) < 0)
		goto fail;
	/* systemd's RuntimeDirectory= makes it; a manual start as root too. */
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		goto fail;
	t->dirfd = fb_table_util_open_dir(dir, &owner);
	if (t->dirfd < 0)
		goto fail;
	/* Readers accept only tables of the directory's owner. */
	if (owner != geteuid()) {
		errno = EPERM;
		goto fail;
	}
	t->lockfd = take_lock(t->dirfd, t->base, owner);
	if (t->lockfd < 0)
		goto fail;
	/* We hold the lock, so a table under the name is a dead driver's
	 * (superseded below) or a squatter's (replaced by the rename). */
	old = open_old(t->dirfd, t->base, owner, &gen);
	t->generation = gen + 1 ? gen + 1 : 1;

	/* Built under a hidden name and renamed into place complete, so a
	 * reader never sees a half-made table. */
	if (build_segment(t) < 0)
		goto fail;
	if (fb_futex_bridge_start(&t->cmd_bridge, &t->hdr->cmd_notify, &t->hdr->cmd_waiters) < 0 ||
	    publish_segment(t) < 0) {
		err = errno;
		fb_futex_bridge_stop(&t->cmd_bridge);
		unmap(t->base_map, t->size, t->fd);
		unlink_tmp(t);
		errno = err;
		goto fail;
	}
	if (old >= 0) {
		supersede_old(old);
		close(old);
	}
	return t;

fail:
	err = errno;
	if (old >= 0)
		close(old);
	if (t->lockfd >= 0)
		close(t->lockfd);
	if (t->dirfd >= 0)
		close(t->dirfd);
	free(t->ddesc);
	free(t->pdesc);
	free(t);
	errno = err;
	return NULL;
}

/* Someone truncated our table (or its pages are gone): build a new one
 * with the current values, put it under the name and let the readers of
 * the broken one know, as a restarted driver would. */
static void rebuild(struct fb_table *t)
{
	struct fb_table old = *t;
	struct fb_shm_point_data d;
	struct fb_shm_layout l;

	t->generation = old.generation + 1 ? old.generation + 1 : 1;
	if (build_segment(t) < 0) {
		t->generation = old.generation;
		return; /* retried at the next heartbeat */
	}
	/* Reading the broken mapping is safe: the guard turns lost pages
	 * into zeros, i.e. points never read. */
	for (uint32_t i = 0; i < t->npoints; i++) {
		fb_shm_words_load(&d, old.points[i].data, FB_SHM_POINT_WORDS);
		fb_shm_words_store(t->points[i].data, &d, FB_SHM_POINT_WORDS);
	}
	for (uint32_t i = 0; i < t->ndevices; i++)
		atomic_store(&t->devices[i].online, atomic_load(&old.devices[i].online));
	if (publish_segment(t) < 0) {
		unmap(t->base_map, t->size, t->fd);
		unlink_tmp(t);
		fb_table_util_layout(old.npoints, old.ndevices, &l);
		use_mapping(t, old.base_map, &l);
		t->fd = old.fd;
		t->dev = old.dev;
		t->ino = old.ino;
		t->size = old.size;
		t->generation = old.generation;
		return;
	}
	if (fb_futex_bridge_move(&t->cmd_bridge, &t->hdr->cmd_notify, &t->hdr->cmd_waiters) < 0) {
		/* No command wake-ups until the next rebuild: commands still
		 * run when the loop wakes for other reasons. */
	}
	/* Readers whose header page survived see the flag; the others took
	 * their own SIGBUS (fb_table_reader_superseded). */
	atomic_store(&old.hdr->superseded, 1);
	atomic_fetch_add(&old.hdr->notify, 1);
	fb_table_wake_readers(old.fd);
	unmap(old.base_map, old.size, old.fd);
	t->pending = 1;
}

/* Truncated, or flagged superseded while we hold the bus lock (no driver
 * can have replaced us, so someone else wrote the flag).  The size check
 * is a backstop (a truncation is mostly caught by the SIGBUS guard on the
 * next store), so it runs at most once a second: on a bus polled every
 * 10 ms it was one of the driver's seven syscalls a read. */
#define SIZE_CHECK_PERIOD_MS 1000

static bool damaged(struct fb_table *t, int64_t mono_ms)
{
	struct stat st;

	if (fb_table_guard_hit(t->base_map) || atomic_load(&t->hdr->superseded))
		return true;
	/* (the second test: a clock that went back, as in tests) */
	if (mono_ms >= t->next_size_check_ms ||
	    mono_ms < t->next_size_check_ms - SIZE_CHECK_PERIOD_MS) {
		t->next_size_check_ms = mono_ms + SIZE_CHECK_PERIOD_MS;
		return fstat(t->fd, &st) == 0 && (uint64_t)st.st_size < t->size;
	}
	return false;
}

void fb_table_destroy(struct fb_table *t)
{
	struct stat st;
	int err = errno;

	if (!t)
		return;
	fb_futex_bridge_stop(&t->cmd_bridge);
	/* We still hold the lock, so the name is ours unless a squatter
	 * replaced it (then it is not ours to remove). */
	if (fstatat(t->dirfd, t->base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == t->dev && st.st_ino == t->ino)
		unlinkat(t->dirfd, t->base, 0);
	unmap(t->base_map, t->size, t->fd);
	close(t->dirfd);
	close(t->lockfd); /* releases the lock; the file stays for the next one */
	free(t->ddesc);
	free(t->pdesc);
	free(t);
	errno = err;
}

static void journal_append(struct fb_table *t, uint32_t entry)
{
	struct fb_shm_journal *j = t->journal;
	uint64_t h = atomic_load_explicit(&j->head, memory_order_relaxed);

	/* Release fence before overwriting slot h % SIZE: a reader that sees
	 * the new entry then also sees head >= h, so it knows the old entry
	 * it wanted may be gone (see fb_table_reader_changes). */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&j->entries[h % FB_SHM_JOURNAL_SIZE], entry, memory_order_relaxed);
	atomic_store_explicit(&j->head, h + 1, memory_order_release);
	t->pending = 1;
}

/* Seqlock write; only the driver's thread calls this. */
static void point_store(struct fb_shm_point *p, const struct fb_shm_point_data *d)
{
	/* `| 1`: an odd seq someone else left behind (a forged one; ours is
	 * always even here) is repaired by this write, not kept odd forever. */
	uint32_t s = atomic_load_explicit(&p->seq, memory_order_relaxed) | 1u;

	atomic_store_explicit(&p->seq, s, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	fb_shm_words_store(p->data, d, FB_SHM_POINT_WORDS);
	atomic_store_explicit(&p->seq, s + 1, memory_order_release);
}

void fb_table_point_write(struct fb_table *t, uint32_t index,
			  const struct fb_value *v, enum fb_quality q, int64_t now_ms)
{
	fb_table_point_write_raw(t, index, v, q, now_ms, NULL, 0);
}

void fb_table_point_write_quiet(struct fb_table *t, uint32_t index,
				const struct fb_value *v, enum fb_quality q, int64_t now_ms)
{
	int pending = t->pending;

	fb_table_point_write_raw(t, index, v, q, now_ms, NULL, 0);
	t->pending = pending;
}

void fb_table_point_write_raw(struct fb_table *t, uint32_t index,
			      const struct fb_value *v, enum fb_quality q, int64_t now_ms,
			      const uint16_t *raw, size_t nraw)
{
	struct fb_shm_point_data old, d;
	bool changed;

	if (index >= t->npoints)
		return;
	/* The driver is the only writer, so its own read needs no seqlock. */
	fb_shm_words_load(&old, t->points[index].data, FB_SHM_POINT_WORDS);
	memset(&d, 0, sizeof(d));
	if (raw && nraw) {
		d.nraw = (uint8_t)(nraw < FB_TABLE_RAW_MAX ? nraw : FB_TABLE_RAW_MAX);
		memcpy(d.raw, raw, d.nraw * sizeof(d.raw[0]));
	} else {
		d.nraw = old.nraw <= FB_TABLE_RAW_MAX ? old.nraw : 0;
		memcpy(d.raw, old.raw, sizeof(d.raw));
	}
	fb_table_util_normalize(&d.value, v);
	d.quality = (uint8_t)q;
	d.read_ts_ms = now_ms;
	changed = old.quality != d.quality || !fb_value_equal(&old.value, &d.value);
	d.change_ts_ms = changed ? now_ms : old.change_ts_ms;
	point_store(&t->points[index], &d);
	if (changed)
		journal_append(t, index);
}

void fb_table_point_touch(struct fb_table *t, uint32_t index)
{
	if (index < t->npoints)
		journal_append(t, index);
}

void fb_table_device_set_online(struct fb_table *t, uint32_t device_index, bool online)
{
	_Atomic uint32_t *w;

	if (device_index >= t->ndevices)
		return;
	w = &t->devices[device_index].online;
	if (atomic_load_explicit(w, memory_order_relaxed) == (uint32_t)online)
		return;
	atomic_store_explicit(w, online, memory_order_release);
	journal_append(t, device_index | FB_SHM_JOURNAL_DEVICE);
}

void fb_table_notify(struct fb_table *t)
{
	if (!t->pending)
		return;
	t->pending = 0;
	/* Pairs with fb_table_attach's waiters++ (both seq_cst): a reader
	 * counted after our load finds this change in its first scan. */
	atomic_fetch_add(&t->hdr->notify, 1);
	if (atomic_load(&t->hdr->waiters) > 0)
		fb_table_wake_readers(t->fd);
}

void fb_table_heartbeat(struct fb_table *t, int64_t mono_ms)
{
	if (damaged(t, mono_ms))
		rebuild(t);
	/* 0 means "no heartbeat yet" to readers. */
	atomic_store_explicit(&t->hdr->heartbeat_ms, mono_ms > 0 ? mono_ms : 1,
			      memory_order_relaxed);
}

bool fb_table_superseded(const struct fb_table *t)
{
	struct stat st;

	if (!atomic_load(&t->hdr->superseded))
		return false;
	/* The flag is writable by every reader: believe it only if the name
	 * no longer leads to our table. */
	return fstatat(t->dirfd, t->base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	       st.st_dev != t->dev || st.st_ino != t->ino;
}

int fb_table_command_fd(struct fb_table *t)
{
	return t->cmd_bridge.efd;
}

void fb_table_command_fd_drain(struct fb_table *t)
{
	fb_futex_bridge_drain(&t->cmd_bridge);
}

void fb_table_test_crash(struct fb_table *t)
{
	fb_futex_bridge_stop(&t->cmd_bridge);
	unmap(t->base_map, t->size, t->fd);
	close(t->dirfd);
	close(t->lockfd);
	free(t->ddesc);
	free(t->pdesc);
	free(t);
}

void fb_table_test_point_begin(struct fb_table *t, uint32_t index)
{
	struct fb_shm_point *p = &t->points[index];
	uint32_t s = atomic_load_explicit(&p->seq, memory_order_relaxed);

	atomic_store_explicit(&p->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&p->data[0], 0x5a5a5a5a5a5a5a5aull, memory_order_relaxed);
}
