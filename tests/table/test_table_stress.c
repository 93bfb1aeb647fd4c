/* SPDX-License-Identifier: Apache-2.0 */
/* Multi-process stress of the seqlocks, the journal and the results ring.
 *
 * The parent is the driver: it writes at full speed, every value carrying an
 * invariant (a string whose two copies of a counter and a checksum must
 * agree, or an int equal to both timestamps) and publishes results whose
 * reason encodes their ticket.  Forked readers check the invariant on every
 * read, both by direct reads and through the journal, and that a point never
 * goes back in time.  Any violation is a torn read.
 *
 * A reader gives a point up as stale when the writer sat inside that point's
 * write for READ_GIVE_UP_MS (table_reader.c), and for GIVE_UP_BURST_MS after
 * that it does not wait again.  On a loaded machine the writer is preempted
 * mid-write, so such stale reads are correct; a stale read is only excused
 * when it is explained that way: the read itself waited the full give-up
 * time, or it came inside the burst window after an excused one (each one
 * restarts it, as in the reader), or the writer has completed no write since.
 * Any other stale read fails.  Excused ones must stay below 1/128 of the
 * reads: a stalled writer holds one point of 64, and only while it is
 * stalled, while a point left odd for good would give 1/64.
 *
 * FB_STRESS_READS overrides the total number of reads (default 10,000,000).
 * Past STOP_MS the readers stop early (a loaded CI machine); they must still
 * have done MIN_READS each. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "table.h"
#include "testlib.h"
#include "table_testdir.h"

#define NREADERS 2
#define NPOINTS 64
#define STOP_MS 90000
#define DEADLINE_MS 150000
#define MIN_READS 200000ull
/* table_reader.c's READ_GIVE_UP_MS and GIVE_UP_BURST_MS, with margins for
 * rounding and for the reader being preempted itself. */
#define WAITED_NS (19 * 1000000ll)
#define BURST_NS (1100 * 1000000ll)

struct ctl {
	_Atomic int done;
	_Atomic int stop;
	_Atomic uint64_t progress;	/* writes the writer completed */
	_Atomic uint64_t reads[NREADERS];
	_Atomic uint64_t journal_reads[NREADERS];
	_Atomic uint64_t sleeps[NREADERS];
	_Atomic uint64_t torn[NREADERS];
	_Atomic uint64_t stale[NREADERS];
	_Atomic uint64_t excused[NREADERS];
	_Atomic uint64_t results[NREADERS];
	_Atomic uint64_t bad_results[NREADERS];
	_Atomic uint64_t full_scans[NREADERS];
};

static uint16_t checksum(uint64_t c)
{
	return (uint16_t)((c * 0x9E3779B97F4A7C15ull) >> 48);
}

static void put_u20(char *p, uint64_t v)
{
	for (int i = 19; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

static bool get_u20(const char *p, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 20; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		*v = *v * 10 + (uint64_t)(p[i] - '0');
	}
	return true;
}

/* "<20 digits>/<20 digits>/<4 hex>": 46 chars, nearly all of the 47
 * available, so a tear between any two words shows. */
static void encode(char *s, uint64_t c)
{
	static const char hex[] = "0123456789abcdef";
	uint16_t k = checksum(c);

	put_u20(s, c);
	s[20] = '/';
	put_u20(s + 21, c);
	s[41] = '/';
	for (int i = 0; i < 4; i++)
		s[42 + i] = hex[(k >> (12 - 4 * i)) & 15];
	s[46] = '\0';
}

static bool decode(const char *s, uint64_t *c)
{
	uint64_t a, b;
	unsigned k = 0;

	if (!get_u20(s, &a) || s[20] != '/' || !get_u20(s + 21, &b) || s[41] != '/' ||
	    s[46] != '\0' || a != b)
		return false;
	for (int i = 0; i < 4; i++) {
		char h = s[42 + i];
		k = k * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h - '0');
	}
	*c = a;
	return k == checksum(a);
}

