/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-web's logic without sockets: sessions, the CSRF token and
 * Origin checks, login backoff, routing, SSE coalescing and buffers, the
 * schema the API serves, and the web section of the loader. */
#include "testlib.h"
#include "config.h"
#include "config_edit.h"
#include "web-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_session_ids_are_random_and_tokens_differ(void)
{
	struct web_sessions t;
	struct web_session *a, *b;

	web_sessions_init(&t, 60);
	a = web_session_new(&t, "alice", WEB_ROLE_ADMIN, 100);
	b = web_session_new(&t, "bob", WEB_ROLE_VIEWER, 100);
	CHECK(a && b && a != b);
	CHECK_EQ_INT(strlen(a->id), WEB_TOKEN_HEX);
	CHECK_EQ_INT(strlen(a->csrf), WEB_TOKEN_HEX);
	CHECK(strcmp(a->id, b->id) != 0);
	CHECK(strcmp(a->id, a->csrf) != 0);
	CHECK(web_session_find(&t, a->id, 101) == a);
	CHECK(web_session_find(&t, "0000", 101) == NULL);
	CHECK(web_session_find(&t, "", 101) == NULL);
}

static void test_session_expires_when_idle_and_after_max_age(void)
{
	struct web_sessions t;
	struct web_session *s;
	char id[WEB_TOKEN_HEX + 1];

	web_sessions_init(&t, 60);
	s = web_session_new(&t, "alice", WEB_ROLE_ADMIN, 1000);
	snprintf(id, sizeof(id), "%s", s->id);
	CHECK(web_session_find(&t, id, 1059) == s);  /* use refreshes idle time */
	CHECK(web_session_find(&t, id, 1118) == s);
	CHECK(web_session_find(&t, id, 1178) == NULL); /* 60 s idle */
	CHECK(web_session_find(&t, id, 1179) == NULL); /* dropped for good */

	s = web_session_new(&t, "alice", WEB_ROLE_ADMIN, 0);
	snprintf(id, sizeof(id), "%s", s->id);
	for (int64_t now = 50; now < WEB_SESSION_MAX_S; now += 50)
		web_session_find(&t, id, now);
	CHECK(web_session_find(&t, id, WEB_SESSION_MAX_S) == NULL); /* absolute */
}

static void test_session_drop_user_and_full_table_evicts_oldest(void)
{
	struct web_sessions t;
	struct web_session *first, *s;
	char id[WEB_TOKEN_HEX + 1];

	web_sessions_init(&t, 1000);
	first = web_session_new(&t, "old", WEB_ROLE_VIEWER, 1);
	snprintf(id, sizeof(id), "%s", first->id);
	for (int i = 0; i < WEB_SESSIONS_MAX; i++)
		web_session_new(&t, "u", WEB_ROLE_VIEWER, 10 + i);
	CHECK(web_session_find(&t, id, 100) == NULL);
	s = web_session_new(&t, "carol", WEB_ROLE_OPERATOR, 200);
	snprintf(id, sizeof(id), "%s", s->id);
	web_sessions_drop_user(&t, "carol");
	CHECK(web_session_find(&t, id, 201) == NULL);
}

static void test_csrf_token_must_match_exactly(void)
{
	struct web_sessions t;
	struct web_session *s;
	char wrong[WEB_TOKEN_HEX + 1];

	web_sessions_init(&t, 60);
	s = web_session_new(&t, "alice", WEB_ROLE_ADMIN, 1);
	CHECK(web_csrf_token_ok(s, s->csrf));
	CHECK(!web_csrf_token_ok(s, NULL));
	CHECK(!web_csrf_token_ok(s, ""));
	CHECK(!web_csrf_token_ok(NULL, s->csrf));
	snprintf(wrong, sizeof(wrong), "%s", s->csrf);
	wrong[5] ^= 1;
	CHECK(!web_csrf_token_ok(s, wrong));
	wrong[WEB_TOKEN_HEX - 1] = '\0';
	CHECK(!web_csrf_token_ok(s, wrong)); /* a prefix is not enough */
	CHECK(!web_csrf_token_ok(s, s->id));
}

