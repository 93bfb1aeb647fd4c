/* SPDX-License-Identifier: Apache-2.0 */
/* What a configuration, users or definition file may not get away with:
 * out-of-range numbers, duplicate keys, FIFOs and oversized files where a
 * file is expected, and syntax errors that would quote a secret.  Each case
 * ends in an error naming the file and the field or line. */
#include <signal.h>
#include <sys/types.h>

#include "config_testutil.h"
#include "config_tls.h"
#include "jsonfile.h"
#include "model.h"
#include "users.h"

#define SECRET "TopSecret-4711"

static void check_no_secret(const struct fb_diag *d)
{
	for (size_t i = 0; i < d->count; i++) {
		bool leak = strstr(d->entries[i].message, SECRET) != NULL ||
			    strstr(d->entries[i].message, "4711") != NULL;

		CHECK(!leak);
		if (leak)
			fprintf(stderr, "    leaked in: %s\n", d->entries[i].message);
	}
}

/* A secret on the line after its key, unquoted; a quoted one on a line
 * that does not say "password"; one right at the error. */
static void syntax_error_never_echoes_a_secret(void)
{
	static const char *const texts[] = {
		"{ \"connections\": [ { \"name\": \"ha\", \"auth_password\":\n"
		"   " SECRET " } ] }\n",
		"{ \"connections\": [ { \"name\": \"ha\", \"auth_user\": \"u\", \"auth_password\":\n"
		"   \"" SECRET "\" \"user\": \"x\" } ] }\n",
		"{ \"connections\": [ { \"name\": \"ha\",\n"
		"   \"ssl_client_key_password\": \"" SECRET "\" 4711 } ] }\n",
		"{ \"connections\": [ { \"name\": \"ha\", \"auth_password\": \"" SECRET "\n",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct tdir t;
		struct fb_diag d;

		td_make(&t);
		fb_diag_init(&d);
		CHECK(td_load_text(&t, texts[i], &d) == NULL);
		CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json:");
		check_no_secret(&d);
		fb_diag_free(&d);
		td_remove(&t);
	}
}

/* The users file holds password hashes: the same masking applies. */
static void users_syntax_error_never_echoes_a_hash(void)
{
	struct tdir t;
	struct fb_diag d;
	char p[512];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "users.json", "{ \"users\": [ { \"name\": \"ha\", \"password_hash\":\n"
		 "  $6$" SECRET " } ] }\n", 0600, p, sizeof(p));
	CHECK(fb_users_load(p, &d) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "users.json:2:");
	check_no_secret(&d);
	fb_diag_free(&d);
	td_remove(&t);
}

/* The users file is as strict as the configuration: a typo in "rights"
 * would leave a user without rights. */
static void unknown_field_in_users_file_is_an_error_with_a_suggestion(void)
{
	struct tdir t;
	struct fb_diag d;
	char p[512];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "users.json", "{ \"_comment\": \"x\", \"users\": [ { \"name\": \"ha\", "
		 "\"rigths\": { \"*\": \"read\" } } ] }\n", 0600, p, sizeof(p));
	CHECK(fb_users_load(p, &d) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "users.json: users[0]: unknown field \"rigths\": "
		   "did you mean \"rights\"?");
	CHECK_EQ_INT(d.errors, 1);
	fb_diag_free(&d);
	td_remove(&t);
}

/* (long long)1e30 is undefined behaviour: the range is checked on the
 * double, and the message shows the number as written. */
