/* SPDX-License-Identifier: Apache-2.0 */
/* Login sessions: random ids in an HttpOnly cookie, a CSRF token each,
 * idle and absolute expiry.  Kept in memory only: a restart logs everyone
 * out, which is the safe direction. */
#include "web-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char *const role_names[] = { "viewer", "operator", "admin" };

const char *web_session_role_name(enum web_role r)
{
	return r <= WEB_ROLE_ADMIN ? role_names[r] : "viewer";
}

int web_session_role_parse(const char *s, enum web_role *out)
{
	for (int i = 0; i <= WEB_ROLE_ADMIN; i++) {
		if (s && !strcmp(s, role_names[i])) {
			*out = (enum web_role)i;
			return 0;
		}
	}
	return -1;
}

int web_session_random_hex(char *out, size_t nbytes)
{
	unsigned char buf[64];
	size_t got = 0;

	if (nbytes > sizeof(buf))
		return -1;
	while (got < nbytes) {
		ssize_t n = getrandom(buf + got, nbytes - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

bool web_session_token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return !diff && la > 0;
}

void web_sessions_init(struct web_sessions *t, int idle_s)
{
	memset(t, 0, sizeof(*t));
	t->idle_s = idle_s;
}

struct web_session *web_session_new(struct web_sessions *t, const char *user,
				    enum web_role role, int64_t now_s)
{
	struct web_session *s = NULL;

	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++) {
		if (!t->s[i].used) {
			s = &t->s[i];
			break;
		}
		if (!s || t->s[i].last_s < s->last_s)
			s = &t->s[i];
	}
	memset(s, 0, sizeof(*s));
	if (web_session_random_hex(s->id, WEB_TOKEN_HEX / 2) < 0 ||
	    web_session_random_hex(s->csrf, WEB_TOKEN_HEX / 2) < 0)
		return NULL;
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->role = role;
	s->created_s = s->last_s = now_s;
	s->used = true;
	return s;
}

static bool expired(const struct web_sessions *t, const struct web_session *s, int64_t now_s)
{
	return now_s - s->last_s >= t->idle_s || now_s - s->created_s >= WEB_SESSION_MAX_S;
}

struct web_session *web_session_find(struct web_sessions *t, const char *id, int64_t now_s)
{
	struct web_session *found = NULL;

	/* Every slot is compared, so the time taken says nothing about ids. */
	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++)
		if (t->s[i].used && web_session_token_equal(t->s[i].id, id))
			found = &t->s[i];
	if (!found)
		return NULL;
	if (expired(t, found, now_s)) {
		web_session_drop(found);
		return NULL;
	}
	found->last_s = now_s;
	return found;
}

void web_session_drop(struct web_session *s)
{
	explicit_bzero(s, sizeof(*s));
}

void web_sessions_drop_user(struct web_sessions *t, const char *user)
{
	for (size_t i = 0; i < WEB_SESSIONS_MAX; i++)
		if (t->s[i].used && !strcmp(t->s[i].user, user))
			web_session_drop(&t->s[i]);
}

int64_t web_session_expires_s(const struct web_sessions *t, const struct web_session *s)
{
	int64_t idle = s->last_s + t->idle_s, max = s->created_s + WEB_SESSION_MAX_S;

	return idle < max ? idle : max;
}
