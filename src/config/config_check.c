/* SPDX-License-Identifier: Apache-2.0 */
/* --check for any program: the configuration, every definition in use and
 * the checks that need more than one file (a Modbus bus's airtime budget, a
 * connection's users), collected in a diag so a daemon, a CLI or a web form
 * get the same problems.
 *
 * The budget: a serial line carries one frame at a time, so the planned
 * reads of all devices must fit into their poll intervals:
 *
 *   utilisation = sum over blocks of airtime(block) / interval(block)
 *
 * with airtime = request + answer bytes at the configured character time
 * plus two t3.5 silences and the device's guard time (the slave's own
 * processing time is unknown and not counted, so this is a lower bound).
 * Above 100% the intervals cannot be met (error); above 80% there is little
 * room left for writes and retries (warning). */
#include "config.h"
#include "config-internal.h"
#include "config_plan.h"
#include "users.h"

#include <stdlib.h>
#include <string.h>

#define BUDGET_WARN 0.8

/* What one bus's planned reads add up to. */
struct bus_load {
	size_t devices;    /* with a loaded definition */
	size_t points;
	size_t reads;      /* every block planned (all poll classes) */
	size_t per_cycle;  /* blocks read at each device's poll_interval_ms */
	double util;       /* share of the line, serial buses */
	int cycle_ms;      /* the shortest poll interval */
};

static void bus_load(const struct fb_bus_conf *bus, struct bus_load *out)
{
	bool serial = bus->transport == FB_BUS_RTU || bus->transport == FB_BUS_RTU_OVER_TCP;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < bus->ndevices; i++) {
		const struct fb_device_conf *dc = &bus->devices[i];
		struct fb_plan_block *blocks = NULL;
		size_t nblocks = 0;

		if (!dc->def)
			continue;
		out->devices++;
		out->points += dc->def->npoints;
		if (bus->transport == FB_BUS_GPIO)
			continue;
		if (fb_plan_reads(dc->def, NULL, 0, dc->poll_interval_ms, 0, &blocks,
				  &nblocks) < 0)
			continue;
		if (!out->cycle_ms || dc->poll_interval_ms < out->cycle_ms)
			out->cycle_ms = dc->poll_interval_ms;
		if (serial)
			out->util += fb_plan_airtime_share(bus, dc->guard_time_ms, blocks, nblocks);
		out->reads += nblocks;
		for (size_t b = 0; b < nblocks; b++)
			out->per_cycle += blocks[b].interval_ms == dc->poll_interval_ms;
		fb_plan_free(&blocks, &nblocks);
	}
}

static void check_budget(const struct fb_bus_conf *bus, struct fb_diag *diag)
{
	struct bus_load l;
	double util;

	bus_load(bus, &l);
	util = l.util;
	if (util > 1.0 || util > BUDGET_WARN)
		fb_diag_add_at(diag, util > 1.0 ? FB_SEV_ERROR : FB_SEV_WARNING, bus->source,
			       bus->path, "poll_interval_ms",
			       "%s: bus %s: airtime budget: needs %.2f s per cycle at %d baud, "
			       "intervals ask for %.2f s (%zu reads planned for %zu devices, "
			       "%.0f%% of the line%s)", bus->source, bus->name,
			       util * l.cycle_ms / 1000.0, bus->baud, l.cycle_ms / 1000.0, l.reads,
			       l.devices, util * 100.0, util > 1.0 ? ": lengthen poll_interval_ms, "
			       "use slow poll classes or raise the baud rate" : ", little room for "
			       "writes and retries");
}

/* A definition's "serial" block documents the device's factory line
 * settings; on a bus with other settings the device does not answer until
 * it is reconfigured.  A warning: the device may have been set to the
 * bus's settings already. */
static void check_serial(const struct fb_bus_conf *bus, struct fb_diag *diag)
{
	if (bus->transport != FB_BUS_RTU)
		return;
	for (size_t i = 0; i < bus->ndevices; i++) {
		const struct fb_device_conf *dc = &bus->devices[i];
		const struct fb_serial_defaults *s;
		char dpath[256];

		if (!dc->def || !dc->def->serial.baud)
			continue;
		s = &dc->def->serial;
		if (s->baud == bus->baud && s->parity == bus->parity &&
		    s->data_bits == bus->data_bits && s->stop_bits == bus->stop_bits)
			continue;
		cfg_device_path(bus, dc, dpath, sizeof(dpath));
		fb_diag_add_at(diag, FB_SEV_WARNING, bus->source, dpath, "definition",
			       "%s: bus %s: device %s: definition \"%s\" documents %d baud "
			       "%d%c%d (the device's factory setting) but the bus runs %d baud "
			       "%d%c%d: set the device to the bus's settings, or the bus's baud, "
			       "parity, data_bits and stop_bits to the device's", bus->source,
			       bus->name, dc->id, dc->definition, s->baud, s->data_bits, s->parity,
			       s->stop_bits, bus->baud, bus->data_bits, bus->parity,
			       bus->stop_bits);
	}
}

