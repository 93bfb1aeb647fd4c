/* SPDX-License-Identifier: Apache-2.0 */
/* Setup and the one poll() loop of fieldbridge-export: signals, one
 * timerfd for every deadline (the session's and the transport's), the MQTT
 * socket, the transport's fds (websocket bridge), and one fd per attached
 * table.  Each readiness is handed to the session (session.c). */
#include "export-internal.h"
#include "clock.h"
#include "daemon.h"
#include "exporter.h"
#include "log.h"
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void make_boot_id(struct exporter *ex)
{
	unsigned char rnd[8] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
			memset(rnd, 0, sizeof(rnd));
		close(fd);
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(ex->boot_id + 2 * i, 3, "%02x", rnd[i]);
	srandom((unsigned)(rnd[0] | rnd[1] << 8 | rnd[2] << 16) ^ (unsigned)getpid());
}

/* A connect that neither succeeds nor fails soon (timeout_s is 90 s by
 * default; a silent listener, a black-holed address) must not hold the
 * unit in "activating": `systemctl restart`, and with it the web page's
 * apply, waits for READY=1. */
#define READY_AT_LATEST_MS 10000

/* The entities our user gets: the visible points of exported devices (the
 * Modbus diagnostics are not counted).  O(points): at start and SIGHUP. */
static size_t count_entities(const struct exporter *ex, size_t *devices)
{
	size_t n = 0;

	*devices = 0;
	for (size_t i = 0; i < ex->ndevices; i++) {
		const struct ex_device *d = &ex->devices[i];

		if (!d->exported)
			continue;
		++*devices;
		for (size_t p = 0; p < d->def->npoints; p++)
			n += ex_rights_visible(d, p);
	}
	return n;
}

/* What `systemctl status` shows, and READY=1 once the first connect has
 * an outcome.  Returns the notifications' next deadline. */
static int64_t exporter_notify(struct exporter *ex, struct fb_notify_loop *nl, size_t entities,
			       size_t devices, int64_t start_ms, int64_t now_ms)
{
	const struct ex_link *l = &ex->link;
	const char *why = l->last_logged;
	char prefix[EX_TOPIC_MAX];
	size_t alive = 0, plen;

	for (size_t b = 0; b < ex->nbuses; b++)
		alive += ex->buses[b].alive;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "connection %s: ", ex->conn->name);
	if (!strncmp(why, prefix, plen))
		why += plen;
	if (l->connected)
		fb_notify_loop_status(nl, "connected to %s:%d, %zu entities on %zu devices, "
				      "%zu of %zu buses alive", ex->conn->broker, ex->conn->port,
				      entities, devices, alive, ex->nbuses);
	else if (*why)
		fb_notify_loop_status(nl, "not connected: %s; retrying", why);
	else
		fb_notify_loop_status(nl, "connecting to %s:%d", ex->conn->broker, ex->conn->port);
	if (l->connected || *why || now_ms - start_ms >= READY_AT_LATEST_MS)
		fb_notify_loop_ready(nl);
	return fb_deadline_min(fb_notify_loop_watchdog(nl, now_ms),
			       nl->ready ? 0 : start_ms + READY_AT_LATEST_MS);
}

