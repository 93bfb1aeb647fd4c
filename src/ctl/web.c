/* SPDX-License-Identifier: Apache-2.0 */
/* `web setup-code`: prints the first-run code fieldbridge-web stored in
 * "<state_dir>/web/setup-code" (owner-only) while no admin exists. */
#include "ctl.h"
#include "config.h"
#include "jsonfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctl_web(const struct ctl *c)
{
	struct fb_diag d;
	struct fb_config *cfg;
	char *path = NULL, *text;
	int rc;

	if (!c->verb || strcmp(c->verb, "setup-code") || c->argc)
		return ctl_usage_error(c, "web: expected setup-code");
	fb_diag_init(&d);
	cfg = fb_config_load(c->config_path, &d);
	if (!cfg) {
		rc = ctl_fail(c, &d, CTL_INVALID);
		fb_diag_free(&d);
		return rc;
	}
	fb_diag_free(&d);
	fb_diag_init(&d);
	if (asprintf(&path, "%s/web/setup-code", cfg->state_dir) < 0) {
		fb_config_free(cfg);
		return CTL_FAILED;
	}
	text = fb_read_file(path, NULL);
	if (!text) {
		rc = errno == EACCES ? CTL_DENIED : CTL_NOT_FOUND;
		if (rc == CTL_DENIED)
			fb_diag_error(&d, "%s: permission denied (run as root or the "
				      "fieldbridge user)", path);
		else
			fb_diag_error(&d, "no setup code in %s: an administrator exists "
				      "already, or fieldbridge-web has not started yet", path);
		rc = ctl_fail(c, &d, rc);
	} else {
		text[strcspn(text, "\n")] = '\0';
		if (c->json) {
			cJSON *doc = ctl_doc_new(c);

			cJSON_AddStringToObject(doc, "setup_code", text);
			ctl_doc_print(doc);
		} else {
			printf("%s\n", text);
		}
		free(text);
		rc = CTL_OK;
	}
	fb_diag_free(&d);
	free(path);
	fb_config_free(cfg);
	return rc;
}
