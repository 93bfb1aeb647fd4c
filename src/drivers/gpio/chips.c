/* SPDX-License-Identifier: Apache-2.0 */
/* gpio.h: the chips of this machine through the backend (gpio-backend.h),
 * for other parts; opening a chip requests no line. */
#include "gpio.h"
#include "gpio-backend.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_chip(const struct dirent *e)
{
	return !strncmp(e->d_name, "gpiochip", 8);
}

static void fill(struct fb_gpio_chip_info *ci)
{
	struct gl_chip *chip = gl_chip_open(ci->path);

	if (!chip) {
		snprintf(ci->error, sizeof(ci->error), "cannot open: %s", strerror(errno));
		return;
	}
	snprintf(ci->label, sizeof(ci->label), "%s", gl_chip_label(chip));
	ci->nlines = gl_chip_num_lines(chip);
	ci->lines = calloc(ci->nlines ? ci->nlines : 1, sizeof(*ci->lines));
	if (!ci->lines)
		ci->nlines = 0;
	for (unsigned i = 0; i < ci->nlines; i++) {
		struct fb_gpio_line_info *l = &ci->lines[i];

		l->offset = i;
		l->known = gl_chip_line_info(chip, i, l->name, sizeof(l->name), &l->used,
					     l->consumer, sizeof(l->consumer)) == 0;
	}
	gl_chip_close(chip);
}

int fb_gpio_chips_list(const char *dev_dir, struct fb_gpio_chip_info **out, size_t *n)
{
	struct dirent **list = NULL;
	const char *dir = dev_dir && *dev_dir ? dev_dir : "/dev";
	int k = scandir(dir, &list, is_chip, versionsort);
	struct fb_gpio_chip_info *c;

	*out = NULL;
	*n = 0;
	if (k < 0)
		return errno == ENOENT ? 0 : -1;
	c = calloc(k ? (size_t)k : 1, sizeof(*c));
	for (int i = 0; i < k; i++) {
		if (c) {
			snprintf(c[i].name, sizeof(c[i].name), "%.63s", list[i]->d_name);
			snprintf(c[i].path, sizeof(c[i].path), "%.255s/%.63s", dir, list[i]->d_name);
			fill(&c[i]);
		}
		free(list[i]);
	}
	free(list);
	if (!c)
		return -1;
	*out = c;
	*n = (size_t)k;
	return 0;
}

void fb_gpio_chips_free(struct fb_gpio_chip_info *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].lines);
	free(c);
}

const char *fb_gpio_backend(void)
{
	return gl_backend_name();
}
