/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FB_EXPORTER_H
#define FB_EXPORTER_H

#include "daemon.h"

/* Runs the export connection args->instance until SIGINT/SIGTERM; returns
 * the exit code. */
int ex_run(const struct fb_daemon_args *args);
/* The export's own part of --check (an fb_daemon_extra_check): the users
 * file must define the user of the connection named (or of every one). */
void ex_check_users(struct fb_config *cfg, const char *conn_name, struct fb_diag *diag);

#endif
