/* SPDX-License-Identifier: Apache-2.0 */
/* The main configuration file and its buses.d/ and connections.d/
 * directories; the gateway section; lookups.  Buses: config_bus.c;
 * connections: config_conn.c; device definitions: config_defs.c. */
#include "config.h"
#include "config-internal.h"
#include "fb_defaults.h"
#include "jsonfile.h"
#include "log.h"
#include "users.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const top_keys[] = { "gateway", "buses", "connections", "web",
					 "modbus_servers", NULL };
static const char *const gateway_keys[] = {
	"id", "name", "state_dir", "runtime_dir", "users_file", "definition_dirs", "log_level",
	NULL,
};
/* The daemons' -q / --log-level words (log.h), in FB_LOG_* order below. */
static const char *const log_level_names[] = { "warning", "info", "debug", NULL };
static const int log_level_values[] = { FB_LOG_WARNING, FB_LOG_INFO, FB_LOG_DEBUG };

static cJSON *load_json(struct cfg_ctx *ctx, const char *path)
{
	return fb_json_load_private(path, ctx->diag);
}

static void parse_definition_dirs(struct cfg_ctx *ctx, const cJSON *gw, const char *where)
{
	struct fb_config *c = ctx->c;
	const cJSON *arr = gw ? cJSON_GetObjectItemCaseSensitive(gw, "definition_dirs") : NULL;
	const cJSON *item;
	int i = 0;

	if (!arr || cJSON_IsNull(arr)) {
		c->definition_dirs = calloc(2, sizeof(char *));
		if (!c->definition_dirs) {
			ctx->oom = true;
			return;
		}
		c->definition_dirs[0] = cfg_path_join(ctx, ctx->main_dir, "devices");
		c->definition_dirs[1] = cfg_strdup(ctx, FB_DEFAULT_DEVICES_DIR);
		c->ndefinition_dirs = 2;
		return;
	}
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) {
		fb_json_error(ctx->diag, where, "definition_dirs",
			      "%s.definition_dirs: expected a non-empty array of "
			      "directory paths", where);
		return;
	}
	c->definition_dirs = calloc((size_t)cJSON_GetArraySize(arr), sizeof(char *));
	if (!c->definition_dirs) {
		ctx->oom = true;
		return;
	}
	cJSON_ArrayForEach(item, arr) {
		if (!cJSON_IsString(item) || !item->valuestring[0]) {
			fb_json_error(ctx->diag, where, "definition_dirs",
				      "%s.definition_dirs[%d]: expected a directory path",
				      where, i);
		} else {
			c->definition_dirs[c->ndefinition_dirs++] =
				cfg_path_join(ctx, ctx->main_dir, item->valuestring);
		}
		i++;
	}
}

static void parse_gateway(struct cfg_ctx *ctx, const cJSON *gw, const char *path)
{
	struct fb_config *c = ctx->c;
	char where[CFG_WHERE_MAX];
	const char *id = "fieldbridge", *name = "fieldbridge";
	char *p;

	snprintf(where, sizeof(where), "%s: gateway", path);
	if (gw && !cJSON_IsObject(gw)) {
		fb_json_error(ctx->diag, where, NULL, "%s: expected an object", where);
		gw = NULL;
	}
	if (gw) {
		cfg_json_name(gw, "id", false, "gateway", where, ctx->diag, &id);
		if (fb_json_string(gw, "name", false, where, ctx->diag, &name) == 1 && !name[0]) {
			fb_json_error(ctx->diag, where, "name",
				      "%s.name: expected a non-empty name", where);
			name = "fieldbridge";
		}
	}
	c->gateway_id = cfg_strdup(ctx, id);
	c->gateway_name = cfg_strdup(ctx, name);

	p = NULL;
	if (gw && cfg_json_path(ctx, gw, "state_dir", ctx->main_dir, where, &p) == 1)
		c->state_dir = p;
	else
		c->state_dir = cfg_strdup(ctx, FB_DEFAULT_STATE_DIR);
	p = NULL;
	if (gw && cfg_json_path(ctx, gw, "runtime_dir", ctx->main_dir, where, &p) == 1) {
		/* Table paths "<runtime_dir>/<id>.<bus>" must stay absolute and
		 * short (names are at most CFG_NAME_MAX). */
		if (p[0] != '/' || strlen(p) > CFG_RUNTIME_DIR_MAX) {
			fb_json_error(ctx->diag, where, "runtime_dir",
				      "%s.runtime_dir: expected an absolute directory path of at "
				      "most %d bytes, got \"%s\"", where, CFG_RUNTIME_DIR_MAX, p);
			free(p);
			p = NULL;
		}
	}
	c->runtime_dir = p ? p : cfg_strdup(ctx, FB_DEFAULT_RUNTIME_DIR);
	p = NULL;
	if (gw && cfg_json_path(ctx, gw, "users_file", ctx->main_dir, where, &p) == 1)
		c->users_file = p;
	parse_definition_dirs(ctx, gw, where);
	if (gw) {
		int level;

		if (fb_json_enum(gw, "log_level", false, log_level_names, where, ctx->diag,
				 &level) == 1)
			c->log_level = log_level_values[level];
		fb_json_unknown_keys(gw, gateway_keys, where, ctx->diag);
	}
}

