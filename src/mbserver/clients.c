/* SPDX-License-Identifier: Apache-2.0 */
/* The listener and its clients, all in the server's one poll() loop.
 * A client's memory is fixed (MBS_IN_MAX in, MBS_OUT_MAX out): requests are
 * parsed only while a whole reply fits the output, and input is not read
 * while replies are not taken, so a client that sends without reading is
 * held back by TCP, not by our memory.  Timeouts: a started request must
 * complete within MBS_FRAME_TIMEOUT_MS (slowloris), a client with no
 * request for idle_timeout_s is closed, and so is one not taking its
 * replies for MBS_SEND_TIMEOUT_MS.  Requests of one client are answered
 * in order: while its forwarded write waits, its later requests wait. */
#include "mbserver-internal.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int mbs_clients_open(struct mbs_clients *cs, const struct fb_mbserver_conf *s)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	memset(cs, 0, sizeof(*cs));
	cs->listen_fd = -1;
	cs->name = s->name;
	cs->max = (size_t)s->max_clients;
	cs->idle_ms = (int64_t)s->idle_timeout_s * 1000;
	cs->c = calloc(cs->max, sizeof(*cs->c));
	if (!cs->c) {
		fb_err("server %s: out of memory", s->name);
		return -1;
	}
	for (size_t i = 0; i < cs->max; i++)
		cs->c[i].fd = -1;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s->listen, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)s->port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, s->listen, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)s->port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		fb_err("server %s: listen: not an IP address: %s", s->name, s->listen);
		return -1;
	}
	cs->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cs->listen_fd < 0 ||
	    setsockopt(cs->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(cs->listen_fd, (struct sockaddr *)&ss, sl) < 0 ||
	    listen(cs->listen_fd, 64) < 0) {
		fb_log_errno(FB_LOG_ERR, "server %s: cannot listen on %s port %d%s", s->name,
			     s->listen, s->port,
			     errno == EACCES && s->port < 1024
				     ? " (ports below 1024 need CAP_NET_BIND_SERVICE)" : "");
		return -1;
	}
	fb_info("server %s: listening on %s port %d (at most %d clients, writes %s)",
		s->name, s->listen, s->port, s->max_clients,
		s->writes == FB_MBS_WRITES_FORWARD ? "forwarded" : "refused");
	return 0;
}

static void client_close(struct mbs_clients *cs, struct mbs_client *c, const char *why)
{
	fb_info("server %s: client %s disconnected: %s (%zu connected)", cs->name, c->peer,
		why, cs->count - 1);
	close(c->fd);
	c->fd = -1;
	cs->count--;
}

void mbs_clients_close(struct mbs_clients *cs)
{
	for (size_t i = 0; cs->c && i < cs->max; i++)
		if (cs->c[i].fd >= 0) {
			close(cs->c[i].fd);
			cs->c[i].fd = -1;
		}
	free(cs->c);
	cs->c = NULL;
	if (cs->listen_fd >= 0)
		close(cs->listen_fd);
	cs->listen_fd = -1;
}

static void peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
				  sizeof(host));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	snprintf(buf, len, "%s:%d", host, port);
}

