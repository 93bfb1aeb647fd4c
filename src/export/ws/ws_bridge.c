/* SPDX-License-Identifier: Apache-2.0 */
/* The WebSocket bridge (API and design: ws_bridge.h, docs/websocket.md).
 *
 * Event loop: Debian's libwebsockets 4.1.6 is built without
 * LWS_WITH_EXTERNAL_POLL, so the LWS_CALLBACK_*_POLL_FD callbacks never fire
 * and lws's fds cannot be learnt one by one.  It does support a *foreign*
 * libuv loop, and a libuv loop can be embedded in another poll loop: its
 * epoll fd (uv_backend_fd) becomes readable when any of its fds is ready, and
 * uv_backend_timeout gives its next timer.  So each bridge owns one private
 * uv loop carrying lws's fds and timers plus our listening socket; the caller
 * polls one fd and runs the loop with UV_RUN_NOWAIT.  Nothing blocks, no
 * thread is started.
 *
 * Per connection: a "link" pairs the adopted unix-side socket (lws raw role,
 * protocol "fb-raw") with the WebSocket client (protocol "fb-ws", offering
 * subprotocol "mqtt").  Each direction has a byte queue; a queue over
 * QUEUE_HIGH_BYTES stops reading its source (lws_rx_flow_control) until it
 * drains, so a slow side cannot make the bridge buffer without bound. */
#include "ws_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/x509.h>
#include <uv.h>

#define SOCKET_NAME "mqtt.sock"
#define CHUNK_BYTES 16384           /* one write / one WebSocket frame */
#define QUEUE_HIGH_BYTES (1u << 20) /* stop reading the source above this */
#define ERR_MAX 2048 /* URL (1024) + lws's reason */
/* lws's own handshake timeouts when timeout_s is 0 ("wait forever"): the
 * caller's MQTT connect deadline is off too, so only a dead peer is bounded,
 * like the kernel's TCP connect timeout bounds it in socket mode. */
#define LWS_TIMEOUT_FOREVER_S 120

struct queue {
	unsigned char *p;
	size_t off, len, cap; /* bytes [off, off + len) are pending */
};

struct link {
	struct fb_ws_bridge *b;
	struct lws *raw;      /* unix side; NULL once closed */
	struct lws *ws;       /* broker side; NULL once closed */
	struct queue to_ws, to_raw;
	bool ws_up;           /* upgrade done */
	bool raw_paused, ws_paused;
	bool closing;         /* we are tearing it down: no error to report */
	struct link *next;
};

struct fb_ws_bridge {
	const struct fb_conn_conf *conn; /* borrowed */
	char dir[PATH_MAX];
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char url[1024];
	char host_hdr[300];
	int listen_fd;
	uv_loop_t loop;
	bool loop_ok;
	uv_poll_t listen_poll;
	bool listen_poll_ok;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct link *links;
	int ssl_flags;           /* LCCSCF_* for every connection */
	char err[ERR_MAX];
	enum fb_ws_error err_kind;
	int http_status;
	long tls_verify_error;   /* X509_V_ERR_* of the last refused handshake */
	struct fb_ws_bridge_stats st;
	/* A fresh buffer with LWS_PRE headroom for lws_write. */
	unsigned char tx[LWS_PRE + CHUNK_BYTES];
};

const char *fb_ws_strerror(enum fb_ws_error e)
{
	switch (e) {
	case FB_WS_ERR_NONE: return "no error";
	case FB_WS_ERR_CONNECT: return "cannot connect";
	case FB_WS_ERR_TLS: return "TLS handshake failed";
	case FB_WS_ERR_HTTP: return "WebSocket upgrade refused";
	case FB_WS_ERR_PROTOCOL: return "bad WebSocket upgrade answer";
	case FB_WS_ERR_CLOSED: return "WebSocket closed";
	}
	return "unknown error";
}

/* ---- byte queues ---- */

