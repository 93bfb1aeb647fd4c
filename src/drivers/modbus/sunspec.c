/* SPDX-License-Identifier: Apache-2.0 */
/* SunSpec devices: after each connect, when a device comes back online
 * and every sunspec.rescan_s (default 600 s), find the "SunS" marker
 * (40000, 50000, 0, as gosunspec and pysunspec2 try them), walk the model
 * chain (ID, length; 0xFFFF ends it; unknown models are skipped by their
 * length) and put each point where the device has its model: the n-th
 * meter of the chain serves the definition's "203:n" points, a float
 * model (113, 213) serves the integer model's points as float32
 * (definition_sunspec.c).  Points of a model the device lacks, or beyond
 * its length, are never read and stay unknown.  Values and their
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

/* The device's model chain in order (ID, address, length): 0, 1 no
 * marker, -1 no answer. */
static int walk(struct mb_driver *d, struct mb_device *dev, struct fb_sunspec_found *chain,
		size_t *nchain, char *log, size_t loglen)
{
	static const uint16_t bases[] = { 40000, 50000, 0 };
	uint32_t w;
	int rc = 1;
	size_t at = 0;
	uint32_t addr = 0;

	*nchain = 0;
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		rc = read_pair(d, dev, bases[b], &w);
		if (rc < 0)
			return -1; /* no answer: try again later */
		if (rc == 0 && w == SUNS_MARKER) {
			at = (size_t)snprintf(log, loglen, "SunS at %u:", bases[b]);
			addr = bases[b] + 2u;
			break;
		}
		rc = 1;
	}
	if (rc)
		return 1;
	while (*nchain < MAX_MODELS && addr + 1 <= 0xFFFF) {
		uint16_t id, len;

		if (read_pair(d, dev, (uint16_t)addr, &w) != 0)
			break; /* a short chain: keep what was found */
		id = (uint16_t)(w >> 16);
		len = (uint16_t)w;
		if (id == 0xFFFF || id == 0)
			break;
		if (at < loglen)
			at += (size_t)snprintf(log + at, loglen - at, " %u@%u", id, addr);
		chain[*nchain].id = id;
		chain[*nchain].address = (uint16_t)addr;
		chain[*nchain].length = len;
		(*nchain)++;
		addr += 2u + len;
	}
	return 0;
}

/* FNV-1a of the chain's text: log it when it changes, not every rescan. */
static uint32_t text_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

void mb_sunspec_locate(struct mb_driver *d, struct mb_device *dev, int64_t now_ms)
{
	const struct fb_definition *def = dev->conf->def;
	struct fb_sunspec_found chain[MAX_MODELS], *found;
	char log[512] = "";
	struct fb_value none;
	size_t nchain = 0;
	bool changed = false;
	int rc;

	if (!dev->own_def)
		return;
	dev->sunspec_next_ms = now_ms + (int64_t)def->sunspec_rescan_s * 1000;
	found = calloc(def->nsunspec, sizeof(*found));
	if (!found) {
		fb_err("device %s: out of memory locating SunSpec models", dev->conf->id);
		return;
	}
	rc = walk(d, dev, chain, &nchain, log, sizeof(log));
	if (rc < 0) {
		fb_warn("device %s (unit %d): no answer while looking for the SunSpec marker; "
			"tried again when it is back online", dev->conf->id, dev->conf->unit_id);
		dev->sunspec_rescan_online = true;
		free(found);
		return;
	}
	if (rc > 0)
		snprintf(log, sizeof(log), "no SunSpec marker (\"SunS\") at 40000, 50000 or 0: "
			 "its SunSpec points stay unknown");
	if (text_hash(log) != dev->sunspec_chain_hash || !dev->sunspec_chain_hash) {
		if (rc > 0)
			fb_warn("device %s (unit %d): %s", dev->conf->id, dev->conf->unit_id, log);
		else
			fb_info("device %s (unit %d): %s", dev->conf->id, dev->conf->unit_id, log);
		dev->sunspec_chain_hash = text_hash(log);
	}
	fb_model_sunspec_assign(def, chain, nchain, found);
	memset(&none, 0, sizeof(none));
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *orig = &def->points[i];
		struct fb_point_def *p = &dev->own_def->points[i], placed;
		bool present;

		if (!orig->sunspec_model)
			continue;
		present = fb_model_sunspec_place(def, found, orig, &placed);
		if (!present)
			placed = *orig;
		placed.not_present = !present;
		if (memcmp(&placed, p, sizeof(placed)))
			changed = true;
		*p = placed;
		if (!present)
			mb_store_point(d, dev, (uint32_t)i, &none, FB_QUALITY_OK, true, NULL);
	}
	free(found);
	if ((changed || !dev->blocks) && mb_plan_device(dev, now_ms) < 0)
		fb_err("device %s: out of memory planning reads", dev->conf->id);
}
