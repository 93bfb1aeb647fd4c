/* SPDX-License-Identifier: Apache-2.0 */
/* Proof that the real-kernel GPIO rig works: libgpiod 1.6 against the
 * kernel's gpio-sim chip "fb-sim" (see scripts/gpio-kernel/run-in-guest.sh
 * for the layout: offsets 0..7 are in0..in7, 8..15 are out0..out7).
 *
 * Run it through run-in-guest.sh; on a machine without an fb-sim chip it
 * exits 77 (skip). */
#include <errno.h>
#include <glob.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define SIM_LABEL "fb-sim"
#define CONSUMER "fb-sim-smoke"

static struct gpiod_chip *chip;
static char chip_path[64];
static const char *sim_sysfs;

/* Finds the chip labelled fb-sim among /dev/gpiochip*. */
static struct gpiod_chip *find_sim_chip(void)
{
	glob_t g;
	struct gpiod_chip *found = NULL;

	if (glob("/dev/gpiochip*", 0, NULL, &g) != 0)
		return NULL;
	for (size_t i = 0; i < g.gl_pathc && !found; i++) {
		struct gpiod_chip *c = gpiod_chip_open(g.gl_pathv[i]);
		if (!c)
			continue;
		if (strcmp(gpiod_chip_label(c), SIM_LABEL) == 0) {
			found = c;
			snprintf(chip_path, sizeof(chip_path), "%s", g.gl_pathv[i]);
		} else {
			gpiod_chip_close(c);
		}
	}
	globfree(&g);
	return found;
}

static int sim_write(unsigned int offset, const char *attr, const char *val)
{
	char path[512];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/sim_gpio%u/%s", sim_sysfs, offset, attr);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return -1;
	}
	ok = fputs(val, f) >= 0;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* Returns the first line of a sim attribute, without the newline, or "". */
