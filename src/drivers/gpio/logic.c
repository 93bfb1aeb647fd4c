/* SPDX-License-Identifier: Apache-2.0 */
/* Debounce, counter and gesture logic (gpio-logic.h). */
#include "gpio-logic.h"

#define NS_PER_MS 1000000LL

void gl_debounce_init(struct gl_debounce *d, bool level, uint32_t window_ms)
{
	d->stable = level;
	d->window_ns = (int64_t)window_ms * NS_PER_MS;
	d->deadline_ns = GL_NEVER;
}

bool gl_debounce_edge(struct gl_debounce *d, int64_t ts_ns, bool level)
{
	if (d->window_ns == 0) {
		bool changed = level != d->stable;

		d->stable = level;
		return changed;
	}
	d->deadline_ns = ts_ns + d->window_ns;
	return false;
}

bool gl_debounce_settle(struct gl_debounce *d, int64_t now_ns, bool level)
{
	bool changed;

	if (d->deadline_ns == GL_NEVER || now_ns < d->deadline_ns)
		return false;
	d->deadline_ns = GL_NEVER;
	changed = level != d->stable;
	d->stable = level;
	return changed;
}

void gl_counter_pulse(struct gl_counter *c, int64_t ts_ns)
{
	c->pulses++;
	if (c->last_ns && ts_ns > c->last_ns)
		c->interval_ns = ts_ns - c->last_ns;
	c->last_ns = ts_ns;
}

double gl_counter_total(const struct gl_counter *c, double impulses_per_unit)
{
	return (double)c->pulses / impulses_per_unit;
}

double gl_counter_rate(const struct gl_counter *c, int64_t now_ns,
		       double impulses_per_unit, uint32_t period_s, double scale,
			 uint32_t timeout_s)
{
	int64_t since, iv;

	if (!c->interval_ns || !c->last_ns)
		return 0.0;
	since = now_ns - c->last_ns;
	if (since > (int64_t)timeout_s * 1000 * NS_PER_MS)
		return 0.0;
	iv = since > c->interval_ns ? since : c->interval_ns;
	return (1.0 / impulses_per_unit) * ((double)period_s * 1e9 / (double)iv) * scale;
}

enum { G_IDLE, G_PRESSED, G_WAIT_SECOND };

void gl_gesture_init(struct gl_gesture *g, uint32_t double_ms, uint32_t long_ms)
{
	g->state = G_IDLE;
	g->presses = 0;
	g->long_fired = false;
	g->double_ns = (int64_t)double_ms * NS_PER_MS;
	g->long_ns = (int64_t)long_ms * NS_PER_MS;
	g->deadline_ns = GL_NEVER;
}

enum gl_press gl_gesture_input(struct gl_gesture *g, bool active, int64_t ts_ns)
{
	if (active) {
		if (g->state == G_PRESSED)
			return GL_PRESS_NONE; /* two presses without a release */
		g->presses = g->state == G_WAIT_SECOND ? 2 : 1;
		g->state = G_PRESSED;
		g->long_fired = false;
		g->deadline_ns = ts_ns + g->long_ns;
		return GL_PRESS_NONE;
	}
	if (g->state != G_PRESSED)
		return GL_PRESS_NONE;
	if (g->long_fired || g->presses == 2 || g->double_ns == 0) {
		enum gl_press p = g->long_fired ? GL_PRESS_NONE
				  : g->presses == 2 ? GL_PRESS_DOUBLE : GL_PRESS_SINGLE;

		g->state = G_IDLE;
		g->deadline_ns = GL_NEVER;
		return p;
	}
	g->state = G_WAIT_SECOND;
	g->deadline_ns = ts_ns + g->double_ns;
	return GL_PRESS_NONE;
}

enum gl_press gl_gesture_timeout(struct gl_gesture *g, int64_t now_ns)
{
	if (g->deadline_ns == GL_NEVER || now_ns < g->deadline_ns)
		return GL_PRESS_NONE;
	g->deadline_ns = GL_NEVER;
	if (g->state == G_PRESSED) {
		g->long_fired = true;
		return GL_PRESS_LONG;
	}
	if (g->state == G_WAIT_SECOND) {
		g->state = G_IDLE;
		return GL_PRESS_SINGLE;
	}
	return GL_PRESS_NONE;
}

const char *gl_press_name(enum gl_press p)
{
	switch (p) {
	case GL_PRESS_SINGLE: return "single";
	case GL_PRESS_DOUBLE: return "double";
	case GL_PRESS_LONG: return "long";
	case GL_PRESS_NONE: break;
	}
	return "";
}
