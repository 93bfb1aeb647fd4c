/* SPDX-License-Identifier: Apache-2.0 */
/* fb_config_check, the --check every program shares: the checks asked for
 * run on the instance asked for, and nothing is printed. */
#include "config_testutil.h"
#include "config_tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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

static const struct fb_config_checks all = {
	.airtime = true, .users = true, .tls = fb_config_tls_check,
};

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


/* A P-256 key and a self-signed certificate valid from `from_days` to
 * `to_days` (relative to now) written to dir/<name>.crt and .key (the key
 * encrypted with `password` unless NULL). */
static void make_cert(const struct tdir *t, const char *name, long from_days, long to_days,
		      const char *password)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	char p[512];
	FILE *f;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_sign(x, k, EVP_sha256());
	snprintf(p, sizeof(p), "%s/%s.crt", t->path, name);
	f = fopen(p, "w");
	PEM_write_X509(f, x);
	fclose(f);
	snprintf(p, sizeof(p), "%s/%s.key", t->path, name);
	f = fopen(p, "w");
	fchmod(fileno(f), 0600);
	PEM_write_PrivateKey(f, k, password ? EVP_aes_128_cbc() : NULL, NULL, 0, NULL,
			     (void *)password);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void check_conn(const struct tdir *t, const char *fields, struct fb_diag *d)
{
	char text[2048], p[512];

	snprintf(text, sizeof(text),
		 "{ \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\",\n"
		 "    \"ssl\": \"on\", %s } ] }\n", fields);
	td_write(t, "fieldbridge.json", text, 0600, p, sizeof(p));
	fb_diag_init(d);
	fb_config_check(p, "connection", "ha",
			&(const struct fb_config_checks){ .tls = fb_config_tls_check }, d);
}

/* Problems the exporter would otherwise meet only when it connects. */
static void tls_files_are_checked_offline(void)
{
	struct tdir t;
	struct fb_diag d;

	td_make(&t);
	make_cert(&t, "ok", -1, 30, NULL);
	make_cert(&t, "enc", -1, 30, "right-pass");
	make_cert(&t, "old", -30, -1, NULL);
	td_write(&t, "garbage.crt", "not a certificate\n", 0644, NULL, 0);
	td_write(&t, "kp", "wrong-pass\n", 0600, NULL, 0);
	td_write(&t, "kp-right", "right-pass\n", 0600, NULL, 0);

	check_conn(&t, "\"ssl_server_crt\": \"ok.crt\", \"ssl_client_crt\": \"ok.crt\", "
		   "\"ssl_client_key\": \"ok.key\"", &d);
	CHECK_EQ_INT(d.count, 1); /* only "no buses configured" */
	if (d.count != 1)
		diag_dump(&d);
	fb_diag_free(&d);

	check_conn(&t, "\"ssl_server_crt\": \"garbage.crt\"", &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json: connections[0] (ha).ssl_server_crt: "
		   "expected a PEM certificate file");
	fb_diag_free(&d);

	check_conn(&t, "\"ssl_client_crt\": \"garbage.crt\", \"ssl_client_key\": \"garbage.crt\"",
		   &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "(ha).ssl_client_crt: expected a PEM certificate file");
	CHECK_DIAG(&d, FB_SEV_ERROR, "(ha).ssl_client_key: expected a PEM private key");
	fb_diag_free(&d);

	check_conn(&t, "\"ssl_client_crt\": \"ok.crt\", \"ssl_client_key\": \"enc.key\", "
		   "\"ssl_client_key_password\": \"right-pass\"", &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "(ha).ssl_client_key: \"");
	CHECK_DIAG(&d, FB_SEV_ERROR, "enc.key\" is not the key of ssl_client_crt \"");
	fb_diag_free(&d);

	check_conn(&t, "\"ssl_client_crt\": \"enc.crt\", \"ssl_client_key\": \"enc.key\", "
		   "\"ssl_client_key_password_file\": \"kp\"", &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "enc.key\": cannot decrypt the key: wrong "
		   "ssl_client_key_password");
	CHECK(diag_find(&d, FB_SEV_ERROR, "wrong-pass") == NULL);
	fb_diag_free(&d);

	check_conn(&t, "\"ssl_client_crt\": \"enc.crt\", \"ssl_client_key\": \"enc.key\"", &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "enc.key\" is encrypted: expected ssl_client_key_password");
	fb_diag_free(&d);

	check_conn(&t, "\"ssl_client_crt\": \"enc.crt\", \"ssl_client_key\": \"enc.key\", "
		   "\"ssl_client_key_password_file\": \"kp-right\"", &d);
	CHECK_EQ_INT(d.count, 1); /* only "no buses configured" */
	if (d.count != 1)
		diag_dump(&d);
	fb_diag_free(&d);

	check_conn(&t, "\"ssl_server_crt\": \"old.crt\", \"ssl_client_crt\": \"old.crt\", "
		   "\"ssl_client_key\": \"old.key\"", &d);
	CHECK_EQ_INT(d.errors, 0);
	CHECK_DIAG(&d, FB_SEV_WARNING, "(ha).ssl_client_crt: \"");
	CHECK_DIAG(&d, FB_SEV_WARNING, "old.crt\" expired on ");
	CHECK_DIAG(&d, FB_SEV_WARNING, "(ha).ssl_server_crt: \"");
	fb_diag_free(&d);
	td_remove(&t);
}

