/* SPDX-License-Identifier: Apache-2.0 */
/* ws_client: an MQTT client built exactly like fieldbridge-export's link
 * (libmosquitto from one single-threaded poll() loop, keepalive via
 * mosquitto_loop_misc once a second, reconnect with backoff), in socket
 * mode or through the fb_ws bridge.  Driven by test_ws.py and bench/ws/run.
 *
 * Output (stdout, one line each): "SOCKET <path>", "CONNECTED <n>",
 * "LOST <why>", "WSERROR <kind> <status> <text>", "RESULT ...", and for
 * --scenario bench one JSON object.  Exit: 0 pass, 1 fail, 2 usage,
 * 3 gave up connecting (--attempts). */
#include "ws_bridge.h"

#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum scenario { SC_ROUNDTRIP, SC_STREAM, SC_IDLE, SC_NOPINGREQ, SC_BENCH };

struct app {
	struct fb_conn_conf conn;
	enum scenario sc;
	const char *runtime_dir;
	const char *topic;
	int count, size, duration_s, attempts, interval_ms, backoff_max_ms;
	struct mosquitto *mosq;
	struct fb_ws_bridge *bridge;
	bool connected, connecting, subscribed, done;
	int exit_code;
	int64_t connect_deadline, reconnect_at, next_tick, end_at, next_pub;
	int backoff_ms, failed_attempts, connects, losts;
	/* scenario state */
	int received, expected_next, counter;
	int64_t started_at, rt_sent_ns;
	int rt_done;
	int64_t *rt_ns;
	int phase; /* bench: 0 latency, 1 throughput, 2 done */
	int64_t tp_start_ns;
	int64_t drop_at;
	int pending_pubs;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ms(void)
{
	return now_ns() / 1000000;
}

static int64_t min_dl(int64_t a, int64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

static void finish(struct app *a, int code)
{
	a->done = true;
	a->exit_code = code;
}

static void publish(struct app *a, const char *payload, int len, int qos, bool retain)
{
	int rc = mosquitto_publish(a->mosq, NULL, a->topic, len, payload, qos, retain);

	if (rc == MOSQ_ERR_SUCCESS && qos > 0)
		a->pending_pubs++;
}

static void bench_next(struct app *a)
{
	char buf[65536];

	if (a->phase == 0) {
		if (a->rt_done >= a->count) {
			a->phase = 1;
			a->received = 0;
			memset(buf, 'x', sizeof(buf));
			a->tp_start_ns = now_ns();
			for (int i = 0; i < a->count * 10; i++)
				mosquitto_publish(a->mosq, NULL, a->topic, a->size, buf, 0, false);
			return;
		}
		memset(buf, 'l', (size_t)a->size);
		a->rt_sent_ns = now_ns();
		mosquitto_publish(a->mosq, NULL, a->topic, a->size, buf, 0, false);
	}
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

static void bench_report(struct app *a, int64_t tp_ns)
{
	double secs = (double)tp_ns / 1e9;
	int n = a->count;

	qsort(a->rt_ns, (size_t)n, sizeof(*a->rt_ns), cmp_i64);
	printf("{\"mode\": \"%s\", \"latency_us_p50\": %.1f, \"latency_us_p99\": %.1f, "
	       "\"throughput_msg_s\": %.0f, \"throughput_mib_s\": %.3f, \"messages\": %d, "
	       "\"size\": %d}\n",
	       a->bridge ? "websocket" : "socket", (double)a->rt_ns[n / 2] / 1e3,
	       (double)a->rt_ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e3,
	       (double)(a->count * 10) / secs,
	       (double)a->count * 10 * a->size / secs / 1048576.0, a->count * 10, a->size);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct app *a = obj;

	a->connecting = false;
	a->connect_deadline = 0;
	if (rc) {
		printf("LOST refused: %s\n", mosquitto_connack_string(rc));
		return;
	}
	a->connected = true;
	a->backoff_ms = 0;
	a->failed_attempts = 0;
	a->connects++;
	printf("CONNECTED %d\n", a->connects);
	fflush(stdout);
	if (a->sc != SC_STREAM)
		mosquitto_subscribe(m, NULL, a->topic, 1);
	else {
		char v[32];
		int n = snprintf(v, sizeof(v), "%d", a->counter);

		/* The exporter re-publishes its state on every connect. */
		publish(a, v, n, 1, true);
		a->next_pub = now_ms() + a->interval_ms;
	}
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q)
{
	struct app *a = obj;
	char buf[64];

	(void)m, (void)mid, (void)n, (void)q;
	if (a->subscribed)
		return;
	a->subscribed = true;
	switch (a->sc) {
	case SC_ROUNDTRIP:
		for (int i = 0; i < a->count; i++) {
			int len = snprintf(buf, sizeof(buf), "msg-%d", i);

			publish(a, buf, len, 1, false);
		}
		break;
	case SC_IDLE:
	case SC_NOPINGREQ:
		a->end_at = now_ms() + (int64_t)a->duration_s * 1000;
		break;
	case SC_BENCH:
		bench_next(a);
		break;
	default:
		break;
	}
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	struct app *a = obj;

	(void)m, (void)mid;
	a->pending_pubs--;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct app *a = obj;
	char want[64];

	(void)m;
	switch (a->sc) {
	case SC_ROUNDTRIP:
		snprintf(want, sizeof(want), "msg-%d", a->expected_next);
		if (msg->payloadlen != (int)strlen(want) ||
		    memcmp(msg->payload, want, strlen(want))) {
			printf("RESULT roundtrip FAIL: got %.*s, want %s\n", msg->payloadlen,
			       (const char *)msg->payload, want);
			finish(a, 1);
			return;
		}
		if (++a->expected_next == a->count) {
			printf("RESULT roundtrip ok %d messages\n", a->count);
			finish(a, 0);
		}
		break;
	case SC_IDLE:
		if (msg->payloadlen == 4 && !memcmp(msg->payload, "ping", 4)) {
			printf("RESULT idle ok connects=%d after %d s\n", a->connects,
			       a->duration_s);
			finish(a, a->connects == 1 ? 0 : 1);
		}
		break;
	case SC_BENCH:
		if (a->phase == 0) {
			a->rt_ns[a->rt_done++] = now_ns() - a->rt_sent_ns;
			bench_next(a);
		} else if (a->phase == 1 && ++a->received == a->count * 10) {
			bench_report(a, now_ns() - a->tp_start_ns);
			a->phase = 2;
			finish(a, 0);
		}
		break;
	default:
		break;
	}
}

static void lost(struct app *a, int rc, const char *why);

static void do_connect(struct app *a)
{
	const char *host = a->bridge ? fb_ws_bridge_socket_path(a->bridge) : a->conn.broker;
	int port = a->bridge ? 0 : a->conn.port;
	int rc;

	a->reconnect_at = 0;
	a->subscribed = false;
	rc = mosquitto_connect_async(a->mosq, host, port, a->conn.keep_alive_s);
	if (rc != MOSQ_ERR_SUCCESS) {
		lost(a, rc, NULL);
		return;
	}
	a->connecting = true;
	a->connect_deadline = a->conn.timeout_s ? now_ms() + a->conn.timeout_s * 1000 : 0;
}

static void lost(struct app *a, int rc, const char *why)
{
	bool was = a->connected;
	const char *err = a->bridge ? fb_ws_bridge_last_error(a->bridge) : NULL;

	if (a->reconnect_at || a->done)
		return;
	a->connected = a->connecting = false;
	a->connect_deadline = 0;
	a->losts++;
	printf("LOST %s\n", why ? why : mosquitto_strerror(rc));
	if (err)
		printf("WSERROR %s %d %s\n", fb_ws_strerror(fb_ws_bridge_last_error_kind(a->bridge)),
		       fb_ws_bridge_http_status(a->bridge), err);
	fflush(stdout);
	mosquitto_disconnect(a->mosq);
	if (a->sc == SC_NOPINGREQ && was) {
		printf("RESULT nopingreq dropped after %.1f s\n",
		       (double)(now_ms() - a->started_at) / 1000.0);
		finish(a, 0);
		return;
	}
	if (!was && a->attempts && ++a->failed_attempts >= a->attempts) {
		printf("RESULT gave up after %d attempts: %s\n", a->failed_attempts,
		       err ? err : mosquitto_strerror(rc));
		finish(a, 3);
		return;
	}
	a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : 100;
	if (a->backoff_ms > a->backoff_max_ms)
		a->backoff_ms = a->backoff_max_ms;
	a->reconnect_at = now_ms() + a->backoff_ms;
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	lost(obj, rc ? rc : MOSQ_ERR_CONN_LOST, NULL);
}

static void deadlines(struct app *a, int64_t now)
{
	if (a->reconnect_at && now >= a->reconnect_at)
		do_connect(a);
	if (a->connecting && a->connect_deadline && now >= a->connect_deadline)
		lost(a, MOSQ_ERR_TIMEOUT, "no answer within timeout_s");
	if (now >= a->next_tick) {
		a->next_tick = now + 1000;
		if ((a->connected || a->connecting) && a->sc != SC_NOPINGREQ)
			mosquitto_loop_misc(a->mosq); /* keepalive PINGREQ */
	}
	if (a->sc == SC_STREAM && a->connected && a->next_pub && now >= a->next_pub) {
		char v[32];
		int n = snprintf(v, sizeof(v), "%d", ++a->counter);

		publish(a, v, n, 1, true);
		a->next_pub = now + a->interval_ms;
	}
	if (a->end_at && now >= a->end_at) {
		a->end_at = 0;
		if (a->sc == SC_STREAM) {
			a->next_pub = 0;
			a->sc = SC_ROUNDTRIP; /* stop publishing; drain below */
			a->drop_at = now + 10000;
		} else if (a->sc == SC_IDLE) {
			publish(a, "ping", 4, 1, false);
		} else if (a->sc == SC_NOPINGREQ) {
			printf("RESULT nopingreq FAIL: still connected after %d s\n", a->duration_s);
			finish(a, 1);
		}
	}
	if (a->drop_at && a->connected && a->pending_pubs <= 0 &&
	    !mosquitto_want_write(a->mosq)) {
		printf("RESULT stream FINAL %d CONNECTS %d\n", a->counter, a->connects);
		finish(a, 0);
	} else if (a->drop_at && now >= a->drop_at) {
		printf("RESULT stream FAIL: final publishes not acknowledged\n");
		finish(a, 1);
	}
}

static int run(struct app *a)
{
	int64_t hard_end = now_ms() + (int64_t)(a->duration_s + 60) * 1000;

	a->started_at = now_ms();
	if (a->sc == SC_STREAM)
		a->end_at = a->started_at + (int64_t)a->duration_s * 1000;
	do_connect(a);
	while (!a->done) {
		struct pollfd pfd[2];
		int64_t now = now_ms(), dl;
		int sock, timeout, n = 0, ipoll = -1, imq = -1;

		deadlines(a, now);
		if (a->done)
			break;
		if (now >= hard_end) {
			printf("RESULT FAIL: scenario did not finish\n");
			return 1;
		}
		dl = min_dl(a->next_tick, a->reconnect_at);
		dl = min_dl(dl, a->connect_deadline);
		dl = min_dl(dl, a->end_at);
		dl = min_dl(dl, a->next_pub);
		dl = min_dl(dl, hard_end);
		if (a->bridge) {
			dl = min_dl(dl, fb_ws_bridge_deadline_ms(a->bridge, now));
			ipoll = n;
			pfd[n++] = (struct pollfd){ .fd = fb_ws_bridge_fd(a->bridge),
						    .events = POLLIN };
		}
		sock = (a->connected || a->connecting) ? mosquitto_socket(a->mosq) : -1;
		if (sock >= 0) {
			imq = n;
			pfd[n++] = (struct pollfd){ .fd = sock,
				.events = (short)(POLLIN | (mosquitto_want_write(a->mosq) ? POLLOUT : 0)) };
		}
		timeout = dl <= now ? 0 : (int)(dl - now);
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		if (a->bridge)
			fb_ws_bridge_service(a->bridge); /* fd ready or deadline */
		(void)ipoll;
		if (imq >= 0 && pfd[imq].revents) {
			int rc = MOSQ_ERR_SUCCESS;

			if (pfd[imq].revents & (POLLIN | POLLHUP | POLLERR))
				rc = mosquitto_loop_read(a->mosq, 1);
			if (rc == MOSQ_ERR_SUCCESS && (pfd[imq].revents & POLLOUT))
				rc = mosquitto_loop_write(a->mosq, 1);
			if (rc != MOSQ_ERR_SUCCESS)
				lost(a, rc, NULL);
		}
		/* Writes queued by callbacks go out without waiting a poll. */
		if (a->connected && mosquitto_want_write(a->mosq))
			mosquitto_loop_write(a->mosq, 1);
		fflush(stdout);
	}
	return a->exit_code;
}

static int pw_cb(char *buf, int size, int rwflag, void *userdata)
{
	/* libmosquitto 2.0 passes its struct mosquitto here, not the
	 * mosquitto_new obj. */
	const struct app *a = mosquitto_userdata(userdata);
	const char *pw = a->conn.ssl_client_key_password;

	(void)rwflag;
	snprintf(buf, (size_t)size, "%s", pw);
	return (int)strlen(buf);
}

static int socket_tls(struct app *a)
{
	const struct fb_conn_conf *c = &a->conn;

	if (c->ssl == FB_SSL_OFF)
		return 0;
	mosquitto_user_data_set(a->mosq, a);
	if (mosquitto_tls_set(a->mosq, c->ssl_server_crt, c->ssl_server_crt ? NULL : "/etc/ssl/certs",
			      c->ssl_client_crt, c->ssl_client_key,
			      c->ssl_client_key_password ? pw_cb : NULL))
		return -1;
	if (c->ssl == FB_SSL_TRUST_ALL) {
		mosquitto_tls_opts_set(a->mosq, 0, NULL, NULL);
		mosquitto_tls_insecure_set(a->mosq, true);
	} else if (!c->hostname_verification) {
		mosquitto_tls_insecure_set(a->mosq, true);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", 1, NULL, 'm' }, { "host", 1, NULL, 'h' }, { "port", 1, NULL, 'p' },
		{ "path", 1, NULL, 'P' }, { "ssl", 1, NULL, 's' }, { "ca", 1, NULL, 'c' },
		{ "cert", 1, NULL, 'C' }, { "key", 1, NULL, 'k' }, { "keypass", 1, NULL, 'K' },
		{ "no-verify-host", 0, NULL, 'n' }, { "keepalive", 1, NULL, 'a' },
		{ "timeout", 1, NULL, 't' }, { "runtime-dir", 1, NULL, 'r' },
		{ "scenario", 1, NULL, 'S' }, { "topic", 1, NULL, 'T' }, { "count", 1, NULL, 'N' },
		{ "size", 1, NULL, 'z' }, { "duration", 1, NULL, 'd' },
		{ "attempts", 1, NULL, 'A' }, { "interval-ms", 1, NULL, 'i' },
		{ "lws-debug", 0, NULL, 'D' }, { NULL, 0, NULL, 0 }
	};
	static struct app app;
	struct app *a = &app;
	char topic[128];
	bool ws = true, lws_debug = false;
	int o, rc;

	a->conn = (struct fb_conn_conf){ .name = "test", .broker = "127.0.0.1", .port = 1883,
					 .hostname_verification = true, .qos = 1,
					 .timeout_s = 10, .keep_alive_s = 60 };
	a->count = 20;
	a->size = 64;
	a->duration_s = 20;
	a->interval_ms = 100;
	a->backoff_max_ms = 2000;
	snprintf(topic, sizeof(topic), "fbws/test/%d", (int)getpid());
	a->topic = topic;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm': ws = !strcmp(optarg, "websocket") || !strcmp(optarg, "ws"); break;
		case 'h': a->conn.broker = optarg; break;
		case 'p': a->conn.port = atoi(optarg); break;
		case 'P': a->conn.ws_path = optarg; break;
		case 's':
			a->conn.ssl = !strcmp(optarg, "on") ? FB_SSL_ON
				      : !strcmp(optarg, "trust_all") ? FB_SSL_TRUST_ALL : FB_SSL_OFF;
			break;
		case 'c': a->conn.ssl_server_crt = optarg; break;
		case 'C': a->conn.ssl_client_crt = optarg; break;
		case 'k': a->conn.ssl_client_key = optarg; break;
		case 'K': a->conn.ssl_client_key_password = optarg; break;
		case 'n': a->conn.hostname_verification = false; break;
		case 'a': a->conn.keep_alive_s = atoi(optarg); break;
		case 't': a->conn.timeout_s = atoi(optarg); break;
		case 'r': a->runtime_dir = optarg; break;
		case 'S':
			a->sc = !strcmp(optarg, "stream") ? SC_STREAM
				: !strcmp(optarg, "idle") ? SC_IDLE
				: !strcmp(optarg, "nopingreq") ? SC_NOPINGREQ
				: !strcmp(optarg, "bench") ? SC_BENCH : SC_ROUNDTRIP;
			break;
		case 'T': a->topic = optarg; break;
		case 'N': a->count = atoi(optarg); break;
		case 'z': a->size = atoi(optarg); break;
		case 'd': a->duration_s = atoi(optarg); break;
		case 'A': a->attempts = atoi(optarg); break;
		case 'i': a->interval_ms = atoi(optarg); break;
		case 'D': lws_debug = true; break;
		default: return 2;
		}
	}
	if (a->size < 1 || a->size > 65536 || a->count < 1)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	a->conn.mode = ws ? FB_CONN_WEBSOCKET : FB_CONN_SOCKET;
	mosquitto_lib_init();
	if (ws) {
		a->bridge = fb_ws_bridge_new(&a->conn, a->runtime_dir);
		if (!a->bridge) {
			printf("RESULT bridge: %s\n", strerror(errno));
			return 1;
		}
		if (lws_debug)
			fb_ws_log_set(FB_WS_LOG_VERBOSE, NULL);
		printf("SOCKET %s\n", fb_ws_bridge_socket_path(a->bridge));
		printf("URL %s\n", fb_ws_bridge_url(a->bridge));
	}
	if (a->sc == SC_BENCH) {
		a->rt_ns = calloc((size_t)a->count, sizeof(*a->rt_ns));
		if (!a->rt_ns)
			return 1;
	}
	a->mosq = mosquitto_new(NULL, true, a);
	mosquitto_int_option(a->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(a->mosq, on_connect);
	mosquitto_disconnect_callback_set(a->mosq, on_disconnect);
	mosquitto_message_callback_set(a->mosq, on_message);
	mosquitto_subscribe_callback_set(a->mosq, on_subscribe);
	mosquitto_publish_callback_set(a->mosq, on_publish);
	if (!ws && socket_tls(a) < 0) {
		printf("RESULT socket TLS settings rejected\n");
		return 1;
	}
	rc = run(a);
	mosquitto_destroy(a->mosq);
	fb_ws_bridge_free(a->bridge);
	mosquitto_lib_cleanup();
	free(a->rt_ns);
	return rc;
}
