/* SPDX-License-Identifier: Apache-2.0 */
/* GET events: Server-Sent Events.  A snapshot first (every point the
 * user's rights let it read), then one "update" per flush with the newest
 * value of each point that changed since (coalesced: a point changing ten
 * times in 250 ms is sent once), device availability, and a heartbeat
 * comment every 15 s.  A client that stops reading is not buffered for
 * without bound: its backlog is dropped and it gets a new snapshot. */
#include "web-internal.h"
#include "log.h"
#include "model.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct web_sse_client {
	struct web_sse_client *next;
	struct web *w;
	struct MHD_Connection *conn;
	struct web_session *session;  /* borrowed; checked by id on every flush */
	char sid[WEB_TOKEN_HEX + 1];
	char user[WEB_USER_MAX];
	enum web_role role;
	struct web_sse_buf buf;
	bool suspended, closed;
};

static bool may_read(const struct web_sse_client *c, const char *dev, const char *point)
{
	return web_auth_access(&c->w->auth, c->user, dev, point) >= FB_ACCESS_READ;
}

/* What the page needs to show and control a point, from its definition:
 * only in the snapshot, since it does not change while a driver runs. */
static void add_meta(cJSON *o, const struct web_sse_client *c, const struct web_bus *b,
		     const char *dev, const char *key)
{
	const struct fb_point_def *p = NULL;
	cJSON *opts;

	for (size_t i = 0; i < b->conf->ndevices && !p; i++)
		if (!strcmp(b->conf->devices[i].id, dev) && b->conf->devices[i].def)
			p = fb_model_point(b->conf->devices[i].def, key);
	if (!p) {
		cJSON_AddBoolToObject(o, "writable", false);
		return;
	}
	cJSON_AddStringToObject(o, "name", p->name ? p->name : p->key);
	if (p->unit)
		cJSON_AddStringToObject(o, "unit", p->unit);
	cJSON_AddStringToObject(o, "component", fb_component_name(p->component));
	/* Writable for this user: the point, the role and the rights. */
	cJSON_AddBoolToObject(o, "writable", p->writable && c->role >= WEB_ROLE_OPERATOR &&
			      web_auth_access(&c->w->auth, c->user, dev, key) == FB_ACCESS_WRITE);
	if (p->noptions) {
		opts = cJSON_AddArrayToObject(o, "options");
		for (size_t i = 0; i < p->noptions; i++)
			cJSON_AddItemToArray(opts, cJSON_CreateString(p->options[i].label));
	}
	if (p->has_min)
		cJSON_AddNumberToObject(o, "min", p->min);
	if (p->has_max)
		cJSON_AddNumberToObject(o, "max", p->max);
	if (p->step > 0)
		cJSON_AddNumberToObject(o, "step", p->step);
}

static cJSON *snapshot(const struct web_sse_client *c)
{
	struct web *w = c->w;
	cJSON *doc = cJSON_CreateObject(), *buses = cJSON_AddObjectToObject(doc, "buses");

	for (size_t i = 0; i < w->tables.nbus; i++) {
		const struct web_bus *b = &w->tables.bus[i];
		cJSON *bo = cJSON_AddObjectToObject(buses, b->conf->name), *devs;

		cJSON_AddBoolToObject(bo, "attached", b->reader != NULL);
		devs = cJSON_AddObjectToObject(bo, "devices");
		if (!b->reader)
			continue;
		for (uint32_t d = 0; d < fb_table_reader_device_count(b->reader); d++) {
			const char *id = fb_table_reader_device(b->reader, d)->device;
			cJSON *dob = cJSON_CreateObject(), *pts = cJSON_AddObjectToObject(dob, "points");
			bool any = false;

			cJSON_AddBoolToObject(dob, "online", fb_table_reader_device_online(b->reader, d));
			for (uint32_t p = 0; p < fb_table_reader_point_count(b->reader); p++) {
				const struct fb_point_desc *pd = fb_table_reader_point(b->reader, p);

				if (strcmp(pd->device, id) || !may_read(c, id, pd->point))
					continue;
				cJSON *po = web_tables_point_json(b, p);

				add_meta(po, c, b, id, pd->point);
				cJSON_AddItemToObject(pts, pd->point, po);
				any = true;
			}
			if (any)
				cJSON_AddItemToObject(devs, id, dob);
			else
				cJSON_Delete(dob);
		}
	}
	return doc;
}

static void send_doc(struct web_sse_client *c, const char *event, cJSON *doc)
{
	char *text = cJSON_PrintUnformatted(doc);

	cJSON_Delete(doc);
	if (text)
		web_sse_queue_append(&c->buf, event, text);
	free(text);
}

