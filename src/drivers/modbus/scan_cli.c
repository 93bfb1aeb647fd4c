/* SPDX-License-Identifier: Apache-2.0 */
/* fieldbridge-modbus --scan: the standalone scanner (docs/bus-scan.md).
 * It holds the serial line's lock for the whole scan; if a running driver
 * holds it, it names that unit and exits 7.  Progress goes to stderr when
 * that is a terminal; the results to stdout (a table, or one JSON
 * document with --json).  --add BUS stages every found device that has one
 * definition candidate as a device entry of BUS through config_edit,
 * validated like any edit. */
#include "scan.h"
#include "self_path.h"
#include "fb_defaults.h"
#include "jsonfile.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_LINE_HELD 7
#define MAX_DIRS 8

struct cli {
	struct mb_scan_params params;
	const char *device, *host, *bauds, *parities, *ids, *config, *add_bus;
	const char *dirs[MAX_DIRS];
	size_t ndirs;
	int port;
	bool rtu_over_tcp, json, progress;
	int64_t last_draw_ms;
};

static void usage(FILE *f)
{
	fputs("usage: fieldbridge-modbus --scan --device PATH [--bauds LIST] [--parities LIST]\n"
	      "                          [--ids RANGE] [--first] [--json] [--add BUS]\n"
	      "       fieldbridge-modbus --scan --host HOST [--port P] [--rtu-over-tcp] [...]\n"
	      "  --bauds 9600,19200    bauds to try (default 9600,19200,38400,115200,4800,\n"
	      "                        2400,57600,1200)\n"
	      "  --parities E,N,O      parities to try (N is sent with 2 stop bits)\n"
	      "  --ids 1-247           unit ids to probe (never 0 on a serial line)\n"
	      "  --first               stop at the first device found\n"
	      "  --fc04                also probe FC04 at ids silent to FC03\n"
	      "  --fc11                ask found units for their server id (FC11)\n"
	      "  --turnaround-ms N     reply budget per probe (default 50)\n"
	      "  --deadline-s N        stop the whole scan after N s (default 300)\n"
	      "  --definitions DIR     definitions to match (default: the config's)\n"
	      "  -c FILE               configuration (definition dirs, --add)\n"
	      "  --add BUS             stage found devices as entries of bus BUS\n"
	      "  --json                one JSON document on stdout\n"
	      "  --no-progress         no progress bar on a terminal\n"
	      "exit: 0 scan ran (devices found or not), 1 error, 2 usage, 7 line held\n", f);
}

static bool draw(void *ctx, const struct mb_scan_progress *p)
{
	struct cli *c = ctx;
	struct timespec ts;
	int64_t now;
	int width = 30, filled;

	if (!c->progress)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!p->found && now - c->last_draw_ms < 100)
		return true;
	c->last_draw_ms = now;
	filled = p->total ? (int)((double)p->done / (double)p->total * width) : 0;
	if (filled > width)
		filled = width;
	fprintf(stderr, "\r%-7s %6d %c%d [%.*s%*s] %zu/%zu probes, %.0f s left ", p->phase,
		p->framing ? p->framing->baud : 0, p->framing && p->framing->parity ?
		p->framing->parity : '-', p->framing ? p->framing->stop_bits : 0,
		filled, "##############################", width - filled, "", p->done, p->total,
		p->eta_s);
	if (p->found)
		fprintf(stderr, "\nfound unit %d\n", p->found->unit);
	return true;
}

