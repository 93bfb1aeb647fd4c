/* SPDX-License-Identifier: Apache-2.0 */
/* The bus scan engine (docs/bus-scan.md).
 *
 * Safety: only FC03/FC04 reads of one register (plus the reads of the
 * definitions' identify blocks at units that answered), never unit 0,
 * never a write; the driver's pacing keeps t3.5 between frames; libmodbus
 * checks CRC and unit id of every reply.  A reply carrying another unit's
 * id, or bytes waiting before a request, is a late answer to an earlier
 * probe: counted, dropped (flushed) and that unit is probed again with a
 * long timeout.
 *
 * Speed: phase A probes a few ids at every framing, phase B sweeps all ids
 * only at the framings that answered, with a timeout of the frames' wire
 * time plus the turnaround budget. */
#include "scan.h"
#include "config_plan.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LATE_TIMEOUT_MS 1000        /* re-probe of a unit that answered late */
#define SAMPLE_MIN_TIMEOUT_MS 300   /* latency samples of a found unit */

static const int hint_ids[] = { 1, 2, 3, 10, 247 };

struct scan {
	struct mb_driver *d;
	const struct mb_scan_params *p;
	mb_scan_progress_fn cb;
	void *ctx;
	struct mb_scan_result *out;
	const char *phase;
	struct mb_scan_framing cur;
	int64_t t0_us, deadline_us;
	size_t done, total;
	bool stop;
	bool rtu;
	int64_t sent_us[256];            /* last probe of each unit, for late replies */
	bool late[256];
	double late_ms[256];
	bool seen[256];                  /* present at the current framing */
	int a_unit[MB_SCAN_MAX_FRAMINGS]; /* the unit that answered in phase A */
};

enum probe_rc { P_VALUE, P_EXCEPTION, P_ABSENT, P_GARBLED, P_LINK };

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void mb_scan_params_default(struct mb_scan_params *p, bool rtu)
{
	static const int bauds[] = { 9600, 19200, 38400, 115200, 4800, 2400, 57600, 1200 };
	static const char parities[] = { 'E', 'N', 'O' };

	memset(p, 0, sizeof(*p));
	for (int i = 1; i <= 247; i++)
		p->ids[i] = true;
	p->turnaround_ms = 50;
	p->deadline_s = 300;
	if (!rtu)
		return;
	for (size_t b = 0; b < sizeof(bauds) / sizeof(bauds[0]); b++)
		for (size_t q = 0; q < sizeof(parities); q++)
			p->framings[p->nframings++] = (struct mb_scan_framing){
				bauds[b], parities[q], parities[q] == 'N' ? 2 : 1 };
}

int mb_scan_parse_ids(const char *text, bool allow_zero, struct mb_scan_params *p,
		      const char **why)
{
	const char *s = text;
	bool any = false;

	memset(p->ids, 0, sizeof(p->ids));
	while (*s) {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo;

		if (end == s)
			goto bad;
		if (*end == '-') {
			s = end + 1;
			hi = strtol(s, &end, 10);
			if (end == s)
				goto bad;
		}
		if (lo < (allow_zero ? 0 : 1) || hi > (allow_zero ? 255 : 247) || lo > hi) {
			*why = allow_zero ? "unit ids are 0..255 on Modbus TCP"
					  : "unit ids are 1..247 (0 is broadcast: never probed)";
			return -1;
		}
		for (long i = lo; i <= hi; i++)
			p->ids[i] = true;
		any = true;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			goto bad;
	}
	if (any)
		return 0;
bad:
	*why = "expected a list of ids and ranges such as 1-247 or 3,17,100-110";
	return -1;
}

int mb_scan_parse_framings(const char *bauds, const char *parities,
			   struct mb_scan_params *p, const char **why)
{
	int blist[32];
	char plist[4];
	size_t nb = 0, np = 0;
	const char *s;

