/* SPDX-License-Identifier: Apache-2.0 */
#include "diag.h"
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void fb_diag_init(struct fb_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void fb_diag_free(struct fb_diag *d)
{
	for (size_t i = 0; i < d->count; i++)
		free(d->entries[i].message);
	free(d->entries);
	memset(d, 0, sizeof(*d));
}

static void diag_push(struct fb_diag *d, enum fb_severity sev, char *msg)
{
	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct fb_diag_entry *e = realloc(d->entries, cap * sizeof(*e));

		if (!e) {
			free(msg);
			return;
		}
		d->entries = e;
		d->cap = cap;
	}
	d->entries[d->count].severity = sev;
	d->entries[d->count].message = msg;
	d->count++;
	if (sev == FB_SEV_ERROR)
		d->errors++;
	else
		d->warnings++;
}

void fb_diag_add(struct fb_diag *d, enum fb_severity sev, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg)
		diag_push(d, sev, msg);
}

void fb_diag_move(struct fb_diag *dst, struct fb_diag *src)
{
	for (size_t i = 0; i < src->count; i++) {
		diag_push(dst, src->entries[i].severity, src->entries[i].message);
		src->entries[i].message = NULL;
	}
	free(src->entries);
	memset(src, 0, sizeof(*src));
}

void fb_diag_print(const struct fb_diag *d, FILE *out)
{
	for (size_t i = 0; i < d->count; i++)
		fprintf(out, "%s: %s\n",
			d->entries[i].severity == FB_SEV_ERROR ? "error" : "warning",
			d->entries[i].message);
}

void fb_diag_log(const struct fb_diag *d)
{
	for (size_t i = 0; i < d->count; i++)
		fb_log(d->entries[i].severity == FB_SEV_ERROR ? FB_LOG_ERR : FB_LOG_WARNING,
		       "%s", d->entries[i].message);
}
