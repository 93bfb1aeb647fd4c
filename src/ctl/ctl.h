/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridgectl's parts: main.c parses the global options and dispatches
 * to one file per object. */
#ifndef FB_CTL_H
#define FB_CTL_H

#include <stdbool.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "config_edit.h"
#include "diag.h"

/* Exit codes, documented in fieldbridgectl(1). */
enum ctl_exit {
	CTL_OK = 0, CTL_FAILED = 1, CTL_USAGE = 2, CTL_INVALID = 3, CTL_NOT_FOUND = 4,
	CTL_DENIED = 5, CTL_TIMEOUT = 6, CTL_NOT_RUNNING = 7, CTL_CONFLICT = 8,
};

#define CTL_JSON_VERSION 1

struct ctl {
	const char *config_path;
	bool json;
	bool no_apply;
	const char *object, *verb;
	int argc;      /* arguments after VERB */
	char **argv;
};

/* output.c */
cJSON *ctl_doc_new(const struct ctl *c);         /* {"fieldbridgectl":1,...} */
void ctl_doc_print(cJSON *doc);                  /* prints and frees */
/* Prints diag (stderr in text mode; a JSON document on stdout with
 * --json) and returns rc. */
int ctl_fail(const struct ctl *c, const struct fb_diag *diag, int rc);
int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* secret_input.c: reads one secret (a line) from stdin, or prompts for it
 * without echo on a terminal.  Caller frees (after explicit_bzero).
 * NULL on EOF/error. */
char *ctl_read_secret(const char *prompt);

/* objects.c: connection, bus, device, user */
int ctl_objects(const struct ctl *c, enum fb_edit_kind kind);
/* check.c */
int ctl_config(const struct ctl *c);
/* definition.c */
int ctl_definition(const struct ctl *c);
/* web.c: `web setup-code` */
int ctl_web(const struct ctl *c);
/* editor.c: `connection edit NAME` / `bus edit NAME` */
int ctl_edit(const struct ctl *c, enum fb_edit_kind kind, const char *name);

#endif
