/* Setup and the one poll() loop of fieldbridge-modbus. */
#include "modbus-internal.h"
#include "daemon.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"

#define HEARTBEAT_PERIOD_MS 1000
#define OFFLINE_BACKOFF_MAX_MS 60000

static int poll_interval_ms(const struct mb_device *dev, const struct fb_bus_conf *bus)
{
	return dev->conf->poll_interval_ms > 0 ? dev->conf->poll_interval_ms
					       : bus->poll_interval_ms;
}

static int driver_build(struct mb_driver *d)
{
	struct fb_device_desc *ddesc = NULL;
	struct fb_point_desc *pdesc = NULL;
	char name[128];
	size_t n = 0;

	d->devices = calloc(d->bus->ndevices ? d->bus->ndevices : 1, sizeof(*d->devices));
	if (!d->devices)
		return -1;
	for (size_t i = 0; i < d->bus->ndevices; i++) {
		struct fb_device_conf *dc = &d->bus->devices[i];
		struct mb_device *dev;

		if (!dc->def)
			continue; /* disabled: its definition had errors */
		dev = &d->devices[d->ndevices];
		dev->conf = dc;
		dev->def = dc->def;
		dev->table_device = (uint32_t)d->ndevices;
		dev->first_point = d->npoints;
		if (mb_plan_device(dev) < 0)
			return -1;
		d->npoints += (uint32_t)dc->def->npoints;
		d->ndevices++;
	}
	ddesc = calloc(d->ndevices ? d->ndevices : 1, sizeof(*ddesc));
	pdesc = calloc(d->npoints ? d->npoints : 1, sizeof(*pdesc));
	d->point_map = calloc(d->npoints ? d->npoints : 1, sizeof(*d->point_map));
	if (!ddesc || !pdesc || !d->point_map)
		goto fail;
	for (size_t i = 0; i < d->ndevices; i++) {
		const struct mb_device *dev = &d->devices[i];

		snprintf(ddesc[i].device, sizeof(ddesc[i].device), "%s", dev->conf->id);
		for (size_t j = 0; j < dev->def->npoints; j++, n++) {
			snprintf(pdesc[n].device, sizeof(pdesc[n].device), "%s", dev->conf->id);
			snprintf(pdesc[n].point, sizeof(pdesc[n].point), "%s",
				 dev->def->points[j].key);
			pdesc[n].kind = (uint8_t)fb_point_value_kind(&dev->def->points[j]);
			d->point_map[n].device = (uint32_t)i;
			d->point_map[n].point = (uint32_t)j;
		}
	}
	fb_config_table_name(d->cfg, d->bus, name, sizeof(name));
	d->table = fb_table_create(name, ddesc, d->ndevices, pdesc, d->npoints);
	if (!d->table) {
		fb_log_errno(FB_LOG_ERR, "bus %s: cannot create state table /fieldbridge-%s",
			     d->bus->name, name);
		goto fail;
	}
	free(ddesc);
	free(pdesc);
	return 0;
fail:
	free(ddesc);
	free(pdesc);
	return -1;
}

static void device_cycle(struct mb_driver *d, struct mb_device *dev, int64_t now)
{
	int interval = poll_interval_ms(dev, d->bus);

	if (mb_poll_device(d, dev, now) == 0) {
		dev->failures = 0;
		dev->backoff_ms = 0;
		mb_device_set_online(d, dev, true, now);
		dev->next_poll_ms += interval;
		/* Fell far behind (e.g. after a reconnect): restart the rhythm
		 * instead of firing a burst of catch-up polls. */
		if (dev->next_poll_ms < now)
			dev->next_poll_ms = now + interval;
		return;
	}
	dev->failures++;
	if (dev->failures >= d->bus->offline_after)
		mb_device_set_online(d, dev, false, now);
	if (!dev->online && dev->failures >= d->bus->offline_after) {
		/* An offline device costs one probe per backoff period, so the
		 * other slaves on the bus keep their poll rate. */
		dev->backoff_ms = dev->backoff_ms ? dev->backoff_ms * 2 : interval;
		if (dev->backoff_ms > OFFLINE_BACKOFF_MAX_MS)
			dev->backoff_ms = OFFLINE_BACKOFF_MAX_MS;
		dev->next_poll_ms = now + dev->backoff_ms;
	} else {
		dev->next_poll_ms = now + interval;
	}
}

