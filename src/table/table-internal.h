/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/table: the shared-memory layout (an ABI between the driver
 * and exporter processes, possibly built at different times), the private
 * handle structs and the futex bridge.
 *
 * Segment layout, in order (offsets computed by fb_table_util_layout and
 * stored in the header; attach recomputes them and requires equality):
 *
 *   header        writable by everyone mapping it (futex waiter counts)
 *   command queue writable by exporters (producers) and the driver
 *   --- FB_SHM_RO_ALIGN boundary: readers mprotect the rest PROT_READ ---
 *   change journal, results ring, devices, point descriptors, points
 *                 written only by the driver
 *
 * Every field names the process that writes it.  Fields are fixed-width;
 * the only non-fixed type is the queue's pthread_mutex_t, boxed in 64 bytes
 * (both sides of the ABI are on the same host, so the same glibc). */
#ifndef FB_TABLE_INTERNAL_H
#define FB_TABLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "table.h"

#define FB_SHM_MAGIC 0x46425442u   /* "FBTB" */
#define FB_SHM_VERSION 3u          /* 2: raw words per point; 3: readers watch
				    * the file (table_watch.c), no futex */
#define FB_TABLE_PATH_MAX 256      /* "<runtime dir>/<name>", incl. NUL */
#define FB_TABLE_BASE_MAX 200      /* the <name> part, incl. NUL */

#define FB_SHM_JOURNAL_SIZE 4096u  /* entries; power of two */
#define FB_SHM_JOURNAL_DEVICE 0x80000000u /* entry flag: device index */
#define FB_SHM_CMDQ_SIZE 256u      /* command slots */
#define FB_SHM_RESULTS_SIZE 256u   /* result slots; power of two */
#define FB_SHM_POINTS_MAX (1u << 20)
#define FB_SHM_DEVICES_MAX (1u << 16)
/* Readers mprotect everything past ro_off read-only; 64 KiB covers every
 * Linux page size (4, 16 and 64 KiB). */
#define FB_SHM_RO_ALIGN 65536u

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free in shm");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free in shm");
_Static_assert(sizeof(_Atomic uint32_t) == 4, "futex words are 32 bits");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomic u64 size");

struct fb_shm_header {
	/* Written last by the creating driver (release): a reader seeing the
	 * magic sees the whole initialised segment. */
	_Atomic uint32_t magic;
	uint32_t version;           /* driver, at create */
	uint32_t header_size;       /* driver, at create: sizeof(struct fb_shm_header) */
	uint32_t generation;        /* driver, at create: previous generation + 1 */
	/* Set to 1 by the *next* driver's fb_table_create before it unlinks us. */
	_Atomic uint32_t superseded;
	int32_t driver_pid;         /* driver, at create; informational */
	uint32_t point_count;       /* driver, at create */
	uint32_t device_count;      /* driver, at create */
	/* driver: CLOCK_MONOTONIC ms of the last fb_table_heartbeat, 0 = none */
	_Atomic int64_t heartbeat_ms;
	uint64_t total_size;        /* driver, at create: bytes of the segment */
	uint64_t cmdq_off;          /* driver, at create: all offsets in bytes */
	uint64_t ro_off;            /* from the segment start */
	uint64_t journal_off;
	uint64_t results_off;
	uint64_t devices_off;
	uint64_t pdesc_off;
	uint64_t points_off;
	uint8_t pad0[24];
	/* Futex words on their own cache line: they are the hot shared state. */
	/* driver (fb_table_notify) and the next generation: bumped per wake-up */
	_Atomic uint32_t notify;
	/* readers attached and watching the file (table_watch.c): while > 0
	 * fb_table_notify touches the file.  A reader that died attached
	 * leaves it counted: one futimens a notify, until the next table. */
	_Atomic uint32_t waiters;
	/* exporters (fb_table_command_push): bumped per pushed command */
	_Atomic uint32_t cmd_notify;
	/* driver's bridge thread: asleep on `cmd_notify` */
	_Atomic uint32_t cmd_waiters;
	uint8_t pad1[48];
};
_Static_assert(offsetof(struct fb_shm_header, magic) == 0, "abi");
_Static_assert(offsetof(struct fb_shm_header, generation) == 12, "abi");
_Static_assert(offsetof(struct fb_shm_header, superseded) == 16, "abi");
_Static_assert(offsetof(struct fb_shm_header, point_count) == 24, "abi");
_Static_assert(offsetof(struct fb_shm_header, heartbeat_ms) == 32, "abi");
_Static_assert(offsetof(struct fb_shm_header, total_size) == 40, "abi");
_Static_assert(offsetof(struct fb_shm_header, points_off) == 96, "abi");
_Static_assert(offsetof(struct fb_shm_header, notify) == 128, "abi");
_Static_assert(offsetof(struct fb_shm_header, cmd_waiters) == 140, "abi");
_Static_assert(sizeof(struct fb_shm_header) == 192, "abi");

