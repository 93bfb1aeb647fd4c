/* SPDX-License-Identifier: Apache-2.0 */
/* Home Assistant device_class / state_class / unit rules, checked on points
 * built by hand (fb_model_check_ha). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "testlib.h"

static struct fb_point_def sensor(const char *dc, const char *sc, const char *unit)
{
	struct fb_point_def p;

	memset(&p, 0, sizeof(p));
	p.key = "p";
	p.table = FB_REG_INPUT;
	p.type = FB_TYPE_FLOAT32;
	p.scale = 1.0;
	p.precision = -1;
	p.component = FB_COMP_SENSOR;
	p.device_class = (char *)dc;
	p.state_class = (char *)sc;
	p.unit = (char *)unit;
	return p;
}

/* Returns the check's result; *text gets the messages (caller frees). */
static int check(const struct fb_point_def *p, char **text)
{
	struct fb_diag d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	fb_diag_init(&d);
	rc = fb_model_check_ha("x.json: points[0] (p)", p, &d);
	f = open_memstream(&buf, &len);
	fb_diag_print(&d, f);
	fclose(f);
	CHECK_EQ_INT(rc == 0, d.errors == 0);
	fb_diag_free(&d);
	*text = buf;
	return rc;
}

static void accepts(struct fb_point_def p)
{
	char *t;

	CHECK_EQ_INT(check(&p, &t), 0);
	if (t[0])
		fprintf(stderr, "unexpected: %s", t);
	free(t);
}

static void rejects(struct fb_point_def p, const char *want)
{
	char *t;

	CHECK_EQ_INT(check(&p, &t), -1);
	CHECK_STR_CONTAINS(t, want);
	free(t);
}

static void valid_meter_combinations(void)
{
	accepts(sensor("voltage", "measurement", "V"));
	accepts(sensor("current", "measurement", "mA"));
	accepts(sensor("power", "measurement", "kW"));
	accepts(sensor("apparent_power", "measurement", "VA"));
	accepts(sensor("reactive_power", "measurement", "var"));
	accepts(sensor("power_factor", "measurement", NULL));
	accepts(sensor("power_factor", "measurement", "%"));
	accepts(sensor("frequency", "measurement", "Hz"));
	accepts(sensor("energy", "total_increasing", "kWh"));
	accepts(sensor("energy", "total", "Wh"));
	accepts(sensor("temperature", "measurement", "°C"));
	accepts(sensor("humidity", "measurement", "%"));
	accepts(sensor("pressure", "measurement", "hPa"));
	accepts(sensor("water", "total_increasing", "m³"));
	accepts(sensor("gas", "total_increasing", "m³"));
	accepts(sensor("volume", "total", "L"));
	accepts(sensor("duration", "measurement", "s"));
	accepts(sensor("battery", "measurement", "%"));
	accepts(sensor("signal_strength", "measurement", "dBm"));
	accepts(sensor("illuminance", "measurement", "lx"));
	accepts(sensor("speed", "measurement", "m/s"));
	accepts(sensor("distance", "measurement", "mm"));
	accepts(sensor("monetary", "total", "EUR"));
	accepts(sensor(NULL, "measurement", "bananas"));
	accepts(sensor(NULL, NULL, NULL));
}

