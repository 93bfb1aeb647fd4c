/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the files of config_edit; not for other parts. */
#ifndef FB_CONFIG_EDIT_INTERNAL_H
#define FB_CONFIG_EDIT_INTERNAL_H

#include "config_edit.h"

#include <sys/types.h>

struct ce_doc {
	char *path;   /* absolute */
	cJSON *json;  /* NULL if it did not parse */
};

struct fb_edit {
	char *main_path, *dir, *users_path;
	int lock_fd;                /* -1 = not locked */
	struct ce_doc *docs;        /* main file first, then drop-ins, users */
	size_t ndocs;
	cJSON *users_doc;           /* borrowed from docs, NULL if none */
	struct fb_edit_obj *objs;
	size_t nobjs;
};

/* One file an edit writes (content != NULL) or removes, relative to the
 * config dir. */
struct ce_write {
	char *rel;
	char *content;
	size_t len;
	mode_t mode;
};

struct ce_plan {
	struct ce_write *w;
	size_t n;
	char **rm_dirs;   /* removed after the commit, best effort (certs/<conn>) */
	size_t nrm_dirs;
};

/* fileio.c.  Plans: adding takes ownership of content (NULL = remove). */
int ce_file_plan_add(struct ce_plan *p, const char *rel, char *content, size_t len, mode_t mode);
void ce_file_plan_free(struct ce_plan *p);
char *ce_file_join(const char *a, const char *b); /* "a/b", caller frees; NULL on OOM */
int ce_file_write_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* The same, owned by uid:gid ((uid_t)-1 = as created). */
int ce_file_write_owned(const char *path, const char *data, size_t len, mode_t mode,
			uid_t uid, gid_t gid);
/* Writes and removes the plan's files in the real config dir. */
int ce_file_commit(struct fb_edit *e, const struct ce_plan *p, struct fb_diag *diag);
int ce_file_rm_tree(const char *path);

/* tree.c */
void ce_tree_free(struct fb_edit *e);
int ce_tree_read(struct fb_edit *e, struct fb_diag *diag);
bool ce_tree_name_valid(const char *s); /* bus, connection, device names */

/* stage.c: validates the plan against a mirror of the config dir; adds
 * the errors and warnings the plan introduces to diag (paths as in the
 * real dir) and returns the number of errors, or -1 after an I/O error
 * in diag. */
long ce_stage_validate(struct fb_edit *e, const struct ce_plan *p, struct fb_diag *diag);
/* Removes mirrors left by a writer that died; mirrors exist only while the
 * edit lock is held, so call it right after taking the lock. */
void ce_stage_sweep(struct fb_edit *e);

#endif
