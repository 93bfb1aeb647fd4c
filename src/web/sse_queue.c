/* SPDX-License-Identifier: Apache-2.0 */
/* Server-Sent Events plumbing without I/O: the dirty set that coalesces a
 * point's changes into one update per flush, the shared event chunks, and
 * each client's bounded queue of them. */
#include "web-internal.h"

#include <stdio.h>
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

struct web_sse_chunk {
	size_t refs;       /* one thread: the daemon's loop */
	size_t len;
	char text[];
};

struct web_sse_chunk *web_sse_queue_chunk_new(const char *event, const char *data)
{
	size_t ne = event ? strlen(event) : 0, nd = strlen(data);
	size_t n = event ? 7 + ne + 7 + nd + 2 : nd;
	struct web_sse_chunk *ch = malloc(sizeof(*ch) + n + 1);

	if (!ch)
		return NULL;
	ch->refs = 1;
	ch->len = n;
	/* data is JSON without raw newlines (cJSON_PrintUnformatted), so one
	 * data: line carries it. */
	if (event)
		snprintf(ch->text, n + 1, "event: %s\ndata: %s\n\n", event, data);
	else
		memcpy(ch->text, data, n + 1);
	return ch;
}

void web_sse_queue_chunk_unref(struct web_sse_chunk *ch)
{
	if (ch && --ch->refs == 0)
		free(ch);
}

static void drop_all(struct web_sse_buf *b)
{
	for (size_t i = 0; i < b->count; i++)
		web_sse_queue_chunk_unref(b->q[(b->head + i) % WEB_SSE_QUEUE_LEN]);
	b->head = b->count = b->off = b->pending = 0;
}

/* An event of n bytes is refused while more than max(WEB_SSE_BUF_MAX, n)
 * is still unsent: a client that reads keeps up with events of any size
 * (a 1,000-point snapshot is ~150 KB), one that does not keeps at most
 * twice the largest event plus WEB_SSE_BUF_MAX alive. */
bool web_sse_queue_push(struct web_sse_buf *b, struct web_sse_chunk *ch)
{
	if (!ch)
		return false;
	if (b->pending > (ch->len > WEB_SSE_BUF_MAX ? ch->len : WEB_SSE_BUF_MAX) ||
	    b->count == WEB_SSE_QUEUE_LEN) {
		drop_all(b);
		b->overflow = true;
		return false;
	}
	ch->refs++;
	b->q[(b->head + b->count++) % WEB_SSE_QUEUE_LEN] = ch;
	b->pending += ch->len;
	return true;
}

bool web_sse_queue_append(struct web_sse_buf *b, const char *event, const char *data)
{
	struct web_sse_chunk *ch = web_sse_queue_chunk_new(event, data);
	bool ok = web_sse_queue_push(b, ch);

	web_sse_queue_chunk_unref(ch);
	return ok;
}

bool web_sse_queue_append_raw(struct web_sse_buf *b, const char *text)
{
	return web_sse_queue_append(b, NULL, text);
}

size_t web_sse_queue_take_out(struct web_sse_buf *b, char *out, size_t max)
{
	size_t done = 0;

	while (b->count && done < max) {
		struct web_sse_chunk *ch = b->q[b->head];
		size_t n = ch->len - b->off;

		if (n > max - done)
			n = max - done;
		memcpy(out + done, ch->text + b->off, n);
		done += n;
		b->off += n;
		b->pending -= n;
		if (b->off == ch->len) {
			web_sse_queue_chunk_unref(ch);
			b->head = (b->head + 1) % WEB_SSE_QUEUE_LEN;
			b->count--;
			b->off = 0;
		}
	}
	return done;
}

void web_sse_queue_buf_free(struct web_sse_buf *b)
{
	drop_all(b);
	memset(b, 0, sizeof(*b));
}
