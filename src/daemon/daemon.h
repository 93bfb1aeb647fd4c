/* SPDX-License-Identifier: Apache-2.0 */
/* What every fieldbridge daemon shares: command-line parsing (-c, the
 * instance name, --check, -v), the --check run, and the fds that its single
 * poll() loop sleeps on (signalfd for signals, timerfd for deadlines). */
#ifndef FB_DAEMON_H
#define FB_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "table.h"

struct fb_daemon_args {
	const char *config_path; /* -c, default FB_DEFAULT_CONFIG */
	const char *instance;    /* --bus / --connection; NULL if not given */
	bool check;              /* --check */
	int verbose;             /* -v (repeatable) */
};

/* Parses argv.  `instance_opt` is "bus" or "connection".  Prints usage and
 * returns -1 on bad arguments; returns 1 after printing help/version. */
int fb_daemon_parse_args(int argc, char **argv, const char *prog,
			 const char *instance_opt, struct fb_daemon_args *out);

/* A daemon's own checks (the Modbus airtime budget, the export's users),
 * run by fb_daemon_check after the config and every definition loaded
 * without a fatal error.  instance is NULL for "everything". */
typedef void (*fb_daemon_extra_check)(struct fb_config *cfg, const char *instance,
				      struct fb_diag *diag);

/* --check: loads the config and the definitions of every device in use
 * (of one bus, or everything when the instance is NULL; a connection
 * exports every bus, so its check covers them all), runs `extra` (may be
 * NULL), prints every problem to stdout and the verdict.  `kind` is "bus"
 * or "connection" (to validate that the instance exists).  Returns the
 * process exit code (0 or 1). */
int fb_daemon_check(const struct fb_daemon_args *args, const char *kind,
		    fb_daemon_extra_check extra);

/* Creates the bus's state table "/fieldbridge-<gateway>.<bus>" (see
 * fb_table_create: descriptions borrowed and copied); logs why if it
 * cannot.  Caller frees with fb_table_destroy. */
struct fb_table *fb_daemon_table_create(const struct fb_config *cfg,
					const struct fb_bus_conf *bus,
					const struct fb_device_desc *devices, size_t ndevices,
					const struct fb_point_desc *points, size_t npoints);

/* Prints every problem in diag and the verdict ("configuration OK (N
 * warnings)" or "N errors, N warnings") to stdout; returns the --check exit
 * code (0, or 1 if there was an error). */
int fb_daemon_check_report(const struct fb_diag *diag);

/* Reads one signal from the daemon's signalfd and logs it for "<kind>
 * <name>" (e.g. "bus meters").  Returns true for SIGINT/SIGTERM: the loop
 * must stop.  On SIGHUP sets *hup if hup is given (the daemon reloads
 * something); otherwise says that a restart applies a new configuration. */
bool fb_daemon_signal_stop(int fd, const char *kind, const char *name, bool *hup);

/* Blocks SIGINT, SIGTERM, SIGHUP (and ignores SIGPIPE), then returns a
 * signalfd for them; -1 with errno on failure.  Blocking first means no
 * signal can slip past before the fd exists. */
int fb_signalfd_open(void);
/* Reads one signal from the fd; returns the signal number or 0. */
int fb_signalfd_read(int fd);

/* A CLOCK_MONOTONIC timerfd armed one-shot; deadline in fb_mono_ms() units,
 * 0 disarms. */
int fb_timerfd_open(void);
int fb_timerfd_arm(int fd, int64_t deadline_mono_ms);
void fb_timerfd_drain(int fd);

#endif
