/* SPDX-License-Identifier: Apache-2.0 */
/* The definition lint: map mistakes that parse but read the wrong registers
 * or tell Home Assistant the wrong thing.  Each rule is one a peer's shipped
 * map got wrong (shared/research/devices.md §2, §4); each is a warning that a
 * point can waive with "lint_ok": {"rule": "why"}, because a map may mean it.
 * The one error here, "raw_unit" against "scale", is a contradiction the file
 * states itself. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const fb_lint_rule_names[] = {
	"overlap", "stride", "alignment", "modicon", "class", "state_class",
	"unsigned", "scale_factor", "table", "order", "sentinel", "limits", NULL,
};

void fb_model_lint_read_waivers(const cJSON *jp, const char *where, struct fb_diag *d,
				uint32_t *mask)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(jp, "lint_ok"), *it;
	char *sub = NULL;

	*mask = 0;
	if (!o || cJSON_IsNull(o))
		return;
	if (!cJSON_IsObject(o)) {
		fb_diag_error(d, "%s.lint_ok: expected an object of rule to reason "
			      "({\"unsigned\": \"the meter reports magnitudes only\"})", where);
		return;
	}
	if (asprintf(&sub, "%s.lint_ok", where) < 0)
		return;
	fb_json_unknown_keys(o, fb_lint_rule_names, sub, d);
	cJSON_ArrayForEach(it, o) {
		for (int r = 0; fb_lint_rule_names[r]; r++) {
			if (strcmp(it->string, fb_lint_rule_names[r]))
				continue;
			if (!cJSON_IsString(it) || !it->valuestring[0])
				fb_diag_error(d, "%s.%s: expected the reason as a non-empty "
					      "string", sub, it->string);
			else
				*mask |= 1u << r;
		}
	}
	free(sub);
}

/* ---- helpers ---- */

static bool waived(const struct fb_point_def *p, enum fb_lint_rule r)
{
	return p->lint_ok & (1u << r);
}

/* Case-insensitive: does the key or the name contain word? */
static bool says(const struct fb_point_def *p, const char *word)
{
	size_t n = strlen(word);

	for (int k = 0; k < 2; k++) {
		const char *s = k ? p->name : p->key;

		for (; s && *s; s++)
			if (!strncasecmp(s, word, n))
				return true;
	}
	return false;
}

static bool is_class(const struct fb_point_def *p, const char *c)
{
	return p->device_class && !strcmp(p->device_class, c);
}

static bool is_register(const struct fb_point_def *p)
{
	return p->key && (p->table == FB_REG_INPUT || p->table == FB_REG_HOLDING);
}

static bool is_unsigned(enum fb_data_type t)
{
	return t == FB_TYPE_UINT16 || t == FB_TYPE_UINT32 || t == FB_TYPE_UINT64 ||
	       t == FB_TYPE_BCD16 || t == FB_TYPE_BCD32;
}

static bool is_wide_number(const struct fb_point_def *p)
{
	return is_register(p) && fb_model_type_is_numeric(p->type) && fb_point_width(p) >= 2;
}

/* ---- overlap: two points on the same registers of one table ---- */

struct lint_span {
	uint32_t first, last; /* registers or bits, inclusive */
	size_t idx;           /* in def->points */
};

static int lint_span_cmp(const void *pa, const void *pb)
{
	const struct lint_span *a = pa, *b = pb;

	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* A copy-paste address (SDM630 L2 reactive power at L1's register in a
 * peer's map).  Bits and bytes of one register share it by design, so
 * they are left out.  Sorted by first register, each point is compared with the
 * one reaching furthest among those before it: O(n log n). */
static void lint_overlaps(const char *file, const struct fb_definition *def,
			  enum fb_reg_table table, struct fb_diag *d)
{
	struct lint_span *spans = calloc(def->npoints ? def->npoints : 1, sizeof(*spans));
	size_t n = 0, reach = 0;

	if (!spans)
		return;
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];

		if (!p->key || p->table != table || p->type == FB_TYPE_BIT || p->request_len ||
		    p->ext.relay_open || /* a relay cover has no register */
		    fb_model_type_is_byte(p->type) || !fb_point_width(p))
			continue;
		spans[n++] = (struct lint_span){ p->address,
						 (uint32_t)p->address + fb_point_width(p) - 1, i };
	}
	qsort(spans, n, sizeof(*spans), lint_span_cmp);
	for (size_t k = 1; k < n; k++) {
		const struct lint_span *o = &spans[reach];

		if (spans[k].first <= o->last) {
			const struct fb_point_def *p = &def->points[spans[k].idx];
			const struct fb_point_def *q = &def->points[o->idx];

			if (!waived(p, FB_LINT_OVERLAP) && !waived(q, FB_LINT_OVERLAP))
				fb_diag_warn(d, "%s: points[%zu] (%s).address: registers "
					     "0x%04X..0x%04X overlap points[%zu] (%s) at "
					     "0x%04X..0x%04X: expected each register read by one "
					     "point [overlap]", file, spans[k].idx, p->key,
					     (unsigned)spans[k].first, (unsigned)spans[k].last,
					     o->idx, q->key, (unsigned)o->first, (unsigned)o->last);
		}
		if (spans[k].last > o->last)
			reach = k;
	}
	free(spans);
}

