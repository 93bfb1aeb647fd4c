/* SPDX-License-Identifier: Apache-2.0 */
/* The users file: gateway accounts, their hashed passwords (for the web
 * page) and their rights on devices and points.  Format: docs/configuration.md
 * ("Users file").
 *
 *   { "users": [ { "name": "homeassistant",
 *                  "password_hash": "$6$...",          crypt(3), optional
 *                  "rights": { "*": "read", "relays": "write",
 *                              "meter/energy_*": "none" } } ] }
 *
 * A rights key is a device pattern ("relays", "relay*") or a device/point
 * pattern ("meter/voltage", "*\/relay_1"), with fnmatch(3) wildcards * ? [].
 * The most specific matching key wins: a device/point key beats a device
 * key, then the longer key wins, then the later one.  Nothing matching
 * means "none": a user sees only what the file grants.
 *
 * Memory: fb_users_load returns a list the caller frees with fb_users_free;
 * users returned by fb_users_find are borrowed from it.
 * Errors: loaders add every problem to diag and return NULL on any error. */
#ifndef FB_USERS_H
#define FB_USERS_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

enum fb_access { FB_ACCESS_NONE = 0, FB_ACCESS_READ, FB_ACCESS_WRITE };

struct fb_users;
struct fb_user;

struct fb_users *fb_users_load(const char *path, struct fb_diag *diag);
void fb_users_free(struct fb_users *u); /* accepts NULL */

/* NULL if there is no such user. */
const struct fb_user *fb_users_find(const struct fb_users *u, const char *name);

/* A user name: 1..64 of a-z, A-Z, 0-9 and "_.-@" (what the file accepts;
 * tools check new names with it). */
bool fb_users_name_valid(const char *s);
size_t fb_users_count(const struct fb_users *u);

/* The user's right on one point of a device. */
enum fb_access fb_user_access(const struct fb_user *u, const char *device,
			      const char *point);

/* True if `password` matches the stored hash; false without a hash. */
bool fb_user_password_ok(const struct fb_user *u, const char *password);

/* A new SHA-512 crypt(3) hash of `password` into out (>= 128 bytes is
 * enough).  Returns 0, or -1 with errno. */
int fb_users_hash_password(const char *password, char *out, size_t len);

const char *fb_access_name(enum fb_access a);

#endif
