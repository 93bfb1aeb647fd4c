/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-web's parts.  Lower files first; each file calls only the
 * ones listed before it:
 *   sessions.c csrf.c backoff.c router.c sse_queue.c listen_conf.c
 *                                                    (pure logic, unit-tested)
 *   tls.c auth.c hash.c tables.c mbs_status.c fallback.c child.c
 *                                                    (files, crypt, shm, children)
 *   http.c                                           (responses, headers)
 *   apply_run.c                                      (the apply, in a child)
 *   api_session.c api_schema.c api_status.c api_config.c api_points.c api_lists.c
 *   api_apply.c api_conntest.c api_logs.c api_discovery.c api_backup.c api_scan.c
 *   sse.c static.c                                   (endpoints)
 *   server.c                                         (MHD, dispatch)
 *   listener.c                                       (switching it, rollback)
 *   main.c                                           (args, the poll loop)
 * Everything runs on the main loop's thread; nothing here locks. */
#ifndef FB_WEB_INTERNAL_H
#define FB_WEB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "table.h"
#include "table_follower.h"
#include "users.h"

/* ---- sessions.c: the session table ---- */
#define WEB_TOKEN_HEX 64            /* 32 random bytes */
#define WEB_SESSIONS_MAX 64
#define WEB_SESSION_MAX_S (12 * 3600)
#define WEB_USER_MAX 65

enum web_role { WEB_ROLE_VIEWER = 0, WEB_ROLE_OPERATOR, WEB_ROLE_ADMIN };

struct web_session {
	bool used;
	char id[WEB_TOKEN_HEX + 1];     /* the fb_session cookie */
	char csrf[WEB_TOKEN_HEX + 1];   /* the X-CSRF-Token header */
	char user[WEB_USER_MAX];
	enum web_role role;
	int64_t created_s, last_s;      /* CLOCK_MONOTONIC seconds */
};

struct web_sessions {
	struct web_session s[WEB_SESSIONS_MAX];
	int idle_s;
};

void web_sessions_init(struct web_sessions *t, int idle_s);
/* A new session (the oldest one is evicted when the table is full).
 * Returns it (borrowed from t) or NULL if no random bytes could be had. */
struct web_session *web_session_new(struct web_sessions *t, const char *user,
				    enum web_role role, int64_t now_s);
/* The live session with cookie value `id` (refreshing its idle time), or
 * NULL: unknown, idle for longer than idle_s, or older than
 * WEB_SESSION_MAX_S (then it is dropped). */
struct web_session *web_session_find(struct web_sessions *t, const char *id, int64_t now_s);
void web_session_drop(struct web_session *s);
/* Drops every session of `user` (password or role changed, user gone). */
void web_sessions_drop_user(struct web_sessions *t, const char *user);
int64_t web_session_expires_s(const struct web_sessions *t, const struct web_session *s);
/* Constant-time string equality (tokens). */
bool web_session_token_equal(const char *a, const char *b);
/* n random bytes as 2n hex digits into out (2n+1 bytes).  0 or -1. */
int web_session_random_hex(char *out, size_t nbytes);
const char *web_session_role_name(enum web_role r);
int web_session_role_parse(const char *s, enum web_role *out); /* 0 or -1 */

/* ---- csrf.c: the checks every state-changing request passes ---- */
/* Whether the Origin header equals "<scheme>://<host>" of this request
 * (host from the Host header).  A missing Origin is refused. */
bool web_csrf_origin_ok(const char *origin, const char *host, bool tls);
/* Whether header equals the session's CSRF token. */
bool web_csrf_token_ok(const struct web_session *s, const char *header);
/* The fb_session value in a Cookie header into out; false if none. */
bool web_csrf_cookie_session(const char *cookie_header, char *out, size_t len);

/* ---- backoff.c: failed logins per IP and per user ---- */
#define WEB_BACKOFF_SLOTS 256
#define WEB_BACKOFF_FIRST_MS 1000
#define WEB_BACKOFF_MAX_MS 300000

