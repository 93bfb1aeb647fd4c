/* SPDX-License-Identifier: Apache-2.0 */
/* What a scan found, as one JSON document (--json, the web), a table for a
 * terminal, and one line per device for the driver's results ring. */
#include "scan.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void how(char *buf, size_t len, const struct mb_scan_device *dev)
{
	if (!dev->samples)
		snprintf(buf, len, "garbled replies only (CRC) to fc%02d@0", dev->fc);
	else if (dev->exception)
		snprintf(buf, len, "exception %02X to fc%02d@0", dev->exception, dev->fc);
	else
		snprintf(buf, len, "fc%02d value %u", dev->fc, dev->value);
}

static void parity_text(char *buf, const struct mb_scan_framing *f)
{
	buf[0] = f->parity ? f->parity : '-';
	buf[1] = '\0';
}

void mb_scan_report_json(FILE *f, const struct fb_bus_conf *bus,
			 const struct mb_scan_result *r)
{
	cJSON *root = cJSON_CreateObject(), *devs = cJSON_AddArrayToObject(root, "devices");
	cJSON *fr = cJSON_AddArrayToObject(root, "framings_found");
	char buf[128], *text;

	cJSON_AddStringToObject(root, "transport", bus->transport == FB_BUS_TCP ? "tcp" :
				bus->transport == FB_BUS_RTU ? "rtu" : "rtu_over_tcp");
	if (bus->transport == FB_BUS_RTU)
		cJSON_AddStringToObject(root, "device", bus->device);
	else {
		cJSON_AddStringToObject(root, "host", bus->host);
		cJSON_AddNumberToObject(root, "port", bus->port);
	}
	for (size_t i = 0; i < r->nframings; i++) {
		cJSON *o = cJSON_CreateObject();

		parity_text(buf, &r->framings[i]);
		cJSON_AddNumberToObject(o, "baud", r->framings[i].baud);
		cJSON_AddStringToObject(o, "parity", buf);
		cJSON_AddNumberToObject(o, "stop_bits", r->framings[i].stop_bits);
		cJSON_AddItemToArray(fr, o);
	}
	for (size_t i = 0; i < r->ndevices; i++) {
		const struct mb_scan_device *d = &r->devices[i];
		cJSON *o = cJSON_CreateObject(), *c = cJSON_CreateArray();
		char cand[sizeof(d->candidates)], *save = NULL;

		cJSON_AddNumberToObject(o, "unit_id", d->unit);
		if (d->framing.baud) {
			parity_text(buf, &d->framing);
			cJSON_AddNumberToObject(o, "baud", d->framing.baud);
			cJSON_AddStringToObject(o, "parity", buf);
			cJSON_AddNumberToObject(o, "stop_bits", d->framing.stop_bits);
		}
		how(buf, sizeof(buf), d);
		cJSON_AddStringToObject(o, "how", buf);
		if (d->exception)
			cJSON_AddNumberToObject(o, "exception", d->exception);
		else if (d->samples)
			cJSON_AddNumberToObject(o, "value", d->value);
		cJSON_AddNumberToObject(o, "latency_ms_p50", d->p50_ms);
		cJSON_AddNumberToObject(o, "latency_ms_p99", d->p99_ms);
		cJSON_AddNumberToObject(o, "samples", d->samples);
		cJSON_AddNumberToObject(o, "suggested_response_timeout_ms",
					d->suggested_timeout_ms);
		cJSON_AddBoolToObject(o, "late_reply", d->late);
		if (d->late) {
			snprintf(buf, sizeof(buf), "late reply from unit %d after %.0f ms; raise "
				 "response_timeout_ms", d->unit, d->late_ms);
			cJSON_AddStringToObject(o, "late_note", buf);
		}
		cJSON_AddBoolToObject(o, "duplicate_suspect", d->duplicate);
		if (d->duplicate)
			cJSON_AddStringToObject(o, "duplicate_why", d->duplicate_why);
		memcpy(cand, d->candidates, sizeof(cand));
		for (char *t = strtok_r(cand, ",", &save); t; t = strtok_r(NULL, ",", &save))
			cJSON_AddItemToArray(c, cJSON_CreateString(t));
		cJSON_AddItemToObject(o, "definition_candidates", c);
		if (d->server_id[0])
			cJSON_AddStringToObject(o, "server_id", d->server_id);
		cJSON_AddItemToArray(devs, o);
	}
	cJSON_AddNumberToObject(root, "probes", r->probes);
	cJSON_AddNumberToObject(root, "late_replies", r->late_replies);
	cJSON_AddNumberToObject(root, "crc_errors", r->crc_errors);
	cJSON_AddNumberToObject(root, "gateway_absent", r->gateway_absent);
	cJSON_AddBoolToObject(root, "ignores_unit_id", r->ignores_unit_id);
	cJSON_AddBoolToObject(root, "deadline_hit", r->deadline_hit);
	cJSON_AddBoolToObject(root, "cancelled", r->cancelled);
	cJSON_AddNumberToObject(root, "elapsed_s", (double)(long)(r->elapsed_s * 1000) / 1000);
	if (r->error[0])
		cJSON_AddStringToObject(root, "error", r->error);
	text = cJSON_Print(root);
	if (text)
		fprintf(f, "%s\n", text);
	free(text);
	cJSON_Delete(root);
}

