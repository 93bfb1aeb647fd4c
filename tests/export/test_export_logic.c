/* SPDX-License-Identifier: Apache-2.0 */
/* The exporter's pure logic, without a broker: rights visibility and what
 * a reload takes away, device lookups and dirty marks, the parsing of
 * command payloads as Home Assistant sends them, state values, and the
 * escaping of log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export-internal.h"
#include "log.h"
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
	cJSON *lost = ex_rights_lost(&d, old, 0, true);

	CHECK(lost != NULL);
	CHECK_EQ_INT(cJSON_GetArraySize(lost), 2);
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(lost, "relay")), "switch"));
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(lost, "reset")), "button"));
	cJSON_Delete(lost);
	/* A device that was not exported before lost nothing. */
	lost = ex_rights_lost(&d, old, 0, false);
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

	CHECK_EQ_INT(fb_point_parse_command(&points[P_RELAY], "ON", &v), 0);
	CHECK(v.kind == FB_VALUE_BOOL && v.b);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_RELAY], "false", &v), 0);
	CHECK(v.kind == FB_VALUE_BOOL && !v.b);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_RELAY], "maybe", &v), -1);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_MODE], "auto", &v), 0);
	CHECK(v.kind == FB_VALUE_INT && v.i == 3);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_MODE], "Auto", &v), -1);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_SETPOINT], "21.5", &v), 0);
	CHECK(v.kind == FB_VALUE_FLOAT);
	CHECK_NEAR(v.f, 21.5, 1e-12);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_SETPOINT], "31", &v), -1);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_SETPOINT], "21.5x", &v), -1);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_SETPOINT], "nan", &v), -1);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_SETPOINT], " 21", &v), -1);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_SETPOINT], "0x15", &v), -1);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_SETPOINT], "", &v), -1);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_RELAY], "ON ", &v), -1);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_BUTTON], "PRESS", &v), 0);
	CHECK_EQ_INT(fb_point_parse_command(&points[P_TEMP], "1", &v), -1);
}

static const char *unpack(const char *payload, size_t len, cJSON **doc, char *num, char *id,
			  int64_t *ts, const char **why)
{
	return ex_commands_unpack(payload, len, doc, num, 64, id, FB_TABLE_EVENT_ID_MAX, ts, why);
}

static void containers_unpack_value_event_id_and_ts(void)
{
	char num[64], id[FB_TABLE_EVENT_ID_MAX];
	const char *text, *why;
	int64_t ts;
	cJSON *doc;

	text = unpack("ON", 2, &doc, num, id, &ts, &why);
	CHECK(text && !strcmp(text, "ON"));
	CHECK(!doc && !id[0] && ts == 0);

	text = unpack("{\"value\":21.5,\"event_id\":\"ha-1\",\"ts\":1700000000000}", 51,
		      &doc, num, id, &ts, &why);
	CHECK(text && !strcmp(text, "21.5"));
	CHECK(!strcmp(id, "ha-1"));
	CHECK(ts == 1700000000000LL);
	cJSON_Delete(doc);

	text = unpack("{\"value\":true}", 14, &doc, num, id, &ts, &why);
	CHECK(text && !strcmp(text, "ON"));
	cJSON_Delete(doc);
}

