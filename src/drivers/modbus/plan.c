/* Turns a device definition into the fewest read requests: points of the
 * same register table are merged while the block stays within the protocol
 * limit, the device's max block size, its max gap to read through, and
 * never covers a forbidden address range. */
#include "modbus-internal.h"

#include <errno.h>
#include <stdlib.h>

struct span {
	enum fb_reg_table table;
	uint16_t start, end; /* end exclusive, fits since width >= 1 */
	uint32_t point;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

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

int mb_plan_device(struct mb_device *dev)
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
		spans[nspans].table = p->table;
		spans[nspans].start = p->address;
		spans[nspans].end = (uint16_t)(p->address + fb_point_width(p));
		spans[nspans].point = (uint32_t)i;
		nspans++;
	}
	qsort(spans, nspans, sizeof(*spans), span_cmp);

	dev->blocks = NULL;
	dev->nblocks = 0;
	for (size_t i = 0; i < nspans; i++) {
		struct mb_block *cur = dev->nblocks ? &dev->blocks[dev->nblocks - 1] : NULL;
		const struct span *s = &spans[i];

		if (cur && cur->table == s->table) {
			uint32_t cur_end = (uint32_t)cur->start + cur->count;
			uint32_t new_end = s->end > cur_end ? s->end : cur_end;
			uint32_t gap = s->start > cur_end ? s->start - cur_end : 0;

			if (gap <= def->max_gap &&
			    new_end - cur->start <= table_limit(def, s->table) &&
			    (gap == 0 || !range_forbidden(def, cur_end, s->start - 1))) {
				cur->count = (uint16_t)(new_end - cur->start);
				if (block_add_point(cur, s->point) < 0)
					goto fail;
				continue;
			}
		}
		struct mb_block *nb = realloc(dev->blocks, (dev->nblocks + 1) * sizeof(*nb));

		if (!nb)
			goto fail;
		dev->blocks = nb;
		cur = &dev->blocks[dev->nblocks++];
		cur->table = s->table;
		cur->start = s->start;
		cur->count = (uint16_t)(s->end - s->start);
		cur->points = NULL;
		cur->npoints = 0;
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
