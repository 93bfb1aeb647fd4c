/* SPDX-License-Identifier: Apache-2.0 */
/* Device definitions: a drop-in JSON file per supported device model
 * (devices/NAME.json) describing its register or GPIO map and how each point
 * appears in Home Assistant.  The schema is documented in
 * docs/device-definitions.md.
 *
 * Memory: fb_model_load returns a definition the caller frees with
 * fb_model_free; every string inside is owned by it. */
#ifndef FB_MODEL_H
#define FB_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "table.h"

/* Modbus Application Protocol v1.1b3 §6.1-6.4: one read returns at most
 * 125 registers or 2000 bits. */
#define MB_MAX_READ_REGISTERS 125
#define MB_MAX_READ_BITS 2000

enum fb_reg_table {
	FB_REG_COIL,
	FB_REG_DISCRETE_INPUT,
	FB_REG_INPUT,
	FB_REG_HOLDING,
};

enum fb_data_type {
	FB_TYPE_BOOL,     /* coil/discrete input, or a register != 0 */
	FB_TYPE_INT16,
	FB_TYPE_UINT16,
	FB_TYPE_INT32,
	FB_TYPE_UINT32,
	FB_TYPE_INT64,
	FB_TYPE_UINT64,
	FB_TYPE_FLOAT32,
	FB_TYPE_FLOAT64,
	FB_TYPE_STRING,   /* `length` registers, 2 chars each */
	FB_TYPE_BIT,      /* bit `bit` of a 16-bit register */
	FB_TYPE_BCD16,
	FB_TYPE_BCD32,
	FB_TYPE_INT8,     /* one byte of a register (`byte`), two's complement */
	FB_TYPE_UINT8,
	FB_TYPE_INT8_SM,  /* one byte, sign-magnitude: bit 7 the sign (Renogy) */
};

/* Byte order of a multi-register value, named by where bytes A (most
 * significant) .. D land on the wire: ABCD = big endian, high word first;
 * CDAB = low word first; BADC = bytes swapped in each word; DCBA = little
 * endian.  For 64-bit values the same rule applies per pair of words.
 * Spelled out for 64-bit bytes A..H (A most significant), registers in wire
 * order: ABCD = AB CD EF GH; CDAB = GH EF CD AB (word order reversed);
 * BADC = BA DC FE HG; DCBA = HG FE DC BA.  A single register is byte-swapped
 * by BADC/DCBA and left alone by ABCD/CDAB. */
enum fb_byte_order {
	FB_ORDER_ABCD,
	FB_ORDER_CDAB,
	FB_ORDER_BADC,
	FB_ORDER_DCBA,
};

enum fb_component {
	FB_COMP_SENSOR,
	FB_COMP_BINARY_SENSOR,
	FB_COMP_SWITCH,
	FB_COMP_NUMBER,
	FB_COMP_SELECT,
	FB_COMP_BUTTON,
	FB_COMP_EVENT,   /* presses: single, double, long; protocol gpio only */
	FB_COMP_LIGHT,   /* on/off like a switch (a relay) */
	FB_COMP_VALVE,   /* open/closed like a switch, without position */
	/* One writable register each, described by a block named like the
	 * component (struct fb_point_ext, definition_components.c). */
	FB_COMP_COVER,   /* a position register: open, close, set position */
	FB_COMP_FAN,     /* a speed-step register: off, speed steps, presets */
	FB_COMP_CLIMATE, /* a setpoint register, with the points it names */
	FB_COMP_TEXT,    /* a writable string */
};

enum fb_write_fn {
	FB_WRITE_NONE,
	FB_WRITE_FC05, /* write single coil */
	FB_WRITE_FC06, /* write single register */
	FB_WRITE_FC15, /* write multiple coils */
	FB_WRITE_FC16, /* write multiple registers */
};

