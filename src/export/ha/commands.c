/* SPDX-License-Identifier: Apache-2.0 */
/* Commands from Home Assistant: "<base>/<device>/<point>/set".
 *
 * A payload is either plain text as Home Assistant sends it for switches
 * (ON/OFF), numbers ("21.5") and selects (the option label), or a container
 * {"value": ..., "event_id": "...", "ts": ms}.  Containers make redelivery
 * safe: an event id already executed is dropped, and so is a command older
 * than the last one applied to the same point.
 *
 * Rights: a command runs only if our user may write the point (rights.c);
 * anything else is refused and logged here and never reaches a driver.
 * A button press is not idempotent, so it is accepted only as a container
 * with an event id (the discovery command_template makes one); a plain
 * "PRESS" is refused, because a redelivery could not be recognised.
 *
 * Nothing is dropped silently: while a bus's driver is away (restarting),
 * commands wait here (EX_PENDING_MAX, up to PENDING_EXPIRE_MS) and are sent
 * when it is back; when they expire, or the queue is full, the failure is
 * logged and the point's state re-published so Home Assistant shows the
 * truth again. */
#include "export-internal.h"
#include "clock.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PENDING_EXPIRE_MS 30000   /* a driver restart takes a few seconds */
#define RESULT_EXPIRE_MS 60000    /* no result: the driver lost it */
/* A command's ts must be a time near ours: one far ahead would make every
 * later command "older than the last applied one" until a restart. */
#define TS_AHEAD_MAX_MS (5 * 60 * 1000)
#define TS_BEHIND_MAX_MS (24 * 60 * 60 * 1000)

static bool dedup_seen(struct ex_dedup *dd, const char *id)
{
	for (size_t i = 0; i < EX_DEDUP_WINDOW; i++)
		if (dd->ids[i][0] && !strcmp(dd->ids[i], id))
			return true;
	return false;
}

static void dedup_remember(struct ex_dedup *dd, const char *id)
{
	snprintf(dd->ids[dd->next], sizeof(dd->ids[dd->next]), "%s", id);
	dd->next = (dd->next + 1) % EX_DEDUP_WINDOW;
}

/* The container's fields, each once; anything else is refused. */
static const char *unpack_field(const cJSON *item, const cJSON **v, const cJSON **e,
				const cJSON **t)
{
	const cJSON **slot = !strcmp(item->string, "value") ? v :
			     !strcmp(item->string, "event_id") ? e :
			     !strcmp(item->string, "ts") ? t : NULL;

	if (!slot)
		return "unknown field in the container (expected value, event_id, ts)";
	if (*slot)
		return "a field appears twice in the container";
	*slot = item;
	return NULL;
}

const char *ex_commands_unpack(const char *payload, size_t len, cJSON **doc, char *numbuf,
			       size_t numlen, char *event_id, size_t idlen, int64_t *ts,
			       const char **why)
{
	const cJSON *v = NULL, *e = NULL, *t = NULL, *item;
	const char *end = NULL;

	*doc = NULL;
	event_id[0] = '\0';
	*ts = 0;
	*why = NULL;
	/* A NUL would hide what follows it from every check below. */
	if (memchr(payload, '\0', len) || payload[len] != '\0') {
		*why = "the payload contains a NUL byte";
		return NULL;
	}
	if (payload[0] != '{')
		return payload;
	*doc = cJSON_ParseWithOpts(payload, &end, 1);
	if (!*doc || !cJSON_IsObject(*doc)) {
		*why = "not a JSON object (or trailing bytes after it)";
		return NULL;
	}
	cJSON_ArrayForEach(item, *doc)
		if ((*why = unpack_field(item, &v, &e, &t)))
			return NULL;
	if (e) {
		if (!cJSON_IsString(e)) {
			*why = "event_id must be a string";
			return NULL;
		}
		/* Compared whole for duplicates: never cut to fit. */
		if (!e->valuestring[0] || strlen(e->valuestring) >= idlen) {
			*why = "event_id must be 1 to 47 characters";
			return NULL;
		}
		snprintf(event_id, idlen, "%s", e->valuestring);
	}
	if (t) {
		if (!cJSON_IsNumber(t)) {
			*why = "ts must be a number (ms since 1970)";
			return NULL;
		}
		/* A ts that is no time (negative, 1e300, a fraction) is -1, so
		 * the caller refuses it; the range check keeps the cast defined. */
		*ts = isfinite(t->valuedouble) && t->valuedouble >= 1 &&
		      t->valuedouble < 0x1p62 && t->valuedouble == floor(t->valuedouble)
			      ? (int64_t)t->valuedouble : -1;
	}
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		snprintf(numbuf, numlen, "%.17g", v->valuedouble);
		return numbuf;
	}
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "ON" : "OFF";
	*why = v ? "value must be a string, number or boolean" : "the container has no value";
	return NULL;
}