static int queue_push(struct queue *q, const void *data, size_t n)
{
	if (q->off && q->off + q->len + n > q->cap) {
		memmove(q->p, q->p + q->off, q->len);
		q->off = 0;
	}
	if (q->len + n > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;
		unsigned char *p;

		while (cap < q->len + n)
			cap *= 2;
		p = realloc(q->p, cap);
		if (!p)
			return -1;
		q->p = p;
		q->cap = cap;
	}
	memcpy(q->p + q->off + q->len, data, n);
	q->len += n;
	return 0;
}

static void queue_pop(struct queue *q, size_t n)
{
	q->off += n;
	q->len -= n;
	if (!q->len)
		q->off = 0;
}

static void queue_free(struct queue *q)
{
	free(q->p);
	memset(q, 0, sizeof(*q));
}

/* ---- errors ---- */

static bool contains_ci(const char *s, const char *word)
{
	return s && strcasestr(s, word) != NULL;
}

static void set_error(struct fb_ws_bridge *b, enum fb_ws_error kind, int status,
		      const char *detail)
{
	b->err_kind = kind;
	b->http_status = status;
	if (kind == FB_WS_ERR_HTTP)
		snprintf(b->err, sizeof(b->err), "%s: HTTP %d (WebSocket upgrade refused%s%s)",
			 b->url, status, detail ? ": " : "", detail ? detail : "");
	else
		snprintf(b->err, sizeof(b->err), "%s: %s%s%s", b->url, fb_ws_strerror(kind),
			 detail ? ": " : "", detail ? detail : "");
}

/* lws reports failures as free text; its wording (4.1) is the only
 * classification it offers. */
static void connection_error(struct fb_ws_bridge *b, struct lws *wsi, const char *why)
{
	int status = wsi ? (int)lws_http_client_http_response(wsi) : 0;

	b->st.ws_failed++;
	if (status && status != 101)
		set_error(b, FB_WS_ERR_HTTP, status, NULL);
	else if (contains_ci(why, "cert") || contains_ci(why, "tls") ||
		 contains_ci(why, "ssl") || contains_ci(why, "x509"))
		/* lws's own text is an opaque OpenSSL code when the certificate
		 * was refused; the verdict (fb_ws_bridge_tls_verify_error) says
		 * why. */
		set_error(b, FB_WS_ERR_TLS, 0,
			  b->tls_verify_error ? "certificate verification failed" : why);
	else if (why && !strncmp(why, "HS:", 3))
		set_error(b, FB_WS_ERR_PROTOCOL, 0, why);
	else
		set_error(b, FB_WS_ERR_CONNECT, 0, why ? why : "connection failed");
}

/* ---- links ---- */

