/* SPDX-License-Identifier: Apache-2.0 */
/* The shipped gpio definitions load, and a gpio bus binds them; mistakes
 * are reported with file, point and field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "model.h"
#include "testlib.h"

static const char *src;

static struct fb_definition *load(const char *rel, struct fb_diag *d)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", src, rel);
	return fb_model_load(path, d);
}

static bool has(const struct fb_diag *d, const char *needle)
{
	for (size_t i = 0; i < d->count; i++)
		if (strstr(d->entries[i].message, needle))
			return true;
	for (size_t i = 0; i < d->count; i++)
		fprintf(stderr, "  diag: %s\n", d->entries[i].message);
	return false;
}

static void shipped_definitions_load(void)
{
	static const char *const files[] = {
		"devices/waveshare-rpi-relay-board.json", "devices/generic-opto-input-4ch.json",
		"devices/s0-energy-meter.json", "tests/gpio-kernel/devices/test-gpio-io.json",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct fb_diag d;
		struct fb_definition *def;

		fb_diag_init(&d);
		def = load(files[i], &d);
		CHECK(def != NULL);
		if (!def)
			has(&d, "(print)");
		fb_model_free(def);
		fb_diag_free(&d);
	}
}

static void roles_set_components(void)
{
	struct fb_diag d;
	struct fb_definition *def;
	const struct fb_point_def *p;

	fb_diag_init(&d);
	def = load("tests/gpio-kernel/devices/test-gpio-io.json", &d);
	CHECK(def != NULL);
	if (!def)
		return;
	p = fb_model_point(def, "relay_inv");
	CHECK(p && p->component == FB_COMP_SWITCH && p->gpio.active_low && p->gpio.initial);
	CHECK(p && fb_point_value_kind(p) == FB_VALUE_BOOL && p->writable);
	p = fb_model_point(def, "bell");
	CHECK(p && p->component == FB_COMP_BUTTON && p->gpio.pulse_ms == 200);
	p = fb_model_point(def, "pulses");
	CHECK(p && p->component == FB_COMP_SENSOR && fb_point_value_kind(p) == FB_VALUE_FLOAT);
	CHECK(p && p->state_class && !strcmp(p->state_class, "total_increasing"));
	p = fb_model_point(def, "press");
	CHECK(p && p->component == FB_COMP_EVENT && fb_point_value_kind(p) == FB_VALUE_STRING);
	CHECK(!strcmp(fb_component_name(FB_COMP_EVENT), "event"));
	fb_model_free(def);
	fb_diag_free(&d);
}

static void mistakes_are_named(void)
{
	FILE *f = fopen("bad-gpio.json", "w");
	struct fb_diag d;

	CHECK(f != NULL);
	if (!f)
		return;
	fputs("{ \"manufacturer\": \"x\", \"model\": \"y\", \"protocol\": \"gpio\", \"points\": ["
	      "{ \"key\": \"a\", \"name\": \"A\", \"role\": \"input\", \"pulse_ms\": 5 },"
	      "{ \"key\": \"b\", \"name\": \"B\", \"role\": \"counter\" },"
	      "{ \"key\": \"c\", \"name\": \"C\", \"role\": \"rate\", \"source\": \"a\" },"
	      "{ \"key\": \"d\", \"name\": \"D\", \"role\": \"output\", \"bias\": \"up\" } ] }", f);
	fclose(f);
	fb_diag_init(&d);
	CHECK(fb_model_load("bad-gpio.json", &d) == NULL);
	CHECK(has(&d, "points[0] (a).pulse_ms: does not apply to role input"));
	CHECK(has(&d, "points[1] (b).impulses_per_unit"));
	CHECK(has(&d, "points[2] (c).source: expected the key of a counter"));
	CHECK(has(&d, "points[3] (d).bias"));
	fb_diag_free(&d);
	remove("bad-gpio.json");
}

/* Writes text to path and loads it. */
static struct fb_definition *load_text(const char *path, const char *text, struct fb_diag *d)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	fb_diag_init(d);
	return fb_model_load(path, d);
}

#define GPIO_HEAD "{ \"manufacturer\": \"x\", \"model\": \"y\", \"protocol\": \"gpio\", \"points\": ["
#define GPIO_RELAYS "{ \"key\": \"up\", \"name\": \"Up\", \"role\": \"output\", \"line\": 1, " \
	"\"initial\": true, \"on_exit\": \"keep\" }," \
	"{ \"key\": \"down\", \"name\": \"Down\", \"role\": \"output\", \"line\": 2 },"

/* A cover on two outputs: the cover takes its relays over (read-only, off
 * at start and exit, never restored); mistakes are named. */