void mb_scan_report_line(char *buf, size_t len, const struct mb_scan_device *d)
{
	char par[2], ans[24];

	parity_text(par, &d->framing);
	if (!d->samples)
		snprintf(ans, sizeof(ans), "garbled");
	else if (d->exception)
		snprintf(ans, sizeof(ans), "x=%02X", d->exception);
	else
		snprintf(ans, sizeof(ans), "v=%u", d->value);
	snprintf(buf, len, "unit=%d %d/%s/%d fc=%d %s p50=%.0f p99=%.0f to=%d%s%s", d->unit,
		 d->framing.baud, par, d->framing.stop_bits, d->fc, ans, d->p50_ms, d->p99_ms,
		 d->suggested_timeout_ms, d->late ? " late" : "", d->duplicate ? " dup" : "");
}

void mb_scan_report_text(FILE *f, const struct mb_scan_result *r)
{
	char h[64], par[2];

	if (r->error[0] && !r->probes) {
		fprintf(f, "scan stopped: %s\n", r->error);
		return;
	}
	if (!r->ndevices)
		fprintf(f, "no device answered (%u probes, %.1f s)\n", r->probes, r->elapsed_s);
	else
		fprintf(f, "%-5s %-7s %-3s %-4s %-30s %-9s %-9s %-8s %s\n", "unit", "baud", "par",
			"stop", "answered", "p50/p99", "timeout", "flags", "definitions");
	for (size_t i = 0; i < r->ndevices; i++) {
		const struct mb_scan_device *d = &r->devices[i];
		char lat[32], flags[32];

		how(h, sizeof(h), d);
		parity_text(par, &d->framing);
		snprintf(lat, sizeof(lat), "%.0f/%.0f", d->p50_ms, d->p99_ms);
		snprintf(flags, sizeof(flags), "%s%s", d->late ? "late " : "",
			 d->duplicate ? "DUPLICATE" : "");
		fprintf(f, "%-5d %-7d %-3s %-4d %-30s %-9s %-9d %-8s %s\n", d->unit,
			d->framing.baud, par, d->framing.stop_bits, h, lat,
			d->suggested_timeout_ms, flags[0] ? flags : "-",
			d->candidates[0] ? d->candidates : "-");
		if (d->late)
			fprintf(f, "      late reply from unit %d after %.0f ms; raise "
				"response_timeout_ms\n", d->unit, d->late_ms);
		if (d->duplicate)
			fprintf(f, "      duplicate address suspected: %s\n", d->duplicate_why);
	}
	fprintf(f, "%u probes in %.1f s; %u late replies, %u CRC errors%s%s%s\n", r->probes,
		r->elapsed_s, r->late_replies, r->crc_errors,
		r->ignores_unit_id ? "; the TCP device ignores the unit id" : "",
		r->deadline_hit ? "; stopped at the deadline" : "",
		r->cancelled ? "; cancelled" : "");
	if (r->error[0])
		fprintf(f, "scan stopped: %s\n", r->error);
}
