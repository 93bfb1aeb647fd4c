/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FB_MODBUS_DRIVER_H
#define FB_MODBUS_DRIVER_H

#include "daemon.h"

/* Runs the driver for args->instance until SIGINT/SIGTERM; returns the exit
 * code. */
int mb_driver_run(const struct fb_daemon_args *args);

#endif
