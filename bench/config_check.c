/* SPDX-License-Identifier: Apache-2.0 */
/* How long fb_config_load takes for a large gateway: N devices on N/200
 * Modbus TCP buses (200 each, so unit ids stay unique), all distinct ids.
 * Comparing every device id with every earlier one takes seconds at this
 * size; the loader's checks are linear.
 *
 *   fb-bench-config [NDEVICES]      default 40000; prints one line */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#define PER_BUS 200

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 40000;
	char dir[] = "/tmp/fb-bench-config-XXXXXX", path[64];
	struct fb_diag d;
	struct fb_config *c;
	double t0, t1;
	FILE *f;

	if (n < 1 || !mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/fieldbridge.json", dir);
	f = fopen(path, "w");
	if (!f)
		return 2;
	fputs("{ \"buses\": [\n", f);
	for (long i = 0; i < n; i++) {
		if (i % PER_BUS == 0)
			fprintf(f, "%s{ \"name\": \"b%ld\", \"transport\": \"tcp\", \"host\": "
				"\"10.0.%ld.%ld\", \"devices\": [\n", i ? "] },\n" : "",
				i / PER_BUS, i / PER_BUS / 250, i / PER_BUS % 250 + 1);
		fprintf(f, "%s{ \"id\": \"d%ld\", \"definition\": \"x\", \"unit_id\": %ld }\n",
			i % PER_BUS ? "," : "", i, i % PER_BUS + 1);
	}
	fputs("] } ],\n \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", "
	      "\"broker\": \"h\" } ] }\n", f);
	fclose(f);

	fb_diag_init(&d);
	t0 = now_s();
	c = fb_config_load(path, &d);
	t1 = now_s();
	printf("fb_config_load: %ld devices on %ld buses: %.3f s, %zu errors, %zu warnings\n",
	       n, (n + PER_BUS - 1) / PER_BUS, t1 - t0, d.errors, d.warnings);
	fb_config_free(c);
	fb_diag_free(&d);
	unlink(path);
	rmdir(dir);
	return c ? 0 : 1;
}