enum fb_poll_class {
	FB_POLL_FAST,    /* interval / 4 */
	FB_POLL_NORMAL,  /* the device's poll interval */
	FB_POLL_SLOW,    /* interval * 10 */
	FB_POLL_ONCE,    /* read once after connect (serial numbers, firmware) */
};

struct fb_select_option {
	int64_t raw;       /* register value */
	char *label;       /* what Home Assistant shows */
};

/* ---- GPIO (protocol "gpio" definitions, docs/device-definitions.md) ----
 * A gpio point is one role on one line.  The definition may name a default
 * line; the configuration binds every line-using point to a line of the
 * bus's chip ("lines" in docs/configuration.md) and may override the
 * electrical fields.  Parsed by definition_gpio.c. */
enum fb_gpio_role {
	FB_GPIO_NONE = 0,     /* not a gpio point (a modbus definition) */
	FB_GPIO_INPUT,        /* binary_sensor: a debounced input line */
	FB_GPIO_OUTPUT,       /* switch: drives an output line */
	FB_GPIO_PULSE_OUTPUT, /* button: drives the line active for pulse_ms */
	FB_GPIO_COUNTER,      /* total_increasing sensor: pulses / impulses_per_unit */
	FB_GPIO_RATE,         /* sensor: rate from the pulse interval of `source` */
	FB_GPIO_EVENT,        /* event: presses of the input `source` */
	FB_GPIO_COVER,        /* cover: two outputs with a run time ("cover" block) */
};

enum fb_gpio_bias {
	FB_GPIO_BIAS_AS_IS,      /* leave the line's bias alone */
	FB_GPIO_BIAS_DISABLED,
	FB_GPIO_BIAS_PULL_UP,
	FB_GPIO_BIAS_PULL_DOWN,
};

/* What an output does when the driver exits: keep its value, or drive a
 * safe value (logical off/on) before the line is released. */
enum fb_gpio_exit { FB_GPIO_EXIT_KEEP, FB_GPIO_EXIT_OFF, FB_GPIO_EXIT_ON };

struct fb_gpio_point {
	enum fb_gpio_role role;
	char *line;              /* default line name, NULL if none */
	int line_offset;         /* default line offset, -1 if none */
	bool active_low;         /* the logical value is the inverse of the level */
	enum fb_gpio_bias bias;
	uint32_t debounce_ms;    /* inputs and counters: level stable this long */
	bool initial;            /* outputs: logical value at start ... */
	bool restore;            /* ... unless the state dir has the last one */
	enum fb_gpio_exit on_exit;
	uint32_t pulse_ms;       /* pulse outputs: how long the line is active */
	double impulses_per_unit; /* counters: e.g. 1000 impulses per kWh */
	char *source;            /* rate, event: key of the counter / input */
	double rate_scale;       /* rate = units per rate_period_s * rate_scale */
	uint32_t rate_period_s;  /* 3600: units per hour (kWh -> kW) */
	uint32_t rate_timeout_s; /* rate drops to 0 after this long without pulses */
	uint32_t double_ms;      /* event: max gap between two presses of a double */
	uint32_t long_ms;        /* event: held this long = a long press */
};

#define FB_POINT_REQUEST_MAX 32

/* A point's component block ("light", "cover", "fan", "climate", "text"):
 * how Home Assistant's payloads map to the point's one register.  All
 * values are in the point's value units (after scale/offset). */
struct fb_point_ext {
	int64_t brightness_scale;  /* light: value of full brightness; 0 = on/off */
	int64_t position_open, position_closed; /* cover */
	bool has_stop;             /* cover: stop_value stops a position register */
	int64_t stop_value;
	/* A cover on two relays (no register of its own; its value is the
	 * estimated position 0..100): the keys of the relay points, the
	 * travel times and the rest before reversing. */
	char *relay_open, *relay_close; /* NULL for a position register */
	uint32_t open_ms, close_ms, reverse_pause_ms;
	int64_t fan_off, fan_on, speed_min, speed_max; /* fan: raw values */
	struct fb_select_option *presets; /* fan: value -> preset mode name */
	size_t npresets;
	char *current_temperature; /* climate: key of a sensor point, or NULL */
	char *mode;                /* climate: key of a select point, or NULL */
	char *fixed_mode;          /* climate without a mode point ("heat") */
	double temp_precision;     /* climate: 0.1, 0.5 or 1 */
	char *pattern;             /* text: POSIX ERE the whole text must match */
	uint16_t min_length;       /* text */
	bool password;             /* text: HA mode "password" */
};

