/* SPDX-License-Identifier: Apache-2.0 */
/* Scanning JSON text by byte offset, for the edits that keep every other
 * byte of a hand-written file (move-to-dropin, the gateway section): the
 * parsed tree has no offsets.  The text given has its comments blanked
 * (fb_json_strip_comments), so offsets are those of the original. */
#include "config_edit-internal.h"

#include <string.h>

size_t ce_text_ws(const char *t, size_t i)
{
	while (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')
		i++;
	return i;
}

size_t ce_text_string(const char *t, size_t i)
{
	for (i++; t[i] && t[i] != '"'; i++)
		if (t[i] == '\\' && t[i + 1])
			i++;
	return t[i] ? i + 1 : i;
}

size_t ce_text_value(const char *t, size_t i)
{
	int depth = 0;

	do {
		if (!t[i])
			return 0;
		if (t[i] == '"') {
			i = ce_text_string(t, i);
			continue;
		}
		if (t[i] == '{' || t[i] == '[')
			depth++;
		else if (t[i] == '}' || t[i] == ']')
			depth--;
		else if (depth == 0 && (t[i] == ',' || t[i] == ' ' || t[i] == '\t' ||
					t[i] == '\n' || t[i] == '\r'))
			return i;
		i++;
	} while (depth > 0 || (t[i] && !strchr(",}] \t\r\n", t[i])));
	return i;
}

void ce_text_widen(const char *orig, size_t len, size_t *s, size_t *e)
{
	size_t a = *s, b = *e;

	while (a > 0 && (orig[a - 1] == ' ' || orig[a - 1] == '\t'))
		a--;
	while (b < len && (orig[b] == ' ' || orig[b] == '\t' || orig[b] == '\r'))
		b++;
	if ((a == 0 || orig[a - 1] == '\n') && b < len && orig[b] == '\n') {
		*s = a;
		*e = b + 1;
	}
}