static int parse(int argc, char **argv, struct cli *c)
{
	enum { O_SCAN = 256, O_DEVICE, O_HOST, O_PORT, O_RTU_TCP, O_BAUDS, O_PARITIES, O_IDS,
	       O_FIRST, O_JSON, O_ADD, O_DEFS, O_FC04, O_FC11, O_TURN, O_DEADLINE, O_NOPROG, O_HELP };
	static const struct option opts[] = {
		{ "scan", no_argument, NULL, O_SCAN },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "rtu-over-tcp", no_argument, NULL, O_RTU_TCP },
		{ "bauds", required_argument, NULL, O_BAUDS },
		{ "parities", required_argument, NULL, O_PARITIES },
		{ "ids", required_argument, NULL, O_IDS },
		{ "first", no_argument, NULL, O_FIRST },
		{ "json", no_argument, NULL, O_JSON },
		{ "add", required_argument, NULL, O_ADD },
		{ "definitions", required_argument, NULL, O_DEFS },
		{ "fc04", no_argument, NULL, O_FC04 },
		{ "fc11", no_argument, NULL, O_FC11 },
		{ "turnaround-ms", required_argument, NULL, O_TURN },
		{ "deadline-s", required_argument, NULL, O_DEADLINE },
		{ "no-progress", no_argument, NULL, O_NOPROG },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int o, turnaround = 50, deadline = 300;
	bool first = false, fc04 = false, fc11 = false, noprog = false;
	const char *why = NULL;
	char *end;

	c->port = 502;
	while ((o = getopt_long(argc, argv, "c:v", opts, NULL)) != -1) {
		switch (o) {
		case O_SCAN: break;
		case 'v': break;
		case 'c': c->config = optarg; break;
		case O_DEVICE: c->device = optarg; break;
		case O_HOST: c->host = optarg; break;
		case O_PORT:
			c->port = (int)strtol(optarg, &end, 10);
			if (*end || c->port < 1 || c->port > 65535) {
				fprintf(stderr, "fieldbridge-modbus: --port: expected 1..65535, "
					"got \"%s\"\n", optarg);
				return -1;
			}
			break;
		case O_RTU_TCP: c->rtu_over_tcp = true; break;
		case O_BAUDS: c->bauds = optarg; break;
		case O_PARITIES: c->parities = optarg; break;
		case O_IDS: c->ids = optarg; break;
		case O_FIRST: first = true; break;
		case O_JSON: c->json = true; break;
		case O_ADD: c->add_bus = optarg; break;
		case O_DEFS:
			if (c->ndirs < MAX_DIRS)
				c->dirs[c->ndirs++] = optarg;
			break;
		case O_FC04: fc04 = true; break;
		case O_FC11: fc11 = true; break;
		case O_TURN:
		case O_DEADLINE: {
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 100000) {
				fprintf(stderr, "fieldbridge-modbus: --%s: expected a positive "
					"number, got \"%s\"\n", o == O_TURN ? "turnaround-ms" :
					"deadline-s", optarg);
				return -1;
			}
			*(o == O_TURN ? &turnaround : &deadline) = (int)v;
			break;
		}
		case O_NOPROG: noprog = true; break;
		case O_HELP: usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc || !c->device == !c->host) {
		fprintf(stderr, "fieldbridge-modbus: --scan needs exactly one of --device PATH "
			"or --host HOST\n");
		usage(stderr);
		return -1;
	}
	mb_scan_params_default(&c->params, !c->host || c->rtu_over_tcp);
	if (c->host && !c->rtu_over_tcp && (c->bauds || c->parities)) {
		fprintf(stderr, "fieldbridge-modbus: --bauds/--parities apply to a serial "
			"line (--device) only\n");
		return -1;
	}
	/* Over TCP the serial server owns the framing: one pass as it is. */
	if (c->host)
		c->params.nframings = 0;
	if ((c->ids && mb_scan_parse_ids(c->ids, c->host && !c->rtu_over_tcp, &c->params,
					 &why) < 0) ||
	    (!c->host && mb_scan_parse_framings(c->bauds, c->parities, &c->params, &why) < 0)) {
		fprintf(stderr, "fieldbridge-modbus: %s\n", why);
		return -1;
	}
	c->params.first = first;
	c->params.fc04 = fc04;
	c->params.fc11 = fc11;
	c->params.turnaround_ms = turnaround;
	c->params.deadline_s = deadline;
	c->progress = !noprog && isatty(2);
	return 0;
}

#define CTL_BIN "fieldbridgectl"

/* `fieldbridgectl [-c PATH] device add BUS ID definition=D unit_id=N`: the
 * validated edit path every tool uses.  Run as a program, not linked: the
 * edit library checks TLS files with OpenSSL, which the driver does not map
 * (1.7 MB of its resident memory). */
