/* SPDX-License-Identifier: Apache-2.0 */
/* fb-bench-slave: a fast Modbus TCP slave on libmodbus's server API, so the
 * slave's own latency is negligible next to the gateway's.
 *
 *   fb-bench-slave --port P
 *       serves 10,000 holding/input registers and coils (all units), one
 *       client at a time; after answering a write (FC05/06/15/16) prints
 *       "W <mono_ns> <fc> <address>" with the time the request was
 *       received.
 *   fb-bench-slave --probe P --count N
 *       client: times N FC03 reads of 10 registers and prints
 *       "txn <median_ns> <p99_ns>": one Modbus transaction on this machine,
 *       the round-trip benchmark's reference. */
#include <errno.h>
#include <inttypes.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"

#define NREGS 10000

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int probe(int port, int count)
{
	modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
	int64_t *t = calloc((size_t)count, sizeof(*t));
	uint16_t regs[10];

	if (!ctx || !t || modbus_connect(ctx) < 0) {
		fprintf(stderr, "probe: %s\n", modbus_strerror(errno));
		return 1;
	}
	modbus_set_slave(ctx, 1);
	for (int i = 0; i < count; i++) {
		int64_t t0 = bench_mono_ns();

		if (modbus_read_registers(ctx, 0, 10, regs) != 10) {
			fprintf(stderr, "probe read: %s\n", modbus_strerror(errno));
			return 1;
		}
		t[i] = bench_mono_ns() - t0;
	}
	qsort(t, (size_t)count, sizeof(*t), cmp64);
	printf("txn %" PRId64 " %" PRId64 "\n", t[count / 2], t[(count - 1) * 99 / 100]);
	modbus_close(ctx);
	modbus_free(ctx);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	int port = 0, probe_port = 0, count = 1000, server;
	modbus_mapping_t *map;
	modbus_t *ctx;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--probe"))
			probe_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--count"))
			count = atoi(argv[i + 1]);
	}
	if (probe_port)
		return probe(probe_port, count > 0 ? count : 1);
	if (!port) {
		fprintf(stderr, "usage: %s --port P | --probe P [--count N]\n", argv[0]);
		return 2;
	}
	ctx = modbus_new_tcp("127.0.0.1", port);
	map = modbus_mapping_new(NREGS, NREGS, NREGS, NREGS);
	if (!ctx || !map)
		return 1;
	server = modbus_tcp_listen(ctx, 4);
	if (server < 0) {
		fprintf(stderr, "listen: %s\n", modbus_strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (modbus_tcp_accept(ctx, &server) < 0)
			continue;
		for (;;) {
			uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
			int n = modbus_receive(ctx, req);
			int64_t t = bench_mono_ns();
			int hl = modbus_get_header_length(ctx);

			if (n < 0)
				break; /* client gone: accept the next one */
			if (n == 0)
				continue;
			if (modbus_reply(ctx, req, n, map) < 0)
				break;
			if (req[hl] == 5 || req[hl] == 6 || req[hl] == 15 || req[hl] == 16) {
				printf("W %" PRId64 " %d %d\n", t, req[hl],
				       req[hl + 1] << 8 | req[hl + 2]);
				fflush(stdout);
			}
		}
		modbus_close(ctx);
	}
	return 0;
}
