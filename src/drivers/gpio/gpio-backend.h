/* SPDX-License-Identifier: Apache-2.0 */
/* The one interface between fieldbridge-gpio and libgpiod.  libgpiod 1.6
 * (Debian/Raspberry Pi OS bookworm) and 2.x (trixie) differ in every call,
 * so gpio_backend_v1.c and gpio_backend_v2.c implement this header and
 * CMake compiles whichever matches the installed library.  Only the
 * character device is used (never sysfs).
 *
 * Values are logical: with active_low the kernel inverts them, so 1 always
 * means "active".  Edge timestamps are CLOCK_MONOTONIC in ns (the kernel's
 * default for both uAPI versions), comparable with fb_mono_ms() * 1e6.
 *
 * Errors: -1 / NULL with errno set (EBUSY: line in use, ENOENT: no such
 * line).  Nothing here prints. */
#ifndef FB_GPIO_BACKEND_H
#define FB_GPIO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct gl_chip;   /* an open chip; opaque */
struct gl_line;   /* one requested line; opaque */

struct gl_line_req {
	unsigned offset;
	const char *consumer;     /* shown by gpioinfo; borrowed */
	bool output;
	bool initial;             /* outputs: logical value set by the request itself */
	bool active_low;
	enum fb_gpio_bias bias;
	bool edges;               /* inputs: report both edges */
};

struct gl_edge {
	int64_t ts_ns;            /* CLOCK_MONOTONIC */
	bool active;              /* logical level after the edge */
};

/* "libgpiod 1.6.3" / "libgpiod 2.x"; static string. */
const char *gl_backend_name(void);

/* Opens a chip by path ("/dev/gpiochip0").  Caller frees with
 * gl_chip_close (which accepts NULL). */
struct gl_chip *gl_chip_open(const char *path);
void gl_chip_close(struct gl_chip *c);
const char *gl_chip_label(const struct gl_chip *c);   /* borrowed */
unsigned gl_chip_num_lines(const struct gl_chip *c);
/* Offset of the line called `name`, or -1 with errno ENOENT. */
int gl_chip_find_line(struct gl_chip *c, const char *name);
/* Name (empty if unnamed) and consumer (empty if unused) of a line. */
int gl_chip_line_info(struct gl_chip *c, unsigned offset, char *name, size_t name_len,
		      bool *used, char *consumer, size_t consumer_len);

/* Requests one line; an output is driven to req->initial by the request
 * itself, so it never shows another value first.  Caller frees with
 * gl_line_release (accepts NULL), before closing the chip. */
struct gl_line *gl_line_request(struct gl_chip *c, const struct gl_line_req *req);
void gl_line_release(struct gl_line *l);
/* Readable when edge events are waiting.  Owned by the line. */
int gl_line_fd(const struct gl_line *l);
/* Logical value 0/1, or -1. */
int gl_line_get(struct gl_line *l);
int gl_line_set(struct gl_line *l, bool active);
/* Reads up to n queued edges without blocking; returns how many, or -1. */
int gl_line_read_edges(struct gl_line *l, struct gl_edge *out, size_t n);

#endif
