/* SPDX-License-Identifier: Apache-2.0 */
/* Definition loading: the shipped files load clean, bad files produce the
 * exact messages, and inline snippets exercise the defaults and rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "testlib.h"

#ifndef FB_SOURCE_DIR
#error "FB_SOURCE_DIR must name the source tree"
#endif

static char tmpdir[] = "/tmp/fb-test-model-XXXXXX";

/* All messages of a diag list, one per line (caller frees). */
static char *diag_text(const struct fb_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fb_diag_print(d, f);
	fclose(f);
	return buf;
}

struct loaded {
	struct fb_definition *def;
	struct fb_diag diag;
	char *text;
};

static void load_path(struct loaded *l, const char *path)
{
	fb_diag_init(&l->diag);
	l->def = fb_model_load(path, &l->diag);
	l->text = diag_text(&l->diag);
	if (l->diag.count)
		fprintf(stderr, "%s", l->text);
}

static void load_bad(struct loaded *l, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/tests/model/bad/%s", FB_SOURCE_DIR, name);
	load_path(l, path);
	CHECK(l->def == NULL);
	CHECK(l->diag.errors > 0);
}

/* Writes text to <tmpdir>/<name> and loads it. */
static void load_text(struct loaded *l, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	load_path(l, path);
}

static void done(struct loaded *l)
{
	fb_model_free(l->def);
	fb_diag_free(&l->diag);
	free(l->text);
}

#define HEADER "{ \"manufacturer\": \"T\", \"model\": \"M\", \"protocol\": \"modbus\",\n"

static void eastron_sdm120_loads_clean(void)
{
	struct loaded l;
	const struct fb_point_def *p;

	load_path(&l, FB_SOURCE_DIR "/devices/eastron-sdm120.json");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.errors, 0);
	CHECK_EQ_INT(l.diag.warnings, 0);
	if (!l.def) {
		done(&l);
		return;
	}
	CHECK(!strcmp(l.def->id, "eastron-sdm120"));
	CHECK(!strcmp(l.def->manufacturer, "Eastron"));
	CHECK(!strcmp(l.def->protocol, "modbus"));
	CHECK_EQ_INT(l.def->serial.baud, 2400);
	CHECK_EQ_INT(l.def->serial.parity, 'N');
	CHECK_EQ_INT(l.def->serial.data_bits, 8);
	CHECK_EQ_INT(l.def->serial.stop_bits, 1);
	CHECK_EQ_INT(l.def->npoints, 10);
	static const struct { const char *key; unsigned addr; const char *unit, *dc, *sc; } want[] = {
		{ "voltage", 0x0000, "V", "voltage", "measurement" },
		{ "current", 0x0006, "A", "current", "measurement" },
		{ "active_power", 0x000C, "W", "power", "measurement" },
		{ "apparent_power", 0x0012, "VA", "apparent_power", "measurement" },
		{ "reactive_power", 0x0018, "var", "reactive_power", "measurement" },
		{ "power_factor", 0x001E, NULL, "power_factor", "measurement" },
		{ "frequency", 0x0046, "Hz", "frequency", "measurement" },
		{ "import_energy", 0x0048, "kWh", "energy", "total_increasing" },
		{ "export_energy", 0x004A, "kWh", "energy", "total_increasing" },
		{ "total_energy", 0x0156, "kWh", "energy", "total_increasing" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		p = fb_model_point(l.def, want[i].key);
		CHECK(p != NULL);
		if (!p)
			continue;
		CHECK_EQ_INT(p->address, want[i].addr);
		CHECK_EQ_INT(p->table, FB_REG_INPUT);
		CHECK_EQ_INT(p->type, FB_TYPE_FLOAT32);
		CHECK_EQ_INT(p->order, FB_ORDER_ABCD);
		CHECK_EQ_INT(p->component, FB_COMP_SENSOR);
		CHECK_EQ_INT(fb_point_width(p), 2);
		CHECK_EQ_INT(fb_point_value_kind(p), FB_VALUE_FLOAT);
		CHECK(!p->writable);
		CHECK(want[i].unit ? (p->unit && !strcmp(p->unit, want[i].unit)) : !p->unit);
		CHECK(p->device_class && !strcmp(p->device_class, want[i].dc));
		CHECK(p->state_class && !strcmp(p->state_class, want[i].sc));
		CHECK(p->precision >= 0);
	}
	CHECK(fb_model_point(l.def, "nope") == NULL);
	done(&l);
}

static void waveshare_relay_loads_clean(void)
{
	struct loaded l;

	load_path(&l, FB_SOURCE_DIR "/devices/waveshare-relay-8ch.json");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.errors, 0);
	CHECK_EQ_INT(l.diag.warnings, 0);
	if (!l.def) {
		done(&l);
		return;
	}
	CHECK(!strcmp(l.def->id, "waveshare-relay-8ch"));
	CHECK_EQ_INT(l.def->serial.baud, 9600);
	CHECK_EQ_INT(l.def->npoints, 8);
	for (unsigned i = 0; i < 8; i++) {
		char key[16];
		const struct fb_point_def *p;

		snprintf(key, sizeof(key), "relay_%u", i + 1);
		p = fb_model_point(l.def, key);
		CHECK(p != NULL);
		if (!p)
			continue;
		CHECK_EQ_INT(p->table, FB_REG_COIL);
		CHECK_EQ_INT(p->address, i);
		CHECK_EQ_INT(p->component, FB_COMP_SWITCH);
		CHECK(p->writable);
		CHECK_EQ_INT(p->write_fn, FB_WRITE_FC05);
		CHECK_EQ_INT(p->coil_on_raw, 0xFF00);
		CHECK_EQ_INT(p->coil_off_raw, 0x0000);
		CHECK_EQ_INT(fb_point_value_kind(p), FB_VALUE_BOOL);
	}
	done(&l);
}

static void syntax_error_after_comments_has_line_and_column(void)
{
	struct loaded l;

	load_bad(&l, "syntax-after-comment.json");
	CHECK_STR_CONTAINS(l.text, "syntax-after-comment.json:7:3: invalid JSON near '\"protocol\"");
	done(&l);
	load_bad(&l, "unterminated-comment.json");
	CHECK_STR_CONTAINS(l.text, "unterminated-comment.json:2:27: unterminated /* comment");
	done(&l);
}

static void every_field_error_is_reported_with_point_and_key(void)
{
	struct loaded l;

	load_bad(&l, "address-range.json");
	CHECK_STR_CONTAINS(l.text, "address-range.json: points[3] (voltage).address: "
			   "expected 0..65535, got 70000");
	CHECK_STR_CONTAINS(l.text, "address-range.json: points[4] (temp).type: expected one "
			   "of bool, int16, uint16");
	CHECK_STR_CONTAINS(l.text, "got \"float16\"");
	CHECK_STR_CONTAINS(l.text, "address-range.json: points[5].key: expected 1..31 "
			   "characters of a-z, 0-9 and _ (not starting with _), got \"Bad-Key\"");
	CHECK_STR_CONTAINS(l.text, "points[5] (Bad-Key).table: expected one of coil, "
			   "discrete_input, input_register, holding_register, got \"inputs\"");
	CHECK_EQ_INT(l.diag.errors, 4);
	done(&l);
}

static void unknown_fields_are_errors_with_a_suggestion(void)
{
	struct loaded l;

	load_bad(&l, "unknown-key.json");
	CHECK_STR_CONTAINS(l.text, "unknown-key.json: unknown field \"colour\": expected "
			   "one of ");
	CHECK_STR_CONTAINS(l.text, "unknown-key.json: points[0] (power): unknown field "
			   "\"adress\": did you mean \"address\"?");
	CHECK_STR_CONTAINS(l.text, "unknown-key.json: points[0] (power).address: required "
			   "field is missing");
	CHECK_EQ_INT(l.diag.warnings, 0);
	CHECK_EQ_INT(l.diag.errors, 3);
	done(&l);
}

#define LINT_HEAD "{ \"manufacturer\": \"T\", \"model\": \"L\", \"protocol\": \"modbus\",\n" \
	"  \"points\": [\n"

/* A copy-paste address: two float32 points on one register pair loaded
 * silently; the driver reads one value under two names. */
static void overlapping_registers_warn_naming_both_points(void)
{
	struct loaded l;

	load_text(&l, "overlap.json", LINT_HEAD
		  "  { \"key\": \"q1\", \"name\": \"Q1\", \"table\": \"input_register\", \"address\": 24, \"type\": \"float32\" },\n"
		  "  { \"key\": \"q2\", \"name\": \"Q2\", \"table\": \"input_register\", \"address\": 25, \"type\": \"float32\" },\n"
		  "  { \"key\": \"h\", \"name\": \"H\", \"table\": \"holding_register\", \"address\": 24, \"type\": \"float32\" },\n"
		  "  { \"key\": \"b0\", \"name\": \"B0\", \"table\": \"input_register\", \"address\": 40, \"type\": \"bit\", \"bit\": 0 },\n"
		  "  { \"key\": \"b1\", \"name\": \"B1\", \"table\": \"input_register\", \"address\": 40, \"type\": \"bit\", \"bit\": 1 } ] }\n");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.errors, 0);
	CHECK_EQ_INT(l.diag.warnings, 1); /* other tables and bits of one register are fine */
	CHECK_STR_CONTAINS(l.text, "warning: ");
	CHECK_STR_CONTAINS(l.text, "overlap.json: points[1] (q2).address: registers "
			   "0x0019..0x001A overlap points[0] (q1) at 0x0018..0x0019");
	done(&l);
}

/* A map typed from a datasheet's 30001 numbering reads every value one
 * register off the 0-based address the protocol uses. */