/* The value payload protected by a point's seqlock.  It is copied in and out
 * as 64-bit words with relaxed atomics, so the seqlock's racing reads are not
 * a C11 data race (Boehm, "Can seqlocks get along with programming language
 * memory models?", 2012). */
struct fb_shm_point_data {
	struct fb_value value;
	int64_t read_ts_ms;
	int64_t change_ts_ms;
	uint8_t quality;
	uint8_t nraw;              /* words in raw; 0 = none yet */
	uint8_t pad[6];
	/* The words the device last answered for this point, kept through
	 * failed reads (the last good ones), for fieldbridge-mbserver. */
	uint16_t raw[FB_TABLE_RAW_MAX];
};
_Static_assert(sizeof(struct fb_value) == 56, "abi");
_Static_assert(sizeof(struct fb_shm_point_data) == 128, "abi");
#define FB_SHM_POINT_WORDS (sizeof(struct fb_shm_point_data) / 8)

struct fb_shm_point {
	/* driver: odd while an update is in progress, +2 per update */
	_Atomic uint32_t seq;
	uint32_t pad;
	_Atomic uint64_t data[FB_SHM_POINT_WORDS]; /* driver, under seq */
};
_Static_assert(sizeof(struct fb_shm_point) == 136, "abi");

/* driver, at create; readers copy and NUL-terminate before use */
struct fb_shm_point_desc {
	char device[FB_TABLE_KEY_MAX];
	char point[FB_TABLE_KEY_MAX];
	uint8_t kind;
	uint8_t pad[7];
};
_Static_assert(sizeof(struct fb_shm_point_desc) == 72, "abi");

struct fb_shm_device {
	char device[FB_TABLE_KEY_MAX]; /* driver, at create */
	_Atomic uint32_t online;       /* driver */
	uint32_t pad;
};
_Static_assert(sizeof(struct fb_shm_device) == 40, "abi");

/* Change journal: entry i lives in entries[i % SIZE]; head counts entries
 * ever written.  Each reader keeps its own tail. */
struct fb_shm_journal {
	_Atomic uint64_t head;                         /* driver */
	uint8_t pad[56];
	_Atomic uint32_t entries[FB_SHM_JOURNAL_SIZE]; /* driver */
};
_Static_assert(offsetof(struct fb_shm_journal, entries) == 64, "abi");

#define FB_SHM_RESULT_WORDS (sizeof(struct fb_command_result) / 8)
_Static_assert(sizeof(struct fb_command_result) % 8 == 0, "abi");
_Static_assert(sizeof(struct fb_command_result) == 192, "abi");

/* One result slot.  seq == 2*i+1 while result i is being written into it,
 * 2*i+2 once complete; a reader wanting result i accepts the slot only if it
 * reads 2*i+2 before and after copying. */
struct fb_shm_result {
	_Atomic uint64_t seq;                          /* driver */
	_Atomic uint64_t data[FB_SHM_RESULT_WORDS];    /* driver, under seq */
};

struct fb_shm_results {
	_Atomic uint64_t head;                         /* driver */
	uint8_t pad[56];
	struct fb_shm_result slots[FB_SHM_RESULTS_SIZE];
};

_Static_assert(sizeof(pthread_mutex_t) <= 64, "queue mutex box too small");
_Static_assert(sizeof(struct fb_command) == 160, "abi");

/* Command queue: many producers (exporters), one consumer (driver), all
 * under a process-shared robust mutex.  Command i lives in slots[i % SIZE];
 * it is visible once tail > i, and a producer advances tail only after
 * writing the whole slot, so a producer killed mid-write publishes nothing. */
struct fb_shm_cmdq {
	union {
		pthread_mutex_t m;     /* driver inits; everyone locks */
		uint8_t raw[64];
	} lock;
	_Atomic uint64_t head;         /* driver (pop), under lock */
	_Atomic uint64_t tail;         /* exporters (push), under lock */
	uint64_t next_ticket;          /* exporters (push), under lock */
	uint8_t pad[40];
	struct fb_command slots[FB_SHM_CMDQ_SIZE]; /* exporters, under lock */
};
_Static_assert(offsetof(struct fb_shm_cmdq, head) == 64, "abi");
_Static_assert(offsetof(struct fb_shm_cmdq, slots) == 128, "abi");

struct fb_shm_layout {
	uint64_t cmdq_off, ro_off, journal_off, results_off;
	uint64_t devices_off, pdesc_off, points_off, total_size;
};