static int64_t next_deadline(const struct mb_driver *d, int64_t next_heartbeat)
{
	int64_t t = next_heartbeat;

	if (!d->ctx)
		return d->next_connect_ms < t ? d->next_connect_ms : t;
	for (size_t i = 0; i < d->ndevices; i++)
		if (d->devices[i].next_poll_ms < t)
			t = d->devices[i].next_poll_ms;
	return t;
}

static void handle_signal(struct mb_driver *d)
{
	int sig = fb_signalfd_read(d->signal_fd);

	if (sig == SIGINT || sig == SIGTERM) {
		fb_info("bus %s: stopping on signal %d", d->bus->name, sig);
		d->stop = true;
	} else if (sig == SIGHUP) {
		fb_info("bus %s: SIGHUP: restart the process to apply a new configuration",
			d->bus->name);
	}
}

static int driver_loop(struct mb_driver *d)
{
	int64_t next_heartbeat = 0;

	while (!d->stop) {
		int64_t now = fb_mono_ms();
		struct pollfd pfd[3];

		if (!d->ctx && now >= d->next_connect_ms) {
			if (mb_link_connect(d, now) == 0)
				for (size_t i = 0; i < d->ndevices; i++)
					d->devices[i].next_poll_ms = now;
		}
		mb_commands_run(d);
		for (size_t i = 0; i < d->ndevices && d->ctx; i++) {
			struct mb_device *dev = &d->devices[i];

			if (dev->next_poll_ms <= now) {
				device_cycle(d, dev, now);
				now = fb_mono_ms();
			}
		}
		if (!d->ctx) {
			/* Link down: every device is unreachable until it is back. */
			for (size_t i = 0; i < d->ndevices; i++) {
				d->devices[i].failures = d->bus->offline_after;
				mb_device_set_online(d, &d->devices[i], false, fb_now_ms());
			}
		}
		if (now >= next_heartbeat) {
			fb_table_heartbeat(d->table, now);
			next_heartbeat = now + HEARTBEAT_PERIOD_MS;
		}
		fb_table_notify(d->table);

		fb_timerfd_arm(d->timer_fd, next_deadline(d, next_heartbeat));
		pfd[0] = (struct pollfd){ .fd = d->signal_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = d->timer_fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = fb_table_command_fd(d->table), .events = POLLIN };
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			fb_log_errno(FB_LOG_ERR, "poll");
			return -1;
		}
		if (pfd[0].revents & POLLIN)
			handle_signal(d);
		if (pfd[1].revents & POLLIN)
			fb_timerfd_drain(d->timer_fd);
		if (pfd[2].revents & POLLIN)
			fb_table_command_fd_drain(d->table);
	}
	return 0;
}

static void driver_free(struct mb_driver *d)
{
	mb_link_close(d);
	fb_table_destroy(d->table);
	for (size_t i = 0; i < d->ndevices; i++)
		mb_plan_free(&d->devices[i]);
	free(d->devices);
	free(d->point_map);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	fb_config_free(d->cfg);
}

int mb_driver_run(const struct fb_daemon_args *args)
{
	struct mb_driver d;
	struct fb_diag diag;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.signal_fd = d.timer_fd = -1;
	fb_diag_init(&diag);
	d.cfg = fb_config_load(args->config_path, &diag);
	if (d.cfg) {
		d.bus = fb_config_bus(d.cfg, args->instance);
		if (!d.bus)
			fb_diag_error(&diag, "%s: no bus named \"%s\"", d.cfg->path,
				      args->instance);
	}
	if (!d.bus) {
		fb_diag_log(&diag);
		fb_err("configuration has errors; nothing started");
		goto out;
	}
	if (d.bus->transport == FB_BUS_RTU_OVER_TCP) {
		fb_err("bus %s: transport rtu_over_tcp is not supported yet", d.bus->name);
		goto out;
	}
	/* Bad definitions disable their device only; the bus still runs. */
	fb_config_load_definitions(d.cfg, d.bus, &diag);
	fb_diag_log(&diag);

	d.signal_fd = fb_signalfd_open();
	d.timer_fd = fb_timerfd_open();
	if (d.signal_fd < 0 || d.timer_fd < 0) {
		fb_log_errno(FB_LOG_ERR, "cannot create signal/timer fds");
		goto out;
	}
	if (driver_build(&d) < 0)
		goto out;
	fb_info("bus %s: serving %zu device%s, %u points", d.bus->name, d.ndevices,
		d.ndevices == 1 ? "" : "s", d.npoints);
	rc = driver_loop(&d) < 0 ? 1 : 0;
out:
	fb_diag_free(&diag);
	driver_free(&d);
	return rc;
}
