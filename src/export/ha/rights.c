/* What our user may see and do (the connection's "user" in the users
 * file).  A point is visible (discovered, in the state, its device
 * exported) with read access; a button has no state, so it needs write.
 * A command topic exists only with write access on a writable point.
 * Without a users file every user has every right (config warns). */
#include "export-internal.h"
#include "config_edit.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

bool ex_point_visible(const struct ex_device *d, size_t point)
{
	if (d->def->points[point].component == FB_COMP_BUTTON)
		return ex_point_commandable(d, point);
	return d->access[point] >= FB_ACCESS_READ;
}

bool ex_point_commandable(const struct ex_device *d, size_t point)
{
	return d->access[point] == FB_ACCESS_WRITE && d->def->points[point].writable;
}

static void device_apply(struct exporter *ex, struct ex_device *d)
{
	d->exported = false;
	for (size_t p = 0; p < d->def->npoints; p++) {
		d->access[p] = ex->users ? (uint8_t)fb_user_access(ex->user, d->conf->id,
								    d->def->points[p].key)
					 : FB_ACCESS_WRITE;
		if (ex_point_visible(d, p))
			d->exported = true;
	}
}

void ex_rights_apply(struct exporter *ex)
{
	size_t n = 0;

	for (size_t i = 0; i < ex->ndevices; i++) {
		device_apply(ex, &ex->devices[i]);
		n += ex->devices[i].exported;
	}
	if (ex->users)
		fb_info("connection %s: user %s may see %zu of %zu device%s", ex->conn->name,
			ex->conn->user, n, ex->ndevices, ex->ndevices == 1 ? "" : "s");
}

/* Publishes what changed for one device after a reload. */
static void device_changed(struct exporter *ex, struct ex_device *d, const uint8_t *old,
			   bool was_exported)
{
	cJSON *removed;

	if (!d->exported) {
		if (was_exported) {
			fb_info("device %s: user %s lost access: removed from Home Assistant",
				d->conf->id, ex->conn->user);
			ex_discovery_remove_device(ex, d);
		}
		return;
	}
	removed = cJSON_CreateObject();
	for (size_t p = 0; p < d->def->npoints; p++) {
		uint8_t now = d->access[p];

		d->access[p] = old[p];
		if (was_exported && ex_point_visible(d, p)) {
			d->access[p] = now;
			if (!ex_point_visible(d, p))
				cJSON_AddStringToObject(removed, d->def->points[p].key,
							fb_component_name(d->def->points[p].component));
		}
		d->access[p] = now;
	}
	ex_discovery_publish_device(ex, d, removed);
	cJSON_Delete(removed);
	ex_avail_publish(ex, d, true);
	ex_state_publish(ex, d);
}

void ex_rights_reload(struct exporter *ex)
{
	struct fb_diag diag;
	struct fb_users *users;

	if (!ex->cfg->users_file) {
		fb_info("connection %s: SIGHUP: no users_file configured, nothing to reload",
			ex->conn->name);
		return;
	}
	fb_diag_init(&diag);
	users = fb_config_load_users(ex->cfg, ex->conn, &diag);
	fb_diag_log(&diag);
	fb_diag_free(&diag);
	if (!users) {
		fb_err("connection %s: SIGHUP: users file %s not reloaded; keeping the previous "
		       "rights", ex->conn->name, ex->cfg->users_file);
		return;
	}
	fb_users_free(ex->users);
	ex->users = users;
	ex->user = fb_users_find(users, ex->conn->user);
	fb_edit_record_reloaded_users(ex->cfg, ex->conn->name);
	fb_info("connection %s: SIGHUP: reloaded %s", ex->conn->name, ex->cfg->users_file);
	for (size_t i = 0; i < ex->ndevices; i++) {
		struct ex_device *d = &ex->devices[i];
		uint8_t *old = malloc(d->def->npoints + 1);
		bool was = d->exported;

		if (!old)
			continue;
		memcpy(old, d->access, d->def->npoints);
		device_apply(ex, d);
		if (was != d->exported || memcmp(old, d->access, d->def->npoints))
			device_changed(ex, d, old, was);
		free(old);
	}
	ex_gateway_state_publish(ex);
}
