/* SPDX-License-Identifier: Apache-2.0 */
/* gpio-backend.h on libgpiod 1.6 (bookworm): a struct gpiod_line is both
 * the line and its request. */
#include "gpio-backend.h"

#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct gl_chip {
	struct gpiod_chip *chip;
};

struct gl_line {
	struct gpiod_line *line;  /* owned by the chip; we own the request */
	int fd;                   /* event fd, -1 for outputs */
};

const char *gl_backend_name(void)
{
	return "libgpiod 1.6";
}

struct gl_chip *gl_chip_open(const char *path)
{
	struct gl_chip *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->chip = gpiod_chip_open(path);
	if (!c->chip) {
		free(c);
		return NULL;
	}
	return c;
}

void gl_chip_close(struct gl_chip *c)
{
	if (!c)
		return;
	gpiod_chip_close(c->chip);
	free(c);
}

const char *gl_chip_label(const struct gl_chip *c)
{
	return gpiod_chip_label(c->chip);
}

unsigned gl_chip_num_lines(const struct gl_chip *c)
{
	return gpiod_chip_num_lines(c->chip);
}

int gl_chip_find_line(struct gl_chip *c, const char *name)
{
	struct gpiod_line *l = gpiod_chip_find_line(c->chip, name);

	if (!l) {
		errno = ENOENT;
		return -1;
	}
	return (int)gpiod_line_offset(l);
}

int gl_chip_line_info(struct gl_chip *c, unsigned offset, char *name, size_t name_len,
		      bool *used, char *consumer, size_t consumer_len)
{
	struct gpiod_line *l = gpiod_chip_get_line(c->chip, offset);
	const char *s;

	if (!l)
		return -1;
	gpiod_line_update(l);
	s = gpiod_line_name(l);
	snprintf(name, name_len, "%s", s ? s : "");
	*used = gpiod_line_is_used(l);
	s = gpiod_line_consumer(l);
	snprintf(consumer, consumer_len, "%s", s ? s : "");
	return 0;
}

struct gl_line *gl_line_request(struct gl_chip *c, const struct gl_line_req *req)
{
	struct gpiod_line_request_config cfg = { .consumer = req->consumer };
	struct gl_line *l;
	int err;

	if (req->output)
		cfg.request_type = GPIOD_LINE_REQUEST_DIRECTION_OUTPUT;
	else if (req->edges)
		cfg.request_type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES;
	else
		cfg.request_type = GPIOD_LINE_REQUEST_DIRECTION_INPUT;
	if (req->active_low)
		cfg.flags |= GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW;
	switch (req->bias) {
	case FB_GPIO_BIAS_DISABLED: cfg.flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE; break;
	case FB_GPIO_BIAS_PULL_UP: cfg.flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP; break;
	case FB_GPIO_BIAS_PULL_DOWN: cfg.flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN; break;
	case FB_GPIO_BIAS_AS_IS: break;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->fd = -1;
	l->line = gpiod_chip_get_line(c->chip, req->offset);
	/* The default value is logical: the kernel applies active-low. */
	if (!l->line || gpiod_line_request(l->line, &cfg, req->initial ? 1 : 0) < 0) {
		err = errno;
		free(l);
		errno = err;
		return NULL;
	}
	if (cfg.request_type == GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES)
		l->fd = gpiod_line_event_get_fd(l->line);
	return l;
}

void gl_line_release(struct gl_line *l)
{
	if (!l)
		return;
	gpiod_line_release(l->line);
	free(l);
}

int gl_line_fd(const struct gl_line *l)
{
	return l->fd;
}

int gl_line_get(struct gl_line *l)
{
	return gpiod_line_get_value(l->line);
}

int gl_line_set(struct gl_line *l, bool active)
{
	return gpiod_line_set_value(l->line, active ? 1 : 0);
}

int gl_line_read_edges(struct gl_line *l, struct gl_edge *out, size_t n)
{
	struct gpiod_line_event ev[16];
	int got;

	if (l->fd < 0) {
		errno = EINVAL;
		return -1;
	}
	if (n > 16)
		n = 16;
	got = gpiod_line_event_read_fd_multiple(l->fd, ev, (unsigned)n);
	for (int i = 0; i < got; i++) {
		out[i].ts_ns = (int64_t)ev[i].ts.tv_sec * 1000000000 + ev[i].ts.tv_nsec;
		out[i].active = ev[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
	}
	return got;
}
