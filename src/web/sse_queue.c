/* SPDX-License-Identifier: Apache-2.0 */
/* Server-Sent Events plumbing without I/O: the dirty set that coalesces a
 * point's changes into one update per flush, and each client's bounded
 * output buffer. */
#include "web-internal.h"

#include <stdlib.h>
#include <string.h>

int web_sse_queue_dirty_init(struct web_dirty *d, size_t n)
{
	memset(d, 0, sizeof(*d));
	d->bits = calloc(n / 8 + 1, 1);
	if (!d->bits)
		return -1;
	d->n = n;
	return 0;
}

void web_sse_queue_dirty_free(struct web_dirty *d)
{
	free(d->bits);
	memset(d, 0, sizeof(*d));
}

void web_sse_queue_mark(struct web_dirty *d, size_t i)
{
	if (i >= d->n || (d->bits[i / 8] & (1u << (i % 8))))
		return;
	d->bits[i / 8] |= (uint8_t)(1u << (i % 8));
	d->count++;
}

void web_sse_queue_take(struct web_dirty *d, void (*cb)(void *ctx, size_t i), void *ctx)
{
	if (!d->count)
		return;
	for (size_t i = 0; i < d->n; i++) {
		if (d->bits[i / 8] & (1u << (i % 8))) {
			d->bits[i / 8] &= (uint8_t)~(1u << (i % 8));
			cb(ctx, i);
		}
	}
	d->count = 0;
}

/* Appends n bytes; the sent part in front is dropped first. */
static bool put(struct web_sse_buf *b, const char *text, size_t n)
{
	char *p;

	if (b->off) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	p = realloc(b->data, b->len + n + 1);
	if (!p) {
		b->off = b->len = 0;
		b->overflow = true;
		return false;
	}
	b->data = p;
	memcpy(b->data + b->len, text, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

/* An event of n bytes is refused while more than max(WEB_SSE_BUF_MAX, n)
 * is still unsent: a client that reads keeps up with events of any size
 * (a 1,000-point snapshot is ~150 KB), one that does not costs at most
 * twice the largest event plus WEB_SSE_BUF_MAX. */
static bool room(struct web_sse_buf *b, size_t n)
{
	size_t pending = b->len - b->off;

	if (pending > (n > WEB_SSE_BUF_MAX ? n : WEB_SSE_BUF_MAX)) {
		b->off = b->len = 0;
		b->overflow = true;
		return false;
	}
	return true;
}

bool web_sse_queue_append_raw(struct web_sse_buf *b, const char *text)
{
	size_t n = strlen(text);

	return room(b, n) && put(b, text, n);
}

bool web_sse_queue_append(struct web_sse_buf *b, const char *event, const char *data)
{
	size_t ne = strlen(event), nd = strlen(data);

	/* data is JSON without raw newlines (cJSON_PrintUnformatted), so one
	 * data: line carries it. */
	return room(b, ne + nd + 16) && put(b, "event: ", 7) && put(b, event, ne) &&
	       put(b, "\ndata: ", 7) && put(b, data, nd) && put(b, "\n\n", 2);
}

/* A drained buffer is freed: a snapshot (~150 KB for 1,000 points) would
 * otherwise stay allocated per client for as long as the stream lasts,
 * while updates need a few KB. */
size_t web_sse_queue_take_out(struct web_sse_buf *b, char *out, size_t max)
{
	size_t n = b->len - b->off;

	if (n > max)
		n = max;
	memcpy(out, b->data + b->off, n);
	b->off += n;
	if (b->off == b->len) {
		free(b->data);
		b->data = NULL;
		b->off = b->len = 0;
	}
	return n;
}

void web_sse_queue_buf_free(struct web_sse_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
