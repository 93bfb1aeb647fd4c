/* SPDX-License-Identifier: Apache-2.0 */
/* The read requests a Modbus device's definition needs, and what they cost
 * on a serial line.  Shared by the driver (which polls the plan) and
 * fb_config_check (which checks the bus airtime budget), so both count the
 * same reads. */
#ifndef FB_CONFIG_PLAN_H
#define FB_CONFIG_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"

/* Protocol limits: MB_MAX_READ_REGISTERS and MB_MAX_READ_BITS (model.h). */
/* Modbus over serial line V1.02 §2.5.1.1: above 19200 baud t3.5 is fixed. */
#define FB_PLAN_T35_FIXED_US 1750
#define FB_PLAN_T35_FIXED_BAUD 19200

/* One read request: `count` registers/bits of `table` from `start`, read
 * every interval_ms (0: once after connect / coming online). */
struct fb_plan_block {
	enum fb_reg_table table;
	enum fb_poll_class poll;
	uint16_t start, count;
	uint32_t *points;  /* owned; indices into the device's definition points */
	size_t npoints;
	int interval_ms;
	int64_t next_due_ms;               /* monotonic; INT64_MAX = not due */
};

/* A learned split: no block of `table` may contain both address-1 and
 * address (the device refused such a read). */
struct fb_plan_cut {
	enum fb_reg_table table;
	uint16_t address;
};

/* Computes the fewest blocks reading every point of def (borrowed) within
 * the protocol and device limits and the cuts (borrowed, may be NULL).
 * Every block is due at now_ms.  Frees what *blocks held first.  Returns 0,
 * or -1 (ENOMEM) with *blocks NULL.  Caller frees with fb_plan_free. */
int fb_plan_reads(const struct fb_definition *def, const struct fb_plan_cut *cuts,
		  size_t ncuts, int interval_ms, int64_t now_ms,
		  struct fb_plan_block **blocks, size_t *nblocks);
/* Accepts NULL; leaves *blocks NULL and *nblocks 0. */
void fb_plan_free(struct fb_plan_block **blocks, size_t *nblocks);
/* Interval of a poll class for a device whose normal interval is given;
 * 0 for FB_POLL_ONCE. */
int fb_plan_interval_ms(enum fb_poll_class c, int normal_ms);

/* Serial line arithmetic (Modbus over serial line V1.02 §2.5): one
 * character and the t3.5 silence in microseconds. */
int fb_plan_char_us(int baud, char parity, int data_bits, int stop_bits);
int fb_plan_t35_us(int baud, int char_us);
/* Airtime of one read transaction of `count` registers/bits incl. the two
 * silent intervals and the guard time, in microseconds. */
int64_t fb_plan_read_us(int char_us, int t35_us, int guard_ms, bool bits,
			uint16_t count);
/* The share of the line (1.0 = all of it) that one device's periodic
 * blocks take on `bus`: the sum of airtime(block) / interval(block). */
double fb_plan_airtime_share(const struct fb_bus_conf *bus, int guard_ms,
			     const struct fb_plan_block *blocks, size_t nblocks);

#endif