static void modicon_style_addresses_warn(void)
{
	struct loaded l;

	load_text(&l, "modicon.json", LINT_HEAD
		  "  { \"key\": \"v\", \"name\": \"V\", \"table\": \"input_register\", \"address\": 30001, \"type\": \"float32\" },\n"
		  "  { \"key\": \"i\", \"name\": \"I\", \"table\": \"input_register\", \"address\": 30007, \"type\": \"float32\" },\n"
		  "  { \"key\": \"sma\", \"name\": \"S\", \"table\": \"holding_register\", \"address\": 40960, \"type\": \"uint16\" } ] }\n");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.warnings, 1);
	CHECK_STR_CONTAINS(l.text, "modicon.json: points[0] (v).address: 30001 looks like the "
			   "1-based register number 30001 of a datasheet's 3xxxx numbering "
			   "(2 points between 30001 and 39999)");
	done(&l);
}

static void device_class_unit_and_state_class_combinations(void)
{
	struct loaded l;

	load_bad(&l, "device-class-unit.json");
	CHECK_STR_CONTAINS(l.text, "device-class-unit.json: points[0] (voltage).unit: "
			   "expected one of µV, mV, V, kV, MV for device_class voltage, got \"kWh\"");
	CHECK_STR_CONTAINS(l.text, "points[1] (energy).state_class: expected total or "
			   "total_increasing for device_class energy, got \"measurement\"");
	CHECK_STR_CONTAINS(l.text, "points[2] (door).device_class: expected a binary_sensor "
			   "device class (battery, ");
	CHECK_STR_CONTAINS(l.text, "got \"doorbell\"");
	CHECK_STR_CONTAINS(l.text, "points[3] (mystery).device_class: expected a sensor "
			   "device class (apparent_power, ");
	CHECK_EQ_INT(l.diag.errors, 4);
	done(&l);
}

static void fc06_is_rejected_for_multi_register_values(void)
{
	struct loaded l;

	load_bad(&l, "fc06-float32.json");
	CHECK_STR_CONTAINS(l.text, "fc06-float32.json: points[0] (setpoint).write_function: "
			   "expected fc16 for float32 (2 registers), got fc06");
	CHECK_EQ_INT(l.diag.errors, 1);
	done(&l);
}

static void forbidden_range_overlap(void)
{
	struct loaded l;

	load_bad(&l, "forbidden-overlap.json");
	CHECK_STR_CONTAINS(l.text, "forbidden-overlap.json: points[1] (energy).address: "
			   "registers 0x000F..0x0010 overlap forbidden_ranges[0] (0x0010..0x001F)");
	CHECK_EQ_INT(l.diag.errors, 1);
	done(&l);
}

static void duplicate_keys(void)
{
	struct loaded l;

	load_bad(&l, "duplicate-key.json");
	CHECK_STR_CONTAINS(l.text, "duplicate-key.json: points[2] (power).key: duplicate key "
			   "\"power\" (first used by points[0])");
	CHECK_EQ_INT(l.diag.errors, 1);
	done(&l);
}

static void light_and_valve_points(void)
{
	struct loaded l;

	load_text(&l, "lv.json", HEADER "\"points\": [\n"
		  " {\"key\": \"lamp\", \"name\": \"Lamp\", \"table\": \"coil\", \"address\": 0,\n"
		  "  \"writable\": true, \"component\": \"light\"},\n"
		  " {\"key\": \"strip\", \"name\": \"Strip\", \"table\": \"holding_register\",\n"
		  "  \"address\": 1, \"type\": \"uint16\", \"writable\": true, \"component\": \"light\",\n"
		  "  \"on_value\": 1, \"off_value\": 2},\n"
		  " {\"key\": \"gas\", \"name\": \"Gas\", \"table\": \"coil\", \"address\": 1,\n"
		  "  \"writable\": true, \"component\": \"valve\", \"device_class\": \"gas\"}]}\n");
	CHECK(l.def != NULL);
	if (l.def) {
		struct fb_value v;

		CHECK_EQ_INT(l.def->points[0].component, FB_COMP_LIGHT);
		CHECK_EQ_INT(l.def->points[1].component, FB_COMP_LIGHT);
		CHECK(l.def->points[1].has_switch_raw);
		CHECK_EQ_INT(l.def->points[1].switch_off_raw, 2);
		CHECK_EQ_INT(l.def->points[2].component, FB_COMP_VALVE);
		CHECK(!strcmp(fb_component_name(l.def->points[2].component), "valve"));
		/* Home Assistant's payloads: ON/OFF for both (the valve's
		 * payload_open/close are set to them in discovery). */
		CHECK_EQ_INT(fb_point_parse_command(&l.def->points[0], "ON", &v), 0);
		CHECK(v.kind == FB_VALUE_BOOL && v.b);
		CHECK_EQ_INT(fb_point_parse_command(&l.def->points[2], "OFF", &v), 0);
		CHECK(v.kind == FB_VALUE_BOOL && !v.b);
		CHECK_EQ_INT(fb_point_parse_command(&l.def->points[2], "OPEN", &v), -1);
	}
	done(&l);
}

#define HR(key, addr, type, extra) \
	"{\"key\":\"" key "\",\"name\":\"N\",\"table\":\"holding_register\",\"address\":" #addr \
	",\"type\":\"" type "\",\"writable\":true," extra "}"

/* The component blocks (light, cover, fan, climate, text): what they
 * parse into, and one message per mistake, with a did-you-mean for a
 * misspelt block field. */
