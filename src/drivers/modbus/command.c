/* Writes from Home Assistant.  Each command is written with the point's
 * write function and then read back, so what reaches the table (and MQTT)
 * is what the device holds, not what was asked for.  Every command gets a
 * result: done, or failed with a reason; none is dropped silently. */
#include "modbus-internal.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void result(struct mb_driver *d, const struct fb_command *cmd,
		   enum fb_command_status status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void result(struct mb_driver *d, const struct fb_command *cmd,
		   enum fb_command_status status, const char *fmt, ...)
{
	struct fb_command_result r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.ticket = cmd->ticket;
	r.point_index = cmd->point_index;
	r.status = (uint8_t)status;
	memcpy(r.event_id, cmd->event_id, sizeof(r.event_id));
	memcpy(r.origin, cmd->origin, sizeof(r.origin));
	va_start(ap, fmt);
	vsnprintf(r.reason, sizeof(r.reason), fmt, ap);
	va_end(ap);
	fb_table_command_result(d->table, &r);
}

/* FC05 with a raw value such as 0x5500 (toggle on Waveshare boards):
 * libmodbus's modbus_write_bit only sends 0xFF00/0x0000. */
static int write_coil_raw(modbus_t *ctx, int unit, uint16_t addr, uint16_t raw)
{
	uint8_t req[6] = { (uint8_t)unit, 0x05, (uint8_t)(addr >> 8), (uint8_t)addr,
			   (uint8_t)(raw >> 8), (uint8_t)raw };
	uint8_t rsp[MODBUS_MAX_ADU_LENGTH];

	if (modbus_send_raw_request(ctx, req, sizeof(req)) < 0)
		return -1;
	return modbus_receive_confirmation(ctx, rsp) < 0 ? -1 : 1;
}

static int write_point(struct mb_driver *d, struct mb_device *dev,
		       const struct fb_point_def *p, const struct fb_value *v)
{
	uint16_t regs[MB_MAX_READ_REGISTERS];
	int n;

	modbus_set_slave(d->ctx, dev->conf->unit_id);
	if (p->component == FB_COMP_BUTTON) {
		if (p->table == FB_REG_COIL)
			return write_coil_raw(d->ctx, dev->conf->unit_id, p->address,
					      (uint16_t)p->press_raw);
		return modbus_write_register(d->ctx, p->address, (uint16_t)p->press_raw);
	}
	n = fb_codec_encode(p, v, regs, MB_MAX_READ_REGISTERS);
	if (n < 0)
		return -1;
	switch (p->write_fn) {
	case FB_WRITE_FC05:
		if (p->coil_on_raw != 0xFF00 || p->coil_off_raw != 0x0000)
			return write_coil_raw(d->ctx, dev->conf->unit_id, p->address,
					      regs[0] ? p->coil_on_raw : p->coil_off_raw);
		return modbus_write_bit(d->ctx, p->address, regs[0] ? 1 : 0);
	case FB_WRITE_FC15: {
		uint8_t bits[1] = { regs[0] ? 1 : 0 };

		return modbus_write_bits(d->ctx, p->address, 1, bits);
	}
	case FB_WRITE_FC06:
		return modbus_write_register(d->ctx, p->address, regs[0]);
	case FB_WRITE_FC16:
		return modbus_write_registers(d->ctx, p->address, n, regs);
	case FB_WRITE_NONE:
		break;
	}
	errno = EPERM;
	return -1;
}

static void run_one(struct mb_driver *d, const struct fb_command *cmd)
{
	struct mb_device *dev;
	const struct fb_point_def *p;
	struct fb_value back;
	int64_t now = fb_now_ms();

	if (cmd->point_index >= d->npoints) {
		result(d, cmd, FB_COMMAND_FAILED, "no such point %u", cmd->point_index);
		return;
	}
	dev = &d->devices[d->point_map[cmd->point_index].device];
	p = &dev->def->points[d->point_map[cmd->point_index].point];
	if (!p->writable) {
		result(d, cmd, FB_COMMAND_FAILED, "point %s/%s is read-only",
		       dev->conf->id, p->key);
		return;
	}
	if (!d->ctx) {
		result(d, cmd, FB_COMMAND_FAILED, "bus %s is not connected", d->bus->name);
		return;
	}
	if (!dev->online && dev->failures > 0) {
		result(d, cmd, FB_COMMAND_FAILED, "device %s is offline", dev->conf->id);
		return;
	}
	if (write_point(d, dev, p, &cmd->value) < 0) {
		int err = errno;

		fb_warn("device %s: write %s failed: %s", dev->conf->id, p->key,
			modbus_strerror(err));
		result(d, cmd, FB_COMMAND_FAILED, "write failed: %s", modbus_strerror(err));
		if (mb_link_errno_is_fatal(err))
			mb_link_close(d);
		else if (d->ctx)
			modbus_flush(d->ctx);
		return;
	}
	if (p->component == FB_COMP_BUTTON) {
		result(d, cmd, FB_COMMAND_DONE, "pressed");
		return;
	}
	/* Read-back: publish what the device holds now. */
	if (mb_read_point(d, dev, p, &back) < 0) {
		result(d, cmd, FB_COMMAND_FAILED, "written, but read-back failed: %s",
		       modbus_strerror(errno));
		return;
	}
	fb_table_point_write(d->table, dev->first_point + d->point_map[cmd->point_index].point,
			     &back, FB_QUALITY_OK, now);
	fb_table_point_touch(d->table, cmd->point_index);
	fb_debug("device %s: %s written (event %s)", dev->conf->id, p->key, cmd->event_id);
	result(d, cmd, FB_COMMAND_DONE, "ok");
}

void mb_commands_run(struct mb_driver *d)
{
	struct fb_command cmd;
	bool any = false;

	while (fb_table_command_pop(d->table, &cmd) == 1) {
		run_one(d, &cmd);
		any = true;
	}
	if (any)
		fb_table_notify(d->table);
}