struct fb_users *fb_config_load_users(const struct fb_config *c,
				     const struct fb_conn_conf *conn, struct fb_diag *diag)
{
	struct fb_users *users;

	if (!c->users_file) {
		/* Nothing to check against: every user has full rights.  Say so,
		 * it is the insecure choice. */
		fb_diag_add_at(diag, FB_SEV_WARNING, c->path, "gateway", "users_file",
			       "%s: gateway.users_file is not set: connection %s's user "
			       "\"%s\" is not checked and may read and write every device",
			       c->path, conn->name ? conn->name : "?",
			       conn->user ? conn->user : "");
		return NULL;
	}
	users = fb_users_load(c->users_file, diag);
	if (users && !cfg_conn_user_defined(c, conn, users, diag)) {
		fb_users_free(users);
		return NULL;
	}
	return users;
}

bool cfg_conn_user_defined(const struct fb_config *c, const struct fb_conn_conf *conn,
			   const struct fb_users *users, struct fb_diag *diag)
{
	if (!conn->user || fb_users_find(users, conn->user))
		return true;
	fb_diag_add_at(diag, FB_SEV_ERROR, conn->source ? conn->source : c->path,
		       conn->path, "user",
		       "%s: connection (%s).user: expected a user defined in %s, "
		       "got \"%s\"", conn->source ? conn->source : c->path,
		       conn->name ? conn->name : "?", c->users_file, conn->user);
	return false;
}

static void parse_array(struct cfg_ctx *ctx, const cJSON *root, const char *key,
			const char *path, bool buses)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
	const cJSON *item;
	char where[CFG_WHERE_MAX];
	int i = 0;

	if (!arr || cJSON_IsNull(arr))
		return;
	if (!cJSON_IsArray(arr)) {
		fb_diag_add_at(ctx->diag, FB_SEV_ERROR, path, "", key,
			       "%s: %s: expected an array of %s objects", path, key,
			       buses ? "bus" : "connection");
		return;
	}
	cJSON_ArrayForEach(item, arr) {
		snprintf(where, sizeof(where), "%s: %s[%d]", path, key, i++);
		if (buses)
			cfg_bus_parse(ctx, item, path, ctx->main_dir, where, NULL);
		else
			cfg_conn_parse(ctx, item, path, ctx->main_dir, where, NULL);
	}
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	/* Byte order, not the locale's: the load order must not change with
	 * LANG. */
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int json_file_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 5 && !strcmp(e->d_name + n - 5, ".json");
}

/* Every "<main dir>/<sub>/NAME.json" in byte order: one bus, connection or server each,
 * named after the file unless it says otherwise. */
enum dropin_kind { DROPIN_BUS, DROPIN_CONN, DROPIN_SERVER };

static void load_dropin_dir(struct cfg_ctx *ctx, const char *main_path, const char *sub,
			    enum dropin_kind kind)
{
	static const char *const what[] = { "bus", "connection", "server" };
	struct dirent **list = NULL;
	const char *slash = strrchr(main_path, '/');
	char *disp_dir = NULL, *abs_dir = NULL;
	int n;

	/* Messages name files the way the main file was named. */
	if (!slash)
		n = asprintf(&disp_dir, "%s", sub);
	else
		n = asprintf(&disp_dir, "%.*s/%s", (int)(slash - main_path), main_path, sub);
	if (n < 0 || !(abs_dir = cfg_path_join(ctx, ctx->main_dir, sub))) {
		ctx->oom = true;
		free(n < 0 ? NULL : disp_dir);
		return;
	}
	n = scandir(abs_dir, &list, json_file_filter, name_cmp);
	if (n < 0) {
		if (errno != ENOENT)
			fb_diag_add_at(ctx->diag, FB_SEV_ERROR, disp_dir, NULL, NULL,
				       "%s: cannot read directory: %s", disp_dir,
				       strerror(errno));
		goto out;
	}
	for (int i = 0; i < n; i++) {
		char *file = NULL, *abs_file = NULL, *stem = NULL, *where = NULL;
		struct stat st;
		cJSON *doc;

		if (asprintf(&file, "%s/%s", disp_dir, list[i]->d_name) < 0 ||
		    !(abs_file = cfg_path_join(ctx, abs_dir, list[i]->d_name)) ||
		    !(stem = strndup(list[i]->d_name, strlen(list[i]->d_name) - 5)) ||
		    asprintf(&where, "%s: %s", file, what[kind]) < 0) {
			ctx->oom = true;
			where = NULL;
		} else if (stat(abs_file, &st) == 0 && S_ISREG(st.st_mode)) {
			doc = load_json(ctx, file);
			if (doc) {
				if (kind == DROPIN_BUS)
					cfg_bus_parse(ctx, doc, file, abs_dir, where, stem);
				else if (kind == DROPIN_CONN)
					cfg_conn_parse(ctx, doc, file, abs_dir, where, stem);
				else
					cfg_mbserver_parse(ctx, doc, file, "", where, stem);
				cJSON_Delete(doc);
			}
		}
		free(where);
		free(stem);
		free(abs_file);
		free(file);
		free(list[i]);
	}
	free(list);
out:
	free(abs_dir);
	free(disp_dir);
}