static int exporter_loop(struct exporter *ex)
{
	int64_t transport_deadline = 0, start_ms = fb_mono_ms(), armed = -1;
	struct pollfd *pfd = calloc(3 + ex->nbuses + EX_TRANSPORT_FDS_MAX, sizeof(*pfd));
	struct fb_notify_loop nl;
	size_t devices, entities = count_entities(ex, &devices);

	if (!pfd)
		return -1;
	fb_notify_loop_init(&nl, start_ms);
	ex_link_connect(&ex->link, fb_mono_ms());
	while (!ex->stop) {
		int64_t now = fb_mono_ms(), deadline;
		size_t n = 0, tfirst, tn;
		int sock;

		deadline = fb_deadline_min(ex_session_deadlines(ex, now), transport_deadline);
		deadline = fb_deadline_min(deadline, exporter_notify(ex, &nl, entities, devices,
								     start_ms, now));
		fb_timerfd_rearm(ex->timer_fd, deadline, &armed);
		pfd[n++] = (struct pollfd){ .fd = ex->signal_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ex->timer_fd, .events = POLLIN };
		sock = ex_link_socket(&ex->link);
		pfd[n++] = (struct pollfd){ .fd = sock,
			.events = (short)(POLLIN | (ex_link_want_write(&ex->link) ? POLLOUT : 0)) };
		for (size_t b = 0; b < ex->nbuses; b++)
			pfd[n++] = (struct pollfd){
				.fd = ex_bus_view_fd(&ex->buses[b]),
				.events = POLLIN };
		tfirst = n;
		tn = ex->transport.add_fds(ex->transport.ctx, pfd + n, EX_TRANSPORT_FDS_MAX);
		n += tn;
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fb_log_errno(FB_LOG_ERR, "poll");
			free(pfd);
			return -1;
		}
		now = fb_mono_ms();
		if (pfd[1].revents & POLLIN)
			armed = -1;
		if (pfd[0].revents & POLLIN) {
			ex_session_signal(ex);
			entities = count_entities(ex, &devices); /* SIGHUP: new rights */
		}
		/* Resume the back-pressured states whenever nothing is queued:
		 * a burst often drains inside a publish call, with no POLLOUT
		 * to say so (states then waited for the 1 s tick). */
		if (sock >= 0 && pfd[2].revents && ex_link_service(&ex->link, pfd[2].revents, now) &&
		    !ex_link_want_write(&ex->link))
			ex_session_link_drained(ex);
		for (size_t b = 0; b < ex->nbuses; b++)
			if (pfd[3 + b].revents & POLLIN)
				ex_session_table_readable(ex, &ex->buses[b]);
		/* Serviced every pass: the bridge moves bytes between its fds
		 * and libmosquitto's socket, and has its own timers. */
		transport_deadline = ex->transport.service(ex->transport.ctx, pfd + tfirst, tn,
							   fb_mono_ms());
	}
	free(pfd);
	fb_notify_loop_stopping(&nl);
	ex_link_close(&ex->link, "offline");
	return 0;
}

int ex_run(const struct fb_daemon_args *args)
{
	struct exporter ex;
	struct fb_daemon_setup setup;
	struct fb_diag diag;
	int rc = 1;

	memset(&ex, 0, sizeof(ex));
	ex.signal_fd = ex.timer_fd = -1;
	fb_diag_init(&diag);
	/* Bad definitions disable their device only. */
	if (fb_daemon_start(args, "connection", NULL, &setup) < 0) {
		rc = setup.exit_code;
		goto out;
	}
	ex.cfg = setup.cfg;
	ex.conn = setup.conn;
	ex.signal_fd = setup.signal_fd;
	ex.timer_fd = setup.timer_fd;
	ex.users = fb_config_load_users(ex.cfg, ex.conn, &diag);
	fb_diag_log(&diag);
	if (ex.cfg->users_file && !ex.users) {
		fb_err("connection %s: users file %s has errors; nothing started", ex.conn->name,
		       ex.cfg->users_file);
		rc = FB_EXIT_CONFIG;
		goto out;
	}
	ex.user = fb_users_find(ex.users, ex.conn->user);
	{
		char err[1024]; /* a plugin's path and dlerror's, twice the path */

		/* The WebSocket bridge reads the TLS files now: say precisely
		 * which file or password is wrong before it does. */
		if (ex.conn->mode == FB_CONN_WEBSOCKET && ex.conn->ssl != FB_SSL_OFF) {
			int bad = ex_tls_precheck(ex.conn, err, sizeof(err));

			if (err[0])
				fb_err("%s", err);
			if (bad < 0) {
				rc = FB_EXIT_CONFIG; /* a file or password to fix */
				goto out;
			}
		}
		if (ex_transport_open(&ex.transport, ex.conn, err, sizeof(err)) < 0) {
			fb_err("connection %s: %s", ex.conn->name, err);
			goto out;
		}
	}

	make_boot_id(&ex);
	if (ex_topics_init(&ex) < 0) {
		fb_err("connection %s: node_id or discovery_prefix too long", ex.conn->name);
		rc = FB_EXIT_CONFIG;
		goto out;
	}
	if (ex_bus_view_build(&ex) < 0) {
		fb_err("out of memory");
		goto out;
	}
	ex_rights_apply(&ex);
	if (ex_session_open(&ex) < 0)
		goto out;
	fb_info("connection %s: exporting %zu device%s to %s:%d as %s", ex.conn->name,
		ex.ndevices, ex.ndevices == 1 ? "" : "s", ex.conn->broker, ex.conn->port,
		ex.conn->node_id);
	rc = exporter_loop(&ex) < 0 ? 1 : 0;
out:
	ex_link_free(&ex.link);
	if (ex.transport.close)
		ex.transport.close(ex.transport.ctx);
	fb_users_free(ex.users);
	ex_bus_view_free(&ex);
	if (ex.signal_fd >= 0)
		close(ex.signal_fd);
	if (ex.timer_fd >= 0)
		close(ex.timer_fd);
	fb_config_free(ex.cfg);
	fb_diag_free(&diag);
	return rc;
}
