/* SPDX-License-Identifier: Apache-2.0 */
/* --check for fieldbridge-modbus: the shared configuration check plus the
 * bus airtime budget.  A serial line carries one frame at a time, so the
 * planned reads of all devices must fit into their poll intervals:
 *
 *   utilisation = sum over blocks of airtime(block) / interval(block)
 *
 * with airtime = request + answer bytes at the configured character time
 * plus two t3.5 silences and the device's guard time (the slave's own
 * processing time is unknown and not counted, so this is a lower bound).
 * Above 100% the intervals cannot be met (error); above 80% there is little
 * room left for writes and retries (warning). */
#include "modbus-internal.h"
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUDGET_WARN 0.8

double mb_budget_utilisation(const struct fb_bus_conf *bus, struct mb_device *devs,
			     size_t ndevs, int *cycle_ms)
{
	int char_us = mb_timing_char_us(bus->baud, bus->parity, bus->data_bits,
					bus->stop_bits);
	int t35 = mb_timing_t35_us(bus->baud, char_us);
	double util = 0;

	*cycle_ms = 0;
	for (size_t i = 0; i < ndevs; i++) {
		const struct mb_device *dev = &devs[i];

		if (!*cycle_ms || dev->interval_ms < *cycle_ms)
			*cycle_ms = dev->interval_ms;
		for (size_t b = 0; b < dev->nblocks; b++) {
			const struct mb_block *blk = &dev->blocks[b];
			bool bits = blk->table == FB_REG_COIL || blk->table == FB_REG_DISCRETE_INPUT;

			if (!blk->interval_ms)
				continue; /* read once: not part of the cycle */
			util += (double)mb_timing_read_us(char_us, t35, dev->conf->guard_time_ms,
							  bits, blk->count) /
				(1000.0 * blk->interval_ms);
		}
	}
	return util;
}

static void check_budget(struct fb_bus_conf *bus, struct fb_diag *diag)
{
	struct mb_device *devs = calloc(bus->ndevices ? bus->ndevices : 1, sizeof(*devs));
	size_t n = 0, reads = 0;
	double util;
	int cycle_ms;

	if (!devs)
		return;
	for (size_t i = 0; i < bus->ndevices; i++) {
		if (!bus->devices[i].def)
			continue;
		devs[n].conf = &bus->devices[i];
		devs[n].def = bus->devices[i].def;
		devs[n].interval_ms = bus->devices[i].poll_interval_ms;
		if (mb_plan_device(&devs[n], 0) == 0) {
			reads += devs[n].nblocks;
			n++;
		}
	}
	util = mb_budget_utilisation(bus, devs, n, &cycle_ms);
	if (util > 1.0 || util > BUDGET_WARN)
		fb_diag_add(diag, util > 1.0 ? FB_SEV_ERROR : FB_SEV_WARNING,
			    "%s: bus %s: airtime budget: needs %.2f s per cycle at %d baud, "
			    "intervals ask for %.2f s (%zu reads planned for %zu devices, "
			    "%.0f%% of the line%s)", bus->source, bus->name,
			    util * cycle_ms / 1000.0, bus->baud, cycle_ms / 1000.0, reads, n,
			    util * 100.0, util > 1.0 ? ": lengthen poll_interval_ms, use slow "
			    "poll classes or raise the baud rate" : ", little room for writes "
			    "and retries");
	for (size_t i = 0; i < n; i++)
		mb_plan_free(&devs[i]);
	free(devs);
}

void mb_check_budget(struct fb_config *cfg, const char *bus_name, struct fb_diag *diag)
{
	for (size_t i = 0; i < cfg->nbuses; i++) {
		struct fb_bus_conf *b = &cfg->buses[i];

		if ((!bus_name || !strcmp(b->name, bus_name)) &&
		    (b->transport == FB_BUS_RTU || b->transport == FB_BUS_RTU_OVER_TCP))
			check_budget(b, diag);
	}
}
