/* SPDX-License-Identifier: Apache-2.0 */
/* The Modbus TCP request parser (src/mbserver/mbap.c) on hand-made frames:
 * every function served, the limits of the Application Protocol, partial
 * and pipelined input, and frames that end the connection. */
#include "testlib.h"
#include "mbserver-internal.h"

#include <string.h>

static struct mbs_request req;

static enum mbs_parse parse(const uint8_t *b, size_t n, size_t *used)
{
	memset(&req, 0xAA, sizeof(req));
	return mbs_mbap_parse(b, n, &req, used);
}

static void test_read_holding_registers(void)
{
	const uint8_t f[] = { 0x12, 0x34, 0, 0, 0, 6, 7, 3, 0x01, 0x00, 0, 10 };
	size_t used;

	CHECK_EQ_INT(parse(f, sizeof(f), &used), MBS_PARSE_OK);
	CHECK_EQ_INT(used, sizeof(f));
	CHECK_EQ_INT(req.tid, 0x1234);
	CHECK_EQ_INT(req.unit, 7);
	CHECK_EQ_INT(req.fc, 3);
	CHECK_EQ_INT(req.address, 256);
	CHECK_EQ_INT(req.count, 10);
	CHECK_EQ_INT(req.exception, 0);
}

static void test_partial_frames_need_more(void)
{
	const uint8_t f[] = { 0, 1, 0, 0, 0, 6, 1, 4, 0, 0, 0, 1 };
	size_t used;

	for (size_t n = 0; n < sizeof(f); n++)
		CHECK_EQ_INT(parse(f, n, &used), MBS_PARSE_MORE);
	CHECK_EQ_INT(parse(f, sizeof(f), &used), MBS_PARSE_OK);
}

static void test_pipelined_frames_are_taken_one_at_a_time(void)
{
	const uint8_t f[] = { 0, 1, 0, 0, 0, 6, 1, 4, 0, 0, 0, 1,
			      0, 2, 0, 0, 0, 6, 1, 2, 0, 5, 0, 9 };
	size_t used;

	CHECK_EQ_INT(parse(f, sizeof(f), &used), MBS_PARSE_OK);
	CHECK_EQ_INT(used, 12);
	CHECK_EQ_INT(parse(f + used, sizeof(f) - used, &used), MBS_PARSE_OK);
	CHECK_EQ_INT(req.tid, 2);
	CHECK_EQ_INT(req.fc, 2);
	CHECK_EQ_INT(req.count, 9);
}

static void test_bad_framing_closes(void)
{
	const uint8_t http[] = "GET / HTTP/1.1\r\n";
	const uint8_t len0[] = { 0, 1, 0, 0, 0, 1, 1 };
	const uint8_t len_big[] = { 0, 1, 0, 0, 0x01, 0x00, 1 };
	size_t used;

	CHECK_EQ_INT(parse(http, sizeof(http) - 1, &used), MBS_PARSE_BAD);
	/* A wrong protocol id is seen before the header is complete. */
	CHECK_EQ_INT(parse(http, 4, &used), MBS_PARSE_BAD);
	CHECK_EQ_INT(parse(len0, sizeof(len0), &used), MBS_PARSE_BAD);
	CHECK_EQ_INT(parse(len_big, sizeof(len_big), &used), MBS_PARSE_BAD);
}

