/* SPDX-License-Identifier: Apache-2.0 */
/* plan.c against a brute-force optimum: for thousands of random register
 * maps (gaps, overlapping points, forbidden ranges, small max block and max
 * gap, learned cuts) the greedy plan must use exactly as many reads as the
 * best partition found by dynamic programming, and every block must honour
 * every limit.  Also the serial timing arithmetic of config_plan.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus-internal.h"
#include "testlib.h"

#define MAXP 24

/* Is reading points sorted[i..j] as one block allowed? */
static bool group_ok(const struct mb_device *dev, const uint32_t *s, const uint32_t *e,
		     size_t i, size_t j, uint32_t limit)
{
	const struct fb_definition *def = dev->def;
	uint32_t end = e[i];

	for (size_t k = i + 1; k <= j; k++) {
		if (s[k] > end) {
			if (s[k] - end > def->max_gap)
				return false;
			for (size_t f = 0; f < def->nforbidden; f++)
				if (end <= def->forbidden[f].last && s[k] - 1 >= def->forbidden[f].first)
					return false;
		}
		for (size_t c = 0; c < dev->ncuts; c++)
			if (s[i] < dev->cuts[c].address && dev->cuts[c].address <= s[k])
				return false;
		if (e[k] > end)
			end = e[k];
	}
	return end - s[i] <= limit;
}

static size_t optimum(const struct mb_device *dev)
{
	uint32_t s[MAXP], e[MAXP];
	size_t n = 0, best[MAXP + 1];

	/* one table (holding), one poll class: sort by start then end */
	for (size_t i = 0; i < dev->def->npoints; i++) {
		const struct fb_point_def *p = &dev->def->points[i];
		size_t k = n++;

		while (k > 0 && (s[k - 1] > p->address ||
				 (s[k - 1] == p->address && e[k - 1] > p->address + fb_point_width(p)))) {
			s[k] = s[k - 1];
			e[k] = e[k - 1];
			k--;
		}
		s[k] = p->address;
		e[k] = (uint32_t)p->address + fb_point_width(p);
	}
	best[0] = 0;
	for (size_t j = 0; j < n; j++) {
		best[j + 1] = (size_t)-1;
		for (size_t i = 0; i <= j; i++)
			if (best[i] != (size_t)-1 &&
			    group_ok(dev, s, e, i, j, dev->def->max_registers_per_read) &&
			    best[i] + 1 < best[j + 1])
				best[j + 1] = best[i] + 1;
	}
	return best[n];
}

static void check_blocks(const struct mb_device *dev)
{
	const struct fb_definition *def = dev->def;
	size_t covered = 0;

	for (size_t b = 0; b < dev->nblocks; b++) {
		const struct fb_plan_block *blk = &dev->blocks[b];

		CHECK(blk->count <= def->max_registers_per_read);
		for (size_t i = 0; i < blk->npoints; i++) {
			const struct fb_point_def *p = &def->points[blk->points[i]];

			CHECK(p->address >= blk->start);
			CHECK(p->address + fb_point_width(p) <= blk->start + blk->count);
		}
		for (size_t f = 0; f < def->nforbidden; f++)
			CHECK(!(blk->start <= def->forbidden[f].last &&
				blk->start + blk->count - 1 >= def->forbidden[f].first));
		/* a learned cut: no point of the block starts at or after it while
		 * the block starts before it (a point may straddle it) */
		for (size_t c = 0; c < dev->ncuts; c++)
			for (size_t i = 0; i < blk->npoints; i++)
				CHECK(!(blk->start < dev->cuts[c].address &&
					def->points[blk->points[i]].address >= dev->cuts[c].address));
		covered += blk->npoints;
	}
	CHECK_EQ_INT((long long)covered, (long long)def->npoints);
}

