/* SPDX-License-Identifier: Apache-2.0 */
/* The "sunspec" block of a Modbus definition: which SunSpec model each
 * point belongs to, and where the definition's addresses assume each model
 * starts (its ID register).  The Modbus driver finds the "SunS" marker,
 * walks the device's model chain and moves every point by the difference
 * (drivers/modbus/sunspec.c): one file serves SolarEdge (common model 65
 * registers long), Fronius (66), SMA and the rest, whose models start
 * elsewhere.  Test vectors and `definition decode` use the addresses as
 * written. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sunspec_keys[] = { "models", "rescan_s", NULL };

/* Walking the chain again this often finds models a device added or
 * moved while its link stayed up (a meter wired in, a firmware update). */
#define SUNSPEC_RESCAN_S 600

/* "203" or "203:2" (the second model of that kind) into id, instance. */
static bool model_key(const char *text, long long *id, long long *instance)
{
	char buf[16];
	const char *colon = strchr(text, ':');

	*instance = 1;
	if (!colon)
		return fb_point_int_text(text, id);
	if ((size_t)(colon - text) >= sizeof(buf))
		return false;
	memcpy(buf, text, (size_t)(colon - text));
	buf[colon - text] = 0;
	return fb_point_int_text(buf, id) && fb_point_int_text(colon + 1, instance) &&
	       *instance >= 1 && *instance <= 9;
}

void fb_model_sunspec_parse(const char *file, const cJSON *root, struct fb_definition *def,
			    struct fb_diag *d)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "sunspec"), *m, *it;
	char where[512];
	size_t n = 0;

	if (!s || cJSON_IsNull(s))
		return;
	snprintf(where, sizeof(where), "%s: sunspec", file);
	if (!cJSON_IsObject(s)) {
		fb_diag_error(d, "%s: expected an object {\"models\": {\"103\": 40069, ...}}", where);
		return;
	}
	fb_json_unknown_keys(s, sunspec_keys, where, d);
	def->sunspec_rescan_s = SUNSPEC_RESCAN_S;
	{
		long long r;

		if (fb_json_int(s, "rescan_s", false, 1, 86400, where, d, &r) == 1)
			def->sunspec_rescan_s = (uint32_t)r;
	}
	m = cJSON_GetObjectItemCaseSensitive(s, "models");
	if (!cJSON_IsObject(m) || !m->child) {
		fb_diag_error(d, "%s.models: expected an object of model id to the address of "
			      "its ID register, e.g. {\"1\": 40002, \"103\": 40069}", where);
		return;
	}
	cJSON_ArrayForEach(it, m)
		n++;
	def->sunspec = calloc(n, sizeof(*def->sunspec));
	if (!def->sunspec) {
		fb_diag_error(d, "%s: out of memory", file);
		return;
	}
	cJSON_ArrayForEach(it, m) {
		long long id, addr, inst;

		if (!model_key(it->string, &id, &inst) || id < 1 || id > 65534) {
			fb_diag_error(d, "%s.models.\"%s\": expected a model id 1..65534 as the "
				      "key, or id:n (1..9) for the n-th of its kind", where,
				      it->string);
			continue;
		}
		for (size_t k = 0; k < def->nsunspec; k++)
			if (fb_model_sunspec_kind(def->sunspec[k].model) ==
			    fb_model_sunspec_kind((uint16_t)id) && def->sunspec[k].instance == inst)
				fb_diag_error(d, "%s.models.\"%s\": the same model kind and "
					      "instance as \"%u\" (101-103/111-113 are one kind, "
					      "201-204/211-214 another)", where, it->string,
					      def->sunspec[k].model);
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 65533 ||
		    it->valuedouble != (double)(long long)it->valuedouble) {
			fb_diag_error(d, "%s.models.\"%s\": expected the address 0..65533 of the "
				      "model's ID register", where, it->string);
			continue;
		}
		addr = (long long)it->valuedouble;
		def->sunspec[def->nsunspec].model = (uint16_t)id;
		def->sunspec[def->nsunspec].address = (uint16_t)addr;
		def->sunspec[def->nsunspec].instance = (uint8_t)inst;
		def->nsunspec++;
	}
}

const struct fb_sunspec_model *fb_model_sunspec_model(const struct fb_definition *def,
						      uint16_t model)
{
	for (size_t i = 0; def && i < def->nsunspec; i++)
		if (def->sunspec[i].model == model && def->sunspec[i].instance <= 1)
			return &def->sunspec[i];
	return NULL;
}

