/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the model's own files; not for other parts.
 *
 * Floors (each file calls only the files below it):
 *   vectors.c                              runs test vectors (for tools, tests)
 *   definition_override.c                  per-device copies with overrides
 *   definition.c                           the file loader, protocol dispatch
 *   definition_modbus.c, definition_gpio.c one point parser per protocol;
 *   definition_lint.c                      map plausibility warnings;
 *   definition_sunspec.c                   the "sunspec" block;
 *   definition_vectors.c                   the "tests" block
 *   ha_classes.c, codec.c                  Home Assistant's rules; the codec
 *   point.c, diag_points.c                 what a point is; the driver's points */
#ifndef FB_MODEL_INTERNAL_H
#define FB_MODEL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

struct cJSON;

/* True when scale/offset leave the raw value as it is. */
static inline bool fb_model_identity(const struct fb_point_def *p)
{
	return p->scale == 1.0 && p->offset == 0.0;
}

static inline bool fb_model_type_is_int(enum fb_data_type t)
{
	return t == FB_TYPE_INT16 || t == FB_TYPE_UINT16 || t == FB_TYPE_INT32 ||
	       t == FB_TYPE_UINT32 || t == FB_TYPE_INT64 || t == FB_TYPE_UINT64 ||
	       t == FB_TYPE_BCD16 || t == FB_TYPE_BCD32 || t == FB_TYPE_INT8 ||
	       t == FB_TYPE_UINT8 || t == FB_TYPE_INT8_SM;
}

static inline bool fb_model_type_is_byte(enum fb_data_type t)
{
	return t == FB_TYPE_INT8 || t == FB_TYPE_UINT8 || t == FB_TYPE_INT8_SM;
}

static inline bool fb_model_type_is_float(enum fb_data_type t)
{
	return t == FB_TYPE_FLOAT32 || t == FB_TYPE_FLOAT64;
}

static inline bool fb_model_type_is_numeric(enum fb_data_type t)
{
	return fb_model_type_is_int(t) || fb_model_type_is_float(t);
}

/* ---- point.c ---- */

/* JSON spellings, NULL-terminated, in enum order (write functions start at
 * FB_WRITE_FC05: index + 1 is the enum value). */
extern const char *const fb_point_table_names[];
extern const char *const fb_point_type_names[];
extern const char *const fb_point_order_names[];
extern const char *const fb_point_component_names[];
extern const char *const fb_point_write_fn_names[];
extern const char *const fb_point_poll_names[];

/* Raw value range of an integer or BCD type (the register bits read as
 * that type), exact.  Returns false for non-integer types. */
bool fb_point_int_range(enum fb_data_type t, int64_t *min, uint64_t *max);
/* The largest double not above max (INT64_MAX and UINT64_MAX have no
 * double: theirs round up, to 2^63 and 2^64). */
double fb_point_max_double(uint64_t max);
/* Whether x lies in min..max, exactly, with no wider type (long double is
 * double on 32-bit ARM).  NaN is not. */
bool fb_point_double_in_range(double x, int64_t min, uint64_t max);

/* Frees every string and array p owns (not p itself). */
void fb_point_clear(struct fb_point_def *p);

/* strdup that reports "<file>: out of memory" to d on failure.  NULL for
 * NULL.  Caller frees. */
char *fb_point_dup(const char *file, const char *s, struct fb_diag *d);

/* A whole string read as a decimal or 0x integer. */
bool fb_point_int_text(const char *s, long long *out);

/* The point key rule (docs/device-definitions.md, "Point keys"). */
bool fb_point_key_ok(const char *key);

/* Point field readers for both protocols.  `where` names the point in
 * messages ("x.json: points[3]"), `file` the out-of-memory message.  The
 * copy stored in *out is owned by the point.
 *
 * fb_point_read_key reads the required "key" and checks the key rule;
 * returns the key as written (borrowed from jp) or NULL if absent or not
 * a string. */
const char *fb_point_read_key(const char *file, const struct cJSON *jp,
			      const char *where, struct fb_diag *d, char **out);
/* "state_class" and "entity_category"; `angle` admits measurement_angle.
 * Return 1 (read), 0 (absent) or -1 (error reported), as fb_json_enum. */
int fb_point_read_state_class(const char *file, const struct cJSON *jp, bool angle,
			      const char *where, struct fb_diag *d, char **out);
int fb_point_read_category(const char *file, const struct cJSON *jp,
			   const char *where, struct fb_diag *d, char **out);

/* ---- definition_modbus.c, definition_gpio.c: the point parsers ----
 *
 * Each parses points[idx] of its protocol's definition into p (fields owned
 * by p, freed by fb_point_clear), reporting every problem to d with `file`,
 * the point and the field. */

