/* SPDX-License-Identifier: Apache-2.0 */
/* The definitions a scan can propose: those with an identify block. */
#include "scan.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

size_t mb_scan_defs_load(const char *const *dirs, size_t ndirs, struct fb_definition ***out)
{
	struct fb_definition **defs = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < ndirs; i++) {
		DIR *dir = opendir(dirs[i]);
		struct dirent *e;

		while (dir && (e = readdir(dir))) {
			size_t len = strlen(e->d_name);
			char path[4096];
			struct fb_diag d;
			struct fb_definition *def;

			if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
			fb_diag_init(&d);
			def = fb_model_load(path, &d);
			fb_diag_free(&d);
			if (!def || !def->nidentify) {
				fb_model_free(def);
				continue;
			}
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct fb_definition **g = realloc(defs, ncap * sizeof(*g));

				if (!g) {
					fb_model_free(def);
					break;
				}
				defs = g;
				cap = ncap;
			}
			defs[n++] = def;
		}
		if (dir)
			closedir(dir);
	}
	*out = defs;
	return n;
}

void mb_scan_defs_free(struct fb_definition **defs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fb_model_free(defs[i]);
	free(defs);
}
