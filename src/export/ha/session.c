/* SPDX-License-Identifier: Apache-2.0 */
/* What the exporter publishes, and when.  Every trigger comes here: the
 * link coming up, a message (Home Assistant's birth, a retained config, a
 * command), SIGHUP, a table change, a deadline (no fixed tick: an idle
 * exporter wakes only for its drivers' heartbeat watch, keepalive riding on
 * it, and for table notifications).  Publishing itself is
 * done by state.c and discovery.c; steady state and "everything again"
 * both go through the dirty marks (devices.c), drained with back-pressure
 * by ex_state_publish_dirty. */
#include "export-internal.h"
#include "clock.h"
#include "config_edit.h"
#include "daemon.h"
#include "log.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Queued commands are retried, and the heap trimmed after a burst, at
 * this pace while there is such work (none: no wake-up). */
#define RETRY_MS 1000

/* After a connect (the broker may have lost retained messages in a
 * restart) and after Home Assistant's birth.  Discovery configs go out
 * first, as fast as the socket takes them; states follow once all are out
 * (a state a consumer cannot yet place would be lost). */
static void republish_all(struct exporter *ex)
{
	ex_discovery_publish_all(ex);
	ex->trim_after_burst = true;
	ex_devices_mark_all(ex);
	ex_state_publish_gateway(ex);
	ex_state_publish_dirty(ex);
}

static void on_up(void *ctx)
{
	struct exporter *ex = ctx;
	char topic[EX_TOPIC_MAX];

	if (snprintf(topic, sizeof(topic), "%s/+/+/set", ex->base) < (int)sizeof(topic))
		ex_link_subscribe(&ex->link, topic);
	ex_link_subscribe(&ex->link, ex->birth_topic);
	ex_cleanup_start(ex, fb_mono_ms());
	ex_link_publish(&ex->link, ex->status_topic, "online");
	republish_all(ex);
}

static void on_down(void *ctx)
{
	struct exporter *ex = ctx;

	ex_cleanup_stop(ex);
	ex->discovery_pending = false; /* the next connect starts it again */
	for (size_t i = 0; i < ex->ndevices; i++)
		ex->devices[i].published_avail = -1;
}

static void on_message(void *ctx, const struct mosquitto_message *msg)
{
	struct exporter *ex = ctx;

	if (!strcmp(msg->topic, ex->birth_topic)) {
		if (msg->payloadlen == 6 && !memcmp(msg->payload, "online", 6)) {
			/* Home Assistant restarted: re-announce after a short random
			 * delay so many gateways don't answer in the same instant. */
			ex->republish_at_ms = fb_mono_ms() + 200 + (int64_t)(random() % 800);
			fb_info("connection %s: Home Assistant came online", ex->conn->name);
		}
		return;
	}
	if (ex_cleanup_message(ex, msg))
		return;
	ex_commands_message(ex, msg);
}

int ex_session_open(struct exporter *ex)
{
	static const struct ex_link_handlers handlers = {
		.on_up = on_up, .on_down = on_down, .on_message = on_message,
	};

	return ex_link_init(&ex->link, ex->conn, &ex->transport, ex->status_topic, &handlers,
			    ex);
}

/* After the tables were read or maintained (bus_view.c left marks on the
 * buses).  Queued commands are sent on their retry deadline, or at once
 * when a table was re-attached. */
static void tables_settle(struct exporter *ex, int64_t now_ms, bool tick)
{
	bool avail_changed = false, flush = tick;

	for (size_t b = 0; b < ex->nbuses; b++) {
		struct ex_bus *bus = &ex->buses[b];

		if (bus->lost) {
			ex_commands_bus_lost(ex, bus);
			flush = true;
		}
		avail_changed |= bus->avail_changed;
		bus->lost = bus->avail_changed = false;
	}
	if (flush)
		ex_commands_flush(ex, now_ms);
	ex_state_publish_dirty(ex);
	if (avail_changed)
		ex_state_publish_gateway(ex);
}

void ex_session_table_readable(struct exporter *ex, struct ex_bus *bus)
{
	ex_bus_view_drain(bus, fb_mono_ms());
	tables_settle(ex, fb_mono_ms(), false);
}

void ex_session_link_drained(struct exporter *ex)
{
	ex_discovery_continue(ex);
	ex_state_publish_dirty(ex); /* waits while configs are pending */
}

/* SIGHUP: rights can change at run time (the web page edits the users
 * file); the rest of the configuration needs a restart.  Unpublishes what
 * the user lost and publishes what it gained.  Revocation fails closed: a
 * file that cannot be loaded keeps the previous rights (a half-written
 * file must not drop everything), but a valid file without our user means
 * no rights at all. */
