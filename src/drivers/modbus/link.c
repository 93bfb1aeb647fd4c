/* The connection to the bus.  A broken link is closed and reopened with
 * exponential backoff (1 s doubling to 30 s), so a gateway whose TCP slave
 * or serial adapter disappears keeps trying without spinning. */
#include "modbus-internal.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CONNECT_BACKOFF_MIN_MS 1000
#define CONNECT_BACKOFF_MAX_MS 30000

static modbus_t *link_new(const struct fb_bus_conf *bus)
{
	char port[16];

	switch (bus->transport) {
	case FB_BUS_TCP:
		snprintf(port, sizeof(port), "%d", bus->port);
		/* the _pi variant resolves DNS names, not only IP literals */
		return modbus_new_tcp_pi(bus->host, port);
	case FB_BUS_RTU:
		return modbus_new_rtu(bus->device, bus->baud, bus->parity,
				      bus->data_bits, bus->stop_bits);
	case FB_BUS_RTU_OVER_TCP:
		break;
	}
	errno = ENOTSUP;
	return NULL;
}

static const char *link_name(const struct fb_bus_conf *bus, char *buf, size_t len)
{
	if (bus->transport == FB_BUS_RTU)
		snprintf(buf, len, "%s", bus->device);
	else
		snprintf(buf, len, "%s:%d", bus->host, bus->port);
	return buf;
}

int mb_link_connect(struct mb_driver *d, int64_t now_ms)
{
	const struct fb_bus_conf *bus = d->bus;
	char name[300];
	modbus_t *ctx;

	if (d->ctx)
		return 0;
	ctx = link_new(bus);
	if (!ctx) {
		fb_log_errno(FB_LOG_ERR, "bus %s: cannot set up %s", bus->name,
			     link_name(bus, name, sizeof(name)));
		goto backoff;
	}
	modbus_set_response_timeout(ctx, (uint32_t)(bus->response_timeout_ms / 1000),
				    (uint32_t)(bus->response_timeout_ms % 1000) * 1000);
	if (modbus_connect(ctx) < 0) {
		/* Log the first failure and then only every doubling, not every try. */
		fb_log(d->connect_backoff_ms ? FB_LOG_DEBUG : FB_LOG_WARNING,
		       "bus %s: cannot connect to %s: %s", bus->name,
		       link_name(bus, name, sizeof(name)), modbus_strerror(errno));
		modbus_free(ctx);
		goto backoff;
	}
	fb_info("bus %s: connected to %s", bus->name, link_name(bus, name, sizeof(name)));
	d->ctx = ctx;
	d->connect_backoff_ms = 0;
	return 0;

backoff:
	d->connect_backoff_ms = d->connect_backoff_ms ? d->connect_backoff_ms * 2
						       : CONNECT_BACKOFF_MIN_MS;
	if (d->connect_backoff_ms > CONNECT_BACKOFF_MAX_MS)
		d->connect_backoff_ms = CONNECT_BACKOFF_MAX_MS;
	d->next_connect_ms = now_ms + d->connect_backoff_ms;
	return -1;
}

void mb_link_close(struct mb_driver *d)
{
	if (!d->ctx)
		return;
	modbus_close(d->ctx);
	modbus_free(d->ctx);
	d->ctx = NULL;
	/* Try again at once; a failure then backs off. */
	d->next_connect_ms = fb_mono_ms();
}

bool mb_link_errno_is_fatal(int err)
{
	switch (err) {
	case ECONNRESET:
	case ECONNREFUSED:
	case EPIPE:
	case EBADF:
	case ENOTCONN:
	case EIO:
	case ENXIO:
	case ENODEV:
		return true;
	default:
		return false;
	}
}