/* Every malformed payload is refused with a reason, never half-read. */
static void malformed_payloads_are_refused_with_a_reason(void)
{
	/* The literal and its length, NULs included. */
#define B(lit) lit, sizeof(lit) - 1
	static const struct { const char *p; size_t len; const char *why; } bad[] = {
		{ B("ON\0junk"), "NUL byte" },
		{ B("{\"value\":1}\0x"), "NUL byte" },
		{ B("{\"value\":1} junk"), "trailing" },
		{ B("{\"value\":1}}"), "trailing" },
		{ B("{broken"), "not a JSON object" },
		{ B("{\"value\":[1]}"), "value must be" },
		{ B("{\"event_id\":\"a\"}"), "no value" },
		{ B("{\"value\":1,\"event_id\":7}"), "event_id must be a string" },
		{ B("{\"value\":1,\"event_id\":\"\"}"), "event_id must be 1 to 47" },
		{ B("{\"value\":1,\"event_id\":\"0123456789012345678901234567890123456789"
		  "01234567\"}"), "event_id must be 1 to 47" },
		{ B("{\"value\":1,\"ts\":\"yesterday\"}"), "ts must be a number" },
		{ B("{\"value\":1,\"ts\":null}"), "ts must be a number" },
		{ B("{\"value\":1,\"extra\":2}"), "unknown field" },
		{ B("{\"value\":1,\"value\":2}"), "twice" },
	};
	char num[64], id[FB_TABLE_EVENT_ID_MAX];
	const char *why;
	int64_t ts;
	cJSON *doc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(unpack(bad[i].p, bad[i].len, &doc, num, id, &ts, &why) == NULL);
		CHECK(why && strstr(why, bad[i].why));
		cJSON_Delete(doc);
	}
	/* 47 characters is the longest id, kept whole. */
	CHECK(unpack(B("{\"value\":1,\"event_id\":\"01234567890123456789012345678901234567890123456\"}"),
		     &doc, num, id, &ts, &why) != NULL);
#undef B
	CHECK_EQ_INT((int)strlen(id), 47);
	cJSON_Delete(doc);
}

static void command_ts_that_is_no_time_is_invalid(void)
{
	static const char *const bad[] = {
		"{\"value\":\"ON\",\"ts\":1e300}", "{\"value\":\"ON\",\"ts\":-5}",
		"{\"value\":\"ON\",\"ts\":0}", "{\"value\":\"ON\",\"ts\":-1e300}",
		"{\"value\":\"ON\",\"ts\":1700000000000.5}",
	};
	char num[64], id[FB_TABLE_EVENT_ID_MAX];
	const char *why;
	int64_t ts;
	cJSON *doc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *text = unpack(bad[i], strlen(bad[i]), &doc, num, id, &ts, &why);

		CHECK(text && !strcmp(text, "ON"));
		CHECK_EQ_INT(ts, -1);
		cJSON_Delete(doc);
	}
}

static struct fb_point_snapshot snap(enum fb_value_kind kind, int64_t i, enum fb_quality q)
{
	struct fb_point_snapshot s;

	memset(&s, 0, sizeof(s));
	s.value.kind = kind;
	s.value.i = i;
	s.quality = (uint8_t)q;
	return s;
}

static char *value_text(const struct fb_point_def *p, struct fb_point_snapshot s)
{
	cJSON *v = ex_state_point_value(p, &s);
	char *t = cJSON_PrintUnformatted(v);

	cJSON_Delete(v);
	return t;
}

static void stale_read_is_published_as_unknown(void)
{
	struct fb_point_def counter = { .key = "counter", .component = FB_COMP_SENSOR };
	char *t;

	t = value_text(&counter, snap(FB_VALUE_INT, 7, FB_QUALITY_OK));
	CHECK(t && !strcmp(t, "7"));
	free(t);
	/* A torn NONE->FLOAT update reads back as 0 with quality STALE. */
	t = value_text(&counter, snap(FB_VALUE_FLOAT, 0, FB_QUALITY_STALE));
	CHECK(t && !strcmp(t, "null"));
	free(t);
	t = value_text(&points[P_RELAY], snap(FB_VALUE_BOOL, 1, FB_QUALITY_STALE));
	CHECK(t && !strcmp(t, "null"));
	free(t);
	/* 64-bit integers keep every digit (a double would round them). */
	t = value_text(&counter, snap(FB_VALUE_INT, INT64_MAX, FB_QUALITY_OK));
	CHECK(t && !strcmp(t, "9223372036854775807"));
	free(t);
}