static void component_blocks(void)
{
	static const struct { const char *points, *want; } cases[] = {
		{ HR("a", 0, "uint16", "\"component\":\"light\",\"light\":{\"brightnes_scale\":100}"),
		  "points[0] (a).light: unknown field \"brightnes_scale\": did you mean \"brightness_scale\"?" },
		{ HR("a", 0, "uint16", "\"component\":\"switch\",\"light\":{\"brightness_scale\":100}"),
		  "points[0] (a).light: only applies to component light" },
		{ HR("a", 0, "uint8", "\"byte\":\"low\",\"component\":\"light\",\"light\":{\"brightness_scale\":300}"),
		  "points[0] (a).writable: not supported for type uint8" },
		{ HR("a", 0, "uint16", "\"scale\":0.1,\"component\":\"light\",\"light\":{\"brightness_scale\":100}"),
		  "points[0] (a).light: a dimmer needs an unscaled integer register without on_value/off_value, got uint16" },
		{ HR("a", 0, "int16", "\"component\":\"light\",\"light\":{\"brightness_scale\":40000}"),
		  "points[0] (a).light.brightness_scale: expected -32768..32767 (what int16 can hold), got 40000" },
		{ HR("a", 0, "uint16", "\"component\":\"cover\",\"cover\":{\"position_open\":0}"),
		  "points[0] (a).cover.position_open: expected a value other than position_closed, got 0 for both" },
		{ HR("a", 0, "uint16", "\"component\":\"cover\",\"device_class\":\"window_blind\""),
		  "points[0] (a).device_class: expected a cover device class (awning, blind, curtain, damper, door, garage, gate, shade, shutter, window), got \"window_blind\"" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0,\"writable\":true,\"component\":\"cover\"}",
		  "points[0] (a).component: expected a numeric type for cover (a position register), got coil" },
		{ HR("a", 0, "uint16", "\"component\":\"fan\""),
		  "points[0] (a).fan: required for component fan (at least {\"speed_max\": N})" },
		{ HR("a", 0, "uint16", "\"component\":\"fan\",\"fan\":{\"speed_max\":3,\"off_value\":2}"),
		  "points[0] (a).fan.off_value: expected a value outside the speed steps 1..3, got 2" },
		{ HR("a", 0, "uint16", "\"component\":\"fan\",\"fan\":{\"speed_max\":3,\"presets\":{\"2\":\"eco\"}}"),
		  "points[0] (a).fan.presets.\"2\": expected a value that is neither off_value nor a speed step" },
		{ HR("a", 0, "uint16", "\"component\":\"fan\",\"fan\":{\"speed_max\":3,\"presets\":{\"4\":\"none\"}}"),
		  "points[0] (a).fan.presets.\"4\": expected a preset name other than ON, OFF, none or a number" },
		{ HR("a", 0, "uint16", "\"component\":\"fan\",\"fan\":{\"speed_max\":3,\"speeds\":4}"),
		  "points[0] (a).fan: unknown field \"speeds\"" },
		{ HR("a", 0, "int16", "\"unit\":\"°C\",\"component\":\"climate\",\"max\":30"),
		  "points[0] (a).min: required for component climate" },
		{ HR("a", 0, "int16", "\"unit\":\"K\",\"component\":\"climate\",\"min\":5,\"max\":30"),
		  "points[0] (a).unit: expected °C or °F for climate (Home Assistant's temperature_unit C/F), got \"K\"" },
		{ HR("a", 0, "int16", "\"unit\":\"°C\",\"component\":\"climate\",\"min\":5,\"max\":30,\"climate\":{\"precision\":0.25}"),
		  "points[0] (a).climate.precision: expected 0.1, 0.5 or 1" },
		{ HR("a", 0, "int16", "\"unit\":\"°C\",\"component\":\"climate\",\"min\":5,\"max\":30,\"climate\":{\"current_temperature\":\"room\"}"),
		  "points[0] (a).climate.current_temperature: no point \"room\" in this definition" },
		{ HR("a", 0, "int16", "\"unit\":\"°C\",\"component\":\"climate\",\"min\":5,\"max\":30,\"climate\":{\"current_temperature\":\"b\"}") ","
		  "{\"key\":\"b\",\"name\":\"B\",\"table\":\"input_register\",\"address\":0,\"type\":\"int16\",\"unit\":\"°F\",\"device_class\":\"temperature\"}",
		  "points[0] (a).climate.current_temperature: expected a sensor in °C, \"b\" is a sensor in °F" },
		{ HR("a", 0, "int16", "\"unit\":\"°C\",\"component\":\"climate\",\"min\":5,\"max\":30,\"climate\":{\"mode\":\"m\"}") ","
		  HR("m", 1, "uint16", "\"component\":\"select\",\"options\":{\"0\":\"off\",\"1\":\"heating\"}"),
		  "points[0] (a).climate.mode: option \"heating\" of \"m\" is not a Home Assistant HVAC mode" },
		{ HR("a", 0, "int16", "\"unit\":\"°C\",\"component\":\"climate\",\"min\":5,\"max\":30,\"climate\":{\"mode\":\"m\",\"fixed_mode\":\"heat\"}") ","
		  HR("m", 1, "uint16", "\"component\":\"select\",\"options\":{\"0\":\"off\"}"),
		  "points[0] (a).climate.fixed_mode: only without a mode point (mode \"m\")" },
		{ HR("a", 0, "int16", "\"unit\":\"°C\",\"component\":\"climate\",\"min\":5,\"max\":30,\"climate\":{\"fixed_mode\":\"warm\"}"),
		  "points[0] (a).climate.fixed_mode: expected one of off, heat, cool, heat_cool, auto, dry, fan_only, got \"warm\"" },
		{ HR("a", 0, "uint16", "\"component\":\"text\""),
		  "points[0] (a).component: expected type string for text, got uint16" },
		{ HR("a", 0, "string", "\"length\":2,\"component\":\"text\",\"text\":{\"pattern\":\"[a-z\"}"),
		  "points[0] (a).text.pattern: expected a POSIX extended regular expression, got \"[a-z\"" },
		{ HR("a", 0, "string", "\"length\":2,\"component\":\"text\",\"text\":{\"min_length\":5}"),
		  "points[0] (a).text.min_length: expected at most 4 (the 2 registers hold 4 characters), got 5" },
		{ HR("a", 0, "string", "\"length\":2,\"component\":\"text\",\"text\":{\"mode\":\"secret\"}"),
		  "points[0] (a).text.mode: expected one of text, password, got \"secret\"" },
	};
	struct loaded l;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;

		if (asprintf(&text, HEADER "\"points\": [%s]}\n", cases[i].points) < 0)
			abort();
		load_text(&l, "block.json", text);
		CHECK(l.def == NULL);
		CHECK_STR_CONTAINS(l.text, cases[i].want);
		done(&l);
		free(text);
	}

	load_text(&l, "blocks.json", HEADER "\"points\": ["
		  HR("dim", 0, "uint16", "\"component\":\"light\",\"light\":{\"brightness_scale\":255}") ","
		  HR("pos", 1, "uint16", "\"scale\":0.1,\"component\":\"cover\",\"device_class\":\"blind\","
		     "\"cover\":{\"position_open\":0,\"position_closed\":100}") ","
		  HR("fan", 2, "uint16", "\"component\":\"fan\",\"fan\":{\"speed_min\":2,\"speed_max\":5,"
		     "\"off_value\":1,\"presets\":{\"9\":\"boost\"}}") ","
		  HR("sp", 3, "int16", "\"scale\":0.1,\"unit\":\"°F\",\"component\":\"climate\",\"min\":40,"
		     "\"max\":90,\"step\":1,\"climate\":{\"fixed_mode\":\"cool\"}") ","
		  HR("txt", 4, "string", "\"length\":3,\"component\":\"text\",\"text\":{\"mode\":\"password\"}")
		  "]}\n");
	CHECK(l.def != NULL);
	if (l.def) {
		const struct fb_point_def *p = l.def->points;

		CHECK_EQ_INT(p[0].ext.brightness_scale, 255);
		CHECK(!strcmp(fb_component_name(p[1].component), "cover"));
		CHECK_EQ_INT(p[1].ext.position_open, 0);
		CHECK_EQ_INT(p[1].ext.position_closed, 100);
		CHECK_EQ_INT(p[2].ext.fan_off, 1);
		CHECK_EQ_INT(p[2].ext.fan_on, 2); /* default: the lowest step */
		CHECK_EQ_INT(p[2].ext.npresets, 1);
		CHECK(p[3].component == FB_COMP_CLIMATE && !strcmp(p[3].ext.fixed_mode, "cool"));
		CHECK_NEAR(p[3].ext.temp_precision, 1.0, 1e-12);
		CHECK(p[4].component == FB_COMP_TEXT && p[4].ext.password && !p[4].ext.pattern);
		CHECK_EQ_INT(l.diag.warnings, 0);
	}
	done(&l);
}

/* A cover on two relays: the block's fields, its references and the
 * commands it takes. */
#define RELAYS "{\"key\":\"up\",\"name\":\"Up\",\"table\":\"coil\",\"address\":0}," \
	"{\"key\":\"down\",\"name\":\"Down\",\"table\":\"coil\",\"address\":1},"
#define RCOVER(extra, block) "{\"key\":\"c\",\"name\":\"C\",\"component\":\"cover\"," \
	"\"writable\":true" extra ",\"cover\":{" block "}}"
static void relay_cover_blocks(void)
{
	static const struct { const char *points, *want; } cases[] = {
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_tme_s\":10"),
		  "points[2] (c).cover: unknown field \"run_tme_s\": did you mean \"run_time_s\"?" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\""),
		  "points[2] (c).cover.run_time_s: required for a cover on relays" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"run_time_s\":10"),
		  "points[2] (c).cover.close: required" },
		{ RELAYS RCOVER("", "\"close\":\"down\",\"run_time_s\":10"),
		  "points[2] (c).cover.open: required" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":10,\"open_time_s\":9"),
		  "points[2] (c).cover.run_time_s: expected either run_time_s or open_time_s and close_time_s, not both" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"open_time_s\":9"),
		  "points[2] (c).cover.close_time_s: required with open_time_s" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":0"),
		  "points[2] (c).cover.run_time_s: expected 0.1..600 seconds, got 0" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":601"),
		  "points[2] (c).cover.run_time_s: expected 0.1..600 seconds, got 601" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":\"10\""),
		  "points[2] (c).cover.run_time_s: expected a number" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":10,\"reverse_pause_ms\":20000"),
		  "points[2] (c).cover.reverse_pause_ms: expected" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":10,\"position_open\":0"),
		  "points[2] (c).cover.position_open: only applies to a position register" },
		{ RELAYS RCOVER(",\"table\":\"holding_register\",\"address\":5", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":10"),
		  "points[2] (c).table: a cover on relays has no register of its own" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"up\",\"run_time_s\":10"),
		  "points[2] (c).cover.close: expected another point than open (\"up\")" },
		{ RELAYS RCOVER("", "\"open\":\"uup\",\"close\":\"down\",\"run_time_s\":10"),
		  "points[2] (c).cover.open: no point \"uup\" in this definition" },
		{ "{\"key\":\"up\",\"name\":\"Up\",\"table\":\"coil\",\"address\":0,\"writable\":true},"
		  "{\"key\":\"down\",\"name\":\"Down\",\"table\":\"coil\",\"address\":1},"
		  RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":10"),
		  "points[2] (c).cover.open: expected \"up\" without \"writable\": only the cover switches it" },
		{ "{\"key\":\"up\",\"name\":\"Up\",\"table\":\"discrete_input\",\"address\":0},"
		  "{\"key\":\"down\",\"name\":\"Down\",\"table\":\"coil\",\"address\":1},"
		  RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":10"),
		  "points[2] (c).cover.open: expected a coil or a bit of a holding register, \"up\" is discrete_input bool" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":10") ","
		  "{\"key\":\"d\",\"name\":\"D\",\"component\":\"cover\",\"writable\":true,"
		  "\"cover\":{\"open\":\"down\",\"close\":\"c\",\"run_time_s\":5}}",
		  "points[3] (d).cover.open: \"down\" is already a relay of cover \"c\"" },
		{ RELAYS RCOVER("", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":10") ","
		  "{\"key\":\"d\",\"name\":\"D\",\"component\":\"cover\",\"writable\":true,"
		  "\"cover\":{\"open\":\"down\",\"close\":\"c\",\"run_time_s\":5}}",
		  "points[3] (d).cover.close: expected a relay point, \"c\" is a cover" },
		{ HR("a", 0, "uint16", "\"component\":\"cover\",\"cover\":{\"run_time_s\":10}"),
		  "points[0] (a).cover.run_time_s: only applies to a cover on relays" },
		{ HR("a", 0, "uint16", "\"component\":\"cover\",\"cover\":{\"stop_value\":50}"),
		  "points[0] (a).cover.stop_value: expected a value outside position_closed..position_open (0..100), got 50" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,"
		  "\"type\":\"uint8\",\"byte\":\"low\",\"component\":\"cover\",\"cover\":{\"stop_value\":300}}",
		  "points[0] (a).cover.stop_value: expected 0..255 (what uint8 can hold), got 300" },
	};
	struct loaded l;
	struct fb_value v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;

		if (asprintf(&text, HEADER "\"points\": [%s]}\n", cases[i].points) < 0)
			abort();
		load_text(&l, "relays.json", text);
		CHECK(l.def == NULL);
		CHECK_STR_CONTAINS(l.text, cases[i].want);
		done(&l);
		free(text);
	}

	/* no register of its own: nothing at address 0 to forbid */
	load_text(&l, "relays.json", HEADER "\"forbidden_ranges\": [[0, 9]], \"points\": [" RELAYS
		  "{\"key\":\"bits\",\"name\":\"B\",\"table\":\"holding_register\",\"address\":10,"
		  "\"type\":\"bit\",\"bit\":3},"
		  "{\"key\":\"bits2\",\"name\":\"B2\",\"table\":\"holding_register\",\"address\":10,"
		  "\"type\":\"bit\",\"bit\":4},"
		  RCOVER(",\"device_class\":\"shutter\"", "\"open\":\"up\",\"close\":\"down\",\"run_time_s\":12.5") ","
		  "{\"key\":\"aw\",\"name\":\"Aw\",\"component\":\"cover\",\"writable\":true,\"cover\":{\"open\":\"bits\","
		  "\"close\":\"bits2\",\"open_time_s\":20,\"close_time_s\":18,\"reverse_pause_ms\":0}},"
		  HR("pos", 11, "uint16", "\"component\":\"cover\",\"cover\":{\"stop_value\":255}")
		  "]}\n");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.warnings, 0);
	if (l.def) {
		const struct fb_point_def *c = &l.def->points[4], *aw = &l.def->points[5];
		const struct fb_point_def *pos = &l.def->points[6];

		CHECK(!strcmp(c->ext.relay_open, "up") && !strcmp(c->ext.relay_close, "down"));
		CHECK_EQ_INT(c->ext.open_ms, 12500);
		CHECK_EQ_INT(c->ext.close_ms, 12500);
		CHECK_EQ_INT(c->ext.reverse_pause_ms, 500); /* the default */
		CHECK_EQ_INT(aw->ext.open_ms, 20000);
		CHECK_EQ_INT(aw->ext.close_ms, 18000);
		CHECK_EQ_INT(aw->ext.reverse_pause_ms, 0);
		/* commands: OPEN 100, CLOSE 0, a position, STOP as a string */
		CHECK(fb_point_parse_command(c, "OPEN", &v) == 0 && v.kind == FB_VALUE_FLOAT &&
		      v.f == 100);
		CHECK(fb_point_parse_command(c, "CLOSE", &v) == 0 && v.f == 0);
		CHECK(fb_point_parse_command(c, "37", &v) == 0 && v.f == 37);
		CHECK(fb_point_parse_command(c, "STOP", &v) == 0 && v.kind == FB_VALUE_STRING &&
		      !strcmp(v.s, "STOP"));
		CHECK(fb_point_parse_command(c, "101", &v) < 0);
		CHECK(fb_point_parse_command(c, "-1", &v) < 0);
		/* a position register with a stop value writes it on STOP */
		CHECK(pos->ext.has_stop && pos->ext.stop_value == 255);
		CHECK(fb_point_parse_command(pos, "STOP", &v) == 0 && v.f == 255);
		CHECK(fb_point_parse_command(pos, "255", &v) < 0); /* not as a position */
	}
	done(&l);
}

