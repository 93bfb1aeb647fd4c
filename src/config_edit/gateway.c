/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway section is the one object that only the main file holds,
 * so its settings (log_level, name) are edited there, in place: one
 * member's text is replaced, added or removed and every other byte,
 * comments included, stays as the person who wrote the file left it. */
#include "config_edit-internal.h"
#include "jsonfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* orig with [s, e) replaced by ins. */
static char *splice(const char *orig, size_t s, size_t e, const char *ins)
{
	size_t len = strlen(orig), il = strlen(ins);
	char *out = malloc(len - (e - s) + il + 1);

	if (!out)
		return NULL;
	memcpy(out, orig, s);
	memcpy(out + s, ins, il);
	memcpy(out + s + il, orig + e, len - e + 1);
	return out;
}

struct member {
	size_t key, end;   /* the key's opening quote; after the value */
	size_t comma;      /* the comma after it, 0 if none */
};

/* Scans the members of the object whose '{' is at t[open]; fills m[0..]
 * (up to max) and returns their count, with *close the offset of '}';
 * -1 if the text cannot be scanned.  *found gets the index of `field`
 * (-1 if absent), when field is not NULL. */
static int members(const char *t, size_t open, const char *field, struct member *m,
		   int max, size_t *close, int *found)
{
	size_t i = ce_text_ws(t, open + 1), flen = field ? strlen(field) : 0;
	int n = 0;

	*found = -1;
	while (t[i] == '"') {
		size_t ks = i, ke = ce_text_string(t, i), ve;

		i = ce_text_ws(t, ke);
		if (t[i] != ':')
			return -1;
		i = ce_text_ws(t, i + 1);
		ve = ce_text_value(t, i);
		if (!ve)
			return -1;
		if (field && ke - ks - 2 == flen && !strncmp(t + ks + 1, field, flen))
			*found = n;
		if (n == max)
			return -1;
		m[n] = (struct member){ ks, ve, 0 };
		i = ce_text_ws(t, ve);
		if (t[i] != ',') {
			n++;
			break;
		}
		m[n++].comma = i;
		i = ce_text_ws(t, i + 1);
	}
	if (t[i] != '}')
		return -1;
	*close = i;
	return n;
}

static bool only_blanks(const char *orig, size_t s, size_t e)
{
	for (; s < e; s++)
		if (!strchr(" \t\r\n,", orig[s]))
			return false;
	return true;
}

/* The blanks that start the line of offset at (for a new member). */
static void indent_of(const char *orig, size_t at, char *buf, size_t len)
{
	size_t a = at;

	while (a > 0 && (orig[a - 1] == ' ' || orig[a - 1] == '\t'))
		a--;
	if (a > 0 && orig[a - 1] != '\n') {
		snprintf(buf, len, " ");
		return;
	}
	snprintf(buf, len, "\n%.*s", (int)(at - a), orig + a);
}

#define MEMBERS_MAX 64

char *ce_gateway_text_set(const char *orig, const char *field, const char *value)
{
	struct member top[MEMBERS_MAX], gw[MEMBERS_MAX];
	size_t open, close, len = strlen(orig), gs = 0, s, e;
	char *t = strdup(orig), *out = NULL, *ins = NULL, ind[64];
	int n, g, k = -1;

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	errno = EINVAL;
	if (fb_json_strip_comments(t, NULL) < 0)
		goto out;
	open = ce_text_ws(t, 0);
	if (t[open] != '{' || (n = members(t, open, "gateway", top, MEMBERS_MAX, &close, &g)) < 0)
		goto out;
	if (g < 0) {
		/* No section yet: a new first member of the top object. */
		if (!value) {
			out = strdup(orig);
			goto out;
		}
		if (asprintf(&ins, "\n  \"gateway\": { \"%s\": %s }%s", field, value,
			     n ? "," : "\n") < 0) {
			ins = NULL;
			errno = ENOMEM;
			goto out;
		}
		out = splice(orig, open + 1, open + 1, ins);
		goto out;
	}
	/* The value of "gateway" follows its key. */
	gs = ce_text_ws(t, ce_text_ws(t, ce_text_string(t, top[g].key)) + 1);
	if (t[gs] != '{' || (n = members(t, gs, field, gw, MEMBERS_MAX, &close, &k)) < 0)
		goto out;
	if (k >= 0 && value) {
		s = ce_text_ws(t, ce_text_ws(t, ce_text_string(t, gw[k].key)) + 1);
		out = splice(orig, s, gw[k].end, value);
	} else if (k >= 0 && gw[k].comma) {
		/* Not last: the member and its comma (and the blanks after it
		 * when the line goes on). */
		s = gw[k].key;
		e = gw[k].comma + 1;
		ce_text_widen(orig, len, &s, &e);
		while (s == gw[k].key && (orig[e] == ' ' || orig[e] == '\t'))
			e++;
		out = splice(orig, s, e, "");
	} else if (k > 0 && only_blanks(orig, gw[k - 1].end, gw[k].key)) {
		/* Last: from the end of the one before, its comma included. */
		out = splice(orig, gw[k - 1].end, gw[k].end, "");
	} else if (k >= 0) {
		char *mid;

		/* Last, with comments around: the member, then the comma. */
		s = gw[k].key;
		e = gw[k].end;
		ce_text_widen(orig, len, &s, &e);
		mid = splice(orig, s, e, "");
		out = mid && k > 0 ? splice(mid, gw[k - 1].comma, gw[k - 1].comma + 1, "") : mid;
		if (out != mid)
			free(mid);
	} else if (!value) {
		out = strdup(orig);
	} else {
		/* A new last member, indented like the first one. */
		int r;

		if (n) {
			indent_of(orig, gw[0].key, ind, sizeof(ind));
			r = asprintf(&ins, ",%s\"%s\": %s", ind, field, value);
		} else {
			r = asprintf(&ins, " \"%s\": %s ", field, value);
		}
		if (r < 0) {
			ins = NULL;
			errno = ENOMEM;
			goto out;
		}
		s = n ? gw[n - 1].end : gs + 1;
		out = splice(orig, s, s, ins);
	}
	if (!out)
		errno = ENOMEM;
out:
	free(ins);
	free(t);
	return out;
}
