/* SPDX-License-Identifier: Apache-2.0 */
/* The definition lint (src/model/definition_lint.c): for each rule, a
 * definition that breaks it gets exactly that warning naming the point and
 * the rule, the same definition fixed (or with a "lint_ok" waiver) loads
 * clean.  Most maps here are the peers' real mistakes from
 * shared/research/devices.md §2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "testlib.h"

static char tmpdir[] = "/tmp/fb-test-lint-XXXXXX";

struct linted {
	struct fb_definition *def;
	struct fb_diag diag;
	char *text; /* every message, one per line */
};

/* Loads {"manufacturer": manufacturer, ..., "points": [points]} from a file. */
static void lint(struct linted *l, const char *manufacturer, const char *points)
{
	char path[512];
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/x.json", tmpdir);
	f = fopen(path, "w");
	fprintf(f, "{ \"manufacturer\": \"%s\", \"model\": \"M\", \"protocol\": \"modbus\",\n"
		"  \"points\": [\n%s ] }\n", manufacturer, points);
	fclose(f);
	fb_diag_init(&l->diag);
	l->def = fb_model_load(path, &l->diag);
	f = open_memstream(&l->text, &len);
	fb_diag_print(&l->diag, f);
	fclose(f);
	if (l->diag.count)
		fprintf(stderr, "%s", l->text);
	unlink(path);
}

static void done(struct linted *l)
{
	fb_model_free(l->def);
	fb_diag_free(&l->diag);
	free(l->text);
}

/* The definition loads, with exactly `warnings` warnings and no error. */
static void expect(struct linted *l, int warnings)
{
	CHECK(l->def != NULL);
	CHECK_EQ_INT(l->diag.errors, 0);
	CHECK_EQ_INT(l->diag.warnings, warnings);
}

#define REG(key, name, table, addr, type, extra) \
	"  { \"key\": \"" key "\", \"name\": \"" name "\", \"table\": \"" table "\", " \
	"\"address\": " #addr ", \"type\": \"" type "\"" extra " },\n"
#define LAST "  { \"key\": \"zz\", \"name\": \"Z\", \"table\": \"coil\", \"address\": 0 }\n"
#define VAR ", \"unit\": \"var\", \"device_class\": \"reactive_power\""

/* E1: M2M's SDM630 spec had L2 reactive power on L1's register. */
static void overlap_sdm630_l2_reactive(void)
{
	struct linted l;

	lint(&l, "T", REG("reactive_power_l1", "L1 Q", "input_register", 24, "float32", VAR)
		 REG("reactive_power_l2", "L2 Q", "input_register", 24, "float32", VAR)
		 REG("reactive_power_l3", "L3 Q", "input_register", 26, "float32", VAR) LAST);
	/* overlap, and the series spacing 24/24/26 */
	expect(&l, 2);
	CHECK_STR_CONTAINS(l.text, "points[1] (reactive_power_l2).address: registers "
			   "0x0018..0x0019 overlap points[0] (reactive_power_l1) at "
			   "0x0018..0x0019: expected each register read by one point [overlap]");
	CHECK_STR_CONTAINS(l.text, "[stride]");
	done(&l);
	lint(&l, "T", REG("a", "A", "input_register", 24, "float32", ", \"lint_ok\": "
			  "{\"overlap\": \"two views of one register\"}")
		 REG("b", "B", "input_register", 24, "int32", "") LAST);
	expect(&l, 0);
	done(&l);
}

