/* SPDX-License-Identifier: Apache-2.0 */
/* Hermetic fixtures for the config tests: each test writes its files into
 * a fresh mkdtemp directory and removes it afterwards. */
#ifndef FB_CONFIG_TESTUTIL_H
#define FB_CONFIG_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "testlib.h"

struct tdir {
	char path[256];
};

static inline void td_make(struct tdir *t)
{
	const char *base = getenv("TMPDIR");

	snprintf(t->path, sizeof(t->path), "%s/fb-config-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(t->path)) {
		perror("mkdtemp");
		exit(1);
	}
}

/* Writes `rel` (creating one level of subdirectory) with `mode`; the full
 * path goes to out if given. */
static inline void td_write(const struct tdir *t, const char *rel, const char *text,
			    mode_t mode, char *out, size_t outlen)
{
	char p[512];
	const char *slash = strrchr(rel, '/');
	int fd;

	if (slash) {
		snprintf(p, sizeof(p), "%s/%.*s", t->path, (int)(slash - rel), rel);
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			perror(p);
			exit(1);
		}
	}
	snprintf(p, sizeof(p), "%s/%s", t->path, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(p);
		exit(1);
	}
	fchmod(fd, mode); /* umask must not decide a permission test */
	close(fd);
	if (out)
		snprintf(out, outlen, "%s", p);
}

static inline void td_path(const struct tdir *t, const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", t->path, rel);
}

static inline int td_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static inline void td_remove(struct tdir *t)
{
	nftw(t->path, td_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes fieldbridge.json and loads it. */
static inline struct fb_config *td_load_text(const struct tdir *t, const char *text,
					     struct fb_diag *d)
{
	char p[512];

	td_write(t, "fieldbridge.json", text, 0600, p, sizeof(p));
	return fb_config_load(p, d);
}

static inline void diag_dump(const struct fb_diag *d)
{
	for (size_t i = 0; i < d->count; i++)
		fprintf(stderr, "    [%s] %s\n",
			d->entries[i].severity == FB_SEV_ERROR ? "error" : "warning",
			d->entries[i].message);
}

static inline const char *diag_find(const struct fb_diag *d, enum fb_severity sev,
				    const char *needle)
{
	for (size_t i = 0; i < d->count; i++)
		if (d->entries[i].severity == sev && strstr(d->entries[i].message, needle))
			return d->entries[i].message;
	return NULL;
}

/* Asserts that diag holds a message of severity sev containing needle. */
#define CHECK_DIAG(d, sev, needle) do { \
	if (diag_find((d), (sev), (needle))) { fb_test_counts_.passed++; } \
	else { fb_test_counts_.failed++; \
	       fprintf(stderr, "%s:%d: no %s containing \"%s\"; have:\n", __FILE__, \
		       __LINE__, (sev) == FB_SEV_ERROR ? "error" : "warning", (needle)); \
	       diag_dump(d); } \
} while (0)

#endif
