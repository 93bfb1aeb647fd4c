/* SPDX-License-Identifier: Apache-2.0 */
/* Discovery documents and command payloads of the components with a
 * block (dimmer light, cover, fan, climate, text), from a definition
 * loaded by the real loader: the keys Home Assistant needs for each
 * (research ha-discovery.md §12), the rights that decide command topics
 * (a climate's mode follows the mode point's rights), and the payloads
 * accepted or refused before they reach a driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export-internal.h"
#include "testlib.h"

static const char *const DEFINITION =
	"{\"manufacturer\": \"T\", \"model\": \"C\", \"protocol\": \"modbus\", \"points\": [\n"
	" {\"key\": \"dimmer\", \"name\": \"Dimmer\", \"table\": \"holding_register\", \"address\": 0,\n"
	"  \"type\": \"uint16\", \"writable\": true, \"component\": \"light\",\n"
	"  \"light\": {\"brightness_scale\": 100}},\n"
	" {\"key\": \"blind\", \"name\": \"Blind\", \"table\": \"holding_register\", \"address\": 1,\n"
	"  \"type\": \"uint16\", \"writable\": true, \"component\": \"cover\", \"device_class\": \"blind\",\n"
	"  \"cover\": {\"position_open\": 0, \"position_closed\": 1000}},\n"
	" {\"key\": \"fan\", \"name\": \"Fan\", \"table\": \"holding_register\", \"address\": 2,\n"
	"  \"type\": \"uint16\", \"writable\": true, \"component\": \"fan\",\n"
	"  \"fan\": {\"speed_max\": 3, \"presets\": {\"4\": \"boost\", \"5\": \"it's away\"}}},\n"
	" {\"key\": \"room\", \"name\": \"Room\", \"table\": \"input_register\", \"address\": 0,\n"
	"  \"type\": \"int16\", \"scale\": 0.1, \"unit\": \"°C\", \"device_class\": \"temperature\",\n"
	"  \"state_class\": \"measurement\"},\n"
	" {\"key\": \"mode\", \"name\": \"Mode\", \"table\": \"holding_register\", \"address\": 3,\n"
	"  \"type\": \"uint16\", \"writable\": true, \"component\": \"select\",\n"
	"  \"options\": {\"0\": \"off\", \"1\": \"heat\"}},\n"
	" {\"key\": \"setpoint\", \"name\": \"Heating\", \"table\": \"holding_register\", \"address\": 4,\n"
	"  \"type\": \"int16\", \"scale\": 0.5, \"unit\": \"°C\", \"writable\": true,\n"
	"  \"component\": \"climate\", \"min\": 5, \"max\": 30, \"step\": 0.5,\n"
	"  \"climate\": {\"current_temperature\": \"room\", \"mode\": \"mode\"}},\n"
	" {\"key\": \"label\", \"name\": \"Label\", \"table\": \"holding_register\", \"address\": 10,\n"
	"  \"type\": \"string\", \"length\": 4, \"writable\": true, \"component\": \"text\",\n"
	"  \"text\": {\"pattern\": \"[A-Z0-9 ]*\", \"min_length\": 1}},\n"
	" {\"key\": \"up\", \"name\": \"Up\", \"table\": \"coil\", \"address\": 0},\n"
	" {\"key\": \"down\", \"name\": \"Down\", \"table\": \"coil\", \"address\": 1},\n"
	" {\"key\": \"shade\", \"name\": \"Shade\", \"component\": \"cover\", \"writable\": true,\n"
	"  \"cover\": {\"open\": \"up\", \"close\": \"down\", \"run_time_s\": 20}},\n"
	" {\"key\": \"awning\", \"name\": \"Awning\", \"table\": \"holding_register\", \"address\": 20,\n"
	"  \"type\": \"uint16\", \"writable\": true, \"component\": \"cover\",\n"
	"  \"cover\": {\"stop_value\": 255}}]}\n";

enum { P_DIMMER, P_BLIND, P_FAN, P_ROOM, P_MODE, P_SETPOINT, P_LABEL, P_UP, P_DOWN, P_SHADE,
       P_AWNING, NPOINTS };

static struct fb_definition *load(void)
{
	char path[] = "/tmp/fbtest-components-XXXXXX";
	int fd = mkstemp(path);
	struct fb_diag diag;
	struct fb_definition *def;

	fb_diag_init(&diag);
	if (fd < 0 || write(fd, DEFINITION, strlen(DEFINITION)) != (ssize_t)strlen(DEFINITION))
		return NULL;
	close(fd);
	def = fb_model_load(path, &diag);
	for (size_t i = 0; i < diag.count; i++)
		fprintf(stderr, "%s\n", diag.entries[i].message);
	CHECK_EQ_INT(diag.errors, 0);
	CHECK_EQ_INT(diag.warnings, 0);
	fb_diag_free(&diag);
	unlink(path);
	return def;
}

static const char *str(const cJSON *c, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, key));
}

static double num(const cJSON *c, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static bool has(const cJSON *c, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(c, key) != NULL;
}

static void check_str(const cJSON *c, const char *key, const char *want)
{
	const char *got = str(c, key);

	CHECK(got && !strcmp(got, want));
	if (!got || strcmp(got, want))
		fprintf(stderr, "  %s: got \"%s\", want \"%s\"\n", key, got ? got : "(none)", want);
}

struct fixture {
	struct fb_conn_conf conn;
	struct fb_device_conf conf;
	struct exporter ex;
	uint8_t access[NPOINTS];
	struct ex_device dev;
};

static cJSON *doc_for(struct fixture *f, const struct fb_definition *def)
{
	f->conn = (struct fb_conn_conf){ .node_id = "gw_ha", .qos = 1 };
	f->conf = (struct fb_device_conf){ .id = "hp", .name = "Heat pump" };
	f->ex = (struct exporter){ .conn = &f->conn };
	snprintf(f->ex.base, sizeof(f->ex.base), "fieldbridge/gw_ha");
	snprintf(f->ex.status_topic, sizeof(f->ex.status_topic), "fieldbridge/gw_ha/status");
	f->dev = (struct ex_device){ .conf = &f->conf, .def = def, .access = f->access,
		.state_topic = (char *)"fieldbridge/gw_ha/hp/state",
		.avail_topic = (char *)"fieldbridge/gw_ha/hp/availability" };
	return ex_discovery_device_doc(&f->ex, &f->dev, NULL);
}

static void discovery_has_the_keys_home_assistant_needs(void)
{
	struct fb_definition *def = load();
	struct fixture f;
	const char *st = "fieldbridge/gw_ha/hp/state";
	cJSON *doc, *cmps, *c;

	if (!def)
		return;
	memset(f.access, FB_ACCESS_WRITE, sizeof(f.access));
	doc = doc_for(&f, def);
	cmps = cJSON_GetObjectItem(doc, "cmps");

	c = cJSON_GetObjectItem(cmps, "dimmer");
	check_str(c, "p", "light");
	check_str(c, "command_topic", "fieldbridge/gw_ha/hp/dimmer/set");
	check_str(c, "brightness_command_topic", "fieldbridge/gw_ha/hp/dimmer/set");
	check_str(c, "brightness_state_topic", st);
	check_str(c, "brightness_value_template", "{{ value_json.dimmer }}");
	check_str(c, "on_command_type", "brightness");
	CHECK_EQ_INT(num(c, "brightness_scale"), 100);
	CHECK_STR_CONTAINS(str(c, "state_value_template"), "value_json.dimmer > 0 %}ON");
	CHECK(!has(c, "value_template"));

	c = cJSON_GetObjectItem(cmps, "blind");
	check_str(c, "p", "cover");
	check_str(c, "device_class", "blind");
	check_str(c, "set_position_topic", "fieldbridge/gw_ha/hp/blind/set");
	/* HA refuses set_position_topic without position_topic. */
	check_str(c, "position_topic", st);
	CHECK_EQ_INT(num(c, "position_open"), 0);
	CHECK_EQ_INT(num(c, "position_closed"), 1000);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(c, "payload_stop")));
	CHECK_STR_CONTAINS(str(c, "value_template"), "value_json.blind == 1000 %}closed");
	CHECK_STR_CONTAINS(str(c, "position_template"), "round(0) | int");

	c = cJSON_GetObjectItem(cmps, "fan");
	check_str(c, "p", "fan");
	check_str(c, "command_topic", "fieldbridge/gw_ha/hp/fan/set");
	check_str(c, "percentage_command_topic", "fieldbridge/gw_ha/hp/fan/set");
	check_str(c, "preset_mode_command_topic", "fieldbridge/gw_ha/hp/fan/set");
	check_str(c, "percentage_state_topic", st);
	check_str(c, "preset_mode_state_topic", st);
	CHECK_EQ_INT(num(c, "speed_range_min"), 1);
	CHECK_EQ_INT(num(c, "speed_range_max"), 3);
	CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(c, "preset_modes")), 2);
	check_str(c, "preset_mode_value_template",
		  "{{ {4: 'boost', 5: 'it\\'s away'}.get(value_json.fan) }}");
	CHECK_STR_CONTAINS(str(c, "state_value_template"), "value_json.fan == 0 %}OFF");

	c = cJSON_GetObjectItem(cmps, "setpoint");
	check_str(c, "p", "climate");
	CHECK(!has(c, "command_topic") && !has(c, "value_template") &&
	      !has(c, "unit_of_measurement"));
	check_str(c, "temperature_unit", "C");
	CHECK_EQ_INT(num(c, "min_temp"), 5);
	CHECK_EQ_INT(num(c, "max_temp"), 30);
	CHECK_NEAR(num(c, "temp_step"), 0.5, 1e-12);
	CHECK_NEAR(num(c, "precision"), 0.5, 1e-12);
	check_str(c, "temperature_command_topic", "fieldbridge/gw_ha/hp/setpoint/set");
	CHECK_STR_CONTAINS(str(c, "temperature_command_template"), "\"event_id\"");
	check_str(c, "temperature_state_template", "{{ value_json.setpoint }}");
	check_str(c, "current_temperature_topic", st);
	check_str(c, "current_temperature_template", "{{ value_json.room }}");
	check_str(c, "mode_command_topic", "fieldbridge/gw_ha/hp/mode/set");
	check_str(c, "mode_state_template", "{{ value_json.mode }}");
	CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(c, "modes")), 2);

	c = cJSON_GetObjectItem(cmps, "label");
	check_str(c, "p", "text");
	check_str(c, "command_topic", "fieldbridge/gw_ha/hp/label/set");
	CHECK_EQ_INT(num(c, "min"), 1);
	CHECK_EQ_INT(num(c, "max"), 8);
	check_str(c, "pattern", "[A-Z0-9 ]*");
	CHECK_STR_CONTAINS(str(c, "command_template"), "{{ value | tojson }}");
	cJSON_Delete(doc);

	/* Rights: a read-only mode point gives the climate no mode command
	 * topic (the modes stay), an unreadable room temperature no current
	 * temperature. */
	f.access[P_MODE] = FB_ACCESS_READ;
	f.access[P_ROOM] = FB_ACCESS_NONE;
	doc = doc_for(&f, def);
	c = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "cmps"), "setpoint");
	check_str(c, "p", "climate");
	CHECK(!has(c, "mode_command_topic") && !has(c, "current_temperature_topic"));
	check_str(c, "temperature_command_topic", "fieldbridge/gw_ha/hp/setpoint/set");
	check_str(c, "mode_state_template", "{{ value_json.mode }}");
	cJSON_Delete(doc);
	fb_model_free(def);
}

