/* SPDX-License-Identifier: Apache-2.0 */
/* Turns a futex word in the shared segment into a pollable eventfd: how
 * the driver learns of queued commands (cmd_notify).
 *
 * Why a thread and an eventfd: every daemon has exactly one poll() loop
 * (STYLE.md section 5) and a futex cannot sit in a poll set.  A producer
 * (exporter, web, fieldbridgectl) bumps the word and issues FUTEX_WAKE
 * only when the driver's thread sleeps (fb_futex_signal), and never
 * learns more of the driver than the table.  Table changes take the other
 * direction through table_watch.c: the driver touches the file and its
 * readers' inotify watches wake, one wake-up instead of this thread's two
 * (the driver cannot do the same for commands: touching the file for its
 * readers would wake itself).  Eventfd counters merge, which coalesces a
 * burst of commands into one readable event. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "table-internal.h"

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *timeout)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, timeout, NULL, 0);
}

void fb_futex_wake_all(_Atomic uint32_t *word)
{
	/* Shared (not FUTEX_PRIVATE): the sleepers are in other processes. */
	futex(word, FUTEX_WAKE, INT_MAX, NULL);
}

void fb_futex_signal(_Atomic uint32_t *word, _Atomic uint32_t *waiters)
{
	/* Pairs with the bridge thread's waiters++ then load(word): both are
	 * seq_cst, so either the thread sees the new word and does not sleep,
	 * or we see waiters > 0 and wake it.  FUTEX_WAIT re-checks the word in
	 * the kernel, closing the gap between its load and its sleep. */
	atomic_fetch_add(word, 1);
	if (atomic_load(waiters) > 0)
		fb_futex_wake_all(word);
}

/* A bounded sleep: if the table file is truncated under a sleeping
 * thread, a wake-up on the (now private) page no longer reaches it, and
 * fb_futex_bridge_stop still needs it to notice `stop`.  Only where the
 * kernel has no futex_waitv (before 5.16): with it, the thread sleeps on
 * the shared word and on `stop` (a private word stop_thread wakes), with
 * no timeout, so an idle reader has no wake-up of its own. */
#define BRIDGE_SLEEP_S 2

/* Sleeps until the shared word is no longer `seen` or `stop` is woken.
 * -1 with ENOSYS where the kernel lacks futex_waitv. */
static long wait_word_or_stop(struct fb_futex_bridge *b, uint32_t seen)
{
#ifdef SYS_futex_waitv
	struct futex_waitv w[2] = {
		{ .val = seen, .uaddr = (uint64_t)(uintptr_t)b->word, .flags = FUTEX_32 },
		{ .val = 0, .uaddr = (uint64_t)(uintptr_t)&b->stop,
		  .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG },
	};

	return syscall(SYS_futex_waitv, w, 2, 0, NULL, 0);
#else
	(void)b;
	(void)seen;
	errno = ENOSYS;
	return -1;
#endif
}

static void *bridge_main(void *arg)
{
	struct fb_futex_bridge *b = arg;
	uint32_t seen = b->start_value;
	uint64_t one = 1;
	sigset_t bus;
	bool waitv = true;

	/* A blocked SIGBUS on a fault kills the process: let the truncation
	 * guard (table_guard.c) handle it in this thread too. */
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
	while (!atomic_load(&b->stop)) {
		struct timespec sleep = { BRIDGE_SLEEP_S, 0 };
		uint32_t cur;

		atomic_fetch_add(b->waiters, 1);
		cur = atomic_load(b->word);
		if (cur == seen && !atomic_load(&b->stop)) {
			long rc = waitv ? wait_word_or_stop(b, seen) : -1;

			/* ENOSYS (old kernel), EFAULT (a truncated table):
			 * the bounded sleep from now on. */
			if (rc < 0 && waitv && errno != EAGAIN && errno != EINTR)
				waitv = false;
			if (!waitv)
				futex(b->word, FUTEX_WAIT, seen, &sleep);
		}
		atomic_fetch_sub(b->waiters, 1);
		cur = atomic_load(b->word);
		if (cur != seen) {
			seen = cur;
			/* Cannot block: the counter would need 2^64-2 writes. */
			if (write(b->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
				break;
		}
	}
	atomic_store(&b->exited, 1);
	futex(&b->exited, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	return NULL;
}

static int start_thread(struct fb_futex_bridge *b, _Atomic uint32_t *word,
			_Atomic uint32_t *waiters)
{
	sigset_t all, old;
	int err;

	b->word = word;
	b->waiters = waiters;
	b->running = 0;
	atomic_store(&b->stop, 0);
	atomic_store(&b->exited, 0);
	/* Sampled here, not in the thread: a change between our return and
	 * the thread's first instruction must still count. */
	b->start_value = atomic_load(word);
	/* The thread must never take a process signal: daemons block signals
	 * and read them from a signalfd, which only works if every thread
	 * blocks them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&b->thread, NULL, bridge_main, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		return -1;
	}
	b->running = 1;
	return 0;
}

static void stop_thread(struct fb_futex_bridge *b)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	if (!b->running)
		return;
	atomic_store(&b->stop, 1);
	/* The thread may check `stop` just before we set it and then
	 * sleep, missing a single wake-up; so wake it until it says it
	 * left.  Waking the shared word also wakes other readers'
	 * threads, which re-check the word and sleep again: harmless. */
	while (!atomic_load(&b->exited)) {
		futex(&b->stop, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
		fb_futex_wake_all(b->word);
		futex(&b->exited, FUTEX_WAIT_PRIVATE, 0, &tick);
	}
	pthread_join(b->thread, NULL);
	b->running = 0;
}

int fb_futex_bridge_start(struct fb_futex_bridge *b, _Atomic uint32_t *word,
			  _Atomic uint32_t *waiters)
{
	b->running = 0;
	b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->efd < 0)
		return -1;
	if (start_thread(b, word, waiters) < 0) {
		int err = errno;

		close(b->efd);
		b->efd = -1;
		errno = err;
		return -1;
	}
	return 0;
}

/* Makes the eventfd readable without a futex change. */
static void fb_futex_bridge_kick(struct fb_futex_bridge *b)
{
	uint64_t one = 1;

	if (write(b->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN only: the counter is already readable. */
	}
}

int fb_futex_bridge_move(struct fb_futex_bridge *b, _Atomic uint32_t *word,
			 _Atomic uint32_t *waiters)
{
	stop_thread(b);
	if (start_thread(b, word, waiters) < 0)
		return -1;
	fb_futex_bridge_kick(b);
	return 0;
}

void fb_futex_bridge_stop(struct fb_futex_bridge *b)
{
	stop_thread(b);
	if (b->efd >= 0) {
		close(b->efd);
		b->efd = -1;
	}
}

void fb_futex_bridge_drain(struct fb_futex_bridge *b)
{
	uint64_t n;

	while (read(b->efd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
}