struct fb_point_def {
	char *key;                 /* unique within the definition; the rule is in
				    * docs/device-definitions.md, "Point keys" */
	char *name;                /* human name */
	enum fb_reg_table table;
	uint16_t address;          /* 0-based protocol address */
	enum fb_data_type type;
	uint8_t bit;               /* FB_TYPE_BIT: 0..15 */
	bool byte_high;            /* 8-bit types: the register's high byte */
	uint16_t length;           /* FB_TYPE_STRING: registers */
	enum fb_byte_order order;
	double scale, offset;      /* value = raw * scale + offset */
	int precision;             /* -1 = not set; suggested_display_precision */
	char *unit;                /* NULL if none */
	char *raw_unit;            /* what one raw count is ("0.1 Wh"), for the
				    * lint's scale check; NULL if not stated */
	enum fb_component component;
	char *device_class, *state_class, *entity_category, *icon; /* NULL if none */
	bool writable;
	enum fb_write_fn write_fn;
	uint16_t coil_on_raw, coil_off_raw; /* FC05 values, default 0xFF00/0x0000 */
	int64_t press_raw;         /* button: value written on press */
	/* button: a raw request PDU (function code + data) sent on press
	 * instead of a write, e.g. PZEM's bare 0x42 energy reset; 0 = none. */
	uint8_t request[FB_POINT_REQUEST_MAX];
	uint8_t request_len;
	/* A switch on an integer register: the raw values meaning on and off
	 * (Sungrow 0xAA/0x55); any other value reads as unknown. */
	bool has_switch_raw;
	int64_t switch_on_raw, switch_off_raw;
	/* value = raw * scale * 10^(int16 register scale_register of the same
	 * table), both read in one request (SunSpec's sunssf); 0x8000 there
	 * means not implemented: unknown. */
	bool has_scale_register;
	uint16_t scale_register;
	bool has_min, has_max;
	double min, max, step;
	struct fb_select_option *options;
	size_t noptions;
	enum fb_poll_class poll;
	bool has_sentinel;
	int64_t sentinel_raw;      /* raw value meaning "not available" */
	/* Publishing filters, applied by the driver after decoding: a
	 * numeric value that moved less than the deadband since the last
	 * published one is not re-published; heartbeat_s re-publishes an
	 * unchanged value anyway (0 = never). */
	double deadband;           /* 0 = every change; absolute, or percent */
	bool deadband_pct;         /* deadband is % of the last published value */
	int heartbeat_s;
	uint32_t lint_ok;          /* "lint_ok": bit (1 << FB_LINT_*) per waived rule */
	uint16_t sunspec_model;    /* SunSpec model the point is in; 0 = none */
	uint8_t sunspec_instance;  /* which one of that kind (meter 2); 0/1 = first */
	/* Register offset of the same value in the float model (111-113 for
	 * 101-103, 211-214 for 201-204) from its ID register; a point without
	 * one is not present on a device that carries the float model. */
	bool has_sunspec_float;
	uint16_t sunspec_float;
	bool not_present;          /* set by the Modbus driver on its own copy of
				    * the points: the device has no such model,
				    * the point is never read (stays unknown) */
	struct fb_point_ext ext;   /* cover, fan, climate, text, dimmer light */
	struct fb_gpio_point gpio; /* role FB_GPIO_NONE in modbus definitions */
};