/* ---- stride: a series (_l1/_l2/_l3, _1.._n) evenly spaced ---- */

/* Splits "power_l2" into stem "power_l" and number 2, "relay_12" into
 * "relay_" and 12.  Returns false for keys that end in no such number. */
static bool series_member(const char *key, size_t *stem_len, long *num)
{
	size_t n = strlen(key), i = n;

	while (i > 0 && isdigit((unsigned char)key[i - 1]))
		i--;
	if (i == n || i < 2 || n - i > 3)
		return false;
	if (key[i - 1] == 'l' && key[i - 2] == '_' && n - i == 1 && key[i] >= '1' &&
	    key[i] <= '3') {
		*stem_len = i;
		*num = key[i] - '0';
		return true;
	}
	if (key[i - 1] != '_')
		return false;
	*stem_len = i;
	*num = strtol(key + i, NULL, 10);
	return true;
}

/* Position on the wire: bits of one register count as 1/16 of it, its
 * high byte as 8/16. */
static long position(const struct fb_point_def *p)
{
	return (long)p->address * 16 + (p->type == FB_TYPE_BIT ? p->bit : 0) +
	       (fb_model_type_is_byte(p->type) && p->byte_high ? 8 : 0);
}

/* Members of one series: same stem, table and type.  The series is spaced
 * by (last - first) / (n_last - n_first); a member elsewhere is the
 * copy-paste or the transposed digit (peers: 24/24/26, 0x0464/0x0468/0x046A). */
static void lint_strides(const char *file, const struct fb_definition *def,
			 struct fb_diag *d)
{
	bool *seen = calloc(def->npoints ? def->npoints : 1, sizeof(*seen));
	size_t *members = calloc(def->npoints ? def->npoints : 1, sizeof(*members));

	if (!seen || !members)
		goto out;
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];
		size_t stem, n = 0, lo = 0, hi = 0;
		long num, nlo, nhi;

		if (seen[i] || !p->key || !series_member(p->key, &stem, &num))
			continue;
		nlo = nhi = num;
		for (size_t j = i; j < def->npoints; j++) {
			const struct fb_point_def *q = &def->points[j];
			size_t qs;
			long qn;

			if (seen[j] || !q->key || q->table != p->table || q->type != p->type ||
			    !series_member(q->key, &qs, &qn) || qs != stem ||
			    strncmp(q->key, p->key, stem))
				continue;
			seen[j] = true;
			members[n++] = j;
			if (qn < nlo) {
				nlo = qn;
				lo = n - 1;
			}
			if (qn > nhi) {
				nhi = qn;
				hi = n - 1;
			}
		}
		if (n < 3 || nhi == nlo)
			continue;
		const struct fb_point_def *first = &def->points[members[lo]];
		long span = position(&def->points[members[hi]]) - position(first);

		if (span % (nhi - nlo))
			span = 0; /* no whole stride: every member is checked against 0 */
		long stride = span / (nhi - nlo);

		for (size_t k = 0; k < n; k++) {
			const struct fb_point_def *q = &def->points[members[k]];
			long qn;
			size_t qs;

			series_member(q->key, &qs, &qn);
			if (position(q) == position(first) + stride * (qn - nlo) && stride)
				continue;
			if (waived(q, FB_LINT_STRIDE))
				continue;
			fb_diag_warn(d, "%s: points[%zu] (%s).address: 0x%04X breaks the spacing of "
				     "the series %.*s* (%zu points, %s at 0x%04X): expected evenly "
				     "spaced addresses, e.g. L1/L2/L3 at a, a + w, a + 2w [stride]",
				     file, members[k], q->key, q->address, (int)stem, p->key, n,
				     first->key, first->address);
		}
	}
