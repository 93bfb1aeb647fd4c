/* SPDX-License-Identifier: Apache-2.0 */
/* The WebSocket bridge as a plugin: fieldbridge-export loads
 * fieldbridge-ws.so with dlopen only when connection_mode is websocket, so
 * an exporter in socket mode maps neither libwebsockets nor libuv (their
 * RSS, issue #17).
 *
 * The interface is this one table of functions, versioned by abi: an
 * exporter refuses a plugin whose abi differs or whose table is shorter
 * than its own.  Only plain C types and this header's structs cross it
 * (no fieldbridge struct, no allocation freed on the other side), so the
 * plugin stays buildable against this header alone.  Add members at the
 * end (size grows); change a meaning, and abi goes up.
 *
 * Semantics of every call: the fb_ws_bridge_* of ws_bridge.h. */
#ifndef FB_WS_PLUGIN_H
#define FB_WS_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>

#define FB_WS_PLUGIN_FILE "fieldbridge-ws.so"
#define FB_WS_PLUGIN_ENTRY "fb_ws_plugin_v1"
#define FB_WS_PLUGIN_ABI 1u

/* The ssl setting, by value (not config.h's enum: its numbering is the
 * loader's business, this one is the plugin's ABI). */
enum fb_ws_plugin_ssl {
	FB_WS_PLUGIN_SSL_OFF = 0,
	FB_WS_PLUGIN_SSL_ON = 1,
	FB_WS_PLUGIN_SSL_TRUST_ALL = 2,
};

/* Everything the bridge needs of a connection.  All strings are borrowed
 * and must outlive the bridge; NULL where optional. */
struct fb_ws_plugin_conf {
	const char *broker;           /* host, DNS name or IP literal */
	int port;
	const char *ws_path;          /* NULL or "": "/mqtt" */
	int ssl;                      /* enum fb_ws_plugin_ssl */
	const char *ca_file;          /* NULL: the system store */
	const char *client_crt, *client_key, *client_key_password;
	bool hostname_verification;
	int timeout_s;                /* 0: wait forever */
	const char *runtime_dir;      /* NULL: $XDG_RUNTIME_DIR, else /tmp */
};

struct fb_ws_plugin {
	uint32_t abi;                 /* FB_WS_PLUGIN_ABI */
	uint32_t size;                /* sizeof(struct fb_ws_plugin) as built */
	const char *version;          /* fieldbridge version of the plugin */
	/* NULL with errno (EPROTO: TLS settings refused). */
	void *(*open)(const struct fb_ws_plugin_conf *conf);
	void (*close)(void *bridge); /* accepts NULL */
	const char *(*socket_path)(void *bridge);
	int (*fd)(void *bridge);
	/* fb_ws_bridge_service, then the next deadline (0: none). */
	int64_t (*service)(void *bridge, int64_t now_ms);
	const char *(*last_error)(void *bridge);
	long (*tls_verify_error)(void *bridge);
};

/* The plugin's one exported symbol, named FB_WS_PLUGIN_ENTRY. */
typedef const struct fb_ws_plugin *fb_ws_plugin_entry_fn(void);

#endif