static void link_maybe_free(struct link *l)
{
	struct link **pp;

	if (l->raw || l->ws)
		return;
	for (pp = &l->b->links; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	l->b->st.active--;
	queue_free(&l->to_ws);
	queue_free(&l->to_raw);
	free(l);
}

/* Closes both sides from outside their own callbacks' return path: lws
 * closes a wsi marked LWS_TO_KILL_ASYNC on its next service, which the
 * caller's loop runs immediately (the uv timer is due now). */
static void link_close(struct link *l)
{
	l->closing = true;
	if (l->raw)
		lws_set_timeout(l->raw, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
	if (l->ws)
		lws_set_timeout(l->ws, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
}

static int link_connect_ws(struct link *l)
{
	struct fb_ws_bridge *b = l->b;
	const struct fb_conn_conf *c = b->conn;
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = b->ctx;
	ci.vhost = b->vh;
	ci.address = c->broker;
	ci.port = c->port;
	ci.path = c->ws_path && *c->ws_path ? c->ws_path : "/mqtt";
	ci.host = b->host_hdr;
	ci.origin = b->host_hdr;
	ci.protocol = "mqtt";          /* Sec-WebSocket-Protocol offered */
	ci.local_protocol_name = "fb-ws";
	ci.ssl_connection = b->ssl_flags;
	ci.opaque_user_data = l;
	ci.pwsi = &l->ws;
	/* HTTP/1.1 upgrade only: never negotiate h2 over ALPN. */
	ci.alpn = "http/1.1";
	b->tls_verify_error = 0; /* a verdict belongs to one attempt */
	if (!lws_client_connect_via_info(&ci)) {
		/* CLIENT_CONNECTION_ERROR has been delivered if a wsi existed;
		 * make sure an error is recorded either way. */
		if (b->err_kind == FB_WS_ERR_NONE)
			set_error(b, FB_WS_ERR_CONNECT, 0, "cannot start the connection");
		l->ws = NULL;
		return -1;
	}
	return 0;
}

static void on_accept(uv_poll_t *h, int status, int events)
{
	struct fb_ws_bridge *b = h->data;
	struct link *l;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd;

	(void)events;
	if (status < 0)
		return;
	fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN, or the peer gave up: nothing to do */
	/* The 0700 directory already keeps other users out; this also holds
	 * if someone loosened it. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    cred.uid != geteuid()) {
		close(fd);
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return;
	}
	l->b = b;
	l->next = b->links;
	b->links = l;
	b->st.active++;
	b->st.accepted++;
	l->raw = lws_adopt_descriptor_vhost(b->vh, LWS_ADOPT_SOCKET,
					    (lws_sock_file_fd_type){ .sockfd = fd },
					    "fb-raw", NULL);
	if (!l->raw) {
		close(fd);
		link_maybe_free(l);
		return;
	}
	lws_set_opaque_user_data(l->raw, l);
	/* Nothing to forward before the upgrade: leave libmosquitto's CONNECT
	 * in the socket until the WebSocket is up. */
	lws_rx_flow_control(l->raw, 0);
	l->raw_paused = true;
	if (link_connect_ws(l) < 0)
		link_close(l);
}

/* ---- pumping ----
 * Both directions of a link move bytes alike: what the source delivers is
 * queued for the other side, which is asked for WRITEABLE; a queue over
 * QUEUE_HIGH_BYTES pauses its source (*src_paused, the source's flag in
 * the link), and draining below half of that resumes it. */

/* Queues len bytes that src delivered, for dst (NULL once closed: -1).
 * dst_up: dst can be written now; the WebSocket cannot before the upgrade,
 * and CLIENT_ESTABLISHED asks for WRITEABLE then. */
static int pump_in(struct lws *src, const void *in, size_t len, struct queue *q,
		   struct lws *dst, bool dst_up, bool *src_paused, uint64_t *bytes)
{
	if (!dst)
		return -1;
	if (queue_push(q, in, len) < 0)
		return -1;
	*bytes += len;
	if (dst_up)
		lws_callback_on_writable(dst);
	if (q->len > QUEUE_HIGH_BYTES && !*src_paused) {
		lws_rx_flow_control(src, 0);
		*src_paused = true;
	}
	return 0;
}

/* Moves up to CHUNK_BYTES of q out through dst, then resumes src (NULL
 * once closed) if q has drained enough. */
static int pump_out(struct fb_ws_bridge *b, struct lws *dst, struct queue *q,
		    enum lws_write_protocol proto, struct lws *src, bool *src_paused)
{
	size_t n = q->len < CHUNK_BYTES ? q->len : CHUNK_BYTES;

	if (n) {
		memcpy(b->tx + LWS_PRE, q->p + q->off, n);
		/* lws keeps any part the kernel did not take and delays the
		 * next WRITEABLE until it is out, so a short count never loses
		 * bytes. */
		if (lws_write(dst, b->tx + LWS_PRE, n, proto) < (int)n)
			return -1;
		queue_pop(q, n);
		if (q->len)
			lws_callback_on_writable(dst);
	}
	if (*src_paused && src && q->len < QUEUE_HIGH_BYTES / 2) {
		lws_rx_flow_control(src, 1);
		*src_paused = false;
	}
	return 0;
}

static int cb_raw(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		  void *in, size_t len)
{
	struct link *l = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_RAW_RX:
		if (!l)
			return -1;
		return pump_in(wsi, in, len, &l->to_ws, l->ws, l->ws_up, &l->raw_paused,
			       &l->b->st.bytes_to_broker);
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (!l)
			return -1;
		return pump_out(l->b, wsi, &l->to_raw, LWS_WRITE_RAW, l->ws, &l->ws_paused);
	case LWS_CALLBACK_WSI_DESTROY:
		/* Backstop: every path that frees a wsi ends here. */
		if (l && l->raw == wsi) {
			l->raw = NULL;
			link_close(l);
			link_maybe_free(l);
		}
		return 0;
	case LWS_CALLBACK_RAW_CLOSE:
		if (!l)
			return 0;
		lws_set_opaque_user_data(wsi, NULL);
		l->raw = NULL;
		/* libmosquitto hung up (disconnect, or its timeout_s ran out):
		 * the broker connection has no other user. */
		if (l->ws && !l->ws_up && !l->closing)
			set_error(l->b, FB_WS_ERR_CONNECT, 0,
				  "no WebSocket upgrade answer before the MQTT client gave up");
		l->closing = true;
		if (l->ws)
			lws_set_timeout(l->ws, PENDING_TIMEOUT_KILLED_BY_PARENT,
					LWS_TO_KILL_ASYNC);
		link_maybe_free(l);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		 void *in, size_t len)
{
	struct link *l = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* OpenSSL's verdict on the broker's certificate: lws later
		 * reports only an opaque handshake error, so keep the reason
		 * (hostname mismatch, expired, unknown CA).  Returning 0 leaves
		 * the verdict to OpenSSL. */
		if (l && !len && user)
			l->b->tls_verify_error = X509_STORE_CTX_get_error(user);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!l)
			return 0;
		lws_set_opaque_user_data(wsi, NULL);
		if (!l->closing)
			connection_error(l->b, wsi, in ? (const char *)in : NULL);
		l->ws = NULL;
		link_close(l);
		link_maybe_free(l);
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!l)
			return -1;
		l->ws_up = true;
		l->b->tls_verify_error = 0;
		l->b->st.ws_established++;
		l->b->err[0] = '\0';
		l->b->err_kind = FB_WS_ERR_NONE;
		l->b->http_status = 0;
		if (l->raw && l->raw_paused) {
			lws_rx_flow_control(l->raw, 1);
			l->raw_paused = false;
		}
		if (l->to_ws.len)
			lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!l)
			return -1;
		return pump_in(wsi, in, len, &l->to_raw, l->raw, true, &l->ws_paused,
			       &l->b->st.bytes_from_broker);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!l)
			return -1;
		return pump_out(l->b, wsi, &l->to_ws, LWS_WRITE_BINARY, l->raw, &l->raw_paused);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (l && !l->closing) {
			char why[64] = "";
			unsigned code = len >= 2 ? (unsigned)((const unsigned char *)in)[0] << 8 |
							   ((const unsigned char *)in)[1]
						 : 0;

			if (code)
				snprintf(why, sizeof(why), "the broker closed it (close code %u)",
					 code);
			set_error(l->b, FB_WS_ERR_CLOSED, 0,
				  code ? why : "the broker closed it");
			l->closing = true;
		}
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (l && l->ws == wsi) {
			if (!l->closing && !l->ws_up)
				connection_error(l->b, wsi, "closed before the upgrade");
			l->ws = NULL;
			link_close(l);
			link_maybe_free(l);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!l)
			return 0;
		lws_set_opaque_user_data(wsi, NULL);
		if (!l->closing)
			set_error(l->b, FB_WS_ERR_CLOSED, 0, "connection lost");
		l->ws = NULL;
		link_close(l);
		link_maybe_free(l);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* Protocol 0 also receives context-level callbacks. */
