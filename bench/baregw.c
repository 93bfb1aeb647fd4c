/* SPDX-License-Identifier: Apache-2.0 */
/* fb-bench-baregw: the in-run CPU reference of the gateway workloads, a bare
 * libmodbus poll loop and a bare libmosquitto publish loop in one thread:
 * no table, no second process, no JSON library, no logic beyond the job.
 *
 * Every --interval-ms it reads the given blocks of each of --devices units
 * (unit ids --unit-base..) with libmodbus, and publishes one state message
 * per device whose registers changed since its last cycle (the exporter's
 * rule: a changed device, one message holding all its values), the values
 * as float32 (high word first) for register blocks and 0/1 for bits.
 *
 *   fb-bench-baregw --port P --mqtt-port M --devices N --unit-base U
 *                   --interval-ms I --blocks FC:START:COUNT[,...] --seconds S
 *
 * --stamp 1: the registers are uint64 groups of 4 (fb-bench-slave --stamp),
 * published as "p0".."p<n>" like the exporter's bench-point states, so the
 * subscriber's latency is read -> MQTT of this bare loop.
 *
 * Prints "ready", then at the end "ok <cycles> <registers>". */
#include <errno.h>
#include <inttypes.h>
#include <modbus.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "benchutil.h"

#define MAX_BLOCKS 8
#define MAX_REGS 125

struct block {
	int fc, start, count;
};

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

static int read_block(modbus_t *ctx, const struct block *b, uint16_t *regs)
{
	uint8_t bits[MAX_REGS];
	int n;

	switch (b->fc) {
	case 1:
	case 2:
		n = b->fc == 1 ? modbus_read_bits(ctx, b->start, b->count, bits)
			       : modbus_read_input_bits(ctx, b->start, b->count, bits);
		for (int i = 0; i < n; i++)
			regs[i] = bits[i];
		return n;
	case 3:
		return modbus_read_registers(ctx, b->start, b->count, regs);
	default:
		return modbus_read_input_registers(ctx, b->start, b->count, regs);
	}
}

static int payload_of(const struct block *blk, int nblk, const uint16_t *regs, char *out,
		      size_t size, bool stamp)
{
	int len = snprintf(out, size, "{\"ts\":%" PRId64, bench_mono_ns() / 1000000);
	const uint16_t *r = regs;

	if (stamp) {
		int k = 0;

		for (int b = 0; b < nblk; b++, r += blk[b - 1].count)
			for (int i = 0; i + 4 <= blk[b].count; i += 4, k++)
				len += snprintf(out + len, size - (size_t)len, ",\"p%d\":%" PRIu64, k,
						(uint64_t)r[i] << 48 | (uint64_t)r[i + 1] << 32 |
						(uint64_t)r[i + 2] << 16 | r[i + 3]);
		return len + snprintf(out + len, size - (size_t)len, "}");
	}

	for (int b = 0; b < nblk; b++) {
		bool bits = blk[b].fc <= 2;

		for (int i = 0; i < blk[b].count; i += bits ? 1 : 2) {
			if (bits) {
				len += snprintf(out + len, size - (size_t)len, ",\"b%d_%d\":%d", b, i,
						r[i] ? 1 : 0);
			} else {
				uint32_t w = (uint32_t)r[i] << 16 | (i + 1 < blk[b].count ? r[i + 1] : 0);
				float f;

				memcpy(&f, &w, sizeof(f));
				len += snprintf(out + len, size - (size_t)len, ",\"r%d_%d\":%.6g", b, i,
						(double)f);
			}
		}
		r += blk[b].count;
	}
	len += snprintf(out + len, size - (size_t)len, "}");
	return len;
}

int main(int argc, char **argv)
{
	int port = 0, mport = 1883, ndev = 1, unit_base = 1, interval_ms = 1000, nblk = 0;
	bool stamp = false;
	double secs = 10;
	struct block blk[MAX_BLOCKS];
	uint16_t *cur, *last;
	size_t per_dev = 0;
	uint64_t cycles = 0, nregs = 0;
	modbus_t *ctx;
	struct mosquitto *m;
	int64_t start, end, next, last_misc;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--mqtt-port"))
			mport = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--devices"))
			ndev = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--unit-base"))
			unit_base = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--interval-ms"))
			interval_ms = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--stamp"))
			stamp = atoi(argv[i + 1]) != 0;
		else if (!strcmp(argv[i], "--seconds"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--blocks")) {
			char *s = argv[i + 1];

			while (*s && nblk < MAX_BLOCKS) {
				struct block *b = &blk[nblk++];

				if (sscanf(s, "%d:%d:%d", &b->fc, &b->start, &b->count) != 3 ||
				    b->count < 1 || b->count > MAX_REGS)
					return 2;
				per_dev += (size_t)b->count;
				s = strchr(s, ',');
				if (!s)
					break;
				s++;
			}
		}
	}
	if (!port || ndev < 1 || !nblk || interval_ms < 1)
		return 2;
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	cur = calloc(per_dev * (size_t)ndev, sizeof(*cur));
	last = calloc(per_dev * (size_t)ndev, sizeof(*last));
	ctx = modbus_new_tcp("127.0.0.1", port);
	if (!cur || !last || !ctx || modbus_connect(ctx) < 0) {
		fprintf(stderr, "modbus: %s\n", modbus_strerror(errno));
		return 1;
	}
	mosquitto_lib_init();
	m = mosquitto_new("fb-bench-baregw", true, NULL);
	if (!m)
		return 1;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	if (mosquitto_connect(m, "127.0.0.1", mport, 60) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqtt connect failed\n");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	start = next = last_misc = bench_mono_ns();
	end = start + (int64_t)(secs * 1e9);
	while (bench_mono_ns() < end) {
		struct timespec ts = { (time_t)(next / 1000000000), (long)(next % 1000000000) };

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		next += (int64_t)interval_ms * 1000000;
		for (int d = 0; d < ndev; d++) {
			uint16_t *r = cur + (size_t)d * per_dev, *old = last + (size_t)d * per_dev;
			char topic[96], payload[4096];
			int len;

			modbus_set_slave(ctx, unit_base + d);
			for (int b = 0; b < nblk; b++) {
				if (read_block(ctx, &blk[b], r) == blk[b].count)
					nregs += (uint64_t)blk[b].count;
				r += blk[b].count;
			}
			r = cur + (size_t)d * per_dev;
			if (cycles && !memcmp(r, old, per_dev * sizeof(*r)))
				continue;
			memcpy(old, r, per_dev * sizeof(*r));
			snprintf(topic, sizeof(topic), "fieldbridge/baregw/d%05d/state", d);
			len = payload_of(blk, nblk, r, payload, sizeof(payload), stamp);
			mosquitto_publish(m, NULL, topic, len, payload, 0, false);
			service(m, 0);
		}
		cycles++;
		service(m, 0);
		if (next - last_misc > 1000000000LL) {
			mosquitto_loop_misc(m);
			last_misc = next;
		}
	}
	printf("ok %" PRIu64 " %" PRIu64 "\n", cycles, nregs);
	fflush(stdout);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	modbus_close(ctx);
	modbus_free(ctx);
	free(cur);
	free(last);
	return 0;
}
