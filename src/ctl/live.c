/* SPDX-License-Identifier: Apache-2.0 */
/* The buses' state tables as `watch`, `get`, `set` and `status` see them:
 * the configuration (with definitions, for units and kinds), one table
 * follower per bus, and one poll() pass over their fds plus one of the
 * caller's. */
#include "live.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STALE_AFTER_MS 5000
#define MAINTAIN_EVERY_MS 1000

static const char *const quality_names[] = { "never_read", "ok", "comm_error", "stale" };

const char *ctl_live_quality_name(uint8_t q)
{
	return q <= FB_QUALITY_STALE ? quality_names[q] : "stale";
}

static int on_attached(void *ctx, struct fb_table_reader *r)
{
	((struct ctl_bus *)ctx)->reader = r;
	((struct ctl_bus *)ctx)->attach_errno = 0;
	return 0;
}

static void on_detaching(void *ctx, struct fb_table_reader *r, enum fb_table_follower_why why)
{
	struct ctl_bus *b = ctx;

	(void)r;
	(void)why;
	b->reader = NULL;
	if (b->live->detaching)
		b->live->detaching(b->live->ctx, b);
}

static void on_attach_failed(void *ctx, int err)
{
	((struct ctl_bus *)ctx)->attach_errno = err;
}

static void on_liveness(void *ctx, bool alive, int64_t age_ms)
{
	(void)age_ms;
	((struct ctl_bus *)ctx)->alive = alive;
}

static void on_point(void *ctx, uint32_t i)
{
	struct ctl_bus *b = ctx;

	if (b->live->point)
		b->live->point(b->live->ctx, b, i);
}

static void on_result(void *ctx, const struct fb_command_result *res)
{
	struct ctl_bus *b = ctx;

	if (b->live->result)
		b->live->result(b->live->ctx, b, res);
}

/* Results come with the wake-up the journal walk consumed. */
static void on_drained(void *ctx, struct fb_table_reader *r)
{
	struct ctl_bus *b = ctx;

	fb_table_reader_results(r, b->live->origin, on_result, b);
}

int ctl_live_open(struct ctl_live *l, const char *config_path, const char *only_bus,
		  struct fb_diag *d)
{
	static const struct fb_table_follower_handlers h = {
		.attached = on_attached, .detaching = on_detaching,
		.attach_failed = on_attach_failed, .liveness = on_liveness,
		.point_changed = on_point, .drained = on_drained,
	};
	int64_t now = fb_mono_ms();
	struct fb_diag load;

	snprintf(l->origin, sizeof(l->origin), "fieldbridgectl-%ld", (long)getpid());
	/* The configuration's warnings are `config check`'s and `status`'s
	 * business; here only a configuration that does not load is. */
	fb_diag_init(&load);
	l->cfg = fb_config_load(config_path, &load);
	if (!l->cfg)
		fb_diag_move(d, &load);
	fb_diag_free(&load);
	if (!l->cfg)
		return access(config_path, F_OK) < 0 ? CTL_NOT_FOUND : CTL_INVALID;
	if (only_bus && !fb_config_bus(l->cfg, only_bus)) {
		fb_diag_error(d, "no bus \"%s\" in the configuration", only_bus);
		return CTL_NOT_FOUND;
	}
	/* Units and kinds come from the definitions; a broken one only loses
	 * them (its device is disabled anyway). */
	fb_diag_init(&load);
	fb_config_load_definitions(l->cfg, NULL, &load);
	fb_diag_free(&load);
	l->bus = calloc(l->cfg->nbuses ? l->cfg->nbuses : 1, sizeof(*l->bus));
	if (!l->bus)
		return CTL_FAILED;
	for (size_t i = 0; i < l->cfg->nbuses; i++) {
		struct fb_bus_conf *bc = &l->cfg->buses[i];
		struct ctl_bus *b;

		if (only_bus && strcmp(bc->name, only_bus))
			continue;
		b = &l->bus[l->nbus++];
		b->conf = bc;
		b->live = l;
		fb_config_table_name(l->cfg, bc, b->instance, sizeof(b->instance));
		b->f = fb_table_follower_new(b->instance, STALE_AFTER_MS, &h, b);
		if (!b->f) {
			fb_diag_error(d, "bus %s: %s", bc->name, strerror(errno));
			return CTL_FAILED;
		}
		fb_table_follower_maintain(b->f, now);
		b->alive = fb_table_follower_alive(b->f);
	}
	l->last_maintain = now;
	return CTL_OK;
}

void ctl_live_close(struct ctl_live *l)
{
	l->point = NULL;
	l->result = NULL;
	l->detaching = NULL;
	for (size_t i = 0; i < l->nbus; i++)
		fb_table_follower_free(l->bus[i].f);
	free(l->bus);
	fb_config_free(l->cfg);
	memset(l, 0, sizeof(*l));
}

int ctl_live_poll(struct ctl_live *l, int extra_fd, int timeout_ms)
{
	struct pollfd pfd[l->nbus + 1];
	struct ctl_bus *which[l->nbus + 1];
	int64_t now = fb_mono_ms();
	int wait = MAINTAIN_EVERY_MS - (int)(now - l->last_maintain);
	nfds_t n = 0;
	int rc = 0;

	if (wait < 0)
		wait = 0;
	if (timeout_ms >= 0 && timeout_ms < wait)
		wait = timeout_ms;
	if (extra_fd >= 0) {
		pfd[n] = (struct pollfd){ .fd = extra_fd, .events = POLLIN };
		which[n++] = NULL;
	}
	for (size_t i = 0; i < l->nbus; i++) {
		int fd = fb_table_follower_fd(l->bus[i].f);

		if (fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
			which[n++] = &l->bus[i];
		}
	}
	if (poll(pfd, n, wait) < 0)
		return errno == EINTR ? 0 : -1;
	now = fb_mono_ms();
	for (nfds_t i = 0; i < n; i++) {
		if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (!which[i])
			rc = 1;
		else
			fb_table_follower_drain(which[i]->f, now);
	}
	if (now - l->last_maintain >= MAINTAIN_EVERY_MS) {
		for (size_t i = 0; i < l->nbus; i++)
			fb_table_follower_maintain(l->bus[i].f, now);
		l->last_maintain = now;
	}
	return rc;
}

