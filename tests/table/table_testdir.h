/* SPDX-License-Identifier: Apache-2.0 */
/* A private runtime directory for the table tests: every table a test
 * binary makes lives in one mkdtemp directory (0700, ours), removed with
 * everything in it when the binary exits.  Forked children never remove it. */
#ifndef FB_TABLE_TESTDIR_H
#define FB_TABLE_TESTDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fbt_dir_[64];
static pid_t fbt_owner_;

static void fbt_cleanup(void)
{
	DIR *d;
	struct dirent *e;

	if (!fbt_dir_[0] || getpid() != fbt_owner_)
		return;
	d = opendir(fbt_dir_);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..")))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(fbt_dir_);
}

/* The directory, created at the first call. */
static const char *fbt_dir(void)
{
	if (!fbt_dir_[0]) {
		snprintf(fbt_dir_, sizeof(fbt_dir_), "/tmp/fbtable-XXXXXX");
		if (!mkdtemp(fbt_dir_)) {
			perror("mkdtemp");
			exit(1);
		}
		fbt_owner_ = getpid();
		atexit(fbt_cleanup);
	}
	return fbt_dir_;
}

#endif
