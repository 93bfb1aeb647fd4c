/* SPDX-License-Identifier: Apache-2.0 */
/* The connection to the bus.  A broken link is closed and reopened with
 * exponential backoff (1 s doubling to 30 s), so a gateway whose TCP slave
 * or serial adapter disappears keeps trying without spinning.
 *
 * RTU-over-TCP: libmodbus has no client for it, but its RTU backend only
 * needs a file descriptor it can write() frames to and select()/read()
 * answers from.  So the driver makes an ordinary RTU context, connects a TCP
 * socket itself and hands it over with modbus_set_socket(): framing, CRC
 * and exception decoding stay libmodbus', with no pty or bridge process in
 * between.  The termios calls libmodbus makes on close/flush fail harmlessly
 * on a socket; flushing is done here instead. */
#include "modbus-internal.h"
#include "scan.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONNECT_BACKOFF_MIN_MS 1000
#define CONNECT_BACKOFF_MAX_MS 30000
#define TCP_CONNECT_TIMEOUT_MS 3000

static const char *link_name(const struct fb_bus_conf *bus, char *buf, size_t len)
{
	if (bus->transport == FB_BUS_RTU)
		snprintf(buf, len, "%s", bus->device);
	else
		snprintf(buf, len, "%s:%d", bus->host, bus->port);
	return buf;
}

/* A connected TCP socket, or -1 with errno. */
static int tcp_connect(const char *host, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[16];
	int fd = -1, err = ECONNREFUSED, one = 1;

	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(host, service, &hints, &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t elen = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
			close(fd);
			fd = -1;
			continue;
		}
		/* Bounded: an unreachable serial server must not hold the loop. */
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, TCP_CONNECT_TIMEOUT_MS) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
			if (!err)
				err = ETIMEDOUT;
			close(fd);
			fd = -1;
			continue;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		errno = err;
	return fd;
}

/* RS-485 and RTS on a local serial port; failures are "not supported by
 * this port" (e.g. a pty, or an adapter that switches direction itself),
 * never fatal. */
static void serial_setup(struct mb_driver *d, modbus_t *ctx)
{
	const struct fb_bus_conf *bus = d->bus;

	if (bus->rs485 != FB_RS485_OFF &&
	    modbus_rtu_set_serial_mode(ctx, MODBUS_RTU_RS485) < 0)
		fb_log(bus->rs485 == FB_RS485_ON ? FB_LOG_WARNING : FB_LOG_DEBUG,
		       "bus %s: RS-485 mode not supported by this port (%s): using it "
		       "as a plain serial line", bus->name, modbus_strerror(errno));
	if (bus->rts != FB_RTS_NONE) {
		if (modbus_rtu_set_rts(ctx, bus->rts == FB_RTS_UP ? MODBUS_RTU_RTS_UP
								   : MODBUS_RTU_RTS_DOWN) < 0)
			fb_warn("bus %s: RTS toggling not supported by this port: %s",
				bus->name, modbus_strerror(errno));
		else if (bus->rts_delay_us)
			modbus_rtu_set_rts_delay(ctx, bus->rts_delay_us);
	}
}

static modbus_t *link_open(struct mb_driver *d)
{
	const struct fb_bus_conf *bus = d->bus;
	char port[16];
	modbus_t *ctx = NULL;
	int fd, err;
	struct stat st;

	switch (bus->transport) {
	case FB_BUS_TCP:
		snprintf(port, sizeof(port), "%d", bus->port);
		/* the _pi variant resolves DNS names, not only IP literals */
		ctx = modbus_new_tcp_pi(bus->host, port);
		if (ctx && modbus_connect(ctx) < 0)
			goto fail;
		return ctx;
	case FB_BUS_RTU:
		ctx = modbus_new_rtu(bus->device, bus->baud, bus->parity, bus->data_bits,
				     bus->stop_bits);
		if (ctx && modbus_connect(ctx) < 0)
			goto fail;
		/* One talker per line: a standalone scan holds it meanwhile. */
		if (ctx && !d->line_held && mb_line_lock_take(modbus_get_socket(ctx)) < 0) {
			char who[256];

			mb_line_lock_holder(bus->device, who, sizeof(who));
			fb_warn("bus %s: serial line %s is locked by %s", bus->name, bus->device, who);
			errno = EBUSY;
			modbus_close(ctx);
			goto fail;
		}
		if (ctx) {
			serial_setup(d, ctx);
			/* Remember what the stable path named, to notice a replug. */
			if (fstat(modbus_get_socket(ctx), &st) == 0) {
				d->link_rdev = st.st_rdev;
				d->link_ino = st.st_ino;
			}
		}
		return ctx;
	case FB_BUS_RTU_OVER_TCP:
		/* The device string is never opened: the socket replaces it. */
		ctx = modbus_new_rtu("rtu-over-tcp", bus->baud, bus->parity,
				     bus->data_bits, bus->stop_bits);
		if (!ctx)
			return NULL;
		fd = tcp_connect(bus->host, bus->port);
		if (fd < 0)
			goto fail;
		modbus_set_socket(ctx, fd);
		return ctx;
	case FB_BUS_GPIO:
		break; /* fieldbridge-gpio's bus; refused before we get here */
	}
	errno = ENOTSUP;
	return NULL;
fail:
	err = errno;
	modbus_free(ctx);
	errno = err;
	return NULL;
}