out:
	free(seen);
	free(members);
}

/* ---- alignment: a 32/64-bit value off the parity of its siblings ---- */

/* Meters lay their 32-bit values out on one parity (Eastron even, Schneider
 * odd).  One wide value on the other parity is usually read one register
 * off, or typed 32-bit where the map has a 16-bit value. */
static void lint_alignment(const char *file, const struct fb_definition *def,
			   enum fb_reg_table table, struct fb_diag *d)
{
	size_t count[2] = { 0, 0 };

	for (size_t i = 0; i < def->npoints; i++)
		if (def->points[i].table == table && is_wide_number(&def->points[i]))
			count[def->points[i].address & 1]++;
	size_t total = count[0] + count[1];
	int minority = count[0] < count[1] ? 0 : 1;

	if (total < 6 || count[minority] == 0 || count[minority] * 6 > total)
		return;
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];

		if (p->table != table || !is_wide_number(p) || (p->address & 1) != minority ||
		    waived(p, FB_LINT_ALIGNMENT))
			continue;
		fb_diag_warn(d, "%s: points[%zu] (%s).address: %s at %s address 0x%04X, while "
			     "%zu of the %zu 32/64-bit values of %s sit on %s addresses: expected "
			     "the same alignment (a value one register off, or a 16-bit value "
			     "typed %s?) [alignment]", file, i, p->key,
			     fb_data_type_name(p->type), minority ? "odd" : "even", p->address,
			     count[!minority], total, fb_reg_table_name(table),
			     minority ? "even" : "odd", fb_data_type_name(p->type));
	}
}

/* ---- modicon: a map written in a datasheet's 1-based numbering ---- */

/* 30001 and 40001 are the first input and holding register in the
 * "Modicon" numbering many datasheets print; fieldbridge wants the 0-based
 * protocol address (30001 is input register 0).  Real maps do use
 * addresses above 30000 (SMA's 30775, 0xA000 = 40960), so only a map with
 * a point at exactly 30001 or 40001 is taken for one written in that
 * numbering.  One warning per table, naming that point. */
static void lint_modicon_addresses(const char *file, const struct fb_definition *def,
				   enum fb_reg_table table, unsigned base, struct fb_diag *d)
{
	size_t first = SIZE_MAX, count = 0;

	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];

		if (!p->key || p->table != table || p->address < base || p->address > base + 9998)
			continue;
		if (p->address == base && first == SIZE_MAX)
			first = i;
		count++;
	}
	if (first == SIZE_MAX || waived(&def->points[first], FB_LINT_MODICON))
		return;
	fb_diag_warn(d, "%s: points[%zu] (%s).address: %u looks like the 1-based register "
		     "number %u of a datasheet's %uxxxx numbering (%zu point%s between %u "
		     "and %u): expected the 0-based protocol address, here 0 (subtract %u "
		     "from each) [modicon]", file, first, def->points[first].key, base, base,
		     base / 10000, count, count == 1 ? "" : "s", base, base + 9998, base);
}

/* ---- Home Assistant meaning: class, state class ---- */

/* Names the loader's class/unit check cannot see: a kvarh counter typed
 * energy in kvarh would fail it, but one typed energy in kWh passes. */
static void lint_class(const char *file, size_t i, const struct fb_point_def *p,
		       struct fb_diag *d)
{
	const char *want = NULL;

	if (waived(p, FB_LINT_CLASS))
		return;
	if (says(p, "reactive") && is_class(p, "energy"))
		want = "reactive_energy (varh, kvarh)";
	else if (says(p, "reactive") && (is_class(p, "power") || is_class(p, "apparent_power")))
		want = "reactive_power (var, kvar)";
	else if (says(p, "apparent") && (is_class(p, "power") || is_class(p, "reactive_power")))
		want = "apparent_power (VA, kVA)";
	else if ((says(p, "power_factor") || says(p, "power factor")) && p->device_class &&
		 !is_class(p, "power_factor"))
		want = "power_factor";
	if (want)
		fb_diag_warn(d, "%s: points[%zu] (%s).device_class: the point is named a %s "
			     "quantity but has device_class %s: expected %s [class]", file, i,
			     p->key, says(p, "reactive") ? "reactive" : says(p, "apparent") ?
			     "apparent" : "power factor", p->device_class, want);
}

