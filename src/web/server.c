/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd in external epoll mode: one daemon per listen address,
 * their epoll fds in the main poll() loop, no MHD threads.  Every request
 * passes here: body size limit, session cookie, Origin and CSRF checks for
 * anything that is not a GET, then the route's handler. */
#include "web-internal.h"
#include "log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define API_PREFIX "/api/v1/"
#define BODY_MAX (256 * 1024)
#define CONNECTIONS_MAX 32
/* A browser opens 6 connections for the page's files besides its event
 * streams, and behind a reverse proxy every user has the proxy's address. */
#define PER_IP_MAX 24
#define TIMEOUT_S 30

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	fb_debug("web: libmicrohttpd: %s", msg);
}

static void peer_of(struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, len, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)len);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)len);
	}
}

/* A request through one of web.trusted_proxies: the client is the last
 * address the proxy added to X-Forwarded-For, and the browser's scheme and
 * host are X-Forwarded-Proto and X-Forwarded-Host.  From anyone else those
 * headers are ignored (they would let a client pick its own address). */
static void apply_proxy(struct web_req *q)
{
	const struct fb_web_conf *wc = &q->w->cfg->web;
	const char *xff, *proto, *last;
	char addr[64];

	for (size_t i = 0; i < wc->ntrusted_proxies; i++)
		if (!strcmp(wc->trusted_proxies[i], q->peer))
			q->via_proxy = true;
	if (!q->via_proxy)
		return;
	xff = web_http_header(q, "X-Forwarded-For");
	if (xff) {
		last = strrchr(xff, ',');
		last = last ? last + 1 : xff;
		while (*last == ' ')
			last++;
		snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(last, " "), last);
		if (fb_web_addr_valid(addr))
			snprintf(q->peer, sizeof(q->peer), "%s", addr);
	}
	proto = web_http_header(q, "X-Forwarded-Proto");
	if (proto)
		q->tls = !strcasecmp(proto, "https");
}

static const char *site_host(struct web_req *q)
{
	const char *h = q->via_proxy ? web_http_header(q, "X-Forwarded-Host") : NULL;

	return h ? h : web_http_header(q, "Host");
}

static void drop_user(void *ctx, const char *user)
{
	struct web *w = ctx;

	fb_info("web: %s's password, role or account changed: logged out", user);
	web_sessions_drop_user(&w->sessions, user);
}

static bool needs_no_session(const struct web_match *m)
{
	return m->route == WEB_R_SESSION || m->route == WEB_R_SETUP;
}