static void greedy_plan_equals_the_optimum_on_random_maps(void)
{
	struct fb_point_def pts[MAXP];
	struct fb_definition def;
	struct { uint16_t first, last; } forb[3];
	struct fb_plan_cut cuts[2];
	unsigned seed = 12345;

	for (int round = 0; round < 5000; round++) {
		struct mb_device dev;
		size_t n = 1 + (size_t)(rand_r(&seed) % MAXP);

		memset(&def, 0, sizeof(def));
		memset(pts, 0, sizeof(pts));
		def.id = "random";
		def.max_registers_per_read = (uint16_t)(4 + rand_r(&seed) % 20);
		def.max_gap = (uint16_t)(rand_r(&seed) % 6);
		if (def.max_gap >= def.max_registers_per_read)
			def.max_gap = 0;
		def.nforbidden = (size_t)(rand_r(&seed) % 3);
		for (size_t f = 0; f < def.nforbidden; f++) {
			forb[f].first = (uint16_t)(rand_r(&seed) % 120);
			forb[f].last = (uint16_t)(forb[f].first + rand_r(&seed) % 4);
		}
		def.forbidden = (void *)forb;
		for (size_t i = 0; i < n; i++) {
			struct fb_point_def *p = &pts[i];
			bool clash;

			p->table = FB_REG_HOLDING;
			p->poll = FB_POLL_NORMAL;
			p->component = FB_COMP_SENSOR;
			do {
				p->address = (uint16_t)(rand_r(&seed) % 128);
				p->type = rand_r(&seed) % 3 ? FB_TYPE_UINT16 : FB_TYPE_FLOAT32;
				clash = false;
				for (size_t f = 0; f < def.nforbidden; f++)
					if (p->address <= forb[f].last &&
					    p->address + fb_point_width(p) - 1 >= forb[f].first)
						clash = true;
			} while (clash);
		}
		def.points = pts;
		def.npoints = n;
		memset(&dev, 0, sizeof(dev));
		dev.def = &def;
		dev.interval_ms = 1000;
		dev.ncuts = (size_t)(rand_r(&seed) % 3);
		for (size_t c = 0; c < dev.ncuts; c++)
			cuts[c] = (struct fb_plan_cut){ FB_REG_HOLDING, (uint16_t)(1 + rand_r(&seed) % 127) };
		dev.cuts = cuts;
		CHECK_EQ_INT(mb_plan_device(&dev, 0), 0);
		check_blocks(&dev);
		if ((size_t)dev.nblocks != optimum(&dev)) {
			CHECK_EQ_INT((long long)dev.nblocks, (long long)optimum(&dev));
			mb_plan_free(&dev);
			return;
		}
		mb_plan_free(&dev);
	}
}

static void poll_classes_are_planned_apart(void)
{
	struct fb_point_def pts[3];
	struct fb_definition def;
	struct mb_device dev;

	memset(&def, 0, sizeof(def));
	memset(pts, 0, sizeof(pts));
	for (int i = 0; i < 3; i++) {
		pts[i].table = FB_REG_HOLDING;
		pts[i].type = FB_TYPE_UINT16;
		pts[i].address = (uint16_t)i;
	}
	pts[0].poll = FB_POLL_NORMAL;
	pts[1].poll = FB_POLL_FAST;
	pts[2].poll = FB_POLL_ONCE;
	def.points = pts;
	def.npoints = 3;
	def.max_registers_per_read = 125;
	def.max_gap = 8;
	memset(&dev, 0, sizeof(dev));
	dev.def = &def;
	dev.interval_ms = 1000;
	CHECK_EQ_INT(mb_plan_device(&dev, 0), 0);
	CHECK_EQ_INT((long long)dev.nblocks, 3);
	for (size_t b = 0; b < dev.nblocks; b++) {
		const struct fb_plan_block *blk = &dev.blocks[b];

		CHECK_EQ_INT(blk->interval_ms, blk->poll == FB_POLL_FAST ? 250
					     : blk->poll == FB_POLL_ONCE ? 0 : 1000);
	}
	mb_plan_free(&dev);
}

static void t35_follows_the_baud_rate_and_is_fixed_from_19200(void)
{
	int c9600 = fb_plan_char_us(9600, 'N', 8, 1);

	CHECK_EQ_INT(c9600, 1042);                       /* 10 bits */
	CHECK_EQ_INT(fb_plan_char_us(9600, 'E', 8, 1), 1146); /* 11 bits */
	CHECK_EQ_INT(fb_plan_t35_us(9600, c9600), 3647);
	CHECK_EQ_INT(fb_plan_t35_us(19200, fb_plan_char_us(19200, 'N', 8, 1)), 1750);
	CHECK_EQ_INT(fb_plan_t35_us(115200, fb_plan_char_us(115200, 'N', 8, 1)), 1750);
	/* 10 registers: 8 + 5 + 20 bytes, two t3.5, 2 ms guard */
	CHECK_EQ_INT(fb_plan_read_us(c9600, 3647, 2, false, 10), 33 * 1042 + 2 * 3647 + 2000);
	/* 20 coils: 3 data bytes */
	CHECK_EQ_INT(fb_plan_read_us(c9600, 3647, 0, true, 20), 16 * 1042 + 2 * 3647);
}

int main(void)
{
	RUN_TEST(greedy_plan_equals_the_optimum_on_random_maps);
	RUN_TEST(poll_classes_are_planned_apart);
	RUN_TEST(t35_follows_the_baud_rate_and_is_fixed_from_19200);
	return fb_test_finish();
}
