/* SPDX-License-Identifier: Apache-2.0 */
/* Records of what each running daemon loaded:
 * "<state_dir>/loaded/<bus|connection>-<name>.json", written by the daemon
 * at start (mode 0600: the slice holds only digests of secrets, but which
 * user may read what is nobody else's business), read by `config diff`.
 * The pid and its kernel start time tell a live writer from a stale file
 * or a recycled pid. */
#include "config_edit-internal.h"
#include "config.h"
#include "jsonfile.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
static long long proc_starttime(int pid)
{
	char path[64], buf[1024], *p;
	long long v = -1;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return -1;
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoll(p + 1, NULL, 10);
	return v;
}

/* The real uid of pid and whether its command name is a fieldbridge one. */
static bool proc_is_ours(int pid, uid_t owner)
{
	char path[64], line[256];
	bool uid_ok = false, comm_ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long uid;

		if (!strncmp(line, "Name:\tfieldbridge-", 18))
			comm_ok = true;
		if (sscanf(line, "Uid: %lu", &uid) == 1)
			uid_ok = uid == (unsigned long)owner;
	}
	fclose(f);
	return uid_ok && comm_ok;
}

bool ce_loaded_alive(int pid, long long starttime_ticks, uid_t owner)
{
	/* The record is written by the daemons' account and read by root,
	 * who may signal the pid: it must be a fieldbridge process of the
	 * account that wrote the record, started when the record says. */
	return pid > 0 && proc_starttime(pid) == starttime_ticks && proc_is_ours(pid, owner);
}

char *ce_loaded_unit(enum fb_edit_kind kind, const char *name, bool gpio)
{
	char *s;

	if (asprintf(&s, "fieldbridge-%s@%s.service", kind == FB_EDIT_CONN ? "export"
						     : kind == FB_EDIT_SERVER ? "mbserver"
						     : gpio ? "gpio" : "modbus", name) < 0)
		return NULL;
	return s;
}

static char *record_path(const char *state_dir, enum fb_edit_kind kind, const char *name)
{
	char *s;

	if (asprintf(&s, "%s/loaded/%s-%s.json", state_dir, fb_edit_kind_name(kind), name) < 0)
		return NULL;
	return s;
}

static int write_record(const char *path, const cJSON *doc)
{
	char *text = cJSON_Print(doc), *dir = NULL, *slash;
	int rc = -1;

	if (!text)
		return -1;
	dir = strdup(path);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash) {
		*slash = '\0';
		slash = strrchr(dir, '/');
		/* The state dir itself, as the drivers create it when systemd
		 * (StateDirectory=) did not. */
		if (slash) {
			*slash = '\0';
			mkdir(dir, 0755);
			*slash = '/';
		}
		if (mkdir(dir, 0700) == 0 || errno == EEXIST)
			rc = ce_file_write_volatile(path, text, strlen(text), 0600);
	}
	free(dir);
	free(text);
	return rc;
}

int fb_edit_record_loaded(const struct fb_config *cfg, enum fb_edit_kind kind,
			  const char *name)
{
	struct fb_diag diag;
	struct fb_edit *e;
	unsigned char rnd[16];
	char salt[33], *path = NULL, *unit = NULL;
	const struct fb_bus_conf *b = kind == FB_EDIT_BUS ? fb_config_bus(cfg, name) : NULL;
	cJSON *doc = NULL, *slice = NULL;
	int rc = -1;

	fb_diag_init(&diag);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		goto out;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(salt + 2 * i, 3, "%02x", rnd[i]);
	e = fb_edit_open(cfg->path, &diag);
	if (e)
		slice = ce_slice_build(e, cfg, kind, name, salt);
	fb_edit_close(e);
	path = record_path(cfg->state_dir, kind, name);
	unit = ce_loaded_unit(kind, name, b && b->transport == FB_BUS_GPIO);
	if (!slice || !path || !unit) {
		errno = slice ? ENOMEM : ENOENT;
		goto out;
	}
	doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "fieldbridge_loaded", 1);
	cJSON_AddStringToObject(doc, "kind", fb_edit_kind_name(kind));
	cJSON_AddStringToObject(doc, "name", name);
	cJSON_AddStringToObject(doc, "unit", unit);
	cJSON_AddNumberToObject(doc, "pid", (double)getpid());
	cJSON_AddNumberToObject(doc, "starttime_ticks", (double)proc_starttime(getpid()));
	cJSON_AddNumberToObject(doc, "time", (double)time(NULL));
	/* systemd sets INVOCATION_ID for the processes of a unit. */
	cJSON_AddBoolToObject(doc, "systemd", getenv("INVOCATION_ID") != NULL);
	cJSON_AddStringToObject(doc, "config", cfg->path);
	cJSON_AddStringToObject(doc, "salt", salt);
	cJSON_AddItemToObject(doc, "slice", slice);
	slice = NULL;
	rc = write_record(path, doc);
out:
	if (rc < 0)
		fb_log_errno(FB_LOG_WARNING, "%s %s: cannot record what was loaded in %s "
			     "(config diff will not see this daemon)",
			     fb_edit_kind_name(kind), name,
			     path ? path : cfg->state_dir);
	cJSON_Delete(slice);
	cJSON_Delete(doc);
	free(path);
	free(unit);
	fb_diag_free(&diag);
	return rc;
}