static void select_labels_with_quotes_give_valid_json(void)
{
	struct fb_select_option evil[] = {
		{ .raw = 1, .label = "Heat\", \"counter\": 99999, \"x\": \"" },
		{ .raw = 2, .label = "Cool \"eco\" \\ \x01" },
	};
	struct fb_point_def mode = { .key = "mode", .component = FB_COMP_SELECT,
				     .options = evil, .noptions = 2 };
	cJSON *doc = cJSON_CreateObject(), *back;
	struct fb_point_snapshot s = snap(FB_VALUE_INT, 1, FB_QUALITY_OK);
	char *text;

	cJSON_AddItemToObject(doc, "mode", ex_state_point_value(&mode, &s));
	s.value.i = 2;
	cJSON_AddItemToObject(doc, "mode2", ex_state_point_value(&mode, &s));
	cJSON_AddNumberToObject(doc, "counter", 7);
	text = cJSON_PrintUnformatted(doc);
	back = cJSON_Parse(text);
	CHECK(back != NULL);
	if (!back) {
		cJSON_Delete(doc);
		free(text);
		return;
	}
	CHECK_EQ_INT(cJSON_GetArraySize(back), 3);
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(back, "mode")), evil[0].label));
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(back, "mode2")), evil[1].label));
	CHECK(cJSON_GetObjectItem(back, "counter")->valuedouble == 7);
	cJSON_Delete(back);
	cJSON_Delete(doc);
	free(text);
}

static void missing_user_and_diag_rules_follow_the_users_file(void)
{
	char path[] = "/tmp/fbtest-users-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "{\"users\": [{\"name\": \"ha\", \"rights\": {\"boiler\": \"read\", "
			   "\"boiler/_diag_*\": \"none\", \"boiler/_diag_errors\": \"read\"}}]}";
	struct fb_device_conf conf = { .id = "boiler" };
	struct fb_definition mdef = def;
	uint8_t access[NPOINTS];
	struct ex_device d = { .conf = &conf, .def = &mdef, .access = access };
	struct exporter ex = { .devices = &d, .ndevices = 1 };
	struct fb_diag diag;
	size_t ndiag;
	const struct fb_diag_point_desc *dp = fb_model_diag_points(&ndiag);

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	fb_diag_init(&diag);
	ex.users = fb_users_load(path, &diag);
	fb_diag_free(&diag);
	unlink(path);
	CHECK(ex.users != NULL);
	mdef.protocol = "modbus";
	ex.user = fb_users_find(ex.users, "ha");
	ex_rights_device_apply(&ex, &d);
	CHECK(d.exported);
	for (size_t i = 0; i < ndiag; i++)
		CHECK(ex_rights_diag_visible(&d, i) == !strcmp(dp[i].key, "_diag_errors"));
	/* A valid users file without our user: nothing at all. */
	ex.user = NULL;
	ex_rights_device_apply(&ex, &d);
	CHECK(!d.exported);
	CHECK_EQ_INT(d.diag_visible, 0);
	for (size_t p = 0; p < NPOINTS; p++)
		CHECK(!ex_rights_visible(&d, p) && !ex_rights_commandable(&d, p));
	fb_users_free(ex.users);
}

static void log_escape_neutralises_control_characters(void)
{
	char out[64];

	fb_log_escape("id\n<0>fieldbridge-export: FORGED\r\x1b[2J\x7f", out, sizeof(out));
	CHECK(!strcmp(out, "id\\n<0>fieldbridge-export: FORGED\\r\\x1b[2J\\x7f"));
	CHECK(!strchr(out, '\n'));
	/* Cut at a whole escape, always terminated. */
	CHECK_EQ_INT(fb_log_escape("ab\ncd", out, 4), 2);
	CHECK(!strcmp(out, "ab"));
}

int main(void)
{
	RUN_TEST(rights_follow_access_and_component);
	RUN_TEST(lost_rights_name_the_removed_components);
	RUN_TEST(devices_are_found_by_id_and_key_and_listed_once);
	RUN_TEST(plain_payloads_parse_per_component);
	RUN_TEST(containers_unpack_value_event_id_and_ts);
	RUN_TEST(command_ts_that_is_no_time_is_invalid);
	RUN_TEST(malformed_payloads_are_refused_with_a_reason);
	RUN_TEST(stale_read_is_published_as_unknown);
	RUN_TEST(select_labels_with_quotes_give_valid_json);
	RUN_TEST(missing_user_and_diag_rules_follow_the_users_file);
	RUN_TEST(log_escape_neutralises_control_characters);
	return fb_test_finish();
}
