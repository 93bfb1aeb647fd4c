/* SPDX-License-Identifier: Apache-2.0 */
/* Setup and the one poll() loop of fieldbridge-mbserver: signals, one
 * timerfd for every deadline (client timeouts, the followers' once-a-second
 * upkeep), the listening socket, one fd per client and one per attached
 * table.  Table changes need no work here (reads look at the table when a
 * request comes); the table fd is drained for the command results. */
#include "mbserver-internal.h"
#include "clock.h"
#include "log.h"
#include "notify.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAINTAIN_MS 1000

struct server {
	struct fb_daemon_setup setup;
	struct fb_users *users;      /* owned; NULL without a users file */
	struct mbs_map map;
	struct mbs_clients clients;
	struct mbs_answer_ctx answer;
	char origin[FB_TABLE_ORIGIN_MAX];
	bool stop;
	struct fb_table *status;     /* owned: our statistics (config.h status) */
	uint64_t last_requests, last_errors;
	int64_t last_status_ms;      /* monotonic; 0 = not written yet */
};

/* Our own table: one device, the statistics points, like a driver's. */
static int status_open(struct server *s)
{
	const struct fb_mbserver_conf *sc = s->setup.server;
	size_t n;
	const struct fb_diag_point_desc *dp = fb_model_mbserver_diag_points(&n);
	struct fb_device_desc dev = { 0 };
	struct fb_point_desc pts[FB_MBS_DIAG_COUNT];

	memset(pts, 0, sizeof(pts));
	snprintf(dev.device, sizeof(dev.device), "%s", sc->status_device.id);
	for (size_t i = 0; i < n; i++) {
		snprintf(pts[i].device, sizeof(pts[i].device), "%s", sc->status_device.id);
		snprintf(pts[i].point, sizeof(pts[i].point), "%s", dp[i].key);
		pts[i].kind = (uint8_t)dp[i].kind;
	}
	s->status = fb_daemon_table_create(s->setup.cfg, &sc->status, &dev, 1, pts, n);
	if (!s->status)
		return -1;
	fb_table_device_set_online(s->status, 0, true);
	return 0;
}

/* Once a second: proof of life, clients connected, rates over the time
 * since the last write. */
static void status_write(struct server *s, int64_t mono_ms)
{
	struct fb_value v = { .kind = FB_VALUE_UINT };
	int64_t wall = fb_now_ms(), dt = mono_ms - s->last_status_ms;
	double per_s = dt > 0 ? 1000.0 / (double)dt : 0;

	fb_table_heartbeat(s->status, mono_ms);
	v.u = s->clients.count;
	fb_table_point_write(s->status, FB_MBS_DIAG_CLIENTS, &v, FB_QUALITY_OK, wall);
	if (s->last_status_ms) {
		v.kind = FB_VALUE_FLOAT;
		v.f = (double)(s->clients.requests - s->last_requests) * per_s;
		fb_table_point_write(s->status, FB_MBS_DIAG_REQUESTS_PER_S, &v, FB_QUALITY_OK,
				     wall);
		v.f = (double)(s->clients.errors - s->last_errors) * per_s;
		fb_table_point_write(s->status, FB_MBS_DIAG_ERRORS_PER_S, &v, FB_QUALITY_OK,
				     wall);
	}
	s->last_requests = s->clients.requests;
	s->last_errors = s->clients.errors;
	s->last_status_ms = mono_ms;
	fb_table_notify(s->status);
}

static int on_attached(void *ctx, struct fb_table_reader *r)
{
	struct mbs_bus *b = ctx;
	struct server *s = b->owner;

	mbs_map_resolve(&s->map, b->index, r);
	b->reader = r;
	fb_info("server %s: serving bus %s (table generation %u)", s->setup.server->name,
		b->conf->name, fb_table_reader_generation(r));
	return 0;
}

static void on_detaching(void *ctx, struct fb_table_reader *r, enum fb_table_follower_why why)
{
	struct mbs_bus *b = ctx;
	struct server *s = b->owner;

	(void)r;
	b->reader = NULL;
	mbs_map_resolve(&s->map, b->index, NULL);
	if (s->clients.c)
		mbs_clients_bus_lost(&s->clients, b->index, &s->answer, fb_mono_ms());
	if (why != FB_FOLLOWER_CLOSED)
		fb_info("server %s: bus %s: driver restarted, re-attaching",
			s->setup.server->name, b->conf->name);
}

static void on_attach_failed(void *ctx, int err)
{
	struct mbs_bus *b = ctx;
	struct server *s = b->owner;

	fb_warn("server %s: bus %s: cannot attach its state table: %s",
		s->setup.server->name, b->conf->name, strerror(err));
}

static void on_liveness(void *ctx, bool alive, int64_t age_ms)
{
	struct mbs_bus *b = ctx;
	struct server *s = b->owner;

	if (alive)
		fb_info("server %s: bus %s: driver alive", s->setup.server->name, b->conf->name);
	else
		fb_warn("server %s: bus %s: driver silent (heartbeat %lld ms old): answering "
			"0A until it is back", s->setup.server->name, b->conf->name,
			(long long)age_ms);
}

struct result_ctx {
	struct server *s;
	size_t bus;
};

static void on_result(void *ctx, const struct fb_command_result *res)
{
	struct result_ctx *rc = ctx;

	mbs_clients_result(&rc->s->clients, rc->bus, res, &rc->s->answer, fb_mono_ms());
}

static void on_drained(void *ctx, struct fb_table_reader *r)
{
	struct mbs_bus *b = ctx;
	struct result_ctx rc = { b->owner, b->index };

	fb_table_reader_results(r, rc.s->origin, on_result, &rc);
}