/* A definition's min_interval_ms: the driver never polls the device
 * faster, whatever the configuration asks; say so where it asks. */
static void check_min_interval(const struct fb_bus_conf *bus, struct fb_diag *diag)
{
	for (size_t i = 0; i < bus->ndevices; i++) {
		const struct fb_device_conf *dc = &bus->devices[i];
		char dpath[256];

		if (!dc->def || (uint32_t)dc->poll_interval_ms >= dc->def->min_interval_ms)
			continue;
		cfg_device_path(bus, dc, dpath, sizeof(dpath));
		fb_diag_add_at(diag, FB_SEV_WARNING, bus->source, dpath, "poll_interval_ms",
			       "%s: bus %s: device %s: poll_interval_ms %d is shorter than "
			       "definition \"%s\"'s min_interval_ms %u: the device is polled "
			       "every %u ms", bus->source, bus->name, dc->id, dc->poll_interval_ms,
			       dc->definition, dc->def->min_interval_ms, dc->def->min_interval_ms);
	}
}

static const char *const transport_label[] = {
	[FB_BUS_TCP] = "tcp", [FB_BUS_RTU] = "rtu", [FB_BUS_RTU_OVER_TCP] = "rtu_over_tcp",
	[FB_BUS_GPIO] = "gpio",
};

/* The lines a successful --check prints before its verdict: what the
 * configuration amounts to, per bus. */
