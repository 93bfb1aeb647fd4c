/* SPDX-License-Identifier: Apache-2.0 */
/* One Modbus transaction: the device's timeouts, the silent interval before
 * the frame, retries on a missing or corrupt answer (never on an exception:
 * the device has spoken), statistics, and the link's health afterwards. */
#include "modbus-internal.h"
#include "log.h"

#include <stdint.h>

#include <errno.h>
#include <time.h>

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool is_exception(int err)
{
	return err > MODBUS_ENOBASE && err <= EMBXGTAR;
}

static void set_timeouts(modbus_t *ctx, const struct mb_device *dev)
{
	int rt = dev->conf->response_timeout_ms, bt = dev->conf->byte_timeout_ms;

	modbus_set_response_timeout(ctx, (uint32_t)(rt / 1000), (uint32_t)(rt % 1000) * 1000);
	if (bt > 0)
		modbus_set_byte_timeout(ctx, (uint32_t)(bt / 1000), (uint32_t)(bt % 1000) * 1000);
}

/* An answer that was not the reply to this request: another transaction
 * id (libmodbus checks it), unit, function or length, or a bad CRC. */
static bool is_mismatch(int err)
{
	return err == EMBBADDATA || err == EMBBADSLAVE || err == EMBBADCRC;
}

/* Late answers to earlier requests are in the receive path: drop them all
 * (ours too, which may still come within the response timeout), so the
 * next request reads its own answer instead of the previous one's for
 * good. */
static void resync(struct mb_driver *d, struct mb_device *dev, int err)
{
	int rt = dev->conf->response_timeout_ms, quiet = rt < 50 ? rt : 50;
	/* Someone else's answer means ours may still be coming; a bad CRC
	 * is as likely noise, which should not cost a whole timeout. */
	int n = mb_link_drain(d, err == EMBBADCRC ? quiet : rt, quiet);

	n += err != EMBBADCRC; /* the answer libmodbus read and refused */
	if (n <= 0)
		return; /* noise: nothing to say per request */
	dev->stats.stale_replies += (uint64_t)n;
	fb_info("bus %s: device %s (unit %d): %d stale replies drained (late answers to "
		"earlier requests; %llu so far)", d->bus->name, dev->conf->id,
		dev->conf->unit_id, n, (unsigned long long)dev->stats.stale_replies);
}

static enum mb_xact xact(struct mb_driver *d, struct mb_device *dev, mb_xact_fn fn, void *arg,
			 int retries, bool interruptible, bool read, int *err_out)
{
	bool resent = false;
	int err = 0;

	if (retries < 0)
		retries = dev->conf->retries;
	for (int attempt = 0; attempt <= retries; attempt++) {
		int64_t t0, elapsed;
		int rc;

		if (!d->ctx) {
			*err_out = ENOTCONN;
			return MB_XACT_LINK_DOWN;
		}
		if (mb_pace_wait(d, interruptible && attempt == 0) > 0)
			return MB_XACT_PREEMPTED;
		modbus_set_slave(d->ctx, dev->conf->unit_id);
		set_timeouts(d->ctx, dev);
		t0 = mono_us();
		rc = fn(d->ctx, arg);
		err = rc < 0 ? errno : 0;
		elapsed = mono_us() - t0;
		/* The definition's request_gap_ms is a floor under the
		 * configured guard time (Heidelberg needs 100 ms). */
		mb_pace_mark(d, dev->conf->guard_time_ms > (int)dev->def->request_gap_ms
					? dev->conf->guard_time_ms : (int)dev->def->request_gap_ms);
		d->busy_us += elapsed;
		mb_stats_account(d, dev, err, elapsed, rc >= 0 || is_exception(err));
		*err_out = err;
		if (rc >= 0)
			return MB_XACT_OK;
		if (is_exception(err))
			return MB_XACT_EXCEPTION;
		if (mb_link_errno_is_fatal(err)) {
			mb_link_close(d, modbus_strerror(err));
			return MB_XACT_LINK_DOWN;
		}
		if (is_mismatch(err)) {
			resync(d, dev, err);
			/* The device is talking: a read gets one more go on the
			 * clean link, so a slave that resumed is not counted dead. */
			if (read && !resent && attempt == retries) {
				resent = true;
				attempt--;
			}
		} else {
			/* A late answer must not be taken as the reply to the retry. */
			mb_link_flush(d);
		}
		if (mb_link_stale(d)) {
			mb_link_close(d, "serial device path now names another device "
				    "(adapter replugged?)");
			return MB_XACT_LINK_DOWN;
		}
	}
	return MB_XACT_NO_ANSWER;
}

enum mb_xact mb_xact_run(struct mb_driver *d, struct mb_device *dev, mb_xact_fn fn,
			 void *arg, int retries, bool interruptible, int *err_out)
{
	return xact(d, dev, fn, arg, retries, interruptible, false, err_out);
}

enum mb_xact mb_xact_read(struct mb_driver *d, struct mb_device *dev, mb_xact_fn fn,
			  void *arg, int retries, bool interruptible, int *err_out)
{
	return xact(d, dev, fn, arg, retries, interruptible, true, err_out);
}
