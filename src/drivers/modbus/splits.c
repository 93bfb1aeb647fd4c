/* SPDX-License-Identifier: Apache-2.0 */
/* Learned splits: a slave that answers exception 02/03 to a merged read
 * (typically a hole in its register map that the definition does not
 * declare) gets that block split, and the split is remembered in
 * "<state_dir>/modbus-<bus>.splits.json" so a restarted driver plans around
 * it at once instead of provoking the exception again.
 *
 * Entries are keyed by device id and definition id; a device whose
 * definition changed starts afresh.  The file is written to a temporary
 * name and renamed, so a crash never leaves half a file. */
#include "modbus-internal.h"
#include "jsonfile.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct extent {
	uint32_t start, end; /* end exclusive */
};

static int extent_cmp(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Where to cut a failing block: the widest read-through gap between
 * consecutive points is the prime suspect (an undeclared hole); with no gap,
 * the middle point, so repeated failures bisect to the culprit.  Returns 0
 * if the block cannot be cut (one address). */
static uint16_t choose_cut(const struct mb_device *dev, const struct fb_plan_block *blk)
{
	struct extent *ex = calloc(blk->npoints ? blk->npoints : 1, sizeof(*ex));
	uint32_t end, best_gap = 0, cut = 0;

	if (!ex)
		return 0;
	for (size_t i = 0; i < blk->npoints; i++) {
		const struct fb_point_def *p = &dev->def->points[blk->points[i]];

		uint16_t first, last;

		fb_point_extent(p, &first, &last);
		ex[i].start = first;
		ex[i].end = (uint32_t)last + 1;
	}
	qsort(ex, blk->npoints, sizeof(*ex), extent_cmp);
	end = ex[0].end;
	for (size_t i = 1; i < blk->npoints; i++) {
		if (ex[i].start > end && ex[i].start - end > best_gap) {
			best_gap = ex[i].start - end;
			cut = ex[i].start;
		}
		if (ex[i].end > end)
			end = ex[i].end;
	}
	if (!best_gap) {
		/* the middle distinct start address */
		for (size_t i = blk->npoints / 2; i < blk->npoints && !cut; i++)
			if (ex[i].start > ex[0].start)
				cut = ex[i].start;
	}
	free(ex);
	return (uint16_t)cut;
}

static bool add_cut(struct mb_device *dev, enum fb_reg_table t, uint16_t addr)
{
	struct fb_plan_cut *nc;

	for (size_t i = 0; i < dev->ncuts; i++)
		if (dev->cuts[i].table == t && dev->cuts[i].address == addr)
			return false;
	nc = realloc(dev->cuts, (dev->ncuts + 1) * sizeof(*nc));
	if (!nc)
		return false;
	dev->cuts = nc;
	dev->cuts[dev->ncuts++] = (struct fb_plan_cut){ t, addr };
	return true;
}

bool mb_splits_learn(struct mb_device *dev, const struct fb_plan_block *blk, uint16_t *cut_out)
{
	uint16_t cut = choose_cut(dev, blk);

	if (cut <= blk->start)
		return false;
	*cut_out = cut;
	return add_cut(dev, blk->table, cut);
}

static int table_from_name(const char *s)
{
	for (int t = FB_REG_COIL; t <= FB_REG_HOLDING; t++)
		if (!strcmp(fb_reg_table_name((enum fb_reg_table)t), s))
			return t;
	return -1;
}

void mb_splits_load(struct mb_driver *d)
{
	struct fb_diag diag;
	cJSON *doc, *devs, *jd;
	struct stat st;

	if (!d->splits_path || stat(d->splits_path, &st) < 0)
		return;
	fb_diag_init(&diag);
	doc = fb_json_load_file(d->splits_path, &diag);
	if (!doc) {
		fb_warn("bus %s: ignoring unreadable learned splits %s", d->bus->name,
			d->splits_path);
		fb_diag_free(&diag);
		return;
	}
	devs = cJSON_GetObjectItemCaseSensitive(doc, "devices");
	cJSON_ArrayForEach(jd, devs) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(jd, "id");
		const cJSON *def = cJSON_GetObjectItemCaseSensitive(jd, "definition");
		const cJSON *cuts = cJSON_GetObjectItemCaseSensitive(jd, "cuts"), *c;

		if (!cJSON_IsString(id) || !cJSON_IsString(def))
			continue;
		for (size_t i = 0; i < d->ndevices; i++) {
			struct mb_device *dev = &d->devices[i];

			if (strcmp(dev->conf->id, id->valuestring) ||
			    strcmp(dev->def->id, def->valuestring))
				continue;
			cJSON_ArrayForEach(c, cuts) {
				const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "table");
				const cJSON *a = cJSON_GetObjectItemCaseSensitive(c, "address");
				int ti = cJSON_IsString(t) ? table_from_name(t->valuestring) : -1;

				if (ti >= 0 && cJSON_IsNumber(a) && a->valuedouble >= 1 &&
				    a->valuedouble <= 65535)
					add_cut(dev, (enum fb_reg_table)ti, (uint16_t)a->valuedouble);
			}
			if (dev->ncuts)
				fb_info("device %s: %zu learned split%s from %s", dev->conf->id,
					dev->ncuts, dev->ncuts == 1 ? "" : "s", d->splits_path);
		}
	}
	cJSON_Delete(doc);
	fb_diag_free(&diag);
}

int mb_splits_save(const struct mb_driver *d)
{
	char tmp[4096];
	FILE *f;
	bool first = true;
	int err;

	if (!d->splits_path)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->splits_path);
	f = fopen(tmp, "we");
	if (!f)
		return -1;
	fprintf(f, "{\n  \"version\": 1,\n  \"devices\": [");
	for (size_t i = 0; i < d->ndevices; i++) {
		const struct mb_device *dev = &d->devices[i];

		if (!dev->ncuts)
			continue;
		fprintf(f, "%s\n    {\"id\": \"%s\", \"definition\": \"%s\", \"unit_id\": %d, "
			"\"cuts\": [", first ? "" : ",", dev->conf->id, dev->def->id,
			dev->conf->unit_id);
		for (size_t c = 0; c < dev->ncuts; c++)
			fprintf(f, "%s{\"table\": \"%s\", \"address\": %u}", c ? ", " : "",
				fb_reg_table_name(dev->cuts[c].table), dev->cuts[c].address);
		fprintf(f, "]}");
		first = false;
	}
	fprintf(f, "\n  ]\n}\n");
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		err = errno;
		fclose(f);
		unlink(tmp);
		errno = err;
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, d->splits_path) < 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}
