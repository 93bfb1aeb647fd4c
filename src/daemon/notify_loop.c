/* SPDX-License-Identifier: Apache-2.0 */
/* A daemon loop's notifications to systemd (see notify.h). */
#include "notify.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A failed send is logged once: systemd gone away (or a test that stopped
 * listening) is no reason to stop serving, nor to flood the log. */
static void send_state(struct fb_notify_loop *n, const char *state)
{
	if (fb_notify(state) >= 0 || n->failed)
		return;
	n->failed = true;
	fb_log_errno(FB_LOG_WARNING, "sd_notify to $NOTIFY_SOCKET failed (logged once)");
}

void fb_notify_loop_init(struct fb_notify_loop *n, int64_t now_ms)
{
	uint64_t usec = fb_notify_watchdog_usec();

	memset(n, 0, sizeof(*n));
	n->watchdog_ms = usec ? (int64_t)(usec / 1000) : 0;
	/* Below 4 ms a quarter would be 0: ping on every pass. */
	if (usec && n->watchdog_ms < 4)
		n->watchdog_ms = 4;
	n->pinged_ms = now_ms;
}

int64_t fb_notify_loop_watchdog(struct fb_notify_loop *n, int64_t now_ms)
{
	if (!n->watchdog_ms)
		return 0;
	if (now_ms - n->pinged_ms >= n->watchdog_ms / 4) {
		send_state(n, "WATCHDOG=1");
		n->pinged_ms = now_ms;
	}
	return n->pinged_ms + n->watchdog_ms / 2;
}

void fb_notify_loop_status(struct fb_notify_loop *n, const char *fmt, ...)
{
	char text[sizeof(n->status)], msg[sizeof(n->status) + 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* One line: systemd would read a second one as another key. */
	text[strcspn(text, "\n")] = '\0';
	if (!strcmp(text, n->status))
		return;
	memcpy(n->status, text, sizeof(text));
	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	send_state(n, msg);
}

void fb_notify_loop_ready(struct fb_notify_loop *n)
{
	char msg[sizeof(n->status) + 16];

	if (n->ready)
		return;
	n->ready = true;
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", n->status);
	send_state(n, msg);
}

void fb_notify_loop_stopping(struct fb_notify_loop *n)
{
	snprintf(n->status, sizeof(n->status), "stopping");
	send_state(n, "STOPPING=1\nSTATUS=stopping");
}
