/* SPDX-License-Identifier: Apache-2.0 */
/* The pure logic of fieldbridge-gpio: debouncing, pulse counting with a
 * derived rate, and press gestures.  No I/O and no clocks: every function
 * takes the time (CLOCK_MONOTONIC ns) it should act at, so the unit tests
 * (tests/gpio/test_gpio_logic.c) drive them with made-up timelines.
 *
 * Deadlines are INT64_MAX when nothing is due. */
#ifndef FB_GPIO_LOGIC_H
#define FB_GPIO_LOGIC_H

#include <stdbool.h>
#include <stdint.h>

#define GL_NEVER INT64_MAX

/* ---- debounce ----
 * A level counts once the line stayed there for the whole window: every
 * edge restarts the window, and when it ends the line's *current* level is
 * taken (read by the caller), not the level an event claimed, because the
 * kernel reads the level some time after the edge.  Edges faster than the
 * window therefore never reach the table, and a burst of bounce is one
 * change.  A window of 0 takes every edge as it comes. */
struct gl_debounce {
	bool stable;          /* the debounced (published) logical level */
	int64_t window_ns;
	int64_t deadline_ns;  /* GL_NEVER when settled */
};

void gl_debounce_init(struct gl_debounce *d, bool level, uint32_t window_ms);
/* An edge at ts_ns leaving the line at `level`.  Returns true when the
 * stable level changed right away (window 0). */
bool gl_debounce_edge(struct gl_debounce *d, int64_t ts_ns, bool level);
/* At now_ns >= deadline_ns, with the line's current level: returns true
 * when the stable level changed. */
bool gl_debounce_settle(struct gl_debounce *d, int64_t now_ns, bool level);

/* ---- pulse counter ----
 * Counts debounced activations.  The rate comes from the interval between
 * the last two pulses; while no pulse arrives it can only be lower than
 * one pulse per elapsed time, so it decays as that bound, and is 0 after
 * timeout (or before two pulses were seen since the start). */
struct gl_counter {
	uint64_t pulses;       /* persisted total */
	int64_t last_ns;       /* time of the last pulse, 0 = none since start */
	int64_t interval_ns;   /* between the last two pulses, 0 = unknown */
};

void gl_counter_pulse(struct gl_counter *c, int64_t ts_ns);
/* pulses / impulses_per_unit */
double gl_counter_total(const struct gl_counter *c, double impulses_per_unit);
/* Units per period_s, times scale (kWh at 1000 imp/kWh, period 3600,
 * scale 1000 gives W). */
double gl_counter_rate(const struct gl_counter *c, int64_t now_ns,
		       double impulses_per_unit, uint32_t period_s, double scale,
			 uint32_t timeout_s);

/* ---- press gestures ----
 * single: pressed and released (shorter than long_ms), and no second press
 * within double_ms of the release; double: a second short press within
 * double_ms; long: held for long_ms (fires while still held). */
enum gl_press { GL_PRESS_NONE, GL_PRESS_SINGLE, GL_PRESS_DOUBLE, GL_PRESS_LONG };

struct gl_gesture {
	int state;            /* internal: idle, pressed, waiting for a second press */
	int presses;
	bool long_fired;
	int64_t double_ns, long_ns;
	int64_t deadline_ns;
};

void gl_gesture_init(struct gl_gesture *g, uint32_t double_ms, uint32_t long_ms);
/* A debounced change to `active` at ts_ns. */
enum gl_press gl_gesture_input(struct gl_gesture *g, bool active, int64_t ts_ns);
/* At now_ns >= deadline_ns. */
enum gl_press gl_gesture_timeout(struct gl_gesture *g, int64_t now_ns);
/* "single", "double", "long"; "" for NONE. */
const char *gl_press_name(enum gl_press p);

#endif
