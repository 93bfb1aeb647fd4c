/* SPDX-License-Identifier: Apache-2.0 */
/* Editing the gateway configuration from tools (fieldbridgectl, and the web
 * daemon later): the effective configuration with provenance, field tables
 * that describe every editable field as data, and edits that are validated
 * by the daemons' own loader before they are written atomically.
 *
 * What tools write: drop-ins only (buses.d/NAME.json, connections.d/NAME.json,
 * modbus_servers.d/NAME.json),
 * the users file, secrets/ and certs/ next to the main file.  An object
 * defined in the main file is not edited (it may hold hand-written
 * comments); editing it is refused (FB_EDIT_IN_MAIN) until it is moved to
 * a drop-in (fb_edit_move_to_dropin, which removes only its own text).
 *
 * Every writer holds the edit lock (flock on "<config dir>/.lock").
 *
 * Memory: fb_edit_open returns a handle the caller frees with
 * fb_edit_close; objects and strings returned by the getters are borrowed
 * from it and valid until the next edit or fb_edit_close.
 * Errors: edits return an enum fb_edit_rc and add every message to diag. */
#ifndef FB_CONFIG_EDIT_H
#define FB_CONFIG_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "diag.h"

struct fb_config;

/* Results; the values are fieldbridgectl's exit codes. */
enum fb_edit_rc {
	FB_EDIT_OK = 0,
	FB_EDIT_FAILED = 1,     /* I/O error, out of memory */
	FB_EDIT_USAGE = 2,      /* unknown field, literal secret */
	FB_EDIT_INVALID = 3,    /* value out of range, or the loader refused */
	FB_EDIT_NOT_FOUND = 4,
	FB_EDIT_DENIED = 5,     /* permission denied */
	FB_EDIT_NOT_RUNNING = 7, /* apply: a restart needs systemd (hand-started daemon) */
	FB_EDIT_CONFLICT = 8,   /* exists already, or defined in the main file */
};
/* An object defined in the main file: refused with FB_EDIT_CONFLICT. */
#define FB_EDIT_IN_MAIN FB_EDIT_CONFLICT

/* FB_EDIT_SERVER ("modbus_servers", modbus_servers.d/NAME.json) comes
 * after USER so loops over CONN..USER stay as they were.  FB_EDIT_GATEWAY
 * is the one "gateway" section (name "gateway"): always in the main file,
 * and the one object tools edit there, member by member, in place (every
 * other byte, comments included, stays); it is never added or deleted. */
enum fb_edit_kind {
	FB_EDIT_CONN, FB_EDIT_BUS, FB_EDIT_DEVICE, FB_EDIT_USER, FB_EDIT_SERVER,
	FB_EDIT_GATEWAY,
};
#define FB_EDIT_KIND_LAST FB_EDIT_GATEWAY

/* ---- field tables (fields.c) ----
 * One row per field a tool may set, in the order pages and `show` list
 * them.  Data, not code, so a JSON Schema can be generated from them. */
enum fb_field_type {
	FB_FIELD_STRING,   /* free text, checked by the loader */
	FB_FIELD_INT,      /* min..max */
	FB_FIELD_INT_SET,  /* one of set[] */
	FB_FIELD_BOOL,     /* true/false, on/off */
	FB_FIELD_ENUM,     /* one of choices[] */
	FB_FIELD_SECRET,   /* stored in secrets/, referenced as FIELD_file */
	FB_FIELD_CERT,     /* PEM certificate copied into certs/<object>/ */
	FB_FIELD_KEY,      /* PEM private key copied into certs/<object>/, 0600 */
	FB_FIELD_RIGHTS,   /* users: PATTERN:ACCESS,... */
	FB_FIELD_NAMES,    /* NAME[,NAME...]: one string, or an array of several */
	FB_FIELD_UNIT_MAP, /* DEVICE:ID[,DEVICE:ID...] -> { DEVICE: 0..255 } */
};

struct fb_field {
	const char *name;
	enum fb_field_type type;
	bool required;
	long long min, max;          /* FB_FIELD_INT */
	const int *set;              /* FB_FIELD_INT_SET */
	size_t nset;
	const char *const *choices;  /* FB_FIELD_ENUM, NULL-terminated */
	const char *default_text;    /* NULL = none; shown as the default */
	const char *help;            /* one line, from docs/configuration.md */
};

