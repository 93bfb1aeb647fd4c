/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a backup bundle as POST restore receives it from the
 * network (fieldbridge-web): parsed as JSON, then fb_edit_restore, which
 * must refuse every path outside the config dir and every malformed file
 * entry, and validate the rest with the loader before writing.  The config
 * dir is the process's private directory, with a minimal main file that
 * is put back after each input. */
#include "fuzz_util.h"
#include "config_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (64 * 1024)

static const char MAIN[] =
	"{ \"gateway\": { \"id\": \"fz\", \"state_dir\": \"state\", \"runtime_dir\": \"run\" },\n"
	"  \"buses\": [], \"connections\": [] }\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512], *text;
	struct fb_diag d;
	struct fb_edit *e;
	cJSON *bundle;
	size_t written = 0, removed = 0;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (fuzz_dir_write("fieldbridge.json", (const uint8_t *)MAIN, sizeof(MAIN) - 1, path,
			   sizeof(path)) < 0)
		abort();
	if (!(text = fuzz_strndup(data, size)))
		return 0;
	bundle = cJSON_Parse(text);
	free(text);
	fb_diag_init(&d);
	e = fb_edit_open(path, &d);
	if (e && bundle)
		fb_edit_restore(e, bundle, &written, &removed, &d);
	fb_edit_close(e);
	cJSON_Delete(bundle);
	fb_diag_free(&d);
	return 0;
}
