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

#endif
