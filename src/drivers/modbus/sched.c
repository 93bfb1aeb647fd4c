/* SPDX-License-Identifier: Apache-2.0 */
/* The deadline scheduler.  Every block of every online device has its own
 * deadline (its poll class's interval); each step runs the most overdue
 * one, ties going to the device just served (so its reads run back to
 * back), else to the one served longest ago, so slaves with
 * different intervals interleave fairly and a late bus degrades everyone a
 * little instead of starving someone.  An offline device has no block
 * deadlines, only a probe deadline on an exponential backoff, so it costs at
 * most one short request (no retries) per period. */
#include "modbus-internal.h"
#include "clock.h"
#include "log.h"

#include <stdint.h>

static bool is_offline(const struct mb_driver *d, const struct mb_device *dev)
{
	return !dev->online && dev->failures >= d->bus->offline_after;
}

static void advance(struct fb_plan_block *blk, int64_t now_ms, uint32_t min_ms)
{
	if (!blk->interval_ms) {
		blk->next_due_ms = INT64_MAX;
		return;
	}
	blk->next_due_ms += blk->interval_ms;
	/* Missed a whole period (after an outage, or the bus is overloaded):
	 * due now, i.e. behind every block that has been waiting longer.  No
	 * burst of catch-up reads, and an overloaded bus degrades round-robin
	 * for everyone instead of starving whoever fell behind. */
	if (blk->next_due_ms + blk->interval_ms <= now_ms)
		blk->next_due_ms = now_ms;
	/* A device with a min_interval_ms is never read sooner than that after
	 * the read that just ended (which may have waited on pacing), even
	 * to keep its phase. */
	if (min_ms) {
		int64_t floor = fb_mono_ms() + (int64_t)min_ms;

		if (blk->next_due_ms < floor)
			blk->next_due_ms = floor;
	}
}

static void all_due(struct mb_device *dev, int64_t now_ms)
{
	for (size_t i = 0; i < dev->nblocks; i++)
		dev->blocks[i].next_due_ms = now_ms;
}

static void went_silent(struct mb_driver *d, struct mb_device *dev, int64_t now_ms)
{
	char why[96];

	dev->failures++;
	/* One failed cycle: every block that was due waits a period. */
	for (size_t i = 0; i < dev->nblocks; i++)
		if (dev->blocks[i].next_due_ms <= now_ms)
			advance(&dev->blocks[i], now_ms, dev->def->min_interval_ms);
	if (dev->failures < d->bus->offline_after)
		return;
	snprintf(why, sizeof(why), "no answer to %d consecutive requests", dev->failures);
	if (!dev->online && dev->failures == d->bus->offline_after)
		fb_warn("device %s (unit %d): %s since start or reconnect; probing with "
			"backoff", dev->conf->id, dev->conf->unit_id, why);
	mb_device_set_online(d, dev, false, why);
	dev->backoff_ms = dev->interval_ms > 1000 ? dev->interval_ms : 1000;
	if (dev->backoff_ms > d->bus->backoff_max_ms)
		dev->backoff_ms = d->bus->backoff_max_ms;
	dev->next_probe_ms = now_ms + dev->backoff_ms;
}

static void answered(struct mb_driver *d, struct mb_device *dev, int64_t now_ms)
{
	bool was_offline = is_offline(d, dev);

	dev->failures = 0;
	dev->backoff_ms = 0;
	mb_device_set_online(d, dev, true, NULL);
	if (was_offline) {
		/* Back: read everything (once-points too) now. */
		all_due(dev, now_ms);
	}
}

static struct fb_plan_block *probe_block(struct mb_device *dev)
{
	struct fb_plan_block *best = NULL;

	for (size_t i = 0; i < dev->nblocks; i++)
		if (!best || dev->blocks[i].count < best->count)
			best = &dev->blocks[i];
	return best;
}

static void run_probe(struct mb_driver *d, struct mb_device *dev, int64_t now_ms)
{
	struct fb_plan_block *blk = probe_block(dev);

	switch (blk ? mb_poll_block(d, dev, blk, now_ms, true) : MB_XACT_NO_ANSWER) {
	case MB_XACT_OK:
	case MB_XACT_EXCEPTION:
		answered(d, dev, now_ms);
		break;
	case MB_XACT_NO_ANSWER:
		dev->backoff_ms *= 2;
		if (dev->backoff_ms > d->bus->backoff_max_ms)
			dev->backoff_ms = d->bus->backoff_max_ms;
		dev->next_probe_ms = now_ms + dev->backoff_ms;
		break;
	case MB_XACT_LINK_DOWN:
	case MB_XACT_PREEMPTED:
		break;
	}
}