static void raw_request_button(void)
{
	struct loaded l;

	load_text(&l, "raw.json", HEADER "\"points\": [\n"
		  " {\"key\": \"energy_reset\", \"name\": \"Energy reset\", \"writable\": true,\n"
		  "  \"component\": \"button\", \"request\": \"42\", \"entity_category\": \"config\"},\n"
		  " {\"key\": \"clear\", \"name\": \"Clear\", \"writable\": true, \"component\": \"button\",\n"
		  "  \"request\": \"10 00 05 00 02 04 00 00 00 00\"},\n"
		  " {\"key\": \"e\", \"name\": \"E\", \"table\": \"holding_register\", \"address\": 0,\n"
		  "  \"type\": \"uint16\"}]}\n");
	CHECK(l.def != NULL);
	if (l.def) {
		const struct fb_point_def *p = &l.def->points[0], *q = &l.def->points[1];

		CHECK(p->key && !strcmp(p->key, "energy_reset"));
		CHECK_EQ_INT(p->request_len, 1);
		CHECK_EQ_INT(p->request[0], 0x42);
		CHECK_EQ_INT(p->component, FB_COMP_BUTTON);
		CHECK_EQ_INT(q->request_len, 10);
		CHECK_EQ_INT(q->request[0], 0x10);
		CHECK_EQ_INT(q->request[2], 0x05);
		CHECK_EQ_INT(q->request[5], 0x04);
		CHECK_EQ_INT(l.def->points[2].request_len, 0);
		/* No overlap warning with the register at 0: the button has none. */
		CHECK(strstr(l.text, "[overlap]") == NULL);
	}
	done(&l);
}

static void cross_field_rules(void)
{
	struct loaded l;

	load_bad(&l, "cross-field.json");
	CHECK_STR_CONTAINS(l.text, "points[0] (coil_float).type: expected bool for table coil, "
			   "got float32");
	CHECK_STR_CONTAINS(l.text, "points[1] (ro_write).writable: expected a coil or "
			   "holding_register point, table input_register is read-only");
	CHECK_STR_CONTAINS(l.text, "points[2] (switch_ro).component: switch needs "
			   "\"writable\": true");
	CHECK_STR_CONTAINS(l.text, "points[3] (mode).options: required for component select");
	CHECK_STR_CONTAINS(l.text, "points[4] (alarm).component: expected type bool or bit "
			   "for binary_sensor, got uint16");
	CHECK_STR_CONTAINS(l.text, "points[5] (wrap).address: expected the point to end by "
			   "65535, got 65535..65536");
	CHECK_EQ_INT(l.diag.errors, 6);
	done(&l);
}

static void defaults_are_applied(void)
{
	struct loaded l;
	const struct fb_point_def *p;

	load_text(&l, "defaults.json", HEADER
		  "\"points\": [\n"
		  " {\"key\": \"c\", \"name\": \"C\", \"table\": \"coil\", \"address\": 1, \"writable\": true},\n"
		  " {\"key\": \"d\", \"name\": \"D\", \"table\": \"discrete_input\", \"address\": 1},\n"
		  " {\"key\": \"ro\", \"name\": \"RO\", \"table\": \"coil\", \"address\": 2},\n"
		  " {\"key\": \"h\", \"name\": \"H\", \"table\": \"holding_register\", \"address\": \"0x10\",\n"
		  "  \"type\": \"uint16\", \"writable\": true, \"component\": \"number\", \"scale\": 0.5},\n"
		  " {\"key\": \"f\", \"name\": \"F\", \"table\": \"holding_register\", \"address\": 20,\n"
		  "  \"type\": \"float32\", \"writable\": true, \"component\": \"number\", \"precision\": 1},\n"
		  " {\"key\": \"i\", \"name\": \"I\", \"table\": \"input_register\", \"address\": 30, \"type\": \"int16\"}\n"
		  "]}\n");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.errors, 0);
	CHECK_EQ_INT(l.diag.warnings, 2); /* the lint: numbers h and f have no min/max */
	CHECK_STR_CONTAINS(l.text, "points[3] (h).min: a writable number without limits");
	if (!l.def) {
		done(&l);
		return;
	}
	CHECK(!strcmp(l.def->id, "defaults"));
	CHECK_EQ_INT(l.def->max_registers_per_read, 125);
	CHECK_EQ_INT(l.def->max_bits_per_read, 2000);
	CHECK_EQ_INT(l.def->max_gap, 8);
	CHECK_EQ_INT(l.def->serial.baud, 0);
	CHECK_EQ_INT(l.def->serial.parity, 'N');
	p = fb_model_point(l.def, "c");
	CHECK_EQ_INT(p->component, FB_COMP_SWITCH);
	CHECK_EQ_INT(p->write_fn, FB_WRITE_FC05);
	CHECK_EQ_INT(p->type, FB_TYPE_BOOL);
	p = fb_model_point(l.def, "d");
	CHECK_EQ_INT(p->component, FB_COMP_BINARY_SENSOR);
	CHECK_EQ_INT(p->write_fn, FB_WRITE_NONE);
	p = fb_model_point(l.def, "ro");
	CHECK_EQ_INT(p->component, FB_COMP_BINARY_SENSOR);
	p = fb_model_point(l.def, "h");
	CHECK_EQ_INT(p->address, 16);
	CHECK_EQ_INT(p->write_fn, FB_WRITE_FC06);
	CHECK_NEAR(p->step, 0.5, 0);
	CHECK_EQ_INT(p->poll, FB_POLL_NORMAL);
	p = fb_model_point(l.def, "f");
	CHECK_EQ_INT(p->write_fn, FB_WRITE_FC16);
	CHECK_NEAR(p->step, 0.1, 1e-12);
	p = fb_model_point(l.def, "i");
	CHECK_EQ_INT(p->component, FB_COMP_SENSOR);
	CHECK_EQ_INT(p->order, FB_ORDER_ABCD);
	CHECK_NEAR(p->scale, 1, 0);
	CHECK_NEAR(p->offset, 0, 0);
	CHECK_EQ_INT(p->precision, -1);
	CHECK(!p->has_sentinel);
	done(&l);
}

