/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Set once by main() before the loop starts; read-only afterwards. */
static const char *log_tag = "fieldbridge";
static enum fb_log_level log_max = FB_LOG_INFO;

void fb_log_init(const char *tag, enum fb_log_level max_level)
{
	log_tag = tag;
	log_max = max_level;
}

static void log_emit(enum fb_log_level level, const char *suffix,
		     const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One fprintf per line keeps lines whole when processes share stderr. */
	fprintf(stderr, "<%d>%s: %s%s%s\n", (int)level, log_tag, msg,
		suffix ? ": " : "", suffix ? suffix : "");
}

void fb_log(enum fb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, NULL, fmt, ap);
	va_end(ap);
}

void fb_log_errno(enum fb_log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}
