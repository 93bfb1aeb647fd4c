/* SPDX-License-Identifier: Apache-2.0 */
/* `watch [BUS[/DEVICE[/POINT]]] [--count N] [--timeout S]`: live values
 * from the state tables.  On a terminal a table redrawn as values change;
 * otherwise one line (--json: one NDJSON object) per change.  One poll()
 * loop over the tables and a signalfd for SIGINT/SIGTERM. */
#include "live.h"
#include "clock.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#define REDRAW_MS 500

struct watch {
	const struct ctl *c;
	char bus[FB_TABLE_KEY_MAX * 2], device[FB_TABLE_KEY_MAX], point[FB_TABLE_KEY_MAX];
	bool table;       /* a redrawn table on a terminal */
	bool dirty;
	long count;       /* changes left to print; <0: no limit */
};

static bool wanted(const struct watch *w, const struct ctl_bus *b, uint32_t i)
{
	const struct fb_point_desc *pd = fb_table_reader_point(b->reader, i);

	if (w->device[0] && strcmp(w->device, pd->device))
		return false;
	if (w->point[0])
		return !strcmp(w->point, pd->point);
	/* The driver's own statistics only when asked for by name. */
	return !fb_model_is_diag_key(pd->point);
}

static void on_point(void *ctx, struct ctl_bus *b, uint32_t i)
{
	struct watch *w = ctx;

	if (!wanted(w, b, i) || w->count == 0)
		return;
	if (w->table) {
		w->dirty = true;
	} else if (w->c->json) {
		cJSON *o = ctl_live_point_json(b, i);
		char *s = cJSON_PrintUnformatted(o);

		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
	} else {
		const struct fb_point_desc *pd = fb_table_reader_point(b->reader, i);
		struct fb_point_snapshot snap;
		char v[FB_TABLE_STRING_MAX * 2 + 32];

		fb_table_reader_read(b->reader, i, &snap);
		ctl_live_value_text(b, i, v, sizeof(v));
		printf("%s/%s/%s %s %s\n", b->conf->name, pd->device, pd->point, v,
		       ctl_live_quality_name(snap.quality));
	}
	if (!w->table)
		fflush(stdout);
	if (w->count > 0)
		w->count--;
}

static void draw(struct watch *w, struct ctl_live *l)
{
	int64_t now = fb_now_ms();

	printf("\033[H\033[J%-10s %-16s %-24s %-18s %-10s %s\n", "BUS", "DEVICE", "POINT",
	       "VALUE", "QUALITY", "AGE");
	for (size_t k = 0; k < l->nbus; k++) {
		struct ctl_bus *b = &l->bus[k];

		if (!b->reader) {
			printf("%-10s (driver not running)\n", b->conf->name);
			continue;
		}
		for (uint32_t i = 0; i < fb_table_reader_point_count(b->reader); i++) {
			const struct fb_point_desc *pd = fb_table_reader_point(b->reader, i);
			struct fb_point_snapshot s;
			char v[FB_TABLE_STRING_MAX * 2 + 32], age[24];

			if (!wanted(w, b, i))
				continue;
			fb_table_reader_read(b->reader, i, &s);
			ctl_live_value_text(b, i, v, sizeof(v));
			if (s.read_ts_ms > 0)
				snprintf(age, sizeof(age), "%.1fs",
					 (double)(now - s.read_ts_ms) / 1000.0);
			else
				snprintf(age, sizeof(age), "-");
			printf("%-10s %-16s %-24s %-18s %-10s %s\n", b->conf->name, pd->device,
			       pd->point, v, ctl_live_quality_name(s.quality), age);
		}
	}
	fflush(stdout);
	w->dirty = false;
}

static int parse_args(const struct ctl *c, struct watch *w, long *timeout_ms)
{
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		char *end;

		if ((!strcmp(a, "--count") || !strcmp(a, "--timeout")) && i + 1 < c->argc) {
			double v = strtod(c->argv[++i], &end);

			if (*end || end == c->argv[i] || v < 0)
				return ctl_usage_error(c, "watch: %s expects a number", a);
			if (a[2] == 'c')
				w->count = (long)v;
			else
				*timeout_ms = (long)(v * 1000);
		} else if (a[0] != '-' && !w->bus[0]) {
			if (ctl_live_split(a, w->bus, w->device, w->point, sizeof(w->device)) < 0)
				return ctl_usage_error(c, "watch: expected BUS[/DEVICE[/POINT]], "
						       "not \"%s\"", a);
		} else {
			return ctl_usage_error(c, "watch: unexpected argument \"%s\" (usage: "
					       "watch [BUS[/DEVICE[/POINT]]] [--count N] "
					       "[--timeout S])", a);
		}
	}
	return CTL_OK;
}

int ctl_watch(const struct ctl *c)
{
	struct watch w = { .c = c, .count = -1 };
	struct ctl_live l = { 0 };
	struct fb_diag d;
	long timeout_ms = -1;
	int64_t deadline = 0, last_draw = 0;
	sigset_t sigs;
	int rc, sfd;

	if ((rc = parse_args(c, &w, &timeout_ms)) != CTL_OK)
		return rc;
	w.table = !c->json && isatty(STDOUT_FILENO);
	fb_diag_init(&d);
	rc = ctl_live_open(&l, c->config_path, w.bus[0] ? w.bus : NULL, &d);
	if (rc == CTL_OK && w.device[0] && !ctl_live_device(&l.bus[0], w.device)) {
		fb_diag_error(&d, "no device \"%s\" on bus %s", w.device, w.bus);
		rc = CTL_NOT_FOUND;
	}
	if (rc != CTL_OK) {
		fb_diag_print(&d, stderr);
		fb_diag_free(&d);
		ctl_live_close(&l);
		return rc;
	}
	fb_diag_free(&d);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	l.point = on_point;
	l.ctx = &w;
	if (timeout_ms >= 0)
		deadline = fb_mono_ms() + timeout_ms;
	rc = CTL_OK;
	while (w.count != 0) {
		int64_t now = fb_mono_ms();
		int wait = -1, got;

		if (deadline) {
			if (now >= deadline)
				break;
			wait = (int)(deadline - now);
		}
		if (w.table && (wait < 0 || wait > REDRAW_MS))
			wait = REDRAW_MS;
		got = ctl_live_poll(&l, sfd, wait);
		if (got != 0) {
			if (got < 0)
				rc = CTL_FAILED;
			break; /* a signal: a normal end */
		}
		now = fb_mono_ms();
		/* Redrawn on changes, and every second for the ages. */
		if (w.table && (now - last_draw >= 1000 || (w.dirty && now - last_draw >= REDRAW_MS))) {
			draw(&w, &l);
			last_draw = now;
		}
	}
	if (w.table && w.dirty)
		draw(&w, &l); /* the last changes counted */
	ctl_live_close(&l);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
