/* SPDX-License-Identifier: Apache-2.0 */
/* Turns a device definition into the fewest read requests, and what they
 * cost on a serial line.  Points of the same register table and poll class
 * are merged while the block stays within the protocol limit, the device's
 * max block size and max gap to read through, never covers a forbidden
 * address range and never crosses a learned split.
 *
 * Why greedy is optimal: blocks read contiguous ranges, so an optimal plan
 * groups points that are consecutive in address order; every constraint
 * holds for any sub-run of a valid group (dropping points from either end
 * never makes a block longer, a gap wider or a forbidden range covered), and
 * for such "hereditary" partitions extending each block as far as possible
 * gives the minimum number of blocks (the usual exchange argument). */
#include "config_plan.h"

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

/* The limits a growing block must honour. */
struct plan_limits {
	const struct fb_definition *def;
	const struct fb_plan_cut *cuts;
	size_t ncuts;
};

/* A block [start, ...) growing to include a point at `at` crosses a cut. */
static bool crosses_cut(const struct plan_limits *lim, enum fb_reg_table t,
			uint32_t start, uint32_t at)
{
	for (size_t i = 0; i < lim->ncuts; i++)
		if (lim->cuts[i].table == t && start < lim->cuts[i].address &&
		    lim->cuts[i].address <= at)
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

static int block_add_point(struct fb_plan_block *b, uint32_t point)
{
	uint32_t *p = realloc(b->points, (b->npoints + 1) * sizeof(*p));

	if (!p)
		return -1;
	b->points = p;
	b->points[b->npoints++] = point;
	return 0;
}

int fb_plan_interval_ms(enum fb_poll_class c, int normal_ms)
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
static bool can_merge(const struct plan_limits *lim, const struct fb_plan_block *cur,
		      const struct span *s)
{
	const struct fb_definition *def = lim->def;
	uint32_t cur_end = (uint32_t)cur->start + cur->count;
	uint32_t new_end = s->end > cur_end ? s->end : cur_end;
	uint32_t gap = s->start > cur_end ? s->start - cur_end : 0;

	if (cur->table != s->table || cur->poll != s->poll)
		return false;
	if (gap > def->max_gap || new_end - cur->start > table_limit(def, s->table))
		return false;
	if (gap && range_forbidden(def, cur_end, s->start - 1))
		return false;
	return !crosses_cut(lim, s->table, cur->start, s->start);
}

int fb_plan_reads(const struct fb_definition *def, const struct fb_plan_cut *cuts,
		  size_t ncuts, int interval_ms, int64_t now_ms,
		  struct fb_plan_block **blocks, size_t *nblocks)
{
	const struct plan_limits lim = { def, cuts, ncuts };
	struct span *spans = calloc(def->npoints ? def->npoints : 1, sizeof(*spans));
	size_t nspans = 0;

	fb_plan_free(blocks, nblocks);
	if (!spans)
		return -1;
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];

		if (p->component == FB_COMP_BUTTON || p->not_present || p->ext.relay_open)
			continue; /* write-only, a SunSpec model the device lacks, or
				   * a relay cover's estimate */
		spans[nspans].poll = p->poll;
		spans[nspans].table = p->table;
		uint16_t first, last;

		/* A scale_register is read in the same request as its value. */
		fb_point_extent(p, &first, &last);
		spans[nspans].start = first;
		spans[nspans].end = (uint32_t)last + 1;
		spans[nspans].point = (uint32_t)i;
		nspans++;
	}
	qsort(spans, nspans, sizeof(*spans), span_cmp);

	for (size_t i = 0; i < nspans; i++) {
		struct fb_plan_block *cur = *nblocks ? &(*blocks)[*nblocks - 1] : NULL;
		const struct span *s = &spans[i];

		if (cur && can_merge(&lim, cur, s)) {
			uint32_t cur_end = (uint32_t)cur->start + cur->count;

			if (s->end > cur_end)
				cur->count = (uint16_t)(s->end - cur->start);
			if (block_add_point(cur, s->point) < 0)
				goto fail;
			continue;
		}
		struct fb_plan_block *nb = realloc(*blocks, (*nblocks + 1) * sizeof(*nb));

		if (!nb)
			goto fail;
		*blocks = nb;
		cur = &nb[(*nblocks)++];
		cur->table = s->table;
		cur->poll = s->poll;
		cur->start = (uint16_t)s->start;
		cur->count = (uint16_t)(s->end - s->start);
		cur->points = NULL;
		cur->npoints = 0;
		cur->interval_ms = fb_plan_interval_ms(s->poll, interval_ms);
		cur->next_due_ms = now_ms;
		if (block_add_point(cur, s->point) < 0)
			goto fail;
	}
	free(spans);
	return 0;
fail:
	free(spans);
	fb_plan_free(blocks, nblocks);
	errno = ENOMEM;
	return -1;
}

void fb_plan_free(struct fb_plan_block **blocks, size_t *nblocks)
{
	for (size_t i = 0; *blocks && i < *nblocks; i++)
		free((*blocks)[i].points);
	free(*blocks);
	*blocks = NULL;
	*nblocks = 0;
}

/* Frames are separated by at least 3.5 character times of silence (t3.5);
 * above 19200 baud a fixed 1.75 ms is used (serial line V1.02 §2.5.1.1). */
int fb_plan_char_us(int baud, char parity, int data_bits, int stop_bits)
{
	/* start bit + data + parity + stop */
	int bits = 1 + data_bits + (parity == 'N' ? 0 : 1) + stop_bits;

	if (baud <= 0)
		return 0;
	return (int)(((int64_t)bits * 1000000 + baud - 1) / baud);
}

int fb_plan_t35_us(int baud, int char_us)
{
	if (baud <= 0)
		return 0;
	if (baud >= FB_PLAN_T35_FIXED_BAUD)
		return FB_PLAN_T35_FIXED_US;
	return (char_us * 7 + 1) / 2;
}

int64_t fb_plan_read_us(int char_us, int t35_us, int guard_ms, bool bits, uint16_t count)
{
	/* RTU read request: unit, fc, addr(2), count(2), crc(2) = 8 bytes;
	 * answer: unit, fc, byte count, data, crc(2). */
	int64_t data = bits ? (count + 7) / 8 : 2 * (int64_t)count;
	int64_t bytes = 8 + 5 + data;

	return bytes * char_us + 2 * (int64_t)t35_us + (int64_t)guard_ms * 1000;
}

double fb_plan_airtime_share(const struct fb_bus_conf *bus, int guard_ms,
			     const struct fb_plan_block *blocks, size_t nblocks)
{
	int char_us = fb_plan_char_us(bus->baud, bus->parity, bus->data_bits, bus->stop_bits);
	int t35 = fb_plan_t35_us(bus->baud, char_us);
	double share = 0;

	for (size_t b = 0; b < nblocks; b++) {
		const struct fb_plan_block *blk = &blocks[b];
		bool bits = blk->table == FB_REG_COIL || blk->table == FB_REG_DISCRETE_INPUT;

		if (!blk->interval_ms)
			continue; /* read once: not part of the cycle */
		share += (double)fb_plan_read_us(char_us, t35, guard_ms, bits, blk->count) /
			 (1000.0 * blk->interval_ms);
	}
	return share;
}
