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

static const char *const sunspec_keys[] = { "models", NULL };

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
		long long id, addr;

		if (!fb_point_int_text(it->string, &id) || id < 1 || id > 65534) {
			fb_diag_error(d, "%s.models.\"%s\": expected a model id 1..65534 as the key",
				      where, it->string);
			continue;
		}
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 65533 ||
		    it->valuedouble != (double)(long long)it->valuedouble) {
			fb_diag_error(d, "%s.models.\"%s\": expected the address 0..65533 of the "
				      "model's ID register", where, it->string);
			continue;
		}
		addr = (long long)it->valuedouble;
		def->sunspec[def->nsunspec].model = (uint16_t)id;
		def->sunspec[def->nsunspec].address = (uint16_t)addr;
		def->nsunspec++;
	}
}

const struct fb_sunspec_model *fb_model_sunspec_model(const struct fb_definition *def,
						      uint16_t model)
{
	for (size_t i = 0; def && i < def->nsunspec; i++)
		if (def->sunspec[i].model == model)
			return &def->sunspec[i];
	return NULL;
}

void fb_model_sunspec_check(const char *file, const struct fb_definition *def,
			    struct fb_diag *d)
{
	for (size_t i = 0; i < def->npoints; i++) {
		const struct fb_point_def *p = &def->points[i];
		const struct fb_sunspec_model *m;

		if (!p->key || !p->sunspec_model)
			continue;
		m = fb_model_sunspec_model(def, p->sunspec_model);
		if (!m)
			fb_diag_error(d, "%s: points[%zu] (%s).sunspec_model: model %u is not in "
				      "sunspec.models", file, i, p->key, p->sunspec_model);
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