static void wake(struct web_sse_client *c)
{
	if (c->suspended && (c->closed || c->buf.pending)) {
		c->suspended = false;
		web_http_resume(c->w, c->conn);
	}
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct web_sse_client *c = cls;

	(void)pos;
	if (c->buf.pending)
		return (ssize_t)web_sse_queue_take_out(&c->buf, out, max);
	if (c->closed)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing to send: leave the poll set until there is (resumed by
	 * wake()), instead of being asked again at once. */
	c->suspended = true;
	MHD_suspend_connection(c->conn);
	return 0;
}

static void client_free(void *cls)
{
	struct web_sse_client *c = cls;
	struct web_sse_client **pp = &c->w->clients;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	c->w->nclients--;
	web_sse_queue_buf_free(&c->buf);
	free(c);
}

/* A suspended stream is out of the poll set, so a browser that reloaded
 * leaves its old stream open here until a heartbeat fails (up to 30 s).
 * Reloading a few times would then use up the connection limits and the
 * page would not load.  So one session keeps at most SESSION_STREAMS_MAX
 * streams (tabs): a new one ends its oldest. */
#define SESSION_STREAMS_MAX 4

static void end_oldest_of_session(struct web *w, const char *sid)
{
	struct web_sse_client *oldest = NULL;
	size_t n = 0;

	/* New streams are put first: the last one found is the oldest. */
	for (struct web_sse_client *c = w->clients; c; c = c->next)
		if (!c->closed && !strcmp(c->sid, sid)) {
			oldest = c;
			n++;
		}
	if (n >= SESSION_STREAMS_MAX) {
		oldest->closed = true;
		wake(oldest);
	}
}