struct web_backoff_slot {
	char key[80];        /* "ip:ADDR" or "user:NAME" */
	unsigned failures;
	int64_t until_ms;    /* no attempt before (monotonic) */
	int64_t last_ms;
};
struct web_backoff {
	struct web_backoff_slot slot[WEB_BACKOFF_SLOTS];
};
void web_backoff_init(struct web_backoff *b);
/* ms until `key` may try again; 0 = now. */
int64_t web_backoff_wait_ms(const struct web_backoff *b, const char *key, int64_t now_ms);
/* A failure: the wait doubles from WEB_BACKOFF_FIRST_MS up to _MAX_MS. */
void web_backoff_fail(struct web_backoff *b, const char *key, int64_t now_ms);
void web_backoff_clear(struct web_backoff *b, const char *key);

/* ---- router.c: /api/v1 paths -> routes ---- */
enum web_route {
	WEB_R_NOT_FOUND = 0,
	WEB_R_SESSION, WEB_R_SETUP, WEB_R_STATUS, WEB_R_SCHEMA, WEB_R_CONFIG,
	WEB_R_CONFIG_VALIDATE, WEB_R_CONNECTIONS, WEB_R_CONNECTION, WEB_R_CONNECTION_TEST,
	WEB_R_BUSES, WEB_R_BUS, WEB_R_DEVICES, WEB_R_DEVICE, WEB_R_USERS, WEB_R_USER,
	WEB_R_POINT, WEB_R_EVENTS, WEB_R_CHANGES, WEB_R_APPLY, WEB_R_LOGS,
	WEB_R_DEFINITIONS, WEB_R_SERIAL_PORTS, WEB_R_SNAPSHOTS, WEB_R_SNAPSHOT_RESTORE, WEB_R_GPIO_CHIPS, WEB_R_DISCOVERY,
	WEB_R_BACKUP, WEB_R_RESTORE, WEB_R_APPLY_CONFIRM, WEB_R_APPLY_RESULT,
	WEB_R_BUS_SCAN, WEB_R_GATEWAY, WEB_R_MBSERVERS, WEB_R_MBSERVER,
};
#define WEB_ROUTE_ARGS 3
#define WEB_ARG_MAX 64
struct web_match {
	enum web_route route;
	char arg[WEB_ROUTE_ARGS][WEB_ARG_MAX]; /* percent-decoded segments */
};
/* Matches `path` (below the API prefix, e.g. "connections/ha").  Segments
 * that are empty, too long or decode to "/", ".." or a control character
 * give WEB_R_NOT_FOUND. */
void web_router_match(const char *path, struct web_match *m);

/* ---- sse_queue.c: coalescing and the per-client buffer ---- */
#define WEB_SSE_BUF_MAX (64 * 1024)
/* Points changed since the last flush, each once however often it changed:
 * the flush sends only the newest value. */
struct web_dirty {
	uint8_t *bits;
	size_t n;
	size_t count;
};
int web_sse_queue_dirty_init(struct web_dirty *d, size_t n); /* 0 or -1 */
void web_sse_queue_dirty_free(struct web_dirty *d);
void web_sse_queue_mark(struct web_dirty *d, size_t i);
/* Calls cb for every marked index in order and clears them. */
void web_sse_queue_take(struct web_dirty *d, void (*cb)(void *ctx, size_t i), void *ctx);
/* One framed event ("event: NAME\ndata: JSON\n\n", or raw text such as
 * a heartbeat), immutable and reference-counted: an update goes to every
 * stream of a user, a heartbeat to every stream, as one copy. */
struct web_sse_chunk;
/* A new chunk with one reference (the caller's), or NULL; event NULL: data
 * is sent as it is. */
struct web_sse_chunk *web_sse_queue_chunk_new(const char *event, const char *data);
void web_sse_queue_chunk_unref(struct web_sse_chunk *ch); /* NULL is fine */
/* A client's outgoing events, bounded: a client that does not read gets a
 * fresh snapshot instead of an ever-growing backlog.  The bound is
 * relative to the event added (never less than WEB_SSE_BUF_MAX), so a
 * snapshot of a large gateway always fits an empty queue.  It holds
 * references, not copies; what a slow client keeps alive is at most that
 * bound plus one event. */
