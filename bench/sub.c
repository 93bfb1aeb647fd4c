/* SPDX-License-Identifier: Apache-2.0 */
/* fb-bench-sub: the benchmark's MQTT subscriber.
 *
 * Subscribes to the given filters and, for every message, takes the arrival
 * time (CLOCK_MONOTONIC ns) in libmosquitto's network thread, before any
 * parsing.  State messages ("<...>/d<NNNNN>/state") are parsed for
 * "p<k>":<uint> fields; a field whose value differs from the last one seen
 * for that device is one delivered point update, and since the synthetic
 * driver and the bare loop store their write time (CLOCK_MONOTONIC ns) as
 * the value, arrival - value is that update's latency.  Discovery configs
 * ("<...>/device/<id>/config") are counted.
 *
 * Commands on stdin, one answer line each on stdout:
 *   reset          clear counters and latencies
 *   report         "msgs updates disc states t_first t_last t_last_disc
 *                   nlat p50 p99 max" (times in ns)
 *   rtt CMD STATE KEY VALUE TIMEOUT_MS
 *                  publish VALUE on CMD, wait for a message on STATE that
 *                  contains "KEY":VALUE; answers "rtt T_PUB T_ARRIVAL" or
 *                  "timeout"
 *   quit */
#include <inttypes.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

#define MAX_POINTS 16

struct dev_state {
	uint64_t v[MAX_POINTS];
	int seen;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct dev_state *devs;
static size_t ndevs;
static uint64_t n_msgs, n_updates, n_disc, n_states;
static int64_t t_first, t_last, t_last_disc;
static int64_t *lat;
static size_t nlat, cap_lat;
static int subscribed;
/* round trip in progress */
static char rtt_topic[256], rtt_needle[160];
static int64_t rtt_arrival;

static struct dev_state *dev_get(size_t idx)
{
	if (idx >= ndevs) {
		size_t n = idx + 1024;
		struct dev_state *d = realloc(devs, n * sizeof(*d));

		if (!d)
			return NULL;
		memset(d + ndevs, 0, (n - ndevs) * sizeof(*d));
		devs = d;
		ndevs = n;
	}
	return &devs[idx];
}

static void lat_add(int64_t v)
{
	if (nlat == cap_lat) {
		size_t n = cap_lat ? cap_lat * 2 : 65536;
		int64_t *p = realloc(lat, n * sizeof(*p));

		if (!p)
			return;
		lat = p;
		cap_lat = n;
	}
	lat[nlat++] = v;
}

/* "<...>/d<digits>/state" -> device index, or -1. */
static long state_device(const char *topic)
{
	size_t len = strlen(topic);
	const char *end, *p;

	if (len < 7 || strcmp(topic + len - 6, "/state"))
		return -1;
	end = topic + len - 6;
	p = end;
	while (p > topic && p[-1] != '/')
		p--;
	if (*p != 'd' || p + 1 >= end)
		return -1;
	for (const char *q = p + 1; q < end; q++)
		if (*q < '0' || *q > '9')
			return -1;
	return strtol(p + 1, NULL, 10);
}

static void parse_state(long idx, const char *payload, int len, int64_t t)
{
	struct dev_state *d = dev_get((size_t)idx);
	const char *p = payload, *end = payload + len;

	if (!d)
		return;
	if (!d->seen) {
		d->seen = 1;
		n_states++;
	}
	while ((p = memchr(p, '"', (size_t)(end - p))) && p + 4 < end) {
		char *q;
		unsigned long k;
		uint64_t v;

		p++;
		if (*p != 'p' || p[1] < '0' || p[1] > '9')
			continue;
		k = strtoul(p + 1, &q, 10);
		if (q + 2 >= end || q[0] != '"' || q[1] != ':' || k >= MAX_POINTS)
			continue;
		if (q[2] < '0' || q[2] > '9') {
			p = q + 2;
			continue;
		}
		v = strtoull(q + 2, &q, 10);
		p = q;
		if (v != d->v[k]) {
			d->v[k] = v;
			if (v == 0)
				continue; /* the initial state, not a timed write */
			n_updates++;
			if ((int64_t)v <= t && t - (int64_t)v < (int64_t)60 * 1000000000)
				lat_add(t - (int64_t)v);
		}
	}
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	int64_t t = bench_mono_ns();
	long idx;

	(void)m;
	(void)obj;
	pthread_mutex_lock(&lock);
	n_msgs++;
	if (!t_first)
		t_first = t;
	t_last = t;
	if (strstr(msg->topic, "/device/") && strstr(msg->topic, "/config")) {
		n_disc++;
		t_last_disc = t;
	} else if ((idx = state_device(msg->topic)) >= 0 && msg->payloadlen > 0) {
		parse_state(idx, msg->payload, msg->payloadlen, t);
	}
	if (rtt_topic[0] && !rtt_arrival && !strcmp(msg->topic, rtt_topic) && msg->payloadlen > 0) {
		char buf[8192];
		size_t n = (size_t)msg->payloadlen < sizeof(buf) - 1 ? (size_t)msg->payloadlen
								     : sizeof(buf) - 1;

		memcpy(buf, msg->payload, n);
		buf[n] = '\0';
		if (strstr(buf, rtt_needle)) {
			rtt_arrival = t;
			pthread_cond_broadcast(&cond);
		}
	}
	pthread_mutex_unlock(&lock);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
	(void)m, (void)obj, (void)mid, (void)n, (void)q;
	pthread_mutex_lock(&lock);
	subscribed++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static char **filters;
static int nfilters, qos;

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)obj;
	if (rc)
		return;
	for (int i = 0; i < nfilters; i++)
		mosquitto_subscribe(m, NULL, filters[i], qos);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void report(void)
{
	int64_t p50 = -1, p99 = -1, max = -1;

	pthread_mutex_lock(&lock);
	if (nlat) {
		qsort(lat, nlat, sizeof(*lat), cmp64);
		p50 = lat[nlat / 2];
		p99 = lat[(size_t)((double)(nlat - 1) * 0.99)];
		max = lat[nlat - 1];
	}
	printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64
	       " %" PRId64 " %zu %" PRId64 " %" PRId64 " %" PRId64 "\n",
	       n_msgs, n_updates, n_disc, n_states, t_first, t_last, t_last_disc, nlat,
	       p50, p99, max);
	pthread_mutex_unlock(&lock);
}

