/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-web: the web configuration page and its API (docs/web.md).
 * One process, one thread, one poll() loop over the signalfd, a timerfd,
 * libmicrohttpd's epoll fds, the bus tables' change fds and a watch of the
 * users file; the timerfd is armed for the earliest deadline, never a
 * fixed tick. */
#include "web-internal.h"
#include "config_tls.h"
#include "daemon.h"
#include "fb_defaults.h"
#include "jsonfile.h"
#include "log.h"
#include "notify.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FB_DEFAULT_WWW_DIR
#define FB_DEFAULT_WWW_DIR "/usr/share/fieldbridge/www"
#endif
#define POLL_FDS_MAX 64

struct opts {
	const char *config_path, *www;
	bool check;
	int verbose;
	int confirm_timeout_s;
	const char *apply_request;
	int log_level; /* -q / --log-level; 0 = not given */
};

static void usage(FILE *out)
{
	fprintf(out,
"usage: fieldbridge-web [-c PATH] [--www DIR] [--confirm-timeout-s N]\n"
"                       [--apply-request PATH] [--check] [-v | -q | --log-level LEVEL]\n"
"  -c, --config PATH  main configuration file (default %s)\n"
"      --www DIR      the pages (default %s)\n"
"      --confirm-timeout-s N\n"
"                     a changed listener rolls back unless confirmed within N\n"
"                     seconds (default 90)\n"
"      --apply-request PATH\n"
"                     apply by writing PATH for fieldbridge-apply.path (a root\n"
"                     service restarts the units) instead of restarting them\n"
"      --check        check the configuration, print every problem, exit\n"
"  -v, --verbose      more log (twice: debug)\n"
"  -q, --quiet        warnings and errors only (--log-level warning)\n"
"      --log-level L  warning, info or debug (default: notice, or the\n"
"                     config's log_level)\n", FB_DEFAULT_CONFIG, FB_DEFAULT_WWW_DIR);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' }, { "www", required_argument, NULL, 'w' },
		{ "check", no_argument, NULL, 'k' }, { "verbose", no_argument, NULL, 'v' },
		{ "confirm-timeout-s", required_argument, NULL, 't' },
		{ "apply-request", required_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' }, { "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .config_path = FB_DEFAULT_CONFIG, .www = FB_DEFAULT_WWW_DIR,
			    .confirm_timeout_s = 90 };
	while ((c = getopt_long(argc, argv, "c:vqhV", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config_path = optarg; break;
		case 'w': o->www = optarg; break;
		case 'k': o->check = true; break;
		case 'a': o->apply_request = optarg; break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > 3600) {
				fprintf(stderr, "fieldbridge-web: --confirm-timeout-s: expected "
					"1..3600, got \"%s\"\n", optarg);
				return -1;
			}
			o->confirm_timeout_s = (int)v;
			break;
		}
		case 'v': o->verbose++; break;
		case 'q': o->log_level = FB_LOG_WARNING; break;
		case 'l':
			o->log_level = fb_log_level_parse(optarg);
			if (o->log_level < 0) {
				fprintf(stderr, "fieldbridge-web: --log-level %s: expected warning, "
					"info or debug\n", optarg);
				return -1;
			}
			break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("fieldbridge-web %s\n", FB_VERSION); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static void check_commands(struct web *w, int64_t now, int64_t *next)
{
	for (size_t i = 0; i < WEB_COMMANDS_MAX; i++) {
		struct web_command *c = &w->tables.cmd[i];

		if (!c->used)
			continue;
		if (now >= c->deadline_ms)
			web_server_command_done(w, c); /* status 0: timed out */
		else
			*next = fb_deadline_min(*next, c->deadline_ms);
	}
}

static bool any_dirty(const struct web *w)
{
	for (size_t i = 0; i < w->tables.nbus; i++)
		if (w->tables.bus[i].dirty.count || w->tables.bus[i].devices_dirty)
			return true;
	return false;
}

static int run(struct web *w, int sfd, int tfd)
{
	struct fb_notify_loop nl;
	bool users_changed = false;
	int64_t armed = -1; /* the timerfd's deadline; -1: none, or it fired */

	fb_notify_loop_init(&nl, fb_mono_ms());
	for (;;) {
		struct pollfd pfd[POLL_FDS_MAX];
		struct web_bus *busof[POLL_FDS_MAX];
		struct web_child *childof[POLL_FDS_MAX];
		int64_t now = fb_mono_ms(), next, maintain = 0;
		size_t n = 0, users_at = 0;

		/* No fixed tick: each part says when it is due next, and an idle
		 * daemon sleeps in poll() until then or until an fd wakes it. */
		if (now >= w->next_tables_ms)
			w->next_tables_ms = web_tables_maintain(&w->tables, now);
		web_server_maintain(w, now, users_changed, &maintain);
		users_changed = false;
		if (any_dirty(w) && now >= w->next_flush_ms) {
			web_sse_flush(w, now);
			w->next_flush_ms = now + WEB_SSE_FLUSH_MS;
		} else if (now >= w->next_heartbeat_ms) {
			web_sse_flush(w, now);
		}
		next = web_server_run(w);
		web_listener_tick(w, now, &next);
		check_commands(w, now, &next);
		web_child_check(w->children, now, &next);
		next = fb_deadline_min(next, w->next_tables_ms);
		next = fb_deadline_min(next, maintain);
		if (w->nclients)
			next = fb_deadline_min(next, w->next_heartbeat_ms);
		if (any_dirty(w))
			next = fb_deadline_min(next, w->next_flush_ms);
		next = fb_deadline_min(next, fb_notify_loop_watchdog(&nl, now));
		fb_timerfd_rearm(tfd, next > now ? next : now + 1, &armed);

		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = tfd, .events = POLLIN };
		for (size_t i = 0; i < w->nmhd && n < POLL_FDS_MAX; i++)
			pfd[n++] = (struct pollfd){ .fd = web_server_fd(w, i), .events = POLLIN };
		if (w->users_watch >= 0) {
			users_at = n;
			busof[n] = NULL;
			childof[n] = NULL;
			pfd[n++] = (struct pollfd){ .fd = w->users_watch, .events = POLLIN };
		}
		for (size_t i = 0; i < w->tables.nbus && n < POLL_FDS_MAX; i++) {
			int fd = web_tables_fd(&w->tables.bus[i]);

			if (fd < 0)
				continue;
			busof[n] = &w->tables.bus[i];
			childof[n] = NULL;
			pfd[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
		for (size_t i = 0; i < WEB_CHILDREN_MAX && n < POLL_FDS_MAX; i++) {
			if (!w->children[i].used || w->children[i].fd < 0)
				continue;
			busof[n] = NULL;
			childof[n] = &w->children[i];
			pfd[n++] = (struct pollfd){ .fd = w->children[i].fd, .events = POLLIN };
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fb_log_errno(FB_LOG_ERR, "web: poll");
			return 1;
		}
		if (pfd[1].revents & POLLIN)
			armed = -1;
		if ((pfd[0].revents & POLLIN) && fb_daemon_signal_stop(sfd, "web", "server", NULL)) {
			fb_notify_loop_stopping(&nl);
			return 0;
		}
		if (users_at && (pfd[users_at].revents & POLLIN))
			users_changed = web_watch_drain(w->users_watch, w->auth.users_path);
		for (size_t i = 2 + w->nmhd; i < n; i++) {
			if (busof[i] && (pfd[i].revents & POLLIN))
				web_tables_poll(&w->tables, busof[i]);
			else if (childof[i] && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				web_child_read(childof[i]);
		}
	}
}

int main(int argc, char **argv)
{
	struct web w;
	struct opts o;
	struct fb_diag d;
	char *abs_config = NULL;
	int rc = 1, sfd = -1, tfd = -1;

	memset(&w, 0, sizeof(w));
	w.users_watch = -1;
	rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? 2 : 0;
	if (o.check) {
		static const struct fb_config_checks all = {
			.airtime = true, .users = true, .tls = fb_config_tls_check,
		};
		struct fb_daemon_args a = { .config_path = o.config_path, .check = true };

		/* The page shows the whole gateway: every check. */
		return fb_daemon_check(&a, "connection", &all);
	}
	fb_log_init("fieldbridge-web", fb_log_level_pick(o.log_level, o.verbose, FB_LOG_NOTICE));
	fb_diag_init(&d);
	w.cfg = fb_config_load(o.config_path, &d);
	if (w.cfg && w.cfg->log_level && !o.log_level && !o.verbose)
		fb_log_set_level((enum fb_log_level)w.cfg->log_level);
	if (w.cfg)
		fb_config_load_definitions(w.cfg, NULL, &d);
	fb_diag_log(&d);
	fb_diag_free(&d);
	if (!w.cfg) {
		fb_diag_init(&d);
		w.cfg = web_fallback_config(o.config_path, &d);
		if (!w.cfg) {
			fb_diag_log(&d);
			fb_diag_free(&d);
			fb_err("web: %s: even the gateway and web sections do not load: not "
			       "started", o.config_path);
			return FB_EXIT_CONFIG;
		}
		fb_diag_free(&d);
		w.degraded = true;
		fb_err("web: %s has errors: serving the page to fix them, without buses "
		       "and values (restart fieldbridge-web once it is valid)", o.config_path);
	}
	rc = 1;
	/* Absolute: the edit library stages copies elsewhere and resolves the
	 * main file's relative paths against its real directory. */
	abs_config = realpath(o.config_path, NULL);
	w.config_path = abs_config ? abs_config : o.config_path;
	w.www_dir = o.www;
	web_sessions_init(&w.sessions, w.cfg->web.session_idle_s);
	web_backoff_init(&w.backoff);
	if (web_auth_init(&w.auth, w.cfg->users_file, w.cfg->state_dir) < 0) {
		fb_err("web: cannot prepare password checks (libcrypt)");
		goto out;
	}
	if (mkdir(w.cfg->state_dir, 0750) < 0 && errno != EEXIST)
		fb_log_errno(FB_LOG_WARNING, "web: cannot create %s", w.cfg->state_dir);
	if (!w.cfg->users_file)
		fb_warn("web: gateway.users_file is not set: nobody can log in");
	web_auth_refresh(&w.auth, NULL, NULL);
	w.users_watch = w.cfg->users_file ? web_watch_open(w.cfg->users_file) : -1;
	if (w.cfg->users_file && w.users_watch < 0)
		fb_log_errno(FB_LOG_WARNING, "web: cannot watch %s for changes (checked every "
			     "second instead)", w.cfg->users_file);
	if (web_static_init(&w, o.www) < 0 ||
	    web_tables_init(&w.tables, w.cfg, web_server_command_done, &w) < 0)
		goto out;
	web_listener_init(&w, o.confirm_timeout_s);
	w.apply_request = o.apply_request;
	sfd = fb_signalfd_open();
	tfd = fb_timerfd_open();
	if (sfd < 0 || tfd < 0) {
		fb_log_errno(FB_LOG_ERR, "web: signalfd/timerfd");
		goto out;
	}
	if (web_listener_start(&w, w.cfg) < 0)
		goto out;
	w.next_heartbeat_ms = fb_mono_ms() + WEB_SSE_HEARTBEAT_MS;
	if (fb_notify_ready() < 0 ||
	    fb_notify_status("port %d, %s%s%s", w.cfg->web.port, w.tls ? "TLS " : "plain HTTP",
			     w.tls ? "SHA-256 " : "", w.tls ? w.fingerprint : "") < 0)
		fb_log_errno(FB_LOG_WARNING, "web: sd_notify");
	rc = run(&w, sfd, tfd);
	web_server_shutdown(&w);
	web_server_stop(&w);
	fb_info("web: stopped");
out:
	if (w.users_watch >= 0)
		close(w.users_watch);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	web_tables_free(&w.tables);
	web_static_free(&w);
	web_auth_free(&w.auth);
	web_listener_free(&w);
	fb_config_free(w.cfg);
	free(abs_config);
	return rc;
}