static void invalid_combinations_name_what_is_allowed(void)
{
	rejects(sensor("voltage", "measurement", "A"),
		"x.json: points[0] (p).unit: expected one of µV, mV, V, kV, MV for device_class "
		"voltage, got \"A\"");
	rejects(sensor("energy", "measurement", "kWh"),
		"(p).state_class: expected total or total_increasing for device_class energy, "
		"got \"measurement\"");
	rejects(sensor("power", "total_increasing", "W"),
		"(p).state_class: expected measurement for device_class power");
	rejects(sensor("power", "measurement", "kWh"),
		"(p).unit: expected one of mW, W, kW, MW, GW, TW, BTU/h for device_class power");
	rejects(sensor("power_factor", "measurement", "W"),
		"(p).unit: expected one of % (or no unit) for device_class power_factor");
	rejects(sensor("energy", "total", NULL), "(p).unit: required for device_class energy");
	rejects(sensor("aqi", "measurement", "ppm"),
		"(p).unit: expected no unit for device_class aqi");
	rejects(sensor("battery", "measurement", "V"),
		"(p).unit: expected one of % for device_class battery");
	rejects(sensor("gas", "total", "L/min"), "for device_class gas, got \"L/min\"");
	rejects(sensor("bogus", NULL, NULL), "(p).device_class: expected a sensor device class");
	rejects(sensor(NULL, "measurement_angle", "°"),
		"(p).state_class: measurement_angle needs device_class wind_direction");
}

static void non_numeric_sensors(void)
{
	struct fb_point_def p = sensor("enum", NULL, NULL);

	p.type = FB_TYPE_UINT16;
	accepts(p);
	p.state_class = "measurement";
	rejects(p, "(p).state_class: expected none for device_class enum");
	p = sensor("timestamp", NULL, NULL);
	p.type = FB_TYPE_UINT32;
	rejects(p, "(p).device_class: timestamp needs type string");
	p.type = FB_TYPE_STRING;
	p.length = 10;
	accepts(p);
	p = sensor("voltage", "measurement", "V");
	p.type = FB_TYPE_STRING;
	p.length = 4;
	rejects(p, "(p).device_class: voltage needs a numeric type, got string");
}

static void other_components(void)
{
	struct fb_point_def p = sensor("door", NULL, NULL);

	p.table = FB_REG_DISCRETE_INPUT;
	p.type = FB_TYPE_BOOL;
	p.component = FB_COMP_BINARY_SENSOR;
	accepts(p);
	p.device_class = "voltage";
	rejects(p, "(p).device_class: expected a binary_sensor device class (battery, ");
	p.device_class = NULL;
	p.state_class = "measurement";
	rejects(p, "(p).state_class: only applies to component sensor, not binary_sensor");

	p = sensor("outlet", NULL, NULL);
	p.table = FB_REG_COIL;
	p.type = FB_TYPE_BOOL;
	p.component = FB_COMP_SWITCH;
	p.writable = true;
	accepts(p);
	p.device_class = "door";
	rejects(p, "expected a switch device class (outlet, switch), got \"door\"");

	p = sensor("temperature", NULL, "°C");
	p.table = FB_REG_HOLDING;
	p.component = FB_COMP_NUMBER;
	p.writable = true;
	accepts(p);
	p.unit = "W";
	rejects(p, "(p).unit: expected one of °C, °F, K for device_class temperature");
	p.unit = NULL;
	p.device_class = "enum";
	rejects(p, "(p).device_class: expected a number device class");

	p = sensor(NULL, NULL, NULL);
	p.table = FB_REG_HOLDING;
	p.type = FB_TYPE_UINT16;
	p.component = FB_COMP_SELECT;
	p.device_class = "enum";
	rejects(p, "(p).device_class: select has no device classes");

	p.component = FB_COMP_BUTTON;
	p.device_class = "restart";
	accepts(p);
	p.device_class = "reboot";
	rejects(p, "expected a button device class (identify, restart, update)");
	p.device_class = NULL;
	p.precision = 2;
	rejects(p, "(p).precision: only applies to sensor and number, not button");

	p = sensor(NULL, NULL, NULL);
	p.entity_category = "config";
	rejects(p, "(p).entity_category: expected diagnostic for a sensor");
	p.entity_category = "diagnostic";
	accepts(p);
}

int main(void)
{
	RUN_TEST(valid_meter_combinations);
	RUN_TEST(invalid_combinations_name_what_is_allowed);
	RUN_TEST(non_numeric_sensors);
	RUN_TEST(other_components);
	return fb_test_finish();
}
