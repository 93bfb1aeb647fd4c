/* SPDX-License-Identifier: Apache-2.0 */
/* The bus tables, through one table follower per bus (table_follower.h):
 * read for values (their changes mark points dirty for the event stream)
 * and written for commands.  A driver that is not running yet is attached
 * when it appears; a restarted one is re-attached, and commands that were
 * waiting on the old table fail with a reason instead of hanging. */
#include "web-internal.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STALE_AFTER_MS 5000

static const char *const quality_names[] = { "never_read", "ok", "comm_error", "stale" };

const char *web_tables_quality_name(uint8_t q)
{
	return q <= FB_QUALITY_STALE ? quality_names[q] : "stale";
}

static int on_attached(void *ctx, struct fb_table_reader *r)
{
	struct web_bus *b = ctx;

	if (web_sse_queue_dirty_init(&b->dirty, fb_table_reader_point_count(r)) < 0)
		return -1;
	b->reader = r;
	b->devices_dirty = true;
	b->last_attach_errno = 0;
	fb_info("bus %s: attached (%zu points)", b->conf->name, fb_table_reader_point_count(r));
	return 0;
}

static void on_detaching(void *ctx, struct fb_table_reader *r, enum fb_table_follower_why why)
{
	struct web_bus *b = ctx;
	struct web_tables *t = b->t;

	(void)r;
	if (why != FB_FOLLOWER_CLOSED)
		fb_info("bus %s: driver restarted, re-attaching", b->conf->name);
	for (size_t i = 0; i < WEB_COMMANDS_MAX; i++) {
		struct web_command *c = &t->cmd[i];

		if (c->used && c->bus == b && !c->status) {
			c->status = FB_COMMAND_FAILED;
			snprintf(c->reason, sizeof(c->reason), "the driver restarted before "
				 "confirming it");
			if (t->done)
				t->done(t->done_ctx, c);
		}
	}
	b->reader = NULL;
	web_sse_queue_dirty_free(&b->dirty);
	b->devices_dirty = true;
}

static void on_attach_failed(void *ctx, int err)
{
	struct web_bus *b = ctx;

	if (err != b->last_attach_errno && err != EAGAIN)
		fb_warn("bus %s: cannot attach table %s: %s", b->conf->name, b->instance,
			strerror(err));
	b->last_attach_errno = err;
}

static void on_point(void *ctx, uint32_t i)
{
	web_sse_queue_mark(&((struct web_bus *)ctx)->dirty, i);
}

static void on_device(void *ctx, uint32_t i)
{
	(void)i;
	((struct web_bus *)ctx)->devices_dirty = true;
}

struct result_ctx {
	struct web_tables *t;
	struct web_bus *b;
};

static void on_result(void *ctx, const struct fb_command_result *res)
{
	struct result_ctx *p = ctx;

	for (size_t i = 0; i < WEB_COMMANDS_MAX; i++) {
		struct web_command *c = &p->t->cmd[i];

		if (c->used && c->bus == p->b && c->ticket == res->ticket && !c->status) {
			c->status = res->status;
			snprintf(c->reason, sizeof(c->reason), "%s", res->reason);
			if (p->t->done)
				p->t->done(p->t->done_ctx, c);
		}
	}
}

static void on_drained(void *ctx, struct fb_table_reader *r)
{
	struct web_bus *b = ctx;
	struct result_ctx rc = { b->t, b };

	fb_table_reader_results(r, b->t->origin, on_result, &rc);
}

int web_tables_init(struct web_tables *t, const struct fb_config *cfg,
		    void (*done)(void *ctx, struct web_command *c), void *done_ctx)
{
	static const struct fb_table_follower_handlers h = {
		.attached = on_attached, .detaching = on_detaching,
		.attach_failed = on_attach_failed, .point_changed = on_point,
		.device_changed = on_device, .drained = on_drained,
	};

	memset(t, 0, sizeof(*t));
	snprintf(t->origin, sizeof(t->origin), "web");
	t->done = done;
	t->done_ctx = done_ctx;
	t->bus = calloc(cfg->nbuses ? cfg->nbuses : 1, sizeof(*t->bus));
	if (!t->bus)
		return -1;
	t->nbus = cfg->nbuses;
	for (size_t i = 0; i < cfg->nbuses; i++) {
		struct web_bus *b = &t->bus[i];

		b->conf = &cfg->buses[i];
		b->t = t;
		fb_config_table_name(cfg, &cfg->buses[i], b->instance, sizeof(b->instance));
		b->f = fb_table_follower_new(b->instance, STALE_AFTER_MS, &h, b);
		if (!b->f)
			return -1;
	}
	return 0;
}

void web_tables_free(struct web_tables *t)
{
	t->done = NULL; /* nobody to answer any more */
	for (size_t i = 0; i < t->nbus; i++)
		fb_table_follower_free(t->bus[i].f);
	free(t->bus);
	memset(t, 0, sizeof(*t));
}

int64_t web_tables_maintain(struct web_tables *t, int64_t mono_ms)
{
	int64_t next = 0;

	for (size_t i = 0; i < t->nbus; i++) {
		fb_table_follower_maintain(t->bus[i].f, mono_ms);
		next = fb_deadline_min(next, fb_table_follower_next_ms(t->bus[i].f, mono_ms));
	}
	return next;
}

void web_tables_poll(struct web_tables *t, struct web_bus *b)
{
	(void)t;
	fb_table_follower_drain(b->f, fb_mono_ms());
}

int web_tables_fd(const struct web_bus *b)
{
	return fb_table_follower_fd(b->f);
}

bool web_tables_alive(const struct web_bus *b)
{
	return fb_table_follower_alive(b->f);
}

struct web_bus *web_tables_bus(struct web_tables *t, const char *name)
{
	for (size_t i = 0; i < t->nbus; i++)
		if (!strcmp(t->bus[i].conf->name, name))
			return &t->bus[i];
	return NULL;
}

cJSON *web_tables_point_json(const struct web_bus *b, uint32_t index)
{
	struct fb_point_snapshot s;
	char buf[FB_TABLE_STRING_MAX * 6 + 8];
	cJSON *o = cJSON_CreateObject();

	fb_table_reader_read(b->reader, index, &s);
	if (fb_value_to_json(&s.value, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "null");
	cJSON_AddItemToObject(o, "value", cJSON_Parse(buf));
	cJSON_AddStringToObject(o, "quality", web_tables_quality_name(s.quality));
	cJSON_AddNumberToObject(o, "read_ts", (double)s.read_ts_ms);
	cJSON_AddNumberToObject(o, "change_ts", (double)s.change_ts_ms);
	return o;
}