/* The fields of one kind (static table); *n gets the count. */
const struct fb_field *fb_edit_fields(enum fb_edit_kind kind, size_t *n);
/* NULL if `kind` has no field `name`. */
const struct fb_field *fb_edit_field(enum fb_edit_kind kind, const char *name);
const char *fb_edit_kind_name(enum fb_edit_kind kind); /* "connection", ... */
const char *fb_field_type_name(enum fb_field_type t);  /* "integer", ... */

/* Parses `text` for field f into a JSON value (caller frees with
 * cJSON_Delete).  Returns NULL after writing "expected ..., got ..." (the
 * allowed values named) into err.  Not for secrets, certificates and keys. */
cJSON *fb_field_parse(const struct fb_field *f, const char *text, char *err, size_t errlen);
/* Writes the allowed values of f ("0, 1, 2", "1..65535") into buf. */
void fb_field_allowed(const struct fb_field *f, char *buf, size_t len);
/* The field table of `kind` as a JSON Schema object (caller frees). */
cJSON *fb_edit_schema(enum fb_edit_kind kind);
/* Every kind's schema, keyed by fb_edit_kind_name (caller frees): GET
 * schema and `config schema`. */
cJSON *fb_edit_schema_all(void);

/* ---- the effective configuration (tree.c) ---- */
struct fb_edit_obj {
	enum fb_edit_kind kind;
	char *name;        /* bus/connection name, device id, user name */
	char *bus;         /* FB_EDIT_DEVICE: its bus */
	char *file;        /* the file that defines it */
	char *json_path;   /* within file: "connections[0]", "", "devices[2]" */
	bool in_main;      /* defined in the main file: edited by hand only */
	cJSON *json;       /* the object as written (borrowed) */
};

struct fb_edit;

/* Reads the main file, buses.d/, connections.d/ and the users file as
 * written (not validated: fb_edit_check does that).  Returns NULL with
 * errno if the main file's directory cannot be read; problems reading
 * single files are added to diag. */
struct fb_edit *fb_edit_open(const char *main_path, struct fb_diag *diag);
void fb_edit_close(struct fb_edit *e); /* accepts NULL; releases the lock */

/* Takes the edit lock (blocking).  Returns 0, or -1 with errno. */
int fb_edit_lock(struct fb_edit *e);
/* Re-reads the files (after taking the lock, so an edit starts from what
 * the previous writer committed). */
int fb_edit_reload(struct fb_edit *e, struct fb_diag *diag);

const char *fb_edit_dir(const struct fb_edit *e);       /* config dir */
const char *fb_edit_main_path(const struct fb_edit *e);
/* The users file (absolute), NULL if gateway.users_file is not set. */
const char *fb_edit_users_path(const struct fb_edit *e);

size_t fb_edit_count(const struct fb_edit *e, enum fb_edit_kind kind);
const struct fb_edit_obj *fb_edit_get(const struct fb_edit *e, enum fb_edit_kind kind,
				      size_t i);
/* `bus` only for devices (NULL: any bus, device ids are gateway-wide). */
const struct fb_edit_obj *fb_edit_find(const struct fb_edit *e, enum fb_edit_kind kind,
				       const char *bus, const char *name);

/* Whether a secret field is set on obj (inline or as FIELD_file). */
bool fb_edit_secret_is_set(const struct fb_edit_obj *obj, const char *field);
/* The absolute path of a file-valued field (certificate, key), resolved
 * against the defining file's directory; NULL if unset.  Caller frees. */
char *fb_edit_obj_path(const struct fb_edit_obj *obj, const char *field);

/* ---- edits (edit.c) ---- */
struct fb_edit_change {
	const char *field;
	const char *value; /* "" = remove the field (back to its default);
			    * for a secret the secret itself; for a
			    * certificate or key the path of the file to copy */
};

/* Creates (create=true) or modifies the object `name` (for devices, on bus
 * `bus`) with the changes, validates the whole candidate configuration with
 * the loader and, if it introduces no error, writes it.  On any refusal
 * nothing on disk changes.  Takes the edit lock itself if not held. */
enum fb_edit_rc fb_edit_set(struct fb_edit *e, enum fb_edit_kind kind, const char *bus,
			    const char *name, bool create,
			    const struct fb_edit_change *changes, size_t nchanges,
			    struct fb_diag *diag);
enum fb_edit_rc fb_edit_delete(struct fb_edit *e, enum fb_edit_kind kind, const char *bus,
			       const char *name, struct fb_diag *diag);