#define WEB_SSE_QUEUE_LEN 32
struct web_sse_buf {
	struct web_sse_chunk *q[WEB_SSE_QUEUE_LEN]; /* a ring, each one reference */
	size_t head, count;
	size_t off;        /* bytes of q[head] already sent */
	size_t pending;    /* unsent bytes in all of q */
	bool overflow;     /* dropped: the next flush sends a snapshot */
};
/* Queues ch (taking a reference of its own; the caller keeps its one);
 * false on overflow: more than max(WEB_SSE_BUF_MAX, its size) unsent or
 * WEB_SSE_QUEUE_LEN events queued (then the queue is emptied and overflow
 * set). */
bool web_sse_queue_push(struct web_sse_buf *b, struct web_sse_chunk *ch);
/* One event for this client only (a new chunk pushed); false as push, or
 * when out of memory. */
bool web_sse_queue_append(struct web_sse_buf *b, const char *event, const char *data);
bool web_sse_queue_append_raw(struct web_sse_buf *b, const char *text);
/* Copies up to max unsent bytes to out; returns how many (0: none
 * pending).  Each event sent in full drops its reference. */
size_t web_sse_queue_take_out(struct web_sse_buf *b, char *out, size_t max);
void web_sse_queue_buf_free(struct web_sse_buf *b); /* drops every reference */

/* ---- watch.c: a file's changes as a pollable fd (inotify) ---- */
/* Watches path's directory; the fd turns readable on any change there.
 * -1 with errno when inotify cannot watch it. */
int web_watch_open(const char *path);
/* Reads every pending event; true if one may concern path (its name, or
 * the directory itself moved or deleted, or events lost). */
bool web_watch_drain(int fd, const char *path);

/* ---- listen_conf.c ---- */
/* The listener fields (web.listen, port, tls, tls_cert, tls_key) that
 * differ between the running listener and the files, as apply-plan fields
 * [{object "web", field, before, after}]; empty if none (caller frees). */
cJSON *web_listen_conf_diff(const struct fb_web_conf *run, const struct fb_web_conf *files);

/* ---- tls.c ---- */
/* Ensures "<state_dir>/web/cert.pem" and key.pem (a self-signed ECDSA P-256
 * certificate for this host) exist; returns 0, or -1 after logging. */
int web_tls_self_signed(const char *state_dir, char **cert_path, char **key_path);
/* SHA-256 fingerprint "AB:CD:..." of the PEM certificate into out (>= 96). */
int web_tls_fingerprint(const char *cert_pem, char *out, size_t len);

/* ---- auth.c: the users file as the web sees it ---- */
struct web_account {
	char name[WEB_USER_MAX];
	enum web_role role;
	char *hash;          /* crypt(3) string, NULL = cannot log in */
};
struct web_auth {
	char *users_path;    /* NULL: no users file, nobody can log in */
	struct web_account *acc;
	size_t nacc;
	struct fb_users *rights; /* the same file through fb_users (rights) */
	int64_t mtime_ns, size, ino;
	char dummy_hash[128];   /* checked for unknown users: same cost */
	char *state_dir;
	char setup_code[16];    /* "" when an admin exists */
};
int web_auth_init(struct web_auth *a, const char *users_path, const char *state_dir);
void web_auth_free(struct web_auth *a);
/* Re-reads the file when it changed; calls gone(user) for every user
 * whose password or role changed or who disappeared.  Returns true if
 * it was re-read. */
bool web_auth_refresh(struct web_auth *a, void (*gone)(void *ctx, const char *user),
		      void *ctx);
const struct web_account *web_auth_find(const struct web_auth *a, const char *name);
/* Checks the password (against the dummy hash for an unknown user, so
 * both take as long).  One crypt at a time: the loop is single-threaded. */
bool web_auth_verify(const struct web_auth *a, const char *user, const char *password);
bool web_auth_has_admin(const struct web_auth *a);
/* While no admin exists: makes a setup code (stored 0600 in
 * "<state_dir>/web/setup-code") and logs it; clears it once one exists. */
void web_auth_setup_code(struct web_auth *a);
enum fb_access web_auth_access(const struct web_auth *a, const char *user,
			       const char *device, const char *point);