struct fb_config *fb_config_load(const char *path, struct fb_diag *diag)
{
	return cfg_load(path, diag, false);
}

struct fb_config *cfg_load(const char *path, struct fb_diag *diag, bool keep_on_error)
{
	struct cfg_ctx ctx;
	struct fb_config *c;
	size_t errors_before = diag->errors;
	cJSON *doc, *gw = NULL;

	memset(&ctx, 0, sizeof(ctx));
	ctx.diag = diag;
	c = calloc(1, sizeof(*c));
	if (!c) {
		fb_diag_add_at(diag, FB_SEV_ERROR, path, NULL, NULL, "%s: out of memory", path);
		return NULL;
	}
	ctx.c = c;
	c->path = cfg_strdup(&ctx, path);
	ctx.main_dir = cfg_dir_of(path);
	if (!ctx.main_dir) {
		fb_diag_add_at(diag, FB_SEV_ERROR, path, NULL, NULL, "%s: out of memory", path);
		fb_config_free(c);
		return NULL;
	}

	doc = load_json(&ctx, path);
	if (doc && !cJSON_IsObject(doc)) {
		fb_diag_add_at(diag, FB_SEV_ERROR, path, "", NULL,
			       "%s: expected a JSON object at the top level", path);
		cJSON_Delete(doc);
		doc = NULL;
	}
	if (doc)
		gw = cJSON_GetObjectItemCaseSensitive(doc, "gateway");
	/* The gateway section comes first: connections default their node_id
	 * from its id.  Drop-in files are read even if the main file is
	 * broken, so one run reports everything. */
	parse_gateway(&ctx, gw, path);
	if (doc) {
		parse_array(&ctx, doc, "buses", path, true);
		parse_array(&ctx, doc, "connections", path, false);
		cfg_parse_web(&ctx, cJSON_GetObjectItemCaseSensitive(doc, "web"), path);
		cfg_parse_mbservers(&ctx, cJSON_GetObjectItemCaseSensitive(doc, "modbus_servers"),
				    path);
		fb_json_unknown_keys(doc, top_keys, path, diag);
		cJSON_Delete(doc);
	}
	load_dropin_dir(&ctx, path, "buses.d", DROPIN_BUS);
	load_dropin_dir(&ctx, path, "connections.d", DROPIN_CONN);
	load_dropin_dir(&ctx, path, "modbus_servers.d", DROPIN_SERVER);
	cfg_mbservers_check(&ctx, path);
	if (diag->errors == errors_before && c->nbuses == 0)
		fb_diag_add_at(diag, FB_SEV_WARNING, path, "", "buses",
			       "%s: no buses configured (\"buses\" or buses.d/)", path);
	if (diag->errors == errors_before && c->nconns == 0)
		fb_diag_add_at(diag, FB_SEV_WARNING, path, "", "connections",
			       "%s: no export connections configured "
			       "(\"connections\" or connections.d/)", path);
	if (ctx.oom)
		fb_diag_add_at(diag, FB_SEV_ERROR, path, NULL, NULL,
			       "%s: out of memory while loading", path);

	for (size_t i = 0; i < ctx.nperm_warned; i++)
		free(ctx.perm_warned[i]);
	free(ctx.perm_warned);
	free(ctx.ids);
	free(ctx.main_dir);
	if (diag->errors != errors_before && !keep_on_error) {
		fb_config_free(c);
		return NULL;
	}
	return c;
}

void fb_config_free(struct fb_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nbuses; i++)
		cfg_bus_free_fields(&c->buses[i], NULL); /* devices borrow c->defs */
	for (size_t i = 0; i < c->ndefs; i++)
		c->def_free(c->defs[i]);
	free(c->defs);
	free(c->buses);
	for (size_t i = 0; i < c->nconns; i++)
		cfg_conn_free_fields(&c->conns[i]);
	free(c->conns);
	for (size_t i = 0; i < c->ndefinition_dirs; i++)
		free(c->definition_dirs[i]);
	free(c->definition_dirs);
	free(c->path);
	free(c->gateway_id);
	free(c->gateway_name);
	free(c->state_dir);
	free(c->runtime_dir);
	free(c->users_file);
	cfg_web_free(&c->web);
	cfg_mbservers_free(c);
	free(c);
}

struct fb_conn_conf *fb_config_conn(const struct fb_config *c, const char *name)
{
	for (size_t i = 0; i < c->nconns; i++)
		if (c->conns[i].name && !strcmp(c->conns[i].name, name))
			return &c->conns[i];
	return NULL;
}

void fb_config_table_name(const struct fb_config *c, const struct fb_bus_conf *bus,
			  char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.%s", c->runtime_dir, c->gateway_id, bus->name);
}
