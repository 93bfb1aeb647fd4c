/* SPDX-License-Identifier: Apache-2.0 */
/* Per-device point overrides from the configuration: four GPIO door
 * contacts or two meters of one model need other names, classes or icons,
 * or fewer points, without a copied definition.  The device gets its own
 * copy of the definition (loaded again from the same file), changed and
 * checked against Home Assistant's rules like the file's own points. */
#include "model.h"
#include "model-internal.h"
#include "jsonfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct fb_point_def *closest(const struct fb_definition *def, const char *key)
{
	const struct fb_point_def *best = NULL;
	size_t bd = 3; /* suggest only close keys */

	for (size_t i = 0; i < def->npoints; i++) {
		size_t dist = fb_json_name_distance(key, def->points[i].key);

		if (dist < bd) {
			bd = dist;
			best = &def->points[i];
		}
	}
	return best;
}

static int replace(char **field, const char *value, const char *file, struct fb_diag *d)
{
	char *c;

	if (!value)
		return 0;
	c = fb_point_dup(file, value, d);
	if (!c)
		return -1;
	free(*field);
	*field = c;
	return 0;
}

struct fb_definition *fb_model_with_overrides(const struct fb_definition *def,
					      const struct fb_point_override *ov, size_t n,
					      const char *device, const char *where,
					      struct fb_diag *diag)
{
	struct fb_diag quiet;
	struct fb_definition *c;
	size_t errors = diag->errors, keep = 0;
	char *id = NULL;

	/* The file loaded once already, its messages reported then. */
	fb_diag_init(&quiet);
	c = def->path ? fb_model_load(def->path, &quiet) : NULL;
	fb_diag_free(&quiet);
	if (!c) {
		fb_diag_error(diag, "%s.points: cannot load definition \"%s\" again for the "
			      "device's overrides", where, def->id);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct fb_point_def *p = (struct fb_point_def *)fb_model_point(c, ov[i].key);
		char pwhere[600];

		snprintf(pwhere, sizeof(pwhere), "%s.points.%s", where, ov[i].key);
		if (!p) {
			const struct fb_point_def *s = closest(c, ov[i].key);

			fb_diag_error(diag, "%s: definition \"%s\" has no point \"%s\"%s%s%s",
				      pwhere, def->id, ov[i].key, s ? ": did you mean \"" : "",
				      s ? s->key : "", s ? "\"?" : "");
			continue;
		}
		if (replace(&p->name, ov[i].name, where, diag) < 0 ||
		    replace(&p->device_class, ov[i].device_class, where, diag) < 0 ||
		    replace(&p->icon, ov[i].icon, where, diag) < 0)
			break;
		if (ov[i].device_class)
			fb_model_check_ha(pwhere, p, diag);
		p->not_present = ov[i].disabled; /* reused as "drop" until compacted */
	}
	if (diag->errors != errors) {
		fb_model_free(c);
		return NULL;
	}
	/* Disabled points leave the device: no table slot, no entity.  The
	 * file's vectors index the full list, so the copy has none. */
	fb_model_vectors_free(c);
	for (size_t i = 0; i < c->npoints; i++) {
		if (c->points[i].not_present) {
			fb_point_clear(&c->points[i]);
			continue;
		}
		c->points[keep++] = c->points[i];
	}
	c->npoints = keep;
	if (asprintf(&id, "%s@%s", c->id, device) >= 0) {
		free(c->id);
		c->id = id;
	}
	return c;
}
