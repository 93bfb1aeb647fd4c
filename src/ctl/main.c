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
"usage: fieldbridgectl [-c PATH] [--json] [--no-apply] [-H [USER@]HOST] OBJECT VERB [ARGS]\n"
"\n"
"  -c, --config PATH   main configuration file (default %s)\n"
"      --json          print one versioned JSON document\n"
"      --no-apply      write the files only; `config apply` applies them later\n"
"  -H, --host [USER@]HOST  run the command on that gateway over ssh\n"
"\n"
"  connection list | show NAME | fields | add NAME FIELD=VALUE... |\n"
"             modify NAME FIELD=VALUE... | delete NAME | edit NAME | test NAME |\n"
"             move-to-dropin NAME\n"
"  bus        the same verbs (but test); bus scan BUS [--ids R] [--first]: find\n"
"             the devices on a running bus (polling pauses meanwhile; --cancel\n"
"             stops it)\n"
"  device     list [BUS] | show ID | fields | add BUS ID FIELD=VALUE... |\n"
"             modify [BUS] ID FIELD=VALUE... | delete [BUS] ID\n"
"  user       list | show NAME | fields | add NAME role=... rights=... password=- |\n"
"             passwd NAME | modify NAME FIELD=VALUE... | delete NAME\n"
"  server     list | show NAME | fields | add NAME bus=... user=... FIELD=VALUE... |\n"
"             modify NAME FIELD=VALUE... | delete NAME | edit NAME  (modbus_servers)\n"
"  gateway    show | fields | modify FIELD=VALUE...  (name, log_level; edited in\n"
"             place in the main file, its comments kept)\n"
"  config     check | schema | diff | apply [--dry-run | --request PATH] | snapshots |\n"
"             rollback [N]\n"
"  definition list | show DEFINITION | check DEFINITION... |\n"
"             decode DEFINITION POINT WORD... | add FILE [--id ID] [--replace]\n"
"  logs       [UNIT] [-f] [-p LEVEL]\n"
"  status     buses, daemons and the configuration's warnings\n"
"  watch      [BUS[/DEVICE[/POINT]]] [--count N] [--timeout S]\n"
"  get        BUS/DEVICE/POINT\n"
"  set        BUS/DEVICE/POINT VALUE [--as USER] [--timeout S]\n"
"  web        setup-code   (the first-run code of fieldbridge-web)\n"
"\n"
"FIELD= (empty) removes a field.  Secrets (auth_password, ssl_client_key_password,\n"
"password) are read from standard input with FIELD=-, never from the command line.\n"
"Exit codes: 0 ok, 1 failure, 2 usage, 3 configuration invalid, 4 not found,\n"
"5 permission denied, 6 timeout, 7 daemon not running, 8 conflict.\n",
		FB_DEFAULT_CONFIG);
}

/* Every argument but -H and its value, for the remote fieldbridgectl. */
static int remote(const struct ctl *c, int argc, char **argv, int first_operand)
{
	char **v = calloc((size_t)argc + 1, sizeof(*v));
	int n = 0, rc;

	if (!v)
		return CTL_FAILED;
	for (int i = 1; i < argc; i++) {
		if (i < first_operand) {
			if (!strcmp(argv[i], "-H") || !strcmp(argv[i], "--host")) {
				i++;
				continue;
			}
			if (!strncmp(argv[i], "--host=", 7) ||
			    (!strncmp(argv[i], "-H", 2) && argv[i][2]))
				continue;
			if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
				v[n++] = argv[i++]; /* its value may look like an option */
				if (i < argc)
					v[n++] = argv[i];
				continue;
			}
		}
		v[n++] = argv[i];
	}
	rc = ctl_remote(c, n, v);
	free(v);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-apply", no_argument, NULL, 'n' },
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .config_path = FB_DEFAULT_CONFIG };
	int opt;

	fb_log_init("fieldbridgectl", FB_LOG_WARNING);
	/* "+": options end at OBJECT, so "user add x rights=-a" stays an argument. */
	while ((opt = getopt_long(argc, argv, "+c:hVH:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': c.config_path = optarg; break;
		case 'j': c.json = true; break;
		case 'n': c.no_apply = true; break;
		case 'H': c.host = optarg; break;
		case 'h': usage(stdout); return CTL_OK;
		case 'V': printf("fieldbridgectl %s\n", FB_VERSION); return CTL_OK;
		default: usage(stderr); return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (c.host)
		return remote(&c, argc, argv, optind);
	c.object = argv[optind++];
	/* These take no verb: what follows are their arguments. */
	if (!strcmp(c.object, "status") || !strcmp(c.object, "watch") ||
	    !strcmp(c.object, "get") || !strcmp(c.object, "set"))
		c.verb = NULL;
	else
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
	if (!strcmp(c.object, "connection") && c.verb && !strcmp(c.verb, "test"))
		return ctl_connection_test(&c);
	if (!strcmp(c.object, "connection"))
		return ctl_objects(&c, FB_EDIT_CONN);
	if (!strcmp(c.object, "bus") && c.verb && !strcmp(c.verb, "scan"))
		return ctl_bus_scan(&c);
	if (!strcmp(c.object, "bus"))
		return ctl_objects(&c, FB_EDIT_BUS);
	if (!strcmp(c.object, "device"))
		return ctl_objects(&c, FB_EDIT_DEVICE);
	if (!strcmp(c.object, "user"))
		return ctl_objects(&c, FB_EDIT_USER);
	if (!strcmp(c.object, "server"))
		return ctl_objects(&c, FB_EDIT_SERVER);
	if (!strcmp(c.object, "gateway"))
		return ctl_objects(&c, FB_EDIT_GATEWAY);
	if (!strcmp(c.object, "config"))
		return ctl_config(&c);
	if (!strcmp(c.object, "definition"))
		return ctl_definition(&c);
	if (!strcmp(c.object, "logs"))
		return ctl_logs(&c);
	if (!strcmp(c.object, "web"))
		return ctl_web(&c);
	if (!strcmp(c.object, "status"))
		return ctl_status(&c);
	if (!strcmp(c.object, "watch"))
		return ctl_watch(&c);
	if (!strcmp(c.object, "get"))
		return ctl_get(&c);
	if (!strcmp(c.object, "set"))
		return ctl_set(&c);
	return ctl_usage_error(&c, "unknown object \"%s\" (connection, bus, device, user, server, "
			       "gateway, config, definition, logs, web, status, watch, get, set)",
			       c.object);
}
