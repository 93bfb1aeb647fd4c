/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: bytes a Modbus TCP client sends fieldbridge-mbserver, through
 * its request parser (src/mbserver/mbap.c) the way clients.c drives it: a
 * bounded input buffer (MBS_IN_MAX) filled in chunks, parsed until a frame
 * is incomplete or bad.
 *
 * Input: byte 0 is the chunk size (1..256), the rest the stream.  Properties
 * checked: the parser consumes only what it was given; a parsed request is
 * the same whether the stream arrived in chunks or at once; addresses and
 * counts of requests without an exception are within the protocol limits;
 * every reply framed for a request fits an ADU. */
#include "fuzz_util.h"
#include "mbserver-internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 64

struct frame {
	uint16_t tid, address, count;
	uint8_t unit, fc, exception;
};

struct seen {
	size_t n;
	struct frame f[MAX_FRAMES];
	bool bad;
};

static void check_request(const struct mbs_request *r)
{
	uint8_t out[MBS_ADU_MAX];
	size_t n;

	if (!r->exception) {
		if (r->count < 1 || (uint32_t)r->address + r->count > 0x10000u ||
		    r->count > 2000)
			abort();
		for (size_t i = 0; (r->fc == MBS_FC_WRITE_COILS || r->fc == MBS_FC_WRITE_COIL) &&
				   i < r->count; i++)
			if (r->values[i] > 1)
				abort();
	}
	n = mbs_mbap_exception(r, r->exception ? r->exception : MBS_EX_TARGET_FAILED, out);
	if (n > MBS_ADU_MAX || out[7] != (r->fc | 0x80))
		abort();
}

/* Feeds data through a client-sized buffer, `chunk` bytes per receive. */
static void run(const uint8_t *data, size_t size, size_t chunk, struct seen *s,
		struct mbs_request *req)
{
	uint8_t in[MBS_IN_MAX];
	size_t inlen = 0, pos = 0;

	memset(s, 0, sizeof(*s));
	while (pos < size || inlen) {
		size_t take = chunk, off = 0;
		bool progress = false;

		if (take > MBS_IN_MAX - inlen)
			take = MBS_IN_MAX - inlen;
		if (take > size - pos)
			take = size - pos;
		memcpy(in + inlen, data + pos, take);
		inlen += take;
		pos += take;
		for (;;) {
			size_t used = 0;
			enum mbs_parse rc = mbs_mbap_parse(in + off, inlen - off, req, &used);

			if (rc == MBS_PARSE_BAD) {
				s->bad = true;
				return;
			}
			if (rc == MBS_PARSE_MORE) {
				if (used)
					abort();
				break;
			}
			if (used < MBS_MBAP_LEN + 1 || used > inlen - off || used > MBS_ADU_MAX)
				abort();
			check_request(req);
			if (s->n < MAX_FRAMES)
				s->f[s->n++] = (struct frame){ req->tid, req->address, req->count,
								req->unit, req->fc, req->exception };
			off += used;
			progress = true;
		}
		memmove(in, in + off, inlen - off);
		inlen -= off;
		/* A full buffer without a frame cannot happen: an ADU is smaller. */
		if (inlen == MBS_IN_MAX)
			abort();
		if (!take && !progress)
			return; /* the stream ended inside a frame */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mbs_request req;
	static struct seen a, b;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	run(data + 1, size - 1, chunk, &a, &req);
	run(data + 1, size - 1, MBS_IN_MAX, &b, &req);
	if (a.bad != b.bad || a.n != b.n || memcmp(a.f, b.f, sizeof(a.f[0]) * a.n))
		abort();
	return 0;
}
