/* SPDX-License-Identifier: Apache-2.0 */
/* mbtool: the test side of a driver's state table, so the Modbus tests can
 * look at what the driver published and push commands without an MQTT
 * exporter in between.  Prints JSON on stdout.
 *
 *   mbtool dump  INSTANCE
 *   mbtool cmd   INSTANCE DEVICE POINT VALUE [TIMEOUT_MS]
 *   mbtool flood INSTANCE DEVICE POINT N      values 1..N as fast as the queue takes them
 *   mbtool watch INSTANCE DEVICE POINT MS     every value the point showed meanwhile
 *   mbtool journal INSTANCE DEVICE POINT MS   journal entries (re-publications) meanwhile
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "table.h"

#define ORIGIN "mbtool"

static struct fb_table_reader *attach(const char *instance)
{
	struct fb_table_reader *r = NULL;
	int64_t until = fb_mono_ms() + 10000;

	while (!r && fb_mono_ms() < until) {
		r = fb_table_attach(instance);
		if (!r)
			poll(NULL, 0, 50);
	}
	if (!r)
		fprintf(stderr, "mbtool: cannot attach %s: %s\n", instance, strerror(errno));
	return r;
}

static void value_json(const struct fb_value *v, char *buf, size_t len)
{
	if (fb_value_to_json(v, buf, len) < 0)
		snprintf(buf, len, "null");
}

static int dump(struct fb_table_reader *r)
{
	char v[128];

	printf("{\"devices\":{");
	for (size_t i = 0; i < fb_table_reader_device_count(r); i++)
		printf("%s\"%s\":%s", i ? "," : "", fb_table_reader_device(r, (uint32_t)i)->device,
		       fb_table_reader_device_online(r, (uint32_t)i) ? "true" : "false");
	printf("},\"points\":{");
	for (size_t i = 0; i < fb_table_reader_point_count(r); i++) {
		const struct fb_point_desc *d = fb_table_reader_point(r, (uint32_t)i);
		struct fb_point_snapshot s;

		fb_table_reader_read(r, (uint32_t)i, &s);
		value_json(&s.value, v, sizeof(v));
		printf("%s\"%s/%s\":{\"v\":%s,\"q\":%u,\"read_ts\":%lld,\"change_ts\":%lld}",
		       i ? "," : "", d->device, d->point, v, s.quality, (long long)s.read_ts_ms,
		       (long long)s.change_ts_ms);
	}
	printf("}}\n");
	return 0;
}

static int parse_value(const char *s, struct fb_value *v)
{
	char *end;

	memset(v, 0, sizeof(*v));
	if (!strcmp(s, "true") || !strcmp(s, "false")) {
		v->kind = FB_VALUE_BOOL;
		v->b = s[0] == 't';
		return 0;
	}
	v->kind = FB_VALUE_INT;
	v->i = strtoll(s, &end, 0);
	if (*end) {
		v->kind = FB_VALUE_FLOAT;
		v->f = strtod(s, &end);
	}
	return *end ? -1 : 0;
}

struct results {
	uint64_t first_ticket;
	size_t n;
	unsigned char *status;  /* per ticket offset: 0 = none yet */
	size_t got, dup;
	char last_reason[FB_TABLE_REASON_MAX];
};

static void on_result(void *ctx, const struct fb_command_result *res)
{
	struct results *rs = ctx;

	if (res->ticket < rs->first_ticket || res->ticket >= rs->first_ticket + rs->n)
		return;
	if (rs->status[res->ticket - rs->first_ticket]) {
		rs->dup++;
		return;
	}
	rs->status[res->ticket - rs->first_ticket] = res->status;
	rs->got++;
	snprintf(rs->last_reason, sizeof(rs->last_reason), "%s", res->reason);
}

static int push(struct fb_table_reader *r, long index, const struct fb_value *v,
		struct results *rs, uint64_t *ticket)
{
	struct fb_command c;
	int64_t until = fb_mono_ms() + 30000;

	memset(&c, 0, sizeof(c));
	c.point_index = (uint32_t)index;
	c.value = *v;
	c.ts_ms = fb_now_ms();
	snprintf(c.origin, sizeof(c.origin), ORIGIN);
	snprintf(c.event_id, sizeof(c.event_id), "mbtool-%lld", (long long)c.ts_ms);
	while (fb_table_command_push(r, &c) < 0) {
		if (errno != EAGAIN || fb_mono_ms() > until)
			return -1;
		/* Queue full: take results meanwhile so none falls off the ring;
		 * the reader fd wakes us at each batch the driver finishes. */
		struct pollfd p = { .fd = fb_table_reader_fd(r), .events = POLLIN };

		poll(&p, 1, 1);
		fb_table_reader_changes(r, NULL, NULL, NULL);
		if (rs && rs->status)
			fb_table_reader_results(r, ORIGIN, on_result, rs);
	}
	*ticket = c.ticket;
	return 0;
}

/* CLOCK_MONOTONIC in seconds: comparable with Python's time.monotonic()
 * and the slave's event log. */
static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int wait_results(struct fb_table_reader *r, struct results *rs, int timeout_ms)
{
	int64_t until = fb_mono_ms() + timeout_ms;

	while (rs->got < rs->n && fb_mono_ms() < until) {
		struct pollfd p = { .fd = fb_table_reader_fd(r), .events = POLLIN };

		poll(&p, 1, 20);
		fb_table_reader_changes(r, NULL, NULL, NULL);
		fb_table_reader_results(r, ORIGIN, on_result, rs);
	}
	return rs->got == rs->n ? 0 : -1;
}