static void do_rtt(struct mosquitto *m, const char *cmd, const char *state, const char *key,
		   const char *value, long timeout_ms)
{
	int64_t t0, deadline;
	struct timespec ts;

	pthread_mutex_lock(&lock);
	snprintf(rtt_topic, sizeof(rtt_topic), "%s", state);
	snprintf(rtt_needle, sizeof(rtt_needle), "\"%s\":%s,", key, value);
	rtt_arrival = 0;
	pthread_mutex_unlock(&lock);
	t0 = bench_mono_ns();
	mosquitto_publish(m, NULL, cmd, (int)strlen(value), value, 0, false);
	clock_gettime(CLOCK_REALTIME, &ts);
	deadline = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + timeout_ms * 1000000;
	ts.tv_sec = (time_t)(deadline / 1000000000);
	ts.tv_nsec = (long)(deadline % 1000000000);
	pthread_mutex_lock(&lock);
	while (!rtt_arrival)
		if (pthread_cond_timedwait(&cond, &lock, &ts))
			break;
	if (rtt_arrival)
		printf("rtt %" PRId64 " %" PRId64 "\n", t0, rtt_arrival);
	else
		printf("timeout\n");
	rtt_topic[0] = '\0';
	pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	int port = 1883;
	struct mosquitto *m;
	char line[1024];
	struct timespec ts;

	filters = calloc((size_t)argc, sizeof(*filters));
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--host"))
			host = argv[i + 1];
		else if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--topic"))
			filters[nfilters++] = argv[i + 1];
		else if (!strcmp(argv[i], "--qos"))
			qos = atoi(argv[i + 1]);
	}
	if (!nfilters) {
		fprintf(stderr, "usage: %s --port P --topic FILTER... [--qos Q]\n", argv[0]);
		return 2;
	}
	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, NULL);
	if (!m)
		return 1;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	if (mosquitto_connect(m, host, port, 60) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "cannot connect to %s:%d\n", host, port);
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&lock);
	while (subscribed < nfilters)
		if (pthread_cond_timedwait(&cond, &lock, &ts))
			break;
	pthread_mutex_unlock(&lock);
	printf(subscribed >= nfilters ? "ready\n" : "error no SUBACK\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		char a[256], b[256], k[64], v[64];
		long to;

		if (!strncmp(line, "quit", 4))
			break;
		if (!strncmp(line, "reset", 5)) {
			pthread_mutex_lock(&lock);
			n_msgs = n_updates = n_disc = n_states = 0;
			t_first = t_last = t_last_disc = 0;
			nlat = 0;
			for (size_t i = 0; i < ndevs; i++)
				devs[i].seen = 0;
			pthread_mutex_unlock(&lock);
			printf("ok\n");
		} else if (!strncmp(line, "report", 6)) {
			report();
		} else if (sscanf(line, "rtt %255s %255s %63s %63s %ld", a, b, k, v, &to) == 5) {
			do_rtt(m, a, b, k, v, to);
		} else {
			printf("error\n");
		}
		fflush(stdout);
	}
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	free(filters);
	free(devs);
	free(lat);
	return 0;
}