static int api(struct web_req *q, const char *sub)
{
	struct web *w = q->w;
	struct web_match m;
	bool get = !strcmp(q->method, "GET") || !strcmp(q->method, "HEAD");
	const char *cookie = web_http_header(q, "Cookie");
	char sid[WEB_TOKEN_HEX + 8];

	web_auth_refresh(&w->auth, drop_user, w);
	web_router_match(sub, &m);
	if (cookie && web_csrf_cookie_session(cookie, sid, sizeof(sid)))
		q->session = web_session_find(&w->sessions, sid, fb_mono_ms() / 1000);
	if (m.route == WEB_R_NOT_FOUND)
		return web_http_error(q, MHD_HTTP_NOT_FOUND, "no such resource");
	/* A page of another site can make a browser send a POST with our
	 * cookie, but it cannot make it send our Origin, nor read the token. */
	if (!get) {
		if (!web_csrf_origin_ok(web_http_header(q, "Origin"), site_host(q), q->tls)) {
			fb_warn("web: %s %s from %s refused: Origin \"%s\" is not this site",
				q->method, q->path, q->peer,
				web_http_header(q, "Origin") ? web_http_header(q, "Origin") : "");
			return web_http_error(q, MHD_HTTP_FORBIDDEN, "cross-origin request refused "
					      "(Origin must be this site)");
		}
	} else if (m.route == WEB_R_EVENTS && web_http_header(q, "Origin") &&
		   !web_csrf_origin_ok(web_http_header(q, "Origin"), site_host(q), q->tls)) {
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "cross-origin request refused");
	}
	if (!needs_no_session(&m) && !q->session)
		return web_http_error(q, MHD_HTTP_UNAUTHORIZED, "not logged in");
	/* Logging in and the first-run setup have no session (and no token)
	 * yet; the Origin check above covers them. */
	if (!get && q->session && !web_csrf_token_ok(q->session, web_http_header(q, "X-CSRF-Token")) &&
	    !(needs_no_session(&m) && !strcmp(q->method, "POST"))) {
		fb_warn("web: %s %s from %s refused: missing or wrong X-CSRF-Token", q->method,
			q->path, q->peer);
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "missing or wrong X-CSRF-Token");
	}
	switch (m.route) {
	case WEB_R_SESSION: return web_api_session(q);
	case WEB_R_SETUP: return web_api_setup(q);
	case WEB_R_STATUS: return get ? web_api_status(q)
				      : web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	case WEB_R_SCHEMA: return get ? web_api_schema(q)
				      : web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	case WEB_R_EVENTS: return web_sse_open(q);
	case WEB_R_POINT: return web_api_point(q, &m);
	case WEB_R_CONNECTION_TEST: return web_api_conntest(q, &m);
	case WEB_R_BUS_SCAN: return web_api_scan(q, &m);
	case WEB_R_CHANGES:
	case WEB_R_APPLY:
	case WEB_R_APPLY_CONFIRM:
	case WEB_R_APPLY_RESULT:
	case WEB_R_SNAPSHOTS:
	case WEB_R_SNAPSHOT_RESTORE: return web_api_apply(q, &m);
	case WEB_R_LOGS: return web_api_logs(q);
	case WEB_R_DISCOVERY: return web_api_discovery(q, &m);
	case WEB_R_BACKUP:
	case WEB_R_RESTORE: return web_api_backup(q, &m);
	case WEB_R_DEFINITIONS:
	case WEB_R_SERIAL_PORTS:
	case WEB_R_GPIO_CHIPS: return web_api_lists(q, &m);
	default: return web_api_config(q, &m);
	}
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_size, void **con_cls)
{
	struct web *w = cls;
	struct web_req *q = *con_cls;
	const char *cl;

	(void)version;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		q->w = w;
		q->conn = conn;
		q->method = method;
		snprintf(q->path, sizeof(q->path), "%s", url);
		peer_of(conn, q->peer, sizeof(q->peer));
		q->tls = w->tls;
		*con_cls = q;
		apply_proxy(q);
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > BODY_MAX) {
			return (enum MHD_Result)web_http_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
				"request body larger than %d KiB", BODY_MAX / 1024);
		}
		return MHD_YES;
	}
	if (*data_size) {
		if (!q->body_too_big && q->body_len + *data_size <= BODY_MAX) {
			char *p = realloc(q->body, q->body_len + *data_size + 1);

			if (!p)
				return MHD_NO;
			q->body = p;
			memcpy(q->body + q->body_len, data, *data_size);
			q->body_len += *data_size;
			q->body[q->body_len] = '\0';
		} else {
			q->body_too_big = true;
		}
		*data_size = 0;
		return MHD_YES;
	}
	if (q->pending_doc) {
		cJSON *doc = q->pending_doc;

		q->pending_doc = NULL;
		return (enum MHD_Result)web_http_json(q, q->pending_status, doc);
	}
	if (q->cmd || q->child)
		return MHD_YES; /* resumed early; still waiting */
	if (q->body_too_big)
		return (enum MHD_Result)web_http_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
			"request body larger than %d KiB", BODY_MAX / 1024);
	if (!strncmp(url, API_PREFIX, strlen(API_PREFIX))) {
		enum MHD_Result rc = (enum MHD_Result)api(q, url + strlen(API_PREFIX));

		web_sse_reap(w, fb_mono_ms()); /* this request may have ended sessions */
		return rc;
	}
	return (enum MHD_Result)web_static_serve(q, url);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct web_req *q = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!q)
		return;
	if (q->cmd)
		memset(q->cmd, 0, sizeof(*q->cmd)); /* the result has nobody to go to */
	if (q->child)
		q->child->req = NULL; /* the child runs out; its answer is dropped */
	cJSON_Delete(q->pending_doc);
	free(q->body);
	free(q);
	*con_cls = NULL;
}

void web_server_maintain(struct web *w, int64_t now, bool users_changed, int64_t *next)
{
	bool poll_users = w->users_watch < 0 && w->auth.users_path;

	if (users_changed || (poll_users && now >= w->next_users_ms)) {
		web_auth_refresh(&w->auth, drop_user, w);
		if (poll_users)
			w->next_users_ms = now + WEB_USERS_POLL_MS;
	}
	if (poll_users)
		*next = fb_deadline_min(*next, w->next_users_ms);
	*next = fb_deadline_min(*next, web_sse_reap(w, now));
}

