/* SPDX-License-Identifier: Apache-2.0 */
/* Every shipped definition (the .json files in devices/) loads with no error and no
 * warning, every point of a Modbus definition is checked by at least one
 * test vector, and every vector passes when decoded by the real codec.
 * A failure names the file, the vector, the point and the value got vs the
 * value expected (the messages of fb_model_run_vectors). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "testlib.h"

#ifndef FB_SOURCE_DIR
#error "FB_SOURCE_DIR must name the source tree"
#endif

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_file(const char *path, size_t *vectors, size_t *captured)
{
	struct fb_diag d;
	struct fb_definition *def;
	struct fb_vector_report rep;

	fb_diag_init(&d);
	def = fb_model_load(path, &d);
	fb_diag_print(&d, stderr);
	CHECK(def != NULL);
	CHECK_EQ_INT(d.errors, 0);
	CHECK_EQ_INT(d.warnings, 0);
	if (!def) {
		fb_diag_free(&d);
		return;
	}
	if (!strcmp(def->protocol, "modbus")) {
		if (!def->nvectors)
			fprintf(stderr, "%s: no test vectors (\"tests\")\n", path);
		CHECK(def->nvectors > 0);
		for (size_t i = 0; i < def->npoints; i++) {
			/* A raw-request button reads no register: nothing to decode. */
			bool has = def->points[i].request_len ||
				   fb_model_point_has_vector(def, i);

			if (!has)
				fprintf(stderr, "%s: points[%zu] (%s): no test vector checks "
					"this point\n", path, i, def->points[i].key);
			CHECK(has);
		}
	}
	fb_diag_free(&d);
	fb_diag_init(&d);
	CHECK_EQ_INT(fb_model_run_vectors(def, &d, &rep), 0);
	fb_diag_print(&d, stderr);
	CHECK_EQ_INT(d.errors, 0);
	CHECK_EQ_INT(rep.vectors, def->nvectors);
	*vectors += rep.vectors;
	*captured += rep.captured;
	printf("%-44s %3zu points %2zu vectors (%zu captured) %3zu checks\n", def->id,
	       def->npoints, rep.vectors, rep.captured, rep.checks);
	fb_diag_free(&d);
	fb_model_free(def);
}

int main(void)
{
	const char *dir = FB_SOURCE_DIR "/devices";
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **names = NULL, path[1024];
	size_t n = 0, vectors = 0, captured = 0;

	CHECK(dh != NULL);
	if (!dh)
		return fb_test_finish();
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);

		if (len > 5 && !strcmp(de->d_name + len - 5, ".json")) {
			names = realloc(names, (n + 1) * sizeof(*names));
			names[n++] = strdup(de->d_name);
		}
	}
	closedir(dh);
	qsort(names, n, sizeof(*names), by_name);
	CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		check_file(path, &vectors, &captured);
		free(names[i]);
	}
	free(names);
	printf("%zu definitions, %zu vectors, %zu captured from real devices\n", n, vectors,
	       captured);
	return fb_test_finish();
}
