/* SPDX-License-Identifier: Apache-2.0 */
/* Editing the gateway configuration from tools (fieldbridgectl, and the web
 * daemon later): the effective configuration with provenance, field tables
 * that describe every editable field as data, and edits that are validated
 * by the daemons' own loader before they are written atomically.
 *
 * What tools write: drop-ins only (buses.d/NAME.json, connections.d/NAME.json),
 * the users file, secrets/ and certs/ next to the main file.  An object
 * defined in the main file is never rewritten (it may hold hand-written
 * comments); editing it is refused (FB_EDIT_IN_MAIN).
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

/* Results; the values are fieldbridgectl's exit codes. */
enum fb_edit_rc {
	FB_EDIT_OK = 0,
	FB_EDIT_FAILED = 1,     /* I/O error, out of memory */
	FB_EDIT_USAGE = 2,      /* unknown field, literal secret */
	FB_EDIT_INVALID = 3,    /* value out of range, or the loader refused */
	FB_EDIT_NOT_FOUND = 4,
	FB_EDIT_DENIED = 5,     /* permission denied */
	FB_EDIT_CONFLICT = 8,   /* exists already, or defined in the main file */
};
/* An object defined in the main file: refused with FB_EDIT_CONFLICT. */
#define FB_EDIT_IN_MAIN FB_EDIT_CONFLICT

enum fb_edit_kind { FB_EDIT_CONN, FB_EDIT_BUS, FB_EDIT_DEVICE, FB_EDIT_USER };

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

#endif
