/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FB_EXPORTER_H
#define FB_EXPORTER_H

#include "daemon.h"

/* Runs the export connection args->instance until SIGINT/SIGTERM; returns
 * the exit code. */
int ex_run(const struct fb_daemon_args *args);

#endif