static void full_point_parses(void)
{
	struct loaded l;
	const struct fb_point_def *p;

	load_text(&l, "full.json",
		  "/* every field */\n"
		  "{ \"manufacturer\": \"T\", \"model\": \"M\", \"protocol\": \"modbus\",\n"
		  "  \"serial\": {\"baud\": 19200, \"parity\": \"E\", \"data_bits\": 8, \"stop_bits\": 1},\n"
		  "  \"max_registers_per_read\": 40, \"max_bits_per_read\": 16, \"max_gap\": 0,\n"
		  "  \"forbidden_ranges\": [[100, 199]],\n"
		  "  \"_comment\": \"underscore keys are documentation\",\n"
		  "  \"points\": [\n"
		  "  {\"key\": \"mode\", \"name\": \"Mode\", \"table\": \"holding_register\", \"address\": 5,\n"
		  "   \"type\": \"uint16\", \"writable\": true, \"component\": \"select\",\n"
		  "   \"options\": {\"0\": \"Off\", \"1\": \"Auto\", \"0x10\": \"Boost\"},\n"
		  "   \"entity_category\": \"config\", \"icon\": \"mdi:fan\", \"poll\": \"slow\"},\n"
		  "  {\"key\": \"serial_no\", \"name\": \"Serial\", \"table\": \"holding_register\",\n"
		  "   \"address\": 50, \"type\": \"string\", \"length\": 8, \"order\": \"BADC\",\n"
		  "   \"poll\": \"once\", \"entity_category\": \"diagnostic\"},\n"
		  "  {\"key\": \"alarm\", \"name\": \"Alarm\", \"table\": \"input_register\", \"address\": 7,\n"
		  "   \"type\": \"bit\", \"bit\": 3, \"device_class\": \"problem\", \"component\": \"binary_sensor\"},\n"
		  "  {\"key\": \"temp\", \"name\": \"Temp\", \"table\": \"input_register\", \"address\": 8,\n"
		  "   \"type\": \"int16\", \"scale\": 0.1, \"offset\": -40, \"unit\": \"°C\",\n"
		  "   \"device_class\": \"temperature\", \"state_class\": \"measurement\",\n"
		  "   \"precision\": 1, \"sentinel\": \"0x8000\", \"poll\": \"fast\"},\n"
		  "  {\"key\": \"reset\", \"name\": \"Reset\", \"table\": \"holding_register\", \"address\": 9,\n"
		  "   \"type\": \"uint16\", \"writable\": true, \"component\": \"button\", \"press\": \"0xA5A5\",\n"
		  "   \"device_class\": \"restart\"},\n"
		  "  {\"key\": \"toggle\", \"name\": \"Toggle\", \"table\": \"coil\", \"address\": 3,\n"
		  "   \"writable\": true, \"component\": \"switch\", \"coil_on\": \"0x5500\", \"coil_off\": 0},\n"
		  "  {\"key\": \"limit\", \"name\": \"Limit\", \"table\": \"holding_register\", \"address\": 10,\n"
		  "   \"type\": \"int32\", \"order\": \"CDAB\", \"writable\": true, \"component\": \"number\",\n"
		  "   \"min\": -100, \"max\": 100, \"step\": 5, \"unit\": \"W\", \"device_class\": \"power\"},\n"
		  "  {\"key\": \"big\", \"name\": \"Big\", \"table\": \"input_register\", \"address\": 12,\n"
		  "   \"type\": \"uint64\", \"sentinel\": \"0xFFFFFFFFFFFFFFFF\"}\n"
		  "]}\n");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.count, 0);
	if (!l.def) {
		done(&l);
		return;
	}
	CHECK_EQ_INT(l.def->serial.baud, 19200);
	CHECK_EQ_INT(l.def->serial.parity, 'E');
	CHECK_EQ_INT(l.def->max_registers_per_read, 40);
	CHECK_EQ_INT(l.def->max_bits_per_read, 16);
	CHECK_EQ_INT(l.def->max_gap, 0);
	CHECK_EQ_INT(l.def->nforbidden, 1);
	CHECK_EQ_INT(l.def->forbidden[0].first, 100);
	CHECK_EQ_INT(l.def->forbidden[0].last, 199);
	p = fb_model_point(l.def, "mode");
	CHECK_EQ_INT(p->noptions, 3);
	CHECK_EQ_INT(p->options[2].raw, 16);
	CHECK(!strcmp(p->options[2].label, "Boost"));
	CHECK(!strcmp(p->entity_category, "config"));
	CHECK(!strcmp(p->icon, "mdi:fan"));
	CHECK_EQ_INT(p->poll, FB_POLL_SLOW);
	CHECK_EQ_INT(p->write_fn, FB_WRITE_FC06);
	p = fb_model_point(l.def, "serial_no");
	CHECK_EQ_INT(fb_point_width(p), 8);
	CHECK_EQ_INT(p->order, FB_ORDER_BADC);
	CHECK_EQ_INT(p->poll, FB_POLL_ONCE);
	CHECK_EQ_INT(fb_point_value_kind(p), FB_VALUE_STRING);
	p = fb_model_point(l.def, "alarm");
	CHECK_EQ_INT(p->bit, 3);
	p = fb_model_point(l.def, "temp");
	CHECK(p->has_sentinel);
	CHECK_EQ_INT(p->sentinel_raw, 0x8000);
	CHECK_NEAR(p->offset, -40, 0);
	CHECK_EQ_INT(fb_point_value_kind(p), FB_VALUE_FLOAT);
	p = fb_model_point(l.def, "reset");
	CHECK_EQ_INT(p->press_raw, 0xA5A5);
	p = fb_model_point(l.def, "toggle");
	CHECK_EQ_INT(p->coil_on_raw, 0x5500);
	p = fb_model_point(l.def, "limit");
	CHECK(p->has_min && p->has_max);
	CHECK_NEAR(p->min, -100, 0);
	CHECK_NEAR(p->step, 5, 0);
	CHECK_EQ_INT(p->write_fn, FB_WRITE_FC16);
	CHECK_EQ_INT(p->order, FB_ORDER_CDAB);
	p = fb_model_point(l.def, "big");
	CHECK(p->has_sentinel && (uint64_t)p->sentinel_raw == UINT64_MAX);
	done(&l);
}

/* One snippet per rule: each must fail with the given message. */
static void inline_rules(void)
{
	static const struct { const char *points, *want; } cases[] = {
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0}",
		  "points[0] (a).type: required for table input_register" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"bit\"}",
		  "points[0] (a).bit: required field is missing" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"bit\",\"bit\":16}",
		  "points[0] (a).bit: expected 0..15, got 16" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"bit\":1}",
		  "points[0] (a).bit: only applies to type bit" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"string\"}",
		  "points[0] (a).length: required field is missing" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"string\",\"length\":24}",
		  "points[0] (a).length: expected 1..23, got 24" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"string\",\"length\":2,\"order\":\"CDAB\"}",
		  "points[0] (a).order: expected ABCD or BADC for a string, got CDAB" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"int16\",\"order\":\"XYZW\"}",
		  "points[0] (a).order: expected one of ABCD, CDAB, BADC, DCBA, got \"XYZW\"" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"int16\",\"scale\":0}",
		  "points[0] (a).scale: expected a non-zero number, got 0" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0,\"scale\":2}",
		  "points[0] (a).scale: only applies to numeric types, not coil" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"bit\",\"bit\":2,\"writable\":true}",
		  "points[0] (a).writable: not supported for type bit" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"write_function\":\"fc06\"}",
		  "points[0] (a).write_function: set, but the point is not writable" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0,\"writable\":true,\"write_function\":\"fc16\"}",
		  "points[0] (a).write_function: expected fc05 or fc15 for a coil, got fc16" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"writable\":true,\"write_function\":\"fc05\"}",
		  "points[0] (a).write_function: expected fc06 or fc16 for a holding_register, got fc05" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"coil_on\":1}",
		  "points[0] (a).coil_on: only applies to writable coils written with fc05" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"writable\":true,\"component\":\"number\",\"max\":70000}",
		  "points[0] (a).max: expected 0..65535 (what uint16 can hold), got 70000" },
		/* 2^63 - 1 is 2^63 as a JSON number: too big for int64, also where
		 * long double is double. */
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"int64\",\"writable\":true,\"component\":\"number\",\"max\":9223372036854775807}",
		  "points[0] (a).max: expected -9.22337e+18..9.22337e+18 (what int64 can hold), got 9.22337e+18" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"writable\":true,\"component\":\"number\",\"min\":5,\"max\":5}",
		  "points[0] (a).min: expected less than max (5), got 5" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"min\":1}",
		  "points[0] (a).min: only applies to components number and climate" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"float32\",\"writable\":true,\"component\":\"select\",\"options\":{\"0\":\"x\"}}",
		  "points[0] (a).component: expected an unscaled integer type for select, got float32" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"writable\":true,\"component\":\"select\",\"options\":{\"x\":\"y\"}}",
		  "points[0] (a).options.\"x\": expected an integer raw value" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"writable\":true,\"component\":\"select\",\"options\":{\"-1\":\"y\"}}",
		  "points[0] (a).options.\"-1\": expected a raw value 0..65535 for uint16" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"options\":{\"1\":\"y\"}}",
		  "points[0] (a).options: only applies to select, or a sensor with device_class enum" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"press\":1}",
		  "points[0] (a).press: only applies to component button" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0,\"writable\":true,\"component\":\"valve\",\"device_class\":\"door\"}",
		  "points[0] (a).device_class: expected a valve device class (water, gas), got \"door\"" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0,\"writable\":true,\"component\":\"light\",\"device_class\":\"switch\"}",
		  "points[0] (a).device_class: light has no device classes, got \"switch\"" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"writable\":true,\"component\":\"light\"}",
		  "points[0] (a).component: expected type bool for light (or an integer type with on_value and off_value), got uint16" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0,\"component\":\"valve\"}",
		  "points[0] (a).component: valve needs \"writable\": true" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0,\"writable\":true,\"component\":\"light\",\"unit\":\"W\"}",
		  "points[0] (a).unit: only applies to sensor and number, not light" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"writable\":true,\"component\":\"button\",\"request\":\"4\"}",
		  "points[0] (a).request: expected hex bytes (function code first, at most 32 bytes) such as \"42\" or \"10 00 02\", got \"4\"" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"writable\":true,\"component\":\"button\",\"request\":\"0x42\"}",
		  "points[0] (a).request: expected hex bytes" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"writable\":true,\"component\":\"button\",\"request\":\"C2\"}",
		  "points[0] (a).request: expected a function code 0x01..0x7F as the first byte, got \"C2\"" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"request\":\"42\"}",
		  "points[0] (a).request: only applies to component button" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"writable\":true,\"component\":\"button\",\"request\":\"42\",\"press\":2}",
		  "points[0] (a).press: a button sends either its request or a press value, not both" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"type\":\"uint16\"}",
		  "points[0] (a).table: required field is missing" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"int16\",\"sentinel\":70000}",
		  "points[0] (a).sentinel: expected -32768..65535" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"poll\":\"sometimes\"}",
		  "points[0] (a).poll: expected one of fast, normal, slow, once, got \"sometimes\"" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"icon\":\"flash\"}",
		  "points[0] (a).icon: expected \"prefix:name\"" },
		{ "{\"key\":\"a\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\"}",
		  "points[0] (a).name: required field is missing" },
		{ "{\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\"}",
		  "points[0].key: required field is missing" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"writable\":\"maybe\"}",
		  "points[0] (a).writable: expected true/false or \"on\"/\"off\", got maybe" },
		{ "[1]", "points[0]: expected an object, got an array" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"entity_category\":\"config\"}",
		  "points[0] (a).entity_category: expected diagnostic for a sensor" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0,\"writable\":true,\"unit\":\"W\"}",
		  "points[0] (a).unit: only applies to sensor and number, not switch" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"string\",\"length\":2,\"unit\":\"W\"}",
		  "points[0] (a).unit: only applies to numeric sensors, this one is a string" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":0,\"type\":\"uint16\",\"device_class\":\"energy\",\"state_class\":\"total\"}",
		  "points[0] (a).unit: required for device_class energy (one of J, kJ" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\",\"writable\":true,\"component\":\"number\",\"state_class\":\"measurement\"}",
		  "points[0] (a).state_class: only applies to component sensor, not number" },
		{ "{\"key\":\"a\",\"name\":\"A\",\"table\":\"coil\",\"address\":0,\"writable\":true,\"device_class\":\"light\"}",
		  "points[0] (a).device_class: expected a switch device class (outlet, switch), got \"light\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct loaded l;
		char *text = NULL;

		if (asprintf(&text, HEADER "\"points\": [%s]}\n", cases[i].points) < 0)
			abort();
		load_text(&l, "rule.json", text);
		CHECK(l.def == NULL);
		CHECK_STR_CONTAINS(l.text, cases[i].want);
		done(&l);
		free(text);
	}
}

