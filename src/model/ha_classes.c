/* SPDX-License-Identifier: Apache-2.0 */
/* Home Assistant's rules for device_class, state_class and unit.
 *
 * Source: home-assistant/core homeassistant/components/sensor/const.py
 * (SensorDeviceClass, DEVICE_CLASS_UNITS, DEVICE_CLASS_STATE_CLASSES), the
 * Unit* enums of homeassistant/const.py, BinarySensorDeviceClass,
 * SwitchDeviceClass and ButtonDeviceClass (2025 releases).  Home Assistant
 * logs a warning or raises an issue for a sensor whose unit or state class
 * does not fit its device class and then keeps no long-term statistics for
 * it, so a definition that breaks these rules is rejected here instead.
 * NumberDeviceClass mirrors the numeric sensor classes and their units. */
#include "model.h"
#include "model-internal.h"

#include <stdio.h>
#include <string.h>

enum {
	SC_MEASUREMENT = 1 << 0,
	SC_TOTAL = 1 << 1,
	SC_TOTAL_INCREASING = 1 << 2,
	SC_MEASUREMENT_ANGLE = 1 << 3,
	SC_ALL3 = SC_MEASUREMENT | SC_TOTAL | SC_TOTAL_INCREASING,
	SC_TOTALS = SC_TOTAL | SC_TOTAL_INCREASING,
};

static const char *const sc_names[] = {
	"measurement", "total", "total_increasing", "measurement_angle",
};

/* Unit lists; NO_UNIT marks a class whose state has no unit at all. */
#define NO_UNIT ((const char *const *)0)
static const char *const u_apparent_power[] = { "mVA", "VA", "kVA", NULL };
static const char *const u_area[] = {
	"m²", "cm²", "km²", "mm²", "in²", "ft²", "yd²", "mi²", "ac", "ha", NULL,
};
static const char *const u_pressure[] = {
	"mPa", "Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "psi", NULL,
};
static const char *const u_percent[] = { "%", NULL };
static const char *const u_glucose[] = { "mg/dL", "mmol/L", NULL };
static const char *const u_ppm[] = { "ppm", NULL };
static const char *const u_ppm_ppb[] = { "ppb", "ppm", NULL };
static const char *const u_conductivity[] = { "S/cm", "mS/cm", "µS/cm", NULL };
static const char *const u_current[] = { "A", "mA", NULL };
static const char *const u_data_rate[] = {
	"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s",
	"KiB/s", "MiB/s", "GiB/s", NULL,
};
static const char *const u_data_size[] = {
	"bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "PB", "EB",
	"ZB", "YB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB", NULL,
};
static const char *const u_length[] = {
	"mm", "cm", "m", "km", "in", "ft", "yd", "mi", "nmi", NULL,
};
static const char *const u_duration[] = { "d", "h", "min", "s", "ms", NULL };
static const char *const u_energy[] = {
	"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh",
	"cal", "kcal", "Mcal", "Gcal", NULL,
};
static const char *const u_energy_distance[] = { "kWh/100km", "mi/kWh", "km/kWh", NULL };
static const char *const u_frequency[] = { "Hz", "kHz", "MHz", "GHz", NULL };
static const char *const u_gas[] = { "m³", "ft³", "CCF", NULL };
static const char *const u_lux[] = { "lx", NULL };
static const char *const u_irradiance[] = { "W/m²", "BTU/(h⋅ft²)", NULL };
static const char *const u_ugm3[] = { "µg/m³", NULL };
static const char *const u_power_factor[] = { "%", NULL }; /* or no unit */
static const char *const u_power[] = { "mW", "W", "kW", "MW", "GW", "TW", "BTU/h", NULL };
static const char *const u_precip[] = { "cm", "in", "mm", NULL };
static const char *const u_vflux[] = { "in/d", "in/h", "mm/d", "mm/h", NULL };
static const char *const u_reactive_power[] = { "mvar", "var", "kvar", NULL };
static const char *const u_reactive_energy[] = { "varh", "kvarh", NULL };
static const char *const u_signal[] = { "dB", "dBm", NULL };
static const char *const u_sound[] = { "dB", "dBA", NULL };
static const char *const u_speed[] = {
	"Beaufort", "ft/s", "in/s", "km/h", "kn", "m/s", "mph", "mm/s",
	"in/d", "in/h", "mm/d", "mm/h", NULL,
};
static const char *const u_wind_speed[] = {
	"Beaufort", "ft/s", "in/s", "km/h", "kn", "m/s", "mph", "mm/s", NULL,
};
static const char *const u_temperature[] = { "°C", "°F", "K", NULL };
static const char *const u_voltage[] = { "µV", "mV", "V", "kV", "MV", NULL };
static const char *const u_volume[] = {
	"mL", "L", "gal", "fl. oz.", "m³", "ft³", "CCF", NULL,
};
static const char *const u_flow[] = {
	"m³/h", "m³/s", "ft³/min", "L/h", "L/min", "L/s", "gal/min", "mL/s", NULL,
};
static const char *const u_water[] = { "L", "m³", "ft³", "CCF", "gal", NULL };
static const char *const u_mass[] = { "µg", "mg", "g", "kg", "oz", "lb", "st", NULL };
static const char *const u_degree[] = { "°", NULL };

