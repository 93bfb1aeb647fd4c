/* SPDX-License-Identifier: Apache-2.0 */
/* A Modbus TCP client on the real libmodbus, as evcc-like programs use it,
 * for the mbserver tests and bench/mbserver.  Prints JSON on stdout.
 *
 *   mbsclient read  HOST PORT UNIT FC ADDR COUNT     -> {"words":[...]} | {"exception":N}
 *   mbsclient write HOST PORT UNIT FC ADDR V...      -> {"ok":true,"t":mono} | {"exception":N}
 *   mbsclient load  HOST PORT UNIT FC ADDR COUNT CLIENTS HZ SECONDS
 *        CLIENTS threads, one connection each, each reading HZ times a second
 *        -> {"requests":N,"errors":N,"first_error":"...","p50_ms":x,"p99_ms":x,"max_ms":x}
 *        (HZ 0: as fast as each client can)
 * FC is 1, 2, 3 or 4 for reads; 5, 6, 15 or 16 for writes.  "t" is the
 * CLOCK_MONOTONIC second the reply arrived (comparable with Python's
 * time.monotonic()). */
#include <errno.h>
#include <modbus/modbus.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static modbus_t *open_ctx(const char *host, int port, int unit)
{
	modbus_t *ctx = modbus_new_tcp(host, port);

	if (!ctx)
		return NULL;
	modbus_set_slave(ctx, unit);
	modbus_set_response_timeout(ctx, 5, 0);
	if (modbus_connect(ctx) < 0) {
		modbus_free(ctx);
		return NULL;
	}
	return ctx;
}

static int do_read(modbus_t *ctx, int fc, int addr, int count, uint16_t *words)
{
	uint8_t bits[2000];
	int n;

	switch (fc) {
	case 1:
	case 2:
		n = fc == 1 ? modbus_read_bits(ctx, addr, count, bits)
			    : modbus_read_input_bits(ctx, addr, count, bits);
		for (int i = 0; i < n; i++)
			words[i] = bits[i];
		return n;
	case 3:
		return modbus_read_registers(ctx, addr, count, words);
	case 4:
		return modbus_read_input_registers(ctx, addr, count, words);
	}
	errno = EINVAL;
	return -1;
}

static int print_error(void)
{
	if (errno > MODBUS_ENOBASE && errno < MODBUS_ENOBASE + 0x20) {
		printf("{\"exception\":%d}\n", errno - MODBUS_ENOBASE);
		return 0;
	}
	printf("{\"error\":\"%s\"}\n", modbus_strerror(errno));
	return 1;
}

struct load {
	const char *host;
	int port, unit, fc, addr, count, hz;
	double seconds;
	double *lat;          /* owned per thread */
	size_t n, cap, errors;
	char first_error[128];
};