	for (s = bauds; s && *s;) {
		char *end;
		long b = strtol(s, &end, 10);

		if (end == s || b < 300 || b > 4000000 || nb == 32) {
			*why = "--bauds: expected a list such as 9600,19200";
			return -1;
		}
		blist[nb++] = (int)b;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',') {
			*why = "--bauds: expected a list such as 9600,19200";
			return -1;
		}
	}
	for (s = parities; s && *s; s++) {
		if (*s == ',')
			continue;
		if (!strchr("ENO", *s) || np == sizeof(plist)) {
			*why = "--parities: expected a list of E, N, O such as E,N";
			return -1;
		}
		plist[np++] = *s;
	}
	if (bauds || parities) {
		struct mb_scan_params def;

		mb_scan_params_default(&def, true);
		if (!nb)
			for (size_t i = 0; i < def.nframings; i += 3)
				blist[nb++] = def.framings[i].baud;
		if (!np) {
			memcpy(plist, "ENO", 3);
			np = 3;
		}
		p->nframings = 0;
		for (size_t b = 0; b < nb; b++)
			for (size_t q = 0; q < np && p->nframings < MB_SCAN_MAX_FRAMINGS; q++)
				p->framings[p->nframings++] = (struct mb_scan_framing){
					blist[b], plist[q], plist[q] == 'N' ? 2 : 1 };
	}
	return 0;
}

int mb_scan_parse_options(const char *text, bool tcp, struct mb_scan_params *p,
			  const char **why)
{
	char buf[FB_TABLE_STRING_MAX], *save = NULL;
	char *end;
	long v;

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (!strncmp(t, "ids=", 4)) {
			if (mb_scan_parse_ids(t + 4, tcp, p, why) < 0)
				return -1;
		} else if (!strcmp(t, "first")) {
			p->first = true;
		} else if (!strcmp(t, "fc04")) {
			p->fc04 = true;
		} else if (!strcmp(t, "fc11")) {
			p->fc11 = true;
		} else if (!strncmp(t, "turnaround=", 11) &&
			   (v = strtol(t + 11, &end, 10)) > 0 && v <= 10000 && !*end) {
			p->turnaround_ms = (int)v;
		} else if (!strncmp(t, "deadline=", 9) &&
			   (v = strtol(t + 9, &end, 10)) > 0 && v <= 3600 && !*end) {
			p->deadline_s = (int)v;
		} else {
			*why = "unknown scan option (ids=RANGE, first, fc04, fc11, turnaround=MS, "
			       "deadline=S)";
			return -1;
		}
	}
	return 0;
}

void mb_scan_result_free(struct mb_scan_result *r)
{
	free(r->devices);
	r->devices = NULL;
	r->ndevices = 0;
}

static void set_error(struct scan *s, const char *what, int err)
{
	if (!s->out->error[0])
		snprintf(s->out->error, sizeof(s->out->error), "%s: %s", what,
			 modbus_strerror(err));
	s->stop = true;
}

/* The wire time of a one-register read (request and reply) plus t3.5. */
static int frame_ms(const struct scan *s)
{
	if (!s->rtu)
		return 0;
	return (15 * s->d->char_us + s->d->t35_us + 999) / 1000;
}

static int probe_timeout_ms(const struct scan *s)
{
	return s->rtu ? frame_ms(s) + s->p->turnaround_ms : 2 * s->p->turnaround_ms + 50;
}

/* A reply from another unit than asked: the late answer to an earlier
 * probe of that unit, if it timed out within the last second. */
static void note_other_unit(struct scan *s, int unit)
{
	s->out->late_replies++;
	if (unit > 0 && unit < 256 && s->sent_us[unit] &&
	    mono_us() - s->sent_us[unit] < LATE_TIMEOUT_MS * 1000) {
		s->late[unit] = true;
		s->late_ms[unit] = (double)(mono_us() - s->sent_us[unit]) / 1000.0;
	}
	mb_link_flush(s->d);
}