static void out_of_range_number_is_an_error_naming_the_field(void)
{
	static const struct { const char *v, *got; } cases[] = {
		{ "1e30", "got 1e+30" }, { "-1e30", "got -1e+30" }, { "1e999", "got inf" },
		{ "-1e999", "got -inf" }, { "9223372036854775808", "got 9.22337e+18" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tdir t;
		struct fb_diag d;
		char text[512], want[256];

		td_make(&t);
		fb_diag_init(&d);
		snprintf(text, sizeof(text), "{ \"connections\": [ { \"name\": \"ha\", \"user\": "
			 "\"u\", \"broker\": \"h\", \"port\": %s } ] }", cases[i].v);
		snprintf(want, sizeof(want), "fieldbridge.json: connections[0] (ha).port: "
			 "expected 1..65535, %s", cases[i].got);
		CHECK(td_load_text(&t, text, &d) == NULL);
		CHECK_DIAG(&d, FB_SEV_ERROR, want);
		fb_diag_free(&d);
		td_remove(&t);
	}
}

/* The smallest definition with an infinite integer field. */
static void out_of_range_number_in_a_definition_names_the_field(void)
{
	struct tdir t;
	struct fb_diag d;
	char p[512];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "x.json", "{\"manufacturer\":\"m\",\"model\":\"m\",\"protocol\":\"modbus\","
		 "\"max_gap\":1e999,\"points\":[]}", 0644, p, sizeof(p));
	CHECK(fb_model_load(p, &d) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "x.json: max_gap: expected 0..");
	CHECK_DIAG(&d, FB_SEV_ERROR, "got inf");
	fb_diag_free(&d);
	td_remove(&t);
}

/* cJSON keeps the first of two keys, jq and Python the last: the gateway
 * would run trust_all while every tool shows "on". */
static void duplicate_key_is_an_error_naming_both_lines(void)
{
	struct tdir t;
	struct fb_diag d;
	char p[512];

	td_make(&t);
	fb_diag_init(&d);
	CHECK(td_load_text(&t,
		"{ \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\",\n"
		"    \"ssl\": \"trust_all\",\n"
		"    // a comment does not move the lines\n"
		"    \"ssl\": \"on\" } ] }\n", &d) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json:4:5: duplicate key \"ssl\" (also at line 2)");
	CHECK_EQ_INT(d.errors, 1);
	fb_diag_free(&d);

	/* The same key in two objects is fine; in a users entry it is not. */
	fb_diag_init(&d);
	td_write(&t, "users.json", "{ \"users\": [ { \"name\": \"viewer\", \"rights\": {},\n"
		 "  \"name\": \"admin\" }, { \"name\": \"x\", \"rights\": {} } ] }\n",
		 0600, p, sizeof(p));
	CHECK(fb_users_load(p, &d) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "users.json:2:3: duplicate key \"name\" (also at line 1)");
	CHECK_EQ_INT(d.errors, 1);
	fb_diag_free(&d);

	fb_diag_init(&d);
	td_write(&t, "def.json", "{ \"manufacturer\": \"m\", \"model\": \"m\",\n"
		 "  \"protocol\": \"modbus\", \"points\": [],\n  \"model\": \"n\" }\n",
		 0644, p, sizeof(p));
	CHECK(fb_model_load(p, &d) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "def.json:3:3: duplicate key \"model\" (also at line 1)");
	fb_diag_free(&d);
	td_remove(&t);
}

/* Many keys in one object: found by sorting, and listed at most ten
 * times with a count of the rest. */