static void *load_thread(void *arg)
{
	struct load *l = arg;
	modbus_t *ctx = open_ctx(l->host, l->port, l->unit);
	uint16_t words[2000];
	double start = mono_s(), next = start;

	if (!ctx) {
		l->errors++;
		snprintf(l->first_error, sizeof(l->first_error), "connect: %s",
			 modbus_strerror(errno));
		return NULL;
	}
	while (mono_s() - start < l->seconds) {
		double t0 = mono_s();

		if (do_read(ctx, l->fc, l->addr, l->count, words) != l->count) {
			if (!l->errors++)
				snprintf(l->first_error, sizeof(l->first_error), "%s",
					 modbus_strerror(errno));
		}
		if (l->n == l->cap) {
			double *p = realloc(l->lat, (l->cap ? 2 * l->cap : 1024) * sizeof(double));

			if (!p)
				break;
			l->lat = p;
			l->cap = l->cap ? 2 * l->cap : 1024;
		}
		l->lat[l->n++] = (mono_s() - t0) * 1000.0;
		if (l->hz > 0) {
			struct timespec ts;
			double wait;

			next += 1.0 / l->hz;
			wait = next - mono_s();
			if (wait > 0) {
				ts.tv_sec = (time_t)wait;
				ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
				nanosleep(&ts, NULL);
			}
		}
	}
	modbus_close(ctx);
	modbus_free(ctx);
	return NULL;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int run_load(char **argv)
{
	int clients = atoi(argv[6]);
	struct load *l = calloc((size_t)clients, sizeof(*l));
	pthread_t *th = calloc((size_t)clients, sizeof(*th));
	size_t total = 0, errors = 0, k = 0;
	double *all;
	const char *first = "";

	if (!l || !th)
		return 1;
	for (int i = 0; i < clients; i++) {
		l[i] = (struct load){ argv[0], atoi(argv[1]), atoi(argv[2]), atoi(argv[3]),
				      atoi(argv[4]), atoi(argv[5]), atoi(argv[7]), atof(argv[8]),
				      NULL, 0, 0, 0, "" };
		pthread_create(&th[i], NULL, load_thread, &l[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		total += l[i].n;
		errors += l[i].errors;
		if (!first[0] && l[i].first_error[0])
			first = l[i].first_error;
	}
	all = calloc(total ? total : 1, sizeof(double));
	if (!all)
		return 1;
	for (int i = 0; i < clients; i++)
		for (size_t j = 0; j < l[i].n; j++)
			all[k++] = l[i].lat[j];
	qsort(all, total, sizeof(double), dbl_cmp);
	printf("{\"requests\":%zu,\"errors\":%zu,\"first_error\":\"%s\",\"p50_ms\":%.3f,"
	       "\"p99_ms\":%.3f,\"max_ms\":%.3f}\n", total, errors, first,
	       total ? all[total / 2] : 0.0, total ? all[(total * 99) / 100] : 0.0,
	       total ? all[total - 1] : 0.0);
	for (int i = 0; i < clients; i++)
		free(l[i].lat);
	free(all);
	free(l);
	free(th);
	return 0;
}

int main(int argc, char **argv)
{
	modbus_t *ctx;
	uint16_t words[2000];
	int fc, addr, n, rc = 0;

	if (argc >= 11 && !strcmp(argv[1], "load"))
		return run_load(argv + 2);
	if (argc < 7 || (strcmp(argv[1], "read") && strcmp(argv[1], "write"))) {
		fprintf(stderr, "usage: see mbsclient.c\n");
		return 2;
	}
	ctx = open_ctx(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (!ctx) {
		printf("{\"error\":\"connect: %s\"}\n", modbus_strerror(errno));
		return 1;
	}
	fc = atoi(argv[5]);
	addr = atoi(argv[6]);
	if (!strcmp(argv[1], "read")) {
		int count = argc > 7 ? atoi(argv[7]) : 1;

		n = do_read(ctx, fc, addr, count, words);
		if (n < 0) {
			rc = print_error();
		} else {
			printf("{\"words\":[");
			for (int i = 0; i < n; i++)
				printf("%s%u", i ? "," : "", words[i]);
			printf("]}\n");
		}
	} else {
		uint8_t bits[2000];
		int nv = argc - 7;

		for (int i = 0; i < nv && i < 2000; i++) {
			words[i] = (uint16_t)strtoul(argv[7 + i], NULL, 0);
			bits[i] = words[i] != 0;
		}
		n = fc == 5 ? modbus_write_bit(ctx, addr, words[0])
		  : fc == 6 ? modbus_write_register(ctx, addr, words[0])
		  : fc == 15 ? modbus_write_bits(ctx, addr, nv, bits)
		  : fc == 16 ? modbus_write_registers(ctx, addr, nv, words) : -1;
		if (n < 0)
			rc = print_error();
		else
			printf("{\"ok\":true,\"t\":%.6f}\n", mono_s());
	}
	modbus_close(ctx);
	modbus_free(ctx);
	return rc;
}
