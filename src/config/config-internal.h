/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the config loader's files: the load context and the field
 * helpers that know this format's conventions (names, hosts, paths relative
 * to the containing file, secrets).  Not for other parts. */
#ifndef FB_CONFIG_INTERNAL_H
#define FB_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "diag.h"

struct fb_users;

/* Names of buses, connections and devices: they appear in shm segment names,
 * --bus/--connection arguments, MQTT topics and the table's 32-byte keys. */
#define CFG_NAME_MAX 31
/* gateway.runtime_dir: with "/<id>.<bus>" a table path fits 256 bytes. */
#define CFG_RUNTIME_DIR_MAX 128

/* Room for "<file>: buses[12] (name).devices[3] (id)"; longer is truncated,
 * which only shortens a message. */
#define CFG_WHERE_MAX 1024

/* A device id seen (borrowed from its fb_device_conf) and its bus index. */
struct cfg_id_slot {
	const char *id;
	size_t bus;
};

/* One fb_config_load call.  Nothing here outlives it. */
struct cfg_ctx {
	struct fb_config *c;     /* being built; freed by the caller on error */
	struct fb_diag *diag;    /* borrowed */
	char *main_dir;          /* absolute directory of the main file */
	size_t bus_cap, conn_cap;
	char **perm_warned;      /* files already warned about, so once each */
	size_t nperm_warned;
	struct cfg_id_slot *ids; /* hash set of device ids (config_bus.c) */
	size_t nids, ids_cap;    /* ids_cap: 0 or a power of two */
	bool oom;
};

/* ---- config_util.c: the field helpers every config file uses (the bare
 * cfg_ prefix: they are the floor the other files stand on) ---- */

/* strdup that records an allocation failure in ctx (reported once at the
 * end) instead of printing.  Accepts NULL (returns NULL). */
char *cfg_strdup(struct cfg_ctx *ctx, const char *s);

/* Absolute directory containing `path` (caller frees), NULL on ENOMEM. */
char *cfg_dir_of(const char *path);

/* `path` if absolute, else "<base_dir>/<path>".  Caller frees. */
char *cfg_path_join(struct cfg_ctx *ctx, const char *base_dir, const char *path);

bool cfg_name_valid(const char *s);
/* Reads key as an instance name ([a-z0-9_-], 1..CFG_NAME_MAX).  Returns like
 * the fb_json_* readers: 1 stored, 0 absent, -1 error added. */
int cfg_json_name(const cJSON *obj, const char *key, bool required,
		  const char *what, const char *where, struct fb_diag *diag,
		  const char **out);

/* "<bus path>.devices[<index of d>]" into buf: d's JSON path in b->source,
 * for fb_diag_add_at. */
void cfg_device_path(const struct fb_bus_conf *b, const struct fb_device_conf *d,
		     char *buf, size_t len);

/* The path used in messages about a bus or connection: "<where_in>
 * (<name>)", the name from obj's "name" or else default_name. */
void cfg_instance_where(char *where, size_t len, const char *where_in, const cJSON *obj,
			const char *default_name);
/* The "name" of a bus or connection (`kind`: "bus" or "connection"), or
 * default_name (the file stem of a buses.d/connections.d file) when absent;
 * a name an earlier one of the kind has is an error.  Returns the name,
 * borrowed from obj or default_name, or NULL after adding an error. */
const char *cfg_instance_name(struct cfg_ctx *ctx, const cJSON *obj,
			      const char *default_name, const char *kind, const char *where);

/* NULL if `s` is a usable host name or address (no scheme, no port, IPv6
 * without brackets), else what was expected, for "expected %s". */
const char *cfg_host_problem(const char *s);

/* Reads an optional path field, resolved against base_dir.  Returns like the
 * fb_json_* readers; *out is owned by the caller. */
int cfg_json_path(struct cfg_ctx *ctx, const cJSON *obj, const char *key,
		  const char *base_dir, const char *where, char **out);

/* Reads the secret `key` given inline or as "<key>_file" (path relative to
 * base_dir; one trailing newline stripped).  Stores a copy in *out (caller
 * frees).  Warns when the file holding the secret is accessible by group or
 * others.  The value never reaches a message.  Returns 1 stored, 0 absent,
 * -1 error added. */
int cfg_json_secret(struct cfg_ctx *ctx, const cJSON *obj, const char *key,
		    const char *source, const char *base_dir, const char *where,
		    char **out);

/* Adds an error unless `path` is a readable regular file. */
bool cfg_check_readable(struct cfg_ctx *ctx, const char *where, const char *key,
			const char *path);

/* ---- config.c, for config_check.c ---- */

/* fb_config_load, but with keep_on_error the config is returned even after
 * errors (diag->errors grew): whatever parsed, for checks that can still
 * run on it ("every problem in one run").  Fields of a broken entry may be
 * NULL.  Caller frees with fb_config_free. */
struct fb_config *cfg_load(const char *path, struct fb_diag *diag, bool keep_on_error);
/* Adds an error unless users (borrowed) defines conn->user (or it has
 * none); returns whether it does. */
bool cfg_conn_user_defined(const struct fb_config *c, const struct fb_conn_conf *conn,
			   const struct fb_users *users, struct fb_diag *diag);

/* ---- config_bus.c and config_conn.c ---- */

/* Per-section parsers; `where` is "<file>: <json path>" of obj.  Each
 * appends one entry to ctx->c (even when invalid, so later duplicates are
 * still found) and adds every problem to ctx->diag. */
void cfg_bus_parse(struct cfg_ctx *ctx, const cJSON *obj, const char *source,
		   const char *base_dir, const char *where, const char *default_name);
void cfg_conn_parse(struct cfg_ctx *ctx, const cJSON *obj, const char *source,
		    const char *base_dir, const char *where, const char *default_name);

void cfg_bus_free_fields(struct fb_bus_conf *b, void (*def_free)(struct fb_definition *));
void cfg_conn_free_fields(struct fb_conn_conf *cc);

/* config_web.c: the main file's "web" section (NULL: defaults). */
void cfg_parse_web(struct cfg_ctx *ctx, const cJSON *web, const char *path);
void cfg_web_free(struct fb_web_conf *w);

/* config_mbserver.c: the main file's "modbus_servers" array, and the
 * checks against the buses once every bus (buses.d too) is loaded. */
void cfg_parse_mbservers(struct cfg_ctx *ctx, const cJSON *arr, const char *path);
/* One server object (a modbus_servers.d/ file: jpath "", default_name the
 * file stem; or an array entry: default_name NULL) appended to the list. */
void cfg_mbserver_parse(struct cfg_ctx *ctx, const cJSON *obj, const char *source,
			const char *jpath, const char *where, const char *default_name);
void cfg_mbservers_check(struct cfg_ctx *ctx, const char *path);
void cfg_mbservers_free(struct fb_config *c);

#endif