/* Loads one point of each protocol with the given key into key.json. */
static void load_key(struct loaded *modbus, struct loaded *gpio, const char *key)
{
	char *text = NULL;

	if (asprintf(&text, HEADER "\"points\": [{\"key\": \"%s\", \"name\": \"A\", "
		     "\"table\": \"input_register\", \"address\": 0, \"type\": \"uint16\"}]}\n",
		     key) < 0)
		abort();
	load_text(modbus, "key.json", text);
	free(text);
	if (asprintf(&text, "{ \"manufacturer\": \"T\", \"model\": \"M\", \"protocol\": "
		     "\"gpio\",\n\"points\": [{\"key\": \"%s\", \"name\": \"A\", "
		     "\"role\": \"input\"}]}\n", key) < 0)
		abort();
	load_text(gpio, "key.json", text);
	free(text);
}

/* One key rule for both protocols, refused with one message: a leading '_'
 * is reserved for comments and the driver's "_diag_*" points. */
static void key_rule_is_the_same_for_both_protocols(void)
{
	static const char *const bad[] = {
		"_x", "_diag_requests", "Upper", "a-b", "",
		"abcdefghijklmnopqrstuvwxyz012345", /* 32: one more than the table holds */
	};
	static const char *const good[] = {
		"x", "x_", "a_b_2", "abcdefghijklmnopqrstuvwxyz01234", /* 31 */
	};
	struct loaded m, g;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[200];

		load_key(&m, &g, bad[i]);
		snprintf(want, sizeof(want), "key.json: points[0].key: expected 1..31 characters "
			 "of a-z, 0-9 and _ (not starting with _), got \"%s\"", bad[i]);
		CHECK(m.def == NULL && g.def == NULL);
		CHECK_STR_CONTAINS(m.text, want);
		CHECK_EQ_INT(m.diag.errors, 1);
		CHECK_EQ_INT(g.diag.errors, 1);
		CHECK(m.text && g.text && !strcmp(m.text, g.text));
		done(&m);
		done(&g);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		load_key(&m, &g, good[i]);
		CHECK(m.def != NULL && g.def != NULL);
		CHECK(m.def && !strcmp(m.def->points[0].key, good[i]));
		CHECK(g.def && !strcmp(g.def->points[0].key, good[i]));
		done(&m);
		done(&g);
	}
}

