/* SPDX-License-Identifier: Apache-2.0 */
/* The run logic of a cover on two relays (model cover_run.c) on a clock
 * the test drives: run times, end stops, stop, set_position, the rest
 * before reversing, and that the two relays are never asked on together. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "testlib.h"

/* Open 20 s, close 25 s, 500 ms rest before reversing. */
static struct fb_cover_run cover(void)
{
	struct fb_cover_run c;

	fb_cover_run_init(&c, 20000, 25000, 500);
	return c;
}

static void relays(const struct fb_cover_run *c, int open, int close)
{
	bool o, cl;

	fb_cover_run_relays(c, &o, &cl);
	CHECK_EQ_INT(o, open);
	CHECK_EQ_INT(cl, close);
	CHECK(!(o && cl));
}

/* Ticks at every deadline up to `until`, as the driver's timerfd would. */
static void run_until(struct fb_cover_run *c, int64_t until)
{
	int64_t dl;

	while ((dl = fb_cover_run_deadline(c)) && dl <= until) {
		fb_cover_run_tick(c, dl);
		relays(c, c->phase == FB_COVER_OPENING, c->phase == FB_COVER_CLOSING);
	}
}

static void starts_unknown_with_both_off(void)
{
	struct fb_cover_run c = cover();

	CHECK(isnan(fb_cover_run_position(&c, 0)));
	relays(&c, 0, 0);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 0);
	CHECK(!strcmp(fb_cover_run_state(&c, 0), "stopped"));
	/* between the ends an unknown position cannot be reached */
	CHECK(fb_cover_run_command(&c, FB_COVER_SET, 40, 0) < 0);
	relays(&c, 0, 0);
	CHECK(fb_cover_run_command(&c, FB_COVER_SET, 101, 0) < 0);
	CHECK(fb_cover_run_command(&c, FB_COVER_SET, NAN, 0) < 0);
}

static void full_run_from_unknown_learns_the_end(void)
{
	struct fb_cover_run c = cover();

	CHECK(fb_cover_run_command(&c, FB_COVER_OPEN, 0, 1000) == 0);
	relays(&c, 1, 0);
	CHECK(!strcmp(fb_cover_run_state(&c, 1000), "opening"));
	/* the full travel time: it may have been anywhere */
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 21000);
	CHECK(isnan(fb_cover_run_position(&c, 11000)));
	fb_cover_run_tick(&c, 20999);
	relays(&c, 1, 0);
	fb_cover_run_tick(&c, 21000);
	relays(&c, 0, 0);
	CHECK_NEAR(fb_cover_run_position(&c, 21000), 100, 1e-9);
	CHECK(!strcmp(fb_cover_run_state(&c, 21000), "open"));
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 0);
	/* close: the close time, plus the overrun that takes up drift
	 * (capped at one full run) */
	CHECK(fb_cover_run_command(&c, FB_COVER_CLOSE, 0, 30000) == 0);
	relays(&c, 0, 1);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 55000);
	CHECK_NEAR(fb_cover_run_position(&c, 42500), 50, 1e-9);
	run_until(&c, 60000);
	CHECK_NEAR(fb_cover_run_position(&c, 60000), 0, 1e-9);
	CHECK(!strcmp(fb_cover_run_state(&c, 60000), "closed"));
}

static struct fb_cover_run closed_at(int64_t t)
{
	struct fb_cover_run c = cover();

	/* closed 10 s before t: no rest left */
	fb_cover_run_command(&c, FB_COVER_CLOSE, 0, t - 35000);
	run_until(&c, t);
	return c;
}

static void stop_mid_way_keeps_the_estimate(void)
{
	struct fb_cover_run c = closed_at(100000);

	CHECK(fb_cover_run_command(&c, FB_COVER_OPEN, 0, 100000) == 0);
	/* from closed: 100 % of the way plus 10 %, capped at 20 s */
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 120000);
	CHECK(fb_cover_run_command(&c, FB_COVER_STOP, 0, 105000) == 0);
	relays(&c, 0, 0);
	CHECK_NEAR(fb_cover_run_position(&c, 105000), 25, 1e-9);
	CHECK_NEAR(fb_cover_run_position(&c, 999999), 25, 1e-9);
	CHECK(!strcmp(fb_cover_run_state(&c, 105000), "stopped"));
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 0);
	/* STOP while stopped changes nothing */
	CHECK(fb_cover_run_command(&c, FB_COVER_STOP, 0, 106000) == 0);
	CHECK_NEAR(fb_cover_run_position(&c, 106000), 25, 1e-9);
}

static void set_position_runs_the_proportional_time(void)
{
	struct fb_cover_run c = closed_at(100000);

	CHECK(fb_cover_run_command(&c, FB_COVER_SET, 40, 100000) == 0);
	relays(&c, 1, 0);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 108000); /* 40 % of 20 s */
	run_until(&c, 108000);
	relays(&c, 0, 0);
	CHECK_NEAR(fb_cover_run_position(&c, 108000), 40, 1e-9);
	CHECK(!strcmp(fb_cover_run_state(&c, 108000), "stopped"));
	/* down to 30: 10 % of the 25 s close time, after the 500 ms rest
	 * (the motor just ran the other way) */
	CHECK(fb_cover_run_command(&c, FB_COVER_SET, 30, 108100) == 0);
	relays(&c, 0, 0);
	CHECK(c.phase == FB_COVER_PAUSE);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 108500);
	run_until(&c, 108500);
	relays(&c, 0, 1);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 108500 + 2500);
	run_until(&c, 200000);
	CHECK_NEAR(fb_cover_run_position(&c, 200000), 30, 1e-9);
	/* the same position again: nothing moves */
	CHECK(fb_cover_run_command(&c, FB_COVER_SET, 30.2, 200000) == 0);
	relays(&c, 0, 0);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 0);
	/* same direction while moving: a new end, the relay stays on */
	CHECK(fb_cover_run_command(&c, FB_COVER_SET, 80, 300000) == 0);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 310000);
	CHECK(fb_cover_run_command(&c, FB_COVER_SET, 50, 302000) == 0); /* 40 now */
	relays(&c, 1, 0);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 304000);
	run_until(&c, 400000);
	CHECK_NEAR(fb_cover_run_position(&c, 400000), 50, 1e-9);
}

