/* SPDX-License-Identifier: Apache-2.0 */
/* The checks in front of every state-changing request: a matching Origin
 * (a page of another site cannot send one) and the session's CSRF token in
 * a header (a form or image of another site cannot set one). */
#include "web-internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool web_csrf_origin_ok(const char *origin, const char *host, bool tls)
{
	const char *scheme = tls ? "https://" : "http://";
	size_t n = strlen(scheme);

	if (!origin || !host || !host[0])
		return false;
	if (strncasecmp(origin, scheme, n))
		return false;
	/* Host names compare case-insensitively; a path or a trailing slash
	 * never appears in a real Origin header. */
	return !strcasecmp(origin + n, host);
}

bool web_csrf_token_ok(const struct web_session *s, const char *header)
{
	return s && header && web_session_token_equal(s->csrf, header);
}

bool web_csrf_cookie_session(const char *cookie, char *out, size_t len)
{
	const char *p = cookie;

	while (p && *p) {
		size_t n;

		while (*p == ' ' || *p == ';')
			p++;
		n = strcspn(p, ";");
		if (n > 11 && !strncmp(p, "fb_session=", 11)) {
			if (n - 11 >= len)
				return false;
			memcpy(out, p + 11, n - 11);
			out[n - 11] = '\0';
			return true;
		}
		p += n;
	}
	return false;
}
