/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr with sd-daemon "<N>" priority prefixes, so journald
 * keeps the severity without us linking libsystemd; on a terminal, plain
 * lines with a timestamp instead.  Control characters in a message (from
 * the network or a file) are escaped, so no line can be forged.
 * Levels: err = a human must act, warning = degraded, info = a state change,
 * debug = per transaction.  Never pass secrets to these functions. */
#ifndef FB_LOG_H
#define FB_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum fb_log_level {
	FB_LOG_ERR = 3,
	FB_LOG_WARNING = 4,
	FB_LOG_NOTICE = 5,
	FB_LOG_INFO = 6,
	FB_LOG_DEBUG = 7,
};

/* Called once by a daemon's main(); tag is borrowed for the process lifetime. */
void fb_log_init(const char *tag, enum fb_log_level max_level);

/* The level a daemon starts with: `word` ("warning", "info" or "debug";
 * -q is "warning") if given, else -v (once: info, twice: debug) raised
 * from `dflt`, else `dflt`.  fb_log_level_parse: the level of a word, or -1. */
int fb_log_level_parse(const char *word);
enum fb_log_level fb_log_level_pick(int given, int verbose, enum fb_log_level dflt);
/* Changes the level after fb_log_init (the configuration's log_level,
 * once it is loaded). */
void fb_log_set_level(enum fb_log_level max_level);

void fb_log(enum fb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Like fb_log, appends ": strerror(errno)" and preserves errno. */
void fb_log_errno(enum fb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copies `in` to out (len bytes, NUL-terminated) with control characters
 * written as \n, \r, \t or \xNN, cut at a whole character; returns the
 * length written. */
size_t fb_log_escape(const char *in, char *out, size_t len);

#define fb_err(...) fb_log(FB_LOG_ERR, __VA_ARGS__)
#define fb_warn(...) fb_log(FB_LOG_WARNING, __VA_ARGS__)
#define fb_info(...) fb_log(FB_LOG_INFO, __VA_ARGS__)
#define fb_debug(...) fb_log(FB_LOG_DEBUG, __VA_ARGS__)

#endif
