/* SPDX-License-Identifier: Apache-2.0 */
/* One password hash in a short-lived child.  yescrypt at its usual cost
 * takes a 16 MiB region (and other crypt methods may take more); done
 * in the daemon it set the daemon's peak memory at start (the dummy
 * hash) and at every login.  The child is forked, hashes, writes the
 * result to a pipe and exits; the loop waits for it, as it waited for
 * crypt_r before (one hash at a time, the loop is single-threaded). */
#include "web-internal.h"
#include "log.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void hash_child(int fd, const char *password, const char *setting)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out = cd ? crypt_r(password, setting, cd) : NULL;
	size_t n = out ? strlen(out) : 0, done = 0;

	while (done < n) {
		ssize_t w = write(fd, out + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		done += (size_t)w;
	}
	_exit(out ? 0 : 1);
}

int web_hash_crypt(const char *password, const char *setting, char *out, size_t outsize)
{
	int p[2], status = 0;
	size_t got = 0;
	pid_t pid;

	if (outsize == 0 || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		hash_child(p[1], password, setting);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], out + got, outsize - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == outsize - 1)
			break;
	}
	close(p[0]);
	out[got] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got == 0 ||
	    got == outsize - 1) {
		explicit_bzero(out, outsize);
		return -1;
	}
	return 0;
}
