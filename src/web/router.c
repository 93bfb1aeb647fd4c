/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1 paths to routes.  Arguments are percent-decoded here, once, and
 * refused if they could name something other than one object. */
#include "web-internal.h"

#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Splits path into at most 8 decoded segments; -1 on a bad one. */
static int split(const char *path, char seg[][WEB_ARG_MAX], int max)
{
	int n = 0;

	while (*path == '/')
		path++;
	while (*path) {
		size_t len = 0;

		if (n == max)
			return -1;
		while (*path && *path != '/') {
			int c = (unsigned char)*path;

			if (c == '%') {
				int h = hexval(path[1]), l = h < 0 ? -1 : hexval(path[2]);

				if (l < 0)
					return -1;
				c = h * 16 + l;
				path += 2;
			}
			if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || len + 1 >= WEB_ARG_MAX)
				return -1;
			seg[n][len++] = (char)c;
			path++;
		}
		seg[n][len] = '\0';
		if (!len || !strcmp(seg[n], ".") || !strcmp(seg[n], ".."))
			return -1;
		n++;
		if (*path == '/')
			path++;
	}
	return n;
}

void web_router_match(const char *path, struct web_match *m)
{
	char seg[8][WEB_ARG_MAX];
	int n = split(path, seg, 8);

	memset(m, 0, sizeof(*m));
	if (n <= 0)
		return;
#define IS(i, s) (!strcmp(seg[i], s))
#define ARG(k, i) memcpy(m->arg[k], seg[i], WEB_ARG_MAX)
	if (n == 1) {
		static const struct { const char *name; enum web_route r; } one[] = {
			{ "session", WEB_R_SESSION }, { "setup", WEB_R_SETUP },
			{ "status", WEB_R_STATUS }, { "schema", WEB_R_SCHEMA },
			{ "config", WEB_R_CONFIG }, { "connections", WEB_R_CONNECTIONS },
			{ "buses", WEB_R_BUSES }, { "users", WEB_R_USERS },
			{ "events", WEB_R_EVENTS }, { "changes", WEB_R_CHANGES },
			{ "apply", WEB_R_APPLY }, { "logs", WEB_R_LOGS },
			{ "definitions", WEB_R_DEFINITIONS }, { "serial-ports", WEB_R_SERIAL_PORTS },
			{ "gpio-chips", WEB_R_GPIO_CHIPS }, { "backup", WEB_R_BACKUP },
			{ "restore", WEB_R_RESTORE },
			{ "snapshots", WEB_R_SNAPSHOTS }, { "gateway", WEB_R_GATEWAY },
			{ "mbservers", WEB_R_MBSERVERS },
		};
		for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
			if (IS(0, one[i].name))
				m->route = one[i].r;
	} else if (n == 2 && IS(0, "config") && IS(1, "validate")) {
		m->route = WEB_R_CONFIG_VALIDATE;
	} else if (n == 3 && IS(0, "apply") && IS(2, "confirm")) {
		m->route = WEB_R_APPLY_CONFIRM;
		ARG(0, 1);
	} else if (n == 2 && IS(0, "apply") && IS(1, "result")) {
		m->route = WEB_R_APPLY_RESULT;
	} else if (n == 2 && (IS(0, "connections") || IS(0, "buses") || IS(0, "users"))) {
		m->route = IS(0, "connections") ? WEB_R_CONNECTION
			 : IS(0, "buses") ? WEB_R_BUS : WEB_R_USER;
		ARG(0, 1);
	} else if (n == 2 && IS(0, "mbservers")) {
		m->route = WEB_R_MBSERVER;
		ARG(0, 1);
	} else if (n == 3 && IS(0, "connections") && IS(2, "test")) {
		m->route = WEB_R_CONNECTION_TEST;
		ARG(0, 1);
	} else if (n == 3 && IS(0, "snapshots") && IS(2, "restore")) {
		m->route = WEB_R_SNAPSHOT_RESTORE;
		ARG(0, 1);
	} else if (n == 3 && IS(0, "buses") && IS(2, "scan")) {
		m->route = WEB_R_BUS_SCAN;
		ARG(0, 1);
	} else if (n == 3 && IS(0, "buses") && IS(2, "devices")) {
		m->route = WEB_R_DEVICES;
		ARG(0, 1);
	} else if (n == 4 && IS(0, "buses") && IS(2, "devices")) {
		m->route = WEB_R_DEVICE;
		ARG(0, 1);
		ARG(1, 3);
	} else if (n == 5 && IS(0, "buses") && IS(2, "devices") && IS(4, "discovery")) {
		m->route = WEB_R_DISCOVERY;
		ARG(0, 1);
		ARG(1, 3);
	} else if (n == 4 && IS(0, "points")) {
		m->route = WEB_R_POINT;
		ARG(0, 1);
		ARG(1, 2);
		ARG(2, 3);
	}
#undef IS
#undef ARG
}
