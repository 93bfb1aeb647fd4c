/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-modbus: one process per Modbus bus. */
#include "daemon.h"
#include "driver.h"
#include "log.h"
#include "modbus-internal.h"
#include "scan.h"

#include <string.h>

int main(int argc, char **argv)
{
	struct fb_daemon_args args;
	int rc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--scan"))
			return mb_scan_main(argc, argv);
	rc = fb_daemon_parse_args(argc, argv, "fieldbridge-modbus", "bus", &args);
	if (rc != 0)
		return rc < 0 ? 2 : 0;
	/* The shared check plus the bus airtime budget. */
	if (args.check)
		return fb_daemon_check(&args, "bus",
				       &(const struct fb_config_checks){ .airtime = true });
	fb_log_init("fieldbridge-modbus",
		    fb_log_level_pick(args.log_level, args.verbose, FB_LOG_INFO));
	return mb_driver_run(&args);
}
