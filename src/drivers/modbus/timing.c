/* SPDX-License-Identifier: Apache-2.0 */
/* Serial line timing, Modbus over serial line V1.02 §2.5.1.1: frames are
 * separated by at least 3.5 character times of silence (t3.5); above 19200
 * baud a fixed 1.75 ms is used.  libmodbus does not wait between frames
 * itself, so the driver remembers when the line last went quiet and sleeps
 * (in ppoll on the command fd, so a queued write is still noticed) until
 * t3.5 plus the device's guard time has passed. */
#include "modbus-internal.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mb_pace_mark(struct mb_driver *d, int guard_ms)
{
	d->bus_free_ns = mono_ns() + (int64_t)d->t35_us * 1000 + (int64_t)guard_ms * 1000000;
}

void mb_pace_delay(struct mb_driver *d, int ms)
{
	int64_t at = mono_ns() + (int64_t)ms * 1000000;

	if (at > d->bus_free_ns)
		d->bus_free_ns = at;
}

int mb_pace_wait(struct mb_driver *d, bool interruptible)
{
	/* A standalone scan has no table: it never asks to be interrupted. */
	struct pollfd pfd = { .fd = interruptible ? fb_table_command_fd(d->table) : -1,
			      .events = POLLIN };

	for (;;) {
		int64_t left = d->bus_free_ns - mono_ns();
		struct timespec ts;
		int rc;

		if (left <= 0)
			return 0;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		rc = ppoll(interruptible ? &pfd : NULL, interruptible ? 1 : 0, &ts, NULL);
		if (rc > 0) {
			d->command_fd_ready = true;
			return 1;
		}
		if (rc < 0 && errno != EINTR)
			return 0;
	}
}
