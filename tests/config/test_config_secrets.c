/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets: inline or *_file, one trailing newline stripped, a warning when
 * the file holding one is open to group or others, and never a secret in
 * any message. */
#include "config_testutil.h"

#define SECRET "hunter2-Zq9"

/* Fails if any message of d contains the secret. */
static void check_no_leak(const struct fb_diag *d)
{
	for (size_t i = 0; i < d->count; i++) {
		bool leak = strstr(d->entries[i].message, SECRET) != NULL ||
			    strstr(d->entries[i].message, "hunter2") != NULL;

		CHECK(!leak);
		if (leak)
			fprintf(stderr, "    leaked in: %s\n", d->entries[i].message);
	}
}

static struct fb_config *load_conn(struct tdir *t, const char *fields, mode_t main_mode,
				   struct fb_diag *d)
{
	char text[2048], p[512];

	snprintf(text, sizeof(text),
		 "{ \"buses\": [ { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		 "  \"devices\": [ { \"id\": \"d\", \"definition\": \"x\" } ] } ],\n"
		 "  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", %s } ] }\n",
		 fields);
	td_write(t, "fieldbridge.json", text, main_mode, p, sizeof(p));
	return fb_config_load(p, d);
}

static void password_file_is_read_and_newline_stripped(void)
{
	static const struct { const char *content, *want; } cases[] = {
		{ SECRET "\n", SECRET },
		{ SECRET "\r\n", SECRET },
		{ SECRET, SECRET },
		{ SECRET "\n\n", SECRET "\n" }, /* one newline only */
		{ " " SECRET " \n", " " SECRET " " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tdir t;
		struct fb_diag d;
		struct fb_config *c;

		td_make(&t);
		fb_diag_init(&d);
		td_write(&t, "secrets/ha.pass", cases[i].content, 0600, NULL, 0);
		c = load_conn(&t, "\"auth_user\": \"fb\", \"auth_password_file\": \"secrets/ha.pass\"",
			      0644, &d);
		CHECK(c != NULL);
		CHECK_EQ_INT(d.count, 0);
		if (c)
			CHECK(!strcmp(c->conns[0].auth_password, cases[i].want));
		check_no_leak(&d);
		fb_config_free(c);
		fb_diag_free(&d);
		td_remove(&t);
	}
}

static void inline_password_is_stored(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	c = load_conn(&t, "\"auth_user\": \"fb\", \"auth_password\": \"" SECRET "\"", 0600, &d);
	CHECK(c != NULL);
	CHECK_EQ_INT(d.count, 0); /* 0600: no warning */
	if (c)
		CHECK(!strcmp(c->conns[0].auth_password, SECRET));
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void open_secret_file_warns(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char p[512], want[2048];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "ha.pass", SECRET "\n", 0644, p, sizeof(p));
	c = load_conn(&t, "\"auth_user\": \"fb\", \"auth_password_file\": \"ha.pass\"", 0644, &d);
	CHECK(c != NULL); /* a warning, not an error */
	CHECK_EQ_INT(d.errors, 0);
	CHECK_EQ_INT(d.warnings, 1);
	snprintf(want, sizeof(want), "%s: holds a secret (auth_password_file) but is accessible "
		 "by group or others (mode 0644): run \"chmod 600 %s\"", p, p);
	CHECK_DIAG(&d, FB_SEV_WARNING, want);
	check_no_leak(&d);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);

	/* group-readable only, key password */
	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "c.crt", "crt", 0644, NULL, 0);
	td_write(&t, "c.key", "key", 0600, NULL, 0);
	td_write(&t, "key.pass", SECRET, 0640, p, sizeof(p));
	c = load_conn(&t, "\"ssl\": \"on\", \"ssl_client_crt\": \"c.crt\", \"ssl_client_key\": \"c.key\", "
		      "\"ssl_client_key_password_file\": \"key.pass\"", 0644, &d);
	CHECK(c != NULL);
	if (c)
		CHECK(!strcmp(c->conns[0].ssl_client_key_password, SECRET));
	snprintf(want, sizeof(want), "%s: holds a secret (ssl_client_key_password_file) but is "
		 "accessible by group or others (mode 0640): run \"chmod 600 %s\"", p, p);
	CHECK_DIAG(&d, FB_SEV_WARNING, want);
	check_no_leak(&d);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void inline_secret_in_open_main_file_warns_once(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char p[512], want[2048];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "c.crt", "crt", 0644, NULL, 0);
	td_write(&t, "c.key", "key", 0600, NULL, 0);
	c = load_conn(&t, "\"auth_user\": \"fb\", \"auth_password\": \"" SECRET "\", \"ssl\": \"on\", "
		      "\"ssl_client_crt\": \"c.crt\", \"ssl_client_key\": \"c.key\", "
		      "\"ssl_client_key_password\": \"" SECRET "\"", 0604, &d);
	CHECK(c != NULL);
	CHECK_EQ_INT(d.warnings, 1);
	td_path(&t, "fieldbridge.json", p, sizeof(p));
	snprintf(want, sizeof(want), "%s: holds an inline secret (auth_password) but is accessible "
		 "by group or others (mode 0604): run \"chmod 600 %s\", or move the secret to "
		 "auth_password_file", p, p);
	CHECK_DIAG(&d, FB_SEV_WARNING, want);
	check_no_leak(&d);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

