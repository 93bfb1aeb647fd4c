/* SPDX-License-Identifier: Apache-2.0 */
/* A device's read plan: fb_plan_reads over its definition and the splits
 * learned on this bus.  plan_gen tells a block held across a re-plan
 * (poll.c) that it went stale. */
#include "modbus-internal.h"

int mb_plan_device(struct mb_device *dev, int64_t now_ms)
{
	int min = (int)dev->def->min_interval_ms;

	dev->plan_gen++;
	if (fb_plan_reads(dev->def, dev->cuts, dev->ncuts, dev->interval_ms, now_ms,
			  &dev->blocks, &dev->nblocks) < 0)
		return -1;
	/* The definition's shortest interval holds for fast blocks too. */
	for (size_t i = 0; i < dev->nblocks; i++)
		if (dev->blocks[i].interval_ms && dev->blocks[i].interval_ms < min)
			dev->blocks[i].interval_ms = min;
	return 0;
}

void mb_plan_free(struct mb_device *dev)
{
	fb_plan_free(&dev->blocks, &dev->nblocks);
}