int fb_edit_record_reloaded_users(const struct fb_config *cfg, const char *conn)
{
	struct fb_diag diag;
	char *path = record_path(cfg->state_dir, FB_EDIT_CONN, conn);
	cJSON *doc = NULL, *slice, *now = NULL, *m, *next;
	const cJSON *salt;
	struct fb_edit *e = NULL;
	int rc = -1;

	fb_diag_init(&diag);
	doc = path ? fb_json_load_file(path, &diag) : NULL;
	slice = cJSON_GetObjectItemCaseSensitive(doc, "slice");
	salt = cJSON_GetObjectItemCaseSensitive(doc, "salt");
	if (!cJSON_IsObject(slice) || !cJSON_IsString(salt))
		goto out;
	e = fb_edit_open(cfg->path, &diag);
	now = e ? ce_slice_build(e, cfg, FB_EDIT_CONN, conn, salt->valuestring) : NULL;
	if (!now)
		goto out;
	for (m = slice->child; m; m = next) {
		next = m->next;
		if (!strncmp(m->string, "user ", 5))
			cJSON_DeleteItemFromObjectCaseSensitive(slice, m->string);
	}
	for (m = now->child; m; m = next) {
		next = m->next;
		if (!strncmp(m->string, "user ", 5))
			cJSON_AddItemToObject(slice, m->string,
					      cJSON_DetachItemViaPointer(now, m));
	}
	rc = write_record(path, doc);
out:
	if (rc < 0)
		fb_log_errno(FB_LOG_WARNING, "connection %s: cannot record the reloaded users "
			     "file in %s", conn, path ? path : cfg->state_dir);
	fb_edit_close(e);
	cJSON_Delete(now);
	cJSON_Delete(doc);
	free(path);
	fb_diag_free(&diag);
	return rc;
}

void ce_loaded_free(struct ce_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].name);
		free(r[i].unit);
		free(r[i].salt);
		cJSON_Delete(r[i].doc);
	}
	free(r);
}

static int record_parse(struct ce_record *r, cJSON *doc, uid_t owner)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
	const cJSON *unit = cJSON_GetObjectItemCaseSensitive(doc, "unit");
	const cJSON *salt = cJSON_GetObjectItemCaseSensitive(doc, "salt");
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(doc, "pid");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "starttime_ticks");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "time");
	cJSON *slice = cJSON_GetObjectItemCaseSensitive(doc, "slice");

	if (!cJSON_IsString(kind) || !cJSON_IsString(name) || !cJSON_IsString(unit) ||
	    !cJSON_IsString(salt) || !cJSON_IsNumber(pid) || !cJSON_IsNumber(st) ||
	    !cJSON_IsObject(slice))
		return -1;
	r->kind = !strcmp(kind->valuestring, "connection") ? FB_EDIT_CONN
		  : !strcmp(kind->valuestring, "server") ? FB_EDIT_SERVER : FB_EDIT_BUS;
	r->name = strdup(name->valuestring);
	r->unit = strdup(unit->valuestring);
	r->salt = strdup(salt->valuestring);
	r->pid = pid->valueint;
	r->since = cJSON_IsNumber(t) ? (long long)t->valuedouble : 0;
	r->systemd = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "systemd"));
	r->alive = ce_loaded_alive(r->pid, (long long)st->valuedouble, owner);
	r->doc = doc;
	r->slice = slice;
	return r->name && r->unit && r->salt ? 0 : -1;
}

int ce_loaded_read(const char *state_dir, struct ce_record **out, size_t *n,
		   struct fb_diag *diag)
{
	char *dir = ce_file_join(state_dir, "loaded");
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	struct ce_record *v = NULL;

	*out = NULL;
	*n = 0;
	if (!d) {
		if (dir && errno != ENOENT)
			fb_diag_warn(diag, "%s: %s: what the running daemons loaded is unknown",
				     dir, strerror(errno));
		free(dir);
		return 0;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct fb_diag sub;
		char *path;
		cJSON *doc;
		struct ce_record *nv;
		struct stat st;

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		path = ce_file_join(dir, de->d_name);
		if (!path)
			continue;
		if (access(path, R_OK) != 0 || stat(path, &st) < 0) {
			fb_diag_warn(diag, "%s: %s: what this daemon loaded is unknown", path,
				     strerror(errno));
			free(path);
			continue;
		}
		fb_diag_init(&sub);
		doc = fb_json_load_file(path, &sub);
		fb_diag_free(&sub);
		nv = doc ? realloc(v, (*n + 1) * sizeof(*v)) : NULL;
		if (nv) {
			v = nv;
			memset(&v[*n], 0, sizeof(v[*n]));
			if (record_parse(&v[*n], doc, st.st_uid) == 0) {
				(*n)++;
				doc = NULL;
			} else {
				free(v[*n].name);
				free(v[*n].unit);
				free(v[*n].salt);
				fb_diag_warn(diag, "%s: not a record of what a daemon loaded", path);
			}
		}
		cJSON_Delete(doc);
		free(path);
	}
	closedir(d);
	free(dir);
	*out = v;
	return 0;
}
