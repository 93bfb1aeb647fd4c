/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-export: one process per export connection ("Home Assistant
 * MQTT Client"). */
#include "daemon.h"
#include "exporter.h"
#include "log.h"

int main(int argc, char **argv)
{
	struct fb_daemon_args args;
	int rc = fb_daemon_parse_args(argc, argv, "fieldbridge-export", "connection", &args);

	if (rc != 0)
		return rc < 0 ? 2 : 0;
	if (args.check)
		return fb_daemon_check(&args, "connection",
				       &(const struct fb_config_checks){ .users = true });
	fb_log_init("fieldbridge-export", args.verbose > 1 ? FB_LOG_DEBUG : FB_LOG_INFO);
	return ex_run(&args);
}
