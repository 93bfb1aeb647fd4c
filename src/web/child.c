/* SPDX-License-Identifier: Apache-2.0 */
/* Helper programs (fieldbridge-export --test, journalctl) run beside the
 * loop: posix_spawn with stdout into a non-blocking pipe that joins the
 * poll set, so a slow child never stalls other requests.  The output is
 * collected until end of file; a child past its deadline is killed.
 * web_child_fork runs a function of this program the same way (the apply:
 * library calls that wait for systemctl). */
#include "web-internal.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAP_RETRY_MS 20

extern char **environ;

struct web_child *web_child_find(struct web_child *tab, const char *key)
{
	for (size_t i = 0; i < WEB_CHILDREN_MAX; i++)
		if (tab[i].used && !strcmp(tab[i].key, key))
			return &tab[i];
	return NULL;
}

/* The slot, its pipe and the bookkeeping both kinds of child share. */
static struct web_child *slot_take(struct web_child *tab, const char *key, int p[2])
{
	struct web_child *c = NULL;

	for (size_t i = 0; i < WEB_CHILDREN_MAX && !c; i++)
		if (!tab[i].used)
			c = &tab[i];
	if (!c) {
		errno = EAGAIN;
		return NULL;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	return c;
}

static void slot_start(struct web_child *c, int rfd, int64_t timeout_ms)
{
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	c->used = true;
	c->fd = rfd;
	c->deadline_ms = fb_mono_ms() + timeout_ms;
}

int web_child_fork(struct web_child *tab, const char *key, void (*fn)(int fd, void *arg),
		   void *arg, int64_t timeout_ms, struct web_child **out)
{
	struct web_child *c;
	sigset_t none;
	int p[2];
	pid_t pid;

	if (!(c = slot_take(tab, key, p)))
		return errno;
	pid = fork();
	if (pid < 0) {
		int err = errno;

		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		/* Only the pipe (as stdout) and stderr (the log) stay open: the
		 * listening sockets must close when the loop closes them. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		fn(STDOUT_FILENO, arg);
		_exit(0);
	}
	close(p[1]);
	c->pid = pid;
	slot_start(c, p[0], timeout_ms);
	*out = c;
	return 0;
}

int web_child_spawn(struct web_child *tab, const char *key, const char *prog,
		    char *const argv[], int64_t timeout_ms, struct web_child **out)
{
	struct web_child *c;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int p[2], rc;

	if (!(c = slot_take(tab, key, p)))
		return errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawnattr_init(&at);
	/* The loop blocks its signals for the signalfd; the child must not
	 * inherit that, or it could not be stopped. */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = strchr(prog, '/') ? posix_spawn(&c->pid, prog, &fa, &at, argv, environ)
			       : posix_spawnp(&c->pid, prog, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (rc) {
		close(p[0]);
		return rc;
	}
	slot_start(c, p[0], timeout_ms);
	*out = c;
	return 0;
}

static void finish(struct web_child *c)
{
	if (c->done)
		c->done(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
}

static bool reap(struct web_child *c)
{
	int st;
	pid_t r = waitpid(c->pid, &st, WNOHANG);

	if (r == 0)
		return false;
	c->exit_code = r > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	c->exited = true;
	return true;
}

void web_child_read(struct web_child *c)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		if (c->len + (size_t)n > WEB_CHILD_OUT_MAX) {
			c->overflow = true;
			continue;
		}
		char *p = realloc(c->out, c->len + (size_t)n + 1);

		if (!p) {
			c->overflow = true;
			continue;
		}
		c->out = p;
		memcpy(c->out + c->len, buf, (size_t)n);
		c->len += (size_t)n;
		c->out[c->len] = '\0';
	}
	close(c->fd);
	c->fd = -1;
	if (reap(c))
		finish(c);
}

void web_child_check(struct web_child *tab, int64_t now, int64_t *next)
{
	for (size_t i = 0; i < WEB_CHILDREN_MAX; i++) {
		struct web_child *c = &tab[i];

		if (!c->used)
			continue;
		if (now >= c->deadline_ms) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0); /* SIGKILL: at once */
			c->timed_out = true;
			finish(c);
		} else if (c->fd < 0 && reap(c)) {
			finish(c);
		} else {
			*next = fb_deadline_min(*next, c->fd < 0 ? now + REAP_RETRY_MS
							      : c->deadline_ms);
		}
	}
}

void web_child_kill_all(struct web_child *tab)
{
	for (size_t i = 0; i < WEB_CHILDREN_MAX; i++)
		if (tab[i].used)
			tab[i].deadline_ms = 0;
	web_child_check(tab, fb_mono_ms(), &(int64_t){ 0 });
}
