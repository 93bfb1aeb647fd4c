/* SPDX-License-Identifier: Apache-2.0 */
/* GET schema: the JSON Schema of every object's fields, generated from the
 * same C field tables fieldbridgectl uses (`config schema`). */
#include "web-internal.h"
#include "config_edit.h"

#include <microhttpd.h>

int web_api_schema(struct web_req *q)
{
	cJSON *doc = cJSON_CreateObject();

	for (int k = FB_EDIT_CONN; k <= FB_EDIT_SERVER; k++)
		cJSON_AddItemToObject(doc, fb_edit_kind_name((enum fb_edit_kind)k),
				      fb_edit_schema((enum fb_edit_kind)k));
	return web_http_json(q, MHD_HTTP_OK, doc);
}