void web_server_shutdown(struct web *w)
{
	for (size_t i = 0; i < WEB_COMMANDS_MAX; i++) {
		struct web_command *c = &w->tables.cmd[i];

		if (c->used && !c->status) {
			c->status = FB_COMMAND_FAILED;
			snprintf(c->reason, sizeof(c->reason), "fieldbridge-web is stopping");
			web_server_command_done(w, c);
		}
	}
	web_child_kill_all(w->children);
	web_sse_close_all(w);
}

void web_server_command_done(void *ctx, struct web_command *c)
{
	(void)ctx;
	if (c->req)
		web_api_point_done(c->req, c);
	else
		memset(c, 0, sizeof(*c));
}

static struct MHD_Daemon *start_one(struct web *w, const char *addr, int port,
				    const char *cert, const char *key)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (!addr) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
		flags |= MHD_USE_DUAL_STACK;
	} else if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &s4->sin_addr);
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	}
	(void)sl;
	if (cert)
		flags |= MHD_USE_TLS;
	if (cert)
		return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, w,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_MAX,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TIMEOUT_S,
			MHD_OPTION_NOTIFY_COMPLETED, completed, w,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, w,
			MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
			MHD_OPTION_END);
	return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, w,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TIMEOUT_S,
		MHD_OPTION_NOTIFY_COMPLETED, completed, w,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, w,
		MHD_OPTION_END);
}

int web_server_start(struct web *w, const struct fb_web_conf *conf, const char *cert,
		     const char *key)
{
	size_t n = conf->nlisten ? conf->nlisten : 1;

	if (n > sizeof(w->mhd) / sizeof(w->mhd[0])) {
		fb_err("web: at most %zu listen addresses", sizeof(w->mhd) / sizeof(w->mhd[0]));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *addr = conf->nlisten ? conf->listen[i] : NULL;

		w->mhd[i] = start_one(w, addr, conf->port, cert, key);
		if (!w->mhd[i] && !addr) {
			/* No IPv6 on this host: every IPv4 address, then. */
			fb_info("web: no dual-stack socket, listening on IPv4 only");
			w->mhd[i] = start_one(w, "0.0.0.0", conf->port, cert, key);
		}
		if (!w->mhd[i]) {
			fb_log_errno(FB_LOG_ERR, "web: cannot listen on %s%s%s port %d",
				     addr && strchr(addr, ':') ? "[" : "", addr ? addr : "*",
				     addr && strchr(addr, ':') ? "]" : "", conf->port);
			web_server_stop(w);
			return -1;
		}
		w->nmhd = i + 1;
		fb_info("web: listening on %s://%s%s%s:%d/", cert ? "https" : "http",
			addr && strchr(addr, ':') ? "[" : "", addr ? addr : "*",
			addr && strchr(addr, ':') ? "]" : "", conf->port);
	}
	return 0;
}

void web_server_stop(struct web *w)
{
	for (size_t i = 0; i < w->nmhd; i++)
		MHD_stop_daemon(w->mhd[i]);
	w->nmhd = 0;
}

int web_server_fd(const struct web *w, size_t i)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->mhd[i], MHD_DAEMON_INFO_EPOLL_FD);

	return di ? di->epoll_fd : -1;
}

int64_t web_server_run(struct web *w)
{
	int64_t next = 0;

	/* A handler that resumes another connection (a new event stream ends
	 * an old one) needs one more run; bounded, since each run may resume. */
	for (int round = 0; round < 4; round++) {
		w->resumed = false;
		for (size_t i = 0; i < w->nmhd; i++)
			MHD_run(w->mhd[i]);
		if (!w->resumed)
			break;
	}
	for (size_t i = 0; i < w->nmhd; i++) {
		MHD_UNSIGNED_LONG_LONG t;

		if (MHD_get_timeout(w->mhd[i], &t) == MHD_YES)
			next = fb_deadline_min(next, fb_mono_ms() + (int64_t)t);
	}
	/* Still resuming after the last round: come back at once. */
	if (w->resumed)
		next = fb_mono_ms();
	return next;
}
