/* SPDX-License-Identifier: Apache-2.0 */
/* The sd_notify module against a real listener: the test binds its own
 * datagram socket (a path, then an abstract name), points NOTIFY_SOCKET at
 * it and reads what arrives, as systemd would. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "testlib.h"

/* Binds a datagram socket to `name` ("/path" or "@abstract"); -1 on error. */
static int listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || n > sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	if (bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next datagram, NUL-terminated, or "" after 2 s without one. */
static const char *receive(int fd)
{
	static char buf[1024];
	struct timeval tv = { .tv_sec = 2 };
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void each_message_arrives(int fd)
{
	CHECK_EQ_INT(fb_notify_ready(), 1);
	CHECK(!strcmp(receive(fd), "READY=1"));
	CHECK_EQ_INT(fb_notify_watchdog(), 1);
	CHECK(!strcmp(receive(fd), "WATCHDOG=1"));
	CHECK_EQ_INT(fb_notify_status("%d devices online, %d errors", 3, 0), 1);
	CHECK(!strcmp(receive(fd), "STATUS=3 devices online, 0 errors"));
	/* A second line would be read as another key: it is cut. */
	CHECK_EQ_INT(fb_notify_status("bus %s\nREADY=1", "meters"), 1);
	CHECK(!strcmp(receive(fd), "STATUS=bus meters"));
	CHECK_EQ_INT(fb_notify("RELOADING=1\nSTATUS=reloading"), 1);
	CHECK(!strcmp(receive(fd), "RELOADING=1\nSTATUS=reloading"));
}

static void path_socket(void)
{
	char dir[] = "/tmp/fb-notify-XXXXXX", path[64];
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	if (fd >= 0)
		each_message_arrives(fd);
	close(fd);
	unlink(path);
	rmdir(dir);
}

static void abstract_socket(void)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@fb-notify-test-%ld", (long)getpid());
	fd = listener(name);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", name, 1);
	if (fd >= 0)
		each_message_arrives(fd);
	close(fd);
}

static void unset_socket_is_a_no_op(void)
{
	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ_INT(fb_notify_ready(), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CHECK_EQ_INT(fb_notify_watchdog(), 0);
}

static void bad_or_absent_listener_fails(void)
{
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	errno = 0;
	CHECK_EQ_INT(fb_notify_ready(), -1);
	CHECK_EQ_INT(errno, EINVAL);
	setenv("NOTIFY_SOCKET", "/nonexistent/fb-notify", 1);
	errno = 0;
	CHECK_EQ_INT(fb_notify_ready(), -1);
	CHECK_EQ_INT(errno, ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

static void watchdog_interval(void)
{
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	CHECK_EQ_INT(fb_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "8000000", 1);
	CHECK_EQ_INT(fb_notify_watchdog_usec(), 8000000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	CHECK_EQ_INT(fb_notify_watchdog_usec(), 8000000);
	/* Meant for another process (the parent that exec'd us). */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	CHECK_EQ_INT(fb_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "8s", 1);
	CHECK_EQ_INT(fb_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}

/* True if no datagram is waiting. */
static bool nothing_queued(int fd)
{
	char b[64];

	return recv(fd, b, sizeof(b), MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* The loop helper: each change once, the watchdog as a deadline. */
static void loop_sends_each_change_once(void)
{
	char dir[] = "/tmp/fb-notify-XXXXXX", path[64];
	struct fb_notify_loop n;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	setenv("NOTIFY_SOCKET", path, 1);
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	/* No watchdog: no deadline, so an idle loop sleeps on. */
	fb_notify_loop_init(&n, 1000);
	CHECK_EQ_INT(fb_notify_loop_watchdog(&n, 5000), 0);
	CHECK(nothing_queued(fd));

	setenv("WATCHDOG_USEC", "400000", 1);
	fb_notify_loop_init(&n, 1000);
	/* Due 200 ms (half) after the last ping; a pass after 100 ms (a
	 * quarter) pings early instead of waking up later. */
	CHECK_EQ_INT(fb_notify_loop_watchdog(&n, 1050), 1200);
	CHECK(nothing_queued(fd));
	CHECK_EQ_INT(fb_notify_loop_watchdog(&n, 1100), 1300);
	CHECK(!strcmp(receive(fd), "WATCHDOG=1"));
	CHECK_EQ_INT(fb_notify_loop_watchdog(&n, 1300), 1500);
	CHECK(!strcmp(receive(fd), "WATCHDOG=1"));

	fb_notify_loop_status(&n, "%d of %d devices online", 2, 3);
	CHECK(!strcmp(receive(fd), "STATUS=2 of 3 devices online"));
	fb_notify_loop_status(&n, "%d of %d devices online", 2, 3);
	CHECK(nothing_queued(fd));
	fb_notify_loop_ready(&n);
	CHECK(!strcmp(receive(fd), "READY=1\nSTATUS=2 of 3 devices online"));
	fb_notify_loop_ready(&n);
	CHECK(nothing_queued(fd));
	fb_notify_loop_status(&n, "bus down\nREADY=1");
	CHECK(!strcmp(receive(fd), "STATUS=bus down"));
	fb_notify_loop_stopping(&n);
	CHECK(!strcmp(receive(fd), "STOPPING=1\nSTATUS=stopping"));
	/* A listener that went away is logged once; the loop carries on. */
	close(fd);
	unlink(path);
	fb_notify_loop_status(&n, "gone");
	CHECK(n.failed);
	CHECK(!strcmp(n.status, "gone"));
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	rmdir(dir);
}

int main(void)
{
	RUN_TEST(path_socket);
	RUN_TEST(abstract_socket);
	RUN_TEST(unset_socket_is_a_no_op);
	RUN_TEST(bad_or_absent_listener_fails);
	RUN_TEST(watchdog_interval);
	RUN_TEST(loop_sends_each_change_once);
	return fb_test_finish();
}
