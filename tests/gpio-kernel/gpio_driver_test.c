/* SPDX-License-Identifier: Apache-2.0 */
/* The real fieldbridge-gpio against the kernel's gpio-sim chip "fb-sim",
 * in one guest boot (run-in-guest.sh): inputs with bounce, edges faster
 * than the debounce, outputs switched through the table's command queue
 * (the path fieldbridge-export uses for MQTT commands) and read back from
 * the sim, a pulse output, press events, output state across a restart,
 * a cover on two outputs (run time, reversal rest, stop, never both on,
 * both off after a restart), 10,000 counted pulses with a restart in the
 * middle, the sd_notify
 * messages (READY=1, STATUS=, WATCHDOG=1, STOPPING=1, exit 78 on a broken
 * configuration), and the errors for a line in use, a missing chip and a
 * missing line.
 *
 * Usage (in the guest): gpio_driver_test /extra/fieldbridge-gpio
 *   /extra/gpio-test.json; the definitions are in /extra/devices. */
#include <errno.h>
#include <glob.h>
#include <gpiod.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "gpio.h"
#include "table.h"
#include "testlib.h"

#define TABLE "fbtest.gpio"
#define LOG "/tmp/fb-gpio.log"
#define PULSES 10000

/* sim offsets (run-in-guest.sh's fixed layout) */
enum { IN_BOUNCE = 0, IN_FAST = 1, IN_BUTTON = 2, IN_PULSES = 3, IN_METER = 4,
       OUT_RELAY = 8, OUT_RELAY_INV = 9, OUT_BELL = 10, OUT_UP = 11, OUT_R1 = 12, OUT_R3 = 14,
       OUT_DOWN = 15 };

struct ctx {
	const char *bin, *config, *sysfs;
	pid_t pid;
	struct fb_table_reader *r;
	size_t changes[64];        /* change callbacks per point since the last reset */
	char events[256];          /* press values seen, space separated */
	long press_index;
};

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void sim_set(struct ctx *c, unsigned off, bool high)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sim_gpio%u/pull", c->sysfs, off);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return;
	}
	fputs(high ? "pull-up" : "pull-down", f);
	fclose(f);
}

static int sim_get(struct ctx *c, unsigned off)
{
	char path[512], buf[8] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/sim_gpio%u/value", c->sysfs, off);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '?';
	fclose(f);
	return buf[0] == '1' ? 1 : buf[0] == '0' ? 0 : -1;
}

static void on_point(void *arg, uint32_t i)
{
	struct ctx *c = arg;
	struct fb_point_snapshot s;

	if (i < 64)
		c->changes[i]++;
	if ((long)i == c->press_index) {
		fb_table_reader_read(c->r, i, &s);
		if (s.value.kind == FB_VALUE_STRING && strlen(c->events) + 12 < sizeof(c->events)) {
			strcat(c->events, s.value.s);
			strcat(c->events, " ");
		}
	}
}

static void drain(struct ctx *c)
{
	if (c->r)
		fb_table_reader_changes(c->r, on_point, NULL, c);
}

static void reset_changes(struct ctx *c)
{
	drain(c);
	memset(c->changes, 0, sizeof(c->changes));
	c->events[0] = '\0';
}

/* Waits `ms`, collecting table changes every 5 ms. */
static void wait_ms(struct ctx *c, long ms)
{
	for (long t = 0; t < ms; t += 5) {
		sleep_us(5000);
		drain(c);
	}
}

static long idx(struct ctx *c, const char *dev, const char *key)
{
	return c->r ? fb_table_reader_find(c->r, dev, key) : -1;
}

static struct fb_point_snapshot point(struct ctx *c, const char *dev, const char *key)
{
	struct fb_point_snapshot s;
	long i = idx(c, dev, key);

	memset(&s, 0, sizeof(s));
	if (i >= 0)
		fb_table_reader_read(c->r, (uint32_t)i, &s);
	return s;
}

static void stop_driver(struct ctx *c)
{
	int st;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		waitpid(c->pid, &st, 0);
	}
	c->pid = 0;
	fb_table_detach(c->r);
	c->r = NULL;
}

