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
	const char *host;  /* -H: run on this gateway over ssh */
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
/* The same, with the members of `extra` (freed; may be NULL) added to
 * the JSON document. */
int ctl_finish(const struct ctl *c, const struct fb_diag *diag, int rc, cJSON *extra);
int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* secret_input.c: reads one secret (a line) from stdin, or prompts for it
 * without echo on a terminal.  Caller frees (after explicit_bzero).
 * NULL on EOF/error. */
char *ctl_read_secret(const char *prompt);

/* objects.c: connection, bus, device, user */
int ctl_objects(const struct ctl *c, enum fb_edit_kind kind);
/* conntest.c: `connection test NAME`: execs fieldbridge-export --test */
int ctl_connection_test(const struct ctl *c);
/* check.c */
int ctl_config(const struct ctl *c);
/* definition.c */
int ctl_definition(const struct ctl *c);
/* apply.c: config diff/apply/snapshots/rollback */
int ctl_config_apply(const struct ctl *c);
/* After a successful edit: apply it (plan printed, snapshot taken) unless
 * --no-apply.  `extra` (JSON mode, may be NULL) gets the plan.  Returns an
 * exit code; problems go to d. */
int ctl_apply_after_edit(const struct ctl *c, struct fb_edit *e, cJSON *extra,
			 struct fb_diag *d);
/* logs.c: journalctl for fieldbridge units */
int ctl_logs(const struct ctl *c);
/* remote.c: -H: re-executes the command over ssh; returns only on error. */
int ctl_remote(const struct ctl *c, int argc, char **argv);
/* web.c: `web setup-code` */
int ctl_web(const struct ctl *c);
/* editor.c: `connection edit NAME` / `bus edit NAME` */
int ctl_edit(const struct ctl *c, enum fb_edit_kind kind, const char *name);

/* watch.c */
int ctl_watch(const struct ctl *c);
/* point.c: get and set */
int ctl_get(const struct ctl *c);
int ctl_set(const struct ctl *c);
/* scan.c: `bus scan BUS` through the running driver */
int ctl_bus_scan(const struct ctl *c);
/* status.c */
int ctl_status(const struct ctl *c);

#endif
