/* SPDX-License-Identifier: Apache-2.0 */
/* `config diff`: the slice each running daemon recorded against the slice
 * of the files now, field by field, and the plan that follows from it: a
 * bus driver restarts on any change; an exporter reloads (SIGHUP) when only
 * its user changed, else restarts. */
#include "config_edit-internal.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *fb_apply_action_name(enum fb_apply_action a)
{
	static const char *const n[] = { "none", "restart", "reload", "start", "stop" };

	return a <= FB_APPLY_STOP ? n[a] : "?";
}

static bool is_secret(const cJSON *v)
{
	return cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "secret");
}

static char *text_of(const cJSON *v, const cJSON *other)
{
	const cJSON *file = cJSON_GetObjectItemCaseSensitive(v, "file");
	char *s;

	if (!v)
		return NULL;
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsObject(v) && cJSON_IsString(file)) {
		const cJSON *of = cJSON_GetObjectItemCaseSensitive(other, "file");

		/* Same path, other bytes: say so, the path alone looks equal. */
		if (cJSON_IsString(of) && !strcmp(of->valuestring, file->valuestring) &&
		    asprintf(&s, "%s (content changed)", file->valuestring) >= 0)
			return s;
		return strdup(file->valuestring);
	}
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "on" : "off");
	return cJSON_PrintUnformatted(v);
}

static int field_add(struct fb_apply_daemon *d, const char *object, const char *field,
		     const cJSON *before, const cJSON *after)
{
	struct fb_apply_field *f = realloc(d->fields, (d->nfields + 1) * sizeof(*f));

	if (!f)
		return -1;
	d->fields = f;
	f = &d->fields[d->nfields++];
	memset(f, 0, sizeof(*f));
	f->object = strdup(object);
	f->field = field ? strdup(field) : NULL;
	if (!field) {
		f->before = before ? strdup("defined") : NULL;
		f->after = after ? strdup("defined") : NULL;
	} else if (is_secret(before) || is_secret(after)) {
		f->secret = true;
	} else {
		f->before = text_of(before, after);
		f->after = text_of(after, before);
		/* "PATH (content differs)" on both sides reads oddly: keep it
		 * on the new side only. */
		if (f->before && f->after && cJSON_IsObject(before)) {
			char *p = strstr(f->before, " (content");

			if (p)
				*p = '\0';
		}
	}
	return 0;
}

static void diff_object(struct fb_apply_daemon *d, const char *object, const cJSON *a,
			const cJSON *b)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, a) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(b, m->string);

		if (!o || !cJSON_Compare(m, o, true))
			field_add(d, object, m->string, m, o);
	}
	cJSON_ArrayForEach(m, b)
		if (!cJSON_GetObjectItemCaseSensitive(a, m->string))
			field_add(d, object, m->string, NULL, m);
}

static void diff_slices(struct fb_apply_daemon *d, const cJSON *was, const cJSON *now)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, was) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(now, m->string);

		if (!o)
			field_add(d, m->string, NULL, m, NULL);
		else
			diff_object(d, m->string, m, o);
	}
	cJSON_ArrayForEach(m, now)
		if (!cJSON_GetObjectItemCaseSensitive(was, m->string))
			field_add(d, m->string, NULL, NULL, m);
}

static bool only_users(const struct fb_apply_daemon *d)
{
	for (size_t i = 0; i < d->nfields; i++)
		if (strncmp(d->fields[i].object, "user ", 5))
			return false;
	return true;
}

/* `systemctl is-enabled --quiet UNIT`: 0 enabled, else not. */
static bool unit_enabled(const char *unit)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return true; /* unknown: do not start what may be off on purpose */
	if (pid == 0) {
		execlp("systemctl", "systemctl", "is-enabled", "--quiet", unit, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return true;
	return WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 127);
}

static struct fb_apply_daemon *daemon_add(struct fb_apply_plan *p, enum fb_edit_kind kind,
					  const char *name)
{
	struct fb_apply_daemon *d = realloc(p->d, (p->n + 1) * sizeof(*d));

	if (!d)
		return NULL;
	p->d = d;
	d = &p->d[p->n++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->name = strdup(name);
	return d;
}

static const struct ce_record *record_of(const struct ce_record *r, size_t n,
					 enum fb_edit_kind kind, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].alive && r[i].kind == kind && !strcmp(r[i].name, name))
			return &r[i];
	return NULL;
}

static void plan_one(struct fb_apply_plan *p, const struct fb_edit *e,
		     const struct fb_config *cfg, const struct ce_record *r,
		     enum fb_edit_kind kind, const char *name)
{
	struct fb_apply_daemon *d = daemon_add(p, kind, name);
	const struct fb_bus_conf *b = kind == FB_EDIT_BUS ? fb_config_bus(cfg, name) : NULL;
	cJSON *now;

