/* SPDX-License-Identifier: Apache-2.0 */
/* What other parts may ask of the GPIO part: the chips of this machine and
 * their lines, for pickers (the web's GET gpio-chips).  Read through the
 * driver's own libgpiod backend; no line is requested. */
#ifndef FB_GPIO_H
#define FB_GPIO_H

#include <stdbool.h>
#include <stddef.h>

struct fb_gpio_line_info {
	unsigned offset;
	bool known;                /* name/used/consumer could be read */
	char name[64];             /* "" if unnamed */
	bool used;
	char consumer[64];         /* "" if unused */
};

struct fb_gpio_chip_info {
	char name[64];             /* "gpiochip0" */
	char path[320];            /* "/dev/gpiochip0" */
	char label[64];            /* "" if it could not be opened */
	char error[160];           /* why not ("cannot open: ..."), else "" */
	struct fb_gpio_line_info *lines;
	unsigned nlines;
};

/* Every DIR/gpiochip*, in version order; dev_dir NULL is "/dev" (others
 * are for tests: fake chip files there are listed, each with its error).
 * Returns 0 (*n may be 0: no GPIO on this machine), or -1 with errno.
 * Caller frees with fb_gpio_chips_free. */
int fb_gpio_chips_list(const char *dev_dir, struct fb_gpio_chip_info **out, size_t *n);
void fb_gpio_chips_free(struct fb_gpio_chip_info *c, size_t n); /* accepts NULL */
/* "libgpiod 1.6" / "libgpiod 2.x"; static string. */
const char *fb_gpio_backend(void);

#endif
