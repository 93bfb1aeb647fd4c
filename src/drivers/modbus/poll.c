/* SPDX-License-Identifier: Apache-2.0 */
/* Reading: one transaction per planned block, decoded into the table.
 * Values pass the point's deadband before they are published, and a
 * heartbeat re-publishes unchanged values. */
#include "modbus-internal.h"
#include "tcp_xact.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <string.h>

struct read_req {
	enum fb_reg_table table;
	uint16_t start, count;
	uint16_t *regs;  /* borrowed, room for count */
	uint16_t *tid;   /* Modbus TCP: the driver's transaction counter, and
			  * the read goes through tcp_xact.c; NULL: libmodbus */
};

/* Modbus TCP reads skip libmodbus's receive path (tcp_xact.h says why);
 * the socket, unit and timeouts are still the context's, so connecting,
 * flushing, draining and reconnecting stay link.c's.  Transaction ids
 * live in the upper half (libmodbus counts its own from 0 for writes),
 * so a late answer to one of its requests is not taken for ours. */
static int read_tcp(modbus_t *ctx, const struct read_req *r)
{
	static const uint8_t fc[] = { [FB_REG_COIL] = 1, [FB_REG_DISCRETE_INPUT] = 2,
				      [FB_REG_INPUT] = 4, [FB_REG_HOLDING] = 3 };
	uint32_t s, us, bs, bus;
	struct mb_tcp_read q = { .tid = (uint16_t)(0x8000 | (++*r->tid & 0x7FFF)),
				 .unit = (uint8_t)modbus_get_slave(ctx), .fc = fc[r->table],
				 .start = r->start, .count = r->count };

	modbus_get_response_timeout(ctx, &s, &us);
	modbus_get_byte_timeout(ctx, &bs, &bus);
	if (mb_tcp_read_xact(modbus_get_socket(ctx), &q, (int)(s * 1000 + us / 1000),
			     (int)(bs * 1000 + bus / 1000), r->regs) < 0)
		return -1;
	return r->count;
}

static int read_raw(modbus_t *ctx, void *arg)
{
	struct read_req *r = arg;
	uint8_t bits[MB_MAX_READ_BITS];
	int n;

	if (r->tid)
		return read_tcp(ctx, r);

	switch (r->table) {
	case FB_REG_COIL:
	case FB_REG_DISCRETE_INPUT:
		n = r->table == FB_REG_COIL
			    ? modbus_read_bits(ctx, r->start, r->count, bits)
			    : modbus_read_input_bits(ctx, r->start, r->count, bits);
		for (int i = 0; i < n; i++)
			r->regs[i] = bits[i];
		return n;
	case FB_REG_INPUT:
		return modbus_read_input_registers(ctx, r->start, r->count, r->regs);
	case FB_REG_HOLDING:
		return modbus_read_registers(ctx, r->start, r->count, r->regs);
	}
	errno = EINVAL;
	return -1;
}

static bool numeric(const struct fb_value *v)
{
	return v->kind == FB_VALUE_INT || v->kind == FB_VALUE_UINT || v->kind == FB_VALUE_FLOAT;
}

static double as_double(const struct fb_value *v)
{
	return v->kind == FB_VALUE_INT ? (double)v->i
	     : v->kind == FB_VALUE_UINT ? (double)v->u : v->f;
}

/* True if v moved less than the deadband from the published value. */
static bool within_deadband(const struct fb_point_def *p, const struct mb_point_state *ps,
			    const struct fb_value *v)
{
	double last, diff, band;

	if (p->deadband <= 0 || !ps->has_published || ps->quality != FB_QUALITY_OK ||
	    !numeric(v) || ps->published.kind != v->kind)
		return false;
	last = as_double(&ps->published);
	diff = fabs(as_double(v) - last);
	band = p->deadband_pct ? fabs(last) * p->deadband / 100.0 : p->deadband;
	return diff < band;
}

void mb_store_point(struct mb_driver *d, struct mb_device *dev, uint32_t pi,
		    const struct fb_value *v, enum fb_quality q, bool force,
		    const uint16_t *raw)
{
	const struct fb_point_def *p = &dev->def->points[pi];
	struct mb_point_state *ps = &dev->pstate[pi];
	int64_t mono = fb_mono_ms();
	uint32_t index = dev->first_point + pi;
	size_t nraw = raw ? fb_point_width(p) : 0;

	if (!force && q == FB_QUALITY_OK && within_deadband(p, ps, v)) {
		/* Same value again: refreshes read_ts without a journal entry;
		 * the raw words are the device's latest all the same. */
		fb_table_point_write_raw(d->table, index, &ps->published, q, fb_now_ms(),
					 raw, nraw);
	} else {
		bool changed = !ps->has_published || ps->quality != q ||
			       !fb_value_equal(&ps->published, v);

		fb_table_point_write_raw(d->table, index, v, q, fb_now_ms(), raw, nraw);
		ps->published = *v;
		ps->quality = (uint8_t)q;
		ps->has_published = true;
		if (changed) {
			ps->published_mono_ms = mono;
			return;
		}
	}
	if (p->heartbeat_s && mono - ps->published_mono_ms >= (int64_t)p->heartbeat_s * 1000) {
		fb_table_point_touch(d->table, index);
		ps->published_mono_ms = mono;
	}
}