int mb_link_connect(struct mb_driver *d, int64_t now_ms)
{
	const struct fb_bus_conf *bus = d->bus;
	char name[300];
	modbus_t *ctx;

	if (d->ctx)
		return 0;
	ctx = link_open(d);
	if (!ctx) {
		/* Log the first failure and then quietly retry, not every try. */
		fb_log(d->connect_backoff_ms ? FB_LOG_DEBUG : FB_LOG_WARNING,
		       "bus %s: cannot connect to %s: %s (retrying with backoff)",
		       bus->name, link_name(bus, name, sizeof(name)), modbus_strerror(errno));
		d->connect_backoff_ms = d->connect_backoff_ms ? d->connect_backoff_ms * 2
							       : CONNECT_BACKOFF_MIN_MS;
		if (d->connect_backoff_ms > CONNECT_BACKOFF_MAX_MS)
			d->connect_backoff_ms = CONNECT_BACKOFF_MAX_MS;
		d->next_connect_ms = now_ms + d->connect_backoff_ms;
		return -1;
	}
	fb_info("bus %s: connected to %s", bus->name, link_name(bus, name, sizeof(name)));
	d->ctx = ctx;
	d->connect_backoff_ms = 0;
	d->bus_free_ns = 0;
	/* Some devices ignore requests just after a connect (Huawei SUN2000:
	 * about 1 s): the first request waits the longest connect_delay_ms of
	 * the bus's devices. */
	uint32_t delay = 0;

	for (size_t i = 0; i < d->ndevices; i++)
		if (d->devices[i].def->connect_delay_ms > delay)
			delay = d->devices[i].def->connect_delay_ms;
	if (delay)
		mb_pace_delay(d, (int)delay);
	return 0;
}

void mb_link_close(struct mb_driver *d, const char *why)
{
	if (!d->ctx)
		return;
	if (why)
		fb_warn("bus %s: link lost: %s; reconnecting", d->bus->name, why);
	if (d->bus->transport == FB_BUS_RTU_OVER_TCP) {
		/* Ours, not a tty: close it here so libmodbus does not tcsetattr. */
		close(modbus_get_socket(d->ctx));
		modbus_set_socket(d->ctx, -1);
	} else {
		modbus_close(d->ctx);
	}
	modbus_free(d->ctx);
	d->ctx = NULL;
	/* Try again at once; a failure then backs off. */
	d->next_connect_ms = fb_mono_ms();
}

void mb_link_flush(struct mb_driver *d)
{
	uint8_t buf[256];

	if (!d->ctx)
		return;
	if (d->bus->transport != FB_BUS_RTU_OVER_TCP) {
		modbus_flush(d->ctx);
		return;
	}
	while (recv(modbus_get_socket(d->ctx), buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Counts Modbus TCP frames in a byte stream by their MBAP length (bytes
 * 4-5: what follows byte 6), carrying a partial header across reads. */
struct mbap_count {
	uint8_t hdr[6];
	size_t have;  /* header bytes seen of the current frame */
	size_t skip;  /* body bytes of the current frame still to come */
	int frames;
};

static void mbap_feed(struct mbap_count *c, const uint8_t *p, size_t n)
{
	while (n) {
		if (c->skip) {
			size_t k = n < c->skip ? n : c->skip;

			c->skip -= k;
			p += k;
			n -= k;
			continue;
		}
		c->hdr[c->have++] = *p++;
		n--;
		if (c->have == sizeof(c->hdr)) {
			c->skip = (size_t)(c->hdr[4] << 8 | c->hdr[5]);
			c->have = 0;
			c->frames++;
		}
	}
}

int mb_link_drain(struct mb_driver *d, int first_wait_ms, int quiet_ms)
{
	struct mbap_count tcp = { .frames = 0 };
	int fd, wait_ms = first_wait_ms;
	size_t bytes = 0;
	uint8_t buf[512];

	if (!d->ctx || (fd = modbus_get_socket(d->ctx)) < 0)
		return 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, wait_ms) <= 0 || !(pfd.revents & POLLIN))
			break; /* quiet (or an error the next request will see) */
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		mbap_feed(&tcp, buf, (size_t)n);
		bytes += (size_t)n;
		wait_ms = quiet_ms;
	}
	/* RTU frames have no length header: count what was dropped as one. */
	if (d->rtu_framing)
		return bytes > 0;
	return tcp.frames + (tcp.have || tcp.skip);
}

bool mb_link_stale(const struct mb_driver *d)
{
	struct stat st;

	if (!d->ctx || d->bus->transport != FB_BUS_RTU)
		return false;
	if (stat(d->bus->device, &st) < 0)
		return true;
	return st.st_rdev != d->link_rdev || st.st_ino != d->link_ino;
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
