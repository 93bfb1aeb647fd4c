/* SPDX-License-Identifier: Apache-2.0 */
/* A device's read plan: fb_plan_reads over its definition and the splits
 * learned on this bus.  plan_gen tells a block held across a re-plan
 * (poll.c) that it went stale. */
#include "modbus-internal.h"

int mb_plan_device(struct mb_device *dev, int64_t now_ms)
{
	dev->plan_gen++;
	return fb_plan_reads(dev->def, dev->cuts, dev->ncuts, dev->interval_ms, now_ms,
			     &dev->blocks, &dev->nblocks);
}

void mb_plan_free(struct mb_device *dev)
{
	fb_plan_free(&dev->blocks, &dev->nblocks);
}
