/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the reply to a Modbus TCP poll read
 * (src/drivers/modbus/tcp_adu.c), received the way tcp_xact.c receives it:
 * the frame size from the first 6 bytes, then the first frame checked
 * against the request.
 *
 * Input: bytes 0-1 the transaction id sent, byte 2 the unit, byte 3 the
 * function (low 2 bits: FC01..FC04), bytes 4-5 the count (folded into the
 * function's range), the rest the bytes received.  Properties checked: a
 * frame size is 0 only below 6 bytes and else -1 (EMBBADDATA) or 8..ADU;
 * an accepted reply carries the id, unit and function sent and exactly
 * the byte count asked for, its bits decode to 0/1; a refusal always sets
 * one of the documented errors; the reply built from the same request and
 * the input's bytes as data is accepted and decodes to those bytes. */
#include "fuzz_util.h"
#include "tcp_adu.h"

#include <errno.h>
#include <modbus.h>
#include <stdlib.h>
#include <string.h>

static void check_errno(void)
{
	if (errno == EMBBADDATA || errno == EMBBADSLAVE || errno == EMBBADEXC)
		return;
	if (errno > MODBUS_ENOBASE && errno < MODBUS_ENOBASE + MODBUS_EXCEPTION_MAX)
		return;
	abort();
}

/* A reply the request must accept, its data taken from the input. */
static void round_trip(const struct mb_tcp_read *r, const uint8_t *data, size_t size)
{
	uint8_t rsp[MB_TCP_ADU_MAX];
	uint16_t out[MODBUS_MAX_READ_BITS];
	size_t n = mb_tcp_read_reply_size(r), nb = n - MB_TCP_MBAP - 2;
	bool bits = r->fc <= 2;

	memset(rsp, 0, sizeof(rsp));
	rsp[0] = (uint8_t)(r->tid >> 8);
	rsp[1] = (uint8_t)r->tid;
	rsp[4] = (uint8_t)((n - 6) >> 8);
	rsp[5] = (uint8_t)(n - 6);
	rsp[6] = r->unit;
	rsp[7] = r->fc;
	rsp[8] = (uint8_t)nb;
	for (size_t i = 0; i < nb; i++)
		rsp[9 + i] = size ? data[i % size] : 0;
	if (mb_tcp_frame_size(rsp, n) != (int)n || mb_tcp_read_reply(r, rsp, n, out) != 0)
		abort();
	for (size_t i = 0; i < r->count; i++) {
		uint16_t want = bits ? (uint16_t)(rsp[9 + i / 8] >> (i % 8) & 1)
				     : (uint16_t)(rsp[9 + 2 * i] << 8 | rsp[10 + 2 * i]);

		if (out[i] != want)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t fcs[] = { 1, 2, 3, 4 };
	uint16_t out[MODBUS_MAX_READ_BITS];
	uint8_t req[MB_TCP_REQ_READ];
	struct mb_tcp_read r;
	const uint8_t *rx;
	size_t n;
	int fsize, rc;

	if (size < 6)
		return 0;
	r.tid = (uint16_t)(data[0] << 8 | data[1]);
	r.unit = data[2];
	r.fc = fcs[data[3] & 3];
	r.start = 0;
	r.count = (uint16_t)(data[4] << 8 | data[5]);
	r.count = (uint16_t)(1 + r.count % (r.fc <= 2 ? MODBUS_MAX_READ_BITS
						     : MODBUS_MAX_READ_REGISTERS));
	if (mb_tcp_read_request(&r, req) != 0 || req[7] != r.fc ||
	    mb_tcp_read_reply_size(&r) > MB_TCP_ADU_MAX)
		abort();
	rx = data + 6;
	n = size - 6;
	round_trip(&r, rx, n);
	if (n > MB_TCP_ADU_MAX)
		n = MB_TCP_ADU_MAX;       /* the receive buffer's size */
	errno = 0;
	fsize = mb_tcp_frame_size(rx, n);
	if (fsize == 0) {
		if (n >= 6)
			abort();
		return 0;                 /* waiting for more: a timeout */
	}
	if (fsize < 0) {
		if (errno != EMBBADDATA)
			abort();
		return 0;
	}
	if (fsize < 8 || fsize > MB_TCP_ADU_MAX)
		abort();
	if (n < (size_t)fsize)
		return 0;                 /* a timeout */
	errno = 0;
	rc = mb_tcp_read_reply(&r, rx, (size_t)fsize, out);
	if (rc < 0) {
		check_errno();
		return 0;
	}
	if (rc != 0 || (uint16_t)(rx[0] << 8 | rx[1]) != r.tid || rx[6] != r.unit ||
	    rx[7] != r.fc || (size_t)fsize != mb_tcp_read_reply_size(&r) ||
	    rx[8] != (size_t)fsize - MB_TCP_MBAP - 2)
		abort();
	for (size_t i = 0; r.fc <= 2 && i < r.count; i++)
		if (out[i] > 1)
			abort();
	return 0;
}