static void test_origin_must_be_this_site(void)
{
	CHECK(web_csrf_origin_ok("https://gw.local:8443", "gw.local:8443", true));
	CHECK(web_csrf_origin_ok("https://GW.local:8443", "gw.local:8443", true));
	CHECK(web_csrf_origin_ok("http://127.0.0.1:8080", "127.0.0.1:8080", false));
	CHECK(!web_csrf_origin_ok("http://gw.local:8443", "gw.local:8443", true)); /* scheme */
	CHECK(!web_csrf_origin_ok("https://evil.example", "gw.local:8443", true));
	CHECK(!web_csrf_origin_ok("https://gw.local:8444", "gw.local:8443", true));
	CHECK(!web_csrf_origin_ok("https://gw.local:8443.evil.example", "gw.local:8443", true));
	CHECK(!web_csrf_origin_ok("https://gw.local", "gw.local:8443", true));
	CHECK(!web_csrf_origin_ok("null", "gw.local:8443", true));
	CHECK(!web_csrf_origin_ok(NULL, "gw.local:8443", true));
	CHECK(!web_csrf_origin_ok("https://gw.local:8443", NULL, true));
	CHECK(!web_csrf_origin_ok("https://", "", true));
}

static void test_cookie_parsing(void)
{
	char out[80];

	CHECK(web_csrf_cookie_session("fb_session=abc", out, sizeof(out)) && !strcmp(out, "abc"));
	CHECK(web_csrf_cookie_session("x=1; fb_session=abc; y=2", out, sizeof(out)) &&
	      !strcmp(out, "abc"));
	CHECK(!web_csrf_cookie_session("xfb_session=abc", out, sizeof(out)));
	CHECK(!web_csrf_cookie_session("fb_session=", out, sizeof(out)));
	CHECK(!web_csrf_cookie_session("", out, sizeof(out)));
	{
		char longv[200];

		memset(longv, 'a', sizeof(longv));
		memcpy(longv, "fb_session=", 11);
		longv[sizeof(longv) - 1] = '\0';
		CHECK(!web_csrf_cookie_session(longv, out, sizeof(out)));
	}
}

static void test_backoff_doubles_to_five_minutes_and_clears(void)
{
	struct web_backoff *b = calloc(1, sizeof(*b));
	int64_t now = 1000000;

	web_backoff_init(b);
	CHECK_EQ_INT(web_backoff_wait_ms(b, "ip:1.2.3.4", now), 0);
	web_backoff_fail(b, "ip:1.2.3.4", now);
	CHECK_EQ_INT(web_backoff_wait_ms(b, "ip:1.2.3.4", now), 1000);
	CHECK_EQ_INT(web_backoff_wait_ms(b, "ip:1.2.3.5", now), 0); /* per key */
	web_backoff_fail(b, "ip:1.2.3.4", now);
	CHECK_EQ_INT(web_backoff_wait_ms(b, "ip:1.2.3.4", now), 2000);
	web_backoff_fail(b, "ip:1.2.3.4", now);
	CHECK_EQ_INT(web_backoff_wait_ms(b, "ip:1.2.3.4", now), 4000);
	CHECK_EQ_INT(web_backoff_wait_ms(b, "ip:1.2.3.4", now + 4000), 0);
	for (int i = 0; i < 20; i++)
		web_backoff_fail(b, "ip:1.2.3.4", now);
	CHECK_EQ_INT(web_backoff_wait_ms(b, "ip:1.2.3.4", now), WEB_BACKOFF_MAX_MS);
	web_backoff_clear(b, "ip:1.2.3.4");
	CHECK_EQ_INT(web_backoff_wait_ms(b, "ip:1.2.3.4", now), 0);
	/* A flood of names reuses slots: memory stays fixed, and the newest
	 * failure is always remembered. */
	for (int i = 0; i < 3 * WEB_BACKOFF_SLOTS; i++) {
		char key[32];

		snprintf(key, sizeof(key), "user:u%d", i);
		web_backoff_fail(b, key, now + i);
	}
	CHECK(web_backoff_wait_ms(b, "user:u767", now + 767) > 0);
	free(b);
}

