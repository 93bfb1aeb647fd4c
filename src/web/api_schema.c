/* SPDX-License-Identifier: Apache-2.0 */
/* GET schema: the JSON Schema of every object's fields, generated from the
 * same C field tables fieldbridgectl uses (`config schema`). */
#include "web-internal.h"
#include "config_edit.h"

#include <microhttpd.h>

int web_api_schema(struct web_req *q)
{
	return web_http_json(q, MHD_HTTP_OK, fb_edit_schema_all());
}
