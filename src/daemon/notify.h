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

#include <stdbool.h>
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

/* What one daemon's poll() loop tells systemd (notify_loop.c), kept in a
 * struct the loop owns: READY=1 once, STATUS= only when its text changes
 * (a loop may offer its status on every pass), WATCHDOG=1 as one more
 * deadline of the loop's own timerfd.  Without $WATCHDOG_USEC there is no
 * deadline at all, so an idle daemon does not wake up for the watchdog. */
struct fb_notify_loop {
	int64_t watchdog_ms;   /* $WATCHDOG_USEC in ms; 0 = no watchdog */
	int64_t pinged_ms;     /* fb_mono_ms of the last WATCHDOG=1 */
	bool ready;            /* READY=1 sent */
	bool failed;           /* a send failed (logged once) */
	char status[256];      /* the last STATUS= text */
};

void fb_notify_loop_init(struct fb_notify_loop *n, int64_t now_ms);
/* Sends WATCHDOG=1 when a quarter of the interval has passed since the
 * last one (a busy loop pings without waking up for it), and returns when
 * the next one is due: half the interval after the last, as sd_watchdog_
 * enabled(3) advises; 0 (none) without a watchdog.  Fold the result into
 * the loop's deadline with fb_deadline_min; cheap enough to call between
 * long blocking steps too. */
int64_t fb_notify_loop_watchdog(struct fb_notify_loop *n, int64_t now_ms);
/* STATUS=<text> if the text differs from the last one sent. */
void fb_notify_loop_status(struct fb_notify_loop *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* READY=1 (with the current status), the first time only. */
void fb_notify_loop_ready(struct fb_notify_loop *n);
/* STOPPING=1: the loop ended; what follows is the daemon's clean-up. */
void fb_notify_loop_stopping(struct fb_notify_loop *n);

#endif
