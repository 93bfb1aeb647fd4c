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

bool web_sse_queue_append_raw(struct web_sse_buf *b, const char *text)
{
	size_t n = strlen(text);
	char *p;

	if (b->off && b->off == b->len) {
		b->off = b->len = 0;
	}
	if (b->len + n > WEB_SSE_BUF_MAX) {
		b->off = b->len = 0;
		b->overflow = true;
		return false;
	}
	p = realloc(b->data, b->len + n + 1);
	if (!p) {
		b->overflow = true;
		return false;
	}
	b->data = p;
	memcpy(b->data + b->len, text, n + 1);
	b->len += n;
	return true;
}

bool web_sse_queue_append(struct web_sse_buf *b, const char *event, const char *data)
{
	/* data is JSON without raw newlines (cJSON_PrintUnformatted), so one
	 * data: line carries it. */
	return web_sse_queue_append_raw(b, "event: ") && web_sse_queue_append_raw(b, event) &&
	       web_sse_queue_append_raw(b, "\ndata: ") && web_sse_queue_append_raw(b, data) &&
	       web_sse_queue_append_raw(b, "\n\n");
}

void web_sse_queue_buf_free(struct web_sse_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