struct reader_state {
	struct fb_table_reader *r;
	struct ctl *ctl;
	int id;
	uint64_t last[NPOINTS];
	uint64_t reads, journal_reads, torn, stale, excused;
	int64_t giveup_ns;		/* when a read last waited the full give-up */
	uint64_t giveup_progress;	/* the writer's progress then */
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* A stale read is correct only while the writer is stalled (see the top).
 * Like the reader's own burst window, every give-up restarts it. */
static bool stale_explained(struct reader_state *st, int64_t t0, int64_t t1)
{
	uint64_t progress = atomic_load_explicit(&st->ctl->progress, memory_order_relaxed);
	bool ok = t1 - t0 >= WAITED_NS ||
		  (st->giveup_ns && (t1 - st->giveup_ns <= BURST_NS ||
				     progress == st->giveup_progress));

	if (ok) {
		st->giveup_ns = t1;
		st->giveup_progress = progress;
	}
	return ok;
}

static void check_point(struct reader_state *st, uint32_t p)
{
	struct fb_point_snapshot s;
	uint64_t c = 0;
	bool ok;
	int64_t t0 = mono_ns();

	fb_table_reader_read(st->r, p, &s);
	st->reads++;
	if (s.quality == FB_QUALITY_STALE) {
		if (stale_explained(st, t0, mono_ns())) {
			st->excused++;
		} else {
			if (st->stale < 5)
				fprintf(stderr, "reader %d: unexplained stale read of point %u\n",
					st->id, p);
			st->stale++;
		}
		return;
	}
	if (p % 2 == 0)
		ok = s.value.kind == FB_VALUE_STRING && decode(s.value.s, &c);
	else
		ok = s.value.kind == FB_VALUE_INT && (c = (uint64_t)s.value.i, true);
	ok = ok && s.quality == FB_QUALITY_OK && s.read_ts_ms == (int64_t)c &&
	     s.change_ts_ms == (int64_t)c && c % NPOINTS == p && c >= st->last[p];
	if (!ok) {
		if (st->torn < 5)
			fprintf(stderr, "reader %d: torn read of point %u: kind %u q %u "
				"read_ts %" PRId64 " change_ts %" PRId64 " last %" PRIu64 "\n",
				st->id, p, s.value.kind, s.quality, s.read_ts_ms,
				s.change_ts_ms, st->last[p]);
		st->torn++;
		return;
	}
	st->last[p] = c;
}

static void on_change(void *ctx, uint32_t p)
{
	struct reader_state *st = ctx;

	st->journal_reads++;
	check_point(st, p);
}

struct result_state {
	uint64_t last_ticket;
	uint64_t n, bad;
};

static void on_result(void *ctx, const struct fb_command_result *res)
{
	struct result_state *rs = ctx;
	char want[FB_TABLE_REASON_MAX];

	snprintf(want, sizeof(want), "ticket %" PRIu64 " of point %u, padded to be long......",
		 res->ticket, res->point_index);
	if (strcmp(want, res->reason) != 0 || res->ticket <= rs->last_ticket ||
	    res->point_index != res->ticket % NPOINTS || res->status != FB_COMMAND_DONE)
		rs->bad++;
	rs->last_ticket = res->ticket;
	rs->n++;
}

static int reader_main(const char *instance, struct ctl *ctl, int id, int go_fd, uint64_t quota)
{
	struct reader_state st = { .ctl = ctl, .id = id };
	struct result_state rs = { 0 };
	char b;
	uint32_t p = (uint32_t)id * 7;
	uint64_t batches = 0;

	if (read(go_fd, &b, 1) != 1)
		return 2;
	st.r = fb_table_attach(instance);
	if (!st.r) {
		perror("fb_table_attach");
		return 2;
	}
	while (st.reads < quota && !atomic_load(&ctl->stop)) {
		struct pollfd pfd = { .fd = fb_table_reader_fd(st.r), .events = POLLIN };
		/* Mostly direct reads; every 64th batch sleep until the driver
		 * notifies, so the futex path is exercised under load too. */
		int timeout = (++batches % 64) == 0 ? 5000 : 0;

		for (int i = 0; i < 2048; i++) {
			check_point(&st, p);
			p = (p + 1) % NPOINTS;
		}
		if (timeout)
			atomic_fetch_add(&ctl->sleeps[id], 1);
		if (poll(&pfd, 1, timeout) == 1) {
			size_t n = fb_table_reader_changes(st.r, on_change, NULL, &st);

			if (n == NPOINTS)
				atomic_fetch_add(&ctl->full_scans[id], 1);
			fb_table_reader_results(st.r, "stress", on_result, &rs);
		}
	}
	atomic_store(&ctl->reads[id], st.reads);
	atomic_store(&ctl->journal_reads[id], st.journal_reads);
	atomic_store(&ctl->torn[id], st.torn);
	atomic_store(&ctl->stale[id], st.stale);
	atomic_store(&ctl->excused[id], st.excused);
	atomic_store(&ctl->results[id], rs.n);
	atomic_store(&ctl->bad_results[id], rs.bad);
	fb_table_detach(st.r);
	atomic_fetch_add(&ctl->done, 1);
	return 0;
}

static void write_point(struct fb_table *t, struct ctl *ctl, uint64_t c)
{
	struct fb_value v;
	uint32_t p = (uint32_t)(c % NPOINTS);

	if (p % 2 == 0) {
		v.kind = FB_VALUE_STRING;
		encode(v.s, c);
	} else {
		v.kind = FB_VALUE_INT;
		v.i = (int64_t)c;
	}
	fb_table_point_write(t, p, &v, FB_QUALITY_OK, (int64_t)c);
	atomic_store_explicit(&ctl->progress, c, memory_order_relaxed);
}

int main(void)
{
	struct fb_point_desc pts[NPOINTS];
	struct fb_device_desc dev = { .device = "stress" };
	struct fb_table *t;
	struct ctl *ctl;
	char instance[256];
	const char *env = getenv("FB_STRESS_READS");
	uint64_t total = env ? strtoull(env, NULL, 10) : 10000000ull;
	uint64_t c = NPOINTS, writes = 0, sum_reads = 0, sum_torn = 0, sum_stale = 0;
	uint64_t sum_bad_results = 0, sum_excused = 0;
	bool stopped = false;
	pid_t pids[NREADERS];
	int go[2], status, failed = 0;
	int64_t start, elapsed;

	snprintf(instance, sizeof(instance), "%s/test-stress-%d", fbt_dir(), (int)getpid());
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ctl != MAP_FAILED);
	CHECK(pipe(go) == 0);
	if (ctl == MAP_FAILED)
		return fb_test_finish();
	memset(ctl, 0, sizeof(*ctl));
	/* Fork before the table exists so no thread is running at fork. */
	for (int i = 0; i < NREADERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(go[1]);
			_exit(reader_main(instance, ctl, i, go[0], total / NREADERS));
		}
	}
	close(go[0]);
	memset(pts, 0, sizeof(pts));
	for (int i = 0; i < NPOINTS; i++) {
		snprintf(pts[i].device, sizeof(pts[i].device), "stress");
		snprintf(pts[i].point, sizeof(pts[i].point), "p%d", i);
		pts[i].kind = i % 2 == 0 ? FB_VALUE_STRING : FB_VALUE_INT;
	}
	t = fb_table_create(instance, &dev, 1, pts, NPOINTS);
	CHECK(t != NULL);
	if (!t) {
		for (int i = 0; i < NREADERS; i++)
			kill(pids[i], SIGKILL);
		return fb_test_finish();
	}
	for (; c < 2 * NPOINTS; c++)
		write_point(t, ctl, c);
	fb_table_device_set_online(t, 0, true);
	for (int i = 0; i < NREADERS; i++)
		CHECK(write(go[1], "g", 1) == 1);
	start = fb_mono_ms();
	while (atomic_load(&ctl->done) < NREADERS) {
		write_point(t, ctl, c++);
		writes++;
		if ((writes & 31) == 0) {
			if ((writes & 1023) == 0) {
				struct fb_command_result res = { .status = FB_COMMAND_DONE };

				res.ticket = writes;
				res.point_index = (uint32_t)(writes % NPOINTS);
				snprintf(res.origin, sizeof(res.origin), "stress");
				snprintf(res.reason, sizeof(res.reason),
					 "ticket %" PRIu64 " of point %u, padded to be long......",
					 res.ticket, res.point_index);
				fb_table_command_result(t, &res);
				fb_table_heartbeat(t, fb_mono_ms());
			}
			fb_table_notify(t);
			if (!stopped && (writes & 4095) == 0 && fb_mono_ms() - start > STOP_MS) {
				fprintf(stderr, "%d s passed, stopping the readers early\n",
					STOP_MS / 1000);
				atomic_store(&ctl->stop, 1);
				stopped = true;
			}
			if ((writes & 4095) == 0 && fb_mono_ms() - start > DEADLINE_MS) {
				fprintf(stderr, "deadline reached, stopping readers\n");
				failed = 1;
				break;
			}
		}
	}
	elapsed = fb_mono_ms() - start;
	for (int i = 0; i < NREADERS; i++) {
		if (failed)
			kill(pids[i], SIGKILL);
		CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		printf("reader %d: %" PRIu64 " reads (%" PRIu64 " via journal, %" PRIu64
		       " full scans, %" PRIu64 " sleeps), %" PRIu64 " torn, %" PRIu64 " stale (%"
		       PRIu64 " more while the writer was stalled), %" PRIu64 " results (%"
		       PRIu64 " bad)\n", i,
		       atomic_load(&ctl->reads[i]), atomic_load(&ctl->journal_reads[i]),
		       atomic_load(&ctl->full_scans[i]), atomic_load(&ctl->sleeps[i]),
		       atomic_load(&ctl->torn[i]), atomic_load(&ctl->stale[i]),
		       atomic_load(&ctl->excused[i]), atomic_load(&ctl->results[i]),
		       atomic_load(&ctl->bad_results[i]));
		sum_reads += atomic_load(&ctl->reads[i]);
		sum_torn += atomic_load(&ctl->torn[i]);
		sum_stale += atomic_load(&ctl->stale[i]);
		sum_excused += atomic_load(&ctl->excused[i]);
		CHECK(atomic_load(&ctl->reads[i]) >= (stopped ? MIN_READS : total / NREADERS));
		sum_bad_results += atomic_load(&ctl->bad_results[i]);
		CHECK(atomic_load(&ctl->journal_reads[i]) > 0);
		CHECK(atomic_load(&ctl->results[i]) > 0);
	}
	printf("writer: %" PRIu64 " writes; total %" PRIu64 " reads, %" PRIu64 " torn, %"
	       PRIu64 " stale in %" PRId64 " ms\n", writes, sum_reads, sum_torn, sum_stale,
	       elapsed);
	CHECK(!failed);
	CHECK(sum_reads >= (stopped ? NREADERS * MIN_READS : total));
	CHECK_EQ_INT(sum_torn, 0);
	CHECK_EQ_INT(sum_stale, 0);
	CHECK(sum_excused * 128 <= sum_reads);
	CHECK_EQ_INT(sum_bad_results, 0);
	fb_table_destroy(t);
	munmap(ctl, sizeof(*ctl));
	return fb_test_finish();
}
