/* SPDX-License-Identifier: Apache-2.0 */
/* A problem carries its file, JSON path and field besides the message, so
 * a form can show it at the field: the path has no " (name)" notes, a
 * drop-in file's object is the top level, and the message is unchanged. */
#include "config_testutil.h"
#include "users.h"

#define CHECK_EQ_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!strcmp(a_, b_)) { fb_test_counts_.passed++; } \
	else { fb_test_counts_.failed++; \
	       fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, a_, b_); } \
} while (0)

/* The entry whose message contains needle, or NULL. */
static const struct fb_diag_entry *entry(const struct fb_diag *d, const char *needle)
{
	for (size_t i = 0; i < d->count; i++)
		if (strstr(d->entries[i].message, needle))
			return &d->entries[i];
	return NULL;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = s ? strlen(s) : 0, m = strlen(tail);

	return s && n >= m && !strcmp(s + n - m, tail);
}

/* Asserts the entry matching needle has the place given (NULL: none). */
#define CHECK_AT(d, needle, file_tail, want_path, want_field) do { \
	const struct fb_diag_entry *e_ = entry((d), (needle)); \
	CHECK(e_ != NULL); \
	if (e_) { \
		CHECK(ends_with(e_->file, (file_tail))); \
		CHECK_EQ_STR(e_->path ? e_->path : "(null)", (want_path) ? (want_path) : "(null)"); \
		CHECK_EQ_STR(e_->field ? e_->field : "(null)", \
			     (want_field) ? (want_field) : "(null)"); \
	} \
} while (0)

static void field_errors_carry_file_path_and_field(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	c = td_load_text(&t,
		"{ \"gateway\": { \"id\": \"GW\" },\n"
		"  \"buses\": [ { \"name\": \"b\", \"transport\": \"rtu\", \"device\": \"/dev/x\",\n"
		"      \"baud\": 1000, \"colour\": 1,\n"
		"      \"devices\": [ { \"id\": \"d\", \"definition\": \"x\", \"unit_id\": 0 } ] } ],\n"
		"  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\",\n"
		"      \"qos\": 9 } ] }\n", &d);
	CHECK(c == NULL);
	CHECK_AT(&d, "gateway.id: expected", "/fieldbridge.json", "gateway", "id");
	CHECK_AT(&d, "buses[0] (b).baud: expected", "/fieldbridge.json", "buses[0]", "baud");
	CHECK_AT(&d, "unknown field \"colour\"", "/fieldbridge.json", "buses[0]", "colour");
	CHECK_AT(&d, "(d).unit_id: expected 1..247, got 0", "/fieldbridge.json",
		 "buses[0].devices[0]", "unit_id");
	CHECK_AT(&d, "connections[0] (ha).qos: expected 0..2", "/fieldbridge.json",
		 "connections[0]", "qos");
	/* The message itself is what --check prints, unchanged. */
	CHECK(diag_find(&d, FB_SEV_ERROR, "fieldbridge.json: buses[0] (b).devices[0] (d).unit_id: "
			"expected 1..247, got 0") != NULL);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void dropin_file_object_is_the_top_level(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "buses.d/bad.json",
		 "{ \"transport\": \"tcp\", \"host\": \"h\", \"port\": 0,\n"
		 "  \"devices\": [ { \"id\": \"m1\", \"definition\": \"x\", \"unit_id\": 300 } ] }",
		 0644, NULL, 0);
	td_write(&t, "buses.d/broken.json", "{ \"transport\": \"tcp\",\n  oops }", 0644, NULL, 0);
	c = td_load_text(&t, "{ \"connections\": [] }\n", &d);
	CHECK(c == NULL);
	CHECK_AT(&d, "bus (bad).port: expected", "buses.d/bad.json", "", "port");
	CHECK_AT(&d, "bus (bad).devices[0] (m1).unit_id", "buses.d/bad.json", "devices[0]",
		 "unit_id");
	/* A syntax error is about the file, not one field. */
	CHECK_AT(&d, "buses.d/broken.json:2:", "buses.d/broken.json", NULL, NULL);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void users_file_errors_carry_their_place(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char users[512];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "users.json",
		 "{ \"users\": [ { \"name\": \"u\", \"password_hash\": \"plain\",\n"
		 "  \"rights\": { \"m1\": \"all\" } } ] }", 0600, users, sizeof(users));
	c = td_load_text(&t,
		"{ \"gateway\": { \"users_file\": \"users.json\" },\n"
		"  \"buses\": [ { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		"      \"devices\": [] } ],\n"
		"  \"connections\": [ { \"name\": \"ha\", \"user\": \"nobody\", \"broker\": \"h\" } ] }\n",
		&d);
	CHECK(c != NULL);
	if (c)
		fb_users_free(fb_config_load_users(c, &c->conns[0], &d));
	CHECK_AT(&d, ".password_hash: expected a crypt(3) hash", "/users.json", "users[0]",
		 "password_hash");
	CHECK_AT(&d, ".rights.m1: expected", "/users.json", "users[0]", "rights");
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

/* A device disabled for its definition points at the "definition" field. */
static void disabled_device_points_at_its_definition(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "devices/.keep", "", 0644, NULL, 0);
	c = td_load_text(&t,
		"{ \"gateway\": { \"definition_dirs\": [ \"devices\" ] },\n"
		"  \"buses\": [ { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		"      \"devices\": [ { \"id\": \"a\", \"definition\": \"x\" },\n"
		"                     { \"id\": \"m2\", \"definition\": \"missing\" } ] } ],\n"
		"  \"connections\": [] }\n", &d);
	CHECK(c != NULL);
	if (c)
		fb_config_load_definitions(c, NULL, &d);
	CHECK_AT(&d, "devices[1] (m2).definition: definition \"missing\"", "/fieldbridge.json",
		 "buses[0].devices[1]", "definition");
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

int main(void)
{
	RUN_TEST(field_errors_carry_file_path_and_field);
	RUN_TEST(dropin_file_object_is_the_top_level);
	RUN_TEST(users_file_errors_carry_their_place);
	RUN_TEST(disabled_device_points_at_its_definition);
	return fb_test_finish();
}