struct fb_serial_defaults {
	int baud;          /* 0 = not given */
	char parity;       /* 'N', 'E', 'O' */
	int data_bits, stop_bits;
};

/* ---- test vectors (docs/device-definitions.md, "Test vectors") ----
 * A vector is a run of raw words as a device sends them, starting at one
 * address of one table, with the values the definition must decode from
 * them.  Parsed with the definition (definition_vectors.c), run by
 * fb_model_run_vectors (vectors.c) with the real codec. */
enum fb_expect_kind {
	FB_EXPECT_NUMBER,  /* a numeric point, compared within a tolerance */
	FB_EXPECT_BOOL,
	FB_EXPECT_STRING,
	FB_EXPECT_UNKNOWN, /* null: the words are a sentinel, NaN ... */
};

struct fb_vector_expect {
	size_t point;              /* index into fb_definition.points */
	enum fb_expect_kind kind;
	double number;             /* FB_EXPECT_NUMBER; options labels resolved */
	bool b;                    /* FB_EXPECT_BOOL */
	char *s;                   /* FB_EXPECT_STRING */
	double tolerance;          /* absolute, or percent of |number| */
	bool tolerance_pct;
	char *unit;                /* the unit the vector's author meant; must
				    * equal the point's.  NULL = not stated */
};

enum fb_invariant_op {
	FB_INVARIANT_SUM,          /* equals = terms[0] + terms[1] + ... */
	FB_INVARIANT_PRODUCT,      /* equals = terms[0] * terms[1] * ... */
};

/* A relation between values decoded from the same vector, e.g.
 * total = import + export, P = V * I * PF. */
struct fb_invariant {
	char *name;
	enum fb_invariant_op op;
	size_t equals;             /* point index */
	size_t *terms;             /* point indexes */
	size_t nterms;
	double tolerance;
	bool tolerance_pct;        /* percent of |equals| */
};

/* Words read from one address on (one reply, or part of one). */
struct fb_vector_block {
	uint16_t address;          /* of words[0] */
	uint16_t *words;           /* wire order; one 0/1 per bit on bit tables */
	size_t nwords;
};

struct fb_vector {
	char *name;
	char *source;              /* "captured: <where>" or "constructed: <why>" */
	bool captured;
	enum fb_reg_table table;
	struct fb_vector_block *blocks; /* one for "address" + "words" */
	size_t nblocks;
	struct fb_vector_expect *expect;
	size_t nexpect;
	struct fb_invariant *invariants;
	size_t ninvariants;
	/* "sunspec_chain": the models the words belong to, resolved against
	 * the definition's sunspec models (def->nsunspec entries); NULL = the
	 * addresses as written. */
	struct fb_sunspec_found *sunspec_found;
};

/* One register of a definition's "identify" block (definition_identify.c):
 * what a bus scan reads at a unit it found, and what it must hold. */
struct fb_identify_reg {
	struct fb_point_def p;     /* table, address, type, order (decoding) */
	int64_t *values;           /* "values": any of these */
	size_t nvalues;
	bool has_range;            /* "range": min..max */
	int64_t min, max;
	bool equals_unit_id;       /* the device's own address register */
};

/* A SunSpec model as the definition's addresses assume it (definition
 * "sunspec" block): the address of its ID register. */
struct fb_sunspec_model {
	uint16_t model, address;
	uint8_t instance;          /* "203:2" = the second meter; 1 = first */
};

/* Where a device really carries one of the definition's sunspec models:
 * the model id found there (113 where the definition says 103), the
 * address of its ID register and its length L; id 0 = absent. */
struct fb_sunspec_found {
	uint16_t id, address, length;
};

