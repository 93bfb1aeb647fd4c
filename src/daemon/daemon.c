/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon.h"
#include "config_edit.h"
#include "fb_defaults.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void usage(FILE *out, const char *prog, const char *instance_opt)
{
	fprintf(out,
		"usage: %s [-c PATH] [--%s NAME] [--check] [-v | -q | --log-level LEVEL]\n"
		"  -c, --config PATH   main configuration (default %s)\n"
		"  --%s NAME%*s which %s this process serves\n"
		"  --check             validate the configuration and every device\n"
		"                      definition in use, print all problems, exit\n"
		"  -v, --verbose       more logging (repeat for per-transaction debug)\n"
		"  -q, --quiet         warnings and errors only (--log-level warning)\n"
		"  --log-level LEVEL   warning, info (the default) or debug; without\n"
		"                      -q/-v/--log-level the config's log_level applies\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n",
		prog, instance_opt, FB_DEFAULT_CONFIG, instance_opt,
		(int)(10 - strlen(instance_opt)), "", instance_opt);
}

int fb_daemon_parse_args(int argc, char **argv, const char *prog,
			 const char *instance_opt, struct fb_daemon_args *out)
{
	const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ instance_opt, required_argument, NULL, 'i' },
		{ "check", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(out, 0, sizeof(*out));
	out->config_path = FB_DEFAULT_CONFIG;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:vqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': out->config_path = optarg; break;
		case 'i': out->instance = optarg; break;
		case 'k': out->check = true; break;
		case 'v': out->verbose++; break;
		case 'q': out->log_level = FB_LOG_WARNING; break;
		case 'l':
			out->log_level = fb_log_level_parse(optarg);
			if (out->log_level < 0) {
				fprintf(stderr, "%s: --log-level %s: expected warning, info or "
					"debug\n", prog, optarg);
				return -1;
			}
			break;
		case 'h': usage(stdout, prog, instance_opt); return 1;
		case 'V': printf("%s %s\n", prog, FB_VERSION); return 1;
		default: usage(stderr, prog, instance_opt); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		usage(stderr, prog, instance_opt);
		return -1;
	}
	if (!out->check && !out->instance) {
		fprintf(stderr, "%s: --%s NAME is required (or use --check)\n", prog,
			instance_opt);
		return -1;
	}
	return 0;
}

int fb_daemon_check(const struct fb_daemon_args *args, const char *kind,
		    const struct fb_config_checks *checks)
{
	struct fb_config_checks want = { 0 };
	struct fb_diag diag;
	char *summary = NULL;
	int rc;

	if (checks)
		want = *checks;
	want.summary = &summary;
	fb_diag_init(&diag);
	fb_config_check(args->config_path, kind, args->instance, &want, &diag);
	rc = fb_daemon_check_report(&diag, summary);
	fb_diag_free(&diag);
	free(summary);
	return rc;
}

struct fb_table *fb_daemon_table_create(const struct fb_config *cfg,
					const struct fb_bus_conf *bus,
					const struct fb_device_desc *devices, size_t ndevices,
					const struct fb_point_desc *points, size_t npoints)
{
	char path[256];
	struct fb_table *t;
	long pid;

	fb_config_table_name(cfg, bus, path, sizeof(path));
	t = fb_table_create(path, devices, ndevices, points, npoints);
	if (t)
		return t;
	if (errno == EBUSY) {
		pid = fb_table_lock_pid(path);
		if (pid > 0)
			fb_err("bus %s is already served by pid %ld (lock %s.lock); not starting",
			       bus->name, pid, path);
		else
			fb_err("bus %s is already served by another driver (lock %s.lock); "
			       "not starting", bus->name, path);
	} else if (errno == EPERM) {
		fb_err("bus %s: cannot create state table %s: the directory %s must belong "
		       "to this user (uid %ld) and must not be writable by others",
		       bus->name, path, cfg->runtime_dir, (long)geteuid());
	} else {
		fb_log_errno(FB_LOG_ERR, "bus %s: cannot create state table %s", bus->name, path);
	}
	return NULL;
}

struct fb_table *fb_daemon_bus_table_create(const struct fb_config *cfg,
					    const struct fb_bus_conf *bus,
					    const struct fb_diag_point_desc *extra,
					    size_t nextra)
{
	struct fb_device_desc *ddesc;
	struct fb_point_desc *pdesc;
	struct fb_table *t = NULL;
	size_t nd = 0, np = 0;

	for (size_t i = 0; i < bus->ndevices; i++)
		if (bus->devices[i].def)
			np += bus->devices[i].def->npoints + nextra;
	ddesc = calloc(bus->ndevices ? bus->ndevices : 1, sizeof(*ddesc));
	pdesc = calloc(np ? np : 1, sizeof(*pdesc));
	if (!ddesc || !pdesc) {
		fb_err("bus %s: out of memory", bus->name);
		goto out;
	}
	np = 0;
	for (size_t i = 0; i < bus->ndevices; i++) {
		const struct fb_device_conf *dc = &bus->devices[i];

		if (!dc->def)
			continue; /* disabled: its definition had errors */
		snprintf(ddesc[nd++].device, sizeof(ddesc[0].device), "%s", dc->id);
		for (size_t j = 0; j < dc->def->npoints + nextra; j++, np++) {
			bool is_extra = j >= dc->def->npoints;

			snprintf(pdesc[np].device, sizeof(pdesc[np].device), "%s", dc->id);
			snprintf(pdesc[np].point, sizeof(pdesc[np].point), "%s",
				 is_extra ? extra[j - dc->def->npoints].key
					  : dc->def->points[j].key);
			pdesc[np].kind = (uint8_t)(is_extra ? extra[j - dc->def->npoints].kind
							    : fb_point_value_kind(&dc->def->points[j]));
		}
	}
	t = fb_daemon_table_create(cfg, bus, ddesc, nd, pdesc, np);
out:
	free(ddesc);
	free(pdesc);
	return t;
}