/* Replaces the whole drop-in of a bus or connection with `text` (the
 * `edit` command): validated the same way. */
enum fb_edit_rc fb_edit_replace_text(struct fb_edit *e, enum fb_edit_kind kind,
				     const char *name, const char *text,
				     struct fb_diag *diag);

/* ---- move-to-dropin (dropin.c) ---- */
/* Moves the bus or connection `name` written in the main file to
 * buses.d/NAME.json or connections.d/NAME.json: the main file loses
 * exactly the object's text and its separating comma (comments elsewhere
 * stay; comments inside the object are dropped), relative paths are
 * rebased.  Refused with nothing changed if the object is not found
 * (FB_EDIT_NOT_FOUND), the drop-in exists (FB_EDIT_CONFLICT), or the
 * loader would read anything differently (FB_EDIT_INVALID).  Takes the
 * edit lock. */
enum fb_edit_rc fb_edit_move_to_dropin(struct fb_edit *e, enum fb_edit_kind kind,
				       const char *name, struct fb_diag *diag);

/* ---- device definitions (definition.c) ---- */
struct fb_vector_report;
/* Adds (or, with replace, replaces) the definition `id` as
 * "<config dir>/devices/<id>.json" with content text[0..len): loaded by
 * the model's loader and its test vectors run first (messages name that
 * file, with line and JSON path), then the whole configuration validated
 * with it in place; nothing is written on any error.  FB_EDIT_USAGE: bad
 * id; FB_EDIT_CONFLICT: exists and !replace; FB_EDIT_INVALID: the loader,
 * a vector or a device using it refused.  *rep gets the vector counts;
 * *path_out (may be NULL; caller frees) the file written.  Takes the edit
 * lock. */
enum fb_edit_rc fb_edit_definition_add(struct fb_edit *e, const char *id, const char *text,
				       size_t len, bool replace, char **path_out,
				       struct fb_vector_report *rep, struct fb_diag *diag);

/* ---- backup and restore (backup.c) ---- */
/* The configuration as one JSON bundle {"fieldbridge_backup": 1, "secrets",
 * "files": [{"path", "mode", "content"}], "omitted": [path...]}: the main
 * file, the tool-written files and the definition drop-ins.  Private files
 * (mode 0600: secrets, keys, the users file) only with `secrets`, else
 * their paths are listed in "omitted".  Caller frees; NULL after an error
 * in diag. */
cJSON *fb_edit_backup(struct fb_edit *e, bool secrets, struct fb_diag *diag);
/* Writes the bundle's files back, removes tool-written files it neither
 * holds nor omits (omitted ones stay as they are), validated by the loader
 * first (FB_EDIT_INVALID and nothing changed if it adds an error);
 * FB_EDIT_USAGE for a malformed bundle or a path that is not ours.  Takes
 * the edit lock.  Does not apply. */
enum fb_edit_rc fb_edit_restore(struct fb_edit *e, const cJSON *bundle, size_t *written,
				size_t *removed, struct fb_diag *diag);
/* Writes text back as the main file (a rollback to what a daemon loaded),
 * validated the same way, keeping the file's mode.  Takes the edit lock. */
enum fb_edit_rc fb_edit_restore_main(struct fb_edit *e, const char *text, size_t len,
				     struct fb_diag *diag);

/* ---- validation (stage.c) ---- */
/* Loads the configuration at main_path exactly as the daemons do (the
 * loader, every definition, the users file of every connection) and adds
 * every problem to diag.  Returns the number of errors. */
size_t fb_edit_validate_path(const char *main_path, struct fb_diag *diag);

/* ---- certificates (cert.c) ---- */
struct fb_cert_info {
	char subject[256], issuer[256];
	char not_after[64];   /* "2027-01-31 12:00:00 UTC" */
	bool expired;
};
/* Checks that path holds a PEM certificate; fills info.  Returns 0, or -1
 * after writing why into err. */
int fb_cert_check(const char *path, struct fb_cert_info *info, char *err, size_t errlen);
/* Checks that path holds a PEM private key (decrypted with password if not
 * NULL).  Returns 0, 1 if it is encrypted and no password was given, or -1
 * with err. */
int fb_key_check(const char *path, const char *password, char *err, size_t errlen);
/* 1 if the key matches the certificate, 0 if not, -1 if either cannot be
 * read (encrypted key without password). */
