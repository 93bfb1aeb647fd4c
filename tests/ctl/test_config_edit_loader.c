/* SPDX-License-Identifier: Apache-2.0 */
/* The field tables against the loader: every boundary of every integer
 * field, every member of every set and every enum choice is accepted or
 * refused by fb_config_load exactly as the table says.  Catches a table
 * drifting from the loader it describes. */
#include "config_edit.h"
#include "config.h"
#include "testlib.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/fb-edit-loader.XXXXXX";

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

/* Loads a config whose one drop-in of `kind` sets field to json_value. */
static bool loads(enum fb_edit_kind kind, const char *field, const char *json_value)
{
	char obj[512], main_path[512];
	struct fb_diag d;
	struct fb_config *c;

	if (kind == FB_EDIT_CONN)
		snprintf(obj, sizeof(obj), "{ \"user\": \"u\", \"broker\": \"h\", \"%s\": %s }",
			 field, json_value);
	else
		snprintf(obj, sizeof(obj), "{ \"transport\": \"rtu_over_tcp\", \"host\": \"h\", "
			 "\"%s\": %s }", field, json_value);
	/* Only this one drop-in: the other kind's last (bad) value must not count. */
	snprintf(main_path, sizeof(main_path), "%s/%s", dir,
		 kind == FB_EDIT_CONN ? "buses.d/x.json" : "connections.d/x.json");
	unlink(main_path);
	write_file(kind == FB_EDIT_CONN ? "connections.d/x.json" : "buses.d/x.json", obj);
	snprintf(main_path, sizeof(main_path), "%s/fieldbridge.json", dir);
	fb_diag_init(&d);
	c = fb_config_load(main_path, &d);
	if (!c) /* shows why, for the failing CHECK below it */
		fb_diag_print(&d, stderr);
	fb_config_free(c);
	fb_diag_free(&d);
	return c != NULL;
}

static void check_kind(enum fb_edit_kind kind)
{
	size_t n;
	const struct fb_field *f = fb_edit_fields(kind, &n);
	char v[64];

	for (size_t i = 0; i < n; i++) {
		const struct fb_field *x = &f[i];

		if (!strcmp(x->name, "rts_delay_us") || !strcmp(x->name, "persist_interval_s"))
			continue; /* refused on this transport whatever the value */
		fprintf(stderr, "   %s\n", x->name);
		if (x->type == FB_FIELD_INT) {
			snprintf(v, sizeof(v), "%lld", x->min);
			CHECK(loads(kind, x->name, v));
			snprintf(v, sizeof(v), "%lld", x->max);
			CHECK(loads(kind, x->name, v));
			snprintf(v, sizeof(v), "%lld", x->max + 1);
			CHECK(!loads(kind, x->name, v));
			/* unit_id 0 is a TCP gateway's; the table allows 0..255 */
			if (x->min > 0 || kind == FB_EDIT_CONN) {
				snprintf(v, sizeof(v), "%lld", x->min - 1);
				CHECK(!loads(kind, x->name, v));
			}
		} else if (x->type == FB_FIELD_INT_SET) {
			for (size_t k = 0; k < x->nset; k++) {
				snprintf(v, sizeof(v), "%d", x->set[k]);
				CHECK(loads(kind, x->name, v));
			}
			CHECK(!loads(kind, x->name, "45"));
		} else if (x->type == FB_FIELD_ENUM && strcmp(x->name, "transport")) {
			for (size_t k = 0; x->choices[k]; k++) {
				snprintf(v, sizeof(v), "\"%s\"", x->choices[k]);
				CHECK(loads(kind, x->name, v));
			}
			CHECK(!loads(kind, x->name, "\"nonsense\""));
		} else if (x->type == FB_FIELD_BOOL) {
			CHECK(loads(kind, x->name, "\"off\""));
			CHECK(loads(kind, x->name, "true"));
		}
	}
}

static void connection_fields_agree_with_the_loader(void)
{
	check_kind(FB_EDIT_CONN);
}

static void bus_fields_agree_with_the_loader(void)
{
	check_kind(FB_EDIT_BUS);
}

int main(void)
{
	char sub[600];

	if (!mkdtemp(dir))
		return 1;
	snprintf(sub, sizeof(sub), "%s/connections.d", dir);
	mkdir(sub, 0755);
	snprintf(sub, sizeof(sub), "%s/buses.d", dir);
	mkdir(sub, 0755);
	write_file("fieldbridge.json", "{ \"gateway\": { \"id\": \"gw\" } }");
	RUN_TEST(connection_fields_agree_with_the_loader);
	RUN_TEST(bus_fields_agree_with_the_loader);
	snprintf(sub, sizeof(sub), "rm -rf '%s'", dir);
	if (system(sub) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return fb_test_finish();
}