/* Every writable component our user may only read, as published: Home
 * Assistant rejects a switch, number, select, fan, light or text without
 * a command_topic, so each is its read-only counterpart, a button is left
 * out, and no component anywhere carries a topic to send to. */
static const char *const RO_DEFINITION =
	"{\"manufacturer\": \"T\", \"model\": \"R\", \"protocol\": \"modbus\", \"points\": [\n"
	" {\"key\": \"relay\", \"name\": \"Relay\", \"table\": \"coil\", \"address\": 0,\n"
	"  \"type\": \"bool\", \"writable\": true, \"component\": \"switch\",\n"
	"  \"device_class\": \"outlet\"},\n"
	" {\"key\": \"lamp\", \"name\": \"Lamp\", \"table\": \"coil\", \"address\": 1,\n"
	"  \"type\": \"bool\", \"writable\": true, \"component\": \"light\"},\n"
	" {\"key\": \"tap\", \"name\": \"Tap\", \"table\": \"coil\", \"address\": 2,\n"
	"  \"type\": \"bool\", \"writable\": true, \"component\": \"valve\",\n"
	"  \"device_class\": \"water\"},\n"
	" {\"key\": \"reset\", \"name\": \"Reset\", \"table\": \"coil\", \"address\": 3,\n"
	"  \"type\": \"bool\", \"writable\": true, \"component\": \"button\"},\n"
	" {\"key\": \"limit\", \"name\": \"Limit\", \"table\": \"holding_register\",\n"
	"  \"address\": 20, \"type\": \"uint16\", \"unit\": \"W\", \"device_class\": \"power\",\n"
	"  \"writable\": true, \"component\": \"number\", \"min\": 0, \"max\": 5000}]}\n";

