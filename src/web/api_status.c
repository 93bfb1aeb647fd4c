/* SPDX-License-Identifier: Apache-2.0 */
/* GET status: the gateway, each bus as its table shows it (attached,
 * devices online, driver heartbeat) and each connection as configured. */
#include "web-internal.h"
#include "fb_defaults.h"

#include <microhttpd.h>
#include <stdio.h>

static void framing(const struct fb_bus_conf *b, char *buf, size_t len)
{
	switch (b->transport) {
	case FB_BUS_RTU:
		snprintf(buf, len, "RTU %d %d%c%d", b->baud, b->data_bits, b->parity,
			 b->stop_bits);
		break;
	case FB_BUS_TCP:
		snprintf(buf, len, "TCP %s:%d", b->host ? b->host : "?", b->port);
		break;
	case FB_BUS_RTU_OVER_TCP:
		snprintf(buf, len, "RTU over TCP %s:%d", b->host ? b->host : "?", b->port);
		break;
	case FB_BUS_GPIO:
		snprintf(buf, len, "GPIO %s", b->gpio_chip ? b->gpio_chip : "?");
		break;
	}
}

int web_api_status(struct web_req *q)
{
	struct web *w = q->w;
	cJSON *doc = cJSON_CreateObject(), *gw, *buses, *conns, *web;
	int64_t mono = fb_mono_ms();
	char buf[160];

	gw = cJSON_AddObjectToObject(doc, "gateway");
	cJSON_AddStringToObject(gw, "id", w->cfg->gateway_id);
	cJSON_AddStringToObject(gw, "name", w->cfg->gateway_name);
	cJSON_AddStringToObject(doc, "version", FB_VERSION);
	/* Started on a configuration with errors: POST config/validate lists
	 * them; buses appear after a restart on a valid one. */
	cJSON_AddBoolToObject(doc, "degraded", w->degraded);
	buses = cJSON_AddArrayToObject(doc, "buses");
	for (size_t i = 0; i < w->tables.nbus; i++) {
		const struct web_bus *b = &w->tables.bus[i];
		cJSON *o = cJSON_CreateObject();
		size_t online = 0, ndev = b->conf->ndevices;

		cJSON_AddStringToObject(o, "name", b->conf->name);
		framing(b->conf, buf, sizeof(buf));
		cJSON_AddStringToObject(o, "framing", buf);
		cJSON_AddBoolToObject(o, "attached", b->reader != NULL);
		cJSON_AddBoolToObject(o, "alive", web_tables_alive(b));
		if (b->reader) {
			ndev = fb_table_reader_device_count(b->reader);
			for (uint32_t d = 0; d < ndev; d++)
				online += fb_table_reader_device_online(b->reader, d);
			cJSON_AddNumberToObject(o, "heartbeat_age_ms",
				(double)fb_table_reader_heartbeat_age_ms(b->reader, mono));
		}
		cJSON_AddNumberToObject(o, "devices", (double)ndev);
		cJSON_AddNumberToObject(o, "devices_online", (double)online);
		cJSON_AddItemToArray(buses, o);
	}
	conns = cJSON_AddArrayToObject(doc, "connections");
	for (size_t i = 0; i < w->cfg->nconns; i++) {
		const struct fb_conn_conf *c = &w->cfg->conns[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddStringToObject(o, "broker", c->broker);
		cJSON_AddNumberToObject(o, "port", c->port);
		cJSON_AddItemToArray(conns, o);
	}
	web = cJSON_AddObjectToObject(doc, "web");
	cJSON_AddBoolToObject(web, "tls", w->tls);
	if (w->listen) { /* the running listener (it may differ from the files) */
		cJSON *l = cJSON_AddArrayToObject(web, "listen");

		for (size_t i = 0; i < w->listen->nlisten; i++)
			cJSON_AddItemToArray(l, cJSON_CreateString(w->listen->listen[i]));
		cJSON_AddNumberToObject(web, "port", w->listen->port);
	}
	if (w->fingerprint[0])
		cJSON_AddStringToObject(web, "fingerprint", w->fingerprint);
	if (q->session) {
		cJSON_AddStringToObject(doc, "user", q->session->user);
		cJSON_AddStringToObject(doc, "role", web_session_role_name(q->session->role));
	}
	return web_http_json(q, MHD_HTTP_OK, doc);
}
