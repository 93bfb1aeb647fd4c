/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-gpio: one process per GPIO bus (one chip). */
#include "daemon.h"
#include "gpio-internal.h"
#include "log.h"

int main(int argc, char **argv)
{
	struct fb_daemon_args args;
	int rc = fb_daemon_parse_args(argc, argv, "fieldbridge-gpio", "bus", &args);

	if (rc != 0)
		return rc < 0 ? 2 : 0;
	if (args.check)
		return fb_daemon_check(&args, "bus", NULL);
	fb_log_init("fieldbridge-gpio",
		    fb_log_level_pick(args.log_level, args.verbose, FB_LOG_INFO));
	return gl_driver_run(&args);
}
