/* SPDX-License-Identifier: Apache-2.0 */
/* The web daemon's own listener: started with its TLS certificate, and
 * switched when an apply changes web.listen, port or tls.  A switch that
 * is not confirmed from the new address (POST apply/{id}/confirm reaches
 * only the new listener: the old one is closed) within confirm_timeout_s
 * rolls back the whole apply: the main file as the running listener
 * loaded it is written back, the old listener reopened, and the snapshot
 * from before the apply (the drop-ins, users, secrets, certificates) is
 * restored and applied again, so the daemons the apply restarted run the
 * old configuration too.  LuCI's rule, and its 90 s
 * (../shared/research/web-cli-packaging.md §1.5).
 * api_apply.c only sets w->listen_* ; the loop calls web_listener_tick. */
#include "web-internal.h"
#include "config_edit.h"
#include "jsonfile.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *read_pem(const char *path)
{
	char *text = fb_read_file(path, NULL);

	if (!text)
		fb_log_errno(FB_LOG_ERR, "web: cannot read %s", path);
	return text;
}

/* The certificate and key (PEM text, caller frees) for cfg's listener. */
static int tls_setup(struct web *w, const struct fb_config *cfg, char **cert, char **key)
{
	char *cp = NULL, *kp = NULL;

	*cert = *key = NULL;
	if (cfg->web.tls == FB_WEB_TLS_OFF)
		return 0;
	if (cfg->web.tls_cert) {
		cp = strdup(cfg->web.tls_cert);
		kp = strdup(cfg->web.tls_key);
	} else {
		if (mkdir(cfg->state_dir, 0750) < 0 && errno != EEXIST) {
			fb_log_errno(FB_LOG_ERR, "web: cannot create %s", cfg->state_dir);
			return -1;
		}
		if (web_tls_self_signed(cfg->state_dir, &cp, &kp) < 0)
			return -1;
	}
	*cert = cp ? read_pem(cp) : NULL;
	*key = kp ? read_pem(kp) : NULL;
	free(cp);
	free(kp);
	if (!*cert || !*key) {
		free(*cert);
		free(*key);
		*cert = *key = NULL;
		return -1;
	}
	if (web_tls_fingerprint(*cert, w->fingerprint, sizeof(w->fingerprint)) == 0)
		fb_log(FB_LOG_NOTICE, "web: TLS certificate SHA-256 fingerprint %s",
		       w->fingerprint);
	return 0;
}

int web_listener_start(struct web *w, const struct fb_config *cfg)
{
	char *cert = NULL, *key = NULL;
	int rc = -1;

	if (tls_setup(w, cfg, &cert, &key) == 0 &&
	    web_server_start(w, &cfg->web, cert, key) == 0) {
		w->tls = cert != NULL;
		w->listen = &cfg->web;
		rc = 0;
	}
	if (key)
		explicit_bzero(key, strlen(key));
	free(key);
	free(cert);
	return rc;
}

/* Closes the running listener (its streams and waiting commands are
 * answered first) and opens cfg's. */
static int reopen(struct web *w, const struct fb_config *cfg)
{
	web_server_shutdown(w);
	web_server_stop(w);
	return web_listener_start(w, cfg);
}

static const struct fb_config *running_cfg(const struct web *w)
{
	return w->listen_cfg ? w->listen_cfg : w->cfg;
}

void web_listener_init(struct web *w, int confirm_timeout_s)
{
	w->confirm_timeout_s = confirm_timeout_s;
	web_apply_main_reload(w);
}

static void reapplied(struct web_child *c)
{
	struct web *w = c->ctx;
	unsigned status;
	cJSON *doc = web_apply_result(c, &status);
	const cJSON *applied = cJSON_GetObjectItemCaseSensitive(doc, "applied");

	if (status == 200 && cJSON_IsTrue(applied))
		fb_log(FB_LOG_NOTICE, "web: rollback of apply %s: the configuration from before it "
		       "is applied again", w->apply.id);
	else
		fb_err("web: rollback of apply %s: applying the configuration from before it %s "
		       "(see above; `fieldbridgectl config diff` shows what runs)", w->apply.id,
		       status == 200 ? "was partly done" : "failed");
	cJSON_Delete(doc);
	web_apply_job_end(w);
}