static void test_router_decodes_and_refuses_traversal(void)
{
	struct web_match m;

	web_router_match("connections/ha", &m);
	CHECK_EQ_INT(m.route, WEB_R_CONNECTION);
	CHECK(!strcmp(m.arg[0], "ha"));
	web_router_match("buses/rs485/devices/sdm%5F3", &m);
	CHECK_EQ_INT(m.route, WEB_R_DEVICE);
	CHECK(!strcmp(m.arg[0], "rs485") && !strcmp(m.arg[1], "sdm_3"));
	web_router_match("points/meters/relays/relay_1", &m);
	CHECK_EQ_INT(m.route, WEB_R_POINT);
	CHECK(!strcmp(m.arg[2], "relay_1"));
	web_router_match("config/validate", &m);
	CHECK_EQ_INT(m.route, WEB_R_CONFIG_VALIDATE);
	web_router_match("connections/ha/test", &m);
	CHECK_EQ_INT(m.route, WEB_R_CONNECTION_TEST);
	web_router_match("connections/..", &m);
	CHECK_EQ_INT(m.route, WEB_R_NOT_FOUND);
	web_router_match("connections/%2e%2e", &m);
	CHECK_EQ_INT(m.route, WEB_R_NOT_FOUND);
	web_router_match("connections/a%2Fb", &m);
	CHECK_EQ_INT(m.route, WEB_R_NOT_FOUND);
	web_router_match("connections/a%00b", &m);
	CHECK_EQ_INT(m.route, WEB_R_NOT_FOUND);
	web_router_match("connections/a%zz", &m);
	CHECK_EQ_INT(m.route, WEB_R_NOT_FOUND);
	web_router_match("nothing", &m);
	CHECK_EQ_INT(m.route, WEB_R_NOT_FOUND);
}

