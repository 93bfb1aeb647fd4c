/* SPDX-License-Identifier: Apache-2.0 */
/* Loading valid configurations: defaults, explicit values, buses.d/ and
 * connections.d/, paths relative to their file, and the shipped example. */
#include "config_testutil.h"
#include "fb_defaults.h"

static void defaults_of_every_field(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char dir[512];

	td_make(&t);
	fb_diag_init(&d);
	c = td_load_text(&t,
		"{ \"buses\": [ { \"name\": \"meters\", \"transport\": \"tcp\", \"host\": \"10.0.0.2\",\n"
		"    \"devices\": [ { \"id\": \"sdm120_1\", \"definition\": \"eastron-sdm120\" } ] } ],\n"
		"  \"connections\": [ { \"name\": \"ha\", \"user\": \"homeassistant\", \"broker\": \"127.0.0.1\" } ] }\n",
		&d);
	CHECK(c != NULL);
	CHECK_EQ_INT(d.errors, 0);
	CHECK_EQ_INT(d.warnings, 0);
	if (!c) {
		diag_dump(&d);
		goto out;
	}
	/* gateway */
	CHECK(!strcmp(c->gateway_id, "fieldbridge"));
	CHECK(!strcmp(c->gateway_name, "fieldbridge"));
	CHECK(!strcmp(c->state_dir, FB_DEFAULT_STATE_DIR));
	CHECK(c->users_file == NULL);
	CHECK_EQ_INT(c->ndefinition_dirs, 2);
	td_path(&t, "devices", dir, sizeof(dir));
	CHECK(!strcmp(c->definition_dirs[0], dir));
	CHECK(!strcmp(c->definition_dirs[1], FB_DEFAULT_DEVICES_DIR));
	/* bus */
	CHECK_EQ_INT(c->nbuses, 1);
	struct fb_bus_conf *b = &c->buses[0];
	CHECK(!strcmp(b->name, "meters"));
	CHECK_STR_CONTAINS(b->source, "fieldbridge.json");
	CHECK_EQ_INT(b->transport, FB_BUS_TCP);
	CHECK(!strcmp(b->host, "10.0.0.2"));
	CHECK_EQ_INT(b->port, 502);
	CHECK(b->device == NULL);
	CHECK_EQ_INT(b->baud, 9600);
	CHECK_EQ_INT(b->parity, 'N');
	CHECK_EQ_INT(b->data_bits, 8);
	CHECK_EQ_INT(b->stop_bits, 1);
	CHECK_EQ_INT(b->response_timeout_ms, 500);
	CHECK_EQ_INT(b->retries, 1);
	CHECK_EQ_INT(b->offline_after, 3);
	CHECK_EQ_INT(b->poll_interval_ms, 1000);
	CHECK_EQ_INT(b->ndevices, 1);
	/* device */
	struct fb_device_conf *dv = &b->devices[0];
	CHECK(!strcmp(dv->id, "sdm120_1"));
	CHECK(!strcmp(dv->definition, "eastron-sdm120"));
	CHECK_EQ_INT(dv->unit_id, 1);
	CHECK(!strcmp(dv->name, "sdm120_1"));
	CHECK(dv->name_default);
	CHECK(dv->area == NULL);
	CHECK_EQ_INT(dv->poll_interval_ms, 1000);
	CHECK(dv->def == NULL);
	/* connection: name, user and broker given, every other field defaulted */
	CHECK_EQ_INT(c->nconns, 1);
	struct fb_conn_conf *cc = &c->conns[0];
	CHECK(!strcmp(cc->name, "ha"));
	CHECK(!strcmp(cc->user, "homeassistant"));
	CHECK_EQ_INT(cc->mode, FB_CONN_SOCKET);
	CHECK(!strcmp(cc->broker, "127.0.0.1"));
	CHECK_EQ_INT(cc->port, 1883);
	CHECK(cc->auth_user == NULL);
	CHECK(cc->auth_password == NULL);
	CHECK_EQ_INT(cc->ssl, FB_SSL_OFF);
	CHECK(cc->ssl_server_crt == NULL);
	CHECK(cc->ssl_client_crt == NULL);
	CHECK(cc->ssl_client_key == NULL);
	CHECK(cc->ssl_client_key_password == NULL);
	CHECK(cc->hostname_verification);
	CHECK_EQ_INT(cc->qos, 0);
	CHECK(cc->retain);
	CHECK_EQ_INT(cc->timeout_s, 90);
	CHECK_EQ_INT(cc->keep_alive_s, 60);
	CHECK_EQ_INT(cc->max_inflight, 10000);
	CHECK(!strcmp(cc->discovery_prefix, "homeassistant"));
	CHECK(!strcmp(cc->ws_path, "/mqtt"));
	CHECK(!strcmp(cc->node_id, "fieldbridge_ha"));
	/* lookups */
	CHECK(fb_config_bus(c, "meters") == b);
	CHECK(fb_config_bus(c, "nope") == NULL);
	CHECK(fb_config_conn(c, "ha") == cc);
	CHECK(fb_config_conn(c, "nope") == NULL);
	char tn[256];
	fb_config_table_name(c, b, tn, sizeof(tn));
	CHECK(!strcmp(c->runtime_dir, FB_DEFAULT_RUNTIME_DIR));
	CHECK(!strcmp(tn, FB_DEFAULT_RUNTIME_DIR "/fieldbridge.meters"));
out:
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void explicit_values_are_stored(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char p[512];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "tls/ca.crt", "ca\n", 0644, NULL, 0);
	td_write(&t, "tls/client.crt", "crt\n", 0644, NULL, 0);
	td_write(&t, "tls/client.key", "key\n", 0600, NULL, 0);
	c = td_load_text(&t,
		"/* every field set */\n"
		"{ \"gateway\": { \"id\": \"gw-2\", \"name\": \"Barn gateway\", \"state_dir\": \"/run/x\",\n"
		"    \"runtime_dir\": \"/run/fb\",\n"
		"    \"users_file\": \"/etc/u.json\", \"definition_dirs\": [\"/a\", \"b\"] },\n"
		"  \"buses\": [ { \"name\": \"rs485\", \"transport\": \"rtu\", \"device\": \"/dev/ttyUSB0\",\n"
		"    \"baud\": 19200, \"parity\": \"E\", \"data_bits\": 7, \"stop_bits\": 2,\n"
		"    \"response_timeout_ms\": 250, \"retries\": 3, \"offline_after\": 5, \"poll_interval_ms\": 2000,\n"
		"    \"devices\": [ { \"id\": \"m1\", \"definition\": \"eastron-sdm120\", \"unit_id\": 247,\n"
		"       \"name\": \"Meter\", \"area\": \"Barn\", \"poll_interval_ms\": 500 },\n"
		"       { \"id\": \"m2\", \"definition\": \"eastron-sdm120\", \"unit_id\": \"0x10\" } ] },\n"
		"   { \"name\": \"gw\", \"transport\": \"rtu_over_tcp\", \"host\": \"::1\", \"port\": 4196,\n"
		"    \"devices\": [ { \"id\": \"t0\", \"definition\": \"x\", \"unit_id\": 1 } ] },\n"
		"   { \"name\": \"tcp0\", \"transport\": \"tcp\", \"host\": \"plc.example.com\",\n"
		"    \"devices\": [ { \"id\": \"u0\", \"definition\": \"x\", \"unit_id\": 0 }, { \"id\": \"u255\", \"definition\": \"x\", \"unit_id\": 255 } ] } ],\n"
		"  \"connections\": [ { \"name\": \"ha\", \"user\": \"u1\", \"connection_mode\": \"websocket\",\n"
		"    \"broker\": \"broker.lan\", \"port\": 8884, \"auth_user\": \"fb\",\n"
		"    \"ssl\": \"trust all\", \"ssl_server_crt\": \"tls/ca.crt\", \"ssl_client_crt\": \"tls/client.crt\",\n"
		"    \"ssl_client_key\": \"tls/client.key\", \"hostname_verification\": \"off\", \"qos\": 2,\n"
		"    \"retain\": \"off\", \"timeout_s\": 0, \"keep_alive_s\": 3600, \"max_inflight\": 65000,\n"
		"    \"discovery_prefix\": \"ha/discovery\", \"ws_path\": \"/ws\", \"node_id\": \"Barn_GW-1\" },\n"
		"   { \"name\": \"ha2\", \"user\": \"u2\", \"broker\": \"broker.lan\", \"port\": 1883, \"ssl\": \"trust_all\",\n"
		"     \"retain\": false, \"hostname_verification\": \"on\", \"max_inflight\": 1 },\n"
		"   { \"name\": \"ha3\", \"user\": \"u3\", \"broker\": \"10.1.1.1\", \"ssl\": \"on\" } ] }\n",
		&d);
	CHECK(c != NULL);
	CHECK_EQ_INT(d.errors, 0);
	if (!c) {
		diag_dump(&d);
		goto out;
	}
	CHECK(!strcmp(c->gateway_id, "gw-2"));
	CHECK(!strcmp(c->gateway_name, "Barn gateway"));
	CHECK(!strcmp(c->state_dir, "/run/x"));
	CHECK(!strcmp(c->runtime_dir, "/run/fb"));
	CHECK(!strcmp(c->users_file, "/etc/u.json"));
	CHECK_EQ_INT(c->ndefinition_dirs, 2);
	CHECK(!strcmp(c->definition_dirs[0], "/a"));
	td_path(&t, "b", p, sizeof(p));
	CHECK(!strcmp(c->definition_dirs[1], p));

	struct fb_bus_conf *b = fb_config_bus(c, "rs485");
	CHECK(b != NULL);
	if (b) {
		CHECK_EQ_INT(b->transport, FB_BUS_RTU);
		CHECK(!strcmp(b->device, "/dev/ttyUSB0"));
		CHECK_EQ_INT(b->baud, 19200);
		CHECK_EQ_INT(b->parity, 'E');
		CHECK_EQ_INT(b->data_bits, 7);
		CHECK_EQ_INT(b->stop_bits, 2);
		CHECK_EQ_INT(b->response_timeout_ms, 250);
		CHECK_EQ_INT(b->retries, 3);
		CHECK_EQ_INT(b->offline_after, 5);
		CHECK_EQ_INT(b->poll_interval_ms, 2000);
		CHECK_EQ_INT(b->ndevices, 2);
		CHECK_EQ_INT(b->devices[0].unit_id, 247);
		CHECK(!strcmp(b->devices[0].name, "Meter"));
		CHECK(!b->devices[0].name_default);
		CHECK(!strcmp(b->devices[0].area, "Barn"));
		CHECK_EQ_INT(b->devices[0].poll_interval_ms, 500);
		CHECK_EQ_INT(b->devices[1].unit_id, 16);
		CHECK_EQ_INT(b->devices[1].poll_interval_ms, 2000); /* the bus's */
	}
	b = fb_config_bus(c, "gw");
	CHECK(b && b->transport == FB_BUS_RTU_OVER_TCP && b->port == 4196 &&
	      !strcmp(b->host, "::1"));
	b = fb_config_bus(c, "tcp0");
	CHECK(b && b->devices[0].unit_id == 0 && b->devices[1].unit_id == 255);

	struct fb_conn_conf *cc = fb_config_conn(c, "ha");
	CHECK(cc != NULL);
	if (cc) {
		CHECK_EQ_INT(cc->mode, FB_CONN_WEBSOCKET);
		CHECK(!strcmp(cc->broker, "broker.lan"));
		CHECK_EQ_INT(cc->port, 8884);
		CHECK(!strcmp(cc->auth_user, "fb"));
		CHECK_EQ_INT(cc->ssl, FB_SSL_TRUST_ALL);
		td_path(&t, "tls/ca.crt", p, sizeof(p));
		CHECK(!strcmp(cc->ssl_server_crt, p));
		td_path(&t, "tls/client.key", p, sizeof(p));
		CHECK(!strcmp(cc->ssl_client_key, p));
		CHECK(!cc->hostname_verification);
		CHECK_EQ_INT(cc->qos, 2);
		CHECK(!cc->retain);
		CHECK_EQ_INT(cc->timeout_s, 0);
		CHECK_EQ_INT(cc->keep_alive_s, 3600);
		CHECK_EQ_INT(cc->max_inflight, 65000);
		CHECK(!strcmp(cc->discovery_prefix, "ha/discovery"));
		CHECK(!strcmp(cc->ws_path, "/ws"));
		CHECK(!strcmp(cc->node_id, "Barn_GW-1"));
	}
	cc = fb_config_conn(c, "ha2");
	CHECK(cc && cc->ssl == FB_SSL_TRUST_ALL && !cc->retain && cc->hostname_verification &&
	      cc->max_inflight == 1 && !strcmp(cc->node_id, "gw-2_ha2"));
	cc = fb_config_conn(c, "ha3");
	CHECK(cc && cc->ssl == FB_SSL_ON && cc->ssl_server_crt == NULL);
out:
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void dropin_dirs_load_sorted_and_name_from_stem(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char p[512];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "buses.d/zeta.json",
		 "// named by its file\n{ \"transport\": \"rtu\", \"device\": \"/dev/ttyS1\",\n"
		 "  \"devices\": [ { \"id\": \"z1\", \"definition\": \"x\" } ] }\n", 0644, NULL, 0);
	td_write(&t, "buses.d/alpha.json",
		 "{ \"name\": \"renamed\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		 "  \"devices\": [ { \"id\": \"a1\", \"definition\": \"x\" } ] }\n", 0644, NULL, 0);
	td_write(&t, "buses.d/.hidden.json", "not json", 0644, NULL, 0);
	td_write(&t, "buses.d/README.txt", "not json", 0644, NULL, 0);
	td_write(&t, "buses.d/old.json.bak", "not json", 0644, NULL, 0);
	td_write(&t, "connections.d/second.json",
		 "{ \"user\": \"u\", \"broker\": \"10.0.0.9\", \"ssl\": \"on\",\n"
		 "  \"ssl_server_crt\": \"ca.crt\" }\n", 0644, NULL, 0);
	td_write(&t, "connections.d/ca.crt", "ca\n", 0644, NULL, 0);
	c = td_load_text(&t,
		"{ \"buses\": [ { \"name\": \"main\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		"    \"devices\": [ { \"id\": \"m1\", \"definition\": \"x\" } ] } ],\n"
		"  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"127.0.0.1\" } ] }\n",
		&d);
	CHECK(c != NULL);
	if (!c) {
		diag_dump(&d);
		goto out;
	}
	CHECK_EQ_INT(c->nbuses, 3);
	CHECK(!strcmp(c->buses[0].name, "main"));
	CHECK(!strcmp(c->buses[1].name, "renamed")); /* alpha.json sorts first */
	CHECK(!strcmp(c->buses[2].name, "zeta"));
	CHECK_STR_CONTAINS(c->buses[2].source, "buses.d/zeta.json");
	CHECK_EQ_INT(c->buses[2].transport, FB_BUS_RTU);
	CHECK_EQ_INT(c->nconns, 2);
	CHECK(!strcmp(c->conns[1].name, "second"));
	CHECK(!strcmp(c->conns[1].node_id, "fieldbridge_second"));
	/* relative to connections.d/, the directory of the file */
	td_path(&t, "connections.d/ca.crt", p, sizeof(p));
	CHECK(c->conns[1].ssl_server_crt && !strcmp(c->conns[1].ssl_server_crt, p));
out:
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void relative_paths_follow_the_main_file(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char p[512], cwd[512];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "fieldbridge.json",
		 "{ \"gateway\": { \"users_file\": \"users.json\", \"state_dir\": \"state\",\n"
		 "               \"definition_dirs\": [\"defs\", \"../shared/defs\", \"/opt/defs\"] },\n"
		 "  \"buses\": [], \"connections\": [] }\n", 0600, NULL, 0);
	/* Loaded by a relative name from another directory. */
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(chdir(t.path) == 0);
	c = fb_config_load("fieldbridge.json", &d);
	CHECK(chdir("/") == 0);
	CHECK(chdir(cwd) == 0);
	CHECK(c != NULL);
	CHECK_DIAG(&d, FB_SEV_WARNING, "fieldbridge.json: no buses configured");
	if (!c) {
		diag_dump(&d);
		goto out;
	}
	td_path(&t, "users.json", p, sizeof(p));
	CHECK(!strcmp(c->users_file, p));
	td_path(&t, "state", p, sizeof(p));
	CHECK(!strcmp(c->state_dir, p));
	td_path(&t, "defs", p, sizeof(p));
	CHECK(!strcmp(c->definition_dirs[0], p));
	td_path(&t, "../shared/defs", p, sizeof(p));
	CHECK(!strcmp(c->definition_dirs[1], p));
	CHECK(!strcmp(c->definition_dirs[2], "/opt/defs"));
out:
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void broker_accepts_names_and_addresses(void)
{
	static const char *const ok[] = {
		"127.0.0.1", "localhost", "broker.lan", "mqtt-1.example.com", "::1",
		"fe80::1", "2001:db8::42", "core_mosquitto", "BROKER.LAN", NULL,
	};

	for (int i = 0; ok[i]; i++) {
		struct tdir t;
		struct fb_diag d;
		struct fb_config *c;
		char text[512];

		td_make(&t);
		fb_diag_init(&d);
		snprintf(text, sizeof(text),
			 "{ \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"%s\" } ] }",
			 ok[i]);
		c = td_load_text(&t, text, &d);
		if (!c) {
			fprintf(stderr, "broker \"%s\" refused:\n", ok[i]);
			diag_dump(&d);
		}
		CHECK(c != NULL);
		fb_config_free(c);
		fb_diag_free(&d);
		td_remove(&t);
	}
}

static void unknown_fields_are_errors_with_a_suggestion(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	c = td_load_text(&t,
		"{ \"_comment\": \"ignored\", \"gatway\": {},\n"
		"  \"gateway\": { \"nmae\": \"x\" },\n"
		"  \"buses\": [ { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\", \"adress\": 1,\n"
		"    \"devices\": [ { \"id\": \"d\", \"definition\": \"x\", \"unitid\": 3 } ] } ],\n"
		"  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"qoss\": 1 } ] }\n",
		&d);
	CHECK(c == NULL);
	CHECK_EQ_INT(d.errors, 5);
	CHECK_EQ_INT(d.warnings, 0);
	CHECK_DIAG(&d, FB_SEV_ERROR,
		   "fieldbridge.json: unknown field \"gatway\": did you mean \"gateway\"?");
	CHECK_DIAG(&d, FB_SEV_ERROR,
		   "fieldbridge.json: gateway: unknown field \"nmae\": did you mean \"name\"?");
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json: buses[0] (b): unknown field \"adress\": "
		   "expected one of name, transport, host, port, device, baud");
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json: buses[0] (b).devices[0] (d): unknown "
		   "field \"unitid\": did you mean \"unit_id\"?");
	CHECK_DIAG(&d, FB_SEV_ERROR,
		   "fieldbridge.json: connections[0] (ha): unknown field \"qoss\": did you mean \"qos\"?");
	CHECK(diag_find(&d, FB_SEV_ERROR, "_comment") == NULL);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