static void lint_state_class(const char *file, size_t i, const struct fb_point_def *p,
			     struct fb_diag *d)
{
	static const char *const instant[] = {
		"demand", "peak", "maximum", "minimum", "_max", "_min", "max_", "min_",
		"average", "avg", NULL,
	};
	bool counter = is_class(p, "energy") || is_class(p, "reactive_energy");

	if (waived(p, FB_LINT_STATE_CLASS) || p->component != FB_COMP_SENSOR)
		return;
	for (int k = 0; instant[k]; k++) {
		if (p->state_class && !strcmp(p->state_class, "total_increasing") &&
		    says(p, instant[k])) {
			fb_diag_warn(d, "%s: points[%zu] (%s).state_class: a %s value is an "
				     "instantaneous figure, not a counter: expected measurement, "
				     "got total_increasing [state_class]", file, i, p->key,
				     instant[k][0] == '_' ? instant[k] + 1 : instant[k]);
			return;
		}
	}
	if (counter && !p->state_class && fb_model_type_is_numeric(p->type))
		fb_diag_warn(d, "%s: points[%zu] (%s).state_class: an energy counter without a "
			     "state class is left out of Home Assistant's energy dashboard and "
			     "statistics: expected total_increasing (total if it can go down) "
			     "[state_class]", file, i, p->key);
}

/* ---- raw_unit: what one raw count is, against the scale ---- */

struct lint_unit {
	const char *name, *dimension;
	double factor; /* in the dimension's base unit */
};

static const struct lint_unit lint_units[] = {
	{ "mWh", "Wh", 1e-3 }, { "Wh", "Wh", 1 }, { "kWh", "Wh", 1e3 }, { "MWh", "Wh", 1e6 },
	{ "GWh", "Wh", 1e9 }, { "mW", "W", 1e-3 }, { "W", "W", 1 }, { "kW", "W", 1e3 },
	{ "MW", "W", 1e6 }, { "mV", "V", 1e-3 }, { "V", "V", 1 }, { "kV", "V", 1e3 },
	{ "mA", "A", 1e-3 }, { "A", "A", 1 }, { "kA", "A", 1e3 }, { "var", "var", 1 },
	{ "kvar", "var", 1e3 }, { "varh", "varh", 1 }, { "kvarh", "varh", 1e3 },
	{ "VA", "VA", 1 }, { "kVA", "VA", 1e3 }, { "mHz", "Hz", 1e-3 }, { "Hz", "Hz", 1 },
	{ "ms", "s", 1e-3 }, { "s", "s", 1 }, { "min", "s", 60 }, { "h", "s", 3600 },
	{ "L", "L", 1 }, { "m³", "L", 1e3 }, { "%", "%", 1 }, { "°C", "°C", 1 },
	{ "m/s", "m/s", 1 }, { "km/h", "m/s", 1 / 3.6 },
};

static const struct lint_unit *lint_unit(const char *s)
{
	for (size_t i = 0; i < sizeof(lint_units) / sizeof(lint_units[0]); i++)
		if (!strcmp(lint_units[i].name, s))
			return &lint_units[i];
	return NULL;
}

/* "raw_unit": "Wh" or "0.1 Wh".  value = raw * scale, so with unit kWh a
 * raw count in Wh needs scale 0.001: the WB PZEM map's 0.0001 fails. */
static void lint_raw_unit(const char *file, size_t i, const struct fb_point_def *p,
			  struct fb_diag *d)
{
	const struct lint_unit *ru, *u;
	double count = 1, want;
	const char *s = p->raw_unit;
	char *end;