static void run_block(struct mb_driver *d, struct mb_device *dev, struct fb_plan_block *blk,
		      int64_t now_ms)
{
	uint32_t gen = dev->plan_gen;
	enum mb_xact rc = mb_poll_block(d, dev, blk, now_ms, false);

	switch (rc) {
	case MB_XACT_OK:
	case MB_XACT_EXCEPTION:
		/* A re-plan after a learned split freed blk; its parts are due. */
		if (gen == dev->plan_gen)
			advance(blk, now_ms, dev->def->min_interval_ms);
		answered(d, dev, now_ms);
		break;
	case MB_XACT_NO_ANSWER:
		went_silent(d, dev, now_ms);
		break;
	case MB_XACT_LINK_DOWN:
	case MB_XACT_PREEMPTED:
		break;
	}
}

/* Of two devices with a block due at the same time: the one just served
 * (its due reads run back to back and reach MQTT as one state, without
 * waiting for the rest of the cycle), else the one served longest ago. */
static bool prefer(const struct mb_driver *d, const struct mb_device *dev,
		   const struct mb_device *best)
{
	if (dev == best)
		return false; /* one device's blocks keep their plan order */
	if (dev == d->last_served || best == d->last_served)
		return dev == d->last_served;
	return dev->served < best->served;
}

/* The device (and its block; NULL: a probe) the next step serves, if one
 * is due at now_ms. */
static struct mb_device *pick(struct mb_driver *d, int64_t now_ms, struct fb_plan_block **blk)
{
	struct mb_device *best_dev = NULL;
	struct fb_plan_block *best_blk = NULL;
	int64_t best_due = INT64_MAX;

	for (size_t i = 0; i < d->ndevices; i++) {
		struct mb_device *dev = &d->devices[i];

		if (is_offline(d, dev)) {
			if (dev->next_probe_ms < best_due ||
			    (dev->next_probe_ms == best_due && best_dev &&
			     prefer(d, dev, best_dev))) {
				best_due = dev->next_probe_ms;
				best_dev = dev;
				best_blk = NULL;
			}
			continue;
		}
		for (size_t b = 0; b < dev->nblocks; b++) {
			struct fb_plan_block *blk = &dev->blocks[b];

			if (blk->next_due_ms < best_due ||
			    (blk->next_due_ms == best_due && best_dev &&
			     prefer(d, dev, best_dev))) {
				best_due = blk->next_due_ms;
				best_dev = dev;
				best_blk = blk;
			}
		}
	}
	*blk = best_blk;
	return best_dev && best_due <= now_ms ? best_dev : NULL;
}

struct mb_device *mb_sched_step(struct mb_driver *d, int64_t now_ms)
{
	struct fb_plan_block *blk;
	struct mb_device *dev = d->ctx ? pick(d, now_ms, &blk) : NULL;

	if (!dev)
		return NULL;
	dev->served = ++d->turn;
	d->last_served = dev;
	if (blk)
		run_block(d, dev, blk, now_ms);
	else
		run_probe(d, dev, now_ms);
	return dev;
}

bool mb_sched_next_is(struct mb_driver *d, const struct mb_device *dev, int64_t now_ms)
{
	struct fb_plan_block *blk;

	return d->ctx && pick(d, now_ms, &blk) == dev;
}

int64_t mb_sched_next_deadline(const struct mb_driver *d)
{
	int64_t t = INT64_MAX;

	for (size_t i = 0; i < d->ndevices; i++) {
		const struct mb_device *dev = &d->devices[i];

		if (is_offline(d, dev)) {
			if (dev->next_probe_ms < t)
				t = dev->next_probe_ms;
			continue;
		}
		for (size_t b = 0; b < dev->nblocks; b++)
			if (dev->blocks[b].next_due_ms < t)
				t = dev->blocks[b].next_due_ms;
	}
	return t;
}

void mb_sched_reset(struct mb_driver *d, int64_t now_ms)
{
	for (size_t i = 0; i < d->ndevices; i++) {
		struct mb_device *dev = &d->devices[i];

		dev->next_probe_ms = now_ms;
		dev->backoff_ms = dev->interval_ms > 1000 ? dev->interval_ms : 1000;
		all_due(dev, now_ms);
	}
}
