/* SPDX-License-Identifier: Apache-2.0 */
/* Users file: loading, validation messages, rights precedence, passwords. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "testlib.h"
#include "users.h"

static char dir[256];

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		exit(1);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static const char *diag_text(const struct fb_diag *d)
{
	static char buf[8192];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < d->count && used < sizeof(buf); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s\n",
					 d->entries[i].message);
	return buf;
}

static void test_rights_most_specific_rule_wins(void)
{
	struct fb_diag d;
	const char *p = write_file("u1.json",
		"// comments are allowed\n"
		"{ \"users\": [ { \"name\": \"ha\", \"rights\": {\n"
		"   \"*\": \"read\", \"relays\": \"write\", \"relays/relay_8\": \"none\",\n"
		"   \"meter*\": \"none\", \"meter_1/voltage\": \"read\", \"*/secret_*\": \"none\",\n"
		"   \"panel/set?oint\": \"write\" } },\n"
		"  { \"name\": \"nobody\" } ] }\n", 0600);
	struct fb_users *u;
	const struct fb_user *ha, *nobody;

	fb_diag_init(&d);
	u = fb_users_load(p, &d);
	CHECK(u != NULL);
	CHECK_EQ_INT(d.count, 0);
	ha = fb_users_find(u, "ha");
	nobody = fb_users_find(u, "nobody");
	CHECK(ha && nobody);
	CHECK(fb_users_find(u, "other") == NULL);
	CHECK_EQ_INT(fb_users_count(u), 2);
	CHECK_EQ_INT(fb_user_access(ha, "panel", "counter"), FB_ACCESS_READ);
	CHECK_EQ_INT(fb_user_access(ha, "relays", "relay_1"), FB_ACCESS_WRITE);
	CHECK_EQ_INT(fb_user_access(ha, "relays", "relay_8"), FB_ACCESS_NONE);
	CHECK_EQ_INT(fb_user_access(ha, "meter_2", "voltage"), FB_ACCESS_NONE);
	CHECK_EQ_INT(fb_user_access(ha, "meter_1", "voltage"), FB_ACCESS_READ);
	CHECK_EQ_INT(fb_user_access(ha, "meter_1", "current"), FB_ACCESS_NONE);
	CHECK_EQ_INT(fb_user_access(ha, "relays", "secret_x"), FB_ACCESS_NONE);
	CHECK_EQ_INT(fb_user_access(ha, "panel", "setpoint"), FB_ACCESS_WRITE);
	/* no rules: nothing */
	CHECK_EQ_INT(fb_user_access(nobody, "panel", "counter"), FB_ACCESS_NONE);
	CHECK_EQ_INT(fb_user_access(NULL, "panel", "counter"), FB_ACCESS_NONE);
	fb_users_free(u);
	fb_diag_free(&d);
}

static void test_later_equal_rule_overrides(void)
{
	struct fb_diag d;
	const char *p = write_file("u2.json",
		"{ \"users\": [ { \"name\": \"ha\", \"rights\": { \"a*\": \"write\", \"*b\": \"read\" } } ] }",
		0600);
	struct fb_users *u;

	fb_diag_init(&d);
	u = fb_users_load(p, &d);
	CHECK(u != NULL);
	CHECK_EQ_INT(fb_user_access(fb_users_find(u, "ha"), "ab", "x"), FB_ACCESS_READ);
	fb_users_free(u);
	fb_diag_free(&d);
}

static void test_errors_name_the_field(void)
{
	struct fb_diag d;
	const char *p = write_file("bad.json",
		"{ \"users\": [ { \"name\": \"ha\", \"password_hash\": \"plaintext-pw\",\n"
		"  \"rights\": { \"a/b/c\": \"read\", \"x\": \"admin\" }, \"colour\": 1 },\n"
		"  { \"name\": \"ha\" }, { \"name\": \"bad name\" }, 5 ] }", 0600);
	struct fb_users *u;
	const char *t;

	fb_diag_init(&d);
	u = fb_users_load(p, &d);
	CHECK(u == NULL);
	t = diag_text(&d);
	CHECK_STR_CONTAINS(t, "users[0].password_hash: expected a crypt(3) hash");
	CHECK(strstr(t, "plaintext-pw") == NULL); /* never echo a secret */
	CHECK_STR_CONTAINS(t, "users[0].rights: expected a key \"device\" or \"device/point\"");
	CHECK_STR_CONTAINS(t, "users[0].rights.x: expected \"none\", \"read\" or \"write\"");
	CHECK_STR_CONTAINS(t, "unknown field \"colour\"");
	CHECK_STR_CONTAINS(t, "users[1].name: duplicate user \"ha\"");
	CHECK_STR_CONTAINS(t, "users[2].name: expected 1..64 characters");
	CHECK_STR_CONTAINS(t, "expected a user object");
	fb_diag_free(&d);

	fb_diag_init(&d);
	CHECK(fb_users_load(write_file("nousers.json", "{ }", 0600), &d) == NULL);
	CHECK_STR_CONTAINS(diag_text(&d), "users: expected an array");
	fb_diag_free(&d);

	fb_diag_init(&d);
	CHECK(fb_users_load("/nonexistent/users.json", &d) == NULL);
	CHECK_STR_CONTAINS(diag_text(&d), "/nonexistent/users.json");
	fb_diag_free(&d);
}

static void test_password_hashes_verify_and_a_readable_file_warns(void)
{
	char hash[256], json[1024];
	struct fb_diag d;
	struct fb_users *u;
	const struct fb_user *usr;

	CHECK_EQ_INT(fb_users_hash_password("correct horse", hash, sizeof(hash)), 0);
	CHECK(!strncmp(hash, "$6$", 3));
	snprintf(json, sizeof(json),
		 "{ \"users\": [ { \"name\": \"web\", \"password_hash\": \"%s\" } ] }", hash);
	/* world-readable hashes: a warning naming chmod */
	fb_diag_init(&d);
	u = fb_users_load(write_file("pw.json", json, 0644), &d);
	CHECK(u != NULL);
	CHECK_EQ_INT(d.warnings, 1);
	CHECK_STR_CONTAINS(diag_text(&d), "chmod 600");
	usr = fb_users_find(u, "web");
	CHECK(fb_user_password_ok(usr, "correct horse"));
	CHECK(!fb_user_password_ok(usr, "correct horsE"));
	CHECK(!fb_user_password_ok(usr, ""));
	CHECK(!fb_user_password_ok(usr, NULL));
	fb_users_free(u);
	fb_diag_free(&d);
	CHECK_EQ_INT(fb_users_hash_password("x", hash, 10), -1);
}

int main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fb-users-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	RUN_TEST(test_rights_most_specific_rule_wins);
	RUN_TEST(test_later_equal_rule_overrides);
	RUN_TEST(test_errors_name_the_field);
	RUN_TEST(test_password_hashes_verify_and_a_readable_file_warns);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return fb_test_finish();
}