static const char *sim_read(unsigned int offset, const char *attr)
{
	static char buf[64];
	char path[512];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/sim_gpio%u/%s", sim_sysfs, offset, attr);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return buf;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void test_chip_layout(void)
{
	struct gpiod_line *l;

	CHECK_EQ_INT(gpiod_chip_num_lines(chip), 16);
	if (getenv("FB_SIM_CHIP"))
		CHECK(strcmp(getenv("FB_SIM_CHIP"), chip_path) == 0);
	l = gpiod_chip_find_line(chip, "in3");
	CHECK(l != NULL);
	if (l)
		CHECK_EQ_INT(gpiod_line_offset(l), 3);
	l = gpiod_chip_find_line(chip, "out7");
	CHECK(l != NULL);
	if (l)
		CHECK_EQ_INT(gpiod_line_offset(l), 15);
}

static void test_input_pull_and_edges(void)
{
	struct gpiod_line *l = gpiod_chip_find_line(chip, "in0");
	struct gpiod_line_event ev;
	struct timespec to = { 2, 0 };
	unsigned int off;

	CHECK(l != NULL);
	if (!l)
		return;
	off = gpiod_line_offset(l);
	CHECK_EQ_INT(sim_write(off, "pull", "pull-down"), 0);
	CHECK_EQ_INT(gpiod_line_request_both_edges_events(l, CONSUMER), 0);
	CHECK_EQ_INT(gpiod_line_get_value(l), 0);

	CHECK_EQ_INT(sim_write(off, "pull", "pull-up"), 0);
	CHECK_EQ_INT(gpiod_line_event_wait(l, &to), 1);
	memset(&ev, 0, sizeof(ev));
	CHECK_EQ_INT(gpiod_line_event_read(l, &ev), 0);
	CHECK_EQ_INT(ev.event_type, GPIOD_LINE_EVENT_RISING_EDGE);
	CHECK(ev.ts.tv_sec != 0 || ev.ts.tv_nsec != 0);
	CHECK_EQ_INT(gpiod_line_get_value(l), 1);

	CHECK_EQ_INT(sim_write(off, "pull", "pull-down"), 0);
	to.tv_sec = 2;
	CHECK_EQ_INT(gpiod_line_event_wait(l, &to), 1);
	memset(&ev, 0, sizeof(ev));
	CHECK_EQ_INT(gpiod_line_event_read(l, &ev), 0);
	CHECK_EQ_INT(ev.event_type, GPIOD_LINE_EVENT_FALLING_EDGE);
	CHECK_EQ_INT(gpiod_line_get_value(l), 0);

	/* no spurious event afterwards */
	to.tv_sec = 0;
	to.tv_nsec = 200 * 1000 * 1000;
	CHECK_EQ_INT(gpiod_line_event_wait(l, &to), 0);
	gpiod_line_release(l);
}

static void test_plain_input(void)
{
	struct gpiod_line *l = gpiod_chip_get_line(chip, 5); /* in5 */

	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_EQ_INT(gpiod_line_request_input(l, CONSUMER), 0);
	CHECK_EQ_INT(gpiod_line_direction(l), GPIOD_LINE_DIRECTION_INPUT);
	CHECK_EQ_INT(sim_write(5, "pull", "pull-up"), 0);
	CHECK_EQ_INT(gpiod_line_get_value(l), 1);
	CHECK_EQ_INT(sim_write(5, "pull", "pull-down"), 0);
	CHECK_EQ_INT(gpiod_line_get_value(l), 0);
	gpiod_line_release(l);
}

/* A bias requested by the consumer reaches the simulated line. */
static void test_bias_request(void)
{
	struct gpiod_line *l = gpiod_chip_get_line(chip, 6); /* in6 */

	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_EQ_INT(sim_write(6, "pull", "pull-down"), 0);
	CHECK_EQ_INT(gpiod_line_request_input_flags(l, CONSUMER,
		GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP), 0);
	CHECK_EQ_INT(gpiod_line_get_value(l), 1);
	CHECK_STR_CONTAINS(sim_read(6, "pull"), "pull-up");
	gpiod_line_release(l);
}

static void test_output(void)
{
	struct gpiod_line *l = gpiod_chip_find_line(chip, "out0");
	unsigned int off;

	CHECK(l != NULL);
	if (!l)
		return;
	off = gpiod_line_offset(l);
	CHECK_EQ_INT(gpiod_line_request_output(l, CONSUMER, 0), 0);
	CHECK_EQ_INT(gpiod_line_direction(l), GPIOD_LINE_DIRECTION_OUTPUT);
	CHECK(strcmp(sim_read(off, "value"), "0") == 0);
	CHECK_EQ_INT(gpiod_line_set_value(l, 1), 0);
	CHECK(strcmp(sim_read(off, "value"), "1") == 0);
	CHECK_EQ_INT(gpiod_line_get_value(l), 1);
	CHECK_EQ_INT(gpiod_line_set_value(l, 0), 0);
	CHECK(strcmp(sim_read(off, "value"), "0") == 0);
	gpiod_line_release(l);

	/* default value given at request time */
	l = gpiod_chip_get_line(chip, off + 1); /* out1 */
	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_EQ_INT(gpiod_line_request_output(l, CONSUMER, 1), 0);
	CHECK(strcmp(sim_read(off + 1, "value"), "1") == 0);
	gpiod_line_release(l);
}

/* The kernel refuses a second request (EBUSY) and reports our consumer. */
static void test_busy_and_consumer(void)
{
	struct gpiod_line *l = gpiod_chip_find_line(chip, "out2");
	struct gpiod_chip *other;
	struct gpiod_line *l2;
	unsigned int off;

	CHECK(l != NULL);
	if (!l)
		return;
	off = gpiod_line_offset(l);
	CHECK_EQ_INT(gpiod_line_request_output(l, CONSUMER, 0), 0);

	/* a separate open of the chip, so the kernel (not libgpiod) decides */
	other = gpiod_chip_open(chip_path);
	CHECK(other != NULL);
	if (other) {
		l2 = gpiod_chip_get_line(other, off);
		CHECK(l2 != NULL);
		if (l2) {
			CHECK_EQ_INT(gpiod_line_update(l2), 0);
			CHECK(gpiod_line_is_used(l2));
			CHECK(gpiod_line_consumer(l2) &&
			      strcmp(gpiod_line_consumer(l2), CONSUMER) == 0);
			errno = 0;
			CHECK_EQ_INT(gpiod_line_request_input(l2, "intruder"), -1);
			CHECK_EQ_INT(errno, EBUSY);
		}
		gpiod_chip_close(other);
	}
	CHECK_EQ_INT(gpiod_line_update(l), 0);
	CHECK(gpiod_line_consumer(l) && strcmp(gpiod_line_consumer(l), CONSUMER) == 0);
	gpiod_line_release(l);

	/* free again: no consumer, requestable */
	other = gpiod_chip_open(chip_path);
	CHECK(other != NULL);
	if (other) {
		l2 = gpiod_chip_get_line(other, off);
		CHECK(l2 != NULL);
		if (l2) {
			CHECK_EQ_INT(gpiod_line_update(l2), 0);
			CHECK(!gpiod_line_is_used(l2));
			CHECK_EQ_INT(gpiod_line_request_input(l2, "second"), 0);
			gpiod_line_release(l2);
		}
		gpiod_chip_close(other);
	}
}

int main(void)
{
	sim_sysfs = getenv("FB_SIM_SYSFS");
	chip = find_sim_chip();
	if (!chip || !sim_sysfs) {
		printf("SKIP: no gpio-sim chip labelled \"%s\"%s; run me through "
		       "scripts/gpio-kernel/run-in-guest.sh\n", SIM_LABEL,
		       sim_sysfs ? "" : " (FB_SIM_SYSFS unset)");
		return 77;
	}
	fprintf(stderr, "chip %s (%s), sim sysfs %s\n", chip_path, gpiod_chip_name(chip), sim_sysfs);
	RUN_TEST(test_chip_layout);
	RUN_TEST(test_input_pull_and_edges);
	RUN_TEST(test_plain_input);
	RUN_TEST(test_bias_request);
	RUN_TEST(test_output);
	RUN_TEST(test_busy_and_consumer);
	gpiod_chip_close(chip);
	return fb_test_finish();
}