static void inline_secret_in_dropin_file_warns(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;
	char p[512];

	td_make(&t);
	fb_diag_init(&d);
	td_write(&t, "connections.d/ha.json",
		 "{ \"user\": \"u\", \"broker\": \"h\", \"auth_user\": \"fb\", \"auth_password\": \"" SECRET "\" }",
		 0644, p, sizeof(p));
	c = td_load_text(&t, "{}", &d);
	CHECK(c != NULL);
	CHECK_DIAG(&d, FB_SEV_WARNING, "connections.d/ha.json: holds an inline secret (auth_password)");
	check_no_leak(&d);
	fb_config_free(c);
	fb_diag_free(&d);
	td_remove(&t);
}

/* Every refusal involving a secret: the value must not appear. */
static void secrets_never_reach_messages(void)
{
	static const char *const cases[] = {
		"\"auth_password\": \"" SECRET "\"",                        /* no auth_user */
		"\"auth_user\": \"a\", \"auth_password\": \"" SECRET "\", \"auth_password_file\": \"p\"",
		"\"ssl_client_key_password\": \"" SECRET "\"",              /* no key */
		"\"auth_user\": \"a\", \"auth_password\": \"" SECRET "\", \"qos\": 5",
		"\"auth_user\": \"a\", \"auth_password\": \"" SECRET "\", \"auth_pasword\": \"" SECRET "\"",
		"\"auth_user\": \"a\", \"auth_password_file\": \"p\"",    /* file holds the secret */
		"\"auth_user\": \"a\", \"auth_password_file\": \"nul.pass\"",
		"\"auth_user\": \"a\", \"auth_password\": [\"" SECRET "\"]",
		"\"auth_user\": \"a\", \"ssl_client_key_password_file\": \"p\", \"ssl\": \"on\"",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tdir t;
		struct fb_diag d;
		struct fb_config *c;

		td_make(&t);
		fb_diag_init(&d);
		td_write(&t, "p", SECRET "\n", 0666, NULL, 0);
		{
			char p[512];
			FILE *f;

			td_path(&t, "nul.pass", p, sizeof(p));
			f = fopen(p, "wb");
			fwrite(SECRET "\0x", 1, sizeof(SECRET) + 1, f);
			fclose(f);
		}
		c = load_conn(&t, cases[i], 0644, &d);
		CHECK(d.count > 0);
		check_no_leak(&d);
		fb_config_free(c);
		fb_diag_free(&d);
		td_remove(&t);
	}
}

/* cJSON's syntax error quotes the text at the error; on a password line
 * that would be the password. */
static void syntax_error_near_a_secret_is_not_quoted(void)
{
	static const char *const texts[] = {
		"{ \"connections\": [ { \"name\": \"ha\", \"auth_password\" \"" SECRET "\" } ] }",
		"{ \"connections\": [ { \"name\": \"ha\",\n  \"auth_user\": \"a\"\n  \"auth_password\": \"" SECRET "\" } ] }",
		"{ \"connections\": [ { \"name\": \"ha\", \"ssl_client_key_password\": \"" SECRET "\",, } ] }",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct tdir t;
		struct fb_diag d;
		struct fb_config *c;

		td_make(&t);
		fb_diag_init(&d);
		c = td_load_text(&t, texts[i], &d);
		CHECK(c == NULL);
		CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json:");
		check_no_leak(&d);
		fb_config_free(c);
		fb_diag_free(&d);
		td_remove(&t);
	}
}

int main(void)
{
	RUN_TEST(password_file_is_read_and_newline_stripped);
	RUN_TEST(inline_password_is_stored);
	RUN_TEST(open_secret_file_warns);
	RUN_TEST(inline_secret_in_open_main_file_warns_once);
	RUN_TEST(inline_secret_in_dropin_file_warns);
	RUN_TEST(secrets_never_reach_messages);
	RUN_TEST(syntax_error_near_a_secret_is_not_quoted);
	return fb_test_finish();
}
