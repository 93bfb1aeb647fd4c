/* SPDX-License-Identifier: Apache-2.0 */
/* Login backoff: each failure doubles the wait of its IP and of its user
 * name, from 1 s up to 5 min; a success clears them.  A fixed table: the
 * slot used longest ago is reused, so a flood of names cannot grow memory. */
#include "web-internal.h"

#include <stdio.h>
#include <string.h>

void web_backoff_init(struct web_backoff *b)
{
	memset(b, 0, sizeof(*b));
}

static const struct web_backoff_slot *find(const struct web_backoff *b, const char *key)
{
	for (size_t i = 0; i < WEB_BACKOFF_SLOTS; i++)
		if (b->slot[i].failures && !strcmp(b->slot[i].key, key))
			return &b->slot[i];
	return NULL;
}

int64_t web_backoff_wait_ms(const struct web_backoff *b, const char *key, int64_t now_ms)
{
	const struct web_backoff_slot *s = find(b, key);

	return s && s->until_ms > now_ms ? s->until_ms - now_ms : 0;
}

void web_backoff_fail(struct web_backoff *b, const char *key, int64_t now_ms)
{
	struct web_backoff_slot *s = (struct web_backoff_slot *)find(b, key);
	int64_t wait = WEB_BACKOFF_FIRST_MS;

	if (!s) {
		s = &b->slot[0];
		for (size_t i = 0; i < WEB_BACKOFF_SLOTS; i++) {
			if (!b->slot[i].failures) {
				s = &b->slot[i];
				break;
			}
			if (b->slot[i].last_ms < s->last_ms)
				s = &b->slot[i];
		}
		memset(s, 0, sizeof(*s));
		snprintf(s->key, sizeof(s->key), "%s", key);
	}
	s->failures++;
	for (unsigned i = 1; i < s->failures && wait < WEB_BACKOFF_MAX_MS; i++)
		wait *= 2;
	if (wait > WEB_BACKOFF_MAX_MS)
		wait = WEB_BACKOFF_MAX_MS;
	s->until_ms = now_ms + wait;
	s->last_ms = now_ms;
}

void web_backoff_clear(struct web_backoff *b, const char *key)
{
	struct web_backoff_slot *s = (struct web_backoff_slot *)find(b, key);

	if (s)
		memset(s, 0, sizeof(*s));
}
