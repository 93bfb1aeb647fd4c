/* SPDX-License-Identifier: Apache-2.0 */
/* Reader side: attaching to a driver's segment (treated as untrusted input),
 * seqlock reads and walking the change journal. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table-internal.h"
#include "clock.h"

/* fb_table_reader_read gives up on a point whose seqlock stays odd: after
 * READ_SPINS plain retries, it yields for at most READ_GIVE_UP_MS (a live
 * writer preempted mid-update gets the CPU back).  A writer holds the lock
 * for a few dozen stores, so a point odd that long is stuck: a driver
 * killed mid-update or a hostile writer. */
#define READ_GIVE_UP_MS 20
#define READ_SPINS 256
/* Within this long after a give-up, further stuck points get only the
 * spins: a table full of them costs one wait, not one per point. */
#define GIVE_UP_BURST_MS 1000

static int validate_header(const struct fb_shm_header *h, uint64_t file_size,
			   struct fb_shm_layout *l)
{
	if (file_size < sizeof(*h) || atomic_load(&h->magic) == 0) {
		/* No table yet: a driver renames a table into place complete,
		 * so this is a file cut short, or one of an older build that
		 * was still being created. */
		errno = EAGAIN;
		return -1;
	}
	if (atomic_load(&h->magic) != FB_SHM_MAGIC || h->version != FB_SHM_VERSION ||
	    h->header_size != sizeof(*h)) {
		errno = EPROTO;
		return -1;
	}
	/* The driver computes the same layout from the counts; anything else
	 * is corruption, and checking equality covers every bound. */
	if (fb_table_util_layout(h->point_count, h->device_count, l) < 0 ||
	    h->total_size != l->total_size || l->total_size > file_size ||
	    h->cmdq_off != l->cmdq_off || h->ro_off != l->ro_off ||
	    h->journal_off != l->journal_off || h->results_off != l->results_off ||
	    h->devices_off != l->devices_off || h->pdesc_off != l->pdesc_off ||
	    h->points_off != l->points_off) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static void copy_key(char *dst, const char *src)
{
	memcpy(dst, src, FB_TABLE_KEY_MAX);
	dst[FB_TABLE_KEY_MAX - 1] = '\0';
}

/* The point descriptors are read once, into r->pdesc: the pages wholly
 * inside their range need not stay mapped (72 B a point of RSS; the file
 * keeps them, and a stray access would only fault them back in). */
static void drop_desc_pages(struct fb_table_reader *r, const struct fb_shm_layout *l)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t lo, hi;

	if (page <= 0)
		return;
	lo = (l->pdesc_off + (uint64_t)page - 1) / (uint64_t)page * (uint64_t)page;
	hi = l->points_off / (uint64_t)page * (uint64_t)page;
	if (hi > lo)
		(void)madvise(r->base + lo, hi - lo, MADV_DONTNEED);
}

static int copy_descs(struct fb_table_reader *r, const struct fb_shm_layout *l)
{
	const struct fb_shm_point_desc *pd = (const void *)(r->base + l->pdesc_off);

	r->pdesc = calloc(r->npoints ? r->npoints : 1, sizeof(*r->pdesc));
	r->ddesc = calloc(r->ndevices ? r->ndevices : 1, sizeof(*r->ddesc));
	r->jbuf = calloc(FB_SHM_JOURNAL_SIZE, sizeof(*r->jbuf));
	r->stuck = calloc(1, sizeof(*r->stuck) + (size_t)r->npoints * sizeof(r->stuck->seq[0]));
	if (!r->pdesc || !r->ddesc || !r->jbuf || !r->stuck)
		return -1;
	for (uint32_t i = 0; i < r->npoints; i++) {
		copy_key(r->pdesc[i].device, pd[i].device);
		copy_key(r->pdesc[i].point, pd[i].point);
		r->pdesc[i].kind = pd[i].kind <= FB_VALUE_STRING ? pd[i].kind : FB_VALUE_NONE;
	}
	for (uint32_t i = 0; i < r->ndevices; i++)
		copy_key(r->ddesc[i].device, r->devices[i].device);
	drop_desc_pages(r, l);
	return 0;
}

