/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a users file through fb_users_load, then the rights lookup
 * the exporter makes for every point it publishes or commands. */
#include "fuzz_util.h"
#include "users.h"

#include <stdlib.h>

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "homeassistant", "viewer", "admin", "" };
	static const char *const devices[] = { "relays_1", "sdm120_1", "meter", "r" };
	static const char *const points[] = { "relay_1", "voltage", "energy_total",
					      "_diag_online", "" };
	struct fb_users *users;
	struct fb_diag diag;
	char path[64];

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (fuzz_memfd_file(data, size, path, sizeof(path)) < 0)
		abort();
	fb_diag_init(&diag);
	users = fb_users_load(path, &diag);
	if (users) {
		fb_users_count(users);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const struct fb_user *u = fb_users_find(users, names[i]);

			if (!u)
				continue;
			for (size_t d = 0; d < sizeof(devices) / sizeof(devices[0]); d++)
				for (size_t p = 0; p < sizeof(points) / sizeof(points[0]); p++)
					fb_access_name(fb_user_access(u, devices[d], points[p]));
		}
	}
	fb_users_free(users);
	fb_diag_free(&diag);
	return 0;
}
