/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the apply request file as root's fieldbridgectl config
 * apply --request reads it (written by user fieldbridge, so untrusted):
 * fb_apply_request_parse must accept only an action and a snapshot id in
 * range, and never crash or leak on anything else. */
#include "fuzz_util.h"
#include "config_edit.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT 4096 /* the reader's own limit */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_apply_request r;
	struct fb_diag d;
	char *text;

	if (size > FUZZ_MAX_INPUT || !(text = fuzz_strndup(data, size)))
		return 0;
	fb_diag_init(&d);
	if (fb_apply_request_parse(text, &r, &d) == FB_EDIT_OK) {
		/* What root acts on: one of three actions, an id for two of them. */
		if (r.action > FB_REQUEST_ROLLBACK ||
		    (r.action == FB_REQUEST_APPLY) != (r.snapshot == 0) ||
		    strlen(r.user) >= sizeof(r.user) || d.errors)
			abort();
	}
	fb_diag_free(&d);
	free(text);
	return 0;
}