struct sensor_class {
	const char *name;
	const char *const *units;  /* NO_UNIT: the state has no unit */
	bool unitless_too;         /* no unit is accepted besides units[] */
	bool any_unit;             /* monetary: an ISO 4217 code */
	unsigned state_classes;    /* SC_* mask; 0 = none allowed */
	bool numeric;
};

static const struct sensor_class sensor_classes[] = {
	{ "apparent_power", u_apparent_power, false, false, SC_MEASUREMENT, true },
	{ "aqi", NO_UNIT, false, false, SC_MEASUREMENT, true },
	{ "area", u_area, false, false, SC_ALL3, true },
	{ "atmospheric_pressure", u_pressure, false, false, SC_MEASUREMENT, true },
	{ "battery", u_percent, false, false, SC_MEASUREMENT, true },
	{ "blood_glucose_concentration", u_glucose, false, false, SC_MEASUREMENT, true },
	{ "carbon_dioxide", u_ppm, false, false, SC_MEASUREMENT, true },
	{ "carbon_monoxide", u_ppm, false, false, SC_MEASUREMENT, true },
	{ "conductivity", u_conductivity, false, false, SC_MEASUREMENT, true },
	{ "current", u_current, false, false, SC_MEASUREMENT, true },
	{ "data_rate", u_data_rate, false, false, SC_MEASUREMENT, true },
	{ "data_size", u_data_size, false, false, SC_ALL3, true },
	{ "date", NO_UNIT, false, false, 0, false },
	{ "distance", u_length, false, false, SC_ALL3, true },
	{ "duration", u_duration, false, false, SC_ALL3, true },
	{ "energy", u_energy, false, false, SC_TOTALS, true },
	{ "energy_distance", u_energy_distance, false, false, SC_MEASUREMENT, true },
	{ "energy_storage", u_energy, false, false, SC_MEASUREMENT, true },
	{ "enum", NO_UNIT, false, false, 0, false },
	{ "frequency", u_frequency, false, false, SC_MEASUREMENT, true },
	{ "gas", u_gas, false, false, SC_TOTALS, true },
	{ "humidity", u_percent, false, false, SC_MEASUREMENT, true },
	{ "illuminance", u_lux, false, false, SC_MEASUREMENT, true },
	{ "irradiance", u_irradiance, false, false, SC_MEASUREMENT, true },
	{ "moisture", u_percent, false, false, SC_MEASUREMENT, true },
	{ "monetary", NULL, false, true, SC_TOTAL, true },
	{ "nitrogen_dioxide", u_ugm3, false, false, SC_MEASUREMENT, true },
	{ "nitrogen_monoxide", u_ugm3, false, false, SC_MEASUREMENT, true },
	{ "nitrous_oxide", u_ugm3, false, false, SC_MEASUREMENT, true },
	{ "ozone", u_ugm3, false, false, SC_MEASUREMENT, true },
	{ "ph", NO_UNIT, false, false, SC_MEASUREMENT, true },
	{ "pm1", u_ugm3, false, false, SC_MEASUREMENT, true },
	{ "pm10", u_ugm3, false, false, SC_MEASUREMENT, true },
	{ "pm25", u_ugm3, false, false, SC_MEASUREMENT, true },
	{ "power", u_power, false, false, SC_MEASUREMENT, true },
	{ "power_factor", u_power_factor, true, false, SC_MEASUREMENT, true },
	{ "precipitation", u_precip, false, false, SC_ALL3, true },
	{ "precipitation_intensity", u_vflux, false, false, SC_MEASUREMENT, true },
	{ "pressure", u_pressure, false, false, SC_MEASUREMENT, true },
	{ "reactive_energy", u_reactive_energy, false, false, SC_TOTALS, true },
	{ "reactive_power", u_reactive_power, false, false, SC_MEASUREMENT, true },
	{ "signal_strength", u_signal, false, false, SC_MEASUREMENT, true },
	{ "sound_pressure", u_sound, false, false, SC_MEASUREMENT, true },
	{ "speed", u_speed, false, false, SC_MEASUREMENT, true },
	{ "sulphur_dioxide", u_ugm3, false, false, SC_MEASUREMENT, true },
	{ "temperature", u_temperature, false, false, SC_MEASUREMENT, true },
	{ "temperature_delta", u_temperature, false, false, SC_MEASUREMENT, true },
	{ "timestamp", NO_UNIT, false, false, 0, false },
	{ "volatile_organic_compounds", u_ugm3, false, false, SC_MEASUREMENT, true },
	{ "volatile_organic_compounds_parts", u_ppm_ppb, false, false, SC_MEASUREMENT, true },
	{ "voltage", u_voltage, false, false, SC_MEASUREMENT, true },
	{ "volume", u_volume, false, false, SC_TOTALS, true },
	{ "volume_flow_rate", u_flow, false, false, SC_MEASUREMENT, true },
	{ "volume_storage", u_volume, false, false, SC_MEASUREMENT, true },
	{ "water", u_water, false, false, SC_TOTALS, true },
	{ "weight", u_mass, false, false, SC_ALL3, true },
	{ "wind_direction", u_degree, false, false, SC_MEASUREMENT_ANGLE, true },
	{ "wind_speed", u_wind_speed, false, false, SC_MEASUREMENT, true },
};