/* ---- hash.c: one crypt(3) in a forked child, so its memory (16 MiB for
 * yescrypt) never counts in the daemon's own.  0, or -1 on failure. ---- */
int web_hash_crypt(const char *password, const char *setting, char *out, size_t outsize);

/* ---- tables.c: the bus tables, read for values, written for commands ---- */
struct web_tables;
struct web_command;
struct web_bus {
	const struct fb_bus_conf *conf; /* borrowed from the config */
	struct web_tables *t;
	char instance[128];
	struct fb_table_follower *f;
	struct fb_table_reader *reader; /* the follower's; NULL while detached */
	struct web_dirty dirty;         /* points changed since the last flush */
	bool devices_dirty;
	int last_attach_errno;          /* logged once per change */
};
struct web_command {                /* a command waiting for its result */
	bool used;
	uint64_t ticket;
	struct web_bus *bus;
	int64_t deadline_ms;
	uint8_t status;                 /* 0 = waiting (timed out if still 0) */
	char reason[FB_TABLE_REASON_MAX];
	void *req;                      /* the suspended request */
};
#define WEB_COMMANDS_MAX 32
struct web_tables {
	struct web_bus *bus;
	size_t nbus;
	struct web_command cmd[WEB_COMMANDS_MAX];
	char origin[FB_TABLE_ORIGIN_MAX];
	/* Called for a command that finished, failed or lost its driver. */
	void (*done)(void *ctx, struct web_command *c);
	void *done_ctx;
};
int web_tables_init(struct web_tables *t, const struct fb_config *cfg,
		    void (*done)(void *ctx, struct web_command *c), void *done_ctx);
void web_tables_free(struct web_tables *t);
/* Attaches tables whose driver appeared, re-attaches superseded ones and
 * checks heartbeats (table_follower.h); returns when it is due next: a
 * second while a driver is missing, else when a heartbeat would turn
 * stale. */
int64_t web_tables_maintain(struct web_tables *t, int64_t mono_ms);
/* Bus b's fd was readable: marks dirty points, collects command results. */
void web_tables_poll(struct web_tables *t, struct web_bus *b);
int web_tables_fd(const struct web_bus *b); /* -1 while detached */
bool web_tables_alive(const struct web_bus *b);
struct web_bus *web_tables_bus(struct web_tables *t, const char *name);
/* The point's JSON {"value","quality","read_ts","change_ts"} (caller frees). */
cJSON *web_tables_point_json(const struct web_bus *b, uint32_t index);
const char *web_tables_quality_name(uint8_t q);

/* ---- child.c: helper programs whose stdout joins the poll set ---- */
#define WEB_CHILDREN_MAX 8
#define WEB_CHILD_OUT_MAX (1024 * 1024)
struct web_child {
	bool used;
	int pid;
	int fd;                         /* stdout; -1 after end of file */
	char *out;                      /* what it printed, NUL-terminated */
	size_t len;
	bool overflow;                  /* printed more than WEB_CHILD_OUT_MAX */
	bool exited, timed_out;
	int exit_code;                  /* -1: killed by a signal */
	int64_t deadline_ms;
	char key[WEB_ARG_MAX + 16];     /* one child per key ("test:NAME") */
	void *req;                      /* the suspended request, or NULL */
	void (*done)(struct web_child *c); /* called once, then the slot is freed */
	char what[WEB_ARG_MAX];         /* for the done callback */
	int timeout_s;
	void *ctx;                      /* for the done callback (the daemon) */
};
struct web_child *web_child_find(struct web_child *tab, const char *key);
/* Runs prog (searched in PATH when it has no '/') with stdin /dev/null and
 * stdout into a pipe.  0, or an errno value. */
int web_child_spawn(struct web_child *tab, const char *key, const char *prog,
		    char *const argv[], int64_t timeout_ms, struct web_child **out);
/* Forks a child that runs fn(fd, arg), fd being the pipe, and exits:
 * for work of this program's own libraries that would stall the loop.
 * Its signals are unblocked and every other descriptor but stderr is
 * closed.  0, or an errno value. */