int web_sse_open(struct web_req *q)
{
	struct web_sse_client *c;
	struct MHD_Response *r;
	int rc;

	if (strcmp(q->method, "GET"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	end_oldest_of_session(q->w, q->session->id);
	if (q->w->nclients >= 16)
		return web_http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "too many event streams");
	c = calloc(1, sizeof(*c));
	if (!c)
		return MHD_NO;
	c->w = q->w;
	c->conn = q->conn;
	c->session = q->session;
	snprintf(c->sid, sizeof(c->sid), "%s", q->session->id);
	snprintf(c->user, sizeof(c->user), "%s", q->session->user);
	c->role = q->session->role;
	web_sse_queue_append_raw(&c->buf, "retry: 2000\n\n");
	send_doc(c, "snapshot", snapshot(c));
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, c, client_free);
	if (!r) {
		web_sse_queue_buf_free(&c->buf);
		free(c);
		return MHD_NO;
	}
	c->next = q->w->clients;
	q->w->clients = c;
	q->w->nclients++;
	web_http_headers(r, true);
	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	/* An ended stream ends its connection, so the browser sees it end. */
	MHD_add_response_header(r, "Connection", "close");
	rc = MHD_queue_response(q->conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

struct upd {
	struct web_sse_client *c;
	const struct web_bus *b;
	cJSON *points;
	size_t *idx;
	size_t n;
};

static void collect(void *ctx, size_t i)
{
	struct upd *u = ctx;

	u->idx[u->n++] = i;
}

static bool session_live(const struct web_sse_client *c, int64_t now_s)
{
	const struct web_session *s = c->session;

	return s->used && !strcmp(s->id, c->sid) &&
	       now_s < web_session_expires_s(&c->w->sessions, s);
}

void web_sse_flush(struct web *w, int64_t mono_ms)
{
	bool heartbeat = mono_ms >= w->next_heartbeat_ms;
	size_t total = 0;
	struct bus_changes {
		size_t *idx;
		size_t n;
	} *bc = calloc(w->tables.nbus ? w->tables.nbus : 1, sizeof(*bc));

	if (!bc)
		return;
	/* Take every bus's dirty set once; each client filters it by rights. */
	for (size_t i = 0; i < w->tables.nbus; i++) {
		struct web_bus *b = &w->tables.bus[i];
		struct upd u = { 0 };

		if (!b->reader || !b->dirty.count)
			continue;
		u.idx = calloc(b->dirty.count, sizeof(size_t));
		if (!u.idx)
			continue;
		web_sse_queue_take(&b->dirty, collect, &u);
		bc[i].idx = u.idx;
		bc[i].n = u.n;
		total += u.n;
	}
	/* An update depends only on the user's rights: streams of the same
	 * user (tabs, browsers) share one chunk per flush (queued by
	 * reference, not copied), and every stream shares the heartbeat. */
	struct { const char *user; struct web_sse_chunk *chunk; } cache[8];
	size_t ncache = 0;
	struct web_sse_chunk *beat = heartbeat ?
		web_sse_queue_chunk_new(NULL, ": heartbeat\n\n") : NULL;

	for (struct web_sse_client *c = w->clients; c; c = c->next) {
		cJSON *doc, *pts, *devs;
		bool any = false, cached = false;
		struct web_sse_chunk *chunk = NULL;
		char *text;

		if (c->closed)
			continue;
		if (!session_live(c, mono_ms / 1000)) {
			c->closed = true;
			wake(c);
			continue;
		}
		if (c->buf.overflow) {
			c->buf.overflow = false;
			send_doc(c, "snapshot", snapshot(c));
			wake(c);
			continue;
		}
		for (size_t k = 0; k < ncache && !cached; k++) {
			if (strcmp(cache[k].user, c->user))
				continue;
			cached = true;
			if (cache[k].chunk)
				web_sse_queue_push(&c->buf, cache[k].chunk);
		}
		if (cached) {
			if (beat)
				web_sse_queue_push(&c->buf, beat);
			wake(c);
			continue;
		}
		doc = cJSON_CreateObject();
		pts = cJSON_AddArrayToObject(doc, "points");
		devs = cJSON_AddArrayToObject(doc, "devices");
		for (size_t i = 0; i < w->tables.nbus; i++) {
			struct web_bus *b = &w->tables.bus[i];

			for (size_t k = 0; k < bc[i].n; k++) {
				const struct fb_point_desc *pd =
					fb_table_reader_point(b->reader, (uint32_t)bc[i].idx[k]);
				cJSON *o;

				if (!may_read(c, pd->device, pd->point))
					continue;
				o = web_tables_point_json(b, (uint32_t)bc[i].idx[k]);
				cJSON_AddStringToObject(o, "bus", b->conf->name);
				cJSON_AddStringToObject(o, "device", pd->device);
				cJSON_AddStringToObject(o, "point", pd->point);
				cJSON_AddItemToArray(pts, o);
				any = true;
			}
			if (b->devices_dirty) {
				size_t nd = b->reader ? fb_table_reader_device_count(b->reader) : 0;

				for (uint32_t d = 0; d < nd; d++) {
					cJSON *o = cJSON_CreateObject();

					cJSON_AddStringToObject(o, "bus", b->conf->name);
					cJSON_AddStringToObject(o, "device",
						fb_table_reader_device(b->reader, d)->device);
					cJSON_AddBoolToObject(o, "online",
						fb_table_reader_device_online(b->reader, d));
					cJSON_AddItemToArray(devs, o);
				}
				if (!b->reader) {
					cJSON *o = cJSON_CreateObject();

					cJSON_AddStringToObject(o, "bus", b->conf->name);
					cJSON_AddBoolToObject(o, "attached", false);
					cJSON_AddItemToArray(devs, o);
				}
				any = true;
			}
		}
		text = any ? cJSON_PrintUnformatted(doc) : NULL;
		cJSON_Delete(doc);
		if (text)
			chunk = web_sse_queue_chunk_new("update", text);
		free(text);
		if (chunk)
			web_sse_queue_push(&c->buf, chunk);
		if (ncache < sizeof(cache) / sizeof(cache[0]) && (chunk || !any)) {
			cache[ncache].user = c->user;
			cache[ncache++].chunk = chunk;
		} else {
			web_sse_queue_chunk_unref(chunk);
		}
		if (beat)
			web_sse_queue_push(&c->buf, beat);
		wake(c);
	}
	for (size_t k = 0; k < ncache; k++)
		web_sse_queue_chunk_unref(cache[k].chunk);
	web_sse_queue_chunk_unref(beat);
	for (size_t i = 0; i < w->tables.nbus; i++) {
		w->tables.bus[i].devices_dirty = false;
		free(bc[i].idx);
	}
	free(bc);
	if (heartbeat)
		w->next_heartbeat_ms = mono_ms + WEB_SSE_HEARTBEAT_MS;
	(void)total;
}

int64_t web_sse_reap(struct web *w, int64_t mono_ms)
{
	int64_t next = 0;

	for (struct web_sse_client *c = w->clients; c; c = c->next) {
		if (c->closed)
			continue;
		if (!session_live(c, mono_ms / 1000)) {
			c->closed = true;
			wake(c);
		} else {
			next = fb_deadline_min(next, web_session_expires_s(&w->sessions,
									  c->session) * 1000);
		}
	}
	return next;
}

void web_sse_close_all(struct web *w)
{
	for (struct web_sse_client *c = w->clients; c; c = c->next) {
		c->closed = true;
		wake(c);
	}
}
