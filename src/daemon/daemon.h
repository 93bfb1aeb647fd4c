/* SPDX-License-Identifier: Apache-2.0 */
/* What every fieldbridge daemon shares: command-line parsing (-c, the
 * instance name, --check, -v), the --check run, the start-up (config,
 * instance, definitions), a bus's state table, and the fds that its single
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
	int log_level;           /* -q / --log-level: an FB_LOG_* level; 0 = not given */
};

/* Parses argv.  `instance_opt` is "bus" or "connection".  Prints usage and
 * returns -1 on bad arguments; returns 1 after printing help/version. */
int fb_daemon_parse_args(int argc, char **argv, const char *prog,
			 const char *instance_opt, struct fb_daemon_args *out);

/* --check: fb_config_check(args, kind, checks) (see there; checks may be
 * NULL), then prints every problem to stdout and the verdict.  `kind` is
 * "bus" or "connection".  Returns the process exit code (0 or 1). */
int fb_daemon_check(const struct fb_daemon_args *args, const char *kind,
		    const struct fb_config_checks *checks);

/* Creates the bus's state table "<runtime_dir>/<gateway>.<bus>" (see
 * fb_table_create: descriptions borrowed and copied); logs why if it
 * cannot, naming the pid of a driver already serving the bus.  Caller
 * frees with fb_table_destroy. */
struct fb_table *fb_daemon_table_create(const struct fb_config *cfg,
					const struct fb_bus_conf *bus,
					const struct fb_device_desc *devices, size_t ndevices,
					const struct fb_point_desc *points, size_t npoints);
/* The same for the usual layout: every device of the bus that has a
 * definition, in bus order, each with its definition's points in
 * definition order followed by the `nextra` points of `extra` (borrowed;
 * the Modbus driver's diagnostics; NULL if none). */
struct fb_table *fb_daemon_bus_table_create(const struct fb_config *cfg,
					    const struct fb_bus_conf *bus,
					    const struct fb_diag_point_desc *extra,
					    size_t nextra);

/* What fb_daemon_start hands over.  Every field is owned by the caller
 * from then on: free cfg with fb_config_free, close the fds. */
struct fb_daemon_setup {
	struct fb_config *cfg;
	struct fb_bus_conf *bus;    /* kind "bus": borrowed from cfg */
	struct fb_conn_conf *conn;  /* kind "connection": borrowed from cfg */
	struct fb_mbserver_conf *server; /* kind "server": borrowed from cfg */
	int signal_fd, timer_fd;
	/* After a failed fb_daemon_start: the exit code to end with. */
	int exit_code;
};

/* Exit code for a configuration error (EX_CONFIG of sysexits.h).  The
 * units say RestartPreventExitStatus=78: a broken configuration does not
 * heal by restarting. */
#define FB_EXIT_CONFIG 78

/* Whether a driver serves `bus` (fieldbridge-gpio refuses a Modbus bus).
 * To refuse it, either add an error to diag (logged with the other
 * problems, then "configuration has errors; nothing started") or log why
 * and leave diag alone. */
typedef bool (*fb_daemon_serves)(const struct fb_config *cfg,
				 const struct fb_bus_conf *bus, struct fb_diag *diag);

/* A daemon's start: loads the configuration, finds args->instance of
 * `kind` ("bus", "connection" or "server": a Modbus server), asks `serves` (kind "bus"; NULL serves
 * every bus), loads the definitions of the bus (of every bus for a
 * connection: it exports them all), logs every problem, and opens the
 * signalfd and the timerfd.  A bad definition disables its device only.
 * Returns 0 and fills *out, or -1 after logging why (nothing is left
 * open; out->exit_code is FB_EXIT_CONFIG if the configuration is at
 * fault, else 1). */
int fb_daemon_start(const struct fb_daemon_args *args, const char *kind,
		    fb_daemon_serves serves, struct fb_daemon_setup *out);

/* Prints every problem in diag, then (when there is no error) the summary
 * lines (may be NULL), then the verdict ("configuration OK (N warnings)" or
 * "N errors, N warnings") to stdout; returns the --check exit code (0, or
 * 1 if there was an error). */
int fb_daemon_check_report(const struct fb_diag *diag, const char *summary);

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
 * 0 disarms.  Arming also clears an expiry nobody read (timerfd_settime
 * resets the count), so a loop that arms before every poll() never reads
 * the fd: two syscalls a wake-up fewer. */
int fb_timerfd_open(void);
int fb_timerfd_arm(int fd, int64_t deadline_mono_ms);
/* fb_timerfd_arm unless *armed already holds that deadline: a loop whose
 * deadline did not move pays no syscall.  Set *armed to -1 when poll()
 * reports the fd readable (it stays readable until armed again). */
int fb_timerfd_rearm(int fd, int64_t deadline_mono_ms, int64_t *armed);

#endif