/* Typos that would otherwise run with a default (no buses, 9600 baud). */
static void typo_bus_and_baudrate_are_not_configuration_ok(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	c = td_load_text(&t,
		"{ \"bus\": [ { \"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\",\n"
		"              \"baudrate\": 2400 } ] }\n", &d);
	CHECK(c == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR,
		   "fieldbridge.json: unknown field \"bus\": did you mean \"buses\"?");
	fb_diag_free(&d);
	fb_diag_init(&d);
	c = td_load_text(&t,
		"{ \"buses\": [ { \"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\",\n"
		"                \"baudrate\": 2400 } ] }\n", &d);
	CHECK(c == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR,
		   "fieldbridge.json: buses[0] (b): unknown field \"baudrate\": did you mean \"baud\"?");
	fb_diag_free(&d);
	td_remove(&t);
}

static void irrelevant_fields_warn(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "tls/ca.crt", "x", 0644, NULL, 0);
	c = td_load_text(&t,
		"{ \"buses\": [ { \"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/ttyS0\", \"host\": \"h\",\n"
		"    \"devices\": [ { \"id\": \"d\", \"definition\": \"x\", \"unit_id\": 3 },\n"
		"                   { \"id\": \"e\", \"definition\": \"x\", \"unit_id\": 3 } ] },\n"
		"    { \"name\": \"empty\", \"transport\": \"tcp\", \"host\": \"h\" } ],\n"
		"  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\",\n"
		"     \"ssl_server_crt\": \"tls/ca.crt\" } ] }\n",
		&d);
	CHECK(c != NULL);
	CHECK_DIAG(&d, FB_SEV_WARNING, "fieldbridge.json: buses[0] (b).host: ignored for transport rtu");
	CHECK_DIAG(&d, FB_SEV_WARNING,
		   "fieldbridge.json: buses[0] (b).devices[1] (e).unit_id: 3 is also the unit_id of device d");
	CHECK_DIAG(&d, FB_SEV_WARNING, "fieldbridge.json: buses[1] (empty).devices: no devices");
	CHECK_DIAG(&d, FB_SEV_WARNING,
		   "fieldbridge.json: connections[0] (ha).ssl_server_crt: ignored because ssl is off");
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void shipped_example_loads_cleanly(void)
{
	struct fb_diag d;
	struct fb_config *c;

	fb_diag_init(&d);
	c = fb_config_load(FB_SOURCE_DIR "/conf/fieldbridge.json", &d);
	CHECK(c != NULL);
	CHECK_EQ_INT(d.errors, 0);
	CHECK_EQ_INT(d.warnings, 0);
	if (d.count)
		diag_dump(&d);
	if (c) {
		struct fb_bus_conf *b = fb_config_bus(c, "meters");

		CHECK(b != NULL);
		CHECK(b && b->ndevices == 2 && !strcmp(b->devices[0].definition, "eastron-sdm120") &&
		      !strcmp(b->devices[1].definition, "waveshare-relay-8ch"));
		CHECK_EQ_INT(c->nconns, 1);
		CHECK(!strcmp(c->conns[0].broker, "127.0.0.1") && c->conns[0].port == 1883 &&
		      !strcmp(c->conns[0].user, "homeassistant"));
	}
	fb_config_free(c);
	fb_diag_free(&d);
}

static void interval_set(void)
{
	static const int ok[] = { 0, 10, 15, 30, 60, 90, 120, 150, 180, 300, 600, 1200, 1800, 3600 };
	static const int bad[] = { -1, 1, 5, 45, 61, 100, 3599, 3601, 7200 };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(fb_config_interval_valid(ok[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!fb_config_interval_valid(bad[i]));
	fb_config_free(NULL);
}

int main(void)
{
	RUN_TEST(defaults_of_every_field);
	RUN_TEST(explicit_values_are_stored);
	RUN_TEST(dropin_dirs_load_sorted_and_name_from_stem);
	RUN_TEST(relative_paths_follow_the_main_file);
	RUN_TEST(broker_accepts_names_and_addresses);
	RUN_TEST(unknown_fields_are_errors_with_a_suggestion);
	RUN_TEST(typo_bus_and_baudrate_are_not_configuration_ok);
	RUN_TEST(irrelevant_fields_warn);
	RUN_TEST(shipped_example_loads_cleanly);
	RUN_TEST(interval_set);
	return fb_test_finish();
}