static void test_limits_give_exceptions(void)
{
	uint8_t f[] = { 0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 126 };
	const uint8_t unknown[] = { 0, 1, 0, 0, 0, 2, 1, 0x2B };
	const uint8_t coil_bad[] = { 0, 1, 0, 0, 0, 6, 1, 5, 0, 1, 0x12, 0x34 };
	const uint8_t past_end[] = { 0, 1, 0, 0, 0, 6, 1, 4, 0xFF, 0xFF, 0, 2 };
	const uint8_t short_pdu[] = { 0, 1, 0, 0, 0, 4, 1, 3, 0, 0 };
	size_t used;

	CHECK_EQ_INT(parse(f, sizeof(f), &used), MBS_PARSE_OK);
	CHECK_EQ_INT(req.exception, MBS_EX_ILLEGAL_VALUE); /* 126 > 125 registers */
	f[11] = 0;
	parse(f, sizeof(f), &used);
	CHECK_EQ_INT(req.exception, MBS_EX_ILLEGAL_VALUE);
	f[7] = 1; f[10] = 0x07; f[11] = 0xD0; /* 2000 coils: the most */
	parse(f, sizeof(f), &used);
	CHECK_EQ_INT(req.exception, 0);
	CHECK_EQ_INT(parse(unknown, sizeof(unknown), &used), MBS_PARSE_OK);
	CHECK_EQ_INT(req.exception, MBS_EX_ILLEGAL_FUNCTION);
	parse(coil_bad, sizeof(coil_bad), &used);
	CHECK_EQ_INT(req.exception, MBS_EX_ILLEGAL_VALUE);
	parse(past_end, sizeof(past_end), &used);
	CHECK_EQ_INT(req.exception, MBS_EX_ILLEGAL_ADDRESS);
	CHECK_EQ_INT(parse(short_pdu, sizeof(short_pdu), &used), MBS_PARSE_OK);
	CHECK_EQ_INT(req.exception, MBS_EX_ILLEGAL_VALUE);
}

static void test_writes_carry_their_values(void)
{
	const uint8_t fc16[] = { 0, 1, 0, 0, 0, 11, 2, 0x10, 0, 10, 0, 2, 4, 0x12, 0x34, 0xAB, 0xCD };
	const uint8_t fc15[] = { 0, 1, 0, 0, 0, 9, 2, 0x0F, 0, 3, 0, 10, 2, 0x05, 0x02 };
	const uint8_t fc16_bad[] = { 0, 1, 0, 0, 0, 11, 2, 0x10, 0, 10, 0, 2, 3, 0x12, 0x34, 0xAB, 0xCD };
	const uint8_t fc05[] = { 0, 1, 0, 0, 0, 6, 2, 5, 0, 3, 0xFF, 0 };
	size_t used;

	parse(fc16, sizeof(fc16), &used);
	CHECK_EQ_INT(req.exception, 0);
	CHECK_EQ_INT(req.values[0], 0x1234);
	CHECK_EQ_INT(req.values[1], 0xABCD);
	parse(fc15, sizeof(fc15), &used);
	CHECK_EQ_INT(req.exception, 0);
	CHECK_EQ_INT(req.count, 10);
	CHECK_EQ_INT(req.values[0], 1);
	CHECK_EQ_INT(req.values[1], 0);
	CHECK_EQ_INT(req.values[2], 1);
	CHECK_EQ_INT(req.values[9], 1);
	parse(fc16_bad, sizeof(fc16_bad), &used);
	CHECK_EQ_INT(req.exception, MBS_EX_ILLEGAL_VALUE);
	parse(fc05, sizeof(fc05), &used);
	CHECK_EQ_INT(req.values[0], 1);
}

static void test_replies_are_framed(void)
{
	uint8_t out[MBS_ADU_MAX];
	const uint8_t f[] = { 0xBE, 0xEF, 0, 0, 0, 6, 9, 4, 0, 0, 0, 1 };
	const uint8_t want[] = { 0xBE, 0xEF, 0, 0, 0, 3, 9, 0x84, 0x0B };
	size_t used;

	parse(f, sizeof(f), &used);
	CHECK_EQ_INT(mbs_mbap_exception(&req, MBS_EX_TARGET_FAILED, out), sizeof(want));
	CHECK(!memcmp(out, want, sizeof(want)));
}

int main(void)
{
	RUN_TEST(test_read_holding_registers);
	RUN_TEST(test_partial_frames_need_more);
	RUN_TEST(test_pipelined_frames_are_taken_one_at_a_time);
	RUN_TEST(test_bad_framing_closes);
	RUN_TEST(test_limits_give_exceptions);
	RUN_TEST(test_writes_carry_their_values);
	RUN_TEST(test_replies_are_framed);
	return fb_test_finish();
}
