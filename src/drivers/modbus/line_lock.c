/* SPDX-License-Identifier: Apache-2.0 */
/* The serial line's lock: whoever talks on an RS-485 line holds flock()
 * on its tty.  Not TIOCEXCL: that flag belongs to the tty, not to the
 * holder's fd, so it outlives the holder while anything else keeps the tty
 * open, and would refuse the scan's own reopen at the next framing.
 * The driver takes it when it opens the port, a standalone scan for its
 * whole run; the kernel releases it when the holder dies.  If it is taken,
 * /proc/locks tells the holder's pid and its cgroup the systemd unit. */
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int mb_line_lock_take(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			errno = EBUSY;
		return -1;
	}
	return 0;
}

/* The pid holding a flock on (dev, ino), from /proc/locks; 0 if none. */
static long lock_holder_pid(dev_t dev, ino_t ino)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256];
	long found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char kind[16], where[64];
		unsigned maj, min;
		unsigned long long in;
		long pid;

		/* "1: FLOCK  ADVISORY  WRITE 1234 00:05:123 0 EOF" */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %63s", kind, &pid, where) != 3 ||
		    strcmp(kind, "FLOCK") ||
		    sscanf(where, "%x:%x:%llu", &maj, &min, &in) != 3)
			continue;
		if (makedev(maj, min) == dev && in == (unsigned long long)ino)
			found = pid;
	}
	fclose(f);
	return found;
}

/* The systemd unit of pid from its cgroup path, or "" if it has none. */
static void pid_unit(long pid, char *out, size_t len)
{
	char path[64], line[512];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *end = strstr(line, ".service"), *start;

		if (!end)
			continue;
		end += strlen(".service");
		*end = '\0';
		start = strrchr(line, '/');
		snprintf(out, len, "%.100s", start ? start + 1 : line);
		break;
	}
	fclose(f);
}

static void pid_comm(long pid, char *out, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	out[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

void mb_line_lock_holder(const char *path, char *out, size_t len)
{
	struct stat st;
	char unit[128], comm[32];
	long pid;

	if (stat(path, &st) < 0 || !(pid = lock_holder_pid(st.st_dev, st.st_ino))) {
		snprintf(out, len, "another process (holder not found in /proc/locks)");
		return;
	}
	pid_unit(pid, unit, sizeof(unit));
	pid_comm(pid, comm, sizeof(comm));
	if (unit[0] && strncmp(unit, "session-", 8))
		snprintf(out, len, "%s (pid %ld, %s)", unit, pid, comm[0] ? comm : "?");
	else
		snprintf(out, len, "pid %ld (%s)", pid, comm[0] ? comm : "?");
}