/* table_util.c: layout arithmetic shared by the writer and reader sides. */
/* Computes the canonical layout for the counts; -1/EINVAL if too large. */
int fb_table_util_layout(uint32_t npoints, uint32_t ndevices, struct fb_shm_layout *out);
/* Splits a table path (see fb_table_create) into its directory and file
 * name; a bare name is taken in FB_DEFAULT_RUNTIME_DIR.  -1/EINVAL for an
 * empty name, one starting with '.' (our temporary and hidden files), a
 * relative path with a '/', or one too long. */
int fb_table_util_path(const char *path, char dir[FB_TABLE_PATH_MAX],
		       char base[FB_TABLE_BASE_MAX]);
/* Opens the runtime directory (O_DIRECTORY, no symlink as last part) and
 * checks it: a directory no "other" user may write to, else EPERM.  *owner
 * is its owner: the uid every table in it must belong to. */
int fb_table_util_open_dir(const char *dir, uid_t *owner);
/* Checks an opened table or lock file: a regular file of `owner` with no
 * "other" permission bits; -1/EPERM otherwise (a squatter's file). */
int fb_table_util_check_file(int fd, uid_t owner, struct stat *st);
/* Copies a value so that unused bytes are zero and strings are
 * NUL-terminated; an unknown kind becomes FB_VALUE_NONE. */
void fb_table_util_normalize(struct fb_value *dst, const struct fb_value *src);

static inline void fb_shm_words_store(_Atomic uint64_t *dst, const void *src, size_t nwords)
{
	for (size_t i = 0; i < nwords; i++) {
		uint64_t w;
		__builtin_memcpy(&w, (const unsigned char *)src + 8 * i, 8);
		atomic_store_explicit(&dst[i], w, memory_order_relaxed);
	}
}

static inline void fb_shm_words_load(void *dst, const _Atomic uint64_t *src, size_t nwords)
{
	for (size_t i = 0; i < nwords; i++) {
		uint64_t w = atomic_load_explicit(&src[i], memory_order_relaxed);
		__builtin_memcpy((unsigned char *)dst + 8 * i, &w, 8);
	}
}

/* ---- a reader's wake-up (table_watch.c) ---- */

/* inotify on the table file plus an eventfd for the reader's own wake-up,
 * in one epoll set: the fd a reader's poll() sleeps on. */
struct fb_table_watch {
	int epfd, ifd, kfd;          /* owned; -1 when closed */
	bool kicked;                 /* kfd holds a count */
};

/* Watches the open table_fd (path: where /proc is not mounted). */
int fb_table_watch_open(struct fb_table_watch *w, int table_fd, const char *path);
/* Makes the watch readable without a change of the table. */
void fb_table_watch_kick(struct fb_table_watch *w);
/* Consumes every event so far: the fd sleeps until the next one. */
void fb_table_watch_drain(struct fb_table_watch *w);
int fb_table_watch_fd(const struct fb_table_watch *w);
/* Safe on a closed watch. */
void fb_table_watch_close(struct fb_table_watch *w);
/* Writer side: an event for every reader watching the file. */
void fb_table_wake_readers(int table_fd);

/* ---- futex bridge (futex_bridge.c): the driver's command queue ---- */

/* Bumps *word and wakes its sleepers, with a syscall only if *waiters > 0. */
void fb_futex_signal(_Atomic uint32_t *word, _Atomic uint32_t *waiters);
/* Unconditional FUTEX_WAKE of every sleeper on a shared futex word. */
void fb_futex_wake_all(_Atomic uint32_t *word);

/* One thread sleeping on a shared futex word and turning each change of it
 * into a write to an eventfd.  Lives inside its owner's private struct. */
struct fb_futex_bridge {
	_Atomic uint32_t *word;      /* borrowed: in the mapped segment */
	_Atomic uint32_t *waiters;   /* borrowed: in the mapped segment */
	int efd;                     /* owned; -1 when not started */
	pthread_t thread;
	_Atomic uint32_t stop;       /* set by the owner to end the thread */
	_Atomic uint32_t exited;     /* set by the thread, private futex word */
	uint32_t start_value;        /* *word when started, before the thread ran */
	int running;
};

/* Starts the thread; the eventfd is non-blocking and close-on-exec. */
int fb_futex_bridge_start(struct fb_futex_bridge *b, _Atomic uint32_t *word,
			  _Atomic uint32_t *waiters);
/* Moves the thread to another futex word, keeping the eventfd (which is
 * left readable). */
int fb_futex_bridge_move(struct fb_futex_bridge *b, _Atomic uint32_t *word,
			 _Atomic uint32_t *waiters);
