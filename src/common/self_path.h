/* SPDX-License-Identifier: Apache-2.0 */
/* Programs beside this one: fieldbridgectl and fieldbridge-web run
 * fieldbridge-export --test, installed in the same directory as they are. */
#ifndef FB_SELF_PATH_H
#define FB_SELF_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* "<directory of this executable>/<rel>" into out; true if that is an
 * executable file. */
bool fb_self_sibling(const char *rel, char *out, size_t len);

/* Where to run program `name` from: $env_var if set (tests), else beside
 * this executable (installed), else at build_rel from it (the build tree,
 * e.g. "../ctl/fieldbridgectl"), else the bare name (PATH). */
void fb_program_path(const char *env_var, const char *name, const char *build_rel,
		     char *out, size_t len);

#endif
