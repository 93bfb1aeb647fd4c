/* SPDX-License-Identifier: Apache-2.0 */
/* Device definitions for configured devices.  Kept apart from the loader
 * so that only callers of fb_config_load_definitions link the model. */
#include "config.h"
#include "config-internal.h"
#include "config_gpio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Definition ids that failed to load in one fb_config_load_definitions
 * call: each one's errors are reported once, however many devices use it. */
struct failed_ids {
	char **ids;
	size_t n;
};

static bool failed_before(const struct failed_ids *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->ids[i], id))
			return true;
	return false;
}

static void failed_add(struct failed_ids *f, const char *id)
{
	char **n = realloc(f->ids, (f->n + 1) * sizeof(*n));

	if (!n)
		return; /* then its errors are only repeated */
	f->ids = n;
	if ((n[f->n] = strdup(id)))
		f->n++;
}

/* A definition is parsed once per id, however many devices use it: a
 * gateway with 1000 meters of one model keeps one copy. */
static struct fb_definition *find_cached(struct fb_config *c, const char *id,
					 struct fb_diag *sub)
{
	struct fb_definition *def, **defs;

	for (size_t i = 0; i < c->ndefs; i++)
		if (!strcmp(c->defs[i]->id, id))
			return c->defs[i];
	errno = 0;
	def = fb_model_find(id, (const char *const *)c->definition_dirs,
			    c->ndefinition_dirs, sub);
	if (!def)
		return NULL;
	defs = realloc(c->defs, (c->ndefs + 1) * sizeof(*defs));
	if (!defs) {
		fb_model_free(def);
		fb_diag_error(sub, "%s: out of memory", id);
		return NULL;
	}
	c->defs = defs;
	c->defs[c->ndefs++] = def;
	return def;
}

/* A failed definition disables its device only: the bus keeps polling the
 * others (STYLE §4: a bad definition never stops the gateway). */
static bool load_one(struct fb_config *c, struct fb_bus_conf *b,
		     struct fb_device_conf *d, struct failed_ids *failed,
		     struct fb_diag *diag)
{
	struct fb_diag sub;
	struct fb_definition *def;
	char *name, dpath[256];

	cfg_device_path(b, d, dpath, sizeof(dpath));
	if (failed_before(failed, d->definition)) {
		fb_diag_add_at(diag, FB_SEV_WARNING, b->source, dpath, "definition",
			       "bus %s: device %s: disabled: definition \"%s\" has the "
			       "errors above", b->name, d->id, d->definition);
		return false;
	}
	fb_diag_init(&sub);
	def = find_cached(c, d->definition, &sub);
	if (!def && errno == ENOENT && sub.errors == 1) {
		/* Not found: one message at the device's "definition" field;
		 * the model's names the directories and the closest ids. */
		for (size_t i = 0; i < sub.count; i++) {
			if (sub.entries[i].severity != FB_SEV_ERROR)
				continue;
			fb_diag_add_at(diag, FB_SEV_ERROR, b->source, dpath, "definition",
				       "%s: %s (%s).devices[%zu] (%s).definition: %s; device "
				       "%s is disabled", b->source,
				       b->path && b->path[0] ? b->path : "bus",
				       b->name, (size_t)(d - b->devices), d->id,
				       sub.entries[i].message, d->id);
			free(sub.entries[i].message);
			sub.entries[i].message = NULL;
		}
		for (size_t i = 0; i < sub.count; i++)
			if (sub.entries[i].message)
				fb_diag_add_at(diag, sub.entries[i].severity, NULL, NULL, NULL,
					       "%s", sub.entries[i].message);
		fb_diag_free(&sub);
		failed_add(failed, d->definition);
		return false;
	}
	if (!def) {
		/* The definition's own errors (each names its file), then what
		 * they mean for this device. */
		fb_diag_move(diag, &sub);
		fb_diag_add_at(diag, FB_SEV_WARNING, b->source, dpath, "definition",
			       "bus %s: device %s: disabled: definition \"%s\" has the "
			       "errors above", b->name, d->id, d->definition);
		failed_add(failed, d->definition);
		return false;
	}
	fb_diag_move(diag, &sub);
	/* A gpio definition cannot be polled over Modbus, nor the reverse. */
	if (!def->protocol ||
	    strcmp(def->protocol, b->transport == FB_BUS_GPIO ? "gpio" : "modbus")) {
		fb_diag_add_at(diag, FB_SEV_ERROR, b->source, dpath, "definition",
			       "bus %s: device %s: disabled: definition \"%s\" (%s) is "
			       "for protocol \"%s\": expected a \"%s\" definition on a "
			       "%s bus", b->name, d->id, d->definition,
			       def->path ? def->path : "?",
			       def->protocol ? def->protocol : "(none)",
			       b->transport == FB_BUS_GPIO ? "gpio" : "modbus",
			       b->transport == FB_BUS_GPIO ? "GPIO" : "Modbus");
		return false;
	}
	if (b->transport == FB_BUS_GPIO && !cfg_gpio_check_device(b, d, def, diag)) {
		fb_diag_add_at(diag, FB_SEV_ERROR, b->source, dpath, "lines",
			       "bus %s: device %s: disabled: its lines do not match "
			       "definition \"%s\"", b->name, d->id, d->definition);
		return false;
	}
	if (d->noverrides) {
		char where[512];
		struct fb_definition *own, **defs;

		snprintf(where, sizeof(where), "%s: %s (%s).devices[%zu] (%s)", b->source,
			 b->path && b->path[0] ? b->path : "bus", b->name,
			 (size_t)(d - b->devices), d->id);
		own = fb_model_with_overrides(def, d->overrides, d->noverrides, d->id, where,
					      diag);
		defs = own ? realloc(c->defs, (c->ndefs + 1) * sizeof(*defs)) : NULL;
		if (!defs) {
			fb_model_free(own);
			fb_diag_add_at(diag, FB_SEV_WARNING, b->source, dpath, "points",
				       "bus %s: device %s: disabled: its point overrides have "
				       "the errors above", b->name, d->id);
			return false;
		}
		/* Owned with the shared ones; its id ("<id>@<device>") keeps
		 * find_cached from handing it to another device. */
		c->defs = defs;
		c->defs[c->ndefs++] = own;
		def = own;
	}
	d->def = def;
	if (d->name_default && def->model &&
	    asprintf(&name, "%s %s", def->model, d->id) >= 0) {
		free(d->name);
		d->name = name;
	}
	return true;
}

size_t fb_config_load_definitions(struct fb_config *c, struct fb_bus_conf *bus,
				  struct fb_diag *diag)
{
	size_t disabled = 0;
	struct failed_ids failed = { 0 };

	c->def_free = fb_model_free;
	for (size_t i = 0; i < c->nbuses; i++) {
		struct fb_bus_conf *b = &c->buses[i];

		if (bus && b != bus)
			continue;
		for (size_t j = 0; j < b->ndevices; j++) {
			struct fb_device_conf *d = &b->devices[j];

			d->def = NULL; /* borrowed from c->defs */
			if (!load_one(c, b, d, &failed, diag))
				disabled++;
		}
	}
	for (size_t i = 0; i < failed.n; i++)
		free(failed.ids[i]);
	free(failed.ids);
	return disabled;
}
