/* SPDX-License-Identifier: Apache-2.0 */
/* Modbus TCP read request and reply as bytes (tcp_adu.h).  The checks are
 * libmodbus's (check_confirmation in 3.1.6), so a reply this path refuses
 * is one libmodbus would have refused with the same errno. */
#include "tcp_adu.h"

#include <errno.h>
#include <modbus.h>

static bool is_bits(uint8_t fc)
{
	return fc == MODBUS_FC_READ_COILS || fc == MODBUS_FC_READ_DISCRETE_INPUTS;
}

static size_t data_bytes(const struct mb_tcp_read *r)
{
	return is_bits(r->fc) ? (size_t)(r->count + 7) / 8 : (size_t)r->count * 2;
}

int mb_tcp_read_request(const struct mb_tcp_read *r, uint8_t *out)
{
	unsigned max = is_bits(r->fc) ? MODBUS_MAX_READ_BITS : MODBUS_MAX_READ_REGISTERS;

	if ((!is_bits(r->fc) && r->fc != MODBUS_FC_READ_HOLDING_REGISTERS &&
	     r->fc != MODBUS_FC_READ_INPUT_REGISTERS) || r->count == 0 || r->count > max) {
		errno = EINVAL;
		return -1;
	}
	out[0] = (uint8_t)(r->tid >> 8);
	out[1] = (uint8_t)r->tid;
	out[2] = out[3] = 0;           /* protocol id: Modbus */
	out[4] = 0;
	out[5] = 6;                    /* unit + PDU */
	out[6] = r->unit;
	out[7] = r->fc;
	out[8] = (uint8_t)(r->start >> 8);
	out[9] = (uint8_t)r->start;
	out[10] = (uint8_t)(r->count >> 8);
	out[11] = (uint8_t)r->count;
	return 0;
}

size_t mb_tcp_read_reply_size(const struct mb_tcp_read *r)
{
	return MB_TCP_MBAP + 2 + data_bytes(r);  /* + fc, byte count, data */
}

int mb_tcp_frame_size(const uint8_t *buf, size_t n)
{
	size_t len;

	if (n < 6)
		return 0;
	len = (size_t)(buf[4] << 8 | buf[5]);
	/* the length counts the unit id and the PDU (at least a function) */
	if (buf[2] || buf[3] || len < 2 || 6 + len > MB_TCP_ADU_MAX) {
		errno = EMBBADDATA;
		return -1;
	}
	return (int)(6 + len);
}

int mb_tcp_read_reply(const struct mb_tcp_read *r, const uint8_t *rsp, size_t n,
		      uint16_t *out)
{
	size_t want = data_bytes(r);
	int size = mb_tcp_frame_size(rsp, n);

	if (size <= 0 || (size_t)size != n ||
	    (uint16_t)(rsp[0] << 8 | rsp[1]) != r->tid) {
		/* another transaction's answer: xact.c drains the link */
		errno = EMBBADDATA;
		return -1;
	}
	if (rsp[6] != r->unit) {
		errno = EMBBADSLAVE;
		return -1;
	}
	if (rsp[7] == (r->fc | 0x80)) {
		if (n != MB_TCP_MBAP + 2) {
			errno = EMBBADDATA;
			return -1;
		}
		errno = rsp[8] >= 1 && rsp[8] < MODBUS_EXCEPTION_MAX ? MODBUS_ENOBASE + rsp[8]
								     : EMBBADEXC;
		return -1;
	}
	if (rsp[7] != r->fc || n != MB_TCP_MBAP + 2 + want || rsp[8] != want) {
		errno = EMBBADDATA;
		return -1;
	}
	rsp += MB_TCP_MBAP + 2;
	for (size_t i = 0; i < r->count; i++)
		out[i] = is_bits(r->fc) ? (uint16_t)(rsp[i / 8] >> (i % 8) & 1)
				       : (uint16_t)(rsp[2 * i] << 8 | rsp[2 * i + 1]);
	return 0;
}
