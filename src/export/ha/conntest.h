/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-export --test: one connection attempt exactly as the exporter
 * makes it (same link, TLS and transport code), reported stage by stage. */
#ifndef FB_EXPORT_CONNTEST_H
#define FB_EXPORT_CONNTEST_H

#include <stdbool.h>

#include "daemon.h"

/* Connects args->instance once, subscribes its command topic, disconnects
 * cleanly without publishing.  Prints the stages (text, or one JSON
 * document with `json`) to stdout; returns 0 if every stage passed, 1
 * otherwise. */
int ex_conntest_run(const struct fb_daemon_args *args, bool json);

#endif
