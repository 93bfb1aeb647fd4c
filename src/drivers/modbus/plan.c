/* SPDX-License-Identifier: Apache-2.0 */
/* Turns a device definition into the fewest read requests.  Points of the
 * same register table and poll class are merged while the block stays
 * within the protocol limit, the device's max block size and max gap to
 * read through, never covers a forbidden address range and never crosses a
 * learned split.
 *
 * Why greedy is optimal: blocks read contiguous ranges, so an optimal plan
 * groups points that are consecutive in address order; every constraint
 * holds for any sub-run of a valid group (dropping points from either end
 * never makes a block longer, a gap wider or a forbidden range covered), and
 * for such "hereditary" partitions extending each block as far as possible
 * gives the minimum number of blocks (the usual exchange argument). */
#include "modbus-internal.h"

#include <errno.h>
#include <stdlib.h>

struct span {
	enum fb_poll_class poll;
	enum fb_reg_table table;
	uint32_t start, end; /* end exclusive */
	uint32_t point;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->poll != y->poll)
		return (int)x->poll - (int)y->poll;
	if (x->table != y->table)
		return (int)x->table - (int)y->table;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : (x->end > y->end);
}

static bool range_forbidden(const struct fb_definition *def, uint32_t first,
			    uint32_t last)
{
	for (size_t i = 0; i < def->nforbidden; i++)
		if (first <= def->forbidden[i].last && last >= def->forbidden[i].first)
			return true;
	return false;
}

/* A block [start, ...) growing to include a point at `at` crosses a cut. */
static bool crosses_cut(const struct mb_device *dev, enum fb_reg_table t,
			uint32_t start, uint32_t at)
{
	for (size_t i = 0; i < dev->ncuts; i++)
		if (dev->cuts[i].table == t && start < dev->cuts[i].address &&
		    dev->cuts[i].address <= at)
			return true;
	return false;
}

static uint32_t table_limit(const struct fb_definition *def, enum fb_reg_table t)
{
	bool bits = t == FB_REG_COIL || t == FB_REG_DISCRETE_INPUT;
	uint32_t proto = bits ? MB_MAX_READ_BITS : MB_MAX_READ_REGISTERS;
	uint32_t dev = bits ? def->max_bits_per_read : def->max_registers_per_read;

	return dev && dev < proto ? dev : proto;
}

static int block_add_point(struct mb_block *b, uint32_t point)
{
	uint32_t *p = realloc(b->points, (b->npoints + 1) * sizeof(*p));

	if (!p)
		return -1;
	b->points = p;
	b->points[b->npoints++] = point;
	return 0;
}

int mb_plan_interval_ms(enum fb_poll_class c, int normal_ms)
{
	switch (c) {
	case FB_POLL_FAST:
		return normal_ms / 4 > 10 ? normal_ms / 4 : 10;
	case FB_POLL_NORMAL:
		return normal_ms;
	case FB_POLL_SLOW:
		return normal_ms * 10;
	case FB_POLL_ONCE:
		break;
	}
	return 0;
}

/* Whether span s may join block cur. */
static bool can_merge(const struct mb_device *dev, const struct mb_block *cur,
		      const struct span *s)
{
	const struct fb_definition *def = dev->def;
	uint32_t cur_end = (uint32_t)cur->start + cur->count;
	uint32_t new_end = s->end > cur_end ? s->end : cur_end;
	uint32_t gap = s->start > cur_end ? s->start - cur_end : 0;

	if (cur->table != s->table || cur->poll != s->poll)
		return false;
	if (gap > def->max_gap || new_end - cur->start > table_limit(def, s->table))
		return false;
	if (gap && range_forbidden(def, cur_end, s->start - 1))
		return false;
	return !crosses_cut(dev, s->table, cur->start, s->start);
}

int mb_plan_device(struct mb_device *dev, int64_t now_ms)
{
	const struct fb_definition *def = dev->def;
	struct span *spans = calloc(def->npoints ? def->npoints : 1, sizeof(*spans));
	size_t nspans = 0;

	if (!spans)
		return -1;
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];

		if (p->component == FB_COMP_BUTTON)
			continue; /* write-only: nothing to read */
		spans[nspans].poll = p->poll;
		spans[nspans].table = p->table;
		spans[nspans].start = p->address;
		spans[nspans].end = (uint32_t)p->address + fb_point_width(p);
		spans[nspans].point = (uint32_t)i;
		nspans++;
	}
	qsort(spans, nspans, sizeof(*spans), span_cmp);

	mb_plan_free(dev);
	dev->plan_gen++;
	for (size_t i = 0; i < nspans; i++) {
		struct mb_block *cur = dev->nblocks ? &dev->blocks[dev->nblocks - 1] : NULL;
		const struct span *s = &spans[i];

		if (cur && can_merge(dev, cur, s)) {
			uint32_t cur_end = (uint32_t)cur->start + cur->count;

			if (s->end > cur_end)
				cur->count = (uint16_t)(s->end - cur->start);
			if (block_add_point(cur, s->point) < 0)
				goto fail;
			continue;
		}
		struct mb_block *nb = realloc(dev->blocks, (dev->nblocks + 1) * sizeof(*nb));

		if (!nb)
			goto fail;
		dev->blocks = nb;
		cur = &dev->blocks[dev->nblocks++];
		cur->table = s->table;
		cur->poll = s->poll;
		cur->start = (uint16_t)s->start;
		cur->count = (uint16_t)(s->end - s->start);
		cur->points = NULL;
		cur->npoints = 0;
		cur->interval_ms = mb_plan_interval_ms(s->poll, dev->interval_ms);
		cur->next_due_ms = now_ms;
		if (block_add_point(cur, s->point) < 0)
			goto fail;
	}
	free(spans);
	return 0;
fail:
	free(spans);
	mb_plan_free(dev);
	errno = ENOMEM;
	return -1;
}

void mb_plan_free(struct mb_device *dev)
{
	for (size_t i = 0; i < dev->nblocks; i++)
		free(dev->blocks[i].points);
	free(dev->blocks);
	dev->blocks = NULL;
	dev->nblocks = 0;
}