/* The rest of the configuration goes back too: the snapshot from before
 * the apply, applied again (by the root service with --apply-request). */
static void reapply(struct web *w)
{
	struct web_apply_job *j = &w->apply;

	if (!w->listen_before)
		fb_warn("web: rollback of apply %s: there is no snapshot from before it, so only "
			"the main file goes back; drop-ins it changed stay", w->listen_id);
	if (w->apply_request) {
		struct fb_apply_request r = { .action = w->listen_before ? FB_REQUEST_ROLLBACK
					      : FB_REQUEST_APPLY, .snapshot = w->listen_before };

		snprintf(r.user, sizeof(r.user), "%.63s", w->listen_user);
		if (web_apply_request(w, &r, "the listener rollback") == 0)
			w->apply_requested_mono = fb_mono_ms();
		return;
	}
	memset(j, 0, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", w->listen_id);
	snprintf(j->user, sizeof(j->user), "%s", w->listen_user);
	snprintf(j->by, sizeof(j->by), "the rollback of %.120s", w->listen_by);
	j->restore = w->listen_before;
	if (web_apply_start(w, reapplied) != 0) {
		fb_err("web: rollback of apply %s: cannot apply the configuration from before it",
		       w->listen_id);
		web_apply_job_end(w);
	}
}

static void rollback(struct web *w, const char *why)
{
	struct fb_diag d;
	struct fb_edit *e;
	enum fb_edit_rc rc = FB_EDIT_FAILED;

	fb_diag_init(&d);
	e = w->main_text ? fb_edit_open(w->config_path, &d) : NULL;
	if (e)
		rc = fb_edit_restore_main(e, w->main_text, w->main_len, &d);
	fb_edit_close(e);
	if (rc != FB_EDIT_OK) {
		fb_diag_log(&d);
		fb_err("web: %s: could not write back %s; the listener goes back all the same",
		       why, w->config_path);
	}
	fb_diag_free(&d);
	if (reopen(w, running_cfg(w)) < 0)
		fb_err("web: the previous listener does not open again either");
	else
		fb_warn("web: listener change by %s %s: rolled back to port %d", w->listen_by, why,
			w->listen->port);
	reapply(w);
	fb_config_free(w->listen_next);
	w->listen_next = NULL;
	w->listen_state = WEB_LISTEN_IDLE;
}

void web_listener_tick(struct web *w, int64_t now, int64_t *next)
{
	switch (w->listen_state) {
	case WEB_LISTEN_IDLE:
		return;
	case WEB_LISTEN_SWITCH:
		if (now < w->listen_at_ms)
			break;
		if (reopen(w, w->listen_next) < 0) {
			rollback(w, "failed (the new listener does not open)");
			return;
		}
		w->listen_state = WEB_LISTEN_PENDING;
		w->listen_confirmed = false;
		w->listen_at_ms = now + (int64_t)w->confirm_timeout_s * 1000;
		fb_log(FB_LOG_NOTICE, "web: listener changed by %s: now port %d; confirm from the "
		       "new address within %d s or it rolls back", w->listen_by, w->listen->port,
		       w->confirm_timeout_s);
		break;
	case WEB_LISTEN_PENDING:
		if (w->listen_confirmed) {
			fb_config_free(w->listen_cfg);
			w->listen_cfg = w->listen_next;
			w->listen_next = NULL;
			w->listen_state = WEB_LISTEN_IDLE;
			web_apply_main_reload(w);
			fb_log(FB_LOG_NOTICE, "web: listener change by %s confirmed", w->listen_by);
			return;
		}
		if (now >= w->listen_at_ms) {
			rollback(w, "not confirmed in time");
			return;
		}
		break;
	}
	*next = fb_deadline_min(*next, w->listen_at_ms);
}

void web_listener_free(struct web *w)
{
	fb_config_free(w->listen_next);
	fb_config_free(w->listen_cfg);
	free(w->main_text);
}
