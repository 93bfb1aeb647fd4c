/* SPDX-License-Identifier: Apache-2.0 */
/* POST/GET/DELETE session (login, who am I, logout) and the first-run
 * setup (GET/POST setup), which creates the first administrator with the
 * one-time code from the journal. */
#include "web-internal.h"
#include "config_edit.h"
#include "log.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t now_s(void)
{
	return fb_mono_ms() / 1000;
}

static cJSON *session_doc(const struct web *w, const struct web_session *s)
{
	cJSON *doc = cJSON_CreateObject();
	int64_t left = web_session_expires_s(&w->sessions, s) - now_s();

	cJSON_AddStringToObject(doc, "csrf", s->csrf);
	cJSON_AddStringToObject(doc, "user", s->user);
	cJSON_AddStringToObject(doc, "role", web_session_role_name(s->role));
	cJSON_AddNumberToObject(doc, "expires", (double)(fb_now_ms() / 1000 + left));
	return doc;
}

static int start_session(struct web_req *q, const char *user, enum web_role role,
			 unsigned status)
{
	struct web_session *s = web_session_new(&q->w->sessions, user, role, now_s());

	if (!s)
		return web_http_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "no random bytes");
	snprintf(q->set_cookie, sizeof(q->set_cookie),
		 "fb_session=%s; Path=/; HttpOnly; SameSite=Strict%s", s->id,
		 q->tls ? "; Secure" : "");
	return web_http_json(q, status, session_doc(q->w, s));
}

/* Refused while either the address or the name is backing off. */
static int backed_off(struct web_req *q, const char *ipkey, const char *userkey)
{
	int64_t now = fb_mono_ms();
	int64_t wait = web_backoff_wait_ms(&q->w->backoff, ipkey, now);
	int64_t wu = userkey ? web_backoff_wait_ms(&q->w->backoff, userkey, now) : 0;
	struct MHD_Response *r;
	char body[128], secs[24];
	int rc;

	if (wu > wait)
		wait = wu;
	if (!wait)
		return -1;
	snprintf(secs, sizeof(secs), "%lld", (long long)(wait + 999) / 1000);
	snprintf(body, sizeof(body), "{\"error\":\"too many failed attempts: try again in "
		 "%s s\"}", secs);
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	web_http_headers(r, true);
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Retry-After", secs);
	rc = MHD_queue_response(q->conn, MHD_HTTP_TOO_MANY_REQUESTS, r);
	MHD_destroy_response(r);
	return rc;
}

static const char *str(const cJSON *doc, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int login(struct web_req *q)
{
	struct web *w = q->w;
	char ipkey[96], userkey[96];
	const struct web_account *acc;
	const char *user, *password;
	int rc;
	cJSON *doc = web_http_body(q, &rc);

	if (!doc)
		return rc;
	user = str(doc, "user");
	password = str(doc, "password");
	if (!user || !password || !user[0] || strlen(user) >= WEB_USER_MAX ||
	    strlen(password) > 1024) {
		cJSON_Delete(doc);
		return web_http_error(q, MHD_HTTP_BAD_REQUEST, "expected {\"user\": ..., "
				      "\"password\": ...}");
	}
	snprintf(ipkey, sizeof(ipkey), "ip:%s", q->peer);
	snprintf(userkey, sizeof(userkey), "user:%s", user);
	rc = backed_off(q, ipkey, userkey);
	if (rc >= 0) {
		fb_warn("web: login of \"%s\" from %s refused: too many failed attempts",
			user, q->peer);
		cJSON_Delete(doc);
		return rc;
	}
	if (!web_auth_verify(&w->auth, user, password)) {
		web_backoff_fail(&w->backoff, ipkey, fb_mono_ms());
		web_backoff_fail(&w->backoff, userkey, fb_mono_ms());
		fb_warn("web: failed login of \"%s\" from %s", user, q->peer);
		cJSON_Delete(doc);
		return web_http_error(q, MHD_HTTP_UNAUTHORIZED, "wrong user name or password");
	}
	web_backoff_clear(&w->backoff, ipkey);
	web_backoff_clear(&w->backoff, userkey);
	acc = web_auth_find(&w->auth, user);
	fb_info("web: %s logged in from %s (%s)", user, q->peer, web_session_role_name(acc->role));
	rc = start_session(q, user, acc->role, MHD_HTTP_OK);
	cJSON_Delete(doc);
	return rc;
}

int web_api_session(struct web_req *q)
{
	if (!strcmp(q->method, "POST"))
		return login(q);
	if (!strcmp(q->method, "GET")) {
		cJSON *doc;

		if (q->session)
			return web_http_json(q, MHD_HTTP_OK, session_doc(q->w, q->session));
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "error", "not logged in");
		cJSON_AddBoolToObject(doc, "setup_required", !web_auth_has_admin(&q->w->auth));
		return web_http_json(q, MHD_HTTP_UNAUTHORIZED, doc);
	}
	if (!strcmp(q->method, "DELETE")) {
		if (!q->session)
			return web_http_error(q, MHD_HTTP_UNAUTHORIZED, "not logged in");
		fb_info("web: %s logged out from %s", q->session->user, q->peer);
		web_session_drop(q->session);
		q->session = NULL;
		snprintf(q->set_cookie, sizeof(q->set_cookie),
			 "fb_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
			 q->tls ? "; Secure" : "");
		return web_http_json(q, MHD_HTTP_NO_CONTENT, NULL);
	}
	return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET, POST or DELETE");
}