void mbs_clients_accept(struct mbs_clients *cs, int64_t mono_ms)
{
	for (;;) {
		int one = 1, fd = accept4(cs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mbs_client *c = NULL;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				fb_log_errno(FB_LOG_WARNING, "server %s: accept", cs->name);
			return;
		}
		for (size_t i = 0; i < cs->max && !c; i++)
			if (cs->c[i].fd < 0)
				c = &cs->c[i];
		if (!c) {
			/* Closed at once: the client sees the refusal instead of
			 * waiting in the backlog. */
			if (cs->refused++ % 100 == 0)
				fb_warn("server %s: refusing a client: %zu connected is the "
					"maximum (max_clients); %llu refused so far", cs->name,
					cs->max, (unsigned long long)cs->refused);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		memset(c, 0, offsetof(struct mbs_client, wreq));
		c->fd = fd;
		c->active_ms = mono_ms;
		peer_name(fd, c->peer, sizeof(c->peer));
		cs->count++;
		fb_info("server %s: client %s connected (%zu connected)", cs->name, c->peer,
			cs->count);
	}
}

/* Sends what is queued; false if the client is gone. */
static bool flush_out(struct mbs_clients *cs, struct mbs_client *c, int64_t mono_ms)
{
	while (c->outlen) {
		ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			client_close(cs, c, strerror(errno));
			return false;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
		c->send_ms = mono_ms;
	}
	if (!c->outlen)
		c->send_ms = 0;
	return true;
}

/* Answers every complete request in the input that fits the output. */
static bool process(struct mbs_clients *cs, struct mbs_client *c, struct mbs_answer_ctx *a,
		    int64_t mono_ms)
{
	size_t off = 0;
	bool partial = false;

	while (!c->waiting && MBS_OUT_MAX - c->outlen >= MBS_ADU_MAX) {
		size_t used, n;
		enum mbs_parse rc = mbs_mbap_parse(c->in + off, c->inlen - off, &cs->req, &used);

		if (rc == MBS_PARSE_BAD) {
			cs->errors++;
			client_close(cs, c, "not a Modbus TCP request");
			return false;
		}
		if (rc == MBS_PARSE_MORE) {
			partial = c->inlen > off;
			break;
		}
		off += used;
		c->active_ms = mono_ms;
		cs->requests++;
		n = mbs_answer(a, &cs->req, c->out + c->outlen, &c->pending, mono_ms);
		if (!n) {
			c->wreq = cs->req;
			c->waiting = true;
		}
		if (!c->send_ms && n)
			c->send_ms = mono_ms;
		if (n > MBS_MBAP_LEN && (c->out[c->outlen + MBS_MBAP_LEN] & 0x80))
			cs->errors++; /* an exception reply */
		c->outlen += n;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	/* Only a request still arriving runs against the frame timeout;
	 * whole ones waiting for their turn do not. */
	c->partial_ms = partial ? (c->partial_ms && !off ? c->partial_ms : mono_ms) : 0;
	return true;
}

void mbs_clients_io(struct mbs_clients *cs, size_t i, short revents,
		    struct mbs_answer_ctx *a, int64_t mono_ms)
{
	struct mbs_client *c = &cs->c[i];

	if (c->fd < 0)
		return;
	if (revents & (POLLERR | POLLNVAL)) {
		client_close(cs, c, "socket error");
		return;
	}
	/* No room: POLLIN was not asked for, and a recv of 0 bytes would
	 * look like the peer closing. */
	if ((revents & (POLLIN | POLLHUP)) && c->inlen < MBS_IN_MAX) {
		ssize_t n = recv(c->fd, c->in + c->inlen, MBS_IN_MAX - c->inlen, MSG_DONTWAIT);

		if (n == 0) {
			client_close(cs, c, "closed by the client");
			return;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			client_close(cs, c, strerror(errno));
			return;
		}
		if (n > 0)
			c->inlen += (size_t)n;
	}
	if (!process(cs, c, a, mono_ms))
		return;
	flush_out(cs, c, mono_ms);
}

short mbs_clients_events(const struct mbs_clients *cs, size_t i)
{
	const struct mbs_client *c = &cs->c[i];
	short ev = 0;

	if (c->fd < 0)
		return 0;
	/* Read only what can be answered: input room and reply room. */
	if (!c->waiting && c->inlen < MBS_IN_MAX && MBS_OUT_MAX - c->outlen >= MBS_ADU_MAX)
		ev |= POLLIN;
	if (c->outlen)
		ev |= POLLOUT;
	return ev;
}

static void write_done(struct mbs_clients *cs, struct mbs_client *c, int64_t mono_ms)
{
	size_t n = mbs_answer_write_done(&c->wreq, &c->pending, c->out + c->outlen);

	if (n > MBS_MBAP_LEN && (c->out[c->outlen + MBS_MBAP_LEN] & 0x80))
		cs->errors++;
	c->outlen += n;
	c->waiting = false;
	if (!c->send_ms)
		c->send_ms = mono_ms;
}

void mbs_clients_result(struct mbs_clients *cs, size_t b, const struct fb_command_result *res,
			struct mbs_answer_ctx *a, int64_t mono_ms)
{
	for (size_t i = 0; i < cs->max; i++) {
		struct mbs_client *c = &cs->c[i];
		struct mbs_pending *p = &c->pending;

		if (c->fd < 0 || !c->waiting || p->bus != b)
			continue;
		for (size_t k = 0; k < p->ntickets; k++)
			if (p->tickets[k] == res->ticket) {
				p->ndone++;
				p->failed = p->failed || res->status != FB_COMMAND_DONE;
				if (res->status != FB_COMMAND_DONE)
					fb_info("server %s: client %s: write failed: %s", cs->name,
						c->peer, res->reason);
			}
		if (p->ndone < p->ntickets)
			continue;
		write_done(cs, c, mono_ms);
		/* Requests that queued up behind the write go on now. */
		if (process(cs, c, a, mono_ms))
			flush_out(cs, c, mono_ms);
	}
}

void mbs_clients_bus_lost(struct mbs_clients *cs, size_t b, struct mbs_answer_ctx *a,
			  int64_t mono_ms)
{
	for (size_t i = 0; i < cs->max; i++) {
		struct mbs_client *c = &cs->c[i];

		if (c->fd < 0 || !c->waiting || c->pending.bus != b)
			continue;
		/* Its queue went with the table: no result will come. */
		c->pending.failed = true;
		write_done(cs, c, mono_ms);
		if (process(cs, c, a, mono_ms))
			flush_out(cs, c, mono_ms);
	}
}

int64_t mbs_clients_expire(struct mbs_clients *cs, struct mbs_answer_ctx *a, int64_t mono_ms)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < cs->max; i++) {
		struct mbs_client *c = &cs->c[i];
		int64_t d;

		if (c->fd < 0)
			continue;
		if (c->waiting && mono_ms >= c->pending.deadline_ms) {
			fb_warn("server %s: client %s: no result for a write within %d ms",
				cs->name, c->peer, MBS_WRITE_TIMEOUT_MS);
			write_done(cs, c, mono_ms);
			if (!process(cs, c, a, mono_ms) || !flush_out(cs, c, mono_ms))
				continue;
		}
		if (c->partial_ms && mono_ms - c->partial_ms >= MBS_FRAME_TIMEOUT_MS) {
			client_close(cs, c, "request not completed in time");
			continue;
		}
		if (c->send_ms && mono_ms - c->send_ms >= MBS_SEND_TIMEOUT_MS) {
			client_close(cs, c, "replies not taken in time");
			continue;
		}
		if (!c->waiting && mono_ms - c->active_ms >= cs->idle_ms) {
			client_close(cs, c, "idle");
			continue;
		}
		d = c->waiting ? c->pending.deadline_ms : c->active_ms + cs->idle_ms;
		if (c->partial_ms && c->partial_ms + MBS_FRAME_TIMEOUT_MS < d)
			d = c->partial_ms + MBS_FRAME_TIMEOUT_MS;
		if (c->send_ms && c->send_ms + MBS_SEND_TIMEOUT_MS < d)
			d = c->send_ms + MBS_SEND_TIMEOUT_MS;
		if (d < next)
			next = d;
	}
	return next;
}
