/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridgectl: create and edit the gateway's configuration from the
 * command line.  Parses the global options and dispatches to one file per
 * object; see fieldbridgectl(1). */
#include "ctl.h"
#include "fb_defaults.h"
#include "log.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#ifndef FB_DEFAULT_CONFIG
#define FB_DEFAULT_CONFIG "/etc/fieldbridge/fieldbridge.json"
#endif

static void usage(FILE *out)
{
	fprintf(out,
"usage: fieldbridgectl [-c PATH] [--json] [--no-apply] OBJECT VERB [ARGS]\n"
"\n"
"  -c, --config PATH   main configuration file (default %s)\n"
"      --json          print one versioned JSON document\n"
"      --no-apply      write the files only (edits never restart daemons yet:\n"
"                      restart them yourself to apply a change)\n"
"\n"
"  connection list | show NAME | fields | add NAME FIELD=VALUE... |\n"
"             modify NAME FIELD=VALUE... | delete NAME | edit NAME\n"
"  bus        the same verbs\n"
"  device     list [BUS] | show ID | fields | add BUS ID FIELD=VALUE... |\n"
"             modify [BUS] ID FIELD=VALUE... | delete [BUS] ID\n"
"  user       list | show NAME | fields | add NAME role=... rights=... password=- |\n"
"             passwd NAME | modify NAME FIELD=VALUE... | delete NAME\n"
"  config     check | schema\n"
"  definition list | show DEFINITION | decode DEFINITION POINT WORD...\n"
"  web        setup-code   (the first-run code of fieldbridge-web)\n"
"\n"
"FIELD= (empty) removes a field.  Secrets (auth_password, ssl_client_key_password,\n"
"password) are read from standard input with FIELD=-, never from the command line.\n"
"Exit codes: 0 ok, 1 failure, 2 usage, 3 configuration invalid, 4 not found,\n"
"5 permission denied, 6 timeout, 7 daemon not running, 8 conflict.\n",
		FB_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-apply", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .config_path = FB_DEFAULT_CONFIG };
	int opt;

	fb_log_init("fieldbridgectl", FB_LOG_WARNING);
	/* "+": options end at OBJECT, so "user add x rights=-a" stays an argument. */
	while ((opt = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': c.config_path = optarg; break;
		case 'j': c.json = true; break;
		case 'n': c.no_apply = true; break;
		case 'h': usage(stdout); return CTL_OK;
		case 'V': printf("fieldbridgectl %s\n", FB_VERSION); return CTL_OK;
		default: usage(stderr); return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	c.object = argv[optind++];
	c.verb = optind < argc ? argv[optind++] : NULL;
	c.argc = argc - optind;
	c.argv = argv + optind;
	for (int i = 0; i < c.argc; i++) {
		/* Global options are also accepted after the command. */
		if (!strcmp(c.argv[i], "--json") || !strcmp(c.argv[i], "--no-apply")) {
			if (c.argv[i][2] == 'j')
				c.json = true;
			else
				c.no_apply = true;
			memmove(&c.argv[i], &c.argv[i + 1], (size_t)(c.argc - i - 1) * sizeof(char *));
			c.argc--;
			i--;
		}
	}
	if (!strcmp(c.object, "connection"))
		return ctl_objects(&c, FB_EDIT_CONN);
	if (!strcmp(c.object, "bus"))
		return ctl_objects(&c, FB_EDIT_BUS);
	if (!strcmp(c.object, "device"))
		return ctl_objects(&c, FB_EDIT_DEVICE);
	if (!strcmp(c.object, "user"))
		return ctl_objects(&c, FB_EDIT_USER);
	if (!strcmp(c.object, "config"))
		return ctl_config(&c);
	if (!strcmp(c.object, "definition"))
		return ctl_definition(&c);
	if (!strcmp(c.object, "web"))
		return ctl_web(&c);
	return ctl_usage_error(&c, "unknown object \"%s\" (connection, bus, device, user, "
			       "config, definition, web)", c.object);
}
