/* SPDX-License-Identifier: Apache-2.0 */
/* `config check`: the daemons' --check for everything, through the same
 * library call (fb_config_check) with every daemon's checks. */
#include "config_tls.h"
#include "ctl.h"
#include "daemon.h"

#include <string.h>

static const struct fb_config_checks every_check = {
	.airtime = true, .users = true, .tls = fb_config_tls_check,
};

int ctl_config(const struct ctl *c)
{
	struct fb_daemon_args args = { .config_path = c->config_path, .check = true };

	if (c->verb && !strcmp(c->verb, "check") && c->argc == 0) {
		if (c->json) {
			struct fb_diag d;
			int rc;

			/* Same loading as fb_daemon_check, reported as JSON. */
			fb_diag_init(&d);
			fb_config_check(c->config_path, NULL, NULL, &every_check, &d);
			rc = d.errors ? CTL_INVALID : CTL_OK;
			ctl_fail(c, &d, rc);
			fb_diag_free(&d);
			return rc;
		}
		return fb_daemon_check(&args, NULL, &every_check) ? CTL_INVALID : CTL_OK;
	}
	if (c->verb && !strcmp(c->verb, "schema") && c->argc == 0) {
		cJSON *doc = ctl_doc_new(c);

		cJSON_AddItemToObject(doc, "schema", fb_edit_schema_all());
		ctl_doc_print(doc);
		return CTL_OK;
	}
	if (c->verb && (!strcmp(c->verb, "diff") || !strcmp(c->verb, "apply") ||
			!strcmp(c->verb, "snapshots") || !strcmp(c->verb, "rollback")))
		return ctl_config_apply(c);
	return ctl_usage_error(c, "config: expected check, schema, diff, apply, snapshots "
			       "or rollback");
}
