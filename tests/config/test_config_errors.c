/* SPDX-License-Identifier: Apache-2.0 */
/* Every invalid value of every validated field is refused with a message
 * naming the file, the JSON path and field, and what was expected. */
#include "config_testutil.h"

struct bad_case {
	const char *fields;   /* spliced into the object under test */
	const char *expected; /* substring of one error */
};

#define CONN_WHERE "fieldbridge.json: connections[0] (ha)"
#define BUS_WHERE "fieldbridge.json: buses[0] (b)"
#define DEV_WHERE "fieldbridge.json: buses[0] (b).devices[0] (d1)"
#define INTERVALS "expected one of 0, 10, 15, 30, 60, 90, 120, 150, 180, 300, 600, 1200, 1800, 3600 (seconds)"

static const struct bad_case conn_cases[] = {
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"port\": 70000",
	  CONN_WHERE ".port: expected 1..65535, got 70000" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"port\": 0",
	  CONN_WHERE ".port: expected 1..65535, got 0" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"port\": \"mqtt\"",
	  CONN_WHERE ".port: expected an integer" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"qos\": 3",
	  CONN_WHERE ".qos: expected 0..2, got 3" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"qos\": -1",
	  CONN_WHERE ".qos: expected 0..2, got -1" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"timeout_s\": 45",
	  CONN_WHERE ".timeout_s: " INTERVALS ", got 45" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"timeout_s\": -10",
	  CONN_WHERE ".timeout_s: " INTERVALS ", got -10" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"keep_alive_s\": 5",
	  CONN_WHERE ".keep_alive_s: " INTERVALS ", got 5" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"keep_alive_s\": 7200",
	  CONN_WHERE ".keep_alive_s: " INTERVALS ", got 7200" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"max_inflight\": 0",
	  CONN_WHERE ".max_inflight: expected 1..65000, got 0" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"max_inflight\": 65001",
	  CONN_WHERE ".max_inflight: expected 1..65000, got 65001" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"retain\": \"maybe\"",
	  CONN_WHERE ".retain: expected true/false or \"on\"/\"off\", got maybe" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"hostname_verification\": 1",
	  CONN_WHERE ".hostname_verification: expected true/false or \"on\"/\"off\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"connection_mode\": \"tcp\"",
	  CONN_WHERE ".connection_mode: expected one of socket, websocket, got \"tcp\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl\": \"yes\"",
	  CONN_WHERE ".ssl: expected one of off, on, trust_all, got \"yes\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl\": 1",
	  CONN_WHERE ".ssl: expected one of off, on, trust_all, got a number" },
	/* broker: a host or name, no scheme, no port */
	{ "\"name\": \"ha\", \"user\": \"u\"",
	  CONN_WHERE ".broker: required field is missing" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"mqtt://x\"",
	  CONN_WHERE ".broker: expected a host name or IP address without a scheme" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"tcp://\"",
	  CONN_WHERE ".broker: expected a host name or IP address without a scheme" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"x:1883\"",
	  CONN_WHERE ".broker: expected a host name or IP address without a port" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"x:1883\"", "got \"x:1883\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"192.168.1.2:1883\"",
	  CONN_WHERE ".broker: expected a host name or IP address without a port" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"[::1]\"",
	  CONN_WHERE ".broker: expected an IPv6 address without brackets" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"[::1]:1883\"",
	  CONN_WHERE ".broker: expected an IPv6 address without brackets and without a port" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"my broker\"",
	  CONN_WHERE ".broker: expected a host name or IP address without spaces, got \"my broker\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \" h\"",
	  CONN_WHERE ".broker: expected a host name or IP address without spaces" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"\"",
	  CONN_WHERE ".broker: expected a host name or IP address, not an empty string" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h/mqtt\"",
	  CONN_WHERE ".broker: expected a host name or IP address (letters, digits" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"a..b\"",
	  CONN_WHERE ".broker: expected a host name or IP address (no empty labels" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": 1883",
	  CONN_WHERE ".broker: expected a string, got a number" },
	/* user and name */
	{ "\"name\": \"ha\", \"broker\": \"h\"",
	  CONN_WHERE ".user: required field is missing" },
	{ "\"name\": \"ha\", \"broker\": \"h\", \"user\": \"\"",
	  CONN_WHERE ".user: expected the name of a gateway user account, got an empty string" },
	{ "\"name\": \"ha\", \"broker\": \"h\", \"user\": 7",
	  CONN_WHERE ".user: expected a string, got a number" },
	{ "\"user\": \"u\", \"broker\": \"h\"",
	  "fieldbridge.json: connections[0].name: required field is missing" },
	{ "\"name\": \"HA\", \"user\": \"u\", \"broker\": \"h\"",
	  "fieldbridge.json: connections[0] (HA).name: expected a connection name of 1..31 "
	  "characters from a-z, 0-9, '_' and '-', got \"HA\"" },
	{ "\"name\": \"abcdefghijabcdefghijabcdefghijab\", \"user\": \"u\", \"broker\": \"h\"",
	  ".name: expected a connection name of 1..31 characters" },
	{ "\"name\": \"\", \"user\": \"u\", \"broker\": \"h\"",
	  "fieldbridge.json: connections[0] ().name: expected a connection name" },
	/* topics and ids */
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"discovery_prefix\": \"ha/#\"",
	  CONN_WHERE ".discovery_prefix: expected a non-empty MQTT topic without wildcards "
	  "'+' or '#' and without a leading or trailing '/' (e.g. \"homeassistant\"), got \"ha/#\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"discovery_prefix\": \"ha/+/x\"",
	  CONN_WHERE ".discovery_prefix: expected a non-empty MQTT topic" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"discovery_prefix\": \"/ha\"",
	  CONN_WHERE ".discovery_prefix: expected a non-empty MQTT topic" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"discovery_prefix\": \"ha/\"",
	  CONN_WHERE ".discovery_prefix: expected a non-empty MQTT topic" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"discovery_prefix\": \"\"",
	  CONN_WHERE ".discovery_prefix: expected a non-empty MQTT topic" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ws_path\": \"mqtt\"",
	  CONN_WHERE ".ws_path: expected a URL path starting with '/' (e.g. \"/mqtt\"), got \"mqtt\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"node_id\": \"my node\"",
	  CONN_WHERE ".node_id: expected letters, digits, '_' and '-' only, got \"my node\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"node_id\": \"a.b\"",
	  CONN_WHERE ".node_id: expected letters, digits, '_' and '-' only, got \"a.b\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"node_id\": \"\"",
	  CONN_WHERE ".node_id: expected letters, digits, '_' and '-' only, got \"\"" },
	/* TLS files: @ is replaced by the test directory */
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl\": \"on\", \"ssl_server_crt\": \"missing.crt\"",
	  CONN_WHERE ".ssl_server_crt: expected a readable file, cannot open \"@/missing.crt\": No such file or directory" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl\": \"trust_all\", \"ssl_server_crt\": \"@\"",
	  CONN_WHERE ".ssl_server_crt: expected a regular file, got \"@\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl\": \"on\", \"ssl_client_crt\": \"ok.crt\"",
	  CONN_WHERE ".ssl_client_key: expected a client key file together with ssl_client_crt" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl\": \"on\", \"ssl_client_key\": \"ok.key\"",
	  CONN_WHERE ".ssl_client_crt: expected a client certificate file together with ssl_client_key" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl\": \"on\", \"ssl_client_crt\": \"ok.crt\", "
	  "\"ssl_client_key\": \"missing.key\"",
	  CONN_WHERE ".ssl_client_key: expected a readable file, cannot open \"@/missing.key\"" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl\": \"on\", \"ssl_client_key_password\": \"pw-x\"",
	  CONN_WHERE ".ssl_client_key_password: given without ssl_client_key" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl\": \"on\", \"ssl_client_key_password_file\": \"ok.pass\"",
	  CONN_WHERE ".ssl_client_key_password_file: given without ssl_client_key" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"ssl_server_crt\": \"\"",
	  CONN_WHERE ".ssl_server_crt: expected a file path, got an empty string" },
	/* auth */
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"auth_password\": \"pw-y\"",
	  CONN_WHERE ".auth_password: given without auth_user" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"auth_user\": \"a\", \"auth_password\": \"pw-z\", "
	  "\"auth_password_file\": \"ok.pass\"",
	  CONN_WHERE ": auth_password and auth_password_file are both given: expected only one" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"auth_user\": \"a\", \"auth_password\": 1234",
	  CONN_WHERE ".auth_password: expected a string, got a number" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"auth_user\": \"a\", \"auth_password_file\": \"nope.pass\"",
	  CONN_WHERE ".auth_password_file: cannot open \"@/nope.pass\": No such file or directory" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"auth_user\": \"a\", \"auth_password_file\": \"empty.pass\"",
	  CONN_WHERE ".auth_password_file: \"@/empty.pass\": expected a non-empty file" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"auth_user\": \"a\", \"auth_password_file\": \"@\"",
	  CONN_WHERE ".auth_password_file: \"@\": expected a regular file" },
	{ "\"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"auth_user\": \"a\", \"auth_password_file\": \"big.pass\"",
	  CONN_WHERE ".auth_password_file: \"@/big.pass\": expected a file of at most 4096 bytes" },
	{ NULL, NULL },
};

