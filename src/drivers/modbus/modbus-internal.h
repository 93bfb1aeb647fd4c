/* fieldbridge-modbus internals: one process serves one bus.
 *
 * Data flow: plan.c turns each device's definition into read blocks; the
 * loop in driver.c wakes on the earliest device deadline (timerfd), a queued
 * command (the table's command fd) or a signal; poll.c reads blocks and
 * writes decoded values into the table; command.c writes to the device and
 * reads the point back before the confirmed value reaches the table. */
#ifndef FB_MODBUS_INTERNAL_H
#define FB_MODBUS_INTERNAL_H

#include <modbus/modbus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"
#include "table.h"

/* Protocol limits, Modbus Application Protocol v1.1b3 §6.1-6.4. */
#define MB_MAX_READ_REGISTERS 125
#define MB_MAX_READ_BITS 2000

/* One read request: `count` registers/bits of `table` from `start`. */
struct mb_block {
	enum fb_reg_table table;
	uint16_t start, count;
	uint32_t *points;  /* indices into the device's definition points */
	size_t npoints;
};

struct mb_device {
	const struct fb_device_conf *conf;   /* borrowed from the config */
	const struct fb_definition *def;     /* borrowed from the config */
	uint32_t table_device;               /* index in the table's devices */
	uint32_t first_point;                /* table index of def->points[0] */
	struct mb_block *blocks;             /* owned */
	size_t nblocks;
	int64_t next_poll_ms;                /* monotonic deadline */
	int failures;                        /* consecutive failed cycles */
	bool online;
	int backoff_ms;                      /* retry period while offline */
};

struct mb_driver {
	struct fb_config *cfg;               /* owned */
	struct fb_bus_conf *bus;             /* borrowed from cfg */
	struct fb_table *table;              /* owned */
	modbus_t *ctx;                       /* NULL while disconnected */
	int64_t next_connect_ms;
	int connect_backoff_ms;
	struct mb_device *devices;           /* owned, only enabled devices */
	size_t ndevices;
	uint32_t npoints;                    /* table points */
	struct { uint32_t device, point; } *point_map; /* table index -> owner */
	int signal_fd, timer_fd;
	bool stop;
};

/* plan.c: computes dev->blocks from the definition and the protocol and
 * device limits.  Returns 0 or -1 (ENOMEM). */
int mb_plan_device(struct mb_device *dev);
void mb_plan_free(struct mb_device *dev);

/* link.c: (re)connects with exponential backoff. */
int mb_link_connect(struct mb_driver *d, int64_t now_ms);
void mb_link_close(struct mb_driver *d);
/* True if errno after a failed libmodbus call means the link itself is
 * broken (reconnect), rather than one device not answering. */
bool mb_link_errno_is_fatal(int err);

/* poll.c: reads every block of the device, writes the table.  Returns 0 if
 * the device answered, -1 if it did not (or the link broke: d->ctx NULL). */
int mb_poll_device(struct mb_driver *d, struct mb_device *dev, int64_t now_ms);
/* Reads one point (for command read-back) into v. */
int mb_read_point(struct mb_driver *d, struct mb_device *dev,
		  const struct fb_point_def *p, struct fb_value *v);
/* Marks a device's availability and its points' quality after failures. */
void mb_device_set_online(struct mb_driver *d, struct mb_device *dev, bool online,
			  int64_t now_ms);

/* command.c: executes every queued command.  Called before each poll
 * transaction so a command waits at most one transaction. */
void mb_commands_run(struct mb_driver *d);

#endif