static int server_loop(struct server *s)
{
	size_t nb = s->map.nbuses, max = s->clients.max;
	struct pollfd *pfd = calloc(3 + nb + max, sizeof(*pfd));
	int64_t next_maintain = 0, armed = -1; /* armed: the timerfd's deadline */
	struct fb_notify_loop nl;

	if (!pfd)
		return -1;
	fb_notify_loop_init(&nl, fb_mono_ms());
	while (!s->stop) {
		int64_t now = fb_mono_ms(), deadline;
		size_t n = 0;

		if (now >= next_maintain) {
			for (size_t b = 0; b < nb; b++)
				fb_table_follower_maintain(s->map.buses[b].follower, now);
			status_write(s, now);
			if (fb_table_superseded(s->status)) {
				fb_err("server %s: another instance took over %s; exiting",
				       s->setup.server->name, s->setup.server->status.name);
				break;
			}
			next_maintain = now + MAINTAIN_MS;
			/* Listening and its table written: it serves. */
			fb_notify_loop_status(&nl, "port %d, %zu client%s, %zu device%s",
					      s->setup.server->port, s->clients.count,
					      s->clients.count == 1 ? "" : "s", s->map.ndevices,
					      s->map.ndevices == 1 ? "" : "s");
			fb_notify_loop_ready(&nl);
		}
		deadline = mbs_clients_expire(&s->clients, &s->answer, now);
		deadline = fb_deadline_min(deadline, fb_notify_loop_watchdog(&nl, now));
		fb_timerfd_rearm(s->setup.timer_fd, deadline < next_maintain ? deadline : next_maintain,
				 &armed);
		pfd[n++] = (struct pollfd){ .fd = s->setup.signal_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->setup.timer_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->clients.listen_fd, .events = POLLIN };
		for (size_t b = 0; b < nb; b++)
			pfd[n++] = (struct pollfd){ .fd = fb_table_follower_fd(s->map.buses[b].follower),
						    .events = POLLIN };
		for (size_t i = 0; i < max; i++)
			pfd[n++] = (struct pollfd){ .fd = s->clients.c[i].fd,
						    .events = mbs_clients_events(&s->clients, i) };
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
		if (pfd[0].revents & POLLIN)
			s->stop = fb_daemon_signal_stop(s->setup.signal_fd, "server",
							s->setup.server->name, NULL);
		for (size_t b = 0; b < nb; b++)
			if (pfd[3 + b].revents & POLLIN)
				fb_table_follower_drain(s->map.buses[b].follower, now);
		for (size_t i = 0; i < max; i++)
			if (pfd[3 + nb + i].revents)
				mbs_clients_io(&s->clients, i, pfd[3 + nb + i].revents, &s->answer, now);
		/* After the clients: a slot freed this pass is reusable. */
		if (pfd[2].revents & POLLIN)
			mbs_clients_accept(&s->clients, now);
	}
	fb_notify_loop_stopping(&nl);
	free(pfd);
	return 0;
}

int mbs_server_run(const struct fb_daemon_args *args)
{
	const struct fb_table_follower_handlers h = {
		.attached = on_attached,
		.detaching = on_detaching,
		.attach_failed = on_attach_failed,
		.liveness = on_liveness,
		.drained = on_drained,
	};
	struct server *s = calloc(1, sizeof(*s));
	const struct fb_user *user = NULL;
	struct fb_diag diag;
	int rc = 1;

	if (!s) {
		fb_err("out of memory");
		return 1;
	}
	s->clients.listen_fd = -1;
	fb_diag_init(&diag);
	if (fb_daemon_start(args, "server", NULL, &s->setup) < 0) {
		rc = s->setup.exit_code;
		free(s);
		fb_diag_free(&diag);
		return rc;
	}
	if (s->setup.cfg->users_file) {
		s->users = fb_users_load(s->setup.cfg->users_file, &diag);
		fb_diag_log(&diag);
		if (!s->users) {
			fb_err("server %s: users file %s has errors; nothing started",
			       s->setup.server->name, s->setup.cfg->users_file);
			rc = FB_EXIT_CONFIG;
			goto out;
		}
		user = fb_users_find(s->users, s->setup.server->user);
		if (!user)
			fb_warn("server %s: user %s is not in %s: nothing is served",
				s->setup.server->name, s->setup.server->user,
				s->setup.cfg->users_file);
	} else {
		fb_warn("server %s: gateway.users_file is not set: user %s has every right",
			s->setup.server->name, s->setup.server->user);
	}
	snprintf(s->origin, sizeof(s->origin), "mbs-%s", s->setup.server->name);
	if (mbs_map_build(&s->map, s->setup.cfg, s->setup.server, s->users, user, &h, s) < 0) {
		fb_err("server %s: out of memory", s->setup.server->name);
		goto out;
	}
	s->answer = (struct mbs_answer_ctx){ &s->map, s->setup.server, s->origin, 0 };
	if (mbs_clients_open(&s->clients, s->setup.server) < 0 || status_open(s) < 0)
		goto out;
	fb_info("server %s: %zu device%s on %zu bus%s", s->setup.server->name,
		s->map.ndevices, s->map.ndevices == 1 ? "" : "s", s->map.nbuses,
		s->map.nbuses == 1 ? "" : "es");
	rc = server_loop(s) < 0 ? 1 : 0;
out:
	mbs_clients_close(&s->clients);
	fb_table_destroy(s->status);
	mbs_map_free(&s->map);
	fb_users_free(s->users);
	if (s->setup.signal_fd >= 0)
		close(s->setup.signal_fd);
	if (s->setup.timer_fd >= 0)
		close(s->setup.timer_fd);
	fb_config_free(s->setup.cfg);
	fb_diag_free(&diag);
	free(s);
	return rc;
}
