/* `config check`: the daemons' --check for everything.  A thin call into
 * the same code the daemons run (fb_daemon_check), with the exporter's
 * users check; the Modbus airtime budget lives in the driver today and
 * joins here once it moves into the shared configuration library. */
#include "ctl.h"
#include "daemon.h"
#include "users.h"

#include <string.h>

static void check_everything(struct fb_config *cfg, const char *instance,
			     struct fb_diag *diag)
{
	(void)instance;
	for (size_t i = 0; i < cfg->nconns; i++) {
		fb_users_free(fb_config_load_users(cfg, &cfg->conns[i], diag));
		if (!cfg->users_file)
			break; /* one warning is enough, as the exporter says it */
	}
}

int ctl_config(const struct ctl *c)
{
	struct fb_daemon_args args = { .config_path = c->config_path, .check = true };

	if (c->verb && !strcmp(c->verb, "check") && c->argc == 0) {
		if (c->json) {
			struct fb_diag d;
			struct fb_config *cfg;
			int rc;

			/* Same loading as fb_daemon_check, reported as JSON. */
			fb_diag_init(&d);
			cfg = fb_config_load(c->config_path, &d);
			if (cfg) {
				fb_config_load_definitions(cfg, NULL, &d);
				check_everything(cfg, NULL, &d);
			}
			fb_config_free(cfg);
			rc = d.errors ? CTL_INVALID : CTL_OK;
			ctl_fail(c, &d, rc);
			fb_diag_free(&d);
			return rc;
		}
		return fb_daemon_check(&args, "connection", check_everything) ? CTL_INVALID
									       : CTL_OK;
	}
	if (c->verb && !strcmp(c->verb, "schema") && c->argc == 0) {
		cJSON *doc = ctl_doc_new(c), *s = cJSON_AddObjectToObject(doc, "schema");

		for (int k = FB_EDIT_CONN; k <= FB_EDIT_USER; k++)
			cJSON_AddItemToObject(s, fb_edit_kind_name((enum fb_edit_kind)k),
					      fb_edit_schema((enum fb_edit_kind)k));
		ctl_doc_print(doc);
		return CTL_OK;
	}
	if (c->verb && (!strcmp(c->verb, "diff") || !strcmp(c->verb, "apply") ||
			!strcmp(c->verb, "snapshots") || !strcmp(c->verb, "rollback")))
		return ctl_config_apply(c);
	return ctl_usage_error(c, "config: expected check, schema, diff, apply, snapshots "
			       "or rollback");
}