/* Starts the driver with `config` and waits until its table is up and the
 * device `dev` is online.  Returns false if the driver exited first. */
static bool start_driver(struct ctx *c, const char *config, const char *dev)
{
	int st;

	c->pid = fork();
	if (c->pid == 0) {
		freopen(LOG, "a", stderr);
		execl(c->bin, "fieldbridge-gpio", "-c", config, "--bus", "gpio", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			c->pid = 0;
			return false;
		}
		if (!c->r)
			c->r = fb_table_attach(TABLE);
		if (c->r && fb_table_reader_superseded(c->r)) {
			fb_table_detach(c->r);
			c->r = NULL;
		}
		if (c->r) {
			long d = fb_table_reader_find_device(c->r, dev);

			if (d >= 0 && fb_table_reader_device_online(c->r, (uint32_t)d)) {
				c->press_index = idx(c, "board", "press");
				drain(c);
				return true;
			}
		}
		sleep_us(10000);
	}
	return false;
}

static int push(struct ctx *c, const char *dev, const char *key, bool on)
{
	struct fb_command cmd;
	long i = idx(c, dev, key);

	memset(&cmd, 0, sizeof(cmd));
	if (i < 0)
		return -1;
	cmd.point_index = (uint32_t)i;
	cmd.value.kind = FB_VALUE_BOOL;
	cmd.value.b = on;
	snprintf(cmd.event_id, sizeof(cmd.event_id), "test-%s-%d", key, on);
	cmd.ts_ms = fb_now_ms();
	snprintf(cmd.origin, sizeof(cmd.origin), "gpio-test");
	return fb_table_command_push(c->r, &cmd);
}

/* Waits up to ms for sim line `off` to read `want`. */
static bool sim_wait(struct ctx *c, unsigned off, int want, long ms)
{
	for (long t = 0; t <= ms; t += 5) {
		if (sim_get(c, off) == want)
			return true;
		wait_ms(c, 5);
	}
	return false;
}

static bool log_contains(const char *needle)
{
	FILE *f = fopen(LOG, "r");
	char line[2048];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	if (!found)
		fprintf(stderr, "log %s lacks \"%s\"\n", LOG, needle);
	return found;
}

static void press(struct ctx *c, long hold_ms)
{
	sim_set(c, IN_BUTTON, true);
	wait_ms(c, hold_ms);
	sim_set(c, IN_BUTTON, false);
}

/* The stimuli below are timed by this process, which an emulated, loaded
 * machine can deschedule for longer than a debounce window: a try with a
 * gap between two edges that long proves nothing, so it is made again (up
 * to 5 times).  gap_ms is the longest gap so far. */
#define STIMULUS_TRIES 5

static void edge(struct ctx *c, unsigned off, bool high, int64_t *last_ms, int64_t *gap_ms)
{
	int64_t now = fb_mono_ms();

	if (*last_ms && now - *last_ms > *gap_ms)
		*gap_ms = now - *last_ms;
	*last_ms = now; /* the write itself counts: the edge is inside it */
	sim_set(c, off, high);
}

static void test_debounce_drops_bounces_and_short_pulses(struct ctx *c)
{
	long b = idx(c, "board", "bounce"), f = idx(c, "board", "fast");
	int64_t last, gap;
	int tries;

	CHECK(b >= 0 && f >= 0);
	CHECK(point(c, "board", "bounce").value.b == false);
	/* 9 edges 2 ms apart (contact bounce), ending high: one change. */
	for (tries = 0; tries < STIMULUS_TRIES; tries++) {
		sim_set(c, IN_BOUNCE, false);
		wait_ms(c, 100);
		reset_changes(c);
		last = gap = 0;
		for (int i = 0; i < 9; i++) {
			edge(c, IN_BOUNCE, i % 2 == 0, &last, &gap);
			sleep_us(2000);
		}
		if (gap < 25) /* inside the 30 ms window */
			break;
	}
	CHECK(tries < STIMULUS_TRIES);
	wait_ms(c, 300);
	CHECK(point(c, "board", "bounce").value.b == true);
	CHECK_EQ_INT(c->changes[b], 1);

	/* A 5 ms pulse and a burst, both shorter than the 50 ms window. */
	for (tries = 0; tries < STIMULUS_TRIES; tries++) {
		wait_ms(c, 100);
		reset_changes(c);
		last = gap = 0;
		edge(c, IN_FAST, true, &last, &gap);
		sleep_us(5000);
		edge(c, IN_FAST, false, &last, &gap);
		for (int i = 0; i < 20; i++) {
			edge(c, IN_FAST, i % 2 == 0, &last, &gap);
			sleep_us(1000);
		}
		edge(c, IN_FAST, false, &last, &gap);
		if (gap < 45)
			break;
	}
	CHECK(tries < STIMULUS_TRIES);
	wait_ms(c, 300);
	CHECK(point(c, "board", "fast").value.b == false);
	CHECK_EQ_INT(c->changes[f], 0);
}