int fb_cert_key_match(const char *crt_path, const char *key_path, const char *password);

/* ---- what the running daemons loaded (slice.c, loaded.c) ----
 * A daemon's slice of the configuration: the gateway section, plus
 *   a bus driver: its bus, its devices and the definition files they use;
 *   an exporter: its connection, its user in the users file, and of every
 *   bus the devices, their definitions and poll_interval_ms (it publishes
 *   discovery and availability from them).
 * Secrets (and private keys, password hashes) appear only as salted
 * SHA-256 digests, certificate and definition files with a digest of their
 * content, so a changed file behind an unchanged path is seen too.
 *
 * At start each daemon records its slice in
 * "<state_dir>/loaded/<bus|connection>-<name>.json" (mode 0600, directory
 * 0700) with its pid and start time; `config diff` compares it with the
 * slice of the files now.  A record counts only while its pid is a
 * fieldbridge process of the record file's owner started at that time
 * (apply signals it, so a stale or forged record never names another
 * process). */

/* Records what the daemon serving bus or connection `name` loaded from cfg
 * (definitions loaded).  Call once after loading, before serving.  Logs a
 * warning and returns -1 if it cannot write (the daemon carries on). */
int fb_edit_record_loaded(const struct fb_config *cfg, enum fb_edit_kind kind,
			  const char *name);
/* After an exporter reloaded its users file (SIGHUP): updates only the
 * user part of its record. */
int fb_edit_record_reloaded_users(const struct fb_config *cfg, const char *conn);

/* ---- diff and apply plan (diff.c) ---- */
enum fb_apply_action {
	FB_APPLY_NONE,     /* up to date, or not running (loads the files at start) */
	FB_APPLY_RESTART,
	FB_APPLY_RELOAD,   /* SIGHUP: only the users file changed */
	FB_APPLY_START,    /* systemd: new object, unit not enabled: enable --now */
	FB_APPLY_STOP,     /* object removed, daemon still running */
};

/* One differing field.  before/after are display texts (NULL = absent);
 * for a secret both are NULL and `secret` is set: say only "changed". */
struct fb_apply_field {
	char *object;   /* "bus meters", "device m1", "connection ha", "user ha",
			 * "definition eastron-sdm120", "gateway" */
	char *field;    /* NULL: the whole object was added or removed */
	char *before, *after;
	bool secret;
};

struct fb_apply_daemon {
	enum fb_edit_kind kind;  /* FB_EDIT_BUS or FB_EDIT_CONN */
	char *name;
	char *unit;              /* "fieldbridge-modbus@meters.service" */
	bool running;            /* a live process recorded what it loaded */
	bool systemd;            /* started by systemd (else by hand) */
	int pid;                 /* 0 if not running */
	long long since;         /* start time, Unix seconds; 0 if unknown */
	enum fb_apply_action action;
	const char *reason;      /* static text: why this action */
	struct fb_apply_field *fields;
	size_t nfields;
	/* Set by fb_apply_run: */
	bool done;
	char *result;            /* what happened ("SIGHUP sent", why not) */
};

struct fb_apply_plan {
	struct fb_apply_daemon *d;
	size_t n;
	bool systemd;            /* systemd runs (/run/systemd/system exists) */
	char *state_dir;
};

/* Compares the files at main_path with what every running daemon recorded
 * and builds the plan (one entry per bus and connection in the files or
 * running).  Refuses with FB_EDIT_INVALID (the loader's errors in diag) if
 * the files do not validate: no daemon could start on them.  A record this
 * process may not read is a warning (the daemon counts as not running). */
enum fb_edit_rc fb_apply_plan_make(const char *main_path, struct fb_apply_plan **out,
				   struct fb_diag *diag);
void fb_apply_plan_free(struct fb_apply_plan *p); /* accepts NULL */
/* Differing fields over all daemons (the "N changes not applied" count;
 * a field seen by several daemons counts once). */
size_t fb_apply_pending(const struct fb_apply_plan *p);
const char *fb_apply_action_name(enum fb_apply_action a); /* "restart", ... */

