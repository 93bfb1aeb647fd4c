/* SPDX-License-Identifier: Apache-2.0 */
/* A button's raw request (definition field "request"): a PDU the
 * definition spells out, such as PZEM's bare 0x42 energy reset.
 * libmodbus sends it, but cannot receive the answer to a function it does
 * not know (it expects a byte count after the function code and waits
 * for a byte that never comes), so the answer is read here: Modbus TCP by
 * its MBAP length, RTU up to a silence, and checked by raw_reply.c. */
#include "modbus-internal.h"
#include "raw_reply.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* RTU: the frame ended once the line was silent this long (3.5
 * characters are 4 ms at 9600 baud; a press is rare, so be generous). */
#define RAW_SILENCE_MS 50

/* Reads into buf[*got..want) until timeout_ms passes without a byte; 0 on
 * a timeout, -1 on an error. */
static int raw_read(int fd, uint8_t *buf, size_t want, size_t *got, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (*got < want) {
		int rc = poll(&pfd, 1, timeout_ms);
		ssize_t n;

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc == 0)
			return 0;
		n = read(fd, buf + *got, want - *got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			errno = n ? errno : ECONNRESET;
			return -1;
		}
		*got += (size_t)n;
	}
	return 1;
}

int mb_raw_request(modbus_t *ctx, bool rtu, int unit, const uint8_t *pdu, size_t n)
{
	uint8_t req[1 + FB_POINT_REQUEST_MAX], rsp[MB_RAW_REPLY_MAX];
	uint32_t s, us;
	size_t got = 0, h = rtu ? 1 : 7;
	int fd = modbus_get_socket(ctx), timeout_ms, rc;

	if (n == 0 || n > FB_POINT_REQUEST_MAX) {
		errno = EINVAL;
		return -1;
	}
	req[0] = (uint8_t)unit;
	memcpy(req + 1, pdu, n);
	if (modbus_send_raw_request(ctx, req, (int)(n + 1)) < 0)
		return -1;
	modbus_get_response_timeout(ctx, &s, &us);
	timeout_ms = (int)(s * 1000 + us / 1000);
	if (timeout_ms < 1)
		timeout_ms = 1;
	/* The header and function code, then the rest. */
	rc = raw_read(fd, rsp, h + 1, &got, timeout_ms);
	if (rc == 1 && rtu) {
		rc = raw_read(fd, rsp, sizeof(rsp), &got, RAW_SILENCE_MS);
		if (rc == 0 && got >= MB_RAW_RTU_MIN)
			rc = 1;
	} else if (rc == 1) {
		size_t size = mb_raw_reply_tcp_size(rsp);

		if (!size)
			return -1;
		rc = raw_read(fd, rsp, size, &got, timeout_ms);
	}
	if (rc <= 0) {
		if (rc == 0)
			errno = ETIMEDOUT;
		return -1;
	}
	return mb_raw_reply_check(rsp, got, rtu, unit, pdu[0]);
}