int web_child_fork(struct web_child *tab, const char *key, void (*fn)(int fd, void *arg),
		   void *arg, int64_t timeout_ms, struct web_child **out);
/* Its fd was readable or hung up. */
void web_child_read(struct web_child *c);
/* Kills children past their deadline and reaps the ended ones. */
void web_child_check(struct web_child *tab, int64_t now, int64_t *next);
void web_child_kill_all(struct web_child *tab);

/* ---- http.c ---- */
struct MHD_Connection;
struct MHD_Response;
struct web;
struct web_req;
/* Adds the security headers (and no-store for the API) to r. */
void web_http_headers(struct MHD_Response *r, bool api);
/* MHD_resume_connection, noted so web_server_run runs MHD once more: a
 * connection resumed inside MHD_run is served only by the next one, and
 * nothing else may wake the loop for it. */
void web_http_resume(struct web *w, struct MHD_Connection *conn);
/* Queues `doc` (taken: freed here) with `status`; returns MHD_YES/NO. */
int web_http_json(struct web_req *q, unsigned status, cJSON *doc);
/* The answer of a request suspended while a child or a driver works:
 * `doc` (taken) with `status` is sent once MHD resumes it, now. */
void web_http_answer_later(struct web_req *q, unsigned status, cJSON *doc);
/* {"error": message} */
int web_http_error(struct web_req *q, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* {"error": message, "diagnostics": [...]} from diag */
int web_http_diag(struct web_req *q, unsigned status, const char *error,
		  const struct fb_diag *d);
cJSON *web_http_diag_json(const struct fb_diag *d);
const char *web_http_header(struct web_req *q, const char *name);
/* The HTTP status for an enum fb_edit_rc. */
unsigned web_http_edit_status(int edit_rc);
/* The request body as JSON (an object), or NULL after queueing 400. */
cJSON *web_http_body(struct web_req *q, int *rc);

/* ---- apply_run.c: applying in a forked child, the request file ---- */
#define WEB_APPLY_KEY "apply"       /* its child's key: one apply at a time */
#define WEB_JOB_ID_BYTES 8          /* ids are 16 hex digits */
struct fb_apply_plan;
struct fb_apply_request;
struct web_apply_job {
	bool running;
	char id[2 * WEB_JOB_ID_BYTES + 1]; /* POST apply/{id}/confirm */
	char user[WEB_USER_MAX];        /* who applies: the snapshot's user */
	char by[160];                   /* "USER from ADDR", for the log */
	const char *config_path;
	struct fb_apply_plan *plan;     /* made by the loop, run by the child;
					 * NULL: planned after the restore */
	unsigned restore;               /* a snapshot restored first (0: none) */
	unsigned before;                /* the newest snapshot before this apply */
};
struct web;
/* The plan as GET changes shows it (with each daemon's done and result
 * after a run).  Caller frees. */
cJSON *web_apply_plan_json(const struct fb_apply_plan *p, bool results);
/* Runs w->apply (filled in by the caller) in a child; done(c) gets it
 * (c->ctx is w) once it ended.  The job's plan is freed here.  0 or an
 * errno value. */
int web_apply_start(struct web *w, void (*done)(struct web_child *c));
/* The stages the child reported so far: [{stage, unit, done, ok, result}]. */
cJSON *web_apply_progress(const struct web_child *c);
/* Its answer (caller frees) and HTTP status, once it ended. */
cJSON *web_apply_result(const struct web_child *c, unsigned *status);
/* Frees what the job holds and clears it. */
void web_apply_job_end(struct web *w);
/* Writes the --apply-request file (0640, atomically): 0, or -1 after
 * logging. */
int web_apply_request(struct web *w, const struct fb_apply_request *r, const char *from);
/* The main file now, as the text a listener rollback writes back: read at
 * start, after a confirmed listener change, and after every apply that
 * changed no listener field (then the files are what runs). */
void web_apply_main_reload(struct web *w);

/* ---- fallback.c ---- */
/* The main file's gateway and web sections alone, loaded (caller frees
 * with fb_config_free); NULL if even they do not load. */
struct fb_config *web_fallback_config(const char *main_path, struct fb_diag *diag);

/* ---- the daemon's state (server.c owns it) ---- */
struct web_sse_client;
struct web {
	bool resumed;                   /* a connection resumed inside MHD_run */
	const char *config_path;
	struct fb_config *cfg;          /* loaded at start; buses and tables */
	const char *www_dir;
	bool tls;
	bool degraded;                  /* started on a config with errors */
	char fingerprint[128];
	struct web_sessions sessions;
	struct web_backoff backoff;
	struct web_auth auth;
	struct web_tables tables;
	struct web_sse_client *clients; /* list */
	size_t nclients;
	struct web_static *statics;
	size_t nstatics;
	int64_t next_flush_ms, next_heartbeat_ms;
	int64_t next_tables_ms;         /* web_tables_maintain's deadline */
	int users_watch;                /* web_watch_open of the users file, or -1 */
	int64_t next_users_ms;          /* without a watch: the next stat */
	struct web_child children[WEB_CHILDREN_MAX];
	struct MHD_Daemon *mhd[8];      /* one per listen address */
	size_t nmhd;
	/* The running listener and a change of it (listener.c; api_apply.c
	 * asks for a switch and confirms it, only by setting these). */
	const struct fb_web_conf *listen; /* borrowed from cfg or listen_cfg */
	struct fb_config *listen_cfg;   /* owned after a confirmed switch */
	char *main_text;                /* the main file the listener came from */
	size_t main_len;
	int confirm_timeout_s;          /* --confirm-timeout-s, default 90 */
	enum { WEB_LISTEN_IDLE, WEB_LISTEN_SWITCH, WEB_LISTEN_PENDING } listen_state;
	struct fb_config *listen_next;  /* owned: SWITCH and PENDING */
	int64_t listen_at_ms;           /* SWITCH: when; PENDING: the deadline */
	bool listen_confirmed;
	char listen_by[160];            /* "USER from ADDR", for the log */
	char listen_user[WEB_USER_MAX];
	char listen_id[2 * WEB_JOB_ID_BYTES + 1]; /* the apply's id: confirm names it */
	unsigned listen_before;         /* the snapshot a rollback restores (0: none) */
	struct web_apply_job apply;     /* the apply running, if any (apply_run.c) */
	/* --apply-request PATH: not root, so apply asks fieldbridge-apply.path
	 * (a root oneshot running `fieldbridgectl config apply`) by writing
	 * PATH; its output appears as "apply.result" beside it. */
	const char *apply_request;
	int64_t apply_requested_ns;     /* CLOCK_REALTIME of the last request, 0 = none */
	int64_t apply_requested_mono;   /* the same, monotonic ms (requests go stale) */
};

/* One HTTP request, from its first header to its response. */
struct web_req {
	struct web *w;
	struct MHD_Connection *conn;
	const char *method;
	char path[512];                 /* the URL path as sent */
	char *body;
	size_t body_len;
	bool body_too_big;
	char peer[64];                  /* the client's IP address */
	bool via_proxy;                 /* from a trusted proxy: X-Forwarded-* apply */
	bool tls;                       /* the browser's side is HTTPS */
	struct web_session *session;    /* NULL if not logged in */
	struct web_command *cmd;        /* api_points: waiting for a result */
	struct web_child *child;        /* api_conntest, api_logs: running */
	bool suspended;
	cJSON *pending_doc;             /* the answer after resume */
	unsigned pending_status;
	char set_cookie[256];           /* added to the next response */
	char etag[40];                  /* ETag header of the next response */
	char disposition[128];          /* Content-Disposition of the next response */
};

/* ---- mbs_status.c ---- */
/* Modbus TCP server `name`'s state from its own table: {running, reason,
 * clients, requests_per_s, errors_per_s, heartbeat_age_ms} (caller frees). */
cJSON *web_mbs_status(const struct fb_config *cfg, const char *name);

/* ---- api_*.c ---- */
int web_api_session(struct web_req *q);
int web_api_setup(struct web_req *q);
int web_api_schema(struct web_req *q);
int web_api_status(struct web_req *q);
int web_api_config(struct web_req *q, const struct web_match *m);
int web_api_point(struct web_req *q, const struct web_match *m);
/* GET changes, POST apply, POST apply/confirm, GET apply/result, GET snapshots,
 * POST snapshots/{id}/restore */
int web_api_apply(struct web_req *q, const struct web_match *m);
/* GET definitions, GET serial-ports, GET gpio-chips */
int web_api_lists(struct web_req *q, const struct web_match *m);
/* GET backup?secrets=0|1, POST restore (admin) */
int web_api_backup(struct web_req *q, const struct web_match *m);
/* GET buses/{b}/devices/{d}/discovery: topics and payload per connection */
int web_api_discovery(struct web_req *q, const struct web_match *m);
/* POST connections/{name}/test: fieldbridge-export --test --json */
int web_api_conntest(struct web_req *q, const struct web_match *m);
/* api_scan.c: POST buses/{bus}/scan through fieldbridgectl bus scan */
int web_api_scan(struct web_req *q, const struct web_match *m);
/* GET logs: journalctl -o json */
int web_api_logs(struct web_req *q);
/* Called by server.c when a command's result arrived or it timed out. */
void web_api_point_done(struct web_req *q, struct web_command *c);

/* ---- sse.c ---- */
int web_sse_open(struct web_req *q);
/* Every WEB_SSE_FLUSH_MS: sends coalesced updates to every client. */
#define WEB_SSE_FLUSH_MS 250
#define WEB_SSE_HEARTBEAT_MS 15000
void web_sse_flush(struct web *w, int64_t mono_ms);
void web_sse_close_all(struct web *w);
/* Ends the streams whose session ended (logout, user changed, expiry);
 * returns when the next open stream's session expires (0: none open). */
int64_t web_sse_reap(struct web *w, int64_t mono_ms);

/* ---- server.c ---- */
struct MHD_Daemon;
/* Starts one MHD daemon per listen address (external epoll mode: no
 * threads; their fds join the main loop).  cert/key: PEM text, or NULL
 * for plain HTTP.  0, or -1 after logging. */
int web_server_start(struct web *w, const struct fb_web_conf *conf, const char *cert_pem,
		     const char *key_pem);
void web_server_stop(struct web *w);
/* Lets MHD do its work; call when a daemon's fd is readable or its timeout
 * passed.  Returns the earliest MHD deadline (fb_mono_ms units) or 0. */
int64_t web_server_run(struct web *w);
int web_server_fd(const struct web *w, size_t i);
/* Notices users-file changes made elsewhere (fieldbridgectl) and ends the
 * sessions and streams they revoke: when users_changed (the watch fired),
 * or every WEB_USERS_POLL_MS where inotify cannot watch the file; ends the
 * streams whose session expired.  Lowers *next to its next deadline. */
#define WEB_USERS_POLL_MS 1000
void web_server_maintain(struct web *w, int64_t now, bool users_changed, int64_t *next);
/* Before web_server_stop: answers waiting commands and ends every stream,
 * so no connection is left suspended. */
void web_server_shutdown(struct web *w);
/* A command finished (or timed out): its request is answered. */
void web_server_command_done(void *ctx, struct web_command *c);

/* ---- listener.c ---- */
/* Keeps the main file's text (the rollback target) and the timeout. */
void web_listener_init(struct web *w, int confirm_timeout_s);
/* Opens cfg's listener with its certificate (self-signed if tls auto and
 * none is set).  0, or -1 after logging. */
int web_listener_start(struct web *w, const struct fb_config *cfg);
/* Does a switch asked for (WEB_LISTEN_SWITCH), ends a confirmed one, rolls
 * back an overdue one; lowers *next to its deadline. */
void web_listener_tick(struct web *w, int64_t now, int64_t *next);
void web_listener_free(struct web *w);

/* ---- static.c ---- */
struct web_static {
	char *url;        /* "/index.html" */
	char *path;       /* file on disk */
	const char *type; /* Content-Type */
};
/* Lists every regular file below dir once; only those are ever served. */
int web_static_init(struct web *w, const char *dir);
void web_static_free(struct web *w);
int web_static_serve(struct web_req *q, const char *url);

#endif
