/* SPDX-License-Identifier: Apache-2.0 */
/* fb-bench-synth: a synthetic driver for the exporter benchmarks.
 *
 * Creates the table <instance> (a path, or a name in /run/fieldbridge) with
 * devices "d00000".. and points "p0".."p<P-1>" per device (the layout
 * bench/devices/bench-point.json gives the real driver), all FB_VALUE_UINT,
 * and writes CLOCK_MONOTONIC ns as the value, so a subscriber can compute
 * table-write -> arrival latency from the message alone.
 *
 * Driven by lines on stdin (answers on stdout):
 *   rate R S   write R point updates/s for S s, notify after each write
 *   flood S [MS]  every MS ms (default 10) write every point once, then
 *              notify: 10k points offer 1M updates/s, far above what any
 *              exporter delivers, while the writer itself stays a few %
 *              of a core (a spinning writer would steal the CPU being
 *              measured on a 2-core machine)
 *   quit
 * Between commands it only writes its heartbeat, once a second. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "table.h"

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void write_point(struct fb_table *t, uint32_t i, uint64_t v)
{
	struct fb_value val;

	memset(&val, 0, sizeof(val));
	val.kind = FB_VALUE_UINT;
	val.u = v;
	fb_table_point_write(t, i, &val, FB_QUALITY_OK, fb_now_ms());
}

static uint64_t run_rate(struct fb_table *t, uint32_t npoints, double rate, double secs)
{
	int64_t start = mono_ns(), period = (int64_t)(1e9 / rate);
	int64_t end = start + (int64_t)(secs * 1e9), next = start, hb = start;
	uint64_t n = 0;
	uint32_t idx = 0;

	while (next < end) {
		struct timespec ts = { (time_t)(next / 1000000000), (long)(next % 1000000000) };
		int64_t now;

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		now = mono_ns();
		write_point(t, idx, (uint64_t)now);
		fb_table_notify(t);
		idx = (idx + 1) % npoints;
		n++;
		next += period;
		if (now - hb > 500000000) {
			fb_table_heartbeat(t, fb_mono_ms());
			hb = now;
		}
	}
	return n;
}

static uint64_t run_flood(struct fb_table *t, uint32_t npoints, double secs, double period_ms)
{
	int64_t start = mono_ns(), end = start + (int64_t)(secs * 1e9), next = start, hb = start;
	int64_t period = (int64_t)(period_ms * 1e6);
	uint64_t n = 0;

	while (next < end) {
		struct timespec ts = { (time_t)(next / 1000000000), (long)(next % 1000000000) };
		int64_t now;

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		for (uint32_t i = 0; i < npoints; i++)
			write_point(t, i, (uint64_t)mono_ns());
		n += npoints;
		fb_table_notify(t);
		now = mono_ns();
		next += period;
		if (next < now)
			next = now; /* a slow pass: no catch-up burst */
		if (now - hb > 500000000) {
			fb_table_heartbeat(t, fb_mono_ms());
			hb = now;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *instance = NULL;
	size_t ndev = 0, nper = 10;
	struct fb_device_desc *dd;
	struct fb_point_desc *pd;
	struct fb_table *t;
	char line[256];
	uint32_t npoints;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--instance"))
			instance = argv[i + 1];
		else if (!strcmp(argv[i], "--devices"))
			ndev = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--points"))
			nper = strtoul(argv[i + 1], NULL, 10);
	}
	if (!instance || !ndev || !nper || nper > 100) {
		fprintf(stderr, "usage: %s --instance GW.BUS --devices N [--points P]\n", argv[0]);
		return 2;
	}
	/* rate mode sleeps ~100 us per write at 10k/s: the default 50 us
	 * timer slack would be a large part of that. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	npoints = (uint32_t)(ndev * nper);
	dd = calloc(ndev, sizeof(*dd));
	pd = calloc(npoints, sizeof(*pd));
	if (!dd || !pd)
		return 1;
	for (size_t d = 0; d < ndev; d++) {
		snprintf(dd[d].device, sizeof(dd[d].device), "d%05zu", d);
		for (size_t p = 0; p < nper; p++) {
			struct fb_point_desc *x = &pd[d * nper + p];

			snprintf(x->device, sizeof(x->device), "d%05zu", d);
			snprintf(x->point, sizeof(x->point), "p%zu", p);
			x->kind = FB_VALUE_UINT;
		}
	}
	t = fb_table_create(instance, dd, ndev, pd, npoints);
	if (!t) {
		fprintf(stderr, "fb_table_create %s: %s\n", instance, strerror(errno));
		return 1;
	}
	for (uint32_t i = 0; i < npoints; i++)
		write_point(t, i, 0);
	for (uint32_t d = 0; d < ndev; d++)
		fb_table_device_set_online(t, d, true);
	fb_table_heartbeat(t, fb_mono_ms());
	fb_table_notify(t);
	printf("ready %u\n", npoints);
	fflush(stdout);

	for (;;) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		double a = 0, b = 0;
		uint64_t n;

		fb_table_heartbeat(t, fb_mono_ms());
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if (!fgets(line, sizeof(line), stdin) || !strncmp(line, "quit", 4))
			break;
		if (sscanf(line, "rate %lf %lf", &a, &b) == 2 && a > 0)
			n = run_rate(t, npoints, a, b);
		else if (sscanf(line, "flood %lf %lf", &a, &b) >= 1)
			n = run_flood(t, npoints, a, b > 0 ? b : 10.0);
		else {
			printf("error\n");
			fflush(stdout);
			continue;
		}
		printf("ok %" PRIu64 "\n", n);
		fflush(stdout);
	}
	fb_table_destroy(t);
	free(dd);
	free(pd);
	return 0;
}
