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
	for (size_t i = 0; i < d->count; i++) {
		free(d->entries[i].message);
		free(d->entries[i].file);
		free(d->entries[i].path);
		free(d->entries[i].field);
	}
	free(d->entries);
	memset(d, 0, sizeof(*d));
}

/* Takes ownership of e's strings (frees them if it cannot store them). */
static void diag_push(struct fb_diag *d, struct fb_diag_entry *e)
{
	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct fb_diag_entry *ne = realloc(d->entries, cap * sizeof(*ne));

		if (!ne) {
			free(e->message);
			free(e->file);
			free(e->path);
			free(e->field);
			return;
		}
		d->entries = ne;
		d->cap = cap;
	}
	d->entries[d->count++] = *e;
	if (e->severity == FB_SEV_ERROR)
		d->errors++;
	else
		d->warnings++;
}

/* strdup that keeps NULL; on ENOMEM the place is lost, not the message. */
static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void fb_diag_vadd_at(struct fb_diag *d, enum fb_severity sev, const char *file,
		     const char *path, const char *field, const char *fmt, va_list ap)
{
	struct fb_diag_entry e = { .severity = sev };

	if (vasprintf(&e.message, fmt, ap) < 0)
		return;
	e.file = dup_or_null(file);
	e.path = dup_or_null(path);
	e.field = dup_or_null(field);
	diag_push(d, &e);
}

void fb_diag_add_at(struct fb_diag *d, enum fb_severity sev, const char *file,
		    const char *path, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fb_diag_vadd_at(d, sev, file, path, field, fmt, ap);
	va_end(ap);
}

void fb_diag_add(struct fb_diag *d, enum fb_severity sev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fb_diag_vadd_at(d, sev, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

void fb_diag_move(struct fb_diag *dst, struct fb_diag *src)
{
	for (size_t i = 0; i < src->count; i++)
		diag_push(dst, &src->entries[i]);
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
