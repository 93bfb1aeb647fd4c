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
	cJSON *gateway_none;        /* the gateway object when the file has none */
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
/* Atomic for readers, not durable (no fsync): for records a crash makes
 * moot anyway, written where a daemon's start must not wait for the disk. */
int ce_file_write_volatile(const char *path, const char *data, size_t len, mode_t mode);
/* The same, owned by uid:gid ((uid_t)-1 = as created). */
int ce_file_write_owned(const char *path, const char *data, size_t len, mode_t mode,
			uid_t uid, gid_t gid);
/* Writes and removes the plan's files in the real config dir. */
int ce_file_commit(struct fb_edit *e, const struct ce_plan *p, struct fb_diag *diag);
int ce_file_rm_tree(const char *path);
/* Opens (creating it group-writable) the edit lock file; -1 and errno. */
int ce_file_open_lock(const char *path);

/* tree.c */
void ce_tree_free(struct fb_edit *e);
int ce_tree_read(struct fb_edit *e, struct fb_diag *diag);
bool ce_tree_name_valid(const char *s); /* bus, connection, device names */

/* stage.c: validates the plan against a mirror of the config dir; adds
 * the errors and warnings the plan introduces to diag (paths as in the
 * real dir) and returns the number of errors, or -1 after an I/O error
 * in diag. */
long ce_stage_validate(struct fb_edit *e, const struct ce_plan *p, struct fb_diag *diag);
/* The same; also gives how many messages the files give now and with the
 * plan (a move must keep every one, though their locations change). */
long ce_stage_validate_count(struct fb_edit *e, const struct ce_plan *p, struct fb_diag *diag,
			     size_t *now_count, size_t *cand_count);
/* Every writer's end: validates the plan (ce_stage_validate), writes it
 * (ce_file_commit) only if it adds no error, and re-reads the files.
 * FB_EDIT_OK, FB_EDIT_INVALID (the errors are in diag), FB_EDIT_DENIED
 * (no permission) or FB_EDIT_FAILED. */
enum fb_edit_rc ce_stage_commit(struct fb_edit *e, const struct ce_plan *p,
				struct fb_diag *diag);
/* Removes mirrors left by a writer that died; mirrors exist only while the
 * edit lock is held, so call it right after taking the lock. */
void ce_stage_sweep(struct fb_edit *e);
/* Every writer's start: write access to the config dir (if need_write),
 * the edit lock, stale staging mirrors swept, the files re-read.  Problems
 * go to diag. */
enum fb_edit_rc ce_edit_begin(struct fb_edit *e, bool need_write, struct fb_diag *diag);
/* Where tools write objects of `kind`: "buses.d", "connections.d", ... */
const char *ce_edit_dropin_dir(enum fb_edit_kind kind);

/* textscan.c: offsets in comment-blanked JSON text t.  The offset after
 * the blanks at i; after the string at i; after the value at i (0 if the
 * text ends first). */
size_t ce_text_ws(const char *t, size_t i);
size_t ce_text_string(const char *t, size_t i);
size_t ce_text_value(const char *t, size_t i);
/* Widens [s, e) of orig to whole lines when only blanks share them. */
void ce_text_widen(const char *orig, size_t len, size_t *s, size_t *e);

/* gateway.c: orig (the main file's text) with member `field` of its
 * top-level "gateway" object set to the JSON text `value` (NULL: removed),
 * every other byte as it was; the section is added if missing.  Caller
 * frees; NULL with errno EINVAL if the text is not an object with an
 * object "gateway", ENOMEM. */
char *ce_gateway_text_set(const char *orig, const char *field, const char *value);

/* slice.c: a daemon's slice (see config_edit.h), NULL if `name` is not
 * in the files.  cfg (with definitions) gives the definition files; may be
 * NULL.  Digests: hex SHA-256 of salt + data, caller frees. */
struct fb_config;
cJSON *ce_slice_build(const struct fb_edit *e, const struct fb_config *cfg,
		      enum fb_edit_kind kind, const char *name, const char *salt);
char *ce_slice_digest(const char *salt, const void *data, size_t len);

/* loaded.c: the records daemons wrote. */
struct ce_record {
	enum fb_edit_kind kind;
	char *name, *unit, *salt;
	int pid;
	long long since;
	bool systemd, alive;
	cJSON *doc;        /* the whole record */
	cJSON *slice;      /* borrowed from doc */
};
/* Reads every record in "<state_dir>/loaded/"; unreadable ones are warnings. */
int ce_loaded_read(const char *state_dir, struct ce_record **out, size_t *n,
		   struct fb_diag *diag);
void ce_loaded_free(struct ce_record *r, size_t n);
/* Whether pid is still the process that wrote the record (owned by
 * `owner`). */
bool ce_loaded_alive(int pid, long long starttime_ticks, uid_t owner);
char *ce_loaded_unit(enum fb_edit_kind kind, const char *name, bool gpio);

/* snapshot.c: the tool-written files of the config dir (relative paths,
 * sorted), for snapshots and rollback. */
int ce_snapshot_files(const struct fb_edit *e, char ***rel, size_t *n);

#endif
