/* SPDX-License-Identifier: Apache-2.0 */
/* Checking the answer to a raw request (raw_reply.h). */
#include "raw_reply.h"

#include <errno.h>
#include <modbus.h>

static uint16_t raw_crc(const uint8_t *b, size_t n)
{
	uint16_t crc = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		crc ^= b[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (uint16_t)(crc >> 1 ^ 0xA001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

size_t mb_raw_reply_tcp_size(const uint8_t *head)
{
	size_t len = (size_t)(head[4] << 8 | head[5]);

	/* the length counts the unit id and the PDU */
	if (head[2] || head[3] || len < 2 || 6 + len > MB_RAW_REPLY_MAX) {
		errno = EMBBADDATA;
		return 0;
	}
	return 6 + len;
}

int mb_raw_reply_check(const uint8_t *rsp, size_t n, bool rtu, int unit, uint8_t fc)
{
	size_t h = rtu ? 1 : 7, end = n;  /* end: after the PDU */

	if (n < (rtu ? MB_RAW_RTU_MIN : MB_RAW_TCP_HEAD) || n > MB_RAW_REPLY_MAX ||
	    (!rtu && mb_raw_reply_tcp_size(rsp) != n)) {
		errno = EMBBADDATA;
		return -1;
	}
	if (rtu) {
		end = n - 2;
		if (raw_crc(rsp, end) != (uint16_t)(rsp[end] | rsp[end + 1] << 8)) {
			errno = EMBBADCRC;
			return -1;
		}
	}
	if (rsp[h - 1] != (uint8_t)unit) {
		errno = EMBBADSLAVE;
		return -1;
	}
	if (rsp[h] == (fc | 0x80)) {
		/* the code byte, if the frame has one (not the CRC's) */
		uint8_t code = end > h + 1 ? rsp[h + 1] : 0;

		errno = MODBUS_ENOBASE + (code >= 1 && code <= 0x0B ? code : 4);
		return -1;
	}
	if (rsp[h] != fc) {
		errno = EMBBADDATA;
		return -1;
	}
	return 1;
}