static void test_events(struct ctx *c)
{
	reset_changes(c);
	press(c, 60);
	wait_ms(c, 700);
	CHECK_STR_CONTAINS(c->events, "single");
	reset_changes(c);
	press(c, 60);
	wait_ms(c, 100);
	press(c, 60);
	wait_ms(c, 700);
	CHECK(strcmp(c->events, "double ") == 0);
	reset_changes(c);
	press(c, 1100);
	wait_ms(c, 500);
	CHECK(strcmp(c->events, "long ") == 0);
	fprintf(stderr, "events: \"%s\"\n", c->events);
}

static void test_outputs_start_initialised_and_follow_commands(struct ctx *c)
{
	/* Initial values: relay off; relay_inv on (active low: line 0);
	 * Waveshare relays off (active low: line 1). */
	CHECK_EQ_INT(sim_get(c, OUT_RELAY), 0);
	CHECK_EQ_INT(sim_get(c, OUT_RELAY_INV), 0);
	CHECK_EQ_INT(sim_get(c, OUT_R1), 1);
	CHECK_EQ_INT(sim_get(c, OUT_R3), 1);
	CHECK(point(c, "board", "relay_inv").value.b == true);

	CHECK(push(c, "board", "relay", true) == 0);
	CHECK(sim_wait(c, OUT_RELAY, 1, 2000));
	wait_ms(c, 50);
	CHECK(point(c, "board", "relay").value.b == true);
	CHECK(push(c, "board", "relay_inv", false) == 0);
	CHECK(sim_wait(c, OUT_RELAY_INV, 1, 2000));
	CHECK(push(c, "relays", "relay1", true) == 0);
	CHECK(sim_wait(c, OUT_R1, 0, 2000));

	/* The bell: a 200 ms pulse. */
	CHECK(push(c, "board", "bell", true) == 0);
	CHECK(sim_wait(c, OUT_BELL, 1, 500));
	CHECK(sim_wait(c, OUT_BELL, 0, 1500));
}

/* The kernel's gpio trace events record every value gpiolib drives onto a
 * line, including the value an output is requested with; so they show
 * whether a restart made a line chatter, and what the exit policy drove
 * before the line was released (gpio-sim then reverts it to its pull, so
 * sampling the sim cannot see that). */
#define TRACEFS "/sys/kernel/tracing"

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(text, f) >= 0;

	if (f)
		ok = fclose(f) == 0 && ok;
	return ok;
}

static bool trace_start(void)
{
	mount("nodev", TRACEFS, "tracefs", 0, NULL);
	return write_file(TRACEFS "/events/gpio/gpio_value/enable", "1") &&
	       write_file(TRACEFS "/trace", "");
}

/* The global GPIO number of the sim chip's line 0. */
static int sim_base(void)
{
	glob_t g;
	int base = -1;

	if (glob("/sys/class/gpio/gpiochip*/label", 0, NULL, &g) != 0)
		return -1;
	for (size_t i = 0; i < g.gl_pathc && base < 0; i++) {
		char buf[64] = "", path[512];
		FILE *f = fopen(g.gl_pathv[i], "r");

		if (f && fgets(buf, sizeof(buf), f) && !strncmp(buf, "fb-sim", 6)) {
			fclose(f);
			snprintf(path, sizeof(path), "%.*sbase",
				 (int)(strlen(g.gl_pathv[i]) - strlen("label")), g.gl_pathv[i]);
			f = fopen(path, "r");
			if (f && fscanf(f, "%d", &base) != 1)
				base = -1;
		}
		if (f)
			fclose(f);
	}
	globfree(&g);
	return base;
}

