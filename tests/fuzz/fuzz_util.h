/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the fuzz targets: the loaders under test read files, so an
 * input becomes a file without leaving the process (a memfd) or inside one
 * private temporary directory that is removed at exit. */
#ifndef FB_FUZZ_UTIL_H
#define FB_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Every target defines this (libFuzzer's entry point); replay.c calls it
 * on saved inputs in builds without libFuzzer. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data to the process's one memfd and stores "/proc/self/fd/N" in
 * path.  Returns 0, or -1 with errno. */
int fuzz_memfd_file(const uint8_t *data, size_t size, char *path, size_t len);

/* The process's private directory (mkdtemp under $TMPDIR or /tmp), created
 * on first use and removed with every file fuzz_dir_write put in it at
 * exit.  Borrowed; NULL with errno if it cannot be created. */
const char *fuzz_dir(void);

/* Writes data to <fuzz_dir()>/name (a plain name, no '/') and stores the
 * full path in path.  Returns 0, or -1 with errno. */
int fuzz_dir_write(const char *name, const uint8_t *data, size_t size, char *path,
		   size_t len);

/* Makes <fuzz_dir()>/name a symbolic link to target.  Returns 0 or -1. */
int fuzz_dir_link(const char *name, const char *target);

/* A NUL-terminated copy of data (caller frees), NULL on ENOMEM. */
char *fuzz_strndup(const uint8_t *data, size_t size);

#endif