struct ctl_bus *ctl_live_bus(struct ctl_live *l, const char *name)
{
	for (size_t i = 0; i < l->nbus; i++)
		if (!strcmp(l->bus[i].conf->name, name))
			return &l->bus[i];
	return NULL;
}

const struct fb_device_conf *ctl_live_device(const struct ctl_bus *b, const char *id)
{
	for (size_t i = 0; i < b->conf->ndevices; i++)
		if (!strcmp(b->conf->devices[i].id, id))
			return &b->conf->devices[i];
	return NULL;
}

const char *ctl_live_unit(const struct ctl_bus *b, const char *device, const char *key)
{
	const struct fb_device_conf *dev = ctl_live_device(b, device);
	const struct fb_point_def *p;

	if (fb_model_is_diag_key(key)) {
		size_t n;
		const struct fb_diag_point_desc *dp = fb_model_diag_points(&n);

		for (size_t i = 0; i < n; i++)
			if (!strcmp(dp[i].key, key))
				return dp[i].unit;
		return NULL;
	}
	p = dev && dev->def ? fb_model_point(dev->def, key) : NULL;
	return p ? p->unit : NULL;
}

bool ctl_live_running(const struct ctl_bus *b)
{
	return b->reader && fb_table_follower_alive(b->f);
}

long ctl_live_driver_pid(const struct ctl_bus *b)
{
	long pid = fb_table_lock_pid(b->instance);

	/* The lock file keeps the last holder's pid after it exits. */
	if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 0;
	return pid;
}

int ctl_live_split(const char *spec, char *bus, char *device, char *point, size_t len)
{
	const char *s1 = strchr(spec, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	size_t nb = s1 ? (size_t)(s1 - spec) : strlen(spec);

	bus[0] = device[0] = point[0] = '\0';
	if (!nb || nb >= len)
		return -1;
	memcpy(bus, spec, nb);
	bus[nb] = '\0';
	if (s1) {
		size_t nd = s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1);

		if (!nd || nd >= len)
			return -1;
		memcpy(device, s1 + 1, nd);
		device[nd] = '\0';
	}
	if (s2) {
		if (!s2[1] || strlen(s2 + 1) >= len || strchr(s2 + 1, '/'))
			return -1;
		strcpy(point, s2 + 1);
	}
	return 0;
}

cJSON *ctl_live_point_json(const struct ctl_bus *b, uint32_t index)
{
	const struct fb_point_desc *pd = fb_table_reader_point(b->reader, index);
	struct fb_point_snapshot s;
	char buf[FB_TABLE_STRING_MAX * 6 + 8];
	const char *unit = ctl_live_unit(b, pd->device, pd->point);
	cJSON *o = cJSON_CreateObject();

	fb_table_reader_read(b->reader, index, &s);
	if (fb_value_to_json(&s.value, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "null");
	cJSON_AddStringToObject(o, "bus", b->conf->name);
	cJSON_AddStringToObject(o, "device", pd->device);
	cJSON_AddStringToObject(o, "point", pd->point);
	cJSON_AddItemToObject(o, "value", cJSON_Parse(buf));
	if (unit)
		cJSON_AddStringToObject(o, "unit", unit);
	else
		cJSON_AddNullToObject(o, "unit");
	cJSON_AddStringToObject(o, "quality", ctl_live_quality_name(s.quality));
	cJSON_AddNumberToObject(o, "ts", (double)s.read_ts_ms);
	cJSON_AddNumberToObject(o, "change_ts", (double)s.change_ts_ms);
	return o;
}

void ctl_live_value_text(const struct ctl_bus *b, uint32_t index, char *buf, size_t len)
{
	const struct fb_point_desc *pd = fb_table_reader_point(b->reader, index);
	const char *unit = ctl_live_unit(b, pd->device, pd->point);
	struct fb_point_snapshot s;
	char v[FB_TABLE_STRING_MAX * 6 + 8];

	fb_table_reader_read(b->reader, index, &s);
	switch (s.value.kind) {
	case FB_VALUE_BOOL: snprintf(v, sizeof(v), "%s", s.value.b ? "ON" : "OFF"); break;
	case FB_VALUE_INT: snprintf(v, sizeof(v), "%lld", (long long)s.value.i); break;
	case FB_VALUE_UINT: snprintf(v, sizeof(v), "%llu", (unsigned long long)s.value.u); break;
	case FB_VALUE_FLOAT: snprintf(v, sizeof(v), "%.6g", s.value.f); break;
	case FB_VALUE_STRING: snprintf(v, sizeof(v), "%s", s.value.s); break;
	default: snprintf(v, sizeof(v), "-"); break;
	}
	snprintf(buf, len, "%s%s%s", v, unit && s.value.kind != FB_VALUE_NONE ? " " : "",
		 unit && s.value.kind != FB_VALUE_NONE ? unit : "");
}
