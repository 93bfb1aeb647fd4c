/* SPDX-License-Identifier: Apache-2.0 */
/* What our user may see and do (the connection's "user" in the users
 * file).  A point is visible (discovered, in the state, its device
 * exported) with read access; a button has no state, so it needs write.
 * A command topic exists only with write access on a writable point.
 * Without a users file every user has every right (config warns).  The
 * driver's diagnostic points ("_diag_*", Modbus devices and servers) obey the
 * same rules as any point, under their own keys.
 *
 * Pure policy: it decides; the session publishes what changed. */
#include "export-internal.h"
#include "log.h"

#include <string.h>

bool ex_rights_diag_visible(const struct ex_device *d, size_t i)
{
	return i < 32 && (d->diag_visible & (UINT32_C(1) << i));
}

bool ex_rights_visible(const struct ex_device *d, size_t point)
{
	if (d->def->points[point].component == FB_COMP_BUTTON)
		return ex_rights_commandable(d, point);
	return d->access[point] >= FB_ACCESS_READ;
}

bool ex_rights_commandable(const struct ex_device *d, size_t point)
{
	return d->access[point] == FB_ACCESS_WRITE && d->def->points[point].writable;
}

enum fb_component ex_rights_component(const struct ex_device *d, size_t point)
{
	const struct fb_point_def *p = &d->def->points[point];

	/* Home Assistant rejects a switch, number, fan... without a command
	 * topic: for a user who may only read, the point is its read-only
	 * counterpart.  An on/off value is a binary_sensor, any other value
	 * (level, position, step, setpoint, label, text) a sensor. */
	if (!p->writable || ex_rights_commandable(d, point))
		return p->component;
	switch (p->component) {
	case FB_COMP_SWITCH:
	case FB_COMP_VALVE:
		return FB_COMP_BINARY_SENSOR;
	case FB_COMP_LIGHT:
		return p->ext.brightness_scale ? FB_COMP_SENSOR : FB_COMP_BINARY_SENSOR;
	case FB_COMP_NUMBER:
	case FB_COMP_SELECT:
	case FB_COMP_COVER:
	case FB_COMP_FAN:
	case FB_COMP_CLIMATE:
	case FB_COMP_TEXT:
		return FB_COMP_SENSOR;
	default:
		return p->component; /* a button is not visible (ex_rights_visible) */
	}
}

void ex_rights_device_apply(struct exporter *ex, struct ex_device *d)
{
	size_t ndiag;
	const struct fb_diag_point_desc *dp = fb_model_diag_points_of(d->def, &ndiag);

	d->diag_visible = 0;
	for (size_t i = 0; i < ndiag && i < 32; i++)
		if (!ex->users || (ex->user && fb_user_access(ex->user, d->conf->id, dp[i].key) >=
					       FB_ACCESS_READ))
			d->diag_visible |= UINT32_C(1) << i;
	/* A Modbus server's device has nothing but diagnostic entities. */
	d->exported = !d->def->npoints && d->diag_visible;
	for (size_t p = 0; p < d->def->npoints; p++) {
		/* A user missing from a loaded users file has no rights at all. */
		d->access[p] = !ex->users ? FB_ACCESS_WRITE
			       : ex->user ? (uint8_t)fb_user_access(ex->user, d->conf->id,
								     d->def->points[p].key)
					  : FB_ACCESS_NONE;
		if (ex_rights_visible(d, p))
			d->exported = true;
	}
}

void ex_rights_apply(struct exporter *ex)
{
	size_t n = 0;

	for (size_t i = 0; i < ex->ndevices; i++) {
		ex_rights_device_apply(ex, &ex->devices[i]);
		n += ex->devices[i].exported;
	}
	if (ex->users)
		fb_info("connection %s: user %s may see %zu of %zu device%s", ex->conn->name,
			ex->conn->user, n, ex->ndevices, ex->ndevices == 1 ? "" : "s");
}

cJSON *ex_rights_lost(const struct ex_device *d, const uint8_t *old, uint32_t old_diag,
		      bool was_exported)
{
	size_t ndiag;
	const struct fb_diag_point_desc *dp = fb_model_diag_points_of(d->def, &ndiag);
	cJSON *removed = cJSON_CreateObject();
	/* ex_rights_visible reads d->access: judge the old rights on a copy
	 * of the device that points at them. */
	struct ex_device before = *d;

	if (!removed || !was_exported)
		return removed;
	before.access = (uint8_t *)old;
	/* Lost, or published under another platform now (read-only rights
	 * turn a switch into a binary_sensor): Home Assistant keeps the old
	 * entity until it is removed under its own platform. */
	for (size_t p = 0; p < d->def->npoints; p++)
		if (ex_rights_visible(&before, p) &&
		    (!ex_rights_visible(d, p) ||
		     ex_rights_component(&before, p) != ex_rights_component(d, p)))
			cJSON_AddStringToObject(removed, d->def->points[p].key,
						fb_component_name(ex_rights_component(&before, p)));
	for (size_t i = 0; i < ndiag && i < 32; i++)
		if ((old_diag & (UINT32_C(1) << i)) && !ex_rights_diag_visible(d, i))
			cJSON_AddStringToObject(removed, dp[i].key,
						dp[i].binary ? "binary_sensor" : "sensor");
	return removed;
}
