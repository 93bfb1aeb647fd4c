/* SPDX-License-Identifier: Apache-2.0 */
/* A list of configuration problems.  Loaders never stop at the first
 * problem: they add every one here, so `--check` can print them all in one
 * run (as ntpd's parse.y does).  Each message already names its file and
 * field: "sdm120.json: points[3].address: expected 0..65535, got -1". */
#ifndef FB_DIAG_H
#define FB_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum fb_severity { FB_SEV_WARNING, FB_SEV_ERROR };

/* file, path and field say where a form shows the problem; each is owned
 * by the list and NULL when unknown.  path is the JSON path of the object
 * in file ("buses[0].devices[2]", "" for the top level) and field a key in
 * it ("unit_id"; NULL: the object itself). */
struct fb_diag_entry {
	enum fb_severity severity;
	char *message; /* owned by the list */
	char *file;
	char *path;
	char *field;
};

struct fb_diag {
	struct fb_diag_entry *entries;
	size_t count, cap;
	size_t errors, warnings;
};

void fb_diag_init(struct fb_diag *d);
void fb_diag_free(struct fb_diag *d); /* accepts an initialised empty list */

void fb_diag_add(struct fb_diag *d, enum fb_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define fb_diag_error(d, ...) fb_diag_add((d), FB_SEV_ERROR, __VA_ARGS__)
#define fb_diag_warn(d, ...) fb_diag_add((d), FB_SEV_WARNING, __VA_ARGS__)
/* fb_diag_add that also records where (copied; each may be NULL).  The
 * message still names the place itself: printing shows only the message. */
void fb_diag_add_at(struct fb_diag *d, enum fb_severity sev, const char *file,
		    const char *path, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void fb_diag_vadd_at(struct fb_diag *d, enum fb_severity sev, const char *file,
		     const char *path, const char *field, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

/* Moves every entry of src to the end of dst; src is left empty. */
void fb_diag_move(struct fb_diag *dst, struct fb_diag *src);

/* Prints "error: ..." / "warning: ..." lines, one per entry. */
void fb_diag_print(const struct fb_diag *d, FILE *out);
/* Logs every entry through fb_log (errors as err, warnings as warning). */
void fb_diag_log(const struct fb_diag *d);

#endif
