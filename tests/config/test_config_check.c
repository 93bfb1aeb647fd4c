/* fb_config_check, the --check every program shares: the checks asked for
 * run on the instance asked for, and nothing is printed. */
#include "config_testutil.h"

/* An RTU line at 2400 baud cannot poll an SDM120 every 200 ms (about 290%
 * of the line); the users file lacks connection ha's user. */
static void write_gateway(struct tdir *t, char *main_path, size_t len)
{
	char text[4096];

	td_write(t, "users.json",
		 "{ \"users\": [ { \"name\": \"u\", \"password_hash\":\n"
		 "  \"$6$examplesalt$cS.PA.EPbEn/7B0.9fi6.xqMMLGANC4xfG.r7UseXKgV2Hmjh"
		 "S7uu9LBJW0iYBKJPD.Eu5QL8qTYRIzwWcGcQ1\" } ] }",
		 0600, NULL, 0);
	snprintf(text, sizeof(text),
		 "{ \"gateway\": { \"definition_dirs\": [\"%s/devices\"], \"users_file\": \"users.json\" },\n"
		 "  \"buses\": [ { \"name\": \"slow\", \"transport\": \"rtu\", \"device\": \"/dev/null\",\n"
		 "      \"baud\": 2400, \"poll_interval_ms\": 200,\n"
		 "      \"devices\": [ { \"id\": \"m1\", \"definition\": \"eastron-sdm120\", \"unit_id\": 1 } ] },\n"
		 "    { \"name\": \"t\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		 "      \"devices\": [ { \"id\": \"m2\", \"definition\": \"eastron-sdm120\" } ] } ],\n"
		 "  \"connections\": [ { \"name\": \"ha\", \"user\": \"nobody\", \"broker\": \"h\" },\n"
		 "    { \"name\": \"hb\", \"user\": \"u\", \"broker\": \"h2\" } ] }\n", FB_SOURCE_DIR);
	td_write(t, "fieldbridge.json", text, 0600, main_path, len);
}

#define BUDGET "bus slow: airtime budget: needs"
#define NO_USER "connection (ha).user: expected a user defined in"

static const struct fb_config_checks all = { .airtime = true, .users = true };

static void a_bus_gets_its_budget_and_no_users_check(void)
{
	struct tdir t;
	struct fb_diag d;
	char path[512];
	const struct fb_diag_entry *e = NULL;

	td_make(&t);
	write_gateway(&t, path, sizeof(path));
	fb_diag_init(&d);
	fb_config_check(path, "bus", "slow", &all, &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, BUDGET);
	CHECK(diag_find(&d, FB_SEV_ERROR, NO_USER) == NULL);
	CHECK_EQ_INT(d.errors, 1);
	for (size_t i = 0; i < d.count; i++)
		if (strstr(d.entries[i].message, BUDGET))
			e = &d.entries[i];
	CHECK(e && e->path && !strcmp(e->path, "buses[0]"));
	CHECK(e && e->field && !strcmp(e->field, "poll_interval_ms"));
	fb_diag_free(&d);

	/* The TCP bus has no airtime budget. */
	fb_diag_init(&d);
	fb_config_check(path, "bus", "t", &all, &d);
	CHECK_EQ_INT(d.errors, 0);
	fb_diag_free(&d);
	td_remove(&t);
}

static void only_the_checks_asked_for_run(void)
{
	struct tdir t;
	struct fb_diag d;
	char path[512];

	td_make(&t);
	write_gateway(&t, path, sizeof(path));
	fb_diag_init(&d);
	fb_config_check(path, "bus", NULL, NULL, &d);
	CHECK_EQ_INT(d.errors, 0); /* definitions load: nothing else asked */
	fb_diag_free(&d);

	fb_diag_init(&d);
	fb_config_check(path, "connection", "ha",
			&(const struct fb_config_checks){ .users = true }, &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, NO_USER);
	CHECK(diag_find(&d, FB_SEV_ERROR, BUDGET) == NULL);
	fb_diag_free(&d);

	fb_diag_init(&d);
	fb_config_check(path, "connection", "hb", &all, &d);
	CHECK(diag_find(&d, FB_SEV_ERROR, NO_USER) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, BUDGET); /* a connection exports every bus */
	fb_diag_free(&d);
	td_remove(&t);
}

static void everything_and_unknown_instances(void)
{
	struct tdir t;
	struct fb_diag d;
	char path[512];

	td_make(&t);
	write_gateway(&t, path, sizeof(path));
	fb_diag_init(&d);
	fb_config_check(path, NULL, NULL, &all, &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, BUDGET);
	CHECK_DIAG(&d, FB_SEV_ERROR, NO_USER);
	CHECK_EQ_INT(d.errors, 2);
	fb_diag_free(&d);

	fb_diag_init(&d);
	fb_config_check(path, "bus", "nope", &all, &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json: no bus named \"nope\"");
	CHECK_EQ_INT(d.errors, 1);
	fb_diag_free(&d);

	fb_diag_init(&d);
	fb_config_check(path, "connection", "nope", &all, &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json: no connection named \"nope\"");
	CHECK_EQ_INT(d.errors, 1);
	fb_diag_free(&d);
	td_remove(&t);
}

int main(void)
{
	RUN_TEST(a_bus_gets_its_budget_and_no_users_check);
	RUN_TEST(only_the_checks_asked_for_run);
	RUN_TEST(everything_and_unknown_instances);
	return fb_test_finish();
}