static const struct lws_protocols protocols[] = {
	{ "fb-ws", cb_ws, 0, CHUNK_BYTES, 0, NULL, 0 },
	{ "fb-raw", cb_raw, 0, CHUNK_BYTES, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* ---- setup ---- */

static int make_listener(struct fb_ws_bridge *b, const char *runtime_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n, e;

	if (!runtime_dir || !*runtime_dir)
		runtime_dir = getenv("XDG_RUNTIME_DIR");
	if (!runtime_dir || !*runtime_dir)
		runtime_dir = "/tmp";
	n = snprintf(b->dir, sizeof(b->dir), "%s/fb-ws-XXXXXX", runtime_dir);
	if (n < 0 || (size_t)n >= sizeof(b->dir)) {
		b->dir[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	n = snprintf(b->sock_path, sizeof(b->sock_path), "%s/" SOCKET_NAME, b->dir);
	if (n < 0 || (size_t)n >= sizeof(b->sock_path)) {
		b->dir[0] = b->sock_path[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	/* mkdtemp creates the directory 0700 under a fresh random name, so no
	 * other user can reach (or pre-create) anything inside it. */
	if (!mkdtemp(b->dir)) {
		b->dir[0] = '\0';
		return -1;
	}
	/* The name was only a template until mkdtemp filled it in (same
	 * length, checked above). */
	if (snprintf(b->sock_path, sizeof(b->sock_path), "%s/" SOCKET_NAME, b->dir) >=
	    (int)sizeof(b->sock_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, b->sock_path, strlen(b->sock_path) + 1);
	b->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0)
		return -1;
	if (bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	if (chmod(b->sock_path, 0600) < 0 || listen(b->listen_fd, 4) < 0) {
		e = errno;
		unlink(b->sock_path);
		errno = e;
		return -1;
	}
	return 0;
}

static bool is_ipv6_literal(const char *host)
{
	return strchr(host, ':') != NULL;
}

static int make_context(struct fb_ws_bridge *b)
{
	const struct fb_conn_conf *c = b->conn;
	struct lws_context_creation_info info;
	void *loops[] = { &b->loop };
	unsigned timeout_s = c->timeout_s > 0 ? (unsigned)c->timeout_s
					       : LWS_TIMEOUT_FOREVER_S;

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.foreign_loops = loops;
	info.timeout_secs = timeout_s;
	info.connect_timeout_secs = timeout_s;
	info.gid = -1;
	info.uid = -1;
	/* retry_and_idle_policy stays NULL: lws then sends no WebSocket pings
	 * and never closes an idle connection, so MQTT keepalive (PINGREQ from
	 * libmosquitto) alone decides liveness, exactly as in socket mode. */
	if (c->ssl != FB_SSL_OFF) {
		info.client_ssl_ca_filepath = c->ssl_server_crt; /* NULL: system store */
		info.client_ssl_cert_filepath = c->ssl_client_crt;
		info.client_ssl_private_key_filepath = c->ssl_client_key;
		info.client_ssl_private_key_password = c->ssl_client_key_password;
	}
	b->ctx = lws_create_context(&info);
	if (!b->ctx) {
		errno = EPROTO;
		return -1;
	}
	b->vh = lws_get_vhost_by_name(b->ctx, "default");
	if (!b->vh) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static void silent_log(int level, const char *line)
{
	(void)level;
	(void)line;
}

void fb_ws_log_set(int level_mask, void (*emit)(int level, const char *line))
{
	lws_set_log_level(level_mask, emit ? emit : lwsl_emit_stderr);
}

struct fb_ws_bridge *fb_ws_bridge_new(const struct fb_conn_conf *conn,
				      const char *runtime_dir)
{
	struct fb_ws_bridge *b;
	const char *scheme = conn->ssl == FB_SSL_OFF ? "ws" : "wss";
	const char *path = conn->ws_path && *conn->ws_path ? conn->ws_path : "/mqtt";
	int e;

	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->conn = conn;
	b->listen_fd = -1;
	lws_set_log_level(0, silent_log);
	if (is_ipv6_literal(conn->broker))
		snprintf(b->host_hdr, sizeof(b->host_hdr), "[%s]", conn->broker);
	else
		snprintf(b->host_hdr, sizeof(b->host_hdr), "%s", conn->broker);
	snprintf(b->url, sizeof(b->url), "%s://%s:%d%s%s", scheme, b->host_hdr, conn->port,
		 *path == '/' ? "" : "/", path);
	switch (conn->ssl) {
	case FB_SSL_OFF:
		b->ssl_flags = 0;
		break;
	case FB_SSL_ON:
		b->ssl_flags = LCCSCF_USE_SSL;
		if (!conn->hostname_verification)
			b->ssl_flags |= LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
		break;
	case FB_SSL_TRUST_ALL:
		/* Every check off, as libmosquitto's SSL_VERIFY_NONE +
		 * tls_insecure in socket mode: a self-signed leaf, a chain that
		 * includes its own CA, an expired one, any name. */
		b->ssl_flags = LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
			       LCCSCF_ALLOW_INSECURE | LCCSCF_ALLOW_EXPIRED |
			       LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
		break;
	}
	if (uv_loop_init(&b->loop) < 0) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->loop_ok = true;
	if (make_listener(b, runtime_dir) < 0)
		goto fail;
	if (uv_poll_init(&b->loop, &b->listen_poll, b->listen_fd) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	b->listen_poll_ok = true;
	b->listen_poll.data = b;
	uv_poll_start(&b->listen_poll, UV_READABLE, on_accept);
	if (make_context(b) < 0)
		goto fail;
	return b;
fail:
	e = errno;
	fb_ws_bridge_free(b);
	errno = e;
	return NULL;
}

void fb_ws_bridge_free(struct fb_ws_bridge *b)
{
	if (!b)
		return;
	/* Detach the links first: the close callbacks lws_context_destroy
	 * delivers then find no link and touch no other wsi. */
	while (b->links) {
		struct link *l = b->links;

		b->links = l->next;
		if (l->raw)
			lws_set_opaque_user_data(l->raw, NULL);
		if (l->ws)
			lws_set_opaque_user_data(l->ws, NULL);
		queue_free(&l->to_ws);
		queue_free(&l->to_raw);
		free(l);
	}
	if (b->ctx)
		lws_context_destroy(b->ctx); /* closes every wsi */
	if (b->listen_poll_ok)
		uv_close((uv_handle_t *)&b->listen_poll, NULL);
	if (b->loop_ok) {
		/* With a foreign loop lws can only close its uv handles
		 * asynchronously: run the loop until they are closed, then
		 * a second lws_context_destroy frees the rest of the context. */
		uv_run(&b->loop, UV_RUN_DEFAULT);
		if (b->ctx)
			lws_context_destroy(b->ctx);
		uv_run(&b->loop, UV_RUN_DEFAULT);
		uv_loop_close(&b->loop);
	}
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	if (b->sock_path[0] && b->dir[0])
		unlink(b->sock_path);
	if (b->dir[0])
		rmdir(b->dir);
	free(b);
}

const char *fb_ws_bridge_socket_path(const struct fb_ws_bridge *b)
{
	return b->sock_path;
}

const char *fb_ws_bridge_url(const struct fb_ws_bridge *b)
{
	return b->url;
}

int fb_ws_bridge_fd(const struct fb_ws_bridge *b)
{
	return uv_backend_fd(&b->loop);
}

int64_t fb_ws_bridge_deadline_ms(const struct fb_ws_bridge *b, int64_t now_ms)
{
	int t = uv_backend_timeout(&b->loop);

	if (t < 0)
		return 0;
	/* uv's timers run on its cached CLOCK_MONOTONIC time, which
	 * UV_RUN_NOWAIT refreshes; +1 rounds its ms truncation up so we never
	 * wake just before the timer is due and spin. */
	return now_ms + t + (t ? 1 : 0);
}

void fb_ws_bridge_service(struct fb_ws_bridge *b)
{
	uv_run(&b->loop, UV_RUN_NOWAIT);
}

const char *fb_ws_bridge_last_error(const struct fb_ws_bridge *b)
{
	return b->err_kind == FB_WS_ERR_NONE ? NULL : b->err;
}

enum fb_ws_error fb_ws_bridge_last_error_kind(const struct fb_ws_bridge *b)
{
	return b->err_kind;
}

int fb_ws_bridge_http_status(const struct fb_ws_bridge *b)
{
	return b->http_status;
}

void fb_ws_bridge_stats(const struct fb_ws_bridge *b, struct fb_ws_bridge_stats *out)
{
	*out = b->st;
}

long fb_ws_bridge_tls_verify_error(const struct fb_ws_bridge *b)
{
	return b->err_kind == FB_WS_ERR_TLS ? b->tls_verify_error : 0;
}