static const struct bad_case bus_cases[] = {
	{ "\"name\": \"b\", \"transport\": \"udp\", \"host\": \"h\"",
	  BUS_WHERE ".transport: expected one of tcp, rtu, rtu_over_tcp, gpio, got \"udp\"" },
	{ "\"name\": \"b\", \"host\": \"h\"", BUS_WHERE ".transport: required field is missing" },
	{ "\"name\": \"b\", \"transport\": \"tcp\"",
	  BUS_WHERE ".host: expected a host name or IP address (required for transport tcp)" },
	{ "\"name\": \"b\", \"transport\": \"rtu_over_tcp\", \"device\": \"/dev/ttyS0\"",
	  BUS_WHERE ".host: expected a host name or IP address (required for transport rtu_over_tcp)" },
	{ "\"name\": \"b\", \"transport\": \"rtu\", \"host\": \"h\"",
	  BUS_WHERE ".device: expected a serial device path (required for transport rtu)" },
	{ "\"name\": \"b\", \"transport\": \"rtu\", \"device\": \"\"",
	  BUS_WHERE ".device: expected a serial device path (e.g. /dev/serial/by-id/...), got an empty string" },
	{ "\"name\": \"b\", \"transport\": \"tcp\", \"host\": \"modbus://plc\"",
	  BUS_WHERE ".host: expected a host name or IP address without a scheme" },
	{ "\"name\": \"b\", \"transport\": \"tcp\", \"host\": \"plc:502\"",
	  BUS_WHERE ".host: expected a host name or IP address without a port" },
	{ "\"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\", \"port\": 0",
	  BUS_WHERE ".port: expected 1..65535, got 0" },
	{ "\"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\", \"port\": 65536",
	  BUS_WHERE ".port: expected 1..65535, got 65536" },
	{ "\"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\", \"baud\": 1234",
	  BUS_WHERE ".baud: expected one of 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, "
	  "57600, 115200, 230400, 460800, 921600, got 1234" },
	{ "\"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\", \"baud\": 0",
	  BUS_WHERE ".baud: expected 1..2147483647, got 0" },
	{ "\"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\", \"baud\": -9600",
	  BUS_WHERE ".baud: expected 1..2147483647, got -9600" },
	{ "\"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\", \"parity\": \"X\"",
	  BUS_WHERE ".parity: expected one of N, E, O, got \"X\"" },
	{ "\"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\", \"parity\": \"none\"",
	  BUS_WHERE ".parity: expected one of N, E, O, got \"none\"" },
	{ "\"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\", \"data_bits\": 9",
	  BUS_WHERE ".data_bits: expected 5..8, got 9" },
	{ "\"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\", \"stop_bits\": 3",
	  BUS_WHERE ".stop_bits: expected 1..2, got 3" },
	{ "\"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\", \"response_timeout_ms\": 0",
	  BUS_WHERE ".response_timeout_ms: expected 1..60000, got 0" },
	{ "\"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\", \"retries\": 11",
	  BUS_WHERE ".retries: expected 0..10, got 11" },
	{ "\"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\", \"offline_after\": 0",
	  BUS_WHERE ".offline_after: expected 1..1000, got 0" },
	{ "\"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\", \"poll_interval_ms\": 5",
	  BUS_WHERE ".poll_interval_ms: expected 10..86400000, got 5" },
	{ "\"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\", \"devices\": {}",
	  BUS_WHERE ".devices: expected an array of device objects" },
	{ "\"name\": \"Meters\", \"transport\": \"tcp\", \"host\": \"h\"",
	  "fieldbridge.json: buses[0] (Meters).name: expected a bus name of 1..31 characters "
	  "from a-z, 0-9, '_' and '-', got \"Meters\"" },
	{ "\"transport\": \"tcp\", \"host\": \"h\"",
	  "fieldbridge.json: buses[0].name: required field is missing" },
	{ NULL, NULL },
};