/* An SDM120 leaves the factory at 2400 baud; on a 9600 bus it never
 * answers, and --check said nothing. */
static void definition_serial_settings_differ_from_the_bus(void)
{
	struct tdir t;
	struct fb_diag d;
	char text[2048], p[512];

	td_make(&t);
	snprintf(text, sizeof(text),
		 "{ \"gateway\": { \"definition_dirs\": [\"%s/devices\"] },\n"
		 "  \"buses\": [ { \"name\": \"rs485\", \"transport\": \"rtu\", \"device\": \"/dev/null\",\n"
		 "    \"devices\": [ { \"id\": \"m1\", \"definition\": \"eastron-sdm120\", \"unit_id\": 1 } ] },\n"
		 "    { \"name\": \"slow\", \"transport\": \"rtu\", \"device\": \"/dev/null\", \"baud\": 2400,\n"
		 "    \"devices\": [ { \"id\": \"m2\", \"definition\": \"eastron-sdm120\", \"unit_id\": 1 } ] } ],\n"
		 "  \"connections\": [] }\n", FB_SOURCE_DIR);
	td_write(&t, "fieldbridge.json", text, 0600, p, sizeof(p));
	fb_diag_init(&d);
	fb_config_check(p, NULL, NULL, NULL, &d);
	CHECK_EQ_INT(d.errors, 0);
	CHECK_DIAG(&d, FB_SEV_WARNING, "fieldbridge.json: bus rs485: device m1: definition "
		   "\"eastron-sdm120\" documents 2400 baud 8N1 (the device's factory setting) "
		   "but the bus runs 9600 baud 8N1");
	CHECK(diag_find(&d, FB_SEV_WARNING, "device m2") == NULL);
	fb_diag_free(&d);
	td_remove(&t);
}

/* A typo such as "unitid" leaves a second device at unit 1, the first
 * one's: the default counts in the duplicate check. */
static void unit_id_given_by_default_twice_warns(void)
{
	struct tdir t;
	struct fb_diag d;
	struct fb_config *c;

	td_make(&t);
	fb_diag_init(&d);
	CHECK((c = td_load_text(&t,
		"{ \"buses\": [ { \"name\": \"b\", \"transport\": \"tcp\", \"host\": \"h\",\n"
		"    \"devices\": [ { \"id\": \"meter\", \"definition\": \"x\" },\n"
		"                   { \"id\": \"relays\", \"definition\": \"x\" } ] },\n"
		"    { \"name\": \"io\", \"transport\": \"gpio\", \"chip\": \"c\",\n"
		"    \"devices\": [ { \"id\": \"g1\", \"definition\": \"x\" },\n"
		"                   { \"id\": \"g2\", \"definition\": \"x\" } ] } ],\n"
		"  \"connections\": [] }\n", &d)) != NULL);
	fb_config_free(c);
	CHECK_DIAG(&d, FB_SEV_WARNING, "fieldbridge.json: buses[0] (b).devices[1] (relays).unit_id: "
		   "not set, so 1 (the default), which is also the unit_id of device meter");
	CHECK(diag_find(&d, FB_SEV_WARNING, "(g2)") == NULL); /* GPIO has no unit ids */
	fb_diag_free(&d);
	td_remove(&t);
}

