/* SPDX-License-Identifier: Apache-2.0 */
/* Starting on a configuration with errors: the page is where they get
 * fixed, so refusing to start would strand the user.  The loader gives
 * nothing back for a config with an error, so the main file's "gateway"
 * and "web" sections alone (paths made absolute) are loaded from a
 * private temporary copy: the listener, the state dir and the users file
 * then work, with no buses. */
#include "web-internal.h"
#include "jsonfile.h"
#include "log.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void absolute(cJSON *obj, const char *key, const char *dir)
{
	cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	char *p;

	if (!cJSON_IsString(v) || v->valuestring[0] == '/' || !v->valuestring[0])
		return;
	if (asprintf(&p, "%s/%s", dir, v->valuestring) < 0)
		return;
	cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(p));
	free(p);
}

struct fb_config *web_fallback_config(const char *main_path, struct fb_diag *diag)
{
	char tmpdir[] = "/tmp/fieldbridge-web-XXXXXX", *path = NULL, *copy = NULL, *dir;
	cJSON *doc = fb_json_load_file(main_path, diag), *out = NULL, *gw, *web;
	struct fb_config *c = NULL;
	char *text = NULL;
	FILE *f;

	if (!cJSON_IsObject(doc) || !(copy = realpath(main_path, NULL)))
		goto out;
	dir = dirname(copy);
	out = cJSON_CreateObject();
	gw = cJSON_DetachItemFromObjectCaseSensitive(doc, "gateway");
	web = cJSON_DetachItemFromObjectCaseSensitive(doc, "web");
	if (cJSON_IsObject(gw)) {
		absolute(gw, "state_dir", dir);
		absolute(gw, "users_file", dir);
		cJSON_DeleteItemFromObjectCaseSensitive(gw, "definition_dirs");
		cJSON_AddItemToObject(out, "gateway", gw);
	} else {
		cJSON_Delete(gw);
	}
	if (cJSON_IsObject(web)) {
		absolute(web, "tls_cert", dir);
		absolute(web, "tls_key", dir);
		cJSON_AddItemToObject(out, "web", web);
	} else {
		cJSON_Delete(web);
	}
	text = cJSON_Print(out);
	if (!text || !mkdtemp(tmpdir) || asprintf(&path, "%s/fieldbridge.json", tmpdir) < 0)
		goto out;
	f = fopen(path, "w");
	if (f) {
		bool ok = fputs(text, f) >= 0;

		if (fclose(f) == 0 && ok)
			c = fb_config_load(path, diag);
		unlink(path);
	}
	rmdir(tmpdir);
out:
	free(text);
	free(path);
	free(copy);
	cJSON_Delete(out);
	cJSON_Delete(doc);
	return c;
}