/* Devices sit on bus b, whose transport is the first word of fields. */
static const struct bad_case device_cases[] = {
	{ "rtu|\"id\": \"d1\", \"definition\": \"x\", \"unit_id\": 248",
	  DEV_WHERE ".unit_id: expected 1..247, got 248" },
	{ "rtu|\"id\": \"d1\", \"definition\": \"x\", \"unit_id\": 0",
	  DEV_WHERE ".unit_id: expected 1..247, got 0" },
	{ "rtu_over_tcp|\"id\": \"d1\", \"definition\": \"x\", \"unit_id\": 256",
	  DEV_WHERE ".unit_id: expected 0..255, got 256" },
	{ "tcp|\"id\": \"d1\", \"definition\": \"x\", \"unit_id\": 256",
	  DEV_WHERE ".unit_id: expected 0..255, got 256" },
	{ "tcp|\"id\": \"d1\", \"definition\": \"x\", \"unit_id\": -1",
	  DEV_WHERE ".unit_id: expected 0..255, got -1" },
	{ "tcp|\"definition\": \"x\"",
	  "fieldbridge.json: buses[0] (b).devices[0].id: required field is missing" },
	{ "tcp|\"id\": \"Meter 1\", \"definition\": \"x\"",
	  "fieldbridge.json: buses[0] (b).devices[0] (Meter 1).id: expected a device name of "
	  "1..31 characters from a-z, 0-9, '_' and '-', got \"Meter 1\"" },
	{ "tcp|\"id\": \"abcdefghijabcdefghijabcdefghijab\", \"definition\": \"x\"",
	  ".id: expected a device name of 1..31 characters" },
	{ "tcp|\"id\": \"d1\"", DEV_WHERE ".definition: required field is missing" },
	{ "tcp|\"id\": \"d1\", \"definition\": \"../../etc/passwd\"",
	  DEV_WHERE ".definition: expected a definition id (a file name in definition_dirs "
	  "without \".json\": letters, digits, '.', '_' and '-'), got \"../../etc/passwd\"" },
	{ "tcp|\"id\": \"d1\", \"definition\": \".hidden\"",
	  DEV_WHERE ".definition: expected a definition id" },
	{ "tcp|\"id\": \"d1\", \"definition\": \"x\", \"poll_interval_ms\": 0",
	  DEV_WHERE ".poll_interval_ms: expected 10..86400000, got 0" },
	{ "tcp|\"id\": \"d1\", \"definition\": \"x\", \"name\": 5",
	  DEV_WHERE ".name: expected a string, got a number" },
	{ NULL, NULL },
};

