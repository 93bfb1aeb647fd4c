/* SPDX-License-Identifier: Apache-2.0 */
/* How a reader learns that the table changed: it watches the table file
 * with inotify, and the driver touches the file's times (futimens) after
 * writing, which the kernel turns into an IN_ATTRIB event for every
 * watcher.  The reader's poll() wakes on it directly.
 *
 * Why not a futex: a futex cannot sit in a poll set, so each reader had a
 * thread that slept on it and wrote an eventfd: two wake-ups per change
 * (the thread, then the loop) where this takes one.  The driver still
 * knows nothing of its readers (no registration, no fds passed, nothing
 * that can block on a slow one); the kernel delivers the event to whoever
 * watches, and merges repeated events that were not read yet.
 *
 * The watch is an epoll set of the inotify fd and an eventfd, so a reader
 * can also wake itself (after attach: "read everything once"). */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table-internal.h"

/* IN_ATTRIB: the driver's futimens, and the unlink of an exiting driver
 * (the link count); IN_MODIFY: a truncation. */
#define WATCH_EVENTS (IN_ATTRIB | IN_MODIFY)

void fb_table_wake_readers(int table_fd)
{
	/* The writer owns the file; failure leaves readers to their next
	 * wake-up for another reason (the heartbeat watch), nothing worse. */
	(void)futimens(table_fd, NULL);
}

static int add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int fb_table_watch_open(struct fb_table_watch *w, int table_fd, const char *path)
{
	char self[40];
	int err;

	w->kicked = false;
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->kfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->ifd < 0 || w->kfd < 0 || w->epfd < 0)
		goto fail;
	/* The open file itself, not the name: a new table may already have
	 * taken the name.  The name only where /proc is not mounted; the
	 * follower notices a replaced table by its generation all the same. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", table_fd);
	if (inotify_add_watch(w->ifd, self, WATCH_EVENTS) < 0 &&
	    inotify_add_watch(w->ifd, path, WATCH_EVENTS) < 0)
		goto fail;
	if (add(w->epfd, w->ifd) < 0 || add(w->epfd, w->kfd) < 0)
		goto fail;
	return 0;
fail:
	err = errno;
	fb_table_watch_close(w);
	errno = err;
	return -1;
}

void fb_table_watch_kick(struct fb_table_watch *w)
{
	uint64_t one = 1;

	/* EAGAIN only: already readable. */
	if (write(w->kfd, &one, sizeof(one)) == (ssize_t)sizeof(one) || errno == EAGAIN)
		w->kicked = true;
}

void fb_table_watch_drain(struct fb_table_watch *w)
{
	/* A file watch has no names: events are 16 bytes, and unread
	 * identical ones are merged, so one read takes them all. */
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uint64_t n;

	while (read(w->ifd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
		;
	if (w->kicked) {
		w->kicked = false;
		(void)!read(w->kfd, &n, sizeof(n));
	}
}

int fb_table_watch_fd(const struct fb_table_watch *w)
{
	return w->epfd;
}

void fb_table_watch_close(struct fb_table_watch *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->kfd >= 0)
		close(w->kfd);
	w->epfd = w->ifd = w->kfd = -1;
	w->kicked = false;
}