/* Every route the API documents, with its arguments, and near misses. */
static void test_router_knows_every_route(void)
{
	static const struct {
		const char *path;
		enum web_route route;
		const char *arg0, *arg1, *arg2;
	} cases[] = {
		{ "session", WEB_R_SESSION, "", "", "" },
		{ "setup", WEB_R_SETUP, "", "", "" },
		{ "status", WEB_R_STATUS, "", "", "" },
		{ "schema", WEB_R_SCHEMA, "", "", "" },
		{ "config", WEB_R_CONFIG, "", "", "" },
		{ "connections", WEB_R_CONNECTIONS, "", "", "" },
		{ "buses", WEB_R_BUSES, "", "", "" },
		{ "users", WEB_R_USERS, "", "", "" },
		{ "events", WEB_R_EVENTS, "", "", "" },
		{ "changes", WEB_R_CHANGES, "", "", "" },
		{ "apply", WEB_R_APPLY, "", "", "" },
		{ "logs", WEB_R_LOGS, "", "", "" },
		{ "definitions", WEB_R_DEFINITIONS, "", "", "" },
		{ "serial-ports", WEB_R_SERIAL_PORTS, "", "", "" },
		{ "gpio-chips", WEB_R_GPIO_CHIPS, "", "", "" },
		{ "backup", WEB_R_BACKUP, "", "", "" },
		{ "restore", WEB_R_RESTORE, "", "", "" },
		{ "snapshots", WEB_R_SNAPSHOTS, "", "", "" },
		{ "gateway", WEB_R_GATEWAY, "", "", "" },
		{ "mbservers", WEB_R_MBSERVERS, "", "", "" },
		{ "mbservers/evcc", WEB_R_MBSERVER, "evcc", "", "" },
		{ "apply/0123456789abcdef/confirm", WEB_R_APPLY_CONFIRM, "0123456789abcdef", "", "" },
		{ "apply/result", WEB_R_APPLY_RESULT, "", "", "" },
		{ "buses/rs485", WEB_R_BUS, "rs485", "", "" },
		{ "users/ha", WEB_R_USER, "ha", "", "" },
		{ "snapshots/12/restore", WEB_R_SNAPSHOT_RESTORE, "12", "", "" },
		{ "buses/rs485/scan", WEB_R_BUS_SCAN, "rs485", "", "" },
		{ "buses/rs485/devices", WEB_R_DEVICES, "rs485", "", "" },
		{ "buses/rs485/devices/m1/discovery", WEB_R_DISCOVERY, "rs485", "m1", "" },
		{ "points/b/d/p", WEB_R_POINT, "b", "d", "p" },
		/* near misses */
		{ "mbservers/evcc/test", WEB_R_NOT_FOUND, "", "", "" },
		{ "apply/x/cancel", WEB_R_NOT_FOUND, "", "", "" },
		{ "gateway/name", WEB_R_NOT_FOUND, "", "", "" },
		{ "snapshots/12", WEB_R_NOT_FOUND, "", "", "" },
		{ "buses/rs485/devices/m1/discovery/x", WEB_R_NOT_FOUND, "", "", "" },
		{ "points/b/d", WEB_R_NOT_FOUND, "", "", "" },
		{ "Status", WEB_R_NOT_FOUND, "", "", "" },
		{ "mbservers/%2e%2e", WEB_R_NOT_FOUND, "", "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct web_match m;

		web_router_match(cases[i].path, &m);
		if (m.route != cases[i].route)
			fprintf(stderr, "route of %s: %d, expected %d\n", cases[i].path,
				(int)m.route, (int)cases[i].route);
		CHECK_EQ_INT(m.route, cases[i].route);
		if (m.route == WEB_R_NOT_FOUND)
			continue;
		CHECK(!strcmp(m.arg[0], cases[i].arg0));
		CHECK(!strcmp(m.arg[1], cases[i].arg1));
		CHECK(!strcmp(m.arg[2], cases[i].arg2));
	}
}

struct taken {
	size_t idx[16];
	size_t n;
};

static void take_cb(void *ctx, size_t i)
{
	struct taken *t = ctx;

	if (t->n < 16)
		t->idx[t->n++] = i;
}

static void test_sse_coalesces_changes_to_one_per_point(void)
{
	struct web_dirty d;
	struct taken t = { { 0 }, 0 };

	CHECK_EQ_INT(web_sse_queue_dirty_init(&d, 100), 0);
	for (int i = 0; i < 10; i++)
		web_sse_queue_mark(&d, 7);       /* ten changes of one point */
	web_sse_queue_mark(&d, 3);
	web_sse_queue_mark(&d, 99);
	web_sse_queue_mark(&d, 100);             /* out of range: ignored */
	CHECK_EQ_INT(d.count, 3);
	web_sse_queue_take(&d, take_cb, &t);
	CHECK_EQ_INT(t.n, 3);
	CHECK(t.idx[0] == 3 && t.idx[1] == 7 && t.idx[2] == 99);
	CHECK_EQ_INT(d.count, 0);
	t.n = 0;
	web_sse_queue_take(&d, take_cb, &t);
	CHECK_EQ_INT(t.n, 0);                /* nothing twice */
	web_sse_queue_dirty_free(&d);
}

/* Everything queued, read back in max-byte pieces. */
static size_t drain(struct web_sse_buf *b, char *out, size_t cap, size_t max)
{
	size_t got = 0, n;

	while ((n = web_sse_queue_take_out(b, out + got, cap - got < max ? cap - got : max)))
		got += n;
	out[got] = '\0';
	return got;
}

static void test_sse_buffer_is_bounded(void)
{
	struct web_sse_buf b = { 0 };
	char data[1024], out[64];
	int i;

	memset(data, 'x', sizeof(data) - 1);
	data[sizeof(data) - 1] = '\0';
	CHECK(web_sse_queue_append(&b, "update", "{\"a\":1}"));
	CHECK_EQ_INT(drain(&b, out, sizeof(out) - 1, 5), 29);
	CHECK(!strcmp(out, "event: update\ndata: {\"a\":1}\n\n"));
	for (i = 0; i < 1000 && web_sse_queue_append(&b, "update", data); i++)
		;
	CHECK(i < 1000);
	CHECK(b.overflow);
	CHECK_EQ_INT(b.pending, 0);          /* backlog dropped, not grown */
	CHECK_EQ_INT(b.count, 0);
	CHECK(web_sse_queue_append(&b, "snapshot", "{}"));
	CHECK(b.pending <= WEB_SSE_BUF_MAX);
	web_sse_queue_buf_free(&b);
}

/* A snapshot larger than WEB_SSE_BUF_MAX (a gateway of 1,000 points) goes
 * to a client that reads; only a backlog beyond it is dropped. */
static void test_sse_large_snapshot_fits_and_the_backlog_stays_bounded(void)
{
	struct web_sse_buf b = { 0 };
	size_t big = 3 * WEB_SSE_BUF_MAX;
	char *data = malloc(big + 1), *out = malloc(big + 64);
	size_t n = 0;
	int i;

	memset(data, 'y', big);
	data[big] = '\0';
	CHECK(web_sse_queue_append(&b, "snapshot", data));
	CHECK(!b.overflow);
	CHECK(b.pending > big);
	while (b.pending > 10)               /* the client read nearly all of it */
		n += web_sse_queue_take_out(&b, out, b.pending - 10 < 4096 ? b.pending - 10 : 4096);
	CHECK_EQ_INT(n, big + 24 - 10);
	CHECK(web_sse_queue_append(&b, "update", data));
	CHECK_EQ_INT(b.pending, 10 + big + 22);
	for (i = 0; i < 10 && web_sse_queue_append(&b, "update", data); i++)
		;
	CHECK(b.overflow);                   /* a client that stopped reading */
	CHECK(i < 2);
	CHECK_EQ_INT(b.pending, 0);
	web_sse_queue_buf_free(&b);
	free(out);
	free(data);
}

/* Once a client has read everything, its queue holds no memory: the
 * snapshot's size is not kept per client for the stream's life. */
static void test_sse_drained_buffer_is_freed(void)
{
	struct web_sse_buf b = { 0 };
	size_t big = 2 * WEB_SSE_BUF_MAX, got = 0;
	char *data = malloc(big + 1), *out = malloc(4096);

	memset(data, 'z', big);
	data[big] = '\0';
	CHECK(web_sse_queue_append(&b, "snapshot", data));
	while (b.pending) {
		size_t n = web_sse_queue_take_out(&b, out, 4096);

		CHECK(n > 0 && n <= 4096);
		if (got == 0)
			CHECK(!memcmp(out, "event: snapshot\ndata: zzz", 25));
		got += n;
	}
	CHECK_EQ_INT(got, big + 24);  /* "event: snapshot\ndata: " + data + "\n\n" */
	CHECK_EQ_INT(b.count, 0);     /* its only reference dropped: freed (asan) */
	CHECK(web_sse_queue_append(&b, "update", "{}"));  /* and it is usable again */
	CHECK_EQ_INT(web_sse_queue_take_out(&b, out, 4096), 24);
	CHECK(!memcmp(out, "event: update\ndata: {}\n\n", 24));
	CHECK_EQ_INT(web_sse_queue_take_out(&b, out, 4096), 0);
	web_sse_queue_buf_free(&b);
	free(out);
	free(data);
}

/* Ten streams of one user: one update chunk queued by reference to all of
 * them, each reading at its own pace, each getting the same bytes once. */
static void test_sse_many_clients_share_one_copy(void)
{
	enum { N = 10 };
	struct web_sse_buf b[N];
	struct web_sse_chunk *up = web_sse_queue_chunk_new("update", "{\"points\":[1,2,3]}");
	struct web_sse_chunk *beat = web_sse_queue_chunk_new(NULL, ": heartbeat\n\n");
	const char *want = "event: update\ndata: {\"points\":[1,2,3]}\n\n: heartbeat\n\n";
	char out[256];

	memset(b, 0, sizeof(b));
	CHECK(up && beat);
	for (int i = 0; i < N; i++)
		CHECK(web_sse_queue_push(&b[i], up) && web_sse_queue_push(&b[i], beat));
	web_sse_queue_chunk_unref(up);    /* the flush's own references: the */
	web_sse_queue_chunk_unref(beat);  /* queues keep the chunks alive */
	for (int i = 0; i < N; i++) {
		CHECK_EQ_INT(b[i].pending, strlen(want));
		CHECK_EQ_INT(drain(&b[i], out, sizeof(out) - 1, (size_t)i + 1), strlen(want));
		CHECK(!strcmp(out, want));
		CHECK_EQ_INT(b[i].count, 0);
	}
	for (int i = 0; i < N; i++)
		web_sse_queue_buf_free(&b[i]);
}

/* A client that stops reading while the others go on: its queue overflows
 * (the next flush sends it a snapshot), the others are not affected, and
 * what it held is released.  Also bounded by the number of events. */
static void test_sse_slow_client_is_bounded_and_does_not_hold_the_others(void)
{
	struct web_sse_buf fast = { 0 }, slow = { 0 };
	char data[4096], out[8192];
	size_t sent_fast = 0;
	int i, refused = -1;

	memset(data, 'u', sizeof(data) - 1);
	data[sizeof(data) - 1] = '\0';
	for (i = 0; i < 200; i++) {
		struct web_sse_chunk *ch = web_sse_queue_chunk_new("update", data);

		CHECK(web_sse_queue_push(&fast, ch));
		if (!web_sse_queue_push(&slow, ch) && refused < 0)
			refused = i;
		web_sse_queue_chunk_unref(ch);
		CHECK(slow.pending <= WEB_SSE_BUF_MAX + sizeof(data) + 32);
		CHECK(slow.count <= WEB_SSE_QUEUE_LEN);
		sent_fast += drain(&fast, out, sizeof(out) - 1, 1500);
	}
	CHECK(refused > 0 && refused <= WEB_SSE_BUF_MAX / (int)sizeof(data) + 1);
	CHECK(slow.overflow);
	CHECK_EQ_INT(sent_fast, 200 * (sizeof(data) - 1 + 22));
	web_sse_queue_buf_free(&slow);
	/* small events: the ring's length is the bound */
	for (i = 0; i < 2 * WEB_SSE_QUEUE_LEN && web_sse_queue_append_raw(&slow, ": x\n\n"); i++)
		;
	CHECK_EQ_INT(i, WEB_SSE_QUEUE_LEN);
	CHECK(slow.overflow);
	CHECK_EQ_INT(slow.count, 0);
	web_sse_queue_buf_free(&fast);
	web_sse_queue_buf_free(&slow);
}

/* A client that goes away halfway through an event: its queue is freed
 * with the event half sent, and another stream still gets all of it (the
 * shared chunk outlives the reference dropped; asan checks the rest). */
static void test_sse_client_gone_mid_message_leaves_the_shared_event_intact(void)
{
	struct web_sse_buf gone = { 0 }, stays = { 0 };
	struct web_sse_chunk *ch = web_sse_queue_chunk_new("update", "{\"v\":\"0123456789\"}");
	const char *want = "event: update\ndata: {\"v\":\"0123456789\"}\n\n";
	char out[128];

	CHECK(web_sse_queue_push(&gone, ch) && web_sse_queue_push(&stays, ch));
	web_sse_queue_chunk_unref(ch);
	CHECK_EQ_INT(web_sse_queue_take_out(&gone, out, 10), 10);
	CHECK(!memcmp(out, want, 10));
	CHECK_EQ_INT(gone.off, 10);
	web_sse_queue_buf_free(&gone);    /* the connection closed here */
	CHECK_EQ_INT(gone.count, 0);
	CHECK_EQ_INT(drain(&stays, out, sizeof(out) - 1, 7), strlen(want));
	CHECK(!strcmp(out, want));
	web_sse_queue_buf_free(&stays);
}

/* Only the listener's own fields make a listener change. */
static void test_listener_diff_names_only_listener_fields(void)
{
	char *one[] = { "127.0.0.1" }, *two[] = { "127.0.0.1", "::1" };
	struct fb_web_conf a = { .listen = one, .nlisten = 1, .port = 8443,
				 .tls = FB_WEB_TLS_AUTO, .session_idle_s = 1800 };
	struct fb_web_conf b = a;
	cJSON *d = web_listen_conf_diff(&a, &b), *f;

	CHECK_EQ_INT(cJSON_GetArraySize(d), 0);
	cJSON_Delete(d);
	b.session_idle_s = 60;                 /* not the listener */
	d = web_listen_conf_diff(&a, &b);
	CHECK_EQ_INT(cJSON_GetArraySize(d), 0);
	cJSON_Delete(d);
	b.listen = two;
	b.nlisten = 2;
	b.port = 9443;
	b.tls = FB_WEB_TLS_OFF;
	d = web_listen_conf_diff(&a, &b);
	CHECK_EQ_INT(cJSON_GetArraySize(d), 3);
	f = cJSON_GetArrayItem(d, 0);
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "field")), "listen"));
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "after")), "127.0.0.1, ::1"));
	f = cJSON_GetArrayItem(d, 1);
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "before")), "8443"));
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "after")), "9443"));
	f = cJSON_GetArrayItem(d, 2);
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "after")), "off"));
	cJSON_Delete(d);
	b = a;
	b.nlisten = 0;                         /* every address */
	d = web_listen_conf_diff(&a, &b);
	f = cJSON_GetArrayItem(d, 0);
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "after")), "every address"));
	cJSON_Delete(d);
}