static struct fb_definition *load_text(const char *text)
{
	char path[] = "/tmp/fbtest-components-XXXXXX";
	int fd = mkstemp(path);
	struct fb_diag diag;
	struct fb_definition *def;

	fb_diag_init(&diag);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	close(fd);
	def = fb_model_load(path, &diag);
	for (size_t i = 0; i < diag.count; i++)
		fprintf(stderr, "%s\n", diag.entries[i].message);
	CHECK_EQ_INT(diag.errors, 0);
	fb_diag_free(&diag);
	unlink(path);
	return def;
}

static bool sends_anywhere(const cJSON *c)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, c)
		if (strstr(k->string, "command_topic") || !strcmp(k->string, "set_position_topic"))
			return true;
	return false;
}

static const cJSON *cmp(const cJSON *doc, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "cmps"), key);
}

static void read_only_rights_publish_read_only_components(void)
{
	struct fb_definition *def = load(), *ro = load_text(RO_DEFINITION);
	struct fixture f;
	const cJSON *c;
	cJSON *doc;

	if (!def || !ro)
		return;
	memset(f.access, FB_ACCESS_READ, sizeof(f.access));
	doc = doc_for(&f, def);
	/* the ext components: a level, position, step, setpoint, text */
	c = cmp(doc, "dimmer");
	check_str(c, "p", "sensor");
	check_str(c, "value_template", "{{ value_json.dimmer }}");
	CHECK(!has(c, "brightness_state_topic"));
	c = cmp(doc, "blind");
	check_str(c, "p", "sensor");
	CHECK(!has(c, "device_class")); /* "blind" is no sensor class */
	c = cmp(doc, "fan");
	check_str(c, "p", "sensor");
	check_str(c, "value_template", "{{ value_json.fan }}");
	c = cmp(doc, "setpoint");
	check_str(c, "p", "sensor");
	check_str(c, "device_class", "temperature");
	check_str(c, "unit_of_measurement", "°C");
	CHECK(!has(c, "mode_state_topic") && !has(c, "temperature_state_topic"));
	c = cmp(doc, "mode"); /* the state carries the label */
	check_str(c, "p", "sensor");
	check_str(c, "device_class", "enum");
	CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(c, "options")), 2);
	check_str(c, "value_template", "{{ value_json.mode }}");
	c = cmp(doc, "label");
	check_str(c, "p", "sensor");
	CHECK(!has(c, "unit_of_measurement") && !has(c, "pattern"));
	check_str(c, "unique_id", "gw_ha_hp_label");
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cmps"))
		CHECK(!sends_anywhere(c));
	cJSON_Delete(doc);

	/* the plain ones: on/off values are binary sensors, a button is gone */
	doc = doc_for(&f, ro);
	c = cmp(doc, "relay");
	check_str(c, "p", "binary_sensor");
	check_str(c, "value_template", "{{ value_json.relay }}");
	CHECK(!has(c, "device_class")); /* "outlet" is no binary_sensor class */
	check_str(cmp(doc, "lamp"), "p", "binary_sensor");
	check_str(cmp(doc, "tap"), "p", "binary_sensor");
	CHECK(!has(cmp(doc, "tap"), "payload_open") && !has(cmp(doc, "tap"), "device_class"));
	CHECK(cmp(doc, "reset") == NULL);
	c = cmp(doc, "limit");
	check_str(c, "p", "sensor");
	check_str(c, "device_class", "power");
	check_str(c, "unit_of_measurement", "W");
	CHECK(!has(c, "min") && !has(c, "command_template"));
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cmps"))
		CHECK(!sends_anywhere(c));
	cJSON_Delete(doc);

	/* with write rights they are themselves again */
	memset(f.access, FB_ACCESS_WRITE, sizeof(f.access));
	doc = doc_for(&f, ro);
	check_str(cmp(doc, "relay"), "p", "switch");
	check_str(cmp(doc, "relay"), "device_class", "outlet");
	check_str(cmp(doc, "tap"), "p", "valve");
	check_str(cmp(doc, "reset"), "p", "button");
	check_str(cmp(doc, "limit"), "p", "number");
	cJSON_Delete(doc);

	/* Losing write rights (SIGHUP): the button goes, and every point now
	 * under another platform is removed under its old one first (HA
	 * would keep the switch entity beside the new binary_sensor), then
	 * published again under the new one. */
	{
		uint8_t old[NPOINTS];
		cJSON *lost;

		memset(old, FB_ACCESS_WRITE, sizeof(old));
		memset(f.access, FB_ACCESS_READ, sizeof(f.access));
		lost = ex_rights_lost(&f.dev, old, 0, true);
		check_str(lost, "reset", "button");
		check_str(lost, "relay", "switch");
		check_str(lost, "lamp", "light");
		check_str(lost, "tap", "valve");
		check_str(lost, "limit", "number");
		CHECK_EQ_INT(cJSON_GetArraySize(lost), 5);
		CHECK(ex_discovery_platform_changed(&f.dev, lost));
		doc = ex_discovery_device_doc(&f.ex, &f.dev, lost);
		c = cmp(doc, "relay");
		check_str(c, "p", "switch");
		CHECK_EQ_INT(cJSON_GetArraySize(c), 1); /* a removal */
		check_str(cmp(doc, "limit"), "p", "number");
		CHECK_EQ_INT(cJSON_GetArraySize(cmp(doc, "limit")), 1);
		check_str(cmp(doc, "reset"), "p", "button");
		cJSON_Delete(doc);
		cJSON_Delete(lost);

		/* read -> write: the binary_sensor goes the same way */
		memset(old, FB_ACCESS_READ, sizeof(old));
		memset(f.access, FB_ACCESS_WRITE, sizeof(f.access));
		lost = ex_rights_lost(&f.dev, old, 0, true);
		check_str(lost, "relay", "binary_sensor");
		check_str(lost, "limit", "sensor");
		CHECK(!cJSON_GetObjectItem(lost, "reset")); /* was not visible */
		cJSON_Delete(lost);

		/* unchanged rights: nothing to remove */
		lost = ex_rights_lost(&f.dev, f.access, 0, true);
		CHECK_EQ_INT(cJSON_GetArraySize(lost), 0);
		CHECK(!ex_discovery_platform_changed(&f.dev, lost));
		cJSON_Delete(lost);
	}
	fb_model_free(ro);
	fb_model_free(def);
}

