/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-gpio internals: one process serves one bus (one chip); not
 * for other parts.
 *
 * Floors, each file calling only those below it: driver.c sets up (table
 * layout, line requests), runs the poll() loop and applies the exit policy;
 * command.c executes commands; points.c turns edges and deadlines into
 * table values; cover.c drives covers on two outputs; chip.c finds the chip and lines, persist.c keeps counters
 * and outputs across restarts; at the bottom gpio-backend.h (libgpiod,
 * gpio_backend_v1.c or _v2.c) and gpio-logic.h (logic.c, no I/O). */
#ifndef FB_GPIO_INTERNAL_H
#define FB_GPIO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "daemon.h"
#include "gpio-backend.h"
#include "gpio-logic.h"
#include "table.h"

/* One point of one device: a table point, and for line roles a requested
 * line.  Everything borrowed points into the driver's config. */
struct gl_point {
	const struct fb_device_conf *dev;  /* borrowed */
	const struct fb_point_def *def;    /* borrowed */
	struct fb_gpio_point cfg;          /* effective: definition + "lines" */
	uint32_t index;                    /* table point */
	uint32_t device;                   /* table device */
	int offset;                        /* resolved line offset, -1 if none */
	struct gl_line *line;            /* NULL: no line, or device disabled */
	int source;                        /* rate/event: index of its source point */
	struct gl_debounce db;           /* inputs, counters */
	struct gl_counter ctr;           /* counters */
	struct gl_gesture gest;          /* events */
	bool value;                        /* outputs: logical value driven */
	int64_t until_ms;                  /* pulse end / event clear, 0 = none */
	double rate;                       /* rate: last published */
	/* covers (cover.c; until_ms: the next position update) */
	struct fb_cover_run run;
	int open_idx, close_idx;           /* their output points, -1 if none */
	bool relay;                        /* an output a cover switches */
};

struct gl_driver {
	struct fb_config *cfg;             /* owned */
	struct fb_bus_conf *bus;           /* borrowed from cfg */
	struct fb_table *table;
	struct gl_chip *chip;
	char chip_path[64];
	struct gl_point *points;
	size_t npoints;
	const struct fb_device_conf **devices; /* table device i */
	bool *device_ok;
	size_t ndevices;
	int signal_fd, timer_fd;
	char *state_path;                  /* NULL: nothing persisted */
	bool persist_dirty;                /* something changed since the last write */
	bool persist_now;                  /* an output changed: write at once */
	int64_t persist_next_ms;           /* earliest next counter write */
	bool stop;
};

/* chip.c: finds the chip labelled `label` among /dev/gpiochip*.  On failure
 * writes a message naming the labels that exist into err. */
struct gl_chip *gl_chip_find(const char *label, char *path, size_t path_len,
			     char *err, size_t err_len);
/* Resolves a point's line (name or offset) to an offset; on failure writes
 * a message naming the lines that exist. */
int gl_line_resolve(struct gl_chip *c, const struct fb_gpio_point *g, char *err,
		    size_t err_len);
/* Requests the line of p; on EBUSY the message names the consumer. */
int gl_line_open(struct gl_driver *d, struct gl_point *p, bool initial, char *err,
		 size_t err_len);

/* persist.c: "<state_dir>/gpio-<bus>.json" holds counter totals and output
 * values.  Loading applies them to the points; saving is atomic (write a
 * temporary file, fsync, rename). */
void gl_persist_init(struct gl_driver *d);
void gl_persist_load(struct gl_driver *d);
int gl_persist_save(struct gl_driver *d);

/* points.c: table writes, edges -> debounced level -> input, counter and
 * rates, or gesture and event; the deadline pass; the first publish. */
bool gl_points_is_input(const struct gl_point *p);
void gl_points_write_bool(struct gl_driver *d, struct gl_point *p, bool b);
/* Takes the edges queued on p's line (never blocks). */
void gl_points_read_edges(struct gl_driver *d, struct gl_point *p);
/* Runs everything due by now_ms; returns the next deadline (fb_mono_ms). */
int64_t gl_points_run_deadlines(struct gl_driver *d, int64_t now_ms);
/* Publishes the started devices' values and every device's online state. */
void gl_points_publish_initial(struct gl_driver *d);

/* cover.c: covers on two outputs.  setup resolves c's relays among the
 * n points of its device from `first` on; deadline runs a due run end or
 * position update and returns c's next deadline (INT64_MAX: none);
 * command fills r (status FAILED with a reason, or DONE). */
void gl_cover_setup(struct gl_point *c, const struct gl_point *first, size_t n);
bool gl_cover_ready(const struct gl_driver *d, const struct gl_point *c);
int64_t gl_cover_deadline(struct gl_driver *d, struct gl_point *c, int64_t now_ms);
void gl_cover_publish_initial(struct gl_driver *d, struct gl_point *c);
void gl_cover_command(struct gl_driver *d, struct gl_point *c, const struct fb_value *v,
		      struct fb_command_result *r);

/* command.c: executes one command and writes its result. */
void gl_command_run(struct gl_driver *d, const struct fb_command *cmd);

/* driver.c: runs the daemon for args->instance; returns the exit code. */
int gl_driver_run(const struct fb_daemon_args *args);

#endif
