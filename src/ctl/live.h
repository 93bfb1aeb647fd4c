/* SPDX-License-Identifier: Apache-2.0 */
/* live.c: the buses' state tables for fieldbridgectl's live verbs. */
#ifndef FB_CTL_LIVE_H
#define FB_CTL_LIVE_H

#include "ctl.h"
#include "config.h"
#include "model.h"
#include "table_follower.h"

#include <unistd.h>

struct ctl_live;

struct ctl_bus {
	const struct fb_bus_conf *conf;
	char instance[256];
	struct fb_table_follower *f;
	struct fb_table_reader *reader; /* NULL while no driver table is attached */
	bool alive;
	int attach_errno;  /* why the last attach failed (not ENOENT), or 0 */
	struct ctl_live *live;
};

struct ctl_live {
	struct fb_config *cfg;      /* with definitions loaded */
	struct ctl_bus *bus;
	size_t nbus;
	char origin[FB_TABLE_ORIGIN_MAX]; /* ours alone: results for us only */
	int64_t last_maintain;
	/* Set by the caller after open (each may be NULL): */
	void (*point)(void *ctx, struct ctl_bus *b, uint32_t index);
	void (*result)(void *ctx, struct ctl_bus *b, const struct fb_command_result *res);
	void (*detaching)(void *ctx, struct ctl_bus *b);
	void *ctx;
};

/* Loads the configuration and attaches every bus (only `only_bus` if not
 * NULL) whose driver runs.  Returns an exit code, problems in d; call
 * ctl_live_close in any case. */
int ctl_live_open(struct ctl_live *l, const char *config_path, const char *only_bus,
		  struct fb_diag *d);
void ctl_live_close(struct ctl_live *l);
/* One poll() pass over the tables and extra_fd (-1: none), at most
 * timeout_ms (-1: up to the next maintain).  Drains what is readable and
 * maintains the followers about once a second.  Returns 1 if extra_fd is
 * readable, 0 otherwise, -1 on error. */
int ctl_live_poll(struct ctl_live *l, int extra_fd, int timeout_ms);

struct ctl_bus *ctl_live_bus(struct ctl_live *l, const char *name);
const struct fb_device_conf *ctl_live_device(const struct ctl_bus *b, const char *id);
const char *ctl_live_unit(const struct ctl_bus *b, const char *device, const char *key);
/* Attached and the heartbeat fresh. */
bool ctl_live_running(const struct ctl_bus *b);
/* The pid holding the bus lock, 0 if none lives. */
long ctl_live_driver_pid(const struct ctl_bus *b);
const char *ctl_live_quality_name(uint8_t q);
/* "BUS[/DEVICE[/POINT]]" into three buffers of len bytes ("" if absent). */
int ctl_live_split(const char *spec, char *bus, char *device, char *point, size_t len);
/* {"bus","device","point","value","unit","quality","ts","change_ts"}. */
cJSON *ctl_live_point_json(const struct ctl_bus *b, uint32_t index);
/* "230.1 V", "ON", "-" (unknown). */
void ctl_live_value_text(const struct ctl_bus *b, uint32_t index, char *buf, size_t len);

#endif