/* E4: mbmd's SE-MTR-3Y reactive energies L1/L2/L3 at 0x0464/0x0468/0x046A. */
static void stride_se_mtr_3y(void)
{
	struct linted l;

	lint(&l, "T", REG("q_l1", "Q1", "holding_register", 1124, "float32", "")
		 REG("q_l2", "Q2", "holding_register", 1128, "float32", "")
		 REG("q_l3", "Q3", "holding_register", 1130, "float32", "") LAST);
	expect(&l, 1); /* the ends give a stride of 3: L2 is off it */
	CHECK_STR_CONTAINS(l.text, "points[1] (q_l2).address: 0x0468 breaks the spacing of the "
			   "series q_l* (3 points, q_l1 at 0x0464)");
	done(&l);
	lint(&l, "T", REG("q_l1", "Q1", "holding_register", 1124, "float32", "")
		 REG("q_l2", "Q2", "holding_register", 1126, "float32", "")
		 REG("q_l3", "Q3", "holding_register", 1128, "float32", "")
		 /* numbered series: bits of one register count too */
		 REG("in_1", "I1", "holding_register", 9, "bit", ", \"bit\": 0")
		 REG("in_2", "I2", "holding_register", 9, "bit", ", \"bit\": 1")
		 REG("in_3", "I3", "holding_register", 9, "bit", ", \"bit\": 2") LAST);
	expect(&l, 0);
	done(&l);
	lint(&l, "T", REG("t_1", "T1", "input_register", 0, "int16", "")
		 REG("t_2", "T2", "input_register", 1, "int16", "")
		 REG("t_3", "T3", "input_register", 3, "int16", "")
		 REG("t_4", "T4", "input_register", 3, "int16", "") LAST);
	expect(&l, 2); /* t_3 off 0, 1, 2, 3; t_4 on t_3's register */
	CHECK_STR_CONTAINS(l.text, "points[2] (t_3).address: 0x0003 breaks the spacing");
	done(&l);
}

/* One float32 on an odd address among even ones: a value one register off. */
static void alignment_of_wide_values(void)
{
	struct linted l;
	static const char *const odd_one =
		REG("a", "A", "input_register", 0, "float32", "")
		REG("b", "B", "input_register", 2, "float32", "")
		REG("c", "C", "input_register", 4, "float32", "")
		REG("d", "D", "input_register", 6, "float32", "")
		REG("e", "E", "input_register", 8, "float32", "")
		REG("f", "F", "input_register", 10, "float32", "")
		REG("g", "G", "input_register", 13, "float32", "") LAST;

	lint(&l, "T", odd_one);
	expect(&l, 1);
	CHECK_STR_CONTAINS(l.text, "points[6] (g).address: float32 at odd address 0x000D, while "
			   "6 of the 7 32/64-bit values of input_register sit on even addresses");
	CHECK_STR_CONTAINS(l.text, "[alignment]");
	done(&l);
	/* Schneider-style: all odd is a layout, not a slip. */
	lint(&l, "T", REG("a", "A", "input_register", 1, "float32", "")
		 REG("b", "B", "input_register", 3, "float32", "")
		 REG("c", "C", "input_register", 5, "float32", "")
		 REG("d", "D", "input_register", 7, "float32", "")
		 REG("e", "E", "input_register", 9, "float32", "")
		 REG("f", "F", "input_register", 11, "float32", "") LAST);
	expect(&l, 0);
	done(&l);
}

/* 1-based 30001/40001 numbering copied from a datasheet. */
static void modicon_slip_and_waiver(void)
{
	struct linted l;

	lint(&l, "T", REG("v", "V", "holding_register", 40001, "uint16", "")
		 REG("i", "I", "holding_register", 40002, "uint16", "") LAST);
	expect(&l, 1);
	CHECK_STR_CONTAINS(l.text, "points[0] (v).address: 40001 looks like the 1-based register "
			   "number 40001 of a datasheet's 4xxxx numbering (2 points between 40001 "
			   "and 49999)");
	CHECK_STR_CONTAINS(l.text, "[modicon]");
	done(&l);
	lint(&l, "T", REG("v", "V", "holding_register", 40001, "uint16",
			  ", \"lint_ok\": {\"modicon\": \"the manual's map really starts here\"}")
		 LAST);
	expect(&l, 0);
	done(&l);
}

