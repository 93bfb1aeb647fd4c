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

struct gpio_chip;   /* an open chip; opaque */
struct gpio_line;   /* one requested line; opaque */

struct gpio_line_req {
	unsigned offset;
	const char *consumer;     /* shown by gpioinfo; borrowed */
	bool output;
	bool initial;             /* outputs: logical value set by the request itself */
	bool active_low;
	enum fb_gpio_bias bias;
	bool edges;               /* inputs: report both edges */
};

struct gpio_edge {
	int64_t ts_ns;            /* CLOCK_MONOTONIC */
	bool active;              /* logical level after the edge */
};

/* "libgpiod 1.6.3" / "libgpiod 2.x"; static string. */
const char *gpio_backend_name(void);

/* Opens a chip by path ("/dev/gpiochip0").  Caller frees with
 * gpio_chip_close (which accepts NULL). */
struct gpio_chip *gpio_chip_open(const char *path);
void gpio_chip_close(struct gpio_chip *c);
const char *gpio_chip_label(const struct gpio_chip *c);   /* borrowed */
unsigned gpio_chip_num_lines(const struct gpio_chip *c);
/* Offset of the line called `name`, or -1 with errno ENOENT. */
int gpio_chip_find_line(struct gpio_chip *c, const char *name);
/* Name (empty if unnamed) and consumer (empty if unused) of a line. */
int gpio_chip_line_info(struct gpio_chip *c, unsigned offset, char *name, size_t name_len,
			bool *used, char *consumer, size_t consumer_len);

/* Requests one line; an output is driven to req->initial by the request
 * itself, so it never shows another value first.  Caller frees with
 * gpio_line_release (accepts NULL), before closing the chip. */
struct gpio_line *gpio_line_request(struct gpio_chip *c, const struct gpio_line_req *req);
void gpio_line_release(struct gpio_line *l);
/* Readable when edge events are waiting.  Owned by the line. */
int gpio_line_fd(const struct gpio_line *l);
/* Logical value 0/1, or -1. */
int gpio_line_get(struct gpio_line *l);
int gpio_line_set(struct gpio_line *l, bool active);
/* Reads up to n queued edges without blocking; returns how many, or -1. */
int gpio_line_read_edges(struct gpio_line *l, struct gpio_edge *out, size_t n);

#endif
