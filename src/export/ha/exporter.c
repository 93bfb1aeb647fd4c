/* Setup and the one poll() loop of fieldbridge-export: signals, one
 * timerfd for every deadline (1 s tick, reconnect, connect timeout, the
 * post-birth re-publish, the transport's own), the MQTT socket, the
 * transport's fds (websocket bridge), and one fd per attached table. */
#include "export-internal.h"
#include "daemon.h"
#include "exporter.h"
#include "config_edit.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 1000

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

static int64_t min_deadline(int64_t a, int64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

static void handle_signal(struct exporter *ex)
{
	bool hup = false;

	if (fb_daemon_signal_stop(ex->signal_fd, "connection", ex->conn->name, &hup))
		ex->stop = true;
	else if (hup)
		/* Rights can change at run time (the web page edits the users
		 * file); the rest of the configuration needs a restart. */
		ex_rights_reload(ex);
}

static void on_deadlines(struct exporter *ex, int64_t now, int64_t *next_tick)
{
	if (ex->reconnect_at_ms && now >= ex->reconnect_at_ms)
		ex_mqtt_connect(ex, now);
	if (ex->connecting && ex->connect_deadline_ms && now >= ex->connect_deadline_ms) {
		ex_conn_error(ex, "connection %s: broker %s:%d: no answer within timeout_s=%d "
			      "(unreachable broker or not an MQTT server)", ex->conn->name,
			      ex->conn->broker, ex->conn->port, ex->conn->timeout_s);
		ex_mqtt_lost(ex, MOSQ_ERR_TIMEOUT, now);
	}
	if (ex->republish_at_ms && now >= ex->republish_at_ms) {
		ex->republish_at_ms = 0;
		ex_discovery_publish_all(ex);
		for (size_t i = 0; i < ex->ndevices; i++) {
			ex_avail_publish(ex, &ex->devices[i], true);
			ex_state_publish(ex, &ex->devices[i]);
		}
		ex_gateway_state_publish(ex);
	}
	ex_cleanup_tick(ex, now);
	if (now >= *next_tick) {
		*next_tick = now + TICK_MS;
		if (ex->trim_after_burst && !(ex->mosq && mosquitto_want_write(ex->mosq))) {
			ex->trim_after_burst = false;
			malloc_trim(0);
		}
		if (ex->connected || ex->connecting)
			mosquitto_loop_misc(ex->mosq); /* keepalive PINGREQ */
		ex_tables_maintain(ex, now);
	}
}

static int exporter_loop(struct exporter *ex)
{
	int64_t next_tick = 0, transport_deadline = 0;
	struct pollfd *pfd = calloc(3 + ex->nbuses + EX_TRANSPORT_FDS_MAX, sizeof(*pfd));

	if (!pfd)
		return -1;
	ex_mqtt_connect(ex, fb_mono_ms());
	while (!ex->stop) {
		int64_t now = fb_mono_ms();
		int64_t deadline;
		size_t n = 0, tfirst, tn;
		int sock;

		on_deadlines(ex, now, &next_tick);
		deadline = min_deadline(next_tick, ex->reconnect_at_ms);
		deadline = min_deadline(deadline, ex->connect_deadline_ms);
		deadline = min_deadline(deadline, ex->republish_at_ms);
		deadline = min_deadline(deadline, ex->cleanup_until_ms);
		deadline = min_deadline(deadline, transport_deadline);
		fb_timerfd_arm(ex->timer_fd, deadline);

		pfd[n++] = (struct pollfd){ .fd = ex->signal_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ex->timer_fd, .events = POLLIN };
		sock = (ex->connected || ex->connecting) ? mosquitto_socket(ex->mosq) : -1;
		pfd[n++] = (struct pollfd){ .fd = sock,
			.events = (short)(POLLIN | (mosquitto_want_write(ex->mosq) ? POLLOUT : 0)) };
		for (size_t b = 0; b < ex->nbuses; b++)
			pfd[n++] = (struct pollfd){
				.fd = ex->buses[b].reader ? fb_table_reader_fd(ex->buses[b].reader) : -1,
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
		if (pfd[0].revents & POLLIN)
			handle_signal(ex);
		if (pfd[1].revents & POLLIN)
			fb_timerfd_drain(ex->timer_fd);
		if (sock >= 0 && pfd[2].revents) {
			int rc = MOSQ_ERR_SUCCESS;
			/* During the handshake: keep the SSL object alive past a
			 * failure, to say why it failed. */
			void *held = ex->connecting ? ex_tls_hold(ex) : NULL;

			if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
				rc = mosquitto_loop_read(ex->mosq, 1);
			if (rc == MOSQ_ERR_SUCCESS && (pfd[2].revents & POLLOUT))
				rc = mosquitto_loop_write(ex->mosq, 1);
			ex_tls_explain(ex, held, rc != MOSQ_ERR_SUCCESS);
			if (rc != MOSQ_ERR_SUCCESS)
				ex_mqtt_lost(ex, rc, now);
			else if ((pfd[2].revents & POLLOUT) && !mosquitto_want_write(ex->mosq))
				ex_state_publish_dirty(ex); /* the socket drained: resume */
		}
		for (size_t b = 0; b < ex->nbuses; b++)
			if (pfd[3 + b].revents & POLLIN)
				ex_tables_drain(ex, &ex->buses[b]);
		/* Serviced every pass: the bridge moves bytes between its fds
		 * and libmosquitto's socket, and has its own timers. */
		transport_deadline = ex->transport.service(ex->transport.ctx, pfd + tfirst, tn,
							   fb_mono_ms());
	}
	free(pfd);
	if (ex->connected) {
		/* A clean stop says offline itself (the LWT only covers crashes). */
		ex_publish(ex, ex->status_topic, "offline", ex->conn->retain);
		mosquitto_disconnect(ex->mosq);
		for (int i = 0; i < 10 && mosquitto_want_write(ex->mosq); i++)
			mosquitto_loop_write(ex->mosq, 1);
	}
	return 0;
}

int ex_run(const struct fb_daemon_args *args)
{
	struct exporter ex;
	struct fb_diag diag;
	int rc = 1;

	memset(&ex, 0, sizeof(ex));
	ex.signal_fd = ex.timer_fd = -1;
	fb_diag_init(&diag);
	ex.cfg = fb_config_load(args->config_path, &diag);
	if (ex.cfg) {
		ex.conn = fb_config_conn(ex.cfg, args->instance);
		if (!ex.conn)
			fb_diag_error(&diag, "%s: no connection named \"%s\"", ex.cfg->path,
				      args->instance);
	}
	if (!ex.conn) {
		fb_diag_log(&diag);
		fb_err("configuration has errors; nothing started");
		goto out;
	}
	/* Bad definitions disable their device only. */
	fb_config_load_definitions(ex.cfg, NULL, &diag);
	ex.users = fb_config_load_users(ex.cfg, ex.conn, &diag);
	fb_diag_log(&diag);
	if (ex.cfg->users_file && !ex.users) {
		fb_err("connection %s: users file %s has errors; nothing started", ex.conn->name,
		       ex.cfg->users_file);
		goto out;
	}
	ex.user = fb_users_find(ex.users, ex.conn->user);
	{
		char err[256];

		/* The WebSocket bridge reads the TLS files now: say precisely
		 * which file or password is wrong before it does. */
		if (ex.conn->mode == FB_CONN_WEBSOCKET && ex_tls_precheck(&ex) < 0)
			goto out;
		if (ex_transport_open(&ex.transport, ex.conn, err, sizeof(err)) < 0) {
			fb_err("connection %s: %s", ex.conn->name, err);
			goto out;
		}
	}

	make_boot_id(&ex);
	if (snprintf(ex.base, sizeof(ex.base), "fieldbridge/%s", ex.conn->node_id) >=
		    (int)sizeof(ex.base) ||
	    snprintf(ex.status_topic, sizeof(ex.status_topic), "%s/status", ex.base) >=
		    (int)sizeof(ex.status_topic) ||
	    snprintf(ex.gateway_topic, sizeof(ex.gateway_topic), "%s/gateway/state",
		     ex.base) >= (int)sizeof(ex.gateway_topic) ||
	    snprintf(ex.birth_topic, sizeof(ex.birth_topic), "%s/status",
		     ex.conn->discovery_prefix) >= (int)sizeof(ex.birth_topic)) {
		fb_err("connection %s: node_id or discovery_prefix too long", ex.conn->name);
		goto out;
	}
	ex.signal_fd = fb_signalfd_open();
	ex.timer_fd = fb_timerfd_open();
	if (ex.signal_fd < 0 || ex.timer_fd < 0) {
		fb_log_errno(FB_LOG_ERR, "cannot create signal/timer fds");
		goto out;
	}
	if (ex_tables_build(&ex) < 0) {
		fb_err("out of memory");
		goto out;
	}
	ex_rights_apply(&ex);
	if (ex_mqtt_init(&ex) < 0)
		goto out;
	fb_info("connection %s: exporting %zu device%s to %s:%d as %s", ex.conn->name,
		ex.ndevices, ex.ndevices == 1 ? "" : "s", ex.conn->broker, ex.conn->port,
		ex.conn->node_id);
	fb_edit_record_loaded(ex.cfg, FB_EDIT_CONN, ex.conn->name);
	rc = exporter_loop(&ex) < 0 ? 1 : 0;
out:
	ex_mqtt_free(&ex);
	if (ex.transport.close)
		ex.transport.close(ex.transport.ctx);
	fb_users_free(ex.users);
	ex_tables_free(&ex);
	if (ex.signal_fd >= 0)
		close(ex.signal_fd);
	if (ex.timer_fd >= 0)
		close(ex.timer_fd);
	fb_config_free(ex.cfg);
	fb_diag_free(&diag);
	return rc;
}

void ex_check_users(struct fb_config *cfg, const char *conn_name, struct fb_diag *diag)
{
	for (size_t i = 0; i < cfg->nconns; i++) {
		if (conn_name && strcmp(cfg->conns[i].name, conn_name))
			continue;
		fb_users_free(fb_config_load_users(cfg, &cfg->conns[i], diag));
		if (!cfg->users_file)
			break; /* one warning is enough */
	}
}
