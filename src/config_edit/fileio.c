/* SPDX-License-Identifier: Apache-2.0 */
/* Writing files so that a reader (a daemon starting, another tool) sees the
 * old file or the new one, never half of one: temp file in the same
 * directory, fsync, rename, fsync of the directory.  The temp name starts
 * with '.' so the loader skips it if we die before the rename. */
#include "config_edit-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *ce_file_join(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		return NULL;
	return s;
}

/* The edit lock is shared by root's fieldbridgectl and the unprivileged
 * web (user fieldbridge, in the setgid group of /etc/fieldbridge): the one
 * who creates it makes it group-writable whatever its umask, and one who
 * may only read it still locks (flock needs no write access).  It holds
 * nothing. */
int ce_file_open_lock(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);

	if (fd >= 0) {
		(void)fchmod(fd, 0660); /* best effort: it locks for us anyway */
		return fd;
	}
	if (errno != EEXIST)
		return -1;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int ce_file_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	return ce_file_write_owned(path, data, len, mode, (uid_t)-1, (gid_t)-1);
}

static int write_file(const char *path, const char *data, size_t len, mode_t mode,
		      uid_t uid, gid_t gid, bool durable);

int ce_file_write_owned(const char *path, const char *data, size_t len, mode_t mode,
			uid_t uid, gid_t gid)
{
	return write_file(path, data, len, mode, uid, gid, true);
}

int ce_file_write_volatile(const char *path, const char *data, size_t len, mode_t mode)
{
	return write_file(path, data, len, mode, (uid_t)-1, (gid_t)-1, false);
}

static int write_file(const char *path, const char *data, size_t len, mode_t mode,
		      uid_t uid, gid_t gid, bool durable)
{
	char *copy = strdup(path), *copy2 = strdup(path), *tmp = NULL;
	const char *dir, *base;
	int fd = -1, rc = -1, err;
	size_t off = 0;

	if (!copy || !copy2)
		goto out;
	dir = dirname(copy);
	base = basename(copy2);
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		tmp = NULL;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		goto out;
	/* mkstemp makes 0600; widen only after creation, so a key never
	 * exists with a looser mode. */
	if (fchmod(fd, mode) < 0)
		goto out_unlink;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
		goto out_unlink;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto out_unlink;
		}
		off += (size_t)w;
	}
	if ((durable && fsync(fd) < 0) || close(fd) < 0) {
		fd = -1;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto out_unlink;
	rc = durable ? fsync_dir(dir) : 0;
	goto out;
out_unlink:
	err = errno;
	unlink(tmp);
	errno = err;
out:
	err = errno;
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(copy);
	free(copy2);
	errno = err;
	return rc;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int ce_file_rm_tree(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int ce_file_plan_add(struct ce_plan *p, const char *rel, char *content, size_t len, mode_t mode)
{
	struct ce_write *w;

	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->w[i].rel, rel)) {
			if (p->w[i].content) {
				explicit_bzero(p->w[i].content, p->w[i].len);
				free(p->w[i].content);
			}
			p->w[i].content = content;
			p->w[i].len = len;
			p->w[i].mode = mode;
			return 0;
		}
	}
	w = realloc(p->w, (p->n + 1) * sizeof(*w));
	if (!w) {
		free(content);
		return -1;
	}
	p->w = w;
	w = &p->w[p->n];
	w->rel = strdup(rel);
	if (!w->rel) {
		free(content);
		return -1;
	}
	w->content = content;
	w->len = len;
	w->mode = mode;
	p->n++;
	return 0;
}

void ce_file_plan_free(struct ce_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->w[i].rel);
		if (p->w[i].content) {
			explicit_bzero(p->w[i].content, p->w[i].len);
			free(p->w[i].content);
		}
	}
	free(p->w);
	for (size_t i = 0; i < p->nrm_dirs; i++)
		free(p->rm_dirs[i]);
	free(p->rm_dirs);
	memset(p, 0, sizeof(*p));
}

/* secrets/ and certs/ hold keys: only the owner may list them. */
static mode_t dir_mode_for(const char *rel)
{
	return !strncmp(rel, "secrets/", 8) || !strncmp(rel, "certs/", 6) ? 0700 : 0755;
}

/* Who owns a private file (mode 0600: secrets, keys, the users file): the
 * daemons run as user fieldbridge and must read it, and the loader warns
 * when group or others can.  So: the owner of the file it replaces; for a
 * new file written by root, user fieldbridge if that account exists. */
static void private_owner(const char *path, mode_t mode, uid_t *uid, gid_t *gid)
{
	struct stat st;
	struct passwd *pw;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (mode & 077)
		return;
	if (stat(path, &st) == 0) {
		*uid = st.st_uid;
		*gid = st.st_gid;
	} else if (geteuid() == 0 && (pw = getpwnam("fieldbridge"))) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
}

/* Creates the directories of a private file; the ones created here get the
 * file's owner, so the daemon can reach the file. */
static int private_dirs(const char *root, const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	char *r = strdup(rel);
	int rc = 0;

	if (!r)
		return -1;
	for (char *s = strchr(r, '/'); s && !rc; s = strchr(s + 1, '/')) {
		char *dir;
		bool existed;

		*s = '\0';
		dir = ce_file_join(root, r);
		existed = dir && access(dir, F_OK) == 0;
		if (!dir || (!existed && mkdir(dir, mode) < 0 && errno != EEXIST))
			rc = -1;
		else if (!existed && uid != (uid_t)-1 && chown(dir, uid, gid) < 0)
			rc = -1;
		free(dir);
		*s = '/';
	}
	free(r);
	return rc;
}

int ce_file_commit(struct fb_edit *e, const struct ce_plan *p, struct fb_diag *diag)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct ce_write *w = &p->w[i];
		char *path = ce_file_join(e->dir, w->rel);
		uid_t uid;
		gid_t gid;

		if (!path)
			return -1;
		if (w->content) {
			private_owner(path, w->mode, &uid, &gid);
			if (private_dirs(e->dir, w->rel, dir_mode_for(w->rel), uid, gid) < 0 ||
			    ce_file_write_owned(path, w->content, w->len, w->mode, uid,
						  gid) < 0) {
				fb_diag_error(diag, "%s: cannot write: %s", path, strerror(errno));
				free(path);
				return -1;
			}
		} else if (unlink(path) < 0 && errno != ENOENT) {
			fb_diag_error(diag, "%s: cannot remove: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		free(path);
	}
	for (size_t i = 0; i < p->nrm_dirs; i++) {
		char *path = ce_file_join(e->dir, p->rm_dirs[i]);

		if (path && access(path, F_OK) == 0)
			ce_file_rm_tree(path);
		free(path);
	}
	return 0;
}