const struct fb_sunspec_model *fb_model_sunspec_entry(const struct fb_definition *def,
						      const struct fb_point_def *p)
{
	uint8_t inst = p->sunspec_instance ? p->sunspec_instance : 1;

	for (size_t i = 0; def && p->sunspec_model && i < def->nsunspec; i++)
		if (def->sunspec[i].model == p->sunspec_model && def->sunspec[i].instance == inst)
			return &def->sunspec[i];
	return NULL;
}

uint16_t fb_model_sunspec_kind(uint16_t id)
{
	if ((id >= 101 && id <= 103) || (id >= 111 && id <= 113))
		return 103;
	if ((id >= 201 && id <= 204) || (id >= 211 && id <= 214))
		return 203;
	return id;
}

bool fb_model_sunspec_is_float(uint16_t id)
{
	return (id >= 111 && id <= 113) || (id >= 211 && id <= 214);
}

void fb_model_sunspec_assign(const struct fb_definition *def,
			     const struct fb_sunspec_found *chain, size_t nchain,
			     struct fb_sunspec_found *found)
{
	memset(found, 0, def->nsunspec * sizeof(*found));
	for (size_t c = 0; c < nchain; c++) {
		uint16_t kind = fb_model_sunspec_kind(chain[c].id);
		unsigned nth = 1;

		for (size_t e = 0; e < c; e++)
			nth += fb_model_sunspec_kind(chain[e].id) == kind;
		for (size_t i = 0; i < def->nsunspec; i++)
			if (!found[i].id && fb_model_sunspec_kind(def->sunspec[i].model) == kind &&
			    def->sunspec[i].instance == nth)
				found[i] = chain[c];
	}
}

bool fb_model_sunspec_place(const struct fb_definition *def,
			    const struct fb_sunspec_found *found,
			    const struct fb_point_def *orig, struct fb_point_def *out)
{
	const struct fb_sunspec_model *m = fb_model_sunspec_entry(def, orig);
	const struct fb_sunspec_found *f;
	long off, sf_off = -1, end;

	*out = *orig;
	if (!orig->sunspec_model)
		return true;
	if (!m)
		return false;
	f = &found[m - def->sunspec];
	if (!f->id)
		return false;
	off = (long)orig->address - m->address;
	if (orig->has_scale_register)
		sf_off = (long)orig->scale_register - m->address;
	if (fb_model_sunspec_is_float(f->id) && !fb_model_sunspec_is_float(m->model)) {
		if (!orig->has_sunspec_float)
			return false;
		off = orig->sunspec_float;
		if (orig->has_scale_register) {
			/* float models have no scale factors and NaN as "not
			 * implemented" */
			out->type = FB_TYPE_FLOAT32;
			out->order = FB_ORDER_ABCD;
			out->has_scale_register = false;
			out->has_sentinel = false;
			sf_off = -1;
		}
	}
	/* Inside the model as long as the device says it is (L counts the
	 * registers after the header): model 160 with 2 modules has no
	 * third one. */
	end = 2L + f->length;
	if (off < 2 || off + (long)fb_point_width(out) > end || (sf_off >= 0 && sf_off >= end) ||
	    f->address + off + (long)fb_point_width(out) - 1 > 0xFFFF)
		return false;
	out->address = (uint16_t)(f->address + off);
	if (sf_off >= 0)
		out->scale_register = (uint16_t)(f->address + sf_off);
	return true;
}

void fb_model_sunspec_check(const char *file, const struct fb_definition *def,
			    struct fb_diag *d)
{
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];
		const struct fb_sunspec_model *m;

		if (!p->key || !p->sunspec_model)
			continue;
		m = fb_model_sunspec_entry(def, p);
		if (!m)
			fb_diag_error(d, "%s: points[%zu] (%s).sunspec_model: model %u%s is not in "
				      "sunspec.models", file, i, p->key, p->sunspec_model,
				      p->sunspec_instance > 1 ? " (that instance)" : "");
		else if (p->has_sunspec_float && fb_model_sunspec_kind(m->model) == m->model &&
			 m->model != 103 && m->model != 203)
			fb_diag_error(d, "%s: points[%zu] (%s).sunspec_float: model %u has no "
				      "float twin (only 101-103 and 201-204 do)", file, i, p->key,
				      m->model);
		else if (p->table != FB_REG_HOLDING)
			fb_diag_error(d, "%s: points[%zu] (%s).table: SunSpec models are holding "
				      "registers, got %s", file, i, p->key,
				      fb_reg_table_name(p->table));
		else if (p->address <= m->address + 1)
			fb_diag_error(d, "%s: points[%zu] (%s).address: expected an address after "
				      "model %u's header (0x%04X..0x%04X), got 0x%04X", file, i,
				      p->key, m->model, m->address, m->address + 1, p->address);
	}
}
