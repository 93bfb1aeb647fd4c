/* SPDX-License-Identifier: Apache-2.0 */
/* sd_notify by hand (why: notify.h). */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int fb_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n, len = strlen(state);
	socklen_t salen;
	ssize_t sent;
	int fd, err;

	if (!path || !*path)
		return 0;
	n = strlen(path);
	/* A path must be absolute; '@' names an abstract socket, whose name
	 * starts with a NUL byte and is not NUL-terminated. */
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n > sizeof(sa.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	/* The length counts the name only: an abstract name's bytes are all
	 * significant, and Linux needs no terminating NUL after a path. */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* MSG_NOSIGNAL: a vanished listener is an error, not a SIGPIPE. */
	sent = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
	err = errno;
	close(fd);
	if (sent < 0) {
		errno = err;
		return -1;
	}
	if ((size_t)sent != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 1;
}

int fb_notify_ready(void)
{
	return fb_notify("READY=1");
}

int fb_notify_watchdog(void)
{
	return fb_notify("WATCHDOG=1");
}

int fb_notify_status(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	memcpy(buf, "STATUS=", 7);
	va_start(ap, fmt);
	n = vsnprintf(buf + 7, sizeof(buf) - 7, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	/* One status line: systemd would read a second line as another key. */
	buf[7 + strcspn(buf + 7, "\n")] = '\0';
	return fb_notify(buf);
}

uint64_t fb_notify_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!usec || !*usec)
		return 0;
	/* WATCHDOG_PID names the process the watchdog is for; a child that
	 * inherited the environment must not ping in its parent's name. */
	if (pid && *pid) {
		errno = 0;
		v = strtoull(pid, &end, 10);
		if (errno || *end || v != (unsigned long long)getpid())
			return 0;
	}
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || usec[0] == '-')
		return 0;
	return (uint64_t)v;
}