	if (!s)
		return;
	if (isdigit((unsigned char)*s) || *s == '.') {
		count = strtod(s, &end);
		s = end;
		while (*s == ' ')
			s++;
	}
	ru = lint_unit(s);
	u = p->unit ? lint_unit(p->unit) : NULL;
	if (!ru || !(count > 0) || !isfinite(count)) {
		fb_diag_error(d, "%s: points[%zu] (%s).raw_unit: expected a unit such as \"Wh\" "
			      "or \"0.1 Wh\", got \"%s\"", file, i, p->key, p->raw_unit);
		return;
	}
	if (!u || strcmp(u->dimension, ru->dimension)) {
		fb_diag_error(d, "%s: points[%zu] (%s).raw_unit: \"%s\" cannot be converted to "
			      "the point's unit %s%s%s", file, i, p->key, p->raw_unit,
			      p->unit ? "\"" : "", p->unit ? p->unit : "(none)",
			      p->unit ? "\"" : "");
		return;
	}
	want = count * ru->factor / u->factor;
	if (fabs(p->scale - want) > 1e-9 * fabs(want))
		fb_diag_error(d, "%s: points[%zu] (%s).scale: a raw count of %s is %.12g %s: "
			      "expected scale %.12g, got %.12g", file, i, p->key, p->raw_unit,
			      want, p->unit, want, p->scale);
}

/* ---- signedness ---- */

/* Quantities that go negative: reactive power and power factor (lead/lag),
 * temperatures, and power or current that flows both ways: a grid or battery
 * point, or the power of a meter that counts export.  Read unsigned they
 * become 65 500 W or 42 MW (evcc#11363, E18 in the research).  PV, load and
 * charge figures are one-way by name. */
static bool lint_bidirectional(const struct fb_definition *def)
{
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];

		if (p->key && is_class(p, "energy") && (says(p, "export") || says(p, "feed")))
			return true;
	}
	return false;
}

static bool one_way(const struct fb_point_def *p)
{
	static const char *const words[] = {
		"pv", "dc", "load", "consumption", "charg", "solar", "threshold", "alarm",
		"limit", "max", "min", NULL,
	};

	for (int k = 0; words[k]; k++)
		if (says(p, words[k]))
			return true;
	return false;
}

static void lint_unsigned(const char *file, size_t i, const struct fb_point_def *p,
			  bool bidirectional, struct fb_diag *d)
{
	bool flow = is_class(p, "power") || is_class(p, "current");
	bool can_go_negative = is_class(p, "reactive_power") || is_class(p, "power_factor") ||
			       is_class(p, "temperature") ||
			       (flow && !one_way(p) &&
				(says(p, "grid") || says(p, "battery") || says(p, "net") ||
				 (bidirectional && is_class(p, "power"))));

	if (!is_register(p) || !is_unsigned(p->type) || !can_go_negative ||
	    waived(p, FB_LINT_UNSIGNED))
		return;
	fb_diag_warn(d, "%s: points[%zu] (%s).type: %s can go negative but is read as %s: "
		     "expected a signed type (or \"lint_ok\": {\"unsigned\": \"why\"} if the "
		     "device reports magnitudes only) [unsigned]", file, i, p->key,
		     p->device_class, fb_data_type_name(p->type));
}

/* SunSpec's sunssf and every vendor's "scale factor" register are int16
 * exponents; read uint16, SF -2 becomes 10^65534 (binsentsu WH_SF). */
static void lint_scale_factor(const char *file, size_t i, const struct fb_point_def *p,
			      struct fb_diag *d)
{
	size_t n = p->key ? strlen(p->key) : 0;
	bool sf = (n > 3 && !strcmp(p->key + n - 3, "_sf")) || says(p, "scale factor");

	if (!sf || !is_register(p) || p->type == FB_TYPE_INT16 || waived(p, FB_LINT_SCALE_FACTOR))
		return;
	fb_diag_warn(d, "%s: points[%zu] (%s).type: a scale-factor register is a signed "
		     "power of ten: expected int16, got %s [scale_factor]", file, i, p->key,
		     fb_data_type_name(p->type));
}

/* ---- the manufacturer's family: function code, word order, sentinels ---- */

struct lint_family {
	const char *manufacturer; /* case-insensitive prefix of "manufacturer" */
	int table;                /* where measurements live; -1: either */
	int order_int;            /* order of 32/64-bit integers; -1: not fixed */
	int order_float;          /* order of floats; -1: not fixed */
	bool sentinels;           /* int16 0x8000, uint16 0xFFFF, int32 0x80000000,
				   * uint32 0xFFFFFFFF, uint64 all-FF */
	const char *why;          /* the evidence, for the message */
};

/* From the research's family profiles (shared/research/devices.md §4 L7,
 * L10, L11), only where the sources agree for every model of the brand. */