static void many_duplicate_keys_are_counted(void)
{
	struct fb_diag d;
	char *text = malloc(400000);
	size_t used = 0;

	used += (size_t)sprintf(text, "{");
	for (int i = 0; i < 20000; i++)
		used += (size_t)sprintf(text + used, "%s\"k%d\": 1", i ? ", " : "", i % 19980);
	sprintf(text + used, "}");
	fb_diag_init(&d);
	CHECK(fb_json_parse_text("many.json", text, &d) == NULL);
	CHECK_EQ_INT(d.errors, 11);
	CHECK_DIAG(&d, FB_SEV_ERROR, "many.json: 10 more duplicate keys not listed");
	fb_diag_free(&d);
	free(text);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "a FIFO blocked the loader (open without O_NONBLOCK)\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* Opening a FIFO for reading waits for a writer: --check hung for good.
 * An alarm turns a hang into a failure. */
static void fifo_where_a_file_is_expected_is_an_error(void)
{
	struct tdir t;
	struct fb_diag d;
	char p[512];
	const struct fb_config_checks all = { .users = true, .tls = fb_config_tls_check };

	signal(SIGALRM, on_alarm);
	alarm(20);
	td_make(&t);
	td_path(&t, "pw.fifo", p, sizeof(p));
	CHECK(mkfifo(p, 0600) == 0);
	td_path(&t, "ca.fifo", p, sizeof(p));
	CHECK(mkfifo(p, 0600) == 0);
	td_path(&t, "users.fifo", p, sizeof(p));
	CHECK(mkfifo(p, 0600) == 0);
	td_path(&t, "devices", p, sizeof(p));
	CHECK(mkdir(p, 0755) == 0);
	td_path(&t, "devices/x.json", p, sizeof(p));
	CHECK(mkfifo(p, 0600) == 0);

	fb_diag_init(&d);
	td_write(&t, "fieldbridge.json",
		 "{ \"gateway\": { \"users_file\": \"users.fifo\" },\n"
		 "  \"buses\": [ { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		 "    \"devices\": [ { \"id\": \"d\", \"definition\": \"x\" } ] } ],\n"
		 "  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\",\n"
		 "    \"auth_user\": \"a\", \"auth_password_file\": \"pw.fifo\",\n"
		 "    \"ssl\": \"on\", \"ssl_server_crt\": \"ca.fifo\" } ] }\n", 0600, p, sizeof(p));
	fb_config_check(p, NULL, NULL, &all, &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "auth_password_file: \"");
	CHECK_DIAG(&d, FB_SEV_ERROR, "pw.fifo\": expected a regular file");
	CHECK_DIAG(&d, FB_SEV_ERROR, "ssl_server_crt: expected a regular file");
	fb_diag_free(&d);

	/* Without the connection's errors the users file and the definition
	 * are read too. */
	fb_diag_init(&d);
	td_write(&t, "fieldbridge.json",
		 "{ \"gateway\": { \"users_file\": \"users.fifo\" },\n"
		 "  \"buses\": [ { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		 "    \"devices\": [ { \"id\": \"d\", \"definition\": \"x\" } ] } ],\n"
		 "  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\" } ] }\n",
		 0600, p, sizeof(p));
	fb_config_check(p, NULL, NULL, &all, &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "users.fifo: cannot read: expected a regular file");
	CHECK_DIAG(&d, FB_SEV_ERROR, "x.json: cannot read: expected a regular file");
	fb_diag_free(&d);

	/* The main file itself. */
	fb_diag_init(&d);
	td_path(&t, "main.fifo", p, sizeof(p));
	CHECK(mkfifo(p, 0600) == 0);
	CHECK(fb_config_load(p, &d) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "main.fifo: cannot read: expected a regular file");
	fb_diag_free(&d);
	alarm(0);
	td_remove(&t);
}

/* A 17 MiB file is not a configuration: refused before it is read. */
static void oversized_file_is_refused_naming_the_cap(void)
{
	struct tdir t;
	struct fb_diag d;
	char p[512];
	int fd;

	td_make(&t);
	td_write(&t, "fieldbridge.json", "{}", 0600, p, sizeof(p));
	fd = open(p, O_WRONLY);
	CHECK(fd >= 0 && ftruncate(fd, 17 * 1024 * 1024) == 0);
	close(fd);
	fb_diag_init(&d);
	CHECK(fb_config_load(p, &d) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json: cannot read: expected a file of at "
		   "most 16 MiB");
	fb_diag_free(&d);
	fb_diag_init(&d);
	CHECK(fb_users_load(p, &d) == NULL);
	CHECK_DIAG(&d, FB_SEV_ERROR, "at most 16 MiB");
	fb_diag_free(&d);
	td_remove(&t);
}

int main(void)
{
	RUN_TEST(syntax_error_never_echoes_a_secret);
	RUN_TEST(users_syntax_error_never_echoes_a_hash);
	RUN_TEST(unknown_field_in_users_file_is_an_error_with_a_suggestion);
	RUN_TEST(out_of_range_number_is_an_error_naming_the_field);
	RUN_TEST(out_of_range_number_in_a_definition_names_the_field);
	RUN_TEST(duplicate_key_is_an_error_naming_both_lines);
	RUN_TEST(many_duplicate_keys_are_counted);
	RUN_TEST(oversized_file_is_refused_naming_the_cap);
	/* Last: on a loader that blocks, its alarm ends the program. */
	RUN_TEST(fifo_where_a_file_is_expected_is_an_error);
	return fb_test_finish();
}