static void test_schema_export_has_every_connection_field_with_enums(void)
{
	cJSON *s = fb_edit_schema(FB_EDIT_CONN);
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	static const char *const seed[] = {
		"user", "connection_mode", "broker", "port", "auth_user", "auth_password", "ssl",
		"ssl_server_crt", "ssl_client_crt", "ssl_client_key", "ssl_client_key_password",
		"hostname_verification", "qos", "retain", "timeout_s", "keep_alive_s",
		"max_inflight", "discovery_prefix",
	};
	const cJSON *p = props ? props->child : NULL;
	const cJSON *t, *pw;

	CHECK(props != NULL);
	for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++, p = p ? p->next : NULL)
		CHECK(p && !strcmp(p->string, seed[i])); /* the seed's order */
	t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(props, "timeout_s"),
					     "enum");
	CHECK(cJSON_IsArray(t) && cJSON_GetArraySize(t) == 14);
	pw = cJSON_GetObjectItemCaseSensitive(props, "auth_password");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pw, "writeOnly")));
	cJSON_Delete(s);
}

/* The web section through the real loader, from a temp main file. */
static size_t load_errors(const char *web_json, struct fb_config **out, char *first,
			  size_t flen)
{
	char dir[] = "/tmp/fbwebtestXXXXXX", path[256];
	struct fb_diag d;
	struct fb_config *c;
	FILE *f;
	size_t errors;

	if (!mkdtemp(dir))
		return 999;
	snprintf(path, sizeof(path), "%s/fieldbridge.json", dir);
	f = fopen(path, "w");
	fprintf(f, "{\"buses\":[{\"name\":\"m\",\"transport\":\"tcp\",\"host\":\"127.0.0.1\","
		"\"devices\":[]}],\"connections\":[{\"name\":\"ha\",\"user\":\"u\","
		"\"broker\":\"127.0.0.1\"}]%s%s}", web_json ? ",\"web\":" : "",
		web_json ? web_json : "");
	fclose(f);
	fb_diag_init(&d);
	c = fb_config_load(path, &d);
	errors = d.errors;
	if (first) {
		first[0] = '\0';
		for (size_t i = 0; i < d.count; i++)
			if (d.entries[i].severity == FB_SEV_ERROR && !first[0])
				snprintf(first, flen, "%s", d.entries[i].message);
	}
	fb_diag_free(&d);
	unlink(path);
	rmdir(dir);
	if (out)
		*out = c;
	else
		fb_config_free(c);
	return errors;
}

