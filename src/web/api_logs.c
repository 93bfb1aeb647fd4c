/* SPDX-License-Identifier: Apache-2.0 */
/* GET logs?unit=&priority=&lines=&since=: the journal of the fieldbridge
 * units, from `journalctl -o json` run as a child (child.c) while the
 * request waits suspended.  Only units named fieldbridge-* can be read.
 * Answers {entries:[{ts_ms, priority, unit, message, cursor}], cursor}. */
#include "web-internal.h"
#include "log.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOURNALCTL "journalctl"
#define LINES_DEFAULT 200
#define LINES_MAX 5000
#define TIMEOUT_S 15
#define UNIT_PREFIX "fieldbridge-"

static bool chars_ok(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr(extra, *s))
			return false;
	return true;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One line of journalctl -o json as the page's entry, or NULL. */
static cJSON *entry(const char *line)
{
	cJSON *j = cJSON_Parse(line), *e;
	const char *msg, *ts, *pr, *unit;

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	e = cJSON_CreateObject();
	ts = str(j, "__REALTIME_TIMESTAMP");
	pr = str(j, "PRIORITY");
	unit = str(j, "_SYSTEMD_UNIT");
	if (!unit)
		unit = str(j, "SYSLOG_IDENTIFIER");
	msg = str(j, "MESSAGE"); /* binary messages come as arrays: shown as such */
	cJSON_AddNumberToObject(e, "ts_ms", ts ? (double)(strtoll(ts, NULL, 10) / 1000) : 0);
	cJSON_AddNumberToObject(e, "priority", pr ? atoi(pr) : 6);
	cJSON_AddStringToObject(e, "unit", unit ? unit : "");
	cJSON_AddStringToObject(e, "message", msg ? msg : "[binary message]");
	if (str(j, "__CURSOR"))
		cJSON_AddStringToObject(e, "cursor", str(j, "__CURSOR"));
	cJSON_Delete(j);
	return e;
}

static void done(struct web_child *c)
{
	struct web_req *q = c->req;
	cJSON *doc, *arr;
	const char *last = NULL;

	if (!q)
		return;
	if (c->timed_out || c->exit_code != 0 || c->overflow) {
		char msg[200];

		if (c->timed_out)
			snprintf(msg, sizeof(msg), "the journal cannot be read: " JOURNALCTL
				 " did not answer within %d s", TIMEOUT_S);
		else if (c->exit_code == 127)
			snprintf(msg, sizeof(msg), "the journal cannot be read: " JOURNALCTL
				 " is not installed");
		else
			snprintf(msg, sizeof(msg), "the journal cannot be read: " JOURNALCTL
				 " failed (exit status %d); is systemd-journald running?",
				 c->exit_code);
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "error", msg);
		web_http_answer_later(q, MHD_HTTP_SERVICE_UNAVAILABLE, doc);
		return;
	}
	doc = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(doc, "entries");
	for (char *line = c->out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		cJSON *e;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if ((e = entry(line))) {
			cJSON_AddItemToArray(arr, e);
			last = str(e, "cursor");
		}
	}
	if (last)
		cJSON_AddStringToObject(doc, "cursor", last);
	web_http_answer_later(q, MHD_HTTP_OK, doc);
}

static const char *arg(struct web_req *q, const char *k)
{
	const char *v = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, k);

	return v && *v ? v : NULL;
}

int web_api_logs(struct web_req *q)
{
	struct web *w = q->w;
	const char *unit = arg(q, "unit"), *prio = arg(q, "priority");
	const char *lines = arg(q, "lines"), *since = arg(q, "since");
	char unit_arg[WEB_ARG_MAX + 8], n_arg[16], key[32];
	char *argv[16];
	struct web_child *c;
	long n = LINES_DEFAULT;
	size_t a = 0;
	int rc;

	if (strcmp(q->method, "GET") && strcmp(q->method, "HEAD"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	if (q->session->role < WEB_ROLE_OPERATOR)
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "reading the logs needs the "
				      "operator or admin role");
	if (unit && (strncmp(unit, UNIT_PREFIX, strlen(UNIT_PREFIX)) ||
		     strlen(unit) >= WEB_ARG_MAX || !chars_ok(unit, "@._-*")))
		return web_http_error(q, MHD_HTTP_BAD_REQUEST, "unit: only the units "
				      UNIT_PREFIX "* can be read");
	if (prio && (strlen(prio) != 1 || prio[0] < '0' || prio[0] > '7'))
		return web_http_error(q, MHD_HTTP_BAD_REQUEST, "priority: expected 0..7");
	if (lines) {
		char *end;

		n = strtol(lines, &end, 10);
		if (*end || n < 1 || n > LINES_MAX)
			return web_http_error(q, MHD_HTTP_BAD_REQUEST, "lines: expected 1..%d",
					      LINES_MAX);
	}
	if (since && (strlen(since) > 512 || !chars_ok(since, "=;-_")))
		return web_http_error(q, MHD_HTTP_BAD_REQUEST, "since: not a journal cursor");
	/* One reader per session is plenty: follow polls again and again. */
	snprintf(key, sizeof(key), "logs:%.16s", q->session->id);
	if (web_child_find(w->children, key))
		return web_http_error(q, MHD_HTTP_CONFLICT, "the logs are being read already");
	snprintf(unit_arg, sizeof(unit_arg), "%s", unit ? unit : UNIT_PREFIX "*");
	snprintf(n_arg, sizeof(n_arg), "%ld", n);
	argv[a++] = (char *)JOURNALCTL;
	argv[a++] = (char *)"-o";
	argv[a++] = (char *)"json";
	argv[a++] = (char *)"--no-pager";
	argv[a++] = (char *)"-q";
	argv[a++] = (char *)"-n";
	argv[a++] = n_arg;
	argv[a++] = (char *)"-u";
	argv[a++] = unit_arg;
	if (prio) {
		argv[a++] = (char *)"-p";
		argv[a++] = (char *)prio;
	}
	if (since) {
		argv[a++] = (char *)"--after-cursor";
		argv[a++] = (char *)since;
	}
	/* Tests only: a journal directory made without journald, which a
	 * machine without systemd as PID 1 does not run. */
	if (getenv("FB_JOURNAL_DIR")) {
		argv[a++] = (char *)"-D";
		argv[a++] = getenv("FB_JOURNAL_DIR");
	}
	argv[a] = NULL;
	rc = web_child_spawn(w->children, key, JOURNALCTL, argv, TIMEOUT_S * 1000, &c);
	if (rc)
		return web_http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "the journal cannot be "
				      "read: cannot run " JOURNALCTL ": %s", strerror(rc));
	c->done = done;
	c->req = q;
	q->child = c;
	q->suspended = true;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}