static const char *const binary_sensor_classes[] = {
	"battery", "battery_charging", "carbon_monoxide", "cold", "connectivity",
	"door", "garage_door", "gas", "heat", "light", "lock", "moisture", "motion",
	"moving", "occupancy", "opening", "plug", "power", "presence", "problem",
	"running", "safety", "smoke", "sound", "tamper", "update", "vibration",
	"window", NULL,
};
static const char *const switch_classes[] = { "outlet", "switch", NULL };
static const char *const button_classes[] = { "identify", "restart", "update", NULL };
static const char *const valve_classes[] = { "water", "gas", NULL };
static const char *const cover_classes[] = {
	"awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade",
	"shutter", "window", NULL,
};

/* A climate's setpoint: HA's temperature_unit is C or F, and a climate has
 * no device or state class. */
static void check_climate(const char *where, const struct fb_point_def *p,
			  struct fb_diag *d)
{
	if (!p->unit || (strcmp(p->unit, "°C") && strcmp(p->unit, "°F")))
		fb_diag_error(d, "%s.unit: expected °C or °F for climate (Home Assistant's "
			      "temperature_unit C/F), got %s%s%s", where, p->unit ? "\"" : "",
			      p->unit ? p->unit : "none", p->unit ? "\"" : "");
	if (p->state_class)
		fb_diag_error(d, "%s.state_class: only applies to component sensor, not climate",
			      where);
	if (p->device_class)
		fb_diag_error(d, "%s.device_class: climate has no device classes, got \"%s\"",
			      where, p->device_class);
}

#define NSENSOR (sizeof(sensor_classes) / sizeof(sensor_classes[0]))

static const struct sensor_class *find_sensor_class(const char *name)
{
	for (size_t i = 0; i < NSENSOR; i++)
		if (!strcmp(sensor_classes[i].name, name))
			return &sensor_classes[i];
	return NULL;
}

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

/* Joins names into buf as "a, b, c". */
static const char *join(char *buf, size_t len, const char *const *list)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; list && list[i] && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", list[i]);
	return buf;
}

