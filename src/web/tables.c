/* The bus tables: attached read-only for values (their changes mark points
 * dirty for the event stream) and read-write for the command queue.  A
 * table that is not there yet (driver not started) is retried every 2 s;
 * a superseded one (driver restarted) is re-attached. */
#include "web-internal.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTACH_RETRY_MS 2000

static const char *const quality_names[] = { "never_read", "ok", "comm_error", "stale" };

const char *web_quality_name(uint8_t q)
{
	return q <= FB_QUALITY_STALE ? quality_names[q] : "stale";
}

int web_tables_init(struct web_tables *t, const struct fb_config *cfg)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->origin, sizeof(t->origin), "web");
	t->bus = calloc(cfg->nbuses ? cfg->nbuses : 1, sizeof(*t->bus));
	if (!t->bus)
		return -1;
	t->nbus = cfg->nbuses;
	for (size_t i = 0; i < cfg->nbuses; i++) {
		t->bus[i].conf = &cfg->buses[i];
		fb_config_table_name(cfg, &cfg->buses[i], t->bus[i].instance,
				     sizeof(t->bus[i].instance));
	}
	return 0;
}

static void detach(struct web_bus *b)
{
	fb_table_detach(b->reader);
	b->reader = NULL;
	web_dirty_free(&b->dirty);
	b->devices_dirty = true;
}

void web_tables_free(struct web_tables *t)
{
	for (size_t i = 0; i < t->nbus; i++)
		detach(&t->bus[i]);
	free(t->bus);
	memset(t, 0, sizeof(*t));
}

void web_tables_maintain(struct web_tables *t, int64_t mono_ms)
{
	for (size_t i = 0; i < t->nbus; i++) {
		struct web_bus *b = &t->bus[i];

		if (b->reader && fb_table_reader_superseded(b->reader)) {
			fb_info("bus %s: driver restarted, re-attaching", b->conf->name);
			detach(b);
			b->next_attach_ms = 0;
		}
		if (b->reader || mono_ms < b->next_attach_ms)
			continue;
		b->reader = fb_table_attach(b->instance);
		if (!b->reader) {
			if (errno != ENOENT && errno != EAGAIN)
				fb_log_errno(FB_LOG_WARNING, "bus %s: cannot attach table %s",
					     b->conf->name, b->instance);
			b->next_attach_ms = mono_ms + ATTACH_RETRY_MS;
			continue;
		}
		if (web_dirty_init(&b->dirty, fb_table_reader_point_count(b->reader)) < 0) {
			fb_table_detach(b->reader);
			b->reader = NULL;
			continue;
		}
		b->generation = fb_table_reader_generation(b->reader);
		b->devices_dirty = true;
		fb_info("bus %s: attached (%zu points)", b->conf->name,
			fb_table_reader_point_count(b->reader));
	}
}

struct poll_ctx {
	struct web_tables *t;
	struct web_bus *b;
	void (*done)(void *ctx, struct web_command *c);
	void *ctx;
};

static void on_point(void *ctx, uint32_t i)
{
	web_dirty_mark(&((struct poll_ctx *)ctx)->b->dirty, i);
}

static void on_device(void *ctx, uint32_t i)
{
	(void)i;
	((struct poll_ctx *)ctx)->b->devices_dirty = true;
}

static void on_result(void *ctx, const struct fb_command_result *res)
{
	struct poll_ctx *p = ctx;

	for (size_t i = 0; i < WEB_COMMANDS_MAX; i++) {
		struct web_command *c = &p->t->cmd[i];

		if (c->used && c->bus == p->b && c->ticket == res->ticket && !c->status) {
			c->status = res->status;
			snprintf(c->reason, sizeof(c->reason), "%s", res->reason);
			p->done(p->ctx, c);
		}
	}
}

void web_tables_poll(struct web_tables *t, struct web_bus *b,
		     void (*done)(void *ctx, struct web_command *c), void *ctx)
{
	struct poll_ctx p = { t, b, done, ctx };

	if (!b->reader)
		return;
	fb_table_reader_changes(b->reader, on_point, on_device, &p);
	fb_table_reader_results(b->reader, t->origin, on_result, &p);
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
	cJSON_AddStringToObject(o, "quality", web_quality_name(s.quality));
	cJSON_AddNumberToObject(o, "read_ts", (double)s.read_ts_ms);
	cJSON_AddNumberToObject(o, "change_ts", (double)s.change_ts_ms);
	return o;
}