static void decode_store(struct mb_driver *d, struct mb_device *dev, uint32_t pi,
			 const uint16_t *regs, const struct fb_plan_block *blk)
{
	const struct fb_point_def *p = &dev->def->points[pi];
	struct fb_value v;

	memset(&v, 0, sizeof(v));
	if (fb_codec_decode_run(p, regs, blk->start, blk->count, &v) < 0) {
		fb_debug("device %s: point %s: undecodable value", dev->conf->id, p->key);
		v.kind = FB_VALUE_NONE;
	}
	/* The point's own words: what a Modbus server client reads back. */
	mb_store_point(d, dev, pi, &v, FB_QUALITY_OK, false, regs + (p->address - blk->start));
}

static void mark_failed(struct mb_driver *d, struct mb_device *dev, const uint32_t *pts,
			size_t n)
{
	struct fb_value none;

	memset(&none, 0, sizeof(none));
	for (size_t i = 0; i < n; i++) {
		uint32_t pi = pts ? pts[i] : (uint32_t)i;

		mb_store_point(d, dev, pi, &none, FB_QUALITY_COMM_ERROR, true, NULL);
	}
}

/* Exception 02/03 on a block of several points: split it where the fault
 * most likely is, remember the split, and read the parts next. */
static bool split_block(struct mb_driver *d, struct mb_device *dev,
			const struct fb_plan_block *blk, int64_t now_ms)
{
	uint16_t cut;

	if (!mb_splits_learn(dev, blk, &cut))
		return false;
	fb_info("device %s: unit %d rejects reading %s %u..%u: split at %u (learned, "
		"kept in %s)", dev->conf->id, dev->conf->unit_id, fb_reg_table_name(blk->table),
		blk->start, blk->start + blk->count - 1, cut,
		d->splits_path ? d->splits_path : "memory only");
	if (mb_plan_device(dev, now_ms) < 0)
		fb_err("device %s: out of memory re-planning reads", dev->conf->id);
	if (mb_splits_save(d) < 0)
		fb_log_errno(FB_LOG_WARNING, "bus %s: cannot save learned splits to %s",
			     d->bus->name, d->splits_path);
	return true;
}

enum mb_xact mb_poll_block(struct mb_driver *d, struct mb_device *dev,
			   struct fb_plan_block *blk, int64_t now_ms, bool probe)
{
	uint16_t regs[MB_MAX_READ_BITS];
	struct read_req req = { blk->table, blk->start, blk->count, regs,
				d->rtu_framing ? NULL : &d->tcp_tid };
	uint64_t epoch = d->write_epoch;
	enum mb_xact rc;
	int err;

	rc = mb_xact_read(d, dev, read_raw, &req, probe ? 0 : -1, true, &err);
	switch (rc) {
	case MB_XACT_OK:
		for (size_t i = 0; i < blk->npoints; i++) {
			uint32_t pi = blk->points[i];

			/* Read before a write to this point finished: the written
			 * (and read back) value stands. */
			if (dev->pstate[pi].written_epoch > epoch)
				continue;
			decode_store(d, dev, pi, regs, blk);
		}
		break;
	case MB_XACT_EXCEPTION:
		fb_debug("device %s: read %s %u+%u: %s", dev->conf->id,
			 fb_reg_table_name(blk->table), blk->start, blk->count,
			 modbus_strerror(err));
		if ((err == EMBXILADD || err == EMBXILVAL) && blk->npoints > 1 &&
		    split_block(d, dev, blk, now_ms))
			return rc; /* blk was freed by the re-plan */
		/* One point the device refuses: unknown, the others go on. */
		mark_failed(d, dev, blk->points, blk->npoints);
		break;
	default:
		break;
	}
	return rc;
}

static int read_one(modbus_t *ctx, void *arg)
{
	return read_raw(ctx, arg);
}

enum mb_xact mb_read_point(struct mb_driver *d, struct mb_device *dev,
			   const struct fb_point_def *p, struct fb_value *v, uint16_t *regs,
			   int *err)
{
	uint16_t words[MB_MAX_READ_REGISTERS], first, last;

	/* One request for the point and its scale-factor register. */
	fb_point_extent(p, &first, &last);
	struct read_req req = { p->table, first, (uint16_t)(last - first + 1), words,
				d->rtu_framing ? NULL : &d->tcp_tid };
	enum mb_xact rc = mb_xact_read(d, dev, read_one, &req, -1, false, err);

	memset(v, 0, sizeof(*v));
	if (rc != MB_XACT_OK)
		return rc;
	if (fb_codec_decode_run(p, words, req.start, req.count, v) < 0)
		v->kind = FB_VALUE_NONE;
	if (regs) /* the point's own words, for the table's raw copy */
		memcpy(regs, words + (p->address - first),
		       fb_point_width(p) * sizeof(*regs));
	return rc;
}

void mb_device_set_online(struct mb_driver *d, struct mb_device *dev, bool online,
			  const char *why)
{
	if (dev->online == online)
		return;
	dev->online = online;
	fb_table_device_set_online(d->table, dev->table_device, online);
	if (online) {
		fb_info("device %s (unit %d): online", dev->conf->id, dev->conf->unit_id);
		/* It may have been replaced or updated while away. */
		if (dev->sunspec_rescan_online)
			dev->sunspec_next_ms = 0;
		dev->sunspec_rescan_online = false;
		return;
	}
	dev->sunspec_rescan_online = dev->own_def != NULL;
	fb_warn("device %s (unit %d): offline: %s", dev->conf->id, dev->conf->unit_id, why);
	mark_failed(d, dev, NULL, dev->def->npoints);
}