static const struct lint_family lint_families[] = {
	{ "Eastron", FB_REG_INPUT, -1, FB_ORDER_ABCD, false,
	  "Eastron SDM: measurements FC04, float32 high word first" },
	{ "Carlo Gavazzi", FB_REG_INPUT, FB_ORDER_CDAB, -1, false,
	  "Carlo Gavazzi INT32 is low word first (ET112 frame, ioBroker.modbus#286)" },
	{ "Peacefair", FB_REG_INPUT, FB_ORDER_CDAB, -1, false,
	  "PZEM: FC04, 32-bit values low word first (ESPHome pzemac/pzemdc)" },
	{ "EPEver", FB_REG_INPUT, FB_ORDER_CDAB, -1, false,
	  "EPEver: live data FC04, L/H register pairs" },
	{ "Sungrow", FB_REG_INPUT, FB_ORDER_CDAB, -1, false,
	  "Sungrow: telemetry FC04, 32-bit low word first (modbus2mqtt#246)" },
	{ "Deye", FB_REG_HOLDING, FB_ORDER_CDAB, -1, false,
	  "Deye/Sunsynk: FC03, 32-bit low word first (evcc deye templates)" },
	{ "ABB", FB_REG_HOLDING, FB_ORDER_ABCD, -1, false, "ABB EQ meters: FC03, big endian" },
	{ "Chint", FB_REG_HOLDING, -1, -1, false, "Chint DTSU: FC03" },
	{ "Victron", FB_REG_HOLDING, FB_ORDER_ABCD, -1, false, "Victron GX: FC03, big endian" },
	{ "Heidelberg", FB_REG_INPUT, FB_ORDER_ABCD, -1, false,
	  "Heidelberg EC: measurements FC04 (evcc heidelberg-ec.go)" },
	{ "Renogy", FB_REG_HOLDING, -1, -1, false, "Renogy: FC03 only" },
	{ "Solax", -1, FB_ORDER_CDAB, -1, false, "Solax: 32-bit little word order" },
	{ "SMA", FB_REG_INPUT, FB_ORDER_ABCD, -1, true,
	  "SMA Modbus profile: FC04, NaN codes 0x8000../0xFFFF.. (evcc sma-inverter)" },
	{ "SunSpec", FB_REG_HOLDING, FB_ORDER_ABCD, FB_ORDER_ABCD, true,
	  "SunSpec: FC03, big endian, not-implemented codes per type" },
};

static const struct lint_family *lint_family(const struct fb_definition *def)
{
	if (!def->manufacturer)
		return NULL;
	for (size_t i = 0; i < sizeof(lint_families) / sizeof(lint_families[0]); i++) {
		const char *m = lint_families[i].manufacturer;
		size_t n = strlen(m);

		if (!strncasecmp(def->manufacturer, m, n) &&
		    (!def->manufacturer[n] || !isalnum((unsigned char)def->manufacturer[n])))
			return &lint_families[i];
	}
	return NULL;
}

/* A measured quantity, as opposed to settings and identification. */
static bool is_measurement(const struct fb_point_def *p)
{
	static const char *const classes[] = {
		"voltage", "current", "power", "energy", "frequency", "reactive_power",
		"apparent_power", "power_factor", "reactive_energy", NULL,
	};

	if (p->writable || p->component != FB_COMP_SENSOR || !p->device_class ||
	    p->entity_category)
		return false;
	for (int k = 0; classes[k]; k++)
		if (is_class(p, classes[k]))
			return true;
	return false;
}

static bool sentinel_expected(const struct fb_point_def *p, uint64_t *raw)
{
	switch (p->type) {
	case FB_TYPE_INT16: *raw = 0x8000; return true;
	case FB_TYPE_UINT16: *raw = 0xFFFF; return true;
	case FB_TYPE_INT32: *raw = 0x80000000u; return true;
	case FB_TYPE_UINT32: *raw = 0xFFFFFFFFu; return true;
	case FB_TYPE_UINT64: *raw = UINT64_MAX; return true;
	case FB_TYPE_INT64: *raw = 0x8000000000000000u; return true;
	default: return false;
	}
}

/* The sentinel as the register bits it stands for (-32768 and 0x8000 are
 * one int16 sentinel). */