/* The values set on sim line `off` since trace_start, as "1 0 ...". */
static void trace_sets(int base, unsigned off, char *out, size_t len)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	char line[512], want[32];
	size_t used = 0;

	out[0] = '\0';
	snprintf(want, sizeof(want), "gpio_value: %u set ", (unsigned)base + off);
	while (f && fgets(line, sizeof(line), f)) {
		char *m = strstr(line, want);

		if (m && used + 3 < len)
			used += (size_t)snprintf(out + used, len - used, "%s%c", used ? " " : "",
						 m[strlen(want)]);
	}
	if (f)
		fclose(f);
}

/* Across a restart: outputs come back at their last value without a
 * glitch (requested with it, never requested then set), and the exit
 * policy drives relay3's safe value (off) before the line is released. */
static void test_restart_outputs(struct ctx *c)
{
	int base = sim_base();
	char sets[64];

	CHECK(base >= 0);
	CHECK(push(c, "relays", "relay3", true) == 0);
	CHECK(sim_wait(c, OUT_R3, 0, 2000));
	CHECK(trace_start());
	stop_driver(c);
	CHECK(start_driver(c, c->config, "board"));
	/* Physical levels driven: relay on; relay_inv off (active low: 1);
	 * relays.relay1 on (active low: 0) and kept at exit; relays.relay3 on,
	 * driven off (1) at exit, back on (0) at start. */
	trace_sets(base, OUT_RELAY, sets, sizeof(sets));
	CHECK(!strcmp(sets, "1"));
	trace_sets(base, OUT_RELAY_INV, sets, sizeof(sets));
	CHECK(!strcmp(sets, "1"));
	trace_sets(base, OUT_R1, sets, sizeof(sets));
	CHECK(!strcmp(sets, "0"));
	trace_sets(base, OUT_R3, sets, sizeof(sets));
	fprintf(stderr, "relay3 levels driven across the restart: %s\n", sets);
	CHECK(!strcmp(sets, "1 0"));
	write_file(TRACEFS "/events/gpio/gpio_value/enable", "0");
	/* Restored from the state dir, not the configured initial values. */
	CHECK_EQ_INT(sim_get(c, OUT_RELAY), 1);
	CHECK_EQ_INT(sim_get(c, OUT_RELAY_INV), 1);
	CHECK_EQ_INT(sim_get(c, OUT_R1), 0);
	CHECK(point(c, "board", "relay").value.b == true);
	CHECK(point(c, "board", "relay_inv").value.b == false);
}

static void pulses(struct ctx *c, int n)
{
	for (int i = 0; i < n; i++) {
		sim_set(c, IN_PULSES, true);
		sleep_us(300);
		sim_set(c, IN_PULSES, false);
		sleep_us(300);
	}
}

static double wait_count(struct ctx *c, double want)
{
	double v = -1;

	for (int i = 0; i < 400; i++) {
		v = point(c, "board", "pulses").value.f;
		if (v >= want)
			break;
		wait_ms(c, 10);
	}
	return v;
}

/* A command with a value, as the exporter queues it for a cover. */
static int push_value(struct ctx *c, const char *dev, const char *key, const struct fb_value *v)
{
	struct fb_command cmd;
	long i = idx(c, dev, key);
	static int n;

	memset(&cmd, 0, sizeof(cmd));
	if (i < 0)
		return -1;
	cmd.point_index = (uint32_t)i;
	cmd.value = *v;
	snprintf(cmd.event_id, sizeof(cmd.event_id), "test-%s-%d", key, ++n);
	cmd.ts_ms = fb_now_ms();
	snprintf(cmd.origin, sizeof(cmd.origin), "gpio-test");
	return fb_table_command_push(c->r, &cmd);
}

