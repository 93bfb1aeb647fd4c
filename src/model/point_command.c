/* SPDX-License-Identifier: Apache-2.0 */
/* Commands as text (Home Assistant's payloads, fieldbridgectl's VALUE) ->
 * the table value a driver writes.  One command topic per point takes
 * every payload its component sends (a fan's ON/OFF, speed steps and
 * presets alike), so each payload is told apart here, and anything outside
 * the point's range is refused before it reaches a driver.  Uses the point
 * helpers only (point.c). */
#include "model.h"
#include "model-internal.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool parse_on_off(const char *text, bool *on)
{
	if (!strcasecmp(text, "ON") || !strcmp(text, "1") || !strcasecmp(text, "true"))
		*on = true;
	else if (!strcasecmp(text, "OFF") || !strcmp(text, "0") || !strcasecmp(text, "false"))
		*on = false;
	else
		return false;
	return true;
}

/* A decimal number and nothing else: strtod alone would take leading
 * blanks, hex ("0x1A") and "infinity". */
static bool parse_decimal(const char *text, double *out)
{
	char *end;

	if (!text[0] || !strchr("+-.0123456789", text[0]) || strpbrk(text, "xXpP"))
		return false;
	errno = 0;
	*out = strtod(text, &end);
	return !errno && end != text && !*end && isfinite(*out);
}

static int set_number(struct fb_value *v, double d)
{
	v->kind = FB_VALUE_FLOAT;
	v->f = d;
	return 0;
}

static bool between(double x, double a, double b)
{
	return a <= b ? x >= a && x <= b : x >= b && x <= a;
}

/* A whole integer within lo..hi. */
static bool integer_in(double d, int64_t lo, int64_t hi)
{
	return d == floor(d) && d >= (double)lo && d <= (double)hi;
}

static int parse_fan(const struct fb_point_ext *x, const char *text, struct fb_value *v)
{
	double d;

	if (!strcasecmp(text, "ON"))
		return set_number(v, (double)x->fan_on);
	if (!strcasecmp(text, "OFF"))
		return set_number(v, (double)x->fan_off);
	for (size_t i = 0; i < x->npresets; i++)
		if (!strcmp(text, x->presets[i].label))
			return set_number(v, (double)x->presets[i].raw);
	/* Home Assistant sends a percentage already turned into a step of
	 * speed_min..speed_max, and OFF (not 0) for 0 %. */
	if (parse_decimal(text, &d) && (integer_in(d, x->speed_min, x->speed_max) ||
					d == (double)x->fan_off))
		return set_number(v, d);
	return -1;
}

static int parse_text(const struct fb_point_def *p, const char *text, struct fb_value *v)
{
	size_t len = strlen(text);
	regex_t re;
	int rc;

	if (len > 2u * p->length || len >= sizeof(v->s) || len < p->ext.min_length)
		return -1;
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -1;
	if (p->ext.pattern) {
		/* The whole text: Home Assistant's check only anchors the start. */
		char *anchored = malloc(strlen(p->ext.pattern) + 5);

		if (!anchored)
			return -1;
		strcpy(anchored, "^(");
		strcat(anchored, p->ext.pattern);
		strcat(anchored, ")$");
		rc = regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (rc)
			return -1;
		rc = regexec(&re, text, 0, NULL, 0);
		regfree(&re);
		if (rc)
			return -1;
	}
	v->kind = FB_VALUE_STRING;
	memcpy(v->s, text, len + 1);
	return 0;
}

int fb_point_parse_command(const struct fb_point_def *p, const char *text, struct fb_value *v)
{
	const struct fb_point_ext *x = &p->ext;
	double d;
	bool on;

	memset(v, 0, sizeof(*v));
	switch (p->component) {
	case FB_COMP_LIGHT:
		if (x->brightness_scale) {
			/* A dimmer: ON is full brightness, OFF level 0. */
			if (!strcasecmp(text, "ON"))
				return set_number(v, (double)x->brightness_scale);
			if (!strcasecmp(text, "OFF"))
				return set_number(v, 0);
			if (parse_decimal(text, &d) && integer_in(d, 0, x->brightness_scale))
				return set_number(v, d);
			return -1;
		}
		/* A relay light takes a switch's payloads. */
		/* fall through */
	case FB_COMP_SWITCH:
	case FB_COMP_VALVE:
		v->kind = FB_VALUE_BOOL;
		if (!parse_on_off(text, &on))
			return -1;
		v->b = on;
		return 0;
	case FB_COMP_BUTTON:
		v->kind = FB_VALUE_BOOL;
		v->b = true;
		return strcasecmp(text, "PRESS") ? -1 : 0;
	case FB_COMP_SELECT:
		for (size_t i = 0; i < p->noptions; i++) {
			if (!strcmp(text, p->options[i].label)) {
				v->kind = FB_VALUE_INT;
				v->i = p->options[i].raw;
				return 0;
			}
		}
		return -1;
	case FB_COMP_NUMBER:
	case FB_COMP_CLIMATE:
		if (!parse_decimal(text, &d))
			return -1;
		if ((p->has_min && d < p->min) || (p->has_max && d > p->max))
			return -1;
		return set_number(v, d);
	case FB_COMP_COVER:
		/* STOP: the relay cover's driver stops the run; a position
		 * register takes its stop value. */
		if (!strcasecmp(text, "STOP") && x->relay_open) {
			v->kind = FB_VALUE_STRING;
			strcpy(v->s, "STOP");
			return 0;
		}
		if (!strcasecmp(text, "STOP"))
			return x->has_stop ? set_number(v, (double)x->stop_value) : -1;
		if (!strcasecmp(text, "OPEN"))
			return set_number(v, (double)x->position_open);
		if (!strcasecmp(text, "CLOSE"))
			return set_number(v, (double)x->position_closed);
		if (parse_decimal(text, &d) &&
		    between(d, (double)x->position_closed, (double)x->position_open))
			return set_number(v, d);
		return -1;
	case FB_COMP_FAN:
		return parse_fan(x, text, v);
	case FB_COMP_TEXT:
		return parse_text(p, text, v);
	default:
		return -1;
	}
}
