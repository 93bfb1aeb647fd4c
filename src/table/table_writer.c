/* SPDX-License-Identifier: Apache-2.0 */
/* Driver side: creating, superseding and writing the segment.  The driver
 * is the only writer of values, the journal and the results ring, so none of
 * that needs a lock; readers get consistency from the seqlocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table-internal.h"

/* Marks an older segment of our name superseded and wakes everyone sleeping
 * on it; returns its generation, or 0 if it is missing or not ours. */
static uint32_t supersede_old(const char *name)
{
	struct fb_shm_header *h;
	struct stat st;
	uint32_t gen = 0;
	int fd;

	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size >= sizeof(*h)) {
		h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (h != MAP_FAILED) {
			if (atomic_load_explicit(&h->magic, memory_order_acquire) == FB_SHM_MAGIC &&
			    h->version == FB_SHM_VERSION && h->header_size == sizeof(*h)) {
				gen = h->generation;
				atomic_store(&h->superseded, 1);
				/* Readers' fds become readable and they see
				 * the flag; the old driver's command fd too. */
				atomic_fetch_add(&h->notify, 1);
				fb_futex_wake_all(&h->notify);
				atomic_fetch_add(&h->cmd_notify, 1);
				fb_futex_wake_all(&h->cmd_notify);
			}
			munmap(h, sizeof(*h));
		}
	}
	close(fd);
	return gen;
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

static void init_segment(struct fb_table *t, const struct fb_shm_layout *l, uint32_t gen,
			 const struct fb_device_desc *devices,
			 const struct fb_point_desc *points)
{
	struct fb_shm_header *h = t->hdr;
	struct fb_shm_point_desc *pd = (void *)(t->base + l->pdesc_off);

	/* ftruncate zero-filled the segment: counters, heads and values start
	 * at 0 (FB_VALUE_NONE, FB_QUALITY_NEVER_READ, heartbeat none). */
	h->version = FB_SHM_VERSION;
	h->header_size = sizeof(*h);
	h->generation = gen;
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
		memcpy(t->devices[i].device, devices[i].device,
		       strnlen(devices[i].device, FB_TABLE_KEY_MAX - 1));
	for (uint32_t i = 0; i < t->npoints; i++) {
		memcpy(pd[i].device, points[i].device, strnlen(points[i].device, FB_TABLE_KEY_MAX - 1));
		memcpy(pd[i].point, points[i].point, strnlen(points[i].point, FB_TABLE_KEY_MAX - 1));
		pd[i].kind = points[i].kind;
	}
}

struct fb_table *fb_table_create(const char *instance,
				 const struct fb_device_desc *devices, size_t ndevices,
				 const struct fb_point_desc *points, size_t npoints)
{
	struct fb_shm_layout l;
	struct fb_table *t;
	struct stat st;
	uint32_t gen = 0;
	int fd = -1, err;

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
	t->npoints = (uint32_t)npoints;
	t->ndevices = (uint32_t)ndevices;
	if (fb_table_util_shm_name(instance, t->name, sizeof(t->name)) < 0)
		goto fail;

	/* Another driver may be replacing the name at the same moment; a few
	 * rounds settle who wins, then O_EXCL failing means misconfiguration. */
	for (int attempt = 0; attempt < 3 && fd < 0; attempt++) {
		uint32_t old = supersede_old(t->name);

		if (old > gen)
			gen = old;
		if (shm_unlink(t->name) < 0 && errno != ENOENT)
			goto fail;
		fd = shm_open(t->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
		if (fd < 0 && errno != EEXIST)
			goto fail;
	}
	if (fd < 0)
		goto fail;
	gen = gen + 1 ? gen + 1 : 1;
	/* shm_open applied our umask; the mode is part of the design. */
	if (fchmod(fd, 0660) < 0 || ftruncate(fd, (off_t)l.total_size) < 0 || fstat(fd, &st) < 0)
		goto fail_unlink;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->size = l.total_size;
	t->base = mmap(NULL, t->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t->base == MAP_FAILED) {
		t->base = NULL;
		goto fail_unlink;
	}
	close(fd);
	fd = -1;
	t->hdr = (void *)t->base;
	t->cmdq = (void *)(t->base + l.cmdq_off);
	t->journal = (void *)(t->base + l.journal_off);
	t->results = (void *)(t->base + l.results_off);
	t->devices = (void *)(t->base + l.devices_off);
	t->points = (void *)(t->base + l.points_off);
	if (init_queue_mutex(&t->cmdq->lock.m) < 0)
		goto fail_unlink;
	init_segment(t, &l, gen, devices, points);
	atomic_store_explicit(&t->hdr->magic, FB_SHM_MAGIC, memory_order_release);
	if (fb_futex_bridge_start(&t->cmd_bridge, &t->hdr->cmd_notify, &t->hdr->cmd_waiters) < 0)
		goto fail_unlink;
	return t;

fail_unlink:
	err = errno;
	shm_unlink(t->name);
	errno = err;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	if (t->base)
		munmap(t->base, t->size);
	free(t);
	errno = err;
	return NULL;
}

void fb_table_destroy(struct fb_table *t)
{
	struct stat st;
	int fd, err = errno;

	if (!t)
		return;
	fb_futex_bridge_stop(&t->cmd_bridge);
	/* Unlink only our own segment: a newer generation may already own
	 * the name.  (A replacement between this check and the unlink is
	 * not prevented; it would need two drivers racing for one bus.) */
	fd = shm_open(t->name, O_RDONLY | O_CLOEXEC, 0);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && st.st_dev == t->dev && st.st_ino == t->ino)
			shm_unlink(t->name);
		close(fd);
	}
	munmap(t->base, t->size);
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
	uint32_t s = atomic_load_explicit(&p->seq, memory_order_relaxed);

	atomic_store_explicit(&p->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	fb_shm_words_store(p->data, d, FB_SHM_POINT_WORDS);
	atomic_store_explicit(&p->seq, s + 2, memory_order_release);
}

void fb_table_point_write(struct fb_table *t, uint32_t index,
			  const struct fb_value *v, enum fb_quality q, int64_t now_ms)
{
	struct fb_shm_point_data old, d;
	bool changed;

	if (index >= t->npoints)
		return;
	/* The driver is the only writer, so its own read needs no seqlock. */
	fb_shm_words_load(&old, t->points[index].data, FB_SHM_POINT_WORDS);
	memset(&d, 0, sizeof(d));
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
	fb_futex_signal(&t->hdr->notify, &t->hdr->waiters);
}

void fb_table_heartbeat(struct fb_table *t, int64_t mono_ms)
{
	/* 0 means "no heartbeat yet" to readers. */
	atomic_store_explicit(&t->hdr->heartbeat_ms, mono_ms > 0 ? mono_ms : 1,
			      memory_order_relaxed);
}

bool fb_table_superseded(const struct fb_table *t)
{
	return atomic_load(&t->hdr->superseded) != 0;
}

int fb_table_command_fd(struct fb_table *t)
{
	return t->cmd_bridge.efd;
}

void fb_table_command_fd_drain(struct fb_table *t)
{
	fb_futex_bridge_drain(&t->cmd_bridge);
}

void fb_table_test_point_begin(struct fb_table *t, uint32_t index)
{
	struct fb_shm_point *p = &t->points[index];
	uint32_t s = atomic_load_explicit(&p->seq, memory_order_relaxed);

	atomic_store_explicit(&p->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&p->data[0], 0x5a5a5a5a5a5a5a5aull, memory_order_relaxed);
}
