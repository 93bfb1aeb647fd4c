/* SPDX-License-Identifier: Apache-2.0 */
/* POST points/{bus}/{device}/{point} {"value": ...}: a command through the
 * bus table's queue, as the exporter sends them, within the user's role
 * (operator or admin) and rights (write on that point).  The request waits
 * (suspended, the loop keeps running) for the driver's result, so the page
 * shows done or failed with the driver's reason. */
#include "web-internal.h"
#include "log.h"
#include "model.h"

#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RESULT_WAIT_MS 10000

static const struct fb_device_conf *find_device(const struct fb_bus_conf *b, const char *id)
{
	for (size_t i = 0; i < b->ndevices; i++)
		if (!strcmp(b->devices[i].id, id))
			return &b->devices[i];
	return NULL;
}

/* Home Assistant's payloads, as text: one parser (the model's) decides. */
static int parse_as_text(const struct fb_point_def *p, const cJSON *j, struct fb_value *v)
{
	char num[64];

	if (cJSON_IsString(j))
		return fb_point_parse_command(p, j->valuestring, v);
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
		return -1;
	snprintf(num, sizeof(num), "%.17g", j->valuedouble);
	return fb_point_parse_command(p, num, v);
}

/* JSON from the page -> a table value for this point (the exporter's
 * rules for Home Assistant's payloads, in JSON types). */
static int parse_value(const struct fb_point_def *p, const cJSON *j, struct fb_value *v)
{
	memset(v, 0, sizeof(*v));
	if (p->component == FB_COMP_LIGHT && p->ext.brightness_scale)
		return parse_as_text(p, j, v); /* a dimmer: ON, OFF or a level */
	switch (p->component) {
	case FB_COMP_SWITCH:
	case FB_COMP_LIGHT:
	case FB_COMP_VALVE:
		v->kind = FB_VALUE_BOOL;
		if (cJSON_IsBool(j))
			v->b = cJSON_IsTrue(j);
		else if (cJSON_IsNumber(j) && (j->valuedouble == 0 || j->valuedouble == 1))
			v->b = j->valuedouble == 1;
		else if (cJSON_IsString(j) && !strcasecmp(j->valuestring, "ON"))
			v->b = true;
		else if (cJSON_IsString(j) && !strcasecmp(j->valuestring, "OFF"))
			v->b = false;
		else
			return -1;
		return 0;
	case FB_COMP_BUTTON:
		v->kind = FB_VALUE_BOOL;
		v->b = true;
		return 0;
	case FB_COMP_SELECT:
		for (size_t i = 0; i < p->noptions && cJSON_IsString(j); i++) {
			if (!strcmp(j->valuestring, p->options[i].label)) {
				v->kind = FB_VALUE_INT;
				v->i = p->options[i].raw;
				return 0;
			}
		}
		return -1;
	case FB_COMP_NUMBER:
		if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
			return -1;
		if ((p->has_min && j->valuedouble < p->min) ||
		    (p->has_max && j->valuedouble > p->max))
			return -1;
		v->kind = FB_VALUE_FLOAT;
		v->f = j->valuedouble;
		return 0;
	case FB_COMP_COVER:
	case FB_COMP_FAN:
	case FB_COMP_CLIMATE:
	case FB_COMP_TEXT:
		return parse_as_text(p, j, v);
	default:
		return -1;
	}
}

static struct web_command *slot(struct web_tables *t)
{
	for (size_t i = 0; i < WEB_COMMANDS_MAX; i++)
		if (!t->cmd[i].used)
			return &t->cmd[i];
	return NULL;
}