static int cover_to(struct ctx *c, double pos)
{
	struct fb_value v = { .kind = FB_VALUE_FLOAT, .f = pos };

	return push_value(c, "blind", "blind", &v);
}

/* Waits up to ms for sim line `off` to read `want`, sampling both cover
 * lines every 2 ms: *both counts the samples with both on. */
static bool cover_wait(struct ctx *c, unsigned off, int want, long ms, int *both)
{
	for (long t = 0; t <= ms; t += 2) {
		int up = sim_get(c, OUT_UP), down = sim_get(c, OUT_DOWN);

		*both += up == 1 && down == 1;
		if ((off == OUT_UP ? up : down) == want)
			return true;
		sleep_us(2000);
		drain(c);
	}
	return false;
}

static void test_cover(struct ctx *c)
{
	struct fb_value stop = { .kind = FB_VALUE_STRING };
	struct fb_point_snapshot s;
	int both = 0;
	int64_t t0, t1;

	snprintf(stop.s, sizeof(stop.s), "STOP");
	/* Both off at start, the position unknown until an end stop. */
	CHECK_EQ_INT(sim_get(c, OUT_UP), 0);
	CHECK_EQ_INT(sim_get(c, OUT_DOWN), 0);
	CHECK(point(c, "blind", "blind").value.kind == FB_VALUE_NONE);
	/* A relay alone is refused (it could join the other one). */
	CHECK(push(c, "blind", "up", true) == 0);
	wait_ms(c, 300);
	CHECK_EQ_INT(sim_get(c, OUT_UP), 0);
	/* OPEN from unknown: the full run time (1 s), then off.  Lower
	 * bounds are taken from before the command: seeing a line change
	 * late (a loaded guest) only lengthens what is measured. */
	t0 = fb_mono_ms();
	CHECK(cover_to(c, 100) == 0);
	CHECK(cover_wait(c, OUT_UP, 1, 2000, &both));
	CHECK(cover_wait(c, OUT_UP, 0, 5000, &both));
	t1 = fb_mono_ms();
	fprintf(stderr, "cover: command to open relay off %lld ms (run time 1000)\n",
		(long long)(t1 - t0));
	CHECK(t1 - t0 >= 1000);
	wait_ms(c, 50);
	s = point(c, "blind", "blind");
	CHECK(s.value.kind == FB_VALUE_FLOAT && s.value.f == 100);
	/* CLOSE, then OPEN while closing: down off, a 200 ms rest, up on. */
	wait_ms(c, 300); /* past the rest after the opening run */
	CHECK(cover_to(c, 0) == 0);
	CHECK(cover_wait(c, OUT_DOWN, 1, 2000, &both));
	wait_ms(c, 300);
	t0 = fb_mono_ms(); /* down goes off at or after this */
	CHECK(cover_to(c, 100) == 0);
	CHECK(cover_wait(c, OUT_DOWN, 0, 2000, &both));
	CHECK(cover_wait(c, OUT_UP, 1, 2000, &both));
	t1 = fb_mono_ms();
	fprintf(stderr, "cover: reversal command to up on %lld ms (rest 200)\n",
		(long long)(t1 - t0));
	CHECK(t1 - t0 >= 200);
	CHECK(cover_wait(c, OUT_UP, 0, 5000, &both));
	/* STOP half way down: both off, a position between the ends. */
	wait_ms(c, 300);
	CHECK(cover_to(c, 0) == 0);
	CHECK(cover_wait(c, OUT_DOWN, 1, 2000, &both));
	wait_ms(c, 400);
	CHECK(push_value(c, "blind", "blind", &stop) == 0);
	CHECK(cover_wait(c, OUT_DOWN, 0, 2000, &both));
	wait_ms(c, 50);
	s = point(c, "blind", "blind");
	CHECK(s.value.kind == FB_VALUE_FLOAT && s.value.f > 0 && s.value.f < 100);
	/* set_position back up to 90: up on for about (90 - pos) % of 1 s */
	CHECK(cover_to(c, 90) == 0);
	CHECK(cover_wait(c, OUT_UP, 1, 2000, &both));
	CHECK(cover_wait(c, OUT_UP, 0, 3000, &both));
	wait_ms(c, 50);
	s = point(c, "blind", "blind");
	CHECK(s.value.kind == FB_VALUE_FLOAT && s.value.f == 90);
	/* A restart during a run: both off again, the position unknown. */
	wait_ms(c, 300);
	CHECK(cover_to(c, 0) == 0);
	CHECK(cover_wait(c, OUT_DOWN, 1, 2000, &both));
	stop_driver(c);
	CHECK(start_driver(c, c->config, "blind"));
	CHECK_EQ_INT(sim_get(c, OUT_UP), 0);
	CHECK_EQ_INT(sim_get(c, OUT_DOWN), 0);
	CHECK(point(c, "blind", "blind").value.kind == FB_VALUE_NONE);
	CHECK_EQ_INT(both, 0);
}