/* E11/E8: kvarh counters typed energy, apparent power typed power. */
static void class_reactive_and_apparent(void)
{
	struct linted l;

	lint(&l, "T", REG("import_reactive_energy", "Import reactive energy", "input_register", 76,
			  "float32", ", \"unit\": \"kWh\", \"device_class\": \"energy\", "
			  "\"state_class\": \"total_increasing\"")
		 REG("total_va", "Total apparent power", "input_register", 56, "float32",
		     ", \"unit\": \"W\", \"device_class\": \"power\"")
		 REG("pf", "Power factor", "input_register", 62, "float32",
		     ", \"unit\": \"%\", \"device_class\": \"battery\"") LAST);
	expect(&l, 3);
	CHECK_STR_CONTAINS(l.text, "points[0] (import_reactive_energy).device_class: the point is "
			   "named a reactive quantity but has device_class energy: expected "
			   "reactive_energy (varh, kvarh) [class]");
	CHECK_STR_CONTAINS(l.text, "points[1] (total_va).device_class: the point is named a "
			   "apparent quantity but has device_class power: expected apparent_power");
	CHECK_STR_CONTAINS(l.text, "points[2] (pf).device_class: the point is named a power "
			   "factor quantity but has device_class battery: expected power_factor");
	done(&l);
}

/* E13: MLG's SDM630 demand values as total_increasing; an energy counter
 * without a state class is left out of the energy dashboard. */
static void state_class_demand_and_counters(void)
{
	struct linted l;

	lint(&l, "T", REG("power_demand", "Total system power demand", "input_register", 84,
			  "float32", ", \"unit\": \"W\", \"state_class\": \"total_increasing\"")
		 REG("import_energy", "Import", "input_register", 72, "float32",
		     ", \"unit\": \"kWh\", \"device_class\": \"energy\"")
		 REG("export_energy", "Export", "input_register", 74, "float32",
		     ", \"unit\": \"kWh\", \"device_class\": \"energy\", \"state_class\": "
		     "\"total_increasing\"") LAST);
	expect(&l, 2);
	CHECK_STR_CONTAINS(l.text, "points[0] (power_demand).state_class: a demand value is an "
			   "instantaneous figure, not a counter: expected measurement, got "
			   "total_increasing [state_class]");
	CHECK_STR_CONTAINS(l.text, "points[1] (import_energy).state_class: an energy counter "
			   "without a state class");
	done(&l);
}

/* E2: WB's PZEM energy scale 0.0001 for a register in Wh. */
static void raw_unit_against_scale(void)
{
	struct linted l;

	lint(&l, "T", REG("energy", "Energy", "input_register", 5, "uint32",
			  ", \"order\": \"CDAB\", \"raw_unit\": \"Wh\", \"scale\": 0.0001, "
			  "\"unit\": \"kWh\", \"device_class\": \"energy\", \"state_class\": "
			  "\"total_increasing\"") LAST);
	CHECK(l.def == NULL); /* the file contradicts itself: an error */
	CHECK_STR_CONTAINS(l.text, "points[0] (energy).scale: a raw count of Wh is 0.001 kWh: "
			   "expected scale 0.001, got 0.0001");
	done(&l);
	lint(&l, "T", REG("energy", "Energy", "input_register", 5, "uint32",
			  ", \"raw_unit\": \"0.1 Wh\", \"scale\": 0.0001, \"unit\": \"kWh\", "
			  "\"device_class\": \"energy\", \"state_class\": \"total_increasing\"")
		 REG("current", "I", "input_register", 7, "uint16",
		     ", \"raw_unit\": \"mA\", \"scale\": 0.001, \"unit\": \"A\"") LAST);
	expect(&l, 0);
	done(&l);
	lint(&l, "T", REG("energy", "Energy", "input_register", 5, "uint32",
			  ", \"raw_unit\": \"0.1 V\", \"unit\": \"kWh\"")
		 REG("e2", "E2", "input_register", 7, "uint32", ", \"raw_unit\": \"furlong\"")
		 LAST);
	CHECK(l.def == NULL);
	CHECK_STR_CONTAINS(l.text, "points[0] (energy).raw_unit: \"0.1 V\" cannot be converted "
			   "to the point's unit \"kWh\"");
	CHECK_STR_CONTAINS(l.text, "points[1] (e2).raw_unit: expected a unit such as \"Wh\" or "
			   "\"0.1 Wh\", got \"furlong\"");
	done(&l);
}