struct fb_definition {
	char *id;              /* file stem, e.g. "eastron-sdm120" */
	char *path;            /* where it was loaded from */
	char *manufacturer, *model;
	char *protocol;        /* "modbus" or "gpio" */
	struct fb_serial_defaults serial;
	uint16_t max_registers_per_read; /* <= MB_MAX_READ_REGISTERS */
	uint16_t max_bits_per_read;      /* <= MB_MAX_READ_BITS */
	uint16_t max_gap;                /* registers that may be read through */
	/* Pacing the device needs (0 = none): silence before each request to
	 * it, its shortest poll interval, a wait after the link connects. */
	uint32_t request_gap_ms, min_interval_ms, connect_delay_ms;
	struct { uint16_t first, last; } *forbidden; /* never read these */
	size_t nforbidden;
	struct fb_point_def *points;
	size_t npoints;
	struct fb_vector *vectors; /* "tests" */
	size_t nvectors;
	struct fb_identify_reg *identify; /* "identify"; NULL if none */
	size_t nidentify;
	struct fb_sunspec_model *sunspec; /* "sunspec".models; NULL if none */
	size_t nsunspec;
	uint32_t sunspec_rescan_s;        /* walk the chain again this often */
};

/* ---- the file loader (definition.c) ---- */

/* Loads and validates one definition file.  Every problem is added to diag
 * with file and path ("sdm120.json: points[3].address: expected ...").
 * Returns NULL if there was any error: a bad definition disables the device
 * that uses it, never the gateway. */
struct fb_definition *fb_model_load(const char *path, struct fb_diag *diag);
void fb_model_free(struct fb_definition *def); /* accepts NULL */

/* Looks for "<dirs[i]>/<id>.json" in order; returns the first that exists
 * loaded as above, or NULL: errno ENOENT after an error naming every
 * directory searched and the closest ids found there, EINVAL after the
 * definition's own errors. */
struct fb_definition *fb_model_find(const char *id, const char *const *dirs,
				    size_t ndirs, struct fb_diag *diag);

/* ---- matching a found device (definition_identify.c) ---- */

/* Reads `count` registers of `table` at `address` of the unit being
 * identified into regs; 0, or -1 if the unit did not answer with values
 * (an exception: the definition does not match). */
typedef int (*fb_identify_read_fn)(void *ctx, enum fb_reg_table table, uint16_t address,
				   uint16_t count, uint16_t *regs);
/* 1 if every identify register of def holds what it expects at unit
 * `unit_id`, 0 if not (or def has no identify block), -1 if a read failed. */
int fb_identify_match(const struct fb_definition *def, int unit_id,
		      fb_identify_read_fn read, void *ctx);

/* The definition's entry for a SunSpec model, or NULL.  Borrowed. */
const struct fb_sunspec_model *fb_model_sunspec_model(const struct fb_definition *def,
						      uint16_t model);
/* The entry of a point (its model and instance), or NULL. */
const struct fb_sunspec_model *fb_model_sunspec_entry(const struct fb_definition *def,
						      const struct fb_point_def *p);
/* The kind a model id counts as for instances and layouts: 103 for
 * 101-103 and 111-113 (inverters), 203 for 201-204 and 211-214 (meters),
 * the id itself otherwise. */
uint16_t fb_model_sunspec_kind(uint16_t id);
/* Whether a model carries float32 values without scale factors. */
bool fb_model_sunspec_is_float(uint16_t id);
/* Matches the device's chain (models in order, as walked) to the
 * definition's entries: found[i] for def->sunspec[i], the n-th model of a
 * kind going to the entry with instance n. */
void fb_model_sunspec_assign(const struct fb_definition *def,
			     const struct fb_sunspec_found *chain, size_t nchain,
			     struct fb_sunspec_found *found);
/* The point as it is on the device (*out, a shallow copy of *orig moved
 * to its model's address; on a float model a scaled value becomes
 * float32 ABCD without scale factor or sentinel, NaN reading as
 * unknown).  false: the device lacks the model, the model is too short
 * for the point (model 160 with fewer modules), or the float model has
 * no such value. */
bool fb_model_sunspec_place(const struct fb_definition *def,
			    const struct fb_sunspec_found *found,
			    const struct fb_point_def *orig, struct fb_point_def *out);