struct fb_table_reader *fb_table_attach(const char *path)
{
	char dir[FB_TABLE_PATH_MAX], base[FB_TABLE_BASE_MAX];
	struct fb_shm_header h;
	struct fb_shm_layout l;
	struct fb_table_reader *r = NULL;
	struct stat st;
	long page = sysconf(_SC_PAGESIZE);
	int dirfd, fd = -1, err;
	uid_t owner;

	if (fb_table_util_path(path, dir, base) < 0)
		return NULL;
	dirfd = fb_table_util_open_dir(dir, &owner);
	if (dirfd < 0)
		return NULL;
	/* Read-write: the header's waiter count and the command queue are
	 * ours to write; the driver-owned part is mprotected below.  No
	 * symlinks, and only a file of the directory's owner: anything else
	 * was put there by someone else. */
	fd = openat(dirfd, base, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	err = errno;
	close(dirfd);
	if (fd < 0) {
		errno = err == ELOOP ? EPERM : err;
		return NULL;
	}
	if (fb_table_util_check_file(fd, owner, &st) < 0)
		goto fail;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto fail;
	r->watch.epfd = r->watch.ifd = r->watch.kfd = -1;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	memset(&h, 0, sizeof(h));
	if ((uint64_t)st.st_size >= sizeof(h) && pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		goto fail;
	if (validate_header(&h, (uint64_t)st.st_size, &l) < 0)
		goto fail;
	r->size = l.total_size;
	r->base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		goto fail;
	}
	/* Whoever may write the file may truncate it: no SIGBUS for us. */
	if (fb_table_guard_add(r->base, r->size) < 0)
		goto fail;
	if (fb_table_watch_open(&r->watch, fd, path) < 0)
		goto fail;
	close(fd);
	fd = -1;
	if (page > 0 && l.ro_off % (uint64_t)page == 0 &&
	    mprotect(r->base + l.ro_off, r->size - l.ro_off, PROT_READ) < 0)
		goto fail;
	r->npoints = h.point_count;
	r->ndevices = h.device_count;
	r->generation = h.generation;
	r->hdr = (void *)r->base;
	r->cmdq = (void *)(r->base + l.cmdq_off);
	r->journal = (const void *)(r->base + l.journal_off);
	r->results = (const void *)(r->base + l.results_off);
	r->devices = (const void *)(r->base + l.devices_off);
	r->points = (const void *)(r->base + l.points_off);
	if (copy_descs(r, &l) < 0)
		goto fail;
	/* The first fb_table_reader_changes reports everything, so an
	 * exporter publishes the initial state from its normal path; the fd
	 * starts readable to trigger it. */
	r->need_full_scan = 1;
	r->journal_tail = atomic_load_explicit(&r->journal->head, memory_order_acquire);
	r->results_tail = atomic_load_explicit(&r->results->head, memory_order_acquire);
	/* From here on every notify touches the file; one that came before
	 * is in the full scan the kick starts. */
	atomic_fetch_add(&r->hdr->waiters, 1);
	r->counted = true;
	fb_table_watch_kick(&r->watch);
	return r;

fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	fb_table_detach(r);
	errno = err;
	return NULL;
}

/* Also frees a reader that fb_table_attach built only in part: no watch
 * yet (fds -1), no mapping yet (base NULL), descriptions not copied. */
void fb_table_detach(struct fb_table_reader *r)
{
	int err = errno;

	if (!r)
		return;
	fb_table_watch_close(&r->watch);
	if (r->base) {
		/* (a truncated table reads and writes a blank page: harmless) */
		if (r->counted)
			atomic_fetch_sub(&r->hdr->waiters, 1);
		fb_table_guard_remove(r->base);
		munmap(r->base, r->size);
	}
	free(r->pdesc);
	free(r->ddesc);
	free(r->jbuf);
	free(r->stuck);
	free(r);
	errno = err;
}

int fb_table_reader_fd(const struct fb_table_reader *r)
{
	return fb_table_watch_fd(&r->watch);
}

uint32_t fb_table_reader_generation(const struct fb_table_reader *r)
{
	return r->generation;
}

size_t fb_table_reader_point_count(const struct fb_table_reader *r)
{
	return r->npoints;
}

size_t fb_table_reader_device_count(const struct fb_table_reader *r)
{
	return r->ndevices;
}

const struct fb_point_desc *fb_table_reader_point(const struct fb_table_reader *r, uint32_t i)
{
	if (i >= r->npoints) {
		errno = EINVAL;
		return NULL;
	}
	return &r->pdesc[i];
}

const struct fb_device_desc *fb_table_reader_device(const struct fb_table_reader *r, uint32_t i)
{
	if (i >= r->ndevices) {
		errno = EINVAL;
		return NULL;
	}
	return &r->ddesc[i];
}

long fb_table_reader_find(const struct fb_table_reader *r, const char *device, const char *point)
{
	for (uint32_t i = 0; i < r->npoints; i++)
		if (!strcmp(r->pdesc[i].device, device) && !strcmp(r->pdesc[i].point, point))
			return (long)i;
	return -1;
}

long fb_table_reader_find_device(const struct fb_table_reader *r, const char *device)
{
	for (uint32_t i = 0; i < r->ndevices; i++)
		if (!strcmp(r->ddesc[i].device, device))
			return (long)i;
	return -1;
}

/* One seqlock attempt; true if the copy is consistent.  *seq is the
 * sequence seen first. */
static bool point_try_read(const struct fb_shm_point *p, struct fb_shm_point_data *d,
			   uint32_t *seq)
{
	uint32_t s0, s1;

	s0 = atomic_load_explicit(&p->seq, memory_order_acquire);
	fb_shm_words_load(d, p->data, FB_SHM_POINT_WORDS);
	atomic_thread_fence(memory_order_acquire);
	s1 = atomic_load_explicit(&p->seq, memory_order_relaxed);
	*seq = s0;
	return !(s0 & 1) && s0 == s1;
}

/* Retries until a consistent copy, within bounds (see READ_GIVE_UP_MS):
 * a reader never hangs or spins long on a point whatever the writer does.
 * A copy given up on is returned marked FB_QUALITY_STALE. */
void fb_table_reader_read(const struct fb_table_reader *r, uint32_t index,
			  struct fb_point_snapshot *out)
{
	const struct fb_shm_point *p;
	struct fb_shm_point_data d;
	uint32_t seq = 0;
	bool ok = false, wait;
	int64_t now, deadline = 0;

