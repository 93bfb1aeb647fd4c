/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the answer a device sends to a button's raw request
 * (src/drivers/modbus/raw_reply.c), received the way raw_request.c
 * receives it: Modbus TCP up to the size its MBAP header gives, RTU up to
 * the silence after the frame, at most one ADU.
 *
 * Input: byte 0 picks RTU (bit 0), byte 1 the unit, byte 2 the function
 * code sent (0x01..0x7F), the rest the bytes received.  Properties
 * checked: an accepted answer carries the unit and function code sent,
 * an RTU one its CRC, a TCP one exactly the size its header says;
 * a refusal always sets one of the documented errors; a TCP size is
 * never below the header nor above an ADU. */
#include "fuzz_util.h"
#include "raw_reply.h"

#include <errno.h>
#include <modbus.h>
#include <stdlib.h>

static void check_errno(void)
{
	if (errno == EMBBADCRC || errno == EMBBADSLAVE || errno == EMBBADDATA)
		return;
	if (errno > MODBUS_ENOBASE && errno <= MODBUS_ENOBASE + 0x0B)
		return;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *rx;
	size_t n, want;
	bool rtu;
	int unit, rc;
	uint8_t fc;

	if (size < 3)
		return 0;
	rtu = data[0] & 1;
	unit = data[1];
	fc = (uint8_t)(data[2] & 0x7F);
	if (!fc)
		fc = 0x42;
	rx = data + 3;
	n = size - 3;
	if (rtu) {
		if (n > MB_RAW_REPLY_MAX)
			n = MB_RAW_REPLY_MAX;   /* the reader stops at a full ADU */
		if (n < MB_RAW_RTU_MIN)
			return 0;               /* a timeout, never parsed */
	} else {
		if (n < MB_RAW_TCP_HEAD)
			return 0;
		errno = 0;
		want = mb_raw_reply_tcp_size(rx);
		if (!want) {
			if (errno != EMBBADDATA)
				abort();
			return 0;
		}
		if (want < MB_RAW_TCP_HEAD || want > MB_RAW_REPLY_MAX)
			abort();
		if (n < want)
			return 0;               /* a timeout */
		n = want;
	}
	errno = 0;
	rc = mb_raw_reply_check(rx, n, rtu, unit, fc);
	if (rc < 0) {
		check_errno();
		return 0;
	}
	if (rc != 1)
		abort();
	if (rtu && (rx[0] != (uint8_t)unit || rx[1] != fc))
		abort();
	if (!rtu && (rx[6] != (uint8_t)unit || rx[7] != fc ||
		     (size_t)(rx[4] << 8 | rx[5]) + 6 != n))
		abort();
	/* an accepted answer is refused for any other unit or function */
	if (mb_raw_reply_check(rx, n, rtu, (unit + 1) & 0xFF, fc) != -1 ||
	    mb_raw_reply_check(rx, n, rtu, unit, (uint8_t)(fc == 0x7F ? 1 : fc + 1)) != -1)
		abort();
	return 0;
}
