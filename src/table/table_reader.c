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

/* fb_table_reader_read gives up on a point whose seqlock stays odd this
 * long (a driver killed mid-update leaves it odd forever).  Far above any
 * preemption of a live writer, which holds it for a few dozen stores. */
#define READ_GIVE_UP_MS 100
#define READ_SPINS 256

static int validate_header(const struct fb_shm_header *h, uint64_t file_size,
			   struct fb_shm_layout *l)
{
	if (file_size < sizeof(*h) || atomic_load(&h->magic) == 0) {
		/* Still being created (shm_open, ftruncate, magic last). */
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

static int copy_descs(struct fb_table_reader *r, const struct fb_shm_layout *l)
{
	const struct fb_shm_point_desc *pd = (const void *)(r->base + l->pdesc_off);

	r->pdesc = calloc(r->npoints ? r->npoints : 1, sizeof(*r->pdesc));
	r->ddesc = calloc(r->ndevices ? r->ndevices : 1, sizeof(*r->ddesc));
	r->jbuf = calloc(FB_SHM_JOURNAL_SIZE, sizeof(*r->jbuf));
	if (!r->pdesc || !r->ddesc || !r->jbuf)
		return -1;
	for (uint32_t i = 0; i < r->npoints; i++) {
		copy_key(r->pdesc[i].device, pd[i].device);
		copy_key(r->pdesc[i].point, pd[i].point);
		r->pdesc[i].kind = pd[i].kind <= FB_VALUE_STRING ? pd[i].kind : FB_VALUE_NONE;
	}
	for (uint32_t i = 0; i < r->ndevices; i++)
		copy_key(r->ddesc[i].device, r->devices[i].device);
	return 0;
}

struct fb_table_reader *fb_table_attach(const char *instance)
{
	char name[FB_SHM_NAME_MAX + 1];
	struct fb_shm_header h;
	struct fb_shm_layout l;
	struct fb_table_reader *r;
	struct stat st;
	long page = sysconf(_SC_PAGESIZE);
	int fd, err;

	if (fb_table_util_shm_name(instance, name, sizeof(name)) < 0)
		return NULL;
	/* Read-write: the header's waiter count and the command queue are
	 * ours to write; the driver-owned part is mprotected below. */
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto fail;
	r->bridge.efd = -1;
	if (fstat(fd, &st) < 0)
		goto fail;
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
	if (fb_futex_bridge_start(&r->bridge, &r->hdr->notify, &r->hdr->waiters) < 0)
		goto fail;
	fb_futex_bridge_kick(&r->bridge);
	return r;

fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	fb_table_detach(r);
	errno = err;
	return NULL;
}

/* Also frees a reader that fb_table_attach built only in part: no bridge
 * yet (efd -1), no mapping yet (base NULL), descriptions not copied. */
void fb_table_detach(struct fb_table_reader *r)
{
	int err = errno;

	if (!r)
		return;
	fb_futex_bridge_stop(&r->bridge);
	if (r->base)
		munmap(r->base, r->size);
	free(r->pdesc);
	free(r->ddesc);
	free(r->jbuf);
	free(r);
	errno = err;
}

int fb_table_reader_fd(const struct fb_table_reader *r)
{
	return r->bridge.efd;
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

/* One seqlock attempt; true if the copy is consistent. */
static bool point_try_read(const struct fb_shm_point *p, struct fb_shm_point_data *d)
{
	uint32_t s0, s1;

	s0 = atomic_load_explicit(&p->seq, memory_order_acquire);
	fb_shm_words_load(d, p->data, FB_SHM_POINT_WORDS);
	atomic_thread_fence(memory_order_acquire);
	s1 = atomic_load_explicit(&p->seq, memory_order_relaxed);
	return !(s0 & 1) && s0 == s1;
}

/* Retries until a consistent copy.  A live driver holds a point's seqlock
 * for a few stores, but one killed mid-update leaves it odd for good; after
 * READ_GIVE_UP_MS the last (possibly torn) copy is returned marked
 * FB_QUALITY_STALE so a reader never hangs.  The next driver generation
 * supersedes such a segment. */
void fb_table_reader_read(const struct fb_table_reader *r, uint32_t index,
			  struct fb_point_snapshot *out)
{
	struct fb_shm_point_data d;
	bool ok = false;
	int64_t deadline = 0;

	memset(out, 0, sizeof(*out));
	if (index >= r->npoints)
		return;
	for (unsigned n = 0; !ok; n++) {
		ok = point_try_read(&r->points[index], &d);
		if (ok || n < READ_SPINS)
			continue;
		/* Let a preempted writer run (we may share its core). */
		sched_yield();
		if (!deadline)
			deadline = fb_mono_ms() + READ_GIVE_UP_MS;
		else if ((n & 15) == 0 && fb_mono_ms() > deadline)
			break;
	}
	fb_table_util_normalize(&out->value, &d.value);
	out->quality = d.quality <= FB_QUALITY_STALE ? d.quality : FB_QUALITY_STALE;
	if (!ok)
		out->quality = FB_QUALITY_STALE;
	out->read_ts_ms = d.read_ts_ms;
	out->change_ts_ms = d.change_ts_ms;
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

size_t fb_table_reader_changes(struct fb_table_reader *r, fb_table_point_cb point_cb,
			       fb_table_device_cb device_cb, void *ctx)
{
	uint64_t head, head2, count;
	size_t n = 0;

	/* Drain first: a notify landing after this re-arms the fd, so no
	 * change can slip between the walk and the next poll(). */
	fb_futex_bridge_drain(&r->bridge);
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
	int64_t age;

	if (hb == 0)
		return -1;
	if (mono_ms <= hb)
		return 0;
	/* hb is the driver's word: a forged one far in the past must not
	 * overflow the subtraction. */
	return __builtin_sub_overflow(mono_ms, hb, &age) ? INT64_MAX : age;
}

bool fb_table_reader_superseded(const struct fb_table_reader *r)
{
	return atomic_load(&r->hdr->superseded) != 0;
}

uint32_t fb_table_test_point_seq(const struct fb_table_reader *r, uint32_t index)
{
	return atomic_load(&r->points[index].seq);
}
