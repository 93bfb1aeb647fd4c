/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Set by main() before the loop starts (and once more by the
 * configuration's log_level); read-only afterwards. */
static const char *log_tag = "fieldbridge";
static enum fb_log_level log_max = FB_LOG_INFO;
static bool log_plain; /* a terminal: timestamps and words instead of <N> */

/* journald sets JOURNAL_STREAM="<dev>:<ino>" of the stream it reads; a
 * service's stderr is never a terminal, so <N> prefixes are the default
 * and a terminal gets plain lines. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void fb_log_init(const char *tag, enum fb_log_level max_level)
{
	log_tag = tag;
	log_max = max_level;
	log_plain = !stderr_is_journal() && isatty(STDERR_FILENO);
}

void fb_log_set_level(enum fb_log_level max_level)
{
	log_max = max_level;
}

int fb_log_level_parse(const char *word)
{
	static const struct { const char *word; enum fb_log_level level; } words[] = {
		{ "warning", FB_LOG_WARNING }, { "info", FB_LOG_INFO }, { "debug", FB_LOG_DEBUG },
	};

	for (size_t i = 0; word && i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(word, words[i].word))
			return (int)words[i].level;
	return -1;
}

enum fb_log_level fb_log_level_pick(int given, int verbose, enum fb_log_level dflt)
{
	if (given > 0)
		return (enum fb_log_level)given;
	if (verbose > 1)
		return FB_LOG_DEBUG;
	if (verbose)
		return dflt > FB_LOG_INFO ? dflt : FB_LOG_INFO;
	return dflt;
}

size_t fb_log_escape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char esc[5];
		size_t n;

		if (*p >= 0x20 && *p != 0x7f) {
			esc[0] = (char)*p;
			n = 1;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
			n = 2;
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			n = 4;
		}
		if (o + n >= len)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

static const char *level_word(enum fb_log_level level)
{
	switch (level) {
	case FB_LOG_ERR:
		return "error: ";
	case FB_LOG_WARNING:
		return "warning: ";
	case FB_LOG_NOTICE:
		return "notice: ";
	case FB_LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

static void log_emit(enum fb_log_level level, const char *suffix,
		     const char *fmt, va_list ap)
{
	char msg[1024], line[4 * sizeof(msg) + 64];
	size_t n;

	if (level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Messages carry names and payloads from the network and from files:
	 * a control character (a newline above all) must never start a forged
	 * line with its own priority, so the whole line is escaped here. */
	n = fb_log_escape(msg, line, sizeof(line));
	if (suffix)
		snprintf(line + n, sizeof(line) - n, ": %s", suffix);
	/* One fprintf per line keeps lines whole when processes share stderr. */
	if (log_plain) {
		struct timeval tv;
		struct tm tm;
		char ts[32];

		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s: %s%s\n", ts, (long)(tv.tv_usec / 1000), log_tag,
			level_word(level), line);
	} else {
		fprintf(stderr, "<%d>%s: %s\n", (int)level, log_tag, line);
	}
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
