/* SPDX-License-Identifier: Apache-2.0 */
/* Writes from Home Assistant.  Each command is written with the point's
 * write function and then read back, so what reaches the table (and MQTT)
 * is what the device holds, not what was asked for.  Every command gets a
 * result: done, failed with a reason, or superseded when a later command
 * for the same point was already queued (latest wins: a slider dragged
 * across a range sends many values, only the last one matters). */
#include "modbus-internal.h"
#include "scan.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Commands taken per call.  Small enough that a result reader keeps up
 * with the results ring (FB_SHM_RESULTS_SIZE) between two calls. */
#define CMD_BATCH 64
/* A flood of commands makes a flood of results, and a reader that falls a
 * whole results ring behind loses some: after this many batches in a row
 * the driver lets readers catch up for CMD_RESUME_MS (a 256-result ring
 * then allows >= 6,000 results/s, far above what the bus can write). */
#define CMD_BATCHES_PER_CALL 2
#define CMD_RESUME_MS 20

struct write_req {
	const struct fb_point_def *p;
	uint16_t regs[MB_MAX_READ_REGISTERS];
	int n;
	int unit;
	bool raw;          /* regs[0] is the raw FC05 value (or FC06 press) */
	bool rtu;          /* for a button's raw request */
};

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

static int do_write(modbus_t *ctx, void *arg)
{
	struct write_req *w = arg;
	const struct fb_point_def *p = w->p;

	if (p->request_len)
		return mb_raw_request(ctx, w->rtu, w->unit, p->request, p->request_len);
	if (p->table == FB_REG_COIL) {
		if (w->raw)
			return write_coil_raw(ctx, w->unit, p->address, w->regs[0]);
		if (p->write_fn == FB_WRITE_FC15) {
			uint8_t bits[1] = { w->regs[0] ? 1 : 0 };

			return modbus_write_bits(ctx, p->address, 1, bits);
		}
		return modbus_write_bit(ctx, p->address, w->regs[0] ? 1 : 0);
	}
	/* Multi-register values always go out as one FC16, so a device never
	 * holds half of a new 32-bit value. */
	if (w->n > 1 || p->write_fn == FB_WRITE_FC16)
		return modbus_write_registers(ctx, p->address, w->n, w->regs);
	return modbus_write_register(ctx, p->address, w->regs[0]);
}

/* Fills w from the command; -1 with errno (ERANGE/EINVAL) for a value the
 * point cannot take. */
static int encode(const struct mb_device *dev, bool rtu, const struct fb_point_def *p,
		  const struct fb_value *v, struct write_req *w)
{
	memset(w, 0, sizeof(*w));
	w->p = p;
	w->unit = dev->conf->unit_id;
	w->rtu = rtu;
	if (p->component == FB_COMP_BUTTON) {
		w->regs[0] = (uint16_t)p->press_raw;
		w->n = 1;
		w->raw = p->table == FB_REG_COIL;
		return 0;
	}
	w->n = fb_codec_encode(p, v, w->regs, MB_MAX_READ_REGISTERS);
	if (w->n < 0)
		return -1;
	if (p->table == FB_REG_COIL && p->write_fn != FB_WRITE_FC15 &&
	    (p->coil_on_raw != 0xFF00 || p->coil_off_raw != 0x0000)) {
		w->regs[0] = w->regs[0] ? p->coil_on_raw : p->coil_off_raw;
		w->raw = true;
	}
	return 0;
}

