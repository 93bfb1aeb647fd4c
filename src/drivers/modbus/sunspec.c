/* SPDX-License-Identifier: Apache-2.0 */
/* SunSpec devices: after each connect, find the "SunS" marker (40000,
 * 50000, 0, as gosunspec and pysunspec2 try them), walk the model chain
 * (ID, length; 0xFFFF ends it; unknown models are skipped by their length)
 * and move each point of the definition by the distance between where its
 * model really starts and where the definition assumed it.  Points of a
 * model the device lacks are never read and stay unknown.  Values and their
 * scale factors are read in one request by the planner (scale_register),
 * because scale factors change at run time. */
#include "modbus-internal.h"
#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUNS_MARKER 0x53756E53u  /* "SunS" */
#define MAX_MODELS 100

/* Models that share their register layout: the definition names one,
 * the device may carry another (single/split/three phase). */
static uint16_t layout_of(uint16_t id)
{
	switch (id) {
	case 101: case 102: return 103;
	case 111: case 112: return 113;
	case 201: case 202: case 204: return 203;
	case 211: case 212: case 214: return 213;
	default: return id;
	}
}

int mb_sunspec_setup(struct mb_device *dev)
{
	const struct fb_definition *src = dev->conf->def;
	struct fb_definition *own;

	if (!src->nsunspec)
		return 0;
	own = malloc(sizeof(*own));
	if (!own)
		return -1;
	*own = *src; /* strings and arrays stay the config's */
	own->points = malloc(src->npoints * sizeof(*own->points));
	if (!own->points) {
		free(own);
		return -1;
	}
	memcpy(own->points, src->points, src->npoints * sizeof(*own->points));
	dev->own_def = own;
	dev->def = own;
	return 0;
}

void mb_sunspec_free(struct mb_device *dev)
{
	if (!dev->own_def)
		return;
	free(dev->own_def->points);
	free(dev->own_def);
	dev->own_def = NULL;
}

/* Two holding registers as one value: 0 read, 1 exception, -1 no answer. */
static int read_pair(struct mb_driver *d, struct mb_device *dev, uint16_t addr,
		     uint32_t *out)
{
	struct fb_point_def p;
	struct fb_value v;
	int err;
	enum mb_xact rc;

	memset(&p, 0, sizeof(p));
	p.key = "sunspec";
	p.table = FB_REG_HOLDING;
	p.address = addr;
	p.type = FB_TYPE_UINT32;
	p.scale = 1.0;
	rc = mb_read_point(d, dev, &p, &v, NULL, &err);
	if (rc == MB_XACT_OK && v.kind == FB_VALUE_UINT) {
		*out = (uint32_t)v.u;
		return 0;
	}
	return rc == MB_XACT_EXCEPTION ? 1 : -1;
}

/* Where each of the definition's models starts on this device (0 = absent). */
static int walk(struct mb_driver *d, struct mb_device *dev, uint16_t *found, char *log,
		size_t loglen)
{
	static const uint16_t bases[] = { 40000, 50000, 0 };
	const struct fb_definition *def = dev->conf->def;
	uint32_t w;
	int rc = 1;
	size_t at = 0;
	uint32_t addr = 0;

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		rc = read_pair(d, dev, bases[b], &w);
		if (rc < 0)
			return -1; /* no answer: try again after the next connect */
		if (rc == 0 && w == SUNS_MARKER) {
			at = (size_t)snprintf(log, loglen, "SunS at %u:", bases[b]);
			addr = bases[b] + 2u;
			break;
		}
		rc = 1;
	}
	if (rc)
		return 1;
	for (int n = 0; n < MAX_MODELS && addr + 1 <= 0xFFFF; n++) {
		uint16_t id, len;

		if (read_pair(d, dev, (uint16_t)addr, &w) != 0)
			break; /* a short chain: keep what was found */
		id = (uint16_t)(w >> 16);
		len = (uint16_t)w;
		if (id == 0xFFFF || id == 0)
			break;
		if (at < loglen)
			at += (size_t)snprintf(log + at, loglen - at, " %u@%u", id, addr);
		for (size_t i = 0; i < def->nsunspec; i++)
			if (!found[i] && layout_of(id) == layout_of(def->sunspec[i].model))
				found[i] = (uint16_t)addr;
		addr += 2u + len;
	}
	return 0;
}

void mb_sunspec_locate(struct mb_driver *d, struct mb_device *dev, int64_t now_ms)
{
	const struct fb_definition *def = dev->conf->def;
	uint16_t found[64] = { 0 };
	char log[512] = "";
	struct fb_value none;
	int rc;

	if (!dev->own_def || def->nsunspec > sizeof(found) / sizeof(found[0]))
		return;
	rc = walk(d, dev, found, log, sizeof(log));
	if (rc < 0) {
		fb_warn("device %s (unit %d): no answer while looking for the SunSpec marker; "
			"tried again after the next connect", dev->conf->id, dev->conf->unit_id);
		return;
	}
	if (rc > 0)
		fb_warn("device %s (unit %d): no SunSpec marker (\"SunS\") at 40000, 50000 or 0: "
			"its SunSpec points stay unknown", dev->conf->id, dev->conf->unit_id);
	else
		fb_info("device %s (unit %d): %s", dev->conf->id, dev->conf->unit_id, log);
	memset(&none, 0, sizeof(none));
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *orig = &def->points[i];
		struct fb_point_def *p = &dev->own_def->points[i];
		const struct fb_sunspec_model *m;
		long delta = 0;
		bool present = true;

		if (!orig->sunspec_model)
			continue;
		m = fb_model_sunspec_model(def, orig->sunspec_model);
		present = false;
		for (size_t k = 0; m && k < def->nsunspec; k++)
			if (&def->sunspec[k] == m && found[k]) {
				delta = (long)found[k] - (long)m->address;
				present = true;
			}
		if (present && (orig->address + delta < 0 ||
				orig->address + delta + fb_point_width(orig) - 1 > 0xFFFF))
			present = false;
		if (present && orig->has_scale_register &&
		    (orig->scale_register + delta < 0 || orig->scale_register + delta > 0xFFFF))
			present = false;
		p->not_present = !present;
		if (present) {
			p->address = (uint16_t)(orig->address + delta);
			if (orig->has_scale_register)
				p->scale_register = (uint16_t)(orig->scale_register + delta);
		} else {
			mb_store_point(d, dev, (uint32_t)i, &none, FB_QUALITY_OK, true, NULL);
		}
	}
	if (mb_plan_device(dev, now_ms) < 0)
		fb_err("device %s: out of memory planning reads", dev->conf->id);
}
