/* SPDX-License-Identifier: Apache-2.0 */
/* The daemons' log level: -q / --log-level / -v on the command line, and
 * the configuration's gateway.log_level when the command line gives none. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "testlib.h"

static int parse(struct fb_daemon_args *a, int argc, const char **argv)
{
	return fb_daemon_parse_args(argc, (char **)argv, "fieldbridge-test", "bus", a);
}

static void command_line_levels(void)
{
	struct fb_daemon_args a;
	const char *q[] = { "x", "-q", "--bus", "b", NULL };
	const char *dbg[] = { "x", "--log-level", "debug", "--bus", "b", NULL };
	const char *warn[] = { "x", "--log-level=warning", "--bus", "b", NULL };
	const char *bad[] = { "x", "--log-level", "loud", "--bus", "b", NULL };
	const char *v[] = { "x", "-v", "--bus", "b", NULL };

	CHECK_EQ_INT(parse(&a, 4, q), 0);
	CHECK_EQ_INT(a.log_level, FB_LOG_WARNING);
	CHECK_EQ_INT(fb_log_level_pick(a.log_level, a.verbose, FB_LOG_INFO), FB_LOG_WARNING);
	CHECK_EQ_INT(parse(&a, 5, dbg), 0);
	CHECK_EQ_INT(a.log_level, FB_LOG_DEBUG);
	CHECK_EQ_INT(parse(&a, 4, warn), 0);
	CHECK_EQ_INT(a.log_level, FB_LOG_WARNING);
	CHECK_EQ_INT(parse(&a, 5, bad), -1);
	CHECK_EQ_INT(parse(&a, 4, v), 0);
	CHECK_EQ_INT(a.log_level, 0);
	CHECK_EQ_INT(fb_log_level_pick(a.log_level, a.verbose, FB_LOG_INFO), FB_LOG_INFO);
	CHECK_EQ_INT(fb_log_level_pick(0, 2, FB_LOG_INFO), FB_LOG_DEBUG);
	CHECK_EQ_INT(fb_log_level_pick(0, 1, FB_LOG_WARNING), FB_LOG_INFO);
	CHECK_EQ_INT(fb_log_level_pick(0, 0, FB_LOG_NOTICE), FB_LOG_NOTICE);
	CHECK_EQ_INT(fb_log_level_parse("info"), FB_LOG_INFO);
	CHECK_EQ_INT(fb_log_level_parse("INFO"), -1);
	CHECK_EQ_INT(fb_log_level_parse(NULL), -1);
}

static struct fb_config *load(const char *text, struct fb_diag *d)
{
	char path[] = "/tmp/fb-test-log-level-XXXXXX";
	int fd = mkstemp(path);
	struct fb_config *c;

	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	fb_diag_init(d);
	c = fb_config_load(path, d);
	unlink(path);
	return c;
}

static void config_field(void)
{
	struct fb_diag d;
	struct fb_config *c = load("{ \"gateway\": { \"log_level\": \"warning\" } }", &d);
	size_t i;
	bool named = false;

	CHECK(c != NULL);
	CHECK_EQ_INT(c ? c->log_level : -1, FB_LOG_WARNING);
	fb_config_free(c);
	fb_diag_free(&d);

	c = load("{ \"gateway\": { } }", &d);
	CHECK_EQ_INT(c ? c->log_level : -1, 0);
	fb_config_free(c);
	fb_diag_free(&d);

	c = load("{ \"gateway\": { \"log_level\": \"verbose\" } }", &d);
	CHECK(d.errors > 0);
	for (i = 0; i < d.count; i++)
		if (strstr(d.entries[i].message, "log_level") &&
		    strstr(d.entries[i].message, "warning"))
			named = true;
	CHECK(named);
	fb_config_free(c);
	fb_diag_free(&d);
}

int main(void)
{
	RUN_TEST(command_line_levels);
	RUN_TEST(config_field);
	return fb_test_finish();
}
