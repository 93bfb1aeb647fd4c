/* SPDX-License-Identifier: Apache-2.0 */
/* gpio-backend.h on libgpiod 2.x (trixie): chip info, line settings, a line
 * config and a request config make one request. */
#include "gpio-backend.h"

#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EDGE_BUFFER 16

struct gl_chip {
	struct gpiod_chip *chip;
	char *label;
	unsigned num_lines;
};

struct gl_line {
	struct gpiod_line_request *req;
	struct gpiod_edge_event_buffer *events; /* NULL for outputs */
	unsigned offset;
};

const char *gl_backend_name(void)
{
	return "libgpiod 2";
}

struct gl_chip *gl_chip_open(const char *path)
{
	struct gl_chip *c = calloc(1, sizeof(*c));
	struct gpiod_chip_info *info;

	if (!c)
		return NULL;
	c->chip = gpiod_chip_open(path);
	info = c->chip ? gpiod_chip_get_info(c->chip) : NULL;
	if (!info) {
		int err = errno;

		gl_chip_close(c);
		errno = err;
		return NULL;
	}
	c->label = strdup(gpiod_chip_info_get_label(info));
	c->num_lines = (unsigned)gpiod_chip_info_get_num_lines(info);
	gpiod_chip_info_free(info);
	if (!c->label) {
		gl_chip_close(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void gl_chip_close(struct gl_chip *c)
{
	if (!c)
		return;
	if (c->chip)
		gpiod_chip_close(c->chip);
	free(c->label);
	free(c);
}

const char *gl_chip_label(const struct gl_chip *c)
{
	return c->label;
}

unsigned gl_chip_num_lines(const struct gl_chip *c)
{
	return c->num_lines;
}

int gl_chip_find_line(struct gl_chip *c, const char *name)
{
	int off = gpiod_chip_get_line_offset_from_name(c->chip, name);

	if (off < 0)
		errno = ENOENT;
	return off;
}

int gl_chip_line_info(struct gl_chip *c, unsigned offset, char *name, size_t name_len,
		      bool *used, char *consumer, size_t consumer_len)
{
	struct gpiod_line_info *info = gpiod_chip_get_line_info(c->chip, offset);
	const char *s;

	if (!info)
		return -1;
	s = gpiod_line_info_get_name(info);
	snprintf(name, name_len, "%s", s ? s : "");
	*used = gpiod_line_info_is_used(info);
	s = gpiod_line_info_get_consumer(info);
	snprintf(consumer, consumer_len, "%s", s ? s : "");
	gpiod_line_info_free(info);
	return 0;
}

static enum gpiod_line_bias bias_of(enum fb_gpio_bias b)
{
	switch (b) {
	case FB_GPIO_BIAS_DISABLED: return GPIOD_LINE_BIAS_DISABLED;
	case FB_GPIO_BIAS_PULL_UP: return GPIOD_LINE_BIAS_PULL_UP;
	case FB_GPIO_BIAS_PULL_DOWN: return GPIOD_LINE_BIAS_PULL_DOWN;
	case FB_GPIO_BIAS_AS_IS: break;
	}
	return GPIOD_LINE_BIAS_AS_IS;
}

struct gl_line *gl_line_request(struct gl_chip *c, const struct gl_line_req *req)
{
	struct gpiod_line_settings *s = gpiod_line_settings_new();
	struct gpiod_line_config *lc = gpiod_line_config_new();
	struct gpiod_request_config *rc = gpiod_request_config_new();
	struct gl_line *l = calloc(1, sizeof(*l));
	int err = ENOMEM;

	if (!s || !lc || !rc || !l)
		goto fail;
	l->offset = req->offset;
	gpiod_line_settings_set_active_low(s, req->active_low);
	gpiod_line_settings_set_bias(s, bias_of(req->bias));
	if (req->output) {
		gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT);
		/* Logical: the kernel applies active-low to the initial value. */
		gpiod_line_settings_set_output_value(s, req->initial ? GPIOD_LINE_VALUE_ACTIVE
								     : GPIOD_LINE_VALUE_INACTIVE);
	} else {
		gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT);
		if (req->edges)
			gpiod_line_settings_set_edge_detection(s, GPIOD_LINE_EDGE_BOTH);
	}
	if (gpiod_line_config_add_line_settings(lc, &req->offset, 1, s) < 0)
		goto fail_errno;
	gpiod_request_config_set_consumer(rc, req->consumer);
	l->req = gpiod_chip_request_lines(c->chip, rc, lc);
	if (!l->req)
		goto fail_errno;
	if (!req->output && req->edges) {
		l->events = gpiod_edge_event_buffer_new(EDGE_BUFFER);
		if (!l->events)
			goto fail;
	}
	gpiod_line_settings_free(s);
	gpiod_line_config_free(lc);
	gpiod_request_config_free(rc);
	return l;
fail_errno:
	err = errno;
fail:
	gl_line_release(l);
	gpiod_line_settings_free(s);
	gpiod_line_config_free(lc);
	gpiod_request_config_free(rc);
	errno = err;
	return NULL;
}

void gl_line_release(struct gl_line *l)
{
	if (!l)
		return;
	if (l->req)
		gpiod_line_request_release(l->req);
	gpiod_edge_event_buffer_free(l->events);
	free(l);
}

int gl_line_fd(const struct gl_line *l)
{
	return l->events ? gpiod_line_request_get_fd(l->req) : -1;
}

int gl_line_get(struct gl_line *l)
{
	enum gpiod_line_value v = gpiod_line_request_get_value(l->req, l->offset);

	return v == GPIOD_LINE_VALUE_ERROR ? -1 : v == GPIOD_LINE_VALUE_ACTIVE;
}

int gl_line_set(struct gl_line *l, bool active)
{
	return gpiod_line_request_set_value(l->req, l->offset, active ? GPIOD_LINE_VALUE_ACTIVE
									 : GPIOD_LINE_VALUE_INACTIVE);
}

int gl_line_read_edges(struct gl_line *l, struct gl_edge *out, size_t n)
{
	int got;

	if (!l->events) {
		errno = EINVAL;
		return -1;
	}
	if (n > EDGE_BUFFER)
		n = EDGE_BUFFER;
	got = gpiod_line_request_read_edge_events(l->req, l->events, n);
	for (int i = 0; i < got; i++) {
		struct gpiod_edge_event *ev = gpiod_edge_event_buffer_get_event(l->events,
										(unsigned long)i);

		out[i].ts_ns = (int64_t)gpiod_edge_event_get_timestamp_ns(ev);
		out[i].active = gpiod_edge_event_get_event_type(ev) ==
				GPIOD_EDGE_EVENT_RISING_EDGE;
	}
	return got;
}