/* ---- per-device overrides (definition_override.c) ---- */

/* One configured change to a point of a device's definition. */
struct fb_point_override {
	char *key;                        /* the point; must exist */
	char *name, *device_class, *icon; /* NULL = as the definition says */
	bool disabled;                    /* the device has no such point */
};

/* A copy of def for one device with the overrides applied: names, classes
 * and icons replaced (classes checked against Home Assistant's rules as in
 * a file), disabled points removed (and the file's test vectors, which
 * index them).  Its id is "<id>@<device>".  Every problem is an error in
 * diag at `where` ("fieldbridge.json: buses[0].devices[2]"), an unknown
 * point key with a did-you-mean.  Returns NULL after an error.  Free with
 * fb_model_free. */
struct fb_definition *fb_model_with_overrides(const struct fb_definition *def,
					      const struct fb_point_override *ov, size_t n,
					      const char *device, const char *where,
					      struct fb_diag *diag);

/* ---- running the test vectors (vectors.c) ---- */

struct fb_vector_report {
	size_t vectors;            /* vectors run */
	size_t captured;           /* of which captured from a real device */
	size_t checks;             /* expectations and invariants checked */
	size_t failed;             /* of which failed */
};

/* Decodes every vector of def with fb_codec_decode and compares each
 * expectation and invariant.  Every failure is one error in diag naming the
 * file, the vector and the point, with the value got and the one expected:
 *   "x.json: tests[1] (L2 reactive).expect.reactive_power_l2: got 12.5,
 *    expected 30.1 ± 1e-06 (input_register 0x001A: 0x41F8 0x0000)"
 * rep (may be NULL) receives the counts.  Returns the number of failed
 * checks (0 = all passed). */
size_t fb_model_run_vectors(const struct fb_definition *def, struct fb_diag *diag,
			    struct fb_vector_report *rep);

/* The block of v that holds every register of p, or NULL.  Borrowed. */
const struct fb_vector_block *fb_model_vector_block(const struct fb_vector *v,
						    const struct fb_point_def *p);

/* True when some vector of def has an expectation for points[index]. */
bool fb_model_point_has_vector(const struct fb_definition *def, size_t index);

/* ---- what a point is (point.c) ---- */

/* The point of def with this key, or NULL (also for a NULL def or key).
 * Borrowed from def. */
const struct fb_point_def *fb_model_point(const struct fb_definition *def,
					  const char *key);

/* A command as text (Home Assistant's payload, fieldbridgectl's VALUE) ->
 * the table value for point p: ON/OFF (1/0, true/false) for a switch, PRESS
 * for a button, an option label for a select, a finite number within
 * min..max for a number and a climate setpoint; for a dimmer light ON, OFF
 * or a level 0..brightness_scale; for a cover OPEN, CLOSE or a position
 * between position_closed and position_open, and STOP (the stop_value of
 * a position register; the string "STOP" for a cover on relays); for a fan ON, OFF, a speed
 * step or a preset name; for a text a string that fits and matches its
 * pattern.  Returns 0, or -1 if p takes no such command. */
int fb_point_parse_command(const struct fb_point_def *p, const char *text, struct fb_value *v);

/* True for coils and discrete inputs (one 0/1 per address). */
bool fb_point_is_bit_table(const struct fb_point_def *p);
/* Registers (or bits) a point occupies on the wire. */
uint16_t fb_point_width(const struct fb_point_def *p);
/* The registers (or bits) one read of p must cover, inclusive: its own,
 * and its scale_register. */
void fb_point_extent(const struct fb_point_def *p, uint16_t *first, uint16_t *last);
/* The table value kind a point decodes to. */
enum fb_value_kind fb_point_value_kind(const struct fb_point_def *p);

/* JSON spellings of the enums ("sensor", "float32", "holding_register",
 * "CDAB", "fc16", "slow").  Static strings; "?" for a value outside the
 * enum. */
