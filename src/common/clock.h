/* SPDX-License-Identifier: Apache-2.0 */
/* The two clocks of fieldbridge, in milliseconds.  Wall time stamps values
 * for people and other processes (the table's ts_ms, MQTT payloads);
 * monotonic time drives every deadline and timerfd (fb_timerfd_arm), so a
 * clock step never fires or stalls a poll. */
#ifndef FB_CLOCK_H
#define FB_CLOCK_H

#include <stdint.h>

int64_t fb_now_ms(void);       /* CLOCK_REALTIME in ms */
int64_t fb_mono_ms(void);      /* CLOCK_MONOTONIC in ms */

/* The earlier of two deadlines where 0 means "none" (the convention of
 * every timerfd deadline here). */
static inline int64_t fb_deadline_min(int64_t a, int64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

#endif