/* E18: bidirectional power read unsigned (Siemens 7KT1665: 42 MW on export). */
static void unsigned_power_that_can_go_negative(void)
{
	struct linted l;

	lint(&l, "T", REG("power", "Active power", "holding_register", 0, "uint32",
			  ", \"unit\": \"W\", \"device_class\": \"power\"")
		 REG("pv_power", "PV power", "holding_register", 2, "uint32",
		     ", \"unit\": \"W\", \"device_class\": \"power\"")
		 REG("export_energy", "Export", "holding_register", 4, "uint32",
		     ", \"unit\": \"kWh\", \"device_class\": \"energy\", \"state_class\": "
		     "\"total_increasing\"")
		 REG("battery_current", "Battery current", "holding_register", 6, "uint16",
		     ", \"unit\": \"A\", \"device_class\": \"current\"")
		 REG("outdoor", "Outdoor temperature", "holding_register", 7, "uint16",
		     ", \"unit\": \"°C\", \"device_class\": \"temperature\"")
		 REG("pf", "PF", "holding_register", 8, "uint16",
		     ", \"device_class\": \"power_factor\", \"lint_ok\": {\"unsigned\": "
		     "\"|PF| only\"}") LAST);
	expect(&l, 3); /* pv_power is one-way; pf is waived */
	CHECK_STR_CONTAINS(l.text, "points[0] (power).type: power can go negative but is read as "
			   "uint32: expected a signed type");
	CHECK_STR_CONTAINS(l.text, "points[3] (battery_current).type: current can go negative");
	CHECK_STR_CONTAINS(l.text, "points[4] (outdoor).type: temperature can go negative");
	CHECK(!strstr(l.text, "pv_power"));
	done(&l);
}

/* E15: binsentsu read SunSpec's WH_SF as uint16. */
static void scale_factor_read_unsigned(void)
{
	struct linted l;

	lint(&l, "T", REG("wh_sf", "Energy scale factor", "holding_register", 40095, "uint16", "")
		 REG("w_sf", "Power scale factor", "holding_register", 40084, "int16", "") LAST);
	expect(&l, 1);
	CHECK_STR_CONTAINS(l.text, "points[0] (wh_sf).type: a scale-factor register is a signed "
			   "power of ten: expected int16, got uint16 [scale_factor]");
	done(&l);
}

/* The manufacturer's family: Eastron measures on FC04, Carlo Gavazzi's
 * INT32 is low word first (E12: evcc's ET112 template), SMA's "not
 * available" codes must be sentinels. */
