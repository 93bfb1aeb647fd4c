/* SPDX-License-Identifier: Apache-2.0 */
/* Writes from Home Assistant.  An output is set and read back, and the
 * read-back is what reaches the table; a pulse output is set and ended by
 * the deadline pass (points.c).  Every command gets a result: done, or
 * failed with a reason. */
#include "gpio-internal.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void gl_command_run(struct gl_driver *d, const struct fb_command *cmd)
{
	struct fb_command_result r = { .ticket = cmd->ticket, .point_index = cmd->point_index,
				       .status = FB_COMMAND_FAILED };
	struct gl_point *p = cmd->point_index < d->npoints ? &d->points[cmd->point_index] : NULL;
	const struct fb_value *v = &cmd->value;
	bool on = v->kind == FB_VALUE_BOOL ? v->b : v->kind == FB_VALUE_INT ? v->i != 0
		: v->kind == FB_VALUE_UINT ? v->u != 0 : v->kind == FB_VALUE_FLOAT && v->f != 0;
	int got;

	snprintf(r.event_id, sizeof(r.event_id), "%s", cmd->event_id);
	snprintf(r.origin, sizeof(r.origin), "%s", cmd->origin);
	if (!p) {
		snprintf(r.reason, sizeof(r.reason), "no point %u in this table", cmd->point_index);
	} else if (p->cfg.role == FB_GPIO_COVER) {
		gl_cover_command(d, p, v, &r);
	} else if (!p->line) {
		snprintf(r.reason, sizeof(r.reason), "device %s is disabled", p->dev->id);
	} else if (p->relay) {
		/* Switched alone it could join the other relay of its cover. */
		snprintf(r.reason, sizeof(r.reason), "%s.%s is a cover's relay: command the "
			 "cover", p->dev->id, p->def->key);
	} else if (p->cfg.role == FB_GPIO_OUTPUT) {
		if (gl_line_set(p->line, on) < 0 || (got = gl_line_get(p->line)) < 0) {
			snprintf(r.reason, sizeof(r.reason), "line %d: %s", p->offset,
				 strerror(errno));
		} else {
			/* The read-back is what gets published. */
			p->value = got;
			gl_points_write_bool(d, p, p->value);
			fb_table_point_touch(d->table, p->index);
			d->persist_now = d->persist_dirty = true;
			r.status = got == on ? FB_COMMAND_DONE : FB_COMMAND_FAILED;
			if (got != on)
				snprintf(r.reason, sizeof(r.reason), "line %d reads back %d",
					 p->offset, got);
			fb_info("device %s: %s %s", p->dev->id, p->def->key, got ? "on" : "off");
		}
	} else if (p->cfg.role == FB_GPIO_PULSE_OUTPUT) {
		if (gl_line_set(p->line, true) < 0) {
			snprintf(r.reason, sizeof(r.reason), "line %d: %s", p->offset,
				 strerror(errno));
		} else {
			/* A press during a pulse extends it. */
			p->until_ms = fb_mono_ms() + p->cfg.pulse_ms;
			r.status = FB_COMMAND_DONE;
			fb_info("device %s: %s pulse %u ms", p->dev->id, p->def->key,
				p->cfg.pulse_ms);
		}
	} else {
		snprintf(r.reason, sizeof(r.reason), "%s.%s is read-only (role %s)", p->dev->id,
			 p->def->key, fb_gpio_role_name(p->cfg.role));
	}
	fb_table_command_result(d->table, &r);
}