/* Bytes waiting before a request: the late answer of an earlier probe. */
static void drain_late(struct scan *s)
{
	struct pollfd pfd;
	uint8_t buf[260];
	ssize_t n;

	if (!s->d->ctx || !s->rtu)
		return;
	pfd = (struct pollfd){ .fd = modbus_get_socket(s->d->ctx), .events = POLLIN };
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
		return;
	n = read(pfd.fd, buf, sizeof(buf));
	if (n <= 0)
		return;
	note_other_unit(s, buf[0]);
}

/* The request goes out raw so that a reply from another unit comes back
 * whole (libmodbus' receive returns 0 for it, with its unit id): a late
 * reply then names the unit it belongs to.  CRC and the unit id are still
 * checked by libmodbus; only the PDU of a read is looked at here. */
static int read_raw(modbus_t *ctx, int unit, int fc, uint16_t addr, int count,
		    uint16_t *regs, int *exc, int *other_unit)
{
	uint8_t req[6] = { (uint8_t)unit, (uint8_t)fc, (uint8_t)(addr >> 8), (uint8_t)addr,
			   0, (uint8_t)count };
	uint8_t rsp[MODBUS_MAX_ADU_LENGTH];
	int h = modbus_get_header_length(ctx), rc;

	if (modbus_send_raw_request(ctx, req, sizeof(req)) < 0)
		return -1;
	rc = modbus_receive_confirmation(ctx, rsp);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		*other_unit = rsp[0];
		errno = EMBBADSLAVE;
		return -1;
	}
	if (rsp[h] == (fc | 0x80)) {
		*exc = rsp[h + 1];
		errno = MODBUS_ENOBASE + (rsp[h + 1] <= 0x0B ? rsp[h + 1] : 4);
		return -1;
	}
	if (rsp[h] != fc || rsp[h + 1] != 2 * count || rc < h + 2 + 2 * count) {
		errno = EMBBADDATA;
		return -1;
	}
	for (int i = 0; i < count; i++)
		regs[i] = (uint16_t)(rsp[h + 2 + 2 * i] << 8 | rsp[h + 3 + 2 * i]);
	return count;
}

/* One read of `count` registers with FC `fc` at `unit`. */
static enum probe_rc probe(struct scan *s, int unit, int fc, uint16_t addr, int count,
			   int timeout_ms, uint16_t *regs, int *exc, double *ms)
{
	struct mb_driver *d = s->d;
	int64_t t0;
	int rc, err, other = -1;

	*exc = 0;
	if (!d->ctx)
		return P_LINK;
	drain_late(s);
	mb_pace_wait(d, false);
	modbus_set_slave(d->ctx, unit);
	modbus_set_response_timeout(d->ctx, (uint32_t)(timeout_ms / 1000),
				    (uint32_t)(timeout_ms % 1000) * 1000);
	t0 = mono_us();
	s->sent_us[unit] = t0;
	rc = read_raw(d->ctx, unit, fc, addr, count, regs, exc, &other);
	err = rc < 0 ? errno : 0;
	*ms = (double)(mono_us() - t0) / 1000.0;
	mb_pace_mark(d, 0);
	s->out->probes++;
	if (rc == count)
		return P_VALUE;
	if (err > MODBUS_ENOBASE && err <= EMBXGTAR) {
		/* A TCP gateway's "no path" / "target did not respond": absent. */
		if (!s->rtu && (*exc == 0x0A || *exc == 0x0B)) {
			s->out->gateway_absent++;
			return P_ABSENT;
		}
		return P_EXCEPTION;
	}
	if (err == EMBBADSLAVE) {
		note_other_unit(s, other);
		return P_ABSENT;
	}
	if (err == EMBBADCRC || err == EMBBADDATA || err == EMBMDATA || err == EMBBADEXC ||
	    err == EMBUNKEXC) {
		s->out->crc_errors++;
		mb_link_flush(d);
		return P_GARBLED;
	}
	if (err == ETIMEDOUT || !mb_link_errno_is_fatal(err)) {
		mb_link_flush(d);
		return P_ABSENT;
	}
	mb_link_close(d, NULL);
	set_error(s, "the link broke", err);
	return P_LINK;
}