static void run_one(struct mb_driver *d, const struct fb_command *cmd)
{
	struct mb_device *dev;
	const struct fb_point_def *p;
	struct write_req w;
	struct fb_value back;
	uint16_t regs[MB_MAX_READ_REGISTERS];
	char json[FB_TABLE_STRING_MAX + 8];
	uint32_t pi;
	int err;
	enum mb_xact rc;

	if (cmd->point_index == FB_COMMAND_BUS_SCAN) {
		mb_scan_command(d, cmd);
		return;
	}
	if (cmd->point_index >= d->npoints) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "no such point %u", cmd->point_index);
		return;
	}
	dev = &d->devices[d->point_map[cmd->point_index].device];
	pi = d->point_map[cmd->point_index].point;
	if (pi >= dev->def->npoints) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "point %u of device %s is a read-only "
		       "diagnostic", cmd->point_index, dev->conf->id);
		return;
	}
	p = &dev->def->points[pi];
	if (!p->writable && p->component != FB_COMP_BUTTON) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "point %s/%s is read-only",
		       dev->conf->id, p->key);
		return;
	}
	if (!d->ctx) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "not sent: bus %s is down (reconnecting)",
		       d->bus->name);
		return;
	}
	if (!dev->online && dev->failures >= d->bus->offline_after) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "not sent: device %s (unit %d) is offline "
		       "(no answer to %d polls)", dev->conf->id, dev->conf->unit_id,
		       dev->failures);
		return;
	}
	if (p->ext.relay_open) {
		mb_cover_command(d, dev, pi, cmd);
		return;
	}
	if (encode(dev, d->rtu_framing, p, &cmd->value, &w) < 0) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "value out of range for %s/%s: %s",
		       dev->conf->id, p->key, strerror(errno));
		return;
	}
	/* A lost answer to a toggle or a button press must not press twice. */
	rc = mb_xact_run(d, dev, do_write, &w, w.raw || p->component == FB_COMP_BUTTON ? 0 : -1,
			 false, &err);
	if (rc != MB_XACT_OK) {
		fb_warn("device %s: write %s failed: %s", dev->conf->id, p->key,
			modbus_strerror(err));
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "write to %s/%s failed: %s",
		       dev->conf->id, p->key, modbus_strerror(err));
		return;
	}
	/* From here no read that started earlier may store this point. */
	dev->pstate[pi].written_epoch = ++d->write_epoch;
	if (p->component == FB_COMP_BUTTON) {
		mb_command_result(d, cmd, FB_COMMAND_DONE, "pressed");
		return;
	}
	rc = mb_read_point(d, dev, p, &back, regs, &err);
	if (rc != MB_XACT_OK) {
		mb_command_result(d, cmd, FB_COMMAND_FAILED, "written, but read-back of %s/%s failed: %s",
		       dev->conf->id, p->key, modbus_strerror(err));
		return;
	}
	mb_store_point(d, dev, pi, &back, FB_QUALITY_OK, true, regs);
	fb_table_point_touch(d->table, cmd->point_index);
	if (fb_value_to_json(&back, json, sizeof(json)) < 0)
		snprintf(json, sizeof(json), "?");
	fb_debug("device %s: %s written, read back %s (event %s)", dev->conf->id, p->key,
		 json, cmd->event_id);
	mb_command_result(d, cmd, FB_COMMAND_DONE, "ok, read back %s", json);
}

bool mb_commands_run(struct mb_driver *d)
{
	struct fb_command batch[CMD_BATCH];
	size_t n;
	int batches = 0;

	/* The queue is checked without a syscall; the fd is only drained
	 * once poll()/ppoll() saw it readable, so it does not wake us again. */
	if (d->command_fd_ready) {
		fb_table_command_fd_drain(d->table);
		d->command_fd_ready = false;
	}
	if (fb_mono_ms() < d->commands_resume_ms)
		return true;
	do {
		n = 0;
		while (n < CMD_BATCH && fb_table_command_pop(d->table, &batch[n]) == 1)
			n++;
		for (size_t i = 0; i < n; i++) {
			size_t later = 0;

			for (size_t j = i + 1; j < n && !later; j++)
				if (batch[j].point_index == batch[i].point_index)
					later = j;
			if (later) {
				mb_command_result(d, &batch[i], FB_COMMAND_SUPERSEDED,
				       "superseded by a later command for the same point "
				       "(ticket %llu)", (unsigned long long)batch[later].ticket);
				continue;
			}
			run_one(d, &batch[i]);
		}
		/* Wake result readers per batch so none falls a ring behind. */
		if (n)
			fb_table_notify(d->table);
	} while (n == CMD_BATCH && ++batches < CMD_BATCHES_PER_CALL);
	if (n == CMD_BATCH) {
		d->commands_resume_ms = fb_mono_ms() + CMD_RESUME_MS;
		return true;
	}
	return false;
}