	if (!d)
		return;
	d->unit = r ? strdup(r->unit)
		    : ce_loaded_unit(kind, name, b && b->transport == FB_BUS_GPIO);
	if (!r) {
		if (p->systemd && !unit_enabled(d->unit)) {
			d->action = FB_APPLY_START;
			d->reason = "new: its unit is not enabled";
		} else {
			d->reason = "not running: loads the files when it starts";
		}
		return;
	}
	d->running = true;
	d->systemd = r->systemd;
	d->pid = r->pid;
	d->since = r->since;
	now = ce_slice_build(e, cfg, kind, name, r->salt);
	if (!now) {
		d->action = FB_APPLY_STOP;
		d->reason = "removed from the files";
		return;
	}
	diff_slices(d, r->slice, now);
	cJSON_Delete(now);
	if (!d->nfields) {
		d->reason = "up to date";
	} else if (kind == FB_EDIT_CONN && only_users(d)) {
		d->action = FB_APPLY_RELOAD;
		d->reason = "its user in the users file changed";
	} else {
		d->action = FB_APPLY_RESTART;
		d->reason = kind == FB_EDIT_BUS ? "its bus, devices or definitions changed"
			    : kind == FB_EDIT_SERVER ? "its server, user, buses or devices changed"
			    : "its connection, or the devices it exports, changed";
	}
}

enum fb_edit_rc fb_apply_plan_make(const char *main_path, struct fb_apply_plan **out,
				   struct fb_diag *diag)
{
	struct fb_diag sub;
	struct fb_edit *e;
	struct fb_config *cfg;
	struct fb_apply_plan *p;
	struct ce_record *rec = NULL;
	size_t nrec = 0;

	*out = NULL;
	fb_diag_init(&sub);
	cfg = fb_config_load(main_path, &sub);
	if (!cfg) {
		fb_diag_move(diag, &sub);
		fb_diag_error(diag, "%s: the configuration does not validate: no daemon would "
			      "start on it (see `fieldbridgectl config check`)", main_path);
		return FB_EDIT_INVALID;
	}
	fb_config_load_definitions(cfg, NULL, &sub);
	fb_diag_free(&sub);
	fb_diag_init(&sub);
	e = fb_edit_open(main_path, &sub);
	fb_diag_free(&sub);
	p = calloc(1, sizeof(*p));
	if (!e || !p) {
		fb_edit_close(e);
		fb_config_free(cfg);
		free(p);
		return FB_EDIT_FAILED;
	}
	/* FB_SYSTEMD_RUN_DIR: tests only (systemd's marker directory elsewhere,
	 * with a stand-in systemctl in PATH). */
	p->systemd = access(getenv("FB_SYSTEMD_RUN_DIR") ? getenv("FB_SYSTEMD_RUN_DIR")
			    : "/run/systemd/system", F_OK) == 0;
	p->state_dir = strdup(cfg->state_dir);
	ce_loaded_read(cfg->state_dir, &rec, &nrec, diag);
	/* Drivers first, then servers and exporters (which follow their tables). */
	for (int j = 0; j < 3; j++) {
		static const enum fb_edit_kind order[] = { FB_EDIT_BUS, FB_EDIT_SERVER,
							   FB_EDIT_CONN };
		enum fb_edit_kind kind = order[j];

		for (size_t i = 0, n = fb_edit_count(e, kind); i < n; i++) {
			const struct fb_edit_obj *o = fb_edit_get(e, kind, i);

			plan_one(p, e, cfg, record_of(rec, nrec, kind, o->name), kind, o->name);
		}
		for (size_t i = 0; i < nrec; i++)
			if (rec[i].alive && rec[i].kind == kind &&
			    !fb_edit_find(e, kind, NULL, rec[i].name))
				plan_one(p, e, cfg, &rec[i], kind, rec[i].name);
	}
	ce_loaded_free(rec, nrec);
	fb_edit_close(e);
	fb_config_free(cfg);
	*out = p;
	return FB_EDIT_OK;
}

void fb_apply_plan_free(struct fb_apply_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct fb_apply_daemon *d = &p->d[i];

		for (size_t k = 0; k < d->nfields; k++) {
			free(d->fields[k].object);
			free(d->fields[k].field);
			free(d->fields[k].before);
			free(d->fields[k].after);
		}
		free(d->fields);
		free(d->name);
		free(d->unit);
		free(d->result);
	}
	free(p->d);
	free(p->state_dir);
	free(p);
}

static bool same_field(const struct fb_apply_field *a, const struct fb_apply_field *b)
{
	return !strcmp(a->object, b->object) &&
	       ((!a->field && !b->field) || (a->field && b->field && !strcmp(a->field, b->field)));
}

size_t fb_apply_pending(const struct fb_apply_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++) {
		for (size_t k = 0; k < p->d[i].nfields; k++) {
			bool seen = false;

			for (size_t j = 0; j <= i && !seen; j++)
				for (size_t l = 0; l < (j == i ? k : p->d[j].nfields) && !seen; l++)
					seen = same_field(&p->d[j].fields[l], &p->d[i].fields[k]);
			n += !seen;
		}
		n += p->d[i].action == FB_APPLY_START || p->d[i].action == FB_APPLY_STOP;
	}
	return n;
}