/* ---- apply (apply.c) ----
 * Takes a snapshot of the tool-written files (under the edit lock), then
 * runs every action: through systemctl for daemons systemd started (and
 * START/STOP), SIGHUP for a reload of a hand-started daemon.  A restart,
 * start or stop of a hand-started daemon cannot be done: its `result` says
 * so and the call returns FB_EDIT_NOT_RUNNING after doing the rest.
 * `user` names who applies, for the snapshot list (NULL: this process's
 * user, or $SUDO_USER).  *snapshot gets the snapshot id (0 if none). */
enum fb_edit_rc fb_apply_run(struct fb_edit *e, struct fb_apply_plan *p, const char *user,
			     unsigned *snapshot, struct fb_diag *diag);
/* The same, telling progress(ctx, d, snapshot) as it goes: d = NULL once
 * the snapshot is taken, then each daemon with an action twice, before
 * (d->result NULL) and after its action (d->done, d->result set). */
typedef void (*fb_apply_progress_fn)(void *ctx, const struct fb_apply_daemon *d,
				     unsigned snapshot);
enum fb_edit_rc fb_apply_run_progress(struct fb_edit *e, struct fb_apply_plan *p,
				      const char *user, unsigned *snapshot,
				      struct fb_diag *diag, fb_apply_progress_fn progress,
				      void *ctx);

/* ---- apply requests (request.c) ----
 * fieldbridge-web, not root, asks the root apply service by leaving a
 * request file (fieldbridge-apply.path).  It names an action and, for a
 * restore or a rollback, a snapshot id: nothing else. */
enum fb_apply_request_action {
	FB_REQUEST_APPLY,     /* apply what is written */
	FB_REQUEST_RESTORE,   /* restore snapshot N, do not apply */
	FB_REQUEST_ROLLBACK,  /* restore snapshot N, then apply */
};
struct fb_apply_request {
	enum fb_apply_request_action action;
	unsigned snapshot;    /* restore, rollback: the id (>= 1) */
	char user[64];        /* who asked, for the snapshot list; may be "" */
};
const char *fb_apply_request_action_name(enum fb_apply_request_action a);
/* The request as JSON text (caller frees), with the address and time for
 * people reading it. */
char *fb_apply_request_text(const struct fb_apply_request *r, const char *from, long long time);
/* Checks text strictly: unknown fields, a wrong type, a snapshot missing
 * or out of range are FB_EDIT_USAGE with the reasons in diag. */
enum fb_edit_rc fb_apply_request_parse(const char *text, struct fb_apply_request *r,
				       struct fb_diag *diag);
/* Takes the request at path (renamed away, read, removed) and parses it.
 * Opened without following links; only a regular file with one link of at
 * most 4 KiB is read.  FB_EDIT_NOT_FOUND if there is none. */
enum fb_edit_rc fb_apply_request_take(const char *path, struct fb_apply_request *r,
				      struct fb_diag *diag);

/* ---- snapshots (snapshot.c) ----
 * "<state_dir>/snapshots/<id>/": a copy of buses.d/, connections.d/, the
 * users file, secrets/ and certs/ with their modes (directory 0700, so the
 * 0600 copies stay private) and meta.json (time, user).  The newest 50
 * are kept.  The snapshots directory must belong to the calling user and
 * be private, else taking and restoring refuse (FB_EDIT_DENIED): the state
 * dir is writable by the daemons' account. */
struct fb_snapshot {
	unsigned id;             /* increasing */
	long long time;          /* Unix seconds */
	char user[64];
	size_t nfiles;
};

/* The state directory of the files as written (gateway.state_dir, relative
 * to the main file's directory, or the default).  Caller frees. */
char *fb_edit_state_dir(const struct fb_edit *e);
/* Takes the edit lock, copies the files.  *id gets the new id. */
enum fb_edit_rc fb_snapshot_take(struct fb_edit *e, const char *user, unsigned *id,
				 struct fb_diag *diag);
/* Oldest first; caller frees *list. */
enum fb_edit_rc fb_snapshot_list(const struct fb_edit *e, struct fb_snapshot **list,
				 size_t *n, struct fb_diag *diag);
/* Restores snapshot id (0: the newest one whose files differ from the
 * current ones): validated by the loader like any edit (FB_EDIT_INVALID and
 * nothing changed if it would add an error), then written atomically under
 * the edit lock; files the snapshot lacks are removed.  *restored gets the
 * id.  Does not apply: call fb_apply_plan_make/fb_apply_run after. */
enum fb_edit_rc fb_snapshot_restore(struct fb_edit *e, unsigned id, unsigned *restored,
				    struct fb_diag *diag);

#endif