/* The driver finds chips by label: "gpiochip0" would find none. */
static void gpio_chip_given_as_device_name_is_an_error(void)
{
	static const char *const chips[] = { "gpiochip0", "/dev/gpiochip0", "/dev/gpiochip" };

	for (size_t i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
		struct tdir t;
		struct fb_diag d;
		char text[1024];

		td_make(&t);
		fb_diag_init(&d);
		snprintf(text, sizeof(text),
			 "{ \"buses\": [ { \"name\": \"io\", \"transport\": \"gpio\", \"chip\": \"%s\",\n"
			 "    \"devices\": [ { \"id\": \"g1\", \"definition\": \"x\" } ] } ],\n"
			 "  \"connections\": [] }\n", chips[i]);
		CHECK(td_load_text(&t, text, &d) == NULL);
		CHECK_DIAG(&d, FB_SEV_ERROR, i < 2 ? "fieldbridge.json: buses[0] (io).chip: expected "
			   "the chip's label, not its device name" : "fieldbridge.json: buses[0] "
			   "(io).chip: expected a GPIO chip label");
		fb_diag_free(&d);
		td_remove(&t);
	}
}

/* Users-file problems come in the same run as the connection's. */
static void users_file_problems_come_with_connection_problems(void)
{
	struct tdir t;
	struct fb_diag d;
	char p[512];

	td_make(&t);
	td_write(&t, "users.json", "{ \"users\": [ { \"name\": \"u\", \"rights\": { \"*\": \"rad\" } } ] }",
		 0600, NULL, 0);
	td_write(&t, "fieldbridge.json",
		 "{ \"gateway\": { \"users_file\": \"users.json\" },\n"
		 "  \"connections\": [ { \"name\": \"ha\", \"user\": \"u\", \"broker\": \"h\", \"qos\": 5 },\n"
		 "                     { \"name\": \"hb\", \"user\": \"v\", \"broker\": \"h2\" } ] }\n",
		 0600, p, sizeof(p));
	fb_diag_init(&d);
	fb_config_check(p, NULL, NULL, &all, &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "fieldbridge.json: connections[0] (ha).qos: expected 0..2");
	CHECK_DIAG(&d, FB_SEV_ERROR, "users.json: users[0].rights.*: expected");
	CHECK_EQ_INT(d.errors, 2);
	fb_diag_free(&d);

	/* Once the users file is sound, a missing user is found the same way. */
	td_write(&t, "users.json", "{ \"users\": [ { \"name\": \"u\", \"rights\": { \"*\": \"read\" } } ] }",
		 0600, NULL, 0);
	fb_diag_init(&d);
	fb_config_check(p, NULL, NULL, &all, &d);
	CHECK_DIAG(&d, FB_SEV_ERROR, "connections[0] (ha).qos");
	CHECK_DIAG(&d, FB_SEV_ERROR, "connection (hb).user: expected a user defined in");
	CHECK_EQ_INT(d.errors, 2);
	fb_diag_free(&d);
	td_remove(&t);
}

/* A successful check says what it checked. */
static void a_successful_check_gives_a_summary(void)
{
	struct tdir t;
	struct fb_diag d;
	char path[512], *summary = NULL;
	struct fb_config_checks want = { .airtime = true, .users = true, .summary = &summary };

	td_make(&t);
	write_gateway(&t, path, sizeof(path));
	fb_diag_init(&d);
	fb_config_check(path, NULL, NULL, &want, &d);
	CHECK(summary == NULL); /* errors: no summary */
	fb_diag_free(&d);

	fb_diag_init(&d);
	fb_config_check(path, "bus", "t", &want, &d);
	CHECK_EQ_INT(d.errors, 0);
	CHECK_STR_CONTAINS(summary, "summary: 1 bus, 1 device, ");
	CHECK_STR_CONTAINS(summary, "\nsummary: bus t (tcp): 1 device, ");
	CHECK_STR_CONTAINS(summary, " reads per cycle\n");
	free(summary);
	summary = NULL;
	fb_diag_free(&d);

	fb_diag_init(&d);
	want.airtime = false;
	fb_config_check(path, "bus", "slow", &want, &d);
	CHECK_STR_CONTAINS(summary, "summary: bus slow (rtu, 2400 baud 8N1): 1 device, ");
	CHECK_STR_CONTAINS(summary, "% of the line's airtime\n");
	free(summary);
	fb_diag_free(&d);
	td_remove(&t);
}

int main(void)
{
	RUN_TEST(a_bus_gets_its_budget_and_no_users_check);
	RUN_TEST(only_the_checks_asked_for_run);
	RUN_TEST(everything_and_unknown_instances);
	RUN_TEST(tls_files_are_checked_offline);
	RUN_TEST(definition_serial_settings_differ_from_the_bus);
	RUN_TEST(unit_id_given_by_default_twice_warns);
	RUN_TEST(gpio_chip_given_as_device_name_is_an_error);
	RUN_TEST(users_file_problems_come_with_connection_problems);
	RUN_TEST(a_successful_check_gives_a_summary);
	return fb_test_finish();
}