static uint64_t sentinel_bits(const struct fb_point_def *p)
{
	unsigned w = fb_point_width(p);
	uint64_t v = (uint64_t)p->sentinel_raw;

	return w >= 4 ? v : v & ((1ull << (16 * w)) - 1);
}

static void lint_family_rules(const char *file, const struct fb_definition *def,
			      struct fb_diag *d)
{
	const struct lint_family *f = lint_family(def);

	if (!f)
		return;
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];
		uint64_t want;

		if (!is_register(p))
			continue;
		if (f->table >= 0 && (int)p->table != f->table && is_measurement(p) &&
		    !waived(p, FB_LINT_TABLE))
			fb_diag_warn(d, "%s: points[%zu] (%s).table: %s, but %s: expected %s "
				     "(function code %s) [table]", file, i, p->key,
				     fb_reg_table_name(p->table), f->why,
				     fb_reg_table_name((enum fb_reg_table)f->table),
				     f->table == FB_REG_INPUT ? "04" : "03");
		if (fb_point_width(p) >= 2 && fb_model_type_is_numeric(p->type) &&
		    !waived(p, FB_LINT_ORDER)) {
			int want_order = fb_model_type_is_float(p->type) ? f->order_float
									 : f->order_int;

			if (want_order >= 0 && (int)p->order != want_order)
				fb_diag_warn(d, "%s: points[%zu] (%s).order: %s, but %s: expected "
					     "%s [order]", file, i, p->key,
					     fb_byte_order_name(p->order), f->why,
					     fb_byte_order_name((enum fb_byte_order)want_order));
		}
		if (f->sentinels && !p->writable && sentinel_expected(p, &want) &&
		    (!p->has_sentinel || sentinel_bits(p) != want) &&
		    !waived(p, FB_LINT_SENTINEL))
			fb_diag_warn(d, "%s: points[%zu] (%s).sentinel: %s, so a %s the device "
				     "does not have reads 0x%llX: expected \"sentinel\": \"0x%llX\" "
				     "[sentinel]", file, i, p->key, f->why,
				     fb_data_type_name(p->type), (unsigned long long)want,
				     (unsigned long long)want);
	}
}

/* ---- write safety ---- */

static void lint_limits(const char *file, size_t i, const struct fb_point_def *p,
			struct fb_diag *d)
{
	static const char *const eeprom[] = {
		"address", "baud", "parity", "unit_id", "slave_id", "calibrat", NULL,
	};

	if (!p->writable || waived(p, FB_LINT_LIMITS))
		return;
	if (p->component == FB_COMP_NUMBER && (!p->has_min || !p->has_max))
		fb_diag_warn(d, "%s: points[%zu] (%s).%s: a writable number without limits "
			     "lets Home Assistant send any value the type holds: expected min "
			     "and max from the manual [limits]", file, i, p->key,
			     p->has_min ? "max" : "min");
	for (int k = 0; eeprom[k]; k++) {
		if (says(p, eeprom[k]) && (!p->entity_category ||
					   strcmp(p->entity_category, "config"))) {
			fb_diag_warn(d, "%s: points[%zu] (%s).entity_category: a writable %s "
				     "setting changes how the device answers (and wears its "
				     "EEPROM): expected entity_category config [limits]", file, i,
				     p->key, eeprom[k]);
			break;
		}
	}
}

void fb_model_modbus_lint(const char *file, const struct fb_definition *def,
			  struct fb_diag *d)
{
	static const enum fb_reg_table tables[] = {
		FB_REG_COIL, FB_REG_DISCRETE_INPUT, FB_REG_INPUT, FB_REG_HOLDING,
	};

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		lint_overlaps(file, def, tables[t], d);
	lint_strides(file, def, d);
	lint_alignment(file, def, FB_REG_INPUT, d);
	lint_alignment(file, def, FB_REG_HOLDING, d);
	lint_modicon_addresses(file, def, FB_REG_INPUT, 30001, d);
	lint_modicon_addresses(file, def, FB_REG_HOLDING, 40001, d);
	bool bidirectional = lint_bidirectional(def);

	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];

		if (!p->key)
			continue;
		lint_class(file, i, p, d);
		lint_state_class(file, i, p, d);
		lint_raw_unit(file, i, p, d);
		lint_unsigned(file, i, p, bidirectional, d);
		lint_scale_factor(file, i, p, d);
		lint_limits(file, i, p, d);
	}
	lint_family_rules(file, def, d);
}