const char *fb_component_name(enum fb_component c);
const char *fb_data_type_name(enum fb_data_type t);
const char *fb_reg_table_name(enum fb_reg_table t);
const char *fb_byte_order_name(enum fb_byte_order o);
const char *fb_write_fn_name(enum fb_write_fn f); /* FB_WRITE_NONE: "none" */
const char *fb_poll_class_name(enum fb_poll_class c);

/* ---- wire registers <-> values (codec.c) ---- */

/* Decodes `regs` (host-order 16-bit registers as libmodbus returns them, or
 * one 0/1 per element for bit tables) into v, applying order, scale and
 * offset and sentinel.  Returns 0, or -1 with errno EINVAL (bad BCD digit). */
int fb_codec_decode(const struct fb_point_def *p, const uint16_t *regs,
		    struct fb_value *v);
/* Decodes p from a run of `count` registers read from address `first` on
 * (one reply): as fb_codec_decode, and for a point with a scale_register
 * the exponent from that register of the same run.  The only decoder for
 * such points (fb_codec_decode refuses them: EINVAL).  Returns 0, or -1
 * with errno EINVAL (p or its scale register outside the run, bad BCD). */
int fb_codec_decode_run(const struct fb_point_def *p, const uint16_t *regs,
			uint16_t first, size_t count, struct fb_value *v);
/* Encodes a value for writing.  Applies the inverse scale/offset, rounds,
 * checks the type's range.  Returns the number of registers (or bits) in
 * regs, or -1 with errno ERANGE/EINVAL. */
int fb_codec_encode(const struct fb_point_def *p, const struct fb_value *v,
		    uint16_t *regs, size_t max_regs);

/* ---- Home Assistant's rules (ha_classes.c) ---- */

/* Checks a point's Home Assistant metadata (device_class, state_class,
 * unit, entity_category) against the rules Home Assistant enforces for its
 * component, e.g. that energy is total/total_increasing and in Wh, kWh, ...
 * `where` prefixes every message ("x.json: points[3] (voltage)", borrowed).
 * fb_model_load already calls this; it is exported for tools that build
 * points by hand.  Returns 0, or -1 after adding at least one error. */
int fb_model_check_ha(const char *where, const struct fb_point_def *p,
		      struct fb_diag *diag);

/* ---- the Modbus driver's diagnostic points (diag_points.c) ----
 *
 * Points the Modbus driver adds to every device in the state table, after
 * the definition's points, under keys starting with "_diag_", which the
 * point key rule keeps out of definitions.  Exporters
 * publish them with entity_category "diagnostic".  Bus-wide figures
 * (bus_*) are repeated on every device of the bus, because Home Assistant
 * has no entity for a bus. */
struct fb_diag_point_desc {
	const char *key;           /* "_diag_requests" ... */
	const char *name;          /* "Modbus requests" */
	const char *unit;          /* NULL if none */
	const char *state_class;   /* "total_increasing", "measurement" or NULL */
	const char *device_class;  /* NULL, "duration", "connectivity" */
	enum fb_value_kind kind;   /* UINT, FLOAT or BOOL */
	bool binary;               /* a binary_sensor rather than a sensor */
};
enum fb_diag_point {
	FB_DIAG_REQUESTS,
	FB_DIAG_ERRORS,
	FB_DIAG_TIMEOUTS,
	FB_DIAG_CRC_ERRORS,
	FB_DIAG_LATENCY_MS,
	FB_DIAG_BUS_UTILISATION,
	FB_DIAG_BUS_CONNECTED,
	FB_DIAG_BUS_SCANNING,
	FB_DIAG_COUNT
};
/* The static list, FB_DIAG_COUNT entries in enum order; never freed. */
const struct fb_diag_point_desc *fb_model_diag_points(size_t *n);
/* fieldbridge-mbserver's statistics (its own table, one device per
 * server, config.h fb_mbserver_conf.status), written every second. */