static void replace_at(const char *in, const char *dir, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 1 < len; in++) {
		if (*in == '@') {
			o += (size_t)snprintf(out + o, len - o, "%s", dir);
			if (o >= len)
				o = len - 1;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* Loads text (with @ = the test directory) and checks that it is refused
 * with `expected` among the errors. */
static void expect_refused(const char *text_in, const char *expected_in)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char text[4096], expected[1024], big[5000];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "ok.crt", "crt\n", 0644, NULL, 0);
	td_write(&t, "ok.key", "key\n", 0600, NULL, 0);
	td_write(&t, "ok.pass", "pw\n", 0600, NULL, 0);
	td_write(&t, "empty.pass", "", 0600, NULL, 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	td_write(&t, "big.pass", big, 0600, NULL, 0);
	replace_at(text_in, t.path, text, sizeof(text));
	replace_at(expected_in, t.path, expected, sizeof(expected));
	c = td_load_text(&t, text, &d);
	CHECK(c == NULL);
	CHECK(d.errors >= 1);
	CHECK_DIAG(&d, FB_SEV_ERROR, expected);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void every_bad_connection_value_is_refused(void)
{
	char text[2048];

	for (const struct bad_case *k = conn_cases; k->fields; k++) {
		snprintf(text, sizeof(text), "{ \"connections\": [ { %s } ] }\n", k->fields);
		expect_refused(text, k->expected);
	}
}

static void every_bad_bus_value_is_refused(void)
{
	char text[2048];

	for (const struct bad_case *k = bus_cases; k->fields; k++) {
		/* A case about "devices" itself gives its own (a key twice is
		 * an error of its own). */
		if (strstr(k->fields, "\"devices\""))
			snprintf(text, sizeof(text), "{ \"buses\": [ { %s } ] }\n", k->fields);
		else
			snprintf(text, sizeof(text), "{ \"buses\": [ { %s, \"devices\": "
				 "[ { \"id\": \"d1\", \"definition\": \"x\" } ] } ] }\n",
				 k->fields);
		expect_refused(text, k->expected);
	}
}

static void every_bad_device_value_is_refused(void)
{
	char text[2048];

	for (const struct bad_case *k = device_cases; k->fields; k++) {
		const char *bar = strchr(k->fields, '|');

		snprintf(text, sizeof(text),
			 "{ \"buses\": [ { \"name\": \"b\", \"transport\": \"%.*s\", "
			 "\"host\": \"h\", \"device\": \"/dev/ttyS0\", \"devices\": [ { %s } ] } ] }\n",
			 (int)(bar - k->fields), k->fields, bar + 1);
		expect_refused(text, k->expected);
	}
}

static void bad_gateway_values_are_refused(void)
{
	expect_refused("{ \"gateway\": { \"id\": \"Bad Id\" } }",
		       "fieldbridge.json: gateway.id: expected a gateway name of 1..31 characters");
	expect_refused("{ \"gateway\": { \"name\": \"\" } }",
		       "fieldbridge.json: gateway.name: expected a non-empty name");
	expect_refused("{ \"gateway\": { \"definition_dirs\": [] } }",
		       "fieldbridge.json: gateway.definition_dirs: expected a non-empty array of directory paths");
	expect_refused("{ \"gateway\": { \"definition_dirs\": \"/x\" } }",
		       "fieldbridge.json: gateway.definition_dirs: expected a non-empty array");
	expect_refused("{ \"gateway\": { \"definition_dirs\": [\"/a\", 1] } }",
		       "fieldbridge.json: gateway.definition_dirs[1]: expected a directory path");
	expect_refused("{ \"gateway\": { \"users_file\": \"\" } }",
		       "fieldbridge.json: gateway.users_file: expected a file path, got an empty string");
	expect_refused("{ \"gateway\": { \"state_dir\": 3 } }",
		       "fieldbridge.json: gateway.state_dir: expected a string, got a number");
	expect_refused("{ \"gateway\": { \"runtime_dir\": \"/run/"
		       "0123456789012345678901234567890123456789012345678901234567890123456789"
		       "0123456789012345678901234567890123456789012345678901234567890123456789\" } }",
		       "fieldbridge.json: gateway.runtime_dir: expected an absolute directory path "
		       "of at most 128 bytes");
	expect_refused("{ \"gateway\": 5 }", "fieldbridge.json: gateway: expected an object");
	expect_refused("[ ]", "fieldbridge.json: expected a JSON object at the top level");
	expect_refused("{ \"buses\": {} }",
		       "fieldbridge.json: buses: expected an array of bus objects");
	expect_refused("{ \"connections\": 1 }",
		       "fieldbridge.json: connections: expected an array of connection objects");
	expect_refused("{ \"buses\": [ 1 ] }", "fieldbridge.json: buses[0]: expected a bus object");
	expect_refused("{ \"connections\": [ \"ha\" ] }",
		       "fieldbridge.json: connections[0]: expected a connection object");
}

static void syntax_errors_give_line_and_column(void)
{
	expect_refused("// comment\n{\n  \"gateway\": { \"id\": \"x\" }\n  \"buses\": []\n}\n",
		       "fieldbridge.json:4:");
	expect_refused("{ /* unterminated\n", "fieldbridge.json:1:3: unterminated /* comment");
}

static void duplicates_are_refused(void)
{
	/* at most one export connection per broker host and port */
	expect_refused("{ \"connections\": [\n"
		       " { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"broker.lan\" },\n"
		       " { \"name\": \"ha2\", \"user\": \"u\", \"broker\": \"BROKER.lan\", \"port\": 1883 } ] }",
		       "fieldbridge.json: connections[1] (ha2).broker: expected at most one export "
		       "connection per broker, but BROKER.lan port 1883 is also used by connection ha");
	expect_refused("{ \"connections\": [\n"
		       " { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\" },\n"
		       " { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h2\" } ] }",
		       "fieldbridge.json: connections[1] (ha).name: duplicate connection name \"ha\": "
		       "expected names unique among connections");
	expect_refused("{ \"buses\": [\n"
		       " { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\", \"devices\": [ { \"id\": \"x\", \"definition\": \"d\" } ] },\n"
		       " { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h2\", \"devices\": [ { \"id\": \"y\", \"definition\": \"d\" } ] } ] }",
		       "fieldbridge.json: buses[1] (b).name: duplicate bus name \"b\": expected names unique among buses");
	/* device ids are unique across the whole gateway */
	expect_refused("{ \"buses\": [\n"
		       " { \"name\": \"a\", \"transport\": \"tcp\", \"host\": \"h\", \"devices\": [ { \"id\": \"m1\", \"definition\": \"d\" } ] },\n"
		       " { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h2\", \"devices\": [ { \"id\": \"m1\", \"definition\": \"d\" } ] } ] }",
		       "fieldbridge.json: buses[1] (b).devices[0] (m1).id: duplicate device id \"m1\": "
		       "expected ids unique across the gateway (also on bus a");
	expect_refused("{ \"buses\": [\n"
		       " { \"name\": \"a\", \"transport\": \"tcp\", \"host\": \"h\", \"devices\": [\n"
		       "   { \"id\": \"m1\", \"definition\": \"d\" }, { \"id\": \"m1\", \"definition\": \"d\", \"unit_id\": 2 } ] } ] }",
		       "fieldbridge.json: buses[0] (a).devices[1] (m1).id: duplicate device id \"m1\"");
}

static void same_broker_on_other_port_is_fine(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	c = td_load_text(&t, "{ \"connections\": [\n"
			 " { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\" },\n"
			 " { \"name\": \"ha2\", \"user\": \"u\", \"broker\": \"h\", \"port\": 1884 } ] }", &d);
	CHECK(c != NULL);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void dropin_errors_name_their_file(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "buses.d/bad.json",
		 "{ \"transport\": \"tcp\", \"host\": \"h\", \"port\": 0,\n"
		 "  \"devices\": [ { \"id\": \"m1\", \"definition\": \"x\", \"unit_id\": 300 } ] }", 0644, NULL, 0);
	td_write(&t, "buses.d/Bad Name.json",
		 "{ \"transport\": \"tcp\", \"host\": \"h\", \"devices\": [] }", 0644, NULL, 0);
	td_write(&t, "buses.d/main.json",
		 "{ \"transport\": \"tcp\", \"host\": \"h\", \"devices\": [] }", 0644, NULL, 0);
	td_write(&t, "buses.d/broken.json", "{ \"transport\": \"tcp\",\n  oops }", 0644, NULL, 0);
	td_write(&t, "connections.d/ha.json",
		 "{ \"user\": \"u\", \"broker\": \"127.0.0.1\", \"qos\": 7 }", 0644, NULL, 0);
	td_write(&t, "connections.d/other.json",
		 "{ \"user\": \"u\", \"broker\": \"127.0.0.1\", \"port\": 1883 }", 0644, NULL, 0);
	c = td_load_text(&t,
		"{ \"buses\": [ { \"name\": \"main\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		"    \"devices\": [ { \"id\": \"m1\", \"definition\": \"x\" } ] } ] }\n", &d);
	CHECK(c == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "buses.d/bad.json: bus (bad).port: expected 1..65535, got 0");
	CHECK_DIAG(&d, FB_SEV_ERROR, "buses.d/bad.json: bus (bad).devices[0] (m1).unit_id: expected 0..255, got 300");
	CHECK_DIAG(&d, FB_SEV_ERROR, "buses.d/bad.json: bus (bad).devices[0] (m1).id: duplicate device id \"m1\"");
	CHECK_DIAG(&d, FB_SEV_ERROR,
		   "buses.d/Bad Name.json: bus (Bad Name).name: expected a bus name of 1..31 "
		   "characters from a-z, 0-9, '_' and '-' (taken from the file name unless \"name\" is set), got \"Bad Name\"");
	CHECK_DIAG(&d, FB_SEV_ERROR, "buses.d/main.json: bus (main).name: duplicate bus name \"main\"");
	CHECK_DIAG(&d, FB_SEV_ERROR, "buses.d/broken.json:2:");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections.d/ha.json: connection (ha).qos: expected 0..2, got 7");
	CHECK_DIAG(&d, FB_SEV_ERROR,
		   "connections.d/other.json: connection (other).broker: expected at most one export connection per broker");
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

/* One run lists every problem, as `--check` must. */
static void all_errors_reported_in_one_load(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "connections.d/extra.json", "{ \"user\": \"u\", \"broker\": \"x:1\" }", 0644, NULL, 0);
	c = td_load_text(&t,
		"{ \"gateway\": { \"id\": \"GW\" },\n"
		"  \"buses\": [ { \"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\", \"baud\": 1000,\n"
		"      \"parity\": \"Q\", \"devices\": [ { \"id\": \"d\", \"definition\": \"x\", \"unit_id\": 0 } ] } ],\n"
		"  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"mqtt://h\", \"port\": 70000,\n"
		"      \"qos\": 9, \"timeout_s\": 7, \"keep_alive_s\": 8, \"max_inflight\": 0,\n"
		"      \"discovery_prefix\": \"#\", \"connection_mode\": \"x\", \"ssl\": \"maybe\" } ] }\n", &d);
	CHECK(c == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "gateway.id: expected a gateway name");
	CHECK_DIAG(&d, FB_SEV_ERROR, "buses[0] (b).baud: expected one of");
	CHECK_DIAG(&d, FB_SEV_ERROR, "buses[0] (b).parity: expected one of N, E, O");
	CHECK_DIAG(&d, FB_SEV_ERROR, "buses[0] (b).devices[0] (d).unit_id: expected 1..247, got 0");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).broker: expected a host name or IP address without a scheme");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).port: expected 1..65535, got 70000");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).qos: expected 0..2, got 9");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).timeout_s: expected one of");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).keep_alive_s: expected one of");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).max_inflight: expected 1..65000, got 0");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).discovery_prefix: expected");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).connection_mode: expected one of socket, websocket");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).ssl: expected one of off, on, trust_all");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections.d/extra.json: connection (extra).broker: expected a host name or IP address without a port");
	CHECK_EQ_INT(d.errors, 14);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void missing_main_file_is_an_error(void)
{
	struct fb_diag d;
	struct fb_config *c;

	fb_diag_init(&d);
	c = fb_config_load("/nonexistent/fieldbridge.json", &d);
	CHECK(c == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "/nonexistent/fieldbridge.json: cannot read: No such file or directory");
	fb_diag_free(&d);
}

int main(void)
{
	RUN_TEST(every_bad_connection_value_is_refused);
	RUN_TEST(every_bad_bus_value_is_refused);
	RUN_TEST(every_bad_device_value_is_refused);
	RUN_TEST(bad_gateway_values_are_refused);
	RUN_TEST(syntax_errors_give_line_and_column);
	RUN_TEST(duplicates_are_refused);
	RUN_TEST(same_broker_on_other_port_is_fine);
	RUN_TEST(dropin_errors_name_their_file);
	RUN_TEST(all_errors_reported_in_one_load);
	RUN_TEST(missing_main_file_is_an_error);
	return fb_test_finish();
}
