/* Reading: one transaction per planned block, decoded into the table. */
#include "modbus-internal.h"
#include "log.h"

#include <errno.h>
#include <string.h>

static int read_raw(modbus_t *ctx, enum fb_reg_table table, uint16_t start,
		    uint16_t count, uint16_t *regs)
{
	uint8_t bits[MB_MAX_READ_BITS];
	int n;

	switch (table) {
	case FB_REG_COIL:
	case FB_REG_DISCRETE_INPUT:
		n = table == FB_REG_COIL ? modbus_read_bits(ctx, start, count, bits)
					 : modbus_read_input_bits(ctx, start, count, bits);
		for (int i = 0; i < n; i++)
			regs[i] = bits[i];
		return n;
	case FB_REG_INPUT:
		return modbus_read_input_registers(ctx, start, count, regs);
	case FB_REG_HOLDING:
		return modbus_read_registers(ctx, start, count, regs);
	}
	errno = EINVAL;
	return -1;
}

/* After a failed transaction: a broken link is closed (reconnect later);
 * a timeout may leave a late answer in the socket, which must not be taken
 * as the reply to the next request. */
static void after_failure(struct mb_driver *d, int err)
{
	if (mb_link_errno_is_fatal(err)) {
		fb_warn("bus %s: link lost: %s", d->bus->name, modbus_strerror(err));
		mb_link_close(d);
	} else if (d->ctx) {
		modbus_flush(d->ctx);
	}
}

static void store_point(struct mb_driver *d, struct mb_device *dev, uint32_t pi,
			const uint16_t *regs, int64_t now_ms)
{
	const struct fb_point_def *p = &dev->def->points[pi];
	struct fb_value v;

	memset(&v, 0, sizeof(v));
	if (fb_codec_decode(p, regs, &v) < 0) {
		fb_debug("device %s: point %s: undecodable value", dev->conf->id, p->key);
		v.kind = FB_VALUE_NONE;
	}
	fb_table_point_write(d->table, dev->first_point + pi, &v, FB_QUALITY_OK, now_ms);
}

/* Points whose value is unknown now: no value, quality communication error.
 * Either every point from first to last, or only those listed in `only`. */
static void mark_points_failed(struct mb_driver *d, struct mb_device *dev,
			       size_t first, size_t count, const uint32_t *only,
			       int64_t now_ms)
{
	struct fb_value none;

	memset(&none, 0, sizeof(none));
	for (size_t i = 0; i < count; i++) {
		uint32_t pi = only ? only[i] : (uint32_t)(first + i);

		fb_table_point_write(d->table, dev->first_point + pi, &none,
				     FB_QUALITY_COMM_ERROR, now_ms);
	}
}

int mb_poll_device(struct mb_driver *d, struct mb_device *dev, int64_t now_ms)
{
	uint16_t regs[MB_MAX_READ_BITS];

	for (size_t b = 0; b < dev->nblocks; b++) {
		const struct mb_block *blk = &dev->blocks[b];

		/* A queued command goes out at the next frame boundary. */
		mb_commands_run(d);
		if (!d->ctx)
			return -1;
		modbus_set_slave(d->ctx, dev->conf->unit_id);
		if (read_raw(d->ctx, blk->table, blk->start, blk->count, regs) < 0) {
			int err = errno;

			fb_debug("device %s: read %u+%u failed: %s", dev->conf->id,
				 blk->start, blk->count, modbus_strerror(err));
			after_failure(d, err);
			/* An exception reply proves the device is alive: only this
			 * block's points are unknown. */
			if (err > MODBUS_ENOBASE && err <= EMBXGTAR) {
				mark_points_failed(d, dev, 0, blk->npoints, blk->points, now_ms);
				continue;
			}
			/* Skip the device's other blocks: a dead slave costs one
			 * timeout per cycle, not one per block. */
			return -1;
		}
		for (size_t i = 0; i < blk->npoints; i++) {
			uint32_t pi = blk->points[i];
			const struct fb_point_def *p = &dev->def->points[pi];

			store_point(d, dev, pi, regs + (p->address - blk->start), now_ms);
		}
	}
	return 0;
}

int mb_read_point(struct mb_driver *d, struct mb_device *dev,
		  const struct fb_point_def *p, struct fb_value *v)
{
	uint16_t regs[MB_MAX_READ_REGISTERS];

	if (!d->ctx) {
		errno = ENOTCONN;
		return -1;
	}
	modbus_set_slave(d->ctx, dev->conf->unit_id);
	if (read_raw(d->ctx, p->table, p->address, fb_point_width(p), regs) < 0) {
		int err = errno;

		after_failure(d, err);
		errno = err;
		return -1;
	}
	memset(v, 0, sizeof(*v));
	return fb_codec_decode(p, regs, v);
}

void mb_device_set_online(struct mb_driver *d, struct mb_device *dev, bool online,
			  int64_t now_ms)
{
	if (dev->online == online)
		return;
	dev->online = online;
	fb_table_device_set_online(d->table, dev->table_device, online);
	if (online) {
		fb_info("device %s (unit %d): online", dev->conf->id, dev->conf->unit_id);
		return;
	}
	fb_warn("device %s (unit %d): offline after %d failed polls", dev->conf->id,
		dev->conf->unit_id, dev->failures);
	mark_points_failed(d, dev, 0, dev->def->npoints, NULL, now_ms);
}
