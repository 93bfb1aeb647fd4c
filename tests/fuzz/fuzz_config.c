/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a main configuration file through fb_config_check, which is
 * what --check runs: fb_config_load, the definitions of every device
 * (the shipped devices/ directory sits beside the file), each serial bus's
 * airtime plan and each connection's user in the shipped users.json. */
#include "fuzz_util.h"
#include "config.h"
#include "config_tls.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (64 * 1024)

/* The fuzzed file's neighbours, put into the private directory once. */
static void setup_dir(void)
{
	static int done;
	char path[PATH_MAX], *users;
	size_t len;
	FILE *f;

	if (done)
		return;
	done = 1;
	if (fuzz_dir_link("devices", FB_SOURCE_DIR "/devices") < 0)
		abort();
	f = fopen(FB_SOURCE_DIR "/conf/users.json", "rb");
	if (!f)
		abort();
	users = malloc(FUZZ_MAX_INPUT);
	len = users ? fread(users, 1, FUZZ_MAX_INPUT, f) : 0;
	fclose(f);
	if (!users || fuzz_dir_write("users.json", (const uint8_t *)users, len, path,
				     sizeof(path)) < 0)
		abort();
	free(users);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fb_config_checks checks = {
		.airtime = true, .users = true, .tls = fb_config_tls_check,
	};
	struct fb_diag diag;
	char path[PATH_MAX];

	if (size > FUZZ_MAX_INPUT)
		return 0;
	setup_dir();
	if (fuzz_dir_write("fieldbridge.json", data, size, path, sizeof(path)) < 0)
		abort();
	fb_diag_init(&diag);
	fb_config_check(path, NULL, NULL, &checks, &diag);
	fb_diag_free(&diag);
	return 0;
}