static void reversal_rests_with_both_off(void)
{
	struct fb_cover_run c = closed_at(100000);

	fb_cover_run_command(&c, FB_COVER_OPEN, 0, 100000);
	/* at 50 % reverse: both off at once, the close relay only after
	 * the rest, and the estimate stays put meanwhile */
	CHECK(fb_cover_run_command(&c, FB_COVER_CLOSE, 0, 110000) == 0);
	relays(&c, 0, 0);
	CHECK(!strcmp(fb_cover_run_state(&c, 110000), "closing"));
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 110500);
	CHECK_NEAR(fb_cover_run_position(&c, 110400), 50, 1e-9);
	/* changing its mind during the rest: still resting, then opening */
	CHECK(fb_cover_run_command(&c, FB_COVER_OPEN, 0, 110200) == 0);
	relays(&c, 0, 0);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 110500);
	fb_cover_run_tick(&c, 110500);
	relays(&c, 1, 0);
	/* STOP during a rest: nothing goes on */
	fb_cover_run_command(&c, FB_COVER_CLOSE, 0, 111000);
	CHECK(c.phase == FB_COVER_PAUSE);
	CHECK(fb_cover_run_command(&c, FB_COVER_STOP, 0, 111100) == 0);
	relays(&c, 0, 0);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 0);
	/* long after a stop the other way starts at once */
	CHECK(fb_cover_run_command(&c, FB_COVER_CLOSE, 0, 200000) == 0);
	relays(&c, 0, 1);
}

/* The rest counts from the relay seen off (a slow bus answers late). */
static void rest_runs_from_the_confirmed_off(void)
{
	struct fb_cover_run c = closed_at(100000);

	fb_cover_run_command(&c, FB_COVER_OPEN, 0, 100000);
	fb_cover_run_command(&c, FB_COVER_CLOSE, 0, 105000);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 105500);
	fb_cover_run_off_confirmed(&c, 105300); /* the write took 300 ms */
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 105800);
	fb_cover_run_tick(&c, 105500);
	relays(&c, 0, 0);
	fb_cover_run_tick(&c, 105800);
	relays(&c, 0, 1);
	/* after a plain stop, too */
	fb_cover_run_command(&c, FB_COVER_STOP, 0, 106000);
	fb_cover_run_off_confirmed(&c, 106250);
	fb_cover_run_command(&c, FB_COVER_OPEN, 0, 106600);
	CHECK(c.phase == FB_COVER_PAUSE);
	CHECK_EQ_INT(fb_cover_run_deadline(&c), 106750);
}

static void no_rest_when_configured_without(void)
{
	struct fb_cover_run c;

	fb_cover_run_init(&c, 10000, 10000, 0);
	fb_cover_run_command(&c, FB_COVER_CLOSE, 0, 0);
	run_until(&c, 10000);
	fb_cover_run_command(&c, FB_COVER_OPEN, 0, 10000);
	fb_cover_run_command(&c, FB_COVER_CLOSE, 0, 12000);
	/* both off and the other on in the same pass (the driver writes
	 * the off first) */
	relays(&c, 0, 1);
	CHECK_NEAR(fb_cover_run_position(&c, 12000), 20, 1e-9);
}

/* A random walk of commands and ticks: never both relays, always a
 * position within 0..100 once known. */
static void random_commands_keep_the_interlock(void)
{
	struct fb_cover_run c = cover();
	unsigned seed = 12345;
	int64_t now = 0;

	for (int i = 0; i < 100000; i++) {
		seed = seed * 1103515245u + 12345u;
		now += (seed >> 16) % 3000;
		if (fb_cover_run_deadline(&c) && now >= fb_cover_run_deadline(&c))
			fb_cover_run_tick(&c, now);
		switch ((seed >> 8) % 5) {
		case 0:
			fb_cover_run_command(&c, FB_COVER_OPEN, 0, now);
			break;
		case 1:
			fb_cover_run_command(&c, FB_COVER_CLOSE, 0, now);
			break;
		case 2:
			fb_cover_run_command(&c, FB_COVER_STOP, 0, now);
			break;
		default:
			fb_cover_run_command(&c, FB_COVER_SET, (seed >> 4) % 101, now);
			break;
		}
		bool o, cl;
		double p = fb_cover_run_position(&c, now);

		fb_cover_run_relays(&c, &o, &cl);
		if ((o && cl) || (!isnan(p) && (p < 0 || p > 100))) {
			CHECK(!(o && cl));
			CHECK(isnan(p) || (p >= 0 && p <= 100));
			break;
		}
	}
	CHECK(!isnan(fb_cover_run_position(&c, now)));
}

int main(void)
{
	RUN_TEST(starts_unknown_with_both_off);
	RUN_TEST(full_run_from_unknown_learns_the_end);
	RUN_TEST(stop_mid_way_keeps_the_estimate);
	RUN_TEST(set_position_runs_the_proportional_time);
	RUN_TEST(reversal_rests_with_both_off);
	RUN_TEST(rest_runs_from_the_confirmed_off);
	RUN_TEST(no_rest_when_configured_without);
	RUN_TEST(random_commands_keep_the_interlock);
	return fb_test_finish();
}