static void progress(struct scan *s, const struct mb_scan_device *found)
{
	struct mb_scan_progress pr = { .phase = s->phase, .framing = &s->cur,
				       .done = s->done, .total = s->total, .found = found };
	double elapsed = (double)(mono_us() - s->t0_us) / 1e6;

	if (pr.total < pr.done)
		pr.total = pr.done;
	pr.eta_s = s->done ? elapsed / (double)s->done * (double)(pr.total - pr.done) : 0;
	if (s->cb && !s->cb(s->ctx, &pr)) {
		s->out->cancelled = true;
		s->stop = true;
	}
	if (mono_us() > s->deadline_us) {
		s->out->deadline_hit = true;
		s->stop = true;
	}
}

static int framing_open(struct scan *s, const struct mb_scan_framing *f)
{
	struct mb_driver *d = s->d;
	struct fb_bus_conf *bus = d->bus;

	s->cur = *f;
	if (!s->p->nframings) {
		if (!d->ctx && mb_link_connect(d, fb_mono_ms()) < 0) {
			set_error(s, "cannot connect", errno);
			return -1;
		}
		return 0;
	}
	mb_link_close(d, NULL);
	bus->baud = f->baud;
	bus->parity = f->parity;
	bus->stop_bits = f->stop_bits;
	bus->data_bits = 8;
	d->char_us = fb_plan_char_us(bus->baud, bus->parity, bus->data_bits, bus->stop_bits);
	d->t35_us = fb_plan_t35_us(bus->baud, d->char_us);
	d->connect_backoff_ms = 0;
	if (mb_link_connect(d, fb_mono_ms()) < 0) {
		set_error(s, "cannot open the port", errno);
		return -1;
	}
	memset(s->sent_us, 0, sizeof(s->sent_us));
	memset(s->late, 0, sizeof(s->late));
	memset(s->late_ms, 0, sizeof(s->late_ms));
	memset(s->seen, 0, sizeof(s->seen));
	/* A unit found at another parity of this baud (8N2 frames reach an
	 * 8E1 device too) is the same device: not again. */
	for (size_t i = 0; i < s->out->ndevices; i++)
		if (s->out->devices[i].framing.baud == f->baud)
			s->seen[s->out->devices[i].unit] = true;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct id_read {
	struct scan *s;
	int unit;
};

static int identify_read(void *ctx, enum fb_reg_table table, uint16_t address,
			 uint16_t count, uint16_t *regs)
{
	struct id_read *r = ctx;
	int exc;
	double ms;

	for (int attempt = 0; attempt < 2; attempt++) {
		enum probe_rc rc = probe(r->s, r->unit, table == FB_REG_INPUT ? 4 : 3, address,
					 count, SAMPLE_MIN_TIMEOUT_MS, regs, &exc, &ms);

		if (rc == P_VALUE)
			return 0;
		if (rc != P_GARBLED)
			return -1;
	}
	return -1;
}

static void identify(struct scan *s, struct mb_scan_device *dev)
{
	struct id_read r = { s, dev->unit };
	size_t len = 0;

	for (size_t i = 0; i < s->p->ndefs && !s->stop; i++) {
		const struct fb_definition *def = s->p->defs[i];
		size_t n;

		if (!def || !def->nidentify || fb_identify_match(def, dev->unit, identify_read,
								 &r) != 1)
			continue;
		n = strlen(def->id);
		if (len + n + 2 >= sizeof(dev->candidates))
			break;
		if (len)
			dev->candidates[len++] = ',';
		memcpy(dev->candidates + len, def->id, n + 1);
		len += n;
	}
}

/* FC11 "report server id": printable bytes kept, others as \xNN. */
static void report_server_id(struct scan *s, struct mb_scan_device *dev)
{
	struct mb_driver *d = s->d;
	uint8_t buf[MODBUS_MAX_PDU_LENGTH];
	size_t len = 0;
	int rc;

	if (!d->ctx)
		return;
	mb_pace_wait(d, false);
	modbus_set_slave(d->ctx, dev->unit);
	modbus_set_response_timeout(d->ctx, 0, SAMPLE_MIN_TIMEOUT_MS * 1000);
	rc = modbus_report_slave_id(d->ctx, (int)sizeof(buf), buf);
	mb_pace_mark(d, 0);
	s->out->probes++;
	if (rc <= 0) {
		mb_link_flush(d);
		return;
	}
	for (int i = 0; i < rc && len + 5 < sizeof(dev->server_id); i++)
		len += (size_t)snprintf(dev->server_id + len, sizeof(dev->server_id) - len,
					buf[i] >= 0x20 && buf[i] < 0x7F && buf[i] != '\\' ? "%c"
					: "\\x%02X", buf[i]);
}

/* A unit answered (or answered garbled): take latency samples, look for a
 * second device on the id, propose definitions, and record it. */
static void record(struct scan *s, int unit, int fc, enum probe_rc first, int exc,
		   uint16_t value, double first_ms, bool late)
{
	struct mb_scan_result *out = s->out;
	struct mb_scan_device dev, *grown;
	double ms[MB_SCAN_SAMPLES];
	int n = 0, garbled = first == P_GARBLED, answered = 0, timeout;
	bool differ = false, second = false;

	memset(&dev, 0, sizeof(dev));
	dev.unit = unit;
	dev.framing = s->rtu ? s->cur : (struct mb_scan_framing){ 0, 0, 0 };
	dev.fc = fc;
	dev.exception = exc;
	dev.value = value;
	dev.late = late;
	dev.late_ms = late ? s->late_ms[unit] : 0;
	if (first != P_GARBLED)
		ms[n++] = first_ms, answered++;
	timeout = probe_timeout_ms(s) * 3;
	if (timeout < SAMPLE_MIN_TIMEOUT_MS)
		timeout = SAMPLE_MIN_TIMEOUT_MS;
	if (late)
		timeout = LATE_TIMEOUT_MS;
	for (int i = 1; i < MB_SCAN_SAMPLES && !s->stop; i++) {
		uint16_t v;
		int e;
		double t;
		enum probe_rc rc = probe(s, unit, fc, (uint16_t)s->p->address, 1, timeout, &v,
					 &e, &t);
		struct pollfd pfd;

		if (rc == P_LINK)
			return;
		if (rc == P_GARBLED) {
			garbled++;
			continue;
		}
		if (rc == P_ABSENT)
			continue;
		answered++;
		ms[n++] = t;
		if (first == P_GARBLED && answered == 1) {
			dev.exception = exc = e;
			dev.value = value = rc == P_VALUE ? v : 0;
		}
		if ((rc == P_VALUE) != (exc == 0) || (rc == P_VALUE && v != value) ||
		    (rc == P_EXCEPTION && e != exc))
			differ = true;
		/* A second answer right after the first one: two devices. */
		if (s->rtu && s->d->ctx) {
			pfd = (struct pollfd){ .fd = modbus_get_socket(s->d->ctx), .events = POLLIN };
			if (poll(&pfd, 1, 2 * s->d->t35_us / 1000 + 5) == 1) {
				second = true;
				mb_link_flush(s->d);
			}
		}
	}
	qsort(ms, (size_t)n, sizeof(ms[0]), cmp_double);
	dev.samples = n;
	if (n) {
		dev.p50_ms = ms[n / 2];
		dev.p99_ms = ms[n - 1]; /* 8 samples: the slowest is the p99 */
	}
	dev.suggested_timeout_ms = (int)(dev.p99_ms * 2 + 9) / 10 * 10;
	if (dev.suggested_timeout_ms < probe_timeout_ms(s))
		dev.suggested_timeout_ms = (probe_timeout_ms(s) + 9) / 10 * 10;
	if (garbled && answered)
		snprintf(dev.duplicate_why, sizeof(dev.duplicate_why), "%d of %d replies garbled "
			 "(CRC): two devices on one id, or line noise", garbled, garbled + answered);
	else if (garbled)
		snprintf(dev.duplicate_why, sizeof(dev.duplicate_why), "only garbled replies "
			 "(CRC): two devices answering at once");
	else if (second)
		snprintf(dev.duplicate_why, sizeof(dev.duplicate_why), "a second reply followed "
			 "the first");
	else if (differ)
		snprintf(dev.duplicate_why, sizeof(dev.duplicate_why), "replies differ between "
			 "probes");
	dev.duplicate = dev.duplicate_why[0] != '\0';
	/* An exception at register 0 says nothing of the identify registers. */
	if (!dev.duplicate)
		identify(s, &dev);
	if (s->p->fc11 && !dev.duplicate && !s->stop)
		report_server_id(s, &dev);
	grown = realloc(out->devices, (out->ndevices + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		s->stop = true;
		return;
	}
	out->devices = grown;
	out->devices[out->ndevices++] = dev;
	s->seen[unit] = true;
	progress(s, &out->devices[out->ndevices - 1]);
	if (s->p->first)
		s->stop = true;
}

/* One probe of `unit` (FC03, then FC04 if asked and silent); records it
 * if present.  Returns true if something answered. */
static bool probe_unit(struct scan *s, int unit)
{
	uint16_t v = 0;
	int exc;
	double ms;
	enum probe_rc rc = probe(s, unit, 3, (uint16_t)s->p->address, 1, probe_timeout_ms(s),
				 &v, &exc, &ms);
	int fc = 3;

	if (rc == P_ABSENT && s->p->fc04 && !s->stop) {
		rc = probe(s, unit, 4, (uint16_t)s->p->address, 1, probe_timeout_ms(s), &v, &exc,
			   &ms);
		fc = 4;
	}
	s->done++;
	if (rc == P_LINK || rc == P_ABSENT) {
		progress(s, NULL);
		return false;
	}
	record(s, unit, fc, rc, exc, v, ms, false);
	return true;
}

/* Units that answered after the timeout: probe them with a long one. */
static void late_units(struct scan *s)
{
	for (int u = 1; u < 256 && !s->stop; u++) {
		uint16_t v = 0;
		int exc;
		double ms;
		enum probe_rc rc;

		if (!s->late[u] || s->seen[u])
			continue;
		s->late[u] = false;
		rc = probe(s, u, 3, (uint16_t)s->p->address, 1, LATE_TIMEOUT_MS, &v, &exc, &ms);
		if (rc != P_VALUE && rc != P_EXCEPTION && rc != P_GARBLED)
			continue;
		/* Late if a late reply was seen, or it took longer than a probe
		 * may; a phase A unit that merely lost one frame is not. */
		if (!s->late_ms[u] && ms > probe_timeout_ms(s))
			s->late_ms[u] = ms;
		record(s, u, 3, rc, exc, v, ms, s->late_ms[u] > 0);
	}
}

static size_t count_ids(const struct mb_scan_params *p)
{
	size_t n = 0;

	for (int i = 0; i < 256; i++)
		n += p->ids[i];
	return n;
}

/* Phase A's ids: the usual factory ids among those asked for, else the
 * first few asked for. */
static size_t phase_a_ids(const struct mb_scan_params *p, int *ids)
{
	size_t n = 0;

	if (count_ids(p) <= 8) {
		for (int i = 0; i < 256; i++)
			if (p->ids[i])
				ids[n++] = i;
		return n;
	}
	for (size_t i = 0; i < sizeof(hint_ids) / sizeof(hint_ids[0]); i++)
		if (p->ids[hint_ids[i]])
			ids[n++] = hint_ids[i];
	for (int i = 0; i < 256 && n < 5; i++)
		if (p->ids[i] && (i > 3 && i != 10 && i != 247))
			ids[n++] = i;
	return n;
}

static void sweep(struct scan *s, const struct mb_scan_framing *f, int a_unit)
{
	if (framing_open(s, f) < 0)
		return;
	s->phase = "sweep";
	for (int u = 0; u < 256 && !s->stop; u++) {
		if (!s->p->ids[u] || (s->rtu && u == 0))
			continue;
		if (s->seen[u]) {
			s->done++;
			continue;
		}
		probe_unit(s, u);
	}
	/* The last probe's late answer arrives after the sweep. */
	if (!s->stop && s->rtu) {
		usleep((useconds_t)LATE_TIMEOUT_MS / 4 * 1000);
		drain_late(s);
	}
	/* It answered in phase A: silent now means slow (or a lost frame). */
	if (a_unit > 0 && !s->seen[a_unit])
		s->late[a_unit] = true;
	late_units(s);
}

int mb_scan_run(struct mb_driver *d, const struct mb_scan_params *p,
		mb_scan_progress_fn cb, void *ctx, struct mb_scan_result *out)
{
	struct scan *s = calloc(1, sizeof(*s));
	struct mb_scan_framing as_is;
	size_t nids = count_ids(p);

	memset(out, 0, sizeof(*out));
	if (!s)
		return -1;
	s->d = d;
	s->p = p;
	s->cb = cb;
	s->ctx = ctx;
	s->out = out;
	s->rtu = d->bus->transport != FB_BUS_TCP;
	s->t0_us = mono_us();
	s->deadline_us = s->t0_us + (int64_t)p->deadline_s * 1000000;
	as_is = (struct mb_scan_framing){ d->bus->baud, d->bus->parity, d->bus->stop_bits };
	if (p->nframings > 1) {
		int ids[16];
		size_t na = phase_a_ids(p, ids);
		bool answered[MB_SCAN_MAX_FRAMINGS] = { false };

		s->phase = "framing";
		s->total = p->nframings * na + nids;
		for (size_t f = 0; f < p->nframings && !s->stop; f++) {
			if (framing_open(s, &p->framings[f]) < 0)
				break;
			for (size_t i = 0; i < na && !s->stop; i++) {
				uint16_t v;
				int exc;
				double ms;
				enum probe_rc rc = probe(s, ids[i], 3, (uint16_t)p->address, 1,
							 probe_timeout_ms(s), &v, &exc, &ms);

				if (rc == P_VALUE || rc == P_EXCEPTION || rc == P_GARBLED) {
					answered[f] = true;
					s->a_unit[f] = ids[i];
					s->done += na - i;
					break;
				}
				s->done++;
				progress(s, NULL);
			}
			if (answered[f])
				out->framings[out->nframings++] = p->framings[f];
		}
		s->total = s->done + nids * (out->nframings ? out->nframings : p->nframings);
		for (size_t f = 0; f < p->nframings && !s->stop; f++)
			if (answered[f] || !out->nframings)
				sweep(s, &p->framings[f], s->a_unit[f]);
	} else {
		const struct mb_scan_framing *f = p->nframings ? &p->framings[0] : &as_is;

		s->total = nids;
		sweep(s, f, 0);
		for (size_t i = 0; i < out->ndevices && !out->nframings; i++)
			out->framings[out->nframings++] = *f;
	}
	if (!s->rtu && nids >= 10 && out->ndevices >= nids)
		out->ignores_unit_id = true;
	out->elapsed_s = (double)(mono_us() - s->t0_us) / 1e6;
	free(s);
	return 0;
}