enum fb_mbs_diag_point {
	FB_MBS_DIAG_CLIENTS,          /* clients connected now */
	FB_MBS_DIAG_REQUESTS_PER_S,   /* requests answered, last second */
	FB_MBS_DIAG_ERRORS_PER_S,     /* of which exceptions or bad frames */
	FB_MBS_DIAG_COUNT
};
#define FB_MODEL_PROTOCOL_MBSERVER "mbserver"
/* The static list, FB_MBS_DIAG_COUNT entries in enum order. */
const struct fb_diag_point_desc *fb_model_mbserver_diag_points(size_t *n);
/* The built-in definition of a server's statistics device: protocol
 * "mbserver", no points (static, never freed). */
const struct fb_definition *fb_model_mbserver_definition(void);
/* The diagnostic points a device of definition def has in its table:
 * the Modbus list, the server list, or none (NULL, *n = 0; GPIO). */
const struct fb_diag_point_desc *fb_model_diag_points_of(const struct fb_definition *def,
							 size_t *n);
/* True for a table point key in the reserved diagnostic namespace. */
bool fb_model_is_diag_key(const char *key);

/* ---- a cover on two relays (cover_run.c) ----
 * The run as pure arithmetic on a monotonic clock (ms): commands and
 * ticks change the phase; the driver switches the relays as
 * fb_cover_run_relays says (every relay off before any other on) and
 * wakes at fb_cover_run_deadline.  The position (0 closed .. 100 open)
 * is NaN until a run reached an end stop. */
enum fb_cover_phase { FB_COVER_IDLE, FB_COVER_OPENING, FB_COVER_CLOSING, FB_COVER_PAUSE };
enum fb_cover_cmd { FB_COVER_OPEN, FB_COVER_CLOSE, FB_COVER_STOP, FB_COVER_SET };
struct fb_cover_run {
	uint32_t open_ms, close_ms, pause_ms;
	enum fb_cover_phase phase;
	double pos;                /* at `since` while moving; NaN = unknown */
	double target;
	int64_t since, deadline;   /* run start; end of the run or the pause */
	int pending;               /* PAUSE: +1 open, -1 close afterwards */
	int last_dir;              /* of the last run that ended, 0 = none */
	int64_t off_at;            /* when it ended */
};
void fb_cover_run_init(struct fb_cover_run *c, uint32_t open_ms, uint32_t close_ms,
		       uint32_t pause_ms);
/* OPEN, CLOSE, STOP, or SET to target 0..100.  Returns -1 (nothing
 * changed) for a target outside 0..100, or between the ends while the
 * position is unknown. */
int fb_cover_run_command(struct fb_cover_run *c, enum fb_cover_cmd cmd, double target,
			 int64_t now);
/* The driver saw the relays off at t (after its writes were answered):
 * the reversal rest runs from then. */
void fb_cover_run_off_confirmed(struct fb_cover_run *c, int64_t t);
/* Ends a run or a pause whose deadline has come. */
void fb_cover_run_tick(struct fb_cover_run *c, int64_t now);
/* The next deadline, 0 = none (idle). */
int64_t fb_cover_run_deadline(const struct fb_cover_run *c);
void fb_cover_run_relays(const struct fb_cover_run *c, bool *open_on, bool *close_on);
double fb_cover_run_position(const struct fb_cover_run *c, int64_t now);
/* "opening", "closing", "open", "closed" or "stopped". */
const char *fb_cover_run_state(const struct fb_cover_run *c, int64_t now);

/* ---- GPIO points (definition_gpio.c) ---- */

/* JSON spellings: "input", "pull_up", "keep" ...; "?" outside the enum. */
const char *fb_gpio_role_name(enum fb_gpio_role r);
const char *fb_gpio_bias_name(enum fb_gpio_bias b);
/* True for roles that use a line of their own. */
bool fb_gpio_role_has_line(enum fb_gpio_role r);

#endif
