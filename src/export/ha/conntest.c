/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-export --test (see conntest.h).
 *
 * The attempt goes through the exporter's own link (mqtt_link.c, tls.c)
 * and transport, so a failure is reported with the very text the exporter
 * would log (the link's last error).  The stages are watched from outside
 * the link: the TCP connect by the socket having a peer, TLS by the
 * handshake being finished, MQTT by the link's on_up.  Nothing is
 * published: the session (discovery, status, states) is never started,
 * and the close sends DISCONNECT only, so the broker drops the will. */
#include "conntest.h"
#include "clock.h"
#include "log.h"
#include "mqtt_link.h"
#include "transport.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DETAIL_MAX 1024
#define NO_TIMEOUT_WAIT_MS 30000 /* timeout_s 0: the test still ends */
#define SUBACK_WAIT_MS 10000
#define CLOSE_PUMP_MS 300        /* websocket: let the bridge forward DISCONNECT */

struct conntest {
	const struct fb_conn_conf *c;
	struct ex_link link;
	struct ex_transport tr;
	bool json, all_ok;
	cJSON *stages;

	bool tcp_ok, tls_ok, up, down, suback;
	int granted_qos;
	char tls_detail[DETAIL_MAX];
	char tcp_detail[DETAIL_MAX];
};

static void stage(struct conntest *t, const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void stage(struct conntest *t, const char *name, bool ok, const char *fmt, ...)
{
	char detail[DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (!ok)
		t->all_ok = false;
	if (t->json) {
		cJSON *s = cJSON_CreateObject();

		cJSON_AddStringToObject(s, "stage", name);
		cJSON_AddBoolToObject(s, "ok", ok);
		cJSON_AddStringToObject(s, "detail", detail);
		cJSON_AddItemToArray(t->stages, s);
	} else {
		printf("%-10s %-6s %s\n", name, ok ? "ok" : "FAILED", detail);
		fflush(stdout);
	}
}

static const char *ssl_name(enum fb_ssl_mode m)
{
	return m == FB_SSL_OFF ? "off" : m == FB_SSL_ON ? "on" : "trust_all";
}

static void on_up(void *ctx)
{
	((struct conntest *)ctx)->up = true;
}

static void on_down(void *ctx)
{
	((struct conntest *)ctx)->down = true;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct ex_link *l = obj;
	struct conntest *t = l->ctx;

	(void)m;
	(void)mid;
	t->suback = true;
	t->granted_qos = n > 0 ? granted[0] : 128;
}

/* "127.0.0.1, ::1": every address the broker's name resolves to. */
static int resolve(const struct fb_conn_conf *c, char *out, size_t len, char *err, size_t elen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *a;
	size_t used = 0;
	int rc = getaddrinfo(c->broker, NULL, &hints, &res);

	if (rc != 0) {
		snprintf(err, elen, "connection %s: broker %s:%d: unreachable broker: cannot "
			 "resolve the host name (broker): %s", c->name, c->broker, c->port,
			 gai_strerror(rc));
		return -1;
	}
	out[0] = '\0';
	for (a = res; a; a = a->ai_next) {
		char ip[INET6_ADDRSTRLEN] = "";
		const void *p = a->ai_family == AF_INET6 ?
			(const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr :
			(const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;

		if (!inet_ntop(a->ai_family, p, ip, sizeof(ip)) || strstr(out, ip))
			continue;
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s",
					 used ? ", " : "", ip);
	}
	freeaddrinfo(res);
	return 0;
}

static const char *bio_text(BIO *b, char *buf, size_t len)
{
	int n = BIO_read(b, buf, (int)len - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The handshake is done: what was verified, and the certificate's facts. */
static void describe_tls(struct conntest *t, SSL *ssl)
{
	const struct fb_conn_conf *c = t->c;
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	long vr = SSL_get_verify_result(ssl);
	char verify[DETAIL_MAX], subject[256], issuer[256], expires[64], host[300];
	unsigned char ipbuf[16];
	BIO *b = BIO_new(BIO_s_mem());
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	X509 *peer = SSL_get1_peer_certificate(ssl);
#else
	X509 *peer = SSL_get_peer_certificate(ssl);
#endif
	bool is_ip = inet_pton(AF_INET, c->broker, ipbuf) == 1 ||
		     inet_pton(AF_INET6, c->broker, ipbuf) == 1;
	bool name_ok;

	if (vr == X509_V_OK) {
		snprintf(verify, sizeof(verify), "verify ok");
	} else {
		/* tls.c's words for the verdict. */
		ex_tls_describe_verify(&t->link, vr);
		snprintf(verify, sizeof(verify), "verify: %s", t->link.tls_problem);
		t->link.tls_problem[0] = '\0';
	}
	if (c->ssl == FB_SSL_TRUST_ALL)
		snprintf(verify + strlen(verify), sizeof(verify) - strlen(verify),
			 " (ssl trust_all: NOT enforced)");
	if (!peer || !b) {
		snprintf(t->tls_detail, sizeof(t->tls_detail), "%s (%s); no certificate",
			 verify, SSL_get_version(ssl));
		goto out;
	}
	X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
	bio_text(b, subject, sizeof(subject));
	X509_NAME_print_ex(b, X509_get_issuer_name(peer), 0, XN_FLAG_RFC2253);
	bio_text(b, issuer, sizeof(issuer));
	ASN1_TIME_print(b, X509_get0_notAfter(peer));
	bio_text(b, expires, sizeof(expires));
	name_ok = is_ip ? X509_check_ip_asc(peer, c->broker, 0) == 1 :
			  X509_check_host(peer, c->broker, 0, 0, NULL) == 1;
	snprintf(host, sizeof(host), "hostname check %s for \"%s\"%s",
		 name_ok ? "ok" : "FAILED", c->broker,
		 c->ssl == FB_SSL_ON && c->hostname_verification ? "" :
		 " (not enforced: hostname_verification off or ssl trust_all)");
	snprintf(t->tls_detail, sizeof(t->tls_detail),
		 "%s (%s); subject %s; issuer %s; chain of %d; expires %s%s; %s", verify,
		 SSL_get_version(ssl), subject, issuer, chain ? sk_X509_num(chain) : 0, expires,
		 X509_cmp_current_time(X509_get0_notAfter(peer)) < 0 ? " (EXPIRED)" : "", host);
out:
	X509_free(peer);
	BIO_free(b);
}

/* Socket mode: how far the attempt got, seen from outside the link. */
static void watch_progress(struct conntest *t)
{
	int sock = ex_link_socket(&t->link), err = 0;
	socklen_t elen = sizeof(err);
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	if (t->tr.tls_in_transport || sock < 0 || t->c->mode != FB_CONN_SOCKET)
		return;
	if (!t->tcp_ok && getpeername(sock, (struct sockaddr *)&peer, &plen) == 0 &&
	    getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && !err) {
		char ip[INET6_ADDRSTRLEN] = "?";
		int port = 0;

		if (peer.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, ip, sizeof(ip));
			port = ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
		} else {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, ip, sizeof(ip));
			port = ntohs(((struct sockaddr_in *)&peer)->sin_port);
		}
		snprintf(t->tcp_detail, sizeof(t->tcp_detail), "connected to %s port %d", ip, port);
		t->tcp_ok = true;
	}
	if (t->tcp_ok && !t->tls_ok && t->c->ssl != FB_SSL_OFF) {
		SSL *ssl = mosquitto_ssl_get(t->link.mosq);

		if (ssl && SSL_is_init_finished(ssl)) {
			describe_tls(t, ssl);
			t->tls_ok = true;
		}
	}
}

/* The link's last words, or a timeout of the test itself. */
static const char *failure(const struct conntest *t, int waited_ms, char *buf, size_t len)
{
	if (t->link.last_logged[0])
		return t->link.last_logged;
	snprintf(buf, len, "connection %s: broker %s:%d: no answer within %d s",
		 t->c->name, t->c->broker, t->c->port, waited_ms / 1000);
	return buf;
}

/* Runs the poll() loop until `done` says so, the link went down, a signal
 * came or deadline_ms passed.  Returns false on a signal. */
static bool run_until(struct conntest *t, int signal_fd, bool (*done)(const struct conntest *),
		      int64_t deadline_ms)
{
	/* The bridge arms its fd only once serviced: service it at once. */
	int64_t transport_deadline = fb_mono_ms();

	for (;;) {
		struct pollfd pfd[2 + EX_TRANSPORT_FDS_MAX];
		int64_t now = fb_mono_ms(), next;
		size_t n = 0, tfirst, tn;
		int sock, wait_ms;

		watch_progress(t);
		if (t->down || done(t) || now >= deadline_ms)
			return true;
		next = fb_deadline_min(fb_deadline_min(ex_link_deadlines(&t->link, now),
						       transport_deadline), deadline_ms);
		if (t->down)
			return true; /* the link's own timeout_s */
		wait_ms = next > now ? (int)(next - now) : 0;
		pfd[n++] = (struct pollfd){ .fd = signal_fd, .events = POLLIN };
		sock = ex_link_socket(&t->link);
		pfd[n++] = (struct pollfd){ .fd = sock, .events = (short)(POLLIN |
			(ex_link_want_write(&t->link) ? POLLOUT : 0)) };
		tfirst = n;
		tn = t->tr.add_fds(t->tr.ctx, pfd + n, EX_TRANSPORT_FDS_MAX);
		n += tn;
		if (poll(pfd, n, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			fb_log_errno(FB_LOG_ERR, "poll");
			return false;
		}
		if (pfd[0].revents & POLLIN)
			return false;
		watch_progress(t);
		if (sock >= 0 && pfd[1].revents)
			ex_link_service(&t->link, pfd[1].revents, fb_mono_ms());
		transport_deadline = t->tr.service(t->tr.ctx, pfd + tfirst, tn, fb_mono_ms());
	}
}

static bool is_up(const struct conntest *t)
{
	return t->up;
}

static bool has_suback(const struct conntest *t)
{
	return t->suback;
}

static bool never(const struct conntest *t)
{
	(void)t;
	return false;
}

/* Stages of the connect, in order, after the attempt ended. */
static void report_connect(struct conntest *t, int waited_ms, bool interrupted)
{
	const struct fb_conn_conf *c = t->c;
	char buf[EX_ERR_MAX];
	const char *why = interrupted ? "interrupted" : failure(t, waited_ms, buf, sizeof(buf));

	if (c->mode == FB_CONN_SOCKET) {
		if (!t->tcp_ok && !t->link.tls_problem[0] && !strstr(why, ": TLS")) {
			stage(t, "tcp", false, "%s", why);
			return;
		}
		if (!t->tcp_ok) /* the handshake failed inside the connect call */
			snprintf(t->tcp_detail, sizeof(t->tcp_detail), "connected to %s port %d",
				 c->broker, c->port);
		stage(t, "tcp", true, "%s", t->tcp_detail);
		if (c->ssl != FB_SSL_OFF) {
			if (!t->tls_ok) {
				stage(t, "tls", false, "%s", why);
				return;
			}
			stage(t, "tls", true, "%s", t->tls_detail);
		}
	} else {
		if (!t->up && (t->tr.last_error(t->tr.ctx) || !t->link.last_logged[0] ||
			       !strstr(t->link.last_logged, "refused the connection"))) {
			stage(t, "websocket", false, "%s", why);
			return;
		}
		stage(t, "websocket", true, "upgrade to %s://%s:%d%s accepted (TLS %s)",
		      c->ssl == FB_SSL_OFF ? "ws" : "wss", c->broker, c->port,
		      c->ws_path ? c->ws_path : "/mqtt", ssl_name(c->ssl));
	}
	if (!t->up)
		stage(t, "mqtt", false, "%s", why);
	else
		stage(t, "mqtt", true, "CONNACK 0: %s (client id %s)", mosquitto_connack_string(0),
		      c->node_id);
}

static void finish(struct conntest *t)
{
	if (t->json) {
		cJSON *doc = cJSON_CreateObject();
		char *s;

		cJSON_AddStringToObject(doc, "connection", t->c ? t->c->name : "");
		cJSON_AddBoolToObject(doc, "ok", t->all_ok);
		cJSON_AddItemToObject(doc, "stages", t->stages);
		t->stages = NULL;
		s = cJSON_Print(doc);
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(doc);
	}
	cJSON_Delete(t->stages);
	fflush(stdout);
}

/* Everything from DNS on; `t->c` is loaded. */
static void test_connection(struct conntest *t, int signal_fd)
{
	const struct fb_conn_conf *c = t->c;
	static const struct ex_link_handlers handlers = { .on_up = on_up, .on_down = on_down };
	char err[EX_ERR_MAX], addrs[DETAIL_MAX], topic[EX_TOPIC_MAX], will[EX_TOPIC_MAX];
	int wait_ms = c->timeout_s ? c->timeout_s * 1000 + 1000 : NO_TIMEOUT_WAIT_MS;
	bool interrupted;

	/* The files first, as the exporter does before connecting. */
	if (c->ssl != FB_SSL_OFF) {
		int bad = ex_tls_precheck(c, err, sizeof(err));

		if (bad < 0) {
			stage(t, c->mode == FB_CONN_SOCKET ? "tls" : "websocket", false, "%s", err);
			return;
		}
		if (err[0])
			fb_warn("%s", err);
	}
	if (ex_transport_open(&t->tr, c, err, sizeof(err)) < 0) {
		stage(t, c->mode == FB_CONN_SOCKET ? "tcp" : "websocket", false,
		      "connection %s: %s", c->name, err);
		return;
	}
	if (resolve(c, addrs, sizeof(addrs), err, sizeof(err)) < 0) {
		stage(t, "dns", false, "%s", err);
		return;
	}
	stage(t, "dns", true, "%s: %s", c->broker, addrs);
	snprintf(will, sizeof(will), "fieldbridge/%s/status", c->node_id);
	if (ex_link_init(&t->link, c, &t->tr, will, &handlers, t) < 0) {
		stage(t, "mqtt", false, "connection %s: cannot create the MQTT client", c->name);
		return;
	}
	mosquitto_subscribe_callback_set(t->link.mosq, on_subscribe);
	ex_link_connect(&t->link, fb_mono_ms());
	interrupted = !run_until(t, signal_fd, is_up, fb_mono_ms() + wait_ms);
	report_connect(t, wait_ms, interrupted);
	if (!t->up || interrupted)
		return;

	snprintf(topic, sizeof(topic), "fieldbridge/%s/+/+/set", c->node_id);
	if (ex_link_subscribe(&t->link, topic) < 0) {
		stage(t, "subscribe", false, "connection %s: cannot subscribe to %s", c->name, topic);
	} else {
		interrupted = !run_until(t, signal_fd, has_suback, fb_mono_ms() + SUBACK_WAIT_MS);
		if (!t->suback)
			stage(t, "subscribe", false, "%s: %s", topic,
			      interrupted ? "interrupted" : t->down ? failure(t, SUBACK_WAIT_MS, err, sizeof(err)) :
			      "no SUBACK within 10 s");
		else if (t->granted_qos >= 0x80)
			stage(t, "subscribe", false, "%s: SUBACK 0x%02x: the broker refused the "
			      "subscription (not authorised for this topic?)", topic, t->granted_qos);
		else
			stage(t, "subscribe", true, "%s: SUBACK granted QoS %d (asked %d)", topic,
			      t->granted_qos, c->qos);
	}
	/* DISCONNECT only: no status, no will. */
	ex_link_close(&t->link, NULL);
	if (t->tr.tls_in_transport || c->mode != FB_CONN_SOCKET)
		run_until(t, signal_fd, never, fb_mono_ms() + CLOSE_PUMP_MS);
}

int ex_conntest_run(const struct fb_daemon_args *args, bool json)
{
	struct conntest t = { .json = json, .all_ok = true };
	struct fb_daemon_setup setup = { .signal_fd = -1, .timer_fd = -1 };

	t.stages = cJSON_CreateArray();
	if (fb_daemon_start(args, "connection", NULL, &setup) < 0) {
		stage(&t, "config", false, "%s: connection %s: the configuration has errors "
		      "(logged above); nothing tested", args->config_path, args->instance);
		finish(&t);
		return 1;
	}
	t.c = setup.conn;
	stage(&t, "config", true, "%s: connection %s: broker %s port %d, connection_mode %s, "
	      "ssl %s", args->config_path, t.c->name, t.c->broker, t.c->port,
	      t.c->mode == FB_CONN_SOCKET ? "socket" : "websocket", ssl_name(t.c->ssl));
	test_connection(&t, setup.signal_fd);
	finish(&t);
	ex_link_free(&t.link);
	if (t.tr.close)
		t.tr.close(t.tr.ctx);
	close(setup.signal_fd);
	close(setup.timer_fd);
	fb_config_free(setup.cfg);
	return t.all_ok ? 0 : 1;
}
