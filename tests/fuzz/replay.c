/* SPDX-License-Identifier: Apache-2.0 */
/* Replays saved inputs through a fuzz target's entry point, for builds
 * without libFuzzer (gcc, the sanitizer pass): every file named on the
 * command line, or found in a directory named there, runs once.  A missing
 * directory is skipped (crashes/<target> exists only once a crash was
 * found), but replaying nothing at all fails: such a test could not fail. */
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			uint8_t *nd = realloc(data, cap ? cap * 2 : 4096);

			if (!nd) {
				fclose(f);
				free(data);
				return -1;
			}
			data = nd;
			cap = cap ? cap * 2 : 4096;
		}
		size_t r = fread(data + n, 1, cap - n, f);

		if (!r)
			break;
		n += r;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_hidden(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	size_t total = 0;

	for (int i = 1; i < argc; i++) {
		struct dirent **list;
		struct stat st;
		int n;

		if (stat(argv[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]) < 0)
				return 1;
			total++;
			continue;
		}
		n = scandir(argv[i], &list, not_hidden, name_cmp);
		if (n < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i], list[j]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (replay_file(path) < 0)
					return 1;
				total++;
			}
			free(list[j]);
		}
		free(list);
	}
	if (!total) {
		fprintf(stderr, "replay: no input found in any of the %d paths given\n", argc - 1);
		return 1;
	}
	printf("replayed %zu inputs\n", total);
	return 0;
}
