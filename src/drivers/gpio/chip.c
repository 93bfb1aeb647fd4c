/* SPDX-License-Identifier: Apache-2.0 */
/* Finding the chip by label and lines by name, with errors that list what
 * exists: chip numbers differ between boards (gpiochip4 on a Pi 5), so a
 * typo must show the right spelling. */
#include "gpio-internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_chip(const struct dirent *e)
{
	return !strncmp(e->d_name, "gpiochip", 8);
}

/* Appends with snprintf semantics, never past len. */
static void add(char *buf, size_t len, size_t *used, const char *s)
{
	if (*used + 1 >= len)
		return;
	snprintf(buf + *used, len - *used, "%s", s);
	*used += strlen(buf + *used);
}

struct gl_chip *gl_chip_find(const char *label, char *path, size_t path_len,
			     char *err, size_t err_len)
{
	struct dirent **list = NULL;
	struct gl_chip *found = NULL;
	char seen[768] = "", item[512];
	size_t used = 0;
	int n = scandir("/dev", &list, is_chip, versionsort);

	for (int i = 0; i < n; i++) {
		char p[300];
		struct gl_chip *c;

		snprintf(p, sizeof(p), "/dev/%s", list[i]->d_name);
		c = found ? NULL : gl_chip_open(p);
		if (!found && !c) {
			snprintf(item, sizeof(item), "%s%.64s (cannot open: %.100s)", used ? ", " : "",
				 list[i]->d_name, strerror(errno));
			add(seen, sizeof(seen), &used, item);
		} else if (c && !strcmp(gl_chip_label(c), label)) {
			found = c;
			snprintf(path, path_len, "%s", p);
		} else if (c) {
			snprintf(item, sizeof(item), "%s%.64s \"%.64s\" (%u lines)", used ? ", " : "",
				 list[i]->d_name, gl_chip_label(c), gl_chip_num_lines(c));
			add(seen, sizeof(seen), &used, item);
			gl_chip_close(c);
		}
		free(list[i]);
	}
	free(list);
	if (!found)
		snprintf(err, err_len, "no GPIO chip labelled \"%s\"; chips found: %s", label,
			 n <= 0 ? "none (no /dev/gpiochip*)" : seen);
	return found;
}

int gl_line_resolve(struct gl_chip *c, const struct fb_gpio_point *g, char *err,
		    size_t err_len)
{
	char names[1024] = "", name[64], consumer[64];
	size_t used = 0;
	unsigned n = gl_chip_num_lines(c);
	int off;
	bool busy;

	if (!g->line) {
		if (g->line_offset >= 0 && (unsigned)g->line_offset < n)
			return g->line_offset;
		snprintf(err, err_len, "line offset %d: expected 0..%u on chip \"%s\"",
			 g->line_offset, n ? n - 1 : 0, gl_chip_label(c));
		return -1;
	}
	off = gl_chip_find_line(c, g->line);
	if (off >= 0)
		return off;
	for (unsigned i = 0; i < n; i++) {
		if (gl_chip_line_info(c, i, name, sizeof(name), &busy, consumer,
				      sizeof(consumer)) < 0 || !name[0])
			continue;
		add(names, sizeof(names), &used, used ? ", " : "");
		add(names, sizeof(names), &used, name);
	}
	snprintf(err, err_len, "no line named \"%s\" on chip \"%s\"; its lines: %s", g->line,
		 gl_chip_label(c), used ? names : "(none has a name: use offsets 0..n-1)");
	return -1;
}

int gl_line_open(struct gl_driver *d, struct gl_point *p, bool initial, char *err,
		 size_t err_len)
{
	char consumer[40], name[64], owner[64];
	struct gl_line_req req = {
		.offset = (unsigned)p->offset,
		.consumer = consumer,
		.output = p->cfg.role == FB_GPIO_OUTPUT || p->cfg.role == FB_GPIO_PULSE_OUTPUT,
		.initial = initial,
		.active_low = p->cfg.active_low,
		.bias = p->cfg.bias,
		.edges = true,
	};
	bool busy = false;

	/* gpioinfo shows who holds a line; 31 characters is the kernel's limit. */
	snprintf(consumer, sizeof(consumer), "fb:%.13s.%.14s", p->dev->id, p->def->key);
	p->line = gl_line_request(d->chip, &req);
	if (p->line)
		return 0;
	if (gl_chip_line_info(d->chip, (unsigned)p->offset, name, sizeof(name), &busy,
			      owner, sizeof(owner)) == 0 && busy)
		snprintf(err, err_len, "line %d (%s) of chip \"%s\" is in use by \"%s\"",
			 p->offset, name[0] ? name : "unnamed", gl_chip_label(d->chip),
			 owner[0] ? owner : "an unnamed consumer");
	else
		snprintf(err, err_len, "line %d of chip \"%s\": cannot request it: %s",
			 p->offset, gl_chip_label(d->chip), strerror(errno));
	return -1;
}