static void cover_on_two_outputs(void)
{
	static const struct { const char *points, *want; } bad[] = {
		{ GPIO_RELAYS "{ \"key\": \"c\", \"name\": \"C\", \"role\": \"cover\" }",
		  "points[2] (c).cover: required for role cover" },
		{ GPIO_RELAYS "{ \"key\": \"c\", \"name\": \"C\", \"role\": \"cover\", "
		  "\"cover\": {\"position_open\": 100} }",
		  "points[2] (c).cover: required for role cover" },
		{ GPIO_RELAYS "{ \"key\": \"c\", \"name\": \"C\", \"role\": \"cover\", \"line\": 3, "
		  "\"cover\": {\"open\": \"up\", \"close\": \"down\", \"run_time_s\": 5} }",
		  "points[2] (c).line: does not apply to role cover" },
		{ GPIO_RELAYS "{ \"key\": \"c\", \"name\": \"C\", \"role\": \"cover\", "
		  "\"cover\": {\"open\": \"up\", \"close\": \"down\"} }",
		  "points[2] (c).cover.run_time_s: required for a cover on relays" },
		{ GPIO_RELAYS "{ \"key\": \"c\", \"name\": \"C\", \"role\": \"cover\", "
		  "\"cover\": {\"open\": \"up\", \"close\": \"down\", \"run_time\": 5} }",
		  "points[2] (c).cover: unknown field \"run_time\": did you mean \"run_time_s\"?" },
		{ GPIO_RELAYS "{ \"key\": \"i\", \"name\": \"I\", \"role\": \"input\", \"line\": 4 },"
		  "{ \"key\": \"c\", \"name\": \"C\", \"role\": \"cover\", "
		  "\"cover\": {\"open\": \"up\", \"close\": \"i\", \"run_time_s\": 5} }",
		  "points[3] (c).cover.close: expected an output point, \"i\" has role input" },
		{ GPIO_RELAYS "{ \"key\": \"c\", \"name\": \"C\", \"role\": \"cover\", "
		  "\"cover\": {\"open\": \"up\", \"close\": \"dwn\", \"run_time_s\": 5} }",
		  "points[2] (c).cover.close: no point \"dwn\" in this definition" },
	};
	struct fb_diag d;
	struct fb_definition *def;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[2048];

		snprintf(text, sizeof(text), GPIO_HEAD "%s ] }", bad[i].points);
		def = load_text("cover-gpio.json", text, &d);
		CHECK(def == NULL);
		CHECK(has(&d, bad[i].want));
		fb_model_free(def);
		fb_diag_free(&d);
	}
	def = load_text("cover-gpio.json", GPIO_HEAD GPIO_RELAYS
			"{ \"key\": \"c\", \"name\": \"C\", \"role\": \"cover\", \"device_class\": "
			"\"blind\", \"cover\": {\"open\": \"up\", \"close\": \"down\", "
			"\"open_time_s\": 3, \"close_time_s\": 4, \"reverse_pause_ms\": 250} } ] }",
			&d);
	CHECK(def != NULL);
	if (def) {
		const struct fb_point_def *c = fb_model_point(def, "c");
		const struct fb_point_def *up = fb_model_point(def, "up");

		CHECK(c->component == FB_COMP_COVER && c->writable &&
		      fb_point_value_kind(c) == FB_VALUE_FLOAT);
		CHECK_EQ_INT(c->ext.open_ms, 3000);
		CHECK_EQ_INT(c->ext.close_ms, 4000);
		CHECK_EQ_INT(c->ext.reverse_pause_ms, 250);
		CHECK(!fb_gpio_role_has_line(c->gpio.role));
		/* taken over, whatever the definition said */
		CHECK(up->component == FB_COMP_BINARY_SENSOR && !up->writable);
		CHECK(!up->gpio.initial && !up->gpio.restore &&
		      up->gpio.on_exit == FB_GPIO_EXIT_OFF);
		CHECK(!strcmp(fb_gpio_role_name(FB_GPIO_COVER), "cover"));
	}
	fb_model_free(def);
	fb_diag_free(&d);
	remove("cover-gpio.json");
}

static void gpio_bus_binds_lines(void)
{
	FILE *f = fopen("gpio-bus.json", "w");
	struct fb_diag d;
	struct fb_config *c;
	struct fb_gpio_point g;

	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f, "{ \"gateway\": { \"id\": \"t\", \"definition_dirs\": [\"%s/devices\"] },"
		" \"buses\": [ { \"name\": \"io\", \"transport\": \"gpio\", \"chip\": \"pinctrl-rp1\","
		" \"devices\": [ { \"id\": \"r\", \"definition\": \"waveshare-rpi-relay-board\","
		" \"lines\": { \"relay3\": { \"line\": 7, \"active_low\": false, \"on_exit\": \"off\" } } },"
		" { \"id\": \"r2\", \"definition\": \"waveshare-rpi-relay-board\" },"
		" { \"id\": \"m\", \"definition\": \"s0-energy-meter\", \"lines\": { \"nope\": 3 } } ] } ] }",
		src);
	fclose(f);
	fb_diag_init(&d);
	c = fb_config_load("gpio-bus.json", &d);
	CHECK(c != NULL);
	if (c) {
		CHECK(c->buses[0].transport == FB_BUS_GPIO);
		CHECK(!strcmp(c->buses[0].gpio_chip, "pinctrl-rp1"));
		CHECK_EQ_INT(fb_config_load_definitions(c, NULL, &d), 2);
		CHECK(c->buses[0].devices[0].def != NULL);
		if (c->buses[0].devices[0].def) {
			fb_config_gpio_effective(&c->buses[0].devices[0],
						 fb_model_point(c->buses[0].devices[0].def, "relay3"), &g);
			CHECK(g.line == NULL && g.line_offset == 7 && !g.active_low &&
			      g.on_exit == FB_GPIO_EXIT_OFF);
		}
		/* r2 uses GPIO26/20/21 like r; m binds an unknown point and lacks one. */
		CHECK(has(&d, "line GPIO26 is also used by device r point relay1"));
		CHECK(has(&d, "lines.nope: expected the key of an input"));
		CHECK(has(&d, "lines.energy: expected a line for point energy"));
	}
	fb_config_free(c);
	fb_diag_free(&d);
	remove("gpio-bus.json");
}

int main(int argc, char **argv)
{
	src = argc > 1 ? argv[1] : ".";
	RUN_TEST(shipped_definitions_load);
	RUN_TEST(roles_set_components);
	RUN_TEST(mistakes_are_named);
	RUN_TEST(cover_on_two_outputs);
	RUN_TEST(gpio_bus_binds_lines);
	return fb_test_finish();
}
