/* The exporter's pure logic, without a broker: rights visibility and what
 * a reload takes away, device lookups and dirty marks, and the parsing of
 * command payloads as Home Assistant sends them. */
#include <stdlib.h>
#include <string.h>

#include "export-internal.h"
#include "testlib.h"

enum { P_TEMP, P_RELAY, P_MODE, P_BUTTON, P_SETPOINT, NPOINTS };

static struct fb_select_option modes[] = { { .raw = 0, .label = "off" },
					   { .raw = 3, .label = "auto" } };
static struct fb_point_def points[NPOINTS] = {
	[P_TEMP] = { .key = "temp", .component = FB_COMP_SENSOR },
	[P_RELAY] = { .key = "relay", .component = FB_COMP_SWITCH, .writable = true },
	[P_MODE] = { .key = "mode", .component = FB_COMP_SELECT, .writable = true,
		     .options = modes, .noptions = 2 },
	[P_BUTTON] = { .key = "reset", .component = FB_COMP_BUTTON, .writable = true },
	[P_SETPOINT] = { .key = "setpoint", .component = FB_COMP_NUMBER, .writable = true,
			 .has_min = true, .min = 5, .has_max = true, .max = 30 },
};
static struct fb_definition def = { .points = points, .npoints = NPOINTS };

static void rights_follow_access_and_component(void)
{
	uint8_t access[NPOINTS] = { FB_ACCESS_READ, FB_ACCESS_READ, FB_ACCESS_WRITE,
				    FB_ACCESS_READ, FB_ACCESS_NONE };
	struct ex_device d = { .def = &def, .access = access };

	CHECK(ex_rights_visible(&d, P_TEMP));
	CHECK(!ex_rights_commandable(&d, P_TEMP));
	CHECK(ex_rights_visible(&d, P_RELAY));
	CHECK(!ex_rights_commandable(&d, P_RELAY)); /* read access only */
	CHECK(ex_rights_commandable(&d, P_MODE));
	/* A button has no state: read access alone does not show it. */
	CHECK(!ex_rights_visible(&d, P_BUTTON));
	access[P_BUTTON] = FB_ACCESS_WRITE;
	CHECK(ex_rights_visible(&d, P_BUTTON));
	CHECK(!ex_rights_visible(&d, P_SETPOINT));
	/* Write access on a read-only point gives no command topic. */
	points[P_TEMP].writable = false;
	access[P_TEMP] = FB_ACCESS_WRITE;
	CHECK(!ex_rights_commandable(&d, P_TEMP));
}

static void lost_rights_name_the_removed_components(void)
{
	uint8_t old[NPOINTS] = { FB_ACCESS_READ, FB_ACCESS_WRITE, FB_ACCESS_WRITE,
				 FB_ACCESS_WRITE, FB_ACCESS_READ };
	uint8_t now[NPOINTS] = { FB_ACCESS_READ, FB_ACCESS_NONE, FB_ACCESS_WRITE,
				 FB_ACCESS_READ, FB_ACCESS_READ };
	struct ex_device d = { .def = &def, .access = now };
	cJSON *lost = ex_rights_lost(&d, old, true);

	CHECK(lost != NULL);
	CHECK_EQ_INT(cJSON_GetArraySize(lost), 2);
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(lost, "relay")), "switch"));
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(lost, "reset")), "button"));
	cJSON_Delete(lost);
	/* A device that was not exported before lost nothing. */
	lost = ex_rights_lost(&d, old, false);
	CHECK_EQ_INT(cJSON_GetArraySize(lost), 0);
	cJSON_Delete(lost);
}