static void test_web_section_defaults_and_checks(void)
{
	struct fb_config *c = NULL;
	char msg[512];

	CHECK_EQ_INT(load_errors(NULL, &c, NULL, 0), 0);
	CHECK(c && c->web.port == 8443 && c->web.tls == FB_WEB_TLS_AUTO && c->web.nlisten == 0 &&
	      c->web.session_idle_s == 1800);
	fb_config_free(c);
	CHECK_EQ_INT(load_errors("{\"listen\":[\"127.0.0.1\",\"::1\"],\"tls\":\"off\","
				 "\"port\":8080}", &c, NULL, 0), 0);
	CHECK(c && c->web.nlisten == 2 && c->web.port == 8080 && c->web.tls == FB_WEB_TLS_OFF);
	fb_config_free(c);
	CHECK_EQ_INT(load_errors("{\"tls\":\"off\"}", NULL, msg, sizeof(msg)), 1);
	CHECK_STR_CONTAINS(msg, "web.tls: \"off\" is allowed only when every listen address "
			   "is loopback");
	CHECK_EQ_INT(load_errors("{\"listen\":[\"127.0.0.1\",\"192.168.1.2\"],\"tls\":\"off\"}",
				 NULL, NULL, 0), 1);
	CHECK_EQ_INT(load_errors("{\"tls\":\"on\"}", NULL, msg, sizeof(msg)), 1);
	CHECK_STR_CONTAINS(msg, "needs tls_cert and tls_key");
	CHECK_EQ_INT(load_errors("{\"listen\":[\"gw.local\"]}", NULL, msg, sizeof(msg)), 1);
	CHECK_STR_CONTAINS(msg, "web.listen[0]: expected an IPv4 or IPv6 address, got "
			   "\"gw.local\"");
	CHECK_EQ_INT(load_errors("{\"port\":0}", NULL, NULL, 0), 1);
	CHECK_EQ_INT(load_errors("{\"tls\":\"maybe\"}", NULL, NULL, 0), 1);
	CHECK_EQ_INT(load_errors("{\"trusted_proxies\":[\"10.0.0.1\",\"x\"]}", NULL, NULL, 0), 1);
	CHECK_EQ_INT(load_errors("{\"session_idle_s\":1}", NULL, NULL, 0), 1);
	CHECK_EQ_INT(load_errors("{\"tls_cert\":\"/nonexistent.pem\"}", NULL, msg,
				 sizeof(msg)) >= 1, 1);
	CHECK(fb_web_addr_loopback("127.0.0.2") && fb_web_addr_loopback("::1") &&
	      !fb_web_addr_loopback("10.0.0.1") && !fb_web_addr_loopback("::"));
}

