/* SPDX-License-Identifier: Apache-2.0 */
/* The request parser: bytes from a network client, so every length is
 * checked against what was received before it is used, and nothing here
 * allocates or keeps state (tests/fuzz/fuzz_mbap.c). */
#include "mbserver-internal.h"

#include <string.h>

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int mbs_mbap_table(uint8_t fc)
{
	switch (fc) {
	case MBS_FC_READ_COILS:
	case MBS_FC_WRITE_COIL:
	case MBS_FC_WRITE_COILS:
		return FB_REG_COIL;
	case MBS_FC_READ_DISCRETE:
		return FB_REG_DISCRETE_INPUT;
	case MBS_FC_READ_HOLDING:
	case MBS_FC_WRITE_REGISTER:
	case MBS_FC_WRITE_REGISTERS:
		return FB_REG_HOLDING;
	case MBS_FC_READ_INPUT:
		return FB_REG_INPUT;
	}
	return -1;
}

/* Limits per function (Application Protocol v1.1b3 §6.1-6.12). */
static uint8_t parse_pdu(const uint8_t *pdu, size_t n, struct mbs_request *r)
{
	uint16_t max;
	size_t bytes;

	switch (r->fc) {
	case MBS_FC_READ_COILS:
	case MBS_FC_READ_DISCRETE:
	case MBS_FC_READ_HOLDING:
	case MBS_FC_READ_INPUT:
		if (n != 5)
			return MBS_EX_ILLEGAL_VALUE;
		r->address = be16(pdu + 1);
		r->count = be16(pdu + 3);
		max = r->fc <= MBS_FC_READ_DISCRETE ? MB_MAX_READ_BITS : MB_MAX_READ_REGISTERS;
		if (r->count < 1 || r->count > max)
			return MBS_EX_ILLEGAL_VALUE;
		break;
	case MBS_FC_WRITE_COIL:
	case MBS_FC_WRITE_REGISTER:
		if (n != 5)
			return MBS_EX_ILLEGAL_VALUE;
		r->address = be16(pdu + 1);
		r->count = 1;
		r->values[0] = be16(pdu + 3);
		if (r->fc == MBS_FC_WRITE_COIL) {
			if (r->values[0] != 0xFF00 && r->values[0] != 0x0000)
				return MBS_EX_ILLEGAL_VALUE;
			r->values[0] = r->values[0] != 0;
		}
		return MBS_EX_NONE;
	case MBS_FC_WRITE_COILS:
	case MBS_FC_WRITE_REGISTERS:
		if (n < 6)
			return MBS_EX_ILLEGAL_VALUE;
		r->address = be16(pdu + 1);
		r->count = be16(pdu + 3);
		max = r->fc == MBS_FC_WRITE_COILS ? 0x7B0 : 0x7B;
		bytes = r->fc == MBS_FC_WRITE_COILS ? (r->count + 7u) / 8u : 2u * r->count;
		if (r->count < 1 || r->count > max || pdu[5] != bytes || n != 6 + bytes)
			return MBS_EX_ILLEGAL_VALUE;
		for (size_t i = 0; i < r->count; i++)
			r->values[i] = r->fc == MBS_FC_WRITE_COILS
					       ? (uint16_t)((pdu[6 + i / 8] >> (i % 8)) & 1)
					       : be16(pdu + 6 + 2 * i);
		break;
	default:
		return MBS_EX_ILLEGAL_FUNCTION;
	}
	if ((uint32_t)r->address + r->count > 0x10000u)
		return MBS_EX_ILLEGAL_ADDRESS;
	return MBS_EX_NONE;
}

enum mbs_parse mbs_mbap_parse(const uint8_t *buf, size_t len, struct mbs_request *req,
			      size_t *used)
{
	uint16_t mlen;

	*used = 0;
	if (len < MBS_MBAP_LEN)
		/* A wrong protocol id is seen as early as it arrives. */
		return len >= 4 && be16(buf + 2) != 0 ? MBS_PARSE_BAD : MBS_PARSE_MORE;
	mlen = be16(buf + 4);
	/* unit id + function code at least; unit id + a 253-byte PDU at most */
	if (be16(buf + 2) != 0 || mlen < 2 || mlen > 1 + 253)
		return MBS_PARSE_BAD;
	if (len < 6u + mlen)
		return MBS_PARSE_MORE;
	req->tid = be16(buf);
	req->unit = buf[6];
	req->fc = buf[7];
	req->address = req->count = 0;
	req->exception = parse_pdu(buf + 7, (size_t)mlen - 1, req);
	*used = 6u + mlen;
	return MBS_PARSE_OK;
}

size_t mbs_mbap_reply(const struct mbs_request *req, const uint8_t *pdu, size_t n,
		      uint8_t *out)
{
	out[0] = (uint8_t)(req->tid >> 8);
	out[1] = (uint8_t)req->tid;
	out[2] = out[3] = 0;
	out[4] = (uint8_t)((n + 1) >> 8);
	out[5] = (uint8_t)(n + 1);
	out[6] = req->unit;
	memcpy(out + MBS_MBAP_LEN, pdu, n);
	return MBS_MBAP_LEN + n;
}

size_t mbs_mbap_exception(const struct mbs_request *req, uint8_t code, uint8_t *out)
{
	uint8_t pdu[2] = { (uint8_t)(req->fc | 0x80), code };

	return mbs_mbap_reply(req, pdu, sizeof(pdu), out);
}
