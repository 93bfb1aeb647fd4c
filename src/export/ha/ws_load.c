/* SPDX-License-Identifier: Apache-2.0 */
/* Finds and loads the WebSocket plugin (ws_plugin.h) on first use: only
 * connection_mode websocket pays for libwebsockets and libuv. */
#include "transport.h"
#include "ws_plugin.h"
#include "fb_defaults.h"
#include "self_path.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where: $FB_WS_PLUGIN (tests), else the build tree's plugin beside this
 * executable's directory (src/export/ha -> src/export/ws), else the
 * installed one.  The build tree comes first so a build never loads an
 * older installed plugin. */
static void plugin_path(char *out, size_t len)
{
	const char *env = getenv("FB_WS_PLUGIN");

	if (env && *env)
		snprintf(out, len, "%s", env);
	else if (!fb_self_sibling("../ws/" FB_WS_PLUGIN_FILE, out, len))
		snprintf(out, len, "%s/%s", FB_DEFAULT_PLUGIN_DIR, FB_WS_PLUGIN_FILE);
}

const struct fb_ws_plugin *ex_ws_plugin_load(char *err, size_t errlen)
{
	static const struct fb_ws_plugin *loaded; /* never unloaded: lws keeps
						   * process-wide state */
	char path[PATH_MAX];
	fb_ws_plugin_entry_fn *entry;
	const struct fb_ws_plugin *p;
	void *h;

	if (loaded)
		return loaded;
	plugin_path(path, sizeof(path));
	/* RTLD_NOW: a missing libwebsockets is reported here, by name. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "connection_mode websocket needs the WebSocket plugin %s, "
			 "which cannot be loaded: %s", path, dlerror());
		return NULL;
	}
	*(void **)&entry = dlsym(h, FB_WS_PLUGIN_ENTRY);
	p = entry ? entry() : NULL;
	if (!p) {
		snprintf(err, errlen, "%s is not a fieldbridge WebSocket plugin (no %s)", path,
			 FB_WS_PLUGIN_ENTRY);
		dlclose(h);
		return NULL;
	}
	if (p->abi != FB_WS_PLUGIN_ABI || p->size < sizeof(*p)) {
		snprintf(err, errlen, "%s has plugin interface %u (size %u), fieldbridge-export "
			 "%s needs %u (size %zu): install the plugin of the same version",
			 path, (unsigned)p->abi, (unsigned)p->size, FB_VERSION,
			 (unsigned)FB_WS_PLUGIN_ABI, sizeof(*p));
		dlclose(h);
		return NULL;
	}
	loaded = p;
	return p;
}