	memset(out, 0, sizeof(*out));
	if (index >= r->npoints)
		return;
	p = &r->points[index];
	ok = point_try_read(p, &d, &seq);
	/* Still stuck where we gave up before: no second wait. */
	if (!ok && r->stuck->seq[index] && seq == r->stuck->seq[index])
		goto stale;
	for (unsigned n = 1; !ok && n < READ_SPINS; n++)
		ok = point_try_read(p, &d, &seq);
	if (!ok) {
		now = fb_mono_ms();
		wait = !r->stuck->giveup_ms || now - r->stuck->giveup_ms > GIVE_UP_BURST_MS;
		deadline = now + READ_GIVE_UP_MS;
		while (wait && !ok) {
			/* Let a preempted writer run (we may share its core). */
			sched_yield();
			ok = point_try_read(p, &d, &seq);
			if (fb_mono_ms() > deadline)
				break;
		}
	}
	if (!ok) {
		r->stuck->giveup_ms = fb_mono_ms();
		r->stuck->seq[index] = seq | 1u;
		goto stale;
	}
	r->stuck->seq[index] = 0;
	fb_table_util_normalize(&out->value, &d.value);
	out->quality = d.quality <= FB_QUALITY_STALE ? d.quality : FB_QUALITY_STALE;
	out->read_ts_ms = d.read_ts_ms;
	out->change_ts_ms = d.change_ts_ms;
	/* Another process wrote it: a count past the array is no count. */
	out->nraw = d.nraw <= FB_TABLE_RAW_MAX ? d.nraw : 0;
	memcpy(out->raw, d.raw, out->nraw * sizeof(out->raw[0]));
	return;

stale:
	/* A possibly torn copy is worth nothing: the point is unknown. */
	out->quality = FB_QUALITY_STALE;
}

bool fb_table_reader_device_online(const struct fb_table_reader *r, uint32_t device_index)
{
	if (device_index >= r->ndevices)
		return false;
	return atomic_load_explicit(&r->devices[device_index].online, memory_order_acquire) != 0;
}

static size_t full_scan(struct fb_table_reader *r, fb_table_point_cb point_cb,
			fb_table_device_cb device_cb, void *ctx)
{
	size_t n = 0;

	if (device_cb)
		for (uint32_t i = 0; i < r->ndevices; i++, n++)
			device_cb(ctx, i);
	if (point_cb)
		for (uint32_t i = 0; i < r->npoints; i++, n++)
			point_cb(ctx, i);
	return n;
}

bool fb_table_reader_has_news(const struct fb_table_reader *r)
{
	return r->need_full_scan ||
	       atomic_load_explicit(&r->journal->head, memory_order_acquire) != r->journal_tail ||
	       atomic_load_explicit(&r->results->head, memory_order_acquire) != r->results_tail;
}

size_t fb_table_reader_changes(struct fb_table_reader *r, fb_table_point_cb point_cb,
			       fb_table_device_cb device_cb, void *ctx)
{
	uint64_t head, head2, count;
	size_t n = 0;

	/* Drain first: a notify landing after this re-arms the fd, so no
	 * change can slip between the walk and the next poll(). */
	fb_table_watch_drain(&r->watch);
	head = atomic_load_explicit(&r->journal->head, memory_order_acquire);
	count = head - r->journal_tail;
	/* count > SIZE: fell behind (or the head went backwards, which
	 * wraps to a huge count). */
	if (r->need_full_scan || count > FB_SHM_JOURNAL_SIZE)
		goto scan;
	for (uint64_t i = 0; i < count; i++)
		r->jbuf[i] = atomic_load_explicit(
			&r->journal->entries[(r->journal_tail + i) % FB_SHM_JOURNAL_SIZE],
			memory_order_relaxed);
	/* Were any of those slots overwritten while we copied?  The writer
	 * stores entry h (into the slot of entry h - SIZE) before publishing
	 * head = h + 1, so with head2 seen afterwards only entries
	 * > head2 - SIZE are certainly intact. */
	atomic_thread_fence(memory_order_acquire);
	head2 = atomic_load_explicit(&r->journal->head, memory_order_relaxed);
	if (head2 - r->journal_tail >= FB_SHM_JOURNAL_SIZE)
		goto scan;
	r->journal_tail = head;
	for (uint64_t i = 0; i < count; i++) {
		uint32_t e = r->jbuf[i];

		if (e & FB_SHM_JOURNAL_DEVICE) {
			e &= ~FB_SHM_JOURNAL_DEVICE;
			if (e < r->ndevices && device_cb) {
				device_cb(ctx, e);
				n++;
			}
		} else if (e < r->npoints && point_cb) {
			point_cb(ctx, e);
			n++;
		}
	}
	return n;

scan:
	/* Everything up to the head read now is covered by the scan, as the
	 * callbacks read current values; later entries come next time. */
	r->journal_tail = atomic_load_explicit(&r->journal->head, memory_order_acquire);
	r->need_full_scan = 0;
	return full_scan(r, point_cb, device_cb, ctx);
}

int64_t fb_table_reader_heartbeat_age_ms(const struct fb_table_reader *r, int64_t mono_ms)
{
	int64_t hb = atomic_load_explicit(&r->hdr->heartbeat_ms, memory_order_relaxed);

	if (hb == 0)
		return -1;
	/* hb is another process's word: no arithmetic on it may overflow. */
	if (hb < 0 || mono_ms < 0)
		return INT64_MAX;
	return mono_ms > hb ? mono_ms - hb : 0;
}

bool fb_table_reader_same_table(const struct fb_table_reader *a,
				const struct fb_table_reader *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

bool fb_table_reader_superseded(const struct fb_table_reader *r)
{
	/* A truncated table is as good as gone: its driver rebuilds it. */
	return atomic_load(&r->hdr->superseded) != 0 || fb_table_guard_hit(r->base);
}

uint32_t fb_table_test_point_seq(const struct fb_table_reader *r, uint32_t index)
{
	return atomic_load(&r->points[index].seq);
}
