/* SPDX-License-Identifier: Apache-2.0 */
/* The socket side of a Modbus TCP read (tcp_xact.h). */
#include "tcp_xact.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

/* The whole request in one send().  libmodbus leaves its socket
 * non-blocking: a full send buffer (a peer that stopped reading) fails
 * with EAGAIN, as libmodbus's own send would, and the retry or the
 * offline logic in xact.c takes over. */
static int send_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads into buf[*got..want): waits up to timeout_ms for readable data,
 * then takes what is there, at most want - *got (the expected answer's
 * size, or the frame's once its header is in).  1 when something was read, 0 on a timeout, -1 on an error. */
static int recv_some(int fd, uint8_t *buf, size_t want, size_t *got, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		int rc = poll(&pfd, 1, timeout_ms);
		ssize_t k;

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc;
		k = recv(fd, buf + *got, want - *got, MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = ECONNRESET; /* the slave closed the connection */
			return -1;
		}
		*got += (size_t)k;
		return 1;
	}
}

int mb_tcp_read_xact(int fd, const struct mb_tcp_read *r, int response_ms, int byte_ms,
		     uint16_t *out)
{
	uint8_t req[MB_TCP_REQ_READ], rsp[MB_TCP_ADU_MAX];
	/* Ask for the normal answer's size at once: a whole reply is one
	 * recv(); an exception or another frame is shorter or longer and
	 * its header then tells how much is left. */
	size_t got = 0, want = mb_tcp_read_reply_size(r);
	int timeout = response_ms, size;

	if (fd < 0) {
		errno = ENOTCONN;
		return -1;
	}
	if (mb_tcp_read_request(r, req) < 0 || send_all(fd, req, sizeof(req)) < 0)
		return -1;
	for (;;) {
		int rc = recv_some(fd, rsp, want, &got, timeout);

		if (rc <= 0) {
			if (rc == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		timeout = byte_ms > 0 ? byte_ms : response_ms;
		size = mb_tcp_frame_size(rsp, got);
		if (size < 0)
			return -1;
		if (size == 0)
			continue;     /* not even the MBAP header yet */
		if (got < (size_t)size) {
			want = (size_t)size;
			continue;
		}
		/* got > size: a short frame (an exception, a stale answer)
		 * and the start of the next one came in one piece.  Only the
		 * first is checked; a refusal makes xact.c drain the rest. */
		return mb_tcp_read_reply(r, rsp, (size_t)size, out);
	}
}