static int parse(const struct fb_definition *def, int point, const char *text,
		 struct fb_value *v)
{
	return fb_point_parse_command(&def->points[point], text, v);
}

/* A cover on relays: its state from the relays (opening/closing while
 * one reads ON) and the estimate, STOP as HA's default payload; a
 * position register with a stop value has a stop, one without has none. */
static void relay_cover_and_stop_value(void)
{
	struct fb_definition *def = load();
	struct fixture f;
	const char *st = "fieldbridge/gw_ha/hp/state";
	cJSON *doc, *cmps, *c;

	if (!def)
		return;
	memset(f.access, FB_ACCESS_WRITE, sizeof(f.access));
	doc = doc_for(&f, def);
	cmps = cJSON_GetObjectItem(doc, "cmps");
	c = cJSON_GetObjectItem(cmps, "shade");
	check_str(c, "p", "cover");
	check_str(c, "command_topic", "fieldbridge/gw_ha/hp/shade/set");
	check_str(c, "set_position_topic", "fieldbridge/gw_ha/hp/shade/set");
	check_str(c, "position_topic", st);
	CHECK(!has(c, "payload_stop")); /* HA's default: STOP */
	CHECK_STR_CONTAINS(str(c, "value_template"),
			   "{% if value_json.get('up') == 'ON' %}opening{% elif "
			   "value_json.get('down') == 'ON' %}closing{% elif value_json.shade is "
			   "none %}None{% elif value_json.shade >= 100 %}open");
	CHECK_EQ_INT(num(c, "position_open"), 100);
	CHECK_EQ_INT(num(c, "position_closed"), 0);
	/* its relays are read-only: no switch that could bypass the cover */
	check_str(cJSON_GetObjectItem(cmps, "up"), "p", "binary_sensor");
	CHECK(!has(cJSON_GetObjectItem(cmps, "up"), "command_topic"));
	c = cJSON_GetObjectItem(cmps, "awning");
	CHECK(!has(c, "payload_stop"));
	c = cJSON_GetObjectItem(cmps, "blind");
	CHECK(has(c, "payload_stop") && cJSON_IsNull(cJSON_GetObjectItem(c, "payload_stop")));
	cJSON_Delete(doc);
	fb_model_free(def);
}

