/* SPDX-License-Identifier: Apache-2.0 */
/* The truncation guard: a process that can write a table file can also
 * ftruncate it, and every later access to a mapped page past the new end
 * raises SIGBUS, which would kill the driver and every reader.  Sealing
 * (memfd F_SEAL_SHRINK) needs the segment handed over by fd; tables are
 * files found by name, so instead a SIGBUS inside a registered mapping is
 * absorbed: the faulting page is replaced by a private zero page and the
 * access is retried.  Zeros read as "never read" points and an empty
 * journal, so a truncated table degrades to unknown values; the owner sees
 * fb_table_guard_hit() and lets the table go (readers re-attach, the
 * driver rebuilds it).
 *
 * This is the one piece of process-wide state in src/table: a signal
 * handler can reach nothing else.  The slots are written by the threads
 * that map and unmap tables and read by the handler, all with atomics. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "table-internal.h"

/* Tables mapped at once per process: a driver has one, an exporter one per
 * bus plus a short-lived probe. */
#define GUARD_SLOTS 256

struct guard_slot {
	_Atomic uintptr_t base; /* 0 = free */
	_Atomic uintptr_t size;
	_Atomic uint32_t hit;
};

static struct guard_slot slots[GUARD_SLOTS];
static _Atomic int installed;     /* 0 no, 1 installing, 2 yes */
static uintptr_t page_size;
static struct sigaction previous;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	for (size_t i = 0; i < GUARD_SLOTS; i++) {
		uintptr_t b = atomic_load(&slots[i].base), s = atomic_load(&slots[i].size);
		void *page;

		if (!b || a - b >= s)
			continue;
		/* mmap is a plain system call: safe in a signal handler. */
		page = mmap((void *)(a & ~(page_size - 1)), page_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (page == MAP_FAILED)
			break;
		atomic_store(&slots[i].hit, 1);
		return;
	}
	/* Not a table page: what would have happened without us. */
	if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
		previous.sa_sigaction(sig, si, uc);
	} else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
	} else {
		/* Returning re-runs the access, which now takes the default
		 * action: the process dies of SIGBUS as before. */
		signal(SIGBUS, SIG_DFL);
	}
}

static int install(void)
{
	struct sigaction sa;
	int expect = 0;

	if (atomic_load(&installed) == 2)
		return 0;
	if (!atomic_compare_exchange_strong(&installed, &expect, 1)) {
		while (atomic_load(&installed) != 2)
			sched_yield();
		return 0;
	}
	page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous) < 0) {
		atomic_store(&installed, 0);
		return -1;
	}
	atomic_store(&installed, 2);
	return 0;
}

int fb_table_guard_add(const void *base, size_t size)
{
	if (install() < 0)
		return -1;
	for (size_t i = 0; i < GUARD_SLOTS; i++) {
		uintptr_t free_slot = 0;

		if (atomic_compare_exchange_strong(&slots[i].base, &free_slot, (uintptr_t)base)) {
			atomic_store(&slots[i].hit, 0);
			atomic_store(&slots[i].size, (uintptr_t)size);
			return 0;
		}
	}
	errno = ENOSPC;
	return -1;
}

void fb_table_guard_remove(const void *base)
{
	for (size_t i = 0; i < GUARD_SLOTS; i++)
		if (atomic_load(&slots[i].base) == (uintptr_t)base) {
			atomic_store(&slots[i].size, 0);
			atomic_store(&slots[i].base, 0);
			return;
		}
}

bool fb_table_guard_hit(const void *base)
{
	for (size_t i = 0; i < GUARD_SLOTS; i++)
		if (atomic_load(&slots[i].base) == (uintptr_t)base)
			return atomic_load(&slots[i].hit) != 0;
	return false;
}
