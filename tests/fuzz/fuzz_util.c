/* SPDX-License-Identifier: Apache-2.0 */
#include "fuzz_util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_DIR_FILES 8

/* A harness is a process of its own with one input at a time: this state
 * lives as long as the process, as libFuzzer's own does. */
static struct {
	int memfd;
	char dir[PATH_MAX];
	char *names[FUZZ_DIR_FILES];
	size_t nnames;
} fuzz = { .memfd = -1 };

static int write_all(int fd, const uint8_t *data, size_t size)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int fuzz_memfd_file(const uint8_t *data, size_t size, char *path, size_t len)
{
	if (fuzz.memfd < 0) {
		fuzz.memfd = memfd_create("fuzz-input", MFD_CLOEXEC);
		if (fuzz.memfd < 0)
			return -1;
	}
	if (ftruncate(fuzz.memfd, 0) < 0 || write_all(fuzz.memfd, data, size) < 0)
		return -1;
	snprintf(path, len, "/proc/self/fd/%d", fuzz.memfd);
	return 0;
}

static void dir_remove(void)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < fuzz.nnames; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", fuzz.dir, fuzz.names[i]) <
		    (int)sizeof(path))
			unlink(path);
		free(fuzz.names[i]);
	}
	fuzz.nnames = 0;
	rmdir(fuzz.dir);
}

const char *fuzz_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (fuzz.dir[0])
		return fuzz.dir;
	snprintf(fuzz.dir, sizeof(fuzz.dir), "%s/fb-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz.dir)) {
		fuzz.dir[0] = '\0';
		return NULL;
	}
	atexit(dir_remove);
	return fuzz.dir;
}

static int dir_remember(const char *name)
{
	for (size_t i = 0; i < fuzz.nnames; i++)
		if (!strcmp(fuzz.names[i], name))
			return 0;
	if (fuzz.nnames == FUZZ_DIR_FILES || !(fuzz.names[fuzz.nnames] = strdup(name))) {
		errno = ENOMEM;
		return -1;
	}
	fuzz.nnames++;
	return 0;
}

int fuzz_dir_write(const char *name, const uint8_t *data, size_t size, char *path, size_t len)
{
	const char *dir = fuzz_dir();
	FILE *f;
	int rc = 0;

	if (!dir || dir_remember(name) < 0)
		return -1;
	if (snprintf(path, len, "%s/%s", dir, name) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(path, "wb");
	if (!f)
		return -1;
	if (size && fwrite(data, 1, size, f) != size)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

int fuzz_dir_link(const char *name, const char *target)
{
	const char *dir = fuzz_dir();
	char path[PATH_MAX];

	if (!dir || dir_remember(name) < 0)
		return -1;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(path);
	return symlink(target, path);
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