/* A button press runs at most once; setting a value (switch, number,
 * select) is idempotent and may be sent again. */
static bool idempotent(const struct ex_pending *pc)
{
	return pc->dev->def->points[pc->point].component != FB_COMP_BUTTON;
}

static int pending_add(struct exporter *ex, struct ex_device *dev, size_t point,
		       const struct fb_command *cmd)
{
	struct ex_pending *slot = NULL;

	for (size_t i = 0; i < EX_PENDING_MAX; i++) {
		struct ex_pending *pc = &ex->pending[i];

		/* The newest value for a point wins: an older one still
		 * waiting for the driver would only be superseded there.  One
		 * already sent needs no watching either: its result is still
		 * logged (on_result), and after a crash only the newer one is
		 * worth repeating.  So a burst for one point holds one slot. */
		if (pc->state != EX_PENDING_FREE && pc->dev == dev && pc->point == point &&
		    idempotent(pc)) {
			if (pc->state == EX_PENDING_QUEUED)
				fb_info("device %s: command %s for %s superseded by %s before it "
					"was sent", dev->conf->id, pc->cmd.event_id,
					dev->def->points[point].key, cmd->event_id);
			pc->state = EX_PENDING_FREE;
		}
		if (pc->state == EX_PENDING_FREE && !slot)
			slot = pc;
	}
	if (!slot) {
		fb_warn("device %s: command %s for %s failed: %d commands are already waiting",
			dev->conf->id, cmd->event_id, dev->def->points[point].key, EX_PENDING_MAX);
		ex_device_mark_dirty(dev);
		return -1;
	}
	*slot = (struct ex_pending){ .state = EX_PENDING_QUEUED, .dev = dev, .point = point,
				     .cmd = *cmd, .arrival = ++ex->pending_seq,
				     .since_ms = fb_mono_ms() };
	if (!dev->bus->reader || !dev->bus->alive)
		fb_info("device %s: command %s for %s waits: driver for bus %s is not running",
			dev->conf->id, cmd->event_id, dev->def->points[point].key,
			dev->bus->conf->name);
	return 0;
}

static void pending_fail(struct ex_pending *pc, const char *why)
{
	fb_warn("device %s: command %s for %s failed: %s", pc->dev->conf->id, pc->cmd.event_id,
		pc->dev->def->points[pc->point].key, why);
	ex_device_mark_dirty(pc->dev); /* Home Assistant shows the real state again */
	pc->state = EX_PENDING_FREE;
}

/* Slot indices of queued commands in arrival order: slots are reused, so
 * slot order is no order at all (after a driver restart an older value
 * would be sent after, and win over, a newer one). */