int web_api_setup(struct web_req *q)
{
	struct web *w = q->w;
	struct fb_edit_change ch[3];
	const char *code, *user, *password;
	struct fb_edit *e;
	struct fb_diag d;
	enum fb_edit_rc erc;
	char ipkey[96];
	int rc;
	cJSON *doc;

	if (!strcmp(q->method, "GET")) {
		doc = cJSON_CreateObject();
		cJSON_AddBoolToObject(doc, "required", !web_auth_has_admin(&w->auth));
		return web_http_json(q, MHD_HTTP_OK, doc);
	}
	if (strcmp(q->method, "POST"))
		return web_http_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET or POST");
	if (web_auth_has_admin(&w->auth))
		return web_http_error(q, MHD_HTTP_CONFLICT, "an administrator exists already: "
				      "log in");
	snprintf(ipkey, sizeof(ipkey), "ip:%s", q->peer);
	rc = backed_off(q, ipkey, NULL);
	if (rc >= 0)
		return rc;
	if (!(doc = web_http_body(q, &rc)))
		return rc;
	code = str(doc, "code");
	user = str(doc, "user");
	password = str(doc, "password");
	if (!code || !user || !password || !user[0] || !password[0]) {
		cJSON_Delete(doc);
		return web_http_error(q, MHD_HTTP_BAD_REQUEST, "expected {\"code\": ..., "
				      "\"user\": ..., \"password\": ...}");
	}
	if (!w->auth.setup_code[0] || !web_session_token_equal(code, w->auth.setup_code)) {
		web_backoff_fail(&w->backoff, ipkey, fb_mono_ms());
		fb_warn("web: wrong setup code from %s", q->peer);
		cJSON_Delete(doc);
		return web_http_error(q, MHD_HTTP_FORBIDDEN, "wrong setup code (it is in the "
				      "journal, or run: fieldbridgectl web setup-code)");
	}
	fb_diag_init(&d);
	e = fb_edit_open(w->config_path, &d);
	if (e && !fb_edit_users_path(e)) {
		fb_edit_close(e);
		fb_diag_free(&d);
		cJSON_Delete(doc);
		return web_http_error(q, MHD_HTTP_CONFLICT, "gateway.users_file is not set in "
				      "%s: set it there first", w->config_path);
	}
	ch[0] = (struct fb_edit_change){ "role", "admin" };
	ch[1] = (struct fb_edit_change){ "rights", "*:write" };
	ch[2] = (struct fb_edit_change){ "password", password };
	erc = e ? fb_edit_set(e, FB_EDIT_USER, NULL, user,
			      !fb_edit_find(e, FB_EDIT_USER, NULL, user), ch, 3, &d)
		: FB_EDIT_FAILED;
	fb_edit_close(e);
	if (erc != FB_EDIT_OK) {
		rc = web_http_diag(q, web_http_edit_status(erc), "the administrator was not "
				   "created", &d);
	} else {
		fb_log(FB_LOG_NOTICE, "web: first administrator \"%s\" created from %s", user,
		       q->peer);
		web_backoff_clear(&w->backoff, ipkey);
		web_auth_refresh(&w->auth, NULL, NULL);
		rc = start_session(q, user, WEB_ROLE_ADMIN, MHD_HTTP_CREATED);
	}
	fb_diag_free(&d);
	cJSON_Delete(doc);
	return rc;
}
