/* SPDX-License-Identifier: Apache-2.0 */
/* Which point answers an address: per served device and register table, a
 * list of every address its definition polls, sorted, each naming the
 * point (span) that covers it.  Built once from the configuration; the
 * table indices are re-resolved whenever a bus's table is (re)attached.
 *
 * Rights follow the exporter's rule (users.h): read to be served, write to
 * have writes forwarded; no users file means every right, a user missing
 * from the file none. */
#include "mbserver-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cell_cmp(const void *a, const void *b)
{
	const struct mbs_cell *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	/* The first point covering an address answers it. */
	return x->span < y->span ? -1 : x->span > y->span;
}

/* Sorted, one cell per address. */
static void cells_dedup(struct mbs_cell *c, size_t *n)
{
	size_t w = 0;

	qsort(c, *n, sizeof(*c), cell_cmp);
	for (size_t i = 0; i < *n; i++)
		if (!w || c[w - 1].address != c[i].address)
			c[w++] = c[i];
	*n = w;
}

static int add_device(struct mbs_map *m, const struct fb_device_conf *dc, size_t bus,
		      const struct fb_mbserver_conf *s, const struct fb_users *users,
		      const struct fb_user *user)
{
	const struct fb_definition *def = dc->def;
	struct mbs_device *d = &m->devices[m->ndevices];
	uint32_t di = (uint32_t)m->ndevices;
	size_t cap[4] = { 0 };

	memset(d, 0, sizeof(*d));
	d->conf = dc;
	d->bus = bus;
	d->unit_id = fb_config_mbserver_unit(s, dc);
	d->access = calloc(def->npoints ? def->npoints : 1, sizeof(*d->access));
	d->tindex = calloc(def->npoints ? def->npoints : 1, sizeof(*d->tindex));
	if (!d->access || !d->tindex)
		return -1;
	m->ndevices++;
	for (size_t p = 0; p < def->npoints; p++) {
		d->tindex[p] = -1;
		d->access[p] = !users ? FB_ACCESS_WRITE
			       : user ? (uint8_t)fb_user_access(user, dc->id, def->points[p].key)
				      : FB_ACCESS_NONE;
		cap[def->points[p].table] += fb_point_width(&def->points[p]);
	}
	for (int t = 0; t < 4; t++) {
		d->cells[t] = calloc(cap[t] ? cap[t] : 1, sizeof(struct mbs_cell));
		if (!d->cells[t])
			return -1;
	}
	for (size_t p = 0; p < def->npoints; p++) {
		const struct fb_point_def *pd = &def->points[p];
		struct mbs_span *sp = &m->spans[m->nspans];
		uint16_t w = fb_point_width(pd);

		if (pd->ext.relay_open)
			continue; /* a relay cover's estimate has no register */

		*sp = (struct mbs_span){ di, (uint32_t)p, pd->address, w };
		for (uint16_t k = 0; k < w && (uint32_t)pd->address + k <= 0xFFFFu; k++)
			d->cells[pd->table][d->ncells[pd->table]++] =
				(struct mbs_cell){ (uint16_t)(pd->address + k), (uint32_t)m->nspans };
		m->nspans++;
	}
	for (int t = 0; t < 4; t++)
		cells_dedup(d->cells[t], &d->ncells[t]);
	if (d->unit_id >= 0 && d->unit_id <= 255)
		m->by_unit[d->unit_id] = (int16_t)di;
	return 0;
}

int mbs_map_build(struct mbs_map *m, const struct fb_config *cfg,
		  const struct fb_mbserver_conf *s, const struct fb_users *users,
		  const struct fb_user *user, const struct fb_table_follower_handlers *h,
		  void *ctx)
{
	size_t nd = 0, np = 0;

	memset(m, 0, sizeof(*m));
	for (int u = 0; u < 256; u++)
		m->by_unit[u] = -1;
	m->buses = calloc(s->nbuses, sizeof(*m->buses));
	if (!m->buses)
		goto oom;
	for (size_t b = 0; b < s->nbuses; b++) {
		const struct fb_bus_conf *bc = fb_config_bus(cfg, s->buses[b]);

		m->buses[m->nbuses].conf = bc;
		m->buses[m->nbuses].owner = ctx;
		m->buses[m->nbuses].index = b;
		m->nbuses++;
		for (size_t i = 0; i < bc->ndevices; i++)
			if (bc->devices[i].def) {
				nd++;
				np += bc->devices[i].def->npoints;
			}
	}
	m->devices = calloc(nd ? nd : 1, sizeof(*m->devices));
	m->spans = calloc(np ? np : 1, sizeof(*m->spans));
	if (!m->devices || !m->spans)
		goto oom;
	for (size_t b = 0; b < m->nbuses; b++) {
		const struct fb_bus_conf *bc = m->buses[b].conf;
		char path[256];

		for (size_t i = 0; i < bc->ndevices; i++)
			if (bc->devices[i].def &&
			    add_device(m, &bc->devices[i], b, s, users, user) < 0)
				goto oom;
		fb_config_table_name(cfg, bc, path, sizeof(path));
		/* A driver silent for 5 s is a stopped one (as the exporter). */
		m->buses[b].follower = fb_table_follower_new(path, 5000, h, &m->buses[b]);
		if (!m->buses[b].follower)
			goto oom;
	}
	return 0;
oom:
	mbs_map_free(m);
	errno = ENOMEM;
	return -1;
}

void mbs_map_free(struct mbs_map *m)
{
	for (size_t b = 0; b < m->nbuses; b++)
		fb_table_follower_free(m->buses[b].follower);
	for (size_t i = 0; i < m->ndevices; i++) {
		free(m->devices[i].access);
		free(m->devices[i].tindex);
		for (int t = 0; t < 4; t++)
			free(m->devices[i].cells[t]);
	}
	free(m->devices);
	free(m->spans);
	free(m->buses);
	memset(m, 0, sizeof(*m));
}

void mbs_map_resolve(struct mbs_map *m, size_t b, const struct fb_table_reader *r)
{
	for (size_t i = 0; i < m->ndevices; i++) {
		struct mbs_device *d = &m->devices[i];

		if (d->bus != b)
			continue;
		for (size_t p = 0; p < d->conf->def->npoints; p++)
			d->tindex[p] = r ? fb_table_reader_find(r, d->conf->id,
								d->conf->def->points[p].key)
					 : -1;
	}
}

const struct mbs_span *mbs_map_find(const struct mbs_map *m, const struct mbs_device *d,
				    int table, uint16_t address)
{
	const struct mbs_cell *c = d->cells[table];
	size_t lo = 0, hi = d->ncells[table];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c[mid].address < address)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->ncells[table] && c[lo].address == address ? &m->spans[c[lo].span]
								 : NULL;
}

struct mbs_device *mbs_map_unit(struct mbs_map *m, uint8_t u)
{
	return m->by_unit[u] >= 0 ? &m->devices[m->by_unit[u]] : NULL;
}