int main(void)
{
	RUN_TEST(test_session_ids_are_random_and_tokens_differ);
	RUN_TEST(test_session_expires_when_idle_and_after_max_age);
	RUN_TEST(test_session_drop_user_and_full_table_evicts_oldest);
	RUN_TEST(test_csrf_token_must_match_exactly);
	RUN_TEST(test_origin_must_be_this_site);
	RUN_TEST(test_cookie_parsing);
	RUN_TEST(test_backoff_doubles_to_five_minutes_and_clears);
	RUN_TEST(test_router_decodes_and_refuses_traversal);
	RUN_TEST(test_router_knows_every_route);
	RUN_TEST(test_sse_coalesces_changes_to_one_per_point);
	RUN_TEST(test_sse_buffer_is_bounded);
	RUN_TEST(test_sse_large_snapshot_fits_and_the_backlog_stays_bounded);
	RUN_TEST(test_sse_drained_buffer_is_freed);
	RUN_TEST(test_sse_many_clients_share_one_copy);
	RUN_TEST(test_sse_slow_client_is_bounded_and_does_not_hold_the_others);
	RUN_TEST(test_sse_client_gone_mid_message_leaves_the_shared_event_intact);
	RUN_TEST(test_listener_diff_names_only_listener_fields);
	RUN_TEST(test_schema_export_has_every_connection_field_with_enums);
	RUN_TEST(test_web_section_defaults_and_checks);
	return fb_test_finish();
}