static void reload_rights(struct exporter *ex)
{
	struct fb_diag diag;
	struct fb_users *users;

	if (!ex->cfg->users_file) {
		fb_info("connection %s: SIGHUP: no users_file configured, nothing to reload",
			ex->conn->name);
		return;
	}
	fb_diag_init(&diag);
	users = fb_users_load(ex->cfg->users_file, &diag);
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
	if (!ex->user)
		fb_err("connection %s: SIGHUP: user %s is no longer defined in %s: nothing is "
		       "exported and every command is refused", ex->conn->name, ex->conn->user,
		       ex->cfg->users_file);
	/* Before the log line: a reader of the log may read the record next. */
	fb_edit_record_reloaded_users(ex->cfg, ex->conn->name);
	fb_info("connection %s: SIGHUP: reloaded %s", ex->conn->name, ex->cfg->users_file);
	for (size_t i = 0; i < ex->ndevices; i++) {
		struct ex_device *d = &ex->devices[i];
		uint8_t *old = malloc(d->def->npoints + 1);
		bool was = d->exported;
		uint32_t old_diag = d->diag_visible;
		cJSON *removed;

		if (!old) {
			/* Fail closed even without memory for the comparison. */
			ex_rights_device_apply(ex, d);
			if (was && !d->exported)
				ex_discovery_remove_device(ex, d);
			continue;
		}
		memcpy(old, d->access, d->def->npoints);
		ex_rights_device_apply(ex, d);
		if (was == d->exported && old_diag == d->diag_visible &&
		    !memcmp(old, d->access, d->def->npoints)) {
			free(old);
			continue;
		}
		if (!d->exported) {
			if (was) {
				fb_info("device %s: user %s lost access: removed from Home Assistant",
					d->conf->id, ex->conn->user);
				ex_discovery_remove_device(ex, d);
			}
		} else {
			removed = ex_rights_lost(d, old, old_diag, was);
			ex_discovery_publish_device(ex, d, removed);
			/* A point under another platform now: removed above,
			 * published under the new one here. */
			if (ex_discovery_platform_changed(d, removed))
				ex_discovery_publish_device(ex, d, NULL);
			cJSON_Delete(removed);
			d->published_avail = -1;
			ex_device_mark_avail(d);
			ex_device_mark_dirty(d);
		}
		free(old);
	}
	ex_commands_recheck(ex); /* commands waiting for a driver */
	ex_state_publish_dirty(ex);
	ex_state_publish_gateway(ex);
}

void ex_session_signal(struct exporter *ex)
{
	bool hup = false;

	if (fb_daemon_signal_stop(ex->signal_fd, "connection", ex->conn->name, &hup))
		ex->stop = true;
	else if (hup)
		reload_rights(ex);
}

static bool commands_waiting(const struct exporter *ex)
{
	for (size_t i = 0; i < EX_PENDING_MAX; i++)
		if (ex->pending[i].state != EX_PENDING_FREE)
			return true;
	return false;
}

static bool states_waiting(const struct exporter *ex)
{
	for (size_t b = 0; b < ex->nbuses; b++)
		if (ex->buses[b].ndirty)
			return true;
	return false;
}

int64_t ex_session_deadlines(struct exporter *ex, int64_t now_ms)
{
	int64_t deadline = ex_link_deadlines(&ex->link, now_ms), keepalive;
	bool retry = false;

	/* States held back by a full socket go on as soon as nothing is
	 * queued, whatever woke us (there is no tick to catch them later). */
	if (ex->link.connected && !ex_link_want_write(&ex->link) &&
	    (ex->discovery_pending || states_waiting(ex)))
		ex_session_link_drained(ex);

	if (ex->republish_at_ms && now_ms >= ex->republish_at_ms) {
		ex->republish_at_ms = 0;
		republish_all(ex);
	}
	ex_cleanup_tick(ex, now_ms);
	keepalive = ex_link_keepalive_ms(&ex->link);
	if (keepalive && now_ms >= keepalive) {
		ex_link_misc(&ex->link, now_ms);
		keepalive = ex_link_keepalive_ms(&ex->link);
	}
	if (now_ms >= ex->next_retry_ms) {
		if (ex->trim_after_burst && !ex->discovery_pending &&
		    !ex_link_want_write(&ex->link)) {
			ex->trim_after_burst = false;
			malloc_trim(0);
		}
		retry = commands_waiting(ex);
	}
	if (retry || now_ms >= ex->next_maintain_ms) {
		ex_bus_view_maintain(ex, now_ms);
		tables_settle(ex, now_ms, retry);
		ex->next_maintain_ms = ex_bus_view_next_ms(ex, now_ms);
	}
	if (now_ms >= ex->next_retry_ms)
		ex->next_retry_ms = ex->trim_after_burst || commands_waiting(ex) ? now_ms + RETRY_MS
										  : 0;
	deadline = fb_deadline_min(deadline, ex->next_maintain_ms);
	deadline = fb_deadline_min(deadline, ex->next_retry_ms);
	deadline = fb_deadline_min(deadline, ex->republish_at_ms);
	deadline = fb_deadline_min(deadline, ex->cleanup_until_ms);
	/* The keepalive check rides on another wake-up (the heartbeat watch
	 * comes every few seconds) up to a quarter keepalive late: the broker
	 * waits 1.5 keepalives, and the old fixed quarter-keepalive tick was
	 * as late.  Only with none in that window does it wake us itself. */
	if (keepalive && !(deadline >= keepalive &&
			   deadline <= keepalive + (int64_t)ex->conn->keep_alive_s * 1000 / 4))
		deadline = fb_deadline_min(deadline, keepalive);
	return deadline;
}
