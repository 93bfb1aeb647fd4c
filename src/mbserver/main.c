/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-mbserver: one process per configured Modbus TCP server
 * ("modbus_servers"), --server NAME. */
#include "daemon.h"
#include "log.h"
#include "mbserver-internal.h"

int main(int argc, char **argv)
{
	struct fb_daemon_args args;
	int rc = fb_daemon_parse_args(argc, argv, "fieldbridge-mbserver", "server", &args);

	if (rc != 0)
		return rc < 0 ? 2 : 0;
	if (args.check)
		return fb_daemon_check(&args, "server",
				       &(const struct fb_config_checks){ .users = true });
	fb_log_init("fieldbridge-mbserver", args.verbose > 1 ? FB_LOG_DEBUG : FB_LOG_INFO);
	return mbs_server_run(&args);
}
