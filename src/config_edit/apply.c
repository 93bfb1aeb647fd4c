/* SPDX-License-Identifier: Apache-2.0 */
/* Running a plan: a snapshot of the files first (what is being applied),
 * then each daemon's action.  Through systemctl for daemons systemd runs;
 * a daemon started by hand can be sent SIGHUP, but no tool can restart it
 * as it was started, so that is reported, not attempted. */
#include "config_edit-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs argv with stdout and stderr into a pipe; returns the exit status
 * (or -1) and the first line of output in out. */
static int run(char *const argv[], char *out, size_t len)
{
	int fds[2], st;
	pid_t pid;
	ssize_t n;

	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	while (read(fds[0], &st, sizeof(st)) > 0)
		;
	close(fds[0]);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void result(struct fb_apply_daemon *d, bool done, const char *fmt, const char *arg)
{
	char buf[512];

	snprintf(buf, sizeof(buf), fmt, arg);
	free(d->result);
	d->result = strdup(buf);
	d->done = done;
}

static enum fb_edit_rc by_systemd(struct fb_apply_daemon *d)
{
	char out[400], *argv[8] = { "systemctl", NULL };
	int rc;

	switch (d->action) {
	case FB_APPLY_RESTART:
		argv[1] = "restart";
		argv[2] = d->unit;
		break;
	case FB_APPLY_RELOAD:
		/* The units have no ExecReload: send SIGHUP to the main process. */
		argv[1] = "kill";
		argv[2] = "--kill-whom=main";
		argv[3] = "--signal=SIGHUP";
		argv[4] = d->unit;
		break;
	case FB_APPLY_START:
		argv[1] = "enable";
		argv[2] = "--now";
		argv[3] = d->unit;
		break;
	case FB_APPLY_STOP:
		argv[1] = "disable";
		argv[2] = "--now";
		argv[3] = d->unit;
		break;
	default:
		return FB_EDIT_OK;
	}
	rc = run(argv, out, sizeof(out));
	if (rc == 0) {
		result(d, true, "systemctl %s done", argv[1]);
		return FB_EDIT_OK;
	}
	result(d, false, "systemctl failed: %s", out[0] ? out : "no output");
	return rc == 4 || strstr(out, "Access denied") ? FB_EDIT_DENIED : FB_EDIT_FAILED;
}

static enum fb_edit_rc by_hand(struct fb_apply_daemon *d)
{
	if (d->action == FB_APPLY_RELOAD) {
		if (kill(d->pid, SIGHUP) == 0) {
			result(d, true, "SIGHUP sent%s", "");
			return FB_EDIT_OK;
		}
		result(d, false, "SIGHUP: %s", strerror(errno));
		return errno == EPERM ? FB_EDIT_DENIED : FB_EDIT_FAILED;
	}
	result(d, false, "daemon not running under systemd: %s it yourself",
	       d->action == FB_APPLY_STOP ? "stop" : d->action == FB_APPLY_START ? "start"
								       : "restart");
	return FB_EDIT_NOT_RUNNING;
}

enum fb_edit_rc fb_apply_run(struct fb_edit *e, struct fb_apply_plan *p, const char *user,
			     unsigned *snapshot, struct fb_diag *diag)
{
	return fb_apply_run_progress(e, p, user, snapshot, diag, NULL, NULL);
}

enum fb_edit_rc fb_apply_run_progress(struct fb_edit *e, struct fb_apply_plan *p,
				      const char *user, unsigned *snapshot,
				      struct fb_diag *diag, fb_apply_progress_fn progress,
				      void *ctx)
{
	enum fb_edit_rc rc, worst = FB_EDIT_OK;

	*snapshot = 0;
	rc = fb_snapshot_take(e, user, snapshot, diag);
	if (rc)
		return rc;
	if (progress)
		progress(ctx, NULL, *snapshot);
	for (size_t i = 0; i < p->n; i++) {
		struct fb_apply_daemon *d = &p->d[i];

		if (d->action == FB_APPLY_NONE)
			continue;
		if (progress)
			progress(ctx, d, *snapshot);
		/* A running daemon systemd did not start is not its unit's
		 * process: systemctl would start a second one. */
		if (p->systemd && (d->running ? d->systemd : true))
			rc = by_systemd(d);
		else
			rc = by_hand(d);
		if (rc && (worst == FB_EDIT_OK || worst == FB_EDIT_NOT_RUNNING))
			worst = rc;
		if (progress)
			progress(ctx, d, *snapshot);
	}
	return worst;
}