static const char *join_sensor_classes(char *buf, size_t len, bool numeric_only)
{
	size_t used = 0;
	bool first = true;

	buf[0] = '\0';
	for (size_t i = 0; i < NSENSOR && used < len; i++) {
		if (numeric_only && !sensor_classes[i].numeric)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", first ? "" : ", ",
					 sensor_classes[i].name);
		first = false;
	}
	return buf;
}

static const char *join_state_classes(char *buf, size_t len, unsigned mask)
{
	size_t used = 0;
	bool first = true;

	buf[0] = '\0';
	for (unsigned i = 0; i < 4 && used < len; i++) {
		if (!(mask & (1u << i)))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", first ? "" : " or ",
					 sc_names[i]);
		first = false;
	}
	return buf;
}

static unsigned state_class_bit(const char *s)
{
	for (unsigned i = 0; i < 4; i++)
		if (!strcmp(sc_names[i], s))
			return 1u << i;
	return 0;
}

/* Unit check shared by sensor and number. */
static void check_unit(const char *where, const struct fb_point_def *p,
		       const struct sensor_class *c, struct fb_diag *d)
{
	char list[512];

	if (c->any_unit)
		return;
	if (c->units == NO_UNIT) {
		if (p->unit)
			fb_diag_error(d, "%s.unit: expected no unit for device_class %s, got \"%s\"",
				      where, c->name, p->unit);
		return;
	}
	if (!p->unit) {
		if (!c->unitless_too)
			fb_diag_error(d, "%s.unit: required for device_class %s (one of %s)",
				      where, c->name, join(list, sizeof(list), c->units));
		return;
	}
	if (!in_list(c->units, p->unit))
		fb_diag_error(d, "%s.unit: expected one of %s%s for device_class %s, got \"%s\"",
			      where, join(list, sizeof(list), c->units),
			      c->unitless_too ? " (or no unit)" : "", c->name, p->unit);
}

static void check_sensor(const char *where, const struct fb_point_def *p,
			 struct fb_diag *d)
{
	const struct sensor_class *c = NULL;
	bool numeric_value = fb_point_value_kind(p) != FB_VALUE_STRING &&
			     fb_point_value_kind(p) != FB_VALUE_BOOL;
	char list[1024];

	if (p->device_class) {
		c = find_sensor_class(p->device_class);
		if (!c) {
			fb_diag_error(d, "%s.device_class: expected a sensor device class (%s), "
				      "got \"%s\"", where,
				      join_sensor_classes(list, sizeof(list), false),
				      p->device_class);
			return;
		}
	}
	if (c && !c->numeric) {
		/* date, enum, timestamp: text states. */
		if (p->unit)
			fb_diag_error(d, "%s.unit: expected no unit for device_class %s, got \"%s\"",
				      where, c->name, p->unit);
		if (p->state_class)
			fb_diag_error(d, "%s.state_class: expected none for device_class %s, "
				      "got \"%s\"", where, c->name, p->state_class);
		if ((!strcmp(c->name, "date") || !strcmp(c->name, "timestamp")) &&
		    p->type != FB_TYPE_STRING)
			fb_diag_error(d, "%s.device_class: %s needs type string (an ISO 8601 "
				      "text), got %s", where, c->name, fb_data_type_name(p->type));
		return;
	}
	if (!numeric_value) {
		/* Home Assistant only accepts units and state classes on numbers. */
		const char *what = fb_point_value_kind(p) == FB_VALUE_BOOL ? "a bool" : "a string";

		if (c)
			fb_diag_error(d, "%s.device_class: %s needs a numeric type, got %s (%s)",
				      where, c->name, fb_data_type_name(p->type), what);
		if (p->unit)
			fb_diag_error(d, "%s.unit: only applies to numeric sensors, this one is %s",
				      where, what);
		if (p->state_class)
			fb_diag_error(d, "%s.state_class: only applies to numeric sensors, this "
				      "one is %s", where, what);
		return;
	}
	if (p->state_class && c) {
		unsigned bit = state_class_bit(p->state_class);

		if (!(c->state_classes & bit)) {
			if (c->state_classes)
				fb_diag_error(d, "%s.state_class: expected %s for device_class %s, "
					      "got \"%s\"", where,
					      join_state_classes(list, sizeof(list), c->state_classes),
					      c->name, p->state_class);
			else
				fb_diag_error(d, "%s.state_class: expected none for device_class %s, "
					      "got \"%s\"", where, c->name, p->state_class);
		}
	} else if (p->state_class && !strcmp(p->state_class, "measurement_angle")) {
		fb_diag_error(d, "%s.state_class: measurement_angle needs device_class "
			      "wind_direction", where);
	}
	if (c)
		check_unit(where, p, c, d);
}

