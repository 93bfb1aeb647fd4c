/* SPDX-License-Identifier: Apache-2.0 */
/* Per-device and per-bus statistics, kept in the table as diagnostic points
 * (fb_model_diag_points) after each device's own points.  They are written
 * every STATS_PERIOD_MS, not per request, so they do not turn every poll
 * into an MQTT message. */
#include "modbus-internal.h"
#include "clock.h"

#include <errno.h>
#include <string.h>

#define STATS_PERIOD_MS 10000

void mb_stats_account(struct mb_driver *d, struct mb_device *dev, int err,
		      int64_t elapsed_us, bool answered)
{
	(void)d;
	dev->stats.requests++;
	if (err) {
		dev->stats.errors++;
		if (err == ETIMEDOUT)
			dev->stats.timeouts++;
		else if (err == EMBBADCRC)
			dev->stats.crc_errors++;
	}
	if (answered)
		dev->stats.latency_ms = (double)elapsed_us / 1000.0;
}

/* The periodic statistics are written quietly: they reach readers with
 * their next wake-up (a value change, or the heartbeat watch every few
 * seconds), so an idle bus does not wake every exporter every 10 s.  A
 * forced publish (link up or down) wakes them at once. */
static void put(struct mb_driver *d, const struct mb_device *dev, enum fb_diag_point k,
		const struct fb_value *v, int64_t now_ms, bool force)
{
	uint32_t index = dev->first_diag + (uint32_t)k;

	if (force)
		fb_table_point_write(d->table, index, v, FB_QUALITY_OK, now_ms);
	else
		fb_table_point_write_quiet(d->table, index, v, FB_QUALITY_OK, now_ms);
}

void mb_stats_publish(struct mb_driver *d, int64_t mono_ms, bool force)
{
	int64_t now = fb_now_ms();
	struct fb_value v;

	if (!force && mono_ms < d->next_stats_ms)
		return;
	if (mono_ms > d->window_start_ms) {
		d->utilisation_pct = 100.0 * (double)d->busy_us /
				     (double)((mono_ms - d->window_start_ms) * 1000);
		if (d->utilisation_pct > 100.0)
			d->utilisation_pct = 100.0;
		if (mono_ms - d->window_start_ms >= STATS_PERIOD_MS) {
			d->busy_us = 0;
			d->window_start_ms = mono_ms;
		}
	}
	d->next_stats_ms = mono_ms + STATS_PERIOD_MS;
	for (size_t i = 0; i < d->ndevices; i++) {
		const struct mb_device *dev = &d->devices[i];
		const uint64_t counts[] = { dev->stats.requests, dev->stats.errors,
					    dev->stats.timeouts, dev->stats.crc_errors };

		memset(&v, 0, sizeof(v));
		v.kind = FB_VALUE_UINT;
		for (int k = FB_DIAG_REQUESTS; k <= FB_DIAG_CRC_ERRORS; k++) {
			v.u = counts[k - FB_DIAG_REQUESTS];
			put(d, dev, (enum fb_diag_point)k, &v, now, force);
		}
		v.kind = FB_VALUE_FLOAT;
		v.f = dev->stats.latency_ms;
		put(d, dev, FB_DIAG_LATENCY_MS, &v, now, force);
		v.f = (double)(int64_t)(d->utilisation_pct * 10.0 + 0.5) / 10.0;
		put(d, dev, FB_DIAG_BUS_UTILISATION, &v, now, force);
		memset(&v, 0, sizeof(v));
		v.kind = FB_VALUE_BOOL;
		v.b = d->ctx != NULL;
		put(d, dev, FB_DIAG_BUS_CONNECTED, &v, now, force);
		v.b = d->scanning;
		put(d, dev, FB_DIAG_BUS_SCANNING, &v, now, force);
	}
}