/* Joins the thread and closes the eventfd.  Safe on a never-started bridge. */
void fb_futex_bridge_stop(struct fb_futex_bridge *b);
/* Empties the eventfd counter. */
void fb_futex_bridge_drain(struct fb_futex_bridge *b);

/* ---- truncation guard (table_guard.c) ---- */

/* Registers a table mapping: a SIGBUS inside it (the file was truncated)
 * maps a zero page there instead of killing the process.  -1/ENOSPC when
 * too many tables are mapped. */
int fb_table_guard_add(const void *base, size_t size);
/* Before munmap.  Unknown bases are ignored. */
void fb_table_guard_remove(const void *base);
/* True once a SIGBUS was absorbed inside the mapping at base. */
bool fb_table_guard_hit(const void *base);

/* ---- private handles ---- */

struct fb_table {
	unsigned char *base_map;      /* owned mapping of total_size bytes */
	size_t size;
	struct fb_shm_header *hdr;
	struct fb_shm_cmdq *cmdq;
	struct fb_shm_journal *journal;
	struct fb_shm_results *results;
	struct fb_shm_device *devices;
	struct fb_shm_point *points;
	uint32_t npoints, ndevices;
	dev_t dev;                    /* identity of our segment, for destroy */
	ino_t ino;
	/* something was journaled or a result published since fb_table_notify */
	int pending;
	int fd;                       /* owned: the mapped table file */
	struct fb_device_desc *ddesc; /* owned copies, to rebuild the table */
	struct fb_point_desc *pdesc;
	uint32_t generation;
	int dirfd;                    /* owned: the runtime directory */
	int lockfd;                   /* owned: holds flock on "<base>.lock" */
	char base[FB_TABLE_BASE_MAX];
	/* fb_table_command_pop's lock timeouts not yet reported, and when
	 * fb_table_command_lock_timeouts last reported some */
	unsigned lock_timeouts;
	int64_t lock_reported_ms;
	int64_t next_size_check_ms;   /* damaged(): the next fstat */
	struct fb_futex_bridge cmd_bridge;
};

struct fb_table_reader {
	unsigned char *base;          /* owned mapping of total_size bytes */
	size_t size;
	struct fb_shm_header *hdr;
	struct fb_shm_cmdq *cmdq;
	const struct fb_shm_journal *journal;
	const struct fb_shm_results *results;
	const struct fb_shm_device *devices;
	const struct fb_shm_point *points;
	/* Copied out of the segment at attach and validated; never re-read,
	 * so a misbehaving writer cannot change them under us. */
	uint32_t npoints, ndevices, generation;
	struct fb_point_desc *pdesc;  /* owned, npoints */
	struct fb_device_desc *ddesc; /* owned, ndevices */
	uint32_t *jbuf;               /* owned, FB_SHM_JOURNAL_SIZE scratch */
	/* What fb_table_reader_read gave up on; owned.  It is no part of what
	 * callers see as the const reader, hence behind a pointer. */
	struct fb_table_reader_stuck {
		/* fb_mono_ms of the last give-up: a burst of stuck points (a
		 * killed or hostile writer) waits once, not once per point */
		int64_t giveup_ms;
		/* per point, the odd seq a read gave up on (0 = none): a point
		 * still stuck there reads STALE without waiting again */
		uint32_t seq[];
	} *stuck;
	dev_t dev;                    /* identity of the mapped file */
	ino_t ino;
	uint64_t journal_tail;
	uint64_t results_tail;
	int need_full_scan;
	struct fb_table_watch watch;
	bool counted;                 /* we added ourselves to hdr->waiters */
};

/* ---- test-only hooks (tests/table), never used by daemons ---- */

/* Locks the reader's command queue and returns with it held. */
int fb_table_test_queue_lock(struct fb_table_reader *r);
/* Locks the queue and writes the first `nbytes` of *cmd into the next free
 * slot without publishing it, returning with the lock held: what a producer
 * killed mid-push leaves behind. */
int fb_table_test_push_partial(struct fb_table_reader *r, const struct fb_command *cmd,
			       size_t nbytes);
/* Releases the bus lock and forgets the table, as a driver killed with
 * SIGKILL would (the table file stays, superseded by the next create).
 * Frees t. */
void fb_table_test_crash(struct fb_table *t);
/* Starts an update of point `index` (seq goes odd) and does not finish it. */
void fb_table_test_point_begin(struct fb_table *t, uint32_t index);
/* The point's current seqlock sequence (odd = update in progress). */
uint32_t fb_table_test_point_seq(const struct fb_table_reader *r, uint32_t index);

#endif