static size_t queued_in_order(const struct exporter *ex, size_t *order)
{
	size_t n = 0;

	for (size_t i = 0; i < EX_PENDING_MAX; i++) {
		size_t k = n;

		if (ex->pending[i].state != EX_PENDING_QUEUED)
			continue;
		n++;
		while (k > 0 && ex->pending[order[k - 1]].arrival > ex->pending[i].arrival) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	return n;
}

void ex_commands_flush(struct exporter *ex, int64_t mono_ms)
{
	size_t order[EX_PENDING_MAX], n;

	for (size_t i = 0; i < EX_PENDING_MAX; i++) {
		struct ex_pending *pc = &ex->pending[i];

		if (pc->state == EX_PENDING_SENT && mono_ms - pc->since_ms > RESULT_EXPIRE_MS)
			pending_fail(pc, "no result from the driver");
	}
	n = queued_in_order(ex, order);
	for (size_t k = 0; k < n; k++) {
		struct ex_pending *pc = &ex->pending[order[k]];
		struct ex_bus *bus = pc->dev->bus;
		long idx = pc->dev->point_index[pc->point];

		if (!bus->reader || !bus->alive || idx < 0) {
			if (mono_ms - pc->since_ms > PENDING_EXPIRE_MS)
				pending_fail(pc, "the driver did not come back within 30 s");
			continue;
		}
		pc->cmd.point_index = (uint32_t)idx;
		if (fb_table_command_push(bus->reader, &pc->cmd) < 0) {
			if (errno == EAGAIN && mono_ms - pc->since_ms <= PENDING_EXPIRE_MS)
				break; /* queue full: the rest waits too, keeping the order */
			pending_fail(pc, errno == EAGAIN ? "the driver's queue stayed full"
							 : strerror(errno));
			continue;
		}
		pc->state = EX_PENDING_SENT;
		pc->ticket = pc->cmd.ticket;
		pc->since_ms = mono_ms;
		fb_debug("device %s: command %s for %s queued", pc->dev->conf->id,
			 pc->cmd.event_id, pc->dev->def->points[pc->point].key);
	}
}

void ex_commands_recheck(struct exporter *ex)
{
	for (size_t i = 0; i < EX_PENDING_MAX; i++) {
		struct ex_pending *pc = &ex->pending[i];

		if (pc->state == EX_PENDING_QUEUED && !ex_rights_commandable(pc->dev, pc->point)) {
			char why[160];

			snprintf(why, sizeof(why), "user %s may no longer write it", ex->conn->user);
			pending_fail(pc, why);
		}
	}
}

void ex_commands_bus_lost(struct exporter *ex, struct ex_bus *bus)
{
	for (size_t i = 0; i < EX_PENDING_MAX; i++) {
		struct ex_pending *pc = &ex->pending[i];

		if (pc->state != EX_PENDING_SENT || pc->dev->bus != bus)
			continue;
		/* No result (bus_view.c read the old table's last ones): we
		 * cannot know whether the old driver ran it.  Setting a value
		 * twice is harmless; pressing a button twice is not.  The
		 * re-queued command keeps its place in the arrival order. */
		if (idempotent(pc)) {
			pc->state = EX_PENDING_QUEUED;
			pc->since_ms = fb_mono_ms();
		} else {
			pending_fail(pc, "driver restarted (not repeated: a press runs at most "
				     "once)");
		}
	}
}

void ex_commands_message(struct exporter *ex, const struct mosquitto_message *msg)
{
	char payload[1024], numbuf[64], event_id[FB_TABLE_EVENT_ID_MAX], key[FB_TABLE_KEY_MAX];
	size_t blen = strlen(ex->base);
	const char *rest, *slash, *text, *why;
	const struct fb_point_def *p;
	size_t klen;
	struct ex_device *dev;
	struct fb_command cmd;
	cJSON *doc = NULL;
	long pi;
	int64_t ts;

	if (strncmp(msg->topic, ex->base, blen) || msg->topic[blen] != '/')
		return;
	if (msg->retain) {
		/* A retained command would be replayed at every reconnect: never
		 * execute one, and clear it from the broker. */
		fb_warn("connection %s: clearing retained command on %s", ex->conn->name,
			msg->topic);
		ex_link_clear_retained(&ex->link, msg->topic);
		return;
	}
	if (msg->payloadlen <= 0)
		return; /* our own clearing of a retained command comes back */
	rest = msg->topic + blen + 1;
	slash = strchr(rest, '/');
	if (!slash)
		return;
	if ((size_t)msg->payloadlen >= sizeof(payload)) {
		fb_warn("connection %s: command on %s dropped: %d bytes, at most %zu accepted",
			ex->conn->name, msg->topic, msg->payloadlen, sizeof(payload) - 1);
		return;
	}
	dev = ex_devices_find(ex, rest, (size_t)(slash - rest));
	klen = strcspn(slash + 1, "/");
	/* Matched whole: a key cut to fit could name another point. */
	if (!dev || klen >= sizeof(key) || strcmp(slash + 1 + klen, "/set")) {
		fb_warn("connection %s: command for unknown point %s", ex->conn->name, msg->topic);
		return;
	}
	memcpy(key, slash + 1, klen);
	key[klen] = '\0';
	if ((pi = ex_device_point(dev, key)) < 0) {
		fb_warn("connection %s: command for unknown point %s", ex->conn->name, msg->topic);
		return;
	}
	memcpy(payload, msg->payload, (size_t)msg->payloadlen);
	payload[msg->payloadlen] = '\0';
	p = &dev->def->points[pi];
	if (!ex_rights_commandable(dev, (size_t)pi)) {
		fb_warn("device %s: command for %s refused: %s%s%s", dev->conf->id, key,
			!p->writable ? "point is read-only" : "user ",
			!p->writable ? "" : ex->conn->user,
			!p->writable ? "" : " may not write it");
		return;
	}
	text = ex_commands_unpack(payload, (size_t)msg->payloadlen, &doc, numbuf, sizeof(numbuf),
				  event_id, sizeof(event_id), &ts, &why);
	memset(&cmd, 0, sizeof(cmd));
	if (!text) {
		fb_warn("device %s: command for %s refused: %s", dev->conf->id, key, why);
		goto out;
	}
	if (fb_point_parse_command(p, text, &cmd.value) < 0) {
		fb_warn("device %s: command for %s refused: invalid value", dev->conf->id, key);
		goto out;
	}
	if (p->component == FB_COMP_BUTTON && !event_id[0]) {
		fb_warn("device %s: command for %s refused: a button press must be a container "
			"with an event_id (a plain payload cannot be told from a redelivery)",
			dev->conf->id, key);
		goto out;
	}
	if (ts < 0 || (ts && (ts > fb_now_ms() + TS_AHEAD_MAX_MS ||
			      ts < fb_now_ms() - TS_BEHIND_MAX_MS))) {
		fb_warn("device %s: command %s for %s refused: its ts is not a time between 24 h "
			"before and 5 min after this gateway's clock", dev->conf->id, event_id, key);
		goto out;
	}
	/* Queued by the broker through a long outage, or by a client that
	 * was offline: too late to act on. */
	if (ts && fb_now_ms() - ts > (int64_t)ex->conn->command_max_age_s * 1000) {
		fb_warn("device %s: command %s for %s dropped: %.1f s old when it arrived "
			"(command_max_age_s=%d)", dev->conf->id, event_id, key,
			(double)(fb_now_ms() - ts) / 1000.0, ex->conn->command_max_age_s);
		goto out;
	}
	if (event_id[0] && dedup_seen(&ex->dedup, event_id)) {
		fb_info("device %s: duplicate command %s for %s dropped", dev->conf->id,
			event_id, key);
		goto out;
	}
	if (ts && ts < dev->last_cmd_ts[pi]) {
		fb_info("device %s: command %s for %s is older than the last applied one; dropped",
			dev->conf->id, event_id, key);
		goto out;
	}
	if (!event_id[0])
		ex_devices_event_id(ex, event_id, sizeof(event_id));
	snprintf(cmd.event_id, sizeof(cmd.event_id), "%s", event_id);
	cmd.ts_ms = ts ? ts : fb_now_ms();
	snprintf(cmd.origin, sizeof(cmd.origin), "%s", ex->conn->node_id);
	if (pending_add(ex, dev, (size_t)pi, &cmd) < 0)
		goto out;
	dedup_remember(&ex->dedup, event_id);
	if (ts)
		dev->last_cmd_ts[pi] = ts;
	ex_commands_flush(ex, fb_mono_ms());
out:
	cJSON_Delete(doc);
}

struct result_ctx {
	struct exporter *ex;
	struct ex_bus *bus;
};

static void on_result(void *ctx, const struct fb_command_result *res)
{
	struct exporter *ex = ((struct result_ctx *)ctx)->ex;
	struct ex_bus *bus = ((struct result_ctx *)ctx)->bus;
	struct ex_device *dev = res->point_index < bus->npoints ? bus->by_point[res->point_index]
								: NULL;
	const char *id = dev ? dev->conf->id : "?";

	for (size_t i = 0; i < EX_PENDING_MAX; i++)
		if (ex->pending[i].state == EX_PENDING_SENT && ex->pending[i].ticket == res->ticket &&
		    ex->pending[i].dev->bus == bus)
			ex->pending[i].state = EX_PENDING_FREE;

	if (res->status == FB_COMMAND_DONE) {
		fb_debug("device %s: command %s done", id, res->event_id);
		if (dev)
			ex_device_mark_dirty(dev); /* publish the confirmed state */
	} else {
		if (dev)
			ex_device_mark_dirty(dev); /* show the real state again */
		fb_warn("device %s: command %s %s: %s", id, res->event_id,
			res->status == FB_COMMAND_SUPERSEDED ? "superseded" : "failed",
			res->reason);
	}
}

void ex_commands_results(struct exporter *ex, struct ex_bus *bus)
{
	struct result_ctx ctx = { ex, bus };

	if (bus->reader)
		fb_table_reader_results(bus->reader, ex->conn->node_id, on_result, &ctx);
}