static void devices_are_found_by_id_and_key_and_listed_once(void)
{
	struct fb_device_conf confs[2] = { { .id = "boiler" }, { .id = "boiler2" } };
	struct ex_device *dirty[3] = { NULL };
	struct ex_bus bus = { .dirty = dirty };
	struct ex_device devs[2] = {
		{ .conf = &confs[0], .def = &def, .bus = &bus },
		{ .conf = &confs[1], .def = &def, .bus = &bus },
	};
	struct exporter ex = { .devices = devs, .ndevices = 2, .buses = &bus, .nbuses = 1 };
	const char *topic = "boiler/relay/set";

	CHECK(ex_devices_find(&ex, topic, 6) == &devs[0]); /* a prefix of the topic */
	CHECK(ex_devices_find(&ex, "boiler2", 7) == &devs[1]);
	CHECK(ex_devices_find(&ex, "boil", 4) == NULL);
	CHECK_EQ_INT(ex_device_point(&devs[0], "mode"), P_MODE);
	CHECK_EQ_INT(ex_device_point(&devs[0], "nope"), -1);

	ex_device_mark_dirty(&devs[1]);
	ex_device_mark_avail(&devs[1]);
	ex_device_mark_dirty(&devs[1]);
	CHECK_EQ_INT(bus.ndirty, 1);
	CHECK(devs[1].dirty && devs[1].avail_dirty);
	devs[0].published_avail = 1;
	ex_devices_mark_all(&ex);
	CHECK_EQ_INT(bus.ndirty, 2);
	CHECK(bus.dirty[0] == &devs[1] && bus.dirty[1] == &devs[0]);
	/* Everything again: availability is re-sent even if unchanged. */
	CHECK_EQ_INT(devs[0].published_avail, -1);
	CHECK(devs[0].dirty && devs[0].avail_dirty);
	/* No table attached: offline. */
	devs[0].table_device = -1;
	CHECK(!ex_device_online(&devs[0]));
}

static void plain_payloads_parse_per_component(void)
{
	struct fb_value v;

	CHECK_EQ_INT(ex_commands_parse_value(&points[P_RELAY], "ON", &v), 0);
	CHECK(v.kind == FB_VALUE_BOOL && v.b);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_RELAY], "false", &v), 0);
	CHECK(v.kind == FB_VALUE_BOOL && !v.b);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_RELAY], "maybe", &v), -1);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_MODE], "auto", &v), 0);
	CHECK(v.kind == FB_VALUE_INT && v.i == 3);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_MODE], "Auto", &v), -1);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_SETPOINT], "21.5", &v), 0);
	CHECK(v.kind == FB_VALUE_FLOAT);
	CHECK_NEAR(v.f, 21.5, 1e-12);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_SETPOINT], "31", &v), -1);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_SETPOINT], "21.5x", &v), -1);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_SETPOINT], "nan", &v), -1);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_BUTTON], "PRESS", &v), 0);
	CHECK_EQ_INT(ex_commands_parse_value(&points[P_TEMP], "1", &v), -1);
}

static void containers_unpack_value_event_id_and_ts(void)
{
	char num[64], id[FB_TABLE_EVENT_ID_MAX];
	int64_t ts;
	cJSON *doc;
	const char *text;

	text = ex_commands_unpack("ON", &doc, num, sizeof(num), id, sizeof(id), &ts);
	CHECK(text && !strcmp(text, "ON"));
	CHECK(!doc && !id[0] && ts == 0);

	text = ex_commands_unpack("{\"value\":21.5,\"event_id\":\"ha-1\",\"ts\":1700000000000}",
				  &doc, num, sizeof(num), id, sizeof(id), &ts);
	CHECK(text && !strcmp(text, "21.5"));
	CHECK(!strcmp(id, "ha-1"));
	CHECK(ts == 1700000000000LL);
	cJSON_Delete(doc);

	text = ex_commands_unpack("{\"value\":true}", &doc, num, sizeof(num), id, sizeof(id), &ts);
	CHECK(text && !strcmp(text, "ON"));
	cJSON_Delete(doc);

	text = ex_commands_unpack("{\"value\":[1]}", &doc, num, sizeof(num), id, sizeof(id), &ts);
	CHECK(text == NULL);
	cJSON_Delete(doc);
	text = ex_commands_unpack("{broken", &doc, num, sizeof(num), id, sizeof(id), &ts);
	CHECK(text == NULL);
	cJSON_Delete(doc);
}

int main(void)
{
	RUN_TEST(rights_follow_access_and_component);
	RUN_TEST(lost_rights_name_the_removed_components);
	RUN_TEST(devices_are_found_by_id_and_key_and_listed_once);
	RUN_TEST(plain_payloads_parse_per_component);
	RUN_TEST(containers_unpack_value_event_id_and_ts);
	return fb_test_finish();
}
