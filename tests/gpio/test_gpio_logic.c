/* SPDX-License-Identifier: Apache-2.0 */
/* The debounce, counter and gesture logic of fieldbridge-gpio on made-up
 * timelines (no kernel needed). */
#include "gpio-logic.h"
#include "testlib.h"

#define MS 1000000LL

static void debounce_bounce_is_one_change(void)
{
	struct gl_debounce d;
	int changes = 0;

	gl_debounce_init(&d, false, 20);
	for (int i = 0; i < 9; i++)
		CHECK(!gl_debounce_edge(&d, i * 2 * MS, i % 2 == 0));
	CHECK_EQ_INT(d.deadline_ns, 16 * MS + 20 * MS);
	changes += gl_debounce_settle(&d, 35 * MS, true); /* not yet due */
	changes += gl_debounce_settle(&d, 36 * MS, true);
	CHECK_EQ_INT(changes, 1);
	CHECK(d.stable);
	CHECK_EQ_INT(d.deadline_ns, GL_NEVER);
}

static void debounce_pulse_shorter_than_window_is_dropped(void)
{
	struct gl_debounce d;

	gl_debounce_init(&d, false, 50);
	gl_debounce_edge(&d, 0, true);
	gl_debounce_edge(&d, 5 * MS, false);
	CHECK(!gl_debounce_settle(&d, 55 * MS, false));
	CHECK(!d.stable);
}

static void debounce_window_zero_takes_every_edge(void)
{
	struct gl_debounce d;

	gl_debounce_init(&d, false, 0);
	CHECK(gl_debounce_edge(&d, 1, true));
	CHECK(!gl_debounce_edge(&d, 2, true)); /* same level twice: one change */
	CHECK(gl_debounce_edge(&d, 3, false));
	CHECK_EQ_INT(d.deadline_ns, GL_NEVER);
}

static void counter_total_and_rate(void)
{
	struct gl_counter c = { .pulses = 41 };

	/* 1000 imp/kWh, one pulse every 3.6 s = 1 kW; W with scale 1000. */
	CHECK_NEAR(gl_counter_rate(&c, 0, 1000, 3600, 1000, 600), 0, 1e-9);
	gl_counter_pulse(&c, 10000 * MS);
	CHECK_NEAR(gl_counter_rate(&c, 10000 * MS, 1000, 3600, 1000, 600), 0, 1e-9);
	gl_counter_pulse(&c, 13600 * MS);
	CHECK_EQ_INT(c.pulses, 43);
	CHECK_NEAR(gl_counter_total(&c, 1000), 0.043, 1e-12);
	CHECK_NEAR(gl_counter_rate(&c, 13600 * MS, 1000, 3600, 1000, 600), 1000, 1e-6);
	/* No pulse for 7.2 s: at most one pulse per 7.2 s = 500 W. */
	CHECK_NEAR(gl_counter_rate(&c, 20800 * MS, 1000, 3600, 1000, 600), 500, 1e-6);
	/* Past the timeout: 0. */
	CHECK_NEAR(gl_counter_rate(&c, 13600 * MS + 601000 * MS, 1000, 3600, 1000, 600), 0,
		   1e-9);
}

static enum gl_press tap(struct gl_gesture *g, int64_t at, int64_t hold)
{
	enum gl_press p = gl_gesture_input(g, true, at * MS);

	if (p == GL_PRESS_NONE && g->deadline_ns <= (at + hold) * MS)
		p = gl_gesture_timeout(g, g->deadline_ns);
	if (p != GL_PRESS_NONE)
		return p;
	return gl_gesture_input(g, false, (at + hold) * MS);
}

static void presses_are_told_apart_as_single_double_and_long(void)
{
	struct gl_gesture g;

	gl_gesture_init(&g, 300, 800);
	CHECK_EQ_INT(tap(&g, 0, 50), GL_PRESS_NONE);
	CHECK_EQ_INT(gl_gesture_timeout(&g, 349 * MS), GL_PRESS_NONE);
	CHECK_EQ_INT(gl_gesture_timeout(&g, 350 * MS), GL_PRESS_SINGLE);

	CHECK_EQ_INT(tap(&g, 1000, 50), GL_PRESS_NONE);
	CHECK_EQ_INT(tap(&g, 1150, 50), GL_PRESS_DOUBLE);
	CHECK_EQ_INT(g.deadline_ns, GL_NEVER);

	CHECK_EQ_INT(gl_gesture_input(&g, true, 2000 * MS), GL_PRESS_NONE);
	CHECK_EQ_INT(gl_gesture_timeout(&g, 2800 * MS), GL_PRESS_LONG);
	/* Releasing after a long press is not another press. */
	CHECK_EQ_INT(gl_gesture_input(&g, false, 3500 * MS), GL_PRESS_NONE);
	CHECK_EQ_INT(g.deadline_ns, GL_NEVER);
	CHECK(!strcmp(gl_press_name(GL_PRESS_DOUBLE), "double"));

	/* double_ms 0: every short press is a single at once. */
	gl_gesture_init(&g, 0, 800);
	CHECK_EQ_INT(tap(&g, 0, 50), GL_PRESS_SINGLE);
}

int main(void)
{
	RUN_TEST(debounce_bounce_is_one_change);
	RUN_TEST(debounce_pulse_shorter_than_window_is_dropped);
	RUN_TEST(debounce_window_zero_takes_every_edge);
	RUN_TEST(counter_total_and_rate);
	RUN_TEST(presses_are_told_apart_as_single_double_and_long);
	return fb_test_finish();
}