/* `def` holds the top-level fields already read (read limits, forbidden
 * ranges), against which a point is checked. */
void fb_model_modbus_parse_point(const char *file, const struct cJSON *jp, size_t idx,
				 const struct fb_definition *def,
				 struct fb_point_def *p, struct fb_diag *d);

/* ---- definition_lint.c: map plausibility (docs/device-definitions.md,
 * "Lint") ----
 * Warnings over a Modbus definition's parsed points: mistakes that parse
 * but read the wrong registers or tell Home Assistant the wrong thing.
 * Each rule can be waived per point with "lint_ok": {"rule": "why"}. */
enum fb_lint_rule {
	FB_LINT_OVERLAP,      /* two points on one register */
	FB_LINT_STRIDE,       /* _l1/_l2/_l3 (or _1.._n) not evenly spaced */
	FB_LINT_ALIGNMENT,    /* a 32/64-bit value off the parity of its siblings */
	FB_LINT_MODICON,      /* 30001/40001-style 1-based addresses */
	FB_LINT_CLASS,        /* "reactive"/"apparent" named, energy/power class */
	FB_LINT_STATE_CLASS,  /* counters vs demand/peak values */
	FB_LINT_UNSIGNED,     /* a quantity that can go negative read unsigned */
	FB_LINT_SCALE_FACTOR, /* a scale-factor register read unsigned */
	FB_LINT_TABLE,        /* function code against the manufacturer's family */
	FB_LINT_ORDER,        /* word order against the manufacturer's family */
	FB_LINT_SENTINEL,     /* the family's "not available" code not declared */
	FB_LINT_LIMITS,       /* a writable number without min and max */
	FB_LINT_COUNT
};
/* "overlap", "stride", ...: NULL-terminated, in enum order. */
extern const char *const fb_lint_rule_names[];

/* Reads a point's "lint_ok" object (rule name -> reason) into *mask;
 * unknown rules are errors with a did-you-mean, an empty reason too. */
void fb_model_lint_read_waivers(const struct cJSON *jp, const char *where,
				struct fb_diag *d, uint32_t *mask);

void fb_model_modbus_lint(const char *file, const struct fb_definition *def,
			  struct fb_diag *d);

/* ---- definition_components.c: the "light", "cover", "fan", "climate"
 * and "text" blocks of Modbus points ----
 * _parse reads p's block (p->component and p->step already read);
 * _rules checks the block against p's table and type; _check relates a
 * climate to the points it names, once every point was parsed. */
void fb_model_components_parse(const char *file, const struct cJSON *jp, const char *where,
			       struct fb_point_def *p, struct fb_diag *d);
void fb_model_components_rules(const char *where, const struct fb_point_def *p,
			       bool bit_table, struct fb_diag *d);
void fb_model_components_check(const char *file, const struct fb_definition *def,
			       struct fb_diag *d);
/* Home Assistant's HVAC modes, NULL-terminated. */
extern const char *const fb_climate_mode_names[];

/* ---- definition_sunspec.c: the "sunspec" block (model id -> address the
 * points assume), and the points' sunspec_model against it. */
void fb_model_sunspec_parse(const char *file, const struct cJSON *root,
			    struct fb_definition *def, struct fb_diag *d);
/* A vector's view of a point: where its sunspec_chain puts it (false:
 * not in that chain, unknown), else the point as written. */
bool fb_model_vector_point(const struct fb_definition *def, const struct fb_vector *v,
			   const struct fb_point_def *orig, struct fb_point_def *out);
void fb_model_sunspec_check(const char *file, const struct fb_definition *def,
			    struct fb_diag *d);

void fb_model_gpio_parse_point(const char *file, const struct cJSON *jp, size_t idx,
			       struct fb_point_def *p, struct fb_diag *d);
/* What needs every point: sources exist and have the right role, a
 * cover's relays are outputs (which it takes over: read-only, off at
 * start and exit), and the component references.  Called once all points
 * were parsed. */
void fb_model_gpio_check(struct fb_definition *def, struct fb_diag *d);

/* ---- definition_vectors.c: the "tests" block ----
 * Parses root's "tests" into def->vectors once def's points are parsed
 * (vectors name points), reporting every problem to d with `file` and the
 * JSON path.  fb_model_vectors_free frees them (def itself stays). */
void fb_model_vectors_parse(const char *file, const struct cJSON *root,
			    struct fb_definition *def, struct fb_diag *d);
void fb_model_vectors_free(struct fb_definition *def);

/* definition_identify.c: the optional "identify" block into def->identify
 * (freed by fb_model_identify_free; def itself stays). */
void fb_model_identify_parse(const char *file, const struct cJSON *root,
			     struct fb_definition *def, struct fb_diag *d);
void fb_model_identify_free(struct fb_definition *def);

#endif
