/* SPDX-License-Identifier: Apache-2.0 */
/* fb_config_load_definitions with the real model: a failing definition
 * disables its device only, with a message naming bus and device. */
#include "config_testutil.h"

static void failing_definitions_disable_their_device_only(void)
{
	struct tdir t;
	struct fb_diag d, d2;
	struct fb_config *c;
	char text[4096];

	td_make(&t);
	fb_diag_init(&d);
	fb_diag_init(&d2);
	td_write(&t, "devices/gpio-relay.json",
		 "{ \"manufacturer\": \"Test\", \"model\": \"GPIO relay\", \"protocol\": \"gpio\",\n"
		 "  \"points\": [ { \"key\": \"relay_1\", \"name\": \"Relay 1\", \"role\": \"output\",\n"
		 "    \"line\": 0 } ] }\n",
		 0644, NULL, 0);
	td_write(&t, "devices/broken.json", "{ \"manufacturer\": ", 0644, NULL, 0);
	snprintf(text, sizeof(text),
		 "{ \"gateway\": { \"definition_dirs\": [\"devices\", \"%s/devices\"] },\n"
		 "  \"buses\": [ { \"name\": \"meters\", \"transport\": \"tcp\", \"host\": \"h\", \"devices\": [\n"
		 "      { \"id\": \"sdm1\", \"definition\": \"eastron-sdm120\", \"unit_id\": 1 },\n"
		 "      { \"id\": \"relays\", \"definition\": \"waveshare-relay-8ch\", \"unit_id\": 2, \"name\": \"Relays\" },\n"
		 "      { \"id\": \"missing\", \"definition\": \"no-such-model\", \"unit_id\": 3 },\n"
		 "      { \"id\": \"gpio1\", \"definition\": \"gpio-relay\", \"unit_id\": 4 },\n"
		 "      { \"id\": \"broken1\", \"definition\": \"broken\", \"unit_id\": 5 } ] },\n"
		 "    { \"name\": \"other\", \"transport\": \"tcp\", \"host\": \"h2\", \"devices\": [\n"
		 "      { \"id\": \"sdm2\", \"definition\": \"eastron-sdm120\" } ] } ],\n"
		 "  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\" } ] }\n",
		 FB_SOURCE_DIR);
	c = td_load_text(&t, text, &d);
	CHECK(c != NULL);
	if (!c) {
		diag_dump(&d);
		goto out;
	}
	struct fb_bus_conf *b = fb_config_bus(c, "meters");
	CHECK_EQ_INT(fb_config_load_definitions(c, b, &d), 3);
	CHECK(b->devices[0].def != NULL);
	CHECK(b->devices[1].def != NULL);
	CHECK(b->devices[2].def == NULL);
	CHECK(b->devices[3].def == NULL);
	CHECK(b->devices[4].def == NULL);
	CHECK(fb_config_bus(c, "other")->devices[0].def == NULL); /* not asked for */
	if (b->devices[0].def) {
		char want[256];

		CHECK(!strcmp(b->devices[0].def->protocol, "modbus"));
		snprintf(want, sizeof(want), "%s sdm1", b->devices[0].def->model);
		CHECK(!strcmp(b->devices[0].name, want)); /* "<model> <id>" */
	}
	CHECK(!strcmp(b->devices[1].name, "Relays")); /* given: kept */
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json: buses[0] (meters).devices[2] (missing)."
		   "definition: definition \"no-such-model\": no no-such-model.json in");
	CHECK_DIAG(&d, FB_SEV_ERROR, "bus meters: device gpio1: disabled: definition "
		   "\"gpio-relay\" (");
	CHECK_DIAG(&d, FB_SEV_ERROR, "is for protocol \"gpio\": expected a \"modbus\" "
		   "definition on a Modbus bus");
	CHECK_DIAG(&d, FB_SEV_WARNING, "bus meters: device broken1: disabled: definition "
		   "\"broken\" has the errors above");
	CHECK_DIAG(&d, FB_SEV_ERROR, "devices/broken.json:1:"); /* the model's own message */

	/* All buses; loading again replaces what was loaded. */
	CHECK_EQ_INT(fb_config_load_definitions(c, NULL, &d2), 3);
	CHECK(fb_config_bus(c, "other")->devices[0].def != NULL);
	CHECK(b->devices[0].def != NULL);
out:
	fb_config_free(c); /* frees the definitions (LeakSanitizer checks) */
	fb_diag_free(&d);
	fb_diag_free(&d2);
	td_remove(&t);
}

/* A mistyped definition id: one error (not one per layer), at the
 * device's JSON path, with the ids that do exist. */
static void missing_definition_is_reported_once_with_path_and_closest_ids(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char text[2048];

	td_make(&t);
	fb_diag_init(&d);
	snprintf(text, sizeof(text),
		 "{ \"gateway\": { \"definition_dirs\": [\"%s/devices\"] },\n"
		 "  \"buses\": [ { \"name\": \"rs485\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		 "    \"devices\": [ { \"id\": \"meter\", \"definition\": \"eastron-sdm63\" },\n"
		 "                   { \"id\": \"m2\", \"definition\": \"eastron-sdm63\", \"unit_id\": 2 } ] } ],\n"
		 "  \"connections\": [] }\n", FB_SOURCE_DIR);
	c = td_load_text(&t, text, &d);
	CHECK(c != NULL);
	if (c)
		CHECK_EQ_INT(fb_config_load_definitions(c, NULL, &d), 2);
	CHECK_EQ_INT(d.errors, 1);
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json: buses[0] (rs485).devices[0] (meter)."
		   "definition: definition \"eastron-sdm63\": no eastron-sdm63.json in ");
	CHECK_DIAG(&d, FB_SEV_ERROR, "; closest: eastron-sdm630, ");
	CHECK_DIAG(&d, FB_SEV_ERROR, "; device meter is disabled");
	CHECK_DIAG(&d, FB_SEV_WARNING, "bus rs485: device m2: disabled: definition "
		   "\"eastron-sdm63\" has the errors above");
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void shipped_example_definitions_load(void)
{
	struct fb_diag d;
	struct fb_config *c;
	const char *dirs[1] = { FB_SOURCE_DIR "/devices" };

	fb_diag_init(&d);
	c = fb_config_load(FB_SOURCE_DIR "/conf/fieldbridge.json", &d);
	CHECK(c != NULL);
	if (c) {
		/* Point the search at the source tree's devices/. */
		for (size_t i = 0; i < c->ndefinition_dirs; i++)
			free(c->definition_dirs[i]);
		c->definition_dirs[0] = strdup(dirs[0]);
		c->ndefinition_dirs = 1;
		CHECK_EQ_INT(fb_config_load_definitions(c, NULL, &d), 0);
		CHECK_EQ_INT(d.errors, 0);
		if (d.count)
			diag_dump(&d);
	}
	fb_config_free(c);
	fb_diag_free(&d);
}

int main(void)
{
	RUN_TEST(failing_definitions_disable_their_device_only);
	RUN_TEST(missing_definition_is_reported_once_with_path_and_closest_ids);
	RUN_TEST(shipped_example_definitions_load);
	return fb_test_finish();
}