int web_api_point(struct web_req *q, const struct web_match *m)
{
	struct web *w = q->w;
	const char *bus_name = m->arg[0], *dev_id = m->arg[1], *key = m->arg[2];
	const struct fb_device_conf *dev;
	const struct fb_point_def *p = NULL;
	struct web_bus *bus;
	struct web_command *c;
	struct fb_command cmd;
	char vtext[80], eid[17];
	const cJSON *val;
	long idx;
	int rc;
	cJSON *body;

	if (strcmp(q->method, "POST"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
	if (q->session->role < WEB_ROLE_OPERATOR)
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "a viewer cannot send commands");
	if (web_auth_access(&w->auth, q->session->user, dev_id, key) != FB_ACCESS_WRITE) {
		fb_warn("web: %s from %s: command for %s/%s refused: no write right",
			q->session->user, q->peer, dev_id, key);
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "your rights do not allow writing "
				      "%s/%s", dev_id, key);
	}
	bus = web_tables_bus(&w->tables, bus_name);
	dev = bus ? find_device(bus->conf, dev_id) : NULL;
	if (dev && dev->def)
		p = fb_model_point(dev->def, key);
	if (!p)
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no point %s/%s/%s", bus_name,
				      dev_id, key);
	if (!p->writable)
		return web_http_error(q, MHD_HTTP_CONFLICT, "%s/%s is read-only", dev_id, key);
	if (!(body = web_http_body(q, &rc)))
		return rc;
	val = cJSON_GetObjectItemCaseSensitive(body, "value");
	memset(&cmd, 0, sizeof(cmd));
	if ((!val && p->component != FB_COMP_BUTTON) || parse_value(p, val, &cmd.value) < 0) {
		cJSON_Delete(body);
		return web_http_error(q, MHD_HTTP_BAD_REQUEST, "%s/%s: value not accepted by "
				      "this %s", dev_id, key, fb_component_name(p->component));
	}
	cJSON_Delete(body);
	idx = bus->reader ? fb_table_reader_find(bus->reader, dev_id, key) : -1;
	if (idx < 0)
		return web_http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "the driver of bus %s "
				      "is not running", bus_name);
	if (!(c = slot(&w->tables)))
		return web_http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "too many commands "
				      "waiting: try again");
	cmd.point_index = (uint32_t)idx;
	if (web_session_random_hex(eid, 8) < 0)
		return web_http_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "no random bytes");
	snprintf(cmd.event_id, sizeof(cmd.event_id), "web-%s", eid);
	snprintf(cmd.origin, sizeof(cmd.origin), "%s", w->tables.origin);
	cmd.ts_ms = fb_now_ms();
	if (fb_table_command_push(bus->reader, &cmd) < 0)
		return web_http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "the driver's command "
				      "queue is full: try again");
	if (fb_value_to_json(&cmd.value, vtext, sizeof(vtext)) < 0)
		snprintf(vtext, sizeof(vtext), "?");
	fb_log(FB_LOG_NOTICE, "web: %s from %s: command %s for %s/%s/%s = %s",
	       q->session->user, q->peer, cmd.event_id, bus_name, dev_id, key, vtext);
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->ticket = cmd.ticket;
	c->bus = bus;
	c->deadline_ms = fb_mono_ms() + RESULT_WAIT_MS;
	c->req = q;
	q->cmd = c;
	q->suspended = true;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}

void web_api_point_done(struct web_req *q, struct web_command *c)
{
	cJSON *doc = cJSON_CreateObject();

	switch (c->status) {
	case FB_COMMAND_DONE:
		cJSON_AddStringToObject(doc, "status", "done");
		q->pending_status = MHD_HTTP_OK;
		break;
	case FB_COMMAND_SUPERSEDED:
		cJSON_AddStringToObject(doc, "status", "superseded");
		cJSON_AddStringToObject(doc, "reason", c->reason);
		q->pending_status = MHD_HTTP_CONFLICT;
		break;
	case FB_COMMAND_FAILED:
		cJSON_AddStringToObject(doc, "status", "failed");
		cJSON_AddStringToObject(doc, "reason", c->reason);
		q->pending_status = MHD_HTTP_BAD_GATEWAY;
		break;
	default:
		cJSON_AddStringToObject(doc, "status", "timeout");
		cJSON_AddStringToObject(doc, "reason", "no result from the driver within 10 s");
		q->pending_status = MHD_HTTP_GATEWAY_TIMEOUT;
		break;
	}
	if (c->status != FB_COMMAND_DONE)
		fb_warn("web: command for %s from %s: %s", q->session ? q->session->user : "?",
			q->peer, c->status ? c->reason : "no result within 10 s");
	q->pending_doc = doc;
	q->cmd = NULL;
	memset(c, 0, sizeof(*c));
	if (q->suspended) {
		q->suspended = false;
		web_http_resume(q->w, q->conn);
	}
}