static char *summary_text(const struct fb_config *cfg, const struct fb_bus_conf *only)
{
	char *text = NULL;
	size_t len = 0, nbuses = 0, ndev = 0, nconf = 0, npoints = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < cfg->nbuses; i++) {
		const struct fb_bus_conf *b = &cfg->buses[i];
		struct bus_load l;

		if (only && b != only)
			continue;
		bus_load(b, &l);
		nbuses++;
		nconf += b->ndevices;
		ndev += l.devices;
		npoints += l.points;
	}
	fprintf(f, "summary: %zu bus%s, %zu device%s", nbuses, nbuses == 1 ? "" : "es", nconf,
		nconf == 1 ? "" : "s");
	if (ndev != nconf)
		fprintf(f, " (%zu disabled)", nconf - ndev);
	fprintf(f, ", %zu point%s", npoints, npoints == 1 ? "" : "s");
	if (!only)
		fprintf(f, ", %zu connection%s", cfg->nconns, cfg->nconns == 1 ? "" : "s");
	fputc('\n', f);
	for (size_t i = 0; i < cfg->nbuses; i++) {
		const struct fb_bus_conf *b = &cfg->buses[i];
		struct bus_load l;

		if (only && b != only)
			continue;
		bus_load(b, &l);
		fprintf(f, "summary: bus %s (%s", b->name, transport_label[b->transport]);
		if (b->transport == FB_BUS_RTU || b->transport == FB_BUS_RTU_OVER_TCP)
			fprintf(f, ", %d baud %d%c%d", b->baud, b->data_bits, b->parity,
				b->stop_bits);
		fprintf(f, "): %zu device%s, %zu point%s", l.devices, l.devices == 1 ? "" : "s",
			l.points, l.points == 1 ? "" : "s");
		if (b->transport != FB_BUS_GPIO)
			fprintf(f, ", %zu read%s per cycle", l.per_cycle,
				l.per_cycle == 1 ? "" : "s");
		if (b->transport == FB_BUS_RTU || b->transport == FB_BUS_RTU_OVER_TCP)
			fprintf(f, ", %.0f%% of the line's airtime", l.util * 100.0);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The airtime budget of the bus named, or of every serial bus. */
static void check_budgets(const struct fb_config *cfg, const char *bus_name,
			  struct fb_diag *diag)
{
	for (size_t i = 0; i < cfg->nbuses; i++) {
		const struct fb_bus_conf *b = &cfg->buses[i];

		if ((!bus_name || !strcmp(b->name, bus_name)) &&
		    (b->transport == FB_BUS_RTU || b->transport == FB_BUS_RTU_OVER_TCP))
			check_budget(b, diag);
	}
}

/* The users file must define the user of the connection named (or of
 * every one).  It is read once, however many connections use it, and
 * also for a config with errors, so its problems come in the same run. */
static void check_users(const struct fb_config *cfg, const char *conn_name,
			struct fb_diag *diag)
{
	struct fb_users *users;

	if (!cfg->users_file) {
		for (size_t i = 0; i < cfg->nconns; i++) {
			const struct fb_conn_conf *cc = &cfg->conns[i];

			if (conn_name && (!cc->name || strcmp(cc->name, conn_name)))
				continue;
			fb_users_free(fb_config_load_users(cfg, cc, diag));
			break; /* one warning is enough */
		}
		return;
	}
	users = fb_users_load(cfg->users_file, diag);
	if (!users)
		return;
	for (size_t i = 0; i < cfg->nconns; i++) {
		const struct fb_conn_conf *cc = &cfg->conns[i];

		if (!conn_name || (cc->name && !strcmp(cc->name, conn_name)))
			cfg_conn_user_defined(cfg, cc, users, diag);
	}
	fb_users_free(users);
}

/* A Modbus server's user must be in the users file (if there is one). */
static void check_server_user(const struct fb_config *cfg, const struct fb_mbserver_conf *s,
			      struct fb_diag *diag)
{
	struct fb_users *users;

	if (!cfg->users_file || !s->user)
		return;
	users = fb_users_load(cfg->users_file, diag);
	if (users && !fb_users_find(users, s->user))
		fb_diag_add_at(diag, FB_SEV_ERROR, cfg->path, s->path, "user",
			       "%s: %s (%s).user: expected a user defined in %s, got \"%s\"",
			       cfg->path, s->path, s->name, cfg->users_file, s->user);
	fb_users_free(users);
}

void fb_config_check(const char *path, const char *kind, const char *instance,
		     const struct fb_config_checks *checks, struct fb_diag *diag)
{
	bool is_bus = kind && !strcmp(kind, "bus");
	bool is_server = kind && !strcmp(kind, "server");
	size_t errors_before = diag->errors;
	struct fb_config *cfg = cfg_load(path, diag, true);
	struct fb_bus_conf *bus = NULL;
	bool found = !instance;

	if (!cfg)
		return;
	if (diag->errors != errors_before) {
		/* The definitions and budgets need a sound config; the users
		 * file does not. */
		if (checks && checks->users && !is_bus)
			check_users(cfg, instance, diag);
		fb_config_free(cfg);
		return;
	}
	if (instance && is_bus) {
		bus = fb_config_bus(cfg, instance);
		found = bus != NULL;
		if (!bus)
			fb_diag_add_at(diag, FB_SEV_ERROR, cfg->path, NULL, NULL,
				       "%s: no bus named \"%s\"", cfg->path, instance);
	} else if (instance && is_server) {
		found = fb_config_mbserver(cfg, instance) != NULL;
		if (!found)
			fb_diag_add_at(diag, FB_SEV_ERROR, cfg->path, NULL, NULL,
				       "%s: no Modbus server named \"%s\"", cfg->path, instance);
	} else if (instance) {
		found = fb_config_conn(cfg, instance) != NULL;
		if (!found)
			fb_diag_add_at(diag, FB_SEV_ERROR, cfg->path, NULL, NULL,
				       "%s: no connection named \"%s\"", cfg->path, instance);
	}
	/* A connection exports every bus, so its check covers them all. */
	if (bus || !instance || !is_bus)
		fb_config_load_definitions(cfg, bus, diag);
	for (size_t i = 0; found && i < cfg->nbuses; i++)
		if (!bus || bus == &cfg->buses[i]) {
			check_serial(&cfg->buses[i], diag);
			check_min_interval(&cfg->buses[i], diag);
		}
	/* The TLS files of the connections in scope: all of them, or the one
	 * named; a bus's check has none. */
	for (size_t i = 0; found && checks && checks->tls && !(instance && (is_bus || is_server)) &&
			   i < cfg->nconns; i++)
		if (!instance || !strcmp(cfg->conns[i].name, instance))
			checks->tls(&cfg->conns[i], diag);
	if (found && checks && checks->airtime)
		check_budgets(cfg, bus ? bus->name : NULL, diag);
	if (found && checks && checks->users && !is_bus && !is_server)
		check_users(cfg, instance, diag);
	if (found && checks && checks->users && is_server)
		check_server_user(cfg, fb_config_mbserver(cfg, instance), diag);
	if (found && checks && checks->summary && diag->errors == errors_before)
		*checks->summary = summary_text(cfg, bus);
	fb_config_free(cfg);
}