static void top_level_rules(void)
{
	static const struct { const char *json, *want; } cases[] = {
		{ "{\"model\":\"M\",\"protocol\":\"modbus\",\"points\":[]}",
		  "top.json: manufacturer: required field is missing" },
		{ "{\"manufacturer\":\"T\",\"model\":\"M\",\"protocol\":\"can\",\"points\":[]}",
		  "top.json: protocol: expected one of modbus, gpio, got \"can\"" },
		{ HEADER "\"points\":[]}", "top.json: points: expected a non-empty array" },
		{ HEADER "\"max_registers_per_read\": 126, \"points\":[]}",
		  "top.json: max_registers_per_read: expected 1..125, got 126" },
		{ HEADER "\"max_registers_per_read\": 4, \"max_gap\": 4, \"points\":[]}",
		  "top.json: max_gap: expected less than max_registers_per_read (4), got 4" },
		{ HEADER "\"serial\": {\"baud\": 1234, \"parity\": \"X\"}, \"points\":[]}",
		  "top.json: serial.baud: expected one of 1200, 2400" },
		{ HEADER "\"serial\": {\"baud\": 9600, \"parity\": \"X\"}, \"points\":[]}",
		  "top.json: serial.parity: expected one of N, E, O, got \"X\"" },
		{ HEADER "\"forbidden_ranges\": [[5, 1]], \"points\":[]}",
		  "top.json: forbidden_ranges[0]: expected 0 <= first <= last <= 65535, got [5, 1]" },
		{ HEADER "\"forbidden_ranges\": [7], \"points\":[]}",
		  "top.json: forbidden_ranges[0]: expected [first, last]" },
		{ "{\"manufacturer\":\"T\",\"model\":\"M\",\"protocol\":\"gpio\",\"points\":["
		  "{\"key\":\"a\",\"name\":\"A\",\"table\":\"holding_register\",\"address\":0,\"type\":\"uint16\"}]}",
		  "top.json: points[0] (a).table: unknown field for a gpio point" },
		{ "[]", "top.json: expected a JSON object at the top level" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct loaded l;

		load_text(&l, "top.json", cases[i].json);
		CHECK(l.def == NULL);
		CHECK_STR_CONTAINS(l.text, cases[i].want);
		done(&l);
	}
}

static void every_problem_is_collected(void)
{
	struct loaded l;

	/* Five broken points and a broken top-level field: six errors. */
	load_text(&l, "many.json",
		  "{ \"manufacturer\": 5, \"model\": \"M\", \"protocol\": \"modbus\", \"points\": [\n"
		  " {\"key\":\"a\",\"name\":\"A\",\"table\":\"input_register\",\"address\":-1,\"type\":\"uint16\"},\n"
		  " {\"key\":\"b\",\"name\":\"B\",\"table\":\"input_register\",\"address\":1,\"type\":\"uint12\"},\n"
		  " {\"key\":\"c\",\"name\":\"C\",\"table\":\"inputs\",\"address\":2,\"type\":\"uint16\"},\n"
		  " {\"key\":\"d\",\"name\":\"D\",\"table\":\"input_register\",\"address\":3,\"type\":\"uint16\",\"scale\":\"x\"},\n"
		  " {\"key\":\"e\",\"name\":\"E\",\"table\":\"input_register\",\"address\":4,\"type\":\"uint16\",\"precision\":99}\n"
		  "]}\n");
	CHECK(l.def == NULL);
	CHECK_EQ_INT(l.diag.errors, 6);
	CHECK_STR_CONTAINS(l.text, "many.json: manufacturer: expected a string, got a number");
	CHECK_STR_CONTAINS(l.text, "points[0] (a).address: expected 0..65535, got -1");
	CHECK_STR_CONTAINS(l.text, "points[1] (b).type:");
	CHECK_STR_CONTAINS(l.text, "points[2] (c).table:");
	CHECK_STR_CONTAINS(l.text, "points[3] (d).scale: expected a number, got a string");
	CHECK_STR_CONTAINS(l.text, "points[4] (e).precision: expected 0..15, got 99");
	done(&l);
}

static void find_searches_directories_in_order(void)
{
	const char *dirs[] = { "/nonexistent-fb-dir", FB_SOURCE_DIR "/devices" };
	struct fb_diag d;
	struct fb_definition *def;
	char *text;

	fb_diag_init(&d);
	def = fb_model_find("eastron-sdm120", dirs, 2, &d);
	CHECK(def != NULL);
	CHECK_EQ_INT(d.count, 0);
	if (def)
		CHECK_STR_CONTAINS(def->path, "/devices/eastron-sdm120.json");
	fb_model_free(def);

	def = fb_model_find("no-such-meter", dirs, 2, &d);
	CHECK(def == NULL);
	text = diag_text(&d);
	CHECK_STR_CONTAINS(text, "definition \"no-such-meter\": no no-such-meter.json in "
			   "/nonexistent-fb-dir, " FB_SOURCE_DIR "/devices");
	free(text);
	fb_diag_free(&d);

	def = fb_model_find("../etc/passwd", dirs, 2, &d);
	CHECK(def == NULL);
	text = diag_text(&d);
	CHECK_STR_CONTAINS(text, "definition \"../etc/passwd\": expected a file stem");
	free(text);
	fb_diag_free(&d);

	fb_model_free(NULL);
}

static void unreadable_file(void)
{
	struct loaded l;

	load_path(&l, "/nonexistent-fb-dir/x.json");
	CHECK(l.def == NULL);
	CHECK_STR_CONTAINS(l.text, "/nonexistent-fb-dir/x.json: cannot read: No such file");
	done(&l);
}

static void enum_names(void)
{
	CHECK(!strcmp(fb_component_name(FB_COMP_BINARY_SENSOR), "binary_sensor"));
	CHECK(!strcmp(fb_data_type_name(FB_TYPE_BCD32), "bcd32"));
	CHECK(!strcmp(fb_data_type_name((enum fb_data_type)99), "?"));
	CHECK(!strcmp(fb_reg_table_name(FB_REG_HOLDING), "holding_register"));
	CHECK(!strcmp(fb_byte_order_name(FB_ORDER_DCBA), "DCBA"));
	CHECK(!strcmp(fb_write_fn_name(FB_WRITE_NONE), "none"));
	CHECK(!strcmp(fb_write_fn_name(FB_WRITE_FC16), "fc16"));
	CHECK(!strcmp(fb_poll_class_name(FB_POLL_ONCE), "once"));
}

/* The fields the device library added: byte types, raw switch values,
 * scale registers, pacing; each misuse is an error naming the field. */
static void library_format_fields(void)
{
	struct loaded l;
	const struct fb_point_def *p;

	load_text(&l, "fmt.json", HEADER
		  "\"request_gap_ms\": 100, \"min_interval_ms\": 2000, \"connect_delay_ms\": 1000,\n"
		  "\"max_registers_per_read\": 10,\n"
		  "\"points\": [\n"
		  " {\"key\": \"t_ctrl\", \"name\": \"T\", \"table\": \"holding_register\", \"address\": 259,\n"
		  "  \"type\": \"int8_sm\", \"byte\": \"high\", \"unit\": \"°C\", \"device_class\": \"temperature\"},\n"
		  " {\"key\": \"t_batt\", \"name\": \"B\", \"table\": \"holding_register\", \"address\": 259,\n"
		  "  \"type\": \"int8_sm\", \"byte\": \"low\", \"unit\": \"°C\", \"device_class\": \"temperature\"},\n"
		  " {\"key\": \"export\", \"name\": \"E\", \"table\": \"holding_register\", \"address\": 13086,\n"
		  "  \"type\": \"uint16\", \"writable\": true, \"component\": \"switch\", \"on_value\": \"0xAA\", \"off_value\": 85},\n"
		  " {\"key\": \"w\", \"name\": \"W\", \"table\": \"holding_register\", \"address\": 40083,\n"
		  "  \"type\": \"int16\", \"scale_register\": 40084, \"unit\": \"W\", \"device_class\": \"power\"}\n"
		  "]}\n");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.count, 0);
	if (l.def) {
		CHECK_EQ_INT(l.def->request_gap_ms, 100);
		CHECK_EQ_INT(l.def->min_interval_ms, 2000);
		CHECK_EQ_INT(l.def->connect_delay_ms, 1000);
		p = fb_model_point(l.def, "t_ctrl");
		CHECK(p && p->type == FB_TYPE_INT8_SM && p->byte_high);
		p = fb_model_point(l.def, "export");
		CHECK(p && p->has_switch_raw && p->switch_on_raw == 0xAA && p->switch_off_raw == 85);
		CHECK(p && p->write_fn == FB_WRITE_FC06);
		p = fb_model_point(l.def, "w");
		CHECK(p && p->has_scale_register && p->scale_register == 40084);
	}
	done(&l);

	load_text(&l, "fmt.json", HEADER
		  "\"connect_delay_ms\": 99999, \"max_registers_per_read\": 10,\n"
		  "\"points\": [\n"
		  " {\"key\": \"a\", \"name\": \"A\", \"table\": \"holding_register\", \"address\": 0, \"type\": \"uint8\"},\n"
		  " {\"key\": \"b\", \"name\": \"B\", \"table\": \"holding_register\", \"address\": 1, \"type\": \"uint16\", \"byte\": \"high\"},\n"
		  " {\"key\": \"c\", \"name\": \"C\", \"table\": \"holding_register\", \"address\": 2, \"type\": \"int8\", \"byte\": \"low\",\n"
		  "  \"writable\": true, \"component\": \"number\", \"min\": 0, \"max\": 9},\n"
		  " {\"key\": \"d\", \"name\": \"D\", \"table\": \"holding_register\", \"address\": 3, \"type\": \"uint16\",\n"
		  "  \"writable\": true, \"component\": \"switch\", \"on_value\": 1},\n"
		  " {\"key\": \"e\", \"name\": \"E\", \"table\": \"holding_register\", \"address\": 4, \"type\": \"uint16\",\n"
		  "  \"writable\": true, \"component\": \"switch\"},\n"
		  " {\"key\": \"f\", \"name\": \"F\", \"table\": \"holding_register\", \"address\": 5, \"type\": \"uint16\",\n"
		  "  \"on_value\": 1, \"off_value\": 1, \"writable\": true, \"component\": \"switch\"},\n"
		  " {\"key\": \"g\", \"name\": \"G\", \"table\": \"holding_register\", \"address\": 6, \"type\": \"float32\", \"scale_register\": 8},\n"
		  " {\"key\": \"h\", \"name\": \"H\", \"table\": \"holding_register\", \"address\": 20, \"type\": \"int16\", \"scale_register\": 40},\n"
		  " {\"key\": \"i\", \"name\": \"I\", \"table\": \"holding_register\", \"address\": 21, \"type\": \"int32\", \"scale_register\": 22},\n"
		  " {\"key\": \"j\", \"name\": \"J\", \"table\": \"holding_register\", \"address\": 24, \"type\": \"int16\", \"scale_register\": 25,\n"
		  "  \"writable\": true, \"component\": \"number\", \"min\": 0, \"max\": 9}\n"
		  "]}\n");
	CHECK(l.def == NULL);
	CHECK_STR_CONTAINS(l.text, "fmt.json: connect_delay_ms: expected 0..10000, got 99999");
	CHECK_STR_CONTAINS(l.text, "points[0] (a).byte: required");
	CHECK_STR_CONTAINS(l.text, "points[1] (b).byte: only applies to types int8, uint8 and int8_sm");
	CHECK_STR_CONTAINS(l.text, "points[2] (c).writable: not supported for type int8 (writing "
			   "the register would overwrite its other byte)");
	CHECK_STR_CONTAINS(l.text, "points[3] (d).off_value: expected on_value and off_value together");
	CHECK_STR_CONTAINS(l.text, "points[4] (e).component: expected type bool for switch (or an "
			   "integer type with on_value and off_value), got uint16");
	CHECK_STR_CONTAINS(l.text, "points[5] (f).on_value: expected a value different from "
			   "off_value, got 1 for both");
	CHECK_STR_CONTAINS(l.text, "points[6] (g).scale_register: only applies to integer types, "
			   "not float32");
	CHECK_STR_CONTAINS(l.text, "points[7] (h).scale_register: 0x0028 is 21 registers from the "
			   "value: expected both within one read of max_registers_per_read (10)");
	CHECK_STR_CONTAINS(l.text, "points[8] (i).scale_register: expected another register than "
			   "the value's own (0x0015..0x0016), got 0x0016");
	CHECK_STR_CONTAINS(l.text, "points[9] (j).writable: not supported with scale_register");
	done(&l);
}

/* The "sunspec" block and the points' sunspec_model. */
static void sunspec_block(void)
{
	struct loaded l;
	const struct fb_sunspec_model *m;

	load_text(&l, "ss.json", HEADER
		  "\"sunspec\": {\"models\": {\"1\": 40002, \"103\": 40069}},\n"
		  "\"points\": [\n"
		  " {\"key\": \"w\", \"name\": \"W\", \"table\": \"holding_register\", \"address\": 40083,\n"
		  "  \"type\": \"int16\", \"sunspec_model\": 103, \"scale_register\": 40084}\n"
		  "]}\n");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.errors, 0);
	if (l.def) {
		CHECK_EQ_INT(l.def->nsunspec, 2);
		m = fb_model_sunspec_model(l.def, 103);
		CHECK(m && m->address == 40069);
		CHECK(fb_model_sunspec_model(l.def, 203) == NULL);
		CHECK_EQ_INT(l.def->points[0].sunspec_model, 103);
	}
	done(&l);
	load_text(&l, "ss.json", HEADER
		  "\"sunspec\": {\"models\": {\"x\": 1, \"103\": 40069, \"1\": -4}, \"base\": 1},\n"
		  "\"points\": [\n"
		  " {\"key\": \"a\", \"name\": \"A\", \"table\": \"holding_register\", \"address\": 40083,\n"
		  "  \"type\": \"int16\", \"sunspec_model\": 203},\n"
		  " {\"key\": \"b\", \"name\": \"B\", \"table\": \"input_register\", \"address\": 40083,\n"
		  "  \"type\": \"int16\", \"sunspec_model\": 103},\n"
		  " {\"key\": \"c\", \"name\": \"C\", \"table\": \"holding_register\", \"address\": 40070,\n"
		  "  \"type\": \"int16\", \"sunspec_model\": 103}\n"
		  "]}\n");
	CHECK(l.def == NULL);
	CHECK_STR_CONTAINS(l.text, "ss.json: sunspec: unknown field \"base\"");
	CHECK_STR_CONTAINS(l.text, "ss.json: sunspec.models.\"x\": expected a model id 1..65534");
	CHECK_STR_CONTAINS(l.text, "ss.json: sunspec.models.\"1\": expected the address 0..65533");
	CHECK_STR_CONTAINS(l.text, "points[0] (a).sunspec_model: model 203 is not in sunspec.models");
	CHECK_STR_CONTAINS(l.text, "points[1] (b).table: SunSpec models are holding registers, "
			   "got input_register");
	CHECK_STR_CONTAINS(l.text, "points[2] (c).address: expected an address after model 103's "
			   "header (0x9C85..0x9C86), got 0x9C86");
	done(&l);
}


