/* SPDX-License-Identifier: Apache-2.0 */
/* Commands: exporters push into a queue under a robust process-shared
 * mutex, the driver pops; results go back through a single-writer ring that
 * every reader walks with its own tail. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "table-internal.h"

static void terminate(char *s, size_t len)
{
	s[len - 1] = '\0';
}

/* The queue is shared with other processes: repair what a dead holder may
 * have left.  head/tail are single aligned stores, so they are never half
 * written, but check the invariant anyway rather than trust it. */
static void cmdq_repair(struct fb_shm_cmdq *q)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);

	if (tail - head > FB_SHM_CMDQ_SIZE)
		atomic_store_explicit(&q->head, tail, memory_order_relaxed);
}

/* Locks the command queue, recovering it if a holder died (EOWNERDEAD).
 * A holder that neither finishes nor dies (hung, or a forged owner word:
 * the robust list cannot release a thread that never existed) would block
 * us forever, so the wait is bounded.  Returns 0 or -1 with errno
 * (ETIMEDOUT, ENOTRECOVERABLE, ...). */
static int cmdq_lock(struct fb_shm_cmdq *q)
{
	struct timespec until;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)FB_TABLE_LOCK_TIMEOUT_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	err = pthread_mutex_clocklock(&q->lock.m, CLOCK_MONOTONIC, &until);

	if (err == EOWNERDEAD) {
		/* A producer died holding the lock.  It had not advanced the
		 * tail past a partial slot (the tail moves last), so the
		 * queue is consistent once checked. */
		cmdq_repair(q);
		err = pthread_mutex_consistent(&q->lock.m);
	}
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static void cmdq_unlock(struct fb_shm_cmdq *q)
{
	pthread_mutex_unlock(&q->lock.m);
}

int fb_table_command_push(struct fb_table_reader *r, struct fb_command *cmd)
{
	struct fb_shm_cmdq *q = r->cmdq;
	struct fb_command c;
	uint64_t head, tail;

	if (!cmd || (cmd->point_index >= r->npoints &&
		     cmd->point_index != FB_COMMAND_BUS_SCAN)) {
		errno = EINVAL;
		return -1;
	}
	c = *cmd;
	fb_table_util_normalize(&c.value, &cmd->value);
	terminate(c.event_id, sizeof(c.event_id));
	terminate(c.origin, sizeof(c.origin));
	if (cmdq_lock(q) < 0)
		return -1;
	head = atomic_load_explicit(&q->head, memory_order_relaxed);
	tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	if (tail - head >= FB_SHM_CMDQ_SIZE) {
		cmdq_unlock(q);
		errno = EAGAIN;
		return -1;
	}
	c.ticket = q->next_ticket++;
	q->slots[tail % FB_SHM_CMDQ_SIZE] = c;
	/* Publish only the complete slot: if we die before this store the
	 * slot is simply reused by the next producer. */
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	cmdq_unlock(q);
	cmd->ticket = c.ticket;
	fb_futex_signal(&r->hdr->cmd_notify, &r->hdr->cmd_waiters);
	return 0;
}

int fb_table_command_pop(struct fb_table *t, struct fb_command *out)
{
	struct fb_shm_cmdq *q = t->cmdq;
	uint64_t head, tail;

	if (cmdq_lock(q) < 0) {
		if (errno == ETIMEDOUT)
			t->lock_timeouts++;
		return -1;
	}
	head = atomic_load_explicit(&q->head, memory_order_relaxed);
	tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	if (head == tail) {
		cmdq_unlock(q);
		return 0;
	}
	*out = q->slots[head % FB_SHM_CMDQ_SIZE];
	atomic_store_explicit(&q->head, head + 1, memory_order_relaxed);
	cmdq_unlock(q);
	/* Producers are other processes: never hand the driver an
	 * unterminated string or an unknown kind. */
	fb_table_util_normalize(&out->value, &out->value);
	terminate(out->event_id, sizeof(out->event_id));
	terminate(out->origin, sizeof(out->origin));
	return 1;
}

