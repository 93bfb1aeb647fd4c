/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-export: one process per export connection ("Home Assistant
 * MQTT Client").  --test [--json] (conntest.c) is taken out of argv here;
 * the rest is the daemons' common parser. */
#include "config_tls.h"
#include "conntest.h"
#include "daemon.h"
#include "exporter.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct fb_daemon_args args;
	bool test = false, json = false;
	int n = 1, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--test"))
			test = true;
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	argc = n;
	rc = fb_daemon_parse_args(argc, argv, "fieldbridge-export", "connection", &args);
	if (rc != 0)
		return rc < 0 ? 2 : 0;
	if (json && !test) {
		fprintf(stderr, "fieldbridge-export: --json goes with --test\n");
		return 2;
	}
	if (test && (args.check || !args.instance)) {
		fprintf(stderr, "fieldbridge-export: --test needs --connection NAME (and no --check)\n");
		return 2;
	}
	if (args.check)
		return fb_daemon_check(&args, "connection",
				       &(const struct fb_config_checks){
					.users = true, .tls = fb_config_tls_check });
	if (test) {
		/* stdout carries the stages; problems the link logs go to stderr. */
		fb_log_init("fieldbridge-export",
			    fb_log_level_pick(args.log_level, args.verbose, FB_LOG_WARNING));
		return ex_conntest_run(&args, json);
	}
	fb_log_init("fieldbridge-export",
		    fb_log_level_pick(args.log_level, args.verbose, FB_LOG_INFO));
	return ex_run(&args);
}