static void family_table_order_and_sentinels(void)
{
	struct linted l;

	lint(&l, "Eastron", REG("voltage", "Voltage", "holding_register", 0, "float32",
				", \"unit\": \"V\", \"device_class\": \"voltage\"")
		 REG("serial", "Serial", "holding_register", 64512, "uint32",
		     ", \"entity_category\": \"diagnostic\"") LAST);
	expect(&l, 1);
	CHECK_STR_CONTAINS(l.text, "points[0] (voltage).table: holding_register, but Eastron SDM: "
			   "measurements FC04, float32 high word first: expected input_register "
			   "(function code 04) [table]");
	done(&l);
	lint(&l, "Carlo Gavazzi", REG("power", "Power", "input_register", 4, "int32",
				      ", \"unit\": \"W\", \"device_class\": \"power\"")
		 REG("energy", "Energy", "input_register", 16, "int32", ", \"order\": \"CDAB\", "
		     "\"unit\": \"kWh\", \"device_class\": \"energy\", \"state_class\": "
		     "\"total_increasing\"") LAST);
	expect(&l, 1);
	CHECK_STR_CONTAINS(l.text, "points[0] (power).order: ABCD, but Carlo Gavazzi INT32 is low "
			   "word first (ET112 frame, ioBroker.modbus#286): expected CDAB [order]");
	done(&l);
	lint(&l, "SMA", REG("power", "Power", "input_register", 30775, "int32",
			    ", \"unit\": \"W\", \"device_class\": \"power\"")
		 REG("yield", "Yield", "input_register", 30513, "uint64",
		     ", \"sentinel\": \"0xFFFFFFFFFFFFFFFF\", \"unit\": \"Wh\", "
		     "\"device_class\": \"energy\", \"state_class\": \"total_increasing\"")
		 REG("temp", "Temperature", "input_register", 30953, "int32",
		     ", \"sentinel\": -2147483648") LAST);
	expect(&l, 1);
	CHECK_STR_CONTAINS(l.text, "points[0] (power).sentinel: SMA Modbus profile: FC04, NaN "
			   "codes 0x8000../0xFFFF.. (evcc sma-inverter), so a int32 the device does "
			   "not have reads 0x80000000: expected \"sentinel\": \"0x80000000\" "
			   "[sentinel]");
	done(&l);
	/* "Eastronics" is not Eastron. */
	lint(&l, "Eastronics", REG("voltage", "Voltage", "holding_register", 0, "float32",
				   ", \"unit\": \"V\", \"device_class\": \"voltage\"") LAST);
	expect(&l, 0);
	done(&l);
}

/* L16: a writable number without limits; the address register not config. */
static void writable_without_limits(void)
{
	struct linted l;

	lint(&l, "T", REG("setpoint", "Setpoint", "holding_register", 0, "int16",
			  ", \"writable\": true, \"component\": \"number\", \"min\": 5")
		 REG("modbus_address", "Modbus address", "holding_register", 1, "uint16",
		     ", \"writable\": true, \"component\": \"number\", \"min\": 1, \"max\": 247")
		 REG("ok", "OK", "holding_register", 2, "uint16",
		     ", \"writable\": true, \"component\": \"number\", \"min\": 1, \"max\": 247, "
		     "\"entity_category\": \"config\"") LAST);
	expect(&l, 2);
	CHECK_STR_CONTAINS(l.text, "points[0] (setpoint).max: a writable number without limits "
			   "lets Home Assistant send any value the type holds: expected min and "
			   "max from the manual [limits]");
	CHECK_STR_CONTAINS(l.text, "points[1] (modbus_address).entity_category: a writable "
			   "address setting changes how the device answers");
	done(&l);
}

/* Waivers are checked like every other field. */
static void waiver_rules_are_strict(void)
{
	struct linted l;

	lint(&l, "T", REG("a", "A", "input_register", 0, "uint16",
			  ", \"lint_ok\": {\"unsinged\": \"typo\", \"overlap\": \"\"}") LAST);
	CHECK(l.def == NULL);
	CHECK_STR_CONTAINS(l.text, "points[0] (a).lint_ok: unknown field \"unsinged\": did you "
			   "mean \"unsigned\"?");
	CHECK_STR_CONTAINS(l.text, "points[0] (a).lint_ok.overlap: expected the reason as a "
			   "non-empty string");
	done(&l);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(overlap_sdm630_l2_reactive);
	RUN_TEST(stride_se_mtr_3y);
	RUN_TEST(alignment_of_wide_values);
	RUN_TEST(modicon_slip_and_waiver);
	RUN_TEST(class_reactive_and_apparent);
	RUN_TEST(state_class_demand_and_counters);
	RUN_TEST(raw_unit_against_scale);
	RUN_TEST(unsigned_power_that_can_go_negative);
	RUN_TEST(scale_factor_read_unsigned);
	RUN_TEST(family_table_order_and_sentinels);
	RUN_TEST(writable_without_limits);
	RUN_TEST(waiver_rules_are_strict);
	rmdir(tmpdir);
	return fb_test_finish();
}