unsigned fb_table_command_lock_timeouts(struct fb_table *t, int64_t mono_ms)
{
	unsigned n = t->lock_timeouts;

	if (!n || (t->lock_reported_ms && mono_ms - t->lock_reported_ms < 10000))
		return 0;
	t->lock_timeouts = 0;
	t->lock_reported_ms = mono_ms;
	return n;
}

void fb_table_command_result(struct fb_table *t, const struct fb_command_result *res)
{
	struct fb_shm_results *rr = t->results;
	uint64_t h = atomic_load_explicit(&rr->head, memory_order_relaxed);
	struct fb_shm_result *slot = &rr->slots[h % FB_SHM_RESULTS_SIZE];
	struct fb_command_result c;

	memset(&c, 0, sizeof(c));
	c.ticket = res->ticket;
	c.point_index = res->point_index;
	c.status = res->status;
	memcpy(c.event_id, res->event_id, strnlen(res->event_id, sizeof(c.event_id) - 1));
	memcpy(c.origin, res->origin, strnlen(res->origin, sizeof(c.origin) - 1));
	memcpy(c.reason, res->reason, strnlen(res->reason, sizeof(c.reason) - 1));

	atomic_store_explicit(&slot->seq, 2 * h + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	fb_shm_words_store(slot->data, &c, FB_SHM_RESULT_WORDS);
	atomic_store_explicit(&slot->seq, 2 * h + 2, memory_order_release);
	atomic_store_explicit(&rr->head, h + 1, memory_order_release);
	/* Nothing journaled, but readers must wake at the next notify. */
	t->pending = 1;
}

/* Copies result i if its slot still holds it, complete. */
static bool result_try_read(const struct fb_shm_results *rr, uint64_t i,
			    struct fb_command_result *out)
{
	const struct fb_shm_result *slot = &rr->slots[i % FB_SHM_RESULTS_SIZE];
	uint64_t want = 2 * i + 2, s0, s1;

	s0 = atomic_load_explicit(&slot->seq, memory_order_acquire);
	if (s0 != want)
		return false;
	fb_shm_words_load(out, slot->data, FB_SHM_RESULT_WORDS);
	atomic_thread_fence(memory_order_acquire);
	s1 = atomic_load_explicit(&slot->seq, memory_order_relaxed);
	return s1 == want;
}

size_t fb_table_reader_results(struct fb_table_reader *r, const char *origin,
			       fb_table_result_cb cb, void *ctx)
{
	uint64_t head = atomic_load_explicit(&r->results->head, memory_order_acquire);
	size_t n = 0;

	/* Fell behind by more than the ring: the oldest results are lost
	 * (unlike the journal there is nothing to rescan). */
	if (head - r->results_tail > FB_SHM_RESULTS_SIZE)
		r->results_tail = head - FB_SHM_RESULTS_SIZE;
	for (uint64_t i = r->results_tail; i != head; i++) {
		struct fb_command_result res;

		/* A slot failing the check was overwritten by a newer
		 * result meanwhile: skip it, it is lost too. */
		if (!result_try_read(r->results, i, &res))
			continue;
		terminate(res.event_id, sizeof(res.event_id));
		terminate(res.origin, sizeof(res.origin));
		terminate(res.reason, sizeof(res.reason));
		if (origin && strcmp(origin, res.origin) != 0)
			continue;
		if (cb)
			cb(ctx, &res);
		n++;
	}
	r->results_tail = head;
	return n;
}

int fb_table_test_queue_lock(struct fb_table_reader *r)
{
	return cmdq_lock(r->cmdq);
}

int fb_table_test_push_partial(struct fb_table_reader *r, const struct fb_command *cmd,
			       size_t nbytes)
{
	struct fb_shm_cmdq *q = r->cmdq;
	uint64_t tail;

	if (cmdq_lock(q) < 0)
		return -1;
	tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	if (nbytes > sizeof(*cmd))
		nbytes = sizeof(*cmd);
	memcpy(&q->slots[tail % FB_SHM_CMDQ_SIZE], cmd, nbytes);
	return 0;
}