static void test_counter(struct ctx *c)
{
	double base = point(c, "board", "pulses").value.f, v;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pulses(c, PULSES / 2);
	v = wait_count(c, base + PULSES / 2);
	fprintf(stderr, "counter after %d pulses: %.0f\n", PULSES / 2, v - base);
	CHECK(point(c, "board", "rate").value.f > 0);
	stop_driver(c);
	CHECK(start_driver(c, c->config, "board"));
	CHECK_NEAR(point(c, "board", "pulses").value.f, v, 0.5);
	pulses(c, PULSES / 2);
	v = wait_count(c, base + PULSES);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "counter after %d pulses and a restart: %.0f (%.1f s)\n", PULSES,
		v - base, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* Debounce 0 on this line: exact, within one pulse. */
	CHECK_NEAR(v - base, PULSES, 1.0);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* S0-like pulses with contact bounce on a counter with a 10 ms window:
 * each bounced pulse counts once, and a glitch shorter than the window
 * never counts. */
static void test_counter_debounced(struct ctx *c)
{
	double base = point(c, "board", "meter").value.f, v = 0;
	int uncertain = 0;

	for (int i = 0; i < 150; i++) {
		int64_t last = now_us(), gap = 0;

		for (int b = 0; b < 3; b++) {
			sim_set(c, IN_METER, true);
			sleep_us(300);
			sim_set(c, IN_METER, false);
			sleep_us(300);
			if (now_us() - last > gap)
				gap = now_us() - last;
			last = now_us();
		}
		/* When the guest itself stalled (qemu descheduled on a busy host)
		 * inside a burst, a bounce level really was stable for the window
		 * and counting it is right: allow one extra count per such burst. */
		if (gap >= 8000)
			uncertain++;
		/* Levels held 4x the window. */
		sim_set(c, IN_METER, true);
		sleep_us(40000);
		sim_set(c, IN_METER, false);
		sleep_us(40000);
	}
	for (int i = 0; i < 100 && v < base + 1.5; i++) {
		wait_ms(c, 10);
		v = point(c, "board", "meter").value.f;
	}
	fprintf(stderr, "debounced counter: %.0f pulses of 150 (%d bursts stalled)\n",
		(v - base) * 100, uncertain);
	/* 100 impulses per unit: 150 pulses = 1.50 units. */
	CHECK((v - base) * 100 >= 149.5 && (v - base) * 100 <= 150.5 + uncertain);
}

#define NOTIFY_PATH "/tmp/fb-notify"

/* The datagram socket systemd would listen on for a Type=notify unit. */
static int notify_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = NOTIFY_PATH };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	unlink(NOTIFY_PATH);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Appends every datagram that arrives within ms to buf, each followed by
 * '|'. */