int fb_daemon_start(const struct fb_daemon_args *args, const char *kind,
		    fb_daemon_serves serves, struct fb_daemon_setup *out)
{
	bool is_bus = !strcmp(kind, "bus");
	bool is_server = !strcmp(kind, "server");
	struct fb_diag diag;
	bool found = false;
	int exit_code = FB_EXIT_CONFIG;

	memset(out, 0, sizeof(*out));
	out->signal_fd = out->timer_fd = -1;
	fb_diag_init(&diag);
	out->cfg = fb_config_load(args->config_path, &diag);
	/* The configuration's level, unless the command line chose one. */
	if (out->cfg && out->cfg->log_level && !args->log_level && !args->verbose)
		fb_log_set_level((enum fb_log_level)out->cfg->log_level);
	if (out->cfg && is_bus) {
		out->bus = fb_config_bus(out->cfg, args->instance);
		if (!out->bus)
			fb_diag_error(&diag, "%s: no bus named \"%s\"", out->cfg->path,
				      args->instance);
		found = out->bus != NULL;
	} else if (out->cfg && is_server) {
		out->server = fb_config_mbserver(out->cfg, args->instance);
		if (!out->server)
			fb_diag_error(&diag, "%s: no Modbus server named \"%s\"", out->cfg->path,
				      args->instance);
		found = out->server != NULL;
	} else if (out->cfg) {
		out->conn = fb_config_conn(out->cfg, args->instance);
		if (!out->conn)
			fb_diag_error(&diag, "%s: no connection named \"%s\"", out->cfg->path,
				      args->instance);
		found = out->conn != NULL;
	}
	if (found && out->bus && serves) {
		size_t errors = diag.errors;

		if (!serves(out->cfg, out->bus, &diag)) {
			found = false;
			if (diag.errors == errors)
				goto fail; /* it said why */
		}
	}
	if (!found) {
		fb_diag_log(&diag);
		fb_err("configuration has errors; nothing started");
		goto fail;
	}
	fb_config_load_definitions(out->cfg, out->bus, &diag);
	fb_diag_log(&diag);
	out->signal_fd = fb_signalfd_open();
	out->timer_fd = fb_timerfd_open();
	if (out->signal_fd < 0 || out->timer_fd < 0) {
		fb_log_errno(FB_LOG_ERR, "cannot create signal/timer fds");
		exit_code = 1;
		goto fail;
	}
	/* What this daemon runs with, for `fieldbridgectl config diff`. */
	fb_edit_record_loaded(out->cfg, is_bus ? FB_EDIT_BUS
				  : is_server ? FB_EDIT_SERVER : FB_EDIT_CONN, args->instance);
	fb_diag_free(&diag);
	return 0;
fail:
	fb_diag_free(&diag);
	if (out->signal_fd >= 0)
		close(out->signal_fd);
	if (out->timer_fd >= 0)
		close(out->timer_fd);
	fb_config_free(out->cfg);
	memset(out, 0, sizeof(*out));
	out->signal_fd = out->timer_fd = -1;
	out->exit_code = exit_code;
	return -1;
}

int fb_daemon_check_report(const struct fb_diag *diag, const char *summary)
{
	fb_diag_print(diag, stdout);
	if (!diag->errors && summary)
		fputs(summary, stdout);
	if (!diag->errors)
		printf("configuration OK (%zu warning%s)\n", diag->warnings,
		       diag->warnings == 1 ? "" : "s");
	else
		printf("%zu error%s, %zu warning%s\n", diag->errors,
		       diag->errors == 1 ? "" : "s", diag->warnings,
		       diag->warnings == 1 ? "" : "s");
	fflush(stdout); /* the verdict is out even if cleanup goes wrong */
	return diag->errors ? 1 : 0;
}

bool fb_daemon_signal_stop(int fd, const char *kind, const char *name, bool *hup)
{
	int sig = fb_signalfd_read(fd);

	if (sig == SIGINT || sig == SIGTERM) {
		fb_info("%s %s: stopping on signal %d", kind, name, sig);
		return true;
	}
	if (sig == SIGHUP) {
		if (hup)
			*hup = true;
		else
			fb_info("%s %s: SIGHUP: restart the process to apply a new configuration",
				kind, name);
	}
	return false;
}

int fb_signalfd_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int fb_signalfd_read(int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

int fb_timerfd_open(void)
{
	return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
}

int fb_timerfd_arm(int fd, int64_t deadline_mono_ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (deadline_mono_ms > 0) {
		its.it_value.tv_sec = deadline_mono_ms / 1000;
		its.it_value.tv_nsec = (deadline_mono_ms % 1000) * 1000000L;
	}
	return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

int fb_timerfd_rearm(int fd, int64_t deadline_mono_ms, int64_t *armed)
{
	if (*armed == deadline_mono_ms)
		return 0;
	*armed = deadline_mono_ms;
	return fb_timerfd_arm(fd, deadline_mono_ms);
}
