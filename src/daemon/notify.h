/* SPDX-License-Identifier: Apache-2.0 */
/* The systemd service notification protocol (sd_notify(3)): one datagram of
 * "KEY=VALUE\n" lines to the AF_UNIX socket named by $NOTIFY_SOCKET, a path
 * or, with a leading '@', an abstract socket.  Written by hand instead of
 * linking libsystemd: the protocol is a documented, stable interface of a
 * few lines, and the daemons keep their dependencies to what they use.
 *
 * Every call is a no-op returning 0 when $NOTIFY_SOCKET is unset (not run by
 * systemd, or a Type= that does not listen).  Returns 1 when the message was
 * sent, -1 with errno on failure; a daemon logs a failure and carries on.
 * Nothing is kept between calls: each opens, sends and closes its socket. */
#ifndef FB_NOTIFY_H
#define FB_NOTIFY_H

#include <stdint.h>

/* Sends `state` as it is (one or more "KEY=VALUE" lines). */
int fb_notify(const char *state);

/* READY=1: the daemon serves (units with Type=notify count as started). */
int fb_notify_ready(void);

/* STATUS=<text>, shown by `systemctl status`; printf-style, one line (a
 * newline in the text ends it). */
int fb_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* WATCHDOG=1: the main loop is alive. */
int fb_notify_watchdog(void);

/* The watchdog interval systemd expects pings within (WatchdogSec=), from
 * $WATCHDOG_USEC when $WATCHDOG_PID is unset or this process.  Returns the
 * interval in microseconds, or 0 when no watchdog applies. */
uint64_t fb_notify_watchdog_usec(void);

#endif
