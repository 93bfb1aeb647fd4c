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

static void check_budget(const struct fb_bus_conf *bus, struct fb_diag *diag)
{
	size_t n = 0, reads = 0;
	double util = 0;
	int cycle_ms = 0;

	for (size_t i = 0; i < bus->ndevices; i++) {
		const struct fb_device_conf *dc = &bus->devices[i];
		struct fb_plan_block *blocks = NULL;
		size_t nblocks = 0;

		if (!dc->def)
			continue;
		if (fb_plan_reads(dc->def, NULL, 0, dc->poll_interval_ms, 0, &blocks,
				  &nblocks) < 0)
			continue;
		if (!cycle_ms || dc->poll_interval_ms < cycle_ms)
			cycle_ms = dc->poll_interval_ms;
		util += fb_plan_airtime_share(bus, dc->guard_time_ms, blocks, nblocks);
		reads += nblocks;
		n++;
		fb_plan_free(&blocks, &nblocks);
	}
	if (util > 1.0 || util > BUDGET_WARN)
		fb_diag_add_at(diag, util > 1.0 ? FB_SEV_ERROR : FB_SEV_WARNING, bus->source,
			       bus->path, "poll_interval_ms",
			       "%s: bus %s: airtime budget: needs %.2f s per cycle at %d baud, "
			       "intervals ask for %.2f s (%zu reads planned for %zu devices, "
			       "%.0f%% of the line%s)", bus->source, bus->name,
			       util * cycle_ms / 1000.0, bus->baud, cycle_ms / 1000.0, reads, n,
			       util * 100.0, util > 1.0 ? ": lengthen poll_interval_ms, use slow "
			       "poll classes or raise the baud rate" : ", little room for writes "
			       "and retries");
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
 * every one).  It is read once, however many connections use it; on a
 * config that has errors (`broken`) too, so its problems come in the
 * same run. */
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

void fb_config_check(const char *path, const char *kind, const char *instance,
		     const struct fb_config_checks *checks, struct fb_diag *diag)
{
	bool is_bus = kind && !strcmp(kind, "bus");
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
	} else if (instance) {
		found = fb_config_conn(cfg, instance) != NULL;
		if (!found)
			fb_diag_add_at(diag, FB_SEV_ERROR, cfg->path, NULL, NULL,
				       "%s: no connection named \"%s\"", cfg->path, instance);
	}
	/* A connection exports every bus, so its check covers them all. */
	if (bus || !instance || !is_bus)
		fb_config_load_definitions(cfg, bus, diag);
	if (found && checks && checks->airtime)
		check_budgets(cfg, bus ? bus->name : NULL, diag);
	if (found && checks && checks->users && !is_bus)
		check_users(cfg, instance, diag);
	fb_config_free(cfg);
}