static int ctl_device_add(const struct cli *c, const char *id, const char *def, int unit)
{
	char ctl[PATH_MAX], defarg[300], unitarg[32];
	char *argv[10];
	int n = 0, status;
	pid_t pid;

	snprintf(defarg, sizeof(defarg), "definition=%s", def);
	snprintf(unitarg, sizeof(unitarg), "unit_id=%d", unit);
	argv[n++] = CTL_BIN;
	if (c->config) {
		argv[n++] = "-c";
		argv[n++] = (char *)c->config;
	}
	argv[n++] = "device";
	argv[n++] = "add";
	argv[n++] = (char *)c->add_bus;
	argv[n++] = (char *)id;
	argv[n++] = defarg;
	argv[n++] = unitarg;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "scan: --add: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		fb_program_path("FB_CTL_BIN", CTL_BIN, "../../ctl/" CTL_BIN, ctl, sizeof(ctl));
		execvp(ctl, argv);
		fprintf(stderr, "scan: --add: cannot run %s: %s\n", CTL_BIN, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Stages found devices with exactly one candidate on bus `bus`. */
static int add_found(const struct cli *c, const struct mb_scan_result *r)
{
	int bad = 0;

	for (size_t i = 0; i < r->ndevices; i++) {
		const struct mb_scan_device *dev = &r->devices[i];
		char id[300];

		if (!dev->candidates[0] || strchr(dev->candidates, ',') || dev->duplicate) {
			fprintf(stderr, "unit %d: not added (%s)\n", dev->unit, dev->duplicate ?
				"duplicate address suspected" : dev->candidates[0] ?
				"several definitions match: add it by hand" : "no definition matched");
			continue;
		}
		snprintf(id, sizeof(id), "%s_%d", dev->candidates, dev->unit);
		for (char *p = id; *p; p++)
			if (*p == '-')
				*p = '_';
		if (ctl_device_add(c, id, dev->candidates, dev->unit) < 0)
			bad = 1;
		else
			fprintf(stderr, "staged device %s (unit %d, %s) on bus %s; "
				"`fieldbridgectl apply` starts it\n", id, dev->unit,
				dev->candidates, c->add_bus);
	}
	return bad;
}

int mb_scan_main(int argc, char **argv)
{
	struct cli c;
	struct fb_bus_conf bus;
	struct mb_driver d;
	struct mb_scan_result r;
	struct fb_definition **defs = NULL;
	struct fb_config *cfg = NULL;
	size_t ndefs;
	int lockfd = -1, rc, prc;

	memset(&c, 0, sizeof(c));
	prc = parse(argc, argv, &c);
	if (prc)
		return prc < 0 ? 2 : 0;
	/* The link's "retrying with backoff" is the driver's; the scan reports. */
	fb_log_init("fieldbridge-modbus", FB_LOG_ERR);
	if (!c.config && (c.add_bus || !c.ndirs) && access(FB_DEFAULT_CONFIG, R_OK) == 0)
		c.config = FB_DEFAULT_CONFIG;
	if (c.config && !c.ndirs) {
		struct fb_diag diag;

		fb_diag_init(&diag);
		cfg = fb_config_load(c.config, &diag);
		for (size_t i = 0; cfg && i < cfg->ndefinition_dirs && c.ndirs < MAX_DIRS; i++)
			c.dirs[c.ndirs++] = cfg->definition_dirs[i];
		fb_diag_free(&diag);
	}
	if (!c.ndirs)
		c.dirs[c.ndirs++] = FB_DEFAULT_DEVICES_DIR;
	if (c.add_bus && !c.config) {
		fprintf(stderr, "fieldbridge-modbus: --add needs the configuration (-c FILE)\n");
		fb_config_free(cfg);
		return 2;
	}

	memset(&bus, 0, sizeof(bus));
	bus.name = (char *)"scan";
	bus.transport = c.device ? FB_BUS_RTU : c.rtu_over_tcp ? FB_BUS_RTU_OVER_TCP : FB_BUS_TCP;
	bus.device = (char *)c.device;
	bus.host = (char *)c.host;
	bus.port = c.port;
	bus.baud = 9600;
	bus.parity = 'N';
	bus.data_bits = 8;
	bus.stop_bits = 1;
	memset(&d, 0, sizeof(d));
	d.bus = &bus;
	d.signal_fd = d.timer_fd = -1;
	if (bus.transport != FB_BUS_TCP) {
		d.char_us = fb_plan_char_us(bus.baud, bus.parity, bus.data_bits, bus.stop_bits);
		d.t35_us = fb_plan_t35_us(bus.baud, d.char_us);
	}
	if (c.device) {
		char who[256];

		lockfd = open(c.device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (lockfd < 0 && errno != EBUSY) {
			fprintf(stderr, "fieldbridge-modbus: %s: %s\n", c.device, strerror(errno));
			fb_config_free(cfg);
			return 1;
		}
		if (lockfd < 0 || mb_line_lock_take(lockfd) < 0) {
			mb_line_lock_holder(c.device, who, sizeof(who));
			fprintf(stderr, "fieldbridge-modbus: %s is in use by %s; stop it, or scan "
				"through it with `fieldbridgectl bus scan BUS`\n", c.device, who);
			if (lockfd >= 0)
				close(lockfd);
			fb_config_free(cfg);
			return EXIT_LINE_HELD;
		}
		d.line_held = true;
	}
	ndefs = mb_scan_defs_load(c.dirs, c.ndirs, &defs);
	c.params.defs = (const struct fb_definition *const *)defs;
	c.params.ndefs = ndefs;
	if (mb_scan_run(&d, &c.params, draw, &c, &r) < 0) {
		fprintf(stderr, "fieldbridge-modbus: out of memory\n");
		rc = 1;
	} else {
		if (c.progress)
			fputs("\r\033[K", stderr);
		if (c.json)
			mb_scan_report_json(stdout, &bus, &r);
		else
			mb_scan_report_text(stdout, &r);
		rc = r.error[0] ? 1 : 0;
		if (!rc && c.add_bus)
			rc = add_found(&c, &r);
		mb_scan_result_free(&r);
	}
	mb_link_close(&d, NULL);
	if (lockfd >= 0)
		close(lockfd);
	mb_scan_defs_free(defs, ndefs);
	fb_config_free(cfg);
	return rc;
}
