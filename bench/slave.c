/* SPDX-License-Identifier: Apache-2.0 */
/* fb-bench-slave: a fast Modbus TCP slave on libmodbus's server API, so the
 * slave's own latency is negligible next to the gateway's.
 *
 *   fb-bench-slave --port P
 *       serves 10,000 holding/input registers and coils (all units), one
 *       client at a time; after answering a write (FC05/06/15/16) prints
 *       "W <mono_ns> <fc> <address>" with the time the request was
 *       received.
 *       --churn: every register read (FC03/04) changes what it read: the
 *       registers are float32 pairs (high word first) between 128 and 256,
 *       the high word stepping by one per read, like a meter whose every
 *       value moves each cycle.  "count" on stdin prints "count <reads>
 *       <registers>": what was read so far.
 *       --stamp: every FC03 read stores the receive time (CLOCK_MONOTONIC
 *       ns, uint64 high word first) in each 4-register group it covers, so
 *       a subscriber's arrival - value is read -> MQTT latency.
 *   fb-bench-slave --probe P --count N
 *       client: times N FC03 reads of 10 registers and prints
 *       "txn <median_ns> <p99_ns>": one Modbus transaction on this machine,
 *       the round-trip benchmark's reference. */
#include <errno.h>
#include <inttypes.h>
#include <modbus.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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

struct counts {
	_Atomic uint64_t reads, regs;
};

/* Answers "count" lines on stdin while the main thread serves Modbus. */
static void *count_thread(void *arg)
{
	struct counts *c = arg;
	char line[64];

	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "count", 5))
			continue;
		printf("count %" PRIu64 " %" PRIu64 "\n", atomic_load(&c->reads),
		       atomic_load(&c->regs));
		fflush(stdout);
	}
	return NULL;
}

static void churn(modbus_mapping_t *map, const uint8_t *pdu, int fc)
{
	int addr = pdu[1] << 8 | pdu[2], n = pdu[3] << 8 | pdu[4];
	uint16_t *regs = fc == 3 ? map->tab_registers : map->tab_input_registers;

	/* A step per read, not a toggle: units share one mapping, and an even
	 * number of reads per cycle would give each unit the same value. */
	for (int a = addr; a < addr + n && a < NREGS; a++)
		if (!(a & 1))
			regs[a] = (uint16_t)(0x4300 | ((regs[a] + 1) & 0xff));
}

static void stamp(modbus_mapping_t *map, const uint8_t *pdu, int64_t t)
{
	int addr = pdu[1] << 8 | pdu[2], n = pdu[3] << 8 | pdu[4];

	for (int a = (addr + 3) & ~3; a + 4 <= addr + n && a + 4 <= NREGS; a += 4)
		for (int w = 0; w < 4; w++)
			map->tab_registers[a + w] = (uint16_t)((uint64_t)t >> (48 - 16 * w));
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
	bool do_churn = false, do_stamp = false;
	struct counts counts = { 0 };
	pthread_t counter;
	modbus_mapping_t *map;
	modbus_t *ctx;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--churn"))
			do_churn = true;
		else if (!strcmp(argv[i], "--stamp"))
			do_stamp = true;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--churn") || !strcmp(argv[i], "--stamp"))
			i--;
		else if (!strcmp(argv[i], "--port"))
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
	if (do_churn)
		for (int a = 0; a < NREGS; a += 2)
			map->tab_registers[a] = map->tab_input_registers[a] = 0x4366;
	if (pthread_create(&counter, NULL, count_thread, &counts) == 0)
		pthread_detach(counter);
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
			if (req[hl] == 3 || req[hl] == 4 || req[hl] == 1 || req[hl] == 2) {
				atomic_fetch_add(&counts.reads, 1);
				atomic_fetch_add(&counts.regs,
						 (uint64_t)(req[hl + 3] << 8 | req[hl + 4]));
				if (do_churn && (req[hl] == 3 || req[hl] == 4))
					churn(map, req + hl, req[hl]);
				if (do_stamp && req[hl] == 3)
					stamp(map, req + hl, t);
			}
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
