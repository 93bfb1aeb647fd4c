/* SPDX-License-Identifier: Apache-2.0 */
/* fb-bench-bare: the in-run reference for the exporter benchmarks, a bare
 * libmosquitto publish loop with no table, no JSON library and no logic.
 *
 * It publishes state messages shaped like the exporter's (same topic depth,
 * the same {"node","event_id","ts","p0".."p<P-1>"} payload with
 * CLOCK_MONOTONIC ns values), driven the way the exporter drives
 * libmosquitto: its own poll() loop, loop_read/loop_write, no thread.
 *
 *   --rate R   R point updates/s, one message per update (latency reference)
 *   --nodelay 0|1  TCP_NODELAY (default 1: the reference is the best a
 *              libmosquitto client can do; 0 shows what Nagle costs)
 *   --rate 0   flood: every message changes all P points, with at most
 *              --inflight messages not yet written (QoS 0) or not yet
 *              acknowledged (QoS 1) (throughput reference) */
#include <inttypes.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "benchutil.h"

static uint64_t n_done;
static int connected;

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m, (void)obj, (void)mid;
	n_done++;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)m, (void)obj;
	connected = rc == 0 ? 1 : -1;
}

static void service(struct mosquitto *m, int timeout_ms)
{
	struct pollfd pfd = { .fd = mosquitto_socket(m),
			      .events = (short)(POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0)) };

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return;
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
		mosquitto_loop_read(m, 1);
	if (pfd.revents & POLLOUT)
		mosquitto_loop_write(m, 1);
}

int main(int argc, char **argv)
{
	int port = 1883, qos = 0, npoints = 10, nodelay = 1;
	long ndev = 1000, inflight = 10000;
	double rate = 0, secs = 5;
	uint64_t *vals, n_pub = 0, seq = 0;
	struct mosquitto *m;
	int64_t start, end, next, last_misc;
	long dev = 0;
	int pt = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--qos"))
			qos = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--devices"))
			ndev = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--points"))
			npoints = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rate"))
			rate = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--nodelay"))
			nodelay = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--inflight"))
			inflight = atol(argv[i + 1]);
	}
	if (ndev < 1 || npoints < 1 || npoints > 16 || inflight < 1)
		return 2;
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	vals = calloc((size_t)(ndev * npoints), sizeof(*vals));
	if (!vals)
		return 1;
	mosquitto_lib_init();
	m = mosquitto_new("fb-bench-bare", true, NULL);
	if (!m)
		return 1;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_max_inflight_messages_set(m, (unsigned)inflight);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, nodelay);
	mosquitto_publish_callback_set(m, on_publish);
	mosquitto_connect_callback_set(m, on_connect);
	if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "connect failed\n");
		return 1;
	}
	start = bench_mono_ns();
	while (!connected && bench_mono_ns() - start < 5000000000LL)
		service(m, 100);
	if (connected != 1) {
		fprintf(stderr, "no CONNACK\n");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	start = next = last_misc = bench_mono_ns();
	end = start + (int64_t)(secs * 1e9);
	for (;;) {
		int64_t now = bench_mono_ns();
		char topic[128], payload[1024];
		uint64_t *v;
		int len;

		if (now >= end)
			break;
		if (rate > 0) {
			struct timespec ts = { (time_t)(next / 1000000000), (long)(next % 1000000000) };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			next += (int64_t)(1e9 / rate);
			now = bench_mono_ns();
			vals[dev * npoints + pt] = (uint64_t)now;
		} else {
			if (n_pub - n_done >= (uint64_t)inflight) {
				service(m, 10);
				continue;
			}
			for (int p = 0; p < npoints; p++)
				vals[dev * npoints + p] = (uint64_t)now;
		}
		v = &vals[dev * npoints];
		snprintf(topic, sizeof(topic), "fieldbridge/bare/d%05ld/state", dev);
		len = snprintf(payload, sizeof(payload),
			       "{\"node\":\"bare\",\"event_id\":\"bare-0-%" PRIu64 "\",\"ts\":%" PRId64,
			       ++seq, now / 1000000);
		for (int p = 0; p < npoints; p++)
			len += snprintf(payload + len, sizeof(payload) - (size_t)len,
					",\"p%d\":%" PRIu64, p, v[p]);
		len += snprintf(payload + len, sizeof(payload) - (size_t)len, "}");
		if (mosquitto_publish(m, NULL, topic, len, payload, qos, false) == MOSQ_ERR_SUCCESS)
			n_pub++;
		if (rate > 0) {
			if (++pt == npoints) {
				pt = 0;
				dev = (dev + 1) % ndev;
			}
		} else {
			dev = (dev + 1) % ndev;
		}
		service(m, 0);
		if (now - last_misc > 1000000000) {
			mosquitto_loop_misc(m);
			last_misc = now;
		}
	}
	/* let the last messages leave before the subscriber's window closes */
	for (int i = 0; i < 100 && mosquitto_want_write(m); i++)
		service(m, 10);
	printf("ok %" PRIu64 " %.3f\n", n_pub, (double)(bench_mono_ns() - start) / 1e9);
	fflush(stdout);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	free(vals);
	return 0;
}