/* Meters 2.., float twins and model lengths: where a device's chain puts
 * each point (fb_model_sunspec_assign / fb_model_sunspec_place). */
static void sunspec_instances_floats_and_lengths(void)
{
	struct loaded l;
	struct fb_sunspec_found found[4];
	struct fb_point_def p;
	/* inverter as float 113, a 201 and a 203 meter, MPPT with 2 modules */
	const struct fb_sunspec_found chain[] = {
		{ 1, 40002, 66 }, { 113, 40070, 60 }, { 201, 40132, 105 }, { 203, 40239, 105 },
		{ 160, 40346, 48 },
	};

	load_text(&l, "ss2.json", HEADER
		  "\"sunspec\": {\"models\": {\"103\": 40069, \"203\": 40188, \"203:2\": 40362,"
		  " \"160\": 40643}, \"rescan_s\": 30},\n"
		  "\"points\": [\n"
		  " {\"key\": \"w\", \"name\": \"W\", \"table\": \"holding_register\", \"address\": 40083,\n"
		  "  \"type\": \"int16\", \"sunspec_model\": 103, \"sentinel\": \"0x8000\",\n"
		  "  \"scale_register\": 40084, \"sunspec_float\": 22},\n"
		  " {\"key\": \"st\", \"name\": \"St\", \"table\": \"holding_register\", \"address\": 40107,\n"
		  "  \"type\": \"uint16\", \"sunspec_model\": 103, \"sunspec_float\": 48},\n"
		  " {\"key\": \"evt\", \"name\": \"Evt\", \"table\": \"holding_register\", \"address\": 40108,\n"
		  "  \"type\": \"uint16\", \"sunspec_model\": 103},\n"
		  " {\"key\": \"m1\", \"name\": \"M1\", \"table\": \"holding_register\", \"address\": 40206,\n"
		  "  \"type\": \"int16\", \"sunspec_model\": 203, \"scale_register\": 40210},\n"
		  " {\"key\": \"m2\", \"name\": \"M2\", \"table\": \"holding_register\", \"address\": 40380,\n"
		  "  \"type\": \"int16\", \"sunspec_model\": 203, \"sunspec_instance\": 2,\n"
		  "  \"scale_register\": 40384},\n"
		  " {\"key\": \"pv2\", \"name\": \"PV2\", \"table\": \"holding_register\", \"address\": 40684,\n"
		  "  \"type\": \"uint16\", \"sunspec_model\": 160, \"scale_register\": 40647},\n"
		  " {\"key\": \"pv3\", \"name\": \"PV3\", \"table\": \"holding_register\", \"address\": 40704,\n"
		  "  \"type\": \"uint16\", \"sunspec_model\": 160, \"scale_register\": 40647}\n"
		  "]}\n");
	CHECK(l.def != NULL);
	CHECK_EQ_INT(l.diag.errors, 0);
	if (l.def) {
		const struct fb_definition *def = l.def;

		CHECK_EQ_INT(def->sunspec_rescan_s, 30);
		CHECK_EQ_INT(def->sunspec[2].instance, 2);
		CHECK(fb_model_sunspec_entry(def, &def->points[4]) == &def->sunspec[2]);
		fb_model_sunspec_assign(def, chain, sizeof(chain) / sizeof(chain[0]), found);
		CHECK_EQ_INT(found[0].id, 113);   /* 103's entry: the float inverter */
		CHECK_EQ_INT(found[1].id, 201);   /* the first meter of any 20x */
		CHECK_EQ_INT(found[2].address, 40239); /* "203:2" is the second */
		CHECK_EQ_INT(found[3].length, 48);
		/* W becomes float32 ABCD at 113 + 22, without SF or sentinel */
		CHECK(fb_model_sunspec_place(def, found, &def->points[0], &p));
		CHECK_EQ_INT(p.address, 40070 + 22);
		CHECK_EQ_INT(p.type, FB_TYPE_FLOAT32);
		CHECK_EQ_INT(p.order, FB_ORDER_ABCD);
		CHECK(!p.has_scale_register && !p.has_sentinel);
		/* St (no scale factor) keeps its type, at 113 + 48 */
		CHECK(fb_model_sunspec_place(def, found, &def->points[1], &p));
		CHECK_EQ_INT(p.address, 40070 + 48);
		CHECK_EQ_INT(p.type, FB_TYPE_UINT16);
		/* no float twin: not present on a float inverter */
		CHECK(!fb_model_sunspec_place(def, found, &def->points[2], &p));
		/* meter 1 on the 201, meter 2 on the 203, moved with their SFs */
		CHECK(fb_model_sunspec_place(def, found, &def->points[3], &p));
		CHECK_EQ_INT(p.address, 40132 + 18);
		CHECK_EQ_INT(p.scale_register, 40132 + 22);
		CHECK(fb_model_sunspec_place(def, found, &def->points[4], &p));
		CHECK_EQ_INT(p.address, 40239 + 18);
		CHECK_EQ_INT(p.scale_register, 40239 + 22);
		/* module 2 fits in L = 48, module 3 does not */
		CHECK(fb_model_sunspec_place(def, found, &def->points[5], &p));
		CHECK_EQ_INT(p.address, 40346 + 41);
		CHECK_EQ_INT(p.scale_register, 40346 + 4);
		CHECK(!fb_model_sunspec_place(def, found, &def->points[6], &p));
		/* a chain without meters: meter points are absent */
		fb_model_sunspec_assign(def, chain, 2, found);
		CHECK(!fb_model_sunspec_place(def, found, &def->points[3], &p));
	}
	done(&l);
	load_text(&l, "ss3.json", HEADER
		  "\"sunspec\": {\"models\": {\"203\": 40188, \"201\": 40300, \"203:0\": 1,"
		  " \"160\": 40643}, \"rescan_s\": 0},\n"
		  "\"points\": [\n"
		  " {\"key\": \"a\", \"name\": \"A\", \"table\": \"holding_register\", \"address\": 40650,\n"
		  "  \"type\": \"uint16\", \"sunspec_model\": 160, \"sunspec_float\": 9},\n"
		  " {\"key\": \"b\", \"name\": \"B\", \"table\": \"holding_register\", \"address\": 40206,\n"
		  "  \"type\": \"int16\", \"sunspec_model\": 203, \"sunspec_instance\": 3}\n"
		  "]}\n");
	CHECK(l.def == NULL);
	CHECK_STR_CONTAINS(l.text, "sunspec.models.\"201\": the same model kind and instance as "
			   "\"203\"");
	CHECK_STR_CONTAINS(l.text, "sunspec.models.\"203:0\": expected a model id 1..65534 as the "
			   "key, or id:n (1..9)");
	CHECK_STR_CONTAINS(l.text, "sunspec.rescan_s");
	CHECK_STR_CONTAINS(l.text, "points[0] (a).sunspec_float: model 160 has no float twin");
	CHECK_STR_CONTAINS(l.text, "points[1] (b).sunspec_model: model 203 (that instance) is not "
			   "in sunspec.models");
	done(&l);
}

int main(void)
{
	char path[600];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(eastron_sdm120_loads_clean);
	RUN_TEST(waveshare_relay_loads_clean);
	RUN_TEST(syntax_error_after_comments_has_line_and_column);
	RUN_TEST(every_field_error_is_reported_with_point_and_key);
	RUN_TEST(unknown_fields_are_errors_with_a_suggestion);
	RUN_TEST(overlapping_registers_warn_naming_both_points);
	RUN_TEST(modicon_style_addresses_warn);
	RUN_TEST(device_class_unit_and_state_class_combinations);
	RUN_TEST(fc06_is_rejected_for_multi_register_values);
	RUN_TEST(forbidden_range_overlap);
	RUN_TEST(duplicate_keys);
	RUN_TEST(cross_field_rules);
	RUN_TEST(raw_request_button);
	RUN_TEST(light_and_valve_points);
	RUN_TEST(component_blocks);
	RUN_TEST(relay_cover_blocks);
	RUN_TEST(defaults_are_applied);
	RUN_TEST(full_point_parses);
	RUN_TEST(inline_rules);
	RUN_TEST(key_rule_is_the_same_for_both_protocols);
	RUN_TEST(top_level_rules);
	RUN_TEST(every_problem_is_collected);
	RUN_TEST(find_searches_directories_in_order);
	RUN_TEST(unreadable_file);
	RUN_TEST(enum_names);
	RUN_TEST(library_format_fields);
	RUN_TEST(sunspec_block);
	RUN_TEST(sunspec_instances_floats_and_lengths);

	static const char *const files[] = {
		"defaults.json", "full.json", "rule.json", "top.json", "many.json", "key.json",
		"fmt.json", "ss.json",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	return fb_test_finish();
}
