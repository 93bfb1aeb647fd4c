/* SPDX-License-Identifier: Apache-2.0 */
/* The field tables of config_edit: values inside the documented sets are
 * accepted and typed, values outside are refused naming the allowed ones,
 * and the generated schema carries the same data. */
#include "config_edit.h"
#include "config.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static void parse_rejects_with_allowed(const char *field, const char *text,
				       const char *allowed)
{
	const struct fb_field *f = fb_edit_field(FB_EDIT_CONN, field);
	char err[512] = "";
	cJSON *v;

	CHECK(f != NULL);
	if (!f)
		return;
	v = fb_field_parse(f, text, err, sizeof(err));
	CHECK(v == NULL);
	CHECK_STR_CONTAINS(err, allowed);
	CHECK_STR_CONTAINS(err, field);
	cJSON_Delete(v);
}

static void out_of_range_values_name_the_allowed_ones(void)
{
	parse_rejects_with_allowed("qos", "3", "expected 0..2");
	parse_rejects_with_allowed("timeout_s", "45", "expected one of 0, 10, 15, 30, 60");
	parse_rejects_with_allowed("port", "0", "expected 1..65535");
	parse_rejects_with_allowed("max_inflight", "70000", "expected 1..65000");
	parse_rejects_with_allowed("ssl", "yes", "off, on, trust_all");
	parse_rejects_with_allowed("retain", "2", "on or off");
}

static void accepted_values_are_typed(void)
{
	char err[256];
	cJSON *v = fb_field_parse(fb_edit_field(FB_EDIT_CONN, "port"), "0x22B3", err,
				  sizeof(err));

	CHECK(cJSON_IsNumber(v) && v->valuedouble == 8883);
	cJSON_Delete(v);
	v = fb_field_parse(fb_edit_field(FB_EDIT_CONN, "retain"), "off", err, sizeof(err));
	CHECK(cJSON_IsFalse(v));
	cJSON_Delete(v);
	v = fb_field_parse(fb_edit_field(FB_EDIT_CONN, "ssl"), "trust_all", err, sizeof(err));
	CHECK(cJSON_IsString(v));
	cJSON_Delete(v);
}

/* The interval set in the table is the loader's own. */
static void interval_set_matches_the_loader(void)
{
	const struct fb_field *f = fb_edit_field(FB_EDIT_CONN, "keep_alive_s");
	size_t in_set = 0;

	for (int s = -1; s <= 4000; s++) {
		char text[16], err[256];
		cJSON *v;

		snprintf(text, sizeof(text), "%d", s);
		v = fb_field_parse(f, text, err, sizeof(err));
		CHECK_EQ_INT(v != NULL, fb_config_interval_valid(s));
		in_set += v != NULL;
		cJSON_Delete(v);
	}
	CHECK_EQ_INT(in_set, f->nset);
}

static void schema_lists_every_field(void)
{
	for (int k = FB_EDIT_CONN; k <= FB_EDIT_KIND_LAST; k++) {
		size_t n;
		const struct fb_field *f = fb_edit_fields((enum fb_edit_kind)k, &n);
		cJSON *s = fb_edit_schema((enum fb_edit_kind)k);
		cJSON *props = cJSON_GetObjectItem(s, "properties");

		CHECK(n > 0);
		CHECK_EQ_INT(cJSON_GetArraySize(props), n);
		for (size_t i = 0; i < n; i++) {
			cJSON *p = cJSON_GetObjectItem(props, f[i].name);

			CHECK(p != NULL);
			CHECK(f[i].help && f[i].help[0]);
			CHECK(cJSON_GetObjectItem(p, "description") != NULL);
		}
		cJSON_Delete(s);
	}
	CHECK(fb_edit_field(FB_EDIT_CONN, "adress") == NULL);
	CHECK(fb_edit_field(FB_EDIT_CONN, "auth_password")->type == FB_FIELD_SECRET);
}

static cJSON *server_value(const char *field, const char *text, char *err, size_t len)
{
	return fb_field_parse(fb_edit_field(FB_EDIT_SERVER, field), text, err, len);
}

/* A server's buses: one name stays a string (the common case, as a person
 * writes it), several become an array; blanks around names are dropped. */
static void server_bus_names_and_unit_ids(void)
{
	char err[256] = "", *text;
	cJSON *v = server_value("bus", "meters", err, sizeof(err));

	CHECK(cJSON_IsString(v) && !strcmp(v->valuestring, "meters"));
	cJSON_Delete(v);
	v = server_value("bus", " meters ,relays", err, sizeof(err));
	text = cJSON_PrintUnformatted(v);
	CHECK(text && !strcmp(text, "[\"meters\",\"relays\"]"));
	free(text);
	cJSON_Delete(v);
	v = server_value("bus", "meters,,relays", err, sizeof(err));
	CHECK(v == NULL);
	CHECK_STR_CONTAINS(err, "bus: expected NAME[,NAME...] without empty names");
	v = server_value("unit_ids", "m1:5, r1:0,m1:255", err, sizeof(err));
	text = cJSON_PrintUnformatted(v);
	CHECK(text && !strcmp(text, "{\"r1\":0,\"m1\":255}")); /* the last m1 wins */
	free(text);
	cJSON_Delete(v);
	for (size_t i = 0; i < 5; i++) {
		static const char *const bad[] = { "m1", "m1:256", ":5", "m1:-1", "m1:5x" };

		err[0] = '\0';
		v = server_value("unit_ids", bad[i], err, sizeof(err));
		CHECK(v == NULL);
		CHECK_STR_CONTAINS(err, "unit_ids: expected DEVICE:ID with ID 0..255");
	}
	CHECK(!strcmp(fb_field_type_name(FB_FIELD_UNIT_MAP), "unit map"));
}

int main(void)
{
	RUN_TEST(out_of_range_values_name_the_allowed_ones);
	RUN_TEST(accepted_values_are_typed);
	RUN_TEST(interval_set_matches_the_loader);
	RUN_TEST(schema_lists_every_field);
	RUN_TEST(server_bus_names_and_unit_ids);
	return fb_test_finish();
}