static void check_number(const char *where, const struct fb_point_def *p,
			 struct fb_diag *d)
{
	const struct sensor_class *c;
	char list[1024];

	if (p->state_class)
		fb_diag_error(d, "%s.state_class: only applies to component sensor, not number",
			      where);
	if (!p->device_class)
		return;
	c = find_sensor_class(p->device_class);
	if (!c || !c->numeric || !strcmp(c->name, "energy_distance")) {
		fb_diag_error(d, "%s.device_class: expected a number device class (%s), got \"%s\"",
			      where, join_sensor_classes(list, sizeof(list), true),
			      p->device_class);
		return;
	}
	check_unit(where, p, c, d);
}

/* binary_sensor, switch, button, select: no unit, no state class, and a
 * device class from their own list (select has none). */
static void check_plain(const char *where, const struct fb_point_def *p,
			const char *const *classes, struct fb_diag *d)
{
	const char *comp = fb_component_name(p->component);
	char list[1024];

	if (p->unit)
		fb_diag_error(d, "%s.unit: only applies to sensor and number, not %s", where, comp);
	if (p->state_class)
		fb_diag_error(d, "%s.state_class: only applies to component sensor, not %s",
			      where, comp);
	if (!p->device_class)
		return;
	if (!classes)
		fb_diag_error(d, "%s.device_class: %s has no device classes, got \"%s\"",
			      where, comp, p->device_class);
	else if (!in_list(classes, p->device_class))
		fb_diag_error(d, "%s.device_class: expected a %s device class (%s), got \"%s\"",
			      where, comp, join(list, sizeof(list), classes), p->device_class);
}

int fb_model_check_ha(const char *where, const struct fb_point_def *p,
		      struct fb_diag *diag)
{
	size_t before = diag->errors;

	switch (p->component) {
	case FB_COMP_SENSOR:
		check_sensor(where, p, diag);
		break;
	case FB_COMP_NUMBER:
		check_number(where, p, diag);
		break;
	case FB_COMP_BINARY_SENSOR:
		check_plain(where, p, binary_sensor_classes, diag);
		break;
	case FB_COMP_SWITCH:
		check_plain(where, p, switch_classes, diag);
		break;
	case FB_COMP_BUTTON:
		check_plain(where, p, button_classes, diag);
		break;
	case FB_COMP_SELECT:
	case FB_COMP_LIGHT:
	case FB_COMP_FAN:
	case FB_COMP_TEXT:
		check_plain(where, p, NULL, diag);
		break;
	case FB_COMP_COVER:
		check_plain(where, p, cover_classes, diag);
		break;
	case FB_COMP_CLIMATE:
		check_climate(where, p, diag);
		break;
	case FB_COMP_VALVE:
		check_plain(where, p, valve_classes, diag);
		break;
	case FB_COMP_EVENT: /* classes checked by definition_gpio.c */
		break;
	}
	/* Home Assistant refuses read-only entities in the config category:
	 * config is for settings a user changes. */
	if (p->entity_category && !strcmp(p->entity_category, "config") &&
	    (p->component == FB_COMP_SENSOR || p->component == FB_COMP_BINARY_SENSOR))
		fb_diag_error(diag, "%s.entity_category: expected diagnostic for a %s "
			      "(config is for controls), got \"config\"", where,
			      fb_component_name(p->component));
	if (p->precision >= 0 && p->component != FB_COMP_SENSOR &&
	    p->component != FB_COMP_NUMBER)
		fb_diag_error(diag, "%s.precision: only applies to sensor and number, not %s",
			      where, fb_component_name(p->component));
	return diag->errors == before ? 0 : -1;
}