static void notify_collect(int fd, long ms, char *buf, size_t len)
{
	int64_t end = fb_mono_ms() + ms;
	size_t used = strlen(buf);

	for (int64_t now = fb_mono_ms(); now < end; now = fb_mono_ms()) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		n = recv(fd, buf + used, len - used - 2, 0);
		if (n <= 0)
			continue;
		used += (size_t)n;
		buf[used++] = '|';
		buf[used] = '\0';
	}
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_notify(struct ctx *c)
{
	static char buf[16384];
	int fd, st;
	pid_t pid;
	FILE *f;

	stop_driver(c);
	fd = notify_listen();
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	setenv("NOTIFY_SOCKET", NOTIFY_PATH, 1);
	setenv("WATCHDOG_USEC", "400000", 1);
	buf[0] = '\0';
	CHECK(start_driver(c, c->config, "board"));
	notify_collect(fd, 1500, buf, sizeof(buf));
	/* Ready once the lines are requested and the values published. */
	CHECK_STR_CONTAINS(buf, "READY=1\nSTATUS=3 of 3 devices running, ");
	CHECK_STR_CONTAINS(buf, "on chip fb-sim (/dev/gpiochip");
	CHECK_EQ_INT(count_of(buf, "READY=1"), 1);
	/* Every 200 ms (half of WATCHDOG_USEC) from an otherwise idle loop. */
	CHECK(count_of(buf, "WATCHDOG=1") >= 5);
	stop_driver(c);
	notify_collect(fd, 300, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "STOPPING=1");
	if (fb_test_counts_.failed)
		fprintf(stderr, "notifications: %s\n", buf);

	/* A broken configuration: exit 78 (EX_CONFIG), never READY=1. */
	f = fopen("/tmp/c-bad.json", "w");
	CHECK(f != NULL);
	if (f) {
		fputs("{ \"gateway\": { \"id\": \"fbtest\", \"definition_dirs\": "
		      "[\"/extra/devices\"] }, \"buses\": [ { \"name\": \"gpio\", "
		      "\"transport\": \"gpio\", \"chip\": \"fb-sim\", \"persist_intervall_s\": 5, "
		      "\"devices\": [] } ] }\n", f);
		fclose(f);
	}
	buf[0] = '\0';
	pid = fork();
	if (pid == 0) {
		freopen(LOG, "a", stderr);
		execl(c->bin, "fieldbridge-gpio", "-c", "/tmp/c-bad.json", "--bus", "gpio",
		      (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 78);
	CHECK(log_contains("persist_intervall_s"));
	notify_collect(fd, 100, buf, sizeof(buf));
	CHECK_EQ_INT(count_of(buf, "READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	close(fd);
	unlink(NOTIFY_PATH);
}

static bool write_config(const char *path, const char *chip, const char *lines)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fprintf(f, "{ \"gateway\": { \"id\": \"fbtest\", \"state_dir\": \"/tmp/fb-state2\", "
		"\"definition_dirs\": [\"/extra/devices\"] }, \"buses\": [ { \"name\": \"gpio\", "
		"\"transport\": \"gpio\", \"chip\": \"%s\", \"devices\": [ { \"id\": \"relays\", "
		"\"definition\": \"waveshare-rpi-relay-board\", \"lines\": %s } ] } ] }\n",
		chip, lines);
	return fclose(f) == 0;
}

static void test_errors(struct ctx *c)
{
	struct gpiod_chip *chip = NULL;
	struct gpiod_line *line;
	char path[32];

	stop_driver(c);
	for (int i = 0; i < 8 && !chip; i++) {
		snprintf(path, sizeof(path), "/dev/gpiochip%d", i);
		chip = gpiod_chip_open(path);
		if (chip && strcmp(gpiod_chip_label(chip), "fb-sim")) {
			gpiod_chip_close(chip);
			chip = NULL;
		}
	}
	CHECK(chip != NULL);
	if (!chip)
		return;
	line = gpiod_chip_get_line(chip, OUT_R1);
	CHECK(line && gpiod_line_request_output(line, "squatter", 0) == 0);
	CHECK(write_config("/tmp/c-busy.json", "fb-sim",
			   "{ \"relay1\": \"out4\", \"relay2\": \"out5\", \"relay3\": \"out6\" }"));
	CHECK(!start_driver(c, "/tmp/c-busy.json", "relays"));
	CHECK(log_contains("is in use by \"squatter\""));
	gpiod_line_release(line);
	gpiod_chip_close(chip);

	CHECK(write_config("/tmp/c-chip.json", "no-such-chip", "{ \"relay1\": \"out4\", "
			   "\"relay2\": \"out5\", \"relay3\": \"out6\" }"));
	CHECK(!start_driver(c, "/tmp/c-chip.json", "relays"));
	CHECK(log_contains("no GPIO chip labelled \"no-such-chip\"; chips found: gpiochip"));
	CHECK(log_contains("\"fb-sim\" (16 lines)"));

	CHECK(write_config("/tmp/c-line.json", "fb-sim", "{ \"relay1\": \"nope\", "
			   "\"relay2\": \"out5\", \"relay3\": \"out6\" }"));
	CHECK(!start_driver(c, "/tmp/c-line.json", "relays"));
	CHECK(log_contains("no line named \"nope\" on chip \"fb-sim\"; its lines: in0, in1"));
}

/* What GET gpio-chips shows (fb_gpio_chips_list, the web's listing) on a
 * real kernel while the driver holds its lines: the sim chip by its
 * label, its line names, and who uses which line. */
static void test_chip_listing(struct ctx *c)
{
	struct fb_gpio_chip_info *chips = NULL, *sim = NULL;
	size_t n = 0;

	(void)c;
	CHECK_EQ_INT(fb_gpio_chips_list(NULL, &chips, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(chips[i].label, getenv("FB_SIM_LABEL")))
			sim = &chips[i];
	CHECK(sim != NULL);
	if (sim) {
		CHECK(!strcmp(sim->name, getenv("FB_SIM_CHIP_NAME")));
		CHECK(!strcmp(sim->path, getenv("FB_SIM_CHIP")));
		CHECK(sim->error[0] == '\0');
		CHECK_EQ_INT(sim->nlines, 16);
	}
	if (sim && sim->nlines == 16) {
		CHECK(sim->lines[0].known && !strcmp(sim->lines[0].name, "in0"));
		CHECK(!strcmp(sim->lines[OUT_RELAY].name, "out0"));
		/* held by the driver, named after device and point */
		CHECK(sim->lines[IN_BOUNCE].used);
		CHECK(!strcmp(sim->lines[IN_BOUNCE].consumer, "fb:board.bounce"));
		CHECK(sim->lines[OUT_RELAY].used);
		CHECK(!strncmp(sim->lines[OUT_RELAY].consumer, "fb:board.", 9));
		CHECK(sim->lines[12].used); /* relays' relay1 = out4 */
		/* in7 is in no definition */
		CHECK(!strcmp(sim->lines[7].name, "in7"));
		CHECK(!sim->lines[7].used);
		CHECK(sim->lines[7].consumer[0] == '\0');
	}
	fb_gpio_chips_free(chips, n);
	printf("chip listing: %zu chip(s), backend %s\n", n, fb_gpio_backend());
}

int main(int argc, char **argv)
{
	struct ctx c = { .bin = argv[1], .config = argv[2], .sysfs = getenv("FB_SIM_SYSFS"),
			 .press_index = -1 };

	if (argc < 3 || !c.sysfs) {
		printf("SKIP: needs the gpio-sim guest (run-in-guest.sh) and "
		       "<fieldbridge-gpio> <config>\n");
		return 77;
	}
	for (unsigned i = 0; i < 8; i++)
		sim_set(&c, i, false);
	if (!start_driver(&c, c.config, "board")) {
		fprintf(stderr, "driver did not start; log:\n");
		system("cat " LOG);
		return 1;
	}
	test_chip_listing(&c);
	test_debounce_drops_bounces_and_short_pulses(&c);
	test_events(&c);
	test_outputs_start_initialised_and_follow_commands(&c);
	test_restart_outputs(&c);
	test_cover(&c);
	test_counter(&c);
	test_counter_debounced(&c);
	test_notify(&c);
	test_errors(&c);
	stop_driver(&c);
	if (fb_test_counts_.failed)
		system("tail -n 40 " LOG);
	printf("%d passed, %d failed\n", fb_test_counts_.passed, fb_test_counts_.failed);
	return fb_test_counts_.failed ? 1 : 0;
}