static const char *status_name(int s)
{
	return s == FB_COMMAND_DONE ? "done" : s == FB_COMMAND_FAILED ? "failed"
	     : s == FB_COMMAND_SUPERSEDED ? "superseded" : "none";
}

static int commands(struct fb_table_reader *r, long index, const char *value, long n,
		    int timeout_ms)
{
	struct results rs = { 0 };
	struct fb_value v;
	size_t count[4] = { 0 };
	uint64_t ticket;
	double push_t = 0;

	if (!n) {
		if (parse_value(value, &v) < 0)
			return 2;
		push_t = mono_s();
		if (push(r, index, &v, NULL, &ticket) < 0)
			return 1;
		rs.first_ticket = ticket;
		rs.n = 1;
		rs.status = calloc(1, 1);
	} else {
		rs.n = (size_t)n;
		rs.status = calloc((size_t)n, 1);
		fb_table_reader_results(r, ORIGIN, NULL, NULL); /* skip old results */
		for (long i = 1; i <= n; i++) {
			memset(&v, 0, sizeof(v));
			v.kind = FB_VALUE_INT;
			v.i = i;
			if (push(r, index, &v, &rs, &ticket) < 0) {
				fprintf(stderr, "mbtool: push %ld: %s\n", i, strerror(errno));
				return 1;
			}
			if (i == 1)
				rs.first_ticket = ticket;
			fb_table_reader_results(r, ORIGIN, on_result, &rs);
		}
	}
	wait_results(r, &rs, timeout_ms);
	for (size_t i = 0; i < rs.n; i++)
		count[rs.status[i] <= 3 ? rs.status[i] : 0]++;
	printf("{\"push_t\":%.6f,\"pushed\":%zu,\"results\":%zu,\"duplicates\":%zu,\"done\":%zu,"
	       "\"failed\":%zu,\"superseded\":%zu,\"missing\":%zu,\"last_status\":\"%s\","
	       "\"last_reason\":\"", push_t, rs.n, rs.got, rs.dup, count[FB_COMMAND_DONE],
	       count[FB_COMMAND_FAILED], count[FB_COMMAND_SUPERSEDED], count[0],
	       status_name(rs.status[rs.n - 1]));
	for (const char *c = rs.last_reason; *c; c++)
		printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
	printf("\",\"missing_index\":[");
	for (size_t i = 0, k = 0; i < rs.n && k < 20; i++)
		if (!rs.status[i])
			printf("%s%zu", k++ ? "," : "", i);
	printf("]}\n");
	free(rs.status);
	return 0;
}

static int watch(struct fb_table_reader *r, long index, int ms)
{
	int64_t until = fb_mono_ms() + ms;
	struct fb_value last;
	bool first = true, any = false;
	char v[128];

	memset(&last, 0xff, sizeof(last));
	printf("[");
	while (fb_mono_ms() < until) {
		struct pollfd p = { .fd = fb_table_reader_fd(r), .events = POLLIN };
		struct fb_point_snapshot s;

		poll(&p, 1, 5);
		fb_table_reader_changes(r, NULL, NULL, NULL);
		fb_table_reader_read(r, (uint32_t)index, &s);
		if (!first && fb_value_equal(&s.value, &last))
			continue;
		first = false;
		last = s.value;
		value_json(&s.value, v, sizeof(v));
		printf("%s%s", any ? "," : "", v);
		any = true;
		fflush(stdout);
	}
	printf("]\n");
	return 0;
}

struct count_ctx {
	long index;
	size_t n;
};

static void count_point(void *ctx, uint32_t point_index)
{
	struct count_ctx *c = ctx;

	if ((long)point_index == c->index)
		c->n++;
}

static int journal(struct fb_table_reader *r, long index, int ms)
{
	struct count_ctx c = { index, 0 };
	int64_t until = fb_mono_ms() + ms;

	fb_table_reader_changes(r, NULL, NULL, NULL); /* the initial full scan */
	while (fb_mono_ms() < until) {
		struct pollfd p = { .fd = fb_table_reader_fd(r), .events = POLLIN };

		poll(&p, 1, 20);
		fb_table_reader_changes(r, count_point, NULL, &c);
	}
	printf("{\"entries\":%zu}\n", c.n);
	return 0;
}

int main(int argc, char **argv)
{
	struct fb_table_reader *r;
	long index = -1;
	int rc = 2;

	if (argc < 3)
		goto usage;
	r = attach(argv[2]);
	if (!r)
		return 1;
	if (argc >= 5) {
		index = fb_table_reader_find(r, argv[3], argv[4]);
		if (index < 0) {
			fprintf(stderr, "mbtool: no point %s/%s\n", argv[3], argv[4]);
			fb_table_detach(r);
			return 1;
		}
	}
	if (!strcmp(argv[1], "dump"))
		rc = dump(r);
	else if (!strcmp(argv[1], "cmd") && argc >= 6)
		rc = commands(r, index, argv[5], 0, argc > 6 ? atoi(argv[6]) : 10000);
	else if (!strcmp(argv[1], "flood") && argc == 6)
		rc = commands(r, index, NULL, atol(argv[5]), 60000);
	else if (!strcmp(argv[1], "journal") && argc == 6)
		rc = journal(r, index, atoi(argv[5]));
	else if (!strcmp(argv[1], "watch") && argc == 6)
		rc = watch(r, index, atoi(argv[5]));
	fb_table_detach(r);
	if (rc != 2)
		return rc;
usage:
	fprintf(stderr, "usage: mbtool dump|cmd|flood|watch INSTANCE [DEVICE POINT ...]\n");
	return 2;
}
