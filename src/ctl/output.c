/* SPDX-License-Identifier: Apache-2.0 */
/* The two output forms: text for people, one versioned JSON document per
 * command for scripts. */
#include "ctl.h"

#include <stdarg.h>
#include <stdlib.h>

cJSON *ctl_doc_new(const struct ctl *c)
{
	cJSON *d = cJSON_CreateObject();
	char cmd[128];

	cJSON_AddNumberToObject(d, "fieldbridgectl", CTL_JSON_VERSION);
	snprintf(cmd, sizeof(cmd), "%s%s%s", c->object, c->verb ? " " : "", c->verb ? c->verb : "");
	cJSON_AddStringToObject(d, "command", cmd);
	return d;
}

void ctl_doc_print(cJSON *doc)
{
	char *s = cJSON_Print(doc);

	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(doc);
}

int ctl_fail(const struct ctl *c, const struct fb_diag *diag, int rc)
{
	return ctl_finish(c, diag, rc, NULL);
}

int ctl_finish(const struct ctl *c, const struct fb_diag *diag, int rc, cJSON *extra)
{
	cJSON *doc, *arr;

	if (!c->json) {
		fb_diag_print(diag, stderr);
		cJSON_Delete(extra);
		return rc;
	}
	doc = ctl_doc_new(c);
	cJSON_AddBoolToObject(doc, "ok", rc == 0);
	while (extra && extra->child) {
		cJSON *item = cJSON_DetachItemViaPointer(extra, extra->child);
		char *key = item->string;

		item->string = NULL; /* cJSON would free the key it copies from */
		cJSON_AddItemToObject(doc, key, item);
		free(key);
	}
	cJSON_Delete(extra);
	cJSON_AddNumberToObject(doc, "exit", rc);
	arr = cJSON_AddArrayToObject(doc, "diagnostics");
	for (size_t i = 0; i < diag->count; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "severity", diag->entries[i].severity ==
					FB_SEV_ERROR ? "error" : "warning");
		cJSON_AddStringToObject(e, "message", diag->entries[i].message);
		cJSON_AddItemToArray(arr, e);
	}
	ctl_doc_print(doc);
	return rc;
}

int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
{
	struct fb_diag d;
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fb_diag_init(&d);
	fb_diag_error(&d, "%s", buf);
	ctl_fail(c, &d, CTL_USAGE);
	fb_diag_free(&d);
	return CTL_USAGE;
}