static void payloads_are_taken_or_refused_per_component(void)
{
	struct fb_definition *def = load();
	struct fb_value v;

	if (!def)
		return;
	/* dimmer: ON = full, OFF = 0, a level 0..scale */
	CHECK(parse(def, P_DIMMER, "ON", &v) == 0 && v.f == 100);
	CHECK(parse(def, P_DIMMER, "OFF", &v) == 0 && v.f == 0);
	CHECK(parse(def, P_DIMMER, "37", &v) == 0 && v.f == 37);
	CHECK_EQ_INT(parse(def, P_DIMMER, "101", &v), -1);
	CHECK_EQ_INT(parse(def, P_DIMMER, "-1", &v), -1);
	CHECK_EQ_INT(parse(def, P_DIMMER, "2.5", &v), -1);
	/* cover: OPEN/CLOSE to the configured raw positions (open = 0 here) */
	CHECK(parse(def, P_BLIND, "OPEN", &v) == 0 && v.f == 0);
	CHECK(parse(def, P_BLIND, "CLOSE", &v) == 0 && v.f == 1000);
	CHECK(parse(def, P_BLIND, "250", &v) == 0 && v.f == 250);
	CHECK_EQ_INT(parse(def, P_BLIND, "1001", &v), -1);
	CHECK_EQ_INT(parse(def, P_BLIND, "STOP", &v), -1); /* no stop on a position */
	/* fan: ON = speed_min, OFF = off_value, steps, presets */
	CHECK(parse(def, P_FAN, "ON", &v) == 0 && v.f == 1);
	CHECK(parse(def, P_FAN, "OFF", &v) == 0 && v.f == 0);
	CHECK(parse(def, P_FAN, "3", &v) == 0 && v.f == 3);
	CHECK(parse(def, P_FAN, "boost", &v) == 0 && v.f == 4);
	CHECK_EQ_INT(parse(def, P_FAN, "4", &v), -1); /* a preset only by name */
	CHECK_EQ_INT(parse(def, P_FAN, "Boost", &v), -1);
	CHECK_EQ_INT(parse(def, P_FAN, "50", &v), -1);
	/* climate: the setpoint within min..max */
	CHECK(parse(def, P_SETPOINT, "21.5", &v) == 0 && v.f == 21.5);
	CHECK_EQ_INT(parse(def, P_SETPOINT, "30.5", &v), -1);
	CHECK_EQ_INT(parse(def, P_SETPOINT, "heat", &v), -1);
	/* text: length 1..8 and the pattern, whole */
	CHECK(parse(def, P_LABEL, "ROOM 1", &v) == 0 && v.kind == FB_VALUE_STRING &&
	      !strcmp(v.s, "ROOM 1"));
	CHECK_EQ_INT(parse(def, P_LABEL, "", &v), -1);
	CHECK_EQ_INT(parse(def, P_LABEL, "TOO LONG!", &v), -1);
	CHECK_EQ_INT(parse(def, P_LABEL, "room 1", &v), -1);
	CHECK_EQ_INT(parse(def, P_LABEL, "A\nB", &v), -1);
	fb_model_free(def);
}

int main(void)
{
	RUN_TEST(discovery_has_the_keys_home_assistant_needs);
	RUN_TEST(payloads_are_taken_or_refused_per_component);
	RUN_TEST(read_only_rights_publish_read_only_components);
	RUN_TEST(relay_cover_and_stop_value);
	return fb_test_finish();
}
