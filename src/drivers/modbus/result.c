/* SPDX-License-Identifier: Apache-2.0 */
/* A command's result into the table's results ring: one writer for the
 * point commands (command.c) and the bus scan (scan_command.c). */
#include "modbus-internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mb_command_vresult(struct mb_driver *d, const struct fb_command *cmd,
			enum fb_command_status status, const char *fmt, va_list ap)
{
	struct fb_command_result r;

	memset(&r, 0, sizeof(r));
	r.ticket = cmd->ticket;
	r.point_index = cmd->point_index;
	r.status = (uint8_t)status;
	memcpy(r.event_id, cmd->event_id, sizeof(r.event_id));
	memcpy(r.origin, cmd->origin, sizeof(r.origin));
	vsnprintf(r.reason, sizeof(r.reason), fmt, ap);
	fb_table_command_result(d->table, &r);
}

void mb_command_result(struct mb_driver *d, const struct fb_command *cmd,
		       enum fb_command_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mb_command_vresult(d, cmd, status, fmt, ap);
	va_end(ap);
}
